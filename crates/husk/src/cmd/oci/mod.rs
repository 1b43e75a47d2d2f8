//! `husk oci`: an OCI runtime with runc's command line, for podman,
//! containerd and friends. Global options come first, then the command:
//! `husk oci --root R --log L --log-format json create --bundle B ID`.
//! A link to husk named `husk-runc` is the same as `husk oci`, so it can
//! be given to podman as `--runtime /usr/local/bin/husk-runc`.
//!
//! Each command is a module: parse with getopt, call `husk_runtime`,
//! print. `docs/oci.md` lists what each does, in order.

mod create;
mod delete;
mod exec;
mod kill;
mod list;
mod ops;
mod run;
mod simple;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use husk_runtime::store::Store;

use crate::cli::getopt::{long, Getopt, HasArg, Spec};
use crate::cli::{self, Exit, Outcome, Prog};

const LOG: char = '\u{80}';
const LOG_FORMAT: char = '\u{81}';
const ROOT: char = '\u{82}';
const SYSTEMD: char = '\u{83}';
const CRIU: char = '\u{84}';
const ROOTLESS: char = '\u{85}';
const DEBUG: char = '\u{86}';

/// runc's global options; the first operand (the command) ends them.
const SPEC: Spec = Spec {
    short: "+hv",
    long: &[
        long("debug", HasArg::No, DEBUG),
        long("log", HasArg::Required, LOG),
        long("log-format", HasArg::Required, LOG_FORMAT),
        long("root", HasArg::Required, ROOT),
        long("criu", HasArg::Required, CRIU),
        long("systemd-cgroup", HasArg::No, SYSTEMD),
        long("rootless", HasArg::Required, ROOTLESS),
        long("help", HasArg::No, 'h'),
        long("version", HasArg::No, 'v'),
    ],
};

const USAGE: &str = "\
Usage: {prog} [global options] <command> [options] [args...]

An OCI runtime with runc's command line.

Commands:
  create    create a container (its process waits for start)
  start     run the user process of a created container
  run       create and start a container (waits for it unless --detach)
  state     print the state of a container as JSON
  list      list containers (--format table|json, -q)
  exec      run a process in a container (exits with its status)
  ps        list the processes of a container (--format table|json)
  pause     freeze every process of a container
  resume    thaw a paused container
  update    change a container's cgroup limits (--resources FILE|-, --memory...)
  events    print a container's stats as JSON (--stats once, else every --interval)
  kill      send a signal to a container (--all: every process)
  delete    delete a container (--force: even a running one)
  spec      write a default config.json (--rootless)
  features  print the features of this runtime as JSON

Global options:
  --root DIR          state directory (default /run/husk; rootless $XDG_RUNTIME_DIR/husk)
  --log FILE          also write errors to FILE
  --log-format FMT    text or json (the format containerd and podman read)
  --debug             accepted (nothing more is logged yet)
  --systemd-cgroup    refused: husk manages cgroupfs directly
  -h, --help          this help
  -v, --version       version
";

/// The global options every command sees.
#[derive(Debug)]
pub struct Globals {
    pub store: Store,
    log: Option<PathBuf>,
    json_log: bool,
}

impl Globals {
    /// Writes `msg` to the `--log` file (if any) as runc does: a logrus
    /// text line or a JSON object per line.
    fn log_error(&self, msg: &str) {
        let Some(path) = &self.log else { return };
        let time = husk_runtime::store::now_rfc3339();
        let line = if self.json_log {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level=error msg={msg:?}")
        };
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// `husk oci ARGS...` (or `husk-runc ARGS...`).
pub fn run(prog: &Prog, argv: Vec<OsString>) -> (Prog, Outcome) {
    let (globals, rest) = match parse_globals(prog, argv) {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(exit)) => return (prog.clone(), Ok(exit)),
        Err(e) => return (prog.clone(), Err(e)),
    };
    let Some(name) = rest.first().map(|c| c.to_string_lossy().into_owned()) else {
        return (
            prog.clone(),
            Err(cli::usage_error(prog, "no command given")),
        );
    };
    let sub = Prog::new(&format!("{prog} {name}"));
    let outcome = dispatch(&globals, &sub, &name, rest);
    if let Err(e) = &outcome {
        if e.downcast_ref::<cli::Reported>().is_none() {
            globals.log_error(&cli::error_line(e));
        }
    }
    (sub, outcome)
}

fn dispatch(g: &Globals, prog: &Prog, name: &str, argv: Vec<OsString>) -> Outcome {
    match name {
        "create" => create::run(g, prog, argv),
        "run" => run::run(g, prog, argv),
        "start" => simple::start(g, prog, argv),
        "state" => simple::state(g, prog, argv),
        "spec" => simple::spec(prog, argv),
        "features" => simple::features(prog, argv),
        "list" => list::run(g, prog, argv),
        "kill" => kill::run(g, prog, argv),
        "delete" => delete::run(g, prog, argv),
        "exec" => exec::run(g, prog, argv),
        "ps" => ops::ps(g, prog, argv),
        "pause" => ops::pause(g, prog, argv),
        "resume" => ops::resume(g, prog, argv),
        "update" => ops::update(g, prog, argv),
        "events" => ops::events(g, prog, argv),
        "checkpoint" | "restore" => {
            anyhow::bail!("not implemented yet in husk")
        }
        other => Err(cli::usage_error(
            prog,
            format_args!("unknown command '{other}'"),
        )),
    }
}

type Parsed = (Globals, Vec<OsString>);

fn parse_globals(prog: &Prog, argv: Vec<OsString>) -> anyhow::Result<Result<Parsed, Exit>> {
    let mut root = None;
    let mut log = None;
    let mut json_log = false;
    let mut getopt = Getopt::new(SPEC, argv);
    for item in getopt.by_ref() {
        let (c, arg) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        let arg = arg.unwrap_or_default();
        match c {
            ROOT => root = Some(PathBuf::from(arg)),
            LOG => log = Some(PathBuf::from(arg)).filter(|p| !p.as_os_str().is_empty()),
            LOG_FORMAT => match arg.to_str() {
                Some("json") => json_log = true,
                Some("text") => json_log = false,
                _ => {
                    return Err(cli::usage_error(
                        prog,
                        format_args!("unknown log-format {arg:?}"),
                    ))
                }
            },
            SYSTEMD => anyhow::bail!(
                "--systemd-cgroup: not supported: husk manages cgroupfs directly (no systemd)"
            ),
            DEBUG | CRIU | ROOTLESS => {}
            'h' => {
                print!("{}", USAGE.replace("{prog}", prog.name()));
                return Ok(Err(Exit::OK));
            }
            'v' => {
                println!("{} version {}", prog.command(), env!("CARGO_PKG_VERSION"));
                println!("spec: {}", husk_runtime::spec::SPEC_VERSION);
                return Ok(Err(Exit::OK));
            }
            _ => unreachable!("getopt yields only options of SPEC"),
        }
    }
    let store = Store::new(root.unwrap_or_else(Store::default_root));
    Ok(Ok((
        Globals {
            store,
            log,
            json_log,
        },
        getopt.operands(),
    )))
}

/// The single container id a command takes.
fn one_id(prog: &Prog, operands: &[OsString]) -> anyhow::Result<String> {
    match operands {
        [id] => Ok(id.to_string_lossy().into_owned()),
        [] => Err(cli::usage_error(prog, "container id cannot be empty")),
        _ => Err(cli::usage_error(prog, "too many arguments")),
    }
}

/// A command's own options: its getopt spec, with `-h` handled.
fn options(
    prog: &Prog,
    spec: Spec,
    argv: Vec<OsString>,
    mut on: impl FnMut(char, Option<OsString>) -> anyhow::Result<()>,
) -> anyhow::Result<Option<Vec<OsString>>> {
    let mut getopt = Getopt::new(spec, argv);
    for item in getopt.by_ref() {
        let (c, arg) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        if c == 'h' {
            println!("Usage: {prog} [options] <container-id>");
            return Ok(None);
        }
        on(c, arg)?;
    }
    Ok(Some(getopt.operands()))
}
