//! Tickets for another phone: a gift bought from a purchase link, and the
//! web-first purchase on a PC naming the receiving phone (seed 000, third
//! embodiment). Either way the ticket is issued to calls from that phone only.

use serde_json::Value;

use crate::helpers::*;

/// Open an event page under `shop` (a purchase link or `/buy`) and post the order form.
async fn order(gw: &TestGateway, shop: &str, recipient: &str) -> (u16, Value, Value) {
    let (url, page) = gw.event_form(shop, "open-rehearsal").await;
    let token = page["form"]["form_token"].as_str().unwrap().to_string();
    let fields = [
        ("form_token", token.as_str()),
        ("seat_type", "GA"),
        ("quantity", "1"),
        ("card_number", "4242424242424242"),
        ("recipient", recipient),
    ];
    let (status, body) = gw.post(&url, &fields).await;
    (status, body, page)
}

#[tokio::test]
async fn a_gift_is_issued_to_the_recipients_phone_only() {
    let gw = spawn_gateway().await;
    let (buyer, friend) = ("+819044440001", "+819044440002");
    gw.call(buyer, PURCHASE).await;
    let link = gw.link(&gw.mail(buyer, "purchase link").await, "/p/");
    let (status, order, page) = order(&gw, &link, "+81 90-4444-0002").await;
    assert_eq!(page["form"]["recipient_required"], false);
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["phone"], friend);

    // Both get the issue guide; only the friend's phone can issue.
    gw.mail(friend, "Payment received").await;
    gw.mail(buyer, "Payment received").await;
    gw.call(buyer, ISSUE).await;
    gw.mail(buyer, "could not").await;
    gw.call(friend, ISSUE).await;
    let ticket = gw.mail(friend, "Your ticket").await;
    let (_, page) = gw.get(&gw.link(&ticket, "/t/")).await;
    assert_eq!(page["phone"], friend);
    assert!(gw.mails(buyer, "Your ticket").is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn web_first_purchase_names_the_receiving_phone() {
    let gw = spawn_gateway().await;
    let holder = "+819044440003";

    // No phone number given: refused with a clear message, nothing bought.
    let (status, body, page) = order(&gw, "/buy", "").await;
    assert_eq!(page["form"]["recipient_required"], true);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("phone number that will receive"));
    let (status, body, _) = order(&gw, "/buy", "not a number").await;
    assert_eq!(status, 422, "{body}");

    let (status, order, _) = order(&gw, "/buy", holder).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["phone"], holder);
    assert_eq!(order["issue_number"], ISSUE);
    gw.mail(holder, "Payment received").await;
    gw.call(holder, ISSUE).await;
    gw.mail(holder, "Your ticket").await;
    gw.stop().await;
}
