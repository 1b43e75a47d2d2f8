//! What husk remembers about its networks: one JSON file per network
//! (`/var/lib/husk/networks/NAME.json`) with its bridge, subnets and the
//! endpoints (namespaces) connected to it.
//!
//! Every read and write happens under an exclusive `flock(2)` on
//! `DIR/.lock` ([`Store::lock`]), so concurrent husk processes see each
//! other's allocations; files are replaced atomically (written to
//! `.NAME.json.tmp`, then `rename(2)`d over the old one), so a crash leaves
//! either the old or the new file, never half of one.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Where network state lives by default.
pub const STATE_DIR: &str = "/var/lib/husk/networks";

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The directory or lock file could not be made or opened.
    #[error("cannot open state directory {0}")]
    Dir(PathBuf, #[source] io::Error),
    /// `flock` failed.
    #[error("cannot lock {0}")]
    Lock(PathBuf, #[source] io::Error),
    /// A state file could not be read.
    #[error("cannot read {0}")]
    Read(PathBuf, #[source] io::Error),
    /// A state file is not valid JSON of the expected shape.
    #[error("corrupt state file {0}")]
    Parse(PathBuf, #[source] serde_json::Error),
    /// A state file could not be written or renamed into place.
    #[error("cannot write {0}")]
    Write(PathBuf, #[source] io::Error),
}

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, as nftables names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A port of the host forwarded to a port of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    /// Port on the host's addresses (including the gateway).
    pub host_port: u16,
    /// Port inside the namespace.
    pub container_port: u16,
    /// Protocol.
    pub proto: Proto,
}

/// One namespace connected to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// How it was named: the netns name, or `pid:N`.
    pub netns: String,
    /// Device number of the namespace's nsfs inode (its identity).
    pub ns_dev: u64,
    /// Inode number of the namespace.
    pub ns_ino: u64,
    /// The host end of the veth pair (on the bridge).
    pub host_veth: String,
    /// The interface name inside the namespace.
    pub ifname: String,
    /// IPv4 address.
    pub ip: IpAddr,
    /// IPv6 address, on dual-stack networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<IpAddr>,
    /// Published ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<Publish>,
}

/// One network: a bridge, its subnets, NAT, endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    /// The network's name.
    pub name: String,
    /// The bridge's interface name.
    pub bridge: String,
    /// IPv4 subnet.
    pub subnet: IpNet,
    /// IPv4 gateway (on the bridge).
    pub gateway: IpAddr,
    /// IPv6 subnet, on dual-stack networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<IpNet>,
    /// IPv6 gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<IpAddr>,
    /// No outbound NAT.
    pub internal: bool,
    /// Connected namespaces.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(STATE_DIR)
    }
}

/// The state directory, locked: the only way to read or write state.
/// Unlocked when dropped (closing the lock file releases the `flock`).
#[derive(Debug)]
pub struct Locked<'a> {
    store: &'a Store,
    _lock: fs::File,
}

impl Store {
    /// State in `dir` (created, mode 0700, on first lock).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the exclusive lock, waiting for other husk processes.
    pub fn lock(&self) -> Result<Locked<'_>, StateError> {
        let dir_err = |e| StateError::Dir(self.dir.clone(), e);
        match fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
        {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(dir_err(e)),
            _ => {}
        }
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(dir_err)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| StateError::Lock(path, e.into()))?;
        Ok(Locked {
            store: self,
            _lock: file,
        })
    }
}

impl Locked<'_> {
    fn path(&self, name: &str) -> PathBuf {
        self.store.dir.join(format!("{name}.json"))
    }

    /// The network `name`, if there is one.
    pub fn load(&self, name: &str) -> Result<Option<NetworkState>, StateError> {
        let path = self.path(name);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::Read(path, e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| StateError::Parse(path, e))
    }

    /// Every network, sorted by name.
    pub fn load_all(&self) -> Result<Vec<NetworkState>, StateError> {
        let dir = &self.store.dir;
        let entries = fs::read_dir(dir).map_err(|e| StateError::Read(dir.clone(), e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StateError::Read(dir.clone(), e))?;
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if let Some(name) = file.strip_suffix(".json") {
                if !name.starts_with('.') {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        let mut all = Vec::new();
        for name in names {
            if let Some(net) = self.load(&name)? {
                all.push(net);
            }
        }
        Ok(all)
    }

    /// Writes `net` atomically: a temp file, then `rename` over the old.
    pub fn save(&self, net: &NetworkState) -> Result<(), StateError> {
        let path = self.path(&net.name);
        let tmp = self.store.dir.join(format!(".{}.json.tmp", net.name));
        let err = |e| StateError::Write(path.clone(), e);
        let mut text = serde_json::to_vec_pretty(net).expect("state serializes");
        text.push(b'\n');
        let mut file = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        file.write_all(&text).map_err(err)?;
        drop(file);
        fs::rename(&tmp, &path).map_err(err)
    }

    /// Forgets network `name` (no file is fine).
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StateError::Write(path, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str) -> NetworkState {
        NetworkState {
            name: name.into(),
            bridge: format!("husk-{name}"),
            subnet: "10.89.0.0/24".parse().unwrap(),
            gateway: "10.89.0.1".parse().unwrap(),
            subnet6: None,
            gateway6: None,
            internal: false,
            endpoints: vec![Endpoint {
                netns: "blue".into(),
                ns_dev: 4,
                ns_ino: 4026532000,
                host_veth: "hk0123456789ab".into(),
                ifname: "eth0".into(),
                ip: "10.89.0.2".parse().unwrap(),
                ip6: None,
                publish: vec![Publish {
                    host_port: 8080,
                    container_port: 80,
                    proto: Proto::Tcp,
                }],
            }],
        }
    }

    #[test]
    fn save_load_list_remove_in_a_temp_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("networks"));
        let locked = store.lock().unwrap();
        assert_eq!(locked.load("a").unwrap(), None);
        locked.save(&net("b")).unwrap();
        locked.save(&net("a")).unwrap();
        assert_eq!(locked.load("a").unwrap(), Some(net("a")));
        let names: Vec<_> = locked
            .load_all()
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
        locked.remove("a").unwrap();
        locked.remove("a").unwrap();
        assert_eq!(locked.load_all().unwrap().len(), 1);
        // No temp file stays behind.
        let files: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".tmp"))
            .collect();
        assert!(files.is_empty(), "{files:?}");
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let locked = store.lock().unwrap();
        fs::write(tmp.path().join("x.json"), "{").unwrap();
        let err = locked.load("x").unwrap_err();
        assert!(err.to_string().starts_with("corrupt state file "), "{err}");
    }

    #[test]
    fn the_lock_excludes_other_holders() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let held = store.lock().unwrap();
        let other = fs::File::open(tmp.path().join(".lock")).unwrap();
        let try_lock =
            rustix::fs::flock(&other, rustix::fs::FlockOperation::NonBlockingLockExclusive);
        assert!(try_lock.is_err(), "locked while held");
        drop(held);
        rustix::fs::flock(&other, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .expect("free once dropped");
    }
}
