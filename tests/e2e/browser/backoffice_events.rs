//! Events in the back office in a real browser, in Japanese and English, at a
//! phone's width (390) and a desktop's (1280): an organizer signs in, makes an
//! event with two seat types through the form (a refused first try keeps what
//! was typed), sees it in its list with the number that sells it; a caller buys
//! and the sold count goes up; the organizer stops sales and the shop says so.

use super::Chromium;
use crate::backoffice_events::tokyo;
use crate::helpers::*;

struct Words {
    lang: &'static str,
    accept: &'static str,
    event: &'static str,
    venue: &'static str,
    genre: &'static str,
    free_seating: &'static str,
    s_seats: &'static str,
    sale_ends_first: &'static str,
    paused: &'static str,
    shop_paused: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    accept: "en-GB,en",
    event: "Late Set",
    venue: "Blue Note Tokyo",
    genre: "Jazz",
    free_seating: "Free seating",
    s_seats: "S seats",
    sale_ends_first: "The sale must end after it starts",
    paused: "sales stopped",
    shop_paused: "Sales are paused",
};

const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    event: "深夜セッション",
    venue: "ブルーノート東京",
    genre: "ジャズ",
    free_seating: "自由席",
    s_seats: "S席",
    sale_ends_first: "販売終了は販売開始より後にしてください",
    paused: "販売停止中",
    shop_paused: "販売を一時停止しています",
};

/// Set a `datetime-local` field as its picker would.
/// The page checked as every page test checks it and saved as `backoffice-<page>-<lang>-<width>`
/// ([`Chromium::looked_at_width`]).
async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, &[]).await
}

async fn set_time(chromium: &Chromium, id: &str, value: &str) {
    chromium.execute(&format!("document.getElementById('{id}').value = '{value}'; return null;")).await;
}

/// The sold count of `event`'s seat type `code` on the page.
async fn sold(chromium: &Chromium, event: &str, code: &str) -> String {
    let css = format!("[data-event='{event}'] tr[data-seat-type='{code}'] [data-count='sold']");
    chromium.text_when(&css, |t| !t.is_empty()).await
}

async fn organizer_makes_an_event(w: &Words) {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(w.accept).await;
    // The organizer's account, as an operator makes it; it sets its password.
    let role = dialticket::accounts::Role::Organizer("holonic-hall".into());
    let made = gw.app.store.add_account("holonic", &role, "test", dialticket::store::now()).await.expect("made");
    let link = dialticket::accounts::setup_link(&gw.admin, &made.expect("a new name").setup_token);
    chromium.goto(&link).await;
    chromium.text_when("h1", |t| !t.is_empty()).await;
    chromium.type_into("#password", "holonic password").await;
    chromium.type_into("#again", "holonic password").await;
    chromium.click("form[action^='/admin/setup/'] button[type=submit]").await;
    chromium.text_when("[data-me]", |t| !t.is_empty()).await;

    // A new event from the form.
    chromium.click("[data-new-event]").await;
    chromium.text_when("h1", |t| !t.is_empty()).await;
    assert_eq!(chromium.property("#time_zone", "value").await, "Asia/Tokyo", "the organizer's last zone");
    looked_at(&chromium, w, "event-new", 390).await;
    looked_at(&chromium, w, "event-new", 1280).await;
    chromium.screen(390).await;
    chromium.type_into("#id", "late-set").await;
    chromium.type_into("#name", w.event).await;
    chromium.type_into("#genre", w.genre).await;
    chromium.type_into("#venue", w.venue).await;
    let start = tokyo(30, "19:00");
    let day = start[..10].to_string();
    set_time(&chromium, "starts_at", &start).await;
    set_time(&chromium, "doors_open", &format!("{day}T18:30")).await;
    set_time(&chromium, "sale_start", &tokyo(-1, "10:00")).await;
    // The sale ends before it starts: refused, with what was typed kept.
    set_time(&chromium, "sale_end", &tokyo(-2, "10:00")).await;
    chromium.type_into("#phone_limit", "4").await;
    chromium.type_into("#st0_code", "GA").await;
    chromium.type_into("#st0_name", w.free_seating).await;
    chromium.type_into("#st0_price", "3000").await;
    chromium.type_into("#st0_count", "30").await;
    chromium.type_into("#st1_code", "S").await;
    chromium.type_into("#st1_name", w.s_seats).await;
    chromium.type_into("#st1_price", "8000").await;
    chromium.type_into("#st1_rows", "A B").await;
    chromium.type_into("#st1_per_row", "5").await;
    chromium.type_into("#st1_gate", "B").await;
    chromium.click("[data-save]").await;
    chromium.text_when("[data-error]", |t| t.contains(w.sale_ends_first)).await;
    assert_eq!(chromium.property("#name", "value").await, w.event);
    assert_eq!(chromium.property("#st1_rows", "value").await, "A B");
    looked_at(&chromium, w, "event-refused", 390).await;
    // The seat types as typed, further down.
    chromium.execute("document.querySelector(\"[data-seat-row='0']\").scrollIntoView(); return null;").await;
    looked_at(&chromium, w, "event-seat-types", 390).await;
    assert!(gw.app.store.event("late-set").await.expect("read").is_none());
    chromium.screen(390).await;
    set_time(&chromium, "sale_end", &format!("{day}T18:00")).await;
    chromium.click("[data-save]").await;
    chromium.text_when("[data-controls]", |t| !t.is_empty()).await;
    let text = looked_at(&chromium, w, "event-made", 390).await;
    assert!(text.contains(w.event) && text.contains("19:00") && text.contains("JST"), "{text}");
    let e = gw.app.store.event("late-set").await.expect("read").expect("made");
    assert_eq!(e.seat_types.len(), 2);
    assert_eq!(e.phone_limit, 4);

    // In its list with the number that sells it.
    chromium.goto(&format!("{}/admin/", gw.admin)).await;
    let number = chromium.text_when("[data-event='late-set'] [data-number]", |t| !t.is_empty()).await;
    let expected = if w.lang == "ja" { "+81300000100" } else { PURCHASE };
    assert_eq!(number, expected);
    assert_eq!(sold(&chromium, "late-set", "S").await, "0");
    // A caller buys (one S seat, the dearest first); the sold count goes up.
    gw.paid_purchase("+819012340001", "late-set").await;
    chromium.reload().await;
    chromium.text_when("[data-event='late-set'] tr[data-seat-type='S'] [data-count='sold']", |t| t == "1").await;
    looked_at(&chromium, w, "event-list", 390).await;
    looked_at(&chromium, w, "event-list", 1280).await;

    // The organizer stops sales; the shop page says so.
    chromium.goto(&format!("{}/admin/events/late-set", gw.admin)).await;
    chromium.click("[data-stop]").await;
    chromium.text_when("[data-paused]", |t| t.contains(w.paused)).await;
    chromium.text_when("[data-event='late-set'] [data-card-paused]", |t| t.contains(w.paused)).await;
    looked_at(&chromium, w, "event-stopped", 390).await;
    looked_at(&chromium, w, "event-stopped", 1280).await;
    let phone = "+819012340002";
    let report = gw.call(phone, PURCHASE).await;
    assert_eq!(report.final_status, 200, "the purchase call still mails a link");
    let mail = gw.mail(phone, "purchase link").await;
    let shop = gw.link(&mail, "/p/");
    chromium.goto(&format!("{shop}/events/late-set")).await;
    // The link is in the caller's language (the number dialled was the English one);
    // the reader switches to its own at the page's foot.
    chromium.text_when("#sold-out", |t| !t.is_empty()).await;
    let switch = format!("nav.langs a[hreflang='{}']", w.lang);
    if chromium.count(&switch).await > 0 {
        chromium.click(&switch).await;
    }
    chromium.text_when("#sold-out", |t| t.contains(w.shop_paused)).await;
    assert_eq!(chromium.count("form[method=post] button[type=submit]").await, 0, "no order form");
    looked_at(&chromium, w, "shop-paused", 390).await;
    looked_at(&chromium, w, "shop-paused", 1280).await;

    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn an_organizer_makes_an_event_in_english_at_phone_and_desktop_width() {
    organizer_makes_an_event(&ENGLISH).await;
}

#[tokio::test]
async fn an_organizer_makes_an_event_in_japanese_at_phone_and_desktop_width() {
    organizer_makes_an_event(&JAPANESE).await;
}
