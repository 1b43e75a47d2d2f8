//! Out-of-memory kills in a cgroup: how many processes the kernel's OOM
//! killer killed there because of the cgroup's memory limit. v1 keeps the
//! count in `memory.oom_control` (`oom_kill`, Linux 4.13), cgroup2 in
//! `memory.events` (`oom_kill`). `husk oci events` reports an `oom` event
//! each time it grows, as runc does.

use crate::cgroup::Cgroup;
use crate::file::{self, FileError};
use crate::stats::StatsError;

impl Cgroup {
    /// The number of OOM kills in the cgroup so far; `None` when the host
    /// has no memory controller for it.
    pub fn oom_kills(&self) -> Result<Option<u64>, StatsError> {
        let fail = |source| StatsError::Memory {
            cgroup: self.path.to_string(),
            source,
        };
        let (dir, name) = if let Some(dir) = self.v1_dir("memory") {
            (dir, "memory.oom_control")
        } else {
            match self
                .unified_dir()
                .filter(|d| d.join("memory.events").exists())
            {
                Some(dir) => (dir, "memory.events"),
                None => return Ok(None),
            }
        };
        let text = file::read(dir, name).map_err(fail)?;
        match file::keyed(&text, "oom_kill") {
            Some(n) => Ok(Some(n)),
            None => Err(fail(FileError::Parse {
                path: dir.join(name),
                content: text,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::detect::{Hierarchies, Unified, V1Hierarchy};
    use crate::path::CgroupPath;
    use crate::Cgroup;

    fn fill(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn v1_oom_control() {
        let root = tempfile::tempdir().unwrap();
        let mem = root.path().join("memory");
        fill(
            &mem.join("husk/x"),
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        );
        let v1 = V1Hierarchy {
            controllers: vec!["memory".into()],
            mount: mem,
        };
        let hier = Hierarchies::new(vec![v1], None);
        let cg = Cgroup::open(&hier, &CgroupPath::parse("x").unwrap()).unwrap();
        assert_eq!(cg.oom_kills().unwrap(), Some(3));
    }

    #[test]
    fn v2_memory_events_and_none_without_memory() {
        let root = tempfile::tempdir().unwrap();
        let unified = Unified {
            mount: root.path().to_owned(),
            controllers: vec!["memory".into()],
        };
        let hier = Hierarchies::new(Vec::new(), Some(unified));
        let path = CgroupPath::parse("x").unwrap();
        std::fs::create_dir_all(root.path().join("husk/x")).unwrap();
        let cg = Cgroup::open(&hier, &path).unwrap();
        assert_eq!(cg.oom_kills().unwrap(), None);
        fill(
            &root.path().join("husk/x"),
            "memory.events",
            "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n",
        );
        assert_eq!(cg.oom_kills().unwrap(), Some(1));
        fill(&root.path().join("husk/x"), "memory.events", "low 0\n");
        let err = cg.oom_kills().unwrap_err().to_string();
        assert_eq!(err, "cannot read the memory statistics of cgroup /husk/x");
    }
}
