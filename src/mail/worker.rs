//! The outbox worker: sends pending mails over SMTP (lettre), or keeps them
//! in the local outbox (the `/outbox` page) when no SMTP server is configured.
//!
//! Retries transient failures with exponential backoff (1 s doubling to
//! 256 s) for as long as it takes; a permanent refusal (5xx) marks the mail
//! `failed` but keeps it, visible on the outbox page. A refused login or a
//! relay that wants one (530, 534, 535, 538) is not the mail's fault: retried.
//!
//! # What is promised
//!
//! At-least-once. A crash between the relay's `250` and our record of it cannot
//! be told apart from a send that failed, so such a mail is sent again; the rules
//! below keep that to the mails whose SMTP transaction was open when the gateway
//! died, sent again with the same Message-ID (`<outbox-{id}-{created_at}@{domain}>`,
//! from the row: the same on every attempt and every gateway), at most
//! `smtp_timeout` + [`LEASE_MARGIN_SECS`] + 1 s after the crash (once a gateway runs
//! and is not behind with its mail).
//!
//! - **Every send has a deadline**, `smtp_timeout` from its claim, connecting
//!   included (lettre bounds only connecting, lettre#1027). Cut off there, it is a
//!   transient failure.
//! - **A claim is a lease tied to that deadline.** Claiming sets a mail `sending`
//!   with `next_attempt_at` = now + `smtp_timeout` + [`LEASE_MARGIN_SECS`]; any
//!   gateway's worker takes a mail whose lease has run out. A live worker has
//!   ended every send by its deadline and written the result within the margin,
//!   so a lease runs out only when its worker died (or could not reach the
//!   database for that long). No heartbeat or owner table is needed for several
//!   gateways on one PostgreSQL: the deadline is what tells a dead claimant from
//!   a slow one. Each gateway reads leases with its own clock: keep the clocks
//!   of gateways that share a database in step (NTP); one ahead by more than
//!   the margin would take over sends still under way.
//! - **Only what is about to be sent is claimed**: a mail per free send slot
//!   ([`SMTP_CONCURRENCY`]), each sent the moment it is claimed. A crash finds
//!   at most that many mails claimed and not recorded.
//! - **A result is written the moment its SMTP transaction ends**, by the task
//!   that sent the mail, as a statement of its own (committed before the task
//!   ends; on SQLite it takes the writer's next turn and is never held back to
//!   go with other statements).
//! - **A result that cannot be written** (full disk, database gone) is kept in
//!   memory and written again, once a second, before anything more is claimed:
//!   the mail is not left to its lease and sent again (unless the gateway dies
//!   before it is written, or, on PostgreSQL, another gateway takes the mail
//!   whose lease ran out while this one could not reach the database).
//!
//! On SQLite (`synchronous = NORMAL`) a power cut or kernel crash, unlike a
//! process crash, may lose the last writes before it, results included; those
//! mails are sent again too.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::dkim::DkimConfig;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::relay::Delivery;
use super::Templates;
use crate::domain::Timestamp;
use crate::store::{now, OutboxMail, Store, StoreError};

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

/// Mails sent at once at most, and so claimed at once at most.
pub const SMTP_CONCURRENCY: usize = 8;
/// Due mails looked up at once (each recipient's oldest; claimed as slots free).
const DUE_BATCH: i64 = 256;

/// Due mails looked up and not claimed yet, and when they were looked up.
#[derive(Default)]
struct Due {
    mails: std::collections::VecDeque<OutboxMail>,
    looked_up: Option<Instant>,
}

/// Mails marked delivered per statement in the local outbox.
const LOCAL_BATCH: i64 = 500;

/// A claim outlasts its send's deadline by this much: the time a live worker has
/// to write the send's result before another may take the mail over.
pub const LEASE_MARGIN_SECS: i64 = 5;

/// How often the worker looks for due mail (retries, expired leases) when
/// nothing wakes it, and tries again to write results it could not.
const POLL: Duration = Duration::from_secs(1);

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
    /// Mails sent and failed, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// What became of one claimed mail: what its outbox row is to say.
#[derive(Debug)]
enum Outcome {
    /// The relay accepted it (`250` after DATA) at this time.
    Sent(Timestamp),
    /// Not delivered: try again at `retry_at`, or never (`permanent`).
    Failed { error: String, retry_at: Timestamp, permanent: bool },
}

/// A send's result not yet written to its outbox row.
type Unrecorded = (i64, Outcome);

/// Delay before attempt `attempts + 1`.
pub fn backoff(attempts: i64) -> i64 {
    1i64 << attempts.clamp(0, 8).min(8) // 1, 2, 4, … 256 s
}

impl MailWorker {
    pub async fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        if self.delivery.is_local() {
            self.keep_locally(shutdown).await
        } else {
            Arc::new(self).send_over_smtp(shutdown).await
        }
    }

    /// Local outbox: new mails are stored as delivered when they are enqueued, so
    /// the sweep only finds mails left pending (e.g. by a run with SMTP), and a
    /// wake-up per enqueued mail would be a write turn for nothing.
    async fn keep_locally(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            self.keep_due_locally().await;
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Every due mail is "delivered" by marking it so, a few hundred per
    /// statement, until none is left.
    async fn keep_due_locally(&self) {
        loop {
            match self.store.keep_due_mails_locally(now(), LOCAL_BATCH).await {
                Ok(kept) => {
                    for (id, to, template) in &kept {
                        self.metrics.mail_sent();
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

    /// The SMTP loop: fill the free send slots with due mails, each claimed as it
    /// is sent (see the module doc). A slot frees when its send has ended and its
    /// result is written; a recipient's next mail is due only then (one at a time,
    /// in order: [`Store::due_mail`]), so each freed slot is a look for more.
    /// On shutdown nothing more is claimed; the sends under way end (by their
    /// deadline) and are recorded, so a stop sends nothing twice.
    async fn send_over_smtp(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut sending: JoinSet<Option<Unrecorded>> = JoinSet::new();
        let mut unrecorded: Vec<Unrecorded> = Vec::new();
        let mut due = Due::default();
        let mut stopping = *shutdown.borrow();
        loop {
            while let Some(done) = sending.try_join_next() {
                unrecorded.extend(done.ok().flatten());
            }
            if !unrecorded.is_empty() {
                self.record_again(&mut unrecorded).await;
            }
            if stopping && sending.is_empty() {
                if !unrecorded.is_empty() {
                    let ids: Vec<i64> = unrecorded.iter().map(|(id, _)| *id).collect();
                    tracing::error!(?ids, "outbox: stopping with results not written; these mails will be sent again");
                }
                return;
            }
            // Results first: a mail sent but not recorded must not be left to its lease.
            if !stopping && unrecorded.is_empty() {
                self.claim_and_send(&mut sending, &mut due).await;
            }
            tokio::select! {
                Some(done) = sending.join_next(), if !sending.is_empty() => unrecorded.extend(done.ok().flatten()),
                _ = self.wake.notified(), if !stopping && unrecorded.is_empty() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed(), if !stopping => stopping = true,
            }
        }
    }

    /// Claim due mails for the free send slots (another worker — another gateway
    /// on the same database — may take some first) and start sending each. The
    /// due mails are looked up [`DUE_BATCH`] at a time and claimed a slot's worth
    /// at a time: with a backlog, looking up each recipient's oldest mail costs
    /// more than sending it (on PostgreSQL, a lookup a mail held the drain at
    /// ~90 mails/s).
    async fn claim_and_send(self: &Arc<Self>, sending: &mut JoinSet<Option<Unrecorded>>, due: &mut Due) {
        if due.looked_up.is_some_and(|t| t.elapsed() > POLL) {
            due.mails.clear(); // a second old: what is due may have changed
        }
        let mut looked_up_now = false;
        loop {
            let free = SMTP_CONCURRENCY.saturating_sub(sending.len());
            if free == 0 {
                return;
            }
            // The deadline counts from before the claim, and the lease from the second
            // the claim is made in: the lease always ends ≥ LEASE_MARGIN_SECS - 1 after it.
            let deadline = Instant::now() + self.smtp_timeout;
            let at = now();
            if due.mails.is_empty() {
                if looked_up_now {
                    return;
                }
                looked_up_now = true;
                match self.store.due_mail(at, DUE_BATCH).await {
                    Ok(found) if found.is_empty() => return,
                    Ok(found) => {
                        due.mails = found.into();
                        due.looked_up = Some(Instant::now());
                    }
                    Err(e) => return tracing::warn!(error = %e, "outbox: cannot read due mail"),
                }
            }
            let batch: Vec<OutboxMail> = due.mails.drain(..free.min(due.mails.len())).collect();
            let ids: Vec<i64> = batch.iter().map(|m| m.id).collect();
            // Claiming checks again that each is still due and unclaimed.
            let claimed = match self.store.claim_mails(&ids, at, at + self.lease_secs()).await {
                Ok(claimed) => claimed,
                Err(e) => return tracing::warn!(error = %e, "outbox: cannot claim due mail"),
            };
            for mail in batch.into_iter().filter(|m| claimed.contains(&m.id)) {
                sending.spawn(self.clone().deliver(mail, deadline));
            }
        }
    }

    /// How long a claim lasts: the send's deadline and the margin, whole seconds.
    fn lease_secs(&self) -> i64 {
        self.smtp_timeout.as_secs_f64().ceil() as i64 + LEASE_MARGIN_SECS
    }

    /// Send one claimed mail by `deadline` and write the result at once; the
    /// result if it could not be written.
    #[tracing::instrument(skip_all, fields(mail_id = mail.id, to = %mail.to_addr, template = %mail.template))]
    async fn deliver(self: Arc<Self>, mail: OutboxMail, deadline: Instant) -> Option<Unrecorded> {
        let outcome = match self.send(&mail, deadline).await {
            Ok(()) => {
                tracing::info!("mail delivered");
                self.metrics.mail_sent();
                Outcome::Sent(now())
            }
            Err((permanent, error)) => {
                let delay = backoff(mail.attempts);
                self.metrics.mail_failed();
                tracing::warn!(%error, permanent, retry_in_s = delay, attempts = mail.attempts + 1, "mail not delivered");
                Outcome::Failed { error, retry_at: now() + delay, permanent }
            }
        };
        match self.record(mail.id, &outcome).await {
            Ok(()) => None,
            Err(e) => {
                tracing::error!(error = %e, ?outcome, "outbox: cannot record the result; kept, and written again before more mail is claimed");
                Some((mail.id, outcome))
            }
        }
    }

    /// One SMTP transaction, cut off at `deadline`. `Err((permanent, why))`.
    async fn send(&self, mail: &OutboxMail, deadline: Instant) -> Result<(), (bool, String)> {
        let Delivery::Smtp(relay) = &self.delivery else { return Ok(()) };
        let message = self.build(mail).map_err(|e| (true, e))?;
        let bytes = message.formatted();
        // Cut off at the deadline, the send's connection goes with its future (see
        // `super::connections`): it never carries another mail.
        match tokio::time::timeout_at(deadline, relay.send(message.envelope(), &bytes)).await {
            Ok(sent) => sent.map_err(|e| (e.smtp().is_some_and(refuses_the_mail), e.to_string())),
            Err(_) => Err((false, timed_out(self.smtp_timeout))),
        }
    }

    async fn record(&self, id: i64, outcome: &Outcome) -> Result<(), StoreError> {
        match outcome {
            Outcome::Sent(at) => self.store.mail_delivered(id, "sent", *at).await,
            Outcome::Failed { error, retry_at, permanent } => {
                self.store.mail_failed(id, error, *retry_at, *permanent).await
            }
        }
    }

    /// Write the results kept in memory, oldest first, until one fails.
    async fn record_again(&self, unrecorded: &mut Vec<Unrecorded>) {
        while let Some((id, outcome)) = unrecorded.first() {
            match self.record(*id, outcome).await {
                Ok(()) => {
                    tracing::info!(mail_id = id, ?outcome, "outbox: result written after all");
                    unrecorded.remove(0);
                }
                Err(e) => {
                    let kept = unrecorded.len();
                    return tracing::warn!(error = %e, kept, "outbox: still cannot record results; no mail is claimed meanwhile");
                }
            }
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
