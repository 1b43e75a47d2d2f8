//! `husk unshare` against the real kernel, as root: each test creates real
//! namespaces and checks what the program inside sees, and what stays
//! outside.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    is_mounted, net_dev_links, output, stdout_ok, tempdir, unique, unshare, ChildGuard, MountGuard,
};

/// A temp dir bind-mounted on itself and made private, so a mount
/// namespace can be persisted on a file inside (unshare(1) EXAMPLES).
struct PrivateDir {
    // Fields drop in declaration order: unmount first, then remove the
    // directory (a mount point cannot be removed, and would be left behind).
    _mount: MountGuard,
    dir: tempfile::TempDir,
}

impl PrivateDir {
    fn new() -> PrivateDir {
        PrivateDir::with(rustix::mount::MountPropagationFlags::PRIVATE)
    }

    fn with(flags: rustix::mount::MountPropagationFlags) -> PrivateDir {
        let dir = tempdir();
        let p = dir.path();
        rustix::mount::mount_bind(p, p).expect("bind temp dir on itself");
        let guard = MountGuard(p.to_owned());
        rustix::mount::mount_change(p, flags).expect("set temp dir propagation");
        PrivateDir { _mount: guard, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn program_is_pid_1_with_its_own_proc() {
    require_root!();
    let out = stdout_ok(&mut unshare([
        "-f",
        "-p",
        "--mount-proc",
        "sh",
        "-c",
        "echo $$; echo /proc/[0-9]*",
    ]));
    // The shell expands the glob itself: it is the only process there.
    assert_eq!(out, "1\n/proc/1\n");
}

#[test]
fn hostname_set_inside_is_invisible_outside() {
    require_root!();
    let outside = stdout_ok(&mut Command::new("hostname"));
    let name = unique("uts");
    let inside = stdout_ok(&mut unshare([
        "-u",
        "sh",
        "-c",
        &format!("hostname {name}; hostname"),
    ]));
    assert_eq!(inside.trim(), name);
    assert_eq!(stdout_ok(&mut Command::new("hostname")), outside);
}

#[test]
fn new_net_namespace_has_only_lo() {
    require_root!();
    let out = stdout_ok(&mut unshare(["-n", "cat", "/proc/net/dev"]));
    let links = net_dev_links(&out);
    assert_eq!(links, ["lo"], "{out}");
}

#[test]
fn mount_inside_is_invisible_outside() {
    require_root!();
    // On a shared mount, so that a mount inside would propagate out unless
    // -m made the new namespace's mounts private (a private host root
    // would hide that).
    let dir = PrivateDir::with(rustix::mount::MountPropagationFlags::SHARED);
    let sub = dir.path("sub");
    std::fs::create_dir(&sub).unwrap();
    // Unmounts a leaked tmpfs before the directory goes (declared after it).
    let _leak = MountGuard(sub.clone());
    let d = sub.to_str().unwrap();
    let script = format!("mount -t tmpfs husk-tmpfs {d} && grep -c ' {d} ' /proc/self/mountinfo");
    let out = stdout_ok(&mut unshare(["-m", "sh", "-c", &script]));
    assert_eq!(out.trim(), "1");
    assert!(!is_mounted(&sub), "mount leaked out of the namespace");
}

#[test]
fn map_root_user_maps_uid_0_to_the_caller() {
    require_root!();
    let out = stdout_ok(&mut unshare([
        "-r",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map",
    ]));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("0"));
    let map: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", "0", "1"]);
}

#[test]
fn map_users_ranges_are_written_for_root() {
    require_root!();
    let out = stdout_ok(&mut unshare([
        "--map-users=0:100000:1000",
        "--map-groups=100000,0,1000",
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map",
    ]));
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, [["0", "100000", "1000"], ["0", "100000", "1000"]]);
}

#[test]
fn overlapping_maps_fail_clearly_before_anything_happens() {
    let out = output(&mut unshare([
        "--map-users=0:1000:10",
        "--map-users=5:3000:1",
        "true",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "husk unshare: mappings 0:1000:10 and 5:3000:1 overlap inside the namespace"
    );
    let out = output(&mut unshare(["--map-users=4294967290:0:10", "true"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "husk unshare: mapping 4294967290:0:10 runs past the largest id"
    );
}

#[test]
fn boottime_offset_shows_in_uptime() {
    require_root!();
    let uptime = |text: &str| {
        text.split_whitespace()
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let host = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let inside = uptime(&stdout_ok(&mut unshare([
        "-T",
        "--boottime",
        "86400",
        "-f",
        "cat",
        "/proc/uptime",
    ])));
    assert!(
        inside - host > 86000.0 && inside - host < 86800.0,
        "{host} {inside}"
    );
    let offsets = stdout_ok(&mut unshare([
        "-T",
        "--monotonic=-1",
        "-f",
        "cat",
        "/proc/self/timens_offsets",
    ]));
    assert!(
        offsets.contains("monotonic") && offsets.contains("-1"),
        "{offsets}"
    );
}

#[test]
fn persistent_uts_namespace_outlives_its_creator() {
    require_root!();
    require_tool!("nsenter");
    let dir = tempdir();
    let file = dir.path().join("uts");
    let _guard = MountGuard(file.clone());
    let name = unique("persist");
    let uts = format!("--uts={}", file.display());
    stdout_ok(&mut unshare([uts.as_str(), "hostname", &name]));
    assert!(is_mounted(&file));
    let seen = stdout_ok(Command::new("nsenter").arg(&uts).arg("hostname"));
    assert_eq!(seen.trim(), name);
}

#[test]
fn persistent_mount_and_pid_namespaces_with_fork() {
    require_root!();
    require_tool!("nsenter");
    let dir = PrivateDir::new();
    let (mnt, pid) = (dir.path("mnt"), dir.path("pid"));
    let _g = (MountGuard(mnt.clone()), MountGuard(pid.clone()));
    let mnt_arg = format!("--mount={}", mnt.display());
    let pid_arg = format!("--pid={}", pid.display());
    stdout_ok(&mut unshare([
        "-f",
        mnt_arg.as_str(),
        pid_arg.as_str(),
        "true",
    ]));
    assert!(is_mounted(&mnt) && is_mounted(&pid));
    // The persisted mount namespace is enterable after its creator exited.
    stdout_ok(Command::new("nsenter").arg(&mnt_arg).arg("true"));
}

#[test]
fn mount_namespace_on_a_shared_mount_is_refused_with_the_reason() {
    require_root!();
    let dir = PrivateDir::with(rustix::mount::MountPropagationFlags::SHARED);
    let file = dir.path("mnt");
    let _guard = MountGuard(file.clone());
    let out = output(&mut unshare([
        format!("--mount={}", file.display()),
        "true".into(),
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs its file on a private mount"), "{err}");
    assert!(!file.exists(), "persist file left behind");
}

#[test]
fn failed_command_leaves_no_persisted_namespace() {
    require_root!();
    // Each way a command can fail after the namespaces were bound: the
    // program is missing (127), or a setup step before exec fails (1).
    let cases: [(&[&str], i32); 2] = [
        (&["husk-no-such-program"], 127),
        (&["-w", "/nonexistent-husk", "true"], 1),
    ];
    for fork in [false, true] {
        for (tail, code) in cases {
            let dir = tempdir();
            let file = dir.path().join("net");
            let _guard = MountGuard(file.clone());
            let mut cmd = unshare([format!("--net={}", file.display())]);
            if fork {
                cmd.arg("-f");
            }
            let out = output(cmd.args(tail));
            let what = format!("fork={fork} {tail:?}");
            assert_eq!(out.status.code(), Some(code), "{what}");
            assert!(!is_mounted(&file), "{what}: bind mount left behind");
            assert!(!file.exists(), "{what}: file left behind");
        }
    }
}

#[test]
fn uncreatable_persist_file_is_one_clear_error() {
    require_root!();
    let out = output(&mut unshare(["--uts=/nonexistent-husk-dir/uts", "true"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "husk unshare: cannot create /nonexistent-husk-dir/uts: No such file or directory"
    );
}

/// The sleeping child of a `husk unshare -f`, SIGKILLed on Drop through a
/// pidfd (so never a later process that got its pid): nothing is left when
/// a test finds it alive where it should have died.
struct Orphan {
    pid: u32,
    fd: std::os::fd::OwnedFd,
}

impl Drop for Orphan {
    fn drop(&mut self) {
        let _ = rustix::process::pidfd_send_signal(&self.fd, rustix::process::Signal::KILL);
    }
}

/// Starts `husk unshare -f [--kill-child] EXTRA sh -c 'echo; sleep 100'`
/// and returns the guard and the sleeping child by its host pid (read from
/// the parent's `children` list, so it also works in a new pid namespace).
fn start_child(kill_child: bool, extra: &[&str]) -> (ChildGuard, Orphan) {
    let mut cmd = unshare(["-f"]);
    if kill_child {
        cmd.arg("--kill-child");
    }
    cmd.args(extra);
    cmd.args(["sh", "-c", "echo started; exec sleep 100"])
        .stdout(Stdio::piped());
    let mut guard = ChildGuard::spawn(&mut cmd);
    let mut line = String::new();
    BufReader::new(guard.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "started");
    let parent = guard.pid();
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).unwrap();
    let pid: u32 = children
        .split_whitespace()
        .next()
        .expect("a child")
        .parse()
        .unwrap();
    let fd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )
    .expect("pidfd of the child");
    (guard, Orphan { pid, fd })
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
}

fn wait_dead(pid: u32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn kill_child_kills_the_child_when_the_parent_dies() {
    let (mut parent, child) = start_child(true, &[]);
    parent.0.kill().unwrap();
    parent.0.wait().unwrap();
    assert!(
        wait_dead(child.pid),
        "child {} survived its parent",
        child.pid
    );
}

#[test]
fn kill_child_works_for_pid_1_of_a_new_pid_namespace() {
    require_root!();
    // getppid() is 0 there: the parent check must not rely on it.
    let out = stdout_ok(&mut unshare(["--kill-child", "-p", "echo", "hi"]));
    assert_eq!(out.trim(), "hi");
    let (mut parent, child) = start_child(true, &["-p"]);
    parent.0.kill().unwrap();
    parent.0.wait().unwrap();
    assert!(
        wait_dead(child.pid),
        "pid 1 {} survived its parent",
        child.pid
    );
}

#[test]
fn without_kill_child_the_child_survives() {
    let (mut parent, child) = start_child(false, &[]);
    parent.0.kill().unwrap();
    parent.0.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // The guard kills it, by pidfd.
    assert!(alive(child.pid));
}

#[test]
fn exit_code_and_signal_propagate() {
    let out = output(&mut unshare(["-f", "sh", "-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7));
    let out = output(&mut unshare(["-f", "sh", "-c", "kill -TERM $$"]));
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    // Seen from a shell: 128+N.
    let husk = common::husk_bin();
    let script = format!(
        "{} unshare -f sh -c 'kill -USR1 $$'; echo $?",
        husk.display()
    );
    let out = stdout_ok(Command::new("sh").args(["-c", &script]));
    assert_eq!(out.trim(), (128 + libc::SIGUSR1).to_string());
}

/// A deliberate difference from util-linux (which mounts the current pid
/// namespace's proc, every host process in it): refused with one line, exit
/// 1, before anything is created (a persist file is not even made).
#[test]
fn mount_proc_without_pid_namespace_is_refused() {
    let dir = tempdir();
    let file = dir.path().join("net");
    let net_arg = format!("--net={}", file.display());
    for args in [
        &["--mount-proc", "true"][..],
        &["-m", "-f", "--mount-proc=/proc", "true"],
        &[net_arg.as_str(), "--mount-proc", "true"],
    ] {
        let out = output(&mut unshare(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "husk unshare: --mount-proc needs a new pid namespace (-p): \
             a new /proc would show the host's processes\n",
            "{args:?}"
        );
        assert!(out.stdout.is_empty());
    }
    assert!(!file.exists(), "nothing is created");
}

#[test]
fn root_and_wd_apply_before_exec() {
    require_root!();
    let out = stdout_ok(&mut unshare(["-w", "/usr", "pwd"]));
    assert_eq!(out.trim(), "/usr");
    let out = stdout_ok(&mut unshare(["-R", "/", "pwd"]));
    assert_eq!(out.trim(), "/");
    let out = output(&mut unshare(["-w", "/nonexistent-husk", "true"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "husk unshare: cannot chdir to '/nonexistent-husk': No such file or directory"
    );
}

#[test]
fn setuid_setgid_and_keep_caps() {
    require_root!();
    let out = stdout_ok(&mut unshare([
        "-S",
        "65534",
        "-G",
        "65534",
        "sh",
        "-c",
        "id -u; id -g; id -G",
    ]));
    assert_eq!(out.lines().collect::<Vec<_>>(), ["65534", "65534", "65534"]);
    let out = stdout_ok(&mut unshare([
        "-r",
        "--keep-caps",
        "grep",
        "CapAmb",
        "/proc/self/status",
    ]));
    assert_ne!(
        out.split_whitespace().nth(1),
        Some("0000000000000000"),
        "{out}"
    );
    let out = stdout_ok(&mut unshare(["-r", "grep", "CapAmb", "/proc/self/status"]));
    assert_eq!(
        out.split_whitespace().nth(1),
        Some("0000000000000000"),
        "{out}"
    );
}

#[test]
fn propagation_and_setgroups_values() {
    require_root!();
    let out = output(&mut unshare(["--propagation", "sideways", "-m", "true"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "husk unshare: unsupported propagation mode: sideways"
    );
    let out = stdout_ok(&mut unshare([
        "-U",
        "--setgroups",
        "deny",
        "cat",
        "/proc/self/setgroups",
    ]));
    assert_eq!(out.trim(), "deny");
}

/// The propagation tags (`shared:N`, `master:N`) of the root mount in a
/// mountinfo listing (the last `/` mount: the one on top).
fn root_tags(mountinfo: &str) -> Vec<String> {
    let line = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/"))
        .expect("a root mount");
    line.split(' ')
        .skip(6)
        .take_while(|f| *f != "-")
        .map(str::to_owned)
        .collect()
}

/// Root mount tags outside and inside `husk unshare -m --propagation MODE`,
/// from an outer mount namespace whose `/` is made `outer` (`rshared` or
/// `rprivate`) first, so the result does not depend on the host. The outer
/// shell must not `exec`: its namespace has to outlive the inner `unshare`,
/// or the peer group is gone and `slave` degrades to private.
fn propagation_seen(outer: &str, mode: Option<&str>) -> (Vec<String>, Vec<String>) {
    let inner = match mode {
        Some(m) => format!("--propagation {m}"),
        None => String::new(),
    };
    let script = format!(
        "mount --make-{outer} / && cat /proc/self/mountinfo && echo ---- && \
         \"$HUSK\" unshare -m {inner} cat /proc/self/mountinfo"
    );
    let out = stdout_ok(unshare(["-m", "sh", "-c", &script]).env("HUSK", common::husk_bin()));
    let (outside, inside) = out.split_once("----\n").expect("two listings");
    (root_tags(outside), root_tags(inside))
}

#[test]
fn propagation_modes_change_the_root_mount_as_asked() {
    require_root!();
    let none: Vec<String> = Vec::new();
    // From a shared `/`: (mode, tag inside on the outer peer group). The
    // group's number is read in each run: the kernel hands out the lowest
    // free one, and concurrent tests make and free groups in between.
    for (mode, tag) in [
        (None, None),
        (Some("private"), None),
        (Some("slave"), Some("master")),
        (Some("shared"), Some("shared")),
        (Some("unchanged"), Some("shared")),
    ] {
        let (outside, inside) = propagation_seen("rshared", mode);
        assert_eq!(outside.len(), 1, "{mode:?}: {outside:?}");
        let group = outside[0]
            .strip_prefix("shared:")
            .expect("outer / is shared");
        let want: Vec<String> = tag.map(|t| format!("{t}:{group}")).into_iter().collect();
        assert_eq!(inside, want, "from shared, {mode:?}");
    }
    // From a private `/`: only `shared` makes a new peer group; `unchanged`
    // keeps it private.
    for mode in ["private", "slave", "unchanged"] {
        let (outside, inside) = propagation_seen("rprivate", Some(mode));
        assert_eq!(outside, none);
        assert_eq!(inside, none, "from private, {mode}");
    }
    let (_, inside) = propagation_seen("rprivate", Some("shared"));
    assert!(
        inside.len() == 1 && inside[0].starts_with("shared:"),
        "from private, shared: {inside:?}"
    );
}

#[test]
fn terminal_signals_go_to_the_child_and_the_parent_dies_the_same_way() {
    use std::os::unix::process::CommandExt;
    // Its own process group, like a shell job: SIGTERM to the group reaches
    // both; the parent has it blocked, outlives the child, then re-raises.
    let mut cmd = unshare(["-f", "sh", "-c", "echo $$; exec sleep 100"]);
    cmd.process_group(0).stdout(Stdio::piped());
    let mut guard = ChildGuard::spawn(&mut cmd);
    let mut line = String::new();
    BufReader::new(guard.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child: u32 = line.trim().parse().unwrap();
    // SIGTERM to the parent alone is held back while it waits.
    let parent = rustix::process::Pid::from_raw(i32::try_from(guard.pid()).unwrap()).unwrap();
    rustix::process::kill_process(parent, rustix::process::Signal::TERM).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "parent died before its child"
    );
    rustix::process::kill_process_group(parent, rustix::process::Signal::TERM).unwrap();
    let status = guard.0.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(wait_dead(child));
}

#[test]
fn mount_proc_on_a_custom_directory() {
    require_root!();
    let dir = tempdir();
    let d = dir.path().to_str().unwrap();
    let arg = format!("--mount-proc={d}");
    let script = format!("echo {d}/[0-9]*; echo $$");
    let out = stdout_ok(&mut unshare([
        "-f",
        "-p",
        arg.as_str(),
        "sh",
        "-c",
        &script,
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("{d}/1"), "{out}");
    assert_eq!(lines[1], "1");
    assert!(!is_mounted(dir.path()));
}

#[test]
fn default_program_is_a_login_shell() {
    let mut cmd = unshare(["-f"]);
    cmd.env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo $0; exit 3\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "-sh");
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn works_through_an_unshare_link() {
    let links = common::MultiCall::new();
    // The program is looked up on PATH: set it, not the runner's.
    let run = |args: &[&str]| {
        output(
            Command::new(links.path("unshare"))
                .args(args)
                .env("PATH", "/usr/bin:/bin"),
        )
    };
    let out = run(&["-f", "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4));
    let out = run(&["husk-no-such-program"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "unshare: failed to execute husk-no-such-program: No such file or directory"
    );
}

#[test]
fn kill_child_takes_a_signal_name() {
    // The child runs with the caller's signal mask restored.
    let out = stdout_ok(&mut unshare([
        "--kill-child=SIGTERM",
        "sh",
        "-c",
        "grep SigBlk /proc/self/status; exit 0",
    ]));
    assert_eq!(
        out.split_whitespace().nth(1),
        Some("0000000000000000"),
        "{out}"
    );
    // And the named signal is the one it gets when the parent dies.
    let dir = tempdir();
    let got = dir.path().join("got");
    let script = format!(
        "trap 'echo USR1 >{f}; exit 0' USR1; trap 'echo TERM >{f}; exit 0' TERM; \
         echo started; while :; do sleep 0.05; done",
        f = got.display()
    );
    let mut cmd = unshare(["--kill-child=usr1", "sh", "-c", &script]);
    cmd.stdout(Stdio::piped());
    let mut parent = ChildGuard::spawn(&mut cmd);
    let mut line = String::new();
    BufReader::new(parent.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "started");
    parent.0.kill().unwrap();
    parent.0.wait().unwrap();
    let start = Instant::now();
    while !got.exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        std::fs::read_to_string(&got).expect("the child got a signal"),
        "USR1\n"
    );
}
