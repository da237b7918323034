//! The admission page the holder's phone shows at the door (`/a/{token}`), and
//! admitting with the staff PIN there.
//!
//! The page is live without reloading itself: a reload would wipe what staff
//! are typing, and after an admit would land on the POST's URL. Instead
//! `/assets/admission.js` asks for the same URL as JSON every few seconds and
//! updates the state, the clock and the time of the last check in place; without
//! JavaScript the page has a plain refresh link. An admit is a POST answered
//! with a redirect to the page (POST-redirect-GET), so reloading after it
//! repeats nothing. The page shows the real state: valid, admitted (when),
//! locked (too many wrong PINs, until when), not open yet, closed, cancelled,
//! no permit — every time on the venue's clock, labelled with its zone (JST),
//! every word from the catalogs (`locales/*/door.ftl`), the script's too: it
//! reads them from the page's `data-` attributes.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ticket::{holder_of, purchase_of};
use super::{check_link, event_json, finish, respond, tr, wants_json, PageResult, Web, WebError};
use crate::app::AppError;
use crate::dialplan::Action;
use crate::domain::{AdmissionState, DomainError, PaymentStatus, Purchase};
use crate::door::code::SeatCode;
use crate::door::{live, SeatTicket};
use crate::events::EventView;
use crate::i18n::Style;
use crate::links::Purpose;
use crate::store::{now, HolderView, PinLock, Store};

/// How often the page asks for its state.
const POLL_SECONDS: u32 = 5;

/// What the page says, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DoorState {
    Cancelled,
    Admitted,
    NoPermit,
    NotOpen,
    Closed,
    Locked,
    Valid,
}

impl DoorState {
    /// `seats_left`: the purchase's seats not admitted yet (each seat enters on
    /// its own; the purchase counts as used from its first).
    fn of(p: &Purchase, e: &EventView, locked: bool, seats_left: usize, at: i64) -> DoorState {
        if p.payment_status != PaymentStatus::Paid {
            return DoorState::Cancelled;
        }
        match p.admission {
            AdmissionState::None => DoorState::NoPermit,
            AdmissionState::Admitted if seats_left == 0 => DoorState::Admitted,
            _ if at < e.admission_opens => DoorState::NotOpen,
            _ if at > e.admission_closes => DoorState::Closed,
            _ if locked => DoorState::Locked,
            _ => DoorState::Valid,
        }
    }

    /// The word in the JSON (`valid`, `admitted` and `refused` as before, plus the finer states).
    fn as_str(self) -> &'static str {
        match self {
            DoorState::Cancelled => "cancelled",
            DoorState::Admitted => "admitted",
            DoorState::NoPermit => "refused",
            DoorState::NotOpen => "not_open",
            DoorState::Closed => "closed",
            DoorState::Locked => "locked",
            DoorState::Valid => "valid",
        }
    }

    /// Green, amber or red.
    fn tone(self) -> &'static str {
        match self {
            DoorState::Valid => "ok",
            DoorState::Admitted | DoorState::Locked | DoorState::NotOpen => "warn",
            _ => "bad",
        }
    }
}

/// What the admission page asks of the store besides the purchase: the PIN
/// lockout at `at` — [`super::PIN_TRIES`] wrong PINs within [`super::PIN_WINDOW`]
/// (the journal of the purchase counts them, so the lock holds on every gateway).
fn pin_lock(at: i64) -> PinLock<'static> {
    PinLock { action: super::PIN_REFUSED, tries: super::PIN_TRIES, window: super::PIN_WINDOW.as_secs() as i64, at }
}

/// The purchase `pid` as its admission page shows it, read again (after an admit).
async fn admission_view(web: &Web, pid: &str) -> Result<HolderView, WebError> {
    web.app
        .store
        .holder_view(pid, Purpose::Admission.as_str(), Some(pin_lock(now())))
        .await?
        .ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-such-purchase", &[])))
}

/// What the page needs besides the purchase: who holds it, the PIN lock, the
/// seats still to enter (never admitted, or checked out at a re-entry event),
/// when the last of those went out, and the last admission's gate.
struct DoorFacts {
    holder_name: Option<String>,
    locked_until: Option<i64>,
    seats_left: usize,
    checked_out_at: Option<i64>,
    gate: Option<String>,
}

/// The zone label the venue's clock shows at `at` (`JST`).
fn zone_label(e: &EventView, at: i64) -> String {
    let time = e.when("en", at, Style::Time);
    time.split_once(' ').map(|(_, label)| label.to_string()).unwrap_or_default()
}

fn admission_json(web: &Web, token: &str, p: &Purchase, e: &EventView, facts: DoorFacts) -> serde_json::Value {
    let at = now();
    let lang = super::locale::current();
    let time = |t: Option<i64>| t.map(|t| e.venue_time(&lang, t)).unwrap_or_default();
    let DoorFacts { holder_name, locked_until, seats_left, checked_out_at, gate } = facts;
    let state = DoorState::of(p, e, locked_until.is_some(), seats_left, at);
    let (left, total) = (seats_left.to_string(), p.seats.len().to_string());
    let (headline, refusal) = match state {
        // Out at a re-entry event: the same codes take the holder back in.
        DoorState::Valid if checked_out_at.is_some() => {
            (tr(web, "door-valid-reentry", &[("at", &time(checked_out_at))]), None)
        }
        DoorState::Valid if seats_left < p.seats.len() => {
            (tr(web, "door-valid-partial", &[("left", &left), ("total", &total)]), None)
        }
        DoorState::Valid => (tr(web, "door-valid", &[]), None),
        DoorState::Admitted => {
            let when = time(p.admitted_at);
            let headline = match &gate {
                Some(g) => tr(web, "door-admitted-gate", &[("at", &when), ("gate", g)]),
                None => tr(web, "door-admitted", &[("at", &when)]),
            };
            (headline, None)
        }
        DoorState::Locked => {
            (tr(web, "door-locked", &[]), Some(tr(web, "door-locked-detail", &[("until", &time(locked_until))])))
        }
        DoorState::NotOpen => (
            tr(web, "door-not-open", &[]),
            Some(tr(web, "door-not-open-detail", &[("at", &time(Some(e.admission_opens)))])),
        ),
        DoorState::Closed => (tr(web, "door-closed", &[]), Some(tr(web, "door-closed-detail", &[]))),
        DoorState::Cancelled => (tr(web, "door-cancelled", &[]), Some(tr(web, "door-cancelled-detail", &[]))),
        DoorState::NoPermit => {
            let number = web.app.number_in(Action::Usage, Some(&e.id), Some(&lang));
            let detail = tr(web, "door-no-permit-detail", &[("number", &number), ("phone", p.phone.as_str())]);
            (tr(web, "door-no-permit", &[]), Some(detail))
        }
    };
    json!({
        "state": state.as_str(), "tone": state.tone(), "headline": headline, "refusal": refusal,
        "purchase_id": p.id, "phone": p.phone, "event": event_json(e, at),
        "seats": p.seats, "quantity": p.quantity, "admission": p.admission.as_str(), "seats_left": seats_left,
        "permit_issued_at": p.permit_issued_at, "permit_issued_at_display": time(p.permit_issued_at),
        "admitted_at": p.admitted_at, "admitted_at_display": time(p.admitted_at), "gate": gate,
        // The gate the catalog says these seats enter by.
        "entry_gate": e.gate_of(&p.seat_type),
        "locked_until": locked_until, "locked_until_display": time(locked_until),
        "now": at, "now_display": e.venue_time(&lang, at),
        // The venue's offset from UTC in minutes and its zone's label (JST), for the page's moving clock.
        "venue_offset_minutes": e.zone().offset_secs(at) / 60,
        "zone_label": zone_label(e, at),
        "poll_seconds": POLL_SECONDS,
        "page_url": format!("/a/{token}"),
        "admit_url": format!("/a/{token}/admit"),
        "pin_admission": e.pin_admission,
        "holder_name": holder_name,
    })
}

/// The admission page (live state) of purchase `view`, opened with `token`;
/// `status` and `error` for an admit that was refused.
fn admission_page(
    web: &Web,
    headers: &HeaderMap,
    token: &str,
    view: HolderView,
    e: &EventView,
    refused: Option<WebError>,
) -> PageResult {
    let HolderView { purchase: p, seats, holder_name, pin_lock_from, .. } = view;
    // The lock lifts when the oldest of the last PIN_TRIES refusals leaves the window.
    let locked = pin_lock_from.map(|t| t + super::PIN_WINDOW.as_secs() as i64);
    let seats: Vec<SeatTicket> = seats.into_iter().map(|(s, _)| s).collect();
    // The gate of the last seat admitted (the staff app records it; a PIN admit has none).
    let gate = seats.iter().filter_map(|s| s.admitted.as_ref()).max_by_key(|a| a.at).and_then(|a| a.gate.clone());
    // Still to enter: never admitted, or checked out at a re-entry event.
    let left: Vec<_> = seats.into_iter().filter(|s| !s.inside()).collect();
    let checked_out_at = left.iter().filter_map(|s| s.checked_out_at).max();
    let facts = DoorFacts { holder_name, locked_until: locked, seats_left: left.len(), checked_out_at, gate };
    let mut data = admission_json(web, token, &p, e, facts);
    if data["state"] == "valid" {
        data["live"] = live_codes(web, &p, &left, now())?.into();
    }
    let status = match refused {
        Some(err) => {
            let status = err.status();
            data["error"] = json!(err.to_string());
            status
        }
        None => StatusCode::OK,
    };
    Ok(respond(web, headers, status, "admission.html", &data))
}

/// The live code of each seat not admitted yet (see [`crate::door::live`]): its
/// QR code and digits for the step holding `at`, and when they change.
fn live_codes(web: &Web, p: &Purchase, seats: &[SeatTicket], at: i64) -> Result<Vec<serde_json::Value>, WebError> {
    let at = u64::try_from(at).unwrap_or_default();
    let event_key = web.app.links.derive_secret(&live::event_label(&p.event_id));
    let mut out = Vec::new();
    for seat in seats {
        let code = SeatCode::sign(web.app.links.code_signing_key(), &p.event_id, seat.position, seat.epoch).text();
        let secret = live::seat_secret(&event_key, seat.position, seat.epoch);
        let digits = live::digits(&secret, at);
        let qr = crate::door::qr::svg(&live::text(&code, &digits), 200).map_err(AppError::from)?;
        out.push(json!({
            "seat": seat.seat_code, "position": seat.position, "digits": digits, "qr_svg": qr,
            "changes_at": live::step_ends(at),
        }));
    }
    Ok(out)
}

pub(super) async fn admission(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Admission)?;
        let (view, e) = holder_of(&web, &claims, Some(pin_lock(now()))).await?;
        admission_page(&web, &headers, &token, view, &e, None)
    }
    .await;
    finish(&web, &headers, r)
}

/// Staff press "admit": the one POST that uses up the ticket. A browser is sent
/// back to the page (303), so a reload shows the page instead of posting again;
/// a refused admit shows the page with the reason, the PIN field empty. JSON
/// clients get the page's JSON, or the error.
pub(super) async fn admit(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let r = async {
        let claims = check_link(&web, &token, Purpose::Admission)?;
        let (seen, e) = purchase_of(&web, &claims).await?;
        let pid = seen.id.clone();
        let outcome = match form.get("staff_pin") {
            // Staff check tickets in with the staff app; the PIN on the holder's phone is
            // an organizer's opt-in (a shared PIN typed where anybody watching learns it).
            _ if !e.pin_admission => Err(WebError::StaffOnly(tr(&web, "door-staff-app-only", &[]))),
            // Staff admit, not the holder: the event's staff PIN (see `Links::staff_pin`).
            None => Err(WebError::StaffOnly(tr(&web, "door-pin-missing", &[]))),
            // One transaction per press, again from the start if another gateway's press
            // won the race (so the loser is told "already admitted", never a 500).
            Some(pin) => Store::retry(|| admit_once(&web, &pid, &e, pin)).await,
        };
        match (outcome, wants_json(&headers)) {
            (Ok(_), true) => admission_page(&web, &headers, &token, admission_view(&web, &pid).await?, &e, None),
            (Err(err), true) => Err(err),
            (Ok(_), false) => Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("/a/{token}"))]).into_response()),
            (Err(WebError::Unexpected(err)), false) => Err(WebError::Unexpected(err)),
            (Err(err), false) => {
                admission_page(&web, &headers, &token, admission_view(&web, &pid).await?, &e, Some(err))
            }
        }
    }
    .await;
    finish(&web, &headers, r)
}

/// One press of "admit" on purchase `pid`. Wrong PINs are journalled per ticket,
/// so the lockout holds on every gateway and across restarts; the ticket is taken
/// first ([`crate::store::StoreTx::lock_purchase`]), so presses at once are
/// counted one after the other and no more than [`super::PIN_TRIES`] are tried.
async fn admit_once(web: &Web, pid: &str, e: &EventView, pin: &str) -> Result<Purchase, WebError> {
    let window = super::PIN_WINDOW.as_secs() as i64;
    let at = now();
    let mut tx = web.app.store.begin().await?;
    if !tx.lock_purchase(pid).await? {
        return Err(WebError::NotFound(tr(web, "cancel-no-such-purchase", &[])));
    }
    let wrong = tx.journal_counts_since(&[pid], super::PIN_REFUSED, at - window).await?;
    if wrong.get(pid).copied().unwrap_or(0) >= super::PIN_TRIES {
        let (tries, minutes) = (super::PIN_TRIES.to_string(), (window / 60).to_string());
        return Err(WebError::TooManyTries(tr(web, "door-pin-locked", &[("tries", &tries), ("minutes", &minutes)])));
    }
    if !web.app.links.is_staff_pin(&e.id, e.staff_pin_epoch, pin) {
        tx.journal("purchase", pid, super::PIN_REFUSED, None, None, "web:admit", "{}");
        tx.commit().await?;
        tracing::info!(purchase = %pid, "admit refused: wrong staff PIN");
        return Err(WebError::StaffOnly(tr(web, "door-pin-wrong", &[])));
    }
    if at > e.admission_closes || at < e.admission_opens {
        return Err(WebError::Conflict(tr(web, "door-not-open-now", &[])));
    }
    let mut p = tx.purchase(pid).await?.ok_or_else(|| WebError::NotFound(tr(web, "cancel-no-such-purchase", &[])))?;
    // The PIN admits every seat not admitted yet (some may have been scanned at the door).
    let (transitions, first) = match p.admit(at) {
        Ok(t) => (t, None),
        Err(DomainError::AlreadyAdmitted { at }) => (Vec::new(), Some(at)),
        Err(e) => return Err(WebError::Conflict(e.to_string())),
    };
    let seats = tx.admit_purchase_seats(pid, at).await?;
    if let (Some(first), true) = (first, seats.is_empty()) {
        let at = e.venue_time(&super::locale::current(), first);
        return Err(WebError::Conflict(tr(web, "door-already-admitted", &[("at", &at)])));
    }
    if !transitions.is_empty() {
        tx.save_purchase(&p, &transitions, "web:admit", at).await?;
    }
    for seat in &seats {
        let detail = json!({"purchase": pid, "via": "staff-pin"}).to_string();
        tx.journal("seat", &format!("{}/{seat}", e.id), "admission", None, Some("admitted"), "web:admit", &detail);
    }
    tx.commit().await?;
    Ok(p)
}
