//! `RTM_GETNSID`: the id a network namespace has in the caller's one.
//!
//! A network namespace can name its peers by a small integer, the *netnsid*
//! (`ip netns set NAME ID`, or assigned by the kernel when a veth peer or a
//! link-netns attribute needs one). `lsns -o NETNSID` shows it. The only
//! way to read it is one rtnetlink request per namespace, carrying an fd of
//! the namespace (`NETNSA_FD`); the reply carries `NETNSA_NSID`, which is
//! `-1` (`NETNSA_NSID_NOT_ASSIGNED`) when no id was given.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::cvt;

/// `NETNSA_NSID` value meaning "no id assigned" (`<linux/net_namespace.h>`).
pub const NSID_NOT_ASSIGNED: i32 = -1;

const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
const RTGENMSG_LEN: usize = 4; // struct rtgenmsg, padded to NLMSG_ALIGNTO
const RTA_HDRLEN: usize = 4;
// The libc constants are c_int; their values fit the header fields.
const NLM_F_REQUEST: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const AF_UNSPEC: u8 = 0;

/// A `NETLINK_ROUTE` socket for asking netnsids, one request at a time.
#[derive(Debug)]
pub struct NsIdSocket {
    fd: OwnedFd,
    seq: u32,
}

impl NsIdSocket {
    /// Opens the socket (in the caller's network namespace: ids are
    /// relative to it).
    pub fn open() -> io::Result<NsIdSocket> {
        // SAFETY: socket(2) takes no pointers; a non-negative return is a
        // new fd that nothing else owns, wrapped on the next line.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: `raw` is the fresh fd returned just above.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(NsIdSocket { fd, seq: 0 })
    }

    /// The netnsid of the network namespace `ns` (an nsfs fd), as seen
    /// from the socket's namespace: `Ok(n >= 0)`, or
    /// `Ok(NSID_NOT_ASSIGNED)`. A netlink error reply becomes `Err`.
    pub fn nsid(&mut self, ns: BorrowedFd<'_>) -> io::Result<i32> {
        self.seq = self.seq.wrapping_add(1);
        let req = request(self.seq, ns.as_raw_fd());
        // SAFETY: `req` is a live, initialised buffer of `req.len()` bytes
        // for the whole call; send only reads it.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        cvt(sent)?;
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is writable for `buf.len()` bytes for the whole
        // call; recv writes at most that many.
        let got = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let got = usize::try_from(cvt(got)?).unwrap_or(0);
        parse_reply(&buf[..got.min(buf.len())])
    }
}

/// The request: nlmsghdr + rtgenmsg(AF_UNSPEC) + one NETNSA_FD attribute.
fn request(seq: u32, ns_fd: i32) -> Vec<u8> {
    let len = NLMSG_HDRLEN + RTGENMSG_LEN + RTA_HDRLEN + 4;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&u32::try_from(len).unwrap_or(0).to_ne_bytes());
    m.extend_from_slice(&libc::RTM_GETNSID.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    m.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
    m.extend_from_slice(&8u16.to_ne_bytes()); // rta_len: header + i32
    m.extend_from_slice(&NETNSA_FD.to_ne_bytes());
    m.extend_from_slice(&ns_fd.to_ne_bytes());
    m
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads an `RTM_NEWNSID` reply whose first attribute is `NETNSA_NSID`.
fn parse_reply(b: &[u8]) -> io::Result<i32> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected RTM_GETNSID reply");
    let kind = u16_at(b, 4).ok_or_else(bad)?;
    if kind == NLMSG_ERROR {
        let errno = i32_at(b, NLMSG_HDRLEN).ok_or_else(bad)?;
        return Err(io::Error::from_raw_os_error(errno.saturating_neg()));
    }
    let at = NLMSG_HDRLEN + RTGENMSG_LEN;
    if kind != libc::RTM_NEWNSID || u16_at(b, at + 2) != Some(NETNSA_NSID) {
        return Err(bad());
    }
    i32_at(b, at + RTA_HDRLEN).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_has_an_answer() {
        let mut sock = NsIdSocket::open().expect("netlink socket");
        let ns = std::fs::File::open("/proc/self/ns/net").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&ns);
        // Our own namespace has no id for itself unless one was assigned.
        let id = sock.nsid(fd).expect("nsid of own namespace");
        assert!(id >= NSID_NOT_ASSIGNED);
    }

    #[test]
    fn a_non_namespace_fd_is_an_error() {
        let mut sock = NsIdSocket::open().expect("netlink socket");
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(sock.nsid(std::os::fd::AsFd::as_fd(&f)).is_err());
    }

    #[test]
    fn replies_parse() {
        let mut r = vec![0u8; 28];
        r[4..6].copy_from_slice(&libc::RTM_NEWNSID.to_ne_bytes());
        r[22..24].copy_from_slice(&NETNSA_NSID.to_ne_bytes());
        r[24..28].copy_from_slice(&7i32.to_ne_bytes());
        assert_eq!(parse_reply(&r).unwrap(), 7);
        r[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        r[16..20].copy_from_slice(&(-libc::EINVAL).to_ne_bytes());
        assert_eq!(
            parse_reply(&r).unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
    }
}
