//! A purchase made in a transaction is written once, as the transaction ends
//! it (`src/store/new_purchase.rs`): what commits is what the separate insert
//! and updates wrote, a read later in the same transaction sees it, a rolled
//! back one leaves nothing, and its version lets the next save through.

use crate::backends::store_with;
use crate::on_every_backend;
use crate::races::LAST_TEN;
use dialticket::domain::{PaymentResult, PaymentStatus};
use dialticket::phone::PhoneNumber;
use dialticket::store::{now, StoreError};

async fn a_new_purchase_is_written_once_as_it_ends(backend: &str) {
    let Some((store, _db)) = store_with(backend, LAST_TEN).await else { return };
    let event = store.event("last-ten").await.unwrap().unwrap();
    let phone = PhoneNumber::parse("+819000000001").unwrap();
    let at = now();

    // Made, saved paid, its channel set, then read back in the same transaction.
    let mut tx = store.begin().await.unwrap();
    let user = tx.touch_phone_user(&phone, "en", at).await.unwrap();
    let mut p = tx.reserve(&user, &phone, &event, "S", 2, "card", "form-token-0000001", at).await.unwrap();
    tx.set_purchase_channel(&p.id, "web").await.unwrap();
    let t = p.settle(&PaymentResult::Approved { reference: "ref-1".into() }).unwrap();
    tx.save_purchase(&p, &t, "test", at).await.unwrap();
    let seen = tx.purchase(&p.id).await.unwrap().expect("read in its own transaction");
    assert_eq!(seen.payment_status, PaymentStatus::Paid, "{backend}");
    assert_eq!(seen.seats, p.seats, "{backend}");
    tx.commit().await.unwrap();

    let stored = store.purchase(&p.id).await.unwrap().expect("committed");
    assert_eq!(stored.payment_status, PaymentStatus::Paid, "{backend}");
    assert_eq!(stored.payment_ref.as_deref(), Some("ref-1"), "{backend}");
    assert_eq!((stored.quantity, stored.amount), (2, 10_000), "{backend}");
    assert_eq!(store.purchase_channel(&p.id).await.unwrap().as_deref(), Some("web"), "{backend}");
    let journal: Vec<String> = store.journal_for(&p.id).await.unwrap().into_iter().map(|j| j.action).collect();
    assert!(!journal.is_empty(), "{backend}: the save's journal rows are kept");

    // Saved, then written by the next statement: a second save is an update at
    // the version the row was written with.
    let mut tx = store.begin().await.unwrap();
    let user = tx.touch_phone_user(&phone, "en", at).await.unwrap();
    let mut q = tx.reserve(&user, &phone, &event, "S", 1, "card", "form-token-0000003", at).await.unwrap();
    let t = q.settle(&PaymentResult::Approved { reference: "ref-3".into() }).unwrap();
    tx.save_purchase(&q, &t, "test", at).await.unwrap();
    tx.touch_phone_user(&phone, "en", at).await.unwrap();
    let (_, t) = q.issue_call(at).unwrap();
    tx.save_purchase(&q, &t, "test", at).await.unwrap();
    tx.commit().await.unwrap();
    let stored_q = store.purchase(&q.id).await.unwrap().unwrap();
    assert_eq!((stored_q.payment_status, stored_q.issued), (PaymentStatus::Paid, true), "{backend}");

    // The version it was written with lets the next transaction's save through.
    let mut tx = store.begin().await.unwrap();
    let mut again = tx.purchase(&p.id).await.unwrap().unwrap();
    let (_, t) = again.issue_call(at).unwrap();
    tx.save_purchase(&again, &t, "test", at).await.unwrap();
    tx.commit().await.unwrap();
    let issued = store.purchase(&p.id).await.unwrap().unwrap();
    assert_eq!((issued.issue_call_count, issued.issued), (1, true), "{backend}");

    // A transaction dropped before its commit leaves no purchase behind.
    let mut tx = store.begin().await.unwrap();
    let user = tx.touch_phone_user(&phone, "en", at).await.unwrap();
    let gone = tx.reserve(&user, &phone, &event, "S", 1, "card", "form-token-0000002", at).await.unwrap();
    drop(tx);
    assert!(store.purchase(&gone.id).await.unwrap().is_none(), "{backend}");

    // The same order form twice: the second write of the row is refused as a lost
    // race, inside its transaction, before anything of it commits.
    let mut tx = store.begin().await.unwrap();
    let user = tx.touch_phone_user(&phone, "en", at).await.unwrap();
    let twice = tx.reserve(&user, &phone, &event, "S", 1, "card", "form-token-0000001", at).await.unwrap();
    assert!(matches!(tx.commit().await, Err(StoreError::Conflict)), "{backend}");
    assert!(store.purchase(&twice.id).await.unwrap().is_none(), "{backend}");
    assert_eq!(store.count_seats("last-ten", "sold").await.unwrap(), 3, "{backend}: only the first orders' seats");
}

on_every_backend!(a_new_purchase_is_written_once_as_it_ends);
