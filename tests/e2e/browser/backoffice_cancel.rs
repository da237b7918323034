//! A whole event cancelled in a real browser, in Japanese and English, at a
//! phone's width (390×844) and a desktop's (1280×800): the organizer opens the
//! event, follows "cancel the whole event", reads what will happen, types a
//! wrong id (refused, kept in the form), then the right one; the page shows the
//! progress reach done, and a holder's page then says cancelled and refunded.

use std::time::{Duration, Instant};

use super::Chromium;
use crate::backoffice_orders::buy_on_the_web;
use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

struct Words {
    lang: &'static str,
    accept: &'static str,
    what: &'static str,
    finished: &'static str,
    holder: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    accept: "en-GB,en",
    what: "5 orders will be cancelled and ¥5,000 refunded",
    finished: "all 5 orders were cancelled and refunded",
    holder: "Cancelled — ¥1,000 refunded",
};
const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    what: "5件の注文を取り消し、合計¥5,000を返金します",
    finished: "5件の注文をすべて取り消し、返金しました",
    holder: "キャンセル済み",
};

/// The page checked as every page test checks it and saved as `backoffice-<page>-<lang>-<width>`
/// ([`Chromium::looked_at_width`]).
async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, &[]).await
}

async fn the_event_cancelled(w: &Words) {
    // Each order slowed, so that the page shows the cancellation running first.
    let gw = spawn_gateway_with(|c| c.event_cancel_order_delay = Some(Duration::from_millis(400))).await;
    let chromium = Chromium::start_in(w.accept).await;
    let mut holders = Vec::new();
    for i in 0..5 {
        let holder = format!("+81901235{i:04}");
        buy_on_the_web(&gw, EVENT, &holder).await;
        holders.push(holder);
    }
    let guide = gw.link(&gw.mail(&holders[0], "Payment received").await, "/g/");

    super::organizer_signed_in(&chromium, &gw, "holonic-hall").await;

    // The event, then the confirmation: what will happen.
    chromium.goto(&format!("{}/admin/events/{EVENT}", gw.admin)).await;
    chromium.click("a[data-cancel-event]").await;
    let what = chromium.text_when("#evc-q", |t| !t.is_empty()).await;
    assert!(what.contains(w.what), "{what}");
    looked_at(&chromium, w, "event-cancel", 390).await;
    looked_at(&chromium, w, "event-cancel", 1280).await;

    // A wrong id: refused, kept, nothing changed.
    chromium.type_into("#confirm_id", "open-rehearsa").await;
    chromium.click("button[data-cancel-event]").await;
    chromium.text_when("[data-error]", |t| !t.is_empty()).await;
    assert_eq!(chromium.property("#confirm_id", "value").await, "open-rehearsa");
    looked_at(&chromium, w, "event-cancel-refused", 390).await;
    assert!(gw.app.store.event_cancellation(EVENT).await.unwrap().is_none());

    // The right one: the progress, until done.
    chromium.execute("document.getElementById('confirm_id').value = ''; return null;").await;
    chromium.type_into("#confirm_id", EVENT).await;
    chromium.click("button[data-cancel-event]").await;
    chromium.text_when("[data-cancellation]", |t| !t.is_empty()).await;
    if chromium.count("[data-running]").await > 0 {
        assert_eq!(chromium.count("meta[http-equiv=refresh]").await, 1, "a running cancellation refreshes itself");
        looked_at(&chromium, w, "event-cancel-running", 390).await;
    }
    let until = Instant::now() + Duration::from_secs(30);
    while chromium.count("[data-cancellation='done']").await == 0 {
        assert!(Instant::now() < until, "the cancellation never showed done");
        chromium.reload().await;
        chromium.text_when("[data-cancellation]", |t| !t.is_empty()).await;
    }
    let finished = chromium.text_when("[data-finished]", |t| !t.is_empty()).await;
    assert!(finished.contains(w.finished), "{finished}");
    assert_eq!(chromium.attribute("[data-cancellation]", "data-done-orders").await, "5");
    looked_at(&chromium, w, "event-cancel-done", 390).await;
    looked_at(&chromium, w, "event-cancel-done", 1280).await;

    // A holder's page says cancelled and refunded; each holder mailed once.
    chromium.goto(&guide).await;
    let state = chromium.text_when("[role=status]", |t| !t.is_empty()).await;
    // The holder's pages speak the holder's language (English for these web buyers).
    assert!(state.contains(ENGLISH.holder) || state.contains(w.holder), "{state}");
    chromium.screenshot(&format!("backoffice-event-cancel-holder-{}-390", w.lang)).await;
    for holder in &holders {
        assert_eq!(gw.queued(holder, "Cancelled and refunded").await, 1, "{holder}");
    }
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn an_event_cancelled_in_english_at_phone_and_desktop_width() {
    the_event_cancelled(&ENGLISH).await;
}

#[tokio::test]
async fn an_event_cancelled_in_japanese_at_phone_and_desktop_width() {
    the_event_cancelled(&JAPANESE).await;
}
