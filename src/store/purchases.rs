//! Purchases: seats reserved and the purchase created, loaded (with its
//! version) and saved as the domain changed it, seats given back, the current
//! link of each purpose (link heads), carrier-billing orders waiting for the
//! line's consent, and payment callbacks recorded once by their event id.
//!
//! Several gateways may write at once (PostgreSQL): a seat is taken with a
//! guarded update, so it is never sold twice, and a purchase is saved only at
//! the version it was loaded at — otherwise [`StoreError::Conflict`], and the
//! whole transaction is run again ([`Store::retry`]).

use sqlx::{AnyConnection, Row};

use super::new_purchase::{new_purchase_id, NewOrder};
use super::seat_counts::SeatDelta;
use super::tx::Params;
use super::{PhoneUser, Store, StoreError, StoreTx};
use crate::domain::{Purchase, Timestamp, Transition};
use crate::events::EventView;
use crate::phone::PhoneNumber;

/// Who seats are taken for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Taker<'a> {
    /// A purchase (id): sold, or held until it is paid.
    Purchase(&'a str),
    /// A waiting-list place (id): held for it until its offer is taken or runs out.
    Offer(&'a str),
}

impl Taker<'_> {
    /// The `SET` of a seat taken (`$1` the id, `$2` the time).
    fn set(self) -> &'static str {
        match self {
            Taker::Purchase(_) => "state = 'sold', purchase_id = $1, reserved_at = $2",
            Taker::Offer(_) => "state = 'offered', offer_id = $1, reserved_at = $2",
        }
    }

    fn id(&self) -> &str {
        match self {
            Taker::Purchase(id) | Taker::Offer(id) => id,
        }
    }
}

/// One seat as the shop's seat map shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeatState {
    pub seat_type: String,
    pub seat_code: String,
    pub free: bool,
}

impl Store {
    pub async fn purchase(&self, id: &str) -> Result<Option<Purchase>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_purchase(&mut conn, id).await
    }

    /// Every seat of `event_id` in position order, free or not (the shop's seat map).
    pub async fn seat_map(&self, event_id: &str) -> Result<Vec<SeatState>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT seat_type, seat_code, state FROM seats WHERE event_id = $1 ORDER BY position")
                .bind(event_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(t, c, s)| SeatState { seat_type: t, seat_code: c, free: s == "free" }).collect())
    }

    /// [`Store::seat_map`] of the seat types with rows only: a type whose seats
    /// are all `<type>-<n>` (general admission) has no map to draw, and its seats
    /// are not read (the shop's event page; reading every seat of a large
    /// standing event on every view was most of the page's cost).
    pub async fn numbered_seat_map(&self, event_id: &str) -> Result<Vec<SeatState>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            // One pass over the event's seats finds the types with rows (a CTE run
            // once: no plan can repeat it per seat).
            "WITH numbered AS MATERIALIZED (
               SELECT DISTINCT seat_type FROM seats WHERE event_id = $1
                 AND (substr(seat_code, 1, length(seat_type) + 1) <> seat_type || '-'
                      OR seat_code LIKE seat_type || '-%-%'))
             SELECT seat_type, seat_code, state FROM seats
             WHERE event_id = $1 AND seat_type IN (SELECT seat_type FROM numbered)
             ORDER BY position",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(t, c, s)| SeatState { seat_type: t, seat_code: c, free: s == "free" }).collect())
    }

    pub async fn purchase_by_form_token(&self, token: &str) -> Result<Option<Purchase>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as("SELECT id FROM purchases WHERE form_token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some((id,)) => self.purchase(&id).await,
            None => Ok(None),
        }
    }

    /// The token id of the purchase's current link for `purpose`, if one was
    /// recorded (see [`StoreTx::set_link_head`]).
    pub async fn link_head(&self, purchase_id: &str, purpose: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT jti FROM link_heads WHERE purchase_id = $1 AND purpose = $2")
            .bind(purchase_id)
            .bind(purpose)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Unpaid reservations whose hold has run out (their seats go back on sale).
    pub async fn expired_holds(&self, at: Timestamp, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM purchases WHERE payment_status = 'pending' AND COALESCE(hold_until, reserved_at + $1) <= $2
             ORDER BY reserved_at LIMIT $3",
        )
        .bind(crate::domain::HOLD_SECS)
        .bind(at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

impl StoreTx {
    pub async fn purchase(&mut self, id: &str) -> Result<Option<Purchase>, StoreError> {
        let loaded = load_purchase_versioned(self.conn().await?, id).await?;
        Ok(loaded.map(|(p, version)| {
            self.versions.insert(p.id.clone(), version);
            p
        }))
    }

    /// The phone's purchases, oldest first.
    pub async fn purchases_for_phone(&mut self, phone: &PhoneNumber) -> Result<Vec<Purchase>, StoreError> {
        let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM purchases WHERE phone = $1 ORDER BY reserved_at, id")
            .bind(phone.as_str())
            .fetch_all(self.conn().await?)
            .await?;
        self.purchases(ids).await
    }

    /// The purchases with `ids`, in that order, each loaded for saving (its version kept).
    async fn purchases(&mut self, ids: Vec<(String,)>) -> Result<Vec<Purchase>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            if let Some(p) = self.purchase(&id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The carrier-billing orders paid by `user_number` that still wait for the
    /// line's consent call at `at` (their hold not run out), oldest first.
    pub async fn awaiting_consent(&mut self, user_number: &str, at: Timestamp) -> Result<Vec<Purchase>, StoreError> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM purchases WHERE user_number = $1 AND payment_status = 'pending'
               AND substr(payment_ref, 1, 8) = 'carrier_' AND hold_until > $2 ORDER BY reserved_at, id",
        )
        .bind(user_number)
        .bind(at)
        .fetch_all(self.conn().await?)
        .await?;
        self.purchases(ids).await
    }

    /// Take purchase `id` for this transaction: another transaction that takes it
    /// waits until this one ends, on every gateway, so what this one counts and
    /// writes about it (wrong staff PINs, say) is not counted twice. On PostgreSQL
    /// a row lock (`FOR UPDATE`); on SQLite the writer's turn already serializes
    /// write transactions. `false`: no such purchase.
    pub async fn lock_purchase(&mut self, id: &str) -> Result<bool, StoreError> {
        let sql = match self.params {
            Params::Numbered => "SELECT id FROM purchases WHERE id = $1 FOR UPDATE",
            Params::Plain => "SELECT id FROM purchases WHERE id = $1",
        };
        let row: Option<(String,)> = sqlx::query_as(sql).bind(id).fetch_optional(self.conn().await?).await?;
        Ok(row.is_some())
    }

    /// Reserve `quantity` free seats of a type and create the purchase (payment
    /// pending), paid for by `user` and held by `holder` — the phone that will
    /// issue and use the ticket (the same phone unless it is a gift).
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve(
        &mut self,
        user: &PhoneUser,
        holder: &PhoneNumber,
        event: &EventView,
        seat_type: &str,
        quantity: u32,
        payment_method: &str,
        form_token: &str,
        at: Timestamp,
    ) -> Result<Purchase, StoreError> {
        self.reserve_seats(user, holder, event, seat_type, quantity, &[], payment_method, form_token, at).await
    }

    /// [`StoreTx::reserve`], of the seats `chosen` on the seat map if any (each
    /// must be free and of `seat_type`, else [`StoreError::SeatTaken`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve_seats(
        &mut self,
        user: &PhoneUser,
        holder: &PhoneNumber,
        event: &EventView,
        seat_type: &str,
        quantity: u32,
        chosen: &[String],
        payment_method: &str,
        form_token: &str,
        at: Timestamp,
    ) -> Result<Purchase, StoreError> {
        let price = self.shown_price(event, seat_type).await?;
        let id = new_purchase_id();
        let seats = match chosen {
            [] => self.take_seats(&event.id, seat_type, quantity as usize, &id, at).await?,
            chosen => self.take_chosen_seats(&event.id, seat_type, chosen, &id, at).await?,
        };
        let order = NewOrder { user, holder, event, seat_type, payment_method, form_token };
        self.insert_purchase(id, &order, seats, price, at).await
    }

    /// The price of `seat_type` the buyer was shown (an `EventView` read in a
    /// transaction has no seat types: then the stored one).
    pub(super) async fn shown_price(&mut self, event: &EventView, seat_type: &str) -> Result<i64, StoreError> {
        if let Some(t) = event.seat_types.iter().find(|t| t.code == seat_type) {
            return Ok(t.price);
        }
        let price: Option<(i64,)> = sqlx::query_as("SELECT price FROM seat_types WHERE event_id = $1 AND code = $2")
            .bind(&event.id)
            .bind(seat_type)
            .fetch_optional(self.conn().await?)
            .await?;
        price.map(|(p,)| p).ok_or_else(|| StoreError::NoSuchSeatType(seat_type.to_string()))
    }

    /// Mark the seats `chosen` sold, each only if it is free and of `seat_type`.
    async fn take_chosen_seats(
        &mut self,
        event_id: &str,
        seat_type: &str,
        chosen: &[String],
        purchase_id: &str,
        at: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        for seat in chosen {
            let r = sqlx::query(
                "UPDATE seats SET state = 'sold', purchase_id = $1, reserved_at = $2
                 WHERE event_id = $3 AND seat_code = $4 AND seat_type = $5 AND state = 'free'",
            )
            .bind(purchase_id)
            .bind(at)
            .bind(event_id)
            .bind(seat)
            .bind(seat_type)
            .execute(self.conn().await?)
            .await?;
            if r.rows_affected() != 1 {
                return Err(StoreError::SeatTaken(seat.clone()));
            }
        }
        self.seat_deltas.push(SeatDelta {
            event_id: event_id.to_string(),
            seat_type: seat_type.to_string(),
            free: -(chosen.len() as i64),
            // Chosen on the seat map, not the best free ones: where picks start stays.
            position: 0,
        });
        Ok(chosen.to_vec())
    }

    /// Mark `quantity` free seats sold, best positions first, in one statement
    /// that picks the seats and takes them (`UPDATE … WHERE state = 'free'`, so
    /// no seat is ever sold twice).
    ///
    /// On PostgreSQL the pick locks the rows it takes and passes over rows
    /// another buyer's transaction holds (`FOR UPDATE SKIP LOCKED`): concurrent
    /// buyers spread over the next free seats instead of queueing on the same
    /// rows until the first commits and the others find them sold and start over
    /// (which made purchases one at a time: 105–211 a second with 32 buyers). If
    /// that leaves too few, a second pick waits for the locked rows and takes
    /// whichever of them their holders gave back. The first pick starts where
    /// this gateway last saw seats taken ([`super::seat_counts`]), not at the
    /// first seat. On SQLite the writer's turn already makes the pick and the
    /// update one step, and the index has no entries of sold seats to walk past.
    async fn take_seats(
        &mut self,
        event_id: &str,
        seat_type: &str,
        quantity: usize,
        purchase_id: &str,
        at: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let taken = self.pick_seats(event_id, seat_type, quantity, Taker::Purchase(purchase_id), at).await?;
        if taken.len() < quantity {
            return Err(StoreError::NotEnoughSeats { seat_type: seat_type.to_string(), available: taken.len() as i64 });
        }
        Ok(taken)
    }

    /// Up to `quantity` free seats of a type, best positions first, taken for
    /// `taker` (see [`StoreTx::take_seats`]); fewer if fewer are free.
    pub(super) async fn pick_seats(
        &mut self,
        event_id: &str,
        seat_type: &str,
        quantity: usize,
        taker: Taker<'_>,
        at: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut taken: Vec<(i64, String)> = Vec::with_capacity(quantity);
        let first = self.first_free(event_id, seat_type);
        // (from which position, how rows other buyers hold are treated)
        let picks: Vec<(i64, &str)> = match self.params {
            Params::Numbered => vec![(first, "FOR UPDATE SKIP LOCKED"), (0, "FOR UPDATE")],
            Params::Plain => vec![(0, "")],
        };
        for (from, lock) in picks {
            let need = quantity - taken.len();
            // On PostgreSQL the pick is an `ARRAY(…)`, run once before the update (an
            // InitPlan): as `IN (SELECT … LIMIT)` it may run again while a row another
            // buyer changed is re-checked, and take more seats than the limit; and the
            // update then finds the seats by primary key rather than by a scan.
            let pick = format!(
                "SELECT seat_code FROM seats WHERE event_id = $3 AND seat_type = $4 AND state = 'free'
                   AND position >= $6
                 ORDER BY position LIMIT $5 {lock}"
            );
            // The rows an `ARRAY(… FOR UPDATE)` picked are locked and were free when
            // locked; naming only their keys keeps the planner on the primary key (with
            // `state` named too, fresh statistics made it scan every free seat).
            let among = match self.params {
                Params::Numbered => format!("seat_code = ANY(ARRAY({pick}))"),
                Params::Plain => format!("state = 'free' AND seat_code IN ({pick})"),
            };
            let sql = format!(
                "UPDATE seats SET {} WHERE event_id = $3 AND {among}
                 RETURNING position, seat_code",
                taker.set()
            );
            let rows: Vec<(i64, String)> = sqlx::query_as(&sql)
                .bind(taker.id())
                .bind(at)
                .bind(event_id)
                .bind(seat_type)
                .bind(need as i64)
                .bind(from)
                .fetch_all(self.conn().await?)
                .await?;
            taken.extend(rows);
            if taken.len() > quantity {
                return Err(StoreError::Corrupt(format!("took {} seats for {quantity}", taken.len())));
            }
            if taken.len() == quantity {
                break;
            }
        }
        taken.sort();
        self.seat_deltas.push(SeatDelta {
            event_id: event_id.to_string(),
            seat_type: seat_type.to_string(),
            free: -(taken.len() as i64),
            position: taken.first().map_or(0, |(p, _)| *p),
        });
        Ok(taken.into_iter().map(|(_, seat)| seat).collect())
    }

    /// Give a purchase's seats back (declined, expired, cancelled, refunded): a
    /// seat type with a waiting list holds them for the first in line
    /// ([`StoreTx::hand_to_line`]); otherwise they are on sale again.
    pub async fn release_seats(&mut self, purchase_id: &str, at: Timestamp) -> Result<(), StoreError> {
        let freed: Vec<(String, String, i64)> = sqlx::query_as(
            "UPDATE seats SET state = 'free', purchase_id = NULL, cancelled_at = $1 WHERE purchase_id = $2
             RETURNING event_id, seat_type, position",
        )
        .bind(at)
        .bind(purchase_id)
        .fetch_all(self.conn().await?)
        .await?;
        self.seats_freed(freed, at).await
    }

    /// Write back a purchase changed by the domain, with its journal rows.
    /// Fails with [`StoreError::Conflict`] if another transaction changed it
    /// since it was loaded here (the caller retries from the start).
    pub async fn save_purchase(
        &mut self,
        p: &Purchase,
        transitions: &[Transition],
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if self.save_new_purchase(p) {
            for t in transitions {
                self.journal_at("purchase", &p.id, t.action, Some(&t.from), Some(&t.to), actor, "{}", at);
            }
            return Ok(());
        }
        let version = *self
            .versions
            .get(&p.id)
            .ok_or_else(|| StoreError::Corrupt(format!("purchase {} saved without being loaded", p.id)))?;
        let r = sqlx::query(
            "UPDATE purchases SET payment_status = $1, payment_ref = $2, issue_guide_state = $3, issue_call_count = $4,
               issued = $5, issued_at = $6, usage_call_count = $7, admission_state = $8, permit_issued_at = $9,
               admitted_at = $10, hold_until = $11, version = version + 1
             WHERE id = $12 AND version = $13",
        )
        .bind(p.payment_status.as_str())
        .bind(&p.payment_ref)
        .bind(p.issue_guide.as_str())
        .bind(p.issue_call_count as i64)
        .bind(p.issued as i64)
        .bind(p.issued_at)
        .bind(p.usage_call_count as i64)
        .bind(p.admission.as_str())
        .bind(p.permit_issued_at)
        .bind(p.admitted_at)
        .bind(p.hold_until)
        .bind(&p.id)
        .bind(version)
        .execute(self.conn().await?)
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        self.versions.insert(p.id.clone(), version + 1);
        for t in transitions {
            self.journal_at("purchase", &p.id, t.action, Some(&t.from), Some(&t.to), actor, "{}", at);
        }
        Ok(())
    }

    /// Record `jti` as the purchase's current link for `purpose` (a re-issue:
    /// older links of that purpose stop working; `purpose` as in
    /// `links::Purpose::as_str`).
    pub async fn set_link_head(
        &mut self,
        purchase_id: &str,
        purpose: &str,
        jti: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO link_heads (purchase_id, purpose, jti, issued_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (purchase_id, purpose) DO UPDATE SET jti = excluded.jti, issued_at = excluded.issued_at",
        )
        .bind(purchase_id)
        .bind(purpose)
        .bind(jti)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// The purchase paid (or being paid) with a provider's charge reference.
    pub async fn purchase_by_payment_ref(&mut self, reference: &str) -> Result<Option<Purchase>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as("SELECT id FROM purchases WHERE payment_ref = $1")
            .bind(reference)
            .fetch_optional(self.conn().await?)
            .await?;
        match id {
            Some((id,)) => self.purchase(&id).await,
            None => Ok(None),
        }
    }

    /// Record a provider callback by its event id. `Some(outcome)` if it was seen before.
    pub async fn claim_payment_event(
        &mut self,
        event_id: &str,
        reference: &str,
        status: &str,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let r = sqlx::query(
            "INSERT INTO payment_events (event_id, reference, status, outcome, received_at) VALUES ($1, $2, $3, '', $4)
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(reference)
        .bind(status)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        if r.rows_affected() == 1 {
            return Ok(None);
        }
        let (outcome,): (String,) = sqlx::query_as("SELECT outcome FROM payment_events WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(self.conn().await?)
            .await?;
        Ok(Some(outcome))
    }

    pub async fn finish_payment_event(&mut self, event_id: &str, outcome: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE payment_events SET outcome = $1 WHERE event_id = $2")
            .bind(outcome)
            .bind(event_id)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}

/// Load a purchase outside a write transaction (pages).
async fn load_purchase(conn: &mut AnyConnection, id: &str) -> Result<Option<Purchase>, StoreError> {
    Ok(load_purchase_versioned(conn, id).await?.map(|(p, _)| p))
}

async fn load_purchase_versioned(conn: &mut AnyConnection, id: &str) -> Result<Option<(Purchase, i64)>, StoreError> {
    let Some(r) = sqlx::query("SELECT * FROM purchases WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?
    else {
        return Ok(None);
    };
    let seats: Vec<(String,)> = sqlx::query_as("SELECT seat_code FROM seats WHERE purchase_id = $1 ORDER BY position")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let mut p = super::holder::purchase_from_row(&r)?;
    p.seats = seats.into_iter().map(|(s,)| s).collect();
    Ok(Some((p, r.try_get("version")?)))
}
