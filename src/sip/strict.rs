//! The syntax rules RFC 4475 says a receiver should hold a request to (§3.1.2,
//! §3.3.8, §3.3.9), checked once the request's Via can carry an answer: a request
//! that breaks one is answered 400 and goes no further, so it can never reach the
//! ticket logic.
//!
//! What real peers send stays accepted: compact header names, folded lines, LWS
//! around separators and in `Via`, quoted display names with escapes, unknown
//! headers with odd values (§3.1.1.1 `wsinv`), escaped characters in URIs
//! (§3.1.1.3 `esc01`), IPv6 and `tel:` URIs. The rules below touch only the
//! headers this endpoint reads (Via, From, To, Contact, Call-ID, CSeq,
//! Max-Forwards, Content-Length, Content-Type, Date) and the Request-URI.

use super::message::{is_token_byte, split_outside_quotes, Headers};

/// Headers that may appear once only (RFC 3261 §7.3.1: only list-valued headers may
/// repeat; RFC 4475 §3.3.8 `multi01`, §3.3.9 `mcl01`).
const SINGLE: &[&str] = &["From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type", "Date"];

/// Check `headers` and the raw Request-URI; `Err` is the reason phrase of a 400.
pub fn check_request(raw_uri: &str, headers: &Headers) -> Result<(), String> {
    for name in SINGLE {
        if headers.get_all(name).nth(1).is_some() {
            return Err(format!("More than one {name} header"));
        }
    }
    if uri_has_headers(raw_uri) {
        // RFC 3261 §19.1.1 (headers are not allowed in a Request-URI); RFC 4475 §3.1.2.11.
        return Err("Request-URI with headers".into());
    }
    for via in headers.get_all("Via") {
        if !via_ok(via) {
            return Err("Bad Via".into());
        }
    }
    for name in ["From", "To"] {
        if !headers.get(name).is_some_and(name_addr_ok) {
            return Err(format!("Bad {name}"));
        }
    }
    for contact in headers.get_all("Contact") {
        let ok = contact.trim() == "*" || split_outside_quotes(contact, b',').into_iter().all(name_addr_ok);
        if !ok {
            return Err("Bad Contact".into());
        }
    }
    if let Some(date) = headers.get("Date") {
        if !date_ok(date) {
            return Err("Bad Date".into());
        }
    }
    Ok(())
}

/// Whether a `sip:`/`sips:` URI carries `?headers` (after the host; a `?` in the
/// user part is a legal character there, RFC 4475 §3.1.1.2).
fn uri_has_headers(raw: &str) -> bool {
    let raw = raw.trim();
    let lower = raw.get(..5).unwrap_or(raw).to_ascii_lowercase();
    if !(lower.starts_with("sip:") || lower.starts_with("sips:")) {
        return false;
    }
    let host_part = match raw.find('@') {
        Some(at) => &raw[at + 1..],
        None => raw,
    };
    host_part.contains('?')
}

/// `*( SEMI generic-param )` after a value (§25.1): every parameter has a token name,
/// so `;;` (RFC 4475 §3.1.2.1) is refused. LWS around the separators is allowed.
fn params_ok(params: &str) -> bool {
    let mut pieces = split_outside_quotes(params, b';').into_iter();
    if !pieces.next().is_some_and(|before| before.trim().is_empty()) {
        return false;
    }
    pieces.all(|p| {
        let name = p.split('=').next().unwrap_or_default().trim();
        !name.is_empty() && name.bytes().all(is_token_byte)
    })
}

/// One Via value (§20.42): not empty (RFC 4475 §3.1.2.1 `;;,;,,`), with well-formed
/// parameters after the sent-by.
fn via_ok(value: &str) -> bool {
    let value = value.trim();
    match value.find(';') {
        Some(i) => !value[..i].trim().is_empty() && params_ok(&value[i..]),
        None => !value.is_empty(),
    }
}

/// A `name-addr` or `addr-spec` value of From, To or Contact (§20.10, §25.1).
fn name_addr_ok(value: &str) -> bool {
    let value = value.trim();
    let lt = find_unquoted(value, b'<');
    let Some(lt) = lt else {
        // addr-spec: parameters after the first ';' are the header's. A URI with a
        // comma or question mark must be in <> (§20.10; RFC 4475 §3.1.2.13).
        let (uri, params) = value.split_at(value.find(';').unwrap_or(value.len()));
        let uri = uri.trim();
        return !uri.is_empty() && !uri.contains([',', '?', ' ', '\t', '"']) && params_ok(params);
    };
    let Some(gt) = value[lt..].find('>').map(|i| lt + i) else { return false };
    let uri = &value[lt + 1..gt];
    // No LWS inside the brackets (RFC 4475 §3.1.2.14 `badaspec`).
    if uri.is_empty() || uri.bytes().any(|b| b.is_ascii_whitespace()) {
        return false;
    }
    display_name_ok(value[..lt].trim()) && params_ok(&value[gt + 1..])
}

/// `display-name = *(token LWS) / quoted-string` (§25.1): unquoted names are tokens
/// (RFC 4475 §3.1.2.15 `baddn`: `Bell, Alexander` is not). Non-ASCII bytes in an
/// unquoted name are let through: phones do send UTF-8 names unquoted.
fn display_name_ok(name: &str) -> bool {
    if name.is_empty() {
        return true;
    }
    if let Some(inner) = name.strip_prefix('"') {
        // A quoted-string ends at its first unescaped quote, and nothing may follow it.
        let mut escaped = false;
        for (i, b) in inner.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => return i + 1 == inner.len(),
                _ => {}
            }
        }
        return false;
    }
    name.bytes().all(|b| is_token_byte(b) || b == b' ' || b == b'\t' || !b.is_ascii())
}

fn find_unquoted(s: &str, target: u8) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == target && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// `SIP-date = rfc1123-date` (§20.17, §25.1), whose zone is always `GMT`
/// (RFC 4475 §3.1.2.12 `baddate`).
fn date_ok(value: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(value.trim(), "%a, %d %b %Y %H:%M:%S GMT").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.push(*n, *v);
        }
        h
    }

    const FROM: (&str, &str) = ("From", "<sip:a@b>;tag=1");
    const TO: (&str, &str) = ("To", "<sip:c@d>");

    #[test]
    fn what_real_peers_send_passes() {
        let ok = [
            ("From", "\"J Rosenberg \\\\\\\"\" <sip:jdrosen@example.com> ; tag = 98asjd8"),
            ("To", "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n"),
            (
                "Contact",
                "\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33",
            ),
            ("Contact", "<sip:a@b>, <sip:c@d>;expires=3"),
            ("Via", "SIP / 2.0 / TCP spindle.example.com ; branch = z9hG4bK9ikj8"),
            ("Via", "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKa;rport"),
            ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
            ("X-Odd", ";;,,;;,;"),
        ];
        assert_eq!(check_request("sip:+442079460100@gw;user=phone", &headers(&ok)), Ok(()));
        let tokens = [("From", "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=x"), TO];
        assert_eq!(check_request("sip:1_unusual?,/;;*@example.com", &headers(&tokens)), Ok(()));
        let utf8 = [("From", "山田 <sip:+819012345678@example.com>;tag=1"), TO];
        assert_eq!(check_request("tel:+442079460100", &headers(&utf8)), Ok(()));
        assert_eq!(check_request("sip:a@b", &headers(&[FROM, TO, ("Contact", "*")])), Ok(()));
    }

    #[test]
    fn what_rfc_4475_refuses_is_named() {
        let refuse = |pairs: &[(&str, &str)], uri: &str| check_request(uri, &headers(pairs)).unwrap_err();
        assert_eq!(refuse(&[FROM, TO, ("Via", "SIP/2.0/UDP h;;")], "sip:a@b"), "Bad Via");
        assert_eq!(refuse(&[FROM, TO, ("Via", "")], "sip:a@b"), "Bad Via");
        assert_eq!(refuse(&[FROM, TO, ("Contact", "\"Joe\" <sip:joe@example.org>;;;;")], "sip:a@b"), "Bad Contact");
        assert_eq!(refuse(&[FROM, TO, ("Contact", "sip:u@e.com?Route=%3Csip:s%3E")], "sip:a@b"), "Bad Contact");
        assert_eq!(refuse(&[FROM, ("To", "\"W, T\" < sip:t@example.org >")], "sip:a@b"), "Bad To");
        assert_eq!(refuse(&[("From", "Bell, Alexander <sip:a@b>;tag=43"), TO], "sip:a@b"), "Bad From");
        assert_eq!(refuse(&[("From", "\"unterminated <sip:a@b>"), TO], "sip:a@b"), "Bad From");
        assert_eq!(refuse(&[FROM, TO, ("Date", "Fri, 01 Jan 2010 16:00:00 EST")], "sip:a@b"), "Bad Date");
        assert_eq!(refuse(&[FROM, TO], "sip:user@example.com?Route=%3Csip:example.com%3E"), "Request-URI with headers");
        assert_eq!(refuse(&[FROM, TO, TO], "sip:a@b"), "More than one To header");
        let two = [FROM, TO, ("Content-Length", "13"), ("Content-Length", "5")];
        assert_eq!(refuse(&two, "sip:a@b"), "More than one Content-Length header");
    }
}
