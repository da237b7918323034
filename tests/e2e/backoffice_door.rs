//! The door in the back office (issue 20, step 6): the door page's counters per
//! gate and inside now at a re-entry event, its recent scans with an offline
//! upload and a conflict, staff accounts made and revoked from the back office
//! (a revoked device's scan gets 401), CSRF on every form, organizers kept apart.

use serde_json::{json, Value};

use crate::backoffice::{csrf_of, load_other_organizer};
use crate::backoffice_orders::organizer_office;
use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

/// What minijinja's HTML escaping made of `s`, undone.
pub fn unescaped(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the element marked `attr` (`data-login-url>…<`) in `page`.
pub fn marked(page: &str, attr: &str) -> Option<String> {
    let at = page.find(&format!("{attr}>"))? + attr.len() + 1;
    let rest = &page[at..];
    Some(unescaped(&rest[..rest.find('<')?]))
}

async fn device(gw: &TestGateway, name: &str, gate: &str) -> String {
    let made = gw.app.store.add_staff(EVENT, name, Some(gate), true, "test", dialticket::store::now()).await.unwrap();
    made.api_token.expect("an API token")
}

async fn scan(gw: &TestGateway, token: &str, code: &str, direction: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/staff/api/scan", gw.base))
        .bearer_auth(token)
        .json(&json!({"code": code, "direction": direction}))
        .send()
        .await
        .expect("scan");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn upload(gw: &TestGateway, token: &str, scans: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/staff/api/offline-scans", gw.base))
        .bearer_auth(token)
        .json(&json!({ "scans": scans }))
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_page_counts_per_gate_lists_scans_offline_uploads_and_conflicts() {
    door_page_on("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_page_counts_per_gate_lists_scans_offline_uploads_and_conflicts_in_postgres() {
    door_page_on("postgres").await;
}

async fn door_page_on(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let gw = spawn_gateway_with(|c| c.database_url = url).await;
    gw.allow_reentry(EVENT).await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let (_, page) = gw.issued_ticket("+819055550601", EVENT, 3, true).await;
    let codes: Vec<String> =
        page["tickets"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap().to_string()).collect();
    let (at_b, at_c) = (device(&gw, "Aiko", "B").await, device(&gw, "Ren", "C").await);

    // Nothing scanned yet: three expected at gate B (the catalog's gate of these seats).
    let (status, door) = office.get_json(&format!("/admin/events/{EVENT}/door")).await;
    assert_eq!(status, 200, "{door}");
    assert_eq!(
        (door["admitted"].as_i64(), door["expected"].as_i64(), door["inside"].as_i64()),
        (Some(0), Some(3), Some(0))
    );
    assert_eq!(door["gates"], json!([{"key": "B", "name": "B", "expected": 3, "admitted": 0}]), "{door}");

    // In at B, in at C, out again at C; the third seat in offline at B, and at C too (a conflict).
    assert_eq!(scan(&gw, &at_b, &codes[0], "in").await.1["result"], "admitted");
    assert_eq!(scan(&gw, &at_c, &codes[1], "in").await.1["result"], "admitted");
    assert_eq!(scan(&gw, &at_c, &codes[0], "out").await.1["result"], "checked_out");
    let t = dialticket::store::now();
    let first = upload(&gw, &at_b, json!([{"id": "o1", "code": codes[2], "at": t - 90}])).await;
    assert_eq!(first["results"][0]["result"], "admitted", "{first}");
    let second = upload(&gw, &at_c, json!([{"id": "o2", "code": codes[2], "at": t - 30}])).await;
    assert_eq!(second["results"][0]["result"], "conflict", "{second}");

    let (_, door) = office.get_json(&format!("/admin/events/{EVENT}/door")).await;
    assert_eq!(
        (door["admitted"].as_i64(), door["expected"].as_i64(), door["inside"].as_i64()),
        (Some(3), Some(3), Some(2))
    );
    assert_eq!(
        door["gates"],
        json!([{"key": "B", "name": "B", "expected": 3, "admitted": 2}, {"key": "C", "name": "C", "expected": 0, "admitted": 1}]),
        "{door}"
    );
    let scans = door["scans"].as_array().expect("scans");
    let results: Vec<&str> = scans.iter().map(|s| s["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["conflict", "admitted", "checked_out", "admitted", "admitted"], "newest first: {door}");
    assert_eq!(
        (scans[0]["staff"].as_str(), scans[0]["gate"].as_str(), &scans[0]["offline"]),
        (Some("Ren"), Some("C"), &json!(true))
    );
    assert_eq!((scans[1]["staff"].as_str(), scans[1]["mode"].as_str()), (Some("Aiko"), Some("Offline (uploaded)")));
    assert_eq!((scans[2]["direction"].as_str(), &scans[2]["offline"]), (Some("Out"), &json!(false)));
    assert!(scans.iter().all(|s| s["at"].as_str().unwrap().ends_with(" JST")), "venue clock: {door}");
    let seat = scans[0]["seat"].as_str().unwrap();
    assert_eq!(door["conflicts"].as_array().map(Vec::len), Some(1), "{door}");
    let c = &door["conflicts"][0];
    assert_eq!(
        (c["seat"].as_str(), c["first_by"].as_str(), c["second_by"].as_str()),
        (Some(seat), Some("Aiko"), Some("Ren"))
    );

    // The HTML page: the same figures, a refresh link, the script that keeps it live; in Japanese too.
    let (status, html, _) = office.get(&format!("/admin/events/{EVENT}/door")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-live=\"admitted\">3<") && html.contains("data-live=\"inside\">2<"), "{html}");
    assert!(html.contains("data-refresh") && html.contains("/assets/admin-door.js") && !shows_utc(&html), "{html}");
    let (_, event_page, _) = office.get(&format!("/admin/events/{EVENT}")).await;
    assert!(
        event_page.contains(&format!("href=\"&#x2f;admin&#x2f;events&#x2f;{EVENT}&#x2f;door\""))
            || event_page.contains("data-door"),
        "linked"
    );
    let js = reqwest::get(format!("{}/assets/admin-door.js", gw.admin)).await.unwrap();
    assert_eq!(js.status().as_u16(), 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_made_and_revoked_in_the_back_office_scan_and_then_get_401() {
    let gw = spawn_gateway().await;
    load_other_organizer(&gw).await;
    let mut office = organizer_office(&gw, "holonic", "holonic-hall").await;
    let (_, page) = gw.issued_ticket("+819055550602", EVENT, 1, true).await;
    let code = page["tickets"][0]["code"].as_str().unwrap().to_string();
    let door = format!("/admin/events/{EVENT}/door");
    let (_, html, _) = office.get(&door).await;
    let csrf = csrf_of(&html);

    // Refused without the CSRF token, and a bad gate keeps what was typed.
    let (status, _, _) =
        office.post(&format!("/admin/events/{EVENT}/staff"), &[("name", "Mallory"), ("gate", "B")]).await;
    assert_eq!(status, 403);
    let (status, refused, _) = office
        .post(&format!("/admin/events/{EVENT}/staff"), &[("csrf", &csrf), ("name", "Yui"), ("gate", "東口")])
        .await;
    assert_eq!(status, 422);
    assert!(refused.contains("data-error") && refused.contains("value=\"Yui\""), "{refused}");
    assert!(gw.app.store.staff_of_event(EVENT).await.unwrap().is_empty(), "nothing made");

    // Made: the one-time login link on the public listener and the API token, shown once.
    let (status, made, _) = office
        .post(&format!("/admin/events/{EVENT}/staff"), &[("csrf", &csrf), ("name", "Yui"), ("gate", "b"), ("api", "1")])
        .await;
    assert_eq!(status, 200, "{made}");
    let login = marked(&made, "data-login-url").expect("a login link");
    assert!(login.starts_with(&format!("{}/staff/login/", gw.base)), "{login}");
    let token = marked(&made, "data-api-token").expect("an API token");
    let staff = gw.app.store.staff_of_event(EVENT).await.unwrap();
    assert_eq!((staff.len(), staff[0].name.as_str(), staff[0].gate.as_deref()), (1, "Yui", Some("B")));
    let journal = gw.app.store.journal_for(EVENT).await.unwrap();
    let added = journal.iter().find(|j| j.action == "staff-added").expect("journalled");
    assert!(added.actor.starts_with("account:"), "{added:?}");
    let (_, again, _) = office.get(&door).await;
    assert!(!again.contains(&token) && !again.contains("data-login-url"), "shown once");
    let (status, first) = scan(&gw, &token, &code, "in").await;
    assert_eq!((status, first["result"].as_str()), (200, Some("admitted")), "{first}");

    // Another organizer: 403 on the page, making staff and revoking, by URL guessing.
    let mut other = organizer_office(&gw, "other", "other-hall").await;
    let (_, own, _) = other.get("/admin/events/other-night/door").await;
    let their_csrf = csrf_of(&own);
    assert_eq!(other.get(&door).await.0, 403);
    assert_eq!(other.get_json(&door).await.0, 403);
    let sneaky = [("csrf", their_csrf.as_str()), ("name", "Sneaky")];
    assert_eq!(other.post(&format!("/admin/events/{EVENT}/staff"), &sneaky).await.0, 403);
    let revoke = format!("/admin/events/{EVENT}/staff/{}/revoke", staff[0].id);
    assert_eq!(other.post(&revoke, &[("csrf", &their_csrf)]).await.0, 403);
    // Their own event's path with this staff id: not theirs either.
    let (status, _, _) =
        other.post(&format!("/admin/events/other-night/staff/{}/revoke", staff[0].id), &[("csrf", &their_csrf)]).await;
    assert_eq!(status, 404);
    assert!(!gw.app.store.staff_of_event(EVENT).await.unwrap()[0].revoked);

    // Revoked without CSRF: nothing; with it: the token's next scan gets 401.
    assert_eq!(office.post(&revoke, &[]).await.0, 403);
    assert_eq!(scan(&gw, &token, &code, "in").await.0, 200);
    let (status, _, location) = office.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_deref()), (303, Some(format!("{door}#staff").as_str())));
    assert_eq!(scan(&gw, &token, &code, "in").await.0, 401);
    let staff = gw.app.store.staff_of_event(EVENT).await.unwrap();
    assert!(staff[0].revoked);
    let journal = gw.app.store.journal_for(EVENT).await.unwrap();
    assert!(journal.iter().any(|j| j.action == "staff-revoked" && j.actor.starts_with("account:")));
    let (_, listed, _) = office.get(&door).await;
    assert!(listed.contains("data-revoked") && !listed.contains("data-revoke "), "{listed}");
    gw.stop().await;
}
