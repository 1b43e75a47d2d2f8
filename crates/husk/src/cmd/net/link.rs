//! `link`: network interfaces, as `ip link` (add veth/bridge, set, del,
//! show).

use anyhow::Context;
use husk_net::link::{LinkChange, NewLink};
use husk_ns::{Namespace, NsKind};

use super::{show, unknown, value, Ctx, Opts};
use crate::cli::{self, Exit, Outcome, Prog};

pub const USAGE: &str = "\
Usage: PROG [-n NETNS] [-j] add [name] NAME type veth peer [name] PEER [netns NS]
       PROG [-n NETNS] add [name] NAME type bridge
       PROG [-n NETNS] set [dev] DEV [up|down] [master BR|nomaster] [netns NS|PID|PATH]
                                     [name NEW] [mtu N]
       PROG [-n NETNS] { del | delete } [dev] DEV
       PROG [-n NETNS] [-j] show [[dev] DEV]
";

pub fn run(prog: &Prog, opts: &Opts, words: &[String], ctx: &mut Ctx) -> Outcome {
    let verb = words.first().map_or("show", String::as_str);
    let args = words.get(1..).unwrap_or_default();
    let ns = opts.netns.as_deref();
    match verb {
        "add" | "a" => add(prog, ns, args, ctx),
        "set" | "s" => set(prog, ns, args, ctx),
        "del" | "delete" | "d" => {
            let dev = dev_arg(prog, args)?;
            ctx.nl(ns)?.del_link(dev)?;
            Ok(Exit::OK)
        }
        "show" | "list" | "ls" | "sh" | "l" => {
            let dev = args.first().map(|_| dev_arg(prog, args)).transpose()?;
            show::links(opts, dev, false, ctx)
        }
        other => Err(cli::usage_error(
            prog,
            format!("unknown command \"{other}\""),
        )),
    }
}

/// `[dev] DEV`, nothing after it.
fn dev_arg<'a>(prog: &Prog, args: &'a [String]) -> anyhow::Result<&'a str> {
    match args {
        [dev] => Ok(dev),
        [kw, dev] if kw == "dev" => Ok(dev),
        [] => Err(cli::usage_error(prog, "no device specified")),
        [.., extra] => Err(unknown(prog, extra)),
    }
}

/// `netns NS` as `ip link` takes it: a path (with `/`), a name under
/// /run/netns, or else a process id.
fn open_ns(ctx: &Ctx, name: &str) -> anyhow::Result<Namespace> {
    if name.contains('/') {
        return Ok(Namespace::open_kind(name, NsKind::Net)?);
    }
    match (ctx.reg.open(name), name.parse::<u32>()) {
        (Ok(ns), _) => Ok(ns),
        (Err(_), Ok(pid)) => Ok(Namespace::open_kind(
            format!("/proc/{pid}/ns/net"),
            NsKind::Net,
        )?),
        (Err(e), Err(_)) => Err(e.into()),
    }
}

fn add(prog: &Prog, ns: Option<&str>, args: &[String], ctx: &mut Ctx) -> Outcome {
    let mut words = args.iter();
    let (mut name, mut kind, mut peer, mut peer_ns) = (None, None, None, None);
    while let Some(w) = words.next() {
        match w.as_str() {
            "name" => name = Some(value(prog, &mut words, "name")?),
            "type" => kind = Some(value(prog, &mut words, "type")?),
            "peer" if kind == Some("veth") => {
                while let Some(p) = words.next() {
                    match p.as_str() {
                        "name" => peer = Some(value(prog, &mut words, "name")?),
                        "netns" => peer_ns = Some(value(prog, &mut words, "netns")?),
                        other if peer.is_none() => peer = Some(other),
                        other => return Err(unknown(prog, other)),
                    }
                }
            }
            other if name.is_none() => name = Some(other),
            other => return Err(unknown(prog, other)),
        }
    }
    let name = name.ok_or_else(|| cli::usage_error(prog, "no link name specified"))?;
    let peer_ns = peer_ns.map(|n| open_ns(ctx, n)).transpose()?;
    let new = match kind {
        Some("bridge") => NewLink::Bridge,
        Some("veth") => NewLink::Veth {
            peer: peer.ok_or_else(|| cli::usage_error(prog, "veth: no peer name specified"))?,
            netns: peer_ns.as_ref(),
        },
        Some(other) => {
            return Err(cli::usage_error(
                prog,
                format!("unsupported link type \"{other}\""),
            ))
        }
        None => {
            return Err(cli::usage_error(
                prog,
                "no link type specified (veth or bridge)",
            ))
        }
    };
    ctx.nl(ns)?.add_link(name, new)?;
    Ok(Exit::OK)
}

fn set(prog: &Prog, ns: Option<&str>, args: &[String], ctx: &mut Ctx) -> Outcome {
    let mut words = args.iter();
    let mut dev = None;
    let mut change = LinkChange::default();
    let (mut master, mut target_ns) = (None, None);
    while let Some(w) = words.next() {
        match w.as_str() {
            "up" => change.up = Some(true),
            "down" => change.up = Some(false),
            "master" => master = Some(Some(value(prog, &mut words, "master")?)),
            "nomaster" => master = Some(None),
            "netns" => target_ns = Some(value(prog, &mut words, "netns")?),
            "name" => change.name = Some(value(prog, &mut words, "name")?.to_owned()),
            "mtu" => {
                let v = value(prog, &mut words, "mtu")?;
                let mtu = v
                    .parse()
                    .map_err(|_| cli::usage_error(prog, format!("invalid mtu \"{v}\"")))?;
                change.mtu = Some(mtu);
            }
            "dev" => dev = Some(value(prog, &mut words, "dev")?),
            other if dev.is_none() => dev = Some(other),
            other => return Err(unknown(prog, other)),
        }
    }
    let dev = dev.ok_or_else(|| cli::usage_error(prog, "no device specified"))?;
    let target = target_ns.map(|n| open_ns(ctx, n)).transpose()?;
    change.netns = target.as_ref();
    let nl = ctx.nl(ns)?;
    change.master = match master {
        Some(Some(br)) => Some(nl.link_index(br).context("master")?),
        Some(None) => Some(0),
        None => None,
    };
    nl.set_link(dev, &change)?;
    Ok(Exit::OK)
}
