//! Times in a catalog file: absolute, or relative to the day the catalog is loaded.
//!
//! ```toml
//! starts_at  = "2027-03-14T19:00:00+09:00"  # absolute: RFC 3339, as always
//! starts_at  = "today+100d 19:00 +09:00"    # 100 days after the day of loading, 19:00 at +09:00
//! sale_start = "today-30d 10:00 +09:00"     # 30 days before it
//! doors_open = "today 09:30 +09:00"         # the day of loading itself
//! ```
//!
//! `today` is the date at the given UTC offset (the venue's) at the moment the
//! catalog is loaded (`dialticket events load`, `serve --events`, `POST
//! /admin/catalog`); `+N d` / `-N d` move it by whole days (at most
//! [`MAX_DAYS`]); then the time of day (`HH:MM` or `HH:MM:SS`) and the offset
//! (`+09:00`, `-05:00`, `Z`). Loading fixes the time: the database holds the
//! absolute time, and loading the file again later moves the event along.
//! A demo or test catalog written this way is current whenever it is loaded.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveTime, TimeDelta, Utc};

/// How far from the day of loading a relative time may be (100 years).
pub const MAX_DAYS: i64 = 36_500;

/// A time as a catalog file gives it (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogTime {
    /// An absolute time (RFC 3339).
    At(DateTime<FixedOffset>),
    /// `days` after the day of loading at `offset`, at `time` of day there.
    Relative { days: i64, time: NaiveTime, offset: FixedOffset },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogTimeError {
    #[error(
        "'{0}' is not a time: write RFC 3339 (2027-03-14T19:00:00+09:00) or a day relative to the day \
         the catalog is loaded (today+100d 19:00 +09:00)"
    )]
    NotATime(String),
    #[error("'{0}': {1} (like today+100d 19:00 +09:00)")]
    Relative(String, &'static str),
    #[error("'{0}' is out of range")]
    OutOfRange(String),
}

impl CatalogTime {
    /// The absolute time, for a catalog loaded at `loaded`.
    pub fn at(&self, loaded: DateTime<Utc>) -> Result<DateTime<FixedOffset>, CatalogTimeError> {
        match *self {
            CatalogTime::At(t) => Ok(t),
            CatalogTime::Relative { days, time, offset } => {
                let out_of_range = || CatalogTimeError::OutOfRange(self.to_string());
                let today = loaded.with_timezone(&offset).date_naive();
                let day =
                    TimeDelta::try_days(days).and_then(|d| today.checked_add_signed(d)).ok_or_else(out_of_range)?;
                day.and_time(time).and_local_timezone(offset).single().ok_or_else(out_of_range)
            }
        }
    }
}

impl FromStr for CatalogTime {
    type Err = CatalogTimeError;

    fn from_str(s: &str) -> Result<CatalogTime, CatalogTimeError> {
        let text = s.trim();
        let Some(rest) = text.get(..5).filter(|w| w.eq_ignore_ascii_case("today")).map(|_| &text[5..]) else {
            return DateTime::parse_from_rfc3339(text)
                .map(CatalogTime::At)
                .map_err(|_| CatalogTimeError::NotATime(s.to_string()));
        };
        let bad = |why: &'static str| CatalogTimeError::Relative(s.to_string(), why);
        let signed = rest.trim_start();
        let (days, rest) =
            match signed.strip_prefix('+').map(|r| (1, r)).or_else(|| signed.strip_prefix('-').map(|r| (-1, r))) {
                Some((sign, r)) => {
                    let r = r.trim_start();
                    let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    let after = &r[digits..];
                    let n: i64 = r[..digits].parse().map_err(|_| bad("the days are written +N d or -N d"))?;
                    let Some(after) = after.strip_prefix('d') else {
                        return Err(bad("the days are written +N d or -N d"));
                    };
                    if n > MAX_DAYS {
                        return Err(bad("at most 36500 days from the day of loading"));
                    }
                    (sign * n, after)
                }
                None => (0, rest),
            };
        if rest.trim().is_empty() {
            return Err(bad("needs the time of day"));
        }
        if !rest.starts_with(char::is_whitespace) {
            return Err(bad("a space, then the time of day"));
        }
        let mut words = rest.split_whitespace();
        let time = words.next().ok_or_else(|| bad("needs the time of day"))?;
        let time = NaiveTime::parse_from_str(time, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
            .map_err(|_| bad("the time of day is HH:MM or HH:MM:SS"))?;
        let offset = words.next().ok_or_else(|| bad("needs the UTC offset after the time, +09:00 or Z"))?;
        let offset = parse_offset(offset).ok_or_else(|| bad("the UTC offset is +HH:MM, -HH:MM or Z"))?;
        if words.next().is_some() {
            return Err(bad("nothing may follow the UTC offset"));
        }
        Ok(CatalogTime::Relative { days, time, offset })
    }
}

/// `+09:00`, `-05:30` or `Z`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s.eq_ignore_ascii_case("z") {
        return FixedOffset::east_opt(0);
    }
    let (sign, hm) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = hm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

impl fmt::Display for CatalogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogTime::At(t) => write!(f, "{}", t.to_rfc3339()),
            CatalogTime::Relative { days, time, offset } => {
                write!(f, "today")?;
                if *days != 0 {
                    write!(f, "{days:+}d")?;
                }
                write!(f, " {} {offset}", time.format("%H:%M:%S"))
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for CatalogTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn at(written: &str, loaded: &str) -> String {
        written.parse::<CatalogTime>().unwrap().at(utc(loaded)).unwrap().to_rfc3339()
    }

    #[test]
    fn a_relative_time_follows_the_day_the_catalog_is_loaded() {
        let gala = "today+100d 19:00 +09:00";
        assert_eq!(at(gala, "2026-12-06T01:00:00Z"), "2027-03-16T19:00:00+09:00");
        assert_eq!(at(gala, "2028-12-05T01:00:00Z"), "2029-03-15T19:00:00+09:00");
        let sale = "today-30d 10:00 +09:00";
        assert_eq!(at(sale, "2026-12-06T01:00:00Z"), "2026-11-06T10:00:00+09:00");
        assert_eq!(at(sale, "2028-12-05T01:00:00Z"), "2028-11-05T10:00:00+09:00");
        // Seconds, no days, spaces around the sign, Z.
        assert_eq!(at("today 09:30:15 +09:00", "2026-12-06T01:00:00Z"), "2026-12-06T09:30:15+09:00");
        assert_eq!(at("Today + 2d 23:59 -05:00", "2026-12-06T01:00:00Z"), "2026-12-07T23:59:00-05:00");
        assert_eq!(at("today-1d 00:00 Z", "2026-12-06T01:00:00Z"), "2026-12-05T00:00:00+00:00");
    }

    #[test]
    fn today_is_the_date_at_the_venues_offset() {
        // 20:00 UTC on the 6th is already the 7th in Tokyo, still the 6th in New York.
        let loaded = "2026-12-06T20:00:00Z";
        assert_eq!(at("today 10:00 +09:00", loaded), "2026-12-07T10:00:00+09:00");
        assert_eq!(at("today 10:00 -05:00", loaded), "2026-12-06T10:00:00-05:00");
    }

    #[test]
    fn absolute_times_stay_where_they_are() {
        let t = "2027-03-14T19:00:00+09:00";
        assert_eq!(at(t, "2026-12-06T01:00:00Z"), t);
        assert_eq!(at(t, "2031-01-01T00:00:00Z"), t);
    }

    #[test]
    fn shown_as_written() {
        for s in ["today+100d 19:00:00 +09:00", "today-30d 10:00:00 -05:30", "today 00:00:00 +00:00"] {
            assert_eq!(s.parse::<CatalogTime>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn a_mistake_is_told_with_the_form_to_use() {
        let why = |s: &str| s.parse::<CatalogTime>().unwrap_err().to_string();
        assert!(why("tomorrow 10:00 +09:00").contains("write RFC 3339"));
        assert!(why("2027-03-14 19:00").contains("write RFC 3339"));
        for (s, says) in [
            ("today+100 19:00 +09:00", "+N d or -N d"),
            ("today+d 19:00 +09:00", "+N d or -N d"),
            ("today+100d", "needs the time of day"),
            ("today+100d19:00 +09:00", "a space, then the time"),
            ("todayish 19:00 +09:00", "a space, then the time"),
            ("today+100d 25:00 +09:00", "HH:MM or HH:MM:SS"),
            ("today+100d 19:00", "needs the UTC offset"),
            ("today+100d 19:00 JST", "+HH:MM, -HH:MM or Z"),
            ("today+100d 19:00 +9:00", "+HH:MM, -HH:MM or Z"),
            ("today+100d 19:00 +09:00 sharp", "nothing may follow"),
            ("today+36501d 19:00 +09:00", "at most 36500 days"),
            ("today+99999999999999999999d 19:00 +09:00", "+N d or -N d"),
        ] {
            assert!(why(s).contains(says), "{s}: {}", why(s));
        }
        assert!("today-36500d 00:00 +09:00".parse::<CatalogTime>().is_ok());
    }
}
