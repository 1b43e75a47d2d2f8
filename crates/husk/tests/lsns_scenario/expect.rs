//! What the tables of a scene with namespaces no process is in should
//! be: util-linux 2.38's, plus exactly the rows of those namespaces, in
//! place.

use super::Scenario;

/// A namespace no process is in, as util-linux 2.39+ shows it: NPROCS 0,
/// no PID, PPID, PATH or COMMAND, USER/UID from `NS_GET_OWNER_UID` (user
/// namespaces; 0 otherwise), owner and parent from the ioctls.
pub struct Extra {
    pub ino: u64,
    pub kind: &'static str,
    pub uid: u32,
    pub user: &'static str,
    pub parent: u64,
    pub owner: u64,
    pub nsfs: Option<String>,
}

impl Extra {
    /// Its cell in column `col` (a header name), `None` when empty.
    pub fn cell(&self, col: &str) -> Option<String> {
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
    pub fn raw_line(&self, cols: &[&str]) -> String {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| self.cell(c).unwrap_or_default())
            .collect();
        cells.join(" ")
    }

    /// The non-empty cells of its table line, in order.
    pub fn fields(&self, cols: &[&str]) -> Vec<String> {
        cols.iter().filter_map(|c| self.cell(c)).collect()
    }

    /// Its `-J` object for these columns.
    pub fn json(&self, cols: &[&str]) -> serde_json::Value {
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

pub fn json_of(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The namespaces of a util-linux JSON table in line order, with depth.
pub fn preorder(list: &serde_json::Value, depth: usize, out: &mut Vec<(u64, usize)>) {
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
pub fn slot(order: &[(u64, usize)], ino: u64) -> usize {
    order
        .iter()
        .position(|&(ns, depth)| depth == 0 && ns > ino)
        .unwrap_or(order.len())
}

/// `want` (util-linux 2.38's table, header first) with `extras` (sorted by
/// inode) inserted where they belong, checked against `got` table line by
/// table line: the extra lines by `check`, every other one byte for byte.
pub fn assert_lines_plus(
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
pub fn records(text: &str) -> Vec<String> {
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
pub fn json_plus(want: &serde_json::Value, extras: &[&Extra], cols: &[&str]) -> serde_json::Value {
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

/// The four holder-only namespaces of [`HOLDERS`], sorted by inode.
pub fn holder_extras(sc: &Scenario) -> Vec<Extra> {
    let userns = sc.var("USERNS");
    let dir = sc.dir.path().display().to_string();
    // The three network namespaces: root's, in the scenario's user namespace.
    let net = |var: &str, nsfs: Option<String>| Extra {
        ino: sc.var(var),
        kind: "net",
        uid: 0,
        user: "root",
        parent: 0,
        owner: userns,
        nsfs,
    };
    let mut extras = vec![
        net("HOLDNS", Some(format!("{dir}/husk-hold"))),
        net("FDNS", None),
        net("SOCKNS", None),
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
