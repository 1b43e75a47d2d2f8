//! The scanner on a fixture procfs (a temp dir laid out like /proc, with
//! namespace links as plain symlinks), and on the real /proc for what
//! needs the kernel (ioctls).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::*;

/// Writes `ROOT/PID/{stat,cmdline,comm,ns/*}`.
fn process(root: &Path, pid: u32, ppid: u32, comm: &str, ns: &[(&str, u64)]) {
    let dir = root.join(pid.to_string());
    fs::create_dir_all(dir.join("ns")).unwrap();
    fs::write(
        dir.join("stat"),
        format!("{pid} ({comm}) S {ppid} 1 1 0 -1\n"),
    )
    .unwrap();
    fs::write(dir.join("cmdline"), format!("{comm}\0--flag\0")).unwrap();
    fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
    for (kind, ino) in ns {
        symlink(format!("{kind}:[{ino}]"), dir.join("ns").join(kind)).unwrap();
    }
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("husk-scan-")
        .tempdir()
        .unwrap();
    let root = dir.path();
    process(
        root,
        1,
        0,
        "init",
        &[("net", 100), ("uts", 200), ("user", 300)],
    );
    process(
        root,
        7,
        1,
        "b (x) y",
        &[("net", 101), ("uts", 200), ("user", 300)],
    );
    process(
        root,
        5,
        1,
        "a",
        &[("net", 101), ("uts", 201), ("user", 300)],
    );
    fs::create_dir_all(root.join("self")).unwrap();
    fs::write(
        root.join("self/mountinfo"),
        "1 0 0:1 / / rw - ext4 /dev/x rw\n\
         2 1 0:4 net:[101] /run/netns/a rw - nsfs nsfs rw\n\
         3 1 0:4 net:[999] /run/netns/gone rw - nsfs nsfs rw\n",
    )
    .unwrap();
    fs::write(root.join("uptime"), "1 1\n").unwrap();
    dir
}

#[test]
fn groups_processes_by_namespace_and_sorts_by_inode() {
    let dir = fixture();
    let snap = scan(&ScanOptions::new(dir.path()).nsfs(true)).unwrap();
    let inos: Vec<u64> = snap.namespaces().iter().map(|n| n.ino).collect();
    assert_eq!(inos, vec![100, 101, 200, 201, 300]);
    let net = snap.get(101).unwrap();
    assert_eq!(net.kind, NsKind::Net);
    assert_eq!(net.nprocs(), 2);
    assert_eq!(net.rep(&snap).unwrap().pid, 5, "lowest pid represents");
    assert_eq!(net.nsfs, vec![PathBuf::from("/run/netns/a")]);
    assert_eq!(snap.get(300).unwrap().nprocs(), 3);
    assert_eq!(net.origin, Origin::Process);
}

#[test]
fn reads_ppid_after_the_last_parenthesis() {
    let dir = fixture();
    let snap = scan(&ScanOptions::new(dir.path())).unwrap();
    let b = snap.processes().iter().position(|p| p.pid == 7).unwrap();
    assert_eq!(snap.processes()[b].ppid, 1);
    let parent = snap.parent_process(b).unwrap();
    assert_eq!(snap.processes()[parent].pid, 1);
    assert_eq!(snap.processes()[b].ns(NsKind::Uts), Some(200));
}

#[test]
fn kinds_filter_what_is_read() {
    let dir = fixture();
    let mut kinds = KindSet::NONE;
    kinds.insert(NsKind::Uts);
    let snap = scan(&ScanOptions::new(dir.path()).kinds(kinds)).unwrap();
    assert!(snap.namespaces().iter().all(|n| n.kind == NsKind::Uts));
    assert_eq!(snap.namespaces().len(), 2);
    assert_eq!(snap.processes()[0].ns(NsKind::Net), None);
}

#[test]
fn command_line_like_util_linux() {
    let dir = fixture();
    assert_eq!(
        command_line(dir.path(), 7).unwrap(),
        b"b (x) y --flag".to_vec()
    );
    fs::write(dir.path().join("5/cmdline"), "").unwrap();
    assert_eq!(
        command_line(dir.path(), 5).unwrap(),
        b"a".to_vec(),
        "falls back to comm"
    );
    assert_eq!(command_line(dir.path(), 42), None);
}

#[test]
fn missing_proc_root_is_an_error() {
    let err = scan(&ScanOptions::new("/nonexistent/husk-proc")).unwrap_err();
    assert!(matches!(err, ScanError::Proc { .. }), "{err:?}");
    assert_eq!(err.to_string(), "cannot read /nonexistent/husk-proc");
}

#[test]
fn parses_namespace_links() {
    assert_eq!(
        procfs::parse_ns_link(b"net:[4026531840]"),
        Some((NsKind::Net, 4026531840))
    );
    assert_eq!(
        procfs::parse_ns_link(b"cgroup:[1]"),
        Some((NsKind::Cgroup, 1))
    );
    assert_eq!(procfs::parse_ns_link(b"socket:[1]"), None);
    assert_eq!(procfs::parse_ns_link(b"net:4"), None);
}

#[test]
fn real_proc_relations_and_ancestors() {
    let mut kinds = KindSet::NONE;
    kinds.insert(NsKind::Net);
    let mut snap = scan(&ScanOptions::new("/proc").kinds(kinds).relations(true)).unwrap();
    let me = std::process::id();
    let net = snap
        .namespaces()
        .iter()
        .find(|n| n.has_pid(&snap, me))
        .unwrap();
    let owner = net.owner.expect("owner visible");
    assert!(
        snap.get(owner).is_none(),
        "user namespaces were not scanned"
    );
    snap.add_ancestors();
    let user = snap.get(owner).expect("owner added as an ancestor");
    assert_eq!(user.kind, NsKind::User);
    assert_eq!(user.origin, Origin::Ancestor);
    assert_eq!(user.nprocs(), 0);
}

/// Unmounts (lazily) on Drop.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn holders_find_namespaces_no_process_is_in() {
    husk_testkit::require_root!("needs root");
    let dir = tempfile::Builder::new()
        .prefix("husk-hold-")
        .tempdir()
        .unwrap();
    let file = dir.path().join("husk-net");
    fs::write(&file, "").unwrap();
    let ok = std::process::Command::new("unshare")
        .arg(format!("--net={}", file.display()))
        .arg("true")
        .status()
        .expect("run unshare");
    assert!(ok.success());
    let guard = Unmount(file.clone());
    let mut kinds = KindSet::NONE;
    kinds.insert(NsKind::Net);
    let opts = ScanOptions::new("/proc")
        .kinds(kinds)
        .holders(true)
        .relations(true);

    let snap = scan(&opts).unwrap();
    let held = snap
        .namespaces()
        .iter()
        .find(|n| n.origin == Origin::BindMount(file.clone()))
        .expect("bind-mounted namespace listed");
    assert_eq!(held.nprocs(), 0);
    assert!(held.owner.is_some());
    let ino = held.ino;
    assert!(scan(&opts.clone().holders(false))
        .unwrap()
        .get(ino)
        .is_none());

    // Keep it open, drop the mount: now only our fd holds it.
    let fd = fs::File::open(&file).unwrap();
    drop(guard);
    let snap = scan(&opts).unwrap();
    let held = snap.get(ino).expect("fd-held namespace listed");
    assert!(
        matches!(held.origin, Origin::OpenFd { pid, .. } if pid == std::process::id()),
        "{:?}",
        held.origin
    );
    drop(fd);
}
