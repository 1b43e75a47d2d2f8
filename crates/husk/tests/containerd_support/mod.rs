//! A private containerd for each test, driven with `ctr`, with husk as
//! the runtime binary (`ctr run --runc-binary <husk-runc link>`).
//!
//! Everything lives in one temp dir `husk-ctrd-XXXXXX`: containerd's
//! config, root and state, its gRPC and ttrpc sockets, the runtime's state
//! (`--runc-root`), ctr's I/O fifos (`--fifo-dir`), the tasks' output
//! files and the image. The containerd namespace is `husk-ctrd-PID-N` and
//! every container's cgroup is `/husk/<namespace>/<id>` (`--cgroup`;
//! containerd's default
//! `/<namespace>/<id>` would be outside the husk subtree). Two things
//! cannot move into the temp dir: containerd 1.6 puts each shim's socket
//! at `/run/containerd/s/<sha256 of address/namespace/id>`, which the guard
//! removes when a killed shim leaves it, and the directories
//! `/run/containerd/s` and `/run/containerd` themselves, shared by every
//! containerd on the machine: the last test guard to end removes them if
//! they are empty (every guard holds a shared lock on [`LOCK`] while it
//! lives; the one that gets it exclusively at the end is the last).
//!
//! The guard's Drop undoes it all even after a failed test: tasks killed
//! and deleted through ctr, shims and container processes killed by PID,
//! containerd stopped by PID, mounts under the temp dir detached, cgroups
//! removed, the temp dir deleted. [`Trace::assert_clean`] checks that.
//!
//! Output a test checks goes to a file through `--log-uri file://...`
//! ([`Containerd::log_uri`]): the shim copies the task's stdout and stderr
//! there and waits for the copy before it deletes the task. ctr 1.6's
//! attached I/O (fifos read by ctr) loses the output of a task that ends
//! quickly when the machine is loaded — with runc as well: on this 2-core
//! VM under load, `task exec echo` lost its line 1 time in 100 with runc
//! and 1–4 with husk, a `run --rm` probe lost everything 1 time in 60 with
//! runc; through `--log-uri`, 0 of 100 and 0 of 60 for both.
#![allow(dead_code)]

pub mod image;
mod leftovers;

pub use leftovers::Trace;
use leftovers::{
    kill_cgroup_tree, reap, reap_exited_shims, remove_cgroup_tree, shims_of, signal, unmount_under,
};

use std::cell::RefCell;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{husk, husk_bin, unique};

/// How long any one `ctr` (or containerd start) may take before the test
/// gives up on it: generous, the machine is shared and loaded.
const LIMIT: Duration = Duration::from_secs(90);

/// Held shared by every live guard (see the module doc).
const LOCK: &str = "/tmp/husk-ctrd.lock";

/// Where containerd 1.6 puts shim sockets, whatever its config says.
const SHIM_SOCKETS: &str = "/run/containerd/s";

/// Returns from the calling test (after reporting) unless running as root
/// with containerd, ctr, the runc v2 shim and busybox-static installed;
/// then makes the test a child subreaper, so that the shims (which
/// containerd daemonizes) are its children and can be reaped.
#[macro_export]
macro_rules! ctrd_setup {
    () => {
        require_root!();
        require_tool!("containerd");
        require_tool!("ctr");
        require_tool!("containerd-shim-runc-v2");
        if !std::path::Path::new($crate::oci_support::BUSYBOX).exists() {
            $crate::common::skip("needs busybox-static (scripts/setup)");
            return;
        }
        $crate::oci_support::adopt_orphans();
    };
}

/// A containerd of the running test. See the module doc.
pub struct Containerd {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    child: Option<Child>,
    lock: Option<std::fs::File>,
    /// The containerd namespace, also the name of the cgroup parent.
    pub ns: String,
    /// Every container id handed to `ctr run`, for the shim sockets.
    ids: RefCell<Vec<String>>,
}

impl Containerd {
    /// Writes the config, starts containerd and waits for its socket.
    pub fn start() -> Containerd {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK)
            .unwrap();
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockShared).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("husk-ctrd-")
            .tempdir()
            .expect("temp dir");
        let path = dir.path().to_owned();
        std::fs::write(path.join("config.toml"), config(&path)).unwrap();
        std::os::unix::fs::symlink(husk_bin(), path.join("husk-runc")).unwrap();
        let log = std::fs::File::create(path.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(path.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let mut c = Containerd {
            dir: Some(dir),
            path,
            child: Some(child),
            lock: Some(lock),
            ns: unique("ctrd"),
            ids: RefCell::new(Vec::new()),
        };
        c.wait_until_serving();
        c
    }

    /// Polls (bounded) until the gRPC socket accepts a connection.
    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + LIMIT;
        while std::os::unix::net::UnixStream::connect(self.sock()).is_err() {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "containerd did not come up ({exited:?}): {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The temp dir holding everything of this containerd.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// containerd's gRPC socket.
    pub fn sock(&self) -> PathBuf {
        self.path.join("c.sock")
    }

    /// The husk link handed to the shim as its runc binary.
    pub fn runtime(&self) -> PathBuf {
        self.path.join("husk-runc")
    }

    /// The runtime's state root for this namespace: the shim passes
    /// `--root <runc-root>/<namespace>`.
    pub fn runtime_root(&self) -> PathBuf {
        self.path.join("runc").join(&self.ns)
    }

    /// The cgroup path given to `ctr run --cgroup` for container `id`.
    pub fn cgroup(&self, id: &str) -> String {
        format!("/husk/{}/{id}", self.ns)
    }

    /// containerd's stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path.join("containerd.log")).unwrap_or_default()
    }

    /// `ctr --address S -n NS ARGS...`.
    pub fn ctr<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.sock())
            .args(["-n", &self.ns])
            .args(args);
        cmd
    }

    /// Builds the busybox image and imports it (unpacked into overlayfs).
    pub fn import_busybox(&self) {
        let dir = self.path.join("image");
        std::fs::create_dir(&dir).unwrap();
        let tar = image::build(&dir);
        let out = self.output(
            self.ctr(["images", "import", "--snapshotter", "overlayfs"])
                .arg(&tar),
        );
        assert!(out.status.success(), "import: {}", text(&out.stderr));
        let list = self.output(&mut self.ctr(["images", "ls", "-q"]));
        assert_eq!(text(&list.stdout).trim(), image::IMAGE);
    }

    /// `ctr run FLAGS --runc-binary <husk> ... IMAGE ID ARGS...`.
    pub fn run(&self, id: &str, flags: &[&str], args: &[&str]) -> Command {
        self.run_with(&self.runtime(), id, flags, args)
    }

    /// [`Containerd::run`] with another runtime binary (runc, for the
    /// differential tests).
    pub fn run_with(&self, runtime: &Path, id: &str, flags: &[&str], args: &[&str]) -> Command {
        self.ids.borrow_mut().push(id.to_owned());
        let mut cmd = self.ctr(["run"]);
        cmd.args(flags)
            .arg("--runc-binary")
            .arg(runtime)
            .arg("--runc-root")
            .arg(self.path.join("runc"));
        self.fifo_dir(&mut cmd, flags);
        cmd.args(["--cgroup", &self.cgroup(id)])
            .args(["--snapshotter", "overlayfs", image::IMAGE, id])
            .args(args);
        cmd
    }

    /// `ctr task exec --fifo-dir F --exec-id EXEC FLAGS ID ARGS...`.
    pub fn exec(&self, id: &str, exec_id: &str, flags: &[&str], args: &[&str]) -> Command {
        let mut cmd = self.ctr(["task", "exec"]);
        self.fifo_dir(&mut cmd, flags);
        cmd.args(["--exec-id", exec_id])
            .args(flags)
            .arg(id)
            .args(args);
        cmd
    }

    /// `--fifo-dir F` (ctr's fifos in the temp dir, not in
    /// `/run/containerd/fifo`) unless the task's I/O goes to `--log-uri`,
    /// which ctr refuses together with it.
    fn fifo_dir(&self, cmd: &mut Command, flags: &[&str]) {
        if !flags.contains(&"--log-uri") {
            cmd.arg("--fifo-dir").arg(self.path.join("fifo"));
        }
    }

    /// A file for a task's output: its path and the `--log-uri` value.
    pub fn log_uri(&self, name: &str) -> (PathBuf, String) {
        let dir = self.path.join("out");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let uri = format!("file://{}", path.display());
        (path, uri)
    }

    /// `ctr run --log-uri ...` (or `task exec`) that must succeed: what
    /// the task wrote to stdout and stderr.
    pub fn logged(&self, cmd: &mut Command, path: &Path) -> String {
        self.ok(cmd);
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Runs `cmd` to completion (bounded by [`LIMIT`]), stdin from
    /// `/dev/null`, stdout and stderr through files: a process started by
    /// the command may keep pipes open after it exits.
    pub fn output(&self, cmd: &mut Command) -> Output {
        bounded(cmd, LIMIT).unwrap_or_else(|| {
            panic!(
                "{cmd:?} did not finish in {LIMIT:?}; containerd: {}",
                self.log()
            )
        })
    }

    /// Stdout of a command that must succeed.
    pub fn ok(&self, cmd: &mut Command) -> String {
        let out = self.output(cmd);
        assert!(
            out.status.success(),
            "{cmd:?} failed ({}): {}{}",
            out.status,
            text(&out.stderr),
            self.runtime_log()
        );
        text(&out.stdout)
    }

    /// The shims' `log.json` files (husk's errors, as the shim reads them).
    fn runtime_log(&self) -> String {
        let dir = self
            .path
            .join("state/io.containerd.runtime.v2.task")
            .join(&self.ns);
        let mut out = String::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path().join("log.json")) {
                out.push_str(&format!("\n{}: {t}", e.path().display()));
            }
        }
        out
    }

    /// `ctr task ls` as (id, pid, status).
    pub fn tasks(&self) -> Vec<(String, u32, String)> {
        self.ok(&mut self.ctr(["task", "ls"]))
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Some((
                    f.first()?.to_string(),
                    f.get(1)?.parse().ok()?,
                    f.get(2)?.to_string(),
                ))
            })
            .collect()
    }

    /// The pid and status of task `id`.
    pub fn task(&self, id: &str) -> Option<(u32, String)> {
        self.tasks()
            .into_iter()
            .find(|t| t.0 == id)
            .map(|(_, pid, status)| (pid, status))
    }

    /// Polls (bounded) until task `id` has status `want`.
    pub fn wait_for_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let now = self.task(id);
            if now.as_ref().is_some_and(|(_, s)| s == want) {
                return;
            }
            assert!(Instant::now() < deadline, "task {id}: {now:?}, want {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// husk's own `state` of container `id` (read with husk, from the
    /// state root the shim gave it).
    pub fn husk_state(&self, id: &str) -> Option<Value> {
        let out = husk(["oci", "--root"])
            .arg(self.runtime_root())
            .args(["state", id])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// What to look for after the guard is gone.
    pub fn trace(&self) -> Trace {
        Trace {
            dir: self.path.clone(),
            ns: self.ns.clone(),
            containerd: self.child.as_ref().map_or(0, Child::id),
            shim_sockets: self.shim_sockets(),
        }
    }

    /// Where containerd 1.6 puts the shim socket of each container run.
    fn shim_sockets(&self) -> Vec<PathBuf> {
        let sock = self.sock();
        self.ids
            .borrow()
            .iter()
            .map(|id| {
                let key = format!("{}/{}/{id}", sock.display(), self.ns);
                Path::new(SHIM_SOCKETS).join(image::sha256_text(&key))
            })
            .collect()
    }

    /// Kills and deletes every task and container through ctr (each
    /// command bounded; errors ignored: this is cleanup).
    fn remove_through_ctr(&self) {
        let list = |what: &str| {
            bounded(&mut self.ctr([what, "ls", "-q"]), LIMIT)
                .map(|o| text(&o.stdout))
                .unwrap_or_default()
        };
        for id in list("task").lines() {
            let _ = bounded(
                &mut self.ctr(["task", "kill", "-a", "-s", "SIGKILL", id]),
                LIMIT,
            );
            let _ = bounded(&mut self.ctr(["task", "delete", "-f", id]), LIMIT);
        }
        for id in list("container").lines() {
            let _ = bounded(&mut self.ctr(["container", "rm", id]), LIMIT);
        }
    }

    /// Stops containerd by its pid: SIGTERM, then SIGKILL after a while.
    fn stop_containerd(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(child.id(), rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let shims = shims_of(&self.sock());
        if self.child.is_some() {
            self.remove_through_ctr();
        }
        let cgroup_parent = format!("husk/{}", self.ns);
        let mut leftover = kill_cgroup_tree(&cgroup_parent);
        for pid in shims {
            signal(pid, rustix::process::Signal::KILL);
            leftover.push(pid);
        }
        self.stop_containerd();
        for pid in leftover {
            reap(pid);
        }
        reap_exited_shims();
        let unmounted = unmount_under(&self.path);
        remove_cgroup_tree(&cgroup_parent);
        for s in self.shim_sockets() {
            let _ = std::fs::remove_file(s);
        }
        if let Some(dir) = self.dir.take() {
            if unmounted {
                let _ = dir.close();
            } else {
                // Never delete through a mount that is still there.
                eprintln!("leaving {} behind: mounts under it", dir.keep().display());
            }
        }
        if let Some(lock) = self.lock.take() {
            let last =
                rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive);
            if last.is_ok() {
                // Only when empty: a system containerd keeps its socket there.
                let shim_sockets = Path::new(SHIM_SOCKETS);
                let _ = std::fs::remove_dir(shim_sockets);
                let _ = std::fs::remove_dir(shim_sockets.parent().unwrap());
            }
        }
    }
}

/// The containerd config: version 2, root/state/sockets in `dir`, no
/// debug or metrics listener, no CRI (it wants CNI) and no plugin that
/// writes outside `dir` (`opt` makes `/opt/containerd`) or cannot work
/// here (aufs, btrfs, devmapper, zfs). The v1 runtime stays: containerd
/// 1.6's task service refuses to load without it.
fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{d}/c.sock"

[ttrpc]
  address = "{d}/c.sock.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""
"#
    )
}

/// Runs `cmd` with stdout/stderr in files; kills it and returns `None`
/// after `limit`.
pub fn bounded(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let dir = tempfile::Builder::new()
        .prefix("husk-ctrd-out")
        .tempdir()
        .unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Some(Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    })
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes `input` to `cmd`'s stdin; its stdout.
pub fn pipe_through(cmd: &mut Command, input: &[u8]) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    text(&child.wait_with_output().unwrap().stdout)
}
