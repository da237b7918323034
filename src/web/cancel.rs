//! Cancelling a purchase from its issue guide or its ticket, in two steps: the
//! GET (`/g/{token}/cancel`, `/t/{token}/cancel`) shows what will be refunded
//! and asks to confirm, and changes nothing; the POST to the same address
//! cancels (one store transaction: refund, seats back on sale, a mail) and sends
//! a browser back to the GET, which then shows the result. Afterwards the guide
//! and ticket pages say "Cancelled — ¥N refunded on DATE" ([`refunded`]).

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ticket::purchase_of;
use super::{at_venue, check_link, event_json, finish, respond, tr, wants_json, PageResult, Web, WebError};
use crate::app::MailEvent;
use crate::domain::{DomainError, PaymentStatus, Purchase, PurchaseState};
use crate::events::EventView;
use crate::i18n::Style;
use crate::links::Purpose;
use crate::store::{now, Store};

/// The page the cancel step goes back to: the guide's or the ticket's.
fn back_url(purpose: Purpose, token: &str) -> String {
    match purpose {
        Purpose::Ticket => format!("/t/{token}"),
        _ => format!("/g/{token}"),
    }
}

/// Whether the page may offer "cancel", and until when.
pub(super) fn cancellation(p: &Purchase, e: &EventView) -> serde_json::Value {
    let open = p.payment_status == PaymentStatus::Paid
        && p.admission != crate::domain::AdmissionState::Admitted
        && now() <= p.cancellable_until;
    json!({"open": open, "until": p.cancellable_until, "until_display": at_venue(e, Some(p.cancellable_until))})
}

/// A cancelled purchase's refund as the pages show it: the amount, the day it
/// was refunded on the venue's calendar and the seats it held (the journal's
/// refund row: the seats went back on sale), in the page's language. `None`
/// unless the purchase was cancelled.
pub(super) async fn refunded(web: &Web, p: &Purchase, e: &EventView) -> Result<Option<serde_json::Value>, WebError> {
    if p.state() != PurchaseState::Cancelled {
        return Ok(None);
    }
    let journal = web.app.store.journal_for(&p.id).await?;
    let row = journal.iter().rev().find(|j| j.action == "refund");
    let seats: Vec<String> = row
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j.detail).ok())
        .and_then(|d| serde_json::from_value(d["seats"].clone()).ok())
        .unwrap_or_else(|| p.seats.clone());
    let at = row.or_else(|| journal.iter().rev().find(|j| j.action == "cancel")).map(|j| j.at);
    Ok(Some(refund_json(p, e, at, &seats, &super::locale::current())))
}

/// The refund of `p`'s `seats` made at `at`, in `lang`: what pages and the cancelled mail show.
fn refund_json(p: &Purchase, e: &EventView, at: Option<i64>, seats: &[String], lang: &str) -> serde_json::Value {
    json!({
        "amount": e.price_display(p.amount), "at": at, "seats": seats,
        "date": at.map(|t| e.when(lang, t, Style::Date)).unwrap_or_default(),
    })
}

/// The seats a page shows for `p`: a cancelled purchase's are those it held.
pub(super) fn seats_shown(p: &Purchase, refund: &Option<serde_json::Value>) -> serde_json::Value {
    match refund {
        Some(r) if p.seats.is_empty() => r["seats"].clone(),
        _ => json!(p.seats),
    }
}

/// GET: the confirmation step (what will be refunded), or, once cancelled, the result.
pub(super) async fn confirm_from_guide(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r = confirm_page(&web, &headers, &token, Purpose::IssueGuide).await;
    finish(&web, &headers, r)
}

pub(super) async fn confirm_from_ticket(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r = confirm_page(&web, &headers, &token, Purpose::Ticket).await;
    finish(&web, &headers, r)
}

async fn confirm_page(web: &Web, headers: &HeaderMap, token: &str, purpose: Purpose) -> PageResult {
    let claims = check_link(web, token, purpose)?;
    let (p, e) = purchase_of(web, &claims).await?;
    if let Some(refund) = refunded(web, &p, &e).await? {
        return Ok(cancel_result(web, headers, &p, &e, refund, &back_url(purpose, token)));
    }
    Ok(respond(
        web,
        headers,
        StatusCode::OK,
        "cancel_confirm.html",
        &json!({
            "purchase_id": p.id, "phone": p.phone, "event": event_json(&e, now()), "seats": p.seats,
            "quantity": p.quantity, "amount": e.price_display(p.amount), "state": p.state(),
            "cancellation": cancellation(&p, &e),
            "cancel_url": format!("{}/cancel", back_url(purpose, token)), "back_url": back_url(purpose, token),
        }),
    ))
}

/// POST: cancel before the cancellable date (from the issue guide or the ticket):
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

/// Why `p` cannot be cancelled, in the page's language.
fn refusal(web: &Web, e: &EventView, p: &Purchase, err: &DomainError) -> WebError {
    let until = at_venue(e, Some(p.cancellable_until));
    WebError::Conflict(match err {
        DomainError::TooLateToCancel => tr(web, "cancel-too-late", &[("until", &until)]),
        DomainError::CannotCancelAdmitted => tr(web, "cancel-admitted", &[]),
        _ => tr(web, "cancel-not-paid", &[]),
    })
}

async fn cancel(web: &Web, headers: &HeaderMap, token: &str, purpose: Purpose) -> PageResult {
    let claims = check_link(web, token, purpose)?;
    let (_, event) = purchase_of(web, &claims).await?;
    let pid = claims.pid.as_deref().ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-purchase", &[])))?;
    let at = now();
    let app = &web.app;
    let back = back_url(purpose, token);
    let mut tx = app.store.begin().await?;
    let mut p = tx.purchase(pid).await?.ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-such-purchase", &[])))?;
    if p.state() == PurchaseState::Cancelled {
        // Cancelling twice answers like the first time.
        drop(tx);
        return cancelled_answer(web, headers, &p, &event, &back).await;
    }
    let transitions = p.cancel(at).map_err(|err| refusal(web, &event, &p, &err))?;
    refund_and_mail(web, &mut tx, &p, &event, &transitions, "web:cancel", at).await?;
    tx.commit().await?;
    app.mail_wake.notify_one();
    cancelled_answer(web, headers, &p, &event, &back).await
}

/// What a cancellation does once `p` is cancelled (`transitions`): the money
/// refunded through its provider, the purchase saved, its seats back on sale, the
/// refund journalled by `actor`, and the holder mailed — in the caller's
/// transaction. The holder's own cancellation and the back office's both use it.
pub(super) async fn refund_and_mail(
    web: &Web,
    tx: &mut crate::store::StoreTx,
    p: &Purchase,
    event: &EventView,
    transitions: &[crate::domain::Transition],
    actor: &str,
    at: i64,
) -> Result<(), WebError> {
    refund_and_mail_in(&web.app, tx, p, event, transitions, actor, at).await.map_err(|e| match e {
        RefundError::Refused(reason) => WebError::Conflict(tr(web, "cancel-refund-failed", &[("reason", &reason)])),
        RefundError::App(crate::app::AppError::Store(s)) => WebError::from(s),
        RefundError::App(a) => WebError::Unexpected(a),
    })
}

/// Why [`refund_and_mail_in`] did nothing: the payment provider refused the
/// refund, or the store or mail failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RefundError {
    #[error("refund refused: {0}")]
    Refused(String),
    #[error(transparent)]
    App(#[from] crate::app::AppError),
}

impl From<crate::store::StoreError> for RefundError {
    fn from(e: crate::store::StoreError) -> Self {
        RefundError::App(e.into())
    }
}

/// [`refund_and_mail`] without a page: also what a whole event's cancellation
/// ([`crate::event_cancel`]) does to each of its orders.
pub(crate) async fn refund_and_mail_in(
    app: &crate::app::App,
    tx: &mut crate::store::StoreTx,
    p: &Purchase,
    event: &EventView,
    transitions: &[crate::domain::Transition],
    actor: &str,
    at: i64,
) -> Result<(), RefundError> {
    let reference = p.payment_ref.clone().unwrap_or_default();
    let refund = match app.payments.for_reference(&reference) {
        Some(provider) => provider.refund(&reference, p.amount).map_err(|e| RefundError::Refused(e.to_string()))?,
        None => format!("manual refund of {}", p.amount),
    };
    tx.save_purchase(p, transitions, actor, at).await?;
    tx.release_seats(&p.id, at).await?;
    tx.journal(
        "purchase",
        &p.id,
        "refund",
        None,
        None,
        actor,
        &json!({"refund": refund, "amount": p.amount, "seats": p.seats}).to_string(),
    );
    let holder = tx.touch_phone_user(&p.phone, "en", at).await?;
    let ctx = json!({
        "event": MailEvent::new(event, &holder.language), "seats": p.seats.join(", "), "amount": event.price_display(p.amount),
        "refund": refund_json(p, event, Some(at), &p.seats, &holder.language),
        "phone": p.phone.as_str(), "purchase_id": p.id,
    });
    app.queue_mail(tx, &holder, "cancelled", &ctx, at).await?;
    Ok(())
}

/// After the POST: a browser goes back to the cancel page (POST-redirect-GET,
/// so a reload posts nothing), which shows the result; JSON clients get it here.
async fn cancelled_answer(web: &Web, headers: &HeaderMap, p: &Purchase, e: &EventView, back: &str) -> PageResult {
    if !wants_json(headers) {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{back}/cancel"))]).into_response());
    }
    let refund = refunded(web, p, e).await?.unwrap_or_default();
    Ok(cancel_result(web, headers, p, e, refund, back))
}

fn cancel_result(
    web: &Web,
    headers: &HeaderMap,
    p: &Purchase,
    event: &EventView,
    refund: serde_json::Value,
    back: &str,
) -> Response {
    respond(
        web,
        headers,
        StatusCode::OK,
        "cancelled.html",
        &json!({
            "state": p.state(), "payment_status": p.payment_status.as_str(), "purchase_id": p.id,
            "event_name": event.name, "event": event_json(event, now()), "seats": seats_shown(p, &Some(refund.clone())),
            "amount": event.price_display(p.amount), "phone": p.phone, "refund": refund, "back_url": back,
        }),
    )
}
