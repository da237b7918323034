//! Cancelling before the cancellable date: refund, seats back on sale, and the
//! phone can no longer issue the ticket. After the date: refused.

use crate::helpers::*;

fn available(list: &serde_json::Value, event: &str) -> i64 {
    let e = list["events"].as_array().unwrap().iter().find(|e| e["id"] == event).unwrap();
    e["seat_types"][0]["available"].as_i64().unwrap()
}

#[tokio::test]
async fn cancelling_before_the_deadline_refunds_and_frees_the_seats() {
    let gw = spawn_gateway().await;
    let phone = "+819055550001";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let before = available(&gw.get(&link).await.1, "spring-gala-2027");
    let (status, order) = gw.buy(&link, "spring-gala-2027", 2, "4242424242424242").await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(available(&gw.get(&link).await.1, "spring-gala-2027"), before - 2);

    let guide = gw.link(&gw.mail(phone, "Payment received").await, "/g/");
    let (_, page) = gw.get(&guide).await;
    assert_eq!(page["cancellation"]["open"], true, "{page}");
    assert_eq!(page["state"], "issue-guided");

    let (status, done) = gw.post(page["cancel_url"].as_str().unwrap(), &[]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "cancelled");
    assert_eq!(done["payment_status"], "refunded");
    // Pressing it again changes nothing more.
    let (status, again) = gw.post(page["cancel_url"].as_str().unwrap(), &[]).await;
    assert_eq!((status, &again["state"]), (200, &done["state"]));

    assert_eq!(available(&gw.get(&link).await.1, "spring-gala-2027"), before, "seats back on sale");
    let mail = gw.mail(phone, "Cancelled and refunded").await;
    assert!(mail.text.contains("¥19,600"), "{}", mail.text);
    assert_eq!(gw.get(&guide).await.1["state"], "cancelled");

    // The phone has nothing left to issue.
    gw.call(phone, ISSUE).await;
    gw.mail(phone, "could not").await;
    let journal = gw.app.store.journal_for(order["purchase_id"].as_str().unwrap()).await.unwrap();
    assert!(journal.iter().any(|j| j.action == "cancel") && journal.iter().any(|j| j.action == "refund"));
    gw.stop().await;
}

#[tokio::test]
async fn cancelling_after_the_deadline_is_refused() {
    let gw = spawn_gateway().await;
    let phone = "+819055550002";
    // The open rehearsal started the day before the catalog was loaded, with no cancellation period.
    let (_, guide_mail) = gw.paid_purchase(phone, "open-rehearsal").await;
    let guide = gw.link(&guide_mail, "/g/");
    let (_, page) = gw.get(&guide).await;
    assert_eq!(page["cancellation"]["open"], false);
    let (status, body) = gw.post(&format!("{guide}/cancel"), &[]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("deadline"), "{body}");
    gw.stop().await;
}
