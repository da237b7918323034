//! Events changed in the back office: made or edited from its form (the
//! catalog's upsert, then quantities and prices brought to what the form says),
//! sales stopped and resumed, published and unpublished, and the limit of
//! tickets per phone. Every change is journalled with the account as actor.
//!
//! Quantities: a seat type never has fewer seats than it has sold and held (the
//! edit is refused, naming the numbers); lowering it removes free seats only —
//! those the form no longer names first, then the highest positions. A price
//! change applies to the seats still free; what was paid stays as it was.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{IsConflict, Store, StoreError, StoreTx};
use crate::events::form::Settings;
use crate::events::{CatalogFile, EventDef};

#[derive(Debug, thiserror::Error)]
pub enum EventSaveError {
    #[error("there is already an event '{0}'")]
    Exists(String),
    #[error("no event '{0}'")]
    NoEvent(String),
    #[error("seat type '{code}': {wanted} seats asked for, but {sold} are sold and {held} held")]
    BelowSold { code: String, wanted: i64, sold: i64, held: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for EventSaveError {
    fn from(e: sqlx::Error) -> Self {
        EventSaveError::Store(e.into())
    }
}

impl IsConflict for EventSaveError {
    fn is_conflict(&self) -> bool {
        matches!(self, EventSaveError::Store(StoreError::Conflict))
    }
}

/// What the back office sets on an event beyond its catalog definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventControls {
    pub published: bool,
    pub sales_paused: bool,
    /// Tickets per phone; 0 for no limit.
    pub phone_limit: i64,
}

/// A seat type as its seats are now, to fill the edit form: row names with the
/// seats per row (reserved seating), or a count (general admission).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatShape {
    pub code: String,
    pub name: String,
    pub price: i64,
    pub gate: Option<String>,
    pub rows: Vec<String>,
    pub per_row: u32,
    pub count: u32,
}

/// The shape of `code`'s seats from their codes (`A-1` … rows, `{code}-1` … a count).
pub fn shape_of(code: &str, seat_codes: &[String]) -> (Vec<String>, u32, u32) {
    let mut rows: Vec<String> = Vec::new();
    let (mut per_row, mut count) = (0u32, 0u32);
    for s in seat_codes {
        let Some((row, n)) = s.rsplit_once('-') else { continue };
        let n: u32 = n.parse().unwrap_or(0);
        if row == code {
            count += 1;
        } else {
            if !rows.iter().any(|r| r == row) {
                rows.push(row.to_string());
            }
            per_row = per_row.max(n);
        }
    }
    if !rows.is_empty() {
        count = 0;
    }
    (rows, per_row, count)
}

impl Store {
    /// A new event from the form for `actor` (`account:…`): refused if the id is taken.
    pub async fn create_event(&self, def: &EventDef, settings: Settings, actor: &str) -> Result<(), EventSaveError> {
        Store::retry(|| async {
            let mut tx = self.begin().await?;
            if tx.event(&def.id).await?.is_some() {
                return Err(EventSaveError::Exists(def.id.clone()));
            }
            tx.save_event(def, settings, actor).await?;
            tx.journal("event", &def.id, "created", None, None, actor, "{}");
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// An existing event changed from the form (its id and organizer stay).
    pub async fn update_event(&self, def: &EventDef, settings: Settings, actor: &str) -> Result<(), EventSaveError> {
        Store::retry(|| async {
            let mut tx = self.begin().await?;
            if tx.event(&def.id).await?.is_none() {
                return Err(EventSaveError::NoEvent(def.id.clone()));
            }
            tx.save_event(def, settings, actor).await?;
            tx.journal("event", &def.id, "edited", None, None, actor, "{}");
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// The back office's controls of event `id`.
    pub async fn event_controls(&self, id: &str) -> Result<Option<EventControls>, StoreError> {
        let row = sqlx::query("SELECT published, sales_paused, phone_limit FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(EventControls {
                published: r.try_get::<i64, _>("published")? != 0,
                sales_paused: r.try_get::<i64, _>("sales_paused")? != 0,
                phone_limit: r.try_get("phone_limit")?,
            })
        })
        .transpose()
    }

    /// Event `id`'s seat types as their seats are now (for the edit form).
    pub async fn seat_shapes(&self, id: &str) -> Result<Vec<SeatShape>, StoreError> {
        let types =
            sqlx::query("SELECT code, name, price, gate FROM seat_types WHERE event_id = $1 ORDER BY price DESC, code")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let seats: Vec<(String, String)> =
            sqlx::query_as("SELECT seat_type, seat_code FROM seats WHERE event_id = $1 ORDER BY position")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::new();
        for t in types {
            let code: String = t.try_get("code")?;
            let codes: Vec<String> = seats.iter().filter(|(st, _)| *st == code).map(|(_, c)| c.clone()).collect();
            let (rows, per_row, count) = shape_of(&code, &codes);
            out.push(SeatShape {
                name: t.try_get("name")?,
                price: t.try_get("price")?,
                gate: t.try_get("gate")?,
                rows,
                per_row,
                count,
                code,
            });
        }
        Ok(out)
    }

    /// Every seat of `id` in sale order: (seat, seat type, position, price, free).
    pub async fn seat_rows(&self, id: &str) -> Result<Vec<(String, String, i64, i64, bool)>, StoreError> {
        let rows: Vec<(String, String, i64, i64, String)> = sqlx::query_as(
            "SELECT seat_code, seat_type, position, price, state FROM seats WHERE event_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(c, t, p, price, st)| (c, t, p, price, st == "free")).collect())
    }

    /// Stop (`true`) or resume sales of `id`; `false` for no such event.
    pub async fn set_sales_paused(&self, id: &str, paused: bool, actor: &str) -> Result<bool, StoreError> {
        let to = if paused { "paused" } else { "on_sale" };
        self.set_flag(id, "sales_paused", paused, "sales", to, actor).await
    }

    /// Publish (`true`) or unpublish `id`; `false` for no such event.
    pub async fn set_published(&self, id: &str, published: bool, actor: &str) -> Result<bool, StoreError> {
        let to = if published { "published" } else { "unpublished" };
        self.set_flag(id, "published", published, "listing", to, actor).await
    }

    async fn set_flag(
        &self,
        id: &str,
        column: &'static str,
        on: bool,
        action: &str,
        to: &str,
        actor: &str,
    ) -> Result<bool, StoreError> {
        Store::retry(|| async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(&format!("UPDATE events SET {column} = $1 WHERE id = $2"))
                .bind(i64::from(on))
                .bind(id)
                .execute(tx.conn().await?)
                .await?
                .rows_affected()
                > 0;
            if done {
                tx.journal("event", id, action, None, Some(to), actor, "{}");
            }
            tx.commit().await?;
            Ok(done)
        })
        .await
    }
}

impl StoreTx {
    /// Tickets `phone` holds for `event_id`: its paid and held (pending) purchases.
    pub async fn phone_tickets(&mut self, event_id: &str, phone: &str) -> Result<i64, StoreError> {
        let (n,): (Option<i64>,) = sqlx::query_as(
            "SELECT CAST(SUM(quantity) AS BIGINT) FROM purchases
             WHERE event_id = $1 AND phone = $2 AND payment_status IN ('paid', 'pending')",
        )
        .bind(event_id)
        .bind(phone)
        .fetch_one(self.conn().await?)
        .await?;
        Ok(n.unwrap_or(0))
    }

    /// Event `id`'s limit of tickets per phone (0: none).
    pub async fn phone_limit(&mut self, id: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT phone_limit FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn().await?)
            .await?;
        Ok(row.map(|(n,)| n).unwrap_or(0))
    }

    /// Seats of `code` per state: (all, sold, held).
    async fn seat_numbers(&mut self, event_id: &str, code: &str) -> Result<(i64, i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total,
                    COALESCE(SUM(CASE WHEN s.state <> 'free' AND p.payment_status <> 'pending' THEN 1 ELSE 0 END), 0) AS sold,
                    COALESCE(SUM(CASE WHEN s.state <> 'free' AND (p.payment_status = 'pending' OR p.id IS NULL) THEN 1 ELSE 0 END), 0) AS held
             FROM seats s LEFT JOIN purchases p ON p.id = s.purchase_id
             WHERE s.event_id = $1 AND s.seat_type = $2",
        )
        .bind(event_id)
        .bind(code)
        .fetch_one(self.conn().await?)
        .await?;
        Ok((row.try_get("total")?, row.try_get("sold")?, row.try_get("held")?))
    }

    /// The catalog's upsert of `def`, then each seat type brought to its number of
    /// seats and its price set on the free seats; refused before any write if a
    /// seat type would have fewer seats than it has sold and held.
    async fn save_event(&mut self, def: &EventDef, settings: Settings, actor: &str) -> Result<(), EventSaveError> {
        self.seats_changed.push(def.id.clone());
        for st in &def.seat_types {
            let wanted = st.seat_codes().len() as i64;
            let (_, sold, held) = self.seat_numbers(&def.id, &st.code).await?;
            if sold + held > wanted {
                return Err(EventSaveError::BelowSold { code: st.code.clone(), wanted, sold, held });
            }
        }
        let old_prices: HashMap<String, i64> =
            sqlx::query_as::<_, (String, i64)>("SELECT code, price FROM seat_types WHERE event_id = $1")
                .bind(&def.id)
                .fetch_all(self.conn().await?)
                .await?
                .into_iter()
                .collect();
        let file = CatalogFile { organizers: vec![], events: vec![def.clone()] };
        self.upsert_catalog(&file, &HashMap::new(), actor).await?;
        for st in &def.seat_types {
            if let Some(old) = old_prices.get(&st.code).filter(|p| **p != st.price) {
                sqlx::query("UPDATE seats SET price = $1 WHERE event_id = $2 AND seat_type = $3 AND state = 'free'")
                    .bind(st.price)
                    .bind(&def.id)
                    .bind(&st.code)
                    .execute(self.conn().await?)
                    .await?;
                let data = format!("{{\"seat_type\":{:?}}}", st.code);
                self.journal(
                    "event",
                    &def.id,
                    "price_changed",
                    Some(&old.to_string()),
                    Some(&st.price.to_string()),
                    actor,
                    &data,
                );
            }
            self.trim_seats(&def.id, &st.code, &st.seat_codes(), actor).await?;
        }
        sqlx::query("UPDATE events SET phone_limit = $1 WHERE id = $2")
            .bind(settings.phone_limit)
            .bind(&def.id)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Remove free seats of `code` beyond `wanted.len()`: those not in `wanted`
    /// first, then the highest positions. Their positions stay used.
    async fn trim_seats(
        &mut self,
        event_id: &str,
        code: &str,
        wanted: &[String],
        actor: &str,
    ) -> Result<(), StoreError> {
        let (total, _, _) = self.seat_numbers(event_id, code).await?;
        let excess = total - wanted.len() as i64;
        if excess <= 0 {
            return Ok(());
        }
        let mut free: Vec<(String, i64)> = sqlx::query_as(
            "SELECT seat_code, position FROM seats WHERE event_id = $1 AND seat_type = $2 AND state = 'free'",
        )
        .bind(event_id)
        .bind(code)
        .fetch_all(self.conn().await?)
        .await?;
        let named: HashSet<&str> = wanted.iter().map(String::as_str).collect();
        free.sort_by_key(|(c, p)| (named.contains(c.as_str()), -p));
        let gone: Vec<(String, i64)> = free.into_iter().take(excess as usize).collect();
        let highest = gone.iter().map(|(_, p)| *p).max().unwrap_or(0);
        sqlx::query("UPDATE events SET seat_positions_used = $1 WHERE id = $2 AND seat_positions_used < $3")
            .bind(highest)
            .bind(event_id)
            .bind(highest)
            .execute(self.conn().await?)
            .await?;
        for (seat, _) in &gone {
            sqlx::query("DELETE FROM seats WHERE event_id = $1 AND seat_code = $2 AND state = 'free'")
                .bind(event_id)
                .bind(seat)
                .execute(self.conn().await?)
                .await?;
        }
        let data = format!("{{\"seat_type\":{code:?},\"removed\":{}}}", gone.len());
        self.journal(
            "event",
            event_id,
            "seats_removed",
            Some(&total.to_string()),
            Some(&wanted.len().to_string()),
            actor,
            &data,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_of_seats_from_their_codes() {
        let codes = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(shape_of("S", &codes(&["A-1", "A-2", "B-1", "B-2"])), (vec!["A".into(), "B".into()], 2, 0));
        assert_eq!(shape_of("GA", &codes(&["GA-1", "GA-2", "GA-7"])), (vec![], 0, 3));
        assert_eq!(shape_of("GA", &[]), (vec![], 0, 0));
    }
}
