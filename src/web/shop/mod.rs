//! The shop: a purchase link's pages and the public web shop (`/buy`): events
//! by genre, an event's order form (or its sold-out state), the review step,
//! the order (one store transaction) and its receipt, the card challenge, and
//! payment providers' callbacks. Each GET shows state; the review shows what a
//! Buy would do and changes nothing; the order POST is one store transaction.

mod events;
mod form;
mod order;
mod payment;
pub(super) mod phone;
mod review;
mod seatmap;
mod waitlist;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

pub(super) use payment::{challenge, payment_callback};
pub(super) use waitlist::{join as join_waitlist, leave as leave_waitlist};

use super::{check_link, finish, Web, WebError};
use crate::links::Purpose;
use crate::phone::PhoneNumber;
use crate::store::Store;
use form::OrderForm;

/// Where a purchase starts: a signed purchase link mailed to a caller (the
/// buyer's phone is known), or the public web shop on a PC (seed 000, third
/// embodiment: the buyer names the phone that will receive the ticket).
struct Shop {
    /// Path prefix of the shop's pages: `/p/{token}` or `/buy`.
    base: String,
    /// The calling phone, for purchase links.
    buyer: Option<PhoneNumber>,
    /// The buyer's open place in the line of the event shown (see [`waitlist::with_place`]).
    place: Option<crate::store::LinePlace>,
}

impl Shop {
    fn from_link(web: &Web, token: &str) -> Result<Shop, WebError> {
        let claims = check_link(web, token, Purpose::Purchase)?;
        Ok(Shop { base: format!("/p/{token}"), buyer: Some(claims.sub), place: None })
    }

    fn web() -> Shop {
        Shop { base: "/buy".into(), buyer: None, place: None }
    }
}

pub(super) async fn purchase_events(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async { events::list(&web, &headers, Shop::from_link(&web, &token)?).await }.await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_events(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = events::list(&web, &headers, Shop::web()).await;
    finish(&web, &headers, r)
}

pub(super) async fn purchase_event(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r = async { events::page(&web, &headers, Shop::from_link(&web, &token)?, &event_id).await }.await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_event(
    State(web): State<Web>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r = events::page(&web, &headers, Shop::web(), &event_id).await;
    finish(&web, &headers, r)
}

pub(super) async fn purchase_review(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = OrderForm::parse(&body);
    let r = async { review::review(&web, &headers, &Shop::from_link(&web, &token)?, &event_id, &form).await }.await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_review(
    State(web): State<Web>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = OrderForm::parse(&body);
    let r = review::review(&web, &headers, &Shop::web(), &event_id, &form).await;
    finish(&web, &headers, r)
}

pub(super) async fn purchase_order(
    State(web): State<Web>,
    Path((token, event_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = OrderForm::parse(&body);
    let r = async {
        let shop = Shop::from_link(&web, &token)?;
        // Retried when a concurrent request won a race (e.g. the same form posted twice at once).
        Store::retry(|| order::order(&web, &headers, &shop, &event_id, &form)).await
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn web_shop_order(
    State(web): State<Web>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = OrderForm::parse(&body);
    let shop = Shop::web();
    let r = Store::retry(|| order::order(&web, &headers, &shop, &event_id, &form)).await;
    finish(&web, &headers, r)
}

/// The number a carrier-billing payer calls to consent, if the dialplan has one.
/// The event `event_id` names, or the shop's "no such event" page.
async fn shop_event(web: &Web, event_id: &str) -> Result<crate::events::EventView, WebError> {
    web.app
        .store
        .event(event_id)
        .await?
        // An event unpublished in the back office is not there for buyers.
        .filter(|e| e.published)
        .ok_or_else(|| WebError::NotFound(super::tr(web, "shop-error-no-event", &[("id", event_id)])))
}

fn confirm_number(web: &Web, event_id: &str, pid: &str) -> String {
    web.app.consent_number(event_id, pid).map(|n| n.to_string()).unwrap_or_default()
}
