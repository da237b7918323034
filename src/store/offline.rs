//! What offline check-in reads and writes (see [`crate::door::offline`]): an
//! event's seats for the offline bundle in one query, the offline scans a
//! device uploaded (by the device's own scan id, so an upload sent twice is
//! recorded once), and the conflicts between devices.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::seats::{seat_from_row, SEAT_COLUMNS, SEAT_FROM};
use super::{Store, StoreError, StoreTx};
use crate::domain::{AdmissionState, PaymentStatus, Timestamp};
use crate::door::offline::Conflict;
use crate::door::{Holding, SeatTicket};

/// One seat as the offline bundle needs it: the seat, the purchase holding it
/// (none for a seat nobody holds), its current code's reference and the
/// holder's name from their profile.
#[derive(Debug, Clone)]
pub struct OfflineSeat {
    pub seat: SeatTicket,
    pub holding: Option<Holding>,
    pub reference: Option<String>,
    pub holder_name: Option<String>,
    /// The gate its seat type enters by (catalog `gate`).
    pub gate: Option<String>,
}

fn holding_from_row(r: &AnyRow) -> Result<Option<Holding>, StoreError> {
    let Some(purchase_id) = r.try_get::<Option<String>, _>("pid")? else { return Ok(None) };
    let text = |column: &str| -> Result<String, StoreError> { Ok(r.try_get::<String, _>(column)?) };
    let payment = PaymentStatus::parse(&text("payment_status")?)
        .ok_or_else(|| StoreError::Corrupt(format!("purchase {purchase_id}: payment status")))?;
    let permit = AdmissionState::parse(&text("admission_state")?)
        .ok_or_else(|| StoreError::Corrupt(format!("purchase {purchase_id}: admission state")))?;
    let issued: i64 = r.try_get("issued")?;
    Ok(Some(Holding { purchase_id, payment, issued: issued != 0, permit }))
}

fn conflict_from_row(r: &AnyRow) -> Result<Conflict, StoreError> {
    let position: i64 = r.try_get("position")?;
    Ok(Conflict {
        seat: r.try_get("seat_code")?,
        position: u32::try_from(position).map_err(|_| StoreError::Corrupt(format!("conflict position {position}")))?,
        first_by: r.try_get("first_by")?,
        first_at: r.try_get("first_at")?,
        second_by: r.try_get("second_by")?,
        second_at: r.try_get("second_at")?,
    })
}

const CONFLICT_COLUMNS: &str = "position, seat_code, first_by, first_at, second_by, second_at";

impl Store {
    /// Every seat of `event_id` in position order, with its holding, its current
    /// code's reference and its holder's name: one query.
    pub async fn offline_seats(&self, event_id: &str) -> Result<Vec<OfflineSeat>, StoreError> {
        let sql = format!(
            "SELECT {SEAT_COLUMNS}, c.reference, p.id AS pid, p.payment_status, p.issued, p.admission_state,
                    pr.name AS holder_name, t.gate AS entry_gate
             FROM {SEAT_FROM}
             LEFT JOIN seat_types t ON t.event_id = s.event_id AND t.code = s.seat_type
             LEFT JOIN purchases p ON p.id = s.purchase_id
             LEFT JOIN ticket_codes c ON c.event_id = s.event_id AND c.position = s.position
               AND c.epoch = s.issue_epoch AND c.purchase_id = s.purchase_id
             LEFT JOIN phone_users u ON u.phone = p.phone
             LEFT JOIN user_profiles pr ON pr.user_number = u.user_number
             WHERE s.event_id = $1 ORDER BY s.position"
        );
        let rows = sqlx::query(&sql).bind(event_id).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(OfflineSeat {
                    seat: seat_from_row(r)?,
                    holding: holding_from_row(r)?,
                    reference: r.try_get("reference")?,
                    holder_name: r.try_get("holder_name")?,
                    gate: r.try_get("entry_gate")?,
                })
            })
            .collect()
    }

    /// The conflicts flagged at `event_id`'s door, in the order they happened.
    pub async fn door_conflicts(&self, event_id: &str) -> Result<Vec<Conflict>, StoreError> {
        let sql =
            format!("SELECT {CONFLICT_COLUMNS} FROM door_conflicts WHERE event_id = $1 ORDER BY second_at, position");
        let rows = sqlx::query(&sql).bind(event_id).fetch_all(&self.pool).await?;
        rows.iter().map(conflict_from_row).collect()
    }
}

/// An offline scan as uploaded, for [`StoreTx::record_offline_scan`].
pub struct OfflineScanRow<'a> {
    pub id: &'a str,
    pub event_id: &'a str,
    pub staff_id: &'a str,
    pub position: Option<u32>,
    pub direction: &'a str,
    pub scanned_at: Timestamp,
    pub result: &'a str,
}

impl StoreTx {
    /// What the server made of offline scan `id` when it was first uploaded, if it was.
    pub async fn offline_scan_result(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT result FROM offline_scans WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn().await?)
            .await?;
        Ok(row.map(|(r,)| r))
    }

    pub async fn record_offline_scan(&mut self, scan: &OfflineScanRow<'_>, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO offline_scans (id, event_id, staff_id, position, direction, scanned_at, uploaded_at, result)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(scan.id)
        .bind(scan.event_id)
        .bind(scan.staff_id)
        .bind(scan.position.map(i64::from))
        .bind(scan.direction)
        .bind(scan.scanned_at)
        .bind(at)
        .bind(scan.result)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn record_conflict(&mut self, event_id: &str, c: &Conflict, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO door_conflicts (event_id, position, seat_code, first_by, first_at, second_by, second_at, flagged_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(i64::from(c.position))
        .bind(&c.seat)
        .bind(&c.first_by)
        .bind(c.first_at)
        .bind(&c.second_by)
        .bind(c.second_at)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }
}
