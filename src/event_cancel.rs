//! A whole event cancelled from the back office (issue 20, step 5), durably.
//!
//! The request records the cancellation (`event_cancellations`, state
//! `running`) and stops sales in one transaction
//! ([`crate::store::Store::start_event_cancellation`]), then starts [`spawn`].
//! The runner cancels the event's open orders one at a time, **each in its own
//! transaction** with its refund, its outbox mail and its journal rows, the
//! purchase row locked first ([`crate::store::StoreTx::lock_purchase`]): a
//! crash between two orders loses nothing (the rest are still open and the
//! cancellation still `running`, which every gateway start resumes:
//! [`resume_all`]) and doubles nothing (an order already cancelled is skipped:
//! [`step_for`], and its transition refuses a second cancel). Two gateways on one
//! database may both run it: each order is still refunded and mailed once.

use std::sync::Arc;

use crate::app::App;
use crate::domain::{AdmissionState, DomainError, PaymentStatus, Purchase};
use crate::events::EventView;
use crate::store::{now, IsConflict, Store, StoreError};
use crate::web::cancel::{refund_and_mail_in, RefundError};

/// The journal's actor of what the runner does.
pub const ACTOR: &str = "event-cancel";

#[derive(Debug, thiserror::Error)]
pub(crate) enum EventCancelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("no event '{0}'")]
    NoEvent(String),
}

impl IsConflict for EventCancelError {
    fn is_conflict(&self) -> bool {
        matches!(
            self,
            EventCancelError::Store(StoreError::Conflict)
                | EventCancelError::Refund(RefundError::App(crate::app::AppError::Store(StoreError::Conflict)))
        )
    }
}

/// What the runner does to one order of a cancelled event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Paid: cancelled, refunded, the holder mailed.
    Refund,
    /// Reserved, not paid: withdrawn, its seats back; nothing to refund.
    Withdraw,
    /// Already cancelled, expired, declined or admitted: nothing (again).
    Skip,
}

/// The step for `p` as it is now (read under its row lock).
pub fn step_for(p: &Purchase) -> Step {
    if p.admission == AdmissionState::Admitted {
        return Step::Skip;
    }
    match p.payment_status {
        PaymentStatus::Paid => Step::Refund,
        PaymentStatus::Pending => Step::Withdraw,
        _ => Step::Skip,
    }
}

/// Progress as the event's page shows it: (orders cancelled, of how many).
/// `open` is how many are still to cancel; orders placed after the start never
/// happen (sales stopped), so `open` never exceeds `total` but is clamped anyway.
pub fn progress(total: i64, open: i64) -> (i64, i64) {
    let total = total.max(0);
    (total - open.clamp(0, total), total)
}

/// Run the cancellation of `event_id` in the background.
pub fn spawn(app: Arc<App>, event_id: String) {
    tokio::spawn(async move {
        if let Err(e) = run(&app, &event_id).await {
            tracing::warn!(event = %event_id, error = %e, "event cancellation stopped; resumed at the next start");
        }
    });
}

/// At a gateway's start: every cancellation still `running`, each in the background.
pub async fn resume_all(app: Arc<App>) {
    match app.store.running_event_cancellations().await {
        Ok(events) => {
            for event_id in events {
                tracing::info!(event = %event_id, "resuming an event's cancellation");
                spawn(app.clone(), event_id);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the running event cancellations"),
    }
}

/// Cancel every open order of `event_id`, then mark the cancellation done.
pub(crate) async fn run(app: &App, event_id: &str) -> Result<(), EventCancelError> {
    let event = app.store.event(event_id).await?.ok_or_else(|| EventCancelError::NoEvent(event_id.into()))?;
    let mut cancelled = 0usize;
    loop {
        let open = app.store.open_orders(event_id).await?;
        if open.is_empty() {
            break;
        }
        let mut refused = 0usize;
        for pid in &open {
            if app.event_cancel_stop_after.is_some_and(|k| cancelled >= k) {
                // The test hook: a gateway that stops working after k orders, as if killed.
                tracing::warn!(event = %event_id, cancelled, "event cancellation halted by event_cancel_stop_after");
                return std::future::pending().await;
            }
            if let Some(delay) = app.event_cancel_order_delay {
                tokio::time::sleep(delay).await;
            }
            match Store::retry(|| cancel_one(app, &event, pid)).await {
                Ok(true) => {
                    cancelled += 1;
                    app.mail_wake.notify_one();
                }
                Ok(false) => {}
                Err(EventCancelError::Refund(RefundError::Refused(why))) => {
                    tracing::warn!(purchase = %pid, reason = %why, "event cancellation: refund refused, tried again later");
                    refused += 1;
                }
                Err(e) => return Err(e),
            }
        }
        if refused > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        }
    }
    app.store.finish_event_cancellation(event_id, now()).await?;
    tracing::info!(event = %event_id, cancelled, "event cancellation done");
    Ok(())
}

/// One order in one transaction: locked, read, cancelled (or skipped), refunded,
/// mailed and journalled. `true` when this call changed it.
async fn cancel_one(app: &App, event: &EventView, pid: &str) -> Result<bool, EventCancelError> {
    let at = now();
    let mut tx = app.store.begin().await?;
    tx.lock_purchase(pid).await?;
    let Some(mut p) = tx.purchase(pid).await? else { return Ok(false) };
    let detail = serde_json::json!({"event": event.id}).to_string();
    match step_for(&p) {
        Step::Skip => return Ok(false),
        Step::Refund => {
            let transitions = p.cancel_by_organizer()?;
            refund_and_mail_in(app, &mut tx, &p, event, &transitions, ACTOR, at).await?;
            tx.journal("purchase", pid, "event-cancel", Some("paid"), Some("refunded"), ACTOR, &detail);
        }
        Step::Withdraw => {
            let transitions = p.withdraw_unpaid()?;
            tx.save_purchase(&p, &transitions, ACTOR, at).await?;
            tx.release_seats(pid, at).await?;
            tx.journal("purchase", pid, "event-cancel", Some("pending"), Some("expired"), ACTOR, &detail);
        }
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Reservation;
    use crate::phone::PhoneNumber;

    fn example() -> Purchase {
        Purchase::reserved(Reservation {
            id: "p1".into(),
            user_number: "1234567890".into(),
            phone: PhoneNumber::parse("+819012345678").expect("phone"),
            event_id: "e1".into(),
            seat_type: "S".into(),
            seats: vec!["A-1".into()],
            unit_price: 8000,
            payment_method: "card".into(),
            reserved_at: 0,
            cancellable_until: 100,
        })
    }

    #[test]
    fn progress_counts_what_is_no_longer_open() {
        assert_eq!(progress(20, 20), (0, 20));
        assert_eq!(progress(20, 7), (13, 20));
        assert_eq!(progress(20, 0), (20, 20));
        assert_eq!(progress(3, 9), (0, 3), "clamped");
        assert_eq!(progress(0, 0), (0, 0));
    }

    #[test]
    fn steps_follow_the_payment_and_skip_what_is_done() {
        let mut p = example();
        p.payment_status = PaymentStatus::Paid;
        assert_eq!(step_for(&p), Step::Refund);
        p.payment_status = PaymentStatus::Pending;
        assert_eq!(step_for(&p), Step::Withdraw);
        for done in [PaymentStatus::Refunded, PaymentStatus::Expired, PaymentStatus::Declined] {
            p.payment_status = done;
            assert_eq!(step_for(&p), Step::Skip);
        }
        p.payment_status = PaymentStatus::Paid;
        p.admission = AdmissionState::Admitted;
        assert_eq!(step_for(&p), Step::Skip, "an admitted order is not cancelled");
    }

    #[test]
    fn a_second_cancel_is_refused_by_the_transition() {
        let mut p = example();
        p.payment_status = PaymentStatus::Paid;
        assert!(p.cancel_by_organizer().is_ok());
        assert_eq!(step_for(&p), Step::Skip);
        assert!(p.cancel_by_organizer().is_err());
        let mut q = example();
        q.payment_status = PaymentStatus::Pending;
        assert!(q.withdraw_unpaid().is_ok());
        assert!(q.withdraw_unpaid().is_err());
    }
}
