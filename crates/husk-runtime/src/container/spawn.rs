//! The runtime's side of `create` once it forks: put the child in its
//! cgroup, write the user namespace's maps, learn init's pid, wait for
//! `Ready`. Every process made is killed and reaped on error by [`Procs`].

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::path::Path;

use husk_cgroup::Cgroup;
use husk_ns::idmap::{write, IdKind};
use husk_sys::process::{fork, Forked};
use rustix::process::{Pid, WaitOptions};

use super::ContainerError;
use crate::init::{self, Context};
use crate::msg::{Channel, ChannelError, ToChild, ToParent};
use crate::plan::Plan;

/// The container's processes until `create` succeeds: killed (and reaped:
/// the runtime is their child subreaper) on Drop unless disarmed.
#[derive(Debug, Default)]
pub(super) struct Procs {
    pids: Vec<Pid>,
}

impl Procs {
    pub(super) fn add(&mut self, pid: i32) {
        self.pids.extend(Pid::from_raw(pid));
    }

    /// Stops guarding `pid` (it was reaped).
    pub(super) fn forget(&mut self, pid: Pid) {
        self.pids.retain(|p| *p != pid);
    }

    /// Keeps the processes running.
    pub(super) fn disarm(mut self) {
        self.pids.clear();
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for pid in self.pids.iter().rev() {
            let _ = husk_sys::signal::kill(pid.as_raw_nonzero().get(), libc::SIGKILL);
        }
        for pid in &self.pids {
            let _ = rustix::process::waitpid(Some(*pid), WaitOptions::empty());
        }
    }
}

/// Forks the joiner and supervises it until init is ready.
///
/// Runs in: the runtime; host namespaces, privileged; a child subreaper, so
/// init becomes its child when the joiner exits. Returns init's host pid
/// and the guard over the processes. `hooks` runs the runtime's hooks when
/// init asks (given init's pid; it returns the state JSON for init's);
/// `seccomp_fd` takes init's seccomp notify fd (given init's pid).
pub(super) fn spawn(
    ctx: &Context,
    cgroup: Option<&Cgroup>,
    hooks: &dyn Fn(i32) -> Result<String, ContainerError>,
    seccomp_fd: &dyn Fn(i32, OwnedFd) -> Result<(), ContainerError>,
) -> Result<(i32, Procs), ContainerError> {
    let (ours, theirs) = Channel::pair().map_err(ContainerError::Fork)?;
    let mut procs = Procs::default();
    let joiner = match fork().map_err(ContainerError::Fork)? {
        Forked::Child => {
            drop(ours);
            husk_sys::exec::exit_now(init::run(ctx, &theirs))
        }
        Forked::Parent(pid) => pid,
    };
    drop(theirs);
    let joiner_pid = joiner.as_raw_nonzero().get();
    procs.add(joiner_pid);
    if let Some(cg) = cgroup {
        cg.join(joiner_pid.unsigned_abs())?;
    }
    ours.send(&ToChild::Go).map_err(ContainerError::Channel)?;
    let init = supervise(&ours, joiner_pid, &ctx.plan, &mut procs, hooks, seccomp_fd)?;
    if ctx.plan.second_fork {
        reap(joiner)?;
        procs.pids.retain(|p| *p != joiner);
    }
    Ok((init, procs))
}

/// Answers the container processes until init reports `Ready`.
///
/// init runs as soon as the joiner forks it, so under load its first
/// messages (even `Ready`) can come before the joiner's `InitPid`: they
/// are held until the pid is known.
fn supervise(
    chan: &Channel,
    joiner: i32,
    plan: &Plan,
    procs: &mut Procs,
    hooks: &dyn Fn(i32) -> Result<String, ContainerError>,
    seccomp_fd: &dyn Fn(i32, OwnedFd) -> Result<(), ContainerError>,
) -> Result<i32, ContainerError> {
    let mut init = None;
    let mut held: VecDeque<(ToParent, Option<OwnedFd>)> = VecDeque::new();
    loop {
        let next = init.and_then(|_| held.pop_front());
        let (msg, fd) = match next {
            Some(h) => h,
            None => match chan.recv::<ToParent>() {
                Ok(msg) => (msg, None),
                Err(e) => return Err(broke(e, joiner, init, procs)),
            },
        };
        match (msg, init) {
            (ToParent::NeedMaps, _) => {
                write_maps(joiner, plan)?;
                chan.send(&ToChild::MapsWritten)
                    .map_err(|e| broke(e, joiner, init, procs))?;
            }
            (ToParent::InitPid(pid), _) => {
                if pid != joiner {
                    procs.add(pid);
                }
                init = Some(pid);
            }
            (ToParent::Failed(e), pid) => {
                if pid.is_none() {
                    guard_init(chan, joiner, procs);
                }
                return Err(ContainerError::Init(e));
            }
            (msg, None) => {
                let fd = matches!(msg, ToParent::SeccompFd)
                    .then(|| chan.take_fd())
                    .flatten();
                held.push_back((msg, fd));
            }
            (ToParent::RunHooks, Some(pid)) => {
                let state = hooks(pid)?;
                chan.send(&ToChild::HooksDone(state))
                    .map_err(|e| broke(e, joiner, init, procs))?;
            }
            (ToParent::SeccompFd, Some(pid)) => {
                let fd = fd
                    .or_else(|| chan.take_fd())
                    .ok_or(ContainerError::Channel(ChannelError::Decode(
                        "SeccompFd without an fd".into(),
                    )))?;
                seccomp_fd(pid, fd)?;
            }
            (ToParent::Ready, Some(pid)) => return Ok(pid),
        }
    }
}

/// init failed before the joiner sent its pid: waits for the pid (the
/// joiner sends it next, or is gone) so the guard reaps init too.
fn guard_init(chan: &Channel, joiner: i32, procs: &mut Procs) {
    loop {
        match chan.recv::<ToParent>() {
            Ok(ToParent::InitPid(pid)) => {
                if pid != joiner {
                    procs.add(pid);
                }
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// The channel broke: when every holder of its other end is gone (end of
/// file, or `EPIPE` on a send), says how they ended.
fn broke(e: ChannelError, joiner: i32, init: Option<i32>, procs: &mut Procs) -> ContainerError {
    let gone = match &e {
        ChannelError::Closed => true,
        ChannelError::Io(io) => matches!(io.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)),
        ChannelError::Decode(_) => false,
    };
    if gone {
        ended(joiner, init, procs)
    } else {
        ContainerError::Channel(e)
    }
}

/// The channel closed without `Ready` or `Failed`: every holder of its
/// other end is gone. Reaps the joiner and init (the runtime is their
/// parent or subreaper) and says how each ended; the reaped are no longer
/// guarded (their pids may be reused).
fn ended(joiner: i32, init: Option<i32>, procs: &mut Procs) -> ContainerError {
    let mut how = format!("joiner: {}", reap_status(joiner, procs));
    match init {
        Some(pid) if pid != joiner => how += &format!("; init: {}", reap_status(pid, procs)),
        Some(_) => {}
        None => how += "; init: never reported its pid",
    }
    ContainerError::InitEnded(how)
}

/// How `pid`, one of the container's processes, ended: waits a bounded
/// while (its end of the channel closes as it exits, a moment before it
/// can be reaped).
fn reap_status(pid: i32, procs: &mut Procs) -> String {
    let Some(p) = Pid::from_raw(pid) else {
        return format!("bad pid {pid}");
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match rustix::process::waitpid(Some(p), WaitOptions::NOHANG) {
            Ok(Some((_, st))) => {
                procs.forget(p);
                if let Some(sig) = st.terminating_signal() {
                    let name = husk_sys::signal::name(sig).unwrap_or_else(|| sig.to_string());
                    return format!("killed by {name}");
                }
                return format!("exit {}", st.exit_status().unwrap_or(-1));
            }
            Ok(None) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return format!("cannot wait: {e}"),
        }
        if std::time::Instant::now() > deadline {
            return "still running".into();
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Writes the maps of the joiner's new user namespace: directly when
/// privileged, through `newuidmap`/`newgidmap` when not.
fn write_maps(pid: i32, plan: &Plan) -> Result<(), ContainerError> {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let direct = rustix::process::geteuid().is_root();
    for (kind, map) in [(IdKind::Uid, &plan.uid_map), (IdKind::Gid, &plan.gid_map)] {
        if direct {
            write::write_map(&proc_dir, kind, map)?;
        } else {
            write::run_helper(kind, pid.unsigned_abs(), map)?;
        }
    }
    Ok(())
}

pub(super) fn reap(pid: Pid) -> Result<(), ContainerError> {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(ContainerError::Wait(e.into())),
            Ok(_) => return Ok(()),
        }
    }
}

/// Makes the exec FIFO (mode 0622, as runc: the container's user, whoever
/// it is, must be able to open it for writing) and returns an `O_PATH` fd
/// of it for init.
pub(super) fn make_fifo(path: &Path) -> Result<OwnedFd, ContainerError> {
    use rustix::fs::{Mode, OFlags};
    let fail = |e: rustix::io::Errno| ContainerError::Fifo(path.to_owned(), e.into());
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o622),
        0,
    )
    .map_err(fail)?;
    rustix::fs::chmod(path, Mode::from_raw_mode(0o622)).map_err(fail)?;
    rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command};

    use super::*;
    use crate::msg::{StageError, Step};

    /// A real process to stand for the joiner or init (the guard under
    /// test kills and reaps what it holds); killed on Drop if still unreaped
    /// (a test failed), never once reaped: its pid may be reused.
    struct Sleeper(Child);

    impl Drop for Sleeper {
        fn drop(&mut self) {
            if let Ok(None) = self.0.try_wait() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }

    fn sleeper() -> (Sleeper, i32) {
        let child = Command::new("sleep").arg("100").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        (Sleeper(child), pid)
    }

    /// init runs as soon as the joiner forks it: under load its `RunHooks`
    /// and `Ready` can reach the runtime before the joiner's `InitPid`
    /// (this once failed `create` with "init exited before it was ready").
    #[test]
    fn init_messages_before_its_pid_wait_for_it() {
        let plan = crate::plan::plan(&oci_spec::runtime::Spec::default()).unwrap();
        let (ours, theirs) = Channel::pair().unwrap();
        let ((_j, joiner), (_i, init)) = (sleeper(), sleeper());
        theirs.send(&ToParent::RunHooks).unwrap();
        theirs.send(&ToParent::Ready).unwrap();
        theirs.send(&ToParent::InitPid(init)).unwrap();
        let mut procs = Procs::default();
        procs.add(joiner);
        let hooks = |pid| {
            assert_eq!(pid, init, "hooks get init's pid");
            Ok("state".to_owned())
        };
        let got = supervise(&ours, joiner, &plan, &mut procs, &hooks, &|_, _| {
            unreachable!("no seccomp fd")
        });
        assert_eq!(got.unwrap(), init);
        assert_eq!(
            theirs.recv::<ToChild>().unwrap(),
            ToChild::HooksDone("state".into())
        );
        assert_eq!(
            procs.pids,
            [joiner, init].map(|p| Pid::from_raw(p).unwrap())
        );
    }

    /// A failure of init before its pid came still puts init in the guard.
    #[test]
    fn init_failing_before_its_pid_is_still_guarded() {
        let plan = crate::plan::plan(&oci_spec::runtime::Spec::default()).unwrap();
        let (ours, theirs) = Channel::pair().unwrap();
        let ((_j, joiner), (_i, init)) = (sleeper(), sleeper());
        let e = StageError::new(Step::Setsid, "", std::io::Error::from_raw_os_error(1));
        theirs.send(&ToParent::Failed(e)).unwrap();
        theirs.send(&ToParent::InitPid(init)).unwrap();
        let mut procs = Procs::default();
        procs.add(joiner);
        let got = supervise(
            &ours,
            joiner,
            &plan,
            &mut procs,
            &|_| unreachable!("no hooks"),
            &|_, _| unreachable!("no seccomp fd"),
        );
        assert!(matches!(got, Err(ContainerError::Init(_))), "{got:?}");
        assert_eq!(
            procs.pids,
            [joiner, init].map(|p| Pid::from_raw(p).unwrap())
        );
    }
}
