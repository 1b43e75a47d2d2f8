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

/// Whether the process behind `pidfd` has exited (its pidfd polls readable).
///
/// Checking that a process is still alive *after* reading something by its
/// pid (`/proc/PID/...`) proves the pid was not reused in between: while
/// the pidfd's process lives, its pid names no other.
pub fn has_exited(pidfd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut entry = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `entry` is one live, initialised pollfd and the count is 1;
    // a timeout of 0 returns at once, so the borrow outlives the call.
    let ready = cvt(unsafe { libc::poll(&mut entry, 1, 0) })?;
    Ok(ready > 0 && entry.revents & libc::POLLIN != 0)
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

    #[test]
    fn a_reaped_child_has_exited() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        let fd = pidfd_open(pid, PidfdFlags::empty()).unwrap();
        child.wait().unwrap();
        assert!(has_exited(fd.as_fd()).unwrap());
    }
}
