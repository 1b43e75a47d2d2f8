//! A blocking rtnetlink client: one `NETLINK_ROUTE` socket, one request at
//! a time, every request acknowledged.
//!
//! A netlink socket belongs to the network namespace it was created in,
//! for its whole life. [`Netlink::open_in`] uses that: it steps the calling
//! thread into a namespace, opens the socket and steps back, so one process
//! can drive several namespaces at once without `fork` or a mount namespace.

use std::io;

use husk_ns::Namespace;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::switch::NetnsSwitch;

/// Why a netlink socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// `socket(2)`/`bind(2)` of the `NETLINK_ROUTE` socket failed.
    #[error("cannot open a netlink socket")]
    Socket(#[source] io::Error),
    /// The thread could not step into (or back out of) the namespace.
    #[error("cannot switch network namespace")]
    Switch(#[source] husk_ns::NsError),
}

/// Largest message the kernel sends us in one datagram, as iproute2 sizes it
/// (a dump reply is several messages packed in up to 32 KiB).
const RECV_BUF: usize = 64 * 1024;

/// A blocking `NETLINK_ROUTE` socket in one network namespace.
#[derive(Debug)]
pub struct Netlink {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        sock.bind_auto().map_err(NetlinkError::Socket)?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(NetlinkError::Socket)?;
        // Kernel errors then carry the attribute that was wrong; harmless
        // where unsupported.
        let _ = sock.set_ext_ack(true);
        Ok(Netlink {
            sock,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// A socket in the network namespace `ns`; the calling thread is back
    /// in its own namespace when this returns.
    pub fn open_in(ns: &Namespace) -> Result<Netlink, NetlinkError> {
        let switch = NetnsSwitch::enter(ns).map_err(NetlinkError::Switch)?;
        let nl = Netlink::open();
        switch.restore().map_err(NetlinkError::Switch)?;
        nl
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.sock.send(&bytes, 0)?;
        Ok(self.seq)
    }

    /// Reads replies to request `seq`, handing each inner message to `each`,
    /// until the ack (`NLMSG_ERROR` with code 0) or the end of a dump.
    fn receive(&mut self, seq: u32, mut each: impl FnMut(RouteNetlinkMessage)) -> io::Result<()> {
        loop {
            self.buf.clear();
            // MSG_TRUNC: the real length even when it did not fit, so a
            // truncated datagram is an error instead of garbage.
            let len = self.sock.recv(&mut self.buf, libc::MSG_TRUNC)?;
            if len > self.buf.len() {
                return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
            }
            let mut at = 0;
            while at < len {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[at..len])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let size = usize::try_from(msg.header.length).unwrap_or(len);
                // Netlink messages are 4-byte aligned within a datagram.
                at += (size.max(16) + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(e.to_io()),
                        }
                    }
                    NetlinkPayload::InnerMessage(inner) => each(inner),
                    _ => {}
                }
            }
        }
    }

    /// Sends a request (`flags` beyond `NLM_F_REQUEST|NLM_F_ACK`, such as
    /// `NLM_F_CREATE|NLM_F_EXCL`) and waits for the kernel's answer.
    pub fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let seq = self.send(msg, NLM_F_ACK | flags)?;
        self.receive(seq, |_| {})
    }

    /// Sends a `GET` request that the kernel answers with one message
    /// (such as `RTM_GETNSID`), and returns that message.
    pub fn query(&mut self, msg: RouteNetlinkMessage) -> io::Result<RouteNetlinkMessage> {
        let seq = self.send(msg, NLM_F_ACK)?;
        let mut reply = None;
        self.receive(seq, |m| reply = Some(m))?;
        reply.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODATA))
    }

    /// Sends a dump request and collects every message of the reply.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let mut all = Vec::new();
        self.receive(seq, |m| all.push(m))?;
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::LinkMessage;

    #[test]
    fn dumping_links_of_our_namespace_finds_lo() {
        let mut nl = Netlink::open().expect("netlink socket");
        let links = nl
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .expect("dump");
        assert!(links.iter().any(|m| matches!(
            m,
            RouteNetlinkMessage::NewLink(l) if l.header.index == 1
        )));
    }
}
