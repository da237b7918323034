//! SIP over UDP and TCP (RFC 3261 §18): receiving, framing, and sending.
//!
//! The transport knows nothing about transactions. It turns bytes into
//! [`Message`]s, answers requests it could not parse but could still address
//! (§18.3 / §8.2), and hands everything else to a [`Dispatch`] together with
//! the [`Flow`] it arrived on, so responses and in-dialog requests can go back
//! the same way.
//!
//! Sending is non-blocking: UDP is fire-and-forget (the transaction layer
//! retransmits), and a TCP connection has a bounded outgoing queue drained by
//! its own writer task, so a peer that stops reading cannot stall the endpoint.
//!
//! Limits: a message is at most [`MAX_MESSAGE_BYTES`]; TCP connections are bounded
//! in number, per source and in time as [`super::tcp`] describes.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::message::{self, Message, ParseError, Via, MAX_MESSAGE_BYTES};
use super::tcp::{take_frame, Frame};

/// Receives every parsed message. Called on the receive loop, so it must not block.
pub trait Dispatch: Send + Sync + 'static {
    fn dispatch(&self, msg: Message, flow: Flow);

    /// Whether `ip` is a configured trunk's (a proxy carrying many callers): TCP
    /// connections from it have no per-source limit.
    fn is_trunk(&self, _ip: IpAddr) -> bool {
        false
    }
}
/// Socket buffers for the SIP UDP socket: a burst of thousands of INVITEs must not
/// overflow the kernel's default ~200 KiB while the endpoint is busy.
pub const UDP_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Ask for bigger kernel buffers on a UDP socket; the kernel may cap them
/// (`net.core.rmem_max`), which only costs drops under load.
pub fn set_udp_buffers(socket: &UdpSocket, bytes: usize) {
    let sock = socket2::SockRef::from(socket);
    if let Err(e) = sock.set_recv_buffer_size(bytes).and_then(|_| sock.set_send_buffer_size(bytes)) {
        tracing::debug!(error = %e, "could not set UDP socket buffer sizes");
    }
}

/// The sending side of one TCP connection.
#[derive(Clone)]
pub struct TcpConn {
    id: u64,
    local: SocketAddr,
    tx: mpsc::Sender<Bytes>,
}

impl TcpConn {
    pub(super) fn new(id: u64, local: SocketAddr, tx: mpsc::Sender<Bytes>) -> Self {
        TcpConn { id, local, tx }
    }
}

impl fmt::Debug for TcpConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpConn#{}", self.id)
    }
}

/// How a message arrived, and therefore how to send back to its sender.
#[derive(Clone, Debug)]
pub enum Flow {
    Udp { peer: SocketAddr, local: SocketAddr },
    Tcp { peer: SocketAddr, conn: TcpConn },
}

impl Flow {
    pub fn peer(&self) -> SocketAddr {
        match self {
            Flow::Udp { peer, .. } | Flow::Tcp { peer, .. } => *peer,
        }
    }

    /// Our address on this flow (may be unspecified for a UDP socket bound to 0.0.0.0).
    pub fn local(&self) -> SocketAddr {
        match self {
            Flow::Udp { local, .. } => *local,
            Flow::Tcp { conn, .. } => conn.local,
        }
    }

    /// Reliable transports get no retransmissions (§17.1.1.2, §17.2.1).
    pub fn is_reliable(&self) -> bool {
        matches!(self, Flow::Tcp { .. })
    }

    /// Where responses to a request that came on this flow with top Via `via` go
    /// (RFC 3261 §18.2.2). Reliable transports answer on the same connection. Over
    /// UDP, with `rport` (RFC 3581 §4, filled in on receipt) the response goes back to
    /// the packet's source, which also works through NAT; otherwise to the `received`
    /// address (or the sent-by address) at the sent-by port, 5060 by default.
    pub fn response_flow(&self, via: &Via) -> Flow {
        let Flow::Udp { peer, local } = self else {
            return self.clone();
        };
        if via.param("rport").is_some_and(|p| p.value.is_some()) {
            return self.clone();
        }
        let ip = via
            .param("received")
            .and_then(|p| p.value.as_deref())
            .and_then(|r| r.parse::<IpAddr>().ok())
            .or_else(|| via.host.parse::<IpAddr>().ok())
            .unwrap_or(peer.ip());
        Flow::Udp { peer: SocketAddr::new(ip, via.port.unwrap_or(5060)), local: *local }
    }

    /// The transport token for Via and `;transport=` (§18.1, §20.42).
    pub fn transport(&self) -> &'static str {
        match self {
            Flow::Udp { .. } => "UDP",
            Flow::Tcp { .. } => "TCP",
        }
    }
}

/// Sends messages on a flow.
#[derive(Debug)]
pub struct Transport {
    udp: Arc<UdpSocket>,
}

impl Transport {
    pub fn new(udp: Arc<UdpSocket>) -> Self {
        Transport { udp }
    }

    pub fn send(&self, flow: &Flow, bytes: Bytes) -> io::Result<()> {
        match flow {
            // In practice UDP responses go to the packet's source address: that is
            // where rport (RFC 3581) would send them, and it works through NAT.
            Flow::Udp { peer, .. } => self.udp.try_send_to(&bytes, *peer).map(|_| ()),
            Flow::Tcp { conn, .. } => conn
                .tx
                .try_send(bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, format!("TCP connection #{}: {e}", conn.id))),
        }
    }
}

/// Answer a request that failed validation but can still be addressed.
pub(super) fn answer_parse_error(transport: &Transport, flow: &Flow, err: ParseError) {
    match err {
        ParseError::Answerable { status, reason, mut headers, mut via } => {
            via.stamp_source(flow.peer());
            if let Some(slot) = headers.top_via_mut() {
                *slot = via.to_string();
            }
            tracing::debug!(peer = %flow.peer(), status, reason, "answering a malformed request");
            let resp = message::response_for(&headers, status, &reason, None);
            if let Err(e) = transport.send(&flow.response_flow(&via), resp.to_bytes()) {
                tracing::debug!(error = %e, "could not send error response");
            }
        }
        ParseError::Unanswerable(why) => {
            tracing::debug!(peer = %flow.peer(), why, "dropping unparsable message");
        }
    }
}

/// Receive UDP datagrams until `stop` turns true.
pub async fn run_udp(
    socket: Arc<UdpSocket>,
    transport: Arc<Transport>,
    dispatch: Arc<dyn Dispatch>,
    mut stop: watch::Receiver<bool>,
) {
    let local = match socket.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "UDP socket has no local address");
            return;
        }
    };
    // A datagram can be up to 64 KiB; one byte more tells us it was larger than our limit.
    let mut buf = vec![0u8; MAX_MESSAGE_BYTES + 1];
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, peer)) => {
                    let data = &buf[..n];
                    // CRLF keep-alives and stray whitespace (RFC 5626 §3.5.1 style) are not messages.
                    if data.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    let flow = Flow::Udp { peer, local };
                    match message::parse_datagram(data) {
                        Ok(msg) => dispatch.dispatch(msg, flow),
                        Err(e) => answer_parse_error(&transport, &flow, e),
                    }
                }
                // E.g. ICMP port unreachable reported on the socket: nothing to do but carry on.
                Err(e) => tracing::debug!(error = %e, "UDP receive error"),
            }
        }
    }
}

/// Everything the network can make the SIP layer parse, in one call: the bytes as a
/// UDP datagram and as a TCP byte stream, and for each request the name-addr lists
/// the layers above read (identity headers, Contact, Record-Route), its SDP body and
/// INFO digits. The entry point of the fuzz target (`fuzz/`)
/// and of the mutation test over `tests/corpus/sip/`; it must never panic.
pub fn parse_untrusted(data: &[u8]) -> usize {
    fn exercise(msg: &Message) -> usize {
        match msg {
            Message::Request(req) => {
                let mut n = 0;
                for name in ["P-Asserted-Identity", "Remote-Party-ID", "Contact", "Record-Route"] {
                    for value in req.headers.get_all(name) {
                        let entries = message::split_outside_quotes(value, b',');
                        n += entries.into_iter().filter(|e| message::NameAddr::parse(e).is_ok()).count();
                    }
                }
                if let Ok(sd) = crate::media::parse_sdp(&req.body) {
                    n += sd.media.len();
                    if let Ok(neg) = crate::media::negotiate(&sd) {
                        let answer = crate::media::answer_sdp(&sd, &neg, SocketAddr::from(([127, 0, 0, 1], 4000)), 1);
                        n += answer.len();
                    }
                }
                if let Some(ct) = req.header("Content-Type") {
                    n += usize::from(crate::media::dtmf_from_info(ct, &req.body).is_some());
                }
                let mut via = req.via.clone();
                via.stamp_source(SocketAddr::from(([192, 0, 2, 1], 5060)));
                n += message::response_for(&req.headers, 400, "", Some("t")).to_bytes().len();
                n + via.to_string().len()
            }
            Message::Response(resp) => resp.to_bytes().len(),
        }
    }
    let mut n = match message::parse_datagram(data) {
        Ok(msg) => exercise(&msg),
        Err(e) => e.to_string().len(),
    };
    let mut buf = BytesMut::from(data);
    for _ in 0..64 {
        match take_frame(&mut buf) {
            Frame::Message(head, body) => match message::finish(head, body) {
                Ok(msg) => n += exercise(&msg),
                Err(e) => n += e.to_string().len(),
            },
            Frame::Ping => n += 1,
            Frame::NeedMore | Frame::Fatal(_) => break,
        }
    }
    n
}

/// The source a request is counted against: an IPv4 address (IPv4-mapped IPv6
/// addresses count as IPv4), the loopback `::1`, or else the IPv6 /64 the address
/// is in, as its first address. A /64 is the least a site gets (RFC 6177) and
/// hosts pick addresses in it freely (RFC 8981), so one sender has billions of
/// addresses: counting each alone would let it walk past every limit.
pub fn source_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) if !v6.is_loopback() => {
            IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1)))
        }
        other => other,
    }
}
