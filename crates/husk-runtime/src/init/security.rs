//! Limits, user and capabilities of the container process.

use caps::{CapSet, Capability as Cap, CapsHashSet};
use oci_spec::runtime::{Capabilities, PosixRlimitType, Process, Spec};
use rustix::process::{Resource, Rlimit};

use crate::msg::{StageError, Step};

fn resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => Resource::Cpu,
        T::RlimitFsize => Resource::Fsize,
        T::RlimitData => Resource::Data,
        T::RlimitStack => Resource::Stack,
        T::RlimitCore => Resource::Core,
        T::RlimitRss => Resource::Rss,
        T::RlimitNproc => Resource::Nproc,
        T::RlimitNofile => Resource::Nofile,
        T::RlimitMemlock => Resource::Memlock,
        T::RlimitAs => Resource::As,
        T::RlimitLocks => Resource::Locks,
        T::RlimitSigpending => Resource::Sigpending,
        T::RlimitMsgqueue => Resource::Msgqueue,
        T::RlimitNice => Resource::Nice,
        T::RlimitRtprio => Resource::Rtprio,
        T::RlimitRttime => Resource::Rttime,
    }
}

/// `process.rlimits`, set while still privileged in the host user
/// namespace (raising a hard limit needs `CAP_SYS_RESOURCE` there).
pub(super) fn set_rlimits(spec: &Spec) -> Result<(), StageError> {
    let limits = spec.process().as_ref().and_then(|p| p.rlimits().clone());
    for l in limits.iter().flatten() {
        let lim = Rlimit {
            current: Some(l.soft()).filter(|v| *v != u64::MAX),
            maximum: Some(l.hard()).filter(|v| *v != u64::MAX),
        };
        rustix::process::setrlimit(resource(l.typ()), lim)
            .map_err(|e| StageError::new(Step::Rlimit, l.typ(), e))?;
    }
    Ok(())
}

/// `process.oomScoreAdj`, written to `/proc/self/oom_score_adj` (lowering
/// it needs `CAP_SYS_RESOURCE` on the host).
pub(super) fn set_oom_score_adj(spec: &Spec) -> Result<(), StageError> {
    let Some(adj) = spec.process().as_ref().and_then(|p| p.oom_score_adj()) else {
        return Ok(());
    };
    let path = "/proc/self/oom_score_adj";
    std::fs::write(path, adj.to_string()).map_err(|e| StageError::new(Step::OomScoreAdj, path, e))
}

fn to_caps(set: &Option<Capabilities>) -> Result<CapsHashSet, StageError> {
    let mut out = CapsHashSet::new();
    for c in set.iter().flatten() {
        let name = format!("CAP_{c}");
        let cap: Cap = name.parse().map_err(|_| {
            StageError::new(
                Step::Capabilities,
                &name,
                std::io::Error::from_raw_os_error(libc::EINVAL),
            )
        })?;
        out.insert(cap);
    }
    Ok(out)
}

/// Becomes `process.user` with `process.capabilities`.
///
/// Order matters: the bounding set is cut while `CAP_SETPCAP` is still
/// held; `PR_SET_KEEPCAPS` keeps the permitted set across the uid change;
/// then effective, permitted, inheritable and ambient are set (ambient
/// last: it must be a subset of permitted and inheritable).
pub(super) fn switch_user(process: &Process) -> Result<(), StageError> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e: caps::errors::CapsError| {
            StageError::new(
                Step::Capabilities,
                format!("{what}: {e}"),
                std::io::Error::from_raw_os_error(libc::EPERM),
            )
        }
    };
    let c = process.capabilities().clone().unwrap_or_default();
    let bounding = to_caps(c.bounding())?;
    for cap in caps::all() {
        if !bounding.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap).map_err(fail("bounding"))?;
        }
    }
    rustix::thread::set_keep_capabilities(true)
        .map_err(|e| StageError::new(Step::User, "keepcaps", e))?;
    set_ids(process)?;
    rustix::thread::set_keep_capabilities(false)
        .map_err(|e| StageError::new(Step::User, "keepcaps", e))?;
    caps::set(None, CapSet::Effective, &to_caps(c.effective())?).map_err(fail("effective"))?;
    caps::set(None, CapSet::Permitted, &to_caps(c.permitted())?).map_err(fail("permitted"))?;
    caps::set(None, CapSet::Inheritable, &to_caps(c.inheritable())?)
        .map_err(fail("inheritable"))?;
    caps::clear(None, CapSet::Ambient).map_err(fail("ambient"))?;
    for cap in to_caps(c.ambient())? {
        // An ambient capability not in permitted and inheritable is refused
        // by the kernel; runc skips those too.
        let _ = caps::raise(None, CapSet::Ambient, cap);
    }
    Ok(())
}

/// `setgroups`, `setresgid`, `setresuid` from `process.user`.
fn set_ids(process: &Process) -> Result<(), StageError> {
    let user = process.user();
    let groups: Vec<rustix::process::Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| rustix::process::Gid::from_raw(*g))
        .collect();
    let setgroups_denied =
        std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !setgroups_denied {
        rustix::thread::set_thread_groups(&groups)
            .map_err(|e| StageError::new(Step::User, "setgroups", e))?;
    }
    husk_sys::creds::set_gid(user.gid())
        .map_err(|e| StageError::new(Step::User, format!("gid {}", user.gid()), e))?;
    husk_sys::creds::set_uid(user.uid())
        .map_err(|e| StageError::new(Step::User, format!("uid {}", user.uid()), e))?;
    Ok(())
}
