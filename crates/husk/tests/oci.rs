//! `husk oci`: the lifecycle of runtime-spec `runtime.md`, the bad inputs
//! and a failure in each stage of `create`, each leaving nothing behind.
//! Needs root and busybox-static.

mod common;
mod oci_support;

use oci_support::{one_line_error, Bundle};
use serde_json::json;

#[test]
fn lifecycle_create_start_kill_delete() {
    setup!();
    let b = Bundle::new(&["sleep", "1000"]);
    let c = b.container("life");
    let out = c.create();
    assert!(
        out.status.success(),
        "create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = c.state();
    assert_eq!(state["status"], "created");
    assert_eq!(state["id"], c.id.as_str());
    assert_eq!(state["bundle"], b.path().to_str().unwrap());
    assert_eq!(state["rootfs"], b.path().join("rootfs").to_str().unwrap());
    assert_eq!(state["ociVersion"], "1.0.2-dev");
    let pid = state["pid"].as_i64().unwrap();
    assert!(pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists());
    // runc's field order, two-space indent.
    let text = String::from_utf8(c.cmd("state", &[]).stdout).unwrap();
    let at = |k: &str| {
        text.find(&format!("\n  \"{k}\": "))
            .unwrap_or_else(|| panic!("{k} in {text}"))
    };
    let order = [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ]
    .map(at);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    // The process waits: its comm is still husk's until start.
    let list = String::from_utf8(b.oci(["list", "-q"]).output().unwrap().stdout).unwrap();
    assert_eq!(list.trim(), c.id);

    assert!(c.cmd("start", &[]).status.success());
    assert_eq!(c.status(), "running");
    // `start` returns once init has its byte; the exec follows at once.
    let comm = || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while comm().trim() != "sleep" {
        assert!(
            std::time::Instant::now() < deadline,
            "init never became sleep: {}",
            comm()
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let err = one_line_error(&c.cmd("start", &[]));
    assert!(err.contains("is running: cannot start it"), "{err}");
    let err = one_line_error(&c.cmd("delete", &[]));
    assert!(err.contains("cannot delete it without --force"), "{err}");

    let out = b.oci(["kill", &c.id, "KILL"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.reap(i32::try_from(pid).unwrap());
    let state = c.state();
    assert_eq!(
        (state["status"].as_str(), state["pid"].as_i64()),
        (Some("stopped"), Some(0))
    );
    let err = one_line_error(&b.oci(["kill", &c.id]).output().unwrap());
    assert!(err.contains("is stopped"), "{err}");
    assert!(c.cmd("delete", &[]).status.success());
    c.assert_gone();
    let err = one_line_error(&c.cmd("state", &[]));
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn delete_of_created_and_force_delete_of_running() {
    setup!();
    let b = Bundle::new(&["sleep", "1000"]);
    let c = b.container("del");
    assert!(c.create().status.success());
    assert!(
        c.cmd("delete", &[]).status.success(),
        "a created container deletes without --force"
    );
    c.assert_gone();
    let d = b.container("force");
    let out = d.run(&["--detach"]);
    assert!(
        out.status.success(),
        "run -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(d.status(), "running");
    let out = d.cmd("delete", &["--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.assert_gone();
}

#[test]
fn run_attached_returns_the_exit_status_and_cleans_up() {
    setup!();
    let b = Bundle::new(&["sh", "-c", "echo out; exit 3"]);
    let c = b.container("run");
    let out = c.run(&[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    c.assert_gone();
}

#[test]
fn bad_bundles_fail_in_one_line_and_leave_nothing() {
    setup!();
    type Breaker = Box<dyn Fn(&Bundle)>;
    let cases: Vec<(&str, Breaker, &str)> = vec![
        (
            "json",
            Box::new(|b| std::fs::write(b.path().join("config.json"), "{nope").unwrap()),
            "config.json: field",
        ),
        (
            "field",
            Box::new(|b| {
                let mut c = b.config.clone();
                c["process"]["user"]["uid"] = json!("root");
                std::fs::write(b.path().join("config.json"), c.to_string()).unwrap();
            }),
            "field `process.user.uid`",
        ),
        (
            "version",
            Box::new(|b| {
                let mut c = b.config.clone();
                c["ociVersion"] = json!("2.0.0");
                std::fs::write(b.path().join("config.json"), c.to_string()).unwrap();
            }),
            "unsupported ociVersion \"2.0.0\"",
        ),
        (
            "rootfs",
            Box::new(|b| std::fs::remove_dir_all(b.path().join("rootfs")).unwrap()),
            "is not a directory",
        ),
        (
            "noconfig",
            Box::new(|b| std::fs::remove_file(b.path().join("config.json")).unwrap()),
            "cannot read",
        ),
    ];
    for (tag, breaker, want) in cases {
        let b = Bundle::new(&["true"]);
        breaker(&b);
        let c = b.container(tag);
        let err = one_line_error(&c.create());
        assert!(err.contains(want), "{tag}: {err}");
        c.assert_gone();
    }
}

#[test]
fn bad_ids_duplicates_and_unknown_ids() {
    setup!();
    let b = Bundle::new(&["sleep", "1000"]);
    for bad in ["a/b", "..", ".", "../x", ""] {
        let out =
            oci_support::detached_output(b.oci(["create", "--bundle"]).arg(b.path()).arg(bad));
        let err = one_line_error(&out);
        assert!(
            err.contains("invalid container id") || err.contains("cannot be empty"),
            "{bad:?}: {err}"
        );
    }
    assert!(!b.root().join("x").exists() && !b.path().join("x").exists());
    let c = b.container("dup");
    assert!(c.create().status.success());
    let err = one_line_error(&c.create());
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(c.status(), "created", "the first container is untouched");
    for verb in ["state", "start", "kill", "delete"] {
        let err = one_line_error(&b.oci([verb, "husk-no-such-container"]).output().unwrap());
        assert!(
            err.contains("\"husk-no-such-container\" does not exist"),
            "{verb}: {err}"
        );
    }
}

/// A failure in each stage of `create`: planning, cgroup limits, the
/// joiner (namespace path), init (mount, executable). Nothing survives.
#[test]
fn a_failure_in_each_stage_of_create_leaves_nothing() {
    setup!();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 6] = [
        (
            "plan",
            |c| c["hostname"] = json!("h"),
            "needs a new uts namespace",
        ),
        (
            "cgroup",
            |c| c["linux"]["resources"]["cpu"] = json!({"cpus": "999"}),
            "cpuset.cpus",
        ),
        (
            "join",
            |c| {
                for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                    if ns["type"] == "network" {
                        ns["path"] = json!("/proc/self/ns/nope");
                    }
                }
            },
            "cannot open namespace /proc/self/ns/nope",
        ),
        (
            "mount",
            |c| {
                c["mounts"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"destination": "/x", "type": "husk-nofs", "source": "none"}))
            },
            "cannot mount",
        ),
        (
            "exec",
            |c| c["process"]["args"] = json!(["/bin/husk-no-such-program"]),
            "executable file not found",
        ),
        (
            "cwd",
            |c| c["process"]["cwd"] = json!("relative"),
            "process.cwd",
        ),
    ];
    for (tag, edit, want) in cases {
        let mut b = Bundle::new(&["sleep", "1000"]);
        if tag == "plan" {
            b.config["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "uts");
        }
        edit(&mut b.config);
        b.save();
        let c = b.container(tag);
        let err = one_line_error(&c.create());
        assert!(err.contains(want), "{tag}: {err}");
        c.assert_gone();
    }
}

#[test]
fn spec_features_and_global_options() {
    setup!();
    let b = Bundle::new(&["true"]);
    let err = one_line_error(&b.oci(["spec", "--bundle"]).arg(b.path()).output().unwrap());
    assert!(err.contains("exists"), "{err}");
    let out = b.oci(["features"]).output().unwrap();
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    let log = b.path().join("log.json");
    let out = common::husk(["oci", "--root"])
        .arg(b.root())
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "state", "husk-nope"])
        .output()
        .unwrap();
    one_line_error(&out);
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("does not exist"));
    let err = one_line_error(&b.oci(["--systemd-cgroup", "list"]).output().unwrap());
    assert!(err.contains("no systemd"), "{err}");
    // runc's argument order through a link named husk-runc.
    let dir = common::tempdir();
    let link = dir.path().join("husk-runc");
    std::os::unix::fs::symlink(common::husk_bin(), &link).unwrap();
    let out = std::process::Command::new(&link)
        .arg("--root")
        .arg(b.root())
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "null\n");
}

#[test]
fn pid_file_no_pivot_time_offsets_and_no_leaked_fds() {
    setup!();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cut -d. -f1 /proc/uptime; ls /proc/self/fd | tr '\\n' ' '",
    ]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000}});
    b.save();
    let c = b.container("nopivot");
    let out = c.run(&["--no-pivot"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let uptime: u64 = lines.next().unwrap().parse().unwrap();
    assert!(uptime >= 864000, "boottime offset not applied: {uptime}");
    // Only stdio and ls's own directory fd: nothing of the runtime leaks.
    assert_eq!(lines.next().unwrap().trim(), "0 1 2 3");
    c.assert_gone();

    let d = b.container("pidfile");
    let pid_file = b.path().join("pid");
    let mut cmd = b.oci(["create", "--pid-file"]);
    cmd.arg(&pid_file).arg("--bundle").arg(b.path()).arg(&d.id);
    let out = oci_support::detached_output(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(d.state()["pid"].as_i64(), Some(pid));
}

#[test]
fn kill_all_signals_every_process_of_the_cgroup() {
    setup!();
    let mut b = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000; wait"]);
    // No pid namespace: in one, SIGKILL to init alone takes every process
    // with it, so the test could not tell `--all` from a plain kill.
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    b.save();
    let c = b.container("killall");
    assert!(c.run(&["--detach"]).status.success());
    let pid = c.state()["pid"].as_i64().unwrap();
    let out = b.oci(["kill", "--all", &c.id, "9"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.reap(i32::try_from(pid).unwrap());
    assert_eq!(c.status(), "stopped");
    // Its two sleeps die too (the kernel takes a moment to finish them).
    let rootfs = b.path().join("rootfs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !oci_support::processes_in(&rootfs).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(oci_support::processes_in(&rootfs), Vec::<u32>::new());
    assert!(c.cmd("delete", &[]).status.success());
    c.assert_gone();
}

#[test]
fn attached_run_forwards_signals() {
    setup!();
    let b = Bundle::new(&[
        "sh",
        "-c",
        "trap 'exit 7' TERM; echo ready; sleep 1000 & wait",
    ]);
    let c = b.container("fwd");
    let dir = common::tempdir();
    let out_file = dir.path().join("out");
    let mut child = common::ChildGuard::spawn(
        b.oci(["run", "--bundle"])
            .arg(b.path())
            .arg(&c.id)
            .stdout(std::fs::File::create(&out_file).unwrap()),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&out_file)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "container never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = i32::try_from(child.pid()).unwrap();
    husk_sys::signal::kill(pid, libc::SIGTERM).unwrap();
    let status = child.0.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(7),
        "SIGTERM reached the container's trap"
    );
    c.assert_gone();
}

#[test]
fn seccomp_filter_applies_errno_rules() {
    setup!();
    let mut b = Bundle::new(&["sh", "-c", "mkdir /tmp/x 2>&1; echo done"]);
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat", "husk_no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}
        ]
    });
    b.save();
    let c = b.container("seccomp");
    let out = c.run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Permission denied") && text.ends_with("done\n"),
        "{text}"
    );
    c.assert_gone();
}
