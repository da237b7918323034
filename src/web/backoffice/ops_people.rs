//! Operators' pages about callers (back office, operators only):
//!
//! - `GET /admin/ops/blocks`, `POST /admin/ops/blocks/unblock` — who the flood
//!   limiter blocks, why and until when; unblock (the admin API's `DELETE /admin/blocks/{key}`)
//! - `GET /admin/ops/phones?phone=…`, `POST /admin/ops/phones/mail` — a caller by phone
//!   (typed as people write it), where its mail goes, its orders; change the address
//!   (the admin API's `PUT /admin/phone-users/{phone}/mail`)
//! - `GET /admin/ops/payments`, `POST /admin/ops/payments/{reference}/confirm` —
//!   convenience-store payments waiting, and "confirm paid" (the admin API's
//!   `POST /admin/payments/{reference}/confirm`)

use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ops::{display_zone, on_display_clock, ops_page};
use super::orders::{method_name, state_name};
use super::{check_csrf, operator_only, Fields, Session, SignedIn};
use crate::i18n::Style;
use crate::phone::PhoneNumber;
use crate::web::admin::{confirm_paid, set_mail_address};
use crate::web::{at_venue, finish, tr, PageResult, Web, WebError};

/// A query value or path segment: all but letters, digits and `-_.~` encoded.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, VALUE).to_string()
}

// ---- flood blocks ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct BlocksDone {
    unblocked: Option<String>,
}

async fn blocks_page(web: &Web, headers: &HeaderMap, s: &Session, status: StatusCode, extra: Value) -> PageResult {
    let now = Instant::now();
    let wall = crate::store::now();
    let blocked: Vec<Value> = web
        .app
        .flood
        .blocked(now)
        .iter()
        .map(|b| {
            let since = wall - i64::try_from(b.blocked_for.as_secs()).unwrap_or(0);
            let until = wall + i64::try_from(b.remaining.as_secs_f64().ceil() as u64).unwrap_or(0);
            let key = b.key.to_admin_string();
            let who = without_kind(&key).to_string();
            json!({"key": key, "who": who, "kind": b.key.kind(),
                   "why": tr(web, &format!("admin-ops-block-{}", b.key.kind()), &[]),
                   "refused": b.refused, "dropped": b.dropped,
                   "since": on_display_clock(web, since, Style::DateTimeSecs),
                   "until": on_display_clock(web, until, Style::DateTimeSecs)})
        })
        .collect();
    let stats = web.app.flood.stats(now);
    let mut data = json!({"blocked": blocked, "zone": display_zone(web), "blocks_total": stats.blocks_total});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            data[k] = v;
        }
    }
    ops_page(web, headers, s, status, "admin_ops_blocks.html", data)
}

/// A key's address or number without its kind (`source:192.0.2.7` → `192.0.2.7`):
/// the page says the kind in words.
fn without_kind(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, who)| who)
}

/// `GET /admin/ops/blocks`.
pub(super) async fn blocks(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Query(done): Query<BlocksDone>,
) -> Response {
    let notice = done.unblocked.map(|k| tr(&web, "admin-ops-unblocked", &[("key", without_kind(&k))]));
    let r = blocks_page(&web, &headers, &s, StatusCode::OK, json!({"notice": notice})).await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct UnblockForm {
    csrf: Option<String>,
    key: String,
}

/// `POST /admin/ops/blocks/unblock`: lifted at once, back to the list.
pub(super) async fn unblock(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Fields(form): Fields<UnblockForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let Ok(key) = form.key.trim().parse::<crate::flood::Key>() else {
            let error = tr(&web, "admin-ops-unblock-bad-key", &[]);
            return blocks_page(&web, &headers, &s, StatusCode::UNPROCESSABLE_ENTITY, json!({"error": error})).await;
        };
        if web.app.flood.unblock(&key) {
            tracing::info!(%key, by = %s.account.id, "flood block lifted from the back office");
            let to = format!("/admin/ops/blocks?unblocked={}", encode(&key.to_admin_string()));
            return Ok(Redirect::to(&to).into_response());
        }
        let error = tr(&web, "admin-ops-unblock-gone", &[("key", without_kind(&key.to_admin_string()))]);
        blocks_page(&web, &headers, &s, StatusCode::NOT_FOUND, json!({"error": error})).await
    }
    .await;
    finish(&web, &headers, r)
}

// ---- phone users ----

/// A phone as an operator types it: international (`+81 90-…`) or national,
/// read in the country of the gateway's display clock (else the dialplan's plan).
fn read_phone(web: &Web, typed: &str) -> Option<PhoneNumber> {
    let cc = crate::web::shop::phone::country_of_zone(web.app.display_time_zone.name());
    let plan = web.app.dialplan.borrow().numbering_plan.clone();
    crate::web::shop::phone::read(typed, cc, &plan)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PhoneForm {
    phone: String,
    saved: Option<String>,
}

/// The phone page's data for `typed` (nothing looked up when empty).
async fn phone_data(web: &Web, typed: &str, address_typed: Option<&str>) -> Result<(StatusCode, Value), WebError> {
    let cc = crate::web::shop::phone::country_of_zone(web.app.display_time_zone.name());
    let mut data = json!({"phone": typed, "example": crate::web::shop::phone::example(cc)});
    if typed.trim().is_empty() {
        return Ok((StatusCode::OK, data));
    }
    let Some(phone) = read_phone(web, typed) else {
        data["error"] = json!(tr(web, "admin-ops-phone-bad", &[]));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, data));
    };
    let store = &web.app.store;
    let Some(user) = store.phone_user(&phone).await? else {
        data["error"] = json!(tr(web, "admin-ops-phone-unknown", &[("phone", &phone.national(cc))]));
        return Ok((StatusCode::NOT_FOUND, data));
    };
    let mut orders = Vec::new();
    for p in store.purchases_of_phone(&phone, 50).await? {
        let Some(e) = store.event(&p.event_id).await? else { continue };
        orders.push(json!({
            "id": p.id, "url": format!("/admin/orders/{}", p.id), "event": e.name,
            "starts": crate::app::MailEvent::new(&e, &crate::web::locale::current()).starts, "quantity": p.quantity,
            "amount": e.price_display(p.amount), "method": method_name(web, &p.payment_method),
            "state": p.state(), "state_name": state_name(web, &p), "reserved": at_venue(&e, Some(p.reserved_at)),
        }));
    }
    let registered = user.mail_address.as_deref().is_some_and(|a| !a.trim().is_empty());
    data["user"] = json!({
        "phone": user.phone.as_str(), "national": user.phone.national(cc), "user_number": user.user_number,
        "delivers_to": crate::mail::address_for(&user, &web.app.carrier_mail_template),
        "registered": registered,
        "changed": user.mail_changed_at.map(|t| on_display_clock(web, t, Style::DateTime)),
        "called": user.last_call_at.map(|t| on_display_clock(web, t, Style::DateTime)),
        "language": web.app.catalogs.message(&user.language, "language-name", None),
    });
    data["address"] = json!(address_typed.map(str::to_string).or(user.mail_address.clone()).unwrap_or_default());
    data["orders"] = json!(orders);
    Ok((StatusCode::OK, data))
}

/// `GET /admin/ops/phones?phone=…`.
pub(super) async fn phones(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Query(form): Query<PhoneForm>,
) -> Response {
    let r: PageResult = async {
        operator_only(&web, &s)?;
        let (status, mut data) = phone_data(&web, &form.phone, None).await?;
        if form.saved.is_some() && data.get("user").is_some() {
            data["notice"] = json!(tr(&web, "admin-ops-mail-saved", &[]));
        }
        data["zone"] = json!(display_zone(&web));
        ops_page(&web, &headers, &s, status, "admin_ops_phones.html", data)
    }
    .await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct MailForm {
    csrf: Option<String>,
    phone: String,
    address: String,
    /// "carrier": back to the carrier's address.
    carrier: Option<String>,
}

/// `POST /admin/ops/phones/mail`: registered (no confirmation: the operator's
/// mapping), back to the phone's page; a bad address is refused with the form kept.
pub(super) async fn set_mail(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Fields(form): Fields<MailForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let Some(phone) = read_phone(&web, &form.phone) else {
            let (_, mut data) = phone_data(&web, &form.phone, Some(&form.address)).await?;
            data["error"] = json!(tr(&web, "admin-ops-phone-bad", &[]));
            return ops_page(&web, &headers, &s, StatusCode::UNPROCESSABLE_ENTITY, "admin_ops_phones.html", data);
        };
        let address = match form.carrier.as_deref() {
            Some(_) => None,
            None => match crate::mail::registration::registrable(&form.address) {
                Ok(a) => Some(a),
                Err(e) => {
                    use crate::mail::registration::AddressError;
                    let id = match e {
                        AddressError::Empty => "admin-ops-address-empty",
                        AddressError::TooLong => "admin-ops-address-too-long",
                        AddressError::Malformed(_) => "admin-ops-address-bad",
                    };
                    let (_, mut data) = phone_data(&web, &form.phone, Some(&form.address)).await?;
                    data["mail_error"] = json!(tr(&web, id, &[]));
                    data["zone"] = json!(display_zone(&web));
                    return ops_page(
                        &web,
                        &headers,
                        &s,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "admin_ops_phones.html",
                        data,
                    );
                }
            },
        };
        if web.app.store.phone_user(&phone).await?.is_none() {
            let (status, data) = phone_data(&web, &form.phone, Some(&form.address)).await?;
            return ops_page(&web, &headers, &s, status, "admin_ops_phones.html", data);
        }
        set_mail_address(&web, &phone, address.as_deref()).await?;
        tracing::info!(%phone, by = %s.account.id, "mail address set from the back office");
        Ok(Redirect::to(&format!("/admin/ops/phones?phone={}&saved=1", encode(phone.as_str()))).into_response())
    }
    .await;
    finish(&web, &headers, r)
}

// ---- convenience-store payments ----

/// A pending konbini payment as the pages show it (the payments list, an order's page).
pub(super) fn konbini_json(p: &crate::domain::Purchase, e: &crate::events::EventView) -> Value {
    let now = crate::store::now();
    json!({
        "order": p.id, "order_url": format!("/admin/orders/{}", p.id), "event": e.name,
        "reference": p.payment_ref, "amount": e.price_display(p.amount), "quantity": p.quantity,
        "phone": p.phone.national(crate::web::shop::phone::country_of(e)),
        "expires": at_venue(e, Some(p.hold_deadline())), "expired": p.hold_deadline() <= now,
        "confirm_url": p.payment_ref.as_deref().map(|r| format!("/admin/ops/payments/{}/confirm", encode(r))),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PaymentsDone {
    confirmed: Option<String>,
}

async fn payments_page(web: &Web, headers: &HeaderMap, s: &Session, status: StatusCode, extra: Value) -> PageResult {
    operator_only(web, s)?;
    let store = &web.app.store;
    let mut pending = Vec::new();
    for p in store.pending_konbini(200).await? {
        if let Some(e) = store.event(&p.event_id).await? {
            pending.push(konbini_json(&p, &e));
        }
    }
    let mut data = json!({"payments": pending});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            data[k] = v;
        }
    }
    ops_page(web, headers, s, status, "admin_ops_payments.html", data)
}

/// `GET /admin/ops/payments`.
pub(super) async fn payments(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Query(done): Query<PaymentsDone>,
) -> Response {
    let notice = done.confirmed.map(|r| tr(&web, "admin-ops-paid", &[("reference", &r)]));
    let r = payments_page(&web, &headers, &s, StatusCode::OK, json!({"notice": notice})).await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ConfirmForm {
    csrf: Option<String>,
    /// Back to this order's page rather than the list.
    order: Option<String>,
}

/// `POST /admin/ops/payments/{reference}/confirm`: settled as if the provider
/// had called back (ticket mail once; a repeat changes nothing).
pub(super) async fn confirm(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Fields(form): Fields<ConfirmForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let actor = format!("account:{}", s.account.id);
        match confirm_paid(&web, &reference, &actor).await {
            Ok(outcome) => {
                tracing::info!(%reference, %outcome, by = %s.account.id, "payment confirmed from the back office");
                let to = match form.order.as_deref().filter(|o| !o.is_empty()) {
                    Some(order) => format!("/admin/orders/{}?done=paid", encode(order)),
                    None => format!("/admin/ops/payments?confirmed={}", encode(&reference)),
                };
                Ok(Redirect::to(&to).into_response())
            }
            Err(crate::settlement::SettlementError::UnknownReference(_)) => {
                let error = tr(&web, "admin-ops-no-payment", &[("reference", &reference)]);
                payments_page(&web, &headers, &s, StatusCode::NOT_FOUND, json!({"error": error})).await
            }
            Err(crate::settlement::SettlementError::UnknownPurchase) => {
                Err(WebError::NotFound(tr(&web, "admin-ops-no-payment", &[("reference", &reference)])))
            }
            Err(crate::settlement::SettlementError::Payment(e)) => Err(crate::app::AppError::from(e).into()),
            Err(crate::settlement::SettlementError::App(e)) => Err(e.into()),
        }
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_shown_without_its_kind() {
        assert_eq!(without_kind("source:192.0.2.7"), "192.0.2.7");
        assert_eq!(without_kind("source:2001:db8:1:2::/64"), "2001:db8:1:2::/64");
        assert_eq!(without_kind("proven-caller:+819012345678"), "+819012345678");
        assert_eq!(without_kind("nonsense"), "nonsense");
    }

    #[test]
    fn a_value_keeps_unreserved_characters() {
        assert_eq!(encode("konbini_0123-4.5~"), "konbini_0123-4.5~");
        assert_eq!(encode("source:127.0.0.1"), "source%3A127.0.0.1");
        assert_eq!(encode("+8190 1/2"), "%2B8190%201%2F2");
    }
}
