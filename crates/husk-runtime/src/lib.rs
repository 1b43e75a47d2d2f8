//! An OCI runtime engine (runtime-spec 1.x, Linux).
//!
//! - [`bundle`]: load and check `config.json` and the rootfs of a bundle.
//! - [`plan`]: the pure [`Plan`](plan::Plan) computed from a config: clone
//!   flags, namespaces to join, who writes the id maps, whether a second
//!   fork is needed, mounts in order.
//! - [`store`]: the state directory under `--root` (atomic writes, flock)
//!   and the `state` JSON as runc prints it.
//! - [`container`]: the lifecycle (`create`, `start`, `kill`, `delete`,
//!   `state`), each step undone by a guard if a later one fails; `exec`;
//!   `ps`, `pause`/`resume`, `update`, `events` on the container's cgroup.
//! - [`hooks`]: the runtime-spec hooks, run at their lifecycle points.
//! - `init`: the process stages that become the container.
//!
//! ```no_run
//! use husk_runtime::container::{self, CreateOptions};
//! use husk_runtime::store::Store;
//! let store = Store::new("/run/husk");
//! let opts = CreateOptions::new("demo", "/path/to/bundle");
//! container::create(&store, &opts)?;
//! container::start(&store, "demo")?;
//! # Ok::<(), husk_runtime::container::ContainerError>(())
//! ```
#![deny(missing_docs)]

pub mod bundle;
pub mod container;
pub mod hooks;
mod init;
pub mod msg;
pub mod plan;
pub mod seccomp_listener;
pub mod spec;
pub mod store;
