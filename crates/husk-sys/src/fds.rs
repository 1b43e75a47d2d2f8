//! File descriptors of the calling process as a whole.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::cvt;

/// Marks every fd from `first` up close-on-exec (`close_range(2)` with
/// `CLOSE_RANGE_CLOEXEC`, Linux 5.11), so an exec leaks none of them.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC closes nothing; it only
    // sets a flag on fds in the range, so no owner loses an fd it holds.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    cvt(ret).map(drop)
}

/// A close-on-exec duplicate of `fd`, owned by the caller: for an fd a C
/// library hands out by number and keeps (libseccomp's notify fd).
/// An `fd` that is not open is `EBADF`.
pub fn dup_raw(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) reads no memory and leaves `fd` as it
    // is (an fd number that is not open only gives EBADF).
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn marks_fds() {
        let f = std::fs::File::open("/dev/null").unwrap();
        super::cloexec_from(1000).unwrap();
        drop(f);
    }

    #[test]
    fn dup_raw_gives_a_new_fd() {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open("/dev/null").unwrap();
        let d = super::dup_raw(f.as_raw_fd()).unwrap();
        assert_ne!(d.as_raw_fd(), f.as_raw_fd());
        assert!(super::dup_raw(-1).is_err());
    }
}
