//! Billing in the back office (issue 20, step 7): a month's statement from real
//! sales, a refund and a payout (numbers exact, the balance carried to the next
//! month, the CSV's rows), payouts refused above what is owed or without their
//! CSRF token, voided not deleted, and a second organizer kept out (403).

use serde_json::Value;

use crate::backoffice::{csrf_of, load_other_organizer, operator_link, set_password, Office};
use crate::backoffice_orders::{buy_on_the_web, organizer_office};
use crate::helpers::*;

const FEE: i64 = 150;

/// An operator signed in.
pub async fn operator_office(gw: &TestGateway, name: &str) -> Office {
    let link = operator_link(gw, name).await;
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &link, "operator password 1").await;
    office
}

/// When the journal says `pid` was `action` (`payment` → paid, `refund`): (unix seconds, its Tokyo day).
async fn when(gw: &TestGateway, pid: &str, action: &str) -> (i64, chrono::NaiveDate) {
    let journal = gw.app.store.journal_for(pid).await.expect("journal");
    let row = journal
        .iter()
        .find(|j| j.action == action && (action != "payment" || j.to_state.as_deref() == Some("paid")))
        .unwrap_or_else(|| panic!("no {action} row for {pid}: {journal:?}"));
    let tokyo = chrono::FixedOffset::east_opt(9 * 3600).expect("JST");
    (row.at, chrono::DateTime::from_timestamp(row.at, 0).expect("time").with_timezone(&tokyo).date_naive())
}

/// Cancel and refund order `pid` from the back office (its confirmation, then the button).
async fn cancel_order(office: &mut Office, pid: &str) {
    let (status, page, _) = office.get(&format!("/admin/orders/{pid}/cancel")).await;
    assert_eq!(status, 200, "{page}");
    let at = page.find("name=\"step\" value=\"").expect("a step field");
    let rest = &page[at + 19..];
    let step = rest[..rest.find('"').expect("end")].to_string();
    let fields = [("csrf", csrf_of(&page)), ("step", step)];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = office.post(&format!("/admin/orders/{pid}/cancel"), &fields).await;
    assert_eq!(status, 303);
}

/// The statement of `period` as JSON.
async fn statement(office: &mut Office, organizer: &str, period: &str) -> Value {
    let (status, page) = office.get_json(&format!("/admin/organizers/{organizer}/billing/{period}")).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn amounts(page: &Value) -> [i64; 8] {
    let s = &page["statement"];
    let n = |k: &str| s[k].as_i64().unwrap_or_else(|| panic!("{k} in {s}"));
    [
        n("opening_amount"),
        n("tickets"),
        n("sales_amount"),
        n("fees_amount"),
        n("refunded_tickets"),
        n("refunds_amount"),
        n("payouts_amount"),
        n("closing_amount"),
    ]
}

#[tokio::test]
async fn a_months_statement_counts_sales_fees_a_refund_and_a_payout_and_carries_the_balance() {
    statement_on("sqlite").await;
}

#[tokio::test]
async fn a_months_statement_counts_sales_fees_a_refund_and_a_payout_and_carries_the_balance_in_postgres() {
    statement_on("postgres").await;
}

async fn statement_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| {
        c.database_url = url;
        c.fee_per_ticket = FEE;
    })
    .await;
    let mut operator = operator_office(&gw, "tanaka").await;
    let mut organizer = organizer_office(&gw, "holonic", "holonic-hall").await;
    // Three orders of one ticket on two events; the first is cancelled and refunded.
    let mut sold = Vec::new();
    for (event, holder) in [
        ("spring-gala-2027", "+819055551001"),
        ("spring-gala-2027", "+819055551002"),
        ("open-rehearsal", "+819055551003"),
    ] {
        let order = buy_on_the_web(&gw, event, holder).await;
        let pid = order["purchase_id"].as_str().expect("an order").to_string();
        let amount = gw.app.store.purchase(&pid).await.unwrap().expect("stored").amount;
        let (at, day) = when(&gw, &pid, "payment").await;
        sold.push((day, at, pid, event, amount));
    }
    let refunded = sold[0].clone();
    cancel_order(&mut organizer, &refunded.2).await;
    let (refund_at, refund_day) = when(&gw, &refunded.2, "refund").await;
    // The month is the data's: the first sale's on the Tokyo clock.
    let day = sold[0].0;
    let period = day.format("%Y-%m").to_string();
    assert!(
        sold.iter().all(|s| s.0.format("%Y-%m").to_string() == period)
            && refund_day.format("%Y-%m").to_string() == period,
        "the test's orders fell in two months (run it again)"
    );
    let sales: i64 = sold.iter().map(|s| s.4).sum();
    let owed = sales - 3 * FEE - refunded.4 + FEE;

    // A payout above what is owed: refused, the form kept, nothing recorded.
    let (_, page, _) = operator.get(&format!("/admin/organizers/holonic-hall/billing/{period}")).await;
    let csrf = csrf_of(&page);
    let above = (owed + 1).to_string();
    let on = day.to_string();
    let form = |amount: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("amount", amount.to_string()),
            ("paid_on", on.clone()),
            ("reference", "TR-2026-0001".to_string()),
            ("note", "月末振込".to_string()),
        ]
    };
    let fields = form(&above);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page, _) = operator.post("/admin/organizers/holonic-hall/payouts", &fields).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("is more than the") && page.contains(&format!("value=\"{above}\"")), "{page}");
    assert!(page.contains("value=\"TR-2026-0001\"") && page.contains("月末振込"), "the form kept: {page}");
    assert!(gw.app.store.payouts("holonic-hall").await.unwrap().is_empty());
    // Without its CSRF token: refused, nothing recorded.
    let (status, _, _) = operator
        .post("/admin/organizers/holonic-hall/payouts", &[("amount", "100"), ("paid_on", &on), ("reference", "x")])
        .await;
    assert_eq!(status, 403);
    assert!(gw.app.store.payouts("holonic-hall").await.unwrap().is_empty());
    // A zero amount and a future date are refused with their messages.
    for (amount, date, says) in
        [("0", on.clone(), "whole number above zero"), ("100", "2999-01-01".into(), "cannot be after today")]
    {
        let fields = [("csrf", csrf.as_str()), ("amount", amount), ("paid_on", &date), ("reference", "r")];
        let (status, page, _) = operator.post("/admin/organizers/holonic-hall/payouts", &fields).await;
        assert!(status == 422 && page.contains(says), "{amount} {date}: {status} {page}");
    }
    // The payout.
    let fields = form("4000");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, location) = operator.post("/admin/organizers/holonic-hall/payouts", &fields).await;
    assert_eq!(status, 303);
    let location = location.expect("back to the statement");
    assert!(location.starts_with(&format!("/admin/organizers/holonic-hall/billing/{period}?recorded=")), "{location}");
    let payouts = gw.app.store.payouts("holonic-hall").await.unwrap();
    assert_eq!(payouts.len(), 1);
    let journal = gw.app.store.journal_for(&payouts[0].id.to_string()).await.unwrap();
    assert!(journal.iter().any(|j| j.action == "payout" && j.actor.starts_with("account:")), "{journal:?}");

    // The organizer's statement: exact numbers.
    let page = statement(&mut organizer, "holonic-hall", &period).await;
    let closing = owed - 4000;
    assert_eq!(amounts(&page), [0, 3, sales, 2 * FEE, 1, refunded.4, 4000, closing], "{page}");
    assert_eq!(page["zone"], "Asia/Tokyo");
    assert_eq!(page["owed_amount"].as_i64(), Some(closing));
    // Carried to the next month, which has nothing of its own.
    let next = day.with_day(1).unwrap() + chrono::Months::new(1);
    let page = statement(&mut organizer, "holonic-hall", &next.format("%Y-%m").to_string()).await;
    assert_eq!(amounts(&page), [closing, 0, 0, 0, 0, 0, 0, closing], "{page}");
    assert!(page["lines"].as_array().unwrap().is_empty());
    // The month before: nothing, and nothing carried.
    let before = day.with_day(1).unwrap() - chrono::Months::new(1);
    let page = statement(&mut organizer, "holonic-hall", &before.format("%Y-%m").to_string()).await;
    assert_eq!(amounts(&page), [0; 8], "{page}");

    // The HTML page says it on the venue's clock, never UTC; the organizer has no payout form.
    let (status, html, _) = organizer.get(&format!("/admin/organizers/holonic-hall/billing/{period}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-zone=\"Asia&#x2f;Tokyo\"") && !shows_utc(&html), "{html}");
    assert!(html.contains("data-payout=") && !html.contains("name=\"amount\""), "{html}");

    // The CSV: a BOM, the header, one row per line, the running balance.
    let (status, csv, _) = organizer.get(&format!("/admin/organizers/holonic-hall/billing/{period}.csv")).await;
    assert_eq!(status, 200);
    let csv = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut sales_sorted: Vec<_> = sold.iter().collect();
    sales_sorted.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    let mut expected = vec!["Date,Kind,Reference,Event,Tickets,Amount,Balance".to_string()];
    let mut balance = 0;
    let mut row = |day: chrono::NaiveDate, kind: &str, reference: &str, event: &str, tickets: i64, amount: i64| {
        balance += amount;
        expected.push(format!("{day},{kind},{reference},{event},{tickets},{amount},{balance}"));
    };
    // Lines by day, then moment: the refund may share the day of the sales, the payout is dated the first sale's day.
    let mut facts: Vec<(chrono::NaiveDate, i64, u8, String, &str, i64)> =
        sold.iter().map(|s| (s.0, s.1, 0, s.2.clone(), s.3, s.4)).collect();
    facts.push((refund_day, refund_at, 1, refunded.2.clone(), refunded.3, refunded.4));
    facts.push((day, payouts[0].recorded_at, 2, "TR-2026-0001".into(), "", 4000));
    facts.sort_by(|a, b| (a.0, a.1, a.2, &a.3).cmp(&(b.0, b.1, b.2, &b.3)));
    for (d, _, kind, reference, event, amount) in &facts {
        match kind {
            0 => {
                row(*d, "sale", reference, event, 1, *amount);
                row(*d, "fee", reference, event, 1, -FEE);
            }
            1 => {
                row(*d, "refund", reference, event, -1, -amount);
                row(*d, "fee", reference, event, -1, FEE);
            }
            _ => row(*d, "payout", reference, event, 0, -amount),
        }
    }
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows, expected, "{csv}");
    assert!(expected.last().unwrap().ends_with(&format!(",{closing}")));

    // The JSON for scripts: the same numbers (billed = fees, paid = money held, balance = billed − paid = −owed).
    let (status, bill) = organizer.get_json("/admin/organizers/holonic-hall/billing").await;
    assert_eq!(status, 200, "{bill}");
    assert_eq!(bill["tickets_sold"], 2);
    assert_eq!(bill["billed"], 2 * FEE);
    assert_eq!(bill["paid"].as_i64(), Some(sales - refunded.4 - 4000));
    assert_eq!(bill["balance"].as_i64(), Some(-closing));
    assert_eq!(bill["owed"].as_i64(), Some(closing));

    // Voided, not deleted: the balance goes back up; a second void finds nothing to void.
    let (_, page, _) = operator.get(&format!("/admin/organizers/holonic-hall/billing/{period}")).await;
    let void = format!("/admin/organizers/holonic-hall/payouts/{}/void", payouts[0].id);
    let fields = [("csrf", csrf_of(&page)), ("period", period.clone())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = operator.post(&void, &fields).await;
    assert_eq!(status, 303);
    let (status, _, _) = operator.post(&void, &fields).await;
    assert_eq!(status, 404);
    let page = statement(&mut organizer, "holonic-hall", &period).await;
    assert_eq!(amounts(&page)[6..], [0, owed], "{page}");
    assert!(page["payouts"][0]["voided"].is_string(), "{page}");
    let p = gw.app.store.payouts("holonic-hall").await.unwrap();
    assert!(p.len() == 1 && p[0].voided_at.is_some(), "{p:?}");
    gw.stop().await;
}

use chrono::Datelike as _;

#[tokio::test]
async fn an_organizer_reads_only_its_own_billing_and_records_nothing() {
    let gw = spawn_gateway().await;
    load_other_organizer(&gw).await;
    let mut mine = organizer_office(&gw, "holonic", "holonic-hall").await;
    let mut operator = operator_office(&gw, "tanaka").await;
    buy_on_the_web(&gw, "other-night", "+819055552001").await;
    // The billing link sends an organizer to its own statement.
    let (status, _, location) = mine.get("/admin/billing").await;
    let location = location.unwrap_or_default();
    assert!(status == 303 && location.starts_with("/admin/organizers/holonic-hall/billing/"), "{status} {location}");
    let period = location.rsplit('/').next().unwrap().to_string();
    let (status, page, _) = mine.get(&location).await;
    assert_eq!(status, 200, "{page}");
    // Another organizer's, by guessing its address: 403 for the page, the CSV and the JSON.
    for path in [
        format!("/admin/organizers/other-hall/billing/{period}"),
        format!("/admin/organizers/other-hall/billing/{period}.csv"),
        "/admin/organizers/other-hall/billing".to_string(),
    ] {
        let (status, body, _) = mine.get(&path).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    // No payout recorded or voided by an organizer, even with its own form token.
    let csrf = csrf_of(&page);
    for path in ["/admin/organizers/holonic-hall/payouts", "/admin/organizers/other-hall/payouts"] {
        let fields = [("csrf", csrf.as_str()), ("amount", "100"), ("paid_on", "2026-01-01"), ("reference", "x")];
        let (status, _, _) = mine.post(path, &fields).await;
        assert_eq!(status, 403, "{path}");
    }
    assert!(gw.app.store.payouts("other-hall").await.unwrap().is_empty());
    // The operator sees every organizer, with what is owed to each.
    let (status, list) = operator.get_json("/admin/billing").await;
    assert_eq!(status, 200, "{list}");
    let other =
        list["organizers"].as_array().unwrap().iter().find(|o| o["id"] == "other-hall").expect("listed").clone();
    let price = gw.app.store.event("other-night").await.unwrap().unwrap().seat_types[0].price;
    assert_eq!(other["owed_amount"].as_i64(), Some(price - 100), "{other}");
    // A month that is no month: 404.
    let (status, _, _) = operator.get("/admin/organizers/other-hall/billing/2026-13").await;
    assert_eq!(status, 404);
    let (status, _, _) = operator.get(&format!("/admin/organizers/nobody/billing/{period}")).await;
    assert_eq!(status, 404);
    gw.stop().await;
}

#[tokio::test]
async fn two_payouts_at_once_never_pay_out_more_than_is_owed() {
    payouts_at_once_on("sqlite").await;
}

#[tokio::test]
async fn two_payouts_at_once_never_pay_out_more_than_is_owed_in_postgres() {
    payouts_at_once_on("postgres").await;
}

/// Two operators record ¥6,000 each at the same moment against ¥9,700 owed: one is refused.
async fn payouts_at_once_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    buy_on_the_web(&gw, "spring-gala-2027", "+819055554001").await;
    let zone = dialticket::i18n::Zone::Iana(chrono_tz::Asia::Tokyo);
    let store = &gw.app.store;
    let owed = |facts: &[dialticket::billing::Fact]| {
        dialticket::billing::payout_amount("6000", dialticket::billing::totals(facts, 100).owed).map(|_| ())
    };
    let payout = dialticket::store::NewPayout {
        amount: 6000,
        paid_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a day"),
        reference: "r".into(),
        note: String::new(),
    };
    let now = dialticket::store::now();
    let (a, b) = tokio::join!(
        store.record_payout("holonic-hall", zone, &payout, owed, "account:a", now),
        store.record_payout("holonic-hall", zone, &payout, owed, "account:b", now),
    );
    let (a, b) = (a.expect("stored"), b.expect("stored"));
    assert!(a.is_ok() != b.is_ok(), "exactly one recorded: {a:?} {b:?}");
    let refused = a.err().or(b.err()).expect("one refused");
    assert_eq!(refused, dialticket::billing::BillingError::AboveOwed { amount: 6000, owed: 3700 });
    assert_eq!(store.payouts("holonic-hall").await.unwrap().len(), 1);
    gw.stop().await;
}
