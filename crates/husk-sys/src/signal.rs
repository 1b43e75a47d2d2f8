//! Dying of a signal on purpose: the last step of a parent that forwards
//! its child's fate (`nsenter`, `unshare --fork`), so the shell sees the
//! same `128+N` status as if it had run the child itself.

use std::io;

use crate::cvt;

/// Kills the calling process with `sig` under the default disposition.
///
/// Rust's runtime ignores `SIGPIPE` and a program may have handlers, so
/// the disposition is reset to `SIG_DFL` and the signal unblocked first.
/// Returns only if the signal does not terminate by default (`SIGCHLD`,
/// `SIGCONT`, ...) or cannot be sent, so the caller must still exit.
pub fn raise_default(sig: i32) -> io::Result<()> {
    // SAFETY: installing SIG_DFL involves no handler code of ours, so no
    // Rust state can be observed from signal context.
    if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` is a local sigset_t that sigemptyset fully initialises
    // before sigaddset and sigprocmask read it; both pointers are to live
    // locals (the old-set pointer is null, which the call allows).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        cvt(libc::sigprocmask(
            libc::SIG_UNBLOCK,
            &set,
            std::ptr::null_mut(),
        ))?;
    }
    // SAFETY: kill takes plain integers and touches no memory of ours.
    cvt(unsafe { libc::kill(libc::getpid(), sig) })?;
    Ok(())
}
