//! Events in the back office (issue 20, step 3): made, edited and duplicated from
//! the form; the refusals (bad times, quantities below what is sold, another
//! organizer's event, a form without its token); stop/resume, publish/unpublish
//! and the limit of tickets per phone, as buyers see them.

use chrono::{TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::backoffice::{csrf_of, load_other_organizer, operator_link, set_password, Office};
use crate::helpers::*;

const CARD: &str = "4242 4242 4242 4242";

/// A `datetime-local` value `days` from today at `time` on Tokyo's clock.
pub fn tokyo(days: i64, time: &str) -> String {
    let tz: Tz = "Asia/Tokyo".parse().expect("zone");
    let day = tz.from_utc_datetime(&(Utc::now() + TimeDelta::days(days)).naive_utc()).date_naive();
    format!("{}T{time}", day.format("%Y-%m-%d"))
}

/// The form's fields for event `id`: 30 days ahead in Tokyo, on sale since
/// yesterday, seat types S (rows A B × 5, ¥8,000) and GA (`count` places, ¥3,000).
pub fn event_fields(id: &str, name: &str, count: &str) -> Vec<(String, String)> {
    let start = tokyo(30, "19:00");
    let day = &start[..10];
    [
        ("id", id),
        ("name", name),
        ("genre", "Jazz"),
        ("venue", "Blue Note Tokyo"),
        ("region", "Tokyo"),
        ("description", "A late set."),
        ("time_zone", "Asia/Tokyo"),
        ("starts_at", &start),
        ("doors_open", &format!("{day}T18:30")),
        ("sale_start", &tokyo(-1, "10:00")),
        ("sale_end", &format!("{day}T18:00")),
        ("cancellable_days", "2"),
        ("phone_limit", "0"),
        ("st0_code", "GA"),
        ("st0_name", "Free seating"),
        ("st0_price", "3000"),
        ("st0_count", count),
        ("st1_code", "S"),
        ("st1_name", "S seats"),
        ("st1_price", "8000"),
        ("st1_rows", "A B"),
        ("st1_per_row", "5"),
        ("st1_gate", "B"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `fields` with `changes` made.
pub fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        fields.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).cloned().collect();
    out.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// POST the event form at `path` with the page's CSRF token.
pub async fn post_form(office: &mut Office, path: &str, fields: &[(String, String)]) -> (u16, String, Option<String>) {
    let (status, page, _) = office.get(path).await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let mut all = pairs(fields);
    all.push(("csrf", &csrf));
    let (status, page, location) = office.post(path, &all).await;
    (status, page.replace("&#x2f;", "/"), location)
}

/// An operator signed in.
pub async fn operator(gw: &TestGateway) -> Office {
    let link = operator_link(gw, "ops").await;
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &link, "operator password 1").await;
    office
}

/// Organizer account `name` for `organizer`, made by `ops`, signed in.
pub async fn organizer(gw: &TestGateway, ops: &mut Office, name: &str, organizer: &str) -> Office {
    let (_, page, _) = ops.get("/admin/accounts").await;
    let csrf = csrf_of(&page);
    let (status, page, _) =
        ops.post("/admin/accounts", &[("csrf", &csrf), ("name", name), ("organizer", organizer)]).await;
    assert_eq!(status, 200, "{page}");
    let at = page.find("id=\"made-link\"").expect("the link is shown");
    let value = &page[at..][page[at..].find("value=\"").expect("value") + 7..];
    let link = value[..value.find('"').expect("end")].replace("&#x2f;", "/").replace("&amp;", "&");
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &link, &format!("{name} password 1")).await;
    office
}

/// Make event `id` from the form as `office`; the event page's HTML.
pub async fn make_event(office: &mut Office, fields: &[(String, String)]) -> String {
    let (status, page, location) = post_form(office, "/admin/events/new", fields).await;
    let id = &fields.iter().find(|(k, _)| k == "id").expect("id").1;
    assert_eq!((status, location.as_deref()), (303, Some(format!("/admin/events/{id}").as_str())), "{page}");
    let (status, page, _) = office.get(&format!("/admin/events/{id}")).await;
    assert_eq!(status, 200, "{page}");
    page
}

/// A caller's purchase link.
async fn purchase_link(gw: &TestGateway, phone: &str) -> String {
    let report = gw.call(phone, PURCHASE).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let mail = gw.mail(phone, "purchase link").await;
    gw.link(&mail, "/p/")
}

#[tokio::test]
async fn an_organizer_makes_edits_and_duplicates_an_event_from_the_form() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw).await;
    let mut org = organizer(&gw, &mut ops, "holonic", "holonic-hall").await;
    let (status, page, _) = org.get("/admin/events/new").await;
    assert_eq!(status, 200, "{page}");
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("<option value=\"Asia/Tokyo\" selected>"), "the organizer's last zone: {page}");
    assert!(!page.contains("name=\"organizer\""), "an organizer picks no organizer");
    let fields = event_fields("late-set", "Late Set", "20");
    // Even a forged organizer field makes the event the organizer's own.
    let page = make_event(&mut org, &with(&fields, &[("organizer", "other-hall")])).await;
    assert!(page.contains("Late Set") && page.contains("19:00 JST") && !shows_utc(&page), "{page}");
    let e = gw.app.store.event("late-set").await.expect("read").expect("made");
    assert_eq!((e.organizer.as_str(), e.time_zone.as_str()), ("holonic-hall", "Asia/Tokyo"));
    assert!(e.starts_at.ends_with("T19:00:00+09:00"), "{}", e.starts_at);
    assert_eq!(
        e.seat_types.iter().map(|s| (s.code.as_str(), s.available)).collect::<Vec<_>>(),
        [("S", 10), ("GA", 20)]
    );
    assert_eq!(e.gate_of("S"), Some("B"));
    assert!(e.on_sale(dialticket::store::now()) && e.published);
    let account = gw.app.store.account_by_name("holonic").await.expect("read").expect("account");
    let journal = gw.app.store.journal_for("late-set").await.expect("journal");
    let created = journal.iter().find(|j| j.action == "created").expect("journalled");
    assert_eq!(created.actor, format!("account:{}", account.0.id));
    // It is in the organizer's list, with the number that sells it.
    let (_, home) = org.get_json("/admin/").await;
    let cards = home["organizers"][0]["events"].as_array().expect("events");
    let card = cards.iter().find(|c| c["id"] == "late-set").expect("listed");
    assert_eq!(card["number"], PURCHASE);
    // The edit form is filled on the venue's clock.
    let (status, page, _) = org.get("/admin/events/late-set/edit").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("value=\"{}\"", tokyo(30, "19:00"))) && page.contains("value=\"A B\""), "{page}");
    // Duplicate: the form filled from the event, with a new id.
    let (status, page, _) = org.get("/admin/events/new?from=late-set").await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"late-set-copy\"") && page.contains("value=\"Blue Note Tokyo\""), "{page}");
    let copy = with(&fields, &[("id", "late-set-2"), ("name", "Late Set II"), ("starts_at", &tokyo(31, "19:00"))]);
    make_event(&mut org, &copy).await;
    assert!(gw.app.store.event("late-set-2").await.expect("read").is_some());
    // An edit: a new name, re-entry on, more seats.
    let edit = with(&fields, &[("name", "Late Set (extended)"), ("reentry", "on"), ("st0_count", "25")]);
    let (status, page, location) = post_form(&mut org, "/admin/events/late-set/edit", &edit).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/events/late-set")), "{page}");
    let e = gw.app.store.event("late-set").await.expect("read").expect("there");
    assert_eq!((e.name.as_str(), e.reentry, e.seat_types[1].available), ("Late Set (extended)", true, 25));
    assert!(gw.app.store.journal_for("late-set").await.expect("journal").iter().any(|j| j.action == "edited"));
    gw.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_and_the_form_kept() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw).await;
    let fields = event_fields("new-night", "New Night", "10");
    // A time that does not exist on the venue's clock (New York springs forward on the second Sunday of March).
    let year = Utc::now().format("%Y").to_string().parse::<i32>().expect("year") + 1;
    let tz: Tz = "America/New_York".parse().expect("zone");
    let gap = (8..=14)
        .map(|d| chrono::NaiveDate::from_ymd_opt(year, 3, d).expect("day"))
        .find(|d| tz.from_local_datetime(&d.and_hms_opt(2, 30, 0).expect("time")).single().is_none())
        .expect("a gap in March");
    let doors = format!("{}T02:30", gap.format("%Y-%m-%d"));
    let bad = with(
        &fields,
        &[
            ("organizer", "holonic-hall"),
            ("time_zone", "America/New_York"),
            ("starts_at", &format!("{}T19:00", gap.format("%Y-%m-%d"))),
            ("doors_open", &doors),
            ("sale_end", &format!("{}T01:00", gap.format("%Y-%m-%d"))),
        ],
    );
    let (status, page, _) = post_form(&mut ops, "/admin/events/new", &bad).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("does not exist in America/New_York"), "{page}");
    assert!(page.contains("Doors open") && page.contains(&format!("value=\"{doors}\"")), "named and kept: {page}");
    assert!(page.contains("value=\"New Night\""), "{page}");
    // An operator must pick the organizer.
    let (status, page, _) = post_form(&mut ops, "/admin/events/new", &fields).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Choose an organizer"), "{page}");
    // An id that is taken is not overwritten (nor another organizer's event taken over).
    let taken = with(&fields, &[("organizer", "holonic-hall"), ("id", "spring-gala-2027")]);
    let (status, page, _) = post_form(&mut ops, "/admin/events/new", &taken).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("already an event with the ID spring-gala-2027"), "{page}");
    assert_ne!(gw.app.store.event("spring-gala-2027").await.expect("read").expect("there").name, "New Night");
    // The sale must end after it starts; a seat type needs seats.
    let reversed = with(&fields, &[("organizer", "holonic-hall"), ("sale_end", &tokyo(-2, "10:00"))]);
    let (status, page, _) = post_form(&mut ops, "/admin/events/new", &reversed).await;
    assert_eq!(status, 422);
    assert!(page.contains("The sale must end after it starts"), "{page}");
    let empty = with(&fields, &[("organizer", "holonic-hall"), ("st0_count", "")]);
    let (status, page, _) = post_form(&mut ops, "/admin/events/new", &empty).await;
    assert_eq!(status, 422);
    assert!(page.contains("Seat type GA has no seats"), "{page}");
    // Without its CSRF token (or with another's) the form is refused and nothing is made.
    let ok = with(&fields, &[("organizer", "holonic-hall")]);
    for csrf in [None, Some("forged")] {
        let mut all = pairs(&ok);
        if let Some(c) = csrf {
            all.push(("csrf", c));
        }
        let (status, page, _) = ops.post("/admin/events/new", &all).await;
        assert_eq!(status, 403, "{page}");
        let (status, page, _) = ops.post("/admin/events/spring-gala-2027/edit", &all).await;
        assert_eq!(status, 403, "{page}");
        let (status, _, _) = ops.post("/admin/events/spring-gala-2027/selling", &[("action", "stop")]).await;
        assert_eq!(status, 403);
    }
    assert!(gw.app.store.event("new-night").await.expect("read").is_none());
    let gala = gw.app.store.event("spring-gala-2027").await.expect("read").expect("there");
    assert!(!gala.sales_paused && gala.name != "New Night");
    // In Japanese, the message is Japanese.
    let (status, page, _) = post_form(&mut ops, "/admin/events/new?lang=ja", &reversed).await;
    assert_eq!(status, 422);
    assert!(page.contains("販売終了は販売開始より後にしてください"), "{page}");
    // The operator makes it for the organizer it picks.
    let (status, page, _) = post_form(&mut ops, "/admin/events/new", &ok).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(gw.app.store.event("new-night").await.expect("read").expect("made").organizer, "holonic-hall");
    gw.stop().await;
}

#[tokio::test]
async fn quantities_never_drop_below_sold_and_a_price_change_spares_paid_orders() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw).await;
    let mut org = organizer(&gw, &mut ops, "holonic", "holonic-hall").await;
    let fields = event_fields("late-set", "Late Set", "6");
    make_event(&mut org, &fields).await;
    // Two tickets paid (the shop's first seat type is the dearest, S), one held.
    for phone in ["+819012340001", "+819012340002"] {
        let link = purchase_link(&gw, phone).await;
        let (status, order) = gw.buy(&link, "late-set", 1, CARD).await;
        assert_eq!(status, 200, "{order}");
        assert_eq!(order["status"], "paid", "{order}");
    }
    let link = purchase_link(&gw, "+819012340003").await;
    let (status, order) = gw.order_form(&link, "late-set", &[("payment_method", "konbini")]).await;
    assert_eq!((status, &order["status"]), (202, &serde_json::json!("pending")), "{order}");
    let held_pending = gw.app.store.seat_counts("late-set").await.expect("counts");
    let sold_s = held_pending.iter().filter(|(t, st, _)| t == "S" && st == "sold").map(|r| r.2).sum::<i64>();
    let held_s = held_pending.iter().filter(|(t, st, _)| t == "S" && st == "held").map(|r| r.2).sum::<i64>();
    assert_eq!(sold_s, 2, "{held_pending:?}");
    // S down to one row of one seat: fewer than sold and held; refused, naming the numbers.
    let fewer = with(&fields, &[("st1_rows", "A"), ("st1_per_row", "1")]);
    let (status, page, _) = post_form(&mut org, "/admin/events/late-set/edit", &fewer).await;
    assert_eq!(status, 422, "{page}");
    let want = format!("Seat type S cannot have 1 seats: 2 are sold and {held_s} held");
    assert!(page.contains(&want), "{want}: {page}");
    assert!(page.contains("value=\"A\""), "the form keeps what was typed: {page}");
    assert_eq!(gw.app.store.seat_rows("late-set").await.expect("seats").len(), 16, "nothing removed");
    // S down to 4 seats (rows A B × 2) and GA down to 2: only free seats go, and a price change
    // (S ¥8,000 → ¥9,000) applies to the seats still free.
    let before: Vec<_> = gw.app.store.seat_rows("late-set").await.expect("seats");
    let taken: Vec<String> = before.iter().filter(|s| !s.4).map(|s| s.0.clone()).collect();
    let smaller = with(&fields, &[("st1_per_row", "2"), ("st0_count", "2"), ("st1_price", "9000")]);
    let (status, page, location) = post_form(&mut org, "/admin/events/late-set/edit", &smaller).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/events/late-set")), "{page}");
    let after = gw.app.store.seat_rows("late-set").await.expect("seats");
    assert_eq!(after.iter().filter(|s| s.1 == "S").count(), 4);
    assert_eq!(after.iter().filter(|s| s.1 == "GA").count(), 2);
    for seat in &taken {
        let kept = after.iter().find(|s| &s.0 == seat).unwrap_or_else(|| panic!("sold seat {seat} kept"));
        assert_eq!(kept.3, 8000, "a taken seat keeps its price");
    }
    assert!(after.iter().filter(|s| s.1 == "S" && s.4).all(|s| s.3 == 9000), "{after:?}");
    // GA: the highest positions went.
    let ga: Vec<&str> = after.iter().filter(|s| s.1 == "GA").map(|s| s.0.as_str()).collect();
    assert_eq!(ga, ["GA-1", "GA-2"]);
    // What was paid stays as it was.
    let pid = order["purchase_id"].as_str().expect("purchase id");
    let p = gw.app.store.purchase(pid).await.expect("read").expect("there");
    assert_eq!(p.amount, 8000);
    let paid = gw.app.store.paid_sales("late-set").await.expect("paid");
    assert!(paid.iter().all(|(_, _, amount)| *amount == 8000), "{paid:?}");
    // The shop sells at the new price.
    let journal = gw.app.store.journal_for("late-set").await.expect("journal");
    assert!(journal.iter().any(|j| j.action == "price_changed"), "journalled");
    assert!(journal.iter().any(|j| j.action == "seats_removed"), "journalled");
    // Back up again: new seats never take a removed seat's position.
    let used = before.iter().map(|s| s.2).max().expect("positions");
    let more = with(&fields, &[("st0_count", "4")]);
    let (status, page, _) = post_form(&mut org, "/admin/events/late-set/edit", &more).await;
    assert_eq!(status, 303, "{page}");
    let again = gw.app.store.seat_rows("late-set").await.expect("seats");
    let added: Vec<_> = again.iter().filter(|s| !after.iter().any(|a| a.0 == s.0)).collect();
    assert!(!added.is_empty() && added.iter().all(|s| s.2 > used), "{added:?} after {used}");
    gw.stop().await;
}

#[tokio::test]
async fn another_organizers_event_is_403_for_every_form_and_post() {
    let gw = spawn_gateway().await;
    load_other_organizer(&gw).await;
    let mut ops = operator(&gw).await;
    let mut first = organizer(&gw, &mut ops, "holonic", "holonic-hall").await;
    let mut second = organizer(&gw, &mut ops, "other", "other-hall").await;
    make_event(&mut first, &event_fields("late-set", "Late Set", "10")).await;
    for path in
        ["/admin/events/late-set/edit", "/admin/events/new?from=late-set", "/admin/events/spring-gala-2027/edit"]
    {
        let (status, page, _) = second.get(path).await;
        assert_eq!(status, 403, "{path}: {page}");
        assert!(page.contains("another organizer") && !page.contains("Blue Note"), "{page}");
    }
    // POST by URL guessing, with the second organizer's own valid token.
    let (_, page, _) = second.get("/admin/").await;
    let csrf = csrf_of(&page);
    let hijack = with(&event_fields("late-set", "Hijacked", "1"), &[("csrf", &csrf)]);
    let (status, _, _) = second.post("/admin/events/late-set/edit", &pairs(&hijack)).await;
    assert_eq!(status, 403);
    for (path, action) in [("selling", "stop"), ("listing", "unpublish")] {
        let (status, _, _) =
            second.post(&format!("/admin/events/late-set/{path}"), &[("csrf", &csrf), ("action", action)]).await;
        assert_eq!(status, 403, "{path}");
    }
    let e = gw.app.store.event("late-set").await.expect("read").expect("there");
    assert!(e.name == "Late Set" && !e.sales_paused && e.published, "unchanged");
    assert_eq!(e.seat_types.iter().map(|s| s.available).sum::<i64>(), 20);
    // Nor can it make an event with the first one's id.
    let (status, page, _) = post_form(&mut second, "/admin/events/new", &event_fields("late-set", "Mine", "1")).await;
    assert_eq!(status, 422, "{page}");
    assert_eq!(gw.app.store.event("late-set").await.expect("read").expect("there").organizer, "holonic-hall");
    // The operator may.
    let (status, _, _) = ops.get("/admin/events/late-set/edit").await;
    assert_eq!(status, 200);
    assert_eq!(first.get("/admin/events/other-night/edit").await.0, 403);
    gw.stop().await;
}

#[tokio::test]
async fn stopped_sales_and_an_unpublished_event_as_buyers_see_them() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw).await;
    let mut org = organizer(&gw, &mut ops, "holonic", "holonic-hall").await;
    make_event(&mut org, &event_fields("late-set", "Late Set", "10")).await;
    let link = purchase_link(&gw, "+819012340001").await;
    let (url, page) = gw.event_form(&link, "late-set").await;
    assert!(page["form"].is_object(), "on sale: {page}");
    let token = page["form"]["form_token"].as_str().expect("token").to_string();
    // Stop sales.
    let (_, page, _) = org.get("/admin/events/late-set").await;
    let csrf = csrf_of(&page);
    let (status, _, location) =
        org.post("/admin/events/late-set/selling", &[("csrf", &csrf), ("action", "stop")]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/events/late-set")));
    let (_, page, _) = org.get("/admin/events/late-set").await;
    assert!(page.contains("data-paused") && page.contains("data-resume"), "{page}");
    let (status, page) = gw.get(&url).await;
    assert_eq!(status, 200);
    assert!(page["form"].is_null() && page["event"]["paused"] == true, "{page}");
    // An order posted with the form opened before is refused.
    let fields = [
        ("form_token", token.as_str()),
        ("seat_type", "S"),
        ("quantity", "1"),
        ("payment_method", "card"),
        ("card_number", CARD),
    ];
    let (status, body) = gw.post(&url, &fields).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("paused"), "{body}");
    assert_eq!(gw.app.store.count_seats("late-set", "sold").await.expect("count"), 0);
    // The HTML page says so.
    let html = reqwest::get(format!("{}{}", gw.base, url.trim_start_matches(&gw.base))).await.expect("GET");
    let html = html.text().await.expect("text");
    assert!(html.contains("Sales are paused"), "{html}");
    // The purchase call still mails a link.
    let report = gw.call("+819012340002", PURCHASE).await;
    assert_eq!(report.final_status, 200);
    gw.mail("+819012340002", "purchase link").await;
    // Resume: the form is back.
    let (status, _, _) = org.post("/admin/events/late-set/selling", &[("csrf", &csrf), ("action", "resume")]).await;
    assert_eq!(status, 303);
    let (_, page) = gw.get(&url).await;
    assert!(page["form"].is_object(), "{page}");
    // Unpublish: not listed in either shop, its page is 404 for buyers.
    let (status, _, _) = org.post("/admin/events/late-set/listing", &[("csrf", &csrf), ("action", "unpublish")]).await;
    assert_eq!(status, 303);
    for shop in [link.as_str(), "/buy"] {
        let (status, list) = gw.get(shop).await;
        assert_eq!(status, 200);
        assert!(!list["events"].as_array().expect("events").iter().any(|e| e["id"] == "late-set"), "{list}");
        assert!(list["events"].as_array().expect("events").iter().any(|e| e["id"] == "spring-gala-2027"), "{list}");
    }
    assert_eq!(gw.get(&url).await.0, 404);
    assert_eq!(gw.get("/buy/events/late-set").await.0, 404);
    let (status, _, _) = org.post("/admin/events/late-set/listing", &[("csrf", &csrf), ("action", "publish")]).await;
    assert_eq!(status, 303);
    assert_eq!(gw.get("/buy/events/late-set").await.0, 200);
    let journal = gw.app.store.journal_for("late-set").await.expect("journal");
    let actions: Vec<(&str, Option<&str>)> = journal
        .iter()
        .filter(|j| j.action == "sales" || j.action == "listing")
        .map(|j| (j.action.as_str(), j.to_state.as_deref()))
        .collect();
    assert_eq!(
        actions,
        [
            ("sales", Some("paused")),
            ("sales", Some("on_sale")),
            ("listing", Some("unpublished")),
            ("listing", Some("published"))
        ]
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_phone_buys_no_more_tickets_than_the_limit() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw).await;
    let mut org = organizer(&gw, &mut ops, "holonic", "holonic-hall").await;
    let fields = with(&event_fields("late-set", "Late Set", "10"), &[("phone_limit", "3")]);
    make_event(&mut org, &fields).await;
    let (_, page, _) = org.get("/admin/events/late-set").await;
    assert!(page.contains("At most 3 tickets per phone"), "{page}");
    let phone = "+819012340001";
    let link = purchase_link(&gw, phone).await;
    let (status, order) = gw.buy(&link, "late-set", 2, CARD).await;
    assert_eq!((status, &order["status"]), (200, &serde_json::json!("paid")), "{order}");
    // Two more would be four: refused, naming the limit and what the phone has.
    let (status, body) = gw.buy(&link, "late-set", 2, CARD).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("At most 3 tickets per phone for this event, and this phone already has 2"),
        "{body}"
    );
    // A held (unpaid) order counts too.
    let (status, order) = gw.order_form(&link, "late-set", &[("payment_method", "konbini")]).await;
    assert_eq!((status, &order["status"]), (202, &serde_json::json!("pending")), "{order}");
    let (status, body) = gw.buy(&link, "late-set", 1, CARD).await;
    assert_eq!(status, 422, "{body}");
    // Another phone has its own three.
    let other = purchase_link(&gw, "+819012340002").await;
    let (status, order) = gw.buy(&other, "late-set", 3, CARD).await;
    assert_eq!((status, &order["status"]), (200, &serde_json::json!("paid")), "{order}");
    gw.stop().await;
}

/// The store's side on both backends: made once, quantities and positions, the switches.
async fn event_admin_in_the_store(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let store = dialticket::store::Store::connect(&url).await.expect("connects and migrates");
    let catalog = dialticket::events::CatalogFile::load(&repo("events/demo.toml")).expect("demo catalog");
    store.load_catalog(&catalog).await.expect("loads");
    let fields: dialticket::events::form::Fields = event_fields("late-set", "Late Set", "5").into_iter().collect();
    let (def, settings) =
        dialticket::events::form::event_def(&fields, "late-set", "holonic-hall", "JPY").expect("a good form");
    store.create_event(&def, settings, "account:t").await.expect("made");
    let again = store.create_event(&def, settings, "account:t").await;
    assert!(matches!(again, Err(dialticket::store::EventSaveError::Exists(_))), "{again:?}");
    let mut smaller = fields.clone();
    smaller.insert("st0_count".into(), "3".into());
    smaller.insert("st0_price".into(), "3500".into());
    smaller.insert("phone_limit".into(), "2".into());
    let (def2, settings2) =
        dialticket::events::form::event_def(&smaller, "late-set", "holonic-hall", "JPY").expect("form");
    store.update_event(&def2, settings2, "account:t").await.expect("updated");
    let seats = store.seat_rows("late-set").await.expect("seats");
    let ga: Vec<_> = seats.iter().filter(|s| s.1 == "GA").collect();
    assert_eq!(ga.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), ["GA-1", "GA-2", "GA-3"]);
    assert!(ga.iter().all(|s| s.3 == 3500));
    let used = seats.iter().map(|s| s.2).max().unwrap_or(0).max(15);
    store.update_event(&def, settings, "account:t").await.expect("back up");
    let seats = store.seat_rows("late-set").await.expect("seats");
    let new: Vec<_> = seats.iter().filter(|s| s.0 == "GA-4" || s.0 == "GA-5").collect();
    assert!(new.len() == 2 && new.iter().all(|s| s.2 > used), "{seats:?}");
    let e = store.event("late-set").await.expect("read").expect("there");
    assert_eq!(e.phone_limit, 0);
    // Two GA seats held by one phone: they count for its limit, and GA cannot go below them.
    let phone = dialticket::phone::PhoneNumber::parse("+819012340001").expect("phone");
    let now = dialticket::store::now();
    let mut tx = store.begin().await.expect("tx");
    let user = tx.touch_phone_user(&phone, "ja", now).await.expect("user");
    tx.reserve_seats(&user, &phone, &e, "GA", 2, &[], "konbini", "form-token-0123456789", now).await.expect("held");
    tx.commit().await.expect("committed");
    let mut tx = store.begin().await.expect("tx");
    assert_eq!(tx.phone_tickets("late-set", phone.as_str()).await.expect("count"), 2);
    assert_eq!(tx.phone_tickets("late-set", "+819012340002").await.expect("count"), 0);
    drop(tx);
    let mut one = fields.clone();
    one.insert("st0_count".into(), "1".into());
    let (def1, settings1) = dialticket::events::form::event_def(&one, "late-set", "holonic-hall", "JPY").expect("form");
    match store.update_event(&def1, settings1, "account:t").await {
        Err(dialticket::store::EventSaveError::BelowSold { code, wanted: 1, sold: 0, held: 2 }) => {
            assert_eq!(code, "GA")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.seat_rows("late-set").await.expect("seats").iter().filter(|s| s.1 == "GA").count(), 5);
    assert!(store.set_sales_paused("late-set", true, "account:t").await.expect("paused"));
    assert!(store.set_published("late-set", false, "account:t").await.expect("hidden"));
    assert!(!store.set_published("no-such", false, "account:t").await.expect("none"));
    let e = store.event("late-set").await.expect("read").expect("there");
    assert!(e.sales_paused && !e.published && !e.on_sale(dialticket::store::now()));
    let controls = store.event_controls("late-set").await.expect("read").expect("there");
    assert!(controls.sales_paused && !controls.published);
}

#[tokio::test]
async fn event_admin_in_sqlite() {
    event_admin_in_the_store("sqlite").await;
}

#[tokio::test]
async fn event_admin_in_postgres() {
    event_admin_in_the_store("postgres").await;
}
