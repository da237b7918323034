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

pub use stir::Attestation;

use crate::phone::{split_subscriber, NumberingPlan, PhoneNumber, PhoneNumberError};
use crate::sip::message::{split_outside_quotes, NameAddr, Request};

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
    /// STIR/SHAKEN attestation of the number, if a PASSporT we verified (or a
    /// trusted upstream's `verstat`) vouches for it; `None` otherwise.
    pub attestation: Option<Attestation>,
    /// How the attestation was (or was not) established.
    pub verification: Verification,
}

impl CallerIdentity {
    /// Somebody vouched for the number: a trusted peer asserted it (RFC 3325), or a
    /// verified PASSporT (or a trusted upstream's `verstat`) attests it A or B
    /// (RFC 8588). A `From` header alone, or attestation C, only claims it.
    pub fn is_proven(&self) -> bool {
        self.trusted || matches!(self.attestation, Some(Attestation::A | Attestation::B))
    }
}

/// How a caller's number was checked beyond the SIP headers (RFC 8224 / 8588).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verification {
    /// Neither an Identity header nor a trusted `verstat`.
    None,
    /// We verified a PASSporT signed with the certificate at `x5u`.
    Passport { x5u: String },
    /// A trusted upstream verified it and said so in a `verstat` parameter.
    Verstat { value: String },
    /// Verification was attempted and failed; `code` is the RFC 8224 response.
    Failed { code: u16, reason: String },
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verification::None => f.write_str("none"),
            Verification::Passport { x5u } => write!(f, "passport ({x5u})"),
            Verification::Verstat { value } => write!(f, "verstat={value}"),
            Verification::Failed { code, reason } => write!(f, "failed: {code} {reason}"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IdentityError {
    #[error("caller withheld their number")]
    Anonymous,
    #[error("no usable caller number: {0}")]
    Unusable(String),
}

/// Work out the caller of `req`. `trusted`: it came from a trunk whose assertions
/// we believe (the dialplan's `trust_pai`); `plan` completes national and local
/// numbers (the trunk's numbering plan, else the dialplan's).
///
/// The request is the gateway's own parse ([`crate::sip::message`]): compact
/// header names are already spelled out, and `From` is already parsed.
pub fn caller_identity(req: &Request, trusted: bool, plan: &NumberingPlan) -> Result<CallerIdentity, IdentityError> {
    let values = |name: &'static str| req.headers.get_all(name);

    // RFC 3323 §4.2: Privacy = priv-value *(";" priv-value); several headers may appear.
    let privacy_requested = values("Privacy")
        .flat_map(|v| v.split([';', ',']))
        .map(|p| p.trim().to_ascii_lowercase())
        .any(|p| matches!(p.as_str(), "id" | "header" | "user"));

    if trusted {
        let pai: Vec<NameAddr> = values("P-Asserted-Identity").flat_map(list_entries).collect();
        if let Some(chosen) = prefer_telephone(&pai) {
            return to_identity(chosen, IdentitySource::PAssertedIdentity, true, plan);
        }
        // Remote-Party-ID: only the calling party's entry (party=calling, or no party param).
        let rpid: Vec<NameAddr> = values("Remote-Party-ID")
            .flat_map(list_entries)
            .filter(|n| {
                n.param("party").and_then(|p| p.value.as_deref()).is_none_or(|v| v.eq_ignore_ascii_case("calling"))
            })
            .collect();
        if let Some(chosen) = prefer_telephone(&rpid) {
            return to_identity(chosen, IdentitySource::RemotePartyId, true, plan);
        }
    }

    // No asserted identity we may believe: a privacy request means the caller withheld
    // their number, whatever From says.
    if privacy_requested {
        return Err(IdentityError::Anonymous);
    }
    to_identity(&req.from, IdentitySource::From, false, plan)
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
    plan: &NumberingPlan,
) -> Result<CallerIdentity, IdentityError> {
    let uri = &na.uri;
    // RFC 3323 §4.1.1.3: anonymous identities use the user "anonymous" and/or host "anonymous.invalid".
    if uri.host.eq_ignore_ascii_case("anonymous.invalid") {
        return Err(IdentityError::Anonymous);
    }
    let Some(user) = uri.user.as_deref().filter(|u| !u.is_empty()) else {
        return Err(IdentityError::Anonymous);
    };
    // The number and its phone-context (RFC 3966 §5.1.5): a sip: user part carries
    // telephone-subscriber parameters itself (`7946-0100;phone-context=+44-20;cpc=ordinary`,
    // RFC 3261 §19.1.6), a tel: URI as URI parameters (`tel:7946-0100;phone-context=+44-20`).
    let (number, context) = match uri.scheme.as_str() {
        "tel" => (user, uri.param("phone-context").and_then(|p| p.value.as_deref())),
        _ => split_subscriber(user),
    };
    match PhoneNumber::normalize_local(number, context, plan) {
        Ok(number) => Ok(CallerIdentity {
            number,
            source,
            trusted,
            display_name: na.display_name.clone(),
            attestation: None,
            verification: Verification::None,
        }),
        // "anonymous", "Restricted", "alice": a name, not a number — nothing was presented.
        Err(PhoneNumberError::BadCharacter(_)) if number.chars().any(|c| c.is_alphabetic()) => {
            Err(IdentityError::Anonymous)
        }
        Err(e) => Err(IdentityError::Unusable(e.to_string())),
    }
}

/// What STIR/SHAKEN verification needs besides the request.
#[derive(Debug, Clone)]
pub struct StirSettings {
    /// Trust anchors and the local certificate cache (empty: nothing verifies).
    pub trust: std::sync::Arc<stir::LiveTrust>,
    /// How old (or how far in the future) a PASSporT's `iat` may be, in seconds (RFC 8224 §6.2.1).
    pub max_age: i64,
}

impl Default for StirSettings {
    fn default() -> Self {
        StirSettings { trust: Default::default(), max_age: 60 }
    }
}

/// Establish the attestation of `caller`'s number for a call to `dialed`.
///
/// A trusted upstream (`trusted_upstream`: the request came over a trunk whose
/// assertions we believe) that already verified the call says so with a
/// `verstat` parameter (3GPP TS 24.229 §7.2A.20, ATIS-1000074 §5.3.1) where those
/// documents put it: in the identity the caller's number was taken from — the
/// P-Asserted-Identity entry, or the `From` URI when no assertion was made — as
/// a parameter of a `tel:` URI or of the user part of a `sip:` URI
/// (`<sip:+81…;verstat=…@host;user=phone>`). Nowhere else counts: not a display
/// name, not a header parameter, not another entry, not `Remote-Party-ID`. An
/// edge proxy must strip `verstat` (and the identity headers) from requests of
/// sources outside its trust domain (`deploy/kamailio/kamailio.cfg` does).
/// Otherwise each `Identity` header is verified (RFC 8224 §6.2) against the trust
/// store; the first that verifies wins, else the last failure is returned.
/// `orig` must be the caller's normalized number and `dest` the normalized
/// dialled number.
pub fn attest(
    req: &Request,
    caller: &CallerIdentity,
    dialed: &PhoneNumber,
    trusted_upstream: bool,
    settings: &StirSettings,
    now: i64,
) -> Result<(Attestation, Verification), stir::StirError> {
    let values = |name: &'static str| req.headers.get_all(name);
    if trusted_upstream {
        let verstat = match caller.source {
            IdentitySource::PAssertedIdentity => {
                values("P-Asserted-Identity").flat_map(list_entries).find_map(|na| verstat_of(&na))
            }
            IdentitySource::From => verstat_of(&req.from),
            IdentitySource::RemotePartyId => None,
        };
        if let Some(value) = verstat {
            return verstat_attestation(&value).map(|a| (a, Verification::Verstat { value }));
        }
    }
    let mut last = stir::StirError::Missing;
    for value in values("Identity") {
        let verified = stir::parse_identity_header(value).and_then(|h| {
            stir::verify(&h, &caller.number, dialed, now, settings.max_age, &settings.trust.current()).map(|v| (h, v))
        });
        match verified {
            Ok((header, v)) => {
                let x5u = header.info.unwrap_or_default();
                return Ok((v.attestation, Verification::Passport { x5u }));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The `verstat` parameter of an identity's URI where TS 24.229 puts it: a
/// `tel:` URI parameter, or a parameter of a `sip:`/`sips:` URI's user part.
fn verstat_of(na: &NameAddr) -> Option<String> {
    let uri = &na.uri;
    let value = match uri.scheme.to_ascii_lowercase().as_str() {
        "tel" => uri.param("verstat").and_then(|p| p.value.clone()),
        _ => uri.user.as_deref().and_then(|user| {
            user.split(';').skip(1).find_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim().eq_ignore_ascii_case("verstat").then(|| value.trim().to_string())
            })
        }),
    };
    value.filter(|v| !v.is_empty())
}

/// What a `verstat` value means for the call. Plain `TN-Validation-Passed`
/// (TS 24.229) carries no level; ATIS-1000074 adds `-A`/`-B`/`-C`. Without a level
/// we take the upstream's word as full attestation: it is a trusted peer, and it
/// would not say "passed" for a number it could not vouch for.
fn verstat_attestation(value: &str) -> Result<Attestation, stir::StirError> {
    match value.to_ascii_lowercase().as_str() {
        "tn-validation-passed" | "tn-validation-passed-a" => Ok(Attestation::A),
        "tn-validation-passed-b" => Ok(Attestation::B),
        "tn-validation-passed-c" => Ok(Attestation::C),
        "tn-validation-failed" | "tn-validation-failed-a" | "tn-validation-failed-b" | "tn-validation-failed-c" => {
            Err(stir::StirError::Invalid(format!("the upstream reports verstat={value}")))
        }
        // "No-TN-Validation" and anything unknown: nobody verified this call.
        _ => Err(stir::StirError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use crate::dialplan::Dialplan;

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

    fn invite(headers: &[(&str, &str)]) -> Request {
        let mut text = String::from("INVITE sip:+442079460200@gw.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nTo: <sip:+442079460200@gw.example>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n");
        for (n, v) in headers {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str("\r\n");
        match crate::sip::message::parse_datagram(text.as_bytes()) {
            Ok(crate::sip::message::Message::Request(r)) => r,
            other => panic!("test INVITE did not parse: {other:?}"),
        }
    }

    /// The caller of `req` arriving from `source`, as the gateway looks it up: the
    /// trunk's `trust_pai` and numbering plan.
    fn identify(req: &Request, source: &str, plan: &Dialplan) -> Result<CallerIdentity, IdentityError> {
        let trunk = plan.trunk_for(source.parse().unwrap());
        caller_identity(req, trunk.is_some_and(|t| t.trust_pai), plan.numbering_plan_for(trunk))
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
                "sip PAI with phone-context in the user part",
                PROXY,
                vec![
                    ("From", "<sip:x@example.com>;tag=1"),
                    ("P-Asserted-Identity", "<sip:7946-0100;phone-context=+44-20@gw.example;user=phone>"),
                ],
                Ok(("+442079460100", PAssertedIdentity, true)),
            ),
            (
                "tel PAI with a domain phone-context takes the trunk's plan",
                CARRIER_JP,
                vec![
                    ("From", "<sip:x@jp.example>;tag=1"),
                    ("P-Asserted-Identity", "<tel:090-1234-5678;phone-context=ims.mnc010.mcc440.3gppnetwork.org>"),
                ],
                Ok(("+819012345678", PAssertedIdentity, true)),
            ),
            (
                "Japanese trunk: a caller from abroad behind 010",
                CARRIER_JP,
                vec![
                    ("From", "<sip:x@jp.example>;tag=1"),
                    ("P-Asserted-Identity", "<sip:010-44-20-7946-0100@jp.example;user=phone>"),
                ],
                Ok(("+442079460100", PAssertedIdentity, true)),
            ),
            (
                "From tel in national form with a country-code phone-context",
                UNTRUSTED,
                vec![("From", "<tel:03-1234-5678;phone-context=+81>;tag=1")],
                Ok(("+81312345678", From, false)),
            ),
            (
                "From sip with a domain phone-context takes the dialplan's plan",
                UNTRUSTED,
                vec![("From", "<sip:020-7946-0100;phone-context=example.com@example.com;user=phone>;tag=1")],
                Ok(("+442079460100", From, false)),
            ),
            (
                "From with a phone-context that is neither",
                UNTRUSTED,
                vec![("From", "<tel:7946-0100;phone-context=foo_bar>;tag=1")],
                Err(IdentityError::Unusable(
                    "'7946-0100' has a phone-context that is neither a global number (+…) nor a domain name".into(),
                )),
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
            let got = identify(&invite(&headers), src, &plan);
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
        let id = identify(
            &invite(&[("From", "\"Alice \\\"A\\\" Smith\" <sip:+442079460100@example.com>;tag=1")]),
            UNTRUSTED,
            &plan(),
        )
        .unwrap();
        assert_eq!(id.display_name.as_deref(), Some("Alice \"A\" Smith"));
    }

    /// `verstat` counts only where TS 24.229 / ATIS-1000074 put it, on the identity
    /// the caller's number came from; a forger who can only write `From`'s display
    /// name, a header parameter or a second entry gets nothing.
    #[test]
    fn verstat_counts_only_in_the_identity_the_number_came_from() {
        let attested = |headers: &[(&str, &str)]| {
            let req = invite(headers);
            let caller = identify(&req, PROXY, &plan()).expect("caller");
            let dialed = PhoneNumber::parse("+442079460200").unwrap();
            attest(&req, &caller, &dialed, true, &StirSettings::default(), 0).map(|(a, _)| a).ok()
        };
        let from = |v: &'static str| ("From", v);
        let pai = |v: &'static str| ("P-Asserted-Identity", v);
        let passed = Some(Attestation::A);
        assert_eq!(
            attested(&[from("<sip:x@e>;tag=1"), pai("<tel:+442079460100;verstat=TN-Validation-Passed>")]),
            passed
        );
        assert_eq!(
            attested(&[from("<sip:x@e>;tag=1"), pai("<sip:+442079460100;verstat=TN-Validation-Passed@gw;user=phone>")]),
            passed
        );
        // No assertion: the From URI, where a verifier that rewrote it would put it.
        assert_eq!(attested(&[from("<sip:+442079460100;verstat=TN-Validation-Passed@e;user=phone>;tag=1")]), passed);
        for forged in [
            vec![from("\"verstat=TN-Validation-Passed\" <sip:+442079460100@e>;tag=1")],
            vec![from("<sip:+442079460100@e>;tag=1;verstat=TN-Validation-Passed")],
            vec![from("<sip:+442079460100@e;verstat=TN-Validation-Passed>;tag=1")],
            // Asserted identity without it: a verstat in From no longer speaks for the number.
            vec![from("<sip:+442079460100;verstat=TN-Validation-Passed@e>;tag=1"), pai("<tel:+442079460100>")],
            vec![from("<sip:x@e>;tag=1"), ("Remote-Party-ID", "<sip:+442079460100;verstat=TN-Validation-Passed@e>")],
        ] {
            assert_eq!(attested(&forged), None, "{forged:?}");
        }
    }
}
