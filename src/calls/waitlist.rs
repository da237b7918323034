//! The line by phone (see [`crate::waitlist`]), on a purchase call to a number
//! bound to one event (a dialplan rule with `event`):
//! - an event sold in call order ([`crate::events::EventDef::call_order`]): the
//!   call itself takes a place in line, for as many seats as the phone may
//!   have (at most [`crate::waitlist::MAX_PER_PLACE`]), of any type; seats are
//!   held for places in the order people called, and the buyer buys as many of
//!   them as they want (the rest go on to the next place at once);
//! - any other event, sold out, on an answered call: after its purchase link
//!   went out the caller hears so, and "press 2 for the waiting list"; 2 puts
//!   the phone in line for one seat of any type.
//!
//! Only a caller whose number somebody vouched for
//! ([`crate::identity::CallerIdentity::is_proven`]) is offered the key: a place
//! in line holds up the seats that come back for the event's offer window, so a claimed
//! `From` alone must not be able to fill the line with other people's numbers.
//! Anyone else still gets the link, whose page lets its phone's owner join.

use crate::app::{App, AppError};
use crate::events::EventView;
use crate::sip::{IncomingCall, Menu};
use crate::store::{now, Joined, Store, StoreError};

/// The announcement of a purchase call to a sold-out event.
pub(super) const SOLD_OUT: &str = "sold-out-link-sent";
/// The key that joins the line.
pub(super) const JOIN_KEY: char = '2';

/// The event of a purchase call whose line the caller may take a place in:
/// the number is bound to an event on sale, and the caller's number is proven.
/// Read once per call.
pub(super) async fn line_event(app: &App, call: &IncomingCall) -> Result<Option<EventView>, AppError> {
    let (Some(event_id), true) = (call.rule.event.as_deref(), call.caller.is_proven()) else { return Ok(None) };
    Ok(app.store.event(event_id).await?.filter(|e| e.on_sale(now()) && !e.sales_paused))
}

/// Whether the caller is told `event` is sold out and offered its line by key
/// (not an event sold in call order: there the call is in line already).
pub(super) fn sold_out(event: &EventView) -> bool {
    !event.call_order && event.seat_types.iter().all(|t| t.available <= 0)
}

/// A purchase call to `event`, sold in call order, takes its place in line
/// (after its link went out; a repeat of the call keeps the place it has).
pub(super) async fn in_call_order(app: &App, call: &IncomingCall, event: &EventView) -> Result<(), AppError> {
    if !event.call_order {
        return Ok(());
    }
    let joined = Store::retry(|| async {
        let at = now();
        let mut tx = app.store.begin().await?;
        let has = tx.phone_tickets(&event.id, call.caller.number.as_str()).await?;
        let most = crate::waitlist::max_quantity(event.phone_limit, has);
        if most == 0 {
            return Ok(None);
        }
        let user = tx.touch_phone_user(&call.caller.number, &call.rule.language, at).await?;
        let joined = tx.join_line(&event.id, "", &user, most, "call-order", at).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(Some(joined))
    })
    .await?;
    tracing::info!(event = %event.id, outcome = ?joined, "in line by call order");
    Ok(())
}

/// The menu after [`SOLD_OUT`]: 2 for the line, 1 to have the link sent again.
pub(super) fn menu() -> Menu {
    Menu::new("press-2-to-wait", "12")
}

/// The caller's phone joins the line of the call's event; the prompt to play.
pub(super) async fn join(app: &App, call: &IncomingCall) -> Result<Option<String>, AppError> {
    let Some(event_id) = call.rule.event.as_deref() else { return Ok(None) };
    if !call.caller.is_proven() {
        return Ok(None);
    }
    let joined = Store::retry(|| async {
        let at = now();
        let mut tx = app.store.begin().await?;
        let user = tx.touch_phone_user(&call.caller.number, &call.rule.language, at).await?;
        let joined = tx.join_line(event_id, "", &user, 1, "call", at).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(joined)
    })
    .await?;
    tracing::info!(event = event_id, outcome = ?joined, "waiting list joined by phone");
    Ok(Some(
        match joined {
            Joined::Joined(_) | Joined::Already(_) => "waitlist-joined",
            Joined::SeatsFree(_) => "waitlist-seats-free",
        }
        .into(),
    ))
}
