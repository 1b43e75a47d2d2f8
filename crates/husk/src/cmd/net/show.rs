//! Printing links, addresses and routes as `ip` prints them (text, or the
//! JSON of `ip -j`).

use std::fmt::Write as _;

use husk_net::addr::Address;
use husk_net::link::Link;
use husk_net::route::Route;
use ipnet::IpNet;
use serde_json::{json, Map, Value};

use super::{Ctx, Opts};
use crate::cli::{Exit, Outcome};

fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn name_of(links: &[Link], index: u32) -> Option<&str> {
    links
        .iter()
        .find(|l| l.index == index)
        .map(|l| l.name.as_str())
}

/// The flags as `ip` prints them: with `M-DOWN` when the peer (in this
/// namespace) is down.
fn flags_of(l: &Link, links: &[Link]) -> Vec<&'static str> {
    let mut flags = l.flag_names();
    if let (Some(p), None) = (l.peer, l.peer_netnsid) {
        if p != l.index && !links.iter().any(|x| x.index == p && x.is_up()) {
            flags.push("M-DOWN");
        }
    }
    flags
}

/// `ip -j link` fields of one link (`with_mode`: `linkmode`, which
/// `ip -j addr` leaves out).
fn link_json(l: &Link, links: &[Link], with_mode: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ifindex".into(), json!(l.index));
    match (l.peer, l.peer_netnsid) {
        (Some(p), Some(id)) => {
            m.insert("link_index".into(), json!(p));
            m.insert("link_netnsid".into(), json!(id));
        }
        (Some(p), None) if p != l.index => {
            if let Some(n) = name_of(links, p) {
                m.insert("link".into(), json!(n));
            }
        }
        _ => {}
    }
    m.insert("ifname".into(), json!(l.name));
    m.insert("flags".into(), json!(flags_of(l, links)));
    m.insert("mtu".into(), json!(l.mtu));
    if let Some(q) = &l.qdisc {
        m.insert("qdisc".into(), json!(q));
    }
    if let Some(master) = l.master.and_then(|i| name_of(links, i)) {
        m.insert("master".into(), json!(master));
    }
    m.insert("operstate".into(), json!(l.operstate));
    if with_mode {
        m.insert("linkmode".into(), json!(l.mode));
    }
    m.insert("group".into(), json!(group(l.group)));
    if let Some(q) = l.txqlen {
        m.insert("txqlen".into(), json!(q));
    }
    m.insert("link_type".into(), json!(l.link_type_name()));
    if !l.address.is_empty() {
        m.insert("address".into(), json!(mac(&l.address)));
        m.insert("broadcast".into(), json!(mac(&l.broadcast)));
    }
    m
}

/// The two `ip link` lines of one link.
fn group(g: u32) -> String {
    if g == 0 {
        "default".into()
    } else {
        g.to_string()
    }
}

/// `with_mode`: `ip link` prints the link mode, `ip addr` does not.
fn link_text(l: &Link, links: &[Link], ns_names: &[(i32, String)], with_mode: bool) -> String {
    let peer = match (l.peer, l.peer_netnsid) {
        (Some(p), Some(_)) => format!("@if{p}"),
        (Some(p), None) if p != l.index => name_of(links, p)
            .map(|n| format!("@{n}"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut s = format!(
        "{}: {}{}: <{}> mtu {}",
        l.index,
        l.name,
        peer,
        flags_of(l, links).join(","),
        l.mtu
    );
    if let Some(q) = &l.qdisc {
        let _ = write!(s, " qdisc {q}");
    }
    if let Some(master) = l.master.and_then(|i| name_of(links, i)) {
        let _ = write!(s, " master {master}");
    }
    let _ = write!(s, " state {}", l.operstate);
    if with_mode {
        let _ = write!(s, " mode {}", l.mode);
    }
    let _ = write!(s, " group {}", group(l.group));
    if let Some(q) = l.txqlen {
        let _ = write!(s, " qlen {q}");
    }
    let _ = write!(s, "\n    link/{}", l.link_type_name());
    if !l.address.is_empty() {
        let _ = write!(s, " {} brd {}", mac(&l.address), mac(&l.broadcast));
    }
    if let Some(id) = l.peer_netnsid {
        // As ip: the name of the peer's namespace when one has this id.
        match ns_names.iter().find(|(i, _)| *i == id) {
            Some((_, name)) => {
                let _ = write!(s, " link-netns {name}");
            }
            None => {
                let _ = write!(s, " link-netnsid {id}");
            }
        }
    }
    s
}

fn family(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "inet",
        IpNet::V6(_) => "inet6",
    }
}

fn addr_json(a: &Address) -> Value {
    let mut m = Map::new();
    m.insert("family".into(), json!(family(&a.net)));
    m.insert("local".into(), json!(a.net.addr().to_string()));
    m.insert("prefixlen".into(), json!(a.net.prefix_len()));
    if let Some(b) = a.broadcast {
        m.insert("broadcast".into(), json!(b.to_string()));
    }
    m.insert("scope".into(), json!(a.scope));
    for f in a.flag_names() {
        m.insert(f.into(), json!(true));
    }
    if let Some(l) = &a.label {
        m.insert("label".into(), json!(l));
    }
    if let Some((valid, preferred)) = a.lifetimes {
        m.insert("valid_life_time".into(), json!(valid));
        m.insert("preferred_life_time".into(), json!(preferred));
    }
    Value::Object(m)
}

fn addr_text(a: &Address) -> String {
    let mut s = format!("    {} {}", family(&a.net), a.net);
    if let Some(b) = a.broadcast {
        let _ = write!(s, " brd {b}");
    }
    let _ = write!(s, " scope {}", a.scope);
    for f in a.flag_names() {
        let _ = write!(s, " {f}");
    }
    match &a.label {
        Some(l) => {
            let _ = write!(s, " {l}");
        }
        // ip ends an unlabelled (IPv6) line with the space after the flags.
        None => s.push(' '),
    }
    let life = |t: u32| {
        if t == u32::MAX {
            "forever".to_owned()
        } else {
            format!("{t}sec")
        }
    };
    if let Some((valid, preferred)) = a.lifetimes {
        let _ = write!(
            s,
            "\n       valid_lft {} preferred_lft {}",
            life(valid),
            life(preferred)
        );
    }
    s
}

/// The ids the namespace `nl` is in gives the named namespaces.
fn netns_ids(nl: &mut husk_net::Netlink, reg: &husk_net::netns::Registry) -> Vec<(i32, String)> {
    let names = reg.list().unwrap_or_default();
    names
        .into_iter()
        .filter_map(|n| Some((reg.nsid(nl, &n).ok()??, n)))
        .collect()
}

/// `link show` (`with_addrs`: `addr show`), all links or one.
pub fn links(opts: &Opts, dev: Option<&str>, with_addrs: bool, ctx: &mut Ctx) -> Outcome {
    let reg = ctx.reg.clone();
    let nl = ctx.nl(opts.netns.as_deref())?;
    let all = nl.links()?;
    let shown: Vec<&Link> = match dev {
        Some(d) => vec![all
            .iter()
            .find(|l| l.name == d)
            .ok_or_else(|| husk_net::link::LinkError::NotFound(d.to_owned()))?],
        None => all.iter().collect(),
    };
    let addrs = if with_addrs {
        nl.addresses()?
    } else {
        Vec::new()
    };
    let ns_names = if !opts.json && shown.iter().any(|l| l.peer_netnsid.is_some()) {
        netns_ids(nl, &reg)
    } else {
        Vec::new()
    };
    let mine = |l: &Link| {
        let index = l.index;
        addrs.iter().filter(move |a| a.index == index)
    };
    if opts.json {
        let doc: Vec<Value> = shown
            .iter()
            .map(|l| {
                let mut m = link_json(l, &all, !with_addrs);
                if with_addrs {
                    m.insert("addr_info".into(), mine(l).map(addr_json).collect());
                }
                Value::Object(m)
            })
            .collect();
        println!("{}", Value::from(doc));
    } else {
        for l in shown {
            println!("{}", link_text(l, &all, &ns_names, !with_addrs));
            for a in mine(l) {
                println!("{}", addr_text(a));
            }
        }
    }
    Ok(Exit::OK)
}

fn route_json(r: &Route, links: &[Link]) -> Value {
    let mut m = Map::new();
    m.insert(
        "dst".into(),
        json!(r.dst.map_or("default".to_owned(), |d| d.to_string())),
    );
    if let Some(g) = r.gateway {
        m.insert("gateway".into(), json!(g.to_string()));
    }
    if let Some(d) = r.dev.and_then(|i| name_of(links, i)) {
        m.insert("dev".into(), json!(d));
    }
    if r.protocol != "boot" {
        m.insert("protocol".into(), json!(r.protocol));
    }
    if r.scope != "global" {
        m.insert("scope".into(), json!(r.scope));
    }
    if let Some(p) = r.prefsrc {
        m.insert("prefsrc".into(), json!(p.to_string()));
    }
    if let Some(p) = r.metric {
        m.insert("metric".into(), json!(p));
    }
    m.insert("flags".into(), json!([]));
    Value::Object(m)
}

fn route_text(r: &Route, links: &[Link]) -> String {
    let mut s = r.dst.map_or("default".to_owned(), |d| d.to_string());
    if let Some(g) = r.gateway {
        let _ = write!(s, " via {g}");
    }
    if let Some(d) = r.dev.and_then(|i| name_of(links, i)) {
        let _ = write!(s, " dev {d}");
    }
    if r.protocol != "boot" {
        let _ = write!(s, " proto {}", r.protocol);
    }
    if r.scope != "global" {
        let _ = write!(s, " scope {}", r.scope);
    }
    if let Some(p) = r.prefsrc {
        let _ = write!(s, " src {p}");
    }
    if let Some(p) = r.metric {
        let _ = write!(s, " metric {p}");
    }
    s
}

/// `route show` for the family `-4`/`-6` picks.
pub fn routes(opts: &Opts, ctx: &mut Ctx) -> Outcome {
    let nl = ctx.nl(opts.netns.as_deref())?;
    let links = nl.links()?;
    let routes = nl.routes(opts.v6)?;
    if opts.json {
        let doc: Vec<Value> = routes.iter().map(|r| route_json(r, &links)).collect();
        println!("{}", Value::from(doc));
    } else {
        for r in &routes {
            println!("{}", route_text(r, &links));
        }
    }
    Ok(Exit::OK)
}
