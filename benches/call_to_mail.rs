//! Call → mail latency: how long from the caller's INVITE until the purchase
//! link is at the SMTP server. Runs the real gateway in-process (release build,
//! SQLite in a temp dir) and the simulator over loopback; prints a table.
//!
//!     cargo bench --bench call_to_mail

#[path = "../tests/e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use dialticket_sim::sip::{place_call, CallOptions};
use helpers::*;

async fn run(gw: &TestGateway, to: &str, calls: usize, prefix: u32) -> (Vec<Duration>, Vec<Duration>) {
    let mut to_mail = Vec::with_capacity(calls);
    let mut to_final = Vec::with_capacity(calls);
    for i in 0..calls {
        let caller = format!("+8190{prefix:04}{i:04}");
        let started = Instant::now();
        let report = place_call(CallOptions::new(gw.sip, caller.as_str(), to)).await.expect("call");
        to_final.push(report.setup_time);
        let mail = gw.mail(&caller, "purchase link").await;
        to_mail.push(mail.received_at.saturating_duration_since(started));
    }
    (to_final, to_mail)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let gw = spawn_gateway().await;
        println!("cores: {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
        println!("| number | calls | INVITE→final p50 ms | p95 | call→mail p50 ms | p95 | max |");
        println!("|---|---|---|---|---|---|---|");
        for (label, to, n, prefix) in
            [("missed-call 603", PURCHASE_MISSED_CALL, 100, 1), ("answered + announcement", PURCHASE, 10, 2)]
        {
            let (mut fin, mut mail) = run(&gw, to, n, prefix).await;
            println!(
                "| {label} | {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                pct(&mut fin, 0.5),
                pct(&mut fin, 0.95),
                pct(&mut mail, 0.5),
                pct(&mut mail, 0.95),
                pct(&mut mail, 1.0)
            );
        }
        gw.stop().await;
    });
}
