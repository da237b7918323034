//! The durable outbox: which mails the SMTP worker may send now.

use dialticket::store::{now, MailBody, NewMail, OutboxBacklog, Store};
use sqlx::Connection;

use crate::backends::store_with;
use crate::on_every_backend;

async fn enqueue(store: &Store, to: &str, subject: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let mail = NewMail { to, template: "t", lang: "en", subject, data: "{}", at: now() };
    let id = tx.enqueue_mail(&mail).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn due(store: &Store) -> Vec<String> {
    store.due_mail(now(), 50).await.unwrap().into_iter().map(|m| m.subject).collect()
}

/// One recipient's mails leave one at a time, in the order they were enqueued,
/// also when the first has to wait for a retry; other recipients are not held up.
async fn a_recipients_mails_leave_in_order(backend: &str) {
    let Some((store, _db)) = store_with(backend, "").await else { return };
    let a1 = enqueue(&store, "a@example.org", "a1").await;
    let a2 = enqueue(&store, "a@example.org", "a2").await;
    let b1 = enqueue(&store, "b@example.org", "b1").await;
    assert_eq!(due(&store).await, ["a1", "b1"], "{backend}: only each recipient's oldest");

    // a1 fails for now (retry in a minute): a2 still waits behind it; b1 is sent.
    store.mail_failed(a1, "451 try later", now() + 60, false).await.unwrap();
    assert_eq!(due(&store).await, ["b1"], "{backend}");
    store.mail_delivered(b1, "sent", now()).await.unwrap();
    assert!(due(&store).await.is_empty(), "{backend}: a2 must not overtake a1");

    // Its retry time come, a1 goes first; once it has left, a2.
    store.mail_failed(a1, "451 try later", now(), false).await.unwrap();
    assert_eq!(due(&store).await, ["a1"], "{backend}");
    store.mail_delivered(a1, "sent", now()).await.unwrap();
    assert_eq!(due(&store).await, ["a2"], "{backend}");

    // A mail given up on (permanent failure) holds nothing up.
    let a3 = enqueue(&store, "a@example.org", "a3").await;
    store.mail_failed(a2, "550 no such user", now(), true).await.unwrap();
    assert_eq!(due(&store).await, ["a3"], "{backend}");
    assert!(a3 > a2);
}

/// What monitoring reads: undelivered mails by state and the oldest one's time.
async fn the_backlog_counts_undelivered_mails(backend: &str) {
    let Some((store, _db)) = store_with(backend, "").await else { return };
    assert_eq!(store.outbox_backlog().await.unwrap(), OutboxBacklog::default(), "{backend}");
    let a = enqueue(&store, "a@example.org", "a").await;
    let b = enqueue(&store, "b@example.org", "b").await;
    let c = enqueue(&store, "c@example.org", "c").await;
    store.mail_failed(b, "550 no such user", now(), true).await.unwrap();
    store.mail_delivered(c, "sent", now()).await.unwrap();
    let backlog = store.outbox_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.sending, backlog.failed), (1, 0, 1), "{backend}");
    let created = store.outbox_mail(a).await.unwrap().expect("mail a").created_at;
    assert_eq!(backlog.oldest_undelivered, Some(created), "{backend}");
    store.mail_delivered(a, "sent", now()).await.unwrap();
    let backlog = store.outbox_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed, backlog.oldest_undelivered), (0, 1, None), "{backend}");

    // The admin sends the failed one again; only a failed mail can be.
    assert!(store.retry_failed_mail(b, now()).await.unwrap(), "{backend}");
    assert!(!store.retry_failed_mail(b, now()).await.unwrap(), "{backend}: it is pending now");
    assert!(!store.retry_failed_mail(c, now()).await.unwrap(), "{backend}: a sent mail");
    let backlog = store.outbox_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (1, 0), "{backend}");
    assert_eq!(due(&store).await, ["b"], "{backend}");
}

/// A mail keeps its template's language and data, not rendered bodies (migration
/// 0007); a mail queued by an older gateway still has its bodies, and reads so.
async fn a_mail_keeps_its_data_and_older_mails_their_bodies(backend: &str) {
    let Some((store, db)) = store_with(backend, "").await else { return };
    let mut tx = store.begin().await.unwrap();
    let data = r#"{"url":"http://x/p/ey","user_number":"0123456789"}"#;
    let mail = NewMail { to: "new@example.org", template: "purchase-link", lang: "ja", subject: "s", data, at: now() };
    let new = tx.enqueue_mail(&mail).await.unwrap();
    tx.commit().await.unwrap();
    let got = store.outbox_mail(new).await.unwrap().expect("the new mail");
    assert!(
        matches!(&got.body, MailBody::Data { lang, data: d } if lang == "ja" && d == data),
        "{backend}: {:?}",
        got.body
    );

    let mut conn = sqlx::AnyConnection::connect(&db.url()).await.unwrap();
    sqlx::query(
        "INSERT INTO mail_outbox (to_addr, template, subject, body_text, body_html, next_attempt_at, created_at)
         VALUES ('old@example.org', 'purchase-link', 'old', 'old text', '<p>old</p>', 0, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let old = store.outbox(10).await.unwrap().into_iter().find(|m| m.to_addr == "old@example.org").expect("old mail");
    assert!(
        matches!(&old.body, MailBody::Rendered { text, html } if text == "old text" && html == "<p>old</p>"),
        "{backend}: {:?}",
        old.body
    );
}

/// What the admin is told before sending a failed mail again: the newest mail of
/// the same kind delivered to the same recipient after it.
async fn a_newer_delivered_mail_of_the_same_kind_is_found(backend: &str) {
    let Some((store, _db)) = store_with(backend, "").await else { return };
    let queue = |to: &'static str, template: &'static str| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let mail = NewMail { to, template, lang: "en", subject: template, data: "{}", at: now() };
            let id = tx.enqueue_mail(&mail).await.unwrap();
            tx.commit().await.unwrap();
            id
        }
    };
    let failed = queue("a@example.org", "ticket").await;
    store.mail_failed(failed, "550 no such user", now(), true).await.unwrap();
    assert_eq!(store.newer_delivered_mail(failed).await.unwrap(), None, "{backend}");
    let other_kind = queue("a@example.org", "issue-guide").await;
    let other_recipient = queue("b@example.org", "ticket").await;
    let waiting = queue("a@example.org", "ticket").await;
    for id in [other_kind, other_recipient] {
        store.mail_delivered(id, "sent", now()).await.unwrap();
    }
    assert_eq!(store.newer_delivered_mail(failed).await.unwrap(), None, "{backend}: none delivered of its kind");
    store.mail_delivered(waiting, "local", now()).await.unwrap();
    assert_eq!(store.newer_delivered_mail(failed).await.unwrap(), Some(waiting), "{backend}");
}

on_every_backend!(
    a_newer_delivered_mail_of_the_same_kind_is_found,
    a_recipients_mails_leave_in_order,
    the_backlog_counts_undelivered_mails,
    a_mail_keeps_its_data_and_older_mails_their_bodies
);
