//! The whole journey of seed 000: purchase call → purchase link → pay →
//! issue guide → issue call → ticket → usage call → admission page → admitted.

use crate::helpers::*;

#[tokio::test]
async fn the_whole_journey_over_sip_smtp_and_http() {
    let gw = spawn_gateway().await;
    let phone = "+819012345678";

    // 1. Purchase call: answered, an announcement streamed, the gateway hangs up.
    let report = gw.call(phone, PURCHASE).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    assert!(report.provisional.contains(&100) && report.provisional.contains(&180), "{report:?}");
    assert!(report.answered && report.bye_from_gateway, "{report:?}");
    assert!(report.rtp_packets >= 25, "announcement too short: {report:?}");
    assert_eq!(report.rtp_payload_types, vec![0], "PCMU was offered first");

    // 2. The purchase link arrives at the carrier address of the caller's number.
    let mail = gw.mail(phone, "purchase link").await;
    let purchase_link = gw.link(&mail, "/p/");

    // Opening the link (as a mail scanner would) changes nothing and can be repeated.
    for _ in 0..3 {
        assert_eq!(gw.get(&purchase_link).await.0, 200);
    }

    // 3. Buy one general-admission place for the event whose admission is open today.
    let (status, order) = gw.buy(&purchase_link, "open-rehearsal", 1, "4242 4242 4242 4242").await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["issue_number"], ISSUE);
    let purchase_id = order["purchase_id"].as_str().expect("purchase id").to_string();
    assert_eq!(order["seats"].as_array().map(|s| s.len()), Some(1));

    // 4. The issue-guide mail shows the issue number as a tel: link.
    let guide_mail = gw.mail(phone, "Payment received").await;
    assert!(guide_mail.tel_links.iter().any(|t| t == &format!("tel:{ISSUE}")), "{:?}", guide_mail.tel_links);
    let (status, guide) = gw.get(&gw.link(&guide_mail, "/g/")).await;
    assert_eq!(status, 200);
    assert_eq!(guide["issue_number"], ISSUE);
    assert_eq!(guide["issued"], false);
    assert_eq!(guide["event"]["id"], "open-rehearsal");

    // 5. Issue call from the same phone: the ticket arrives.
    let report = gw.call(phone, ISSUE).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let ticket_mail = gw.mail(phone, "Your ticket").await;
    let ticket_link = gw.link(&ticket_mail, "/t/");
    let (status, ticket) = gw.get(&ticket_link).await;
    assert_eq!(status, 200, "{ticket}");
    assert_eq!(ticket["usage_number"], USAGE);
    assert_eq!(ticket["admission"], "none");
    let (status, check) = gw.get(ticket["verify_url"].as_str().expect("a seat's code check")).await;
    assert_eq!(status, 200);
    assert_eq!(check["valid"], true);

    // Calling again re-sends, never double-issues.
    let report = gw.call(phone, ISSUE).await;
    assert_eq!(report.final_status, 200);
    let again = gw.mail(phone, "Your ticket again").await;
    assert!(again.text.contains("issued before"), "{}", again.text);
    let p = gw.app.store.purchase(&purchase_id).await.unwrap().unwrap();
    assert_eq!((p.issue_call_count, p.issued), (2, true));
    let issued_rows =
        gw.app.store.journal_for(&purchase_id).await.unwrap().iter().filter(|j| j.action == "issued").count();
    assert_eq!(issued_rows, 1, "issued exactly once");
    // The ticket mailed again replaces the first: its link works, the first one is gone
    // (a forwarded or leaked mail stops working), for reading and for cancelling.
    assert!(again.text.contains("no longer works"), "{}", again.text);
    let new_ticket_link = gw.link(&again, "/t/");
    assert_ne!(new_ticket_link, ticket_link);
    assert_eq!(gw.get(&new_ticket_link).await.0, 200);
    let (status, old) = gw.get(&ticket_link).await;
    assert_eq!(status, 410, "{old}");
    assert!(old["hint"].as_str().is_some_and(|h| h.contains("latest mail")), "{old}");
    assert_eq!(gw.post(&format!("{ticket_link}/cancel"), &[]).await.0, 410);
    let state = gw.app.store.purchase(&purchase_id).await.unwrap().unwrap().state();
    assert_eq!(state, dialticket::domain::PurchaseState::Issued, "the old link cancelled nothing");

    // 6. Usage-confirmation call at the venue: the admission page arrives.
    let report = gw.call(phone, USAGE).await;
    assert_eq!(report.final_status, 200);
    let admission_mail = gw.mail(phone, "Admission page").await;
    let admission_link = gw.link(&admission_mail, "/a/");
    let (status, page) = gw.get(&admission_link).await;
    assert_eq!(status, 200);
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(page["admission"], "permit-issued");

    // Calling the usage number again mails the admission page again; the first link
    // is refused (410), for viewing and for admitting, and the new one is valid.
    let report = gw.call(phone, USAGE).await;
    assert_eq!(report.final_status, 200);
    let resent = gw.mail(phone, "Admission page again").await;
    let first_admission_link = admission_link;
    let admission_link = gw.link(&resent, "/a/");
    assert_ne!(admission_link, first_admission_link);
    assert_eq!(gw.get(&first_admission_link).await.0, 410);
    assert_eq!(gw.get(&admission_link).await.1["state"], "valid");

    // 7. Staff admit (POST) with the event's staff PIN; the page then shows the live state.
    gw.allow_pin_admission("open-rehearsal").await;
    let pin = gw.app.links.staff_pin("open-rehearsal", 0);
    let (status, page) = gw.post(&format!("{admission_link}/admit"), &[("staff_pin", pin.as_str())]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["state"], "admitted");
    let (_, page) = gw.get(&admission_link).await;
    assert_eq!(page["state"], "admitted");
    assert!(page["admitted_at"].as_i64().is_some());
    // A second admit is refused, and the replaced link admits nothing.
    assert_eq!(gw.post(&format!("{admission_link}/admit"), &[("staff_pin", pin.as_str())]).await.0, 409);
    assert_eq!(gw.post(&format!("{first_admission_link}/admit"), &[("staff_pin", pin.as_str())]).await.0, 410);

    // 8. Every transition is in the journal, in order.
    let actions: Vec<String> =
        gw.app.store.journal_for(&purchase_id).await.unwrap().into_iter().map(|j| j.action).collect();
    for want in
        ["reserved", "payment", "issue-guide", "issue-call", "issued", "usage-call", "admission-permit", "admission"]
    {
        assert!(actions.iter().any(|a| a == want), "journal lacks {want}: {actions:?}");
    }
    let pos = |a: &str| actions.iter().position(|x| x == a).unwrap();
    assert!(
        pos("payment") < pos("issued")
            && pos("issued") < pos("admission-permit")
            && pos("admission-permit") < pos("admission")
    );
    gw.stop().await;
}
