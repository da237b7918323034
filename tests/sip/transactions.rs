//! Transactions and their timers (RFC 3261 §17), under paused time: retransmitted
//! requests absorbed, Timer G/H, Timer E/F, Timer J, the 2xx retransmission
//! (§13.3.1.4), RFC 2543 matching.

use std::time::Duration;

use tokio::time::Instant;

use dialticket::sip::message::{self, Message};
use dialticket::sip::CallDecision;

use crate::helpers::*;

#[tokio::test(start_paused = true)]
async fn retransmitted_invite_is_answered_from_the_transaction() {
    let decision = CallDecision::Refuse { code: 486, reason: "Busy Here".into(), prompt: None };
    let (srv, phone) = spawn(FakeHandler::new(decision, Duration::from_millis(300))).await;
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
    phone.assert_quiet("the ACK stops retransmissions").await;
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn non_2xx_is_retransmitted_until_the_ack() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    assert_eq!(bye.method, message::Method::Bye);
    assert_eq!(oks, 10, "2xx retransmitted T1 doubling to T2 for 64·T1 (§13.3.1.4)");
    assert_eq!(t0.elapsed(), Duration::from_secs(32));
    phone.send(&ok_for(&bye)).await;
    srv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn our_bye_is_retransmitted_on_timer_e_until_timer_f() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
    let (_rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    answered(&phone, &call, rtp_addr).await;
    let bye = phone.request().await;
    assert_eq!(bye.method, message::Method::Bye);
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
    let (srv, phone) = spawn(FakeHandler::announce("long")).await;
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

#[tokio::test(start_paused = true)]
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
    phone.assert_quiet("the ACK matched: no more 486").await;
    assert_eq!(srv.handler.count(), 1);
    srv.shutdown().await;
}
