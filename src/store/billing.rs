//! Billing (issue 20, step 7): what moved an organizer's money — its events'
//! paid and refunded orders, with when they were paid and refunded (the
//! journal's `payment → paid` and `refund` rows) — and the payouts an operator
//! recorded (`payouts`, migration 0021; voided, never deleted). The statements'
//! arithmetic is [`crate::billing`].

use chrono::NaiveDate;
use serde_json::json;

use super::{Store, StoreError, StoreTx};
use crate::billing::{Fact, FactKind};
use crate::domain::Timestamp;
use crate::i18n::format::Zone;

/// A payout as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub id: i64,
    pub organizer_id: String,
    pub amount: i64,
    pub paid_on: String,
    pub reference: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub voided_by: Option<String>,
    pub voided_at: Option<Timestamp>,
}

/// A payout to record.
#[derive(Debug, Clone)]
pub struct NewPayout {
    pub amount: i64,
    pub paid_on: NaiveDate,
    pub reference: String,
    pub note: String,
}

/// A paid or refunded order of one of the organizer's events: (id, event,
/// tickets, amount, status, ordered at, paid at, refunded at).
type OrderRow = (String, String, i64, i64, String, i64, Option<i64>, Option<i64>);

const ORDERS: &str = "SELECT p.id, p.event_id, p.quantity, p.amount, p.payment_status, p.reserved_at,
       (SELECT MIN(j.at) FROM journal j WHERE j.entity_id = p.id AND j.action = 'payment' AND j.to_state = 'paid'),
       (SELECT MIN(j.at) FROM journal j WHERE j.entity_id = p.id AND j.action = 'refund')
     FROM purchases p JOIN events e ON e.id = p.event_id
     WHERE e.organizer_id = $1 AND p.payment_status IN ('paid', 'refunded')
     ORDER BY p.reserved_at, p.id";

const PAYOUTS: &str =
    "SELECT id, organizer_id, amount, paid_on, reference, note, recorded_by, recorded_at, voided_by, voided_at
     FROM payouts WHERE organizer_id = $1 ORDER BY paid_on, id";

type PayoutRow = (i64, String, i64, String, String, String, String, i64, Option<String>, Option<i64>);

fn payout_of(r: PayoutRow) -> Payout {
    let (id, organizer_id, amount, paid_on, reference, note, recorded_by, recorded_at, voided_by, voided_at) = r;
    Payout { id, organizer_id, amount, paid_on, reference, note, recorded_by, recorded_at, voided_by, voided_at }
}

/// The facts of `orders` and `payouts` (voided ones left out), days on `zone`'s clock.
fn facts_of(orders: &[OrderRow], payouts: &[Payout], zone: Zone) -> Vec<Fact> {
    let day = |at: i64| {
        chrono::DateTime::from_timestamp(at + i64::from(zone.offset_secs(at)), 0)
            .map(|t| t.date_naive())
            .unwrap_or_default()
    };
    let mut facts = Vec::new();
    for (id, event, tickets, amount, status, ordered, paid, refunded) in orders {
        let paid_at = paid.unwrap_or(*ordered);
        let fact = |kind, at: i64| Fact {
            kind,
            day: day(at),
            at,
            reference: id.clone(),
            event: event.clone(),
            tickets: *tickets,
            amount: *amount,
        };
        facts.push(fact(FactKind::Sale, paid_at));
        if status == "refunded" {
            facts.push(fact(FactKind::Refund, refunded.unwrap_or(paid_at)));
        }
    }
    for p in payouts.iter().filter(|p| p.voided_at.is_none()) {
        let Ok(on) = NaiveDate::parse_from_str(&p.paid_on, "%Y-%m-%d") else { continue };
        facts.push(Fact {
            kind: FactKind::Payout,
            day: on,
            at: p.recorded_at,
            reference: p.reference.clone(),
            event: String::new(),
            tickets: 0,
            amount: p.amount,
        });
    }
    facts
}

impl Store {
    /// An organizer's name (`None`: no such organizer).
    pub async fn organizer_name(&self, organizer_id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM organizers WHERE id = $1")
            .bind(organizer_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(n,)| n))
    }

    /// Every payout recorded for the organizer, voided ones too, by date.
    pub async fn payouts(&self, organizer_id: &str) -> Result<Vec<Payout>, StoreError> {
        let rows: Vec<PayoutRow> = sqlx::query_as(PAYOUTS).bind(organizer_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(payout_of).collect())
    }

    /// What moved the organizer's money, days on `zone`'s clock: its statements' input.
    pub async fn billing_facts(&self, organizer_id: &str, zone: Zone) -> Result<Vec<Fact>, StoreError> {
        let orders: Vec<OrderRow> = sqlx::query_as(ORDERS).bind(organizer_id).fetch_all(&self.pool).await?;
        Ok(facts_of(&orders, &self.payouts(organizer_id).await?, zone))
    }

    /// Record a payout, journalled by `actor`, if `check` (given what is owed
    /// before it, from the facts read inside this transaction) allows it: two
    /// operators recording at once are taken one after the other (the
    /// organizer's `organizer_billing` row is locked first), so together they
    /// never pay out more than is owed. `Ok(Err(..))`: refused, nothing written.
    pub async fn record_payout<E>(
        &self,
        organizer_id: &str,
        zone: Zone,
        payout: &NewPayout,
        check: impl Fn(&[Fact]) -> Result<(), E>,
        actor: &str,
        at: Timestamp,
    ) -> Result<Result<i64, E>, StoreError> {
        let mut tx = self.begin().await?;
        lock_organizer(&mut tx, organizer_id, at).await?;
        let orders: Vec<OrderRow> = sqlx::query_as(ORDERS).bind(organizer_id).fetch_all(tx.conn().await?).await?;
        let payouts: Vec<PayoutRow> = sqlx::query_as(PAYOUTS).bind(organizer_id).fetch_all(tx.conn().await?).await?;
        let payouts: Vec<Payout> = payouts.into_iter().map(payout_of).collect();
        if let Err(e) = check(&facts_of(&orders, &payouts, zone)) {
            drop(tx);
            return Ok(Err(e));
        }
        let paid_on = payout.paid_on.format("%Y-%m-%d").to_string();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO payouts (organizer_id, amount, paid_on, reference, note, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(organizer_id)
        .bind(payout.amount)
        .bind(&paid_on)
        .bind(&payout.reference)
        .bind(&payout.note)
        .bind(actor)
        .bind(at)
        .fetch_one(tx.conn().await?)
        .await?;
        let detail = json!({"organizer": organizer_id, "amount": payout.amount, "paid_on": paid_on,
                            "reference": payout.reference, "note": payout.note});
        tx.journal("payout", &id.to_string(), "payout", None, Some("recorded"), actor, &detail.to_string());
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// Void the organizer's payout `id` (journalled by `actor`); `false` when there
    /// is no such payout of that organizer or it was voided before.
    pub async fn void_payout(
        &self,
        organizer_id: &str,
        id: i64,
        actor: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        lock_organizer(&mut tx, organizer_id, at).await?;
        let done = sqlx::query(
            "UPDATE payouts SET voided_by = $1, voided_at = $2 WHERE id = $3 AND organizer_id = $4 AND voided_at IS NULL",
        )
        .bind(actor)
        .bind(at)
        .bind(id)
        .bind(organizer_id)
        .execute(tx.conn().await?)
        .await?
        .rows_affected()
            == 1;
        if done {
            let detail = json!({"organizer": organizer_id}).to_string();
            tx.journal("payout", &id.to_string(), "payout-void", Some("recorded"), Some("voided"), actor, &detail);
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// Take the organizer's billing row (made if missing): a row lock on PostgreSQL
/// until the transaction ends; SQLite's writer already serializes.
async fn lock_organizer(tx: &mut StoreTx, organizer_id: &str, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO organizer_billing (organizer_id, billed, paid, balance, updated_at) VALUES ($1, 0, 0, 0, $2)
         ON CONFLICT (organizer_id) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(organizer_id)
    .bind(at)
    .execute(tx.conn().await?)
    .await?;
    Ok(())
}
