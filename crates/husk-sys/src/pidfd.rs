//! Questions to a pidfd that rustix (without its `event` feature) lacks.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::cvt;

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
    fn a_live_process_has_not_exited_a_reaped_one_has() {
        let me = rustix::process::getpid();
        let fd = rustix::process::pidfd_open(me, rustix::process::PidfdFlags::empty()).unwrap();
        assert!(!has_exited(fd.as_fd()).unwrap());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).unwrap();
        child.wait().unwrap();
        assert!(has_exited(fd.as_fd()).unwrap());
    }
}
