//! The pages about one purchase, opened from mailed links: the issue guide,
//! the ticket, the admission page staff look at (and admit on), the ticket
//! code's check, and cancelling. Each GET shows state; each POST is one store
//! transaction.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{check_link, event_json, finish, fmt_utc, respond, PageResult, Web, WebError};
use crate::app::{AppError, MailEvent};
use crate::dialplan::Action;
use crate::domain::{DomainError, PaymentStatus, Purchase};
use crate::door::code::{Reference, SeatCode};
use crate::door::ScanResult;
use crate::events::EventView;
use crate::links::{Claims, Purpose};
use crate::store::{now, Store};

async fn purchase_of(web: &Web, claims: &Claims) -> Result<(Purchase, EventView), WebError> {
    let pid = claims.pid.as_deref().ok_or_else(|| WebError::NotFound("this link names no purchase".into()))?;
    let p = web.app.store.purchase(pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
    if p.phone != claims.sub {
        return Err(WebError::Link(crate::links::LinkError::Invalid));
    }
    // Re-issue revokes older links: a ticket or admission link that is not the
    // purchase's current one was replaced by a newer mail.
    if claims.purpose.revocable() {
        let head = web.app.store.link_head(&p.id, claims.purpose.as_str()).await?;
        if head.is_some_and(|jti| jti != claims.jti) {
            return Err(WebError::Link(crate::links::LinkError::Replaced));
        }
    }
    let e = web.app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound("no such event".into()))?;
    Ok((p, e))
}

pub(super) async fn issue_guide(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::IssueGuide)?;
        let (p, e) = purchase_of(&web, &claims).await?;
        Ok(respond(
            &web,
            &headers,
            StatusCode::OK,
            "guide.html",
            &json!({
                "purchase_id": p.id, "phone": p.phone, "event": event_json(&e, now()),
                "seats": p.seats, "quantity": p.quantity, "amount": e.price_display(p.amount),
                "payment_status": p.payment_status.as_str(), "issued": p.issued,
                "state": p.state(), "cancellation": cancellation(&p), "cancel_url": format!("/g/{token}/cancel"),
                "issue_number": web.app.number_for(Action::Issue, Some(&e.id)),
                "issue_tel": format!("tel:{}", web.app.number_for(Action::Issue, Some(&e.id))),
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
}

/// Cancel before the cancellable date (from the issue guide or the ticket):
/// refund, seats back on sale, a confirmation mail. One POST, one transaction.
pub(super) async fn cancel_from_guide(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(_form): Form<HashMap<String, String>>,
) -> Response {
    let r = Store::retry(|| cancel(&web, &headers, &token, Purpose::IssueGuide)).await;
    finish(&web, &headers, r)
}

pub(super) async fn cancel_from_ticket(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(_form): Form<HashMap<String, String>>,
) -> Response {
    let r = Store::retry(|| cancel(&web, &headers, &token, Purpose::Ticket)).await;
    finish(&web, &headers, r)
}

async fn cancel(web: &Web, headers: &HeaderMap, token: &str, purpose: Purpose) -> PageResult {
    let claims = check_link(web, token, purpose)?;
    let (_, event) = purchase_of(web, &claims).await?;
    let pid = claims.pid.as_deref().ok_or_else(|| WebError::NotFound("this link names no purchase".into()))?;
    let at = now();
    let app = &web.app;
    let mut tx = app.store.begin().await?;
    let mut p = tx.purchase(pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
    if p.state() == crate::domain::PurchaseState::Cancelled {
        // Cancelling twice answers like the first time.
        return Ok(cancel_result(web, headers, &p, &event));
    }
    let transitions = p.cancel(at).map_err(|e| WebError::Conflict(e.to_string()))?;
    let reference = p.payment_ref.clone().unwrap_or_default();
    let refund = match app.payments.for_reference(&reference) {
        Some(provider) => provider.refund(&reference, p.amount).map_err(|e| WebError::Conflict(e.to_string()))?,
        None => format!("manual refund of {}", p.amount),
    };
    tx.save_purchase(&p, &transitions, "web:cancel", at).await?;
    tx.release_seats(&p.id, at).await?;
    tx.journal(
        "purchase",
        &p.id,
        "refund",
        None,
        None,
        "web:cancel",
        &json!({"refund": refund, "amount": p.amount}).to_string(),
    );
    let holder = tx.touch_phone_user(&p.phone, "en", at).await?;
    let ctx = json!({
        "event": MailEvent::from(&event), "seats": p.seats.join(", "), "amount": event.price_display(p.amount),
        "phone": p.phone.as_str(), "purchase_id": p.id,
    });
    app.queue_mail(&mut tx, &holder, "cancelled", &ctx, at).await?;
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(cancel_result(web, headers, &p, &event))
}

fn cancel_result(web: &Web, headers: &HeaderMap, p: &Purchase, event: &EventView) -> Response {
    respond(
        web,
        headers,
        StatusCode::OK,
        "cancelled.html",
        &json!({
            "state": p.state(), "payment_status": p.payment_status.as_str(), "purchase_id": p.id,
            "event_name": event.name, "seats": p.seats, "amount": event.price_display(p.amount), "phone": p.phone,
        }),
    )
}

/// Whether the page may offer "cancel", and until when.
fn cancellation(p: &Purchase) -> serde_json::Value {
    let open = p.payment_status == PaymentStatus::Paid
        && p.admission != crate::domain::AdmissionState::Admitted
        && now() <= p.cancellable_until;
    json!({"open": open, "until": p.cancellable_until, "until_display": fmt_utc(Some(p.cancellable_until))})
}

pub(super) async fn ticket(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Ticket)?;
        let (p, e) = purchase_of(&web, &claims).await?;
        if !p.issued {
            return Err(WebError::Conflict("this ticket has not been issued".into()));
        }
        let tickets = seat_tickets(&web, &p, &e).await?;
        let verify_url = tickets.first().and_then(|t| t["verify_url"].as_str()).unwrap_or_default().to_string();
        Ok(respond(
            &web,
            &headers,
            StatusCode::OK,
            "ticket.html",
            &json!({
                "purchase_id": p.id, "phone": p.phone, "event": event_json(&e, now()), "seats": p.seats,
                "quantity": p.quantity, "admission": p.admission.as_str(),
                "state": p.state(), "cancellation": cancellation(&p), "cancel_url": format!("/t/{token}/cancel"),
                "usage_number": web.app.number_for(Action::Usage, Some(&e.id)),
                "tickets": tickets, "verify_url": verify_url,
                "holder_name": holder_name(&web, &p).await?,
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
}

/// Each seat of an issued purchase as its own ticket: its code (signed now, for
/// the seat's current epoch), QR code, reference and admission.
async fn seat_tickets(web: &Web, p: &Purchase, e: &EventView) -> Result<Vec<serde_json::Value>, WebError> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let key = web.app.links.code_signing_key();
    let offset = crate::door::venue_offset(&e.starts_at);
    let mut out = Vec::new();
    for (seat, reference) in web.app.store.seat_tickets(&p.id).await? {
        let code = SeatCode::sign(key, &p.event_id, seat.position, seat.epoch).text();
        let qr = crate::door::qr::svg(&code, 232).map_err(AppError::from)?;
        let admitted = seat.admitted.as_ref();
        out.push(json!({
            "seat": seat.seat_code, "position": seat.position, "code": code, "qr_svg": qr,
            "reference": reference.as_deref().and_then(Reference::parse).map(|r| r.display()),
            "verify_url": format!("/verify/{}", utf8_percent_encode(&code, NON_ALPHANUMERIC)),
            "qr_png": format!("qr/{}.png", seat.position),
            "admitted": admitted.is_some(),
            "admitted_at_display": admitted.map(|a| crate::door::display_time(a.at, offset)),
            "gate": admitted.and_then(|a| a.gate.clone()),
        }));
    }
    Ok(out)
}

/// A seat's QR code as a PNG (`/t/{token}/qr/{position}.png`), for the ticket mail:
/// most mail clients show no inline SVG. Opened with the ticket's link, so a
/// re-issue (which revokes the link) stops the old mail's images too.
pub(super) async fn seat_qr(
    State(web): State<Web>,
    Path((token, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Ticket)?;
        let (p, _) = purchase_of(&web, &claims).await?;
        let position: u32 = file
            .strip_suffix(".png")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| WebError::NotFound("no such QR code".into()))?;
        let seats = web.app.store.seat_tickets(&p.id).await?;
        let seat = seats
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.position == position && p.issued)
            .ok_or_else(|| WebError::NotFound("no such seat on this ticket".into()))?;
        let code = SeatCode::sign(web.app.links.code_signing_key(), &p.event_id, seat.position, seat.epoch).text();
        let png = crate::door::qr::png(&code, 4).map_err(AppError::from)?;
        Ok(([(axum::http::header::CONTENT_TYPE, "image/png")], png).into_response())
    }
    .await;
    finish(&web, &headers, r)
}

/// The name the ticket's holder gave in their profile (see [`crate::profile`]), if any.
async fn holder_name(web: &Web, p: &Purchase) -> Result<Option<String>, WebError> {
    Ok(web.app.store.holder_profile(&p.phone).await?.and_then(|profile| profile.name))
}

fn admission_json(token: &str, p: &Purchase, e: &EventView, holder_name: Option<String>) -> serde_json::Value {
    use crate::domain::AdmissionState;
    let at = now();
    let (state, refusal) = match p.admission {
        AdmissionState::Admitted => ("admitted", None),
        AdmissionState::PermitIssued if at > e.admission_closes => {
            ("refused", Some("admission has closed for this event"))
        }
        AdmissionState::PermitIssued => ("valid", None),
        AdmissionState::None => ("refused", Some("no admission permit; call the usage-confirmation number")),
    };
    json!({
        "state": state, "refusal": refusal, "purchase_id": p.id, "phone": p.phone, "event": event_json(e, at),
        "seats": p.seats, "quantity": p.quantity, "admission": p.admission.as_str(),
        "permit_issued_at": p.permit_issued_at, "permit_issued_at_display": fmt_utc(p.permit_issued_at),
        "admitted_at": p.admitted_at, "admitted_at_display": fmt_utc(p.admitted_at),
        "now": at, "now_display": fmt_utc(Some(at)),
        "admit_url": format!("/a/{token}/admit"),
        "holder_name": holder_name,
    })
}

/// The admission page (live state) of purchase `p`, opened with `token`.
async fn admission_page(web: &Web, headers: &HeaderMap, token: &str, p: &Purchase, e: &EventView) -> PageResult {
    let data = admission_json(token, p, e, holder_name(web, p).await?);
    Ok(respond(web, headers, StatusCode::OK, "admission.html", &data))
}

pub(super) async fn admission(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Admission)?;
        let (p, e) = purchase_of(&web, &claims).await?;
        admission_page(&web, &headers, &token, &p, &e).await
    }
    .await;
    finish(&web, &headers, r)
}

/// Staff press "admit": the one POST that uses up the ticket.
pub(super) async fn admit(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Admission)?;
        let (seen, e) = purchase_of(&web, &claims).await?;
        let pid = seen.id;
        // Staff admit, not the holder: the event's staff PIN (see `Links::staff_pin`).
        let pin =
            form.get("staff_pin").ok_or_else(|| WebError::StaffOnly("staff only: the staff PIN is missing".into()))?;
        // One transaction per press, again from the start if another gateway's press
        // won the race (so the loser is told "already admitted", never a 500).
        let p = Store::retry(|| admit_once(&web, &pid, &e, pin)).await?;
        admission_page(&web, &headers, &token, &p, &e).await
    }
    .await;
    finish(&web, &headers, r)
}

/// One press of "admit" on purchase `pid`. Wrong PINs are journalled per ticket,
/// so the lockout holds on every gateway and across restarts; the ticket is taken
/// first ([`crate::store::StoreTx::lock_purchase`]), so presses at once are
/// counted one after the other and no more than [`super::PIN_TRIES`] are tried.
async fn admit_once(web: &Web, pid: &str, e: &EventView, pin: &str) -> Result<Purchase, WebError> {
    let window = super::PIN_WINDOW.as_secs() as i64;
    let at = now();
    let mut tx = web.app.store.begin().await?;
    if !tx.lock_purchase(pid).await? {
        return Err(WebError::NotFound("no such purchase".into()));
    }
    let wrong = tx.journal_counts_since(&[pid], super::PIN_REFUSED, at - window).await?;
    if wrong.get(pid).copied().unwrap_or(0) >= super::PIN_TRIES {
        return Err(WebError::TooManyTries(format!(
            "{} wrong staff PINs for this ticket: it takes none for {} minutes",
            super::PIN_TRIES,
            window / 60
        )));
    }
    if !web.app.links.is_staff_pin(&e.id, e.staff_pin_epoch, pin) {
        tx.journal("purchase", pid, super::PIN_REFUSED, None, None, "web:admit", "{}");
        tx.commit().await?;
        tracing::info!(purchase = %pid, "admit refused: wrong staff PIN");
        return Err(WebError::StaffOnly("wrong staff PIN".into()));
    }
    if at > e.admission_closes || at < e.admission_opens {
        return Err(WebError::Conflict("admission is not open for this event now".into()));
    }
    let mut p = tx.purchase(pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
    // The PIN admits every seat not admitted yet (some may have been scanned at the door).
    let (transitions, first) = match p.admit(at) {
        Ok(t) => (t, None),
        Err(DomainError::AlreadyAdmitted { at }) => (Vec::new(), Some(at)),
        Err(e) => return Err(WebError::Conflict(e.to_string())),
    };
    let seats = tx.admit_purchase_seats(pid, at).await?;
    if let (Some(first), true) = (first, seats.is_empty()) {
        return Err(WebError::Conflict(format!("already admitted at {} (UTC)", fmt_utc(Some(first)))));
    }
    if !transitions.is_empty() {
        tx.save_purchase(&p, &transitions, "web:admit", at).await?;
    }
    for seat in &seats {
        let detail = json!({"purchase": pid, "via": "staff-pin"}).to_string();
        tx.journal("seat", &format!("{}/{seat}", e.id), "admission", None, Some("admitted"), "web:admit", &detail);
    }
    tx.commit().await?;
    Ok(p)
}

/// Staff check a ticket code: a seat's code or typed reference, or the signed
/// purchase code that ticket pages showed before seats had codes of their own.
pub(super) async fn verify_code(web: &Web, code: &str) -> Result<serde_json::Value, WebError> {
    if !code.starts_with("ey") {
        return verify_seat_code(web, code).await;
    }
    let claims = check_link(web, code, Purpose::TicketCode)?;
    let (p, e) = purchase_of(web, &claims).await?;
    Ok(json!({
        // Whoever holds the code sees whose ticket it is only as far as staff need to
        // compare it with the holder's phone: masked.
        "valid": p.issued && p.payment_status == PaymentStatus::Paid, "state": p.state(), "purchase_id": p.id,
        "phone": p.phone.masked(), "event_name": e.name,
        "seats": p.seats, "admission": p.admission.as_str(),
    }))
}

/// What a seat's code would answer at the door now, without admitting anybody.
async fn verify_seat_code(web: &Web, code: &str) -> Result<serde_json::Value, WebError> {
    let events = web.app.store.events().await?;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    // Read in a transaction the scans' way, rolled back (dropped): it changes nothing.
    let mut tx = web.app.store.begin().await?;
    let issued = super::staff::resolve(&web.app, &mut tx, code, &ids).await?;
    let found = match &issued {
        Ok(issued) => super::staff::holding(&mut tx, issued).await?.map(|h| (issued.epoch, h)),
        Err(_) => None,
    };
    drop(tx);
    let Some((epoch, (seat, p))) = found else {
        return Ok(json!({"valid": false, "result": issued.err().unwrap_or(ScanResult::Invalid), "seats": []}));
    };
    let e = events.iter().find(|e| e.id == seat.event_id).ok_or_else(|| WebError::NotFound("no such event".into()))?;
    let window = crate::domain::AdmissionWindow { opens: e.admission_opens, closes: e.admission_closes };
    let facts = crate::door::Holding {
        purchase_id: p.id.clone(),
        payment: p.payment_status,
        issued: p.issued,
        permit: p.admission,
    };
    let result = crate::door::decide(&seat, &facts, epoch, window, now());
    let genuine = !matches!(result, ScanResult::Invalid | ScanResult::Revoked | ScanResult::Cancelled);
    let admission = if seat.admitted.is_some() { "admitted" } else { p.admission.as_str() };
    Ok(json!({
        // Masked: whoever holds the code sees only what staff need to compare with the holder's phone.
        "valid": genuine, "result": result, "reason": result.reason(), "state": p.state(), "purchase_id": p.id,
        "phone": p.phone.masked(), "event_name": e.name, "seats": [seat.seat_code], "seat": seat.seat_code,
        "admission": admission,
    }))
}

pub(super) async fn verify(State(web): State<Web>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let r = verify_code(&web, &code).await.map(|v| respond(&web, &headers, StatusCode::OK, "verify.html", &v));
    finish(&web, &headers, r)
}
