//! `husk nsenter` against real namespaces, and against util-linux's
//! `nsenter` on the same targets with the same flags.

mod common;
mod nsenter_target;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output};

use common::{
    as_user, gone_pid, net_dev_links, nsenter, output, stderr, stdout_ok, test_user, unique,
    MountGuard, MultiCall,
};
use nsenter_target::Target;

/// Namespaces of a typical target: everything but user and time.
const ISOLATED: &[&str] = &["--pid", "--mount-proc", "--uts", "--net", "--ipc"];

fn target_args(t: &Target, flags: &[&str]) -> Vec<String> {
    let mut args = vec!["-t".to_owned(), t.pid.to_string()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args
}

#[test]
fn uts_shows_the_inner_hostname() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("uts"));
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-u", "hostname"])));
    assert_eq!(out.trim(), t.hostname);
    let long = stdout_ok(&mut nsenter([
        format!("--target={}", t.pid),
        "--uts".into(),
        "hostname".into(),
    ]));
    assert_eq!(long.trim(), t.hostname);
}

#[test]
fn net_shows_only_loopback() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("net"));
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &["-n", "cat", "/proc/self/net/dev"],
    )));
    let links = net_dev_links(&out);
    assert_eq!(links, ["lo"], "{out}");
}

#[test]
fn pid_forks_into_the_inner_numbering() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("pid"));
    // With the mount namespace too, /proc is the inner one: $$ and
    // /proc/self agree, and the inner init (pid 1) is the target's sleep.
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &[
            "-p",
            "-m",
            "sh",
            "-c",
            "echo $$; read -r me rest < /proc/self/stat; echo $me; cat /proc/1/comm",
        ],
    )));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let inner: u32 = lines[0].parse().unwrap();
    assert!(inner > 1 && inner < 100, "inner pid {inner}");
    assert_eq!(lines[1], lines[0]);
    assert_eq!(lines[2], "sleep");
    // -F: no fork, so the shell is not in the pid namespace (its children are).
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &["-p", "-F", "sh", "-c", "echo $$"],
    )));
    assert!(out.trim().parse::<u32>().unwrap() > 100, "{out}");
}

#[test]
fn all_enters_every_namespace_but_our_own_user_namespace() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("all"));
    let script = "hostname; readlink /proc/self/ns/net; echo $$";
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-a", "sh", "-c", script])));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], t.hostname);
    assert_eq!(lines[1], format!("net:[{}]", t.ns_ino("net")));
    assert!(lines[2].parse::<u32>().unwrap() < 100, "{out}");
    // The user namespace is ours: -a leaves it out, -U insists (and fails).
    let out = output(&mut nsenter(target_args(&t, &["-a", "-U", "true"])));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "husk nsenter: reassociate to namespace 'ns/user' failed: Invalid argument"
    );
}

#[test]
fn uts_from_a_bind_mounted_namespace_file() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("file"));
    let dir = common::tempdir();
    let file = dir.path().join(unique("uts"));
    std::fs::write(&file, "").unwrap();
    let source = t.ns_path("uts");
    rustix::mount::mount_bind(source.as_str(), &file).expect("bind mount ns file");
    let _mount = MountGuard(file.clone());
    let arg = format!("--uts={}", file.display());
    let out = stdout_ok(&mut nsenter([arg.as_str(), "hostname"]));
    assert_eq!(out.trim(), t.hostname);
    // The bind mount keeps the namespace alive after its last process.
    let hostname = t.hostname.clone();
    drop(t);
    let out = stdout_ok(&mut nsenter([arg.as_str(), "hostname"]));
    assert_eq!(out.trim(), hostname);
    // Short form with the file glued on.
    let out = stdout_ok(&mut nsenter([
        format!("-u{}", file.display()),
        "hostname".into(),
    ]));
    assert_eq!(out.trim(), hostname);
}

#[test]
fn root_and_working_directory() {
    require_root!();
    require_tool!("unshare");
    let cwd = common::tempdir();
    let t = Target::start_in(ISOLATED, &unique("dirs"), cwd.path());
    let cwd_path = cwd.path().to_str().unwrap();
    // -w: the target's cwd; -r: the target's root.
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-r", "-w", "pwd"])));
    assert_eq!(out.trim(), cwd_path);
    // --wd=DIR opened before entering; -W DIR looked up inside.
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-m", "--wd=/tmp", "pwd"])));
    assert_eq!(out.trim(), "/tmp");
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-m", "-W", "/proc", "pwd"])));
    assert_eq!(out.trim(), "/proc");
    // Entering a mount namespace alone lands at its root.
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-m", "pwd"])));
    assert_eq!(out.trim(), "/");
    // -w and -W exclude each other.
    let out = output(&mut nsenter(target_args(&t, &["-W", "/", "-w", "pwd"])));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "husk nsenter: mutually exclusive arguments: --wdns --wd"
    );
}

#[test]
fn root_from_a_directory_is_a_chroot() {
    require_root!();
    // A tiny root: /usr bind-mounted, merged-/usr links, and a marker.
    let root = common::tempdir();
    let usr = root.path().join("usr");
    std::fs::create_dir(&usr).unwrap();
    for link in ["bin", "lib", "lib64", "sbin"] {
        if std::path::Path::new("/").join(link).exists() {
            std::os::unix::fs::symlink(format!("usr/{link}"), root.path().join(link)).unwrap();
        }
    }
    let marker = unique("marker");
    std::fs::write(root.path().join(&marker), "").unwrap();
    rustix::mount::mount_bind("/usr", &usr).expect("bind /usr");
    let _mount = MountGuard(usr.clone());
    let arg = format!("--root={}", root.path().display());
    let out = stdout_ok(&mut nsenter([arg.as_str(), "/bin/ls", "/"]));
    assert!(out.lines().any(|l| l == marker), "{out}");
    // util-linux agrees.
    let reference =
        stdout_ok(Command::new("/usr/bin/nsenter").args([arg.as_str(), "/bin/ls", "/"]));
    assert_eq!(out, reference);
}

#[test]
fn setuid_and_setgid() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("ids"));
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &[
            "-u",
            "-S",
            "65534",
            "-G",
            "65534",
            "sh",
            "-c",
            "id -u; id -g; id -G",
        ],
    )));
    assert_eq!(out, "65534\n65534\n65534\n");
    // -S alone keeps the gid and groups.
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &["-u", "--setuid=1", "id", "-g"],
    )));
    assert_eq!(out.trim(), "0");
    // -1 reaches setuid(2), which refuses it.
    let out = output(&mut nsenter(target_args(&t, &["-u", "-S", "-1", "true"])));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "husk nsenter: setuid failed: Invalid argument"
    );
}

#[test]
fn user_namespace_made_by_an_unprivileged_user() {
    require_root!();
    require_tool!("unshare");
    let user = test_user();
    let t = Target::start_as(
        &["--user", "--map-root-user", "--uts"],
        &unique("user"),
        user,
    );
    let map = format!("{:>10} {:>10} {:>10}", 0, user.uid, 1);
    // Root deprivileging: other namespaces first, the user namespace last.
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &[
            "-U",
            "-u",
            "sh",
            "-c",
            "id -u; hostname; cat /proc/self/uid_map",
        ],
    )));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(lines[1], t.hostname);
    assert_eq!(lines[2].trim(), map.trim());
    // -a includes the user namespace when it differs from ours.
    let out = stdout_ok(&mut nsenter(target_args(&t, &["-a", "id", "-u"])));
    assert_eq!(out.trim(), "0");
    // --preserve-credentials keeps our ids: root has no mapping inside.
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &["-U", "--preserve-credentials", "id", "-u"],
    )));
    assert_eq!(out.trim(), "65534");
    // The owner gaining privileges: the user namespace must come first
    // (the UTS one is owned by it); both passes are needed. Its own id
    // (mapped to 0) is kept: it may not drop groups, before or after.
    let args = target_args(
        &t,
        &[
            "-U",
            "-u",
            "--preserve-credentials",
            "sh",
            "-c",
            "id -u; hostname",
        ],
    );
    let out = stdout_ok(as_user(&mut nsenter(&args), user));
    assert_eq!(out, format!("0\n{}\n", t.hostname));
    // Without --preserve-credentials util-linux fails there, and so do we.
    let args = target_args(&t, &["-U", "-u", "true"]);
    let ours = output(as_user(&mut nsenter(&args), user));
    let reference = output(as_user(Command::new("/usr/bin/nsenter").args(&args), user));
    assert_eq!(ours.status.code(), reference.status.code());
    assert_eq!(
        stderr(&ours).trim(),
        "husk nsenter: setgroups failed: Operation not permitted"
    );
}

#[test]
fn the_child_status_and_signal_pass_through() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("status"));
    for fork in [&["-p"][..], &["-u"][..]] {
        let mut args = fork.to_vec();
        args.extend(["sh", "-c", "exit 7"]);
        let out = output(&mut nsenter(target_args(&t, &args)));
        assert_eq!(out.status.code(), Some(7), "{args:?}");
    }
    // The forked child dies of SIGTERM: so does nsenter (the shell sees 143).
    let out = output(&mut nsenter(target_args(
        &t,
        &["-p", "sh", "-c", "kill -TERM $$"],
    )));
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    let out = output(&mut nsenter(target_args(
        &t,
        &["-p", "sh", "-c", "kill -PIPE $$"],
    )));
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE));
    let out = output(Command::new("sh").arg("-c").arg(format!(
        "{} nsenter -t {} -p sh -c 'kill -TERM $$'; echo $?",
        common::husk_bin().display(),
        t.pid
    )));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "143");
}

/// Runs util-linux `nsenter` and husk's (through a link called `nsenter`,
/// so messages carry the same program name) with the same arguments.
fn both(args: &[String]) -> (Output, Output) {
    let links = MultiCall::new();
    let reference = output(Command::new("/usr/bin/nsenter").arg0("nsenter").args(args));
    let ours = output(
        Command::new(links.path("nsenter"))
            .arg0("nsenter")
            .args(args),
    );
    (reference, ours)
}

#[test]
fn time_and_cgroup_namespaces() {
    require_root!();
    require_tool!("unshare");
    let flags = ["--time", "--boottime", "100000", "--cgroup", "--pid"];
    let t = Target::start(&flags, &unique("time"));
    let uptime = |out: &str| -> f64 { out.split_whitespace().next().unwrap().parse().unwrap() };
    let outside = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let inside = uptime(&stdout_ok(&mut nsenter(target_args(
        &t,
        &["-T", "cat", "/proc/uptime"],
    ))));
    assert!(
        (inside - outside - 100_000.0).abs() < 60.0,
        "{inside} vs {outside}"
    );
    for case in [
        &["-T", "cat", "/proc/uptime"][..],
        &["-C", "cat", "/proc/self/cgroup"],
        &[
            "-a",
            "readlink",
            "/proc/self/ns/time",
            "/proc/self/ns/cgroup",
        ],
    ] {
        let (reference, ours) = both(&target_args(&t, case));
        assert_eq!(ours.status.code(), Some(0), "{case:?}: {}", stderr(&ours));
        let (r, o) = (
            String::from_utf8_lossy(&reference.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        if case[0] == "-T" {
            assert!((uptime(&r) - uptime(&o)).abs() < 5.0, "{r} vs {o}");
        } else {
            assert_eq!(o, r, "{case:?}");
        }
    }
    let out = stdout_ok(&mut nsenter(target_args(
        &t,
        &["-a", "readlink", "/proc/self/ns/time"],
    )));
    assert_eq!(out.trim(), format!("time:[{}]", t.ns_ino("time")));
}

#[test]
fn differential_against_util_linux() {
    require_root!();
    require_tool!("unshare");
    if !std::path::Path::new("/usr/bin/nsenter").exists() {
        common::skip("needs util-linux /usr/bin/nsenter");
        return;
    }
    let t = Target::start(ISOLATED, &unique("diff"));
    let cases: &[&[&str]] = &[
        &["-u", "hostname"],
        &[
            "--uts=/proc/self/ns/uts",
            "-n",
            "sh",
            "-c",
            "hostname; wc -l < /proc/self/net/dev",
        ],
        &["--uts", "--net", "cat", "/proc/self/net/dev"],
        &[
            "-n",
            "-i",
            "-u",
            "sh",
            "-c",
            "hostname; ls /dev/mqueue | wc -l",
        ],
        &[
            "-p",
            "-m",
            "sh",
            "-c",
            "cat /proc/1/comm; ls /proc/1/ns | wc -l",
        ],
        &["-a", "sh", "-c", "hostname; cat /proc/1/comm; pwd"],
        &["-a", "-F", "hostname"],
        &["-u", "-S", "65534", "-G", "65534", "id"],
        &["-u", "-G", "1", "id"],
        &["-r", "-w", "pwd"],
        &["-m", "-W", "/proc", "pwd"],
        &["--wdns=/tmp", "-m", "pwd"],
        &["-u", "sh", "-c", "exit 3"],
        &["-p", "sh", "-c", "exit 4"],
        &["-u", "no-such-program-husk"],
        &["-u", "/etc/passwd"],
        &["-U", "true"],
        &["-a", "-U", "true"],
        &["-u", "-S", "abc", "true"],
        &["-u", "-S", "-1", "true"],
        &["-x"],
        &["--w"],
        &["--bogus=1"],
        &["--all=1"],
        &["-W"],
        &["--tar"],
    ];
    for case in cases {
        let args = target_args(&t, case);
        let (reference, ours) = both(&args);
        assert_eq!(
            ours.status.code(),
            reference.status.code(),
            "exit of {case:?}: {}",
            stderr(&ours)
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&reference.stdout),
            "stdout of {case:?}"
        );
        assert_eq!(stderr(&ours), stderr(&reference), "stderr of {case:?}");
    }
    // Signals: both die of the signal their child died of.
    let args = target_args(&t, &["-p", "sh", "-c", "kill -INT $$"]);
    let (reference, ours) = both(&args);
    assert_eq!(ours.status.signal(), reference.status.signal());
    assert_eq!(ours.status.signal(), Some(libc::SIGINT));
}

#[test]
fn bad_input_is_one_line_and_the_util_linux_exit_code() {
    require_root!();
    let gone = gone_pid();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-t".into(), "abc".into(), "-u".into()],
            "failed to parse pid: 'abc'",
        ),
        (vec!["-t".into()], "option requires an argument -- 't'"),
        (
            vec!["-t".into(), gone.to_string(), "-n".into(), "true".into()],
            "cannot open /proc/",
        ),
        (
            vec!["--uts=/etc/passwd".into(), "true".into()],
            "/etc/passwd is not a namespace file",
        ),
        (
            vec!["--uts=/proc/self/ns/net".into(), "true".into()],
            "/proc/self/ns/net is a net namespace, not uts",
        ),
        (
            vec!["--frobnicate".into()],
            "unrecognized option '--frobnicate'",
        ),
        (
            vec!["-u".into(), "true".into()],
            "neither filename nor target pid supplied for ns/uts",
        ),
        (
            vec!["-a".into(), "true".into()],
            "no target PID specified for --all",
        ),
        (
            vec!["-r".into(), "true".into()],
            "neither filename nor target pid supplied for root",
        ),
    ];
    for (args, want) in cases {
        let out = output(&mut nsenter(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("husk nsenter: "), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let lines = err.lines().count();
        let usage = err.contains("Try 'husk nsenter --help'");
        assert_eq!(lines, if usage { 2 } else { 1 }, "{args:?}: {err}");
    }
}

#[test]
fn permission_denied_for_an_unprivileged_user() {
    require_root!();
    require_tool!("unshare");
    let user = test_user();
    let t = Target::start(ISOLATED, &unique("perm"));
    let args = target_args(&t, &["-u", "hostname"]);
    let ours = output(as_user(&mut nsenter(&args), user));
    let reference = output(as_user(Command::new("/usr/bin/nsenter").args(&args), user));
    assert_eq!(ours.status.code(), reference.status.code());
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(
        stderr(&ours).trim(),
        format!(
            "husk nsenter: cannot open /proc/{}/ns/uts: Permission denied",
            t.pid
        )
    );
    // A namespace file the user may open but not enter: setns is refused.
    let ours = output(as_user(
        &mut nsenter(["--uts=/proc/self/ns/uts", "true"]),
        user,
    ));
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(
        stderr(&ours).trim(),
        "husk nsenter: reassociate to namespace 'ns/uts' failed: Operation not permitted"
    );
}

#[test]
fn help_and_version() {
    let out = stdout_ok(&mut nsenter(["--help"]));
    assert!(out.contains(" -t, --target <pid>"), "{out}");
    let out = stdout_ok(&mut nsenter(["-V"]));
    assert_eq!(
        out.trim(),
        format!("nsenter from husk {}", env!("CARGO_PKG_VERSION"))
    );
    // With no namespace at all, util-linux just runs the program.
    let out = stdout_ok(&mut nsenter(["echo", "hi"]));
    assert_eq!(out, "hi\n");
}

/// The state letter of a process (`R`, `S`, `T` for stopped, ...).
fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

#[test]
fn a_stopped_child_stops_the_parent_and_continues_with_it() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(ISOLATED, &unique("stop"));
    let mut cmd = nsenter(target_args(
        &t,
        &["-p", "sh", "-c", "kill -STOP $$; echo resumed"],
    ));
    cmd.stdout(std::process::Stdio::piped());
    let mut parent = common::ChildGuard::spawn(&mut cmd);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state(parent.pid()) != 'T' {
        assert!(
            std::time::Instant::now() < deadline,
            "nsenter never stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = rustix::process::Pid::from_raw(i32::try_from(parent.pid()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    let mut stdout = String::new();
    let mut pipe = parent.0.stdout.take().expect("piped stdout");
    std::io::Read::read_to_string(&mut pipe, &mut stdout).unwrap();
    let status = parent.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(stdout, "resumed\n");
}

/// getopt corners where glibc quotes exactly what was typed: the value
/// after `=`, `--=x` as an abbreviation of everything, a non-ASCII short
/// option as its first byte.
#[test]
fn getopt_corners_match_util_linux_byte_for_byte() {
    for args in [
        &["--w=x"][..],
        &["--=x"],
        &["--foo=bar"],
        &["-\u{e9}"],
        &["--tar"],
        &["-t", "abc", "-x"],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (reference, ours) = both(&args);
        assert_eq!(ours.status.code(), reference.status.code(), "{args:?}");
        assert_eq!(stderr(&ours), stderr(&reference), "{args:?}");
        assert_eq!(ours.stderr, reference.stderr, "{args:?}");
    }
}

/// The `setns` calls of `husk nsenter ARGS true`, as `strace -y` prints them
/// (`setns(4<anon_inode:[pidfd]>, CLONE_NEWUTS|CLONE_NEWNET) = 0`).
fn setns_calls(args: Vec<String>) -> Vec<String> {
    let dir = common::tempdir();
    let log = dir.path().join("strace");
    let out = output(
        Command::new("strace")
            .args(["-f", "-y", "-e", "trace=setns", "-o"])
            .arg(&log)
            .arg(common::husk_bin())
            .arg("nsenter")
            .args(args)
            .arg("true"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(&log)
        .expect("strace log")
        .lines()
        .filter_map(|l| l.split_once("setns(").map(|(_, call)| call.to_owned()))
        .collect()
}

/// The flags of one strace'd `setns` call, sorted.
fn setns_flags(call: &str) -> Vec<&str> {
    let flags = call
        .split(", ")
        .nth(1)
        .expect("flags")
        .split(')')
        .next()
        .unwrap();
    let mut flags: Vec<&str> = flags.split('|').collect();
    flags.sort_unstable();
    flags
}

#[test]
fn target_namespaces_are_entered_with_one_setns_on_a_pidfd() {
    require_root!();
    require_tool!("unshare");
    require_tool!("strace");
    let t = Target::start(&["--uts", "--net", "--ipc"], &unique("setns"));
    let calls = setns_calls(target_args(&t, &["-u", "-n", "-i"]));
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("<anon_inode:[pidfd]>"), "{calls:?}");
    assert!(calls[0].ends_with("= 0"), "{calls:?}");
    assert_eq!(
        setns_flags(&calls[0]),
        ["CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWUTS"]
    );
    // A namespace given as a file goes on its own, through that file.
    let ipc = format!("--ipc=/proc/{}/ns/ipc", t.pid);
    let calls = setns_calls(target_args(&t, &["-u", "-n", &ipc]));
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (pidfd, file): (Vec<&String>, Vec<&String>) =
        calls.iter().partition(|c| c.contains("[pidfd]"));
    assert_eq!(setns_flags(pidfd[0]), ["CLONE_NEWNET", "CLONE_NEWUTS"]);
    assert!(file[0].contains("<ipc:["), "{calls:?}");
    assert_eq!(setns_flags(file[0]), ["CLONE_NEWIPC"]);
}
