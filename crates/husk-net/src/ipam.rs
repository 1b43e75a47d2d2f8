//! Address management for one subnet: check a subnet and its gateway,
//! check a requested address, hand out the lowest free one, and pick a
//! default subnet that collides with nothing in use. Pure functions: the
//! caller says what is taken.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Why a subnet or an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// The text is not `ADDRESS/PREFIX`, or has host bits set.
    #[error("invalid subnet \"{0}\" (want a network address with its prefix, as 10.89.0.0/24)")]
    InvalidSubnet(String),
    /// Too small to hold a gateway and one address.
    #[error("subnet {0} is too small (at most /30 for IPv4, /126 for IPv6)")]
    TooSmall(IpNet),
    /// The text is not an IP address.
    #[error("invalid IP address \"{0}\"")]
    InvalidIp(String),
    /// An address of the other family.
    #[error("{0} is not of the family of subnet {1}")]
    Family(IpAddr, IpNet),
    /// An address outside the subnet.
    #[error("{0} is outside subnet {1}")]
    Outside(IpAddr, IpNet),
    /// The network, broadcast or gateway address.
    #[error("{0} is reserved in subnet {1} (network, broadcast or gateway address)")]
    Reserved(IpAddr, IpNet),
    /// Already allocated.
    #[error("{0} is already in use")]
    Taken(IpAddr),
    /// Every address is allocated.
    #[error("subnet {0} is full")]
    Full(IpNet),
    /// No default subnet is free.
    #[error("no free subnet in {0}: give one with --subnet")]
    NoFreeSubnet(IpNet),
}

/// Where default subnets come from: `10.89.N.0/24`, as podman numbers the
/// networks it makes after its default `10.88.0.0/16`.
pub const DEFAULT_POOL: &str = "10.89.0.0/16";

/// Parses a subnet: `ADDRESS/PREFIX` with no host bits set.
///
/// ```
/// use husk_net::ipam::parse_subnet;
/// assert!(parse_subnet("10.89.3.0/24").is_ok());
/// assert!(parse_subnet("10.89.3.1/24").is_err());
/// assert!(parse_subnet("10.89.3.0").is_err());
/// ```
pub fn parse_subnet(text: &str) -> Result<IpNet, IpamError> {
    let net: IpNet = text
        .parse()
        .map_err(|_| IpamError::InvalidSubnet(text.to_owned()))?;
    if net.trunc() != net {
        return Err(IpamError::InvalidSubnet(text.to_owned()));
    }
    Ok(net)
}

/// Parses an IP address.
pub fn parse_ip(text: &str) -> Result<IpAddr, IpamError> {
    text.parse()
        .map_err(|_| IpamError::InvalidIp(text.to_owned()))
}

/// Whether two subnets share any address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(n))
    } else {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)))
    }
}

/// One subnet with its gateway: the addresses a network hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    subnet: IpNet,
    gateway: IpAddr,
}

impl Pool {
    /// A pool of `subnet` (no host bits) with `gateway` (default: the first
    /// host address, as podman and CNI's host-local pick it).
    pub fn new(subnet: IpNet, gateway: Option<IpAddr>) -> Result<Pool, IpamError> {
        if subnet.trunc() != subnet {
            return Err(IpamError::InvalidSubnet(subnet.to_string()));
        }
        let small = match subnet {
            IpNet::V4(n) => n.prefix_len() > 30,
            IpNet::V6(n) => n.prefix_len() > 126,
        };
        if small {
            return Err(IpamError::TooSmall(subnet));
        }
        let first = from_u128(to_u128(subnet.network()) + 1, subnet.addr().is_ipv6());
        let pool = Pool {
            subnet,
            gateway: gateway.unwrap_or(first),
        };
        pool.check_host(pool.gateway)?;
        Ok(pool)
    }

    /// The subnet.
    pub fn subnet(&self) -> IpNet {
        self.subnet
    }

    /// The gateway address.
    pub fn gateway(&self) -> IpAddr {
        self.gateway
    }

    /// The gateway with the subnet's prefix, as put on the bridge.
    pub fn gateway_net(&self) -> IpNet {
        IpNet::new(self.gateway, self.subnet.prefix_len()).expect("prefix of the subnet")
    }

    /// `ip` with the subnet's prefix, as put on an interface.
    pub fn host_net(&self, ip: IpAddr) -> IpNet {
        IpNet::new(ip, self.subnet.prefix_len()).expect("prefix of the subnet")
    }

    /// In the subnet and neither its network nor (IPv4) broadcast address.
    fn check_host(&self, ip: IpAddr) -> Result<(), IpamError> {
        if ip.is_ipv6() != self.subnet.addr().is_ipv6() {
            return Err(IpamError::Family(ip, self.subnet));
        }
        if !self.subnet.contains(&ip) {
            return Err(IpamError::Outside(ip, self.subnet));
        }
        let v4_broadcast = matches!(self.subnet, IpNet::V4(_)) && ip == self.subnet.broadcast();
        if ip == self.subnet.network() || v4_broadcast {
            return Err(IpamError::Reserved(ip, self.subnet));
        }
        Ok(())
    }

    /// Checks a requested address against the subnet and what is `taken`.
    pub fn check(&self, ip: IpAddr, taken: &BTreeSet<IpAddr>) -> Result<(), IpamError> {
        self.check_host(ip)?;
        if ip == self.gateway {
            return Err(IpamError::Reserved(ip, self.subnet));
        }
        if taken.contains(&ip) {
            return Err(IpamError::Taken(ip));
        }
        Ok(())
    }

    /// The lowest free host address (not the gateway, not `taken`).
    pub fn allocate(&self, taken: &BTreeSet<IpAddr>) -> Result<IpAddr, IpamError> {
        let v6 = self.subnet.addr().is_ipv6();
        let start = to_u128(self.subnet.network()) + 1;
        let last = to_u128(self.subnet.broadcast());
        let end = if v6 { last } else { last - 1 };
        // At most |taken| + 2 steps before a free one, however big the subnet.
        let mut n = start;
        while n <= end {
            let ip = from_u128(n, v6);
            if ip != self.gateway && !taken.contains(&ip) {
                return Ok(ip);
            }
            n += 1;
        }
        Err(IpamError::Full(self.subnet))
    }
}

/// The first `/24` of [`DEFAULT_POOL`] that overlaps none of `used`
/// (routes of the host, subnets of other networks).
pub fn default_subnet(used: &[IpNet]) -> Result<IpNet, IpamError> {
    let pool: IpNet = DEFAULT_POOL.parse().expect("a valid constant");
    let base = to_u128(pool.network());
    for i in 0..256u128 {
        let net = IpNet::new(from_u128(base + (i << 8), false), 24).expect("a /24");
        if !used.iter().any(|u| overlaps(u, &net)) {
            return Ok(net);
        }
    }
    Err(IpamError::NoFreeSubnet(pool))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_must_be_network_addresses() {
        assert_eq!(
            parse_subnet("10.1.0.0/16").unwrap().to_string(),
            "10.1.0.0/16"
        );
        for bad in ["10.1.0.1/16", "10.1.0.0", "10.1.0.0/33", "x", "fd00::1/64"] {
            assert!(parse_subnet(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Pool::new("10.0.0.0/31".parse().unwrap(), None).unwrap_err(),
            IpamError::TooSmall("10.0.0.0/31".parse().unwrap())
        );
    }

    #[test]
    fn gateway_defaults_to_the_first_host_and_is_checked() {
        let p = Pool::new(parse_subnet("10.9.0.0/24").unwrap(), None).unwrap();
        assert_eq!(p.gateway(), ip("10.9.0.1"));
        assert_eq!(p.gateway_net().to_string(), "10.9.0.1/24");
        let net = parse_subnet("10.9.0.0/24").unwrap();
        for bad in ["10.9.0.0", "10.9.0.255", "10.9.1.1", "fd00::1"] {
            assert!(Pool::new(net, Some(ip(bad))).is_err(), "{bad}");
        }
        let v6 = Pool::new(parse_subnet("fd00:9::/64").unwrap(), None).unwrap();
        assert_eq!(v6.gateway(), ip("fd00:9::1"));
    }

    #[test]
    fn allocation_takes_the_lowest_free_and_reports_full() {
        let p = Pool::new(parse_subnet("10.9.0.0/29").unwrap(), Some(ip("10.9.0.6"))).unwrap();
        let mut taken = BTreeSet::new();
        let mut got = Vec::new();
        while let Ok(a) = p.allocate(&taken) {
            taken.insert(a);
            got.push(a.to_string());
        }
        assert_eq!(
            got,
            ["10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5"]
        );
        assert_eq!(
            p.allocate(&taken).unwrap_err().to_string(),
            "subnet 10.9.0.0/29 is full"
        );
        taken.remove(&ip("10.9.0.3"));
        assert_eq!(p.allocate(&taken).unwrap(), ip("10.9.0.3"));
    }

    #[test]
    fn requested_addresses_are_checked() {
        let p = Pool::new(parse_subnet("10.9.0.0/24").unwrap(), None).unwrap();
        let taken: BTreeSet<_> = [ip("10.9.0.7")].into();
        assert!(p.check(ip("10.9.0.8"), &taken).is_ok());
        assert_eq!(
            p.check(ip("10.9.0.7"), &taken),
            Err(IpamError::Taken(ip("10.9.0.7")))
        );
        assert!(matches!(
            p.check(ip("10.9.0.1"), &taken),
            Err(IpamError::Reserved(..))
        ));
        assert!(matches!(
            p.check(ip("10.9.0.255"), &taken),
            Err(IpamError::Reserved(..))
        ));
        assert!(matches!(
            p.check(ip("10.8.0.2"), &taken),
            Err(IpamError::Outside(..))
        ));
        assert!(matches!(
            p.check(ip("fd00::2"), &taken),
            Err(IpamError::Family(..))
        ));
    }

    #[test]
    fn default_subnet_avoids_routes_and_networks() {
        assert_eq!(default_subnet(&[]).unwrap().to_string(), "10.89.0.0/24");
        let used = [
            parse_subnet("10.89.0.0/23").unwrap(),
            parse_subnet("10.89.2.128/25").unwrap(),
        ];
        assert_eq!(default_subnet(&used).unwrap().to_string(), "10.89.3.0/24");
        // A default route (0.0.0.0/0) is not a collision: callers leave it out.
        assert!(default_subnet(&[parse_subnet("10.0.0.0/8").unwrap()]).is_err());
    }
}
