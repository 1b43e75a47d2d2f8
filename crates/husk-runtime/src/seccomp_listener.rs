//! `linux.seccomp.listenerPath` (runtime-spec `config-linux.md`): a filter
//! with an `SCMP_ACT_NOTIFY` action has a notify fd; the runtime sends it to
//! the unix socket at `listenerPath` with `SCM_RIGHTS`, together with the
//! container process state as JSON (`ociVersion`, `fds: ["seccompFd"]`,
//! `pid`, `metadata`, `state`), one connection per fd, closed after.
//!
//! init loads the filter and passes the fd back over the stage channel
//! (`ToParent::SeccompFd`), because only the runtime, on the host, can
//! reach the socket; the runtime then calls [`send`].

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, Spec};
use serde_json::{json, Value};

/// A seccomp listener setting that cannot work, or a listener that
/// could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// An `SCMP_ACT_NOTIFY` rule and nobody to answer it.
    #[error("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath")]
    NoListener,
    /// `listenerMetadata` is only for a listener (the spec: MUST NOT be set
    /// without `listenerPath`).
    #[error("linux.seccomp.listenerMetadata needs linux.seccomp.listenerPath")]
    MetadataWithoutListener,
    /// Notifying every syscall would stop init's own last steps (and runc
    /// refuses it too).
    #[error("linux.seccomp.defaultAction cannot be SCMP_ACT_NOTIFY")]
    NotifyDefault,
    /// `listenerPath` is not absolute.
    #[error("linux.seccomp.listenerPath {0}: not an absolute path")]
    Relative(PathBuf),
    /// Connecting to the listener failed.
    #[error("cannot connect to the seccomp listener {0}")]
    Connect(PathBuf, #[source] std::io::Error),
    /// Sending the fd and the state failed.
    #[error("cannot send the seccomp fd to the listener {0}")]
    Send(PathBuf, #[source] std::io::Error),
}

/// Whether the filter has an `SCMP_ACT_NOTIFY` action (default or rule).
pub(crate) fn uses_notify(sc: &LinuxSeccomp) -> bool {
    sc.default_action() == LinuxSeccompAction::ScmpActNotify
        || sc
            .syscalls()
            .iter()
            .flatten()
            .any(|r| r.action() == LinuxSeccompAction::ScmpActNotify)
}

/// The listener to send the notify fd to, when the config has one and a
/// notify action; checks the rules of the spec. A `listenerPath` without a
/// notify action is ignored, as the spec says.
pub(crate) fn check(spec: &Spec) -> Result<Option<&Path>, ListenerError> {
    let Some(sc) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let path = sc.listener_path().as_deref();
    if path.is_none() && sc.listener_metadata().is_some() {
        return Err(ListenerError::MetadataWithoutListener);
    }
    if sc.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(ListenerError::NotifyDefault);
    }
    if !uses_notify(sc) {
        return Ok(None);
    }
    match path {
        None => Err(ListenerError::NoListener),
        Some(p) if !p.is_absolute() => Err(ListenerError::Relative(p.to_owned())),
        Some(p) => Ok(Some(p)),
    }
}

/// The container process state for the listener (config-linux.md).
pub(crate) fn process_state(spec: &Spec, pid: i32, state: &impl serde::Serialize) -> Value {
    let mut v = json!({
        "ociVersion": crate::spec::SPEC_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": state,
    });
    let metadata = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .and_then(|s| s.listener_metadata().clone());
    if let Some(m) = metadata {
        v["metadata"] = json!(m);
    }
    v
}

/// Connects to `listener`, sends `fd` with the JSON of `state` in one
/// `sendmsg`, and closes the connection.
pub(crate) fn send(listener: &Path, state: &Value, fd: &OwnedFd) -> Result<(), ListenerError> {
    let sock =
        UnixStream::connect(listener).map_err(|e| ListenerError::Connect(listener.into(), e))?;
    let body = state.to_string();
    husk_sys::scm::send_fd(sock.as_fd(), fd.as_fd(), body.as_bytes())
        .map_err(|e| ListenerError::Send(listener.into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seccomp: Value) -> Spec {
        let mut v = serde_json::to_value(Spec::default()).unwrap();
        v["linux"]["seccomp"] = seccomp;
        serde_json::from_value(v).unwrap()
    }

    fn notify_rule() -> Value {
        json!([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}])
    }

    #[test]
    fn the_spec_rules() {
        let ok = spec(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/l.sock", "listenerMetadata": "m", "syscalls": notify_rule()}));
        assert_eq!(check(&ok).unwrap(), Some(Path::new("/run/l.sock")));
        // A listener without a notify action is ignored.
        let unused =
            spec(json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"}));
        assert_eq!(check(&unused).unwrap(), None);
        let cases = [
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": notify_rule()}),
                "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"}),
                "linux.seccomp.listenerMetadata needs linux.seccomp.listenerPath",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/l"}),
                "linux.seccomp.defaultAction cannot be SCMP_ACT_NOTIFY",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "l.sock",
                       "syscalls": notify_rule()}),
                "linux.seccomp.listenerPath l.sock: not an absolute path",
            ),
        ];
        for (sc, want) in cases {
            assert_eq!(check(&spec(sc)).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn process_state_fields() {
        let s = spec(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/l",
            "listenerMetadata": "meta", "syscalls": notify_rule()}),
        );
        let v = process_state(&s, 42, &json!({"id": "c"}));
        assert_eq!(
            v,
            json!({"ociVersion": crate::spec::SPEC_VERSION, "fds": ["seccompFd"], "pid": 42,
                   "metadata": "meta", "state": {"id": "c"}})
        );
    }
}
