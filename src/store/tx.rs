//! [`StoreTx`]: one write transaction, the only way state changes.

use std::collections::HashMap;

use sqlx::any::AnyArguments;
use sqlx::AnyConnection;
use sqlx::Arguments;
use sqlx::{Any, Row, Transaction};

use super::rows;
use super::users::stored_phone;
use super::PhoneUser;
use super::StoreError;
use crate::domain::{AdmissionState, IssueGuideState, PaymentStatus, Purchase, Reservation, Timestamp, Transition};
use crate::events::{CatalogFile, EventView};
use crate::phone::PhoneNumber;

/// One write transaction. Dropping it without [`StoreTx::commit`] rolls back.
pub struct StoreTx {
    pub(super) conn: Conn,
    /// Version of every purchase loaded in this transaction, for the optimistic check on save.
    pub(super) versions: HashMap<String, i64>,
    /// Journal entries of this transaction, written in one statement at commit
    /// (or before the journal is read in it): a call's journal is one round trip.
    journal: Vec<JournalRow>,
    pub(super) params: Params,
    /// Mails are enqueued as delivered to the local outbox (no SMTP server).
    pub(super) local_outbox: bool,
    /// SQLite's writer: statements nobody reads a result of (`BEGIN`, inserts),
    /// kept to go in one round trip with the next statement that must run now,
    /// or with `COMMIT`. `None`: every statement runs when it is made.
    pub(super) deferred: Option<super::writer::Deferred>,
}

/// A journal entry waiting for its transaction's commit.
struct JournalRow {
    at: Timestamp,
    entity: String,
    entity_id: String,
    action: String,
    from: Option<String>,
    to: Option<String>,
    actor: String,
    detail: String,
}

/// A mail for the outbox (see [`StoreTx::enqueue_mails`]): its template, the
/// language and data (JSON) its bodies are rendered from when it is sent, and
/// its subject, rendered now.
pub struct NewMail<'a> {
    pub to: &'a str,
    pub template: &'a str,
    pub lang: &'a str,
    pub subject: &'a str,
    pub data: &'a str,
    pub at: Timestamp,
}

/// How a statement built here writes its bound parameters: PostgreSQL numbers
/// them (`$1`, `$2`, …); SQLite gets plain `?` — it keeps numbered parameters
/// in a list it searches once per parameter, which is quadratic in a statement
/// of hundreds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Params {
    Numbered,
    Plain,
}

/// `rows` rows of `row` (e.g. `"($, $, 'x')"`) for a multi-row `VALUES`, every
/// `$` a parameter in turn, numbered from `from` when numbered: one statement
/// for many rows, on SQLite and PostgreSQL.
pub(super) fn values(params: Params, from: usize, rows: usize, row: &str) -> String {
    let mut out = String::with_capacity(rows * (row.len() + 8));
    let mut n = from;
    for i in 0..rows {
        if i > 0 {
            out.push_str(", ");
        }
        for c in row.chars() {
            match (c, params) {
                ('$', Params::Numbered) => {
                    out.push('$');
                    out.push_str(&n.to_string());
                    n += 1;
                }
                ('$', Params::Plain) => out.push('?'),
                _ => out.push(c),
            }
        }
    }
    out
}

/// Parameter `n` (numbered from 1) as written in a statement.
fn param(params: Params, n: usize) -> String {
    values(params, n, 1, "$")
}

/// Many rows as one parameter: a JSON array of rows, each an array of columns
/// (see [`json_param`]), unpacked by the database — `json_each` on SQLite,
/// `jsonb_array_elements` on PostgreSQL. `columns` has a letter per column:
/// `t` text, `i` integer. Parameter `n` holds the rows.
///
/// A statement's text is then the same for any number of rows, so it is parsed
/// once and kept: with a multi-row `VALUES`, every size of group was a new
/// statement to parse (under load ~5 % of the gateway's CPU, in SQLite's parser
/// on the writer's thread). The `WHERE` lets SQLite parse an upsert after it.
pub(super) fn json_rows(params: Params, n: usize, columns: &str) -> String {
    let columns: Vec<String> = columns
        .chars()
        .enumerate()
        .map(|(i, kind)| match kind {
            'i' => format!("CAST(value->>{i} AS BIGINT)"),
            _ => format!("value->>{i}"),
        })
        .collect();
    let columns = columns.join(", ");
    match params {
        // `json_each` hands a row (an array) out as JSON text, copied anew each time the
        // column is read, and every `->>` parsed that copy again (when a mail's row had
        // eleven columns, eleven copies of its bodies, each compared and parsed). Turned
        // into binary JSON once per row, each `->>` reads it as it is.
        Params::Plain => format!(
            "WITH rows(value) AS MATERIALIZED (SELECT jsonb(value) FROM json_each(?)) SELECT {columns} FROM rows WHERE true"
        ),
        Params::Numbered => format!("SELECT {columns} FROM jsonb_array_elements(CAST(${n} AS jsonb)) WHERE true"),
    }
}

/// A list of texts as parameter `n`, for `IN (…)` (a JSON array, see [`json_rows`]).
pub(super) fn json_list(params: Params, n: usize) -> String {
    match params {
        Params::Plain => "SELECT value FROM json_each(?)".to_string(),
        Params::Numbered => format!("SELECT value FROM jsonb_array_elements_text(CAST(${n} AS jsonb))"),
    }
}

/// The parameter for [`json_rows`] or [`json_list`].
pub(super) fn json_param<T: serde::Serialize + ?Sized>(rows: &T) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|e| StoreError::Corrupt(format!("rows as JSON: {e}")))
}

const MAIL_INSERT: &str = "INSERT INTO mail_outbox (to_addr, template, lang, subject, data, body_text, body_html,
                                                    state, attempts, next_attempt_at, created_at, sent_at) ";
const MAIL_ROW: &str = "($, $, $, $, $, $, $, $, $, $, $, $)";
const MAIL_COLUMNS: &str = "ttttttttiiii";

/// A new mail's row: pending for the mail worker, or (no SMTP server) delivered
/// to the local outbox at once. The body columns are '' (see migration 0007).
fn mail_values(m: &NewMail<'_>, local_outbox: bool) -> [Value; 12] {
    let (state, attempts, sent_at) = match local_outbox {
        true => ("local", 1i64, Some(m.at)),
        false => ("pending", 0, None),
    };
    [
        m.to.into(),
        m.template.into(),
        m.lang.into(),
        m.subject.into(),
        m.data.into(),
        "".into(),
        "".into(),
        state.into(),
        attempts.into(),
        m.at.into(),
        m.at.into(),
        sent_at.into(),
    ]
}

/// A bound parameter kept with its statement (see [`StoreTx::write`]): owned,
/// and typed even when NULL (PostgreSQL wants to know the type). In JSON (see
/// [`json_rows`]), a string, number or `null`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub(super) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_string))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

/// The bound parameters of a statement (or of several sent together).
pub(super) fn arguments(values: &[Value]) -> Result<AnyArguments<'_>, StoreError> {
    let mut args = AnyArguments::default();
    for v in values {
        match v {
            Value::Text(t) => args.add(t.as_deref()),
            Value::Int(i) => args.add(*i),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// The connection a transaction runs on.
pub(super) enum Conn {
    /// A pooled connection in a sqlx transaction (PostgreSQL: many writers at once).
    Pooled(Transaction<'static, Any>),
    /// SQLite's one writer connection, held for this transaction's turn.
    Writer(super::writer::WriterTurn),
}

impl StoreTx {
    pub(super) fn pooled(tx: Transaction<'static, Any>, backend: super::Backend, local_outbox: bool) -> Self {
        let params = match backend {
            super::Backend::Sqlite => Params::Plain,
            super::Backend::Postgres => Params::Numbered,
        };
        StoreTx::new(Conn::Pooled(tx), params, local_outbox, None)
    }

    pub(super) fn new(
        conn: Conn,
        params: Params,
        local_outbox: bool,
        deferred: Option<super::writer::Deferred>,
    ) -> Self {
        StoreTx { conn, versions: HashMap::new(), journal: Vec::new(), params, local_outbox, deferred }
    }

    /// The connection for a statement to run now: what was deferred is sent first.
    pub(super) async fn conn(&mut self) -> Result<&mut AnyConnection, StoreError> {
        self.send_deferred(None).await?;
        Ok(self.raw_conn())
    }

    pub(super) fn raw_conn(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Pooled(tx) => tx,
            Conn::Writer(turn) => turn.conn(),
        }
    }

    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.flush_journal().await?;
        if matches!(self.conn, Conn::Writer(_)) {
            self.send_deferred(Some("COMMIT")).await?;
        }
        match self.conn {
            Conn::Pooled(tx) => tx.commit().await?,
            Conn::Writer(turn) => turn.committed(),
        }
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

    pub async fn purchase(&mut self, id: &str) -> Result<Option<Purchase>, StoreError> {
        let loaded = load_purchase_versioned(self.conn().await?, id).await?;
        Ok(loaded.map(|(p, version)| {
            self.versions.insert(p.id.clone(), version);
            p
        }))
    }

    pub async fn event(&mut self, id: &str) -> Result<Option<EventView>, StoreError> {
        let r = sqlx::query("SELECT * FROM events WHERE id = $1").bind(id).fetch_optional(self.conn().await?).await?;
        r.as_ref().map(rows::event).transpose()
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
        let price: Option<(i64,)> = sqlx::query_as("SELECT price FROM seat_types WHERE event_id = $1 AND code = $2")
            .bind(&event.id)
            .bind(seat_type)
            .fetch_optional(self.conn().await?)
            .await?;
        let Some((price,)) = price else {
            return Err(StoreError::NoSuchSeatType(seat_type.to_string()));
        };
        let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let seats = self.take_seats(&event.id, seat_type, quantity as usize, &id, at).await?;
        let starts =
            chrono::DateTime::parse_from_rfc3339(&event.starts_at).map(|d| d.timestamp()).unwrap_or(event.sale_end);
        let p = Purchase::reserved(Reservation {
            id,
            user_number: user.user_number.clone(),
            phone: holder.clone(),
            event_id: event.id.clone(),
            seat_type: seat_type.to_string(),
            seats,
            unit_price: price,
            payment_method: payment_method.to_string(),
            reserved_at: at,
            cancellable_until: starts - event.cancellable_days * 86400,
        });
        sqlx::query(
            "INSERT INTO purchases (id, user_number, phone, event_id, seat_type, quantity, amount, reserved_at,
               cancellable_until, payment_method, payment_status, issue_guide_state, admission_state, form_token, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0)",
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
        .execute(self.conn().await?)
        .await?;
        self.versions.insert(p.id.clone(), 0);
        Ok(p)
    }

    /// Mark `quantity` free seats sold, best positions first. Each seat is taken
    /// with `WHERE state = 'free'` and the row count checked, so a racing buyer
    /// who took it first makes us pick another instead of selling it twice.
    async fn take_seats(
        &mut self,
        event_id: &str,
        seat_type: &str,
        quantity: usize,
        purchase_id: &str,
        at: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut taken: Vec<String> = Vec::with_capacity(quantity);
        for _round in 0..16 {
            let need = quantity - taken.len();
            let candidates: Vec<(String,)> = sqlx::query_as(
                "SELECT seat_code FROM seats WHERE event_id = $1 AND seat_type = $2 AND state = 'free'
                 ORDER BY position LIMIT $3",
            )
            .bind(event_id)
            .bind(seat_type)
            .bind(need as i64)
            .fetch_all(self.conn().await?)
            .await?;
            if candidates.len() < need {
                return Err(StoreError::NotEnoughSeats {
                    seat_type: seat_type.to_string(),
                    available: (taken.len() + candidates.len()) as i64,
                });
            }
            for (seat,) in candidates {
                let r = sqlx::query(
                    "UPDATE seats SET state = 'sold', purchase_id = $1, reserved_at = $2
                     WHERE event_id = $3 AND seat_code = $4 AND state = 'free'",
                )
                .bind(purchase_id)
                .bind(at)
                .bind(event_id)
                .bind(&seat)
                .execute(self.conn().await?)
                .await?;
                if r.rows_affected() == 1 {
                    taken.push(seat);
                }
            }
            if taken.len() == quantity {
                return Ok(taken);
            }
        }
        Err(StoreError::Conflict)
    }

    /// Give a declined purchase's seats back.
    pub async fn release_seats(&mut self, purchase_id: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE seats SET state = 'free', purchase_id = NULL, cancelled_at = $1 WHERE purchase_id = $2")
            .bind(at)
            .bind(purchase_id)
            .execute(self.conn().await?)
            .await?;
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

    pub async fn enqueue_mail(&mut self, mail: &NewMail<'_>) -> Result<i64, StoreError> {
        let sql = format!("{MAIL_INSERT}VALUES {} RETURNING id", values(self.params, 1, 1, MAIL_ROW));
        let mail = mail_values(mail, self.local_outbox);
        let args = arguments(&mail)?;
        let r = sqlx::query_with(&sql, args).fetch_one(self.conn().await?).await?;
        Ok(r.try_get(0)?)
    }

    /// [`StoreTx::enqueue_mail`] for many mails in one statement.
    pub async fn enqueue_mails(&mut self, mails: &[NewMail<'_>]) -> Result<(), StoreError> {
        if mails.is_empty() {
            return Ok(());
        }
        let sql = format!("{MAIL_INSERT}{}", json_rows(self.params, 1, MAIL_COLUMNS));
        let rows: Vec<_> = mails.iter().map(|m| mail_values(m, self.local_outbox)).collect();
        self.write(&sql, vec![json_param(&rows)?.into()]).await
    }

    /// How many `action` entries each of `entity_ids` has in the journal since
    /// `since`, in one statement (entities without such entries are missing from the map).
    pub async fn journal_counts_since(
        &mut self,
        entity_ids: &[&str],
        action: &str,
        since: i64,
    ) -> Result<HashMap<String, i64>, StoreError> {
        self.flush_journal().await?;
        if entity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT entity_id, COUNT(*) FROM journal WHERE action = {} AND at >= {} AND entity_id IN ({})
             GROUP BY entity_id",
            param(self.params, 1),
            param(self.params, 2),
            json_list(self.params, 3)
        );
        let (sql, values) = self.after_deferred(sql, vec![action.into(), since.into(), json_param(entity_ids)?.into()]);
        let q = sqlx::query_as_with::<_, (String, i64), _>(&sql, arguments(&values)?);
        Ok(q.fetch_all(self.raw_conn()).await?.into_iter().collect())
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

    /// Append to the journal (written at commit, with the transaction).
    #[allow(clippy::too_many_arguments)]
    pub fn journal(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        detail: &str,
    ) {
        self.journal_at(entity, entity_id, action, from, to, actor, detail, super::now())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn journal_at(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        detail: &str,
        at: Timestamp,
    ) {
        self.journal.push(JournalRow {
            at,
            entity: entity.into(),
            entity_id: entity_id.into(),
            action: action.into(),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            actor: actor.into(),
            detail: detail.into(),
        });
    }

    /// Write the journal entries so far, in one statement (deferred on SQLite's writer).
    async fn flush_journal(&mut self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.journal);
        if pending.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO journal (at, entity, entity_id, action, from_state, to_state, actor, detail) {}",
            json_rows(self.params, 1, "ittttttt")
        );
        let rows: Vec<[Value; 8]> = pending
            .iter()
            .map(|j| {
                [
                    j.at.into(),
                    j.entity.as_str().into(),
                    j.entity_id.as_str().into(),
                    j.action.as_str().into(),
                    j.from.as_deref().into(),
                    j.to.as_deref().into(),
                    j.actor.as_str().into(),
                    j.detail.as_str().into(),
                ]
            })
            .collect();
        self.write(&sql, vec![json_param(&rows)?.into()]).await
    }

    /// Upsert a catalog; returns the number of seats added. `password_hashes`:
    /// each organizer's new password hash, by organizer id (see [`super::Store::load_catalog`]).
    pub(super) async fn load_catalog(
        &mut self,
        file: &CatalogFile,
        password_hashes: &HashMap<&str, String>,
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
                   sale_start, sale_end, admission_opens, admission_closes, cancellable_days, contact, currency)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                 ON CONFLICT (id) DO UPDATE SET organizer_id = excluded.organizer_id, genre = excluded.genre,
                   name = excluded.name, description = excluded.description, region = excluded.region,
                   venue = excluded.venue, starts_at = excluded.starts_at, doors_open = excluded.doors_open,
                   curtain = excluded.curtain, sale_start = excluded.sale_start, sale_end = excluded.sale_end,
                   admission_opens = excluded.admission_opens, admission_closes = excluded.admission_closes,
                   cancellable_days = excluded.cancellable_days, contact = excluded.contact, currency = excluded.currency",
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
            .execute(self.conn().await?)
            .await?;
            let mut position = 0i64;
            for s in &e.seat_types {
                sqlx::query(
                    "INSERT INTO seat_types (event_id, code, name, price) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (event_id, code) DO UPDATE SET name = excluded.name, price = excluded.price",
                )
                .bind(&e.id)
                .bind(&s.code)
                .bind(&s.name)
                .bind(s.price)
                .execute(self.conn().await?)
                .await?;
                for code in s.seat_codes() {
                    position += 1;
                    let r = sqlx::query(
                        "INSERT INTO seats (event_id, seat_code, seat_type, position, price, state)
                         VALUES ($1, $2, $3, $4, $5, 'free') ON CONFLICT (event_id, seat_code) DO NOTHING",
                    )
                    .bind(&e.id)
                    .bind(&code)
                    .bind(&s.code)
                    .bind(position)
                    .bind(s.price)
                    .execute(self.conn().await?)
                    .await?;
                    seats_added += r.rows_affected() as usize;
                }
            }
            self.journal("event", &e.id, "loaded", None, None, "admin", "{}");
        }
        Ok(seats_added)
    }
}

/// Load a purchase outside a write transaction (pages).
pub(super) async fn load_purchase(conn: &mut AnyConnection, id: &str) -> Result<Option<Purchase>, StoreError> {
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
    let bad = |what: &str| StoreError::Corrupt(format!("purchase {id}: {what}"));
    let phone: String = r.try_get("phone")?;
    let status: String = r.try_get("payment_status")?;
    let guide: String = r.try_get("issue_guide_state")?;
    let admission: String = r.try_get("admission_state")?;
    let p = Purchase {
        id: r.try_get("id")?,
        user_number: r.try_get("user_number")?,
        phone: stored_phone(&phone)?,
        event_id: r.try_get("event_id")?,
        seat_type: r.try_get("seat_type")?,
        seats: seats.into_iter().map(|(s,)| s).collect(),
        quantity: r.try_get::<i64, _>("quantity")? as u32,
        amount: r.try_get("amount")?,
        reserved_at: r.try_get("reserved_at")?,
        cancellable_until: r.try_get("cancellable_until")?,
        payment_method: r.try_get("payment_method")?,
        payment_status: PaymentStatus::parse(&status).ok_or_else(|| bad("payment_status"))?,
        payment_ref: r.try_get("payment_ref")?,
        issue_guide: IssueGuideState::parse(&guide).ok_or_else(|| bad("issue_guide_state"))?,
        issue_call_count: r.try_get::<i64, _>("issue_call_count")? as u32,
        issued: r.try_get::<i64, _>("issued")? != 0,
        issued_at: r.try_get("issued_at")?,
        usage_call_count: r.try_get::<i64, _>("usage_call_count")? as u32,
        admission: AdmissionState::parse(&admission).ok_or_else(|| bad("admission_state"))?,
        permit_issued_at: r.try_get("permit_issued_at")?,
        admitted_at: r.try_get("admitted_at")?,
        hold_until: r.try_get("hold_until")?,
    };
    Ok(Some((p, r.try_get("version")?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_values_number_every_parameter() {
        assert_eq!(values(Params::Numbered, 1, 1, "($, $)"), "($1, $2)");
        assert_eq!(values(Params::Numbered, 1, 3, "($, 'x', $)"), "($1, 'x', $2), ($3, 'x', $4), ($5, 'x', $6)");
        assert_eq!(values(Params::Plain, 1, 2, "($, 'x', $)"), "(?, 'x', ?), (?, 'x', ?)");
        assert_eq!(values(Params::Numbered, 1, 0, "($)"), "");
        assert_eq!(param(Params::Numbered, 3), "$3");
        assert_eq!(param(Params::Plain, 3), "?");
    }

    #[test]
    fn json_rows_unpack_one_parameter_on_either_backend() {
        assert_eq!(
            json_rows(Params::Plain, 1, "ti"),
            "WITH rows(value) AS MATERIALIZED (SELECT jsonb(value) FROM json_each(?)) \
             SELECT value->>0, CAST(value->>1 AS BIGINT) FROM rows WHERE true"
        );
        assert_eq!(
            json_rows(Params::Numbered, 2, "t"),
            "SELECT value->>0 FROM jsonb_array_elements(CAST($2 AS jsonb)) WHERE true"
        );
        assert_eq!(json_list(Params::Numbered, 3), "SELECT value FROM jsonb_array_elements_text(CAST($3 AS jsonb))");
        let rows = [[Value::from("a\"b"), Value::Int(None)], [Value::Text(None), Value::from(7i64)]];
        assert_eq!(json_param(&rows).ok().as_deref(), Some(r#"[["a\"b",null],[null,7]]"#));
    }
}
