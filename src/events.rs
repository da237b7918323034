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
mod tests;
