//! A whole event cancelled from the back office (issue 20, step 5): "the
//! organizer cancels one order, then the whole event: every holder refunded and
//! mailed exactly once, also when the gateway is killed halfway and restarted".

use std::time::{Duration, Instant};

use crate::backoffice::{csrf_of, load_other_organizer, Office};
use crate::backoffice_orders::{buy_on_the_web, organizer_office};
use crate::helpers::*;

/// The event cancelled: the holonic hall's, started relative to now.
const EVENT: &str = "open-rehearsal";
const CANCEL: &str = "/admin/events/open-rehearsal/cancel";
const MAIL: &str = "Cancelled and refunded";

/// `n` paid orders of [`EVENT`] bought on the web shop: (order id, holder phone).
async fn paid_orders(gw: &TestGateway, n: usize, prefix: &str) -> Vec<(String, String)> {
    let mut orders = Vec::new();
    for i in 0..n {
        let holder = format!("{prefix}{i:02}");
        let order = buy_on_the_web(gw, EVENT, &holder).await;
        let pid = order["purchase_id"].as_str().expect("an order id").to_string();
        let p = gw.app.store.purchase(&pid).await.expect("read").expect("the order");
        assert_eq!(p.payment_status.as_str(), "paid", "{order}");
        orders.push((pid, holder));
    }
    orders
}

/// Confirm the event's cancellation through its page (CSRF token, the typed id).
async fn confirm_cancel(office: &mut Office) -> u16 {
    let (status, page, _) = office.get(CANCEL).await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let (status, _, location) = office.post(CANCEL, &[("csrf", &csrf), ("confirm_id", EVENT)]).await;
    if status == 303 {
        assert_eq!(location.as_deref(), Some(CANCEL));
    }
    status
}

/// Wait until the event's cancellation is `done` (the runner is in the background).
async fn wait_done(gw: &TestGateway) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let c = gw.app.store.event_cancellation(EVENT).await.expect("read");
        if c.as_ref().is_some_and(|c| c.state == "done") {
            return;
        }
        assert!(Instant::now() < until, "the cancellation never finished: {c:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until `n` orders of the event are refunded.
async fn wait_refunded(gw: &TestGateway, orders: &[(String, String)], n: usize) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let mut refunded = 0;
        for (pid, _) in orders {
            let p = gw.app.store.purchase(pid).await.expect("read").expect("order");
            refunded += usize::from(p.payment_status.as_str() == "refunded");
        }
        if refunded >= n {
            return;
        }
        assert!(Instant::now() < until, "only {refunded} of {n} refunded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn journalled(gw: &TestGateway, pid: &str, action: &str) -> usize {
    gw.app.store.journal_for(pid).await.expect("journal").iter().filter(|j| j.action == action).count()
}

/// Every order refunded once, journalled once, its holder's cancellation mail queued once.
async fn assert_each_once(gw: &TestGateway, orders: &[(String, String)]) {
    for (pid, holder) in orders {
        let p = gw.app.store.purchase(pid).await.expect("read").expect("order");
        assert_eq!(p.payment_status.as_str(), "refunded", "{pid}");
        assert_eq!(journalled(gw, pid, "refund").await, 1, "{pid}: refunded once");
        assert_eq!(journalled(gw, pid, "cancel").await, 1, "{pid}: one cancel transition");
        assert_eq!(gw.queued(holder, MAIL).await, 1, "{holder}: one cancellation mail");
    }
}

#[tokio::test]
async fn an_event_is_cancelled_every_holder_refunded_and_mailed_once() {
    an_event_is_cancelled_every_holder_refunded_and_mailed_once_on("sqlite").await;
}

#[tokio::test]
async fn an_event_is_cancelled_every_holder_refunded_and_mailed_once_in_postgres() {
    an_event_is_cancelled_every_holder_refunded_and_mailed_once_on("postgres").await;
}

async fn an_event_is_cancelled_every_holder_refunded_and_mailed_once_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let orders = paid_orders(&gw, 20, "+8190555510").await;

    // First the organizer cancels one order on its own.
    let (one, one_holder) = &orders[0];
    let (_, page, _) = office.get(&format!("/admin/orders/{one}/cancel")).await;
    let at = page.find("name=\"step\" value=\"").expect("a step field");
    let step = page[at + 19..].split('"').next().expect("step").to_string();
    let (status, _, _) =
        office.post(&format!("/admin/orders/{one}/cancel"), &[("csrf", &csrf_of(&page)), ("step", &step)]).await;
    assert_eq!(status, 303);
    assert_eq!(gw.queued(one_holder, MAIL).await, 1);

    // The confirmation says what will happen and changes nothing.
    let (status, page, _) = office.get(CANCEL).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("19 orders will be cancelled") && page.contains("data-confirm=\"event-cancel\""), "{page}");
    assert!(page.contains("<label for=\"confirm_id\">"), "{page}");
    assert!(gw.app.store.event_cancellation(EVENT).await.unwrap().is_none());
    let csrf = csrf_of(&page);

    // No CSRF token, no change; a wrong id is refused and kept in the form.
    let (status, _, _) = office.post(CANCEL, &[("confirm_id", EVENT)]).await;
    assert_eq!(status, 403);
    let (status, page, _) = office.post(CANCEL, &[("csrf", &csrf), ("confirm_id", "open-rehearsa")]).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("data-error") && page.contains("value=\"open-rehearsa\""), "{page}");
    assert!(gw.app.store.event_cancellation(EVENT).await.unwrap().is_none());
    assert!(!gw.app.store.event(EVENT).await.unwrap().unwrap().sales_paused);

    // Another organizer's account gets a 403 for the page and the POST, by URL guessing.
    load_other_organizer(&gw).await;
    let mut other = organizer_office(&gw, "other", "other-hall").await;
    let (status, _, _) = other.get(CANCEL).await;
    assert_eq!(status, 403);
    let (_, home, _) = other.get("/admin/").await;
    let (status, _, _) = other.post(CANCEL, &[("csrf", &csrf_of(&home)), ("confirm_id", EVENT)]).await;
    assert_eq!(status, 403);
    assert!(gw.app.store.event_cancellation(EVENT).await.unwrap().is_none());

    // Confirmed: sales stop at once; confirmed again: nothing more.
    assert_eq!(confirm_cancel(&mut office).await, 303);
    assert!(gw.app.store.event(EVENT).await.unwrap().unwrap().sales_paused, "sales stopped");
    assert_eq!(confirm_cancel(&mut office).await, 303);
    wait_done(&gw).await;
    let c = gw.app.store.event_cancellation(EVENT).await.unwrap().unwrap();
    assert_eq!(c.total, 19);
    assert!(c.actor.starts_with("account:"), "{c:?}");
    assert_each_once(&gw, &orders).await;
    for (pid, _) in &orders[1..] {
        assert_eq!(journalled(&gw, pid, "event-cancel").await, 1, "{pid}");
    }
    assert_eq!(journalled(&gw, one, "event-cancel").await, 0, "cancelled before: skipped");
    // The page shows it done, 19 of 19.
    let (status, page, _) = office.get(CANCEL).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-cancellation=\"done\"") && page.contains("19 of 19 orders cancelled"), "{page}");
    // The shop takes no more orders.
    let (_, shop) = gw.get(&format!("{}/buy/events/{EVENT}", gw.base)).await;
    assert_eq!(shop["on_sale"], false, "sales are stopped: {shop}");
    // The mails go out, one per holder.
    for (_, holder) in orders.iter().step_by(5) {
        gw.mail(holder, MAIL).await;
        assert_eq!(gw.mails(holder, MAIL).len(), 1, "{holder}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_cancellation_killed_halfway_is_finished_by_two_restarted_gateways_once() {
    a_cancellation_killed_halfway_is_finished_by_two_restarted_gateways_once_on("sqlite").await;
}

#[tokio::test]
async fn a_cancellation_killed_halfway_is_finished_by_two_restarted_gateways_once_in_postgres() {
    a_cancellation_killed_halfway_is_finished_by_two_restarted_gateways_once_on("postgres").await;
}

async fn a_cancellation_killed_halfway_is_finished_by_two_restarted_gateways_once_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("key.pem");
    let shared = |c: &mut dialticket::config::Config| {
        c.database_url = url.clone();
        c.signing_key = key.clone();
    };
    // The first gateway halts after 7 orders, as if killed there.
    let first = spawn_gateway_with(|c| {
        shared(c);
        c.event_cancel_stop_after = Some(7);
    })
    .await;
    let mut office = organizer_office(&first, "holonic", "holonic-hall").await;
    let orders = paid_orders(&first, 20, "+8190555620").await;
    assert_eq!(confirm_cancel(&mut office).await, 303);
    wait_refunded(&first, &orders, 7).await;
    let c = first.app.store.event_cancellation(EVENT).await.unwrap().unwrap();
    assert_eq!((c.state.as_str(), c.total), ("running", 20));
    assert_eq!(first.app.store.open_orders(EVENT).await.unwrap().len(), 13, "halted after 7");
    first.stop().await;

    // Two gateways start on the same database; both resume it, each order slowed
    // so that they work at the same time.
    let slow = |c: &mut dialticket::config::Config| {
        shared(c);
        c.event_cancel_order_delay = Some(Duration::from_millis(40));
    };
    let (a, b) = tokio::join!(spawn_gateway_with(slow), spawn_gateway_with(slow));
    wait_done(&a).await;
    assert_eq!(b.app.store.event_cancellation(EVENT).await.unwrap().unwrap().state, "done");
    assert_each_once(&a, &orders).await;
    for (pid, _) in &orders {
        assert_eq!(journalled(&a, pid, "event-cancel").await, 1, "{pid}");
    }
    // Started again once more: nothing is left to do, nothing is done twice.
    let c = spawn_gateway_with(shared).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_each_once(&c, &orders).await;
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn a_cancelled_events_ticket_scans_as_cancelled_at_the_door() {
    let gw = spawn_gateway().await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let phone = "+819055570001";
    // Issued and confirmed: it would be admitted.
    let (_, page) = gw.issued_ticket(phone, EVENT, 1, true).await;
    let code = page["tickets"][0]["code"].as_str().expect("a code").to_string();
    let now = dialticket::store::now();
    let made = gw.app.store.add_staff(EVENT, "Aiko", None, true, "test", now).await.expect("a device");
    let token = made.api_token.expect("an API token");
    assert_eq!(confirm_cancel(&mut office).await, 303);
    wait_done(&gw).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/staff/api/scan", gw.base))
        .header("content-type", "application/json")
        .bearer_auth(&token)
        .body(serde_json::json!({ "code": code }).to_string())
        .send()
        .await
        .expect("scan");
    let answer: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(answer["result"].as_str(), Some("cancelled"), "{answer}");
    assert_eq!(gw.queued(phone, MAIL).await, 1);
    gw.stop().await;
}
