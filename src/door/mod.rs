//! The door: each seat of a purchase is its own ticket, with its own signed
//! code ([`code`]), QR code ([`qr`]) and admission. This module decides what a
//! scan answers, from facts the store has loaded; it does no I/O (the scanning
//! API in `web/staff.rs` loads, asks [`decide`], and writes what it says).
//!
//! The rules, in the order they are checked (docs/checkin.md):
//! 1. the purchase the code was issued for is no longer paid → `cancelled`;
//! 2. the seat was issued again since (a later epoch, or another purchase) → `revoked`;
//! 3. the seat was admitted already → `already_admitted` (when, gate, by whom);
//! 4. outside the event's admission window → `not_open`;
//! 5. the holder has not made the usage-confirmation call → `not_confirmed`
//!    (the call is what makes the seats admissible, seed 000 S220–S234);
//! 6. otherwise → `admitted`.
//!
//! Single entry per event, unless the organizer allows exit and re-entry
//! (catalog `reentry = true`): then a scan may go out ([`Direction::Out`],
//! [`decide_out`]) and a seat checked out is admitted again by the next scan in
//! (rule 3 only refuses a seat that is inside).

pub mod code;
pub mod live;
pub mod offline;
pub mod qr;

use serde::Serialize;

use crate::domain::{AdmissionState, AdmissionWindow, PaymentStatus, Timestamp};

/// What a scan answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanResult {
    Admitted,
    AlreadyAdmitted,
    Revoked,
    Invalid,
    WrongEvent,
    NotOpen,
    Cancelled,
    NotConfirmed,
    /// A live code ([`live`]) whose digits are not the current ones: a screenshot.
    Stale,
    /// A scan out: the holder leaves, the seat is outside (re-entry events).
    CheckedOut,
    /// A scan out of a seat that is not inside (never admitted, or checked out already).
    NotInside,
    /// A scan out at an event without re-entry: single entry, nobody checks out.
    NoReentry,
}

/// Which way a scan goes: in (admission, re-entry) or out (check-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    /// `"in"` or `"out"`; anything else is not a direction.
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

impl ScanResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanResult::Admitted => "admitted",
            ScanResult::AlreadyAdmitted => "already_admitted",
            ScanResult::Revoked => "revoked",
            ScanResult::Invalid => "invalid",
            ScanResult::WrongEvent => "wrong_event",
            ScanResult::NotOpen => "not_open",
            ScanResult::Cancelled => "cancelled",
            ScanResult::NotConfirmed => "not_confirmed",
            ScanResult::Stale => "stale",
            ScanResult::CheckedOut => "checked_out",
            ScanResult::NotInside => "not_inside",
            ScanResult::NoReentry => "no_reentry",
        }
    }

    /// The verdict in one or two words, as the staff app shows it across the screen.
    pub fn headline(self) -> &'static str {
        match self {
            ScanResult::Admitted => "ADMIT",
            ScanResult::AlreadyAdmitted => "ALREADY ADMITTED",
            ScanResult::Revoked => "REVOKED",
            ScanResult::Invalid => "INVALID",
            ScanResult::WrongEvent => "WRONG EVENT",
            ScanResult::NotOpen => "NOT OPEN",
            ScanResult::Cancelled => "CANCELLED",
            ScanResult::NotConfirmed => "NOT CONFIRMED",
            ScanResult::Stale => "STALE",
            ScanResult::CheckedOut => "CHECKED OUT",
            ScanResult::NotInside => "NOT INSIDE",
            ScanResult::NoReentry => "NO RE-ENTRY",
        }
    }

    /// Whether the holder goes in.
    pub fn admits(self) -> bool {
        self == ScanResult::Admitted
    }

    /// What staff are told, in words.
    pub fn reason(self) -> &'static str {
        match self {
            ScanResult::Admitted => "admitted: let the holder in",
            ScanResult::AlreadyAdmitted => "this seat was admitted already: a copy of the ticket, or scanned twice",
            ScanResult::Revoked => "revoked: a newer ticket was issued for this seat (the holder called the issue number again); ask for the latest one",
            ScanResult::Invalid => "not a ticket code of this gateway (forged, damaged or mistyped)",
            ScanResult::WrongEvent => "a ticket for another event",
            ScanResult::NotOpen => "admission is not open for this event now",
            ScanResult::Cancelled => "this ticket was cancelled and refunded",
            ScanResult::NotConfirmed => "the holder has not called the usage-confirmation number yet: ask them to call it from the ticket's phone, then scan again",
            ScanResult::Stale => "the admission page's live code has run out: a screenshot or a copy. Ask the holder to open the live page and scan it again",
            ScanResult::CheckedOut => "checked out: the holder may come back in with the same ticket",
            ScanResult::NotInside => "this seat is not inside: it was never admitted, or it was checked out already",
            ScanResult::NoReentry => "this event is single entry: there is no check-out and no re-entry",
        }
    }
}

/// A seat's admission, once it has happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admission {
    pub at: Timestamp,
    pub gate: Option<String>,
    /// The staff account's name (`None`: admitted with the event's staff PIN, or before per-seat admission).
    pub by: Option<String>,
}

/// A seat's ticket state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatTicket {
    pub event_id: String,
    pub seat_code: String,
    pub position: u32,
    /// The purchase holding the seat now (none: back on sale).
    pub purchase_id: Option<String>,
    /// How many times the seat has been issued (a code of an earlier epoch is revoked).
    pub epoch: u16,
    pub admitted: Option<Admission>,
    /// When the seat was last checked out (re-entry events): admitted, but outside now.
    pub checked_out_at: Option<Timestamp>,
}

impl SeatTicket {
    /// Admitted and not checked out since.
    pub fn inside(&self) -> bool {
        self.admitted.is_some() && self.checked_out_at.is_none()
    }
}

/// What the door needs to know of the purchase a code was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub purchase_id: String,
    pub payment: PaymentStatus,
    pub issued: bool,
    /// The admission permit (the usage-confirmation call).
    pub permit: AdmissionState,
}

/// What one scan of a genuine code of this event decides: `code_epoch` is the
/// epoch in the code (or of the typed reference), `holding` the purchase it was
/// issued for.
pub fn decide(
    seat: &SeatTicket,
    holding: &Holding,
    code_epoch: u16,
    window: AdmissionWindow,
    now: Timestamp,
) -> ScanResult {
    if holding.payment != PaymentStatus::Paid {
        return ScanResult::Cancelled;
    }
    if !holding.issued {
        return ScanResult::Invalid;
    }
    if code_epoch < seat.epoch || seat.purchase_id.as_deref() != Some(holding.purchase_id.as_str()) {
        return ScanResult::Revoked;
    }
    if code_epoch > seat.epoch {
        // Signed by us for an epoch the seat never reached: not something we issued.
        return ScanResult::Invalid;
    }
    if seat.inside() {
        return ScanResult::AlreadyAdmitted;
    }
    if !window.contains(now) {
        return ScanResult::NotOpen;
    }
    if holding.permit == AdmissionState::None {
        return ScanResult::NotConfirmed;
    }
    ScanResult::Admitted
}

/// What one scan out (a check-out) of a genuine code of this event decides:
/// refused at a single-entry event (`no_reentry`, first), then the refusals of
/// [`decide`] that say the code is not the seat's (`cancelled`, `revoked`,
/// `invalid`), then `not_inside` for a seat that is not inside, else `checked_out`.
/// No admission window: a holder may always leave.
pub fn decide_out(seat: &SeatTicket, holding: &Holding, code_epoch: u16, reentry: bool) -> ScanResult {
    if !reentry {
        return ScanResult::NoReentry;
    }
    if holding.payment != PaymentStatus::Paid {
        return ScanResult::Cancelled;
    }
    if !holding.issued || code_epoch > seat.epoch {
        return ScanResult::Invalid;
    }
    if code_epoch < seat.epoch || seat.purchase_id.as_deref() != Some(holding.purchase_id.as_str()) {
        return ScanResult::Revoked;
    }
    if !seat.inside() {
        return ScanResult::NotInside;
    }
    ScanResult::CheckedOut
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: AdmissionWindow = AdmissionWindow { opens: 1000, closes: 2000 };

    pub(super) fn seat() -> SeatTicket {
        SeatTicket {
            event_id: "gala".into(),
            seat_code: "A-1".into(),
            position: 1,
            purchase_id: Some("p1".into()),
            epoch: 2,
            admitted: None,
            checked_out_at: None,
        }
    }

    pub(super) fn holding() -> Holding {
        Holding {
            purchase_id: "p1".into(),
            payment: PaymentStatus::Paid,
            issued: true,
            permit: AdmissionState::PermitIssued,
        }
    }

    #[test]
    fn a_current_code_of_a_confirmed_holder_inside_the_window_admits() {
        assert_eq!(decide(&seat(), &holding(), 2, WINDOW, 1500), ScanResult::Admitted);
        // The purchase counts as admitted once a seat is: its other seats still go in.
        let h = Holding { permit: AdmissionState::Admitted, ..holding() };
        assert_eq!(decide(&seat(), &h, 2, WINDOW, 1500), ScanResult::Admitted);
        assert!(ScanResult::Admitted.admits() && !ScanResult::AlreadyAdmitted.admits());
    }

    #[test]
    fn each_refusal_in_its_order() {
        let s = seat();
        let h = holding();
        let refunded = Holding { payment: PaymentStatus::Refunded, ..h.clone() };
        assert_eq!(decide(&s, &refunded, 1, WINDOW, 1500), ScanResult::Cancelled, "cancelled before revoked");
        assert_eq!(decide(&s, &h, 1, WINDOW, 1500), ScanResult::Revoked);
        let resold = SeatTicket { purchase_id: Some("p2".into()), ..s.clone() };
        assert_eq!(decide(&resold, &h, 2, WINDOW, 1500), ScanResult::Revoked);
        assert_eq!(decide(&s, &h, 3, WINDOW, 1500), ScanResult::Invalid);
        let not_issued = Holding { issued: false, ..h.clone() };
        assert_eq!(decide(&s, &not_issued, 2, WINDOW, 1500), ScanResult::Invalid);
        let admitted = SeatTicket {
            admitted: Some(Admission { at: 1400, gate: Some("B".into()), by: Some("Ken".into()) }),
            ..s.clone()
        };
        assert_eq!(decide(&admitted, &h, 2, WINDOW, 2500), ScanResult::AlreadyAdmitted, "already before not open");
        assert_eq!(decide(&s, &h, 2, WINDOW, 999), ScanResult::NotOpen);
        assert_eq!(decide(&s, &h, 2, WINDOW, 2001), ScanResult::NotOpen);
        let unconfirmed = Holding { permit: AdmissionState::None, ..h };
        assert_eq!(decide(&s, &unconfirmed, 2, WINDOW, 1500), ScanResult::NotConfirmed);
        assert_eq!(decide(&s, &unconfirmed, 2, WINDOW, 999), ScanResult::NotOpen, "not open before not confirmed");
    }

    #[test]
    fn out_and_in_again_at_a_reentry_event() {
        let h = holding();
        let admission = Admission { at: 1400, gate: Some("B".into()), by: Some("Ken".into()) };
        let inside = SeatTicket { admitted: Some(admission), ..seat() };
        assert_eq!(decide_out(&inside, &h, 2, true), ScanResult::CheckedOut);
        assert_eq!(decide_out(&inside, &h, 2, false), ScanResult::NoReentry);
        assert_eq!(decide_out(&seat(), &h, 2, true), ScanResult::NotInside, "never admitted");
        assert_eq!(decide_out(&seat(), &h, 2, false), ScanResult::NoReentry, "no_reentry first");
        let outside = SeatTicket { checked_out_at: Some(1500), ..inside.clone() };
        assert_eq!(decide_out(&outside, &h, 2, true), ScanResult::NotInside);
        assert_eq!(decide_out(&inside, &h, 1, true), ScanResult::Revoked);
        assert_eq!(decide_out(&inside, &h, 3, true), ScanResult::Invalid);
        let refunded = Holding { payment: PaymentStatus::Refunded, ..h.clone() };
        assert_eq!(decide_out(&inside, &refunded, 2, true), ScanResult::Cancelled);
        // In again: a seat outside is admitted (inside the window), one inside is not.
        let again = Holding { permit: AdmissionState::Admitted, ..h };
        assert_eq!(decide(&outside, &again, 2, WINDOW, 1600), ScanResult::Admitted);
        assert_eq!(decide(&outside, &again, 2, WINDOW, 2500), ScanResult::NotOpen);
        assert_eq!(decide(&inside, &again, 2, WINDOW, 1600), ScanResult::AlreadyAdmitted);
        assert_eq!(Direction::parse("out"), Some(Direction::Out));
        assert_eq!(Direction::parse("OUT"), None);
    }

    #[test]
    fn results_have_their_wire_names_and_a_reason() {
        for r in [
            ScanResult::Admitted,
            ScanResult::AlreadyAdmitted,
            ScanResult::Revoked,
            ScanResult::Invalid,
            ScanResult::WrongEvent,
            ScanResult::NotOpen,
            ScanResult::Cancelled,
            ScanResult::NotConfirmed,
            ScanResult::Stale,
            ScanResult::CheckedOut,
            ScanResult::NotInside,
            ScanResult::NoReentry,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert!(!r.reason().is_empty());
        }
    }
}
