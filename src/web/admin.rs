//! The organizers' admin API (JSON, plus the journal as CSV), on the admin
//! listener, behind a bearer token (`admin_token` in the configuration; unset =
//! the API is off). Organizers may also sign in with HTTP Basic
//! (`organizer-id:password`, set in their catalog entry) to see the sales and
//! billing of their own events; the reads (sales, billing) also take a back-office
//! session cookie (`web::backoffice`): an operator's reads all, an organizer's its own.
//!
//! - `POST /admin/catalog` — register or update organizers, events and seats
//!   (the body is a catalog file, TOML, as `events/demo.toml`)
//! - `GET /admin/events/{id}/sales` — sold / held / free per seat type, sales per day (admin or its organizer)
//! - `GET /admin/organizers/{id}/billing` — tickets sold, fee per ticket, billed, paid, balance (admin or that organizer)
//! - `GET /admin/journal.csv` — every recorded transition
//! - `POST /admin/payments/{reference}/confirm` — mark a pending payment paid
//! - `GET /admin/blocks` — the flood limiter: source addresses and caller numbers blocked now, and its counters
//! - `DELETE /admin/blocks/{key}` — unblock `source:192.0.2.7` or `caller:+819012345678` at once
//! - `GET /admin/phone-users/{phone}` — a phone user: where its mail goes, its handset, profile and journal
//! - `PUT /admin/phone-users/{phone}/mail` — `{"address": "…"}` registers where its mail goes
//!   (the operator's mapping, no confirmation; `null`: the carrier's address again)

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::Web;
use crate::events::{CatalogFile, EventView};

fn deny(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message, "status": status.as_u16()}))).into_response()
}

/// Check the bearer token in constant time (no early exit on the first wrong
/// byte); `Some(response)` is the refusal to send.
fn refused(web: &Web, headers: &HeaderMap) -> Option<Response> {
    let Some(expected) = web.app.admin_token.as_deref() else {
        return Some(deny(StatusCode::NOT_FOUND, "the admin API is off (set admin_token)"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let same = given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    (!same).then(|| deny(StatusCode::UNAUTHORIZED, "missing or wrong bearer token"))
}

/// Who is asking: the operator (bearer token, or an operator's back-office
/// session) or an organizer (Basic auth, or its back-office session).
enum Caller {
    Admin,
    Organizer(String),
}

/// Admin token, or an organizer's own password; for reads (`session_ok`), a
/// back-office session too. `Err` is the refusal to send.
async fn caller(web: &Web, headers: &HeaderMap, session_ok: bool) -> Result<Caller, Response> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if auth.is_empty() && session_ok {
        match super::backoffice::session_of(web, headers).await {
            Ok(Some(s)) => {
                return Ok(match s.account.role {
                    crate::accounts::Role::Operator => Caller::Admin,
                    crate::accounts::Role::Organizer(o) => Caller::Organizer(o),
                })
            }
            Ok(None) => {}
            Err(e) => return Err(internal(e)),
        }
    }
    if let Some(basic) = auth.strip_prefix("Basic ") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded);
        if let Some((id, password)) = text.split_once(':') {
            match web.app.store.organizer_password_hash(id).await {
                Ok(Some(hash)) if crate::auth::verify_password(password, &hash) => {
                    return Ok(Caller::Organizer(id.to_string()))
                }
                Ok(_) => {}
                Err(e) => return Err(internal(e)),
            }
        }
        return Err(deny(StatusCode::UNAUTHORIZED, "wrong organizer id or password"));
    }
    match refused(web, headers) {
        None => Ok(Caller::Admin),
        Some(r) => Err(r),
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin request failed");
    deny(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side")
}

pub(super) async fn load_catalog(State(web): State<Web>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    // Relative times (`today+30d 19:00 +09:00`) are fixed as of this request.
    let catalog = match CatalogFile::parse(&body, chrono::Utc::now()) {
        Ok(c) => c,
        Err(e) => return deny(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    match web.app.store.load_catalog(&catalog).await {
        Ok((events, seats)) => Json(json!({
            "organizers": catalog.organizers.len(), "events": events, "seats_added": seats,
        }))
        .into_response(),
        Err(e @ crate::store::StoreError::UnknownOrganizer(_)) => {
            deny(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
        }
        Err(e) => internal(e),
    }
}

/// Who asks (the admin, or an organizer for its own event) and the event.
/// `Err` is the refusal to send: 401, 403 (another organizer's event), 404.
async fn event_of_caller(
    web: &Web,
    headers: &HeaderMap,
    event_id: &str,
    session_ok: bool,
) -> Result<(Caller, EventView), Response> {
    let who = caller(web, headers, session_ok).await?;
    let event = match web.app.store.event(event_id).await {
        Ok(Some(e)) => e,
        Ok(None) => return Err(deny(StatusCode::NOT_FOUND, &format!("no event '{event_id}'"))),
        Err(e) => return Err(internal(e)),
    };
    match &who {
        Caller::Organizer(id) if *id != event.organizer => {
            Err(deny(StatusCode::FORBIDDEN, "this event belongs to another organizer"))
        }
        _ => Ok((who, event)),
    }
}

pub(super) async fn sales(State(web): State<Web>, Path(event_id): Path<String>, headers: HeaderMap) -> Response {
    let event = match event_of_caller(&web, &headers, &event_id, true).await {
        Ok((_, e)) => e,
        Err(r) => return r,
    };
    let sales = match Sales::of(&web.app.store, &event_id).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    Json(json!({
        "event": event.id, "name": event.name, "currency": event.currency,
        // What venue staff enter on a ticket's admission page to admit it.
        "staff_pin": web.app.links.staff_pin(&event.id, event.staff_pin_epoch),
        "seat_types": sales.by_type,
        "revenue": sales.revenue,
        "per_day": sales.per_day.into_iter().map(|(day, (tickets, amount))| json!({"day": day, "tickets": tickets, "amount": amount})).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// An event's sales: seats `free` / `held` / `sold` per seat type, paid tickets
/// and amounts per (UTC) day, and the revenue (what was paid in).
pub(super) struct Sales {
    pub by_type: BTreeMap<String, BTreeMap<String, i64>>,
    pub per_day: BTreeMap<String, (i64, i64)>,
    pub revenue: i64,
}

impl Sales {
    pub(super) async fn of(store: &crate::store::Store, event_id: &str) -> Result<Sales, crate::store::StoreError> {
        let (counts, paid) = tokio::try_join!(store.seat_counts(event_id), store.paid_sales(event_id))?;
        let mut by_type: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (seat_type, state, n) in counts {
            let entry = by_type.entry(seat_type).or_default();
            for s in ["free", "held", "sold"] {
                entry.entry(s.to_string()).or_insert(0);
            }
            entry.insert(state, n);
        }
        let mut per_day: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let mut revenue = 0;
        for (at, tickets, amount) in paid {
            let day =
                chrono::DateTime::from_timestamp(at, 0).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
            let e = per_day.entry(day).or_default();
            e.0 += tickets;
            e.1 += amount;
            revenue += amount;
        }
        Ok(Sales { by_type, per_day, revenue })
    }
}

/// `POST /admin/events/{id}/staff-pin`: a new staff PIN for the event (one that
/// leaked): the old one stops admitting at once, on every gateway. The admin, or
/// the event's organizer. Answers the new PIN.
pub(super) async fn rotate_staff_pin(
    State(web): State<Web>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let actor = match event_of_caller(&web, &headers, &event_id, false).await {
        Ok((Caller::Admin, _)) => "admin".to_string(),
        Ok((Caller::Organizer(id), _)) => format!("organizer:{id}"),
        Err(r) => return r,
    };
    let store = &web.app.store;
    let rotated = async {
        let mut tx = store.begin().await?;
        let epoch = tx.rotate_staff_pin(&event_id, &actor).await?;
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(epoch)
    };
    match rotated.await {
        Ok(Some(epoch)) => {
            tracing::info!(event = %event_id, %actor, epoch, "staff PIN replaced");
            Json(json!({"event": event_id, "staff_pin": web.app.links.staff_pin(&event_id, epoch)})).into_response()
        }
        Ok(None) => deny(StatusCode::NOT_FOUND, &format!("no event '{event_id}'")),
        Err(e) => internal(e),
    }
}

pub(super) async fn billing(State(web): State<Web>, Path(organizer_id): Path<String>, headers: HeaderMap) -> Response {
    match caller(&web, &headers, true).await {
        Ok(Caller::Organizer(id)) if id != organizer_id => {
            return deny(StatusCode::FORBIDDEN, "this is another organizer's billing")
        }
        Ok(_) => {}
        Err(r) => return r,
    }
    // The statements' numbers (crate::billing; docs/backoffice.md, "Billing"):
    // billed = the fees, paid = the ticket money dialticket holds for the
    // organizer (sales − refunds − payouts), balance = billed − paid = −owed.
    match super::backoffice::billing_totals(&web, &organizer_id).await {
        Ok(Some((name, t))) => Json(json!({
            "organizer": organizer_id, "name": name, "tickets_sold": t.tickets,
            "fee_per_ticket": web.app.fee_per_ticket, "billed": t.fees, "paid": t.paid(), "balance": t.balance(),
            "sales": t.sales, "refunds": t.refunds, "payouts": t.payouts, "owed": t.owed,
        }))
        .into_response(),
        Ok(None) => deny(StatusCode::NOT_FOUND, &format!("no organizer '{organizer_id}'")),
        Err(e) => internal(e),
    }
}

/// Confirm a pending payment by hand (e.g. a convenience-store payment the
/// provider reported by phone), as if its callback had arrived.
pub(super) async fn confirm_payment(
    State(web): State<Web>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    match confirm_paid(&web, &reference, "admin").await {
        Ok(outcome) => Json(json!({"reference": reference, "outcome": outcome})).into_response(),
        Err(e @ crate::settlement::SettlementError::UnknownReference(_)) => deny(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => internal(e),
    }
}

/// Settle the pending payment `reference` as paid, as if its provider's callback
/// had arrived (once: a repeat is answered like the provider's repeated callback).
/// `actor` is journalled. Also the back office's "Confirm paid" (`backoffice/ops.rs`).
pub(crate) async fn confirm_paid(
    web: &Web,
    reference: &str,
    actor: &str,
) -> Result<String, crate::settlement::SettlementError> {
    let cb = crate::payment::Callback {
        event_id: format!("admin-confirm-{reference}"),
        reference: reference.to_string(),
        status: "paid".into(),
    };
    crate::settlement::apply_callback(&web.app, &cb, actor).await
}

/// RFC 4180 field: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) async fn journal_csv(State(web): State<Web>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    let rows = match web.app.store.journal_all().await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut out = String::from("seq,at,entity,entity_id,action,from_state,to_state,actor,detail\r\n");
    for j in rows {
        let at = chrono::DateTime::from_timestamp(j.at, 0).map(|d| d.to_rfc3339()).unwrap_or_default();
        let fields = [
            j.seq.to_string(),
            at,
            j.entity,
            j.entity_id,
            j.action,
            j.from_state.unwrap_or_default(),
            j.to_state.unwrap_or_default(),
            j.actor,
            j.detail,
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"journal.csv\""),
        ],
        out,
    )
        .into_response()
}

/// The flood limiter's blocks and counters.
pub(super) async fn blocks(State(web): State<Web>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    let now = std::time::Instant::now();
    let flood = &web.app.flood;
    Json(json!({"blocked": flood.blocked(now), "stats": flood.stats(now)})).into_response()
}

/// `POST /admin/outbox/{id}/retry`: send a mail the relay refused for good
/// (`failed`, kept on the outbox page) again, once its cause is fixed. A mail
/// sent now arrives after the newer mails of its kind its recipient already has
/// (an older ticket mail's link may have been replaced since): then the answer is
/// 409 naming the newer mail, and `?anyway=true` sends it regardless.
pub(super) async fn retry_mail(
    State(web): State<Web>,
    Path(id): Path<i64>,
    Query(q): Query<RetryQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    let refusal = match retry_failed_mail(&web, id, q.anyway).await {
        Ok(Retry::Queued) => return Json(json!({"mail": id, "state": "pending"})).into_response(),
        Ok(refusal) => refusal,
        Err(e) => return internal(e),
    };
    let message = match refusal {
        Retry::NotFound => return deny(StatusCode::NOT_FOUND, &format!("no mail {id}")),
        Retry::NotFailed(state) => format!("mail {id} is {state}, not failed"),
        Retry::Newer { newer, template, to } => format!(
            "mail {id} ({template} to {to}) was followed by mail {newer} of the same kind, delivered: sent now it \
             would arrive after it; POST /admin/outbox/{id}/retry?anyway=true to send it regardless"
        ),
        Retry::NoLongerFailed | Retry::Queued => format!("mail {id} is no longer failed"),
    };
    deny(StatusCode::CONFLICT, &message)
}

/// What asking to send a failed mail again did ([`retry_failed_mail`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Queued again (`pending`), the mail worker woken.
    Queued,
    NotFound,
    /// It is not `failed` (its state).
    NotFailed(String),
    /// A newer mail of its kind reached its recipient: sent now it would arrive after it.
    Newer {
        newer: i64,
        template: String,
        to: String,
    },
    /// Another request queued it meanwhile.
    NoLongerFailed,
}

/// Queue the failed mail `id` again (`anyway`: even when a newer mail of its
/// kind was delivered since). The admin API's retry and the back office's.
pub(crate) async fn retry_failed_mail(web: &Web, id: i64, anyway: bool) -> Result<Retry, crate::store::StoreError> {
    let store = &web.app.store;
    let Some(mail) = store.outbox_mail(id).await? else { return Ok(Retry::NotFound) };
    if mail.state != "failed" {
        return Ok(Retry::NotFailed(mail.state));
    }
    if !anyway {
        if let Some(newer) = store.newer_delivered_mail(id).await? {
            return Ok(Retry::Newer { newer, template: mail.template, to: mail.to_addr });
        }
    }
    if !store.retry_failed_mail(id, crate::store::now()).await? {
        return Ok(Retry::NoLongerFailed);
    }
    tracing::info!(mail_id = id, anyway, "failed mail queued again by the admin");
    web.app.mail_wake.notify_one();
    Ok(Retry::Queued)
}

#[derive(serde::Deserialize)]
pub(super) struct RetryQuery {
    #[serde(default)]
    anyway: bool,
}

/// Lift a block (and forget the key's count) now.
pub(super) async fn unblock(State(web): State<Web>, Path(key): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    let key: crate::flood::Key = match key.parse() {
        Ok(k) => k,
        Err(e) => return deny(StatusCode::BAD_REQUEST, &format!("{e} (expected source:ADDRESS or caller:+NUMBER)")),
    };
    if web.app.flood.unblock(&key) {
        tracing::info!(%key, "flood block lifted by the admin");
        Json(json!({"unblocked": key})).into_response()
    } else {
        deny(StatusCode::NOT_FOUND, &format!("{key} is not blocked"))
    }
}

/// The phone in a path, normalized with the live dialplan's numbering plan
/// (`+819012345678`, or a national form). `Err` is the message of the 422 to send.
pub(crate) fn phone_in_path(web: &Web, raw: &str) -> Result<crate::phone::PhoneNumber, String> {
    let plan = web.app.dialplan.borrow().numbering_plan.clone();
    crate::phone::PhoneNumber::normalize_in(raw, &plan).map_err(|e| format!("phone number '{raw}': {e}"))
}

fn phone_user_json(web: &Web, user: &crate::store::PhoneUser) -> serde_json::Value {
    json!({
        "phone": user.phone,
        "user_number": user.user_number,
        "mail_address": user.mail_address,
        "delivers_to": crate::mail::address_for(user, &web.app.carrier_mail_template),
        "mail_changed_at": user.mail_changed_at,
        "mail_epoch": user.mail_epoch,
        "handset_model": user.handset_model,
        "language": user.language,
        "registered_at": user.registered_at,
        "last_access_at": user.last_access_at,
        "access_count": user.access_count,
    })
}

/// `GET /admin/phone-users/{phone}`: what support needs to answer "where is my mail?".
pub(super) async fn phone_user(State(web): State<Web>, Path(raw): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    let phone = match phone_in_path(&web, &raw) {
        Ok(p) => p,
        Err(m) => return deny(StatusCode::UNPROCESSABLE_ENTITY, &m),
    };
    let user = match web.app.store.phone_user(&phone).await {
        Ok(Some(u)) => u,
        Ok(None) => return deny(StatusCode::NOT_FOUND, &format!("no phone user {phone}")),
        Err(e) => return internal(e),
    };
    let store = &web.app.store;
    match tokio::try_join!(store.profile(&user.user_number), store.journal_for(&user.user_number)) {
        Ok((profile, journal)) => {
            let mut body = phone_user_json(&web, &user);
            body["profile"] = json!(profile);
            body["journal"] = json!(journal);
            Json(body).into_response()
        }
        Err(e) => internal(e),
    }
}

/// `PUT /admin/phone-users/{phone}/mail`: the operator registers where a phone's
/// mail goes (e.g. from a carrier's or a customer list), before or after its first call.
pub(super) async fn set_phone_user_mail(
    State(web): State<Web>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = refused(&web, &headers) {
        return r;
    }
    let phone = match phone_in_path(&web, &raw) {
        Ok(p) => p,
        Err(m) => return deny(StatusCode::UNPROCESSABLE_ENTITY, &m),
    };
    // The key is required: a body without it must not quietly drop a registered address.
    let wanted = match serde_json::from_slice::<serde_json::Value>(&body).ok().map(|v| v.get("address").cloned()) {
        Some(Some(serde_json::Value::String(a))) => Some(a),
        Some(Some(serde_json::Value::Null)) => None,
        _ => {
            return deny(
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"expected {"address": "name@example.com"} or {"address": null}"#,
            )
        }
    };
    let address = match wanted.as_deref().map(crate::mail::registration::registrable).transpose() {
        Ok(a) => a,
        Err(e) => return deny(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    match set_mail_address(&web, &phone, address.as_deref()).await {
        Ok(user) => Json(phone_user_json(&web, &user)).into_response(),
        Err(e) => internal(e),
    }
}

/// The operator registers `address` as where `phone`'s mail goes (`None`: the
/// carrier's address again), no confirmation asked. The admin API's and the back office's.
pub(crate) async fn set_mail_address(
    web: &Web,
    phone: &crate::phone::PhoneNumber,
    address: Option<&str>,
) -> Result<crate::store::PhoneUser, crate::store::StoreError> {
    let store = &web.app.store;
    // Retried on a conflict: a phone mapped before its first call draws a user number.
    let user = crate::store::Store::retry(|| async {
        let mut tx = store.begin().await?;
        let user = tx.set_mail_address(phone, address, "admin", crate::store::now()).await?;
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(user)
    })
    .await?;
    tracing::info!(%phone, registered = address.is_some(), "mail address mapped by the admin");
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
