//! The waiting list on an event's page (see [`crate::waitlist`]): joining the
//! line of a sold-out seat type, leaving it, the buyer's place and number, and
//! an offer — the seats held for this phone, bought through the same order
//! form, or let go to the next in line.
//!
//! Only a purchase link knows the buyer's phone, so only it joins; the web
//! shop says how to get one (call the purchase number).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::super::{at_venue, finish, locale, tr, PageResult, Web, WebError};
use super::Shop;
use crate::dialplan::Action;
use crate::events::EventView;
use crate::store::{now, Joined, LinePlace, Store};
use crate::waitlist::{max_quantity, quantity, PlaceState};

/// The buyer's open place in `event`'s line (purchase links only), and the
/// event as this buyer may order it: with an offer open, the offered seat type
/// has the held seats left (no one else can take them; the seat map is not
/// used for them).
pub(super) async fn with_place(web: &Web, shop: &Shop, event: EventView) -> Result<(EventView, Shop), WebError> {
    let mut shop = Shop { base: shop.base.clone(), buyer: shop.buyer.clone(), place: None };
    let Some(buyer) = &shop.buyer else { return Ok((event, shop)) };
    let place = web.app.store.line_place(&event.id, buyer).await?;
    let mut event = event;
    if let Some(p) = place.as_ref().filter(|p| offer_open(p)) {
        for t in event.seat_types.iter_mut().filter(|t| t.code == p.seat_type) {
            t.available = p.seats.len() as i64;
        }
    }
    shop.place = place;
    Ok((event, shop))
}

/// An offer whose seats can still be bought.
pub(super) fn offer_open(p: &LinePlace) -> bool {
    p.state == PlaceState::Offered && p.offer_until.is_some_and(|t| t > now())
}

/// What the event's page shows about the line: the buyer's offer or place, or
/// the form to join (seat types sold out, on sale), or how to get a link that can.
pub(super) fn card(web: &Web, shop: &Shop, event: &EventView, on_sale: bool) -> Value {
    let type_name = |code: &str| {
        event
            .seat_types
            .iter()
            .find(|t| t.code == code)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| tr(web, "shop-wait-any-type", &[]))
    };
    let action = format!("{}/events/{}/waitlist", shop.base, event.id);
    if let Some(p) = &shop.place {
        let until = at_venue(event, p.offer_until);
        return json!({
            // An offer run out shows nothing until the sweep hands its seats on.
            "state": match (p.state, offer_open(p)) {
                (PlaceState::Offered, false) => "ended",
                (state, _) => state.as_str(),
            },
            "seat_type": p.seat_type, "seat_type_name": type_name(&p.seat_type),
            // Offered: what is held (a place a call took may get fewer than its most).
            "quantity": if offer_open(p) { p.seats.len() as i64 } else { p.quantity },
            "number": p.number, "seats": p.seats.join(", "), "until": until,
            "leave_action": format!("{action}/leave"), "minutes": event.offer_minutes,
        });
    }
    let sold_out: Vec<Value> = event
        .seat_types
        .iter()
        .filter(|t| t.available <= 0)
        .map(|t| json!({"code": t.code, "name": t.name, "price_display": event.price_display(t.price)}))
        .collect();
    if !on_sale || event.sales_paused || sold_out.is_empty() {
        return Value::Null;
    }
    if shop.buyer.is_none() {
        let number = web.app.number_for(Action::Purchase, Some(&event.id));
        return json!({"state": "call", "number": number});
    }
    let max = max_quantity(event.phone_limit, 0);
    json!({
        "state": "join", "action": action, "seat_types": sold_out,
        "quantities": (1..=max).collect::<Vec<_>>(), "minutes": event.offer_minutes,
    })
}

/// POST `/p/{token}/events/{event}/waitlist`: join the line (`seat_type`, `quantity`).
pub(in super::super) async fn join(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let r = async {
        let shop = Shop::from_link(&web, &token)?;
        let buyer = shop.buyer.clone().ok_or_else(|| WebError::Forbidden("no phone".into()))?;
        let event = super::shop_event(&web, &event_id).await?;
        if !event.on_sale(now()) || event.sales_paused {
            return Err(WebError::Conflict(tr(&web, "shop-error-not-on-sale", &[("event", &event.name)])));
        }
        let (mut seat_type, mut raw_quantity) = (String::new(), String::new());
        for (k, v) in url::form_urlencoded::parse(&body) {
            match k.as_ref() {
                "seat_type" => seat_type = v.into_owned(),
                "quantity" => raw_quantity = v.into_owned(),
                _ => {}
            }
        }
        if !event.seat_types.iter().any(|t| t.code == seat_type) {
            return Err(WebError::Invalid(tr(&web, "shop-error-seat-type", &[])));
        }
        let lang = locale::current();
        let joined = Store::retry(|| async {
            let at = now();
            let mut tx = web.app.store.begin().await?;
            let has = tx.phone_tickets(&event.id, buyer.as_str()).await?;
            let max = max_quantity(event.phone_limit, has);
            let Some(q) = quantity(&raw_quantity, max) else {
                return Ok(Err(max));
            };
            let user = tx.touch_phone_user(&buyer, &lang, at).await?;
            let joined = tx.join_line(&event.id, &seat_type, &user, q, "page", at).await?;
            tx.commit().await?;
            Ok::<_, WebError>(Ok(joined))
        })
        .await?;
        match joined {
            Err(0) => {
                Err(WebError::Conflict(tr(&web, "shop-wait-error-limit", &[("limit", &event.phone_limit.to_string())])))
            }
            Err(max) => Err(WebError::Invalid(tr(&web, "shop-error-quantity", &[("max", &max.to_string())]))),
            Ok(Joined::SeatsFree(n)) => {
                Err(WebError::Conflict(tr(&web, "shop-wait-error-seats-free", &[("count", &n.to_string())])))
            }
            Ok(Joined::Joined(_) | Joined::Already(_)) => Ok(back_to_event(&shop, &event.id)),
        }
    }
    .await;
    finish(&web, &headers, r)
}

/// POST `/p/{token}/events/{event}/waitlist/leave`: leave the line, or let an
/// offer's seats go to the next in line.
pub(in super::super) async fn leave(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let shop = Shop::from_link(&web, &token)?;
        let buyer = shop.buyer.clone().ok_or_else(|| WebError::Forbidden("no phone".into()))?;
        let event = super::shop_event(&web, &event_id).await?;
        if let Some(place) = web.app.store.line_place(&event.id, &buyer).await? {
            Store::retry(|| async {
                let mut tx = web.app.store.begin().await?;
                tx.close_place(&place.id, place.state.ended_by_buyer(), "web:waitlist", now()).await?;
                tx.commit().await?;
                Ok::<_, WebError>(())
            })
            .await?;
        }
        Ok(back_to_event(&shop, &event.id))
    }
    .await;
    finish(&web, &headers, r)
}

/// Post/redirect/get: the event's page shows the place as it now is.
fn back_to_event(shop: &Shop, event_id: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/events/{event_id}", shop.base))]).into_response()
}
