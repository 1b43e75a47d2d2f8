//! runtime-spec hooks (`config.md`, "POSIX-platform Hooks"): programs run
//! at points of the lifecycle with the container's state JSON on stdin.
//!
//! Where each kind runs (runc's order):
//! 1. `prestart` (legacy) and `createRuntime`: the runtime, host namespaces,
//!    when init has made its mounts and before `pivot_root`;
//! 2. `createContainer`: init, in the container's namespaces, right after
//!    (still before `pivot_root`, so the path is the host's);
//! 3. `startContainer`: init, after `start` released it, before the exec of
//!    the user process (the path is the container's);
//! 4. `poststart`: the runtime, after `start`;
//! 5. `poststop`: the runtime, in `delete`.
//!
//! A hook that fails before `start` aborts `create`; a failing `poststart`
//! or `poststop` is only a warning (runtime-spec).

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks, Spec};

/// The lifecycle points of runtime-spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `prestart` (deprecated, runs with `createRuntime`).
    Prestart,
    /// `createRuntime`.
    CreateRuntime,
    /// `createContainer`.
    CreateContainer,
    /// `startContainer`.
    StartContainer,
    /// `poststart`.
    Poststart,
    /// `poststop`.
    Poststop,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        })
    }
}

/// A hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// It could not be started.
    #[error("{kind} hook {path}: cannot run")]
    Spawn {
        /// Which kind.
        kind: Kind,
        /// Its path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It exited unsuccessfully.
    #[error("{kind} hook {path}: {status}")]
    Failed {
        /// Which kind.
        kind: Kind,
        /// Its path.
        path: PathBuf,
        /// How it ended.
        status: ExitStatus,
    },
    /// It ran longer than its `timeout` and was killed.
    #[error("{kind} hook {path}: timed out after {secs}s")]
    Timeout {
        /// Which kind.
        kind: Kind,
        /// Its path.
        path: PathBuf,
        /// The timeout.
        secs: i64,
    },
}

/// The hooks of `kind` (none when absent).
pub fn of(hooks: Option<&Hooks>, kind: Kind) -> Vec<Hook> {
    let Some(h) = hooks else {
        return Vec::new();
    };
    #[allow(deprecated)]
    let list = match kind {
        Kind::Prestart => h.prestart(),
        Kind::CreateRuntime => h.create_runtime(),
        Kind::CreateContainer => h.create_container(),
        Kind::StartContainer => h.start_container(),
        Kind::Poststart => h.poststart(),
        Kind::Poststop => h.poststop(),
    };
    list.clone().unwrap_or_default()
}

/// Whether init must stop before `pivot_root` for the hooks (it then also
/// learns the state for `createContainer` and `startContainer`).
pub fn needed_before_pivot(spec: &Spec) -> bool {
    [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
    ]
    .iter()
    .any(|k| !of(spec.hooks().as_ref(), *k).is_empty())
}

/// Runs the hooks of `kind` in order with `state` on stdin; stops at the
/// first failure.
pub fn run(hooks: Option<&Hooks>, kind: Kind, state: &[u8]) -> Result<(), HookError> {
    for hook in of(hooks, kind) {
        run_one(&hook, kind, state)?;
    }
    Ok(())
}

/// Runs the hooks of `kind`, turning a failure into a warning on stderr
/// (`poststart`, `poststop`: runtime-spec says they must not fail the
/// operation).
pub fn run_warn(hooks: Option<&Hooks>, kind: Kind, state: &[u8]) {
    for hook in of(hooks, kind) {
        if let Err(e) = run_one(&hook, kind, state) {
            eprintln!("husk: warning: {}", chain(&e));
        }
    }
}

/// An error and its causes on one line: `a: b: c` (io errors without
/// Rust's ` (os error N)`).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    fn text(e: &(dyn std::error::Error + 'static)) -> String {
        let t = e.to_string();
        match e
            .downcast_ref::<std::io::Error>()
            .and_then(|_| t.rfind(" (os error "))
        {
            Some(at) => t[..at].to_owned(),
            None => t,
        }
    }
    let mut s = text(e);
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&text(c));
        cur = c.source();
    }
    s
}

/// The state as a memory file at offset 0: stdin without a
/// pipe, so a hook that does not read it neither blocks the runtime nor
/// raises SIGPIPE in it (husk restores SIGPIPE's default action).
fn state_file(state: &[u8]) -> std::io::Result<std::fs::File> {
    let fd = rustix::fs::memfd_create("husk-hook-state", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(state)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// One hook: `path` with `args` (`args[0]` is its argv[0]) and exactly
/// `env`, the state on stdin, killed after `timeout` seconds.
fn run_one(hook: &Hook, kind: Kind, state: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(&path);
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        cmd.env(k, v);
    }
    let spawn_err = |source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    };
    cmd.stdin(state_file(state).map_err(spawn_err)?);
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| (t, Instant::now() + Duration::from_secs(t.unsigned_abs())));
    let status = loop {
        if let Some(st) = child.try_wait().map_err(spawn_err)? {
            break st;
        }
        if let Some((secs, at)) = deadline {
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout { kind, path, secs });
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if status.success() {
        Ok(())
    } else {
        Err(HookError::Failed { kind, path, status })
    }
}
