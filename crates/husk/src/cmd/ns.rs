//! `ns`: the namespaces of one or more processes, side by side — what one
//! would read with `ls -l /proc/PID/ns` and compare with `readlink`, plus
//! owners and parents from the `NS_GET_*` ioctls.

use std::ffi::OsString;
use std::io;

use anyhow::Context;
use husk_ns::{Namespace, NsError, NsId, NsKind};
use serde::Serialize;

use crate::cli::getopt::{long, Getopt, HasArg, Spec};
use crate::cli::{self, Exit, Outcome, Prog};

/// Options and PIDs mix, as with lsns.
const SPEC: Spec = Spec {
    short: "JnhV",
    long: &[
        long("json", HasArg::No, 'J'),
        long("noheadings", HasArg::No, 'n'),
        long("help", HasArg::No, 'h'),
        long("version", HasArg::No, 'V'),
    ],
};

const HELP: &str = "\
Show the namespaces of processes, side by side.

One PID: each namespace with its inode, owning user namespace, parent (pid and user namespaces) \
and whether the caller shares it. Several: one row per type, one column per PID, and whether \
all share it (owners and parents per PID in the JSON).

Usage: PROG [OPTIONS] [PID]...

Arguments:
  [PID]...
          Processes to show

Options:
  -J, --json
          Use JSON output format

  -n, --noheadings
          Don't print headings

  -h, --help
          Print help

  -V, --version
          Print version
";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    json: bool,
    noheadings: bool,
    pids: Vec<u32>,
}

/// One namespace of one process.
#[derive(Debug, Serialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: String,
    ns: u64,
    /// Inode of the owning user namespace; `None` when it is outside ours.
    owner: Option<u64>,
    /// Parent of a pid or user namespace; `None` for others or at the top.
    parent: Option<u64>,
    same_as_caller: bool,
}

/// One row of the side-by-side view; `ns[i]`, `owner[i]`, `parent[i]`
/// belong to the i-th pid (the table shows only `ns` and `shared`).
#[derive(Debug, Serialize)]
struct Row {
    #[serde(rename = "type")]
    kind: String,
    ns: Vec<u64>,
    owner: Vec<Option<u64>>,
    parent: Vec<Option<u64>>,
    shared: bool,
}

/// `-J` for one pid.
#[derive(Debug, Serialize)]
struct One {
    pid: u32,
    namespaces: Vec<Entry>,
}

/// `-J` for several pids: `ns[i]`, `owner[i]`, `parent[i]` belong to
/// `pids[i]`.
#[derive(Debug, Serialize)]
struct Several<'a> {
    pids: &'a [u32],
    namespaces: Vec<Row>,
}

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    let args = match parse(prog, args)? {
        Ok(args) => args,
        Err(exit) => return Ok(exit),
    };
    let table = match args.pids.as_slice() {
        [pid] => one(*pid, args.json)?,
        pids => several(pids, args.json)?,
    };
    match table {
        Output::Json(text) => println!("{text}"),
        Output::Table(mut rows) => {
            if args.noheadings {
                rows.remove(0);
            }
            print!("{}", align(&rows));
        }
    }
    Ok(Exit::OK)
}

/// Options in order (`-h`/`-V` act when reached), then the PIDs.
/// `Err(exit)`: help or version was printed.
fn parse(prog: &Prog, argv: Vec<OsString>) -> anyhow::Result<Result<Args, Exit>> {
    let mut args = Args::default();
    let mut getopt = Getopt::new(SPEC, argv);
    for item in getopt.by_ref() {
        match item.map_err(|e| cli::getopt_error(prog, &e))?.0 {
            'J' => args.json = true,
            'n' => args.noheadings = true,
            'h' => {
                print!("{}", HELP.replace("PROG", prog.name()));
                return Ok(Err(Exit::OK));
            }
            _ => {
                cli::print_version(prog);
                return Ok(Err(Exit::OK));
            }
        }
    }
    for pid in getopt.operands() {
        let text = pid.to_string_lossy();
        let pid = parse_pid(&text).map_err(|why| {
            cli::usage_error(
                prog,
                format!("invalid value '{text}' for '[PID]...': {why}"),
            )
        })?;
        args.pids.push(pid);
    }
    if args.pids.is_empty() {
        return Err(cli::usage_error(prog, "no process specified"));
    }
    Ok(Ok(args))
}

/// A PID, or why not in the words clap used for `husk ns`.
fn parse_pid(text: &str) -> Result<u32, String> {
    let n: i64 = text
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    u32::try_from(n).map_err(|_| format!("{n} is not in 0..={}", u32::MAX))
}

enum Output {
    Json(String),
    Table(Vec<Vec<String>>),
}

fn one(pid: u32, json: bool) -> anyhow::Result<Output> {
    let mut entries = Vec::new();
    for kind in NsKind::ALL {
        entries.push(entry(pid, kind)?.0);
    }
    if json {
        let doc = One {
            pid,
            namespaces: entries,
        };
        return Ok(Output::Json(serde_json::to_string_pretty(&doc)?));
    }
    let dash = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let mut rows = vec![["TYPE", "NS", "OWNER", "PARENT", "CALLER"]
        .map(String::from)
        .to_vec()];
    for e in entries {
        let caller = if e.same_as_caller { "same" } else { "differs" };
        rows.push(vec![
            e.kind,
            e.ns.to_string(),
            dash(e.owner),
            dash(e.parent),
            caller.into(),
        ]);
    }
    Ok(Output::Table(rows))
}

/// Namespace `kind` of `pid`: inode, owner and parent (`NS_GET_USERNS`,
/// `NS_GET_PARENT`), whether the caller is in it; and its full id.
fn entry(pid: u32, kind: NsKind) -> anyhow::Result<(Entry, NsId)> {
    let ns = open(pid, kind)?;
    let own = Namespace::of_self(kind)?;
    let owner = ns.owner().context("cannot query owner")?;
    let parent = ns.parent().context("cannot query parent")?;
    let entry = Entry {
        kind: kind.to_string(),
        ns: ns.ino(),
        owner: owner.map(|o| o.ino()),
        parent: parent.map(|p| p.ino()),
        same_as_caller: ns.id() == own.id(),
    };
    Ok((entry, ns.id()))
}

fn several(pids: &[u32], json: bool) -> anyhow::Result<Output> {
    let mut rows = Vec::new();
    for kind in NsKind::ALL {
        let entries = pids
            .iter()
            .map(|&pid| entry(pid, kind))
            .collect::<anyhow::Result<Vec<_>>>()?;
        rows.push(Row {
            kind: kind.to_string(),
            ns: entries.iter().map(|(e, _)| e.ns).collect(),
            owner: entries.iter().map(|(e, _)| e.owner).collect(),
            parent: entries.iter().map(|(e, _)| e.parent).collect(),
            shared: entries.windows(2).all(|w| w[0].1 == w[1].1),
        });
    }
    if json {
        let doc = Several {
            pids,
            namespaces: rows,
        };
        return Ok(Output::Json(serde_json::to_string_pretty(&doc)?));
    }
    let mut head = vec!["TYPE".to_owned()];
    head.extend(pids.iter().map(|p| p.to_string()));
    head.push("SHARED".to_owned());
    let mut table = vec![head];
    for row in rows {
        let mut line = vec![row.kind];
        line.extend(row.ns.iter().map(|ino| ino.to_string()));
        line.push(if row.shared { "yes" } else { "no" }.to_owned());
        table.push(line);
    }
    Ok(Output::Table(table))
}

/// `/proc/PID/ns/KIND`; a pid with no `/proc/PID` at all is reported as
/// "No such process" rather than the bare `ENOENT` of the missing file.
fn open(pid: u32, kind: NsKind) -> Result<Namespace, NsError> {
    Namespace::of_pid(pid, kind).map_err(|e| match e {
        NsError::Open { path, source }
            if source.kind() == io::ErrorKind::NotFound
                && !std::path::Path::new(&format!("/proc/{pid}")).exists() =>
        {
            NsError::Open {
                path,
                source: io::Error::from_raw_os_error(libc::ESRCH),
            }
        }
        other => other,
    })
}

/// Left-aligned columns separated by one space, the last not padded.
fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (c, cell) in row.iter().enumerate() {
            if c == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$} ", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_the_last_is_not_padded() {
        let rows = vec![
            vec!["TYPE".into(), "NS".into(), "X".into()],
            vec!["cgroup".into(), "4026531835".into(), "yes".into()],
        ];
        assert_eq!(align(&rows), "TYPE   NS         X\ncgroup 4026531835 yes\n");
    }
}
