//! The nsfs ioctls (`ioctl_ns(2)`) and `setns(2)`.
//!
//! A namespace file (`/proc/PID/ns/*` or a bind mount of one) is a file on
//! the internal `nsfs` filesystem. These ioctls ask the kernel about the
//! namespace it refers to: its type, its owning user namespace, its parent
//! (pid and user namespaces only) and the uid of its owner.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::cvt;

/// `NSFS_MAGIC` from `<linux/magic.h>`: `statfs.f_type` of a namespace file.
pub const NSFS_MAGIC: i64 = 0x6e73_6673;

const NSIO: u32 = 0xb7;
const fn io(nr: u32) -> u32 {
    // _IO(type, nr) = (type << 8) | nr, with no size and no direction bits.
    (NSIO << 8) | nr
}
/// `NS_GET_USERNS`: fd of the user namespace that owns this namespace.
pub const NS_GET_USERNS: u32 = io(0x1);
/// `NS_GET_PARENT`: fd of the parent namespace (pid and user namespaces).
pub const NS_GET_PARENT: u32 = io(0x2);
/// `NS_GET_NSTYPE`: the `CLONE_NEW*` flag of this namespace.
pub const NS_GET_NSTYPE: u32 = io(0x3);
/// `NS_GET_OWNER_UID`: the uid that created this user namespace.
pub const NS_GET_OWNER_UID: u32 = io(0x4);
/// `SIOCGSKNS` (`<linux/sockios.h>`): fd of a socket's network namespace.
pub const SIOCGSKNS: u32 = 0x894c;

/// Whether `fd` is a file on nsfs (that is, a namespace file).
pub fn is_nsfs(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let st = rustix::fs::fstatfs(fd)?;
    // f_type is i64 on x86_64 but narrower on some architectures.
    #[allow(clippy::useless_conversion)]
    let f_type = i64::from(st.f_type);
    Ok(f_type == NSFS_MAGIC)
}

fn ioctl_fd(fd: BorrowedFd<'_>, request: u32) -> io::Result<OwnedFd> {
    // SAFETY: NS_GET_USERNS / NS_GET_PARENT / SIOCGSKNS take no argument
    // and only read the fd, which `BorrowedFd` keeps open for the call.
    let ret = cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::Ioctl::from(request)) })?;
    // SAFETY: on success these ioctls return a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// `NS_GET_USERNS`: opens the user namespace that owns the namespace `fd`.
///
/// Fails with `EPERM` when that user namespace is outside the caller's own.
pub fn owner_userns(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    ioctl_fd(fd, NS_GET_USERNS)
}

/// `NS_GET_PARENT`: opens the parent of a pid or user namespace.
///
/// Fails with `EPERM` at the caller's root and `EINVAL` for other types.
pub fn parent_ns(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    ioctl_fd(fd, NS_GET_PARENT)
}

/// `SIOCGSKNS`: opens the network namespace the socket `fd` was created in.
///
/// Fails with `ENOTTY`/`EOPNOTSUPP` if `fd` is no socket, `EPERM` without
/// `CAP_NET_ADMIN` over that namespace.
pub fn socket_netns(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    ioctl_fd(fd, SIOCGSKNS)
}

/// `NS_GET_NSTYPE`: the `CLONE_NEW*` constant of the namespace `fd`.
pub fn ns_type(fd: BorrowedFd<'_>) -> io::Result<i32> {
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the open fd.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::Ioctl::from(NS_GET_NSTYPE)) })
}

/// `NS_GET_OWNER_UID`: the uid (in the caller's user namespace) that
/// created the user namespace `fd`.
pub fn owner_uid(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through the pointer, which
    // points at a live, properly aligned local for the whole call.
    cvt(unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::Ioctl::from(NS_GET_OWNER_UID),
            &mut uid as *mut libc::uid_t,
        )
    })?;
    Ok(uid)
}

/// `setns(2)`: moves the calling thread into the namespace(s) `fd` names.
///
/// `fd` is a namespace file (then `nstype` is 0 or its `CLONE_NEW*` flag)
/// or a pidfd (then `nstype` is an OR of `CLONE_NEW*` flags, entered
/// atomically, kernel 5.8+).
pub fn setns(fd: impl AsFd, nstype: i32) -> io::Result<()> {
    // SAFETY: setns only reads the fd, which is open for the whole call.
    cvt(unsafe { libc::setns(fd.as_fd().as_raw_fd(), nstype) })?;
    Ok(())
}
