//! Times and amounts as people read them: on the venue's clock, labelled with its
//! zone (JST, BST…), in the reader's language. UTC is for machines; it never
//! reaches a buyer, holder or staff member.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// Where an event's times are shown: its IANA zone (catalog `time_zone`), or, for
/// an event loaded before zones were recorded, the fixed offset its times were
/// written with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Iana(Tz),
    Fixed(FixedOffset),
}

/// How much of a moment to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// 2027年3月14日(日) 19:00 JST · Sun 14 Mar 2027, 19:00 JST
    DateTime,
    /// 2027年3月14日(日) · Sun 14 Mar 2027
    Date,
    /// 19:00 JST
    Time,
    /// 19:02:11 JST (the door: when a seat was admitted)
    TimeSecs,
    /// 2027年3月14日(日) 19:02:11 JST
    DateTimeSecs,
}

impl Zone {
    /// `name` (IANA, e.g. `Asia/Tokyo`) if it is one, else `fallback`.
    pub fn named_or(name: &str, fallback: FixedOffset) -> Zone {
        match name.parse::<Tz>() {
            Ok(tz) if !name.is_empty() => Zone::Iana(tz),
            _ => Zone::Fixed(fallback),
        }
    }

    /// `at` (Unix seconds) on this clock, and the zone's label there.
    fn local(&self, at: i64) -> Option<(NaiveDateTime, String)> {
        let utc = DateTime::from_timestamp(at, 0)?;
        Some(match self {
            Zone::Iana(tz) => {
                let t = utc.with_timezone(tz);
                (t.naive_local(), t.format("%Z").to_string())
            }
            Zone::Fixed(off) => (utc.with_timezone(off).naive_local(), gmt_label(*off)),
        })
    }

    /// The zone's offset from UTC at `at`, in seconds.
    pub fn offset_secs(&self, at: i64) -> i32 {
        let Some(utc) = DateTime::from_timestamp(at, 0) else { return 0 };
        match self {
            Zone::Iana(tz) => tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc(),
            Zone::Fixed(off) => off.local_minus_utc(),
        }
    }
}

/// `GMT+9`, `GMT+5:30`, `GMT` for a zone known only by its offset.
fn gmt_label(off: FixedOffset) -> String {
    let secs = off.local_minus_utc();
    let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    match (abs / 3600, abs % 3600 / 60) {
        (0, 0) => "GMT".into(),
        (h, 0) => format!("GMT{sign}{h}"),
        (h, m) => format!("GMT{sign}{h}:{m:02}"),
    }
}

const JA_WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// `at` on `zone`'s clock in `lang` (Japanese, else English), labelled with the zone.
pub fn when(lang: &str, zone: Zone, at: i64, style: Style) -> String {
    let Some((t, label)) = zone.local(at) else { return String::new() };
    let ja = lang == "ja" || lang.starts_with("ja-");
    let date = if ja {
        format!(
            "{}年{}月{}日({})",
            t.year(),
            t.month(),
            t.day(),
            JA_WEEKDAYS[t.weekday().num_days_from_monday() as usize]
        )
    } else {
        t.format("%a %-d %b %Y").to_string()
    };
    match style {
        Style::Date => date,
        Style::Time => format!("{} {label}", t.format("%H:%M")),
        Style::TimeSecs => format!("{} {label}", t.format("%H:%M:%S")),
        Style::DateTime if ja => format!("{date} {} {label}", t.format("%H:%M")),
        Style::DateTime => format!("{date}, {} {label}", t.format("%H:%M")),
        Style::DateTimeSecs if ja => format!("{date} {} {label}", t.format("%H:%M:%S")),
        Style::DateTimeSecs => format!("{date}, {} {label}", t.format("%H:%M:%S")),
    }
}

/// An amount in `currency`'s minor units: `¥19,600` for yen, `12.50 GBP` otherwise.
pub fn money(currency: &str, amount: i64) -> String {
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
    match currency {
        "JPY" => format!("¥{}", grouped(amount)),
        c => format!("{}.{:02} {c}", grouped(amount / 100), (amount % 100).abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo() -> Zone {
        Zone::named_or("Asia/Tokyo", FixedOffset::east_opt(0).unwrap())
    }

    #[test]
    fn japanese_and_english_on_the_venue_clock() {
        // 2027-03-14 10:00 UTC is 19:00 in Tokyo, a Sunday.
        let at = DateTime::parse_from_rfc3339("2027-03-14T10:00:00Z").unwrap().timestamp();
        assert_eq!(when("ja", tokyo(), at, Style::DateTime), "2027年3月14日(日) 19:00 JST");
        assert_eq!(when("en", tokyo(), at, Style::DateTime), "Sun 14 Mar 2027, 19:00 JST");
        assert_eq!(when("ja", tokyo(), at, Style::Date), "2027年3月14日(日)");
        assert_eq!(when("en", tokyo(), at + 11, Style::TimeSecs), "19:00:11 JST");
        assert_eq!(when("fr", tokyo(), at, Style::Time), "19:00 JST", "other languages read the English form");
    }

    #[test]
    fn summer_time_moves_the_label() {
        let london = Zone::named_or("Europe/London", FixedOffset::east_opt(0).unwrap());
        let winter = DateTime::parse_from_rfc3339("2027-01-10T19:30:00Z").unwrap().timestamp();
        let summer = DateTime::parse_from_rfc3339("2027-07-10T18:30:00Z").unwrap().timestamp();
        assert_eq!(when("en", london, winter, Style::Time), "19:30 GMT");
        assert_eq!(when("en", london, summer, Style::Time), "19:30 BST");
        assert_eq!(london.offset_secs(summer), 3600);
    }

    #[test]
    fn an_unknown_zone_shows_its_offset_never_utc() {
        let plus9 = FixedOffset::east_opt(9 * 3600).unwrap();
        assert_eq!(Zone::named_or("", plus9), Zone::Fixed(plus9));
        assert_eq!(Zone::named_or("Mars/Olympus", plus9), Zone::Fixed(plus9));
        let at = DateTime::parse_from_rfc3339("2027-03-14T10:00:00Z").unwrap().timestamp();
        assert_eq!(when("en", Zone::Fixed(plus9), at, Style::Time), "19:00 GMT+9");
        let india = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        assert_eq!(when("en", Zone::Fixed(india), at, Style::Time), "15:30 GMT+5:30");
        assert!(!when("ja", Zone::Fixed(FixedOffset::east_opt(0).unwrap()), at, Style::DateTime).contains("UTC"));
    }

    #[test]
    fn money() {
        assert_eq!(super::money("JPY", 19600), "¥19,600");
        assert_eq!(super::money("JPY", 1234567), "¥1,234,567");
        assert_eq!(super::money("GBP", 1250), "12.50 GBP");
    }
}
