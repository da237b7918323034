//! Phone users: a registered mail address (the operator's mapping or a confirmed
//! request) and the handset on record.

use dialticket::phone::PhoneNumber;
use dialticket::profile::Profile;
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

/// A profile is saved whole (an empty field clears it) and read back.
async fn a_profile_is_saved_whole_and_read_back(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    let phone = PhoneNumber::parse("+819077771003").unwrap();
    let mut tx = store.begin().await.unwrap();
    let user = tx.touch_phone_user(&phone, "ja", 1_000).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.profile(&user.user_number).await.unwrap(), None, "{backend}");
    let save = |profile: Profile| {
        let (store, number) = (store.clone(), user.user_number.clone());
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.save_profile(&number, &profile, "web:profile", 1_100).await.unwrap();
            tx.commit().await.unwrap();
            store.profile(&number).await.unwrap()
        }
    };
    let full = Profile {
        name: Some("山田 花子".into()),
        postal_address: Some("東京都千代田区1-1".into()),
        birth_date: Some("1990-04-01".into()),
    };
    assert_eq!(save(full.clone()).await, Some(full), "{backend}");
    let name_only = Profile { name: Some("Yamada Hanako".into()), ..Profile::default() };
    assert_eq!(save(name_only.clone()).await, Some(name_only.clone()), "{backend}");
    assert_eq!(store.holder_profile(&phone).await.unwrap(), Some(name_only), "{backend}");
    let journal = store.journal_for(&user.user_number).await.unwrap();
    let details: Vec<&str> =
        journal.iter().filter(|j| j.action == "profile-updated").map(|j| j.detail.as_str()).collect();
    assert_eq!(
        details,
        [r#"{"fields":["name","postal_address","birth_date"]}"#, r#"{"fields":["name"]}"#],
        "{backend}"
    );
}

on_every_backend!(
    a_mail_address_is_mapped_changed_and_journalled,
    the_handset_on_record_follows_the_browser,
    a_profile_is_saved_whole_and_read_back
);
