//! SIP over TCP (RFC 3261 §18): accepting connections, framing messages by
//! Content-Length (§18.3), and the limits that keep idle or slow peers
//! ("slowloris") from taking the connection table and memory away from callers.
//!
//! Limits ([`TcpLimits`], defaults in brackets):
//!
//! - **Connections** in all [4,096]; the last [256] places only for configured
//!   trunks (dialplan `trunks`), so the proxy in front is never locked out.
//! - **Per source** [64], a source being an IPv4 address or an IPv6 /64
//!   ([`super::transport::source_of`]): one host has a whole /64 to pick from.
//! - **Room for new sources**: once [3,072] connections are open, a source already
//!   holding [2] gets no more, so a few sources cannot take the rest of the table
//!   and a newcomer still gets in. If the table is full all the same (thousands of
//!   sources), the oldest connection that has not completed a SIP message within
//!   1 s is closed to make room for the newcomer.
//! - Trunk addresses are exempt from the per-source limits: a Kamailio edge carries
//!   everybody's calls and may hold many connections. They count in the total.
//! - **Deadlines**: a new connection must complete its first SIP message within
//!   `message_timeout` [10 s] (CRLF keep-alives do not count), and a message once
//!   begun must be complete within `message_timeout` of its first byte; a connection
//!   with nothing pending that sends nothing for `idle` [300 s] is closed.
//! - **Memory**: no read buffer is held while a connection has nothing pending; one
//!   is allocated when bytes arrive and released as soon as they are all framed.
//!   A partial message is at most [`MAX_MESSAGE_BYTES`], for at most `message_timeout`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::message::{self, ParseError, MAX_MESSAGE_BYTES};
use super::transport::{answer_parse_error, Dispatch, Flow, TcpConn, Transport};
use table::{ConnSlot, ConnTable};

mod table;

/// Outgoing queue depth per TCP connection; a peer this far behind is not reading.
const TCP_QUEUE: usize = 256;
/// Bytes asked of the socket per read; a buffer grows by this much while a message is incomplete.
const READ_CHUNK: usize = 4 * 1024;

/// Limits on SIP over TCP; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// Open connections in all.
    pub max_connections: usize,
    /// Of `max_connections`, the places only trunk addresses may take.
    pub trunk_reserve: usize,
    /// Connections from one source (IPv4 address, IPv6 /64) that is not a trunk.
    pub per_source: usize,
    /// From this many open connections on, the table is crowded ...
    pub crowded_at: usize,
    /// ... and a source (not a trunk) holding this many gets no more.
    pub per_source_when_crowded: usize,
    /// Time to complete the first message, and any message once begun.
    pub message_timeout: Duration,
    /// A connection with nothing pending that sends nothing this long is closed.
    /// Calls on it can still send (our BYE): the writer lives while anyone holds the flow.
    pub idle: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_connections: 4096,
            trunk_reserve: 256,
            per_source: 64,
            crowded_at: 3072,
            per_source_when_crowded: 2,
            message_timeout: Duration::from_secs(10),
            idle: Duration::from_secs(300),
        }
    }
}

/// Accept TCP connections until `stop` turns true. Established connections keep
/// running (they may carry calls in progress) until their peer closes them.
pub async fn run_tcp(
    listener: TcpListener,
    transport: Arc<Transport>,
    dispatch: Arc<dyn Dispatch>,
    limits: TcpLimits,
    mut stop: watch::Receiver<bool>,
) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let table = ConnTable::new(limits);
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                    let slot = match table.take(id, peer.ip(), dispatch.is_trunk(peer.ip()), Instant::now()) {
                        Ok(slot) => slot,
                        Err(why) => {
                            tracing::debug!(%peer, ?why, "TCP connection refused");
                            drop(stream);
                            continue;
                        }
                    };
                    let (transport, dispatch) = (transport.clone(), dispatch.clone());
                    tokio::spawn(run_connection(stream, peer, id, slot, transport, dispatch, limits));
                }
                Err(e) => {
                    // EMFILE and friends: back off a little instead of spinning.
                    tracing::warn!(error = %e, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// One framing step over a TCP byte stream (§18.3: Content-Length delimits the body).
#[derive(Debug)]
pub(super) enum Frame {
    Message(message::Head, Bytes),
    /// RFC 5626 §3.5.1 double-CRLF keep-alive ping; answered with a single CRLF.
    Ping,
    NeedMore,
    /// Framing is lost; optionally answer, then close the connection.
    Fatal(Option<ParseError>),
}

pub(super) fn take_frame(buf: &mut BytesMut) -> Frame {
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

/// What a connection is waiting for, and until when.
fn deadline(
    limits: &TcpLimits,
    opened: Instant,
    framed: bool,
    partial_since: Option<Instant>,
    last_read: Instant,
) -> (Instant, &'static str) {
    match (framed, partial_since) {
        (false, _) => (opened + limits.message_timeout, "no complete message in time"),
        (true, Some(since)) => (since + limits.message_timeout, "message not completed in time"),
        (true, None) => (last_read + limits.idle, "idle"),
    }
}

async fn run_connection(
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    slot: ConnSlot,
    transport: Arc<Transport>,
    dispatch: Arc<dyn Dispatch>,
    limits: TcpLimits,
) {
    let opened = Instant::now();
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(error = %e, "TCP connection without local address");
            return;
        }
    };
    let (rd, mut wr) = stream.into_split();
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
    let flow = Flow::Tcp { peer, conn: TcpConn::new(id, local, tx) };
    tracing::debug!(%peer, id, "TCP connection open");
    // Empty (no allocation) whenever nothing is pending.
    let mut buf = BytesMut::new();
    let (mut framed, mut partial_since, mut last_read) = (false, None, opened);
    'conn: loop {
        let mut progressed = false;
        loop {
            match take_frame(&mut buf) {
                Frame::Message(head, body) => {
                    if !framed {
                        slot.framed();
                    }
                    (framed, progressed) = (true, true);
                    match message::finish(head, body) {
                        Ok(msg) => dispatch.dispatch(msg, flow.clone()),
                        Err(e) => answer_parse_error(&transport, &flow, e),
                    }
                }
                Frame::Ping => {
                    progressed = true;
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
        if buf.is_empty() {
            // Give the memory back while nothing is pending.
            buf = BytesMut::new();
            partial_since = None;
        } else if progressed || partial_since.is_none() {
            // A message begun with the last read: it has `message_timeout` from now on.
            partial_since = Some(last_read);
        }
        let (until, why) = deadline(&limits, opened, framed, partial_since, last_read);
        let ready = tokio::select! {
            r = tokio::time::timeout_at(until, rd.readable()) => r,
            _ = slot.evicted() => {
                tracing::debug!(%peer, id, "closing TCP connection: room needed for a newcomer");
                break;
            }
        };
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TCP read failed");
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, id, why, "closing TCP connection");
                break;
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match rd.try_read_buf(&mut buf) {
            Ok(0) => break,
            Ok(_) => last_read = Instant::now(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                tracing::debug!(error = %e, "TCP read failed");
                break;
            }
        }
    }
    tracing::debug!(%peer, id, "TCP connection closed");
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
        let (out, _) = frame(&format!("{OPT}Content-Length: 3\r\nl: 5\r\n\r\nabcde"));
        assert_eq!(out, vec!["fatal:400 More than one Content-Length header"]);
        let (out, _) = frame("\r\n");
        assert!(out.is_empty());
        let big = "X".repeat(MAX_MESSAGE_BYTES + 10);
        let (out, _) = frame(&big);
        assert_eq!(out, vec!["fatal:"]);
    }

    #[test]
    fn deadlines_depend_on_what_is_pending() {
        let l = TcpLimits::default();
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(60);
        assert_eq!(deadline(&l, t0, false, None, later).0, t0 + l.message_timeout);
        assert_eq!(deadline(&l, t0, true, Some(later), later).0, later + l.message_timeout);
        assert_eq!(deadline(&l, t0, true, None, later).0, later + l.idle);
    }
}
