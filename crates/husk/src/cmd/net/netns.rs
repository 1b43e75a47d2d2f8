//! `netns`: named network namespaces, as `ip netns` (same files under
//! `/run/netns`, same output).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde_json::json;

use super::{Ctx, Opts};
use crate::cli::{self, Exit, Outcome, Prog};

pub const USAGE: &str = "\
Usage: PROG [-j] { list | add NAME | attach NAME PID | set NAME NETNSID|auto }
       PROG { del | delete } NAME
       PROG identify [PID]
       PROG pids NAME
       PROG exec NAME COMMAND [ARGS]...
Named network namespaces under /run/netns, shared with ip-netns(8).
";

pub fn run(prog: &Prog, opts: &Opts, words: &[String], ctx: &mut Ctx) -> Outcome {
    let verb = words.first().map_or("list", String::as_str);
    let args = words.get(1..).unwrap_or_default();
    let name = || {
        args.first()
            .map(String::as_str)
            .ok_or_else(|| cli::usage_error(prog, format!("{verb}: no namespace name specified")))
    };
    match verb {
        "list" | "show" | "ls" => list(opts, ctx),
        "add" => {
            let name = name()?;
            ctx.reg
                .add(name)
                .with_context(|| format!("cannot add {name}"))?;
            Ok(Exit::OK)
        }
        "del" | "delete" => {
            let name = name()?;
            ctx.forget(name);
            ctx.reg
                .delete(name)
                .with_context(|| format!("cannot delete {name}"))?;
            Ok(Exit::OK)
        }
        "attach" => {
            let name = name()?;
            let pid = parse_pid(prog, args.get(1).map(String::as_str))?;
            ctx.reg
                .attach(name, pid)
                .with_context(|| format!("cannot attach process {pid} as {name}"))?;
            Ok(Exit::OK)
        }
        "set" => set(prog, name()?, args.get(1).map(String::as_str), ctx),
        "identify" => {
            let pid = match args.first() {
                None => std::process::id(),
                Some(p) => parse_pid(prog, Some(p))?,
            };
            for name in ctx.reg.identify(pid)? {
                println!("{name}");
            }
            Ok(Exit::OK)
        }
        "pids" => {
            for pid in ctx.reg.pids(name()?, Path::new("/proc"))? {
                println!("{pid}");
            }
            Ok(Exit::OK)
        }
        "exec" => exec(prog, name()?, &args[1..], ctx),
        other => Err(cli::usage_error(
            prog,
            format!("unknown command \"{other}\""),
        )),
    }
}

fn parse_pid(prog: &Prog, text: Option<&str>) -> anyhow::Result<u32> {
    let text = text.ok_or_else(|| cli::usage_error(prog, "no process id specified"))?;
    text.parse()
        .map_err(|_| cli::usage_error(prog, format!("invalid process id \"{text}\"")))
}

/// `NAME (id: N)` per namespace, or `[{"name":..,"id":..}]` with `-j`.
fn list(opts: &Opts, ctx: &mut Ctx) -> Outcome {
    let names = ctx.reg.list()?;
    let mut rows = Vec::new();
    for name in names {
        // A stale file (not a namespace) is listed without an id, as ip does.
        let id = match ctx.reg.open(&name) {
            Ok(_) => {
                let reg = ctx.reg.clone();
                reg.nsid(ctx.nl(None)?, &name).unwrap_or(None)
            }
            Err(_) => None,
        };
        rows.push((name, id));
    }
    if opts.json {
        let doc: Vec<_> = rows
            .iter()
            .map(|(n, id)| match id {
                Some(id) => json!({"name": n, "id": id}),
                None => json!({"name": n}),
            })
            .collect();
        println!("{}", serde_json::Value::from(doc));
    } else {
        for (name, id) in rows {
            match id {
                Some(id) => println!("{name} (id: {id})"),
                None => println!("{name}"),
            }
        }
    }
    Ok(Exit::OK)
}

fn set(prog: &Prog, name: &str, id: Option<&str>, ctx: &mut Ctx) -> Outcome {
    let id = id.ok_or_else(|| cli::usage_error(prog, "no netns id specified"))?;
    let nsid = match id {
        "auto" => None,
        n => Some(
            n.parse::<u32>()
                .ok()
                .filter(|&n| i32::try_from(n).is_ok())
                .ok_or_else(|| cli::usage_error(prog, format!("invalid netns id \"{n}\"")))?,
        ),
    };
    let reg = ctx.reg.clone();
    reg.set_nsid(ctx.nl(None)?, name, nsid)
        .with_context(|| format!("cannot set the id of {name}"))?;
    Ok(Exit::OK)
}

/// Enters the namespace as `ip netns exec` does, then replaces husk with
/// the command.
fn exec(prog: &Prog, name: &str, cmd: &[String], ctx: &Ctx) -> Outcome {
    if ctx.batch {
        anyhow::bail!("exec is not allowed in batch mode");
    }
    // The command's words exactly as given: the tail of the raw arguments.
    let raw = ctx
        .raw
        .get(ctx.raw.len().saturating_sub(cmd.len())..)
        .unwrap_or_default();
    let (program, args) = raw
        .split_first()
        .ok_or_else(|| cli::usage_error(prog, "exec: no command specified"))?;
    let warnings = ctx
        .reg
        .enter_for_exec(name)
        .with_context(|| format!("cannot enter {name}"))?;
    for w in warnings {
        eprintln!("{prog}: {w}");
    }
    let err = Command::new(program).args(args).exec();
    Err(err).with_context(|| format!("exec of \"{}\" failed", program.to_string_lossy()))
}
