//! What every page gets (the hardening issue, item 11): headers for pages whose
//! URL is the credential, form posts from other sites refused, a ticket code that
//! shows its holder's number masked, and a health check that notices a database
//! which no longer takes writes.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_their_urls_to_themselves() {
    let gw = spawn_gateway().await;
    let phone = "+819099990001";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let resp = reqwest::get(&link).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(get("referrer-policy"), "no-referrer");
    assert_eq!(get("cache-control"), "no-store");
    assert_eq!(get("x-content-type-options"), "nosniff");
    assert_eq!(get("x-frame-options"), "DENY");
    let csp = get("content-security-policy");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    // Scripts only from our own files (`/assets/`): no inline script, no eval, no other site.
    assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"), "{csp}");
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap_or_default();
    assert_eq!(script_src.trim(), "script-src 'self'", "{csp}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_from_another_site_is_refused_and_changes_nothing() {
    let gw = spawn_gateway().await;
    let phone = "+819099990002";
    gw.call(phone, PURCHASE).await;
    let link = gw.link(&gw.mail(phone, "purchase link").await, "/p/");
    let http = reqwest::Client::new();
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut r = http.post(format!("{link}/profile")).form(&[("name", "Mallory")]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        r.header("accept", "application/json").send()
    };
    let refused = [
        (Some("https://evil.example"), None),
        (None, Some("cross-site")),
        (None, Some("same-site")),
        // Fetch Metadata decides when a browser sends it, whatever Origin says.
        (Some(gw.base.as_str()), Some("cross-site")),
        (Some("null"), Some("cross-site")),
    ];
    for (origin, site) in refused {
        let resp = post(origin, site).await.unwrap();
        assert_eq!(resp.status(), 403, "{origin:?} {site:?}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("another site"), "{body}");
    }
    let user = gw.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap()).await.unwrap().unwrap();
    assert!(gw.app.store.profile(&user.user_number).await.unwrap().is_none(), "nothing was saved");
    // From our own pages (the browser says so) it goes through.
    let resp = post(Some(gw.base.as_str()), Some("same-origin")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(gw.app.store.profile(&user.user_number).await.unwrap().is_some());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_code_shows_its_holders_number_masked() {
    let gw = spawn_gateway().await;
    let phone = "+819099990003";
    gw.paid_purchase(phone, "open-rehearsal").await;
    gw.call(phone, ISSUE).await;
    let ticket = gw.link(&gw.mail(phone, "Your ticket").await, "/t/");
    let (_, page) = gw.get(&ticket).await;
    let (status, check) = gw.get(page["verify_url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["phone"], "+81••••••0003", "{check}");
    let (_, html) = gw.browser.get_html(&format!("{}{}", gw.base, page["verify_url"].as_str().unwrap())).await.unwrap();
    assert!(!html.contains("819099990003") && html.contains("0003"), "{html}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_so_when_the_database_takes_no_writes() {
    let dir = tempfile::tempdir().unwrap();
    let gw = spawn_gateway_with(state_in(dir.path())).await;
    let (status, health) = gw.get("/healthz").await;
    assert_eq!((status, health["database"].as_str()), (200, Some("ok")), "{health}");
    // As a full disk would: every write fails, reads still answer.
    let db = format!("sqlite://{}", dir.path().join("shared.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER full_disk BEFORE UPDATE ON health BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let (status, health) = gw.get("/healthz").await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "degraded");
    assert!(health["database"].as_str().unwrap().contains("not writable"), "{health}");
    sqlx::query("DROP TRIGGER full_disk").execute(&mut conn).await.unwrap();
    assert_eq!(gw.get("/healthz").await.0, 200, "writable again");
    gw.stop().await;
}

/// A small write may still fit where a call's transaction does not (an outside
/// test filled the disk: calls failed "database or disk is full" while a one-row
/// probe went through), so the free space where the database lives counts too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_so_when_the_disk_is_nearly_full() {
    // More free space asked for than any disk has: as if this one were full.
    let gw = spawn_gateway_with(|c| c.disk_min_free_mb = u64::MAX / (1024 * 1024)).await;
    let (status, health) = gw.get("/healthz").await;
    assert_eq!(status, 503, "{health}");
    assert!(health["database"].as_str().unwrap().contains("disk is nearly full"), "{health}");
    assert!(health["disk_free_bytes"].as_u64().is_some(), "{health}");
    gw.stop().await;
    let gw = spawn_gateway().await;
    let (status, health) = gw.get("/healthz").await;
    assert_eq!((status, health["database"].as_str()), (200, Some("ok")), "{health}");
    gw.stop().await;
}
