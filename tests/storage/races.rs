//! Races that must never oversell, double-issue or double-charge.

use std::collections::HashSet;

use dialticket::domain::PaymentResult;
use dialticket::phone::PhoneNumber;
use dialticket::store::{now, CallRecord, NewMail, Store, StoreError};
use sqlx::Connection;

use crate::backends::store_with;
use crate::on_every_backend;

/// One event, "last-ten", of ten "S" seats at 5,000 (also `new_purchase.rs`'s).
pub(crate) const LAST_TEN: &str = r#"
[[organizers]]
id = "org"
name = "Race Hall"

[[events]]
id = "last-ten"
organizer = "org"
genre = "Test"
name = "The last ten seats"
venue = "Race Hall"
starts_at = "today+30d 19:00 +09:00"
doors_open = "today+30d 18:00 +09:00"
curtain = "today+30d 19:00 +09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+30d 18:00 +09:00"

[[events.seat_types]]
code = "S"
name = "S seat"
price = 5000
count = 10
"#;

fn phone(i: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+8190{:08}", i)).unwrap()
}

/// Buy one seat for phone `i`, as the order page does (one transaction, retried on conflict).
async fn buy(store: &Store, i: usize, form_token: &str) -> Result<String, StoreError> {
    let event = store.event("last-ten").await?.expect("event");
    Store::retry(|| async {
        if let Some(p) = store.purchase_by_form_token(form_token).await? {
            return Ok(p.id);
        }
        let mut tx = store.begin().await?;
        let user = tx.touch_phone_user(&phone(i), "en", now()).await?;
        let mut p = tx.reserve(&user, &user.phone, &event, "S", 1, "card", form_token, now()).await?;
        let t = p.settle(&PaymentResult::Approved { reference: format!("ref-{i}") }).expect("settle");
        tx.save_purchase(&p, &t, "test", now()).await?;
        tx.commit().await?;
        Ok(p.id)
    })
    .await
}

async fn two_hundred_buyers_race_for_the_last_ten_seats(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { buy(&store, i, &format!("form-token-{i:04}-xxxxxxxx")).await })
        })
        .collect();
    let mut sold = Vec::new();
    let mut sold_out = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => sold.push(id),
            Err(StoreError::NotEnoughSeats { .. }) => sold_out += 1,
            Err(e) => panic!("{backend}: a buyer failed with {e}"),
        }
    }
    eprintln!("{backend}: {} bought, {} told sold out", sold.len(), sold_out);
    assert_eq!((sold.len(), sold_out), (10, 190), "{backend}");
    assert_eq!(store.count_seats("last-ten", "sold").await.unwrap(), 10);
    assert_eq!(store.count_seats("last-ten", "free").await.unwrap(), 0);
    let mut seats = HashSet::new();
    for id in &sold {
        let p = store.purchase(id).await.unwrap().unwrap();
        assert_eq!(p.seats.len(), 1);
        assert!(seats.insert(p.seats[0].clone()), "{backend}: seat {} sold twice", p.seats[0]);
    }
}

async fn the_same_form_posted_ten_times_at_once_buys_once(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { buy(&store, 7, "one-form-token-0000000000").await })
        })
        .collect();
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap().unwrap_or_else(|e| panic!("{backend}: {e}")));
    }
    assert_eq!(ids.len(), 1, "{backend}: one purchase for one form");
    assert_eq!(store.count_seats("last-ten", "sold").await.unwrap(), 1);
}

async fn fifty_concurrent_issue_calls_issue_once(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    let id = buy(&store, 1, "issue-race-form-token-000").await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                Store::retry(|| async {
                    let mut tx = store.begin().await?;
                    let key = format!("call-{i} 1");
                    let record = CallRecord {
                        call_key: &key,
                        action: "issue",
                        dialed: "+442079460101",
                        caller: "+819000000001",
                        identity_source: "From",
                        trusted: false,
                        source: "127.0.0.1:5060",
                        attestation: None,
                        verification: "{\"kind\":\"none\"}",
                    };
                    assert!(tx.claim_call(&record, now()).await?.is_none());
                    let mut p = tx.purchase(&id).await?.expect("purchase");
                    let (outcome, t) = p.issue_call(now()).expect("paid");
                    tx.save_purchase(&p, &t, &format!("call:{i}"), now()).await?;
                    tx.finish_call(&key, "{}").await?;
                    tx.commit().await?;
                    Ok::<_, StoreError>(outcome)
                })
                .await
            })
        })
        .collect();
    let mut issued = 0;
    for t in tasks {
        if t.await.unwrap().unwrap_or_else(|e| panic!("{backend}: {e}")) == dialticket::domain::IssueOutcome::Issued {
            issued += 1;
        }
    }
    assert_eq!(issued, 1, "{backend}: exactly one call issued the ticket");
    let p = store.purchase(&id).await.unwrap().unwrap();
    assert_eq!((p.issued, p.issue_call_count), (true, 50), "{backend}");
    let journal = store.journal_for(&id).await.unwrap();
    assert_eq!(journal.iter().filter(|j| j.action == "issued").count(), 1, "{backend}");
    assert_eq!(journal.iter().filter(|j| j.action == "issue-call").count(), 50, "{backend}");
}

async fn a_call_key_is_claimed_once(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                Store::retry(|| async {
                    let mut tx = store.begin().await?;
                    let record = CallRecord {
                        call_key: "same-call-id 1",
                        action: "purchase",
                        dialed: "+442079460100",
                        caller: "+819000000002",
                        identity_source: "From",
                        trusted: false,
                        source: "127.0.0.1:5060",
                        attestation: None,
                        verification: "{\"kind\":\"none\"}",
                    };
                    let previous = tx.claim_call(&record, now()).await?;
                    if previous.is_none() {
                        tx.finish_call("same-call-id 1", "{\"announce\":\"purchase-link-sent\"}").await?;
                    }
                    tx.commit().await?;
                    Ok::<_, StoreError>(previous)
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut first = 0;
    for t in tasks {
        match t.await.unwrap() {
            None => first += 1,
            Some(outcome) => assert_eq!(outcome, "{\"announce\":\"purchase-link-sent\"}", "{backend}"),
        }
    }
    assert_eq!(first, 1, "{backend}");
}

async fn the_journal_is_append_only(backend: &str) {
    let Some((store, db)) = store_with(backend, LAST_TEN).await else { return };
    buy(&store, 3, "journal-form-token-000000").await.unwrap();
    let mut conn = sqlx::AnyConnection::connect(&db.url()).await.unwrap();
    for sql in ["UPDATE journal SET actor = 'forger'", "DELETE FROM journal"] {
        let err = sqlx::query(sql).execute(&mut conn).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{backend}: {err}");
    }
}

async fn sales_and_billing_views_count_what_was_sold(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    for i in 0..3 {
        buy(&store, i, &format!("sales-form-token-{i:08}")).await.unwrap();
    }
    let counts = store.seat_counts("last-ten").await.unwrap();
    assert_eq!(counts, vec![("S".into(), "free".into(), 7), ("S".into(), "sold".into(), 3)], "{backend}");
    let (name, tickets, paid) = store.organizer_totals("org").await.unwrap().unwrap();
    assert_eq!((name.as_str(), tickets, paid), ("Race Hall", 3, 0), "{backend}");
    assert_eq!(store.paid_sales("last-ten").await.unwrap().len(), 3);
    assert!(store.organizer_totals("nobody").await.unwrap().is_none());
}

/// A write that fails takes its whole transaction with it, though on SQLite it is
/// sent later, with `COMMIT` (deferred to save round trips): the mail enqueued
/// before it is not kept, the journal gets nothing, and the writer is free after.
async fn a_failing_write_leaves_nothing_of_its_transaction(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    let record = CallRecord {
        call_key: "recorded-call-id 1",
        action: "purchase",
        dialed: "+442079460100",
        caller: "+819000000003",
        identity_source: "From",
        trusted: false,
        source: "127.0.0.1:5060",
        attestation: None,
        verification: "{\"kind\":\"none\"}",
    };
    let mut tx = store.begin().await.unwrap();
    tx.record_calls(&[(record.clone(), "{}")], now()).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let mail = NewMail { to: "lost@example.org", template: "t", lang: "en", subject: "s", data: "{}", at: now() };
    tx.enqueue_mails(&[mail]).await.unwrap();
    tx.journal("phone-user", "0000000001", "should-not-stay", None, None, "test", "{}");
    let failed = match tx.record_calls(&[(record, "{}")], now()).await {
        Ok(()) => tx.commit().await,
        Err(e) => Err(e),
    };
    assert!(matches!(failed, Err(StoreError::Conflict)), "{backend}: {failed:?}");
    assert!(store.outbox(10).await.unwrap().is_empty(), "{backend}: the mail stayed");
    assert!(store.journal_for("0000000001").await.unwrap().is_empty(), "{backend}: the journal kept it");

    let mut tx = store.begin().await.unwrap();
    let mail = NewMail { to: "kept@example.org", template: "t", lang: "en", subject: "s", data: "{}", at: now() };
    tx.enqueue_mails(&[mail]).await.unwrap();
    tx.commit().await.unwrap();
    let kept = store.outbox(10).await.unwrap();
    assert_eq!(kept.iter().map(|m| m.to_addr.as_str()).collect::<Vec<_>>(), vec!["kept@example.org"], "{backend}");
}

on_every_backend!(
    a_failing_write_leaves_nothing_of_its_transaction,
    sales_and_billing_views_count_what_was_sold,
    two_hundred_buyers_race_for_the_last_ten_seats,
    the_same_form_posted_ten_times_at_once_buys_once,
    fifty_concurrent_issue_calls_issue_once,
    a_call_key_is_claimed_once,
    the_journal_is_append_only,
    buyers_at_once_take_the_best_seats_and_seats_given_back_go_first,
);

/// [`LAST_TEN`] with a hundred seats, as event "hundred".
fn hundred() -> String {
    LAST_TEN.replace("id = \"last-ten\"", "id = \"hundred\"").replace("count = 10\n", "count = 100\n")
}

/// Reserve two of "hundred"'s best free seats for phone `i` (left held, not paid).
async fn hold_two(store: &Store, i: usize) -> Result<dialticket::domain::Purchase, StoreError> {
    let event = store.event("hundred").await?.expect("event");
    Store::retry(|| async {
        let mut tx = store.begin().await?;
        let user = tx.touch_phone_user(&phone(i), "en", now()).await?;
        let p = tx.reserve(&user, &user.phone, &event, "S", 2, "card", &format!("hold-two-{i:08}-xxxx"), now()).await?;
        tx.commit().await?;
        Ok(p)
    })
    .await
}

/// Buyers at once each get different seats, together the best ones with no gap
/// (on PostgreSQL they pass over rows another buyer holds instead of queueing on
/// them); the free count the shop shows follows this gateway's own sales and
/// releases at once; a seat given back is the next one taken.
async fn buyers_at_once_take_the_best_seats_and_seats_given_back_go_first(backend: &str) {
    let Some((store, _db)) = store_with(backend, &hundred()).await else { return };
    let available = |store: Store| async move {
        let e = store.event("hundred").await.unwrap().unwrap();
        e.seat_types[0].available
    };
    assert_eq!(available(store.clone()).await, 100);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { hold_two(&store, i).await })
        })
        .collect();
    let mut held = Vec::new();
    for t in tasks {
        held.push(t.await.unwrap().unwrap_or_else(|e| panic!("{backend}: a buyer failed with {e}")));
    }
    let map = store.seat_map("hundred").await.unwrap();
    let taken: Vec<usize> = map.iter().enumerate().filter(|(_, s)| !s.free).map(|(i, _)| i + 1).collect();
    assert_eq!(taken, (1..=80).collect::<Vec<_>>(), "{backend}: the 80 best seats, no gap");
    let mut seats = HashSet::new();
    for p in &held {
        assert_eq!(p.seats.len(), 2);
        for s in &p.seats {
            assert!(seats.insert(s.clone()), "{backend}: seat {s} held twice");
        }
    }
    assert_eq!(available(store.clone()).await, 20, "{backend}: this gateway's sales counted at once");

    // The holder of the best seat gives them back (a declined payment).
    let first = &map[0].seat_code;
    let back = held.iter().find(|p| p.seats.contains(first)).expect("someone holds the first seat");
    let mut tx = store.begin().await.unwrap();
    tx.release_seats(&back.id, now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(available(store.clone()).await, 22, "{backend}: a release counted at once");
    let next = hold_two(&store, 1000).await.unwrap();
    let mut want = back.seats.clone();
    want.sort();
    let mut got = next.seats.clone();
    got.sort();
    assert_eq!(got, want, "{backend}: the seats given back are the best free ones, taken next");
    assert_eq!(available(store.clone()).await, 20);
}
