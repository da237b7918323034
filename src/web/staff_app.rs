//! The staff check-in app at `/staff`, on the staff member's own phone or
//! tablet, signed in with the one-time login link (`dialticket staff add`).
//!
//! One field takes the code: a keyboard-wedge barcode scanner types it and
//! Enter into the focused field (the usual hardware at venues), staff type a
//! ticket's short reference there, and where the browser has the BarcodeDetector
//! API a camera button scans QR codes. The verdict fills the screen: green or
//! red, the reason, the seat, the holder's name to compare with an ID, and when,
//! where and by whom a seat was admitted before. Counters show admitted /
//! expected, per gate; at a re-entry event also how many are inside now, and an
//! In/Out switch (radio buttons of the form, so it works without JavaScript too)
//! says which way the next scan goes.
//!
//! With `/assets/staff.js` the field posts to the scanning API and the verdict
//! is drawn in place (the field keeps the focus for the next scan); without
//! JavaScript the form posts to `POST /staff/scan` and the verdict comes back as
//! the page. Either way one scan is one call of [`super::staff::scan_for`].

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::staff::{other_event, scan_for, staff_json, staff_of};
use super::{finish, respond, tr, PageResult, Web, WebError};
use crate::door::Direction;
use crate::store::Staff;

fn not_signed_in(web: &Web) -> WebError {
    WebError::StaffOnly(tr(web, "staff-not-signed-in", &[]))
}

/// The page's data: who is signed in, the counters, and a verdict if there is one.
async fn app_data(web: &Web, staff: &Staff, direction: Direction, verdict: Option<Value>) -> Result<Value, WebError> {
    let event = web.app.store.event(&staff.event_id).await?;
    let mut data = staff_json(staff, event.as_ref());
    data["signed_in"] = json!(true);
    data["direction"] = json!(direction);
    data["counts"] = counts_json(web, &staff.event_id, event.as_ref().is_some_and(|e| e.reentry)).await?;
    if let Some(e) = &event {
        data["offline"] = offline_words(web, e);
    }
    if let Some(v) = verdict {
        let tone = match (v["admits"] == true, v["result"] == "checked_out") {
            (true, _) => "ok",
            (false, true) => "out",
            (false, false) => "bad",
        };
        data["tone"] = json!(tone);
        data["verdict"] = v;
    }
    Ok(data)
}

/// What the app needs to decide scans offline besides the bundle: the keys a
/// bundle must be signed with (pinned here, in the page the service worker
/// keeps), and every verdict's words in the staff member's language.
fn offline_words(web: &Web, e: &crate::events::EventView) -> Value {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let keys: Vec<String> = web
        .app
        .links
        .code_keys_until()
        .iter()
        .map(|(k, _)| {
            format!("{}:{}", super::staff_offline::hex(&crate::door::code::key_tag(k)), b64.encode(k.to_bytes()))
        })
        .collect();
    let lang = super::locale::current();
    let (opens, closes) = (e.venue_time(&lang, e.admission_opens), e.venue_time(&lang, e.admission_closes));
    let results = [
        "admitted",
        "already_admitted",
        "revoked",
        "invalid",
        "wrong_event",
        "not_open",
        "cancelled",
        "not_confirmed",
        "stale",
        "reentry",
        "checked_out",
        "not_inside",
        "no_reentry",
        "not_synced",
        "clock",
    ];
    let verdicts: serde_json::Map<String, Value> = results
        .iter()
        .map(|r| {
            let args = [("opens", opens.as_str()), ("closes", closes.as_str()), ("minutes", "{minutes}")];
            let words = [tr(web, &format!("staff-headline-{r}"), &[]), tr(web, &format!("staff-reason-{r}"), &args)];
            (r.to_string(), json!(words))
        })
        .collect();
    json!({"keys": keys.join(","), "verdicts": Value::Object(verdicts).to_string()})
}

async fn counts_json(web: &Web, event_id: &str, reentry: bool) -> Result<Value, WebError> {
    let c = web.app.store.door_counts(event_id).await?;
    let (admitted, expected, inside) = (c.admitted.to_string(), c.expected.to_string(), c.inside.to_string());
    let mut line = match reentry {
        true => {
            tr(web, "staff-counts-reentry", &[("inside", &inside), ("admitted", &admitted), ("expected", &expected)])
        }
        false => tr(web, "staff-counts", &[("admitted", &admitted), ("expected", &expected)]),
    };
    let mut gates = vec![];
    for (gate, n) in &c.gates {
        let gate = gate.clone().unwrap_or_else(|| "—".into());
        line.push_str(" · ");
        line.push_str(&tr(web, "staff-gate-count", &[("gate", &gate), ("admitted", &n.to_string())]));
        gates.push(json!({"gate": gate, "admitted": n}));
    }
    // `line`: the counters in the staff member's language, as the page shows them.
    Ok(json!({"expected": c.expected, "admitted": c.admitted, "inside": c.inside, "reentry": reentry,
              "gates": gates, "line": line}))
}

/// The app.
pub(super) async fn home(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = async {
        let (staff, _) = staff_of(&web, &headers).await?.ok_or_else(|| not_signed_in(&web))?;
        let data = app_data(&web, &staff, Direction::In, None).await?;
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
        let direction = match form.get("direction").map(String::as_str) {
            None | Some("") => Direction::In,
            Some(d) => {
                Direction::parse(d).ok_or_else(|| WebError::Invalid(tr(&web, "staff-api-bad-direction", &[])))?
            }
        };
        let verdict = match scan_for(&web, &staff, &token, code, direction).await {
            Ok(v) => v,
            Err(refused) => return Ok(refused),
        };
        let data = app_data(&web, &staff, direction, Some(verdict)).await?;
        Ok(respond(&web, &headers, StatusCode::OK, "staff.html", &data))
    }
    .await;
    finish(&web, &headers, r)
}

/// The counters, for the app to refresh.
pub(super) async fn counts(State(web): State<Web>, headers: HeaderMap) -> Response {
    counts_of(web, headers, None).await
}

/// `GET /staff/api/events/{event}/counts`: the counters of the event named, for
/// devices; a token of another event is refused (403).
pub(super) async fn event_counts(State(web): State<Web>, Path(event): Path<String>, headers: HeaderMap) -> Response {
    counts_of(web, headers, Some(event)).await
}

async fn counts_of(web: Web, headers: HeaderMap, event: Option<String>) -> Response {
    let r = async {
        let (staff, _) = staff_of(&web, &headers).await?.ok_or_else(|| not_signed_in(&web))?;
        if let Some(refused) = event.and_then(|e| other_event(&web, &staff, Some(&e))) {
            return Ok(refused);
        }
        let reentry = web.app.store.event(&staff.event_id).await?.is_some_and(|e| e.reentry);
        Ok(Json(counts_json(&web, &staff.event_id, reentry).await?).into_response())
    }
    .await;
    finish(&web, &headers, r)
}
