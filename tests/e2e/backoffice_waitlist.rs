//! An event's waiting list in the back office: the organizer sees the line in
//! order with each place's state, removes a place (its held seats go to the next
//! place, as when a buyer leaves), and sets how long an offer holds seats on the
//! event form. Another organizer is refused as on the orders page; a form
//! without its CSRF token changes nothing. Times are injected into the sweeps
//! and the hold expiry, as in `waitlist.rs`.

use dialticket::waitlist::{sweep, PlaceState};
use serde_json::Value;

use crate::backoffice::csrf_of;
use crate::backoffice_events::{post_form, tokyo};
use crate::backoffice_orders::organizer_office;
use crate::helpers::*;
use crate::waitlist::{
    free, hold_runs_out, join, link, phone, sold_out_by_a_hold, tiny_gateway, EVENT, FIRST, SECOND, THIRD,
};

const LINE: &str = "/admin/events/tiny-night/waitlist";

/// The open place of `p` in Tiny Night's line.
async fn place_of(gw: &TestGateway, p: &str) -> Option<dialticket::store::LinePlace> {
    gw.app.store.line_place(EVENT, &phone(p)).await.expect("place")
}

/// The line page's rows (as JSON) of `list` ("places": open; "ended").
fn rows<'a>(page: &'a Value, list: &str) -> Vec<&'a Value> {
    page[list].as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizer_sees_the_line_in_order_and_a_removed_place_hands_its_seats_to_the_next() {
    let gw = tiny_gateway().await;
    sold_out_by_a_hold(&gw).await;
    for (p, quantity) in [(FIRST, "2"), (SECOND, "1"), (THIRD, "1")] {
        join(&gw, &link(&gw, p).await, quantity).await;
    }
    let mut office = organizer_office(&gw, "tiny", "tiny-org").await;

    // The event's page links the line with the number waiting.
    let (status, event_page, _) = office.get("/admin/events/tiny-night").await;
    assert_eq!(status, 200, "{event_page}");
    assert!(event_page.contains("data-waitlist=\"3\"") && event_page.contains("3 waiting"), "{event_page}");

    // The line in order: numbers 1, 2, 3, all waiting, phones as the orders page writes them.
    let (status, line) = office.get_json(LINE).await;
    assert_eq!(status, 200, "{line}");
    let got: Vec<(&str, i64, &str, i64)> = rows(&line, "places")
        .iter()
        .map(|r| {
            let phone = r["phone"].as_str().unwrap_or_default();
            (
                phone,
                r["number"].as_i64().unwrap_or(0),
                r["state"].as_str().unwrap_or_default(),
                r["quantity"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, [(FIRST, 1, "waiting", 2), (SECOND, 2, "waiting", 1), (THIRD, 3, "waiting", 1)], "{line}");
    assert_eq!(line["counts"], serde_json::json!({"waiting": 3, "offered": 0, "taken": 0, "ended": 0}));
    assert_eq!(rows(&line, "places")[0]["phone_national"], "090-1111-0002");
    assert_eq!(rows(&line, "places")[0]["channel"], "page");

    // Both seats come back: held for the first place, with the deadline on the venue's clock.
    hold_runs_out(&gw).await;
    let (_, line) = office.get_json(LINE).await;
    let first = rows(&line, "places")[0].clone();
    assert_eq!((first["state"].as_str(), first["seats"].as_str()), (Some("offered"), Some("GA-1, GA-2")), "{line}");
    assert!(first["until"].as_str().is_some_and(|u| u.contains("JST")), "{first}");
    assert_eq!(rows(&line, "places")[1]["number"], 1, "the second place is now first of those waiting");
    let (status, html, _) = office.get(LINE).await;
    assert_eq!(status, 200);
    let (a, b, c) = (html.find(FIRST), html.find(SECOND), html.find(THIRD));
    assert!(a.is_some() && a < b && b < c, "in line order: {html}");
    assert!(html.contains("data-state=\"offered\"") && html.contains("JST") && !shows_utc(&html), "{html}");
    assert!(html.contains("090-1111-0002"), "{html}");

    // Without its CSRF token, a removal is refused and changes nothing.
    let remove = first["remove"].as_str().expect("a remove form").to_string();
    let (status, _, _) = office.post(&remove, &[]).await;
    assert_eq!(status, 403);
    let (status, _, _) = office.post(&remove, &[("csrf", "forged")]).await;
    assert_eq!(status, 403);
    assert_eq!(place_of(&gw, FIRST).await.expect("still in line").state, PlaceState::Offered);

    // Removed: closed as left, by the account; its two seats go on at once — the
    // second place (one seat) is offered, the third gets the other.
    let csrf = csrf_of(&html);
    let (status, _, location) = office.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/events/tiny-night/waitlist?removed=1")));
    assert!(place_of(&gw, FIRST).await.is_none(), "out of the line");
    let second = place_of(&gw, SECOND).await.expect("second");
    assert_eq!((second.state, second.seats.len()), (PlaceState::Offered, 1), "{second:?}");
    let third = place_of(&gw, THIRD).await.expect("third");
    assert_eq!((third.state, third.seats.len()), (PlaceState::Offered, 1), "{third:?}");
    assert_eq!(free(&gw).await, 0, "not on sale while anyone waits");
    let journal = gw.app.store.journal_all().await.expect("journal");
    let account =
        gw.app.store.accounts().await.expect("accounts").into_iter().find(|a| a.name == "tiny").expect("account");
    let left: Vec<&str> =
        journal.iter().filter(|j| j.entity == "waitlist" && j.action == "left").map(|j| j.actor.as_str()).collect();
    assert_eq!(left, [format!("account:{}", account.id)], "journalled with the account as actor");
    // The offers go out by mail as any other.
    sweep(&gw.app, dialticket::store::now()).await.expect("sweep");
    gw.mail(SECOND, "Seats are held for you").await;

    // The page says so, and lists the removed place among the ended ones.
    let (status, html, _) = office.get("/admin/events/tiny-night/waitlist?removed=1").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-done") && html.contains("removed from the line"), "{html}");
    let (_, line) = office.get_json(LINE).await;
    let ended = rows(&line, "ended");
    assert_eq!((ended.len(), ended[0]["phone"].as_str(), ended[0]["state"].as_str()), (1, Some(FIRST), Some("left")));
    assert_eq!(line["counts"], serde_json::json!({"waiting": 0, "offered": 2, "taken": 0, "ended": 1}));
    // Removing it again changes nothing.
    let (status, _, location) = office.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/events/tiny-night/waitlist?removed=0")));
    assert_eq!(place_of(&gw, SECOND).await.expect("second").seats.len(), 1);
    // A place of no such line.
    let (status, _, _) = office.post("/admin/events/tiny-night/waitlist/nobody/remove", &[("csrf", &csrf)]).await;
    assert_eq!(status, 404);

    // Another organizer is refused the line as it is refused the orders, and cannot remove a place.
    let mut other = organizer_office(&gw, "holonic", "holonic-hall").await;
    assert_eq!(other.get("/admin/events/tiny-night/orders").await.0, 403);
    let (status, html, _) = other.get(LINE).await;
    assert_eq!(status, 403, "{html}");
    assert!(!html.contains(SECOND) && !html.contains("090-1111-0003"), "nothing of the line shown: {html}");
    assert_eq!(other.get_json(LINE).await.0, 403);
    let (_, own, _) = other.get("/admin/").await;
    let other_csrf = csrf_of(&own);
    let second_remove = format!("/admin/events/tiny-night/waitlist/{}/remove", second.id);
    let (status, _, _) = other.post(&second_remove, &[("csrf", &other_csrf)]).await;
    assert_eq!(status, 403);
    assert_eq!(place_of(&gw, SECOND).await.expect("second").state, PlaceState::Offered, "untouched");
    gw.stop().await;
}

/// Tiny Night's own values on the event form, with `offer_minutes` as typed.
fn tiny_form(offer_minutes: &str) -> Vec<(String, String)> {
    let start = tokyo(30, "19:00");
    let day = start[..10].to_string();
    [
        ("name", "Tiny Night"),
        ("genre", "Jazz"),
        ("venue", "Tiny Club, Tokyo"),
        ("region", "Tokyo"),
        ("time_zone", "Asia/Tokyo"),
        ("starts_at", start.as_str()),
        ("doors_open", &format!("{day}T18:30")),
        ("sale_start", &tokyo(-1, "10:00")),
        ("sale_end", &format!("{day}T17:00")),
        ("contact", "tiny@example.org"),
        ("phone_limit", "0"),
        ("offer_minutes", offer_minutes),
        ("st0_code", "GA"),
        ("st0_name", "General admission"),
        ("st0_price", "3000"),
        ("st0_count", "2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn offer_minutes(gw: &TestGateway) -> i64 {
    gw.app.store.event(EVENT).await.expect("read").expect("event").offer_minutes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_holds_seats_for_the_minutes_the_organizer_set() {
    let gw = tiny_gateway().await;
    let mut office = organizer_office(&gw, "tiny", "tiny-org").await;
    const EDIT: &str = "/admin/events/tiny-night/edit";
    let (status, form, _) = office.get(EDIT).await;
    assert_eq!(status, 200);
    assert!(form.contains("name=\"offer_minutes\" value=\"30\""), "the default: {form}");

    // Not minutes from 5 to 1440: refused with a message, what was typed kept, nothing saved.
    for bad in ["0", "2000", "abc", "4"] {
        let (status, page, _) = post_form(&mut office, EDIT, &tiny_form(bad)).await;
        assert_eq!(status, 422, "{bad}: {page}");
        assert!(page.contains("whole minutes from 5 to 1440"), "{bad}: {page}");
        assert!(page.contains(&format!("name=\"offer_minutes\" value=\"{bad}\"")), "{bad} kept: {page}");
        assert_eq!(offer_minutes(&gw).await, 30, "{bad}: nothing saved");
    }
    let (status, page, _) = post_form(&mut office, &format!("{EDIT}?lang=ja"), &tiny_form("2000")).await;
    assert_eq!(status, 422);
    assert!(page.contains("お取り置きの時間は5〜1440の整数"), "{page}");

    // Ten minutes, saved and shown.
    let (status, saved, location) = post_form(&mut office, EDIT, &tiny_form("10")).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/events/tiny-night")), "{saved}");
    assert_eq!(offer_minutes(&gw).await, 10);
    let (_, form, _) = office.get(EDIT).await;
    assert!(form.contains("name=\"offer_minutes\" value=\"10\""), "{form}");
    let edited = gw.app.store.event(EVENT).await.expect("read").expect("event");
    assert_eq!((edited.seat_types.len(), edited.seat_types[0].available), (1, 2), "the event otherwise as it was");

    // An offer made at `at` holds its seats until `at` + 10 minutes, then they go on.
    sold_out_by_a_hold(&gw).await;
    let (first, second) = (link(&gw, FIRST).await, link(&gw, SECOND).await);
    join(&gw, &first, "2").await;
    join(&gw, &second, "2").await;
    let p = crate::waitlist::page(&gw, &second).await;
    assert_eq!(p["waitlist"]["minutes"], 10, "the buyer is told the window: {p}");
    let at = hold_runs_out(&gw).await;
    let offered = place_of(&gw, FIRST).await.expect("first");
    assert_eq!((offered.state, offered.offer_until), (PlaceState::Offered, Some(at + 600)), "{offered:?}");
    let (_, line) = office.get_json(LINE).await;
    assert_eq!(line["offer_minutes"], 10);
    assert_eq!(sweep(&gw.app, at + 599).await.expect("sweep").expired, 0, "still held at 9:59");
    assert_eq!(sweep(&gw.app, at + 601).await.expect("sweep").expired, 1, "run out after 10 minutes");
    let next = place_of(&gw, SECOND).await.expect("second");
    assert_eq!((next.state, next.offer_until), (PlaceState::Offered, Some(at + 601 + 600)), "{next:?}");
    gw.stop().await;
}
