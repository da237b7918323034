//! Whole journeys in the browser: the door, the account pages, carrier billing.

use std::time::Duration;

use super::Chromium;
use crate::helpers::*;

/// The holder opens the admission page from the mail: it shows VALID and a staff
/// PIN field. A wrong PIN typed in and submitted gets the refusal page; the
/// event's PIN gets the ticket admitted, and the page then says so.
#[tokio::test]
async fn staff_admit_a_ticket_in_chromium_with_the_staff_pin() {
    let gw = spawn_gateway().await;
    let phone = "+819011110026";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, wrong) = gw.staff_pins("open-rehearsal");

    let chromium = Chromium::start().await;
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("VALID")).await;

    chromium.type_into("input[name=staff_pin]", wrong).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[role=alert]", |t| t.contains("wrong staff PIN")).await;
    // The refusal is shown on the admission page itself, the PIN field empty to try again.
    assert_eq!(chromium.property("input[name=staff_pin]", "value").await, "");
    let (_, page) = gw.get(&admission).await;
    assert_eq!(page["state"], "valid", "a wrong PIN leaves the ticket unused: {page}");

    chromium.goto(&admission).await;
    chromium.type_into("input[name=staff_pin]", &pin).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    // Sent back to the page (POST-redirect-GET): a reload repeats nothing.
    assert_eq!(chromium.current_url().await, admission);
    chromium.reload().await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    // The live page shows it too, without the admit form.
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no admit form once admitted");
    chromium.quit().await;
    gw.stop().await;
}

/// The admission page is live without reloading: kept open for a minute (twelve
/// rounds of the page asking for its state), a staff PIN half typed is untouched,
/// the clock moves and the rotating code changes with its 15-second step, an admit
/// made on another device shows up in place (the form goes; no reload, so no
/// "405" from a POST's URL), and reloading then shows the page again.
#[tokio::test]
async fn the_admission_page_stays_live_without_reloading_in_chromium() {
    let gw = spawn_gateway().await;
    let phone = "+819011110092";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, _) = gw.staff_pins("open-rehearsal");

    let chromium = Chromium::start().await;
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("VALID")).await;
    let clock = chromium.text_when("[data-live=clock]", |t| t.ends_with(" JST")).await;
    let digits = chromium.text_when("[data-live-part=digits]", |t| t.len() == 6).await;
    let opened = std::time::Instant::now();
    chromium.type_into("input[name=staff_pin]", "12").await;
    // A minute with the page open: twelve checks of its state, every 5 s.
    chromium
        .attribute_when("main", "data-polls", Duration::from_secs(90), |v| v.parse::<u32>().unwrap_or(0) >= 12)
        .await;
    assert!(opened.elapsed() >= Duration::from_secs(55), "a minute open: {:?}", opened.elapsed());
    assert_eq!(chromium.property("input[name=staff_pin]", "value").await, "12", "the half-typed PIN is untouched");
    assert_ne!(chromium.text_when("[data-live=clock]", |_| true).await, clock, "the clock moves");
    let now = chromium.text_when("[data-live-part=digits]", |t| t.len() == 6).await;
    assert_ne!(now, digits, "four 15-second steps later the rotating code is another");
    assert_eq!(chromium.current_url().await, admission, "the page never navigated");

    // Admitted from elsewhere: the open page shows it at its next check.
    let (status, page) = gw.post(&format!("{admission}/admit"), &[("staff_pin", pin.as_str())]).await;
    assert_eq!(status, 200, "{page}");
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no admit form once admitted");
    chromium.reload().await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    assert!(!chromium.text_when("body", |_| true).await.contains("405"));
    chromium.quit().await;
    gw.stop().await;
}

/// Venue staff sign in on their own phone with their one-time link and check
/// tickets in at `/staff`: a wedge scanner types a ticket's reference and Enter
/// into the field that has the focus; the verdict fills the screen (ADMIT, the
/// seat) and the counters move; the same ticket again is ALREADY ADMITTED, with
/// when, at which gate and by whom; the field is ready for the next scan.
#[tokio::test]
async fn staff_check_tickets_in_with_the_staff_app_in_chromium() {
    let gw = spawn_gateway().await;
    let phone = "+819011110093";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
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

    let chromium = Chromium::start().await;
    chromium.goto(&ticket).await;
    chromium.text_when("h1", |t| !t.is_empty()).await;
    chromium.screenshot("ticket-en").await;
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("VALID")).await;
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no PIN on the holder's phone by default");
    chromium.screenshot("admission-en").await;

    chromium.goto(&format!("{}/staff/login/{}", gw.base, made.login_token)).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[data-live=headline]", |t| t == "Ready").await;
    assert_eq!(chromium.current_url().await, format!("{}/staff", gw.base));
    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "ADMIT").await;
    assert_eq!(chromium.text_when("[data-live=seat]", |_| true).await, format!("Seat {seat} · gate B"));
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict ok");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("Admitted 1 of") && t.contains("gate B: 1")).await;
    chromium.screenshot("staff-admit-en").await;
    assert_eq!(chromium.property("input[name=code]", "value").await, "", "ready for the next scan");

    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "ALREADY ADMITTED").await;
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.contains(" JST at gate B by Aiko"), "{when}");
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict bad");
    chromium.screenshot("staff-already-en").await;
    // The admission page on the holder's phone shows it too.
    let (_, page) = gw.get(&admission).await;
    assert_eq!(page["state"], "admitted", "{page}");
    chromium.quit().await;
    gw.stop().await;
}

/// A caller, on the phone's browser, sends their mail to another address: from the
/// event list to the mail page, types the address, then opens the link mailed
/// there and confirms; and puts their name on their tickets.
#[tokio::test]
async fn a_caller_moves_their_mail_and_names_themself_in_chromium() {
    let gw = spawn_gateway().await;
    let phone = "+819011110027";
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let shop = gw.link(&gw.mail(phone, "purchase link").await, "/p/");

    let chromium = Chromium::start().await;
    chromium.goto(&shop).await;
    chromium.click("a[href$='/mail']").await;
    chromium.text_when("h1", |t| t == "Where your mail goes").await;
    chromium.type_into("input[name=address]", "hanako@example.jp").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("body", |t| t.contains("We sent a confirmation link to hanako@example.jp")).await;

    let confirm = gw
        .mailbox
        .wait_for(|m| m.envelope_to.iter().any(|t| t == "hanako@example.jp"), MAIL_WAIT)
        .await
        .expect("the confirmation mail");
    chromium.goto(&gw.link(&confirm, "/m/")).await;
    chromium.text_when("body", |t| t.contains("send mail for +819011110027 to hanako@example.jp?")).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "Mail address changed").await;
    let user = gw.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap()).await.unwrap();
    assert_eq!(user.and_then(|u| u.mail_address).as_deref(), Some("hanako@example.jp"));

    chromium.goto(&shop).await;
    chromium.click("a[href$='/profile']").await;
    chromium.type_into("input[name=name]", "Yamada Hanako").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when(".state", |t| t == "Saved").await;
    let (_, page) = gw.get(&format!("{shop}/profile")).await;
    assert_eq!(page["profile"]["name"], "Yamada Hanako");
    chromium.quit().await;
    gw.stop().await;
}

/// A caller pays with their phone bill, on the phone's browser: from the purchase
/// link to the event, picks carrier billing (its "Phone to bill" shows only then,
/// filled with this phone) and buys. The page says to call the order's own
/// confirm-billing number from this phone; nothing is paid until that call. The call from the
/// line (its number asserted by the trusted loopback proxy) pays the order, and
/// the issue guide from the mail says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_pays_with_the_phone_bill_in_chromium_and_consents_by_calling() {
    let gw = spawn_gateway().await;
    let phone = "+819011110028";
    assert_eq!(gw.call(phone, PURCHASE).await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, "purchase link").await, "/p/");

    let chromium = Chromium::start().await;
    chromium.goto(&shop).await;
    chromium.click("a[href$='/events/open-rehearsal']").await;
    chromium.text_when("h1", |t| t == "Open Rehearsal (any day)").await;
    assert!(!chromium.displayed("#billing_phone").await, "the phone to bill shows only for carrier billing");
    chromium.click("label[for=pay-carrier]").await;
    assert!(chromium.displayed("#billing_phone").await);
    // Shown as dialled in Japan (the venue's country): 090-1111-0028.
    assert_eq!(
        chromium.attribute("#billing_phone", "value").await,
        "090-1111-0028",
        "this phone's bill, unless changed"
    );
    chromium.click("form button[type=submit]").await;
    // The review step: the receiving phone is confirmed before anything is bought.
    chromium.text_when("h1", |t| t == "Check your order").await;
    chromium.click("label[for=confirm_phone]").await;
    chromium.click("#buy").await;

    chromium.text_when("h1", |t| t == "Confirm carrier billing").await;
    assert_eq!(chromium.title().await, "Confirm carrier billing");
    let page = chromium.text_when("body", |t| t.contains("Nothing is billed until that call")).await;
    assert!(page.contains("on the phone bill of 090-1111-0028, call this number from that phone"), "{page}");
    // The order's own number in the confirm-billing block, as a button to call.
    let button = chromium.text_when("a.button", |t| t.starts_with(&format!("Call {CONFIRM_BILLING}"))).await;
    let number = button.trim_start_matches("Call ").to_string();
    assert_eq!(number.len(), CONFIRM_BILLING.len() + 3, "{button}");
    assert_eq!(chromium.attribute("a.button", "href").await, format!("tel:{number}"));
    let how = gw.mail(phone, "How to pay").await;
    assert!(how.text.contains(&number), "{}", how.text);
    assert!(gw.mails(phone, "Payment received").is_empty(), "nothing is paid before the call");

    // The call from this phone says yes (early media: heard, not billed).
    assert_eq!(call_as(&gw, phone, &number, true).await, 603);
    let guide = gw.link(&gw.mail(phone, "Payment received").await, "/g/");
    chromium.goto(&guide).await;
    chromium.text_when(".card", |t| t.contains("payment paid")).await;
    chromium.quit().await;
    gw.stop().await;
}
