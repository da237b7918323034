//! The holder's pages in Chromium on a phone's screen (390×844), in Japanese and
//! in English: the issue guide, the ticket, the live admission page, cancelling
//! with its confirmation step, and the issue-guide and ticket mails' HTML. Each
//! page is looked at as rendered (not its JSON twin) and saved as a screenshot
//! (`target/screenshots/ticket-<page>-<lang>.png`, `mail-<name>-<lang>.png`).

use std::time::Duration;

use serde_json::{json, Value};

use super::{look_at_mail, Chromium};
use crate::helpers::*;

/// The Japanese numbers of the default dialplan (`language = "ja"`).
const PURCHASE_JA: &str = "+81300000100";
const ISSUE_JA: &str = "+81300000101";
const USAGE_JA: &str = "+81300000102";

/// One language's journey: the numbers its callers dial, the mails' subjects,
/// and what its pages say.
struct Lang {
    code: &'static str,
    purchase: &'static str,
    issue: &'static str,
    usage: &'static str,
    purchase_mail: &'static str,
    guide_mail: &'static str,
    ticket_mail: &'static str,
    admission_mail: &'static str,
    cancelled_mail: &'static str,
    guide_heading: &'static str,
    ticket_valid: &'static str,
    door_valid: &'static str,
    checked: &'static str,
    cancel_heading: &'static str,
    cancelled: &'static str,
}

const JA: Lang = Lang {
    code: "ja",
    purchase: PURCHASE_JA,
    issue: ISSUE_JA,
    usage: USAGE_JA,
    purchase_mail: "購入用リンク",
    guide_mail: "お支払いを確認しました",
    ticket_mail: "チケット発券",
    admission_mail: "入場ページ",
    cancelled_mail: "キャンセル・返金",
    guide_heading: "チケットを発券する",
    ticket_valid: "有効なチケット",
    door_valid: "有効 — ",
    checked: "確認 ",
    cancel_heading: "このご購入をキャンセルしますか？",
    cancelled: "キャンセル済み — ",
};

const EN: Lang = Lang {
    code: "en",
    purchase: PURCHASE,
    issue: ISSUE,
    usage: USAGE,
    purchase_mail: "purchase link",
    guide_mail: "Payment received",
    ticket_mail: "Your ticket",
    admission_mail: "Admission page",
    cancelled_mail: "Cancelled and refunded",
    guide_heading: "Issue your ticket",
    ticket_valid: "Valid ticket",
    door_valid: "VALID — ",
    checked: "Checked ",
    cancel_heading: "Cancel this purchase?",
    cancelled: "Cancelled — ",
};

/// What the page shows, once `css` satisfies `want`, checked as every page is
/// ([`Chromium::looked_at`]: audit, phone width, no UTC, no English left on a
/// Japanese page) and in `lang`.
async fn look(chromium: &Chromium, lang: &Lang, shot: &str, css: &str, want: impl Fn(&str) -> bool) -> String {
    chromium.text_when(css, want).await;
    let body = chromium.looked_at(shot).await;
    assert_eq!(chromium.attribute("html", "lang").await, lang.code, "{shot}");
    body
}

/// Bought by calling `lang`'s purchase number from `phone` and paying by card:
/// the purchase's id and the issue guide's link (minted in `lang`).
async fn bought(gw: &TestGateway, lang: &Lang, phone: &str, event: &str, quantity: u32) -> (String, String) {
    assert_eq!(gw.call(phone, lang.purchase).await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, lang.purchase_mail).await, "/p/");
    let (status, order) = gw.buy(&shop, event, quantity, "4242 4242 4242 4242").await;
    assert_eq!(status, 200, "{order}");
    let guide = gw.link(&gw.mail(phone, lang.guide_mail).await, "/g/");
    (order["purchase_id"].as_str().expect("purchase id").to_string(), guide)
}

/// The holder's three pages in `lang`, opened from links mailed in `lang` by an
/// English-speaking browser: the link's language wins over Accept-Language.
async fn holder_pages_in(lang: &Lang, phone: &str) {
    let gw = spawn_gateway().await;
    let (_, guide) = bought(&gw, lang, phone, "open-rehearsal", 1).await;
    let guide_mail = gw.mail(phone, lang.guide_mail).await;
    let chromium = Chromium::start().await;

    chromium.goto(&guide).await;
    let page = look(&chromium, lang, &format!("ticket-guide-{}", lang.code), "h1", |t| t == lang.guide_heading).await;
    assert!(page.contains(" JST"), "times on the venue's clock: {page}");
    assert_eq!(chromium.attribute("a.button[href^='tel:']", "href").await, format!("tel:{}", lang.issue));
    assert!(page.contains("¥1,000"), "{page}");
    let mail = look_at_mail(&gw, &chromium, lang.code, "issue-guide", &guide_mail).await;
    assert!(mail.contains(lang.issue) && mail.contains(" JST"), "{mail}");
    assert!(guide_mail.text.contains(lang.issue) && guide_mail.text.contains(&guide), "{}", guide_mail.text);

    assert_eq!(gw.call(phone, lang.issue).await.final_status, 200);
    let ticket_mail = gw.mail(phone, lang.ticket_mail).await;
    let ticket = gw.link(&ticket_mail, "/t/");
    chromium.goto(&ticket).await;
    let page =
        look(&chromium, lang, &format!("ticket-ticket-{}", lang.code), ".state", |t| t == lang.ticket_valid).await;
    assert!(page.contains(" JST"), "{page}");
    assert_eq!(chromium.attribute("a.button[href^='tel:']", "href").await, format!("tel:{}", lang.usage));
    assert_eq!(chromium.count(".seat-ticket svg").await, 1, "the seat's QR code");
    let mail = look_at_mail(&gw, &chromium, lang.code, "ticket", &ticket_mail).await;
    assert!(mail.contains(lang.usage), "the mail tells the usage number of its language: {mail}");
    for needed in [lang.usage, ticket.as_str(), phone] {
        assert!(ticket_mail.text.contains(needed), "the text part alone has {needed}: {}", ticket_mail.text);
    }

    assert_eq!(gw.call(phone, lang.usage).await.final_status, 200);
    let admission_mail = gw.mail(phone, lang.admission_mail).await;
    let admission = gw.link(&admission_mail, "/a/");
    look_at_mail(&gw, &chromium, lang.code, "admission", &admission_mail).await;
    assert!(admission_mail.text.contains(&admission), "{}", admission_mail.text);
    chromium.goto(&admission).await;
    let shot = format!("ticket-admission-{}", lang.code);
    look(&chromium, lang, &shot, "[data-live=headline]", |t| t.starts_with(lang.door_valid)).await;
    // The moving clock: the venue's time, labelled JST, in the page's language.
    let clock = chromium.text_when("[data-live=clock]", |t| t.ends_with(" JST")).await;
    if lang.code == "ja" {
        assert!(clock.contains('年') && clock.contains('日'), "{clock}");
    }
    // After the page asked for its state, what the script wrote is still in the page's language.
    chromium
        .attribute_when("main", "data-polls", Duration::from_secs(20), |v| v.parse::<u32>().unwrap_or(0) >= 1)
        .await;
    chromium.text_when("[data-live=headline]", |t| t.starts_with(lang.door_valid)).await;
    chromium.text_when("[data-live=checked]", |t| t.starts_with(lang.checked) && t.contains(" JST")).await;
    chromium.text_when("[data-live=clock]", |t| t != clock && t.ends_with(" JST")).await;
    look(&chromium, lang, &format!("{shot}-polled"), "[data-live=checked]", |t| t.starts_with(lang.checked)).await;
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn a_japanese_holder_sees_guide_ticket_and_admission_in_japanese() {
    holder_pages_in(&JA, "+819011112001").await;
}

#[tokio::test]
async fn an_english_holder_sees_guide_ticket_and_admission_in_english() {
    holder_pages_in(&EN, "+819011112002").await;
}

/// The admission page follows the door live, in Japanese: a reader of Japanese
/// holds two seats; staff scan one at gate B (the page, without reloading, says
/// one of two seats is still to enter), then the other (admitted, when and at
/// which gate, on the venue's clock). The ticket page shows each seat's admission.
#[tokio::test]
async fn the_admission_page_follows_the_door_live_in_japanese() {
    let gw = spawn_gateway().await;
    let phone = "+819011112005";
    bought(&gw, &JA, phone, "open-rehearsal", 2).await;
    assert_eq!(gw.call(phone, ISSUE_JA).await.final_status, 200);
    let ticket = gw.link(&gw.mail(phone, JA.ticket_mail).await, "/t/");
    let (_, page) = gw.get(&ticket).await;
    let codes: Vec<String> =
        page["tickets"].as_array().expect("seats").iter().map(|t| t["code"].as_str().expect("code").into()).collect();
    assert_eq!(codes.len(), 2, "{page}");
    assert_eq!(gw.call(phone, USAGE_JA).await.final_status, 200);
    let admission = gw.link(&gw.mail(phone, JA.admission_mail).await, "/a/");
    let made = gw.app.store.add_staff("open-rehearsal", "Aiko", Some("B"), true, "test", dialticket::store::now());
    let device = made.await.expect("staff").api_token.expect("an API token");
    let scan = |code: String| {
        let (base, device) = (gw.base.clone(), device.clone());
        async move {
            let resp = reqwest::Client::new()
                .post(format!("{base}/staff/api/scan"))
                .bearer_auth(device)
                .json(&json!({ "code": code }))
                .send()
                .await
                .expect("scan");
            let answer: Value = resp.json().await.expect("scan answer");
            assert_eq!(answer["result"], "admitted", "{answer}");
        }
    };

    let chromium = Chromium::start_in("ja,en;q=0.5").await;
    chromium.goto(&admission).await;
    chromium.text_when("[data-live=headline]", |t| t.starts_with(JA.door_valid)).await;
    scan(codes[0].clone()).await;
    let partial = "有効 — 2席中 1席がまだ入場していません";
    look(&chromium, &JA, "ticket-admission-partial-ja", "[data-live=headline]", |t| t == partial).await;
    scan(codes[1].clone()).await;
    let admitted = |t: &str| t.starts_with("入場済み ") && t.ends_with(" JST・ゲート B");
    look(&chromium, &JA, "ticket-admission-admitted-ja", "[data-live=headline]", admitted).await;
    assert_eq!(chromium.current_url().await, admission, "shown live, never reloaded");
    assert_eq!(chromium.count("[data-live-seat]").await, 0, "no codes to show once every seat is in");

    chromium.goto(&ticket).await;
    let page = look(&chromium, &JA, "ticket-ticket-admitted-ja", ".state", |t| t == "入場済み").await;
    assert_eq!(page.matches("・ゲート B").count(), 2, "each seat's admission: {page}");
    // Checking a seat's code (what staff see) speaks the reader's language too.
    chromium.click(".seat-ticket a[href^='/verify/']").await;
    look(&chromium, &JA, "ticket-verify-ja", ".state", |t| t == "本物・入場済み").await;
    chromium.quit().await;
    gw.stop().await;
}

/// Too many wrong staff PINs lock the ticket's PIN: the Japanese page says so,
/// and until when on the venue's clock, with no PIN field left to guess in.
#[tokio::test]
async fn a_locked_ticket_says_so_in_japanese() {
    let gw = spawn_gateway().await;
    let phone = "+819011112006";
    bought(&gw, &JA, phone, "open-rehearsal", 1).await;
    assert_eq!(gw.call(phone, ISSUE_JA).await.final_status, 200);
    gw.mail(phone, JA.ticket_mail).await;
    assert_eq!(gw.call(phone, USAGE_JA).await.final_status, 200);
    let admission = gw.link(&gw.mail(phone, JA.admission_mail).await, "/a/");
    gw.allow_pin_admission("open-rehearsal").await;
    let (_, wrong) = gw.staff_pins("open-rehearsal");
    let chromium = Chromium::start_in("ja,en;q=0.5").await;
    chromium.goto(&admission).await;
    chromium.type_into("input[name=staff_pin]", wrong).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[role=alert]", |t| t == "スタッフPINが違います").await;
    for _ in 1..5 {
        let (status, _) = gw.post(&format!("{admission}/admit"), &[("staff_pin", wrong)]).await;
        assert_eq!(status, 403);
    }
    chromium.goto(&admission).await;
    let locked = "ロック中 — スタッフPINの誤りが多すぎます";
    look(&chromium, &JA, "ticket-admission-locked-ja", "[data-live=headline]", |t| t == locked).await;
    let detail = chromium.text_when("[data-live=refusal]", |t| t.contains("までPINを受け付けません")).await;
    assert!(detail.contains(" JST") && detail.contains('年'), "{detail}");
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no PIN field while locked");
    chromium.quit().await;
    gw.stop().await;
}

/// Cancelling in `lang`: "Cancel" opens a confirmation page that shows the
/// refund and changes nothing; confirming cancels, and afterwards the guide and
/// ticket pages say "cancelled, ¥N refunded on DATE" (the venue's calendar)
/// and no longer give a number to call; so does the mail.
async fn cancellation_in(lang: &Lang, phone: &str) {
    let gw = spawn_gateway().await;
    let (pid, guide) = bought(&gw, lang, phone, "spring-gala-2027", 2).await;
    assert_eq!(gw.call(phone, lang.issue).await.final_status, 200);
    let ticket = gw.link(&gw.mail(phone, lang.ticket_mail).await, "/t/");
    let chromium = Chromium::start().await;

    chromium.goto(&guide).await;
    chromium.text_when("h1", |t| t == lang.guide_heading).await;
    chromium.click("a.button.danger").await;
    let code = lang.code;
    let page = look(&chromium, lang, &format!("ticket-cancel-{code}"), "h1", |t| t == lang.cancel_heading).await;
    assert!(page.contains("¥19,600"), "the refund is shown before confirming: {page}");
    let (_, state) = gw.get(&guide).await;
    assert_eq!(state["state"], "issued", "opening the confirmation changes nothing: {state}");

    chromium.click("form button[type=submit]").await;
    let done =
        look(&chromium, lang, &format!("ticket-cancelled-{code}"), ".state", |t| t.starts_with(lang.cancelled)).await;
    let journal = gw.app.store.journal_for(&pid).await.expect("journal");
    let refunded_at = journal.iter().find(|j| j.action == "refund").expect("a refund").at;
    let event = gw.app.store.event("spring-gala-2027").await.expect("store").expect("event");
    let date = event.when(code, refunded_at, dialticket::i18n::Style::Date);
    assert!(done.contains("¥19,600") && done.contains(&date), "{date}: {done}");

    chromium.goto(&guide).await;
    chromium.text_when("h1", |t| t != lang.guide_heading).await;
    let page =
        look(&chromium, lang, &format!("ticket-guide-cancelled-{code}"), ".state", |t| t.starts_with(lang.cancelled))
            .await;
    assert!(page.contains("¥19,600") && page.contains(&date), "{page}");
    assert!(!page.contains(lang.issue), "no number to call any more: {page}");
    assert_eq!(chromium.count("a.button.danger").await, 0, "nothing left to cancel");

    chromium.goto(&ticket).await;
    let page =
        look(&chromium, lang, &format!("ticket-ticket-cancelled-{code}"), ".state", |t| t.starts_with(lang.cancelled))
            .await;
    assert!(page.contains(&date) && !page.contains(lang.usage), "{page}");
    assert_eq!(chromium.count(".seat-ticket").await, 0, "no codes to show at the door");

    let mail = gw.mail(phone, lang.cancelled_mail).await;
    assert!(mail.text.contains("¥19,600") && mail.text.contains(&date), "{}", mail.text);
    assert!(!mail.text.contains(lang.issue), "{}", mail.text);
    look_at_mail(&gw, &chromium, lang.code, "cancelled", &mail).await;
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn cancelling_in_japanese_asks_first_then_shows_the_refund_and_its_date() {
    cancellation_in(&JA, "+819011112003").await;
}

#[tokio::test]
async fn cancelling_in_english_asks_first_then_shows_the_refund_and_its_date() {
    cancellation_in(&EN, "+819011112004").await;
}
