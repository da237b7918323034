//! A Japanese caller's whole journey, read in Japanese: every page (in Chromium at
//! phone size, a Japanese reader) and every mail. The test fails on an English
//! interface word left on a page or in a mail, on "UTC", and on what the page
//! audit finds (no `lang`, a control without a label, text below 4.5:1 contrast).
//!
//! The event's own words (its name, venue, seat names) are the organizer's: this
//! test loads an event written in Japanese, so any English that remains is ours.

use std::time::Duration;

use dialticket::events::CatalogFile;

use super::Chromium;
use crate::helpers::*;

const JA_PURCHASE: &str = "+81300000100";
const JA_ISSUE: &str = "+81300000101";
const JA_USAGE: &str = "+81300000102";

/// A Tokyo event written in Japanese, on sale and open for admission whenever loaded.
const JA_CATALOG: &str = r#"
[[organizers]]
id = "kaze"
name = "風の音楽事務所"

[[events]]
id = "haru"
organizer = "kaze"
genre = "クラシック"
name = "春の公開リハーサル"
description = "オーケストラのリハーサルをご覧いただけます。"
region = "東京"
venue = "ホロニックホール スタジオ（東京）"
starts_at = "today+30d 19:00 +09:00"
doors_open = "today+30d 18:00 +09:00"
curtain = "today+30d 19:00 +09:00"
sale_start = "today-30d 00:00 +09:00"
sale_end = "today+30d 18:00 +09:00"
admission_opens = "today-1d 00:00 +09:00"
admission_closes = "today+31d 00:00 +09:00"
cancellable_days = 3
contact = "03-0000-0199"
currency = "JPY"
time_zone = "Asia/Tokyo"

[[events.seat_types]]
code = "S"
name = "S席"
price = 9800
rows = ["あ", "い"]
seats_per_row = 4

[[events.seat_types]]
code = "J"
name = "自由席"
price = 3000
count = 20
"#;

/// Words a Japanese page may carry in Latin letters: our name, the zone, the
/// language switch's "English", and terms Japanese uses as they are.
const ALLOWED: &[&str] = &["dialticket", "JST", "English", "PIN", "QR", "SMS", "ID"];

/// English left in `text`: Latin-letter words of three letters or more that are
/// not allowed, outside URLs, mail addresses and codes (letters mixed with
/// digits, or a five-letter group of a seat's reference in Crockford's alphabet).
fn english_in(text: &str) -> Vec<String> {
    let mut out = vec![];
    for token in text.split(|c: char| c.is_whitespace() || "（）()「」、。・：,;[]".contains(c)) {
        if token.contains("://") || token.contains('@') || token.starts_with("/") {
            continue;
        }
        for word in token.split(|c: char| !c.is_ascii_alphanumeric()) {
            let letters = word.chars().all(|c| c.is_ascii_alphabetic());
            let reference_group =
                word.len() == 5 && word.chars().all(|c| c.is_ascii_uppercase() && !"ILOU".contains(c));
            if letters && word.len() >= 3 && !ALLOWED.contains(&word) && !reference_group {
                out.push(word.to_string());
            }
        }
    }
    out
}

/// The page, checked as every page is ([`Chromium::looked_at`]), in Japanese,
/// and, being all about a Japanese event, with no English word at all.
async fn read(chromium: &Chromium, name: &str) -> String {
    let text = chromium.looked_at(&format!("walk-{name}")).await;
    assert_eq!(chromium.attribute("html", "lang").await, "ja", "{name}: {text}");
    let left = english_in(&text);
    assert!(left.is_empty(), "{name}: English left {left:?}\n{text}");
    text
}

/// The link in the newest mail to `phone` whose subject has `subject`.
async fn mailed_link(gw: &TestGateway, phone: &str, subject: &str, prefix: &str) -> String {
    let mails = gw.mails_at_least(phone, subject, 1).await;
    gw.link(mails.last().expect("a mail"), prefix)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_caller_reads_every_page_and_mail_in_japanese() {
    let gw = spawn_gateway().await;
    let catalog = CatalogFile::parse(JA_CATALOG, chrono::Utc::now()).expect("the Japanese catalog");
    gw.app.store.load_catalog(&catalog).await.expect("loads");
    let phone = "+819055550001";
    // The caller's browser prefers English: the links, minted in Japanese, win.
    let chromium = Chromium::start_in("en-GB,en").await;
    // Pages opened without a link (a scanned code, a mistyped address, the staff
    // app) speak the browser's language: a Japanese one here.
    let other = Chromium::start_in("ja,en;q=0.5").await;

    // The purchase call and the shop: list, event, review, receipt.
    assert_eq!(gw.call(phone, JA_PURCHASE).await.final_status, 200);
    let shop = mailed_link(&gw, phone, "購入用リンク", "/p/").await;
    chromium.goto(&shop).await;
    chromium.text_when("a[href$='/events/haru']", |t| t.contains("春の公開リハーサル")).await;
    // The list also shows the demo's English-named events: only the check of every page here.
    chromium.looked_at("walk-events").await;
    chromium.click("a[href$='/events/haru']").await;
    chromium.text_when("h1", |t| t == "春の公開リハーサル").await;
    read(&chromium, "event").await;
    chromium.click("label[for=seat-type-J]").await;
    chromium.type_into("#card_number", "4242 4242 4242 4242").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("#total", |t| t == "¥3,000").await;
    let review = read(&chromium, "review").await;
    assert!(review.contains("JST"), "the cancellation deadline on the venue clock: {review}");
    chromium.click("label[for=confirm_phone]").await;
    chromium.click("#buy").await;
    chromium.text_when("#reference", |t| !t.is_empty()).await;
    let receipt = read(&chromium, "receipt").await;
    assert!(receipt.contains("03-0000-0101"), "the Japanese issue number: {receipt}");

    // The account pages behind the purchase link.
    chromium.goto(&format!("{shop}/mail")).await;
    read(&chromium, "mail-address").await;
    chromium.goto(&format!("{shop}/profile")).await;
    read(&chromium, "profile").await;

    // The issue guide, the issue call and the ticket, its code check, the cancel question.
    let guide = mailed_link(&gw, phone, "お支払いを確認しました", "/g/").await;
    chromium.goto(&guide).await;
    read(&chromium, "guide").await;
    assert_eq!(gw.call(phone, JA_ISSUE).await.final_status, 200);
    let ticket = mailed_link(&gw, phone, "チケット発券", "/t/").await;
    chromium.goto(&ticket).await;
    read(&chromium, "ticket").await;
    let verify = chromium.property("a[href*='/verify/']", "href").await;
    let (_, twin) = gw.get(&ticket).await;
    let reference = twin["tickets"][0]["reference"].as_str().expect("the seat's reference").to_string();
    chromium.goto(&format!("{ticket}/cancel")).await;
    read(&chromium, "cancel-question").await;
    other.goto(&verify).await;
    read(&other, "verify").await;

    // At the venue: the usage call, the admission page, the staff app admitting the seat.
    assert_eq!(gw.call(phone, JA_USAGE).await.final_status, 200);
    let admission = mailed_link(&gw, phone, "入場ページ", "/a/").await;
    chromium.goto(&admission).await;
    read(&chromium, "admission").await;
    let staff =
        gw.app.store.add_staff("haru", "愛子", Some("B"), false, "test", dialticket::store::now()).await.unwrap();
    let door = &other;
    door.goto(&format!("{}/staff/login/{}", gw.base, staff.login_token)).await;
    read(door, "staff-login").await;
    door.click("form button[type=submit]").await;
    door.text_when("[data-live=headline]", |t| !t.is_empty()).await;
    door.attribute_when("[data-live=verdict]", "class", Duration::from_secs(15), |c| c.contains("idle")).await;
    read(door, "staff-ready").await;
    door.keyboard(&format!("{reference}\n")).await;
    door.attribute_when("[data-live=verdict]", "class", Duration::from_secs(15), |c| c == "verdict ok").await;
    let verdict = read(door, "staff-admitted").await;
    assert!(verdict.contains("JST"), "{verdict}");
    chromium.goto(&admission).await;
    let admitted = read(&chromium, "admission-admitted").await;
    assert!(admitted.contains("JST"), "{admitted}");

    // What goes wrong: a page that is not there, a link that was tampered with.
    other.goto(&format!("{}/no-such-page", gw.base)).await;
    read(&other, "not-found").await;
    other.goto(&tamper_signature(&ticket)).await;
    read(&other, "bad-link").await;
    other.quit().await;
    chromium.quit().await;

    // Every mail this caller got, as a carrier's mail shows it (the text part).
    let mails = gw.mails(phone, "");
    assert_eq!(mails.len(), 4, "purchase link, guide, ticket, admission: {:?}", gw.subjects());
    for m in &mails {
        let left = english_in(&m.subject).into_iter().chain(english_in(&m.text)).collect::<Vec<_>>();
        assert!(left.is_empty(), "mail {:?}: English left {left:?}\n{}", m.subject, m.text);
        assert!(!m.text.contains("UTC"), "mail {:?}: {}", m.subject, m.text);
    }
    gw.stop().await;
}

#[test]
fn english_words_are_found_and_codes_are_not() {
    assert_eq!(english_in("チケット Your ticket 2027年3月14日(日) 19:00 JST"), ["Your", "ticket"]);
    assert!(english_in("参照番号 7K2M9QX4RT XBFDV YDAVF https://x.example/t/abc test@example.jp dialticket").is_empty());
    assert_eq!(english_in("VALID ・ ADMITTED"), ["VALID", "ADMITTED"]);
}
