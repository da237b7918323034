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

/// A relay that takes the connection, answers EHLO and then never says another
/// word (lettre bounds only connecting, lettre#1027) holds no mail for good:
/// each attempt ends at `smtp_timeout`, counts as a transient failure and is
/// retried with backoff; once the relay answers again the mail goes out, once.
#[tokio::test]
async fn a_relay_that_stops_answering_delays_mail_but_never_stalls_the_worker() {
    let gw = spawn_gateway_with(|c| c.smtp_timeout = 1).await;
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
