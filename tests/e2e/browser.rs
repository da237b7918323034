//! A real browser: headless Chromium, driven over WebDriver by chromedriver (both
//! from Debian, installed by scripts/test.sh), opens the pages as a person would —
//! on a phone-sized screen (390×844), it renders the HTML, types into the form and
//! presses its button.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// WebDriver's key for an element reference (W3C WebDriver §12.1).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The screen the pages are looked at on: a phone's, in CSS pixels.
const PHONE_SCREEN: (u32, u32) = (390, 844);

/// One chromedriver with one headless Chromium session, on loopback.
struct Chromium {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Chromium {
    async fn start() -> Chromium {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (scripts/test.sh installs Debian's chromium-driver)");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok();
            let ready = match ready {
                Some(r) => r.json::<Value>().await.ok().is_some_and(|v| v["value"]["ready"] == true),
                None => false,
            };
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not come up on {base}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // A phone's screen (a desktop window cannot be made this narrow).
                "mobileEmulation": {"deviceMetrics":
                    {"width": PHONE_SCREEN.0, "height": PHONE_SCREEN.1, "pixelRatio": 1}},
                // Root in CI has no sandbox to drop into; no GPU, small /dev/shm.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--user-data-dir={}", profile.path().display())],
            },
        }}});
        let created: Value =
            http.post(format!("{base}/session")).json(&caps).send().await.expect("new session").json().await.unwrap();
        let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}"));
        Chromium { http, session: format!("{base}/session/{session}"), _driver: driver, _profile: profile }
    }

    /// A WebDriver command: its value, or the error WebDriver answered with.
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let v: Value = req.send().await.expect("webdriver").json().await.expect("webdriver json");
        match v["value"]["error"].is_null() {
            true => Ok(v["value"].clone()),
            false => Err(v),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn find(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    async fn count(&self, css: &str) -> usize {
        let found =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        found.as_array().map_or(0, Vec::len)
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    /// Whether the first element matching `css` is shown (not hidden by the page's CSS).
    async fn displayed(&self, css: &str) -> bool {
        let el = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{el}/displayed"), None).await == true
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        let el = self.find(css).await;
        let value = self.call(reqwest::Method::GET, &format!("/element/{el}/attribute/{name}"), None).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// The current value of a property of the first element matching `css` (an
    /// input's `value`: what has been typed into it).
    async fn property(&self, css: &str, name: &str) -> String {
        let el = self.find(css).await;
        let value = self.call(reqwest::Method::GET, &format!("/element/{el}/property/{name}"), None).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// The attribute `name` of the first element matching `css`, once it satisfies
    /// `want` (waiting up to `within`; then the test fails with what it saw).
    async fn attribute_when(&self, css: &str, name: &str, within: Duration, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.attribute(css, name).await;
            if want(&seen) {
                return seen;
            }
            assert!(Instant::now() < deadline, "{css} [{name}] never showed what was wanted; last seen: {seen:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Keys typed into whatever has the focus, as a keyboard-wedge barcode scanner
    /// types them (WebDriver actions, not aimed at an element); `\n` is Enter.
    async fn keyboard(&self, text: &str) {
        let keys: Vec<Value> = text
            .chars()
            .map(|c| if c == '\n' { '\u{E007}' } else { c })
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect();
        let actions = json!({"actions": [{"type": "key", "id": "wedge", "actions": keys}]});
        self.call(reqwest::Method::POST, "/actions", Some(actions)).await;
    }

    /// Save what the screen shows as a PNG in `DIALTICKET_SCREENSHOTS` (a folder),
    /// when that is set: the pictures in docs/ are made this way.
    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("DIALTICKET_SCREENSHOTS") else { return };
        let shot = self.call(reqwest::Method::GET, "/screenshot", None).await;
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD.decode(shot.as_str().unwrap_or_default()).expect("PNG");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).expect("screenshot written");
    }

    /// The address the tab shows.
    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Reload the page, as the browser's reload button does.
    async fn reload(&self) {
        self.call(reqwest::Method::POST, "/refresh", Some(json!({}))).await;
    }

    /// The page's title, as the tab shows it.
    async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The rendered text of the first element matching `css`, as a person sees it,
    /// once it satisfies `want` — a submitted form's answer is a new page, loaded
    /// after the click returns (up to 15 s; then the test fails with what it saw).
    async fn text_when(&self, css: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = String::new();
        loop {
            let query = json!({"using": "css selector", "value": css});
            if let Ok(found) = self.try_call(reqwest::Method::POST, "/element", Some(query)).await {
                let el = found[ELEMENT].as_str().unwrap_or_default();
                if let Ok(text) = self.try_call(reqwest::Method::GET, &format!("/element/{el}/text"), None).await {
                    seen = text.as_str().unwrap_or_default().to_string();
                    if want(&seen) {
                        return seen;
                    }
                }
            }
            assert!(Instant::now() < deadline, "{css} never showed what was wanted; last seen: {seen:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// The holder opens the admission page from the mail: it shows VALID and a staff
/// PIN field. A wrong PIN typed in and submitted gets the refusal page; the
/// event's PIN gets the ticket admitted, and the page then says so.
#[tokio::test]
async fn staff_admit_a_ticket_in_chromium_with_the_staff_pin() {
    let gw = spawn_gateway().await;
    let phone = "+819011110026";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, wrong) = gw.staff_pins("open-rehearsal");

    let chromium = Chromium::start().await;
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("VALID")).await;

    chromium.type_into("input[name=staff_pin]", wrong).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[role=alert]", |t| t.contains("wrong staff PIN")).await;
    // The refusal is shown on the admission page itself, the PIN field empty to try again.
    assert_eq!(chromium.property("input[name=staff_pin]", "value").await, "");
    let (_, page) = gw.get(&admission).await;
    assert_eq!(page["state"], "valid", "a wrong PIN leaves the ticket unused: {page}");

    chromium.goto(&admission).await;
    chromium.type_into("input[name=staff_pin]", &pin).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    // Sent back to the page (POST-redirect-GET): a reload repeats nothing.
    assert_eq!(chromium.current_url().await, admission);
    chromium.reload().await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    // The live page shows it too, without the admit form.
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no admit form once admitted");
    chromium.quit().await;
    gw.stop().await;
}

/// The admission page is live without reloading: a staff PIN half typed survives
/// three rounds of the page asking for its state (15 s), the clock moves, an admit
/// made on another device shows up in place (the form goes; no reload, so no
/// "405" from a POST's URL), and reloading then shows the page again.
#[tokio::test]
async fn the_admission_page_stays_live_without_reloading_in_chromium() {
    let gw = spawn_gateway().await;
    let phone = "+819011110092";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    gw.allow_pin_admission("open-rehearsal").await;
    let (pin, _) = gw.staff_pins("open-rehearsal");

    let chromium = Chromium::start().await;
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("VALID")).await;
    let clock = chromium.text_when("[data-live=clock]", |t| t.contains("(UTC+")).await;
    chromium.type_into("input[name=staff_pin]", "12").await;
    chromium
        .attribute_when("main", "data-polls", Duration::from_secs(40), |v| v.parse::<u32>().unwrap_or(0) >= 3)
        .await;
    assert_eq!(chromium.property("input[name=staff_pin]", "value").await, "12", "the half-typed PIN is untouched");
    assert_ne!(chromium.text_when("[data-live=clock]", |_| true).await, clock, "the clock moves");
    assert_eq!(chromium.current_url().await, admission, "the page never navigated");

    // Admitted from elsewhere: the open page shows it at its next check.
    let (status, page) = gw.post(&format!("{admission}/admit"), &[("staff_pin", pin.as_str())]).await;
    assert_eq!(status, 200, "{page}");
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no admit form once admitted");
    chromium.reload().await;
    chromium.text_when(".state", |t| t.starts_with("ADMITTED at")).await;
    assert!(!chromium.text_when("body", |_| true).await.contains("405"));
    chromium.quit().await;
    gw.stop().await;
}

/// Venue staff sign in on their own phone with their one-time link and check
/// tickets in at `/staff`: a wedge scanner types a ticket's reference and Enter
/// into the field that has the focus; the verdict fills the screen (ADMIT, the
/// seat) and the counters move; the same ticket again is ALREADY ADMITTED, with
/// when, at which gate and by whom; the field is ready for the next scan.
#[tokio::test]
async fn staff_check_tickets_in_with_the_staff_app_in_chromium() {
    let gw = spawn_gateway().await;
    let phone = "+819011110093";
    let admission = gw.admission_link(phone, "open-rehearsal").await;
    let ticket = gw.link(&gw.mail(phone, "Your ticket").await, "/t/");
    let (_, page) = gw.get(&ticket).await;
    let reference = page["tickets"][0]["reference"].as_str().expect("a reference").to_string();
    let seat = page["tickets"][0]["seat"].as_str().expect("a seat").to_string();
    let made = gw
        .app
        .store
        .add_staff("open-rehearsal", "Aiko", Some("B"), false, "test", dialticket::store::now())
        .await
        .unwrap();

    let chromium = Chromium::start().await;
    chromium.goto(&ticket).await;
    chromium.text_when("h1", |t| !t.is_empty()).await;
    chromium.screenshot("ticket-en").await;
    chromium.goto(&admission).await;
    chromium.text_when(".state", |t| t.starts_with("VALID")).await;
    assert_eq!(chromium.count("input[name=staff_pin]").await, 0, "no PIN on the holder's phone by default");
    chromium.screenshot("admission-en").await;

    chromium.goto(&format!("{}/staff/login/{}", gw.base, made.login_token)).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("[data-live=headline]", |t| t == "Ready").await;
    assert_eq!(chromium.current_url().await, format!("{}/staff", gw.base));
    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "ADMIT").await;
    assert_eq!(chromium.text_when("[data-live=seat]", |_| true).await, format!("Seat {seat}"));
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict ok");
    chromium.text_when("[data-live=counts]", |t| t.starts_with("Admitted 1 of") && t.contains("gate B: 1")).await;
    chromium.screenshot("staff-admit-en").await;
    assert_eq!(chromium.property("input[name=code]", "value").await, "", "ready for the next scan");

    chromium.keyboard(&format!("{reference}\n")).await;
    chromium.text_when("[data-live=headline]", |t| t == "ALREADY ADMITTED").await;
    let when = chromium.text_when("[data-live=when]", |t| !t.is_empty()).await;
    assert!(when.contains("(UTC+09:00) at gate B by Aiko"), "{when}");
    assert_eq!(chromium.attribute("[data-live=verdict]", "class").await, "verdict bad");
    chromium.screenshot("staff-already-en").await;
    // The admission page on the holder's phone shows it too.
    let (_, page) = gw.get(&admission).await;
    assert_eq!(page["state"], "admitted", "{page}");
    chromium.quit().await;
    gw.stop().await;
}

/// A caller, on the phone's browser, sends their mail to another address: from the
/// event list to the mail page, types the address, then opens the link mailed
/// there and confirms; and puts their name on their tickets.
#[tokio::test]
async fn a_caller_moves_their_mail_and_names_themself_in_chromium() {
    let gw = spawn_gateway().await;
    let phone = "+819011110027";
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);
    let shop = gw.link(&gw.mail(phone, "purchase link").await, "/p/");

    let chromium = Chromium::start().await;
    chromium.goto(&shop).await;
    chromium.click("a[href$='/mail']").await;
    chromium.text_when("h1", |t| t == "Where your mail goes").await;
    chromium.type_into("input[name=address]", "hanako@example.jp").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("body", |t| t.contains("We sent a confirmation link to hanako@example.jp")).await;

    let confirm = gw
        .mailbox
        .wait_for(|m| m.envelope_to.iter().any(|t| t == "hanako@example.jp"), MAIL_WAIT)
        .await
        .expect("the confirmation mail");
    chromium.goto(&gw.link(&confirm, "/m/")).await;
    chromium.text_when("body", |t| t.contains("send mail for +819011110027 to hanako@example.jp?")).await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when("h1", |t| t == "Mail address changed").await;
    let user = gw.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(phone).unwrap()).await.unwrap();
    assert_eq!(user.and_then(|u| u.mail_address).as_deref(), Some("hanako@example.jp"));

    chromium.goto(&shop).await;
    chromium.click("a[href$='/profile']").await;
    chromium.type_into("input[name=name]", "Yamada Hanako").await;
    chromium.click("form button[type=submit]").await;
    chromium.text_when(".state", |t| t == "Saved").await;
    let (_, page) = gw.get(&format!("{shop}/profile")).await;
    assert_eq!(page["profile"]["name"], "Yamada Hanako");
    chromium.quit().await;
    gw.stop().await;
}

/// A caller pays with their phone bill, on the phone's browser: from the purchase
/// link to the event, picks carrier billing (its "Phone to bill" shows only then,
/// filled with this phone) and buys. The page says to call the order's own
/// confirm-billing number from this phone; nothing is paid until that call. The call from the
/// line (its number asserted by the trusted loopback proxy) pays the order, and
/// the issue guide from the mail says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_pays_with_the_phone_bill_in_chromium_and_consents_by_calling() {
    let gw = spawn_gateway().await;
    let phone = "+819011110028";
    assert_eq!(gw.call(phone, PURCHASE).await.final_status, 200);
    let shop = gw.link(&gw.mail(phone, "purchase link").await, "/p/");

    let chromium = Chromium::start().await;
    chromium.goto(&shop).await;
    chromium.click("a[href$='/events/open-rehearsal']").await;
    chromium.text_when("h1", |t| t == "Open Rehearsal (any day)").await;
    assert!(!chromium.displayed("#billing_phone").await, "the phone to bill shows only for carrier billing");
    chromium.click("label[for=pay-carrier]").await;
    assert!(chromium.displayed("#billing_phone").await);
    assert_eq!(chromium.attribute("#billing_phone", "value").await, phone, "this phone's bill, unless changed");
    chromium.click("form button[type=submit]").await;

    chromium.text_when("h1", |t| t == "Confirm carrier billing").await;
    assert_eq!(chromium.title().await, "Confirm carrier billing");
    let page = chromium.text_when("body", |t| t.contains("Nothing is billed until that call")).await;
    assert!(page.contains(&format!("on the phone bill of {phone}, call this number from that phone")), "{page}");
    // The order's own number in the confirm-billing block, as a button to call.
    let button = chromium.text_when("a.button", |t| t.starts_with(&format!("Call {CONFIRM_BILLING}"))).await;
    let number = button.trim_start_matches("Call ").to_string();
    assert_eq!(number.len(), CONFIRM_BILLING.len() + 3, "{button}");
    assert_eq!(chromium.attribute("a.button", "href").await, format!("tel:{number}"));
    let how = gw.mail(phone, "How to pay").await;
    assert!(how.text.contains(&number), "{}", how.text);
    assert!(gw.mails(phone, "Payment received").is_empty(), "nothing is paid before the call");

    // The call from this phone says yes (early media: heard, not billed).
    assert_eq!(call_as(&gw, phone, &number, true).await, 603);
    let guide = gw.link(&gw.mail(phone, "Payment received").await, "/g/");
    chromium.goto(&guide).await;
    chromium.text_when(".card", |t| t.contains("payment paid")).await;
    chromium.quit().await;
    gw.stop().await;
}
