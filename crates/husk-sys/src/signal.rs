//! Signal dispositions and the blocked-signal mask, for a single-threaded
//! process that waits for a child (the `unshare --fork` parent).
//!
//! rustix exposes no stable `sigprocmask`, so these are thin libc wrappers.

use std::io;
use std::mem::MaybeUninit;

use crate::cvt;

/// A saved signal mask, as returned by [`block`]; hand it to [`restore`].
#[derive(Clone, Copy)]
pub struct SigMask(libc::sigset_t);

impl std::fmt::Debug for SigMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigMask(..)")
    }
}

fn sigset_of(signals: &[i32]) -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the whole set behind the pointer, which
    // points at a live local of the right type.
    cvt(unsafe { libc::sigemptyset(set.as_mut_ptr()) })?;
    // SAFETY: sigemptyset succeeded just above, so the set is initialised.
    let mut set = unsafe { set.assume_init() };
    for &sig in signals {
        // SAFETY: `set` is an initialised sigset_t owned by this frame.
        cvt(unsafe { libc::sigaddset(&mut set, sig) })?;
    }
    Ok(set)
}

fn mask(how: libc::c_int, set: &libc::sigset_t) -> io::Result<SigMask> {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is an initialised sigset_t and `old` points at writable
    // storage of the right type, which the kernel fills on success.
    cvt(unsafe { libc::sigprocmask(how, set, old.as_mut_ptr()) })?;
    // SAFETY: sigprocmask succeeded, so it wrote the previous mask to `old`.
    Ok(SigMask(unsafe { old.assume_init() }))
}

/// Blocks `signals` for the calling thread; returns the previous mask.
pub fn block(signals: &[i32]) -> io::Result<SigMask> {
    mask(libc::SIG_BLOCK, &sigset_of(signals)?)
}

/// Unblocks `signals` for the calling thread.
pub fn unblock(signals: &[i32]) -> io::Result<()> {
    mask(libc::SIG_UNBLOCK, &sigset_of(signals)?).map(drop)
}

/// Sets the mask back to `saved`.
pub fn restore(saved: &SigMask) -> io::Result<()> {
    mask(libc::SIG_SETMASK, &saved.0).map(drop)
}

/// Resets the disposition of `sig` to its default action (`SIG_DFL`).
pub fn set_default(sig: i32) -> io::Result<()> {
    // SAFETY: installing SIG_DFL runs no handler code, so no Rust code can
    // be re-entered from signal context; `sig` is checked by the kernel.
    let prev = unsafe { libc::signal(sig, libc::SIG_DFL) };
    if prev == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Terminates the calling process with `sig`, the way a child that died of
/// `sig` did, so the caller's parent (a shell) sees the same `128+N`.
///
/// Resets the disposition to default and unblocks the signal first. Returns
/// only if the signal does not kill (a stop signal, or it was ignored and
/// could not be reset); the caller then exits on its own.
pub fn reraise(sig: i32) -> io::Error {
    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
        if let Err(e) = set_default(sig) {
            return e;
        }
    }
    if let Err(e) = unblock(&[sig]) {
        return e;
    }
    // SAFETY: raise only sends a signal to the calling thread.
    if unsafe { libc::raise(sig) } != 0 {
        return io::Error::last_os_error();
    }
    io::Error::other("signal did not terminate the process")
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: the calling process gets `sig` when its
/// parent (the thread that forked it) exits.
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    let sig =
        libc::c_ulong::try_from(sig).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: PR_SET_PDEATHSIG reads only its integer argument.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) })?;
    Ok(())
}

/// `kill(2)`: sends `sig` to process `pid`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill only sends a signal; it touches no memory of ours.
    cvt(unsafe { libc::kill(pid, sig) })?;
    Ok(())
}

const NAMES: [(&str, i32); 34] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The name of signal `sig` with its `SIG` prefix (`SIGKILL`), or `None`
/// for a real-time or unknown number.
///
/// ```
/// assert_eq!(husk_sys::signal::name(libc::SIGKILL).as_deref(), Some("SIGKILL"));
/// assert_eq!(husk_sys::signal::name(libc::SIGABRT).as_deref(), Some("SIGABRT"));
/// assert_eq!(husk_sys::signal::name(0), None);
/// ```
pub fn name(sig: i32) -> Option<String> {
    NAMES
        .iter()
        .find(|(_, s)| *s == sig)
        .map(|(n, _)| format!("SIG{n}"))
}

/// A signal by name only, exactly as util-linux 2.38's `signame_to_signum`
/// (which `unshare --kill-child` uses): `TERM`, `SIGTERM`, case-insensitive;
/// real-time as `RT<n>`, `RTMIN+<n>` or `RTMAX-<n>`. Numbers are not names:
/// `15` and `0` give `None`.
///
/// ```
/// use husk_sys::signal::from_signame;
/// assert_eq!(from_signame("sigterm"), Some(libc::SIGTERM));
/// assert_eq!(from_signame("RTMIN+1"), Some(libc::SIGRTMIN() + 1));
/// assert_eq!(from_signame("15"), None);
/// assert_eq!(from_signame("RTMIN"), None);
/// ```
pub fn from_signame(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rt) = bare.strip_prefix("RT") {
        // util-linux `rtsig_to_signum`: an optional `MIN+`/`MAX-`, then
        // digits (strtol: anything after them is ignored), in range.
        let (digits, from_max) = match (rt.strip_prefix("MIN+"), rt.strip_prefix("MAX-")) {
            (Some(d), _) => (d, false),
            (_, Some(d)) => (d, true),
            _ => (rt, false),
        };
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let n: i32 = digits[..end].parse().ok()?;
        let sig = if from_max {
            libc::SIGRTMAX() - n
        } else {
            libc::SIGRTMIN().checked_add(n)?
        };
        return (libc::SIGRTMIN()..=libc::SIGRTMAX())
            .contains(&sig)
            .then_some(sig);
    }
    NAMES.iter().find(|(n, _)| *n == bare).map(|(_, sig)| *sig)
}

/// A signal by name (`TERM`, `SIGTERM`, case-insensitive), by number
/// (`15`), or real-time (`RTMIN+2`), as `kill(1)` reads it. For the
/// names-only rule of `unshare --kill-child`, see [`from_signame`].
///
/// ```
/// assert_eq!(husk_sys::signal::from_name("sigterm"), Some(libc::SIGTERM));
/// assert_eq!(husk_sys::signal::from_name("9"), Some(libc::SIGKILL));
/// assert_eq!(husk_sys::signal::from_name("FOO"), None);
/// ```
pub fn from_name(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (0..=libc::SIGRTMAX()).contains(&n).then_some(n);
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, sig)) = NAMES.iter().find(|(n, _)| *n == bare) {
        return Some(*sig);
    }
    let rt = |rest: &str, base: i32, sign: i32| -> Option<i32> {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.parse().ok()?
        };
        let sig = base + sign * off;
        (libc::SIGRTMIN()..=libc::SIGRTMAX())
            .contains(&sig)
            .then_some(sig)
    };
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return rt(rest.strip_prefix('+').unwrap_or(rest), libc::SIGRTMIN(), 1);
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return rt(rest.strip_prefix('-').unwrap_or(rest), libc::SIGRTMAX(), -1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `/usr/bin/unshare --kill-child=NAME true` (util-linux 2.38.1)
    /// accepts and refuses ("unknown signal: NAME").
    #[test]
    fn signame_matches_util_linux() {
        let min = libc::SIGRTMIN();
        let max = libc::SIGRTMAX();
        let cases: &[(&str, Option<i32>)] = &[
            ("KILL", Some(libc::SIGKILL)),
            ("sigterm", Some(libc::SIGTERM)),
            ("PWR", Some(libc::SIGPWR)),
            ("SYS", Some(libc::SIGSYS)),
            ("POLL", Some(libc::SIGPOLL)),
            ("15", None),
            ("0", None),
            (" 15", None),
            ("EMT", None),
            ("UNUSED", None),
            ("RT0", Some(min)),
            ("RT1x", Some(min + 1)),
            ("rtmin+1", Some(min + 1)),
            ("SIGRTMIN+2", Some(min + 2)),
            ("RTMAX-1", Some(max - 1)),
            ("RTMAX-0", Some(max)),
            ("RT", None),
            ("RTMIN", None),
            ("RTMIN1", None),
            ("RTMAX1", None),
            ("RTMAX+0", None),
            ("RT+1", None),
            ("RTMIN+-1", None),
            ("RTMIN+40", None),
        ];
        for (name, want) in cases {
            assert_eq!(from_signame(name), *want, "{name}");
        }
    }
}
