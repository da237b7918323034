//! SQLite's write-ahead log stays bounded under steady writes.

use dialticket::store::{now, Store};

use crate::backends::{fresh_database, Db};

/// Under steady writes a passive checkpoint never catches up with the log, so the
/// log only starts over because the checkpointer makes it (once, a change let it
/// grow to 700 MB in ten seconds of load). About 200 MB go through the log here,
/// a 64 KB mail per transaction every millisecond or so (at most ~60 MB/s; the
/// gateway wrote ~70 MB/s at 4,800 missed calls/s); the log file must stay near
/// the 64 MB it is cut back to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_stays_bounded_under_steady_writes() {
    let Some((url, db)) = fresh_database("sqlite").await else { return };
    let Db::Sqlite(dir) = &db else { unreachable!("an SQLite database") };
    let wal = dir.path().join("t.db-wal");
    let store = Store::connect(&url).await.expect("connect and migrate");
    let body = "0123456789abcdef".repeat(4 * 1024);
    let mut largest = 0;
    for i in 0..3200 {
        let mut tx = store.begin().await.expect("begin");
        tx.enqueue_mail("steady@example.org", "test", "steady writes", &body, "", now()).await.expect("enqueue");
        tx.commit().await.expect("commit");
        if i % 10 == 0 {
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let mb = largest / (1024 * 1024);
    eprintln!("largest log file seen: {mb} MB");
    assert!(mb < 100, "the log grew to {mb} MB");
}
