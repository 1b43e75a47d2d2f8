//! Helpers for the `husk network` tests. Every test runs its networks in a
//! "hub" namespace of its own (`--host-netns`) with a private state
//! directory (`--state-dir`), so bridges, veth host ends and the `husk`
//! nftables table never touch the host's, and parallel tests never see
//! each other. Dropping the hub deletes its namespace, and everything in
//! it goes with it; [`Hub::assert_clean`] checks that husk itself left
//! nothing behind.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::{husk, output, stdout_ok, tempdir};
use crate::net_support::{in_netns, Netns};

/// A namespace holding the networks of one test, and its state directory.
pub struct Hub {
    pub ns: Netns,
    pub state: tempfile::TempDir,
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            ns: Netns::husk("hub"),
            state: tempdir(),
        }
    }

    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// `husk network --host-netns HUB --state-dir DIR ARGS...`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = husk(["network", "--host-netns", self.name(), "--state-dir"]);
        cmd.arg(self.state.path()).args(args);
        cmd
    }

    /// Runs `husk network ARGS...`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout_ok(&mut self.cmd(args))
    }

    /// Runs `husk network ARGS...`, which must fail with status 1 and one
    /// line on stderr; that line.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = output(&mut self.cmd(args));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!(
            lines.len() == 1 || lines[1].starts_with("Try '"),
            "{args:?}: one line: {err}"
        );
        lines[0].to_owned()
    }

    /// `husk network inspect NET`, parsed.
    pub fn inspect(&self, net: &str) -> Value {
        let text = self.ok(&["inspect", net]);
        serde_json::from_str::<Value>(&text).unwrap()[0].clone()
    }

    /// The addresses given out on `net`.
    pub fn ips(&self, net: &str) -> Vec<String> {
        self.inspect(net)["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["ip"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Link names in the hub, as `ip` sees them.
    pub fn links(&self) -> Vec<String> {
        crate::net_support::ip_link_names(&self.ns)
    }

    /// `nft -j list ruleset` in the hub.
    pub fn ruleset(&self) -> Value {
        let out = stdout_ok(Command::new("ip").args([
            "netns",
            "exec",
            self.name(),
            "nft",
            "-j",
            "list",
            "ruleset",
        ]));
        serde_json::from_str(&out).unwrap()
    }

    /// Whether table `inet husk` exists in the hub.
    pub fn has_table(&self) -> bool {
        self.ruleset()["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["table"]["name"] == "husk")
    }

    /// The comments of the rules of table `inet husk`.
    pub fn rule_comments(&self) -> Vec<String> {
        self.ruleset()["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["rule"]["table"] == "husk")
            .map(|o| o["rule"]["comment"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// The network files in the state directory.
    pub fn state_files(&self) -> Vec<String> {
        std::fs::read_dir(self.state.path())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|f| f != ".lock")
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Nothing husk made is left: only `lo` in the hub, no `husk` table,
    /// no state file.
    pub fn assert_clean(&self) {
        assert_eq!(self.links(), ["lo"], "links left in the hub");
        assert!(!self.has_table(), "husk table left: {}", self.ruleset());
        assert!(
            self.state_files().is_empty(),
            "state left: {:?}",
            self.state_files()
        );
    }
}

impl Hub {
    /// Ends a test: asserts [`assert_clean`](Hub::assert_clean), deletes
    /// the test's namespaces and the hub, and asserts that no namespace
    /// file and no state directory is left.
    pub fn finish(self, members: impl IntoIterator<Item = Netns>) {
        self.assert_clean();
        let mut paths: Vec<String> = Vec::new();
        for m in members {
            paths.push(m.path());
            drop(m);
        }
        paths.push(self.ns.path());
        let state = self.state.path().to_owned();
        drop(self);
        for p in paths {
            assert!(!std::path::Path::new(&p).exists(), "{p} left behind");
        }
        assert!(!state.exists(), "{} left behind", state.display());
    }
}

/// The IPv4 address of `dev` in `ns`, as `ip -j addr` shows it.
pub fn ipv4_of(ns: &Netns, dev: &str) -> Option<String> {
    let addrs = ns.ip_json(&["-4", "addr", "show", "dev", dev]);
    addrs[0]["addr_info"][0]["local"]
        .as_str()
        .map(str::to_owned)
}

/// A listener on `addr` inside namespace `ns`.
pub fn listen(ns: &str, addr: &str) -> TcpListener {
    in_netns(ns, || TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("listen {addr} in {ns}: {e}"))
}

/// Connects from `client_ns` to `to`, echoes a line through `listener`,
/// and returns the client address the server saw.
pub fn echo_via(listener: TcpListener, client_ns: &str, to: &str) -> SocketAddr {
    let server = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().expect("accept");
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).expect("server read");
        s.write_all(&buf[..n]).expect("server write");
        peer
    });
    let to: SocketAddr = to.parse().unwrap();
    let mut client = in_netns(client_ns, || {
        TcpStream::connect_timeout(&to, Duration::from_secs(10))
    })
    .unwrap_or_else(|e| panic!("{client_ns} -> {to}: {e}"));
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.write_all(b"husk").unwrap();
    let mut back = [0u8; 4];
    client.read_exact(&mut back).expect("echo");
    assert_eq!(&back, b"husk");
    server.join().unwrap()
}
