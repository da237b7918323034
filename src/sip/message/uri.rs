//! URIs and the values made of them (RFC 3261 §19.1, §20.10, §25.1; RFC 3966):
//! `sip:`/`sips:`/`tel:` URIs, name-addr values, `;name=value` parameters and
//! quoted strings.

use std::fmt;

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

/// A left-to-right scan's place with respect to quoted strings (RFC 3261 §25.1:
/// `quoted-string` with `quoted-pair` escapes).
#[derive(Default)]
struct Quotes {
    inside: bool,
    escaped: bool,
}

impl Quotes {
    /// Take the next byte: whether it is part of a quoted string (its quotes included).
    fn quoted(&mut self, b: u8) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.inside = false;
            }
            return true;
        }
        self.inside = b == b'"';
        self.inside
    }
}

/// Split `s` at `sep` bytes that are outside double quotes and angle brackets.
/// Used for comma-separated header lists (§7.3.1) and `;` parameter lists.
pub fn split_outside_quotes(s: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quotes, mut angle, mut start) = (Quotes::default(), 0u32, 0usize);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if quotes.quoted(b) {
            continue;
        }
        match b {
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
pub(super) fn find_outside_quotes(s: &str, target: u8) -> Option<usize> {
    let mut quotes = Quotes::default();
    s.as_bytes().iter().position(|&b| !quotes.quoted(b) && b == target)
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

pub(super) fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Strip surrounding double quotes and resolve `\x` escapes (§25.1 quoted-string).
pub(super) fn unquote(s: &str) -> String {
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
pub(super) fn percent_decode(s: &str) -> String {
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
pub(super) fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
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
