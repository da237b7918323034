//! End-to-end SIP tests: a real `serve` on loopback, raw SIP text over sockets.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::message::{Message, NameAddr, Response};
use super::testutil::*;
use super::CallDecision;
use crate::identity::IdentitySource;
use crate::media;

fn to_tag(r: &Response) -> String {
    r.headers
        .get("To")
        .and_then(|t| NameAddr::parse(t).ok())
        .and_then(|n| n.tag().map(str::to_string))
        .unwrap_or_default()
}

async fn rtp_socket() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

#[tokio::test]
async fn udp_call_answers_plays_and_hangs_up() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "8 0 101")), "")).await;

    let trying = phone.response().await;
    assert_eq!(trying.code, 100);
    assert_eq!(to_tag(&trying), "", "no To tag on 100 Trying");
    let via = trying.headers.get("Via").unwrap();
    assert!(via.contains(&format!("rport={}", phone.addr.port())), "rport filled (RFC 3581): {via}");
    let ringing = phone.response().await;
    assert_eq!(ringing.code, 180);
    let ok = phone.response().await;
    assert_eq!(ok.code, 200);
    assert_eq!(to_tag(&ok), to_tag(&ringing));
    assert!(!to_tag(&ok).is_empty());
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    assert!(ok.headers.get("Contact").unwrap().contains(&srv.udp.to_string()));
    let answer = media::parse_sdp(&ok.body).unwrap();
    let chosen = media::negotiate(&answer).unwrap();
    assert_eq!(chosen.codec, media::Codec::Pcmu, "PCMU preferred even when offered second");
    assert_eq!(chosen.telephone_event, Some(101));

    phone.send(&call.ack(&ok, None)).await;
    let packets = collect_rtp(&rtp, Duration::from_millis(500)).await;
    assert_eq!(packets.len(), SHORT_PACKETS);
    assert!(
        packets.iter().all(|(from, _)| *from == chosen.remote),
        "RTP comes from the advertised port (symmetric RTP)"
    );

    let bye = phone.request().await;
    assert_eq!(bye.method, super::message::Method::Bye);
    assert_eq!(bye.uri.as_str(), format!("sip:{CALLER}@{}", phone.addr));
    assert_eq!(bye.from.tag(), Some(to_tag(&ok).as_str()));
    assert_eq!(bye.to.tag(), Some(call.from_tag.as_str()));
    assert_eq!(bye.call_id, call.call_id);
    phone.send(&ok_for(&bye)).await;

    assert_eq!(srv.handler.count(), 1);
    let seen = srv.handler.last().unwrap();
    assert_eq!(seen.dialed.as_str(), PURCHASE);
    assert_eq!(seen.caller.number.as_str(), CALLER);
    assert_eq!(seen.caller.source, IdentitySource::From);
    assert!(!seen.caller.trusted);
    assert_eq!(seen.source, phone.addr);
    assert_eq!(seen.call_id, call.call_id);
    assert!(phone.try_recv(Duration::from_millis(700)).await.is_none(), "nothing after the BYE was answered");
    srv.shutdown().await;
}

#[tokio::test]
async fn retransmitted_invite_is_answered_from_the_transaction() {
    let decision = CallDecision::Refuse { code: 486, reason: "Busy Here".into(), prompt: None };
    let srv = start(FakeHandler::new(decision, Duration::from_millis(300))).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(PURCHASE, CALLER);
    let invite = call.invite(None, "");
    phone.send(&invite).await;
    assert_eq!(phone.response().await.code, 100);
    phone.send(&invite).await;
    assert_eq!(phone.response().await.code, 100, "retransmission gets the last response");
    let busy = phone.response().await;
    assert_eq!((busy.code, busy.reason.as_str()), (486, "Busy Here"));
    phone.send(&invite).await;
    let again = phone.response().await;
    assert_eq!(again.code, 486);
    assert_eq!(to_tag(&again), to_tag(&busy));
    phone.send(&call.ack(&busy, None)).await;
    assert!(phone.try_recv(Duration::from_millis(800)).await.is_none(), "ACK stops retransmissions");
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn missed_call_rule_rejects_without_answering() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(MISSED_CALL, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(phone.addr, "0")), "")).await;
    let decline = phone.final_response().await;
    assert_eq!((decline.code, decline.reason.as_str()), (603, "Decline"));
    phone.send(&call.ack(&decline, None)).await;
    assert_eq!(srv.handler.count(), 1, "the handler still sees the call (caller ID read)");

    // A rule's own reject code; and the handler's refusal code wins over it.
    let call = phone.call("+442079460102", CALLER);
    phone.send(&call.invite(None, "")).await;
    let busy = phone.final_response().await;
    assert_eq!(busy.code, 486);
    phone.send(&call.ack(&busy, None)).await;
    srv.shutdown().await;

    let refuse = CallDecision::Refuse { code: 480, reason: "Nothing To Issue".into(), prompt: Some("x".into()) };
    let srv = start(FakeHandler::new(refuse, Duration::ZERO)).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(MISSED_CALL, CALLER);
    phone.send(&call.invite(None, "")).await;
    let r = phone.final_response().await;
    assert_eq!((r.code, r.reason.as_str()), (480, "Nothing To Issue"));
    phone.send(&call.ack(&r, None)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn refusal_with_prompt_in_announce_mode_is_answered() {
    let refuse = CallDecision::Refuse { code: 404, reason: "No Ticket".into(), prompt: Some("short".into()) };
    let srv = start(FakeHandler::new(refuse, Duration::ZERO)).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0")), "")).await;
    let ok = phone.final_response().await;
    assert_eq!(ok.code, 200);
    phone.send(&call.ack(&ok, None)).await;
    assert_eq!(collect_rtp(&rtp, Duration::from_millis(500)).await.len(), SHORT_PACKETS);
    let bye = phone.request().await;
    phone.send(&ok_for(&bye)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn anonymous_and_unusable_callers() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(PURCHASE, "anonymous");
    phone.send(&call.invite(None, "")).await;
    let r = phone.final_response().await;
    assert_eq!((r.code, r.reason.as_str()), (433, "Anonymity Disallowed"));
    phone.send(&call.ack(&r, None)).await;

    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "Privacy: id\r\n")).await;
    assert_eq!(phone.final_response().await.code, 433);

    let call = phone.call(PURCHASE, "123");
    phone.send(&call.invite(None, "")).await;
    let r = phone.final_response().await;
    assert_eq!((r.code, r.reason.as_str()), (403, "Caller number unusable"));
    assert_eq!(srv.handler.count(), 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_number_is_404() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    for to in ["+442079469999", "service", "0207946"] {
        let call = phone.call(to, CALLER);
        phone.send(&call.invite(None, "")).await;
        let r = phone.final_response().await;
        assert_eq!((r.code, r.reason.as_str()), (404, "Not Found"), "{to}");
    }
    // A national form of a configured number is found.
    let call = phone.call("02079460101", CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.final_response().await.code, 603);
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}

fn simple(method: &str, phone: &Phone, extra: &str) -> String {
    format!(
        "{method} sip:{PURCHASE}@{} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={}\r\nFrom: <sip:{CALLER}@{}>;tag=a\r\nTo: <sip:{PURCHASE}@{}>{extra}\r\nCall-ID: {}@x\r\nCSeq: 7 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        phone.server,
        phone.addr,
        super::message::new_branch(),
        phone.addr,
        phone.server,
        super::message::new_tag()
    )
}

#[tokio::test]
async fn options_unknown_methods_and_stray_requests() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    phone.send(&simple("OPTIONS", &phone, "")).await;
    let r = phone.response().await;
    assert_eq!(r.code, 200);
    assert_eq!(r.headers.get("Allow"), Some("INVITE, ACK, CANCEL, BYE, OPTIONS"));
    assert_eq!(r.headers.get("Accept"), Some("application/sdp"));

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
    assert!(phone.try_recv(Duration::from_millis(300)).await.is_none());

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
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
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

#[tokio::test]
async fn cancel_gets_200_and_the_invite_487() {
    let srv = start(FakeHandler::new(CallDecision::Announce { prompt: "short".into() }, Duration::from_secs(30))).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    phone.send(&call.cancel()).await;
    let (mut cancel_ok, mut terminated) = (None, None);
    for _ in 0..2 {
        let r = phone.response().await;
        match (r.code, r.headers.get("CSeq")) {
            (200, Some("1 CANCEL")) => cancel_ok = Some(r),
            (487, Some("1 INVITE")) => terminated = Some(r),
            other => panic!("unexpected {other:?}"),
        }
    }
    let (cancel_ok, terminated) = (cancel_ok.unwrap(), terminated.unwrap());
    assert_eq!(terminated.reason, "Request Terminated");
    assert_eq!(to_tag(&cancel_ok), to_tag(&terminated), "§9.2: same To tag");
    phone.send(&call.ack(&terminated, None)).await;
    assert!(phone.try_recv(Duration::from_millis(800)).await.is_none());
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn non_2xx_is_retransmitted_until_the_ack() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(MISSED_CALL, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    let first = phone.response().await;
    assert_eq!(first.code, 603);
    let t0 = Instant::now();
    let mut gaps = Vec::new();
    let mut last = t0;
    for _ in 0..5 {
        let r = phone.response().await;
        assert_eq!(r.code, 603);
        gaps.push(last.elapsed().as_millis());
        last = Instant::now();
    }
    // Timer G: T1, then doubling, capped at T2 (§17.2.1).
    assert_eq!(gaps, vec![500, 1000, 2000, 4000, 4000]);
    phone.send(&call.ack(&first, None)).await;
    assert!(phone.try_recv(Duration::from_secs(20)).await.is_none(), "no retransmission after the ACK");
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn non_2xx_retransmission_gives_up_at_timer_h() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(MISSED_CALL, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    assert_eq!(phone.response().await.code, 603);
    let t0 = Instant::now();
    let mut count = 0;
    while let Some(m) = phone.try_recv(Duration::from_secs(10)).await {
        assert_eq!(expect_response(m).code, 603);
        count += 1;
    }
    // Retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5, …, 31.5 s; Timer H fires at 32 s.
    assert_eq!(count, 10);
    assert!(t0.elapsed() < Duration::from_secs(32 + 11));
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unacknowledged_200_is_retransmitted_then_bye() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let (_rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0")), "")).await;
    assert_eq!(phone.response().await.code, 100);
    assert_eq!(phone.response().await.code, 180);
    assert_eq!(phone.response().await.code, 200);
    let t0 = Instant::now();
    let mut oks = 0;
    let bye = loop {
        match phone.recv().await {
            Message::Response(r) => {
                assert_eq!(r.code, 200);
                oks += 1;
            }
            Message::Request(r) => break r,
        }
    };
    assert_eq!(bye.method, super::message::Method::Bye);
    assert_eq!(oks, 10, "2xx retransmitted T1 doubling to T2 for 64·T1 (§13.3.1.4)");
    assert_eq!(t0.elapsed(), Duration::from_secs(32));
    phone.send(&ok_for(&bye)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn caller_bye_stops_the_announcement() {
    let srv = start(FakeHandler::announce("long")).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0")), "")).await;
    let ok = phone.final_response().await;
    phone.send(&call.ack(&ok, None)).await;
    let mut buf = [0u8; 2048];
    for _ in 0..3 {
        rtp.recv_from(&mut buf).await.unwrap();
    }
    // A re-INVITE is refused; the call goes on.
    let reinvite_branch = super::message::new_branch();
    let reinvite = call
        .invite(None, "")
        .replace(
            &format!("To: <sip:{PURCHASE}@{}>", srv.udp),
            &format!("To: <sip:{PURCHASE}@{}>;tag={}", srv.udp, to_tag(&ok)),
        )
        .replace("CSeq: 1 INVITE", "CSeq: 3 INVITE")
        .replace(&call.branch, &reinvite_branch);
    phone.send(&reinvite).await;
    let refused = phone.final_response().await;
    assert_eq!(refused.code, 488);
    let ack = call.ack(&refused, None).replace(&call.branch, &reinvite_branch).replace("CSeq: 1 ACK", "CSeq: 3 ACK");
    phone.send(&ack).await;
    rtp.recv_from(&mut buf).await.unwrap();
    phone.send(&call.bye(&to_tag(&ok))).await;
    let r = phone.response().await;
    assert_eq!((r.code, r.headers.get("CSeq")), (200, Some("2 BYE")));
    let _ = collect_rtp(&rtp, Duration::from_millis(100)).await;
    assert!(collect_rtp(&rtp, Duration::from_millis(300)).await.is_empty(), "RTP stopped");
    assert!(phone.try_recv(Duration::from_millis(500)).await.is_none(), "no BYE from us");
    // The dialog is gone now.
    phone.send(&call.bye(&to_tag(&ok))).await;
    assert_eq!(phone.response().await.code, 481);
    srv.shutdown().await;
}

#[tokio::test]
async fn no_common_codec_is_488() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(phone.addr, "9 18")), "")).await;
    let r = phone.final_response().await;
    assert_eq!((r.code, r.reason.as_str()), (488, "Not Acceptable Here"));
    assert!(r.headers.get("Warning").is_some_and(|w| w.starts_with("305 ")));
    phone.send(&call.ack(&r, None)).await;

    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some("v=0\r\nm=audio"), "")).await;
    let r = phone.final_response().await;
    assert_eq!((r.code, r.reason.as_str()), (400, "Malformed SDP"));
    srv.shutdown().await;
}

#[tokio::test]
async fn late_offer_takes_the_answer_from_the_ack() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "")).await;
    let ok = phone.final_response().await;
    assert_eq!(ok.code, 200);
    let offer = media::parse_sdp(&ok.body).unwrap();
    assert_eq!(offer.media[0].formats, vec!["0", "8", "101"]);
    phone.send(&call.ack(&ok, Some(&sdp_offer(rtp_addr, "8")))).await;
    let packets = collect_rtp(&rtp, Duration::from_millis(500)).await;
    assert_eq!(packets.len(), SHORT_PACKETS);
    assert_eq!(packets[0].1[1] & 0x7F, 8, "PCMA as answered");
    assert_eq!(packets[0].1[1] & 0x80, 0x80, "marker on the first packet");
    let bye = phone.request().await;
    phone.send(&ok_for(&bye)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn tcp_call_uses_the_same_connection() {
    let srv = start(FakeHandler::announce("short")).await;
    let mut phone = TcpPhone::connect(srv.tcp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0")), "")).await;
    assert_eq!(expect_response(phone.recv().await).code, 100);
    assert_eq!(expect_response(phone.recv().await).code, 180);
    let ok = expect_response(phone.recv().await);
    assert_eq!(ok.code, 200);
    assert!(ok.headers.get("Contact").unwrap().contains(";transport=tcp"));
    phone.send(&call.ack(&ok, None)).await;
    assert_eq!(collect_rtp(&rtp, Duration::from_millis(500)).await.len(), SHORT_PACKETS);
    let bye = expect_request(phone.recv().await);
    assert_eq!(bye.method, super::message::Method::Bye);
    assert!(bye.via.transport == "TCP");
    phone.send(&ok_for(&bye)).await;

    // Keep-alive ping on the same connection, then an OPTIONS still works.
    phone.send("\r\n\r\n").await;
    phone.send(&simple_tcp_options(&phone)).await;
    assert_eq!(expect_response(phone.recv().await).code, 200);
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}

fn simple_tcp_options(phone: &TcpPhone) -> String {
    format!(
        "OPTIONS sip:{} SIP/2.0\r\nv: SIP/2.0/TCP {};branch={}\r\nf: <sip:{CALLER}@x>;tag=1\r\nt: <sip:{PURCHASE}@x>\r\ni: opt@x\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n",
        phone.server,
        phone.addr,
        super::message::new_branch()
    )
}

#[tokio::test]
async fn shutdown_refuses_new_calls_and_returns() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    srv.shutdown().await;
    // The sockets are gone: nothing answers.
    phone.send(&simple("OPTIONS", &phone, "")).await;
    assert!(phone.try_recv(Duration::from_millis(300)).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_never_decides_gets_503() {
    let srv =
        start(FakeHandler::new(CallDecision::Announce { prompt: "short".into() }, Duration::from_secs(3600))).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    let t0 = Instant::now();
    let r = expect_response(phone.try_recv(Duration::from_secs(60)).await.expect("a final response"));
    assert_eq!(r.code, 503);
    assert_eq!(t0.elapsed(), Duration::from_secs(20));
    phone.send(&call.ack(&r, None)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn rfc2543_peer_without_branch_cookie_is_matched_by_call_id_and_cseq() {
    let srv = start(FakeHandler::new(
        CallDecision::Refuse { code: 486, reason: String::new(), prompt: None },
        Duration::from_millis(200),
    ))
    .await;
    let phone = Phone::new(srv.udp).await;
    let mut call = phone.call(PURCHASE, CALLER);
    call.branch = "old-style-1".into();
    let invite = call.invite(None, "");
    phone.send(&invite).await;
    phone.send(&invite).await;
    let busy = phone.final_response().await;
    assert_eq!((busy.code, busy.reason.as_str()), (486, "Busy Here"));
    phone.send(&call.ack(&busy, None)).await;
    assert!(phone.try_recv(Duration::from_millis(800)).await.is_none(), "the ACK matched");
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
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
