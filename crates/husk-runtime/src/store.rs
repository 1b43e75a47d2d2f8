//! The state store: one directory per container under the runtime root
//! (`/run/husk`, or `$XDG_RUNTIME_DIR/husk` when not root), holding
//! `state.json` (written atomically: temp file + rename) and `exec.fifo`
//! while the container is created but not started. Every command that
//! changes a container holds an exclusive `flock` on its directory.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{flock, FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::bundle::{check_id, IdError};

/// The file `create` leaves for `start` to open (as runc's `exec.fifo`).
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The id cannot name a container.
    #[error(transparent)]
    Id(#[from] IdError),
    /// `create` of an id already in use.
    #[error("container \"{0}\" already exists")]
    Exists(String),
    /// No container of that id.
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    /// A file of the store could not be read or written.
    #[error("{path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `state.json` is not what this runtime writes.
    #[error("corrupt state file {path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What serde found wrong.
        message: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether the container's cgroup is frozen (`pause`).
fn frozen(saved: &Saved) -> bool {
    let Some(path) = &saved.cgroup else {
        return false;
    };
    let (Ok(hier), Ok(path)) = (
        husk_cgroup::Hierarchies::detect(),
        husk_cgroup::CgroupPath::parse(path),
    ) else {
        return false;
    };
    husk_cgroup::Cgroup::open(&hier, &path).is_ok_and(|cg| cg.is_frozen().unwrap_or(false))
}

/// What the runtime remembers of a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Saved {
    /// The container id.
    pub id: String,
    /// The `ociVersion` of its config.
    pub oci_version: String,
    /// Host pid of the container's init.
    pub pid: i32,
    /// Its start time (`/proc/PID/stat` field 22), to detect pid reuse.
    pub pid_start: u64,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The root filesystem.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds, UTC.
    pub created: String,
    /// The effective uid that created it; its name (the state's `owner`)
    /// is looked up only when a state is shown, not on the `create` path.
    #[serde(default)]
    pub owner_uid: u32,
    /// `annotations` of the config.
    pub annotations: HashMap<String, String>,
    /// Its cgroup path (`cgroupsPath`, or the default), if one was made.
    pub cgroup: Option<String>,
    /// The config's `hooks` (`poststart` and `poststop` run after `create`,
    /// when the bundle may have changed or be gone).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
}

impl Saved {
    /// The `state` JSON of this container with `status`.
    pub fn state(&self, status: Status) -> State {
        State {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: owner_name(self.owner_uid),
            annotations: self.annotations.clone(),
        }
    }
}

/// The statuses of runtime-spec `runtime.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is still running.
    Creating,
    /// Created, waiting for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Running, but frozen by `pause` (its cgroup's freezer).
    Paused,
    /// The process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// The `state` JSON, fields in runc's order.
#[derive(Debug, Clone, Serialize)]
pub struct State {
    /// `ociVersion`.
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Host pid of init; 0 when stopped.
    pub pid: i32,
    /// Lifecycle status.
    pub status: Status,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// Root filesystem.
    pub rootfs: PathBuf,
    /// Creation time.
    pub created: String,
    /// Creator.
    pub owner: String,
    /// Annotations, left out when empty.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The runtime root: a directory of container directories.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A container directory held under an exclusive `flock` until dropped.
#[derive(Debug)]
pub struct Locked {
    /// The container directory.
    pub dir: PathBuf,
    _lock: OwnedFd,
}

impl Store {
    /// A store rooted at `root` (made on first use, mode 0700).
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// `/run/husk` for root; `$XDG_RUNTIME_DIR/husk` otherwise.
    pub fn default_root() -> PathBuf {
        if !rustix::process::geteuid().is_root() {
            if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
                return PathBuf::from(dir).join("husk");
            }
        }
        PathBuf::from("/run/husk")
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of container `id` (which is checked first).
    pub fn dir(&self, id: &str) -> Result<PathBuf, StoreError> {
        check_id(id)?;
        Ok(self.root.join(id))
    }

    /// Makes the directory of a new container and locks it; `Exists` if
    /// the id is taken (mkdir is the atomic test).
    pub fn create(&self, id: &str) -> Result<Locked, StoreError> {
        let dir = self.dir(id)?;
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&self.root)
            .map_err(io_err(&self.root))?;
        match rustix::fs::mkdir(&dir, Mode::from_raw_mode(0o700)) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => return Err(StoreError::Exists(id.to_owned())),
            Err(e) => return Err(io_err(&dir)(e.into())),
        }
        lock(dir)
    }

    /// Locks the directory of an existing container.
    pub fn open(&self, id: &str) -> Result<Locked, StoreError> {
        let dir = self.dir(id)?;
        if !dir.is_dir() {
            return Err(StoreError::NotFound(id.to_owned()));
        }
        lock(dir)
    }

    /// Locks a container directory again after [`Locked::unlock`].
    pub fn relock(&self, dir: PathBuf) -> Result<Locked, StoreError> {
        lock(dir)
    }

    /// The ids of every container, sorted.
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.root)(e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

fn lock(dir: PathBuf) -> Result<Locked, StoreError> {
    let fd = rustix::fs::open(
        &dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err(&dir)(e.into()))?;
    flock(&fd, FlockOperation::LockExclusive).map_err(|e| io_err(&dir)(e.into()))?;
    Ok(Locked { dir, _lock: fd })
}

impl Locked {
    /// Writes `state.json` atomically for readers (temp file, rename).
    ///
    /// Not `fsync`ed: the state describes processes and mounts that do
    /// not outlive a reboot (the root is `/run`, a tmpfs on most hosts), and
    /// runc and crun do not sync theirs either. On a disk-backed root the
    /// sync cost 1-13 ms of every `create`.
    pub fn save(&self, saved: &Saved) -> Result<(), StoreError> {
        let tmp = self.dir.join(".state.json.tmp");
        let text = serde_json::to_vec(saved).expect("state serializes");
        std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
        let path = self.dir.join(STATE_FILE);
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Reads `state.json`; `None` while `create` has not written it yet.
    pub fn load(&self) -> Result<Option<Saved>, StoreError> {
        let path = self.dir.join(STATE_FILE);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path,
                message: e.to_string(),
            })
    }

    /// Releases the lock, keeping the directory; returns its path.
    pub fn unlock(self) -> PathBuf {
        self.dir
    }

    /// The path of the exec FIFO.
    pub fn fifo(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// The status of a container from its saved state: `created` while the
    /// FIFO exists and init lives, `running` while init lives, else `stopped`.
    pub fn status(&self, saved: Option<&Saved>) -> Status {
        let Some(saved) = saved else {
            return Status::Creating;
        };
        if !alive(saved.pid, saved.pid_start) {
            return Status::Stopped;
        }
        if self.fifo().exists() {
            Status::Created
        } else if frozen(saved) {
            Status::Paused
        } else {
            Status::Running
        }
    }

    /// The `state` JSON of this container.
    pub fn state(&self, id: &str) -> Result<State, StoreError> {
        let saved = self
            .load()?
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let status = self.status(Some(&saved));
        Ok(State {
            oci_version: saved.oci_version,
            id: saved.id,
            pid: if status == Status::Stopped {
                0
            } else {
                saved.pid
            },
            status,
            bundle: saved.bundle,
            rootfs: saved.rootfs,
            created: saved.created,
            owner: owner_name(saved.owner_uid),
            annotations: saved.annotations,
        })
    }

    /// Removes the container directory (the lock goes with it).
    pub fn remove(self) -> Result<(), StoreError> {
        std::fs::remove_dir_all(&self.dir).map_err(io_err(&self.dir))
    }
}

/// Removes a new container's directory on Drop unless disarmed: a failed
/// `create` leaves no state behind.
#[derive(Debug)]
pub struct DirGuard(Option<PathBuf>);

impl DirGuard {
    /// Guards `dir`.
    pub fn new(dir: &Path) -> DirGuard {
        DirGuard(Some(dir.to_owned()))
    }

    /// Keeps the directory.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The user name of `uid` (NSS, as `ls -l`), or "" when it has none.
fn owner_name(uid: u32) -> String {
    husk_sys::passwd::user_name(uid)
        .ok()
        .flatten()
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .unwrap_or_default()
}

/// `/proc/PID/stat`: (state letter, start time) of a process.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // After ')' come fields 3..; starttime is field 22, the 20th of these.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Whether `pid` is the same live (not zombie) process that started at `start`.
pub fn alive(pid: i32, start: u64) -> bool {
    pid > 0 && proc_stat(pid).is_some_and(|(s, t)| s != 'Z' && s != 'X' && t == start)
}

/// Now, as RFC 3339 with nanoseconds in UTC (`2026-11-22T09:01:02.123456789Z`).
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_nanos())
}

fn rfc3339(secs: u64, nanos: u32) -> String {
    let days = i64::try_from(secs / 86400).unwrap_or(0);
    let rem = secs % 86400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_795_000_000, 5), "2026-11-18T11:06:40.000000005Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn create_refuses_duplicates_and_bad_ids() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("root"));
        let a = store.create("a").unwrap();
        drop(a);
        assert!(matches!(store.create("a"), Err(StoreError::Exists(_))));
        assert!(matches!(store.create("../x"), Err(StoreError::Id(_))));
        assert!(matches!(store.open("b"), Err(StoreError::NotFound(_))));
        assert_eq!(store.ids().unwrap(), ["a"]);
    }

    #[test]
    fn state_round_trips_and_stopped_without_process() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let c = store.create("c").unwrap();
        assert_eq!(c.status(None), Status::Creating);
        let saved = Saved {
            id: "c".into(),
            oci_version: "1.0.2".into(),
            pid: i32::MAX,
            pid_start: 1,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now_rfc3339(),
            owner_uid: 0,
            annotations: HashMap::new(),
            cgroup: None,
            hooks: None,
        };
        c.save(&saved).unwrap();
        assert_eq!(c.load().unwrap().unwrap(), saved);
        let state = c.state("c").unwrap();
        assert_eq!(state.status, Status::Stopped);
        assert_eq!(state.pid, 0);
        assert_eq!(state.owner, "root");
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.starts_with(r#"{"ociVersion":"1.0.2","id":"c","pid":0,"status":"stopped""#));
    }
}
