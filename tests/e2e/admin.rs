//! The organizers' admin API: register an event, watch its sales and billing,
//! export the journal — only with the admin token.

use serde_json::Value;

use crate::helpers::*;

const TOKEN: &str = "test-admin-token-0123456789";

const CATALOG: &str = r#"
[[organizers]]
id = "jazz-club"
name = "Blue Note Jazz Club"
email = "office@jazz-club.example"
password = "so what, kind of blue"

[[organizers]]
id = "other-hall"
name = "Another Hall"
password = "another password 123"

[[events]]
id = "late-set"
organizer = "jazz-club"
genre = "Jazz"
name = "Late Set"
venue = "Blue Note, Tokyo"
starts_at = "today+30d 21:00 +09:00"
doors_open = "today+30d 20:30 +09:00"
curtain = "today+30d 21:00 +09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+30d 20:00 +09:00"
cancellable_days = 1

[[events.seat_types]]
code = "T"
name = "Table"
price = 7000
count = 20
"#;

async fn admin(method: reqwest::Method, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/toml").body(b.to_string());
    }
    let resp = req.send().await.expect("admin request");
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

/// The late set's sales, signed in as an organizer (HTTP Basic).
async fn organizer_sales(base: &str, id: &str, password: &str) -> u16 {
    let resp = reqwest::Client::new()
        .get(format!("{base}/admin/events/late-set/sales"))
        .basic_auth(id, Some(password))
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[tokio::test]
async fn organizers_register_events_and_see_sales_billing_and_journal() {
    let gw = spawn_gateway_with(|c| {
        c.admin_token = Some(TOKEN.into());
        c.fee_per_ticket = 150;
    })
    .await;
    let base = gw.admin.clone();

    // Without the token: refused.
    let (status, _) = admin(reqwest::Method::POST, &format!("{base}/admin/catalog"), None, Some(CATALOG)).await;
    assert_eq!(status, 401);
    let (status, _) =
        admin(reqwest::Method::GET, &format!("{base}/admin/journal.csv"), Some("wrong-token-0000000000"), None).await;
    assert_eq!(status, 401);
    // A bad catalog is refused with the reason.
    let (status, body) =
        admin(reqwest::Method::POST, &format!("{base}/admin/catalog"), Some(TOKEN), Some("[[events]]\nid = 1")).await;
    assert_eq!(status, 422, "{body}");

    let (status, body) =
        admin(reqwest::Method::POST, &format!("{base}/admin/catalog"), Some(TOKEN), Some(CATALOG)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["seats_added"], 20);

    // A caller buys 3 tables.
    let phone = "+819066660001";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let (status, order) = gw.buy(&link, "late-set", 3, "4242424242424242").await;
    assert_eq!(status, 200, "{order}");

    let (status, body) =
        admin(reqwest::Method::GET, &format!("{base}/admin/events/late-set/sales"), Some(TOKEN), None).await;
    assert_eq!(status, 200, "{body}");
    let sales = json(&body);
    assert_eq!(sales["seat_types"]["T"]["sold"], 3, "{sales}");
    assert_eq!(sales["seat_types"]["T"]["free"], 17);
    assert_eq!(sales["seat_types"]["T"]["held"], 0);
    assert_eq!(sales["per_day"][0]["tickets"], 3);
    assert_eq!(sales["per_day"][0]["amount"], 21000);
    // The PIN venue staff enter to admit this event's tickets.
    assert_eq!(sales["staff_pin"], gw.app.links.staff_pin("late-set", 0), "{sales}");

    let (status, body) =
        admin(reqwest::Method::GET, &format!("{base}/admin/organizers/jazz-club/billing"), Some(TOKEN), None).await;
    assert_eq!(status, 200, "{body}");
    let bill = json(&body);
    // billed: the fees; paid: the ticket money dialticket holds for the organizer
    // (sales − refunds − payouts); balance = billed − paid, negative while dialticket
    // owes the organizer (docs/backoffice.md, "Billing").
    assert_eq!(
        (bill["tickets_sold"].as_i64(), bill["billed"].as_i64(), bill["paid"].as_i64(), bill["balance"].as_i64()),
        (Some(3), Some(450), Some(21000), Some(450 - 21000))
    );
    assert_eq!(bill["owed"].as_i64(), Some(21000 - 450));

    // The organizer signs in with its own password and sees its own event only.
    assert_eq!(organizer_sales(&base, "jazz-club", "so what, kind of blue").await, 200);
    assert_eq!(organizer_sales(&base, "jazz-club", "wrong").await, 401);
    assert_eq!(organizer_sales(&base, "other-hall", "another password 123").await, 403);
    // The store keeps an Argon2id hash of it, never the password.
    let hash = gw.app.store.organizer_password_hash("jazz-club").await.unwrap().expect("a password hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(dialticket::auth::verify_password("so what, kind of blue", &hash));

    let (status, csv) = admin(reqwest::Method::GET, &format!("{base}/admin/journal.csv"), Some(TOKEN), None).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("seq,at,entity,entity_id,action,from_state,to_state,actor,detail\r\n"), "{csv}");
    let purchase_id = order["purchase_id"].as_str().unwrap();
    let rows: Vec<&str> = csv.lines().filter(|l| l.contains(purchase_id)).collect();
    assert!(rows.iter().any(|l| l.contains(",payment,pending,paid,web:order,")), "{rows:?}");
    // The detail column is JSON with commas: quoted per RFC 4180.
    assert!(rows.iter().any(|l| l.contains(",reserved,,pending,web:order,\"{")), "{rows:?}");
    gw.stop().await;
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let gw = spawn_gateway().await;
    let (status, _) = admin(reqwest::Method::GET, &gw.admin_url("/admin/journal.csv"), Some(TOKEN), None).await;
    assert_eq!(status, 404);
    gw.stop().await;
}

/// A staff PIN that leaked is replaced: the admin or the event's organizer asks
/// for a new one; the old PIN stops admitting at once, the new one admits, the
/// sales view shows it, and the journal says who replaced it.
#[tokio::test]
async fn a_leaked_staff_pin_is_replaced_and_the_old_one_stops_admitting() {
    let gw = spawn_gateway_with(|c| c.admin_token = Some(TOKEN.into())).await;
    let base = gw.admin.clone();
    let post = reqwest::Method::POST;
    assert_eq!(admin(post.clone(), &format!("{base}/admin/catalog"), Some(TOKEN), Some(CATALOG)).await.0, 200);
    gw.allow_pin_admission("open-rehearsal").await;
    let (old_pin, _) = gw.staff_pins("open-rehearsal");
    let admission = gw.admission_link("+819066660009", "open-rehearsal").await;
    let rotate = |event: &str| format!("{base}/admin/events/{event}/staff-pin");

    // Not without credentials, not for another organizer's event, not for no event.
    assert_eq!(admin(post.clone(), &rotate("open-rehearsal"), None, None).await.0, 401);
    let by_jazz_club = |url: String| async move {
        let resp = reqwest::Client::new().post(url).basic_auth("jazz-club", Some("so what, kind of blue")).send().await;
        let resp = resp.expect("request");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    };
    assert_eq!(by_jazz_club(rotate("open-rehearsal")).await.0, 403);
    assert_eq!(admin(post.clone(), &rotate("no-such-event"), Some(TOKEN), None).await.0, 404);

    let (status, body) = admin(post.clone(), &rotate("open-rehearsal"), Some(TOKEN), None).await;
    assert_eq!(status, 200, "{body}");
    let new_pin = json(&body)["staff_pin"].as_str().expect("the new PIN").to_string();
    assert!(new_pin.len() == 6 && new_pin.bytes().all(|b| b.is_ascii_digit()), "{new_pin}");
    assert_ne!(new_pin, old_pin);
    let (_, sales) =
        admin(reqwest::Method::GET, &format!("{base}/admin/events/open-rehearsal/sales"), Some(TOKEN), None).await;
    assert_eq!(json(&sales)["staff_pin"], new_pin.as_str());

    let admit = format!("{admission}/admit");
    let (status, page) = gw.post(&admit, &[("staff_pin", old_pin.as_str())]).await;
    assert_eq!(status, 403, "the replaced PIN: {page}");
    let (status, page) = gw.post(&admit, &[("staff_pin", new_pin.as_str())]).await;
    assert_eq!(status, 200, "the new PIN: {page}");
    assert_eq!(page["state"], "admitted", "{page}");

    // The organizer replaces its own event's PIN.
    let (status, body) = by_jazz_club(rotate("late-set")).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(json(&body)["staff_pin"], gw.app.links.staff_pin("late-set", 0).as_str());

    let (_, csv) = admin(reqwest::Method::GET, &format!("{base}/admin/journal.csv"), Some(TOKEN), None).await;
    let rotations: Vec<&str> = csv.lines().filter(|l| l.contains(",staff_pin_rotated,")).collect();
    assert_eq!(rotations.len(), 2, "{rotations:?}");
    assert!(rotations[0].contains(",event,open-rehearsal,") && rotations[0].contains(",admin,"), "{rotations:?}");
    assert!(
        rotations[1].contains(",event,late-set,") && rotations[1].contains(",organizer:jazz-club,"),
        "{rotations:?}"
    );
    gw.stop().await;
}

/// A mail the relay refused for good (a 5xx) stays on the outbox as failed;
/// once its cause is fixed, the admin sends it again — told first when a newer
/// mail of the same kind already reached the recipient (it would arrive after it).
#[tokio::test]
async fn the_admin_sends_a_mail_refused_for_good_again() {
    let gw = spawn_gateway_with(|c| c.admin_token = Some(TOKEN.into())).await;
    let phone = "+819066660010";
    gw.mailbox.set_refusing(Some(550));
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let state = |gw: &TestGateway, id: Option<i64>| {
        let store = gw.app.store.clone();
        async move {
            let mails = store.outbox(10).await.unwrap();
            let mail = match id {
                Some(id) => mails.into_iter().find(|m| m.id == id),
                None => mails.into_iter().next(),
            };
            mail.map(|m| (m.id, m.state))
        }
    };
    let mut row = None;
    for _ in 0..100 {
        row = state(&gw, None).await;
        if row.as_ref().is_some_and(|(_, s)| s == "failed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (id, s) = row.expect("the mail is in the outbox");
    assert_eq!(s, "failed", "a 550 is given up on");

    let retry = |id: i64| gw.admin_url(&format!("/admin/outbox/{id}/retry"));
    let post = reqwest::Method::POST;
    assert_eq!(admin(post.clone(), &retry(id), None, None).await.0, 401);
    assert_eq!(admin(post.clone(), &retry(id + 1000), Some(TOKEN), None).await.0, 404);
    gw.mailbox.set_refusing(None);

    // The caller calls again meanwhile and gets a newer purchase link.
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    gw.mail(phone, "purchase link").await;
    // The sink has it before the worker records it as sent: wait for the record.
    gw.settle().await;
    let (status, body) = admin(post.clone(), &retry(id), Some(TOKEN), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("was followed by mail") && body.contains("anyway=true"), "{body}");
    assert_eq!(state(&gw, Some(id)).await.map(|(_, s)| s).as_deref(), Some("failed"), "not sent");

    let (status, body) = admin(post.clone(), &format!("{}?anyway=true", retry(id)), Some(TOKEN), None).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..50 {
        if state(&gw, Some(id)).await.is_some_and(|(_, s)| s == "sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state(&gw, Some(id)).await.map(|(_, s)| s).as_deref(), Some("sent"));
    let (status, body) = admin(post, &retry(id), Some(TOKEN), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("is sent, not failed"), "{body}");
    assert_eq!(gw.mails(phone, "purchase link").len(), 2, "the newer link, then the one sent again");
    gw.stop().await;
}
