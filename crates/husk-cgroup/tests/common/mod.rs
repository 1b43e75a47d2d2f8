//! Helpers for husk-cgroup's tests on the real kernel.
//!
//! Every cgroup a test makes is `/husk/husk-test-PID-N` (relative path, so
//! under husk's subtree), owned by a [`CgroupGuard`] that kills what is in
//! it and removes it, with the empty `husk` parent, on Drop, even when the
//! test fails. Every process a test starts is a [`Child`] killed and reaped
//! by PID on Drop. Tests that need root call `husk_testkit::require_root!`:
//! outside CI they report why they skip; with `CI=true` a skip is a failure.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use husk_cgroup::{Cgroup, CgroupGuard, CgroupPath, Hierarchies};

/// A cgroup path no other test (or test run) uses: `husk-test-PID-N`,
/// relative, so it lives at `/husk/husk-test-PID-N`.
pub fn unique() -> CgroupPath {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "husk-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    CgroupPath::parse(&name).expect("valid cgroup path")
}

/// A fresh test cgroup in `hier`, removed on Drop.
pub fn test_cgroup(hier: &Hierarchies) -> CgroupGuard {
    CgroupGuard::new(Cgroup::create(hier, &unique()).expect("create test cgroup"))
}

/// A child process killed (SIGKILL, by PID) and reaped on Drop.
pub struct Child(pub std::process::Child);

impl Child {
    /// `sh -c SCRIPT` with piped stdin and stdout.
    pub fn sh(script: &str) -> Child {
        let child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        Child(child)
    }

    /// `sleep 1000`.
    pub fn sleep() -> Child {
        Child(
            Command::new("sleep")
                .arg("1000")
                .spawn()
                .expect("spawn sleep"),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Sends a line to the child's stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.0.stdin.as_mut().expect("piped stdin");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().expect("flush");
    }

    /// Reads one line of the child's stdout.
    pub fn recv(&mut self) -> String {
        let stdout = self.0.stdout.as_mut().expect("piped stdout");
        let mut line = String::new();
        // One byte at a time: a BufReader would keep what follows.
        let mut reader = BufReader::with_capacity(1, stdout);
        reader.read_line(&mut line).expect("read from child");
        line.trim_end().to_owned()
    }

    /// Waits for the child and returns the signal that killed it.
    pub fn wait_signal(&mut self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.0.wait().expect("wait for child").signal()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The `voluntary_ctxt_switches` of a process: a sleeping loop bumps it
/// each round, a frozen one does not.
pub fn switches(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("voluntary_ctxt_switches")
}

/// Whether a process makes progress within a short while (after a short
/// settle: a task being frozen can switch once more on its way into the
/// freezer).
pub fn makes_progress(pid: u32) -> bool {
    std::thread::sleep(Duration::from_millis(100));
    let before = switches(pid);
    std::thread::sleep(Duration::from_millis(300));
    switches(pid) != before
}

/// The cgroup paths of a process (`/proc/PID/cgroup`), one line each.
pub fn proc_cgroup(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read /proc/PID/cgroup")
}
