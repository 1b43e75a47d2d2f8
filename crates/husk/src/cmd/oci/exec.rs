//! `exec [options] ID COMMAND [ARGS...]`: run a process in a container;
//! exits with its status (128+N for signal N) unless `--detach`.

use std::ffi::OsString;
use std::path::PathBuf;

use husk_runtime::container::{self, Ended, ExecOptions};

use super::{options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{self, Exit, Outcome, Prog};

const PID_FILE: char = '\u{80}';
const CONSOLE: char = '\u{81}';
const CWD: char = '\u{82}';
const NO_NEW_PRIVS: char = '\u{83}';
const IGNORED: char = '\u{84}';
const GIDS: char = 'g';

/// runc's `exec` options; `+`: the first operand (the id) ends them, so
/// the command's own options are left alone.
const SPEC: Spec = Spec {
    short: "+p:e:u:c:g:dth",
    long: &[
        long("process", HasArg::Required, 'p'),
        long("env", HasArg::Required, 'e'),
        long("cwd", HasArg::Required, CWD),
        long("user", HasArg::Required, 'u'),
        long("additional-gids", HasArg::Required, GIDS),
        long("cap", HasArg::Required, 'c'),
        long("no-new-privs", HasArg::No, NO_NEW_PRIVS),
        long("detach", HasArg::No, 'd'),
        long("pid-file", HasArg::Required, PID_FILE),
        long("tty", HasArg::No, 't'),
        long("console-socket", HasArg::Required, CONSOLE),
        long("apparmor", HasArg::Required, IGNORED),
        long("process-label", HasArg::Required, IGNORED),
        long("preserve-fds", HasArg::Required, IGNORED),
        long("ignore-paused", HasArg::No, IGNORED),
        long("cgroup", HasArg::Required, IGNORED),
        long("help", HasArg::No, 'h'),
    ],
};

fn parse_id(what: &str, s: &str) -> anyhow::Result<u32> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("--{what}: not a numeric id: {s:?}"))
}

/// `UID[:GID]`, numeric as runc requires (no passwd lookup in the container).
fn parse_user(s: &str) -> anyhow::Result<(u32, Option<u32>)> {
    match s.split_once(':') {
        Some((u, g)) => Ok((parse_id("user", u)?, Some(parse_id("user", g)?))),
        None => Ok((parse_id("user", s)?, None)),
    }
}

fn parse(prog: &Prog, argv: Vec<OsString>) -> anyhow::Result<Option<ExecOptions>> {
    let mut o = ExecOptions::default();
    let operands = options(prog, SPEC, argv, |c, arg| {
        let arg = arg.unwrap_or_default();
        let text = arg.to_string_lossy().into_owned();
        match c {
            'p' => o.process = Some(PathBuf::from(arg)),
            'e' => o.env.push(text),
            CWD => o.cwd = Some(PathBuf::from(arg)),
            'u' => o.user = Some(parse_user(&text)?),
            GIDS => o.additional_gids.push(parse_id("additional-gids", &text)?),
            'c' => o.caps.push(text),
            NO_NEW_PRIVS => o.no_new_privs = true,
            'd' => o.detach = true,
            PID_FILE => o.pid_file = Some(std::path::absolute(arg)?),
            't' => o.tty = true,
            CONSOLE => o.console_socket = Some(std::path::absolute(arg)?),
            _ => {}
        }
        Ok(())
    })?;
    let Some(operands) = operands else {
        return Ok(None);
    };
    let mut rest = operands
        .into_iter()
        .map(|s| s.to_string_lossy().into_owned());
    o.id = rest
        .next()
        .ok_or_else(|| cli::usage_error(prog, "container id cannot be empty"))?;
    o.args = rest.collect();
    if o.args.is_empty() && o.process.is_none() {
        return Err(cli::usage_error(prog, "exec: no command given"));
    }
    Ok(Some(o))
}

pub(super) fn run(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let Some(opts) = parse(prog, argv)? else {
        return Ok(Exit::OK);
    };
    Ok(match container::exec(&g.store, &opts)? {
        None => Exit::OK,
        Some(Ended::Exited(code)) => Exit(u8::try_from(code & 0xff).unwrap_or(1)),
        Some(Ended::Signaled(sig)) => Exit(u8::try_from((128 + sig) & 0xff).unwrap_or(1)),
    })
}
