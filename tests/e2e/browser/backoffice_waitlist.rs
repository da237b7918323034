//! An event's waiting list in the back office, in Chromium, in Japanese and
//! English, at a phone's width (390×844) and a desktop's (1280×800): three
//! places in line, the first offered the seats that came back; the organizer
//! follows the event page's link to the line, sees the places in order with
//! their states, the held seats and the offer's deadline on the venue's clock,
//! and removes the first place — the page says so, the place is listed among
//! the ended ones, and the next place is offered. Screenshots:
//! `target/screenshots/backoffice-waitlist[-removed]-<lang>-<width>.png`.

use super::Chromium;
use crate::waitlist::{hold_runs_out, join, link, sold_out_by_a_hold, tiny_gateway, FIRST, SECOND, THIRD};

/// The organizer's words on the page (a Japanese page may show them as written).
const OURS: &[&str] = &["Tiny Night", "Tiny Club, Tokyo", "General admission", "GA-1", "GA-2", "JST"];

struct Words {
    lang: &'static str,
    accept: &'static str,
    link: &'static str,
    offered: &'static str,
    removed: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    accept: "en-GB,en",
    link: "Waiting list (2 waiting)",
    offered: "offered",
    removed: "The place was removed from the line",
};
const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    link: "キャンセル待ち(2人待ち)",
    offered: "お取り置き中",
    removed: "順番待ちから削除しました",
};

async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, OURS).await
}

async fn the_line_and_a_place_removed(w: &Words) {
    let gw = tiny_gateway().await;
    sold_out_by_a_hold(&gw).await;
    for (p, quantity) in [(FIRST, "2"), (SECOND, "1"), (THIRD, "1")] {
        join(&gw, &link(&gw, p).await, quantity).await;
    }
    hold_runs_out(&gw).await;
    let chromium = Chromium::start_in(w.accept).await;
    super::organizer_signed_in(&chromium, &gw, "tiny-org").await;

    // From the event's page, the link with the number waiting.
    chromium.goto(&format!("{}/admin/events/tiny-night", gw.admin)).await;
    assert_eq!(chromium.text_when("a[data-waitlist]", |t| !t.is_empty()).await, w.link);
    chromium.click("a[data-waitlist]").await;
    chromium.text_when("[data-live-places]", |t| !t.is_empty()).await;
    assert_eq!(chromium.count("[data-live-places] tr[data-place]").await, 3);
    let phones = chromium
        .execute("return Array.from(document.querySelectorAll('[data-live-places] tr[data-place]')).map(r => r.dataset.phone);")
        .await;
    assert_eq!(phones, serde_json::json!([FIRST, SECOND, THIRD]), "in line order");
    let first = "[data-live-places] tr[data-state='offered']";
    assert_eq!(chromium.attribute(&format!("{first} [data-held]"), "data-held").await, "GA-1, GA-2");
    let text = looked_at(&chromium, w, "waitlist", 390).await;
    assert!(text.contains(w.offered) && text.contains("JST") && text.contains("090-1111-0002"), "{text}");
    chromium.execute("document.getElementById('live-h').scrollIntoView(); return null;").await;
    chromium.screenshot(&format!("backoffice-waitlist-line-{}-390", w.lang)).await;
    looked_at(&chromium, w, "waitlist", 1280).await;

    // Remove the first place: the page says so; it is among the ended; the next is offered.
    chromium.screen(390).await;
    chromium.click(&format!("{first} button[data-remove]")).await;
    let done = chromium.text_when("[data-done]", |t| !t.is_empty()).await;
    assert!(done.contains(w.removed), "{done}");
    assert_eq!(chromium.count("[data-ended-places] tr[data-state='left']").await, 1);
    assert_eq!(chromium.count("[data-live-places] tr[data-state='offered']").await, 2, "both next places offered");
    looked_at(&chromium, w, "waitlist-removed", 390).await;
    chromium.execute("document.getElementById('ended-h').scrollIntoView(); return null;").await;
    chromium.screenshot(&format!("backoffice-waitlist-ended-{}-390", w.lang)).await;
    let second = gw.app.store.line_place("tiny-night", &crate::waitlist::phone(SECOND)).await.expect("read");
    assert_eq!(second.map(|p| p.state), Some(dialticket::waitlist::PlaceState::Offered));

    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn the_waiting_list_in_english_at_phone_and_desktop_width() {
    the_line_and_a_place_removed(&ENGLISH).await;
}

#[tokio::test]
async fn the_waiting_list_in_japanese_at_phone_and_desktop_width() {
    the_line_and_a_place_removed(&JAPANESE).await;
}
