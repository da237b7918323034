//! The `dialticket` command as an admin uses it.

use std::process::Command;

fn dialticket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dialticket"))
}

#[test]
fn dialplan_check_accepts_the_shipped_dialplans() {
    let out =
        dialticket().args(["dialplan", "check", concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans")]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("dialplans: ok, 9 rules, 1 trunk"), "{stdout}");
}

#[test]
fn dialplan_check_reports_file_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[numbers]]\nnumber = \"+442079460100\"\naction = \"purchase\"\n\n[[numbers]]\nnumber = \"+442079460100\"\naction = \"isue\"\n",
    )
    .unwrap();
    let out = dialticket().args(["dialplan", "check"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let want = format!("{}:7:", dir.path().join("bad.toml").display());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&want) && l.contains("error: `action` must be one of") && l.contains("\"isue\"")),
        "{stdout}"
    );
}

#[test]
fn events_load_fills_the_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let load = || {
        dialticket()
            .env("DIALTICKET_DATABASE_URL", &db)
            .args(["events", "load", concat!(env!("CARGO_MANIFEST_DIR"), "/events/demo.toml")])
            .output()
            .unwrap()
    };
    let first = load();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("loaded 2 events (254 new seats)"));
    let second = load();
    assert!(String::from_utf8_lossy(&second.stdout).contains("loaded 2 events (0 new seats)"), "reload adds no seats");

    // What is loaded, listed: start on the venue clock, sale state, seats.
    let list = dialticket().env("DIALTICKET_DATABASE_URL", &db).args(["events", "list"]).output().unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let text = String::from_utf8_lossy(&list.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("event ") && lines[0].contains("sold"), "{text}");
    let gala = lines.iter().find(|l| l.starts_with("spring-gala-2027 ")).unwrap_or_else(|| panic!("{text}"));
    let words: Vec<&str> = gala.split_whitespace().collect();
    assert!(gala.contains(" JST ") && gala.contains("on sale"), "{gala}");
    // 54 seats, none sold or held.
    assert_eq!(words[words.len() - 3..], ["0", "0", "54"], "{gala}");
}

#[test]
fn events_staff_pin_prints_the_pin_of_a_known_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let key = dir.path().join("key.pem");
    let run = |args: &[&str]| {
        dialticket()
            .env("DIALTICKET_DATABASE_URL", &db)
            .env("DIALTICKET_SIGNING_KEY", &key)
            .args(args)
            .output()
            .unwrap()
    };
    let no_key = run(&["events", "staff-pin", "open-rehearsal"]);
    assert_eq!(no_key.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("no signing key"), "{no_key:?}");
    assert!(!key.exists(), "asking makes no key");

    let links = dialticket::links::Links::load_or_generate(&key, "http://localhost").unwrap();
    assert!(run(&["events", "load", concat!(env!("CARGO_MANIFEST_DIR"), "/events/demo.toml")]).status.success());
    let out = run(&["events", "staff-pin", "open-rehearsal"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want = format!("staff PIN for open-rehearsal: {}", links.staff_pin("open-rehearsal", 0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);

    let typo = run(&["events", "staff-pin", "open-rehersal"]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("no event 'open-rehersal'"), "{typo:?}");

    // --rotate replaces it; asking again prints the new one.
    let rotated = run(&["events", "staff-pin", "open-rehearsal", "--rotate"]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let want = format!("staff PIN for open-rehearsal: {}", links.staff_pin("open-rehearsal", 1));
    assert_eq!(String::from_utf8_lossy(&rotated.stdout).trim(), want);
    assert_eq!(String::from_utf8_lossy(&run(&["events", "staff-pin", "open-rehearsal"]).stdout).trim(), want);
    let typo = run(&["events", "staff-pin", "open-rehersal", "--rotate"]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("no event 'open-rehersal'"), "{typo:?}");
}

#[test]
fn users_mail_shows_and_maps_where_a_phones_mail_goes() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let run = |args: &[&str]| {
        let out = dialticket().env("DIALTICKET_DATABASE_URL", &db).args(args).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = run(&["users", "mail", "+819077772001"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("+819077772001 has not called yet"), "{err}");
    let (code, _, err) = run(&["users", "mail", "090-7777-2001", "a@b.jp"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("use E.164"), "{err}");
    let (code, _, err) = run(&["users", "mail", "+819077772001", "not an address"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not a mail address"), "{err}");

    let (code, out, err) = run(&["users", "mail", "+819077772001", "Taro@Example.JP"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("mail for +819077772001 (user number "), "{out}");
    assert!(out.ends_with("goes to Taro@example.jp (registered)"), "{out}");
    let (_, shown, _) = run(&["users", "mail", "+819077772001"]);
    assert_eq!(shown, out);
    let (code, out, _) = run(&["users", "mail", "+819077772001", "--carrier"]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("goes to +819077772001@sms.example.net (the carrier's)"), "{out}");
    let (code, _, _) = run(&["users", "mail", "+819077772001", "a@b.jp", "--carrier"]);
    assert_eq!(code, Some(2), "an address and --carrier contradict each other");
}

#[test]
fn keys_rotate_retires_the_signing_key_and_old_links_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("var").join("signing-key.pem");
    let run = |args: &[&str]| {
        let out = dialticket().env("DIALTICKET_SIGNING_KEY", &key).args(args).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = run(&["keys", "rotate"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("signing key: none at"), "{err}");
    assert!(!key.exists(), "rotating makes no first key");

    let first = dialticket::links::Links::load_or_generate(&key, "http://x").unwrap();
    let old_link = first
        .sign(
            dialticket::links::Purpose::Ticket,
            &dialticket::phone::PhoneNumber::parse("+819012345678").unwrap(),
            Some("p"),
            5,
        )
        .unwrap();
    let (code, out, err) = run(&["keys", "rotate"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("{} retired to", first.kid())), "{out}");
    assert!(out.contains("restart every gateway") && out.contains("staff PINs and the derived"), "{out}");

    let (code, list, _) = run(&["keys", "list"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(lines[2].starts_with("seed") && lines[2].contains("derivation.seed"), "{list}");
    assert!(lines[0].starts_with("signing") && !lines[0].contains(first.kid()), "{list}");
    assert!(lines[1].starts_with("retired") && lines[1].contains(first.kid()), "{list}");
    let now = dialticket::links::Links::load_or_generate(&key, "http://x").unwrap();
    assert!(now.verify(&old_link, dialticket::links::Purpose::Ticket, 6).is_ok());
    assert_eq!(now.staff_pin("open-rehearsal", 0), first.staff_pin("open-rehearsal", 0), "staff PINs stay");
}

#[test]
fn bad_configuration_is_named() {
    let out = dialticket().env("DIALTICKET_SIP_LISTEN", "nowhere").args(["dialplan", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sip_listen: 'nowhere'"));
}

/// GET `path` from `addr` with plain HTTP/1.0; the JSON body.
fn get_json(addr: &str, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `dialticket serve` on loopback ports of its own, with its database, key and
/// dialplans in `dir`; its log goes nowhere unless the caller says.
#[cfg(unix)]
fn serve_in(dir: &std::path::Path) -> Command {
    let plans = dir.join("dialplans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans/default.toml"), plans.join("default.toml")).unwrap();
    let mut cmd = dialticket();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DIALTICKET_SIP_LISTEN", "127.0.0.1:0")
        .env("DIALTICKET_HTTP_LISTEN", "127.0.0.1:0")
        .env("DIALTICKET_ADMIN_LISTEN", "127.0.0.1:0")
        .env("DIALTICKET_DATABASE_URL", format!("sqlite://{}", dir.join("t.db").display()))
        .env("DIALTICKET_SIGNING_KEY", dir.join("key.pem"))
        .env("DIALTICKET_DIALPLANS", &plans)
        // Its own payment mode: a dialticket.toml in the working directory is not in the repository.
        .env("DIALTICKET_PAYMENT_MODE", "sandbox")
        .env_remove("DIALTICKET_LOG_FORMAT")
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// `DIALTICKET_LOG_FORMAT=json`: every line of the log is one JSON object with
/// its time, level and fields (what a log shipper reads), and no colour codes.
#[cfg(unix)]
#[test]
fn json_log_format_writes_one_object_a_line() {
    use std::io::BufRead;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = serve_in(dir.path())
        .env("RUST_LOG", "info")
        .env("DIALTICKET_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut listening = None;
    let mut lines = 0;
    while listening.is_none() {
        let line = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the gateway logs where it listens");
        lines += 1;
        assert!(!line.contains('\u{1b}'), "colour codes: {line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: not JSON: {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{v}");
        assert!(v["fields"]["message"].is_string(), "{v}");
        listening = v["fields"]["http"].as_str().map(str::to_string);
    }
    let _ = child.kill();
    let _ = child.wait();
    let http = listening.unwrap();
    assert!(http.starts_with("127.0.0.1:"), "{http} after {lines} lines");
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_dialplan_and_sigterm_stops_the_gateway_in_order() {
    use std::io::BufRead;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = serve_in(dir.path()).env("RUST_LOG", "info").stdout(Stdio::piped()).spawn().unwrap();
    // Read the log until the gateway says where it listens; keep draining it after.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(http) = line.split_whitespace().find_map(|w| w.strip_prefix("http=")) {
                let _ = tx.send((http.to_string(), line.contains('\u{1b}')));
            }
        }
    });
    let (http, coloured) =
        rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the gateway starts and logs its address");
    // Written to a pipe (a file, a journal), the log is plain text: no terminal colour codes.
    assert!(!coloured, "colour codes in a log that is not a terminal");
    assert_eq!(get_json(&http, "/healthz")["dialplan"]["generation"], 1);

    let status = Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    // The reload runs in the background; wait for it as someone watching /healthz would.
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        last = get_json(&http, "/healthz")["dialplan"].clone();
        if last["last_attempt"]["trigger"] == "SIGHUP" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(last["last_attempt"]["trigger"], "SIGHUP", "{last}");
    assert_eq!(last["last_attempt"]["outcome"], "unchanged", "{last}");
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP must not stop the gateway");
    // SIGTERM (docker stop, systemd) stops it the orderly way: calls and sends in
    // progress finish, and it exits with success.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..600 {
        exited = child.try_wait().unwrap();
        if exited.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let Some(exit) = exited else {
        let _ = child.kill();
        panic!("SIGTERM did not stop the gateway");
    };
    assert!(exit.success(), "{exit:?}");
}

/// Payments are never a sandbox by omission: without `payment_mode` (or with one
/// this build cannot serve) the gateway refuses to start, saying what to set.
#[test]
fn serve_refuses_to_start_without_a_payment_mode_it_can_serve() {
    let dir = tempfile::tempdir().unwrap();
    let repo = env!("CARGO_MANIFEST_DIR");
    let serve = |mode: Option<&str>| {
        let mut cmd = dialticket();
        cmd.current_dir(dir.path())
            .env("DIALTICKET_SIP_LISTEN", "127.0.0.1:0")
            .env("DIALTICKET_HTTP_LISTEN", "127.0.0.1:0")
            .env("DIALTICKET_ADMIN_LISTEN", "127.0.0.1:0")
            .env("DIALTICKET_DATABASE_URL", format!("sqlite://{}", dir.path().join("t.db").display()))
            .env("DIALTICKET_SIGNING_KEY", dir.path().join("key.pem"))
            .env("DIALTICKET_DIALPLANS", format!("{repo}/dialplans"))
            .env("DIALTICKET_MAIL_TEMPLATES", format!("{repo}/mail-templates"))
            .env("DIALTICKET_PROMPTS", format!("{repo}/prompts"))
            .env_remove("DIALTICKET_PAYMENT_MODE")
            .arg("serve");
        if let Some(mode) = mode {
            cmd.env("DIALTICKET_PAYMENT_MODE", mode);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (code, said) = serve(None);
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("payment_mode is not set") && said.contains("payment_mode = \"sandbox\""), "{said}");
    let (code, said) = serve(Some("live"));
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("payment_mode") && said.contains("'live'") && said.contains("cannot be served"), "{said}");
}

/// `dialticket admin add-operator NAME` prints the operator's one-time link on the
/// admin listener; a name already taken or not a login name is refused.
#[test]
fn admin_add_operator_prints_a_one_time_link_on_the_admin_listener() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dialticket()
            .current_dir(dir.path())
            .env("DIALTICKET_DATABASE_URL", format!("sqlite://{}", dir.path().join("t.db").display()))
            .env("DIALTICKET_ADMIN_LISTEN", "127.0.0.1:9181")
            .args(["admin", "add-operator", name])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, stdout, stderr) = run("tanaka");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("operator ") && stdout.contains("(tanaka)"), "{stdout}");
    let link = stdout.split_whitespace().find(|w| w.starts_with("http")).expect("a link");
    let token = link.strip_prefix("http://127.0.0.1:9181/admin/setup/").expect("on the admin listener");
    assert_eq!(token.len(), 43, "256 random bits: {link}");
    let (ok, _, stderr) = run("tanaka");
    assert!(!ok && stderr.contains("already an account named 'tanaka'"), "{stderr}");
    let (ok, _, stderr) = run("two words");
    assert!(!ok && stderr.contains("not a login name"), "{stderr}");
}
