//! The pages about one purchase, opened from mailed links: the issue guide,
//! the ticket (each seat's QR code) and the ticket code's check. Cancelling is
//! in [`super::cancel`], the admission page in [`super::admission`]. Each GET
//! shows state, in the page's language and on the venue's clock.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::cancel::{cancellation, refunded, seats_shown};
use super::{check_link, event_json, finish, respond, tr, Web, WebError};
use crate::app::AppError;
use crate::dialplan::Action;
use crate::domain::{PaymentStatus, Purchase};
use crate::door::code::{Reference, SeatCode};
use crate::door::{ScanResult, SeatTicket};
use crate::events::EventView;
use crate::links::{Claims, Purpose};
use crate::store::{now, HolderView, PinLock};

pub(super) async fn purchase_of(web: &Web, claims: &Claims) -> Result<(Purchase, EventView), WebError> {
    holder_of(web, claims, None).await.map(|(view, e)| (view.purchase, e))
}

/// The purchase a holder's link names, with what its pages show (one read on
/// one connection, see [`crate::store::HolderView`]), and its event; `pin` asks
/// for the PIN lockout too (the admission page). Refused unless the link is
/// the purchase's phone's and, for a ticket or admission link, still its
/// current one.
pub(super) async fn holder_of(
    web: &Web,
    claims: &Claims,
    pin: Option<PinLock<'_>>,
) -> Result<(HolderView, EventView), WebError> {
    let pid = claims.pid.as_deref().ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-purchase", &[])))?;
    let mut view = web
        .app
        .store
        .holder_view(pid, claims.purpose.as_str(), pin)
        .await?
        .ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-such-purchase", &[])))?;
    if view.purchase.phone != claims.sub {
        return Err(WebError::Link(crate::links::LinkError::Invalid));
    }
    // Re-issue revokes older links: a ticket or admission link that is not the
    // purchase's current one was replaced by a newer mail.
    if claims.purpose.revocable() && view.link_head.as_ref().is_some_and(|jti| *jti != claims.jti) {
        return Err(WebError::Link(crate::links::LinkError::Replaced));
    }
    let e = view.event.take().ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-such-event", &[])))?;
    Ok((view, e))
}

pub(super) async fn issue_guide(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::IssueGuide)?;
        let (p, e) = purchase_of(&web, &claims).await?;
        // The number of the page's language: the Japanese issue number on a Japanese page.
        let issue_number = web.app.number_in(Action::Issue, Some(&e.id), Some(&super::locale::current()));
        let refund = refunded(&web, &p, &e).await?;
        Ok(respond(
            &web,
            &headers,
            StatusCode::OK,
            "guide.html",
            &json!({
                "purchase_id": p.id, "phone": p.phone, "event": event_json(&e, now()),
                "seats": seats_shown(&p, &refund), "quantity": p.quantity, "amount": e.price_display(p.amount),
                "payment_status": p.payment_status.as_str(), "issued": p.issued,
                "state": p.state(), "cancellation": cancellation(&p, &e), "cancel_url": format!("/g/{token}/cancel"),
                "refund": refund,
                "issue_tel": format!("tel:{issue_number}"), "issue_number": issue_number,
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn ticket(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Ticket)?;
        let (view, e) = holder_of(&web, &claims, None).await?;
        let p = &view.purchase;
        if !p.issued {
            return Err(WebError::Conflict(tr(&web, "ticket-not-issued", &[])));
        }
        let tickets = seat_tickets(&web, p, &e, &view.seats)?;
        let refund = refunded(&web, p, &e).await?;
        let verify_url = tickets.first().and_then(|t| t["verify_url"].as_str()).unwrap_or_default().to_string();
        Ok(respond(
            &web,
            &headers,
            StatusCode::OK,
            "ticket.html",
            &json!({
                "purchase_id": p.id, "phone": p.phone, "event": event_json(&e, now()), "seats": seats_shown(p, &refund),
                "quantity": p.quantity, "admission": p.admission.as_str(),
                "state": p.state(), "cancellation": cancellation(p, &e), "cancel_url": format!("/t/{token}/cancel"),
                "refund": refund,
                "usage_number": web.app.number_in(Action::Usage, Some(&e.id), Some(&super::locale::current())),
                "tickets": tickets, "verify_url": verify_url, "entry_gate": e.gate_of(&p.seat_type),
                "holder_name": view.holder_name,
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
}

/// Each seat of an issued purchase as its own ticket: its code (signed now, for
/// the seat's current epoch), QR code, reference and admission. `seats`: the
/// purchase's, as [`crate::store::HolderView::seats`].
fn seat_tickets(
    web: &Web,
    p: &Purchase,
    e: &EventView,
    seats: &[(SeatTicket, Option<String>)],
) -> Result<Vec<serde_json::Value>, WebError> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let key = web.app.links.code_signing_key();
    let mut out = Vec::new();
    for (seat, reference) in seats {
        let code = SeatCode::sign(key, &p.event_id, seat.position, seat.epoch).text();
        let qr = crate::door::qr::svg(&code, 232).map_err(AppError::from)?;
        let admitted = seat.admitted.as_ref();
        out.push(json!({
            "seat": seat.seat_code, "position": seat.position, "code": code, "qr_svg": qr,
            "reference": reference.as_deref().and_then(Reference::parse).map(|r| r.display()),
            "verify_url": format!("/verify/{}", utf8_percent_encode(&code, NON_ALPHANUMERIC)),
            "qr_png": format!("qr/{}.png", seat.position),
            "admitted": admitted.is_some(),
            "admitted_at_display": admitted.map(|a| e.venue_time(&super::locale::current(), a.at)),
            "gate": admitted.and_then(|a| a.gate.clone()),
            // At a re-entry event: out since then (the same code takes the holder back in).
            "checked_out": seat.admitted.is_some() && seat.checked_out_at.is_some(),
            "checked_out_at_display": seat.checked_out_at.map(|t| e.venue_time(&super::locale::current(), t)),
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
        let (view, _) = holder_of(&web, &claims, None).await?;
        let p = &view.purchase;
        let position: u32 = file
            .strip_suffix(".png")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| WebError::NotFound(tr(&web, "error-no-page", &[])))?;
        let seat = view
            .seats
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.position == position && p.issued)
            .ok_or_else(|| WebError::NotFound(tr(&web, "error-no-page", &[])))?;
        let code = SeatCode::sign(web.app.links.code_signing_key(), &p.event_id, seat.position, seat.epoch).text();
        let png = crate::door::qr::png(&code, 4).map_err(AppError::from)?;
        Ok(([(axum::http::header::CONTENT_TYPE, "image/png")], png).into_response())
    }
    .await;
    finish(&web, &headers, r)
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
    let e = events
        .iter()
        .find(|e| e.id == seat.event_id)
        .ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-such-event", &[])))?;
    let window = crate::domain::AdmissionWindow { opens: e.admission_opens, closes: e.admission_closes };
    let facts = crate::door::Holding {
        purchase_id: p.id.clone(),
        payment: p.payment_status,
        issued: p.issued,
        permit: p.admission,
    };
    let result = crate::door::decide(&seat, &facts, epoch, window, now());
    let genuine = !matches!(result, ScanResult::Invalid | ScanResult::Revoked | ScanResult::Cancelled);
    let admission = match (&seat.admitted, seat.checked_out_at) {
        // Re-entry events: admitted once, outside now; the code takes the holder back in.
        (Some(_), Some(_)) => "checked-out",
        (Some(_), None) => "admitted",
        (None, _) => p.admission.as_str(),
    };
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
