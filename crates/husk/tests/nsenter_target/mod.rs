//! A process in new namespaces to enter, for the `nsenter` and `ns` tests.
//!
//! Made with the system `unshare` (util-linux), so these tests do not
//! depend on husk's own `unshare`. `--kill-child` and the [`ChildGuard`]
//! make sure it dies with the test, even on failure.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{as_user, ChildGuard, TestUser};

/// A `sleep` running in new namespaces, with its own hostname.
pub struct Target {
    /// The `unshare` process; killing it kills the target.
    _guard: ChildGuard,
    /// The process inside the namespaces.
    pub pid: u32,
    /// Its hostname (set only with a new UTS namespace).
    pub hostname: String,
}

impl Target {
    /// `unshare --fork --kill-child FLAGS sh -c 'hostname H; echo ready;
    /// exec sleep'`, waiting until it is ready. `flags` pick namespaces.
    pub fn start(flags: &[&str], hostname: &str) -> Target {
        Target::spawn(Command::new("unshare"), flags, hostname, None, None)
    }

    /// Like [`Target::start`], with the target's working directory at `cwd`.
    pub fn start_in(flags: &[&str], hostname: &str, cwd: &Path) -> Target {
        Target::spawn(Command::new("unshare"), flags, hostname, Some(cwd), None)
    }

    /// Like [`Target::start`], run by the unprivileged test user.
    pub fn start_as(flags: &[&str], hostname: &str, user: TestUser) -> Target {
        Target::spawn(Command::new("unshare"), flags, hostname, None, Some(user))
    }

    fn spawn(
        mut cmd: Command,
        flags: &[&str],
        hostname: &str,
        cwd: Option<&Path>,
        user: Option<TestUser>,
    ) -> Target {
        let set_host = if flags.iter().any(|f| *f == "--uts" || *f == "-u") {
            format!("hostname {hostname} && ")
        } else {
            String::new()
        };
        cmd.args(["--fork", "--kill-child"])
            .args(flags)
            .args(["sh", "-c"])
            .arg(format!("{set_host}echo ready && exec sleep 600"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        } else {
            cmd.current_dir("/");
        }
        if let Some(user) = user {
            as_user(&mut cmd, user);
        }
        let mut guard = ChildGuard::spawn(&mut cmd);
        let mut line = String::new();
        let stdout = guard.0.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read readiness");
        assert_eq!(line.trim(), "ready", "target did not start: {cmd:?}");
        let pid = only_child(guard.pid());
        Target {
            _guard: guard,
            pid,
            hostname: hostname.to_owned(),
        }
    }

    /// `readlink /proc/PID/ns/KIND`'s inode.
    pub fn ns_ino(&self, kind: &str) -> u64 {
        ns_ino(self.pid, kind)
    }

    /// `/proc/PID/ns/KIND`.
    pub fn ns_path(&self, kind: &str) -> String {
        format!("/proc/{}/ns/{kind}", self.pid)
    }
}

/// The inode in `readlink /proc/PID/ns/KIND` (`net:[4026532290]`).
pub fn ns_ino(pid: u32, kind: &str) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).expect("readlink ns");
    let link = link.to_str().expect("utf-8 link");
    link.trim_start_matches(&format!("{kind}:["))
        .trim_end_matches(']')
        .parse()
        .unwrap_or_else(|_| panic!("bad ns link {link}"))
}

/// The single child of `parent` (the process `unshare --fork` made).
fn only_child(parent: u32) -> u32 {
    let path = format!("/proc/{parent}/task/{parent}/children");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = text.split_whitespace().next() {
            return pid.parse().expect("pid");
        }
        assert!(Instant::now() < deadline, "no child of {parent}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
