//! A gateway killed (`kill -9`) while its mail is on the way to the relay: on
//! the same database again, every mail is delivered, and only the mails whose
//! SMTP transaction was open at the kill are sent again — with their own
//! Message-ID, once their claim's lease (the send deadline + a margin) has run out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dialticket::mail::worker::{LEASE_MARGIN_SECS, SMTP_CONCURRENCY};
use dialticket::store::{now, NewMail, OutboxMail, Store};
use dialticket_sim::smtp::SmtpSink;

use crate::backends::fresh_database;
use crate::on_every_backend;
use crate::process::start_gateway;

const MAILS: usize = 48;
/// The gateways' `smtp_timeout`, seconds: small, so the claims the killed one
/// left run out soon.
const SMTP_TIMEOUT: i64 = 5;

/// The Message-ID the outbox row's every attempt carries (`mail_from`'s domain).
fn message_id(row: &OutboxMail) -> String {
    format!("outbox-{}-{}@dialticket.example", row.id, row.created_at)
}

async fn rows(store: &Store) -> Vec<OutboxMail> {
    store.outbox(1000).await.expect("read the outbox")
}

async fn mail_is_sent_again_after_kill_9_only_if_its_transaction_was_open(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    let store = Store::connect(&url).await.expect("connect and migrate");
    let mut tx = store.begin().await.unwrap();
    for i in 0..MAILS {
        let to = format!("crash{i:02}@example.org");
        let data = serde_json::json!({"url": format!("http://127.0.0.1/p/{i}"), "phone": "+819012345678", "user_number": "0123456789"});
        let data = data.to_string();
        let mail = NewMail {
            to: &to,
            template: "purchase-link",
            lang: "en",
            subject: "purchase link",
            data: &data,
            at: now(),
        };
        tx.enqueue_mail(&mail).await.unwrap();
    }
    tx.commit().await.unwrap();

    // A slow relay: each mail is taken as its DATA ends, the 250 comes 200 ms later.
    let relay = SmtpSink::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    relay.set_reply_delay(Some(Duration::from_millis(200)));
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("key.pem");
    let timeout = SMTP_TIMEOUT.to_string();
    let env = [("DIALTICKET_SMTP_TIMEOUT", timeout.as_str())];

    let (gateway, _) = start_gateway(&url, &key, relay.addr(), &env).await;
    relay.wait_for_count(MAILS / 3, Duration::from_secs(60)).await.expect("mail flows");
    gateway.kill_9().await;
    let killed = Instant::now();
    let killed_at = now();

    // What the dead gateway left: only mails it was sending, each leased until its
    // send's deadline and a margin — not a batch, not for a minute.
    let left = rows(&store).await;
    let claimed: BTreeSet<i64> = left.iter().filter(|m| m.state == "sending").map(|m| m.id).collect();
    assert!(claimed.len() <= SMTP_CONCURRENCY, "{backend}: {} claimed at the kill: {left:?}", claimed.len());
    for m in left.iter().filter(|m| m.state == "sending") {
        assert!(
            m.next_attempt_at <= killed_at + SMTP_TIMEOUT + LEASE_MARGIN_SECS,
            "{backend}: the lease outlasts the send's deadline by more than the margin: {m:?} (killed at {killed_at})"
        );
    }
    let at_relay_before = relay.count();

    // The same database again: every mail goes out.
    let (_gateway, _) = start_gateway(&url, &key, relay.addr(), &env).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let now_rows = rows(&store).await;
        if now_rows.iter().all(|m| m.state == "sent") {
            break now_rows;
        }
        assert!(Instant::now() < deadline, "{backend}: not every mail was delivered: {now_rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let received = relay.messages();
    let mut copies: BTreeMap<String, Vec<&dialticket_sim::smtp::ReceivedMail>> = BTreeMap::new();
    for m in &received {
        copies.entry(m.message_id.clone().expect("every mail has a Message-ID")).or_default().push(m);
    }
    let by_id: BTreeMap<String, &OutboxMail> = done.iter().map(|r| (message_id(r), r)).collect();
    assert_eq!(done.len(), MAILS);
    for id in copies.keys() {
        assert!(by_id.contains_key(id), "{backend}: a mail with a Message-ID no outbox row has: {id}");
    }
    let mut repeated = BTreeSet::new();
    for (id, row) in &by_id {
        let got = copies.get(id).map(Vec::as_slice).unwrap_or_default();
        assert!(!got.is_empty(), "{backend}: outbox row {} never reached the relay", row.id);
        assert!(got.iter().all(|m| m.envelope_to == [row.to_addr.clone()]), "{backend}: {id} to someone else");
        if got.len() > 1 {
            repeated.insert(row.id);
        }
    }
    assert!(
        repeated.is_subset(&claimed),
        "{backend}: sent again though not being sent at the kill: {repeated:?} (claimed then: {claimed:?})"
    );
    let again_after = received
        .iter()
        .filter(|m| m.received_at > killed)
        .filter(|m| {
            claimed.iter().any(|id| by_id.get(m.message_id.as_deref().unwrap_or("")).is_some_and(|r| r.id == *id))
        })
        .map(|m| m.received_at.duration_since(killed))
        .min();
    eprintln!(
        "{backend}: {MAILS} mails; killed with {} claimed ({at_relay_before} mails at the relay then); {} sent twice, \
         with their own Message-ID; the claimed ones went out again {:?} after the kill (lease: smtp_timeout {SMTP_TIMEOUT} s + {LEASE_MARGIN_SECS} s)",
        claimed.len(),
        repeated.len(),
        again_after,
    );
}

on_every_backend!(mail_is_sent_again_after_kill_9_only_if_its_transaction_was_open);
