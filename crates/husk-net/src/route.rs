//! Routes in the main table (IPv4 and IPv6): add, delete, list.

use std::io;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::Netlink;

/// `RT_TABLE_MAIN`: the table `ip route` shows and changes.
pub const MAIN_TABLE: u32 = 254;

/// Why a route operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A route to add needs a gateway or a device.
    #[error("a route needs a gateway (via) or a device (dev)")]
    Incomplete,
    /// Gateway and destination are of different families.
    #[error("gateway {0} is not of the family of {1}")]
    Family(IpAddr, String),
    /// The kernel refused to add the route.
    #[error("cannot add route {0}")]
    Add(String, #[source] io::Error),
    /// The kernel refused to delete the route.
    #[error("cannot delete route {0}")]
    Del(String, #[source] io::Error),
    /// Routes could not be listed.
    #[error("cannot list routes")]
    List(#[source] io::Error),
}

/// A route to add or delete: destination (`None`: default), gateway,
/// output device. For `default` with no gateway, `v6` picks the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination network; `None` is `default`.
    pub dst: Option<IpNet>,
    /// Next hop.
    pub via: Option<IpAddr>,
    /// Output link index.
    pub dev: Option<u32>,
    /// IPv6, when neither `dst` nor `via` says.
    pub v6: bool,
}

impl RouteSpec {
    fn is_v6(&self) -> bool {
        match (self.dst, self.via) {
            (Some(d), _) => matches!(d, IpNet::V6(_)),
            (None, Some(g)) => g.is_ipv6(),
            (None, None) => self.v6,
        }
    }

    fn describe(&self) -> String {
        self.dst
            .map_or_else(|| "default".to_owned(), |d| d.trunc().to_string())
    }

    fn message(&self, add: bool) -> Result<RouteMessage, RouteError> {
        // `ip route del default` may name neither: the kernel deletes the
        // first route that matches.
        if add && self.via.is_none() && self.dev.is_none() {
            return Err(RouteError::Incomplete);
        }
        let v6 = self.is_v6();
        if let Some(g) = self.via {
            if g.is_ipv6() != v6 {
                return Err(RouteError::Family(g, self.describe()));
            }
        }
        let mut msg = RouteMessage::default();
        msg.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        msg.header.table = 254;
        if add {
            // As iproute2: proto boot, type unicast, scope link without a
            // gateway (the destination is on the wire), global with one.
            msg.header.protocol = RouteProtocol::Boot;
            msg.header.kind = RouteType::Unicast;
            msg.header.scope = if self.via.is_some() {
                RouteScope::Universe
            } else {
                RouteScope::Link
            };
        } else {
            // RT_SCOPE_NOWHERE matches a route of any scope.
            msg.header.scope = RouteScope::Other(255);
        }
        if let Some(dst) = self.dst {
            msg.header.destination_prefix_length = dst.prefix_len();
            if dst.prefix_len() > 0 {
                msg.attributes
                    .push(RouteAttribute::Destination(RouteAddress::from(
                        dst.trunc().addr(),
                    )));
            }
        }
        if let Some(g) = self.via {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(g)));
        }
        if let Some(dev) = self.dev {
            msg.attributes.push(RouteAttribute::Oif(dev));
        }
        Ok(msg)
    }
}

/// One route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination; `None` is `default`.
    pub dst: Option<IpNet>,
    /// Next hop.
    pub gateway: Option<IpAddr>,
    /// Output link index.
    pub dev: Option<u32>,
    /// Preferred source address.
    pub prefsrc: Option<IpAddr>,
    /// Protocol as `ip` names it (`kernel`, `boot`, `static`, ...).
    pub protocol: String,
    /// Scope as `ip` names it (`global`, `link`, `host`).
    pub scope: &'static str,
    /// Metric (priority).
    pub metric: Option<u32>,
    /// Whether this is IPv6.
    pub v6: bool,
}

fn addr_of(a: RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(v4.into()),
        RouteAddress::Inet6(v6) => Some(v6.into()),
        _ => None,
    }
}

impl Route {
    fn from_message(msg: RouteMessage) -> Option<Route> {
        let h = &msg.header;
        let mut table = u32::from(h.table);
        let v6 = h.address_family == AddressFamily::Inet6;
        let mut route = Route {
            dst: None,
            gateway: None,
            dev: None,
            prefsrc: None,
            protocol: match h.protocol {
                RouteProtocol::Kernel => "kernel".into(),
                RouteProtocol::Boot => "boot".into(),
                RouteProtocol::Static => "static".into(),
                RouteProtocol::Ra => "ra".into(),
                other => u8::from(other).to_string(),
            },
            scope: match h.scope {
                RouteScope::Universe => "global",
                RouteScope::Link => "link",
                RouteScope::Host => "host",
                RouteScope::Site => "site",
                _ => "nowhere",
            },
            metric: None,
            v6,
        };
        if h.kind != RouteType::Unicast {
            return None;
        }
        let prefix = h.destination_prefix_length;
        for attr in msg.attributes {
            match attr {
                RouteAttribute::Destination(a) => {
                    route.dst = addr_of(a).and_then(|ip| IpNet::new(ip, prefix).ok());
                }
                RouteAttribute::Gateway(a) => route.gateway = addr_of(a),
                RouteAttribute::PrefSource(a) => route.prefsrc = addr_of(a),
                RouteAttribute::Oif(i) => route.dev = Some(i),
                RouteAttribute::Priority(p) => route.metric = Some(p),
                RouteAttribute::Table(t) => table = t,
                _ => {}
            }
        }
        (table == MAIN_TABLE).then_some(route)
    }
}

impl Netlink {
    /// Adds a route to the main table (`ip route add`).
    pub fn add_route(&mut self, spec: &RouteSpec) -> Result<(), RouteError> {
        let msg = spec.message(true)?;
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| RouteError::Add(spec.describe(), e))
    }

    /// Deletes a route from the main table (`ip route del`).
    pub fn del_route(&mut self, spec: &RouteSpec) -> Result<(), RouteError> {
        let msg = spec.message(false)?;
        self.request(RouteNetlinkMessage::DelRoute(msg), 0)
            .map_err(|e| RouteError::Del(spec.describe(), e))
    }

    /// The unicast routes of the main table of one family.
    pub fn routes(&mut self, v6: bool) -> Result<Vec<Route>, RouteError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let msgs = self
            .dump(RouteNetlinkMessage::GetRoute(msg))
            .map_err(RouteError::List)?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => Route::from_message(r),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_needs_a_gateway_or_a_device() {
        let spec = RouteSpec {
            dst: None,
            via: None,
            dev: None,
            v6: false,
        };
        assert!(matches!(spec.message(true), Err(RouteError::Incomplete)));
    }

    #[test]
    fn gateway_family_must_match_destination() {
        let spec = RouteSpec {
            dst: Some("10.0.0.0/24".parse().unwrap()),
            via: Some("fd00::1".parse().unwrap()),
            dev: None,
            v6: false,
        };
        assert!(matches!(spec.message(true), Err(RouteError::Family(..))));
    }

    #[test]
    fn default_route_has_no_destination_attribute() {
        let spec = RouteSpec {
            dst: None,
            via: Some("10.0.0.254".parse().unwrap()),
            dev: Some(3),
            v6: false,
        };
        let msg = spec.message(true).unwrap();
        assert_eq!(msg.header.destination_prefix_length, 0);
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert!(!msg
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
    }
}
