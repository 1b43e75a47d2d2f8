//! podman 4.3 (with conmon 2.1) running containers with husk as its OCI
//! runtime (`podman --runtime <a husk-runc link>`), on an image imported
//! from a busybox rootfs: `run --rm`, `run -d` + `exec` + `stop` + `rm`,
//! `run -it` and `exec -it` through a pty, `--memory`, `--pids-limit`,
//! `--cap-drop`, `--read-only`, `--uidmap`/`--gidmap`; and the same
//! commands run by runc 1.1, compared. Each test has its own podman
//! (storage, state, configs, cgroup parent) that its Drop removes; see
//! `podman_support`. Needs root, podman, conmon, busybox-static (and
//! `script`, runc for some).

mod common;
mod oci_support;
mod podman_support;

use podman_support::{Podman, Runtime, SEED};

/// Returns from the test (after reporting the skip) unless podman can run here.
macro_rules! podman_setup {
    () => {
        require_root!();
        require_tool!("podman");
        require_tool!("conmon");
        require_tool!("tar");
        if !std::path::Path::new(oci_support::BUSYBOX).exists() {
            common::skip("needs busybox-static (scripts/setup)");
            return;
        }
    };
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts `out` succeeded; its stdout.
fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed ({}): {}{}",
        out.status,
        text(out),
        common::stderr(out)
    );
    text(out)
}

/// The containers of `p` husk still has state for (in `/run/husk`).
fn husk_ids(p: &Podman) -> Vec<String> {
    p.runtime_leftovers()
}

/// `podman inspect --format FORMAT ID`, trimmed.
fn inspect(p: &Podman, id: &str, format: &str) -> String {
    p.ok(&["inspect", "--format", format, id]).trim().to_owned()
}

/// A container's own cgroup directory in hierarchy `controller`.
fn container_cgroup(p: &Podman, controller: &str, id: &str) -> std::path::PathBuf {
    std::path::Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(p.cgroup_parent().trim_start_matches('/'))
        .join(format!("libpod-{id}"))
}

/// `run --rm`: output, exit status, and nothing left in podman or husk.
#[test]
fn podman_run_rm() {
    podman_setup!();
    let p = Podman::new(Runtime::Husk);
    let out = p.run_rm(
        &[],
        &["sh", "-c", "echo hello from $(hostname); id; exit 3"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let printed = text(&out);
    assert!(printed.starts_with("hello from "), "{printed}");
    assert!(printed.contains("uid=0 gid=0"), "{printed}");
    let out = p.run_rm(&[], &["cat", "/etc/hostname", "/proc/1/cmdline"]);
    assert!(ok(&out).contains("cat"), "pid 1 is the command");
    assert_eq!(p.ok(&["ps", "-a", "-q"]), "");
    assert_eq!(p.all_ids().len(), 2, "two containers were made");
    assert!(husk_ids(&p).is_empty(), "{:?}", husk_ids(&p));
    assert!(
        container_cgroups(&p).is_empty(),
        "{:?}",
        container_cgroups(&p)
    );
}

/// The containers' own cgroups (`libpod-ID`) under the parent, in every
/// hierarchy.
fn container_cgroups(p: &Podman) -> Vec<std::path::PathBuf> {
    p.cgroup_dirs()
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten())
        .map(|e| e.path())
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libpod-"))
        })
        .collect()
}

/// `run -d`, `exec` (output, exit status, the container's namespaces,
/// `--user`/`--workdir`/`--env`), `logs`, `pause`/`unpause` (the freezer),
/// `stop` (SIGTERM reaches the container's trap: exit 7, not SIGKILL's
/// 137), `start` again, `stop`, `rm`: husk's state, the container's cgroup
/// and the conmons are gone.
#[test]
fn podman_run_detached_exec_stop_rm() {
    podman_setup!();
    let p = Podman::new(Runtime::Husk);
    let args = p.run_line(
        &["-d"],
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo started; sleep 1000 & wait",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = p.ok(&args).trim().to_owned();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(inspect(&p, &id, "{{.State.Status}}"), "running");
    assert_eq!(husk_ids(&p), std::slice::from_ref(&id));
    let pid: u32 = inspect(&p, &id, "{{.State.Pid}}").parse().unwrap();
    let out = p.output(&[
        "exec",
        &id,
        "sh",
        "-c",
        "hostname; echo $$; readlink /proc/1/ns/pid",
    ]);
    let seen = ok(&out);
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], &id[..12], "the container's host name");
    assert_ne!(lines[1], "1", "exec is not pid 1");
    let host_pidns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(
        lines[2],
        host_pidns.to_str().unwrap(),
        "init's pid namespace"
    );
    let out = p.output(&["exec", &id, "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", common::stderr(&out));
    let out = p.output(&[
        "exec",
        "--user",
        "1000:1001",
        "--workdir",
        "/tmp",
        "--env",
        "HUSKVAR=set",
        &id,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $HUSKVAR",
    ]);
    assert_eq!(ok(&out), "1000\n1001\n/tmp\nset\n");
    assert!(
        p.ok(&["logs", &id]).contains("started"),
        "conmon logged stdout"
    );
    let cgroup = container_cgroup(&p, "pids", &id);
    assert!(cgroup.is_dir(), "{}", cgroup.display());
    p.ok(&["pause", &id]);
    assert_eq!(inspect(&p, &id, "{{.State.Status}}"), "paused");
    let freezer = container_cgroup(&p, "freezer", &id).join("freezer.state");
    assert_eq!(std::fs::read_to_string(&freezer).unwrap().trim(), "FROZEN");
    p.ok(&["unpause", &id]);
    assert_eq!(inspect(&p, &id, "{{.State.Status}}"), "running");
    p.ok(&["stop", "--time", "60", &id]);
    assert_eq!(inspect(&p, &id, "{{.State.ExitCode}}"), "7");
    // Started again: husk deletes and creates the same id.
    p.ok(&["start", &id]);
    assert_eq!(inspect(&p, &id, "{{.State.Status}}"), "running");
    let again: u32 = inspect(&p, &id, "{{.State.Pid}}").parse().unwrap();
    assert_ne!(again, pid);
    p.ok(&["stop", "--time", "60", &id]);
    assert_eq!(inspect(&p, &id, "{{.State.ExitCode}}"), "7");
    p.ok(&["rm", &id]);
    assert_eq!(p.ok(&["ps", "-a", "-q"]), "");
    assert!(husk_ids(&p).is_empty(), "{:?}", husk_ids(&p));
    assert!(!cgroup.exists(), "{} left", cgroup.display());
    assert_eq!(p.processes_after_wait(), [] as [i32; 0], "conmon left");
}

/// `run -it` through a pty (util-linux `script`): the container's stdin is
/// a terminal, a typed line reaches it, its exit status comes back.
#[test]
fn podman_run_it_through_a_pty() {
    podman_setup!();
    require_tool!("script");
    let p = Podman::new(Runtime::Husk);
    let args = p.run_line(
        &["--rm", "-it"],
        &[],
        &[
            "sh",
            "-c",
            "read x; tty; [ -t 0 ] && echo stdin-tty; echo got-$x; exit 5",
        ],
    );
    let out = p.on_a_pty(&args, b"abc\n");
    let printed = text(&out);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{printed}{}",
        common::stderr(&out)
    );
    for want in ["/dev/pts/0", "stdin-tty", "got-abc"] {
        assert!(printed.contains(want), "{want:?} missing: {printed}");
    }
    assert!(husk_ids(&p).is_empty());
}

/// `exec -it` through a pty: husk's `exec --tty --console-socket` gives
/// conmon the master; the process is a session leader on that terminal.
#[test]
fn podman_exec_it_through_a_pty() {
    podman_setup!();
    require_tool!("script");
    let p = Podman::new(Runtime::Husk);
    let args = p.run_line(&["-d"], &[], &["sleep", "1000"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = p.ok(&args).trim().to_owned();
    let shell = "read x; tty; [ -t 0 ] && echo stdin-tty; \
        read -r pid comm state ppid pgrp sid rest < /proc/self/stat; \
        [ $sid = $pid ] && echo session-leader; echo got-$x; exit 6";
    let exec: Vec<String> = ["exec", "-it", &id, "sh", "-c", shell]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let out = p.on_a_pty(&exec, b"xyz\n");
    let printed = text(&out);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{printed}{}",
        common::stderr(&out)
    );
    for want in ["/dev/pts/", "stdin-tty", "session-leader", "got-xyz"] {
        assert!(printed.contains(want), "{want:?} missing: {printed}");
    }
}

/// `--memory` and `--pids-limit`: the limits in the container's cgroup (seen
/// from the host and from inside), and the pids limit enforced.
#[test]
fn podman_memory_and_pids_limit() {
    podman_setup!();
    let p = Podman::new(Runtime::Husk);
    let args = p.run_line(
        &["-d"],
        &["--memory", "64m", "--pids-limit", "5"],
        &["sleep", "1000"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = p.ok(&args).trim().to_owned();
    let read = |controller: &str, file: &str| {
        std::fs::read_to_string(container_cgroup(&p, controller, &id).join(file))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(read("pids", "pids.max"), "5");
    let inside = p.output(&[
        "exec",
        &id,
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/pids/pids.max",
    ]);
    assert_eq!(ok(&inside), "67108864\n5\n");
    // init + this shell + 3 sleeps = 5: the 4th sleep cannot fork.
    let out = p.output(&[
        "exec",
        &id,
        "sh",
        "-c",
        "for i in 1 2 3 4; do sleep 100 & done; echo started",
    ]);
    assert!(
        common::stderr(&out).contains("can't fork"),
        "{}{}",
        text(&out),
        common::stderr(&out)
    );
}

/// The capability sets of a process in the container, from
/// `/proc/self/status` (`CapEff` etc.).
fn caps(p: &Podman, opts: &[&str]) -> String {
    let out = p.run_rm(opts, &["grep", "^Cap", "/proc/self/status"]);
    ok(&out)
}

fn cap_line(caps: &str, set: &str) -> u64 {
    let line = caps
        .lines()
        .find(|l| l.starts_with(set))
        .unwrap_or_else(|| panic!("{set} in {caps}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// `--cap-drop`: `ALL` plus `--cap-add CAP_KILL` leaves exactly that bit;
/// dropping `CAP_CHOWN` from the default set removes it and `chown` fails.
#[test]
fn podman_cap_drop() {
    podman_setup!();
    let p = Podman::new(Runtime::Husk);
    const CHOWN: u64 = 1 << 0;
    const KILL: u64 = 1 << 5;
    let default = caps(&p, &[]);
    assert_ne!(cap_line(&default, "CapEff") & CHOWN, 0, "{default}");
    let only_kill = caps(&p, &["--cap-drop", "ALL", "--cap-add", "CAP_KILL"]);
    for set in ["CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(cap_line(&only_kill, set), KILL, "{set}: {only_kill}");
    }
    let no_chown = caps(&p, &["--cap-drop", "CAP_CHOWN"]);
    assert_eq!(
        cap_line(&no_chown, "CapBnd"),
        cap_line(&default, "CapBnd") & !CHOWN,
        "{no_chown}"
    );
    let out = p.run_rm(
        &["--cap-drop", "CAP_CHOWN"],
        &["sh", "-c", "touch /f && chown 1:1 /f"],
    );
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("Operation not permitted"),
        "{}",
        common::stderr(&out)
    );
}

/// `--read-only`: the root is read-only, `/tmp`, `/run` and `/var/tmp` are
/// writable tmpfs mounts, and `/tmp` starts with the image's files (podman's
/// `tmpcopyup` option).
#[test]
fn podman_read_only() {
    podman_setup!();
    let p = Podman::new(Runtime::Husk);
    let out = p.run_rm(
        &["--read-only"],
        &[
            "sh",
            "-c",
            "touch /x 2>&1; touch /tmp/x /run/x /var/tmp/x && echo tmpfs-writable; \
             cat /husk-seed-path; grep -E ' / | /tmp | /run ' /proc/self/mountinfo"
                .replace("/husk-seed-path", SEED)
                .as_str(),
        ],
    );
    let printed = ok(&out);
    assert!(printed.contains("Read-only file system"), "{printed}");
    assert!(printed.contains("tmpfs-writable"), "{printed}");
    assert!(printed.contains("seed\n"), "tmpcopyup: {printed}");
    let root = printed.lines().find(|l| l.contains(" / / ")).unwrap();
    assert!(root.contains(" / / ro,"), "{root}");
    for dir in ["/tmp", "/run"] {
        let line = printed
            .lines()
            .find(|l| l.contains(&format!(" {dir} ")))
            .unwrap_or_else(|| panic!("{dir} mount: {printed}"));
        assert!(line.contains(" - tmpfs "), "{line}");
    }
}

/// `--uidmap`/`--gidmap`: the container runs in a user namespace with those
/// maps; its root is host uid 200000; files stay owned by root inside.
#[test]
fn podman_userns_maps() {
    podman_setup!();
    let p = Podman::new(Runtime::Husk);
    let maps = ["--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536"];
    let args = p.run_line(&["-d"], &maps, &["sleep", "1000"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = p.ok(&args).trim().to_owned();
    let pid = inspect(&p, &id, "{{.State.Pid}}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().collect::<Vec<_>>(),
        ["Uid:", "200000", "200000", "200000", "200000"]
    );
    let inside = ok(&p.output(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id; stat -c %u:%g /bin/busybox",
    ]));
    let words: Vec<&str> = inside.split_whitespace().collect();
    assert_eq!(
        words[..6],
        ["0", "200000", "65536", "0", "200000", "65536"],
        "{inside}"
    );
    assert!(inside.contains("uid=0 gid=0"), "{inside}");
    assert!(inside.trim_end().ends_with("0:0"), "{inside}");
    let host_userns = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    let own_userns = std::fs::read_link("/proc/self/ns/user").unwrap();
    assert_ne!(host_userns, own_userns);
}

/// What a container reports about itself, for comparing runtimes: ids,
/// capability sets, no_new_privs and seccomp mode, maps, rlimits, memory
/// and pids limits, the image's `/tmp` (a copy-up tmpfs with `--read-only`),
/// `/dev`
/// (but `core`: husk links it always, as crun; runc only when the kernel
/// has `/proc/kcore`, which this one lacks), and the mount points with
/// their types and per-mount options (sorted; `/sys/fs/cgroup` left out:
/// runc binds the `name=systemd` hierarchy, husk the cgroup2 one, on this
/// hybrid host).
const PROBE: &str = "id; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; \
    cat /proc/self/uid_map /proc/self/gid_map; ulimit -n; ulimit -u; ls /dev | grep -vx core; \
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
    stat -c '%n %a %u:%g' /tmp /tmp/husk-seed; \
    awk '$5 !~ /^\\/sys\\/fs\\/cgroup/ {print $5, $6, $(NF-2)}' /proc/self/mountinfo | sort";

/// The same podman commands with husk and with runc 1.1 print the same.
#[test]
fn podman_matches_runc() {
    podman_setup!();
    require_tool!("runc");
    let husk = Podman::new(Runtime::Husk);
    let runc = Podman::new(Runtime::Runc);
    let cases: &[&[&str]] = &[
        &[],
        &["--cap-drop", "ALL", "--cap-add", "CAP_KILL,CAP_NET_RAW"],
        &["--read-only"],
        &["--memory", "64m", "--pids-limit", "20"],
        &["--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536"],
        &[
            "--read-only",
            "--uidmap",
            "0:300000:65536",
            "--gidmap",
            "0:300000:65536",
        ],
        &["--privileged"],
        &["--user", "65534:65534", "--workdir", "/tmp"],
        &[
            "--security-opt",
            "no-new-privileges",
            "--tmpfs",
            "/husk-t:size=1m",
        ],
        &["--pid", "host", "--shm-size", "1m"],
    ];
    for opts in cases {
        let ours = husk.run_rm(opts, &["sh", "-c", PROBE]);
        let theirs = runc.run_rm(opts, &["sh", "-c", PROBE]);
        assert_eq!(
            (ok(&ours), ours.status.code()),
            (ok(&theirs), theirs.status.code()),
            "{opts:?}"
        );
    }
    for code in ["0", "9"] {
        let ours = husk.run_rm(&[], &["sh", "-c", &format!("exit {code}")]);
        let theirs = runc.run_rm(&[], &["sh", "-c", &format!("exit {code}")]);
        assert_eq!(ours.status.code(), theirs.status.code());
    }
}

/// The text a pty carried, without carriage returns and conmon's stray NUL
/// (echoed as `^@` at a moment that varies between runs).
fn pty_text(out: &std::process::Output) -> String {
    text(out)
        .replace('\r', "")
        .replace("^@", "")
        .replace('\0', "")
}

/// Errors and terminals, husk against runc: a missing program is exit 127
/// ("executable file not found"), a directory as the program 126
/// ("Permission denied"), with nothing left behind; `run -it` and `exec -it`
/// print the same through the pty.
#[test]
fn podman_errors_and_ttys_match_runc() {
    podman_setup!();
    require_tool!("runc");
    require_tool!("script");
    let husk = Podman::new(Runtime::Husk);
    let runc = Podman::new(Runtime::Runc);
    for (program, code) in [("husk-no-such-program", 127), ("/etc", 126)] {
        let ours = husk.run_rm(&[], &[program]);
        let theirs = runc.run_rm(&[], &[program]);
        assert_eq!(ours.status.code(), Some(code), "{}", common::stderr(&ours));
        assert_eq!(
            theirs.status.code(),
            Some(code),
            "{}",
            common::stderr(&theirs)
        );
        let err = common::stderr(&ours);
        assert!(err.contains(program), "{err}");
    }
    assert!(husk_ids(&husk).is_empty(), "{:?}", husk_ids(&husk));
    assert!(container_cgroups(&husk).is_empty());
    let probe = "read x; tty; [ -t 0 ] && [ -t 1 ] && echo tty-stdio; echo TERM=$TERM; \
        read -r pid comm state ppid pgrp sid rest < /proc/self/stat; \
        [ $sid = $pid ] && echo session-leader; exit 3";
    let run_it = |p: &Podman| {
        let args = p.run_line(&["--rm", "-it"], &[], &["sh", "-c", probe]);
        p.on_a_pty(&args, b"go\n")
    };
    let (ours, theirs) = (run_it(&husk), run_it(&runc));
    assert_eq!(
        (pty_text(&ours), ours.status.code()),
        (pty_text(&theirs), theirs.status.code())
    );
    assert!(pty_text(&ours).contains("tty-stdio"), "{}", pty_text(&ours));
    let exec_it = |p: &Podman| {
        let args = p.run_line(&["-d"], &[], &["sleep", "1000"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = p.ok(&args).trim().to_owned();
        let exec: Vec<String> = ["exec", "-it", &id, "sh", "-c", probe]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        p.on_a_pty(&exec, b"go\n")
    };
    let (ours, theirs) = (exec_it(&husk), exec_it(&runc));
    assert_eq!(
        (pty_text(&ours), ours.status.code()),
        (pty_text(&theirs), theirs.status.code())
    );
    assert!(
        pty_text(&ours).contains("session-leader"),
        "{}",
        pty_text(&ours)
    );
}
