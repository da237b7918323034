//! Consent to carrier billing (the hardening issue, item 2; seed 004: the order
//! is placed on one terminal and confirmed on the named phone).
//!
//! Carrier billing puts the charge on a phone line's bill, so only that line's
//! owner may agree to it: an order paid this way waits ([`Charge::AwaitConsent`])
//! until a call from the line reaches a `confirm-billing` number. The call
//! settles every such order the line pays for (of the rule's event, if it names
//! one) with the carrier, and the issue guide goes out as for any payment.
//! Whoever typed the number into a form has no say: they cannot call from it.

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
        if call.rule.event.as_deref().is_some_and(|e| e != p.event_id) {
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
            let reason = "There is no order waiting for this phone's consent to carrier billing. Orders wait 15 minutes for the call; after that, order again.";
            refusal_mail(app, tx, &user, reason, at).await?;
            tx.journal("phone-user", &user.user_number, "billing-consent-refused", None, None, actor, "{}");
            Ok(refuse(403, "Nothing To Confirm", "nothing-to-confirm"))
        }
        // The carrier said no for every order: each got its apology mail.
        (0, _) => Ok(refuse(403, "Billing Refused", "billing-refused")),
        _ => Ok(CallDecision::Announce { prompt: "billing-confirmed".into() }),
    }
}
