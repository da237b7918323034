//! The waiting list of a sold-out seat type (issue 22, item 4).
//!
//! A buyer whose seat type is sold out joins its line — on the event's page
//! (a purchase link: the phone is known) or by pressing 2 on a purchase call
//! to a number bound to the event. Seats that come back (a cancellation, a
//! hold that ran out, a declined payment, an offer not taken) are not put on
//! sale while anyone waits: they are held for the first place in line, and
//! once it holds what it asked for it is offered by mail, with a deadline
//! (the event's offer window, [`DEFAULT_OFFER_MINUTES`] unless its organizer
//! chose another within [`OFFER_MINUTES`]). Taken, the seats are the
//! buyer's order; declined or run out, they go to the next place, one place
//! at a time. The organizer sees the line and may remove a place from it in
//! the back office (`web::backoffice::waitlist`).
//!
//! The line is kept in the store ([`crate::store::LinePlace`]); this module
//! holds its rules (plain Rust) and the worker that mails offers and ends
//! those that ran out ([`sweep`], [`run`]).

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use crate::app::{App, AppError, MailEvent};
use crate::links::Purpose;
use crate::store::{now, Store, StoreError};

/// How long seats offered to a place are held for it, in minutes, unless the
/// event's organizer chose another window (`events.offer_minutes`).
pub const DEFAULT_OFFER_MINUTES: i64 = 30;
/// The offer windows an organizer may choose: long enough to read a mail and
/// pay, short enough that the line moves (a day at most).
pub const OFFER_MINUTES: std::ops::RangeInclusive<i64> = 5..=1440;
/// Most seats one place may ask for.
pub const MAX_PER_PLACE: i64 = 4;
/// How often the worker looks for offers to mail and offers run out.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Where a place in line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlaceState {
    /// In line.
    Waiting,
    /// Seats are held for it until the offer's deadline.
    Offered,
    /// The offer became an order.
    Taken,
    /// The buyer said no to the offer.
    Declined,
    /// The offer's deadline passed.
    Expired,
    /// Left the line: the buyer, before an offer, or removed by the
    /// organizer (the journal's actor says which).
    Left,
}

impl PlaceState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceState::Waiting => "waiting",
            PlaceState::Offered => "offered",
            PlaceState::Taken => "taken",
            PlaceState::Declined => "declined",
            PlaceState::Expired => "expired",
            PlaceState::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<PlaceState> {
        [
            PlaceState::Waiting,
            PlaceState::Offered,
            PlaceState::Taken,
            PlaceState::Declined,
            PlaceState::Expired,
            PlaceState::Left,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// How a buyer's "no" ends a place: leaving the line, or declining an offer.
    pub fn ended_by_buyer(self) -> PlaceState {
        match self {
            PlaceState::Offered => PlaceState::Declined,
            _ => PlaceState::Left,
        }
    }
}

/// Most seats a place may ask for: [`MAX_PER_PLACE`], within the organizer's
/// limit per phone (`phone_limit`, 0 = none) less the tickets the phone has.
pub fn max_quantity(phone_limit: i64, has: i64) -> i64 {
    match phone_limit {
        0 => MAX_PER_PLACE,
        limit => (limit - has).clamp(0, MAX_PER_PLACE),
    }
}

/// The quantity asked for on the page, if it is one a place may ask for.
pub fn quantity(raw: &str, max: i64) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|q| (1..=max).contains(q))
}

/// An offer window typed on the event form or written in a catalog, if it is
/// one an organizer may choose (whole minutes within [`OFFER_MINUTES`]).
pub fn offer_minutes(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|m| OFFER_MINUTES.contains(m))
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Offers whose deadline passed (their seats went on).
    pub expired: usize,
    /// Places offered seats that were free while they waited (seats added to
    /// a sold-out type, or given back as they joined).
    pub offered: usize,
    /// Offer mails queued.
    pub mailed: usize,
}

/// End the offers run out by `at`, hand free seats to waiting lines, and
/// queue the mail of every offer not mailed yet.
pub async fn sweep(app: &App, at: i64) -> Result<Sweep, AppError> {
    let mut done = Sweep::default();
    for id in app.store.offers_run_out(at, 200).await? {
        let ended = Store::retry(|| async {
            let mut tx = app.store.begin().await?;
            let ended = tx.close_place(&id, PlaceState::Expired, "system:offer-expiry", at).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(ended)
        })
        .await?;
        done.expired += ended as usize;
    }
    for event_id in app.store.events_with_lines().await? {
        let Some(event) = app.store.event(&event_id).await? else { continue };
        done.offered += Store::retry(|| async {
            let mut tx = app.store.begin().await?;
            let mut offered = 0;
            for t in &event.seat_types {
                offered += tx.hand_to_line(&event.id, &t.code, at).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(offered)
        })
        .await?;
    }
    // Mailed now, whatever moment the sweep judges by.
    for id in app.store.offers_to_mail(200).await? {
        done.mailed += Store::retry(|| mail_offer(app, &id, now())).await? as usize;
    }
    if done.mailed > 0 {
        app.mail_wake.notify_one();
    }
    Ok(done)
}

/// Queue the offer mail of place `id`, once (another gateway's worker may be at it too).
async fn mail_offer(app: &App, id: &str, at: i64) -> Result<bool, AppError> {
    let mut tx = app.store.begin().await?;
    let Some(place) = tx.place(id).await? else { return Ok(false) };
    if !tx.mark_offer_mailed(id).await? {
        return Ok(false);
    }
    let (Some(user), Some(event)) = (tx.phone_user(&place.phone).await?, app.store.event(&place.event_id).await?)
    else {
        return Ok(false);
    };
    let lang = user.language.clone();
    let link = app.links.url_in(Purpose::Purchase, &place.phone, None, &lang, at)?;
    let seat_name = event.seat_types.iter().find(|t| t.code == place.seat_type).map(|t| t.name.clone());
    let until = place.offer_until.map(|t| event.when(&lang, t, crate::i18n::Style::DateTime)).unwrap_or_default();
    let ctx = json!({
        "event": MailEvent::new(&event, &lang),
        "url": format!("{link}/events/{}", event.id),
        "seat_type": seat_name.unwrap_or_else(|| place.seat_type.clone()),
        "seats": place.seats.join(", "),
        "quantity": place.seats.len(),
        "until": until,
        "minutes": event.offer_minutes,
    });
    let queued = app.queue_mail(&mut tx, &user, "waitlist-offer", &ctx, at).await?;
    tx.commit().await?;
    Ok(queued.is_some())
}

/// The waiting-list worker: a sweep every [`SWEEP_EVERY`] until `stop` turns true.
pub async fn run(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = sweep(&app, now()).await {
            tracing::warn!(error = %e, "waiting-list sweep failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written() {
        for s in ["waiting", "offered", "taken", "declined", "expired", "left"] {
            assert_eq!(PlaceState::parse(s).map(PlaceState::as_str), Some(s));
        }
        assert_eq!(PlaceState::parse("sold"), None);
    }

    #[test]
    fn saying_no_to_an_offer_declines_it_and_before_one_leaves_the_line() {
        assert_eq!(PlaceState::Offered.ended_by_buyer(), PlaceState::Declined);
        assert_eq!(PlaceState::Waiting.ended_by_buyer(), PlaceState::Left);
    }

    #[test]
    fn a_place_asks_for_no_more_than_the_phone_may_still_have() {
        assert_eq!(max_quantity(0, 3), MAX_PER_PLACE);
        assert_eq!(max_quantity(2, 0), 2);
        assert_eq!(max_quantity(6, 5), 1);
        assert_eq!(max_quantity(2, 2), 0);
        assert_eq!(max_quantity(2, 9), 0, "never negative");
        assert_eq!(quantity(" 2 ", 2), Some(2));
        for bad in ["0", "3", "-1", "x", "", "1e3"] {
            assert_eq!(quantity(bad, 2), None, "{bad:?}");
        }
    }

    #[test]
    fn an_offer_window_is_whole_minutes_from_five_to_a_day() {
        assert_eq!(offer_minutes(" 10 "), Some(10));
        assert_eq!(offer_minutes("5"), Some(5));
        assert_eq!(offer_minutes("1440"), Some(1440));
        for bad in ["0", "4", "1441", "2000", "-30", "abc", "", "10.5", "1e2"] {
            assert_eq!(offer_minutes(bad), None, "{bad:?}");
        }
    }
}
