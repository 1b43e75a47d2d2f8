//! NAT for husk networks: one nftables table, `inet husk`, rebuilt from the
//! networks' state in one atomic `nft -j -f -` transaction (through the
//! `nftables` crate, as podman's netavark does; netlink has no builder for
//! nat expressions).
//!
//! The table holds three NAT base chains and, per network:
//! - `postrouting` (srcnat, priority 100): unless the network is internal,
//!   `ip saddr SUBNET ip daddr != SUBNET masquerade` (and the same for its
//!   IPv6 subnet): outbound traffic leaves with the host's address;
//!   with published ports, `oifname BRIDGE ct status dnat ip saddr SUBNET
//!   masquerade`, so a namespace reaching a published port of another one
//!   through the gateway (hairpin) gets the answer back through the host;
//! - `prerouting` and `output` (dstnat, priority -100): per published port,
//!   `meta nfproto ipv4 fib daddr type local PROTO dport HOST dnat ip to
//!   ADDR:PORT`: any local address of the host, the gateway included, from
//!   outside (`prerouting`) and from the host itself (`output`).
//!
//! Every rule carries the comment `husk network NAME`. The transaction
//! first adds and deletes the table (so it starts from nothing whether or
//! not it existed), then adds what the networks need; with nothing to add
//! the table is simply gone. Rebuilding from state also reconciles: a rule
//! of a network that no longer exists cannot survive the next change.

use std::borrow::Cow;
use std::collections::HashSet;

use ipnet::IpNet;
use nftables::batch::Batch;
use nftables::expr::{
    Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix, CT,
};
use nftables::helper::{apply_ruleset_raw, NftablesError, DEFAULT_ARGS, DEFAULT_NFT};
use nftables::schema::{Chain, NfListObject, Nftables, Rule, Table};
use nftables::stmt::{Match, NATFamily, Operator, Statement, NAT};
use nftables::types::{NfChainType, NfFamily, NfHook};

use crate::state::{NetworkState, Publish};

/// The table's name (family `inet`).
pub const TABLE: &str = "husk";

/// Why the rules could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum NatError {
    /// `nft` could not be run.
    #[error("cannot run nft")]
    Run(#[source] std::io::Error),
    /// `nft` refused the rules.
    #[error("nft refused the rules: {0}")]
    Refused(String),
    /// Anything else the nftables crate reports.
    #[error(transparent)]
    Other(NftablesError),
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.into(),
            field: field.into(),
        },
    )))
}

fn prefix(net: IpNet) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(Expression::String(net.network().to_string().into())),
        len: u32::from(net.prefix_len()),
    }))
}

fn matches(
    left: Expression<'static>,
    op: Operator,
    right: Expression<'static>,
) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}

fn string(s: impl Into<Cow<'static, str>>) -> Expression<'static> {
    Expression::String(s.into())
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

/// The IPv4 or IPv6 header name for a subnet.
fn l3(net: IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "ip",
        IpNet::V6(_) => "ip6",
    }
}

/// `ip saddr NET ip daddr != NET masquerade`.
fn masquerade_out(net: IpNet) -> Vec<Statement<'static>> {
    vec![
        matches(payload(l3(net), "saddr"), Operator::EQ, prefix(net)),
        matches(payload(l3(net), "daddr"), Operator::NEQ, prefix(net)),
        Statement::Masquerade(None),
    ]
}

/// `oifname BRIDGE ct status dnat ip saddr NET masquerade`.
fn masquerade_hairpin(bridge: &str, net: IpNet) -> Vec<Statement<'static>> {
    let ct = Expression::Named(NamedExpression::CT(CT {
        key: "status".into(),
        family: None,
        dir: None,
    }));
    vec![
        matches(
            meta(MetaKey::Oifname),
            Operator::EQ,
            string(bridge.to_owned()),
        ),
        matches(ct, Operator::IN, string("dnat")),
        matches(payload(l3(net), "saddr"), Operator::EQ, prefix(net)),
        Statement::Masquerade(None),
    ]
}

/// `meta nfproto ipv4 fib daddr type local PROTO dport HOST dnat ip to ADDR:PORT`.
fn dnat(p: &Publish, to: std::net::IpAddr) -> Vec<Statement<'static>> {
    let fib = Expression::Named(NamedExpression::Fib(Fib {
        result: FibResult::Type,
        flags: HashSet::from([FibFlag::Daddr]),
    }));
    vec![
        matches(meta(MetaKey::Nfproto), Operator::EQ, string("ipv4")),
        matches(fib, Operator::EQ, string("local")),
        matches(
            payload(p.proto.as_str(), "dport"),
            Operator::EQ,
            Expression::Number(u32::from(p.host_port)),
        ),
        Statement::DNAT(Some(NAT {
            addr: Some(string(to.to_string())),
            family: Some(NATFamily::IP),
            port: Some(Expression::Number(u32::from(p.container_port))),
            flags: None,
        })),
    ]
}

fn table() -> Table<'static> {
    Table {
        family: NfFamily::INet,
        name: TABLE.into(),
        handle: None,
    }
}

fn base_chain(name: &'static str, hook: NfHook, prio: i32) -> NfListObject<'static> {
    NfListObject::Chain(Chain {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        _type: Some(NfChainType::NAT),
        hook: Some(hook),
        prio: Some(prio),
        ..Chain::default()
    })
}

/// The rules the networks need, as (chain, network name, statements).
fn rules(nets: &[NetworkState]) -> Vec<(&'static str, String, Vec<Statement<'static>>)> {
    let mut out = Vec::new();
    for n in nets {
        if !n.internal {
            out.push(("postrouting", n.name.clone(), masquerade_out(n.subnet)));
            if let Some(s6) = n.subnet6 {
                out.push(("postrouting", n.name.clone(), masquerade_out(s6)));
            }
        }
        let publishes: Vec<_> = n
            .endpoints
            .iter()
            .flat_map(|e| e.publish.iter().map(move |p| (p, e.ip)))
            .collect();
        if !publishes.is_empty() {
            out.push((
                "postrouting",
                n.name.clone(),
                masquerade_hairpin(&n.bridge, n.subnet),
            ));
        }
        for (p, ip) in publishes {
            for chain in ["prerouting", "output"] {
                out.push((chain, n.name.clone(), dnat(p, ip)));
            }
        }
    }
    out
}

/// The whole transaction for `nets`: the table emptied (or removed), then
/// rebuilt with what the networks need.
pub fn ruleset(nets: &[NetworkState]) -> Nftables<'static> {
    let mut batch = Batch::new();
    // `add` is idempotent, so the `delete` never fails on a missing table.
    batch.add(NfListObject::Table(table()));
    batch.delete(NfListObject::Table(table()));
    let rules = rules(nets);
    if !rules.is_empty() {
        batch.add(NfListObject::Table(table()));
        batch.add(base_chain("prerouting", NfHook::Prerouting, -100));
        batch.add(base_chain("output", NfHook::Output, -100));
        batch.add(base_chain("postrouting", NfHook::Postrouting, 100));
        for (chain, net, expr) in rules {
            batch.add(NfListObject::Rule(Rule {
                family: NfFamily::INet,
                table: TABLE.into(),
                chain: chain.into(),
                expr: expr.into(),
                comment: Some(format!("husk network {net}").into()),
                ..Rule::default()
            }));
        }
    }
    batch.to_nftables()
}

/// Applies [`ruleset`] with `nft -j -f -`, in the calling process's
/// network namespace.
pub fn apply(nets: &[NetworkState]) -> Result<(), NatError> {
    let json = serde_json::to_string(&ruleset(nets)).expect("rules serialize");
    match apply_ruleset_raw(&json, DEFAULT_NFT, DEFAULT_ARGS) {
        Ok(_) => Ok(()),
        Err(NftablesError::NftExecution { inner, .. }) => Err(NatError::Run(inner)),
        Err(NftablesError::NftFailed { stderr, .. }) => {
            let line = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(NatError::Refused(line.trim().to_owned()))
        }
        Err(other) => Err(NatError::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Endpoint, Proto};

    fn net(name: &str, internal: bool, publish: bool) -> NetworkState {
        NetworkState {
            name: name.into(),
            bridge: format!("husk-{name}"),
            subnet: "10.89.0.0/24".parse().unwrap(),
            gateway: "10.89.0.1".parse().unwrap(),
            subnet6: None,
            gateway6: None,
            internal,
            endpoints: vec![Endpoint {
                netns: "x".into(),
                ns_dev: 1,
                ns_ino: 2,
                host_veth: "hk1".into(),
                ifname: "eth0".into(),
                ip: "10.89.0.2".parse().unwrap(),
                ip6: None,
                publish: if publish {
                    vec![Publish {
                        host_port: 8080,
                        container_port: 80,
                        proto: Proto::Tcp,
                    }]
                } else {
                    vec![]
                },
            }],
        }
    }

    /// The rules among the document's `add` commands, in order.
    fn added_rules(doc: &serde_json::Value) -> Vec<&serde_json::Value> {
        doc["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["add"].get("rule"))
            .collect()
    }

    fn json(nets: &[NetworkState]) -> serde_json::Value {
        serde_json::to_value(ruleset(nets)).unwrap()
    }

    #[test]
    fn no_rules_means_the_table_is_removed() {
        let doc = json(&[net("a", true, false)]);
        let cmds = doc["nftables"].as_array().unwrap();
        assert_eq!(cmds.len(), 2, "{doc}");
        assert!(cmds[1]["delete"]["table"]["name"] == "husk");
    }

    #[test]
    fn masquerade_and_publish_rules_in_libnftables_json() {
        let doc = json(&[net("a", false, true)]);
        let text = doc.to_string();
        let rules = added_rules(&doc);
        // masquerade, hairpin, dnat in prerouting and output.
        assert_eq!(rules.len(), 4, "{text}");
        assert!(rules.iter().all(|r| r["comment"] == "husk network a"));
        assert!(rules[0]["expr"][2].get("masquerade").is_some(), "{text}");
        assert_eq!(rules[0]["expr"][1]["match"]["op"], "!=");
        assert_eq!(
            rules[0]["expr"][0]["match"]["right"]["prefix"]["addr"],
            "10.89.0.0"
        );
        let dnat = &rules[2]["expr"][3]["dnat"];
        assert_eq!(dnat["addr"], "10.89.0.2");
        assert_eq!(dnat["port"], 80);
        assert_eq!(dnat["family"], "ip");
        assert_eq!(rules[2]["expr"][2]["match"]["right"], 8080);
    }

    #[test]
    fn an_internal_network_has_no_masquerade() {
        let doc = json(&[net("i", true, false), net("o", false, false)]);
        let rules = added_rules(&doc);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["comment"], "husk network o");
    }
}
