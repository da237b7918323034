//! The outbox: every mail to send, enqueued in the transaction of the change it
//! tells of ([`StoreTx::enqueue_mail`]), so a crash loses neither; then what the
//! mail worker sends, claims and records, and what monitoring and the admin
//! read of it. A mail keeps its template, language and data, not its bodies:
//! they are rendered when it is sent or shown.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::tx::{arguments, json_param, json_rows, values, Value};
use super::{Backend, Store, StoreError, StoreTx};
use crate::domain::Timestamp;

/// A mail waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxMail {
    pub id: i64,
    pub to_addr: String,
    pub template: String,
    pub subject: String,
    pub body: MailBody,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// An outbox mail's bodies: the template's language and data, rendered when the
/// mail is sent or looked at (`crate::mail::Templates::bodies`), or — mails
/// queued before migration 0007 — the rendered text and HTML.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MailBody {
    Data { lang: String, data: String },
    Rendered { text: String, html: String },
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

/// See [`Store::outbox_backlog`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub sending: i64,
    pub failed: i64,
    /// `created_at` of the oldest pending or sending mail.
    pub oldest_undelivered: Option<Timestamp>,
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

impl Store {
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query("SELECT * FROM mail_outbox ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(outbox_mail_from_row).collect()
    }

    /// Undelivered mails for monitoring: how many are `pending` (waiting for a first
    /// try or a retry), `sending` (claimed by a worker now) and `failed` (refused
    /// for good, kept on the outbox page), and when the oldest pending or sending
    /// one was enqueued (`None`: nothing waits).
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            // Each part as its partial index has it (migration 0008), so neither reads the delivered mails.
            "SELECT state, COUNT(*), MIN(created_at) FROM mail_outbox WHERE state IN ('pending', 'sending') GROUP BY state
             UNION ALL
             SELECT state, COUNT(*), MIN(created_at) FROM mail_outbox WHERE state = 'failed' GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut b = OutboxBacklog::default();
        for (state, n, oldest) in rows {
            match state.as_str() {
                "pending" => b.pending = n,
                "sending" => b.sending = n,
                _ => b.failed = n,
            }
            if state != "failed" {
                b.oldest_undelivered = Some(b.oldest_undelivered.map_or(oldest, |o: i64| o.min(oldest)));
            }
        }
        Ok(b)
    }

    pub async fn outbox_mail(&self, id: i64) -> Result<Option<OutboxMail>, StoreError> {
        let r = sqlx::query("SELECT * FROM mail_outbox WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        r.as_ref().map(outbox_mail_from_row).transpose()
    }

    /// Mails due for (re)sending: pending ones whose time has come, and ones a
    /// worker claimed but never finished (its lease ran out: it crashed or hung).
    pub async fn due_mail(&self, at: Timestamp, limit: i64) -> Result<Vec<OutboxMail>, StoreError> {
        // Only each recipient's oldest undelivered mail: a recipient's mails leave one
        // at a time, in the order they were enqueued, even when one of them waits for a
        // retry. (A ticket mailed again revokes the earlier link: arriving after the
        // new one, the earlier mail would look like the latest.) In the order they
        // were enqueued: the undelivered mails are read by id (`mail_undelivered`)
        // until `limit` are found, not all of a backlog read and sorted.
        let rows = sqlx::query(
            "SELECT * FROM mail_outbox m WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
               AND NOT EXISTS (SELECT 1 FROM mail_outbox o WHERE o.to_addr = m.to_addr AND o.id < m.id
                                 AND o.state IN ('pending', 'sending'))
             ORDER BY id LIMIT $2",
        )
        .bind(at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_mail_from_row).collect()
    }

    /// Local outbox (no SMTP server): mark up to `limit` due mails delivered to
    /// it, in one statement — nothing to send, so no claim, no body read. Returns
    /// (id, recipient, template) of each.
    pub async fn keep_due_mails_locally(
        &self,
        at: Timestamp,
        limit: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let q = sqlx::query_as(
            "UPDATE mail_outbox SET state = 'local', sent_at = $1, attempts = attempts + 1, last_error = NULL
             WHERE id IN (SELECT id FROM mail_outbox WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
                          ORDER BY next_attempt_at, id LIMIT $2)
               AND state IN ('pending', 'sending') AND next_attempt_at <= $1
             RETURNING id, to_addr, template",
        )
        .bind(at)
        .bind(limit);
        Ok(q.fetch_all(self.write_conn().await?.conn()).await?)
    }

    /// Lease due mails to this worker until `lease_until` (a worker that dies
    /// mid-send leaves them to be retried after it), in one statement: the ids claimed.
    /// A mail another worker claimed first, or whose lease has not run out, is not.
    /// Committed when it returns (an autocommit statement; on SQLite in the
    /// writer's turn, alone), like [`Store::mail_delivered`] and [`Store::mail_failed`].
    pub async fn claim_mails(
        &self,
        ids: &[i64],
        at: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (3..3 + ids.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        let due = format!("id IN ({list}) AND state IN ('pending', 'sending') AND next_attempt_at <= $2");
        let sql = match self.backend {
            // Two gateways' workers claiming overlapping mails locked them in
            // whatever order each update met them, and deadlocked (seen in the
            // cluster benchmark). The rows are locked in id order, passing over those
            // another worker is claiming now (it takes them): an `ARRAY(…)` runs once,
            // before the update (an InitPlan).
            Backend::Postgres => format!(
                "UPDATE mail_outbox SET state = 'sending', next_attempt_at = $1
                 WHERE id = ANY(ARRAY(SELECT id FROM mail_outbox WHERE {due} ORDER BY id FOR UPDATE SKIP LOCKED))
                 RETURNING id"
            ),
            // One writer: claims never meet.
            Backend::Sqlite => {
                format!("UPDATE mail_outbox SET state = 'sending', next_attempt_at = $1 WHERE {due} RETURNING id")
            }
        };
        let mut q = sqlx::query_as::<_, (i64,)>(&sql).bind(lease_until).bind(at);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(self.write_conn().await?.conn()).await?.into_iter().map(|(id,)| id).collect())
    }

    /// `state` is `sent` (SMTP accepted it) or `local` (kept in the local outbox).
    pub async fn mail_delivered(&self, id: i64, state: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut w = self.write_conn().await?;
        sqlx::query(
            "UPDATE mail_outbox SET state = $1, sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $3",
        )
        .bind(state)
        .bind(at)
        .bind(id)
        .execute(w.conn())
        .await?;
        Ok(())
    }

    /// The newest mail delivered (sent, or kept locally) after mail `id` to the same
    /// recipient from the same template, if any: sending `id` now would land after it.
    /// (Read by id range: an admin's question, not on any call's path.)
    pub async fn newer_delivered_mail(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let newer: Option<(i64,)> = sqlx::query_as(
            "SELECT n.id FROM mail_outbox o JOIN mail_outbox n
                 ON n.id > o.id AND n.to_addr = o.to_addr AND n.template = o.template AND n.state IN ('sent', 'local')
              WHERE o.id = $1 ORDER BY n.id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(newer.map(|(n,)| n))
    }

    /// Send a mail given up on (`failed`) again, from `at`: pending, its attempts
    /// and last error kept for the record. `false`: no failed mail with that id.
    pub async fn retry_failed_mail(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        let mut w = self.write_conn().await?;
        let done = sqlx::query(
            "UPDATE mail_outbox SET state = 'pending', next_attempt_at = $1 WHERE id = $2 AND state = 'failed'",
        )
        .bind(at)
        .bind(id)
        .execute(w.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A failed attempt: try again at `retry_at`, or give up (`permanent`) and keep the mail as `failed`.
    /// A mail no longer undelivered is left alone: a failure written late (kept in
    /// memory while the database could not be written) never undoes a delivery
    /// another gateway recorded meanwhile.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Timestamp,
        permanent: bool,
    ) -> Result<(), StoreError> {
        let mut w = self.write_conn().await?;
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, state = $3
             WHERE id = $4 AND state IN ('pending', 'sending')",
        )
        .bind(error)
        .bind(retry_at)
        .bind(if permanent { "failed" } else { "pending" })
        .bind(id)
        .execute(w.conn())
        .await?;
        Ok(())
    }
}

impl StoreTx {
    /// Enqueue a mail with this transaction: it exists, and is sent, only if the
    /// transaction commits. Returns the mail's id.
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
}

pub(super) fn outbox_mail_from_row(r: &AnyRow) -> Result<OutboxMail, StoreError> {
    Ok(OutboxMail {
        id: r.try_get("id")?,
        to_addr: r.try_get("to_addr")?,
        template: r.try_get("template")?,
        subject: r.try_get("subject")?,
        body: match r.try_get::<Option<String>, _>("data")? {
            Some(data) => MailBody::Data { lang: r.try_get::<Option<String>, _>("lang")?.unwrap_or_default(), data },
            None => MailBody::Rendered { text: r.try_get("body_text")?, html: r.try_get("body_html")? },
        },
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}
