//! Process credentials: `setgroups(2)`, `setgid(2)`, `setuid(2)`.
//!
//! On Linux these system calls change only the calling thread; the C
//! library's wrappers (used here) broadcast the change to every thread of
//! the process, which is the POSIX meaning and what `nsenter` expects.
//! They take raw ids, so `-1` (`u32::MAX`) reaches the kernel and fails
//! with `EINVAL` exactly as it does for util-linux.

use std::io;

use crate::cvt;

/// `setgroups(0, NULL)`: drops every supplementary group.
pub fn drop_supplementary_groups() -> io::Result<()> {
    // SAFETY: with a size of 0 the kernel reads nothing through the
    // (null) list pointer.
    cvt(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    Ok(())
}

/// `setgid(gid)`: sets the real, effective and saved group id.
pub fn set_gid(gid: u32) -> io::Result<()> {
    // SAFETY: setgid takes a plain integer and touches no memory of ours.
    cvt(unsafe { libc::setgid(gid) })?;
    Ok(())
}

/// `setuid(uid)`: sets the real, effective and saved user id.
pub fn set_uid(uid: u32) -> io::Result<()> {
    // SAFETY: setuid takes a plain integer and touches no memory of ours.
    cvt(unsafe { libc::setuid(uid) })?;
    Ok(())
}
