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

/// Run first in every scenario: the new mount namespace is a copy of the
/// host's, whose nsfs bind mounts (other tests', `ip netns`) would name
/// namespaces no process in this pid namespace is in. Unmounting the
/// copies leaves the host alone (the copy is private).
const CLEAN: &str = r#"
umount -a -l -t nsfs 2>/dev/null || true
EXTRA=0
"#;

/// Processes and namespaces every scenario has, none of them held only by
/// a bind mount or an fd, so util-linux 2.38 and husk list the same.
/// `$T` is a private temp dir; pids and inodes the cases refer to are
/// exported as variables.
const FIXTURES: &str = r#"
unshare -n -u sleep 1000 &
NETPID=$!
unshare -U -r sleep 1000 &
unshare -p -f --mount-proc sleep 1000 &
unshare -C -T -f sleep 1000 &
unshare -i bash -c 'exec -a "$(printf "we ird\t\001 \303\274 \346\227\245 \\\\x41 $1")" sleep 1000' sh husk-arg &
WPID=$!
# A process holding an fd on its own network namespace (listed once).
unshare -n bash -c 'exec sleep 1000 3</proc/self/ns/net' &
# Wait until all six sleeps (and EXTRA more) run, each in its namespaces,
# and nothing else is starting, so both tools see the same processes.
for i in $(seq 1 250); do
  [ "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sleep)" = $((6 + EXTRA)) ] && break
  sleep 0.02
done
NETNS=$(readlink /proc/$NETPID/ns/net | tr -dc 0-9)
USERNS=$(readlink /proc/self/ns/user | tr -dc 0-9)
# nsfs bind mounts (the mount namespace is private to this scenario), in a
# directory closed to others, as /run/netns below.
chmod 700 "$T"
touch "$T/husk-nsfs-a" "$T/husk nsfs b"
mount --bind /proc/$NETPID/ns/net "$T/husk-nsfs-a"
mount --bind /proc/$NETPID/ns/net "$T/husk nsfs b"
mount --bind /proc/$NETPID/ns/net "$T/husk-nsfs-a"
mount --bind /proc/$NETPID/ns/uts "$T/husk-nsfs-a"
# A netnsid, when iproute2 is there. The directory is closed to others:
# for `nobody`, who sees no process in NETPID's namespace, a readable
# bind mount of it would be a namespace held only by a bind mount.
if command -v ip >/dev/null; then
  mkdir -p /run/netns && mount -t tmpfs husk-netns /run/netns &&
  touch /run/netns/husk-id && mount --bind /proc/$NETPID/ns/net /run/netns/husk-id &&
  chmod 700 /run/netns
  # Parallel scenarios share the host's netns, where id 7 may be taken.
  ip netns set husk-id 7 || true
fi
"#;

/// Namespaces no process is in (util-linux 2.38 does not list them; 2.39+
/// and husk do). Made before [`FIXTURES`], so their inodes are likely to
/// fall between the others'. Their inodes go to `$T/vars`.
const HOLDERS: &str = r#"
# A network namespace held only by a bind mount.
touch "$T/husk-hold"
unshare --net="$T/husk-hold" true
HOLDNS=$(stat -c %i "$T/husk-hold")
# One held only by an open fd (fd 4 of a sleep), its mount gone.
touch "$T/husk-fdonly"
unshare --net="$T/husk-fdonly" true
FDNS=$(stat -c %i "$T/husk-fdonly")
sleep 1000 4<"$T/husk-fdonly" &
FDPID=$!
for i in $(seq 1 250); do
  [ -e /proc/$FDPID/fd/4 ] && [ "$(cat /proc/$FDPID/comm)" = sleep ] && break
  sleep 0.02
done
umount -l "$T/husk-fdonly"
# One held only by a socket (fd 5, UDP) of a sleep back in our network
# namespace (util-linux 2.41 finds it with pidfd_getfd + SIOCGSKNS).
unshare -n bash -c 'readlink /proc/self/ns/net | tr -dc 0-9 > "$T/husk-sockns"
  ip link set lo up && exec 5<>/dev/udp/127.0.0.1/9 &&
  exec nsenter --net=/proc/1/ns/net sleep 1000' &
SKPID=$!
for i in $(seq 1 250); do
  [ "$(cat /proc/$SKPID/comm)" = sleep ] && break
  sleep 0.02
done
SOCKNS=$(cat "$T/husk-sockns")
EXTRA=2
# A user namespace made by `bin` (uid 2 in Debian's base-passwd; a name
# no wider than `root`, so no column widens), held only by a bind mount:
# its USER is its creator (NS_GET_OWNER_UID).
setpriv --reuid=2 --regid=2 --clear-groups unshare -U sleep 1000 &
UPID=$!
for i in $(seq 1 250); do
  [ "$(cat /proc/$UPID/comm 2>/dev/null)" = sleep ] && break
  sleep 0.02
done
touch "$T/husk-userns"
mount --bind /proc/$UPID/ns/user "$T/husk-userns"
HOLDUSER=$(stat -c %i "$T/husk-userns")
kill $UPID; wait $UPID
printf 'HOLDNS=%s\nFDNS=%s\nHOLDUSER=%s\nSOCKNS=%s\n' $HOLDNS $FDNS $HOLDUSER $SOCKNS > "$T/vars"
export HOLDNS FDNS HOLDUSER SOCKNS
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

/// The outputs of one scenario: for case `n`, `n.ref.*` and `n.husk.*`
/// (`out`, `err`, `rc`) in a temp dir removed on Drop.
struct Scenario {
    dir: tempfile::TempDir,
}

impl Scenario {
    /// Runs every case in one fresh pid + mount namespace set up by
    /// `CLEAN`, then `setup` (fixture scripts, in order).
    fn run(setup: &[&str], cases: &[&str], env: &[(&str, &str)], mode: Mode) -> Scenario {
        let links = MultiCall::new();
        let bin = links.path("lsns");
        let husk_dir = bin.parent().expect("link dir");
        let dir = common::tempdir();
        let t = dir.path();
        std::fs::write(t.join("cases"), cases.join("\n") + "\n").expect("write cases");
        let script = format!(
            "set -u\nT={t}\nexport T\n{CLEAN}\n{setup}\nexport NETNS USERNS WPID\nn=0\n\
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
            setup = setup.join("\n"),
            h = husk_dir.display(),
            run = run_line(mode),
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
        Scenario { dir }
    }

    /// What `tool` (`ref` or `husk`) wrote for case `n` (`out`, `err`, `rc`).
    fn read(&self, n: usize, tool: &str, ext: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(format!("{n}.{tool}.{ext}"))).unwrap_or_default()
    }

    fn rc(&self, n: usize, tool: &str) -> String {
        String::from_utf8_lossy(&self.read(n, tool, "rc"))
            .trim()
            .to_owned()
    }

    /// A variable the fixtures saved in `$T/vars`.
    fn var(&self, name: &str) -> u64 {
        let vars = std::fs::read_to_string(self.dir.path().join("vars")).expect("read vars");
        vars.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {vars}"))
    }
}

/// How a tool is run, its stdout and stderr going to `$out.out/err`.
fn run_line(mode: Mode) -> String {
    match mode {
        // `script` gives the tool a terminal; its output goes to the file.
        Mode::Tty(cols) => format!(
            "COLUMNS={cols} script -qec \"lsns $args\" /dev/null </dev/null >\"$out.out\" 2>\"$out.err\""
        ),
        Mode::File => "eval \"lsns $args\" >\"$out.out\" 2>\"$out.err\"".to_owned(),
        // setpriv execs, so the tool keeps the pid set up for it.
        Mode::Nobody => "eval \"setpriv --reuid=65534 --regid=65534 --clear-groups lsns $args\" \
             >\"$out.out\" 2>\"$out.err\""
            .to_owned(),
    }
}

/// Runs every case in one fresh scenario without holder-only namespaces;
/// returns the mismatches.
fn compare(cases: &[&str], env: &[(&str, &str)], mode: Mode) -> Vec<String> {
    let sc = Scenario::run(&[FIXTURES], cases, env, mode);
    let mut diffs = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let rc = sc.rc(n, "ref");
        assert!(
            matches!(rc.as_str(), "0" | "1"),
            "lsns {case}: the reference did not run (status {rc:?}): {}",
            String::from_utf8_lossy(&sc.read(n, "ref", "err"))
        );
        for ext in ["out", "err", "rc"] {
            let (want, got) = (sc.read(n, "ref", ext), sc.read(n, "husk", ext));
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

/// A namespace no process is in, as util-linux 2.39+ shows it: NPROCS 0,
/// no PID, PPID, PATH or COMMAND, USER/UID from `NS_GET_OWNER_UID` (user
/// namespaces; 0 otherwise), owner and parent from the ioctls.
struct Extra {
    ino: u64,
    kind: &'static str,
    uid: u32,
    user: &'static str,
    parent: u64,
    owner: u64,
    nsfs: Option<String>,
}

impl Extra {
    /// Its cell in column `col` (a header name), `None` when empty.
    fn cell(&self, col: &str) -> Option<String> {
        Some(match col {
            "NS" => self.ino.to_string(),
            "TYPE" => self.kind.to_owned(),
            "NPROCS" => "0".to_owned(),
            "UID" => self.uid.to_string(),
            "USER" => self.user.to_owned(),
            "NSFS" => self.nsfs.clone()?,
            "PNS" => self.parent.to_string(),
            "ONS" => self.owner.to_string(),
            _ => return None,
        })
    }

    /// Its `-r` line for these columns.
    fn raw_line(&self, cols: &[&str]) -> String {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| self.cell(c).unwrap_or_default())
            .collect();
        cells.join(" ")
    }

    /// The non-empty cells of its table line, in order.
    fn fields(&self, cols: &[&str]) -> Vec<String> {
        cols.iter().filter_map(|c| self.cell(c)).collect()
    }

    /// Its `-J` object for these columns.
    fn json(&self, cols: &[&str]) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        for col in cols {
            let v = match (self.cell(col), *col) {
                (None, _) => serde_json::Value::Null,
                (Some(n), "NS" | "NPROCS" | "UID" | "PNS" | "ONS") => {
                    serde_json::Value::from(n.parse::<u64>().expect("number"))
                }
                (Some(s), _) => serde_json::Value::from(s),
            };
            obj.insert(col.to_lowercase(), v);
        }
        serde_json::Value::Object(obj)
    }
}

fn json_of(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The namespaces of a util-linux JSON table in line order, with depth.
fn preorder(list: &serde_json::Value, depth: usize, out: &mut Vec<(u64, usize)>) {
    for item in list.as_array().expect("array") {
        out.push((item["ns"].as_u64().expect("ns"), depth));
        if let Some(children) = item.get("children") {
            preorder(children, depth + 1, out);
        }
    }
}

/// Where a top-level line for `ino` goes among lines in `order`: before
/// the first top-level line of a greater inode (namespaces are walked in
/// inode order; a line without a parent starts a new block).
fn slot(order: &[(u64, usize)], ino: u64) -> usize {
    order
        .iter()
        .position(|&(ns, depth)| depth == 0 && ns > ino)
        .unwrap_or(order.len())
}

/// `want` (util-linux 2.38's table, header first) with `extras` (sorted by
/// inode) inserted where they belong, checked against `got` table line by
/// table line: the extra lines by `check`, every other one byte for byte.
fn assert_lines_plus(
    case: &str,
    want: &str,
    got: &str,
    order: &[(u64, usize)],
    extras: &[&Extra],
    check: impl Fn(&Extra, &str) -> bool,
) {
    let want = records(want);
    let got = records(got);
    let (want, got): (Vec<&str>, Vec<&str>) = (
        want.iter().map(String::as_str).collect(),
        got.iter().map(String::as_str).collect(),
    );
    assert_eq!(
        got.len(),
        want.len() + extras.len(),
        "lsns {case}: line count\n--- 2.38\n{}\n--- husk\n{}",
        want.join("\n"),
        got.join("\n")
    );
    // +1: the header line.
    let at: Vec<usize> = extras
        .iter()
        .enumerate()
        .map(|(k, e)| 1 + slot(order, e.ino) + k)
        .collect();
    for (e, &i) in extras.iter().zip(&at) {
        assert!(
            check(e, got[i]),
            "lsns {case}: line {i} should show namespace {} ({}):\n{}",
            e.ino,
            e.kind,
            got.join("\n")
        );
    }
    let rest: Vec<&str> = got
        .iter()
        .enumerate()
        .filter(|(i, _)| !at.contains(i))
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(rest, want, "lsns {case}: the other lines differ from 2.38");
}

/// The lines of a table grouped by table line: the continuation lines of
/// a multi-line cell (`NSFS`) start with a blank, where a line starts
/// with its 10-digit inode.
fn records(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match out.last_mut() {
            Some(last) if i > 1 && line.starts_with(' ') => {
                last.push('\n');
                last.push_str(line);
            }
            _ => out.push(line.to_owned()),
        }
    }
    out
}

/// 2.38's JSON with `extras` inserted at the top level in inode order.
fn json_plus(want: &serde_json::Value, extras: &[&Extra], cols: &[&str]) -> serde_json::Value {
    let mut list = want["namespaces"].as_array().expect("array").clone();
    for e in extras {
        let at = list
            .iter()
            .position(|x| x["ns"].as_u64().unwrap_or(0) > e.ino)
            .unwrap_or(list.len());
        list.insert(at, e.json(cols));
    }
    serde_json::json!({ "namespaces": list })
}

/// The cases of [`holder_only_namespaces_are_added_to_util_linux_output`]:
/// (JSON case, table case, raw case, kinds listed).
const HOLDER_FORMATS: &[(&str, &str, &str, &[&str])] = &[
    ("-J", "", "-r", &["net", "user"]),
    ("-t net -J", "-t net", "-t net -r", &["net"]),
    (
        "--output-all -J",
        "--output-all",
        "--output-all -r",
        &["net", "user"],
    ),
];

#[test]
fn holder_only_namespaces_are_added_to_util_linux_output() {
    require_root!();
    require_tool!("setpriv");
    if !require_reference() {
        return;
    }
    let mut cases: Vec<&str> = Vec::new();
    for (j, t, r, _) in HOLDER_FORMATS {
        cases.extend([*j, *t, *r]);
    }
    let vars = "printf 'USERNS=%s\\n' $USERNS >> \"$T/vars\"";
    let sc = Scenario::run(
        &[HOLDERS, FIXTURES, vars],
        &cases,
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
    let extras = holder_extras(&sc);
    for (f, (j, t, r, kinds)) in HOLDER_FORMATS.iter().enumerate() {
        let listed: Vec<&Extra> = extras.iter().filter(|e| kinds.contains(&e.kind)).collect();
        let n = f * 3;
        for k in n..n + 3 {
            assert_eq!(sc.rc(k, "ref"), "0", "lsns {}", cases[k]);
            assert_eq!(sc.rc(k, "husk"), "0", "lsns {}", cases[k]);
            assert_eq!(sc.read(k, "husk", "err"), b"", "lsns {}", cases[k]);
        }
        let text =
            |k: usize, tool: &str| String::from_utf8_lossy(&sc.read(k, tool, "out")).into_owned();
        let header = text(n + 2, "ref");
        let cols: Vec<&str> = header.lines().next().unwrap_or("").split(' ').collect();
        // -J: the tree structure, and the line order of the other formats.
        let want = json_of(&sc.read(n, "ref", "out"));
        let got = json_of(&sc.read(n, "husk", "out"));
        assert_eq!(got, json_plus(&want, &listed, &cols), "lsns {j}");
        let mut order = Vec::new();
        preorder(&want["namespaces"], 0, &mut order);
        assert_lines_plus(
            t,
            &text(n + 1, "ref"),
            &text(n + 1, "husk"),
            &order,
            &listed,
            |e, l| l.split_whitespace().collect::<Vec<_>>() == e.fields(&cols),
        );
        assert_lines_plus(
            r,
            &text(n + 2, "ref"),
            &text(n + 2, "husk"),
            &order,
            &listed,
            |e, l| l == e.raw_line(&cols),
        );
    }
}

/// The four holder-only namespaces of [`HOLDERS`], sorted by inode.
fn holder_extras(sc: &Scenario) -> Vec<Extra> {
    let userns = sc.var("USERNS");
    let dir = sc.dir.path().display().to_string();
    let mut extras = vec![
        Extra {
            ino: sc.var("HOLDNS"),
            kind: "net",
            uid: 0,
            user: "root",
            parent: 0,
            owner: userns,
            nsfs: Some(format!("{dir}/husk-hold")),
        },
        Extra {
            ino: sc.var("FDNS"),
            kind: "net",
            uid: 0,
            user: "root",
            parent: 0,
            owner: userns,
            nsfs: None,
        },
        Extra {
            ino: sc.var("SOCKNS"),
            kind: "net",
            uid: 0,
            user: "root",
            parent: 0,
            owner: userns,
            nsfs: None,
        },
        Extra {
            ino: sc.var("HOLDUSER"),
            kind: "user",
            uid: 2,
            user: "bin",
            parent: userns,
            owner: userns,
            nsfs: Some(format!("{dir}/husk-userns")),
        },
    ];
    extras.sort_by_key(|e| e.ino);
    extras
}

#[test]
fn persistent_lists_only_holder_only_namespaces() {
    require_root!();
    require_tool!("setpriv");
    if !require_reference() {
        return;
    }
    let cases = [
        "-P -J",
        "-P",
        "-P -r",
        "-t user -P -J",
        "-p 1",
        "$HOLDNS",
        "-P -p 1",
        "-p 1 --persistent",
    ];
    let vars = "printf 'USERNS=%s\\n' $USERNS >> \"$T/vars\"";
    let sc = Scenario::run(
        &[HOLDERS, FIXTURES, vars],
        &cases,
        &[("LANG", "C.UTF-8")],
        Mode::File,
    );
    let extras = holder_extras(&sc);
    let all: Vec<&Extra> = extras.iter().collect();
    let cols = ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND"];
    let text =
        |k: usize, tool: &str| String::from_utf8_lossy(&sc.read(k, tool, "out")).into_owned();
    // 2.38 has no -P.
    assert_eq!(sc.rc(0, "ref"), "1");
    for k in 0..4 {
        assert_eq!(sc.rc(k, "husk"), "0", "lsns {}", cases[k]);
    }
    let none = serde_json::json!({ "namespaces": [] });
    assert_eq!(
        json_of(&sc.read(0, "husk", "out")),
        json_plus(&none, &all, &cols)
    );
    let table: Vec<Vec<String>> = text(1, "husk")
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    let mut want_table = vec![cols.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
    want_table.extend(all.iter().map(|e| e.fields(&cols)));
    assert_eq!(table, want_table, "lsns -P");
    let mut raw = vec![cols.join(" ")];
    raw.extend(all.iter().map(|e| e.raw_line(&cols)));
    assert_eq!(text(2, "husk"), raw.join("\n") + "\n", "lsns -P -r");
    let users: Vec<&Extra> = extras.iter().filter(|e| e.kind == "user").collect();
    assert_eq!(
        json_of(&sc.read(3, "husk", "out")),
        json_plus(&none, &users, &cols)
    );
    // -p: holder-only namespaces hold no process, so 2.38's output stands.
    for ext in ["out", "err", "rc"] {
        assert_eq!(
            sc.read(4, "ref", ext),
            sc.read(4, "husk", ext),
            "lsns -p 1 [{ext}]"
        );
    }
    // The operand: found (no process to list) instead of "not found".
    assert_eq!(sc.rc(5, "ref"), "1");
    assert_eq!(
        (sc.rc(5, "husk"), text(5, "husk")),
        ("0".to_owned(), String::new())
    );
    for k in [6, 7] {
        assert_eq!(sc.rc(k, "husk"), "1", "lsns {}", cases[k]);
        assert_eq!(
            String::from_utf8_lossy(&sc.read(k, "husk", "err")),
            "lsns: mutually exclusive arguments: --persistent --task\n"
        );
    }
}
