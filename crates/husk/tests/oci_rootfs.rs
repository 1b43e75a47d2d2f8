//! `husk oci`: a rootfs full of symlinks that point at the host (absolute,
//! `../../..`, on a device path, as the cwd) cannot make the runtime
//! create, mount or chown anything on the host: every path is resolved
//! inside the rootfs (`openat2` with `RESOLVE_IN_ROOT`), and the mounts
//! land there. Checked on the host and from inside the container.
//! Needs root and busybox-static.

mod common;
mod oci_support;

use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_support::{detached_output, one_line_error, Bundle};
use serde_json::json;

/// A host directory the traps point into; it must stay empty.
fn host_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("husk-host")
        .tempdir_in("/tmp")
        .unwrap()
}

/// `host` as it appears inside the rootfs (where the traps really lead).
fn inside(rootfs: &Path, host: &Path) -> PathBuf {
    rootfs.join(host.strip_prefix("/").unwrap())
}

/// A bundle whose rootfs has the traps and whose config walks into them.
/// Returns it with the two bind sources (each holding a `marker` file).
fn trapped_bundle(host: &Path, args: &[&str]) -> (Bundle, tempfile::TempDir) {
    let mut b = Bundle::new(args);
    let rootfs = b.path().join("rootfs");
    let h = host.display();
    let src = common::tempdir();
    std::fs::create_dir(src.path().join("d")).unwrap();
    std::fs::write(src.path().join("d/marker"), "dir-bind\n").unwrap();
    std::fs::write(src.path().join("file"), "file-bind\n").unwrap();
    // Absolute links to (missing) host paths, and a `..` escape.
    symlink(format!("{h}/evil"), rootfs.join("evil")).unwrap();
    symlink(format!("{h}/file"), rootfs.join("evilfile")).unwrap();
    symlink(format!("{h}/t"), rootfs.join("tmpfs")).unwrap();
    symlink(format!("{h}/cwd"), rootfs.join("work")).unwrap();
    let up = format!("../../../../../../../../..{h}/up");
    symlink(up, rootfs.join("up")).unwrap();
    // /dev is not a tmpfs here: the image's own /dev, with links in it.
    std::fs::create_dir(rootfs.join("dev")).unwrap();
    symlink(format!("{h}/null"), rootfs.join("dev/null")).unwrap();
    symlink(h.to_string(), rootfs.join("dev/sub")).unwrap();
    symlink(format!("{h}/victim"), rootfs.join("dev/owned")).unwrap();
    let c = &mut b.config;
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/dev");
    mounts.push(json!({"destination": "/evil", "type": "bind", "source": src.path().join("d"), "options": ["rbind", "ro"]}));
    mounts.push(json!({"destination": "/up", "type": "bind", "source": src.path().join("d"), "options": ["bind"]}));
    mounts.push(json!({"destination": "/evilfile", "type": "bind", "source": src.path().join("file"), "options": ["bind"]}));
    mounts.push(json!({"destination": "/tmpfs", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
    c["linux"]["devices"] = json!([
        {"path": "/dev/sub/evildev", "type": "c", "major": 1, "minor": 5, "fileMode": 438},
        {"path": "/dev/owned", "type": "c", "major": 1, "minor": 7, "fileMode": 438, "uid": 4242, "gid": 4242},
    ]);
    c["process"]["cwd"] = json!("/work/sub");
    b.save();
    (b, src)
}

/// The same bundle in a user namespace (host ids 200000+), where device
/// nodes are binds of the host's: the config and ownership as
/// `oci_probe.rs` sets them up.
fn in_user_namespace(b: &mut Bundle, src: &Path, host: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // A node is bound from the host's path of the same name: only real
    // ones here; the image's link at that path must not be followed.
    let rootfs = b.path().join("rootfs");
    symlink(host.join("victim"), rootfs.join("dev/full")).unwrap();
    let c = &mut b.config;
    c["linux"]["devices"] = json!([
        {"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 438, "uid": 4242, "gid": 4242},
    ]);
    let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
    ns.push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["type"] != "cgroup");
    for m in mounts.iter_mut() {
        if m["type"] == "sysfs" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
    c["linux"]["resources"] = json!(null);
    b.save();
    for dir in [b.path(), src] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let st = std::process::Command::new("chown")
        .args(["-hR", "200000:200000"])
        .arg(b.path().join("rootfs"))
        .status()
        .unwrap();
    assert!(st.success());
}

fn mountinfo_points(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
        .collect()
}

#[test]
fn symlinks_in_the_image_cannot_reach_the_host() {
    setup!();
    check_traps(false, "rootfs-traps");
}

/// In a user namespace the device nodes are binds: the links at their
/// paths are replaced the same way.
#[test]
fn symlinks_in_the_image_cannot_reach_the_host_in_a_user_namespace() {
    setup!();
    check_traps(true, "rootfs-traps-userns");
}

fn check_traps(userns: bool, tag: &str) {
    let host = host_dir();
    let h = host.path().display().to_string();
    // A host file a followed chown would hand to uid 4242.
    std::fs::write(host.path().join("victim"), "host\n").unwrap();
    let (mut b, src) = trapped_bundle(host.path(), &["sleep", "1000"]);
    if userns {
        in_user_namespace(&mut b, src.path(), host.path());
    }
    let rootfs = b.path().join("rootfs");
    let c = b.container(tag);
    let out = c.create();
    assert!(
        out.status.success(),
        "create: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // On the host: nothing made, changed or mounted in the host directory.
    let names: Vec<_> = std::fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["victim"], "only the victim file in {h}");
    assert_eq!(host.path().join("victim").metadata().unwrap().uid(), 0);
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!host_mounts.contains(&h), "a mount under {h} on the host");

    // In the rootfs, where the links lead when resolved inside it.
    let r = inside(&rootfs, host.path());
    for d in ["evil", "up", "t", "cwd/sub"] {
        assert!(
            r.join(d).is_dir(),
            "{} made inside the rootfs",
            r.join(d).display()
        );
    }
    assert!(r.join("file").is_file());
    // The device paths that were links are now the nodes themselves (in a
    // user namespace: files with the host's node bound on them, in the
    // container's mount namespace only).
    let null = rootfs.join("dev/null").symlink_metadata().unwrap();
    if userns {
        assert!(
            null.file_type().is_file(),
            "dev/null replaced by a mount point"
        );
        let full = rootfs.join("dev/full").symlink_metadata().unwrap();
        assert!(
            full.file_type().is_file(),
            "dev/full replaced by a mount point"
        );
    } else {
        assert!(
            null.file_type().is_char_device(),
            "dev/null replaced by the node"
        );
        assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
        let evildev = r.join("evildev").metadata().unwrap();
        assert!(evildev.file_type().is_char_device());
        assert_eq!(evildev.rdev(), rustix::fs::makedev(1, 5));
        let owned = rootfs.join("dev/owned").symlink_metadata().unwrap();
        assert!(owned.file_type().is_char_device());
        assert_eq!((owned.uid(), owned.gid()), (4242, 4242));
    }

    // The container's own mount table: the binds and the tmpfs are at the
    // resolved paths inside its root.
    let pid = c.state()["pid"].as_i64().unwrap();
    let theirs = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let points = mountinfo_points(&theirs);
    for d in ["evil", "up", "file", "t"] {
        let want = format!("{h}/{d}");
        assert!(
            points.contains(&want),
            "{want} not a mount point in the container: {points:?}"
        );
    }
    let del = c.cmd("delete", &["--force"]);
    assert!(
        del.status.success(),
        "{}",
        String::from_utf8_lossy(&del.stderr)
    );
    c.assert_gone();
    assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 1);
}

#[test]
fn the_container_sees_its_mounts_through_the_links() {
    setup!();
    let host = host_dir();
    let h = host.path().display().to_string();
    let script = format!(
        "cat /evil/marker /up/marker /evilfile; [ -c /dev/null ] && echo null; \
         pwd; grep -c ' {h}/t ' /proc/self/mountinfo"
    );
    let (b, _src) = trapped_bundle(host.path(), &["sh", "-c", &script]);
    let c = b.container("rootfs-inside");
    let out = c.run(&[]);
    assert!(
        out.status.success(),
        "run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!("dir-bind\ndir-bind\nfile-bind\nnull\n{h}/cwd/sub\n1\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 0);
    c.assert_gone();
}

/// A mount destination that is a symlink loop fails `create` in one line
/// and leaves nothing.
#[test]
fn a_symlink_loop_as_mount_destination_fails_cleanly() {
    setup!();
    let mut b = Bundle::new(&["true"]);
    let rootfs = b.path().join("rootfs");
    symlink("loop2", rootfs.join("loop1")).unwrap();
    symlink("/loop1", rootfs.join("loop2")).unwrap();
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/loop1/x", "type": "tmpfs", "source": "tmpfs"}));
    b.save();
    let c = b.container("rootfs-loop");
    let mut cmd = b.oci(["create", "--bundle"]);
    cmd.arg(b.path()).arg(&c.id);
    let err = one_line_error(&detached_output(&mut cmd));
    assert!(
        err.contains("cannot make mount point /loop1/x") && err.contains("symbolic links"),
        "{err}"
    );
    c.assert_gone();
}

/// `rootfsPropagation: rshared` (pivot_root refuses a shared parent mount:
/// the mount holding the rootfs is made private first, as runc does) and
/// `runbindable` (a bind from an unbindable mount is refused): the
/// container runs, its `/` has that propagation, and nothing is left.
#[test]
fn rootfs_propagation_shared_and_unbindable_pivot() {
    setup!();
    for (value, tag) in [("rshared", "shared:"), ("runbindable", "unbindable")] {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "awk '$5 == \"/\" {print $7}' /proc/self/mountinfo",
        ]);
        b.config["linux"]["rootfsPropagation"] = json!(value);
        b.save();
        let c = b.container("rootfs-propagation");
        let out = c.run(&[]);
        assert!(
            out.status.success(),
            "{value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen = String::from_utf8_lossy(&out.stdout);
        assert!(
            seen.starts_with(tag),
            "{value}: / has {seen:?} in the container"
        );
        c.assert_gone();
    }
}
