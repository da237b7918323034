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

on_every_backend!(a_staff_pin_rotation_is_kept_and_journalled);
