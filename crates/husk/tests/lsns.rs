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
//!
//! The 2.38 scenes have no namespace that no process is in, so the outputs
//! must be equal byte for byte. The holder scenes add such namespaces
//! (`lsns_scenario::HOLDERS`: held by a bind mount, an fd, a socket), which
//! husk lists like util-linux 2.41 and 2.38 does not: there husk's output
//! must be 2.38's plus exactly their rows, in place (`lsns_scenario::expect`).

mod common;
mod lsns_scenario;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::{husk, output, MultiCall};
use lsns_scenario::expect::{
    assert_lines_plus, holder_extras, json_of, json_plus, preorder, Extra,
};
use lsns_scenario::{Mode, Scenario, FIXTURES, HOLDERS, REF_LSNS, SYS_UNSHARE};

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

/// The environment every scenario but the ASCII one runs in.
const UTF8: &[(&str, &str)] = &[("LANG", "C.UTF-8")];

/// Returns from the test (a skip) unless it runs as root and util-linux's
/// `lsns` and `unshare` are there to compare with.
macro_rules! require_reference {
    () => {
        require_root!();
        for tool in [REF_LSNS, SYS_UNSHARE] {
            if !Path::new(tool).exists() {
                common::skip(&format!("needs {tool}"));
                return;
            }
        }
    };
}

/// One scenario with the holder-only namespaces, `$USERNS` recorded.
fn holder_scenario(cases: &[&str]) -> Scenario {
    let vars = "printf 'USERNS=%s\\n' $USERNS >> \"$T/vars\"";
    Scenario::run(&[HOLDERS, FIXTURES, vars], cases, UTF8, Mode::File)
}

#[test]
fn default_and_formats_match_util_linux() {
    require_reference!();
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
        UTF8,
        Mode::File,
    );
}

#[test]
fn types_tasks_and_columns_match_util_linux() {
    require_reference!();
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
        UTF8,
        Mode::File,
    );
}

#[test]
fn trees_match_util_linux() {
    require_reference!();
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
        UTF8,
        Mode::File,
    );
}

#[test]
fn ascii_locale_matches_util_linux() {
    require_reference!();
    assert_same(
        &["", "-Towner", "-r", "-p $WPID", "-t ipc"],
        &[("LANG", "C"), ("LC_ALL", "C")],
        Mode::File,
    );
}

#[test]
fn namespace_argument_matches_util_linux() {
    require_reference!();
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
        UTF8,
        Mode::File,
    );
}

#[test]
fn terminal_output_matches_util_linux() {
    require_reference!();
    require_tool!("script");
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
            UTF8,
            Mode::Tty(cols),
        );
    }
}

#[test]
fn unprivileged_user_matches_util_linux() {
    require_reference!();
    require_tool!("setpriv");
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
        UTF8,
        Mode::Nobody,
    );
}

#[test]
fn bad_input_matches_util_linux() {
    require_reference!();
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
        UTF8,
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
    // util-linux 2.39+'s line for -P, where 2.39 puts it.
    assert!(
        text.contains(
            "     --output-all       output all columns\n \
             -P, --persistent       namespaces without processes\n \
             -p, --task <pid>       print process namespaces\n"
        ),
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
    require_reference!();
    require_tool!("setpriv");
    let mut cases: Vec<&str> = Vec::new();
    for (j, t, r, _) in HOLDER_FORMATS {
        cases.extend([*j, *t, *r]);
    }
    let sc = holder_scenario(&cases);
    let extras = holder_extras(&sc);
    for (f, (j, t, r, kinds)) in HOLDER_FORMATS.iter().enumerate() {
        let listed: Vec<&Extra> = extras.iter().filter(|e| kinds.contains(&e.kind)).collect();
        let n = f * 3;
        for (k, case) in cases.iter().enumerate().skip(n).take(3) {
            assert_eq!(sc.rc(k, "ref"), "0", "lsns {case}");
            assert_eq!(sc.rc(k, "husk"), "0", "lsns {case}");
            assert_eq!(sc.read(k, "husk", "err"), b"", "lsns {case}");
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

#[test]
fn persistent_lists_only_holder_only_namespaces() {
    require_reference!();
    require_tool!("setpriv");
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
    let sc = holder_scenario(&cases);
    let extras = holder_extras(&sc);
    let all: Vec<&Extra> = extras.iter().collect();
    let cols = ["NS", "TYPE", "NPROCS", "PID", "USER", "COMMAND"];
    let text =
        |k: usize, tool: &str| String::from_utf8_lossy(&sc.read(k, tool, "out")).into_owned();
    // 2.38 has no -P.
    assert_eq!(sc.rc(0, "ref"), "1");
    for (k, case) in cases.iter().enumerate().take(4) {
        assert_eq!(sc.rc(k, "husk"), "0", "lsns {case}");
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
