//! Forking after entering a pid namespace, and passing on the child's fate.

use husk_sys::process::{fork, fork_single_threaded, Forked};
use rustix::process::{Signal, WaitOptions};

use super::{EnterError, Entered};

/// How the forked child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// It exited with this status.
    Code(u8),
    /// A signal killed it. The parent should die of the same signal
    /// ([`husk_sys::signal::reraise`]) so its own parent sees `128+N`.
    Signal(i32),
}

impl Entered {
    /// Forks. The child gets `Ok(None)` and carries on. The parent waits
    /// for the child and returns how it ended. See [`fork_and_wait`].
    pub fn fork_and_wait(&self) -> Result<Option<ChildExit>, EnterError> {
        let forked = match self.single_threaded {
            Some(proof) => fork_single_threaded(proof),
            None => fork(),
        };
        wait_as_parent(forked.map_err(EnterError::Fork)?)
    }
}

/// Forks. The child gets `Ok(None)` and carries on. The parent waits for
/// the child and returns how it ended.
///
/// `setns` into a pid namespace changes where the caller's *children* are
/// created, not the caller; forking puts the program that follows inside.
/// While waiting the parent mirrors job control: when the child stops
/// (`^Z`), the parent stops itself, and continues the child when it is
/// continued.
///
/// The fork is refused unless the process is single-threaded, which is
/// checked by reading `/proc/self/stat`. After entering a pid and a mount
/// namespace with its own `/proc`, `/proc/self` is missing: fork with
/// [`Entered::fork_and_wait`] then, which uses the check made before.
pub fn fork_and_wait() -> Result<Option<ChildExit>, EnterError> {
    wait_as_parent(fork().map_err(EnterError::Fork)?)
}

fn wait_as_parent(forked: Forked) -> Result<Option<ChildExit>, EnterError> {
    let child = match forked {
        Forked::Child => return Ok(None),
        Forked::Parent(pid) => pid,
    };
    loop {
        let status = match rustix::process::waitpid(Some(child), WaitOptions::UNTRACED) {
            Ok(Some((_, status))) => status,
            Ok(None) => continue,
            Err(e) if e == rustix::io::Errno::INTR => continue,
            Err(e) => {
                return Err(EnterError::Wait {
                    pid: child.as_raw_nonzero().get(),
                    source: e.into(),
                })
            }
        };
        if status.stopped() {
            let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::STOP);
            let _ = rustix::process::kill_process(child, Signal::CONT);
            continue;
        }
        return Ok(Some(ended(
            status.exit_status(),
            status.terminating_signal(),
        )));
    }
}

fn ended(code: Option<i32>, signal: Option<i32>) -> ChildExit {
    match (code, signal) {
        (Some(code), _) => ChildExit::Code(u8::try_from(code & 0xff).unwrap_or(1)),
        (None, Some(sig)) => ChildExit::Signal(sig),
        (None, None) => ChildExit::Code(1),
    }
}
