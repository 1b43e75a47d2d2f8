//! Creating namespaces (the `unshare` engine) and persisting them.
//!
//! [`Unshare`] describes a run the way `unshare(1)` flags do; [`Unshare::plan`]
//! turns it into a checked [`Plan`] (pure: clone flags, who writes which id
//! map, what to persist, whether to fork), and [`Unshare::run`] executes it:
//!
//! 1. convert the program's argv; fork the persist helper and the id-map
//!    helper (still outside),
//! 2. `unshare(2)`,
//! 3. write `setgroups` and the caller's own one-line id maps, let the
//!    id-map helper write range maps,
//! 4. write time-namespace offsets,
//! 5. with `fork`: fork the child that runs the program; the parent
//!    persists namespaces, waits and reports the child's status;
//!    without: persist, then become the program,
//! 6. in the process that becomes the program: parent-death signal, mount
//!    propagation, root and working directory, `/proc`, uid/gid, ambient
//!    capabilities, `execvp`.
//!
//! ```no_run
//! use husk_ns::{NsKind, unshare::Unshare};
//! let run = Unshare {
//!     kinds: vec![NsKind::Uts, NsKind::Net],
//!     fork: true,
//!     ..Unshare::default()
//! };
//! let finished = run.run(&["hostname".into(), "inside".into()])?;
//! println!("child ended: {finished:?}");
//! # Ok::<(), husk_ns::unshare::UnshareError>(())
//! ```

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

use crate::idmap::write::SetGroups;
use crate::idmap::{IdMap, IdMapError, IdRange};
use crate::time::{TimeError, TimeOffset};
use crate::NsKind;

mod helper;
mod mapper;
pub mod persist;
mod stages;

pub use persist::{PersistError, PersistTarget};
pub use stages::Finished;

/// Mount propagation applied to `/` (recursively) in a new mount namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// `MS_SLAVE`: see the parent's new mounts, send none back.
    Slave,
    /// `MS_SHARED`: propagate both ways.
    Shared,
    /// `MS_PRIVATE` (the default): nothing propagates either way.
    #[default]
    Private,
    /// Leave propagation as inherited.
    Unchanged,
}

impl std::str::FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> Result<Propagation, String> {
        Ok(match s {
            "slave" => Propagation::Slave,
            "shared" => Propagation::Shared,
            "private" => Propagation::Private,
            "unchanged" => Propagation::Unchanged,
            other => return Err(format!("unsupported propagation mode: {other}")),
        })
    }
}

/// A run of `unshare`: which namespaces, how to map ids, what to run with.
///
/// Fields mirror util-linux `unshare(1)` options. Implications are applied
/// by [`Unshare::plan`]: `mount_proc` implies a mount namespace (and needs
/// a pid namespace), any id
/// mapping implies a user namespace, `kill_child` implies `fork`.
#[derive(Debug, Clone, Default)]
pub struct Unshare {
    /// Namespaces to create (`-m -u -i -n -p -U -C -T`).
    pub kinds: Vec<NsKind>,
    /// Namespaces to persist onto files (`--net=FILE` ...).
    pub persist: Vec<PersistTarget>,
    /// Run the program in a forked child (`-f`); required for a pid
    /// namespace to have the program as its pid 1.
    pub fork: bool,
    /// Signal the child gets when the parent dies (`--kill-child[=SIG]`).
    pub kill_child: Option<i32>,
    /// Mount a fresh proc filesystem here (`--mount-proc[=DIR]`).
    pub mount_proc: Option<PathBuf>,
    /// Map the caller's euid to this uid inside (`--map-user`, `-r`, `-c`).
    pub map_user: Option<u32>,
    /// Map the caller's egid to this gid inside (`--map-group`, `-r`, `-c`).
    pub map_group: Option<u32>,
    /// More uid ranges (`--map-users`, `--map-auto`).
    pub map_users: IdMap,
    /// More gid ranges (`--map-groups`, `--map-auto`).
    pub map_groups: IdMap,
    /// Write `setgroups` (`--setgroups allow|deny`).
    pub setgroups: Option<SetGroups>,
    /// Propagation of `/` in a new mount namespace (`--propagation`).
    pub propagation: Propagation,
    /// `chroot` here (`-R`).
    pub root: Option<PathBuf>,
    /// `chdir` here (`-w`); `/` after `root` by default.
    pub wd: Option<PathBuf>,
    /// `setuid` to this uid (`-S`).
    pub setuid: Option<u32>,
    /// `setgroups([])` and `setgid` to this gid (`-G`).
    pub setgid: Option<u32>,
    /// Keep the user namespace's capabilities across exec (`--keep-caps`).
    pub keep_caps: bool,
    /// Clock offsets for a new time namespace (`--monotonic`, `--boottime`).
    pub time_offsets: Vec<TimeOffset>,
}

/// What a run will do, worked out before any system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `CLONE_NEW*` flags for `unshare(2)`.
    pub flags: i32,
    /// Fork a child for the program.
    pub fork: bool,
    /// Namespaces to persist, in bind order.
    pub persist: Vec<PersistTarget>,
    /// `setgroups` value the unsharing process writes for itself.
    pub setgroups: Option<SetGroups>,
    /// One-line uid map the unsharing process writes for itself.
    pub own_uid_map: Option<IdRange>,
    /// One-line gid map the unsharing process writes for itself.
    pub own_gid_map: Option<IdRange>,
    /// Range uid map the id-map helper writes.
    pub helper_uid_map: Option<IdMap>,
    /// Range gid map the id-map helper writes.
    pub helper_gid_map: Option<IdMap>,
}

/// Why a run failed, one variant per step.
#[derive(Debug, thiserror::Error)]
pub enum UnshareError {
    /// `--monotonic`/`--boottime` without a time namespace.
    #[error("options --monotonic and --boottime require unsharing of a time namespace (-T)")]
    TimeNeedsTimeNs,
    /// A pid namespace persisted without `fork`: it has no process yet, so
    /// its `pid_for_children` file cannot be bound.
    #[error("persisting a pid namespace needs --fork (it exists once its first process does)")]
    PidPersistNeedsFork,
    /// `--mount-proc` without a new pid namespace: refused (util-linux
    /// mounts the current pid namespace's proc, showing every host process).
    #[error(
        "--mount-proc needs a new pid namespace (-p): a new /proc would show the host's processes"
    )]
    MountProcNeedsPid,
    /// `--setgroups=allow` with a one-line gid map, which needs `deny`.
    #[error("options --setgroups=allow and --map-group are mutually exclusive")]
    SetgroupsConflict,
    /// An id map is invalid, or writing one failed.
    #[error(transparent)]
    IdMap(#[from] IdMapError),
    /// A helper or child process could not be forked.
    #[error("fork failed")]
    Fork(#[source] io::Error),
    /// `unshare(2)` failed.
    #[error("unshare failed")]
    Unshare(#[source] io::Error),
    /// Writing time offsets failed.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// Persisting a namespace failed.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// Changing the propagation of `/` failed.
    #[error("cannot change root filesystem propagation")]
    Propagation(#[source] io::Error),
    /// `chroot` failed.
    #[error("cannot change root directory to '{}'", .path.display())]
    Chroot {
        /// The new root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `chdir` failed.
    #[error("cannot chdir to '{}'", .path.display())]
    Chdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Making the proc mount point private failed.
    #[error("cannot change {} filesystem propagation", .path.display())]
    ProcPropagation {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Mounting proc failed.
    #[error("mount {} failed", .path.display())]
    MountProc {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A credential call (`setgroups`, `setgid`, `setuid`) failed.
    #[error("{call} failed")]
    Credentials {
        /// Which call, as util-linux names it.
        call: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Raising ambient capabilities failed.
    #[error("cannot keep capabilities")]
    KeepCaps(#[source] io::Error),
    /// Setting the parent-death signal failed.
    #[error("prctl failed")]
    KillChild(#[source] io::Error),
    /// Blocking or restoring signals failed.
    #[error("sigprocmask failed")]
    Signals(#[source] io::Error),
    /// Waiting for the child failed.
    #[error("waitpid failed")]
    Wait(#[source] io::Error),
    /// The program could not be executed.
    #[error("failed to execute {}", .program.to_string_lossy())]
    Exec {
        /// The program.
        program: OsString,
        /// The cause (`ENOENT`: exit 127; else 126, as util-linux).
        #[source]
        source: io::Error,
    },
}

impl UnshareError {
    /// The exit status util-linux uses for this failure: 127 when the
    /// program was not found, 126 when it could not run, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            UnshareError::Exec { source, .. } => husk_sys::exec::failure_status(source),
            _ => 1,
        }
    }
}

impl Unshare {
    /// Works out and checks the plan for a caller with `euid`/`egid`.
    ///
    /// Pure: reads no files, makes no system calls.
    pub fn plan(&self, euid: u32, egid: u32) -> Result<Plan, UnshareError> {
        let mut flags = self.kinds.iter().fold(0, |f, k| f | k.clone_flag());
        flags |= self.persist.iter().fold(0, |f, t| f | t.kind.clone_flag());
        if self.mount_proc.is_some() {
            // A deliberate difference from util-linux (docs/unshare.md).
            if flags & NsKind::Pid.clone_flag() == 0 {
                return Err(UnshareError::MountProcNeedsPid);
            }
            flags |= NsKind::Mnt.clone_flag();
        }
        let maps_ids = self.map_user.is_some()
            || self.map_group.is_some()
            || !self.map_users.is_empty()
            || !self.map_groups.is_empty();
        if maps_ids {
            flags |= NsKind::User.clone_flag();
        }
        if !self.time_offsets.is_empty() && flags & NsKind::Time.clone_flag() == 0 {
            return Err(UnshareError::TimeNeedsTimeNs);
        }
        let (own_uid_map, helper_uid_map) = split_map(&self.map_users, self.map_user, euid);
        let (own_gid_map, helper_gid_map) = split_map(&self.map_groups, self.map_group, egid);
        for map in [&helper_uid_map, &helper_gid_map].into_iter().flatten() {
            map.validate()?;
        }
        // An unprivileged one-line gid map needs setgroups denied first.
        let setgroups = match (own_gid_map, self.setgroups) {
            (Some(_), Some(SetGroups::Allow)) => return Err(UnshareError::SetgroupsConflict),
            (Some(_), _) => Some(SetGroups::Deny),
            (None, s) => s,
        };
        let fork = self.fork || self.kill_child.is_some();
        if !fork && self.persist.iter().any(|t| t.kind == NsKind::Pid) {
            return Err(UnshareError::PidPersistNeedsFork);
        }
        let mut persist = self.persist.clone();
        persist.sort_by_key(|t| persist::BIND_ORDER.iter().position(|k| *k == t.kind));
        Ok(Plan {
            flags,
            fork,
            persist,
            setgroups,
            own_uid_map,
            own_gid_map,
            helper_uid_map,
            helper_gid_map,
        })
    }

    /// Runs the plan: see the [module docs](self) for the steps.
    ///
    /// `program` is argv (program first); empty runs `$SHELL` (or
    /// `/bin/sh`) as a login shell. With `fork`, returns in the parent how
    /// the child ended (see [`Finished::propagate`]); without, returns only
    /// on failure, because the process becomes the program. In a forked
    /// child that fails before exec, the error is returned there too: print
    /// it and exit with [`UnshareError::exit_code`].
    pub fn run(&self, program: &[OsString]) -> Result<Finished, UnshareError> {
        let plan = self.plan(
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )?;
        stages::run(self, &plan, program)
    }
}

/// Splits the map for one id kind into a one-line map the process can
/// write itself, or a range map for the helper with the single id punched
/// in (`--map-root-user` with `--map-auto`).
fn split_map(ranges: &IdMap, single: Option<u32>, own: u32) -> (Option<IdRange>, Option<IdMap>) {
    match (ranges.is_empty(), single) {
        (true, None) => (None, None),
        (true, Some(inner)) => (Some(IdRange::single(inner, own)), None),
        (false, None) => (None, Some(ranges.clone())),
        (false, Some(inner)) => (None, Some(ranges.with_single(own, inner))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Clock;

    fn range(inner: u32, outer: u32, count: u32) -> IdRange {
        IdRange {
            inner,
            outer,
            count,
        }
    }

    #[test]
    fn implications() {
        let u = Unshare {
            kinds: vec![NsKind::Pid],
            mount_proc: Some("/proc".into()),
            map_user: Some(0),
            kill_child: Some(libc::SIGKILL),
            ..Unshare::default()
        };
        let p = u.plan(1000, 1000).unwrap();
        assert_eq!(
            p.flags,
            libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUSER
        );
        assert!(p.fork);
        assert_eq!(p.own_uid_map, Some(range(0, 1000, 1)));
        assert_eq!(p.own_gid_map, None);
        assert_eq!(p.setgroups, None);
    }

    #[test]
    fn map_root_user_denies_setgroups_and_conflicts_with_allow() {
        let mut u = Unshare {
            map_user: Some(0),
            map_group: Some(0),
            ..Unshare::default()
        };
        let p = u.plan(1000, 100).unwrap();
        assert_eq!(p.own_gid_map, Some(range(0, 100, 1)));
        assert_eq!(p.setgroups, Some(SetGroups::Deny));
        u.setgroups = Some(SetGroups::Allow);
        assert!(matches!(
            u.plan(1000, 100),
            Err(UnshareError::SetgroupsConflict)
        ));
    }

    #[test]
    fn ranges_go_to_the_helper_with_the_single_id_punched_in() {
        let u = Unshare {
            map_user: Some(0),
            map_users: IdMap::from(vec![range(0, 100000, 65536)]),
            ..Unshare::default()
        };
        let p = u.plan(1000, 1000).unwrap();
        assert_eq!(p.own_uid_map, None);
        assert_eq!(
            p.helper_uid_map.unwrap().ranges(),
            &[range(0, 1000, 1), range(1, 100000, 65535)]
        );
    }

    #[test]
    fn bad_plans_fail_before_any_syscall() {
        let overlap = Unshare {
            map_users: IdMap::from(vec![range(0, 100000, 10), range(5, 200000, 10)]),
            ..Unshare::default()
        };
        assert!(matches!(overlap.plan(0, 0), Err(UnshareError::IdMap(_))));
        let time = Unshare {
            time_offsets: vec![TimeOffset {
                clock: Clock::Boottime,
                seconds: 1,
            }],
            ..Unshare::default()
        };
        assert!(matches!(
            time.plan(0, 0),
            Err(UnshareError::TimeNeedsTimeNs)
        ));
        let proc = Unshare {
            kinds: vec![NsKind::Mnt, NsKind::Net],
            mount_proc: Some("/proc".into()),
            ..Unshare::default()
        };
        assert!(matches!(
            proc.plan(0, 0),
            Err(UnshareError::MountProcNeedsPid)
        ));
    }

    #[test]
    fn persist_targets_imply_their_kind_and_sort_in_bind_order() {
        let t = |kind, p: &str| PersistTarget {
            kind,
            path: p.into(),
        };
        let u = Unshare {
            persist: vec![t(NsKind::Mnt, "/a"), t(NsKind::User, "/b")],
            ..Unshare::default()
        };
        let p = u.plan(0, 0).unwrap();
        assert_eq!(p.flags, libc::CLONE_NEWNS | libc::CLONE_NEWUSER);
        assert_eq!(p.persist[0].kind, NsKind::User);
    }
}
