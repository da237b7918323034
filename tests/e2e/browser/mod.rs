//! A real browser: headless Chromium, driven over WebDriver by chromedriver (both
//! from Debian, installed by scripts/test.sh), opens the pages as a person would —
//! on a phone-sized screen (390×844), it renders the HTML, types into the form and
//! presses its button.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod account;
mod backoffice;
mod backoffice_billing;
mod backoffice_cancel;
mod backoffice_door;
mod backoffice_events;
mod backoffice_ops;
mod backoffice_orders;
mod backoffice_waitlist;
mod door;
mod journeys;
mod offline;
mod shop;
mod ticket;
mod waitlist;
mod walk;

/// WebDriver's key for an element reference (W3C WebDriver §12.1).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The screen the pages are looked at on: a phone's, in CSS pixels.
const PHONE_SCREEN: (u32, u32) = (390, 844);

/// One chromedriver with one headless Chromium session, on loopback.
pub(crate) struct Chromium {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Drop for Chromium {
    /// End chromedriver and every browser process it started (its process group),
    /// also when a test panics before `quit`.
    fn drop(&mut self) {
        if let Some(pid) = self._driver.id() {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
        }
    }
}

/// A mail's HTML as a phone's mail app shows it, on the phone's screen: saved
/// as `mail-<name>-<lang>.png`; it must fit 390 px, with text big enough to read.
/// (Written into a page of the gateway: a `data:` page may not load the QR
/// images from a loopback address, Chromium's private network rules.)
pub(crate) async fn look_at_mail(
    gw: &crate::helpers::TestGateway,
    chromium: &Chromium,
    lang: &str,
    name: &str,
    mail: &dialticket_sim::smtp::ReceivedMail,
) -> String {
    let html = mail.html.as_deref().unwrap_or_else(|| panic!("mail {name} has no HTML"));
    chromium.goto(&format!("{}/", gw.base)).await;
    let write = "document.open(); document.write(arguments[0]); document.close(); return true";
    chromium.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": write, "args": [html]}))).await;
    let body = chromium.text_when("body", |t| !t.is_empty()).await;
    // The QR codes are images on the gateway, as in a mail app: shown once loaded.
    let loaded = "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)";
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while chromium.execute(loaded).await != true {
        assert!(std::time::Instant::now() < deadline, "mail {name}'s images never loaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    chromium.screenshot(&format!("mail-{name}-{}", lang)).await;
    assert_eq!(chromium.attribute("html", "lang").await, lang);
    assert!(html.contains("<meta name=\"viewport\""), "{html}");
    let width = chromium.execute("return document.documentElement.scrollWidth").await;
    assert!(width.as_u64().is_some_and(|w| w <= 390), "mail {name} is wider than the phone: {width}");
    let size =
        chromium.execute("return parseFloat(getComputedStyle(document.querySelector('body > div p')).fontSize)").await;
    assert!(size.as_f64().is_some_and(|s| s >= 16.0), "mail {name}'s text is too small: {size}");
    body
}

/// An organizer's account for `organizer`, made as an operator makes it, its
/// password set through its one-time link in `chromium`: signed in there.
pub(crate) async fn organizer_signed_in(chromium: &Chromium, gw: &crate::helpers::TestGateway, organizer: &str) {
    let role = dialticket::accounts::Role::Organizer(organizer.into());
    let made = gw.app.store.add_account("holonic", &role, "test", dialticket::store::now()).await.unwrap().unwrap();
    chromium.goto(&dialticket::accounts::setup_link(&gw.admin, &made.setup_token)).await;
    chromium.type_into("#password", "holonic password").await;
    chromium.type_into("#again", "holonic password").await;
    chromium.click("form[action^='/admin/setup/'] button[type=submit]").await;
    chromium.text_when("[data-me]", |t| !t.is_empty()).await;
}

impl Chromium {
    pub(crate) async fn start() -> Chromium {
        Chromium::start_in("en-GB,en").await
    }

    /// A browser whose reader prefers `languages` (its `Accept-Language`, e.g. `ja,en;q=0.5`).
    pub(crate) async fn start_in(languages: &str) -> Chromium {
        Chromium::start_with(languages, &[]).await
    }

    /// An English reader's browser with a camera: Chromium's fake capture device
    /// (a moving test picture), allowed without asking.
    pub(crate) async fn start_with_camera() -> Chromium {
        Chromium::start_with("en-GB,en", &["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
            .await
    }

    async fn start_with(languages: &str, extra_args: &[&str]) -> Chromium {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, with the browsers it starts: a test that fails
            // before `quit` leaves no Chromium behind (see `Drop`).
            .process_group(0)
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
        // Root in CI has no sandbox to drop into; no GPU, small /dev/shm.
        let args: Vec<String> = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            .iter()
            .chain(extra_args)
            .map(|a| a.to_string())
            .chain([
                format!("--user-data-dir={}", profile.path().display()),
                format!("--lang={}", languages.split(',').next().unwrap_or("en")),
            ])
            .collect();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // A phone's screen (a desktop window cannot be made this narrow).
                "mobileEmulation": {"deviceMetrics":
                    {"width": PHONE_SCREEN.0, "height": PHONE_SCREEN.1, "pixelRatio": 1}},
                "args": args,
                "prefs": {"intl": {"accept_languages": languages}},
            },
        }}});
        let created: Value =
            http.post(format!("{base}/session")).json(&caps).send().await.expect("new session").json().await.unwrap();
        let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}"));
        Chromium { http, session: format!("{base}/session/{session}"), _driver: driver, _profile: profile }
    }

    /// A WebDriver command: its value, or the error WebDriver answered with.
    pub(crate) async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
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

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    pub(crate) async fn count(&self, css: &str) -> usize {
        let found =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        found.as_array().map_or(0, Vec::len)
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    /// Whether the first element matching `css` is shown (not hidden by the page's CSS).
    pub(crate) async fn displayed(&self, css: &str) -> bool {
        let el = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{el}/displayed"), None).await == true
    }

    pub(crate) async fn attribute(&self, css: &str, name: &str) -> String {
        let el = self.find(css).await;
        let value = self.call(reqwest::Method::GET, &format!("/element/{el}/attribute/{name}"), None).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// The current value of a property of the first element matching `css` (an
    /// input's `value`: what has been typed into it).
    pub(crate) async fn property(&self, css: &str, name: &str) -> String {
        let el = self.find(css).await;
        let value = self.call(reqwest::Method::GET, &format!("/element/{el}/property/{name}"), None).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// The attribute `name` of the first element matching `css`, once it satisfies
    /// `want` (waiting up to `within`; then the test fails with what it saw).
    pub(crate) async fn attribute_when(
        &self,
        css: &str,
        name: &str,
        within: Duration,
        want: impl Fn(&str) -> bool,
    ) -> String {
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
    pub(crate) async fn keyboard(&self, text: &str) {
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

    /// Save what the screen shows as `<name>.png` in `DIALTICKET_SCREENSHOTS` (a
    /// folder; the pictures in docs/ are made this way), else in
    /// `target/screenshots/` for a reviewer to look at.
    pub(crate) async fn screenshot(&self, name: &str) {
        let dir = std::env::var("DIALTICKET_SCREENSHOTS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots").to_string());
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let shot = self.call(reqwest::Method::GET, "/screenshot", None).await;
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD.decode(shot.as_str().unwrap_or_default()).expect("PNG");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).expect("screenshot written");
    }

    /// The address the tab shows.
    pub(crate) async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Reload the page, as the browser's reload button does.
    pub(crate) async fn reload(&self) {
        self.call(reqwest::Method::POST, "/refresh", Some(json!({}))).await;
    }

    /// The page's title, as the tab shows it.
    pub(crate) async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The rendered text of the first element matching `css`, as a person sees it,
    /// once it satisfies `want` — a submitted form's answer is a new page, loaded
    /// after the click returns (up to 15 s; then the test fails with what it saw).
    pub(crate) async fn text_when(&self, css: &str, want: impl Fn(&str) -> bool) -> String {
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

    /// The screen's size in CSS pixels: a phone's (390 wide, 844 high) or a
    /// desktop's (800 high). The browser starts as a phone and goes back to it on
    /// every page load, so a desktop page is sized after it loads.
    pub(crate) async fn screen(&self, width: u32) {
        let height = if width == 390 { 844 } else { 800 };
        let params = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600});
        let cmd = json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": params});
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(cmd)).await;
    }

    /// The loaded page at `width` as every page test checks it (labels, contrast,
    /// `lang` is `lang`, no UTC, nothing wider than the screen, no English left on
    /// a Japanese page but the test's own catalog words in `ours`), saved as
    /// `shot`; its text.
    pub(crate) async fn looked_at_width(&self, lang: &str, shot: &str, width: u32, ours: &[&str]) -> String {
        self.text_when("body", |t| !t.is_empty()).await;
        self.screen(width).await;
        let seen = self.execute("return window.innerWidth;").await;
        assert_eq!(seen.as_u64(), Some(u64::from(width)), "{shot}: the screen's width");
        self.screenshot(shot).await;
        let text = self.visible_text().await;
        let problems = self.audit().await;
        assert!(problems.is_empty(), "{shot}: {problems:#?}\n{text}");
        let wide = self.execute("return document.documentElement.scrollWidth;").await;
        assert!(wide.as_u64().is_some_and(|v| v <= u64::from(width)), "{shot} wider than {width} ({wide}): {text}");
        assert!(!text.contains("UTC"), "{shot} shows UTC: {text}");
        assert_eq!(self.attribute("html", "lang").await, lang, "{shot}");
        if lang == "ja" {
            let left = english_left(&ours.iter().fold(text.clone(), |t, w| t.replace(w, " ")));
            assert!(left.is_empty(), "{shot}: English left on a Japanese page: {left:?}\n{text}");
        }
        text
    }

    /// Run `script` in every page opened from now on, before the page's own
    /// scripts (Chromium's DevTools `Page.addScriptToEvaluateOnNewDocument`).
    pub(crate) async fn before_every_page(&self, script: &str) {
        let params = json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": script}});
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(params)).await;
    }

    /// Run `script` (a function body) in the page and wait for it to call its
    /// last argument (a callback) with the result.
    pub(crate) async fn execute_async(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []}))).await
    }

    /// Run `script` (a function body) in the page; what it returns.
    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// The page's text as a person reads it (`document.body.innerText`).
    pub(crate) async fn visible_text(&self) -> String {
        self.execute("return document.body ? document.body.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A basic accessibility check of the page as shown, for every page test to
    /// assert empty: `<html lang>` missing; a form control (an input other than
    /// hidden/submit/button/reset/image, a select, a textarea) with no label
    /// (`label[for]`, a wrapping label, `aria-label` or `aria-labelledby`); shown
    /// text whose colour against its effective background (WCAG 2 relative
    /// luminance, backgrounds composited up to the first opaque one, white below
    /// all) is under 4.5:1. Each problem is one line naming the element.
    pub(crate) async fn audit(&self) -> Vec<String> {
        let found = self.execute(AUDIT).await;
        found
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_else(|| vec![format!("the audit script returned {found}")])
    }

    /// The page as a person reads it, checked as every page test checks it: no
    /// audit problem (see [`Chromium::audit`]), nothing wider than the phone, no
    /// "UTC", and on a page marked Japanese no English interface words left
    /// ([`english_left`]). Its text.
    pub(crate) async fn checked(&self) -> String {
        self.text_when("body", |t| !t.is_empty()).await;
        let text = self.visible_text().await;
        let problems = self.audit().await;
        assert!(problems.is_empty(), "{problems:#?}\n{text}");
        let wide = self.execute("return document.documentElement.scrollWidth;").await;
        assert!(wide.as_u64().is_some_and(|w| w <= PHONE_SCREEN.0 as u64), "wider than the phone ({wide}): {text}");
        assert!(!text.contains("UTC"), "shows UTC: {text}");
        if self.attribute("html", "lang").await == "ja" {
            let left = english_left(&text);
            assert!(left.is_empty(), "English left on a Japanese page: {left:?}\n{text}");
        }
        text
    }

    /// [`Chromium::checked`], saved as `name` for a reviewer to look at.
    pub(crate) async fn looked_at(&self, name: &str) -> String {
        self.screenshot(name).await;
        self.checked().await
    }

    pub(crate) async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// [`Chromium::audit`]'s script.
const AUDIT: &str = r#"
const problems = [];
const describe = (el) => {
  let d = el.tagName.toLowerCase();
  if (el.id) { d += '#' + el.id; }
  if (el.getAttribute('name')) { d += '[name=' + el.getAttribute('name') + ']'; }
  if (el.className && typeof el.className === 'string') { d += '.' + el.className.trim().split(/\s+/).join('.'); }
  return d;
};
const lang = document.documentElement.getAttribute('lang');
if (!lang || !lang.trim()) { problems.push('<html> has no lang attribute'); }
for (const el of document.querySelectorAll('input, select, textarea')) {
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (el.tagName === 'INPUT' && ['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) { continue; }
  const aria = (el.getAttribute('aria-label') || '').trim() !== '';
  const by = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
    .some((id) => { const t = document.getElementById(id); return t && t.textContent.trim() !== ''; });
  const labelled = Array.from(el.labels || []).some((l) => l.textContent.trim() !== '');
  if (!aria && !by && !labelled) { problems.push('form control without a label: ' + describe(el)); }
}
const parse = (c) => {
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(c || '');
  if (!m) { return null; }
  let a = m[4] === undefined ? 1 : (m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]));
  return [parseFloat(m[1]), parseFloat(m[2]), parseFloat(m[3]), a];
};
const over = (top, below) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat([1]);
};
const background = (el) => {
  const layers = [];
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) { break; } }
  }
  let bg = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) { bg = over(layers[i], bg); }
  return bg;
};
const luminance = (c) => {
  const ch = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
};
const skip = new Set(['SCRIPT', 'STYLE', 'TITLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION', 'HEAD']);
for (const el of document.body ? document.body.querySelectorAll('*') : []) {
  if (skip.has(el.tagName)) { continue; }
  const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
  if (!own) { continue; }
  const style = getComputedStyle(el);
  if (style.visibility !== 'visible' || el.getClientRects().length === 0) { continue; }
  const fg = parse(style.color);
  if (!fg) { problems.push('colour not understood: ' + style.color + ' on ' + describe(el)); continue; }
  const bg = background(el);
  const text = over(fg, bg);
  const [l1, l2] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  if (ratio < 4.5) {
    problems.push('contrast ' + ratio.toFixed(2) + ':1 (under 4.5:1) for "' + own.slice(0, 40) + '" on ' + describe(el)
      + ' (' + style.color + ' on rgb(' + bg.slice(0, 3).map(Math.round).join(', ') + '))');
  }
}
return problems;
"#;

/// The organizers' words in the catalogs tests load (event names, venues, seat
/// types, descriptions): their data, which may be English on a Japanese page.
fn organizer_words() -> &'static [String] {
    static WORDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let demo = std::fs::read_to_string(crate::helpers::repo("events/demo.toml")).expect("demo catalog");
        let demo: toml::Value = toml::from_str(&demo).expect("demo catalog parses");
        let mut words = vec!["Chamber Night".to_string()];
        fn collect(v: &toml::Value, out: &mut Vec<String>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        match (k.as_str(), v) {
                            ("name" | "venue" | "description" | "genre" | "region", toml::Value::String(s)) => {
                                out.push(s.clone())
                            }
                            _ => collect(v, out),
                        }
                    }
                }
                toml::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        collect(&demo, &mut words);
        // Longest first, so a name inside a longer one is not cut out of it first.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        words
    })
}

/// Runs of two or more English words in `text` (an interface string someone
/// forgot to translate), besides the organizers' words; single words
/// (dialticket, JST, QR, a staff member's name, "English" in the language
/// switch) pass.
pub(crate) fn english_left(text: &str) -> Vec<String> {
    let mut text = text.to_string();
    for d in organizer_words() {
        text = text.replace(d.as_str(), " ");
    }
    let mut found = vec![];
    for phrase in text.split(|c: char| !(c.is_ascii_alphabetic() || c == ' ' || c == '\'')) {
        let words = phrase.split(' ').filter(|w| w.len() >= 2).count();
        if words >= 2 {
            found.push(phrase.trim().to_string());
        }
    }
    found
}

#[test]
fn english_left_finds_interface_words_only() {
    assert_eq!(english_left("入場 1 / 1 · Open Rehearsal (any day) · JST、担当 Aiko"), Vec::<String>::new());
    assert_eq!(english_left("座席 A-1 · Seat A-1 · Use the camera"), vec!["Use the camera".to_string()]);
    assert_eq!(english_left("会場 Holonic Hall Studio, Tokyo ・ S seat (stalls)"), Vec::<String>::new());
}
