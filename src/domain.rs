//! The ticket domain: purchase states and the seed-000 counters, as plain
//! Rust with no I/O. The store loads a [`Purchase`], calls one of these
//! methods, and writes back the purchase together with the returned
//! [`Transition`]s (the journal rows) in one database transaction.
//!
//! Life of a purchase (seed 000 fig. 5):
//! payment `pending → paid | declined`; on `paid` the issue guide is sent;
//! an issue call sets `issued` (again: counts, never issues twice);
//! a usage-confirmation call inside the admission window issues the
//! admission permit; staff admit once.

use serde::{Deserialize, Serialize};

use crate::phone::PhoneNumber;

/// Unix seconds, UTC.
pub type Timestamp = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Declined,
    /// Paid, then cancelled before the cancellable date: money returned.
    Refunded,
    /// The hold ran out before payment.
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueGuideState {
    NotSent,
    Sent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdmissionState {
    None,
    PermitIssued,
    Admitted,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
str_enum!(PaymentStatus {
    Pending => "pending",
    Paid => "paid",
    Declined => "declined",
    Refunded => "refunded",
    Expired => "expired",
});
str_enum!(IssueGuideState { NotSent => "not-sent", Sent => "sent" });
str_enum!(AdmissionState { None => "none", PermitIssued => "permit-issued", Admitted => "admitted" });

/// A purchase with its counters (seed 000 fig. 5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Purchase {
    pub id: String,
    pub user_number: String,
    pub phone: PhoneNumber,
    pub event_id: String,
    pub seat_type: String,
    pub seats: Vec<String>,
    pub quantity: u32,
    pub amount: i64,
    pub reserved_at: Timestamp,
    pub cancellable_until: Timestamp,
    pub payment_method: String,
    pub payment_status: PaymentStatus,
    pub payment_ref: Option<String>,
    pub issue_guide: IssueGuideState,
    pub issue_call_count: u32,
    pub issued: bool,
    pub issued_at: Option<Timestamp>,
    pub usage_call_count: u32,
    pub admission: AdmissionState,
    pub permit_issued_at: Option<Timestamp>,
    pub admitted_at: Option<Timestamp>,
    /// Until when an unpaid reservation holds its seats (default: `reserved_at + HOLD_SECS`).
    pub hold_until: Option<Timestamp>,
}

/// One state change, to be written to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub action: &'static str,
    pub from: String,
    pub to: String,
}

impl Transition {
    fn new(action: &'static str, from: impl Into<String>, to: impl Into<String>) -> Self {
        Transition { action, from: from.into(), to: to.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("payment already settled as {0}")]
    AlreadySettled(&'static str),
    #[error("purchase is not paid")]
    NotPaid,
    #[error("ticket is not issued")]
    NotIssued,
    #[error("no admission permit has been issued; call the usage-confirmation number first")]
    NoPermit,
    #[error("already admitted")]
    AlreadyAdmitted { at: Timestamp },
    #[error("outside the admission window")]
    OutsideAdmissionWindow,
    #[error("the cancellation deadline has passed")]
    TooLateToCancel,
    #[error("a ticket used for admission cannot be cancelled")]
    CannotCancelAdmitted,
    #[error("only a paid purchase can be cancelled")]
    NotCancellable,
    #[error("the hold has not expired yet")]
    HoldNotExpired,
}

/// The one-word state of a purchase, derived from its fields (seed 000 fig. 5's
/// columns stay the source of truth; this is what pages and the journal show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PurchaseState {
    Reserved,
    PaymentFailed,
    Expired,
    Paid,
    IssueGuided,
    Issued,
    Admitted,
    Cancelled,
}

/// How long an unpaid reservation holds its seats.
pub const HOLD_SECS: Timestamp = 15 * 60;

/// The result of a payment attempt as reported by a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentResult {
    Approved { reference: String },
    Declined { reason: String },
}

/// What an issue call did to one purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Issued now, for the first time.
    Issued,
    /// Already issued: the ticket is sent again, nothing else changes.
    Resent,
}

/// What a usage-confirmation call did to one purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageOutcome {
    PermitIssued,
    PermitResent,
}

/// When admission is allowed for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionWindow {
    pub opens: Timestamp,
    pub closes: Timestamp,
}

impl AdmissionWindow {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.opens <= t && t <= self.closes
    }
}

/// What a new reservation is made of; [`Purchase::reserved`] adds the initial states.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: String,
    pub user_number: String,
    pub phone: PhoneNumber,
    pub event_id: String,
    pub seat_type: String,
    pub seats: Vec<String>,
    pub unit_price: i64,
    pub payment_method: String,
    pub reserved_at: Timestamp,
    pub cancellable_until: Timestamp,
}

impl Purchase {
    /// A purchase as it starts: seats held, payment pending, nothing sent or issued.
    pub fn reserved(r: Reservation) -> Purchase {
        let quantity = r.seats.len() as u32;
        Purchase {
            id: r.id,
            user_number: r.user_number,
            phone: r.phone,
            event_id: r.event_id,
            seat_type: r.seat_type,
            seats: r.seats,
            quantity,
            amount: r.unit_price * quantity as i64,
            reserved_at: r.reserved_at,
            cancellable_until: r.cancellable_until,
            payment_method: r.payment_method,
            payment_status: PaymentStatus::Pending,
            payment_ref: None,
            issue_guide: IssueGuideState::NotSent,
            issue_call_count: 0,
            issued: false,
            issued_at: None,
            usage_call_count: 0,
            admission: AdmissionState::None,
            permit_issued_at: None,
            admitted_at: None,
            hold_until: None,
        }
    }

    pub fn state(&self) -> PurchaseState {
        match self.payment_status {
            PaymentStatus::Pending => PurchaseState::Reserved,
            PaymentStatus::Declined => PurchaseState::PaymentFailed,
            PaymentStatus::Expired => PurchaseState::Expired,
            PaymentStatus::Refunded => PurchaseState::Cancelled,
            PaymentStatus::Paid => match (self.admission, self.issued, self.issue_guide) {
                (AdmissionState::Admitted, _, _) => PurchaseState::Admitted,
                (_, true, _) => PurchaseState::Issued,
                (_, false, IssueGuideState::Sent) => PurchaseState::IssueGuided,
                _ => PurchaseState::Paid,
            },
        }
    }

    /// Seats are held by pending, paid (and so issued/admitted) purchases.
    pub fn holds_seats(&self) -> bool {
        matches!(self.payment_status, PaymentStatus::Pending | PaymentStatus::Paid)
    }

    /// Cancel a paid purchase before its cancellable date: the money is refunded
    /// and the seats go back on sale (the store's part).
    pub fn cancel(&mut self, now: Timestamp) -> Result<Vec<Transition>, DomainError> {
        if self.payment_status != PaymentStatus::Paid {
            return Err(DomainError::NotCancellable);
        }
        if self.admission == AdmissionState::Admitted {
            return Err(DomainError::CannotCancelAdmitted);
        }
        if now > self.cancellable_until {
            return Err(DomainError::TooLateToCancel);
        }
        self.payment_status = PaymentStatus::Refunded;
        Ok(vec![Transition::new("cancel", "paid", "refunded")])
    }

    /// Cancel a paid purchase as its organizer (the back office): as
    /// [`Purchase::cancel`], but also after the holder's cancellable date.
    pub fn cancel_by_organizer(&mut self) -> Result<Vec<Transition>, DomainError> {
        self.cancel(self.cancellable_until)
    }

    /// Withdraw an unpaid order because its whole event is cancelled: nothing was
    /// paid, so nothing is refunded; the seats go back (the store's part).
    pub fn withdraw_unpaid(&mut self) -> Result<Vec<Transition>, DomainError> {
        if self.payment_status != PaymentStatus::Pending {
            return Err(DomainError::AlreadySettled(self.payment_status.as_str()));
        }
        self.payment_status = PaymentStatus::Expired;
        Ok(vec![Transition::new("event-cancel", "pending", "expired")])
    }

    /// When an unpaid reservation lets its seats go.
    pub fn hold_deadline(&self) -> Timestamp {
        self.hold_until.unwrap_or(self.reserved_at + HOLD_SECS)
    }

    /// The payment provider took the order but the money comes later
    /// (convenience-store payment, a card challenge): keep the seats until `hold_until`.
    pub fn await_payment(&mut self, reference: &str, hold_until: Timestamp) -> Result<Vec<Transition>, DomainError> {
        if self.payment_status != PaymentStatus::Pending {
            return Err(DomainError::AlreadySettled(self.payment_status.as_str()));
        }
        self.payment_ref = Some(reference.to_string());
        self.hold_until = Some(hold_until);
        Ok(vec![Transition::new("payment-awaited", "pending", "pending")])
    }

    /// An unpaid hold that ran out: the seats go back on sale.
    pub fn expire(&mut self, now: Timestamp) -> Result<Vec<Transition>, DomainError> {
        if self.payment_status != PaymentStatus::Pending {
            return Err(DomainError::AlreadySettled(self.payment_status.as_str()));
        }
        if now < self.hold_deadline() {
            return Err(DomainError::HoldNotExpired);
        }
        self.payment_status = PaymentStatus::Expired;
        Ok(vec![Transition::new("payment", "pending", "expired")])
    }

    /// Settle the payment. Approval sends the issue guide (its mail is the caller's business).
    pub fn settle(&mut self, result: &PaymentResult) -> Result<Vec<Transition>, DomainError> {
        if self.payment_status != PaymentStatus::Pending {
            return Err(DomainError::AlreadySettled(self.payment_status.as_str()));
        }
        let mut t = Vec::new();
        match result {
            PaymentResult::Approved { reference } => {
                self.payment_status = PaymentStatus::Paid;
                self.payment_ref = Some(reference.clone());
                t.push(Transition::new("payment", "pending", "paid"));
                self.issue_guide = IssueGuideState::Sent;
                t.push(Transition::new("issue-guide", "not-sent", "sent"));
            }
            PaymentResult::Declined { .. } => {
                self.payment_status = PaymentStatus::Declined;
                t.push(Transition::new("payment", "pending", "declined"));
            }
        }
        Ok(t)
    }

    /// An issue call from this purchase's phone. Counts every call; issues once.
    pub fn issue_call(&mut self, now: Timestamp) -> Result<(IssueOutcome, Vec<Transition>), DomainError> {
        if self.payment_status != PaymentStatus::Paid {
            return Err(DomainError::NotPaid);
        }
        let before = self.issue_call_count;
        self.issue_call_count += 1;
        let mut t = vec![Transition::new("issue-call", before.to_string(), self.issue_call_count.to_string())];
        if self.issued {
            return Ok((IssueOutcome::Resent, t));
        }
        self.issued = true;
        self.issued_at = Some(now);
        t.push(Transition::new("issued", "false", "true"));
        Ok((IssueOutcome::Issued, t))
    }

    /// A usage-confirmation call at the venue.
    pub fn usage_call(
        &mut self,
        window: AdmissionWindow,
        now: Timestamp,
    ) -> Result<(UsageOutcome, Vec<Transition>), DomainError> {
        if !self.issued || self.payment_status != PaymentStatus::Paid {
            return Err(DomainError::NotIssued);
        }
        if self.admission == AdmissionState::Admitted {
            return Err(DomainError::AlreadyAdmitted { at: self.admitted_at.unwrap_or(now) });
        }
        if !window.contains(now) {
            return Err(DomainError::OutsideAdmissionWindow);
        }
        let before = self.usage_call_count;
        self.usage_call_count += 1;
        let count = Transition::new("usage-call", before.to_string(), self.usage_call_count.to_string());
        match self.admission {
            AdmissionState::Admitted => Err(DomainError::AlreadyAdmitted { at: self.admitted_at.unwrap_or(now) }),
            AdmissionState::PermitIssued => Ok((UsageOutcome::PermitResent, vec![count])),
            AdmissionState::None => {
                self.admission = AdmissionState::PermitIssued;
                self.permit_issued_at = Some(now);
                Ok((
                    UsageOutcome::PermitIssued,
                    vec![count, Transition::new("admission-permit", "none", "permit-issued")],
                ))
            }
        }
    }

    /// Staff admit the holder, once.
    pub fn admit(&mut self, now: Timestamp) -> Result<Vec<Transition>, DomainError> {
        if self.payment_status != PaymentStatus::Paid {
            return Err(DomainError::NotPaid);
        }
        match self.admission {
            AdmissionState::None => Err(DomainError::NoPermit),
            AdmissionState::Admitted => Err(DomainError::AlreadyAdmitted { at: self.admitted_at.unwrap_or(now) }),
            AdmissionState::PermitIssued => {
                self.admission = AdmissionState::Admitted;
                self.admitted_at = Some(now);
                Ok(vec![Transition::new("admission", "permit-issued", "admitted")])
            }
        }
    }

    /// One of its seats was admitted at the door ([`crate::door`]): the ticket
    /// counts as used from the first (so it can no longer be cancelled), and its
    /// other seats still go in one by one. No change after the first.
    pub fn seat_admitted(&mut self, now: Timestamp) -> Vec<Transition> {
        if self.admission != AdmissionState::PermitIssued {
            return Vec::new();
        }
        self.admission = AdmissionState::Admitted;
        self.admitted_at = Some(now);
        vec![Transition::new("admission", "permit-issued", "admitted")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purchase() -> Purchase {
        let p = Purchase::reserved(Reservation {
            id: "p1".into(),
            user_number: "1234567890".into(),
            phone: PhoneNumber::parse("+819012345678").unwrap(),
            event_id: "e1".into(),
            seat_type: "S".into(),
            seats: vec!["A-1".into(), "A-2".into()],
            unit_price: 8000,
            payment_method: "card".into(),
            reserved_at: 0,
            cancellable_until: 100,
        });
        assert_eq!((p.quantity, p.amount, p.payment_status), (2, 16000, PaymentStatus::Pending));
        p
    }

    const WINDOW: AdmissionWindow = AdmissionWindow { opens: 1000, closes: 2000 };

    #[test]
    fn happy_path_counts_every_call_and_issues_once() {
        let mut p = purchase();
        let t = p.settle(&PaymentResult::Approved { reference: "ch_1".into() }).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(p.issue_guide, IssueGuideState::Sent);
        assert_eq!(p.issue_call(10).unwrap().0, IssueOutcome::Issued);
        assert_eq!(p.issue_call(20).unwrap().0, IssueOutcome::Resent);
        assert_eq!(p.issue_call_count, 2);
        assert_eq!(p.issued_at, Some(10));
        assert_eq!(p.usage_call(WINDOW, 1500).unwrap().0, UsageOutcome::PermitIssued);
        assert_eq!(p.usage_call(WINDOW, 1501).unwrap().0, UsageOutcome::PermitResent);
        p.admit(1502).unwrap();
        assert_eq!(p.admit(1503), Err(DomainError::AlreadyAdmitted { at: 1502 }));
        assert_eq!(p.usage_call(WINDOW, 1600), Err(DomainError::AlreadyAdmitted { at: 1502 }));
        assert_eq!(p.usage_call_count, 2, "refused calls change nothing");
    }

    #[test]
    fn never_issued_unless_paid() {
        let mut p = purchase();
        assert_eq!(p.issue_call(1), Err(DomainError::NotPaid));
        p.settle(&PaymentResult::Declined { reason: "declined".into() }).unwrap();
        assert_eq!(p.issue_call(1), Err(DomainError::NotPaid));
        assert!(!p.issued);
        assert_eq!(p.issue_call_count, 0);
        assert_eq!(
            p.settle(&PaymentResult::Approved { reference: "x".into() }),
            Err(DomainError::AlreadySettled("declined"))
        );
    }

    #[test]
    fn never_admitted_unless_issued_and_inside_window() {
        let mut p = purchase();
        assert_eq!(p.usage_call(WINDOW, 1500), Err(DomainError::NotIssued));
        assert_eq!(p.admit(1500), Err(DomainError::NotPaid));
        p.settle(&PaymentResult::Approved { reference: "x".into() }).unwrap();
        p.issue_call(5).unwrap();
        assert_eq!(p.usage_call(WINDOW, 999), Err(DomainError::OutsideAdmissionWindow));
        assert_eq!(p.usage_call(WINDOW, 2001), Err(DomainError::OutsideAdmissionWindow));
        assert_eq!(p.admission, AdmissionState::None);
    }

    #[test]
    fn state_strings_round_trip() {
        for s in [AdmissionState::None, AdmissionState::PermitIssued, AdmissionState::Admitted] {
            assert_eq!(AdmissionState::parse(s.as_str()), Some(s));
        }
        for s in [PaymentStatus::Pending, PaymentStatus::Paid, PaymentStatus::Declined] {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn cancel_and_expire() {
        let mut p = purchase();
        assert_eq!(p.cancel(0), Err(DomainError::NotCancellable));
        assert_eq!(p.expire(HOLD_SECS - 1), Err(DomainError::HoldNotExpired));
        let mut held = p.clone();
        held.expire(HOLD_SECS).unwrap();
        assert_eq!((held.state(), held.holds_seats()), (PurchaseState::Expired, false));
        p.settle(&PaymentResult::Approved { reference: "x".into() }).unwrap();
        assert_eq!(p.state(), PurchaseState::IssueGuided);
        assert_eq!(p.cancel(101), Err(DomainError::TooLateToCancel));
        p.cancel(100).unwrap();
        assert_eq!((p.state(), p.holds_seats()), (PurchaseState::Cancelled, false));
        assert_eq!(p.issue_call(5), Err(DomainError::NotPaid));
    }

    #[test]
    fn the_organizer_cancels_after_the_holders_deadline_but_not_twice_nor_an_admitted_ticket() {
        let mut p = purchase();
        assert_eq!(p.cancel_by_organizer(), Err(DomainError::NotCancellable));
        p.payment_status = PaymentStatus::Paid;
        p.cancellable_until = 100;
        assert_eq!(p.cancel(101), Err(DomainError::TooLateToCancel));
        let t = p.cancel_by_organizer().expect("the organizer may");
        assert_eq!((t[0].action, p.state()), ("cancel", PurchaseState::Cancelled));
        assert_eq!(p.cancel_by_organizer(), Err(DomainError::NotCancellable));
        let mut admitted = purchase();
        admitted.payment_status = PaymentStatus::Paid;
        admitted.admission = AdmissionState::Admitted;
        assert_eq!(admitted.cancel_by_organizer(), Err(DomainError::CannotCancelAdmitted));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Approve,
            Decline,
            Expire(Timestamp),
            Issue(Timestamp),
            Usage(Timestamp),
            Admit(Timestamp),
            Cancel(Timestamp),
        }

        fn op() -> impl Strategy<Value = Op> {
            let t = 0..3000i64;
            prop_oneof![
                Just(Op::Approve),
                Just(Op::Decline),
                t.clone().prop_map(Op::Expire),
                t.clone().prop_map(Op::Issue),
                t.clone().prop_map(Op::Usage),
                t.clone().prop_map(Op::Admit),
                t.prop_map(Op::Cancel),
            ]
        }

        proptest! {
            /// Whatever happens, in whatever order: never issued unless paid at the
            /// time, never admitted unless issued, issued and admitted at most once,
            /// counters never go back, and every change is journalled.
            #[test]
            fn invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 0..40)) {
                let mut p = purchase();
                let mut issued_transitions = 0;
                let mut admitted_transitions = 0;
                for op in ops {
                    let before = p.clone();
                    let result = match op {
                        Op::Approve => p.settle(&PaymentResult::Approved { reference: "r".into() }),
                        Op::Decline => p.settle(&PaymentResult::Declined { reason: "d".into() }),
                        Op::Expire(t) => p.expire(t),
                        Op::Issue(t) => p.issue_call(t).map(|(_, t)| t),
                        Op::Usage(t) => p.usage_call(WINDOW, t).map(|(_, t)| t),
                        Op::Admit(t) => p.admit(t),
                        Op::Cancel(t) => p.cancel(t),
                    };
                    match &result {
                        Err(_) => prop_assert_eq!(&p, &before, "a refused operation changes nothing"),
                        Ok(t) => prop_assert!(!t.is_empty() || p == before, "a change without a journal row"),
                    }
                    if let Ok(t) = &result {
                        issued_transitions += t.iter().filter(|t| t.action == "issued").count();
                        admitted_transitions += t.iter().filter(|t| t.action == "admission").count();
                    }
                    if p.issued {
                        prop_assert!(before.issued || before.payment_status == PaymentStatus::Paid);
                        prop_assert!(p.issued_at.is_some());
                    }
                    if p.admission != AdmissionState::None {
                        prop_assert!(p.issued);
                    }
                    if p.admission == AdmissionState::Admitted {
                        prop_assert!(p.admitted_at.is_some() && p.permit_issued_at.is_some());
                    }
                    prop_assert!(p.issue_call_count >= before.issue_call_count);
                    prop_assert!(p.usage_call_count >= before.usage_call_count);
                    prop_assert!(issued_transitions <= 1 && admitted_transitions <= 1);
                    if p.payment_status != PaymentStatus::Paid {
                        prop_assert!(p.state() != PurchaseState::Issued && p.state() != PurchaseState::Admitted);
                    }
                }
            }
        }
    }
}
