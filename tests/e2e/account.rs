//! A phone user's own settings. Where its mail goes: the carrier's mail-to-SMS
//! address until its user registers another one from the purchase pages
//! (confirmed by a link mailed there), or the operator maps one
//! (`PUT /admin/phone-users/{phone}/mail`). Its profile: the holder's name on
//! tickets and admission pages.

use dialticket_sim::smtp::ReceivedMail;
use dialticket_sim::web::resolve;
use serde_json::Value;

use crate::helpers::*;

const TOKEN: &str = "test-admin-token-0123456789";

/// The first mail to `address` whose subject contains `subject`.
async fn mail_to(gw: &TestGateway, address: &str, subject: &str) -> ReceivedMail {
    gw.mailbox
        .wait_for(|m| m.envelope_to.iter().any(|t| t == address) && m.subject.contains(subject), MAIL_WAIT)
        .await
        .unwrap_or_else(|e| panic!("no mail to {address} about {subject:?}: {e}; got {:?}", gw.subjects()))
}

fn count_to(gw: &TestGateway, address: &str, subject: &str) -> usize {
    gw.mailbox
        .messages()
        .iter()
        .filter(|m| m.envelope_to.iter().any(|t| t == address) && m.subject.contains(subject))
        .count()
}

/// A purchase call, and the "where your mail goes" page its link leads to.
async fn mail_page(gw: &TestGateway, phone: &str) -> (String, Value) {
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let shop = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let (status, events) = gw.get(&shop).await;
    assert_eq!(status, 200, "{events}");
    let url = events["mail_url"].as_str().expect("the shop links to the mail address page").to_string();
    let (status, page) = gw.get(&url).await;
    assert_eq!(status, 200, "{page}");
    (url, page)
}

#[tokio::test]
async fn a_caller_moves_their_mail_to_an_address_they_confirm() {
    let gw = spawn_gateway().await;
    let phone = "+819077770001";
    let carrier = TestGateway::address(phone);
    let (url, page) = mail_page(&gw, phone).await;
    assert_eq!(page["delivers_to"], carrier.as_str());
    assert_eq!(page["registered"], Value::Null);
    let html = |url: String| {
        let (browser, url) = (&gw.browser, resolve(&gw.base, &url));
        async move { browser.get_html(&url).await.expect("GET html") }
    };
    let (status, text) = html(url.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Where your mail goes") && text.contains(&carrier), "{text}");

    // Not an address: refused, nothing mailed.
    let (status, body) = gw.post(&url, &[("address", "hanako at example")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("is not a mail address"), "{body}");

    // Asked: a confirmation link goes to the new address; mail still goes to the carrier's.
    let (status, body) = gw.post(&url, &[("address", " Hanako@Example.JP ")]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "confirmation-sent");
    assert_eq!(body["address"], "Hanako@example.jp");
    let confirm = mail_to(&gw, "Hanako@example.jp", "Confirm your dialticket mail address").await;
    let link = gw.link(&confirm, "/m/");
    assert!(confirm.text.contains(phone), "{}", confirm.text);

    // Opening the link (a mail scanner does) changes nothing.
    let (status, page) = gw.get(&link).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["state"], "to-confirm");
    assert_eq!(page["address"], "Hanako@example.jp");
    let (status, text) = html(link.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<button type=\"submit\">Confirm</button>"), "{text}");
    assert_eq!(
        gw.app
            .store
            .phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap())
            .await
            .unwrap()
            .unwrap()
            .mail_address,
        None
    );

    // Confirmed: mail goes there; the carrier's address hears of it, with a link back.
    let (status, body) = gw.post(&link, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["delivers_to"].as_str()), (Some("changed"), Some("Hanako@example.jp")));
    let (_, text) = html(url.clone()).await;
    assert!(text.contains("Use my carrier"), "the registered address can be dropped: {text}");
    let notice = gw.mail(phone, "now goes to another address").await;
    assert!(notice.text.contains("H***@example.jp"), "{}", notice.text);
    let undo = gw.link(&notice, "/m/");
    // Confirmed again (a double tap): nothing more.
    let (status, body) = gw.post(&link, &[]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("unchanged")), "{body}");

    // The next purchase call's link goes to the registered address, not the carrier's.
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    mail_to(&gw, "Hanako@example.jp", "purchase link").await;
    assert_eq!(count_to(&gw, &carrier, "purchase link"), 1);

    // The link back in the notice undoes it; the confirmation minted before that is now stale.
    let (status, body) = gw.post(&undo, &[]).await;
    assert_eq!((status, body["delivers_to"].as_str()), (200, Some(carrier.as_str())), "{body}");
    mail_to(&gw, "Hanako@example.jp", "now goes to another address").await;
    let (status, page) = gw.get(&link).await;
    assert_eq!((status, page["state"].as_str()), (200, Some("stale")), "{page}");
    let (status, body) = gw.post(&link, &[]).await;
    assert_eq!(status, 410, "{body}");
    let user = gw.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap()).await.unwrap().unwrap();
    assert_eq!(user.mail_address, None);
    // The purchase pages were opened with the simulator's browser: its handset is on record.
    assert!(user.handset_model.as_deref().is_some_and(|m| m.starts_with("dialticket-sim/")), "{user:?}");

    // Every step is in the user's journal.
    let actions: Vec<String> =
        gw.app.store.journal_for(&user.user_number).await.unwrap().into_iter().map(|j| j.action).collect();
    let changes = actions.iter().filter(|a| *a == "mail-address-changed").count();
    assert_eq!((actions.iter().filter(|a| *a == "mail-address-requested").count(), changes), (1, 2), "{actions:?}");
    gw.stop().await;
}

#[tokio::test]
async fn confirmation_mails_are_limited_and_the_carrier_address_needs_none() {
    let gw = spawn_gateway().await;
    let phone = "+819077770002";
    let (url, _) = mail_page(&gw, phone).await;
    for n in 1..=3 {
        let (status, body) = gw.post(&url, &[("address", &format!("try{n}@example.org"))]).await;
        assert_eq!(status, 202, "{body}");
    }
    // A fourth address within the hour: refused, so the page cannot flood a mailbox.
    let (status, body) = gw.post(&url, &[("address", "try4@example.org")]).await;
    assert_eq!(status, 429, "{body}");
    mail_to(&gw, "try3@example.org", "Confirm").await;
    assert_eq!(count_to(&gw, "try4@example.org", "Confirm"), 0);

    // Confirm the second; going back to the carrier's address needs no confirmation.
    let second = gw.link(&mail_to(&gw, "try2@example.org", "Confirm").await, "/m/");
    assert_eq!(gw.post(&second, &[]).await.0, 200);
    let (_, page) = gw.get(&url).await;
    assert_eq!(page["registered"], "try2@example.org");
    let (status, body) = gw.post(&url, &[("carrier", "1")]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("changed")), "{body}");
    assert_eq!(body["delivers_to"], TestGateway::address(phone).as_str());
    // The registered address is told, and may take the mail back.
    mail_to(&gw, "try2@example.org", "now goes to another address").await;
    // A link for the carrier's address when it already is: nothing to do.
    let (status, body) = gw.post(&url, &[("carrier", "1")]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("unchanged")), "{body}");
    // A confirmation link is not a purchase link, and the other way round.
    let (status, _) = gw.get(&second.replace("/m/", "/p/")).await;
    assert_eq!(status, 403);
    gw.stop().await;
}

/// An admin API request to `path` (with the bearer `token`, if any): its status and JSON body.
async fn admin(gw: &TestGateway, method: reqwest::Method, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, gw.admin_url(path)).body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("admin request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn put_mail(gw: &TestGateway, phone: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    admin(gw, reqwest::Method::PUT, &format!("/admin/phone-users/{phone}/mail"), token, body).await
}

async fn get_user(gw: &TestGateway, phone: &str, token: Option<&str>) -> (u16, Value) {
    admin(gw, reqwest::Method::GET, &format!("/admin/phone-users/{phone}"), token, "").await
}

#[tokio::test]
async fn the_operator_maps_a_phone_to_an_address_before_its_first_call() {
    let gw = spawn_gateway_with(|c| c.admin_token = Some(TOKEN.into())).await;
    let phone = "+819077770003";
    let body = r#"{"address": "taro@example.co.jp"}"#;
    assert_eq!(put_mail(&gw, phone, body, None).await.0, 401);
    let (status, err) = put_mail(&gw, phone, r#"{"address": "taro"}"#, Some(TOKEN)).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(put_mail(&gw, "not-a-phone", body, Some(TOKEN)).await.0, 422);
    // Without the key nothing changes: an empty body must not drop a registered address.
    let (status, err) = put_mail(&gw, phone, "{}", Some(TOKEN)).await;
    assert_eq!(status, 422, "{err}");
    let (status, user) = put_mail(&gw, phone, body, Some(TOKEN)).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!((user["delivers_to"].as_str(), user["access_count"].as_i64()), (Some("taro@example.co.jp"), Some(0)));
    let number = user["user_number"].as_str().unwrap().to_string();

    // The first call finds the mapped user (same user number) and mails the mapped address.
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let mail = mail_to(&gw, "taro@example.co.jp", "purchase link").await;
    assert!(mail.text.contains(&number), "{}", mail.text);
    assert!(gw.mails(phone, "purchase link").is_empty());

    assert_eq!(get_user(&gw, phone, None).await.0, 401);
    let (status, user) = get_user(&gw, phone, Some(TOKEN)).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!((user["access_count"].as_i64(), user["mail_address"].as_str()), (Some(1), Some("taro@example.co.jp")));
    let actions: Vec<&str> = user["journal"].as_array().unwrap().iter().filter_map(|j| j["action"].as_str()).collect();
    assert_eq!(actions.first(), Some(&"mail-address-changed"), "{actions:?}");
    assert!(actions.contains(&"purchase-link-sent"), "{actions:?}");

    // null: back to the carrier's address.
    let (status, user) = put_mail(&gw, phone, r#"{"address": null}"#, Some(TOKEN)).await;
    assert_eq!((status, user["delivers_to"].as_str()), (200, Some(TestGateway::address(phone).as_str())), "{user}");
    assert_eq!(get_user(&gw, "+819077770099", Some(TOKEN)).await.0, 404);
    gw.stop().await;
}

/// The holder's name from their profile is on the ticket and the admission page,
/// for staff to compare with an ID; bad input is refused and nothing is saved.
#[tokio::test]
async fn the_holders_name_from_their_profile_is_on_the_admission_page() {
    let gw = spawn_gateway_with(|c| c.admin_token = Some(TOKEN.into())).await;
    let phone = "+819077770004";
    assert_eq!(gw.call(phone, PURCHASE).await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let (_, events) = gw.get(&shop).await;
    let url = events["profile_url"].as_str().expect("the shop links to the profile page").to_string();
    let (status, page) = gw.get(&url).await;
    assert_eq!((status, &page["profile"]["name"]), (200, &Value::Null), "{page}");

    // Born a year from today: not possible (whatever today is).
    let next_year = (chrono::Utc::now().date_naive() + chrono::Days::new(365)).to_string();
    let (status, body) = gw.post(&url, &[("name", "Yamada Hanako"), ("birth_date", next_year.as_str())]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not possible"), "{body}");
    let (status, body) = gw.post(&url, &[("name", "  Yamada   Hanako "), ("birth_date", "1990-04-01")]).await;
    assert_eq!((status, body["saved"].as_bool()), (200, Some(true)), "{body}");
    assert_eq!(body["profile"]["name"], "Yamada Hanako");
    let (_, page) = gw.get(&url).await;
    assert_eq!(
        (page["profile"]["birth_date"].as_str(), page["profile"]["postal_address"].as_str()),
        (Some("1990-04-01"), None)
    );

    // Bought, issued, at the venue: the admission page names the holder.
    let (status, order) = gw.buy(&shop, "open-rehearsal", 1, "4242 4242 4242 4242").await;
    assert_eq!(status, 200, "{order}");
    gw.call(phone, ISSUE).await;
    let (_, ticket) = gw.get(&gw.link(&gw.mail(phone, "Your ticket").await, "/t/")).await;
    assert_eq!(ticket["holder_name"], "Yamada Hanako");
    gw.call(phone, USAGE).await;
    let admission = gw.link(&gw.mail(phone, "Admission page").await, "/a/");
    let (_, page) = gw.get(&admission).await;
    assert_eq!(page["holder_name"], "Yamada Hanako");
    let (status, html) = gw.browser.get_html(&admission).await.unwrap();
    assert!(status == 200 && html.contains("Holder <strong>Yamada Hanako</strong>"), "{html}");

    // The operator sees it; the journal records which fields changed, not their values.
    let (status, user) = get_user(&gw, phone, Some(TOKEN)).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["profile"]["name"], "Yamada Hanako");
    let saved: Vec<&Value> =
        user["journal"].as_array().unwrap().iter().filter(|j| j["action"] == "profile-updated").collect();
    assert_eq!(saved.len(), 1, "{user}");
    assert_eq!(saved[0]["detail"], r#"{"fields":["name","birth_date"]}"#);
    assert!(!user["journal"].to_string().contains("1990-04-01"), "{user}");
    gw.stop().await;
}
