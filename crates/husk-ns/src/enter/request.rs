//! What to join ([`Request`]) and turning it into open handles ([`Plan`]).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::process::{Pid, PidfdFlags};

use super::join::{Join, Plan};
use super::{EnterError, ENTER_ORDER};
use crate::{Namespace, NsKind};

/// Where one namespace (or the root, or the working directory) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// From the target process: `/proc/PID/ns/KIND`, `/proc/PID/root`,
    /// `/proc/PID/cwd`.
    Target,
    /// From this file: a namespace file or a directory.
    Path(PathBuf),
}

/// The working directory to end up in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkDir {
    /// A directory opened *before* entering (`nsenter -w`): a tunnel back
    /// to a directory of the caller's (or the target's) mount namespace.
    Before(Source),
    /// A path looked up *after* entering and changing root (`nsenter -W`).
    After(PathBuf),
}

/// What to join: built with chained calls, then [`resolve`](Request::resolve)d.
///
/// The same kind given twice keeps the last source, as util-linux does.
#[derive(Debug, Clone, Default)]
pub struct Request {
    target: Option<u32>,
    namespaces: Vec<(NsKind, Source)>,
    all: bool,
    root: Option<Source>,
    wd: Option<WorkDir>,
}

impl Request {
    /// An empty request: joins nothing.
    pub fn new() -> Request {
        Request::default()
    }

    /// The process to take namespaces (and root, cwd) from. `0` means none.
    pub fn target(mut self, pid: u32) -> Request {
        self.target = (pid != 0).then_some(pid);
        self
    }

    /// Join the `kind` namespace from `source`.
    pub fn join(mut self, kind: NsKind, source: Source) -> Request {
        self.namespaces.retain(|(k, _)| *k != kind);
        self.namespaces.push((kind, source));
        self
    }

    /// Join every namespace of the target not given otherwise, except its
    /// user namespace when it is the caller's own (`setns` would refuse).
    pub fn all(mut self) -> Request {
        self.all = true;
        self
    }

    /// Change the root directory (`chroot`) after entering.
    pub fn root(mut self, source: Source) -> Request {
        self.root = Some(source);
        self
    }

    /// Change the working directory after entering (and after the root).
    pub fn work_dir(mut self, wd: WorkDir) -> Request {
        self.wd = Some(wd);
        self
    }

    /// The target process, if any.
    pub fn target_pid(&self) -> Option<u32> {
        self.target
    }

    /// Opens and checks everything the request names, changing nothing.
    ///
    /// Order: namespace files given by path; with [`all`](Request::all),
    /// the target's namespaces worth joining; a pidfd of the target; the
    /// target's namespace files (in [`ENTER_ORDER`]); a check that the
    /// target still lives (else the pidfd is dropped); root; working
    /// directory.
    pub fn resolve(self) -> Result<Plan, EnterError> {
        let mut sources: [Option<Source>; 8] = Default::default();
        for (kind, source) in self.namespaces {
            sources[slot(kind)] = Some(source);
        }
        let mut handles: [Option<Namespace>; 8] = Default::default();
        for kind in ENTER_ORDER {
            if let Some(Source::Path(path)) = &sources[slot(kind)] {
                handles[slot(kind)] = Some(Namespace::open_kind(path, kind)?);
            }
        }
        if self.all {
            let pid = self.target.ok_or(EnterError::AllWithoutTarget)?;
            for kind in ENTER_ORDER {
                if sources[slot(kind)].is_none() && worth_joining(pid, kind)? {
                    sources[slot(kind)] = Some(Source::Target);
                }
            }
        }
        let from_target = |k: NsKind| sources[slot(k)] == Some(Source::Target);
        let pidfd = match self.target {
            Some(pid) if ENTER_ORDER.into_iter().any(from_target) => open_pidfd(pid),
            _ => None,
        };
        let mut joins = Vec::new();
        for kind in ENTER_ORDER {
            let ns = match handles[slot(kind)].take() {
                Some(ns) => ns,
                None if from_target(kind) => {
                    let pid = need_target(self.target, &format!("ns/{kind}"))?;
                    Namespace::open_kind(format!("/proc/{pid}/ns/{kind}"), kind)?
                }
                None => continue,
            };
            joins.push(Join {
                ns,
                from_target: from_target(kind),
            });
        }
        // The pidfd was taken before the files were opened: if its process
        // still lives, the pid was not reused in between, and the files are
        // that process's. Otherwise keep the files and forget the pidfd.
        let pidfd = pidfd.filter(|fd| !husk_sys::pidfd::has_exited(fd.as_fd()).unwrap_or(true));
        let root = match &self.root {
            Some(source) => Some(open_dir(source, self.target, "root")?),
            None => None,
        };
        let wd = match self.wd {
            Some(WorkDir::Before(source)) => Some(Ok(open_dir(&source, self.target, "cwd")?)),
            Some(WorkDir::After(path)) => Some(Err(path)),
            None => None,
        };
        Ok(Plan::new(self.target, pidfd, joins, root, wd))
    }
}

/// Index of `kind` in [`ENTER_ORDER`].
pub(super) fn slot(kind: NsKind) -> usize {
    ENTER_ORDER.iter().position(|k| *k == kind).unwrap_or(0)
}

fn need_target(target: Option<u32>, what: &str) -> Result<u32, EnterError> {
    target.ok_or_else(|| EnterError::NoSource {
        what: what.to_owned(),
    })
}

/// util-linux's test for `--all`: the kernel has the kind (our own
/// `/proc/self/ns/KIND` exists) and, for the user namespace, the target's
/// differs from ours (re-entering one's own user namespace is `EINVAL`).
fn worth_joining(pid: u32, kind: NsKind) -> Result<bool, EnterError> {
    let own = match rustix::fs::stat(format!("/proc/self/ns/{kind}")) {
        Err(e) if e == rustix::io::Errno::NOENT => return Ok(false),
        other => other.ok(),
    };
    if kind != NsKind::User {
        return Ok(true);
    }
    let path = PathBuf::from(format!("/proc/{pid}/ns/{kind}"));
    let theirs = rustix::fs::stat(&path).map_err(|e| EnterError::Stat {
        path,
        source: e.into(),
    })?;
    Ok(match own {
        Some(own) => own.st_ino != theirs.st_ino,
        None => true,
    })
}

/// A pidfd of the target for the atomic `setns`, or `None` where the kernel
/// has no `pidfd_open` (before 5.3) or the process is gone (the namespace
/// files, opened next, then report the error util-linux would).
fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    let pid = Pid::from_raw(i32::try_from(pid).ok()?)?;
    rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok()
}

/// Opens a root or working directory. `O_RDONLY` without `O_DIRECTORY`, as
/// util-linux: a non-directory fails later, at `fchdir`, with `ENOTDIR`.
fn open_dir(source: &Source, target: Option<u32>, what: &str) -> Result<OwnedFd, EnterError> {
    let path = match source {
        Source::Path(path) => path.clone(),
        Source::Target => PathBuf::from(format!("/proc/{}/{what}", need_target(target, what)?)),
    };
    open_ro(&path).map_err(|source| EnterError::Open { path, source })
}

pub(super) fn open_ro(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_order_has_every_kind_once_user_first() {
        assert_eq!(ENTER_ORDER[0], NsKind::User);
        for kind in NsKind::ALL {
            assert_eq!(ENTER_ORDER[slot(kind)], kind);
        }
    }

    #[test]
    fn a_namespace_from_the_target_needs_a_target() {
        let err = Request::new()
            .join(NsKind::Uts, Source::Target)
            .resolve()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "neither filename nor target pid supplied for ns/uts"
        );
        let err = Request::new().all().resolve().unwrap_err();
        assert!(matches!(err, EnterError::AllWithoutTarget), "{err:?}");
    }

    #[test]
    fn files_are_checked_before_anything_changes() {
        let err = Request::new()
            .join(NsKind::Uts, Source::Path("/proc/self/status".into()))
            .resolve()
            .unwrap_err();
        assert_eq!(err.to_string(), "/proc/self/status is not a namespace file");
        let err = Request::new()
            .join(NsKind::Uts, Source::Path("/proc/self/ns/net".into()))
            .resolve()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/self/ns/net is a net namespace, not uts"
        );
    }

    #[test]
    fn all_on_ourselves_skips_our_own_user_namespace() {
        let plan = Request::new()
            .target(std::process::id())
            .all()
            .resolve()
            .expect("resolve our own namespaces");
        assert!(!plan.enters(NsKind::User));
        for kind in NsKind::ALL.into_iter().filter(|k| *k != NsKind::User) {
            assert!(plan.enters(kind), "{kind}");
        }
        // Explicitly asked for, the user namespace stays (and would fail).
        let plan = Request::new()
            .target(std::process::id())
            .all()
            .join(NsKind::User, Source::Target)
            .resolve()
            .unwrap();
        assert!(plan.enters(NsKind::User));
    }

    #[test]
    fn last_source_of_a_kind_wins() {
        let plan = Request::new()
            .join(NsKind::Uts, Source::Target)
            .join(NsKind::Uts, Source::Path("/proc/self/ns/uts".into()))
            .resolve()
            .expect("file source needs no target");
        assert_eq!(plan.kinds().collect::<Vec<_>>(), [NsKind::Uts]);
    }
}
