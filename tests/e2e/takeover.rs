//! A token grants only what its purpose names (the hardening issue, item 1).
//!
//! An outside test took a stranger's tickets through the web shop: an anonymous
//! order naming the victim's phone, paid with the card that asks for a
//! confirmation code, came back with a `challenge_url` whose token was a
//! *purchase link for the victim's phone*. With it the attacker moved the
//! victim's mail to their own address, and the victim's next issue and usage
//! calls mailed the ticket and admission page to the attacker.

use serde_json::Value;

use crate::helpers::*;

const CHALLENGE_CARD: &str = "4000 0027 6000 3184";

/// Post the order form of `open-rehearsal` under `shop` (a purchase link or `/buy`).
async fn order(gw: &TestGateway, shop: &str, recipient: &str, card: &str) -> (u16, Value) {
    let fields = [("payment_method", "card"), ("card_number", card), ("recipient", recipient)];
    gw.order_form(shop, "open-rehearsal", &fields).await
}

/// The token inside a `/pay/{token}/challenge` URL.
fn challenge_token(order: &Value) -> String {
    let url = order["challenge_url"].as_str().unwrap_or_else(|| panic!("no challenge_url: {order}"));
    url.strip_prefix("/pay/").and_then(|t| t.strip_suffix("/challenge")).expect("a /pay/…/challenge URL").to_string()
}

/// Everything a purchase link opens is refused with `token`, and nothing moved.
async fn opens_none_of_the_phones_pages(gw: &TestGateway, token: &str, victim: &str) {
    for page in [format!("/p/{token}"), format!("/p/{token}/mail"), format!("/p/{token}/profile")] {
        let (status, body) = gw.get(&page).await;
        assert_eq!(status, 403, "{page} must not open with a card-challenge token: {body}");
    }
    let (status, body) = gw.post(&format!("/p/{token}/mail"), &[("address", "attacker@evil.example")]).await;
    assert_eq!(status, 403, "the victim's mail must not move: {body}");
    let (status, body) = gw.post(&format!("/p/{token}/profile"), &[("name", "Mallory")]).await;
    assert_eq!(status, 403, "the victim's name must not change: {body}");
    let (status, body) = gw.get(&format!("/p/{token}/events/open-rehearsal")).await;
    assert_eq!(status, 403, "nothing may be bought as the victim: {body}");
    let user = gw
        .app
        .store
        .phone_user(&dialticket::phone::PhoneNumber::parse(victim).unwrap())
        .await
        .unwrap()
        .expect("the victim called");
    assert_eq!(user.mail_address, None, "the victim's mail still goes to their carrier address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_order_for_a_strangers_phone_yields_no_token_for_that_phone() {
    let gw = spawn_gateway().await;
    let victim = "+819055550001";
    gw.call(victim, PURCHASE).await;
    gw.mail(victim, "purchase link").await;

    let (status, placed) = order(&gw, "/buy", victim, CHALLENGE_CARD).await;
    assert_eq!((status, placed["status"].as_str()), (202, Some("challenge")), "{placed}");
    let token = challenge_token(&placed);
    opens_none_of_the_phones_pages(&gw, &token, victim).await;
    assert!(
        gw.mails(victim, "Confirm").is_empty()
            && gw.mailbox.messages().iter().all(|m| { m.envelope_to.iter().all(|t| !t.contains("attacker")) })
    );

    // The token still does its one job: answering this order's challenge.
    let (status, paid) = gw.post(placed["challenge_url"].as_str().unwrap(), &[("code", "123456")]).await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")), "{paid}");
    // ... and it answers no other order's.
    let (_, other) = order(&gw, "/buy", victim, CHALLENGE_CARD).await;
    let url = format!("/pay/{token}/challenge");
    let other_id = other["purchase_id"].as_str().unwrap();
    gw.post(&url, &[("code", "123456")]).await;
    let still = gw.app.store.purchase(other_id).await.unwrap().unwrap();
    assert_eq!(still.payment_status.as_str(), "pending", "one order's challenge token settled another");
    gw.stop().await;
}

/// The gift variant: a caller buying for a friend from their own purchase link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gift_paid_with_a_challenge_yields_no_token_for_the_friends_phone() {
    let gw = spawn_gateway().await;
    let (buyer, friend) = ("+819055550002", "+819055550003");
    gw.call(friend, PURCHASE).await;
    gw.call(buyer, PURCHASE).await;
    let link = gw.link(&gw.mail(buyer, "purchase link").await, "/p/");
    let (status, placed) = order(&gw, &link, friend, CHALLENGE_CARD).await;
    assert_eq!((status, placed["status"].as_str()), (202, Some("challenge")), "{placed}");
    opens_none_of_the_phones_pages(&gw, &challenge_token(&placed), friend).await;
    gw.stop().await;
}

/// Declined web orders naming a stranger's phone mail that stranger (an apology
/// with a purchase link), and cost the one who placed them nothing: a phone gets
/// at most its daily share of such mail, whether it ever called us or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_web_orders_cannot_mail_a_stranger_again_and_again() {
    let gw = spawn_gateway().await;
    let stranger = "+819055550009";
    for _ in 0..6 {
        let (status, placed) = order(&gw, "/buy", stranger, "4000 0000 0000 0002").await;
        assert_eq!((status, placed["status"].as_str()), (402, Some("declined")), "{placed}");
    }
    let to = TestGateway::address(stranger);
    let queued = gw.app.store.outbox(100).await.unwrap().into_iter().filter(|m| m.to_addr == to).count();
    assert_eq!(queued as i64, dialticket::app::UNCALLED_MAILS, "mails queued to a phone that never called");

    // A customer who once called us is a stranger to whoever fills in the form:
    // the same share (an outside test mailed one twelve times).
    let caller = "+819055550010";
    gw.call(caller, PURCHASE).await;
    gw.mail(caller, "purchase link").await;
    for _ in 0..5 {
        let (status, _) = order(&gw, "/buy", caller, "4000 0000 0000 0002").await;
        assert_eq!(status, 402);
    }
    let carrier = [("payment_method", "carrier"), ("recipient", "+819055550011"), ("billing_phone", caller)];
    let (status, _) = gw.order_form("/buy", "open-rehearsal", &carrier).await;
    assert_eq!(status, 202);
    let to = TestGateway::address(caller);
    let mails = gw.app.store.outbox(100).await.unwrap().into_iter().filter(|m| m.to_addr == to).count() as i64;
    assert_eq!(mails, 1 + dialticket::app::ORDER_MAILS, "the purchase link, then its share of order mails");
    gw.stop().await;
}
