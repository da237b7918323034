//! Every sandbox payment method end to end, the signed and idempotent
//! provider callback, the card challenge, and holds that run out.

use serde_json::Value;

use crate::helpers::*;

/// Open the purchase link, pick `event`, and order one place paying with `payment`.
async fn order(gw: &TestGateway, phone: &str, event: &str, payment: &[(&str, &str)]) -> (u16, Value) {
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    gw.order_form(&link, event, payment).await
}

async fn callback(gw: &TestGateway, body: &str, signature: Option<&str>) -> (u16, Value) {
    let sig = signature.map(str::to_string).unwrap_or_else(|| gw.app.payments.sign_callback(body.as_bytes()));
    let resp = reqwest::Client::new()
        .post(format!("{}/payments/callback", gw.base))
        .header("x-dialticket-signature", sig)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn reference(gw: &TestGateway, purchase_id: &str) -> String {
    let rt = tokio::runtime::Handle::current();
    let store = gw.app.store.clone();
    let id = purchase_id.to_string();
    tokio::task::block_in_place(|| rt.block_on(async move { store.purchase(&id).await.unwrap().unwrap() }))
        .payment_ref
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_payment_is_pending_until_a_signed_callback_and_repeats_change_nothing() {
    let gw = spawn_gateway().await;
    let phone = "+819077770001";
    let (status, order) = order(&gw, phone, "spring-gala-2027", &[("payment_method", "konbini")]).await;
    assert_eq!(status, 202, "{order}");
    assert_eq!(order["status"], "pending");
    assert!(order["instructions"].as_str().unwrap().contains("payment number"), "{order}");
    let how = gw.mail(phone, "How to pay").await;
    assert!(how.text.contains("payment number"), "{}", how.text);
    let id = order["purchase_id"].as_str().unwrap();
    let r = reference(&gw, id);

    let body = format!(r#"{{"event_id":"evt_paid_1","reference":"{r}","status":"paid"}}"#);
    assert_eq!(callback(&gw, &body, Some("sha256=0000")).await.0, 401, "forged callback refused");
    let (status, first) = callback(&gw, &body, None).await;
    assert_eq!((status, first["outcome"].as_str()), (200, Some("paid")), "{first}");
    gw.mail(phone, "Payment received").await;
    // The provider retries the same event: same answer, nothing new.
    let (status, again) = callback(&gw, &body, None).await;
    assert_eq!((status, &again), (200, &first));
    // Both callbacks have been answered: one issue guide queued, the repeat added none.
    assert_eq!(gw.queued(phone, "Payment received").await, 1);
    // Now the phone can issue.
    gw.call(phone, ISSUE).await;
    gw.mail(phone, "Your ticket").await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_hold_expires_and_releases_its_seats() {
    let gw = spawn_gateway().await;
    let phone = "+819077770002";
    let (status, order) = order(&gw, phone, "spring-gala-2027", &[("payment_method", "konbini")]).await;
    assert_eq!(status, 202, "{order}");
    let free = || async { gw.app.store.count_seats("spring-gala-2027", "free").await.unwrap() };
    let held = free().await;
    let in_four_days = dialticket::store::now() + 4 * 86400;
    assert_eq!(dialticket::settlement::expire_holds(&gw.app, in_four_days).await.unwrap(), 1);
    assert_eq!(free().await, held + 1, "the seat is back on sale");
    let mail = gw.mail(phone, "could not").await;
    assert!(mail.text.contains("expired"), "{}", mail.text);
    // The store's payment arriving after the expiry changes nothing.
    let r = reference(&gw, order["purchase_id"].as_str().unwrap());
    let body = format!(r#"{{"event_id":"evt_late","reference":"{r}","status":"paid"}}"#);
    let (status, late) = callback(&gw, &body, None).await;
    assert_eq!(status, 200);
    assert!(late["outcome"].as_str().unwrap().starts_with("ignored"), "{late}");
    assert_eq!(free().await, held + 1);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_challenge_must_be_answered() {
    let gw = spawn_gateway().await;
    let phone = "+819077770003";
    let pay = [("payment_method", "card"), ("card_number", "4000 0027 6000 3184")];
    let (status, order) = order(&gw, phone, "open-rehearsal", &pay).await;
    assert_eq!(status, 202, "{order}");
    assert_eq!(order["status"], "challenge");
    let url = order["challenge_url"].as_str().unwrap().to_string();
    let (status, wrong) = gw.post(&url, &[("code", "000000")]).await;
    assert_eq!(status, 422, "{wrong}");
    // A wrong code is not a dead end: the challenge is asked again.
    assert_eq!((wrong["status"].as_str(), wrong["challenge_url"].is_string()), (Some("challenge"), true), "{wrong}");
    assert!(wrong["error"].as_str().unwrap_or_default().contains("wrong"), "{wrong}");
    let (status, paid) = gw.post(&url, &[("code", "123456")]).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "paid");
    gw.mail(phone, "Payment received").await;
    gw.stop().await;
}

/// The confirmation code cannot be guessed: the fifth wrong one declines the order
/// (seats released), and no code settles it after that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_challenge_codes_decline_the_order_on_the_fifth() {
    let gw = spawn_gateway().await;
    let phone = "+819077770009";
    let pay = [("payment_method", "card"), ("card_number", "4000 0027 6000 3184")];
    let (_, order) = order(&gw, phone, "open-rehearsal", &pay).await;
    let url = order["challenge_url"].as_str().unwrap().to_string();
    let id = order["purchase_id"].as_str().unwrap().to_string();
    for _ in 1..dialticket::settlement::CHALLENGE_TRIES {
        assert_eq!(gw.post(&url, &[("code", "000000")]).await.0, 422);
    }
    let (status, last) = gw.post(&url, &[("code", "000001")]).await;
    assert_eq!((status, last["status"].as_str()), (402, Some("declined")), "{last}");
    assert_eq!(status_of(&gw, id.clone()).await.as_str(), "declined");
    let (_, after) = gw.post(&url, &[("code", "123456")]).await;
    assert_eq!(after["status"], "declined", "the right code comes too late: {after}");
    gw.stop().await;
}

/// The payment status of purchase `id`, as stored.
async fn status_of(gw: &TestGateway, id: String) -> dialticket::domain::PaymentStatus {
    gw.app.store.purchase(&id).await.unwrap().unwrap().payment_status
}

/// Carrier billing puts the charge on a line's phone bill, so it waits for that
/// line's consent: a call from it to the order's own number in the
/// confirm-billing block. Naming a line in a form bills nothing (an outside test
/// had `/buy` bill any number it named), and a line's owner consenting to their
/// own order consents to nothing else that waits for the same line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_billing_waits_for_a_consent_call_from_the_billed_line() {
    let gw = spawn_gateway().await;
    let carrier = [("payment_method", "carrier")];
    let buyer = "+819077770004";
    let (status, o) = order(&gw, buyer, "open-rehearsal", &carrier).await;
    assert_eq!((status, o["status"].as_str()), (202, Some("consent")), "{o}");
    assert_eq!(o["billing_phone"].as_str(), Some(buyer), "{o}");
    let number = o["confirm_number"].as_str().unwrap().to_string();
    assert!(number.starts_with(CONFIRM_BILLING) && number.len() == CONFIRM_BILLING.len() + 3, "{o}");
    let id = o["purchase_id"].as_str().unwrap().to_string();
    let how = gw.mail(buyer, "How to pay").await;
    assert!(how.text.contains(&number), "{}", how.text);

    // Somebody else's order billing the same line, waiting too.
    let fields = [("payment_method", "carrier"), ("recipient", "+819077771112"), ("billing_phone", buyer)];
    let (_, theirs) = gw.order_form("/buy", "open-rehearsal", &fields).await;
    let theirs_id = theirs["purchase_id"].as_str().unwrap().to_string();
    assert_ne!(theirs["confirm_number"], number.as_str(), "each order has its own number: {theirs}");

    // A spoofed caller ID (claimed in From, from an untrusted address) cannot consent.
    assert_eq!(call_as(&gw, buyer, &number, false).await, 403);
    assert_eq!(status_of(&gw, id.clone()).await.as_str(), "pending", "a spoofed call consented to billing");
    // The line itself can, to its own order only (early media: the caller hears it, pays nothing).
    assert_eq!(call_as(&gw, buyer, &number, true).await, 603);
    assert_eq!(status_of(&gw, id.clone()).await.as_str(), "paid");
    assert_eq!(status_of(&gw, theirs_id.clone()).await.as_str(), "pending", "the other order was not consented to");
    gw.mail(buyer, "Payment received").await;
    // Nothing waits on that number now: a second call is told so (by voice and mail).
    assert_eq!(call_as(&gw, buyer, &number, true).await, 403);
    let told = gw.mail(buyer, "could not").await;
    assert!(told.text.contains("No order is waiting for this phone's consent"), "{}", told.text);

    // A web order naming a stranger's line: nothing is billed unless that line calls.
    let stranger = "+819077779999";
    let fields = [("payment_method", "carrier"), ("recipient", "+819077771111"), ("billing_phone", stranger)];
    let (status, o) = gw.order_form("/buy", "open-rehearsal", &fields).await;
    assert_eq!((status, o["status"].as_str()), (202, Some("consent")), "{o}");
    assert_eq!(o["billing_phone"], stranger);
    let web_order = o["purchase_id"].as_str().unwrap().to_string();
    assert_eq!(status_of(&gw, web_order.clone()).await.as_str(), "pending");
    // The holds run out unpaid: the seats go back on sale, nothing was billed.
    let in_an_hour = dialticket::store::now() + 3600;
    assert_eq!(dialticket::settlement::expire_holds(&gw.app, in_an_hour).await.unwrap(), 2);
    assert_eq!(status_of(&gw, web_order).await.as_str(), "expired");
    assert_eq!(status_of(&gw, theirs_id).await.as_str(), "expired");

    // A line the carrier refuses: the consent call settles the order as declined.
    let refused = "+819077770000";
    let (status, o) = order(&gw, refused, "open-rehearsal", &carrier).await;
    assert_eq!((status, o["status"].as_str()), (202, Some("consent")), "{o}");
    assert_eq!(call_as(&gw, refused, o["confirm_number"].as_str().unwrap(), true).await, 403);
    assert_eq!(status_of(&gw, o["purchase_id"].as_str().unwrap().to_string()).await.as_str(), "declined");
    gw.stop().await;
}

#[tokio::test]
async fn prepaid_codes() {
    let gw = spawn_gateway().await;
    let prepaid = |code| [("payment_method", "prepaid"), ("prepaid_code", code)];
    let (status, o) = order(&gw, "+819077770005", "open-rehearsal", &prepaid("DT-12345672")).await;
    assert_eq!((status, o["status"].as_str()), (200, Some("paid")), "{o}");
    let (status, o) = order(&gw, "+819077770006", "open-rehearsal", &prepaid("DT-12345678")).await;
    assert_eq!(status, 422, "bad check digit is an input error: {o}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_confirm_a_pending_payment() {
    let token = "admin-token-for-payments-0001";
    let gw = spawn_gateway_with(|c| c.admin_token = Some(token.into())).await;
    let phone = "+819077770007";
    let (_, order) = order(&gw, phone, "open-rehearsal", &[("payment_method", "konbini")]).await;
    let r = reference(&gw, order["purchase_id"].as_str().unwrap());
    let resp = reqwest::Client::new()
        .post(gw.admin_url(&format!("/admin/payments/{r}/confirm")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    gw.mail(phone, "Payment received").await;
    gw.stop().await;
}

/// `payment_mode = "sandbox"`: every page and every mail says that no real money moves.
#[tokio::test]
async fn sandbox_payments_say_test_mode_on_every_page_and_mail() {
    let gw = spawn_gateway().await;
    let phone = "+819077770008";
    gw.call(phone, PURCHASE).await;
    let mail = gw.mail(phone, "purchase link").await;
    assert!(mail.text.starts_with("[TEST MODE"), "{}", mail.text);
    assert!(mail.html.as_deref().unwrap_or_default().contains("TEST MODE"), "{:?}", mail.html);
    for page in [gw.link(&mail, "/p/"), format!("{}/buy", gw.base), format!("{}/", gw.base)] {
        let (status, html) = gw.browser.get_html(&page).await.unwrap();
        assert_eq!(status, 200, "{page}");
        assert!(html.contains("Test mode: a demo, no real money moves"), "{page}: {html}");
    }
    let (_, order) =
        order(&gw, phone, "open-rehearsal", &[("payment_method", "card"), ("card_number", "4242424242424242")]).await;
    assert_eq!(order["test_mode"], true, "{order}");
    gw.stop().await;
}
