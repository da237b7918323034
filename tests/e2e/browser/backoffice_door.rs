//! The door in the back office in a real browser, in Japanese and English, at a
//! phone's width (390×844) and a desktop's (1280×800): the organizer makes a
//! staff account on the event's door page, the staff member opens the printed
//! one-time link in a second browser and scans a ticket in the staff app, and
//! the organizer's open door page shows the admission without reloading.

use super::Chromium;
use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

struct Words {
    lang: &'static str,
    accept: &'static str,
    admitted: &'static str,
}

const ENGLISH: Words = Words { lang: "en", accept: "en-GB,en", admitted: "ADMIT" };
const JAPANESE: Words = Words { lang: "ja", accept: "ja,en;q=0.5", admitted: "入場OK" };

/// The page checked as every page test checks it and saved as `backoffice-<page>-<lang>-<width>`
/// ([`Chromium::looked_at_width`]).
async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, &[]).await
}

/// At a phone's width no table hides columns in a sideways-scrolling box: the
/// door's text tables turn into one card a row.
async fn nothing_scrolls_sideways(chromium: &Chromium, page: &str) {
    let hidden = chromium
        .execute(
            "return [...document.querySelectorAll('.scroll')]
                .filter(e => e.scrollWidth > e.clientWidth + 1)
                .map(e => e.querySelector('tbody') ? e.querySelector('tbody').innerText : e.innerText);",
        )
        .await;
    assert_eq!(hidden, serde_json::json!([]), "{page}: tables wider than the phone");
}

async fn staff_made_in_the_office_admits_and_the_door_page_follows(w: &Words) {
    let gw = spawn_gateway().await;
    let (_, ticket) = gw.issued_ticket("+819055550701", EVENT, 1, true).await;
    let reference = ticket["tickets"][0]["reference"].as_str().expect("a reference").to_string();

    let office = Chromium::start_in(w.accept).await;
    super::organizer_signed_in(&office, &gw, "holonic-hall").await;

    // The event's page links to its door; nobody in yet.
    office.goto(&format!("{}/admin/events/{EVENT}", gw.admin)).await;
    office.click("a[data-door]").await;
    office.text_when("[data-live=admitted]", |t| t == "0").await;
    assert_eq!(office.text_when("[data-live=expected]", |t| !t.is_empty()).await, "1");

    // A staff account for gate B, typed into the form.
    office.type_into("#staff-name", "Aiko").await;
    office.type_into("#staff-gate", "B").await;
    office.click("[data-staff-add]").await;
    office.text_when("[data-made]", |t| t.contains("Aiko")).await;
    let login = office.attribute("[data-login-url]", "href").await;
    assert!(login.starts_with(&format!("{}/staff/login/", gw.base)), "on the public listener: {login}");
    looked_at(&office, w, "door-staff", 390).await;
    nothing_scrolls_sideways(&office, "door-staff").await;
    looked_at(&office, w, "door-staff", 1280).await;

    // The door page open, the staff member signs in on their phone and scans.
    office.click("a[data-refresh]").await;
    office.text_when("[data-live=admitted]", |t| t == "0").await;
    let staff = Chromium::start_in(w.accept).await;
    staff.goto(&login).await;
    staff.click("form button[type=submit]").await;
    staff.text_when("[data-live=headline]", |t| !t.is_empty()).await;
    staff.keyboard(&format!("{reference}\n")).await;
    staff.text_when("[data-live=headline]", |t| t == w.admitted).await;

    // Without reloading: the counter, gate B's line and the scan listed.
    office.text_when("[data-live=admitted]", |t| t == "1").await;
    office.text_when("tr[data-gate='B'] [data-admitted]", |t| t == "1").await;
    let row = office.text_when("[data-live=scans] tr[data-scan='admitted']", |t| t.contains("Aiko")).await;
    assert!(!row.contains("UTC"), "{row}");
    looked_at(&office, w, "door", 390).await;
    nothing_scrolls_sideways(&office, "door").await;
    looked_at(&office, w, "door", 1280).await;

    staff.quit().await;
    office.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn the_door_page_follows_a_scan_in_english_at_phone_and_desktop_width() {
    staff_made_in_the_office_admits_and_the_door_page_follows(&ENGLISH).await;
}

#[tokio::test]
async fn the_door_page_follows_a_scan_in_japanese_at_phone_and_desktop_width() {
    staff_made_in_the_office_admits_and_the_door_page_follows(&JAPANESE).await;
}
