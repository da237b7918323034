//! Tests of the catalog: parsing, relative times, validation.

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
