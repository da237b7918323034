//! The outbox's statements: what the mail worker sends, claims and records,
//! and what monitoring and the admin read of it.

use super::{rows, OutboxMail, Store, StoreError};
use crate::domain::Timestamp;

/// See [`Store::outbox_backlog`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub sending: i64,
    pub failed: i64,
    /// `created_at` of the oldest pending or sending mail.
    pub oldest_undelivered: Option<Timestamp>,
}

impl Store {
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMail>, StoreError> {
        let rows = sqlx::query("SELECT * FROM mail_outbox ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::outbox_mail).collect()
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
        r.as_ref().map(rows::outbox_mail).transpose()
    }

    /// Mails due for (re)sending: pending ones whose time has come, and ones a
    /// worker claimed but never finished (its lease ran out: it crashed or hung).
    pub async fn due_mail(&self, at: Timestamp, limit: i64) -> Result<Vec<OutboxMail>, StoreError> {
        // Only each recipient's oldest undelivered mail: a recipient's mails leave one
        // at a time, in the order they were enqueued, even when one of them waits for a
        // retry. (A ticket mailed again revokes the earlier link: arriving after the
        // new one, the earlier mail would look like the latest.)
        let rows = sqlx::query(
            "SELECT * FROM mail_outbox m WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
               AND NOT EXISTS (SELECT 1 FROM mail_outbox o WHERE o.to_addr = m.to_addr AND o.id < m.id
                                 AND o.state IN ('pending', 'sending'))
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::outbox_mail).collect()
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
        let sql = format!(
            "UPDATE mail_outbox SET state = 'sending', next_attempt_at = $1
             WHERE id IN ({list}) AND state IN ('pending', 'sending') AND next_attempt_at <= $2 RETURNING id"
        );
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
