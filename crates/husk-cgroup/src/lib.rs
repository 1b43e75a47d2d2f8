//! cgroups as a library: one API over cgroup v1, v2 and hybrid hosts.
//!
//! - [`Hierarchies`]: which hierarchies the host has ([`Mode`]: v1, v2 or
//!   hybrid), read from a mountinfo text under a root you choose.
//! - [`CgroupPath`]: OCI `cgroupsPath` semantics (absolute, or relative
//!   under the `husk` subtree; the systemd form is refused).
//! - [`Cgroup`]: the same cgroup in every hierarchy: create, join, procs,
//!   [`apply`](Cgroup::apply) OCI `linux.resources`, [`stats`](Cgroup::stats),
//!   freeze/thaw, kill all, remove; [`CgroupGuard`] removes on Drop.
//!
//! Everything is plain file I/O on cgroupfs paths taken from
//! [`Hierarchies`], so tests can run on a fake tree in a temp dir.
//!
//! ```no_run
//! use husk_cgroup::{Cgroup, CgroupGuard, CgroupPath, Hierarchies};
//! let hier = Hierarchies::detect()?;
//! let cg = CgroupGuard::new(Cgroup::create(&hier, &CgroupPath::parse("demo")?)?);
//! let resources: oci_spec::runtime::LinuxResources =
//!     serde_json::from_str(r#"{"pids": {"limit": 64}}"#)?;
//! cg.apply(&resources)?;
//! cg.join(std::process::id())?;
//! // Dropping the guard kills what is inside and removes /husk/demo.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod cgroup;
mod detect;
mod file;
mod freeze;
mod oom;
mod path;
mod resources;
mod stats;

pub use cgroup::{Cgroup, CgroupError, CgroupGuard};
pub use detect::{DetectError, Hierarchies, Mode, Unified, V1Hierarchy};
pub use file::FileError;
pub use oci_spec::runtime::LinuxResources;
pub use path::{CgroupPath, PathError, SUBTREE};
pub use resources::ResourceError;
pub use stats::{CpuStats, MemoryStats, PidsStats, Stats, StatsError};
