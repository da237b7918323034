//! An event's waiting list in the back office (docs/backoffice.md, "The
//! waiting list"): `GET /admin/events/{id}/waitlist` shows the line — how many
//! wait, are offered seats now, took their offer or ended otherwise — and its
//! places in line order: the buyer's number in line, phone, seat type, seats
//! asked, how the place was taken, state, the seats held for it with the
//! offer's deadline, and when it joined, times on the venue's clock. Ended
//! places follow the open ones, newest first.
//!
//! `POST /admin/events/{id}/waitlist/{place}/remove` takes a place out of the
//! line (a number abusing it): closed as `left` by
//! [`crate::store::StoreTx::close_place`], as when the buyer leaves, so the
//! seats it held go to the next place or on sale the same way; the journal's
//! actor is the account. The same access rule as the event's orders
//! ([`super::dashboard::event_for`]: another organizer's event is a 403).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::dashboard::event_for;
use super::{check_csrf, page, Fields, Session, SignedIn};
use crate::events::EventView;
use crate::store::{LinePlace, Store, StoreError};
use crate::waitlist::PlaceState;
use crate::web::{at_venue, finish, tr, PageResult, Web, WebError};

/// Ended places shown at most (the newest); the counts cover them all.
const ENDED_SHOWN: usize = 50;

/// The counts at the top of the page.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub waiting: usize,
    pub offered: usize,
    pub taken: usize,
    /// Declined, expired or left.
    pub ended: usize,
}

impl Counts {
    pub(super) fn of(places: &[LinePlace]) -> Counts {
        let mut c = Counts::default();
        for p in places {
            match p.state {
                PlaceState::Waiting => c.waiting += 1,
                PlaceState::Offered => c.offered += 1,
                PlaceState::Taken => c.taken += 1,
                PlaceState::Declined | PlaceState::Expired | PlaceState::Left => c.ended += 1,
            }
        }
        c
    }
}

/// Whether a place is still in line (waiting, or holding seats offered to it).
fn open(p: &LinePlace) -> bool {
    matches!(p.state, PlaceState::Waiting | PlaceState::Offered)
}

/// How a place was taken, in the page's language.
fn channel_name(web: &Web, channel: &str) -> String {
    match channel {
        "page" | "call" | "call-order" => tr(web, &format!("admin-line-channel-{channel}"), &[]),
        other => other.to_string(),
    }
}

/// One place as a row of the table.
fn row(web: &Web, e: &EventView, p: &LinePlace) -> Value {
    let seat_type = match p.seat_type.as_str() {
        "" => tr(web, "admin-line-any-type", &[]),
        code => e.seat_types.iter().find(|t| t.code == code).map_or_else(|| code.to_string(), |t| t.name.clone()),
    };
    json!({
        "id": p.id, "open": open(p),
        "number": (p.state == PlaceState::Waiting).then_some(p.number),
        "phone": p.phone.as_str(), "phone_national": p.phone.national(Some("81")),
        "seat_type": seat_type, "quantity": p.quantity,
        "channel": p.channel, "channel_name": channel_name(web, &p.channel),
        "state": p.state.as_str(), "state_name": tr(web, &format!("admin-line-state-{}", p.state.as_str()), &[]),
        "seats": p.seats.join(", "),
        "until": (p.state == PlaceState::Offered).then(|| at_venue(e, p.offer_until)),
        "joined": at_venue(e, Some(p.joined_at)),
        "closed": at_venue(e, p.closed_at),
        "order": p.purchase_id.as_ref().map(|id| format!("/admin/orders/{id}")),
        "remove": open(p).then(|| format!("/admin/events/{}/waitlist/{}/remove", e.id, p.id)),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Done {
    removed: Option<String>,
}

/// `GET /admin/events/{id}/waitlist` (`?removed=1|0`: the notice after a removal).
pub(super) async fn list(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let places = web.app.store.line_of(&e.id).await?;
        let c = Counts::of(&places);
        let live: Vec<Value> = places.iter().filter(|p| open(p)).map(|p| row(&web, &e, p)).collect();
        let mut ended: Vec<&LinePlace> = places.iter().filter(|p| !open(p)).collect();
        ended.sort_by_key(|p| std::cmp::Reverse(p.closed_at.unwrap_or(p.joined_at)));
        let ended: Vec<Value> = ended.into_iter().take(ENDED_SHOWN).map(|p| row(&web, &e, p)).collect();
        let notice = match done.removed.as_deref() {
            Some("1") => Some(tr(&web, "admin-line-removed", &[])),
            Some(_) => Some(tr(&web, "admin-line-not-open", &[])),
            None => None,
        };
        let data = json!({
            "event": {"id": e.id, "name": e.name, "url": format!("/admin/events/{}", e.id),
                      "edit": format!("/admin/events/{}/edit", e.id)},
            "counts": {"waiting": c.waiting, "offered": c.offered, "taken": c.taken, "ended": c.ended},
            "offer_minutes": e.offer_minutes,
            "places": live, "ended": ended, "ended_more": c.taken + c.ended > ENDED_SHOWN,
            "notice": notice,
        });
        Ok(page(&web, &headers, StatusCode::OK, "admin_waitlist.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// The form that removes a place.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RemoveForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// Close place `place` of event `event_id` as left by `actor`: false if it had
/// ended already, `None` if it is no place of this event.
async fn remove_place(store: &Store, event_id: &str, place: &str, actor: &str) -> Result<Option<bool>, StoreError> {
    Store::retry(|| async {
        let mut tx = store.begin().await?;
        if tx.place(place).await?.is_none_or(|p| p.event_id != event_id) {
            return Ok(None);
        }
        let closed = tx.close_place(place, PlaceState::Left, actor, crate::store::now()).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(Some(closed))
    })
    .await
}

fn actor(s: &Session) -> String {
    format!("account:{}", s.account.id)
}

/// `POST /admin/events/{id}/waitlist/{place}/remove`.
pub(super) async fn remove(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path((id, place)): Path<(String, String)>,
    headers: HeaderMap,
    Fields(f): Fields<RemoveForm>,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        check_csrf(&web, Some(&s.token), f.csrf.as_deref())?;
        let Some(closed) = remove_place(&web.app.store, &e.id, &place, &actor(&s)).await? else {
            return Err(WebError::NotFound(tr(&web, "admin-line-no-place", &[])));
        };
        if closed {
            // The seats it held went on in the same transaction; the waiting-list
            // worker mails the next place's offer.
            tracing::info!(event = %e.id, place = %place, account = %s.account.id, "waiting-list place removed in the back office");
        }
        let to = format!("/admin/events/{}/waitlist?removed={}", e.id, u8::from(closed));
        Ok(Redirect::to(&to).into_response())
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(state: PlaceState) -> LinePlace {
        LinePlace {
            id: "p".into(),
            event_id: "e".into(),
            seat_type: String::new(),
            phone: crate::phone::PhoneNumber::parse("+819011110001").expect("phone"),
            user_number: "u".into(),
            quantity: 1,
            channel: "page".into(),
            state,
            joined_at: 0,
            offer_until: None,
            seats: vec![],
            number: 0,
            purchase_id: None,
            closed_at: None,
        }
    }

    #[test]
    fn the_counts_put_declined_expired_and_left_together() {
        use PlaceState::*;
        let places: Vec<LinePlace> =
            [Waiting, Waiting, Offered, Taken, Declined, Expired, Left, Left].into_iter().map(place).collect();
        assert_eq!(Counts::of(&places), Counts { waiting: 2, offered: 1, taken: 1, ended: 4 });
        assert!(open(&place(Offered)) && open(&place(Waiting)) && !open(&place(Left)) && !open(&place(Taken)));
    }
}
