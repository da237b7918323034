//! An INVITE's body, checked before the ticket logic sees the call.
//!
//! RFC 3261 §8.2 has a UAS inspect a request's content (§8.2.3) before it
//! processes it (§8.2.5): a body it cannot read is refused with 415 and nothing
//! else happens. For an INVITE that will be answered with media (announce and
//! early-media modes), whether we can answer its offer at all (RFC 3264 §6; 488
//! per RFC 3261 §13.3.1.1) is known at the same moment. So both are checked
//! before [`super::CallHandler::handle`], by [`crate::admission`]: a call the
//! caller will hear fail never mails a link, never re-issues a ticket (which
//! would revoke the caller's earlier link), and leaves no journal row or call
//! record.
//!
//! Missed-call mode never answers: no offer is ever answered, so its SDP is not
//! read and its codecs do not matter (the call is the caller ID). §8.2.3 still
//! applies to its body's Content-Type and Content-Encoding ([`content_ok`]
//! alone; admission picks which check a rule's answer mode needs).

use super::message::Request;
use crate::media::{self, Negotiated, SessionDescription};

/// An offer we can answer: the caller's description and what we chose from it.
pub type Offer = (SessionDescription, Negotiated);

/// Why an INVITE (or re-INVITE) is refused for its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferRefusal {
    /// 415 with `Accept: application/sdp` (§8.2.3, §21.4.13).
    UnsupportedType,
    /// 415 with `Accept-Encoding: identity` (§8.2.3).
    UnsupportedEncoding,
    /// 400: the SDP does not parse.
    Malformed,
    /// 488 with a 305 Warning: no media we can play (§13.3.1.1, RFC 3264 §6).
    NotAcceptable,
}

impl OfferRefusal {
    /// The final response it gets: 415 (§21.4.13), 400, or 488 (§21.4.26).
    pub fn status(self) -> (u16, &'static str) {
        match self {
            OfferRefusal::UnsupportedType | OfferRefusal::UnsupportedEncoding => (415, "Unsupported Media Type"),
            OfferRefusal::Malformed => (400, "Malformed SDP"),
            OfferRefusal::NotAcceptable => (488, "Not Acceptable Here"),
        }
    }
}

/// §8.2.3: the body's encoding and type. Only SDP is understood, and no content
/// coding; a body without a Content-Type is taken as SDP (lenient: it is the only
/// body an INVITE carries in practice).
pub fn content_ok(req: &Request) -> Result<(), OfferRefusal> {
    if req.body.is_empty() {
        return Ok(());
    }
    let encoding = req.header("Content-Encoding").map(str::trim).filter(|e| !e.is_empty());
    if encoding.is_some_and(|e| !e.eq_ignore_ascii_case("identity")) {
        return Err(OfferRefusal::UnsupportedEncoding);
    }
    let content_type = req.header("Content-Type").map(|c| c.split(';').next().unwrap_or_default().trim());
    if content_type.is_some_and(|c| !c.eq_ignore_ascii_case("application/sdp")) {
        return Err(OfferRefusal::UnsupportedType);
    }
    Ok(())
}

/// The request's SDP, if it has a body (§8.2.3 checked first).
pub fn read(req: &Request) -> Result<Option<SessionDescription>, OfferRefusal> {
    content_ok(req)?;
    if req.body.is_empty() {
        return Ok(None);
    }
    match media::parse_sdp(&req.body) {
        Ok(sd) => Ok(Some(sd)),
        Err(e) => {
            tracing::info!(error = %e, "malformed SDP offer");
            Err(OfferRefusal::Malformed)
        }
    }
}

/// An INVITE's offer, if it has one, and what we would answer it with (§8.2.3
/// first, then RFC 3264 §6). `Ok(None)`: no offer (a late offer, §13.2.1).
pub fn answerable(req: &Request) -> Result<Option<Offer>, OfferRefusal> {
    let Some(sd) = read(req)? else { return Ok(None) };
    match media::negotiate(&sd) {
        Ok(n) => Ok(Some((sd, n))),
        Err(e) => {
            tracing::info!(error = %e, "no acceptable media in the offer");
            Err(OfferRefusal::NotAcceptable)
        }
    }
}
