//! The container lifecycle of runtime-spec `runtime.md`:
//! `create` → created → `start` → running → (exit) → stopped → `delete`.
//!
//! Each operation locks the container's directory in the [`Store`]. A
//! failed `create` leaves nothing: the state directory, the cgroup and the
//! processes are each held by a guard that undoes them on Drop.

mod exec;
mod ops;
mod spawn;
mod tty;

pub use exec::{exec, ExecOptions};
pub use ops::{events_stats, pause, pids, resume, update, Event, EventSource};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use husk_cgroup::{Cgroup, CgroupGuard, CgroupPath, Hierarchies, Mode};
use oci_spec::runtime::{Linux, LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, Spec};

use crate::bundle::{Bundle, BundleError};
use crate::hooks::{self, HookError, Kind};
use crate::init::Context;
use crate::msg::{ChannelError, StageError};
use crate::plan::{self, PlanError};
use crate::store::{self, DirGuard, Locked, Saved, State, Status, Store, StoreError};

/// A lifecycle operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The bundle is unusable.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The config asks for something impossible.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The state store failed (or the id is bad, taken, unknown).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// cgroup hierarchies could not be found.
    #[error("cannot detect cgroups")]
    CgroupDetect(#[from] husk_cgroup::DetectError),
    /// `linux.cgroupsPath` is not usable.
    #[error("linux.cgroupsPath")]
    CgroupPath(#[from] husk_cgroup::PathError),
    /// Creating, joining or removing the cgroup failed.
    #[error(transparent)]
    Cgroup(#[from] husk_cgroup::CgroupError),
    /// Applying `linux.resources` failed.
    #[error("linux.resources")]
    Resources(#[from] husk_cgroup::ResourceError),
    /// Making the exec FIFO failed.
    #[error("cannot make {0}")]
    Fifo(PathBuf, #[source] std::io::Error),
    /// Forking or making the socketpair failed.
    #[error("cannot fork the container process")]
    Fork(#[source] std::io::Error),
    /// Waiting for a process failed.
    #[error("wait")]
    Wait(#[source] std::io::Error),
    /// The channel to the container process broke.
    #[error("container process")]
    Channel(#[source] ChannelError),
    /// Writing the user namespace's id maps failed.
    #[error(transparent)]
    IdMap(#[from] husk_ns::idmap::IdMapError),
    /// A step in the container process failed.
    #[error("container init: {0}")]
    Init(StageError),
    /// A step of an exec'd process failed.
    #[error("exec: {0}")]
    Exec(StageError),
    /// The process to exec is not valid.
    #[error("exec: invalid process {0}: {1}")]
    ExecProcess(PathBuf, String),
    /// The container process exited before it was ready (or before `start`).
    #[error("container init exited before it was ready")]
    InitDied,
    /// The channel closed before `Ready`: how the joiner and init ended
    /// (`joiner: exit 1; init: killed by SIGKILL`).
    #[error("container init exited before it was ready ({0})")]
    InitEnded(String),
    /// init exited while `start` waited for it (a `startContainer` hook
    /// failed, or it was killed).
    #[error("container init exited before the user process started (a startContainer hook failed, or it was killed)")]
    InitDiedAtStart,
    /// `--pid-file` could not be written.
    #[error("cannot write pid file {0}")]
    PidFile(PathBuf, #[source] std::io::Error),
    /// The operation needs another status.
    #[error("container \"{id}\" is {status}: {what}")]
    WrongStatus {
        /// The container.
        id: String,
        /// Its status.
        status: Status,
        /// What cannot be done.
        what: &'static str,
    },
    /// Sending the signal failed.
    #[error("cannot send signal {1} to pid {0}")]
    Signal(i32, i32, #[source] std::io::Error),
    /// A `prestart` or `createRuntime` hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// `process.terminal` and `--console-socket` must come together.
    #[error("{0}")]
    Terminal(&'static str),
    /// Copying between the caller's terminal and the container's failed.
    #[error("terminal")]
    Tty(#[source] std::io::Error),
    /// Connecting to `--console-socket` failed.
    #[error("cannot connect to console socket {0}")]
    ConsoleSocket(PathBuf, #[source] std::io::Error),
    /// Reading the cgroup's statistics failed.
    #[error(transparent)]
    Stats(#[from] husk_cgroup::StatsError),
    /// The container has no cgroup to act on.
    #[error("container \"{0}\" has no cgroup")]
    NoCgroup(String),
    /// `linux.seccomp.listenerPath` is unusable or unreachable.
    #[error(transparent)]
    SeccompListener(#[from] crate::seccomp_listener::ListenerError),
    /// `delete --force` could not stop the container.
    #[error("container \"{0}\" did not stop after SIGKILL")]
    Unkillable(String),
}

/// What `create` was asked for.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--console-socket`: where to send the pty master (`process.terminal`).
    pub console_socket: Option<PathBuf>,
}

impl CreateOptions {
    /// Options for `id` from `bundle`, everything else default.
    pub fn new(id: impl Into<String>, bundle: impl Into<PathBuf>) -> CreateOptions {
        CreateOptions {
            id: id.into(),
            bundle: bundle.into(),
            pid_file: None,
            no_pivot: false,
            preserve_fds: 0,
            console_socket: None,
        }
    }
}

/// `create`: everything up to the user process, which waits for `start`.
///
/// 1. load and check the bundle;
/// 2. plan; check `linux.seccomp` (listener rules, the filter built);
///    connect to `--console-socket`;
/// 3. make and lock the state directory;
/// 4. make the exec FIFO;
/// 5. make the cgroup and apply `linux.resources`;
/// 6. fork and supervise the container processes until init is ready
///    (running the `prestart` and `createRuntime` hooks when init asks,
///    passing init's seccomp notify fd to `listenerPath`);
/// 7. save the state and the pid file.
pub fn create(store: &Store, opts: &CreateOptions) -> Result<Saved, ContainerError> {
    create_with(store, opts, false).map(|(saved, _)| saved)
}

/// `create`; `attached` (an attached `run`): a terminal with no console
/// socket is the caller's, reached through the returned socket.
fn create_with(
    store: &Store,
    opts: &CreateOptions,
    attached: bool,
) -> Result<(Saved, Option<std::os::unix::net::UnixStream>), ContainerError> {
    let bundle = Bundle::load(&opts.bundle)?;
    let plan = plan::plan(&bundle.spec)?;
    let listener = crate::seccomp_listener::check(&bundle.spec)?.map(Path::to_path_buf);
    let seccomp = crate::init::compile_seccomp(&bundle.spec).map_err(ContainerError::Init)?;
    let (console, ours) = tty::console(
        opts.console_socket.as_deref(),
        bundle.spec.process().as_ref(),
        attached,
    )?;
    let locked = store.create(&opts.id)?;
    let dir = DirGuard::new(&locked.dir);
    let fifo = spawn::make_fifo(&locked.fifo())?;
    let cgroup = make_cgroup(&opts.id, &bundle.spec)?;
    // What the state needs of the bundle, taken before its spec moves into
    // the context (not cloned: that is a deep copy of the whole config).
    let template = saved_state(opts, &bundle, cgroup.is_some());
    let ctx = Context {
        spec: bundle.spec,
        plan,
        rootfs: bundle.rootfs,
        no_pivot: opts.no_pivot,
        preserve_fds: opts.preserve_fds,
        fifo,
        cgroup_dirs: cgroup.as_ref().map(|c| cgroup_view(c)).unwrap_or_default(),
        console,
        seccomp,
    };
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| ContainerError::Fork(e.into()))?;
    // A child would inherit the lock (flock belongs to the open file, which
    // fork shares) and hold it for the container's life: unlock across the
    // fork. The status stays `creating` (no state.json) meanwhile.
    let dir_path = locked.unlock();
    let runtime_hooks = |pid| runtime_hooks(&with_pid(template.clone(), pid));
    // init's seccomp notify fd, to `listenerPath` with the state (`creating`).
    let seccomp_fd = |pid, fd: std::os::fd::OwnedFd| {
        let saved = with_pid(template.clone(), pid);
        let state =
            crate::seccomp_listener::process_state(&ctx.spec, pid, &saved.state(Status::Creating));
        let path = listener
            .as_deref()
            .ok_or(ContainerError::Channel(ChannelError::Decode(
                "a seccomp fd with no listenerPath".into(),
            )))?;
        Ok(crate::seccomp_listener::send(path, &state, &fd)?)
    };
    let (pid, procs) = spawn::spawn(&ctx, cgroup.as_deref(), &runtime_hooks, &seccomp_fd)?;
    let locked = store.relock(dir_path)?;
    let saved = with_pid(template, pid);
    locked.save(&saved)?;
    if let Some(file) = &opts.pid_file {
        write_pid_file(file, pid)?;
    }
    procs.disarm();
    cgroup.map(CgroupGuard::disarm);
    dir.disarm();
    Ok((saved, ours))
}

/// `prestart` then `createRuntime`, in the runtime (host namespaces), with
/// the status `creating`; returns the state JSON for init's hooks.
fn runtime_hooks(saved: &Saved) -> Result<String, ContainerError> {
    let state = state_json(saved, Status::Creating);
    hooks::run(saved.hooks.as_ref(), Kind::Prestart, state.as_bytes())?;
    hooks::run(saved.hooks.as_ref(), Kind::CreateRuntime, state.as_bytes())?;
    Ok(state)
}

fn state_json(saved: &Saved, status: Status) -> String {
    serde_json::to_string(&saved.state(status)).unwrap_or_default()
}

/// The cgroup of a container: `linux.cgroupsPath`, or `/husk/ID`. An
/// unprivileged caller with no delegated cgroup (making it is refused) and
/// no `linux.resources` gets none: a one-line warning, as rootless runc.
fn make_cgroup(id: &str, spec: &Spec) -> Result<Option<CgroupGuard>, ContainerError> {
    let default;
    let linux = match spec.linux() {
        Some(linux) => linux,
        None => {
            default = Linux::default();
            &default
        }
    };
    let path = match linux.cgroups_path() {
        Some(p) => CgroupPath::parse(&p.to_string_lossy())?,
        None => CgroupPath::for_container(id)?,
    };
    let hier = Hierarchies::detect()?;
    let cg = match Cgroup::create(&hier, &path) {
        Ok(cg) => CgroupGuard::new(cg),
        Err(e) if not_delegated(&e) && linux.resources().is_none() => {
            eprintln!(
                "husk: warning: no cgroup delegated to this user, running without one ({})",
                hooks::chain(&e)
            );
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(res) = linux.resources() {
        cg.apply(&with_default_devices(res, linux))?;
    }
    Ok(Some(cg))
}

/// Whether an unprivileged caller was refused a cgroup directory.
fn not_delegated(e: &husk_cgroup::CgroupError) -> bool {
    let denied = |s: &std::io::Error| {
        s.kind() == std::io::ErrorKind::PermissionDenied || s.raw_os_error() == Some(libc::EROFS)
    };
    !rustix::process::geteuid().is_root()
        && matches!(e, husk_cgroup::CgroupError::Create { source, .. } if denied(source))
}

/// `resources` with allow rules appended for the default devices, the
/// pseudo-terminals and `linux.devices` (runc does the same): a config
/// denying all devices still gets a working `/dev/null`.
fn with_default_devices(res: &LinuxResources, linux: &Linux) -> LinuxResources {
    let Some(rules) = res.devices() else {
        return res.clone();
    };
    let rule = |typ: LinuxDeviceType, major: i64, minor: Option<i64>| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(Some(major));
        r.set_minor(minor);
        r.set_access(Some("rwm".into()));
        r
    };
    let c = LinuxDeviceType::C;
    let mut all = rules.clone();
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 1),
        (5, 2),
    ] {
        all.push(rule(c, major, Some(minor)));
    }
    all.push(rule(c, 136, None));
    for d in linux.devices().iter().flatten() {
        all.push(rule(d.typ(), d.major(), Some(d.minor())));
    }
    let mut out = res.clone();
    out.set_devices(Some(all));
    out
}

/// The directories a `cgroup` mount shows: one unnamed cgroup2 on a pure
/// v2 host; otherwise each hierarchy by its mount point's name.
fn cgroup_view(cg: &Cgroup) -> Vec<(String, PathBuf)> {
    let hier = cg.hierarchies();
    if hier.mode() == Mode::V2 {
        return cg
            .unified_dir()
            .map(|d| vec![(String::new(), d.to_owned())])
            .unwrap_or_default();
    }
    let mut out = Vec::new();
    for h in hier.v1() {
        let name = h
            .mount
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        if let (Some(name), Some(dir)) = (name, h.controllers.first().and_then(|c| cg.v1_dir(c))) {
            out.push((name, dir.to_owned()));
        }
    }
    if let Some(dir) = cg.unified_dir() {
        out.push(("unified".into(), dir.to_owned()));
    }
    out
}

/// The state of a container made from `bundle`, but for its init
/// ([`with_pid`]).
fn saved_state(opts: &CreateOptions, bundle: &Bundle, cgroup: bool) -> Saved {
    Saved {
        id: opts.id.clone(),
        oci_version: bundle.spec.version().clone(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: String::new(),
        owner_uid: rustix::process::geteuid().as_raw(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        cgroup: cgroup.then(|| cgroup_source(&bundle.spec, &opts.id)),
        hooks: bundle.spec.hooks().clone(),
    }
}

/// `saved` with its init `pid` (and start time), created now.
fn with_pid(mut saved: Saved, pid: i32) -> Saved {
    saved.pid = pid;
    saved.pid_start = store::proc_stat(pid).map(|(_, t)| t).unwrap_or(0);
    saved.created = store::now_rfc3339();
    saved
}

/// The cgroup path as given (`cgroupsPath`, or the id for `/husk/ID`),
/// what [`open_cgroup`] parses again.
fn cgroup_source(spec: &Spec, id: &str) -> String {
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| id.to_owned())
}

fn write_pid_file(file: &Path, pid: i32) -> Result<(), ContainerError> {
    let tmp = file.with_extension("husk-tmp");
    let fail = |e| ContainerError::PidFile(file.to_owned(), e);
    std::fs::write(&tmp, pid.to_string()).map_err(fail)?;
    std::fs::rename(&tmp, file).map_err(fail)
}

/// `start`: releases a created container's init (it opens the exec FIFO
/// for reading, takes init's byte, removes the FIFO), then runs the
/// `poststart` hooks (a failure is only a warning).
pub fn start(store: &Store, id: &str) -> Result<(), ContainerError> {
    let locked = store.open(id)?;
    let saved = require(&locked, id, &[Status::Created], "cannot start it")?;
    release(&locked.fifo(), &saved)?;
    std::fs::remove_file(locked.fifo()).map_err(|e| ContainerError::Fifo(locked.fifo(), e))?;
    // Unlocked first: a hook may ask `husk oci state` about this container.
    drop(locked);
    warn_hooks(&saved, Kind::Poststart, Status::Running);
    Ok(())
}

/// Runs the `kind` hooks, a failure only a warning, given the state with
/// `status`, which is made (with its owner's name) only when there are some.
fn warn_hooks(saved: &Saved, kind: Kind, status: Status) {
    if hooks::of(saved.hooks.as_ref(), kind).is_empty() {
        return;
    }
    let state = state_json(saved, status);
    hooks::run_warn(saved.hooks.as_ref(), kind, state.as_bytes());
}

/// The saved state, if the status is one of `allowed`.
fn require(
    locked: &Locked,
    id: &str,
    allowed: &[Status],
    what: &'static str,
) -> Result<Saved, ContainerError> {
    let saved = locked.load()?;
    let status = locked.status(saved.as_ref());
    match saved {
        Some(saved) if allowed.contains(&status) => Ok(saved),
        _ => Err(ContainerError::WrongStatus {
            id: id.to_owned(),
            status,
            what,
        }),
    }
}

/// Opens the FIFO without blocking and waits for init's byte, checking
/// every 100 ms that init is still alive (it would never write otherwise).
fn release(fifo: &Path, saved: &Saved) -> Result<(), ContainerError> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use rustix::fs::{Mode, OFlags};
    let fail = |e: rustix::io::Errno| ContainerError::Fifo(fifo.to_owned(), e.into());
    let fd = rustix::fs::open(
        fifo,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail)?;
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    loop {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&tick)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(fail(e)),
        }
        let mut byte = [0u8; 1];
        match rustix::io::read(&fd, &mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) | Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(fail(e)),
        }
        if !store::alive(saved.pid, saved.pid_start) {
            return Err(ContainerError::InitDiedAtStart);
        }
    }
}

/// `state`: the runtime-spec state of one container.
pub fn state(store: &Store, id: &str) -> Result<State, ContainerError> {
    Ok(store.open(id)?.state(id)?)
}

/// `list`: the state of every container (those still being created are
/// left out).
pub fn list(store: &Store) -> Result<Vec<State>, ContainerError> {
    let mut out = Vec::new();
    for id in store.ids()? {
        match store.open(&id).and_then(|l| l.state(&id)) {
            Ok(s) => out.push(s),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// `kill`: sends `signal` to init, or with `all` to every process of the
/// container's cgroup and then thaws it if it is paused (as runc and crun
/// do, so the processes act on the signal: containerd's `task delete
/// --force` of a paused task kills with `--all` and waits for the exit).
/// A stopped container cannot be signalled.
pub fn kill(store: &Store, id: &str, signal: i32, all: bool) -> Result<(), ContainerError> {
    let locked = store.open(id)?;
    let saved = require(
        &locked,
        id,
        &[Status::Created, Status::Running, Status::Paused],
        "cannot signal it",
    )?;
    let mut pids = vec![saved.pid];
    let cgroup = if all { open_cgroup(&saved)? } else { None };
    if let Some(cg) = &cgroup {
        pids.extend(
            cg.procs()?
                .into_iter()
                .filter_map(|p| i32::try_from(p).ok())
                .filter(|&p| p != saved.pid),
        );
    }
    for pid in pids {
        match husk_sys::signal::kill(pid, signal) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) && pid != saved.pid => {}
            other => other.map_err(|e| ContainerError::Signal(pid, signal, e))?,
        }
    }
    if let Some(cg) = cgroup {
        if cg.is_frozen()? {
            cg.thaw()?;
        }
    }
    Ok(())
}

fn open_cgroup(saved: &Saved) -> Result<Option<Cgroup>, ContainerError> {
    let Some(path) = &saved.cgroup else {
        return Ok(None);
    };
    let hier = Hierarchies::detect()?;
    match Cgroup::open(&hier, &CgroupPath::parse(path)?) {
        Ok(cg) => Ok(Some(cg)),
        Err(husk_cgroup::CgroupError::Missing { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `delete`: removes a stopped (or created) container: its processes,
/// cgroup and state, then runs the `poststop` hooks (a failure is only a
/// warning). A running one needs `force` (SIGKILL first); with `force` an
/// unknown id is not an error.
pub fn delete(store: &Store, id: &str, force: bool) -> Result<(), ContainerError> {
    let locked = match store.open(id) {
        // As runc and crun: `delete --force` of a container that does not
        // exist succeeds (containerd's shim cleans up that way after a
        // container that has already been deleted).
        Err(StoreError::NotFound(_)) if force => return Ok(()),
        other => other?,
    };
    let saved = locked.load()?;
    let status = locked.status(saved.as_ref());
    let allowed = match status {
        Status::Stopped | Status::Created => true,
        Status::Running | Status::Paused | Status::Creating => force,
    };
    if !allowed {
        return Err(ContainerError::WrongStatus {
            id: id.to_owned(),
            status,
            what: "cannot delete it without --force",
        });
    }
    if let Some(saved) = &saved {
        let mut cgroup = None;
        if status == Status::Paused {
            // A frozen process cannot act on SIGKILL: thaw it first.
            cgroup = open_cgroup(saved)?;
            if let Some(cg) = &cgroup {
                cg.thaw()?;
            }
        }
        // `status` has read init's stat already: stopped needs no second look.
        if status != Status::Stopped {
            stop(id, saved)?;
        }
        if cgroup.is_none() {
            cgroup = open_cgroup(saved)?;
        }
        if let Some(cg) = cgroup {
            // Usually empty once init is gone (its pid namespace died with
            // it): `kill_all` then only looks.
            cg.kill_all()?;
            cg.remove()?;
        }
    }
    locked.remove()?;
    // After the state is gone, as runc: the container no longer exists.
    if let Some(saved) = &saved {
        warn_hooks(saved, Kind::Poststop, Status::Stopped);
    }
    Ok(())
}

/// SIGKILLs init (its pid namespace dies with it) and waits until it is gone.
fn stop(id: &str, saved: &Saved) -> Result<(), ContainerError> {
    if !store::alive(saved.pid, saved.pid_start) {
        return Ok(());
    }
    let _ = husk_sys::signal::kill(saved.pid, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store::alive(saved.pid, saved.pid_start) {
        // Reap it if it is ours (after `run`); otherwise its parent will.
        if let Some(pid) = rustix::process::Pid::from_raw(saved.pid) {
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
        }
        if Instant::now() > deadline {
            return Err(ContainerError::Unkillable(id.to_owned()));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// How the container's process ended (for `run` in the foreground).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

/// `run`: `create`, `start`, and unless `detach`, wait for the process
/// (the runtime is its subreaper, so its parent) and `delete` it.
pub fn run(
    store: &Store,
    opts: &CreateOptions,
    detach: bool,
) -> Result<Option<Ended>, ContainerError> {
    // Attached: the signals to forward are blocked from the start, so one
    // that arrives while the container is being made waits, pending, for
    // the forwarding loop (init unblocks everything before its exec).
    let mut waited: Vec<i32> = FORWARDED.to_vec();
    waited.push(libc::SIGCHLD);
    let saved = if detach {
        None
    } else {
        Some(husk_sys::signal::block(&waited).map_err(ContainerError::Wait)?)
    };
    let outcome = create_start_wait(store, opts, detach, &waited);
    if let Some(saved) = saved {
        let _ = husk_sys::signal::restore(&saved);
    }
    outcome
}

fn create_start_wait(
    store: &Store,
    opts: &CreateOptions,
    detach: bool,
    waited: &[i32],
) -> Result<Option<Ended>, ContainerError> {
    let (saved, console) = create_with(store, opts, !detach)?;
    // On the caller's terminal: attached before `start`, so the process
    // starts on a pty of the caller's size.
    let terminal = match console.as_ref().map(tty::Terminal::attach).transpose() {
        Ok(t) => t,
        Err(e) => {
            let _ = delete(store, &opts.id, true);
            return Err(e);
        }
    };
    if let Err(e) = start(store, &opts.id) {
        let _ = delete(store, &opts.id, true);
        return Err(e);
    }
    if detach {
        return Ok(None);
    }
    let ended = match &terminal {
        Some(t) => t.wait(saved.pid, waited),
        None => wait_forwarding(saved.pid, waited),
    };
    drop(terminal);
    delete(store, &opts.id, true)?;
    Ok(Some(ended?))
}

/// The signals an attached `run` passes on to the container, as runc does.
const FORWARDED: [i32; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// Waits for init (the runtime's child, or adopted as subreaper) while
/// forwarding [`FORWARDED`] signals to it: the caller blocked them, and they
/// are taken with `sigtimedwait`, so no handler and no thread is needed.
fn wait_forwarding(pid: i32, waited: &[i32]) -> Result<Ended, ContainerError> {
    let pid = rustix::process::Pid::from_raw(pid).ok_or(ContainerError::InitDied)?;
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
            Ok(Some((_, st))) => {
                if let Some(sig) = st.terminating_signal() {
                    return Ok(Ended::Signaled(sig));
                }
                if let Some(code) = st.exit_status() {
                    return Ok(Ended::Exited(code));
                }
            }
            Ok(None) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(ContainerError::Wait(e.into())),
        }
        match husk_sys::sigwait::wait_timeout(waited, Duration::from_millis(100)) {
            Ok(Some(sig)) if sig != libc::SIGCHLD => {
                let _ = husk_sys::signal::kill(pid.as_raw_nonzero().get(), sig);
            }
            Ok(_) => {}
            Err(e) => return Err(ContainerError::Wait(e)),
        }
    }
}
