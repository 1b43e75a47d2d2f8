//! Joining existing namespaces: the `nsenter` engine, reused by the
//! container runtime for `exec`.
//!
//! Entering is three steps, each its own type, so a caller can stop,
//! inspect or add its own work between them:
//!
//! 1. **Say what to join** with a [`Request`]: a target process and, per
//!    namespace kind, whether to take the target's namespace or a
//!    namespace file (`/proc/PID/ns/net`, a bind mount such as
//!    `/run/netns/NAME`); optionally a new root and working directory.
//! 2. **Resolve** it into a [`Plan`] ([`Request::resolve`]): every file is
//!    opened and checked (it must be a namespace of the right kind) and a
//!    pidfd of the target is taken, all *before* anything changes, so a
//!    bad argument fails with the process untouched.
//! 3. **Enter** ([`Plan::enter`]): the namespaces taken from the target
//!    are joined together with one `setns(pidfd, CLONE_NEW...)` (atomic:
//!    all or none, kernel 5.8+), the others with one `setns(fd)` each;
//!    then the root and working directory change.
//!
//! After that a caller entering a pid namespace usually forks
//! ([`Entered::fork_and_wait`]) so that the program it runs is *in* it, switches
//! ids ([`Credentials`]) and execs.
//!
//! # The user namespace comes first or last
//!
//! util-linux `nsenter` enters in two passes, and so does [`Plan::enter`]:
//! first every namespace except the user namespace (errors ignored), then
//! whatever is left, user namespace first (errors reported). A privileged
//! caller moving into a less privileged user namespace thus joins the
//! others while it still has the capabilities to (user namespace last);
//! an unprivileged caller fails the first pass and joins the user
//! namespace first, gaining the capabilities it needs for the rest.
//! `setns(2)` refuses to re-enter the caller's own user namespace
//! (`EINVAL`), so [`Request::all`] leaves the user namespace out when the
//! target shares it, as util-linux 2.38 does.
//!
//! # Example
//!
//! Run `hostname` in the UTS, network and pid namespaces of process 4242:
//!
//! ```no_run
//! use std::os::unix::process::CommandExt;
//! use husk_ns::enter::{ChildExit, Credentials, Request, Source};
//! use husk_ns::NsKind;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = Request::new()
//!     .target(4242)
//!     .join(NsKind::Uts, Source::Target)
//!     .join(NsKind::Net, Source::Target)
//!     .join(NsKind::Pid, Source::Target)
//!     .resolve()?; // opens /proc/4242/ns/{uts,net,pid} and a pidfd; nothing changed yet
//! let fork = plan.enters(NsKind::Pid);
//! let mut creds = Credentials::plan(plan.enters(NsKind::User), false, None, None);
//! creds.drop_groups_early();
//! let entered = plan.enter()?; // setns(pidfd, CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID)
//! if fork {
//!     match entered.fork_and_wait()? {
//!         None => {} // the child, now inside the pid namespace, goes on
//!         Some(ChildExit::Code(code)) => std::process::exit(code.into()),
//!         Some(ChildExit::Signal(sig)) => {
//!             let _ = husk_sys::signal::reraise(sig);
//!             std::process::exit(1);
//!         }
//!     }
//! }
//! creds.apply()?;
//! let err = std::process::Command::new("hostname").exec(); // returns only on failure
//! # Err(err.into())
//! # }
//! ```

use std::io;
use std::path::PathBuf;

use crate::{NsError, NsKind};

mod child;
mod creds;
mod dirs;
mod join;
mod request;
mod selinux;

pub use child::{fork_and_wait, ChildExit};
pub use creds::Credentials;
pub use join::{Entered, Plan};
pub use request::{Request, Source, WorkDir};
pub use selinux::{follow_selinux_context, selinux_enabled};

/// The order util-linux `nsenter` enters namespaces in (user first, so it
/// can come first or last, see the [module docs](self)).
pub const ENTER_ORDER: [NsKind; 8] = NsKind::UTIL_LINUX_ORDER;

/// Why entering failed; one variant per step. Messages follow util-linux
/// `nsenter` and do not repeat their source.
#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    /// A namespace file could not be opened or is not the namespace asked for.
    #[error(transparent)]
    Namespace(#[from] NsError),
    /// A namespace, root or directory was to come from the target, but
    /// there is no target (`what` is `ns/uts`, `root` or `cwd`).
    #[error("neither filename nor target pid supplied for {what}")]
    NoSource {
        /// What was to be taken from the target.
        what: String,
    },
    /// [`Request::all`] without a target process.
    #[error("no target process to take all namespaces from")]
    AllWithoutTarget,
    /// A namespace file could not be examined.
    #[error("stat of {path} failed")]
    Stat {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A root or working directory could not be opened.
    #[error("cannot open {path}")]
    Open {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `setns(2)` failed for this namespace (on the last pass).
    #[error("reassociate to namespace 'ns/{kind}' failed")]
    Setns {
        /// The namespace kind.
        kind: NsKind,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The working directory to keep (or the in-namespace one) could not be opened.
    #[error("cannot open current working directory")]
    OpenCwd(#[source] io::Error),
    /// `fchdir` to the new root failed.
    #[error("change directory by root file descriptor failed")]
    RootChdir(#[source] io::Error),
    /// `chroot(".")` failed.
    #[error("chroot failed")]
    Chroot(#[source] io::Error),
    /// `chdir("/")` after the chroot failed.
    #[error("cannot change directory to /")]
    ChdirSlash(#[source] io::Error),
    /// `fchdir` to the working directory failed.
    #[error("change directory by working directory file descriptor failed")]
    WdChdir(#[source] io::Error),
    /// Dropping supplementary groups failed (before and after entering).
    #[error("setgroups failed")]
    Setgroups(#[source] io::Error),
    /// `setgid(2)` failed.
    #[error("setgid failed")]
    Setgid(#[source] io::Error),
    /// `setuid(2)` failed.
    #[error("setuid failed")]
    Setuid(#[source] io::Error),
    /// `fork(2)` failed.
    #[error("fork failed")]
    Fork(#[source] io::Error),
    /// Waiting for the forked child failed.
    #[error("cannot wait for child {pid}")]
    Wait {
        /// The child.
        pid: i32,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The target's SELinux context could not be read.
    #[error("failed to get {pid} SELinux context")]
    SelinuxGet {
        /// The target.
        pid: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The exec context could not be set.
    #[error("failed to set exec context to '{context}'")]
    SelinuxSet {
        /// The context.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}
