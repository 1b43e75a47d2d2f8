//! The networking commands, iproute2 style: `netns`, `link`, `addr`,
//! `route`, and `batch` (many of them in one process); and `network`
//! (bridge networks).
//!
//! Each takes leading options `-n NETNS` (act in that named namespace),
//! `-j` (JSON, the shape of `ip -j`), `-4`/`-6` (family), then keyword
//! arguments as `ip` takes them. The work is in `husk_net`.

mod addr;
mod batch;
mod link;
mod netns;
mod network;
mod route;
mod show;

use std::collections::HashMap;
use std::ffi::OsString;

use anyhow::Context;
use husk_net::netns::Registry;
use husk_net::Netlink;

use crate::cli::{self, Outcome, Prog};

pub use batch::run as batch;
pub use network::run as network;

/// Options that come before the words.
#[derive(Debug, Default, Clone)]
pub struct Opts {
    /// `-n NETNS`.
    pub netns: Option<String>,
    /// `-j`.
    pub json: bool,
    /// `-6` (`-4` is the default where a family matters).
    pub v6: bool,
}

/// State shared by the commands of one process: the registry and one
/// netlink socket per namespace, opened on first use.
#[derive(Debug, Default)]
pub struct Ctx {
    pub reg: Registry,
    socks: HashMap<Option<String>, Netlink>,
    /// In `batch`: `netns exec` is refused (it would replace the process).
    pub batch: bool,
    /// The arguments as given (not made UTF-8), for `netns exec` to pass on.
    pub raw: Vec<OsString>,
}

impl Ctx {
    /// The socket for namespace `ns` (`None`: ours).
    pub fn nl(&mut self, ns: Option<&str>) -> anyhow::Result<&mut Netlink> {
        let key = ns.map(str::to_owned);
        if !self.socks.contains_key(&key) {
            let nl = match ns {
                None => Netlink::open()?,
                Some(name) => {
                    let ns = self.reg.open(name)?;
                    Netlink::open_in(&ns)
                        .with_context(|| format!("cannot enter network namespace \"{name}\""))?
                }
            };
            self.socks.insert(key.clone(), nl);
        }
        Ok(self.socks.get_mut(&key).expect("inserted above"))
    }

    /// Forgets the socket of a namespace that is being deleted.
    pub fn forget(&mut self, ns: &str) {
        self.socks.remove(&Some(ns.to_owned()));
    }
}

/// A command body: options, the words after them, and the shared context.
type Body = fn(&Prog, &Opts, &[String], &mut Ctx) -> Outcome;

/// Splits leading options from the words. `Err` is a usage error text.
pub fn split_opts(args: &[String]) -> Result<(Opts, &[String]), String> {
    let mut opts = Opts::default();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-n" | "-netns" | "--netns" => {
                i += 1;
                let ns = args.get(i).ok_or("option requires an argument -- 'n'")?;
                opts.netns = Some(ns.clone());
            }
            "-j" | "-json" | "--json" => opts.json = true,
            "-4" => opts.v6 = false,
            "-6" => opts.v6 = true,
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option {s}")),
            _ => break,
        }
        i += 1;
    }
    Ok((opts, &args[i..]))
}

/// Runs `body` for a command given its argv (argv[0] first).
fn main_of(prog: &Prog, args: Vec<OsString>, usage: &str, body: Body) -> Outcome {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if matches!(
        words.first().map(String::as_str),
        Some("-h" | "--help" | "help")
    ) {
        print!("{}", usage.replace("PROG", prog.name()));
        return Ok(cli::Exit::OK);
    }
    let (opts, rest) = split_opts(&words).map_err(|m| cli::usage_error(prog, m))?;
    let mut ctx = Ctx {
        raw: args.into_iter().skip(1).collect(),
        ..Ctx::default()
    };
    body(prog, &opts, rest, &mut ctx)
}

pub fn netns(prog: &Prog, args: Vec<OsString>) -> Outcome {
    main_of(prog, args, netns::USAGE, netns::run)
}

pub fn link(prog: &Prog, args: Vec<OsString>) -> Outcome {
    main_of(prog, args, link::USAGE, link::run)
}

pub fn addr(prog: &Prog, args: Vec<OsString>) -> Outcome {
    main_of(prog, args, addr::USAGE, addr::run)
}

pub fn route(prog: &Prog, args: Vec<OsString>) -> Outcome {
    main_of(prog, args, route::USAGE, route::run)
}

/// The value after keyword `key`, or a usage error.
fn value<'a>(
    prog: &Prog,
    words: &mut std::slice::Iter<'a, String>,
    key: &str,
) -> anyhow::Result<&'a str> {
    words
        .next()
        .map(String::as_str)
        .ok_or_else(|| cli::usage_error(prog, format!("\"{key}\" needs an argument")))
}

/// The verb's usage error for words it does not know.
fn unknown(prog: &Prog, word: &str) -> anyhow::Error {
    cli::usage_error(prog, format!("unknown argument \"{word}\""))
}

/// `add` (true) or `del` (false) with their abbreviations, as `ip addr` and
/// `ip route` take them; any other verb is a usage error.
fn is_add(prog: &Prog, verb: &str) -> anyhow::Result<bool> {
    match verb {
        "add" | "a" => Ok(true),
        "del" | "delete" | "d" => Ok(false),
        other => Err(cli::usage_error(
            prog,
            format!("unknown command \"{other}\""),
        )),
    }
}
