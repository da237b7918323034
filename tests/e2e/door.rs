//! The door (issue 18): every seat its own ticket with a signed code, drawn as a
//! QR code on the ticket page, scanned by staff devices through
//! `POST /staff/api/scan`. The QR code is read as a camera would: the page's
//! inline SVG rasterized (resvg) and decoded by zbarimg (Debian's zbar-tools).

use std::path::Path;

use serde_json::{json, Value};

use crate::helpers::*;

const EVENT: &str = "open-rehearsal";

/// A staff account for `event_id` (at `gate`) and its scanning device's token.
async fn device(gw: &TestGateway, event_id: &str, name: &str, gate: Option<&str>) -> (String, String) {
    let made = gw.app.store.add_staff(event_id, name, gate, true, "test", dialticket::store::now()).await.unwrap();
    (made.staff.id, made.api_token.expect("an API token"))
}

/// One scan: the HTTP status and the JSON answer.
async fn scan(base: &str, token: Option<&str>, code: &str) -> (u16, Value) {
    scan_body(base, token, &json!({ "code": code }).to_string()).await
}

async fn scan_body(base: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/staff/api/scan"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("scan request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// What zbarimg reads in the PNG `png`.
fn zbar(dir: &Path, png: &[u8]) -> String {
    let file = dir.join("qr.png");
    std::fs::write(&file, png).unwrap();
    let out = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(&file)
        .output()
        .expect("zbarimg is installed (scripts/test.sh installs zbar-tools)");
    assert!(out.status.success(), "zbarimg: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end_matches('\n').to_string()
}

/// The first inline `<svg>` of `html`, rasterized at 4× as a PNG.
fn first_svg_as_png(html: &str) -> Vec<u8> {
    let start = html.find("<svg").expect("an inline SVG on the page");
    let end = html[start..].find("</svg>").expect("its end") + start + "</svg>".len();
    let tree = resvg::usvg::Tree::from_str(&html[start..end], &resvg::usvg::Options::default()).expect("SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width() * 4, size.height() * 4).expect("pixmap");
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(4.0, 4.0), &mut pixmap.as_mut());
    pixmap.encode_png().expect("PNG")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_code_on_the_ticket_page_scans_as_admitted_once_the_holder_has_called() {
    let gw = spawn_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let phone = "+819077770001";
    let (ticket, page) = gw.issued_ticket(phone, EVENT, 1, false).await;
    let seat = &page["tickets"][0];
    let code = seat["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 116, "{code}");
    assert!(!code.contains("819077770001"), "no phone number in the code");

    // The page's QR code, read as a camera would, is the seat's code.
    let (status, html) = gw.browser.get_html(&ticket).await.unwrap();
    assert_eq!(status, 200);
    assert!(!html.contains("<script"), "no JavaScript on the ticket page");
    assert_eq!(zbar(dir.path(), &first_svg_as_png(&html)), code);
    // The mail shows the same code as a PNG, and the reference in its text.
    let mail = gw.mail(phone, "Your ticket").await;
    let reference = seat["reference"].as_str().expect("a reference").to_string();
    assert!(mail.text.contains(&reference), "{}", mail.text);
    let png_url = format!("{ticket}/qr/{}.png", seat["position"]);
    // (The HTML writes `/` as `&#x2f;` in attributes.)
    let html_mail = mail.html.as_deref().unwrap_or_default().replace("&#x2f;", "/");
    assert!(html_mail.contains(&format!("<img src=\"{png_url}\"")), "{html_mail}");
    let png = reqwest::get(&png_url).await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(zbar(dir.path(), &png.bytes().await.unwrap()), code);

    let (_, token) = device(&gw, EVENT, "Aiko", Some("B")).await;
    // Before the usage-confirmation call the seat is not admissible yet.
    let (status, answer) = scan(&gw.base, Some(&token), &code).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("not_confirmed")), "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("usage-confirmation"), "{answer}");
    assert_eq!(gw.call(phone, USAGE).await.final_status, 200);

    let (status, answer) = scan(&gw.base, Some(&token), &code).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("admitted")), "{answer}");
    assert_eq!(
        (answer["seat"].as_str(), answer["gate"].as_str(), answer["by"].as_str()),
        (Some("GA-1"), Some("B"), Some("Aiko"))
    );
    assert!(answer["admitted_at"].is_i64(), "{answer}");
    assert!(answer["admitted_at_display"].as_str().unwrap().ends_with(" JST"), "the venue's clock: {answer}");
    let (_, again) = scan(&gw.base, Some(&token), &format!("{code}\n")).await;
    assert_eq!(again["result"], "already_admitted", "{again}");
    assert_eq!(
        (&again["admitted_at"], &again["gate"], &again["by"]),
        (&answer["admitted_at"], &answer["gate"], &answer["by"])
    );

    // The ticket page and the code check say so; the check shows the phone masked.
    let (_, page) = gw.get(&ticket).await;
    assert_eq!(page["tickets"][0]["admitted"], true, "{page}");
    assert_eq!(page["admission"], "admitted");
    let (status, check) = gw.get(page["tickets"][0]["verify_url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!((check["admission"].as_str(), check["phone"].as_str()), (Some("admitted"), Some("+81••••••0001")));
    // Each scan is journalled on the seat, with staff and gate.
    let journal = gw.app.store.journal_for(&format!("{EVENT}/GA-1")).await.unwrap();
    let scans: Vec<_> = journal.iter().filter(|j| j.action == "scan").map(|j| j.to_state.clone().unwrap()).collect();
    assert_eq!(scans, ["not_confirmed", "admitted", "already_admitted"]);
    assert!(journal.iter().all(|j| j.detail.contains("\"gate\":\"B\"") && j.detail.contains("Aiko")), "{journal:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_seats_of_one_purchase_are_admitted_separately_by_code_and_by_typed_reference() {
    let gw = spawn_gateway().await;
    let phone = "+819077770002";
    let (_, page) = gw.issued_ticket(phone, EVENT, 2, false).await;
    assert_eq!(gw.call(phone, USAGE).await.final_status, 200);
    let (_, token) = device(&gw, EVENT, "Ken", None).await;
    let (first, second) = (&page["tickets"][0], &page["tickets"][1]);
    assert_ne!(first["code"], second["code"]);
    let (_, a) = scan(&gw.base, Some(&token), first["code"].as_str().unwrap()).await;
    assert_eq!((a["result"].as_str(), &a["seat"]), (Some("admitted"), &first["seat"]), "{a}");
    // The second seat is still to come: typed as staff would, lower case, no dash.
    let typed = second["reference"].as_str().unwrap().replace('-', "").to_lowercase();
    let (_, b) = scan(&gw.base, Some(&token), &typed).await;
    assert_eq!((b["result"].as_str(), &b["seat"]), (Some("admitted"), &second["seat"]), "{b}");
    let (_, c) = scan(&gw.base, Some(&token), second["reference"].as_str().unwrap()).await;
    assert_eq!(c["result"], "already_admitted", "{c}");
    gw.stop().await;
}

/// The admission page's live code (a QR of the seat's code and the digits of
/// now, renewed every 15 s): its QR decodes to the code and digits shown, it
/// scans as admitted; the same code with other digits (a screenshot of an
/// earlier step) is stale and admits nobody; an admitted seat's live code goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admission_pages_live_code_admits_and_a_stale_one_is_refused() {
    let gw = spawn_gateway().await;
    let phone = "+819077770009";
    let (_, ticket) = gw.issued_ticket(phone, EVENT, 2, false).await;
    assert_eq!(gw.call(phone, USAGE).await.final_status, 200);
    let admission = gw.link(&gw.mail(phone, "Admission page").await, "/a/");
    let (_, token) = device(&gw, EVENT, "Kenji", Some("A")).await;
    let (_, page) = gw.get(&admission).await;
    let live = page["live"].as_array().expect("live codes").clone();
    assert_eq!(live.len(), 2, "{page}");
    let (first, second) = (&ticket["tickets"][0], &ticket["tickets"][1]);
    assert_eq!(live[0]["position"], first["position"]);
    let digits = live[0]["digits"].as_str().expect("digits");
    let text = format!("{}/{digits}", first["code"].as_str().unwrap());
    // What the page's QR code holds is exactly that.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(zbar(dir.path(), &first_svg_as_png(live[0]["qr_svg"].as_str().unwrap())), text);

    // A screenshot of another step: every digit off by one.
    let other: String =
        digits.chars().map(|c| char::from(b'0' + (c.to_digit(10).unwrap_or(0) as u8 + 1) % 10)).collect();
    let (_, stale) = scan(&gw.base, Some(&token), &format!("{}/{other}", second["code"].as_str().unwrap())).await;
    assert_eq!(stale["result"], "stale", "{stale}");
    let (_, ok) = scan(&gw.base, Some(&token), &text).await;
    assert_eq!((ok["result"].as_str(), &ok["seat"]), (Some("admitted"), &first["seat"]), "{ok}");
    let (_, page) = gw.get(&admission).await;
    let left: Vec<&Value> = page["live"].as_array().map(|l| l.iter().collect()).unwrap_or_default();
    assert_eq!(left.len(), 1, "only the seat still to come keeps a live code: {page}");
    assert_eq!(left[0]["position"], second["position"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reissued_tickets_old_code_and_reference_are_revoked() {
    let gw = spawn_gateway().await;
    let phone = "+819077770003";
    let (_, before) = gw.issued_ticket(phone, EVENT, 1, false).await;
    assert_eq!(gw.call(phone, ISSUE).await.final_status, 200);
    let (_, after) = gw.get(&gw.link(&gw.mail(phone, "Your ticket again").await, "/t/")).await;
    let (old, new) = (&before["tickets"][0], &after["tickets"][0]);
    assert_ne!(old["code"], new["code"]);
    assert_ne!(old["reference"], new["reference"]);
    assert_eq!(gw.call(phone, USAGE).await.final_status, 200);
    let (_, token) = device(&gw, EVENT, "Mai", None).await;
    for stale in [&old["code"], &old["reference"]] {
        let (status, answer) = scan(&gw.base, Some(&token), stale.as_str().unwrap()).await;
        assert_eq!((status, answer["result"].as_str()), (200, Some("revoked")), "{answer}");
    }
    let (_, answer) = scan(&gw.base, Some(&token), new["code"].as_str().unwrap()).await;
    assert_eq!(answer["result"], "admitted", "{answer}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_codes_are_invalid_and_another_events_codes_wrong_event() {
    let gw = spawn_gateway().await;
    let (_, rehearsal) = gw.issued_ticket("+819077770004", EVENT, 1, false).await;
    let (_, gala) = gw.issued_ticket("+819077770005", "spring-gala-2027", 1, false).await;
    let (_, token) = device(&gw, EVENT, "Ren", None).await;
    let code = rehearsal["tickets"][0]["code"].as_str().unwrap().to_string();

    // Signed by another key, cut short, lower-cased, re-encoded with a byte changed, garbage.
    let forged = dialticket::door::code::SeatCode::sign(
        &ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        EVENT,
        rehearsal["tickets"][0]["position"].as_u64().unwrap() as u32,
        1,
    )
    .text();
    let mut bytes = base45::decode(&code).unwrap();
    bytes[3] ^= 1;
    let changed = base45::encode(&bytes);
    for bad in [forged.as_str(), &code[..100], &code.to_lowercase(), &changed, "", "K7QF2-M9XTA", "💥", "%%%%"] {
        let (status, answer) = scan(&gw.base, Some(&token), bad).await;
        assert_eq!((status, answer["result"].as_str()), (200, Some("invalid")), "{bad}: {answer}");
    }
    for body in ["not json", "{}", "{\"code\": 5}"] {
        assert_eq!(scan_body(&gw.base, Some(&token), body).await.0, 400, "{body}");
    }
    // A genuine ticket of another event: its code and its reference.
    for other in [&gala["tickets"][0]["code"], &gala["tickets"][0]["reference"]] {
        let (status, answer) = scan(&gw.base, Some(&token), other.as_str().unwrap()).await;
        assert_eq!((status, answer["result"].as_str()), (200, Some("wrong_event")), "{answer}");
    }
    // A token of one event naming another event is refused outright (403), for
    // scans and for the counters; its own event is served.
    let named = json!({"code": code, "event": "spring-gala-2027"}).to_string();
    let (status, refused) = scan_body(&gw.base, Some(&token), &named).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("another event"), "{refused}");
    let counts = |event: &str| {
        let url = format!("{}/staff/api/events/{event}/counts", gw.base);
        let token = token.clone();
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(counts("spring-gala-2027").await.status().as_u16(), 403);
    let own = counts(EVENT).await;
    assert_eq!(own.status().as_u16(), 200);
    assert!(own.json::<Value>().await.unwrap()["expected"].as_i64().unwrap() >= 1);
    let (status, answer) = scan_body(&gw.base, Some(&token), &json!({"code": code, "event": EVENT}).to_string()).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("not_confirmed")), "{answer}");
    // At its own event, months before its doors open.
    let (_, gala_token) = device(&gw, "spring-gala-2027", "Sora", None).await;
    let (_, answer) = scan(&gw.base, Some(&gala_token), gala["tickets"][0]["code"].as_str().unwrap()).await;
    assert_eq!(answer["result"], "not_open", "{answer}");
    // A garbage code at /verify is a page saying so, not an error.
    let (status, check) = gw.get("/verify/not-a-code").await;
    assert_eq!((status, &check["valid"]), (200, &json!(false)), "{check}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_are_made_and_revoked_with_the_cli_and_a_revoked_token_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let gw = spawn_gateway_with(state_in(dir.path())).await;
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dialticket"))
            .args(args)
            .env("DIALTICKET_DATABASE_URL", format!("sqlite://{}", dir.path().join("shared.db").display()))
            .env("DIALTICKET_PUBLIC_URL", &gw.base)
            .output()
            .expect("dialticket runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let printed = cli(&["staff", "add", "--event", EVENT, "--name", "Yui", "--gate", "North", "--api"]);
    let line = |prefix: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {printed}"))
            .trim()
            .to_string()
    };
    let (login, token) = (line("login: "), line("api-token: "));
    let id = printed.split_whitespace().nth(1).unwrap().to_string();
    assert!(login.starts_with(&format!("{}/staff/login/", gw.base)), "{printed}");

    // The login link: GET shows it, POST uses it (once) for a session cookie.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(client.get(&login).send().await.unwrap().status(), 200);
    let used = client.post(&login).send().await.unwrap();
    assert_eq!(used.status(), 303);
    let cookie = used.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("dialticket_staff="), "{cookie}");
    assert_eq!(client.post(&login).send().await.unwrap().status(), 403, "a login link works once");
    let home = client.get(format!("{}/staff", gw.base)).header("cookie", &cookie).header("accept", "application/json");
    let home: Value = home.send().await.unwrap().json().await.unwrap();
    assert_eq!((home["staff"]["name"].as_str(), home["staff"]["gate"].as_str()), (Some("Yui"), Some("North")));

    assert_eq!(scan(&gw.base, Some(&token), "x").await.0, 200);
    assert_eq!(scan(&gw.base, None, "x").await.0, 401);
    assert_eq!(scan(&gw.base, Some("not-a-token"), "x").await.0, 401);
    assert!(cli(&["staff", "list", "--event", EVENT]).contains(&id));
    assert!(cli(&["staff", "revoke", &id]).contains("revoked"));
    assert_eq!(scan(&gw.base, Some(&token), "x").await.0, 401, "a revoked staff account's token");
    let home = client.get(format!("{}/staff", gw.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), 403, "and its sessions");
    gw.stop().await;
}

/// Two devices on two gateways sharing one database scan one code at once.
async fn scans_at_once_admit_once(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let (a, b, _keys) = spawn_two_gateways_one_relay(&url).await;
    let phone = "+819077770006";
    let (_, page) = a.issued_ticket(phone, EVENT, 1, false).await;
    assert_eq!(a.call(phone, USAGE).await.final_status, 200);
    let code = page["tickets"][0]["code"].as_str().unwrap().to_string();
    let (_, one) = device(&a, EVENT, "Gate A", Some("A")).await;
    let (_, two) = device(&a, EVENT, "Gate B", Some("B")).await;
    let scans = (0..16).map(|i| {
        let (base, token) = if i % 2 == 0 { (&a.base, &one) } else { (&b.base, &two) };
        scan(base, Some(token), &code)
    });
    let answers = futures::future::join_all(scans).await;
    let results: Vec<&str> =
        answers.iter().map(|(s, v)| if *s == 200 { v["result"].as_str().unwrap() } else { "error" }).collect();
    assert_eq!(results.iter().filter(|r| **r == "admitted").count(), 1, "{answers:?}");
    assert_eq!(results.iter().filter(|r| **r == "already_admitted").count(), 15, "{answers:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_devices_scanning_at_once_admit_once_on_sqlite() {
    scans_at_once_admit_once("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_devices_scanning_at_once_admit_once_on_postgres() {
    scans_at_once_admit_once("postgres").await;
}

/// One scan in or out (`direction`): the HTTP status and the JSON answer.
async fn scan_way(base: &str, token: &str, code: &str, direction: &str) -> (u16, Value) {
    scan_body(base, Some(token), &json!({ "code": code, "direction": direction }).to_string()).await
}

/// The results of `event`'s seat's scans in the journal, with their directions.
async fn journalled(gw: &TestGateway, seat: &str) -> Vec<(String, String)> {
    let journal = gw.app.store.journal_for(&format!("{EVENT}/{seat}")).await.unwrap();
    journal
        .iter()
        .filter(|j| j.action == "scan")
        .map(|j| {
            let detail: Value = serde_json::from_str(&j.detail).unwrap();
            assert_eq!((detail["gate"].as_str(), detail["staff"].as_str()), (Some("C"), Some("Noa")), "{detail}");
            (detail["direction"].as_str().unwrap_or("?").to_string(), j.to_state.clone().unwrap_or_default())
        })
        .collect()
}

/// At an event with exit and re-entry (catalog `reentry = true`): in, out, in
/// again (a re-entry, said so), out, and out again is `not_inside`; a seat never
/// admitted cannot go out; the counters say how many are inside now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_reentry_event_a_seat_goes_out_and_in_again() {
    let gw = spawn_gateway().await;
    gw.allow_reentry(EVENT).await;
    assert!(gw.set_reentry(EVENT, None).await, "a reload that does not say keeps re-entry");
    let phone = "+819077770011";
    let (ticket, page) = gw.issued_ticket(phone, EVENT, 2, false).await;
    assert_eq!(gw.call(phone, USAGE).await.final_status, 200);
    let admission = gw.link(&gw.mail(phone, "Admission page").await, "/a/");
    let (_, token) = device(&gw, EVENT, "Noa", Some("C")).await;
    let code = page["tickets"][0]["code"].as_str().unwrap().to_string();
    let other = page["tickets"][1]["reference"].as_str().unwrap().to_string();
    let inside = || async { gw.app.store.door_counts(EVENT).await.unwrap() };

    let (status, first) = scan(&gw.base, Some(&token), &code).await;
    assert_eq!((status, first["result"].as_str(), &first["reentry"]), (200, Some("admitted"), &json!(false)));
    assert_eq!((first["direction"].as_str(), &first["inside"]), (Some("in"), &json!(true)), "{first}");
    // The catalog sends these seats to gate B; Noa stands at gate C and is told.
    assert_eq!((first["entry_gate"].as_str(), &first["other_gate"]), (Some("B"), &json!(true)), "{first}");
    assert_eq!(first["seat_line"], "Seat GA-1 · enters by gate B, not here", "{first}");
    let (_, out) = scan_way(&gw.base, &token, &code, "out").await;
    assert_eq!(
        (out["result"].as_str(), &out["admits"], &out["inside"]),
        (Some("checked_out"), &json!(false), &json!(false))
    );
    assert_eq!((out["direction"].as_str(), out["gate"].as_str()), (Some("out"), None), "{out}");
    assert!(out["checked_out_at"].is_i64() && out["when_line"].as_str().unwrap().starts_with("Checked out "), "{out}");
    assert!(out["when_line"].as_str().unwrap().ends_with(" JST at gate C by Noa"), "{out}");
    let c = inside().await;
    assert_eq!((c.inside, c.admitted), (0, 1), "{c:?}");

    let (_, back) = scan_way(&gw.base, &token, &code, "in").await;
    assert_eq!(
        (back["result"].as_str(), &back["admits"], &back["reentry"]),
        (Some("admitted"), &json!(true), &json!(true))
    );
    assert_eq!((back["headline"].as_str(), back["by"].as_str()), (Some("ADMIT · RE-ENTRY"), Some("Noa")), "{back}");
    assert!(back["when_line"].as_str().unwrap().starts_with("Back in "), "{back}");
    let (_, twice) = scan(&gw.base, Some(&token), &code).await;
    assert_eq!(twice["result"], "already_admitted", "in while inside: {twice}");
    assert_eq!(twice["admitted_at"], first["admitted_at"], "the first admission: {twice}");
    assert_eq!(inside().await.inside, 1);

    let (_, out) = scan_way(&gw.base, &token, &code, "out").await;
    assert_eq!(out["result"], "checked_out", "{out}");
    let (_, again) = scan_way(&gw.base, &token, &code, "out").await;
    assert_eq!((again["result"].as_str(), &again["admits"]), (Some("not_inside"), &json!(false)), "{again}");
    assert_eq!(again["checked_out_at"], out["checked_out_at"], "when it went out: {again}");
    assert_eq!(again["headline"], "NOT INSIDE");
    // Out now: the holder's pages say so, and the admission page shows the code to go back in.
    let (_, tickets) = gw.get(&ticket).await;
    assert_eq!(
        (&tickets["tickets"][0]["checked_out"], &tickets["tickets"][1]["checked_out"]),
        (&json!(true), &json!(false))
    );
    let (_, check) = gw.get(tickets["tickets"][0]["verify_url"].as_str().unwrap()).await;
    assert_eq!((&check["admission"], &check["valid"]), (&json!("checked-out"), &json!(true)), "{check}");
    let (_, door) = gw.get(&admission).await;
    assert_eq!(door["state"], "valid", "{door}");
    assert!(door["headline"].as_str().unwrap().starts_with("VALID — checked out "), "{door}");
    assert_eq!(door["live"].as_array().map(Vec::len), Some(2), "both seats can go in: {door}");
    // The other seat was never admitted: it cannot go out.
    let (_, never) = scan_way(&gw.base, &token, &other, "out").await;
    assert_eq!((never["result"].as_str(), &never["checked_out_at"]), (Some("not_inside"), &Value::Null), "{never}");
    // A direction that is neither is refused before anything is scanned.
    for bad in [json!({"code": code, "direction": "sideways"}), json!({"code": code, "direction": 1})] {
        assert_eq!(scan_body(&gw.base, Some(&token), &bad.to_string()).await.0, 400, "{bad}");
    }
    let c = inside().await;
    assert_eq!((c.inside, c.admitted), (0, 1), "{c:?}");

    let scans = journalled(&gw, page["tickets"][0]["seat"].as_str().unwrap()).await;
    let want = [
        ("in", "admitted"),
        ("out", "checked_out"),
        ("in", "admitted"),
        ("in", "already_admitted"),
        ("out", "checked_out"),
        ("out", "not_inside"),
    ];
    assert_eq!(scans, want.map(|(d, r)| (d.to_string(), r.to_string())));
    gw.stop().await;
}

/// At a single-entry event (the default) nobody goes out: `no_reentry`, and the
/// seat stays inside, so a second scan in is `already_admitted` as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_single_entry_event_out_is_no_reentry_and_in_again_already_admitted() {
    let gw = spawn_gateway().await;
    assert!(!gw.app.store.event(EVENT).await.unwrap().unwrap().reentry, "single entry by default");
    let phone = "+819077770012";
    let (_, page) = gw.issued_ticket(phone, EVENT, 1, false).await;
    assert_eq!(gw.call(phone, USAGE).await.final_status, 200);
    let (_, token) = device(&gw, EVENT, "Noa", Some("C")).await;
    let code = page["tickets"][0]["code"].as_str().unwrap().to_string();
    let (_, out) = scan_way(&gw.base, &token, &code, "out").await;
    assert_eq!((out["result"].as_str(), out["headline"].as_str()), (Some("no_reentry"), Some("NO RE-ENTRY")), "{out}");
    let (_, first) = scan_way(&gw.base, &token, &code, "in").await;
    assert_eq!((first["result"].as_str(), &first["reentry"]), (Some("admitted"), &json!(false)), "{first}");
    let (_, out) = scan_way(&gw.base, &token, &code, "out").await;
    assert_eq!(out["result"], "no_reentry", "{out}");
    let (_, again) = scan(&gw.base, Some(&token), &code).await;
    assert_eq!(again["result"], "already_admitted", "{again}");
    let c = gw.app.store.door_counts(EVENT).await.unwrap();
    assert_eq!((c.inside, c.admitted), (1, 1), "{c:?}");
    let scans = journalled(&gw, "GA-1").await;
    let want = [("out", "no_reentry"), ("in", "admitted"), ("out", "no_reentry"), ("in", "already_admitted")];
    assert_eq!(scans, want.map(|(d, r)| (d.to_string(), r.to_string())));
    gw.stop().await;
}

/// Two devices on two gateways sharing one database scan one inside seat out at
/// once: one `checked_out`, the others `not_inside`; then in at once: one re-entry.
async fn scans_out_at_once_check_out_once(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let (a, b, _keys) = spawn_two_gateways_one_relay(&url).await;
    a.allow_reentry(EVENT).await;
    let phone = "+819077770013";
    let (_, page) = a.issued_ticket(phone, EVENT, 1, false).await;
    assert_eq!(a.call(phone, USAGE).await.final_status, 200);
    let code = page["tickets"][0]["code"].as_str().unwrap().to_string();
    let (_, one) = device(&a, EVENT, "Gate A", Some("A")).await;
    let (_, two) = device(&a, EVENT, "Gate B", Some("B")).await;
    assert_eq!(scan(&a.base, Some(&one), &code).await.1["result"], "admitted");
    for (direction, wanted, others) in [("out", "checked_out", "not_inside"), ("in", "admitted", "already_admitted")] {
        let scans = (0..8).map(|i| {
            let (base, token) = if i % 2 == 0 { (&a.base, &one) } else { (&b.base, &two) };
            scan_way(base, token, &code, direction)
        });
        let answers = futures::future::join_all(scans).await;
        let results: Vec<&str> =
            answers.iter().map(|(s, v)| if *s == 200 { v["result"].as_str().unwrap() } else { "error" }).collect();
        assert_eq!(results.iter().filter(|r| **r == wanted).count(), 1, "{direction}: {answers:?}");
        assert_eq!(results.iter().filter(|r| **r == others).count(), 7, "{direction}: {answers:?}");
    }
    assert_eq!(a.app.store.door_counts(EVENT).await.unwrap().inside, 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_devices_scanning_out_at_once_check_out_once_on_sqlite() {
    scans_out_at_once_check_out_once("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_devices_scanning_out_at_once_check_out_once_on_postgres() {
    scans_out_at_once_check_out_once("postgres").await;
}
