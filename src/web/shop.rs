//! The shop: a purchase link's pages and the public web shop (`/buy`): events,
//! an event's order form, the order (one store transaction), the card
//! challenge, and payment providers' callbacks. Each GET shows state; each POST
//! is one store transaction.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{at_venue, check_link, event_json, finish, respond, PageResult, Web, WebError};
use crate::app::MailEvent;
use crate::dialplan::Action;
use crate::domain::{PaymentResult, PaymentStatus, Purchase};
use crate::events::EventView;
use crate::links::Purpose;
use crate::payment::{Charge, ChargeRequest, PaymentError};
use crate::phone::PhoneNumber;
use crate::settlement::SettlementError;
use crate::store::{now, Store};

/// Where a purchase starts: a signed purchase link mailed to a caller (the
/// buyer's phone is known), or the public web shop on a PC (seed 000, third
/// embodiment: the buyer names the phone that will receive the ticket).
struct Shop {
    /// Path prefix of the shop's pages: `/p/{token}` or `/buy`.
    base: String,
    /// The calling phone, for purchase links.
    buyer: Option<PhoneNumber>,
}

impl Shop {
    fn from_link(web: &Web, token: &str) -> Result<Shop, WebError> {
        let claims = check_link(web, token, Purpose::Purchase)?;
        Ok(Shop { base: format!("/p/{token}"), buyer: Some(claims.sub) })
    }

    fn web() -> Shop {
        Shop { base: "/buy".into(), buyer: None }
    }
}

pub(super) async fn purchase_events(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async { shop_events(&web, &headers, Shop::from_link(&web, &token)?).await }.await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_events(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = shop_events(&web, &headers, Shop::web()).await;
    finish(&web, &headers, r)
}

async fn shop_events(web: &Web, headers: &HeaderMap, shop: Shop) -> PageResult {
    let at = now();
    let events: Vec<_> = web
        .app
        .store
        .events()
        .await?
        .iter()
        .filter(|e| e.sale_end > at)
        .map(|e| {
            let mut v = event_json(e, at);
            v["url"] = json!(format!("{}/events/{}", shop.base, e.id));
            v
        })
        .collect();
    Ok(respond(
        web,
        headers,
        StatusCode::OK,
        "events.html",
        &json!({"purpose": "purchase", "phone": shop.buyer, "events": events,
                "mail_url": shop.buyer.as_ref().map(|_| format!("{}/mail", shop.base)),
                "profile_url": shop.buyer.as_ref().map(|_| format!("{}/profile", shop.base))}),
    ))
}

pub(super) async fn purchase_event(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r = async { shop_event(&web, &headers, Shop::from_link(&web, &token)?, &event_id).await }.await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_event(
    State(web): State<Web>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r = shop_event(&web, &headers, Shop::web(), &event_id).await;
    finish(&web, &headers, r)
}

async fn shop_event(web: &Web, headers: &HeaderMap, shop: Shop, event_id: &str) -> PageResult {
    let event =
        web.app.store.event(event_id).await?.ok_or_else(|| WebError::NotFound(format!("no event '{event_id}'")))?;
    let at = now();
    if !event.on_sale(at) {
        return Err(WebError::Conflict(format!("{} is not on sale now", event.name)));
    }
    let methods: Vec<_> = web
        .app
        .payments
        .all()
        .map(|p| {
            let available = p.method() != "carrier" || web.app.takes_billing_consent(event_id);
            json!({"code": p.method(), "name": p.name(), "available": available, "input": p.input()})
        })
        .collect();
    Ok(respond(
        web,
        headers,
        StatusCode::OK,
        "event.html",
        &json!({
            "phone": shop.buyer,
            "event": event_json(&event, at),
            "back": shop.base,
            "form": {
                "action": format!("{}/events/{event_id}", shop.base), "method": "POST",
                // Idempotency key: submitting the same form twice buys once.
                "form_token": uuid::Uuid::new_v4().simple().to_string(),
                "fields": ["form_token", "seat_type", "quantity", "payment_method", "card_number", "prepaid_code", "recipient", "billing_phone"],
                // On the web shop the receiving phone is required; from a purchase
                // link it is optional (empty = this phone; another number = a gift).
                "recipient_required": shop.buyer.is_none(),
                "payment_methods": methods,
                // Carrier billing is consented to by a call from the line that pays.
                "takes_billing_consent": web.app.takes_billing_consent(event_id),
            },
        }),
    ))
}

#[derive(Deserialize)]
pub(super) struct OrderForm {
    form_token: String,
    seat_type: String,
    quantity: String,
    #[serde(default = "card")]
    payment_method: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    prepaid_code: String,
    /// The phone that will receive (issue and use) the ticket.
    #[serde(default)]
    recipient: String,
    /// Carrier billing: the line whose phone bill pays (empty: the purchase link's
    /// phone). It pays only once a call from it consents.
    #[serde(default)]
    billing_phone: String,
}

fn card() -> String {
    "card".into()
}

pub(super) async fn purchase_order(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<OrderForm>,
) -> Response {
    let r = async {
        let shop = Shop::from_link(&web, &token)?;
        // Retried when a concurrent request won a race (e.g. the same form posted twice at once).
        Store::retry(|| order(&web, &headers, &shop, &event_id, &form)).await
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_order(
    State(web): State<Web>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<OrderForm>,
) -> Response {
    let shop = Shop::web();
    let r = Store::retry(|| order(&web, &headers, &shop, &event_id, &form)).await;
    finish(&web, &headers, r)
}

/// The number a carrier-billing payer calls to consent, if the dialplan has one.
fn confirm_number(web: &Web, event_id: &str, pid: &str) -> String {
    web.app.consent_number(event_id, pid).map(|n| n.to_string()).unwrap_or_default()
}

/// A phone number typed into the order form, read in the dialplan's numbering plan.
fn typed_phone(web: &Web, raw: &str, what: &str) -> Result<PhoneNumber, WebError> {
    let plan = web.app.dialplan.borrow().numbering_plan.clone();
    PhoneNumber::normalize_in(raw, &plan).map_err(|e| WebError::Invalid(format!("{what}: {e}")))
}

/// What a carrier-billing payer is told: call the confirmation number from the line.
fn consent_instructions(number: &str, line: &PhoneNumber, amount: &str, until: &str) -> String {
    format!("To put {amount} on the phone bill of {line}, call {number} from that phone by {until}. Nothing is billed until that call.")
}

async fn order(web: &Web, headers: &HeaderMap, shop: &Shop, event_id: &str, form: &OrderForm) -> PageResult {
    let app = &web.app;
    if form.form_token.len() < 16 || form.form_token.len() > 64 {
        return Err(WebError::Invalid("the form is incomplete; open the event page again".into()));
    }
    if let Some(p) = app.store.purchase_by_form_token(&form.form_token).await? {
        // The same form submitted again (double tap, reload): answer with the first result.
        if p.event_id != event_id {
            return Err(WebError::Conflict("this form was already used".into()));
        }
        let event = app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound("event gone".into()))?;
        return order_result(web, headers, &p, &event, None, None).await;
    }
    let holder = match (form.recipient.trim(), &shop.buyer) {
        ("", Some(buyer)) => buyer.clone(),
        ("", None) => return Err(WebError::Invalid("enter the phone number that will receive the ticket".into())),
        (raw, _) => typed_phone(web, raw, "receiving phone number")?,
    };
    // Carrier billing charges the line that pays, never one named by somebody else
    // without its owner's consent: a call from that line confirms it.
    let billing_line = match (form.payment_method.as_str(), form.billing_phone.trim(), &shop.buyer) {
        ("carrier", _, _) if !web.app.takes_billing_consent(event_id) => {
            return Err(WebError::Invalid(
                "carrier billing is not available: the dialplan has no confirm-billing number".into(),
            ))
        }
        ("carrier", "", Some(buyer)) => Some(buyer.clone()),
        ("carrier", "", None) => {
            return Err(WebError::Invalid(
                "carrier billing: enter the phone number whose phone bill pays (a call from it confirms)".into(),
            ))
        }
        ("carrier", raw, _) => Some(typed_phone(web, raw, "phone to bill")?),
        _ => None,
    };
    let quantity: u32 = form
        .quantity
        .trim()
        .parse()
        .ok()
        .filter(|q| (1..=10).contains(q))
        .ok_or_else(|| WebError::Invalid("quantity must be 1 to 10".into()))?;
    let event = app.store.event(event_id).await?.ok_or_else(|| WebError::NotFound(format!("no event '{event_id}'")))?;
    let at = now();
    if !event.on_sale(at) {
        return Err(WebError::Conflict(format!("{} is not on sale now", event.name)));
    }
    let mut tx = app.store.begin().await?;
    let holder_user = tx.touch_phone_user(&holder, "en", at).await?;
    let buyer_user = match &shop.buyer {
        Some(b) if *b != holder => Some(tx.touch_phone_user(b, "en", at).await?),
        _ => None,
    };
    if let Some(b) = &shop.buyer {
        super::account::note_handset(&mut tx, b, headers).await?;
    }
    // The purchase belongs to whoever pays: the line billed, else the buyer's phone.
    let line_user = match &billing_line {
        Some(l) if *l == holder => Some(holder_user.clone()),
        Some(l) if Some(l) == shop.buyer.as_ref() => buyer_user.clone(),
        Some(l) => Some(tx.touch_phone_user(l, "en", at).await?),
        None => None,
    };
    let payer = line_user.as_ref().or(buyer_user.as_ref()).unwrap_or(&holder_user);
    let mut p = tx
        .reserve(payer, &holder, &event, &form.seat_type, quantity, &form.payment_method, &form.form_token, at)
        .await?;
    let detail = json!({"seats": p.seats, "holder": holder, "buyer": shop.buyer, "web_first": shop.buyer.is_none()});
    tx.journal("purchase", &p.id, "reserved", None, Some("pending"), "web:order", &detail.to_string());
    let provider = app.payments.get(&form.payment_method).map_err(|e| WebError::Invalid(e.to_string()))?;
    let input = if provider.input() == Some("prepaid_code") { &form.prepaid_code } else { &form.card_number };
    let request =
        ChargeRequest { purchase_id: &p.id, amount: p.amount, phone: &holder, payer: &payer.phone, input, now: at };
    // Bad input is not a decline: nothing is reserved (the transaction is dropped).
    let charge = provider.charge(&request).map_err(|e| WebError::Invalid(e.to_string()))?;
    let mut declined = None;
    match charge {
        Charge::Approved { reference } => {
            app.settle_payment(&mut tx, &mut p, &event, &PaymentResult::Approved { reference }, "web:order", at)
                .await?;
        }
        Charge::Declined { reason } => {
            declined = app
                .settle_payment(&mut tx, &mut p, &event, &PaymentResult::Declined { reason }, "web:order", at)
                .await?;
        }
        Charge::Pending { reference, instructions, expires_at } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
            let ctx = json!({
                "event": MailEvent::new(&event, &payer.language), "seats": p.seats.join(", "), "amount": event.price_display(p.amount),
                "instructions": instructions, "expires": event.when(&payer.language, expires_at, crate::i18n::Style::DateTime), "phone": p.phone.as_str(),
                "purchase_id": p.id,
            });
            app.queue_order_mail(&mut tx, payer, "payment-instructions", &ctx, at).await?;
        }
        Charge::Challenge { reference, expires_at } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
        }
        Charge::AwaitConsent { reference, expires_at } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
            // The line's other orders waiting for its consent have numbers of their own;
            // should this one's come out the same (one in a thousand), order again.
            let number = confirm_number(web, event_id, &p.id);
            for other in tx.awaiting_consent(&payer.user_number, at).await? {
                if other.id != p.id && confirm_number(web, &other.event_id, &other.id) == number {
                    return Err(WebError::Conflict(
                        "another order waits for this phone's consent on the same number: please order again".into(),
                    ));
                }
            }
            let amount = event.price_display(p.amount);
            let ctx = json!({
                "event": MailEvent::new(&event, &payer.language), "seats": p.seats.join(", "), "amount": amount,
                "instructions": consent_instructions(&number, &payer.phone, &amount, &event.when(&payer.language, expires_at, crate::i18n::Style::DateTime)),
                "expires": event.when(&payer.language, expires_at, crate::i18n::Style::DateTime), "phone": p.phone.as_str(), "purchase_id": p.id,
                "confirm_number": number, "billing_phone": payer.phone.as_str(),
            });
            app.queue_order_mail(&mut tx, payer, "payment-instructions", &ctx, at).await?;
        }
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    order_result(web, headers, &p, &event, declined, None).await
}

async fn order_result(
    web: &Web,
    headers: &HeaderMap,
    p: &Purchase,
    event: &EventView,
    declined: Option<String>,
    wrong_code: Option<String>,
) -> PageResult {
    let at = now();
    let links = &web.app.links;
    let reference = p.payment_ref.clone().unwrap_or_default();
    // One status a client can act on: paid → call the issue number; challenge →
    // answer it; pending → pay at the store; anything else → it did not go through.
    let (status, mut http, extra) = match p.payment_status {
        PaymentStatus::Paid => (
            "paid",
            StatusCode::OK,
            json!({"issue_guide_url": links.url(Purpose::IssueGuide, &p.phone, Some(&p.id), at).ok()}),
        ),
        PaymentStatus::Pending if reference.starts_with("card3ds_") => (
            "challenge",
            StatusCode::ACCEPTED,
            // Its own purpose, bound to this order: the buyer on the web shop may not be
            // the ticket's phone, so nothing here may open that phone's pages.
            json!({"challenge_url": links.sign(Purpose::CardChallenge, &p.phone, Some(&p.id), at).ok().map(|t| format!("/pay/{t}/challenge")),
                   "hold_until": p.hold_until}),
        ),
        PaymentStatus::Pending if reference.starts_with("carrier_") => {
            let number = confirm_number(web, &p.event_id, &p.id);
            let payer = web.app.store.phone_user_by_number(&p.user_number).await?;
            let line = payer.map(|u| u.phone).unwrap_or_else(|| p.phone.clone());
            let until = p.hold_until.unwrap_or(at);
            (
                "consent",
                StatusCode::ACCEPTED,
                json!({"confirm_number": number, "billing_phone": line, "hold_until": p.hold_until,
                       "hold_until_display": at_venue(event, p.hold_until),
                       "instructions": consent_instructions(&number, &line, &event.price_display(p.amount), &at_venue(event, Some(until)))}),
            )
        }
        PaymentStatus::Pending => (
            "pending",
            StatusCode::ACCEPTED,
            json!({"instructions": crate::payment::instructions(&reference), "hold_until": p.hold_until,
                   "hold_until_display": at_venue(event, p.hold_until)}),
        ),
        other => (other.as_str(), StatusCode::PAYMENT_REQUIRED, json!({})),
    };
    let mut body = json!({
        "status": status,
        "payment_status": p.payment_status.as_str(),
        "purchase_id": p.id,
        "event_id": p.event_id,
        "event_name": event.name,
        "seats": p.seats,
        "quantity": p.quantity,
        "amount": event.price_display(p.amount),
        "phone": p.phone,
        "issue_number": web.app.number_in(Action::Issue, Some(&p.event_id), Some(&super::locale::current())),
        "reason": declined.unwrap_or_else(|| "payment declined".into()),
        "test_mode": web.app.payments.test_mode(),
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    // A wrong challenge code: the same form again, saying so (not a dead end).
    if let Some(wrong) = wrong_code.filter(|_| status == "challenge") {
        body["error"] = json!(wrong);
        http = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(respond(web, headers, http, "order.html", &body))
}

#[derive(Deserialize)]
pub(super) struct ChallengeForm {
    #[serde(default)]
    code: String,
}

/// The card issuer's challenge: the buyer types the code (sandbox: 123456).
pub(super) async fn challenge(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ChallengeForm>,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::CardChallenge)?;
        let pid = claims.pid.ok_or_else(|| WebError::NotFound("this link names no purchase".into()))?;
        let (p, wrong) = match crate::settlement::answer_challenge(&web.app, &pid, &form.code).await {
            Ok(p) => (p, None),
            Err(SettlementError::Payment(e @ PaymentError::WrongChallengeCode)) => {
                let p =
                    web.app.store.purchase(&pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
                (p, Some(e.to_string()))
            }
            Err(SettlementError::Payment(e)) => return Err(WebError::Invalid(e.to_string())),
            Err(SettlementError::App(e)) => return Err(WebError::Unexpected(e)),
            Err(other) => return Err(WebError::NotFound(other.to_string())),
        };
        let event = web.app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound("event gone".into()))?;
        order_result(&web, &headers, &p, &event, None, wrong).await
    }
    .await;
    finish(&web, &headers, r)
}

/// Provider callbacks (`X-Dialticket-Signature: sha256=<hmac of the body>`).
pub(super) async fn payment_callback(State(web): State<Web>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let signature = headers.get("x-dialticket-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let cb = match web.app.payments.verify_callback(&body, signature) {
        Ok(cb) => cb,
        Err(e @ PaymentError::BadSignature) => {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(e) => return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e.to_string()}))).into_response(),
    };
    match crate::settlement::apply_callback(&web.app, &cb, "provider:callback").await {
        Ok(outcome) => axum::Json(json!({"event_id": cb.event_id, "outcome": outcome})).into_response(),
        Err(e @ crate::settlement::SettlementError::UnknownReference(_)) => {
            (StatusCode::NOT_FOUND, axum::Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "payment callback failed");
            // 5xx: the provider retries later; nothing was half-applied.
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": "try again"}))).into_response()
        }
    }
}
