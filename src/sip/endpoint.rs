//! The SIP endpoint: the dispatcher above the transaction layer (RFC 3261 §8.2,
//! §17.2.3).
//!
//! Every message the transports read comes here. Responses go to their client
//! transaction. A request that starts something new meets the per-source flood
//! limit first ([`Admission::check_source`]); then the transaction layer absorbs
//! retransmissions, and what is left is dispatched:
//!
//! * a new INVITE gets its own task (`call.rs`: admission, the handler,
//!   the answer), within `max_calls`, and not while shutting down;
//! * ACK, BYE, INFO and re-INVITEs inside a dialog go to the call that owns it
//!   (`dialog.rs`), or get 481;
//! * CANCEL ends a pending INVITE with 487 (§9.2); OPTIONS is answered here
//!   (§11.2), and every other method with 405.
//!
//! Requests the endpoint cannot take at all get 483, 420 or a stateless 503.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::dialog::{DialogEvent, DialogId, Dialogs};
use super::message::{self, format_host_port, Message, Method, Request, Response};
use super::tcp::{self, TcpLimits};
use super::timers::Timers;
use super::transaction::{Incoming, Limits, ServerTxHandle, TransactionLayer, TxKey};
use super::transport::{self, Dispatch, Flow, Transport};
use super::CallHandler;
use crate::admission::{Admission, SourceVerdict};
use crate::dialplan::DialplanHandle;
use crate::flood::{self, Allowlist, FloodConfig, Limiter};
use crate::identity;
use crate::media::{self, Prompts};
use crate::phone::PhoneNumber;
use crate::sync::lock;

/// Methods we implement, for Allow (§20.5) in OPTIONS and 405 responses.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO";
/// Bodies we understand (§20.1): SDP, and DTMF in INFO (the legacy, pre-RFC 6086 usage).
pub const ACCEPT: &str = "application/sdp, application/dtmf-relay, application/dtmf";

/// Everything the SIP endpoint needs besides its sockets.
#[derive(Clone)]
pub struct SipConfig {
    pub dialplan: DialplanHandle,
    pub prompts: Arc<Prompts>,
    /// Bind RTP sockets here (port 0) and advertise it in SDP. Also used as our
    /// host in Via/Contact when the SIP socket is bound to an unspecified address.
    pub rtp_ip: IpAddr,
    /// Ports for RTP sockets (`rtp_ports`); `None` = any free port.
    pub rtp_ports: Option<crate::config::PortRange>,
    /// Sent as `Server` in responses and `User-Agent` in requests.
    pub user_agent: String,
    /// RFC 3261 T1/T2/T4 (defaults 500 ms / 4 s / 5 s).
    pub timers: Timers,
    /// After shutdown starts, how long calls in progress may run on.
    pub shutdown_grace: Duration,
    /// Bounds on the transaction table (memory under floods).
    pub limits: Limits,
    /// Bounds on TCP connections: how many, per source, and how long a peer may take.
    pub tcp: TcpLimits,
    /// Calls (INVITEs being decided or answered) at once; more get 503.
    pub max_calls: usize,
    /// How long a menu waits for a key after its prompt.
    pub menu_wait: Duration,
    /// STIR/SHAKEN trust anchors and certificate cache, and the PASSporT age limit.
    pub stir: identity::StirSettings,
    /// Flood limits per source address and per caller number (shared with the admin API).
    pub flood: Arc<Limiter>,
    /// Ceilings per dialled number (`rate_limit.per_number`; shared with `/metrics`).
    pub ceilings: Arc<flood::Ceilings>,
    /// Calls by action and final status (shared with `/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Whether the gateway behind can serve (its database answers): OPTIONS
    /// gets 503 when not, so a load balancer's probe takes it out ([`crate::health`]).
    pub availability: crate::health::Availability,
}

impl SipConfig {
    pub fn new(dialplan: DialplanHandle, prompts: Arc<Prompts>, rtp_ip: IpAddr) -> Self {
        let flood = Arc::new(Limiter::new(FloodConfig::default(), Allowlist::trunks(dialplan.clone())));
        SipConfig {
            dialplan,
            prompts,
            rtp_ip,
            rtp_ports: None,
            user_agent: format!("dialticket/{}", env!("CARGO_PKG_VERSION")),
            timers: Timers::default(),
            shutdown_grace: Duration::from_secs(10),
            limits: Limits::default(),
            tcp: TcpLimits::default(),
            max_calls: 20_000,
            menu_wait: Duration::from_secs(4),
            stir: identity::StirSettings::default(),
            flood,
            ceilings: Arc::default(),
            metrics: Arc::default(),
            availability: crate::health::Availability::default(),
        }
    }
}

/// Runs until `shutdown` completes. The caller binds the sockets (tests bind port 0).
///
/// On shutdown: stop accepting TCP connections, answer new INVITEs with 503, let
/// calls in progress finish for up to `shutdown_grace`, then stop.
pub async fn serve(
    udp: UdpSocket,
    tcp: TcpListener,
    config: SipConfig,
    handler: Arc<dyn CallHandler>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    transport::set_udp_buffers(&udp, transport::UDP_BUFFER_BYTES);
    let udp = Arc::new(udp);
    tracing::info!(udp = %udp.local_addr()?, tcp = %tcp.local_addr()?, "SIP endpoint listening");
    let transport = Arc::new(Transport::new(udp.clone()));
    let layer = TransactionLayer::new(transport.clone(), config.timers, config.limits, config.metrics.clone());
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let grace = config.shutdown_grace;
    let admission =
        Admission::new(config.dialplan.clone(), config.stir.clone(), config.flood.clone(), config.ceilings.clone());
    let endpoint = Arc::new(Endpoint {
        admission,
        config,
        handler,
        layer,
        dialogs: Dialogs::default(),
        draining: AtomicBool::new(false),
        calls_alive: Mutex::new(Some(alive_tx)),
        active_calls: AtomicUsize::new(0),
    });
    let dispatch: Arc<dyn Dispatch> = Arc::new(Dispatcher(endpoint.clone()));
    let (stop_udp, stop_udp_rx) = watch::channel(false);
    let (stop_accept, stop_accept_rx) = watch::channel(false);
    let udp_task = tokio::spawn(transport::run_udp(udp, transport.clone(), dispatch.clone(), stop_udp_rx));
    let tcp_limits = endpoint.config.tcp;
    let tcp_task = tokio::spawn(tcp::run_tcp(tcp, transport, dispatch, tcp_limits, stop_accept_rx));

    shutdown.await;
    tracing::info!("SIP endpoint shutting down: refusing new calls, finishing calls in progress");
    endpoint.draining.store(true, Ordering::SeqCst);
    stop_accept.send_replace(true);
    let _ = tcp_task.await;
    drop(lock(&endpoint.calls_alive).take());
    // Every call task holds a sender; recv() returns None once the last one ends.
    if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
        tracing::warn!("calls still in progress after the shutdown grace period");
    }
    stop_udp.send_replace(true);
    let _ = udp_task.await;
    Ok(())
}

/// What the endpoint, the calls' tasks and their dialogs share.
pub(super) struct Endpoint {
    pub(super) admission: Admission,
    pub(super) config: SipConfig,
    pub(super) handler: Arc<dyn CallHandler>,
    pub(super) layer: Arc<TransactionLayer>,
    pub(super) dialogs: Dialogs,
    draining: AtomicBool,
    calls_alive: Mutex<Option<mpsc::Sender<()>>>,
    pub(super) active_calls: AtomicUsize,
}

/// Counts a call task in [`Endpoint::active_calls`] while it runs.
struct ActiveCall(Arc<Endpoint>);

impl Drop for ActiveCall {
    fn drop(&mut self) {
        self.0.active_calls.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Dispatcher(Arc<Endpoint>);

impl Dispatch for Dispatcher {
    fn dispatch(&self, msg: Message, flow: Flow) {
        self.0.on_message(msg, flow);
    }

    fn is_trunk(&self, ip: IpAddr) -> bool {
        self.0.admission.is_trunk(ip)
    }
}

impl Endpoint {
    fn on_message(self: &Arc<Self>, msg: Message, flow: Flow) {
        match msg {
            Message::Response(resp) => self.layer.on_response(resp),
            Message::Request(mut req) => {
                req.stamp_source(flow.peer());
                let span = tracing::debug_span!("sip", call_id = %req.call_id, method = %req.method);
                let _enter = span.enter();
                if !self.within_flood_limit(&req, &flow) {
                    return;
                }
                // Configured trunks (a proxy in front of us) carry everyone's calls: no per-source cap.
                let trusted = self.admission.is_trunk(flow.peer().ip());
                match self.layer.on_request(req, flow, trusted) {
                    Incoming::Absorbed => {}
                    Incoming::OverLimit { per_source, req, flow } => self.over_limit(per_source, &req, &flow),
                    Incoming::Ack(ack) => self.on_ack(ack),
                    Incoming::New(stx, req) => self.on_new_request(stx, req),
                }
            }
        }
    }

    /// The per-source flood limit ([`Admission::check_source`]), counted on requests
    /// that start something new: not ACKs, not requests inside a dialog, not
    /// retransmissions of a transaction we have. Over the limit: a stateless 503
    /// with Retry-After, then silence (see [`crate::flood`]).
    fn within_flood_limit(&self, req: &Request, flow: &Flow) -> bool {
        if req.method == Method::Ack || req.to.tag().is_some() || self.layer.find(&TxKey::for_request(req)).is_some() {
            return true;
        }
        match self.admission.check_source(flow.peer().ip()) {
            SourceVerdict::Allow => true,
            SourceVerdict::Refuse { retry_after } => {
                if req.method != Method::Cancel {
                    self.stateless_503(req, flow, &retry_after.to_string());
                }
                false
            }
            SourceVerdict::Drop => false,
        }
    }

    /// 503 with Retry-After for a request that gets no transaction (§21.5.4).
    fn stateless_503(&self, req: &Request, flow: &Flow, retry_after: &str) {
        let mut resp = message::response_for(&req.headers, 503, "Service Unavailable", Some(&message::new_tag()));
        resp.headers.push("Retry-After", retry_after.to_string());
        resp.headers.push("Server", self.config.user_agent.clone());
        if let Err(e) = self.layer.transport().send(&flow.response_flow(&req.via), resp.to_bytes()) {
            tracing::debug!(error = %e, "503 not sent");
        }
    }

    /// A response to `stx`'s request, with our To tag and Server header.
    pub(super) fn response(&self, stx: &ServerTxHandle, code: u16, reason: &str) -> Response {
        let mut resp = message::response_for(stx.request_headers(), code, reason, Some(stx.to_tag()));
        // §12.1.1: a response that establishes (or refreshes) a dialog carries the request's
        // Record-Route values, in order, so the caller's route set matches ours.
        let invite = stx.request_headers().get("CSeq").is_some_and(|c| c.trim_end().ends_with("INVITE"));
        if invite && (101..300).contains(&code) {
            for rr in stx.request_headers().get_all("Record-Route") {
                resp.headers.push("Record-Route", rr);
            }
        }
        for (name, value) in stx.sticky_headers() {
            resp.headers.push(name, value);
        }
        resp.headers.push("Server", self.config.user_agent.clone());
        resp
    }

    pub(super) fn send(&self, stx: ServerTxHandle, resp: Response) {
        if let Err(e) = stx.respond(&resp) {
            tracing::debug!(code = resp.code, error = %e, "response not sent");
        }
    }

    pub(super) fn reply(&self, stx: ServerTxHandle, code: u16, reason: &str) {
        let resp = self.response(&stx, code, reason);
        self.send(stx, resp);
    }

    fn on_new_request(self: &Arc<Self>, stx: ServerTxHandle, req: Request) {
        // A UAS can answer OPTIONS with Max-Forwards 0 itself (§11, §16.3 step 3); for
        // anything else 0 means the request looped or went too far.
        if req.max_forwards() == Some(0) && req.method != Method::Options {
            return self.reply(stx, 483, "Too Many Hops");
        }
        // §8.2.2.3: we support no extensions, so any Require is refused (never for CANCEL).
        if req.method != Method::Cancel {
            if let Some(required) = req.header("Require").filter(|r| !r.trim().is_empty()) {
                let mut resp = self.response(&stx, 420, "Bad Extension");
                resp.headers.push("Unsupported", required.to_string());
                return self.send(stx, resp);
            }
        }
        // §12.2.2: a request inside a dialog we do not have (ended, or never ours) gets 481.
        if req.to.tag().is_some() && req.method != Method::Cancel && !self.dialogs.contains(&DialogId::of_request(&req))
        {
            return self.reply(stx, 481, "");
        }
        match &req.method {
            Method::Invite if req.to.tag().is_some() => self.to_dialog(stx, req),
            Method::Invite => self.on_invite(stx, req),
            Method::Cancel => self.on_cancel(stx, req),
            Method::Bye => self.on_bye(stx, req),
            Method::Info => self.on_info(stx, req),
            Method::Options => {
                // §11.2: what we would do with an INVITE ("the same [code] that would
                // have been chosen had the request been an INVITE": 503 while draining
                // or cut off from the database, which takes us out of a load
                // balancer's rotation), and our capabilities.
                let unavailable = self.draining.load(Ordering::SeqCst) || !self.config.availability.is_up();
                let mut resp = if unavailable {
                    let mut resp = self.response(&stx, 503, "Service Unavailable");
                    resp.headers.push("Retry-After", crate::health::RETRY_AFTER_SECS.to_string());
                    resp
                } else {
                    self.response(&stx, 200, "OK")
                };
                resp.headers.push("Allow", ALLOW);
                resp.headers.push("Accept", ACCEPT);
                resp.headers.push("Accept-Encoding", "identity");
                resp.headers.push("Accept-Language", "en, ja");
                // No option tags: we implement no extensions that need one (RFC 3581 rport needs none).
                resp.headers.push("Supported", "");
                self.send(stx, resp);
            }
            Method::Ack => {} // never a new transaction
            Method::Other(_) => {
                let mut resp = self.response(&stx, 405, "Method Not Allowed");
                resp.headers.push("Allow", ALLOW);
                self.send(stx, resp);
            }
        }
    }

    /// A request the transaction table refused. A source over its own share is
    /// flooding: it gets nothing (an answer would only feed it). When the whole
    /// table is full we are overloaded, and say so statelessly (§21.5.4).
    fn over_limit(&self, per_source: bool, req: &Request, flow: &Flow) {
        if per_source {
            return tracing::debug!(peer = %flow.peer(), "per-source transaction limit reached; request dropped");
        }
        tracing::warn!("transaction table full; answering 503");
        self.stateless_503(req, flow, "5");
    }

    /// Hand a re-INVITE to its call (§14.2).
    fn to_dialog(&self, stx: ServerTxHandle, req: Request) {
        let events = self.dialogs.of(&req);
        match events {
            // If the call cannot take it now, the dropped handle answers 500.
            Some(events) => {
                let _ = events.try_send(DialogEvent::ReInvite(stx, Box::new(req)));
            }
            None => self.reply(stx, 481, ""),
        }
    }

    /// INFO in a dialog (RFC 6086). We take DTMF from the legacy bodies every PBX
    /// sends (`application/dtmf-relay`, `application/dtmf`); an empty INFO is a
    /// keep-alive and gets 200; other bodies get 415 with what we accept.
    fn on_info(&self, stx: ServerTxHandle, req: Request) {
        let events = match req.to.tag() {
            Some(_) => self.dialogs.of(&req),
            None => None,
        };
        let Some(events) = events else {
            return self.reply(stx, 481, ""); // INFO exists only inside a dialog (RFC 6086 §4.2.1)
        };
        if req.body.is_empty() {
            return self.reply(stx, 200, "OK");
        }
        let content_type = req.header("Content-Type").unwrap_or_default();
        match media::dtmf_from_info(content_type, &req.body) {
            Some(digit) => {
                self.reply(stx, 200, "OK");
                tracing::debug!(%digit, "DTMF (SIP INFO)");
                let _ = events.try_send(DialogEvent::Digit(digit));
            }
            None => {
                let mut resp = self.response(&stx, 415, "Unsupported Media Type");
                resp.headers.push("Accept", "application/dtmf-relay, application/dtmf");
                self.send(stx, resp);
            }
        }
    }

    fn on_invite(self: &Arc<Self>, stx: ServerTxHandle, req: Request) {
        if self.draining.load(Ordering::SeqCst) {
            let mut resp = self.response(&stx, 503, "Service Unavailable");
            resp.headers.push("Retry-After", "30");
            return self.send(stx, resp);
        }
        // The database is out of reach (the health probe says so): 503 at once
        // (§21.5.4), rather than a task per call waiting out the pool's timeout.
        if !self.config.availability.is_up() {
            let mut resp = self.response(&stx, 503, "Service Unavailable");
            resp.headers.push("Retry-After", crate::health::RETRY_AFTER_SECS.to_string());
            return self.send(stx, resp);
        }
        if self.active_calls.fetch_add(1, Ordering::Relaxed) >= self.config.max_calls {
            self.active_calls.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(max_calls = self.config.max_calls, "call limit reached; answering 503");
            let mut resp = self.response(&stx, 503, "Service Unavailable");
            resp.headers.push("Retry-After", "5");
            return self.send(stx, resp);
        }
        let alive = lock(&self.calls_alive).clone();
        let span = tracing::info_span!("call", call_id = %req.call_id);
        let endpoint = self.clone();
        tokio::spawn(
            async move {
                let _alive = alive;
                let _active = ActiveCall(endpoint.clone());
                endpoint.run_call(stx, req).await;
            }
            .instrument(span),
        );
    }

    fn on_cancel(&self, stx: ServerTxHandle, req: Request) {
        let Some(invite) = self.layer.find(&TxKey::invite_for_cancel(&req)) else {
            return self.reply(stx, 481, "");
        };
        // §9.2: answer the CANCEL with the To tag of the INVITE's responses; if no final
        // response went out yet, the INVITE ends with 487 (whoever sends a final first wins).
        let mut ok = message::response_for(stx.request_headers(), 200, "OK", Some(invite.to_tag()));
        ok.headers.push("Server", self.config.user_agent.clone());
        self.send(stx, ok);
        if invite.is_pending() {
            let mut terminated =
                message::response_for(invite.request_headers(), 487, "Request Terminated", Some(invite.to_tag()));
            terminated.headers.push("Server", self.config.user_agent.clone());
            if invite.cancel_with(&terminated).is_ok() {
                tracing::info!("call cancelled by the caller");
            }
        }
    }

    fn on_bye(&self, stx: ServerTxHandle, req: Request) {
        let events = self.dialogs.of(&req);
        match events {
            Some(events) => {
                self.reply(stx, 200, "OK");
                let _ = events.try_send(DialogEvent::Bye);
            }
            None => self.reply(stx, 481, ""),
        }
    }

    fn on_ack(&self, ack: Request) {
        let events = self.dialogs.of(&ack);
        match events {
            Some(events) => {
                let _ = events.try_send(DialogEvent::Ack(Box::new(ack)));
            }
            None => tracing::debug!("ACK for no known dialog ignored"),
        }
    }

    /// Our address as the peer should see it on `flow`.
    pub(super) fn advertised(&self, flow: &Flow) -> String {
        let local = flow.local();
        let ip = if local.ip().is_unspecified() { self.config.rtp_ip } else { local.ip() };
        format_host_port(&ip.to_string(), Some(local.port()))
    }

    pub(super) fn contact(&self, flow: &Flow, user: &PhoneNumber) -> String {
        let transport = if flow.is_reliable() { ";transport=tcp" } else { "" };
        format!("<sip:{}@{}{transport}>", user.as_str(), self.advertised(flow))
    }
}
