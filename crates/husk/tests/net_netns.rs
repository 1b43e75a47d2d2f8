//! `husk netns`: named network namespaces, checked with the real `ip`
//! both ways (husk makes, ip uses; ip makes, husk uses).

mod common;
mod net_support;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use common::{husk, is_mounted, output, stdout_ok, ChildGuard};
use net_support::{ip_link_names, DirGuard, EmptyDirGuard, Netns};

#[test]
fn husk_netns_add_is_an_ip_netns_with_only_lo() {
    require_root!();
    require_tool!("ip");
    let ns = Netns::husk("add");
    let ip_list = stdout_ok(Command::new("ip").args(["netns", "list"]));
    assert!(
        ip_list
            .lines()
            .any(|l| l.split(' ').next() == Some(ns.name())),
        "{ip_list}"
    );
    let inside =
        stdout_ok(Command::new("ip").args(["netns", "exec", ns.name(), "ip", "-j", "link"]));
    let links: serde_json::Value = serde_json::from_str(&inside).unwrap();
    let names: Vec<_> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].clone())
        .collect();
    assert_eq!(names, ["lo"]);
    // /run/netns is a shared mount point, as iproute2 leaves it.
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let run = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/run/netns"))
        .expect("/run/netns is a mount point");
    assert!(run.contains(" shared:"), "{run}");
}

#[test]
fn ip_netns_add_is_usable_by_husk() {
    require_root!();
    require_tool!("ip");
    let ns = Netns::ip("ipadd");
    let list = stdout_ok(&mut husk(["netns", "list"]));
    assert!(
        list.lines().any(|l| l.split(' ').next() == Some(ns.name())),
        "{list}"
    );
    // exec: the network namespace is the one bound at /run/netns/NAME.
    let link = stdout_ok(&mut husk([
        "netns",
        "exec",
        ns.name(),
        "readlink",
        "/proc/self/ns/net",
    ]));
    let ino = std::fs::metadata(ns.path()).unwrap().ino();
    assert_eq!(link.trim(), format!("net:[{ino}]"));
    // ... and /sys shows that namespace's devices only.
    let sys = stdout_ok(&mut husk([
        "netns",
        "exec",
        ns.name(),
        "ls",
        "/sys/class/net",
    ]));
    assert_eq!(sys.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    // husk link works in it too, and ip sees the change.
    ns.run("link", &["set", "lo", "up"]);
    assert_eq!(ns.ip_link("lo")["operstate"], "UNKNOWN");
    assert!(ns.ip_link("lo")["flags"]
        .as_array()
        .unwrap()
        .contains(&"UP".into()));
    // husk deletes what ip made.
    stdout_ok(&mut husk(["netns", "del", ns.name()]));
    assert!(!std::path::Path::new(&ns.path()).exists());
}

#[test]
fn delete_removes_the_file_and_the_mount() {
    require_root!();
    require_tool!("ip");
    let ns = Netns::husk("del");
    let path = std::path::PathBuf::from(ns.path());
    assert!(is_mounted(&path));
    stdout_ok(&mut husk(["netns", "delete", ns.name()]));
    assert!(!path.exists());
    assert!(!is_mounted(&path));
    let list = stdout_ok(Command::new("ip").args(["netns", "list"]));
    assert!(!list.contains(ns.name()), "{list}");
    // Deleting again fails with one line naming the file.
    let out = output(&mut husk(["netns", "del", ns.name()]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "husk netns: cannot delete {0}: cannot remove namespace file \"/run/netns/{0}\": No such file or directory",
            ns.name()
        )
    );
}

#[test]
fn exec_binds_etc_netns_files_over_etc() {
    require_root!();
    let ns = Netns::husk("etc");
    // /etc/netns itself is removed too if this test made it.
    let _parent =
        (!std::path::Path::new("/etc/netns").exists()).then(|| EmptyDirGuard("/etc/netns".into()));
    let dir = DirGuard(format!("/etc/netns/{}", ns.name()).into());
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("hosts"), "10.9.9.9 husk-only-in-netns\n").unwrap();
    let hosts = stdout_ok(&mut husk(["netns", "exec", ns.name(), "cat", "/etc/hosts"]));
    assert_eq!(hosts, "10.9.9.9 husk-only-in-netns\n");
    // The host's /etc/hosts is untouched (the bind was in a private mount ns).
    let host = std::fs::read_to_string("/etc/hosts").unwrap();
    assert!(!host.contains("husk-only-in-netns"));
    // The command's exit status is passed through (husk execs it).
    let out = output(&mut husk([
        "netns",
        "exec",
        ns.name(),
        "sh",
        "-c",
        "exit 7",
    ]));
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn identify_pids_attach_set_and_list_with_ids() {
    require_root!();
    require_tool!("ip");
    let ns = Netns::husk("ids");
    let child = ChildGuard::spawn(
        husk(["netns", "exec", ns.name(), "sleep", "60"]).stdin(std::process::Stdio::null()),
    );
    let pid = child.pid().to_string();
    // Wait until the child has entered the namespace (it execs sleep).
    let ino = std::fs::metadata(ns.path()).unwrap().ino();
    for _ in 0..200 {
        if std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| m.ino() == ino) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pids = stdout_ok(&mut husk(["netns", "pids", ns.name()]));
    assert!(pids.lines().any(|l| l == pid), "{pids}");
    assert_eq!(
        pids,
        stdout_ok(Command::new("ip").args(["netns", "pids", ns.name()]))
    );
    let names = stdout_ok(&mut husk(["netns", "identify", &pid]));
    assert_eq!(names.trim(), ns.name());
    // attach: a second name for the same namespace.
    let alias = Netns(common::unique("alias"));
    stdout_ok(&mut husk(["netns", "attach", alias.name(), &pid]));
    let mut names: Vec<String> = stdout_ok(&mut husk(["netns", "identify", &pid]))
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    let mut want = vec![ns.name().to_owned(), alias.name().to_owned()];
    want.sort();
    assert_eq!(names, want);
    assert_eq!(std::fs::metadata(alias.path()).unwrap().ino(), ino);
    // set: an id of our choosing, seen by ip and husk list alike.
    let id = 1000 + std::process::id() % 30000;
    stdout_ok(&mut husk(["netns", "set", ns.name(), &id.to_string()]));
    let line = |out: String| {
        out.lines()
            .find(|l| l.starts_with(&format!("{} ", ns.name())))
            .map(str::to_owned)
    };
    let want = format!("{} (id: {id})", ns.name());
    assert_eq!(
        line(stdout_ok(&mut husk(["netns", "list"]))),
        Some(want.clone())
    );
    assert_eq!(
        line(stdout_ok(Command::new("ip").args(["netns", "list"]))),
        Some(want)
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout_ok(&mut husk(["netns", "-j", "list"]))).unwrap();
    let entry = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == ns.name())
        .unwrap();
    assert_eq!(entry["id"], id);
    // Our own namespace is not a named one.
    let me = stdout_ok(&mut husk(["netns", "identify"]));
    assert!(!me.contains(ns.name()));
}

#[test]
fn bad_names_and_existing_names_leave_nothing_behind() {
    require_root!();
    let ns = Netns::husk("dup");
    let ino = std::fs::metadata(ns.path()).unwrap().ino();
    let out = output(&mut husk(["netns", "add", ns.name()]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "husk netns: cannot add {0}: cannot create namespace file \"/run/netns/{0}\": File exists",
            ns.name()
        )
    );
    // The existing namespace is untouched.
    assert_eq!(std::fs::metadata(ns.path()).unwrap().ino(), ino);
    for bad in ["husk/bad", ".."] {
        let out = output(&mut husk(["netns", "add", bad]));
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("invalid netns name"), "{err}");
    }
    assert!(!std::path::Path::new("/run/netns/husk").exists());
    // Attaching a process that does not exist fails and leaves no file.
    let ghost = Netns(common::unique("ghost"));
    let out = output(&mut husk(["netns", "attach", ghost.name(), "999999999"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(!std::path::Path::new(&ghost.path()).exists());
    // Unknown namespace for exec and -n.
    let out = output(&mut husk(["netns", "exec", "husk-no-such-ns", "true"]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("husk netns: cannot enter husk-no-such-ns: cannot open network namespace"),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("No such file or directory"),
        "{err}"
    );
    let _ = ip_link_names;
}
