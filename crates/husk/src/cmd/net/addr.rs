//! `addr`: IP addresses, as `ip addr` (add, del, show).

use husk_net::addr::parse_cidr;

use super::{is_add, show, unknown, value, Ctx, Opts};
use crate::cli::{self, Exit, Outcome, Prog};

pub const USAGE: &str = "\
Usage: PROG [-n NETNS] { add | del } ADDRESS[/PREFIX] dev DEV [nodad]
       PROG [-n NETNS] [-j] show [dev DEV]
";

pub fn run(prog: &Prog, opts: &Opts, words: &[String], ctx: &mut Ctx) -> Outcome {
    let verb = words.first().map_or("show", String::as_str);
    let args = words.get(1..).unwrap_or_default();
    let mut words = args.iter();
    let show = matches!(verb, "show" | "list" | "ls" | "sh" | "s" | "l");
    let (mut cidr, mut dev, mut nodad) = (None, None, false);
    while let Some(w) = words.next() {
        match w.as_str() {
            "dev" => dev = Some(value(prog, &mut words, "dev")?),
            "local" => cidr = Some(value(prog, &mut words, "local")?),
            "nodad" => nodad = true,
            other if cidr.is_none() && !show => cidr = Some(other),
            other if dev.is_none() && show => dev = Some(other),
            other => return Err(unknown(prog, other)),
        }
    }
    if show {
        return show::links(opts, dev, true, ctx);
    }
    let add = is_add(prog, verb)?;
    let cidr = cidr.ok_or_else(|| cli::usage_error(prog, "no address specified"))?;
    let net = parse_cidr(cidr)?;
    let dev = dev.ok_or_else(|| cli::usage_error(prog, "no device specified (dev DEV)"))?;
    let nl = ctx.nl(opts.netns.as_deref())?;
    let index = nl.link_index(dev)?;
    if add {
        nl.add_address(index, net, nodad)?;
    } else {
        nl.del_address(index, net)?;
    }
    Ok(Exit::OK)
}
