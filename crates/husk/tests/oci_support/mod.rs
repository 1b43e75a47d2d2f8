//! Helpers for the OCI runtime tests: a busybox bundle in a temp dir, a
//! private state root, and a container guard that force-deletes on Drop.
#![allow(dead_code)]

pub mod pty;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{husk, unique};

/// Where Debian's busybox-static puts the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// A bundle (busybox rootfs + `config.json` from `husk oci spec`) and a
/// state root, both in one temp dir.
pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub config: Value,
}

impl Bundle {
    /// A busybox bundle running `args`, not on a terminal.
    pub fn new(args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("husk-oci")
            .tempdir()
            .expect("tempdir");
        let bin = dir.path().join("rootfs/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(BUSYBOX, bin.join("busybox")).expect("busybox-static is installed");
        for applet in [
            "sh", "true", "cat", "echo", "ls", "hostname", "id", "sleep", "grep", "awk", "pwd",
            "umask",
        ] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
        let out = husk(["oci", "spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read(dir.path().join("config.json")).unwrap();
        let mut config: Value = serde_json::from_slice(&text).unwrap();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        let b = Bundle { dir, config };
        b.save();
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The state root of this test (`--root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Writes `self.config` back to `config.json`.
    pub fn save(&self) {
        let text = serde_json::to_vec_pretty(&self.config).unwrap();
        std::fs::write(self.dir.path().join("config.json"), text).unwrap();
    }

    /// `husk oci --root ROOT ARGS...`.
    pub fn oci<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = husk(["oci", "--root"]);
        cmd.arg(self.root()).args(args);
        cmd
    }

    /// A new container id (not created yet) guarded for cleanup.
    pub fn container(&self, tag: &str) -> Ctr {
        Ctr {
            id: unique(tag),
            root: self.root(),
            bundle: self.path().to_owned(),
        }
    }
}

/// A container id; Drop force-deletes it (ignoring errors) and checks
/// nothing of it is left.
pub struct Ctr {
    pub id: String,
    pub root: PathBuf,
    pub bundle: PathBuf,
}

impl Ctr {
    fn oci(&self, args: &[&str]) -> Output {
        husk(["oci", "--root"])
            .arg(&self.root)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn create(&self) -> Output {
        let mut cmd = husk(["oci", "--root"]);
        cmd.arg(&self.root)
            .args(["create", "--bundle"])
            .arg(&self.bundle)
            .arg(&self.id);
        detached_output(&mut cmd)
    }

    pub fn run(&self, extra: &[&str]) -> Output {
        let mut cmd = husk(["oci", "--root"]);
        cmd.arg(&self.root)
            .arg("run")
            .args(extra)
            .arg("--bundle")
            .arg(&self.bundle)
            .arg(&self.id);
        detached_output(&mut cmd)
    }

    pub fn cmd(&self, verb: &str, extra: &[&str]) -> Output {
        let mut args = vec![verb];
        args.extend_from_slice(extra);
        args.push(&self.id);
        self.oci(&args)
    }

    /// `state ID` parsed.
    pub fn state(&self) -> Value {
        let out = self.cmd("state", &[]);
        assert!(
            out.status.success(),
            "state: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap().to_owned()
    }

    /// Reaps the container's init if this test process adopted it (the
    /// test process is a child subreaper, see [`adopt_orphans`]).
    pub fn reap(&self, pid: i32) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            for _ in 0..2000 {
                match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
                    Ok(Some(_)) | Err(_) => return,
                    Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
                }
            }
        }
    }

    /// Asserts nothing of this container is left: state dir, cgroup dirs,
    /// mounts of its rootfs, processes run from its root.
    pub fn assert_gone(&self) {
        assert!(
            !self.root.join(&self.id).exists(),
            "state dir of {} left",
            self.id
        );
        for hier in cgroup_mounts() {
            let dir = hier.join("husk").join(&self.id);
            assert!(!dir.exists(), "cgroup {} left", dir.display());
        }
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let rootfs = self.bundle.join("rootfs");
        assert!(
            !mounts.contains(rootfs.to_str().unwrap()),
            "mount of {} left",
            rootfs.display()
        );
        assert!(
            processes_in(&rootfs).is_empty(),
            "processes left in {}",
            rootfs.display()
        );
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let pid = std::fs::read(self.root.join(&self.id).join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
            .and_then(|v| v["pid"].as_i64());
        let _ = self.oci(&["delete", "--force", &self.id]);
        if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
            self.reap(pid);
        }
    }
}

/// Runs `cmd` with stdout and stderr in files: a created container's init
/// keeps the runtime's stdio open (as with runc), so pipes would not reach
/// end of file when the runtime exits.
pub fn detached_output(cmd: &mut Command) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let status = cmd
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

/// Returns from the calling test (after reporting) unless running as root
/// with busybox-static installed; then makes the test a child subreaper
/// ([`adopt_orphans`]).
#[macro_export]
macro_rules! setup {
    () => {
        require_root!();
        if !std::path::Path::new($crate::oci_support::BUSYBOX).exists() {
            $crate::common::skip("needs busybox-static (scripts/setup)");
            return;
        }
        $crate::oci_support::adopt_orphans();
    };
}

/// Makes the test process a child subreaper: a container's init, orphaned
/// when `husk oci create` exits, becomes its child and can be reaped (the
/// pid 1 of a test machine may not reap).
pub fn adopt_orphans() {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).unwrap();
}

/// Every mounted cgroup hierarchy (v1 controllers and cgroup2).
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect()
}

/// Pids whose root directory is `rootfs`. By the directory's device and
/// inode: after `pivot_root` in its own mount namespace, a container
/// process's `/proc/PID/root` reads as `/`, not as the rootfs path.
pub fn processes_in(rootfs: &Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let id = |m: std::fs::Metadata| (m.dev(), m.ino());
    let Ok(want) = std::fs::metadata(rootfs).map(id) else {
        return Vec::new(); // no rootfs, nothing can be in it
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let root = std::fs::read_link(format!("/proc/{pid}/root"));
        let root_id = std::fs::metadata(format!("/proc/{pid}/root")).map(id);
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')));
        let inside = root.is_ok_and(|r| r == rootfs) || root_id.is_ok_and(|r| r == want);
        if inside && !zombie {
            out.push(pid);
        }
    }
    out
}

/// stderr as text, asserting it is one line.
pub fn one_line_error(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    err
}
