//! Purchases per second through the domain + storage path (reserve seats,
//! settle payment, save with journal rows, enqueue the issue-guide mail) on
//! SQLite and, when `DIALTICKET_TEST_POSTGRES_URL` is set, PostgreSQL:
//!
//!     cargo bench --bench purchases
//!     pg_virtualenv -t sh -c 'DIALTICKET_TEST_POSTGRES_URL=postgres://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/postgres cargo bench --bench purchases'
//!
//! `pg_virtualenv`'s cluster runs with `fsync = off`; add `-o fsync=on` for the
//! durable configuration (docs/performance.md has both).

#[allow(dead_code)]
#[path = "../tests/e2e/helpers.rs"]
mod helpers;

#[path = "../tests/storage/backends.rs"]
#[allow(dead_code)]
mod backends;

use std::time::Instant;

use dialticket::domain::PaymentResult;
use dialticket::phone::PhoneNumber;
use dialticket::store::{now, NewMail, Store, StoreError};

const CATALOG: &str = r#"
[[organizers]]
id = "bench"
name = "Bench Arena"

[[events]]
id = "arena"
organizer = "bench"
genre = "Bench"
name = "Arena"
venue = "Arena"
starts_at = "today+30d 19:00 +09:00"
doors_open = "today+30d 18:00 +09:00"
curtain = "today+30d 19:00 +09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+30d 18:00 +09:00"

[[events.seat_types]]
code = "GA"
name = "Floor"
price = 5000
count = 20000
"#;

async fn purchase(store: &Store, i: usize) -> Result<(), StoreError> {
    let event = store.event("arena").await?.expect("event");
    let phone = PhoneNumber::parse(&format!("+8180{i:08}")).expect("phone");
    Store::retry(|| async {
        let mut tx = store.begin().await?;
        let user = tx.touch_phone_user(&phone, "en", now()).await?;
        let mut p =
            tx.reserve(&user, &user.phone, &event, "GA", 2, "card", &format!("bench-form-{i:010}"), now()).await?;
        let t = p.settle(&PaymentResult::Approved { reference: format!("b{i}") }).expect("settle");
        tx.save_purchase(&p, &t, "bench", now()).await?;
        let to = format!("{phone}@sms.example.net");
        let data = r#"{"purchase_id":"p"}"#;
        tx.enqueue_mail(&NewMail { to: &to, template: "issue-guide", lang: "en", subject: "s", data, at: now() })
            .await?;
        tx.commit().await
    })
    .await
}

/// CPU seconds (user + system) used so far by this process and by every
/// process named `postgres` (the server and its backends), from `/proc`.
fn cpu_seconds() -> (f64, f64) {
    let tick = 100.0; // USER_HZ on Linux
    let of = |stat: &str| -> f64 {
        // Fields after the command name (which may hold spaces) in parentheses.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (n(11) + n(12)) / tick
    };
    let own = std::fs::read_to_string("/proc/self/stat").map(|s| of(&s)).unwrap_or(0.0);
    let mut pg = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let dir = entry.path();
        if std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim() == "postgres") {
            pg += std::fs::read_to_string(dir.join("stat")).map(|s| of(&s)).unwrap_or(0.0);
        }
    }
    (own, pg)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        println!("cores: {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
        println!("CPU per purchase: this process (domain, sqlx, the runtime) and PostgreSQL's processes,");
        println!("from /proc; \"at 2 cores\" = the rate if both cores did nothing else (2 s / CPU per purchase).");
        println!("| backend | concurrency | purchases | seconds | purchases/s | CPU ms/purchase (client + db) | at 2 cores |");
        println!("|---|---|---|---|---|---|---|");
        for backend in ["sqlite", "postgres"] {
            for concurrency in [1usize, 8, 32] {
                let Some((store, _db)) = backends::store_with(backend, CATALOG).await else { continue };
                let total = 2000;
                let started = Instant::now();
                let cpu_before = cpu_seconds();
                let tasks: Vec<_> = (0..concurrency)
                    .map(|w| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            for i in (w..total).step_by(concurrency) {
                                purchase(&store, i).await.expect("purchase");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("worker");
                }
                let secs = started.elapsed().as_secs_f64();
                let cpu_after = cpu_seconds();
                let (client, db) = (cpu_after.0 - cpu_before.0, (cpu_after.1 - cpu_before.1).max(0.0));
                let per = |s: f64| s * 1000.0 / total as f64;
                assert_eq!(store.count_seats("arena", "sold").await.expect("count"), 2 * total as i64);
                println!(
                    "| {backend} | {concurrency} | {total} | {secs:.2} | {:.0} | {:.2} ({:.2} + {:.2}) | {:.0} |",
                    total as f64 / secs,
                    per(client + db),
                    per(client),
                    per(db),
                    2.0 * total as f64 / (client + db)
                );
            }
        }
    });
}
