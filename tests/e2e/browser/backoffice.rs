//! The back office in a real browser, in Japanese and English, on a phone's
//! screen (390×844) and a desktop's (1280×800): an operator made with the CLI's
//! function sets its password with its one-time link, makes an organizer
//! account; the organizer sets its password, signs in, sees its event's seats,
//! and the sold count goes up when a caller buys. A second organizer guessing
//! the first one's URLs gets 403; a form without its CSRF token is refused.

use super::Chromium;
use crate::backoffice::{load_other_organizer, operator_link};
use crate::helpers::*;

/// What each language's pages say, for the test to find.
struct Words {
    lang: &'static str,
    accept: &'static str,
    signed_in_operator: &'static str,
    signed_in_organizer: &'static str,
    made: &'static str,
    login_heading: &'static str,
    forbidden: &'static str,
    bad_form: &'static str,
    used: &'static str,
}

const ENGLISH: Words = Words {
    lang: "en",
    accept: "en-GB,en",
    signed_in_operator: "Signed in as ops (operator)",
    signed_in_organizer: "Signed in as holonic (organizer)",
    made: "Account holonic was made for holonic-hall",
    login_heading: "Sign in",
    forbidden: "Not yours to see",
    bad_form: "This form has expired",
    used: "already been used",
};

const JAPANESE: Words = Words {
    lang: "ja",
    accept: "ja,en;q=0.5",
    signed_in_operator: "ops（運営者）でログイン中",
    signed_in_organizer: "holonic（主催者）でログイン中",
    made: "holonic-hall のアカウント holonic を作成しました",
    login_heading: "ログイン",
    forbidden: "閲覧できません",
    bad_form: "このフォームは有効期限切れです",
    used: "使用済み",
};

/// Open a one-time link and set `password`; the back office's start page follows.
/// The page checked as every page test checks it and saved as `backoffice-<page>-<lang>-<width>`
/// ([`Chromium::looked_at_width`]).
async fn looked_at(chromium: &Chromium, w: &Words, page: &str, width: u32) -> String {
    let shot = format!("backoffice-{page}-{}-{width}", w.lang);
    chromium.looked_at_width(w.lang, &shot, width, &["Other Night", "Other Hall", "Osaka", "Free seating"]).await
}

async fn set_password(chromium: &Chromium, w: &Words, link: &str, password: &str, shot: Option<&str>) {
    chromium.goto(link).await;
    chromium.text_when("h1", |t| !t.is_empty()).await;
    if let Some(name) = shot {
        looked_at(chromium, w, name, 390).await;
    }
    chromium.type_into("#password", password).await;
    chromium.type_into("#again", password).await;
    chromium.click("form[action^='/admin/setup/'] button[type=submit]").await;
    chromium.text_when("[data-me]", |t| !t.is_empty()).await;
}

async fn log_out(chromium: &Chromium, w: &Words) {
    chromium.click("form[action='/admin/logout'] button").await;
    chromium.text_when("h1", |t| t == w.login_heading).await;
}

/// The sold count of `event`'s seat type `code` on the page.
async fn sold(chromium: &Chromium, event: &str, code: &str) -> String {
    let css = format!("[data-event='{event}'] tr[data-seat-type='{code}'] [data-count='sold']");
    chromium.text_when(&css, |t| !t.is_empty()).await
}

async fn organizer_journey(w: &Words) {
    let gw = spawn_gateway().await;
    let chromium = Chromium::start_in(w.accept).await;

    // The operator, as `dialticket admin add-operator ops` makes it.
    let link = operator_link(&gw, "ops").await;
    set_password(&chromium, w, &link, "operator password 1", Some("setup")).await;
    chromium.text_when("[data-me]", |t| t.contains(w.signed_in_operator)).await;
    let text = looked_at(&chromium, w, "operator-home", 390).await;
    assert!(text.contains("Spring Gala") && text.contains("Holonic Hall"), "{text}");
    looked_at(&chromium, w, "operator-home", 1280).await;

    // It makes the organizer's account from the accounts page.
    chromium.click("a[href='/admin/accounts']").await;
    chromium.text_when("h1", |t| !t.is_empty()).await;
    chromium.type_into("#name", "holonic").await;
    chromium.click("#organizer option[value='holonic-hall']").await;
    chromium.click("form[action='/admin/accounts'] button[type=submit]").await;
    chromium.text_when("[data-made]", |t| t.contains(w.made)).await;
    let organizer_link = chromium.property("#made-link", "value").await;
    assert!(organizer_link.starts_with(&format!("{}/admin/setup/", gw.admin)), "{organizer_link}");
    looked_at(&chromium, w, "accounts", 390).await;
    looked_at(&chromium, w, "accounts", 1280).await;

    // A form sent without its CSRF token is refused, and changes nothing.
    chromium.type_into("#name", "no-token").await;
    chromium.click("#organizer option[value='holonic-hall']").await;
    chromium
        .execute("document.querySelector(\"form[action='/admin/accounts'] input[name=csrf]\").remove(); return null;")
        .await;
    chromium.click("form[action='/admin/accounts'] button[type=submit]").await;
    chromium.text_when("h1", |t| t == w.bad_form).await;
    looked_at(&chromium, w, "refused-form", 390).await;
    assert!(gw.app.store.account_by_name("no-token").await.expect("read").is_none());
    chromium.goto(&format!("{}/admin/", gw.admin)).await;
    log_out(&chromium, w).await;

    // The organizer sets its password, signs out and in again.
    set_password(&chromium, w, &organizer_link, "holonic password", None).await;
    chromium.text_when("[data-me]", |t| t.contains(w.signed_in_organizer)).await;
    log_out(&chromium, w).await;
    looked_at(&chromium, w, "login", 390).await;
    chromium.type_into("#name", "holonic").await;
    chromium.type_into("#password", "holonic password").await;
    chromium.click("form[action='/admin/login'] button[type=submit]").await;
    chromium.text_when("[data-me]", |t| t.contains(w.signed_in_organizer)).await;
    // The link worked once.
    chromium.goto(&organizer_link).await;
    chromium.text_when(".error", |t| t.contains(w.used)).await;
    looked_at(&chromium, w, "used-link", 390).await;

    // Its events with their seats; a caller buys one S seat and the page shows it sold.
    chromium.goto(&format!("{}/admin/", gw.admin)).await;
    let before: i64 = sold(&chromium, "spring-gala-2027", "S").await.parse().expect("a count");
    let starts = chromium.text_when("[data-event='spring-gala-2027'] [data-starts]", |t| !t.is_empty()).await;
    assert!(starts.contains("JST") && starts.contains("19:00"), "on the venue's clock: {starts}");
    let number = chromium.text_when("[data-event='spring-gala-2027'] [data-number]", |t| !t.is_empty()).await;
    let expected = if w.lang == "ja" { "+81300000100" } else { PURCHASE };
    assert_eq!(number, expected, "the number that sells it, in the reader's language");
    gw.paid_purchase("+819012340001", "spring-gala-2027").await;
    chromium.reload().await;
    let after = (before + 1).to_string();
    let css = "[data-event='spring-gala-2027'] tr[data-seat-type='S'] [data-count='sold']";
    chromium.text_when(css, |t| t == after).await;
    let revenue = chromium.text_when("[data-event='spring-gala-2027'] [data-revenue]", |t| !t.is_empty()).await;
    assert_eq!(revenue, "¥9,800");
    looked_at(&chromium, w, "organizer-home", 390).await;
    chromium.goto(&format!("{}/admin/events/spring-gala-2027", gw.admin)).await;
    looked_at(&chromium, w, "event", 390).await;

    // The same pages at a desktop's width.
    chromium.goto(&format!("{}/admin/", gw.admin)).await;
    assert_eq!(sold(&chromium, "spring-gala-2027", "S").await, after);
    looked_at(&chromium, w, "organizer-home", 1280).await;
    chromium.goto(&format!("{}/admin/events/spring-gala-2027", gw.admin)).await;
    looked_at(&chromium, w, "event", 1280).await;
    chromium.goto(&format!("{}/admin/password", gw.admin)).await;
    looked_at(&chromium, w, "password", 1280).await;
    log_out(&chromium, w).await;
    looked_at(&chromium, w, "login", 1280).await;

    // A second organizer of the catalog guesses the first one's addresses.
    load_other_organizer(&gw).await;
    let role = dialticket::accounts::Role::Organizer("other-hall".into());
    let now = dialticket::store::now();
    let other = gw.app.store.add_account("other", &role, "test", now).await.expect("made").expect("new");
    set_password(
        &chromium,
        w,
        &dialticket::accounts::setup_link(&gw.admin, &other.setup_token),
        "other hall password",
        None,
    )
    .await;
    let text = looked_at(&chromium, w, "other-home", 1280).await;
    assert!(text.contains("Other Night") && !text.contains("Spring Gala"), "{text}");
    for event in ["spring-gala-2027", "open-rehearsal"] {
        chromium.goto(&format!("{}/admin/events/{event}", gw.admin)).await;
        chromium.text_when("h1", |t| t == w.forbidden).await;
        let text = chromium.visible_text().await;
        assert!(!text.contains("Spring Gala") && !text.contains("Open Rehearsal"), "{text}");
        chromium.goto(&format!("{}/admin/events/{event}/sales", gw.admin)).await;
        chromium.text_when("body", |t| t.contains("\"status\":403")).await;
    }
    chromium.goto(&format!("{}/admin/events/spring-gala-2027", gw.admin)).await;
    chromium.text_when("h1", |t| t == w.forbidden).await;
    looked_at(&chromium, w, "forbidden", 1280).await;
    chromium.reload().await;
    chromium.text_when("h1", |t| t == w.forbidden).await;
    looked_at(&chromium, w, "forbidden", 390).await;

    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn the_back_office_in_english_at_phone_and_desktop_width() {
    organizer_journey(&ENGLISH).await;
}

#[tokio::test]
async fn the_back_office_in_japanese_at_phone_and_desktop_width() {
    organizer_journey(&JAPANESE).await;
}
