//! The back office's sales and orders in a real browser, in Japanese and
//! English, at a phone's width (390×844) and a desktop's (1280×800): after two
//! purchases, one from a call's mailed link and one from the web shop, the
//! organizer opens its event's sales page (the chart with today's bar, the
//! channel split 1 / 1), finds the web order by the holder's phone, opens it,
//! cancels it through the confirmation, and the order shows cancelled and
//! refunded; the holder got the cancellation mail.

use super::Chromium;
use crate::backoffice_orders::buy_on_the_web;
use crate::helpers::*;

/// How long a page may take to show what a step expects.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

struct Words {
    lang: &'static str,
    accept: &'static str,
    cancelled: &'static str,
    done: &'static str,
}

const ENGLISH: Words =
    Words { lang: "en", accept: "en-GB,en", cancelled: "Cancelled and refunded", done: "The order is cancelled" };
const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    cancelled: "キャンセル・返金済み",
    done: "注文をキャンセルして返金しました",
};

/// The page checked as every page test checks it and saved as `backoffice-<page>-<lang>-<width>`
/// ([`Chromium::looked_at_width`]).
async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, &[]).await
}

async fn sales_and_an_order_cancelled(w: &Words) {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(w.accept).await;
    let (caller, web_holder) = ("+819012347001", "+819012347002");
    gw.paid_purchase(caller, "spring-gala-2027").await;
    let order = buy_on_the_web(&gw, "spring-gala-2027", web_holder).await;
    let pid = order["purchase_id"].as_str().expect("purchase id").to_string();

    // The organizer sets its password with its one-time link and is signed in.
    super::organizer_signed_in(&chromium, &gw, "holonic-hall").await;

    // Its event, then the sales page: today's bar holds both tickets, one per channel.
    chromium.goto(&format!("{}/admin/events/spring-gala-2027", gw.admin)).await;
    chromium.click("a[data-sales]").await;
    chromium.text_when("#chart-h", |t| !t.is_empty()).await;
    let bar = chromium.attribute_when("svg rect[data-tickets]", "data-tickets", WAIT, |v: &str| !v.is_empty()).await;
    assert_eq!(bar, "2", "today's bar");
    for channel in ["phone-link", "web"] {
        let n = chromium.text_when(&format!("tr[data-channel='{channel}'] [data-tickets]"), |t| !t.is_empty()).await;
        assert_eq!(n, "1", "{channel}");
    }
    assert_eq!(chromium.count("svg rect[data-day]").await, 1);
    looked_at(&chromium, w, "sales", 390).await;
    // The chart at a phone's width, scrolled to.
    chromium.execute("document.getElementById('chart-h').scrollIntoView(); return null;").await;
    chromium.screenshot(&format!("backoffice-sales-chart-{}-390", w.lang)).await;
    let svg_width =
        chromium.execute("return document.querySelector('.chart svg').getBoundingClientRect().width;").await;
    assert!(svg_width.as_f64().is_some_and(|v| v > 250.0 && v <= 360.0), "the chart's width at 390: {svg_width}");
    looked_at(&chromium, w, "sales", 1280).await;

    // The orders: found by the holder's phone as people write it.
    chromium.click("a[data-orders]").await;
    chromium.text_when("form[role=search] label", |t| !t.is_empty()).await;
    chromium.type_into("#q", "090-1234-7002").await;
    chromium.click("form[role=search] button[type=submit]").await;
    chromium.text_when("[data-total='1']", |t| !t.is_empty()).await;
    assert_eq!(chromium.attribute(".orders [data-order]", "data-order").await, pid);
    looked_at(&chromium, w, "orders", 390).await;
    looked_at(&chromium, w, "orders", 1280).await;

    // Its page, the confirmation, the cancellation.
    chromium.click(".orders [data-order] a").await;
    chromium.text_when("[data-state='issue-guided']", |t| !t.is_empty()).await;
    looked_at(&chromium, w, "order", 390).await;
    looked_at(&chromium, w, "order", 1280).await;
    chromium.click("a[data-action=cancel]").await;
    chromium.text_when("[data-confirm]", |t| !t.is_empty()).await;
    looked_at(&chromium, w, "order-confirm", 390).await;
    assert_eq!(gw.queued(web_holder, "Cancelled").await, 0, "the confirmation changes nothing");
    chromium.click("[data-confirm] button[type=submit]").await;
    let done = chromium.text_when("[data-done]", |t| !t.is_empty()).await;
    assert!(done.contains(w.done), "{done}");
    let state = chromium.text_when("[data-state]", |t| !t.is_empty()).await;
    assert_eq!(state, w.cancelled);
    chromium.text_when("[data-refunded]", |t| t.contains("¥9,800")).await;
    looked_at(&chromium, w, "order-cancelled", 390).await;
    looked_at(&chromium, w, "order-cancelled", 1280).await;
    gw.mail(web_holder, "Cancelled and refunded").await;
    gw.settle().await;
    assert_eq!(gw.mails(web_holder, "Cancelled and refunded").len(), 1);
    assert_eq!(gw.app.store.purchase(&pid).await.unwrap().unwrap().payment_status.as_str(), "refunded");

    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn sales_and_orders_in_english_at_phone_and_desktop_width() {
    sales_and_an_order_cancelled(&ENGLISH).await;
}

#[tokio::test]
async fn sales_and_orders_in_japanese_at_phone_and_desktop_width() {
    sales_and_an_order_cancelled(&JAPANESE).await;
}
