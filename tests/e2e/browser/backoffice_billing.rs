//! Billing in the back office in a real browser, in Japanese and English, at a
//! phone's width (390×844) and a desktop's (1280×800): an operator opens Billing
//! from the nav, a payout above what is owed is refused with the form kept, the
//! payout is recorded through the form, and the organizer's statement (in a
//! second browser) shows it.

use super::Chromium;
use crate::backoffice::operator_link;
use crate::backoffice_orders::buy_on_the_web;
use crate::helpers::*;

struct Words {
    lang: &'static str,
    accept: &'static str,
    above: &'static str,
    recorded: &'static str,
    payouts: &'static str,
    voided: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    accept: "en-GB,en",
    above: "is more than the ¥9,700 owed",
    recorded: "The payout is recorded.",
    payouts: "Payouts",
    voided: "Voided",
};
const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    above: "未払い額 ¥9,700 を超えています",
    recorded: "支払いを記録しました。",
    payouts: "支払い",
    voided: "取り消し",
};

/// The page checked as every page test checks it and saved as `backoffice-<page>-<lang>-<width>`.
async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, &[]).await
}

async fn an_operator_records_a_payout_and_the_organizer_sees_it(w: &Words) {
    let gw = spawn_gateway().await;
    // One ticket of ¥9,800 sold: ¥9,700 owed after the ¥100 fee.
    let order = buy_on_the_web(&gw, "spring-gala-2027", "+819055553001").await;
    let pid = order["purchase_id"].as_str().expect("an order").to_string();
    assert_eq!(gw.app.store.purchase(&pid).await.unwrap().unwrap().amount, 9800);

    let operator = Chromium::start_in(w.accept).await;
    operator.goto(&operator_link(&gw, "ops").await).await;
    operator.type_into("#password", "operator password 1").await;
    operator.type_into("#again", "operator password 1").await;
    operator.click("form[action^='/admin/setup/'] button[type=submit]").await;
    operator.text_when("[data-me]", |t| !t.is_empty()).await;

    // Billing, from the nav: every organizer with what is owed.
    operator.click("a[data-nav=billing]").await;
    operator.text_when("[data-organizer='holonic-hall'] [data-owed]", |t| t == "¥9,700").await;
    looked_at(&operator, w, "billing-list", 390).await;
    looked_at(&operator, w, "billing-list", 1280).await;
    operator.click("[data-organizer='holonic-hall'] h3 a").await;
    operator.text_when("[data-closing]", |t| t == "¥9,700").await;

    // Too much: refused, with what was typed kept.
    operator.type_into("#amount", "9701").await;
    operator.type_into("#reference", "MIZUHO-0001").await;
    operator.type_into("#note", "12月分").await;
    operator.click("#payout button[type=submit]").await;
    operator.text_when("#payout .error", |t| t.contains(w.above)).await;
    assert_eq!(operator.property("#amount", "value").await, "9701");
    assert_eq!(operator.property("#reference", "value").await, "MIZUHO-0001");
    assert_eq!(operator.property("#note", "value").await, "12月分");
    looked_at(&operator, w, "billing-refused", 390).await;

    // The payout, as the form says it: the date is today's on the organizer's clock.
    operator.execute("document.getElementById('amount').value = '';").await;
    operator.type_into("#amount", "5000").await;
    operator.click("#payout button[type=submit]").await;
    operator.text_when("[data-recorded]", |t| t == w.recorded).await;
    operator.text_when("[data-closing]", |t| t == "¥4,700").await;
    operator.text_when("[data-payout] h3", |t| t == "¥5,000").await;
    looked_at(&operator, w, "billing-payout", 390).await;
    looked_at(&operator, w, "billing-payout", 1280).await;

    // The organizer's statement shows it, read-only.
    let organizer = Chromium::start_in(w.accept).await;
    super::organizer_signed_in(&organizer, &gw, "holonic-hall").await;
    organizer.click("a[data-nav=billing]").await;
    organizer.text_when("[data-payouts]", |t| t == "−¥5,000").await;
    organizer.text_when("[data-payout]", |t| t.contains("MIZUHO-0001") && t.contains("ops")).await;
    organizer.text_when("tr[data-line=payout]", |t| t.contains("−¥5,000")).await;
    assert_eq!(organizer.count("#payout").await, 0, "no payout form for an organizer");
    assert_eq!(organizer.count("[data-payout] form").await, 0, "no void button for an organizer");
    let text = looked_at(&organizer, w, "billing", 390).await;
    assert!(text.contains(w.payouts) && text.contains("Asia/Tokyo"), "{text}");
    looked_at(&organizer, w, "billing", 1280).await;
    organizer.execute("document.getElementById('lines-h').scrollIntoView();").await;
    looked_at(&organizer, w, "billing-lines", 390).await;

    // Voided, not deleted: the operator's button; the organizer's statement then shows it struck out.
    operator.click("[data-payout] form button[type=submit]").await;
    operator.text_when("[data-closing]", |t| t == "¥9,700").await;
    organizer.reload().await;
    organizer.text_when("[data-payouts]", |t| t == "¥0").await;
    organizer.text_when("[data-payout][data-voided]", |t| t.contains(w.voided)).await;

    organizer.quit().await;
    operator.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn an_operator_records_a_payout_and_the_organizer_sees_it_in_english() {
    an_operator_records_a_payout_and_the_organizer_sees_it(&ENGLISH).await;
}

#[tokio::test]
async fn an_operator_records_a_payout_and_the_organizer_sees_it_in_japanese() {
    an_operator_records_a_payout_and_the_organizer_sees_it(&JAPANESE).await;
}
