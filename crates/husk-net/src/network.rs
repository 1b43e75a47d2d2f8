//! Bridge networks: the seeds' bridge recipe as a few calls. A network is a
//! bridge (`husk-NAME`) with a gateway address, forwarding on, outbound NAT
//! (unless internal) and an address allocator; [`Networks::connect`] puts a
//! namespace on it with a veth pair, an address, `lo` up and a default
//! route. State is kept by [`crate::state`], rules by [`crate::nat`].
//!
//! Every command locks the state directory, loads the network and
//! reconciles it with the kernel first ([`reconcile`]): an endpoint whose
//! host veth is gone (its namespace was deleted, which deletes the pair) is
//! freed; a bridge that is gone is reported, and re-created by `connect`.
//! Everything a call makes is held by a guard until the call succeeds, so a
//! failure half-way leaves nothing behind.
//!
//! ```no_run
//! use husk_net::network::{ConnectSpec, CreateSpec, Networks, Target};
//! // State in /var/lib/husk/networks, names in /run/netns, sysctls in /proc/sys.
//! let nets = Networks::default();
//! nets.create(&CreateSpec { name: "web".into(), ..CreateSpec::default() })?;
//! let spec = ConnectSpec { ip: None, ifname: "eth0".into(), publish: vec![] };
//! let endpoint = nets.connect("web", &Target::Netns("blue".into()), &spec)?;
//! println!("blue is {} on {}", endpoint.ip, endpoint.host_veth);
//! nets.remove("web", true)?;
//! # Ok::<(), husk_net::network::NetworkError>(())
//! ```

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

use husk_ns::{Namespace, NsError, NsKind};
use ipnet::IpNet;
use serde::Serialize;

use crate::addr::AddrError;
use crate::ipam::{self, IpamError, Pool};
use crate::link::{check_ifname, Created, LinkChange, LinkError, LinkGuard, NewLink};
use crate::nat::{self, NatError};
use crate::netns::{NetnsError, Registry};
use crate::route::{RouteError, RouteSpec};
use crate::state::{Endpoint, NetworkState, Publish, StateError, Store};
use crate::{Netlink, NetlinkError};

/// Longest network name.
pub const NAME_MAX: usize = 64;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The network name is not allowed.
    #[error("invalid network name \"{0}\": {1}")]
    InvalidName(String, &'static str),
    /// A network of that name exists.
    #[error("network \"{0}\" already exists")]
    Exists(String),
    /// No network of that name.
    #[error("network \"{0}\" not found")]
    NotFound(String),
    /// The bridge's name is taken by a link husk did not make for it.
    #[error("cannot create bridge {0}: a device of that name exists")]
    BridgeExists(String),
    /// Two network names map to the same bridge name.
    #[error("bridge name {0} is already used by network \"{1}\"")]
    BridgeTaken(String, String),
    /// The subnet overlaps a route or another network.
    #[error("subnet {0} overlaps {1}")]
    SubnetInUse(IpNet, String),
    /// Publishing on an internal network.
    #[error("network \"{0}\" is internal: it has no NAT to publish ports through")]
    InternalPublish(String),
    /// A host port already published.
    #[error("port {0}/{1} is already published by network \"{2}\"")]
    PortTaken(u16, &'static str, String),
    /// The namespace is connected already.
    #[error("{0} is already connected to network \"{1}\"")]
    AlreadyConnected(String, String),
    /// The namespace is not connected.
    #[error("{0} is not connected to network \"{1}\"")]
    NotConnected(String, String),
    /// The interface name is taken inside the namespace.
    #[error("device \"{0}\" already exists in {1}")]
    IfnameTaken(String, String),
    /// `rm` of a network with endpoints, without force.
    #[error("network \"{0}\" is in use by {1} namespace(s) (disconnect them, or use --force)")]
    InUse(String, usize),
    /// A process's network namespace could not be opened.
    #[error("cannot open the network namespace of process {0}")]
    Pid(u32, #[source] NsError),
    /// A sysctl could not be written.
    #[error("cannot write {0}")]
    Sysctl(PathBuf, #[source] io::Error),
    /// An address was refused by the allocator.
    #[error(transparent)]
    Ipam(#[from] IpamError),
    /// State could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The NAT rules could not be applied.
    #[error(transparent)]
    Nat(#[from] NatError),
    /// A netlink socket could not be opened.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// A named namespace could not be opened.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// A link step failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// An address step failed.
    #[error(transparent)]
    Addr(#[from] AddrError),
    /// A route step failed.
    #[error(transparent)]
    Route(#[from] RouteError),
}

type Result<T> = std::result::Result<T, NetworkError>;

/// Checks a network name: 1 to 64 bytes of `A-Z a-z 0-9 _ . -`, starting
/// with a letter or digit (it names a file and goes into rule comments).
///
/// ```
/// use husk_net::network::check_name;
/// assert!(check_name("web-1").is_ok());
/// assert!(check_name("../x").is_err());
/// ```
pub fn check_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "empty"
    } else if name.len() > NAME_MAX {
        "longer than 64 bytes"
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        "must start with a letter or digit"
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        "only letters, digits, '_', '.' and '-' are allowed"
    } else {
        return Ok(());
    };
    Err(NetworkError::InvalidName(name.to_owned(), why))
}

/// 64-bit FNV-1a: a stable hash for names (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The bridge of network `name`: `husk-NAME` when that fits in 15 bytes,
/// else `husk-` + the first 5 bytes + `-` + 4 hex digits of a hash of the
/// whole name (`husk-front-3f2a`), so long names stay recognisable.
///
/// ```
/// use husk_net::network::bridge_name;
/// assert_eq!(bridge_name("web"), "husk-web");
/// assert_eq!(bridge_name("production-frontend").len(), 15);
/// assert!(bridge_name("production-frontend").starts_with("husk-produ-"));
/// ```
pub fn bridge_name(name: &str) -> String {
    let full = format!("husk-{name}");
    if full.len() <= crate::link::IFNAME_MAX {
        return full;
    }
    let head: String = name.chars().take(5).collect();
    format!("husk-{head}-{:04x}", fnv1a(name.as_bytes()) & 0xffff)
}

/// The host end of the veth pair of namespace `ns` on network `net`:
/// `hk` + 12 hex digits of a hash of both, so it is the same every time
/// (a second connect of the same namespace collides) and fits 15 bytes.
pub fn veth_name(net: &str, ns: husk_ns::NsId) -> String {
    let key = format!("{net}\0{}:{}", ns.dev, ns.ino);
    format!("hk{:012x}", fnv1a(key.as_bytes()) & 0xffff_ffff_ffff)
}

/// Frees the endpoints whose host veth is not among `links` (the names of
/// the host's links) and says whether the bridge is there. Pure: the caller
/// saves the state if something was freed.
pub fn reconcile(net: &mut NetworkState, links: &HashSet<String>) -> (bool, Vec<Endpoint>) {
    let (kept, freed) = std::mem::take(&mut net.endpoints)
        .into_iter()
        .partition(|e| links.contains(&e.host_veth));
    net.endpoints = kept;
    (links.contains(&net.bridge), freed)
}

/// What `create` makes.
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    /// The network's name.
    pub name: String,
    /// IPv4 subnet (default: the first free `/24` of [`ipam::DEFAULT_POOL`]).
    pub subnet: Option<IpNet>,
    /// IPv4 gateway (default: the first host address).
    pub gateway: Option<IpAddr>,
    /// No outbound NAT.
    pub internal: bool,
    /// IPv6 subnet, for a dual-stack network.
    pub ipv6: Option<IpNet>,
}

/// The namespace to connect or disconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A name under `/run/netns`.
    Netns(String),
    /// The network namespace of a process.
    Pid(u32),
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    /// The address to take (default: the lowest free one).
    pub ip: Option<IpAddr>,
    /// The interface name inside the namespace.
    pub ifname: String,
    /// Ports to publish.
    pub publish: Vec<Publish>,
}

/// A network as stored, with what the kernel has.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The stored state (after reconciliation).
    #[serde(flatten)]
    pub state: NetworkState,
    /// Whether the bridge exists.
    pub bridge_present: bool,
}

/// Networks of one host: the state directory, the named namespaces and
/// `/proc/sys` (parameters, so tests can point them elsewhere). Acts in
/// the calling thread's network namespace.
#[derive(Debug, Clone)]
pub struct Networks {
    store: Store,
    reg: Registry,
    proc_sys: PathBuf,
}

impl Default for Networks {
    fn default() -> Self {
        Networks::new(Store::default(), Registry::default(), "/proc/sys")
    }
}

impl Networks {
    /// Networks kept in `store`, namespaces named in `reg`, sysctls under
    /// `proc_sys`.
    pub fn new(store: Store, reg: Registry, proc_sys: impl Into<PathBuf>) -> Networks {
        Networks {
            store,
            reg,
            proc_sys: proc_sys.into(),
        }
    }

    fn open_target(&self, target: &Target) -> Result<(Namespace, String)> {
        match target {
            Target::Netns(name) => Ok((self.reg.open(name)?, format!("namespace \"{name}\""))),
            Target::Pid(pid) => {
                let ns = Namespace::open_kind(format!("/proc/{pid}/ns/net"), NsKind::Net)
                    .map_err(|e| NetworkError::Pid(*pid, e))?;
                Ok((ns, format!("process {pid}")))
            }
        }
    }

    /// `husk network create`: bridge, gateway address(es), up, forwarding,
    /// NAT rules, state — in that order, undone on failure.
    pub fn create(&self, spec: &CreateSpec) -> Result<NetworkState> {
        check_name(&spec.name)?;
        let bridge = bridge_name(&spec.name);
        let locked = self.store.lock()?;
        if locked.load(&spec.name)?.is_some() {
            return Err(NetworkError::Exists(spec.name.clone()));
        }
        let mut all = locked.load_all()?;
        if let Some(other) = all.iter().find(|n| n.bridge == bridge) {
            return Err(NetworkError::BridgeTaken(bridge, other.name.clone()));
        }
        let mut host = Netlink::open()?;
        if host.link(&bridge).is_ok() {
            return Err(NetworkError::BridgeExists(bridge));
        }
        let pool = Pool::new(self.pick_subnet(&mut host, &all, spec)?, spec.gateway)?;
        let pool6 = spec.ipv6.map(|s| Pool::new(s, None)).transpose()?;
        let state = NetworkState {
            name: spec.name.clone(),
            bridge,
            subnet: pool.subnet(),
            gateway: pool.gateway(),
            subnet6: pool6.map(|p| p.subnet()),
            gateway6: pool6.map(|p| p.gateway()),
            internal: spec.internal,
            endpoints: Vec::new(),
        };
        let guard = make_bridge(&mut host, &state)?;
        self.enable_forwarding(pool6.is_some())?;
        all.push(state.clone());
        nat::apply(&all)?;
        if let Err(e) = locked.save(&state) {
            all.pop();
            let _ = nat::apply(&all);
            return Err(e.into());
        }
        guard.disarm();
        Ok(state)
    }

    /// The given subnet if it collides with nothing, else the first free
    /// default one. "Nothing": the host's IPv4 routes (but the default
    /// route) and the other networks' subnets.
    fn pick_subnet(
        &self,
        host: &mut Netlink,
        all: &[NetworkState],
        spec: &CreateSpec,
    ) -> Result<IpNet> {
        let mut used: Vec<(IpNet, String)> = host
            .routes(false)?
            .into_iter()
            .filter_map(|r| r.dst)
            .filter(|d| d.prefix_len() > 0)
            .map(|d| (d, format!("route {d}")))
            .collect();
        used.extend(all.iter().flat_map(|n| {
            let mut v = vec![(n.subnet, format!("network \"{}\"", n.name))];
            v.extend(n.subnet6.map(|s| (s, format!("network \"{}\"", n.name))));
            v
        }));
        let check = |s: IpNet| match used.iter().find(|(u, _)| ipam::overlaps(u, &s)) {
            Some((_, what)) => Err(NetworkError::SubnetInUse(s, what.clone())),
            None => Ok(s),
        };
        if let Some(s6) = spec.ipv6 {
            check(s6)?;
        }
        match spec.subnet {
            Some(s) => check(s),
            None => {
                let nets: Vec<IpNet> = used.iter().map(|(u, _)| *u).collect();
                Ok(ipam::default_subnet(&nets)?)
            }
        }
    }

    /// `net.ipv4.ip_forward = 1` (and IPv6 `conf.all.forwarding`) in this
    /// network namespace. Left on by `rm`: other things may rely on it.
    fn enable_forwarding(&self, v6: bool) -> Result<()> {
        let mut keys = vec!["net/ipv4/ip_forward"];
        if v6 {
            keys.push("net/ipv6/conf/all/forwarding");
        }
        for key in keys {
            let path = self.proc_sys.join(key);
            fs::write(&path, "1").map_err(|e| NetworkError::Sysctl(path, e))?;
        }
        Ok(())
    }

    /// Loads network `name` and reconciles it (saving what was freed, and
    /// re-applying NAT if freed endpoints had published ports). Returns
    /// the state, whether the bridge exists, and the host's socket.
    fn load_reconciled(
        &self,
        locked: &crate::state::Locked<'_>,
        name: &str,
    ) -> Result<(NetworkState, bool, Netlink)> {
        let mut net = locked
            .load(name)?
            .ok_or_else(|| NetworkError::NotFound(name.to_owned()))?;
        let mut host = Netlink::open()?;
        let links: HashSet<String> = host.links()?.into_iter().map(|l| l.name).collect();
        let (present, freed) = reconcile(&mut net, &links);
        if !freed.is_empty() {
            locked.save(&net)?;
            if freed.iter().any(|e| !e.publish.is_empty()) {
                nat::apply(&locked.load_all()?)?;
            }
        }
        Ok((net, present, host))
    }

    /// `husk network connect`: see the crate docs (`docs/net.md`) for the
    /// steps; undone on failure (the veth pair goes, and its addresses and
    /// routes with it).
    pub fn connect(&self, name: &str, target: &Target, spec: &ConnectSpec) -> Result<Endpoint> {
        check_ifname(&spec.ifname)?;
        let (ns, label) = self.open_target(target)?;
        let locked = self.store.lock()?;
        let (mut net, present, mut host) = self.load_reconciled(&locked, name)?;
        let id = ns.id();
        if net
            .endpoints
            .iter()
            .any(|e| e.ns_dev == id.dev && e.ns_ino == id.ino)
        {
            return Err(NetworkError::AlreadyConnected(label, name.to_owned()));
        }
        if net.internal && !spec.publish.is_empty() {
            return Err(NetworkError::InternalPublish(name.to_owned()));
        }
        // The other networks matter only for their ports and NAT rules.
        let nat_change = !spec.publish.is_empty() || !present;
        let mut all = if nat_change {
            locked.load_all()?
        } else {
            Vec::new()
        };
        check_ports(&all, &spec.publish)?;
        let (ip, ip6) = allocate(&net, spec.ip)?;
        let mut inside = Netlink::open_in(&ns)?;
        if inside.link(&spec.ifname).is_ok() {
            return Err(NetworkError::IfnameTaken(spec.ifname.clone(), label));
        }
        let bridge_guard = if present {
            None
        } else {
            Some(rebuild_bridge(&mut host, &net)?)
        };
        let host_veth = veth_name(name, id);
        let peer = NewLink::Veth {
            peer: &spec.ifname,
            netns: Some(&ns),
        };
        // One request: the pair, the host end up on the bridge, the peer
        // inside the namespace under its final name.
        let created = Created {
            up: true,
            master: Some(host.link_index(&net.bridge)?),
        };
        host.add_link_with(&host_veth, peer, &created)?;
        let guard = LinkGuard::new(None, &host_veth).inspect_err(|_| {
            let _ = host.del_link(&host_veth);
        })?;
        configure_inside(&mut inside, &net, &spec.ifname, ip, ip6)?;
        let endpoint = Endpoint {
            netns: match target {
                Target::Netns(n) => n.clone(),
                Target::Pid(p) => format!("pid:{p}"),
            },
            ns_dev: id.dev,
            ns_ino: id.ino,
            host_veth,
            ifname: spec.ifname.clone(),
            ip,
            ip6,
            publish: spec.publish.clone(),
        };
        net.endpoints.push(endpoint.clone());
        if nat_change {
            all.retain(|n| n.name != net.name);
            all.push(net.clone());
            nat::apply(&all)?;
        }
        locked.save(&net)?;
        guard.disarm();
        if let Some(g) = bridge_guard {
            g.disarm();
        }
        Ok(endpoint)
    }

    /// `husk network disconnect`: deletes the namespace's veth pair (its
    /// addresses and routes go with it) and frees its address.
    pub fn disconnect(&self, name: &str, target: &Target) -> Result<Endpoint> {
        let (ns, label) = self.open_target(target)?;
        let locked = self.store.lock()?;
        let (mut net, _, mut host) = self.load_reconciled(&locked, name)?;
        let id = ns.id();
        let at = net
            .endpoints
            .iter()
            .position(|e| e.ns_dev == id.dev && e.ns_ino == id.ino)
            .ok_or_else(|| NetworkError::NotConnected(label, name.to_owned()))?;
        let endpoint = net.endpoints.remove(at);
        del_if_present(&mut host, &endpoint.host_veth)?;
        locked.save(&net)?;
        if !endpoint.publish.is_empty() {
            nat::apply(&locked.load_all()?)?;
        }
        Ok(endpoint)
    }

    /// `husk network rm`: refuses while namespaces are connected unless
    /// `force`; deletes their veth pairs, the bridge, the NAT rules, the
    /// state.
    pub fn remove(&self, name: &str, force: bool) -> Result<()> {
        let locked = self.store.lock()?;
        let (net, _, mut host) = self.load_reconciled(&locked, name)?;
        if !net.endpoints.is_empty() && !force {
            return Err(NetworkError::InUse(name.to_owned(), net.endpoints.len()));
        }
        for e in &net.endpoints {
            del_if_present(&mut host, &e.host_veth)?;
        }
        del_if_present(&mut host, &net.bridge)?;
        let rest: Vec<_> = locked
            .load_all()?
            .into_iter()
            .filter(|n| n.name != name)
            .collect();
        nat::apply(&rest)?;
        locked.remove(name)?;
        Ok(())
    }

    /// `husk network ls`: every network, reconciled.
    pub fn list(&self) -> Result<Vec<Status>> {
        let names: Vec<String> = {
            let locked = self.store.lock()?;
            locked.load_all()?.into_iter().map(|n| n.name).collect()
        };
        names.iter().map(|n| self.inspect(n)).collect()
    }

    /// `husk network inspect`: one network, reconciled.
    pub fn inspect(&self, name: &str) -> Result<Status> {
        check_name(name)?;
        let locked = self.store.lock()?;
        let (state, bridge_present, _) = self.load_reconciled(&locked, name)?;
        Ok(Status {
            state,
            bridge_present,
        })
    }
}

/// No host port of `publish` is published already (by any network), and
/// none twice.
fn check_ports(all: &[NetworkState], publish: &[Publish]) -> Result<()> {
    for (i, p) in publish.iter().enumerate() {
        let clash = |q: &Publish| q.host_port == p.host_port && q.proto == p.proto;
        let owner = all
            .iter()
            .find(|n| n.endpoints.iter().flat_map(|e| &e.publish).any(clash))
            .map(|n| n.name.clone())
            .or_else(|| {
                publish[..i]
                    .iter()
                    .any(clash)
                    .then(|| "this command".to_owned())
            });
        if let Some(owner) = owner {
            return Err(NetworkError::PortTaken(
                p.host_port,
                p.proto.as_str(),
                owner,
            ));
        }
    }
    Ok(())
}

/// The endpoint's IPv4 address (requested and checked, or the lowest
/// free) and, on dual-stack networks, its IPv6 address.
fn allocate(net: &NetworkState, want: Option<IpAddr>) -> Result<(IpAddr, Option<IpAddr>)> {
    let pool = Pool::new(net.subnet, Some(net.gateway))?;
    let taken: BTreeSet<IpAddr> = net.endpoints.iter().map(|e| e.ip).collect();
    let ip = match want {
        Some(ip) => pool.check(ip, &taken).map(|()| ip)?,
        None => pool.allocate(&taken)?,
    };
    let ip6 = match net.subnet6 {
        Some(s6) => {
            let pool6 = Pool::new(s6, net.gateway6)?;
            let taken6: BTreeSet<IpAddr> = net.endpoints.iter().filter_map(|e| e.ip6).collect();
            Some(pool6.allocate(&taken6)?)
        }
        None => None,
    };
    Ok((ip, ip6))
}

fn up_on(master: u32) -> LinkChange<'static> {
    LinkChange {
        up: Some(true),
        master: Some(master),
        ..LinkChange::default()
    }
}

fn up() -> LinkChange<'static> {
    LinkChange {
        up: Some(true),
        ..LinkChange::default()
    }
}

/// Deletes link `name`; one that is already gone is fine.
fn del_if_present(nl: &mut Netlink, name: &str) -> Result<()> {
    match nl.del_link(name) {
        Ok(()) | Err(LinkError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The bridge with its gateway address(es), up; deleted again when the
/// returned guard drops armed.
fn make_bridge(host: &mut Netlink, net: &NetworkState) -> Result<LinkGuard> {
    host.add_link(&net.bridge, NewLink::Bridge)?;
    let guard = LinkGuard::new(None, &net.bridge).inspect_err(|_| {
        let _ = host.del_link(&net.bridge);
    })?;
    let index = host.link_index(&net.bridge)?;
    let prefix = net.subnet.prefix_len();
    host.add_address(
        index,
        IpNet::new(net.gateway, prefix).expect("valid"),
        false,
    )?;
    if let (Some(s6), Some(g6)) = (net.subnet6, net.gateway6) {
        let gw6 = IpNet::new(g6, s6.prefix_len()).expect("valid");
        host.add_address(index, gw6, true)?;
    }
    host.set_link(&net.bridge, &up())?;
    Ok(guard)
}

/// A bridge that went missing, made again, with the endpoints' veths that
/// are still there put back on it.
fn rebuild_bridge(host: &mut Netlink, net: &NetworkState) -> Result<LinkGuard> {
    let guard = make_bridge(host, net)?;
    let master = host.link_index(&net.bridge)?;
    for e in &net.endpoints {
        host.set_link(&e.host_veth, &up_on(master))?;
    }
    Ok(guard)
}

/// Inside the namespace: the address(es) on `ifname`, `ifname` and `lo`
/// up, default route(s) via the gateway. A default route that exists
/// already (another network's) is kept.
fn configure_inside(
    inside: &mut Netlink,
    net: &NetworkState,
    ifname: &str,
    ip: IpAddr,
    ip6: Option<IpAddr>,
) -> Result<()> {
    let index = inside.link_index(ifname)?;
    let v4 = IpNet::new(ip, net.subnet.prefix_len()).expect("valid");
    inside.add_address(index, v4, false)?;
    let v6 = match (ip6, net.subnet6, net.gateway6) {
        (Some(ip6), Some(s6), Some(g6)) => {
            Some((IpNet::new(ip6, s6.prefix_len()).expect("valid"), g6))
        }
        _ => None,
    };
    if let Some((a6, _)) = v6 {
        inside.add_address(index, a6, true)?;
    }
    inside.set_link(ifname, &up())?;
    inside.set_link("lo", &up())?;
    let mut gateways = vec![net.gateway];
    gateways.extend(v6.map(|(_, g6)| g6));
    for gw in gateways {
        let route = RouteSpec {
            dst: None,
            via: Some(gw),
            dev: Some(index),
            v6: gw.is_ipv6(),
        };
        match inside.add_route(&route) {
            Err(RouteError::Add(_, e)) if e.raw_os_error() == Some(libc::EEXIST) => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names_are_checked() {
        for good in ["a", "web-1", "x.y_z", &"n".repeat(64)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", ".a", "a/b", "a b", "ü", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_names_get_a_short_stable_bridge_name() {
        assert_eq!(bridge_name("0123456789"), "husk-0123456789");
        let long = bridge_name("01234567890");
        assert_eq!(long.len(), 15);
        assert!(long.starts_with("husk-01234-"), "{long}");
        assert_eq!(long, bridge_name("01234567890"), "stable");
        assert_ne!(long, bridge_name("01234567891"));
        check_ifname(&long).unwrap();
    }

    #[test]
    fn veth_names_fit_and_differ_per_network_and_namespace() {
        let a = husk_ns::NsId { dev: 4, ino: 100 };
        let b = husk_ns::NsId { dev: 4, ino: 101 };
        let n = veth_name("net", a);
        assert_eq!(n.len(), 14);
        check_ifname(&n).unwrap();
        assert_eq!(n, veth_name("net", a));
        assert_ne!(n, veth_name("net", b));
        assert_ne!(n, veth_name("other", a));
    }

    #[test]
    fn reconcile_frees_endpoints_whose_veth_is_gone() {
        let ep = |veth: &str, ip: &str| Endpoint {
            netns: "x".into(),
            ns_dev: 1,
            ns_ino: 2,
            host_veth: veth.into(),
            ifname: "eth0".into(),
            ip: ip.parse().unwrap(),
            ip6: None,
            publish: vec![],
        };
        let mut net = NetworkState {
            name: "n".into(),
            bridge: "husk-n".into(),
            subnet: "10.89.0.0/24".parse().unwrap(),
            gateway: "10.89.0.1".parse().unwrap(),
            subnet6: None,
            gateway6: None,
            internal: false,
            endpoints: vec![ep("hk1", "10.89.0.2"), ep("hk2", "10.89.0.3")],
        };
        let links: HashSet<String> = ["hk2".to_owned()].into();
        let (bridge, freed) = reconcile(&mut net, &links);
        assert!(!bridge);
        assert_eq!(freed.len(), 1);
        assert_eq!(freed[0].host_veth, "hk1");
        assert_eq!(net.endpoints.len(), 1);
        // The freed address is handed out again.
        assert_eq!(allocate(&net, None).unwrap().0.to_string(), "10.89.0.2");
        assert!(matches!(
            allocate(&net, Some("10.89.0.3".parse().unwrap())),
            Err(NetworkError::Ipam(IpamError::Taken(_)))
        ));
    }

    #[test]
    fn ports_are_published_once() {
        let p = |port| Publish {
            host_port: port,
            container_port: 80,
            proto: crate::state::Proto::Tcp,
        };
        assert!(check_ports(&[], &[p(1), p(2)]).is_ok());
        let err = check_ports(&[], &[p(1), p(1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "port 1/tcp is already published by network \"this command\""
        );
    }
}
