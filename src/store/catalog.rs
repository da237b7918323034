//! The catalog: organizers (with their password hash and billing), events,
//! seat types and seats, loaded from a catalog file ([`Store::load_catalog`]:
//! an upsert that only ever adds seats, so a reload never puts a sold seat back
//! on sale), an event's staff PIN epoch, and what organizers read of their sales.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, StoreTx};
use crate::domain::Timestamp;
use crate::events::{CatalogFile, EventView, SeatTypeView};

impl Store {
    /// Load (upsert) a catalog file.
    ///
    /// Organizer passwords are hashed first, once: not inside the transaction
    /// (on SQLite, every write would wait for Argon2) nor again on each retry.
    pub async fn load_catalog(&self, file: &CatalogFile) -> Result<(usize, usize), StoreError> {
        let mut password_hashes = HashMap::new();
        for o in &file.organizers {
            if let Some(pw) = &o.password {
                let hash = crate::auth::hash_password(pw)
                    .map_err(|e| StoreError::Corrupt(format!("password hashing: {e}")))?;
                password_hashes.insert(o.id.as_str(), hash);
            }
        }
        Store::retry(|| async {
            let mut tx = self.begin().await?;
            let seats = tx.upsert_catalog(file, &password_hashes, "admin").await?;
            tx.commit().await?;
            Ok::<_, StoreError>(seats)
        })
        .await
        .map(|seats| (file.events.len(), seats))
    }

    /// Every event with its seat types. One connection for all the reads: each
    /// checkout from the pool is a round trip more (see [`super::holder`]).
    pub async fn events(&self) -> Result<Vec<EventView>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query("SELECT * FROM events ORDER BY starts_at, id").fetch_all(&mut *conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut e = event_from_row(&r)?;
            e.seat_types = self.seat_types(&mut conn, &e.id, false).await?.1;
            out.push(e);
        }
        Ok(out)
    }

    pub async fn event(&self, id: &str) -> Result<Option<EventView>, StoreError> {
        let mut conn = self.read_conn().await?;
        let event = self.event_on(&mut conn, id).await;
        self.after_read(&mut conn, &event).await;
        event
    }

    /// [`Store::event`] on `conn` (a page reading more on the same connection):
    /// the event's row and its seat types in one statement.
    pub(super) async fn event_on(&self, conn: &mut AnyConnection, id: &str) -> Result<Option<EventView>, StoreError> {
        let (row, types) = self.seat_types(conn, id, true).await?;
        let Some(row) = row else { return Ok(None) };
        let mut e = event_from_row(&row)?;
        e.seat_types = types;
        Ok(Some(e))
    }

    /// `event_id`'s seat types, each with its free seats (kept for a second, see
    /// [`super::seat_counts`]); `with_event`: and the event's row (`None`: no
    /// such event), joined to them.
    async fn seat_types(
        &self,
        conn: &mut AnyConnection,
        event_id: &str,
        with_event: bool,
    ) -> Result<(Option<AnyRow>, Vec<SeatTypeView>), StoreError> {
        let now = std::time::Instant::now();
        let kept = self.seat_counts.get(event_id, now);
        let count = if kept.is_some() {
            "NULL"
        } else {
            "(SELECT COUNT(*) FROM seats s WHERE s.event_id = t.event_id AND s.seat_type = t.code AND s.state = 'free')"
        };
        let columns =
            format!("t.code AS type_code, t.name AS type_name, t.price AS type_price, t.gate AS type_gate, {count} AS type_free");
        // An event without seat types is one row of NULL type columns.
        let sql = if with_event {
            format!(
                "SELECT e.*, {columns} FROM events e LEFT JOIN seat_types t ON t.event_id = e.id
                 WHERE e.id = $1 ORDER BY t.price DESC, t.code"
            )
        } else {
            format!("SELECT {columns} FROM seat_types t WHERE t.event_id = $1 ORDER BY t.price DESC, t.code")
        };
        let mut rows = sqlx::query(&sql).bind(event_id).fetch_all(conn).await?;
        let mut types = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(code) = r.try_get::<Option<String>, _>("type_code")? else { continue };
            let available = match &kept {
                Some(free) => free.get(&code).copied().unwrap_or(0),
                None => r.try_get("type_free")?,
            };
            types.push(SeatTypeView {
                code,
                name: r.try_get("type_name")?,
                price: r.try_get("type_price")?,
                available,
                gate: r.try_get("type_gate")?,
            });
        }
        if kept.is_none() && !(with_event && rows.is_empty()) {
            let free = types.iter().map(|t| (t.code.clone(), t.available)).collect();
            self.seat_counts.put(event_id, free, now);
        }
        let row = if with_event && !rows.is_empty() { Some(rows.swap_remove(0)) } else { None };
        Ok((row, types))
    }

    /// Count rows of a table matching a state, for tests and the admin view.
    pub async fn count_seats(&self, event_id: &str, state: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM seats WHERE event_id = $1 AND state = $2")
            .bind(event_id)
            .bind(state)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Seats per type and state for the organizer's sales view: `free`, `held`
    /// (reserved, payment pending, or offered to a waiting-list place) and `sold`
    /// (paid, issued or admitted).
    pub async fn seat_counts(&self, event_id: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.seat_type AS seat_type,
                    CASE WHEN s.state = 'free' THEN 'free' WHEN s.state = 'offered' OR p.payment_status = 'pending' THEN 'held'
                         ELSE 'sold' END AS st,
                    COUNT(*) AS n
             FROM seats s LEFT JOIN purchases p ON p.id = s.purchase_id
             WHERE s.event_id = $1 GROUP BY s.seat_type, st ORDER BY s.seat_type, st",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("seat_type")?, r.try_get("st")?, r.try_get("n")?))).collect()
    }

    /// Paid purchases of an event: (reserved at, tickets, amount), for per-day sales.
    pub async fn paid_sales(&self, event_id: &str) -> Result<Vec<(Timestamp, i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT reserved_at, quantity, amount FROM purchases WHERE event_id = $1 AND payment_status = 'paid'
             ORDER BY reserved_at",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Tickets sold (paid, not refunded) over all of an organizer's events, and what was paid in.
    pub async fn organizer_totals(&self, organizer_id: &str) -> Result<Option<(String, i64, i64)>, StoreError> {
        let org: Option<(String,)> = sqlx::query_as("SELECT name FROM organizers WHERE id = $1")
            .bind(organizer_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some((name,)) = org else { return Ok(None) };
        let (tickets, paid): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT CAST(SUM(p.quantity) AS BIGINT), (SELECT paid FROM organizer_billing WHERE organizer_id = $1)
             FROM purchases p JOIN events e ON e.id = p.event_id
             WHERE e.organizer_id = $2 AND p.payment_status = 'paid'",
        )
        .bind(organizer_id)
        .bind(organizer_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some((name, tickets.unwrap_or(0), paid.unwrap_or(0))))
    }

    /// An organizer's stored password hash (`None`: no such organizer, or no
    /// password set). Checked with [`crate::auth::verify_password`].
    pub async fn organizer_password_hash(&self, organizer_id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = sqlx::query_as("SELECT password_hash FROM organizers WHERE id = $1")
            .bind(organizer_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(hash,)| hash))
    }
}

impl StoreTx {
    /// The event without its seat types (read in the calls' transactions; see
    /// [`StoreTx::gate_of`] for the one thing of a seat type they need).
    pub async fn event(&mut self, id: &str) -> Result<Option<EventView>, StoreError> {
        let r = sqlx::query("SELECT * FROM events WHERE id = $1").bind(id).fetch_optional(self.conn().await?).await?;
        r.as_ref().map(event_from_row).transpose()
    }

    /// The gate `seat_type`'s seats enter by (catalog `gate`), if one is named.
    pub async fn gate_of(&mut self, event_id: &str, seat_type: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT gate FROM seat_types WHERE event_id = $1 AND code = $2")
                .bind(event_id)
                .bind(seat_type)
                .fetch_optional(self.conn().await?)
                .await?;
        Ok(row.and_then(|(gate,)| gate))
    }

    /// Let staff admit `event_id`'s tickets with the staff PIN on the holder's
    /// phone, or stop it (the catalog's `staff_pin_admission`, changed without a
    /// reload), journalled by `actor`. `false` for no such event.
    pub async fn set_pin_admission(&mut self, event_id: &str, on: bool, actor: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE events SET pin_admission = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(event_id)
            .execute(self.conn().await?)
            .await?
            .rows_affected()
            > 0;
        if done {
            self.journal("event", event_id, "pin_admission", None, Some(if on { "on" } else { "off" }), actor, "{}");
        }
        Ok(done)
    }

    /// Replace the event's staff PIN: its PIN epoch goes one up (the PIN before
    /// stops admitting), journalled as `staff_pin_rotated` by `actor`. The new
    /// epoch, or `None` for no such event.
    pub async fn rotate_staff_pin(&mut self, event_id: &str, actor: &str) -> Result<Option<i64>, StoreError> {
        let epoch: Option<(i64,)> = sqlx::query_as(
            "UPDATE events SET staff_pin_epoch = staff_pin_epoch + 1 WHERE id = $1 RETURNING staff_pin_epoch",
        )
        .bind(event_id)
        .fetch_optional(self.conn().await?)
        .await?;
        if let Some((n,)) = epoch {
            self.journal("event", event_id, "staff_pin_rotated", None, None, actor, &format!("{{\"epoch\":{n}}}"));
        }
        Ok(epoch.map(|(n,)| n))
    }

    /// Upsert a catalog; returns the number of seats added. `password_hashes`:
    /// each organizer's new password hash, by organizer id (see [`super::Store::load_catalog`]);
    /// `actor`: who loads it, for the journal.
    pub(super) async fn upsert_catalog(
        &mut self,
        file: &CatalogFile,
        password_hashes: &HashMap<&str, String>,
        actor: &str,
    ) -> Result<usize, StoreError> {
        let t = super::now();
        for o in &file.organizers {
            sqlx::query(
                "INSERT INTO organizers (id, name, address, phone, representative, contact, email, registered_at, notes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, phone = excluded.phone,
                   representative = excluded.representative, contact = excluded.contact, email = excluded.email,
                   notes = excluded.notes",
            )
            .bind(&o.id)
            .bind(&o.name)
            .bind(&o.address)
            .bind(&o.phone)
            .bind(&o.representative)
            .bind(&o.contact)
            .bind(&o.email)
            .bind(t)
            .bind(&o.notes)
            .execute(self.conn().await?)
            .await?;
            if let Some(hash) = password_hashes.get(o.id.as_str()) {
                sqlx::query("UPDATE organizers SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(&o.id)
                    .execute(self.conn().await?)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO organizer_billing (organizer_id, billed, paid, balance, updated_at) VALUES ($1, 0, 0, 0, $2)
                 ON CONFLICT (organizer_id) DO NOTHING",
            )
            .bind(&o.id)
            .bind(t)
            .execute(self.conn().await?)
            .await?;
        }
        let mut seats_added = 0;
        for e in &file.events {
            let known: Option<(String,)> = sqlx::query_as("SELECT id FROM organizers WHERE id = $1")
                .bind(&e.organizer)
                .fetch_optional(self.conn().await?)
                .await?;
            if known.is_none() {
                return Err(StoreError::UnknownOrganizer(e.organizer.clone()));
            }
            let opens = e.admission_opens.unwrap_or(e.doors_open).timestamp();
            let closes = e.admission_closes.map(|d| d.timestamp()).unwrap_or(e.starts_at.timestamp() + 4 * 3600);
            sqlx::query(
                "INSERT INTO events (id, organizer_id, genre, name, description, region, venue, starts_at, doors_open, curtain,
                   sale_start, sale_end, admission_opens, admission_closes, cancellable_days, contact, currency,
                   pin_admission, time_zone, reentry, call_order, offer_minutes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, COALESCE($18, 0),
                   COALESCE($19, ''), COALESCE($20, 0), COALESCE($21, 0), COALESCE($22, $23))
                 ON CONFLICT (id) DO UPDATE SET organizer_id = excluded.organizer_id, genre = excluded.genre,
                   name = excluded.name, description = excluded.description, region = excluded.region,
                   venue = excluded.venue, starts_at = excluded.starts_at, doors_open = excluded.doors_open,
                   curtain = excluded.curtain, sale_start = excluded.sale_start, sale_end = excluded.sale_end,
                   admission_opens = excluded.admission_opens, admission_closes = excluded.admission_closes,
                   cancellable_days = excluded.cancellable_days, contact = excluded.contact, currency = excluded.currency,
                   pin_admission = COALESCE($18, events.pin_admission),
                   time_zone = COALESCE($19, events.time_zone),
                   reentry = COALESCE($20, events.reentry),
                   call_order = COALESCE($21, events.call_order),
                   offer_minutes = COALESCE($22, events.offer_minutes)",
            )
            .bind(&e.id)
            .bind(&e.organizer)
            .bind(&e.genre)
            .bind(&e.name)
            .bind(&e.description)
            .bind(&e.region)
            .bind(&e.venue)
            .bind(e.starts_at.to_rfc3339())
            .bind(e.doors_open.to_rfc3339())
            .bind(e.curtain.to_rfc3339())
            .bind(e.sale_start.timestamp())
            .bind(e.sale_end.timestamp())
            .bind(opens)
            .bind(closes)
            .bind(e.cancellable_days)
            .bind(&e.contact)
            .bind(&e.currency)
            .bind(e.staff_pin_admission.map(i64::from))
            .bind(e.time_zone.as_deref())
            .bind(e.reentry.map(i64::from))
            .bind(e.call_order.map(i64::from))
            .bind(e.offer_minutes)
            .bind(crate::waitlist::DEFAULT_OFFER_MINUTES)
            .execute(self.conn().await?)
            .await?;
            // A new seat comes after the event's others in sale order: its position
            // names it in ticket codes (`door::code`), so it is never one that a seat
            // loaded before already has.
            // Nor one a seat removed in the back office had (`seat_positions_used`).
            let (last,): (Option<i64>,) = sqlx::query_as(
                "SELECT MAX(p) FROM (SELECT MAX(position) AS p FROM seats WHERE event_id = $1
                 UNION ALL SELECT seat_positions_used AS p FROM events WHERE id = $2) AS used",
            )
            .bind(&e.id)
            .bind(&e.id)
            .fetch_one(self.conn().await?)
            .await?;
            let mut position = last.unwrap_or(0);
            for s in &e.seat_types {
                sqlx::query(
                    "INSERT INTO seat_types (event_id, code, name, price, gate) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (event_id, code) DO UPDATE SET name = excluded.name, price = excluded.price,
                       gate = excluded.gate",
                )
                .bind(&e.id)
                .bind(&s.code)
                .bind(&s.name)
                .bind(s.price)
                .bind(s.gate.as_deref().map(str::to_ascii_uppercase))
                .execute(self.conn().await?)
                .await?;
                for code in s.seat_codes() {
                    let r = sqlx::query(
                        "INSERT INTO seats (event_id, seat_code, seat_type, position, price, state)
                         VALUES ($1, $2, $3, $4, $5, 'free') ON CONFLICT (event_id, seat_code) DO NOTHING",
                    )
                    .bind(&e.id)
                    .bind(&code)
                    .bind(&s.code)
                    .bind(position + 1)
                    .bind(s.price)
                    .execute(self.conn().await?)
                    .await?;
                    position += r.rows_affected() as i64;
                    seats_added += r.rows_affected() as usize;
                }
            }
            self.journal("event", &e.id, "loaded", None, None, actor, "{}");
            self.seats_changed.push(e.id.clone());
        }
        Ok(seats_added)
    }
}

fn event_from_row(r: &AnyRow) -> Result<EventView, StoreError> {
    Ok(EventView {
        id: r.try_get("id")?,
        organizer: r.try_get("organizer_id")?,
        genre: r.try_get("genre")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        region: r.try_get("region")?,
        venue: r.try_get("venue")?,
        starts_at: r.try_get("starts_at")?,
        doors_open: r.try_get("doors_open")?,
        curtain: r.try_get("curtain")?,
        sale_start: r.try_get("sale_start")?,
        sale_end: r.try_get("sale_end")?,
        admission_opens: r.try_get("admission_opens")?,
        admission_closes: r.try_get("admission_closes")?,
        cancellable_days: r.try_get("cancellable_days")?,
        contact: r.try_get("contact")?,
        currency: r.try_get("currency")?,
        time_zone: r.try_get("time_zone")?,
        seat_types: Vec::new(),
        staff_pin_epoch: r.try_get("staff_pin_epoch")?,
        pin_admission: r.try_get::<i64, _>("pin_admission")? != 0,
        reentry: r.try_get::<i64, _>("reentry")? != 0,
        call_order: r.try_get::<i64, _>("call_order")? != 0,
        offer_minutes: r.try_get("offer_minutes")?,
        sales_paused: r.try_get::<i64, _>("sales_paused")? != 0,
        published: r.try_get::<i64, _>("published")? != 0,
        phone_limit: r.try_get("phone_limit")?,
    })
}
