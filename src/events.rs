//! Event catalog files: organizers, events and their seats, loaded with
//! `dialticket events load FILE` (see `events/demo.toml`).
//!
//! Loading is an upsert: event details are replaced, seats are only added,
//! so reloading a file never puts a sold seat back on sale.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub organizers: Vec<OrganizerDef>,
    #[serde(default)]
    pub events: Vec<EventDef>,
}

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
pub struct EventDef {
    pub id: String,
    pub organizer: String,
    pub genre: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub region: String,
    pub venue: String,
    pub starts_at: DateTime<FixedOffset>,
    pub doors_open: DateTime<FixedOffset>,
    pub curtain: DateTime<FixedOffset>,
    pub sale_start: DateTime<FixedOffset>,
    pub sale_end: DateTime<FixedOffset>,
    /// Defaults to `doors_open`.
    #[serde(default)]
    pub admission_opens: Option<DateTime<FixedOffset>>,
    /// Defaults to four hours after `starts_at`.
    #[serde(default)]
    pub admission_closes: Option<DateTime<FixedOffset>>,
    /// Purchases can be cancelled until this many days before `starts_at`.
    #[serde(default)]
    pub cancellable_days: i64,
    #[serde(default)]
    pub contact: String,
    #[serde(default = "default_currency")]
    pub currency: String,
    pub seat_types: Vec<SeatTypeDef>,
}

fn default_currency() -> String {
    "JPY".into()
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
    pub fn load(path: &Path) -> Result<CatalogFile, CatalogError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| CatalogError::Read(path.display().to_string(), e.to_string()))?;
        let file: CatalogFile =
            toml::from_str(&text).map_err(|e| CatalogError::Parse(path.display().to_string(), e.to_string()))?;
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
            for s in &e.seat_types {
                if s.seat_codes().is_empty() {
                    return bad(&format!("seat type '{}' has no seats (give rows + seats_per_row, or count)", s.code));
                }
                if s.price < 0 {
                    return bad(&format!("seat type '{}' has a negative price", s.code));
                }
            }
            if !self.organizers.iter().any(|o| o.id == e.organizer) {
                // The organizer may already be in the database; the store checks that.
            }
        }
        Ok(())
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
    pub seat_types: Vec<SeatTypeView>,
    /// Which staff PIN admits its tickets (see `Links::staff_pin`); not shown on pages.
    #[serde(skip)]
    pub staff_pin_epoch: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeatTypeView {
    pub code: String,
    pub name: String,
    pub price: i64,
    pub available: i64,
}

impl EventView {
    pub fn on_sale(&self, now: i64) -> bool {
        self.sale_start <= now && now < self.sale_end
    }

    /// "Sat 14 Mar 2027, 19:00" in the venue's own offset.
    pub fn starts_display(&self) -> String {
        DateTime::parse_from_rfc3339(&self.starts_at)
            .map(|d| d.format("%a %-d %b %Y, %H:%M").to_string())
            .unwrap_or_else(|_| self.starts_at.clone())
    }
}

impl EventView {
    /// "¥9,800" for yen, "12.50 GBP"-style minor units otherwise.
    pub fn price_display(&self, amount: i64) -> String {
        let grouped = |n: i64| {
            let s = n.abs().to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            if n < 0 {
                format!("-{out}")
            } else {
                out
            }
        };
        match self.currency.as_str() {
            "JPY" => format!("¥{}", grouped(amount)),
            c => format!("{}.{:02} {c}", grouped(amount / 100), (amount % 100).abs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_parses() {
        let f = CatalogFile::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/events/demo.toml"))).unwrap();
        assert!(!f.events.is_empty());
        assert!(f.events.iter().all(|e| e.seat_types.iter().all(|s| !s.seat_codes().is_empty())));
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
        };
        assert_eq!(s.seat_codes(), vec!["A-1", "A-2", "B-1", "B-2"]);
        let g =
            SeatTypeDef { code: "GA".into(), name: "GA".into(), price: 1, rows: vec![], seats_per_row: 0, count: 2 };
        assert_eq!(g.seat_codes(), vec!["GA-1", "GA-2"]);
    }
}
