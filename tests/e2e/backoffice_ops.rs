//! The operators' pages of the back office (issue 20, step 8, and the konbini
//! reference of step 10): the route tester, the outbox with retry, flood blocks
//! with unblock, phone users, konbini payments confirmed paid, signing keys.
//! Operators only: an organizer gets 403, a visitor the login page.

use std::time::{Duration, Instant};

use crate::backoffice::{csrf_of, operator_link, set_password, Office};
use crate::backoffice_orders::organizer_office;
use crate::helpers::*;

/// Every operator page.
pub const PAGES: [&str; 6] = [
    "/admin/ops/dialplan",
    "/admin/ops/outbox",
    "/admin/ops/blocks",
    "/admin/ops/phones",
    "/admin/ops/payments",
    "/admin/ops/keys",
];

/// A signed-in operator's office.
pub async fn operator_office(gw: &TestGateway, name: &str) -> Office {
    let link = operator_link(gw, name).await;
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &link, "operator password 1").await;
    office
}

/// Block `source` with a flood: INVITEs from it over UDP, each a new call (to a
/// number no rule takes, so nobody is mailed), until the gateway's limiter blocks
/// it. The key as the pages name it.
pub async fn flood_from(gw: &TestGateway, source: &str) -> String {
    let socket = tokio::net::UdpSocket::bind(format!("{source}:0")).await.expect("bind the flooding address");
    let me = socket.local_addr().expect("address");
    let key = dialticket::flood::Key::Source(me.ip());
    // The default limit is 20 new calls a second from one address: the 21st blocks it.
    for i in 0..30 {
        let invite = format!(
            "INVITE sip:+442079469999@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ops-{i};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:+8170{i:08}@{ip}>;tag=f{i}\r\nTo: <sip:+442079469999@{gw}>\r\n\
             Call-ID: ops-flood-{i}@{ip}\r\nCSeq: 1 INVITE\r\nContact: <sip:flood@{me}>\r\nContent-Length: 0\r\n\r\n",
            gw = gw.sip,
            ip = me.ip()
        );
        socket.send_to(invite.as_bytes(), gw.sip).await.expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gw.app.flood.blocked(Instant::now()).iter().any(|b| b.key == key) {
        assert!(Instant::now() < deadline, "{key} was never blocked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    key.to_admin_string()
}

/// A konbini order for `phone` (called in, the purchase link opened): its purchase id and payment number.
pub async fn konbini_order(gw: &TestGateway, phone: &str, event: &str) -> (String, String) {
    konbini_order_via(gw, phone, event, PURCHASE, "purchase link").await
}

/// [`konbini_order`] calling purchase `number`, whose link mail's subject has `subject`.
pub async fn konbini_order_via(
    gw: &TestGateway,
    phone: &str,
    event: &str,
    number: &str,
    subject: &str,
) -> (String, String) {
    gw.call(phone, number).await;
    let link = gw.link(&gw.mail(phone, subject).await, "/p/");
    let (status, order) = gw.order_form(&link, event, &[("payment_method", "konbini")]).await;
    assert_eq!((status, order["status"].as_str()), (202, Some("pending")), "{order}");
    let id = order["purchase_id"].as_str().expect("purchase id").to_string();
    let p = gw.app.store.purchase(&id).await.expect("read").expect("the purchase");
    (id, p.payment_ref.expect("a payment number"))
}

/// Wait until outbox mail `id` is in `state`.
async fn mail_state(gw: &TestGateway, id: i64, state: &str) {
    for _ in 0..200 {
        let mail = gw.app.store.outbox_mail(id).await.expect("read").expect("the mail");
        if mail.state == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mail {id} never became {state}");
}

#[tokio::test]
async fn operator_pages_are_for_operators_only() {
    let gw = spawn_gateway().await;
    let mut ops = operator_office(&gw, "ops").await;
    let mut org = organizer_office(&gw, "holonic", "holonic-hall").await;
    for path in PAGES {
        let (status, page, _) = ops.get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(page.contains("href=\"/admin/ops/blocks\""), "the operations menu: {page}");
        let (status, page, _) = org.get(path).await;
        assert_eq!(status, 403, "{path}: {page}");
        assert!(page.contains("Only operators"), "{page}");
        let (status, _, location) = Office::new(&gw.admin).get(path).await;
        assert_eq!((status, location.as_deref()), (303, Some("/admin/login")), "{path}");
        // Nor is any of it on the public listener.
        assert_eq!(Office::new(&gw.base).get(path).await.0, 404, "public {path}");
    }
    // A door device's staff token opens nothing here (as a bearer token or a cookie).
    let made = gw.app.store.add_staff("open-rehearsal", "Aiko", None, true, "test", dialticket::store::now()).await;
    let token = made.expect("staff made").api_token.expect("an API token");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for path in PAGES {
        let resp = http.get(gw.admin_url(path)).bearer_auth(&token).send().await.expect("GET");
        assert_eq!(resp.status(), 303, "{path} with a staff token");
        let resp = http.get(gw.admin_url(path)).header("cookie", format!("dialticket_staff={token}")).send();
        assert_eq!(resp.await.expect("GET").status(), 303, "{path} with a staff cookie");
    }
    // The organizer's menu has no operations.
    let (_, page, _) = org.get("/admin/").await;
    assert!(!page.contains("/admin/ops/"), "{page}");
    // An organizer's forms, with its own valid token, change nothing either.
    let csrf = csrf_of(&page);
    let key = flood_from(&gw, "127.0.0.41").await;
    for (path, fields) in [
        ("/admin/ops/blocks/unblock", vec![("csrf", csrf.as_str()), ("key", key.as_str())]),
        (
            "/admin/ops/phones/mail",
            vec![("csrf", csrf.as_str()), ("phone", "+819012345678"), ("address", "x@example.com")],
        ),
        ("/admin/ops/payments/NOPE/confirm", vec![("csrf", csrf.as_str())]),
        ("/admin/ops/outbox/1/retry", vec![("csrf", csrf.as_str())]),
    ] {
        assert_eq!(org.post(path, &fields).await.0, 403, "{path}");
    }
    assert_eq!(gw.app.flood.blocked(Instant::now()).len(), 1, "still blocked");
    // The keys page names key ids, never key material.
    let (_, page, _) = ops.get("/admin/ops/keys").await;
    assert!(page.contains(gw.app.links.kid()), "{page}");
    for secret in ["PRIVATE KEY", "-----BEGIN", "MC4CAQAw"] {
        assert!(!page.contains(secret), "{secret} on the keys page");
    }
    gw.stop().await;
}

#[tokio::test]
async fn the_route_tester_says_which_rule_takes_a_call_and_keeps_the_form() {
    let gw = spawn_gateway().await;
    let mut ops = operator_office(&gw, "ops").await;
    let (status, page, _) =
        ops.get("/admin/ops/dialplan?to=%2B81300000100&from=%2B819012345678&trunk=loopback-proxy").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-result=\"purchase\""), "{page}");
    assert!(page.contains("default.toml:"), "the rule's file and line: {page}");
    assert!(page.contains("<dd class=\"mono\">127.0.0.1</dd>"), "the trunk's address: {page}");
    assert!(page.contains("value=\"+819012345678\""), "the form kept: {page}");
    // A number no rule takes: says so, and why each rule did not.
    let (_, page, _) = ops.get("/admin/ops/dialplan?to=%2B442079469999").await;
    assert!(page.contains("data-result=\"none\"") && page.contains("No rule takes this call"), "{page}");
    assert!(page.contains("data-step=\"number\""), "{page}");
    // Input that cannot be read: refused with the form as typed.
    let (status, page, _) = ops.get("/admin/ops/dialplan?to=%2B81300000100&source=not-an-ip").await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("not an IP address") && page.contains("value=\"not-an-ip\""), "{page}");
    // The JSON route stays for scripts, on the same code.
    let (status, body) = gw.admin_get("/dialplan/route?to=%2B81300000100").await;
    assert_eq!(status, 200, "{body}");
    let steps = body["steps"].as_array().expect("steps");
    assert!(steps.iter().any(|s| s["reason"] == "matches"), "{body}");
    assert!(steps.iter().any(|s| s["reason"] == "number"), "{body}");
    gw.stop().await;
}

#[tokio::test]
async fn a_failed_mail_is_found_by_state_and_recipient_and_retried_once() {
    a_failed_mail_is_found_by_state_and_recipient_and_retried_once_on("sqlite").await;
}

#[tokio::test]
async fn a_failed_mail_is_found_by_state_and_recipient_and_retried_once_in_postgres() {
    a_failed_mail_is_found_by_state_and_recipient_and_retried_once_on("postgres").await;
}

async fn a_failed_mail_is_found_by_state_and_recipient_and_retried_once_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let mut ops = operator_office(&gw, "ops").await;
    let phone = "+819066660021";
    gw.mailbox.set_refusing(Some(550));
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let id =
        gw.app.store.outbox(10).await.expect("outbox").iter().find(|m| m.to_addr.contains(phone)).expect("queued").id;
    mail_state(&gw, id, "failed").await;
    let (status, page, _) = ops.get("/admin/ops/outbox?state=failed&to=066660021").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-mail=\"{id}\" data-state=\"failed\"")), "{page}");
    assert!(page.contains("data-last-error"), "the relay's answer is shown: {page}");
    let (_, page, _) = ops.get("/admin/ops/outbox?state=sent").await;
    assert!(!page.contains(&format!("data-mail=\"{id}\"")), "{page}");
    let (_, page, _) = ops.get("/admin/ops/outbox?to=nobody-like-this").await;
    assert!(page.contains("data-none"), "{page}");
    // Its page shows the text and the HTML in a frame that runs nothing.
    let (status, page, _) = ops.get(&format!("/admin/ops/outbox/{id}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("sandbox=\"\" srcdoc=") && page.contains("&#x2f;p&#x2f;"), "{page}");
    // Without its token the retry is refused and nothing changes.
    let retry = format!("/admin/ops/outbox/{id}/retry");
    assert_eq!(ops.post(&retry, &[]).await.0, 403);
    assert_eq!(ops.post(&retry, &[("csrf", "forged")]).await.0, 403);
    assert_eq!(gw.app.store.outbox_mail(id).await.unwrap().unwrap().state, "failed");
    gw.mailbox.set_refusing(None);
    let csrf = csrf_of(&page);
    let (status, _, location) = ops.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!((status, location), (303, Some(format!("/admin/ops/outbox/{id}?done=retry"))));
    mail_state(&gw, id, "sent").await;
    gw.mail(phone, "purchase link").await;
    // A second press finds it sent: refused, nothing sent twice.
    let (status, page, _) = ops.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("no longer failed"), "{page}");
    gw.settle().await;
    assert_eq!(gw.mails(phone, "purchase link").len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn unblock_lifts_a_flood_block_at_once() {
    let gw = spawn_gateway().await;
    let mut ops = operator_office(&gw, "ops").await;
    let key = flood_from(&gw, "127.0.0.42").await;
    let (status, page, _) = ops.get("/admin/ops/blocks").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-block=\"{key}\"")), "{page}");
    assert!(page.contains("Too many calls from this address") && page.contains("JST"), "{page}");
    assert!(!shows_utc(&page), "{page}");
    assert_eq!(ops.post("/admin/ops/blocks/unblock", &[("key", &key)]).await.0, 403, "no CSRF token");
    assert_eq!(gw.app.flood.blocked(Instant::now()).len(), 1);
    let csrf = csrf_of(&page);
    let (status, _, location) = ops.post("/admin/ops/blocks/unblock", &[("csrf", &csrf), ("key", &key)]).await;
    assert_eq!(status, 303);
    assert!(gw.app.flood.blocked(Instant::now()).is_empty(), "unblocked");
    let (_, page, _) = ops.get(&location.expect("back to the list")).await;
    assert!(page.contains("data-done") && page.contains("data-none"), "{page}");
    // Again: it is not blocked any more.
    let (status, page, _) = ops.post("/admin/ops/blocks/unblock", &[("csrf", &csrf), ("key", &key)]).await;
    assert_eq!(status, 404, "{page}");
    gw.stop().await;
}

#[tokio::test]
async fn a_caller_is_found_by_phone_as_typed_and_its_mail_address_changed() {
    let gw = spawn_gateway().await;
    let mut ops = operator_office(&gw, "ops").await;
    let phone = "+819066660022";
    let (order, _) = gw.paid_purchase(phone, "spring-gala-2027").await;
    let pid = order["purchase_id"].as_str().expect("purchase id");
    for typed in ["090-6666-0022", "+81 90 6666 0022", "09066660022"] {
        let q: String = url::form_urlencoded::byte_serialize(typed.as_bytes()).collect();
        let (status, page, _) = ops.get(&format!("/admin/ops/phones?phone={q}")).await;
        assert_eq!(status, 200, "{typed}: {page}");
        assert!(page.contains(&format!("data-user=\"{phone}\"")), "{page}");
        assert!(
            page.contains(&format!("data-order=\"{pid}\"><h3><a href=\"&#x2f;admin&#x2f;orders&#x2f;{pid}\"")),
            "{page}"
        );
        assert!(page.contains("data-carrier") && page.contains(&TestGateway::address(phone)), "{page}");
    }
    let (status, page, _) = ops.get("/admin/ops/phones?phone=090-1111-9999").await;
    assert_eq!(status, 404, "{page}");
    let (status, _, _) = ops.get("/admin/ops/phones?phone=12").await;
    assert_eq!(status, 422);
    // A bad address: refused, as typed.
    let (_, page, _) = ops.get("/admin/ops/phones?phone=090-6666-0022").await;
    let csrf = csrf_of(&page);
    let fields = [("csrf", csrf.as_str()), ("phone", phone), ("address", "not an address")];
    let (status, page, _) = ops.post("/admin/ops/phones/mail", &fields).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("data-mail-error") && page.contains("value=\"not an address\""), "{page}");
    assert_eq!(ops.post("/admin/ops/phones/mail", &fields[1..]).await.0, 403, "no CSRF token");
    let fields = [("csrf", csrf.as_str()), ("phone", phone), ("address", "hanako@example.com")];
    let (status, _, location) = ops.post("/admin/ops/phones/mail", &fields).await;
    assert_eq!(status, 303);
    let user = gw.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap()).await.unwrap().unwrap();
    assert_eq!(user.mail_address.as_deref(), Some("hanako@example.com"));
    let (_, page, _) = ops.get(&location.expect("back to the phone")).await;
    assert!(page.contains("data-registered") && page.contains("hanako@example.com"), "{page}");
    gw.stop().await;
}

#[tokio::test]
async fn a_konbini_payment_confirmed_paid_settles_once_and_mails_once() {
    a_konbini_payment_confirmed_paid_settles_once_and_mails_once_on("sqlite").await;
}

#[tokio::test]
async fn a_konbini_payment_confirmed_paid_settles_once_and_mails_once_in_postgres() {
    a_konbini_payment_confirmed_paid_settles_once_and_mails_once_on("postgres").await;
}

async fn a_konbini_payment_confirmed_paid_settles_once_and_mails_once_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    let mut ops = operator_office(&gw, "ops").await;
    let mut org = organizer_office(&gw, "holonic", "holonic-hall").await;
    let phone = "+819066660023";
    let (pid, reference) = konbini_order(&gw, phone, "spring-gala-2027").await;
    // The order page shows the payment number and what is due by when; its organizer sees no button.
    let (status, page, _) = org.get(&format!("/admin/orders/{pid}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-konbini=\"{reference}\"")), "{page}");
    assert!(!page.contains("data-confirm-paid"), "{page}");
    let (_, page, _) = ops.get(&format!("/admin/orders/{pid}")).await;
    assert!(page.contains(&format!("data-confirm-paid=\"{reference}\"")), "{page}");
    let (status, page, _) = ops.get("/admin/ops/payments").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-payment=\"{reference}\"")) && page.contains("JST"), "{page}");
    let confirm = format!("/admin/ops/payments/{reference}/confirm");
    assert_eq!(ops.post(&confirm, &[]).await.0, 403, "no CSRF token");
    let p = gw.app.store.purchase(&pid).await.unwrap().unwrap();
    assert_eq!(p.payment_status.as_str(), "pending");
    let csrf = csrf_of(&page);
    let (status, _, location) = ops.post(&confirm, &[("csrf", &csrf)]).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some(format!("/admin/ops/payments?confirmed={reference}").as_str()))
    );
    let p = gw.app.store.purchase(&pid).await.unwrap().unwrap();
    assert_eq!(p.payment_status.as_str(), "paid");
    gw.mail(phone, "Payment received").await;
    // Pressed again (a second tab): the same answer, nothing new.
    assert_eq!(ops.post(&confirm, &[("csrf", &csrf)]).await.0, 303);
    let (_, page, _) = ops.get("/admin/ops/payments").await;
    assert!(!page.contains(&format!("data-payment=\"{reference}\"")) && page.contains("data-none"), "{page}");
    gw.settle().await;
    assert_eq!(gw.mails(phone, "Payment received").len(), 1, "the issue guide went out once");
    // Another one, confirmed from its order's page: back there, paid, said so.
    let other = "+819066660025";
    let (pid, reference) = konbini_order(&gw, other, "spring-gala-2027").await;
    let (_, page, _) = ops.get(&format!("/admin/orders/{pid}")).await;
    let csrf = csrf_of(&page);
    let confirm = format!("/admin/ops/payments/{reference}/confirm");
    let (status, _, location) = ops.post(&confirm, &[("csrf", &csrf), ("order", &pid)]).await;
    assert_eq!((status, location.clone()), (303, Some(format!("/admin/orders/{pid}?done=paid"))));
    let (_, page, _) = ops.get(&location.expect("the order")).await;
    assert!(page.contains("data-done") && page.contains("The payment is confirmed"), "{page}");
    assert!(!page.contains("data-konbini"), "no longer waiting: {page}");
    gw.mail(other, "Payment received").await;
    // A made-up number: 404 with the list.
    let (status, page, _) = ops.post("/admin/ops/payments/NOPE-0000/confirm", &[("csrf", &csrf)]).await;
    assert_eq!(status, 404, "{page}");
    gw.stop().await;
}

#[tokio::test]
async fn the_keys_page_names_the_signing_and_retired_keys_and_no_key_material() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("signing-key.pem");
    dialticket::links::Links::load_or_generate(&key, "http://127.0.0.1").expect("a key");
    let (old, new) = dialticket::links::rotate(&key).expect("rotated");
    let gw = spawn_gateway_with(|c| c.signing_key = key.clone()).await;
    let mut ops = operator_office(&gw, "ops").await;
    let (status, page, _) = ops.get("/admin/ops/keys").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-signing>{new}<")), "{page}");
    assert!(page.contains(&format!("data-retired=\"{old}\"")), "{page}");
    assert!(page.contains("accepted until") && page.contains("Asia&#x2f;Tokyo"), "{page}");
    let pem = std::fs::read_to_string(&key).expect("the key file");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for secret in ["PRIVATE KEY", "-----BEGIN", body.as_str()] {
        assert!(!page.contains(secret), "{secret} on the keys page");
    }
    gw.stop().await;
}

/// A failed mail that a newer one of its kind has overtaken: Retry says so (409)
/// and sends nothing; the page's "send it anyway" then does.
#[tokio::test]
async fn a_retry_overtaken_by_a_newer_mail_asks_first_then_sends_anyway() {
    let gw = spawn_gateway().await;
    let mut ops = operator_office(&gw, "ops").await;
    let phone = "+819066660024";
    gw.mailbox.set_refusing(Some(550));
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let id =
        gw.app.store.outbox(10).await.expect("outbox").iter().find(|m| m.to_addr.contains(phone)).expect("queued").id;
    mail_state(&gw, id, "failed").await;
    gw.mailbox.set_refusing(None);
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    gw.mail(phone, "purchase link").await;
    gw.settle().await;
    let (_, page, _) = ops.get(&format!("/admin/ops/outbox/{id}")).await;
    let csrf = csrf_of(&page);
    let retry = format!("/admin/ops/outbox/{id}/retry");
    let (status, page, _) = ops.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("reached the recipient after this one failed"), "{page}");
    assert!(page.contains("name=\"anyway\" value=\"1\"") && page.contains("Send it anyway"), "{page}");
    assert_eq!(gw.app.store.outbox_mail(id).await.unwrap().unwrap().state, "failed", "not sent");
    let (status, _, _) = ops.post(&retry, &[("csrf", &csrf), ("anyway", "1")]).await;
    assert_eq!(status, 303);
    mail_state(&gw, id, "sent").await;
    assert_eq!(gw.mails(phone, "purchase link").len(), 2, "the newer link, then the one sent again");
    gw.stop().await;
}
