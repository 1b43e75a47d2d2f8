//! Shared helpers for husk's end-to-end tests.
//!
//! Tests run the real binary against the real kernel. Each resource a test
//! makes is named with a `husk` prefix and a unique suffix ([`unique`]) and
//! is owned by a guard that undoes it on Drop, so a failing test leaves
//! nothing behind. Tests that need root (or a tool) call [`require_root!`]
//! (or [`require_tool!`]): outside CI they print why they skip and record
//! the test's name in the skip log (`husk_testkit::skip_log`), which
//! `scripts/test` reports; with `CI=true` a skip is a failure.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Path of the husk binary under test.
pub fn husk_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_husk"))
}

/// `husk ARGS...` as a command, ready to run.
pub fn husk<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(husk_bin());
    cmd.args(args);
    cmd
}

/// `husk unshare ARGS...`.
pub fn unshare<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = husk(["unshare"]);
    cmd.args(args);
    cmd
}

/// `husk nsenter ARGS...`.
pub fn nsenter<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = husk(["nsenter"]);
    cmd.args(args);
    cmd
}

#[allow(unused_imports)] // used by `require_tool!`, which not every test file calls
pub use husk_testkit::which;

/// Reports that the running test skips (husk-testkit: a panic in CI; else a
/// line on stderr and in the skip log that `scripts/test` prints).
pub fn skip(why: &str) {
    husk_testkit::skip(env!("CARGO_CRATE_NAME"), why);
}

/// Returns from the calling test (after reporting) unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !rustix::process::geteuid().is_root() {
            $crate::common::skip("needs root");
            return;
        }
    };
}

/// Returns from the calling test (after reporting) unless `tool` is on PATH.
#[macro_export]
macro_rules! require_tool {
    ($tool:expr) => {
        if $crate::common::which($tool).is_none() {
            $crate::common::skip(&format!("needs {} on PATH", $tool));
            return;
        }
    };
}

/// A name no other test (or test run) uses: `husk-TAG-PID-N`.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "husk-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs a command to completion, capturing stdout and stderr.
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Stdout of a command that must succeed.
pub fn stdout_ok(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}: stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Stderr of a finished command, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The interface names in a `/proc/net/dev` listing.
pub fn net_dev_links(dev: &str) -> Vec<&str> {
    dev.lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect()
}

/// The pid of a process that has exited and been reaped.
pub fn gone_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

/// A temporary directory named `husk-...`, removed on Drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("husk-test-")
        .tempdir()
        .expect("create temp dir")
}

/// A directory holding links named `unshare`, `nsenter`, `lsns` to husk,
/// for testing argv[0] dispatch. Removed on Drop.
pub struct MultiCall {
    dir: tempfile::TempDir,
}

impl MultiCall {
    /// Symbolic links.
    pub fn new() -> MultiCall {
        let dir = tempdir();
        for name in ["unshare", "nsenter", "lsns"] {
            std::os::unix::fs::symlink(husk_bin(), dir.path().join(name)).expect("symlink");
        }
        MultiCall { dir }
    }

    /// Hard links: argv[0] (and `/proc/self/exe`) then name the link itself,
    /// with no `husk` anywhere to resolve to. Made in cargo's target tmp dir,
    /// on the binary's file system (a hard link cannot cross one).
    pub fn hard() -> MultiCall {
        let dir = tempfile::Builder::new()
            .prefix("husk-test-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("create temp dir");
        for name in ["unshare", "nsenter", "lsns"] {
            std::fs::hard_link(husk_bin(), dir.path().join(name)).expect("hard link");
        }
        MultiCall { dir }
    }

    /// The link called `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A child process that is killed and reaped on Drop unless it has exited.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn spawn(cmd: &mut Command) -> ChildGuard {
        ChildGuard(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}")),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A mount point that is lazily unmounted on Drop (if still mounted).
pub struct MountGuard(pub PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

/// Whether `path` is a mount point in the calling process's mount namespace.
pub fn is_mounted(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let want = path.to_str().expect("utf-8 path");
    info.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|mp| mp == want))
}

/// An unprivileged user for rootless tests, with /etc/subuid and /etc/subgid
/// ranges, created once (under a lock, tests run in parallel) and kept.
#[derive(Debug, Clone, Copy)]
pub struct TestUser {
    pub uid: u32,
    pub gid: u32,
    /// First id of the user's subordinate range (65536 ids).
    pub sub_start: u32,
}

pub const TEST_USER: &str = "husk-test";

/// The unprivileged test user, created if missing. Needs root.
pub fn test_user() -> TestUser {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/husk-user-setup.lock")
        .expect("open user lock");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).expect("lock");
    if id_of(TEST_USER, "-u").is_none() {
        let ok = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", TEST_USER])
            .status()
            .expect("run useradd");
        assert!(ok.success(), "useradd {TEST_USER} failed");
    }
    let sub_start = ensure_subid("/etc/subuid").max(ensure_subid("/etc/subgid"));
    TestUser {
        uid: id_of(TEST_USER, "-u").expect("uid"),
        gid: id_of(TEST_USER, "-g").expect("gid"),
        sub_start,
    }
}

fn id_of(user: &str, flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, user]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

/// Makes sure `file` gives the test user a range; returns its start.
fn ensure_subid(file: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    for line in text.lines() {
        let mut f = line.split(':');
        if f.next() == Some(TEST_USER) {
            return f.next().and_then(|s| s.parse().ok()).expect("subid start");
        }
    }
    // Take a range above every range already given out.
    let start = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':').skip(1);
            Some(f.next()?.parse::<u32>().ok()? + f.next()?.parse::<u32>().ok()?)
        })
        .max()
        .unwrap_or(100_000)
        .max(200_000);
    let mut text = text;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{TEST_USER}:{start}:65536\n"));
    std::fs::write(file, text).expect("write subid file");
    start
}

/// Runs `cmd` as the test user (no supplementary groups).
pub fn as_user(cmd: &mut Command, user: TestUser) -> &mut Command {
    cmd.uid(user.uid).gid(user.gid).env("HOME", "/tmp")
}
