//! The mail outbox draining a backlog: `MAILS` real mails (a purchase link's
//! data, each to another recipient) queued at once, and the time until the SMTP
//! sink holds them all — on SQLite, and on PostgreSQL when
//! `DIALTICKET_TEST_POSTGRES_URL` names a server (e.g. inside `pg_virtualenv`).
//! Measured against the same sink taking the same number of mails straight
//! from the gateway's relay connections, as many of them (no database, nothing
//! rendered), in the same run. Prints a table.
//!
//!     cargo bench --bench outbox

#[path = "../tests/e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use dialticket::mail::worker::SMTP_CONCURRENCY;
use dialticket::store::{MailBody, NewMail};
use helpers::*;

const MAILS: usize = 5_000;

/// Queue `MAILS` copies of the first purchase-link mail, each to its own
/// recipient, in one transaction; how long until the sink has them all.
async fn drain(gw: &TestGateway) -> Duration {
    assert_eq!(gw.call("+819070000001", PURCHASE).await.final_status, 200);
    gw.mail("+819070000001", "purchase link").await;
    let first = gw.mailbox.count();
    let outbox = gw.app.store.outbox(10).await.expect("outbox");
    let mail = outbox.last().expect("the purchase link");
    let MailBody::Data { lang, data } = &mail.body else { panic!("mail data") };
    let to: Vec<String> = (0..MAILS).map(|i| format!("bench{i}@sms.example.net")).collect();
    let at = dialticket::store::now();
    let mails: Vec<NewMail> =
        to.iter().map(|to| NewMail { to, template: &mail.template, lang, subject: &mail.subject, data, at }).collect();
    let started = Instant::now();
    let mut tx = gw.app.store.begin().await.expect("begin");
    tx.enqueue_mails(&mails).await.expect("enqueue");
    tx.commit().await.expect("commit");
    gw.app.mail_wake.notify_one();
    gw.mailbox.wait_for_count(first + MAILS, Duration::from_secs(600)).await.expect("every mail arrives");
    started.elapsed()
}

/// The same number of mails straight to a sink through the gateway's own relay
/// connections (`dialticket::mail::relay`), with no database and nothing rendered.
async fn direct(body_len: usize) -> Duration {
    use dialticket::mail::relay::Delivery;
    let sink = dialticket_sim::smtp::SmtpSink::bind("127.0.0.1:0".parse().unwrap()).await.expect("sink");
    let url = format!("smtp://{}", sink.addr());
    let Delivery::Smtp(relay) =
        Delivery::from_url(Some(&url), None, Duration::from_secs(30), SMTP_CONCURRENCY).expect("relay")
    else {
        panic!("an SMTP relay")
    };
    let relay = std::sync::Arc::new(relay);
    let body = "x".repeat(body_len);
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SMTP_CONCURRENCY {
        let (relay, next, body) = (relay.clone(), next.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= MAILS {
                    return;
                }
                let m = lettre::Message::builder()
                    .from("tickets@example.com".parse().unwrap())
                    .to(format!("direct{i}@sms.example.net").parse().unwrap())
                    .subject("Your purchase link")
                    .body(body.clone())
                    .unwrap();
                relay.send(m.envelope(), &m.formatted()).await.expect("direct send");
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    sink.wait_for_count(MAILS, Duration::from_secs(600)).await.expect("every mail arrives");
    started.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
        let mut rows = Vec::new();
        let mut body_len = 2_000;
        for backend in ["sqlite", "postgres"] {
            let Some((url, _db)) = fresh_database(backend).await else { continue };
            let gw = spawn_gateway_with(|c| c.database_url = url.clone()).await;
            let took = drain(&gw).await;
            body_len = gw.mailbox.messages().last().map_or(body_len, |m| m.text.len());
            rows.push((format!("outbox drain, {backend}"), took));
            gw.stop().await;
        }
        rows.push((
            "the relay connections straight to the sink, no database (baseline)".to_string(),
            direct(body_len).await,
        ));
        let base = MAILS as f64 / rows.last().unwrap().1.as_secs_f64();
        println!("\n{MAILS} mails to a local SMTP sink on {cores} cores, {SMTP_CONCURRENCY} connections:\n");
        println!("| what | seconds | mails/s | × baseline |");
        println!("|---|---|---|---|");
        for (name, took) in rows {
            let rate = MAILS as f64 / took.as_secs_f64();
            println!("| {name} | {:.2} | {rate:.0} | {:.2} |", took.as_secs_f64(), rate / base);
        }
    });
}
