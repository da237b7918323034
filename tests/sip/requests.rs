//! Requests outside a call: OPTIONS, unknown methods, strays, garbage; where
//! responses go (Via, rport); the transaction table's limits; shutdown; TCP framing.

use std::net::SocketAddr;
use std::time::Duration;

use dialticket::sip::message::{self, new_branch};

use crate::helpers::*;

#[tokio::test(start_paused = true)]
async fn options_unknown_methods_and_stray_requests() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
    phone.send(&simple("OPTIONS", &phone, "")).await;
    let r = phone.response().await;
    assert_eq!(r.code, 200);
    assert_eq!(r.headers.get("Allow"), Some("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"));
    assert_eq!(r.headers.get("Accept"), Some("application/sdp, application/dtmf-relay, application/dtmf"));
    assert_eq!(r.headers.get("Supported"), Some(""));

    phone.send(&simple("SUBSCRIBE", &phone, "")).await;
    let r = phone.response().await;
    assert_eq!(r.code, 405);
    assert!(r.headers.get("Allow").is_some());

    phone.send(&simple("BYE", &phone, ";tag=nosuchdialog")).await;
    assert_eq!(phone.response().await.code, 481);

    phone.send(&simple("CANCEL", &phone, "")).await;
    assert_eq!(phone.response().await.code, 481);

    phone.send(&simple("INFO", &phone, ";tag=nosuchdialog")).await;
    assert_eq!(phone.response().await.code, 481, "in-dialog request for an unknown dialog");

    // An ACK for nothing is silently ignored.
    phone.send(&simple("ACK", &phone, ";tag=x")).await;
    phone.assert_quiet("an ACK for nothing is not answered").await;

    let looped = simple("INVITE", &phone, "").replace("Max-Forwards: 70", "Max-Forwards: 0");
    phone.send(&looped).await;
    let r = phone.final_response().await;
    assert_eq!((r.code, r.reason.as_str()), (483, "Too Many Hops"));

    phone.send(&simple("OPTIONS", &phone, "").replace("Max-Forwards: 70", "Max-Forwards: 0")).await;
    assert_eq!(phone.response().await.code, 200, "OPTIONS with Max-Forwards 0 is answered by the UAS");

    phone.send(&simple("INVITE", &phone, "").replace("Max-Forwards: 70", "Max-Forwards: 70\r\nRequire: 100rel")).await;
    let r = phone.final_response().await;
    assert_eq!(r.code, 420);
    assert_eq!(r.headers.get("Unsupported"), Some("100rel"));
    assert_eq!(srv.handler.count(), 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn garbage_never_stops_the_server() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
    let garbage: Vec<Vec<u8>> = vec![
        vec![0, 1, 2, 3, 255],
        b"\r\n\r\n".to_vec(),
        b"INVITE sip:x SIP/2.0\r\n\r\n".to_vec(),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKnothing\r\nCSeq: 1 BYE\r\nCall-ID: x\r\n\r\n".to_vec(),
        "INVITE sip:\u{1F600}@[::1 SIP/2.0\r\nVia: SIP/2.0/UDP [::1\r\n\r\n".as_bytes().to_vec(),
        vec![b'A'; 70000],
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
    ];
    for g in &garbage {
        phone.send_bytes(&g[..g.len().min(65000)]).await;
    }
    // Malformed but addressable: 400 with a reason.
    phone.send(&simple("OPTIONS", &phone, "").replace("CSeq: 7 OPTIONS", "CSeq: seven OPTIONS")).await;
    // The 400 copies the unreadable CSeq verbatim, so read it as text.
    let r = phone.recv_text().await;
    assert!(r.starts_with("SIP/2.0 400 Bad CSeq\r\n"), "{r}");
    assert!(r.contains("CSeq: seven OPTIONS\r\n"), "{r}");
    phone.send(&simple("OPTIONS", &phone, "")).await;
    assert_eq!(phone.response().await.code, 200);
    srv.shutdown().await;
}

fn options(via_sent_by: SocketAddr, rport: bool, server: SocketAddr) -> String {
    format!(
        "OPTIONS sip:{PURCHASE}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {via_sent_by};branch={}{}\r\nFrom: <sip:{CALLER}@x>;tag=a\r\nTo: <sip:{PURCHASE}@x>\r\nCall-ID: {}@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        new_branch(),
        if rport { ";rport" } else { "" },
        message::new_tag()
    )
}

#[tokio::test(start_paused = true)]
async fn responses_follow_the_via() {
    let srv = start(FakeHandler::announce("short")).await;
    let sender = Phone::new(srv.udp).await;
    let listener = Phone::new(srv.udp).await;
    // No rport: the response goes to the sent-by port (RFC 3261 §18.2.2), not the source port.
    sender.send(&options(listener.addr, false, srv.udp)).await;
    assert_eq!(listener.response().await.code, 200);
    sender.assert_quiet("no rport: nothing to the source port").await;
    // rport: back to the source (RFC 3581 §4), whatever the Via says.
    sender.send(&options(listener.addr, true, srv.udp)).await;
    assert_eq!(sender.response().await.code, 200);
    listener.assert_quiet("rport: nothing to the sent-by port").await;
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn per_source_transaction_limit_drops_floods_but_not_trunks() {
    let limits = dialticket::sip::Limits { max_transactions: 1000, max_transactions_per_source: 3 };
    let srv = start_configured(FakeHandler::announce("short"), PLAN, |c| c.limits = limits).await;
    let phone = Phone::new(srv.udp).await;
    for _ in 0..3 {
        phone.send(&options(phone.addr, true, srv.udp)).await;
        assert_eq!(phone.response().await.code, 200);
    }
    // The three OPTIONS transactions linger for Timer J (64·T1): a fourth is dropped.
    phone.send(&options(phone.addr, true, srv.udp)).await;
    phone.assert_quiet("flood dropped").await;
    srv.shutdown().await;

    // A configured trunk (a proxy carrying everyone's calls) has no per-source cap.
    let trunk_plan = format!("{PLAN}\n[[trunks]]\nname = \"proxy\"\ncidrs = [\"127.0.0.1/32\"]\ntrust_pai = true\n");
    let srv = start_configured(FakeHandler::announce("short"), &trunk_plan, |c| c.limits = limits).await;
    let phone = Phone::new(srv.udp).await;
    for _ in 0..6 {
        phone.send(&options(phone.addr, true, srv.udp)).await;
        assert_eq!(phone.response().await.code, 200);
    }
    srv.shutdown().await;

    // The whole table full: 503 (overload, §21.5.4), statelessly.
    let limits = dialticket::sip::Limits { max_transactions: 2, max_transactions_per_source: 100 };
    let srv = start_configured(FakeHandler::announce("short"), PLAN, |c| c.limits = limits).await;
    let phone = Phone::new(srv.udp).await;
    for want in [200, 200, 503] {
        phone.send(&options(phone.addr, true, srv.udp)).await;
        let r = phone.response().await;
        assert_eq!(r.code, want);
        if want == 503 {
            assert!(r.headers.get("Retry-After").is_some());
        }
    }
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_refuses_new_calls_and_returns() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
    srv.shutdown().await;
    // The sockets are gone: nothing answers.
    phone.send(&simple("OPTIONS", &phone, "")).await;
    phone.assert_quiet("the sockets are gone: nothing answers").await;
}

#[tokio::test]
async fn tcp_message_without_content_length_is_refused_and_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let srv = start(FakeHandler::announce("short")).await;
    let mut s = tokio::net::TcpStream::connect(srv.tcp).await.unwrap();
    let local = s.local_addr().unwrap();
    let text = format!(
        "OPTIONS sip:{} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKtcp1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: nolen\r\nCSeq: 1 OPTIONS\r\n\r\n",
        srv.tcp
    );
    s.write_all(text.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out)).await.unwrap().unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("SIP/2.0 400 Content-Length required over TCP\r\n"), "{out}");
    srv.shutdown().await;
}

/// OPTIONS is answered as an INVITE would be (RFC 3261 §11.2): 503 with
/// Retry-After while the gateway's database is out of reach (new INVITEs get
/// the same, without reaching the handler) and while the endpoint drains, so a
/// load balancer's OPTIONS probe takes the gateway out; 200 again once it can serve.
#[tokio::test]
async fn options_say_503_while_the_database_is_out_of_reach_or_the_endpoint_drains() {
    let availability = dialticket::health::Availability::default();
    let shared = availability.clone();
    let slow = FakeHandler::new(dialticket::sip::CallDecision::announce("short"), Duration::from_secs(30));
    let srv = start_configured(slow, PLAN, move |c| c.availability = shared).await;
    let phone = Phone::new(srv.udp).await;
    let options = |phone: &Phone| simple("OPTIONS", phone, "");
    phone.send(&options(&phone)).await;
    assert_eq!(phone.response().await.code, 200);

    availability.set_up(false);
    phone.send(&options(&phone)).await;
    let r = phone.response().await;
    assert_eq!(r.code, 503);
    assert!(r.headers.get("Retry-After").is_some_and(|v| v.parse::<u32>().is_ok()), "{r:?}");
    let call = phone.call(MISSED_CALL, CALLER);
    phone.send(&call.invite(None, "")).await;
    let r = phone.final_response().await;
    assert_eq!(r.code, 503);
    assert!(r.headers.get("Retry-After").is_some());
    phone.send(&call.ack(&r, None)).await;
    assert_eq!(srv.handler.count(), 0, "refused before the handler");

    availability.set_up(true);
    phone.send(&options(&phone)).await;
    assert_eq!(phone.response().await.code, 200);

    // Draining: shutdown has started, a call is still in progress (its grace).
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    let stopping = tokio::spawn(srv.shutdown());
    let mut seen = Vec::new();
    while !seen.contains(&503) {
        assert!(seen.len() < 50, "OPTIONS never said 503 while draining: {seen:?}");
        phone.send(&options(&phone)).await;
        let r = loop {
            let r = phone.response().await;
            if r.headers.get("CSeq").is_some_and(|c| c.ends_with("OPTIONS")) {
                break r;
            }
        };
        if r.code == 503 {
            assert!(r.headers.get("Retry-After").is_some(), "{r:?}");
        }
        seen.push(r.code);
    }
    stopping.await.unwrap();
}
