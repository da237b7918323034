//! The review step: what the order will be — event, seats, quantity, unit
//! price, fees, total, the cancellation policy and its deadline on the venue's
//! clock, the phone that will receive the ticket (to be confirmed) — with Buy
//! and Change. Showing it reserves nothing and charges nothing; only the Buy
//! post does (with the form's idempotency token).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::super::{at_venue, event_json, respond, tr, PageResult, Web};
use super::events::{form_page, sold_out};
use super::form::{check, Checked, OrderForm, Refusal};
use super::{phone, Shop};
use crate::events::EventView;
use crate::store::now;

pub(super) async fn review(
    web: &Web,
    headers: &HeaderMap,
    shop: &Shop,
    event_id: &str,
    form: &OrderForm,
) -> PageResult {
    let event = super::shop_event(web, event_id).await?;
    let (event, shop) = super::waitlist::with_place(web, shop, event).await?;
    let shop = &shop;
    if form.change || !event.on_sale(now()) || sold_out(&event) {
        return Ok(form_page(web, headers, shop, &event, Some(form), None).await);
    }
    match check(web, &event, shop.buyer.as_ref(), form) {
        Ok(c) => {
            // Seats ticked on the map: still free? (The order checks again, in its transaction.)
            let map = if c.seats.is_empty() { vec![] } else { web.app.store.numbered_seat_map(&event.id).await? };
            if let Some(taken) = super::seatmap::first_taken(&map, &form.seats) {
                let seat = taken.split_once(':').map_or(taken, |(_, s)| s);
                let message = tr(web, "shop-error-seat-gone", &[("seat", seat)]);
                return Ok(form_page(web, headers, shop, &event, Some(form), Some(("seat", message))).await);
            }
            Ok(page(web, headers, shop, &event, form, &c, None))
        }
        Err(Refusal::Field(field, message)) => {
            Ok(form_page(web, headers, shop, &event, Some(form), Some((field, message))).await)
        }
        Err(Refusal::Page(e)) => Err(e),
    }
}

/// When the order can no longer be cancelled (`cancellable_days` before the start).
pub(super) fn cancel_deadline(event: &EventView) -> i64 {
    let starts =
        chrono::DateTime::parse_from_rfc3339(&event.starts_at).map(|d| d.timestamp()).unwrap_or(event.sale_end);
    starts - event.cancellable_days * 86400
}

/// The review page for a checked `form` (`refusal`: the confirmation or mail field's
/// problem after Buy, shown next to it).
pub(super) fn page(
    web: &Web,
    headers: &HeaderMap,
    shop: &Shop,
    event: &EventView,
    form: &OrderForm,
    c: &Checked,
    refusal: Option<(&str, String)>,
) -> Response {
    let at = now();
    let cc = phone::country_of(event);
    let deadline = cancel_deadline(event);
    let deadline_display = at_venue(event, Some(deadline));
    let policy = match deadline > at {
        true => tr(
            web,
            "shop-review-cancellable",
            &[("deadline", &deadline_display), ("days", &event.cancellable_days.to_string())],
        ),
        false => tr(web, "shop-review-not-cancellable", &[("deadline", &deadline_display)]),
    };
    let total = c.seat_type.price * i64::from(c.quantity);
    let method = tr(web, &format!("shop-method-{}", form.payment_method), &[]);
    let digits: String = form.card_number.chars().filter(char::is_ascii_digit).collect();
    let method_detail = match form.payment_method.as_str() {
        "card" if digits.len() >= 4 => {
            Some(tr(web, "shop-review-card-ending", &[("last4", &digits[digits.len() - 4..])]))
        }
        _ => None,
    };
    let (field, message) = refusal.map(|(f, m)| (Some(f.to_string()), Some(m))).unwrap_or((None, None));
    let status = if message.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let body = json!({
        "step": "review",
        "event": event_json(event, at),
        "back": format!("{}/events/{}", shop.base, event.id),
        "seat_type": {"code": c.seat_type.code, "name": c.seat_type.name},
        "seats": c.seats,
        "quantity": c.quantity,
        "unit_price": event.price_display(c.seat_type.price),
        "fees": 0,
        "total_amount": total,
        "total": event.price_display(total),
        "payment_method": form.payment_method,
        "payment_name": method,
        "payment_detail": method_detail,
        "cancellable_until": deadline,
        "cancellable_until_display": deadline_display,
        "cancellation_policy": policy,
        "holder": c.holder,
        "holder_display": c.holder.national(cc),
        "billing_display": c.billing_line.as_ref().map(|l| l.national(cc)),
        "error": message,
        "error_field": field,
        "values": form,
        "form": {
            "action": format!("{}/events/{}", shop.base, event.id),
            "change_action": format!("{}/events/{}/review", shop.base, event.id),
            "ask_mail": shop.buyer.is_none(),
        },
    });
    respond(web, headers, status, "review.html", &body)
}
