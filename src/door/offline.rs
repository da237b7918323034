//! Check-in without the network (docs/checkin.md, "Offline"): what a staff
//! device holds to decide scans on its own, and how the admissions it made
//! offline are reconciled when it is back online. No I/O here.
//!
//! The **bundle** is one event's door as of a moment: the public keys that sign
//! seat codes (by key tag, each with the time it stops verifying), the event's
//! live-code key (so the admission page's rotating digits are checked offline
//! too), and every seat as a row `[position, seat, epoch, state, reference,
//! holder name, gate]`, where `state` is what a scan in of the seat's current code
//! would answer apart from the admission window (the device checks that on
//! its own clock). The bundle's text is signed with the gateway's code-signing
//! key under its own context string, so a device refuses a bundle that did not
//! come from the gateway (a captive portal, a tampered cache).
//!
//! An **offline scan** uploaded later is decided again on the server against the
//! seat as it is then: it admits the seat (at the device's time) if nobody else
//! did; a seat another device or the gateway admitted first makes a
//! [`Conflict`], the later of the two admissions flagged.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;

use super::{decide, decide_out, Direction, Holding, ScanResult, SeatTicket};
use crate::domain::{AdmissionWindow, Timestamp};

/// The bundle layout this gateway writes.
pub const FORMAT: u32 = 1;
/// What a bundle's signature is over, before the bundle's text.
const CONTEXT: &[u8] = b"dialticket offline bundle\0";
/// How far a device's clock may be from the gateway's before its offline scans
/// warn instead of admitting (it judges admission windows and live codes by it).
pub const CLOCK_MARGIN_SECS: i64 = 120;

/// A key that verifies seat codes: its tag (the 2 bytes codes carry), the raw
/// public key (32 bytes, base64url without padding), and until when codes it
/// signed are accepted (`None`: the signing key, no end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleKey {
    pub tag: String,
    pub public_key: String,
    pub until: Option<Timestamp>,
}

/// One seat as the bundle carries it: `[position, seat, epoch, state, reference, holder name, gate]`.
pub type Row = (u32, String, u16, &'static str, Option<String>, Option<String>, Option<String>);

/// The event part of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleEvent {
    pub id: String,
    pub name: String,
    /// The 4 bytes codes carry for the event, hex.
    pub tag: String,
    pub reentry: bool,
    pub admission_opens: Timestamp,
    pub admission_closes: Timestamp,
}

/// A bundle before it is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bundle {
    pub format: u32,
    pub event: BundleEvent,
    pub keys: Vec<BundleKey>,
    /// The event's live-code key (32 bytes, base64url): a seat's TOTP secret is
    /// SHA-256(live_key ‖ "position:epoch") ([`super::live::seat_secret`]).
    pub live_key: String,
    /// Every seat of the event, in position order.
    pub seats: Vec<Row>,
    /// Seats two devices admitted while offline (see [`Conflict`]).
    pub conflicts: Vec<Conflict>,
}

/// What a scan in of the seat's current code answers now, the admission window
/// aside (a device checks that itself): the words of [`ScanResult`], and
/// `invalid` for a seat nobody holds (a code of it was never issued, or was
/// cancelled and the seat sold again later).
pub fn seat_state(seat: &SeatTicket, holding: Option<&Holding>) -> &'static str {
    let Some(holding) = holding else { return ScanResult::Invalid.as_str() };
    let always = AdmissionWindow { opens: Timestamp::MIN, closes: Timestamp::MAX };
    match decide(seat, holding, seat.epoch, always, 0) {
        // Admitted once, outside now (re-entry events): a scan in lets it back.
        ScanResult::Admitted if seat.admitted.is_some() => "checked_out",
        r => r.as_str(),
    }
}

/// The bundle's text (what is signed and what the device parses).
pub fn text(bundle: &Bundle) -> String {
    // Serializing these types cannot fail (no maps with non-string keys, no floats).
    serde_json::to_string(bundle).unwrap_or_default()
}

/// The signature of a bundle's text by the gateway's code-signing key.
pub fn sign(key: &SigningKey, text: &str) -> Signature {
    key.sign(&[CONTEXT, text.as_bytes()].concat())
}

/// Whether `signature` over `text` is by `key` (what a device checks, here for tests).
pub fn verify(key: &VerifyingKey, text: &str, signature: &Signature) -> bool {
    key.verify(&[CONTEXT, text.as_bytes()].concat(), signature).is_ok()
}

/// Two admissions of one seat: the one kept (`first`, earlier) and the one
/// flagged (`second`, later), each with who and when (the device's clock for
/// an offline scan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub seat: String,
    pub position: u32,
    pub first_by: Option<String>,
    pub first_at: Timestamp,
    pub second_by: Option<String>,
    pub second_at: Timestamp,
}

/// What an uploaded offline scan does on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// Admit the seat at the scan's time (or check it out).
    Apply(ScanResult),
    /// The seat was admitted already: record the pair, the later one flagged.
    Conflict { first_at: Timestamp, first_by: Option<String> },
    /// Nothing to do: the scan did not admit on the device either, or the
    /// server refuses it now (revoked or cancelled since the device's sync).
    Refused(ScanResult),
}

/// Decide an offline scan of `seat` (at the device's `scanned_at`) against the
/// seat as the server has it now.
pub fn reconcile(
    seat: &SeatTicket,
    holding: &Holding,
    code_epoch: u16,
    window: AdmissionWindow,
    reentry: bool,
    direction: Direction,
    scanned_at: Timestamp,
) -> Reconciled {
    let result = match direction {
        Direction::In => decide(seat, holding, code_epoch, window, scanned_at),
        Direction::Out => decide_out(seat, holding, code_epoch, reentry),
    };
    match (result, &seat.admitted) {
        (ScanResult::Admitted | ScanResult::CheckedOut, _) => Reconciled::Apply(result),
        (ScanResult::AlreadyAdmitted, Some(first)) if direction == Direction::In => {
            Reconciled::Conflict { first_at: first.at, first_by: first.by.clone() }
        }
        (r, _) => Reconciled::Refused(r),
    }
}

/// The pair of a conflict in time order: (kept, flagged).
pub fn order_conflict(
    seat: &str,
    position: u32,
    stored: (Option<String>, Timestamp),
    offline: (Option<String>, Timestamp),
) -> Conflict {
    let (first, second) = if offline.1 < stored.1 { (offline, stored) } else { (stored, offline) };
    Conflict {
        seat: seat.to_string(),
        position,
        first_by: first.0,
        first_at: first.1,
        second_by: second.0,
        second_at: second.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AdmissionState, PaymentStatus};
    use crate::door::tests::{holding, seat};
    use crate::door::Admission;

    const WINDOW: AdmissionWindow = AdmissionWindow { opens: 1000, closes: 2000 };

    #[test]
    fn a_seats_state_is_what_a_scan_in_would_answer_whatever_the_hour() {
        assert_eq!(seat_state(&seat(), Some(&holding())), "admitted");
        assert_eq!(seat_state(&seat(), None), "invalid", "nobody holds it");
        let unconfirmed = Holding { permit: AdmissionState::None, ..holding() };
        assert_eq!(seat_state(&seat(), Some(&unconfirmed)), "not_confirmed");
        let refunded = Holding { payment: PaymentStatus::Declined, ..holding() };
        assert_eq!(seat_state(&seat(), Some(&refunded)), "cancelled");
        let inside = SeatTicket { admitted: Some(Admission { at: 1500, gate: None, by: None }), ..seat() };
        assert_eq!(seat_state(&inside, Some(&holding())), "already_admitted");
        let out = SeatTicket { checked_out_at: Some(1600), ..inside };
        assert_eq!(seat_state(&out, Some(&holding())), "checked_out");
    }

    #[test]
    fn an_offline_admission_applies_once_and_a_second_one_is_a_conflict() {
        let r = reconcile(&seat(), &holding(), 2, WINDOW, false, Direction::In, 1500);
        assert_eq!(r, Reconciled::Apply(ScanResult::Admitted));
        let inside =
            SeatTicket { admitted: Some(Admission { at: 1500, gate: None, by: Some("Aiko".into()) }), ..seat() };
        let r = reconcile(&inside, &holding(), 2, WINDOW, false, Direction::In, 1510);
        assert_eq!(r, Reconciled::Conflict { first_at: 1500, first_by: Some("Aiko".into()) });
        // Revoked since the device synced: refused, nothing admitted.
        let r = reconcile(&seat(), &holding(), 1, WINDOW, false, Direction::In, 1500);
        assert_eq!(r, Reconciled::Refused(ScanResult::Revoked));
        // The device's time decides the window.
        let r = reconcile(&seat(), &holding(), 2, WINDOW, false, Direction::In, 2500);
        assert_eq!(r, Reconciled::Refused(ScanResult::NotOpen));
    }

    #[test]
    fn the_later_admission_of_a_conflict_is_the_flagged_one() {
        let c = order_conflict("A-1", 1, (Some("Aiko".into()), 1500), (Some("Ren".into()), 1400));
        assert_eq!(
            (c.first_by.as_deref(), c.first_at, c.second_by.as_deref(), c.second_at),
            (Some("Ren"), 1400, Some("Aiko"), 1500)
        );
        let c = order_conflict("A-1", 1, (Some("Aiko".into()), 1500), (Some("Ren".into()), 1600));
        assert_eq!((c.first_by.as_deref(), c.second_by.as_deref()), (Some("Aiko"), Some("Ren")));
    }

    #[test]
    fn a_bundle_verifies_with_its_key_and_not_when_changed() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let text = "{\"format\":1}";
        let sig = sign(&key, text);
        assert!(verify(&key.verifying_key(), text, &sig));
        assert!(!verify(&key.verifying_key(), "{\"format\":2}", &sig));
        assert!(!verify(&SigningKey::from_bytes(&[6; 32]).verifying_key(), text, &sig));
        // Not a seat code's signature either: the contexts differ.
        assert!(key.verifying_key().verify(text.as_bytes(), &sig).is_err());
    }
}
