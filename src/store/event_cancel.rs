//! A whole event cancelled (issue 20, step 5): its `event_cancellations` row and
//! the orders the runner ([`crate::event_cancel`]) still has to cancel.

use super::{Store, StoreError};
use crate::domain::Timestamp;

/// An event's cancellation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCancellation {
    pub event_id: String,
    pub actor: String,
    pub started_at: Timestamp,
    /// The orders it had to cancel when it started.
    pub total: i64,
    /// `running` or `done`.
    pub state: String,
    pub finished_at: Option<Timestamp>,
}

/// Orders that still hold seats and are not admitted: what a cancellation cancels.
const OPEN: &str = "event_id = $1 AND payment_status IN ('paid', 'pending') AND admission_state <> 'admitted'";

impl Store {
    /// Start cancelling `event_id`: sales stop at once and the cancellation is
    /// recorded (`running`), in one transaction. `false` when it was started before
    /// (nothing changes then).
    pub async fn start_event_cancellation(
        &self,
        event_id: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        Store::retry(|| async {
            let mut tx = self.begin().await?;
            let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM purchases WHERE {OPEN}"))
                .bind(event_id)
                .fetch_one(tx.conn().await?)
                .await?;
            let made = sqlx::query(
                "INSERT INTO event_cancellations (event_id, actor, started_at, total, state) VALUES ($1, $2, $3, $4, 'running')
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(actor)
            .bind(at)
            .bind(total)
            .execute(tx.conn().await?)
            .await?
            .rows_affected()
                > 0;
            if made {
                sqlx::query("UPDATE events SET sales_paused = 1 WHERE id = $1")
                    .bind(event_id)
                    .execute(tx.conn().await?)
                    .await?;
                let detail = serde_json::json!({"orders": total}).to_string();
                tx.journal("event", event_id, "event-cancel", None, Some("running"), actor, &detail);
            }
            tx.commit().await?;
            Ok(made)
        })
        .await
    }

    /// The cancellation of `event_id`, if it was cancelled.
    pub async fn event_cancellation(&self, event_id: &str) -> Result<Option<EventCancellation>, StoreError> {
        let row: Option<(String, String, i64, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT event_id, actor, started_at, total, state, finished_at FROM event_cancellations WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(event_id, actor, started_at, total, state, finished_at)| EventCancellation {
            event_id,
            actor,
            started_at,
            total,
            state,
            finished_at,
        }))
    }

    /// Events whose cancellation is still `running` (resumed at every start).
    pub async fn running_event_cancellations(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT event_id FROM event_cancellations WHERE state = 'running' ORDER BY started_at")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The orders of `event_id` still to cancel, oldest first.
    pub async fn open_orders(&self, event_id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT id FROM purchases WHERE {OPEN} ORDER BY reserved_at, id"))
                .bind(event_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// How many orders of `event_id` are still to cancel (and their amount).
    pub async fn open_order_totals(&self, event_id: &str) -> Result<(i64, i64), StoreError> {
        let (n, amount): (i64, Option<i64>) = sqlx::query_as(&format!(
            "SELECT COUNT(*), CAST(SUM(CASE WHEN payment_status = 'paid' THEN amount ELSE 0 END) AS BIGINT) FROM purchases WHERE {OPEN}"
        ))
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((n, amount.unwrap_or(0)))
    }

    /// Mark the cancellation of `event_id` done (once).
    pub async fn finish_event_cancellation(&self, event_id: &str, at: Timestamp) -> Result<(), StoreError> {
        Store::retry(|| async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(
                "UPDATE event_cancellations SET state = 'done', finished_at = $1 WHERE event_id = $2 AND state = 'running'",
            )
            .bind(at)
            .bind(event_id)
            .execute(tx.conn().await?)
            .await?
            .rows_affected()
                > 0;
            if done {
                tx.journal("event", event_id, "event-cancel", Some("running"), Some("done"), "event-cancel", "{}");
            }
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        })
        .await?;
        Ok(())
    }
}
