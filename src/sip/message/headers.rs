//! Header fields (RFC 3261 §7.3, §20): the ordered list, compact names spelled
//! out, and the two values every layer reads, `Via` and `CSeq`.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;

use super::uri::{find_param, format_host_port, parse_params, split_host_port, Param};
use super::{is_token_byte, Method};

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
    pub(super) fn parse_any_version(value: &str) -> Option<Via> {
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

    pub(super) fn write_to(&self, out: &mut String) {
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
