//! `husk link`, `addr`, `route` and `batch`, checked with `ip -j` and with
//! TCP traffic between namespaces the tests create. Links live inside
//! those namespaces (`-n NETNS`); nothing touches the host's interfaces.

mod common;
mod net_support;

use std::process::Command;

use common::{husk, output, stdout_ok};
use net_support::{ip_link_names, tcp_echo, HostLink, Netns};
use serde_json::Value;

fn has_flag(link: &Value, flag: &str) -> bool {
    link["flags"].as_array().unwrap().iter().any(|f| f == flag)
}

/// The seeds' veth recipe, with the "host" side in a namespace of its own.
#[test]
fn veth_recipe_then_tcp_between_two_namespaces() {
    require_root!();
    require_tool!("ip");
    let a = Netns::husk("va");
    let b = Netns::husk("vb");
    a.run(
        "link",
        &["add", "hkveth0", "type", "veth", "peer", "name", "hkceth0"],
    );
    a.run("link", &["set", "hkceth0", "netns", b.name()]);
    assert_eq!(ip_link_names(&a), ["lo", "hkveth0"]);
    assert_eq!(ip_link_names(&b), ["lo", "hkceth0"]);
    a.run("addr", &["add", "192.168.100.1/24", "dev", "hkveth0"]);
    a.run("link", &["set", "hkveth0", "up"]);
    a.run("link", &["set", "lo", "up"]);
    b.run("addr", &["add", "192.168.100.2/24", "dev", "hkceth0"]);
    b.run("link", &["set", "hkceth0", "up"]);
    b.run("link", &["set", "lo", "up"]);
    let veth = a.ip_link("hkveth0");
    assert!(
        has_flag(&veth, "UP") && has_flag(&veth, "LOWER_UP"),
        "{veth}"
    );
    assert!(veth["link_netnsid"].as_i64().is_some(), "{veth}");
    let addrs = b.ip_json(&["addr", "show", "dev", "hkceth0"]);
    let inet: Vec<_> = addrs[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "inet")
        .collect();
    assert_eq!(inet.len(), 1);
    assert_eq!(inet[0]["local"], "192.168.100.2");
    assert_eq!(inet[0]["prefixlen"], 24);
    tcp_echo(b.name(), a.name(), "192.168.100.2");
    tcp_echo(a.name(), b.name(), "192.168.100.1");
    // IPv6 over the same cable (nodad: usable at once, not tentative).
    a.run(
        "addr",
        &["add", "fd00:100::1/64", "dev", "hkveth0", "nodad"],
    );
    b.run(
        "addr",
        &["add", "fd00:100::2/64", "dev", "hkceth0", "nodad"],
    );
    tcp_echo(b.name(), a.name(), "fd00:100::2");
    tcp_echo(a.name(), b.name(), "fd00:100::1");
}

/// The seeds' bridge: a switch with three namespaces on it, reaching each
/// other and the bridge (their default gateway). The bridge lives in a
/// fourth namespace, so the host namespace is not touched.
#[test]
fn bridge_with_three_namespaces_reaching_each_other() {
    require_root!();
    require_tool!("ip");
    let hub = Netns::husk("hub");
    hub.run("link", &["add", "name", "hkbr0", "type", "bridge"]);
    hub.run("addr", &["add", "10.66.0.254/24", "dev", "hkbr0"]);
    hub.run("link", &["set", "hkbr0", "up"]);
    let spokes: Vec<Netns> = (1..=3).map(|i| Netns::husk(&format!("sp{i}"))).collect();
    for (i, ns) in spokes.iter().enumerate() {
        let n = i + 1;
        let (host_end, ns_end) = (format!("hkv{n}"), format!("hkc{n}"));
        hub.run(
            "link",
            &[
                "add",
                &host_end,
                "type",
                "veth",
                "peer",
                "name",
                &ns_end,
                "netns",
                ns.name(),
            ],
        );
        hub.run("link", &["set", &host_end, "master", "hkbr0", "up"]);
        ns.run("addr", &["add", &format!("10.66.0.{n}/24"), "dev", &ns_end]);
        ns.run("link", &["set", &ns_end, "up"]);
        ns.run("link", &["set", "lo", "up"]);
        ns.run("route", &["add", "default", "via", "10.66.0.254"]);
        assert_eq!(hub.ip_link(&host_end)["master"], "hkbr0");
        let routes = ns.ip_json(&["route", "show", "default"]);
        assert_eq!(routes[0]["gateway"], "10.66.0.254");
        assert_eq!(routes[0]["dev"], ns_end);
    }
    for (i, from) in spokes.iter().enumerate() {
        for (j, to) in spokes.iter().enumerate() {
            if i != j {
                tcp_echo(to.name(), from.name(), &format!("10.66.0.{}", j + 1));
            }
        }
        tcp_echo(hub.name(), from.name(), "10.66.0.254");
    }
}

#[test]
fn link_set_netns_name_mtu_master_nomaster() {
    require_root!();
    require_tool!("ip");
    let a = Netns::husk("ls");
    let b = Netns::husk("lt");
    a.run("link", &["add", "hkbr1", "type", "bridge"]);
    a.run("link", &["add", "hkx0", "type", "veth", "peer", "hkx1"]);
    a.run(
        "link",
        &["set", "dev", "hkx0", "master", "hkbr1", "mtu", "1400", "up"],
    );
    let x0 = a.ip_link("hkx0");
    assert_eq!(x0["master"], "hkbr1");
    assert_eq!(x0["mtu"], 1400);
    assert!(has_flag(&x0, "UP"));
    assert_eq!(
        a.ip_link("hkx1")["link"],
        "hkx0",
        "peer shown by name in the same namespace"
    );
    a.run(
        "link",
        &["set", "hkx0", "nomaster", "down", "name", "hkren"],
    );
    let ren = a.ip_link("hkren");
    assert!(ren.get("master").is_none(), "{ren}");
    assert!(!has_flag(&ren, "UP"));
    a.run("link", &["set", "hkren", "netns", b.name()]);
    assert_eq!(ip_link_names(&b), ["lo", "hkren"]);
    assert!(!ip_link_names(&a).contains(&"hkren".to_owned()));
    // Differential: husk -j link show against ip -j link show.
    let husk_json: Value = serde_json::from_str(&a.run("link", &["-j", "show"])).unwrap();
    let ip_json = a.ip_json(&["link", "show"]);
    let pick = |v: &Value| -> Vec<Vec<Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| {
                [
                    "ifindex",
                    "ifname",
                    "flags",
                    "mtu",
                    "master",
                    "operstate",
                    "link_type",
                    "address",
                    "link",
                    "link_netnsid",
                ]
                .iter()
                .map(|k| l[*k].clone())
                .collect()
            })
            .collect()
    };
    assert_eq!(pick(&husk_json), pick(&ip_json));
    // netns also takes a file path or a process id, as in ip.
    // (veth, not bridges: a bridge cannot change namespace.)
    a.run("link", &["add", "hkp0", "type", "veth", "peer", "hkq0"]);
    a.run("link", &["add", "hkp1", "type", "veth", "peer", "hkq1"]);
    a.run("link", &["set", "hkp0", "netns", &b.path()]);
    let sleeper = common::ChildGuard::spawn(
        husk(["netns", "exec", b.name(), "sleep", "60"]).stdin(std::process::Stdio::null()),
    );
    let b_ino = std::fs::metadata(b.path())
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    let pid = sleeper.pid();
    for _ in 0..200 {
        let ino = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        if ino.is_ok_and(|i| i == b_ino) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    a.run("link", &["set", "hkp1", "netns", &pid.to_string()]);
    assert_eq!(ip_link_names(&b), ["lo", "hkren", "hkp0", "hkp1"]);
    // del takes the veth pair away (both ends).
    b.run("link", &["del", "hkren"]);
    assert!(!ip_link_names(&b).contains(&"hkren".to_owned()));
    assert!(!ip_link_names(&a).contains(&"hkx1".to_owned()));
}

#[test]
fn addresses_and_routes_v4_and_v6() {
    require_root!();
    require_tool!("ip");
    let a = Netns::husk("rt");
    a.run(
        "link",
        &["add", "hkr0", "type", "veth", "peer", "name", "hkr1"],
    );
    a.run("link", &["set", "hkr0", "up"]);
    a.run("link", &["set", "hkr1", "up"]);
    a.run("addr", &["add", "10.55.0.1/24", "dev", "hkr0"]);
    a.run("addr", &["add", "fd55::1/64", "dev", "hkr0", "nodad"]);
    let info = &a.ip_json(&["addr", "show", "dev", "hkr0"])[0]["addr_info"];
    let local: Vec<_> = info
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["local"].clone(), x["prefixlen"].clone()))
        .collect();
    assert!(local.contains(&("10.55.0.1".into(), 24.into())), "{info}");
    assert!(local.contains(&("fd55::1".into(), 64.into())), "{info}");
    a.run("route", &["add", "10.56.0.0/16", "via", "10.55.0.2"]);
    a.run(
        "route",
        &["add", "default", "via", "10.55.0.3", "dev", "hkr0"],
    );
    a.run("route", &["add", "fd56::/48", "via", "fd55::2"]);
    a.run("route", &["-6", "add", "default", "dev", "hkr0"]);
    let v4 = a.ip_json(&["route", "show"]);
    let find = |v: &Value, dst: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["dst"] == dst)
            .cloned()
    };
    assert_eq!(find(&v4, "10.56.0.0/16").unwrap()["gateway"], "10.55.0.2");
    assert_eq!(find(&v4, "default").unwrap()["gateway"], "10.55.0.3");
    let v6 = a.ip_json(&["-6", "route", "show"]);
    assert_eq!(find(&v6, "fd56::/48").unwrap()["gateway"], "fd55::2");
    assert_eq!(find(&v6, "default").unwrap()["dev"], "hkr0");
    // Differential: husk -j route show is ip -j route show.
    let husk_v4: Value = serde_json::from_str(&a.run("route", &["-j", "show"])).unwrap();
    assert_eq!(husk_v4, v4);
    let husk_v6: Value = serde_json::from_str(&a.run("route", &["-6", "-j", "show"])).unwrap();
    let keys = |v: &Value| -> Vec<(Value, Value, Value)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| (r["dst"].clone(), r["gateway"].clone(), r["dev"].clone()))
            .collect()
    };
    assert_eq!(keys(&husk_v6), keys(&v6));
    // Delete and check they are gone.
    a.run("route", &["del", "10.56.0.0/16", "via", "10.55.0.2"]);
    a.run("route", &["del", "default"]);
    a.run("route", &["-6", "del", "default", "dev", "hkr0"]);
    a.run("addr", &["del", "fd55::1/64", "dev", "hkr0"]);
    let v4 = a.ip_json(&["route", "show"]);
    assert!(
        find(&v4, "10.56.0.0/16").is_none() && find(&v4, "default").is_none(),
        "{v4}"
    );
    assert!(find(&a.ip_json(&["-6", "route", "show"]), "default").is_none());
    let info = &a.ip_json(&["addr", "show", "dev", "hkr0"])[0]["addr_info"];
    assert!(!info.to_string().contains("fd55::1"), "{info}");
}

#[test]
fn a_bridge_in_the_host_namespace_is_named_hk_and_removed() {
    require_root!();
    require_tool!("ip");
    let br = HostLink::name();
    stdout_ok(&mut husk(["link", "add", &br.0, "type", "bridge"]));
    let shown: Value =
        serde_json::from_str(&stdout_ok(&mut husk(["link", "-j", "show", &br.0]))).unwrap();
    assert_eq!(shown[0]["ifname"], br.0.as_str());
    stdout_ok(&mut husk(["link", "del", "dev", &br.0]));
    let out = output(Command::new("ip").args(["link", "show", &br.0]));
    assert!(!out.status.success());
}

fn fails_with(args: &[&str], want: &str) {
    let out = output(&mut husk(args));
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert_eq!(err.trim_end(), want, "{args:?}");
}

#[test]
fn bad_input_gives_one_line_and_makes_nothing() {
    require_root!();
    require_tool!("ip");
    let a = Netns::husk("bad");
    let n = a.name();
    fails_with(
        &[
            "link",
            "-n",
            n,
            "add",
            "hk-way-too-long-name",
            "type",
            "bridge",
        ],
        "husk link: \"hk-way-too-long-name\" is not a valid interface name: longer than 15 bytes",
    );
    fails_with(
        &[
            "link",
            "-n",
            n,
            "add",
            "hkok",
            "type",
            "veth",
            "peer",
            "name",
            "hk-peer-name-too-long",
        ],
        "husk link: \"hk-peer-name-too-long\" is not a valid interface name: longer than 15 bytes",
    );
    assert_eq!(ip_link_names(&a), ["lo"], "nothing half-made");
    fails_with(
        &["addr", "-n", n, "add", "10.0.0.1/33", "dev", "lo"],
        "husk addr: invalid address \"10.0.0.1/33\"",
    );
    fails_with(
        &["addr", "-n", n, "add", "10.0.0.300/24", "dev", "lo"],
        "husk addr: invalid address \"10.0.0.300/24\"",
    );
    fails_with(
        &["addr", "-n", n, "add", "10.0.0.1/24", "dev", "hknodev"],
        "husk addr: cannot find device \"hknodev\"",
    );
    // Every spelling of show takes a bare device, as `ip addr ls DEV` does.
    for verb in ["show", "ls", "list"] {
        fails_with(
            &["addr", "-n", n, verb, "hknodev"],
            "husk addr: cannot find device \"hknodev\"",
        );
    }
    fails_with(
        &["link", "-n", n, "set", "hknodev", "up"],
        "husk link: cannot find device \"hknodev\"",
    );
    fails_with(
        &["route", "-n", n, "add", "default", "dev", "hknodev"],
        "husk route: cannot find device \"hknodev\"",
    );
    fails_with(
        &["link", "-n", "husk-no-such-ns", "show"],
        "husk link: cannot open network namespace \"husk-no-such-ns\": cannot open /run/netns/husk-no-such-ns: No such file or directory",
    );
    a.run("link", &["add", "hkdup", "type", "bridge"]);
    fails_with(
        &["link", "-n", n, "add", "hkdup", "type", "bridge"],
        "husk link: cannot add link hkdup: File exists",
    );
    a.run("addr", &["add", "10.1.0.1/24", "dev", "hkdup"]);
    fails_with(
        &["addr", "-n", n, "add", "10.1.0.1/24", "dev", "hkdup"],
        "husk addr: cannot add address 10.1.0.1/24: File exists",
    );
    fails_with(
        &["route", "-n", n, "add", "10.2.0.0/24", "via", "10.9.9.9"],
        "husk route: cannot add route 10.2.0.0/24: Network is unreachable",
    );
    // Usage errors: util-linux style, two lines, exit 1.
    let out = output(&mut husk([
        "link", "-n", n, "add", "hkz", "type", "dummyish",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("husk link: unsupported link type \"dummyish\"\n"));
}

#[test]
fn batch_builds_a_network_in_one_process() {
    require_root!();
    require_tool!("ip");
    // Names must exist before the guards can own them: pick them first.
    let (a, b) = (Netns(common::unique("ba")), Netns(common::unique("bb")));
    let dir = common::tempdir();
    let file = dir.path().join("net.batch");
    let script = format!(
        "# two namespaces and a cable\n\
         netns add {a}\n\
         netns add {b}\n\
         \n\
         link -n {a} add hkb0 type veth peer name hkb1 netns {b}\n\
         addr -n {a} add 10.77.0.1/24 dev hkb0\n\
         addr -n {b} add 10.77.0.2/24 dev hkb1\n\
         link -n {a} set hkb0 up\n\
         link -n {b} set hkb1 up\n\
         route -n {b} add default via 10.77.0.1\n",
        a = a.name(),
        b = b.name()
    );
    std::fs::write(&file, script).unwrap();
    stdout_ok(&mut husk(["batch".as_ref(), file.as_os_str()]));
    assert_eq!(ip_link_names(&b), ["lo", "hkb1"]);
    assert_eq!(
        b.ip_json(&["route", "show", "default"])[0]["gateway"],
        "10.77.0.1"
    );
    tcp_echo(b.name(), a.name(), "10.77.0.2");
    // A failing line stops the batch and names the line.
    std::fs::write(&file, format!("link -n {} set hknodev up\n", a.name())).unwrap();
    let out = output(&mut husk(["batch".as_ref(), file.as_os_str()]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        "husk batch: line 1: cannot find device \"hknodev\""
    );
}

/// Differential: `husk link/addr show` print what `ip link/addr show` print,
/// text and JSON, on the same namespace (links kept without carrier so no
/// address or state changes between the two runs).
#[test]
fn show_output_matches_ip_text_and_json() {
    require_root!();
    require_tool!("ip");
    let a = Netns::husk("sh");
    let b = Netns::husk("si");
    a.run("link", &["set", "lo", "up"]);
    a.run("link", &["add", "hkd0", "type", "veth", "peer", "hkd1"]);
    a.run(
        "link",
        &[
            "add",
            "hkd2",
            "type",
            "veth",
            "peer",
            "hkd3",
            "netns",
            b.name(),
        ],
    );
    a.run("link", &["add", "hkdbr", "type", "bridge"]);
    a.run(
        "link",
        &["set", "hkd1", "master", "hkdbr", "up", "mtu", "1280"],
    );
    a.run("addr", &["add", "10.44.0.1/24", "dev", "hkd0"]);
    a.run("addr", &["add", "fd44::1/64", "dev", "hkd0", "nodad"]);
    for cmd in ["link", "addr"] {
        let husk_text = a.run(cmd, &["show"]);
        let ip_text = stdout_ok(Command::new("ip").args(["-n", a.name(), cmd, "show"]));
        assert_eq!(husk_text, ip_text, "{cmd} show");
        let husk_json: Value = serde_json::from_str(&a.run(cmd, &["-j", "show"])).unwrap();
        assert_eq!(husk_json, a.ip_json(&[cmd, "show"]), "{cmd} -j show");
    }
    let one = a.run("link", &["show", "dev", "hkd2"]);
    assert_eq!(
        one,
        stdout_ok(Command::new("ip").args(["-n", a.name(), "link", "show", "dev", "hkd2"]))
    );
    assert!(one.contains(&format!("link-netns {}", b.name())), "{one}");
}

/// Rootless: inside `unshare -rn` (a user namespace and a network namespace
/// of its own) an unprivileged user builds links, addresses and routes with
/// husk; outside, `netns add` is refused with one line and leaves nothing.
#[test]
fn unprivileged_user_in_its_own_user_and_net_namespace() {
    require_root!();
    require_tool!("unshare");
    let user = common::test_user();
    let script = format!(
        "set -e; h={}; $h link add hkur0 type veth peer hkur1; \
         $h addr add 10.88.0.1/24 dev hkur0; $h link set hkur0 up; $h link set hkur1 up; \
         $h route add 10.89.0.0/16 via 10.88.0.2; $h route -j show",
        common::husk_bin().display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--net", "sh", "-c", &script]);
    let out = stdout_ok(common::as_user(&mut cmd, user));
    let routes: Value = serde_json::from_str(&out).unwrap();
    let via: Vec<_> = routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["dst"] == "10.89.0.0/16")
        .collect();
    assert_eq!(via.len(), 1, "{routes}");
    assert_eq!(via[0]["gateway"], "10.88.0.2");
    // Without privileges, netns add fails in one line and makes no file.
    let name = common::unique("nopriv");
    let mut cmd = husk(["netns", "add", &name]);
    let out = output(common::as_user(&mut cmd, user));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("husk netns: cannot add {name}: ")),
        "{err}"
    );
    assert!(!std::path::Path::new(&format!("/run/netns/{name}")).exists());
}
