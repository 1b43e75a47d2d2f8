//! containerd 1.6 with husk as its runtime binary: each test starts a
//! private containerd (its own socket, root, state and namespace), imports
//! a busybox image it builds in OCI layout, and drives it with `ctr` —
//! `ctr run --runc-binary <husk-runc link>` — so the shim calls husk just
//! as it calls runc (`create`, `start`, `state`, `exec`, `ps`, `kill`,
//! `pause`, `resume`, `delete`). Every test checks that nothing is left
//! afterwards. The tasks' output is read from `--log-uri` files (see
//! `containerd_support` for why not from ctr's attached I/O). Needs root, containerd, ctr, containerd-shim-runc-v2 and
//! busybox-static.

mod common;
mod containerd_support;
mod oci_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{unique, ChildGuard};
use containerd_support::{text, Containerd};

/// A containerd with the busybox image imported.
fn started() -> Containerd {
    let ctrd = Containerd::start();
    ctrd.import_busybox();
    ctrd
}

/// Asserts the process is in cgroup `want` (the `--cgroup` path, under
/// `/husk`), not in containerd's default `/<namespace>/<id>`.
fn assert_in_cgroup(pid: u32, want: &str) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        text.lines().any(|l| l.ends_with(&format!(":{want}"))),
        "{pid} not in {want}: {text}"
    );
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn live(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'))
    })
}

/// Polls (bounded) until `pid` is gone.
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while live(pid) {
        assert!(Instant::now() < deadline, "{pid} still alive");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls (bounded) until the file holds `want`.
fn wait_for_text(path: &Path, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = std::fs::read_to_string(path).unwrap_or_default();
        if now.contains(want) {
            return;
        }
        assert!(Instant::now() < deadline, "no {want:?} in {now:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `ctr task exec --log-uri F --exec-id EXEC ID ARGS...` that must
/// succeed: its output.
fn exec_output(
    ctrd: &Containerd,
    id: &str,
    exec_id: &str,
    flags: &[&str],
    args: &[&str],
) -> String {
    let (path, uri) = ctrd.log_uri(exec_id);
    let mut all = vec!["--log-uri", uri.as_str()];
    all.extend_from_slice(flags);
    ctrd.logged(&mut ctrd.exec(id, exec_id, &all, args), &path)
}

/// `ctr run --rm --log-uri F ... ID ARGS...` with `runtime` that must
/// succeed: its output.
fn run_output(ctrd: &Containerd, runtime: &Path, id: &str, args: &[&str]) -> String {
    let (path, uri) = ctrd.log_uri(id);
    ctrd.logged(
        &mut ctrd.run_with(runtime, id, &["--rm", "--log-uri", &uri], args),
        &path,
    )
}

#[test]
fn run_rm_prints_the_output_passes_the_exit_status_and_leaves_nothing() {
    ctrd_setup!();
    let ctrd = started();
    let id = unique("run");
    let out = run_output(
        &ctrd,
        &ctrd.runtime(),
        &id,
        &[
            "sh",
            "-c",
            "echo hello from husk; id -u; echo $$; echo $HOME",
        ],
    );
    // pid 1 of a new pid namespace; HOME from the image's /etc/passwd (ctr
    // leaves it out of the spec; runc and husk fill it in).
    assert_eq!(out, "hello from husk\n0\n1\n/root\n");

    let status = ctrd
        .output(&mut ctrd.run(&unique("exit"), &["--rm"], &["sh", "-c", "exit 3"]))
        .status;
    assert_eq!(status.code(), Some(3), "ctr run passes the task's status");

    assert_eq!(ctrd.ok(&mut ctrd.ctr(["container", "ls", "-q"])), "");
    assert_eq!(ctrd.ok(&mut ctrd.ctr(["task", "ls", "-q"])), "");
    let husk_left: Vec<_> = std::fs::read_dir(ctrd.runtime_root())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(husk_left.is_empty(), "husk state left: {husk_left:?}");

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

#[test]
fn a_detached_task_runs_exec_ps_kill_all_and_delete() {
    ctrd_setup!();
    let ctrd = started();
    let id = unique("det");
    ctrd.ok(&mut ctrd.run(&id, &["-d"], &["sleep", "1000"]));
    let (pid, status) = ctrd.task(&id).expect("task listed");
    assert_eq!(status, "RUNNING");
    // husk is the runtime: its own state agrees with containerd's.
    let state = ctrd.husk_state(&id).expect("husk has the container");
    assert_eq!(state["status"], "running");
    assert_eq!(state["pid"], pid);
    assert_in_cgroup(pid, &ctrd.cgroup(&id));

    let out = exec_output(
        &ctrd,
        &id,
        "look",
        &[],
        &["sh", "-c", "echo in exec; tr '\\0' ' ' < /proc/1/cmdline"],
    );
    assert_eq!(out, "in exec\nsleep 1000 ");
    let out = exec_output(
        &ctrd,
        &id,
        "as-user",
        &["--cwd", "/tmp", "--user", "1000"],
        &["sh", "-c", "id -u; pwd; echo $HOME"],
    );
    // uid 1000 has no passwd entry: HOME is `/`, as runc makes it.
    assert_eq!(out, "1000\n/tmp\n/\n");
    let failed = ctrd.output(&mut ctrd.exec(&id, "fail", &[], &["sh", "-c", "exit 7"]));
    assert_eq!(failed.status.code(), Some(7), "exec passes the status");

    ctrd.ok(&mut ctrd.exec(&id, "bg", &["-d"], &["sleep", "500"]));
    let ps = ctrd.ok(&mut ctrd.ctr(["task", "ps", &id]));
    let pids: Vec<u32> = ps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "{ps}");
    assert!(pids.contains(&pid), "{ps}");
    let bg = ps
        .lines()
        .find(|l| l.contains("ExecID:bg"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no exec bg in {ps}"));
    let cmdline = std::fs::read(format!("/proc/{bg}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x00500\x00");
    assert_in_cgroup(bg, &ctrd.cgroup(&id));

    ctrd.ok(&mut ctrd.ctr(["task", "kill", "--all", "--signal", "SIGKILL", &id]));
    ctrd.wait_for_status(&id, "STOPPED");
    wait_gone(pid);
    wait_gone(bg);
    assert_eq!(ctrd.husk_state(&id).unwrap()["status"], "stopped");

    let deleted = ctrd.output(&mut ctrd.ctr(["task", "delete", &id]));
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert!(
        text(&deleted.stderr).contains("exit code 137"),
        "SIGKILL: {}",
        text(&deleted.stderr)
    );
    assert_eq!(ctrd.task(&id), None);
    assert!(ctrd.husk_state(&id).is_none(), "husk deleted it");
    for hier in oci_support::cgroup_mounts() {
        let cg = hier.join(ctrd.cgroup(&id).trim_start_matches('/'));
        assert!(!cg.exists(), "{} left after delete", cg.display());
    }
    ctrd.ok(&mut ctrd.ctr(["container", "rm", &id]));

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

#[test]
fn task_kill_sends_the_signal_asked_for_and_sigterm_by_default() {
    ctrd_setup!();
    let ctrd = started();
    let id = unique("sig");
    let script = "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 42' TERM; \
                  echo ready; while :; do sleep 1000 & wait $!; done";
    let (out, uri) = ctrd.log_uri("sig");
    let mut attached = ChildGuard::spawn(
        ctrd.run(&id, &["--log-uri", &uri], &["sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_text(&out, "ready\n");
    ctrd.ok(&mut ctrd.ctr(["task", "kill", "--signal", "SIGUSR1", &id]));
    wait_for_text(&out, "got USR1\n");
    assert_eq!(ctrd.task(&id).unwrap().1, "RUNNING", "USR1 was trapped");
    ctrd.ok(&mut ctrd.ctr(["task", "kill", &id]));

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = attached.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "ctr run did not end");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(42), "the TERM trap's exit status");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "ready\ngot USR1\ngot TERM\n"
    );
    // An attached `ctr run` deletes the task when it ends; the container
    // (no --rm) stays until `container rm`.
    assert_eq!(ctrd.task(&id), None);
    assert!(ctrd.husk_state(&id).is_none());
    ctrd.ok(&mut ctrd.ctr(["container", "rm", &id]));

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

/// Pause and resume, then the guard cleans up a task that is still
/// running.
#[test]
fn pause_resume_and_cleanup_of_a_running_task() {
    ctrd_setup!();
    let ctrd = started();
    let id = unique("pause");
    ctrd.ok(&mut ctrd.run(&id, &["-d"], &["sleep", "1000"]));
    ctrd.ok(&mut ctrd.ctr(["task", "pause", &id]));
    assert_eq!(ctrd.task(&id).unwrap().1, "PAUSED");
    assert_eq!(ctrd.husk_state(&id).unwrap()["status"], "paused");
    ctrd.ok(&mut ctrd.ctr(["task", "resume", &id]));
    assert_eq!(ctrd.task(&id).unwrap().1, "RUNNING");
    assert_eq!(ctrd.husk_state(&id).unwrap()["status"], "running");
    let out = exec_output(&ctrd, &id, "after", &[], &["echo", "resumed"]);
    assert_eq!(out, "resumed\n");

    let (pid, _) = ctrd.task(&id).unwrap();
    let trace = ctrd.trace();
    drop(ctrd);
    assert!(!live(pid), "the task's init outlived the guard");
    trace.assert_clean();
}

/// `ctr run --rm -t` with `runtime` under `script` (ctr needs a terminal
/// of its own): what the container wrote about its stdio to `/out/seen`,
/// a bind of a host directory (ctr's own copy of the pty is subject to
/// the attached-I/O race described in `containerd_support`).
fn on_a_terminal(ctrd: &Containerd, runtime: &Path) -> String {
    let id = unique("tty");
    let (out, _) = ctrd.log_uri(&id);
    std::fs::create_dir(&out).unwrap();
    let mount = format!("type=bind,src={},dst=/out,options=rbind:rw", out.display());
    let report = "exec 3>/out/seen; tty >&3; \
                  [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio on the tty >&3";
    let run = ctrd.run_with(
        runtime,
        &id,
        &["--rm", "-t", "--mount", &mount],
        &["sh", "-c", report],
    );
    let line: Vec<String> = std::iter::once(run.get_program())
        .chain(run.get_args())
        .map(|a| format!("'{}'", a.to_str().unwrap().replace('\'', r"'\''")))
        .collect();
    let shown = ctrd.output(Command::new("script").args(["-qec", &line.join(" "), "/dev/null"]));
    assert!(
        shown.status.success(),
        "{} {}",
        text(&shown.stdout),
        text(&shown.stderr)
    );
    std::fs::read_to_string(out.join("seen")).unwrap()
}

/// `ctr run -t`: husk gets `--console-socket`, hands the shim the pty
/// master, and the task's stdin, stdout and stderr are the pty, as with
/// runc.
#[test]
fn run_with_a_terminal() {
    ctrd_setup!();
    require_tool!("script");
    require_tool!("runc");
    let ctrd = started();
    let seen = on_a_terminal(&ctrd, &ctrd.runtime());
    assert_eq!(seen, "/dev/pts/0\nstdio on the tty\n");
    assert_eq!(seen, on_a_terminal(&ctrd, &common::which("runc").unwrap()));

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

/// What the container sees, with husk and with runc on the same image
/// and the same containerd: the same.
#[test]
fn the_container_sees_the_same_as_with_runc() {
    ctrd_setup!();
    require_tool!("runc");
    let ctrd = started();
    // /dev/core is left out: husk links it as crun does, runc only when
    // the host has /proc/kcore.
    let probe = "id; echo $$; pwd; env | sort; umask; hostname; \
                 grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; \
                 cat /proc/self/limits /proc/self/oom_score_adj; \
                 awk '{print $5, $6, $(NF-2), $(NF-1)}' /proc/self/mountinfo | sort; \
                 ls -l /dev | grep -v kcore | awk '{print $1, $3, $4, $NF}'";
    let runc = common::which("runc").unwrap();
    let with_runc = run_output(&ctrd, &runc, &unique("runc"), &["sh", "-c", probe]);
    let with_husk = run_output(
        &ctrd,
        &ctrd.runtime(),
        &unique("husk"),
        &["sh", "-c", probe],
    );
    assert!(with_husk.contains("CapBnd"), "{with_husk}");
    assert_eq!(with_husk, with_runc);

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

/// The shim cleans up after a container that may already be gone with
/// `delete --force ID`: as with runc, that succeeds; without `--force` an
/// unknown id is an error for both.
#[test]
fn delete_force_of_an_unknown_container_succeeds_as_with_runc() {
    require_root!();
    require_tool!("runc");
    let root = common::tempdir();
    let id = unique("gone");
    let runc = common::which("runc").unwrap();
    for force in [true, false] {
        let flags: &[&str] = if force {
            &["delete", "--force"]
        } else {
            &["delete"]
        };
        let mut runs = Vec::new();
        for mut cmd in [Command::new(&runc), common::husk(["oci"])] {
            let out = common::output(cmd.arg("--root").arg(root.path()).args(flags).arg(&id));
            runs.push(out.status.success());
        }
        assert_eq!(runs, [force, force], "delete (force: {force}): runc, husk");
    }
    assert!(!root.path().join(&id).exists());
}

/// A failing `create` (no such program): husk's error reaches the user
/// through the shim (which reads husk's `--log` JSON lines) and nothing of
/// the container is left.
#[test]
fn a_failed_create_reports_husks_error_through_ctr() {
    ctrd_setup!();
    let ctrd = started();
    let id = unique("bad");
    let out = ctrd.output(&mut ctrd.run(&id, &["--rm"], &["/no/such/program"]));
    let err = text(&out.stderr);
    assert!(!out.status.success());
    // As the shim words it around husk's own message from the log.
    assert!(
        err.contains("OCI runtime create failed")
            && err.contains("executable file not found")
            && err.contains("/no/such/program"),
        "{err}"
    );
    assert_eq!(ctrd.ok(&mut ctrd.ctr(["task", "ls", "-q"])), "");
    assert!(ctrd.husk_state(&id).is_none());
    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

/// ctr's options arrive in the spec husk runs: a memory limit on the
/// task's cgroup, a read-only root, env, cwd, a dropped capability.
#[test]
fn ctr_run_options_reach_the_container() {
    ctrd_setup!();
    let ctrd = started();
    let id = unique("opts");
    let limit = 64 << 20;
    let flags = [
        "-d",
        "--memory-limit",
        &limit.to_string(),
        "--read-only",
        "--env",
        "HUSKVAR=from-ctr",
        "--cwd",
        "/tmp",
        "--cap-drop",
        "CAP_NET_RAW",
    ];
    ctrd.ok(&mut ctrd.run(&id, &flags, &["sleep", "1000"]));
    let (pid, _) = ctrd.task(&id).unwrap();
    let memory = oci_support::cgroup_mounts()
        .into_iter()
        .map(|h| h.join(ctrd.cgroup(&id).trim_start_matches('/')))
        .find_map(|cg| {
            std::fs::read_to_string(cg.join("memory.limit_in_bytes"))
                .or_else(|_| std::fs::read_to_string(cg.join("memory.max")))
                .ok()
        })
        .expect("a memory cgroup");
    assert_eq!(memory.trim(), limit.to_string());
    // The shim reads the same cgroup for `task metrics`.
    let metrics = ctrd.ok(&mut ctrd.ctr(["task", "metrics", &id]));
    assert!(metrics.contains(&limit.to_string()), "{metrics}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let bnd = status.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    let bnd = u64::from_str_radix(bnd.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(bnd & (1 << 13), 0, "CAP_NET_RAW (13) dropped: {bnd:x}");
    assert_ne!(bnd & (1 << 0), 0, "CAP_CHOWN kept: {bnd:x}");

    let out = exec_output(
        &ctrd,
        &id,
        "look",
        &[],
        &[
            "sh",
            "-c",
            "pwd; echo $HUSKVAR; (echo x > /x) 2>/dev/null || echo read-only",
        ],
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["/tmp", "from-ctr", "read-only"],
        "{out}"
    );

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}

/// `task kill --all` of a paused task: the signal is acted on (the
/// runtime thaws the cgroup after signalling, as runc does), so the task
/// stops and can be deleted — the path of `ctr task delete --force`.
#[test]
fn kill_all_stops_a_paused_task_as_with_runc() {
    ctrd_setup!();
    require_tool!("runc");
    let ctrd = started();
    let runc = common::which("runc").unwrap();
    for runtime in [ctrd.runtime(), runc] {
        let id = unique("frozen");
        ctrd.ok(&mut ctrd.run_with(&runtime, &id, &["-d"], &["sleep", "1000"]));
        let (pid, _) = ctrd.task(&id).unwrap();
        ctrd.ok(&mut ctrd.ctr(["task", "pause", &id]));
        assert_eq!(ctrd.task(&id).unwrap().1, "PAUSED");
        ctrd.ok(&mut ctrd.ctr(["task", "kill", "--all", "--signal", "SIGKILL", &id]));
        ctrd.wait_for_status(&id, "STOPPED");
        wait_gone(pid);
        ctrd.ok(&mut ctrd.ctr(["task", "delete", &id]));
        ctrd.ok(&mut ctrd.ctr(["container", "rm", &id]));
    }

    let trace = ctrd.trace();
    drop(ctrd);
    trace.assert_clean();
}
