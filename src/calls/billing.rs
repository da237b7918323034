//! Consent to carrier billing (the hardening issue, item 2; seed 004: the order
//! is placed on one terminal and confirmed on the named phone).
//!
//! Carrier billing puts the charge on a phone line's bill, so only that line's
//! owner may agree to it: an order paid this way waits
//! ([`crate::payment::Charge::AwaitConsent`]) until a call from the line reaches
//! the order's own number in the `confirm-billing` block ([`App::consent_number`]).
//! The call settles that one order with the carrier, and the issue guide goes out
//! as for any payment. Whoever typed the line into a form has no say: they cannot
//! call from it; and an owner consenting to their own order consents to nothing
//! else that waits for the same line.

use serde_json::json;

use super::{refusal_mail, refuse};
use crate::app::{App, AppError};
use crate::domain::PaymentResult;
use crate::payment::PaymentError;
use crate::sip::{CallDecision, IncomingCall};
use crate::store::StoreTx;

/// A call to a `confirm-billing` number, in the call's transaction.
pub(super) async fn confirm(
    app: &App,
    tx: &mut StoreTx,
    call: &IncomingCall,
    actor: &str,
    at: i64,
) -> Result<CallDecision, AppError> {
    let line = &call.caller.number;
    let user = tx.touch_caller(line, &call.rule.language, at).await?;
    let mut approved = 0;
    let mut declined = 0;
    for mut p in tx.awaiting_consent(&user.user_number, at).await? {
        if app.consent_number(&p.event_id, &p.id).as_ref() != Some(&call.dialed) {
            continue;
        }
        let reference = p.payment_ref.clone().unwrap_or_default();
        let provider =
            app.payments.for_reference(&reference).ok_or(PaymentError::MethodUnavailable(reference.clone()))?;
        let result = provider.consent(&reference, line)?.settled("consent")?;
        let Some(event) = tx.event(&p.event_id).await? else { continue };
        let ok = matches!(result, PaymentResult::Approved { .. });
        app.settle_payment(tx, &mut p, &event, &result, actor, at).await?;
        let detail = json!({"line": line, "outcome": if ok { "approved" } else { "declined" }}).to_string();
        tx.journal("purchase", &p.id, "billing-consent", None, None, actor, &detail);
        if ok {
            approved += 1;
        } else {
            declined += 1;
        }
    }
    match (approved, declined) {
        (0, 0) => {
            let reason = "No order is waiting for this phone's consent on the number you called. Each order has its own number, shown with the order; orders wait 15 minutes for the call, then order again.";
            refusal_mail(app, tx, &user, "nothing-to-confirm", reason, None, at).await?;
            tx.journal("phone-user", &user.user_number, "billing-consent-refused", None, None, actor, "{}");
            Ok(refuse(403, "Nothing To Confirm", "nothing-to-confirm"))
        }
        // The carrier said no for every order: each got its apology mail.
        (0, _) => Ok(refuse(403, "Billing Refused", "billing-refused")),
        _ => Ok(CallDecision::announce("billing-confirmed")),
    }
}
