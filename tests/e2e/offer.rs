//! The SDP offer is checked before any ticket work (Hardening item 9): a call
//! refused for its body (415, RFC 3261 §8.2.3) or its codecs (488, RFC 3264 §6)
//! changes nothing — no mail queued, no journal row, no call record, no phone
//! user — and an issue call with a bad offer leaves the caller's ticket link as
//! it was.

use dialticket::phone::PhoneNumber;
use dialticket_sim::sip::CallOptions;

use crate::helpers::*;

/// An SDP offer of G.729 only (static payload type 18), which the gateway does not play.
const G729_ONLY: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendrecv\r\n";

fn with_body(gw: &TestGateway, from: &str, to: &str, content_type: &str, body: &str) -> CallOptions {
    let mut opts = CallOptions::new(gw.sip, from, to);
    opts.invite_body = Some((content_type.to_string(), body.to_string()));
    opts
}

/// Nothing was written for `caller`'s call `call_id`, and no mail is queued at all.
async fn nothing_changed(gw: &TestGateway, caller: &str, call_id: &str, journal_before: usize) {
    let store = &gw.app.store;
    let outbox = store.outbox(100).await.unwrap();
    assert!(outbox.is_empty(), "no mail queued: {:?}", outbox.iter().map(|m| &m.subject).collect::<Vec<_>>());
    assert_eq!(store.journal_all().await.unwrap().len(), journal_before, "no journal rows");
    assert!(store.call_identity(&format!("{call_id} 1")).await.unwrap().is_none(), "no call record");
    let phone = PhoneNumber::parse(caller).unwrap();
    assert!(store.phone_user(&phone).await.unwrap().is_none(), "no phone user created");
}

#[tokio::test]
async fn an_invite_whose_body_is_not_sdp_is_415_and_changes_nothing() {
    let gw = spawn_gateway().await;
    let journal = gw.app.store.journal_all().await.unwrap().len();
    let caller = "+819041500001";
    let report = gw.call_with(with_body(&gw, caller, PURCHASE, "text/plain", "call me maybe\r\n")).await;
    assert_eq!(report.final_status, 415, "{report:?}");
    let accept = report.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("Accept"));
    assert_eq!(accept.map(|(_, v)| v.as_str()), Some("application/sdp"), "{report:?}");
    nothing_changed(&gw, caller, &report.call_id, journal).await;

    // §8.2.3 is about the request, not about answering it: a missed-call number refuses it too.
    let report = gw.call_with(with_body(&gw, caller, PURCHASE_MISSED_CALL, "text/plain", "hello\r\n")).await;
    assert_eq!(report.final_status, 415, "{report:?}");
    nothing_changed(&gw, caller, &report.call_id, journal).await;
    gw.stop().await;
}

#[tokio::test]
async fn an_offer_without_a_common_codec_is_488_and_changes_nothing() {
    let gw = spawn_gateway().await;
    let journal = gw.app.store.journal_all().await.unwrap().len();
    let caller = "+819048800001";
    let report = gw.call_with(with_body(&gw, caller, PURCHASE, "application/sdp", G729_ONLY)).await;
    assert_eq!(report.final_status, 488, "{report:?}");
    nothing_changed(&gw, caller, &report.call_id, journal).await;

    // A malformed offer is refused before the ticket work too.
    let report = gw.call_with(with_body(&gw, caller, PURCHASE, "application/sdp", "v=0\r\nm=audio\r\n")).await;
    assert_eq!(report.final_status, 400, "{report:?}");
    nothing_changed(&gw, caller, &report.call_id, journal).await;

    // Missed-call mode never answers, so no offer is ever answered: the codecs do not
    // matter, the caller ID is read and the link mailed as for any missed call.
    let report = gw.call_with(with_body(&gw, caller, PURCHASE_MISSED_CALL, "application/sdp", G729_ONLY)).await;
    assert_eq!(report.final_status, 603, "{report:?}");
    gw.mail(caller, "purchase link").await;
    gw.stop().await;
}

#[tokio::test]
async fn an_issue_call_with_a_bad_offer_keeps_the_earlier_ticket_link() {
    let gw = spawn_gateway().await;
    let phone = "+819048800002";
    gw.paid_purchase(phone, "open-rehearsal").await;
    let report = gw.call(phone, ISSUE).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let ticket_link = gw.link(&gw.mail(phone, "Your ticket").await, "/t/");
    assert_eq!(gw.get(&ticket_link).await.0, 200);
    let mails_before = gw.app.store.outbox(100).await.unwrap().len();

    for (content_type, body, status) in [("application/sdp", G729_ONLY, 488), ("text/plain", "hi\r\n", 415)] {
        let report = gw.call_with(with_body(&gw, phone, ISSUE, content_type, body)).await;
        assert_eq!(report.final_status, status, "{report:?}");
        assert!(gw.app.store.call_identity(&format!("{} 1", report.call_id)).await.unwrap().is_none());
    }
    // The refused calls issued nothing and revoked nothing: the ticket link still opens,
    // and no "Your ticket again" mail was queued.
    let (status, ticket) = gw.get(&ticket_link).await;
    assert_eq!(status, 200, "the earlier ticket link still works: {ticket}");
    assert_eq!(gw.app.store.outbox(100).await.unwrap().len(), mails_before, "no new mail");
    gw.stop().await;
}
