//! Scan → verdict at the door: how long `POST /staff/api/scan` takes, from the
//! request until the verdict's JSON is read, over 1,000 scans of real seat codes
//! (the first scan of each seat admits it, the rest answer `already_admitted`:
//! both are one store transaction with a journal row). Measured against
//! `GET /healthz` on the same server and client in the same run. Runs the real
//! gateway in-process (release build, SQLite in a temp dir); prints a table.
//!
//!     cargo bench --bench door

#[path = "../tests/e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use helpers::*;
use serde_json::{json, Value};

const EVENT: &str = "open-rehearsal";
const SCANS: usize = 1000;
const PURCHASES: usize = 10;
const SEATS_EACH: u32 = 10;
/// Scanning devices, round robin: each may scan 20 times a second.
const DEVICES: usize = 100;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

/// Every seat code of `PURCHASES` purchases of `SEATS_EACH` seats, issued and confirmed.
async fn codes(gw: &TestGateway) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..PURCHASES {
        let phone = format!("+8190555500{i:02}");
        gw.call(&phone, PURCHASE).await;
        let link = gw.link(&gw.mail(&phone, "purchase link").await, "/p/");
        let (status, order) = gw.buy(&link, EVENT, SEATS_EACH, "4242 4242 4242 4242").await;
        assert_eq!(status, 200, "{order}");
        gw.mail(&phone, "Payment received").await;
        gw.call(&phone, ISSUE).await;
        let ticket = gw.link(&gw.mail(&phone, "Your ticket").await, "/t/");
        gw.call(&phone, USAGE).await;
        let (_, page) = gw.get(&ticket).await;
        for t in page["tickets"].as_array().expect("tickets") {
            out.push(t["code"].as_str().expect("code").to_string());
        }
    }
    out
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let gw = spawn_gateway().await;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
        let codes = codes(&gw).await;
        let mut tokens = Vec::new();
        for d in 0..DEVICES {
            let name = format!("device {d}");
            let made = gw.app.store.add_staff(EVENT, &name, Some("A"), true, "bench", dialticket::store::now()).await;
            tokens.push(made.expect("staff").api_token.expect("token"));
        }
        let client = reqwest::Client::new();
        let scan_url = format!("{}/staff/api/scan", gw.base);
        let (mut admitted, mut again, mut health) = (Vec::new(), Vec::new(), Vec::new());
        let started = Instant::now();
        for i in 0..SCANS {
            let body = json!({"code": codes[i % codes.len()]});
            let t = Instant::now();
            let resp = client.post(&scan_url).bearer_auth(&tokens[i % DEVICES]).json(&body).send().await.expect("scan");
            let verdict: Value = resp.json().await.expect("verdict");
            let took = t.elapsed();
            match verdict["result"].as_str() {
                Some("admitted") => admitted.push(took),
                Some("already_admitted") => again.push(took),
                other => panic!("unexpected verdict {other:?}: {verdict}"),
            }
        }
        let scans_took = started.elapsed();
        for _ in 0..SCANS {
            let t = Instant::now();
            let resp = client.get(format!("{}/healthz", gw.base)).send().await.expect("healthz");
            let _ = resp.bytes().await;
            health.push(t.elapsed());
        }
        let mut all: Vec<Duration> = admitted.iter().chain(&again).copied().collect();
        let hp50 = pct(&mut health, 0.5);
        println!("\nScan → verdict on {cores} cores, {SCANS} scans over {} seat codes, one at a time:\n", codes.len());
        println!("| what | n | p50 ms | p99 ms | max ms | p50 / healthz p50 |");
        println!("|---|---|---|---|---|---|");
        let row = |name: &str, v: &mut Vec<Duration>| {
            let (p50, p99, max) = (pct(v, 0.5), pct(v, 0.99), pct(v, 1.0));
            println!("| {name} | {} | {p50:.2} | {p99:.2} | {max:.2} | {:.1} |", v.len(), p50 / hp50);
        };
        row("scan: admitted", &mut admitted);
        row("scan: already_admitted", &mut again);
        row("scan: all", &mut all);
        row("GET /healthz (baseline)", &mut health);
        println!(
            "\n{SCANS} scans in {:.2} s ({:.0}/s one at a time)",
            scans_took.as_secs_f64(),
            SCANS as f64 / scans_took.as_secs_f64()
        );
        gw.stop().await;
    });
}
