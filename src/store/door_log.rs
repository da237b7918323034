//! What the back office's door page reads (`web/backoffice/door.rs`): seats
//! expected per gate (paid seats by their seat type's catalog gate), the recent
//! `scan` entries of the journal for an event's seats and staff, and an event's
//! staff accounts with when they were made and revoked.

use sqlx::Row;

use super::{JournalEntry, Store, StoreError};
use crate::domain::Timestamp;

/// A staff account as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub gate: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked: bool,
}

impl Store {
    /// Paid seats of `event_id` per the gate their seat type enters by (`None`: no gate named).
    pub async fn expected_per_gate(&self, event_id: &str) -> Result<Vec<(Option<String>, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.gate, COUNT(*) FROM seats s JOIN purchases p ON p.id = s.purchase_id
             LEFT JOIN seat_types t ON t.event_id = s.event_id AND t.code = s.seat_type
             WHERE s.event_id = $1 AND p.payment_status = 'paid' GROUP BY t.gate ORDER BY t.gate",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The latest `limit` scans at `event_id`'s door, newest first: the journal's
    /// `scan` entries of its seats (`{event}/{seat}`) and of its staff accounts
    /// (scans of codes that named no seat of it).
    pub async fn door_scans(&self, event_id: &str, limit: i64) -> Result<Vec<JournalEntry>, StoreError> {
        let prefix = format!("{event_id}/");
        let rows = sqlx::query(
            "SELECT * FROM journal WHERE action = 'scan' AND (
                (entity = 'seat' AND substr(entity_id, 1, length($1)) = $1)
                OR (entity = 'staff' AND entity_id IN (SELECT id FROM staff WHERE event_id = $2)))
             ORDER BY seq DESC LIMIT $3",
        )
        .bind(&prefix)
        .bind(event_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::journal::journal_entry_from_row).collect()
    }

    /// `event_id`'s staff accounts, oldest first, with when they were made and revoked.
    pub async fn staff_rows(&self, event_id: &str) -> Result<Vec<StaffRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, gate, created_at, revoked_at, revoked FROM staff WHERE event_id = $1
             ORDER BY created_at, id",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StaffRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    gate: r.try_get("gate")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    revoked: r.try_get::<i64, _>("revoked")? != 0,
                })
            })
            .collect()
    }
}
