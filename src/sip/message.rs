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
    fn parse(token: &str) -> Option<Method> {
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

/// One `;name[=value]` parameter of a URI or header field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, ";{}={}", self.name, v),
            None => write!(f, ";{}", self.name),
        }
    }
}

/// Split `s` at `sep` bytes that are outside double quotes and angle brackets.
/// Used for comma-separated header lists (§7.3.1) and `;` parameter lists.
pub fn split_outside_quotes(s: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = s.as_bytes();
    let (mut in_quotes, mut angle, mut escaped, mut start) = (false, 0u32, false, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'<' => angle += 1,
            b'>' => angle = angle.saturating_sub(1),
            _ if b == sep && angle == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Index of the first `target` byte outside a quoted string.
fn find_outside_quotes(s: &str, target: u8) -> Option<usize> {
    let (mut in_quotes, mut escaped) = (false, false);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
        } else if b == b'"' {
            in_quotes = true;
        } else if b == target {
            return Some(i);
        }
    }
    None
}

/// Parse `;a=b;c` (leading `;` optional). Names are lower-cased (parameter
/// names are case-insensitive, §7.3.1); quoted values are unquoted.
pub fn parse_params(s: &str) -> Vec<Param> {
    split_outside_quotes(s, b';')
        .into_iter()
        .filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
                None => (p, None),
            };
            Some(Param { name: name.to_ascii_lowercase(), value })
        })
        .collect()
}

fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Strip surrounding double quotes and resolve `\x` escapes (§25.1 quoted-string).
fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => s.to_string(),
    }
}

/// Decode `%XX` escapes (§19.1.2: user parts may be escaped, e.g. `%2B` for `+`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a URI could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("'{0}' is not a URI")]
    Malformed(String),
    #[error("unsupported URI scheme '{0}'")]
    UnsupportedScheme(String),
}

/// A `sip:`, `sips:` or `tel:` URI (RFC 3261 §19.1, RFC 3966), split into the
/// parts this endpoint uses. The original text is kept for echoing back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Lower-cased scheme: `sip`, `sips` or `tel`.
    pub scheme: String,
    /// The user part (percent-decoded); for `tel:` the number itself.
    pub user: Option<String>,
    /// Host without IPv6 brackets; empty for `tel:`.
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<Param>,
    raw: String,
}

impl Uri {
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let raw = s.trim();
        let bad = || UriError::Malformed(raw.chars().take(200).collect());
        let (scheme, rest) = raw.split_once(':').ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
            return Err(bad());
        }
        if rest.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(bad());
        }
        match scheme.as_str() {
            "tel" => {
                let mut parts = rest.splitn(2, ';');
                let number = parts.next().unwrap_or_default();
                if number.is_empty() {
                    return Err(bad());
                }
                let params = parts.next().map(parse_params).unwrap_or_default();
                Ok(Uri {
                    scheme,
                    user: Some(percent_decode(number)),
                    host: String::new(),
                    port: None,
                    params,
                    raw: raw.to_string(),
                })
            }
            "sip" | "sips" => {
                let (user, hostpart) = match rest.find('@') {
                    Some(at) => {
                        let userinfo = &rest[..at];
                        let user = userinfo.split(':').next().unwrap_or_default();
                        (Some(percent_decode(user)), &rest[at + 1..])
                    }
                    None => (None, rest),
                };
                // URI headers (`?h=v`) are not used by this endpoint.
                let hostpart = hostpart.split('?').next().unwrap_or_default();
                let (hostport, params) = match hostpart.split_once(';') {
                    Some((hp, ps)) => (hp, parse_params(ps)),
                    None => (hostpart, Vec::new()),
                };
                let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
                Ok(Uri { scheme, user, host, port, params, raw: raw.to_string() })
            }
            other => Err(UriError::UnsupportedScheme(other.to_string())),
        }
    }

    /// The URI as received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// `host[:port]` with IPv6 references in brackets (§19.1.1, §25.1 IPv6reference).
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        host.parse::<std::net::Ipv6Addr>().ok()?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b)) {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Format a host for a URI or Via: IPv6 in brackets.
pub fn format_host_port(host: &str, port: Option<u16>) -> String {
    let h = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    match port {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

/// A `name-addr` / `addr-spec` header value: From, To, Contact, P-Asserted-Identity,
/// Remote-Party-ID (RFC 3261 §20.10, §25.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display_name: Option<String>,
    pub uri: Uri,
    /// Header parameters (after the URI), e.g. `tag`.
    pub params: Vec<Param>,
}

impl NameAddr {
    pub fn parse(value: &str) -> Result<NameAddr, UriError> {
        let v = value.trim();
        let bad = || UriError::Malformed(v.chars().take(200).collect());
        if let Some(lt) = find_outside_quotes(v, b'<') {
            // name-addr: [display-name] "<" addr-spec ">" *(;param)
            let display = v[..lt].trim();
            let after_lt = &v[lt + 1..];
            let gt = after_lt.find('>').ok_or_else(bad)?;
            let uri = Uri::parse(&after_lt[..gt])?;
            let rest = after_lt[gt + 1..].trim();
            if !rest.is_empty() && !rest.starts_with(';') {
                return Err(bad());
            }
            let display_name = Some(unquote(display)).filter(|d| !d.is_empty());
            Ok(NameAddr { display_name, uri, params: parse_params(rest) })
        } else {
            // addr-spec: parameters after the first ';' belong to the header (§20.10).
            let (uri, rest) = match v.split_once(';') {
                Some((u, r)) => (u, r),
                None => (v, ""),
            };
            Ok(NameAddr { display_name: None, uri: Uri::parse(uri)?, params: parse_params(rest) })
        }
    }

    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").and_then(|p| p.value.as_deref())
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }
}

/// A `Via` header value (RFC 3261 §20.42, RFC 3581).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Upper-cased transport: `UDP`, `TCP`, …
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<Param>,
}

impl Via {
    pub fn parse(value: &str) -> Option<Via> {
        Self::parse_version(value, false)
    }

    /// Like [`Via::parse`], but any `SIP/x.y` version: enough to route the 505 for
    /// a request of another SIP version (§21.5.6; RFC 4475 §3.1.2.16).
    fn parse_any_version(value: &str) -> Option<Via> {
        Self::parse_version(value, true)
    }

    fn parse_version(value: &str, any_version: bool) -> Option<Via> {
        // sent-protocol = "SIP" LWS? "/" LWS? "2.0" LWS? "/" LWS? transport
        let mut pieces = value.trim().splitn(3, '/');
        let name = pieces.next()?.trim();
        let version = pieces.next()?.trim();
        let rest = pieces.next()?.trim_start();
        let version_ok = version == "2.0" || (any_version && version.split('.').all(|d| d.parse::<u8>().is_ok()));
        if !name.eq_ignore_ascii_case("SIP") || !version_ok {
            return None;
        }
        let t_end = rest.find(|c: char| c.is_ascii_whitespace())?;
        let transport = rest[..t_end].to_ascii_uppercase();
        if transport.is_empty() || !transport.bytes().all(is_token_byte) {
            return None;
        }
        let after = rest[t_end..].trim_start();
        let (sent_by, params) = match after.split_once(';') {
            Some((s, p)) => (s, parse_params(p)),
            None => (after, Vec::new()),
        };
        let (host, port) = split_host_port(sent_by)?;
        Some(Via { transport, host, port, params })
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch").and_then(|p| p.value.as_deref())
    }

    /// Branch IDs from RFC 3261 implementations start with this magic cookie (§8.1.1.7).
    pub fn is_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// Add `received` / fill `rport` for a request that arrived from `src`
    /// (RFC 3261 §18.2.1, RFC 3581 §4).
    pub fn stamp_source(&mut self, src: SocketAddr) {
        let src_ip = src.ip().to_string();
        let rport_requested = self.param("rport").is_some_and(|p| p.value.is_none());
        let sent_by_differs = self.host.parse::<std::net::IpAddr>().map(|ip| ip != src.ip()).unwrap_or(true);
        if sent_by_differs || rport_requested {
            self.params.retain(|p| p.name != "received");
            self.params.push(Param { name: "received".into(), value: Some(src_ip) });
        }
        if rport_requested {
            for p in self.params.iter_mut().filter(|p| p.name == "rport") {
                p.value = Some(src.port().to_string());
            }
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, format_host_port(&self.host, self.port))?;
        for p in &self.params {
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// `CSeq: <number> <method>` (§20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(value: &str) -> Option<CSeq> {
        let mut it = value.split_ascii_whitespace();
        let seq: u32 = it.next()?.parse().ok()?;
        let method = Method::parse(it.next()?)?;
        // The sequence number MUST be less than 2**31 (§8.1.1.5).
        if it.next().is_some() || seq >= 1 << 31 {
            return None;
        }
        Some(CSeq { seq, method })
    }
}

/// Header fields in order, with canonical names for the ones we know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// First value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The value of the first (top) Via.
    pub fn top_via_mut(&mut self) -> Option<&mut String> {
        self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case("Via")).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn write_to(&self, out: &mut String) {
        for (n, v) in &self.0 {
            let _ = write!(out, "{n}: {v}\r\n");
        }
    }
}

/// Compact header forms (RFC 3261 §7.3.3, and the ones registered since) and
/// the canonical spelling of the headers we read.
pub(crate) fn canonical_name(name: &str) -> String {
    let full = match name.to_ascii_lowercase().as_str() {
        "i" | "call-id" => "Call-ID",
        "m" | "contact" => "Contact",
        "e" | "content-encoding" => "Content-Encoding",
        "l" | "content-length" => "Content-Length",
        "c" | "content-type" => "Content-Type",
        "f" | "from" => "From",
        "s" | "subject" => "Subject",
        "k" | "supported" => "Supported",
        "t" | "to" => "To",
        "v" | "via" => "Via",
        "o" | "event" => "Event",
        "u" | "allow-events" => "Allow-Events",
        "r" | "refer-to" => "Refer-To",
        "b" | "referred-by" => "Referred-By",
        "x" | "session-expires" => "Session-Expires",
        "y" | "identity" => "Identity",
        "cseq" => "CSeq",
        "max-forwards" => "Max-Forwards",
        "record-route" => "Record-Route",
        "route" => "Route",
        "p-asserted-identity" => "P-Asserted-Identity",
        "remote-party-id" => "Remote-Party-ID",
        "privacy" => "Privacy",
        _ => return name.to_string(),
    };
    full.to_string()
}

/// Why a message could not be taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not enough of a SIP request to answer (or a response / ACK, which are never answered).
    #[error("unanswerable: {0}")]
    Unanswerable(String),
    /// A request whose Via, From, To, Call-ID and CSeq were readable: answer it with this status.
    #[error("{status} {reason}")]
    Answerable { status: u16, reason: String, headers: Box<Headers>, via: Box<Via> },
}

/// The start line and header fields of a message, before validation.
#[derive(Debug)]
pub struct Head {
    start: StartLine,
    pub headers: Headers,
}

#[derive(Debug)]
enum StartLine {
    /// `malformed`: the line is a request but breaks §7.1's grammar (answered 400).
    Request {
        method: String,
        uri: String,
        version: String,
        malformed: Option<&'static str>,
    },
    Response {
        code: u16,
        reason: String,
    },
}

impl Head {
    /// `Content-Length`, `None` if absent; `Err` (a reason phrase) if it is not a
    /// number, or if there are two: the message then has no framing (RFC 4475 §3.3.9).
    pub fn content_length(&self) -> Result<Option<usize>, &'static str> {
        let mut values = self.headers.get_all("Content-Length");
        let first = values.next();
        if values.next().is_some() {
            return Err("More than one Content-Length header");
        }
        first.map(|v| v.trim().parse::<usize>().map_err(|_| "Bad Content-Length")).transpose()
    }
}

/// Where the header section ends: the index just past the empty line, if present.
/// Accepts bare LF line ends (§7.5 asks for CRLF, but being lenient costs nothing).
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Tokenize the start line and header fields (everything before the empty line).
pub fn parse_head(head: &[u8]) -> Result<Head, ParseError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    // §7.5: implementations should ignore CRLFs that precede the start-line.
    let start = loop {
        match lines.next() {
            Some("") => continue,
            Some(l) => break l,
            None => return Err(ParseError::Unanswerable("empty message".into())),
        }
    };
    let start = parse_start_line(start)?;

    let mut raw: Vec<String> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (§7.3.1).
            match raw.last_mut() {
                Some(prev) => {
                    prev.push(' ');
                    prev.push_str(line.trim());
                }
                None => return Err(ParseError::Unanswerable("continuation line before any header".into())),
            }
        } else {
            raw.push(line.to_string());
        }
        if raw.len() > MAX_HEADERS {
            return Err(ParseError::Unanswerable("too many header fields".into()));
        }
    }

    let mut headers = Headers::new();
    for line in raw {
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed_header(&line));
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(malformed_header(&line));
        }
        let name = canonical_name(name);
        let value = value.trim();
        if name == "Via" {
            // Several Via values may share one line (§7.3.1); keep one per field so the
            // top Via is always the first field.
            for v in split_outside_quotes(value, b',') {
                headers.push("Via", v.trim());
            }
        } else {
            headers.push(name, value);
        }
        if headers.len() > MAX_HEADERS {
            return Err(ParseError::Unanswerable("too many header fields".into()));
        }
    }
    Ok(Head { start, headers })
}

fn malformed_header(line: &str) -> ParseError {
    // The rest of the header section is unknown, so we cannot be sure Via/CSeq are right.
    ParseError::Unanswerable(format!("malformed header line: {}", line.chars().take(80).collect::<String>()))
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let bad = || ParseError::Unanswerable(format!("bad start line: {}", line.chars().take(80).collect::<String>()));
    if let Some(rest) = line.strip_prefix("SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
        let mut it = rest.splitn(3, ' ');
        let version = it.next().ok_or_else(bad)?;
        let code: u16 = it.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
        if version != "2.0" || !(100..=699).contains(&code) {
            return Err(bad());
        }
        return Ok(StartLine::Response { code, reason: it.next().unwrap_or_default().to_string() });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1): single spaces, none
    // at the end. A line that is a request but spaced otherwise (RFC 4475 §3.1.2.8-10:
    // LWS inside the URI, several SP, SP before the CRLF) is still read, so the 400
    // can be sent; the URI is then everything between the method and the version.
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let (Some(&method), Some(&version)) = (words.first(), words.last()) else { return Err(bad()) };
    if words.len() < 3 || !method.bytes().all(is_token_byte) || !version.starts_with("SIP/") {
        return Err(bad());
    }
    let strict = line.split(' ').count() == 3 && words.len() == 3;
    let malformed = match words.len() {
        3 if strict => None,
        3 => Some("Extra whitespace in the Request-Line"),
        _ => Some("Whitespace in the Request-URI"),
    };
    Ok(StartLine::Request {
        method: method.to_string(),
        uri: words[1..words.len() - 1].join(" "),
        version: version.to_string(),
        malformed,
    })
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

/// Finish a request or response from its head and body (already cut to Content-Length).
pub fn finish(head: Head, body: Bytes) -> Result<Message, ParseError> {
    match head.start {
        StartLine::Response { code, reason } => {
            let headers = head.headers;
            let ok = headers.get("Via").and_then(Via::parse).is_some()
                && headers.get("CSeq").and_then(CSeq::parse).is_some()
                && headers.get("Call-ID").is_some();
            if !ok {
                return Err(ParseError::Unanswerable("response without usable Via/CSeq/Call-ID".into()));
            }
            Ok(Message::Response(Response { code, reason, headers, body }))
        }
        StartLine::Request { method, uri, version, malformed } => {
            validate_request(method, uri, version, malformed, head.headers, body).map(Message::Request)
        }
    }
}

fn validate_request(
    method: String,
    uri: String,
    version: String,
    malformed: Option<&'static str>,
    headers: Headers,
    body: Bytes,
) -> Result<Request, ParseError> {
    let unanswerable = |why: &str| ParseError::Unanswerable(why.to_string());
    let method = Method::parse(&method).ok_or_else(|| unanswerable("bad method"))?;
    // Without a usable Via there is nowhere to send a response (§18.2.2). A request of
    // another SIP version has a Via of that version; it is read to send the 505.
    let via = match headers.get("Via") {
        Some(v) if version == "SIP/2.0" => Via::parse(v),
        Some(v) => Via::parse_any_version(v),
        None => None,
    };
    let via = via.ok_or_else(|| unanswerable("no usable Via"))?;
    // From here on a response can be routed, so problems are answered (never for ACK, §17.1.1.3).
    let answer = |status: u16, reason: &str| {
        if method == Method::Ack {
            ParseError::Unanswerable(format!("ACK: {reason}"))
        } else {
            ParseError::Answerable {
                status,
                reason: reason.to_string(),
                headers: Box::new(headers.clone()),
                via: Box::new(via.clone()),
            }
        }
    };
    // A version we do not speak is refused (505, §21.5.6) before anything else is
    // read (RFC 4475 §3.1.2.16).
    if version != "SIP/2.0" {
        return Err(answer(505, "Version Not Supported"));
    }
    if let Some(why) = malformed {
        return Err(answer(400, why));
    }
    // §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory; we are lenient
    // about Max-Forwards (a UAS is its last hop anyway) but need the other four to build
    // a response the client can match (§8.2.6.2). A 400 says which one is missing.
    for h in ["From", "To", "Call-ID", "CSeq"] {
        if headers.get(h).is_none_or(|v| v.trim().is_empty()) {
            return Err(answer(400, &format!("Missing {h} header")));
        }
    }
    if let Err(why) = super::strict::check_request(&uri, &headers) {
        return Err(answer(400, &why));
    }
    let uri = match Uri::parse(&uri) {
        Ok(u) => u,
        Err(UriError::UnsupportedScheme(_)) => return Err(answer(416, "Unsupported URI Scheme")),
        Err(UriError::Malformed(_)) => return Err(answer(400, "Bad Request-URI")),
    };
    let cseq = match headers.get("CSeq").and_then(CSeq::parse) {
        Some(c) if c.method == method => c,
        Some(_) => return Err(answer(400, "CSeq method does not match the request")),
        None => return Err(answer(400, "Bad CSeq")),
    };
    let from = headers.get("From").map(NameAddr::parse);
    let Some(Ok(from)) = from else {
        return Err(answer(400, "Bad From"));
    };
    let to = headers.get("To").map(NameAddr::parse);
    let Some(Ok(to)) = to else {
        return Err(answer(400, "Bad To"));
    };
    if let Some(mf) = headers.get("Max-Forwards") {
        if mf.trim().parse::<u8>().is_err() {
            return Err(answer(400, "Bad Max-Forwards"));
        }
    }
    let call_id = headers.get("Call-ID").unwrap_or_default().trim().to_string();
    Ok(Request { method, uri, headers, body, via, cseq, call_id, from, to })
}

/// Parse one UDP datagram (RFC 3261 §18.3: the body ends at Content-Length,
/// extra bytes are discarded; a shorter body is an error).
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    if buf.len() > MAX_MESSAGE_BYTES {
        return Err(ParseError::Unanswerable("datagram too large".into()));
    }
    let (head, rest) = match find_head_end(buf) {
        Some(end) => (&buf[..end], &buf[end..]),
        // A message whose header section is not terminated: accept it if it is the whole datagram.
        None => (buf, &[][..]),
    };
    let head = parse_head(head)?;
    let body = match head.content_length() {
        Ok(Some(n)) if n <= rest.len() => Bytes::copy_from_slice(&rest[..n]),
        Ok(Some(_)) => return Err(answerable_from_head(&head, 400, "Content-Length larger than the message")),
        Ok(None) => Bytes::copy_from_slice(rest),
        Err(why) => return Err(answerable_from_head(&head, 400, why)),
    };
    finish(head, body)
}

/// An error to answer with `status` if the head is a request with enough headers to
/// answer, otherwise an unanswerable one.
pub fn answerable_from_head(head: &Head, status: u16, reason: &str) -> ParseError {
    // A response needs only a usable Via to be routed (§18.2.2); the rest is copied if present.
    let is_answerable_request = matches!(&head.start, StartLine::Request { method, .. } if method != "ACK");
    match head.headers.get("Via").and_then(Via::parse) {
        Some(via) if is_answerable_request => ParseError::Answerable {
            status,
            reason: reason.to_string(),
            headers: Box::new(head.headers.clone()),
            via: Box::new(via),
        },
        _ => ParseError::Unanswerable(reason.to_string()),
    }
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
