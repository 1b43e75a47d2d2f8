//! Linux namespaces as a library.
//!
//! - [`NsKind`]: the eight namespace types, their names and `CLONE_NEW*` flags.
//! - [`Namespace`]: an open handle to one namespace (fd, kind, inode), with its
//!   owning user namespace and parent through the `NS_GET_*` ioctls.
//! - [`idmap`]: uid/gid maps (parse, validate, write, `newuidmap`).
//! - [`time`]: time-namespace clock offsets.
//! - [`unshare`]: create namespaces, optionally persisting them with a bind mount.
//! - [`enter`]: join the namespaces of a process or of namespace files.
//! - [`scan`]: enumerate every namespace on the system (the `lsns` engine).
//!
//! ```
//! use husk_ns::{Namespace, NsKind};
//! let net = Namespace::of_self(NsKind::Net)?;
//! assert_eq!(net.kind(), NsKind::Net);
//! assert!(net.ino() > 0);
//! # Ok::<(), husk_ns::NsError>(())
//! ```
#![deny(missing_docs)]

mod handle;
mod kind;

pub mod enter;
pub mod idmap;
pub mod scan;
pub mod time;
pub mod unshare;

pub use handle::{Namespace, NsError, NsId};
pub use kind::{NsKind, ParseKindError};
