//! Mail as the receiving side checks it.

use crate::helpers::*;

/// With `dkim_key`, every mail over SMTP carries a DKIM-Signature for the From
/// domain that a receiver verifies with the published key; a changed message fails.
/// RSA and Ed25519 keys, as `openssl genpkey` writes them (PKCS#8 PEM).
#[tokio::test]
async fn mail_is_dkim_signed_and_verifies_for_the_from_domain() {
    for algorithm in ["RSA", "ED25519"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (key, record) = dkim_key(dir.path(), algorithm);

        let gw = spawn_gateway_with(|c| {
            c.dkim_key = Some(key);
            c.dkim_selector = "tickets2026".into();
            c.mail_from = "dialticket <tickets@mail.dialticket.example>".into();
        })
        .await;
        let phone = "+819012300003";
        assert_eq!(gw.call(phone, PURCHASE).await.final_status, 200);
        let mail = gw.mail(phone, "purchase link").await;
        let raw = String::from_utf8_lossy(&mail.raw).to_string();
        assert!(raw.contains("DKIM-Signature: ") && raw.contains("d=mail.dialticket.example"), "{raw}");
        let name = "tickets2026._domainkey.mail.dialticket.example";
        assert_eq!(dkim_verify(dir.path(), &mail.raw, &record, name), "True", "{algorithm}: {raw}");
        let forged = raw.replacen("purchase link", "purchase 1ink", 1);
        assert_ne!(forged, raw);
        assert_eq!(
            dkim_verify(dir.path(), forged.as_bytes(), &record, name),
            "False",
            "{algorithm}: a changed subject"
        );
        gw.stop().await;
    }
}

/// The outbox row of the first mail to `to`, once `until` holds for it (polled
/// until [`MAIL_WAIT`]); the last row seen in the panic message otherwise.
async fn row_once(
    gw: &TestGateway,
    to: &str,
    what: &str,
    until: impl Fn(&dialticket::store::OutboxMail) -> bool,
) -> dialticket::store::OutboxMail {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    let mut last = None;
    while tokio::time::Instant::now() < deadline {
        last = gw.app.store.outbox(100).await.unwrap().into_iter().rev().find(|m| m.to_addr == to);
        if let Some(row) = last.as_ref().filter(|r| until(r)) {
            return row.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the mail to {to} never {what}: {last:?}");
}

/// Mails one after another go down one connection to the relay: the worker
/// keeps it open and checks it with NOOP, rather than connecting, greeting and
/// saying EHLO for every mail.
#[tokio::test]
async fn mails_one_after_another_share_one_connection_to_the_relay() {
    let gw = spawn_gateway().await;
    for i in 0..4 {
        let phone = format!("+81901230010{i}");
        assert_eq!(gw.call(&phone, PURCHASE_MISSED_CALL).await.final_status, 603);
        gw.mail(&phone, "purchase link").await;
    }
    assert_eq!(gw.mailbox.count(), 4);
    assert_eq!(gw.mailbox.sessions(), 1, "four mails, one connection");
    gw.stop().await;
}

/// A relay that takes the connection, answers EHLO and then never says another
/// word (lettre bounds only connecting, lettre#1027) holds no mail for good:
/// each attempt ends at `smtp_timeout`, counts as a transient failure and is
/// retried with backoff; once the relay answers again the mail goes out, once.
#[tokio::test]
async fn a_relay_that_stops_answering_delays_mail_but_never_stalls_the_worker() {
    let gw = spawn_gateway_with(|c| c.smtp_timeout = 2).await;
    gw.mailbox.stall_sessions(2);
    let phone = "+819012300004";
    let to = TestGateway::address(phone);
    // Missed-call mode: the call ends at once, the mail is still on its first attempts.
    assert_eq!(gw.call(phone, PURCHASE_MISSED_CALL).await.final_status, 603);

    let cut = row_once(&gw, &to, "recorded a timed-out attempt", |m| {
        m.attempts >= 1 && m.last_error.as_deref().is_some_and(|e| e.contains("timed out"))
    })
    .await;
    assert_ne!(cut.state, "failed", "a silent relay is a transient failure: {cut:?}");

    gw.mail(phone, "purchase link").await;
    let sent = row_once(&gw, &to, "was recorded as sent", |m| m.state == "sent").await;
    assert_eq!(gw.mailbox.stalled(), 2);
    assert_eq!(sent.attempts, 3, "two attempts cut off, the third delivered: {sent:?}");
    assert_eq!(gw.mails(phone, "purchase link").len(), 1);

    // The worker is free: the next mail goes out at once.
    let other = "+819012300005";
    assert_eq!(gw.call(other, PURCHASE_MISSED_CALL).await.final_status, 603);
    gw.mail(other, "purchase link").await;
    gw.stop().await;
}

/// A delivery the gateway cannot write down (a full disk) is not left to its
/// lease to be sent again: the result is kept in memory and written once the
/// database takes it, and no other mail is claimed meanwhile.
#[tokio::test]
async fn a_delivery_that_cannot_be_recorded_is_kept_and_never_sent_again() {
    use dialticket::store::now;
    use sqlx::Connection;

    let dir = tempfile::tempdir().unwrap();
    let gw = spawn_gateway_with(|c| {
        state_in(dir.path())(c);
        c.smtp_timeout = 2;
    })
    .await;
    let db = format!("sqlite://{}", dir.path().join("shared.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    // The disk is full, as far as writing down a delivery goes.
    sqlx::query(
        "CREATE TRIGGER full_disk BEFORE UPDATE OF state ON mail_outbox WHEN NEW.state = 'sent'
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let (first, second) = ("+819012300006", "+819012300007");
    assert_eq!(gw.call(first, PURCHASE_MISSED_CALL).await.final_status, 603);
    let delivered = gw.mail(first, "purchase link").await;
    let claimed = row_once(&gw, &TestGateway::address(first), "was claimed", |m| m.state == "sending").await;
    assert_eq!(gw.call(second, PURCHASE_MISSED_CALL).await.final_status, 603);
    row_once(&gw, &TestGateway::address(second), "was queued", |_| true).await;

    // Its lease runs out (any worker could take it now), and two polls pass.
    while now() < claimed.next_attempt_at + 2 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let queued = row_once(&gw, &TestGateway::address(second), "was read", |_| true).await;
    assert_eq!((queued.state.as_str(), queued.attempts), ("pending", 0), "nothing claimed meanwhile: {queued:?}");

    // The disk has room again: the kept result is written, then the next mail goes.
    sqlx::query("DROP TRIGGER full_disk").execute(&mut conn).await.unwrap();
    gw.mail(second, "purchase link").await;
    let first_row = gw.app.store.outbox_mail(claimed.id).await.unwrap().unwrap();
    assert_eq!(first_row.state, "sent", "written before the next mail was claimed: {first_row:?}");
    let copies = gw.mails(first, "purchase link");
    assert_eq!(copies.len(), 1, "sent once: {:?}", copies.iter().map(|m| &m.message_id).collect::<Vec<_>>());
    assert_eq!(copies[0].message_id, delivered.message_id);
    gw.stop().await;
}
