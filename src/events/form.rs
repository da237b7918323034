//! The back office's event form (`/admin/events/new`, `/admin/events/{id}/edit`)
//! read into the same [`EventDef`] a catalog file gives, so one set of rules
//! ([`CatalogFile::validate`]) checks both. No I/O here.
//!
//! Times are `<input type="datetime-local">` values (`2027-03-14T19:00`) on the
//! clock of the zone the form picks; a time that does not exist there (a
//! daylight-saving gap) is refused. Seat types are rows `st{i}_code`,
//! `st{i}_name`, `st{i}_price`, `st{i}_rows` (row names, space or comma
//! separated) with `st{i}_per_row`, or `st{i}_count`, and `st{i}_gate`.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::{CatalogFile, EventDef, SeatTypeDef};

/// The form's fields as posted (a repeated name: the last one).
pub type Fields = HashMap<String, String>;

/// How many seat-type rows a form may have.
pub const MAX_SEAT_TYPES: usize = 12;

/// The zones the form offers (venues' IANA zones); the default is the first.
pub const ZONES: &[&str] = &[
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Taipei",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Bangkok",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
];

/// Per-event settings that are not in a catalog file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Tickets per phone per event; 0 for no limit.
    pub phone_limit: i64,
}

/// What is wrong with a posted form. [`FormProblem::message`] gives the Fluent
/// id and arguments of the sentence that says so; `field` names are the form's
/// (`admin-ev-{field}` is their label).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormProblem {
    #[error("{0} is empty")]
    Missing(&'static str),
    #[error("bad event id")]
    BadId,
    #[error("{0}: '{1}' is not a date and time")]
    BadTime(&'static str, String),
    #[error("{0}: {1} does not exist in {2}")]
    NoSuchTime(&'static str, String, String),
    #[error("unknown time zone {0}")]
    BadZone(String),
    #[error("{0} is not a whole number from 0")]
    BadNumber(String),
    #[error("offer window '{0}' is not whole minutes from 5 to 1440")]
    BadOfferMinutes(String),
    #[error("no seat types")]
    NoSeatTypes,
    #[error("seat type code '{0}'")]
    BadSeatCode(String),
    #[error("seat type '{0}' twice")]
    DuplicateSeatCode(String),
    #[error("seat type '{0}' has no seats")]
    NoSeats(String),
    #[error("seat type '{0}': gate")]
    BadGate(String),
    #[error("doors open after the start")]
    DoorsAfterStart,
    #[error("sale ends before it starts")]
    SaleEndsFirst,
    #[error("admission closes before it opens")]
    AdmissionClosesFirst,
    #[error("{0}")]
    Catalog(String),
}

impl FormProblem {
    /// The Fluent id of the message and its arguments; `field` arguments are
    /// field names, to be replaced by their translated labels.
    pub fn message(&self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            FormProblem::Missing(f) => ("admin-ev-missing", vec![("field", (*f).to_string())]),
            FormProblem::BadId => ("admin-ev-bad-id", vec![]),
            FormProblem::BadTime(f, v) => {
                ("admin-ev-bad-time", vec![("field", (*f).to_string()), ("value", v.clone())])
            }
            FormProblem::NoSuchTime(f, v, z) => {
                ("admin-ev-no-such-time", vec![("field", (*f).to_string()), ("value", v.clone()), ("zone", z.clone())])
            }
            FormProblem::BadZone(z) => ("admin-ev-bad-zone", vec![("zone", z.clone())]),
            FormProblem::BadNumber(f) => ("admin-ev-bad-number", vec![("field", f.clone())]),
            FormProblem::BadOfferMinutes(v) => {
                let (min, max) = crate::waitlist::OFFER_MINUTES.into_inner();
                (
                    "admin-ev-bad-offer-minutes",
                    vec![("value", v.clone()), ("min", min.to_string()), ("max", max.to_string())],
                )
            }
            FormProblem::NoSeatTypes => ("admin-ev-no-seat-types", vec![]),
            FormProblem::BadSeatCode(c) => ("admin-ev-bad-seat-code", vec![("code", c.clone())]),
            FormProblem::DuplicateSeatCode(c) => ("admin-ev-seat-code-twice", vec![("code", c.clone())]),
            FormProblem::NoSeats(c) => ("admin-ev-no-seats", vec![("code", c.clone())]),
            FormProblem::BadGate(c) => ("admin-ev-bad-gate", vec![("code", c.clone())]),
            FormProblem::DoorsAfterStart => ("admin-ev-doors-after-start", vec![]),
            FormProblem::SaleEndsFirst => ("admin-ev-sale-ends-first", vec![]),
            FormProblem::AdmissionClosesFirst => ("admin-ev-admission-closes-first", vec![]),
            FormProblem::Catalog(d) => ("admin-ev-invalid", vec![("detail", d.clone())]),
        }
    }
}

fn text<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or_default()
}

fn required(f: &Fields, name: &'static str) -> Result<String, FormProblem> {
    match text(f, name) {
        "" => Err(FormProblem::Missing(name)),
        v => Ok(v.to_string()),
    }
}

/// A whole number from 0 (empty: 0).
fn number(f: &Fields, name: &str) -> Result<i64, FormProblem> {
    match text(f, name) {
        "" => Ok(0),
        v => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| FormProblem::BadNumber(name.to_string())),
    }
}

/// The offer window of the event's line, in minutes (empty: the default).
fn offer_minutes(f: &Fields) -> Result<i64, FormProblem> {
    match text(f, "offer_minutes") {
        "" => Ok(crate::waitlist::DEFAULT_OFFER_MINUTES),
        v => crate::waitlist::offer_minutes(v).ok_or_else(|| FormProblem::BadOfferMinutes(v.to_string())),
    }
}

/// An event id: 1 to 64 lowercase letters, digits and hyphens (it is in URLs).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// A `datetime-local` value read on `tz`'s clock; a time skipped by a change
/// of clocks is refused, one that happens twice is the first.
pub fn local_time(field: &'static str, value: &str, tz: Tz) -> Result<DateTime<FixedOffset>, FormProblem> {
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| FormProblem::BadTime(field, value.to_string()))?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.fixed_offset()),
        LocalResult::None => Err(FormProblem::NoSuchTime(field, value.replace('T', " "), tz.name().to_string())),
    }
}

/// `at` as a `datetime-local` value on `tz`'s clock.
pub fn local_input(at: i64, tz: Tz) -> String {
    tz.timestamp_opt(at, 0).single().map(|t| t.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
}

fn time(f: &Fields, field: &'static str, tz: Tz) -> Result<DateTime<FixedOffset>, FormProblem> {
    local_time(field, &required(f, field)?, tz)
}

fn optional_time(f: &Fields, field: &'static str, tz: Tz) -> Result<Option<DateTime<FixedOffset>>, FormProblem> {
    match text(f, field) {
        "" => Ok(None),
        v => local_time(field, v, tz).map(Some),
    }
}

/// Row names as typed: `A B C` or `A, B, C`.
pub fn row_names(s: &str) -> Vec<String> {
    s.split([',', ' ', '、']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect()
}

fn seat_types(f: &Fields) -> Result<Vec<SeatTypeDef>, FormProblem> {
    let mut out: Vec<SeatTypeDef> = Vec::new();
    for i in 0..MAX_SEAT_TYPES {
        let field = |n: &str| format!("st{i}_{n}");
        let code = text(f, &field("code")).to_ascii_uppercase();
        let name = text(f, &field("name"));
        if code.is_empty() && name.is_empty() {
            continue;
        }
        if code.is_empty() || code.len() > 16 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FormProblem::BadSeatCode(code));
        }
        if out.iter().any(|s| s.code == code) {
            return Err(FormProblem::DuplicateSeatCode(code));
        }
        let rows = row_names(text(f, &field("rows")));
        let per_row = number(f, &field("per_row"))?;
        let count = number(f, &field("count"))?;
        let (per_row, count) = if rows.is_empty() { (0, count) } else { (per_row, 0) };
        let gate = Some(text(f, &field("gate")).to_ascii_uppercase()).filter(|g| !g.is_empty());
        if gate.as_ref().is_some_and(|g| g.len() > 8 || !g.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(FormProblem::BadGate(code));
        }
        let seat = SeatTypeDef {
            name: if name.is_empty() { code.clone() } else { name.to_string() },
            price: number(f, &field("price"))?,
            rows,
            seats_per_row: u32::try_from(per_row).map_err(|_| FormProblem::BadNumber(field("per_row")))?,
            count: u32::try_from(count).map_err(|_| FormProblem::BadNumber(field("count")))?,
            gate,
            code,
        };
        if seat.seat_codes().is_empty() {
            return Err(FormProblem::NoSeats(seat.code));
        }
        out.push(seat);
    }
    if out.is_empty() {
        return Err(FormProblem::NoSeatTypes);
    }
    Ok(out)
}

/// The event the form describes, for `id` of `organizer` (the page decides
/// both), in `currency`; checked by the catalog's rules.
pub fn event_def(f: &Fields, id: &str, organizer: &str, currency: &str) -> Result<(EventDef, Settings), FormProblem> {
    if !valid_id(id) {
        return Err(FormProblem::BadId);
    }
    let zone = required(f, "time_zone")?;
    let tz: Tz = zone.parse().map_err(|_| FormProblem::BadZone(zone.clone()))?;
    let name = required(f, "name")?;
    let genre = required(f, "genre")?;
    let venue = required(f, "venue")?;
    let starts_at = time(f, "starts_at", tz)?;
    let doors_open = time(f, "doors_open", tz)?;
    let sale_start = time(f, "sale_start", tz)?;
    let sale_end = time(f, "sale_end", tz)?;
    let admission_opens = optional_time(f, "admission_opens", tz)?;
    let admission_closes = optional_time(f, "admission_closes", tz)?;
    if doors_open > starts_at {
        return Err(FormProblem::DoorsAfterStart);
    }
    if sale_end <= sale_start {
        return Err(FormProblem::SaleEndsFirst);
    }
    let opens = admission_opens.unwrap_or(doors_open);
    let closes = admission_closes.unwrap_or(starts_at + chrono::TimeDelta::hours(4));
    if closes <= opens {
        return Err(FormProblem::AdmissionClosesFirst);
    }
    let def = EventDef {
        id: id.to_string(),
        organizer: organizer.to_string(),
        genre,
        name,
        description: text(f, "description").to_string(),
        region: text(f, "region").to_string(),
        venue,
        starts_at,
        doors_open,
        curtain: starts_at,
        sale_start,
        sale_end,
        admission_opens,
        admission_closes,
        cancellable_days: number(f, "cancellable_days")?,
        contact: text(f, "contact").to_string(),
        currency: currency.to_string(),
        time_zone: Some(tz.name().to_string()),
        staff_pin_admission: None,
        reentry: Some(!text(f, "reentry").is_empty()),
        // Not on the back office's form: kept as the catalog set it.
        call_order: None,
        offer_minutes: Some(offer_minutes(f)?),
        seat_types: seat_types(f)?,
    };
    let checked = CatalogFile { organizers: vec![], events: vec![def] };
    checked.validate().map_err(|e| FormProblem::Catalog(e.to_string()))?;
    let settings = Settings { phone_limit: number(f, "phone_limit")? };
    let def = checked.events.into_iter().next().ok_or(FormProblem::NoSeatTypes)?;
    Ok((def, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        let mut f: Fields = [
            ("name", "Late Set"),
            ("genre", "Jazz"),
            ("venue", "Blue Note"),
            ("time_zone", "Asia/Tokyo"),
            ("starts_at", "2027-03-14T19:00"),
            ("doors_open", "2027-03-14T18:30"),
            ("sale_start", "2027-01-10T10:00"),
            ("sale_end", "2027-03-14T18:00"),
            ("st0_code", "s"),
            ("st0_name", "S seats"),
            ("st0_price", "9800"),
            ("st0_rows", "A, B"),
            ("st0_per_row", "5"),
            ("st1_code", "GA"),
            ("st1_price", "5000"),
            ("st1_count", "30"),
            ("st1_gate", "e"),
            ("phone_limit", "4"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            f.insert(k.to_string(), v.to_string());
        }
        f
    }

    #[test]
    fn a_form_makes_the_event_a_catalog_would() {
        let (e, settings) = event_def(&form(&[]), "late-set", "jazz-club", "JPY").unwrap();
        assert_eq!(e.starts_at.to_rfc3339(), "2027-03-14T19:00:00+09:00");
        assert_eq!(e.curtain, e.starts_at);
        assert_eq!(e.time_zone.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(e.seat_types.len(), 2);
        assert_eq!(e.seat_types[0].code, "S");
        assert_eq!(e.seat_types[0].seat_codes().len(), 10);
        assert_eq!(e.seat_types[1].name, "GA");
        assert_eq!(e.seat_types[1].gate.as_deref(), Some("E"));
        assert_eq!(settings.phone_limit, 4);
        assert_eq!(e.reentry, Some(false));
        assert_eq!(e.offer_minutes, Some(30), "the default offer window");
        let (e, _) = event_def(&form(&[("offer_minutes", " 10 ")]), "late-set", "jazz-club", "JPY").unwrap();
        assert_eq!(e.offer_minutes, Some(10));
    }

    #[test]
    fn a_time_is_read_on_the_chosen_zones_clock() {
        let f = form(&[("time_zone", "Europe/London"), ("starts_at", "2027-07-14T19:00")]);
        let (e, _) = event_def(&f, "x", "o", "GBP").unwrap();
        assert_eq!(e.starts_at.to_rfc3339(), "2027-07-14T19:00:00+01:00", "BST in July");
        assert_eq!(e.sale_start.to_rfc3339(), "2027-01-10T10:00:00+00:00", "GMT in January");
    }

    #[test]
    fn a_time_that_does_not_exist_in_the_zone_is_refused() {
        // Clocks in New York go from 02:00 to 03:00 on 14 March 2027.
        let f = form(&[("time_zone", "America/New_York"), ("doors_open", "2027-03-14T02:30")]);
        let e = event_def(&f, "x", "o", "USD").unwrap_err();
        assert_eq!(e, FormProblem::NoSuchTime("doors_open", "2027-03-14 02:30".into(), "America/New_York".into()));
        assert_eq!(e.message().0, "admin-ev-no-such-time");
    }

    #[test]
    fn bad_input_names_what_is_wrong() {
        let cases: Vec<(Vec<(&str, &str)>, FormProblem)> = vec![
            (vec![("name", " ")], FormProblem::Missing("name")),
            (vec![("starts_at", "14/03/2027")], FormProblem::BadTime("starts_at", "14/03/2027".into())),
            (vec![("time_zone", "Tokyo")], FormProblem::BadZone("Tokyo".into())),
            (vec![("doors_open", "2027-03-14T19:30")], FormProblem::DoorsAfterStart),
            (vec![("sale_end", "2027-01-01T10:00")], FormProblem::SaleEndsFirst),
            (vec![("st1_count", "-3")], FormProblem::BadNumber("st1_count".into())),
            (vec![("st1_count", "0")], FormProblem::NoSeats("GA".into())),
            (vec![("st1_code", "S")], FormProblem::DuplicateSeatCode("S".into())),
            (vec![("st1_code", "G A")], FormProblem::BadSeatCode("G A".into())),
            (vec![("st1_gate", "East gate")], FormProblem::BadGate("GA".into())),
            (vec![("st0_code", ""), ("st0_name", ""), ("st1_code", ""), ("st1_name", "")], FormProblem::NoSeatTypes),
            (vec![("admission_closes", "2027-03-14T18:00")], FormProblem::AdmissionClosesFirst),
            (vec![("offer_minutes", "0")], FormProblem::BadOfferMinutes("0".into())),
            (vec![("offer_minutes", "2000")], FormProblem::BadOfferMinutes("2000".into())),
            (vec![("offer_minutes", "abc")], FormProblem::BadOfferMinutes("abc".into())),
        ];
        for (pairs, want) in cases {
            assert_eq!(event_def(&form(&pairs), "x", "o", "JPY").unwrap_err(), want, "{pairs:?}");
        }
        assert_eq!(event_def(&form(&[]), "Bad Id", "o", "JPY").unwrap_err(), FormProblem::BadId);
    }

    #[test]
    fn ids_and_rows() {
        assert!(valid_id("spring-gala-2027") && !valid_id("") && !valid_id("-x") && !valid_id("a/b"));
        assert_eq!(row_names("A, B C、D"), ["A", "B", "C", "D"]);
        let tz: Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(local_input(0, tz), "1970-01-01T09:00");
    }
}
