//! Network interfaces over netlink: list, look up, create veth pairs and
//! bridges, change (up/down, master, namespace, name, mtu) and delete.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use husk_ns::Namespace;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, LinkMode, State,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::Netlink;

/// Longest interface name: `IFNAMSIZ` (16) less the terminating NUL.
pub const IFNAME_MAX: usize = 15;

/// Why a link operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The name cannot be an interface name.
    #[error("\"{name}\" is not a valid interface name: {why}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// No such device in this namespace.
    #[error("cannot find device \"{0}\"")]
    NotFound(String),
    /// The kernel refused to create the link.
    #[error("cannot add link {0}")]
    Add(String, #[source] io::Error),
    /// The kernel refused a change.
    #[error("cannot change link {0}")]
    Set(String, #[source] io::Error),
    /// The kernel refused to delete the link.
    #[error("cannot delete link {0}")]
    Del(String, #[source] io::Error),
    /// Links could not be listed or looked up.
    #[error("cannot list links")]
    List(#[source] io::Error),
}

/// Checks an interface name as the kernel and iproute2 do: 1 to 15 bytes,
/// no `/`, `:` or white space, not `.` or `..`.
///
/// ```
/// use husk_net::link::check_ifname;
/// assert!(check_ifname("veth0").is_ok());
/// assert!(check_ifname("a-name-of-16-byt").is_err());
/// ```
pub fn check_ifname(name: &str) -> Result<(), LinkError> {
    let why = if name.is_empty() {
        "empty"
    } else if name.len() > IFNAME_MAX {
        "longer than 15 bytes"
    } else if name == "." || name == ".." {
        "reserved"
    } else if name.contains(['/', ':']) || name.chars().any(char::is_whitespace) {
        "contains '/', ':' or white space"
    } else {
        return Ok(());
    };
    Err(LinkError::InvalidName {
        name: name.to_owned(),
        why,
    })
}

/// The kind of link to create.
#[derive(Debug, Clone, Copy)]
pub enum NewLink<'a> {
    /// A veth pair; the peer end optionally created straight in `netns`.
    Veth {
        /// Name of the other end.
        peer: &'a str,
        /// Namespace to create the peer in (default: the same as the link).
        netns: Option<&'a Namespace>,
    },
    /// A Linux bridge (a virtual switch).
    Bridge,
}

/// Changes to a link, applied in one `RTM_NEWLINK` request as `ip link set`
/// does (the kernel moves the namespace first, then renames, sets the mtu,
/// the flags and the master).
#[derive(Debug, Default, Clone)]
pub struct LinkChange<'a> {
    /// Bring the link up (`Some(true)`) or down.
    pub up: Option<bool>,
    /// Enslave to this master (by index); `Some(0)` releases (`nomaster`).
    pub master: Option<u32>,
    /// Move into this network namespace.
    pub netns: Option<&'a Namespace>,
    /// Rename.
    pub name: Option<String>,
    /// Set the MTU.
    pub mtu: Option<u32>,
}

/// What the kernel sets while creating a link ([`Netlink::add_link_with`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Created {
    /// Up at once.
    pub up: bool,
    /// Enslaved at once to this master (by index).
    pub master: Option<u32>,
}

fn set_up(msg: &mut LinkMessage) {
    msg.header.change_mask = LinkFlags::Up;
    msg.header.flags = LinkFlags::Up;
}

/// One network interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Index of the master (bridge) this link is enslaved to.
    pub master: Option<u32>,
    /// Index of the peer (`IFLA_LINK`), for veth and the like.
    pub peer: Option<u32>,
    /// Namespace id of the peer's namespace, when it is elsewhere.
    pub peer_netnsid: Option<i32>,
    /// Kind (`veth`, `bridge`, ...), for virtual links.
    pub kind: Option<String>,
    /// Operational state as `ip` names it (`UP`, `DOWN`, `UNKNOWN`, ...).
    pub operstate: &'static str,
    /// ARPHRD_* hardware type.
    pub link_type: u16,
    /// Hardware address.
    pub address: Vec<u8>,
    /// Hardware broadcast address.
    pub broadcast: Vec<u8>,
    /// Queueing discipline.
    pub qdisc: Option<String>,
    /// Transmit queue length.
    pub txqlen: Option<u32>,
    /// Link mode as `ip` names it (`DEFAULT`, `DORMANT`, `TESTING`).
    pub mode: &'static str,
    /// Device group (0 is `default`).
    pub group: u32,
}

/// `IFF_*` flag names in the order `ip link` prints them.
const FLAG_NAMES: [(u32, &str); 18] = [
    (0x8, "LOOPBACK"),
    (0x2, "BROADCAST"),
    (0x10, "POINTOPOINT"),
    (0x1000, "MULTICAST"),
    (0x80, "NOARP"),
    (0x200, "ALLMULTI"),
    (0x100, "PROMISC"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x4, "DEBUG"),
    (0x8000, "DYNAMIC"),
    (0x4000, "AUTOMEDIA"),
    (0x2000, "PORTSEL"),
    (0x20, "NOTRAILERS"),
    (0x1, "UP"),
    (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
    (0x40000, "ECHO"),
];

impl Link {
    /// Whether `IFF_UP` is set.
    pub fn is_up(&self) -> bool {
        self.flags & 0x1 != 0
    }

    /// The flags as `ip link` names them, `NO-CARRIER` first when up
    /// without carrier.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.is_up() && self.flags & 0x40 == 0 {
            names.push("NO-CARRIER");
        }
        names.extend(
            FLAG_NAMES
                .iter()
                .filter(|(bit, _)| self.flags & bit != 0)
                .map(|(_, n)| *n),
        );
        names
    }

    /// The hardware type as `ip link` names it (`ether`, `loopback`, ...).
    pub fn link_type_name(&self) -> String {
        match self.link_type {
            1 => "ether".into(),
            772 => "loopback".into(),
            65534 => "none".into(),
            other => format!("[{other}]"),
        }
    }

    fn from_message(msg: LinkMessage) -> Link {
        let mut link = Link {
            index: msg.header.index,
            name: String::new(),
            flags: msg.header.flags.bits(),
            mtu: 0,
            master: None,
            peer: None,
            peer_netnsid: None,
            kind: None,
            operstate: "UNKNOWN",
            link_type: u16::from(msg.header.link_layer_type),
            address: Vec::new(),
            broadcast: Vec::new(),
            qdisc: None,
            txqlen: None,
            mode: "DEFAULT",
            group: 0,
        };
        for attr in msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name = n,
                LinkAttribute::Mtu(m) => link.mtu = m,
                LinkAttribute::Controller(m) => link.master = Some(m),
                LinkAttribute::Link(p) => link.peer = Some(p),
                LinkAttribute::LinkNetNsId(id) => link.peer_netnsid = Some(id),
                LinkAttribute::Address(a) => link.address = a,
                LinkAttribute::Broadcast(a) => link.broadcast = a,
                LinkAttribute::Qdisc(q) => link.qdisc = Some(q),
                LinkAttribute::TxQueueLen(q) => link.txqlen = Some(q),
                LinkAttribute::OperState(s) => link.operstate = state_name(s),
                LinkAttribute::Mode(m) => {
                    link.mode = match m {
                        LinkMode::Dormant => "DORMANT",
                        LinkMode::Testing => "TESTING",
                        _ => "DEFAULT",
                    }
                }
                LinkAttribute::Group(g) => link.group = g,
                LinkAttribute::LinkInfo(infos) => {
                    link.kind = infos.into_iter().find_map(|i| match i {
                        LinkInfo::Kind(k) => Some(k.to_string()),
                        _ => None,
                    })
                }
                _ => {}
            }
        }
        link
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Up => "UP",
        State::Down => "DOWN",
        State::LowerLayerDown => "LOWERLAYERDOWN",
        State::Testing => "TESTING",
        State::Dormant => "DORMANT",
        State::NotPresent => "NOTPRESENT",
        _ => "UNKNOWN",
    }
}

fn ns_fd(ns: &Namespace) -> LinkAttribute {
    LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd())
}

impl Netlink {
    /// Every link of this namespace, by index.
    pub fn links(&mut self) -> Result<Vec<Link>, LinkError> {
        let msgs = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .map_err(LinkError::List)?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(Link::from_message(l)),
                _ => None,
            })
            .collect())
    }

    /// The link called `name` (`ENODEV` becomes [`LinkError::NotFound`]).
    pub fn link(&mut self, name: &str) -> Result<Link, LinkError> {
        check_ifname(name).map_err(|_| LinkError::NotFound(name.to_owned()))?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match self.query(RouteNetlinkMessage::GetLink(msg)) {
            Ok(RouteNetlinkMessage::NewLink(l)) => Ok(Link::from_message(l)),
            Ok(_) => Err(LinkError::NotFound(name.to_owned())),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                Err(LinkError::NotFound(name.to_owned()))
            }
            Err(e) => Err(LinkError::List(e)),
        }
    }

    /// The index of link `name`.
    pub fn link_index(&mut self, name: &str) -> Result<u32, LinkError> {
        self.link(name).map(|l| l.index)
    }

    /// Creates link `name` (`ip link add NAME type veth|bridge`); fails
    /// with `EEXIST` if the name (or the peer's) is taken.
    pub fn add_link(&mut self, name: &str, kind: NewLink<'_>) -> Result<(), LinkError> {
        self.add_link_with(name, kind, &Created::default())
    }

    /// [`add_link`](Netlink::add_link), with `opts` applied by the kernel
    /// while it creates the link: the same one request (`rtnl_newlink`
    /// applies the `ifinfomsg` flags and enslaves to `IFLA_MASTER` before
    /// it answers), instead of one `ip link set` each afterwards. (Not for
    /// a veth's peer: the kernel opens the peer before the pair is joined,
    /// and `veth_open` refuses that with `ENOTCONN`.)
    pub fn add_link_with(
        &mut self,
        name: &str,
        kind: NewLink<'_>,
        opts: &Created,
    ) -> Result<(), LinkError> {
        check_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        if opts.up {
            set_up(&mut msg);
        }
        if let Some(master) = opts.master {
            msg.attributes.push(LinkAttribute::Controller(master));
        }
        let info = match kind {
            NewLink::Bridge => vec![LinkInfo::Kind(InfoKind::Bridge)],
            NewLink::Veth { peer, netns } => {
                check_ifname(peer)?;
                let mut p = LinkMessage::default();
                p.attributes.push(LinkAttribute::IfName(peer.to_owned()));
                if let Some(ns) = netns {
                    p.attributes.push(ns_fd(ns));
                }
                vec![
                    LinkInfo::Kind(InfoKind::Veth),
                    LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
                ]
            }
        };
        msg.attributes.push(LinkAttribute::LinkInfo(info));
        self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
            .map_err(|e| LinkError::Add(name.to_owned(), e))
    }

    /// Applies `change` to link `name` (`ip link set`).
    pub fn set_link(&mut self, name: &str, change: &LinkChange<'_>) -> Result<(), LinkError> {
        if let Some(new) = &change.name {
            check_ifname(new)?;
        }
        let index = self.link_index(name)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        if let Some(up) = change.up {
            msg.header.change_mask = LinkFlags::Up;
            msg.header.flags = if up {
                LinkFlags::Up
            } else {
                LinkFlags::empty()
            };
        }
        if let Some(ns) = change.netns {
            msg.attributes.push(ns_fd(ns));
        }
        if let Some(new) = &change.name {
            msg.attributes.push(LinkAttribute::IfName(new.clone()));
        }
        if let Some(mtu) = change.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(master) = change.master {
            msg.attributes.push(LinkAttribute::Controller(master));
        }
        self.request(RouteNetlinkMessage::NewLink(msg), 0)
            .map_err(|e| LinkError::Set(name.to_owned(), e))
    }

    /// Deletes link `name` (a veth's peer goes with it).
    pub fn del_link(&mut self, name: &str) -> Result<(), LinkError> {
        let index = self.link_index(name)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.request(RouteNetlinkMessage::DelLink(msg), 0)
            .map_err(|e| LinkError::Del(name.to_owned(), e))
    }
}

/// A link deleted on Drop unless [`disarm`](LinkGuard::disarm)ed: hold it
/// while building on a new link, and a failure half-way leaves nothing.
///
/// It owns a socket of its own (in the namespace the link is in), so the
/// caller's [`Netlink`] stays free for the next steps.
#[derive(Debug)]
pub struct LinkGuard {
    nl: Netlink,
    name: String,
    armed: bool,
}

impl LinkGuard {
    /// Guards link `name` in namespace `netns` (`None`: the caller's).
    pub fn new(netns: Option<&Namespace>, name: &str) -> Result<LinkGuard, crate::NetlinkError> {
        let nl = match netns {
            Some(ns) => Netlink::open_in(ns)?,
            None => Netlink::open()?,
        };
        Ok(LinkGuard {
            nl,
            name: name.to_owned(),
            armed: true,
        })
    }

    /// Keeps the link: the guard no longer deletes it.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.nl.del_link(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guarded_link_is_deleted_unless_disarmed() {
        husk_testkit::require_root!();
        // A private namespace for this thread only: nothing on the host.
        let _switch = crate::switch::NetnsSwitch::enter_new().expect("new netns");
        let mut nl = Netlink::open().unwrap();
        nl.add_link("hkg0", NewLink::Bridge).unwrap();
        drop(LinkGuard::new(None, "hkg0").unwrap());
        assert!(matches!(nl.link("hkg0"), Err(LinkError::NotFound(_))));
        nl.add_link(
            "hkg1",
            NewLink::Veth {
                peer: "hkg2",
                netns: None,
            },
        )
        .unwrap();
        LinkGuard::new(None, "hkg1").unwrap().disarm();
        assert_eq!(
            nl.link("hkg2").unwrap().peer,
            Some(nl.link_index("hkg1").unwrap())
        );
    }

    #[test]
    fn interface_names_are_checked_like_the_kernel() {
        assert!(check_ifname("veth0").is_ok());
        assert!(check_ifname(&"x".repeat(15)).is_ok());
        let err = check_ifname(&"x".repeat(16)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "\"{}\" is not a valid interface name: longer than 15 bytes",
                "x".repeat(16)
            )
        );
        for bad in ["", ".", "..", "a/b", "a:b", "a b"] {
            assert!(check_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flag_names_follow_ip_order() {
        let lo = Link {
            index: 1,
            name: "lo".into(),
            flags: 0x1 | 0x8 | 0x40 | 0x10000,
            mtu: 65536,
            master: None,
            peer: None,
            peer_netnsid: None,
            kind: None,
            operstate: "UNKNOWN",
            link_type: 772,
            address: vec![0; 6],
            broadcast: vec![0; 6],
            qdisc: None,
            txqlen: None,
            mode: "DEFAULT",
            group: 0,
        };
        assert_eq!(lo.flag_names(), ["LOOPBACK", "UP", "LOWER_UP"]);
        let down_carrier = Link {
            flags: 0x1 | 0x2 | 0x1000,
            ..lo
        };
        assert_eq!(
            down_carrier.flag_names(),
            ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
        );
    }
}
