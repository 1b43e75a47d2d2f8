//! `unshare(2)` restricted to namespace flags.

use std::io;

use crate::cvt;

/// Every `CLONE_NEW*` flag `unshare(2)` accepts.
pub const NAMESPACE_FLAGS: i32 = libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWTIME;

/// `unshare(2)` with only `CLONE_NEW*` flags: moves the caller into new
/// namespaces (pid and time: its future children).
///
/// Other flags (`CLONE_FILES`, `CLONE_FS`, `CLONE_VM`...) are refused with
/// `EINVAL`. `CLONE_NEWUSER` (and `CLONE_NEWNS` with it) fails with `EINVAL`
/// in a multi-threaded process.
pub fn unshare_namespaces(flags: i32) -> io::Result<()> {
    if flags & !NAMESPACE_FLAGS != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: only CLONE_NEW* flags reach the kernel (checked above). They
    // change which namespaces the thread belongs to, never the sharing of
    // memory, file descriptors or fs info that Rust code relies on.
    cvt(unsafe { libc::unshare(flags) })?;
    Ok(())
}
