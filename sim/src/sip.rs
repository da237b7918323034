//! A SIP user agent client (UAC) that places one call and reports what happened.
//!
//! [`place_call`] binds a fresh SIP socket (UDP, or a TCP connection) and a
//! fresh RTP socket on [`CallOptions::local_ip`], so any number of calls can
//! run concurrently. It then:
//!
//! 1. sends an INVITE (with an SDP offer for PCMU/PCMA/telephone-event unless
//!    [`CallOptions::offer_sdp`] is false), retransmitting it on UDP per
//!    RFC 3261 Timer A (500 ms, doubling) until any response arrives, and
//!    giving up after Timer B (32 s) or [`CallOptions::timeout`];
//! 2. records provisional responses; on a final 3xx-6xx it sends the ACK of
//!    the INVITE transaction (same branch) and returns;
//! 3. on a 2xx it sends the ACK (new branch, to the response's Contact) and
//!    re-sends it for every retransmitted 2xx, counts the RTP packets that
//!    arrive on the RTP socket, answers the gateway's BYE with 200 OK, or,
//!    after [`CallOptions::hangup_after`], sends its own BYE (CSeq 2,
//!    retransmitted per Timer E on UDP) and waits for the 200.
//!
//! Keys in [`CallOptions::press`] are sent once the call is answered, as RFC 4733
//! telephone-events on the RTP socket ([`crate::dtmf`]).
//!
//! Requests from the gateway other than BYE and ACK (OPTIONS, INFO, UPDATE,
//! re-INVITE, ...) are answered with 200 OK. RTP is counted during the whole
//! call (early media included); each datagram is parsed with `rtp-rs` and
//! only valid RTP (not RTCP) is counted.
//!
//! Messages are written as text and parsed with `rsip`. Parsing is lenient:
//! bare LF line ends, folded header lines, compact header names (`i:`, `v:`,
//! ...) and `Name : value` are normalised first. A response that still cannot
//! be parsed ends the call with [`SimError::Sip`]; nothing a peer sends can
//! make this module panic.
//!
//! Every request is sent to [`CallOptions::gateway`] (the simulator talks to
//! one gateway, so the Contact/Route of the gateway only shape the
//! Request-URI and Route headers, not the destination). Responses to the
//! gateway's requests go back to the address the request came from.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use rsip::prelude::*;
use rsip::Header;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::SimError;

/// RFC 3261 T1 (RTT estimate).
const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2 (maximum retransmit interval for non-INVITE requests).
const T2: Duration = Duration::from_secs(4);
/// Timer B / Timer F: 64 * T1.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(32);
/// Largest SIP message we accept (a UDP datagram cannot be bigger anyway).
const MAX_MESSAGE: usize = 65_535;
const USER_AGENT: &str = concat!("dialticket-sim/", env!("CARGO_PKG_VERSION"));

/// How SIP messages travel to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// UDP with RFC 3261 retransmissions (the default).
    #[default]
    Udp,
    /// One TCP connection per call, messages framed by Content-Length, no retransmissions.
    Tcp,
}

/// What call to place and how.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// Gateway SIP address; every request is sent here.
    pub gateway: SocketAddr,
    /// Caller number, shown as the From user part, e.g. `+819012345678`.
    pub from: String,
    /// Dialled number, the Request-URI/To user part, e.g. `+442079460100` (or without `+`).
    pub to: String,
    /// If set, adds `P-Asserted-Identity: <sip:NUMBER@LOCAL_IP;user=phone>`.
    /// A value starting with `sip:`, `sips:` or `tel:` is used as the URI verbatim,
    /// one starting with `<` as the whole header value.
    pub pai: Option<String>,
    /// Withhold the caller ID: anonymous From (`"Anonymous" <sip:anonymous@anonymous.invalid>`)
    /// and `Privacy: id`.
    pub anonymous: bool,
    /// Extra headers appended to the INVITE as `Name: value`.
    pub extra_headers: Vec<(String, String)>,
    /// UDP (default) or TCP.
    pub transport: Transport,
    /// Address to bind the SIP and RTP sockets to (port 0); default 127.0.0.1.
    /// Must be a concrete address: it is advertised in Via, Contact and SDP.
    pub local_ip: IpAddr,
    /// If the call is answered and the gateway has not sent BYE this long after
    /// the 2xx, we send BYE.
    pub hangup_after: Option<Duration>,
    /// Overall limit for the call (default 30 s).
    pub timeout: Duration,
    /// Whether the INVITE carries an SDP offer (default true). Without one the
    /// offer is expected in the 2xx and our answer goes in the ACK.
    pub offer_sdp: bool,
    /// The INVITE's body as `(Content-Type, body)` instead of our SDP offer: e.g. an
    /// offer of codecs the gateway lacks, or a body that is not SDP at all.
    pub invite_body: Option<(String, String)>,
    /// Keys to press once the call is answered, as RFC 4733 telephone-events to
    /// the RTP address and payload type of the gateway's SDP answer (see
    /// [`crate::dtmf`]). An answer without telephone-event ends the call with an error.
    pub press: Vec<crate::dtmf::KeyPress>,
}

impl CallOptions {
    /// Options for a UDP call from `from` to `to` via `gateway`, with an SDP
    /// offer, no PAI, no hang-up of our own and a 30 s limit.
    pub fn new(gateway: SocketAddr, from: impl Into<String>, to: impl Into<String>) -> Self {
        CallOptions {
            gateway,
            from: from.into(),
            to: to.into(),
            pai: None,
            anonymous: false,
            extra_headers: Vec::new(),
            transport: Transport::Udp,
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            hangup_after: None,
            timeout: Duration::from_secs(30),
            offer_sdp: true,
            invite_body: None,
            press: Vec::new(),
        }
    }
}

/// What happened during a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReport {
    /// Our Call-ID.
    pub call_id: String,
    /// Provisional status codes in the order received, e.g. `[100, 180]`
    /// (a code repeating the previous one, i.e. a retransmission, is not recorded again).
    pub provisional: Vec<u16>,
    /// Final status code of the INVITE: 200, 486, 603, 433, ...
    pub final_status: u16,
    /// Reason phrase of the final response, as received.
    pub final_reason: String,
    /// Whether the final response was a 2xx.
    pub answered: bool,
    /// Valid RTP packets received on our RTP port (RTCP excluded).
    pub rtp_packets: usize,
    /// Distinct RTP payload types seen, in order of first appearance.
    pub rtp_payload_types: Vec<u8>,
    /// RTP payload bytes received.
    pub rtp_bytes: usize,
    /// The gateway hung up (we answered its BYE with 200).
    pub bye_from_gateway: bool,
    /// INVITE first sent -> final response received.
    pub setup_time: Duration,
    /// Whole call, from socket setup to the end.
    pub duration: Duration,
    /// Body of the 2xx, if any.
    pub answer_sdp: Option<String>,
    /// Headers of the final response as (name, value), in order.
    pub response_headers: Vec<(String, String)>,
}

/// Places one call as described by `opts` and reports what happened.
///
/// Returns `Ok` once the call is over: rejected (any final 3xx-6xx), or
/// answered and then hung up by either side. Returns
/// [`SimError::Timeout`] if the INVITE got no response within Timer B, or
/// the call did not end within [`CallOptions::timeout`] (we then send BYE
/// or CANCEL once, as a courtesy, before giving up), or our BYE got no final
/// response; [`SimError::Sip`] for a malformed response or a closed TCP
/// connection; [`SimError::Io`] for socket errors.
pub async fn place_call(opts: CallOptions) -> Result<CallReport, SimError> {
    let started = Instant::now();
    let deadline = started + opts.timeout;
    let rtp = UdpSocket::bind(SocketAddr::new(opts.local_ip, 0)).await?;
    let conn = Conn::open(&opts, deadline).await?;
    let uac = Uac::new(&opts, conn.local_addr()?, rtp.local_addr()?.port());
    debug!(call_id = %uac.call_id, local = %uac.local, "placing call");
    let mut call =
        Call { opts, uac, conn, rtp, rtp_buf: vec![0u8; 2048], stats: RtpStats::default(), started, deadline };
    call.run().await
}

// ---------------------------------------------------------------------------
// Transport

/// One message received from the network.
struct Inbound {
    data: Vec<u8>,
    from: SocketAddr,
}

enum Conn {
    Udp { sock: UdpSocket, gateway: SocketAddr, buf: Vec<u8> },
    Tcp { rd: OwnedReadHalf, wr: OwnedWriteHalf, gateway: SocketAddr, buf: Vec<u8> },
}

impl Conn {
    async fn open(opts: &CallOptions, deadline: Instant) -> Result<Conn, SimError> {
        let local = SocketAddr::new(opts.local_ip, 0);
        match opts.transport {
            Transport::Udp => Ok(Conn::Udp {
                sock: UdpSocket::bind(local).await?,
                gateway: opts.gateway,
                buf: vec![0u8; MAX_MESSAGE + 1],
            }),
            Transport::Tcp => {
                let sock = if opts.gateway.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
                sock.bind(local)?;
                let stream = tokio::time::timeout_at(deadline, sock.connect(opts.gateway))
                    .await
                    .map_err(|_| SimError::Timeout(format!("TCP connect to {}", opts.gateway)))??;
                stream.set_nodelay(true)?;
                let (rd, wr) = stream.into_split();
                Ok(Conn::Tcp { rd, wr, gateway: opts.gateway, buf: Vec::new() })
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Conn::Udp { sock, .. } => sock.local_addr(),
            Conn::Tcp { wr, .. } => wr.local_addr(),
        }
    }

    fn reliable(&self) -> bool {
        matches!(self, Conn::Tcp { .. })
    }

    /// Sends a request to the gateway.
    async fn send_request(&mut self, msg: &str) -> io::Result<()> {
        let gw = match self {
            Conn::Udp { gateway, .. } | Conn::Tcp { gateway, .. } => *gateway,
        };
        self.send_to(msg, gw).await
    }

    /// Sends a message; on UDP to `dest`, on TCP down the connection.
    async fn send_to(&mut self, msg: &str, dest: SocketAddr) -> io::Result<()> {
        debug!(%dest, "SIP >>>\n{msg}");
        match self {
            Conn::Udp { sock, .. } => sock.send_to(msg.as_bytes(), dest).await.map(|_| ()),
            Conn::Tcp { wr, .. } => wr.write_all(msg.as_bytes()).await,
        }
    }

    /// Receives one message. Cancel safe: partial TCP data stays in the buffer.
    async fn recv(&mut self) -> Result<Inbound, SimError> {
        match self {
            Conn::Udp { sock, buf, .. } => loop {
                let (n, from) = sock.recv_from(buf).await?;
                let data = &buf[..n];
                // Skip keep-alives (CRLF pings) and empty datagrams.
                if data.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                return Ok(Inbound { data: data.to_vec(), from });
            },
            Conn::Tcp { rd, buf, gateway, .. } => loop {
                if let Some(data) = take_frame(buf)? {
                    return Ok(Inbound { data, from: *gateway });
                }
                let mut chunk = [0u8; 8192];
                let n = rd.read(&mut chunk).await?;
                if n == 0 {
                    return Err(SimError::Sip("TCP connection closed by the gateway".to_string()));
                }
                buf.extend_from_slice(&chunk[..n]);
            },
        }
    }
}

/// Finds the end of the header section: (index of the blank line, length of the separator).
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) if b < a => Some((b, 2)),
        (Some(a), _) => Some((a, 4)),
        (None, Some(b)) => Some((b, 2)),
        (None, None) => None,
    }
}

/// The Content-Length of a header section, if present.
fn content_length(head: &[u8]) -> Result<Option<usize>, SimError> {
    let head = String::from_utf8_lossy(head);
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
                return value
                    .trim()
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| SimError::Sip(format!("bad Content-Length {:?}", value.trim())));
            }
        }
    }
    Ok(None)
}

/// Cuts one complete message off a TCP stream buffer, framed by Content-Length.
fn take_frame(buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, SimError> {
    let skip = buf.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    buf.drain(..skip);
    let Some((head_end, sep)) = find_head_end(buf) else {
        if buf.len() > MAX_MESSAGE {
            return Err(SimError::Sip("SIP header section too large".to_string()));
        }
        return Ok(None);
    };
    let body_len = content_length(&buf[..head_end])?.unwrap_or(0);
    let total = head_end + sep + body_len;
    if total > MAX_MESSAGE {
        return Err(SimError::Sip(format!("SIP message too large ({total} bytes)")));
    }
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(buf.drain(..total).collect()))
}

// ---------------------------------------------------------------------------
// Parsing

/// A parsed message plus the raw reason phrase (rsip drops it for known codes).
struct Parsed {
    msg: rsip::SipMessage,
    reason: String,
}

fn expand_compact(name: &str) -> &str {
    match name {
        "i" | "I" => "Call-ID",
        "m" | "M" => "Contact",
        "e" | "E" => "Content-Encoding",
        "l" | "L" => "Content-Length",
        "c" | "C" => "Content-Type",
        "f" | "F" => "From",
        "s" | "S" => "Subject",
        "k" | "K" => "Supported",
        "t" | "T" => "To",
        "v" | "V" => "Via",
        other => other,
    }
}

/// Rewrites a message into the strict form rsip expects: CRLF line ends,
/// unfolded header lines, long header names, `Name: value`, and a body cut
/// to Content-Length.
fn normalize(data: &[u8]) -> Result<Vec<u8>, SimError> {
    let (head, mut body) = match find_head_end(data) {
        Some((end, sep)) => (&data[..end], &data[end + sep..]),
        None => (data, &data[data.len()..]),
    };
    if let Some(len) = content_length(head)? {
        if len < body.len() {
            body = &body[..len];
        }
    }
    let head = String::from_utf8_lossy(head);
    let mut lines: Vec<String> = Vec::new();
    for raw in head.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if lines.len() > 1 && (line.starts_with(' ') || line.starts_with('\t')) {
            if let Some(last) = lines.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
            continue;
        }
        if lines.is_empty() {
            lines.push(line.trim().to_string());
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) => {
                let name = expand_compact(name.trim());
                lines.push(format!("{}: {}", name, value.trim()));
            }
            None => lines.push(line.to_string()),
        }
    }
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

fn parse(data: &[u8]) -> Result<Parsed, SimError> {
    let norm = normalize(data)?;
    let first_line =
        norm.split(|b| *b == b'\r').next().map(|l| String::from_utf8_lossy(l).into_owned()).unwrap_or_default();
    let msg = rsip::SipMessage::try_from(norm.as_slice())
        .map_err(|e| SimError::Sip(format!("cannot parse {first_line:?}: {e}")))?;
    let reason = if msg.is_response() {
        first_line.splitn(3, ' ').nth(2).unwrap_or("").trim().to_string()
    } else {
        String::new()
    };
    Ok(Parsed { msg, reason })
}

/// (name, value) pairs of a header list, in order.
fn header_pairs(headers: &rsip::Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            let s = h.to_string();
            match s.split_once(':') {
                Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
                None => (s.trim().to_string(), String::new()),
            }
        })
        .collect()
}

fn call_id_of(msg: &impl HeadersExt) -> Option<String> {
    msg.call_id_header().ok().map(|h| h.value().trim().to_string())
}

fn cseq_of(msg: &impl HeadersExt) -> Option<(u32, rsip::Method)> {
    let c = msg.cseq_header().ok()?.typed().ok()?;
    Some((c.seq, c.method))
}

/// The URI inside a name-addr or addr-spec (`"X" <sip:a@b;p>;q` -> `sip:a@b;p`).
fn uri_of(value: &str) -> String {
    if let Some(start) = value.find('<') {
        let rest = &value[start + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        rest[..end].trim().to_string()
    } else {
        let end = value.find([';', ',']).unwrap_or(value.len());
        value[..end].trim().to_string()
    }
}

/// Splits a header value at commas that are outside `<...>` and quotes.
fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut cur) = (0i32, false, String::new());
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth <= 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn has_tag(value: &str) -> bool {
    value.to_ascii_lowercase().contains(";tag=")
}

// ---------------------------------------------------------------------------
// RTP

#[derive(Debug, Default)]
struct RtpStats {
    packets: usize,
    bytes: usize,
    payload_types: Vec<u8>,
}

impl RtpStats {
    fn on_datagram(&mut self, data: &[u8]) {
        let Ok(pkt) = rtp_rs::RtpReader::new(data) else {
            return;
        };
        let pt = pkt.payload_type();
        // Payload types 64-95 collide with RTCP packet types (RFC 5761): not RTP.
        if (64..=95).contains(&pt) {
            return;
        }
        self.packets += 1;
        self.bytes += pkt.payload().len();
        if !self.payload_types.contains(&pt) {
            self.payload_types.push(pt);
        }
    }
}

// ---------------------------------------------------------------------------
// Message building

fn random_hex(bytes: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

fn new_branch() -> String {
    format!("z9hG4bK{}", random_hex(10))
}

fn host_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn sdp(ip: IpAddr, rtp_port: u16, session: u32) -> String {
    let (family, addr) = match ip {
        IpAddr::V4(v4) => ("IP4", v4.to_string()),
        IpAddr::V6(v6) => ("IP6", v6.to_string()),
    };
    format!(
        "v=0\r\n\
         o=- {session} {session} IN {family} {addr}\r\n\
         s=dialticket-sim\r\n\
         c=IN {family} {addr}\r\n\
         t=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    )
}

/// The fixed parts of our side of the call.
struct Uac {
    local: SocketAddr,
    transport: &'static str,
    call_id: String,
    local_tag: String,
    from_value: String,
    to_value: String,
    request_uri: String,
    contact_value: String,
    invite_via: String,
    sdp: String,
    invite_body: Option<(String, String)>,
    extra: Vec<String>,
}

impl Uac {
    fn new(opts: &CallOptions, local: SocketAddr, rtp_port: u16) -> Uac {
        let transport = match opts.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        };
        let host = host_of(opts.local_ip);
        let local_tag = random_hex(6);
        let (from_value, contact_user) = if opts.anonymous {
            (format!("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag={local_tag}"), "anonymous".to_string())
        } else {
            (format!("<sip:{}@{host}>;tag={local_tag}", opts.from), opts.from.clone())
        };
        let request_uri = format!("sip:{}@{}", opts.to, opts.gateway);
        let contact_value = match opts.transport {
            Transport::Udp => format!("<sip:{contact_user}@{local}>"),
            Transport::Tcp => format!("<sip:{contact_user}@{local};transport=tcp>"),
        };
        let mut extra = Vec::new();
        if let Some(pai) = &opts.pai {
            let value = if pai.starts_with('<') {
                pai.clone()
            } else if ["sip:", "sips:", "tel:"].iter().any(|p| pai.starts_with(p)) {
                format!("<{pai}>")
            } else {
                format!("<sip:{pai}@{host};user=phone>")
            };
            extra.push(format!("P-Asserted-Identity: {value}"));
        }
        if opts.anonymous {
            extra.push("Privacy: id".to_string());
        }
        for (name, value) in &opts.extra_headers {
            extra.push(format!("{}: {}", name.trim(), value.trim()));
        }
        let session = {
            use rand::Rng;
            rand::rng().random_range(1_000_000..u32::MAX)
        };
        Uac {
            local,
            transport,
            call_id: format!("{}@dialticket-sim", random_hex(12)),
            from_value,
            to_value: format!("<{request_uri}>"),
            request_uri,
            contact_value,
            invite_via: format!("SIP/2.0/{transport} {local};branch={};rport", new_branch()),
            sdp: sdp(opts.local_ip, rtp_port, session),
            invite_body: opts.invite_body.clone(),
            extra,
            local_tag,
        }
    }

    fn via(&self) -> String {
        format!("SIP/2.0/{} {};branch={};rport", self.transport, self.local, new_branch())
    }

    fn invite(&self, offer: bool) -> String {
        let mut m = format!(
            "INVITE {} SIP/2.0\r\n\
             Via: {}\r\n\
             Max-Forwards: 70\r\n\
             From: {}\r\n\
             To: {}\r\n\
             Call-ID: {}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: {}\r\n\
             Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n\
             User-Agent: {USER_AGENT}\r\n",
            self.request_uri, self.invite_via, self.from_value, self.to_value, self.call_id, self.contact_value,
        );
        for h in &self.extra {
            m.push_str(h);
            m.push_str("\r\n");
        }
        if let Some((content_type, body)) = &self.invite_body {
            m.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
            return m;
        }
        finish(m, offer.then_some(self.sdp.as_str()))
    }

    /// ACK for a non-2xx final response: part of the INVITE transaction.
    fn ack_non2xx(&self, to: &str) -> String {
        finish(
            format!(
                "ACK {} SIP/2.0\r\n\
                 Via: {}\r\n\
                 Max-Forwards: 70\r\n\
                 From: {}\r\n\
                 To: {to}\r\n\
                 Call-ID: {}\r\n\
                 CSeq: 1 ACK\r\n",
                self.request_uri, self.invite_via, self.from_value, self.call_id
            ),
            None,
        )
    }

    /// CANCEL of the pending INVITE (same branch, CSeq 1).
    fn cancel(&self) -> String {
        finish(
            format!(
                "CANCEL {} SIP/2.0\r\n\
                 Via: {}\r\n\
                 Max-Forwards: 70\r\n\
                 From: {}\r\n\
                 To: {}\r\n\
                 Call-ID: {}\r\n\
                 CSeq: 1 CANCEL\r\n",
                self.request_uri, self.invite_via, self.from_value, self.to_value, self.call_id
            ),
            None,
        )
    }

    /// An in-dialog request (ACK for 2xx, BYE).
    fn in_dialog(&self, dialog: &Dialog, method: &str, cseq: u32, body: Option<&str>) -> String {
        let mut m = format!("{method} {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\n", dialog.remote_target, self.via());
        if !dialog.route_set.is_empty() {
            m.push_str(&format!("Route: {}\r\n", dialog.route_set.join(", ")));
        }
        m.push_str(&format!(
            "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n",
            self.from_value, dialog.remote_to, self.call_id
        ));
        if method != "ACK" {
            m.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
        }
        finish(m, body)
    }

    /// Response to a request the gateway sent us.
    fn response(&self, req: &rsip::Request, code: u16, reason: &str, body: Option<&str>) -> String {
        let mut m = format!("SIP/2.0 {code} {reason}\r\n");
        for h in req.headers.iter() {
            match h {
                Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                    m.push_str(&h.to_string());
                    m.push_str("\r\n");
                }
                Header::To(to) => {
                    if has_tag(to.value()) {
                        m.push_str(&format!("To: {}\r\n", to.value()));
                    } else {
                        m.push_str(&format!("To: {};tag={}\r\n", to.value(), self.local_tag));
                    }
                }
                _ => {}
            }
        }
        if req.method == rsip::Method::Invite {
            m.push_str(&format!("Contact: {}\r\n", self.contact_value));
        }
        m.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
        finish(m, body)
    }
}

/// Appends Content-Type/Content-Length and the body.
fn finish(mut m: String, sdp_body: Option<&str>) -> String {
    match sdp_body {
        Some(body) => {
            m.push_str(&format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        }
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m
}

/// The dialog established by a 2xx.
struct Dialog {
    remote_target: String,
    remote_to: String,
    route_set: Vec<String>,
}

// ---------------------------------------------------------------------------
// The call

struct Call {
    opts: CallOptions,
    uac: Uac,
    conn: Conn,
    rtp: UdpSocket,
    rtp_buf: Vec<u8>,
    stats: RtpStats,
    started: Instant,
    deadline: Instant,
}

struct FinalResponse {
    resp: rsip::Response,
    reason: String,
}

/// Key-press packets and when to send each, in order.
type KeyPackets = VecDeque<(Instant, Vec<u8>)>;

/// Our BYE transaction.
struct ByeTx {
    msg: String,
    next_retransmit: Option<Instant>,
    interval: Duration,
    give_up: Instant,
}

impl Call {
    /// Waits for the next SIP message, counting RTP meanwhile. `None` when `wake` is reached.
    async fn next_event(&mut self, wake: Instant) -> Result<Option<Inbound>, SimError> {
        loop {
            tokio::select! {
                r = self.conn.recv() => return r.map(Some),
                r = self.rtp.recv_from(&mut self.rtp_buf) => {
                    let (n, _) = r?;
                    self.stats.on_datagram(&self.rtp_buf[..n]);
                }
                _ = tokio::time::sleep_until(wake) => return Ok(None),
            }
        }
    }

    /// Parses an inbound message; `Ok(None)` for garbage that is not worth an error.
    fn parse_inbound(&self, inbound: &Inbound) -> Result<Option<Parsed>, SimError> {
        match parse(&inbound.data) {
            Ok(p) => Ok(Some(p)),
            Err(e) if inbound.data.starts_with(b"SIP/") => Err(e),
            Err(e) => {
                warn!(from = %inbound.from, "ignoring unparsable message: {e}");
                Ok(None)
            }
        }
    }

    /// Answers a request from the gateway. Requests of our call (OPTIONS,
    /// INFO, UPDATE, re-INVITE, ...) get 200 OK (with our SDP for a re-INVITE);
    /// out-of-dialog OPTIONS gets 200, a foreign INVITE 486, anything else
    /// foreign 481. ACKs are not answered.
    async fn answer_request(&mut self, req: &rsip::Request, from: SocketAddr, ours: bool) -> io::Result<()> {
        use rsip::Method;
        let msg = match (&req.method, ours) {
            (Method::Ack, _) => return Ok(()),
            (Method::Invite, true) => self.uac.response(req, 200, "OK", Some(&self.uac.sdp)),
            (_, true) | (Method::Options, false) => self.uac.response(req, 200, "OK", None),
            (Method::Invite, false) => self.uac.response(req, 486, "Busy Here", None),
            (_, false) => self.uac.response(req, 481, "Call/Transaction Does Not Exist", None),
        };
        self.conn.send_to(&msg, from).await
    }

    async fn run(&mut self) -> Result<CallReport, SimError> {
        let invite = self.uac.invite(self.opts.offer_sdp);
        let invite_sent = Instant::now();
        self.conn.send_request(&invite).await?;

        let mut provisional: Vec<u16> = Vec::new();
        let final_resp = self.invite_transaction(&invite, invite_sent, &mut provisional).await?;
        let setup_time = invite_sent.elapsed();
        let code = final_resp.resp.status_code.code();
        let to_value =
            final_resp.resp.to_header().map(|h| h.value().to_string()).unwrap_or_else(|_| self.uac.to_value.clone());

        let mut report = CallReport {
            call_id: self.uac.call_id.clone(),
            provisional,
            final_status: code,
            final_reason: final_resp.reason.clone(),
            answered: (200..300).contains(&code),
            rtp_packets: 0,
            rtp_payload_types: Vec::new(),
            rtp_bytes: 0,
            bye_from_gateway: false,
            setup_time,
            duration: Duration::ZERO,
            answer_sdp: None,
            response_headers: header_pairs(&final_resp.resp.headers),
        };

        if report.answered {
            let body = &final_resp.resp.body;
            if !body.is_empty() {
                report.answer_sdp = Some(String::from_utf8_lossy(body).into_owned());
            }
            let remote_target = final_resp
                .resp
                .contact_header()
                .ok()
                .map(|c| uri_of(c.value()))
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| self.uac.request_uri.clone());
            let mut route_set: Vec<String> = final_resp
                .resp
                .headers
                .iter()
                .filter_map(|h| match h {
                    Header::RecordRoute(rr) => Some(split_list(rr.value())),
                    _ => None,
                })
                .flatten()
                .collect();
            route_set.reverse();
            let dialog = Dialog { remote_target, remote_to: to_value, route_set };
            // Without an offer in the INVITE, the 2xx carries the offer and the ACK our answer.
            let ack_body = (!self.opts.offer_sdp && report.answer_sdp.is_some()).then(|| self.uac.sdp.clone());
            let ack = self.uac.in_dialog(&dialog, "ACK", 1, ack_body.as_deref());
            self.conn.send_request(&ack).await?;
            let answer_sdp = report.answer_sdp.clone();
            report.bye_from_gateway = self.confirmed(&dialog, &ack, answer_sdp.as_deref()).await?;
        } else {
            let ack = self.uac.ack_non2xx(&to_value);
            self.conn.send_request(&ack).await?;
        }

        // Count what already arrived but was not read yet (RTP and BYE race on
        // different sockets).
        while let Ok((n, _)) = self.rtp.try_recv_from(&mut self.rtp_buf) {
            self.stats.on_datagram(&self.rtp_buf[..n]);
        }
        report.rtp_packets = self.stats.packets;
        report.rtp_bytes = self.stats.bytes;
        report.rtp_payload_types = self.stats.payload_types.clone();
        report.duration = self.started.elapsed();
        Ok(report)
    }

    /// Runs the INVITE client transaction until a final response.
    async fn invite_transaction(
        &mut self,
        invite: &str,
        invite_sent: Instant,
        provisional: &mut Vec<u16>,
    ) -> Result<FinalResponse, SimError> {
        let timer_b = invite_sent + TRANSACTION_TIMEOUT.min(self.opts.timeout);
        let mut interval = T1;
        let mut next_retransmit = (!self.conn.reliable()).then_some(invite_sent + T1);
        let mut got_response = false;
        loop {
            let limit = if got_response { self.deadline } else { timer_b.min(self.deadline) };
            let wake = next_retransmit.map_or(limit, |t| t.min(limit));
            let Some(inbound) = self.next_event(wake).await? else {
                let now = Instant::now();
                if now >= limit {
                    if got_response {
                        // Courtesy: tell the gateway we gave up.
                        let cancel = self.uac.cancel();
                        if let Err(e) = self.conn.send_request(&cancel).await {
                            warn!("sending CANCEL failed: {e}");
                        }
                        return Err(SimError::Timeout(format!(
                            "no final response to INVITE within {:?} (provisional: {provisional:?})",
                            self.opts.timeout
                        )));
                    }
                    return Err(SimError::Timeout(format!(
                        "no response to INVITE from {} within {:?}",
                        self.opts.gateway,
                        now - invite_sent
                    )));
                }
                if next_retransmit.is_some_and(|t| now >= t) {
                    debug!("Timer A: retransmitting INVITE");
                    self.conn.send_request(invite).await?;
                    interval *= 2;
                    next_retransmit = Some(now + interval);
                }
                continue;
            };
            let Some(parsed) = self.parse_inbound(&inbound)? else {
                continue;
            };
            let ours = call_id_of(&parsed.msg).as_deref() == Some(self.uac.call_id.as_str());
            match parsed.msg {
                rsip::SipMessage::Request(req) => {
                    self.answer_request(&req, inbound.from, ours).await?;
                }
                rsip::SipMessage::Response(_) if !ours => {}
                rsip::SipMessage::Response(resp) => {
                    if !matches!(cseq_of(&resp), Some((1, rsip::Method::Invite))) {
                        continue; // e.g. the 200 for a CANCEL
                    }
                    got_response = true;
                    next_retransmit = None;
                    let code = resp.status_code.code();
                    if code < 200 {
                        if provisional.last() != Some(&code) {
                            provisional.push(code);
                        }
                        continue;
                    }
                    return Ok(FinalResponse { resp, reason: parsed.reason });
                }
            }
        }
    }

    /// The key presses of [`CallOptions::press`], each packet with when to send it.
    fn key_packets(&self, answer_sdp: Option<&str>) -> Result<(SocketAddr, KeyPackets), SimError> {
        if self.opts.press.is_empty() {
            return Ok((self.opts.gateway, VecDeque::new()));
        }
        let (to, payload_type) = answer_sdp
            .and_then(crate::dtmf::answer_media)
            .ok_or_else(|| SimError::Sip("keys to press, but the answer offers no telephone-event".into()))?;
        let answered = Instant::now();
        let packets = crate::dtmf::packets(&self.opts.press, payload_type, rand::random());
        Ok((to, packets.into_iter().map(|(after, p)| (answered + after, p)).collect()))
    }

    /// Runs the confirmed dialog until someone hangs up. Returns whether the gateway did.
    async fn confirmed(&mut self, dialog: &Dialog, ack: &str, answer_sdp: Option<&str>) -> Result<bool, SimError> {
        let hangup_at = self.opts.hangup_after.map(|d| Instant::now() + d);
        let mut bye: Option<ByeTx> = None;
        let (media, mut keys) = self.key_packets(answer_sdp)?;
        loop {
            let now = Instant::now();
            while keys.front().is_some_and(|(at, _)| *at <= now) {
                if let Some((_, packet)) = keys.pop_front() {
                    self.rtp.send_to(&packet, media).await?;
                }
            }
            let mut wake = self.deadline;
            if let Some((at, _)) = keys.front() {
                wake = wake.min(*at);
            }
            match &bye {
                None => {
                    if let Some(t) = hangup_at {
                        wake = wake.min(t);
                    }
                }
                Some(tx) => {
                    wake = wake.min(tx.give_up);
                    if let Some(t) = tx.next_retransmit {
                        wake = wake.min(t);
                    }
                }
            }
            let Some(inbound) = self.next_event(wake).await? else {
                let now = Instant::now();
                if let Some(tx) = &mut bye {
                    if now >= tx.give_up {
                        return Err(SimError::Timeout("no final response to our BYE".into()));
                    }
                    if tx.next_retransmit.is_some_and(|t| now >= t) {
                        debug!("Timer E: retransmitting BYE");
                        tx.interval = (tx.interval * 2).min(T2);
                        tx.next_retransmit = Some(now + tx.interval);
                        let msg = tx.msg.clone();
                        self.conn.send_request(&msg).await?;
                    }
                    continue;
                }
                if now >= self.deadline {
                    let msg = self.uac.in_dialog(dialog, "BYE", 2, None);
                    if let Err(e) = self.conn.send_request(&msg).await {
                        warn!("sending BYE failed: {e}");
                    }
                    return Err(SimError::Timeout(format!(
                        "call still up after {:?} (gateway sent no BYE; set hangup_after to hang up)",
                        self.opts.timeout
                    )));
                }
                if hangup_at.is_some_and(|t| now >= t) {
                    let msg = self.uac.in_dialog(dialog, "BYE", 2, None);
                    self.conn.send_request(&msg).await?;
                    let reliable = self.conn.reliable();
                    bye = Some(ByeTx {
                        msg,
                        next_retransmit: (!reliable).then_some(now + T1),
                        interval: T1,
                        give_up: (now + TRANSACTION_TIMEOUT).min(self.deadline.max(now + T2)),
                    });
                }
                continue;
            };
            let Some(parsed) = self.parse_inbound(&inbound)? else {
                continue;
            };
            let ours = call_id_of(&parsed.msg).as_deref() == Some(self.uac.call_id.as_str());
            match parsed.msg {
                rsip::SipMessage::Request(req) => {
                    if ours && req.method == rsip::Method::Bye {
                        let msg = self.uac.response(&req, 200, "OK", None);
                        self.conn.send_to(&msg, inbound.from).await?;
                        return Ok(bye.is_none());
                    }
                    self.answer_request(&req, inbound.from, ours).await?;
                }
                rsip::SipMessage::Response(resp) if ours => {
                    let code = resp.status_code.code();
                    match cseq_of(&resp) {
                        Some((1, rsip::Method::Invite)) if (200..300).contains(&code) => {
                            debug!("2xx retransmission: re-sending ACK");
                            self.conn.send_request(ack).await?;
                        }
                        Some((2, rsip::Method::Bye)) => {
                            if let Some(tx) = &mut bye {
                                if code >= 200 {
                                    if code >= 300 {
                                        warn!(code, "gateway rejected our BYE");
                                    }
                                    return Ok(false);
                                }
                                // Provisional: keep retransmitting at T2 (RFC 3261 17.1.2.2).
                                tx.interval = T2;
                            }
                        }
                        _ => {}
                    }
                }
                rsip::SipMessage::Response(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_accepts_lf_folding_and_compact_names() {
        let raw = b"SIP/2.0 180 Ringing\nv: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bK1\nf: <sip:a@b>;tag=1\nt: <sip:c@d>\n ;tag=2\ni: abc\nCSeq : 1 INVITE\nl: 0\n\n";
        let p = parse(raw).unwrap();
        assert_eq!(p.reason, "Ringing");
        assert_eq!(call_id_of(&p.msg).as_deref(), Some("abc"));
        assert_eq!(cseq_of(&p.msg), Some((1, rsip::Method::Invite)));
        let to = p.msg.to_header().unwrap().value().to_string();
        assert!(has_tag(&to), "{to}");
    }

    #[test]
    fn reason_phrase_is_kept_verbatim() {
        let raw = b"SIP/2.0 603 Decline - try later\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let p = parse(raw).unwrap();
        assert_eq!(p.reason, "Decline - try later");
        match p.msg {
            rsip::SipMessage::Response(r) => assert_eq!(r.status_code.code(), 603),
            _ => panic!("not a response"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"SIP/2.0 abc\r\n\r\n").is_err());
        assert!(parse(b"\xff\xfe\x00").is_err());
        assert!(parse(b"SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }

    #[test]
    fn tcp_framing_by_content_length() {
        let mut buf = b"\r\nSIP/2.0 100 Trying\r\nContent-Length: 3\r\n\r\nabcSIP/2.0 18".to_vec();
        let first = take_frame(&mut buf).unwrap().unwrap();
        assert!(first.ends_with(b"\r\n\r\nabc"));
        assert_eq!(take_frame(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"0 Ringing\r\nl: 0\r\n\r\n");
        let second = take_frame(&mut buf).unwrap().unwrap();
        assert!(second.starts_with(b"SIP/2.0 180 Ringing"));
        assert!(buf.is_empty());
    }

    #[test]
    fn uri_and_list_helpers() {
        assert_eq!(
            uri_of("\"GW\" <sip:gw@127.0.0.1:5060;transport=udp>;expires=3"),
            "sip:gw@127.0.0.1:5060;transport=udp"
        );
        assert_eq!(uri_of("sip:gw@127.0.0.1:5060;lr"), "sip:gw@127.0.0.1:5060");
        assert_eq!(
            split_list("<sip:a@b;lr>, \"x,y\" <sip:c@d;lr>"),
            vec!["<sip:a@b;lr>".to_string(), "\"x,y\" <sip:c@d;lr>".to_string()]
        );
    }

    #[test]
    fn rtcp_is_not_counted() {
        let mut stats = RtpStats::default();
        let pkt = rtp_rs::RtpPacketBuilder::new()
            .payload_type(0)
            .ssrc(1)
            .sequence(rtp_rs::Seq::from(1))
            .payload(&[0xff; 160])
            .build()
            .unwrap();
        stats.on_datagram(&pkt);
        // An RTCP receiver report: V=2, PT=201.
        stats.on_datagram(&[0x80, 201, 0, 1, 0, 0, 0, 1]);
        stats.on_datagram(b"hello");
        assert_eq!(stats.packets, 1);
        assert_eq!(stats.bytes, 160);
        assert_eq!(stats.payload_types, vec![0]);
    }

    #[test]
    fn invite_has_the_required_headers() {
        let mut opts = CallOptions::new("127.0.0.1:5060".parse().unwrap(), "+819012345678", "442079460100");
        opts.pai = Some("+819012345678".into());
        opts.extra_headers.push(("X-Test".into(), "1".into()));
        let uac = Uac::new(&opts, "127.0.0.1:40000".parse().unwrap(), 40002);
        let inv = uac.invite(true);
        assert!(inv.starts_with("INVITE sip:442079460100@127.0.0.1:5060 SIP/2.0\r\n"));
        assert!(inv.contains("P-Asserted-Identity: <sip:+819012345678@127.0.0.1;user=phone>\r\n"));
        assert!(inv.contains("X-Test: 1\r\n"));
        assert!(inv.contains("m=audio 40002 RTP/AVP 0 8 101\r\n"));
        // rsip parses what we build.
        let p = parse(inv.as_bytes()).unwrap();
        assert!(p.msg.is_request());
        let body_len = inv.split("\r\n\r\n").nth(1).unwrap().len();
        assert!(inv.contains(&format!("Content-Length: {body_len}\r\n")));
    }
}
