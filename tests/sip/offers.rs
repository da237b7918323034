//! The INVITE's body (RFC 3261 §8.2.3, RFC 3264): checked before the handler is
//! asked; a late offer's answer comes in the ACK.

use std::time::Duration;

use dialticket::media;

use crate::helpers::*;

#[tokio::test]
async fn no_common_codec_is_488() {
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
    let (srv, phone) = spawn(FakeHandler::announce("short")).await;
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
