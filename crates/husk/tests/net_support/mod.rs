//! Helpers for the networking tests: guards that delete what a test made
//! (named namespaces, host links, /etc/netns dirs) even when it fails,
//! `ip -j` as JSON, and a TCP echo between two namespaces made in-process
//! (a thread enters one namespace, opens its socket there, and leaves: the
//! socket stays in that namespace). All traffic stays between namespaces
//! the test created.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::{husk, output, stdout_ok, unique};

/// A named network namespace (made by husk or ip), deleted on Drop.
pub struct Netns(pub String);

impl Netns {
    /// `husk netns add husk-TAG-...`.
    pub fn husk(tag: &str) -> Netns {
        let ns = Netns(unique(tag));
        stdout_ok(&mut husk(["netns", "add", &ns.0]));
        ns
    }

    /// `ip netns add husk-TAG-...`.
    pub fn ip(tag: &str) -> Netns {
        let ns = Netns(unique(tag));
        stdout_ok(Command::new("ip").args(["netns", "add", &ns.0]));
        ns
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }

    /// `husk -n NS ARGS...` for command `cmd` (`link`, `addr`, `route`).
    pub fn run(&self, cmd: &str, args: &[&str]) -> String {
        let mut all = vec![cmd, "-n", &self.0];
        all.extend_from_slice(args);
        stdout_ok(&mut husk(all))
    }

    /// `ip -n NS -j ARGS...` parsed.
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-n", &self.0, "-j"];
        all.extend_from_slice(args);
        let out = stdout_ok(Command::new("ip").args(all));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j {args:?}: {e}: {out}"))
    }

    /// The `ip -j link` entry of `dev` in this namespace.
    pub fn ip_link(&self, dev: &str) -> serde_json::Value {
        self.ip_json(&["link", "show", "dev", dev])[0].clone()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = output(Command::new("ip").args(["netns", "del", &self.0]));
        let path = self.path();
        let _ = rustix::mount::unmount(path.as_str(), rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_file(path);
    }
}

/// A link in the host namespace, `hk` + a short unique suffix (≤ 15
/// bytes), deleted on Drop. Only for what must live in the host namespace.
pub struct HostLink(pub String);

impl HostLink {
    pub fn name() -> HostLink {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "hk{:x}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        assert!(name.len() <= 15, "{name}");
        HostLink(name)
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = output(Command::new("ip").args(["link", "del", &self.0]));
    }
}

/// A directory removed (recursively) on Drop.
pub struct DirGuard(pub std::path::PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A directory removed on Drop if it is empty (never its contents).
pub struct EmptyDirGuard(pub std::path::PathBuf);

impl Drop for EmptyDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Runs `f` on a thread inside namespace `ns`.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(format!("/run/netns/{ns}")).expect("open netns");
            rustix::thread::move_into_link_name_space(
                file.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("setns");
            f()
        })
        .join()
        .expect("thread in netns")
    })
}

/// A TCP echo: a listener in `server_ns`, a client in `client_ns`
/// connecting to `ip`; panics unless the bytes come back.
pub fn tcp_echo(server_ns: &str, client_ns: &str, ip: &str) {
    let listener = in_netns(server_ns, || {
        TcpListener::bind(("::", 0)).or_else(|_| TcpListener::bind(("0.0.0.0", 0)))
    })
    .expect("listen");
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).expect("server read");
        s.write_all(&buf[..n]).expect("server write");
    });
    let addr = SocketAddr::new(ip.parse::<IpAddr>().unwrap(), port);
    let mut client = in_netns(client_ns, || {
        TcpStream::connect_timeout(&addr, Duration::from_secs(10))
    })
    .unwrap_or_else(|e| panic!("{client_ns} -> {server_ns} {addr}: {e}"));
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let msg = format!("husk {client_ns} -> {server_ns}");
    client.write_all(msg.as_bytes()).unwrap();
    let mut back = vec![0u8; msg.len()];
    client.read_exact(&mut back).expect("echo");
    assert_eq!(back, msg.as_bytes());
    server.join().unwrap();
}

/// The names of the links `ip -j link` shows in namespace `ns`.
pub fn ip_link_names(ns: &Netns) -> Vec<String> {
    ns.ip_json(&["link", "show"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_owned())
        .collect()
}
