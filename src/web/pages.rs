//! Page handlers. Each GET shows state; each POST is one store transaction.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{respond, Web, WebError};
use crate::app::MailEvent;
use crate::dialplan::Action;
use crate::domain::{DomainError, PaymentResult, PaymentStatus, Purchase};
use crate::events::EventView;
use crate::links::{Claims, Purpose};
use crate::payment::{self, PaymentError};
use crate::store::now;

type PageResult = Result<Response, WebError>;

fn finish(web: &Web, headers: &HeaderMap, r: PageResult) -> Response {
    r.unwrap_or_else(|e| e.render(web, headers))
}

fn fmt_utc(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

// ---- home, health ----

pub(super) async fn home(State(web): State<Web>, headers: HeaderMap) -> Response {
    let plan = web.app.dialplan.borrow().clone();
    let numbers: Vec<_> = plan
        .rules()
        .iter()
        .map(|r| json!({"number": r.number.as_str(), "action": r.action, "answer": r.answer, "event": r.event}))
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
    match web.app.store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok", "database": "ok"}))).into_response(),
        Err(e) => {
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"status": "degraded", "database": e.to_string()})))
                .into_response()
        }
    }
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

async fn outbox_mail_by_id(web: &Web, id: i64) -> Result<crate::store::OutboxMail, WebError> {
    local_outbox_on(web)?;
    web.app.store.outbox_mail(id).await?.ok_or_else(|| WebError::NotFound(format!("no mail #{id}")))
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
    let r = outbox_mail_by_id(&web, id).await.map(|mail| {
        let text_html = linkify(&mail.body_text);
        respond(&web, &headers, StatusCode::OK, "mail.html", &json!({"mail": mail, "text_html": text_html}))
    });
    finish(&web, &headers, r)
}

pub(super) async fn outbox_mail_html(State(web): State<Web>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let r = outbox_mail_by_id(&web, id)
        .await
        .map(|mail| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], mail.body_html).into_response());
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

pub(super) async fn purchase_events(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Purchase)?;
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
                v["url"] = json!(format!("/p/{token}/events/{}", e.id));
                v
            })
            .collect();
        Ok(respond(
            &web,
            &headers,
            StatusCode::OK,
            "events.html",
            &json!({"purpose": "purchase", "phone": claims.sub, "events": events}),
        ))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn purchase_event(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Purchase)?;
        let event = web
            .app
            .store
            .event(&event_id)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("no event '{event_id}'")))?;
        let at = now();
        if !event.on_sale(at) {
            return Err(WebError::Conflict(format!("{} is not on sale now", event.name)));
        }
        let methods: Vec<_> = payment::METHODS
            .iter()
            .map(|(code, name, available)| json!({"code": code, "name": name, "available": available}))
            .collect();
        let action = format!("/p/{token}/events/{event_id}");
        Ok(respond(
            &web,
            &headers,
            StatusCode::OK,
            "event.html",
            &json!({
                "phone": claims.sub,
                "event": event_json(&event, at),
                "back": format!("/p/{token}"),
                "form": {
                    "action": action, "method": "POST",
                    // Idempotency key: submitting the same form twice buys once.
                    "form_token": uuid::Uuid::new_v4().simple().to_string(),
                    "fields": ["form_token", "seat_type", "quantity", "payment_method", "card_number"],
                    "payment_methods": methods,
                },
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
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
    let r = order(&web, &headers, &token, &event_id, form).await;
    finish(&web, &headers, r)
}

async fn order(web: &Web, headers: &HeaderMap, token: &str, event_id: &str, form: OrderForm) -> PageResult {
    let claims = check_link(web, token, Purpose::Purchase)?;
    let app = &web.app;
    if form.form_token.len() < 16 || form.form_token.len() > 64 {
        return Err(WebError::Invalid("the form is incomplete; open the event page again".into()));
    }
    if let Some(p) = app.store.purchase_by_form_token(&form.form_token).await? {
        // The same form submitted again (double tap, reload): answer with the first result.
        if p.phone != claims.sub || p.event_id != event_id {
            return Err(WebError::Conflict("this form was already used".into()));
        }
        let event = app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound("event gone".into()))?;
        return Ok(order_result(web, headers, &p, &event, None));
    }
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
    let user = tx.touch_phone_user(&claims.sub, "en", at).await?;
    let mut p =
        tx.reserve(&user, &event, &form.seat_type, quantity, &form.payment_method, &form.form_token, at).await?;
    tx.journal(
        "purchase",
        &p.id,
        "reserved",
        None,
        Some("pending"),
        "web:order",
        &json!({"seats": p.seats}).to_string(),
    )
    .await?;
    let result = match payment::charge(&form.payment_method, &form.card_number, p.amount) {
        Ok(r) => r,
        // Bad input is not a decline: nothing is reserved (the transaction is dropped).
        Err(e @ PaymentError::InvalidCardNumber) | Err(e @ PaymentError::MethodUnavailable(_)) => {
            return Err(WebError::Invalid(e.to_string()))
        }
    };
    let transitions = p.settle(&result).map_err(|e| WebError::Conflict(e.to_string()))?;
    tx.save_purchase(&p, &transitions, "web:order", at).await.map_err(WebError::from)?;
    let mut declined = None;
    match &result {
        PaymentResult::Approved { .. } => app.queue_issue_guide(&mut tx, &user, &p, &event, at).await?,
        PaymentResult::Declined { reason } => {
            tx.release_seats(&p.id, at).await?;
            // Apology with a fresh link (seed 000: on decline, a new purchase URL).
            let url = app.links.url(Purpose::Purchase, &user.phone, None, at)?;
            let ctx = json!({"url": url, "event": MailEvent::from(&event), "reason": reason});
            app.queue_mail(&mut tx, &user, "payment-declined", &ctx, at).await?;
            declined = Some(reason.clone());
        }
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(order_result(web, headers, &p, &event, declined))
}

fn order_result(web: &Web, headers: &HeaderMap, p: &Purchase, event: &EventView, declined: Option<String>) -> Response {
    let at = now();
    let paid = p.payment_status == PaymentStatus::Paid;
    let guide = if paid { web.app.links.url(Purpose::IssueGuide, &p.phone, Some(&p.id), at).ok() } else { None };
    let status = if paid { StatusCode::OK } else { StatusCode::PAYMENT_REQUIRED };
    respond(
        web,
        headers,
        status,
        "order.html",
        &json!({
            "status": p.payment_status.as_str(),
            "purchase_id": p.id,
            "event_id": p.event_id,
            "event_name": event.name,
            "seats": p.seats,
            "quantity": p.quantity,
            "amount": event.price_display(p.amount),
            "phone": p.phone,
            "issue_number": web.app.number_for(Action::Issue, Some(&p.event_id)),
            "issue_guide_url": guide,
            "reason": declined.unwrap_or_else(|| "payment declined".into()),
        }),
    )
}

// ---- issue guide, ticket, admission ----

async fn purchase_of(web: &Web, claims: &Claims) -> Result<(Purchase, EventView), WebError> {
    let pid = claims.pid.as_deref().ok_or_else(|| WebError::NotFound("this link names no purchase".into()))?;
    let p = web.app.store.purchase(pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
    if p.phone != claims.sub {
        return Err(WebError::Link(crate::links::LinkError::Invalid));
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
                "issue_number": web.app.number_for(Action::Issue, Some(&e.id)),
                "issue_tel": format!("tel:{}", web.app.number_for(Action::Issue, Some(&e.id))),
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
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
                "usage_number": web.app.number_for(Action::Usage, Some(&e.id)),
                "verify_url": format!("/verify/{code}"), "code": code,
            }),
        ))
    }
    .await;
    finish(&web, &headers, r)
}

fn admission_json(token: &str, p: &Purchase, e: &EventView) -> serde_json::Value {
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
    })
}

pub(super) async fn admission(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Admission)?;
        let (p, e) = purchase_of(&web, &claims).await?;
        Ok(respond(&web, &headers, StatusCode::OK, "admission.html", &admission_json(&token, &p, &e)))
    }
    .await;
    finish(&web, &headers, r)
}

/// Staff press "admit": the one POST that uses up the ticket.
pub(super) async fn admit(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(_form): Form<HashMap<String, String>>,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Admission)?;
        let pid = claims.pid.clone().ok_or_else(|| WebError::NotFound("this link names no purchase".into()))?;
        let at = now();
        let mut tx = web.app.store.begin().await?;
        let mut p = tx.purchase(&pid).await?.ok_or_else(|| WebError::NotFound("no such purchase".into()))?;
        let e = web.app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound("no such event".into()))?;
        if at > e.admission_closes || at < e.admission_opens {
            return Err(WebError::Conflict("admission is not open for this event now".into()));
        }
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
        Ok(respond(&web, &headers, StatusCode::OK, "admission.html", &admission_json(&token, &p, &e)))
    }
    .await;
    finish(&web, &headers, r)
}

/// Staff check a ticket code (the signed code printed on the ticket page).
pub(super) async fn verify_code(web: &Web, code: &str) -> Result<serde_json::Value, WebError> {
    let claims = check_link(web, code, Purpose::TicketCode)?;
    let (p, e) = purchase_of(web, &claims).await?;
    Ok(json!({
        "valid": p.issued, "purchase_id": p.id, "phone": p.phone, "event_name": e.name,
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
