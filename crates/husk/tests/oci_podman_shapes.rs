//! The config shapes podman writes, run by husk directly (no podman): a
//! seccomp filter without `noNewPrivileges` and with `CAP_SYS_ADMIN`
//! dropped, tmpfs mounts with runc's `tmpcopyup`, and bind mounts whose
//! mount points husk must make. Needs root and busybox-static.

mod common;
mod oci_support;

use oci_support::Bundle;
use serde_json::json;

/// Runs the bundle's process attached; its stdout (which must succeed).
fn run(b: &Bundle, tag: &str) -> String {
    let c = b.container(tag);
    let out = c.run(&[]);
    assert!(
        out.status.success(),
        "run: {}{}",
        String::from_utf8_lossy(&out.stdout),
        common::stderr(&out)
    );
    c.assert_gone();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// podman's default: `noNewPrivileges` false, a seccomp filter, a reduced
/// capability set without `CAP_SYS_ADMIN`. `seccomp(2)` then needs
/// `CAP_SYS_ADMIN`, so the filter is loaded before the capabilities are
/// dropped (runc's order); it is in force for the process (`mkdir` gets the
/// rule's `ENOSYS`), and no_new_privs stays off.
#[test]
fn seccomp_without_no_new_privs() {
    setup!();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status; \
         busybox mkdir /husk-dir 2>&1; echo mkdir=$?",
    ]);
    let caps = json!(["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]);
    b.config["process"]["noNewPrivileges"] = json!(false);
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set] = caps.clone();
    }
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    b.save();
    let out = run(&b, "seccomp-nnp");
    assert!(out.contains("NoNewPrivs:\t0"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    // CAP_CHOWN, CAP_KILL, CAP_SETGID, CAP_SETUID: bits 0, 5, 6, 7.
    assert!(out.contains("CapEff:\t00000000000000e1"), "{out}");
    assert!(out.contains("Function not implemented"), "{out}");
    assert!(out.contains("mkdir=1"), "{out}");
}

/// `tmpcopyup` (podman's `--read-only` mounts): a tmpfs over `/bin` starts
/// with `/bin`'s files, modes, owners and symlinks, and its mode, so the
/// shell found on it afterwards is the image's.
#[test]
fn tmpfs_copy_up() {
    setup!();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep ' /bin ' /proc/self/mountinfo; busybox stat -c '%a %u:%g' /bin/busybox; \
         busybox readlink /bin/sh; echo new > /bin/husk-new && cat /bin/husk-new; \
         busybox stat -c %a /bin",
    ]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({
        "destination": "/bin", "type": "tmpfs", "source": "tmpfs",
        "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
    }));
    b.save();
    let out = run(&b, "copyup");
    let mount = out.lines().next().unwrap_or_default();
    assert!(mount.contains(" - tmpfs "), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    // The tmpfs takes the directory's mode (a bare tmpfs is 1777).
    assert_eq!(lines[1..], ["755 0:0", "busybox", "new", "755"], "{out}");
    // The image's own /bin is untouched.
    assert!(!b.path().join("rootfs/bin/husk-new").exists());
}

/// Mount points husk makes (podman binds `/run/.containerenv` into images
/// without `/run`) are 0755 with their parents, as runc makes them — not
/// 0777 (the umask is 0 while the rootfs is built).
#[test]
fn mount_points_are_0755() {
    setup!();
    let mut b = Bundle::new(&["busybox", "stat", "-c", "%n %a", "/run", "/run/husk"]);
    let file = b.path().join("bound-file");
    std::fs::write(&file, "x").unwrap();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({
        "destination": "/run/husk/file", "type": "bind",
        "source": file, "options": ["bind", "rprivate"]
    }));
    b.save();
    let out = run(&b, "mountpoint");
    assert_eq!(out, "/run 755\n/run/husk 755\n", "{out}");
}

/// A tmpfs over a directory of the image takes that directory's mode, as
/// runc gives it (runc 1.1.5 on this host: a 0755 `/run` stays 0755, where
/// a bare tmpfs is 1777); a `mode=` in the options wins (runc 1.2 puts the
/// directory's first in the data); over a missing directory, tmpfs's own.
#[test]
fn tmpfs_takes_the_mode_of_the_directory_it_covers() {
    setup!();
    let mut b = Bundle::new(&[
        "busybox",
        "stat",
        "-c",
        "%n %a",
        "/husk-750",
        "/husk-explicit",
        "/husk-missing",
    ]);
    let rootfs = b.path().join("rootfs");
    for (dir, mode) in [("husk-750", 0o750), ("husk-explicit", 0o750)] {
        std::fs::create_dir(rootfs.join(dir)).unwrap();
        let perm = std::os::unix::fs::PermissionsExt::from_mode(mode);
        std::fs::set_permissions(rootfs.join(dir), perm).unwrap();
    }
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    for (dest, opts) in [
        ("/husk-750", json!(["nosuid"])),
        ("/husk-explicit", json!(["nosuid", "mode=700"])),
        ("/husk-missing", json!(["nosuid"])),
    ] {
        mounts.push(
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts}),
        );
    }
    b.save();
    let out = run(&b, "tmpfs-mode");
    assert_eq!(
        out, "/husk-750 750\n/husk-explicit 700\n/husk-missing 1777\n",
        "{out}"
    );
}
