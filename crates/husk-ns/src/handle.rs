//! [`Namespace`]: an open handle to one namespace.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use husk_sys::nsfs;
use rustix::fs::{Mode, OFlags};

use crate::NsKind;

/// Identity of a namespace: the device and inode of its nsfs file.
///
/// Two handles refer to the same namespace exactly when their ids are equal.
/// `lsns` and `/proc/PID/ns/*` links (`net:[4026531840]`) show the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsId {
    /// `st_dev` of the nsfs file.
    pub dev: u64,
    /// `st_ino` of the nsfs file: the number `lsns` prints.
    pub ino: u64,
}

/// Why a namespace handle could not be opened or queried.
///
/// Messages do not repeat their source; print the chain to see the cause.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    /// The file could not be opened (missing, no permission, exited pid).
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not on nsfs, so it is not a namespace.
    #[error("{path} is not a namespace file")]
    NotNamespace {
        /// The file.
        path: PathBuf,
    },
    /// The file is a namespace, but not of the kind asked for.
    #[error("{path} is a {found} namespace, not {expected}")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// Kind asked for.
        expected: NsKind,
        /// Kind it is.
        found: NsKind,
    },
    /// An `NS_GET_*` ioctl or `fstat` on the handle failed.
    #[error("cannot get the {what} of {kind} namespace {ino}")]
    Query {
        /// Which property (`owner`, `parent`, `type`, `owner uid`, `inode`).
        what: &'static str,
        /// Kind of the namespace queried.
        kind: NsKind,
        /// Its inode.
        ino: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `setns(2)` into the namespace failed.
    #[error("cannot enter {kind} namespace {ino}")]
    Enter {
        /// Kind of the namespace.
        kind: NsKind,
        /// Its inode.
        ino: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// An open namespace: an nsfs file descriptor with its kind and identity.
///
/// Opening checks that the file really is a namespace (`fstatfs` says nsfs)
/// and asks the kernel its type (`NS_GET_NSTYPE`), so a handle never lies
/// about what it refers to. The fd is close-on-exec. Holding the handle keeps
/// the namespace alive, like a bind mount would.
#[derive(Debug)]
pub struct Namespace {
    fd: OwnedFd,
    kind: NsKind,
    id: NsId,
}

impl Namespace {
    /// Opens the namespace file at `path` (`/proc/PID/ns/net`, a bind mount
    /// such as `/run/netns/NAME`, or `/proc/self/fd/N`).
    ///
    /// ```
    /// use husk_ns::{Namespace, NsError, NsKind};
    /// let uts = Namespace::open("/proc/self/ns/uts")?;
    /// assert_eq!(uts.kind(), NsKind::Uts);
    /// // The inode is the number in the link: `uts:[4026531838]`.
    /// let link = std::fs::read_link("/proc/self/ns/uts").unwrap();
    /// assert_eq!(link.to_str(), Some(format!("uts:[{}]", uts.ino()).as_str()));
    /// // A file that is not a namespace is refused.
    /// assert!(matches!(
    ///     Namespace::open("/proc/self/status"),
    ///     Err(NsError::NotNamespace { .. })
    /// ));
    /// # Ok::<(), NsError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Namespace, NsError> {
        let path = path.as_ref();
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(
            |e| NsError::Open {
                path: path.to_owned(),
                source: e.into(),
            },
        )?;
        Namespace::from_fd(fd).map_err(|e| match e {
            NsError::NotNamespace { .. } => NsError::NotNamespace {
                path: path.to_owned(),
            },
            other => other,
        })
    }

    /// Opens `path` and checks that it is a namespace of kind `expected`.
    pub fn open_kind(path: impl AsRef<Path>, expected: NsKind) -> Result<Namespace, NsError> {
        let path = path.as_ref();
        let ns = Namespace::open(path)?;
        if ns.kind != expected {
            return Err(NsError::WrongKind {
                path: path.to_owned(),
                expected,
                found: ns.kind,
            });
        }
        Ok(ns)
    }

    /// The `kind` namespace of process `pid` (`/proc/PID/ns/KIND`).
    ///
    /// Another user's process needs privilege; a pid that has exited fails
    /// with [`NsError::Open`].
    ///
    /// ```
    /// use husk_ns::{Namespace, NsKind};
    /// let mine = Namespace::of_pid(std::process::id(), NsKind::Net)?;
    /// assert_eq!(mine.id(), Namespace::of_self(NsKind::Net)?.id());
    /// # Ok::<(), husk_ns::NsError>(())
    /// ```
    pub fn of_pid(pid: u32, kind: NsKind) -> Result<Namespace, NsError> {
        Namespace::open(format!("/proc/{pid}/ns/{}", kind.proc_name()))
    }

    /// The calling process's own `kind` namespace.
    pub fn of_self(kind: NsKind) -> Result<Namespace, NsError> {
        Namespace::open(format!("/proc/self/ns/{}", kind.proc_name()))
    }

    /// Wraps an fd that should refer to a namespace, checking that it does.
    pub fn from_fd(fd: OwnedFd) -> Result<Namespace, NsError> {
        let unknown = |what, source| NsError::Query {
            what,
            kind: NsKind::User,
            ino: 0,
            source,
        };
        let stat = rustix::fs::fstat(&fd).map_err(|e| unknown("inode", e.into()))?;
        if !nsfs::is_nsfs(fd.as_fd()).map_err(|e| unknown("filesystem", e))? {
            return Err(NsError::NotNamespace {
                path: PathBuf::from("(fd)"),
            });
        }
        let id = NsId {
            dev: stat.st_dev,
            ino: stat.st_ino,
        };
        let flag = nsfs::ns_type(fd.as_fd()).map_err(|e| unknown("type", e))?;
        let kind = NsKind::from_clone_flag(flag).ok_or_else(|| {
            unknown(
                "type",
                io::Error::new(io::ErrorKind::Unsupported, "unknown CLONE_NEW* flag"),
            )
        })?;
        Ok(Namespace { fd, kind, id })
    }

    /// The namespace type.
    pub fn kind(&self) -> NsKind {
        self.kind
    }

    /// Device and inode: the namespace's identity.
    pub fn id(&self) -> NsId {
        self.id
    }

    /// The inode number, as `lsns` and `/proc/PID/ns/*` show it.
    pub fn ino(&self) -> u64 {
        self.id.ino
    }

    fn query_err(&self, what: &'static str) -> impl FnOnce(io::Error) -> NsError {
        let (kind, ino) = (self.kind, self.id.ino);
        move |source| NsError::Query {
            what,
            kind,
            ino,
            source,
        }
    }

    /// The user namespace that owns this one (`NS_GET_USERNS`).
    ///
    /// `Ok(None)` when the owner lies outside the caller's user namespace
    /// (the kernel answers `EPERM`). For a user namespace, the owner is its
    /// parent.
    ///
    /// ```
    /// use husk_ns::{Namespace, NsKind};
    /// // Our network namespace is owned by a user namespace we can see: ours.
    /// let net = Namespace::of_self(NsKind::Net)?;
    /// let owner = net.owner()?.expect("our own user namespace");
    /// assert_eq!(owner.kind(), NsKind::User);
    /// assert_eq!(owner.id(), Namespace::of_self(NsKind::User)?.id());
    /// # Ok::<(), husk_ns::NsError>(())
    /// ```
    pub fn owner(&self) -> Result<Option<Namespace>, NsError> {
        match nsfs::owner_userns(self.fd.as_fd()) {
            Ok(fd) => Namespace::from_fd(fd).map(Some),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(None),
            Err(e) => Err(self.query_err("owner")(e)),
        }
    }

    /// The parent of a pid or user namespace (`NS_GET_PARENT`).
    ///
    /// `Ok(None)` at the top of what the caller can see (`EPERM`) and for
    /// the other six kinds, which have no parent (`EINVAL`).
    ///
    /// ```
    /// use husk_ns::{Namespace, NsKind};
    /// // Only pid and user namespaces are nested.
    /// assert!(Namespace::of_self(NsKind::Uts)?.parent()?.is_none());
    /// // A pid namespace's parent, if any, is a pid namespace.
    /// if let Some(parent) = Namespace::of_self(NsKind::Pid)?.parent()? {
    ///     assert_eq!(parent.kind(), NsKind::Pid);
    /// }
    /// # Ok::<(), husk_ns::NsError>(())
    /// ```
    pub fn parent(&self) -> Result<Option<Namespace>, NsError> {
        match nsfs::parent_ns(self.fd.as_fd()) {
            Ok(fd) => Namespace::from_fd(fd).map(Some),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL)) => Ok(None),
            Err(e) => Err(self.query_err("parent")(e)),
        }
    }

    /// The uid that created this user namespace (`NS_GET_OWNER_UID`), as
    /// seen from the caller's user namespace. Fails for other kinds.
    pub fn owner_uid(&self) -> Result<u32, NsError> {
        nsfs::owner_uid(self.fd.as_fd()).map_err(self.query_err("owner uid"))
    }

    /// Moves the calling thread into this namespace (`setns(2)`).
    ///
    /// Entering a user or mount namespace requires a single-threaded caller.
    /// Needs `CAP_SYS_ADMIN` (over the target's owning user namespace), so
    /// the example is not run by `cargo test`.
    ///
    /// ```no_run
    /// use husk_ns::{Namespace, NsKind};
    /// // The network namespace `ip netns add blue` bind-mounted.
    /// let blue = Namespace::open_kind("/run/netns/blue", NsKind::Net)?;
    /// blue.enter()?;
    /// // Sockets made by this thread now live in `blue`.
    /// assert_eq!(Namespace::of_self(NsKind::Net)?.id(), blue.id());
    /// # Ok::<(), husk_ns::NsError>(())
    /// ```
    pub fn enter(&self) -> Result<(), NsError> {
        nsfs::setns(&self.fd, self.kind.clone_flag()).map_err(|source| NsError::Enter {
            kind: self.kind,
            ino: self.id.ino,
            source,
        })
    }
}

impl AsFd for Namespace {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_namespaces_open_with_their_kind() {
        for kind in NsKind::ALL {
            let ns = Namespace::of_self(kind).expect("open own namespace");
            assert_eq!(ns.kind(), kind);
            let link = std::fs::read_link(format!("/proc/self/ns/{}", kind.proc_name())).unwrap();
            assert_eq!(
                link.to_str().unwrap(),
                format!("{}:[{}]", kind.proc_name(), ns.ino())
            );
        }
    }

    #[test]
    fn a_regular_file_is_not_a_namespace() {
        let err = Namespace::open("/proc/self/status").unwrap_err();
        assert!(matches!(err, NsError::NotNamespace { .. }), "{err:?}");
        assert_eq!(err.to_string(), "/proc/self/status is not a namespace file");
    }

    #[test]
    fn wrong_kind_is_reported() {
        let err = Namespace::open_kind("/proc/self/ns/net", NsKind::Uts).unwrap_err();
        assert!(
            matches!(
                err,
                NsError::WrongKind {
                    found: NsKind::Net,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn non_user_namespaces_have_an_owner_and_no_parent() {
        let net = Namespace::of_self(NsKind::Net).unwrap();
        let owner = net.owner().unwrap().expect("own user ns is visible");
        assert_eq!(owner.kind(), NsKind::User);
        assert_eq!(owner.id(), Namespace::of_self(NsKind::User).unwrap().id());
        assert!(net.parent().unwrap().is_none());
    }
}
