//! The web shop in a real browser at 390×844, in Japanese and in English: event →
//! seat type and quantity → payment → review (total, cancellation deadline on the
//! venue clock, the receiving phone confirmed) → pay → receipt; the convenience
//! store, a declined card, a sold-out event, a phone number that cannot exist.
//! Screenshots: `target/screenshots/shop-<step>-<lang>.png`.

use dialticket::dialplan::Action;
use dialticket::events::CatalogFile;
use dialticket::i18n::Style;

use super::Chromium;
use crate::helpers::*;

const JA: &str = "ja,en;q=0.5";
const APPROVED: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000 0000 0000 0002";

/// What the page shows a person; fails on anything a buyer must never read.
/// (Every page's check: [`Chromium::checked`], the accessibility audit included.)
async fn no_utc(chromium: &Chromium) -> String {
    chromium.checked().await
}

/// English interface words that must not be left on a Japanese page (event
/// names and venues are the organizer's data and may be English).
fn assert_no_english_ui(body: &str) {
    for word in [
        "Seats",
        "Quantity",
        "Payment",
        "Buy",
        "left",
        "Review",
        "Total",
        "Phone",
        "Card number",
        "Cancel",
        "Doors",
        "Contact",
        "All events",
        "Sold out",
        "Thank you",
        "Order reference",
    ] {
        assert!(!body.contains(word), "English '{word}' on a Japanese page: {body}");
    }
}

/// Free seats of `seat_type` now, as the store has them.
async fn left(gw: &TestGateway, event: &str, seat_type: &str) -> i64 {
    let e = gw.app.store.event(event).await.unwrap().unwrap();
    e.seat_types.iter().find(|s| s.code == seat_type).unwrap().available
}

/// Scroll so that `css` is at the bottom of the screen (for a screenshot of it).
async fn scroll_to(chromium: &Chromium, css: &str) {
    let script = "document.querySelector(arguments[0]).scrollIntoView({block: 'end'})";
    chromium
        .call(reqwest::Method::POST, "/execute/sync", Some(serde_json::json!({"script": script, "args": [css]})))
        .await;
}

/// Open the web shop's event page from the list (as a person would).
async fn open_event(chromium: &Chromium, gw: &TestGateway, event: &str, name: &str) {
    chromium.goto(&format!("{}/buy", gw.base)).await;
    chromium.click(&format!("a[href$='/events/{event}']")).await;
    chromium.text_when("h1", |t| t == name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_reader_buys_with_a_card_reviews_and_gets_a_receipt() {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(JA).await;
    chromium.goto(&format!("{}/buy", gw.base)).await;
    chromium.text_when("h1", |t| t == "公演を選ぶ").await;
    assert_eq!(chromium.attribute("html", "lang").await, "ja");
    let list = no_utc(&chromium).await;
    assert!(list.contains("残り30席") && list.contains("¥9,800"), "{list}");
    chromium.screenshot("shop-events-ja").await;

    chromium.click("a[href$='/events/spring-gala-2027']").await;
    chromium.text_when("h1", |t| t == "Spring Gala").await;
    let page = no_utc(&chromium).await;
    assert!(page.contains("JST") && page.contains("開場"), "{page}");
    assert_no_english_ui(&page);
    assert_eq!(chromium.count("#quantity option").await, 10, "at most ten an order");
    chromium.screenshot("shop-event-ja").await;

    chromium.type_into("#recipient", "090-3333-4444").await;
    chromium.type_into("#card_number", APPROVED).await;
    chromium.click("form button[type=submit]").await;

    chromium.text_when("h1", |t| t == "ご注文内容の確認").await;
    let review = no_utc(&chromium).await;
    assert_no_english_ui(&review);
    assert_eq!(chromium.text_when("#holder", |t| !t.is_empty()).await, "090-3333-4444", "read as a Japanese number");
    assert_eq!(chromium.text_when("#total", |t| !t.is_empty()).await, "¥9,800");
    assert!(review.contains("末尾 4242 のカード"), "{review}");
    assert_eq!(left(&gw, "spring-gala-2027", "S").await, 30, "the review holds nothing");
    chromium.screenshot("shop-review-ja").await;

    chromium.type_into("#mail", "hanako@example.jp").await;
    chromium.click("label[for=confirm_phone]").await;
    scroll_to(&chromium, "#buy").await;
    chromium.screenshot("shop-review-buy-ja").await;
    chromium.click("#buy").await;

    chromium.text_when("h1", |t| t == "お支払いを受け付けました").await;
    let receipt = no_utc(&chromium).await;
    assert_no_english_ui(&receipt);
    let issue = gw.app.number_in(Action::Issue, Some("spring-gala-2027"), Some("ja"));
    assert_eq!(issue, "+81300000101", "the Japanese issue number");
    // Told as dialled in Japan; the button dials it.
    assert!(
        receipt.contains("03-0000-0101") && receipt.contains("090-3333-4444") && receipt.contains("¥9,800"),
        "{receipt}"
    );
    assert_eq!(chromium.attribute("a.button", "href").await, format!("tel:{issue}"));
    let reference = chromium.text_when("#reference", |t| t.len() >= 8).await;
    let p = gw.app.store.purchase(&reference).await.unwrap().expect("the order on the receipt");
    assert_eq!(p.phone.as_str(), "+819033334444");
    chromium.screenshot("shop-receipt-ja").await;

    let mail = gw
        .mailbox
        .wait_for(|m| m.envelope_to.iter().any(|t| t == "hanako@example.jp"), MAIL_WAIT)
        .await
        .expect("the receipt mail");
    assert!(mail.subject.starts_with("領収書"), "{}", mail.subject);
    assert!(
        mail.text.contains(&reference) && mail.text.contains("¥9,800") && mail.text.contains("03-0000-0101"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("UTC") && mail.text.contains("JST"), "{}", mail.text);
    assert!(mail.html.unwrap_or_default().contains("name=\"viewport\""));
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_reader_buys_two_balcony_seats() {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start().await;
    open_event(&chromium, &gw, "spring-gala-2027", "Spring Gala").await;
    assert_eq!(chromium.attribute("html", "lang").await, "en");
    no_utc(&chromium).await;
    chromium.screenshot("shop-event-en").await;

    chromium.click("label[for=seat-type-A]").await;
    chromium.click("#quantity option:nth-child(2)").await;
    chromium.type_into("#recipient", "090-3333-4445").await;
    chromium.type_into("#card_number", APPROVED).await;
    chromium.click("form button[type=submit]").await;

    chromium.text_when("h1", |t| t == "Check your order").await;
    no_utc(&chromium).await;
    assert_eq!(chromium.text_when("#total", |t| !t.is_empty()).await, "¥13,000");
    assert!(chromium.text_when("#buy", |t| !t.is_empty()).await.contains("¥13,000"));
    chromium.screenshot("shop-review-en").await;
    chromium.click("label[for=confirm_phone]").await;
    // The same form sent twice more at once (a double tap, a flaky network) before Buy.
    let script = "const done = arguments[arguments.length - 1];
        const f = document.querySelector('#buy').form;
        const post = () => fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))});
        Promise.all([post(), post()]).then(rs => done(rs.map(r => r.status)));";
    let statuses = chromium
        .call(reqwest::Method::POST, "/execute/async", Some(serde_json::json!({"script": script, "args": []})))
        .await;
    assert_eq!(statuses, serde_json::json!([200, 200]));
    scroll_to(&chromium, "#buy").await;
    chromium.screenshot("shop-review-buy-en").await;
    chromium.click("#buy").await;

    chromium.text_when("h1", |t| t == "Payment received").await;
    let receipt = no_utc(&chromium).await;
    let issue = gw.app.number_in(Action::Issue, Some("spring-gala-2027"), Some("en"));
    assert!(receipt.contains(&format!("Call {issue} from 090-3333-4445")), "{receipt}");
    assert!(receipt.contains("A seat (balcony) × 2") && receipt.contains("Seats K-"), "{receipt}");
    assert_eq!(left(&gw, "spring-gala-2027", "A").await, 22, "three posts of one form buy once");
    chromium.screenshot("shop-receipt-en").await;

    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_shows_the_total_and_the_cancellation_deadline_in_jst() {
    let gw = spawn_gateway().await;
    let event = gw.app.store.event("spring-gala-2027").await.unwrap().unwrap();
    let starts = chrono::DateTime::parse_from_rfc3339(&event.starts_at).unwrap().timestamp();
    let deadline = starts - event.cancellable_days * 86400;
    for (lang, chromium) in [("en", Chromium::start().await), ("ja", Chromium::start_in(JA).await)] {
        open_event(&chromium, &gw, "spring-gala-2027", "Spring Gala").await;
        chromium.click("#quantity option:nth-child(3)").await;
        chromium.type_into("#recipient", "03-1234-5678").await;
        chromium.type_into("#card_number", APPROVED).await;
        chromium.click("form button[type=submit]").await;
        chromium.text_when("#total", |t| t == "¥29,400").await;
        let policy = chromium.text_when("#policy", |t| !t.is_empty()).await;
        let want = event.when(lang, deadline, Style::DateTime);
        assert!(want.ends_with("JST"), "{want}");
        assert!(policy.contains(&want), "{lang}: {policy} should name {want}");
        assert_eq!(chromium.text_when("#holder", |t| !t.is_empty()).await, "03-1234-5678");
        // "Change the order" goes back to the form, as it was filled.
        chromium.click("button[value=change]").await;
        chromium.text_when("h1", |t| t == "Spring Gala").await;
        assert_eq!(chromium.property("#recipient", "value").await, "03-1234-5678");
        assert_eq!(chromium.property("#quantity", "value").await, "3");
        chromium.quit().await;
    }
    assert_eq!(left(&gw, "spring-gala-2027", "S").await, 30, "reviewing reserves nothing");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convenience_store_payment_waits_with_a_payment_number_in_japanese() {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(JA).await;
    open_event(&chromium, &gw, "open-rehearsal", "Open Rehearsal (any day)").await;
    chromium.type_into("#recipient", "080-1111-2222").await;
    chromium.click("label[for=pay-konbini]").await;
    assert!(!chromium.displayed("#card_number").await, "only the chosen method's fields show");
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "ご注文内容の確認").await;
    assert!(no_utc(&chromium).await.contains("コンビニ払い"));
    chromium.click("label[for=confirm_phone]").await;
    chromium.click("#buy").await;

    chromium.text_when("h1", |t| t == "コンビニでお支払いください").await;
    let state = chromium.text_when(".state", |t| t.contains("払込番号")).await;
    assert!(state.chars().filter(char::is_ascii_digit).count() == 12, "{state}");
    let page = no_utc(&chromium).await;
    assert!(page.contains("JST") && page.contains("まで確保"), "{page}");
    assert_no_english_ui(&page);
    chromium.screenshot("shop-konbini-ja").await;
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_says_so_and_offers_to_try_again() {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start().await;
    open_event(&chromium, &gw, "open-rehearsal", "Open Rehearsal (any day)").await;
    chromium.type_into("#recipient", "+44 7700 900123").await;
    chromium.type_into("#card_number", DECLINED).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "Check your order").await;
    assert_eq!(
        chromium.text_when("#holder", |t| !t.is_empty()).await,
        "+447700900123",
        "a foreign number stays international"
    );
    chromium.click("label[for=confirm_phone]").await;
    chromium.click("#buy").await;
    chromium.text_when("h1", |t| t == "Payment declined").await;
    chromium.text_when(".state", |t| t.contains("did not approve")).await;
    assert_eq!(left(&gw, "open-rehearsal", "GA").await, 200, "the seat was released");
    chromium.screenshot("shop-declined-en").await;
    chromium.click("a.button").await;
    chromium.text_when("h1", |t| t == "Open Rehearsal (any day)").await;
    chromium.quit().await;
    gw.stop().await;
}

/// Two dates of one concert; the first has one seat.
const TWO_DATES: &str = r#"
[[organizers]]
id = "holonic-hall"
name = "Holonic Hall Ltd."

[[events]]
id = "chamber-night-1"
organizer = "holonic-hall"
genre = "Chamber"
name = "Chamber Night"
region = "Tokyo"
venue = "Holonic Hall Studio, Tokyo"
starts_at = "today+40d 19:00 +09:00"
doors_open = "today+40d 18:30 +09:00"
curtain = "today+40d 19:00 +09:00"
sale_start = "today-1d 10:00 +09:00"
sale_end = "today+40d 17:00 +09:00"
contact = "studio@holonic-hall.example"
currency = "JPY"
time_zone = "Asia/Tokyo"
[[events.seat_types]]
code = "GA"
name = "General admission"
price = 3000
count = 1

[[events]]
id = "chamber-night-2"
organizer = "holonic-hall"
genre = "Chamber"
name = "Chamber Night"
region = "Tokyo"
venue = "Holonic Hall Studio, Tokyo"
starts_at = "today+47d 19:00 +09:00"
doors_open = "today+47d 18:30 +09:00"
curtain = "today+47d 19:00 +09:00"
sale_start = "today-1d 10:00 +09:00"
sale_end = "today+47d 17:00 +09:00"
contact = "studio@holonic-hall.example"
currency = "JPY"
time_zone = "Asia/Tokyo"
[[events.seat_types]]
code = "GA"
name = "General admission"
price = 3000
count = 50
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sold_out_event_shows_no_buy_form_and_its_other_date() {
    let gw = spawn_gateway().await;
    let catalog = CatalogFile::parse(TWO_DATES, chrono::Utc::now()).expect("catalog");
    gw.app.store.load_catalog(&catalog).await.expect("loaded");
    // Quantity offers what is left: one seat, one choice.
    let chromium = Chromium::start().await;
    chromium.goto(&format!("{}/buy/events/chamber-night-1", gw.base)).await;
    chromium.text_when("h1", |t| t == "Chamber Night").await;
    assert_eq!(chromium.count("#quantity option").await, 1, "one seat left, one to choose");
    // An event on several dates offers the others, on sale or not.
    let others = chromium.text_when("nav[aria-labelledby=other-dates]", |t| t.contains("JST")).await;
    assert_eq!(
        chromium.count("nav[aria-labelledby=other-dates] a[href='/buy/events/chamber-night-2']").await,
        1,
        "{others}"
    );
    no_utc(&chromium).await;
    chromium.quit().await;
    let (status, order) =
        gw.order_form("/buy", "chamber-night-1", &[("recipient", "+819055556666"), ("card_number", APPROVED)]).await;
    assert_eq!(status, 200, "{order}");

    for (lang, chromium) in [("en", Chromium::start().await), ("ja", Chromium::start_in(JA).await)] {
        chromium.goto(&format!("{}/buy", gw.base)).await;
        let list = chromium.text_when("body", |t| t.contains("Chamber Night")).await;
        assert!(list.contains(if lang == "en" { "Sold out" } else { "売り切れ" }), "{list}");
        chromium.goto(&format!("{}/buy/events/chamber-night-1", gw.base)).await;
        chromium.text_when("#sold-out", |t| t == if lang == "en" { "Sold out" } else { "売り切れ" }).await;
        assert_eq!(chromium.count("form").await, 0, "no Buy form");
        assert_eq!(chromium.count("button").await, 0);
        assert_eq!(chromium.count("a[href='/buy/events/chamber-night-2']").await, 1, "the other date");
        no_utc(&chromium).await;
        chromium.screenshot(&format!("shop-soldout-{lang}")).await;
        chromium.quit().await;
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impossible_phone_number_is_refused_with_the_form_kept() {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(JA).await;
    open_event(&chromium, &gw, "spring-gala-2027", "Spring Gala").await;
    chromium.click("label[for=seat-type-A]").await;
    chromium.click("#quantity option:nth-child(2)").await;
    chromium.type_into("#recipient", "090-3333-444").await;
    chromium.type_into("#card_number", APPROVED).await;
    chromium.click("form button[type=submit]").await;

    let error = chromium.text_when("#recipient-error", |t| !t.is_empty()).await;
    assert!(error.contains("090-3333-444") && error.contains("090-1234-5678") && error.contains("日本"), "{error}");
    assert_eq!(chromium.text_when("h1", |t| !t.is_empty()).await, "Spring Gala", "the form, not an error page");
    assert_eq!(chromium.property("#recipient", "value").await, "090-3333-444");
    assert_eq!(chromium.property("#card_number", "value").await, APPROVED);
    assert_eq!(chromium.property("#quantity", "value").await, "2");
    assert_eq!(chromium.attribute("#seat-type-A", "checked").await, "true");
    assert_no_english_ui(&no_utc(&chromium).await);
    assert_eq!(left(&gw, "spring-gala-2027", "A").await, 24, "nothing reserved");
    chromium.screenshot("shop-badphone-ja").await;
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_ticked_on_the_seat_map_are_the_seats_bought() {
    let gw = spawn_gateway().await;
    for (lang, chromium) in [("ja", Chromium::start_in(JA).await), ("en", Chromium::start().await)] {
        open_event(&chromium, &gw, "spring-gala-2027", "Spring Gala").await;
        assert_eq!(chromium.count("script").await, 0, "no JavaScript");
        chromium.click("details.seatmap summary").await;
        let (first, second) = if lang == "ja" { ("B-5", "B-6") } else { ("C-1", "C-2") };
        assert!(chromium.displayed(&format!("label[for=seat-S-{first}]")).await);
        let name = chromium.attribute(&format!("#seat-S-{first}"), "aria-label").await;
        assert!(name.contains(first) && name.contains("¥9,800"), "each seat is named: {name}");
        chromium.click(&format!("label[for=seat-S-{first}]")).await;
        chromium.click(&format!("label[for=seat-S-{second}]")).await;
        scroll_to(&chromium, "details.seatmap").await;
        chromium.screenshot(&format!("shop-seatmap-{lang}")).await;
        chromium.type_into("#recipient", "090-3333-4446").await;
        chromium.type_into("#card_number", APPROVED).await;
        chromium.click("form button[type=submit]").await;

        // The seat type and quantity follow the seats ticked.
        chromium.text_when("#total", |t| t == "¥19,600").await;
        let review = no_utc(&chromium).await;
        assert!(review.contains(&format!("{first}, {second}")), "{review}");
        chromium.click("label[for=confirm_phone]").await;
        chromium.click("#buy").await;
        chromium.text_when("#reference", |t| !t.is_empty()).await;
        let receipt = no_utc(&chromium).await;
        assert!(receipt.contains(&format!("{first}, {second}")), "{receipt}");
    }
    // Sold now: shown taken, and cannot be ticked.
    let chromium = Chromium::start().await;
    open_event(&chromium, &gw, "spring-gala-2027", "Spring Gala").await;
    assert_eq!(chromium.attribute("#seat-S-B-5", "disabled").await, "true");
    assert!(chromium.attribute("#seat-S-B-5", "aria-label").await.contains("taken"));
    assert_eq!(left(&gw, "spring-gala-2027", "S").await, 26);
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_challenge_in_japanese_ends_on_the_receipt() {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(JA).await;
    open_event(&chromium, &gw, "open-rehearsal", "Open Rehearsal (any day)").await;
    chromium.type_into("#recipient", "070-1234-5678").await;
    chromium.type_into("#card_number", "4000 0027 6000 3184").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "ご注文内容の確認").await;
    chromium.click("label[for=confirm_phone]").await;
    chromium.click("#buy").await;

    chromium.text_when("h1", |t| t == "カードの本人確認").await;
    let page = no_utc(&chromium).await;
    assert!(page.contains("JST") && page.contains("¥1,000"), "{page}");
    assert_no_english_ui(&page);
    chromium.type_into("#code", "000000").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when(".error", |t| t.contains("確認コードが正しくありません")).await;
    chromium.screenshot("shop-challenge-ja").await;
    chromium.type_into("#code", "123456").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "お支払いを受け付けました").await;
    assert!(no_utc(&chromium).await.contains("070-1234-5678"));
    chromium.quit().await;
    gw.stop().await;
}

/// A caller who dialled the Japanese purchase number opens the mailed link in a
/// browser set to English: the shop speaks the link's language (Japanese), the
/// ticket stays on the calling phone unless another is named, and the review
/// shows that phone as dialled in Japan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_link_from_the_japanese_number_opens_the_shop_in_japanese() {
    let gw = spawn_gateway().await;
    let phone = "+819011110040";
    assert_eq!(gw.call(phone, "+81300000100").await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, "購入用リンク").await, "/p/");

    let chromium = Chromium::start().await;
    chromium.goto(&shop).await;
    chromium.text_when("h1", |t| t == "公演を選ぶ").await;
    chromium.click("a[href$='/events/spring-gala-2027']").await;
    chromium.text_when("h1", |t| t == "Spring Gala").await;
    let page = no_utc(&chromium).await;
    assert!(page.contains("空欄のままなら、チケットは 090-1111-0040 に届きます"), "{page}");
    chromium.type_into("#card_number", APPROVED).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "ご注文内容の確認").await;
    assert_eq!(chromium.text_when("#holder", |t| !t.is_empty()).await, "090-1111-0040");
    assert_eq!(chromium.count("#mail").await, 0, "mail goes where the caller's mail goes");
    chromium.click("label[for=confirm_phone]").await;
    chromium.click("#buy").await;
    chromium.text_when("h1", |t| t == "お支払いを受け付けました").await;
    assert!(no_utc(&chromium).await.contains("03-0000-0101"));
    gw.mail(phone, "お支払い").await;
    chromium.quit().await;
    gw.stop().await;
}
