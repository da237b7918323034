//! Payments that settle after the order page: a card challenge answered by
//! the buyer, a provider callback (convenience store paid or expired), an
//! admin confirming by hand, and holds that run out. Each is one store
//! transaction, retried on conflict, and ends in [`App::settle_payment`].

use serde_json::json;

use crate::app::{App, AppError};
use crate::domain::{PaymentResult, PaymentStatus, Purchase};
use crate::payment::{Callback, PaymentError};
use crate::store::{now, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("no purchase with payment reference '{0}'")]
    UnknownReference(String),
    #[error("no such purchase")]
    UnknownPurchase,
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for SettlementError {
    fn from(e: StoreError) -> Self {
        SettlementError::App(AppError::Store(e))
    }
}

impl crate::store::IsConflict for SettlementError {
    fn is_conflict(&self) -> bool {
        matches!(self, SettlementError::App(AppError::Store(StoreError::Conflict)))
    }
}

/// Wrong confirmation codes one card challenge takes; the next wrong one declines
/// the order (as a card issuer would), so the code cannot be guessed.
pub const CHALLENGE_TRIES: i64 = 5;
const CHALLENGE_REFUSED: &str = "challenge-code-refused";

/// The buyer answered the card issuer's challenge.
pub async fn answer_challenge(app: &App, purchase_id: &str, code: &str) -> Result<Purchase, SettlementError> {
    Store::retry(|| async {
        let at = now();
        let mut tx = app.store.begin().await?;
        // Answers at once are counted one after the other (see `StoreTx::lock_purchase`).
        tx.lock_purchase(purchase_id).await?;
        let mut p = tx.purchase(purchase_id).await?.ok_or(SettlementError::UnknownPurchase)?;
        if p.payment_status != PaymentStatus::Pending {
            return Ok(p); // already settled (a second tap): show the result
        }
        let reference = p.payment_ref.clone().unwrap_or_default();
        let provider =
            app.payments.for_reference(&reference).ok_or(PaymentError::MethodUnavailable(reference.clone()))?;
        let result = match provider.confirm_challenge(&reference, code) {
            Err(PaymentError::WrongChallengeCode) => {
                let wrong = tx.journal_counts_since(&[purchase_id], CHALLENGE_REFUSED, p.reserved_at).await?;
                if wrong.get(purchase_id).copied().unwrap_or(0) + 1 < CHALLENGE_TRIES {
                    tx.journal("purchase", purchase_id, CHALLENGE_REFUSED, None, None, "web:challenge", "{}");
                    tx.commit().await?;
                    return Err(PaymentError::WrongChallengeCode.into());
                }
                let reason =
                    format!("{CHALLENGE_TRIES} wrong confirmation codes: the card issuer declined the payment");
                crate::domain::PaymentResult::Declined { reason }
            }
            answer => answer?.settled("challenge")?,
        };
        let event = tx.event(&p.event_id).await?.ok_or(SettlementError::UnknownPurchase)?;
        app.settle_payment(&mut tx, &mut p, &event, &result, "web:challenge", at).await?;
        tx.commit().await?;
        app.mail_wake.notify_one();
        Ok(p)
    })
    .await
}

/// A provider's callback (already signature-checked). Idempotent by event id:
/// a repeat returns the first outcome and changes nothing.
pub async fn apply_callback(app: &App, cb: &Callback, actor: &str) -> Result<String, SettlementError> {
    Store::retry(|| async {
        let at = now();
        let mut tx = app.store.begin().await?;
        if let Some(previous) = tx.claim_payment_event(&cb.event_id, &cb.reference, &cb.status, at).await? {
            tx.commit().await?;
            return Ok(previous);
        }
        let mut p = tx
            .purchase_by_payment_ref(&cb.reference)
            .await?
            .ok_or_else(|| SettlementError::UnknownReference(cb.reference.clone()))?;
        let outcome = if p.payment_status != PaymentStatus::Pending {
            // Late or crossed notification (e.g. paid after we expired the hold):
            // recorded, nothing changes; operators see it in the journal.
            format!("ignored: purchase already {}", p.payment_status.as_str())
        } else if cb.status == "paid" {
            let event = tx.event(&p.event_id).await?.ok_or(SettlementError::UnknownPurchase)?;
            let result = PaymentResult::Approved { reference: cb.reference.clone() };
            app.settle_payment(&mut tx, &mut p, &event, &result, actor, at).await?;
            "paid".to_string()
        } else {
            let when = p.hold_deadline().max(at);
            expire(app, &mut tx, &mut p, actor, when).await?;
            "expired".to_string()
        };
        tx.journal(
            "purchase",
            &p.id,
            "payment-callback",
            None,
            None,
            actor,
            &json!({"event_id": cb.event_id, "outcome": outcome}).to_string(),
        );
        tx.finish_payment_event(&cb.event_id, &outcome).await?;
        tx.commit().await?;
        app.mail_wake.notify_one();
        Ok(outcome)
    })
    .await
}

/// Release every hold that ran out by `at`; returns how many.
pub async fn expire_holds(app: &App, at: i64) -> Result<usize, SettlementError> {
    let mut n = 0;
    for id in app.store.expired_holds(at, 200).await? {
        let done = Store::retry(|| async {
            let mut tx = app.store.begin().await?;
            let Some(mut p) = tx.purchase(&id).await? else { return Ok::<_, SettlementError>(false) };
            if p.payment_status != PaymentStatus::Pending || p.hold_deadline() > at {
                return Ok(false); // paid or extended meanwhile
            }
            expire(app, &mut tx, &mut p, "system:hold-expiry", at).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await?;
        n += done as usize;
    }
    if n > 0 {
        app.mail_wake.notify_one();
    }
    Ok(n)
}

async fn expire(
    app: &App,
    tx: &mut crate::store::StoreTx,
    p: &mut Purchase,
    actor: &str,
    at: i64,
) -> Result<(), SettlementError> {
    let transitions = p.expire(at).map_err(AppError::from)?;
    tx.save_purchase(p, &transitions, actor, at).await?;
    tx.release_seats(&p.id, at).await?;
    if let Some(holder) = tx.phone_user(&p.phone).await? {
        let reason = "Your reservation expired before it was paid, and the seats were released. Call the purchase number to start again.";
        let ctx = json!({"reason": reason, "kind": "hold-expired", "phone": p.phone.as_str(), "url": ""});
        // Sent now, whatever time the expiry is judged at.
        app.queue_order_mail(tx, &holder, "refusal", &ctx, now()).await?;
    }
    Ok(())
}

/// The hold-expiry sweeper: runs until `stop` turns true.
pub async fn run_expiry(app: std::sync::Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = expire_holds(&app, now()).await {
            tracing::warn!(error = %e, "hold expiry failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
    }
}
