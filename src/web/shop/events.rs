//! The event list (by genre) and an event's page: what is left of each seat
//! type, the order form (quantity capped to what is left), or, sold out, no
//! form and the event's other dates.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::super::{event_json, respond, tr, PageResult, Web};
use super::form::{cap, OrderForm, MAX_PER_ORDER};
use super::{phone, Shop};
use crate::events::EventView;
use crate::store::now;

pub(super) async fn list(web: &Web, headers: &HeaderMap, shop: Shop) -> PageResult {
    let at = now();
    let mut genres: Vec<(String, Vec<Value>)> = vec![];
    for e in web.app.store.events().await?.iter().filter(|e| e.sale_end > at && e.published) {
        let mut v = event_json(e, at);
        v["paused"] = json!(e.sales_paused);
        v["url"] = json!(format!("{}/events/{}", shop.base, e.id));
        v["sold_out"] = json!(sold_out(e));
        v["seats_left"] = json!(seats_left(web, e));
        match genres.iter_mut().find(|(g, _)| *g == e.genre) {
            Some((_, list)) => list.push(v),
            None => genres.push((e.genre.clone(), vec![v])),
        }
    }
    let events: Vec<&Value> = genres.iter().flat_map(|(_, l)| l).collect();
    let by_genre: Vec<Value> = genres.iter().map(|(g, l)| json!({"genre": g, "events": l})).collect();
    Ok(respond(
        web,
        headers,
        StatusCode::OK,
        "events.html",
        &json!({"purpose": "purchase", "phone": shop.buyer, "events": events, "genres": by_genre,
                "mail_url": shop.buyer.as_ref().map(|_| format!("{}/mail", shop.base)),
                "profile_url": shop.buyer.as_ref().map(|_| format!("{}/profile", shop.base))}),
    ))
}

/// No seat of any type is left.
pub(super) fn sold_out(e: &EventView) -> bool {
    e.seat_types.iter().all(|s| s.available <= 0)
}

/// "S seat ¥9,800 (3 left)" for each type, in the page's language.
fn seats_left(web: &Web, e: &EventView) -> Vec<String> {
    e.seat_types
        .iter()
        .map(|s| {
            let left = tr(web, "shop-seats-left", &[("count", &s.available.to_string())]);
            format!("{} {} ({left})", s.name, e.price_display(s.price))
        })
        .collect()
}

pub(super) async fn page(web: &Web, headers: &HeaderMap, shop: Shop, event_id: &str) -> PageResult {
    let event = super::shop_event(web, event_id).await?;
    let (event, shop) = super::waitlist::with_place(web, &shop, event).await?;
    Ok(form_page(web, headers, &shop, &event, None, None).await)
}

/// The event's page with its order form: empty, or (`form`) filled as it was
/// posted, with `refusal` (a field and its message) next to that field.
pub(super) async fn form_page(
    web: &Web,
    headers: &HeaderMap,
    shop: &Shop,
    event: &EventView,
    form: Option<&OrderForm>,
    refusal: Option<(&str, String)>,
) -> Response {
    let at = now();
    let on_sale = event.on_sale(at);
    let sold_out = sold_out(event);
    let cc = phone::country_of(event);
    let methods: Vec<_> = web
        .app
        .payments
        .all()
        .map(|p| {
            let available = p.method() != "carrier" || web.app.takes_billing_consent(&event.id);
            json!({"code": p.method(), "name": tr(web, &format!("shop-method-{}", p.method()), &[]),
                   "available": available, "input": p.input()})
        })
        .collect();
    // Seats held for the buyer's offer are bought as they are, not picked on the map.
    let offered = shop.place.as_ref().filter(|p| super::waitlist::offer_open(p)).map(|p| p.seat_type.as_str());
    let seat_types: Vec<Value> = event
        .seat_types
        .iter()
        .map(|s| {
            let left = match offered == Some(s.code.as_str()) {
                true => tr(web, "shop-wait-held", &[("count", &s.available.to_string())]),
                false => tr(web, "shop-seats-left", &[("count", &s.available.to_string())]),
            };
            json!({"code": s.code, "name": s.name, "price_display": event.price_display(s.price), "available": s.available,
                   "left": left})
        })
        .collect();
    let max = event.seat_types.iter().map(cap).max().unwrap_or(0).max(1);
    let others = other_dates(web, shop, event, at).await;
    let seats = match offered.is_some() {
        true => vec![],
        false => web.app.store.numbered_seat_map(&event.id).await.unwrap_or_default(),
    };
    let seat_map = super::seatmap::build(web, event, &seats, form.map(|f| f.seats.as_slice()).unwrap_or_default());
    let held = offered.and_then(|code| event.seat_types.iter().find(|s| s.code == code)).map(|s| s.available);
    let values = form.cloned().unwrap_or_else(|| OrderForm {
        // An offer: all the seats held, unless the buyer wants fewer.
        quantity: held.map(|n| n.to_string()).unwrap_or_default(),
        payment_method: String::new(),
        seat_type: offered
            .map(str::to_string)
            .or_else(|| event.seat_types.iter().find(|s| s.available > 0).map(|s| s.code.clone()))
            .unwrap_or_default(),
        billing_phone: shop.buyer.as_ref().map(|b| b.national(cc)).unwrap_or_default(),
        ..OrderForm::default()
    });
    let token = match form {
        Some(f) if f.form_token.len() >= 16 && f.form_token.len() <= 64 => f.form_token.clone(),
        // Idempotency key: submitting the same form twice buys once.
        _ => uuid::Uuid::new_v4().simple().to_string(),
    };
    let (field, message) = refusal.map(|(f, m)| (Some(f.to_string()), Some(m))).unwrap_or((None, None));
    let status = if message.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut event_v = event_json(event, at);
    event_v["seat_types"] = json!(seat_types);
    event_v["paused"] = json!(event.sales_paused);
    let body = json!({
        "phone": shop.buyer,
        "phone_display": shop.buyer.as_ref().map(|b| b.national(cc)),
        "event": event_v,
        "back": shop.base,
        "sold_out": sold_out,
        "on_sale": on_sale,
        "other_dates": others,
        "error": message,
        "error_field": field,
        "values": values,
        "seat_map": seat_map,
        "seat_map_open": form.is_some_and(|f| !f.seats.is_empty()) || field.as_deref() == Some("seat"),
        "waitlist": super::waitlist::card(web, shop, event, on_sale),
        "form": (on_sale && !sold_out).then(|| json!({
            // Machines post straight to `action`; people go through `review_action` first.
            "action": format!("{}/events/{}", shop.base, event.id), "method": "POST",
            "review_action": format!("{}/events/{}/review", shop.base, event.id),
            "form_token": token,
            "fields": ["form_token", "seat_type", "quantity", "payment_method", "card_number", "prepaid_code",
                       "recipient", "billing_phone", "seat", "mail", "reviewed", "confirm_phone"],
            // On the web shop the receiving phone is required; from a purchase
            // link it is optional (empty = this phone; another number = a gift).
            "recipient_required": shop.buyer.is_none(),
            "phone_example": phone::example(cc),
            "max_quantity": max,
            "quantities": (1..=max.min(MAX_PER_ORDER)).collect::<Vec<_>>(),
            "payment_methods": methods,
            // Carrier billing is consented to by a call from the line that pays.
            "takes_billing_consent": web.app.takes_billing_consent(&event.id),
        })),
    });
    respond(web, headers, status, "event.html", &body)
}

/// The event's other dates on sale (the same name), else other events of its genre.
async fn other_dates(web: &Web, shop: &Shop, event: &EventView, at: i64) -> Value {
    let Ok(all) = web.app.store.events().await else { return json!({"same": true, "events": []}) };
    let open = |e: &&EventView| e.id != event.id && e.published && e.on_sale(at) && !sold_out(e);
    let same: Vec<&EventView> = all.iter().filter(open).filter(|e| e.name == event.name).collect();
    let (same_name, list) = match same.is_empty() {
        false => (true, same),
        true => (false, all.iter().filter(open).filter(|e| e.genre == event.genre).collect()),
    };
    let list: Vec<Value> = list
        .iter()
        .map(|e| {
            json!({"id": e.id, "name": e.name, "starts": e.starts(&super::super::locale::current()),
                   "venue": e.venue, "url": format!("{}/events/{}", shop.base, e.id)})
        })
        .collect();
    json!({"same": same_name, "genre": event.genre, "events": list})
}
