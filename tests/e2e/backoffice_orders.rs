//! The back office's orders (issue 20, step 5): the search by every key, an
//! order's page with its channel and journal, resend / re-issue / cancel each
//! confirmed, journalled and mailed once, and two organizers kept apart.

use serde_json::Value;

use crate::backoffice::{csrf_of, load_other_organizer, set_password, Office};
use crate::helpers::*;

/// A signed-in office of a new organizer account `name` of `organizer`.
pub async fn organizer_office(gw: &TestGateway, name: &str, organizer: &str) -> Office {
    let role = dialticket::accounts::Role::Organizer(organizer.into());
    let now = dialticket::store::now();
    let made = gw.app.store.add_account(name, &role, "test", now).await.expect("made").expect("a new name");
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &dialticket::accounts::setup_link(&gw.admin, &made.setup_token), "organizer password")
        .await;
    office
}

/// Buy one seat of `event` on the web shop (`/buy`) for `holder`; the order's JSON.
pub async fn buy_on_the_web(gw: &TestGateway, event: &str, holder: &str) -> Value {
    let fields = [("payment_method", "card"), ("card_number", "4242 4242 4242 4242"), ("recipient", holder)];
    let (status, order) = gw.order_form("/buy", event, &fields).await;
    assert_eq!(status, 200, "{order}");
    order
}

/// Give the phone user of `phone` the profile name `name`.
pub async fn name_holder(gw: &TestGateway, phone: &str, name: &str) {
    let phone = dialticket::phone::PhoneNumber::parse(phone).expect("phone");
    let user = gw.app.store.phone_user(&phone).await.expect("read").expect("a phone user");
    let profile = dialticket::profile::Profile { name: Some(name.into()), postal_address: None, birth_date: None };
    let mut tx = gw.app.store.begin().await.expect("tx");
    tx.save_profile(&user.user_number, &profile, "test", dialticket::store::now()).await.expect("saved");
    tx.commit().await.expect("commit");
}

/// The ids of the orders an organizer's search for `q` finds at `event`.
async fn found(office: &mut Office, event: &str, q: &str) -> Vec<String> {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, page) = office.get_json(&format!("/admin/events/{event}/orders?q={q}")).await;
    assert_eq!(status, 200, "{page}");
    page["orders"].as_array().expect("orders").iter().map(|o| o["id"].as_str().expect("id").to_string()).collect()
}

/// Confirm `action` on order `pid`: the confirmation page's form fields (CSRF token, step).
async fn confirmation(office: &mut Office, pid: &str, action: &str) -> (String, String) {
    let (status, page, _) = office.get(&format!("/admin/orders/{pid}/{action}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-confirm=\"{action}\"")), "{page}");
    let at = page.find("name=\"step\" value=\"").expect("a step field");
    let rest = &page[at + 19..];
    (csrf_of(&page), rest[..rest.find('"').expect("end")].to_string())
}

/// How many journal rows of `action` the purchase has.
async fn journalled(gw: &TestGateway, pid: &str, action: &str) -> usize {
    gw.app.store.journal_for(pid).await.expect("journal").iter().filter(|j| j.action == action).count()
}

#[tokio::test]
async fn orders_are_found_by_phone_name_id_seat_and_code_and_record_their_channel() {
    orders_are_found_by_phone_name_id_seat_and_code_and_record_their_channel_on("sqlite").await;
}

#[tokio::test]
async fn orders_are_found_by_phone_name_id_seat_and_code_and_record_their_channel_in_postgres() {
    orders_are_found_by_phone_name_id_seat_and_code_and_record_their_channel_on("postgres").await;
}

async fn orders_are_found_by_phone_name_id_seat_and_code_and_record_their_channel_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let (caller, web_holder) = ("+819044441001", "+819044441002");
    let (from_call, _) = gw.paid_purchase(caller, "spring-gala-2027").await;
    let from_web = buy_on_the_web(&gw, "spring-gala-2027", web_holder).await;
    let (a, b) = (from_call["purchase_id"].as_str().unwrap(), from_web["purchase_id"].as_str().unwrap());
    name_holder(&gw, caller, "山田 花子").await;
    // The channel: the call's mailed link, and the web shop.
    assert_eq!(gw.app.store.purchase_channel(a).await.unwrap().as_deref(), Some("phone-link"));
    assert_eq!(gw.app.store.purchase_channel(b).await.unwrap().as_deref(), Some("web"));
    let (_, page, _) = office.get(&format!("/admin/orders/{a}")).await;
    assert!(page.contains("data-channel=\"phone-link\"") && page.contains("Phone call&#x27;s link"), "{page}");
    let (_, page, _) = office.get(&format!("/admin/orders/{b}")).await;
    assert!(page.contains("data-channel=\"web\"") && page.contains("Web shop"), "{page}");
    // Every order.
    let mut all = found(&mut office, "spring-gala-2027", "").await;
    all.sort();
    let mut both = vec![a.to_string(), b.to_string()];
    both.sort();
    assert_eq!(all, both);
    // The phone however it is written.
    for typed in ["090-4444-1001", "+81 90 4444 1001", "+819044441001", "09044441001"] {
        assert_eq!(found(&mut office, "spring-gala-2027", typed).await, vec![a.to_string()], "{typed}");
    }
    assert_eq!(found(&mut office, "spring-gala-2027", "090-4444-1002").await, vec![b.to_string()]);
    // The holder's name (part of it), the order number, a seat.
    assert_eq!(found(&mut office, "spring-gala-2027", "花子").await, vec![a.to_string()]);
    assert_eq!(found(&mut office, "spring-gala-2027", b).await, vec![b.to_string()]);
    let seat = from_web["seats"][0].as_str().expect("a seat").to_string();
    assert_eq!(found(&mut office, "spring-gala-2027", &seat.to_lowercase()).await, vec![b.to_string()], "{seat}");
    // A ticket code's reference, once issued, typed any way.
    gw.call(caller, ISSUE).await;
    gw.mail(caller, "Your ticket").await;
    let seats = gw.app.store.order_seats(a).await.expect("seats");
    let reference = seats[0].reference.clone().expect("a code issued");
    assert_eq!(found(&mut office, "spring-gala-2027", &reference.to_lowercase()).await, vec![a.to_string()]);
    let (_, page, _) = office.get(&format!("/admin/orders/{a}")).await;
    assert!(page.contains(&format!("{}-{}", &reference[..5], &reference[5..])), "the code shown: {page}");
    // Nothing else matches, and a search of another event finds none of these.
    assert!(found(&mut office, "spring-gala-2027", "nobody").await.is_empty());
    assert!(found(&mut office, "open-rehearsal", "090-4444-1001").await.is_empty());
    // The order's page: its journal, times on the venue's clock.
    let (status, page, _) = office.get(&format!("/admin/orders/{a}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-journal=\"reserved\"") && page.contains("data-journal=\"issued\""), "{page}");
    assert!(page.contains("JST") && !shows_utc(&page), "{page}");
    gw.stop().await;
}

#[tokio::test]
async fn orders_are_paged() {
    let gw = spawn_gateway().await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    for i in 0..21 {
        buy_on_the_web(&gw, "open-rehearsal", &format!("+8190444420{i:02}")).await;
    }
    let (_, first) = office.get_json("/admin/events/open-rehearsal/orders").await;
    assert_eq!((first["total"].as_i64(), first["pages"].as_i64()), (Some(21), Some(2)), "{first}");
    assert_eq!(first["orders"].as_array().unwrap().len(), 20);
    let (_, second) = office.get_json(first["next"].as_str().expect("a next page")).await;
    assert_eq!(second["orders"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null() && second["prev"].is_string(), "{second}");
    gw.stop().await;
}

#[tokio::test]
async fn resend_reissue_and_cancel_are_confirmed_journalled_and_mailed_once() {
    resend_reissue_and_cancel_are_confirmed_journalled_and_mailed_once_on("sqlite").await;
}

#[tokio::test]
async fn resend_reissue_and_cancel_are_confirmed_journalled_and_mailed_once_in_postgres() {
    resend_reissue_and_cancel_are_confirmed_journalled_and_mailed_once_on("postgres").await;
}

async fn resend_reissue_and_cancel_are_confirmed_journalled_and_mailed_once_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let holder = "+819044443001";
    // The open rehearsal started yesterday: past the holder's cancellation deadline.
    let (order, _) = gw.paid_purchase(holder, "open-rehearsal").await;
    let pid = order["purchase_id"].as_str().unwrap().to_string();
    // Not issued yet: nothing to resend.
    let (status, _, _) = office.get(&format!("/admin/orders/{pid}/resend")).await;
    assert_eq!(status, 409);
    gw.call(holder, ISSUE).await;
    gw.mail(holder, "Your ticket").await;
    let epoch = gw.app.store.order_seats(&pid).await.unwrap()[0].epoch;

    // Resend: the GET changes nothing; the POST mails once; the same confirmation again does nothing more.
    let (csrf, step) = confirmation(&mut office, &pid, "resend").await;
    assert_eq!(gw.queued(holder, "Your ticket again").await, 0);
    let (status, _, location) =
        office.post(&format!("/admin/orders/{pid}/resend"), &[("csrf", &csrf), ("step", &step)]).await;
    assert_eq!((status, location), (303, Some(format!("/admin/orders/{pid}?done=resend"))));
    office.post(&format!("/admin/orders/{pid}/resend"), &[("csrf", &csrf), ("step", &step)]).await;
    assert_eq!(gw.queued(holder, "Your ticket again").await, 1);
    assert_eq!(journalled(&gw, &pid, "admin-resend").await, 1);
    assert_eq!(gw.app.store.order_seats(&pid).await.unwrap()[0].epoch, epoch, "a resend keeps the codes");
    let (_, page, _) = office.get(&format!("/admin/orders/{pid}?done=resend")).await;
    assert!(page.contains("data-done") && page.contains("holonic (back office)"), "{page}");

    // Re-issue: the seats' epochs move on, the new codes are mailed, once.
    let (csrf, step) = confirmation(&mut office, &pid, "reissue").await;
    office.post(&format!("/admin/orders/{pid}/reissue"), &[("csrf", &csrf), ("step", &step)]).await;
    office.post(&format!("/admin/orders/{pid}/reissue"), &[("csrf", &csrf), ("step", &step)]).await;
    assert_eq!(gw.app.store.order_seats(&pid).await.unwrap()[0].epoch, epoch + 1);
    assert_eq!(gw.queued(holder, "Your ticket again").await, 2);
    assert_eq!(journalled(&gw, &pid, "admin-reissue").await, 1);

    // Cancel after the holder's deadline: the holder's own page refuses, the organizer may.
    let (csrf, step) = confirmation(&mut office, &pid, "cancel").await;
    let (status, _, _) = office.post(&format!("/admin/orders/{pid}/cancel"), &[("csrf", &csrf), ("step", &step)]).await;
    assert_eq!(status, 303);
    let (status, _, _) = office.post(&format!("/admin/orders/{pid}/cancel"), &[("csrf", &csrf), ("step", &step)]).await;
    assert_eq!(status, 303, "the same confirmation again answers as before");
    let p = gw.app.store.purchase(&pid).await.unwrap().unwrap();
    assert_eq!(p.payment_status.as_str(), "refunded");
    assert_eq!(gw.queued(holder, "Cancelled and refunded").await, 1);
    assert_eq!(journalled(&gw, &pid, "refund").await, 1);
    assert_eq!(journalled(&gw, &pid, "admin-cancel").await, 1);
    let refund = gw.app.store.journal_for(&pid).await.unwrap().into_iter().find(|j| j.action == "refund").unwrap();
    assert!(refund.actor.starts_with("account:"), "{refund:?}");
    gw.mail(holder, "Cancelled and refunded").await;
    let (_, page, _) = office.get(&format!("/admin/orders/{pid}")).await;
    assert!(page.contains("data-state=\"cancelled\"") && page.contains("data-refunded"), "{page}");
    // A cancelled order offers no more actions.
    assert_eq!(office.get(&format!("/admin/orders/{pid}/resend")).await.0, 409);
    gw.settle().await;
    assert_eq!(gw.mails(holder, "Cancelled and refunded").len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn another_organizers_orders_are_403_and_a_post_without_its_token_changes_nothing() {
    let gw = spawn_gateway().await;
    load_other_organizer(&gw).await;
    let mut mine = organizer_office(&gw, "holonic", "holonic-hall").await;
    let mut other = organizer_office(&gw, "other", "other-hall").await;
    let holder = "+819044444001";
    let order = buy_on_the_web(&gw, "spring-gala-2027", holder).await;
    let pid = order["purchase_id"].as_str().unwrap().to_string();
    // URL guessing by the other organizer: the list, the order, its actions, the CSV.
    for path in [
        "/admin/events/spring-gala-2027/orders".to_string(),
        "/admin/events/spring-gala-2027/orders?q=090-4444-4001".to_string(),
        format!("/admin/orders/{pid}"),
        format!("/admin/orders/{pid}/cancel"),
        format!("/admin/orders/{pid}/resend"),
        "/admin/events/spring-gala-2027/orders.csv".to_string(),
        "/admin/events/spring-gala-2027/report".to_string(),
    ] {
        let (status, page, _) = other.get(&path).await;
        assert_eq!(status, 403, "{path}: {page}");
        assert!(!page.contains("090-4444-4001") && !page.contains("data-order"), "{path}: {page}");
    }
    let (_, home, _) = other.get("/admin/").await;
    let csrf = csrf_of(&home);
    let (status, _, _) = other.post(&format!("/admin/orders/{pid}/cancel"), &[("csrf", &csrf), ("step", "ab12")]).await;
    assert_eq!(status, 403);
    // Its own event's orders are its to see; an order id that does not exist is 404.
    assert_eq!(other.get("/admin/events/other-night/orders").await.0, 200);
    assert_eq!(other.get("/admin/orders/no-such-order").await.0, 404);
    // The owner, without the form's token (or with another's): refused, nothing changed.
    let (_, step) = confirmation(&mut mine, &pid, "cancel").await;
    for fields in [vec![("step", step.as_str())], vec![("csrf", csrf.as_str()), ("step", step.as_str())]] {
        let (status, page, _) = mine.post(&format!("/admin/orders/{pid}/cancel"), &fields).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("This form has expired"), "{page}");
    }
    let p = gw.app.store.purchase(&pid).await.unwrap().unwrap();
    assert_eq!(p.payment_status.as_str(), "paid");
    assert_eq!(gw.queued(holder, "Cancelled").await, 0);
    // Nobody signed in: the login page.
    let (status, _, location) = Office::new(&gw.admin).get(&format!("/admin/orders/{pid}")).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    gw.stop().await;
}

#[tokio::test]
async fn the_sales_page_charts_the_days_and_splits_by_method_and_channel_and_the_csv_has_every_order() {
    the_sales_page_charts_the_days_and_splits_by_method_and_channel_and_the_csv_has_every_order_on("sqlite").await;
}

#[tokio::test]
async fn the_sales_page_charts_the_days_and_splits_by_method_and_channel_and_the_csv_has_every_order_in_postgres() {
    the_sales_page_charts_the_days_and_splits_by_method_and_channel_and_the_csv_has_every_order_on("postgres").await;
}

async fn the_sales_page_charts_the_days_and_splits_by_method_and_channel_and_the_csv_has_every_order_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let (caller, web_holder) = ("+819044445001", "+819044445002");
    let (from_call, _) = gw.paid_purchase(caller, "spring-gala-2027").await;
    let from_web = buy_on_the_web(&gw, "spring-gala-2027", web_holder).await;
    name_holder(&gw, web_holder, "佐藤, \"次郎\"").await;
    let (status, page, _) = office.get("/admin/events/spring-gala-2027/report").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<svg") && page.contains("data-tickets=\"2\""), "today's bar holds both: {page}");
    for channel in ["phone-link", "web"] {
        let row = &page[page.find(&format!("data-channel=\"{channel}\"")).expect(channel)..];
        assert!(row[..row.find("</tr>").unwrap()].contains("data-tickets>1<"), "{channel}: {row}");
    }
    let row = &page[page.find("data-method=\"card\"").expect("card")..];
    assert!(row[..row.find("</tr>").unwrap()].contains("data-tickets>2<"), "{row}");
    assert!(!shows_utc(&page), "{page}");
    // The CSV: a BOM, the header, one row per order.
    let resp = reqwest::Client::new()
        .get(gw.admin_url("/admin/events/spring-gala-2027/orders.csv"))
        .header("cookie", format!("dialticket_admin={}", office.cookie("dialticket_admin").unwrap()))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("orders-spring-gala-2027.csv"));
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with a BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "Order number,Event,Seat type,Seats,Quantity,Amount,Payment method,State,Channel,Holder's phone,Name,Ordered (venue time)"
    );
    assert_eq!(lines.len(), 3, "{text}");
    let (a, b) = (from_call["purchase_id"].as_str().unwrap(), from_web["purchase_id"].as_str().unwrap());
    let web_row = lines.iter().find(|l| l.starts_with(b)).expect("the web order's row");
    let seat = from_web["seats"][0].as_str().unwrap();
    assert!(web_row.starts_with(&format!("{b},Spring Gala,S seat (stalls),{seat},1,9800,Credit card,")), "{web_row}");
    assert!(web_row.contains(",Web shop,+819044445002,\"佐藤, \"\"次郎\"\"\","), "{web_row}");
    assert!(web_row.ends_with("+09:00"), "venue time: {web_row}");
    assert!(lines.iter().any(|l| l.starts_with(a) && l.contains(",Phone call's link,+819044445001,,")), "{text}");
    gw.stop().await;
}

#[test]
fn utc_spelt_by_a_random_token_is_not_shown_but_utc_in_the_text_is() {
    assert!(!shows_utc(r#"<input name="csrf" value="rzlrUTCq9"><p>Mon 7 Dec 2026, 05:55 JST</p>"#));
    assert!(shows_utc(r#"<input name="csrf" value="x"><p>Mon 7 Dec 2026, 05:55 UTC</p>"#));
    assert!(shows_utc("<p>20:55 UTC</p>"));
}
