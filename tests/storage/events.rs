//! Events as the admin API changes them.

use dialticket::store::Store;

use crate::backends::store_with;
use crate::on_every_backend;

const CATALOG: &str = include_str!("../../events/demo.toml");

async fn rotate(store: &Store, event: &str) -> Option<i64> {
    let mut tx = store.begin().await.unwrap();
    let epoch = tx.rotate_staff_pin(event, "admin").await.unwrap();
    tx.commit().await.unwrap();
    epoch
}

/// Replacing a staff PIN raises the event's PIN epoch, journalled; loading the
/// catalog again (an organizer updating its events) keeps it, so a leaked PIN
/// does not come back.
async fn a_staff_pin_rotation_is_kept_and_journalled(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    let epoch = |store: &Store| {
        let store = store.clone();
        async move { store.event("open-rehearsal").await.unwrap().expect("event").staff_pin_epoch }
    };
    assert_eq!(epoch(&store).await, 0, "{backend}");
    assert_eq!(rotate(&store, "open-rehearsal").await, Some(1), "{backend}");
    assert_eq!(rotate(&store, "open-rehearsal").await, Some(2), "{backend}");
    assert_eq!(rotate(&store, "no-such-event").await, None, "{backend}");
    let file = dialticket::events::CatalogFile::parse(CATALOG, chrono::Utc::now()).unwrap();
    store.load_catalog(&file).await.unwrap();
    assert_eq!(epoch(&store).await, 2, "{backend}: the catalog's upsert keeps the epoch");
    let journal = store.journal_for("open-rehearsal").await.unwrap();
    let rotations: Vec<_> = journal.iter().filter(|j| j.action == "staff_pin_rotated").collect();
    assert_eq!(rotations.len(), 2, "{backend}: {journal:?}");
    assert_eq!((rotations[1].entity.as_str(), rotations[1].actor.as_str()), ("event", "admin"), "{backend}");
    assert!(store.journal_for("no-such-event").await.unwrap().is_empty(), "{backend}");
}

/// Exit and re-entry (catalog `reentry`, migration 0014): single entry for an
/// event loaded without it; a reload that says `true` turns it on, one that does
/// not say leaves it on, one that says `false` turns it off.
async fn reentry_is_kept_unless_a_reload_says_otherwise(backend: &str) {
    let Some((store, _db)) = store_with(backend, CATALOG).await else { return };
    let reentry = |store: &Store| {
        let store = store.clone();
        async move { store.event("open-rehearsal").await.unwrap().expect("event").reentry }
    };
    let load = |text: String| {
        let store = store.clone();
        async move {
            let file = dialticket::events::CatalogFile::parse(&text, chrono::Utc::now()).unwrap();
            store.load_catalog(&file).await.unwrap();
        }
    };
    let saying = |on: bool| {
        CATALOG.replacen("id = \"open-rehearsal\"\n", &format!("id = \"open-rehearsal\"\nreentry = {on}\n"), 1)
    };
    assert!(!reentry(&store).await, "{backend}: single entry by default");
    load(saying(true)).await;
    assert!(reentry(&store).await, "{backend}");
    load(CATALOG.to_string()).await;
    assert!(reentry(&store).await, "{backend}: a reload that does not say keeps it");
    load(saying(false)).await;
    assert!(!reentry(&store).await, "{backend}");
    assert!(!store.event("spring-gala-2027").await.unwrap().expect("event").reentry, "{backend}");
}

on_every_backend!(a_staff_pin_rotation_is_kept_and_journalled, reentry_is_kept_unless_a_reload_says_otherwise);
