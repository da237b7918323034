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

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lettre::message::dkim::DkimConfig;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use tokio::sync::Notify;
use url::{Host, Url};

use super::MailError;
use crate::store::{now, OutboxMail, Store};

/// STARTTLS (required or opportunistic) or TLS from the first byte.
type TlsWrap = fn(TlsParameters) -> Tls;

/// The CA certificates (PEM) trusted for the relay besides the system's.
fn relay_ca(path: &Path) -> Result<Certificate, MailError> {
    let bad = |m: String| MailError::SmtpCa(path.display().to_string(), m);
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(bad("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into()));
    }
    Certificate::from_pem(&pem).map_err(|e| bad(e.to_string()))
}

/// `url` with the password in it (`user:password@`) replaced by `***`, for
/// errors and logs.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

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

/// Where mail goes.
#[derive(Clone)]
pub enum Delivery {
    /// No SMTP server: mails stay in the database and are read at `/outbox`.
    Local,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Delivery {
    /// `None` → local outbox. Otherwise the relay, as in lettre's URLs:
    /// - `smtp://[user:pass@]host[:port]`: plain SMTP, port 25 by default;
    /// - `smtp://…?tls=required`: STARTTLS, and no mail goes out if the relay
    ///   does not offer it or its certificate does not verify; port 587;
    /// - `smtp://…?tls=opportunistic`: STARTTLS when the relay offers it; 587;
    /// - `smtps://…`: TLS from the first byte; 465.
    ///
    /// The relay's certificate is checked against the system's CA store and, if
    /// given, the PEM certificates in `ca` (a private relay's CA).
    pub fn from_url(url: Option<&str>, ca: Option<&Path>) -> Result<Delivery, MailError> {
        let Some(url) = url else { return Ok(Delivery::Local) };
        let bad = |m: &str| MailError::SmtpUrl(redacted(url), m.to_string());
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let host = match parsed.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host")),
        };
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        // How TLS wraps the connection (none: plain SMTP), and the default port.
        let (wrap, port): (Option<TlsWrap>, u16) = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => (None, 25),
            ("smtp", Some("required")) => (Some(Tls::Required), 587),
            ("smtp", Some("opportunistic")) => (Some(Tls::Opportunistic), 587),
            ("smtps", None) => (Some(Tls::Wrapper), 465),
            ("smtp" | "smtps", Some(other)) => {
                return Err(bad(&format!("tls={other}: expected tls=required or tls=opportunistic (smtp:// only)")))
            }
            _ => return Err(bad("expected smtp:// or smtps://")),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(parsed.port().unwrap_or(port))
            .timeout(Some(Duration::from_secs(15)));
        if let Some(wrap) = wrap {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(path) = ca {
                params = params.add_root_certificate(relay_ca(path)?);
            }
            b = b.tls(wrap(params.build_rustls().map_err(|e| bad(&e.to_string()))?));
        } else if ca.is_some() {
            return Err(bad("smtp_ca is set but the URL asks for no TLS: add ?tls=required or use smtps://"));
        }
        if !parsed.username().is_empty() {
            let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
            let user = decode(parsed.username()).map_err(|_| bad("user name is not UTF-8"))?;
            let pass = decode(parsed.password().unwrap_or("")).map_err(|_| bad("password is not UTF-8"))?;
            if wrap.is_none() && !is_loopback(&host) {
                tracing::warn!(relay = %host, "smtp_url: the relay password goes over the network unencrypted; add ?tls=required");
            }
            b = b.credentials(Credentials::new(user, pass));
        }
        Ok(Delivery::Smtp(b.build()))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Delivery::Local)
    }
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
    pub delivery: Delivery,
    pub from: Mailbox,
    /// Poked after each enqueue so mail leaves at once rather than on the next poll.
    pub wake: Arc<Notify>,
    /// DKIM-sign what goes out over SMTP (see [`super::dkim`]).
    pub dkim: Option<Arc<DkimConfig>>,
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
                Ok(msg) => t.send(msg).await.map(|_| "sent").map_err(|e| (refuses_the_mail(&e), e.to_string())),
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
        let domain = self.from.email.domain().to_string();
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<outbox-{}-{}@{}>", mail.id, mail.created_at, domain)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.body_text.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(mail.body_html.clone())),
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
    fn smtp_urls() {
        let ok = |u: &str| Delivery::from_url(Some(u), None).map(|d| !d.is_local());
        assert!(Delivery::from_url(None, None).unwrap().is_local());
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pw@[::1]:25",
            "smtp://relay.example?tls=required",
            "smtp://u%40x:p%3Aw@relay.example:587?tls=opportunistic",
            "smtps://relay.example",
        ] {
            assert!(ok(url).expect(url), "{url}");
        }
        let refused = |u: &str| Delivery::from_url(Some(u), None).err().map(|e| e.to_string()).expect(u);
        assert!(refused("smtp://127.0.0.1:port").contains("invalid port"));
        assert!(refused("http://x").contains("expected smtp:// or smtps://"));
        assert!(refused("smtp://x?tls=yes").contains("tls=yes: expected tls=required"));
        assert!(refused("smtps://x?tls=required").contains("smtp:// only"));
        assert!(refused("smtp://").contains("no host"));
    }

    #[test]
    fn errors_never_show_the_relay_password() {
        let e = Delivery::from_url(Some("smtp://mailer:s3cr%2Fet@relay.example:587?tls=maybe"), None);
        let e = e.err().expect("refused").to_string();
        assert!(e.contains("'smtp://mailer:***@relay.example:587?tls=maybe'") && !e.contains("s3cr"), "{e}");
        assert_eq!(redacted("smtp://relay.example"), "smtp://relay.example");
        assert_eq!(redacted("smtp://only-user@relay.example/"), "smtp://only-user@relay.example/");
        assert_eq!(redacted("smtps://u:p@w@[::1]:465"), "smtps://u:***@[::1]:465");
    }

    #[test]
    fn relay_ca_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let none = dir.path().join("none.pem");
        let e = Delivery::from_url(Some("smtp://x?tls=required"), Some(&none)).err().unwrap().to_string();
        assert!(e.starts_with(&format!("smtp_ca {}: ", none.display())), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = Delivery::from_url(Some("smtp://x?tls=required"), Some(&empty)).err().unwrap().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        let e = Delivery::from_url(Some("smtp://x:25"), Some(&empty)).err().unwrap().to_string();
        assert!(e.contains("smtp_ca is set but the URL asks for no TLS"), "{e}");
    }

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
