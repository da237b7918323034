//! Build the gateway from its configuration and run it.
//!
//! [`Gateway::build`] binds every socket (so tests can ask for port 0 and read
//! the real addresses back) and loads everything that can be wrong — the
//! dialplan, mail templates, signing key, database — before anything runs;
//! [`Gateway::run_until_stopped`] then serves SIP, HTTP, the mail worker and
//! the dialplan reloader until the shutdown future completes.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{watch, Notify};

use crate::app::App;
use crate::calls::Calls;
use crate::config::Config;
use crate::dialplan::reload::{self, Reloader};
use crate::dialplan::{self, DialplanErrors, KnownNames};
use crate::flood::{Allowlist, FloodConfig, Limiter};
use crate::identity::stir::{LiveTrust, TrustStore};
use crate::identity::StirSettings;
use crate::links::{LinkError, Links};
use crate::mail::relay::Delivery;
use crate::mail::worker::MailWorker;
use crate::mail::{MailError, Templates};
use crate::media::Prompts;
use crate::sip::{self, SipConfig};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("dialplan:\n{0}")]
    Dialplan(#[from] DialplanErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("prompts: {0}")]
    Prompts(String),
    #[error("message catalogs: {0}")]
    Catalogs(#[from] crate::i18n::CatalogError),
    #[error("STIR/SHAKEN trust directory: {0}")]
    Stir(String),
    #[error("cannot bind {what} on {addr}: {error}")]
    Bind { what: &'static str, addr: SocketAddr, error: std::io::Error },
    #[error("sip_listen {0} is a wildcard address: set rtp_ip (DIALTICKET_RTP_IP) to the address callers send RTP to")]
    RtpIp(SocketAddr),
    #[error("mail_from '{0}' is not a mail address")]
    MailFrom(String),
    #[error(transparent)]
    PaymentMode(#[from] crate::payment::PaymentModeError),
}

pub struct Gateway {
    udp: UdpSocket,
    tcp: TcpListener,
    http: TcpListener,
    admin: TcpListener,
    sip_addr: SocketAddr,
    http_addr: SocketAddr,
    admin_addr: SocketAddr,
    app: Arc<App>,
    sip_config: SipConfig,
    worker: MailWorker,
    /// Owns the live dialplan; reloads it on file change and SIGHUP.
    reloader: Reloader,
}

impl Gateway {
    pub async fn build(config: Config) -> Result<Gateway, StartupError> {
        let payment_mode = config.payment_mode.ok_or(crate::payment::PaymentModeError::Unset)?;
        let dialplan_files = dialplan::read_sources(&config.dialplans).map_err(|d| DialplanErrors(vec![d]))?;
        let mut templates = Templates::load(&config.mail_templates)?;
        templates.set_test_mode(payment_mode == crate::payment::PaymentMode::Sandbox);
        let templates = Arc::new(templates);
        let catalogs = Arc::new(crate::i18n::Catalogs::load(&config.locales)?);
        let prompts = Prompts::load(&config.prompts).map_err(|e| StartupError::Prompts(e.to_string()))?;
        let from: lettre::message::Mailbox =
            config.mail_from.parse().map_err(|_| StartupError::MailFrom(config.mail_from.clone()))?;
        let smtp_timeout = Duration::from_secs(config.smtp_timeout);
        let delivery = Delivery::from_url(
            config.smtp_url.as_deref(),
            config.smtp_ca.as_deref(),
            smtp_timeout,
            crate::mail::worker::SMTP_CONCURRENCY,
        )?;
        let store = Store::connect(&config.database_url).await?.with_local_outbox(delivery.is_local());
        // Checked like `dialticket dialplan check` does: prompt files and the database's events.
        let prompt_names: BTreeSet<(String, String)> = prompts.list().into_iter().collect();
        let known = KnownNames { events: reload::known_events(&store).await, prompts: Some(prompt_names.clone()) };
        let plan = dialplan::check::check_sources(&dialplan_files, &known).into_result()?;
        for w in &plan.warnings {
            tracing::warn!("dialplan: {w}");
        }
        let reloader =
            Reloader::new(config.dialplans.clone(), plan, dialplan_files, Some(prompt_names), Some(store.clone()));

        let (udp, tcp) = bind_sip(config.sip_listen).await?;
        let sip_addr =
            udp.local_addr().map_err(|error| StartupError::Bind { what: "SIP/UDP", addr: config.sip_listen, error })?;
        let http = TcpListener::bind(config.http_listen).await.map_err(|error| StartupError::Bind {
            what: "HTTP",
            addr: config.http_listen,
            error,
        })?;
        let http_addr =
            http.local_addr().map_err(|error| StartupError::Bind { what: "HTTP", addr: config.http_listen, error })?;
        let admin = TcpListener::bind(config.admin_listen).await.map_err(|error| StartupError::Bind {
            what: "admin HTTP",
            addr: config.admin_listen,
            error,
        })?;
        let admin_addr = admin.local_addr().map_err(|error| StartupError::Bind {
            what: "admin HTTP",
            addr: config.admin_listen,
            error,
        })?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{http_addr}"));
        let links = Links::load_or_generate(&config.signing_key, &public_url)?;
        let payment_secret = match &config.payment_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => links.derive_secret("payment-callbacks").to_vec(),
        };

        let dialplan = reloader.subscribe();
        let flood = Arc::new(Limiter::new(
            FloodConfig { block_time: Duration::from_secs(config.flood_block_time), ..FloodConfig::default() },
            Allowlist::trunks(dialplan.clone()),
        ));
        let ceilings = Arc::new(crate::flood::Ceilings::default());
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let mail_wake = Arc::new(Notify::new());
        let trust = match &config.stir_trust_dir {
            Some(dir) => TrustStore::load(dir).map_err(StartupError::Stir)?,
            None => TrustStore::default(),
        };
        let stir_trust = Arc::new(LiveTrust::new(config.stir_trust_dir.clone(), trust));
        let app = Arc::new(App {
            store: store.clone(),
            links,
            templates: templates.clone(),
            catalogs,
            dialplan: dialplan.clone(),
            dialplan_status: reloader.status(),
            stir_trust,
            mail_wake: mail_wake.clone(),
            carrier_mail_template: config.carrier_mail_template.clone(),
            local_outbox: delivery.is_local(),
            admin_url: format!("http://{admin_addr}"),
            payments: crate::payment::Payments::for_mode(payment_mode, &payment_secret),
            admin_token: config.admin_token.clone(),
            fee_per_ticket: config.fee_per_ticket,
            display_time_zone: config.display_time_zone,
            purchase_links_per_hour: config.purchase_links_per_hour,
            flood: flood.clone(),
            ceilings: ceilings.clone(),
            metrics: metrics.clone(),
            backlog: crate::app::MailBacklog::new(config.mail_backlog_limit),
            disk_min_free: config.disk_min_free_mb.saturating_mul(1024 * 1024),
            event_cancel_stop_after: config.event_cancel_stop_after,
            event_cancel_order_delay: config.event_cancel_order_delay,
        });
        // SDP must carry an address the caller can send RTP to; a wildcard bind gives none.
        let rtp_ip = match config.rtp_ip {
            Some(ip) => ip,
            None if sip_addr.ip().is_unspecified() => return Err(StartupError::RtpIp(sip_addr)),
            None => sip_addr.ip(),
        };
        let mut sip_config = SipConfig::new(dialplan, Arc::new(prompts), rtp_ip);
        sip_config.rtp_ports = config.rtp_ports;
        sip_config.tcp.message_timeout = std::time::Duration::from_secs(config.tcp_message_timeout);
        sip_config.stir = StirSettings { trust: app.stir_trust.clone(), max_age: config.stir_max_age };
        sip_config.flood = flood;
        sip_config.ceilings = ceilings;
        sip_config.metrics = metrics.clone();
        // OPTIONS and INVITEs answer 503 while the database probe fails (`crate::health`).
        sip_config.availability = app.store.availability().clone();
        // DKIM for what leaves over SMTP, as the From address's domain.
        let dkim = match &config.dkim_key {
            Some(path) if !delivery.is_local() => {
                let shown = path.display().to_string();
                let pem =
                    std::fs::read_to_string(path).map_err(|e| MailError::DkimKey(shown.clone(), e.to_string()))?;
                let domain = from.email.domain().to_string();
                Some(Arc::new(crate::mail::dkim(&pem, &shown, &config.dkim_selector, &domain)?))
            }
            _ => None,
        };
        let worker = MailWorker { store, templates, delivery, from, wake: mail_wake, dkim, smtp_timeout, metrics };
        Ok(Gateway { udp, tcp, http, admin, sip_addr, http_addr, admin_addr, app, sip_config, worker, reloader })
    }

    /// The SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The admin listener's address: back office, admin API, operator pages, `/metrics`.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The base URL of every mailed link.
    pub fn public_url(&self) -> String {
        self.app.links.public_url().to_string()
    }

    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tracing::info!(sip = %self.sip_addr, http = %self.http_addr, admin = %self.admin_addr, public_url = %self.app.links.public_url(),
            outbox = if self.app.local_outbox { "local (/outbox on the admin listener)" } else { "smtp" }, "dialticket is up");
        let worker = tokio::spawn(self.worker.run(stop_rx.clone()));
        let reloader = tokio::spawn(self.reloader.run(stop_rx.clone()));
        let expiry = tokio::spawn(crate::settlement::run_expiry(self.app.clone(), stop_rx.clone()));
        let waitlist = tokio::spawn(crate::waitlist::run(self.app.clone(), stop_rx.clone()));
        let backlog = tokio::spawn(crate::app::watch_backlog(self.app.clone(), stop_rx.clone()));
        let trust = tokio::spawn(self.sip_config.stir.trust.clone().run(stop_rx.clone()));
        let health = tokio::spawn(crate::health::watch_database(self.app.store.clone(), stop_rx.clone()));
        // Cancellations of whole events a stopped gateway left running.
        tokio::spawn(crate::event_cancel::resume_all(self.app.clone()));
        let (public, admin) = crate::web::routers(self.app.clone());
        let serve = |listener: TcpListener, router: axum::Router| {
            let mut stop = stop_rx.clone();
            let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
            tokio::spawn(async move { server.await })
        };
        let http = serve(self.http, public);
        let admin = serve(self.admin, admin);
        let mut sip_stop = stop_rx.clone();
        let handler = Arc::new(Calls::new(self.app.clone()));
        let sip = tokio::spawn(sip::serve(self.udp, self.tcp, self.sip_config, handler, async move {
            let _ = sip_stop.wait_for(|s| *s).await;
        }));
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        let _ = sip.await;
        let _ = http.await;
        let _ = admin.await;
        let _ = worker.await;
        let _ = reloader.await;
        let _ = expiry.await;
        let _ = waitlist.await;
        let _ = backlog.await;
        let _ = trust.await;
        let _ = health.await;
        Ok(())
    }
}

/// UDP and TCP on the same port. With port 0 the OS picks the UDP port and
/// TCP follows it; if that TCP port is taken, try again with a new pick.
async fn bind_sip(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), StartupError> {
    let err = |what, error| StartupError::Bind { what, addr, error };
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr).await.map_err(|e| err("SIP/UDP", e))?;
        let bound = udp.local_addr().map_err(|e| err("SIP/UDP", e))?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() != 0 => return Err(err("SIP/TCP", e)),
            Err(_) => continue,
        }
    }
    Err(err("SIP/TCP", std::io::Error::other("no port free for both UDP and TCP")))
}
