//! Business hours: when a number is open, in the time zone of the people who
//! staff it (a box office in Tokyo keeps Tokyo hours wherever the gateway runs).
//!
//! ```toml
//! [[hours]]
//! name = "box-office"
//! time_zone = "Asia/Tokyo"
//! open = ["mon-fri 10:00-18:00", "sat 10:00-14:00", "fri 22:00-02:00"]
//! closed = ["2026-12-31", "2027-01-01"]
//! ```
//!
//! A range that ends before it starts runs past midnight into the next day.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use super::Location;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// A named set of opening hours.
#[derive(Debug, Clone, Serialize)]
pub struct Hours {
    pub name: String,
    #[serde(serialize_with = "tz_name")]
    pub time_zone: Tz,
    pub open: Vec<OpenRange>,
    /// Whole days closed (holidays), in the hours' time zone.
    pub closed: Vec<NaiveDate>,
    pub defined_at: Location,
}

fn tz_name<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// One line of `open`, e.g. `mon-fri 09:00-18:00`.
#[derive(Debug, Clone)]
pub struct OpenRange {
    text: String,
    /// Monday first.
    days: [bool; 7],
    /// Minutes since midnight; `end` may be 1440 (24:00).
    start: u16,
    end: u16,
}

impl Serialize for OpenRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl OpenRange {
    pub fn parse(text: &str) -> Result<OpenRange, String> {
        let hint = "write DAYS HH:MM-HH:MM, e.g. \"mon-fri 09:00-18:00\" or \"sat,sun 10:00-14:00\"";
        let mut words = text.split_whitespace();
        let (Some(days), Some(times), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("'{text}': {hint}"));
        };
        let (start, end) = times.split_once('-').ok_or_else(|| format!("'{times}': {hint}"))?;
        let (start, end) = (minutes(start)?, minutes(end)?);
        if start == end {
            return Err(format!("'{times}' is empty: an opening range must not start and end at the same time"));
        }
        if start == 24 * 60 {
            return Err(format!("'{times}' starts at 24:00: start at 00:00 of the next day"));
        }
        Ok(OpenRange { text: text.to_string(), days: day_set(days)?, start, end })
    }

    /// Open at `minute` of a day whose weekday is `day` (Monday = 0)?
    fn open_at(&self, day: usize, minute: u16) -> bool {
        let yesterday = (day + 6) % 7;
        if self.start < self.end {
            self.days[day] && (self.start..self.end).contains(&minute)
        } else {
            // Past midnight: the evening part belongs to `day`, the early part to the day before.
            (self.days[day] && minute >= self.start) || (self.days[yesterday] && minute < self.end)
        }
    }
}

fn minutes(hhmm: &str) -> Result<u16, String> {
    let bad = || format!("'{hhmm}' is not a time of day (HH:MM, 00:00 to 24:00)");
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) || hhmm.len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn day_set(spec: &str) -> Result<[bool; 7], String> {
    let mut set = [false; 7];
    if spec.eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    let day = |d: &str| {
        let d = d.to_ascii_lowercase();
        (0..7).find(|&i| d == DAYS[i] || d == DAY_NAMES[i]).ok_or_else(|| {
            format!("'{d}' is not a day: use mon tue wed thu fri sat sun, ranges like mon-fri, or daily")
        })
    };
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                // fri-mon wraps over the weekend.
                let mut d = a;
                loop {
                    set[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => set[day(part)?] = true,
        }
    }
    Ok(set)
}

/// Whether a number is open at a given moment, and why, for the route trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursVerdict {
    pub open: bool,
    /// e.g. `Sat 2026-05-02 20:15 Asia/Tokyo`.
    pub local: String,
    /// The range that made it open, or why it is closed.
    pub why: String,
}

impl Hours {
    pub fn at(&self, at: DateTime<Utc>) -> HoursVerdict {
        let local = at.with_timezone(&self.time_zone);
        let shown = format!("{} {}", local.format("%a %Y-%m-%d %H:%M"), self.time_zone.name());
        let date = local.date_naive();
        if self.closed.contains(&date) {
            return HoursVerdict { open: false, local: shown, why: format!("closed all day {date}") };
        }
        let day = local.weekday().num_days_from_monday() as usize;
        let minute = (local.hour() * 60 + local.minute()) as u16;
        match self.open.iter().find(|r| r.open_at(day, minute)) {
            Some(r) => HoursVerdict { open: true, local: shown, why: format!("open: {}", r.text) },
            None => HoursVerdict { open: false, local: shown, why: "no opening range covers it".into() },
        }
    }
}

impl fmt::Display for HoursVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.local, self.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn hours(open: &[&str], closed: &[&str]) -> Hours {
        Hours {
            name: "h".into(),
            time_zone: "Asia/Tokyo".parse().unwrap(),
            open: open.iter().map(|o| OpenRange::parse(o).unwrap()).collect(),
            closed: closed.iter().map(|d| d.parse().unwrap()).collect(),
            defined_at: Location::whole_file(Path::new("t.toml")),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn opening_ranges_in_the_local_time_zone() {
        let h = hours(&["mon-fri 09:00-18:00", "sat 22:00-02:00"], &["2026-05-05"]);
        let cases = [
            ("2026-05-04T09:00:00+09:00", true),  // Monday opening
            ("2026-05-04T17:59:00+09:00", true),  // Monday just before closing
            ("2026-05-04T18:00:00+09:00", false), // Monday closing time
            ("2026-05-04T00:30:00Z", true),       // 09:30 in Tokyo
            ("2026-05-05T10:00:00+09:00", false), // holiday
            ("2026-05-09T23:00:00+09:00", true),  // Saturday late
            ("2026-05-10T01:59:00+09:00", true),  // past midnight into Sunday
            ("2026-05-10T02:00:00+09:00", false),
            ("2026-05-10T23:00:00+09:00", false), // Sunday night
        ];
        for (t, open) in cases {
            assert_eq!(h.at(at(t)).open, open, "{t}: {}", h.at(at(t)));
        }
        assert_eq!(
            h.at(at("2026-05-04T00:30:00Z")).to_string(),
            "Mon 2026-05-04 09:30 Asia/Tokyo, open: mon-fri 09:00-18:00"
        );
    }

    #[test]
    fn day_specs() {
        assert_eq!(day_set("fri-mon").unwrap(), [true, false, false, false, true, true, true]);
        assert_eq!(day_set("mon,wed").unwrap(), [true, false, true, false, false, false, false]);
        assert_eq!(day_set("daily").unwrap(), [true; 7]);
        assert!(day_set("mon-fry").unwrap_err().contains("'fry' is not a day"));
    }

    #[test]
    fn bad_ranges() {
        for (text, msg) in [
            ("mon-fri", "write DAYS"),
            ("mon-fri 9:00-18:00", "not a time of day"),
            ("mon-fri 09:00-18:60", "not a time of day"),
            ("mon 10:00-10:00", "is empty"),
            ("mon 24:00-02:00", "starts at 24:00"),
        ] {
            let e = OpenRange::parse(text).unwrap_err();
            assert!(e.contains(msg), "{text}: {e}");
        }
        assert!(OpenRange::parse("daily 00:00-24:00").is_ok());
    }
}
