//! PostgreSQL stopped and started again under a serving gateway (issue 22,
//! item 5): calls in the gap get 503 with Retry-After (RFC 3261 §21.5.4),
//! never 500; pages and form posts get HTTP 503 with Retry-After and the
//! translated "busy for a moment" page; OPTIONS says 503 so a load balancer
//! takes the gateway out; once PostgreSQL is back the same gateway (never
//! restarted) reconnects by itself and serves again, nothing accepted before
//! the stop is lost, and a form post refused in the gap, sent again with its
//! form token, makes one order.
//!
//! A test binary of its own: it stops the PostgreSQL cluster every other
//! test binary shares, which `cargo test` runs one binary at a time. It needs
//! the cluster `scripts/test.sh` makes with `pg_virtualenv` (`PGVERSION`, and
//! `pg_ctlcluster` to stop and start it); outside it the test is skipped (in
//! CI that is an error). The times are printed, never asserted.

#[allow(dead_code)]
#[path = "../e2e/helpers.rs"]
mod helpers;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dialticket_sim::web::resolve;
use helpers::*;

/// The `pg_virtualenv` cluster the tests run against.
struct Cluster {
    version: String,
}

impl Cluster {
    fn from_env() -> Option<Cluster> {
        match std::env::var("PGVERSION") {
            Ok(version) if !version.is_empty() => Some(Cluster { version }),
            _ if std::env::var("CI").is_ok() => panic!("CI runs this inside pg_virtualenv: run scripts/test.sh"),
            _ => {
                eprintln!("not inside pg_virtualenv (no PGVERSION): the PostgreSQL restart test is skipped");
                None
            }
        }
    }

    /// Stop the cluster (`-m fast`: the server ends every session at once, as a
    /// restart under load does); it is started again when the guard goes, even
    /// if the test fails meanwhile, so the test binaries after this one find it.
    fn stop(&self) -> Stopped<'_> {
        self.ctl(&["stop", "-m", "fast"]);
        Stopped(Some(self))
    }

    /// `pg_ctlcluster <version> regress <action>`.
    fn ctl(&self, action: &[&str]) {
        let out = std::process::Command::new("pg_ctlcluster")
            .args([self.version.as_str(), "regress"])
            .args(action)
            .output()
            .expect("pg_ctlcluster (postgresql-common) runs");
        assert!(out.status.success(), "pg_ctlcluster {action:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The cluster, stopped; started again by [`Stopped::start`] or on drop.
struct Stopped<'a>(Option<&'a Cluster>);

impl Stopped<'_> {
    fn start(mut self) {
        if let Some(cluster) = self.0.take() {
            cluster.ctl(&["start"]);
        }
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if let Some(cluster) = self.0.take() {
            let _ = std::process::Command::new("pg_ctlcluster")
                .args([cluster.version.as_str(), "regress", "start"])
                .status();
        }
    }
}

/// An HTTP answer as a browser gets it: status, Retry-After, body.
async fn fetch(req: reqwest::RequestBuilder, lang: &str) -> (u16, Option<String>, String) {
    let resp = req
        .header("Accept", "text/html")
        .header("Accept-Language", lang)
        .send()
        .await
        .expect("the gateway answers HTTP");
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    (resp.status().as_u16(), retry, resp.text().await.unwrap_or_default())
}

/// Send an OPTIONS (RFC 3261 §11) to `gateway` over UDP; its status and Retry-After.
async fn options(gateway: SocketAddr) -> (u16, Option<String>) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let req = format!(
        "OPTIONS sip:{gateway} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{id}\r\nMax-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag={id}\r\nTo: <sip:{gateway}>\r\nCall-ID: {id}\r\nCSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    sock.send_to(req.as_bytes(), gateway).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
        .await
        .expect("OPTIONS answered")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let retry = text.lines().find_map(|l| l.strip_prefix("Retry-After:").map(|v| v.trim().to_string()));
    (code, retry)
}

/// Wait (at most `limit`) until `probe` gives what `done` wants; returns it and the time taken.
async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut probe: F, done: impl Fn(&T) -> bool) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
    T: std::fmt::Debug,
{
    let started = Instant::now();
    loop {
        let got = probe().await;
        if done(&got) {
            return (got, started.elapsed());
        }
        assert!(started.elapsed() < limit, "not within {limit:?}: {what} (last: {got:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn header<'a>(report: &'a dialticket_sim::sip::CallReport, name: &str) -> Option<&'a str> {
    report.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

const EVENT: &str = "spring-gala-2027";

#[tokio::test]
async fn outage_postgres_restarted_calls_and_pages_get_503_with_retry_after_then_the_gateway_recovers() {
    let Some(cluster) = Cluster::from_env() else { return };
    let Some((url, _db)) = fresh_database("postgres").await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url.clone()).await;
    let http = reqwest::Client::new();

    // Before: one purchase accepted (paid), and a second buyer with the order form open.
    let (accepted, _) = gw.paid_purchase("+819077700001", EVENT).await;
    let accepted_id = accepted["purchase_id"].as_str().expect("purchase id").to_string();
    let buyer = "+819077700002";
    assert_eq!(gw.call(buyer, PURCHASE_MISSED_CALL).await.final_status, 603);
    let shop = gw.link(&gw.mail(buyer, "purchase link").await, "/p/");
    let (event_url, page) = gw.event_form(&shop, EVENT).await;
    let form = &page["form"];
    let action = resolve(&gw.base, form["action"].as_str().expect("form action"));
    let token = form["form_token"].as_str().expect("form token").to_string();
    let seat_type = page["event"]["seat_types"][0]["code"].as_str().expect("seat type").to_string();
    let fields = [
        ("form_token", token.as_str()),
        ("seat_type", seat_type.as_str()),
        ("quantity", "1"),
        ("payment_method", "card"),
        ("card_number", "4242 4242 4242 4242"),
    ];
    let event_page = resolve(&gw.base, &event_url);
    assert_eq!(fetch(http.get(&event_page), "en").await.0, 200);
    assert_eq!(options(gw.sip).await.0, 200);

    let down = cluster.stop();
    let stopped = Instant::now();

    // Calls: a purchase (group-committed) and an issue call (a transaction of its
    // own), before the gateway's probe has noticed (each waits out the pool's
    // acquire timeout) and after (refused at once).
    let mut setups = Vec::new();
    for (caller, number) in
        [("+819077700003", PURCHASE_MISSED_CALL), ("+819077700001", ISSUE), ("+819077700004", PURCHASE_MISSED_CALL)]
    {
        let report = gw.call(caller, number).await;
        assert_eq!(report.final_status, 503, "{caller} → {number} while PostgreSQL is down: {report:?}");
        let retry: u32 = header(&report, "Retry-After").and_then(|v| v.parse().ok()).expect("Retry-After, in seconds");
        assert!(retry > 0, "{report:?}");
        setups.push(format!("{:.2} s", report.setup_time.as_secs_f64()));
    }
    // Pages: the same "busy for a moment" page, in the reader's language (the
    // language switch: the link says English), with Retry-After.
    for (lang, says) in [("en", "Busy for a moment"), ("ja", "ただいま混み合っています")] {
        let sep = if event_page.contains('?') { '&' } else { '?' };
        let (status, retry, body) = fetch(http.get(format!("{event_page}{sep}lang={lang}")), lang).await;
        assert_eq!(status, 503, "{body}");
        assert!(retry.is_some_and(|r| r.parse::<u32>().is_ok_and(|s| s > 0)), "Retry-After on the page");
        assert!(body.contains(says), "{lang}: {body}");
    }
    // The order form sent in the gap: 503, nothing done.
    let (status, retry, body) = fetch(http.post(&action).form(&fields), "en").await;
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some(), "Retry-After on the form post");
    // OPTIONS: 503 once the gateway's probe has seen the database gone (a second or two).
    let ((_, retry), options_503) =
        wait_for(Duration::from_secs(15), "OPTIONS 503", || options(gw.sip), |(code, _)| *code == 503).await;
    assert!(retry.is_some(), "OPTIONS 503 says when to come back");

    down.start();
    let gap = stopped.elapsed();

    // The same gateway, never restarted, takes calls again by itself.
    let mut n = 0;
    let gw_ref = &gw;
    let (_, calls_back) = wait_for(
        Duration::from_secs(30),
        "a purchase call taken after PostgreSQL started",
        || {
            n += 1;
            let caller = format!("+8190777011{n:02}");
            async move { gw_ref.call(&caller, PURCHASE_MISSED_CALL).await.final_status }
        },
        |status| {
            assert!(matches!(status, 503 | 603), "only 503 (not yet) or 603 (taken), got {status}");
            *status == 603
        },
    )
    .await;
    let ((code, _), options_back) =
        wait_for(Duration::from_secs(15), "OPTIONS 200", || options(gw.sip), |(code, _)| *code == 200).await;
    assert_eq!(code, 200);
    assert_eq!(fetch(http.get(&event_page), "en").await.0, 200, "pages again");

    // The form refused in the gap, sent again with its token: one order, however often.
    let (status, _, body) = fetch(http.post(&action).form(&fields), "en").await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = fetch(http.post(&action).form(&fields), "en").await;
    assert_eq!(status, 200, "{body}");
    let orders = gw.app.store.order_ids(EVENT).await.unwrap();
    assert_eq!(orders.len(), 2, "the purchase from before and the resent one, once: {orders:?}");
    let before = gw.app.store.purchase(&accepted_id).await.unwrap();
    assert!(before.is_some(), "the purchase accepted before the stop is there");
    // The mail worker resumed: the resent order's confirmation arrives.
    gw.mail(buyer, "Payment received").await;

    eprintln!(
        "outage: calls in the gap answered 503 after {setups:?}; OPTIONS 503 {:.2} s after them; PostgreSQL down \
         {:.2} s; after its start, calls taken again in {:.2} s, OPTIONS 200 in {:.2} s more",
        options_503.as_secs_f64(),
        gap.as_secs_f64(),
        calls_back.as_secs_f64(),
        options_back.as_secs_f64(),
    );
    gw.stop().await;
}
