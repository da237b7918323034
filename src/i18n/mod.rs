//! The reader's language and clock: message catalogs ([`Catalogs`], Project
//! Fluent), language negotiation ([`negotiate`]) and the venue's time zone
//! ([`format`]). Plain Rust with no I/O but reading the catalog folder at start.

mod catalog;
pub mod format;

pub use catalog::{CatalogError, Catalogs, FALLBACK};
pub use format::{when, Style, Zone};

/// The best of `available` for an `Accept-Language` header (RFC 9110 §12.5.4):
/// ranges in order of their `q` (ties keep the header's order), `q=0` excluded, a
/// range matching a language or its primary subtag (`ja-JP` picks `ja`), `*`
/// anything. A malformed header, or nothing acceptable, is `None` (the caller's
/// default), never an error.
pub fn negotiate<'a>(header: &str, available: &[&'a str]) -> Option<&'a str> {
    if header.len() > 1024 {
        return None;
    }
    let mut ranges: Vec<(u16, usize, String)> = vec![];
    for (i, part) in header.split(',').enumerate() {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        if range.is_empty() || !range.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*') {
            continue;
        }
        let mut q = 1000u16;
        for p in pieces {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = parse_q(v)?;
            }
        }
        if q > 0 {
            ranges.push((q, i, range));
        }
    }
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, range) in ranges {
        if range == "*" {
            return available.first().copied();
        }
        let primary = range.split('-').next().unwrap_or("");
        if let Some(l) = available.iter().find(|l| l.eq_ignore_ascii_case(&range)) {
            return Some(l);
        }
        if let Some(l) = available.iter().find(|l| l.eq_ignore_ascii_case(primary)) {
            return Some(l);
        }
    }
    None
}

/// A `qvalue` (RFC 9110 §12.4.2) in thousandths; `None` if it is not one.
fn parse_q(v: &str) -> Option<u16> {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &[&str] = &["en", "ja"];

    #[test]
    fn accept_language() {
        assert_eq!(negotiate("ja", OURS), Some("ja"));
        assert_eq!(negotiate("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", OURS), Some("ja"));
        assert_eq!(negotiate("en-GB,en;q=0.9,ja;q=0.8", OURS), Some("en"));
        assert_eq!(negotiate("fr-FR,ja;q=0.5,en;q=0.4", OURS), Some("ja"));
        assert_eq!(negotiate("en;q=0.5, ja;q=0.6", OURS), Some("ja"));
        assert_eq!(negotiate("ja;q=0, *", OURS), Some("en"));
        assert_eq!(negotiate("fr, de", OURS), None, "nothing we have: the caller's default");
    }

    #[test]
    fn a_malformed_header_is_ignored() {
        assert_eq!(negotiate("ja;q=2", OURS), None);
        assert_eq!(negotiate("ja;q=abc", OURS), None);
        assert_eq!(negotiate("<script>, ja", OURS), Some("ja"), "a bad range is skipped, not fatal");
        assert_eq!(negotiate("", OURS), None);
        assert_eq!(negotiate(&"ja,".repeat(1000), OURS), None, "an absurd header is not parsed at all");
    }
}
