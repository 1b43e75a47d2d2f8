//! `husk network`: create, connect, disconnect, rm, ls, inspect, checked
//! with the real `ip` and with TCP between namespaces the tests create.
//! Each test's networks live in a hub namespace of its own
//! (`--host-netns`) with a private state directory: the host's links and
//! nftables tables are never touched, and nothing leaves the namespaces.

mod common;
mod net_support;
mod network_support;

use std::process::Command;

use common::{output, stdout_ok, ChildGuard};
use net_support::{tcp_echo, Netns};
use network_support::{ipv4_of, Hub};

/// The seeds' bridge recipe as one create and three connects: the three
/// namespaces reach each other and the gateway; `ip` sees what husk made.
#[test]
fn three_namespaces_reach_each_other_and_the_gateway() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    hub.ok(&["create", "n1", "--subnet", "10.77.0.0/24"]);
    let members: Vec<Netns> = (0..3).map(|_| Netns::husk("m")).collect();
    for m in &members {
        hub.ok(&["connect", "n1", "--netns", m.name()]);
    }
    // Addresses in order after the gateway; routes via the gateway.
    let gw = "10.77.0.1";
    for (i, m) in members.iter().enumerate() {
        assert_eq!(
            ipv4_of(m, "eth0").as_deref(),
            Some(format!("10.77.0.{}", i + 2).as_str())
        );
        let route = m.ip_json(&["route", "show", "default"]);
        assert_eq!(route[0]["gateway"], gw);
        assert_eq!(route[0]["dev"], "eth0");
        let lo = m.ip_link("lo");
        assert!(
            lo["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
            "{lo}"
        );
    }
    let bridge = hub.ns.ip_json(&["-d", "link", "show", "dev", "husk-n1"])[0].clone();
    assert_eq!(bridge["linkinfo"]["info_kind"], "bridge", "{bridge}");
    let ports = hub.ns.ip_json(&["link", "show", "master", "husk-n1"]);
    assert_eq!(ports.as_array().unwrap().len(), 3, "{ports}");
    let gw_addr = hub.ns.ip_json(&["-4", "addr", "show", "dev", "husk-n1"]);
    assert_eq!(gw_addr[0]["addr_info"][0]["local"], gw);
    assert_eq!(gw_addr[0]["addr_info"][0]["prefixlen"], 24);
    for (i, from) in members.iter().enumerate() {
        for (j, to) in members.iter().enumerate() {
            if i != j {
                tcp_echo(to.name(), from.name(), &format!("10.77.0.{}", j + 2));
            }
        }
        tcp_echo(hub.name(), from.name(), gw);
    }
    // Forwarding is on in the hub (and only there).
    let fwd = stdout_ok(Command::new("ip").args([
        "netns",
        "exec",
        hub.name(),
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
    ]));
    assert_eq!(fwd.trim(), "1");
    // ls and inspect.
    let ls = hub.ok(&["ls"]);
    assert!(
        ls.lines()
            .nth(1)
            .unwrap()
            .starts_with("n1   husk-n1 10.77.0.0/24 10.77.0.1 masquerade 3"),
        "{ls}"
    );
    assert_eq!(hub.ips("n1"), ["10.77.0.2", "10.77.0.3", "10.77.0.4"]);
    // disconnect: the pair goes, the address is free again.
    hub.ok(&["disconnect", "n1", "--netns", members[1].name()]);
    assert_eq!(net_support::ip_link_names(&members[1]), ["lo"]);
    assert_eq!(hub.ips("n1"), ["10.77.0.2", "10.77.0.4"]);
    let again = Netns::husk("m");
    hub.ok(&["connect", "n1", "--netns", again.name()]);
    assert_eq!(ipv4_of(&again, "eth0").as_deref(), Some("10.77.0.3"));
    // rm refuses while in use; --force removes everything.
    let err = hub.fail(&["rm", "n1"]);
    assert_eq!(
        err,
        "husk network: rm: network \"n1\" is in use by 3 namespace(s) (disconnect them, or use --force)"
    );
    hub.ok(&["rm", "--force", "n1"]);
    for m in members.iter().chain([&again]) {
        assert_eq!(net_support::ip_link_names(m), ["lo"]);
    }
    hub.finish(members.into_iter().chain([again]));
}

/// An internal network has no NAT rule, refuses published ports, and a
/// NAT network next to it has its masquerade rule.
#[test]
fn internal_network_has_no_nat_rule() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    hub.ok(&["create", "int", "--internal"]);
    assert!(!hub.has_table(), "no rules, no table: {}", hub.ruleset());
    hub.ok(&["create", "ext"]);
    assert_eq!(hub.rule_comments(), ["husk network ext"]);
    let m = Netns::husk("m");
    let err = hub.fail(&[
        "connect",
        "int",
        "--netns",
        m.name(),
        "--publish",
        "8080:80",
    ]);
    assert_eq!(
        err,
        "husk network: connect: network \"int\" is internal: it has no NAT to publish ports through"
    );
    hub.ok(&["connect", "int", "--netns", m.name()]);
    assert_eq!(hub.rule_comments(), ["husk network ext"]);
    // Default subnets do not collide.
    assert_eq!(hub.inspect("int")["subnet"], "10.89.0.0/24");
    assert_eq!(hub.inspect("ext")["subnet"], "10.89.1.0/24");
    assert_eq!(hub.inspect("int")["internal"], true);
    hub.ok(&["rm", "ext"]);
    hub.ok(&["rm", "-f", "int"]);
    hub.finish([m]);
}

/// A namespace made by `ip netns add`, and a process's namespace by pid.
#[test]
fn interop_with_ip_netns_and_pids() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    require_tool!("unshare");
    let hub = Hub::new();
    hub.ok(&[
        "create",
        "n",
        "--subnet",
        "10.78.0.0/24",
        "--gateway",
        "10.78.0.254",
    ]);
    let by_ip = Netns::ip("ipns");
    hub.ok(&[
        "connect",
        "n",
        "--netns",
        by_ip.name(),
        "--ifname",
        "hketh1",
        "--ip",
        "10.78.0.10",
    ]);
    assert_eq!(ipv4_of(&by_ip, "hketh1").as_deref(), Some("10.78.0.10"));
    let veth = hub.inspect("n")["endpoints"][0]["host_veth"]
        .as_str()
        .unwrap()
        .to_owned();
    let host_end = hub.ns.ip_link(&veth);
    assert_eq!(host_end["master"], "husk-n");
    let flags = host_end["flags"].as_array().unwrap();
    assert!(flags.iter().any(|f| f == "UP"), "created up: {host_end}");
    assert!(host_end["link_netnsid"].is_number(), "{host_end}");
    // A process in a namespace of its own, by pid.
    let child = ChildGuard::spawn(Command::new("unshare").args(["-n", "sleep", "60"]));
    let pid = child.pid().to_string();
    // unshare may not have unshared yet: wait until its namespace differs.
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    for _ in 0..1000 {
        if std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l != own)
            && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    hub.ok(&["connect", "n", "--pid", &pid]);
    let addrs = stdout_ok(Command::new("nsenter").args([
        "-t", &pid, "-n", "ip", "-j", "-4", "addr", "show", "dev", "eth0",
    ]));
    let addrs: serde_json::Value = serde_json::from_str(&addrs).unwrap();
    assert_eq!(addrs[0]["addr_info"][0]["local"], "10.78.0.1");
    assert_eq!(
        hub.inspect("n")["endpoints"][1]["netns"],
        format!("pid:{pid}")
    );
    // ip netns exec in the ip-made namespace reaches the gateway.
    tcp_echo(hub.name(), by_ip.name(), "10.78.0.254");
    hub.ok(&["disconnect", "n", "--pid", &pid]);
    hub.ok(&["disconnect", "n", "--netns", by_ip.name()]);
    assert_eq!(net_support::ip_link_names(&by_ip), ["lo"]);
    hub.ok(&["rm", "n"]);
    drop(child);
    hub.finish([by_ip]);
}

/// 20 `husk network connect` at once on one network: 20 distinct
/// addresses, all in the state, all on their interfaces.
#[test]
fn twenty_concurrent_connects() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    hub.ok(&["create", "n", "--subnet", "10.79.0.0/24"]);
    let members: Vec<Netns> = (0..20).map(|_| Netns::husk("c")).collect();
    let children: Vec<_> = members
        .iter()
        .map(|m| {
            hub.cmd(&["connect", "n", "--netns", m.name()])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut ips = hub.ips("n");
    assert_eq!(ips.len(), 20);
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 20, "distinct: {ips:?}");
    let mut seen: Vec<String> = members
        .iter()
        .map(|m| ipv4_of(m, "eth0").unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, ips);
    tcp_echo(
        members[0].name(),
        members[19].name(),
        &ipv4_of(&members[0], "eth0").unwrap(),
    );
    hub.ok(&["rm", "--force", "n"]);
    hub.finish(members);
}

/// A namespace deleted behind husk's back frees its address; a bridge
/// deleted behind its back is reported by ls and re-made by connect.
#[test]
fn state_is_reconciled_with_the_kernel() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    hub.ok(&["create", "n", "--subnet", "10.80.0.0/24"]);
    let gone = Netns::husk("gone");
    hub.ok(&["connect", "n", "--netns", gone.name()]);
    let veth = hub.inspect("n")["endpoints"][0]["host_veth"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(gone);
    // The kernel frees a namespace (and its veth pair) asynchronously.
    for _ in 0..3000 {
        if !hub.links().contains(&veth) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(hub.ips("n").is_empty(), "freed: {}", hub.inspect("n"));
    let m = Netns::husk("m");
    hub.ok(&["connect", "n", "--netns", m.name()]);
    assert_eq!(ipv4_of(&m, "eth0").as_deref(), Some("10.80.0.2"));
    // The bridge goes away.
    stdout_ok(Command::new("ip").args(["-n", hub.name(), "link", "del", "husk-n"]));
    assert_eq!(hub.inspect("n")["bridge_present"], false);
    assert!(hub.ok(&["ls"]).contains("bridge missing"));
    let m2 = Netns::husk("m");
    hub.ok(&["connect", "n", "--netns", m2.name()]);
    assert_eq!(hub.inspect("n")["bridge_present"], true);
    tcp_echo(m.name(), m2.name(), "10.80.0.2");
    tcp_echo(hub.name(), m.name(), "10.80.0.1");
    assert_eq!(hub.rule_comments(), ["husk network n"]);
    hub.ok(&["rm", "-f", "n"]);
    hub.finish([m, m2]);
}

/// Usage errors from the option parser: one line naming the problem, the
/// `--help` hint, status 1, nothing on stdout. No root needed: every case
/// fails before husk looks at a namespace (and `--host-netns` names one
/// that does not exist, so a case that parsed could not touch the host).
#[test]
fn usage_errors_name_the_problem() {
    let state = common::tempdir();
    let state = state.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["ls", "--bogus"], "unrecognized option '--bogus'"),
        (&["ls", "-x"], "invalid option -- 'x'"),
        (&["create"], "create needs NAME"),
        (&["create", "a", "b"], "create: unexpected argument 'b'"),
        (&["inspect"], "inspect needs at least one NAME"),
        (&["connect", "n"], "connect needs --netns NS or --pid PID"),
        (&["disconnect", "n"], "disconnect needs --netns NS or --pid PID"),
        (&["connect", "n", "--netns", "m", "--pid", "1"], "mutually exclusive arguments: --netns --pid"),
        (&["connect", "n", "--pid", "x"], "invalid value 'x' for '--pid <PID>': invalid digit found in string"),
        (&["connect", "n", "--pid", "1", "-p", "80"], "invalid value '80' for '--publish <HOST:CONTAINER[/PROTO]>': invalid port mapping \"80\" (want HOST:CONTAINER[/tcp|udp])"),
        (&["create", "n", "--subnet", "nonsense"], "invalid value 'nonsense' for '--subnet <CIDR>': invalid subnet \"nonsense\" (want a network address with its prefix, as 10.89.0.0/24)"),
        (&["create", "n", "--gateway", "10.1"], "invalid value '10.1' for '--gateway <IP>': invalid IP address \"10.1\""),
        (&["create", "n", "--subnet", "10.81.0.0/24", "--subnet", "10.82.0.0/24"], "option '--subnet' given more than once"),
        (&["create", "n", "--publish", "80:80"], "unrecognized option '--publish'"),
        (&["--internal", "create", "n"], "unrecognized option '--internal'"),
        (&["frobnicate"], "unknown command 'frobnicate'"),
        (&[], "no command given (create, connect, disconnect, rm, ls or inspect)"),
    ];
    for (args, want) in cases {
        let mut cmd = common::husk([
            "network",
            "--host-netns",
            "husk-no-such-hub",
            "--state-dir",
            state,
        ]);
        let out = output(cmd.args(*args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("husk network: {want}\nTry 'husk network --help' for more information.\n"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(
        std::fs::read_dir(state).unwrap().count(),
        0,
        "state written"
    );
}

/// `--help` (or `-h`, or `help`) anywhere prints the help on stdout and
/// exits 0, before any other work.
#[test]
fn help_lists_every_verb_and_exits_zero() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &[],
        &["--host-netns", "husk-no-such-hub", "connect", "n", "--help"],
        &["rm", "-h"],
    ] {
        let out = output(common::husk(["network"]).args(args));
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        for word in [
            "Usage: husk network",
            "create NAME",
            "--subnet CIDR",
            "--gateway IP",
            "--internal",
            "--ipv6 CIDR",
            "connect NAME (--netns NS | --pid PID)",
            "--ip IP",
            "--ifname NAME",
            "-p, --publish HOST:CONTAINER[/tcp|udp]",
            "disconnect NAME",
            "rm, remove NAME...",
            "-f, --force",
            "ls, list",
            "-J, --json",
            "-q, --quiet",
            "inspect NAME...",
            "--host-netns NS",
            "--state-dir DIR",
            "-h, --help",
        ] {
            assert!(help.contains(word), "{args:?}: {word} missing from\n{help}");
        }
    }
}

/// Clear one-line errors, and nothing half-made.
#[test]
fn bad_input_is_refused_cleanly() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    let m = Netns::husk("m");
    let cases: &[(&[&str], &str)] = &[
        (&["create", "n", "--subnet", "10.81.0.1/24"], "husk network: invalid value '10.81.0.1/24' for '--subnet <CIDR>': invalid subnet \"10.81.0.1/24\" (want a network address with its prefix, as 10.89.0.0/24)"),
        (&["create", "n", "--subnet", "nonsense"], "husk network: invalid value 'nonsense' for '--subnet <CIDR>': invalid subnet \"nonsense\" (want a network address with its prefix, as 10.89.0.0/24)"),
        (&["create", "n", "--subnet", "10.81.0.0/24", "--gateway", "10.82.0.1"], "husk network: create: 10.82.0.1 is outside subnet 10.81.0.0/24"),
        (&["create", "bad/name"], "husk network: create: invalid network name \"bad/name\": only letters, digits, '_', '.' and '-' are allowed"),
        (&["connect", "nope", "--netns", m.name()], "husk network: connect: network \"nope\" not found"),
    ];
    for (args, want) in cases {
        assert_eq!(&hub.fail(args), want, "{args:?}");
    }
    assert_eq!(hub.links(), ["lo"]);
    let out = common::output(&mut common::husk([
        "network",
        "--host-netns",
        "husk-no-such-hub",
        "ls",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "husk network: cannot open network namespace \"husk-no-such-hub\": cannot open /run/netns/husk-no-such-hub: No such file or directory\n"
    );
    hub.ok(&["create", "n", "--subnet", "10.81.0.0/30"]);
    let cases: &[(&[&str], String)] = &[
        (&["create", "n"], "husk network: create: network \"n\" already exists".into()),
        (&["create", "o", "--subnet", "10.81.0.0/16"], "husk network: create: subnet 10.81.0.0/16 overlaps route 10.81.0.0/30".into()),
        (&["connect", "n", "--netns", "husk-no-such-ns"], "husk network: connect: cannot open network namespace \"husk-no-such-ns\": cannot open /run/netns/husk-no-such-ns: No such file or directory".into()),
        (&["connect", "n", "--netns", m.name(), "--ip", "10.81.1.2"], "husk network: connect: 10.81.1.2 is outside subnet 10.81.0.0/30".into()),
        (&["connect", "n", "--netns", m.name(), "--ip", "10.81.0.1"], "husk network: connect: 10.81.0.1 is reserved in subnet 10.81.0.0/30 (network, broadcast or gateway address)".into()),
        (&["connect", "n", "--netns", m.name(), "--ifname", "a-very-long-name"], "husk network: connect: \"a-very-long-name\" is not a valid interface name: longer than 15 bytes".into()),
        (&["connect", "n", "--netns", m.name(), "--ifname", "lo"], format!("husk network: connect: device \"lo\" already exists in namespace \"{}\"", m.name())),
        (&["disconnect", "n", "--netns", m.name()], format!("husk network: disconnect: namespace \"{}\" is not connected to network \"n\"", m.name())),
        (&["rm", "nope"], "husk network: rm: network \"nope\" not found".into()),
    ];
    for (args, want) in cases {
        assert_eq!(&hub.fail(args), want, "{args:?}");
    }
    assert_eq!(hub.links(), ["lo", "husk-n"], "nothing half-made");
    assert_eq!(net_support::ip_link_names(&m), ["lo"]);
    // A /30 holds the gateway and one address.
    hub.ok(&["connect", "n", "--netns", m.name(), "--ip", "10.81.0.2"]);
    let err = hub.fail(&["connect", "n", "--netns", m.name()]);
    assert_eq!(
        err,
        format!(
            "husk network: connect: namespace \"{}\" is already connected to network \"n\"",
            m.name()
        )
    );
    let m2 = Netns::husk("m");
    let err = hub.fail(&["connect", "n", "--netns", m2.name(), "--ip", "10.81.0.2"]);
    assert_eq!(err, "husk network: connect: 10.81.0.2 is already in use");
    let err = hub.fail(&["connect", "n", "--netns", m2.name()]);
    assert_eq!(err, "husk network: connect: subnet 10.81.0.0/30 is full");
    assert_eq!(net_support::ip_link_names(&m2), ["lo"]);
    assert_eq!(hub.ips("n"), ["10.81.0.2"]);
    hub.ok(&["rm", "-f", "n"]);
    hub.finish([m, m2]);
}

/// A connect (or create) that fails after making links undoes them: here
/// `nft` cannot be found when the NAT rules are applied, the last step.
#[test]
fn failed_connect_and_create_roll_back() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    let out = output(hub.cmd(&["create", "n"]).env("PATH", "/nonexistent"));
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "husk network: create: cannot run nft: No such file or directory"
    );
    hub.assert_clean();
    hub.ok(&["create", "n"]);
    let m = Netns::husk("m");
    let out = output(
        hub.cmd(&["connect", "n", "--netns", m.name(), "-p", "8080:80"])
            .env("PATH", "/nonexistent"),
    );
    assert!(!out.status.success());
    assert_eq!(hub.links(), ["lo", "husk-n"], "veth removed");
    assert_eq!(net_support::ip_link_names(&m), ["lo"]);
    assert!(hub.ips("n").is_empty());
    assert_eq!(hub.rule_comments(), ["husk network n"]);
    hub.ok(&["rm", "n"]);
    hub.finish([m]);
}

/// Dual stack: an IPv6 subnet beside the IPv4 one, TCP over IPv6.
#[test]
fn ipv6_subnet_gives_addresses_and_routes() {
    require_root!();
    require_tool!("ip");
    require_tool!("nft");
    let hub = Hub::new();
    hub.ok(&[
        "create",
        "n",
        "--subnet",
        "10.83.0.0/24",
        "--ipv6",
        "fd00:83::/64",
    ]);
    let a = Netns::husk("m");
    let b = Netns::husk("m");
    hub.ok(&["connect", "n", "--netns", a.name()]);
    hub.ok(&["connect", "n", "--netns", b.name()]);
    assert_eq!(hub.inspect("n")["endpoints"][1]["ip6"], "fd00:83::3");
    let r6 = b.ip_json(&["-6", "route", "show", "default"]);
    assert_eq!(r6[0]["gateway"], "fd00:83::1");
    tcp_echo(a.name(), b.name(), "fd00:83::2");
    tcp_echo(hub.name(), a.name(), "fd00:83::1");
    assert_eq!(hub.rule_comments(), ["husk network n", "husk network n"]);
    hub.ok(&["rm", "-f", "n"]);
    hub.finish([a, b]);
}
