//! Staff pressing "admit" (the hardening issue, item 11): presses at once on two
//! gateways sharing a database get one admission and one "already admitted"
//! (409), never a 500; and wrong staff PINs fired at once are counted one after
//! the other, so no more than five are ever tried.

use crate::helpers::*;

/// Two gateways on one database (`backend`) and one signing key (kept in the
/// returned directory), with the admission link of a ticket.
async fn two_gateways(backend: &str) -> Option<(TestGateway, TestGateway, String, Db, tempfile::TempDir)> {
    let (url, db) = fresh_database(backend).await?;
    let (a, b, keys) = spawn_two_gateways_one_relay(&url).await;
    let link = a.admission_link("+819088880001", "open-rehearsal").await;
    Some((a, b, link, db, keys))
}

async fn presses_at_once_admit_once(backend: &str) {
    let Some((a, b, link, _db, _keys)) = two_gateways(backend).await else { return };
    a.allow_pin_admission("open-rehearsal").await;
    let (pin, _) = a.staff_pins("open-rehearsal");
    let on_b = link.replacen(&a.base, &b.base, 1);
    let (admit_a, admit_b) = (format!("{link}/admit"), format!("{on_b}/admit"));
    let fields = [("staff_pin", pin.as_str())];
    // Presses at once, half on each gateway (two staff, double and triple taps).
    let presses = (0..32).map(|i| {
        let (gw, url) = if i % 2 == 0 { (&a, &admit_a) } else { (&b, &admit_b) };
        gw.post(url, &fields)
    });
    let answers = futures::future::join_all(presses).await;
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    let mut want = vec![409; 32];
    want[0] = 200;
    assert_eq!(statuses, want, "one admission, the rest already admitted: {answers:?}");
    for (_, body) in answers.iter().filter(|(s, _)| *s == 409) {
        assert!(body["error"].as_str().unwrap_or_default().contains("already admitted"), "{body}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_admitting_at_once_admit_once_on_sqlite() {
    presses_at_once_admit_once("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_admitting_at_once_admit_once_on_postgres() {
    presses_at_once_admit_once("postgres").await;
}

async fn wrong_pins_at_once_are_counted_in_turn(backend: &str) {
    let Some((a, b, link, _db, _keys)) = two_gateways(backend).await else { return };
    a.allow_pin_admission("open-rehearsal").await;
    let (_, wrong) = a.staff_pins("open-rehearsal");
    let on_b = link.replacen(&a.base, &b.base, 1);
    let presses = (0..12).map(|i| {
        let url = if i % 2 == 0 { format!("{link}/admit") } else { format!("{on_b}/admit") };
        let gw = if i % 2 == 0 { &a } else { &b };
        async move { gw.post(&url, &[("staff_pin", wrong)]).await.0 }
    });
    let mut statuses = futures::future::join_all(presses).await;
    statuses.sort();
    let tried = statuses.iter().filter(|s| **s == 403).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((tried, locked), (5, 7), "five wrong PINs tried, the rest refused unseen: {statuses:?}");
    let journal = a.app.store.journal_all().await.unwrap();
    assert_eq!(journal.iter().filter(|j| j.action == "staff-pin-refused").count(), 5);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_staff_pins_at_once_are_counted_in_turn_on_sqlite() {
    wrong_pins_at_once_are_counted_in_turn("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_staff_pins_at_once_are_counted_in_turn_on_postgres() {
    wrong_pins_at_once_are_counted_in_turn("postgres").await;
}

/// Without the organizer's opt-in (the default), the holder's admission page
/// offers no PIN field, and an admit with the right PIN is refused (403): staff
/// check tickets in with the staff app. The ticket stays valid.
#[tokio::test]
async fn without_the_opt_in_the_holders_page_admits_nobody_with_the_pin() {
    let gw = spawn_gateway().await;
    let link = gw.admission_link("+819088880009", "open-rehearsal").await;
    let (pin, _) = gw.staff_pins("open-rehearsal");
    let (status, page) = gw.post(&format!("{link}/admit"), &[("staff_pin", pin.as_str())]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page["error"].as_str().unwrap_or_default().contains("staff app"), "{page}");
    let (_, page) = gw.get(&link).await;
    assert_eq!((page["state"].as_str(), page["pin_admission"].as_bool()), (Some("valid"), Some(false)), "{page}");
    let (_, html) = gw.browser.get_html(&link).await.expect("the page");
    assert!(html.contains("VALID") && !html.contains("name=\"staff_pin\""), "{html}");
    gw.stop().await;
}
