//! IP addresses on links (IPv4 and IPv6): add, delete, list.

use std::io;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::Netlink;

/// Why an address operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AddrError {
    /// The text is not `ADDRESS[/PREFIX]`.
    #[error("invalid address \"{0}\"")]
    Invalid(String),
    /// The kernel refused to add the address.
    #[error("cannot add address {0}")]
    Add(IpNet, #[source] io::Error),
    /// The kernel refused to delete the address.
    #[error("cannot delete address {0}")]
    Del(IpNet, #[source] io::Error),
    /// Addresses could not be listed.
    #[error("cannot list addresses")]
    List(#[source] io::Error),
}

/// Parses `ADDRESS[/PREFIX]` as `ip addr` does: no prefix means a host
/// address (/32, /128); the host bits are kept (`10.0.0.1/24`).
///
/// ```
/// use husk_net::addr::parse_cidr;
/// assert_eq!(parse_cidr("10.0.0.1/24")?.to_string(), "10.0.0.1/24");
/// assert_eq!(parse_cidr("fd00::1")?.prefix_len(), 128);
/// assert!(parse_cidr("10.0.0.1/33").is_err());
/// # Ok::<(), husk_net::addr::AddrError>(())
/// ```
pub fn parse_cidr(text: &str) -> Result<IpNet, AddrError> {
    let invalid = || AddrError::Invalid(text.to_owned());
    if text.contains('/') {
        text.parse().map_err(|_| invalid())
    } else {
        text.parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| invalid())
    }
}

/// One address on one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Index of the link.
    pub index: u32,
    /// Address and prefix length.
    pub net: IpNet,
    /// Scope as `ip` names it (`global`, `link`, `host`, ...).
    pub scope: &'static str,
    /// IPv4 broadcast address, if set.
    pub broadcast: Option<IpAddr>,
    /// IPv4 label (the link name, or `name:alias`).
    pub label: Option<String>,
    /// `IFA_F_*` flags.
    pub flags: u32,
    /// Valid and preferred lifetimes in seconds (`u32::MAX`: forever).
    pub lifetimes: Option<(u32, u32)>,
}

impl Address {
    /// The flags `ip addr` prints (`dynamic`, `tentative`, `nodad`, ...),
    /// `permanent` left out as `ip -j` leaves it.
    pub fn flag_names(&self) -> Vec<&'static str> {
        const NAMES: [(u32, &str); 8] = [
            (0x01, "secondary"),
            (0x02, "nodad"),
            (0x04, "optimistic"),
            (0x08, "dadfailed"),
            (0x20, "deprecated"),
            (0x40, "tentative"),
            (0x200, "noprefixroute"),
            (0x800, "stable-privacy"),
        ];
        let mut names: Vec<_> = NAMES
            .iter()
            .filter(|(b, _)| self.flags & b != 0)
            .map(|(_, n)| *n)
            .collect();
        if self.flags & 0x80 == 0 {
            names.insert(0, "dynamic");
        }
        names
    }

    fn from_message(msg: AddressMessage) -> Option<Address> {
        let mut local = None;
        let mut address = None;
        let mut a = Address {
            index: msg.header.index,
            net: IpNet::from(IpAddr::from([0, 0, 0, 0])),
            scope: scope_name(msg.header.scope),
            broadcast: None,
            label: None,
            flags: u32::from(msg.header.flags.bits()),
            lifetimes: None,
        };
        for attr in msg.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(ip),
                AddressAttribute::Address(ip) => address = Some(ip),
                AddressAttribute::Broadcast(ip) => a.broadcast = Some(ip.into()),
                AddressAttribute::Label(l) => a.label = Some(l),
                AddressAttribute::Flags(f) => a.flags = f.bits(),
                AddressAttribute::CacheInfo(c) => {
                    a.lifetimes = Some((c.ifa_valid, c.ifa_preferred));
                }
                _ => {}
            }
        }
        a.net = IpNet::new(local.or(address)?, msg.header.prefix_len).ok()?;
        Some(a)
    }
}

/// Scope names as `ip` prints them.
pub(crate) fn scope_name(scope: AddressScope) -> &'static str {
    match scope {
        AddressScope::Universe => "global",
        AddressScope::Site => "site",
        AddressScope::Link => "link",
        AddressScope::Host => "host",
        _ => "nowhere",
    }
}

fn message(index: u32, net: IpNet) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = match net {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    };
    msg.header.prefix_len = net.prefix_len();
    msg.header.index = index;
    // iproute2's default: loopback addresses are host scope, others global.
    msg.header.scope = if net.addr().is_loopback() {
        AddressScope::Host
    } else {
        AddressScope::Universe
    };
    msg.attributes.push(AddressAttribute::Local(net.addr()));
    msg.attributes.push(AddressAttribute::Address(net.addr()));
    msg
}

impl Netlink {
    /// Adds `net` (address with prefix) to link `index` (`ip addr add`).
    /// `nodad` skips IPv6 duplicate address detection, so the address is
    /// usable at once instead of `tentative` for a second or two.
    pub fn add_address(&mut self, index: u32, net: IpNet, nodad: bool) -> Result<(), AddrError> {
        let mut msg = message(index, net);
        if nodad {
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| AddrError::Add(net, e))
    }

    /// Removes `net` from link `index` (`ip addr del`).
    pub fn del_address(&mut self, index: u32, net: IpNet) -> Result<(), AddrError> {
        let mut msg = message(index, net);
        msg.header.scope = AddressScope::Universe;
        self.request(RouteNetlinkMessage::DelAddress(msg), 0)
            .map_err(|e| AddrError::Del(net, e))
    }

    /// Every address of this namespace (both families).
    pub fn addresses(&mut self) -> Result<Vec<Address>, AddrError> {
        let msgs = self
            .dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
            .map_err(AddrError::List)?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => Address::from_message(a),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_like_ip_addr() {
        assert_eq!(
            parse_cidr("10.0.0.1/24").unwrap().to_string(),
            "10.0.0.1/24"
        );
        assert_eq!(parse_cidr("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(parse_cidr("fd00::1/64").unwrap().to_string(), "fd00::1/64");
        assert_eq!(parse_cidr("fd00::1").unwrap().to_string(), "fd00::1/128");
        for bad in [
            "10.0.0.1/33",
            "10.0.0/24",
            "x",
            "",
            "fd00::1/129",
            "10.0.0.1/",
        ] {
            let err = parse_cidr(bad).unwrap_err();
            assert_eq!(err.to_string(), format!("invalid address \"{bad}\""));
        }
    }
}
