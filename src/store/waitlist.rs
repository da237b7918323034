//! The waiting list of a sold-out seat type: places in line, and seats that
//! come back handed to the first in line (see [`crate::waitlist`]).
//!
//! A seat given back ([`StoreTx::release_seats`]) while someone waits for its
//! type never goes on sale: in the same transaction it is held for the first
//! place in line (`seats.state = 'offered'`, `seats.offer_id`). Once a place
//! holds as many seats as it asked for, it is offered (`offer_until`), and the
//! offer is mailed by the waiting-list worker. An offer taken makes the seats
//! the buyer's purchase; an offer declined or run out hands its seats to the
//! next place, or puts them on sale when nobody waits.
//!
//! On PostgreSQL every change of an event's line and the hand-over of its seats
//! take one lock per event (`pg_advisory_xact_lock`), so a place that joins
//! while seats come back is either seen by the hand-over or sees the seats
//! free (and is told to buy them); on SQLite the writer's turn does the same.

use sqlx::Row;

use super::new_purchase::{new_purchase_id, NewOrder};
use super::purchases::Taker;
use super::seat_counts::SeatDelta;
use super::tx::Params;
use super::{PhoneUser, Store, StoreError, StoreTx};
use crate::domain::{Purchase, Timestamp};
use crate::events::EventView;
use crate::phone::PhoneNumber;
use crate::waitlist::{PlaceState, DEFAULT_OFFER_MINUTES};

/// One place in an event's line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinePlace {
    pub id: String,
    pub event_id: String,
    /// The seat type asked for (`""`: any, joined on the phone).
    pub seat_type: String,
    pub phone: PhoneNumber,
    pub user_number: String,
    pub quantity: i64,
    /// How the place was taken: `page` (the buyer asked for `quantity` seats:
    /// offered once that many are held), `call` (offered whatever is held, up to
    /// `quantity`, as soon as there is any).
    pub channel: String,
    pub state: PlaceState,
    pub joined_at: Timestamp,
    /// Offered: until when the seats are held.
    pub offer_until: Option<Timestamp>,
    /// Offered: the seats held for this place, best first.
    pub seats: Vec<String>,
    /// Waiting: places ahead of this one, plus one.
    pub number: i64,
    /// Taken: the purchase the offer became.
    pub purchase_id: Option<String>,
    /// Ended (taken, declined, expired, left): when.
    pub closed_at: Option<Timestamp>,
}

/// What joining the line came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// A new place.
    Joined(LinePlace),
    /// The phone already has an open place for this event (the same one).
    Already(LinePlace),
    /// Seats of the type are on sale right now: buy them instead.
    SeatsFree(i64),
}

const PLACE_COLUMNS: &str = "seq, id, event_id, seat_type, phone, user_number, quantity, channel, state, joined_at,
     offer_until, purchase_id, closed_at FROM waitlist";

fn place_of(row: &sqlx::any::AnyRow) -> Result<(i64, LinePlace), StoreError> {
    let phone: String = row.try_get("phone")?;
    let state: String = row.try_get("state")?;
    Ok((
        row.try_get("seq")?,
        LinePlace {
            id: row.try_get("id")?,
            event_id: row.try_get("event_id")?,
            seat_type: row.try_get("seat_type")?,
            phone: super::users::stored_phone(&phone)?,
            user_number: row.try_get("user_number")?,
            quantity: row.try_get("quantity")?,
            channel: row.try_get("channel")?,
            state: PlaceState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("place state {state}")))?,
            joined_at: row.try_get("joined_at")?,
            offer_until: row.try_get("offer_until")?,
            seats: vec![],
            number: 0,
            purchase_id: row.try_get("purchase_id")?,
            closed_at: row.try_get("closed_at")?,
        },
    ))
}

/// Places of the same line ahead of `seq` (a place for any type waits in every
/// type's line), plus one.
const NUMBER_SQL: &str = "SELECT COUNT(*) FROM waitlist WHERE event_id = $1 AND state = 'waiting' AND seq <= $2
       AND (seat_type = $3 OR seat_type = '' OR $3 = '')";

impl Store {
    /// `phone`'s open place (waiting or offered) in `event_id`'s line, with its
    /// number and held seats.
    pub async fn line_place(&self, event_id: &str, phone: &PhoneNumber) -> Result<Option<LinePlace>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sql =
            format!("SELECT {PLACE_COLUMNS} WHERE event_id = $1 AND phone = $2 AND state IN ('waiting', 'offered')");
        let row = sqlx::query(&sql).bind(event_id).bind(phone.as_str()).fetch_optional(&mut *conn).await?;
        let Some(row) = row else { return Ok(None) };
        let (seq, mut place) = place_of(&row)?;
        let (n,): (i64,) =
            sqlx::query_as(NUMBER_SQL).bind(event_id).bind(seq).bind(&place.seat_type).fetch_one(&mut *conn).await?;
        place.number = n;
        place.seats = sqlx::query_as("SELECT seat_code FROM seats WHERE offer_id = $1 ORDER BY position")
            .bind(&place.id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(s,): (String,)| s)
            .collect();
        Ok(Some(place))
    }

    /// Every place of `event_id`'s line, open and ended, in line order (join
    /// order), each with the seats held for it and, while it waits, its number
    /// as the buyer is told it ([`Store::line_place`]).
    pub async fn line_of(&self, event_id: &str) -> Result<Vec<LinePlace>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {PLACE_COLUMNS} WHERE event_id = $1 ORDER BY seq");
        let rows = sqlx::query(&sql).bind(event_id).fetch_all(&mut *conn).await?;
        let held: Vec<(String, String)> = sqlx::query_as(
            "SELECT offer_id, seat_code FROM seats WHERE event_id = $1 AND offer_id IS NOT NULL ORDER BY position",
        )
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
        let places = rows.iter().map(place_of).collect::<Result<Vec<_>, _>>()?;
        // A place's number counts the waiting places of its line up to it (NUMBER_SQL).
        let waiting: Vec<(i64, String)> = places
            .iter()
            .filter(|(_, p)| p.state == PlaceState::Waiting)
            .map(|(seq, p)| (*seq, p.seat_type.clone()))
            .collect();
        Ok(places
            .into_iter()
            .map(|(seq, mut p)| {
                if p.state == PlaceState::Waiting {
                    let same_line = |t: &str| t == p.seat_type || t.is_empty() || p.seat_type.is_empty();
                    p.number = waiting.iter().filter(|(s, t)| *s <= seq && same_line(t)).count() as i64;
                }
                p.seats = held.iter().filter(|(o, _)| *o == p.id).map(|(_, seat)| seat.clone()).collect();
                p
            })
            .collect())
    }

    /// How many wait in `event_id`'s line, per seat type asked for (`""`: any).
    pub async fn line_lengths(&self, event_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT seat_type, COUNT(*) FROM waitlist WHERE event_id = $1 AND state = 'waiting'
             GROUP BY seat_type ORDER BY seat_type",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Offers made and not mailed yet (at most `limit`).
    pub async fn offers_to_mail(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM waitlist WHERE state = 'offered' AND offer_mailed = 0 ORDER BY seq LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Offers whose time ran out by `at` (at most `limit`).
    pub async fn offers_run_out(&self, at: Timestamp, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM waitlist WHERE state = 'offered' AND offer_until <= $1 ORDER BY offer_until LIMIT $2",
        )
        .bind(at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Events with someone waiting.
    pub async fn events_with_lines(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT event_id FROM waitlist WHERE state = 'waiting'")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

impl StoreTx {
    /// Serialize changes of `event_id`'s line with the hand-over of its seats
    /// (PostgreSQL; SQLite's writer already does).
    async fn lock_line(&mut self, event_id: &str) -> Result<(), StoreError> {
        if self.params == Params::Numbered {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('waitlist:' || $1))")
                .bind(event_id)
                .execute(self.conn().await?)
                .await?;
        }
        Ok(())
    }

    /// The place `id`, if any.
    pub async fn place(&mut self, id: &str) -> Result<Option<LinePlace>, StoreError> {
        let sql = format!("SELECT {PLACE_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.conn().await?).await?;
        let Some(row) = row else { return Ok(None) };
        let (_, mut place) = place_of(&row)?;
        place.seats = sqlx::query_as("SELECT seat_code FROM seats WHERE offer_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(self.conn().await?)
            .await?
            .into_iter()
            .map(|(s,): (String,)| s)
            .collect();
        Ok(Some(place))
    }

    /// `user`'s phone joins the line of `seat_type` (`""`: any) for `quantity`
    /// seats — unless it has an open place for the event already, or seats of
    /// the type are free now (a `page` or `call` place). A `call-order` place (a
    /// call to an event sold in call order) joins whether seats are free or not,
    /// and free seats are handed to the line at once.
    pub async fn join_line(
        &mut self,
        event_id: &str,
        seat_type: &str,
        user: &PhoneUser,
        quantity: i64,
        channel: &str,
        at: Timestamp,
    ) -> Result<Joined, StoreError> {
        self.lock_line(event_id).await?;
        let sql =
            format!("SELECT {PLACE_COLUMNS} WHERE event_id = $1 AND phone = $2 AND state IN ('waiting', 'offered')");
        let row = sqlx::query(&sql).bind(event_id).bind(user.phone.as_str()).fetch_optional(self.conn().await?).await?;
        if let Some(row) = row {
            return Ok(Joined::Already(place_of(&row)?.1));
        }
        let (free,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM seats WHERE event_id = $1 AND state = 'free' AND (seat_type = $2 OR $2 = '')",
        )
        .bind(event_id)
        .bind(seat_type)
        .fetch_one(self.conn().await?)
        .await?;
        let call_order = channel == "call-order";
        if free > 0 && !call_order {
            return Ok(Joined::SeatsFree(free));
        }
        let id = new_purchase_id();
        sqlx::query(
            "INSERT INTO waitlist (id, event_id, seat_type, phone, user_number, quantity, channel, state, joined_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', $8)",
        )
        .bind(&id)
        .bind(event_id)
        .bind(seat_type)
        .bind(user.phone.as_str())
        .bind(&user.user_number)
        .bind(quantity)
        .bind(channel)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        let detail =
            serde_json::json!({"event_id": event_id, "seat_type": seat_type, "quantity": quantity, "channel": channel});
        let actor = format!("phone:{}", user.phone);
        self.journal("waitlist", &id, "join", None, Some("waiting"), &actor, &detail.to_string());
        let sql = format!("SELECT {PLACE_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(&id).fetch_one(self.conn().await?).await?;
        let (seq, mut place) = place_of(&row)?;
        let (n,): (i64,) =
            sqlx::query_as(NUMBER_SQL).bind(event_id).bind(seq).bind(seat_type).fetch_one(self.conn().await?).await?;
        place.number = n;
        if call_order && free > 0 {
            let types: Vec<(String,)> = sqlx::query_as("SELECT code FROM seat_types WHERE event_id = $1 ORDER BY code")
                .bind(event_id)
                .fetch_all(self.conn().await?)
                .await?;
            for (t,) in types {
                self.hand_to_line(event_id, &t, at).await?;
            }
        }
        Ok(Joined::Joined(place))
    }

    /// Close the open place `id` as `state` (left, declined, expired), by
    /// `actor` (journalled): its held seats go to the next in line, or on sale.
    /// False if it was not open.
    pub async fn close_place(
        &mut self,
        id: &str,
        state: PlaceState,
        actor: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(place) = self.place(id).await? else { return Ok(false) };
        self.lock_line(&place.event_id).await?;
        let r = sqlx::query(
            "UPDATE waitlist SET state = $1, closed_at = $2 WHERE id = $3 AND state IN ('waiting', 'offered')",
        )
        .bind(state.as_str())
        .bind(at)
        .bind(id)
        .execute(self.conn().await?)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        let detail = serde_json::json!({"event_id": place.event_id, "seats": place.seats}).to_string();
        self.journal("waitlist", id, state.as_str(), Some(place.state.as_str()), Some(state.as_str()), actor, &detail);
        let freed: Vec<(String, String, i64)> = sqlx::query_as(
            "UPDATE seats SET state = 'free', offer_id = NULL WHERE offer_id = $1 AND state = 'offered'
             RETURNING event_id, seat_type, position",
        )
        .bind(id)
        .fetch_all(self.conn().await?)
        .await?;
        self.seats_freed(freed, at).await?;
        Ok(true)
    }

    /// Seats just made free (`(event, type, position)`): counted, and handed to
    /// the line of each type they belong to.
    pub(super) async fn seats_freed(
        &mut self,
        freed: Vec<(String, String, i64)>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut types: Vec<(String, String)> = vec![];
        for (event_id, seat_type, position) in freed {
            if !types.iter().any(|(e, t)| *e == event_id && *t == seat_type) {
                types.push((event_id.clone(), seat_type.clone()));
            }
            self.seat_deltas.push(SeatDelta { event_id, seat_type, free: 1, position });
        }
        for (event_id, seat_type) in types {
            self.hand_to_line(&event_id, &seat_type, at).await?;
        }
        Ok(())
    }

    /// Hold free seats of `seat_type` for the first places in its line, in
    /// line order: each place gets as many as it asked for, then is offered
    /// until `at` + the event's offer window (`events.offer_minutes`); the
    /// first place still short keeps what it has and stops the hand-over
    /// (nobody behind it is served first). Returns how many places were offered.
    pub async fn hand_to_line(&mut self, event_id: &str, seat_type: &str, at: Timestamp) -> Result<usize, StoreError> {
        // A cancelled event's seats are refunded, not offered to anyone.
        let waiting: Option<(i64,)> = sqlx::query_as(
            "SELECT seq FROM waitlist WHERE event_id = $1 AND state = 'waiting' AND (seat_type = $2 OR seat_type = '')
               AND NOT EXISTS (SELECT 1 FROM event_cancellations c WHERE c.event_id = $1)
             LIMIT 1",
        )
        .bind(event_id)
        .bind(seat_type)
        .fetch_optional(self.conn().await?)
        .await?;
        if waiting.is_none() {
            return Ok(0);
        }
        self.lock_line(event_id).await?;
        let minutes: Option<(i64,)> = sqlx::query_as("SELECT offer_minutes FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(self.conn().await?)
            .await?;
        let until = at + 60 * minutes.map_or(DEFAULT_OFFER_MINUTES, |(m,)| m);
        let mut offered = 0;
        loop {
            let sql = format!(
                "SELECT {PLACE_COLUMNS} WHERE event_id = $1 AND state = 'waiting' AND (seat_type = $2 OR seat_type = '')
                 ORDER BY seq LIMIT 1"
            );
            let row = sqlx::query(&sql).bind(event_id).bind(seat_type).fetch_optional(self.conn().await?).await?;
            let Some(row) = row else { break };
            let (_, head) = place_of(&row)?;
            let held: Vec<(String,)> = sqlx::query_as("SELECT seat_type FROM seats WHERE offer_id = $1")
                .bind(&head.id)
                .fetch_all(self.conn().await?)
                .await?;
            // A place holds seats of one type (a place for any type: the first it got).
            if held.iter().any(|(t,)| t != seat_type) {
                break;
            }
            let need = (head.quantity - held.len() as i64).max(0) as usize;
            let got = match need {
                0 => 0,
                n => self.pick_seats(event_id, seat_type, n, Taker::Offer(&head.id), at).await?.len(),
            };
            // A place the buyer sized waits for all it asked for; one a call took is
            // offered what there is.
            let sized = head.channel == "page";
            if (sized && got < need) || held.len() + got == 0 {
                break;
            }
            sqlx::query(
                "UPDATE waitlist SET state = 'offered', seat_type = $1, offered_at = $2, offer_until = $3 WHERE id = $4",
            )
            .bind(seat_type)
            .bind(at)
            .bind(until)
            .bind(&head.id)
            .execute(self.conn().await?)
            .await?;
            let detail = serde_json::json!({"event_id": event_id, "seat_type": seat_type, "until": until});
            self.journal(
                "waitlist",
                &head.id,
                "offer",
                Some("waiting"),
                Some("offered"),
                "system",
                &detail.to_string(),
            );
            offered += 1;
        }
        Ok(offered)
    }

    /// Mark the offer `id` mailed; false if it was already (another worker).
    pub async fn mark_offer_mailed(&mut self, id: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE waitlist SET offer_mailed = 1 WHERE id = $1 AND offer_mailed = 0 AND state = 'offered'",
        )
        .bind(id)
        .execute(self.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The purchase of `quantity` of the seats offered to `place` (the rest go
    /// to the next in line): [`StoreTx::reserve_seats`] for a place's offer.
    /// [`StoreError::NotEnoughSeats`] if the offer is no longer open.
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve_offer(
        &mut self,
        user: &PhoneUser,
        holder: &PhoneNumber,
        event: &EventView,
        place: &LinePlace,
        quantity: u32,
        payment_method: &str,
        form_token: &str,
        at: Timestamp,
    ) -> Result<Purchase, StoreError> {
        let seat_type = place.seat_type.as_str();
        let price = self.shown_price(event, seat_type).await?;
        let id = new_purchase_id();
        let r = sqlx::query(
            "UPDATE waitlist SET state = 'taken', purchase_id = $1, closed_at = $2
             WHERE id = $3 AND state = 'offered' AND offer_until > $2",
        )
        .bind(&id)
        .bind(at)
        .bind(&place.id)
        .execute(self.conn().await?)
        .await?;
        let unavailable = StoreError::NotEnoughSeats { seat_type: seat_type.to_string(), available: 0 };
        if r.rows_affected() != 1 || quantity == 0 || i64::from(quantity) > place.quantity {
            return Err(unavailable);
        }
        let rows = sqlx::query(
            "UPDATE seats SET state = 'sold', purchase_id = $1, reserved_at = $2, offer_id = NULL
             WHERE offer_id = $3 AND state = 'offered' AND seat_code IN
               (SELECT seat_code FROM seats WHERE offer_id = $3 ORDER BY position LIMIT $4)
             RETURNING seat_code, position",
        )
        .bind(&id)
        .bind(at)
        .bind(&place.id)
        .bind(i64::from(quantity))
        .fetch_all(self.conn().await?)
        .await?;
        if rows.len() != quantity as usize {
            return Err(unavailable);
        }
        let mut seats: Vec<(i64, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get("position")?, r.try_get("seat_code")?)))
            .collect::<Result<_, StoreError>>()?;
        seats.sort();
        let detail = serde_json::json!({"event_id": event.id, "purchase_id": id, "quantity": quantity}).to_string();
        self.journal("waitlist", &place.id, "taken", Some("offered"), Some("taken"), "web:order", &detail);
        // Seats offered and not taken: to the next in line.
        let rest: Vec<(String, String, i64)> = sqlx::query_as(
            "UPDATE seats SET state = 'free', offer_id = NULL WHERE offer_id = $1 AND state = 'offered'
             RETURNING event_id, seat_type, position",
        )
        .bind(&place.id)
        .fetch_all(self.conn().await?)
        .await?;
        self.seats_freed(rest, at).await?;
        let order = NewOrder { user, holder, event, seat_type, payment_method, form_token };
        self.insert_purchase(id, &order, seats.into_iter().map(|(_, s)| s).collect(), price, at).await
    }
}
