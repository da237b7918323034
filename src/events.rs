//! Event catalog files: organizers, events and their seats, loaded with
//! `dialticket events load FILE` (see `events/demo.toml`).
//!
//! Loading is an upsert: event details are replaced, seats are only added,
//! so reloading a file never puts a sold seat back on sale.
//!
//! An event's times are absolute (RFC 3339, `2027-03-14T19:00:00+09:00`) or
//! relative to the day the catalog is loaded ([`CatalogTime`],
//! `today+100d 19:00 +09:00`): a demo or test catalog written that way is
//! current whenever it is loaded. A file is read as a [`CatalogSource`] and its
//! times fixed at the moment of loading ([`CatalogFile::parse`]).

use std::path::Path;

use chrono::{DateTime, FixedOffset, Offset, Utc};

use crate::i18n::{Style, Zone};
use serde::{Deserialize, Serialize};

pub mod form;
mod time;

pub use time::{CatalogTime, CatalogTimeError};

/// A catalog with its times fixed (`T` = `DateTime<FixedOffset>`, what the store
/// loads), or as written in the file (`T` = [`CatalogTime`]: [`CatalogSource`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile<T = DateTime<FixedOffset>> {
    #[serde(default)]
    pub organizers: Vec<OrganizerDef>,
    #[serde(default = "Vec::new")]
    pub events: Vec<EventDef<T>>,
}

/// A catalog as written: its times absolute or relative to the load.
pub type CatalogSource = CatalogFile<CatalogTime>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizerDef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub representative: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Sets the organizer's password (stored only as an Argon2id hash) for
    /// their own sales and billing views. Omit it to keep the current one.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDef<T = DateTime<FixedOffset>> {
    pub id: String,
    pub organizer: String,
    pub genre: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub region: String,
    pub venue: String,
    pub starts_at: T,
    pub doors_open: T,
    pub curtain: T,
    pub sale_start: T,
    pub sale_end: T,
    /// Defaults to `doors_open`.
    #[serde(default = "none")]
    pub admission_opens: Option<T>,
    /// Defaults to four hours after `starts_at`.
    #[serde(default = "none")]
    pub admission_closes: Option<T>,
    /// Purchases can be cancelled until this many days before `starts_at`.
    #[serde(default)]
    pub cancellable_days: i64,
    #[serde(default)]
    pub contact: String,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The venue's IANA time zone (`Asia/Tokyo`): every time a page or mail shows
    /// is on this clock, labelled (JST). Unset: the offset the times are written
    /// with (labelled `GMT+9`); left as it is when a reload does not say.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Staff may admit with the event's staff PIN on the holder's phone (the
    /// admission page's form): an opt-in fallback for a venue without the staff
    /// app. Off for a new event; left as it is when a reload does not say.
    #[serde(default)]
    pub staff_pin_admission: Option<bool>,
    /// Exit and re-entry: staff may scan a holder out (check-out) and in again.
    /// Single entry (false) for a new event; left as it is when a reload does not say.
    #[serde(default)]
    pub reentry: Option<bool>,
    /// Sold in call order: a purchase call from a proven number to the event's
    /// own number (a dialplan rule with `event`) takes a place in the event's
    /// line at once, and seats are held for places in the order people called
    /// (see [`crate::waitlist`]). Off for a new event; left as it is when a
    /// reload does not say.
    #[serde(default)]
    pub call_order: Option<bool>,
    /// How long seats offered to a place in the event's line are held for it,
    /// in minutes (5 to 1440; [`crate::waitlist::DEFAULT_OFFER_MINUTES`] for a
    /// new event); left as it is when a reload does not say.
    #[serde(default)]
    pub offer_minutes: Option<i64>,
    pub seat_types: Vec<SeatTypeDef>,
}

fn default_currency() -> String {
    "JPY".into()
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatTypeDef {
    pub code: String,
    pub name: String,
    pub price: i64,
    /// Reserved seating: row names, each with `seats_per_row` seats (`A-1`, `A-2`, …).
    #[serde(default)]
    pub rows: Vec<String>,
    #[serde(default)]
    pub seats_per_row: u32,
    /// General admission: this many places (`GA-1`, …).
    #[serde(default)]
    pub count: u32,
    /// The gate these seats enter by (`"B"`, `"2"`, `"EAST"`): shown on the ticket and
    /// admission pages and read aloud by the usage call, one character at a time.
    #[serde(default)]
    pub gate: Option<String>,
}

impl SeatTypeDef {
    pub fn seat_codes(&self) -> Vec<String> {
        let mut v = Vec::new();
        for r in &self.rows {
            for n in 1..=self.seats_per_row {
                v.push(format!("{r}-{n}"));
            }
        }
        for n in 1..=self.count {
            v.push(format!("{}-{n}", self.code));
        }
        v
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}: {1}")]
    Read(String, String),
    #[error("{0}: {1}")]
    Parse(String, String),
    #[error("event '{0}': {1}")]
    Invalid(String, String),
}

impl CatalogFile {
    /// Read and check the catalog at `path`, its relative times fixed now.
    pub fn load(path: &Path) -> Result<CatalogFile, CatalogError> {
        Self::load_at(path, Utc::now())
    }

    /// Read and check the catalog at `path` as if loaded at `loaded`.
    pub fn load_at(path: &Path, loaded: DateTime<Utc>) -> Result<CatalogFile, CatalogError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Read(shown.clone(), e.to_string()))?;
        Self::parse_named(&shown, &text, loaded)
    }

    /// Parse and check a catalog (TOML text, e.g. posted to `/admin/catalog`),
    /// its relative times fixed as loaded at `loaded`.
    pub fn parse(text: &str, loaded: DateTime<Utc>) -> Result<CatalogFile, CatalogError> {
        Self::parse_named("catalog", text, loaded)
    }

    fn parse_named(source: &str, text: &str, loaded: DateTime<Utc>) -> Result<CatalogFile, CatalogError> {
        let written: CatalogSource =
            toml::from_str(text).map_err(|e| CatalogError::Parse(source.to_string(), e.to_string()))?;
        let file = written.at(loaded)?;
        file.validate()?;
        Ok(file)
    }

    pub fn validate(&self) -> Result<(), CatalogError> {
        for e in &self.events {
            let bad = |m: &str| Err(CatalogError::Invalid(e.id.clone(), m.to_string()));
            if e.sale_end <= e.sale_start {
                return bad("sale_end must be after sale_start");
            }
            if e.seat_types.is_empty() {
                return bad("needs at least one [[events.seat_types]]");
            }
            if let Some(m) = e.offer_minutes.filter(|m| !crate::waitlist::OFFER_MINUTES.contains(m)) {
                let (min, max) = crate::waitlist::OFFER_MINUTES.into_inner();
                return bad(&format!("offer_minutes {m} must be from {min} to {max}"));
            }
            for s in &e.seat_types {
                if s.seat_codes().is_empty() {
                    return bad(&format!("seat type '{}' has no seats (give rows + seats_per_row, or count)", s.code));
                }
                if s.price < 0 {
                    return bad(&format!("seat type '{}' has a negative price", s.code));
                }
                if let Some(gate) = &s.gate {
                    // Spoken one character at a time from recorded parts: letters and digits only.
                    if gate.is_empty() || gate.len() > 8 || !gate.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        return bad(&format!(
                            "seat type '{}': gate '{gate}' must be 1 to 8 letters or digits (A-Z, 0-9)",
                            s.code
                        ));
                    }
                }
            }
            if let Some(name) = &e.time_zone {
                let Ok(tz) = name.parse::<chrono_tz::Tz>() else {
                    return bad(&format!("time_zone '{name}' is not an IANA time zone (e.g. Asia/Tokyo)"));
                };
                // A time written with another offset than the venue's clock has then is
                // a typo that would show the wrong hour to every buyer.
                for (field, t) in [("starts_at", e.starts_at), ("doors_open", e.doors_open), ("curtain", e.curtain)] {
                    let venue = t.with_timezone(&tz).offset().fix();
                    if venue != *t.offset() {
                        return bad(&format!(
                            "{field} is written with offset {} but {name} is at {venue} then",
                            t.offset()
                        ));
                    }
                }
            }
            if !self.organizers.iter().any(|o| o.id == e.organizer) {
                // The organizer may already be in the database; the store checks that.
            }
        }
        Ok(())
    }
}

impl CatalogSource {
    /// The catalog with every time fixed as loaded at `loaded`.
    pub fn at(self, loaded: DateTime<Utc>) -> Result<CatalogFile, CatalogError> {
        let events = self.events.into_iter().map(|e| e.at(loaded)).collect::<Result<_, _>>()?;
        Ok(CatalogFile { organizers: self.organizers, events })
    }
}

impl EventDef<CatalogTime> {
    fn at(self, loaded: DateTime<Utc>) -> Result<EventDef, CatalogError> {
        let id = self.id.clone();
        let fix = |field: &str, t: CatalogTime| {
            t.at(loaded).map_err(|e| CatalogError::Invalid(id.clone(), format!("{field}: {e}")))
        };
        let fix_opt = |field: &str, t: Option<CatalogTime>| t.map(|t| fix(field, t)).transpose();
        Ok(EventDef {
            starts_at: fix("starts_at", self.starts_at)?,
            doors_open: fix("doors_open", self.doors_open)?,
            curtain: fix("curtain", self.curtain)?,
            sale_start: fix("sale_start", self.sale_start)?,
            sale_end: fix("sale_end", self.sale_end)?,
            admission_opens: fix_opt("admission_opens", self.admission_opens)?,
            admission_closes: fix_opt("admission_closes", self.admission_closes)?,
            id: self.id,
            organizer: self.organizer,
            genre: self.genre,
            name: self.name,
            description: self.description,
            region: self.region,
            venue: self.venue,
            cancellable_days: self.cancellable_days,
            contact: self.contact,
            currency: self.currency,
            time_zone: self.time_zone,
            staff_pin_admission: self.staff_pin_admission,
            reentry: self.reentry,
            call_order: self.call_order,
            offer_minutes: self.offer_minutes,
            seat_types: self.seat_types,
        })
    }
}

/// An event as pages and mails show it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub id: String,
    pub organizer: String,
    pub genre: String,
    pub name: String,
    pub description: String,
    pub region: String,
    pub venue: String,
    pub starts_at: String,
    pub doors_open: String,
    pub curtain: String,
    pub sale_start: i64,
    pub sale_end: i64,
    pub admission_opens: i64,
    pub admission_closes: i64,
    pub cancellable_days: i64,
    pub contact: String,
    pub currency: String,
    /// IANA zone, or empty (see [`EventDef::time_zone`]).
    pub time_zone: String,
    pub seat_types: Vec<SeatTypeView>,
    /// Which staff PIN admits its tickets (see `Links::staff_pin`); not shown on pages.
    #[serde(skip)]
    pub staff_pin_epoch: i64,
    /// Whether staff may admit with the PIN on the holder's phone (see [`EventDef::staff_pin_admission`]).
    pub pin_admission: bool,
    /// Exit and re-entry allowed (see [`EventDef::reentry`]); false: single entry.
    pub reentry: bool,
    /// Sold in call order (see [`EventDef::call_order`]).
    pub call_order: bool,
    /// How long an offer to its line holds seats, in minutes (see [`EventDef::offer_minutes`]).
    pub offer_minutes: i64,
    /// Sales stopped in the back office: the shop takes no orders.
    pub sales_paused: bool,
    /// Listed in the shop; unpublished, buyers get a 404 for its page.
    pub published: bool,
    /// Tickets (paid and held) per holder phone; 0 for no limit.
    pub phone_limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeatTypeView {
    pub code: String,
    pub name: String,
    pub price: i64,
    pub available: i64,
    /// The gate its seats enter by (see [`SeatTypeDef::gate`]).
    pub gate: Option<String>,
}

impl EventView {
    pub fn on_sale(&self, now: i64) -> bool {
        self.sale_start <= now && now < self.sale_end && !self.sales_paused
    }

    /// The gate the seats of `seat_type` enter by, if the catalog names one.
    pub fn gate_of(&self, seat_type: &str) -> Option<&str> {
        self.seat_types.iter().find(|s| s.code == seat_type).and_then(|s| s.gate.as_deref())
    }

    /// The venue's clock: its IANA zone, else the offset its start time is
    /// written with (the catalog's times are the venue's local time).
    pub fn zone(&self) -> Zone {
        let offset = DateTime::parse_from_rfc3339(&self.starts_at).map(|d| *d.offset()).unwrap_or_else(|_| Utc.fix());
        Zone::named_or(&self.time_zone, offset)
    }

    /// `at` on the venue's clock in `lang`, labelled: `2027年3月14日(日) 19:00 JST`.
    pub fn when(&self, lang: &str, at: i64, style: Style) -> String {
        crate::i18n::when(lang, self.zone(), at, style)
    }

    /// When it starts, in `lang`: "Sun 14 Mar 2027, 19:00 JST".
    pub fn starts(&self, lang: &str) -> String {
        self.when(lang, rfc3339_secs(&self.starts_at), Style::DateTime)
    }

    /// When doors open, in `lang`: "18:00 JST".
    pub fn doors(&self, lang: &str) -> String {
        self.when(lang, rfc3339_secs(&self.doors_open), Style::Time)
    }

    /// A moment at the door (an admission), to the second: `2027年3月14日(日) 19:02:11 JST`.
    pub fn venue_time(&self, lang: &str, at: i64) -> String {
        self.when(lang, at, Style::DateTimeSecs)
    }

    /// "¥9,800" for yen, "12.50 GBP"-style minor units otherwise.
    pub fn price_display(&self, amount: i64) -> String {
        crate::i18n::format::money(&self.currency, amount)
    }
}

fn rfc3339_secs(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).map(|d| d.timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn event<'a>(f: &'a CatalogFile, id: &str) -> &'a EventDef {
        f.events.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("{id} in the catalog"))
    }

    /// The demo catalog is current whenever it is loaded: today, in two years, in 2040.
    #[test]
    fn demo_catalog_is_current_whenever_it_is_loaded() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/events/demo.toml"));
        assert!(CatalogFile::load(path).is_ok());
        for loaded in [Utc::now(), Utc::now() + TimeDelta::days(2 * 365), utc("2040-02-29T23:30:00Z")] {
            let f = CatalogFile::load_at(path, loaded).unwrap();
            assert!(f.events.iter().all(|e| e.seat_types.iter().all(|s| !s.seat_codes().is_empty())));
            let days_from_load = |t: DateTime<FixedOffset>| (t.with_timezone(&Utc) - loaded).num_days();

            // On sale, about a hundred days ahead, still cancellable for months.
            let gala = event(&f, "spring-gala-2027");
            assert!(gala.sale_start.with_timezone(&Utc) < loaded && loaded < gala.sale_end.with_timezone(&Utc));
            assert!((99..=100).contains(&days_from_load(gala.starts_at)), "{loaded}: {}", gala.starts_at);
            assert!(days_from_load(gala.starts_at) - gala.cancellable_days > 90);

            // On sale and open for admission from long before to long after; started, so not cancellable.
            let rehearsal = event(&f, "open-rehearsal");
            let windows = [
                (rehearsal.sale_start, rehearsal.sale_end),
                (rehearsal.admission_opens.unwrap(), rehearsal.admission_closes.unwrap()),
            ];
            for (opens, closes) in windows {
                assert!(days_from_load(opens) <= -364 && days_from_load(closes) >= 3649, "{loaded}: {opens}..{closes}");
            }
            assert!(rehearsal.starts_at.with_timezone(&Utc) < loaded);
        }
    }

    const RELATIVE: &str = r#"
[[events]]
id = "late-set"
organizer = "jazz-club"
genre = "Jazz"
name = "Late Set"
venue = "Blue Note, Tokyo"
starts_at = "today+30d 21:00 +09:00"
doors_open = "today+30d 20:30 +09:00"
curtain = "2027-06-01T21:00:00+09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+30d 20:00 +09:00"
admission_closes = "today+30d 23:00 +09:00"

[[events.seat_types]]
code = "T"
name = "Table"
price = 7000
count = 20
"#;

    #[test]
    fn a_catalog_is_fixed_at_the_time_it_is_loaded() {
        let times = |loaded: &str| {
            let f = CatalogFile::parse(RELATIVE, utc(loaded)).unwrap();
            let e = &f.events[0];
            [Some(e.starts_at), Some(e.doors_open), Some(e.curtain), Some(e.sale_start), Some(e.sale_end)]
                .into_iter()
                .chain([e.admission_opens, e.admission_closes])
                .map(|t| t.map(|t| t.to_rfc3339()).unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            times("2026-12-06T01:00:00Z"),
            [
                "2027-01-05T21:00:00+09:00",
                "2027-01-05T20:30:00+09:00",
                "2027-06-01T21:00:00+09:00",
                "2026-12-05T00:00:00+09:00",
                "2027-01-05T20:00:00+09:00",
                "",
                "2027-01-05T23:00:00+09:00"
            ]
        );
        assert_eq!(
            times("2028-12-05T01:00:00Z"),
            [
                "2029-01-04T21:00:00+09:00",
                "2029-01-04T20:30:00+09:00",
                "2027-06-01T21:00:00+09:00",
                "2028-12-04T00:00:00+09:00",
                "2029-01-04T20:00:00+09:00",
                "",
                "2029-01-04T23:00:00+09:00"
            ]
        );
    }

    #[test]
    fn an_offer_window_is_the_organizers_within_five_minutes_and_a_day() {
        let with = |line: &str| {
            let text = RELATIVE.replace("admission_closes = ", &format!("{line}\nadmission_closes = "));
            CatalogFile::parse(&text, utc("2026-12-06T01:00:00Z"))
        };
        assert_eq!(CatalogFile::parse(RELATIVE, utc("2026-12-06T01:00:00Z")).unwrap().events[0].offer_minutes, None);
        assert_eq!(with("offer_minutes = 10").unwrap().events[0].offer_minutes, Some(10));
        for bad in ["offer_minutes = 0", "offer_minutes = 2000"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("offer_minutes") && e.contains("late-set"), "{bad}: {e}");
        }
        assert!(with("offer_minutes = \"abc\"").is_err());
    }

    #[test]
    fn a_bad_time_names_its_place() {
        let bad = RELATIVE.replace("today+30d 20:00 +09:00", "today+30 20:00 +09:00");
        let e = CatalogFile::parse(&bad, Utc::now()).unwrap_err().to_string();
        assert!(e.starts_with("catalog: ") && e.contains("line 12") && e.contains("+N d or -N d"), "{e}");
        // Fixed at loading, the sale must still end after it starts.
        let reversed = RELATIVE.replace("today-1d 00:00 +09:00", "today+31d 00:00 +09:00");
        let e = CatalogFile::parse(&reversed, Utc::now()).unwrap_err().to_string();
        assert_eq!(e, "event 'late-set': sale_end must be after sale_start");
    }

    #[test]
    fn seat_codes() {
        let s = SeatTypeDef {
            code: "S".into(),
            name: "S".into(),
            price: 1,
            rows: vec!["A".into(), "B".into()],
            seats_per_row: 2,
            count: 0,
            gate: None,
        };
        assert_eq!(s.seat_codes(), vec!["A-1", "A-2", "B-1", "B-2"]);
        let g = SeatTypeDef {
            code: "GA".into(),
            name: "GA".into(),
            price: 1,
            rows: vec![],
            seats_per_row: 0,
            count: 2,
            gate: Some("B".into()),
        };
        assert_eq!(g.seat_codes(), vec!["GA-1", "GA-2"]);
    }

    #[test]
    fn times_show_on_the_venue_clock_labelled() {
        let mut e = EventView {
            id: "gala".into(),
            organizer: "o".into(),
            genre: "g".into(),
            name: "Gala".into(),
            description: String::new(),
            region: String::new(),
            venue: "Hall".into(),
            starts_at: "2027-03-14T19:00:00+09:00".into(),
            doors_open: String::new(),
            curtain: String::new(),
            sale_start: 0,
            sale_end: 0,
            admission_opens: 0,
            admission_closes: 0,
            cancellable_days: 0,
            contact: String::new(),
            currency: "JPY".into(),
            time_zone: String::new(),
            seat_types: Vec::new(),
            staff_pin_epoch: 0,
            pin_admission: false,
            reentry: false,
            call_order: false,
            offer_minutes: 30,
            sales_paused: false,
            published: true,
            phone_limit: 0,
        };
        // No zone recorded: the offset the start is written with, never "UTC".
        assert_eq!(e.venue_time("en", 0), "Thu 1 Jan 1970, 09:00:00 GMT+9");
        assert_eq!(e.starts("ja"), "2027年3月14日(日) 19:00 GMT+9");
        e.time_zone = "Asia/Tokyo".into();
        assert_eq!(e.starts("ja"), "2027年3月14日(日) 19:00 JST");
        assert_eq!(e.venue_time("ja", 0), "1970年1月1日(木) 09:00:00 JST");
        e.starts_at = "not a time".into();
        e.time_zone = String::new();
        assert_eq!(e.venue_time("en", 0), "Thu 1 Jan 1970, 00:00:00 GMT");
    }

    #[test]
    fn a_time_zone_must_be_real_and_agree_with_the_times() {
        let catalog = |zone: &str, offset: &str| {
            format!(
                r#"[[events]]
id = "gala"
organizer = "o"
genre = "Music"
name = "Gala"
venue = "Hall"
time_zone = "{zone}"
starts_at = "2027-07-14T19:00:00{offset}"
doors_open = "2027-07-14T18:00:00{offset}"
curtain = "2027-07-14T21:00:00{offset}"
sale_start = "2027-01-01T10:00:00{offset}"
sale_end = "2027-07-14T18:00:00{offset}"
[[events.seat_types]]
code = "GA"
name = "General"
price = 1000
count = 10
"#
            )
        };
        let loaded = utc("2027-01-01T00:00:00Z");
        assert!(CatalogFile::parse(&catalog("Asia/Tokyo", "+09:00"), loaded).is_ok());
        assert!(CatalogFile::parse(&catalog("Europe/London", "+01:00"), loaded).is_ok(), "BST in July");
        let e = CatalogFile::parse(&catalog("Europe/London", "+00:00"), loaded).unwrap_err().to_string();
        assert!(e.contains("starts_at is written with offset +00:00 but Europe/London is at +01:00"), "{e}");
        let e = CatalogFile::parse(&catalog("Tokyo", "+09:00"), loaded).unwrap_err().to_string();
        assert!(e.contains("not an IANA time zone"), "{e}");
    }

    #[test]
    fn a_gate_is_letters_and_digits_a_caller_can_hear_spelt() {
        let catalog = |gate: &str| {
            format!(
                r#"[[events]]
id = "gala"
organizer = "o"
genre = "Music"
name = "Gala"
venue = "Hall"
starts_at = "2027-07-14T19:00:00+09:00"
doors_open = "2027-07-14T18:00:00+09:00"
curtain = "2027-07-14T21:00:00+09:00"
sale_start = "2027-01-01T10:00:00+09:00"
sale_end = "2027-07-14T18:00:00+09:00"
[[events.seat_types]]
code = "GA"
name = "General"
price = 1000
count = 10
gate = "{gate}"
"#
            )
        };
        let loaded = utc("2027-01-01T00:00:00Z");
        let f = CatalogFile::parse(&catalog("B2"), loaded).unwrap();
        assert_eq!(f.events[0].seat_types[0].gate.as_deref(), Some("B2"));
        for bad in ["", "East gate", "ゲート", "B-2", "ABCDEFGHI"] {
            let e = CatalogFile::parse(&catalog(bad), loaded).unwrap_err().to_string();
            assert!(e.contains("must be 1 to 8 letters or digits"), "{bad:?}: {e}");
        }
    }
}
