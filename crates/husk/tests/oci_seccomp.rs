//! `linux.seccomp`: with `SCMP_ACT_NOTIFY` and `listenerPath`, a listener
//! in the test (a unix socket in the bundle) receives the container
//! process state and the notify fd from `husk oci create`, then answers the
//! container's notified syscalls itself; the container sees the answers.
//! Bad listener settings and filters fail `create` with one line and leave
//! nothing. A filter without `noNewPrivileges` is loaded while still
//! privileged (in init and in an exec'd process).

mod common;
mod oci_support;

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use serde_json::{json, Value};

use oci_support::{one_line_error, Bundle};

/// A seccomp config notifying `mkdir`/`mkdirat` to `listener`.
fn notify_config(listener: Option<&Path>, metadata: Option<&str>) -> Value {
    let mut sc = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    if let Some(p) = listener {
        sc["listenerPath"] = json!(p);
    }
    if let Some(m) = metadata {
        sc["listenerMetadata"] = json!(m);
    }
    sc
}

/// What the listener got: the state JSON and the notified syscalls.
struct Heard {
    state: Value,
    syscalls: Vec<String>,
}

/// Accepts one connection on `listener`, takes the notify fd and the
/// state, then answers notifications until every process of the filter is
/// gone: the first with `EPERM`, the others with a faked success (0).
fn listen(listener: UnixListener) -> JoinHandle<Heard> {
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let (fd, mut data) = husk_sys::scm::recv_fd_max(conn.as_fd(), 65536).expect("recv");
        conn.read_to_end(&mut data).expect("read the rest");
        let state: Value = serde_json::from_slice(&data).expect("state JSON");
        let syscalls = answer(&fd);
        Heard { state, syscalls }
    })
}

fn answer(fd: &OwnedFd) -> Vec<String> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    while Instant::now() < deadline {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        match poll(&mut fds, Some(&tick)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => panic!("poll: {e}"),
        }
        let ev = fds[0].revents();
        if ev.contains(PollFlags::IN) {
            let req = ScmpNotifReq::receive(fd.as_raw_fd()).expect("receive");
            let name = req.data.syscall.get_name().unwrap_or_default();
            let resp = if seen.is_empty() {
                ScmpNotifResp::new_error(req.id, -libc::EPERM, ScmpNotifRespFlags::empty())
            } else {
                ScmpNotifResp::new_val(req.id, 0, ScmpNotifRespFlags::empty())
            };
            seen.push(name);
            // The process may have died meanwhile (ENOENT): nothing to do.
            let _ = resp.respond(fd.as_raw_fd());
        } else if ev.intersects(PollFlags::HUP | PollFlags::ERR) {
            return seen;
        }
    }
    panic!("the filter's processes did not go away; saw {seen:?}");
}

#[test]
fn listener_gets_the_fd_and_answers_the_container() {
    setup!();
    let b = Bundle::new(&[
        "sh",
        "-c",
        "mkdir /x; echo x=$?; [ -d /x ] && echo x-exists || echo x-absent; \
         mkdir /y && echo y-ok; [ -d /y ] && echo y-exists || echo y-absent; \
         ls -l /proc/self/fd/ | grep -c seccomp; true",
    ]);
    let sock = b.path().join("husk-seccomp.sock");
    let heard = listen(UnixListener::bind(&sock).unwrap());
    let mut b = b;
    b.config["linux"]["seccomp"] = notify_config(Some(&sock), Some("husk-meta"));
    b.save();
    let c = b.container("notify");
    let out = c.run(&[]);
    // Checked before the join: a runtime that never connected would leave
    // the listener in accept() and the test hanging.
    assert!(out.status.success(), "{}", common::stderr(&out));
    let heard = heard.join().expect("listener");
    let text = String::from_utf8_lossy(&out.stdout);
    // The first mkdir got the listener's EPERM; the second its faked
    // success, and the kernel never made either directory. The notify fd
    // did not reach the container.
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["x=1", "x-absent", "y-ok", "y-absent", "0"],
        "stderr: {}",
        common::stderr(&out)
    );
    assert!(
        common::stderr(&out).contains("Operation not permitted"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(heard.syscalls.len(), 2, "{:?}", heard.syscalls);
    assert!(
        heard
            .syscalls
            .iter()
            .all(|s| s == "mkdir" || s == "mkdirat"),
        "{:?}",
        heard.syscalls
    );
    // The container process state of config-linux.md.
    let s = &heard.state;
    assert_eq!(s["fds"], json!(["seccompFd"]));
    assert_eq!(s["metadata"], "husk-meta");
    assert!(s["ociVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("1.")));
    let pid = s["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert_eq!(s["state"]["pid"], pid);
    assert_eq!(s["state"]["id"], c.id.as_str());
    assert_eq!(s["state"]["status"], "creating");
    assert_eq!(s["state"]["bundle"], b.path().to_str().unwrap());
    c.assert_gone();
}

#[test]
fn the_state_names_init_as_husk_state_does() {
    setup!();
    let mut b = Bundle::new(&["sleep", "100"]);
    let sock = b.path().join("husk-seccomp.sock");
    let heard = listen(UnixListener::bind(&sock).unwrap());
    b.config["linux"]["seccomp"] = notify_config(Some(&sock), None);
    b.save();
    let c = b.container("notify-created");
    let out = c.create();
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    // No metadata in the config: none in the state.
    let pid = c.state()["pid"].clone();
    let out = c.cmd("delete", &["--force"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    // The filter is released (the listener sees POLLHUP) once init is
    // reaped, by this test, its subreaper.
    c.reap(i32::try_from(pid.as_i64().unwrap()).unwrap());
    let heard = heard.join().expect("listener");
    assert_eq!(heard.state["pid"], pid);
    assert!(heard.state.get("metadata").is_none(), "{}", heard.state);
    assert!(heard.syscalls.is_empty());
}

#[test]
fn features_lists_the_notify_action() {
    setup!();
    let b = Bundle::new(&["true"]);
    let out = b.oci(["features"]).output().unwrap();
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sc = &f["linux"]["seccomp"];
    assert_eq!(sc["enabled"], true);
    let actions = sc["actions"].as_array().unwrap();
    assert!(actions.contains(&json!("SCMP_ACT_NOTIFY")), "{sc}");
    assert_eq!(
        sc["supportedFlags"].as_array().map(Vec::len),
        Some(3),
        "{sc}"
    );
}

#[test]
fn a_listener_path_without_notify_is_ignored() {
    setup!();
    let mut b = Bundle::new(&["sh", "-c", "echo ran"]);
    let sock = b.path().join("husk-seccomp.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
    });
    b.save();
    let c = b.container("notify-unused");
    let out = c.run(&[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    let err = listener.accept().map(drop).unwrap_err();
    assert_eq!(
        err.kind(),
        std::io::ErrorKind::WouldBlock,
        "the runtime connected"
    );
}

#[test]
fn bad_listener_settings_fail_cleanly() {
    setup!();
    let mut b = Bundle::new(&["true"]);
    let missing = b.path().join("husk-no-listener.sock");
    let not_listening = b.path().join("husk-closed.sock");
    // A socket file nobody listens on any more.
    drop(UnixListener::bind(&not_listening).unwrap());
    let cases = [
        (
            notify_config(None, None),
            "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath".to_owned(),
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"}),
            "linux.seccomp.listenerMetadata needs linux.seccomp.listenerPath".to_owned(),
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": missing}),
            "linux.seccomp.defaultAction cannot be SCMP_ACT_NOTIFY".to_owned(),
        ),
        (
            notify_config(Some(&missing), None),
            format!(
                "cannot connect to the seccomp listener {}: No such file or directory",
                missing.display()
            ),
        ),
        (
            notify_config(Some(&not_listening), None),
            format!(
                "cannot connect to the seccomp listener {}: Connection refused",
                not_listening.display()
            ),
        ),
    ];
    for (sc, want) in cases {
        b.config["linux"]["seccomp"] = sc;
        b.save();
        let c = b.container("notify-bad");
        let err = one_line_error(&c.run(&[]));
        assert_eq!(err, format!("husk oci run: {want}\n"));
        c.assert_gone();
    }
}

#[test]
fn a_filter_without_no_new_privs_is_loaded() {
    setup!();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "mkdir /x; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; sleep 1000",
    ]);
    b.config["process"]["noNewPrivileges"] = json!(false);
    // ENOMSG: an errno nothing else here would give.
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": libc::ENOMSG}]
    });
    b.save();
    let c = b.container("seccomp-nnp");
    let dir = common::tempdir();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut cmd = b.oci(["run", "--detach", "--bundle"]);
    cmd.arg(b.path())
        .arg(&c.id)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    assert!(cmd.status().unwrap().success());
    // The container's first lines, once it wrote them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&out).unwrap();
        if text.lines().count() >= 2 {
            break text;
        }
        assert!(Instant::now() < deadline, "no output: {text:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let status: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(status, ["NoNewPrivs: 0", "Seccomp: 2"]);
    let err = std::fs::read_to_string(&err).unwrap();
    assert!(err.contains("No message of desired type"), "{err}");
    // An exec'd process gets the same filter.
    let out = b
        .oci(["exec", &c.id, "sh", "-c", "mkdir /y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("No message of desired type"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn an_invalid_filter_fails_create() {
    setup!();
    let mut b = Bundle::new(&["true"]);
    // An architecture the spec names and libseccomp does not know.
    b.config["linux"]["seccomp"] =
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_SHEB"]});
    b.save();
    let c = b.container("seccomp-bad");
    let err = one_line_error(&c.create());
    assert_eq!(
        err,
        "husk oci create: container init: cannot set up seccomp: architecture: SCMP_ARCH_SHEB: Invalid argument\n"
    );
    c.assert_gone();
    // A flag libseccomp 2.5 cannot set is refused, not dropped.
    b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]});
    b.save();
    let c = b.container("seccomp-flag");
    let err = one_line_error(&c.create());
    assert_eq!(
        err,
        "husk oci create: container init: cannot set up seccomp: flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported: Invalid argument\n"
    );
    c.assert_gone();
}

#[test]
fn filter_flags_are_applied() {
    setup!();
    require_tool!("dmesg");
    // init itself runs mkdir, so the kernel's record names init's pid.
    let mut b = Bundle::new(&["sh", "-c", "exec mkdir /x"]);
    std::os::unix::fs::symlink("busybox", b.path().join("rootfs/bin/mkdir")).unwrap();
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    });
    b.save();
    let c = b.container("seccomp-log");
    let out = c.create();
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    let pid = c.state()["pid"].as_i64().unwrap();
    // SECCOMP_FILTER_FLAG_LOG: the kernel logs the errno action (without
    // it only kills are logged); an audit record (type 1326) names the pid.
    // Pids wrap (pid_max 32768): a record of an earlier run may name the
    // same pid, so only one more than before start counts.
    let want = format!(" pid={pid} comm=\"mkdir\" ");
    let records = || {
        let log = common::stdout_ok(std::process::Command::new("dmesg").arg("--notime"));
        log.lines()
            .filter(|l| l.contains("type=1326") && l.contains(&want))
            .count()
    };
    let before = records();
    let out = c.cmd("start", &[]);
    assert!(out.status.success(), "start: {}", common::stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if records() > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no seccomp audit record for pid {pid}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_exec_d_process_sends_its_fd_too() {
    setup!();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let sock = b.path().join("husk-seccomp.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    b.config["linux"]["seccomp"] = notify_config(Some(&sock), None);
    b.save();
    // One connection from create (init's filter), one from exec.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().expect("accept");
            let (fd, mut data) = husk_sys::scm::recv_fd_max(conn.as_fd(), 65536).expect("recv");
            conn.read_to_end(&mut data).expect("read the rest");
            let state: Value = serde_json::from_slice(&data).expect("state JSON");
            if tx.send((state, fd)).is_err() {
                return;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("a connection")
    };
    let c = b.container("notify-exec");
    let out = c.create();
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    let (created, _init_fd) = next();
    assert_eq!(created["state"]["status"], "creating");
    let out = c.cmd("start", &[]);
    assert!(out.status.success(), "start: {}", common::stderr(&out));
    let init_pid = c.state()["pid"].clone();
    let mut exec = b.oci(["exec", &c.id, "sh", "-c", "mkdir /x; echo x=$?"]);
    let exec = std::thread::spawn(move || exec.output().unwrap());
    let (state, fd) = next();
    let answered = std::thread::spawn(move || answer(&fd));
    let out = exec.join().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x=1\n");
    assert!(common::stderr(&out).contains("Operation not permitted"));
    let seen = answered.join().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    // The exec'd process's pid, the container's state.
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_ne!(state["pid"], init_pid);
    assert!(state["pid"].as_i64().is_some_and(|p| p > 0));
    assert_eq!(state["state"]["pid"], init_pid);
    assert_eq!(state["state"]["status"], "running");
}
