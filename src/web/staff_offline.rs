//! Check-in when the venue's network is gone (docs/checkin.md, "Offline"): the
//! staff app holds a signed bundle of its event's door and decides scans on the
//! device ([`crate::door::offline`]); what it admitted offline is uploaded when
//! the network is back.
//!
//! - `GET /staff/api/events/{event}/offline-bundle` — the bundle, signed; with
//!   `If-None-Match` its ETag gets a 304 and nothing else
//! - `POST /staff/api/offline-scans` — `{"scans": [{"id", "code", "direction", "at"}]}`:
//!   each scan decided again against the seat as it is now, recorded once per id
//! - `GET /staff/api/events/{event}/conflicts` — seats two devices admitted offline
//! - `/staff/manifest.webmanifest` and `/staff/sw.js` — the installable app

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::staff::{admit, holding, json_error, other_event, resolve, staff_of};
use super::{tr, Web};
use crate::domain::AdmissionWindow;
use crate::door::offline::{self, Bundle, BundleEvent, BundleKey, Reconciled};
use crate::door::{self, Direction, Holding, ScanResult};
use crate::store::{now, OfflineScanRow, Staff, Store, StoreError};

/// Scans one upload may carry (a device queues a few hundred at most between syncs).
const MAX_SCANS: usize = 1000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The staff member of a device request, or the 401 to send.
async fn signed_in(web: &Web, headers: &HeaderMap) -> Result<Staff, Response> {
    match staff_of(web, headers).await {
        Ok(Some((staff, _))) => Ok(staff),
        Ok(None) => {
            let mut r = json_error(StatusCode::UNAUTHORIZED, &tr(web, "staff-api-token-needed", &[]));
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(r)
        }
        Err(e) => Err(failed(web, e)),
    }
}

fn failed(web: &Web, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "offline check-in request failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, &tr(web, "staff-our-side", &[]))
}

/// The bundle of the staff account's event, as signed text.
async fn bundle_text(web: &Web, staff: &Staff) -> Result<Option<String>, StoreError> {
    let Some(e) = web.app.store.event(&staff.event_id).await? else { return Ok(None) };
    let seats = web.app.store.offline_seats(&e.id).await?;
    let keys = web.app.links.code_keys_until();
    let bundle = Bundle {
        format: offline::FORMAT,
        event: BundleEvent {
            id: e.id.clone(),
            name: e.name.clone(),
            tag: hex(&door::code::event_tag(&e.id)),
            reentry: e.reentry,
            admission_opens: e.admission_opens,
            admission_closes: e.admission_closes,
        },
        keys: keys
            .iter()
            .map(|(k, until)| BundleKey {
                tag: hex(&door::code::key_tag(k)),
                public_key: b64(&k.to_bytes()),
                until: *until,
            })
            .collect(),
        live_key: b64(&web.app.links.derive_secret(&door::live::event_label(&e.id))),
        seats: seats
            .into_iter()
            .map(|s| {
                let state = offline::seat_state(&s.seat, s.holding.as_ref());
                (s.seat.position, s.seat.seat_code, s.seat.epoch, state, s.reference, s.holder_name, s.gate)
            })
            .collect(),
        conflicts: web.app.store.door_conflicts(&e.id).await?,
    };
    Ok(Some(offline::text(&bundle)))
}

/// `GET /staff/api/events/{event}/offline-bundle`.
pub(super) async fn bundle(State(web): State<Web>, Path(event): Path<String>, headers: HeaderMap) -> Response {
    let staff = match signed_in(&web, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(refused) = other_event(&web, &staff, Some(&event)) {
        return refused;
    }
    let text = match bundle_text(&web, &staff).await {
        Ok(Some(t)) => t,
        Ok(None) => return json_error(StatusCode::FORBIDDEN, &tr(&web, "staff-event-gone", &[])),
        Err(e) => return failed(&web, e),
    };
    let etag = format!("\"{}\"", &hex(&Sha256::digest(text.as_bytes()))[..32]);
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    let key = web.app.links.code_signing_key();
    let signature = offline::sign(key, &text);
    let body = json!({
        "bundle": text, "signature": b64(&signature.to_bytes()),
        "key": hex(&door::code::key_tag(&key.verifying_key())),
        // For the device's clock check (not signed: it decides nothing on its own).
        "server_time": now(),
    });
    (StatusCode::OK, [(header::ETAG, etag_value)], Json(body)).into_response()
}

/// `GET /staff/api/events/{event}/conflicts`.
pub(super) async fn conflicts(State(web): State<Web>, Path(event): Path<String>, headers: HeaderMap) -> Response {
    let staff = match signed_in(&web, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(refused) = other_event(&web, &staff, Some(&event)) {
        return refused;
    }
    match web.app.store.door_conflicts(&event).await {
        Ok(c) => Json(json!({ "conflicts": c })).into_response(),
        Err(e) => failed(&web, e),
    }
}

#[derive(Deserialize)]
struct Upload {
    scans: Vec<UploadedScan>,
}

#[derive(Deserialize)]
struct UploadedScan {
    /// The device's own id of the scan (1–64 of A-Z a-z 0-9 - _).
    id: String,
    code: String,
    #[serde(default)]
    direction: Option<String>,
    /// When the device scanned it (unix seconds, the device's clock).
    at: i64,
}

fn good_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /staff/api/offline-scans`.
pub(super) async fn upload(State(web): State<Web>, headers: HeaderMap, body: Bytes) -> Response {
    let staff = match signed_in(&web, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let bad = |web: &Web| json_error(StatusCode::BAD_REQUEST, &tr(web, "staff-offline-bad-upload", &[]));
    let Ok(upload) = serde_json::from_slice::<Upload>(&body) else { return bad(&web) };
    let mut seen = HashSet::new();
    let directions: Option<Vec<Direction>> = upload
        .scans
        .iter()
        .map(|s| match s.direction.as_deref() {
            None => Some(Direction::In),
            Some(d) => Direction::parse(d),
        })
        .collect();
    let Some(directions) = directions else { return bad(&web) };
    if upload.scans.len() > MAX_SCANS || !upload.scans.iter().all(|s| good_id(&s.id) && seen.insert(s.id.as_str())) {
        return bad(&web);
    }
    let event = match web.app.store.event(&staff.event_id).await {
        Ok(Some(e)) => e,
        Ok(None) => return json_error(StatusCode::FORBIDDEN, &tr(&web, "staff-event-gone", &[])),
        Err(e) => return failed(&web, e),
    };
    let mut results = Vec::with_capacity(upload.scans.len());
    for (scan, direction) in upload.scans.iter().zip(directions) {
        let one = Store::retry(|| apply(&web, &staff, &event, scan, direction)).await;
        match one {
            Ok(r) => {
                if r["repeat"] != json!(true) {
                    let result = r["result"].as_str().unwrap_or("invalid");
                    web.app.metrics.scan(result, crate::metrics::ScanPath::Offline);
                }
                results.push(r)
            }
            Err(e) => return failed(&web, e),
        }
    }
    match web.app.store.door_conflicts(&event.id).await {
        Ok(c) => Json(json!({ "results": results, "conflicts": c })).into_response(),
        Err(e) => failed(&web, e),
    }
}

/// One uploaded scan, one transaction: its result (the one recorded the first
/// time, for a scan uploaded again).
async fn apply(
    web: &Web,
    staff: &Staff,
    event: &crate::events::EventView,
    scan: &UploadedScan,
    direction: Direction,
) -> Result<Value, StoreError> {
    let at = now();
    let id = format!("{}/{}", staff.id, scan.id);
    let mut tx = web.app.store.begin().await?;
    if let Some(result) = tx.offline_scan_result(&id).await? {
        return Ok(json!({"id": scan.id, "result": result, "repeat": true}));
    }
    // The device's time, but never ahead of ours: an admission is not in the future.
    let scanned_at = scan.at.min(at);
    let (code, digits) = match door::live::split(&scan.code) {
        Some((code, digits)) => (code, Some(digits)),
        None => (scan.code.as_str(), None),
    };
    let mut row = OfflineScanRow {
        id: &id,
        event_id: &event.id,
        staff_id: &staff.id,
        position: None,
        direction: direction.as_str(),
        scanned_at,
        result: ScanResult::Invalid.as_str(),
    };
    let mut answer = json!({"id": scan.id});
    let issued = match resolve(&web.app, &mut tx, code, &[&event.id]).await? {
        Ok(issued) => issued,
        Err(result) => {
            row.result = result.as_str();
            tx.record_offline_scan(&row, at).await?;
            tx.commit().await?;
            answer["result"] = json!(result);
            return Ok(answer);
        }
    };
    row.position = Some(issued.position);
    tx.lock_purchase(&issued.purchase_id).await?;
    let Some((seat, mut p)) = holding(&mut tx, &issued).await? else {
        return Err(StoreError::Corrupt(format!("issued code of a missing seat: {issued:?}")));
    };
    let facts = Holding { purchase_id: p.id.clone(), payment: p.payment_status, issued: p.issued, permit: p.admission };
    let window = AdmissionWindow { opens: event.admission_opens, closes: event.admission_closes };
    let mut reconciled = offline::reconcile(&seat, &facts, issued.epoch, window, event.reentry, direction, scanned_at);
    if let (Some(digits), Reconciled::Apply(ScanResult::Admitted)) = (digits, &reconciled) {
        let key = web.app.links.derive_secret(&door::live::event_label(&event.id));
        let secret = door::live::seat_secret(&key, issued.position, issued.epoch);
        if !door::live::accepts(&secret, digits, u64::try_from(scanned_at).unwrap_or_default()) {
            reconciled = Reconciled::Refused(ScanResult::Stale);
        }
    }
    let result = match reconciled {
        Reconciled::Apply(ScanResult::CheckedOut) => {
            match tx.check_out_seat(&event.id, seat.position, issued.epoch, scanned_at).await? {
                true => "checked_out",
                false => "not_inside",
            }
        }
        Reconciled::Apply(_) => match admit(&mut tx, staff, &seat, issued.epoch, &mut p, scanned_at, at).await? {
            Some(_) => "admitted",
            None => "already_admitted",
        },
        Reconciled::Conflict { first_at, first_by } => {
            let c = offline::order_conflict(
                &seat.seat_code,
                seat.position,
                (first_by, first_at),
                (Some(staff.name.clone()), scanned_at),
            );
            tx.record_conflict(&event.id, &c, at).await?;
            let detail = serde_json::to_string(&c).unwrap_or_default();
            tx.journal(
                "seat",
                &format!("{}/{}", event.id, seat.seat_code),
                "conflict",
                None,
                None,
                &format!("staff:{}", staff.id),
                &detail,
            );
            answer["conflict"] = json!(c);
            "conflict"
        }
        Reconciled::Refused(r) => r.as_str(),
    };
    row.result = result;
    let detail = json!({
        "result": result, "staff": staff.name, "gate": staff.gate, "purchase": p.id, "epoch": issued.epoch,
        "position": issued.position, "direction": direction, "offline": true, "scanned_at": scanned_at,
        "device_scan": scan.id,
    });
    let seat_id = format!("{}/{}", event.id, seat.seat_code);
    tx.journal("seat", &seat_id, "scan", None, Some(result), &format!("staff:{}", staff.id), &detail.to_string());
    tx.record_offline_scan(&row, at).await?;
    tx.commit().await?;
    answer["result"] = json!(result);
    answer["seat"] = json!(seat.seat_code);
    Ok(answer)
}

/// The web app manifest: the staff app installs as an app of its own.
pub(super) async fn manifest(State(web): State<Web>) -> Response {
    let body = json!({
        "name": tr(&web, "staff-app-name", &[]), "short_name": tr(&web, "staff-app-short-name", &[]),
        "start_url": "/staff", "scope": "/staff", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#1a5fb4",
        "icons": [{"src": "/assets/staff-icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    });
    ([(header::CONTENT_TYPE, "application/manifest+json")], Json(body)).into_response()
}

/// The service worker, allowed the scope `/staff` (the app's page and API).
pub(super) async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::HeaderName::from_static("service-worker-allowed"), HeaderValue::from_static("/staff")),
        ],
        include_str!("assets/staff-sw.js"),
    )
        .into_response()
}
