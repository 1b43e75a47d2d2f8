//! Which cgroup hierarchies a host has: v1 controller mounts, the cgroup2
//! mount, or both (hybrid), read from a mountinfo text.
//!
//! The mount points are joined under a root directory you pass in, so tests
//! can point everything at a temp dir.

use std::io;
use std::path::{Path, PathBuf};

use crate::file;

/// How a host runs cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only v1 controller hierarchies.
    V1,
    /// Only the cgroup2 unified hierarchy.
    V2,
    /// v1 controller hierarchies plus a cgroup2 mount (usually
    /// `/sys/fs/cgroup/unified`) that owns whatever v1 does not.
    Hybrid,
}

/// One v1 hierarchy: a `cgroup` mount with one or more controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// The controllers attached (`cpu`, `memory`, ...); named hierarchies
    /// (`name=systemd`) are not kept.
    pub controllers: Vec<String>,
    /// Where it is mounted.
    pub mount: PathBuf,
}

/// The cgroup2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unified {
    /// Where it is mounted.
    pub mount: PathBuf,
    /// The controllers it owns (its root's `cgroup.controllers`).
    pub controllers: Vec<String>,
}

/// The cgroup hierarchies of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    v1: Vec<V1Hierarchy>,
    unified: Option<Unified>,
}

/// Detection that failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The mountinfo file could not be read.
    #[error("cannot read {path}")]
    Mountinfo {
        /// The mountinfo file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The cgroup2 root's `cgroup.controllers` could not be read.
    #[error("cannot read the controllers of the cgroup2 mount {path}")]
    Controllers {
        /// The cgroup2 mount.
        path: PathBuf,
        /// The cause.
        #[source]
        source: file::FileError,
    },
    /// No cgroup filesystem is mounted.
    #[error("no cgroup or cgroup2 filesystem is mounted")]
    NoCgroups,
}

impl Hierarchies {
    /// The hierarchies of the calling process's mount namespace.
    pub fn detect() -> Result<Hierarchies, DetectError> {
        Hierarchies::from_mountinfo_file(Path::new("/proc/self/mountinfo"), Path::new("/"))
    }

    /// Reads `mountinfo` and builds the hierarchies, joining mount points
    /// under `root`.
    pub fn from_mountinfo_file(mountinfo: &Path, root: &Path) -> Result<Hierarchies, DetectError> {
        let text = std::fs::read_to_string(mountinfo).map_err(|source| DetectError::Mountinfo {
            path: mountinfo.to_owned(),
            source,
        })?;
        Hierarchies::from_mountinfo(&text, root)
    }

    /// Builds the hierarchies from a mountinfo text (proc(5)), joining mount
    /// points under `root`. The cgroup2 controllers are read from its root's
    /// `cgroup.controllers` (missing means none).
    pub fn from_mountinfo(text: &str, root: &Path) -> Result<Hierarchies, DetectError> {
        let mut found = Hierarchies::default();
        for line in text.lines() {
            let Some(mount) = parse_line(line) else {
                continue;
            };
            // Unescaped and joined only for cgroup mounts: most lines are not.
            let path = || root.join(unescape(mount.point).trim_start_matches('/'));
            match mount.fstype {
                "cgroup2" if found.unified.is_none() => {
                    let path = path();
                    found.unified = Some(Unified {
                        controllers: read_controllers(&path)?,
                        mount: path,
                    });
                }
                "cgroup" => {
                    let controllers: Vec<String> = mount
                        .options
                        .split(',')
                        .filter(|o| is_controller(o))
                        .map(str::to_owned)
                        .collect();
                    let seen = found.v1.iter().any(|h| h.controllers == controllers);
                    if !controllers.is_empty() && !seen {
                        found.v1.push(V1Hierarchy {
                            controllers,
                            mount: path(),
                        });
                    }
                }
                _ => {}
            }
        }
        if found.v1.is_empty() && found.unified.is_none() {
            return Err(DetectError::NoCgroups);
        }
        Ok(found)
    }

    /// Hierarchies from parts (for tests and for callers that know better).
    pub fn new(v1: Vec<V1Hierarchy>, unified: Option<Unified>) -> Hierarchies {
        Hierarchies { v1, unified }
    }

    /// v1, v2 or hybrid.
    pub fn mode(&self) -> Mode {
        match (self.v1.is_empty(), &self.unified) {
            (true, _) => Mode::V2,
            (false, Some(_)) => Mode::Hybrid,
            (false, None) => Mode::V1,
        }
    }

    /// The v1 hierarchies.
    pub fn v1(&self) -> &[V1Hierarchy] {
        &self.v1
    }

    /// The cgroup2 hierarchy.
    pub fn unified(&self) -> Option<&Unified> {
        self.unified.as_ref()
    }

    /// The mount of the v1 hierarchy that has `controller`.
    pub fn v1_mount(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
            .map(|h| h.mount.as_path())
    }

    /// The same host seen without its cgroup2 mount.
    pub fn v1_only(&self) -> Hierarchies {
        Hierarchies::new(self.v1.clone(), None)
    }

    /// The same host seen with only its cgroup2 mount.
    pub fn unified_only(&self) -> Hierarchies {
        Hierarchies::new(Vec::new(), self.unified.clone())
    }
}

/// The fields of one mountinfo line that matter here.
struct MountLine<'a> {
    /// As written (escaped): unescaped only for a cgroup mount.
    point: &'a str,
    fstype: &'a str,
    options: &'a str,
}

/// `ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER`;
/// v1 controllers are in the super options.
fn parse_line(line: &str) -> Option<MountLine<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let point = left.split(' ').nth(4)?;
    let mut right = right.split(' ');
    let fstype = right.next()?;
    let options = right.nth(1).unwrap_or("");
    Some(MountLine {
        point,
        fstype,
        options,
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether a v1 mount option names a controller (not `rw`, `name=...`).
fn is_controller(option: &str) -> bool {
    const KNOWN: [&str; 14] = [
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "blkio",
        "pids",
        "hugetlb",
        "net_cls",
        "net_prio",
        "perf_event",
        "rdma",
        "misc",
    ];
    KNOWN.contains(&option)
}

fn read_controllers(mount: &Path) -> Result<Vec<String>, DetectError> {
    match file::read(mount, "cgroup.controllers") {
        Ok(text) => Ok(text.split_whitespace().map(str::to_owned).collect()),
        Err(e) if e.kind() == Some(io::ErrorKind::NotFound) => Ok(Vec::new()),
        Err(source) => Err(DetectError::Controllers {
            path: mount.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
99 31 0:32 / /mnt/memory\\040again rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_host() {
        let root = tempfile::tempdir().unwrap();
        let unified = root.path().join("sys/fs/cgroup/unified");
        std::fs::create_dir_all(&unified).unwrap();
        std::fs::write(unified.join("cgroup.controllers"), "hugetlb\n").unwrap();
        let h = Hierarchies::from_mountinfo(HYBRID, root.path()).unwrap();
        assert_eq!(h.mode(), Mode::Hybrid);
        assert_eq!(h.v1().len(), 3, "{h:?}");
        assert_eq!(h.v1()[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(
            h.v1_mount("cpuacct").unwrap(),
            root.path().join("sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(
            h.v1_mount("memory").unwrap(),
            root.path().join("sys/fs/cgroup/memory")
        );
        assert!(h.v1_mount("name=systemd").is_none());
        let u = h.unified().unwrap();
        assert_eq!(u.mount, unified);
        assert_eq!(u.controllers, ["hugetlb"]);
        assert_eq!(h.v1_only().mode(), Mode::V1);
        assert_eq!(h.unified_only().mode(), Mode::V2);
    }

    #[test]
    fn pure_v2_and_none() {
        let root = tempfile::tempdir().unwrap();
        let text = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let h = Hierarchies::from_mountinfo(text, root.path()).unwrap();
        assert_eq!(h.mode(), Mode::V2);
        assert!(h.unified().unwrap().controllers.is_empty());
        let err = Hierarchies::from_mountinfo("1 0 0:1 / / rw - ext4 /dev/sda rw\n", root.path())
            .unwrap_err();
        assert!(matches!(err, DetectError::NoCgroups));
    }

    #[test]
    fn unescapes_mount_points() {
        assert_eq!(unescape("/a\\040b\\011c"), "/a b\tc");
        assert_eq!(unescape("/plain\\"), "/plain\\");
    }

    #[test]
    fn this_host() {
        // Whatever the host runs, detection must succeed and agree with
        // /proc/self/cgroup: a "0::" line once cgroup2 is mounted.
        let h = Hierarchies::detect().unwrap();
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        if h.unified().is_some() {
            assert!(own.lines().any(|l| l.starts_with("0::")), "{h:?}\n{own}");
        }
        for v1 in h.v1() {
            assert!(own.contains(&v1.controllers[0]), "{h:?}\n{own}");
        }
    }
}
