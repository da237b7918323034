//! What an organizer (or an operator) does to one order, each in two steps: the
//! GET `/admin/orders/{id}/{action}` shows what will happen and changes nothing;
//! the POST to the same address (CSRF token, and the confirmation's one-time
//! `step`) does it, journalled with the account as actor, and goes back to the
//! order's page. The same confirmation posted again does nothing more.
//!
//! - `resend`: the ticket mail again, with the seats' codes as they are (a fresh
//!   ticket link; the one mailed before stops working);
//! - `reissue`: a leaked code revoked: every seat's epoch moves on as on the
//!   holder's issue call ([`crate::calls::issue_seat_codes`]), and the new
//!   codes are mailed;
//! - `cancel`: cancel and refund, as the holder's own cancellation does
//!   ([`crate::web::cancel::refund_and_mail`]) but also after the holder's
//!   cancellation deadline; the holder is mailed once.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::orders::{order_data, order_for};
use super::{check_csrf, page, Fields, Session, SignedIn};
use crate::domain::{DomainError, PaymentStatus, Purchase, PurchaseState};
use crate::events::EventView;
use crate::store::{now, Store};
use crate::web::{finish, tr, PageResult, Web, WebError};

/// The actions, as they appear in the path.
pub(super) const ACTIONS: [&str; 3] = ["resend", "reissue", "cancel"];

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ActionForm {
    csrf: Option<String>,
    step: String,
}

fn known(web: &Web, action: &str) -> Result<(), WebError> {
    if ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(WebError::NotFound(tr(web, "error-no-page", &[])))
    }
}

/// Why `action` cannot be done to `p` now, if it cannot.
fn refusal(web: &Web, action: &str, p: &Purchase) -> Option<String> {
    let paid = p.payment_status == PaymentStatus::Paid;
    match action {
        "resend" | "reissue" if !paid => Some(tr(web, "admin-order-not-paid", &[])),
        "resend" | "reissue" if !p.issued => Some(tr(web, "admin-order-not-issued", &[])),
        "cancel" if p.state() == PurchaseState::Admitted => Some(tr(web, "cancel-admitted", &[])),
        "cancel" if !paid && p.state() != PurchaseState::Cancelled => Some(tr(web, "admin-order-not-paid", &[])),
        _ => None,
    }
}

/// `GET /admin/orders/{id}/{action}`: the confirmation step.
pub(super) async fn confirm(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path((pid, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        known(&web, &action)?;
        let (p, e) = order_for(&web, &s, &pid).await?;
        let mut data = order_data(&web, &p, &e).await?;
        if p.state() == PurchaseState::Cancelled && action == "cancel" {
            return Ok(back(&p.id, "cancel"));
        }
        if let Some(why) = refusal(&web, &action, &p) {
            return Err(WebError::Conflict(why));
        }
        data["confirm"] = json!({
            "action": action,
            "question": tr(&web, &format!("admin-order-confirm-{action}"), &[("amount", &e.price_display(p.amount))]),
            "button": tr(&web, &format!("admin-order-{action}"), &[]),
            "url": format!("/admin/orders/{}/{action}", p.id),
            "step": hex::encode(rand::random::<[u8; 16]>()),
        });
        Ok(page(&web, &headers, StatusCode::OK, "admin_order.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// Back to the order's page, which says what was done.
fn back(pid: &str, action: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/admin/orders/{pid}?done={action}"))]).into_response()
}

/// `POST /admin/orders/{id}/{action}`.
pub(super) async fn act(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path((pid, action)): Path<(String, String)>,
    headers: HeaderMap,
    Fields(form): Fields<ActionForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        known(&web, &action)?;
        let (_, e) = order_for(&web, &s, &pid).await?;
        let step = form.step.trim();
        if step.is_empty() || step.len() > 64 || !step.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(WebError::BadForm(tr(&web, "admin-bad-form", &[])));
        }
        Store::retry(|| run(&web, &s, &e, &pid, &action, step)).await?;
        if crate::web::wants_json(&headers) {
            let (p, e) = order_for(&web, &s, &pid).await?;
            let data = order_data(&web, &p, &e).await?;
            return Ok(page(&web, &headers, StatusCode::OK, "admin_order.html", &s, data));
        }
        Ok(back(&pid, &action))
    }
    .await;
    finish(&web, &headers, r)
}

/// One action in one transaction; nothing when its confirmation was done already.
async fn run(web: &Web, s: &Session, e: &EventView, pid: &str, action: &str, step: &str) -> Result<(), WebError> {
    let app = &web.app;
    let at = now();
    let actor = format!("account:{}", s.account.id);
    let mut tx = app.store.begin().await?;
    tx.lock_purchase(pid).await?;
    let mut p = tx.purchase(pid).await?.ok_or_else(|| WebError::NotFound(tr(web, "admin-no-order", &[("id", pid)])))?;
    if tx.step_done(pid, step).await? || (action == "cancel" && p.state() == PurchaseState::Cancelled) {
        tracing::info!(purchase = %pid, action, "back office: the same confirmation again, nothing more done");
        return Ok(());
    }
    if let Some(why) = refusal(web, action, &p) {
        return Err(WebError::Conflict(why));
    }
    let detail = json!({"step": step, "account": s.account.name}).to_string();
    match action {
        "cancel" => {
            let transitions = p.cancel_by_organizer().map_err(|err| match err {
                DomainError::CannotCancelAdmitted => WebError::Conflict(tr(web, "cancel-admitted", &[])),
                _ => WebError::Conflict(tr(web, "admin-order-not-paid", &[])),
            })?;
            crate::web::cancel::refund_and_mail(web, &mut tx, &p, e, &transitions, &actor, at).await?;
            tx.journal("purchase", &p.id, "admin-cancel", None, Some("refunded"), &actor, &detail);
        }
        "resend" | "reissue" => {
            let user = tx.touch_phone_user(&p.phone, "en", at).await?;
            let tickets = if action == "reissue" {
                crate::calls::issue_seat_codes(app, &mut tx, &p, at).await?
            } else {
                current_codes(web, &p).await?
            };
            let lang = user.language.clone();
            crate::calls::mail_ticket(app, &mut tx, &user, &p, e, &lang, tickets, true, at).await?;
            tx.journal("purchase", &p.id, &format!("admin-{action}"), None, None, &actor, &detail);
        }
        _ => return Err(WebError::NotFound(tr(web, "error-no-page", &[]))),
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    tracing::info!(purchase = %pid, action, by = %s.account.id, "back office: order action done");
    Ok(())
}

/// The seats' codes as they are, as the ticket mail shows them.
async fn current_codes(web: &Web, p: &Purchase) -> Result<Vec<serde_json::Value>, WebError> {
    let seats = web.app.store.order_seats(&p.id).await?;
    Ok(seats
        .iter()
        .map(|s| {
            let reference = s.reference.as_deref().and_then(crate::door::code::Reference::parse).map(|r| r.display());
            json!({"seat": s.seat_code, "position": s.position, "reference": reference})
        })
        .collect())
}
