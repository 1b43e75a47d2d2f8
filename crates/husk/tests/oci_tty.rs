//! `process.terminal` on the caller's own terminal: attached `husk oci
//! run` and `exec -t` with no `--console-socket`, on the pty of util-linux
//! `script`; the transcript compared with runc's. Needs root,
//! busybox-static, script (and runc for the comparison).

mod common;
mod oci_support;

use std::path::Path;

use oci_support::pty::Script;
use oci_support::{detached_output, one_line_error, Bundle, Ctr};
use serde_json::json;

/// What the container does on its terminal: its name and size, a typed
/// line, then `^C` typed, which the pty's line discipline turns into a
/// SIGINT for the foreground process group (the shell's trap exits 3).
/// `trapped` comes from the child the shell waits for, so the shell is
/// past its `fork` when ^C is typed (a signal taken before it would wait
/// for the whole `sleep`).
const PROGRAM: &str = "tty; stty size; echo ready; read x; echo got:$x; \
    trap \"echo sigint; exit 3\" INT; sh -c \"echo trapped; exec sleep 1000\"";

/// [`PROGRAM`] with the size asked only after the typed line (for runc,
/// see [`run_on_the_callers_terminal_as_runc`]).
const PROGRAM_LATE_SIZE: &str = "tty; echo ready; read x; echo got:$x; stty size; \
    trap \"echo sigint; exit 3\" INT; sh -c \"echo trapped; exec sleep 1000\"";

/// A busybox bundle with `tty` and `stty`, running `args`.
fn bundle(args: &[&str], terminal: bool) -> Bundle {
    let mut b = Bundle::new(args);
    for applet in ["tty", "stty"] {
        std::os::unix::fs::symlink("busybox", b.path().join("rootfs/bin").join(applet)).unwrap();
    }
    b.config["process"]["terminal"] = json!(terminal);
    b.save();
    b
}

/// Runs `cmdline` on a 33x101 terminal, plays [`PROGRAM`]'s part, and
/// returns the exit code and the transcript (CRLF as LF).
fn session(cmdline: &str) -> (Option<i32>, String) {
    let (code, text) = raw_session(cmdline);
    (code, text.replace("\r\n", "\n"))
}

/// [`session`] for a comparison with runc: any run of CRs before a LF as
/// one LF. runc 1.1 makes the caller's terminal raw only once the process
/// runs, so its first lines may come out with the terminal's own CR added.
fn runc_session(cmdline: &str) -> (Option<i32>, String) {
    let (code, text) = raw_session(cmdline);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(l) => {
                out.push_str(l.trim_end_matches('\r'));
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    (code, out)
}

fn raw_session(cmdline: &str) -> (Option<i32>, String) {
    let mut s = Script::spawn(&format!("stty rows 33 cols 101; exec {cmdline}"));
    s.wait_for("ready");
    s.write(b"abc\n");
    s.wait_for("trapped");
    s.write(b"\x03");
    s.finish()
}

fn check(code: Option<i32>, text: &str) {
    assert_eq!(code, Some(3), "{text:?}");
    assert_eq!(
        text,
        "/dev/pts/0\n33 101\nready\nabc\ngot:abc\ntrapped\n^Csigint\n"
    );
}

fn husk_run(b: &Bundle, c: &Ctr) -> String {
    format!(
        "{} oci --root {} run --bundle {} {}",
        common::husk_bin().display(),
        b.root().display(),
        b.path().display(),
        c.id
    )
}

fn have_script() -> bool {
    if common::which("script").is_none() {
        common::skip("needs util-linux script");
        return false;
    }
    true
}

/// Attached `run` with `terminal: true`: the process gets a pty of the
/// caller's size, typed input (with `^C` as SIGINT), and its exit status
/// is the runtime's; nothing is left.
#[test]
fn run_on_the_callers_terminal() {
    setup!();
    if !have_script() {
        return;
    }
    let b = bundle(&["sh", "-c", PROGRAM], true);
    let c = b.container("tty-run");
    let (code, text) = session(&husk_run(&b, &c));
    check(code, &text);
    c.assert_gone();
}

/// The caller's terminal is back in its own mode afterwards (`stty -g`
/// the same), and the exit status is the container's.
#[test]
fn run_restores_the_callers_terminal() {
    setup!();
    if !have_script() {
        return;
    }
    let b = bundle(&["sh", "-c", "echo hi; exit 4"], true);
    let c = b.container("tty-restore");
    let s = Script::spawn(&format!(
        "a=$(stty -g); {}; rc=$?; [ \"$(stty -g)\" = \"$a\" ] && echo restored; exit $rc",
        husk_run(&b, &c)
    ));
    let (code, text) = s.finish();
    assert_eq!(
        (code, text.replace("\r\n", "\n")),
        (Some(4), "hi\nrestored\n".to_owned())
    );
    c.assert_gone();
}

/// The caller's terminal resized while the container runs (`stty` on it
/// sends the runtime SIGWINCH): the container's pty follows, and its
/// foreground process gets SIGWINCH. The runtime runs in the background of
/// `script`'s shell, which resizes once the container made `/ready`.
#[test]
fn run_follows_the_callers_window_size() {
    setup!();
    if !have_script() {
        return;
    }
    let mut b = bundle(
        &[
            "sh",
            "-c",
            "trap 'stty size; exit 7' WINCH; stty size; touch /ready; \
             while :; do sleep 1; done",
        ],
        true,
    );
    std::os::unix::fs::symlink("busybox", b.path().join("rootfs/bin/touch")).unwrap();
    b.config["root"]["readonly"] = json!(false);
    b.save();
    let c = b.container("tty-winch");
    let ready = b.path().join("rootfs/ready");
    let s = Script::spawn(&format!(
        "stty rows 33 cols 101; {} & i=0; \
         until [ -e {} ] || [ $i -gt 3000 ]; do sleep 0.01; i=$((i+1)); done; \
         stty rows 40 cols 90; wait $!",
        husk_run(&b, &c),
        ready.display()
    ));
    let (code, text) = s.finish();
    assert_eq!(
        (code, text.replace("\r\n", "\n")),
        (Some(7), "33 101\n40 90\n".to_owned())
    );
    c.assert_gone();
}

/// runc deletes its container on Drop (`--root` in the bundle's temp dir).
struct RuncCtr<'a> {
    root: &'a Path,
    id: String,
}

impl Drop for RuncCtr<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runc")
            .arg("--root")
            .arg(self.root)
            .args(["delete", "--force", &self.id])
            .output();
    }
}

/// The same bundle under `runc run` on the same terminal: the same
/// transcript (CRs aside) and the same status. The size is asked after the
/// typed line: runc 1.1 sizes the pty only once the process runs, so a
/// `stty size` at once may see 0x0 (husk sizes it before `start`).
#[test]
fn run_on_the_callers_terminal_as_runc() {
    setup!();
    require_tool!("runc");
    if !have_script() {
        return;
    }
    let mut b = bundle(&["sh", "-c", PROGRAM_LATE_SIZE], true);
    let root = b.path().join("runc-state");
    let c = RuncCtr {
        root: &root,
        id: common::unique("tty-runc"),
    };
    // runc's cgroup in husk's subtree too.
    b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", c.id));
    b.save();
    let runc = runc_session(&format!(
        "runc --root {} run --bundle {} {}",
        root.display(),
        b.path().display(),
        c.id
    ));
    let ours = b.container("tty-husk");
    b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", ours.id));
    b.save();
    assert_eq!(runc_session(&husk_run(&b, &ours)), runc);
    assert_eq!(runc.0, Some(3), "{runc:?}");
}

/// A running container (not on a terminal) for `exec -t`.
fn sleeping(c: &Ctr) {
    let out = c.run(&["--detach"]);
    assert!(out.status.success(), "run: {}", common::stderr(&out));
}

/// Attached `exec -t` with no console socket: the same on the caller's
/// terminal (with the caller's size from the start), and the same as
/// runc's `exec -t` into its own container.
#[test]
fn exec_tty_on_the_callers_terminal() {
    setup!();
    if !have_script() {
        return;
    }
    let b = bundle(&["sleep", "1000"], false);
    let c = b.container("tty-exec");
    sleeping(&c);
    let (code, text) = session(&format!(
        "{} oci --root {} exec -t {} sh -c '{PROGRAM}'",
        common::husk_bin().display(),
        b.root().display(),
        c.id
    ));
    check(code, &text);
    assert_eq!(c.status(), "running");
    if common::which("runc").is_none() {
        common::skip("needs runc for the comparison (scripts/setup)");
        return;
    }
    let root = b.path().join("runc-state");
    let theirs = RuncCtr {
        root: &root,
        id: common::unique("tty-runc-exec"),
    };
    let mut rb = bundle(&["sleep", "1000"], false);
    rb.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", theirs.id));
    rb.save();
    let out = detached_output(
        std::process::Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["run", "--detach", "--bundle"])
            .arg(rb.path())
            .arg(&theirs.id)
            .stdin(std::process::Stdio::null()),
    );
    assert!(out.status.success(), "runc run: {}", common::stderr(&out));
    let ours = runc_session(&format!(
        "{} oci --root {} exec -t {} sh -c '{PROGRAM_LATE_SIZE}'",
        common::husk_bin().display(),
        b.root().display(),
        c.id
    ));
    let runc = runc_session(&format!(
        "runc --root {} exec -t {} sh -c '{PROGRAM_LATE_SIZE}'",
        root.display(),
        theirs.id
    ));
    assert_eq!(ours, runc);
    assert_eq!(ours.0, Some(3));
}

/// stdin not a terminal (and at end of file at once): no raw mode, nothing
/// sent; the output still comes through the pty.
#[test]
fn run_with_stdin_not_a_terminal() {
    setup!();
    let b = bundle(&["sh", "-c", "tty; echo done"], true);
    let c = b.container("tty-null");
    let mut cmd = b.oci(["run", "--bundle"]);
    cmd.arg(b.path())
        .arg(&c.id)
        .stdin(std::process::Stdio::null());
    let out = detached_output(&mut cmd);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert_eq!(text, "/dev/pts/0\ndone\n");
    c.assert_gone();
}

/// A terminal with no console socket when the runtime will not stay
/// (`create`, `run --detach`, `exec --detach`): one line, as runc, and
/// nothing left.
#[test]
fn detached_terminal_needs_a_console_socket() {
    setup!();
    let b = bundle(&["sleep", "1000"], true);
    let c = b.container("tty-detach");
    for out in [c.create(), c.run(&["--detach"])] {
        let err = one_line_error(&out);
        assert!(
            err.contains("cannot allocate tty if husk will detach without setting console socket"),
            "{err}"
        );
        c.assert_gone();
    }
    let b = bundle(&["sleep", "1000"], false);
    let c = b.container("tty-exec-detach");
    sleeping(&c);
    let mut cmd = b.oci(["exec", "--detach", "--tty"]);
    cmd.arg(&c.id).args(["true"]);
    let err = one_line_error(&detached_output(&mut cmd));
    assert!(err.contains("cannot allocate tty"), "{err}");
    assert_eq!(c.status(), "running");
}
