//! Admission: whether a new INVITE is taken. This is the policy seam between the
//! SIP stack and the ticket logic.
//!
//! The SIP stack (`src/sip/`: parsing, transport, transactions, dialogs, media
//! for a call) decides nothing about who may call what. Every such decision is
//! made here, from the parsed request and the address it came from, in this
//! order:
//!
//! 1. the dialplan routes the dialled number (404 when nothing takes it), with
//!    the caller worked out first because rules may match on it ([`identity`]);
//! 2. an anonymous caller gets 433 (RFC 5079), told why as early media where the
//!    number's anonymous policy says so; an unusable number gets 403;
//! 3. STIR/SHAKEN (RFC 8224 §6.2) is verified whenever there is something to
//!    verify; a failure refuses the call where the number needs verification,
//!    and otherwise only tells the signer upstream why (RFC 9410 `Reason`);
//! 4. the number's identity policy (trusted peer, attestation);
//! 5. the INVITE's body (RFC 3261 §8.2.3) and, unless in missed-call mode, its
//!    SDP offer (RFC 3264 §6; see [`crate::sip::offer`]);
//! 6. the flood limit per caller number ([`flood::Key::caller`]);
//! 7. the ceiling per dialled number (`rate_limit.per_number`): busy beyond it.
//!
//! The answer is a value: an [`Admitted`] call for the [`crate::sip::CallHandler`],
//! or a [`Refusal`] that says which final response the caller gets and what, if
//! anything, they hear first. The SIP endpoint asks ([`Admission::admit`]) and
//! acts on the answer; it also asks the per-source flood limit
//! ([`Admission::check_source`]) and whether an address is a configured trunk
//! ([`Admission::is_trunk`]) before a request gets a transaction. So the SIP
//! stack imports no dialplan, identity or flood limiter: only the endpoint and
//! the call flow (the transaction user) read this module's values.
//!
//! Nothing here sends anything, and nothing allocates beyond what the call needs
//! anyway (the route's rule and number move into the answer).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dialplan::{AnonymousPolicy, AnswerMode, CallFacts, DialplanHandle, Rule};
use crate::flood::{self, Ceilings, Key, Limiter, Verdict};
use crate::identity::{self, IdentityError, StirSettings};
use crate::phone::PhoneNumber;
use crate::sip::message::Request;
use crate::sip::offer::{self, Offer, OfferRefusal};
use crate::sip::IncomingCall;

/// The policy a new request meets: the dialplan, STIR/SHAKEN trust, and the flood
/// limits. Cheap to clone (handles and `Arc`s).
#[derive(Clone)]
pub struct Admission {
    dialplan: DialplanHandle,
    stir: StirSettings,
    flood: Arc<Limiter>,
    ceilings: Arc<Ceilings>,
}

/// What the per-source flood limit says about a request that starts something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceVerdict {
    Allow,
    /// A stateless 503 with `Retry-After` in these seconds (RFC 3261 §21.5.4).
    Refuse {
        retry_after: u64,
    },
    /// Silence: the source was told already.
    Drop,
}

/// A call the ticket logic gets, with what the SIP side still needs to answer it.
#[derive(Debug)]
pub struct Admitted {
    pub call: IncomingCall,
    /// The INVITE's offer, checked for the rule's answer mode: `None` when there is
    /// none (a late offer), or in missed-call mode (which answers none).
    pub offer: Option<Offer>,
    /// RFC 9410 §4: a `Reason: STIR …` value for every response to the INVITE (its
    /// Identity header failed, and the number lets the call go on).
    pub reason_header: Option<String>,
}

/// Why a new INVITE is not taken, and how the caller is told.
#[derive(Debug)]
pub struct Refusal {
    /// The final response (RFC 3261 §21.4, §21.5).
    pub code: u16,
    pub reason: &'static str,
    /// A prompt to play as early media first (nothing answered, nothing billed).
    /// Already left out where the number is in missed-call mode; a 486's prompt is
    /// also left out by the endpoint while it is crowded.
    pub prompt: Option<EarlyPrompt>,
    /// `Retry-After` seconds (RFC 3261 §20.33), for a 503.
    pub retry_after: Option<u64>,
    /// Refused for its body: the response also says what we accept (RFC 3261
    /// §21.4.13, §13.3.1.1); `code` and `reason` are [`OfferRefusal::status`].
    pub body: Option<OfferRefusal>,
    /// As [`Admitted::reason_header`].
    pub reason_header: Option<String>,
}

/// A prompt played before a refusal (RFC 3960 early media).
#[derive(Debug)]
pub struct EarlyPrompt {
    pub name: &'static str,
    /// The rule the number matched (the prompt's language).
    pub rule: Arc<Rule>,
    /// The dialled number (our Contact's user part).
    pub dialed: PhoneNumber,
    /// The offer to answer in the 183; without one the refusal is sent at once.
    pub offer: Option<Offer>,
}

impl Refusal {
    fn status(code: u16, reason: &'static str) -> Refusal {
        Refusal { code, reason, prompt: None, retry_after: None, body: None, reason_header: None }
    }

    fn body(refusal: OfferRefusal) -> Refusal {
        let (code, reason) = refusal.status();
        Refusal { body: Some(refusal), ..Refusal::status(code, reason) }
    }

    fn with_reason_header(self, reason_header: Option<String>) -> Refusal {
        Refusal { reason_header, ..self }
    }
}

/// Retry-After (RFC 3261 §20.33) in whole seconds, at least 1.
fn retry_after_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// Seconds since the Unix epoch (PASSporT `iat` is in these).
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The offer an INVITE brings for a rule in `mode` (RFC 3261 §8.2.3, RFC 3264 §6):
/// missed-call mode answers no offer, so only the body's type and encoding count.
fn offer_for(req: &Request, mode: AnswerMode) -> Result<Option<Offer>, OfferRefusal> {
    match mode {
        AnswerMode::MissedCall => offer::content_ok(req).map(|()| None),
        AnswerMode::Announce | AnswerMode::EarlyMedia => offer::answerable(req),
    }
}

impl Admission {
    pub fn new(dialplan: DialplanHandle, stir: StirSettings, flood: Arc<Limiter>, ceilings: Arc<Ceilings>) -> Self {
        Admission { dialplan, stir, flood, ceilings }
    }

    /// A configured trunk (a proxy in front of us) carries everyone's calls: no
    /// per-source caps on its transactions or connections.
    pub fn is_trunk(&self, ip: IpAddr) -> bool {
        self.dialplan.borrow().trunk_for(ip).is_some()
    }

    /// The per-source flood limit (like Kamailio's pike), for a request that starts
    /// something new. A configured trunk carries everybody's calls and is limited
    /// only if its own `rate_limit.per_source` says so (the limiter's allowlist
    /// exempts it otherwise); any other address by the dialplan's default (or ours).
    /// See [`crate::flood`] for refusing, then dropping.
    pub fn check_source(&self, ip: IpAddr) -> SourceVerdict {
        let rate = {
            let dialplan = self.dialplan.borrow();
            let trunk_rate = dialplan.trunk_for(ip).and_then(|t| t.rate_limit.per_source);
            trunk_rate.or(dialplan.rate_limit.per_source).unwrap_or(flood::DEFAULT_PER_SOURCE)
        };
        match self.flood.check(&Key::Source(ip), rate, Instant::now()) {
            Verdict::Allow => SourceVerdict::Allow,
            Verdict::Refuse { retry_after, newly_blocked } => {
                if newly_blocked {
                    tracing::warn!(source = %ip, %rate, ?retry_after, "flood: source blocked");
                }
                SourceVerdict::Refuse { retry_after: retry_after_secs(retry_after) }
            }
            Verdict::Drop => SourceVerdict::Drop,
        }
    }

    /// Whether a new INVITE (a new server transaction, not a retransmission, not
    /// inside a dialog) from `source` is taken: see the module doc for the order.
    // The refusal carries the offer for its early media (a few hundred bytes, moved
    // once per call); boxing it would cost an allocation on the flood path instead.
    #[allow(clippy::result_large_err)]
    pub fn admit(&self, req: &Request, source: SocketAddr) -> Result<Admitted, Refusal> {
        let dialplan = self.dialplan.borrow().clone();
        let ip = source.ip();
        // The dialled number is the Request-URI user part (for tel: URIs the number itself,
        // RFC 3966) with its telephone-subscriber parameters (a `phone-context` completes a
        // local number); the dialplan rewrites it per trunk and normalizes it to E.164.
        let user = req.uri.user.as_deref().unwrap_or_default();
        let tel_context = (req.uri.scheme == "tel" && !user.contains(';'))
            .then(|| req.uri.param("phone-context").and_then(|p| p.value.as_deref()))
            .flatten();
        let to = match tel_context {
            Some(ctx) => std::borrow::Cow::Owned(format!("{user};phone-context={ctx}")),
            None => std::borrow::Cow::Borrowed(user),
        };
        // Rules may match on the caller, so the caller is worked out first; an anonymous or
        // unusable caller is refused only once we know the number exists.
        // The trunk it came over (if any): whether we believe its assertions, and its numbering plan.
        let trunk = dialplan.trunk_for(ip);
        let trusted_upstream = trunk.is_some_and(|t| t.trust_pai);
        let caller = identity::caller_identity(req, trusted_upstream, dialplan.numbering_plan_for(trunk));
        let facts = CallFacts {
            to: to.as_ref(),
            from: caller.as_ref().ok().map(|c| &c.number),
            source: Some(ip),
            at: chrono::Utc::now(),
        };
        let routed = match dialplan.route(&facts) {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(uri = %req.uri, "{e}");
                return Err(Refusal::status(404, "Not Found"));
            }
        };
        let rule = routed.rule.clone();
        let dialed = routed.dialed.clone();
        let early = |name: &'static str, rule: Arc<Rule>, dialed: PhoneNumber| match rule.answer {
            AnswerMode::MissedCall => None,
            // An offer we cannot take only means the caller hears nothing before the code.
            AnswerMode::Announce | AnswerMode::EarlyMedia => {
                let offer = offer_for(req, AnswerMode::EarlyMedia).ok().flatten();
                Some(EarlyPrompt { name, rule, dialed, offer })
            }
        };
        let mut caller = match caller {
            Ok(c) => c,
            Err(IdentityError::Anonymous) => {
                tracing::info!(%dialed, policy = %routed.anonymous, "anonymous caller refused");
                let prompt = match routed.anonymous {
                    AnonymousPolicy::Reject => None,
                    // RFC 5079 §5: say why, as early media so the call costs nothing.
                    AnonymousPolicy::Announce => early("anonymous-refused", rule, dialed),
                };
                return Err(Refusal { prompt, ..Refusal::status(433, "Anonymity Disallowed") });
            }
            Err(IdentityError::Unusable(why)) => {
                tracing::info!(%dialed, why, "caller number unusable");
                return Err(Refusal::status(403, "Caller number unusable"));
            }
        };
        // Unless the number is in missed-call mode, a caller refused for their identity
        // hears why first (`identity-refused`, as early media: nothing is billed).
        let refuse_identity = |code, reason, reason_header| Refusal {
            prompt: early("identity-refused", rule.clone(), dialed.clone()),
            reason_header,
            ..Refusal::status(code, reason)
        };
        // STIR/SHAKEN (RFC 8224 §6.2): verify whenever there is something to verify, so the
        // attestation is known and recorded; refuse on failure only where the number needs it.
        let mut reason_header = None;
        match identity::attest(req, &caller, &dialed, trusted_upstream, &self.stir, unix_now()) {
            Ok((attestation, how)) => {
                caller.attestation = Some(attestation);
                caller.verification = how;
            }
            Err(e) => {
                let (code, reason) = e.sip_status();
                if e != identity::stir::StirError::Missing {
                    caller.verification = identity::Verification::Failed { code, reason: e.to_string() };
                }
                if routed.identity.needs_verification() {
                    tracing::info!(%dialed, caller = %caller.number, error = %e, "caller identity not verified");
                    return Err(refuse_identity(code, reason, None));
                }
                // RFC 9410: the call goes on, and the signer upstream learns why its
                // Identity header failed from the responses (not for a missing one).
                if e != identity::stir::StirError::Missing {
                    reason_header = Some(e.reason_header());
                }
            }
        }
        if let Err(refused) = routed.admit(&caller) {
            tracing::info!(%dialed, caller = %caller.number, policy = %routed.identity, "caller identity too weak for this number");
            return Err(refuse_identity(refused.code, refused.reason, reason_header));
        }
        // The body is checked before the ticket logic runs (RFC 3261 §8.2.3, RFC 3264 §6;
        // see sip::offer): a call refused for its offer mails nothing, issues nothing,
        // records nothing.
        let offer = match offer_for(req, rule.answer) {
            Ok(o) => o,
            Err(refusal) => return Err(Refusal::body(refusal).with_reason_header(reason_header)),
        };
        // The per-caller limit, for callers we would serve: a refused spoofer spends nothing
        // of the real owner's budget, and calls that only claim the number count apart
        // from calls that prove it (see `flood::Key::ProvenCaller`).
        let rate = routed.rate_limit.per_caller.unwrap_or(flood::DEFAULT_PER_CALLER);
        let key = Key::caller(caller.number.clone(), caller.is_proven());
        match self.flood.check(&key, rate, Instant::now()) {
            Verdict::Allow => {}
            Verdict::Refuse { retry_after, newly_blocked } => {
                if newly_blocked {
                    tracing::warn!(caller = %caller.number, %rate, ?retry_after, "flood: caller blocked");
                }
                let refusal = Refusal::status(503, "Service Unavailable").with_reason_header(reason_header);
                return Err(Refusal { retry_after: Some(retry_after_secs(retry_after)), ..refusal });
            }
            // A transaction exists, so it is answered; tersely.
            Verdict::Drop => return Err(Refusal::status(503, "").with_reason_header(reason_header)),
        }
        // The number's ceiling: what all callers together may bring it (a distributed
        // flood passes every per-source and per-caller limit). Beyond it: busy (RFC 3261
        // §21.4.24), and no ticket work at all.
        if let Some(rate) = routed.rate_limit.per_number {
            if !self.ceilings.take(&dialed, rate, Instant::now()) {
                tracing::info!(%dialed, %rate, "number over its ceiling: busy");
                let prompt = match rule.answer {
                    AnswerMode::MissedCall => None,
                    AnswerMode::Announce | AnswerMode::EarlyMedia => {
                        Some(EarlyPrompt { name: "busy-call-again", rule, dialed, offer })
                    }
                };
                return Err(Refusal { prompt, reason_header, ..Refusal::status(486, "Busy Here") });
            }
        }
        tracing::debug!(rule = %routed.matched_at, trunk = ?routed.trunk, "dialplan rule matched");
        tracing::info!(
            %dialed,
            caller = %caller.number,
            source = ?caller.source,
            trusted = caller.trusted,
            attestation = ?caller.attestation,
            verification = %caller.verification,
            action = ?rule.action,
            "incoming call"
        );
        let call = IncomingCall { call_id: req.call_id.clone(), cseq: req.cseq.seq, dialed, caller, source, rule };
        Ok(Admitted { call, offer, reason_header })
    }
}
