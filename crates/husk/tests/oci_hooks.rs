//! `husk oci` hooks (runtime-spec `config.md`): each kind runs at its
//! point with the state on stdin, in runc's (and crun's) order; a failing or
//! hung hook before `start` fails `create` and leaves nothing.
//! Needs root and busybox-static.

mod common;
mod oci_support;

use std::process::Command;
use std::time::{Duration, Instant};

use oci_support::{one_line_error, Bundle};
use serde_json::{json, Value};

/// The kinds in runtime-spec's order (`prestart` runs with `createRuntime`,
/// first).
const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// A hook that appends `NAME <state> mnt=.. pid=.. var=$HOOKVAR` as one
/// line to `log` (busybox, so the same works inside the container).
fn logging_hook(name: &str, log: &str) -> Value {
    let script = format!(
        "s=$(busybox cat); echo \"{name} $s mnt=$(busybox readlink /proc/self/ns/mnt) \
         pid=$(busybox readlink /proc/self/ns/pid) var=$HOOKVAR\" >> {log}"
    );
    json!({
        "path": "/bin/busybox",
        "args": ["busybox", "sh", "-c", script],
        "env": ["PATH=/bin", "HOOKVAR=hook-env"],
    })
}

/// A bundle whose every hook logs to `rootfs/hooks.log` (`startContainer`
/// runs after `pivot_root`: `/hooks.log` there), running `args`.
fn hooked_bundle(args: &[&str]) -> Bundle {
    let mut b = Bundle::new(args);
    let host_log = b.path().join("rootfs/hooks.log");
    let host_log = host_log.to_str().unwrap();
    let mut hooks = serde_json::Map::new();
    for kind in KINDS {
        let log = if kind == "startContainer" {
            "/hooks.log"
        } else {
            host_log
        };
        hooks.insert(kind.into(), json!([logging_hook(kind, log)]));
    }
    b.config["hooks"] = Value::Object(hooks);
    b.config["root"]["readonly"] = json!(false);
    b.save();
    b
}

/// The log's lines as (name, state, rest).
fn log_lines(b: &Bundle) -> Vec<(String, Value, String)> {
    let text = std::fs::read_to_string(b.path().join("rootfs/hooks.log")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let (name, rest) = l.split_once(' ').unwrap_or((l, ""));
            if name == "process" {
                return (name.to_owned(), Value::Null, String::new());
            }
            let end = rest.rfind(" mnt=").unwrap_or_else(|| panic!("{l}"));
            let state = serde_json::from_str(&rest[..end]).unwrap_or_else(|e| panic!("{e}: {l}"));
            (name.to_owned(), state, rest[end + 1..].to_owned())
        })
        .collect()
}

fn ns(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_hook_runs_at_its_stage_with_the_state() {
    setup!();
    let b = hooked_bundle(&["sh", "-c", "echo process >> /hooks.log; exec sleep 1000"]);
    let c = b.container("hooks");
    let out = c.create();
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    let pid = c.state()["pid"].as_i64().unwrap().to_string();
    let names = |b: &Bundle| log_lines(b).into_iter().map(|l| l.0).collect::<Vec<_>>();
    assert_eq!(names(&b), KINDS[..3], "after create");
    let out = c.cmd("start", &[]);
    assert!(out.status.success(), "start: {}", common::stderr(&out));
    wait_for("the process", || names(&b).contains(&"process".into()));
    assert_eq!(names(&b)[..4], KINDS[..4]);
    let host_mnt = ns("self", "mnt");
    let (ctr_mnt, ctr_pid) = (ns(&pid, "mnt"), ns(&pid, "pid"));
    let out = c.cmd("delete", &["--force"]);
    assert!(out.status.success(), "delete: {}", common::stderr(&out));
    c.reap(pid.parse().unwrap());
    c.assert_gone();

    let lines = log_lines(&b);
    let hooks: Vec<_> = lines.iter().filter(|l| l.0 != "process").collect();
    let order: Vec<_> = hooks.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(order, KINDS, "{lines:?}");
    let at = |n: &str| lines.iter().position(|l| l.0 == n).unwrap();
    assert!(at("startContainer") < at("process"));
    for (name, state, rest) in hooks {
        assert_eq!(state["id"], c.id.as_str(), "{name}");
        assert_eq!(state["bundle"], b.path().to_str().unwrap(), "{name}");
        assert_eq!(state["ociVersion"], "1.0.2-dev", "{name}");
        let (status, want_pid) = match name.as_str() {
            "prestart" | "createRuntime" | "createContainer" => ("creating", pid.as_str()),
            "startContainer" => ("created", pid.as_str()),
            "poststart" => ("running", pid.as_str()),
            _ => ("stopped", "0"),
        };
        assert_eq!(state["status"], status, "{name}");
        assert_eq!(state["pid"].to_string(), want_pid, "{name}");
        assert!(rest.ends_with(" var=hook-env"), "{name}: env: {rest}");
        let in_container = matches!(name.as_str(), "createContainer" | "startContainer");
        let want_mnt = if in_container { &ctr_mnt } else { &host_mnt };
        assert!(rest.contains(&format!("mnt={want_mnt} ")), "{name}: {rest}");
        if in_container {
            assert!(rest.contains(&format!("pid={ctr_pid} ")), "{name}: {rest}");
        }
    }
}

/// A config with one hook of `kind`: `script` run by busybox sh.
fn bundle_with_hook(kind: &str, script: &str, timeout: Option<u64>) -> Bundle {
    let mut b = Bundle::new(&["sleep", "1000"]);
    let mut hook = json!({"path": "/bin/busybox", "args": ["busybox", "sh", "-c", script]});
    if let Some(t) = timeout {
        hook["timeout"] = json!(t);
    }
    b.config["hooks"] = json!({ kind: [hook] });
    b.save();
    b
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    setup!();
    let b = bundle_with_hook("createRuntime", "exit 3", None);
    let c = b.container("hookfail");
    let err = one_line_error(&c.create());
    assert!(err.contains("createRuntime hook /bin/busybox"), "{err}");
    assert!(err.contains("exit status: 3"), "{err}");
    c.assert_gone();
}

#[test]
fn failing_create_container_hook_fails_create_and_leaves_nothing() {
    setup!();
    let b = bundle_with_hook("createContainer", "exit 4", None);
    let c = b.container("hookfail-cc");
    let err = one_line_error(&c.create());
    assert!(
        err.trim_end()
            .ends_with("createContainer hook /bin/busybox: exit status: 4"),
        "{err}"
    );
    c.assert_gone();
}

#[test]
fn failing_start_container_hook_fails_start() {
    setup!();
    let b = bundle_with_hook("startContainer", "exit 6", None);
    let c = b.container("hookfail-sc");
    let out = c.create();
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    let pid = c.state()["pid"].as_i64().unwrap();
    let err = one_line_error(&c.cmd("start", &[]));
    assert!(err.contains("startContainer hook failed"), "{err}");
    c.reap(i32::try_from(pid).unwrap());
    assert_eq!(c.status(), "stopped");
    let out = c.cmd("delete", &[]);
    assert!(out.status.success(), "delete: {}", common::stderr(&out));
    c.assert_gone();
}

#[test]
fn hook_timeout_kills_it_and_fails_create() {
    setup!();
    // The hook's pid, not `pgrep -f`: another run of this suite on the
    // machine has hooks with the same command line.
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let script = format!(
        "echo $$ > {}; exec busybox sleep 30",
        pid_file.path().display()
    );
    let b = bundle_with_hook("createRuntime", &script, Some(1));
    let c = b.container("hooktimeout");
    let started = Instant::now();
    let err = one_line_error(&c.create());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains("timed out after 1s"), "{err}");
    c.assert_gone();
    let pid: u32 = std::fs::read_to_string(pid_file.path())
        .unwrap()
        .trim()
        .parse()
        .expect("the hook wrote its pid");
    // Gone, or a zombie (empty command line) left to this subreaper.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("sleep"),
        "the hook was not killed"
    );
}

#[test]
fn failing_poststart_and_poststop_hooks_only_warn() {
    setup!();
    let mut b = bundle_with_hook("poststart", "exit 5", None);
    b.config["hooks"]["poststop"] = b.config["hooks"]["poststart"].clone();
    b.save();
    let c = b.container("hookwarn");
    assert!(c.create().status.success());
    let out = c.cmd("start", &[]);
    assert!(out.status.success(), "start: {}", common::stderr(&out));
    assert!(common::stderr(&out).contains("warning: poststart hook"));
    let pid = c.state()["pid"].as_i64().unwrap();
    let out = c.cmd("delete", &["--force"]);
    assert!(out.status.success(), "delete: {}", common::stderr(&out));
    assert!(common::stderr(&out).contains("warning: poststop hook"));
    c.reap(i32::try_from(pid).unwrap());
    c.assert_gone();
}

/// husk's `run` and crun's on the same bundle log the hooks in the same
/// order (but for crun's startContainer/poststart race) (crun 1.8 needs the hybrid host's cgroup2 unmounted: see
/// `oci_probe.rs`).
#[test]
fn hook_order_matches_crun() {
    setup!();
    if common::which("crun").is_none() {
        common::skip("needs crun for the comparison (scripts/setup)");
        return;
    }
    let b = hooked_bundle(&["true"]);
    let c = b.container("hookrun");
    let out = c.run(&[]);
    assert!(out.status.success(), "run: {}", common::stderr(&out));
    c.assert_gone();
    let ours: Vec<_> = log_lines(&b).into_iter().map(|l| l.0).collect();
    std::fs::remove_file(b.path().join("rootfs/hooks.log")).unwrap();
    let id = common::unique("hookcrun");
    let script = format!(
        "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root {0}/crun run --bundle {0} {id}",
        b.path().display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "crun run: {}", common::stderr(&out));
    let mut theirs: Vec<_> = log_lines(&b).into_iter().map(|l| l.0).collect();
    assert_eq!(ours, KINDS);
    // crun (like runc) runs startContainer after answering `start`'s FIFO,
    // so it races with poststart; husk answers after it (`start` waits).
    if let [.., a, b, _] = theirs.as_mut_slice() {
        if *a == "poststart" && *b == "startContainer" {
            std::mem::swap(a, b);
        }
    }
    assert_eq!(ours, theirs);
}

/// `process.terminal` with `--console-socket`: a test-side receiver (what
/// conmon or containerd do) gets the pty master over the socket, writes a
/// line to the container and reads its answer through it.
#[test]
fn console_socket_gets_the_pty_master() {
    setup!();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "echo ready; read x; echo got-$x; busybox tty; echo size $(busybox stty size); \
         [ -t 0 ] && echo stdin-tty",
    ]);
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    b.save();
    let sock = b.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        husk_sys::scm::recv_fd(std::os::fd::AsFd::as_fd(&conn)).unwrap()
    });
    let c = b.container("console");
    let mut cmd = b.oci(["create", "--console-socket"]);
    cmd.arg(&sock).arg("--bundle").arg(b.path()).arg(&c.id);
    let out = oci_support::detached_output(&mut cmd);
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    let (master, name) = receiver.join().unwrap();
    assert!(name.starts_with(b"/dev/pts/"), "{name:?}");
    let pid = c.state()["pid"].as_i64().unwrap();
    let out = c.cmd("start", &[]);
    assert!(out.status.success(), "start: {}", common::stderr(&out));
    let mut pty = std::fs::File::from(master);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut reader = pty.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 256];
        // Until the container closes its end (EIO).
        while let Ok(n @ 1..) = std::io::Read::read(&mut reader, &mut buf) {
            all.extend_from_slice(&buf[..n]);
            let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
        }
    });
    let wait_text = |want: &str| loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(text) if text.contains(want) => return text,
            Ok(_) => {}
            Err(_) => panic!("no {want:?} from the container"),
        }
    };
    wait_text("ready");
    std::io::Write::write_all(&mut pty, b"abc\n").unwrap();
    let text = wait_text("stdin-tty");
    assert!(text.contains("got-abc"), "{text}");
    assert!(text.contains("size 30 100"), "{text}");
    assert!(text.contains(std::str::from_utf8(&name).unwrap()), "{text}");
    c.reap(i32::try_from(pid).unwrap());
    let out = c.cmd("delete", &[]);
    assert!(out.status.success(), "delete: {}", common::stderr(&out));
    c.assert_gone();
}

#[test]
fn terminal_needs_a_console_socket() {
    setup!();
    let mut b = Bundle::new(&["true"]);
    b.config["process"]["terminal"] = json!(true);
    b.save();
    let c = b.container("noconsole");
    // Attached, the caller's terminal is used (tests/oci_tty.rs).
    let err = one_line_error(&c.run(&["--detach"]));
    assert!(
        err.contains("cannot allocate tty if husk will detach without setting console socket"),
        "{err}"
    );
    c.assert_gone();
}
