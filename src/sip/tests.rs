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
    assert_eq!(srv.handler.count(), 0, "refused before the handler was asked");
    srv.shutdown().await;
}

/// RFC 3261 §8.2.3 and RFC 3264 §6 before §8.2.5: the offer is checked before the
/// handler is asked, in every mode that answers with media; missed-call mode checks
/// only the body's type (it answers no offer).
#[tokio::test]
async fn offers_are_checked_before_the_handler_is_asked() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let g729 = sdp_offer(phone.addr, "18");
    // (number, (Content-Type, body), extra headers, expected status)
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str, u16);
    let cases: [Case; 8] = [
        (PURCHASE, Some(("text/plain", "hello")), "", 415),
        (PURCHASE, Some(("application/sdp", &g729)), "", 488),
        (PURCHASE, Some(("application/sdp", "v=0\r\nm=audio")), "", 400),
        (PURCHASE, Some(("application/sdp", &g729)), "Content-Encoding: gzip\r\n", 415),
        (EARLY_MEDIA, Some(("text/plain", "hello")), "", 415),
        (EARLY_MEDIA, Some(("application/sdp", &g729)), "", 488),
        (MISSED_CALL, Some(("text/plain", "hello")), "", 415),
        // Missed-call mode: no offer is answered, so the codecs do not matter.
        (MISSED_CALL, Some(("application/sdp", &g729)), "", 603),
    ];
    for (number, body, extra, status) in cases {
        let call = phone.call(number, CALLER);
        phone.send(&call.invite_with(body, extra)).await;
        let r = phone.final_response().await;
        assert_eq!(r.code, status, "{number} {body:?} {extra}");
        phone.send(&call.ack(&r, None)).await;
    }
    assert_eq!(srv.handler.count(), 1, "only the missed call reached the handler");
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

// ---------------------------------------------------------------------------
// Dialog: re-INVITE (hold/resume, late offer), DTMF menu, early media, limits
// ---------------------------------------------------------------------------

use super::message::{new_branch, Request};
use crate::media::Direction;

/// Where the gateway wants our RTP, from its SDP.
fn rtp_target(resp: &Response) -> SocketAddr {
    let sd = media::parse_sdp(&resp.body).unwrap();
    SocketAddr::new(sd.media[0].connection.or(sd.connection).unwrap(), sd.media[0].port)
}

fn sdp_direction(resp: &Response) -> Option<Direction> {
    let sd = media::parse_sdp(&resp.body).unwrap();
    sd.media[0].direction.or(sd.direction)
}

fn origin(resp: &Response) -> String {
    String::from_utf8_lossy(&resp.body).lines().find(|l| l.starts_with("o=")).unwrap_or_default().to_string()
}

/// Place a call and ACK its 200.
async fn answered(phone: &Phone, call: &Call, rtp_addr: SocketAddr) -> Response {
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0 101")), "")).await;
    let ok = phone.final_response().await;
    assert_eq!(ok.code, 200);
    phone.send(&call.ack(&ok, None)).await;
    ok
}

/// The BYE that ends the call (skipping any retransmitted responses), answered.
async fn await_bye(phone: &Phone, wait: Duration) -> Request {
    loop {
        match phone.try_recv(wait).await.expect("a BYE from the gateway") {
            Message::Request(r) if r.method == super::message::Method::Bye => {
                phone.send(&ok_for(&r)).await;
                return r;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn reinvite_holds_and_resumes_the_announcement() {
    let srv = start(FakeHandler::announce("long")).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    let ok = answered(&phone, &call, rtp_addr).await;
    let tag = to_tag(&ok);
    let mut buf = [0u8; 2048];
    rtp.recv_from(&mut buf).await.unwrap();

    // Hold (RFC 3264 §8.4): the caller goes sendonly, we answer recvonly and go quiet.
    let branch = new_branch();
    let hold = sdp_offer_dir(rtp_addr, "0 101", "sendonly", 2);
    phone.send(&call.in_dialog("INVITE", &tag, 2, &branch, Some(("application/sdp", &hold)))).await;
    let held = phone.final_response().await;
    assert_eq!((held.code, held.headers.get("CSeq")), (200, Some("2 INVITE")));
    assert_eq!(sdp_direction(&held), Some(Direction::RecvOnly));
    // Same session, next version (RFC 3264 §8).
    let (o1, o2) = (origin(&ok), origin(&held));
    let id: u64 = o1.split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(o2, o1.replace(&format!(" {id} {id} "), &format!(" {id} {} ", id + 1)));
    phone.send(&call.in_dialog("ACK", &tag, 2, &new_branch(), None)).await;
    let _ = collect_rtp(&rtp, Duration::from_millis(100)).await;
    assert!(collect_rtp(&rtp, Duration::from_millis(300)).await.is_empty(), "no RTP while on hold");

    // Resume: sendrecv again; the stream restarts with the marker bit (a new talkspurt).
    let resume = sdp_offer_dir(rtp_addr, "0 101", "sendrecv", 3);
    phone.send(&call.in_dialog("INVITE", &tag, 3, &new_branch(), Some(("application/sdp", &resume)))).await;
    let resumed = phone.final_response().await;
    assert_eq!(resumed.code, 200);
    assert_eq!(sdp_direction(&resumed), Some(Direction::SendRecv));
    phone.send(&call.in_dialog("ACK", &tag, 3, &new_branch(), None)).await;
    let (n, _) = rtp.recv_from(&mut buf).await.unwrap();
    assert_eq!(buf[1] & 0x80, 0x80, "marker bit after the hold");
    assert!(n > 12);

    // An offer we cannot take: 488, and the session stays as it was (§14.2).
    let branch = new_branch();
    let g729 = sdp_offer_dir(rtp_addr, "18", "sendrecv", 4);
    phone.send(&call.in_dialog("INVITE", &tag, 4, &branch, Some(("application/sdp", &g729)))).await;
    let refused = phone.final_response().await;
    assert_eq!(refused.code, 488);
    phone.send(&call.in_dialog("ACK", &tag, 4, &branch, None)).await;
    rtp.recv_from(&mut buf).await.unwrap();
    // Out-of-order CSeq (§12.2.2).
    phone.send(&call.in_dialog("INVITE", &tag, 3, &new_branch(), Some(("application/sdp", &resume)))).await;
    let old = phone.final_response().await;
    assert_eq!((old.code, old.reason.as_str()), (500, "CSeq Out of Order"));

    phone.send(&call.bye(&tag).replace("CSeq: 2 BYE", "CSeq: 9 BYE")).await;
    assert_eq!(phone.final_response().await.code, 200);
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reinvite_without_sdp_gets_our_offer_and_the_ack_answers() {
    let srv = start(FakeHandler::announce("long")).await;
    let phone = Phone::new(srv.udp).await;
    let (_rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    let ok = answered(&phone, &call, rtp_addr).await;
    let tag = to_tag(&ok);
    phone.send(&call.in_dialog("INVITE", &tag, 2, &new_branch(), None)).await;
    let offer = phone.final_response().await;
    assert_eq!(offer.code, 200);
    let sd = media::parse_sdp(&offer.body).unwrap();
    assert_eq!(sd.media[0].formats, vec!["0", "8", "101"]);
    // No ACK yet: the 2xx is retransmitted (§13.3.1.4).
    let again = phone.final_response().await;
    assert_eq!((again.code, again.headers.get("CSeq")), (200, Some("2 INVITE")));
    // The answer in the ACK moves the stream: PCMA to a new address.
    let (moved, moved_addr) = rtp_socket().await;
    let answer = sdp_offer_dir(moved_addr, "8", "sendrecv", 2);
    phone.send(&call.in_dialog("ACK", &tag, 2, &new_branch(), Some(("application/sdp", &answer)))).await;
    let packets = collect_rtp(&moved, Duration::from_millis(200)).await;
    assert!(!packets.is_empty(), "RTP follows the answer in the ACK");
    assert!(packets.iter().all(|(_, p)| p[1] & 0x7F == 8), "PCMA as answered");
    phone.send(&call.bye(&tag).replace("CSeq: 2 BYE", "CSeq: 3 BYE")).await;
    loop {
        let r = phone.response().await;
        if r.headers.get("CSeq") == Some("3 BYE") {
            assert_eq!(r.code, 200);
            break;
        }
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn dtmf_over_rtp_chooses_the_menu_once() {
    let srv = start(FakeHandler::announce("long").with_menu()).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    let ok = answered(&phone, &call, rtp_addr).await;
    let target = rtp_target(&ok);
    let mut buf = [0u8; 2048];
    rtp.recv_from(&mut buf).await.unwrap();
    // A key outside the menu, then "1" (each with its end packet sent three times), then
    // "1" again: one choice per call, so the handler sees exactly one '1'.
    for (digit, ts) in [('5', 1000u32), ('1', 5000), ('1', 9000)] {
        for p in dtmf_packets(digit, 42, ts as u16, ts) {
            rtp.send_to(&p, target).await.unwrap();
        }
    }
    let bye = await_bye(&phone, Duration::from_secs(5)).await;
    assert_eq!(bye.call_id, call.call_id);
    assert_eq!(srv.handler.pressed(), vec!['1']);
    srv.shutdown().await;
}

#[tokio::test]
async fn dtmf_over_sip_info_and_other_info_bodies() {
    let srv = start(FakeHandler::announce("long").with_menu()).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    let ok = answered(&phone, &call, rtp_addr).await;
    let tag = to_tag(&ok);
    let mut buf = [0u8; 2048];
    rtp.recv_from(&mut buf).await.unwrap();
    // An empty INFO is a keep-alive; an unknown body is 415.
    phone.send(&call.in_dialog("INFO", &tag, 2, &new_branch(), None)).await;
    assert_eq!(phone.final_response().await.code, 200);
    phone.send(&call.in_dialog("INFO", &tag, 3, &new_branch(), Some(("text/plain", "hi")))).await;
    let r = phone.final_response().await;
    assert_eq!(r.code, 415);
    assert!(r.headers.get("Accept").unwrap().contains("application/dtmf-relay"));
    let relay = "Signal=1\r\nDuration=160\r\n";
    phone.send(&call.in_dialog("INFO", &tag, 4, &new_branch(), Some(("application/dtmf-relay", relay)))).await;
    assert_eq!(phone.final_response().await.code, 200);
    await_bye(&phone, Duration::from_secs(5)).await;
    assert_eq!(srv.handler.pressed(), vec!['1']);
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn menu_waits_for_a_key_then_hangs_up() {
    let srv = start(FakeHandler::announce("short").with_menu()).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    answered(&phone, &call, rtp_addr).await;
    let t0 = Instant::now();
    await_bye(&phone, Duration::from_secs(10)).await;
    // Announcement (200 ms) + menu prompt (100 ms) + 4 s wait + playout tail (300 ms).
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(4500) && took < Duration::from_millis(4700), "{took:?}");
    let packets = collect_rtp(&rtp, Duration::from_millis(10)).await;
    assert_eq!(packets.len(), SHORT_PACKETS + MENU_PACKETS, "announcement, then the menu prompt");
    assert_eq!(packets[SHORT_PACKETS].1[12], 0x33, "menu prompt after the announcement");
    assert!(srv.handler.pressed().is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn early_media_plays_in_183_then_rejects() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(EARLY_MEDIA, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "8 0 101")), "")).await;
    assert_eq!(phone.response().await.code, 100);
    let progress = phone.response().await;
    assert_eq!((progress.code, progress.reason.as_str()), (183, "Session Progress"));
    assert_eq!(progress.headers.get("Content-Type"), Some("application/sdp"));
    assert!(!to_tag(&progress).is_empty());
    let packets = collect_rtp(&rtp, Duration::from_millis(300)).await;
    assert_eq!(packets.len(), SHORT_PACKETS);
    assert_eq!(packets[0].0, rtp_target(&progress), "symmetric RTP from the SDP port");
    let rejected = phone.final_response().await;
    assert_eq!((rejected.code, rejected.reason.as_str()), (480, "Temporarily Unavailable"));
    assert_eq!(to_tag(&rejected), to_tag(&progress));
    phone.send(&call.ack(&rejected, None)).await;

    // Without an offer there is nothing to play to: rejected at once.
    let call = phone.call(EARLY_MEDIA, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    let r = phone.response().await;
    assert_eq!(r.code, 480);
    phone.send(&call.ack(&r, None)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn cancel_during_early_media_stops_it() {
    let srv = start(FakeHandler::announce("long")).await;
    let phone = Phone::new(srv.udp).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(EARLY_MEDIA, CALLER);
    phone.send(&call.invite(Some(&sdp_offer(rtp_addr, "0")), "")).await;
    assert_eq!(phone.response().await.code, 100);
    assert_eq!(phone.response().await.code, 183);
    let mut buf = [0u8; 2048];
    rtp.recv_from(&mut buf).await.unwrap();
    phone.send(&call.cancel()).await;
    let mut codes = vec![phone.response().await.code, phone.response().await.code];
    codes.sort();
    assert_eq!(codes, vec![200, 487]);
    let _ = collect_rtp(&rtp, Duration::from_millis(100)).await;
    assert!(collect_rtp(&rtp, Duration::from_millis(300)).await.is_empty(), "RTP stopped");
    srv.shutdown().await;
}

fn options(via_sent_by: SocketAddr, rport: bool, server: SocketAddr) -> String {
    format!(
        "OPTIONS sip:{PURCHASE}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {via_sent_by};branch={}{}\r\nFrom: <sip:{CALLER}@x>;tag=a\r\nTo: <sip:{PURCHASE}@x>\r\nCall-ID: {}@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        new_branch(),
        if rport { ";rport" } else { "" },
        super::message::new_tag()
    )
}

#[tokio::test]
async fn responses_follow_the_via() {
    let srv = start(FakeHandler::announce("short")).await;
    let sender = Phone::new(srv.udp).await;
    let listener = Phone::new(srv.udp).await;
    // No rport: the response goes to the sent-by port (RFC 3261 §18.2.2), not the source port.
    sender.send(&options(listener.addr, false, srv.udp)).await;
    assert_eq!(listener.response().await.code, 200);
    assert!(sender.try_recv(Duration::from_millis(200)).await.is_none());
    // rport: back to the source (RFC 3581 §4), whatever the Via says.
    sender.send(&options(listener.addr, true, srv.udp)).await;
    assert_eq!(sender.response().await.code, 200);
    assert!(listener.try_recv(Duration::from_millis(200)).await.is_none());
    srv.shutdown().await;
}

#[tokio::test]
async fn per_source_transaction_limit_drops_floods_but_not_trunks() {
    let limits = super::Limits { max_transactions: 1000, max_transactions_per_source: 3 };
    let srv = start_configured(FakeHandler::announce("short"), PLAN, |c| c.limits = limits).await;
    let phone = Phone::new(srv.udp).await;
    for _ in 0..3 {
        phone.send(&options(phone.addr, true, srv.udp)).await;
        assert_eq!(phone.response().await.code, 200);
    }
    // The three OPTIONS transactions linger for Timer J (64·T1): a fourth is dropped.
    phone.send(&options(phone.addr, true, srv.udp)).await;
    assert!(phone.try_recv(Duration::from_millis(300)).await.is_none(), "flood dropped");
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
    let limits = super::Limits { max_transactions: 2, max_transactions_per_source: 100 };
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

#[tokio::test]
async fn call_limit_answers_503() {
    let slow = FakeHandler::new(CallDecision::Announce { prompt: "short".into() }, Duration::from_secs(30));
    let srv = start_configured(slow, PLAN, |c| c.max_calls = 1).await;
    let phone = Phone::new(srv.udp).await;
    let first = phone.call(PURCHASE, CALLER);
    phone.send(&first.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    let second = phone.call(PURCHASE, CALLER);
    phone.send(&second.invite(None, "")).await;
    let r = phone.final_response().await;
    assert_eq!(r.code, 503);
    assert_eq!(r.headers.get("Call-ID"), Some(second.call_id.as_str()));
    assert!(r.headers.get("Retry-After").is_some());
    phone.send(&second.ack(&r, None)).await;
    phone.send(&first.cancel()).await;
    let mut codes = vec![phone.response().await.code, phone.response().await.code];
    codes.sort();
    assert_eq!(codes, vec![200, 487]);
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn our_bye_is_retransmitted_on_timer_e_until_timer_f() {
    let srv = start(FakeHandler::announce("short")).await;
    let phone = Phone::new(srv.udp).await;
    let (_rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    answered(&phone, &call, rtp_addr).await;
    let bye = phone.request().await;
    assert_eq!(bye.method, super::message::Method::Bye);
    let t0 = Instant::now();
    let mut at = Vec::new();
    while let Some(m) = phone.try_recv(Duration::from_secs(10)).await {
        let again = expect_request(m);
        assert_eq!(again.via.branch(), bye.via.branch(), "a retransmission, not a new request");
        at.push(t0.elapsed().as_millis());
    }
    // §17.1.2.2: Timer E from T1 doubling to T2 (500, 1000, 2000, 4000, 4000 …); Timer F at 64·T1.
    assert_eq!(at[..5], [500, 1500, 3500, 7500, 11500]);
    assert!(*at.last().unwrap() < 32_000, "{at:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_retransmitted_bye_gets_the_same_answer_from_timer_j() {
    let srv = start(FakeHandler::announce("long")).await;
    let phone = Phone::new(srv.udp).await;
    let (_rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    let ok = answered(&phone, &call, rtp_addr).await;
    let bye = call.bye(&to_tag(&ok));
    phone.send(&bye).await;
    let first = phone.final_response().await;
    assert_eq!(first.code, 200);
    // The dialog is gone, but the transaction remembers its answer (§17.2.2): 200, not 481.
    phone.send(&bye).await;
    let again = phone.final_response().await;
    assert_eq!((again.code, again.headers.get("CSeq")), (200, Some("2 BYE")));
    assert_eq!(to_tag(&again), to_tag(&first));
    srv.shutdown().await;
}
