//! Storage: SQLite through sqlx.
//!
//! Every state change is one database transaction ([`StoreTx`]) that writes
//! the new state, its journal rows and any mail to send (the outbox) together,
//! so a crash can lose neither a mail nor a journal row, and can never apply a
//! change twice: calls carry an idempotency key (`calls.call_key`), orders a
//! form token.
//!
//! Write transactions start with `BEGIN IMMEDIATE` so two writers queue on
//! SQLite's lock instead of failing when a read lock is upgraded.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::domain::{AdmissionState, IssueGuideState, PaymentStatus, Purchase, Reservation, Timestamp, Transition};
use crate::events::{CatalogFile, EventView, SeatTypeView};
use crate::phone::PhoneNumber;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL '{0}' (this build supports sqlite://)")]
    Unsupported(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unknown organizer '{0}'")]
    UnknownOrganizer(String),
    #[error("only {available} '{seat_type}' seats left")]
    NotEnoughSeats { seat_type: String, available: i64 },
    #[error("no such seat type '{0}'")]
    NoSuchSeatType(String),
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// A phone user (seed 000 fig. 9).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PhoneUser {
    pub phone: PhoneNumber,
    pub user_number: String,
    pub mail_address: Option<String>,
    pub language: String,
    pub access_count: i64,
}

/// The record of one INVITE handed to the ticket logic.
#[derive(Debug, Clone)]
pub struct CallRecord<'a> {
    pub call_key: &'a str,
    pub action: &'a str,
    pub dialed: &'a str,
    pub caller: &'a str,
    pub identity_source: &'a str,
    pub trusted: bool,
    pub source: &'a str,
}

/// A rendered mail waiting in the outbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxMail {
    pub id: i64,
    pub to_addr: String,
    pub template: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// A journal row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JournalEntry {
    pub seq: i64,
    pub at: i64,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor: String,
}

pub fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Open (creating if needed) the database and run migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Unsupported(url.to_string()));
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = std::path::Path::new(opts.get_filename()).parent() {
            if !parent.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Start a write transaction.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        Ok(StoreTx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await? })
    }

    /// Load (upsert) a catalog file.
    pub async fn load_catalog(&self, file: &CatalogFile) -> Result<(usize, usize), StoreError> {
        let mut tx = self.begin().await?;
        let t = now();
        for o in &file.organizers {
            sqlx::query(
                "INSERT INTO organizers (id, name, address, phone, representative, contact, email, registered_at, notes)
                 VALUES (?,?,?,?,?,?,?,?,?)
                 ON CONFLICT(id) DO UPDATE SET name=excluded.name, address=excluded.address, phone=excluded.phone,
                   representative=excluded.representative, contact=excluded.contact, email=excluded.email, notes=excluded.notes",
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
            .execute(&mut *tx.tx)
            .await?;
            sqlx::query("INSERT OR IGNORE INTO organizer_billing (organizer_id, updated_at) VALUES (?, ?)")
                .bind(&o.id)
                .bind(t)
                .execute(&mut *tx.tx)
                .await?;
        }
        let mut seats_added = 0;
        for e in &file.events {
            let known: Option<(String,)> = sqlx::query_as("SELECT id FROM organizers WHERE id = ?")
                .bind(&e.organizer)
                .fetch_optional(&mut *tx.tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::UnknownOrganizer(e.organizer.clone()));
            }
            let opens = e.admission_opens.unwrap_or(e.doors_open).timestamp();
            let closes = e.admission_closes.map(|d| d.timestamp()).unwrap_or(e.starts_at.timestamp() + 4 * 3600);
            sqlx::query(
                "INSERT INTO events (id, organizer_id, genre, name, description, region, venue, starts_at, doors_open, curtain,
                   sale_start, sale_end, admission_opens, admission_closes, cancellable_days, contact, currency)
                 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                 ON CONFLICT(id) DO UPDATE SET organizer_id=excluded.organizer_id, genre=excluded.genre, name=excluded.name,
                   description=excluded.description, region=excluded.region, venue=excluded.venue, starts_at=excluded.starts_at,
                   doors_open=excluded.doors_open, curtain=excluded.curtain, sale_start=excluded.sale_start,
                   sale_end=excluded.sale_end, admission_opens=excluded.admission_opens,
                   admission_closes=excluded.admission_closes, cancellable_days=excluded.cancellable_days,
                   contact=excluded.contact, currency=excluded.currency",
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
            .execute(&mut *tx.tx)
            .await?;
            for s in &e.seat_types {
                sqlx::query(
                    "INSERT INTO seat_types (event_id, code, name, price) VALUES (?,?,?,?)
                     ON CONFLICT(event_id, code) DO UPDATE SET name=excluded.name, price=excluded.price",
                )
                .bind(&e.id)
                .bind(&s.code)
                .bind(&s.name)
                .bind(s.price)
                .execute(&mut *tx.tx)
                .await?;
                for code in s.seat_codes() {
                    let r = sqlx::query(
                        "INSERT OR IGNORE INTO seats (event_id, seat_code, seat_type, price) VALUES (?,?,?,?)",
                    )
                    .bind(&e.id)
                    .bind(&code)
                    .bind(&s.code)
                    .bind(s.price)
                    .execute(&mut *tx.tx)
                    .await?;
                    seats_added += r.rows_affected() as usize;
                }
            }
            tx.journal("event", &e.id, "loaded", None, None, "admin", "{}").await?;
        }
        tx.commit().await?;
        Ok((file.events.len(), seats_added))
    }

    pub async fn events(&self) -> Result<Vec<EventView>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events ORDER BY starts_at, id").fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut e = event_from_row(&r);
            e.seat_types = self.seat_types(&e.id).await?;
            out.push(e);
        }
        Ok(out)
    }

    pub async fn event(&self, id: &str) -> Result<Option<EventView>, StoreError> {
        let Some(r) = sqlx::query("SELECT * FROM events WHERE id = ?").bind(id).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let mut e = event_from_row(&r);
        e.seat_types = self.seat_types(&e.id).await?;
        Ok(Some(e))
    }

    async fn seat_types(&self, event_id: &str) -> Result<Vec<SeatTypeView>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.code, t.name, t.price,
                    (SELECT COUNT(*) FROM seats s WHERE s.event_id = t.event_id AND s.seat_type = t.code AND s.state = 'free') AS available
             FROM seat_types t WHERE t.event_id = ? ORDER BY t.price DESC, t.code",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| SeatTypeView {
                code: r.get("code"),
                name: r.get("name"),
                price: r.get("price"),
                available: r.get("available"),
            })
            .collect())
    }

    pub async fn purchase(&self, id: &str) -> Result<Option<Purchase>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_purchase(&mut conn, id).await
    }

    pub async fn phone_user(&self, phone: &PhoneNumber) -> Result<Option<PhoneUser>, StoreError> {
        let r = sqlx::query("SELECT * FROM phone_users WHERE phone = ?")
            .bind(phone.as_str())
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| user_from_row(&r)).transpose()
    }

    pub async fn purchase_by_form_token(&self, token: &str) -> Result<Option<Purchase>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as("SELECT id FROM purchases WHERE form_token = ?")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some((id,)) => self.purchase(&id).await,
            None => Ok(None),
        }
    }

    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMail>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM mail_outbox ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(mail_from_row).collect())
    }

    pub async fn outbox_mail(&self, id: i64) -> Result<Option<OutboxMail>, StoreError> {
        let r = sqlx::query("SELECT * FROM mail_outbox WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        Ok(r.as_ref().map(mail_from_row))
    }

    /// Mails due for (re)sending.
    pub async fn due_mail(&self, at: Timestamp, limit: i64) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM mail_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        )
        .bind(at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(mail_from_row).collect())
    }

    /// `state` is `sent` (SMTP accepted it) or `local` (kept in the local outbox).
    pub async fn mail_delivered(&self, id: i64, state: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET state = ?, sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
        )
        .bind(state)
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A failed attempt: try again at `retry_at`, or give up (`permanent`) and keep the mail as `failed`.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Timestamp,
        permanent: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
                    state = CASE WHEN ? THEN 'failed' ELSE state END WHERE id = ?",
        )
        .bind(error)
        .bind(retry_at)
        .bind(permanent)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn journal_for(&self, entity_id: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query("SELECT * FROM journal WHERE entity_id = ? ORDER BY seq")
            .bind(entity_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| JournalEntry {
                seq: r.get("seq"),
                at: r.get("at"),
                entity: r.get("entity"),
                entity_id: r.get("entity_id"),
                action: r.get("action"),
                from_state: r.get("from_state"),
                to_state: r.get("to_state"),
                actor: r.get("actor"),
            })
            .collect())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// One write transaction. Dropping it without [`StoreTx::commit`] rolls back.
pub struct StoreTx {
    tx: Transaction<'static, Sqlite>,
}

impl StoreTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Claim an idempotency key for a call. `Some(outcome)` if this key was
    /// already handled (the stored outcome is to be repeated, nothing redone).
    pub async fn claim_call(&mut self, c: &CallRecord<'_>, at: Timestamp) -> Result<Option<String>, StoreError> {
        let r = sqlx::query(
            "INSERT INTO calls (call_key, action, dialed, caller, identity_source, trusted, source, created_at)
             VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(call_key) DO NOTHING",
        )
        .bind(c.call_key)
        .bind(c.action)
        .bind(c.dialed)
        .bind(c.caller)
        .bind(c.identity_source)
        .bind(c.trusted)
        .bind(c.source)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        if r.rows_affected() == 1 {
            return Ok(None);
        }
        let (outcome,): (Option<String>,) = sqlx::query_as("SELECT outcome FROM calls WHERE call_key = ?")
            .bind(c.call_key)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(Some(outcome.unwrap_or_default()))
    }

    pub async fn finish_call(&mut self, call_key: &str, outcome: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE calls SET outcome = ? WHERE call_key = ?")
            .bind(outcome)
            .bind(call_key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Find or create the phone user of a caller and count the access.
    pub async fn touch_phone_user(
        &mut self,
        phone: &PhoneNumber,
        language: &str,
        at: Timestamp,
    ) -> Result<PhoneUser, StoreError> {
        let updated = sqlx::query(
            "UPDATE phone_users SET access_count = access_count + 1, last_access_at = ? WHERE phone = ? RETURNING *",
        )
        .bind(at)
        .bind(phone.as_str())
        .fetch_optional(&mut *self.tx)
        .await?;
        if let Some(r) = updated {
            return user_from_row(&r);
        }
        // The user number is random (seed 000: issued on first call), retried on the rare collision.
        for _ in 0..8 {
            let user_number = format!("{:010}", rand::random_range(0..10_000_000_000u64));
            let r = sqlx::query(
                "INSERT INTO phone_users (phone, user_number, language, registered_at, last_access_at, access_count)
                 VALUES (?,?,?,?,?,1) ON CONFLICT(user_number) DO NOTHING RETURNING *",
            )
            .bind(phone.as_str())
            .bind(&user_number)
            .bind(language)
            .bind(at)
            .bind(at)
            .fetch_optional(&mut *self.tx)
            .await?;
            if let Some(r) = r {
                let user = user_from_row(&r)?;
                self.journal("phone-user", &user.user_number, "registered", None, None, "system", "{}").await?;
                return Ok(user);
            }
        }
        Err(StoreError::Corrupt("could not allocate a unique user number".into()))
    }

    /// The caller's purchases, oldest first.
    pub async fn purchases_for_phone(&mut self, phone: &PhoneNumber) -> Result<Vec<Purchase>, StoreError> {
        let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM purchases WHERE phone = ? ORDER BY reserved_at, id")
            .bind(phone.as_str())
            .fetch_all(&mut *self.tx)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            if let Some(p) = load_purchase(&mut self.tx, &id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub async fn purchase(&mut self, id: &str) -> Result<Option<Purchase>, StoreError> {
        load_purchase(&mut self.tx, id).await
    }

    pub async fn event(&mut self, id: &str) -> Result<Option<EventView>, StoreError> {
        let r = sqlx::query("SELECT * FROM events WHERE id = ?").bind(id).fetch_optional(&mut *self.tx).await?;
        Ok(r.as_ref().map(event_from_row))
    }

    /// Reserve `quantity` free seats of a type and create the purchase (payment pending).
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve(
        &mut self,
        user: &PhoneUser,
        event: &EventView,
        seat_type: &str,
        quantity: u32,
        payment_method: &str,
        form_token: &str,
        at: Timestamp,
    ) -> Result<Purchase, StoreError> {
        let price: Option<(i64,)> = sqlx::query_as("SELECT price FROM seat_types WHERE event_id = ? AND code = ?")
            .bind(&event.id)
            .bind(seat_type)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some((price,)) = price else {
            return Err(StoreError::NoSuchSeatType(seat_type.to_string()));
        };
        let free: Vec<(String,)> = sqlx::query_as(
            "SELECT seat_code FROM seats WHERE event_id = ? AND seat_type = ? AND state = 'free' ORDER BY rowid LIMIT ?",
        )
        .bind(&event.id)
        .bind(seat_type)
        .bind(quantity as i64)
        .fetch_all(&mut *self.tx)
        .await?;
        if free.len() < quantity as usize {
            return Err(StoreError::NotEnoughSeats { seat_type: seat_type.to_string(), available: free.len() as i64 });
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let starts =
            chrono::DateTime::parse_from_rfc3339(&event.starts_at).map(|d| d.timestamp()).unwrap_or(event.sale_end);
        let p = Purchase::reserved(Reservation {
            id,
            user_number: user.user_number.clone(),
            phone: user.phone.clone(),
            event_id: event.id.clone(),
            seat_type: seat_type.to_string(),
            seats: free.into_iter().map(|(s,)| s).collect(),
            unit_price: price,
            payment_method: payment_method.to_string(),
            reserved_at: at,
            cancellable_until: starts - event.cancellable_days * 86400,
        });
        sqlx::query(
            "INSERT INTO purchases (id, user_number, phone, event_id, seat_type, quantity, amount, reserved_at,
               cancellable_until, payment_method, payment_status, issue_guide_state, admission_state, form_token)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(&p.id)
        .bind(&p.user_number)
        .bind(p.phone.as_str())
        .bind(&p.event_id)
        .bind(&p.seat_type)
        .bind(p.quantity as i64)
        .bind(p.amount)
        .bind(p.reserved_at)
        .bind(p.cancellable_until)
        .bind(&p.payment_method)
        .bind(p.payment_status.as_str())
        .bind(p.issue_guide.as_str())
        .bind(p.admission.as_str())
        .bind(form_token)
        .execute(&mut *self.tx)
        .await?;
        for seat in &p.seats {
            // `state = 'free'` in the WHERE makes a lost race fail loudly instead of double-selling.
            let r = sqlx::query(
                "UPDATE seats SET state = 'sold', purchase_id = ?, reserved_at = ? WHERE event_id = ? AND seat_code = ? AND state = 'free'",
            )
            .bind(&p.id)
            .bind(at)
            .bind(&p.event_id)
            .bind(seat)
            .execute(&mut *self.tx)
            .await?;
            if r.rows_affected() != 1 {
                return Err(StoreError::NotEnoughSeats { seat_type: seat_type.to_string(), available: 0 });
            }
        }
        Ok(p)
    }

    /// Give a declined purchase's seats back.
    pub async fn release_seats(&mut self, purchase_id: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE seats SET state = 'free', purchase_id = NULL, cancelled_at = ? WHERE purchase_id = ?")
            .bind(at)
            .bind(purchase_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Write back a purchase changed by the domain, with its journal rows.
    pub async fn save_purchase(
        &mut self,
        p: &Purchase,
        transitions: &[Transition],
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE purchases SET payment_status = ?, payment_ref = ?, issue_guide_state = ?, issue_call_count = ?,
               issued = ?, issued_at = ?, usage_call_count = ?, admission_state = ?, permit_issued_at = ?, admitted_at = ?
             WHERE id = ?",
        )
        .bind(p.payment_status.as_str())
        .bind(&p.payment_ref)
        .bind(p.issue_guide.as_str())
        .bind(p.issue_call_count as i64)
        .bind(p.issued)
        .bind(p.issued_at)
        .bind(p.usage_call_count as i64)
        .bind(p.admission.as_str())
        .bind(p.permit_issued_at)
        .bind(p.admitted_at)
        .bind(&p.id)
        .execute(&mut *self.tx)
        .await?;
        for t in transitions {
            self.journal_at("purchase", &p.id, t.action, Some(&t.from), Some(&t.to), actor, "{}", at).await?;
        }
        Ok(())
    }

    pub async fn enqueue_mail(
        &mut self,
        to: &str,
        template: &str,
        subject: &str,
        text: &str,
        html: &str,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO mail_outbox (to_addr, template, subject, body_text, body_html, next_attempt_at, created_at)
             VALUES (?,?,?,?,?,?,?) RETURNING id",
        )
        .bind(to)
        .bind(template)
        .bind(subject)
        .bind(text)
        .bind(html)
        .bind(at)
        .bind(at)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn journal(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.journal_at(entity, entity_id, action, from, to, actor, detail, now()).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn journal_at(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        detail: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO journal (at, entity, entity_id, action, from_state, to_state, actor, detail) VALUES (?,?,?,?,?,?,?,?)")
            .bind(at)
            .bind(entity)
            .bind(entity_id)
            .bind(action)
            .bind(from)
            .bind(to)
            .bind(actor)
            .bind(detail)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

async fn load_purchase(conn: &mut sqlx::SqliteConnection, id: &str) -> Result<Option<Purchase>, StoreError> {
    let Some(r) = sqlx::query("SELECT * FROM purchases WHERE id = ?").bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let seats: Vec<(String,)> = sqlx::query_as("SELECT seat_code FROM seats WHERE purchase_id = ? ORDER BY rowid")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let bad = |what: &str| StoreError::Corrupt(format!("purchase {id}: {what}"));
    let phone: String = r.get("phone");
    Ok(Some(Purchase {
        id: r.get("id"),
        user_number: r.get("user_number"),
        phone: PhoneNumber::parse(&phone).map_err(|_| bad("phone"))?,
        event_id: r.get("event_id"),
        seat_type: r.get("seat_type"),
        seats: seats.into_iter().map(|(s,)| s).collect(),
        quantity: r.get::<i64, _>("quantity") as u32,
        amount: r.get("amount"),
        reserved_at: r.get("reserved_at"),
        cancellable_until: r.get("cancellable_until"),
        payment_method: r.get("payment_method"),
        payment_status: PaymentStatus::parse(r.get("payment_status")).ok_or_else(|| bad("payment_status"))?,
        payment_ref: r.get("payment_ref"),
        issue_guide: IssueGuideState::parse(r.get("issue_guide_state")).ok_or_else(|| bad("issue_guide_state"))?,
        issue_call_count: r.get::<i64, _>("issue_call_count") as u32,
        issued: r.get("issued"),
        issued_at: r.get("issued_at"),
        usage_call_count: r.get::<i64, _>("usage_call_count") as u32,
        admission: AdmissionState::parse(r.get("admission_state")).ok_or_else(|| bad("admission_state"))?,
        permit_issued_at: r.get("permit_issued_at"),
        admitted_at: r.get("admitted_at"),
    }))
}

fn user_from_row(r: &SqliteRow) -> Result<PhoneUser, StoreError> {
    let phone: String = r.get("phone");
    Ok(PhoneUser {
        phone: PhoneNumber::parse(&phone).map_err(|_| StoreError::Corrupt(format!("phone user {phone}")))?,
        user_number: r.get("user_number"),
        mail_address: r.get("mail_address"),
        language: r.get("language"),
        access_count: r.get("access_count"),
    })
}

fn event_from_row(r: &SqliteRow) -> EventView {
    EventView {
        id: r.get("id"),
        organizer: r.get("organizer_id"),
        genre: r.get("genre"),
        name: r.get("name"),
        description: r.get("description"),
        region: r.get("region"),
        venue: r.get("venue"),
        starts_at: r.get("starts_at"),
        doors_open: r.get("doors_open"),
        curtain: r.get("curtain"),
        sale_start: r.get("sale_start"),
        sale_end: r.get("sale_end"),
        admission_opens: r.get("admission_opens"),
        admission_closes: r.get("admission_closes"),
        cancellable_days: r.get("cancellable_days"),
        contact: r.get("contact"),
        currency: r.get("currency"),
        seat_types: Vec::new(),
    }
}

fn mail_from_row(r: &SqliteRow) -> OutboxMail {
    OutboxMail {
        id: r.get("id"),
        to_addr: r.get("to_addr"),
        template: r.get("template"),
        subject: r.get("subject"),
        body_text: r.get("body_text"),
        body_html: r.get("body_html"),
        state: r.get("state"),
        attempts: r.get("attempts"),
        next_attempt_at: r.get("next_attempt_at"),
        last_error: r.get("last_error"),
        created_at: r.get("created_at"),
        sent_at: r.get("sent_at"),
    }
}
