//! Page handlers. Each GET shows state; each POST is one store transaction.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{finish, respond, PageResult, Web, WebError};
use crate::app::{AppError, MailEvent};
use crate::dialplan::Action;
use crate::domain::{DomainError, PaymentResult, PaymentStatus, Purchase};
use crate::events::EventView;
use crate::links::{Claims, Purpose};
use crate::payment::{Charge, ChargeRequest, PaymentError};
use crate::phone::PhoneNumber;
use crate::store::{now, Store};

fn fmt_utc(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

// ---- home, health ----

pub(super) async fn home(State(web): State<Web>, headers: HeaderMap) -> Response {
    let plan = web.app.dialplan.borrow().clone();
    // Only exact numbers can be called; pattern rules are listed on /dialplan.
    let numbers: Vec<_> = plan
        .rules()
        .iter()
        .filter_map(|r| {
            let number = r.exact_number()?;
            Some(json!({"number": number.as_str(), "action": r.action, "answer": r.answer, "event": r.event}))
        })
        .collect();
    respond(
        &web,
        &headers,
        StatusCode::OK,
        "home.html",
        &json!({"numbers": numbers, "local_outbox": web.app.local_outbox}),
    )
}

pub(super) async fn health(State(web): State<Web>) -> Response {
    // A refused dialplan reload does not make the gateway unhealthy (the previous
    // dialplan still serves), so it is reported here without changing the status code.
    let dialplan = dialplan_status(&web);
    match web.app.store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok", "database": "ok", "dialplan": dialplan})))
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "degraded", "database": e.to_string(), "dialplan": dialplan})),
        )
            .into_response(),
    }
}

fn dialplan_status(web: &Web) -> serde_json::Value {
    let status = web.app.dialplan_status.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone());
    let state = if status.last_error.is_some() { "last reload refused" } else { "ok" };
    let mut v = json!(status);
    v["state"] = json!(state);
    v
}

/// Prometheus text exposition (version 0.0.4): the flood limiter and the dialplan.
/// Counts only, nothing about callers; the HTTP listener is on loopback by default.
pub(super) async fn metrics(State(web): State<Web>) -> Response {
    use std::fmt::Write;
    let f = web.app.flood.stats(std::time::Instant::now());
    let d = web.app.dialplan_status.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone());
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "dialticket_flood_requests_total",
        "counter",
        "Requests seen by the flood limiter, by verdict (exempt: a trunk without a limit).",
        &[
            ("{verdict=\"allowed\"}", f.allowed),
            ("{verdict=\"refused\"}", f.refused),
            ("{verdict=\"dropped\"}", f.dropped),
            ("{verdict=\"exempt\"}", f.exempt),
            ("{verdict=\"untracked\"}", f.untracked),
        ],
    );
    metric(
        "dialticket_flood_blocks_total",
        "counter",
        "Times a source or caller was blocked.",
        &[("", f.blocks_total)],
    );
    metric("dialticket_flood_blocked", "gauge", "Sources and callers blocked now.", &[("", f.currently_blocked)]);
    metric("dialticket_flood_tracked_keys", "gauge", "Sources and callers being counted.", &[("", f.tracked_keys)]);
    metric("dialticket_dialplan_generation", "gauge", "Dialplans loaded since start-up.", &[("", d.generation)]);
    metric("dialticket_dialplan_reloads_total", "counter", "Dialplan reloads swapped in.", &[("", d.reloads)]);
    metric(
        "dialticket_dialplan_reload_failures_total",
        "counter",
        "Dialplan reloads refused because of errors.",
        &[("", d.reload_failures)],
    );
    metric(
        "dialticket_dialplan_last_reload_failed",
        "gauge",
        "1 while the last reload was refused (the previous dialplan is live).",
        &[("", u64::from(d.last_error.is_some()))],
    );
    // The outbox: mail that waits (an SMTP relay down, a wrong password) shows here
    // before callers complain.
    match web.app.store.outbox_backlog().await {
        Ok(b) => {
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            metric(
                "dialticket_mail_outbox",
                "gauge",
                "Mails not delivered, by state: pending (waiting for a try or a retry), sending, failed (refused for good).",
                &[("{state=\"pending\"}", n(b.pending)), ("{state=\"sending\"}", n(b.sending)), ("{state=\"failed\"}", n(b.failed))],
            );
            let age = b.oldest_undelivered.map_or(0, |t| n(crate::store::now() - t));
            metric(
                "dialticket_mail_oldest_undelivered_seconds",
                "gauge",
                "Age of the oldest mail still pending or sending (0: none waits).",
                &[("", age)],
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbox"),
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

// ---- the live dialplan (read-only) ----

/// The live dialplan as JSON: settings, trunks, hours, rules in the order calls try
/// them, warnings, and the reload status.
pub(super) async fn dialplan(State(web): State<Web>) -> Response {
    let plan = web.app.dialplan.borrow().clone();
    axum::Json(json!({"status": dialplan_status(&web), "dialplan": &*plan})).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct RouteQuery {
    to: String,
    from: Option<String>,
    source: Option<String>,
    at: Option<String>,
}

/// Which rule of the live dialplan takes a call, with the trace of every rule tried:
/// `GET /dialplan/route?to=+442079460100&from=+819012345678&source=192.0.2.1&at=2026-05-04T10:00:00+09:00`.
pub(super) async fn dialplan_route(State(web): State<Web>, Query(q): Query<RouteQuery>) -> Response {
    let bad = |m: String| (StatusCode::BAD_REQUEST, axum::Json(json!({"error": m}))).into_response();
    let plan = web.app.dialplan.borrow().clone();
    let source = match q.source.as_deref().filter(|s| !s.is_empty()).map(str::parse::<std::net::IpAddr>) {
        Some(Ok(ip)) => Some(ip),
        Some(Err(e)) => return bad(format!("source: {e}")),
        None => None,
    };
    let from = match q.from.as_deref().filter(|f| !f.is_empty()).map(|f| plan.normalize_caller(f, source)) {
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => return bad(format!("from: {e}")),
        None => None,
    };
    let at = match q.at.as_deref().filter(|s| !s.is_empty()).map(chrono::DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => t.with_timezone(&chrono::Utc),
        Some(Err(e)) => return bad(format!("at: {e} (use RFC 3339, e.g. 2026-05-04T10:00:00+09:00)")),
        None => chrono::Utc::now(),
    };
    let call = crate::dialplan::CallFacts { to: &q.to, from: from.as_ref(), source, at };
    axum::Json(plan.trace(&call).to_json()).into_response()
}

// ---- local outbox ----

/// The local outbox exists only when no SMTP server is configured (it shows
/// every user's mail, so it is a development aid, never a production page).
fn local_outbox_on(web: &Web) -> Result<(), WebError> {
    if web.app.local_outbox {
        Ok(())
    } else {
        Err(WebError::NotFound("The local outbox is off: mail goes to the configured SMTP server.".into()))
    }
}

/// A mail of the local outbox with its text and HTML bodies, rendered now.
async fn outbox_mail_by_id(web: &Web, id: i64) -> Result<(crate::store::OutboxMail, String, String), WebError> {
    local_outbox_on(web)?;
    let mail = web.app.store.outbox_mail(id).await?.ok_or_else(|| WebError::NotFound(format!("no mail #{id}")))?;
    let (text, html) = web.app.templates.bodies(&mail).map_err(AppError::from)?;
    Ok((mail, text, html))
}

pub(super) async fn outbox(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = async {
        local_outbox_on(&web)?;
        let mails = web.app.store.outbox(200).await?;
        Ok(respond(&web, &headers, StatusCode::OK, "outbox.html", &json!({"mails": mails})))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn outbox_mail(State(web): State<Web>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let r = outbox_mail_by_id(&web, id).await.map(|(mail, text, _)| {
        let text_html = linkify(&text);
        respond(&web, &headers, StatusCode::OK, "mail.html", &json!({"mail": mail, "text_html": text_html}))
    });
    finish(&web, &headers, r)
}

pub(super) async fn outbox_mail_html(State(web): State<Web>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let r = outbox_mail_by_id(&web, id)
        .await
        .map(|(_, _, html)| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response());
    finish(&web, &headers, r)
}

/// Escape a plain-text mail body for HTML and turn its URLs into links.
fn linkify(text: &str) -> String {
    let escaped: String = text
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    let mut out = String::with_capacity(escaped.len() + 64);
    let mut rest = escaped.as_str();
    while let Some(i) = ["http://", "https://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(char::is_whitespace).map(|e| i + e).unwrap_or(rest.len());
        let url = &rest[i..end];
        out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

// ---- purchase ----

#[derive(Serialize)]
struct SeatTypeOut {
    code: String,
    name: String,
    price: i64,
    price_display: String,
    available: i64,
}

fn event_json(e: &EventView, at: i64) -> serde_json::Value {
    let seat_types: Vec<SeatTypeOut> = e
        .seat_types
        .iter()
        .map(|s| SeatTypeOut {
            code: s.code.clone(),
            name: s.name.clone(),
            price: s.price,
            price_display: e.price_display(s.price),
            available: s.available,
        })
        .collect();
    let m = MailEvent::from(e);
    json!({
        "id": e.id, "name": e.name, "genre": e.genre, "description": e.description, "region": e.region,
        "venue": e.venue, "starts_at": e.starts_at, "starts": m.starts, "doors_open": m.doors_open,
        "contact": e.contact, "currency": e.currency, "on_sale": e.on_sale(at), "seat_types": seat_types,
    })
}

fn check_link(web: &Web, token: &str, purpose: Purpose) -> Result<Claims, WebError> {
    Ok(web.app.links.verify(token, purpose, now())?)
}

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
        .map(|p| json!({"code": p.method(), "name": p.name(), "available": true, "input": p.input()}))
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
                "fields": ["form_token", "seat_type", "quantity", "payment_method", "card_number", "prepaid_code", "recipient"],
                // On the web shop the receiving phone is required; from a purchase
                // link it is optional (empty = this phone; another number = a gift).
                "recipient_required": shop.buyer.is_none(),
                "payment_methods": methods,
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
        return Ok(order_result(web, headers, &p, &event, None));
    }
    let holder = match (form.recipient.trim(), &shop.buyer) {
        ("", Some(buyer)) => buyer.clone(),
        ("", None) => return Err(WebError::Invalid("enter the phone number that will receive the ticket".into())),
        (raw, _) => {
            let plan = app.dialplan.borrow().numbering_plan.clone();
            PhoneNumber::normalize_in(raw, &plan)
                .map_err(|e| WebError::Invalid(format!("receiving phone number: {e}")))?
        }
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
    let payer = buyer_user.as_ref().unwrap_or(&holder_user);
    let mut p = tx
        .reserve(payer, &holder, &event, &form.seat_type, quantity, &form.payment_method, &form.form_token, at)
        .await?;
    let detail = json!({"seats": p.seats, "holder": holder, "buyer": shop.buyer, "web_first": shop.buyer.is_none()});
    tx.journal("purchase", &p.id, "reserved", None, Some("pending"), "web:order", &detail.to_string());
    let provider = app.payments.get(&form.payment_method).map_err(|e| WebError::Invalid(e.to_string()))?;
    let input = if provider.input() == Some("prepaid_code") { &form.prepaid_code } else { &form.card_number };
    let request = ChargeRequest { purchase_id: &p.id, amount: p.amount, phone: &holder, input, now: at };
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
                "event": MailEvent::from(&event), "seats": p.seats.join(", "), "amount": event.price_display(p.amount),
                "instructions": instructions, "expires": fmt_utc(Some(expires_at)), "phone": p.phone.as_str(),
                "purchase_id": p.id,
            });
            app.queue_mail(&mut tx, payer, "payment-instructions", &ctx, at).await?;
        }
        Charge::Challenge { reference, expires_at } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
        }
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(order_result(web, headers, &p, &event, declined))
}

fn order_result(web: &Web, headers: &HeaderMap, p: &Purchase, event: &EventView, declined: Option<String>) -> Response {
    let at = now();
    let links = &web.app.links;
    let reference = p.payment_ref.clone().unwrap_or_default();
    // One status a client can act on: paid → call the issue number; challenge →
    // answer it; pending → pay at the store; anything else → it did not go through.
    let (status, http, extra) = match p.payment_status {
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
        PaymentStatus::Pending => (
            "pending",
            StatusCode::ACCEPTED,
            json!({"instructions": crate::payment::instructions(&reference), "hold_until": p.hold_until,
                   "hold_until_display": fmt_utc(p.hold_until)}),
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
        "issue_number": web.app.number_for(Action::Issue, Some(&p.event_id)),
        "reason": declined.unwrap_or_else(|| "payment declined".into()),
        "test_mode": web.app.payments.test_mode(),
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    respond(web, headers, http, "order.html", &body)
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
        let p = crate::settlement::answer_challenge(&web.app, &pid, &form.code).await.map_err(|e| match e {
            crate::settlement::SettlementError::Payment(e) => WebError::Invalid(e.to_string()),
            crate::settlement::SettlementError::App(e) => WebError::Unexpected(e),
            other => WebError::NotFound(other.to_string()),
        })?;
        let event = web.app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound("event gone".into()))?;
        Ok(order_result(&web, &headers, &p, &event, None))
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

// ---- issue guide, ticket, admission ----

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
        let code = web.app.links.sign(Purpose::TicketCode, &p.phone, Some(&p.id), now())?;
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
                "verify_url": format!("/verify/{code}"), "code": code,
                "holder_name": holder_name(&web, &p).await?,
            }),
        ))
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
        // Wrong PINs are journalled per ticket, so the lockout holds on every gateway
        // and across restarts; a locked ticket is told so on a read, without a write.
        let window = super::PIN_WINDOW.as_secs() as i64;
        let wrong = web.app.store.journal_count_since(&pid, super::PIN_REFUSED, now() - window).await?;
        if wrong >= super::PIN_TRIES {
            return Err(WebError::TooManyTries(format!(
                "{} wrong staff PINs for this ticket: it takes none for {} minutes",
                super::PIN_TRIES,
                window / 60
            )));
        }
        match form.get("staff_pin").map(|pin| web.app.links.is_staff_pin(&e.id, e.staff_pin_epoch, pin)) {
            Some(true) => {}
            Some(false) => {
                let mut tx = web.app.store.begin().await?;
                tx.journal("purchase", &pid, super::PIN_REFUSED, None, None, "web:admit", "{}");
                tx.commit().await?;
                tracing::info!(purchase = %pid, "admit refused: wrong staff PIN");
                return Err(WebError::StaffOnly("wrong staff PIN".into()));
            }
            None => return Err(WebError::StaffOnly("staff only: the staff PIN is missing".into())),
        }
        let at = now();
        if at > e.admission_closes || at < e.admission_opens {
            return Err(WebError::Conflict("admission is not open for this event now".into()));
        }
        let mut tx = web.app.store.begin().await?;
        let mut p = tx.purchase(&pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
        match p.admit(at) {
            Ok(t) => {
                tx.save_purchase(&p, &t, "web:admit", at).await?;
                tx.commit().await?;
            }
            Err(DomainError::AlreadyAdmitted { at }) => {
                return Err(WebError::Conflict(format!("already admitted at {} (UTC)", fmt_utc(Some(at)))));
            }
            Err(e) => return Err(WebError::Conflict(e.to_string())),
        }
        admission_page(&web, &headers, &token, &p, &e).await
    }
    .await;
    finish(&web, &headers, r)
}

/// Staff check a ticket code (the signed code printed on the ticket page).
pub(super) async fn verify_code(web: &Web, code: &str) -> Result<serde_json::Value, WebError> {
    let claims = check_link(web, code, Purpose::TicketCode)?;
    let (p, e) = purchase_of(web, &claims).await?;
    Ok(json!({
        "valid": p.issued && p.payment_status == PaymentStatus::Paid, "state": p.state(), "purchase_id": p.id, "phone": p.phone, "event_name": e.name,
        "seats": p.seats, "admission": p.admission.as_str(),
    }))
}

pub(super) async fn verify(State(web): State<Web>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let r = verify_code(&web, &code).await.map(|v| respond(&web, &headers, StatusCode::OK, "verify.html", &v));
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkify_escapes_and_links() {
        let s = linkify("Open <this>: http://127.0.0.1:8080/p/ey.a_b-c\nthen https://x.example/y");
        assert!(s.starts_with("Open &lt;this&gt;: <a href=\"http://127.0.0.1:8080/p/ey.a_b-c\">"), "{s}");
        assert!(s.contains("<a href=\"https://x.example/y\">https://x.example/y</a>"), "{s}");
    }
}
