//! `lsns`: list namespaces, as util-linux 2.38 `lsns` does, plus the
//! namespaces newer util-linux (2.39, 2.41) lists that no process is in:
//! those held by an nsfs bind mount or an open fd, and `-P`.
//!
//! Parse (getopt-exact, see `args`), decide columns and tree mode the way
//! util-linux's `main()` does, scan `/proc` once with [`husk_ns::scan`],
//! then lay out lines (`output`) and print them with [`crate::table`].
//! `docs/lsns.md` lists the steps in order.

mod output;

use std::ffi::OsString;
use std::io::Write;

use anyhow::Context;
use husk_ns::scan::{self, KindSet, ScanOptions};
use husk_ns::NsKind;

use crate::cli::getopt::{long, Getopt, HasArg, Spec};
use crate::cli::number::{parse_i64, parse_u64};
use crate::cli::{self, Exit, Outcome, Prog, Reported};
use output::{Col, Tree};

/// `--output-all` has no short form; util-linux gives it a code above
/// every letter.
const OUTPUT_ALL: char = '\u{80}';

/// util-linux's options (2.38's, and 2.41's `-P`), the long ones in its
/// order. Options and operands mix (no leading `+`).
const SPEC: Spec = Spec {
    short: "JlPp:o:nruhVt:T::W",
    long: &[
        long("json", HasArg::No, 'J'),
        long("task", HasArg::Required, 'p'),
        long("help", HasArg::No, 'h'),
        long("output", HasArg::Required, 'o'),
        long("output-all", HasArg::No, OUTPUT_ALL),
        long("persistent", HasArg::No, 'P'),
        long("notruncate", HasArg::No, 'u'),
        long("version", HasArg::No, 'V'),
        long("noheadings", HasArg::No, 'n'),
        long("nowrap", HasArg::No, 'W'),
        long("list", HasArg::No, 'l'),
        long("raw", HasArg::No, 'r'),
        long("type", HasArg::Required, 't'),
        long("tree", HasArg::Optional, 'T'),
    ],
};

/// Everything the command line asked for.
#[derive(Debug, Default)]
struct Opts {
    json: bool,
    raw: bool,
    no_headings: bool,
    no_trunc: bool,
    no_wrap: bool,
    force_list: bool,
    persistent: bool,
    tree: Tree,
    task: i32,
    kinds: Option<KindSet>,
    is_net: bool,
    columns: Vec<Col>,
    output: Option<String>,
    ns: u64,
}

/// util-linux keeps at most twice the number of known columns.
const MAX_COLUMNS: usize = Col::ALL.len() * 2;

pub fn run(prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let opts = match parse(prog, argv)? {
        Ok(opts) => opts,
        Err(exit) => return Ok(exit),
    };
    list(prog, &opts)
}

/// Prints `PROG: msg` and fails with status 1, like `errx(EXIT_FAILURE)`.
fn fail(prog: &Prog, msg: impl std::fmt::Display) -> anyhow::Error {
    eprintln!("{prog}: {msg}");
    Reported(Exit::FAILURE).into()
}

/// An `str2num_or_err` failure: range errors carry strerror(ERANGE).
fn bad_number(prog: &Prog, what: &str, arg: &str, range: bool) -> anyhow::Error {
    let tail = if range {
        ": Numerical result out of range"
    } else {
        ""
    };
    fail(prog, format_args!("{what}: '{arg}'{tail}"))
}

/// Options in command-line order, each acted on as getopt returns it (so
/// the first bad one is the one reported), then the operand.
fn parse(prog: &Prog, argv: Vec<OsString>) -> anyhow::Result<Result<Opts, Exit>> {
    let mut o = Opts::default();
    // util-linux's exclusion groups that can fire: -J/-r and -P/-p.
    let mut excl: [Option<char>; 2] = [None, None];
    let mut getopt = Getopt::new(SPEC, argv);
    for item in getopt.by_ref() {
        let (c, arg) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        let arg = arg.map_or_else(String::new, |a| a.to_string_lossy().into_owned());
        exclusive(prog, c, &mut excl)?;
        match c {
            'J' => o.json = true,
            'l' => o.force_list = true,
            'o' => o.output = Some(arg),
            OUTPUT_ALL => o.columns = Col::ALL.to_vec(),
            'P' => o.persistent = true,
            'p' => o.task = parse_pid(prog, &arg)?,
            'n' => o.no_headings = true,
            'r' => (o.raw, o.no_wrap) = (true, true),
            'u' => o.no_trunc = true,
            't' => {
                let kind = NsKind::ALL.into_iter().find(|k| k.proc_name() == arg);
                let kind =
                    kind.ok_or_else(|| fail(prog, format_args!("unknown namespace type: {arg}")))?;
                o.kinds.get_or_insert(KindSet::NONE).insert(kind);
                o.is_net |= kind == NsKind::Net;
            }
            'W' => o.no_wrap = true,
            'T' => o.tree = parse_tree(prog, &arg)?,
            'h' => {
                print!("{}", output::help(prog));
                return Ok(Err(Exit::OK));
            }
            'V' => {
                cli::print_version(prog);
                return Ok(Err(Exit::OK));
            }
            _ => unreachable!("getopt yields only options of SPEC"),
        }
    }
    let operand = getopt
        .operands()
        .first()
        .map(|a| a.to_string_lossy().into_owned());
    defaults(prog, &mut o, operand.as_ref())?;
    Ok(Ok(o))
}

/// `err_exclusive_options` for the groups `{-J, -r}` and `{-P, -p}`
/// (util-linux 2.39+): the second, different member of a group fails with
/// the group's long names in table order.
fn exclusive(prog: &Prog, c: char, seen: &mut [Option<char>; 2]) -> anyhow::Result<()> {
    let (group, msg) = match c {
        'J' | 'r' => (0, "mutually exclusive arguments: --json --raw"),
        'P' | 'p' => (1, "mutually exclusive arguments: --persistent --task"),
        _ => return Ok(()),
    };
    match seen[group] {
        Some(prev) if prev != c => Err(fail(prog, msg)),
        _ => {
            seen[group] = Some(c);
            Ok(())
        }
    }
}

fn parse_pid(prog: &Prog, arg: &str) -> anyhow::Result<i32> {
    let n = parse_i64(arg).map_err(|range| bad_number(prog, "invalid PID argument", arg, range))?;
    i32::try_from(n).map_err(|_| bad_number(prog, "invalid PID argument", arg, true))
}

fn parse_tree(prog: &Prog, arg: &str) -> anyhow::Result<Tree> {
    let name = arg.strip_prefix('=').unwrap_or(arg);
    Ok(match name {
        "" | "owner" => Tree::Owner,
        "parent" => Tree::Parent,
        "process" => Tree::Process,
        _ => return Err(fail(prog, format_args!("unknown tree type: {name}"))),
    })
}

/// The operand, default columns and tree mode, then `-o`: in util-linux's
/// order, which is why `-o` never changes whether a tree is drawn.
fn defaults(prog: &Prog, o: &mut Opts, operand: Option<&String>) -> anyhow::Result<()> {
    if let Some(ns) = operand {
        if o.task != 0 {
            return Err(fail(prog, "--task is mutually exclusive with <namespace>"));
        }
        o.ns = parse_u64(ns)
            .map_err(|range| bad_number(prog, "invalid namespace argument", ns, range))?;
        if o.tree == Tree::None && !o.force_list {
            o.tree = Tree::Process;
        }
        if o.columns.is_empty() {
            o.columns = vec![Col::Pid, Col::Ppid, Col::User, Col::Command];
        }
    }
    if o.columns.is_empty() {
        o.columns = vec![Col::Ns, Col::Type, Col::Nprocs, Col::Pid, Col::User];
        if o.is_net {
            o.columns.extend([Col::Netnsid, Col::Nsfs]);
        }
        o.columns.push(Col::Command);
        if o.tree == Tree::None && !o.force_list {
            o.tree = Tree::Process;
        }
    }
    if let Some(list) = o.output.take() {
        add_columns(prog, &list, &mut o.columns)?;
    }
    Ok(())
}

/// `-o LIST` / `-o +LIST`, with util-linux's quirks: a trailing comma
/// belongs to the last name, an empty name fails without a message, and
/// the unknown-column message shows the rest of the list.
fn add_columns(prog: &Prog, list: &str, columns: &mut Vec<Col>) -> anyhow::Result<()> {
    let silent = || anyhow::Error::from(Reported(Exit::FAILURE));
    let rest = match list.strip_prefix('+') {
        Some(rest) => rest,
        None => {
            columns.clear();
            list
        }
    };
    if rest.is_empty() {
        return Err(silent());
    }
    let bytes = rest.as_bytes();
    let mut begin = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = if i + 1 == bytes.len() {
            i + 1
        } else if bytes[i] == b',' {
            i
        } else {
            i += 1;
            continue;
        };
        if columns.len() >= MAX_COLUMNS {
            return Err(silent());
        }
        if end <= begin {
            return Err(silent());
        }
        let name = &rest[begin..end];
        let col = Col::ALL
            .iter()
            .find(|c| c.name().eq_ignore_ascii_case(name));
        let col =
            col.ok_or_else(|| fail(prog, format_args!("unknown column: {}", &rest[begin..])))?;
        columns.push(*col);
        i += 1;
        begin = i;
    }
    Ok(())
}

/// Scan, build the table, print it.
fn list(prog: &Prog, o: &Opts) -> Outcome {
    let has = |c: Col| o.columns.contains(&c);
    let relations = matches!(o.tree, Tree::Owner | Tree::Parent) || has(Col::Pns) || has(Col::Ons);
    let scan_opts = ScanOptions::new("/proc")
        .kinds(o.kinds.unwrap_or(KindSet::ALL))
        .relations(relations)
        .netnsid(has(Col::Netnsid))
        .nsfs(has(Col::Nsfs))
        // Namespaces held only by a bind mount or an fd (util-linux 2.39
        // and 2.41 list them by default; 2.38 does not).
        .holders(true);
    let mut snap = match scan::scan(&scan_opts) {
        Ok(snap) => snap,
        Err(e @ scan::ScanError::Mountinfo { .. }) => {
            eprintln!("{prog}: {}", cli::error_line(&e.into()));
            return Ok(Exit(32));
        }
        Err(e) => return Err(e).context("cannot scan processes"),
    };
    if matches!(o.tree, Tree::Owner | Tree::Parent) {
        snap.add_ancestors();
    }
    let view = output::View::new(o, &snap);
    let table = if o.ns != 0 {
        let Some(at) = snap.position(o.ns) else {
            return Err(fail(prog, format_args!("not found namespace: {}", o.ns)));
        };
        view.namespace_processes(at)
    } else {
        view.namespaces()
    };
    let mut out = std::io::stdout().lock();
    match table.print(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(fail(prog, "write error")),
        _ => Ok(Exit::OK),
    }
}
