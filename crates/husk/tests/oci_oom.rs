//! OOM kills: a container under a small memory limit that allocates until
//! the kernel's OOM killer kills it. `husk oci events` reports runc's
//! `{"type":"oom","id":ID}`, the container is `stopped`, init died of
//! SIGKILL, and an attached `run` exits 137 (128+9) as runc's does.

mod common;
mod oci_support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use common::ChildGuard;
use oci_support::Bundle;

/// A shell loop that doubles a string until the memory limit stops it.
const ALLOCATE: &str = "x=a; while :; do x=$x$x; done";

/// A bundle whose process runs `script` under a 32 MiB memory limit (swap
/// included, so nothing is swapped out instead).
fn limited(script: &str) -> Bundle {
    let mut b = Bundle::new(&["sh", "-c", script]);
    let limit = 32 << 20;
    b.config["linux"]["resources"]["memory"] = json!({"limit": limit, "swap": limit});
    b.save();
    b
}

/// The FIFO `/husk-go` in the rootfs: init reads a line from it before it
/// allocates, so the test decides when the OOM kill happens.
fn go_fifo(b: &Bundle) -> std::path::PathBuf {
    let fifo = b.path().join("rootfs/husk-go");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    fifo
}

/// Tells init to allocate: a line on its FIFO.
fn go(fifo: &std::path::Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(fifo)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
}

#[test]
fn events_reports_an_oom_kill() {
    setup!();
    // init waits for the test's word on a FIFO, so `events` is watching
    // before it allocates.
    let b = limited(&format!("read x < /husk-go; {ALLOCATE}"));
    let fifo = go_fifo(&b);
    let c = b.container("oom-events");
    let out = c.create();
    assert!(out.status.success(), "create: {}", common::stderr(&out));
    let pid = c.state()["pid"].as_i64().unwrap();
    let out = c.cmd("start", &[]);
    assert!(out.status.success(), "start: {}", common::stderr(&out));

    let mut events = ChildGuard::spawn(
        b.oci(["events", "--interval", "1h", &c.id])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = events.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(60));
    // The first stats event: `events` has opened the cgroup.
    let first: Value = serde_json::from_str(&next().expect("a stats event")).unwrap();
    assert_eq!(first["type"], "stats");
    assert_eq!(first["data"]["memory"]["usage"]["limit"], 32 << 20);
    go(&fifo);
    // Then the OOM event, and the stream ends with the container.
    let mut rest = Vec::new();
    loop {
        match next() {
            Ok(line) => rest.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            // Still running: fail (the guard kills it) rather than wait.
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("events did not end: {rest:?}"),
        }
    }
    let status = events.0.wait().unwrap();
    assert!(status.success(), "events: {status}");
    assert_eq!(
        rest,
        [format!(r#"{{"type":"oom","id":"{}"}}"#, c.id)],
        "events after the first"
    );
    assert_eq!(c.status(), "stopped");
    // init died of the OOM killer's SIGKILL (this test is its subreaper).
    let (_, st) = rustix::process::waitpid(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()),
        rustix::process::WaitOptions::empty(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(st.terminating_signal(), Some(libc::SIGKILL));
    // `events --stats` of a stopped container: a one-line error.
    let out = c.cmd("events", &["--stats"]);
    let err = oci_support::one_line_error(&out);
    assert!(err.contains("is stopped"), "{err}");
}

#[test]
fn run_exits_137_after_an_oom_kill() {
    setup!();
    let b = limited(ALLOCATE);
    let c = b.container("oom-run");
    let out = c.run(&[]);
    assert_eq!(out.status.code(), Some(137), "{}", common::stderr(&out));
    assert_eq!(common::stderr(&out), "");
    c.assert_gone();
}

/// `runc --root R ARGS...` for the same bundle (cgroup `/husk/ID`).
struct Runc {
    root: std::path::PathBuf,
    id: String,
}

impl Runc {
    fn new(b: &Bundle) -> Runc {
        Runc {
            root: b.path().join("runc-state"),
            id: common::unique("oom-runc"),
        }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new("runc");
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        let _ = self.cmd(&["delete", "--force", &self.id]).output();
    }
}

/// Whether `pid` watches OOM events the cgroup v1 way: an eventfd and the
/// `memory.oom_control` it registered it for, both open (runc keeps them
/// while it listens).
fn watches_oom_control(pid: u32) -> bool {
    let links: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|l| l.to_string_lossy().into_owned())
        .collect();
    links.iter().any(|l| l == "anon_inode:[eventfd]")
        && links.iter().any(|l| l.ends_with("/memory.oom_control"))
}

#[test]
fn runc_reports_the_same() {
    setup!();
    require_tool!("runc");
    // Exit status of an attached run.
    let mut b = limited(ALLOCATE);
    let runc = Runc::new(&b);
    b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", runc.id));
    b.save();
    let out =
        oci_support::detached_output(runc.cmd(&["run", "--bundle"]).arg(b.path()).arg(&runc.id));
    assert_eq!(out.status.code(), Some(137), "{}", common::stderr(&out));
    drop(runc);
    let c = b.container("oom-husk");
    b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", c.id));
    b.save();
    assert_eq!(c.run(&[]).status.code(), Some(137));

    // The event runc's `events` prints for an OOM kill.
    let mut b = limited(&format!("read x < /husk-go; {ALLOCATE}"));
    let fifo = go_fifo(&b);
    let runc = Runc::new(&b);
    b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", runc.id));
    b.save();
    let out = oci_support::detached_output(
        runc.cmd(&["create", "--bundle"])
            .arg(b.path())
            .arg(&runc.id),
    );
    assert!(
        out.status.success(),
        "runc create: {}",
        common::stderr(&out)
    );
    let out = runc.cmd(&["start", &runc.id]).output().unwrap();
    assert!(out.status.success(), "runc start: {}", common::stderr(&out));
    let mut events = ChildGuard::spawn(
        runc.cmd(&["events", "--interval", "1h", &runc.id])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    // runc watches once its eventfd is registered on the cgroup.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !watches_oom_control(events.pid()) {
        assert!(
            std::time::Instant::now() < deadline,
            "runc events never watched"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    go(&fifo);
    let stdout = events.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("runc printed no event");
    assert_eq!(
        line.trim_end(),
        format!(r#"{{"type":"oom","id":"{}"}}"#, runc.id)
    );
}
