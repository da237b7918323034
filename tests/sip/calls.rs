//! Whole calls as a phone sees them: answered with an announcement, missed-call
//! and early-media modes, refusals, CANCEL, the call limit, TCP.

use std::time::Duration;

use tokio::time::Instant;

use dialticket::identity::IdentitySource;
use dialticket::media;
use dialticket::sip::message;
use dialticket::sip::CallDecision;

use crate::helpers::*;

#[tokio::test(start_paused = true)]
async fn udp_call_answers_plays_and_hangs_up() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    assert_eq!(bye.method, message::Method::Bye);
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
    phone.assert_quiet("nothing after the BYE was answered").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn missed_call_rule_rejects_without_answering() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    let (srv, phone) = spawn(FakeHandler::new(refuse, Duration::ZERO)).await;
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
    let (srv, phone) = spawn(FakeHandler::new(refuse, Duration::ZERO)).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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

#[tokio::test]
async fn early_media_plays_in_183_then_rejects() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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

#[tokio::test(start_paused = true)]
async fn cancel_gets_200_and_the_invite_487() {
    let (srv, phone) = spawn(FakeHandler::new(CallDecision::announce("short"), Duration::from_secs(30))).await;
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
    phone.assert_quiet("the ACK stops the 487's retransmissions").await;
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn cancel_during_early_media_stops_it() {
    let (srv, phone) = spawn(FakeHandler::announce("long")).await;
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
    // Packets already on their way when the CANCEL came; then silence.
    let _ = collect_rtp(&rtp, Duration::from_millis(100)).await;
    assert!(collect_rtp(&rtp, QUIET).await.is_empty(), "RTP stopped");
    srv.shutdown().await;
}

#[tokio::test]
async fn call_limit_answers_503() {
    let slow = FakeHandler::new(CallDecision::announce("short"), Duration::from_secs(30));
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
async fn a_handler_that_never_decides_gets_503() {
    let srv = start(FakeHandler::new(CallDecision::announce("short"), Duration::from_secs(3600))).await;
    let phone = Phone::new(srv.udp).await;
    let call = phone.call(PURCHASE, CALLER);
    phone.send(&call.invite(None, "")).await;
    assert_eq!(phone.response().await.code, 100);
    let t0 = Instant::now();
    let r = expect_response(phone.try_recv(Duration::from_secs(60)).await.expect("a final response"));
    assert_eq!(r.code, 503);
    assert!(r.headers.get("Retry-After").is_some(), "try again later (§21.5.4)");
    assert_eq!(t0.elapsed(), Duration::from_secs(20));
    phone.send(&call.ack(&r, None)).await;
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
    assert_eq!(bye.method, message::Method::Bye);
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
        message::new_branch()
    )
}
