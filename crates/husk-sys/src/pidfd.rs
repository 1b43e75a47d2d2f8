//! Process file descriptors: a handle on a process that cannot be confused
//! with a later process reusing its pid.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::process::{getpid, pidfd_open, PidfdFlags};

use crate::cvt;

/// A pidfd of the calling process (`pidfd_open(getpid())`), close-on-exec.
///
/// A child forked afterwards inherits it and can tell, even from inside a
/// new pid namespace where `getppid()` is 0, whether this process has exited.
pub fn open_self() -> io::Result<OwnedFd> {
    Ok(pidfd_open(getpid(), PidfdFlags::empty())?)
}

/// Whether the process behind `pidfd` has exited (its pidfd is readable).
pub fn has_exited(pidfd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `poll` points at one initialised pollfd on this stack frame,
    // and the count passed is 1; timeout 0 makes the call non-blocking.
    let ready = cvt(unsafe { libc::poll(&mut poll, 1, 0) })?;
    Ok(ready > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn own_pidfd_is_not_exited() {
        let fd = open_self().unwrap();
        assert!(!has_exited(fd.as_fd()).unwrap());
    }
}
