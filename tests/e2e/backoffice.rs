//! The back office's foundation: the admin listener apart from the public one.

use crate::helpers::*;

const TOKEN: &str = "backoffice-admin-token-0123";

/// Status of a GET to `url` (no redirects followed).
async fn status_of(url: &str) -> u16 {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    client.get(url).bearer_auth(TOKEN).send().await.expect("GET").status().as_u16()
}

/// The public listener answers 404 for every operator path (even with the admin
/// token), while the admin listener serves them; the public pages stay public.
#[tokio::test]
async fn operator_pages_and_the_admin_api_live_only_on_the_admin_listener() {
    // No SMTP relay: the local outbox is on, so a 404 for it is the listener's doing.
    let gw = spawn_gateway_with(|c| {
        c.admin_token = Some(TOKEN.into());
        c.smtp_url = None;
    })
    .await;
    for path in [
        "/metrics",
        "/dialplan",
        "/dialplan/route?to=%2B442079460100",
        "/outbox",
        "/outbox/1",
        "/admin/",
        "/admin/catalog",
        "/admin/blocks",
        "/admin/journal.csv",
        "/admin/events/spring-gala-2027/sales",
    ] {
        assert_eq!(status_of(&format!("{}{path}", gw.base)).await, 404, "public {path}");
    }
    // A POST of the admin API is no better off on the public listener.
    let post = reqwest::Client::new()
        .post(format!("{}/admin/catalog", gw.base))
        .bearer_auth(TOKEN)
        .body("[[organizers]]\nid = \"x\"\nname = \"X\"\n")
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 404);
    for path in [
        "/metrics",
        "/dialplan",
        "/outbox",
        "/admin/blocks",
        "/admin/journal.csv",
        "/admin/events/spring-gala-2027/sales",
    ] {
        assert_eq!(status_of(&gw.admin_url(path)).await, 200, "admin {path}");
    }
    assert!(gw.metrics().await.contains("dialticket_"), "Prometheus text on the admin listener");
    // The public listener keeps the shop, the door staff's pages, assets and health.
    for path in ["/", "/buy", "/healthz", "/staff", "/assets/staff.js"] {
        let status = status_of(&format!("{}{path}", gw.base)).await;
        assert!(status != 404 && status < 500, "public {path}: {status}");
    }
    // And the admin listener is not a second shop.
    assert_eq!(status_of(&gw.admin_url("/buy")).await, 404);
    gw.stop().await;
}
