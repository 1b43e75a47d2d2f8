//! `husk oci create` failing on purpose in each of its stages, through the
//! config (or a command-line option): every failure is a non-zero exit
//! and one line on stderr naming the cause, and leaves no state
//! directory, no cgroup (the config's nested `cgroupsPath`, parents
//! included, in every hierarchy), no mount of the bundle and no process.
//!
//! `oci.rs` already fails the plan, a cpuset, a missing namespace file, an
//! unknown filesystem type, a missing program and a relative cwd;
//! `oci_hooks.rs` the `createRuntime`/`createContainer` hooks and a hook
//! timeout; `oci_rootfs.rs` a symlink loop. These are the other stages.
//! Needs root and busybox-static.

mod common;
mod oci_support;

use std::path::Path;

use oci_support::{cgroup_mounts, detached_output, one_line_error, processes_in, Bundle};
use serde_json::{json, Value};

/// One failure: what to break, the extra `create` options, and what the
/// error line must say.
struct Case {
    tag: &'static str,
    edit: fn(&mut Value, &Path),
    args: &'static [&'static str],
    want: &'static str,
}

fn case(tag: &'static str, edit: fn(&mut Value, &Path), want: &'static str) -> Case {
    Case {
        tag,
        edit,
        args: &[],
        want,
    }
}

/// Runs each case on a fresh bundle and checks the error and that nothing
/// is left.
fn run_cases(cases: &[Case]) {
    for c in cases {
        let mut b = Bundle::new(&["sleep", "1000"]);
        let ctr = b.container(c.tag);
        // Nested, so a parent husk made must go too.
        b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}/ctr", ctr.id));
        let rootfs = b.path().join("rootfs");
        (c.edit)(&mut b.config, &rootfs);
        b.save();
        let mut cmd = b.oci(["create", "--bundle"]);
        cmd.arg(b.path()).args(c.args).arg(&ctr.id);
        let out = detached_output(&mut cmd);
        let err = one_line_error(&out);
        assert!(
            err.contains(c.want),
            "{}: {err:?} lacks {:?}",
            c.tag,
            c.want
        );
        assert_nothing_left(c.tag, &b, &ctr.id);
    }
}

/// No state directory, cgroup, mount or process of container `id`.
fn assert_nothing_left(tag: &str, b: &Bundle, id: &str) {
    reap_adopted();
    assert!(!b.root().join(id).exists(), "{tag}: state dir left");
    for mount in cgroup_mounts() {
        let dir = mount.join("husk").join(id);
        assert!(!dir.exists(), "{tag}: cgroup {} left", dir.display());
    }
    let bundle = b.path().to_str().unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(bundle), "{tag}: a mount of {bundle} left");
    assert!(
        processes_in(&b.path().join("rootfs")).is_empty(),
        "{tag}: process in the rootfs"
    );
    let left = processes_of(id, b.path());
    assert!(left.is_empty(), "{tag}: processes left: {left:?}");
}

/// Live processes whose command line names `id` (the runtime's forks keep
/// its argv) or whose cwd is in the bundle.
fn processes_of(id: &str, bundle: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let named = cmdline.split(|&b| b == 0).any(|a| a == id.as_bytes());
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
        if named || cwd.is_ok_and(|c| c.starts_with(bundle)) {
            out.push(pid);
        }
    }
    out
}

/// Reaps the zombies this test (a child subreaper) adopted.
fn reap_adopted() {
    use rustix::process::{wait, WaitOptions};
    while let Ok(Some(_)) = wait(WaitOptions::NOHANG) {}
}

fn namespace_path(c: &mut Value, kind: &str, path: &str) {
    for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == kind {
            ns["path"] = json!(path);
        }
    }
}

fn push_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

#[test]
fn runtime_stages_fail_cleanly() {
    setup!();
    run_cases(&[
        case(
            "args",
            |c, _| c["process"]["args"] = json!([]),
            "process.args",
        ),
        case(
            "seccomp-action",
            |c, _| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_HUSK"}),
            "field `linux.seccomp.defaultAction`: unknown variant `SCMP_ACT_HUSK`",
        ),
        // The state root (`--root`) is a file: the state directory cannot
        // be made.
        case(
            "state-dir",
            |_, rootfs| std::fs::write(rootfs.parent().unwrap().join("state"), "").unwrap(),
            "/state: File exists",
        ),
        Case {
            tag: "console",
            edit: |c, _| c["process"]["terminal"] = json!(true),
            args: &["--console-socket", "/husk-no-such.sock"],
            want: "cannot connect to console socket /husk-no-such.sock",
        },
        Case {
            tag: "pidfile",
            edit: |_, _| {},
            args: &["--pid-file", "/husk-no-such-dir/pid"],
            want: "cannot write pid file /husk-no-such-dir/pid",
        },
        case(
            "cgpath",
            |c, _| c["linux"]["cgroupsPath"] = json!("/husk/cgroup.procs/x"),
            "Not a directory",
        ),
        case(
            "cpu-period",
            |c, _| c["linux"]["resources"]["cpu"] = json!({"quota": 1000, "period": 1}),
            "cannot set cpu.period",
        ),
        case(
            "cpu-rt",
            |c, _| {
                c["linux"]["resources"]["cpu"] =
                    json!({"realtimeRuntime": 2_000_000_000_i64, "realtimePeriod": 1_000_000})
            },
            "cannot set cpu.realtimeRuntime",
        ),
        case(
            "memory-limit",
            |c, _| c["linux"]["resources"]["memory"] = json!({"limit": -5}),
            "cannot set memory.limit",
        ),
        case(
            "network",
            |c, _| c["linux"]["resources"]["network"] = json!({"classID": 1}),
            "not supported",
        ),
        case(
            "cpuset-mems",
            |c, _| c["linux"]["resources"]["cpu"] = json!({"mems": "99"}),
            "cannot set cpu.mems",
        ),
        case(
            "memory-swap",
            |c, _| c["linux"]["resources"]["memory"] = json!({"limit": 100_000_000, "swap": 1000}),
            "invalid memory.swap",
        ),
        case(
            "blkio-weight",
            |c, _| c["linux"]["resources"]["blockIO"] = json!({"weight": 5000}),
            "cannot set blockIO.weight",
        ),
        case(
            "hugetlb",
            |c, _| {
                c["linux"]["resources"]["hugepageLimits"] = json!([{"pageSize": "3MB", "limit": 1}])
            },
            "cannot set hugepageLimits",
        ),
        case(
            "unified",
            |c, _| c["linux"]["resources"]["unified"] = json!({"husk.nope": "1"}),
            "husk controller is not available",
        ),
        case(
            "idmap",
            |c, _| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user"}));
                c["linux"]["uidMappings"] = json!([
                    {"containerID": 0, "hostID": 200000, "size": 100},
                    {"containerID": 50, "hostID": 300000, "size": 100},
                ]);
                c["linux"]["gidMappings"] =
                    json!([{"containerID": 0, "hostID": 200000, "size": 100}]);
            },
            "uid_map",
        ),
        case(
            "prestart",
            |c, _| c["hooks"] = json!({"prestart": [{"path": "/bin/false"}]}),
            "prestart hook /bin/false",
        ),
        // init killed before it is ready: the error says how each process ended.
        case(
            "killed-init",
            |c, _| {
                let kill = r#"kill -KILL $(sed 's/.*"pid":\([0-9]*\).*/\1/')"#;
                c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", kill]}]})
            },
            "container init exited before it was ready (joiner: exit 0; init: killed by SIGKILL)",
        ),
    ]);
}

#[test]
fn joiner_stages_fail_cleanly() {
    setup!();
    run_cases(&[
        case(
            "rlimit",
            |c, _| {
                c["process"]["rlimits"] =
                    json!([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}])
            },
            "cannot set rlimit RLIMIT_NOFILE",
        ),
        case(
            "oom",
            |c, _| c["process"]["oomScoreAdj"] = json!(5000),
            "oom_score_adj",
        ),
        case(
            "setns-notns",
            |c, _| namespace_path(c, "network", "/etc/hostname"),
            "cannot join namespace /etc/hostname",
        ),
        case(
            "setns-wrongtype",
            |c, _| namespace_path(c, "network", "/proc/self/ns/uts"),
            "cannot join namespace /proc/self/ns/uts",
        ),
    ]);
}

#[test]
fn init_stages_fail_cleanly() {
    setup!();
    run_cases(&[
        case(
            "bind-source",
            |c, _| {
                push_mount(
                    c,
                    json!({"destination": "/x", "type": "bind", "source": "/husk-no-such", "options": ["bind"]}),
                )
            },
            "cannot mount /x",
        ),
        case(
            "mount-data",
            |c, _| {
                push_mount(
                    c,
                    json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=bogus"]}),
                )
            },
            "cannot mount /x",
        ),
        case(
            "mount-point",
            |c, rootfs| {
                std::fs::write(rootfs.join("file"), "").unwrap();
                push_mount(
                    c,
                    json!({"destination": "/file/x", "type": "tmpfs", "source": "tmpfs"}),
                )
            },
            "cannot make mount point /file/x",
        ),
        case(
            "device",
            |c, _| {
                c["linux"]["devices"] =
                    json!([{"path": "/dev/shm", "type": "c", "major": 1, "minor": 3}])
            },
            "cannot make device /dev/shm",
        ),
        case(
            "hostname",
            |c, _| c["hostname"] = json!("h".repeat(100)),
            "cannot set host/domain name",
        ),
        case(
            "sysctl",
            |c, _| c["linux"]["sysctl"] = json!({"kernel.husk_nope": "1"}),
            "cannot set sysctl kernel.husk_nope",
        ),
        // The runtime's stdout is a host file: out of the container's
        // mount namespace, so masking it (or making it read-only) fails.
        case(
            "masked",
            |c, _| c["linux"]["maskedPaths"] = json!(["/proc/self/fd/1"]),
            "cannot mount /proc/self/fd/1",
        ),
        case(
            "readonly",
            |c, _| c["linux"]["readonlyPaths"] = json!(["/proc/self/fd/1"]),
            "cannot mount /proc/self/fd/1",
        ),
        case(
            "groups",
            |c, _| {
                let gids: Vec<u32> = (1..=70_000).collect();
                c["process"]["user"]["additionalGids"] = json!(gids);
            },
            "cannot set",
        ),
        // Inheritable caps must come from the bounding set (capset(2)).
        case(
            "caps",
            |c, _| {
                c["process"]["capabilities"] =
                    json!({"bounding": ["CAP_AUDIT_WRITE"], "inheritable": ["CAP_KILL"]})
            },
            "cannot set capabilities",
        ),
        case(
            "cwd-file",
            |c, _| c["process"]["cwd"] = json!("/bin/busybox/x"),
            "cannot change to cwd /bin/busybox/x",
        ),
        case(
            "noexec",
            |c, rootfs| {
                std::fs::write(rootfs.join("bin/plain"), "not a program\n").unwrap();
                c["process"]["args"] = json!(["/bin/plain"]);
            },
            "/bin/plain: Permission denied",
        ),
        // libseccomp refuses an argument index past 5: compiled before
        // `Ready`, so `create` fails, not `start`.
        case(
            "seccomp",
            |c, _| {
                c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["read"], "action": "SCMP_ACT_ERRNO",
                     "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]})
            },
            "cannot set up seccomp",
        ),
    ]);
}

/// A program that is found but cannot be executed: `execve` is init's
/// last step, after `start` was answered (as with runc, `start` succeeds),
/// so init just exits; the container is `stopped` and `delete` leaves
/// nothing.
#[test]
fn exec_failure_at_start_leaves_nothing_after_delete() {
    setup!();
    let mut b = Bundle::new(&["/bin/garbage"]);
    let rootfs = b.path().join("rootfs");
    std::fs::write(rootfs.join("bin/garbage"), [0x7f, b'E', b'L', b'F', 0, 0]).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let perm = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(rootfs.join("bin/garbage"), perm).unwrap();
    }
    let ctr = b.container("exec-start");
    // Flat: `delete` prunes no parent of an absolute path (only a failed
    // `create` prunes the parents it made).
    b.config["linux"]["cgroupsPath"] = json!(format!("/husk/{}", ctr.id));
    b.save();
    let out = ctr.create();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = ctr.state()["pid"].as_i64().unwrap();
    let start = ctr.cmd("start", &[]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    ctr.reap(i32::try_from(pid).unwrap());
    assert_eq!(ctr.status(), "stopped");
    let del = ctr.cmd("delete", &[]);
    assert!(
        del.status.success(),
        "{}",
        String::from_utf8_lossy(&del.stderr)
    );
    assert_nothing_left("exec-start", &b, &ctr.id);
}
