//! `route`: the main routing table, as `ip route` (add, del, show).

use husk_net::addr::parse_cidr;
use husk_net::route::RouteSpec;
use ipnet::IpNet;

use super::{is_add, show, unknown, value, Ctx, Opts};
use crate::cli::{self, Exit, Outcome, Prog};

pub const USAGE: &str = "\
Usage: PROG [-n NETNS] [-6] { add | del } { default | PREFIX } [via GATEWAY] [dev DEV]
       PROG [-n NETNS] [-4|-6] [-j] show
";

pub fn run(prog: &Prog, opts: &Opts, words: &[String], ctx: &mut Ctx) -> Outcome {
    let verb = words.first().map_or("show", String::as_str);
    let args = words.get(1..).unwrap_or_default();
    if matches!(verb, "show" | "list" | "ls" | "sh" | "s" | "l") {
        if let Some(extra) = args.first() {
            return Err(unknown(prog, extra));
        }
        return show::routes(opts, ctx);
    }
    let add = is_add(prog, verb)?;
    let mut words = args.iter();
    let mut spec = RouteSpec {
        dst: None,
        via: None,
        dev: None,
        v6: opts.v6,
    };
    let (mut dst_seen, mut dev) = (false, None);
    while let Some(w) = words.next() {
        match w.as_str() {
            "via" => {
                let gw = value(prog, &mut words, "via")?;
                let ip = parse_cidr(gw)?;
                spec.via = Some(ip.addr());
            }
            "dev" | "oif" => dev = Some(value(prog, &mut words, "dev")?),
            "default" if !dst_seen => dst_seen = true,
            "to" if !dst_seen => {}
            other if !dst_seen => {
                dst_seen = true;
                let net: IpNet = parse_cidr(other)?;
                spec.dst = Some(net);
            }
            other => return Err(unknown(prog, other)),
        }
    }
    if !dst_seen {
        return Err(cli::usage_error(
            prog,
            "no destination specified (default or PREFIX)",
        ));
    }
    let nl = ctx.nl(opts.netns.as_deref())?;
    spec.dev = dev.map(|d| nl.link_index(d)).transpose()?;
    if add {
        nl.add_route(&spec)?;
    } else {
        nl.del_route(&spec)?;
    }
    Ok(Exit::OK)
}
