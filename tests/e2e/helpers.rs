//! Shared test helpers: spawn a gateway with a fresh database and mailbox.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dialticket::app::App;
use dialticket::config::Config;
use dialticket::events::CatalogFile;
use dialticket::startup::Gateway;
use dialticket_sim::sip::{place_call, CallOptions, CallReport};
use dialticket_sim::smtp::{ReceivedMail, SmtpSink};
use dialticket_sim::web::{resolve, Browser};
use serde_json::Value;

pub const PURCHASE: &str = "+442079460100";
pub const ISSUE: &str = "+442079460101";
pub const USAGE: &str = "+442079460102";
pub const PURCHASE_MISSED_CALL: &str = "+442079460110";
/// The confirm-billing number of the default dialplan (`identity = "trusted-peer"`).
/// The confirm-billing block of the default dialplan: an order's consent number is
/// this and three digits of its own.
pub const CONFIRM_BILLING: &str = "+44207946013";
pub const MAIL_WAIT: Duration = Duration::from_secs(15);

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub struct TestGateway {
    pub sip: SocketAddr,
    /// The public listener (`http_listen`): the shop, the mailed links, `/staff`.
    pub base: String,
    /// The admin listener (`admin_listen`): `/admin/…`, `/dialplan`, `/outbox`, `/metrics`.
    pub admin: String,
    pub mailbox: SmtpSink,
    pub app: Arc<App>,
    pub browser: Browser,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// A gateway on 127.0.0.1 port 0 with a fresh SQLite database, its own signing
/// key, the repo's dialplans/templates/prompts, the demo catalog loaded, and
/// mail going over SMTP to a sink owned by the test.
pub async fn spawn_gateway() -> TestGateway {
    spawn_gateway_with(|_| {}).await
}

pub async fn spawn_gateway_with(customize: impl FnOnce(&mut Config)) -> TestGateway {
    let dir = tempfile::tempdir().expect("tempdir");
    let mailbox = SmtpSink::bind("127.0.0.1:0".parse().unwrap()).await.expect("smtp sink");
    let mut config = Config {
        sip_listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("test.db").display()),
        smtp_url: Some(format!("smtp://{}", mailbox.addr())),
        dialplans: repo("dialplans"),
        mail_templates: repo("mail-templates"),
        prompts: repo("prompts"),
        signing_key: dir.path().join("signing-key.pem"),
        payment_mode: Some(dialticket::payment::PaymentMode::Sandbox),
        ..Config::default()
    };
    customize(&mut config);
    let gateway = Gateway::build(config).await.expect("gateway builds");
    let app = gateway.app();
    let catalog = CatalogFile::load(&repo("events/demo.toml")).expect("demo catalog");
    app.store.load_catalog(&catalog).await.expect("catalog loads");
    let (sip, base, admin) = (gateway.sip_addr(), gateway.public_url(), format!("http://{}", gateway.admin_addr()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        gateway
            .run_until_stopped(async move {
                let _ = stopped.await;
            })
            .await
            .expect("gateway runs");
    });
    TestGateway {
        sip,
        base,
        admin,
        mailbox,
        app,
        browser: Browser::new(),
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}

/// Two gateways sharing the database at `url` and one link-signing key (kept in
/// the returned directory): the deployment of `compose.yaml`, in one process,
/// each with its own mailbox (so a test sees which gateway's worker sent a mail;
/// either may send any queued mail: see [`spawn_two_gateways_one_relay`]).
pub async fn spawn_two_gateways(url: &str) -> (TestGateway, TestGateway, tempfile::TempDir) {
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("signing-key.pem");
    let shared = |c: &mut Config| {
        c.database_url = url.to_string();
        c.signing_key = key.clone();
    };
    let a = spawn_gateway_with(shared).await;
    let b = spawn_gateway_with(shared).await;
    (a, b, keys)
}

/// [`spawn_two_gateways`] with one mail relay, as `compose.yaml` has: each
/// gateway's mail worker claims from the shared outbox, so a mail queued by one
/// may be sent by the other — a test that waits for a mail must read the one
/// mailbox both send to (`a.mailbox` and `b.mailbox` are it).
pub async fn spawn_two_gateways_one_relay(url: &str) -> (TestGateway, TestGateway, tempfile::TempDir) {
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("signing-key.pem");
    let a = spawn_gateway_with(|c| {
        c.database_url = url.to_string();
        c.signing_key = key.clone();
    })
    .await;
    let relay = format!("smtp://{}", a.mailbox.addr());
    let mut b = spawn_gateway_with(|c| {
        c.database_url = url.to_string();
        c.signing_key = key.clone();
        c.smtp_url = Some(relay);
    })
    .await;
    b.mailbox = a.mailbox.clone();
    (a, b, keys)
}

/// A gateway configuration that keeps its SQLite database and signing key in
/// `dir` (`shared.db`, `key.pem`), so a gateway started again with it (a
/// restart) finds them.
pub fn state_in(dir: &Path) -> impl Fn(&mut Config) + Copy + '_ {
    move |c: &mut Config| {
        c.database_url = format!("sqlite://{}", dir.join("shared.db").display());
        c.signing_key = dir.join("key.pem");
    }
}

impl TestGateway {
    /// Place a call from `from` to `to` over UDP and wait for it to end.
    pub async fn call(&self, from: &str, to: &str) -> CallReport {
        self.call_with(CallOptions::new(self.sip, from, to)).await
    }

    pub async fn call_with(&self, opts: CallOptions) -> CallReport {
        place_call(opts).await.expect("call completes")
    }

    /// The address mail for `phone` goes to (the carrier template of the default config).
    pub fn address(phone: &str) -> String {
        format!("{phone}@sms.example.net")
    }

    /// Wait for the first mail to `phone` whose subject contains `subject`.
    pub async fn mail(&self, phone: &str, subject: &str) -> ReceivedMail {
        let to = Self::address(phone);
        let subject = subject.to_string();
        self.mailbox
            .wait_for(|m| m.envelope_to.iter().any(|t| t == &to) && m.subject.contains(&subject), MAIL_WAIT)
            .await
            .unwrap_or_else(|e| {
                panic!("no mail to {to} with subject containing {subject:?}: {e}; got {:?}", self.subjects())
            })
    }

    /// Wait for `n` mails to `phone` whose subject contains `subject`; all of those.
    pub async fn mails_at_least(&self, phone: &str, subject: &str, n: usize) -> Vec<ReceivedMail> {
        let to = Self::address(phone);
        self.mailbox
            .wait_for_matching(n, |m| m.envelope_to.iter().any(|t| t == &to) && m.subject.contains(subject), MAIL_WAIT)
            .await
            .unwrap_or_else(|e| {
                panic!("not {n} mails to {to} with subject containing {subject:?}: {e}; got {:?}", self.subjects())
            })
    }

    /// Mails to `phone` whose subject contains `subject`.
    pub fn mails(&self, phone: &str, subject: &str) -> Vec<ReceivedMail> {
        let to = Self::address(phone);
        self.mailbox
            .messages()
            .into_iter()
            .filter(|m| m.envelope_to.contains(&to) && m.subject.contains(subject))
            .collect()
    }

    /// How many mails to `phone` whose subject contains `subject` are in the outbox
    /// (queued or sent). A mail is queued in the same transaction as the decision
    /// that sends it (a call's answer, a page's POST), so once that call or request
    /// has ended the count is final: no waiting to see whether another mail comes.
    pub async fn queued(&self, phone: &str, subject: &str) -> usize {
        let to = Self::address(phone);
        let outbox = self.app.store.outbox(10_000).await.expect("outbox");
        outbox.iter().filter(|m| m.to_addr == to && m.subject.contains(subject)).count()
    }

    /// Wait until the outbox holds no mail `pending` or `sending`: every mail queued
    /// so far has been delivered (or given up on), so the sink holds all it will
    /// get from what has happened so far, and counting it checks a state rather
    /// than a moment ("no second mail came within N ms"). A mail is queued with the
    /// decision that sends it, so once the calls and posts that could queue one
    /// have returned, this is the end of their mail. The bound only guards
    /// against a hang.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        loop {
            let backlog = self.app.store.outbox_backlog().await.expect("outbox backlog");
            if backlog.pending + backlog.sending == 0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the outbox never settled: {backlog:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `/healthz`'s `part` (`dialplan`, `stir`) once `ready` holds: reloads run in
    /// the background after a file changes, so a test waits for the recorded
    /// outcome as an operator watching the health page would. The bound only
    /// guards against a hang.
    pub async fn health(&self, part: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        let mut last = Value::Null;
        while tokio::time::Instant::now() < deadline {
            let (status, health) = self.get("/healthz").await;
            assert_eq!(status, 200, "{health}");
            last = health[part].clone();
            if ready(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/healthz {part} never got there; last: {last}");
    }

    pub fn subjects(&self) -> Vec<String> {
        self.mailbox.messages().iter().map(|m| format!("{:?} {}", m.envelope_to, m.subject)).collect()
    }

    /// The link in `mail` that opens a page under `prefix` (`/p/`, `/g/`, `/t/`, `/a/`),
    /// checked to point at this gateway.
    pub fn link(&self, mail: &ReceivedMail, prefix: &str) -> String {
        let want = format!("{}{prefix}", self.base);
        let link = mail.links.iter().find(|l| l.starts_with(&want));
        link.unwrap_or_else(|| panic!("mail {:?} has no link starting with {want}: {:?}", mail.subject, mail.links))
            .clone()
    }

    pub async fn get(&self, url: &str) -> (u16, Value) {
        self.browser.get_json(&resolve(&self.base, url)).await.expect("GET")
    }

    pub async fn post(&self, url: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        self.browser.post_form_json(&resolve(&self.base, url), fields).await.expect("POST")
    }

    /// GET `path` on the admin listener, as JSON.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.browser.get_json(&resolve(&self.admin, path)).await.expect("GET (admin listener)")
    }

    /// `path` on the admin listener: a full URL.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin)
    }

    /// Prometheus `/metrics` text from the admin listener.
    pub async fn metrics(&self) -> String {
        let resp = reqwest::get(self.admin_url("/metrics")).await.expect("GET /metrics");
        assert_eq!(resp.status(), 200, "/metrics on the admin listener");
        resp.text().await.expect("metrics text")
    }

    /// Open a shop (a purchase link or `/buy`), pick `event_id`, and return the
    /// event page's URL and JSON (with its order form).
    pub async fn event_form(&self, shop: &str, event_id: &str) -> (String, Value) {
        let (status, list) = self.get(shop).await;
        assert_eq!(status, 200, "{list}");
        let events = list["events"].as_array().expect("events");
        let event =
            events.iter().find(|e| e["id"] == event_id).unwrap_or_else(|| panic!("{event_id} not listed: {list}"));
        let url = event["url"].as_str().expect("event url").to_string();
        let (status, page) = self.get(&url).await;
        assert_eq!(status, 200, "{page}");
        (url, page)
    }

    /// Post `event_id`'s order form under `shop` (a purchase link or `/buy`) for one
    /// seat of its first seat type, with `fields` (payment, recipient, …) besides.
    pub async fn order_form(&self, shop: &str, event_id: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let (url, page) = self.event_form(shop, event_id).await;
        let token = page["form"]["form_token"].as_str().expect("form token").to_string();
        let seat = page["event"]["seat_types"][0]["code"].as_str().expect("seat type").to_string();
        let mut all = vec![("form_token", token.as_str()), ("seat_type", seat.as_str()), ("quantity", "1")];
        all.extend_from_slice(fields);
        self.post(&url, &all).await
    }

    /// Buy `quantity` seats of the event's first seat type via the purchase pages.
    pub async fn buy(&self, purchase_link: &str, event_id: &str, quantity: u32, card: &str) -> (u16, Value) {
        let (_, page) = self.event_form(purchase_link, event_id).await;
        let form = &page["form"];
        let seat_type = page["event"]["seat_types"][0]["code"].as_str().expect("seat type").to_string();
        let q = quantity.to_string();
        let fields = [
            ("form_token", form["form_token"].as_str().expect("form token")),
            ("seat_type", seat_type.as_str()),
            ("quantity", q.as_str()),
            ("payment_method", "card"),
            ("card_number", card),
        ];
        self.post(form["action"].as_str().expect("form action"), &fields).await
    }

    /// Run the journey up to a paid purchase; returns the issue-guide mail.
    pub async fn paid_purchase(&self, phone: &str, event_id: &str) -> (Value, ReceivedMail) {
        let report = self.call(phone, PURCHASE).await;
        assert_eq!(report.final_status, 200, "{report:?}");
        let mail = self.mail(phone, "purchase link").await;
        let (status, order) = self.buy(&self.link(&mail, "/p/"), event_id, 1, "4242 4242 4242 4242").await;
        assert_eq!(status, 200, "{order}");
        let guide = self.mail(phone, "Payment received").await;
        (order, guide)
    }

    /// A ticket of `quantity` seats of `event_id` bought, paid and issued for
    /// `phone` (and made admissible by the usage-confirmation call when `confirm`):
    /// the ticket page's link and JSON.
    pub async fn issued_ticket(&self, phone: &str, event_id: &str, quantity: u32, confirm: bool) -> (String, Value) {
        assert_eq!(self.call(phone, PURCHASE).await.final_status, 200);
        let link = self.link(&self.mail(phone, "purchase link").await, "/p/");
        let (status, order) = self.buy(&link, event_id, quantity, "4242 4242 4242 4242").await;
        assert_eq!(status, 200, "{order}");
        self.mail(phone, "Payment received").await;
        assert_eq!(self.call(phone, ISSUE).await.final_status, 200);
        let ticket = self.link(&self.mail(phone, "Your ticket").await, "/t/");
        if confirm {
            assert_eq!(self.call(phone, USAGE).await.final_status, 200);
        }
        let (status, page) = self.get(&ticket).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["tickets"].as_array().map(Vec::len), Some(quantity as usize), "{page}");
        (ticket, page)
    }

    /// Run the journey on to the venue: paid, issued by calling the issue number,
    /// then the usage-confirmation call; returns the admission page's link.
    pub async fn admission_link(&self, phone: &str, event_id: &str) -> String {
        self.paid_purchase(phone, event_id).await;
        self.call(phone, ISSUE).await;
        self.mail(phone, "Your ticket").await;
        self.call(phone, USAGE).await;
        self.link(&self.mail(phone, "Admission page").await, "/a/")
    }

    /// Load the demo catalog again with exit and re-entry allowed at `event_id`
    /// (`reentry = true`; the demo leaves every event single entry).
    pub async fn allow_reentry(&self, event_id: &str) {
        self.set_reentry(event_id, Some(true)).await;
    }

    /// Load the demo catalog again saying `reentry = on` at `event_id` (`None`:
    /// not saying, as the demo does); whether the event has re-entry then.
    pub async fn set_reentry(&self, event_id: &str, on: Option<bool>) -> bool {
        let demo = std::fs::read_to_string(repo("events/demo.toml")).expect("demo catalog");
        let id = format!("id = \"{event_id}\"\n");
        assert!(demo.contains(&id), "no event {event_id} in the demo catalog");
        let text = match on {
            Some(on) => demo.replacen(&id, &format!("{id}reentry = {on}\n"), 1),
            None => demo,
        };
        let file = dialticket::events::CatalogFile::parse(&text, chrono::Utc::now()).expect("catalog");
        self.app.store.load_catalog(&file).await.expect("loaded");
        let reentry = self.app.store.event(event_id).await.expect("event").expect("event").reentry;
        if let Some(on) = on {
            assert_eq!(reentry, on, "{event_id}");
        }
        reentry
    }

    /// Let staff admit `event_id`'s tickets with the staff PIN on the holder's phone
    /// (an organizer's opt-in; the demo catalog leaves it off).
    pub async fn allow_pin_admission(&self, event_id: &str) {
        let mut tx = self.app.store.begin().await.expect("begin");
        assert!(tx.set_pin_admission(event_id, true, "test").await.expect("set"), "no event {event_id}");
        tx.commit().await.expect("commit");
    }

    /// `event_id`'s staff PIN, and a PIN that is not it.
    pub fn staff_pins(&self, event_id: &str) -> (String, &'static str) {
        let pin = self.app.links.staff_pin(event_id, 0);
        let wrong = if pin == "000000" { "111111" } else { "000000" };
        (pin, wrong)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

/// A call from `line` whose number a trusted peer asserts (P-Asserted-Identity
/// from the loopback proxy of the default dialplan), or only claims in From
/// from an untrusted address; its final status.
pub async fn call_as(gw: &TestGateway, line: &str, to: &str, asserted: bool) -> u16 {
    let mut opts = CallOptions::new(gw.sip, line, to);
    if asserted {
        opts.pai = Some(format!("<tel:{line}>"));
    } else {
        opts.local_ip = "127.0.0.66".parse().unwrap();
    }
    gw.call_with(opts).await.final_status
}

/// `url` (a signed link) with one byte in the middle of its token's signature
/// flipped: still a well-formed token (base64url of 64 bytes), whose signature no
/// longer matches. (Changing the last base64 character would, one time in four,
/// change only its unused bits: a check that never looked at the signature could
/// still refuse that as bad base64.)
pub fn tamper_signature(url: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signed, signature) = url.rsplit_once('.').expect("a signed token");
    let mut bytes = b64.decode(signature).expect("a base64url signature");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    format!("{signed}.{}", b64.encode(bytes))
}

/// Run the openssl tool in `dir`; its standard output.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (scripts/test.sh installs it)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Verifies a message's DKIM signature with dkimpy (Debian's python3-dkim), the
/// public key given as the TXT record DNS would return for `selector._domainkey.domain`.
const VERIFY: &str = r#"
import sys, dkim
message, record, name = open(sys.argv[1], 'rb').read(), sys.argv[2].encode(), sys.argv[3].encode()
def dns(query, timeout=5):
    return record if query.rstrip(b'.') == name else None
print(dkim.verify(message, dnsfunc=dns))
"#;

pub fn dkim_verify(dir: &Path, message: &[u8], record: &str, name: &str) -> String {
    let file = dir.join("message.eml");
    std::fs::write(&file, message).expect("message file");
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", VERIFY])
        .arg(&file)
        .args([record, name])
        .output()
        .expect("python3 with python3-dkim (scripts/test.sh installs it)");
    assert!(out.status.success(), "dkimpy: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A DKIM key made with `openssl genpkey` in `dir` (`algorithm` RSA or ED25519;
/// PKCS#8 PEM, as the gateway's `dkim_key` takes it) and the TXT record that
/// publishes its public key.
pub fn dkim_key(dir: &Path, algorithm: &str) -> (PathBuf, String) {
    use base64::Engine;
    let mut args = vec!["genpkey", "-algorithm", algorithm, "-out", "dkim.pem"];
    if algorithm == "RSA" {
        args.extend(["-pkeyopt", "rsa_keygen_bits:2048"]);
    }
    openssl(dir, &args);
    let der = openssl(dir, &["pkey", "-in", "dkim.pem", "-pubout", "-outform", "DER"]);
    // RSA: the SubjectPublicKeyInfo; Ed25519 (RFC 8463): the raw 32-byte key at its end.
    let (k, public) = if algorithm == "RSA" { ("rsa", &der[..]) } else { ("ed25519", &der[der.len() - 32..]) };
    let record = format!("v=DKIM1; k={k}; p={}", base64::engine::general_purpose::STANDARD.encode(public));
    (dir.join("dkim.pem"), record)
}

/// A STIR/SHAKEN certification authority and a service-provider certificate it
/// signed (EC P-256), made with the openssl CLI in `dir`: `{name}-ca.pem`,
/// `{name}-sp.pem` and the SP's private key `{name}-sp.key`.
pub fn make_sti_ca(dir: &Path, name: &str) {
    let key = format!("{name}-ca.key");
    let ca = format!("{name}-ca.pem");
    openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &key]);
    let subj = format!("/CN={name} STI-CA");
    openssl(dir, &["req", "-x509", "-new", "-key", &key, "-sha256", "-days", "30", "-subj", &subj, "-out", &ca]);
    let sp_key = format!("{name}-sp.key");
    let csr = format!("{name}-sp.csr");
    openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &sp_key]);
    openssl(dir, &["req", "-new", "-key", &sp_key, "-subj", "/CN=Test SP", "-out", &csr]);
    let sp = format!("{name}-sp.pem");
    let args = ["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &key, "-CAcreateserial", "-sha256", "-days", "30"];
    let mut args = args.to_vec();
    args.extend(["-out", &sp]);
    openssl(dir, &args);
}

/// A `stir_trust_dir` in `dir/stir`: the CAs `anchors` (names given to
/// [`make_sti_ca`]) as trust anchors, and the certificate cache mapping each x5u
/// URL to a CA's SP certificate.
pub fn stir_trust_dir(dir: &Path, anchors: &[&str], certs: &[(&str, &str)]) -> PathBuf {
    let trust = dir.join("stir");
    std::fs::create_dir_all(trust.join("anchors")).expect("anchors dir");
    std::fs::create_dir_all(trust.join("certs")).expect("certs dir");
    for ca in anchors {
        std::fs::copy(dir.join(format!("{ca}-ca.pem")), trust.join(format!("anchors/{ca}.pem"))).expect("anchor");
    }
    let mut index = String::new();
    for (x5u, ca) in certs {
        std::fs::copy(dir.join(format!("{ca}-sp.pem")), trust.join(format!("certs/{ca}-sp.pem"))).expect("cert");
        index.push_str(&format!("\"{x5u}\" = \"{ca}-sp.pem\"\n"));
    }
    std::fs::write(trust.join("certs.toml"), index).expect("certs.toml");
    trust
}

/// A database a test owns: a temporary SQLite file, or a fresh database on the
/// test PostgreSQL server.
pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Db {
    /// The database's URL, for a second connection of the test's own.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!("sqlite://{}", dir.path().join("t.db").display()),
            Db::Postgres(url) => url.clone(),
        }
    }
}

/// The PostgreSQL server to test against, if any. In CI its absence is an error.
pub fn postgres_url() -> Option<String> {
    match std::env::var("DIALTICKET_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => {
            panic!("CI must run the PostgreSQL tests too: run scripts/test.sh")
        }
        _ => {
            eprintln!("DIALTICKET_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped (scripts/test.sh sets it)");
            None
        }
    }
}

/// A database URL for a new, empty database on `backend` ("sqlite" or "postgres").
pub async fn fresh_database(backend: &str) -> Option<(String, Db)> {
    match backend {
        "sqlite" => {
            let db = Db::Sqlite(tempfile::tempdir().unwrap());
            Some((db.url(), db))
        }
        "postgres" => {
            let server = postgres_url()?;
            let name = format!("dt_{}", uuid::Uuid::new_v4().simple());
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&server)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
            let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
            let url = format!("{base}/{name}");
            Some((url.clone(), Db::Postgres(url)))
        }
        other => panic!("unknown backend {other}"),
    }
}

/// Whether `page` shows "UTC" to its reader: in its text, not inside an
/// attribute's value (a CSRF token or a signed link is random text, and one in
/// 10,000 or so spells "UTC": found when a back-office test failed on its token).
pub fn shows_utc(page: &str) -> bool {
    let mut text = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(i) = rest.find("=\"") {
        text.push_str(&rest[..i]);
        rest = rest[i + 2..].split_once('"').map_or("", |(_, after)| after);
    }
    text.push_str(rest);
    text.contains("UTC")
}
