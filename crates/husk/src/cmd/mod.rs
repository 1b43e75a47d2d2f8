//! One module per command; each parses, calls the library, prints.

use std::ffi::OsString;

use crate::cli::{Outcome, Prog};

mod lsns;
mod net;
mod ns;
mod nsenter;
mod oci;
mod unshare;

/// A command's entry point: its name for messages and argv (argv[0] first).
pub type Run = fn(&Prog, Vec<OsString>) -> (Prog, Outcome);

/// The command called `name`, if there is one.
pub fn lookup(name: &str) -> Option<Run> {
    fn wrap(prog: &Prog, outcome: Outcome) -> (Prog, Outcome) {
        (prog.clone(), outcome)
    }
    Some(match name {
        "unshare" => |p, a| wrap(p, unshare::run(p, a)),
        "nsenter" => |p, a| wrap(p, nsenter::run(p, a)),
        "lsns" => |p, a| wrap(p, lsns::run(p, a)),
        "ns" => |p, a| wrap(p, ns::run(p, a)),
        "netns" => |p, a| wrap(p, net::netns(p, a)),
        "link" => |p, a| wrap(p, net::link(p, a)),
        "addr" => |p, a| wrap(p, net::addr(p, a)),
        "route" => |p, a| wrap(p, net::route(p, a)),
        "batch" => |p, a| wrap(p, net::batch(p, a)),
        "network" => |p, a| wrap(p, net::network(p, a)),
        "oci" | "husk-runc" => oci::run,
        _ => return None,
    })
}
