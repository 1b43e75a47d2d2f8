//! `network`: bridge networks with address allocation and NAT
//! (`create`, `connect`, `disconnect`, `rm`, `ls`, `inspect`). The work is
//! in `husk_net::network`.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, Parser, Subcommand};
use husk_net::ipam;
use husk_net::netns::Registry;
use husk_net::network::{ConnectSpec, CreateSpec, Networks, Status, Target};
use husk_net::state::{Proto, Publish, Store, STATE_DIR};
use ipnet::IpNet;

use crate::cli::{self, Exit, Outcome, Prog};

/// Bridge networks: a bridge with a gateway, addresses for the namespaces
/// connected to it, outbound NAT and published ports (nftables table
/// `inet husk`). State in /var/lib/husk/networks.
#[derive(Debug, Parser)]
#[command(disable_version_flag = true)]
struct Args {
    /// Work inside this named network namespace instead of the current
    /// one: the bridge, its NAT table and forwarding live there.
    #[arg(long, value_name = "NETNS", global = true)]
    host_netns: Option<String>,
    /// Keep network state here [env: HUSK_STATE_DIR; default:
    /// /var/lib/husk/networks].
    #[arg(long, value_name = "DIR", global = true)]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Create a network: bridge husk-NAME, gateway address, NAT.
    Create {
        /// Network name (letters, digits, '_', '.', '-'; at most 64).
        name: String,
        /// IPv4 subnet [default: the first free 10.89.N.0/24].
        #[arg(long, value_name = "CIDR", value_parser = subnet)]
        subnet: Option<IpNet>,
        /// Gateway address [default: the first host of the subnet].
        #[arg(long, value_name = "IP", value_parser = ip)]
        gateway: Option<IpAddr>,
        /// No outbound NAT (and no published ports).
        #[arg(long)]
        internal: bool,
        /// Also an IPv6 subnet (dual stack).
        #[arg(long, value_name = "CIDR", value_parser = subnet)]
        ipv6: Option<IpNet>,
    },
    /// Connect a namespace: veth pair, address, lo up, default route.
    Connect {
        /// Network name.
        name: String,
        #[command(flatten)]
        target: TargetArgs,
        /// Take this address [default: the lowest free one].
        #[arg(long, value_name = "IP", value_parser = ip)]
        ip: Option<IpAddr>,
        /// Interface name inside the namespace.
        #[arg(long, value_name = "NAME", default_value = "eth0")]
        ifname: String,
        /// Publish a port: HOST:CONTAINER[/tcp|udp] (repeatable).
        #[arg(long, short = 'p', value_name = "HOST:CONTAINER[/PROTO]", value_parser = publish)]
        publish: Vec<Publish>,
    },
    /// Disconnect a namespace: delete its veth pair, free its address.
    Disconnect {
        /// Network name.
        name: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Remove networks (refused while namespaces are connected).
    #[command(visible_alias = "remove")]
    Rm {
        /// Network names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Disconnect connected namespaces first.
        #[arg(long, short = 'f')]
        force: bool,
    },
    /// List networks.
    #[command(visible_alias = "list")]
    Ls {
        /// Use JSON output format.
        #[arg(short = 'J', long)]
        json: bool,
        /// Only print the names.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Show networks as JSON.
    Inspect {
        /// Network names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Debug, ClapArgs)]
#[group(required = true, multiple = false)]
struct TargetArgs {
    /// A named network namespace (/run/netns/NS, as ip netns).
    #[arg(long, value_name = "NS")]
    netns: Option<String>,
    /// The network namespace of a process.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
}

impl TargetArgs {
    fn target(&self) -> Target {
        match (&self.netns, self.pid) {
            (Some(ns), _) => Target::Netns(ns.clone()),
            (None, Some(pid)) => Target::Pid(pid),
            (None, None) => unreachable!("clap requires one"),
        }
    }
}

fn subnet(text: &str) -> Result<IpNet, String> {
    ipam::parse_subnet(text).map_err(|e| e.to_string())
}

fn ip(text: &str) -> Result<IpAddr, String> {
    ipam::parse_ip(text).map_err(|e| e.to_string())
}

/// `HOST:CONTAINER[/tcp|udp]`.
fn publish(text: &str) -> Result<Publish, String> {
    let bad = || format!("invalid port mapping \"{text}\" (want HOST:CONTAINER[/tcp|udp])");
    let (ports, proto) = match text.split_once('/') {
        Some((p, "tcp")) => (p, Proto::Tcp),
        Some((p, "udp")) => (p, Proto::Udp),
        Some(_) => return Err(bad()),
        None => (text, Proto::Tcp),
    };
    let (host, container) = ports.split_once(':').ok_or_else(bad)?;
    let port = |s: &str| s.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad);
    Ok(Publish {
        host_port: port(host)?,
        container_port: port(container)?,
        proto,
    })
}

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    let args: Args = cli::parse(prog, args)?;
    if let Some(hub) = &args.host_netns {
        // The whole process moves (husk is single-threaded): nft, run
        // below, and /proc/sys/net then belong to that namespace too.
        let ns = Registry::default().open(hub)?;
        ns.enter()
            .with_context(|| format!("cannot enter network namespace \"{hub}\""))?;
    }
    let dir = args
        .state_dir
        .or_else(|| std::env::var_os("HUSK_STATE_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(STATE_DIR));
    let nets = Networks::new(Store::new(dir), Registry::default(), "/proc/sys");
    match args.verb {
        Verb::Create {
            name,
            subnet,
            gateway,
            internal,
            ipv6,
        } => {
            let spec = CreateSpec {
                name,
                subnet,
                gateway,
                internal,
                ipv6,
            };
            nets.create(&spec).context("create")?;
        }
        Verb::Connect {
            name,
            target,
            ip,
            ifname,
            publish,
        } => {
            let spec = ConnectSpec {
                ip,
                ifname,
                publish,
            };
            nets.connect(&name, &target.target(), &spec)
                .context("connect")?;
        }
        Verb::Disconnect { name, target } => {
            nets.disconnect(&name, &target.target())
                .context("disconnect")?;
        }
        Verb::Rm { names, force } => {
            for name in names {
                nets.remove(&name, force).context("rm")?;
            }
        }
        Verb::Ls { json, quiet } => ls(&nets.list().context("ls")?, json, quiet),
        Verb::Inspect { names } => {
            let all = names
                .iter()
                .map(|n| nets.inspect(n))
                .collect::<Result<Vec<_>, _>>()
                .context("inspect")?;
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(Exit::OK)
}

fn ls(all: &[Status], json: bool, quiet: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(all).expect("serializes"));
        return;
    }
    if quiet {
        all.iter().for_each(|s| println!("{}", s.state.name));
        return;
    }
    let rows: Vec<[String; 7]> = all
        .iter()
        .map(|s| {
            let n = &s.state;
            let subnets = match n.subnet6 {
                Some(s6) => format!("{},{s6}", n.subnet),
                None => n.subnet.to_string(),
            };
            [
                n.name.clone(),
                n.bridge.clone(),
                subnets,
                n.gateway.to_string(),
                if n.internal { "internal" } else { "masquerade" }.to_owned(),
                n.endpoints.len().to_string(),
                if s.bridge_present {
                    "ok"
                } else {
                    "bridge missing"
                }
                .to_owned(),
            ]
        })
        .collect();
    let head = [
        "NAME",
        "BRIDGE",
        "SUBNET",
        "GATEWAY",
        "NAT",
        "ENDPOINTS",
        "STATUS",
    ]
    .map(String::from);
    let mut widths = head.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    for r in std::iter::once(&head).chain(&rows) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join(" ").trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mappings_parse() {
        let p = publish("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (8080, 80, Proto::Tcp)
        );
        assert_eq!(publish("53:5353/udp").unwrap().proto, Proto::Udp);
        for bad in ["80", "0:80", "80:", "x:80", "80:80/sctp", "70000:80"] {
            assert!(publish(bad).is_err(), "{bad}");
        }
    }
}
