//! After the order: the card issuer's challenge, and payment providers' callbacks.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::{check_link, finish, tr, Web, WebError};
use crate::links::Purpose;
use crate::payment::PaymentError;
use crate::settlement::SettlementError;

#[derive(Deserialize)]
pub(crate) struct ChallengeForm {
    #[serde(default)]
    code: String,
}

/// The card issuer's challenge: the buyer types the code (sandbox: 123456).
pub(crate) async fn challenge(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ChallengeForm>,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::CardChallenge)?;
        let pid = claims.pid.ok_or_else(|| WebError::NotFound(tr(&web, "shop-error-challenge-link", &[])))?;
        let no_purchase = || WebError::NotFound(tr(&web, "shop-error-no-purchase", &[]));
        let (p, wrong) = match crate::settlement::answer_challenge(&web.app, &pid, &form.code).await {
            Ok(p) => (p, None),
            Err(SettlementError::Payment(PaymentError::WrongChallengeCode)) => {
                let p = web.app.store.purchase(&pid).await?.ok_or_else(no_purchase)?;
                (p, Some(tr(&web, "shop-challenge-wrong", &[])))
            }
            Err(SettlementError::Payment(e)) => return Err(WebError::Invalid(e.to_string())),
            Err(SettlementError::App(e)) => return Err(WebError::Unexpected(e)),
            Err(other) => return Err(WebError::NotFound(other.to_string())),
        };
        let event = web.app.store.event(&p.event_id).await?.ok_or_else(no_purchase)?;
        super::order::result(&web, &headers, &p, &event, None, wrong, None).await
    }
    .await;
    finish(&web, &headers, r)
}

/// Provider callbacks (`X-Dialticket-Signature: sha256=<hmac of the body>`).
pub(crate) async fn payment_callback(State(web): State<Web>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let signature = headers.get("x-dialticket-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let cb = match web.app.payments.verify_callback(&body, signature) {
        Ok(cb) => cb,
        Err(e @ PaymentError::BadSignature) => {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(e) => return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e.to_string()}))).into_response(),
    };
    match crate::settlement::apply_callback(&web.app, &cb, "provider:callback").await {
        Ok(outcome) => axum::Json(json!({"event_id": cb.event_id, "outcome": outcome})).into_response(),
        Err(e @ SettlementError::UnknownReference(_)) => {
            (StatusCode::NOT_FOUND, axum::Json(json!({"error": e.to_string()}))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "payment callback failed");
            // 5xx: the provider retries later; nothing was half-applied.
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": "try again"}))).into_response()
        }
    }
}
