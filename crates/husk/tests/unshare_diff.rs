//! Differential tests: the same flags through `husk unshare` and util-linux
//! `/usr/bin/unshare`, comparing exit status and what the program saw.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use common::{husk, output};

const REFERENCE: &str = "/usr/bin/unshare";

fn both(args: &[&str]) -> (Output, Output) {
    let ours = output(husk(["unshare"]).args(args).current_dir("/tmp"));
    let theirs = output(Command::new(REFERENCE).args(args).current_dir("/tmp"));
    (ours, theirs)
}

fn status(o: &Output) -> (Option<i32>, Option<i32>) {
    (o.status.code(), o.status.signal())
}

/// Same exit status and same stdout.
fn same(args: &[&str]) {
    let (ours, theirs) = both(args);
    assert_eq!(
        status(&ours),
        status(&theirs),
        "exit status differs for {args:?}: ours {}, theirs {}",
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "stdout differs for {args:?}"
    );
}

#[test]
fn namespaces_look_the_same_from_inside() {
    require_root!();
    require_tool!("unshare");
    for args in [
        &[
            "-f",
            "-p",
            "--mount-proc",
            "sh",
            "-c",
            "echo $$; ls /proc | grep -c '^[0-9]'",
        ][..],
        &["-u", "sh", "-c", "hostname husk-diff; hostname"],
        &["-n", "sh", "-c", "cut -d: -f1 /proc/net/dev | tail -n +3"],
        &[
            "-r",
            "sh",
            "-c",
            "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups",
        ],
        &["-c", "sh", "-c", "id -u; cat /proc/self/uid_map"],
        &[
            "--map-user=1234",
            "--map-group=1234",
            "sh",
            "-c",
            "id -u; id -g",
        ],
        &["-U", "--setgroups=deny", "cat", "/proc/self/setgroups"],
        &["-m", "-u", "-i", "-n", "-C", "-f", "-p", "true"],
        &["-w", "/usr", "pwd"],
        &["-S", "65534", "-G", "65534", "id"],
        &[
            "-T",
            "--monotonic=3600",
            "-f",
            "cat",
            "/proc/self/timens_offsets",
        ],
    ] {
        same(args);
    }
}

#[test]
fn exit_statuses_match() {
    require_tool!("unshare");
    for args in [
        &["-f", "sh", "-c", "exit 7"][..],
        &["sh", "-c", "exit 3"],
        &["-f", "sh", "-c", "kill -TERM $$"],
        &["-f", "sh", "-c", "kill -INT $$"],
        &["-f", "--kill-child", "sh", "-c", "kill -HUP $$"],
        &["husk-no-such-program"],
        &["/etc/passwd"],
    ] {
        same(args);
    }
}

#[test]
fn misuse_fails_the_same_way() {
    require_tool!("unshare");
    for args in [
        &["--husk-no-such-option"][..],
        &["-Z"],
        &["--map-users=1,2", "true"],
        &["--map-users=0,0,1,4", "true"],
        &["--map-users=a,b,c", "true"],
        &["--map-user=husk-no-such-user", "true"],
        &["-S", "abc", "true"],
        &["--monotonic", "5", "true"],
        &["-T", "--boottime", "abc", "true"],
        &["--kill-child=FOO", "true"],
        &["--propagation", "sideways", "-m", "true"],
        &["--setgroups", "maybe", "-U", "true"],
        &["-r", "--setgroups", "allow", "true"],
        &["-w", "/nonexistent-husk", "true"],
    ] {
        let (ours, theirs) = both(args);
        assert_eq!(status(&ours), status(&theirs), "{args:?}");
        // One line (util-linux adds a "Try --help" line to usage errors).
        let err = String::from_utf8_lossy(&ours.stderr);
        assert!(
            !err.is_empty() && err.lines().count() <= 2,
            "{args:?}: {err}"
        );
        assert!(err.starts_with("husk unshare: "), "{args:?}: {err}");
    }
}
