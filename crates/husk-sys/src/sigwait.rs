//! Waiting for blocked signals synchronously: `sigtimedwait(2)`.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_without_a_signal() {
        let got = wait_timeout(&[libc::SIGUSR2], Duration::from_millis(1)).unwrap();
        assert_eq!(got, None);
    }
}
