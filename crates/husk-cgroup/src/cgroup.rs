//! The [`Cgroup`] handle: one cgroup path made in every hierarchy of a host,
//! joined, listed and removed as one; and [`CgroupGuard`], which removes it
//! on Drop unless disarmed.

use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::detect::Hierarchies;
use crate::file::{self, FileError};
use crate::path::CgroupPath;

/// One cgroup, the same path in every hierarchy of the host.
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub(crate) hier: Hierarchies,
    pub(crate) path: CgroupPath,
    pub(crate) dirs: Vec<Dir>,
}

/// The cgroup's directory in one hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct Dir {
    /// `None` for the cgroup2 hierarchy, else the v1 controllers.
    pub(crate) controllers: Option<Vec<String>>,
    /// The hierarchy's mount point.
    pub(crate) mount: PathBuf,
    /// The cgroup's directory.
    pub(crate) path: PathBuf,
    /// How many ancestors `remove` may remove when empty.
    pub(crate) prune: usize,
}

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup directory could not be made.
    #[error("cannot create cgroup {path}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A v1 cpuset cgroup could not be given its parent's cpus and mems
    /// (without them no task can join it).
    #[error("cannot initialise cpuset of {path}")]
    CpusetInit {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// The cgroup does not exist in a hierarchy.
    #[error("cgroup {path} does not exist")]
    Missing {
        /// The directory.
        path: PathBuf,
    },
    /// A process could not be moved into the cgroup.
    #[error("cannot move process {pid} into {path}")]
    Join {
        /// The process.
        pid: u32,
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// The cgroup's processes could not be listed.
    #[error("cannot list the processes of {path}")]
    Procs {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// Freezing or thawing failed.
    #[error("cannot set the freezer state of {path}")]
    Freeze {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// The freezer did not reach the wanted state in time.
    #[error("{path} did not become {state} in time")]
    FreezeTimeout {
        /// The directory.
        path: PathBuf,
        /// `FROZEN` or `THAWED`.
        state: &'static str,
    },
    /// Neither a v1 freezer nor cgroup2 is available.
    #[error("cgroup {0} has no freezer (no v1 freezer hierarchy, no cgroup2)")]
    NoFreezer(CgroupPath),
    /// Writing `cgroup.kill` failed.
    #[error("cannot kill the processes of {path}")]
    Kill {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// Signalling one process failed.
    #[error("cannot kill process {pid}")]
    Signal {
        /// The process.
        pid: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Processes were still in the cgroup after killing them.
    #[error("processes {pids:?} are still in cgroup {path} after SIGKILL")]
    KillTimeout {
        /// The cgroup.
        path: CgroupPath,
        /// What was left.
        pids: Vec<u32>,
    },
    /// A cgroup directory could not be removed.
    #[error("cannot remove cgroup {path}")]
    Remove {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl CgroupError {
    /// Whether the step lost a race with the removal of an ancestor: the
    /// level is gone (`ENOENT`) or being destroyed (`ENODEV`, from mkdir
    /// under a dying cgroup or a write to one).
    fn lost_race(&self) -> bool {
        let gone = |kind: Option<io::ErrorKind>, errno: Option<i32>| {
            kind == Some(io::ErrorKind::NotFound)
                || errno == Some(rustix::io::Errno::NODEV.raw_os_error())
        };
        match self {
            CgroupError::Create { source, .. } => gone(Some(source.kind()), source.raw_os_error()),
            CgroupError::CpusetInit { source, .. } => gone(source.kind(), source.raw_os_error()),
            _ => false,
        }
    }
}

/// How often a step that races with another cgroup's removal is retried.
const RACE_RETRIES: usize = 20;

impl Cgroup {
    /// Makes `path` in every hierarchy (v1 hierarchies with controllers and
    /// cgroup2), with any missing ancestors. An existing cgroup is reused.
    ///
    /// In a v1 cpuset hierarchy every level gets its parent's `cpuset.cpus`
    /// and `cpuset.mems` when empty, or no task could join it. On cgroup2
    /// no controller is enabled here: [`Cgroup::apply`] enables those it
    /// needs.
    pub fn create(hier: &Hierarchies, path: &CgroupPath) -> Result<Cgroup, CgroupError> {
        // The guard removes what was made if a later hierarchy fails.
        let mut made = CgroupGuard::new(Cgroup {
            hier: hier.clone(),
            path: path.clone(),
            dirs: Vec::new(),
        });
        for (controllers, mount) in Cgroup::mounts(hier) {
            let cpuset = controllers
                .as_ref()
                .is_some_and(|c| c.iter().any(|c| c == "cpuset"));
            let dir = make_dir(mount, path, cpuset, controllers)?;
            if let Some(cg) = made.0.as_mut() {
                cg.dirs.push(dir);
            }
        }
        Ok(made.disarm())
    }

    /// The handle of an existing cgroup (for example one a container made
    /// earlier); fails if it is missing from a hierarchy.
    pub fn open(hier: &Hierarchies, path: &CgroupPath) -> Result<Cgroup, CgroupError> {
        let mut dirs = Vec::new();
        for (controllers, mount) in Cgroup::mounts(hier) {
            let dir = mount.join(path.as_relative());
            if !dir.is_dir() {
                return Err(CgroupError::Missing { path: dir });
            }
            dirs.push(Dir {
                controllers,
                mount: mount.to_owned(),
                path: dir,
                prune: prune_count(path, 0),
            });
        }
        Ok(Cgroup {
            hier: hier.clone(),
            path: path.clone(),
            dirs,
        })
    }

    fn mounts(hier: &Hierarchies) -> impl Iterator<Item = (Option<Vec<String>>, &Path)> {
        let v1 = hier
            .v1()
            .iter()
            .map(|h| (Some(h.controllers.clone()), h.mount.as_path()));
        let v2 = hier.unified().map(|u| (None, u.mount.as_path()));
        v1.chain(v2)
    }

    /// The cgroup's path below each mount point.
    pub fn path(&self) -> &CgroupPath {
        &self.path
    }

    /// The hierarchies this cgroup lives in.
    pub fn hierarchies(&self) -> &Hierarchies {
        &self.hier
    }

    /// The cgroup's directory in every hierarchy.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|d| d.path.as_path())
    }

    /// The directory in the v1 hierarchy that has `controller`.
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| {
                d.controllers
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|c| c == controller))
            })
            .map(|d| d.path.as_path())
    }

    /// The directory in the cgroup2 hierarchy.
    pub fn unified_dir(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.controllers.is_none())
            .map(|d| d.path.as_path())
    }

    /// Moves process `pid` (all its threads) into the cgroup in every
    /// hierarchy.
    pub fn join(&self, pid: u32) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            file::write(&dir.path, "cgroup.procs", &pid.to_string()).map_err(|source| {
                CgroupError::Join {
                    pid,
                    path: dir.path.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// The processes in the cgroup (in any hierarchy), sorted.
    pub fn procs(&self) -> Result<Vec<u32>, CgroupError> {
        let mut all = Vec::new();
        for dir in &self.dirs {
            let pids = file::read_pids(&dir.path).map_err(|source| CgroupError::Procs {
                path: dir.path.clone(),
                source,
            })?;
            all.extend(pids);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Removes the cgroup from every hierarchy: child cgroups first, then
    /// the cgroup, retrying briefly while the kernel still counts exiting
    /// processes (`EBUSY`); then empty ancestors inside the `husk` subtree
    /// (relative paths) or that this handle made (absolute paths). A
    /// cgroup already gone is not an error.
    pub fn remove(&self) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            remove_tree(&dir.path)?;
            let mut up = dir.path.as_path();
            for _ in 0..dir.prune {
                let Some(parent) = up.parent() else { break };
                if parent == dir.mount || std::fs::remove_dir(parent).is_err() {
                    break;
                }
                up = parent;
            }
        }
        Ok(())
    }
}

/// Makes `path` under `mount`, retrying when a concurrent `remove` of a
/// sibling prunes a shared ancestor between two steps.
fn make_dir(
    mount: &Path,
    path: &CgroupPath,
    cpuset: bool,
    controllers: Option<Vec<String>>,
) -> Result<Dir, CgroupError> {
    let mut attempt = 0;
    loop {
        match make_chain(mount, path, cpuset) {
            Ok(created) => {
                return Ok(Dir {
                    controllers,
                    mount: mount.to_owned(),
                    path: mount.join(path.as_relative()),
                    prune: prune_count(path, created),
                })
            }
            Err(e) if e.lost_race() && attempt < RACE_RETRIES => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Ancestors `remove` may prune: all below the mount for paths in husk's
/// subtree, else only those this handle made.
fn prune_count(path: &CgroupPath, created: usize) -> usize {
    if path.is_relative() {
        path.components().len() - 1
    } else {
        created.saturating_sub(1)
    }
}

/// mkdir each level; returns how many were new.
fn make_chain(mount: &Path, path: &CgroupPath, cpuset: bool) -> Result<usize, CgroupError> {
    let mut created = 0;
    let mut cur = mount.to_owned();
    // The cpuset of the level above, once read: a level's own, or the one
    // just copied into it, so no level's files are read twice.
    let mut above: Option<[String; 2]> = None;
    for component in path.components() {
        cur.push(component);
        match std::fs::create_dir(&cur) {
            Ok(()) => created += 1,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(CgroupError::Create { path: cur, source }),
        }
        if cpuset {
            let parent = cur.parent().unwrap_or(mount);
            above = Some(copy_cpuset(parent, above.take(), &cur).map_err(|source| {
                CgroupError::CpusetInit {
                    path: cur.clone(),
                    source,
                }
            })?);
        }
    }
    Ok(created)
}

/// Gives `dir` its parent's `cpuset.cpus` and `cpuset.mems` where empty
/// (`known`: the parent's, if already read); returns `dir`'s.
fn copy_cpuset(
    parent: &Path,
    mut known: Option<[String; 2]>,
    dir: &Path,
) -> Result<[String; 2], FileError> {
    let names = ["cpuset.cpus", "cpuset.mems"];
    let mut values = [String::new(), String::new()];
    for (i, name) in names.into_iter().enumerate() {
        let own = file::read_trimmed(dir, name)?;
        values[i] = if own.is_empty() {
            let value = match &mut known {
                Some(known) => std::mem::take(&mut known[i]),
                None => file::read_trimmed(parent, name)?,
            };
            file::write(dir, name, &value)?;
            value
        } else {
            own
        };
    }
    Ok(values)
}

/// Removes `dir` and every cgroup below it, deepest first.
fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Remove {
                path: dir.to_owned(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    rmdir_retry(dir)
}

/// rmdir, retrying `EBUSY` for about two seconds: a killed process stays
/// counted until it has fully exited.
fn rmdir_retry(dir: &Path) -> Result<(), CgroupError> {
    let mut delay = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc_ebusy()) && waited < Duration::from_secs(2) => {
                std::thread::sleep(delay);
                waited += delay;
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

fn libc_ebusy() -> i32 {
    rustix::io::Errno::BUSY.raw_os_error()
}

/// Removes (after killing its processes) a cgroup on Drop unless
/// [`disarm`](CgroupGuard::disarm)ed: a failed container start leaves no
/// cgroup behind.
#[derive(Debug)]
pub struct CgroupGuard(Option<Cgroup>);

impl CgroupGuard {
    /// Guards `cgroup`.
    pub fn new(cgroup: Cgroup) -> CgroupGuard {
        CgroupGuard(Some(cgroup))
    }

    /// Keeps the cgroup and returns it.
    pub fn disarm(mut self) -> Cgroup {
        self.0
            .take()
            .expect("a guard holds its cgroup until disarmed")
    }
}

impl Deref for CgroupGuard {
    type Target = Cgroup;

    fn deref(&self) -> &Cgroup {
        self.0
            .as_ref()
            .expect("a guard holds its cgroup until disarmed")
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(cg) = self.0.take() {
            if !cg.dirs.is_empty() {
                let _ = cg.kill_all();
            }
            let _ = cg.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::V1Hierarchy;

    /// A fake v1 hierarchy without cpuset: plain directories, which mkdir
    /// and rmdir handle like cgroupfs (no files inside to get in the way).
    fn fake(root: &Path) -> Hierarchies {
        std::fs::create_dir(root.join("pids")).unwrap();
        Hierarchies::new(
            vec![V1Hierarchy {
                controllers: vec!["pids".to_owned()],
                mount: root.join("pids"),
            }],
            None,
        )
    }

    #[test]
    fn relative_paths_prune_the_husk_subtree() {
        let root = tempfile::tempdir().unwrap();
        let hier = fake(root.path());
        let a = Cgroup::create(&hier, &CgroupPath::parse("a/inner").unwrap()).unwrap();
        let b = Cgroup::create(&hier, &CgroupPath::parse("b").unwrap()).unwrap();
        assert!(root.path().join("pids/husk/a/inner").is_dir());
        a.remove().unwrap();
        // husk/a went with it; husk stays while b is in it.
        assert!(!root.path().join("pids/husk/a").exists());
        assert!(root.path().join("pids/husk/b").is_dir());
        b.remove().unwrap();
        assert!(!root.path().join("pids/husk").exists());
        // Removing twice is fine.
        b.remove().unwrap();
    }

    #[test]
    fn absolute_paths_prune_only_what_they_made() {
        let root = tempfile::tempdir().unwrap();
        let hier = fake(root.path());
        std::fs::create_dir(root.path().join("pids/ci")).unwrap();
        let cg = Cgroup::create(&hier, &CgroupPath::parse("/ci/job/step").unwrap()).unwrap();
        let opened = Cgroup::open(&hier, cg.path()).unwrap();
        assert_eq!(
            opened.dirs().collect::<Vec<_>>(),
            cg.dirs().collect::<Vec<_>>()
        );
        cg.remove().unwrap();
        assert!(!root.path().join("pids/ci/job").exists());
        assert!(
            root.path().join("pids/ci").is_dir(),
            "ci was not made by the handle"
        );
        let err = Cgroup::open(&hier, cg.path()).unwrap_err();
        assert!(matches!(err, CgroupError::Missing { .. }), "{err}");
    }

    #[test]
    fn a_guard_removes_unless_disarmed() {
        let root = tempfile::tempdir().unwrap();
        let hier = fake(root.path());
        let path = CgroupPath::parse("g").unwrap();
        drop(CgroupGuard::new(Cgroup::create(&hier, &path).unwrap()));
        assert!(!root.path().join("pids/husk").exists());
        let kept = CgroupGuard::new(Cgroup::create(&hier, &path).unwrap()).disarm();
        assert!(root.path().join("pids/husk/g").is_dir());
        kept.remove().unwrap();
    }
}
