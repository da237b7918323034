//! Media as operators set it up.

use dialticket::config::PortRange;

use crate::helpers::*;

/// With `rtp_ports`, a call's RTP is on an even port of that range (what firewall
/// rules and port mappings name), and the caller hears the announcement from there.
#[tokio::test]
async fn rtp_takes_a_port_of_the_configured_range() {
    // Ten ports around one that is free now (any taken by others are skipped).
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let free = probe.local_addr().unwrap().port().clamp(1024, 65000);
    drop(probe);
    let range = PortRange { first: free, last: free + 9 };
    let gw = spawn_gateway_with(|c| c.rtp_ports = Some(range)).await;

    let report = gw.call("+819012300001", PURCHASE).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let sdp = report.answer_sdp.as_deref().expect("SDP in the 200");
    let port: u16 = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no m=audio port in {sdp}"));
    assert!(range.even_ports().any(|p| p == port), "RTP on {port}, not an even port of {range:?}");
    assert!(report.rtp_packets >= 25, "announcement not heard: {report:?}");
    gw.stop().await;
}

/// A caller's key press reaches the menu the way a phone sends it: RFC 4733
/// telephone-events in the RTP stream (the simulator's `press`). "1" on the
/// purchase number mails the link again: two mails, the second for the key.
#[tokio::test]
async fn a_key_pressed_on_the_phone_resends_the_purchase_link() {
    let gw = spawn_gateway().await;
    let caller = "+819011110090";
    let mut opts = dialticket_sim::sip::CallOptions::new(gw.sip, caller, PURCHASE);
    opts.press = dialticket_sim::dtmf::KeyPress::sequence(std::time::Duration::from_millis(300), "1");
    let report = gw.call_with(opts).await;
    assert!(report.answered, "{report:?}");
    assert!(report.bye_from_gateway, "the gateway ends the call after the menu: {report:?}");
    let links = gw.mails_at_least(caller, "purchase link", 2).await;
    assert_eq!(links.len(), 2, "one link for the call, one for the key: {:?}", gw.subjects());
    // The menu takes one choice per call: the journal has the call's link and the key's.
    let sent = gw.app.store.journal_all().await.unwrap();
    assert_eq!(sent.iter().filter(|j| j.action.starts_with("purchase-link-sent")).count(), 2);
    gw.stop().await;
}

/// The usage call reads the caller's seats after "your admission page has been
/// sent", and offers "1 to hear it again, 2 to have the page sent again": pressing
/// 1 then 2 (as a phone sends keys) replays the reading and mails the page again.
#[tokio::test]
async fn the_usage_call_reads_the_seats_and_mails_the_page_again_on_2() {
    let gw = spawn_gateway().await;
    let phone = "+819011110091";
    gw.paid_purchase(phone, "open-rehearsal").await;
    gw.call(phone, ISSUE).await;
    gw.mail(phone, "Your ticket").await;
    let plain = gw.call(phone, USAGE).await;
    let mut opts = dialticket_sim::sip::CallOptions::new(gw.sip, phone, USAGE);
    // "1" during the reading (heard again), "2" a second later (mailed again).
    opts.press = dialticket_sim::dtmf::KeyPress::sequence(std::time::Duration::from_millis(500), "12");
    let pressed = gw.call_with(opts).await;
    assert!(pressed.answered && pressed.bye_from_gateway, "{pressed:?}");
    // The first call, the second and its "2": three admission pages.
    let pages = gw.mails_at_least(phone, "Admission page", 3).await;
    assert_eq!(pages.len(), 3, "{:?}", gw.subjects());

    // What the first call said: "sent", then the seats spelt from recorded parts.
    let key = format!("{} 1", plain.call_id);
    let mut tx = gw.app.store.begin().await.unwrap();
    let outcome = tx.recorded_calls(&[key.as_str()]).await.unwrap().remove(&key).expect("the call is recorded");
    drop(tx);
    let said: serde_json::Value = serde_json::from_str(&outcome).unwrap();
    assert_eq!(said["announce"], "admission-sent", "{said}");
    let parts: Vec<&str> = said["then"].as_array().expect("parts").iter().filter_map(|p| p.as_str()).collect();
    assert_eq!(parts.first(), Some(&"your-seats"), "{said}");
    assert!(parts.contains(&"seat") && parts.iter().any(|p| p.starts_with("digit-")), "{said}");
    // Then the gate the catalog names for these seats (open-rehearsal: gate B), once.
    assert_eq!(parts[parts.len() - 2..], ["gate", "letter-b"], "{said}");
    // Every part is a recorded prompt in both languages: nothing falls back to a tone.
    for part in &parts {
        for lang in ["en", "ja"] {
            assert!(repo(&format!("prompts/{lang}/{part}.wav")).exists(), "no prompts/{lang}/{part}.wav");
        }
    }
    gw.stop().await;
}
