//! The staff app at an event with exit and re-entry, in Japanese, on a phone's
//! screen: the In/Out switch, a seat checked out and in again, the refusals.

use std::time::Duration;

use super::Chromium;
use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

/// The page as a check ([`Chromium::looked_at`]), in Japanese.
async fn looked_at(chromium: &Chromium, name: &str) -> String {
    let text = chromium.looked_at(name).await;
    assert_eq!(chromium.attribute("html", "lang").await, "ja", "{name}");
    text
}

/// Choose which way the next scan goes, as staff do (a tap on the switch); the
/// app puts the focus back on the code field for the wedge scanner.
async fn switch_to(chromium: &Chromium, direction: &str) {
    chromium.click(&format!("input[name=direction][value={direction}]")).await;
    // Wait for the focus to come back (the app moves it after the tap), up to 15 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let focused = chromium.execute("return document.activeElement.id;").await;
        if focused == "code" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "focus never came back on the field: {focused}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Japanese staff member at a re-entry event admits a ticket, checks it out,
/// is refused a second check-out, and lets it back in — with the script and
/// through the form without it; then the organizer turns re-entry off and an
/// out scan is refused. Every verdict screen in Japanese.
#[tokio::test]
async fn the_staff_app_in_japanese_checks_a_seat_out_and_in_again() {
    let gw = spawn_gateway().await;
    gw.allow_reentry(EVENT).await;
    let phone = "+819011110301";
    gw.admission_link(phone, EVENT).await;
    let ticket = gw.link(&gw.mail(phone, "Your ticket").await, "/t/");
    let (_, page) = gw.get(&ticket).await;
    let reference = page["tickets"][0]["reference"].as_str().expect("a reference").to_string();
    let seat = page["tickets"][0]["seat"].as_str().expect("a seat").to_string();
    let made = gw.app.store.add_staff(EVENT, "Aiko", Some("B"), false, "test", dialticket::store::now()).await.unwrap();

    let chromium = Chromium::start_in("ja,en;q=0.5").await;
    chromium.goto(&format!("{}/staff/login/{}", gw.base, made.login_token)).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[data-live=headline]", |t| t == "準備完了").await;
    // The switch: labelled, In chosen.
    assert_eq!(chromium.text_when("[data-live=direction] legend", |_| true).await, "読み取りの向き");
    let labels = chromium.text_when("[data-live=direction]", |t| t.contains("退場")).await;
    assert!(labels.contains("入場") && labels.contains("退場（再入場可）"), "{labels}");
    assert_eq!(chromium.property("input[name=direction]:checked", "value").await, "in");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("場内 0 · 入場 0 /")).await;
    looked_at(&chromium, "door-reentry-ready-ja").await;

    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "入場OK").await;
    chromium.text_when("[data-live=counts]", |t| t.starts_with("場内 1 · 入場 1 /") && t.contains("B ゲート：1")).await;

    switch_to(&chromium, "out").await;
    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "退場").await;
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict out");
    assert_eq!(chromium.text_when("[data-live=seat]", |_| true).await, format!("座席 {seat}・Bゲート"));
    assert_eq!(
        chromium.text_when("[data-live=reason]", |_| true).await,
        "退場を記録しました。同じチケットで再入場できます。"
    );
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.starts_with("退場 ") && when.ends_with(" JST、B ゲート、担当 Aiko"), "{when}");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("場内 0 · 入場 1 /")).await;
    looked_at(&chromium, "door-checked-out-ja").await;

    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "場内にいません").await;
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict bad");
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.starts_with("退場 ") && when.ends_with(" JST"), "when it went out: {when}");
    looked_at(&chromium, "door-not-inside-ja").await;

    switch_to(&chromium, "in").await;
    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "再入場OK").await;
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict ok");
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.starts_with("再入場 ") && when.ends_with(" JST、B ゲート、担当 Aiko"), "{when}");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("場内 1 · 入場 1 /")).await;
    looked_at(&chromium, "door-reentry-ja").await;

    // Without the script: the form posts the switch too, and the page it answers
    // with keeps Out chosen for the next scan.
    switch_to(&chromium, "out").await;
    chromium.type_into("input[name=code]", &reference).await;
    chromium.execute("document.querySelector('[data-live=scan-form]').submit();").await;
    chromium.text_when("[data-live=headline]", |t| t == "退場").await;
    assert_eq!(chromium.current_url().await, format!("{}/staff/scan", gw.base), "the form's own answer");
    assert_eq!(chromium.property("input[name=direction]:checked", "value").await, "out");
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict out");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("場内 0 · 入場 1 /")).await;
    looked_at(&chromium, "door-checked-out-nojs-ja").await;

    // The organizer makes the event single entry again while the app is open.
    gw.set_reentry(EVENT, Some(false)).await;
    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "再入場不可").await;
    assert_eq!(
        chromium.text_when("[data-live=reason]", |_| true).await,
        "このイベントは再入場できないため、退場は記録しません。"
    );
    looked_at(&chromium, "door-no-reentry-ja").await;
    // Reloaded, the app has no switch and counts as before.
    chromium.goto(&format!("{}/staff", gw.base)).await;
    chromium.text_when("[data-live=headline]", |t| t == "準備完了").await;
    assert_eq!(chromium.count("[data-live=direction]").await, 0, "no switch at a single-entry event");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("入場 1 /")).await;
    chromium.quit().await;
    gw.stop().await;
}

/// What a browser that reads QR codes itself (BarcodeDetector: Chrome on
/// Android, macOS and ChromeOS; not on Linux, where this test runs) would see:
/// the code the test "holds up" in front of the camera, once the camera's
/// frames reach the page's `<video>`. Only what the browser would do is stood
/// in for; the camera is Chromium's fake capture device, really started.
const BARCODE_DETECTOR: &str = r#"
window.BarcodeDetector = class {
  constructor(options) { this.formats = (options && options.formats) || []; }
  static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
  detect(source) {
    var seeing = !!source && source.readyState >= 2 && source.videoWidth > 0;
    if (seeing) { window.framesSeen = (window.framesSeen || 0) + 1; }
    return Promise.resolve(seeing && window.heldUp ? [{ rawValue: window.heldUp, format: "qr_code" }] : []);
  }
};
"#;

/// With a camera and a browser that reads QR codes, staff tap "Use the camera"
/// and hold tickets up: each seat's QR code admits it, once however many frames
/// show it, and the camera stops and starts again from the same button.
#[tokio::test]
async fn the_staff_app_admits_seats_held_up_to_the_camera() {
    let gw = spawn_gateway().await;
    let phone = "+819011110302";
    let (_, page) = gw.issued_ticket(phone, EVENT, 2, true).await;
    let seats: Vec<(String, String)> = (0..2)
        .map(|i| {
            let t = &page["tickets"][i];
            (t["seat"].as_str().unwrap().to_string(), t["code"].as_str().unwrap().to_string())
        })
        .collect();
    let made = gw.app.store.add_staff(EVENT, "Kai", Some("B"), false, "test", dialticket::store::now()).await.unwrap();

    let chromium = Chromium::start_with_camera().await;
    chromium.before_every_page(BARCODE_DETECTOR).await;
    chromium.goto(&format!("{}/staff/login/{}", gw.base, made.login_token)).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[data-live=headline]", |t| t == "Ready").await;
    let video_shown = "return !document.querySelector('[data-live=video]').hidden;";
    assert_eq!(chromium.execute(video_shown).await, false);
    assert_eq!(chromium.text_when("[data-live=camera]", |t| !t.is_empty()).await, "Use the camera");
    chromium.click("[data-live=camera]").await;
    chromium.text_when("[data-live=camera]", |t| t == "Stop the camera").await;
    assert_eq!(chromium.execute(video_shown).await, true, "the camera's picture is shown");

    for (n, (seat, code)) in seats.iter().enumerate() {
        chromium.execute(&format!("window.heldUp = {};", serde_json::json!(code))).await;
        chromium.text_when("[data-live=seat]", |t| t == format!("Seat {seat} · gate B")).await;
        assert_eq!(chromium.text_when("[data-live=headline]", |_| true).await, "ADMIT", "{seat}");
        let counted = format!("Admitted {} of", n + 1);
        chromium.text_when("[data-live=counts]", |t| t.starts_with(&counted)).await;
    }
    // The page read the camera's frames (the detector is only asked about them).
    let frames = chromium.execute("return window.framesSeen;").await.as_u64().unwrap_or(0);
    assert!(frames >= 2, "the detector saw the camera's frames: {frames}");
    chromium.screenshot("staff-camera-en").await;
    chromium.execute("window.heldUp = null;").await;
    let c = gw.app.store.door_counts(EVENT).await.unwrap();
    assert_eq!(c.admitted, 2, "{c:?}");
    let journal = gw.app.store.journal_all().await.unwrap();
    let admits = journal.iter().filter(|j| j.action == "scan" && j.to_state.as_deref() == Some("admitted")).count();
    assert_eq!(admits, 2, "one admission per seat, however many frames showed it");

    // Off, and on again from the same button.
    chromium.click("[data-live=camera]").await;
    chromium.text_when("[data-live=camera]", |t| t == "Use the camera").await;
    assert_eq!(chromium.execute(video_shown).await, false);
    chromium.click("[data-live=camera]").await;
    chromium.text_when("[data-live=camera]", |t| t == "Stop the camera").await;
    assert_eq!(chromium.execute(video_shown).await, true, "the camera starts again");
    chromium.quit().await;
    gw.stop().await;
}
