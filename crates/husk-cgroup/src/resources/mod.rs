//! Applying OCI `linux.resources` ([`LinuxResources`] of the `oci-spec`
//! crate) to a [`Cgroup`].
//!
//! Each controller goes where the host has it: a v1 hierarchy with that
//! controller, else the cgroup2 hierarchy if its root lists it (the
//! controller is then enabled in `cgroup.subtree_control` from the mount
//! down to the cgroup's parent, only when needed). On a hybrid host that
//! means v1 for everything except what cgroup2 owns (often `hugetlb`).
//! A resource whose controller is nowhere is an error, never skipped.

mod ebpf;
#[cfg(test)]
mod fixture;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxCpu, LinuxResources};

use crate::cgroup::Cgroup;
use crate::file::{self, FileError};

/// A resource that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// Writing one limit failed (the source names the file and value).
    #[error("cannot set {what}")]
    Write {
        /// Which limit, in OCI terms (`memory.limit`, `cpu.shares`, ...).
        what: &'static str,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// A controller could not be enabled in a cgroup2 `subtree_control`.
    #[error("cannot enable the {controller} controller in {path}")]
    Enable {
        /// The controller.
        controller: String,
        /// The directory whose `cgroup.subtree_control` was written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// The host has the controller on neither v1 nor cgroup2.
    #[error(
        "the {controller} controller is not available (neither a v1 hierarchy nor cgroup2 has it)"
    )]
    NoController {
        /// The controller.
        controller: String,
    },
    /// The resource has no equivalent on this cgroup version (yet).
    #[error("{what} is not supported on {version}")]
    Unsupported {
        /// The resource, in OCI terms.
        what: &'static str,
        /// `cgroup v1` or `cgroup v2`.
        version: &'static str,
    },
    /// A value the kernel would refuse, caught before writing.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The resource, in OCI terms.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// Shorthand for the module's results.
pub(crate) type Result<T = ()> = std::result::Result<T, ResourceError>;

/// Writes `value` to `dir/name`, naming the OCI setting on failure.
pub(crate) fn set(dir: &Path, name: &str, value: &str, what: &'static str) -> Result {
    file::write(dir, name, value).map_err(|source| ResourceError::Write { what, source })
}

/// Where a controller's files are.
enum Target<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Cgroup {
    /// Applies `resources`; fields that are `None` are left as they are.
    ///
    /// Not supported yet: `rdma`, `network` (`net_cls`/`net_prio`); see
    /// `docs/cgroup.md`.
    pub fn apply(&self, resources: &LinuxResources) -> Result {
        if let Some(memory) = resources.memory() {
            match self.target("memory", "memory")? {
                Target::V1(dir) => v1::memory(dir, memory)?,
                Target::V2(dir) => v2::memory(dir, memory)?,
            }
        }
        if let Some(cpu) = resources.cpu() {
            self.apply_cpu(cpu)?;
        }
        if let Some(pids) = resources.pids() {
            match self.target("pids", "pids")? {
                Target::V1(dir) | Target::V2(dir) => v1::pids(dir, pids)?,
            }
        }
        if let Some(blkio) = resources.block_io() {
            match self.target("blkio", "io")? {
                Target::V1(dir) => v1::blkio(dir, blkio)?,
                Target::V2(dir) => v2::io(dir, blkio)?,
            }
        }
        if let Some(pages) = resources
            .hugepage_limits()
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            match self.target("hugetlb", "hugetlb")? {
                Target::V1(dir) => v1::hugetlb(dir, pages)?,
                Target::V2(dir) => v2::hugetlb(dir, pages)?,
            }
        }
        if let Some(rules) = resources.devices().as_deref().filter(|r| !r.is_empty()) {
            self.apply_devices(rules)?;
        }
        if let Some(unified) = resources.unified().as_ref().filter(|u| !u.is_empty()) {
            self.apply_unified(unified)?;
        }
        unsupported_extras(resources)
    }

    fn apply_cpu(&self, cpu: &LinuxCpu) -> Result {
        let sched = cpu.shares().is_some()
            || cpu.quota().is_some()
            || cpu.period().is_some()
            || cpu.burst().is_some()
            || cpu.idle().is_some()
            || cpu.realtime_period().is_some()
            || cpu.realtime_runtime().is_some();
        if sched {
            match self.target("cpu", "cpu")? {
                Target::V1(dir) => v1::cpu(dir, cpu)?,
                Target::V2(dir) => v2::cpu(dir, cpu)?,
            }
        }
        let has = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        if has(cpu.cpus()) || has(cpu.mems()) {
            match self.target("cpuset", "cpuset")? {
                Target::V1(dir) | Target::V2(dir) => v1::cpuset(dir, cpu)?,
            }
        }
        Ok(())
    }

    /// Device rules go to the v1 devices controller, else (cgroup2 has no
    /// devices controller to enable) an eBPF program on the cgroup2 dir.
    fn apply_devices(&self, rules: &[oci_spec::runtime::LinuxDeviceCgroup]) -> Result {
        if let Some(dir) = self.v1_dir("devices") {
            return v1::devices(dir, rules);
        }
        match self.unified_dir() {
            Some(dir) => ebpf::apply(dir, rules),
            None => Err(ResourceError::NoController {
                controller: "devices".to_owned(),
            }),
        }
    }

    /// `unified` keys are written verbatim into the cgroup2 directory, after
    /// enabling the controller their name starts with.
    fn apply_unified(&self, unified: &std::collections::HashMap<String, String>) -> Result {
        let mut keys: Vec<_> = unified.iter().collect();
        keys.sort();
        for (key, value) in keys {
            let bad = key.is_empty() || key.contains('/') || !key.contains('.');
            if bad || key.starts_with('.') {
                return Err(ResourceError::Invalid {
                    what: "unified",
                    reason: format!("{key:?} is not a cgroup2 interface file name"),
                });
            }
            let controller = key.split('.').next().unwrap_or_default();
            let dir = if controller == "cgroup" {
                self.unified_dir().ok_or(ResourceError::Unsupported {
                    what: "unified",
                    version: "cgroup v1",
                })?
            } else {
                self.v2_target(controller)?
            };
            set(dir, key, value, "unified")?;
        }
        Ok(())
    }

    /// The v1 directory of `v1_name`, else the cgroup2 one if cgroup2 has
    /// `v2_name` (enabling it on the way down).
    fn target(&self, v1_name: &str, v2_name: &str) -> Result<Target<'_>> {
        if let Some(dir) = self.v1_dir(v1_name) {
            return Ok(Target::V1(dir));
        }
        self.v2_target(v2_name).map(Target::V2)
    }

    fn v2_target(&self, controller: &str) -> Result<&Path> {
        let available = self
            .hier
            .unified()
            .is_some_and(|u| u.controllers.iter().any(|c| c == controller));
        let dir = self.unified_dir().filter(|_| available);
        let dir = dir.ok_or_else(|| ResourceError::NoController {
            controller: controller.to_owned(),
        })?;
        self.enable(controller)?;
        Ok(dir)
    }

    /// Enables `controller` in `cgroup.subtree_control` of every level from
    /// the cgroup2 mount to the cgroup's parent, where it is not yet.
    fn enable(&self, controller: &str) -> Result {
        let Some(unified) = self.hier.unified() else {
            return Ok(());
        };
        let components = self.path.components();
        let mut level = unified.mount.clone();
        for component in &components[..components.len() - 1] {
            enable_in(&level, controller)?;
            level.push(component);
        }
        enable_in(&level, controller)
    }
}

fn enable_in(dir: &Path, controller: &str) -> Result {
    let err = |source| ResourceError::Enable {
        controller: controller.to_owned(),
        path: dir.to_owned(),
        source,
    };
    let enabled = file::read(dir, "cgroup.subtree_control").map_err(err)?;
    if enabled.split_whitespace().any(|c| c == controller) {
        return Ok(());
    }
    file::write(dir, "cgroup.subtree_control", &format!("+{controller}")).map_err(err)
}

/// Resources husk does not apply yet must not be dropped silently.
fn unsupported_extras(resources: &LinuxResources) -> Result {
    if resources.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(ResourceError::Unsupported {
            what: "rdma",
            version: "husk yet",
        });
    }
    let network = resources.network().as_ref();
    if network.is_some_and(|n| n.class_id().is_some() || n.priorities().is_some()) {
        return Err(ResourceError::Unsupported {
            what: "network (net_cls/net_prio)",
            version: "husk yet",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
