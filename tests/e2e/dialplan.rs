//! Dialplans as an admin lives with them: a new event's number goes live by
//! editing a file, with calls streaming through and none failing; a broken
//! edit is refused while the old dialplan keeps serving; the live dialplan and
//! "which rule takes this call" can be read over HTTP.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialticket_sim::sip::CallOptions;
use serde_json::Value;

use crate::helpers::{repo, spawn_gateway_with, TestGateway, PURCHASE, PURCHASE_MISSED_CALL};

const GALA_NUMBER: &str = "+442079460150";
const GALA: &str = r#"
# The Spring Gala's own purchase number: the mailed link opens the event.
[[numbers]]
number = "+442079460150"
action = "purchase"
event = "spring-gala-2027"
"#;

/// A gateway whose dialplan directory is a copy of the repo's, which the test may edit.
pub(crate) async fn gateway_with_own_dialplans() -> (TestGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(repo("dialplans")).expect("dialplans") {
        let path = entry.expect("entry").path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, dir.path().join(name)).expect("copy dialplan");
        }
    }
    let path = dir.path().to_path_buf();
    let gw = spawn_gateway_with(move |c| c.dialplans = path).await;
    (gw, dir)
}

/// The dialplan part of `/healthz`, once `ready` holds for it. Reloads happen in
/// the background after a file changes, so the test waits for them as a user
/// watching the health page would; the bound only guards against a hang.
pub(crate) async fn dialplan_status(gw: &TestGateway, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let (status, health) = gw.get("/healthz").await;
        assert_eq!(status, 200, "{health}");
        last = health["dialplan"].clone();
        if ready(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the dialplan status never got there; last: {last}");
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write dialplan file");
}

/// Callers calling the shipped numbers back to back until stopped; every call
/// that did not end the way its number says is recorded.
struct Stream {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Stream {
    fn start(gw: &TestGateway, callers: usize) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for c in 0..callers {
            let (stop, calls, failures, sip) = (stop.clone(), calls.clone(), failures.clone(), gw.sip);
            tasks.push(tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let from = format!("+8190{c:02}{i:06}");
                    // Missed-call mode is rejected unanswered (603); the announced number is
                    // answered, and the caller hangs up early to keep the stream flowing.
                    let (to, want) = if i % 2 == 0 { (PURCHASE_MISSED_CALL, 603) } else { (PURCHASE, 200) };
                    let mut opts = CallOptions::new(sip, &from, to);
                    opts.hangup_after = Some(Duration::from_millis(200));
                    match dialticket_sim::sip::place_call(opts).await {
                        Ok(r) if r.final_status == want => {}
                        Ok(r) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{from} → {to}: {} {}", r.final_status, r.final_reason)),
                        Err(e) => failures.lock().unwrap().push(format!("{from} → {to}: {e}")),
                    }
                    calls.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
            }));
        }
        Stream { stop, calls, failures, tasks }
    }

    /// Stop, wait for the calls in flight, and return (calls placed, failures).
    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.expect("caller task");
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.calls.load(Ordering::SeqCst), failures)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn new_event_number_goes_live_by_editing_a_file_while_calls_stream_through() {
    let (gw, dir) = gateway_with_own_dialplans().await;
    let first = dialplan_status(&gw, |d| d["generation"] == 1).await;
    assert_eq!(first["last_error"], Value::Null, "{first}");
    let stream = Stream::start(&gw, 3);

    // Not there yet: 404.
    let report = gw.call("+819011110001", GALA_NUMBER).await;
    assert_eq!(report.final_status, 404, "{report:?}");

    // The admin adds the event's number in a file of its own.
    write(dir.path(), "spring-gala.toml", GALA);
    dialplan_status(&gw, |d| d["generation"] == 2).await;
    let caller = "+819011110002";
    let report = gw.call(caller, GALA_NUMBER).await;
    assert_eq!((report.final_status, report.answered), (200, true), "{report:?}");
    let mail = gw.mail(caller, "purchase link").await;
    let link = gw.link(&mail, "/p/");
    assert!(link.ends_with("/events/spring-gala-2027"), "{link}");
    let (status, page) = gw.get(&link).await;
    assert_eq!(status, 200, "{page}");

    // A broken edit is refused; the dialplan in force stays, and says why on /healthz.
    write(dir.path(), "broken.toml", "[[numbers]]\nnumber = \"+442079460151\"\naction = \"purchse\"\n");
    let refused = dialplan_status(&gw, |d| d["reload_failures"] == 1).await;
    assert_eq!(refused["generation"], 2, "{refused}");
    assert_eq!(refused["state"], "last reload refused", "{refused}");
    let errors = refused["last_error"].to_string();
    assert!(errors.contains("broken.toml:3:10: error: `action` must be one of"), "{errors}");
    let report = gw.call("+819011110003", GALA_NUMBER).await;
    assert_eq!(report.final_status, 200, "still live: {report:?}");

    // Fixing it clears the error.
    std::fs::remove_file(dir.path().join("broken.toml")).expect("remove broken.toml");
    let fixed = dialplan_status(&gw, |d| d["last_error"].is_null()).await;
    assert_eq!(fixed["generation"], 2, "the same files as the live dialplan: nothing to swap; {fixed}");

    // An edit to the file the stream's numbers live in: swapped while they are being called.
    let default = dir.path().join("default.toml");
    let mut text = std::fs::read_to_string(&default).expect("default.toml");
    text.push_str("\n# Reviewed by the night shift.\n");
    write(dir.path(), "default.toml", &text);
    dialplan_status(&gw, |d| d["generation"] == 3).await;

    let (calls, failures) = stream.finish().await;
    assert!(failures.is_empty(), "{} of {calls} calls failed during reloads: {failures:#?}", failures.len());
    assert!(calls >= 3, "{calls}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_in_progress_finishes_on_the_rule_it_started_with() {
    let (gw, dir) = gateway_with_own_dialplans().await;
    write(dir.path(), "spring-gala.toml", GALA);
    dialplan_status(&gw, |d| d["rules"] == 10).await;
    let caller = "+819022220001";
    let call = {
        let opts = CallOptions::new(gw.sip, caller, GALA_NUMBER);
        tokio::spawn(dialticket_sim::sip::place_call(opts))
    };
    // The purchase mail is queued when the call is handled, before the announcement
    // plays: once it is here, the call runs on the rule it matched.
    gw.mail(caller, "purchase link").await;
    std::fs::remove_file(dir.path().join("spring-gala.toml")).expect("remove the number");
    dialplan_status(&gw, |d| d["rules"] == 9).await;
    let report = call.await.expect("call task").expect("call completes");
    assert_eq!((report.final_status, report.answered, report.bye_from_gateway), (200, true, true), "{report:?}");
    let after = gw.call("+819022220002", GALA_NUMBER).await;
    assert_eq!(after.final_status, 404, "{after:?}");
    gw.stop().await;
}

#[tokio::test]
async fn trusted_peer_numbers_refuse_callers_nobody_asserted() {
    let (gw, dir) = gateway_with_own_dialplans().await;
    write(
        dir.path(),
        "members.toml",
        "[[numbers]]\nnumber = \"+442079460160\"\naction = \"purchase\"\nanswer = \"missed-call\"\nidentity = \"trusted-peer\"\n",
    );
    dialplan_status(&gw, |d| d["rules"] == 10).await;
    // Loopback is a trusted trunk in the shipped dialplan: its P-Asserted-Identity counts...
    let mut asserted = CallOptions::new(gw.sip, "+819033330001", "+442079460160");
    asserted.pai = Some("+819033330001".into());
    let report = gw.call_with(asserted).await;
    assert_eq!(report.final_status, 603, "accepted (missed-call mode): {report:?}");
    // ...a bare From header does not.
    let report = gw.call("+819033330002", "+442079460160").await;
    assert_eq!((report.final_status, report.final_reason.as_str()), (403, "Caller identity not trusted"), "{report:?}");
    gw.stop().await;
}

#[tokio::test]
async fn the_live_dialplan_and_its_routing_can_be_read_over_http() {
    let (gw, _dir) = gateway_with_own_dialplans().await;
    let (status, view) = gw.admin_get("/dialplan").await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"]["generation"], 1, "{view}");
    let numbers: Vec<&str> =
        view["dialplan"]["rules"].as_array().expect("rules").iter().filter_map(|r| r["number"].as_str()).collect();
    assert_eq!(
        numbers,
        [
            PURCHASE,
            "+442079460101",
            "+442079460102",
            "+81300000100",
            "+81300000101",
            "+81300000102",
            PURCHASE_MISSED_CALL,
            "+442079460120",
            "_+44207946013XXX"
        ],
        "{view}"
    );
    assert_eq!(view["dialplan"]["trunks"][0]["name"], "loopback-proxy", "{view}");

    let (status, trace) =
        gw.admin_get("/dialplan/route?to=%2B442079460102&from=%2B819012345678&source=127.0.0.1").await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["result"]["rule"]["action"], "usage", "{trace}");
    assert_eq!(trace["result"]["trunk"], "loopback-proxy", "{trace}");
    let tried: Vec<bool> = trace["steps"].as_array().expect("steps").iter().map(|s| s["matched"] == true).collect();
    assert_eq!(tried, [false, false, true], "{trace}");

    let (status, missing) = gw.admin_get("/dialplan/route?to=%2B442079469999").await;
    assert_eq!(status, 200, "{missing}");
    assert_eq!(missing["result"]["sip"], "404 Not Found", "{missing}");
    let (status, bad) = gw.admin_get("/dialplan/route?to=1&at=tomorrow").await;
    assert_eq!(status, 400, "{bad}");
    gw.stop().await;
}
