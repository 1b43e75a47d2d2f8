//! `create [--bundle B] [--pid-file F] [--no-pivot] [--preserve-fds N] ID`.

use std::ffi::OsString;
use std::path::PathBuf;

use husk_runtime::container::{self, CreateOptions};

use super::{one_id, options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{Exit, Outcome, Prog};

const PID_FILE: char = '\u{80}';
const CONSOLE: char = '\u{81}';
const NO_PIVOT: char = '\u{82}';
const NO_KEYRING: char = '\u{83}';
const PRESERVE: char = '\u{84}';
const DETACH: char = 'd';

/// Options of `create` (and `run`, which adds `--detach`).
pub(super) const SPEC: Spec = Spec {
    short: "b:hd",
    long: &[
        long("bundle", HasArg::Required, 'b'),
        long("pid-file", HasArg::Required, PID_FILE),
        long("console-socket", HasArg::Required, CONSOLE),
        long("no-pivot", HasArg::No, NO_PIVOT),
        long("no-new-keyring", HasArg::No, NO_KEYRING),
        long("preserve-fds", HasArg::Required, PRESERVE),
        long("detach", HasArg::No, DETACH),
        long("help", HasArg::No, 'h'),
    ],
};

/// Parses `create`/`run` options; `Ok(None)` after `--help`.
pub(super) fn parse(
    prog: &Prog,
    argv: Vec<OsString>,
) -> anyhow::Result<Option<(CreateOptions, bool)>> {
    let mut opts = CreateOptions::new("", ".");
    let mut detach = false;
    let operands = options(prog, SPEC, argv, |c, arg| {
        let arg = arg.unwrap_or_default();
        match c {
            'b' => opts.bundle = PathBuf::from(arg),
            PID_FILE => opts.pid_file = Some(std::path::absolute(arg)?),
            CONSOLE => opts.console_socket = Some(std::path::absolute(arg)?),
            NO_PIVOT => opts.no_pivot = true,
            PRESERVE => {
                opts.preserve_fds = arg
                    .to_string_lossy()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--preserve-fds: not a number: {arg:?}"))?
            }
            DETACH => detach = true,
            _ => {}
        }
        Ok(())
    })?;
    let Some(operands) = operands else {
        return Ok(None);
    };
    opts.id = one_id(prog, &operands)?;
    Ok(Some((opts, detach)))
}

pub(super) fn run(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let Some((opts, _)) = parse(prog, argv)? else {
        return Ok(Exit::OK);
    };
    container::create(&g.store, &opts)?;
    Ok(Exit::OK)
}
