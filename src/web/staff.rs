//! Venue staff: the one-time login (a stub the staff app builds on) and the
//! scanning API devices call at the door (docs/checkin.md).
//!
//! - `GET /staff/login/{token}` shows whose login it is; `POST` uses it up and
//!   sets the session cookie (GET changes nothing: link scanners pre-open URLs).
//! - `GET /staff` — who is signed in (the staff app comes here).
//! - `POST /staff/api/scan` — `Authorization: Bearer <api-token>` (or the session
//!   cookie), JSON `{"code": "…", "direction": "in"|"out"}`: a seat's code or
//!   its typed reference, scanned in (default) or out (re-entry events). One
//!   transaction per scan: the seat admitted with a guarded update, the journal
//!   row (every scan, with staff and gate), the purchase marked used on its first seat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{finish, respond, tr, Web, WebError};
use crate::app::App;
use crate::domain::AdmissionWindow;
use crate::door::code::{Reference, SeatCode};
use crate::door::{self, Direction, Holding, ScanResult, SeatTicket};
use crate::events::EventView;
use crate::flood::{FloodConfig, Key, Limiter, Verdict};
use crate::store::{new_token, now, IssuedCode, Staff, Store, StoreError, StoreTx, TokenKind};

/// The session cookie a login sets.
const COOKIE: &str = "dialticket_staff";
/// Scans one token may send: a burst of this many, refilled at this rate a second.
pub(crate) const SCANS_PER_SECOND: u32 = 20;

/// The scanning devices' limiter: a token over [`SCANS_PER_SECOND`] is refused
/// (429) for a second. The SIP endpoint's limiter, with its own table.
pub(crate) fn scan_limiter() -> Arc<Limiter> {
    let config = FloodConfig { block_time: Duration::from_secs(1), refusals_before_drop: u32::MAX, max_keys: 10_000 };
    Arc::new(Limiter::new(config, crate::flood::Allowlist::none()))
}

fn scan_rate() -> crate::dialplan::policy::Rate {
    crate::dialplan::policy::Rate { count: SCANS_PER_SECOND, per: Duration::from_secs(1) }
}

pub(super) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message, "status": status.as_u16()}))).into_response()
}

/// The staff member a request is from: a device's bearer token, else a browser's
/// session cookie. The token is returned too (the rate limit counts per token).
pub(super) async fn staff_of(web: &Web, headers: &HeaderMap) -> Result<Option<(Staff, String)>, StoreError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| (t.trim().to_string(), TokenKind::Api));
    let cookie = || {
        let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
        cookies.flat_map(|c| c.split(';')).find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == COOKIE).then(|| (value.to_string(), TokenKind::Session))
        })
    };
    let Some((token, kind)) = bearer.or_else(cookie) else { return Ok(None) };
    Ok(web.app.store.staff_by_token(&token, kind).await?.map(|s| (s, token)))
}

/// `Some(403)` when a request names an event (`event`, `None`: not a string) that
/// is not the staff account's own.
pub(super) fn other_event(web: &Web, staff: &Staff, event: Option<&str>) -> Option<Response> {
    (event != Some(staff.event_id.as_str()))
        .then(|| json_error(StatusCode::FORBIDDEN, &tr(web, "staff-api-other-event", &[("event", &staff.event_id)])))
}

pub(super) async fn scan(State(web): State<Web>, headers: HeaderMap, body: Bytes) -> Response {
    let (staff, token) = match staff_of(&web, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let mut r = json_error(StatusCode::UNAUTHORIZED, &tr(&web, "staff-api-token-needed", &[]));
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
        Err(e) => return unexpected(&web, e.into()),
    };
    let (code, direction) = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => match v.get("code").and_then(Value::as_str) {
            Some(code) => {
                let direction = match v.get("direction") {
                    None | Some(Value::Null) => Some(Direction::In),
                    Some(d) => d.as_str().and_then(Direction::parse),
                };
                let Some(direction) = direction else {
                    return json_error(StatusCode::BAD_REQUEST, &tr(&web, "staff-api-bad-direction", &[]));
                };
                // A device set up for one event scanning with another event's token is
                // refused outright (not a `wrong_event` verdict per code).
                if let Some(refused) = v.get("event").and_then(|e| other_event(&web, &staff, e.as_str())) {
                    return refused;
                }
                (code.to_string(), direction)
            }
            None => return json_error(StatusCode::BAD_REQUEST, &tr(&web, "staff-api-bad-body", &[])),
        },
        Err(_) => return json_error(StatusCode::BAD_REQUEST, &tr(&web, "staff-api-bad-body", &[])),
    };
    match scan_for(&web, &staff, &token, &code, direction).await {
        Ok(verdict) => (StatusCode::OK, Json(verdict)).into_response(),
        Err(refused) => refused,
    }
}

/// One scan of `code` by `staff` (signed in with `token`), in or out: the verdict's JSON, or
/// the response refusing the scan itself (429 for a device over its rate, 403
/// for an account whose event is gone, 500).
pub(super) async fn scan_for(
    web: &Web,
    staff: &Staff,
    token: &str,
    code: &str,
    direction: Direction,
) -> Result<Value, Response> {
    let key = Key::Device(crate::store::token_hash(token)[..16].to_string());
    if let verdict @ (Verdict::Refuse { .. } | Verdict::Drop) = web.scans.check(&key, scan_rate(), Instant::now()) {
        let mut r = json_error(StatusCode::TOO_MANY_REQUESTS, &tr(web, "staff-too-many-scans", &[]));
        let after = verdict.retry_after_secs().unwrap_or(1).to_string();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_str(&after).unwrap_or(HeaderValue::from_static("1")));
        return Err(r);
    }
    let event = match web.app.store.event(&staff.event_id).await {
        Ok(Some(e)) => e,
        Ok(None) => return Err(json_error(StatusCode::FORBIDDEN, &tr(web, "staff-event-gone", &[]))),
        Err(e) => return Err(unexpected(web, e.into())),
    };
    match Store::retry(|| scan_once(&web.app, staff, &event, code, direction)).await {
        Ok(verdict) => {
            web.app.metrics.scan(verdict.result.as_str(), crate::metrics::ScanPath::Online);
            let holder = match &verdict.holder_phone {
                Some(phone) => web.app.store.holder_profile(phone).await.ok().flatten().and_then(|p| p.name),
                None => None,
            };
            Ok(verdict.json(web, &event, holder))
        }
        Err(e) => Err(unexpected(web, e)),
    }
}

fn unexpected(web: &Web, e: WebError) -> Response {
    // The database out of reach (restarting): 503 with Retry-After (RFC 9110
    // §10.2.3), so the app scans again shortly; nothing was recorded.
    if e.is_unavailable() {
        tracing::warn!(error = %e, "scan: database unavailable");
        let mut resp = json_error(StatusCode::SERVICE_UNAVAILABLE, &tr(web, "error-unavailable-message", &[]));
        resp.headers_mut().insert(header::RETRY_AFTER, crate::health::RETRY_AFTER_SECS.into());
        return resp;
    }
    tracing::error!(error = %e, "scan failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, &tr(web, "staff-our-side", &[]))
}

/// What one scan decided, for its answer.
struct ScanOutcome {
    result: ScanResult,
    seat: Option<SeatTicket>,
    admission: Option<door::Admission>,
    /// A check-out: this one (`checked_out`), or the seat's last (`not_inside`).
    checked_out: Option<door::Admission>,
    direction: Direction,
    /// An `admitted` that let a checked-out seat back in.
    reentry: bool,
    holder_phone: Option<crate::phone::PhoneNumber>,
    window: AdmissionWindow,
    /// The gate the catalog says the seat enters by, and whether this staff
    /// member stands at another one.
    entry_gate: Option<String>,
    other_gate: bool,
}

impl ScanOutcome {
    /// The verdict for the scanning API and the staff app: `result` is the code
    /// machines read; `headline`, `reason` and the `*_line`s are in the staff
    /// member's language, times on the venue's clock.
    fn json(&self, web: &Web, event: &EventView, holder_name: Option<String>) -> Value {
        let lang = super::locale::current();
        let code = self.result.as_str();
        let (opens, closes) = (event.venue_time(&lang, self.window.opens), event.venue_time(&lang, self.window.closes));
        let words = if self.reentry { "reentry" } else { code };
        let reason = tr(web, &format!("staff-reason-{words}"), &[("opens", &opens), ("closes", &closes)]);
        let a = self.admission.as_ref();
        let seat = self.seat.as_ref().map(|s| s.seat_code.clone());
        let when = a.map(|a| event.venue_time(&lang, a.at));
        let out = self.checked_out.as_ref();
        let out_when = out.map(|o| event.venue_time(&lang, o.at));
        let (line_of, line_key) = match (out, self.reentry) {
            (Some(o), _) => (Some(o), "staff-checked-out-when"),
            (None, true) => (a, "staff-reentered-when"),
            (None, false) => (a, "staff-admitted-when"),
        };
        let when_line = line_of.map(|a| {
            let when = event.venue_time(&lang, a.at);
            let mut line = tr(web, line_key, &[("when", &when)]);
            if let Some(gate) = &a.gate {
                line.push_str(&tr(web, "staff-admitted-gate", &[("gate", gate)]));
            }
            if let Some(by) = &a.by {
                line.push_str(&tr(web, "staff-admitted-by", &[("name", by)]));
            }
            line
        });
        json!({
            "result": self.result, "reason": reason, "admits": self.result.admits(),
            "direction": self.direction, "reentry": self.reentry,
            "inside": self.seat.as_ref().map(SeatTicket::inside),
            "checked_out_at": out.map(|o| o.at), "checked_out_at_display": out_when,
            "headline": tr(web, &format!("staff-headline-{words}"), &[]),
            "event": event.id, "event_name": event.name,
            "seat": seat, "position": self.seat.as_ref().map(|s| s.position),
            "admitted_at": a.map(|a| a.at), "admitted_at_display": when,
            "gate": a.and_then(|a| a.gate.clone()), "by": a.and_then(|a| a.by.clone()),
            "holder_name": holder_name,
            "entry_gate": self.entry_gate, "other_gate": self.other_gate,
            "seat_line": seat.as_ref().map(|s| match (&self.entry_gate, self.other_gate) {
                (Some(g), true) => tr(web, "staff-seat-other-gate", &[("seat", s), ("gate", g)]),
                (Some(g), false) => tr(web, "staff-seat-gate", &[("seat", s), ("gate", g)]),
                (None, _) => tr(web, "staff-seat", &[("seat", s)]),
            }),
            "holder_line": holder_name.as_ref().map(|n| tr(web, "staff-holder", &[("name", n)])),
            "when_line": when_line,
        })
    }
}

/// Which issued code `text` is — a seat's code (its signature checked with the
/// gateway's keys) or a typed reference — among the codes of `events` (one for
/// a scan; every event for `/verify`). `Err`: `invalid`, or `wrong_event` for a
/// genuine code of an event not among them.
pub(super) async fn resolve(
    app: &App,
    tx: &mut StoreTx,
    text: &str,
    events: &[&str],
) -> Result<Result<IssuedCode, ScanResult>, StoreError> {
    if let Some(reference) = Reference::parse(text) {
        let codes = tx.codes_by_reference(reference.as_str()).await?;
        let ours = codes.iter().find(|c| events.contains(&c.event_id.as_str()));
        return Ok(match (ours, codes.is_empty()) {
            (Some(c), _) => Ok(c.clone()),
            (None, true) => Err(ScanResult::Invalid),
            (None, false) => Err(ScanResult::WrongEvent),
        });
    }
    let Ok(code) = SeatCode::verify(text, &app.links.code_verifying_keys()) else {
        return Ok(Err(ScanResult::Invalid));
    };
    let p = code.payload;
    let Some(event) = events.iter().find(|e| door::code::event_tag(e) == p.event_tag) else {
        return Ok(Err(ScanResult::WrongEvent));
    };
    if let Some(issued) = tx.issued_code(event, p.position, p.epoch).await? {
        return Ok(Ok(issued));
    }
    // A ticket issued before seats had codes of their own (epoch 0): the seat's purchase.
    let seat = tx.seat_at(event, p.position).await?;
    Ok(match seat.and_then(|s| s.purchase_id.filter(|_| s.epoch == 0 && p.epoch == 0)) {
        Some(purchase_id) => {
            Ok(IssuedCode { event_id: event.to_string(), position: p.position, epoch: 0, purchase_id })
        }
        None => Err(ScanResult::Invalid),
    })
}

/// The seat and purchase an issued code names, as they are in `tx`.
pub(super) async fn holding(
    tx: &mut StoreTx,
    issued: &IssuedCode,
) -> Result<Option<(SeatTicket, crate::domain::Purchase)>, StoreError> {
    let Some(seat) = tx.seat_at(&issued.event_id, issued.position).await? else { return Ok(None) };
    Ok(tx.purchase(&issued.purchase_id).await?.map(|p| (seat, p)))
}

/// One scan, one transaction (run again from the start if it lost a race).
async fn scan_once(
    app: &App,
    staff: &Staff,
    event: &EventView,
    text: &str,
    direction: Direction,
) -> Result<ScanOutcome, WebError> {
    let at = now();
    let window = AdmissionWindow { opens: event.admission_opens, closes: event.admission_closes };
    let actor = format!("staff:{}", staff.id);
    let mut tx = app.store.begin().await?;
    let mut verdict = ScanOutcome {
        result: ScanResult::Invalid,
        seat: None,
        admission: None,
        checked_out: None,
        direction,
        reentry: false,
        holder_phone: None,
        window,
        entry_gate: None,
        other_gate: false,
    };
    // A live code from the admission page: the seat's code, then the digits of now.
    let (text, live_digits) = match door::live::split(text) {
        Some((code, digits)) => (code, Some(digits)),
        None => (text, None),
    };
    let issued = match resolve(app, &mut tx, text, &[&event.id]).await? {
        Ok(issued) => issued,
        Err(result) => {
            verdict.result = result;
            let detail = json!({"result": result, "staff": staff.name, "gate": staff.gate, "direction": direction});
            tx.journal("staff", &staff.id, "scan", None, Some(result.as_str()), &actor, &detail.to_string());
            tx.commit().await?;
            return Ok(verdict);
        }
    };
    // Scans of one ticket's seats wait for each other (on every gateway).
    tx.lock_purchase(&issued.purchase_id).await?;
    let Some((seat, mut p)) = holding(&mut tx, &issued).await? else {
        return Err(WebError::Unexpected(
            StoreError::Corrupt(format!("issued code of a missing seat: {issued:?}")).into(),
        ));
    };
    let facts = Holding { purchase_id: p.id.clone(), payment: p.payment_status, issued: p.issued, permit: p.admission };
    let mut result = match direction {
        Direction::In => door::decide(&seat, &facts, issued.epoch, window, at),
        Direction::Out => door::decide_out(&seat, &facts, issued.epoch, event.reentry),
    };
    if let (true, Some(digits)) = (result.admits(), live_digits) {
        let event_key = app.links.derive_secret(&door::live::event_label(&event.id));
        let secret = door::live::seat_secret(&event_key, issued.position, issued.epoch);
        if !door::live::accepts(&secret, digits, u64::try_from(at).unwrap_or_default()) {
            result = ScanResult::Stale;
        }
    }
    let this_staff = || door::Admission { at, gate: staff.gate.clone(), by: Some(staff.name.clone()) };
    if result.admits() {
        match admit(&mut tx, staff, &seat, issued.epoch, &mut p, at, at).await? {
            Some(reentry) => {
                verdict.reentry = reentry;
                verdict.admission = Some(this_staff());
            }
            // Another scan got there first (it committed while this one waited).
            None => result = ScanResult::AlreadyAdmitted,
        }
    }
    if result == ScanResult::CheckedOut {
        if tx.check_out_seat(&event.id, seat.position, issued.epoch, at).await? {
            verdict.checked_out = Some(this_staff());
        } else {
            // Another scan checked it out first.
            result = ScanResult::NotInside;
        }
    }
    // The seat as this scan leaves it (or as the scan that got there first left it).
    let reread = matches!(
        result,
        ScanResult::Admitted | ScanResult::AlreadyAdmitted | ScanResult::CheckedOut | ScanResult::NotInside
    );
    let seat = if reread { tx.seat_at(&event.id, seat.position).await? } else { Some(seat) };
    if result == ScanResult::AlreadyAdmitted {
        verdict.admission = seat.as_ref().and_then(|s| s.admitted.clone());
    }
    if result == ScanResult::NotInside {
        let last_out = seat.as_ref().and_then(|s| s.checked_out_at);
        verdict.checked_out = last_out.map(|at| door::Admission { at, gate: None, by: None });
    }
    let seat_id = format!("{}/{}", event.id, seat.as_ref().map_or("?", |s| s.seat_code.as_str()));
    let detail = json!({
        "result": result, "staff": staff.name, "gate": staff.gate, "purchase": p.id, "epoch": issued.epoch,
        "position": issued.position, "direction": direction, "reentry": verdict.reentry,
    });
    tx.journal("seat", &seat_id, "scan", None, Some(result.as_str()), &actor, &detail.to_string());
    tx.commit().await?;
    verdict.result = result;
    verdict.seat = seat;
    verdict.entry_gate = event.gate_of(&p.seat_type).map(str::to_string);
    verdict.other_gate =
        matches!((&verdict.entry_gate, &staff.gate), (Some(g), Some(here)) if !g.eq_ignore_ascii_case(here));
    verdict.holder_phone = Some(p.phone);
    Ok(verdict)
}

/// Let `seat` (of `p`, scanned at `epoch`) in for `staff` at `at`: admitted for
/// the first time (the purchase's admission moves on, journalled at `now`), or
/// back in after a check-out (its first admission stays). `Some(reentry)`;
/// `None` when another scan got there first.
pub(super) async fn admit(
    tx: &mut StoreTx,
    staff: &Staff,
    seat: &SeatTicket,
    epoch: u16,
    p: &mut crate::domain::Purchase,
    at: i64,
    now: i64,
) -> Result<Option<bool>, StoreError> {
    if seat.admitted.is_some() {
        return Ok(tx.readmit_seat(&seat.event_id, seat.position, epoch).await?.then_some(true));
    }
    if !tx.admit_seat(&seat.event_id, seat.position, epoch, at, staff.gate.as_deref(), Some(&staff.id)).await? {
        return Ok(None);
    }
    let transitions = p.seat_admitted(at);
    if !transitions.is_empty() {
        tx.save_purchase(p, &transitions, &format!("staff:{}", staff.id), now).await?;
    }
    Ok(Some(false))
}

// ---- the login stub ----

pub(super) fn staff_json(staff: &Staff, event: Option<&EventView>) -> Value {
    json!({"staff": {"id": staff.id, "name": staff.name, "gate": staff.gate},
           "event": {"id": staff.event_id, "name": event.map(|e| e.name.clone()),
                     "reentry": event.is_some_and(|e| e.reentry)}})
}

/// The login page: whose login this is, and the button that uses it.
pub(super) async fn login_page(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let staff =
            web.app.store.staff_by_token(&token, TokenKind::Login).await?.ok_or_else(|| used_or_unknown(&web))?;
        let event = web.app.store.event(&staff.event_id).await?;
        let mut data = staff_json(&staff, event.as_ref());
        data["login_url"] = json!(format!("/staff/login/{token}"));
        Ok(respond(&web, &headers, StatusCode::OK, "staff.html", &data))
    }
    .await;
    finish(&web, &headers, r)
}

fn used_or_unknown(web: &Web) -> WebError {
    WebError::StaffOnly(tr(web, "staff-login-used", &[]))
}

/// Use the login link: a session for this browser (cookie), then the staff page.
pub(super) async fn login(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let at = now();
        let session = new_token();
        let mut tx = web.app.store.begin().await?;
        let staff = tx.use_login_token(&token, at).await?.ok_or_else(|| used_or_unknown(&web))?;
        tx.add_staff_token(&staff.id, &session, TokenKind::Session, at).await?;
        tx.journal("staff", &staff.id, "login", None, None, &format!("staff:{}", staff.id), "{}");
        tx.commit().await?;
        let secure = if web.app.links.public_url().starts_with("https:") { "; Secure" } else { "" };
        let cookie = format!("{COOKIE}={session}; Path=/staff; HttpOnly; SameSite=Strict{secure}");
        let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/staff")]).into_response();
        resp.headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| WebError::Invalid(e.to_string()))?);
        Ok(resp)
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_gets_twenty_scans_a_second_and_others_are_not_held_up() {
        let limiter = scan_limiter();
        let (device, other) = (Key::Device("0123456789abcdef".into()), Key::Device("fedcba9876543210".into()));
        let t0 = Instant::now();
        for i in 0..SCANS_PER_SECOND {
            assert!(limiter.check(&device, scan_rate(), t0).is_allow(), "scan {i}");
        }
        assert!(matches!(limiter.check(&device, scan_rate(), t0), Verdict::Refuse { .. }));
        assert!(limiter.check(&other, scan_rate(), t0).is_allow());
        // Refused for a second, then it scans again.
        assert!(limiter.check(&device, scan_rate(), t0 + Duration::from_secs(2)).is_allow());
        assert_eq!(device.to_admin_string().parse::<Key>().ok(), Some(device));
    }
}
