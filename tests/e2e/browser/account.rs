//! The account pages, the staff app, the home page and the mails they send, in
//! Japanese and English, on a phone's screen.

use super::Chromium;
use crate::helpers::*;

/// The audit finds what it is for: a page with an unlabelled field, pale text
/// and no `lang` gets one problem for each (so an empty audit means something).
#[tokio::test]
async fn the_audit_finds_a_missing_lang_an_unlabelled_field_and_pale_text() {
    let chromium = Chromium::start().await;
    let page = "<html><body style='background:#fff'><p style='color:#aaa'>pale</p>\
                <p style='color:#222;background:rgba(0,0,0,.8)'>dark on dark</p>\
                <input name=q><label>Name <input name=n></label><input type=hidden name=h>\
                <label for=x>X</label><select id=x></select></body></html>";
    chromium.goto(&format!("data:text/html,{}", urlencode(page))).await;
    let problems = chromium.audit().await;
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("no lang"), "{problems:#?}");
    assert!(problems[1].contains("input[name=q]"), "{problems:#?}");
    assert!(problems.iter().any(|p| p.contains("\"pale\"")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.contains("\"dark on dark\"")), "{problems:#?}");
    assert!(chromium.visible_text().await.contains("pale"));
    chromium.quit().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page as a check ([`Chromium::looked_at`]) in the language it should be in.
async fn looked_at(chromium: &Chromium, name: &str, lang: &str) -> String {
    let text = chromium.looked_at(name).await;
    assert_eq!(chromium.attribute("html", "lang").await, lang, "{name}");
    text
}

/// The start page speaks the reader's language and lists the numbers of that
/// language first: a Japanese reader is told the Tokyo numbers before the UK
/// ones, an English reader the other way round.
#[tokio::test]
async fn the_home_page_in_japanese_and_english_lists_the_readers_numbers_first() {
    let gw = spawn_gateway().await;
    for (lang, accept, first, words, not) in [
        ("ja", "ja,en;q=0.5", "+81300000100", "お電話いただく番号", "Buy tickets"),
        ("en", "en-GB,en", PURCHASE, "Numbers to call", "お電話"),
    ] {
        let chromium = Chromium::start_in(accept).await;
        chromium.goto(&format!("{}/", gw.base)).await;
        chromium.text_when("h2", |t| t == words).await;
        assert_eq!(chromium.attribute("a.tel", "href").await, format!("tel:{first}"), "{lang}");
        let text = looked_at(&chromium, &format!("account-home-{lang}"), lang).await;
        assert!(!text.contains(not), "{lang}: {text}");
        // Both languages' numbers are there, each saying which language it speaks.
        assert!(text.contains("+81300000101") && text.contains(ISSUE), "{text}");
        chromium.quit().await;
    }
    gw.stop().await;
}

/// What the account pages say in one language, for [`account_pages_in`].
struct AccountWords {
    lang: &'static str,
    /// The purchase number dialled (its dialplan language mints the link's).
    number: &'static str,
    /// The browser's Accept-Language: the other language, so the link's wins.
    reader: &'static str,
    link_subject: &'static str,
    mail_title: &'static str,
    sent: &'static str,
    confirm_question: &'static str,
    changed: &'static str,
    profile_title: &'static str,
    saved: &'static str,
    bad_address: &'static str,
    bad_date: &'static str,
}

const JA: AccountWords = AccountWords {
    lang: "ja",
    number: "+81300000100",
    reader: "en-GB,en",
    link_subject: "購入用リンク",
    mail_title: "メールの送信先",
    sent: "確認用リンクを送りました",
    confirm_question: "あてのメールを hanako@example.jp に送りますか？",
    changed: "メールアドレスを変更しました",
    profile_title: "お客様情報",
    saved: "保存しました",
    bad_address: "はメールアドレスではありません",
    bad_date: "生年月日「1990-02-30」は日付ではありません",
};

const EN: AccountWords = AccountWords {
    lang: "en",
    number: PURCHASE,
    reader: "ja,en;q=0.5",
    link_subject: "purchase link",
    mail_title: "Where your mail goes",
    sent: "We sent a confirmation link to hanako@example.jp",
    confirm_question: "to hanako@example.jp?",
    changed: "Mail address changed",
    profile_title: "Your details",
    saved: "Saved",
    bad_address: "is not a mail address",
    bad_date: "The birth date \"1990-02-30\" is not a date",
};

/// A caller moves their mail to another address and names themself, in the
/// language of the number they dialled (a reader of the other language opens
/// the link): the mail page, the refused address kept in the form, the
/// confirmation sent, the confirmation page and its answer, the profile saved.
async fn account_pages_in(w: &AccountWords, phone: &str) {
    let gw = spawn_gateway().await;
    assert_eq!(gw.call(phone, w.number).await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, w.link_subject).await, "/p/");
    let lang = w.lang;

    // A refused address: the page again in the link's language, the address kept.
    let (status, page) = gw.post(&format!("{shop}/mail"), &[("address", "hanako at example.jp")]).await;
    assert_eq!(status, 422, "{page}");
    assert!(page["error"].as_str().unwrap_or_default().contains(w.bad_address), "{page}");
    assert_eq!(page["typed"], "hanako at example.jp", "{page}");

    let chromium = Chromium::start_in(w.reader).await;
    chromium.goto(&format!("{shop}/mail")).await;
    chromium.text_when("h1", |t| t == w.mail_title).await;
    looked_at(&chromium, &format!("account-mail-{lang}"), lang).await;
    chromium.type_into("input[name=address]", "hanako@example.jp").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("body", |t| t.contains(w.sent)).await;
    looked_at(&chromium, &format!("account-mail-sent-{lang}"), lang).await;

    let confirm = gw
        .mailbox
        .wait_for(|m| m.envelope_to.iter().any(|t| t == "hanako@example.jp"), MAIL_WAIT)
        .await
        .expect("the confirmation mail");
    chromium.goto(&gw.link(&confirm, "/m/")).await;
    chromium.text_when("body", |t| t.contains(w.confirm_question)).await;
    looked_at(&chromium, &format!("account-mail-confirm-{lang}"), lang).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == w.changed).await;
    looked_at(&chromium, &format!("account-mail-changed-{lang}"), lang).await;
    let user = gw.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap()).await.unwrap();
    assert_eq!(user.and_then(|u| u.mail_address).as_deref(), Some("hanako@example.jp"));

    // An impossible birth date: nothing saved, the form back as typed, why in the page's language.
    let typed = [("name", "山田 花子"), ("postal_address", "東京都"), ("birth_date", "1990-02-30")];
    let (status, page) = gw.post(&format!("{shop}/profile"), &typed).await;
    assert_eq!(status, 422, "{page}");
    assert!(page["error"].as_str().unwrap_or_default().contains(w.bad_date), "{page}");
    assert_eq!((&page["profile"]["name"], &page["profile"]["postal_address"]), (&"山田 花子".into(), &"東京都".into()));
    let (_, page) = gw.get(&format!("{shop}/profile")).await;
    assert_eq!(page["profile"]["name"], serde_json::Value::Null, "nothing saved: {page}");

    chromium.goto(&format!("{shop}/profile")).await;
    chromium.text_when("h1", |t| t == w.profile_title).await;
    // A phone without a date picker sends what was typed: refused on the page
    // itself, in its language, the form kept as typed.
    chromium.type_into("input[name=name]", "山田 花子").await;
    chromium.execute("const d = document.getElementById('birth_date'); d.type = 'text'; d.value = '1990-02-30';").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[role=alert]", |t| t.contains(w.bad_date)).await;
    assert_eq!(chromium.property("input[name=name]", "value").await, "山田 花子");
    assert_eq!(
        chromium.property("input[name=birth_date]", "value").await,
        "",
        "an impossible date cannot stay in a date field"
    );
    looked_at(&chromium, &format!("account-profile-refused-{lang}"), lang).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when(".state", |t| t == w.saved).await;
    assert_eq!(chromium.property("input[name=name]", "value").await, "山田 花子");
    looked_at(&chromium, &format!("account-profile-{lang}"), lang).await;
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test]
async fn the_mail_address_and_profile_pages_in_japanese_from_a_japanese_link() {
    account_pages_in(&JA, "+819011110201").await;
}

#[tokio::test]
async fn the_mail_address_and_profile_pages_in_english_from_an_english_link() {
    account_pages_in(&EN, "+819011110202").await;
}

/// A Japanese staff member (the browser's language) checks a ticket in: the
/// app, its verdicts and counters in Japanese (the words staff.js writes come
/// from the page), the time of the first admission on the venue's clock (JST).
#[tokio::test]
async fn the_staff_app_in_japanese_scans_a_ticket() {
    let gw = spawn_gateway().await;
    let phone = "+819011110203";
    gw.admission_link(phone, "open-rehearsal").await;
    let ticket = gw.link(&gw.mail(phone, "Your ticket").await, "/t/");
    let (_, page) = gw.get(&ticket).await;
    let reference = page["tickets"][0]["reference"].as_str().expect("a reference").to_string();
    let seat = page["tickets"][0]["seat"].as_str().expect("a seat").to_string();
    let made = gw
        .app
        .store
        .add_staff("open-rehearsal", "Aiko", Some("B"), false, "test", dialticket::store::now())
        .await
        .unwrap();

    let chromium = Chromium::start_in("ja,en;q=0.5").await;
    // Not signed in: the refusal says so, and what to do, in Japanese.
    chromium.goto(&format!("{}/staff", gw.base)).await;
    chromium.text_when("h1", |t| t == "スタッフ専用").await;
    chromium.text_when("[role=alert]", |t| t.contains("ログイン用リンクを開いてください")).await;
    looked_at(&chromium, "staff-not-signed-in-ja", "ja").await;
    chromium.goto(&format!("{}/staff/login/{}", gw.base, made.login_token)).await;
    chromium.text_when("form button[type=submit]", |t| t == "ログイン").await;
    looked_at(&chromium, "staff-login-ja", "ja").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[data-live=headline]", |t| t == "準備完了").await;
    assert_eq!(
        chromium.text_when("label[for=code]", |_| true).await,
        "QR コードを読み取るか、チケットの照会番号を入力"
    );
    looked_at(&chromium, "staff-ready-ja", "ja").await;

    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "入場OK").await;
    assert_eq!(chromium.text_when("[data-live=seat]", |_| true).await, format!("座席 {seat}・Bゲート"));
    assert_eq!(chromium.text_when("[data-live=reason]", |_| true).await, "入場できます。お通しください。");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("入場 1 /") && t.contains("B ゲート：1")).await;
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict ok");
    looked_at(&chromium, "staff-admit-ja", "ja").await;

    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "入場済み").await;
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.starts_with("入場 ") && when.contains("年") && when.ends_with(" JST、B ゲート、担当 Aiko"), "{when}");
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict bad");
    looked_at(&chromium, "staff-already-ja", "ja").await;

    chromium.keyboard("NOT-A-CODE\n").await;
    chromium.text_when("[data-live=headline]", |t| t == "無効").await;
    looked_at(&chromium, "staff-invalid-ja", "ja").await;

    // Without the script the form posts and the verdict comes back as the page
    // (`form.submit()` skips the script's handler), in the same words.
    chromium.type_into("input[name=code]", &reference).await;
    chromium.execute("document.querySelector('[data-live=scan-form]').submit();").await;
    chromium.text_when("[data-live=headline]", |t| t == "入場済み").await;
    assert_eq!(chromium.current_url().await, format!("{}/staff/scan", gw.base), "the form's own answer");
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.ends_with(" JST、B ゲート、担当 Aiko"), "{when}");
    assert_eq!(chromium.text_when("[data-live=seat]", |_| true).await, format!("座席 {seat}・Bゲート"));
    looked_at(&chromium, "staff-already-nojs-ja", "ja").await;

    // The switch: the app, and the verdicts the script draws, in English.
    chromium.goto(&format!("{}/staff", gw.base)).await;
    chromium.click("a[hreflang=en]").await;
    chromium.text_when("[data-live=headline]", |t| t == "Ready").await;
    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "ALREADY ADMITTED").await;
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.starts_with("Admitted ") && when.ends_with(" JST at gate B by Aiko"), "{when}");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("Admitted 1 of") && t.contains("gate B: 1")).await;
    looked_at(&chromium, "staff-already-switched-en", "en").await;
    chromium.quit().await;
    gw.stop().await;
}

/// The mails of the account pages and the refusals, in one language: each
/// caused as a caller would (calls and the pages' forms) on a gateway whose
/// mail stays in its local outbox, then opened as `/outbox/{id}/html` on the
/// phone's screen.
struct MailRun {
    lang: &'static str,
    /// The browser's Accept-Language (the outbox pages speak it; each mail its own).
    reader: &'static str,
    outbox_title: &'static str,
    purchase: &'static str,
    issue: &'static str,
    phone: &'static str,
    /// Words of the held-until line of the convenience-store instructions.
    held: &'static str,
    konbini: &'static str,
    declined: &'static str,
    refused: &'static str,
    confirm_button: &'static str,
}

async fn mails_in(run: &MailRun) {
    let gw = spawn_gateway_with(|c| c.smtp_url = None).await;
    assert!(gw.app.local_outbox);
    let phone = run.phone;
    assert_eq!(gw.call(phone, run.purchase).await.final_status, 200);
    // The refusal: nothing paid yet, so the issue number has nothing to send.
    gw.call(phone, run.issue).await;
    let shop = outbox_link(&gw, "purchase-link", "/p/").await;
    let declined = [("payment_method", "card"), ("card_number", "4000000000000002")];
    let (status, page) = gw.order_form(&shop, "spring-gala-2027", &declined).await;
    assert_eq!(status, 402, "{page}");
    let (status, page) = gw.order_form(&shop, "spring-gala-2027", &[("payment_method", "konbini")]).await;
    assert!(status < 300, "{page}");
    let (status, page) =
        gw.order_form(&shop, "spring-gala-2027", &[("payment_method", "carrier"), ("billing_phone", phone)]).await;
    assert!(status < 300, "{page}");
    let (status, page) = gw.post(&format!("{shop}/mail"), &[("address", "hanako@example.jp")]).await;
    assert_eq!(status, 202, "{page}");
    let confirm = outbox_link(&gw, "mail-confirm", "/m/").await;
    let (status, page) = gw.post(&confirm, &[]).await;
    assert_eq!(status, 200, "{page}");

    let chromium = Chromium::start_in(run.reader).await;
    let outbox = gw.app.store.outbox(100).await.expect("outbox");
    let mut seen = vec![];
    for mail in outbox.iter().rev() {
        let name = mail.template.as_str();
        let (text, _) = gw.app.templates.bodies(mail).expect("bodies");
        assert!(!text.contains("UTC"), "{name}: {text}");
        chromium.goto(&gw.admin_url(&format!("/outbox/{}/html", mail.id))).await;
        chromium.text_when("body", |t| !t.is_empty()).await;
        assert_eq!(chromium.count("meta[name=viewport]").await, 1, "{name}");
        let shot = match name {
            "payment-instructions" if !text.contains(run.konbini) => "payment-instructions-carrier".to_string(),
            _ => name.to_string(),
        };
        let html = looked_at(&chromium, &format!("mail-{shot}-{}", run.lang), run.lang).await;
        match shot.as_str() {
            "payment-instructions" => {
                assert!(html.contains(run.held) && html.contains("JST") && html.contains(run.konbini), "{html}");
                assert!(text.contains(run.held) && text.contains("JST") && text.contains(run.konbini), "{text}");
            }
            "payment-declined" => assert!(html.contains(run.declined) && text.contains(run.declined), "{text}"),
            "refusal" => assert!(html.contains(run.refused) && text.contains(run.refused), "{text}"),
            "mail-confirm" => {
                assert_eq!(chromium.text_when("a", |_| true).await, run.confirm_button);
                assert!(text.contains(&confirm), "the text part has the link: {text}");
            }
            _ => {}
        }
        seen.push(shot);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "mail-changed",
            "mail-confirm",
            "payment-declined",
            "payment-instructions",
            "payment-instructions-carrier",
            "purchase-link",
            "refusal"
        ],
        "every mail of the run was looked at"
    );
    // The outbox itself, and a mail's text part as the outbox shows it.
    chromium.goto(&gw.admin_url("/outbox")).await;
    chromium.text_when("h1", |t| t == run.outbox_title).await;
    looked_at(&chromium, &format!("account-outbox-{}", run.lang), run.lang).await;
    chromium.click("td a").await;
    chromium.text_when("pre", |t| t.contains(&gw.base)).await;
    looked_at(&chromium, &format!("account-outbox-mail-{}", run.lang), run.lang).await;
    chromium.quit().await;
    gw.stop().await;
}

/// The link under `prefix` in the newest `template` mail of the local outbox.
async fn outbox_link(gw: &TestGateway, template: &str, prefix: &str) -> String {
    let outbox = gw.app.store.outbox(100).await.expect("outbox");
    let mail = outbox.iter().find(|m| m.template == template).unwrap_or_else(|| panic!("no {template} mail"));
    let (text, _) = gw.app.templates.bodies(mail).expect("bodies");
    let want = format!("{}{prefix}", gw.base);
    let at = text.find(&want).unwrap_or_else(|| panic!("{template} has no {want} link: {text}"));
    text[at..].split_whitespace().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_account_and_refusal_mails_read_at_phone_width_in_japanese() {
    mails_in(&MailRun {
        lang: "ja",
        reader: "ja,en;q=0.5",
        outbox_title: "ローカルの送信箱",
        purchase: "+81300000100",
        issue: "+81300000101",
        phone: "+819011110204",
        held: "まで確保しています",
        konbini: "お近くのコンビニでお支払いください",
        declined: "カード会社に承認されませんでした",
        refused: "お支払い済みのチケットがありません",
        confirm_button: "このアドレスを確認する",
    })
    .await;
}

#[tokio::test]
async fn the_account_and_refusal_mails_read_at_phone_width_in_english() {
    mails_in(&MailRun {
        lang: "en",
        reader: "en-GB,en",
        outbox_title: "Local outbox",
        purchase: PURCHASE,
        issue: ISSUE,
        phone: "+819011110205",
        held: "are held until",
        konbini: "convenience store with payment number",
        declined: "card declined",
        refused: "There is no paid ticket for this phone number",
        confirm_button: "Confirm this address",
    })
    .await;
}

/// A Japanese caller whose ticket was used already calls the usage number again:
/// the refusal mail says so in Japanese, with when on the venue's clock (JST),
/// in its text part and its HTML part at phone width.
#[tokio::test]
async fn the_refusal_for_a_used_ticket_tells_a_japanese_caller_when_in_jst() {
    let gw = spawn_gateway().await;
    let phone = "+819011110206";
    assert_eq!(gw.call(phone, "+81300000100").await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, "購入用リンク").await, "/p/");
    let (status, order) = gw.buy(&shop, "open-rehearsal", 1, "4242 4242 4242 4242").await;
    assert_eq!(status, 200, "{order}");
    gw.mail(phone, "お支払いを確認しました").await;
    gw.call(phone, "+81300000101").await;
    gw.mail(phone, "チケット発券").await;
    gw.call(phone, "+81300000102").await;
    let admission = gw.link(&gw.mail(phone, "入場ページ").await, "/a/");
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, _) = gw.staff_pins("open-rehearsal");
    assert_eq!(gw.post(&format!("{admission}/admit"), &[("staff_pin", pin.as_str())]).await.0, 200);

    gw.call(phone, "+81300000102").await;
    let refusal = gw.mail(phone, "お手続きできませんでした").await;
    let text = &refusal.text;
    assert!(text.contains("に入場済みです") && text.contains("年") && text.contains(" JST"), "{text}");
    assert!(!text.contains("UTC") && !text.contains("already"), "{text}");

    let chromium = Chromium::start_in("ja,en;q=0.5").await;
    let html = refusal.html.clone().expect("an HTML part");
    chromium.goto(&format!("data:text/html;charset=utf-8,{}", urlencode(&html))).await;
    let shown = looked_at(&chromium, "mail-refusal-used-ja", "ja").await;
    assert!(shown.contains("に入場済みです") && shown.contains(" JST"), "{shown}");
    chromium.quit().await;
    gw.stop().await;
}
