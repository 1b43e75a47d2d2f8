//! Passing a file descriptor over a unix socket (`SCM_RIGHTS`,
//! `unix(7)`): how `--console-socket` hands the pty master to conmon or
//! containerd, as runc does (one fd, a short name as the data).
//!
//! ```
//! use std::os::fd::AsFd;
//! let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
//! let file = std::fs::File::open("/dev/null").unwrap();
//! husk_sys::scm::send_fd(a.as_fd(), file.as_fd(), b"null").unwrap();
//! let (fd, name) = husk_sys::scm::recv_fd(b.as_fd()).unwrap();
//! assert_eq!(name, b"null");
//! drop(fd);
//! ```

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

const _: () = assert!(std::mem::size_of::<RawFd>() == FD_SIZE as usize);

use crate::cvt;

/// `sizeof(int)`: the payload of one fd.
const FD_SIZE: u32 = 4;

/// Room for one `cmsghdr` carrying one fd, aligned for it.
#[repr(C)]
union Control {
    buf: [u8; 64],
    _align: libc::cmsghdr,
}

/// Sends `fd` over the connected unix socket `sock` with `data` (which
/// must not be empty: a message needs one byte to carry the fd).
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut control = Control { buf: [0; 64] };
    // SAFETY: zeroed msghdr is a valid "no fields set" value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&raw mut control).cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(FD_SIZE) } as usize;
    // SAFETY: msg_control points at 64 bytes, aligned for cmsghdr, and
    // CMSG_SPACE(4) (24) fits, so the first header and its data are in bounds.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(FD_SIZE) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd.as_raw_fd());
    }
    // SAFETY: msg points at iov (data, alive for the call) and control,
    // both live locals; sendmsg only reads them. MSG_NOSIGNAL: a closed
    // peer is an EPIPE error, not a SIGPIPE.
    let sent = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    cvt(sent).map(drop)
}

/// Receives one fd (and up to 256 bytes of data) sent by [`send_fd`].
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<(OwnedFd, Vec<u8>)> {
    recv_fd_max(sock, 256)
}

/// Receives one fd and at most `max` bytes of the data that came with it
/// (a stream socket keeps the rest for the next read; `max` 1 takes only
/// the byte that carried the fd). No fd is `EBADMSG`.
pub fn recv_fd_max(sock: BorrowedFd<'_>, max: usize) -> io::Result<(OwnedFd, Vec<u8>)> {
    let mut data = vec![0u8; max.max(1)];
    let (got, fd) = recv_with_fd(sock, &mut data)?;
    data.truncate(got);
    match fd {
        Some(fd) => Ok((fd, data)),
        None => Err(io::Error::from_raw_os_error(libc::EBADMSG)),
    }
}

/// Receives up to `buf.len()` bytes like `recv(2)`, and the fd that came
/// with them if one did (a stream socket ends a read at the data that
/// carried fds, so an fd is never lost in a longer read).
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = Control { buf: [0; 64] };
    // SAFETY: zeroed msghdr is a valid "no fields set" value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&raw mut control).cast();
    msg.msg_controllen = 64;
    // SAFETY: msg points at buf and control, alive for the call, of the
    // sizes given; MSG_CMSG_CLOEXEC makes a received fd close-on-exec.
    let got = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    let got = usize::try_from(cvt(got)?).unwrap_or(0);
    // SAFETY: the kernel filled msg_control/msg_controllen; CMSG_FIRSTHDR
    // returns null when no header fits, checked before reading; the header's
    // cmsg_len says how many fds follow it, all inside `control`.
    let fds: Vec<OwnedFd> = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null()
            || (*cmsg).cmsg_level != libc::SOL_SOCKET
            || (*cmsg).cmsg_type != libc::SCM_RIGHTS
        {
            return Ok((got, None));
        }
        let header = libc::CMSG_LEN(0) as usize;
        let count = ((*cmsg).cmsg_len as usize).saturating_sub(header) / size_of::<RawFd>();
        let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
        // SCM_RIGHTS installed each as a new fd in this process that
        // nothing else owns.
        (0..count)
            .map(|i| OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))))
            .collect()
    };
    // One fd is expected; any more a peer sent are closed here, not leaked.
    Ok((got, fds.into_iter().next()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    /// Sends `fds` in one SCM_RIGHTS message with the byte `b'x'`.
    fn send_many(sock: &UnixStream, fds: &[RawFd]) {
        let mut byte = [b'x'];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut control = Control { buf: [0; 64] };
        let len = u32::try_from(std::mem::size_of_val(fds)).unwrap();
        // SAFETY: zeroed msghdr is valid; the control buffer holds one
        // header and `fds` (checked by the CMSG_SPACE assertion); every
        // pointer stays valid for the sendmsg call.
        unsafe {
            assert!(libc::CMSG_SPACE(len) as usize <= control.buf.len());
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = (&raw mut control).cast();
            msg.msg_controllen = libc::CMSG_SPACE(len) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(len) as usize;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr(),
                libc::CMSG_DATA(cmsg).cast::<RawFd>(),
                fds.len(),
            );
            assert_eq!(libc::sendmsg(sock.as_raw_fd(), &msg, 0), 1);
        }
    }

    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    #[test]
    fn extra_fds_in_one_message_are_closed() {
        let (a, b) = UnixStream::pair().unwrap();
        let f1 = std::fs::File::open("/dev/null").unwrap();
        let f2 = std::fs::File::open("/dev/zero").unwrap();
        let before = open_fds();
        send_many(&a, &[f1.as_raw_fd(), f2.as_raw_fd()]);
        let mut buf = [0u8; 4];
        let (got, fd) = recv_with_fd(b.as_fd(), &mut buf).unwrap();
        assert_eq!((got, buf[0]), (1, b'x'));
        let fd = fd.expect("the first fd");
        let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"));
        // Only the kept fd is new: the second one was closed.
        assert_eq!(open_fds(), before + 1);
    }
}
