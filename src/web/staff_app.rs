//! The staff check-in app at `/staff`, on the staff member's own phone or
//! tablet, signed in with the one-time login link (`dialticket staff add`).
//!
//! One field takes the code: a keyboard-wedge barcode scanner types it and
//! Enter into the focused field (the usual hardware at venues), staff type a
//! ticket's short reference there, and where the browser has the BarcodeDetector
//! API a camera button scans QR codes. The verdict fills the screen: green or
//! red, the reason, the seat, the holder's name to compare with an ID, and when,
//! where and by whom a seat was admitted before. Counters show admitted /
//! expected, per gate.
//!
//! With `/assets/staff.js` the field posts to the scanning API and the verdict
//! is drawn in place (the field keeps the focus for the next scan); without
//! JavaScript the form posts to `POST /staff/scan` and the verdict comes back as
//! the page. Either way one scan is one call of [`super::staff::scan_for`].

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::staff::{scan_for, staff_json, staff_of};
use super::{finish, respond, tr, PageResult, Web, WebError};
use crate::store::Staff;

fn not_signed_in(web: &Web) -> WebError {
    WebError::StaffOnly(tr(web, "staff-not-signed-in", &[]))
}

/// The page's data: who is signed in, the counters, and a verdict if there is one.
async fn app_data(web: &Web, staff: &Staff, verdict: Option<Value>) -> Result<Value, WebError> {
    let event = web.app.store.event(&staff.event_id).await?;
    let mut data = staff_json(staff, event.as_ref());
    data["signed_in"] = json!(true);
    data["counts"] = counts_json(web, &staff.event_id).await?;
    if let Some(v) = verdict {
        data["tone"] = json!(if v["admits"] == true { "ok" } else { "bad" });
        data["verdict"] = v;
    }
    Ok(data)
}

async fn counts_json(web: &Web, event_id: &str) -> Result<Value, WebError> {
    let c = web.app.store.door_counts(event_id).await?;
    let (admitted, expected) = (c.admitted.to_string(), c.expected.to_string());
    let mut line = tr(web, "staff-counts", &[("admitted", &admitted), ("expected", &expected)]);
    let mut gates = vec![];
    for (gate, n) in &c.gates {
        let gate = gate.clone().unwrap_or_else(|| "—".into());
        line.push_str(" · ");
        line.push_str(&tr(web, "staff-gate-count", &[("gate", &gate), ("admitted", &n.to_string())]));
        gates.push(json!({"gate": gate, "admitted": n}));
    }
    // `line`: the counters in the staff member's language, as the page shows them.
    Ok(json!({"expected": c.expected, "admitted": c.admitted, "gates": gates, "line": line}))
}

/// The app.
pub(super) async fn home(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = async {
        let (staff, _) = staff_of(&web, &headers).await?.ok_or_else(|| not_signed_in(&web))?;
        let data = app_data(&web, &staff, None).await?;
        Ok(respond(&web, &headers, StatusCode::OK, "staff.html", &data))
    }
    .await;
    finish(&web, &headers, r)
}

/// A scan from the page's form, without JavaScript: the verdict comes back as the page.
pub(super) async fn scan_form(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let r: PageResult = async {
        let (staff, token) = staff_of(&web, &headers).await?.ok_or_else(|| not_signed_in(&web))?;
        let code = form.get("code").map(|c| c.trim()).unwrap_or_default();
        if code.is_empty() {
            return Err(WebError::Invalid(tr(&web, "staff-empty-code", &[])));
        }
        let verdict = match scan_for(&web, &staff, &token, code).await {
            Ok(v) => v,
            Err(refused) => return Ok(refused),
        };
        let data = app_data(&web, &staff, Some(verdict)).await?;
        Ok(respond(&web, &headers, StatusCode::OK, "staff.html", &data))
    }
    .await;
    finish(&web, &headers, r)
}

/// The counters, for the app to refresh.
pub(super) async fn counts(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = async {
        let (staff, _) = staff_of(&web, &headers).await?.ok_or_else(|| not_signed_in(&web))?;
        Ok(Json(counts_json(&web, &staff.event_id).await?).into_response())
    }
    .await;
    finish(&web, &headers, r)
}
