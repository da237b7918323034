//! The ticket side of a phone call: one handler per dialplan action.
//!
//! Each call's work is done in a database transaction that changes state
//! through the domain, writes the journal and the outbox, and records the
//! decision under the call's idempotency key (Call-ID + CSeq). A second INVITE
//! with the same key (a carrier retrying after our transaction state was lost,
//! or a second gateway behind the same load balancer) gets the first decision
//! back and changes nothing. Issue and usage calls are a transaction each;
//! purchase calls — the number the public dials — share one with the other
//! purchase calls waiting at that moment (see `calls/purchase.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::json;
use tracing::Instrument;

use crate::app::{App, AppError, MailEvent};
use crate::dialplan::Action;
use crate::domain::{DomainError, IssueOutcome, PaymentStatus, UsageOutcome};
use crate::links::Purpose;
use crate::sip::{CallDecision, CallHandler, HandlerFuture, IncomingCall, Menu};
use crate::store::{now, CallRecord, PhoneUser, Store, StoreTx};

mod billing;
mod purchase;
mod speech;
mod waitlist;

use purchase::Purchases;

/// The [`CallHandler`] the SIP endpoint calls for every new INVITE.
pub struct Calls {
    app: Arc<App>,
    purchases: Purchases,
}

impl Calls {
    /// The handler, and the task committing purchase calls (needs a tokio runtime).
    pub fn new(app: Arc<App>) -> Self {
        let purchases = Purchases::start(app.clone());
        Calls { app, purchases }
    }
}

/// The row a call handed to the ticket logic leaves in the calls table (with its
/// outcome, under its idempotency key Call-ID + CSeq); [`CallRecord`] is its
/// borrowed form for the store.
struct CallRow {
    key: String,
    action: String,
    dialed: String,
    caller: String,
    identity_source: String,
    trusted: bool,
    source: String,
    attestation: Option<String>,
    verification: String,
}

impl CallRow {
    fn of(call: &IncomingCall) -> CallRow {
        CallRow {
            key: format!("{} {}", call.call_id, call.cseq),
            action: format!("{:?}", call.rule.action).to_lowercase(),
            dialed: call.dialed.to_string(),
            caller: call.caller.number.to_string(),
            identity_source: format!("{:?}", call.caller.source),
            trusted: call.caller.trusted,
            source: call.source.to_string(),
            attestation: call.caller.attestation.map(|a| format!("{a:?}")),
            verification: serde_json::to_string(&call.caller.verification).unwrap_or_default(),
        }
    }

    fn record(&self) -> CallRecord<'_> {
        CallRecord {
            call_key: &self.key,
            action: &self.action,
            dialed: &self.dialed,
            caller: &self.caller,
            identity_source: &self.identity_source,
            trusted: self.trusted,
            source: &self.source,
            attestation: self.attestation.as_deref(),
            verification: &self.verification,
        }
    }
}

impl CallHandler for Calls {
    fn handle(&self, call: IncomingCall) -> Pin<Box<dyn Future<Output = CallDecision> + Send + 'static>> {
        let app = self.app.clone();
        let purchases = self.purchases.clone();
        let span = tracing::info_span!("call", call_id = %call.call_id, action = ?call.rule.action, caller = %call.caller.number);
        Box::pin(
            async move {
                match handle(&app, &purchases, &call).await {
                    Ok(d) => {
                        tracing::info!(decision = ?d, "call handled");
                        d
                    }
                    // The database is out of reach (restarting, say): nothing was
                    // done, so no prompt, only 503 with Retry-After (RFC 3261
                    // §21.5.4, sent by `sip::call`): the caller or the proxy in
                    // front tries again, or another gateway.
                    Err(e) if e.is_unavailable() => {
                        tracing::warn!(error = %e, "database unavailable: call refused with 503");
                        CallDecision::Refuse { code: 503, reason: "Service Unavailable".into(), prompt: None }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "call failed");
                        CallDecision::Refuse {
                            code: 503,
                            reason: "Service Unavailable".into(),
                            prompt: Some("service-error".into()),
                        }
                    }
                }
            }
            .instrument(span),
        )
    }

    /// "Press 1 to resend": after a purchase link or a ticket went out (to a sold-out
    /// event's number: "2 for the waiting list, 1 to resend"). After the
    /// admission page went out and the seats were read: "1 to hear it again, 2 to
    /// have the page sent again".
    fn menu(&self, call: &IncomingCall, decision: &CallDecision) -> Option<Menu> {
        match (call.rule.action, decision) {
            (Action::Purchase, CallDecision::Announce { prompt, .. }) if prompt == waitlist::SOLD_OUT => {
                Some(waitlist::menu())
            }
            (Action::Purchase | Action::Issue, CallDecision::Announce { .. }) => {
                Some(Menu::new("press-1-to-resend", "1"))
            }
            (Action::Usage, CallDecision::Announce { .. }) => {
                Some(Menu { repeat: Some('1'), ..Menu::new("press-1-repeat-2-resend", "2") })
            }
            _ => None,
        }
    }

    fn on_digit(&self, call: IncomingCall, digit: char) -> HandlerFuture<Option<String>> {
        let app = self.app.clone();
        let purchases = self.purchases.clone();
        let span = tracing::info_span!("menu", call_id = %call.call_id, %digit);
        Box::pin(
            async move {
                if call.rule.action == Action::Purchase && digit == waitlist::JOIN_KEY {
                    return waitlist::join(&app, &call).await.unwrap_or_else(|e| {
                        tracing::error!(error = %e, "joining the waiting list failed");
                        Some("service-error".into())
                    });
                }
                let resend_key = if call.rule.action == Action::Usage { '2' } else { '1' };
                if digit != resend_key {
                    return None;
                }
                match resend(&app, &purchases, &call).await {
                    Ok(prompt) => prompt,
                    Err(e) => {
                        tracing::error!(error = %e, "resend failed");
                        Some("service-error".into())
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// Menu "1" (on the usage number "2"): the call's own work once more, without
/// recording the call again (it is already counted): a fresh purchase link, the
/// ticket mail again (the domain re-sends, never re-issues), or the admission page
/// again. Returns the prompt.
async fn resend(app: &App, purchases: &Purchases, call: &IncomingCall) -> Result<Option<String>, AppError> {
    let actor = format!("call:{}:menu", call.call_id);
    let decision = match call.rule.action {
        Action::Purchase => {
            let work = purchase::PreparedPurchase::for_call(app, call, None, actor)?;
            purchases.submit(work).await?
        }
        Action::Issue | Action::Usage => {
            Store::retry(|| async {
                let at = now();
                let mut tx = app.store.begin().await?;
                let decision = match call.rule.action {
                    Action::Issue => issue(app, &mut tx, call, &actor, at).await?,
                    _ => usage(app, &mut tx, call, &actor, at).await?,
                };
                tx.commit().await?;
                app.mail_wake.notify_one();
                Ok::<_, AppError>(decision)
            })
            .await?
        }
        _ => return Ok(None),
    };
    Ok(match decision {
        CallDecision::Announce { prompt, .. } | CallDecision::Refuse { prompt: Some(prompt), .. } => Some(prompt),
        CallDecision::Refuse { prompt: None, .. } => None,
    })
}

fn refuse(code: u16, reason: &str, prompt: &str) -> CallDecision {
    CallDecision::Refuse { code, reason: reason.into(), prompt: Some(prompt.into()) }
}

/// Decisions are stored with the call so a repeat answers the same way.
fn encode(d: &CallDecision) -> String {
    match d {
        CallDecision::Announce { prompt, then } if then.is_empty() => json!({"announce": prompt}).to_string(),
        CallDecision::Announce { prompt, then } => json!({"announce": prompt, "then": then}).to_string(),
        CallDecision::Refuse { code, reason, prompt } => {
            json!({"refuse": code, "reason": reason, "prompt": prompt}).to_string()
        }
    }
}

fn decode(s: &str) -> CallDecision {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
    if let Some(p) = v.get("announce").and_then(|p| p.as_str()) {
        let then = v
            .get("then")
            .and_then(|t| t.as_array())
            .map(|t| t.iter().filter_map(|p| p.as_str()).map(str::to_string).collect());
        return CallDecision::Announce { prompt: p.to_string(), then: then.unwrap_or_default() };
    }
    match v.get("refuse").and_then(|c| c.as_u64()) {
        Some(code) => CallDecision::Refuse {
            code: code as u16,
            reason: v.get("reason").and_then(|r| r.as_str()).unwrap_or("Refused").to_string(),
            prompt: v.get("prompt").and_then(|p| p.as_str()).map(str::to_string),
        },
        // A claimed key without outcome: the first attempt is still running or died mid-way
        // (its transaction rolled back, so this cannot really happen); answer neutrally.
        None => internal_error(),
    }
}

fn internal_error() -> CallDecision {
    CallDecision::Refuse { code: 500, reason: "Server Internal Error".into(), prompt: None }
}

/// One call. A purchase call goes to the group committer (see [`purchase`]);
/// the others are one transaction each, run again from the start if another
/// gateway (or a concurrent call from the same phone) changed the same purchase first.
async fn handle(app: &App, purchases: &Purchases, call: &IncomingCall) -> Result<CallDecision, AppError> {
    match call.rule.action {
        // The outbox is full (the relay is slower than the calls coming in, or a
        // flood of random caller numbers): busy, and nothing queued.
        Action::Purchase if app.backlog.full(0) => {
            tracing::warn!(
                waiting = app.backlog.waiting(),
                limit = app.backlog.limit,
                "mail backlog full: purchase call busy"
            );
            Ok(refuse(486, "Busy Here", "busy-call-again"))
        }
        Action::Purchase => {
            let actor = format!("call:{}", call.call_id);
            let mut work = purchase::PreparedPurchase::for_call(app, call, Some(CallRow::of(call)), actor)?;
            let event = waitlist::line_event(app, call).await?;
            if event.as_ref().is_some_and(waitlist::sold_out) {
                work.announce = waitlist::SOLD_OUT;
            }
            let decision = purchases.submit(work).await?;
            if let (Some(event), CallDecision::Announce { .. }) = (&event, &decision) {
                waitlist::in_call_order(app, call, event).await?;
            }
            Ok(decision)
        }
        _ => Store::retry(|| attempt(app, call)).await,
    }
}

async fn attempt(app: &App, call: &IncomingCall) -> Result<CallDecision, AppError> {
    let at = now();
    let facts = CallRow::of(call);
    let mut tx = app.store.begin().await?;
    let actor = format!("call:{}", call.call_id);
    let decision = match call.rule.action {
        Action::Issue => issue(app, &mut tx, call, &actor, at).await?,
        Action::Usage => usage(app, &mut tx, call, &actor, at).await?,
        Action::ConfirmBilling => billing::confirm(app, &mut tx, call, &actor, at).await?,
        Action::Announce => CallDecision::announce(call.rule.prompt.clone().unwrap_or_else(|| "welcome".into())),
        Action::Reject => CallDecision::Refuse { code: call.rule.reject_code, reason: "Rejected".into(), prompt: None },
        // Never here: `handle` gives purchase calls to the group committer.
        Action::Purchase => internal_error(),
    };
    // The call key is recorded last, with the outcome: if it was there already (a
    // repeated request), everything above is rolled back and the first answer stands.
    if let Some(previous) = tx.record_call(&facts.record(), &encode(&decision), at).await? {
        drop(tx);
        tracing::info!("repeated call key: answering as before, changing nothing");
        return Ok(decode(&previous));
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(decision)
}

/// Issue call (seed 000 S200–S214): issue every paid purchase of this phone, once.
async fn issue(
    app: &App,
    tx: &mut StoreTx,
    call: &IncomingCall,
    actor: &str,
    at: i64,
) -> Result<CallDecision, AppError> {
    let (user, purchases) = caller_purchases(tx, call, at).await?;
    let mut any_new = false;
    let mut sent = 0;
    for mut p in purchases {
        if p.payment_status != PaymentStatus::Paid || call.rule.event.as_deref().is_some_and(|e| e != p.event_id) {
            continue;
        }
        let (outcome, transitions) = match p.issue_call(at) {
            Ok(x) => x,
            Err(DomainError::NotPaid) => continue,
            Err(e) => return Err(unexpected(e)),
        };
        tx.save_purchase(&p, &transitions, actor, at).await?;
        let Some(event) = tx.event(&p.event_id).await? else {
            continue;
        };
        any_new |= outcome == IssueOutcome::Issued;
        // Issued again: the ticket link mailed before stops working, and so do the seats' codes.
        let tickets = issue_seat_codes(app, tx, &p, at).await?;
        let resent = outcome == IssueOutcome::Resent;
        mail_ticket(app, tx, &user, &p, &event, &call.rule.language, tickets, resent, at).await?;
        sent += 1;
    }
    if sent == 0 {
        let reason = "There is no paid ticket for this phone number. If you have just paid, wait for the mail with the issue number and call again from the same phone.";
        refusal_mail(app, tx, &user, "no-paid-ticket", reason, None, at).await?;
        tx.journal(
            "phone-user",
            &user.user_number,
            "issue-refused",
            None,
            None,
            actor,
            "{\"reason\":\"nothing paid\"}",
        );
        return Ok(refuse(403, "Nothing To Issue", "nothing-to-issue"));
    }
    Ok(CallDecision::announce(if any_new { "ticket-sent" } else { "ticket-resent" }))
}

/// Mail `user` the ticket of `p` (`tickets`: its seats' codes as
/// [`issue_seat_codes`] shows them) with a fresh ticket link in `lang`: the
/// link mailed before stops working.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn mail_ticket(
    app: &App,
    tx: &mut StoreTx,
    user: &crate::store::PhoneUser,
    p: &crate::domain::Purchase,
    event: &crate::events::EventView,
    lang: &str,
    tickets: Vec<serde_json::Value>,
    resent: bool,
    at: i64,
) -> Result<(), AppError> {
    let link = app.links.mint_in(Purpose::Ticket, &p.phone, Some(&p.id), Some(lang), at)?;
    tx.set_link_head(&p.id, Purpose::Ticket.as_str(), &link.jti, at).await?;
    let gate = tx.gate_of(&p.event_id, &p.seat_type).await?;
    let ctx = json!({
        "url": link.url,
        "event": MailEvent::new(event, &user.language),
        "seats": p.seats.join(", "),
        "gate": gate,
        "tickets": tickets,
        "usage_number": app.number_in(Action::Usage, Some(&event.id), Some(lang)),
        "resent": resent,
        "phone": p.phone.as_str(),
        "purchase_id": p.id,
    });
    app.queue_mail(tx, user, "ticket", &ctx, at).await?;
    Ok(())
}

/// Each seat of `p` issued anew (its epoch moves on: the codes before answer
/// "revoked"), its code signed and its reference recorded; what the ticket mail
/// shows of each: the seat, its position (the QR image's name) and reference.
pub(crate) async fn issue_seat_codes(
    app: &App,
    tx: &mut StoreTx,
    p: &crate::domain::Purchase,
    at: i64,
) -> Result<Vec<serde_json::Value>, AppError> {
    let key = app.links.code_signing_key();
    let mut codes = Vec::new();
    let mut shown = Vec::new();
    for seat in tx.reissue_seats(&p.id).await? {
        let reference = crate::door::code::SeatCode::sign(key, &p.event_id, seat.position, seat.epoch).reference();
        shown.push(json!({"seat": seat.seat_code, "position": seat.position, "reference": reference.display()}));
        codes.push((seat.position, seat.epoch, reference.as_str().to_string()));
    }
    tx.record_ticket_codes(&p.event_id, &p.id, &codes, at).await?;
    Ok(shown)
}

/// Usage-confirmation call (seed 000 S220–S234): issue the admission permit and mail the admission page.
async fn usage(
    app: &App,
    tx: &mut StoreTx,
    call: &IncomingCall,
    actor: &str,
    at: i64,
) -> Result<CallDecision, AppError> {
    let (user, purchases) = caller_purchases(tx, call, at).await?;
    let mut sent = 0;
    let mut spoken: Vec<String> = Vec::new();
    let mut gates: Vec<String> = Vec::new();
    let mut issued_any = false;
    // The latest admission and the earliest opening, each with how the caller reads it.
    let mut admitted_at: Option<(i64, String)> = None;
    let mut outside: Option<(i64, String)> = None;
    for mut p in purchases {
        if !p.issued || call.rule.event.as_deref().is_some_and(|e| e != p.event_id) {
            continue;
        }
        issued_any = true;
        let Some(event) = tx.event(&p.event_id).await? else {
            continue;
        };
        let window = crate::domain::AdmissionWindow { opens: event.admission_opens, closes: event.admission_closes };
        match p.usage_call(window, at) {
            Ok((outcome, transitions)) => {
                tx.save_purchase(&p, &transitions, actor, at).await?;
                // Mailed again: the admission page mailed before stops working.
                let link =
                    app.links.mint_in(Purpose::Admission, &p.phone, Some(&p.id), Some(&call.rule.language), at)?;
                tx.set_link_head(&p.id, Purpose::Admission.as_str(), &link.jti, at).await?;
                let gate = tx.gate_of(&p.event_id, &p.seat_type).await?;
                let ctx = json!({
                    "url": link.url,
                    "event": MailEvent::new(&event, &user.language),
                    "seats": p.seats.join(", "),
                    "gate": gate,
                    "phone": p.phone.as_str(),
                    "resent": outcome == UsageOutcome::PermitResent,
                });
                app.queue_mail(tx, &user, "admission", &ctx, at).await?;
                sent += 1;
                if spoken.len() < speech::SEATS_READ {
                    gates.extend(gate);
                }
                spoken.extend(p.seats.iter().cloned());
            }
            Err(DomainError::AlreadyAdmitted { at: t }) => {
                if admitted_at.as_ref().is_none_or(|(a, _)| t > *a) {
                    admitted_at = Some((t, event.when(&user.language, t, crate::i18n::Style::DateTime)));
                }
            }
            Err(DomainError::OutsideAdmissionWindow) => {
                let opens = event.admission_opens;
                if outside.as_ref().is_none_or(|(o, _)| opens < *o) {
                    outside = Some((opens, event.when(&user.language, opens, crate::i18n::Style::DateTime)));
                }
            }
            Err(e) => return Err(unexpected(e)),
        }
    }
    if sent > 0 {
        // The seats read out after "sent", so the caller hears them at the gate.
        let then = [speech::seats(&spoken), speech::gates(&gates)].concat();
        return Ok(CallDecision::Announce { prompt: "admission-sent".into(), then });
    }
    let (kind, when, reason, code, status, prompt) = if let Some((t, shown)) = admitted_at {
        (
            "already-admitted",
            Some(shown),
            format!(
                "This ticket has already been used for admission at {} (UTC). It cannot be used again.",
                fmt_time(t)
            ),
            409,
            "Already Admitted",
            "already-admitted",
        )
    } else if let (true, Some((opens, shown))) = (issued_any, outside) {
        (
            "not-open",
            Some(shown),
            format!("Admission is not open now. It opens at {} (UTC).", fmt_time(opens)),
            403,
            "Admission Not Open",
            "no-ticket",
        )
    } else {
        (
            "no-issued-ticket",
            None,
            "There is no issued ticket for this phone number. Buy a ticket and call the issue number first."
                .to_string(),
            403,
            "No Ticket",
            "no-ticket",
        )
    };
    refusal_mail(app, tx, &user, kind, &reason, when.as_deref(), at).await?;
    tx.journal(
        "phone-user",
        &user.user_number,
        "usage-refused",
        None,
        None,
        actor,
        &json!({"reason": reason}).to_string(),
    );
    Ok(refuse(code, status, prompt))
}

/// The caller (registered on first contact) and their purchases, oldest first.
async fn caller_purchases(
    tx: &mut StoreTx,
    call: &IncomingCall,
    at: i64,
) -> Result<(PhoneUser, Vec<crate::domain::Purchase>), AppError> {
    let user = tx.touch_caller(&call.caller.number, &call.rule.language, at).await?;
    let purchases = tx.purchases_for_phone(&user.phone).await?;
    Ok((user, purchases))
}

/// The refusal mail: `kind` picks the words of each language's template (`reason`
/// is the English, kept for the journal and older templates); `when` is a time the
/// words name, on the venue's clock in the user's language.
async fn refusal_mail(
    app: &App,
    tx: &mut StoreTx,
    user: &PhoneUser,
    kind: &str,
    reason: &str,
    when: Option<&str>,
    at: i64,
) -> Result<(), AppError> {
    let ctx = json!({"reason": reason, "kind": kind, "when": when, "phone": user.phone.as_str(), "url": ""});
    app.queue_mail(tx, user, "refusal", &ctx, at).await?;
    Ok(())
}

fn fmt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

fn unexpected(e: DomainError) -> AppError {
    AppError::Store(crate::store::StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_round_trip() {
        for d in [
            CallDecision::announce("ticket-sent"),
            CallDecision::Announce {
                prompt: "admission-sent".into(),
                then: vec!["your-seats".into(), "letter-a".into()],
            },
            refuse(409, "Already Admitted", "already-admitted"),
            CallDecision::Refuse { code: 603, reason: "Decline".into(), prompt: None },
        ] {
            assert_eq!(decode(&encode(&d)), d);
        }
        assert!(matches!(decode("garbage"), CallDecision::Refuse { code: 500, .. }));
        // Decisions stored before announcements had parts.
        assert_eq!(decode(r#"{"announce":"ticket-sent"}"#), CallDecision::announce("ticket-sent"));
    }
}
