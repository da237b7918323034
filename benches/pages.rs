//! The pages a rush reads: how many `GET`s a second one gateway answers with 32
//! connections for the ticket page, the admission page and the shop's event
//! page (each as a browser asks for it, `Accept: text/html`), against
//! `GET /healthz` on the same server and client in the same run. Runs the real
//! gateway in-process (release build, SQLite in a temp dir); prints a table.
//!
//!     cargo bench --bench pages

/// As the `dialticket` binary runs (see src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use helpers::*;

const EVENT: &str = "open-rehearsal";
/// Holders, each with a ticket of `SEATS` seats and an admission page.
const HOLDERS: usize = 3;
const SEATS: u32 = 2;
const CONNECTIONS: usize = 32;
/// Requests per page measured (after a warm-up of a tenth as many).
const REQUESTS: usize = 6_000;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

/// `REQUESTS` GETs spread over `urls`, `CONNECTIONS` at a time: requests a
/// second, and each request's time.
async fn load(client: &reqwest::Client, urls: &[String], requests: usize) -> (f64, Vec<Duration>) {
    let urls = Arc::new(urls.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, urls, next) = (client.clone(), urls.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    return took;
                }
                let t = Instant::now();
                let resp = client.get(&urls[i % urls.len()]).header("accept", "text/html").send().await.expect("GET");
                assert!(resp.status().is_success(), "{}: {}", urls[i % urls.len()], resp.status());
                let _ = resp.bytes().await.expect("body");
                took.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await.expect("load task"));
    }
    (requests as f64 / started.elapsed().as_secs_f64(), all)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let gw = spawn_gateway().await;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
        let (mut tickets, mut admissions) = (Vec::new(), Vec::new());
        for i in 0..HOLDERS {
            let phone = format!("+8190666600{i:02}");
            let (ticket, _) = gw.issued_ticket(&phone, EVENT, SEATS, true).await;
            tickets.push(ticket);
            admissions.push(gw.link(&gw.mail(&phone, "Admission page").await, "/a/"));
        }
        let shop = vec![format!("{}/buy/events/{EVENT}", gw.base)];
        let health = vec![format!("{}/healthz", gw.base)];
        let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().expect("client");
        let pages: [(&str, &Vec<String>); 4] = [
            ("GET /healthz (baseline)", &health),
            ("ticket page /t/…", &tickets),
            ("admission page /a/…", &admissions),
            ("shop event page /buy/events/…", &shop),
        ];
        let mut rows = Vec::new();
        for (name, urls) in pages {
            load(&client, urls, REQUESTS / 10).await; // warm-up
            let (rate, mut took) = load(&client, urls, REQUESTS).await;
            rows.push((name, rate, pct(&mut took, 0.5), pct(&mut took, 0.99)));
        }
        let base = rows[0].1;
        println!("\nPage GETs on {cores} cores, {CONNECTIONS} connections, {REQUESTS} requests each (client in the same process):\n");
        println!("| page | requests/s | p50 ms | p99 ms | × healthz rate |");
        println!("|---|---|---|---|---|");
        for (name, rate, p50, p99) in rows {
            println!("| {name} | {rate:.0} | {p50:.2} | {p99:.2} | {:.3} |", rate / base);
        }
        gw.stop().await;
    });
}
