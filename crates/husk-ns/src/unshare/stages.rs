//! The process stages of [`Unshare::run`](super::Unshare::run).
//!
//! Three processes at most take part (plus the helpers, see
//! [`helper`](super::helper)): the *unsharing process* (the one that ran
//! `unshare`), and with `fork` its *child*, which becomes the program while
//! the unsharing process waits as the *parent*.

use std::convert::Infallible;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use husk_sys::process::{fork, Forked};
use husk_sys::signal;
use rustix::mount::{MountFlags, MountPropagationFlags};
use rustix::process::{Pid, WaitOptions};

use super::mapper::{MapHelper, MapJob};
use super::persist::PersistHelper;
use super::{Plan, Propagation, Unshare, UnshareError};
use crate::idmap::write::{write_map, write_setgroups};
use crate::idmap::{IdKind, IdMap};
use crate::time::{write_offsets, SELF_OFFSETS};

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

impl Finished {
    /// Makes the caller end the same way, as util-linux does: returns the
    /// exit status to use, after re-raising a fatal signal on the calling
    /// process (so its own parent sees `128+N`; the status returned is the
    /// fallback should the signal not kill).
    pub fn propagate(self) -> u8 {
        match self {
            Finished::Exited(code) => u8::try_from(code & 0xff).unwrap_or(1),
            Finished::Signaled(sig) => {
                let _ = signal::reraise(sig);
                u8::try_from((128 + sig) & 0xff).unwrap_or(1)
            }
        }
    }
}

/// The unsharing process, from start to fork (or exec).
///
/// Runs in: the process that ran `unshare`; original namespaces, original
/// privileges until `unshare(2)`, then the new namespaces (pid and time:
/// for its children only).
pub(super) fn run(
    u: &Unshare,
    plan: &Plan,
    program: &[OsString],
) -> Result<Finished, UnshareError> {
    let exec = Exec::prepare(program)?;
    signal::set_default(libc::SIGCHLD).map_err(UnshareError::Signals)?;
    let persist = spawn_persist(plan)?;
    let mapper = spawn_mapper(plan)?;
    husk_sys::unshare::unshare_namespaces(plan.flags).map_err(UnshareError::Unshare)?;
    write_own_maps(plan)?;
    if let Some(mapper) = mapper {
        mapper.go()?;
    }
    if !u.time_offsets.is_empty() {
        write_offsets(Path::new(SELF_OFFSETS), &u.time_offsets)?;
    }
    if plan.fork {
        return parent_stage(u, plan, persist, &exec);
    }
    if let Some(p) = &persist {
        p.bind()?;
    }
    match program_stage(u, plan, None, persist, &exec)? {}
}

fn spawn_persist(plan: &Plan) -> Result<Option<PersistHelper>, UnshareError> {
    if plan.persist.is_empty() {
        return Ok(None);
    }
    Ok(Some(PersistHelper::spawn(plan.persist.clone())?))
}

fn spawn_mapper(plan: &Plan) -> Result<Option<MapHelper>, UnshareError> {
    if plan.helper_uid_map.is_none() && plan.helper_gid_map.is_none() {
        return Ok(None);
    }
    let job = MapJob {
        uid: plan.helper_uid_map.clone(),
        gid: plan.helper_gid_map.clone(),
        direct: rustix::process::geteuid().is_root(),
    };
    MapHelper::spawn(job).map(Some).map_err(UnshareError::Fork)
}

/// `setgroups`, then the one-line maps the process may write for itself.
fn write_own_maps(plan: &Plan) -> Result<(), UnshareError> {
    let own = Path::new("/proc/self");
    if let Some(value) = plan.setgroups {
        write_setgroups(own, value)?;
    }
    for (kind, line) in [
        (IdKind::Uid, plan.own_uid_map),
        (IdKind::Gid, plan.own_gid_map),
    ] {
        if let Some(line) = line {
            write_map(own, kind, &IdMap::from(vec![line]))?;
        }
    }
    Ok(())
}

/// A forked child that is killed and reaped on Drop unless waited for.
struct Child(Option<Pid>);

impl Child {
    fn wait(mut self) -> Result<Finished, UnshareError> {
        let pid = self.0.take();
        loop {
            match rustix::process::waitpid(pid, WaitOptions::empty()) {
                Ok(Some((_, st))) => {
                    if let Some(sig) = st.terminating_signal() {
                        return Ok(Finished::Signaled(sig));
                    }
                    if let Some(code) = st.exit_status() {
                        return Ok(Finished::Exited(code));
                    }
                }
                Ok(None) | Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(UnshareError::Wait(e.into())),
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = signal::kill(pid.as_raw_nonzero().get(), libc::SIGKILL);
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
        }
    }
}

/// Forks the program's child and waits for it.
///
/// Runs in: the unsharing process, now the parent: inside the new
/// namespaces except pid (its child is pid 1 of a new pid namespace).
/// SIGINT and SIGTERM stay blocked while it waits (the terminal's signals
/// are for the child; util-linux's "impatient parent" fix). Persists the
/// namespaces once the child exists, and keeps them only if the child got
/// as far as exec (a close-on-exec pipe tells).
fn parent_stage(
    u: &Unshare,
    plan: &Plan,
    persist: Option<PersistHelper>,
    exec: &Exec,
) -> Result<Finished, UnshareError> {
    let saved = signal::block(&[libc::SIGINT, libc::SIGTERM]).map_err(UnshareError::Signals)?;
    let exec_report = match persist {
        Some(_) => Some(pipe().map_err(UnshareError::Fork)?),
        None => None,
    };
    // --kill-child: a pidfd of this process lets the child check that it
    // did not die before the parent-death signal was armed.
    let parent = match u.kill_child {
        Some(_) => Some(husk_sys::pidfd::open_self().map_err(UnshareError::KillChild)?),
        None => None,
    };
    match fork().map_err(UnshareError::Fork)? {
        Forked::Child => {
            drop(persist);
            let report = exec_report.map(|(_, w)| w);
            let outcome = signal::restore(&saved)
                .map_err(UnshareError::Signals)
                .and_then(|()| program_stage(u, plan, parent.as_ref(), None, exec));
            let err = match outcome {
                Ok(never) => match never {},
                Err(e) => e,
            };
            // Tell the parent exec was not reached (it then undoes persisting).
            if let Some(w) = report {
                let _ = rustix::io::write(&w, b"!");
            }
            Err(err)
        }
        Forked::Parent(pid) => {
            drop(parent);
            let child = Child(Some(pid));
            if let (Some(p), Some((r, w))) = (persist, exec_report) {
                drop(w);
                p.bind()?;
                if child_reached_exec(&r) {
                    p.keep()?;
                }
            }
            child.wait()
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

/// Whether the child exec'd: its end of the pipe closed with nothing written.
fn child_reached_exec(r: &OwnedFd) -> bool {
    let mut b = [0u8; 1];
    loop {
        match rustix::io::read(r, &mut b) {
            Ok(n) => return n == 0,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Prepares the process and execs the program.
///
/// Runs in: the process that becomes the program — the forked child
/// (`parent` is a pidfd of the waiting parent, for `--kill-child`) or the
/// unsharing process itself.
/// All new namespaces; with a user namespace, full capabilities in it until
/// the `setuid`/exec drops them. Returns only on failure.
fn program_stage(
    u: &Unshare,
    plan: &Plan,
    parent: Option<&OwnedFd>,
    persist: Option<PersistHelper>,
    exec: &Exec,
) -> Result<Infallible, UnshareError> {
    if let (Some(sig), Some(parent)) = (u.kill_child, parent) {
        die_with_parent(sig, parent)?;
    }
    if plan.flags & libc::CLONE_NEWNS != 0 {
        set_propagation(u.propagation)?;
    }
    enter_root_and_wd(u)?;
    if let Some(dir) = &u.mount_proc {
        mount_proc(
            dir,
            u.root.is_none() && u.propagation != Propagation::Private,
        )?;
    }
    switch_ids(u)?;
    if u.keep_caps && plan.flags & libc::CLONE_NEWUSER != 0 {
        keep_caps().map_err(UnshareError::KeepCaps)?;
    }
    if let Some(p) = persist {
        // Without fork nobody is left to undo the persisted namespaces if
        // exec fails, so find the program before keeping them.
        find_program(&exec.file).map_err(|source| exec.error(source))?;
        p.keep()?;
    }
    Err(exec.error(exec.prepared.exec()))
}

/// The program to exec, converted before any fork.
struct Exec {
    /// What execvp searches for: the program, or `$SHELL`.
    file: OsString,
    prepared: husk_sys::exec::Prepared,
}

impl Exec {
    fn prepare(program: &[OsString]) -> Result<Exec, UnshareError> {
        let file = if program.is_empty() {
            shell()
        } else {
            program[0].clone()
        };
        let argv = argv_of(program);
        let prepared =
            husk_sys::exec::Prepared::new(&file, &argv).map_err(|source| UnshareError::Exec {
                program: file.clone(),
                source,
            })?;
        Ok(Exec { file, prepared })
    }

    fn error(&self, source: io::Error) -> UnshareError {
        UnshareError::Exec {
            program: self.file.clone(),
            source,
        }
    }
}

/// `--kill-child`: ask for `sig` when the parent dies, then make sure it
/// has not died already (then nobody waits for us: exit). The parent is
/// checked through its pidfd: in a new pid namespace `getppid()` is 0.
fn die_with_parent(sig: i32, parent: &OwnedFd) -> Result<(), UnshareError> {
    signal::set_parent_death_signal(sig).map_err(UnshareError::KillChild)?;
    if husk_sys::pidfd::has_exited(parent.as_fd()).map_err(UnshareError::KillChild)? {
        husk_sys::exec::exit_now(1);
    }
    Ok(())
}

fn set_propagation(p: Propagation) -> Result<(), UnshareError> {
    let flag = match p {
        Propagation::Unchanged => return Ok(()),
        Propagation::Private => MountPropagationFlags::PRIVATE,
        Propagation::Shared => MountPropagationFlags::SHARED,
        Propagation::Slave => MountPropagationFlags::DOWNSTREAM,
    };
    rustix::mount::mount_change("/", flag | MountPropagationFlags::REC)
        .map_err(|e| UnshareError::Propagation(e.into()))
}

fn enter_root_and_wd(u: &Unshare) -> Result<(), UnshareError> {
    if let Some(root) = &u.root {
        rustix::process::chroot(root).map_err(|e| UnshareError::Chroot {
            path: root.clone(),
            source: e.into(),
        })?;
    }
    let wd =
        u.wd.clone()
            .or_else(|| u.root.as_ref().map(|_| PathBuf::from("/")));
    if let Some(wd) = wd {
        rustix::process::chdir(&wd).map_err(|e| UnshareError::Chdir {
            path: wd.clone(),
            source: e.into(),
        })?;
    }
    Ok(())
}

/// Mounts a proc filesystem for the current pid namespace on `dir`.
///
/// When `/` was not made private recursively, `dir` is made private first
/// so the new proc mount cannot propagate back over the host's `/proc`
/// (`EINVAL`: `dir` is not a mount point, which is fine).
fn mount_proc(dir: &Path, make_private: bool) -> Result<(), UnshareError> {
    if make_private {
        let flags = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
        match rustix::mount::mount_change(dir, flags) {
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => {
                return Err(UnshareError::ProcPropagation {
                    path: dir.to_owned(),
                    source: e.into(),
                })
            }
        }
    }
    let flags = MountFlags::NOSUID | MountFlags::NOEXEC | MountFlags::NODEV;
    rustix::mount::mount("proc", dir, "proc", flags, None).map_err(|e| UnshareError::MountProc {
        path: dir.to_owned(),
        source: e.into(),
    })
}

/// `-G` (drop supplementary groups, setgid) then `-S` (setuid).
fn switch_ids(u: &Unshare) -> Result<(), UnshareError> {
    let cred = |call| {
        move |e: rustix::io::Errno| UnshareError::Credentials {
            call,
            source: e.into(),
        }
    };
    // The process is single-threaded (fork checked it), so the per-thread
    // system calls change the whole process's credentials.
    if let Some(gid) = u.setgid {
        rustix::thread::set_thread_groups(&[]).map_err(cred("setgroups"))?;
        rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))
            .map_err(cred("setgid()"))?;
    }
    if let Some(uid) = u.setuid {
        rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))
            .map_err(cred("setuid()"))?;
    }
    Ok(())
}

/// `--keep-caps`: every permitted capability becomes inheritable and
/// ambient, so it survives exec of a program without file capabilities.
fn keep_caps() -> io::Result<()> {
    use rustix::thread::{capabilities, configure_capability_in_ambient_set, set_capabilities};
    let mut sets = capabilities(None)?;
    sets.inheritable = sets.permitted;
    set_capabilities(None, sets)?;
    let bits = sets.permitted.bits();
    for cap in (0..64).filter(|c| bits & (1u64 << c) != 0) {
        let one = rustix::thread::CapabilitySet::from_bits_retain(1u64 << cap);
        configure_capability_in_ambient_set(one, true)?;
    }
    Ok(())
}

/// `$SHELL`, or `/bin/sh`.
fn shell() -> OsString {
    std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| OsString::from("/bin/sh"))
}

/// argv for exec: the program's, or a login shell's (`-bash`).
fn argv_of(program: &[OsString]) -> Vec<OsString> {
    if !program.is_empty() {
        return program.to_vec();
    }
    vec![husk_sys::exec::login_shell_arg0(&shell())]
}

/// Finds `name` as `execvp` would: `ENOENT` if nothing is there, `EACCES`
/// if what is there cannot be executed.
fn find_program(name: &OsStr) -> io::Result<()> {
    use rustix::fs::{access, Access};
    if name.as_bytes().contains(&b'/') {
        return access(name, Access::EXEC_OK).map_err(Into::into);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/bin:/usr/bin"));
    let mut err = io::Error::from_raw_os_error(libc::ENOENT);
    for dir in std::env::split_paths(&path) {
        match access(dir.join(name), Access::EXEC_OK) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::ACCESS) => err = io::Error::from_raw_os_error(libc::EACCES),
            Err(_) => {}
        }
    }
    Err(err)
}
