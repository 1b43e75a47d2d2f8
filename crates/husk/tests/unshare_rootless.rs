//! `husk unshare` run by the unprivileged `husk-test` user: user
//! namespaces work (one-line maps written by the process itself, ranges
//! through newuidmap/newgidmap), privileged operations fail clearly and
//! leave nothing behind. The suite itself runs as root to create the user.

mod common;

use std::process::{Command, Output};

use common::{as_user, output, test_user, unshare, TestUser};

fn as_test_user(user: TestUser, args: &[&str]) -> Output {
    let mut cmd = unshare(args);
    cmd.current_dir("/tmp");
    output(as_user(&mut cmd, user))
}

fn ok_stdout(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rows(text: &str) -> Vec<Vec<u32>> {
    text.lines()
        .map(|l| l.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect()
}

#[test]
fn map_root_user_works_unprivileged() {
    require_root!();
    let user = test_user();
    let out = ok_stdout(as_test_user(
        user,
        &[
            "-r",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups",
        ],
    ));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("0"));
    let maps = rows(&lines.by_ref().take(2).collect::<Vec<_>>().join("\n"));
    assert_eq!(maps, [vec![0, user.uid, 1], vec![0, user.gid, 1]]);
    assert_eq!(lines.next(), Some("deny"));
}

#[test]
fn map_auto_uses_newuidmap_and_subordinate_ids() {
    require_root!();
    require_tool!("newuidmap");
    let user = test_user();
    let out = ok_stdout(as_test_user(
        user,
        &[
            "--map-auto",
            "-r",
            "cat",
            "/proc/self/uid_map",
            "/proc/self/gid_map",
        ],
    ));
    let s = user.sub_start;
    assert_eq!(
        rows(&out),
        [
            vec![0, user.uid, 1],
            vec![1, s, 65535],
            vec![0, user.gid, 1],
            vec![1, s, 65535]
        ]
    );
}

#[test]
fn ranges_outside_the_subordinate_ids_are_refused() {
    require_root!();
    require_tool!("newuidmap");
    let user = test_user();
    let out = as_test_user(user, &["--map-users=0:0:10", "true"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // newuidmap's own reason is folded into husk's line: exactly one line.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("husk unshare: newuidmap failed with exit status 1: uid range [0-10)"),
        "{err}"
    );
    assert!(err.ends_with(" not allowed\n"), "{err}");
    // The same for newgidmap, once the uid map was allowed.
    let start = user.sub_start.to_string();
    let ok_uids = format!("--map-users=0:{start}:10");
    let out = as_test_user(user, &[&ok_uids, "--map-groups=0:0:10", "true"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("husk unshare: newgidmap failed with exit status 1: gid range"),
        "{err}"
    );
}

#[test]
fn privileged_operations_fail_clearly() {
    require_root!();
    let user = test_user();
    let out = as_test_user(user, &["-n", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "husk unshare: unshare failed: Operation not permitted"
    );
    // Persisting needs CAP_SYS_ADMIN in the original mount namespace.
    let dir = common::tempdir();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let file = dir.path().join("uts");
    let arg = format!("--uts={}", file.display());
    let out = as_test_user(user, &["-r", arg.as_str(), "true"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(&format!(
            "on {} failed: Operation not permitted\n",
            file.display()
        )),
        "{err}"
    );
    assert!(!file.exists(), "persist file left behind");
}

#[test]
fn rootless_namespaces_inside_a_user_namespace() {
    require_root!();
    let user = test_user();
    let out = ok_stdout(as_test_user(
        user,
        &[
            "-r",
            "-f",
            "-p",
            "-u",
            "-n",
            "--mount-proc",
            "sh",
            "-c",
            "hostname husk-rootless; hostname; echo $$; cat /proc/net/dev",
        ],
    ));
    let (head, dev) = out.split_at(out.match_indices('\n').nth(1).unwrap().0 + 1);
    assert_eq!(head.lines().collect::<Vec<_>>(), ["husk-rootless", "1"]);
    // -n too: a network namespace of its own, with only lo.
    assert_eq!(common::net_dev_links(dev), ["lo"], "{dev}");
}

#[test]
fn inside_a_user_namespace_made_by_util_linux() {
    require_root!();
    require_tool!("unshare");
    // The third privilege mode: root in a user namespace, not on the host.
    let user = test_user();
    let husk = common::husk_bin();
    let mut cmd = Command::new("/usr/bin/unshare");
    cmd.arg("-r")
        .arg(&husk)
        .args([
            "unshare",
            "-r",
            "-f",
            "-p",
            "-u",
            "-n",
            "--mount-proc",
            "sh",
            "-c",
        ])
        .arg("hostname husk-nested; hostname; echo $$; cat /proc/self/uid_map /proc/net/dev")
        .current_dir("/tmp");
    let out = ok_stdout(output(as_user(&mut cmd, user)));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["husk-nested", "1"]);
    let map: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(map, ["0", "0", "1"]);
    // -n too: a network namespace of its own, with only lo.
    let dev = lines[3..].join("\n");
    assert_eq!(common::net_dev_links(&dev), ["lo"], "{dev}");
}
