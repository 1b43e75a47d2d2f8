//! Named network namespaces, kept exactly as iproute2 keeps them: an empty
//! file `/run/netns/NAME` with the namespace's nsfs file bind-mounted on
//! it, in a directory that is a shared mount point. `ip netns` and husk see
//! the same namespaces.
//!
//! What [`Registry::add`] does, in order (as `ip netns add`):
//! 1. `mkdir /run/netns` (mode 0755) if missing;
//! 2. make it a shared mount point: `mount --make-rshared /run/netns`, and
//!    if that fails with `EINVAL` (not a mount point yet) bind-mount the
//!    directory on itself (`mount --rbind`) and try again, so that
//!    unmounting a name in one mount namespace unmounts it in all;
//! 3. create `/run/netns/NAME` with `O_CREAT|O_EXCL` (an existing name
//!    fails here, `EEXIST`);
//! 4. `unshare(CLONE_NEWNET)` in the calling thread and bind-mount
//!    `/proc/thread-self/ns/net` onto the file;
//! 5. step the thread back into its own namespace.
//!
//! A failure at 4 removes the file again (a guard), so nothing half-made
//! stays behind.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use husk_ns::{Namespace, NsError, NsKind};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::RouteNetlinkMessage;
use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountPropagationFlags, UnmountFlags};

use crate::switch::NetnsSwitch;
use crate::Netlink;

/// Where iproute2 keeps named network namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";
/// Where `ip netns exec` finds per-namespace files to bind over `/etc`.
pub const NETNS_ETC_DIR: &str = "/etc/netns";

/// Why a named-namespace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// The name is empty, `.`, `..`, holds a `/` or is too long.
    #[error("invalid netns name \"{0}\"")]
    InvalidName(String),
    /// `/run/netns` could not be created.
    #[error("cannot create {0}")]
    CreateDir(PathBuf, #[source] io::Error),
    /// `/run/netns` could not be made a shared mount point.
    #[error("mount --make-shared {0} failed")]
    MakeShared(PathBuf, #[source] io::Error),
    /// The namespace file could not be created (`EEXIST`: name in use).
    #[error("cannot create namespace file \"{0}\"")]
    CreateFile(PathBuf, #[source] io::Error),
    /// `unshare(CLONE_NEWNET)` failed.
    #[error("cannot create a new network namespace")]
    Unshare(#[source] io::Error),
    /// The thread could not step into or out of a namespace.
    #[error("cannot switch network namespace")]
    Switch(#[source] NsError),
    /// Bind-mounting the namespace onto its file failed.
    #[error("bind {0} -> {1} failed")]
    Bind(PathBuf, PathBuf, #[source] io::Error),
    /// The namespace file could not be removed.
    #[error("cannot remove namespace file \"{0}\"")]
    Remove(PathBuf, #[source] io::Error),
    /// The named namespace (or a process's) could not be opened.
    #[error("cannot open network namespace \"{0}\"")]
    Open(String, #[source] NsError),
    /// A process's namespace file could not be read.
    #[error("cannot open {0}")]
    Proc(PathBuf, #[source] io::Error),
    /// A directory could not be read.
    #[error("cannot read {0}")]
    ReadDir(PathBuf, #[source] io::Error),
    /// A netlink request about namespace ids failed.
    #[error("cannot {0} the id of network namespace \"{1}\"")]
    Nsid(&'static str, String, #[source] io::Error),
    /// A step of entering a namespace for `exec` failed.
    #[error("{0}")]
    Exec(String, #[source] io::Error),
}

/// Checks a namespace name the way `ip netns` does: not empty, not `.` or
/// `..`, no `/`, shorter than `NAME_MAX`.
///
/// ```
/// assert!(husk_net::netns::check_name("blue").is_ok());
/// assert!(husk_net::netns::check_name("../etc").is_err());
/// ```
pub fn check_name(name: &str) -> Result<(), NetnsError> {
    let bad =
        name.is_empty() || name.len() >= 255 || name.contains('/') || name == "." || name == "..";
    if bad {
        return Err(NetnsError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// A directory of named network namespaces (`/run/netns`, or a temp dir in
/// tests) plus the directory of per-namespace `/etc` files.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    etc: PathBuf,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(NETNS_RUN_DIR, NETNS_ETC_DIR)
    }
}

/// Removes a half-made namespace file on Drop unless disarmed.
struct FileGuard<'a>(Option<&'a Path>);

impl Drop for FileGuard<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.0 {
            let _ = rustix::mount::unmount(path, UnmountFlags::DETACH);
            let _ = fs::remove_file(path);
        }
    }
}

impl Registry {
    /// A registry in `dir` (`/run/netns`), with `/etc` overlays in `etc`
    /// (`/etc/netns`).
    pub fn new(dir: impl Into<PathBuf>, etc: impl Into<PathBuf>) -> Registry {
        Registry {
            dir: dir.into(),
            etc: etc.into(),
        }
    }

    /// The directory holding the namespace files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of namespace `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Opens the named namespace.
    pub fn open(&self, name: &str) -> Result<Namespace, NetnsError> {
        check_name(name)?;
        Namespace::open_kind(self.path(name), NsKind::Net)
            .map_err(|e| NetnsError::Open(name.to_owned(), e))
    }

    /// Creates a new network namespace named `name` (`ip netns add`).
    pub fn add(&self, name: &str) -> Result<(), NetnsError> {
        self.persist(name, None)
    }

    /// Names the network namespace of process `pid` (`ip netns attach`).
    pub fn attach(&self, name: &str, pid: u32) -> Result<(), NetnsError> {
        self.persist(name, Some(pid))
    }

    fn persist(&self, name: &str, pid: Option<u32>) -> Result<(), NetnsError> {
        check_name(name)?;
        self.prepare_dir()?;
        let path = self.path(name);
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| NetnsError::CreateFile(path.clone(), e.into()))?;
        drop(fd);
        let mut guard = FileGuard(Some(&path));
        match pid {
            Some(pid) => {
                // Bind the namespace that was opened and checked, through
                // its fd, so a pid reused in between cannot swap it.
                let ns = Namespace::open_kind(format!("/proc/{pid}/ns/net"), NsKind::Net)
                    .map_err(|e| NetnsError::Open(pid.to_string(), e))?;
                let src = PathBuf::from(format!("/proc/thread-self/fd/{}", fd_u32(&ns)));
                bind(&src, &path)?;
            }
            None => {
                let switch = NetnsSwitch::enter_new()?;
                bind(Path::new("/proc/thread-self/ns/net"), &path)?;
                switch.restore().map_err(NetnsError::Switch)?;
            }
        }
        guard.0 = None;
        Ok(())
    }

    /// Steps 1 and 2: the directory exists and is a shared mount point.
    fn prepare_dir(&self) -> Result<(), NetnsError> {
        match fs::DirBuilder::new().mode(0o755).create(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(NetnsError::CreateDir(self.dir.clone(), e))
            }
            _ => {}
        }
        let shared = MountPropagationFlags::SHARED | MountPropagationFlags::REC;
        let mut made_mount = false;
        loop {
            match rustix::mount::mount_change(&self.dir, shared) {
                Ok(()) => return Ok(()),
                Err(e) if e == rustix::io::Errno::INVAL && !made_mount => {
                    rustix::mount::mount_bind_recursive(&self.dir, &self.dir)
                        .map_err(|e| NetnsError::MakeShared(self.dir.clone(), e.into()))?;
                    made_mount = true;
                }
                Err(e) => return Err(NetnsError::MakeShared(self.dir.clone(), e.into())),
            }
        }
    }

    /// Deletes the name (`ip netns del`): lazily unmounts the namespace file
    /// and removes it. The namespace itself lives on while a process or an
    /// open fd still holds it.
    pub fn delete(&self, name: &str) -> Result<(), NetnsError> {
        check_name(name)?;
        let path = self.path(name);
        // Not mounted (a stale file) is fine: removing the file is the job.
        let _ = rustix::mount::unmount(&path, UnmountFlags::DETACH);
        fs::remove_file(&path).map_err(|e| NetnsError::Remove(path, e))
    }

    /// The names, in directory order (as `ip netns list` prints them). A
    /// missing directory is an empty list.
    pub fn list(&self) -> Result<Vec<String>, NetnsError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NetnsError::ReadDir(self.dir.clone(), e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| NetnsError::ReadDir(self.dir.clone(), e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    /// The names bound to the network namespace of process `pid`
    /// (`ip netns identify`): same device and inode as `/proc/PID/ns/net`.
    pub fn identify(&self, pid: u32) -> Result<Vec<String>, NetnsError> {
        let proc = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let target = fs::metadata(&proc).map_err(|e| NetnsError::Proc(proc, e))?;
        Ok(self
            .list()?
            .into_iter()
            .filter(|name| {
                fs::metadata(self.path(name))
                    .is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
            })
            .collect())
    }

    /// The processes (under `proc`, normally `/proc`) whose network
    /// namespace is the named one (`ip netns pids`).
    pub fn pids(&self, name: &str, proc: &Path) -> Result<Vec<u32>, NetnsError> {
        let ns = self.open(name)?;
        let id = ns.id();
        let entries = fs::read_dir(proc).map_err(|e| NetnsError::ReadDir(proc.to_owned(), e))?;
        let mut pids = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            // Processes may exit while we look: skip what cannot be read.
            if let Ok(m) = fs::metadata(entry.path().join("ns/net")) {
                if m.dev() == id.dev && m.ino() == id.ino {
                    pids.push(pid);
                }
            }
        }
        Ok(pids)
    }

    /// The id the namespace `name` has in the namespace `nl` lives in
    /// (`RTM_GETNSID`); `None` if none is assigned.
    pub fn nsid(&self, nl: &mut Netlink, name: &str) -> Result<Option<i32>, NetnsError> {
        let ns = self.open(name)?;
        let mut msg = NsidMessage::default();
        msg.attributes.push(NsidAttribute::Fd(fd_u32(&ns)));
        let err = |e| NetnsError::Nsid("get", name.to_owned(), e);
        let reply = nl.query(RouteNetlinkMessage::GetNsId(msg)).map_err(err)?;
        let RouteNetlinkMessage::NewNsId(reply) = reply else {
            return Ok(None);
        };
        Ok(reply.attributes.iter().find_map(|a| match a {
            NsidAttribute::Id(id) if *id >= 0 => Some(*id),
            _ => None,
        }))
    }

    /// Assigns id `nsid` (`None`: let the kernel pick) to namespace `name`,
    /// as seen from the namespace `nl` lives in (`ip netns set`).
    pub fn set_nsid(
        &self,
        nl: &mut Netlink,
        name: &str,
        nsid: Option<u32>,
    ) -> Result<(), NetnsError> {
        let ns = self.open(name)?;
        let mut msg = NsidMessage::default();
        msg.attributes.push(NsidAttribute::Fd(fd_u32(&ns)));
        let id = nsid.and_then(|n| i32::try_from(n).ok()).unwrap_or(-1);
        msg.attributes.push(NsidAttribute::Id(id));
        nl.request(RouteNetlinkMessage::NewNsId(msg), 0)
            .map_err(|e| NetnsError::Nsid("set", name.to_owned(), e))
    }

    /// Moves the calling process into namespace `name` for running a
    /// program there, exactly as `ip netns exec` does before `execvp`:
    /// 1. `setns` into the network namespace;
    /// 2. `unshare(CLONE_NEWNS)` and `mount --make-rslave /`, so nothing
    ///    below propagates back to the host;
    /// 3. unmount `/sys` and mount a sysfs of this namespace (read-only if
    ///    the old one could not be unmounted and was read-only);
    /// 4. bind each file of `/etc/netns/NAME/` over `/etc/` (failures are
    ///    returned as warnings, as iproute2 prints and goes on).
    ///
    /// Changes the whole process: call it single-threaded, just before exec.
    pub fn enter_for_exec(&self, name: &str) -> Result<Vec<String>, NetnsError> {
        let ns = self.open(name)?;
        ns.enter().map_err(NetnsError::Switch)?;
        let step = |what: &str| {
            let what = what.to_owned();
            move |e: io::Error| NetnsError::Exec(what, e)
        };
        husk_sys::unshare::unshare_namespaces(libc::CLONE_NEWNS).map_err(step("unshare failed"))?;
        let slave = MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC;
        rustix::mount::mount_change("/", slave)
            .map_err(|e| step("\"mount --make-rslave /\" failed")(e.into()))?;
        let mut flags = rustix::mount::MountFlags::empty();
        if rustix::mount::unmount("/sys", UnmountFlags::DETACH).is_err() {
            if let Ok(st) = rustix::fs::statvfs("/sys") {
                if st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
                    flags |= rustix::mount::MountFlags::RDONLY;
                }
            }
        }
        rustix::mount::mount(name, "/sys", "sysfs", flags, None)
            .map_err(|e| step("mount of /sys failed")(e.into()))?;
        Ok(self.bind_etc(name))
    }

    /// Step 4 of [`enter_for_exec`](Registry::enter_for_exec).
    fn bind_etc(&self, name: &str) -> Vec<String> {
        let dir = self.etc.join(name);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        for entry in entries.flatten() {
            let to = Path::new("/etc").join(entry.file_name());
            if let Err(e) = rustix::mount::mount_bind(entry.path(), &to) {
                let e = io::Error::from(e);
                warnings.push(format!(
                    "bind {} -> {} failed: {e}",
                    entry.path().display(),
                    to.display()
                ));
            }
        }
        warnings
    }
}

/// A named namespace deleted on Drop unless [`disarm`](NameGuard::disarm)ed:
/// hold it while setting up a namespace just added.
#[derive(Debug)]
pub struct NameGuard {
    reg: Registry,
    name: String,
    armed: bool,
}

impl NameGuard {
    /// Guards the name `name` of `reg`.
    pub fn new(reg: &Registry, name: &str) -> NameGuard {
        NameGuard {
            reg: reg.clone(),
            name: name.to_owned(),
            armed: true,
        }
    }

    /// Keeps the namespace.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for NameGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.reg.delete(&self.name);
        }
    }
}

fn bind(src: &Path, dst: &Path) -> Result<(), NetnsError> {
    rustix::mount::mount_bind(src, dst)
        .map_err(|e| NetnsError::Bind(src.to_owned(), dst.to_owned(), e.into()))
}

fn fd_u32(ns: &Namespace) -> u32 {
    use std::os::fd::{AsFd, AsRawFd};
    u32::try_from(ns.as_fd().as_raw_fd()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_ip_netns_rules() {
        for bad in ["", ".", "..", "a/b", &"x".repeat(255)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "husk-1", "with space", "..a"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_missing_directory_lists_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::new(tmp.path().join("netns"), tmp.path().join("etc"));
        assert!(reg.list().unwrap().is_empty());
    }

    #[test]
    fn add_list_identify_delete_in_a_temp_dir() {
        husk_testkit::require_root!();
        let tmp = tempfile::Builder::new()
            .prefix("husk-netns-")
            .tempdir()
            .unwrap();
        let dir = tmp.path().join("netns");
        let reg = Registry::new(&dir, tmp.path().join("etc"));
        reg.add("one").expect("add");
        let err = reg.add("one").unwrap_err();
        assert!(matches!(err, NetnsError::CreateFile(..)), "{err:?}");
        assert_eq!(reg.list().unwrap(), ["one"]);
        let ns = reg.open("one").unwrap();
        let own = Namespace::open("/proc/thread-self/ns/net").unwrap();
        assert_ne!(ns.id(), own.id(), "a new namespace");
        assert!(reg.identify(std::process::id()).unwrap().is_empty());
        // attach: a second name, then a failing attach leaves no file.
        reg.attach("two", std::process::id()).expect("attach");
        assert_eq!(reg.identify(std::process::id()).unwrap(), ["two"]);
        reg.delete("two").expect("delete two");
        assert!(reg.attach("ghost", u32::MAX).is_err());
        assert!(
            !reg.path("ghost").exists(),
            "a failed attach removes its file"
        );
        reg.delete("one").expect("delete");
        assert!(reg.list().unwrap().is_empty());
        reg.add("three").unwrap();
        drop(NameGuard::new(&reg, "three"));
        assert!(!reg.path("three").exists(), "the guard deleted it");
        assert!(reg.delete("one").is_err());
        let _ = rustix::mount::unmount(&dir, UnmountFlags::DETACH);
    }
}
