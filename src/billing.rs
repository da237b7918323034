//! Billing statements (issue 20, step 7): what dialticket owes an organizer, month
//! by month. Plain arithmetic over what happened — no I/O; the store reads the
//! facts ([`crate::store::Store::billing_facts`]) and the back office shows them.
//!
//! **Who owes whom.** dialticket collects the ticket money (its payment
//! providers), keeps its fee and pays the rest out to the organizer. The
//! *balance* is what dialticket owes the organizer:
//!
//! ```text
//! balance = sales − fees − refunds + fees returned − payouts
//! ```
//!
//! carried from month to month (a month's opening balance is the previous
//! month's closing one). The fee is `fee_per_ticket` for every ticket sold; a
//! refunded ticket's fee is given back in the month of the refund, so over all
//! time the fees are `fee_per_ticket ×` the tickets paid and not refunded — the
//! rule `GET /admin/organizers/{id}/billing` always had ([`Totals`] gives its numbers).
//!
//! A month is a calendar month on the organizer's clock (its events' time zone):
//! a sale at 00:30 JST on 1 December is December's, whatever UTC says.

use chrono::{Datelike, NaiveDate};

/// Why a period, date or payout was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error("'{0}' is not a month (YYYY-MM)")]
    BadPeriod(String),
    #[error("'{0}' is not a date (YYYY-MM-DD)")]
    BadDate(String),
    #[error("a payout's date cannot be after today ({today})")]
    FutureDate { today: NaiveDate },
    #[error("'{0}' is not an amount (a whole number above zero)")]
    BadAmount(String),
    #[error("a payout of {amount} is more than the {owed} owed")]
    AboveOwed { amount: i64, owed: i64 },
    #[error("a payout needs a reference (the bank transfer's, say)")]
    NoReference,
}

/// A calendar month on the organizer's clock: `2026-12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    /// `2026-12` (a month from 1970 to 9999).
    pub fn parse(s: &str) -> Result<Period, BillingError> {
        let bad = || BillingError::BadPeriod(s.chars().take(20).collect());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (year, month) = (y.parse::<i32>().map_err(|_| bad())?, m.parse::<u32>().map_err(|_| bad())?);
        if year < 1970 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    /// The month `day` is in.
    pub fn of(day: NaiveDate) -> Period {
        Period { year: day.year(), month: day.month() }
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period { year: self.year + 1, month: 1 }
        } else {
            Period { year: self.year, month: self.month + 1 }
        }
    }

    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period { year: self.year - 1, month: 12 }
        } else {
            Period { year: self.year, month: self.month - 1 }
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `2026-12-06`, not after `today`.
pub fn payout_date(s: &str, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| BillingError::BadDate(s.chars().take(20).collect()))?;
    if day > today {
        return Err(BillingError::FutureDate { today });
    }
    Ok(day)
}

/// A payout's amount as typed (`12000`, `12,000`): above zero and not above `owed`.
pub fn payout_amount(s: &str, owed: i64) -> Result<i64, BillingError> {
    let digits: String = s.trim().chars().filter(|c| *c != ',').collect();
    let amount = match digits.parse::<i64>() {
        Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Err(BillingError::BadAmount(s.chars().take(20).collect())),
    };
    if amount > owed {
        return Err(BillingError::AboveOwed { amount, owed });
    }
    Ok(amount)
}

/// What happened, as the store read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    /// An order paid (settled).
    Sale,
    /// A paid order cancelled and refunded (by its holder, its organizer, or the event's cancellation).
    Refund,
    /// Money paid out to the organizer (not voided).
    Payout,
}

/// One thing that moved money: its day on the organizer's clock, its moment
/// (for the order within the day), what it was (`reference`: the order, or the
/// payout's reference), the event (none for a payout), tickets and amount (≥ 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub kind: FactKind,
    pub day: NaiveDate,
    pub at: i64,
    pub reference: String,
    pub event: String,
    pub tickets: i64,
    pub amount: i64,
}

/// A statement's line: a sale, a fee (negative; positive when given back with a
/// refund), a refund, a payout. `amount` is its effect on the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineKind {
    Sale,
    Fee,
    Refund,
    Payout,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Sale => "sale",
            LineKind::Fee => "fee",
            LineKind::Refund => "refund",
            LineKind::Payout => "payout",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub day: NaiveDate,
    pub at: i64,
    pub reference: String,
    pub event: String,
    /// Tickets (negative on a refund and the fee it gives back).
    pub tickets: i64,
    pub amount: i64,
}

/// A fact's lines: a sale and its fee; a refund and its fee given back; a payout.
pub fn lines_of(f: &Fact, fee_per_ticket: i64) -> Vec<Line> {
    let line = |kind, tickets, amount| Line {
        kind,
        day: f.day,
        at: f.at,
        reference: f.reference.clone(),
        event: f.event.clone(),
        tickets,
        amount,
    };
    let fee = fee_per_ticket * f.tickets;
    match f.kind {
        FactKind::Sale => vec![line(LineKind::Sale, f.tickets, f.amount), line(LineKind::Fee, f.tickets, -fee)],
        FactKind::Refund => vec![line(LineKind::Refund, -f.tickets, -f.amount), line(LineKind::Fee, -f.tickets, fee)],
        FactKind::Payout => vec![line(LineKind::Payout, 0, -f.amount)],
    }
}

/// The order of a statement's lines: by day, then moment, then sales before
/// refunds before payouts, then reference (so two sales in one second always
/// come in the same order).
pub fn order_key(f: &Fact) -> (NaiveDate, i64, u8, &str) {
    let rank = match f.kind {
        FactKind::Sale => 0,
        FactKind::Refund => 1,
        FactKind::Payout => 2,
    };
    (f.day, f.at, rank, f.reference.as_str())
}

/// One month's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub period: Period,
    /// What dialticket owed the organizer when the month began.
    pub opening: i64,
    /// Tickets sold (orders paid) in the month, and their money.
    pub tickets: i64,
    pub sales: i64,
    /// The month's fees, net: charged on the tickets sold, less those given back with refunds.
    pub fees: i64,
    /// Tickets refunded in the month, and the money refunded.
    pub refunded_tickets: i64,
    pub refunds: i64,
    pub payouts: i64,
    /// What dialticket owed the organizer when the month ended.
    pub closing: i64,
    /// The month's lines, oldest first.
    pub lines: Vec<Line>,
}

/// `period`'s statement from every fact of the organizer (any order).
pub fn statement(facts: &[Fact], fee_per_ticket: i64, period: Period) -> Statement {
    let mut s = Statement {
        period,
        opening: 0,
        tickets: 0,
        sales: 0,
        fees: 0,
        refunded_tickets: 0,
        refunds: 0,
        payouts: 0,
        closing: 0,
        lines: Vec::new(),
    };
    let mut facts: Vec<&Fact> = facts.iter().filter(|f| Period::of(f.day) <= period).collect();
    facts.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    for f in facts {
        let lines = lines_of(f, fee_per_ticket);
        if Period::of(f.day) < period {
            s.opening += lines.iter().map(|l| l.amount).sum::<i64>();
            continue;
        }
        match f.kind {
            FactKind::Sale => (s.tickets, s.sales) = (s.tickets + f.tickets, s.sales + f.amount),
            FactKind::Refund => {
                (s.refunded_tickets, s.refunds) = (s.refunded_tickets + f.tickets, s.refunds + f.amount)
            }
            FactKind::Payout => s.payouts += f.amount,
        }
        s.fees -= lines.iter().filter(|l| l.kind == LineKind::Fee).map(|l| l.amount).sum::<i64>();
        s.lines.extend(lines);
    }
    s.closing = s.opening + s.lines.iter().map(|l| l.amount).sum::<i64>();
    s
}

/// All time: what `GET /admin/organizers/{id}/billing` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Tickets paid and not refunded.
    pub tickets: i64,
    pub sales: i64,
    pub refunds: i64,
    /// `fee_per_ticket × tickets`: what dialticket bills.
    pub fees: i64,
    pub payouts: i64,
    /// What dialticket owes the organizer now (negative: the organizer owes dialticket).
    pub owed: i64,
}

impl Totals {
    /// The JSON's `paid`: what the organizer has paid towards its bill — the
    /// ticket money dialticket collected for it and still holds, out of which the
    /// fees are kept (`sales − refunds − payouts`).
    pub fn paid(&self) -> i64 {
        self.sales - self.refunds - self.payouts
    }

    /// The JSON's `balance = billed − paid`: what the organizer owes dialticket,
    /// so `−owed` (negative while dialticket owes the organizer).
    pub fn balance(&self) -> i64 {
        self.fees - self.paid()
    }
}

pub fn totals(facts: &[Fact], fee_per_ticket: i64) -> Totals {
    let mut t = Totals::default();
    for f in facts {
        match f.kind {
            FactKind::Sale => (t.tickets, t.sales) = (t.tickets + f.tickets, t.sales + f.amount),
            FactKind::Refund => (t.tickets, t.refunds) = (t.tickets - f.tickets, t.refunds + f.amount),
            FactKind::Payout => t.payouts += f.amount,
        }
    }
    t.fees = fee_per_ticket * t.tickets;
    t.owed = t.sales - t.refunds - t.fees - t.payouts;
    t
}

/// The months a statement can be asked for: from the first fact's (or
/// `current`, if earlier or there is none) to `current`, newest first.
pub fn periods(facts: &[Fact], current: Period) -> Vec<Period> {
    let first = facts.iter().map(|f| Period::of(f.day)).min().unwrap_or(current).min(current);
    let mut out = vec![current];
    let mut p = current;
    while p > first {
        p = p.prev();
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fact(kind: FactKind, d: &str, reference: &str, tickets: i64, amount: i64) -> Fact {
        Fact { kind, day: day(d), at: 0, reference: reference.into(), event: "gala".into(), tickets, amount }
    }

    fn month(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    #[test]
    fn periods_parse_print_and_step_over_the_year() {
        assert_eq!(month("2026-12").to_string(), "2026-12");
        assert_eq!(month("2026-12").next(), month("2027-01"));
        assert_eq!(month("2027-01").prev(), month("2026-12"));
        for bad in ["2026-13", "2026-00", "2026-1", "26-12", "2026/12", "", "abcd-ef", "+026-12", "1969-12"] {
            assert_eq!(Period::parse(bad), Err(BillingError::BadPeriod(bad.into())), "{bad}");
        }
        assert_eq!(Period::of(day("2026-12-31")), month("2026-12"));
    }

    #[test]
    fn a_month_of_sales_a_refund_and_a_payout_then_the_balance_carried() {
        let facts = vec![
            fact(FactKind::Sale, "2026-11-30", "o1", 2, 10_000),
            fact(FactKind::Sale, "2026-12-01", "o2", 1, 5_000),
            fact(FactKind::Sale, "2026-12-05", "o3", 3, 15_000),
            fact(FactKind::Refund, "2026-12-07", "o1", 2, 10_000),
            fact(FactKind::Payout, "2026-12-20", "TR-1", 0, 4_000),
        ];
        let nov = statement(&facts, 100, month("2026-11"));
        assert_eq!((nov.opening, nov.tickets, nov.sales, nov.fees, nov.closing), (0, 2, 10_000, 200, 9_800));
        let dec = statement(&facts, 100, month("2026-12"));
        assert_eq!(dec.opening, 9_800);
        assert_eq!((dec.tickets, dec.sales), (4, 20_000));
        // 4 tickets' fees, less the 2 refunded ones' given back.
        assert_eq!(dec.fees, 200);
        assert_eq!((dec.refunded_tickets, dec.refunds, dec.payouts), (2, 10_000, 4_000));
        assert_eq!(dec.closing, 9_800 + 20_000 - 200 - 10_000 - 4_000);
        let kinds: Vec<&str> = dec.lines.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(kinds, ["sale", "fee", "sale", "fee", "refund", "fee", "payout"]);
        let amounts: Vec<i64> = dec.lines.iter().map(|l| l.amount).collect();
        assert_eq!(amounts, [5_000, -100, 15_000, -300, -10_000, 200, -4_000]);
        // A month with nothing carries the balance on.
        let jan = statement(&facts, 100, month("2027-01"));
        assert_eq!((jan.opening, jan.closing, jan.lines.len()), (dec.closing, dec.closing, 0));
        // The totals are the months' sum, and the fee rule of the JSON: paid, not refunded tickets.
        let t = totals(&facts, 100);
        assert_eq!((t.tickets, t.fees, t.owed), (4, 400, dec.closing));
        assert_eq!(t.balance(), -t.owed);
        assert_eq!(t.fees - t.paid(), t.balance());
    }

    #[test]
    fn periods_run_from_the_first_fact_to_now() {
        let facts = vec![fact(FactKind::Sale, "2026-10-03", "o1", 1, 1)];
        assert_eq!(periods(&facts, month("2026-12")), [month("2026-12"), month("2026-11"), month("2026-10")]);
        assert_eq!(periods(&[], month("2026-12")), [month("2026-12")]);
    }

    #[test]
    fn payouts_are_positive_not_above_what_is_owed_and_not_in_the_future() {
        assert_eq!(payout_amount("12,000", 12_000), Ok(12_000));
        assert_eq!(payout_amount("12001", 12_000), Err(BillingError::AboveOwed { amount: 12_001, owed: 12_000 }));
        for bad in ["0", "-5", "1.5", "", "abc", "+3"] {
            assert_eq!(payout_amount(bad, 100), Err(BillingError::BadAmount(bad.into())), "{bad}");
        }
        let today = day("2026-12-06");
        assert_eq!(payout_date("2026-12-06", today), Ok(today));
        assert_eq!(payout_date("2026-12-07", today), Err(BillingError::FutureDate { today }));
        assert_eq!(payout_date("2026-02-30", today), Err(BillingError::BadDate("2026-02-30".into())));
    }
}
