//! Replacing the process image: `execvp(3)`.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// Converts arguments for exec; fails with `EINVAL` on an interior NUL.
fn cstrings<S: AsRef<OsStr>>(args: &[S]) -> io::Result<Vec<CString>> {
    args.iter()
        .map(|a| {
            CString::new(a.as_ref().as_bytes())
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
        })
        .collect()
}

/// `execvp(3)`: runs `file` (searched on `PATH` unless it contains a `/`)
/// with `argv` (`argv[0]` included) and the current environment.
///
/// Returns only on failure, with the error of the last attempt, as
/// `execvp` reports it (`ENOENT` when nothing was found, `EACCES` when a
/// candidate was not executable).
pub fn execvp<F: AsRef<OsStr>, S: AsRef<OsStr>>(file: F, argv: &[S]) -> io::Error {
    let file = match CString::new(file.as_ref().as_bytes()) {
        Ok(f) => f,
        Err(_) => return io::Error::from_raw_os_error(libc::EINVAL),
    };
    let args = match cstrings(argv) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: `file` and every pointer in `ptrs` point at NUL-terminated
    // strings owned by `file`/`args`, alive for the call, and `ptrs` ends
    // with the NULL execvp needs to find the end of argv.
    unsafe { libc::execvp(file.as_ptr(), ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// `_exit(2)`: ends the calling process now, without running exit handlers
/// or flushing stdio buffers. The way out of a forked helper, whose copy of
/// the parent's buffers must not be written twice.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust-owned memory; skipping
    // destructors in a forked copy of the process is the point.
    unsafe { libc::_exit(code) }
}
