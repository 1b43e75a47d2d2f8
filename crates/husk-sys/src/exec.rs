//! Replacing the process image: `execvp(3)`.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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
    match Prepared::new(file, argv) {
        Ok(prepared) => prepared.exec(),
        Err(e) => e,
    }
}

/// argv[0] for running `shell` as a login shell, as util-linux's
/// `exec_shell()` does: `-` and its base name.
///
/// ```
/// assert_eq!(husk_sys::exec::login_shell_arg0("/bin/bash".as_ref()), "-bash");
/// ```
pub fn login_shell_arg0(shell: &OsStr) -> OsString {
    let base = Path::new(shell).file_name().unwrap_or(OsStr::new("sh"));
    let mut arg0 = OsString::from("-");
    arg0.push(base);
    arg0
}

/// The exit status util-linux's `errexec()` gives a failed exec: 127 when
/// there was nothing to run (`ENOENT`), 126 when it could not be run.
pub fn failure_status(err: &io::Error) -> u8 {
    if err.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// `_exit(2)`: ends the calling process now, without running exit handlers
/// or flushing stdio buffers. The way out of a forked helper, whose copy of
/// the parent's buffers must not be written twice.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust-owned memory; skipping
    // destructors in a forked copy of the process is the point.
    unsafe { libc::_exit(code) }
}

/// A program and its argv, converted for `execvp(3)` ahead of time, so a
/// freshly forked child can exec without allocating (every heap page it
/// writes would be copied on write).
#[derive(Debug)]
pub struct Prepared {
    file: CString,
    // Owns the strings `ptrs` points into; moving a CString does not move
    // its heap buffer, so the pointers stay valid for the life of `self`.
    _args: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl Prepared {
    /// Converts `file` and `argv` (`argv[0]` included); `EINVAL` on a NUL byte.
    pub fn new<F: AsRef<OsStr>, S: AsRef<OsStr>>(file: F, argv: &[S]) -> io::Result<Prepared> {
        let file = CString::new(file.as_ref().as_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let args = cstrings(argv)?;
        let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Ok(Prepared {
            file,
            _args: args,
            ptrs,
        })
    }

    /// `execvp(3)`; returns only on failure.
    pub fn exec(&self) -> io::Error {
        // SAFETY: `file` is NUL-terminated and every non-null pointer in
        // `ptrs` points into a CString owned by `self._args`, alive for this
        // call; `ptrs` ends with the NULL execvp needs.
        unsafe { libc::execvp(self.file.as_ptr(), self.ptrs.as_ptr()) };
        io::Error::last_os_error()
    }
}
