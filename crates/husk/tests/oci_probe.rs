//! What a container sees, from a probe run inside it (busybox `sh`):
//! compared with the config, and with the same bundle run by crun.
//!
//! crun 1.8 refuses this hybrid host ("cgroups in hybrid mode not
//! supported"), even with `--cgroup-manager=disabled`; it runs here in a
//! private mount namespace where the cgroup2 mount at
//! `/sys/fs/cgroup/unified` is unmounted, which it then takes for a pure v1
//! host. Lines about `/sys/fs/cgroup` are left out of the comparison: husk
//! shows the cgroup2 hierarchy there too, crun v1's named `systemd` one.

mod common;
mod oci_support;

use std::process::Command;

use oci_support::Bundle;
use serde_json::json;

const PROBE: &str = r#"
echo "hostname $(hostname)"
echo "pwd $(pwd)"
echo "umask $(umask)"
echo "env $FOO $PATH"
grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|SigBlk|SigIgn|SigCgt):' /proc/self/status
echo "uid_map $(cat /proc/self/uid_map)"
echo "gid_map $(cat /proc/self/gid_map)"
echo "oom $(cat /proc/self/oom_score_adj)"
grep 'open files' /proc/self/limits
echo "dev $(ls /dev | tr '\n' ' ')"
awk '$5 !~ /^\/sys\/fs\/cgroup\// {print "mount", $5, $9, $6}' /proc/self/mountinfo
cat /proc/acpi/x 2>/dev/null; ls /proc/acpi | wc -l | sed 's/^/acpi entries /'
echo x > /proc/sys/kernel/hostname 2>/dev/null && echo "proc-sys writable" || echo "proc-sys read-only"
"#;

fn probe_bundle(userns: bool) -> Bundle {
    let mut b = Bundle::new(&["sh", "-c", PROBE]);
    let c = &mut b.config;
    c["hostname"] = json!("husk-probe");
    c["process"]["user"] =
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 23});
    c["process"]["cwd"] = json!("/tmp/work");
    c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "FOO=bar"]);
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]);
    c["process"]["oomScoreAdj"] = json!(100);
    c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]}));
    if userns {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        // sysfs needs the network namespace's owner; bind it as runc's rootless spec does.
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["type"] == "sysfs" {
                *m = json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            }
        }
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["type"] != "cgroup");
        c["linux"]["resources"] = json!(null);
    }
    b.save();
    if userns {
        // The container's root is host uid 200000: it must reach the bundle
        // and own its rootfs (as with runc).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let rootfs = b.path().join("rootfs");
        for d in ["proc", "sys", "dev", "tmp", "mnt"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        let st = Command::new("chown")
            .args(["-hR", "200000:200000"])
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(st.success());
    }
    b
}

fn husk_probe(b: &Bundle, tag: &str) -> String {
    let c = b.container(tag);
    let out = c.run(&[]);
    assert!(
        out.status.success(),
        "husk run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.assert_gone();
    String::from_utf8(out.stdout).unwrap()
}

fn crun_probe(b: &Bundle, tag: &str) -> String {
    let id = common::unique(tag);
    let script = format!(
        "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root {}/crun run --bundle {} {id}",
        b.path().display(),
        b.path().display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "crun run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn line<'a>(probe: &'a str, key: &str) -> &'a str {
    probe
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {probe}"))
}

fn check_against_config(p: &str, userns: bool) {
    assert_eq!(line(p, "hostname "), "hostname husk-probe");
    assert_eq!(line(p, "pwd "), "pwd /tmp/work");
    assert_eq!(line(p, "umask "), "umask 0027");
    assert_eq!(line(p, "env "), "env bar /bin:/usr/bin");
    assert!(
        line(p, "Uid:")
            .split_whitespace()
            .skip(1)
            .all(|u| u == "1000"),
        "{p}"
    );
    assert!(
        line(p, "Gid:")
            .split_whitespace()
            .skip(1)
            .all(|g| g == "1000"),
        "{p}"
    );
    assert_eq!(
        line(p, "Groups:").split_whitespace().collect::<Vec<_>>(),
        ["Groups:", "10", "20"]
    );
    assert_eq!(line(p, "NoNewPrivs:"), "NoNewPrivs:\t1");
    assert_eq!(line(p, "SigBlk:"), "SigBlk:\t0000000000000000");
    assert_eq!(
        line(p, "SigIgn:"),
        "SigIgn:\t0000000000000000",
        "no ignored signal leaks in"
    );
    // CAP_AUDIT_WRITE | CAP_KILL | CAP_NET_BIND_SERVICE.
    assert_eq!(line(p, "CapBnd:"), "CapBnd:\t0000000020000420");
    assert_eq!(line(p, "oom "), "oom 100");
    let limits: Vec<&str> = line(p, "Max open files").split_whitespace().collect();
    assert_eq!(&limits[3..5], ["256", "512"]);
    let uid_map: Vec<&str> = line(p, "uid_map ").split_whitespace().collect();
    if userns {
        assert_eq!(uid_map[1..], ["0", "200000", "65536"]);
    } else {
        assert_eq!(uid_map[1..], ["0", "0", "4294967295"]);
    }
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout", "stderr",
        "ptmx", "pts", "shm", "mqueue",
    ] {
        assert!(
            line(p, "dev ").split_whitespace().any(|d| d == dev),
            "/dev/{dev} missing: {p}"
        );
    }
    for m in [
        "mount / ",
        "mount /proc proc",
        "mount /dev tmpfs",
        "mount /dev/pts devpts",
        "mount /mnt/t tmpfs",
        "mount /proc/acpi tmpfs",
        "mount /proc/sys proc ro",
    ] {
        assert!(p.contains(m), "{m:?} missing: {p}");
    }
    assert!(
        line(p, "mount / ").ends_with(" ro,relatime") || line(p, "mount / ").contains(" ro"),
        "readonly root: {p}"
    );
    assert_eq!(line(p, "acpi entries"), "acpi entries 0");
    assert_eq!(line(p, "proc-sys"), "proc-sys read-only");
}

/// The probe's lines, mount lines reduced to their mount point (crun
/// names some sources and options differently) and sorted (crun mounts
/// some binds in another order); `/sys/fs/cgroup` left out (see above).
fn comparable(p: &str) -> Vec<String> {
    let (mut mounts, mut rest): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for l in p.lines() {
        // crun resets dispositions through glibc, which refuses signals 32
        // and 33 (its own): when the caller ignores them (the test harness
        // may), crun's container inherits that; husk resets them too.
        if let Some(hex) = l.strip_prefix("SigIgn:\t") {
            let bits = u64::from_str_radix(hex, 16).unwrap_or(0) & !0x1_8000_0000;
            rest.push(format!("SigIgn: {bits:016x}"));
            continue;
        }
        match l.strip_prefix("mount ") {
            Some(m) if !m.starts_with("/sys/fs/cgroup ") => {
                mounts.push(m.split_whitespace().next().unwrap_or("").to_owned())
            }
            Some(_) => {}
            None => rest.push(l.to_owned()),
        }
    }
    mounts.sort();
    rest.extend(mounts);
    rest
}

fn run_case(userns: bool, tag: &str) {
    setup!();
    let b = probe_bundle(userns);
    let ours = husk_probe(&b, tag);
    check_against_config(&ours, userns);
    if common::which("crun").is_none() {
        common::skip("needs crun for the comparison (scripts/setup)");
        return;
    }
    let theirs = crun_probe(&b, tag);
    let (a, b) = (comparable(&ours), comparable(&theirs));
    let only_husk: Vec<_> = a.iter().filter(|l| !b.contains(l)).collect();
    let only_crun: Vec<_> = b.iter().filter(|l| !a.contains(l)).collect();
    assert_eq!(
        a, b,
        "only husk: {only_husk:?}\nonly crun: {only_crun:?}\nhusk:\n{ours}\ncrun:\n{theirs}"
    );
}

#[test]
fn probe_matches_config_and_crun() {
    run_case(false, "probe");
}

#[test]
fn probe_in_a_user_namespace_matches_config_and_crun() {
    run_case(true, "probe-userns");
}
