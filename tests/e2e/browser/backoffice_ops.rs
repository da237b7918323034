//! The operators' pages in a real browser, in Japanese and English, at a phone's
//! width (390×844) and a desktop's (1280×800): the route tester filled in and
//! answered, a flood block lifted with Unblock, a convenience-store payment
//! confirmed paid (the ticket's issue guide mailed once), and the outbox, a
//! mail, a phone user and the keys looked at.

use super::Chromium;
use crate::backoffice::operator_link;
use crate::backoffice_ops::{flood_from, konbini_order_via};
use crate::helpers::*;

struct Words {
    lang: &'static str,
    accept: &'static str,
    /// The purchase number whose callers get mail in this language.
    purchase: &'static str,
    link_subject: &'static str,
    paid_subject: &'static str,
    phone: &'static str,
    /// `phone` as a person there types it.
    typed: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    accept: "en-GB,en",
    purchase: PURCHASE,
    link_subject: "purchase link",
    paid_subject: "Payment received",
    phone: "+819066660031",
    typed: "090-6666-0031",
};
const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    purchase: "+81300000100",
    link_subject: "購入用リンク",
    paid_subject: "お支払いを確認しました",
    phone: "+819066660032",
    typed: "090 6666 0032",
};

/// The page checked as every page test checks it, at both widths, saved as
/// `backoffice-<page>-<lang>-<width>`.
async fn looked_at(chromium: &Chromium, w: &Words, page: &str) -> String {
    let mut text = String::new();
    for width in [390, 1280] {
        text = chromium.looked_at_width(w.lang, &format!("backoffice-{page}-{}-{width}", w.lang), width, &[]).await;
    }
    chromium.screen(390).await;
    text
}

async fn an_operator_works_through_the_operations_pages(w: &Words) {
    let gw = spawn_gateway().await;
    let (pid, reference) = konbini_order_via(&gw, w.phone, "spring-gala-2027", w.purchase, w.link_subject).await;
    let blocked = flood_from(&gw, "127.0.0.44").await;

    let office = Chromium::start_in(w.accept).await;
    office.goto(&operator_link(&gw, "ops").await).await;
    office.type_into("#password", "operator password 1").await;
    office.type_into("#again", "operator password 1").await;
    office.click("form[action^='/admin/setup/'] button[type=submit]").await;
    office.text_when("[data-me]", |t| !t.is_empty()).await;

    // The operations menu, opened, leads to the route tester.
    office.click("details.ops-nav summary").await;
    assert!(office.displayed("details.ops-nav a[href='/admin/ops/dialplan']").await);
    looked_at(&office, w, "ops-menu").await;
    office.click("details.ops-nav a[href='/admin/ops/dialplan']").await;
    // The route tester: the Japanese purchase number, from a mobile, over the local proxy's address.
    office.type_into("#to", "+81300000100").await;
    office.type_into("#from", "+819012345678").await;
    office.type_into("#source", "127.0.0.1").await;
    looked_at(&office, w, "ops-route-form").await;
    office.click("form[data-route-form] button[type=submit]").await;
    office.text_when("[data-verdict]", |t| !t.is_empty()).await;
    assert_eq!(office.attribute("[data-result]", "data-result").await, "purchase");
    assert_eq!(office.property("#to", "value").await, "+81300000100", "the form keeps what was typed");
    let rule = office.text_when("[data-rule]", |t| !t.is_empty()).await;
    assert!(rule.contains("default.toml:"), "{rule}");
    looked_at(&office, w, "ops-dialplan").await;

    // The flood block, lifted.
    office.goto(&format!("{}/admin/ops/blocks", gw.admin)).await;
    office.text_when(&format!("[data-block='{blocked}'] [data-until]"), |t| !t.is_empty()).await;
    looked_at(&office, w, "ops-blocks").await;
    office.click(&format!("[data-unblock='{blocked}']")).await;
    office.text_when("[data-done]", |t| t.contains("127.0.0.44")).await;
    assert_eq!(office.count("[data-block]").await, 0);
    assert!(gw.app.flood.blocked(std::time::Instant::now()).is_empty());

    // The konbini payment: on its order's page, and confirmed from the list.
    office.goto(&format!("{}/admin/orders/{pid}", gw.admin)).await;
    office.text_when(&format!("[data-konbini='{reference}']"), |t| t.contains(&reference)).await;
    looked_at(&office, w, "ops-order-konbini").await;
    office.goto(&format!("{}/admin/ops/payments", gw.admin)).await;
    office.text_when(&format!("[data-payment='{reference}'] [data-amount]"), |t| !t.is_empty()).await;
    looked_at(&office, w, "ops-payments").await;
    office.click(&format!("[data-confirm-paid='{reference}']")).await;
    office.text_when("[data-done]", |t| t.contains(&reference)).await;
    let paid = gw.app.store.purchase(&pid).await.expect("read").expect("the order");
    assert_eq!(paid.payment_status.as_str(), "paid");
    gw.mail(w.phone, w.paid_subject).await;
    gw.settle().await;
    assert_eq!(gw.mails(w.phone, w.paid_subject).len(), 1, "the issue guide once");

    // The outbox, that mail's page, the caller by phone as typed, the keys.
    office.goto(&format!("{}/admin/ops/outbox", gw.admin)).await;
    office.text_when("[data-state='sent']", |t| !t.is_empty()).await;
    looked_at(&office, w, "ops-outbox").await;
    office.click("[data-state='sent'] h3 a").await;
    office.text_when("[data-text]", |t| !t.is_empty()).await;
    looked_at(&office, w, "ops-mail").await;
    office.goto(&format!("{}/admin/ops/phones", gw.admin)).await;
    office.type_into("#phone", w.typed).await;
    office.click("form[action='/admin/ops/phones'] button[type=submit]").await;
    office.text_when("[data-delivers-to]", |t| t.contains(w.phone)).await;
    assert_eq!(office.count(&format!("[data-order='{pid}']")).await, 1);
    looked_at(&office, w, "ops-phones").await;
    office.goto(&format!("{}/admin/ops/keys", gw.admin)).await;
    let signing = office.text_when("[data-signing]", |t| !t.is_empty()).await;
    assert_eq!(signing, gw.app.links.kid());
    let text = looked_at(&office, w, "ops-keys").await;
    assert!(!text.contains("PRIVATE KEY") && !text.contains("-----BEGIN"), "{text}");

    office.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn an_operator_works_through_the_operations_pages_in_english() {
    an_operator_works_through_the_operations_pages(&ENGLISH).await;
}

#[tokio::test]
async fn an_operator_works_through_the_operations_pages_in_japanese() {
    an_operator_works_through_the_operations_pages(&JAPANESE).await;
}
