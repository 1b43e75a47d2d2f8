//! The only crate in husk that makes raw system calls.
//!
//! Everything here is a small, owning wrapper: file descriptors come back as
//! [`std::os::fd::OwnedFd`] on the line that creates them, errors come back as
//! [`std::io::Error`] through [`cvt`], and every `unsafe` block carries a
//! `// SAFETY:` line naming the invariant that makes it sound.
//!
//! Safe crates (`husk-ns`, later `husk-net`, `husk-cgroup`, `husk-runtime`)
//! use [`rustix`] directly where it has the call, and this crate where it
//! does not.
#![deny(missing_docs)]

pub mod bpf;
pub mod creds;
pub mod exec;
pub mod fds;
pub mod inroot;
pub mod locale;
pub mod netnsid;
pub mod nsfs;
pub mod passwd;
pub mod pidfd;
pub mod process;
pub mod scm;
pub mod signal;
pub mod sigwait;
pub mod unshare;

use std::io;

/// Turns a C-style `-1 + errno` return into an [`io::Result`].
///
/// ```
/// assert!(husk_sys::cvt(0).is_ok());
/// assert!(husk_sys::cvt(-1).is_err());
/// ```
pub fn cvt<T: IsMinusOne>(ret: T) -> io::Result<T> {
    if ret.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Integer types a syscall can return `-1` in.
pub trait IsMinusOne: Copy {
    /// Whether this value is the error sentinel `-1`.
    fn is_minus_one(self) -> bool;
}

macro_rules! impl_is_minus_one {
    ($($t:ty),*) => {$(
        impl IsMinusOne for $t {
            fn is_minus_one(self) -> bool { self == -1 }
        }
    )*};
}
impl_is_minus_one!(i32, i64, isize);
