//! The on-sale rush at CI size (issue 22, item 2; `scripts/bench-cluster.sh`
//! runs it at full size): two gateways on one database and one mail relay, as
//! `compose.yaml` deploys them, and 200 buyers racing through the real pages
//! for the last 50 seats. Each buyer got a purchase link as a caller does (a
//! missed call to the purchase number, the link read from the mail) and opens
//! it on either gateway (the link is signed with the key both share).
//!
//! Checked: exactly 50 seats sold, none twice; every buyer a clear answer —
//! bought, or told the seats are gone (the event page says sold out, or the
//! order form comes back asking for fewer) — and nothing else; every
//! issue-guide mail delivered once (by Message-ID and by recipient).

use std::collections::{HashMap, HashSet};

use dialticket::events::CatalogFile;
use serde_json::Value;

use crate::helpers::*;
use crate::on_every_backend;

const SEATS: usize = 50;
const BUYERS: usize = 200;
const EVENT: &str = "ci-rush";

const CATALOG: &str = r#"
[[organizers]]
id = "rush-org"
name = "Rush Hall"

[[events]]
id = "ci-rush"
organizer = "rush-org"
genre = "Test"
name = "The CI rush"
venue = "Rush Hall"
starts_at = "today+30d 19:00 +09:00"
doors_open = "today+30d 18:00 +09:00"
curtain = "today+30d 19:00 +09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+30d 18:00 +09:00"

[[events.seat_types]]
code = "S"
name = "S seat"
price = 5000
count = 50
"#;

/// What a buyer was told.
#[derive(Debug)]
enum Answer {
    Bought(Vec<String>),
    SoldOut,
    Other(String),
}

/// One buyer as a phone's browser goes: the purchase link (the shop), the
/// event's page, then its order form posted with a sandbox card.
async fn buyer(gw: &TestGateway, link: &str) -> Answer {
    let (status, shop) = gw.get(link).await;
    if status != 200 {
        return Answer::Other(format!("shop {status}: {shop}"));
    }
    let Some(url) =
        shop["events"].as_array().and_then(|e| e.iter().find(|e| e["id"] == EVENT)).map(|e| e["url"].clone())
    else {
        return Answer::Other(format!("{EVENT} not in the shop: {shop}"));
    };
    let (status, page) = gw.get(url.as_str().unwrap_or_default()).await;
    if status != 200 {
        return Answer::Other(format!("event page {status}: {page}"));
    }
    if page["sold_out"] == true && page["form"].is_null() {
        return Answer::SoldOut;
    }
    let (Some(action), Some(token)) = (page["form"]["action"].as_str(), page["form"]["form_token"].as_str()) else {
        return Answer::Other(format!("no order form: {page}"));
    };
    let fields = [
        ("form_token", token),
        ("seat_type", "S"),
        ("quantity", "1"),
        ("payment_method", "card"),
        ("card_number", "4242 4242 4242 4242"),
    ];
    let (status, result) = gw.post(action, &fields).await;
    classify(status, &result)
}

fn classify(status: u16, result: &Value) -> Answer {
    match status {
        200 if result["status"] == "paid" => {
            let seats = result["seats"].as_array().map(|s| s.iter().filter_map(|x| x.as_str().map(String::from)));
            Answer::Bought(seats.map(Iterator::collect).unwrap_or_default())
        }
        // The form again, on the quantity: "only N seats of this type are left".
        422 if result["error_field"] == "quantity" => Answer::SoldOut,
        _ => Answer::Other(format!("order {status}: {result}")),
    }
}

async fn two_hundred_buyers_race_through_the_pages_of_two_gateways(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let (a, b, _keys) = spawn_two_gateways_one_relay(&url).await;
    let catalog = CatalogFile::parse(CATALOG, chrono::Utc::now()).expect("catalog");
    a.app.store.load_catalog(&catalog).await.expect("catalog loads");

    // Purchase links as callers get them: a missed call each (half through each gateway).
    let phones: Vec<String> = (0..BUYERS).map(|i| format!("+8190777{i:05}")).collect();
    let calls = phones.iter().enumerate().map(|(i, p)| {
        let gw = if i % 2 == 0 { &a } else { &b };
        gw.call(p, PURCHASE_MISSED_CALL)
    });
    for report in futures::future::join_all(calls).await {
        assert_eq!(report.final_status, 603, "{backend}: {report:?}");
    }
    let links: Vec<String> = futures::future::join_all(phones.iter().map(|p| a.mail(p, "purchase link")))
        .await
        .iter()
        .map(|m| {
            let link = m.links.iter().find(|l| l.contains("/p/")).unwrap_or_else(|| panic!("no link: {:?}", m.links));
            link.replacen(&b.base, &a.base, 1)
        })
        .collect();

    // All at once; even buyers on gateway a, odd ones on b.
    let buyers = links.iter().enumerate().map(|(i, link)| {
        let (gw, link) = if i % 2 == 0 { (&a, link.clone()) } else { (&b, link.replacen(&a.base, &b.base, 1)) };
        async move { buyer(gw, &link).await }
    });
    let answers = futures::future::join_all(buyers).await;
    let (mut bought, mut sold_out, mut other) = (Vec::new(), 0, Vec::new());
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Answer::Bought(seats) => bought.push((phones[i].clone(), seats)),
            Answer::SoldOut => sold_out += 1,
            Answer::Other(what) => other.push(what),
        }
    }
    eprintln!("{backend}: {} bought, {sold_out} told sold out, {} other", bought.len(), other.len());
    assert!(other.is_empty(), "{backend}: buyers without a clear answer: {other:?}");
    assert_eq!((bought.len(), sold_out), (SEATS, BUYERS - SEATS), "{backend}");
    assert_eq!(a.app.store.count_seats(EVENT, "sold").await.unwrap(), SEATS as i64, "{backend}");
    assert_eq!(a.app.store.count_seats(EVENT, "free").await.unwrap(), 0, "{backend}");
    let mut seats = HashSet::new();
    for (phone, s) in &bought {
        assert_eq!(s.len(), 1, "{backend}: {phone} bought one seat: {s:?}");
        assert!(seats.insert(s[0].clone()), "{backend}: seat {} sold twice", s[0]);
    }

    // Every mail delivered once: all of the outbox sent, no Message-ID twice, and one
    // issue guide to each buyer who bought (none to the others).
    a.settle().await;
    b.settle().await;
    let mails = a.mailbox.messages();
    let mut ids = HashSet::new();
    for m in &mails {
        let id = m.message_id.clone().unwrap_or_else(|| panic!("{backend}: a mail without Message-ID: {}", m.subject));
        assert!(ids.insert(id.clone()), "{backend}: {id} delivered twice");
    }
    let mut guides: HashMap<String, usize> = HashMap::new();
    for m in mails.iter().filter(|m| m.subject.contains("Payment received")) {
        for to in &m.envelope_to {
            *guides.entry(to.clone()).or_default() += 1;
        }
    }
    assert_eq!(guides.len(), SEATS, "{backend}: issue guides to {} phones", guides.len());
    for (phone, _) in &bought {
        assert_eq!(guides.get(&TestGateway::address(phone)), Some(&1), "{backend}: {phone}'s issue guide");
    }
    let queued = a.app.store.outbox(10_000).await.unwrap().len();
    assert_eq!(mails.len(), queued, "{backend}: {} mails queued, {} delivered", queued, mails.len());
    a.stop().await;
    b.stop().await;
}

on_every_backend!(two_hundred_buyers_race_through_the_pages_of_two_gateways);
