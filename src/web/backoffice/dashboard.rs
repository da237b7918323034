//! The back office's start page: the signed-in account's events (an organizer:
//! its own; an operator: all, grouped by organizer), each with its start on the
//! venue's clock, the number that sells it, and sold / held / free per seat type
//! with the revenue ([`crate::web::admin::Sales`], as `GET /admin/events/{id}/sales`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{page, Session, SignedIn};
use crate::dialplan::Action;
use crate::events::EventView;
use crate::web::admin::Sales;
use crate::web::{at_venue, finish, locale, tr, PageResult, Web, WebError};

/// One event's card: when, where, which number sells it, its seats and revenue.
pub(super) async fn card(web: &Web, e: &EventView) -> Result<Value, WebError> {
    let sales = Sales::of(&web.app.store, &e.id).await?;
    let lang = locale::current();
    // In the catalog's order (dearest first), as the shop lists them.
    let mut order: Vec<(&str, &str)> = e.seat_types.iter().map(|s| (s.code.as_str(), s.name.as_str())).collect();
    order.extend(
        sales.by_type.keys().filter(|c| !e.seat_types.iter().any(|s| &s.code == *c)).map(|c| (c.as_str(), c.as_str())),
    );
    let mut totals = (0, 0, 0);
    let seat_types: Vec<Value> = order
        .iter()
        .filter_map(|(code, name)| sales.by_type.get(*code).map(|n| (code, name, n)))
        .map(|(code, name, n)| {
            let (sold, held, free) = (n["sold"], n["held"], n["free"]);
            totals = (totals.0 + sold, totals.1 + held, totals.2 + free);
            json!({"code": code, "name": name, "sold": sold, "held": held, "free": free})
        })
        .collect();
    let starts = at_venue(e, chrono::DateTime::parse_from_rfc3339(&e.starts_at).ok().map(|d| d.timestamp()));
    Ok(json!({
        "id": e.id, "name": e.name, "venue": e.venue, "organizer": e.organizer,
        "starts": starts,
        "number": web.app.number_in(Action::Purchase, Some(&e.id), Some(&lang)),
        "on_sale": e.on_sale(crate::store::now()),
        "paused": e.sales_paused, "published": e.published,
        "seat_types": seat_types,
        "total": {"sold": totals.0, "held": totals.1, "free": totals.2},
        "revenue": sales.revenue, "revenue_display": e.price_display(sales.revenue),
        "url": format!("/admin/events/{}", e.id),
    }))
}

/// `GET /admin/`: the account's events, grouped by organizer.
pub(super) async fn home(State(web): State<Web>, SignedIn(s): SignedIn, headers: HeaderMap) -> Response {
    let r: PageResult = async {
        let store = &web.app.store;
        let (events, organizers) = tokio::try_join!(store.events(), store.organizers())?;
        let mut groups = Vec::new();
        for (org_id, org_name) in organizers.iter().filter(|(id, _)| s.account.role.sees_organizer(id)) {
            let mut cards = Vec::new();
            for e in events.iter().filter(|e| &e.organizer == org_id) {
                cards.push(card(&web, e).await?);
            }
            groups.push(json!({"id": org_id, "name": org_name, "events": cards}));
        }
        Ok(page(&web, &headers, StatusCode::OK, "admin_home.html", &s, json!({"organizers": groups})))
    }
    .await;
    finish(&web, &headers, r)
}

/// The event `id` if the session's account may see it: 404 if there is none,
/// 403 if it is another organizer's.
pub(super) async fn event_for(web: &Web, s: &Session, id: &str) -> Result<EventView, WebError> {
    let event =
        web.app.store.event(id).await?.ok_or_else(|| WebError::NotFound(tr(web, "admin-no-event", &[("id", id)])))?;
    if !s.account.role.sees_organizer(&event.organizer) {
        tracing::info!(account = %s.account.id, event = %id, "back office: another organizer's event refused");
        return Err(WebError::Forbidden(tr(web, "admin-not-yours", &[])));
    }
    Ok(event)
}

/// `GET /admin/events/{id}`: one event's card.
pub(super) async fn event(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let card = card(&web, &e).await?;
        let controls = super::events::controls(&web, &e).await?;
        let waiting: i64 = web.app.store.line_lengths(&e.id).await?.iter().map(|(_, n)| n).sum();
        let data = json!({"event": card, "controls": controls, "waiting": waiting});
        Ok(page(&web, &headers, StatusCode::OK, "admin_event.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}
