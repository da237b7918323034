//! Seats as tickets (the door, `crate::door`): each seat's issue epoch and
//! admission, the codes issued for it (`ticket_codes`, with their short
//! references), and admitting a seat once.
//!
//! A seat is admitted with a guarded update (`… WHERE admitted_at IS NULL`) and
//! the row count checked, so two devices scanning one code at the same moment
//! get one admission on SQLite and on PostgreSQL alike.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, StoreTx};
use crate::domain::Timestamp;
use crate::door::{Admission, SeatTicket};

/// A code issued for a seat: which seat, at which epoch, for which purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub event_id: String,
    pub position: u32,
    pub epoch: u16,
    pub purchase_id: String,
}

/// A seat issued anew ([`StoreTx::reissue_seats`]): the code to sign for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reissued {
    pub seat_code: String,
    pub position: u32,
    pub epoch: u16,
}

/// The door's counters for an event: seats expected (sold and paid), seats
/// admitted (once or more), seats inside now (admitted and not checked out:
/// at a single-entry event, the admitted ones), and admitted per gate (`None`: admitted with the staff PIN, or by a
/// staff account without a gate).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DoorCounts {
    pub expected: i64,
    pub admitted: i64,
    pub inside: i64,
    pub gates: Vec<(Option<String>, i64)>,
}

/// The highest epoch a seat gets: a code carries it in 16 bits. A purchase whose
/// holder called the issue number that often is re-sent the codes it has.
const MAX_EPOCH: i64 = u16::MAX as i64;

/// A seat's columns ([`seat_from_row`]) and where they come from.
pub(super) const SEAT_COLUMNS: &str =
    "s.event_id, s.seat_code, s.position, s.purchase_id, s.issue_epoch, s.admitted_at,
        s.admitted_gate, st.name AS admitted_by_name, s.checked_out_at";
pub(super) const SEAT_FROM: &str = "seats s LEFT JOIN staff st ON st.id = s.admitted_by";

fn number<T: TryFrom<i64>>(r: &AnyRow, column: &str) -> Result<T, StoreError> {
    let n: i64 = r.try_get(column)?;
    T::try_from(n).map_err(|_| StoreError::Corrupt(format!("seats: {column} {n} out of range")))
}

pub(super) fn seat_from_row(r: &AnyRow) -> Result<SeatTicket, StoreError> {
    let at: Option<i64> = r.try_get("admitted_at")?;
    Ok(SeatTicket {
        event_id: r.try_get("event_id")?,
        seat_code: r.try_get("seat_code")?,
        position: number(r, "position")?,
        purchase_id: r.try_get("purchase_id")?,
        epoch: number(r, "issue_epoch")?,
        admitted: match at {
            Some(at) => Some(Admission { at, gate: r.try_get("admitted_gate")?, by: r.try_get("admitted_by_name")? }),
            None => None,
        },
        checked_out_at: r.try_get("checked_out_at")?,
    })
}

async fn seat_at(conn: &mut AnyConnection, event_id: &str, position: u32) -> Result<Option<SeatTicket>, StoreError> {
    let sql = format!("SELECT {SEAT_COLUMNS} FROM {SEAT_FROM} WHERE s.event_id = $1 AND s.position = $2");
    let row = sqlx::query(&sql).bind(event_id).bind(i64::from(position)).fetch_optional(conn).await?;
    row.as_ref().map(seat_from_row).transpose()
}

/// See [`Store::seat_tickets`].
pub(super) async fn seat_tickets(
    conn: &mut AnyConnection,
    purchase_id: &str,
) -> Result<Vec<(SeatTicket, Option<String>)>, StoreError> {
    let sql = format!(
        "SELECT {SEAT_COLUMNS}, c.reference FROM {SEAT_FROM}
         LEFT JOIN ticket_codes c ON c.event_id = s.event_id AND c.position = s.position
           AND c.epoch = s.issue_epoch AND c.purchase_id = s.purchase_id
         WHERE s.purchase_id = $1 ORDER BY s.position"
    );
    let rows = sqlx::query(&sql).bind(purchase_id).fetch_all(conn).await?;
    rows.iter().map(|r| Ok((seat_from_row(r)?, r.try_get("reference")?))).collect()
}

async fn issued_code(
    conn: &mut AnyConnection,
    event_id: &str,
    position: u32,
    epoch: u16,
) -> Result<Option<IssuedCode>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT purchase_id FROM ticket_codes WHERE event_id = $1 AND position = $2 AND epoch = $3")
            .bind(event_id)
            .bind(i64::from(position))
            .bind(i64::from(epoch))
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(purchase_id,)| IssuedCode { event_id: event_id.to_string(), position, epoch, purchase_id }))
}

/// The codes whose reference is `reference` (one, but references are unique only
/// within an event).
async fn codes_by_reference(conn: &mut AnyConnection, reference: &str) -> Result<Vec<IssuedCode>, StoreError> {
    let rows = sqlx::query("SELECT event_id, position, epoch, purchase_id FROM ticket_codes WHERE reference = $1")
        .bind(reference)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(IssuedCode {
                event_id: r.try_get("event_id")?,
                position: number(r, "position")?,
                epoch: number(r, "epoch")?,
                purchase_id: r.try_get("purchase_id")?,
            })
        })
        .collect()
}

/// Seats of every event by how far they got (see [`Store::ticket_totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketTotals {
    pub sold: u64,
    pub issued: u64,
    pub admitted: u64,
}

impl Store {
    /// A purchase's seats as tickets, in sale order, each with the reference of
    /// its current code (none for a ticket issued before per-seat codes, until
    /// it is issued again).
    pub async fn seat_tickets(&self, purchase_id: &str) -> Result<Vec<(SeatTicket, Option<String>)>, StoreError> {
        seat_tickets(&mut *self.pool.acquire().await?, purchase_id).await
    }

    pub async fn seat_at(&self, event_id: &str, position: u32) -> Result<Option<SeatTicket>, StoreError> {
        seat_at(&mut *self.pool.acquire().await?, event_id, position).await
    }

    /// Seats of every event: sold (paid), issued (their ticket mailed) and
    /// admitted (in at the door), for `/metrics`.
    pub async fn ticket_totals(&self) -> Result<TicketTotals, StoreError> {
        let (sold, issued, admitted): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(CASE WHEN p.issued <> 0 THEN 1 END), COUNT(s.admitted_at)
             FROM seats s JOIN purchases p ON p.id = s.purchase_id WHERE p.payment_status = 'paid'",
        )
        .fetch_one(&self.pool)
        .await?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(TicketTotals { sold: n(sold), issued: n(issued), admitted: n(admitted) })
    }

    /// The door's counters for `event_id` (two indexed reads).
    pub async fn door_counts(&self, event_id: &str) -> Result<DoorCounts, StoreError> {
        let (expected,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM seats s JOIN purchases p ON p.id = s.purchase_id
             WHERE s.event_id = $1 AND p.payment_status = 'paid'",
        )
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?;
        let gates: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT admitted_gate, COUNT(*) FROM seats WHERE event_id = $1 AND admitted_at IS NOT NULL
             GROUP BY admitted_gate ORDER BY admitted_gate",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        let (inside,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM seats WHERE event_id = $1 AND admitted_at IS NOT NULL AND checked_out_at IS NULL",
        )
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(DoorCounts { expected, admitted: gates.iter().map(|(_, n)| n).sum(), inside, gates })
    }

    pub async fn issued_code(
        &self,
        event_id: &str,
        position: u32,
        epoch: u16,
    ) -> Result<Option<IssuedCode>, StoreError> {
        issued_code(&mut *self.pool.acquire().await?, event_id, position, epoch).await
    }

    pub async fn codes_by_reference(&self, reference: &str) -> Result<Vec<IssuedCode>, StoreError> {
        codes_by_reference(&mut *self.pool.acquire().await?, reference).await
    }
}

impl StoreTx {
    pub async fn seat_at(&mut self, event_id: &str, position: u32) -> Result<Option<SeatTicket>, StoreError> {
        seat_at(self.conn().await?, event_id, position).await
    }

    pub async fn issued_code(
        &mut self,
        event_id: &str,
        position: u32,
        epoch: u16,
    ) -> Result<Option<IssuedCode>, StoreError> {
        issued_code(self.conn().await?, event_id, position, epoch).await
    }

    pub async fn codes_by_reference(&mut self, reference: &str) -> Result<Vec<IssuedCode>, StoreError> {
        codes_by_reference(self.conn().await?, reference).await
    }

    /// Issue a purchase's seats again: each one's epoch moves on, so the codes
    /// issued before answer "revoked". The seats with their new epochs, in sale order.
    pub async fn reissue_seats(&mut self, purchase_id: &str) -> Result<Vec<Reissued>, StoreError> {
        let rows = sqlx::query(
            "UPDATE seats SET issue_epoch = CASE WHEN issue_epoch < $1 THEN issue_epoch + 1 ELSE issue_epoch END
             WHERE purchase_id = $2 RETURNING seat_code, position, issue_epoch",
        )
        .bind(MAX_EPOCH)
        .bind(purchase_id)
        .fetch_all(self.conn().await?)
        .await?;
        let mut seats = rows
            .iter()
            .map(|r| {
                Ok(Reissued {
                    seat_code: r.try_get("seat_code")?,
                    position: number(r, "position")?,
                    epoch: number(r, "issue_epoch")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        seats.sort_by_key(|s| s.position);
        Ok(seats)
    }

    /// Record the codes just issued for `purchase_id`'s seats: `(position, epoch, reference)`.
    pub async fn record_ticket_codes(
        &mut self,
        event_id: &str,
        purchase_id: &str,
        codes: &[(u32, u16, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        for (position, epoch, reference) in codes {
            sqlx::query(
                "INSERT INTO ticket_codes (event_id, position, epoch, purchase_id, reference, issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, position, epoch) DO NOTHING",
            )
            .bind(event_id)
            .bind(i64::from(*position))
            .bind(i64::from(*epoch))
            .bind(purchase_id)
            .bind(reference)
            .bind(at)
            .execute(self.conn().await?)
            .await?;
        }
        Ok(())
    }

    /// Admit seat `position` of `event_id` if it is still at `epoch` and not yet
    /// admitted; `false`: another scan admitted it first (or it was issued again).
    pub async fn admit_seat(
        &mut self,
        event_id: &str,
        position: u32,
        epoch: u16,
        at: Timestamp,
        gate: Option<&str>,
        staff_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE seats SET admitted_at = $1, admitted_gate = $2, admitted_by = $3
             WHERE event_id = $4 AND position = $5 AND issue_epoch = $6 AND admitted_at IS NULL",
        )
        .bind(at)
        .bind(gate)
        .bind(staff_id)
        .bind(event_id)
        .bind(i64::from(position))
        .bind(i64::from(epoch))
        .execute(self.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Check seat `position` of `event_id` out if it is still at `epoch` and
    /// inside (admitted, not checked out); `false`: another scan checked it out
    /// first, or it is not inside. The guarded update of [`StoreTx::admit_seat`].
    pub async fn check_out_seat(
        &mut self,
        event_id: &str,
        position: u32,
        epoch: u16,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE seats SET checked_out_at = $1
             WHERE event_id = $2 AND position = $3 AND issue_epoch = $4
               AND admitted_at IS NOT NULL AND checked_out_at IS NULL",
        )
        .bind(at)
        .bind(event_id)
        .bind(i64::from(position))
        .bind(i64::from(epoch))
        .execute(self.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Let a checked-out seat back in (re-entry) if it is still at `epoch` and
    /// outside; `false`: another scan let it in first. Its first admission stays.
    pub async fn readmit_seat(&mut self, event_id: &str, position: u32, epoch: u16) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE seats SET checked_out_at = NULL
             WHERE event_id = $1 AND position = $2 AND issue_epoch = $3
               AND admitted_at IS NOT NULL AND checked_out_at IS NOT NULL",
        )
        .bind(event_id)
        .bind(i64::from(position))
        .bind(i64::from(epoch))
        .execute(self.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Admit every seat of `purchase_id` not admitted yet (the admission page's
    /// staff PIN); the seats admitted now.
    pub async fn admit_purchase_seats(&mut self, purchase_id: &str, at: Timestamp) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "UPDATE seats SET admitted_at = $1 WHERE purchase_id = $2 AND admitted_at IS NULL RETURNING seat_code",
        )
        .bind(at)
        .bind(purchase_id)
        .fetch_all(self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }
}
