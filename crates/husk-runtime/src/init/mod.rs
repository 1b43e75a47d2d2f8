//! The container's processes, from the runtime's fork to `execve`.
//!
//! Two stages (plus the runtime's side, in [`crate::container`]):
//! 1. [`joiner_stage`]: the runtime's child. Joins namespaces by path,
//!    makes the user namespace (the runtime writes its maps), sets
//!    rlimits and `oom_score_adj` while still privileged on the host,
//!    unshares the other namespaces and, when a pid namespace needs it,
//!    forks init and exits.
//! 2. [`init_stage`]: the container's init (pid 1 of a new pid namespace).
//!    Sets up the root filesystem ([`rootfs`]) with the `createRuntime`
//!    and `createContainer` hooks before `pivot_root`, the host name, sysctls,
//!    the user and capabilities ([`security`]), reports `Ready`, waits on
//!    the exec FIFO for `start`, and execs the user process.
//!
//! `exec` has its own two stages in [`join`], made of the same steps.

mod console;
mod copyup;
mod exec;
mod join;
mod rootfs;
mod seccomp;
mod security;

pub(crate) use seccomp::{compile as compile_seccomp, Filter as SeccompFilter};

use std::convert::Infallible;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use husk_sys::process::Forked;
use oci_spec::runtime::Spec;

pub(crate) use join::{run_exec, ExecContext};

use crate::hooks::{self, Kind};
use crate::msg::{Channel, StageError, Step, ToChild, ToParent};
use crate::plan::Plan;

/// What the container's processes need, prepared by the runtime before it forks.
#[derive(Debug)]
pub(crate) struct Context {
    /// The config.
    pub spec: Spec,
    /// Its plan.
    pub plan: Plan,
    /// The root filesystem (absolute, on the host).
    pub rootfs: PathBuf,
    /// `--no-pivot`: move the rootfs onto `/` and chroot instead.
    pub no_pivot: bool,
    /// `--preserve-fds`: fds 3..3+N stay open in the container.
    pub preserve_fds: u32,
    /// An `O_PATH` fd of the exec FIFO.
    pub fifo: OwnedFd,
    /// cgroup hierarchies to show at a `cgroup` mount: (directory name, host dir).
    pub cgroup_dirs: Vec<(String, PathBuf)>,
    /// `--console-socket`, connected (with `process.terminal`).
    pub console: Option<OwnedFd>,
    /// `linux.seccomp`, compiled.
    pub seccomp: SeccompFilter,
}

/// Runs the container's side of `create` in the runtime's fresh child;
/// returns the exit status of the child (it never returns on success: it
/// becomes the container process, or exits after forking init).
pub(crate) fn run(ctx: &Context, chan: &Channel) -> i32 {
    match joiner_stage(ctx, chan) {
        Ok(code) => code,
        Err(e) => {
            report(chan, e);
            1
        }
    }
}

/// Sends a stage's error to the runtime; once the runtime is gone (after
/// `Ready`: `start`'s FIFO, the seccomp filter, `execve`) it goes to the
/// process's stderr instead, where conmon or containerd log it.
pub(crate) fn report(chan: &Channel, e: StageError) {
    if chan.send(&ToParent::Failed(e.clone())).is_err() {
        let line = format!("husk: container process: {e}\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }
}

fn fail(step: Step) -> impl Fn(rustix::io::Errno) -> StageError {
    move |e| StageError::new(step, "", e)
}

/// The joiner: the runtime's child.
///
/// Runs in: a fork of the runtime, host namespaces and full privileges at
/// first; non-dumpable from its first step (CVE-2019-5736: a container
/// process must not reach the runtime through `/proc/PID/exe` or ptrace).
/// Waits for `Go` (it is then in its cgroup), later for `MapsWritten`.
/// Returns the status to exit with when it forked init.
fn joiner_stage(ctx: &Context, chan: &Channel) -> Result<i32, StageError> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(fail(Step::Dumpable))?;
    expect(chan, ToChild::Go)?;
    security::set_rlimits(&ctx.spec)?;
    security::set_oom_score_adj(&ctx.spec)?;
    join_namespaces(&ctx.plan)?;
    if ctx.plan.new_user {
        make_user_namespace(ctx, chan)?;
    }
    husk_sys::unshare::unshare_namespaces(ctx.plan.new_flags)
        .map_err(|e| StageError::new(Step::Unshare, format!("{:#x}", ctx.plan.new_flags), e))?;
    if !ctx.plan.time_offsets.is_empty() {
        let file = std::path::Path::new(husk_ns::time::SELF_OFFSETS);
        husk_ns::time::write_offsets(file, &ctx.plan.time_offsets)
            .map_err(|e| StageError::new(Step::TimeOffsets, file.display(), e.source))?;
    }
    if !ctx.plan.second_fork {
        let pid = rustix::process::getpid().as_raw_nonzero().get();
        chan.send(&ToParent::InitPid(pid)).map_err(channel_err)?;
        match init_stage(ctx, chan)? {}
    }
    let forked = husk_sys::process::fork().map_err(|e| StageError::new(Step::Fork, "init", e))?;
    split(forked, chan, || init_stage(ctx, chan))
}

/// After a fork: the child runs `child`, sends its error as `Failed` and
/// exits 1 when it fails (it never returns); the parent sends the child's
/// pid as `InitPid` and returns the status to exit with (0).
fn split(
    forked: Forked,
    chan: &Channel,
    child: impl FnOnce() -> Result<Infallible, StageError>,
) -> Result<i32, StageError> {
    match forked {
        Forked::Child => match child() {
            Ok(never) => match never {},
            Err(e) => {
                report(chan, e);
                husk_sys::exec::exit_now(1)
            }
        },
        Forked::Parent(pid) => {
            chan.send(&ToParent::InitPid(pid.as_raw_nonzero().get()))
                .map_err(channel_err)?;
            Ok(0)
        }
    }
}

/// The container's init.
///
/// Runs in: every namespace of the container (pid 1 of a new pid
/// namespace, when there is one); root of its user namespace, full
/// capabilities until [`security::switch_user`]. Sends `Ready`, then
/// blocks opening the exec FIFO until `start` opens it for reading.
fn init_stage(ctx: &Context, chan: &Channel) -> Result<Infallible, StageError> {
    rustix::process::setsid().map_err(fail(Step::Setsid))?;
    mark_fds_cloexec(ctx.preserve_fds)?;
    if ctx.plan.new_mount {
        rootfs::prepare(ctx)?;
    }
    let state = create_hooks(ctx, chan)?;
    if ctx.plan.new_mount {
        rootfs::enter(ctx)?;
    }
    set_names(&ctx.spec)?;
    if ctx.plan.new_mount {
        rootfs::finish(ctx)?;
    }
    let process = ctx
        .spec
        .process()
        .as_ref()
        .expect("bundle::check requires process");
    let ready = become_process(process, ctx.console.as_ref(), &ctx.seccomp, chan)?;
    chan.send(&ToParent::Ready).map_err(channel_err)?;
    exec::wait_for_start(&ctx.fifo, || start_hooks(ctx, state.as_deref()))?;
    ready.exec(&ctx.seccomp)
}

/// A container process (init, or an `exec`'d one) once it is the
/// configured user in its working directory: what is left before `execve`.
struct Ready {
    program: exec::Program,
    nnp: bool,
    seccomp_loaded: bool,
}

/// The steps init and an `exec`'d process share, in their namespaces and
/// root: the console's pty as stdio, `args[0]` found, seccomp now when it
/// must be (without `noNewPrivileges` it needs the privileges the user
/// switch drops; a notify listener's fd goes to the runtime on `chan`),
/// the user and capabilities, `chdir(cwd)` checked, the umask.
fn become_process(
    process: &oci_spec::runtime::Process,
    console: Option<&OwnedFd>,
    seccomp: &SeccompFilter,
    chan: &Channel,
) -> Result<Ready, StageError> {
    if let Some(socket) = console {
        console::setup(socket, process.console_size().as_ref())?;
    }
    let program = exec::Program::find(process)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    let seccomp_loaded = seccomp.load_early(nnp, Some(chan))?;
    security::switch_user(process)?;
    exec::change_dir(process)?;
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(
        process.user().umask().unwrap_or(0o022),
    ));
    Ok(Ready {
        program,
        nnp,
        seccomp_loaded,
    })
}

impl Ready {
    /// The last steps: `noNewPrivileges`, every signal back to its
    /// default, the seccomp filter unless loaded already, `execve`.
    fn exec(self, seccomp: &SeccompFilter) -> Result<Infallible, StageError> {
        if self.nnp {
            rustix::thread::set_no_new_privs(true).map_err(fail(Step::NoNewPrivileges))?;
        }
        unblock_all_signals()?;
        if !self.seccomp_loaded {
            seccomp.load()?;
        }
        Err(self.program.exec())
    }
}

/// Before `pivot_root`: asks the runtime to run the `prestart` and
/// `createRuntime` hooks, then runs `createContainer` here, in the
/// container's namespaces. Returns the state JSON for `startContainer`;
/// `None` (and no round trip) when the config has none of these hooks.
fn create_hooks(ctx: &Context, chan: &Channel) -> Result<Option<String>, StageError> {
    if !hooks::needed_before_pivot(&ctx.spec) {
        return Ok(None);
    }
    chan.send(&ToParent::RunHooks).map_err(channel_err)?;
    let state = match chan.recv::<ToChild>() {
        Ok(ToChild::HooksDone(state)) => state,
        _ => return Err(protocol_err("HooksDone")),
    };
    hooks::run(
        ctx.spec.hooks().as_ref(),
        Kind::CreateContainer,
        state.as_bytes(),
    )
    .map_err(hook_err)?;
    Ok(Some(state))
}

/// Once `start` opened the FIFO, before init answers it (and so before
/// `poststart` and the exec): `startContainer`, in the container (its path
/// is the container's), with the status `created`.
fn start_hooks(ctx: &Context, state: Option<&str>) -> Result<(), StageError> {
    let Some(state) = state else {
        return Ok(());
    };
    let mut json: serde_json::Value =
        serde_json::from_str(state).map_err(|_| protocol_err("state"))?;
    json["status"] = "created".into();
    hooks::run(
        ctx.spec.hooks().as_ref(),
        Kind::StartContainer,
        json.to_string().as_bytes(),
    )
    .map_err(hook_err)
}

fn hook_err(e: hooks::HookError) -> StageError {
    let errno = match &e {
        hooks::HookError::Spawn { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        hooks::HookError::Failed { .. } | hooks::HookError::Timeout { .. } => 0,
    };
    StageError {
        step: Step::Hook,
        target: e.to_string(),
        errno,
    }
}

fn protocol_err(want: &str) -> StageError {
    StageError::new(
        Step::Channel,
        want,
        std::io::Error::from_raw_os_error(libc::EPROTO),
    )
}

/// The container starts with every signal at its default action and none
/// blocked, whatever the runtime had (Rust ignores SIGPIPE; an attached
/// `run` blocks the signals it forwards).
fn unblock_all_signals() -> Result<(), StageError> {
    husk_sys::sigwait::reset_all_to_default()
        .map_err(|e| StageError::new(Step::Exec, "signal dispositions", e))?;
    let all: Vec<i32> = (1..32).chain(libc::SIGRTMIN()..=libc::SIGRTMAX()).collect();
    husk_sys::signal::unblock(&all).map_err(|e| StageError::new(Step::Exec, "signal mask", e))
}

fn expect(chan: &Channel, want: ToChild) -> Result<(), StageError> {
    match chan.recv::<ToChild>() {
        Ok(got) if got == want => Ok(()),
        _ => Err(StageError::new(
            Step::Channel,
            format!("{want:?}"),
            std::io::Error::from_raw_os_error(libc::EPROTO),
        )),
    }
}

fn channel_err(_: crate::msg::ChannelError) -> StageError {
    StageError::new(
        Step::Channel,
        "runtime",
        std::io::Error::from_raw_os_error(libc::EPIPE),
    )
}

/// `setns(2)` into each namespace named by path, user first: its
/// capabilities are what allow joining the others.
fn join_namespaces(plan: &Plan) -> Result<(), StageError> {
    let mut files = Vec::new();
    for join in &plan.joins {
        let f = std::fs::File::open(&join.path)
            .map_err(|e| StageError::new(Step::OpenNamespace, join.path.display(), e))?;
        files.push((f, join));
    }
    for (f, join) in files {
        husk_sys::nsfs::setns(&f, join.flag)
            .map_err(|e| StageError::new(Step::JoinNamespace, join.path.display(), e))?;
    }
    Ok(())
}

/// `unshare(CLONE_NEWUSER)`, then asks the runtime (outside, privileged)
/// to write the maps, and becomes root inside when root is mapped.
fn make_user_namespace(ctx: &Context, chan: &Channel) -> Result<(), StageError> {
    husk_sys::unshare::unshare_namespaces(libc::CLONE_NEWUSER)
        .map_err(|e| StageError::new(Step::Unshare, "user", e))?;
    chan.send(&ToParent::NeedMaps).map_err(channel_err)?;
    expect(chan, ToChild::MapsWritten)?;
    let root_mapped = |m: &husk_ns::idmap::IdMap| m.ranges().iter().any(|r| r.inner == 0);
    if root_mapped(&ctx.plan.uid_map) && root_mapped(&ctx.plan.gid_map) {
        husk_sys::creds::set_gid(0).map_err(|e| StageError::new(Step::BecomeRoot, "gid 0", e))?;
        husk_sys::creds::set_uid(0).map_err(|e| StageError::new(Step::BecomeRoot, "uid 0", e))?;
    }
    Ok(())
}

fn set_names(spec: &Spec) -> Result<(), StageError> {
    if let Some(h) = spec.hostname().as_ref().filter(|h| !h.is_empty()) {
        rustix::system::sethostname(h.as_bytes())
            .map_err(|e| StageError::new(Step::Hostname, h, e))?;
    }
    if let Some(d) = spec.domainname().as_ref().filter(|d| !d.is_empty()) {
        rustix::system::setdomainname(d.as_bytes())
            .map_err(|e| StageError::new(Step::Hostname, d, e))?;
    }
    Ok(())
}

/// Every fd from 3 + `preserve` up is closed at exec: nothing of the
/// runtime (a host directory above all) leaks into the container
/// (CVE-2024-21626).
fn mark_fds_cloexec(preserve: u32) -> Result<(), StageError> {
    husk_sys::fds::cloexec_from(3 + preserve)
        .map_err(|e| StageError::new(Step::Exec, "close_range", e))?;
    Ok(())
}
