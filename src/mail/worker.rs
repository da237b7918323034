//! The outbox worker: sends pending mails over SMTP (lettre), or keeps them
//! in the local outbox (the `/outbox` page) when no SMTP server is configured.
//!
//! Retries transient failures with exponential backoff (1 s doubling to
//! 256 s) for as long as it takes; a permanent refusal (5xx) marks the mail
//! `failed` but keeps it, visible on the outbox page. A refused login or a
//! relay that wants one (530, 534, 535, 538) is not the mail's fault: retried.
//!
//! Several gateways may share one database: each mail is claimed with a lease
//! before sending, so it goes out once. Delivery is at-least-once: a gateway
//! that dies after the SMTP server accepted a mail but before recording it
//! lets the lease run out, and the mail is sent again.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lettre::message::dkim::DkimConfig;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncTransport, Message};
use tokio::sync::Notify;

use super::relay::Delivery;
use super::Templates;
use crate::store::{now, OutboxMail, Store};

/// A permanent refusal of this mail (5xx), as opposed to one of our set-up
/// that every mail would meet — authentication required or failed (530, 534,
/// 535, 538): those mails wait in the outbox, retried with backoff, until the
/// operator fixes `smtp_url`, rather than being given up.
fn refuses_the_mail(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent() && !e.status().map(u16::from).is_some_and(is_setup_refusal)
}

fn is_setup_refusal(code: u16) -> bool {
    matches!(code, 530 | 534 | 535 | 538)
}

/// The error recorded for a send cut off at its deadline: transient (the relay
/// may have taken the mail before going silent; sent again, same Message-ID).
fn timed_out(limit: Duration) -> String {
    format!("SMTP transaction timed out after {} s (smtp_timeout)", limit.as_secs_f64())
}

/// Mails claimed per round for SMTP, and sent at once at most.
const SMTP_BATCH: i64 = 50;
const SMTP_CONCURRENCY: usize = 8;
/// Mails marked delivered per statement in the local outbox.
const LOCAL_BATCH: i64 = 500;

/// How long a claimed mail is ours before another worker may take it over.
/// Longer than the SMTP timeout, so a slow but live send is not duplicated.
const SEND_LEASE_SECS: i64 = 60;

pub struct MailWorker {
    pub store: Store,
    /// What renders a mail's bodies from its data as it leaves.
    pub templates: Arc<Templates>,
    pub delivery: Delivery,
    pub from: Mailbox,
    /// Poked after each enqueue so mail leaves at once rather than on the next poll.
    pub wake: Arc<Notify>,
    /// DKIM-sign what goes out over SMTP (see [`super::dkim`]).
    pub dkim: Option<Arc<DkimConfig>>,
    /// How long one SMTP transaction may take (`smtp_timeout`), connecting
    /// included. lettre bounds only the connecting (lettre#1027): a relay that
    /// accepts and then never answers held the send, and with it the worker, for good.
    pub smtp_timeout: Duration,
}

/// Delay before attempt `attempts + 1`.
pub fn backoff(attempts: i64) -> i64 {
    1i64 << attempts.clamp(0, 8).min(8) // 1, 2, 4, … 256 s
}

impl MailWorker {
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.delivery.is_local() {
                self.keep_locally().await;
            } else {
                match self.store.due_mail(now(), SMTP_BATCH).await {
                    // A recipient's next mail is due once this one has left (one at a
                    // time, in order): look again at once rather than after the pause.
                    Ok(batch) => {
                        if self.deliver_batch(batch).await > 0 {
                            continue;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "outbox: cannot read due mail"),
                }
            }
            // Local outbox: new mails are stored as delivered when they are enqueued,
            // so the sweep only finds mails left pending (e.g. by a run with SMTP) and
            // a wake-up per enqueued mail would be a write turn for nothing.
            tokio::select! {
                _ = self.wake.notified(), if !self.delivery.is_local() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Local outbox: every due mail is "delivered" by marking it so, a few hundred
    /// per statement, until none is left.
    async fn keep_locally(&self) {
        loop {
            match self.store.keep_due_mails_locally(now(), LOCAL_BATCH).await {
                Ok(kept) => {
                    for (id, to, template) in &kept {
                        tracing::info!(mail_id = id, %to, %template, "mail delivered to the local outbox");
                    }
                    if (kept.len() as i64) < LOCAL_BATCH {
                        return;
                    }
                }
                Err(e) => return tracing::error!(error = %e, "outbox: cannot record local delivery; will retry"),
            }
        }
    }

    /// Claim the due mails in one statement (another worker — another gateway on
    /// the same database — may have some) and send what we got, a few at a time
    /// (one SMTP exchange is mostly waiting: ~40 ms on loopback). The batch holds at
    /// most one mail per recipient ([`Store::due_mail`]), so sending them at once
    /// never reorders one recipient's mails. Returns how many were ours to send.
    async fn deliver_batch(&self, batch: Vec<OutboxMail>) -> usize {
        let ids: Vec<i64> = batch.iter().map(|m| m.id).collect();
        let claimed = match self.store.claim_mails(&ids, now(), now() + SEND_LEASE_SECS).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: cannot claim due mail");
                return 0;
            }
        };
        let mine = batch.into_iter().filter(|m| claimed.contains(&m.id));
        futures::stream::iter(mine).for_each_concurrent(SMTP_CONCURRENCY, |mail| self.deliver(mail)).await;
        claimed.len()
    }

    #[tracing::instrument(skip_all, fields(mail_id = mail.id, to = %mail.to_addr, template = %mail.template))]
    async fn deliver(&self, mail: OutboxMail) {
        let result = match &self.delivery {
            Delivery::Local => Ok("local"),
            Delivery::Smtp(t) => match self.build(&mail) {
                Ok(msg) => match tokio::time::timeout(self.smtp_timeout, t.send(msg)).await {
                    Ok(sent) => sent.map(|_| "sent").map_err(|e| (refuses_the_mail(&e), e.to_string())),
                    Err(_) => Err((false, timed_out(self.smtp_timeout))),
                },
                Err(e) => Err((true, e)),
            },
        };
        let stored = match result {
            Ok(state) => {
                tracing::info!(state, "mail delivered");
                self.store.mail_delivered(mail.id, state, now()).await
            }
            Err((permanent, error)) => {
                let delay = backoff(mail.attempts);
                tracing::warn!(%error, permanent, retry_in_s = delay, attempts = mail.attempts + 1, "mail not delivered");
                self.store.mail_failed(mail.id, &error, now() + delay, permanent).await
            }
        };
        if let Err(e) = stored {
            tracing::error!(error = %e, "outbox: cannot record delivery result; the mail will be retried");
        }
    }

    fn build(&self, mail: &OutboxMail) -> Result<Message, String> {
        let to: Mailbox = mail.to_addr.parse().map_err(|e| format!("bad recipient '{}': {e}", mail.to_addr))?;
        let (text, html) = self.templates.bodies(mail).map_err(|e| e.to_string())?;
        let domain = self.from.email.domain().to_string();
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<outbox-{}-{}@{}>", mail.id, mail.created_at, domain)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
            )
            .map_err(|e| e.to_string())?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentication_refusals_are_not_the_mails_fault() {
        for code in [530, 534, 535, 538] {
            assert!(is_setup_refusal(code), "{code}");
        }
        for code in [550, 551, 552, 553, 554] {
            assert!(!is_setup_refusal(code), "{code}");
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0), 1);
        assert_eq!(backoff(3), 8);
        assert_eq!(backoff(50), 256);
    }
}
