//! Process creation: `fork(2)` behind a single-thread check.

use std::io;
use std::marker::PhantomData;

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
///
/// One `read` into a stack buffer: the line is a few hundred bytes (comm is
/// at most 15), and this runs before every fork, on `unshare`'s hot path.
pub fn thread_count() -> io::Result<usize> {
    let invalid = |what| io::Error::new(io::ErrorKind::InvalidData, what);
    let fd = rustix::fs::open(
        "/proc/self/stat",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let mut buf = [0u8; 1024];
    let len = rustix::io::read(&fd, &mut buf)?;
    let stat = &buf[..len];
    // Field 2 (comm) may hold spaces and parentheses: parse after the last ')'.
    let close = stat
        .iter()
        .rposition(|&b| b == b')')
        .ok_or_else(|| invalid("malformed /proc/self/stat"))?;
    let rest = std::str::from_utf8(&stat[close + 1..])
        .map_err(|_| invalid("malformed /proc/self/stat"))?;
    // After ')' come fields 3.. ; num_threads is field 20, the 18th of these.
    rest.split_ascii_whitespace()
        .nth(17)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| invalid("no num_threads in /proc/self/stat"))
}

/// Proof that the calling process had a single thread when it was made.
///
/// It stays true as long as the process starts no thread, which husk never
/// does. It lets a caller check *before* it enters a pid or mount
/// namespace whose `/proc` no longer shows it (`/proc/self` is missing
/// there), then fork after. Not `Send`: a proof moved to another thread
/// would be a lie, since that thread exists.
#[derive(Debug, Clone, Copy)]
pub struct SingleThreaded(PhantomData<*const ()>);

impl SingleThreaded {
    /// Checks the thread count; `EDEADLK` if there is more than one.
    pub fn check() -> io::Result<SingleThreaded> {
        if thread_count()? != 1 {
            return Err(io::Error::from_raw_os_error(libc::EDEADLK));
        }
        Ok(SingleThreaded(PhantomData))
    }
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
    fork_single_threaded(SingleThreaded::check()?)
}

/// [`fork`] with the single-thread check made earlier.
pub fn fork_single_threaded(_proof: SingleThreaded) -> io::Result<Forked> {
    // SAFETY: the process has exactly one thread (`SingleThreaded` was
    // checked and the process starts no threads), so no lock can be held by
    // a thread that does not exist in the child.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(match Pid::from_raw(pid) {
        Some(pid) => Forked::Parent(pid),
        None => Forked::Child,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_thread_is_counted() {
        // libtest runs this test on a thread of its own, beside main.
        let before = thread_count().unwrap();
        assert!(before >= 1);
        let spawned = std::thread::spawn(thread_count).join().unwrap().unwrap();
        assert_eq!(spawned, before + 1);
    }
}
