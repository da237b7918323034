//! An event's orders in the back office: `GET /admin/events/{id}/orders` (a
//! search by the holder's phone however it is written, the holder's name, the
//! purchase id or payment reference, a seat code or a seat code's short
//! reference; paged) and `GET /admin/orders/{id}`, one order: its seats with
//! their current codes, payment, state, holder, channel and journal (the
//! purchase's and its seats', times on the venue's clock). The actions on an
//! order are in `order_actions.rs`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::dashboard::event_for;
use super::{page, Session, SignedIn};
use crate::domain::Purchase;
use crate::door::code::Reference;
use crate::events::EventView;
use crate::phone::{NumberingPlan, PhoneNumber};
use crate::store::{JournalEntry, OrderQuery};
use crate::web::{at_venue, finish, tr, PageResult, Web, WebError};

/// Orders on one page of the search.
pub(super) const PER_PAGE: i64 = 20;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SearchForm {
    q: String,
    page: Option<i64>,
}

/// What `typed` may mean for an order of `event`: itself (an id, a seat code, a
/// name), a phone number in the event's country (or the dialplan's plan), a
/// seat code's short reference.
pub(super) fn read_query(typed: &str, plan: &NumberingPlan) -> OrderQuery {
    let text: String = typed.trim().chars().take(100).collect();
    let digits = text.chars().filter(char::is_ascii_digit).count();
    // A phone number has digits; "A-12" (a seat code) has too few to be one.
    let phone = (digits >= 6).then(|| PhoneNumber::normalize_in(&text, plan).ok()).flatten();
    let reference = Reference::parse(&text).map(|r| r.as_str().to_string());
    OrderQuery { text, phone, reference }
}

/// The numbering plan a phone typed for `event` is read in.
fn plan_for(web: &Web, event: &EventView) -> NumberingPlan {
    match crate::web::shop::phone::country_of(event) {
        Some(cc) => NumberingPlan::for_country(cc),
        None => web.app.dialplan.borrow().numbering_plan.clone(),
    }
}

/// A purchase state's word in the page's language.
pub(super) fn state_name(web: &Web, p: &Purchase) -> String {
    let state = serde_json::to_value(p.state()).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    tr(web, &format!("admin-order-state-{state}"), &[])
}

/// A payment method's name in the page's language (the shop's words).
pub(super) fn method_name(web: &Web, method: &str) -> String {
    match method {
        "card" | "konbini" | "carrier" | "prepaid" => tr(web, &format!("shop-method-{method}"), &[]),
        other => other.to_string(),
    }
}

/// A channel's name in the page's language (`None`: made before channels were recorded).
pub(super) fn channel_name(web: &Web, channel: Option<&str>) -> String {
    match channel {
        Some(c @ (crate::store::CHANNEL_PHONE_LINK | crate::store::CHANNEL_WEB)) => {
            tr(web, &format!("admin-channel-{c}"), &[])
        }
        _ => tr(web, "admin-channel-unknown", &[]),
    }
}

/// An order's line in the list (and its page's head).
async fn summary(web: &Web, p: &Purchase, e: &EventView) -> Result<Value, WebError> {
    let store = &web.app.store;
    let name = store.holder_profile(&p.phone).await?.and_then(|pr| pr.name);
    let channel = store.purchase_channel(&p.id).await?;
    let seat_type = e.seat_types.iter().find(|s| s.code == p.seat_type).map(|s| s.name.clone());
    Ok(json!({
        "id": p.id, "url": format!("/admin/orders/{}", p.id),
        "phone": p.phone.as_str(), "phone_national": p.phone.national(Some("81")),
        "name": name, "seat_type": seat_type.unwrap_or_else(|| p.seat_type.clone()),
        "seats": p.seats, "quantity": p.quantity, "amount": e.price_display(p.amount),
        "method": method_name(web, &p.payment_method), "payment_status": p.payment_status.as_str(),
        "payment_ref": p.payment_ref, "state": p.state(), "state_name": state_name(web, p),
        "channel": channel, "channel_name": channel_name(web, channel.as_deref()),
        "created": at_venue(e, Some(p.reserved_at)),
    }))
}

/// `GET /admin/events/{id}/orders?q=…&page=…`.
pub(super) async fn list(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(form): Query<SearchForm>,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let q = read_query(&form.q, &plan_for(&web, &e));
        let page_no = form.page.unwrap_or(1).clamp(1, 10_000);
        let found = web.app.store.search_orders(&e.id, &q, PER_PAGE, (page_no - 1) * PER_PAGE).await?;
        let mut orders = Vec::new();
        for pid in &found.ids {
            if let Some(p) = web.app.store.purchase(pid).await? {
                orders.push(summary(&web, &p, &e).await?);
            }
        }
        let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
        let link = |n: i64| {
            format!(
                "/admin/events/{}/orders?q={}&page={n}",
                e.id,
                percent_encoding::utf8_percent_encode(&q.text, percent_encoding::NON_ALPHANUMERIC)
            )
        };
        let data = json!({
            "event": {"id": e.id, "name": e.name, "url": format!("/admin/events/{}", e.id)},
            "q": q.text, "orders": orders, "total": found.total,
            "page": page_no, "pages": pages,
            "prev": (page_no > 1).then(|| link(page_no - 1)),
            "next": (page_no < pages).then(|| link(page_no + 1)),
            "csv": format!("/admin/events/{}/orders.csv", e.id),
        });
        Ok(page(&web, &headers, StatusCode::OK, "admin_orders.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// The order `pid` and its event, if the session's account may see it (404, 403 otherwise).
pub(super) async fn order_for(web: &Web, s: &Session, pid: &str) -> Result<(Purchase, EventView), WebError> {
    let p = web
        .app
        .store
        .purchase(pid)
        .await?
        .ok_or_else(|| WebError::NotFound(tr(web, "admin-no-order", &[("id", pid)])))?;
    let e = event_for(web, s, &p.event_id).await?;
    Ok((p, e))
}

/// A journal row as the order's page shows it: what happened and who did it in
/// the page's language (an action without words of its own shows its code).
fn journal_line(web: &Web, e: &EventView, names: &HashMap<String, String>, j: &JournalEntry) -> Value {
    let lang = crate::web::locale::current();
    let id = format!("admin-journal-{}", j.action);
    let what = if web.app.catalogs.has_message(&lang, &id) { tr(web, &id, &[]) } else { j.action.clone() };
    let seat = (j.entity == "seat").then(|| j.entity_id.rsplit('/').next().unwrap_or_default().to_string());
    json!({"at": at_venue(e, Some(j.at)), "action": j.action, "what": what, "seat": seat,
           "to": j.to_state, "who": actor_name(web, names, &j.actor)})
}

/// Who an actor of the journal is, in the page's language.
fn actor_name(web: &Web, names: &HashMap<String, String>, actor: &str) -> String {
    let (kind, rest) = actor.split_once(':').unwrap_or((actor, ""));
    match kind {
        "account" => {
            let name = names.get(rest).map(String::as_str).unwrap_or(rest);
            tr(web, "admin-actor-account", &[("name", name)])
        }
        "call" | "sip" | "caller" => tr(web, "admin-actor-call", &[]),
        "web" => tr(web, "admin-actor-web", &[]),
        "staff" => tr(web, "admin-actor-staff", &[]),
        "payment" | "payment-callback" => tr(web, "admin-actor-payment", &[]),
        _ => tr(web, "admin-actor-system", &[]),
    }
}

/// The order's page data: its summary, seats, holder and journal.
pub(super) async fn order_data(web: &Web, p: &Purchase, e: &EventView) -> Result<Value, WebError> {
    let store = &web.app.store;
    let mut journal = store.journal_for(&p.id).await?;
    let seats = store.order_seats(&p.id).await?;
    for seat in &seats {
        // A seat sold again after a cancellation: only what happened to it since this order.
        let rows = store.journal_for(&format!("{}/{}", e.id, seat.seat_code)).await?;
        journal.extend(rows.into_iter().filter(|j| j.at >= p.reserved_at));
    }
    journal.sort_by_key(|j| j.seq);
    let names: HashMap<String, String> = store.accounts().await?.into_iter().map(|a| (a.id, a.name)).collect();
    let shown: Vec<Value> = seats
        .iter()
        .map(|s| {
            json!({
                "seat": s.seat_code, "epoch": s.epoch,
                "reference": s.reference.as_deref().and_then(Reference::parse).map(|r| r.display()),
                "admitted": at_venue(e, s.admitted_at),
            })
        })
        .collect();
    let refund = crate::web::cancel::refunded(web, p, e).await?;
    // A cancelled order's seats went back on sale: show those it held.
    let shown = match &refund {
        Some(r) if shown.is_empty() => {
            let held = r["seats"].as_array().cloned().unwrap_or_default();
            held.iter().map(|seat| json!({"seat": seat, "reference": null, "admitted": ""})).collect()
        }
        _ => shown,
    };
    Ok(json!({
        "event": {"id": e.id, "name": e.name, "url": format!("/admin/events/{}", e.id),
                  "orders": format!("/admin/events/{}/orders", e.id)},
        "order": summary(web, p, e).await?,
        "seats": shown,
        "refund": refund,
        "issued": p.issued, "issued_at": at_venue(e, p.issued_at),
        "cancellable": p.payment_status == crate::domain::PaymentStatus::Paid
            && p.admission != crate::domain::AdmissionState::Admitted,
        "journal": journal.iter().map(|j| journal_line(web, e, &names, j)).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Done {
    done: Option<String>,
}

/// `GET /admin/orders/{id}`.
pub(super) async fn show(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(pid): Path<String>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let r: PageResult = async {
        let (p, e) = order_for(&web, &s, &pid).await?;
        let mut data = order_data(&web, &p, &e).await?;
        if done.done.as_deref() == Some("paid") {
            data["done"] = json!(tr(&web, "admin-ops-paid-order", &[]));
        }
        // A convenience-store payment waiting: its reference, amount and expiry (operators confirm it).
        if p.payment_method == "konbini" && p.payment_status == crate::domain::PaymentStatus::Pending {
            data["konbini"] = super::ops_people::konbini_json(&p, &e);
        }
        if let Some(action) = done.done.as_deref().filter(|a| super::order_actions::ACTIONS.contains(a)) {
            data["done"] = json!(tr(&web, &format!("admin-order-done-{action}"), &[]));
        }
        Ok(page(&web, &headers, StatusCode::OK, "admin_order.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_read_however_it_is_written_and_a_seat_code_is_no_phone() {
        let plan = NumberingPlan::for_country("81");
        for typed in ["090-1234-5678", "+81 90 1234 5678", "+819012345678", " 09012345678 "] {
            let q = read_query(typed, &plan);
            assert_eq!(q.phone.map(|p| p.as_str().to_string()).as_deref(), Some("+819012345678"), "{typed}");
        }
        let q = read_query("A-12", &plan);
        assert_eq!((q.phone, q.text.as_str()), (None, "A-12"));
        let q = read_query("k7qf2-m9xta", &plan);
        assert_eq!(q.reference.as_deref(), Some("K7QF2M9XTA"));
        assert_eq!(read_query("山田", &plan).reference, None);
    }
}
