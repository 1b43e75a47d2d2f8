//! Network namespaces as a library: what `ip netns`, `ip link`, `ip addr`
//! and `ip route` do, without spawning them.
//!
//! - [`netns::Registry`]: named network namespaces under `/run/netns`,
//!   kept exactly as iproute2 keeps them (so `ip netns` and husk share
//!   them): add, attach, delete, list, identify, pids, ids, exec set-up.
//! - [`Netlink`]: a blocking `NETLINK_ROUTE` socket in one namespace
//!   ([`Netlink::open_in`] opens one in another namespace without leaving
//!   ours). Its methods, grouped by module:
//!   - [`link`]: list, create veth pairs and bridges, set up/down, master,
//!     namespace, name, mtu, delete;
//!   - [`addr`]: IPv4/IPv6 addresses;
//!   - [`route`]: main-table routes.
//! - [`network::Networks`]: bridge networks on top of those (`husk network`):
//!   a bridge with a gateway, an address allocator ([`ipam`]), outbound NAT
//!   and published ports in an nftables table ([`nat`]), state on disk
//!   under a file lock ([`state`]).
//!
//! Cleanup is structural: [`netns::NameGuard`] and [`link::LinkGuard`]
//! delete a namespace name or a link on Drop unless disarmed, and
//! [`netns::Registry::add`] removes its half-made file itself on failure.
//!
//! No async runtime and no threads: every call sends one request and reads
//! the kernel's answer.
//!
//! ```no_run
//! use husk_net::{link::{LinkChange, NewLink}, netns::Registry, Netlink};
//! let reg = Registry::default();
//! reg.add("blue")?;
//! let blue = reg.open("blue")?;
//! let mut host = Netlink::open()?;
//! host.add_link("veth0", NewLink::Veth { peer: "ceth0", netns: Some(&blue) })?;
//! host.set_link("veth0", &LinkChange { up: Some(true), ..Default::default() })?;
//! let mut inside = Netlink::open_in(&blue)?;
//! let ceth0 = inside.link_index("ceth0")?;
//! inside.add_address(ceth0, husk_net::addr::parse_cidr("10.0.0.2/24")?, false)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod addr;
pub mod ipam;
pub mod link;
pub mod nat;
mod netlink;
pub mod netns;
pub mod network;
pub mod route;
pub mod state;
mod switch;

pub use netlink::{Netlink, NetlinkError};
