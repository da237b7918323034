//! Failover on the deployment of `compose.yaml` (issue 22, item 5): the shipped
//! `deploy/kamailio/kamailio.cfg` on loopback dispatching to two gateway
//! processes on one PostgreSQL, purchase calls flowing from several callers at
//! once, and one gateway killed (SIGKILL). Its SIP port is then held by a
//! silent socket (a dead host answers nothing, not even an ICMP error) that
//! counts what Kamailio still sends there.
//!
//! What must hold: every call is answered (a call sent to the dead gateway is
//! retried on the survivor after `fr_timer`), Kamailio soon stops sending new
//! calls to the dead one (its OPTIONS probe, or the INVITE that timed out, takes
//! it out of the rotation), each purchase call is in the database exactly
//! once, and a gateway started again on the dead one's address gets calls
//! again once it answers OPTIONS. The times are printed, not asserted.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dialticket::store::Store;
use dialticket_sim::sip::{place_call, CallOptions};
use dialticket_sim::smtp::SmtpSink;

use super::edge::start_shipped_edge;
use super::process::start_gateway;
use super::*;

/// One call placed through the edge.
struct Placed {
    caller: String,
    started: Instant,
    ended: Instant,
    status: Option<u16>,
}

/// What Kamailio sends to the dead gateway's address.
#[derive(Default)]
struct Tombstone {
    invites: Mutex<Vec<Instant>>,
    options: AtomicUsize,
}

/// Hold `addr` (UDP) after its gateway died: receive and count, never answer.
async fn tombstone(addr: SocketAddr, seen: Arc<Tombstone>) -> tokio::task::JoinHandle<()> {
    let mut bound = None;
    for _ in 0..50 {
        match tokio::net::UdpSocket::bind(addr).await {
            Ok(s) => {
                bound = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let sock = bound.expect("the dead gateway's SIP port is free again");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, _)) = sock.recv_from(&mut buf).await {
            if buf[..n].starts_with(b"INVITE ") {
                seen.invites.lock().unwrap().push(Instant::now());
            } else if buf[..n].starts_with(b"OPTIONS ") {
                seen.options.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

/// `workers` callers placing purchase calls (missed-call mode: 603 = taken)
/// through `edge` one after another until `stop`, each with a caller number of its own.
fn call_load(
    edge: SocketAddr,
    workers: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Placed>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..workers)
        .map(|w| {
            let (stop, log) = (stop.clone(), log.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let caller = format!("+8190555{w:02}{n:04}");
                    n += 1;
                    // A source address per call: the edge's flood limit (pike) counts
                    // requests per source, and this is many callers, not one flooding.
                    let mut opts = CallOptions::new(edge, caller.clone(), PURCHASE_MISSED_CALL);
                    opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 1, 10 + w as u8, (n % 250 + 1) as u8));
                    let started = Instant::now();
                    let status = place_call(opts).await.ok().map(|r| r.final_status);
                    log.lock().unwrap().push(Placed { caller, started, ended: Instant::now(), status });
                }
            })
        })
        .collect()
}

/// Wait (at most `limit`) until `ready` holds for the calls placed so far.
async fn until(log: &Mutex<Vec<Placed>>, limit: Duration, what: &str, ready: impl Fn(&[Placed]) -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        if ready(&log.lock().unwrap()) {
            return;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Calls the gateway at `admin` (its admin listener) has answered, by `/metrics`.
async fn calls_answered(admin: SocketAddr) -> u64 {
    let Ok(resp) = reqwest::get(format!("http://{admin}/metrics")).await else { return 0 };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("dialticket_calls_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

#[tokio::test]
async fn failover_a_killed_gateway_leaves_the_rotation_and_no_purchase_is_lost_or_doubled() {
    let Some((url, _db)) = fresh_database("postgres").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing-key.pem");
    let sink = SmtpSink::bind("127.0.0.1:0".parse().unwrap()).await.expect("smtp sink");
    let (a, a_sip) = start_gateway(&url, &key, sink.addr(), &[]).await;
    let (_b, b_sip) = start_gateway(&url, &key, sink.addr(), &[]).await;
    let (edge, edge_addr) = start_shipped_edge(&[a_sip, b_sip], "192.0.2.0/24", dir.path()).await;

    // Calls flowing from four callers at once; both gateways take them.
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let workers = call_load(edge_addr, 4, stop.clone(), log.clone());
    until(&log, Duration::from_secs(60), "40 calls taken before the kill", |calls| {
        calls.iter().filter(|c| c.status == Some(603)).count() >= 40
    })
    .await;

    // Gateway A dies; its address goes silent.
    a.kill_9().await;
    let killed = Instant::now();
    let seen = Arc::new(Tombstone::default());
    let hold = tombstone(a_sip, seen.clone()).await;

    // Wait until 40 calls placed after the last INVITE that reached the dead
    // gateway were all taken (by the survivor: the dead one got none of them).
    until(&log, Duration::from_secs(60), "40 calls taken by the survivor alone", |calls| {
        let last_to_dead = seen.invites.lock().unwrap().last().copied().unwrap_or(killed);
        calls.iter().filter(|c| c.started > last_to_dead && c.status == Some(603)).count() >= 40
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w).await.expect("the callers stop").unwrap();
    }

    let calls = std::mem::take(&mut *log.lock().unwrap());
    let invites_to_dead = seen.invites.lock().unwrap().clone();
    let out_after = invites_to_dead.last().map_or(Duration::ZERO, |t| t.duration_since(killed));
    let after: Vec<&Placed> = calls.iter().filter(|c| c.started > killed).collect();
    let slowest = after.iter().map(|c| c.ended.duration_since(c.started)).max().unwrap_or_default();
    let in_flight: Vec<String> = calls
        .iter()
        .filter(|c| c.started <= killed && c.ended > killed)
        .map(|c| format!("{:?} after {:.2} s", c.status, c.ended.duration_since(c.started).as_secs_f64()))
        .collect();
    eprintln!(
        "failover: {} calls, {} placed after the kill; {} INVITEs (retransmissions included) reached the dead \
         gateway, the last {:.2} s after the kill; {} OPTIONS to it; slowest call placed after the kill {:.2} s; \
         calls in flight at the kill: {in_flight:?}",
        calls.len(),
        after.len(),
        invites_to_dead.len(),
        out_after.as_secs_f64(),
        seen.options.load(Ordering::Relaxed),
        slowest.as_secs_f64()
    );
    // Every call placed after the kill was answered: those sent to the dead
    // gateway were retried on the survivor. (A call in flight on A when it died
    // may have been taken there with its answer lost: it may end otherwise.)
    let edge_log = || std::fs::read_to_string(dir.path().join("kamailio.log")).unwrap_or_default();
    for c in calls.iter().filter(|c| c.started > killed) {
        assert_eq!(c.status, Some(603), "{} placed after the kill:\n{}", c.caller, edge_log());
    }
    assert!(seen.options.load(Ordering::Relaxed) > 0, "Kamailio probes the dead gateway with OPTIONS");

    // Each purchase call is in the database once: one purchase link per caller
    // whose call was taken, none doubled by a retry on the other gateway.
    let store = Store::connect(&url).await.expect("the test's own connection");
    let outbox = store.outbox(100_000).await.unwrap();
    for c in &calls {
        let links = outbox.iter().filter(|m| m.to_addr.starts_with(&c.caller)).count();
        match c.status {
            Some(603) => assert_eq!(links, 1, "{}: one purchase link", c.caller),
            _ => assert!(links <= 1, "{}: at most one purchase link", c.caller),
        }
    }

    // A gateway started again on A's address answers OPTIONS, and Kamailio sends it calls again.
    hold.abort();
    let _ = hold.await;
    let admin: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let (_a2, _) = start_gateway(
        &url,
        &key,
        sink.addr(),
        &[("DIALTICKET_SIP_LISTEN", &a_sip.to_string()), ("DIALTICKET_ADMIN_LISTEN", &admin.to_string())],
    )
    .await;
    let restarted = Instant::now();
    let mut n = 0;
    while calls_answered(admin).await == 0 {
        assert!(restarted.elapsed() < Duration::from_secs(30), "the restarted gateway got no call back");
        let caller = format!("+81905559{n:04}");
        n += 1;
        let mut opts = CallOptions::new(edge_addr, caller.clone(), PURCHASE_MISSED_CALL);
        opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 1, 20, (n % 250 + 1) as u8));
        let report = place_call(opts).await.unwrap();
        assert_eq!(report.final_status, 603, "{caller}");
    }
    eprintln!(
        "failover: the restarted gateway took calls again {:.2} s after it started",
        restarted.elapsed().as_secs_f64()
    );
    edge.stop().await;
}

/// The rush's first fault: every caller reaches the edge from the carrier's
/// SBC, one source address. The edge's pike limit (40 requests in 2 s per
/// source) would block the carrier itself and with it every caller; carriers
/// are exempt (the gateways limit per caller number), so a burst of calls from
/// the carrier's address is all taken.
#[tokio::test]
async fn failover_the_edge_never_blocks_the_carriers_burst() {
    let gw = spawn_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let carrier = Ipv4Addr::new(127, 0, 0, 3);
    let (edge, edge_addr) = start_shipped_edge(&[gw.sip], &format!("{carrier}/32"), dir.path()).await;
    let calls = 120;
    let mut statuses = Vec::new();
    for batch in 0..calls / 8 {
        let placed = (0..8).map(|i| {
            let mut opts = CallOptions::new(edge_addr, format!("+8190666{batch:03}{i:02}"), PURCHASE_MISSED_CALL);
            opts.local_ip = IpAddr::V4(carrier);
            opts.timeout = Duration::from_secs(10);
            async move { place_call(opts).await.map(|r| r.final_status).ok() }
        });
        statuses.extend(futures::future::join_all(placed).await);
    }
    let taken = statuses.iter().filter(|s| **s == Some(603)).count();
    let log = std::fs::read_to_string(dir.path().join("kamailio.log")).unwrap_or_default();
    assert_eq!(taken, calls, "all {calls} calls from the carrier taken: {statuses:?}\n{log}");
    assert!(!log.contains("pike: blocking"), "{log}");
    edge.stop().await;
    gw.stop().await;
}

/// With every gateway out of the rotation (dead here; all answering 503 during
/// a database outage is the same to Kamailio), a caller gets the edge's own
/// 503 with Retry-After (RFC 3261 §21.5.4) — never a call left ringing.
#[tokio::test]
async fn failover_no_gateway_left_is_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    // A gateway that died: its address holds a socket that never answers.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    let seen = Arc::new(Tombstone::default());
    drop(dead);
    let hold = tombstone(dead_addr, seen.clone()).await;
    // The edge comes up once an OPTIONS passes through it to a gateway: give it
    // a live one to start with, listed after the dead one.
    let gw = spawn_gateway().await;
    let (edge, edge_addr) = start_shipped_edge(&[dead_addr, gw.sip], "192.0.2.0/24", dir.path()).await;
    gw.stop().await;
    let started = Instant::now();
    let mut n = 0;
    let report = loop {
        n += 1;
        let mut opts = CallOptions::new(edge_addr, format!("+81906670{n:04}"), PURCHASE_MISSED_CALL);
        opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 1, 30, (n % 250 + 1) as u8));
        let report = place_call(opts).await.expect("the edge answers");
        if report.final_status == 503 && report.final_reason.contains("No gateway") {
            break report;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still routed somewhere: {report:?}");
    };
    let retry = report.response_headers.iter().find(|(h, _)| h.eq_ignore_ascii_case("Retry-After"));
    assert!(retry.is_some_and(|(_, v)| v.trim().parse::<u32>().is_ok()), "{report:?}");
    eprintln!("failover: no gateway left: the edge's 503 after {:.2} s ({n} calls)", started.elapsed().as_secs_f64());
    hold.abort();
    edge.stop().await;
}

/// What a gateway cut off from its database answers (503 with Retry-After, see
/// `tests/outage`), as the caller hears it through the shipped edge: 503 with
/// Retry-After — not the 500 without it that a proxy makes of a 503 it relays
/// (RFC 3261 §16.7 step 6), which is what the edge answered before.
struct Unavailable;

impl CallHandler for Unavailable {
    fn handle(&self, _call: IncomingCall) -> HandlerFuture<CallDecision> {
        Box::pin(async { CallDecision::Refuse { code: 503, reason: "Service Unavailable".into(), prompt: None } })
    }
}

#[tokio::test]
async fn failover_a_gateways_503_reaches_the_caller_as_503_with_retry_after() {
    let gw = spawn_gateway().await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let prompts = Arc::new(Prompts::load(&repo("prompts")).expect("prompts"));
    let config = SipConfig::new(gw.app.dialplan.clone(), prompts, "127.0.0.1".parse().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let endpoint = tokio::spawn(sip::serve(udp, tcp, config, Arc::new(Unavailable), async {
        let _ = stopped.await;
    }));
    let dir = tempfile::tempdir().unwrap();
    let (edge, edge_addr) = start_shipped_edge(&[addr], "192.0.2.0/24", dir.path()).await;
    let mut opts = CallOptions::new(edge_addr, "+819066800001", PURCHASE_MISSED_CALL);
    opts.local_ip = IpAddr::V4(Ipv4Addr::new(127, 1, 40, 1));
    let report = place_call(opts).await.expect("the edge answers");
    assert_eq!(report.final_status, 503, "{report:?}");
    let retry = report.response_headers.iter().find(|(h, _)| h.eq_ignore_ascii_case("Retry-After"));
    assert!(retry.is_some_and(|(_, v)| v.trim().parse::<u32>().is_ok()), "{report:?}");
    edge.stop().await;
    let _ = stop.send(());
    let _ = endpoint.await;
    gw.stop().await;
}
