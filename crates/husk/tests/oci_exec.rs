//! `husk oci exec`, `ps`, `pause`/`resume`, `update`, `events` on real
//! busybox containers; `exec` compared with crun's. Needs root and
//! busybox-static.

mod common;
mod oci_support;

use std::process::Output;

use oci_support::{detached_output, one_line_error, Bundle, Ctr};
use serde_json::{json, Value};

/// A bundle running `sleep 1000` with host name `huskbox`.
fn sleeper() -> Bundle {
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.config["hostname"] = json!("huskbox");
    b.config["process"]["env"] = json!(["PATH=/bin", "HUSKVAR=fromconfig"]);
    b.save();
    b
}

/// Runs the container detached and checks it is running.
fn running(b: &Bundle, tag: &str) -> Ctr {
    let c = b.container(tag);
    let out = c.run(&["--detach"]);
    assert!(out.status.success(), "run: {}", common::stderr(&out));
    assert_eq!(c.status(), "running");
    c
}

/// `husk oci exec [opts] ID ARGS...`.
fn exec(b: &Bundle, c: &Ctr, opts: &[&str], args: &[&str]) -> Output {
    let mut cmd = b.oci(["exec"]);
    cmd.args(opts).arg(&c.id).args(args);
    detached_output(&mut cmd)
}

/// A process exec'd with `--detach`: its parent is this test process (the
/// subreaper), which must reap it before the container's init can finish
/// exiting. Killed and reaped on Drop (declare it after the `Ctr`).
struct Detached(i32);

impl Detached {
    fn from_pid_file(path: &std::path::Path) -> Detached {
        let text = std::fs::read_to_string(path).unwrap();
        Detached(text.trim().parse().unwrap())
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
    }
}

/// `exec --detach --pid-file` of `args`.
fn exec_detached(b: &Bundle, c: &Ctr, args: &[&str]) -> Detached {
    let pid_file = b.path().join(format!("exec-{}.pid", common::unique("p")));
    let out = exec(
        b,
        c,
        &["-d", "--pid-file", pid_file.to_str().unwrap()],
        args,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    Detached::from_pid_file(&pid_file)
}

fn text(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", common::stderr(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn init_pid(c: &Ctr) -> i64 {
    c.state()["pid"].as_i64().unwrap()
}

#[test]
fn exec_sees_the_container() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-sees");
    let out = text(&exec(
        &b,
        &c,
        &[],
        &[
            "sh",
            "-c",
            "hostname; echo pid=$$; id -u; readlink /proc/1/exe; echo $HUSKVAR; ls /",
        ],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "huskbox", "{out}");
    // A pid of the container's pid namespace (init is 1), not the host's.
    let pid: u32 = lines[1].trim_start_matches("pid=").parse().unwrap();
    assert!(pid < 100, "{out}");
    assert_eq!(lines[2], "0");
    assert_eq!(lines[3], "/bin/busybox", "{out}");
    assert_eq!(lines[4], "fromconfig");
    // The container's root: only what the bundle has.
    assert!(
        out.contains("\nbin\n") && !out.contains("\nhome\n"),
        "{out}"
    );
    // Same namespaces and cgroups as init, seen from the host.
    let sleep = exec_detached(&b, &c, &["sleep", "100"]);
    let (pid, init) = (sleep.0, init_pid(&c));
    for what in [
        "ns/mnt",
        "ns/pid",
        "ns/uts",
        "ns/ipc",
        "ns/net",
        "ns/cgroup",
        "root",
    ] {
        let ours = std::fs::read_link(format!("/proc/{pid}/{what}")).unwrap();
        let theirs = std::fs::read_link(format!("/proc/{init}/{what}")).unwrap();
        assert_eq!(ours, theirs, "{what}");
    }
    let cg = |p: String| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        cg(format!("/proc/{pid}/cgroup")),
        cg(format!("/proc/{init}/cgroup"))
    );
    // Not dumpable was reset by execve: the process is an ordinary one.
    assert_eq!(
        std::fs::read(format!("/proc/{pid}/cmdline")).unwrap(),
        b"sleep\x00100\x00"
    );
}

#[test]
fn exec_options_env_cwd_user_caps() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-opts");
    let out = text(&exec(
        &b,
        &c,
        &["-e", "FOO=bar", "--cwd", "/bin", "-u", "1000:1001"],
        &[
            "sh",
            "-c",
            "echo $FOO $HUSKVAR; pwd; id -u; id -g; grep CapEff /proc/self/status",
        ],
    ));
    assert_eq!(
        out.lines().take(4).collect::<Vec<_>>(),
        ["bar fromconfig", "/bin", "1000", "1001"],
        "{out}"
    );
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    // --cap adds to the sets (as runc since CVE-2022-29162, not to the
    // inheritable one: a non-root user loses it at execve).
    let cap_eff = |opts: &[&str]| {
        let out = text(&exec(
            &b,
            &c,
            opts,
            &["grep", "CapEff", "/proc/self/status"],
        ));
        let hex = out.trim().rsplit('\t').next().unwrap().to_owned();
        u64::from_str_radix(&hex, 16).unwrap()
    };
    const SYS_ADMIN: u64 = 1 << 21;
    assert_eq!(cap_eff(&[]) & SYS_ADMIN, 0);
    assert_ne!(cap_eff(&["--cap", "CAP_SYS_ADMIN"]) & SYS_ADMIN, 0);
    // --process: the whole process from a file.
    let file = b.path().join("process.json");
    let p = json!({"args": ["sh", "-c", "echo $A; pwd"], "env": ["A=1", "PATH=/bin"],
                   "cwd": "/bin", "user": {"uid": 0, "gid": 0}, "noNewPrivileges": true});
    std::fs::write(&file, p.to_string()).unwrap();
    let out = text(&exec(&b, &c, &["--process", file.to_str().unwrap()], &[]));
    assert_eq!(out, "1\n/bin\n");
}

#[test]
fn exec_is_confined_like_init() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-confined");
    let out = text(&exec(
        &b,
        &c,
        &["-u", "1000"],
        &[
            "sh",
            "-c",
            "ls /proc/self/fd; grep -E 'NoNewPrivs|Seccomp:' /proc/self/status",
        ],
    ));
    // No fd of the runtime in the process (CVE-2024-21626): 0-2 and ls's own.
    let fds: Vec<&str> = out.lines().take_while(|l| !l.contains(':')).collect();
    assert!(fds.len() <= 4, "fds leaked: {out}");
    // The default config sets noNewPrivileges.
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
}

#[test]
fn exec_exit_status_and_signals() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-status");
    let out = exec(&b, &c, &[], &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let out = exec(&b, &c, &[], &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + 15));
    let out = exec(&b, &c, &[], &["true"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn exec_detach_writes_pid_file() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-detach");
    let sleep = exec_detached(&b, &c, &["sleep", "100"]);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", sleep.0)).unwrap();
    assert_eq!(cmdline, b"sleep\x00100\x00");
    // In the container's pid namespace: a small pid there.
    let status = std::fs::read_to_string(format!("/proc/{}/status", sleep.0)).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    let inner: u32 = nspid.split_whitespace().last().unwrap().parse().unwrap();
    assert!(inner < 100, "{nspid}");
}

#[test]
fn exec_into_stopped_or_unknown_container_fails() {
    setup!();
    let b = Bundle::new(&["true"]);
    let c = b.container("exec-stopped");
    let out = c.run(&["--detach"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let pid = c.state()["pid"].as_i64().unwrap();
    c.reap(i32::try_from(pid).unwrap());
    assert_eq!(c.status(), "stopped");
    let err = one_line_error(&exec(&b, &c, &[], &["true"]));
    assert!(err.contains("stopped"), "{err}");
    let ghost = b.container("exec-ghost");
    let err = one_line_error(&exec(&b, &ghost, &[], &["true"]));
    assert!(err.contains("does not exist"), "{err}");
    // A missing program and a missing command are one-line errors too.
    let b = sleeper();
    let c = running(&b, "exec-missing");
    let err = one_line_error(&exec(&b, &c, &[], &["no-such-program"]));
    assert!(err.contains("no-such-program"), "{err}");
    let out = exec(&b, &c, &[], &[]);
    assert!(!out.status.success());
    assert!(common::stderr(&out).contains("no command"));
    let err = one_line_error(&exec(&b, &c, &["--detach", "--tty"], &["true"]));
    assert!(err.contains("cannot allocate tty"), "{err}");
    let sock = b.path().join("unused.sock");
    let err = one_line_error(&exec(
        &b,
        &c,
        &["--console-socket", sock.to_str().unwrap()],
        &["true"],
    ));
    assert!(err.contains("needs process.terminal"), "{err}");
}

/// What an exec'd shell on a terminal reports: its tty, whether stdin is
/// one, its session and controlling tty from `/proc/self/stat`, the size.
const ON_A_TTY: &str = "echo ready; read x; echo got-$x; tty; [ -t 0 ] && echo stdin-tty; \
    read -r pid comm state ppid pgrp sid ttynr rest < /proc/self/stat; \
    [ $sid = $pid ] && echo session-leader; [ $ttynr != 0 ] && echo has-ctty; \
    echo size $(busybox stty size); echo done";

/// Reads what [`ON_A_TTY`] prints through the pty master it got over
/// `--console-socket`, after answering its `read` (and its size, when the
/// process asked for one: busybox `stty` fails on a 0x0 terminal).
fn check_exec_tty(console: oci_support::pty::Console, size: Option<&str>) {
    let (mut pty, name) = console.master();
    assert!(name.starts_with("/dev/pts/"), "{name}");
    pty.wait_for("ready");
    pty.write(b"abc\n");
    let text = pty.wait_for("done");
    for want in [
        "got-abc",
        "stdin-tty",
        "session-leader",
        "has-ctty",
        name.as_str(),
    ]
    .into_iter()
    .chain(size)
    {
        assert!(text.contains(want), "{want:?} missing: {text}");
    }
}

/// `exec --tty --console-socket` (what `podman exec -it` runs, through
/// conmon): the master of a pty from the container's devpts arrives on the
/// socket; the process is a session leader with the slave as stdio and
/// controlling terminal.
#[test]
fn exec_tty_sends_the_pty_master() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-tty");
    let console = oci_support::pty::Console::listen(&b.path().join("exec.sock"));
    let pid_file = b.path().join("exec-tty.pid");
    let out = exec(
        &b,
        &c,
        &[
            "--detach",
            "--tty",
            "--console-socket",
            console.path.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
        &["sh", "-c", ON_A_TTY],
    );
    assert!(out.status.success(), "exec: {}", common::stderr(&out));
    let _process = Detached::from_pid_file(&pid_file);
    check_exec_tty(console, None);
}

/// The same with `--process FILE` (podman's way): `terminal` and
/// `consoleSize` come from the file; attached, exec waits and passes on the
/// exit status.
#[test]
fn exec_process_file_with_terminal_and_size() {
    setup!();
    let b = sleeper();
    let c = running(&b, "exec-tty-file");
    let console = oci_support::pty::Console::listen(&b.path().join("exec.sock"));
    let process = b.path().join("process.json");
    let spec = json!({
        "terminal": true, "consoleSize": {"height": 20, "width": 70},
        "args": ["sh", "-c", format!("{ON_A_TTY}; exit 5")], "cwd": "/",
        "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}
    });
    std::fs::write(&process, spec.to_string()).unwrap();
    let mut cmd = b.oci(["exec", "--tty", "--console-socket"]);
    cmd.arg(&console.path)
        .arg("--process")
        .arg(&process)
        .arg(&c.id);
    let exec = std::thread::spawn(move || detached_output(&mut cmd));
    check_exec_tty(console, Some("size 20 70"));
    let out = exec.join().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", common::stderr(&out));
}

fn pids_json(b: &Bundle, c: &Ctr) -> Vec<u32> {
    let out = text(&detached_output(
        b.oci(["ps", "--format", "json"]).arg(&c.id),
    ));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn ps_lists_init_and_exec() {
    setup!();
    let b = sleeper();
    let c = running(&b, "ps");
    let init = u32::try_from(init_pid(&c)).unwrap();
    assert_eq!(pids_json(&b, &c), [init]);
    let exec_sleep = exec_detached(&b, &c, &["sleep", "999"]);
    let sleep = exec_sleep.0.unsigned_abs();
    let mut want = vec![init, sleep];
    want.sort_unstable();
    assert_eq!(pids_json(&b, &c), want);
    let table = text(&detached_output(b.oci(["ps"]).arg(&c.id)));
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("PID"), "{table}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().any(|r| r.contains("sleep 999")), "{table}");
    assert!(rows.iter().any(|r| r.contains("sleep 1000")), "{table}");
}

/// The state letter of `/proc/PID/stat`.
fn proc_state(pid: i64) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit_once(") ").unwrap().1.chars().next().unwrap()
}

#[test]
fn pause_and_resume() {
    setup!();
    let b = sleeper();
    let c = running(&b, "pause");
    let pid = init_pid(&c);
    let out = c.cmd("pause", &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(c.status(), "paused");
    // Frozen: the v1 freezer's tasks show D (cgroup2's: T), and the
    // freezer says so.
    let frozen = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .find_map(|l| l.split_once(":freezer:").map(|(_, p)| p.to_owned()))
        .map(|p| {
            std::fs::read_to_string(format!("/sys/fs/cgroup/freezer{p}/freezer.state")).unwrap()
        });
    if let Some(state) = frozen {
        assert_eq!(state.trim(), "FROZEN");
    }
    assert!(matches!(proc_state(pid), 'D' | 'T'), "{}", proc_state(pid));
    let err = one_line_error(&exec(&b, &c, &[], &["true"]));
    assert!(err.contains("paused"), "{err}");
    let err = one_line_error(&c.cmd("pause", &[]));
    assert!(err.contains("paused"), "{err}");
    let out = c.cmd("resume", &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(c.status(), "running");
    assert_eq!(proc_state(pid), 'S');
    let err = one_line_error(&c.cmd("resume", &[]));
    assert!(err.contains("running"), "{err}");
    // A paused container can be deleted with --force.
    assert!(c.cmd("pause", &[]).status.success());
    let out = c.cmd("delete", &["--force"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    c.reap(i32::try_from(pid).unwrap());
    c.assert_gone();
}

#[test]
fn update_pids_limit_then_fork_fails() {
    setup!();
    let b = sleeper();
    let c = running(&b, "update");
    // init, the exec'd sh: one more fork is allowed, the second is not.
    let out = c.cmd("update", &["--pids-limit", "3"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let out = exec(&b, &c, &[], &["sh", "-c", "sleep 1 & sleep 1 & wait"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("fork"),
        "{}",
        common::stderr(&out)
    );
    // --resources from a file, then stdin; flags override the file.
    let file = b.path().join("res.json");
    std::fs::write(
        &file,
        r#"{"pids":{"limit":50},"memory":{"limit":104857600}}"#,
    )
    .unwrap();
    let out = c.cmd(
        "update",
        &["--resources", file.to_str().unwrap(), "--pids-limit", "40"],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let stats = events_stats(&c);
    assert_eq!(stats["data"]["pids"]["limit"], 40);
    assert_eq!(stats["data"]["memory"]["usage"]["limit"], 104857600);
    assert!(exec(&b, &c, &[], &["sh", "-c", "sleep 0 & sleep 0 & wait"])
        .status
        .success());
    let err = one_line_error(&c.cmd("update", &["--memory", "lots"]));
    assert!(err.contains("lots"), "{err}");
}

fn events_stats(c: &Ctr) -> Value {
    let out = c.cmd("events", &["--stats"]);
    let t = text(&out);
    assert_eq!(t.lines().count(), 1, "{t}");
    // runc's field order.
    assert!(t.starts_with(r#"{"type":"stats","id":"#), "{t}");
    serde_json::from_str(&t).unwrap()
}

#[test]
fn events_stats_json() {
    setup!();
    let b = sleeper();
    let c = running(&b, "events");
    let v = events_stats(&c);
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], c.id.as_str());
    assert!(
        v["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert_eq!(v["data"]["pids"]["current"], 1, "{v}");
    assert!(v["data"]["cpu"]["usage"]["total"].is_u64(), "{v}");
    // Streaming: one event per interval, ending when the container stops.
    let mut cmd = b.oci(["events", "--interval", "100ms"]);
    cmd.arg(&c.id);
    let mut child = common::ChildGuard::spawn(cmd.stdout(std::process::Stdio::piped()));
    std::thread::sleep(std::time::Duration::from_millis(350));
    let pid = init_pid(&c);
    assert!(b.oci(["kill", &c.id, "KILL"]).status().unwrap().success());
    c.reap(i32::try_from(pid).unwrap());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(child.0.wait().unwrap().success());
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 2, "{lines:?}");
}

/// `events` watching a container that `delete --force` removes (state and
/// cgroup gone): the stream ends with status 0, as runc's ends when the
/// cgroup goes, not with an error about the cgroup's files.
#[test]
fn events_ends_cleanly_when_the_container_is_deleted() {
    setup!();
    let b = sleeper();
    let c = running(&b, "events-deleted");
    let mut cmd = b.oci(["events", "--interval", "1h"]);
    cmd.arg(&c.id)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = common::ChildGuard::spawn(&mut cmd);
    // The first stats event: `events` has opened the cgroup.
    let mut first = String::new();
    let mut stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with(r#"{"type":"stats""#), "{first:?}");
    let pid = init_pid(&c);
    let out = c.cmd("delete", &["--force"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    c.reap(i32::try_from(pid).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(std::time::Instant::now() < deadline, "events still running");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "events: {status}: {err}");
    assert_eq!(err, "");
}

/// The same execs, by `RUNTIME...` (husk oci or crun), into a container of
/// the bundle: output and exit statuses, one block per exec.
const COMPARE: &str = r#"
R=$1; B=$2; ID=$3; shift 3
"$@" --root $R run -d --bundle $B $ID >/dev/null 2>&1 </dev/null
"$@" --root $R exec -e PATH=/bin -e FOO=bar --cwd /bin -u 1000:1001 $ID sh -c 'hostname; id; pwd; echo $FOO; ls /proc/self/fd; grep -E "^Cap|Seccomp:" /proc/self/status; exit 7'
echo rc=$?
"$@" --root $R exec $ID sh -c 'kill -TERM $$'; echo rc=$?
"$@" --root $R exec $ID sh -c 'id; pwd; ls /; grep -E "^Cap|Seccomp:" /proc/self/status'; echo rc=$?
"$@" --root $R exec $ID no-such-program 2>/dev/null; [ $? -ne 0 ] && echo failed
"$@" --root $R delete -f $ID
"#;

#[test]
fn exec_matches_crun() {
    setup!();
    if common::which("crun").is_none() {
        common::skip("needs crun for the comparison (scripts/setup)");
        return;
    }
    let b = sleeper();
    let state = b.root();
    let husk_id = common::unique("exec-cmp");
    let ours = std::process::Command::new("sh")
        .args(["-c", COMPARE, "sh"])
        .arg(&state)
        .arg(b.path())
        .arg(&husk_id)
        .arg(common::husk_bin())
        .arg("oci")
        .output()
        .unwrap();
    // crun 1.8 refuses this hybrid host; in a mount namespace without the
    // cgroup2 mount it sees a v1 host (see oci_probe.rs).
    let crun_id = common::unique("exec-crun");
    let script = format!("umount /sys/fs/cgroup/unified 2>/dev/null; {COMPARE}");
    let theirs = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(b.path().join("crun"))
        .arg(b.path())
        .arg(&crun_id)
        .arg("crun")
        .output()
        .unwrap();
    let (ours, theirs) = (
        String::from_utf8_lossy(&ours.stdout).into_owned(),
        String::from_utf8_lossy(&theirs.stdout).into_owned(),
    );
    assert!(ours.contains("rc=7\nrc=143\n"), "{ours}");
    assert_eq!(ours, theirs, "husk:\n{ours}\ncrun:\n{theirs}");
}

#[test]
fn exec_in_a_user_namespace() {
    setup!();
    let mut b = sleeper();
    let linux = &mut b.config["linux"];
    linux["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    linux["uidMappings"] = map.clone();
    linux["gidMappings"] = map;
    b.save();
    // The container's root is host uid 200000: it must reach the bundle
    // and own its rootfs (as in oci_probe.rs).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let rootfs = b.path().join("rootfs");
    for d in ["proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    let st = std::process::Command::new("chown")
        .args(["-hR", "200000:200000"])
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(st.success());
    let c = running(&b, "exec-userns");
    let out = text(&exec(
        &b,
        &c,
        &["-u", "1000:1000"],
        &["sh", "-c", "id -u; id -g; cat /proc/self/uid_map; hostname"],
    ));
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words,
        ["1000", "1000", "0", "200000", "65536", "huskbox"],
        "{out}"
    );
}
