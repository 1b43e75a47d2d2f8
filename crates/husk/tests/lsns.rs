//! `lsns` against util-linux's, byte for byte.
//!
//! Other tests create and destroy namespaces all the time, so comparing
//! two runs on the live system would be flaky. Each test here starts a
//! fresh pid + mount namespace with its own /proc (the system `unshare
//! --fork --pid --mount-proc --kill-child`), starts the processes and
//! namespaces it wants inside, then runs `/usr/bin/lsns ARGS` and husk's
//! `lsns ARGS` back to back for every case. Both are invoked as plain
//! `lsns` (husk through a link, found first on PATH), so their command
//! lines are equal, and `/proc/sys/kernel/ns_last_pid` is reset before
//! each run so both get the same pid: a tool's own process then looks the
//! same in both outputs. Everything inside dies with the namespace's init
//! when the script ends or the test fails (`--kill-child`).

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::{husk, output, MultiCall};

const REF_LSNS: &str = "/usr/bin/lsns";
const SYS_UNSHARE: &str = "/usr/bin/unshare";

/// Processes and namespaces every scenario starts with. `$T` is a private
/// temp dir; pids and inodes the cases refer to are exported as variables.
const FIXTURES: &str = r#"
unshare -n -u sleep 1000 &
NETPID=$!
unshare -U -r sleep 1000 &
unshare -p -f --mount-proc sleep 1000 &
unshare -C -T -f sleep 1000 &
unshare -i bash -c 'exec -a "$(printf "we ird\t\001 \303\274 \346\227\245 \\\\x41 $1")" sleep 1000' sh husk-arg &
WPID=$!
# A namespace no process is in, held by an open fd.
unshare -n bash -c 'exec sleep 1000 3</proc/self/ns/net' &
# Wait until all six sleeps run (each in its namespaces) and nothing else
# is starting, so both tools see the same processes.
for i in $(seq 1 250); do
  [ "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sleep)" = 6 ] && break
  sleep 0.02
done
NETNS=$(readlink /proc/$NETPID/ns/net | tr -dc 0-9)
USERNS=$(readlink /proc/self/ns/user | tr -dc 0-9)
# nsfs bind mounts (the mount namespace is private to this scenario).
touch "$T/husk-nsfs-a" "$T/husk nsfs b" "$T/husk-hold"
mount --bind /proc/$NETPID/ns/net "$T/husk-nsfs-a"
mount --bind /proc/$NETPID/ns/net "$T/husk nsfs b"
mount --bind /proc/$NETPID/ns/net "$T/husk-nsfs-a"
mount --bind /proc/$NETPID/ns/uts "$T/husk-nsfs-a"
# A netnsid, when iproute2 is there.
if command -v ip >/dev/null; then
  mkdir -p /run/netns && mount -t tmpfs husk-netns /run/netns &&
  touch /run/netns/husk-id && mount --bind /proc/$NETPID/ns/net /run/netns/husk-id &&
  ip netns set husk-id 7
fi
# A namespace no process is in, held by a bind mount.
unshare --net="$T/husk-hold" true
"#;

/// How the tools are run inside the scenario.
#[derive(Clone, Copy)]
enum Mode {
    /// stdout is a file.
    File,
    /// stdout is a terminal this many columns wide (through `script`).
    Tty(u32),
    /// As the unprivileged user `nobody` (65534), stdout a file.
    Nobody,
}

/// Runs every case in one fresh scenario; returns the mismatches.
fn compare(cases: &[&str], env: &[(&str, &str)], mode: Mode) -> Vec<String> {
    let links = MultiCall::new();
    let bin = links.path("lsns");
    let husk_dir = bin.parent().expect("link dir");
    let tmp = common::tempdir();
    let t = tmp.path();
    std::fs::write(t.join("cases"), cases.join("\n") + "\n").expect("write cases");
    let run = match mode {
        // `script` gives the tool a terminal; its output goes to the file.
        Mode::Tty(cols) => format!(
            "COLUMNS={cols} script -qec \"lsns $args\" /dev/null </dev/null >\"$out.out\" 2>\"$out.err\""
        ),
        Mode::File => "eval \"lsns $args\" >\"$out.out\" 2>\"$out.err\"".to_owned(),
        // setpriv execs, so the tool keeps the pid set up for it.
        Mode::Nobody => "eval \"setpriv --reuid=65534 --regid=65534 --clear-groups lsns $args\" \
             >\"$out.out\" 2>\"$out.err\""
            .to_owned(),
    };
    let script = format!(
        "set -u\nT={t}\nexport T\n{FIXTURES}\nexport NETNS USERNS WPID\nn=0\n\
         while IFS= read -r args; do\n\
           for tool in ref husk; do\n\
             out=$T/$n.$tool\n\
             if [ $tool = ref ]; then PATH=/usr/bin:/bin; else PATH={h}:/usr/bin:/bin; fi\n\
             echo 300 > /proc/sys/kernel/ns_last_pid\n\
             {run}\n\
             echo $? > \"$out.rc\"\n\
           done\n\
           n=$((n+1))\n\
         done < $T/cases\n",
        t = t.display(),
        h = husk_dir.display(),
    );
    std::fs::write(t.join("script.sh"), script).expect("write script");
    let mut cmd = Command::new(SYS_UNSHARE);
    cmd.args(["--fork", "--pid", "--mount-proc", "--kill-child", "sh"])
        .arg(t.join("script.sh"))
        .env_remove("COLUMNS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output(&mut cmd);
    assert!(
        out.status.success(),
        "scenario failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut diffs = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let read = |tool: &str, ext: &str| {
            std::fs::read(t.join(format!("{n}.{tool}.{ext}"))).unwrap_or_default()
        };
        let rc = String::from_utf8_lossy(&read("ref", "rc"))
            .trim()
            .to_owned();
        assert!(
            matches!(rc.as_str(), "0" | "1"),
            "lsns {case}: the reference did not run (status {rc:?}): {}",
            String::from_utf8_lossy(&read("ref", "err"))
        );
        for ext in ["out", "err", "rc"] {
            let (want, got) = (read("ref", ext), read("husk", ext));
            if want != got {
                let mut msg = String::new();
                let _ = write!(
                    msg,
                    "lsns {case} [{ext}]\n--- util-linux\n{}\n--- husk\n{}",
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                );
                diffs.push(msg);
            }
        }
    }
    diffs
}

fn assert_same(cases: &[&str], env: &[(&str, &str)], mode: Mode) {
    let diffs = compare(cases, env, mode);
    assert!(
        diffs.is_empty(),
        "{} mismatches:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn require_reference() -> bool {
    for tool in [REF_LSNS, SYS_UNSHARE] {
        if !Path::new(tool).exists() {
            common::skip("lsns", &format!("needs {tool}"));
            return false;
        }
    }
    true
}

#[test]
fn default_and_formats_match_util_linux() {
    require_root!();
    if !require_reference() {
        return;
    }
    assert_same(
        &[
            "",
            "-J",
            "-r",
            "-l",
            "-n",
            "-u",
            "-W",
            "-n -l -r",
            "-J -l",
            "--output-all",
            "--output-all -J",
            "--output-all -r",
            "--output-all -n -u",
        ],
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
}

#[test]
fn types_tasks_and_columns_match_util_linux() {
    require_root!();
    if !require_reference() {
        return;
    }
    assert_same(
        &[
            "-t net",
            "-t net -J",
            "-t net -r",
            "-t net -W",
            "-t pid -t user",
            "-t time -t cgroup",
            "-t uts -o NS,NSFS",
            "-t ipc",
            "-p 1",
            "-p $WPID",
            "-p $WPID -J",
            "-p 0",
            "-p -5",
            "-J -p 99999",
            "-o NS,TYPE,PNS,ONS",
            "-o +PATH,UID,PPID",
            "-o ns,type",
            "-o NSFS,NS,NETNSID -t net",
            "-n -l -o NS",
            "-o +NS --output-all",
            "--task=1 -o UID,USER",
        ],
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
}

#[test]
fn trees_match_util_linux() {
    require_root!();
    if !require_reference() {
        return;
    }
    assert_same(
        &[
            "-T",
            "-Towner",
            "-Tparent",
            "--tree=process",
            "--tree",
            "-Towner -J",
            "-Tparent -J",
            "-Tparent -r",
            "-Towner -t pid",
            "-Tparent -t pid -o +PNS,ONS",
            "-Towner -t net -l",
            "-l -Tparent",
            "-T=parent",
            "--tree=owner -p $WPID",
            "-Tprocess -J -t ipc",
        ],
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
}

#[test]
fn ascii_locale_matches_util_linux() {
    require_root!();
    if !require_reference() {
        return;
    }
    assert_same(
        &["", "-Towner", "-r", "-p $WPID", "-t ipc"],
        &[("LANG", "C"), ("LC_ALL", "C")],
        Mode::File,
    );
}

#[test]
fn namespace_argument_matches_util_linux() {
    require_root!();
    if !require_reference() {
        return;
    }
    assert_same(
        &[
            "$NETNS",
            "-l $NETNS",
            "-J $USERNS",
            "-r $USERNS",
            "-Towner $USERNS",
            "0",
            "-o NS,PID $NETNS",
        ],
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
}

#[test]
fn terminal_output_matches_util_linux() {
    require_root!();
    require_tool!("script");
    if !require_reference() {
        return;
    }
    for cols in [24, 40, 72, 200] {
        assert_same(
            &[
                "",
                "-Towner",
                "--output-all",
                "-u",
                "-t net",
                "-Tparent -o NS,COMMAND,TYPE",
                "-p $WPID",
            ],
            &[("LANG", "C.UTF-8")],
            Mode::Tty(cols),
        );
    }
}

#[test]
fn unprivileged_user_matches_util_linux() {
    require_root!();
    require_tool!("setpriv");
    if !require_reference() {
        return;
    }
    // nobody sees only its own processes' namespaces; relations and
    // netnsids of the others are out of reach.
    assert_same(
        &[
            "",
            "-Towner",
            "-Tparent",
            "--output-all",
            "-J",
            "-t net -o +PNS,ONS",
            "-p 1",
        ],
        &[("LANG", "C.UTF-8")],
        Mode::Nobody,
    );
}

#[test]
fn bad_input_matches_util_linux() {
    require_root!();
    if !require_reference() {
        return;
    }
    assert_same(
        &[
            "-t foo",
            "-o FOO",
            "-o NS,FOO,TYPE",
            "-o NS,",
            "-o ,NS",
            "-o +",
            "-p abc",
            "-p 99999999999",
            "-p 1x",
            "-J -r",
            "-r -J",
            "-r -n -J",
            "--bogus",
            "-x",
            "--t",
            "--no",
            "-T foo",
            "--tree=bad",
            "-p 1 $NETNS",
            "123",
            "-- -5",
            "--json=1",
            "-t",
            "--type",
            "-Tx",
            "99999999999999999999999",
        ],
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
}

#[test]
fn subcommand_form_names_itself_in_errors() {
    let out = output(&mut husk(["lsns", "-t", "foo"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "husk lsns: unknown namespace type: foo\n"
    );
    let out = output(&mut husk(["lsns", "--output", "NOPE"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "husk lsns: unknown column: NOPE\n"
    );
    let out = output(&mut husk(["lsns", "-p", "x"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "husk lsns: invalid PID argument: 'x'\n"
    );
}

#[test]
fn help_lists_every_column() {
    let out = output(&mut husk(["lsns", "--help"]));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("\nUsage:\n husk lsns [options] [<namespace>]\n"),
        "{text}"
    );
    for col in ["NS", "NETNSID", "NSFS", "PNS", "ONS"] {
        assert!(text.contains(&format!("  {col}  ")), "{col} missing");
    }
}

#[test]
fn own_namespaces_are_listed() {
    let me = std::process::id().to_string();
    let out = output(&mut husk(["lsns", "-J", "-p", &me, "-o", "NS,TYPE"]));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let list = v["namespaces"].as_array().expect("array");
    let net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let net = net.to_string_lossy();
    assert!(
        list.iter().any(|ns| ns["type"] == "net"
            && net.contains(&format!("[{}]", ns["ns"].as_u64().unwrap_or(0)))),
        "{list:?}"
    );
}

#[test]
fn getopt_errors_name_argv0_as_typed() {
    // glibc's getopt prints argv[0] itself; the hint uses the short name.
    let links = MultiCall::new();
    let bin = links.path("lsns");
    let out = output(Command::new(&bin).arg("-x"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{}: invalid option -- 'x'\nTry 'lsns --help' for more information.\n",
            bin.display()
        )
    );
    let out = output(&mut husk(["lsns", "--bogus"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "husk lsns: unrecognized option '--bogus'\nTry 'husk lsns --help' for more information.\n"
    );
}
