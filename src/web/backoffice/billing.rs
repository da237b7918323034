//! Billing in the back office (issue 20, step 7; the arithmetic is [`crate::billing`]).
//!
//! - `GET /admin/billing`: an operator's list of organizers with what is owed to
//!   each; an organizer is sent to its own statement.
//! - `GET /admin/organizers/{id}/billing/{yyyy-mm}`: a month's statement (sales,
//!   fees, refunds, payouts, the balance carried), the payouts, and for an
//!   operator the form recording one; `…/{yyyy-mm}.csv`: its lines as CSV.
//! - `POST /admin/organizers/{id}/payouts`, `POST …/payouts/{pid}/void`: operators only.
//!
//! Months are calendar months on the organizer's clock: the time zone of its
//! last event (Asia/Tokyo when it has none), said on the page. Money is in the
//! currency of that event.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::sales::csv_field;
use super::{check_csrf, operator_only, page, Fields, Session, SignedIn};
use crate::accounts::Role;
use crate::billing::{self, BillingError, Line, LineKind, Period, Statement, Totals};
use crate::i18n::{format::money, Style, Zone};
use crate::store::{NewPayout, StoreError};
use crate::web::{finish, locale, tr, PageResult, Web, WebError};

/// Where an organizer's months and money are read: its last event's time zone
/// and currency (Asia/Tokyo and JPY when it has no event yet).
pub(crate) struct Books {
    pub id: String,
    pub name: String,
    pub zone_name: String,
    pub zone: Zone,
    pub currency: String,
}

impl Books {
    /// `organizer`'s books (`None`: there is no such organizer).
    pub(crate) async fn of(web: &Web, organizer: &str) -> Result<Option<Books>, StoreError> {
        let Some(name) = web.app.store.organizer_name(organizer).await? else { return Ok(None) };
        let events = web.app.store.events().await?;
        let last = events.iter().rev().find(|e| e.organizer == organizer);
        let zone_name = last.map(|e| e.time_zone.clone()).filter(|z| !z.is_empty());
        let zone_name = zone_name.unwrap_or_else(|| "Asia/Tokyo".to_string());
        let zone = match last {
            Some(e) => e.zone(),
            None => Zone::Iana(chrono_tz::Asia::Tokyo),
        };
        let currency = last.map_or_else(|| "JPY".to_string(), |e| e.currency.clone());
        Ok(Some(Books { id: organizer.to_string(), name, zone_name, zone, currency }))
    }

    /// `amount` with its currency, a minus sign (U+2212) before a negative one: `−¥5,000`.
    fn money(&self, amount: i64) -> String {
        let shown = money(&self.currency, amount.abs());
        if amount < 0 {
            format!("\u{2212}{shown}")
        } else {
            shown
        }
    }

    /// Today on the organizer's clock.
    fn today(&self) -> NaiveDate {
        day_of(self.zone, crate::store::now())
    }

    /// `day` in the page's language: `2026年12月6日(日)`, `Sun 6 Dec 2026`.
    fn day_name(&self, day: NaiveDate) -> String {
        let noon = day.and_hms_opt(12, 0, 0).map_or(0, |t| t.and_utc().timestamp());
        let at = noon - i64::from(self.zone.offset_secs(noon));
        crate::i18n::when(&locale::current(), self.zone, at, Style::Date)
    }
}

fn day_of(zone: Zone, at: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(at + i64::from(zone.offset_secs(at)), 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// An organizer's all-time totals (`None`: no such organizer): what
/// `GET /admin/organizers/{id}/billing` reports, from the statements' code.
pub(crate) async fn totals(web: &Web, organizer: &str) -> Result<Option<(Books, Totals)>, StoreError> {
    let Some(books) = Books::of(web, organizer).await? else { return Ok(None) };
    let facts = web.app.store.billing_facts(organizer, books.zone).await?;
    let totals = billing::totals(&facts, web.app.fee_per_ticket);
    Ok(Some((books, totals)))
}

/// The organizer's books, if this account may see them (403 for another organizer's, 404 for none).
async fn books_for(web: &Web, s: &Session, organizer: &str) -> Result<Books, WebError> {
    if let Role::Organizer(own) = &s.account.role {
        if own != organizer {
            return Err(WebError::Forbidden(tr(web, "admin-billing-not-yours", &[])));
        }
    }
    Books::of(web, organizer).await?.ok_or_else(|| WebError::NotFound(tr(web, "admin-billing-no-organizer", &[])))
}

/// `2026年12月`, `December 2026`.
fn month_name(p: Period) -> String {
    if locale::current().starts_with("ja") {
        return format!("{}年{}月", p.year, p.month);
    }
    NaiveDate::from_ymd_opt(p.year, p.month, 1).map(|d| d.format("%B %Y").to_string()).unwrap_or_default()
}

fn statement_url(organizer: &str, p: Period) -> String {
    format!("/admin/organizers/{organizer}/billing/{p}")
}

/// `GET /admin/billing`.
pub(super) async fn index(State(web): State<Web>, SignedIn(s): SignedIn, headers: HeaderMap) -> Response {
    let r: PageResult = async {
        if let Role::Organizer(own) = &s.account.role {
            let books = books_for(&web, &s, own).await?;
            return Ok(Redirect::to(&statement_url(own, Period::of(books.today()))).into_response());
        }
        let mut rows = Vec::new();
        for (id, _) in web.app.store.organizers().await? {
            let Some((books, t)) = totals(&web, &id).await? else { continue };
            rows.push(json!({
                "id": id, "name": books.name, "zone": books.zone_name,
                "tickets": t.tickets, "sales": books.money(t.sales), "fees": books.money(t.fees),
                "payouts": books.money(t.payouts), "owed": books.money(t.owed), "owed_amount": t.owed,
                "url": statement_url(&id, Period::of(books.today())),
            }));
        }
        let data = json!({"organizers": rows, "fee_per_ticket": web.app.fee_per_ticket});
        Ok(page(&web, &headers, StatusCode::OK, "admin_billing_list.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

fn line_name(web: &Web, l: &Line) -> String {
    let id = match (l.kind, l.amount > 0) {
        (LineKind::Fee, true) => "admin-billing-line-fee-returned",
        (LineKind::Fee, false) => "admin-billing-line-fee",
        (LineKind::Sale, _) => "admin-billing-line-sale",
        (LineKind::Refund, _) => "admin-billing-line-refund",
        (LineKind::Payout, _) => "admin-billing-line-payout",
    };
    tr(web, id, &[])
}

/// A day of the statement's month, short: `6日(日)`, `Sun 6`.
fn short_day(day: NaiveDate) -> String {
    use chrono::Datelike as _;
    if locale::current().starts_with("ja") {
        const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
        return format!("{}日({})", day.day(), WEEKDAYS[day.weekday().num_days_from_monday() as usize]);
    }
    day.format("%a %-d").to_string()
}

/// A sale's or refund's tickets: `tickets: 2`, `2枚` (none for fees and payouts).
fn tickets_shown(web: &Web, l: &Line) -> Option<String> {
    matches!(l.kind, LineKind::Sale | LineKind::Refund)
        .then(|| tr(web, "admin-billing-line-tickets", &[("tickets", &l.tickets.abs().to_string())]))
}

/// The payout form as typed (kept when refused).
#[derive(Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
pub(super) struct PayoutForm {
    #[serde(skip_serializing)]
    csrf: Option<String>,
    amount: String,
    paid_on: String,
    reference: String,
    note: String,
}

/// The statement page's data for `period`, the payout form filled with `form`.
async fn statement_data(web: &Web, books: &Books, period: Period, form: &PayoutForm) -> Result<Value, WebError> {
    let facts = web.app.store.billing_facts(&books.id, books.zone).await?;
    let fee = web.app.fee_per_ticket;
    let st: Statement = billing::statement(&facts, fee, period);
    let t = billing::totals(&facts, fee);
    let today = books.today();
    let current = Period::of(today);
    let events = web.app.store.events().await?;
    let event_name = |id: &str| events.iter().find(|e| e.id == id).map_or_else(|| id.to_string(), |e| e.name.clone());
    let lines: Vec<Value> = st
        .lines
        .iter()
        .map(|l| {
            json!({"kind": l.kind.as_str(), "name": line_name(web, l), "day": books.day_name(l.day),
                   "short_day": short_day(l.day), "tickets_shown": tickets_shown(web, l),
                   "reference": l.reference, "event": l.event, "event_name": event_name(&l.event), "tickets": l.tickets,
                   "amount": books.money(l.amount), "amount_value": l.amount, "credit": l.amount > 0})
        })
        .collect();
    let accounts = web.app.store.accounts().await?;
    let who = |actor: &str| {
        let id = actor.strip_prefix("account:").unwrap_or(actor);
        accounts.iter().find(|a| a.id == id).map_or_else(|| actor.to_string(), |a| a.name.clone())
    };
    let payouts: Vec<Value> = web
        .app
        .store
        .payouts(&books.id)
        .await?
        .into_iter()
        .filter(|p| p.paid_on.get(..7) == Some(period.to_string().as_str()))
        .map(|p| {
            let day = NaiveDate::parse_from_str(&p.paid_on, "%Y-%m-%d").map(|d| books.day_name(d)).unwrap_or(p.paid_on);
            let voided = p.voided_at.map(|at| crate::i18n::when(&locale::current(), books.zone, at, Style::DateTime));
            json!({"id": p.id, "day": day, "amount": books.money(p.amount), "reference": p.reference, "note": p.note,
                   "recorded_by": who(&p.recorded_by), "voided": voided,
                   "voided_by": p.voided_by.as_deref().map(&who),
                   "void_url": format!("/admin/organizers/{}/payouts/{}/void", books.id, p.id)})
        })
        .collect();
    let months: Vec<Value> = billing::periods(&facts, current)
        .into_iter()
        .take(24)
        .map(|p| json!({"period": p.to_string(), "name": month_name(p), "url": statement_url(&books.id, p), "current": p == period}))
        .collect();
    let form =
        if form.paid_on.is_empty() { PayoutForm { paid_on: today.to_string(), ..form.clone() } } else { form.clone() };
    Ok(json!({
        "organizer": {"id": books.id, "name": books.name},
        "zone": books.zone_name, "fee_per_ticket": books.money(fee),
        "currency": if books.currency == "JPY" { "¥" } else { books.currency.as_str() },
        "period": st.period.to_string(), "month": month_name(period),
        "prev": statement_url(&books.id, period.prev()),
        "next": (period < current).then(|| statement_url(&books.id, period.next())),
        "months": months,
        "statement": {
            "opening": books.money(st.opening), "opening_amount": st.opening,
            "tickets": st.tickets, "sales": books.money(st.sales), "sales_amount": st.sales,
            "fees": books.money(-st.fees), "fees_amount": st.fees,
            "refunded_tickets": st.refunded_tickets, "refunds": books.money(-st.refunds), "refunds_amount": st.refunds,
            "payouts": books.money(-st.payouts), "payouts_amount": st.payouts,
            "closing": books.money(st.closing), "closing_amount": st.closing,
        },
        "lines": lines,
        "payouts": payouts,
        "owed": books.money(t.owed), "owed_amount": t.owed,
        "csv": format!("{}.csv", statement_url(&books.id, period)),
        "form": form,
        "payout_url": format!("/admin/organizers/{}/payouts", books.id),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Recorded {
    /// The payout just recorded (after the form's redirect): the page says so.
    recorded: Option<String>,
}

/// `GET /admin/organizers/{id}/billing/{yyyy-mm}` and `…/{yyyy-mm}.csv`.
pub(super) async fn statement(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path((id, period)): Path<(String, String)>,
    Query(q): Query<Recorded>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let books = books_for(&web, &s, &id).await?;
        let (period, csv) = match period.strip_suffix(".csv") {
            Some(p) => (p, true),
            None => (period.as_str(), false),
        };
        let period = Period::parse(period)
            .map_err(|_| WebError::NotFound(tr(&web, "admin-billing-bad-period", &[("period", period)])))?;
        if csv {
            return csv_of(&web, &books, period).await;
        }
        let mut data = statement_data(&web, &books, period, &PayoutForm::default()).await?;
        data["recorded"] = json!(q.recorded.and_then(|r| r.parse::<i64>().ok()));
        Ok(page(&web, &headers, StatusCode::OK, "admin_billing.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// The statement's lines as CSV (UTF-8 with a byte-order mark, as the orders' CSV).
async fn csv_of(web: &Web, books: &Books, period: Period) -> PageResult {
    let facts = web.app.store.billing_facts(&books.id, books.zone).await?;
    let st = billing::statement(&facts, web.app.fee_per_ticket, period);
    let columns = ["date", "kind", "reference", "event", "tickets", "amount", "balance"];
    let mut out = String::from("\u{feff}");
    let head: Vec<String> =
        columns.iter().map(|c| csv_field(&tr(web, &format!("admin-billing-csv-{c}"), &[]))).collect();
    out.push_str(&head.join(","));
    out.push_str("\r\n");
    let mut balance = st.opening;
    for l in &st.lines {
        balance += l.amount;
        let row = [
            l.day.to_string(),
            l.kind.as_str().to_string(),
            l.reference.clone(),
            l.event.clone(),
            l.tickets.to_string(),
            l.amount.to_string(),
            balance.to_string(),
        ];
        let row: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    let safe = |s: &str| s.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    let file = format!("attachment; filename=\"statement-{}-{period}.csv\"", safe(&books.id));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, file)],
        out,
    )
        .into_response())
}

/// What a refused payout says, in the page's language.
fn refusal(web: &Web, books: &Books, e: &BillingError) -> String {
    match e {
        BillingError::BadAmount(_) => tr(web, "admin-payout-bad-amount", &[]),
        BillingError::AboveOwed { amount, owed } => {
            tr(web, "admin-payout-above-owed", &[("amount", &books.money(*amount)), ("owed", &books.money(*owed))])
        }
        BillingError::BadDate(_) | BillingError::BadPeriod(_) => tr(web, "admin-payout-bad-date", &[]),
        BillingError::FutureDate { today } => tr(web, "admin-payout-future", &[("today", &books.day_name(*today))]),
        BillingError::NoReference => tr(web, "admin-payout-no-reference", &[]),
    }
}

/// `POST /admin/organizers/{id}/payouts`: an operator records a payout.
pub(super) async fn record(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Fields(form): Fields<PayoutForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let books = books_for(&web, &s, &id).await?;
        let today = books.today();
        let kept = PayoutForm { csrf: None, ..form.clone() };
        let refuse = |e: BillingError, period: Period| {
            let (web, books, s, headers, kept) = (&web, &books, &s, &headers, &kept);
            async move {
                let mut data = statement_data(web, books, period, kept).await?;
                data["error"] = json!(refusal(web, books, &e));
                Ok::<_, WebError>(page(web, headers, StatusCode::UNPROCESSABLE_ENTITY, "admin_billing.html", s, data))
            }
        };
        let paid_on = match billing::payout_date(&form.paid_on, today) {
            Ok(d) => d,
            Err(e) => return refuse(e, Period::of(today)).await,
        };
        let period = Period::of(paid_on);
        let reference = form.reference.trim().chars().take(120).collect::<String>();
        if reference.is_empty() {
            return refuse(BillingError::NoReference, period).await;
        }
        // The amount's shape first; what is owed is checked again inside the transaction.
        let amount = match billing::payout_amount(&form.amount, i64::MAX) {
            Ok(a) => a,
            Err(e) => return refuse(e, period).await,
        };
        let payout =
            NewPayout { amount, paid_on, reference, note: form.note.trim().chars().take(500).collect::<String>() };
        let fee = web.app.fee_per_ticket;
        let check = |facts: &[billing::Fact]| {
            let owed = billing::totals(facts, fee).owed;
            billing::payout_amount(&amount.to_string(), owed).map(|_| ())
        };
        let actor = format!("account:{}", s.account.id);
        match web.app.store.record_payout(&books.id, books.zone, &payout, check, &actor, crate::store::now()).await? {
            Ok(pid) => {
                tracing::info!(organizer = %books.id, payout = pid, amount, by = %s.account.id, "payout recorded");
                // The notice's anchor: the form's own (#payout) would otherwise be kept.
                let to = format!("{}?recorded={pid}#recorded", statement_url(&books.id, period));
                Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
            }
            Err(e) => refuse(e, period).await,
        }
    }
    .await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct VoidForm {
    csrf: Option<String>,
    period: String,
}

/// `POST /admin/organizers/{id}/payouts/{pid}/void`: an operator voids a payout.
pub(super) async fn void(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path((id, pid)): Path<(String, String)>,
    headers: HeaderMap,
    Fields(form): Fields<VoidForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let books = books_for(&web, &s, &id).await?;
        let actor = format!("account:{}", s.account.id);
        let none = || WebError::NotFound(tr(&web, "admin-payout-none", &[]));
        let pid: i64 = pid.parse().map_err(|_| none())?;
        if !web.app.store.void_payout(&books.id, pid, &actor, crate::store::now()).await? {
            return Err(none());
        }
        tracing::info!(organizer = %books.id, payout = pid, by = %s.account.id, "payout voided");
        let period = Period::parse(&form.period).unwrap_or_else(|_| Period::of(books.today()));
        let to = format!("{}#payouts", statement_url(&books.id, period));
        Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
    }
    .await;
    finish(&web, &headers, r)
}
