//! The failure paths a caller or a phone can run into.

use std::time::Duration;

use dialticket::links::Purpose;
use dialticket::phone::PhoneNumber;
use dialticket::store::now;
use dialticket_sim::sip::CallOptions;

use crate::helpers::*;

#[tokio::test]
async fn issue_call_with_nothing_paid_is_refused_by_voice_and_mail() {
    let gw = spawn_gateway().await;
    let phone = "+819011110001";
    let report = gw.call(phone, ISSUE).await;
    // Announce mode: the caller is answered and hears why.
    assert_eq!(report.final_status, 200, "{report:?}");
    assert!(report.rtp_packets > 0);
    let mail = gw.mail(phone, "could not").await;
    assert!(mail.text.contains("no paid ticket"), "{}", mail.text);
    assert!(gw.mails(phone, "Your ticket").is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn declined_card_sends_an_apology_with_a_fresh_link_and_releases_the_seats() {
    let gw = spawn_gateway().await;
    let phone = "+819011110002";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let available = |v: &serde_json::Value| {
        v["events"].as_array().unwrap().iter().find(|e| e["id"] == "spring-gala-2027").unwrap()["seat_types"][0]
            ["available"]
            .as_i64()
            .unwrap()
    };
    let before = available(&gw.get(&link).await.1);

    let (status, order) = gw.buy(&link, "spring-gala-2027", 2, "4000 0000 0000 0002").await;
    assert_eq!(status, 402, "{order}");
    assert_eq!(order["status"], "declined");
    assert_eq!(available(&gw.get(&link).await.1), before, "seats released");

    let apology = gw.mail(phone, "Payment declined").await;
    let fresh = gw.link(&apology, "/p/");
    assert_ne!(fresh, link);
    assert_eq!(gw.get(&fresh).await.0, 200);
    // The fresh link works: buying with a good card succeeds.
    let (status, order) = gw.buy(&fresh, "spring-gala-2027", 2, "4242424242424242").await;
    assert_eq!(status, 200, "{order}");
    gw.settle().await;
    assert!(gw.mails(phone, "Payment received").len() <= 1);
    gw.stop().await;
}

#[tokio::test]
async fn invalid_card_number_is_an_input_error_not_a_purchase() {
    let gw = spawn_gateway().await;
    let phone = "+819011110003";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let (status, body) = gw.buy(&link, "spring-gala-2027", 1, "1234 5678").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("card number"));
    gw.stop().await;
}

#[tokio::test]
async fn the_same_order_form_submitted_twice_buys_once() {
    let gw = spawn_gateway().await;
    let phone = "+819011110004";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let (url, page) = gw.event_form(&link, "open-rehearsal").await;
    let token = page["form"]["form_token"].as_str().unwrap().to_string();
    let fields = [
        ("form_token", token.as_str()),
        ("seat_type", "GA"),
        ("quantity", "1"),
        ("payment_method", "card"),
        ("card_number", "4242424242424242"),
    ];
    let (s1, first) = gw.post(&url, &fields).await;
    let (s2, second) = gw.post(&url, &fields).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["purchase_id"], second["purchase_id"]);
    // Both posts have been answered: one issue guide queued, the repeat added none.
    assert_eq!(gw.queued(phone, "Payment received").await, 1);
    gw.mail(phone, "Payment received").await;
    gw.stop().await;
}

#[tokio::test]
async fn tampered_expired_and_misused_links_get_4xx_pages() {
    let gw = spawn_gateway().await;
    let phone = "+819011110005";
    let (order, guide_mail) = gw.paid_purchase(phone, "open-rehearsal").await;
    let guide = gw.link(&guide_mail, "/g/");
    assert_eq!(gw.get(&guide).await.0, 200);

    // One byte in the middle of the signature changed (a well-formed token).
    let tampered = tamper_signature(&guide);
    let (status, body) = gw.get(&tampered).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not valid"));
    // The HTML version is a readable page too.
    let (status, html) = gw.browser.get_html(&tampered).await.unwrap();
    assert_eq!(status, 403);
    assert!(html.contains("not valid") && html.contains("<html"), "{html}");

    // A guide token used as a ticket.
    let token = guide.rsplit('/').next().unwrap();
    assert_eq!(gw.get(&format!("/t/{token}")).await.0, 403);

    // Expired: minted long ago with the gateway's own key.
    let p = PhoneNumber::parse(phone).unwrap();
    let pid = order["purchase_id"].as_str().unwrap();
    let old =
        gw.app.links.url(Purpose::IssueGuide, &p, Some(pid), now() - Purpose::IssueGuide.ttl_secs() - 10).unwrap();
    let (status, body) = gw.get(&old).await;
    assert_eq!(status, 410, "{body}");
    assert!(body["hint"].as_str().unwrap().contains("Call the number again"));

    // Garbage.
    assert_eq!(gw.get("/p/not-a-token").await.0, 403);
    gw.stop().await;
}

#[tokio::test]
async fn usage_call_for_an_admitted_ticket_gets_a_clear_answer() {
    let gw = spawn_gateway().await;
    let phone = "+819011110006";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, _) = gw.staff_pins("open-rehearsal");
    assert_eq!(gw.post(&format!("{admission}/admit"), &[("staff_pin", pin.as_str())]).await.0, 200);

    let report = gw.call(phone, USAGE).await;
    assert_eq!(report.final_status, 200, "answered so the caller hears why: {report:?}");
    let refusal = gw.mail(phone, "could not").await;
    assert!(refusal.text.contains("already been used for admission"), "{}", refusal.text);
    gw.settle().await;
    assert_eq!(gw.mails(phone, "Admission page").len(), 1, "no second admission page");
    gw.stop().await;
}

#[tokio::test]
async fn usage_call_without_a_ticket_is_refused() {
    let gw = spawn_gateway().await;
    let phone = "+819011110007";
    gw.call(phone, USAGE).await;
    let refusal = gw.mail(phone, "could not").await;
    assert!(refusal.text.contains("no issued ticket"), "{}", refusal.text);
    gw.stop().await;
}

#[tokio::test]
async fn anonymous_callers_are_refused_with_433_and_get_nothing() {
    let gw = spawn_gateway().await;
    let mut opts = CallOptions::new(gw.sip, "+819011110008", PURCHASE);
    opts.anonymous = true;
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 433, "{report:?}");
    assert!(!report.answered);
    // The call has been refused: nothing was queued for anyone.
    let outbox = gw.app.store.outbox(10).await.unwrap();
    assert!(outbox.is_empty(), "{outbox:?}");
    gw.stop().await;
}

#[tokio::test]
async fn missed_call_mode_rejects_without_answering_but_mails_the_link() {
    let gw = spawn_gateway().await;
    let phone = "+819011110009";
    let report = gw.call(phone, PURCHASE_MISSED_CALL).await;
    assert_eq!(report.final_status, 603, "{report:?}");
    assert!(!report.answered);
    assert_eq!(report.rtp_packets, 0);
    gw.mail(phone, "purchase link").await;
    gw.stop().await;
}

#[tokio::test]
async fn unknown_numbers_get_404() {
    let gw = spawn_gateway().await;
    let report = gw.call("+819011110010", "+442079460999").await;
    assert_eq!(report.final_status, 404, "{report:?}");
    gw.stop().await;
}

#[tokio::test]
async fn calls_over_tcp_work_too() {
    let gw = spawn_gateway().await;
    let phone = "+819011110011";
    let mut opts = CallOptions::new(gw.sip, phone, "442079460100");
    opts.transport = dialticket_sim::sip::Transport::Tcp;
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    gw.mail(phone, "purchase link").await;
    gw.stop().await;
}

#[tokio::test]
async fn an_smtp_outage_delays_mail_but_never_loses_it() {
    let gw = spawn_gateway().await;
    let phone = "+819011110012";
    gw.mailbox.set_refusing(Some(451));
    let report = gw.call(phone, PURCHASE).await;
    assert_eq!(report.final_status, 200);
    // The worker tries, the sink refuses: the mail waits for a retry.
    let mut pending = Vec::new();
    for _ in 0..150 {
        pending = gw.app.store.outbox(10).await.unwrap();
        if pending.iter().any(|m| m.attempts >= 1 && m.state == "pending") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, "pending");
    assert!(
        pending[0].attempts >= 1 && pending[0].last_error.as_deref().unwrap_or("").contains("451"),
        "{:?}",
        pending[0]
    );
    assert_eq!(gw.mailbox.count(), 0, "the sink refuses everything");
    // Monitoring sees it waiting, and for longer and longer.
    let mut metrics = String::new();
    for _ in 0..150 {
        metrics = gw.metrics().await;
        let age = metrics.lines().find_map(|l| l.strip_prefix("dialticket_mail_oldest_undelivered_seconds "));
        if age.and_then(|a| a.parse::<u64>().ok()).is_some_and(|a| a >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.contains("dialticket_mail_outbox{state=\"pending\"} 1\n"), "{metrics}");
    let age = metrics.lines().find_map(|l| l.strip_prefix("dialticket_mail_oldest_undelivered_seconds "));
    assert!(age.and_then(|a| a.parse::<u64>().ok()).is_some_and(|a| a >= 1), "{metrics}");

    gw.mailbox.set_refusing(None);
    gw.mail(phone, "purchase link").await;
    // The sink has the mail; the worker records the delivery right after.
    let mut state = String::new();
    for _ in 0..50 {
        state = gw.app.store.outbox(10).await.unwrap()[0].state.clone();
        if state == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "sent");
    assert_eq!(gw.mails(phone, "purchase link").len(), 1, "delivered once, not once per retry");
    let metrics = gw.metrics().await;
    assert!(metrics.contains("dialticket_mail_outbox{state=\"pending\"} 0\n"), "{metrics}");
    assert!(metrics.contains("dialticket_mail_oldest_undelivered_seconds 0\n"), "{metrics}");
    gw.stop().await;
}

#[tokio::test]
async fn local_outbox_mode_shows_mails_on_a_page() {
    let gw = spawn_gateway_with(|c| c.smtp_url = None).await;
    let phone = "+819011110013";
    gw.call(phone, PURCHASE).await;
    let mut listed = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, body) = gw.admin_get("/outbox").await;
        assert_eq!(status, 200);
        if body["mails"].as_array().is_some_and(|m| m.iter().any(|m| m["state"] == "local")) {
            listed = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = &listed["mails"][0];
    assert_eq!(mail["to_addr"], format!("{phone}@sms.example.net"));
    let (status, html) = gw.browser.get_html(&gw.admin_url(&format!("/outbox/{}", mail["id"]))).await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<a href=\"{}/p/", gw.base)), "links are clickable: {html}");
    assert_eq!(gw.mailbox.count(), 0);
    gw.stop().await;
}

/// The holder's own admission page cannot admit: staff enter the event's PIN. Wrong
/// PINs are counted per ticket; after five, the ticket takes no PIN for a quarter
/// hour (a six-digit PIN cannot be guessed from the page), and stays unused. The
/// count is in the database: a restarted gateway (or another one) keeps the lock.
#[tokio::test]
async fn admitting_takes_the_staff_pin_and_guessing_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let shared = state_in(dir.path());
    let gw = spawn_gateway_with(shared).await;
    let phone = "+819011110016";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    let admit = format!("{admission}/admit");
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, wrong) = gw.staff_pins("open-rehearsal");

    let (status, page) = gw.post(&admit, &[]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page["error"].as_str().unwrap_or_default().contains("staff PIN"), "{page}");
    for _ in 0..5 {
        assert_eq!(gw.post(&admit, &[("staff_pin", wrong)]).await.0, 403);
    }
    // Locked now, even for the right PIN; the ticket is still valid.
    let (status, page) = gw.post(&admit, &[("staff_pin", pin.as_str())]).await;
    assert_eq!(status, 429, "{page}");
    let (_, page) = gw.get(&admission).await;
    let pid = page["purchase_id"].as_str().unwrap().to_string();
    let refused = gw.app.store.journal_for(&pid).await.unwrap();
    assert_eq!(refused.iter().filter(|j| j.action == "staff-pin-refused").count(), 5, "{refused:?}");

    // A restart does not lift the lock.
    gw.stop().await;
    let gw = spawn_gateway_with(shared).await;
    let path = &admission[admission.find("/a/").unwrap()..];
    let (status, page) = gw.post(&format!("{path}/admit"), &[("staff_pin", pin.as_str())]).await;
    assert_eq!(status, 429, "{page}");
    // The page says so (it said VALID while locked before), and until when.
    let (_, page) = gw.get(path).await;
    assert_eq!(page["state"], "locked", "{page}");
    assert!(page["locked_until"].as_i64().unwrap_or(0) > page["now"].as_i64().unwrap_or(i64::MAX), "{page}");
    assert_eq!(page["admission"], "permit-issued", "the ticket itself is still unused: {page}");
    gw.stop().await;
}
