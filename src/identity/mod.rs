//! Who is calling: the caller's number from an INVITE, and whether we can trust it.
//!
//! Caller ID is the key to money here (it selects whose tickets are issued),
//! so the rules are strict:
//!
//! * `P-Asserted-Identity` (RFC 3325) and then `Remote-Party-ID`
//!   (draft-ietf-sip-privacy-04, still sent by many carriers) are believed only
//!   from a trunk whose dialplan entry says `trust_pai = true` — RFC 3325 §2
//!   makes the asserted identity meaningful only inside a trust domain, and
//!   anyone can put the header into a request.
//! * Otherwise the `From` header is used, marked untrusted.
//! * A caller who withheld their number (RFC 3323 `Privacy: id|header|user`
//!   from an untrusted source, `anonymous` / `anonymous.invalid` identities,
//!   or a name instead of a number) is [`IdentityError::Anonymous`].
//! * Inside the trust domain a `Privacy: id` request asks us not to pass the
//!   identity *on* (RFC 3323 §5, RFC 3325 §7); it is still known to us, so the
//!   asserted number is returned.

pub mod stir;

use std::net::IpAddr;

use crate::dialplan::Dialplan;
use crate::phone::{PhoneNumber, PhoneNumberError};
use crate::sip::message::{canonical_name, split_outside_quotes, NameAddr};

/// Which header the caller's number was taken from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum IdentitySource {
    PAssertedIdentity,
    RemotePartyId,
    From,
}

/// The caller as far as we can tell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallerIdentity {
    pub number: PhoneNumber,
    pub source: IdentitySource,
    /// The number was asserted by a trusted peer (not just claimed in `From`).
    pub trusted: bool,
    pub display_name: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IdentityError {
    #[error("caller withheld their number")]
    Anonymous,
    #[error("no usable caller number: {0}")]
    Unusable(String),
}

/// Work out the caller of `req`, which arrived from `source`.
pub fn caller_identity(
    req: &rsip::Request,
    source: IpAddr,
    dialplan: &Dialplan,
) -> Result<CallerIdentity, IdentityError> {
    let headers = named_headers(req);
    let values = |name: &'static str| headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str());

    let trunk = dialplan.trunk_for(source);
    let trusted = trunk.is_some_and(|t| t.trust_pai);
    let country_code = trunk.and_then(|t| t.country_code.as_deref()).or(dialplan.country_code.as_deref());

    // RFC 3323 §4.2: Privacy = priv-value *(";" priv-value); several headers may appear.
    let privacy_requested = values("Privacy")
        .flat_map(|v| v.split([';', ',']))
        .map(|p| p.trim().to_ascii_lowercase())
        .any(|p| matches!(p.as_str(), "id" | "header" | "user"));

    if trusted {
        let pai: Vec<NameAddr> = values("P-Asserted-Identity").flat_map(list_entries).collect();
        if let Some(chosen) = prefer_telephone(&pai) {
            return to_identity(chosen, IdentitySource::PAssertedIdentity, true, country_code);
        }
        // Remote-Party-ID: only the calling party's entry (party=calling, or no party param).
        let rpid: Vec<NameAddr> = values("Remote-Party-ID")
            .flat_map(list_entries)
            .filter(|n| {
                n.param("party").and_then(|p| p.value.as_deref()).is_none_or(|v| v.eq_ignore_ascii_case("calling"))
            })
            .collect();
        if let Some(chosen) = prefer_telephone(&rpid) {
            return to_identity(chosen, IdentitySource::RemotePartyId, true, country_code);
        }
    }

    // No asserted identity we may believe: a privacy request means the caller withheld
    // their number, whatever From says.
    if privacy_requested {
        return Err(IdentityError::Anonymous);
    }
    let from = values("From").next().ok_or_else(|| IdentityError::Unusable("no From header".into()))?;
    let from = NameAddr::parse(from).map_err(|e| IdentityError::Unusable(format!("From: {e}")))?;
    to_identity(&from, IdentitySource::From, false, country_code)
}

/// Every header as (canonical name, value), whether rsip typed it or not.
fn named_headers(req: &rsip::Request) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter_map(|h| {
            let text = h.to_string();
            let (name, value) = text.split_once(':')?;
            Some((canonical_name(name.trim()), value.trim().to_string()))
        })
        .collect()
}

/// The parsable entries of a comma-separated identity header; unparsable ones are skipped.
fn list_entries(value: &str) -> Vec<NameAddr> {
    split_outside_quotes(value, b',').into_iter().filter_map(|v| NameAddr::parse(v).ok()).collect()
}

/// RFC 3325 §9.1 allows one sip/sips and one tel identity; the telephone one is what we key on.
fn prefer_telephone(entries: &[NameAddr]) -> Option<&NameAddr> {
    let is_phone = |n: &&NameAddr| {
        n.uri.scheme == "tel"
            || n.uri.param("user").and_then(|p| p.value.as_deref()).is_some_and(|v| v.eq_ignore_ascii_case("phone"))
    };
    entries.iter().find(is_phone).or_else(|| entries.first())
}

fn to_identity(
    na: &NameAddr,
    source: IdentitySource,
    trusted: bool,
    country_code: Option<&str>,
) -> Result<CallerIdentity, IdentityError> {
    let uri = &na.uri;
    // RFC 3323 §4.1.1.3: anonymous identities use the user "anonymous" and/or host "anonymous.invalid".
    if uri.host.eq_ignore_ascii_case("anonymous.invalid") {
        return Err(IdentityError::Anonymous);
    }
    let Some(user) = uri.user.as_deref().filter(|u| !u.is_empty()) else {
        return Err(IdentityError::Anonymous);
    };
    // A user part may carry telephone-subscriber parameters (`+4420…;cpc=ordinary`, RFC 3261 §19.1.6).
    let mut number = user.split(';').next().unwrap_or_default().to_string();
    if uri.scheme == "tel" && !number.starts_with('+') {
        // RFC 3966 §5.1.5: a local number is completed by a global phone-context.
        if let Some(ctx) = uri.param("phone-context").and_then(|p| p.value.as_deref()) {
            if ctx.starts_with('+') {
                number = format!("{ctx}{number}");
            }
        }
    }
    match PhoneNumber::normalize(&number, country_code) {
        Ok(number) => Ok(CallerIdentity { number, source, trusted, display_name: na.display_name.clone() }),
        // "anonymous", "Restricted", "alice": a name, not a number — nothing was presented.
        Err(PhoneNumberError::BadCharacter(_)) if number.chars().any(|c| c.is_alphabetic()) => {
            Err(IdentityError::Anonymous)
        }
        Err(e) => Err(IdentityError::Unusable(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const PLAN: &str = r#"
[settings]
country_code = "44"

[[trunks]]
name = "carrier-jp"
cidrs = ["192.0.2.0/24"]
trust_pai = true
country_code = "81"

[[trunks]]
name = "proxy"
cidrs = ["127.0.0.1"]
trust_pai = true

[[trunks]]
name = "pbx"
cidrs = ["198.51.100.0/24"]

[[numbers]]
number = "+442079460200"
action = "purchase"
"#;

    fn plan() -> Dialplan {
        Dialplan::from_sources(&[(PathBuf::from("t.toml"), PLAN.to_string())]).unwrap()
    }

    fn invite(headers: &[(&str, &str)]) -> rsip::Request {
        let mut text = String::from("INVITE sip:+442079460200@gw.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nTo: <sip:+442079460200@gw.example>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n");
        for (n, v) in headers {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str("\r\n");
        match crate::sip::message::parse_datagram(text.as_bytes()) {
            Ok(crate::sip::message::Message::Request(r)) => r.to_rsip(),
            other => panic!("test INVITE did not parse: {other:?}"),
        }
    }

    const UNTRUSTED: &str = "203.0.113.9";
    const PROXY: &str = "127.0.0.1";
    const CARRIER_JP: &str = "192.0.2.1";
    const PBX: &str = "198.51.100.5";

    type Want = Result<(&'static str, IdentitySource, bool), IdentityError>;
    type Case = (&'static str, &'static str, Vec<(&'static str, &'static str)>, Want);

    #[test]
    fn real_world_headers() {
        use IdentitySource::*;
        let cases: Vec<Case> = vec![
            (
                "plain From, untrusted",
                UNTRUSTED,
                vec![("From", "\"Alice\" <sip:+442079460100@example.com;user=phone>;tag=1")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "national From with dialplan country code",
                UNTRUSTED,
                vec![("From", "<sip:02079460100@example.com>;tag=1")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "compact form, addr-spec",
                UNTRUSTED,
                vec![("f", "sip:+442079460100@example.com;tag=1")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "percent-escaped plus",
                UNTRUSTED,
                vec![("From", "<sip:%2B442079460100@example.com>;tag=1")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "PAI tel with separators from trusted proxy",
                PROXY,
                vec![("From", "<sip:somebody@example.com>;tag=1"), ("P-Asserted-Identity", "<tel:+44-20-7946-0100>")],
                Ok(("+442079460100", PAssertedIdentity, true)),
            ),
            (
                "PAI list prefers tel over plain sip",
                PROXY,
                vec![
                    ("From", "<sip:x@example.com>;tag=1"),
                    ("P-Asserted-Identity", "\"Bob\" <sip:bob@example.com>, <tel:+442079460111>"),
                ],
                Ok(("+442079460111", PAssertedIdentity, true)),
            ),
            (
                "PAI split over two headers, user=phone",
                PROXY,
                vec![
                    ("From", "<sip:x@example.com>;tag=1"),
                    ("P-Asserted-Identity", "<sip:bob@example.com>"),
                    ("P-Asserted-Identity", "<sip:+442079460112@example.com;user=phone>"),
                ],
                Ok(("+442079460112", PAssertedIdentity, true)),
            ),
            (
                "PAI with Privacy: id from trusted peer is still known",
                PROXY,
                vec![
                    ("From", "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1"),
                    ("P-Asserted-Identity", "<sip:+442079460100@gw;user=phone>"),
                    ("Privacy", "id"),
                ],
                Ok(("+442079460100", PAssertedIdentity, true)),
            ),
            (
                "trunk country code for national PAI",
                CARRIER_JP,
                vec![
                    ("From", "<sip:0312345678@jp.example>;tag=1"),
                    ("P-Asserted-Identity", "<sip:0312345678@jp.example;user=phone>"),
                ],
                Ok(("+81312345678", PAssertedIdentity, true)),
            ),
            (
                "user params in the user part",
                CARRIER_JP,
                vec![
                    ("From", "<sip:x@jp.example>;tag=1"),
                    ("P-Asserted-Identity", "<sip:+819012345678;cpc=ordinary@jp.example;user=phone>"),
                ],
                Ok(("+819012345678", PAssertedIdentity, true)),
            ),
            (
                "tel local number with global phone-context",
                PROXY,
                vec![
                    ("From", "<sip:x@example.com>;tag=1"),
                    ("P-Asserted-Identity", "<tel:7946-0100;phone-context=+44-20>"),
                ],
                Ok(("+442079460100", PAssertedIdentity, true)),
            ),
            (
                "spoofed PAI from untrusted source ignored",
                UNTRUSTED,
                vec![("From", "<sip:+442079460100@example.com>;tag=1"), ("P-Asserted-Identity", "<tel:+442079469999>")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "PAI from a known but untrusted pbx ignored",
                PBX,
                vec![("From", "<sip:+442079460100@pbx>;tag=1"), ("P-Asserted-Identity", "<tel:+442079469999>")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "Remote-Party-ID from trusted peer",
                PROXY,
                vec![
                    ("From", "<sip:x@example.com>;tag=1"),
                    ("Remote-Party-ID", "\"John\" <sip:+442079460100@gw>;party=calling;screen=yes;privacy=off"),
                ],
                Ok(("+442079460100", RemotePartyId, true)),
            ),
            (
                "RPID of the called party ignored",
                PROXY,
                vec![
                    ("From", "<sip:+442079460101@example.com>;tag=1"),
                    ("Remote-Party-ID", "<sip:+442079460999@gw>;party=called"),
                ],
                Ok(("+442079460101", From, false)),
            ),
            (
                "trusted peer without PAI falls back to From, untrusted",
                PROXY,
                vec![("From", "<sip:+442079460100@example.com>;tag=1")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "Privacy: none is no privacy",
                UNTRUSTED,
                vec![("From", "<sip:+442079460100@example.com>;tag=1"), ("Privacy", "none")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "Privacy: id from untrusted",
                UNTRUSTED,
                vec![("From", "<sip:+442079460100@example.com>;tag=1"), ("Privacy", "id")],
                Err(IdentityError::Anonymous),
            ),
            (
                "Privacy: header;user from untrusted",
                UNTRUSTED,
                vec![("From", "<sip:+442079460100@example.com>;tag=1"), ("Privacy", "header;user")],
                Err(IdentityError::Anonymous),
            ),
            (
                "Privacy: id from trusted peer without PAI",
                PROXY,
                vec![("From", "<sip:+442079460100@example.com>;tag=1"), ("Privacy", "id")],
                Err(IdentityError::Anonymous),
            ),
            (
                "RFC 3323 anonymous From",
                UNTRUSTED,
                vec![("From", "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1")],
                Err(IdentityError::Anonymous),
            ),
            (
                "anonymous user at a real host",
                UNTRUSTED,
                vec![("From", "<sip:anonymous@carrier.example>;tag=1")],
                Err(IdentityError::Anonymous),
            ),
            (
                "anonymous PAI from trusted peer",
                PROXY,
                vec![
                    ("From", "<sip:x@example.com>;tag=1"),
                    ("P-Asserted-Identity", "<sip:anonymous@anonymous.invalid>"),
                ],
                Err(IdentityError::Anonymous),
            ),
            (
                "a name instead of a number",
                UNTRUSTED,
                vec![("From", "\"Alice\" <sip:alice@example.com>;tag=1")],
                Err(IdentityError::Anonymous),
            ),
            (
                "carrier 'Restricted'",
                UNTRUSTED,
                vec![("From", "<sip:Restricted@carrier.example>;tag=1")],
                Err(IdentityError::Anonymous),
            ),
            ("no user part", UNTRUSTED, vec![("From", "<sip:carrier.example>;tag=1")], Err(IdentityError::Anonymous)),
            (
                "too short",
                UNTRUSTED,
                vec![("From", "<sip:12@example.com>;tag=1")],
                Err(IdentityError::Unusable("'12' has 2 digits; E.164 numbers have 8 to 15".into())),
            ),
        ];
        let plan = plan();
        for (name, src, headers, want) in cases {
            let got = caller_identity(&invite(&headers), src.parse().unwrap(), &plan);
            match (got, want) {
                (Ok(id), Ok((num, source, trusted))) => {
                    assert_eq!(id.number.as_str(), num, "{name}");
                    assert_eq!(id.source, source, "{name}");
                    assert_eq!(id.trusted, trusted, "{name}");
                }
                (Err(e), Err(w)) => assert_eq!(e, w, "{name}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn display_name_is_kept() {
        let id = caller_identity(
            &invite(&[("From", "\"Alice \\\"A\\\" Smith\" <sip:+442079460100@example.com>;tag=1")]),
            UNTRUSTED.parse().unwrap(),
            &plan(),
        )
        .unwrap();
        assert_eq!(id.display_name.as_deref(), Some("Alice \"A\" Smith"));
    }

    #[test]
    fn missing_from_is_unusable() {
        let req = rsip::Request {
            method: rsip::Method::Invite,
            uri: rsip::Uri::default(),
            version: rsip::Version::V2,
            headers: Default::default(),
            body: vec![],
        };
        assert!(matches!(caller_identity(&req, UNTRUSTED.parse().unwrap(), &plan()), Err(IdentityError::Unusable(_))));
    }
}
