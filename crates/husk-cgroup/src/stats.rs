//! Usage statistics of a cgroup: memory, pids, cpu time.
//!
//! Each comes from the v1 controller when the host has it there, else from
//! cgroup2 (`cpu.stat` is a core file on cgroup2, present without the cpu
//! controller).

use std::path::Path;

use crate::cgroup::Cgroup;
use crate::file::{self, FileError};

/// What the cgroup uses, per controller; `None` where the host lacks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Memory use.
    pub memory: Option<MemoryStats>,
    /// Process count.
    pub pids: Option<PidsStats>,
    /// CPU time.
    pub cpu: Option<CpuStats>,
}

/// Memory use, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Current use (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// The limit; `None` for none.
    pub limit: Option<u64>,
}

/// Process count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidsStats {
    /// Processes and threads now (`pids.current`).
    pub current: u64,
    /// The limit (`pids.max`); `None` for none.
    pub limit: Option<u64>,
}

/// CPU time, nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuStats {
    /// Total (v1 `cpuacct.usage`, v2 `cpu.stat` `usage_usec`).
    pub usage_ns: u64,
    /// In user mode, where the kernel says (v1 `cpuacct.usage_user`).
    pub user_ns: Option<u64>,
    /// In kernel mode, where the kernel says.
    pub system_ns: Option<u64>,
}

/// Statistics that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// Memory statistics.
    #[error("cannot read the memory statistics of cgroup {cgroup}")]
    Memory {
        /// The cgroup.
        cgroup: String,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// Pids statistics.
    #[error("cannot read the pids statistics of cgroup {cgroup}")]
    Pids {
        /// The cgroup.
        cgroup: String,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// CPU statistics.
    #[error("cannot read the cpu statistics of cgroup {cgroup}")]
    Cpu {
        /// The cgroup.
        cgroup: String,
        /// The cause.
        #[source]
        source: FileError,
    },
}

/// v1 reports "no limit" as the largest page-aligned counter value.
const V1_UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_F000;

impl Cgroup {
    /// Reads memory, pids and cpu statistics.
    pub fn stats(&self) -> Result<Stats, StatsError> {
        let cgroup = self.path.to_string();
        let memory = self.memory_stats().map_err(|source| StatsError::Memory {
            cgroup: cgroup.clone(),
            source,
        })?;
        let pids = self.pids_stats().map_err(|source| StatsError::Pids {
            cgroup: cgroup.clone(),
            source,
        })?;
        let cpu = self
            .cpu_stats()
            .map_err(|source| StatsError::Cpu { cgroup, source })?;
        Ok(Stats { memory, pids, cpu })
    }

    fn memory_stats(&self) -> Result<Option<MemoryStats>, FileError> {
        if let Some(dir) = self.v1_dir("memory") {
            let limit = file::read_u64(dir, "memory.limit_in_bytes")?;
            return Ok(Some(MemoryStats {
                usage: file::read_u64(dir, "memory.usage_in_bytes")?,
                limit: (limit < V1_UNLIMITED).then_some(limit),
            }));
        }
        match self.v2_dir_with("memory.current") {
            Some(dir) => Ok(Some(MemoryStats {
                usage: file::read_u64(dir, "memory.current")?,
                limit: file::read_limit(dir, "memory.max")?,
            })),
            None => Ok(None),
        }
    }

    fn pids_stats(&self) -> Result<Option<PidsStats>, FileError> {
        let dir = self
            .v1_dir("pids")
            .or_else(|| self.v2_dir_with("pids.current"));
        match dir {
            Some(dir) => Ok(Some(PidsStats {
                current: file::read_u64(dir, "pids.current")?,
                limit: file::read_limit(dir, "pids.max")?,
            })),
            None => Ok(None),
        }
    }

    fn cpu_stats(&self) -> Result<Option<CpuStats>, FileError> {
        if let Some(dir) = self.v1_dir("cpuacct") {
            let optional = |name| file::read_u64(dir, name).ok();
            return Ok(Some(CpuStats {
                usage_ns: file::read_u64(dir, "cpuacct.usage")?,
                user_ns: optional("cpuacct.usage_user"),
                system_ns: optional("cpuacct.usage_sys"),
            }));
        }
        let Some(dir) = self.v2_dir_with("cpu.stat") else {
            return Ok(None);
        };
        let text = file::read(dir, "cpu.stat")?;
        let usec = |key| file::keyed(&text, key).map(|v| v.saturating_mul(1000));
        let usage_ns = usec("usage_usec").ok_or_else(|| FileError::Parse {
            path: dir.join("cpu.stat"),
            content: text.clone(),
        })?;
        Ok(Some(CpuStats {
            usage_ns,
            user_ns: usec("user_usec"),
            system_ns: usec("system_usec"),
        }))
    }

    /// The cgroup2 directory, if it has `name` (a controller's file).
    fn v2_dir_with(&self, name: &str) -> Option<&Path> {
        self.unified_dir().filter(|d| d.join(name).exists())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Hierarchies, Unified, V1Hierarchy};
    use crate::path::CgroupPath;

    fn fill(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, value) in files {
            std::fs::write(dir.join(name), value).unwrap();
        }
    }

    #[test]
    fn v1_stats_on_a_fake() {
        let root = tempfile::tempdir().unwrap();
        let path = CgroupPath::parse("x").unwrap();
        let v1 = |c: &str| V1Hierarchy {
            controllers: vec![c.to_owned()],
            mount: root.path().join(c),
        };
        let at = |c: &str| root.path().join(c).join("husk/x");
        fill(
            &at("memory"),
            &[
                ("memory.usage_in_bytes", "4096\n"),
                ("memory.limit_in_bytes", "9223372036854771712\n"),
            ],
        );
        fill(
            &at("pids"),
            &[("pids.current", "3\n"), ("pids.max", "10\n")],
        );
        fill(
            &at("cpuacct"),
            &[
                ("cpuacct.usage", "1500\n"),
                ("cpuacct.usage_user", "1000\n"),
                ("cpuacct.usage_sys", "500\n"),
            ],
        );
        let hier = Hierarchies::new(vec![v1("memory"), v1("pids"), v1("cpuacct")], None);
        let stats = Cgroup::open(&hier, &path).unwrap().stats().unwrap();
        assert_eq!(
            stats.memory,
            Some(MemoryStats {
                usage: 4096,
                limit: None
            })
        );
        assert_eq!(
            stats.pids,
            Some(PidsStats {
                current: 3,
                limit: Some(10)
            })
        );
        let cpu = CpuStats {
            usage_ns: 1500,
            user_ns: Some(1000),
            system_ns: Some(500),
        };
        assert_eq!(stats.cpu, Some(cpu));
    }

    #[test]
    fn v2_stats_on_a_fake() {
        let root = tempfile::tempdir().unwrap();
        let path = CgroupPath::parse("x").unwrap();
        fill(
            &root.path().join("husk/x"),
            &[
                ("memory.current", "8192\n"),
                ("memory.max", "1048576\n"),
                ("pids.current", "1\n"),
                ("pids.max", "max\n"),
                ("cpu.stat", "usage_usec 7\nuser_usec 5\nsystem_usec 2\n"),
            ],
        );
        let unified = Unified {
            mount: root.path().to_owned(),
            controllers: vec!["memory".into(), "pids".into()],
        };
        let hier = Hierarchies::new(Vec::new(), Some(unified));
        let stats = Cgroup::open(&hier, &path).unwrap().stats().unwrap();
        assert_eq!(
            stats.memory,
            Some(MemoryStats {
                usage: 8192,
                limit: Some(1 << 20)
            })
        );
        assert_eq!(
            stats.pids,
            Some(PidsStats {
                current: 1,
                limit: None
            })
        );
        let cpu = CpuStats {
            usage_ns: 7000,
            user_ns: Some(5000),
            system_ns: Some(2000),
        };
        assert_eq!(stats.cpu, Some(cpu));
    }
}
