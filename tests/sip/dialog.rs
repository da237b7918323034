//! Inside an answered call's dialog: re-INVITEs (hold, resume, late offer), the
//! caller's BYE, DTMF (RFC 4733 and SIP INFO) and the menu.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use dialticket::media::{self, Direction};
use dialticket::sip::message::{new_branch, Response};
use dialticket::sip::CallDecision;

use crate::helpers::*;

fn sdp_direction(resp: &Response) -> Option<Direction> {
    let sd = media::parse_sdp(&resp.body).unwrap();
    sd.media[0].direction.or(sd.direction)
}

fn origin(resp: &Response) -> String {
    String::from_utf8_lossy(&resp.body).lines().find(|l| l.starts_with("o=")).unwrap_or_default().to_string()
}

#[tokio::test(start_paused = true)]
async fn reinvite_holds_and_resumes_the_announcement() {
    let (srv, phone) = spawn(FakeHandler::announce("long")).await;
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
    // A second of virtual time is 50 packet slots; the 5 s prompt is not over yet.
    assert!(collect_rtp(&rtp, Duration::from_secs(1)).await.is_empty(), "no RTP while on hold");

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
    let (srv, phone) = spawn(FakeHandler::announce("long")).await;
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

#[tokio::test(start_paused = true)]
async fn caller_bye_stops_the_announcement() {
    let (srv, phone) = spawn(FakeHandler::announce("long")).await;
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
    assert!(collect_rtp(&rtp, QUIET).await.is_empty(), "RTP stopped");
    phone.assert_quiet("no BYE from us").await;
    // The dialog is gone now.
    phone.send(&call.bye(&to_tag(&ok))).await;
    assert_eq!(phone.response().await.code, 481);
    srv.shutdown().await;
}

#[tokio::test]
async fn dtmf_over_rtp_chooses_the_menu_once() {
    let (srv, phone) = spawn(FakeHandler::announce("long").with_menu()).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("long").with_menu()).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short").with_menu()).await;
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

/// An announcement with parts (`then`): the prompt, each part that exists (a missing
/// one skipped, no tone), the menu; the repeat key plays all of it again without
/// asking the handler, and the menu then waits as before.
#[tokio::test(start_paused = true)]
async fn the_repeat_key_plays_the_announcement_and_its_parts_again() {
    let decision = CallDecision::Announce { prompt: "short".into(), then: vec!["part".into(), "no-such-part".into()] };
    let (srv, phone) = spawn(FakeHandler::new(decision, Duration::ZERO).with_repeat_menu()).await;
    let (rtp, rtp_addr) = rtp_socket().await;
    let call = phone.call(PURCHASE, CALLER);
    let ok = answered(&phone, &call, rtp_addr).await;
    let round = SHORT_PACKETS + PART_PACKETS + MENU_PACKETS;
    let first_bytes = |packets: &[(SocketAddr, Vec<u8>)]| packets.iter().map(|(_, p)| p[12]).collect::<Vec<u8>>();
    let mut want = vec![0x55; SHORT_PACKETS];
    want.extend([0x44; PART_PACKETS]);
    want.extend([0x33; MENU_PACKETS]);
    let first = recv_rtp(&rtp, round).await;
    assert_eq!(first_bytes(&first), want, "prompt, part, menu");
    for p in dtmf_packets('1', 42, 100, 8000) {
        rtp.send_to(&p, rtp_target(&ok)).await.unwrap();
    }
    let again = recv_rtp(&rtp, round).await;
    assert_eq!(first_bytes(&again), want, "all of it again");
    await_bye(&phone, Duration::from_secs(10)).await;
    assert!(srv.handler.pressed().is_empty(), "the repeat key is the SIP layer's: {:?}", srv.handler.pressed());
    srv.shutdown().await;
}
