//! The staff app when the venue's network goes (issue 21), in headless Chromium
//! on a phone's screen. The phones reach the gateway through a proxy on
//! loopback that the test can cut — every connection dropped, new ones refused
//! — as a hall's mobile data goes, and restore. The gateway keeps running, so
//! what the phones upload when the network is back can be checked.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

use super::Chromium;
use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

/// A TCP proxy in front of the gateway whose network can be cut.
struct Network {
    url: String,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Network {
    async fn to(target: SocketAddr) -> Network {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let (flag, cuts) = (up.clone(), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the phone sees its connection fail
                }
                let mut cut_now = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut out) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = cut_now.changed() => {}
                    }
                });
            }
        });
        Network { url, up, cut, task }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn back(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A ticket of `quantity` seats of `event` bought and issued for `phone`: its
/// ticket link and seats (and the usage call made, when `confirm`).
async fn codes(gw: &TestGateway, phone: &str, event: &str, quantity: u32, confirm: bool) -> (String, Vec<Value>) {
    let (ticket, page) = gw.issued_ticket(phone, event, quantity, confirm).await;
    (ticket, page["tickets"].as_array().unwrap().clone())
}

/// A staff phone of a reader of `languages` signed in through `net`, synced.
async fn staff_phone(gw: &TestGateway, net: &Network, name: &str, languages: &str, ready: &str) -> Chromium {
    let made = gw.app.store.add_staff(EVENT, name, Some("B"), false, "test", dialticket::store::now()).await.unwrap();
    let chromium = Chromium::start_in(languages).await;
    chromium.goto(&format!("{}/staff/login/{}", net.url, made.login_token)).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[data-live=headline]", |t| t == ready).await;
    synced(&chromium).await;
    // Installed: the service worker is active and holds the app's page.
    let kept = chromium
        .execute_async(
            "var done = arguments[arguments.length - 1];
             navigator.serviceWorker.ready
               .then(function () { return caches.match('/staff'); })
               .then(function (r) { done(!!r); }, function (e) { done(String(e)); });",
        )
        .await;
    assert_eq!(kept, json!(true), "the app is kept for offline use");
    chromium
}

/// Wait for the app's next sync to have gone through (online, a time, nothing waiting).
async fn synced(chromium: &Chromium) {
    let wait = Duration::from_secs(40);
    chromium.attribute_when("[data-live=network]", "data-online", wait, |v| v == "true").await;
    chromium.attribute_when("[data-live=network]", "data-waiting", wait, |v| v == "0").await;
    chromium.attribute_when("[data-live=network]", "data-synced", wait, |v| v.parse::<i64>().unwrap_or(0) > 0).await;
}

/// Scan `code` as a wedge scanner types it; the verdict's headline once it is drawn.
async fn scan(chromium: &Chromium, code: &str, want: &str) -> String {
    let before = chromium.attribute("main", "data-scans").await;
    chromium.keyboard(&format!("{code}\n")).await;
    chromium.attribute_when("main", "data-scans", Duration::from_secs(15), |v| v != before).await;
    let headline = chromium.text_when("[data-live=headline]", |_| true).await;
    assert_eq!(headline, want, "{code}");
    headline
}

#[tokio::test]
async fn the_staff_app_checks_tickets_in_with_the_network_gone_and_uploads_when_it_is_back() {
    let gw = spawn_gateway().await;
    let target: SocketAddr = gw.base.trim_start_matches("http://").parse().unwrap();
    let net = Network::to(target).await;
    let (_, seats) = codes(&gw, "+819088880001", EVENT, 3, true).await;
    let code = |i: usize| seats[i]["code"].as_str().unwrap().to_string();
    // A ticket issued again: its first code is revoked.
    let (ticket, first) = codes(&gw, "+819088880002", EVENT, 1, true).await;
    let revoked = first[0]["code"].as_str().unwrap().to_string();
    assert_eq!(gw.call("+819088880002", ISSUE).await.final_status, 200);
    gw.mails_at_least("+819088880002", "Your ticket", 2).await;
    assert_ne!(gw.get(&ticket).await.1["tickets"][0]["code"].as_str(), Some(revoked.as_str()));
    let (_, gala) = codes(&gw, "+819088880003", "spring-gala-2027", 1, false).await;
    let mut bytes = base45::decode(code(0)).unwrap();
    bytes[40] ^= 1;
    let forged = base45::encode(&bytes);

    let aiko = staff_phone(&gw, &net, "Aiko", "en-GB,en", "Ready").await;
    // Ren's phone reads Japanese.
    let ren = staff_phone(&gw, &net, "Ren", "ja,en;q=0.5", "準備完了").await;
    // The app takes only a bundle signed with a key its page pins.
    let checked = aiko
        .execute_async(
            "var done = arguments[arguments.length - 1];
             var main = document.querySelector('[data-staff-app]');
             fetch(main.getAttribute('data-bundle-url'), {headers: {Accept: 'application/json'}})
               .then(function (r) { return r.json(); })
               .then(function (body) {
                 var forged = Object.assign({}, body, {bundle: body.bundle.replace('\"invalid\"', '\"admitted\"')});
                 return Promise.all([DialticketOffline.verifyBundle(body), DialticketOffline.verifyBundle(forged)]);
               })
               .then(function (r) { done([!!r[0], !!r[1]]); }, function (e) { done(String(e)); });",
        )
        .await;
    assert_eq!(checked, json!([true, false]), "a genuine bundle verifies, a forged one does not");

    net.down();
    scan(&aiko, &code(0), "ADMIT").await;
    assert_eq!(aiko.attribute("[data-live=verdict]", "data-offline").await, "true");
    // As online: the seat and the gate it enters by.
    let seat_line = format!("Seat {} · gate B", seats[0]["seat"].as_str().unwrap());
    assert_eq!(aiko.text_when("[data-live=seat]", |_| true).await, seat_line);
    aiko.text_when("[data-live=network]", |t| t.starts_with("Offline") && t.contains("1 scan waiting")).await;
    aiko.screenshot("staff-offline-admit-en").await;
    scan(&aiko, &code(0), "ALREADY ADMITTED").await;
    scan(&aiko, &revoked, "REVOKED").await;
    scan(&aiko, gala[0]["code"].as_str().unwrap(), "WRONG EVENT").await;
    scan(&aiko, &forged, "INVALID").await;
    scan(&aiko, &code(1), "ADMIT").await;
    scan(&aiko, seats[2]["reference"].as_str().unwrap(), "ADMIT").await;
    aiko.attribute_when("[data-live=network]", "data-waiting", Duration::from_secs(5), |v| v == "3").await;

    // How long a scan takes to decide on the phone: 200 checks of a seat's code
    // (signature, bundle, this device's admissions), in the test's Chromium.
    let timing = aiko
        .execute_async(&format!(
            "var done = arguments[arguments.length - 1], code = {}, n = 200, t0 = performance.now();
             (function next(i) {{
               if (i === n) {{ done((performance.now() - t0) / n); return; }}
               DialticketOffline.scan(code, 'in').then(function () {{ next(i + 1); }});
             }})(0);",
            json!(code(0))
        ))
        .await;
    let per_scan = timing.as_f64().expect("milliseconds");
    eprintln!("offline verification: {per_scan:.2} ms per scan (mean of 200, headless Chromium, debug gateway)");
    assert!(per_scan > 0.0);

    // The phone restarts with no network: the service worker has the app, IndexedDB the queue.
    aiko.reload().await;
    aiko.text_when("[data-live=headline]", |t| t == "Ready").await;
    aiko.text_when("[data-live=network]", |t| t.starts_with("Offline") && t.contains("3 scans waiting")).await;
    // Another phone, offline too, lets the first seat in again.
    scan(&ren, &code(0), "入場OK").await;
    ren.text_when("[data-live=network]", |t| t.starts_with("オフライン") && t.contains("送信待ち 1件")).await;
    ren.screenshot("staff-offline-admit-ja").await;

    net.back();
    // Within a sync (every 15 s) both phones upload what they did.
    synced(&aiko).await;
    synced(&ren).await;
    let journal = gw.app.store.journal_all().await.unwrap();
    let offline: Vec<_> =
        journal.iter().filter(|j| j.action == "scan" && j.detail.contains("\"offline\":true")).collect();
    assert_eq!(offline.len(), 4, "three from Aiko's phone, one from Ren's: {offline:?}");
    assert!(offline.iter().all(|j| j.detail.contains("\"scanned_at\":") && j.detail.contains("\"device_scan\":")));
    assert_eq!(offline.iter().filter(|j| j.detail.contains("\"staff\":\"Aiko\"")).count(), 3);
    let conflicts = gw.app.store.door_conflicts(EVENT).await.unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!((conflicts[0].first_by.as_deref(), conflicts[0].second_by.as_deref()), (Some("Aiko"), Some("Ren")));
    assert_eq!(gw.app.store.door_counts(EVENT).await.unwrap().admitted, 3);
    // Both phones show it.
    let seat0 = seats[0]["seat"].as_str().unwrap();
    for (phone, said) in [(&ren, "オフライン中に二重入場："), (&aiko, "Admitted twice while offline: ")] {
        phone.attribute_when("[data-live=network]", "data-conflicts", Duration::from_secs(40), |v| v == "1").await;
        let line = phone.text_when("[data-live=network]", |_| true).await;
        assert!(line.contains(&format!("{said}{seat0}")), "{line}");
    }
    ren.screenshot("staff-offline-conflict-ja").await;
    aiko.screenshot("staff-offline-conflict-en").await;
    aiko.quit().await;

    // A phone whose clock is ten minutes fast warns instead of admitting offline.
    ren.before_every_page(
        "(function () { var real = Date.now; Date.now = function () { return real() + 600000; }; })();",
    )
    .await;
    let before: i64 = ren.attribute("[data-live=network]", "data-synced").await.parse().unwrap();
    ren.reload().await;
    ren.text_when("[data-live=headline]", |t| t == "準備完了").await;
    // The sync after the reload, on the fast clock.
    ren.attribute_when("[data-live=network]", "data-synced", Duration::from_secs(40), |v| {
        v.parse::<i64>().unwrap_or(0) > before + 300
    })
    .await;
    net.down();
    scan(&ren, &code(2), "時計を確認").await;
    let reason = ren.text_when("[data-live=reason]", |_| true).await;
    assert!(reason.contains("10分ずれています"), "{reason}");
    ren.screenshot("staff-offline-clock-ja").await;
    ren.quit().await;
    gw.stop().await;
}
