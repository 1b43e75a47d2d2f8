//! Differential tests: the same flags through `husk unshare` and util-linux
//! `/usr/bin/unshare`, comparing exit status and what the program saw.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use common::{is_mounted, output, tempdir, unshare, MountGuard};

const REFERENCE: &str = "/usr/bin/unshare";

fn both(args: &[&str]) -> (Output, Output) {
    let ours = output(unshare(args).current_dir("/tmp"));
    let theirs = output(Command::new(REFERENCE).args(args).current_dir("/tmp"));
    (ours, theirs)
}

fn status(o: &Output) -> (Option<i32>, Option<i32>) {
    (o.status.code(), o.status.signal())
}

/// Same exit status and same stdout; returns ours.
fn same(args: &[&str]) -> Output {
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
    ours
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
            "echo $$; echo /proc/[0-9]*",
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
        // Both failing the same way (say, a kernel without the namespace)
        // would be "the same" too: each case must work and print.
        let ours = same(args);
        assert!(
            ours.status.success() && !ours.stdout.is_empty(),
            "{args:?}: {ours:?}"
        );
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
        &["--kill-child=TERM", "-p", "sh", "-c", "exit 5"],
        &["husk-no-such-program"],
        &["/etc/passwd"],
    ] {
        same(args);
    }
}

/// stderr with the program name normalised: `husk unshare: ` and glibc's
/// `/usr/bin/unshare: ` (getopt prints argv[0]) both become `unshare: `.
fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .replace("husk unshare", "unshare")
        .replace("/usr/bin/unshare", "unshare")
}

#[test]
fn misuse_fails_the_same_way_with_the_same_message() {
    require_tool!("unshare");
    for args in [
        &["--husk-no-such-option"][..],
        &["-Z"],
        &["-m=x", "true"],
        &["--ma", "true"],
        &["--fork=1", "true"],
        &["--setgroups"],
        &["-S"],
        &["--map-users=1,2", "true"],
        &["--map-users=0,0,1,4", "true"],
        &["--map-users=a,b,c", "true"],
        &["--map-user=husk-no-such-user", "true"],
        &["-S", "abc", "true"],
        &["-T", "--boottime", "abc", "true"],
        &["--kill-child=FOO", "true"],
        // Names only (signame_to_signum): numbers are unknown signals.
        &["--kill-child=15", "true"],
        &["--kill-child=0", "true"],
        &["--kill-child=RTMIN", "true"],
        &["--propagation", "sideways", "-m", "true"],
        &["--setgroups", "maybe", "-U", "true"],
        &["-r", "--setgroups", "allow", "true"],
        &["-w", "/nonexistent-husk", "true"],
        &["-R", "/nonexistent-husk", "true"],
        &["husk-no-such-program"],
        &["/etc/passwd"],
    ] {
        let (ours, theirs) = both(args);
        assert_eq!(status(&ours), status(&theirs), "{args:?}");
        assert_eq!(stderr_of(&ours), stderr_of(&theirs), "{args:?}");
    }
}

#[test]
fn deliberate_differences_still_fail_the_same_way() {
    require_tool!("unshare");
    // util-linux 2.38 says "(-t)" for the time namespace flag; husk "(-T)".
    let (ours, theirs) = both(&["--monotonic", "5", "true"]);
    assert_eq!(status(&ours), status(&theirs));
    assert!(
        stderr_of(&ours).ends_with("namespace (-T)\n"),
        "{}",
        stderr_of(&ours)
    );
}

/// getopt corners where glibc quotes what was typed (`--=x` abbreviates
/// every option, `--map-u=0` is quoted with its value, a non-ASCII short
/// option is quoted as its first byte) and util-linux acts on options in
/// order (the first bad value wins over a later bad option; `-h` acts
/// before a later bad option is seen).
#[test]
fn getopt_corners_match_util_linux() {
    require_tool!("unshare");
    for args in [
        &["--=x"][..],
        &["--map-u=0", "true"],
        &["-\u{e9}"],
        &["-S", "abc", "-Z"],
        &["-S", "abc", "-h"],
        &["--fo=1", "true"],
    ] {
        let (ours, theirs) = both(args);
        assert_eq!(status(&ours), status(&theirs), "{args:?}");
        assert_eq!(stderr_of(&ours), stderr_of(&theirs), "{args:?}");
    }
    let (ours, theirs) = both(&["-h", "--bogus"]);
    assert_eq!(status(&ours), status(&theirs));
    assert_eq!((ours.stderr.len(), theirs.stderr.len()), (0, 0));
}

/// `--uts=A --uts=B`: util-linux keeps one file per namespace type, the last
/// one given, so only B is bound. Each tool runs on fresh files in a private
/// directory (util-linux refuses to bind onto a shared mount).
#[test]
fn persist_files_last_of_a_type_wins() {
    require_root!();
    require_tool!("unshare");
    let bound = |tool: &mut Command| {
        let dir = tempdir();
        let p = dir.path();
        rustix::mount::mount_bind(p, p).expect("bind temp dir on itself");
        let _private = MountGuard(p.to_owned());
        rustix::mount::mount_change(p, rustix::mount::MountPropagationFlags::PRIVATE)
            .expect("make temp dir private");
        let files = ["a", "b", "n"].map(|f| p.join(f));
        for f in &files {
            std::fs::write(f, "").expect("create persist file");
        }
        let _g = files.clone().map(MountGuard);
        let [a, b, n] = files.each_ref().map(|f| f.display().to_string());
        let out = output(tool.args([
            format!("--uts={a}"),
            format!("--net={n}"),
            format!("--uts={b}"),
            "true".into(),
        ]));
        assert!(out.status.success(), "{tool:?}: {}", common::stderr(&out));
        files.each_ref().map(|f| is_mounted(f))
    };
    let ours = bound(&mut unshare::<[&str; 0], &str>([]));
    let theirs = bound(&mut Command::new(REFERENCE));
    assert_eq!(theirs, [false, true, true], "util-linux binds B and N");
    assert_eq!(ours, theirs);
}

/// Which namespaces are new: each tool's program compares its
/// `/proc/self/ns/*` links with the test's own (passed in the environment),
/// so both must print the same `KIND new`/`KIND same` lines, and those must
/// be the namespaces asked for.
#[test]
fn both_tools_make_the_same_namespaces_new() {
    require_root!();
    require_tool!("unshare");
    const KINDS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];
    let script = "for k in cgroup ipc mnt net pid time user uts; do \
                  eval outside=\\$HUSK_NS_$k; \
                  [ \"$(readlink /proc/self/ns/$k)\" = \"$outside\" ] \
                  && echo \"$k same\" || echo \"$k new\"; done";
    let args = ["-m", "-u", "-i", "-n", "-C", "-f", "-p", "sh", "-c", script];
    let with_env = |cmd: &mut Command| {
        for k in KINDS {
            let link = std::fs::read_link(format!("/proc/self/ns/{k}")).expect("ns link");
            cmd.env(format!("HUSK_NS_{k}"), link);
        }
        output(cmd.current_dir("/tmp"))
    };
    let ours = with_env(&mut unshare(args));
    let theirs = with_env(Command::new(REFERENCE).args(args));
    assert!(ours.status.success(), "{}", stderr_of(&ours));
    assert_eq!(status(&ours), status(&theirs));
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert_eq!(ours, String::from_utf8_lossy(&theirs.stdout));
    let want: String = KINDS
        .iter()
        .map(|k| {
            let new = !["time", "user"].contains(k);
            format!("{k} {}\n", if new { "new" } else { "same" })
        })
        .collect();
    assert_eq!(ours, want);
}
