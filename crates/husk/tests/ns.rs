//! `husk ns`: namespaces of processes, checked against `readlink
//! /proc/PID/ns/*`.

mod common;
mod nsenter_target;

use common::{husk, output, stdout_ok, unique};
use nsenter_target::{ns_ino, Target};

const KINDS: [&str; 8] = ["mnt", "net", "pid", "uts", "ipc", "user", "cgroup", "time"];

/// The table as rows of cells, header first.
fn table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn one_pid_lists_all_eight_against_readlink() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(&["--uts", "--net"], &unique("ns1"));
    let rows = table(&stdout_ok(&mut husk(["ns".to_owned(), t.pid.to_string()])));
    assert_eq!(rows[0], ["TYPE", "NS", "OWNER", "PARENT", "CALLER"]);
    assert_eq!(rows.len(), 9);
    let me = std::process::id();
    let our_user = ns_ino(me, "user").to_string();
    for (row, kind) in rows[1..].iter().zip(KINDS) {
        assert_eq!(row[0], kind);
        assert_eq!(row[1], t.ns_ino(kind).to_string(), "{kind}");
        let differs = t.ns_ino(kind) != ns_ino(me, kind);
        assert_eq!(row[4], if differs { "differs" } else { "same" }, "{kind}");
        assert_eq!(differs, kind == "uts" || kind == "net", "{kind}");
        if kind != "user" {
            assert_eq!(row[2], our_user, "{kind} is owned by our user namespace");
        }
    }
    // Quiet headings.
    let out = stdout_ok(&mut husk(["ns".to_owned(), "-n".into(), t.pid.to_string()]));
    assert_eq!(out.lines().count(), 8);
    assert!(out.starts_with("mnt "), "{out}");
}

#[test]
fn parents_and_owners_of_a_nested_user_namespace() {
    require_root!();
    require_tool!("unshare");
    let t = Target::start(
        &["--user", "--map-root-user", "--pid", "--uts"],
        &unique("nsu"),
    );
    let out = stdout_ok(&mut husk(["ns".to_owned(), "-J".into(), t.pid.to_string()]));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let me = std::process::id();
    let find = |kind: &str| {
        doc["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
            .unwrap()
            .clone()
    };
    let user = find("user");
    assert_eq!(user["ns"], t.ns_ino("user"));
    assert_eq!(
        user["parent"],
        ns_ino(me, "user"),
        "parent of the new user ns is ours"
    );
    assert_eq!(user["owner"], ns_ino(me, "user"));
    let uts = find("uts");
    assert_eq!(
        uts["owner"],
        t.ns_ino("user"),
        "the new uts is owned by the new user ns"
    );
    assert_eq!(uts["same_as_caller"], false);
    assert_eq!(uts["parent"], serde_json::Value::Null);
    let pid = find("pid");
    assert_eq!(pid["parent"], ns_ino(me, "pid"));
    assert_eq!(find("net")["same_as_caller"], true);
    assert_eq!(doc["pid"], t.pid);
}

/// Owners and parents per pid in the several-pid JSON, against `readlink`:
/// `a` is in a new user namespace (which owns its new uts and pid ones), `b`
/// only in a new uts namespace, owned by ours.
#[test]
fn several_pids_json_has_owner_and_parent_per_pid() {
    require_root!();
    require_tool!("unshare");
    let a = Target::start(
        &["--user", "--map-root-user", "--pid", "--uts"],
        &unique("nsoa"),
    );
    let b = Target::start(&["--uts"], &unique("nsob"));
    let args = ["ns", "-J", &a.pid.to_string(), &b.pid.to_string()].map(String::from);
    let doc: serde_json::Value = serde_json::from_str(&stdout_ok(&mut husk(&args))).expect("JSON");
    let me = std::process::id();
    let (ours, theirs) = (ns_ino(me, "user"), a.ns_ino("user"));
    let entries = doc["namespaces"].as_array().unwrap();
    assert_eq!(entries.len(), KINDS.len(), "{doc}");
    for (entry, kind) in entries.iter().zip(KINDS) {
        assert_eq!(entry["type"], kind);
        // A user namespace's owner is its parent: none above ours (the
        // initial one) for b.
        let owner = match kind {
            "pid" | "uts" => serde_json::json!([theirs, ours]),
            "user" => serde_json::json!([ours, null]),
            _ => serde_json::json!([ours, ours]),
        };
        assert_eq!(entry["owner"], owner, "{kind}");
        let parent = match kind {
            // a's user namespace is a child of ours; b's is ours, the
            // initial one, with no parent.
            "user" => serde_json::json!([ours, null]),
            "pid" => serde_json::json!([ns_ino(me, "pid"), null]),
            _ => serde_json::json!([null, null]),
        };
        assert_eq!(entry["parent"], parent, "{kind}");
        assert_eq!(
            entry["ns"],
            serde_json::json!([a.ns_ino(kind), b.ns_ino(kind)]),
            "{kind}"
        );
    }
    // The table stays compact: type, one inode per pid, shared.
    let rows = table(&stdout_ok(&mut husk([&args[0], &args[2], &args[3]])));
    assert_eq!(rows.len(), 1 + KINDS.len(), "{rows:?}");
    assert!(rows.iter().all(|r| r.len() == 4), "{rows:?}");
}

#[test]
fn two_pids_side_by_side() {
    require_root!();
    require_tool!("unshare");
    let a = Target::start(&["--uts", "--net"], &unique("nsa"));
    let b = Target::start(&["--uts", "--ipc"], &unique("nsb"));
    let args = ["ns".to_owned(), a.pid.to_string(), b.pid.to_string()];
    let rows = table(&stdout_ok(&mut husk(&args)));
    // A header and one row per kind: zip below would hide missing rows.
    assert_eq!(rows.len(), 1 + KINDS.len(), "{rows:?}");
    assert_eq!(
        rows[0],
        [
            "TYPE".to_owned(),
            a.pid.to_string(),
            b.pid.to_string(),
            "SHARED".into()
        ]
    );
    for (row, kind) in rows[1..].iter().zip(KINDS) {
        assert_eq!(row[0], kind);
        assert_eq!(row[1], a.ns_ino(kind).to_string(), "{kind}");
        assert_eq!(row[2], b.ns_ino(kind).to_string(), "{kind}");
        let shared = a.ns_ino(kind) == b.ns_ino(kind);
        assert_eq!(row[3], if shared { "yes" } else { "no" }, "{kind}");
        assert_eq!(shared, !["uts", "net", "ipc"].contains(&kind), "{kind}");
    }
    // The same as JSON.
    let mut json_args = args.to_vec();
    json_args.insert(1, "--json".into());
    let doc: serde_json::Value =
        serde_json::from_str(&stdout_ok(&mut husk(&json_args))).expect("JSON");
    assert_eq!(doc["pids"], serde_json::json!([a.pid, b.pid]));
    let entries = doc["namespaces"].as_array().unwrap();
    assert_eq!(entries.len(), KINDS.len(), "{doc}");
    for (entry, kind) in entries.iter().zip(KINDS) {
        assert_eq!(entry["type"], kind);
        assert_eq!(
            entry["ns"],
            serde_json::json!([a.ns_ino(kind), b.ns_ino(kind)])
        );
        assert_eq!(entry["shared"], a.ns_ino(kind) == b.ns_ino(kind));
    }
}

#[test]
fn bad_pids_are_one_line_errors() {
    let gone = common::gone_pid();
    let out = output(&mut husk(["ns".to_owned(), gone.to_string()]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("husk ns: cannot open /proc/{gone}/ns/mnt: No such process\n")
    );
    for args in [&["ns", "abc"][..], &["ns"], &["ns", "--bogus", "1"]] {
        let out = output(&mut husk(args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(err.starts_with("husk ns: "), "{err}");
        assert!(
            err.ends_with("Try 'husk ns --help' for more information.\n"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 2, "{err}");
    }
}

#[test]
fn permission_denied_for_an_unprivileged_user() {
    require_root!();
    require_tool!("unshare");
    let user = common::test_user();
    let t = Target::start(&["--uts"], &unique("nsp"));
    let out = output(common::as_user(
        &mut husk(["ns".to_owned(), t.pid.to_string()]),
        user,
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "husk ns: cannot open /proc/{}/ns/mnt: Permission denied\n",
            t.pid
        )
    );
}
