//! The services every handler shares (SIP call handlers and web pages alike).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Notify;

use crate::dialplan::{Action, DialplanHandle};
use crate::domain::Purchase;
use crate::events::EventView;
use crate::links::Links;
use crate::mail::{self, MailError, Templates};
use crate::phone::PhoneNumber;
use crate::store::{PhoneUser, Store, StoreError, StoreTx};

pub struct App {
    pub store: Store,
    pub links: Links,
    pub templates: Arc<Templates>,
    /// The pages' words in every language (see [`crate::i18n`]).
    pub catalogs: Arc<crate::i18n::Catalogs>,
    pub dialplan: DialplanHandle,
    /// Reloads of the dialplan: generation, failures, last error (for `/healthz`, `/dialplan`).
    pub dialplan_status: crate::dialplan::reload::SharedStatus,
    /// The STIR/SHAKEN trust store the SIP endpoint verifies with, and its reloads
    /// (for `/healthz`, `/metrics`).
    pub stir_trust: Arc<crate::identity::stir::LiveTrust>,
    /// Poke the mail worker after an enqueue.
    pub mail_wake: Arc<Notify>,
    pub carrier_mail_template: String,
    /// No SMTP configured: the `/outbox` page shows what was "sent".
    pub local_outbox: bool,
    /// Base URL of the admin listener (`http://127.0.0.1:8081`): the back office,
    /// the operator pages (`/outbox`, `/dialplan`), one-time login links.
    pub admin_url: String,
    /// The payment methods and the callback signing secret.
    pub payments: crate::payment::Payments,
    /// Bearer token of the admin API (`None`: API off).
    pub admin_token: Option<String>,
    pub fee_per_ticket: i64,
    /// Where the operator pages show times that belong to no event (flood blocks, keys).
    pub display_time_zone: chrono_tz::Tz,
    /// Purchase-link mails one caller number may trigger per hour.
    pub purchase_links_per_hour: u32,
    /// The SIP endpoint's flood limiter, for the admin listing and metrics.
    pub flood: Arc<crate::flood::Limiter>,
    /// The SIP endpoint's ceilings per dialled number, for metrics.
    pub ceilings: Arc<crate::flood::Ceilings>,
    /// Calls by action and final status, mails, scans (see [`crate::metrics`]).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Bytes free where the SQLite database lives below which `/healthz` is 503.
    pub disk_min_free: u64,
    /// Test hook ([`crate::config::Config::event_cancel_stop_after`]): `None` in production.
    pub event_cancel_stop_after: Option<usize>,
    /// Test hook ([`crate::config::Config::event_cancel_order_delay`]): `None` in production.
    pub event_cancel_order_delay: Option<std::time::Duration>,
    /// The mail outbox's backlog, and the ceiling beyond which purchase calls hear
    /// "busy" rather than queue more ([`App::mail_backlog_full`]).
    pub backlog: MailBacklog,
}

/// Mails waiting to be sent (pending or sending), as last counted in the database
/// plus every mail queued since that count began; and its ceiling (`0`: none). A
/// flood of purchase calls from random numbers would otherwise queue mail to
/// strangers faster than the relay sends it, and real mail would wait behind it.
///
/// The estimate never falls short: a mail committed while the count runs is in
/// the count and in the mails queued since (counted twice, for a second at most).
#[derive(Debug, Default)]
pub struct MailBacklog {
    pub limit: i64,
    counted: AtomicI64,
    /// Mails queued since start, and that figure when the last count began.
    queued: AtomicI64,
    queued_at_count: AtomicI64,
    /// Purchase calls turned away because the backlog was full, since start.
    pub refused: AtomicU64,
}

impl MailBacklog {
    pub fn new(limit: i64) -> MailBacklog {
        MailBacklog { limit, ..MailBacklog::default() }
    }

    /// Count the database's backlog with `count` and take it as the new base.
    pub async fn recount<F, E>(&self, count: F) -> Result<(), E>
    where
        F: std::future::Future<Output = Result<i64, E>>,
    {
        let mark = self.queued.load(Ordering::SeqCst);
        let counted = count.await?;
        self.counted.store(counted, Ordering::SeqCst);
        self.queued_at_count.store(mark, Ordering::SeqCst);
        Ok(())
    }

    /// `n` more mails queued (after their commit).
    pub fn add(&self, n: usize) {
        self.queued.fetch_add(n as i64, Ordering::SeqCst);
    }

    pub fn waiting(&self) -> i64 {
        let since = self.queued.load(Ordering::SeqCst) - self.queued_at_count.load(Ordering::SeqCst);
        self.counted.load(Ordering::SeqCst) + since
    }

    /// At or over the ceiling with `more` mails about to be queued besides: count
    /// this refusal and say so.
    pub fn full(&self, more: usize) -> bool {
        let full = self.limit > 0 && self.waiting() + more as i64 >= self.limit;
        if full {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        full
    }
}

/// Count the outbox backlog every second into `app.backlog`, until `stop`.
pub async fn watch_backlog(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let count = async { app.store.outbox_backlog().await.map(|b| b.pending + b.sending) };
        if let Err(e) = app.backlog.recount(count).await {
            tracing::warn!(error = %e, "cannot count the mail backlog");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Link(#[from] crate::links::LinkError),
    #[error(transparent)]
    Domain(#[from] crate::domain::DomainError),
    #[error(transparent)]
    Payment(#[from] crate::payment::PaymentError),
    #[error(transparent)]
    Qr(#[from] crate::door::qr::QrError),
    /// The work queue it needed is gone: the gateway is shutting down.
    #[error("the gateway is shutting down")]
    Stopped,
}

impl AppError {
    /// The database could not be reached: nothing was done, try again shortly (503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AppError::Store(e) if e.is_unavailable())
    }
}

impl crate::store::IsConflict for AppError {
    fn is_conflict(&self) -> bool {
        matches!(self, AppError::Store(StoreError::Conflict))
    }
}

/// The event fields mail templates use.
#[derive(Debug, Serialize)]
pub struct MailEvent {
    pub name: String,
    pub venue: String,
    pub starts: String,
    pub doors_open: String,
    pub contact: String,
}

impl MailEvent {
    /// The event as a mail or page in `lang` shows it: times on the venue's clock.
    pub fn new(e: &EventView, lang: &str) -> Self {
        MailEvent {
            name: e.name.clone(),
            venue: e.venue.clone(),
            starts: e.starts(lang),
            doors_open: e.doors(lang),
            contact: e.contact.clone(),
        }
    }
}

/// Mails a phone that never called us may get in [`UNCALLED_WINDOW_SECS`]: such a
/// phone was only named by somebody's web order, and nobody may use our mail to
/// pester a stranger (declined orders, payment instructions, expired holds). An
/// issue guide — somebody paid for this phone's ticket — is counted but always sent.
pub const UNCALLED_MAILS: i64 = 3;
pub const UNCALLED_WINDOW_SECS: i64 = 24 * 3600;
/// The journal action counting them, on the phone user.
const UNCALLED_MAIL: &str = "mail-to-uncalled";

/// Mails about an order that anybody's web order can make us send a phone, for
/// free — a declined payment, how to pay (convenience store, carrier consent), a
/// hold that ran out — go to one phone at most this many times in
/// [`UNCALLED_WINDOW_SECS`], whether it ever called us or not: otherwise anyone
/// could name a customer's number in a form again and again.
pub const ORDER_MAILS: i64 = 3;
const ORDER_MAIL: &str = "order-mail";

impl App {
    /// [`App::queue_mail`] for a mail about an order (see [`ORDER_MAILS`]): `None`
    /// when `user` had its share today (the journal says so).
    pub async fn queue_order_mail<C: Serialize>(
        &self,
        tx: &mut StoreTx,
        user: &PhoneUser,
        template: &'static str,
        ctx: &C,
        at: i64,
    ) -> Result<Option<i64>, AppError> {
        let id = user.user_number.as_str();
        let sent = tx.journal_counts_since(&[id], ORDER_MAIL, at - UNCALLED_WINDOW_SECS).await?;
        let detail = serde_json::json!({ "template": template }).to_string();
        if sent.get(id).copied().unwrap_or(0) >= ORDER_MAILS {
            tracing::info!(phone = %user.phone, template, "order mail over the phone's daily share: not sent");
            tx.journal("phone-user", id, "order-mail-suppressed", None, None, "system", &detail);
            return Ok(None);
        }
        tx.journal("phone-user", id, ORDER_MAIL, None, None, "system", &detail);
        self.queue_mail(tx, user, template, ctx, at).await
    }

    /// Put `template` for `user` in the outbox, inside `tx` (its bodies are
    /// rendered from `ctx` when it is sent: see [`mail::Letter`]). `None`: not
    /// queued, because `user` never called us and had its share of mail
    /// ([`UNCALLED_MAILS`]); the journal says so.
    pub async fn queue_mail<C: Serialize>(
        &self,
        tx: &mut StoreTx,
        user: &PhoneUser,
        template: &'static str,
        ctx: &C,
        at: i64,
    ) -> Result<Option<i64>, AppError> {
        if !user.has_called() {
            let id = user.user_number.as_str();
            let sent = tx.journal_counts_since(&[id], UNCALLED_MAIL, at - UNCALLED_WINDOW_SECS).await?;
            let detail = serde_json::json!({ "template": template }).to_string();
            if sent.get(id).copied().unwrap_or(0) >= UNCALLED_MAILS && template != "issue-guide" {
                tracing::info!(phone = %user.phone, template, "mail to a phone that never called: over its share, not sent");
                tx.journal("phone-user", id, "mail-to-uncalled-suppressed", None, None, "system", &detail);
                return Ok(None);
            }
            tx.journal("phone-user", id, UNCALLED_MAIL, None, None, "system", &detail);
        }
        let letter = self.templates.letter(template, &user.language, ctx)?;
        let to = mail::address_for(user, &self.carrier_mail_template);
        Ok(Some(tx.enqueue_mail(&letter.to_outbox(&to, at)).await?))
    }

    /// The number to call for `action` (per-event rule first), as shown in mails and pages.
    pub fn number_for(&self, action: Action, event: Option<&str>) -> String {
        self.number_in(action, event, None)
    }

    /// The number to tell a caller who speaks `lang` (see [`crate::dialplan::Dialplan::number_in`]).
    pub fn number_in(&self, action: Action, event: Option<&str>, lang: Option<&str>) -> String {
        self.dialplan
            .borrow()
            .number_in(action, event, lang)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "(not configured)".into())
    }

    /// Whether the dialplan takes consent calls for carrier billing of `event`: a
    /// `confirm-billing` rule over a block of numbers (`_+44207946013XXX`).
    pub fn takes_billing_consent(&self, event: &str) -> bool {
        self.dialplan.borrow().number_block_for(Action::ConfirmBilling, Some(event)).is_some()
    }

    /// The number the payer of carrier-billed purchase `pid` calls to consent: the
    /// confirm-billing block's prefix and, in its free digits, a code derived from
    /// the purchase. Each order has its own number, so one call consents to one
    /// order — never to another order somebody else made to bill the same line.
    pub fn consent_number(&self, event: &str, pid: &str) -> Option<PhoneNumber> {
        let (prefix, digits) = self.dialplan.borrow().number_block_for(Action::ConfirmBilling, Some(event))?;
        let d = self.links.derive_secret(&format!("billing-consent:{pid}"));
        let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        let code = n % 10u64.checked_pow(u32::try_from(digits).ok()?)?;
        PhoneNumber::parse(&format!("{prefix}{code:0digits$}")).ok()
    }

    /// The issue-guide mail for a freshly paid purchase.
    pub async fn queue_issue_guide(
        &self,
        tx: &mut StoreTx,
        user: &PhoneUser,
        p: &Purchase,
        e: &EventView,
        at: i64,
    ) -> Result<(), AppError> {
        let url = self.links.url_in(crate::links::Purpose::IssueGuide, &p.phone, Some(&p.id), &user.language, at)?;
        let ctx = serde_json::json!({
            "url": url,
            "event": MailEvent::new(e, &user.language),
            "seats": p.seats.join(", "),
            "quantity": p.quantity,
            "amount": e.price_display(p.amount),
            "issue_number": self.number_in(Action::Issue, Some(&e.id), Some(&user.language)),
            "phone": p.phone.as_str(),
            "purchase_id": p.id,
        });
        self.queue_mail(tx, user, "issue-guide", &ctx, at).await?;
        Ok(())
    }

    /// Apply a settled payment, wherever the result came from (the order form,
    /// a card challenge, a provider callback, the admin API): approved → the
    /// issue guide goes to the ticket's phone (and a copy to a buyer who gave
    /// it away); declined → the seats go back on sale and the buyer gets an
    /// apology with a fresh purchase link. Returns the decline reason, if any.
    pub async fn settle_payment(
        &self,
        tx: &mut StoreTx,
        p: &mut Purchase,
        event: &EventView,
        result: &crate::domain::PaymentResult,
        actor: &str,
        at: i64,
    ) -> Result<Option<String>, AppError> {
        use crate::domain::PaymentResult;
        let transitions = p.settle(result)?;
        tx.save_purchase(p, &transitions, actor, at).await?;
        let holder = tx.phone_user(&p.phone).await?;
        let payer = tx.phone_user_by_number(&p.user_number).await?;
        match result {
            PaymentResult::Approved { .. } => {
                if let Some(h) = &holder {
                    self.queue_issue_guide(tx, h, p, event, at).await?;
                }
                if let Some(b) = payer.as_ref().filter(|b| b.phone != p.phone) {
                    self.queue_issue_guide(tx, b, p, event, at).await?;
                }
                Ok(None)
            }
            PaymentResult::Declined { reason } => {
                tx.release_seats(&p.id, at).await?;
                // Seed 000: on decline, an apology with a fresh purchase URL.
                if let Some(b) = payer.as_ref().or(holder.as_ref()) {
                    let url = self.links.url_in(crate::links::Purpose::Purchase, &b.phone, None, &b.language, at)?;
                    let ctx =
                        serde_json::json!({"url": url, "event": MailEvent::new(event, &b.language), "reason": reason});
                    self.queue_order_mail(tx, b, "payment-declined", &ctx, at).await?;
                }
                Ok(Some(reason.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MailBacklog;

    #[tokio::test]
    async fn the_backlog_estimate_never_falls_short() {
        let b = MailBacklog::new(10);
        assert!(!b.full(9));
        b.add(4);
        assert_eq!(b.waiting(), 4);
        // A count that began before two more mails were queued (and so may or may
        // not hold them) leaves them counted on top: never too few.
        b.recount(async {
            b.add(2);
            Ok::<_, ()>(5)
        })
        .await
        .unwrap();
        assert_eq!(b.waiting(), 7);
        assert!(b.full(3) && !b.full(2));
        // The next count is the base again: mails sent meanwhile are gone from it.
        b.recount(async { Ok::<_, ()>(1) }).await.unwrap();
        assert_eq!(b.waiting(), 1);
        assert_eq!(b.refused.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(!MailBacklog::new(0).full(1_000_000), "0: no ceiling");
    }
}
