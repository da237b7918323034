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
//! Limits: a message is at most [`MAX_MESSAGE_BYTES`] (a TCP peer that sends more
//! without a complete message is cut off), there are at most
//! [`MAX_TCP_CONNECTIONS`] connections ([`MAX_TCP_CONNECTIONS_PER_IP`] per source
//! address), and a connection that sends nothing for [`TCP_IDLE`] is closed.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use super::message::{self, Message, ParseError, Via, MAX_MESSAGE_BYTES};

/// Receives every parsed message. Called on the receive loop, so it must not block.
pub trait Dispatch: Send + Sync + 'static {
    fn dispatch(&self, msg: Message, flow: Flow);
}

/// Outgoing queue depth per TCP connection; a peer this far behind is not reading.
const TCP_QUEUE: usize = 256;
/// Open TCP connections in all, and from one source address.
pub const MAX_TCP_CONNECTIONS: usize = 4096;
pub const MAX_TCP_CONNECTIONS_PER_IP: usize = 256;
/// A connection that sends nothing (not even an RFC 5626 keep-alive) this long is closed.
/// Calls on it can still send (our BYE): the writer lives while anyone holds the flow.
pub const TCP_IDLE: Duration = Duration::from_secs(300);
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
fn answer_parse_error(transport: &Transport, flow: &Flow, err: ParseError) {
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

/// Accept TCP connections until `stop` turns true. Established connections keep
/// running (they may carry calls in progress) until their peer closes them.
pub async fn run_tcp(
    listener: TcpListener,
    transport: Arc<Transport>,
    dispatch: Arc<dyn Dispatch>,
    mut stop: watch::Receiver<bool>,
) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let open = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let Some(slot) = ConnSlot::take(&open, peer.ip()) else {
                        tracing::debug!(%peer, "too many TCP connections; refusing");
                        drop(stream);
                        continue;
                    };
                    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                    let (transport, dispatch) = (transport.clone(), dispatch.clone());
                    tokio::spawn(async move {
                        let _slot = slot;
                        run_connection(stream, peer, id, transport, dispatch).await;
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off a little instead of spinning.
                    tracing::warn!(error = %e, "TCP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// A counted place in the TCP connection table, given back on drop.
struct ConnSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ConnSlot {
    fn take(open: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr) -> Option<ConnSlot> {
        let mut table = open.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = table.values().sum();
        let mine = table.entry(ip).or_insert(0);
        if total >= MAX_TCP_CONNECTIONS || *mine >= MAX_TCP_CONNECTIONS_PER_IP {
            if *mine == 0 {
                table.remove(&ip);
            }
            return None;
        }
        *mine += 1;
        Some(ConnSlot { open: open.clone(), ip })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut table = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = table.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

/// One framing step over a TCP byte stream (§18.3: Content-Length delimits the body).
#[derive(Debug)]
enum Frame {
    Message(message::Head, Bytes),
    /// RFC 5626 §3.5.1 double-CRLF keep-alive ping; answered with a single CRLF.
    Ping,
    NeedMore,
    /// Framing is lost; optionally answer, then close the connection.
    Fatal(Option<ParseError>),
}

fn take_frame(buf: &mut BytesMut) -> Frame {
    loop {
        if buf.starts_with(b"\r\n\r\n") {
            buf.advance(4);
            return Frame::Ping;
        }
        if buf.len() <= 3 && b"\r\n\r\n".starts_with(&buf[..]) {
            return Frame::NeedMore;
        }
        if buf.starts_with(b"\r\n") {
            // A stray CRLF (e.g. a pong) before a message (§7.5).
            buf.advance(2);
            continue;
        }
        break;
    }
    let Some(end) = message::find_head_end(buf) else {
        return if buf.len() > MAX_MESSAGE_BYTES { Frame::Fatal(None) } else { Frame::NeedMore };
    };
    let head = match message::parse_head(&buf[..end]) {
        Ok(h) => h,
        Err(e) => return Frame::Fatal(Some(e)),
    };
    let len = match head.content_length() {
        Ok(Some(n)) => n,
        Ok(None) => {
            return Frame::Fatal(Some(message::answerable_from_head(&head, 400, "Content-Length required over TCP")))
        }
        // Two Content-Lengths: no framing to trust, so the connection ends (RFC 4475 §3.3.9).
        Err(why) => return Frame::Fatal(Some(message::answerable_from_head(&head, 400, why))),
    };
    if end.saturating_add(len) > MAX_MESSAGE_BYTES {
        return Frame::Fatal(Some(message::answerable_from_head(&head, 413, "Request Entity Too Large")));
    }
    if buf.len() < end + len {
        return Frame::NeedMore;
    }
    buf.advance(end);
    let body = buf.split_to(len).freeze();
    Frame::Message(head, body)
}

async fn run_connection(
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    transport: Arc<Transport>,
    dispatch: Arc<dyn Dispatch>,
) {
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(error = %e, "TCP connection without local address");
            return;
        }
    };
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(TCP_QUEUE);
    // The writer lives as long as anyone (a transaction, a call) can still send on this
    // connection, even after the peer stopped sending.
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if let Err(e) = wr.write_all(&bytes).await {
                tracing::debug!(error = %e, "TCP write failed");
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let flow = Flow::Tcp { peer, conn: TcpConn { id, local, tx } };
    tracing::debug!(%peer, id, "TCP connection open");
    let mut buf = BytesMut::with_capacity(8 * 1024);
    'conn: loop {
        loop {
            match take_frame(&mut buf) {
                Frame::Message(head, body) => match message::finish(head, body) {
                    Ok(msg) => dispatch.dispatch(msg, flow.clone()),
                    Err(e) => answer_parse_error(&transport, &flow, e),
                },
                Frame::Ping => {
                    let _ = transport.send(&flow, Bytes::from_static(b"\r\n"));
                }
                Frame::NeedMore => break,
                Frame::Fatal(err) => {
                    if let Some(e) = err {
                        answer_parse_error(&transport, &flow, e);
                    }
                    tracing::debug!(%peer, id, "closing TCP connection: framing lost");
                    break 'conn;
                }
            }
        }
        match tokio::time::timeout(TCP_IDLE, rd.read_buf(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TCP read failed");
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, id, "closing idle TCP connection");
                break;
            }
        }
    }
    tracing::debug!(%peer, id, "TCP connection closed by peer or framing");
}

/// Everything the network can make the SIP layer parse, in one call: the bytes as a
/// UDP datagram and as a TCP byte stream, and for each request its conversion to
/// rsip, its SDP body and INFO digits. The entry point of the fuzz target (`fuzz/`)
/// and of the mutation test over `tests/corpus/sip/`; it must never panic.
pub fn parse_untrusted(data: &[u8]) -> usize {
    fn exercise(msg: &Message) -> usize {
        match msg {
            Message::Request(req) => {
                let rs = req.to_rsip();
                let mut n = rs.headers.iter().count();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> (Vec<String>, BytesMut) {
        let mut buf = BytesMut::from(text.as_bytes());
        let mut out = Vec::new();
        loop {
            match take_frame(&mut buf) {
                Frame::Message(_, body) => out.push(format!("msg:{}", String::from_utf8_lossy(&body))),
                Frame::Ping => out.push("ping".into()),
                Frame::NeedMore => break,
                Frame::Fatal(e) => {
                    out.push(format!("fatal:{}", e.map(|e| e.to_string()).unwrap_or_default()));
                    break;
                }
            }
        }
        (out, buf)
    }

    const OPT: &str = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKa\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n";

    #[test]
    fn frames_by_content_length() {
        let two = format!("\r\n\r\n{OPT}Content-Length: 3\r\n\r\nabc{OPT}Content-Length: 0\r\n\r\n{OPT}Content-Len");
        let (out, rest) = frame(&two);
        assert_eq!(out, vec!["ping", "msg:abc", "msg:"]);
        assert!(rest.starts_with(b"OPTIONS"));
        let (out, _) = frame(&format!("{OPT}Content-Length: 5\r\n\r\nab"));
        assert!(out.is_empty());
        let (out, _) = frame(&format!("{OPT}\r\n"));
        assert_eq!(out, vec!["fatal:400 Content-Length required over TCP"]);
        let (out, _) = frame(&format!("{OPT}Content-Length: 999999\r\n\r\n"));
        assert_eq!(out, vec!["fatal:413 Request Entity Too Large"]);
        let (out, _) = frame("\r\n");
        assert!(out.is_empty());
        let big = "X".repeat(MAX_MESSAGE_BYTES + 10);
        let (out, _) = frame(&big);
        assert_eq!(out, vec!["fatal:"]);
    }
}
