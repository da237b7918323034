//! SIP message parsing, limits and building (RFC 3261 §7, §8.2, §18.3, §20, §25).
//!
//! The gateway parses SIP itself. rsip 0.4's tokenizer rejects a whole message
//! for things real peers send every day: `tel:` and IPv6 Request-URIs, IPv6
//! `Via` sent-by, compact header names (`v:`, `i:`, RFC 3261 §7.3.3), folded
//! header lines (§7.3.1), several `Via` values on one line, and LWS before `;`
//! in `Via`; and RFC 4475's torture messages need answers rsip cannot give
//! (`sip::strict`). So this module frames and tokenizes the message, validates
//! the headers a response needs, and hands every layer above ([`crate::identity`]
//! included) the same parsed [`Request`]. rsip stays in the simulator
//! (`sim/`), which builds the requests a softphone sends.
//!
//! Nothing here panics on peer input: every index comes from a `find` of an
//! ASCII byte, and every number goes through a checked parse.
//!
//! | file | what |
//! |---|---|
//! | `uri.rs` | URIs, name-addr values, parameters, quoted strings |
//! | `headers.rs` | the header list, compact names, `Via`, `CSeq` |
//! | `parse.rs` | framing and tokenizing, and the checks before a request is handed on |
//! | here | the message types and building responses and requests |

mod headers;
mod parse;
mod uri;

pub use headers::{CSeq, Headers, Via};
pub use parse::{answerable_from_head, find_head_end, finish, parse_datagram, parse_head, Head, ParseError};
pub use uri::{format_host_port, parse_params, split_outside_quotes, NameAddr, Param, Uri, UriError};

use std::fmt::{self, Write as _};
use std::net::SocketAddr;

use bytes::Bytes;

/// Largest message accepted, UDP datagram or TCP message (head + body).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Most header fields (after splitting comma-joined `Via`) in one message.
pub const MAX_HEADERS: usize = 128;

/// The methods this endpoint implements; anything else is answered 405.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Cancel,
    Bye,
    Options,
    /// In-dialog information (RFC 6086); we take DTMF from it (legacy `application/dtmf-relay`).
    Info,
    /// Any other method token, upper-cased as received (methods are case-sensitive, §7.1,
    /// but we never act on extension methods beyond a 405).
    Other(String),
}

impl Method {
    pub(super) fn parse(token: &str) -> Option<Method> {
        if token.is_empty() || !token.bytes().all(is_token_byte) {
            return None;
        }
        Some(match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "CANCEL" => Method::Cancel,
            "BYE" => Method::Bye,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            other => Method::Other(other.to_string()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Cancel => "CANCEL",
            Method::Bye => "BYE",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// token characters (RFC 3261 §25.1).
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// A validated SIP request. The fields below the headers are parsed once here
/// so that later layers never deal with a missing or malformed Via/CSeq.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Bytes,
    /// Top Via, after `received`/`rport` stamping.
    pub via: Via,
    pub cseq: CSeq,
    pub call_id: String,
    pub from: NameAddr,
    pub to: NameAddr,
}

/// A SIP response (incoming ones are validated enough to match a client transaction).
#[derive(Debug, Clone)]
pub struct Response {
    pub code: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

// A request is bigger than a response, but each message is moved only a couple of
// times on its way to the TU; boxing would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    /// Apply `received`/`rport` to the top Via for the source address (§18.2.1,
    /// RFC 3581 §4), so every response built from this request carries them.
    pub fn stamp_source(&mut self, src: SocketAddr) {
        self.via.stamp_source(src);
        let via = self.via.to_string();
        stamp_top_via(&mut self.headers, &via);
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    pub fn max_forwards(&self) -> Option<u8> {
        self.headers.get("Max-Forwards").and_then(|v| v.trim().parse().ok())
    }
}

fn stamp_top_via(headers: &mut Headers, via: &str) {
    if let Some(slot) = headers.top_via_mut() {
        *slot = via.to_string();
    }
}

impl Response {
    pub fn via(&self) -> Option<Via> {
        self.headers.get("Via").and_then(Via::parse)
    }

    pub fn cseq(&self) -> Option<CSeq> {
        self.headers.get("CSeq").and_then(CSeq::parse)
    }

    /// Serialize with a correct Content-Length (§20.14; mandatory over TCP, §18.3).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = String::with_capacity(256 + self.body.len());
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.code, self.reason);
        write_head_and_body(&mut out, &self.headers, &self.body)
    }
}

/// An outgoing request (our BYE).
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub method: Method,
    pub uri: String,
    pub headers: Headers,
    pub body: Bytes,
}

impl OutgoingRequest {
    pub fn to_bytes(&self) -> Bytes {
        let mut out = String::with_capacity(256 + self.body.len());
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        write_head_and_body(&mut out, &self.headers, &self.body)
    }
}

fn write_head_and_body(out: &mut String, headers: &Headers, body: &[u8]) -> Bytes {
    let mut headers = headers.clone();
    headers.remove("Content-Length");
    headers.push("Content-Length", body.len().to_string());
    headers.write_to(out);
    out.push_str("\r\n");
    let mut bytes = std::mem::take(out).into_bytes();
    bytes.extend_from_slice(body);
    Bytes::from(bytes)
}

/// The default reason phrase for a status code (RFC 3261 §21 and later RFCs).
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        416 => "Unsupported URI Scheme",
        433 => "Anonymity Disallowed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        _ => match code / 100 {
            1 => "Session Progress",
            2 => "OK",
            3 => "Redirection",
            4 => "Request Failure",
            5 => "Server Failure",
            _ => "Global Failure",
        },
    }
}

/// Build a response to a request from its headers (§8.2.6.2): Via (all, in order),
/// From, To (with `to_tag` added if it has none), Call-ID and CSeq are copied.
pub fn response_for(headers: &Headers, code: u16, reason: &str, to_tag: Option<&str>) -> Response {
    let mut out = Headers::new();
    // Empty values (a list like `;;,;,,`, RFC 4475 §3.1.2.1) are not echoed.
    for v in headers.get_all("Via").filter(|v| !v.trim().is_empty()) {
        out.push("Via", v);
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = headers.get(name) {
            let mut v = v.to_string();
            if name == "To" && code > 100 {
                if let Some(tag) = to_tag {
                    let has_tag = NameAddr::parse(&v).map(|n| n.tag().is_some()).unwrap_or(true);
                    if !has_tag {
                        let _ = write!(v, ";tag={tag}");
                    }
                }
            }
            out.push(name, v);
        }
    }
    let reason = if reason.is_empty() { reason_phrase(code) } else { reason };
    Response { code, reason: reason.to_string(), headers: out, body: Bytes::new() }
}

/// A fresh branch ID with the RFC 3261 magic cookie (§8.1.1.7).
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(16))
}

/// A fresh tag (§19.3: at least 32 bits of randomness).
pub fn new_tag() -> String {
    random_token(12)
}

fn random_token(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::uri::percent_decode;
    use super::*;

    fn req(text: &str) -> Result<Message, ParseError> {
        parse_datagram(text.replace('\n', "\r\n").as_bytes())
    }

    fn request(text: &str) -> Request {
        match req(text) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    const INVITE: &str = "INVITE sip:+442079460200@127.0.0.1 SIP/2.0\n\
Via: SIP/2.0/UDP 10.0.0.1:5060 ;branch=z9hG4bK776;rport\n\
f: \"Alice \\\"A\\\"\" <sip:+442079460100@example.com;user=phone>;tag=abc\n\
t: <sip:+442079460200@example.com>\n\
i: x1@y\n\
CSeq: 1 INVITE\n\
Subject: a\n b\n\
Max-Forwards: 70\n\
l: 4\n\n\
bodyEXTRA";

    #[test]
    fn parses_compact_folded_and_cuts_body() {
        let r = request(INVITE);
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.user.as_deref(), Some("+442079460200"));
        assert_eq!(r.via.branch(), Some("z9hG4bK776"));
        assert_eq!(r.call_id, "x1@y");
        assert_eq!(r.from.display_name.as_deref(), Some("Alice \"A\""));
        assert_eq!(r.from.tag(), Some("abc"));
        assert_eq!(r.from.uri.param("user").and_then(|p| p.value.as_deref()), Some("phone"));
        assert_eq!(r.header("Subject"), Some("a b"));
        assert_eq!(&r.body[..], b"body");
        // Compact names are spelled out, so the layers above ask for one name only.
        assert_eq!(r.header("Call-ID"), Some("x1@y"));
        assert_eq!(r.headers.get_all("From").count(), 1);
    }

    #[test]
    fn splits_via_lists_and_ipv6() {
        let text = "OPTIONS sip:[2001:db8::1]:5070 SIP/2.0\nVia: SIP/2.0/TCP [2001:db8::9]:5060;branch=z9hG4bKa, SIP/2.0/UDP p.example;branch=z9hG4bKb\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\nCSeq: 5 OPTIONS\n\n";
        let r = request(text);
        assert_eq!(r.uri.host, "2001:db8::1");
        assert_eq!(r.uri.port, Some(5070));
        assert_eq!(r.via.host, "2001:db8::9");
        assert_eq!(r.headers.get_all("Via").count(), 2);
        assert_eq!(r.via.to_string(), "SIP/2.0/TCP [2001:db8::9]:5060;branch=z9hG4bKa");
    }

    #[test]
    fn tel_request_uri() {
        let text = "INVITE tel:+44-20-7946-0200;phone-context=x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\nFrom: <tel:+442079460100>;tag=1\nTo: <tel:+44-20-7946-0200>\nCall-ID: c\nCSeq: 1 INVITE\n\n";
        let r = request(text);
        assert_eq!(r.uri.scheme, "tel");
        assert_eq!(r.uri.user.as_deref(), Some("+44-20-7946-0200"));
        assert_eq!(r.from.uri.scheme, "tel");
        assert_eq!(r.from.uri.user.as_deref(), Some("+442079460100"));
    }

    #[test]
    fn answerable_and_unanswerable_errors() {
        let base = "Via: SIP/2.0/UDP h;branch=z9hG4bKa\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\n";
        let e = req(&format!("INVITE sip:x@y SIP/2.0\n{base}CSeq: one INVITE\n\n")).unwrap_err();
        assert!(matches!(e, ParseError::Answerable { status: 400, .. }), "{e:?}");
        let e = req(&format!("INVITE sip:x@y SIP/2.0\n{base}CSeq: 1 BYE\n\n")).unwrap_err();
        assert!(matches!(e, ParseError::Answerable { status: 400, .. }), "{e:?}");
        let e = req(&format!("INVITE mailto:x@y SIP/2.0\n{base}CSeq: 1 INVITE\n\n")).unwrap_err();
        assert!(matches!(e, ParseError::Answerable { status: 416, .. }), "{e:?}");
        let e = req(&format!("INVITE sip:x@y SIP/3.0\n{base}CSeq: 1 INVITE\n\n")).unwrap_err();
        assert!(matches!(e, ParseError::Answerable { status: 505, .. }), "{e:?}");
        let e = req(&format!("INVITE sip:x@y SIP/2.0\n{base}CSeq: 1 INVITE\nContent-Length: 99\n\nshort")).unwrap_err();
        assert!(matches!(e, ParseError::Answerable { status: 400, .. }), "{e:?}");
        // ACKs are never answered.
        let e = req(&format!("ACK sip:x@y SIP/2.0\n{base}CSeq: 1 INVITE\n\n")).unwrap_err();
        assert!(matches!(e, ParseError::Unanswerable(_)), "{e:?}");
        // No Call-ID: 400 with the reason (§8.1.1 mandatory headers).
        let e = req("INVITE sip:x@y SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCSeq: 1 INVITE\n\n").unwrap_err();
        assert!(
            matches!(&e, ParseError::Answerable { status: 400, reason, .. } if reason == "Missing Call-ID header"),
            "{e:?}"
        );
        // No Via: nowhere to answer.
        let e = req("INVITE sip:x@y SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\nCSeq: 1 INVITE\n\n")
            .unwrap_err();
        assert!(matches!(e, ParseError::Unanswerable(_)), "{e:?}");
    }

    #[test]
    fn garbage_never_panics() {
        let samples: Vec<Vec<u8>> = vec![
            vec![],
            vec![0, 1, 2, 255, 254],
            b"\r\n\r\n".to_vec(),
            b"INVITE".to_vec(),
            b"INVITE sip:%%%@[::1 SIP/2.0\r\nVia: SIP/2.0/UDP [::1;branch=\r\n\r\n".to_vec(),
            b"SIP/2.0 999999 x\r\n\r\n".to_vec(),
            b"INVITE sip:a@b SIP/2.0\r\n Via: x\r\n\r\n".to_vec(),
            b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:99999\r\n\r\n".to_vec(),
            b"INVITE sip:a@b SIP/2.0\r\nFrom: \"unterminated <sip:a@b>\r\n\r\n".to_vec(),
            "INVITE sip:\u{e9}@b SIP/2.0\r\nTo: \u{1F600}\r\n\r\n".as_bytes().to_vec(),
            b"%".to_vec(),
            b"INVITE sip:a%4@b SIP/2.0\r\n\r\n".to_vec(),
        ];
        for s in samples {
            let _ = parse_datagram(&s);
        }
        let mut many = String::from("OPTIONS sip:a@b SIP/2.0\r\n");
        for i in 0..500 {
            many.push_str(&format!("X-{i}: y\r\n"));
        }
        assert!(matches!(parse_datagram(many.as_bytes()), Err(ParseError::Unanswerable(_))));
    }

    #[test]
    fn via_stamping() {
        let mut v = Via::parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport").unwrap();
        v.stamp_source("192.0.2.7:40000".parse().unwrap());
        assert_eq!(v.to_string(), "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport=40000;received=192.0.2.7");
        let mut v = Via::parse("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKx").unwrap();
        v.stamp_source("192.0.2.7:5060".parse().unwrap());
        assert_eq!(v.to_string(), "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKx");
        let mut v = Via::parse("SIP/2.0/UDP pc.example.com;branch=z9hG4bKx").unwrap();
        v.stamp_source("192.0.2.7:5060".parse().unwrap());
        assert!(v.to_string().ends_with(";received=192.0.2.7"));
    }

    #[test]
    fn response_copies_headers_and_adds_tag() {
        let r = request(INVITE);
        let resp = response_for(&r.headers, 486, "", Some("xyz"));
        let text = String::from_utf8(resp.to_bytes().to_vec()).unwrap();
        assert!(text.starts_with("SIP/2.0 486 Busy Here\r\n"), "{text}");
        assert!(text.contains("To: <sip:+442079460200@example.com>;tag=xyz\r\n"), "{text}");
        assert!(text.contains("CSeq: 1 INVITE\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        let trying = response_for(&r.headers, 100, "", Some("xyz"));
        assert_eq!(trying.headers.get("To"), Some("<sip:+442079460200@example.com>"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%2B4420"), "+4420");
        assert_eq!(percent_decode("%2"), "%2");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }
}
