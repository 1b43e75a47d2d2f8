//! `husk oci` run by the unprivileged `husk-test` user (rootless): the
//! container is in a user namespace whose maps are written directly (one
//! id) or through `newuidmap`/`newgidmap` (subordinate ranges), there is no
//! cgroup (a one-line warning says so), the state lives under
//! `$XDG_RUNTIME_DIR/husk`, and privileged requests fail with one line and
//! leave nothing. The suite runs as root to create the user; each command
//! runs as the user with a clean environment.

mod common;
mod oci_support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{husk_bin, test_user, unique, TestUser};
use oci_support::{cgroup_mounts, detached_output, one_line_error, processes_in, BUSYBOX};

/// A rootless setup: a husk-prefixed temp dir owned by the user, holding
/// the bundle (`bundle/`, busybox rootfs, config from `spec --rootless`) and
/// the user's private `XDG_RUNTIME_DIR` (`husk-xdg/`, mode 0700).
struct Rootless {
    dir: tempfile::TempDir,
    user: TestUser,
    config: Value,
    run: Runner,
}

/// How to run husk as the user in a [`Rootless`] setup.
#[derive(Clone)]
struct Runner {
    user: TestUser,
    home: PathBuf,
}

impl Runner {
    fn bundle(&self) -> PathBuf {
        self.home.join("bundle")
    }

    fn xdg(&self) -> PathBuf {
        self.home.join("husk-xdg")
    }

    /// The default state root of a rootless caller.
    fn state_root(&self) -> PathBuf {
        self.xdg().join("husk")
    }

    /// `husk ARGS...` as the user, in the bundle, with only `PATH`, `HOME`
    /// and `XDG_RUNTIME_DIR` set (std drops root's supplementary groups
    /// when it sets the uid).
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(husk_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", self.xdg())
            .current_dir(self.bundle())
            .uid(self.user.uid)
            .gid(self.user.gid);
        cmd
    }

    /// Runs `husk ARGS...` as the user; stdio in files (a created
    /// container's init keeps the runtime's stdio open).
    fn husk(&self, args: &[&str]) -> Output {
        detached_output(&mut self.cmd(args))
    }
}

impl Rootless {
    fn new(args: &[&str]) -> Rootless {
        let user = test_user();
        let dir = tempfile::Builder::new()
            .prefix("husk-rootless-")
            .tempdir()
            .expect("tempdir");
        let bin = dir.path().join("bundle/rootfs/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(BUSYBOX, bin.join("busybox")).unwrap();
        for applet in ["sh", "cat", "id", "touch", "chown", "stat", "sleep", "grep"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
        let xdg = dir.path().join("husk-xdg");
        std::fs::create_dir(&xdg).unwrap();
        std::fs::set_permissions(&xdg, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        chown_tree(dir.path(), user);
        let run = Runner {
            user,
            home: dir.path().to_owned(),
        };
        let mut r = Rootless {
            dir,
            user,
            config: Value::Null,
            run,
        };
        let out = r.husk(&["oci", "spec", "--rootless"]);
        assert!(out.status.success(), "spec: {}", common::stderr(&out));
        let text = std::fs::read(r.bundle().join("config.json")).unwrap();
        r.config = serde_json::from_slice(&text).unwrap();
        r.config["process"]["terminal"] = json!(false);
        r.config["process"]["args"] = json!(args);
        r.save();
        r
    }

    fn bundle(&self) -> PathBuf {
        self.run.bundle()
    }

    fn xdg(&self) -> PathBuf {
        self.run.xdg()
    }

    fn state_root(&self) -> PathBuf {
        self.run.state_root()
    }

    /// Writes the config back (root rewrites the user's file in place, so
    /// it stays the user's).
    fn save(&self) {
        let text = serde_json::to_vec_pretty(&self.config).unwrap();
        std::fs::write(self.bundle().join("config.json"), text).unwrap();
    }

    fn husk(&self, args: &[&str]) -> Output {
        self.run.husk(args)
    }

    fn oci(&self, verb: &str, id: &str) -> Output {
        self.husk(&["oci", verb, id])
    }

    /// A container id, deleted (as the user) on Drop.
    fn container(&self, tag: &str) -> Ctr {
        Ctr {
            run: self.run.clone(),
            id: unique(tag),
        }
    }

    /// Asserts nothing of `id` is left: state dir, cgroup dirs, processes.
    fn assert_gone(&self, id: &str) {
        assert!(!self.state_root().join(id).exists(), "state dir left");
        assert_no_cgroup(id);
        let rootfs = self.bundle().join("rootfs");
        assert!(processes_in(&rootfs).is_empty(), "processes left");
    }
}

/// The user's container; Drop force-deletes it as the user and reaps init
/// (the test process is a child subreaper: `setup!`).
struct Ctr {
    run: Runner,
    id: String,
}

impl Ctr {
    fn state(&self) -> Value {
        let out = self.run.husk(&["oci", "state", &self.id]);
        assert!(out.status.success(), "state: {}", common::stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let pid = std::fs::read(self.run.state_root().join(&self.id).join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
            .and_then(|v| v["pid"].as_i64())
            .and_then(|p| i32::try_from(p).ok());
        let _ = self.run.husk(&["oci", "delete", "--force", &self.id]);
        if let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
        }
    }
}

fn chown_tree(path: &Path, user: TestUser) {
    std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), user);
        }
    }
}

fn assert_no_cgroup(id: &str) {
    for hier in cgroup_mounts() {
        let dir = hier.join("husk").join(id);
        assert!(!dir.exists(), "cgroup {} made", dir.display());
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed with {}: {}",
        out.status,
        common::stderr(out)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn rows(text: &str) -> Vec<Vec<u32>> {
    text.lines()
        .map(|l| l.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect()
}

/// The one warning of a rootless `create` on a host where the user has no
/// cgroup of its own.
fn assert_cgroup_warning(out: &Output, id: &str) {
    let err = common::stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("husk: warning: no cgroup delegated to this user, running without one (cannot create cgroup /sys/fs/cgroup/"),
        "{err}"
    );
    // The level that could not be made: the container's own, or `/husk`
    // itself when no test holds it at the moment.
    assert!(
        err.contains(&format!("/husk/{id}: Permission denied)"))
            || err.contains("/husk: Permission denied)"),
        "{err}"
    );
}

/// The error line of a failed rootless `create`: the cgroup warning, then
/// exactly one line.
fn error_after_warning(out: &Output) -> String {
    let err = common::stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("husk: warning: no cgroup delegated"),
        "{err}"
    );
    lines[1].to_owned()
}

#[test]
fn spec_rootless_maps_the_caller_to_root() {
    setup!();
    let r = Rootless::new(&[
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map",
    ]);
    let (u, g) = (r.user.uid, r.user.gid);
    assert_eq!(
        r.config["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": u, "size": 1}])
    );
    let types: Vec<&str> = r.config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"user") && !types.contains(&"network"),
        "{types:?}"
    );
    let c = r.container("rl-map");
    let out = r.husk(&["oci", "run", &c.id]);
    let text = ok(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("0"));
    assert_eq!(lines.next(), Some("0"));
    let maps = rows(&lines.collect::<Vec<_>>().join("\n"));
    assert_eq!(maps, [vec![0, u, 1], vec![0, g, 1]]);
    assert_cgroup_warning(&out, &c.id);
    r.assert_gone(&c.id);
}

#[test]
fn subordinate_ranges_are_mapped_through_newuidmap() {
    setup!();
    require_tool!("newuidmap");
    require_tool!("newgidmap");
    let mut r = Rootless::new(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; touch /f; chown 1000:1000 /f; stat -c '%u %g' /f",
    ]);
    let s = r.user.sub_start;
    for key in ["uidMappings", "gidMappings"] {
        r.config["linux"][key]
            .as_array_mut()
            .unwrap()
            .push(json!({"containerID": 1, "hostID": s, "size": 65536}));
    }
    r.config["root"]["readonly"] = json!(false);
    for set in ["bounding", "effective", "permitted"] {
        r.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_CHOWN"));
    }
    r.save();
    let c = r.container("rl-range");
    let out = r.husk(&["oci", "run", &c.id]);
    let text = ok(&out);
    let lines: Vec<&str> = text.lines().collect();
    let (u, g) = (r.user.uid, r.user.gid);
    assert_eq!(
        rows(&lines[..4].join("\n")),
        [
            vec![0, u, 1],
            vec![1, s, 65536],
            vec![0, g, 1],
            vec![1, s, 65536]
        ]
    );
    // Inside, the file belongs to 1000; on the host, to the subordinate
    // id 1000 maps to (the range starts at container id 1).
    assert_eq!(lines[4], "1000 1000");
    let meta = std::fs::metadata(r.bundle().join("rootfs/f")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (s + 999, s + 999));
    assert_cgroup_warning(&out, &c.id);
}

#[test]
fn lifecycle_under_xdg_runtime_dir() {
    setup!();
    let r = Rootless::new(&["sleep", "1000"]);
    let c = r.container("rl-life");
    let out = r.husk(&["oci", "run", "--detach", &c.id]);
    ok(&out);
    assert_cgroup_warning(&out, &c.id);
    // The state is the user's, in $XDG_RUNTIME_DIR/husk (mode 0700).
    let root = std::fs::metadata(r.state_root()).unwrap();
    assert_eq!((root.uid(), root.mode() & 0o777), (r.user.uid, 0o700));
    assert!(r.state_root().join(&c.id).join("state.json").is_file());
    let state = c.state();
    assert_eq!(state["status"], "running");
    assert_eq!(state["owner"], common::TEST_USER);
    let pid = state["pid"].as_i64().unwrap();
    // On the host, init runs as the user and in no husk cgroup.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uids: Vec<u32> = uid_line
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(uids, [r.user.uid; 4]);
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(!cgroups.contains(&c.id), "{cgroups}");
    assert_no_cgroup(&c.id);
    let list = ok(&r.husk(&["oci", "list", "-q"]));
    assert_eq!(list.lines().collect::<Vec<_>>(), [c.id.as_str()]);
    // `exec` joins the container's namespaces (not the host's network
    // namespace it shares: that one is not the user's to join).
    let out = ok(&r.husk(&[
        "oci",
        "exec",
        &c.id,
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; readlink /proc/1/exe",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(rows(lines[1]), [vec![0, r.user.uid, 1]]);
    assert_eq!(lines[2], "/bin/busybox", "pid 1 is the container's sleep");
    let own = |ns: &str| std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
    assert_eq!(own("net"), std::fs::read_link("/proc/self/ns/net").unwrap());
    ok(&r.husk(&["oci", "kill", &c.id, "KILL"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.state()["status"] != "stopped" {
        assert!(Instant::now() < deadline, "not stopped after SIGKILL");
        std::thread::sleep(Duration::from_millis(10));
    }
    ok(&r.oci("delete", &c.id));
    assert_eq!(ok(&r.husk(&["oci", "list", "-q"])), "");
    r.assert_gone(&c.id);
    // And it is gone for the user's `state` too.
    let err = one_line_error(&r.oci("state", &c.id));
    assert!(err.contains(&c.id), "{err}");
}

#[test]
fn ids_outside_the_subordinate_ranges_fail_cleanly() {
    setup!();
    require_tool!("newuidmap");
    let mut r = Rootless::new(&["true"]);
    r.config["linux"]["uidMappings"]
        .as_array_mut()
        .unwrap()
        .push(json!({"containerID": 1, "hostID": 0, "size": 10}));
    r.save();
    let c = r.container("rl-unmapped");
    let out = r.husk(&["oci", "run", &c.id]);
    assert!(!out.status.success());
    let err = error_after_warning(&out);
    assert!(
        err.starts_with("husk oci run: newuidmap failed with exit status 1: uid range [1-11) -> [0-10) not allowed"),
        "{err}"
    );
    r.assert_gone(&c.id);
    assert_eq!(ok(&r.husk(&["oci", "list", "-q"])), "");
}

#[test]
fn privileged_requests_fail_cleanly() {
    setup!();
    // Limits need a cgroup the user does not have.
    let mut r = Rootless::new(&["true"]);
    r.config["linux"]["resources"] = json!({"pids": {"limit": 10}});
    r.save();
    let c = r.container("rl-limits");
    let err = one_line_error(&r.husk(&["oci", "run", &c.id]));
    assert!(
        err.starts_with("husk oci run: cannot create cgroup /sys/fs/cgroup/"),
        "{err}"
    );
    assert!(
        err.ends_with(&format!("/husk/{}: Permission denied\n", c.id)),
        "{err}"
    );
    r.assert_gone(&c.id);
    // Joining the host's network namespace needs CAP_SYS_ADMIN over it.
    r.config["linux"]["resources"] = Value::Null;
    r.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "network", "path": "/proc/1/ns/net"}));
    r.save();
    let c = r.container("rl-joinnet");
    let out = r.husk(&["oci", "run", &c.id]);
    assert!(!out.status.success());
    assert_eq!(
        error_after_warning(&out),
        "husk oci run: container init: cannot open namespace /proc/1/ns/net: Permission denied"
    );
    r.assert_gone(&c.id);
}

/// A cgroup `/husk/NAME` in every hierarchy, delegated to the user as a
/// service manager would: the directory and its `cgroup.procs`/`tasks`
/// (and cgroup2's `cgroup.subtree_control`) are the user's, cpuset has its
/// parent's cpus and mems. Removed (with what the user made in it) on Drop.
struct Delegated {
    name: String,
    dirs: Vec<PathBuf>,
}

impl Delegated {
    fn new(user: TestUser) -> Delegated {
        // Made as husk makes cgroups (every level, v1 cpuset filled from its
        // parent, a level pruned meanwhile by another test made again; a
        // failure half-way removes what it made), then guarded at once.
        let name = unique("deleg");
        let hier = husk_cgroup::Hierarchies::detect().expect("cgroup hierarchies");
        let path = husk_cgroup::CgroupPath::parse(&format!("/husk/{name}")).unwrap();
        let cg = husk_cgroup::Cgroup::create(&hier, &path).expect("delegated cgroup");
        let deleg = Delegated {
            name,
            dirs: cg.dirs().map(Path::to_owned).collect(),
        };
        for dir in &deleg.dirs {
            for file in ["", "cgroup.procs", "tasks", "cgroup.subtree_control"] {
                let path = dir.join(file);
                if path.exists() {
                    std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid)).unwrap();
                }
            }
        }
        deleg
    }

    /// `procs` files to write a pid to, one per hierarchy.
    fn procs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        for dir in &self.dirs {
            if let Ok(children) = std::fs::read_dir(dir) {
                for c in children.flatten().filter(|c| c.path().is_dir()) {
                    let _ = std::fs::remove_dir(c.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn a_delegated_cgroup_is_used() {
    setup!();
    require_tool!("setpriv");
    let mut r = Rootless::new(&["sleep", "1000"]);
    let deleg = Delegated::new(r.user);
    let c = r.container("rl-deleg");
    let path = format!("/husk/{}/{}", deleg.name, c.id);
    r.config["linux"]["cgroupsPath"] = json!(path);
    r.config["linux"]["resources"] = json!({"pids": {"limit": 20}});
    r.save();
    // As a login manager would: root puts the user's shell in the
    // delegated cgroup (moving a process needs the source's and the
    // target's common ancestor on cgroup2), then becomes the user.
    let procs: Vec<String> = deleg
        .procs()
        .iter()
        .map(|p| {
            format!(
                "{{ echo $$ > {0} || {{ echo cannot join {0} >&2; false; }}; }}",
                p.display()
            )
        })
        .collect();
    let script = format!(
        "{} && exec setpriv --reuid={} --regid={} --clear-groups {} oci run --detach {}",
        procs.join(" && "),
        r.user.uid,
        r.user.gid,
        husk_bin().display(),
        c.id
    );
    let mut sh = Command::new("sh");
    sh.args(["-c", &script])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", r.dir.path())
        .env("XDG_RUNTIME_DIR", r.xdg())
        .current_dir(r.bundle());
    let out = detached_output(&mut sh);
    ok(&out);
    // No warning: the container has its cgroup, with its limit.
    assert_eq!(common::stderr(&out), "");
    let pid = c.state()["pid"].as_i64().unwrap();
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let pids_line = cgroups.lines().find(|l| l.contains(":pids:")).unwrap();
    assert!(pids_line.ends_with(&path), "{cgroups}");
    let pids_dir = cgroup_mounts()
        .into_iter()
        .find(|m| m.ends_with("pids"))
        .unwrap()
        .join(path.trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(pids_dir.join("pids.max")).unwrap(),
        "20\n"
    );
    assert_eq!(std::fs::metadata(&pids_dir).unwrap().uid(), r.user.uid);
    // `delete` as the user removes it.
    ok(&r.husk(&["oci", "delete", "--force", &c.id]));
    assert!(!pids_dir.exists(), "cgroup left");
    r.assert_gone(&c.id);
}
