//! `exec`: a new process in a running container.
//!
//! Two stages, reusing init's steps (rlimits, user and capabilities,
//! working directory, seccomp, program lookup) so that an exec'd process
//! is confined exactly as the container's init is:
//! 1. [`exec_joiner_stage`]: the runtime's child. Joins the container's
//!    namespaces with `husk_ns::enter` (one `setns(pidfd)`, user namespace
//!    in the right order) and its root, then forks so the process is *in*
//!    the pid namespace, sends its pid and exits.
//! 2. [`exec_process_stage`]: the process itself, inside every namespace.

use std::convert::Infallible;

use husk_ns::enter::{Request, Source};
use oci_spec::runtime::Spec;

use super::{expect, fail, mark_fds_cloexec, security};
use crate::msg::{Channel, StageError, Step, ToChild};

/// What an exec'd process needs: the container's config with `process`
/// replaced by the one to run, and the container's init pid.
#[derive(Debug)]
pub(crate) struct ExecContext {
    /// The container's config, its `process` the one to exec.
    pub spec: Spec,
    /// Host pid of the container's init (whose namespaces are joined).
    pub init_pid: u32,
    /// `--console-socket`, connected (with `process.terminal`).
    pub console: Option<std::os::fd::OwnedFd>,
    /// The container's `linux.seccomp`, compiled.
    pub seccomp: super::SeccompFilter,
}

/// Runs the container's side of `exec` in the runtime's fresh child;
/// returns the status to exit with (the exec'd process never returns).
pub(crate) fn run_exec(ctx: &ExecContext, chan: &Channel) -> i32 {
    match exec_joiner_stage(ctx, chan) {
        Ok(code) => code,
        Err(e) => {
            super::report(chan, e);
            1
        }
    }
}

/// The exec joiner.
///
/// Runs in: a fork of the runtime, host namespaces, privileged; non-dumpable
/// from its first step (CVE-2019-5736). Waits for `Go` (the runtime has
/// then put it in the container's cgroup); sends the process's host pid.
fn exec_joiner_stage(ctx: &ExecContext, chan: &Channel) -> Result<i32, StageError> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(fail(Step::Dumpable))?;
    expect(chan, ToChild::Go)?;
    security::set_rlimits(&ctx.spec)?;
    security::set_oom_score_adj(&ctx.spec)?;
    let target = format!("/proc/{}", ctx.init_pid);
    // Checked now: the container's /proc does not show this process.
    let single = husk_sys::process::SingleThreaded::check().map_err(fail_io(Step::Fork))?;
    let mut request = Request::new().target(ctx.init_pid).root(Source::Target);
    for kind in not_ours(ctx.init_pid) {
        request = request.join(kind, Source::Target);
    }
    request
        .resolve()
        .and_then(|plan| plan.enter())
        .map_err(|e| StageError::new(Step::JoinNamespace, &target, errno_of(&e)))?;
    let forked = husk_sys::process::fork_single_threaded(single)
        .map_err(|e| StageError::new(Step::Fork, "exec", e))?;
    super::split(forked, chan, || exec_process_stage(ctx, chan))
}

/// The exec'd process.
///
/// Runs in: every namespace of the container and its root; privileged
/// until [`security::switch_user`]; non-dumpable until its `execve`. A
/// session leader (as runc's, so a terminal can become its controlling
/// one); with `process.terminal`, a pty from the container's `/dev/ptmx`
/// is its stdio and the master goes to `--console-socket`, as for init.
/// Every fd but 0-2 is close-on-exec (CVE-2024-21626) and the working
/// directory is checked to be inside the root. Sends nothing on success:
/// the channel closes at `execve`.
fn exec_process_stage(ctx: &ExecContext, chan: &Channel) -> Result<Infallible, StageError> {
    rustix::process::setsid().map_err(fail(Step::Setsid))?;
    mark_fds_cloexec(0)?;
    let process = ctx.spec.process().as_ref().expect("exec builds a process");
    super::become_process(process, ctx.console.as_ref(), &ctx.seccomp, chan)?.exec(&ctx.seccomp)
}

/// The namespaces of init that are not the runtime's own. Joining one's
/// own namespace again changes nothing, and rootless it is refused: the
/// host's network namespace (a rootless container shares it) belongs to
/// the host's user namespace, not to the container's, which the process
/// has joined by then. (`nsenter -a` skips only the user namespace.)
fn not_ours(pid: u32) -> Vec<husk_ns::NsKind> {
    let ino = |p: String| rustix::fs::stat(p).map(|s| (s.st_dev, s.st_ino));
    husk_ns::NsKind::ALL
        .into_iter()
        .filter(|k| {
            let name = k.proc_name();
            match (
                ino(format!("/proc/self/ns/{name}")),
                ino(format!("/proc/{pid}/ns/{name}")),
            ) {
                // The kernel lacks the kind.
                (Err(_), _) => false,
                (Ok(own), Ok(theirs)) => own != theirs,
                // init is gone: joining reports it.
                (Ok(_), Err(_)) => true,
            }
        })
        .collect()
}

fn fail_io(step: Step) -> impl Fn(std::io::Error) -> StageError {
    move |e| StageError::new(step, "", e)
}

/// The errno at the bottom of an error chain (EIO when there is none).
fn errno_of(e: &(dyn std::error::Error + 'static)) -> std::io::Error {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(n) = io.raw_os_error() {
                return std::io::Error::from_raw_os_error(n);
            }
        }
        cur = err.source();
    }
    std::io::Error::from_raw_os_error(libc::EIO)
}
