//! `linux.seccomp` as a libseccomp filter, loaded just before `execve`.

use oci_spec::runtime::Spec;

use crate::msg::{StageError, Step};

/// Loads the config's seccomp filter, if it has one.
pub(super) fn load(spec: &Spec) -> Result<(), StageError> {
    prepare(spec)?.load()
}

/// The config's filter, compiled but not loaded yet: init compiles it
/// before it reports `Ready`, so a filter libseccomp refuses fails
/// `create` (nothing left behind) rather than `start`.
pub(super) struct Filter {
    #[cfg(feature = "seccomp")]
    ctx: Option<libseccomp::ScmpFilterContext>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filter")
    }
}

/// Compiles the config's seccomp filter, if it has one.
#[cfg(feature = "seccomp")]
pub(super) fn prepare(spec: &Spec) -> Result<Filter, StageError> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().clone()) else {
        return Ok(Filter { ctx: None });
    };
    Ok(Filter {
        ctx: Some(build(&sc)?),
    })
}

/// Without the `seccomp` feature a config asking for a filter is refused.
#[cfg(not(feature = "seccomp"))]
pub(super) fn prepare(spec: &Spec) -> Result<Filter, StageError> {
    if spec.linux().as_ref().is_some_and(|l| l.seccomp().is_some()) {
        return Err(fail(
            "linux.seccomp",
            "husk was built without the seccomp feature",
        ));
    }
    Ok(Filter {})
}

impl Filter {
    /// Loads it into the calling thread (just before `execve`).
    pub(super) fn load(self) -> Result<(), StageError> {
        #[cfg(feature = "seccomp")]
        if let Some(ctx) = self.ctx {
            ctx.load().map_err(|e| fail("load", &e.to_string()))?;
        }
        Ok(())
    }
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
