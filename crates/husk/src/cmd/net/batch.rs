//! `batch FILE`: many networking commands in one process (as `ip -batch`),
//! one per line: `netns add blue`, `link -n blue set lo up`, ... Blank
//! lines and `#` comments are skipped. Stops at the first failure,
//! naming its line. One netlink socket per namespace serves every line.

use std::ffi::OsString;
use std::io::{self, BufRead};

use anyhow::Context;

use super::{split_opts, Ctx};
use crate::cli::{self, Exit, Outcome, Prog};

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    let Some(path) = args.get(1) else {
        return Err(cli::usage_error(
            prog,
            "no batch file specified ('-' for stdin)",
        ));
    };
    let input: Box<dyn BufRead> = if path == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open {}", path.to_string_lossy()))?;
        Box::new(io::BufReader::new(file))
    };
    let mut ctx = Ctx {
        batch: true,
        ..Ctx::default()
    };
    for (n, line) in input.lines().enumerate() {
        let line = line.context("cannot read the batch file")?;
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let Some((cmd, rest)) = words.split_first() else {
            continue;
        };
        if cmd.starts_with('#') {
            continue;
        }
        let sub = Prog::new(&format!("{prog}: line {}: {cmd}", n + 1));
        let (opts, rest) = split_opts(rest).map_err(|m| cli::usage_error(&sub, m))?;
        let body = match cmd.as_str() {
            "netns" => super::netns::run,
            "link" => super::link::run,
            "addr" => super::addr::run,
            "route" => super::route::run,
            other => {
                return Err(cli::usage_error(
                    &sub,
                    format!("unknown command \"{other}\""),
                ))
            }
        };
        body(&sub, &opts, rest, &mut ctx).with_context(|| format!("line {}", n + 1))?;
    }
    Ok(Exit::OK)
}
