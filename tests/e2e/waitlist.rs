//! The waiting list of a sold-out seat type, through the purchase pages (as
//! JSON) and the mail: buyers join in line; seats that come back (a hold run
//! out, an offer declined or run out, part of an offer not bought) are held for
//! the first in line and offered by mail with a deadline, one place at a time;
//! the public never gets them while anyone waits. Times are injected (the
//! sweeps and the hold expiry take the moment to judge), never waited for.

use dialticket::events::CatalogFile;
use dialticket::waitlist::{sweep, DEFAULT_OFFER_MINUTES};

const OFFER_SECS: i64 = DEFAULT_OFFER_MINUTES * 60;
use serde_json::Value;

use crate::helpers::*;

/// Two general-admission seats, on sale now.
pub(crate) const TINY: &str = r#"
[[organizers]]
id = "tiny-org"
name = "Tiny Org"
[[events]]
id = "tiny-night"
organizer = "tiny-org"
genre = "Jazz"
name = "Tiny Night"
region = "Tokyo"
venue = "Tiny Club, Tokyo"
starts_at = "today+30d 19:00 +09:00"
doors_open = "today+30d 18:30 +09:00"
curtain = "today+30d 19:00 +09:00"
sale_start = "today-1d 10:00 +09:00"
sale_end = "today+30d 17:00 +09:00"
contact = "tiny@example.org"
currency = "JPY"
time_zone = "Asia/Tokyo"
[[events.seat_types]]
code = "GA"
name = "General admission"
price = 3000
count = 2
"#;

pub(crate) const EVENT: &str = "tiny-night";
const CARD: &str = "4242 4242 4242 4242";
const HOLDER: &str = "+819011110001";
pub(crate) const FIRST: &str = "+819011110002";
pub(crate) const SECOND: &str = "+819011110003";
pub(crate) const THIRD: &str = "+819011110004";

pub(crate) async fn tiny_gateway() -> TestGateway {
    let gw = spawn_gateway().await;
    load_tiny(&gw).await;
    gw
}

async fn load_tiny(gw: &TestGateway) {
    let catalog = CatalogFile::parse(TINY, chrono::Utc::now()).expect("catalog");
    gw.app.store.load_catalog(&catalog).await.expect("loaded");
}

/// A purchase link for `phone`, by calling the purchase number.
pub(crate) async fn link(gw: &TestGateway, phone: &str) -> String {
    assert_eq!(gw.call(phone, PURCHASE).await.final_status, 200);
    let mail = gw.mails_at_least(phone, "purchase link", 1).await;
    gw.link(&mail[0], "/p/")
}

pub(crate) async fn page(gw: &TestGateway, link: &str) -> Value {
    let (status, page) = gw.get(&format!("{link}/events/{EVENT}")).await;
    assert_eq!(status, 200, "{page}");
    page
}

/// Both seats held (convenience store, unpaid) by HOLDER: sold out.
pub(crate) async fn sold_out_by_a_hold(gw: &TestGateway) {
    let holder = link(gw, HOLDER).await;
    let page = page(gw, &holder).await;
    let fields = [
        ("form_token", page["form"]["form_token"].as_str().expect("form")),
        ("seat_type", "GA"),
        ("quantity", "2"),
        ("payment_method", "konbini"),
    ];
    let (status, order) = gw.post(page["form"]["action"].as_str().expect("action"), &fields).await;
    assert_eq!((status, order["status"].as_str()), (202, Some("pending")), "{order}");
    assert_eq!(free(gw).await, 0);
}

/// Buy one of the seats the event page `p` (as JSON) offers, by card.
async fn buy_one(gw: &TestGateway, p: &Value) -> (u16, Value) {
    let fields = [
        ("form_token", p["form"]["form_token"].as_str().expect("form")),
        ("seat_type", "GA"),
        ("quantity", "1"),
        ("payment_method", "card"),
        ("card_number", CARD),
    ];
    gw.post(p["form"]["action"].as_str().expect("action"), &fields).await
}

pub(crate) async fn free(gw: &TestGateway) -> i64 {
    let e = gw.app.store.event(EVENT).await.expect("event").expect("event");
    e.seat_types[0].available
}

pub(crate) async fn join(gw: &TestGateway, link: &str, quantity: &str) -> Value {
    let page = page(gw, link).await;
    assert_eq!(page["waitlist"]["state"], "join", "{page}");
    let action = page["waitlist"]["action"].as_str().expect("join action").to_string();
    let (status, after) = gw.post(&action, &[("seat_type", "GA"), ("quantity", quantity)]).await;
    assert_eq!(status, 200, "{after}");
    after["waitlist"].clone()
}

/// The hold runs out (judged ten days later): its seats come back. Returns that moment.
pub(crate) async fn hold_runs_out(gw: &TestGateway) -> i64 {
    let later = dialticket::store::now() + 10 * 86_400;
    assert_eq!(dialticket::settlement::expire_holds(&gw.app, later).await.expect("expiry"), 1);
    later
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_that_come_back_go_to_the_line_in_order_by_mail_and_never_to_the_public() {
    let gw = tiny_gateway().await;
    sold_out_by_a_hold(&gw).await;
    let (first, second) = (link(&gw, FIRST).await, link(&gw, SECOND).await);

    // The sold-out page: no order form; the line to join instead.
    let p = page(&gw, &first).await;
    assert!(p["form"].is_null() && p["sold_out"] == true, "{p}");
    let (_, web) = gw.get(&format!("/buy/events/{EVENT}")).await;
    assert_eq!(web["waitlist"]["state"], "call", "the web shop knows no phone: {web}");
    assert_eq!(web["waitlist"]["number"], PURCHASE);

    let w = join(&gw, &first, "2").await;
    assert_eq!(
        (w["state"].as_str(), w["number"].as_i64(), w["quantity"].as_i64()),
        (Some("waiting"), Some(1), Some(2))
    );
    let w = join(&gw, &second, "1").await;
    assert_eq!((w["state"].as_str(), w["number"].as_i64()), (Some("waiting"), Some(2)), "{w}");
    // Joining again changes nothing (the same place).
    let action = format!("{second}/events/{EVENT}/waitlist");
    let (status, again) = gw.post(&action, &[("seat_type", "GA"), ("quantity", "1")]).await;
    assert_eq!((status, again["waitlist"]["number"].as_i64()), (200, Some(2)), "{again}");
    assert_eq!(gw.app.store.line_lengths(EVENT).await.expect("line"), vec![("GA".to_string(), 2)]);

    // Both seats come back: the first in line asked for two and gets both; the
    // public and the second in line get nothing.
    hold_runs_out(&gw).await;
    assert_eq!(free(&gw).await, 0, "not on sale while people wait");
    let p = page(&gw, &second).await;
    assert_eq!((p["waitlist"]["state"].as_str(), p["waitlist"]["number"].as_i64()), (Some("waiting"), Some(1)), "{p}");
    let (_, web) = gw.get(&format!("/buy/events/{EVENT}")).await;
    assert!(web["form"].is_null(), "{web}");

    // The offer is mailed (by this sweep or the gateway's own worker, once), with
    // its deadline on the venue's clock.
    sweep(&gw.app, dialticket::store::now()).await.expect("sweep");
    assert_eq!(sweep(&gw.app, dialticket::store::now()).await.expect("sweep").mailed, 0, "mailed once");
    let offer = gw.mail(FIRST, "Seats are held for you").await;
    assert!(offer.text.contains("GA-1, GA-2") && offer.text.contains("JST"), "{}", offer.text);
    let offer_link = gw.link(&offer, "/p/");
    assert!(offer_link.ends_with(&format!("/events/{EVENT}")), "{offer_link}");

    // The offer's page: the held seats, bought through the order form. One of the two is bought.
    let (_, p) = gw.get(&offer_link).await;
    assert_eq!(p["waitlist"]["state"], "offered", "{p}");
    assert_eq!(p["waitlist"]["seats"], "GA-1, GA-2");
    assert_eq!(p["event"]["seat_types"][0]["available"], 2, "held for this buyer: {p}");
    assert!(p["seat_map"].as_array().is_none_or(Vec::is_empty), "held seats are not picked on the map: {p}");
    let (status, order) = buy_one(&gw, &p).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["payment_status"], "paid", "{order}");
    assert_eq!(order["seats"], serde_json::json!(["GA-1"]), "{order}");

    // The seat not bought went to the next in line at once, not on sale.
    assert_eq!(free(&gw).await, 0);
    let p = page(&gw, &second).await;
    assert_eq!((p["waitlist"]["state"].as_str(), p["waitlist"]["seats"].as_str()), (Some("offered"), Some("GA-2")));
    sweep(&gw.app, dialticket::store::now()).await.expect("sweep");
    gw.mail(SECOND, "Seats are held for you").await;

    // Declined: nobody else waits, so the seat is on sale again.
    let (status, p) = gw.post(p["waitlist"]["leave_action"].as_str().expect("leave"), &[]).await;
    assert_eq!(status, 200, "{p}");
    assert!(p["waitlist"]["state"] == "join" || p["waitlist"].is_null(), "{p}");
    assert!(p["form"].is_object(), "on sale again: {p}");
    assert_eq!(free(&gw).await, 1);
    let line = gw.app.store.line_lengths(EVENT).await.expect("line");
    assert!(line.is_empty(), "{line:?}");
    // The line's story is in the journal, with who did what.
    let journal = gw.app.store.journal_all().await.expect("journal");
    let line: Vec<(&str, &str)> =
        journal.iter().filter(|j| j.entity == "waitlist").map(|j| (j.action.as_str(), j.actor.as_str())).collect();
    for step in [("offer", "system"), ("taken", "web:order"), ("declined", "web:waitlist")] {
        assert!(line.contains(&step), "{step:?} not in {line:?}");
    }
    assert!(journal
        .iter()
        .filter(|j| j.entity == "waitlist")
        .all(|j| serde_json::from_str::<Value>(&j.detail).is_ok()));
    gw.settle().await;
    assert_eq!(gw.mails(FIRST, "Seats are held for you").len() + gw.mails(SECOND, "Seats are held for you").len(), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_not_taken_in_time_goes_to_the_next_in_line() {
    let gw = tiny_gateway().await;
    sold_out_by_a_hold(&gw).await;
    let (first, second, third) = (link(&gw, FIRST).await, link(&gw, SECOND).await, link(&gw, THIRD).await);
    join(&gw, &first, "2").await;
    join(&gw, &second, "2").await;
    join(&gw, &third, "1").await;
    let at = hold_runs_out(&gw).await;
    sweep(&gw.app, at).await.expect("sweep");
    gw.mail(FIRST, "Seats are held for you").await;

    // Before the deadline nothing moves; after it, the seats go to the second place.
    let done = sweep(&gw.app, at + OFFER_SECS - 60).await.expect("sweep");
    assert_eq!(done.expired, 0, "{done:?}");
    let done = sweep(&gw.app, at + OFFER_SECS + 1).await.expect("sweep");
    assert_eq!(done.expired, 1, "{done:?}");
    gw.mail(SECOND, "Seats are held for you").await;
    let p = page(&gw, &first).await;
    assert_eq!(p["waitlist"]["state"], "join", "the first place has ended: {p}");
    assert!(p["form"].is_null(), "and cannot buy the seats any more: {p}");
    let p = page(&gw, &third).await;
    assert_eq!((p["waitlist"]["state"].as_str(), p["waitlist"]["number"].as_i64()), (Some("waiting"), Some(1)));
    // An old order form of the first place cannot take them either.
    let fields =
        [("form_token", "late-form-token-000000"), ("seat_type", "GA"), ("quantity", "2"), ("card_number", CARD)];
    let (status, refused) = gw.post(&format!("{first}/events/{EVENT}"), &fields).await;
    assert_ne!(status, 200, "{refused}");
    assert_eq!(gw.app.store.line_place(EVENT, &phone(SECOND)).await.expect("place").expect("place").seats.len(), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_is_refused_while_seats_are_on_sale_and_beyond_the_phone_limit() {
    let gw = tiny_gateway().await;
    let first = link(&gw, FIRST).await;
    let p = page(&gw, &first).await;
    assert!(p["waitlist"].is_null(), "nothing sold out, no line: {p}");
    let action = format!("{first}/events/{EVENT}/waitlist");
    let (status, refused) = gw.post(&action, &[("seat_type", "GA"), ("quantity", "1")]).await;
    assert_eq!(status, 409, "{refused}");
    for (seat_type, quantity) in [("GA", "5"), ("GA", "0"), ("ZZ", "1"), ("GA", "one")] {
        let (status, refused) = gw.post(&action, &[("seat_type", seat_type), ("quantity", quantity)]).await;
        assert!([400, 409, 422].contains(&status), "{seat_type} {quantity}: {status} {refused}");
    }
    assert!(gw.app.store.line_lengths(EVENT).await.expect("line").is_empty());
    gw.stop().await;
}

/// Tiny Night's own purchase number.
const TINY_NUMBER: &str = "+442079460160";

/// A purchase call to `TINY_NUMBER` pressing 2 after the announcement starts,
/// its caller ID asserted by the trusted proxy (`proven`) or only claimed.
async fn call_and_press_2(gw: &TestGateway, caller: &str, proven: bool) -> dialticket_sim::sip::CallReport {
    let mut opts = dialticket_sim::sip::CallOptions::new(gw.sip, caller, TINY_NUMBER);
    match proven {
        true => opts.pai = Some(format!("<tel:{caller}>")),
        false => opts.local_ip = "127.0.0.66".parse().expect("ip"),
    }
    opts.press = dialticket_sim::dtmf::KeyPress::sequence(std::time::Duration::from_millis(300), "2");
    let report = gw.call_with(opts).await;
    assert!(report.answered && report.bye_from_gateway, "{report:?}");
    report
}

/// What a recorded call said.
async fn said(gw: &TestGateway, report: &dialticket_sim::sip::CallReport) -> String {
    let key = format!("{} 1", report.call_id);
    let mut tx = gw.app.store.begin().await.expect("begin");
    let outcome = tx.recorded_calls(&[key.as_str()]).await.expect("calls").remove(&key).expect("recorded");
    let v: Value = serde_json::from_str(&outcome).expect("outcome");
    v["announce"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_to_a_sold_out_events_number_joins_the_line_by_pressing_2() {
    let (gw, dir) = crate::dialplan::gateway_with_own_dialplans().await;
    load_tiny(&gw).await;
    let rule = format!("[[numbers]]\nnumber = \"{TINY_NUMBER}\"\naction = \"purchase\"\nevent = \"{EVENT}\"\n");
    crate::dialplan::write(dir.path(), "tiny.toml", &rule);
    crate::dialplan::dialplan_status(&gw, |d| d["generation"] == 2).await;

    // On sale: the usual announcement; a 2 does nothing.
    let report = call_and_press_2(&gw, FIRST, true).await;
    assert_eq!(said(&gw, &report).await, "purchase-link-sent");
    assert!(gw.app.store.line_place(EVENT, &phone(FIRST)).await.expect("place").is_none());

    // Sold out: told so, and 2 puts the caller in line for one seat of any type.
    sold_out_by_a_hold(&gw).await;
    let report = call_and_press_2(&gw, SECOND, true).await;
    assert_eq!(said(&gw, &report).await, "sold-out-link-sent");
    let place = gw.app.store.line_place(EVENT, &phone(SECOND)).await.expect("place").expect("in line");
    assert_eq!((place.quantity, place.seat_type.as_str(), place.number), (1, "", 1), "{place:?}");

    // A caller ID only claimed (no trusted peer vouched for it) is not offered the line.
    let report = call_and_press_2(&gw, THIRD, false).await;
    assert_eq!(said(&gw, &report).await, "purchase-link-sent");
    assert!(gw.app.store.line_place(EVENT, &phone(THIRD)).await.expect("place").is_none());

    // A seat comes back: offered to the caller by mail, on the page of the link.
    hold_runs_out(&gw).await;
    sweep(&gw.app, dialticket::store::now()).await.expect("sweep");
    let offer = gw.mail(SECOND, "Seats are held for you").await;
    let (_, p) = gw.get(&gw.link(&offer, "/p/")).await;
    assert_eq!(
        (p["waitlist"]["state"].as_str(), p["waitlist"]["seats"].as_str()),
        (Some("offered"), Some("GA-1")),
        "{p}"
    );
    assert_eq!(free(&gw).await, 1, "the other seat: nobody else waits");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_events_seats_are_refunded_not_offered_to_the_line() {
    let gw = tiny_gateway().await;
    sold_out_by_a_hold(&gw).await;
    join(&gw, &link(&gw, FIRST).await, "1").await;
    let at = dialticket::store::now();
    assert!(gw.app.store.start_event_cancellation(EVENT, "test", at).await.expect("start"));
    dialticket::event_cancel::spawn(gw.app.clone(), EVENT.to_string());
    // Wait for the cancellation to finish (the hold is withdrawn, its seats freed).
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    while gw.app.store.event_cancellation(EVENT).await.expect("read").is_none_or(|c| c.state != "done") {
        assert!(tokio::time::Instant::now() < deadline, "the cancellation never finished");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sweep(&gw.app, dialticket::store::now()).await.expect("sweep");
    let place = gw.app.store.line_place(EVENT, &phone(FIRST)).await.expect("place").expect("still a place");
    assert_eq!((place.state, place.seats.len()), (dialticket::waitlist::PlaceState::Waiting, 0), "{place:?}");
    assert_eq!(free(&gw).await, 2, "freed, and no longer on sale (sales stopped)");
    gw.settle().await;
    assert!(gw.mails(FIRST, "Seats are held for you").is_empty());
    gw.stop().await;
}

/// Tiny Night's twin with three seats, sold in call order.
fn queue_night() -> String {
    let catalog = TINY.replace("tiny-night", "queue-night").replace("Tiny Night", "Queue Night");
    let catalog = catalog.replace("count = 2", "count = 3");
    catalog.replace("time_zone = \"Asia/Tokyo\"\n", "time_zone = \"Asia/Tokyo\"\ncall_order = true\n")
}
const QUEUE_NUMBER: &str = "+442079460161";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_are_held_in_the_order_people_called_not_the_order_they_click() {
    let (gw, dir) = crate::dialplan::gateway_with_own_dialplans().await;
    let catalog = CatalogFile::parse(&queue_night(), chrono::Utc::now()).expect("catalog");
    gw.app.store.load_catalog(&catalog).await.expect("loaded");
    let rule = format!("[[numbers]]\nnumber = \"{QUEUE_NUMBER}\"\naction = \"purchase\"\nevent = \"queue-night\"\n");
    crate::dialplan::write(dir.path(), "queue.toml", &rule);
    crate::dialplan::dialplan_status(&gw, |d| d["generation"] == 2).await;
    let place = |p: &'static str| {
        let gw = &gw;
        async move { gw.app.store.line_place("queue-night", &phone(p)).await.expect("place").expect("in line") }
    };

    // Three callers, one after another: the first is held all three seats (as
    // many as a phone may have, up to what there is); the others wait in call order.
    for caller in [FIRST, SECOND, THIRD] {
        assert_eq!(call_as(&gw, caller, QUEUE_NUMBER, true).await, 200);
    }
    let first = place(FIRST).await;
    assert_eq!((first.state, first.seats.len()), (dialticket::waitlist::PlaceState::Offered, 3), "{first:?}");
    assert_eq!(place(SECOND).await.number, 1);
    assert_eq!(place(THIRD).await.number, 2);

    // The last caller clicks first: no seat to take, only its place in line.
    let third = gw.link(&gw.mail(THIRD, "purchase link").await, "/p/");
    assert!(third.ends_with("/events/queue-night"), "the event's number links its page: {third}");
    let (_, p) = gw.get(&third).await;
    assert!(p["form"].is_null(), "{p}");
    assert_eq!((p["waitlist"]["state"].as_str(), p["waitlist"]["number"].as_i64()), (Some("waiting"), Some(2)), "{p}");
    let (_, web) = gw.get("/buy/events/queue-night").await;
    assert!(web["form"].is_null(), "nor on the web shop: {web}");

    // The first buys one of its three: the other two are held for the second caller at once.
    let offer = gw.mail(FIRST, "Seats are held for you").await;
    let (_, p) = gw.get(&gw.link(&offer, "/p/")).await;
    let (status, order) = buy_one(&gw, &p).await;
    assert_eq!((status, order["seats"].clone()), (200, serde_json::json!(["GA-1"])), "{order}");
    let second = place(SECOND).await;
    assert_eq!(second.seats, ["GA-2", "GA-3"], "{second:?}");
    let offer = gw.mail(SECOND, "Seats are held for you").await;

    // The second lets them go: the third caller's turn.
    let (_, p) = gw.get(&gw.link(&offer, "/p/")).await;
    let (status, _) = gw.post(p["waitlist"]["leave_action"].as_str().expect("leave"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(place(THIRD).await.seats, ["GA-2", "GA-3"]);
    gw.mail(THIRD, "Seats are held for you").await;
    gw.stop().await;
}

pub(crate) fn phone(p: &str) -> dialticket::phone::PhoneNumber {
    dialticket::phone::PhoneNumber::parse(p).expect("phone")
}
