//! Flood limits (issue 4): a 5,000-INVITE flood from one address is blocked
//! (a few 503s with Retry-After, then silence) while a second caller on
//! another address is served; the admin API lists and lifts the block; the
//! counters show in `/metrics`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dialticket_sim::sip::CallOptions;
use tokio::net::UdpSocket;

use crate::helpers::*;

const ADMIN_TOKEN: &str = "flood-test-admin-token";
const FLOOD: usize = 5_000;

fn invite(gw: SocketAddr, me: SocketAddr, i: usize) -> String {
    // Every INVITE a new transaction from a new caller number: only the source address is common.
    format!(
        "INVITE sip:{PURCHASE}@{gw} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-flood-{i};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+8170{i:08}@{ip}>;tag=f{i}\r\n\
         To: <sip:{PURCHASE}@{gw}>\r\n\
         Call-ID: flood-{i}@{ip}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:flood@{me}>\r\n\
         Content-Length: 0\r\n\r\n",
        ip = me.ip()
    )
}

/// Final and provisional status codes received, by code.
async fn collect(socket: Arc<UdpSocket>, quiet: Duration) -> BTreeMap<u16, usize> {
    let mut codes = BTreeMap::new();
    let mut buf = vec![0u8; 65_535];
    while let Ok(Ok((n, _))) = tokio::time::timeout(quiet, socket.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]);
        if let Some(code) = text.strip_prefix("SIP/2.0 ").and_then(|r| r.get(..3)).and_then(|c| c.parse().ok()) {
            *codes.entry(code).or_insert(0) += 1;
        }
    }
    codes
}

#[tokio::test]
async fn a_flood_from_one_address_is_blocked_and_leaves_another_caller_served() {
    let gw = spawn_gateway_with(|c| c.admin_token = Some(ADMIN_TOKEN.into())).await;
    // 127.0.0.2 is loopback on Linux but not the trusted trunk (127.0.0.1) of the shipped dialplan.
    let flooder = Arc::new(UdpSocket::bind("127.0.0.2:0").await.expect("bind 127.0.0.2"));
    let me = flooder.local_addr().unwrap();
    let responses = tokio::spawn(collect(flooder.clone(), Duration::from_secs(3)));
    let sent = Arc::new(AtomicUsize::new(0));
    let flood = {
        let (flooder, sent, target) = (flooder.clone(), sent.clone(), gw.sip);
        tokio::spawn(async move {
            for i in 0..FLOOD {
                flooder.send_to(invite(target, me, i).as_bytes(), target).await.expect("send");
                sent.fetch_add(1, Ordering::Relaxed);
                if i % 200 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    while sent.load(Ordering::Relaxed) < 1_000 {
        tokio::task::yield_now().await;
    }

    // Meanwhile a real caller on another address.
    let mut opts = CallOptions::new(gw.sip, "+819066660001", PURCHASE);
    opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
    let report = gw.call_with(opts).await;
    flood.await.expect("flood sent");
    assert_eq!((report.final_status, report.answered), (200, true), "the second caller is served: {report:?}");
    gw.mail("+819066660001", "purchase link").await;

    // The flooder got its first bucketful served, a few 503s, and then nothing.
    let codes = responses.await.expect("responses");
    eprintln!("the flooder received (status code: count): {codes:?}");
    let answered_invites = codes.get(&100).copied().unwrap_or(0);
    let unavailable = codes.get(&503).copied().unwrap_or(0);
    assert!(answered_invites <= 40, "at most the per-source burst got through: {codes:?}");
    assert!((1..=10).contains(&unavailable), "a few 503s, then silence: {codes:?}");
    let total: usize = codes.values().sum();
    assert!(total < FLOOD / 10, "the flood was mostly met with silence: {codes:?}");

    // The admin sees the block, and lifts it.
    let http = reqwest::Client::new();
    let blocks: serde_json::Value =
        http.get(gw.admin_url("/admin/blocks")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    let blocked: Vec<&str> = blocks["blocked"].as_array().unwrap().iter().filter_map(|b| b["key"].as_str()).collect();
    assert_eq!(blocked, ["source:127.0.0.2"], "{blocks}");
    assert!(blocks["stats"]["dropped"].as_u64().unwrap() as usize >= FLOOD * 9 / 10, "{blocks}");
    let metrics = gw.metrics().await;
    assert!(metrics.contains("dialticket_flood_blocked 1\n"), "{metrics}");
    assert!(metrics.contains("dialticket_flood_blocks_total 1\n"), "{metrics}");

    let url = gw.admin_url("/admin/blocks/source:127.0.0.2");
    let unauthorized = http.delete(&url).send().await.unwrap().status();
    assert_eq!(unauthorized, 401);
    let lifted = http.delete(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(lifted.status(), 200);
    let again = http.delete(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(again.status(), 404, "nothing left to lift");
    let bad = http.delete(gw.admin_url("/admin/blocks/nonsense")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(bad.status(), 400);

    // Unblocked: the address is heard again.
    let mut opts = CallOptions::new(gw.sip, "+819066660002", PURCHASE_MISSED_CALL);
    opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 603, "{report:?}");
    gw.stop().await;
}

#[tokio::test]
async fn one_caller_number_dialling_over_and_over_is_slowed_down() {
    // Through the trusted proxy (127.0.0.1), so the source is not limited: only the caller is.
    let gw = spawn_gateway().await;
    let caller = "+819066660003";
    let mut codes = Vec::new();
    for _ in 0..22 {
        codes.push(gw.call(caller, PURCHASE_MISSED_CALL).await.final_status);
    }
    // The first 20 (the per-caller burst, 20/min) are served: 603 in missed-call mode,
    // 480 once the purchase-link cap (10 an hour) is reached; then 503.
    assert!(codes[..10].iter().all(|&c| c == 603), "{codes:?}");
    assert!(codes[10..20].iter().all(|&c| c == 480), "{codes:?}");
    assert_eq!(&codes[20..], [503, 503], "{codes:?}");
    // Somebody else is not affected.
    assert_eq!(gw.call("+819066660004", PURCHASE_MISSED_CALL).await.final_status, 603);
    // The trusted proxy's requests were exempt from the per-source count, and are counted as such.
    let metrics = gw.metrics().await;
    let exempt: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("dialticket_flood_requests_total{verdict=\"exempt\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(exempt >= 23, "23 INVITEs from the trunk, exempt: {metrics}");
    gw.stop().await;
}

/// `calls` INVITEs to `number`, each a new caller number, from `addresses`
/// loopback addresses in turn (every one under the per-source and per-caller
/// limits: a distributed flood); the final status of each, by code.
async fn distributed_flood(gw: &TestGateway, number: &str, calls: usize, addresses: u8) -> BTreeMap<u16, usize> {
    let mut sockets = Vec::new();
    for a in 0..addresses {
        sockets.push(Arc::new(UdpSocket::bind((Ipv4Addr::new(127, 0, 1, 10 + a), 0)).await.expect("bind")));
    }
    for i in 0..calls {
        let socket = &sockets[i % sockets.len()];
        let me = socket.local_addr().unwrap();
        let text = invite(gw.sip, me, 50_000 + i).replace(PURCHASE, number);
        socket.send_to(text.as_bytes(), gw.sip).await.expect("send");
    }
    // Every INVITE gets a final answer: wait for all of them (the bound only guards a hang).
    let mut finals = BTreeMap::new();
    let mut buf = vec![0u8; 65_535];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while finals.values().sum::<usize>() < calls {
        let mut got = false;
        for socket in &sockets {
            if let Ok(Ok((n, _))) = tokio::time::timeout(Duration::from_millis(20), socket.recv_from(&mut buf)).await {
                got = true;
                let text = String::from_utf8_lossy(&buf[..n]);
                let code = text.strip_prefix("SIP/2.0 ").and_then(|r| r.get(..3)).and_then(|c| c.parse::<u16>().ok());
                if let Some(code) = code.filter(|c| *c >= 200) {
                    *finals.entry(code).or_insert(0) += 1;
                }
            }
        }
        assert!(got || tokio::time::Instant::now() < deadline, "finals so far: {finals:?}");
    }
    finals
}

/// A distributed flood (the hardening issue, item 5): many addresses, a new caller
/// number each time, every one under its own limits. The dialled number's ceiling
/// (`rate_limit.per_number`) turns the excess away busy, and nothing is queued for it.
#[tokio::test]
async fn a_distributed_flood_meets_the_numbers_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo("dialplans/default.toml"), dir.path().join("default.toml")).unwrap();
    std::fs::write(
        dir.path().join("ceiling.toml"),
        "[[numbers]]\nnumber = \"+442079460172\"\naction = \"purchase\"\nanswer = \"missed-call\"\n\
         rate_limit = { per_number = \"30/h\" }\n",
    )
    .unwrap();
    let plans = dir.path().to_path_buf();
    let gw = spawn_gateway_with(move |c| {
        c.dialplans = plans;
        c.admin_token = Some(ADMIN_TOKEN.into());
    })
    .await;
    let finals = distributed_flood(&gw, "+442079460172", 60, 6).await;
    assert_eq!(finals, BTreeMap::from([(486, 30), (603, 30)]), "30 taken, the rest busy");
    let links = gw.app.store.outbox(200).await.unwrap().len();
    assert_eq!(links, 30, "one purchase link per call taken, none for the busy ones");
    let metrics = gw.metrics().await;
    assert!(metrics.contains("dialticket_calls_busy_total{reason=\"number-ceiling\"} 30\n"), "{metrics}");
    gw.stop().await;
}

/// The same flood against a relay that takes nothing: once `mail_backlog_limit`
/// mails wait, purchase calls hear busy and queue nothing more, so mail to the
/// callers who came first is not buried under mail to strangers.
#[tokio::test]
async fn purchase_calls_are_busy_while_the_mail_backlog_is_full() {
    // A relay address nobody listens on: every mail waits, retried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gw = spawn_gateway_with(move |c| {
        c.smtp_url = Some(format!("smtp://{closed}"));
        c.mail_backlog_limit = 20;
    })
    .await;
    let finals = distributed_flood(&gw, PURCHASE_MISSED_CALL, 60, 6).await;
    assert_eq!(finals, BTreeMap::from([(486, 40), (603, 20)]), "20 links queued, then busy");
    let backlog = gw.app.store.outbox_backlog().await.unwrap();
    assert_eq!(backlog.pending + backlog.sending, 20, "{backlog:?}");
    let metrics = gw.metrics().await;
    assert!(metrics.contains("dialticket_mail_backlog_limit 20\n"), "{metrics}");
    gw.stop().await;
}
