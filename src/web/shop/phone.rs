//! Phone numbers typed on the shop's forms, read where the event is: a Tokyo
//! event reads `090-3333-4444` as +81 90-3333-4444 (the dialplan's numbering
//! plan only when the event says nothing of its country), checked to be a
//! number that can exist there, and shown back as people there write it
//! (`090-3333-4444`).

use crate::events::EventView;
use crate::phone::{NumberingPlan, PhoneNumber};

/// The country calling code of the event's venue: from its IANA time zone, else
/// its currency; `None` when neither says.
pub(crate) fn country_of(event: &EventView) -> Option<&'static str> {
    country_of_zone(&event.time_zone).or(match event.currency.as_str() {
        "JPY" => Some("81"),
        "GBP" => Some("44"),
        "USD" | "CAD" => Some("1"),
        "AUD" => Some("61"),
        _ => None,
    })
}

/// The country calling code of an IANA time zone we know (the back office reads
/// a phone typed by an operator in the country of its display clock).
pub(crate) fn country_of_zone(zone: &str) -> Option<&'static str> {
    match zone {
        "Asia/Tokyo" => Some("81"),
        "Europe/London" => Some("44"),
        "America/New_York"
        | "America/Chicago"
        | "America/Denver"
        | "America/Los_Angeles"
        | "America/Phoenix"
        | "America/Anchorage"
        | "Pacific/Honolulu"
        | "America/Toronto"
        | "America/Vancouver" => Some("1"),
        z if z.starts_with("Australia/") => Some("61"),
        _ => None,
    }
}

/// How a number in `cc` is written, as an example for the form.
pub(crate) fn example(cc: Option<&str>) -> &'static str {
    match cc {
        Some("81") => "090-1234-5678",
        Some("44") => "07700 900123",
        Some("1") => "(201) 555-0123",
        Some("61") => "0412 345 678",
        _ => "+81 90-1234-5678",
    }
}

/// The catalog id naming the country (for "type a number in …"), if we have one.
pub(crate) fn country_name_id(cc: Option<&str>) -> Option<&'static str> {
    match cc {
        Some("81") => Some("shop-country-jp"),
        Some("44") => Some("shop-country-gb"),
        Some("1") => Some("shop-country-us"),
        _ => None,
    }
}

/// `raw` as typed on a form for an event in `cc` (`fallback`: the dialplan's plan,
/// when the event's country is not known). `None`: not a number that can exist.
pub(crate) fn read(raw: &str, cc: Option<&str>, fallback: &NumberingPlan) -> Option<PhoneNumber> {
    let plan = cc.map(NumberingPlan::for_country).unwrap_or_else(|| fallback.clone());
    let n = PhoneNumber::normalize_in(raw, &plan).ok()?;
    plausible(&n).then_some(n)
}

/// Whether `n` has a length its country's numbers have (only for countries we
/// know: others pass on E.164's 8 to 15 digits).
fn plausible(n: &PhoneNumber) -> bool {
    let d = n.digits();
    if let Some(nsn) = d.strip_prefix("81") {
        // Mobiles, IP phones and M2M (090/080/070/050/020/060) have ten digits after
        // the 0; fixed lines nine; free dial 0120 nine, 0800 ten.
        return match nsn.get(..2) {
            Some("90" | "80" | "70" | "50" | "20" | "60") => nsn.len() == 10,
            _ => nsn.len() == 9 || (nsn.starts_with("800") && nsn.len() == 10),
        };
    }
    if let Some(nsn) = d.strip_prefix("44") {
        return (9..=10).contains(&nsn.len());
    }
    if let Some(nsn) = d.strip_prefix('1') {
        return nsn.len() == 10 && !nsn.starts_with(['0', '1']);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn a_tokyo_event_reads_national_numbers_as_japanese() {
        let uk = NumberingPlan::for_country("44");
        assert_eq!(read("090-3333-4444", Some("81"), &uk), Some(p("+819033334444")));
        assert_eq!(read("03-1234-5678", Some("81"), &uk), Some(p("+81312345678")));
        assert_eq!(read("+44 20 7946 0100", Some("81"), &uk), Some(p("+442079460100")));
        // Without the event's country, the dialplan's plan.
        assert_eq!(read("020 7946 0100", None, &uk), Some(p("+442079460100")));
    }

    #[test]
    fn impossible_numbers_are_refused() {
        let plan = NumberingPlan::default();
        for raw in ["090-3333-444", "090-3333-44445", "03-1234-567", "12", "abc", "", "0000"] {
            assert_eq!(read(raw, Some("81"), &plan), None, "{raw}");
        }
    }
}
