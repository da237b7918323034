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
    assert!(stdout.contains("ok, 4 numbers, 1 trunks"), "{stdout}");
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
    assert!(stdout.lines().any(|l| l.starts_with(&want) && l.contains("error: unknown variant `isue`")), "{stdout}");
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
}

#[test]
fn bad_configuration_is_named() {
    let out = dialticket().env("DIALTICKET_SIP_LISTEN", "nowhere").args(["dialplan", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sip_listen: 'nowhere'"));
}
