//! Persistent namespaces: bind-mounting a namespace's nsfs file onto an
//! ordinary file keeps the namespace alive after its last process exits,
//! and `nsenter --net=FILE` (or `setns` on an fd of it) can join it later.
//!
//! A mount namespace can only be persisted from *outside* itself, onto a
//! file whose mount does not propagate into it (a private mount), or the
//! kernel refuses the reference loop (`EINVAL`); see unshare(1).

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::mount::{mount_bind, unmount, UnmountFlags};

use super::helper::{msg, value, Helper, HelperEnd, Msg, Wire};
use crate::NsKind;

/// A namespace to persist, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistTarget {
    /// Which of the process's namespaces.
    pub kind: NsKind,
    /// The file to bind it onto; created (empty, mode 0444) if missing.
    pub path: PathBuf,
}

/// The file under `/proc/PID/` that names the namespace `unshare` created
/// of `kind`: pid and time namespaces are those of the next child.
pub const fn ns_file(kind: NsKind) -> &'static str {
    match kind {
        NsKind::Pid => "ns/pid_for_children",
        NsKind::Time => "ns/time_for_children",
        NsKind::Mnt => "ns/mnt",
        NsKind::Net => "ns/net",
        NsKind::Uts => "ns/uts",
        NsKind::Ipc => "ns/ipc",
        NsKind::User => "ns/user",
        NsKind::Cgroup => "ns/cgroup",
    }
}

/// The order util-linux binds in (user first, mount late).
pub const BIND_ORDER: [NsKind; 8] = NsKind::UTIL_LINUX_ORDER;

/// A persist step that failed.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The target file did not exist and could not be created.
    #[error("cannot create {path}")]
    Create {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The bind mount failed.
    #[error("mount {src} on {path} failed")]
    Mount {
        /// `/proc/PID/ns/KIND`.
        src: PathBuf,
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A mount namespace cannot be bound where the mount would propagate
    /// back into it (the kernel's `EINVAL`).
    #[error("mount {src} on {path} failed (a mount namespace needs its file on a private mount: mount --make-private)")]
    MountNsNotPrivate {
        /// `/proc/PID/ns/mnt`.
        src: PathBuf,
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The helper process could not be started or talked to.
    #[error("persist helper failed")]
    Helper(#[source] io::Error),
}

/// Bind mounts made by [`bind_all`], undone on Drop unless [`Bound::keep`]
/// is called: each target is unmounted and, if it was created, removed.
#[derive(Debug)]
pub struct Bound {
    done: Vec<(PathBuf, bool)>,
}

impl Bound {
    /// Keeps the bind mounts: the namespaces stay persisted.
    pub fn keep(mut self) {
        self.done.clear();
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        for (path, created) in self.done.drain(..).rev() {
            let _ = unmount(&path, UnmountFlags::DETACH);
            if created {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Binds `/proc_root/PID/ns/KIND` onto each target, in order; on error,
/// undoes the ones already done and removes files it created.
///
/// Runs in: a process in the *original* mount namespace with
/// `CAP_SYS_ADMIN` there (root, or the helper of an unprivileged user,
/// who then gets `EPERM`).
///
/// ```no_run
/// use husk_ns::{NsKind, unshare::persist::{bind_all, PersistTarget}};
/// let target = PersistTarget { kind: NsKind::Uts, path: "/run/husk-uts".into() };
/// let bound = bind_all(std::path::Path::new("/proc"), std::process::id(), &[target])?;
/// bound.keep(); // leave it mounted
/// # Ok::<(), husk_ns::unshare::persist::PersistError>(())
/// ```
pub fn bind_all(
    proc_root: &Path,
    pid: u32,
    targets: &[PersistTarget],
) -> Result<Bound, PersistError> {
    let mut bound = Bound { done: Vec::new() };
    for t in targets {
        let created = create_target(&t.path)?;
        let src = proc_root.join(pid.to_string()).join(ns_file(t.kind));
        if let Err(e) = mount_bind(&src, &t.path) {
            if created {
                let _ = std::fs::remove_file(&t.path);
            }
            return Err(mount_error(src, t, e.into()));
        }
        bound.done.push((t.path.clone(), created));
    }
    Ok(bound)
}

fn mount_error(src: PathBuf, t: &PersistTarget, source: io::Error) -> PersistError {
    let path = t.path.clone();
    if t.kind == NsKind::Mnt && source.raw_os_error() == Some(libc::EINVAL) {
        return PersistError::MountNsNotPrivate { src, path, source };
    }
    PersistError::Mount { src, path, source }
}

/// Creates `path` if missing; whether it did.
fn create_target(path: &Path) -> Result<bool, PersistError> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    match rustix::fs::open(path, flags, Mode::from_raw_mode(0o444)) {
        Ok(_) => Ok(true),
        Err(rustix::io::Errno::EXIST) => Ok(false),
        Err(e) => Err(PersistError::Create {
            path: path.to_owned(),
            source: e.into(),
        }),
    }
}

/// Orders to the persist helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToHelper {
    /// Bind the parent's namespaces onto the targets now.
    Bind,
    /// The command got going: keep the bind mounts.
    Keep,
}

/// Reports from the persist helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToParent {
    /// Every target is bound.
    Bound,
    /// Target `index` could not be created (`errno`); nothing is left bound.
    CreateFailed { index: u8, errno: i32 },
    /// Target `index` could not be bound (`errno`); nothing is left bound.
    MountFailed { index: u8, errno: i32 },
}

impl Wire for ToHelper {
    fn encode(&self) -> Msg {
        msg(*self as u8 + 1, 0, 0)
    }
    fn decode(m: &Msg) -> Option<ToHelper> {
        match m[0] {
            1 => Some(ToHelper::Bind),
            2 => Some(ToHelper::Keep),
            _ => None,
        }
    }
}

impl Wire for ToParent {
    fn encode(&self) -> Msg {
        match *self {
            ToParent::Bound => msg(1, 0, 0),
            ToParent::CreateFailed { index, errno } => msg(2, index, errno),
            ToParent::MountFailed { index, errno } => msg(3, index, errno),
        }
    }
    fn decode(m: &Msg) -> Option<ToParent> {
        let (index, errno) = (m[1], value(m));
        match m[0] {
            1 => Some(ToParent::Bound),
            2 => Some(ToParent::CreateFailed { index, errno }),
            3 => Some(ToParent::MountFailed { index, errno }),
            _ => None,
        }
    }
}

/// A helper process, forked before `unshare(2)`, that persists the
/// namespaces of its parent when told ([`PersistHelper::bind`]) and keeps
/// them only if told so ([`PersistHelper::keep`]); otherwise (the command
/// failed, the parent died) it undoes its bind mounts.
#[derive(Debug)]
pub struct PersistHelper {
    helper: Helper,
    parent: u32,
    targets: Vec<PersistTarget>,
}

impl PersistHelper {
    /// Forks the helper. Call before unsharing.
    pub fn spawn(targets: Vec<PersistTarget>) -> Result<PersistHelper, PersistError> {
        let parent = std::process::id();
        let for_child = targets.clone();
        let helper = Helper::spawn(move |end| helper_main(&end, parent, &for_child))
            .map_err(PersistError::Helper)?;
        Ok(PersistHelper {
            helper,
            parent,
            targets,
        })
    }

    /// Has the helper bind the parent's namespaces onto the targets.
    ///
    /// Call after `unshare(2)` (and, for a pid namespace, after forking its
    /// first process, or `pid_for_children` is not there yet).
    pub fn bind(&self) -> Result<(), PersistError> {
        let broken = |kind| PersistError::Helper(io::Error::from(kind));
        let reply = self
            .helper
            .ask(ToHelper::Bind.encode())
            .map_err(PersistError::Helper)?
            .ok_or_else(|| broken(io::ErrorKind::UnexpectedEof))?;
        let report = ToParent::decode(&reply).ok_or_else(|| broken(io::ErrorKind::InvalidData))?;
        let target = |index: u8| {
            self.targets
                .get(usize::from(index))
                .ok_or_else(|| broken(io::ErrorKind::InvalidData))
        };
        match report {
            ToParent::Bound => Ok(()),
            ToParent::CreateFailed { index, errno } => Err(PersistError::Create {
                path: target(index)?.path.clone(),
                source: io::Error::from_raw_os_error(errno),
            }),
            ToParent::MountFailed { index, errno } => {
                let t = target(index)?;
                let src = PathBuf::from(format!("/proc/{}/{}", self.parent, ns_file(t.kind)));
                Err(mount_error(src, t, io::Error::from_raw_os_error(errno)))
            }
        }
    }

    /// Tells the helper to keep the bind mounts, and reaps it.
    pub fn keep(self) -> Result<(), PersistError> {
        self.helper
            .tell(ToHelper::Keep.encode())
            .map_err(PersistError::Helper)?;
        self.helper.reap().map_err(PersistError::Helper)?;
        Ok(())
    }
}

/// The persist helper.
///
/// Runs in: a child of the unsharing process, forked before `unshare(2)`:
/// original namespaces, original privileges. Waits for `BIND`, reports,
/// then keeps the mounts on `KEEP` or undoes them on anything else
/// (end-of-file included).
fn helper_main(end: &HelperEnd, parent: u32, targets: &[PersistTarget]) -> i32 {
    let order = |end: &HelperEnd| end.order().as_ref().and_then(ToHelper::decode);
    if order(end) != Some(ToHelper::Bind) {
        return 0;
    }
    match bind_all(Path::new("/proc"), parent, targets) {
        Ok(bound) => {
            end.report(ToParent::Bound.encode());
            if order(end) == Some(ToHelper::Keep) {
                bound.keep();
            }
            0
        }
        Err(e) => {
            end.report(failure_report(&e, targets).encode());
            1
        }
    }
}

fn failure_report(e: &PersistError, targets: &[PersistTarget]) -> ToParent {
    let index_of = |path: &PathBuf| {
        let i = targets.iter().position(|t| &t.path == path).unwrap_or(0);
        u8::try_from(i).unwrap_or(u8::MAX)
    };
    let errno = |s: &io::Error| s.raw_os_error().unwrap_or(libc::EIO);
    match e {
        PersistError::Create { path, source } => ToParent::CreateFailed {
            index: index_of(path),
            errno: errno(source),
        },
        PersistError::Mount { path, source, .. }
        | PersistError::MountNsNotPrivate { path, source, .. } => ToParent::MountFailed {
            index: index_of(path),
            errno: errno(source),
        },
        PersistError::Helper(source) => ToParent::MountFailed {
            index: u8::MAX,
            errno: errno(source),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for m in [ToHelper::Bind, ToHelper::Keep] {
            assert_eq!(ToHelper::decode(&m.encode()), Some(m));
        }
        for m in [
            ToParent::Bound,
            ToParent::CreateFailed {
                index: 3,
                errno: libc::ENOENT,
            },
            ToParent::MountFailed {
                index: 0,
                errno: libc::EPERM,
            },
        ] {
            assert_eq!(ToParent::decode(&m.encode()), Some(m));
        }
        assert_eq!(ToParent::decode(&[0xff; 8]), None);
    }

    #[test]
    fn failed_bind_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("uts");
        // A fake proc root without the ns file: the mount fails.
        let t = PersistTarget {
            kind: NsKind::Uts,
            path: target.clone(),
        };
        let err = bind_all(dir.path(), 1, &[t]).unwrap_err();
        assert!(matches!(err, PersistError::Mount { .. }), "{err:?}");
        assert!(!target.exists());
    }

    #[test]
    fn uncreatable_target_is_reported() {
        let t = PersistTarget {
            kind: NsKind::Net,
            path: PathBuf::from("/nonexistent-husk-dir/net"),
        };
        let err = bind_all(Path::new("/proc"), 1, &[t]).unwrap_err();
        assert_eq!(err.to_string(), "cannot create /nonexistent-husk-dir/net");
    }
}
