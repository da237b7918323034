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

/// A second organizer of the catalog, with an event of its own.
pub const OTHER_CATALOG: &str = r#"
[[organizers]]
id = "other-hall"
name = "Other Hall"

[[events]]
id = "other-night"
organizer = "other-hall"
genre = "Jazz"
name = "Other Night"
venue = "Other Hall, Osaka"
time_zone = "Asia/Tokyo"
starts_at = "today+40d 19:00 +09:00"
doors_open = "today+40d 18:30 +09:00"
curtain = "today+40d 19:00 +09:00"
sale_start = "today-1d 00:00 +09:00"
sale_end = "today+40d 18:00 +09:00"
cancellable_days = 1

[[events.seat_types]]
code = "F"
name = "Free seating"
price = 3000
count = 10
"#;

/// Load [`OTHER_CATALOG`] into `gw`.
pub async fn load_other_organizer(gw: &TestGateway) {
    let file = dialticket::events::CatalogFile::parse(OTHER_CATALOG, chrono::Utc::now()).expect("catalog");
    gw.app.store.load_catalog(&file).await.expect("loaded");
}

/// A browser of the back office over plain HTTP: keeps its cookies, follows no redirects.
pub struct Office {
    client: reqwest::Client,
    base: String,
    cookies: std::collections::BTreeMap<String, String>,
    /// The last response's `Set-Cookie` lines.
    pub set_cookies: Vec<String>,
}

impl Office {
    pub fn new(base: &str) -> Office {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Office { client, base: base.to_string(), cookies: Default::default(), set_cookies: vec![] }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// The value of cookie `name`, if this browser has it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).cloned()
    }

    async fn finish(&mut self, resp: reqwest::Response) -> (u16, String, Option<String>) {
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        self.set_cookies =
            resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
        for line in &self.set_cookies {
            let Some((name, rest)) = line.split_once('=') else { continue };
            let value = rest.split(';').next().unwrap_or_default();
            if value.is_empty() || line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        (status, resp.text().await.unwrap_or_default(), location)
    }

    /// GET `path` as a browser (HTML): status, body, `Location`.
    pub async fn get(&mut self, path: &str) -> (u16, String, Option<String>) {
        let req = self.client.get(self.url(path)).header("cookie", self.cookie_header()).header("accept", "text/html");
        let resp = req.send().await.expect("GET");
        self.finish(resp).await
    }

    /// GET `path` asking for JSON.
    pub async fn get_json(&mut self, path: &str) -> (u16, serde_json::Value) {
        let req =
            self.client.get(self.url(path)).header("cookie", self.cookie_header()).header("accept", "application/json");
        let resp = req.send().await.expect("GET");
        let (status, body, _) = self.finish(resp).await;
        (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
    }

    /// POST a form to `path` as a browser would from our own page.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let req = self
            .client
            .post(self.url(path))
            .header("cookie", self.cookie_header())
            .header("accept", "text/html")
            .header("sec-fetch-site", "same-origin")
            .form(fields);
        let resp = req.send().await.expect("POST");
        self.finish(resp).await
    }

    /// Sign in as `name`; the status of the answer (303 when signed in).
    pub async fn login(&mut self, name: &str, password: &str) -> u16 {
        let (status, page, _) = self.get("/admin/login").await;
        assert_eq!(status, 200, "{page}");
        let csrf = csrf_of(&page);
        self.post("/admin/login", &[("csrf", &csrf), ("name", name), ("password", password)]).await.0
    }
}

/// The CSRF token of the (first) form in `page`.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no CSRF field in {page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    unescape(&rest[..rest.find('"').expect("end of the value")])
}

/// An operator made as `dialticket admin add-operator` makes one: its one-time link.
pub async fn operator_link(gw: &TestGateway, name: &str) -> String {
    let printed = dialticket::admin_cli::add_operator(&gw.app.store, name, &gw.admin).await.expect("operator made");
    let link = printed.split_whitespace().find(|w| w.starts_with("http")).expect("a link in what the CLI prints");
    assert!(link.starts_with(&format!("{}/admin/setup/", gw.admin)), "{printed}");
    link.to_string()
}

/// Open a one-time link and set `password` with it; the office is then signed in.
pub async fn set_password(office: &mut Office, link: &str, password: &str) {
    let (status, page, _) = office.get(link).await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let (status, page, location) =
        office.post(link, &[("csrf", &csrf), ("password", password), ("again", password)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/")), "{page}");
}

/// An operator signed in, and its office.
async fn operator(gw: &TestGateway, name: &str) -> Office {
    let link = operator_link(gw, name).await;
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &link, "operator password 1").await;
    office
}

/// The operator makes organizer account `name` for `organizer` from the accounts
/// page; the one-time link the page shows.
async fn make_organizer(office: &mut Office, name: &str, organizer: &str) -> String {
    let (status, page, _) = office.get("/admin/accounts").await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page);
    let (status, page, _) =
        office.post("/admin/accounts", &[("csrf", &csrf), ("name", name), ("organizer", organizer)]).await;
    assert_eq!(status, 200, "{page}");
    let at = page.find("id=\"made-link\"").expect("the new account's link is shown");
    let rest = &page[at..];
    let value = &rest[rest.find("value=\"").expect("its value") + 7..];
    unescape(&value[..value.find('"').expect("end")])
}

/// An attribute value as the page wrote it, HTML entities decoded.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_one_time_link_sets_a_password_once_and_an_expired_one_says_so() {
    let gw = spawn_gateway().await;
    let link = operator_link(&gw, "ops").await;
    let mut office = Office::new(&gw.admin);
    let (status, page, _) = office.get(&link).await;
    assert_eq!(status, 200);
    assert!(page.contains("ops"), "{page}");
    // GET changed nothing: the link still works. A POST without its token changes nothing either.
    let (status, page, _) = office.post(&link, &[("password", "a good password"), ("again", "a good password")]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("This form has expired"), "{page}");
    let (status, _, _) =
        office.post(&link, &[("csrf", "forged"), ("password", "a good password"), ("again", "a good password")]).await;
    assert_eq!(status, 403);
    let (_, page, _) = office.get(&link).await;
    let csrf = csrf_of(&page);
    // A short password is refused with the form shown again.
    let (status, page, _) = office.post(&link, &[("csrf", &csrf), ("password", "short"), ("again", "short")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("at least 10 characters"), "{page}");
    let (status, _, location) =
        office.post(&link, &[("csrf", &csrf), ("password", "a good password"), ("again", "a good password")]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/")));
    let cookie = office.set_cookies.iter().find(|c| c.starts_with("dialticket_admin=")).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: no Secure flag; {cookie}");
    let session = office.cookie("dialticket_admin").expect("kept");
    assert_eq!(session.len(), 43, "256 random bits, base64url");
    let (status, page, _) = office.get("/admin/").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in as ops (operator)"), "{page}");
    // The link worked once.
    let (status, page, _) = Office::new(&gw.admin).get(&link).await;
    assert_eq!(status, 410);
    assert!(page.contains("already been used"), "{page}");
    let (status, _, _) =
        office.post(&link, &[("csrf", &csrf), ("password", "another password"), ("again", "another password")]).await;
    assert_eq!(status, 410);
    // A link past its day says so.
    let long_ago = dialticket::store::now() - 2 * 24 * 3600;
    let role = dialticket::accounts::Role::Operator;
    let old = gw.app.store.add_account("late", &role, "test", long_ago).await.expect("made").expect("new name");
    let (status, page, _) = office.get(&dialticket::accounts::setup_link(&gw.admin, &old.setup_token)).await;
    assert_eq!(status, 410);
    assert!(page.contains("This link has expired"), "{page}");
    // And a made-up one is not found.
    let (status, _, _) = office.get("/admin/setup/made-up-token").await;
    assert_eq!(status, 404);
    gw.stop().await;
}

#[tokio::test]
async fn an_organizer_sees_its_own_events_only_and_gets_403_for_anothers() {
    let gw = spawn_gateway_with(|c| c.admin_token = Some(TOKEN.into())).await;
    load_other_organizer(&gw).await;
    let mut ops = operator(&gw, "ops").await;
    let holonic = make_organizer(&mut ops, "holonic", "holonic-hall").await;
    let other = make_organizer(&mut ops, "other", "other-hall").await;
    // The operator sees every organizer's events.
    let (_, page, _) = ops.get("/admin/").await;
    assert!(page.contains("Spring Gala") && page.contains("Other Night"), "{page}");
    let mut first = Office::new(&gw.admin);
    set_password(&mut first, &holonic, "holonic password").await;
    let mut second = Office::new(&gw.admin);
    set_password(&mut second, &other, "other hall password").await;
    let (_, page, _) = second.get("/admin/").await;
    assert!(
        page.contains("Other Night") && !page.contains("Spring Gala") && !page.contains("Open Rehearsal"),
        "{page}"
    );
    // URL guessing: the first organizer's events, as a page and through the JSON API.
    for event in ["spring-gala-2027", "open-rehearsal"] {
        let (status, page, _) = second.get(&format!("/admin/events/{event}")).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("another organizer") && !page.contains("Spring Gala"), "{page}");
        let (status, body) = second.get_json(&format!("/admin/events/{event}/sales")).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.get("seat_types").is_none(), "{body}");
    }
    let (status, _) = second.get_json("/admin/organizers/holonic-hall/billing").await;
    assert_eq!(status, 403);
    let (status, _) = second.get_json("/admin/organizers/other-hall/billing").await;
    assert_eq!(status, 200);
    // And the other way round; each sees its own.
    assert_eq!(first.get("/admin/events/other-night").await.0, 403);
    assert_eq!(first.get("/admin/events/spring-gala-2027").await.0, 200);
    assert_eq!(first.get_json("/admin/events/spring-gala-2027/sales").await.0, 200);
    assert_eq!(second.get("/admin/events/other-night").await.0, 200);
    // A session is no bearer token: the writes of the admin API stay the operator's script's.
    let (status, page, _) = first.post("/admin/events/spring-gala-2027/staff-pin", &[]).await;
    assert_eq!(status, 401, "{page}");
    // Organizers make no accounts.
    let (status, _, _) = second.get("/admin/accounts").await;
    assert_eq!(status, 403);
    let (_, page, _) = second.get("/admin/").await;
    let csrf = csrf_of(&page);
    let (status, _, _) =
        second.post("/admin/accounts", &[("csrf", &csrf), ("name", "sneaky"), ("organizer", "holonic-hall")]).await;
    assert_eq!(status, 403);
    assert!(gw.app.store.account_by_name("sneaky").await.expect("read").is_none());
    // Nobody signed in: the login page.
    let (status, _, location) = Office::new(&gw.admin).get("/admin/events/other-night").await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    assert_eq!(Office::new(&gw.admin).get_json("/admin/events/other-night/sales").await.0, 401);
    gw.stop().await;
}

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw, "ops").await;
    for fields in [vec![], vec![("csrf", "not-the-token")]] {
        let mut with = fields.clone();
        with.extend([("name", "made-anyway"), ("organizer", "holonic-hall")]);
        let (status, page, _) = ops.post("/admin/accounts", &with).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("This form has expired"), "{page}");
        let mut with = fields.clone();
        with.extend([("old", "operator password 1"), ("password", "changed password"), ("again", "changed password")]);
        assert_eq!(ops.post("/admin/password", &with).await.0, 403);
        assert_eq!(ops.post("/admin/logout", &fields).await.0, 403);
    }
    assert!(gw.app.store.account_by_name("made-anyway").await.expect("read").is_none());
    // Still signed in, and the password is the old one.
    assert_eq!(ops.get("/admin/").await.0, 200);
    let mut again = Office::new(&gw.admin);
    assert_eq!(again.login("ops", "operator password 1").await, 303);
    // The login form's own token is bound to its cookie: another browser's is refused.
    let (_, page, _) = Office::new(&gw.admin).get("/admin/login").await;
    let foreign = csrf_of(&page);
    let mut fresh = Office::new(&gw.admin);
    fresh.get("/admin/login").await;
    let (status, _, _) =
        fresh.post("/admin/login", &[("csrf", &foreign), ("name", "ops"), ("password", "operator password 1")]).await;
    assert_eq!(status, 403);
    assert!(fresh.cookie("dialticket_admin").is_none());
    // A body that is no form at all gets the same page, in the reader's language.
    let resp = reqwest::Client::new()
        .post(gw.admin_url("/admin/login"))
        .header("content-type", "application/json")
        .header("accept-language", "ja")
        .body(r#"{"name": "ops", "password": "operator password 1"}"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 403);
    let page = resp.text().await.expect("page");
    assert!(page.contains("このフォームは有効期限切れです"), "{page}");
    gw.stop().await;
}

#[tokio::test]
async fn a_wrong_password_says_so_alike_for_any_name_and_logins_are_rate_limited() {
    let gw = spawn_gateway().await;
    let _ops = operator(&gw, "ops").await;
    let mut office = Office::new(&gw.admin);
    let (_, page, _) = office.get("/admin/login").await;
    let csrf = csrf_of(&page);
    let (known, known_page, _) =
        office.post("/admin/login", &[("csrf", &csrf), ("name", "ops"), ("password", "wrong password")]).await;
    let (unknown, unknown_page, _) =
        office.post("/admin/login", &[("csrf", &csrf), ("name", "nobody"), ("password", "wrong password")]).await;
    assert_eq!((known, unknown), (401, 401));
    let said = |page: &str| page.contains("Wrong login name or password.");
    assert!(said(&known_page) && said(&unknown_page), "{known_page}");
    // The name typed stays in the form.
    assert!(known_page.contains("value=\"ops\""), "{known_page}");
    // Five tries per account, then even the right password waits.
    for _ in 0..4 {
        let (status, _, _) =
            office.post("/admin/login", &[("csrf", &csrf), ("name", "ops"), ("password", "wrong password")]).await;
        assert_eq!(status, 401);
    }
    let (status, page, _) =
        office.post("/admin/login", &[("csrf", &csrf), ("name", "ops"), ("password", "operator password 1")]).await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("Too many sign-in attempts"), "{page}");
    assert!(office.cookie("dialticket_admin").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn the_session_cookie_opens_nothing_on_the_public_listener() {
    let gw = spawn_gateway().await;
    let ops = operator(&gw, "ops").await;
    let session = ops.cookie("dialticket_admin").expect("signed in");
    let mut public = Office::new(&gw.base);
    public.cookies.insert("dialticket_admin".into(), session.clone());
    for path in [
        "/admin/",
        "/admin/accounts",
        "/admin/events/spring-gala-2027",
        "/admin/events/spring-gala-2027/sales",
        "/outbox",
        "/admin/login",
    ] {
        assert_eq!(public.get(path).await.0, 404, "{path}");
    }
    // The door staff's pages do not take it for a staff session either.
    let (status, page, _) = public.get("/staff").await;
    assert_ne!(status, 200, "{page}");
    // The same cookie is good on the admin listener.
    assert_eq!(ops_get(&gw, &session).await, 200);
    gw.stop().await;
}

async fn ops_get(gw: &TestGateway, session: &str) -> u16 {
    let mut office = Office::new(&gw.admin);
    office.cookies.insert("dialticket_admin".into(), session.to_string());
    office.get("/admin/").await.0
}

#[tokio::test]
async fn a_password_change_needs_the_old_one_and_a_long_enough_new_one() {
    let gw = spawn_gateway().await;
    let mut ops = operator(&gw, "ops").await;
    let mut elsewhere = Office::new(&gw.admin);
    assert_eq!(elsewhere.login("ops", "operator password 1").await, 303);
    let (_, page, _) = ops.get("/admin/password").await;
    let csrf = csrf_of(&page);
    let (status, page) = change_password(&mut ops, &csrf, "not it at all", "a new password").await;
    assert_eq!(status, 422);
    assert!(page.contains("The current password is not right."), "{page}");
    assert_eq!(change_password(&mut ops, &csrf, "operator password 1", "short").await.0, 422);
    let (status, page) = change_password(&mut ops, &csrf, "operator password 1", "a new password").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your password has been changed."), "{page}");
    // This session goes on; the other one ended; the new password signs in, the old one not.
    assert_eq!(ops.get("/admin/").await.0, 200);
    assert_eq!(elsewhere.get("/admin/").await.0, 303);
    assert_eq!(Office::new(&gw.admin).login("ops", "operator password 1").await, 401);
    assert_eq!(Office::new(&gw.admin).login("ops", "a new password").await, 303);
    // Logging out ends the session.
    let (_, page, _) = ops.get("/admin/").await;
    let csrf = csrf_of(&page);
    let session = ops.cookie("dialticket_admin").expect("signed in");
    let (status, _, location) = ops.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    assert_eq!(ops_get(&gw, &session).await, 303);
    gw.stop().await;
}

async fn change_password(office: &mut Office, csrf: &str, old: &str, new: &str) -> (u16, String) {
    let fields = [("csrf", csrf), ("old", old), ("password", new), ("again", new)];
    let (status, page, _) = office.post("/admin/password", &fields).await;
    (status, page)
}

/// Accounts, one-time links and sessions on both backends (the migration of each).
async fn accounts_in_the_store(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let store = dialticket::store::Store::connect(&url).await.expect("connects and migrates");
    let catalog = dialticket::events::CatalogFile::load(&repo("events/demo.toml")).expect("demo catalog");
    store.load_catalog(&catalog).await.expect("loads");
    let now = dialticket::store::now();
    let role = dialticket::accounts::Role::Organizer("holonic-hall".into());
    let made = store.add_account("holonic", &role, "test", now).await.expect("made").expect("a new name");
    assert!(store.add_account("holonic", &role, "test", now).await.expect("read").is_none(), "names are unique");
    let unknown = dialticket::accounts::Role::Organizer("nobody".into());
    assert!(store.add_account("x", &unknown, "test", now).await.is_err(), "an organizer of the catalog only");
    let setup = store.setup_token(&made.setup_token).await.expect("read").expect("found");
    assert_eq!((setup.used_at, setup.account.has_password), (None, false));
    let account = store.use_setup_token(&made.setup_token, "$argon2id$x", "session-1", now).await.expect("used");
    assert_eq!(account.expect("the account").role, role);
    assert!(store.use_setup_token(&made.setup_token, "$argon2id$y", "session-2", now).await.expect("read").is_none());
    let signed_in = store.account_by_session("session-1", now).await.expect("read").expect("live");
    assert_eq!(signed_in.name, "holonic");
    let later = now + dialticket::accounts::SESSION_TTL;
    assert!(store.account_by_session("session-1", later).await.expect("read").is_none(), "sessions expire");
    store.end_session("session-1").await.expect("logout");
    assert!(store.account_by_session("session-1", now).await.expect("read").is_none());
}

#[tokio::test]
async fn accounts_in_sqlite() {
    accounts_in_the_store("sqlite").await;
}

#[tokio::test]
async fn accounts_in_postgres() {
    accounts_in_the_store("postgres").await;
}

/// Behind https (the public URL says so) the session cookie is `Secure` too.
#[tokio::test]
async fn the_session_cookie_is_secure_when_the_gateway_is_served_over_https() {
    let gw = spawn_gateway_with(|c| c.public_url = Some("https://tickets.example".into())).await;
    let link = operator_link(&gw, "ops").await;
    let mut office = Office::new(&gw.admin);
    set_password(&mut office, &link, "operator password 1").await;
    let cookie = office.set_cookies.iter().find(|c| c.starts_with("dialticket_admin=")).expect("session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    gw.stop().await;
}
