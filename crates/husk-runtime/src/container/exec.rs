//! `exec`: runs one more process in a created or running container.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use husk_sys::process::{fork, Forked};
use oci_spec::runtime::Process;
use serde_json::{json, Value};

use super::spawn::Procs;
use super::{open_cgroup, require, wait_forwarding, write_pid_file, ContainerError, Ended};
use crate::bundle::Bundle;
use crate::init::{self, ExecContext};
use crate::msg::{Channel, ChannelError, ToChild, ToParent};
use crate::store::{Status, Store};

/// What `exec` was asked for (runc's flags).
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Container id.
    pub id: String,
    /// `--process FILE`: the whole process as JSON; the flags below are
    /// then ignored, as runc does.
    pub process: Option<PathBuf>,
    /// The command and its arguments.
    pub args: Vec<String>,
    /// `--env K=V`, appended to the container's.
    pub env: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<PathBuf>,
    /// `--user UID[:GID]` (without GID the config's gid is kept, as runc).
    pub user: Option<(u32, Option<u32>)>,
    /// `--additional-gids`.
    pub additional_gids: Vec<u32>,
    /// `--cap CAP`, added to every set.
    pub caps: Vec<String>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--detach`: do not wait for the process.
    pub detach: bool,
    /// `--pid-file` (with `--detach`, or attached too).
    pub pid_file: Option<PathBuf>,
    /// `--tty`: `terminal` for a process built from the flags (with
    /// `--process` the file's `terminal` decides, as runc).
    pub tty: bool,
    /// `--console-socket`: where the pty master goes (needs a terminal).
    pub console_socket: Option<PathBuf>,
}

/// `exec`: a new process in the container `opts.id`; returns how it ended
/// unless `opts.detach`.
///
/// 1. lock; the status must be `created` or `running`; unlock (the
///    process would inherit the lock);
/// 2. the process: `--process FILE`, else the bundle's `process` with
///    the flags applied; with `terminal`, connect to `--console-socket`;
/// 3. block the signals to forward (attached), become a child subreaper;
/// 4. fork the exec joiner, put it in the container's cgroup, send `Go`;
/// 5. learn the process's pid; a step that fails arrives as its error; the
///    channel closing means `execve` succeeded; a seccomp notify fd that
///    came goes to `listenerPath`;
/// 6. write `--pid-file`; attached, wait forwarding signals.
pub fn exec(store: &Store, opts: &ExecOptions) -> Result<Option<Ended>, ContainerError> {
    let locked = store.open(&opts.id)?;
    let saved = require(
        &locked,
        &opts.id,
        &[Status::Created, Status::Running],
        "cannot exec in it",
    )?;
    // For a seccomp notify listener: the container's state now.
    let state = saved.state(locked.status(Some(&saved)));
    drop(locked);
    let bundle = Bundle::load(&saved.bundle)?;
    let mut spec = bundle.spec;
    let mut process = build_process(spec.process().as_ref(), opts)?;
    let (console, ours) =
        super::tty::console(opts.console_socket.as_deref(), Some(&process), !opts.detach)?;
    if let (Some(_), Some(size)) = (&ours, super::tty::caller_size()) {
        // The caller's size from the start: the process runs before the
        // runtime takes the master.
        let b = oci_spec::runtime::BoxBuilder::default()
            .height(size.ws_row)
            .width(size.ws_col)
            .build();
        process.set_console_size(b.ok());
    }
    spec.set_process(Some(process));
    let seccomp = crate::init::compile_seccomp(&spec).map_err(ContainerError::Exec)?;
    let ctx = ExecContext {
        spec,
        init_pid: saved.pid.unsigned_abs(),
        console,
        seccomp,
    };
    let cgroup = open_cgroup(&saved)?;
    let mut waited: Vec<i32> = super::FORWARDED.to_vec();
    waited.push(libc::SIGCHLD);
    let blocked = if opts.detach {
        None
    } else {
        Some(husk_sys::signal::block(&waited).map_err(ContainerError::Wait)?)
    };
    let outcome = spawn_and_wait(&ctx, cgroup.as_ref(), opts, &waited, &state, ours);
    if let Some(blocked) = blocked {
        let _ = husk_sys::signal::restore(&blocked);
    }
    outcome
}

fn spawn_and_wait(
    ctx: &ExecContext,
    cgroup: Option<&husk_cgroup::Cgroup>,
    opts: &ExecOptions,
    waited: &[i32],
    state: &crate::store::State,
    console: Option<std::os::unix::net::UnixStream>,
) -> Result<Option<Ended>, ContainerError> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| ContainerError::Fork(e.into()))?;
    let (ours, theirs) = Channel::pair().map_err(ContainerError::Fork)?;
    let mut procs = Procs::default();
    let joiner = match fork().map_err(ContainerError::Fork)? {
        Forked::Child => {
            drop(ours);
            husk_sys::exec::exit_now(init::run_exec(ctx, &theirs))
        }
        Forked::Parent(pid) => pid,
    };
    drop(theirs);
    procs.add(joiner.as_raw_nonzero().get());
    if let Some(cg) = cgroup {
        cg.join(joiner.as_raw_nonzero().get().unsigned_abs())?;
    }
    ours.send(&ToChild::Go).map_err(ContainerError::Channel)?;
    let mut seccomp_fd = None;
    let pid = supervise(&ours, &mut procs, &mut seccomp_fd)?;
    super::spawn::reap(joiner)?;
    procs.forget(joiner);
    if let Some(fd) = seccomp_fd {
        send_seccomp_fd(&ctx.spec, pid, state, &fd)?;
    }
    if let Some(file) = &opts.pid_file {
        write_pid_file(file, pid)?;
    }
    let terminal = console
        .as_ref()
        .map(super::tty::Terminal::attach)
        .transpose()?;
    procs.disarm();
    if opts.detach {
        return Ok(None);
    }
    match terminal {
        Some(t) => t.wait(pid, waited).map(Some),
        None => wait_forwarding(pid, waited).map(Some),
    }
}

/// Takes the process's pid and waits for the channel to close (its
/// `execve`, or both processes gone). A step's error is returned only then:
/// the process may report it before the joiner sends its pid, and that pid
/// must reach the guard so the process is reaped (an unreaped process of
/// the pid namespace keeps its init from exiting).
fn supervise(
    chan: &Channel,
    procs: &mut Procs,
    seccomp_fd: &mut Option<OwnedFd>,
) -> Result<i32, ContainerError> {
    let mut pid = None;
    let mut failed = None;
    loop {
        match chan.recv::<ToParent>() {
            Ok(ToParent::InitPid(p)) => {
                procs.add(p);
                pid = Some(p);
            }
            Ok(ToParent::Failed(e)) => failed = Some(e),
            Ok(ToParent::SeccompFd) => {
                *seccomp_fd = Some(chan.take_fd().ok_or(ContainerError::Channel(
                    ChannelError::Decode("SeccompFd without an fd".into()),
                ))?);
            }
            Ok(ToParent::NeedMaps | ToParent::RunHooks | ToParent::Ready) => {
                return Err(ContainerError::Channel(ChannelError::Closed))
            }
            Err(ChannelError::Closed) => break,
            Err(e) => return Err(ContainerError::Channel(e)),
        }
    }
    match failed {
        Some(e) => Err(ContainerError::Exec(e)),
        None => pid.ok_or(ContainerError::InitDied),
    }
}

/// The exec'd process's seccomp notify fd to `listenerPath`, with its pid
/// and the container's state.
fn send_seccomp_fd(
    spec: &oci_spec::runtime::Spec,
    pid: i32,
    state: &crate::store::State,
    fd: &OwnedFd,
) -> Result<(), ContainerError> {
    use crate::seccomp_listener as listener;
    let path = listener::check(spec)?.ok_or(ContainerError::Channel(ChannelError::Decode(
        "a seccomp fd with no listenerPath".into(),
    )))?;
    Ok(listener::send(
        path,
        &listener::process_state(spec, pid, state),
        fd,
    )?)
}

/// The process to exec: `--process FILE`, or the container's own process
/// with `args` and the flags applied (runc's `getProcess`).
fn build_process(base: Option<&Process>, opts: &ExecOptions) -> Result<Process, ContainerError> {
    if let Some(file) = &opts.process {
        let bad = |msg: String| ContainerError::ExecProcess(file.clone(), msg);
        let text = std::fs::read(file).map_err(|e| bad(e.to_string()))?;
        let de = &mut serde_json::Deserializer::from_slice(&text);
        return serde_path_to_error::deserialize(de)
            .map_err(|e| bad(format!("field {}: {}", e.path(), e.inner())));
    }
    let mut p = serde_json::to_value(base).unwrap_or(Value::Null);
    if !p.is_object() {
        p = json!({"cwd": "/", "user": {"uid": 0, "gid": 0}});
    }
    p["args"] = json!(opts.args);
    p["terminal"] = json!(opts.tty);
    let mut env = p["env"].as_array().cloned().unwrap_or_default();
    env.extend(opts.env.iter().map(|e| json!(e)));
    p["env"] = Value::Array(env);
    if let Some(cwd) = &opts.cwd {
        p["cwd"] = json!(cwd);
    }
    if let Some((uid, gid)) = opts.user {
        p["user"]["uid"] = json!(uid);
        if let Some(gid) = gid {
            p["user"]["gid"] = json!(gid);
        }
    }
    if !opts.additional_gids.is_empty() {
        p["user"]["additionalGids"] = json!(opts.additional_gids);
    }
    if opts.no_new_privs {
        p["noNewPrivileges"] = json!(true);
    }
    // runc: not inheritable (CVE-2022-29162), so ambient only when the
    // config already has inheritable ones.
    let ambient = p["capabilities"]["inheritable"].is_array();
    let sets: &[&str] = if ambient {
        &["bounding", "effective", "permitted", "ambient"]
    } else {
        &["bounding", "effective", "permitted"]
    };
    for cap in &opts.caps {
        for &set in sets {
            let list = &mut p["capabilities"][set];
            if !list.is_array() {
                *list = json!([]);
            }
            if let Some(list) = list.as_array_mut() {
                list.push(json!(cap));
            }
        }
    }
    serde_json::from_value(p)
        .map_err(|e| ContainerError::ExecProcess("--cap".into(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Process {
        serde_json::from_value(json!({
            "args": ["sleep", "1"], "cwd": "/", "env": ["PATH=/bin", "A=1"],
            "user": {"uid": 0, "gid": 5}, "noNewPrivileges": true,
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"]}
        }))
        .unwrap()
    }

    #[test]
    fn flags_apply_as_runc() {
        let opts = ExecOptions {
            args: vec!["sh".into()],
            env: vec!["B=2".into()],
            cwd: Some("/tmp".into()),
            user: Some((1000, None)),
            caps: vec!["CAP_SYS_ADMIN".into()],
            ..ExecOptions::default()
        };
        let p = build_process(Some(&base()), &opts).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["args"], json!(["sh"]));
        assert_eq!(v["env"], json!(["PATH=/bin", "A=1", "B=2"]));
        assert_eq!(v["cwd"], "/tmp");
        assert_eq!(
            (v["user"]["uid"].clone(), v["user"]["gid"].clone()),
            (json!(1000), json!(5))
        );
        assert_eq!(v["noNewPrivileges"], true);
        let mut eff: Vec<String> =
            serde_json::from_value(v["capabilities"]["effective"].clone()).unwrap();
        eff.sort();
        assert_eq!(eff, ["CAP_KILL", "CAP_SYS_ADMIN"]);
        // No inheritable set in the config: no ambient either.
        assert!(v["capabilities"]["ambient"].is_null(), "{v}");
    }

    #[test]
    fn user_with_gid_and_no_base() {
        let opts = ExecOptions {
            args: vec!["true".into()],
            user: Some((7, Some(8))),
            ..ExecOptions::default()
        };
        let v = serde_json::to_value(build_process(None, &opts).unwrap()).unwrap();
        assert_eq!(
            (v["user"]["uid"].clone(), v["user"]["gid"].clone()),
            (json!(7), json!(8))
        );
        assert_eq!(v["cwd"], "/");
    }

    #[test]
    fn process_file_errors_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.json");
        std::fs::write(
            &file,
            r#"{"args":["x"],"cwd":"/","user":{"uid":"x","gid":0}}"#,
        )
        .unwrap();
        let opts = ExecOptions {
            process: Some(file),
            ..ExecOptions::default()
        };
        let err = build_process(None, &opts).unwrap_err().to_string();
        assert!(err.contains("user.uid"), "{err}");
    }
}
