//! `linux.seccomp` as a libseccomp filter: built by `create` to check it,
//! loaded just before `execve`, or earlier, before the switch to the
//! container's user, without `noNewPrivileges` or with a notify listener
//! (see [`load_early`]).

use oci_spec::runtime::Spec;

use crate::msg::{Channel, StageError, Step};

/// Loads the filter before init gives up its privileges, where that is
/// needed; returns whether it did (else [`load`] does, just before exec).
///
/// Runs in init (or an exec'd process) before it switches to the
/// container's user and capabilities, in two cases, as runc:
/// - `noNewPrivileges` is off: without no_new_privs, loading a filter
///   needs `CAP_SYS_ADMIN`, which the user process usually lacks;
/// - a notify listener (`listenerPath` and an `SCMP_ACT_NOTIFY` action)
///   and a `chan` to the runtime: the notify fd is sent back over it
///   (with the `SeccompFd` frame) while the runtime, which alone can reach
///   the socket on the host, still listens.
#[cfg(feature = "seccomp")]
pub(super) fn load_early(
    spec: &Spec,
    nnp: bool,
    chan: Option<&Channel>,
) -> Result<bool, StageError> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(false);
    };
    let listener = sc.listener_path().is_some() && crate::seccomp_listener::uses_notify(sc);
    let chan = chan.filter(|_| listener);
    if nnp && chan.is_none() {
        return Ok(false);
    }
    let f = build(sc)?;
    f.load().map_err(|e| fail("load", &e.to_string()))?;
    if let Some(chan) = chan {
        let raw = f
            .get_notify_fd()
            .map_err(|e| fail("notify fd", &e.to_string()))?;
        // libseccomp keeps its fd (close-on-exec from the kernel); ours is
        // a dup, closed once sent.
        let fd = husk_sys::fds::dup_raw(raw)
            .map_err(|e| StageError::new(Step::Seccomp, "notify fd", e))?;
        let lost = |_| {
            StageError::new(
                Step::Channel,
                "runtime",
                std::io::Error::from_raw_os_error(libc::EPIPE),
            )
        };
        chan.send_with_fd(
            &crate::msg::ToParent::SeccompFd,
            std::os::fd::AsFd::as_fd(&fd),
        )
        .map_err(lost)?;
    }
    Ok(true)
}

/// Without the `seccomp` feature there is no filter to load early.
#[cfg(not(feature = "seccomp"))]
pub(super) fn load_early(
    _spec: &Spec,
    _nnp: bool,
    _chan: Option<&Channel>,
) -> Result<bool, StageError> {
    Ok(false)
}

/// Builds the config's filter without loading it: what `create` checks
/// before it forks, so a bad filter is its one-line error, not init's
/// after `start`.
#[cfg(feature = "seccomp")]
pub(crate) fn check(spec: &Spec) -> Result<(), StageError> {
    match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(sc) => build(sc).map(drop),
        None => Ok(()),
    }
}

/// Without the `seccomp` feature: see [`load`].
#[cfg(not(feature = "seccomp"))]
pub(crate) fn check(spec: &Spec) -> Result<(), StageError> {
    load(spec)
}

/// Loads the config's seccomp filter, if it has one.
#[cfg(feature = "seccomp")]
pub(super) fn load(spec: &Spec) -> Result<(), StageError> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(());
    };
    build(sc)?.load().map_err(|e| fail("load", &e.to_string()))
}

/// Without the `seccomp` feature a config asking for a filter is refused.
#[cfg(not(feature = "seccomp"))]
pub(super) fn load(spec: &Spec) -> Result<(), StageError> {
    if spec.linux().as_ref().is_some_and(|l| l.seccomp().is_some()) {
        return Err(fail(
            "linux.seccomp",
            "husk was built without the seccomp feature",
        ));
    }
    Ok(())
}

fn fail(what: &str, why: &str) -> StageError {
    StageError::new(
        Step::Seccomp,
        format!("{what}: {why}"),
        std::io::Error::from_raw_os_error(libc::EINVAL),
    )
}

#[cfg(feature = "seccomp")]
fn action(a: oci_spec::runtime::LinuxSeccompAction, errno: Option<u32>) -> libseccomp::ScmpAction {
    use libseccomp::ScmpAction as S;
    use oci_spec::runtime::LinuxSeccompAction as A;
    match a {
        A::ScmpActKill | A::ScmpActKillThread => S::KillThread,
        A::ScmpActKillProcess => S::KillProcess,
        A::ScmpActTrap => S::Trap,
        // runtime-spec: errnoRet defaults to EPERM.
        A::ScmpActErrno => S::Errno(
            errno
                .and_then(|e| i32::try_from(e).ok())
                .unwrap_or(libc::EPERM),
        ),
        A::ScmpActNotify => S::Notify,
        A::ScmpActTrace => S::Trace(errno.and_then(|e| u16::try_from(e).ok()).unwrap_or(1)), // EPERM, as for errno
        A::ScmpActLog => S::Log,
        A::ScmpActAllow => S::Allow,
    }
}

#[cfg(feature = "seccomp")]
fn compare(arg: &oci_spec::runtime::LinuxSeccompArg) -> libseccomp::ScmpArgCompare {
    use libseccomp::ScmpCompareOp as C;
    use oci_spec::runtime::LinuxSeccompOperator as O;
    let op = match arg.op() {
        O::ScmpCmpNe => C::NotEqual,
        O::ScmpCmpLt => C::Less,
        O::ScmpCmpLe => C::LessOrEqual,
        O::ScmpCmpEq => C::Equal,
        O::ScmpCmpGe => C::GreaterEqual,
        O::ScmpCmpGt => C::Greater,
        O::ScmpCmpMaskedEq => C::MaskedEqual(arg.value()),
    };
    let datum = match arg.op() {
        O::ScmpCmpMaskedEq => arg.value_two().unwrap_or(0),
        _ => arg.value(),
    };
    libseccomp::ScmpArgCompare::new(u32::try_from(arg.index()).unwrap_or(u32::MAX), op, datum)
}

/// `linux.seccomp.flags` as libseccomp's filter attributes. libseccomp
/// 2.5 has no attribute for `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: that
/// one is refused rather than dropped.
#[cfg(feature = "seccomp")]
fn set_flags(
    f: &mut libseccomp::ScmpFilterContext,
    sc: &oci_spec::runtime::LinuxSeccomp,
) -> Result<(), StageError> {
    use libseccomp::ScmpFilterAttr as A;
    use oci_spec::runtime::LinuxSeccompFilterFlag as F;
    for flag in sc.flags().iter().flatten() {
        let (attr, name) = match flag {
            F::SeccompFilterFlagLog => (A::CtlLog, "SECCOMP_FILTER_FLAG_LOG"),
            F::SeccompFilterFlagTsync => (A::CtlTsync, "SECCOMP_FILTER_FLAG_TSYNC"),
            F::SeccompFilterFlagSpecAllow => (A::CtlSsb, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
            F::SeccompFilterFlagWaitKillableRecv => {
                return Err(fail(
                    "flags",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported",
                ))
            }
        };
        f.set_filter_attr(attr, 1)
            .map_err(|e| fail(name, &e.to_string()))?;
    }
    Ok(())
}

/// The filter: default action, architectures, then one rule per syscall
/// (per condition when an argument is compared twice, which libseccomp
/// refuses in one rule). Unknown syscall names are skipped, as runc does;
/// so are rules whose action is the default (libseccomp refuses them).
#[cfg(feature = "seccomp")]
fn build(
    sc: &oci_spec::runtime::LinuxSeccomp,
) -> Result<libseccomp::ScmpFilterContext, StageError> {
    use libseccomp::{ScmpArch, ScmpFilterContext, ScmpSyscall};
    let default = action(sc.default_action(), sc.default_errno_ret());
    let mut f = ScmpFilterContext::new_filter(default).map_err(|e| fail("init", &e.to_string()))?;
    f.set_ctl_nnp(false)
        .map_err(|e| fail("nnp", &e.to_string()))?;
    set_flags(&mut f, sc)?;
    for arch in sc.architectures().iter().flatten() {
        let name = serde_json::to_value(arch)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let arch: ScmpArch = name.parse().map_err(|_| fail("architecture", &name))?;
        f.add_arch(arch).map_err(|e| fail(&name, &e.to_string()))?;
    }
    for rule in sc.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret());
        if act == default {
            continue;
        }
        let conds: Vec<_> = rule.args().iter().flatten().map(compare).collect();
        let mut indexes: Vec<usize> = rule.args().iter().flatten().map(|a| a.index()).collect();
        indexes.sort_unstable();
        let repeated = indexes.windows(2).any(|w| w[0] == w[1]);
        for name in rule.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let added = if repeated {
                conds
                    .iter()
                    .try_for_each(|c| f.add_rule_conditional(act, nr, &[*c]))
            } else {
                f.add_rule_conditional(act, nr, &conds)
            };
            added.map_err(|e| fail(name, &e.to_string()))?;
        }
    }
    Ok(f)
}
