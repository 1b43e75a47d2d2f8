//! Waiting for blocked signals synchronously (`sigtimedwait(2)`), and
//! resetting every signal's disposition before an exec.

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

use crate::cvt;

/// Waits up to `timeout` for one of `signals` (which the caller has
/// blocked, see [`crate::signal::block`]) and takes it from the pending
/// set. `Ok(None)` on timeout or when interrupted.
///
/// ```no_run
/// husk_sys::signal::block(&[libc::SIGTERM])?;
/// if let Some(sig) = husk_sys::sigwait::wait_timeout(&[libc::SIGTERM], std::time::Duration::from_millis(100))? {
///     println!("got signal {sig}");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait_timeout(signals: &[i32], timeout: Duration) -> io::Result<Option<i32>> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the whole set behind the pointer, a
    // live local of the right type.
    cvt(unsafe { libc::sigemptyset(set.as_mut_ptr()) })?;
    // SAFETY: sigemptyset succeeded just above, so the set is initialised.
    let mut set = unsafe { set.assume_init() };
    for &sig in signals {
        // SAFETY: `set` is an initialised sigset_t owned by this frame.
        cvt(unsafe { libc::sigaddset(&mut set, sig) })?;
    }
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos()),
    };
    // SAFETY: `set` and `ts` are initialised locals that outlive the call;
    // a null siginfo pointer asks for no details.
    let ret = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &ts) };
    match cvt(ret) {
        Ok(sig) => Ok(Some(sig)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The kernel's `struct sigaction` (x86_64, aarch64 and most others): not
/// glibc's, whose `sigaction` refuses the signals it keeps for itself.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Sets every signal (1 to 64, but `SIGKILL` and `SIGSTOP`) back to its
/// default action, through the raw `rt_sigaction(2)`: ignored dispositions
/// survive `execve`, and a runtime must not pass on its own (Rust ignores
/// `SIGPIPE`; a caller may have ignored glibc's signals 32 and 33).
pub fn reset_all_to_default() -> io::Result<()> {
    let dfl = KernelSigaction {
        handler: 0, // SIG_DFL
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `dfl` is a live, initialised kernel sigaction; installing
        // SIG_DFL runs no handler, so nothing of ours can be re-entered; a
        // null old-action pointer asks for nothing back; 8 is the kernel's
        // sigset size.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            )
        };
        cvt(ret)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_without_a_signal() {
        let got = wait_timeout(&[libc::SIGUSR2], Duration::from_millis(1)).unwrap();
        assert_eq!(got, None);
    }
}
