//! Caller identity you can trust (issue 4), over real SIP: trusted peers,
//! STIR/SHAKEN PASSporTs signed by the simulator with a CA made in the test,
//! `verstat` from a trusted upstream, anonymous callers, and the attack cases.
//!
//! Loopback 127.0.0.1 is a trusted trunk in the shipped dialplan; calls from
//! 127.0.0.2 (also loopback on Linux) come from an untrusted network.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use dialticket_sim::sip::{CallOptions, CallReport};
use dialticket_sim::stir::Passport;

use crate::helpers::*;

const X5U: &str = "https://cert.example.net/sp.pem";
const ROGUE_X5U: &str = "https://rogue.example.net/sp.pem";
const VERIFIED_A: &str = "+442079460170";
const VERIFIED_A_OR_B: &str = "+442079460171";
const TRUSTED_PEER: &str = "+442079460172";

const IDENTITY_PLAN: &str = r#"
[[numbers]]
number = "+442079460170"
action = "purchase"
answer = "announce"
identity = "verified"        # attestation A

[[numbers]]
number = "+442079460171"
action = "purchase"
answer = "announce"
identity = "verified"
attestation = "B"            # A or B

[[numbers]]
number = "+442079460172"
action = "purchase"
answer = "announce"
identity = "trusted-peer"
"#;

fn untrusted() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))
}

/// A gateway with the shipped dialplan plus the numbers above, trusting the
/// "good" CA; the "rogue" CA's certificate is in the cache but not trusted.
async fn gateway() -> (TestGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    make_sti_ca(dir.path(), "good");
    make_sti_ca(dir.path(), "rogue");
    let trust = stir_trust_dir(dir.path(), &["good"], &[(X5U, "good"), (ROGUE_X5U, "rogue")]);
    let plans = dir.path().join("dialplans");
    std::fs::create_dir_all(&plans).expect("dialplans dir");
    std::fs::copy(repo("dialplans/default.toml"), plans.join("default.toml")).expect("default dialplan");
    std::fs::write(plans.join("identity.toml"), IDENTITY_PLAN).expect("identity dialplan");
    let gw = spawn_gateway_with(move |c| {
        c.dialplans = plans;
        c.stir_trust_dir = Some(trust);
    })
    .await;
    (gw, dir)
}

fn key(dir: &Path, ca: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{ca}-sp.key"))).expect("SP key")
}

/// A call from `from` on an untrusted network to `to`, with these Identity headers.
async fn call(gw: &TestGateway, from: &str, to: &str, identity: Option<String>) -> CallReport {
    let mut opts = CallOptions::new(gw.sip, from, to);
    opts.local_ip = untrusted();
    opts.extra_headers.extend(identity.map(|v| ("Identity".to_string(), v)));
    gw.call_with(opts).await
}

/// The final response's Reason header (RFC 3326), if any.
fn reason_header(report: &CallReport) -> Option<String> {
    report.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("Reason")).map(|(_, v)| v.clone())
}

fn refused(report: &CallReport) -> (u16, &str) {
    (report.final_status, report.final_reason.as_str())
}

/// The refused caller heard why: a 183 with the `identity-refused` prompt, never answered.
fn heard_the_refusal(report: &CallReport) {
    assert!(report.provisional.contains(&183), "early media: {report:?}");
    assert!(report.rtp_packets > 50, "the refusal prompt was heard: {report:?}");
    assert!(!report.answered, "{report:?}");
}

#[tokio::test]
async fn passports_are_verified_and_each_attack_gets_its_rfc_8224_answer() {
    let (gw, dir) = gateway().await;
    let good = key(dir.path(), "good");
    let sign = |p: &Passport| p.sign(&good, X5U).expect("signs");

    // A valid A-attested PASSporT passes a `verified` number, even from an untrusted network.
    let caller = "+819011110001";
    let report = call(&gw, caller, VERIFIED_A, Some(sign(&Passport::new(caller, VERIFIED_A, "A")))).await;
    assert_eq!((report.final_status, report.answered), (200, true), "{report:?}");
    gw.mail(caller, "purchase link").await;
    let record = gw.app.store.call_identity(&format!("{} 1", report.call_id)).await.unwrap().expect("call record");
    assert_eq!((record.caller.as_str(), record.attestation.as_deref(), record.trusted), (caller, Some("A"), false));
    assert!(record.verification.contains(X5U), "{record:?}");
    assert_eq!(reason_header(&report), None, "a verified call carries no STIR Reason");

    // B passes "A or B" but not "A only".
    let caller = "+819011110002";
    let report = call(&gw, caller, VERIFIED_A_OR_B, Some(sign(&Passport::new(caller, VERIFIED_A_OR_B, "B")))).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let report = call(&gw, caller, VERIFIED_A, Some(sign(&Passport::new(caller, VERIFIED_A, "B")))).await;
    assert_eq!(refused(&report), (403, "Caller attestation too weak"), "{report:?}");
    heard_the_refusal(&report);

    // No Identity header at all: 428.
    let attacker = "+819099990001";
    let report = call(&gw, attacker, VERIFIED_A, None).await;
    assert_eq!(refused(&report), (428, "Use Identity Header"), "{report:?}");
    heard_the_refusal(&report);

    // A tampered signature: 438.
    let valid = sign(&Passport::new(attacker, VERIFIED_A, "A"));
    let (jws, params) = valid.split_once(';').expect("params");
    let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    let report = call(&gw, attacker, VERIFIED_A, Some(format!("{};{params}", parts.join(".")))).await;
    assert_eq!(refused(&report), (438, "Invalid Identity Header"), "{report:?}");

    // A claim changed after signing (payload swapped, signature kept): 438.
    let other = sign(&Passport::new("+819011110001", VERIFIED_A, "A"));
    let other_payload = other.split('.').nth(1).expect("payload");
    let spliced = format!("{}.{other_payload}.{}", parts[0], valid.split('.').nth(2).expect("sig"));
    let report = call(&gw, attacker, VERIFIED_A, Some(spliced)).await;
    assert_eq!(report.final_status, 438, "{report:?}");

    // A stale iat (a replayed PASSporT): 403 Stale Date.
    let mut stale = Passport::new(attacker, VERIFIED_A, "A");
    stale.iat -= 120;
    let report = call(&gw, attacker, VERIFIED_A, Some(sign(&stale))).await;
    assert_eq!(refused(&report), (403, "Stale Date"), "{report:?}");

    // orig is somebody else's number (a valid PASSporT for another caller): 438.
    let report = call(&gw, attacker, VERIFIED_A, Some(sign(&Passport::new("+819011110001", VERIFIED_A, "A")))).await;
    assert_eq!(refused(&report), (438, "Invalid Identity Header"), "{report:?}");
    // dest is another number (replayed towards a different destination): 438.
    let report = call(&gw, attacker, VERIFIED_A, Some(sign(&Passport::new(attacker, PURCHASE, "A")))).await;
    assert_eq!(report.final_status, 438, "{report:?}");

    // A certificate we cannot get (x5u not in the local cache): 436.
    let unknown = Passport::new(attacker, VERIFIED_A, "A").sign(&good, "https://elsewhere.example/sp.pem").unwrap();
    let report = call(&gw, attacker, VERIFIED_A, Some(unknown)).await;
    assert_eq!(refused(&report), (436, "Bad Identity Info"), "{report:?}");

    // A certificate from a CA we do not trust: 437.
    let rogue = Passport::new(attacker, VERIFIED_A, "A").sign(&key(dir.path(), "rogue"), ROGUE_X5U).unwrap();
    let report = call(&gw, attacker, VERIFIED_A, Some(rogue)).await;
    assert_eq!(refused(&report), (437, "Unsupported Credential"), "{report:?}");

    // Nothing went to the attacker's number: every call above has been answered,
    // and none queued a mail.
    assert_eq!(gw.queued(attacker, "").await, 0, "{:?}", gw.app.store.outbox(100).await.unwrap());

    // On a number that does not ask for verification, a bad PASSporT is recorded and
    // the call goes on as unverified.
    let caller = "+819011110003";
    let report = call(&gw, caller, PURCHASE, Some(format!("{};{params}", parts.join(".")))).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let record = gw.app.store.call_identity(&format!("{} 1", report.call_id)).await.unwrap().expect("call record");
    assert_eq!(record.attestation, None, "{record:?}");
    assert!(record.verification.contains("\"code\":438"), "{record:?}");
    // RFC 9410: the responses tell the signer upstream why its Identity header failed.
    let reason = reason_header(&report);
    assert_eq!(reason.as_deref(), Some(r#"STIR ;cause=438 ;text="Invalid Identity Header""#), "{report:?}");
    gw.stop().await;
}

#[tokio::test]
async fn verstat_is_believed_from_a_trusted_upstream_only() {
    let (gw, _dir) = gateway().await;
    // A trusted proxy (loopback) that verified the call says so on the asserted identity.
    let caller = "+819022220001";
    let mut opts = CallOptions::new(gw.sip, caller, VERIFIED_A);
    opts.pai = Some(format!("<tel:{caller};verstat=TN-Validation-Passed>"));
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    let record = gw.app.store.call_identity(&format!("{} 1", report.call_id)).await.unwrap().expect("call record");
    assert_eq!((record.attestation.as_deref(), record.trusted), (Some("A"), true), "{record:?}");

    // The same words from an untrusted network mean nothing.
    let attacker = "+819022220002";
    let mut opts = CallOptions::new(gw.sip, attacker, VERIFIED_A);
    opts.local_ip = untrusted();
    opts.pai = Some(format!("<tel:{attacker};verstat=TN-Validation-Passed>"));
    let report = gw.call_with(opts).await;
    assert_eq!(refused(&report), (428, "Use Identity Header"), "{report:?}");

    // A trusted upstream whose verification failed: 438.
    let mut opts = CallOptions::new(gw.sip, attacker, VERIFIED_A);
    opts.pai = Some(format!("<sip:{attacker};verstat=TN-Validation-Failed@127.0.0.1;user=phone>"));
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 438, "{report:?}");
    gw.stop().await;
}

#[tokio::test]
async fn a_spoofed_caller_id_from_an_untrusted_network_is_refused_on_a_trusted_peer_number() {
    let (gw, _dir) = gateway().await;
    let victim = "+819033330001";
    // The attacker puts the victim's number in From and even asserts it: from an
    // untrusted address neither counts.
    let mut opts = CallOptions::new(gw.sip, victim, TRUSTED_PEER);
    opts.local_ip = untrusted();
    opts.pai = Some(victim.into());
    let report = gw.call_with(opts).await;
    assert_eq!(refused(&report), (403, "Caller identity not trusted"), "{report:?}");
    heard_the_refusal(&report);
    // The trusted proxy asserting the same number is believed.
    let mut opts = CallOptions::new(gw.sip, "+819033330009", TRUSTED_PEER);
    opts.pai = Some(victim.into());
    let report = gw.call_with(opts).await;
    assert_eq!(report.final_status, 200, "{report:?}");
    gw.mail(victim, "purchase link").await;
    gw.settle().await;
    assert_eq!(gw.mails(victim, "purchase link").len(), 1, "only the asserted call mailed the victim");
    gw.stop().await;
}

#[tokio::test]
async fn an_anonymous_caller_hears_why_they_are_refused() {
    let gw = spawn_gateway().await;
    let mut opts = CallOptions::new(gw.sip, "+819044440001", PURCHASE);
    opts.anonymous = true;
    let report = gw.call_with(opts).await;
    assert_eq!(refused(&report), (433, "Anonymity Disallowed"), "{report:?}");
    assert!(report.provisional.contains(&183) && report.rtp_packets > 50, "heard anonymous-refused: {report:?}");
    assert!(!report.answered, "never billed: {report:?}");
    gw.stop().await;
}

#[tokio::test]
async fn purchase_links_are_capped_per_number_and_hour() {
    let gw = spawn_gateway_with(|c| c.purchase_links_per_hour = 2).await;
    let caller = "+819055550001";
    for _ in 0..2 {
        let report = gw.call(caller, PURCHASE_MISSED_CALL).await;
        assert_eq!(report.final_status, 603, "{report:?}");
    }
    let report = gw.call(caller, PURCHASE_MISSED_CALL).await;
    assert_eq!(refused(&report), (480, "Purchase-link limit reached"), "{report:?}");
    // In announce mode the caller hears why.
    let report = gw.call(caller, PURCHASE).await;
    assert!(report.answered && report.rtp_packets > 50, "too-many-requests prompt: {report:?}");
    // The refused calls have been answered: what they queued is all they will.
    assert_eq!(gw.queued(caller, "purchase link").await, 2, "two links, then none");
    gw.settle().await;
    assert_eq!(gw.mails(caller, "purchase link").len(), 2);
    // Another number is not affected.
    gw.call("+819055550002", PURCHASE_MISSED_CALL).await;
    gw.mail("+819055550002", "purchase link").await;
    let journal = gw.app.store.journal_all().await.unwrap();
    assert_eq!(journal.iter().filter(|j| j.action == "purchase-link-capped").count(), 2);
    gw.stop().await;
}

/// The trust store is read again when a file in it changes: an operator adding a
/// CA's anchor makes that CA's PASSporTs verify without a restart, and a broken
/// file is refused (recorded on `/healthz`) with the store before it staying in use.
#[tokio::test]
async fn a_new_trust_anchor_takes_effect_without_a_restart() {
    let (gw, dir) = gateway().await;
    let (good, rogue) = (key(dir.path(), "good"), key(dir.path(), "rogue"));
    let caller = "+819011110009";
    let by = |key: &[u8], x5u: &str| Passport::new(caller, VERIFIED_A, "A").sign(key, x5u).expect("signs");
    let report = call(&gw, caller, VERIFIED_A, Some(by(&rogue, ROGUE_X5U))).await;
    assert_eq!(refused(&report), (437, "Unsupported Credential"), "{report:?}");
    let start = gw.health("stir", |s| s["state"] == "ok").await;
    assert_eq!((start["anchors"].as_u64(), start["certs"].as_u64()), (Some(1), Some(2)), "{start}");

    // A broken certificate index (written whole, by a rename): the reload is
    // refused, and only once it is on record is the call placed — the good CA
    // still verifies with the store before.
    let trust = dir.path().join("stir");
    let index = std::fs::read_to_string(trust.join("certs.toml")).expect("certs.toml");
    replace(&trust.join("certs.toml"), "this is [not toml");
    let refusal = gw.health("stir", |s| s["reload_failures"] == 1).await;
    assert_eq!(refusal["state"], "last reload refused", "{refusal}");
    assert!(refusal["last_error"].as_str().is_some_and(|e| e.contains("certs.toml")), "{refusal}");
    assert_eq!(refusal["last_attempt"]["outcome"], "refused", "{refusal}");
    let metrics = gw.metrics().await;
    assert!(metrics.contains("\ndialticket_stir_trust_reload_failures_total 1\n"), "{metrics}");
    assert!(metrics.contains("\ndialticket_stir_trust_last_reload_failed 1\n"), "{metrics}");
    let report = call(&gw, caller, VERIFIED_A, Some(by(&good, X5U))).await;
    assert_eq!(report.final_status, 200, "the store before stayed in use: {report:?}");

    // The index mended and the rogue CA added as an anchor: once that store is
    // loaded, its PASSporT verifies.
    replace(&trust.join("certs.toml"), &index);
    std::fs::copy(dir.path().join("rogue-ca.pem"), trust.join("anchors/rogue.pem")).expect("anchor");
    let mended = gw.health("stir", |s| s["state"] == "ok" && s["anchors"] == 2 && s["certs"] == 2).await;
    assert_eq!(mended["last_attempt"]["outcome"], "reloaded", "{mended}");
    let report = call(&gw, caller, VERIFIED_A, Some(by(&rogue, ROGUE_X5U))).await;
    assert_eq!((report.final_status, report.answered), (200, true), "{report:?}");
    gw.stop().await;
}

/// Replace `path`'s contents at once (a new file renamed over it), as editors and
/// configuration tools do: a reload never reads it half-written.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}
