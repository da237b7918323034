//! Phone users: a registered mail address (the operator's mapping or a confirmed
//! request) and the handset on record.

use dialticket::phone::PhoneNumber;
use dialticket::store::{PhoneUser, Store};

use crate::backends::store_with;
use crate::on_every_backend;

const CATALOG: &str = include_str!("../../events/demo.toml");

async fn set(store: &Store, phone: &PhoneNumber, address: Option<&str>, at: i64) -> PhoneUser {
    let mut tx = store.begin().await.unwrap();
    let user = tx.set_mail_address(phone, address, "admin", at).await.unwrap();
    tx.commit().await.unwrap();
    user
}

/// A mapping made before the first call registers the user without counting an
/// access; the first call then finds it (same user number). Each change raises
/// the mail epoch and is journalled.
async fn a_mail_address_is_mapped_changed_and_journalled(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    let phone = PhoneNumber::parse("+819077771001").unwrap();
    let mapped = set(&store, &phone, Some("taro@example.jp"), 1_000).await;
    assert_eq!(
        (mapped.mail_address.as_deref(), mapped.access_count, mapped.mail_epoch, mapped.mail_changed_at),
        (Some("taro@example.jp"), 0, 1, Some(1_000)),
        "{backend}"
    );

    let mut tx = store.begin().await.unwrap();
    let called = tx.touch_phone_user(&phone, "ja", 1_100).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(called.user_number, mapped.user_number, "{backend}");
    assert_eq!((called.access_count, called.mail_address.as_deref()), (1, Some("taro@example.jp")), "{backend}");

    let back = set(&store, &phone, None, 1_200).await;
    assert_eq!((back.mail_address, back.mail_epoch, back.mail_changed_at), (None, 2, Some(1_200)), "{backend}");
    assert_eq!((back.access_count, back.registered_at, back.last_access_at), (1, 1_000, 1_100), "{backend}");

    let journal = store.journal_for(&mapped.user_number).await.unwrap();
    let changes: Vec<&str> =
        journal.iter().filter(|j| j.action == "mail-address-changed").map(|j| j.detail.as_str()).collect();
    assert_eq!(changes, [r#"{"address":"taro@example.jp"}"#, r#"{"address":null}"#], "{backend}: {journal:?}");
}

/// The handset is written when it differs, and only for a user that exists.
async fn the_handset_on_record_follows_the_browser(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    let phone = PhoneNumber::parse("+819077771002").unwrap();
    let note = |model: &'static str| {
        let (store, phone) = (store.clone(), phone.clone());
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.note_handset(&phone, model).await.unwrap();
            tx.commit().await.unwrap();
            store.phone_user(&phone).await.unwrap().map(|u| u.handset_model)
        }
    };
    assert_eq!(note("Phone/1").await, None, "{backend}: no user, nothing written");
    let mut tx = store.begin().await.unwrap();
    tx.touch_phone_user(&phone, "en", 1_000).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(note("Phone/1").await, Some(Some("Phone/1".into())), "{backend}");
    assert_eq!(note("Phone/1").await, Some(Some("Phone/1".into())), "{backend}");
    assert_eq!(note("Phone/2 (new handset)").await, Some(Some("Phone/2 (new handset)".into())), "{backend}");
}

on_every_backend!(a_mail_address_is_mapped_changed_and_journalled, the_handset_on_record_follows_the_browser);
