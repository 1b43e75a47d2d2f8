//! `husk network` NAT: published ports and masquerade, on packet paths
//! between namespaces the tests create. The "host" is a hub namespace
//! (`--host-netns`); "upstream" is another namespace linked to it by a veth
//! pair. No test traffic goes anywhere else.

mod common;
mod net_support;
mod network_support;

use std::process::Command;

use common::stdout_ok;
use net_support::Netns;
use network_support::{echo_via, listen, Hub};

/// A published port on the gateway address (and any hub address) reaches
/// a TCP listener inside the namespace: from the hub itself (nat output
/// chain) and from another namespace on the network (prerouting, and the
/// hairpin masquerade so the answer comes back through the gateway).
#[test]
fn published_port_reaches_a_listener_inside() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    hub.ok(&["create", "web", "--subnet", "10.84.0.0/24"]);
    let server = Netns::husk("srv");
    let client = Netns::husk("cli");
    hub.ok(&[
        "connect",
        "web",
        "--netns",
        server.name(),
        "--publish",
        "18080:80/tcp",
    ]);
    hub.ok(&["connect", "web", "--netns", client.name()]);
    let dnat = hub.rule_comments();
    assert_eq!(
        dnat.len(),
        4,
        "masquerade, hairpin, prerouting and output dnat: {dnat:?}"
    );
    // From the hub to the gateway address: the listener sees the gateway.
    let peer = echo_via(
        listen(server.name(), "0.0.0.0:80"),
        hub.name(),
        "10.84.0.1:18080",
    );
    assert_eq!(peer.ip().to_string(), "10.84.0.1");
    // From another member through the gateway (hairpin).
    let peer = echo_via(
        listen(server.name(), "0.0.0.0:80"),
        client.name(),
        "10.84.0.1:18080",
    );
    assert_eq!(peer.ip().to_string(), "10.84.0.1");
    // The same port cannot be published twice.
    let other = Netns::husk("m");
    let err = hub.fail(&["connect", "web", "--netns", other.name(), "-p", "18080:81"]);
    assert_eq!(
        err,
        "husk network: connect: port 18080/tcp is already published by network \"web\""
    );
    // Disconnecting the server removes its DNAT rules.
    hub.ok(&["disconnect", "web", "--netns", server.name()]);
    assert_eq!(hub.rule_comments(), ["husk network web"]);
    hub.ok(&["rm", "-f", "web"]);
    hub.finish([server, client, other]);
}

/// An "upstream" namespace linked to the hub by a veth: a connection from
/// a network member arrives with the hub's address (masquerade); from an
/// internal network's member it does not get through (no NAT, and the
/// upstream has no route back).
#[test]
fn masquerade_on_the_way_upstream() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    let upstream = Netns::husk("up");
    hub.ns.run(
        "link",
        &[
            "add",
            "hkup0",
            "type",
            "veth",
            "peer",
            "name",
            "hkup1",
            "netns",
            upstream.name(),
        ],
    );
    hub.ns
        .run("addr", &["add", "10.85.255.1/30", "dev", "hkup0"]);
    hub.ns.run("link", &["set", "hkup0", "up"]);
    upstream.run("addr", &["add", "10.85.255.2/30", "dev", "hkup1"]);
    upstream.run("link", &["set", "hkup1", "up"]);
    hub.ok(&["create", "out", "--subnet", "10.85.0.0/24"]);
    let m = Netns::husk("m");
    hub.ok(&["connect", "out", "--netns", m.name()]);
    let peer = echo_via(
        listen(upstream.name(), "10.85.255.2:9000"),
        m.name(),
        "10.85.255.2:9000",
    );
    assert_eq!(
        peer.ip().to_string(),
        "10.85.255.1",
        "masqueraded to the hub's address"
    );
    // Internal: the SYN reaches upstream unmasqueraded and the answer has
    // no way back, so the connect times out.
    hub.ok(&["create", "int", "--internal", "--subnet", "10.85.1.0/24"]);
    let i = Netns::husk("i");
    hub.ok(&["connect", "int", "--netns", i.name()]);
    let _listener = listen(upstream.name(), "10.85.255.2:9001");
    let addr: std::net::SocketAddr = "10.85.255.2:9001".parse().unwrap();
    let res = net_support::in_netns(i.name(), || {
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500))
    });
    // Timed out, not refused nor unreachable: the SYN went out unNATed.
    assert_eq!(
        res.map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::TimedOut),
        "no NAT on an internal network"
    );
    hub.ok(&["rm", "-f", "out", "int"]);
    stdout_ok(Command::new("ip").args(["-n", hub.name(), "link", "del", "hkup0"]));
    hub.finish([upstream, m, i]);
}
