//! Process creation: `fork(2)` behind a single-thread check.

use std::io;

use rustix::process::Pid;

use crate::cvt;

/// Which side of a [`fork`] the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// The original process; holds the child's pid.
    Parent(Pid),
    /// The new process.
    Child,
}

/// Number of threads in the calling process, from `/proc/self/stat`.
pub fn thread_count() -> io::Result<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Field 2 (comm) may hold spaces and parentheses: parse after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed /proc/self/stat"))?;
    // After ')' come fields 3.. ; num_threads is field 20, the 18th of these.
    rest.split_ascii_whitespace()
        .nth(17)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "no num_threads in /proc/self/stat",
            )
        })
}

/// `fork(2)`, allowed only while the calling process has a single thread.
///
/// The child of a multi-threaded process may only call async-signal-safe
/// functions, because another thread may have held the allocator's lock at
/// the moment of the fork. husk never starts threads, and this function
/// refuses (with `EDEADLK`) rather than trust that: the check costs one read
/// of `/proc/self/stat`, the fork itself costs far more.
///
/// ```no_run
/// match husk_sys::process::fork()? {
///     husk_sys::process::Forked::Child => std::process::exit(0),
///     husk_sys::process::Forked::Parent(pid) => {
///         rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())?;
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn fork() -> io::Result<Forked> {
    if thread_count()? != 1 {
        return Err(io::Error::from_raw_os_error(libc::EDEADLK));
    }
    // SAFETY: the process has exactly one thread (checked above), so no lock
    // can be held by a thread that does not exist in the child.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(match Pid::from_raw(pid) {
        Some(pid) => Forked::Parent(pid),
        None => Forked::Child,
    })
}
