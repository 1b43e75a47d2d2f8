//! OCI `cgroupsPath` semantics.
//!
//! The runtime spec (config-linux.md, "Cgroups path"): an absolute path is
//! relative to each hierarchy's mount point; a relative path is interpreted
//! by the runtime, and husk puts it under its own [`SUBTREE`] (`husk/`), so
//! that `abc` and the default for container `abc` both become `/husk/abc`.
//! runc's systemd form `slice:prefix:name` needs the systemd cgroup driver,
//! which needs a running systemd; husk has no such driver.

use std::fmt;

/// The subtree husk creates relative cgroups under.
pub const SUBTREE: &str = "husk";

/// A cgroup path, the same in every hierarchy: components below the mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPath {
    components: Vec<String>,
    relative: bool,
}

/// A `cgroupsPath` husk cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty or names the root cgroup.
    #[error("cgroup path {0:?} names the root cgroup")]
    Root(String),
    /// The path is in runc's `slice:prefix:name` systemd form.
    #[error("cgroup path {0:?} is in the systemd form (slice:prefix:name): the systemd cgroup driver needs systemd")]
    Systemd(String),
    /// A component is `.` or `..`, which would leave the hierarchy.
    #[error("cgroup path {0:?} has a \".\" or \"..\" component")]
    DotComponent(String),
}

impl CgroupPath {
    /// Parses an OCI `cgroupsPath`.
    ///
    /// ```
    /// use husk_cgroup::CgroupPath;
    /// assert_eq!(CgroupPath::parse("/ci/job1")?.to_string(), "/ci/job1");
    /// assert_eq!(CgroupPath::parse("job1")?.to_string(), "/husk/job1");
    /// assert!(CgroupPath::parse("system.slice:husk:job1").is_err());
    /// # Ok::<(), husk_cgroup::PathError>(())
    /// ```
    pub fn parse(path: &str) -> Result<CgroupPath, PathError> {
        let relative = !path.starts_with('/');
        if relative && path.split(':').count() == 3 {
            return Err(PathError::Systemd(path.to_owned()));
        }
        let mut components = Vec::new();
        if relative {
            components.push(SUBTREE.to_owned());
        }
        for c in path.split('/').filter(|c| !c.is_empty()) {
            if c == "." || c == ".." {
                return Err(PathError::DotComponent(path.to_owned()));
            }
            components.push(c.to_owned());
        }
        if components.len() == usize::from(relative) {
            return Err(PathError::Root(path.to_owned()));
        }
        Ok(CgroupPath {
            components,
            relative,
        })
    }

    /// The default path of a container with no `cgroupsPath`: `/husk/ID`.
    pub fn for_container(id: &str) -> Result<CgroupPath, PathError> {
        if id.contains('/') {
            return Err(PathError::DotComponent(id.to_owned()));
        }
        CgroupPath::parse(id)
    }

    /// The components below the hierarchy's mount point.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// Whether the path was relative (and so lives under [`SUBTREE`]).
    pub fn is_relative(&self) -> bool {
        self.relative
    }

    /// The path as a relative filesystem path (`husk/abc`).
    pub fn as_relative(&self) -> std::path::PathBuf {
        self.components.iter().collect()
    }
}

impl fmt::Display for CgroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.components {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative() {
        let abs = CgroupPath::parse("//ci//job1/").unwrap();
        assert_eq!(abs.components(), ["ci", "job1"]);
        assert!(!abs.is_relative());
        let rel = CgroupPath::parse("a/b").unwrap();
        assert_eq!(rel.components(), ["husk", "a", "b"]);
        assert!(rel.is_relative());
        assert_eq!(rel.as_relative(), std::path::Path::new("husk/a/b"));
        assert_eq!(
            CgroupPath::for_container("c1").unwrap().to_string(),
            "/husk/c1"
        );
    }

    #[test]
    fn refused() {
        for p in ["", "/", "//"] {
            assert_eq!(CgroupPath::parse(p), Err(PathError::Root(p.to_owned())));
        }
        assert!(matches!(
            CgroupPath::parse("/a/../b"),
            Err(PathError::DotComponent(_))
        ));
        assert!(matches!(
            CgroupPath::parse("./a"),
            Err(PathError::DotComponent(_))
        ));
        assert!(matches!(
            CgroupPath::for_container("a/b"),
            Err(PathError::DotComponent(_))
        ));
        let err = CgroupPath::parse("machine.slice:libpod:abc").unwrap_err();
        assert!(
            err.to_string()
                .contains("systemd cgroup driver needs systemd"),
            "{err}"
        );
        // A colon alone is an ordinary character.
        assert_eq!(CgroupPath::parse("/a:b").unwrap().components(), ["a:b"]);
    }
}
