//! The call endpoint: the transaction user (RFC 3261 §8.2, §12, §13.3, §15).
//!
//! For each new INVITE it reads the dialled number, looks it up in the
//! dialplan, works out the caller ([`crate::identity`]), asks the
//! [`CallHandler`] once, and then rejects, or answers, plays the prompt over
//! RTP (with an optional DTMF menu) and hangs up with a BYE — or, in early-media
//! mode, plays the prompt in a 183 and rejects. Inside the dialog it answers
//! re-INVITEs (hold/resume), INFO (DTMF) and BYE. It also answers CANCEL,
//! OPTIONS and everything it does not implement.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, Instant};
use tracing::Instrument;

use super::message::{self, format_host_port, Headers, Message, Method, NameAddr, OutgoingRequest, Request, Response};
use super::offer::{self, Offer, OfferRefusal};
use super::tcp::{self, TcpLimits};
use super::timers::{Retransmission, Tick, Timers};
use super::transaction::{Incoming, Limits, ServerTxHandle, TransactionLayer, TxKey};
use super::transport::{self, Dispatch, Flow, Transport};
use super::{CallDecision, CallHandler, IncomingCall, Menu};
use crate::admission::{Admission, Admitted, Refusal, SourceVerdict};
use crate::dialplan::{AnswerMode, DialplanHandle, Rule};
use crate::flood::{self, Allowlist, FloodConfig, Limiter};
use crate::identity;
use crate::media::{self, Codec, MediaEvent, MediaTarget, Playback, Prompt, Prompts, RtpStream};
use crate::phone::PhoneNumber;
use crate::sync::lock;

/// Methods we implement, for Allow (§20.5) in OPTIONS and 405 responses.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO";
/// Bodies we understand (§20.1): SDP, and DTMF in INFO (the legacy, pre-RFC 6086 usage).
pub const ACCEPT: &str = "application/sdp, application/dtmf-relay, application/dtmf";

/// How long to wait for the caller's RTP when neither an offer nor an answer told us
/// where to send ours.
const LATE_ANSWER_RTP_WAIT: Duration = Duration::from_secs(2);
/// The ticket logic gets this long to decide; a caller should not ring forever
/// because a database hangs.
const HANDLER_TIMEOUT: Duration = Duration::from_secs(20);
/// Time for the caller's jitter buffer to play out our last packets before the BYE.
const PLAYOUT_TAIL: Duration = Duration::from_millis(300);

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
    let layer = TransactionLayer::new(transport.clone(), config.timers, config.limits);
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let grace = config.shutdown_grace;
    let admission =
        Admission::new(config.dialplan.clone(), config.stir.clone(), config.flood.clone(), config.ceilings.clone());
    let endpoint = Arc::new(Endpoint {
        admission,
        config,
        handler,
        layer,
        dialogs: Mutex::new(HashMap::new()),
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

/// A dialog as seen from our (UAS) side (§12.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DialogId {
    call_id: String,
    local_tag: String,
    remote_tag: String,
}

/// What the endpoint hands a call's task about its dialog.
#[derive(Debug)]
enum DialogEvent {
    Ack(Box<Request>),
    /// The caller hung up (the BYE has been answered already).
    Bye,
    /// A key pressed, sent as SIP INFO (already answered 200).
    Digit(char),
    /// A re-INVITE for the call to answer (§14.2). Dropping the handle answers 500.
    ReInvite(ServerTxHandle, Box<Request>),
}

/// What the call's media is doing.
enum Phase {
    Play(Playback),
    /// The menu's pause: waiting for a key until then.
    Listen(Instant),
}

async fn run_phase(stream: &mut RtpStream<'_>, phase: &mut Phase) -> io::Result<MediaEvent> {
    match phase {
        Phase::Play(pb) => stream.play(pb).await,
        Phase::Listen(until) => stream.listen(until.saturating_duration_since(Instant::now())).await,
    }
}

/// One turn of a call's loop.
enum Step {
    Media(io::Result<MediaEvent>),
    Sip(Option<DialogEvent>),
    Retransmit(Tick),
}

/// Our side of a confirmed dialog's session (§12, RFC 3264 §8).
struct CallDialog {
    session_id: u64,
    /// SDP `o=` version, one more for each new description we send (RFC 4566 §5.2).
    version: u64,
    /// Highest CSeq seen from the caller (§12.2.2).
    remote_cseq: u32,
    rtp_addr: SocketAddr,
    contact: String,
    /// A 2xx to a re-INVITE that waits for its ACK.
    pending: Option<PendingAck>,
}

/// A 2xx to a re-INVITE, retransmitted until its ACK (§13.3.1.4).
struct PendingAck {
    cseq: u32,
    bytes: Bytes,
    flow: Flow,
    schedule: Retransmission,
    /// We offered in the 200 (the re-INVITE had no SDP); the answer is in the ACK.
    answer_in_ack: bool,
}

impl CallDialog {
    /// The pending 2xx's next retransmission or give-up; never, without one.
    async fn tick(&mut self) -> Tick {
        match self.pending.as_mut() {
            Some(p) => p.schedule.tick().await,
            None => std::future::pending().await,
        }
    }

    /// Retransmit the pending 2xx, or (on [`Tick::GiveUp`]) drop it: `false` once
    /// 64·T1 passed without an ACK.
    fn retransmit(&mut self, tick: Tick, transport: &Transport) -> bool {
        let Some(p) = self.pending.as_ref() else { return true };
        if tick == Tick::GiveUp {
            self.pending = None;
            return false;
        }
        if let Err(e) = transport.send(&p.flow, p.bytes.clone()) {
            tracing::debug!(error = %e, "2xx retransmission failed");
        }
        true
    }

    fn on_ack(&mut self, ack: &Request, stream: &mut RtpStream<'_>) {
        let Some(p) = &self.pending else { return };
        if ack.cseq.seq != p.cseq {
            return; // a retransmitted ACK of an earlier INVITE
        }
        if p.answer_in_ack {
            let answer = media::parse_sdp(&ack.body).map_err(|e| e.to_string());
            match answer.and_then(|a| media::read_answer(&a).map_err(|e| e.to_string())) {
                Ok(n) => stream.set_target(MediaTarget::from_negotiated(&n)),
                Err(e) => tracing::info!(error = %e, "no usable answer in the re-INVITE's ACK; media unchanged"),
            }
        }
        self.pending = None;
    }
}

struct Endpoint {
    admission: Admission,
    config: SipConfig,
    handler: Arc<dyn CallHandler>,
    layer: Arc<TransactionLayer>,
    dialogs: Mutex<HashMap<DialogId, mpsc::Sender<DialogEvent>>>,
    draining: AtomicBool,
    calls_alive: Mutex<Option<mpsc::Sender<()>>>,
    active_calls: AtomicUsize,
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

/// Removes the dialog from the table when the call ends, however it ends.
struct DialogGuard<'a> {
    endpoint: &'a Endpoint,
    id: DialogId,
}

impl Drop for DialogGuard<'_> {
    fn drop(&mut self) {
        lock(&self.endpoint.dialogs).remove(&self.id);
    }
}

enum AckOutcome {
    Ack(Box<Request>),
    HungUp,
    Timeout,
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
    fn response(&self, stx: &ServerTxHandle, code: u16, reason: &str) -> Response {
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

    fn send(&self, stx: &ServerTxHandle, resp: Response) {
        if let Err(e) = stx.respond(&resp) {
            tracing::debug!(code = resp.code, error = %e, "response not sent");
        }
    }

    fn reply(&self, stx: &ServerTxHandle, code: u16, reason: &str) {
        self.send(stx, self.response(stx, code, reason));
    }

    fn on_new_request(self: &Arc<Self>, stx: ServerTxHandle, req: Request) {
        // A UAS can answer OPTIONS with Max-Forwards 0 itself (§11, §16.3 step 3); for
        // anything else 0 means the request looped or went too far.
        if req.max_forwards() == Some(0) && req.method != Method::Options {
            return self.reply(&stx, 483, "Too Many Hops");
        }
        // §8.2.2.3: we support no extensions, so any Require is refused (never for CANCEL).
        if req.method != Method::Cancel {
            if let Some(required) = req.header("Require").filter(|r| !r.trim().is_empty()) {
                let mut resp = self.response(&stx, 420, "Bad Extension");
                resp.headers.push("Unsupported", required.to_string());
                return self.send(&stx, resp);
            }
        }
        // §12.2.2: a request inside a dialog we do not have (ended, or never ours) gets 481.
        if req.to.tag().is_some()
            && req.method != Method::Cancel
            && !lock(&self.dialogs).contains_key(&Self::dialog_id(&req))
        {
            return self.reply(&stx, 481, "");
        }
        match &req.method {
            Method::Invite if req.to.tag().is_some() => self.to_dialog(stx, req),
            Method::Invite => self.on_invite(stx, req),
            Method::Cancel => self.on_cancel(stx, req),
            Method::Bye => self.on_bye(stx, req),
            Method::Info => self.on_info(stx, req),
            Method::Options => {
                // §11.2: what we would do with an INVITE, and our capabilities.
                let mut resp = self.response(&stx, 200, "OK");
                resp.headers.push("Allow", ALLOW);
                resp.headers.push("Accept", ACCEPT);
                resp.headers.push("Accept-Encoding", "identity");
                resp.headers.push("Accept-Language", "en, ja");
                // No option tags: we implement no extensions that need one (RFC 3581 rport needs none).
                resp.headers.push("Supported", "");
                self.send(&stx, resp);
            }
            Method::Ack => {} // never a new transaction
            Method::Other(_) => {
                let mut resp = self.response(&stx, 405, "Method Not Allowed");
                resp.headers.push("Allow", ALLOW);
                self.send(&stx, resp);
            }
        }
    }

    fn dialog_id(req: &Request) -> DialogId {
        DialogId {
            call_id: req.call_id.clone(),
            local_tag: req.to.tag().unwrap_or_default().to_string(),
            remote_tag: req.from.tag().unwrap_or_default().to_string(),
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
        let events = lock(&self.dialogs).get(&Self::dialog_id(&req)).cloned();
        match events {
            // If the call cannot take it now, the dropped handle answers 500.
            Some(events) => {
                let _ = events.try_send(DialogEvent::ReInvite(stx, Box::new(req)));
            }
            None => self.reply(&stx, 481, ""),
        }
    }

    /// INFO in a dialog (RFC 6086). We take DTMF from the legacy bodies every PBX
    /// sends (`application/dtmf-relay`, `application/dtmf`); an empty INFO is a
    /// keep-alive and gets 200; other bodies get 415 with what we accept.
    fn on_info(&self, stx: ServerTxHandle, req: Request) {
        let events = match req.to.tag() {
            Some(_) => lock(&self.dialogs).get(&Self::dialog_id(&req)).cloned(),
            None => None,
        };
        let Some(events) = events else {
            return self.reply(&stx, 481, ""); // INFO exists only inside a dialog (RFC 6086 §4.2.1)
        };
        if req.body.is_empty() {
            return self.reply(&stx, 200, "OK");
        }
        let content_type = req.header("Content-Type").unwrap_or_default();
        match media::dtmf_from_info(content_type, &req.body) {
            Some(digit) => {
                self.reply(&stx, 200, "OK");
                tracing::debug!(%digit, "DTMF (SIP INFO)");
                let _ = events.try_send(DialogEvent::Digit(digit));
            }
            None => {
                let mut resp = self.response(&stx, 415, "Unsupported Media Type");
                resp.headers.push("Accept", "application/dtmf-relay, application/dtmf");
                self.send(&stx, resp);
            }
        }
    }

    fn on_invite(self: &Arc<Self>, stx: ServerTxHandle, req: Request) {
        if self.draining.load(Ordering::SeqCst) {
            let mut resp = self.response(&stx, 503, "Service Unavailable");
            resp.headers.push("Retry-After", "30");
            return self.send(&stx, resp);
        }
        if self.active_calls.fetch_add(1, Ordering::Relaxed) >= self.config.max_calls {
            self.active_calls.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(max_calls = self.config.max_calls, "call limit reached; answering 503");
            let mut resp = self.response(&stx, 503, "Service Unavailable");
            resp.headers.push("Retry-After", "5");
            return self.send(&stx, resp);
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
            return self.reply(&stx, 481, "");
        };
        // §9.2: answer the CANCEL with the To tag of the INVITE's responses; if no final
        // response went out yet, the INVITE ends with 487 (whoever sends a final first wins).
        let mut ok = message::response_for(stx.request_headers(), 200, "OK", Some(invite.to_tag()));
        ok.headers.push("Server", self.config.user_agent.clone());
        self.send(&stx, ok);
        if invite.is_pending() {
            let mut terminated =
                message::response_for(invite.request_headers(), 487, "Request Terminated", Some(invite.to_tag()));
            terminated.headers.push("Server", self.config.user_agent.clone());
            if invite.respond(&terminated).is_ok() {
                tracing::info!("call cancelled by the caller");
            }
        }
    }

    fn on_bye(&self, stx: ServerTxHandle, req: Request) {
        let events = lock(&self.dialogs).get(&Self::dialog_id(&req)).cloned();
        match events {
            Some(events) => {
                self.reply(&stx, 200, "OK");
                let _ = events.try_send(DialogEvent::Bye);
            }
            None => self.reply(&stx, 481, ""),
        }
    }

    fn on_ack(&self, ack: Request) {
        let events = lock(&self.dialogs).get(&Self::dialog_id(&ack)).cloned();
        match events {
            Some(events) => {
                let _ = events.try_send(DialogEvent::Ack(Box::new(ack)));
            }
            None => tracing::debug!("ACK for no known dialog ignored"),
        }
    }

    /// Our address as the peer should see it on `flow`.
    fn advertised(&self, flow: &Flow) -> String {
        let local = flow.local();
        let ip = if local.ip().is_unspecified() { self.config.rtp_ip } else { local.ip() };
        format_host_port(&ip.to_string(), Some(local.port()))
    }

    fn contact(&self, flow: &Flow, user: &PhoneNumber) -> String {
        let transport = if flow.is_reliable() { ";transport=tcp" } else { "" };
        format!("<sip:{}@{}{transport}>", user.as_str(), self.advertised(flow))
    }

    /// Reject with a final status, sanitizing what the handler asked for.
    fn reject(&self, stx: &ServerTxHandle, code: u16, reason: &str) {
        let code = if (300..=699).contains(&code) {
            code
        } else {
            tracing::warn!(code, "handler asked for a non-final or invalid status; sending 500");
            500
        };
        tracing::info!(code, reason, "call rejected");
        self.reply(stx, code, reason);
    }

    async fn run_call(self: Arc<Self>, stx: ServerTxHandle, req: Request) {
        let mut admitted = self.admission.admit(&req, stx.flow().peer());
        let reason_header = match &mut admitted {
            Ok(a) => a.reason_header.take(),
            Err(r) => r.reason_header.take(),
        };
        if let Some(value) = reason_header {
            stx.add_sticky_header("Reason", value);
        }
        let Admitted { call, offer, .. } = match admitted {
            Ok(a) => a,
            Err(refusal) => return self.refuse(stx, refusal).await,
        };
        let (rule, dialed) = (&call.rule, &call.dialed);
        // The handler runs in its own task: if the caller cancels, the ticket logic still
        // finishes what it started, and we stop waiting for it.
        let handling = tokio::spawn(self.handler.handle(call.clone()).in_current_span());
        let decision = tokio::select! {
            r = handling => match r {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "call handler failed");
                    return self.reply(&stx, 500, "");
                }
            },
            _ = stx.final_response_sent() => return,
            _ = sleep(HANDLER_TIMEOUT) => {
                tracing::error!(timeout = ?HANDLER_TIMEOUT, "call handler did not decide in time");
                return self.reply(&stx, 503, "");
            }
        };
        tracing::info!(?decision, "handler decided");
        let menu = self.handler.menu(&call, &decision);
        let rule = rule.clone();
        match (rule.answer, decision) {
            (AnswerMode::MissedCall, CallDecision::Refuse { code, reason, .. }) => self.reject(&stx, code, &reason),
            // Missed-call mode never answers, so the caller is not billed.
            (AnswerMode::MissedCall, CallDecision::Announce { .. }) => self.reject(&stx, rule.reject_code, ""),
            // Busy (the handler's mail backlog is full): never answered, whatever the mode.
            (_, CallDecision::Refuse { code: 486, reason, prompt: Some(prompt) }) => {
                self.busy_saying(stx, offer, &rule, dialed, &prompt, &reason).await
            }
            (AnswerMode::Announce, CallDecision::Announce { prompt })
            | (AnswerMode::Announce, CallDecision::Refuse { prompt: Some(prompt), .. }) => {
                let dialed = dialed.clone();
                self.answer_and_play(stx, &req, offer, &rule, &dialed, &prompt, menu, call).await
            }
            (AnswerMode::Announce | AnswerMode::EarlyMedia, CallDecision::Refuse { code, reason, prompt: None }) => {
                self.reject(&stx, code, &reason)
            }
            (AnswerMode::EarlyMedia, CallDecision::Announce { prompt }) => {
                self.early_media(stx, offer, &rule, dialed, &prompt, rule.reject_code, "").await
            }
            (AnswerMode::EarlyMedia, CallDecision::Refuse { code, reason, prompt: Some(prompt) }) => {
                self.early_media(stx, offer, &rule, dialed, &prompt, code, &reason).await
            }
        }
    }

    /// Tell the caller admission's refusal: the body's 415/400/488, or the final
    /// response — after its prompt as early media where there is one (RFC 3960).
    async fn refuse(&self, stx: ServerTxHandle, refusal: Refusal) {
        let Refusal { code, reason, prompt, retry_after, body, .. } = refusal;
        if let Some(body) = body {
            return self.refuse_offer(&stx, body);
        }
        match prompt {
            Some(p) if !(code == 486 && self.crowded()) => {
                self.early_media(stx, p.offer, &p.rule, &p.dialed, p.name, code, reason).await
            }
            _ => {
                let mut resp = self.response(&stx, code, reason);
                if let Some(secs) = retry_after {
                    resp.headers.push("Retry-After", secs.to_string());
                }
                self.send(&stx, resp)
            }
        }
    }

    /// Busy is what a flood gets, so when the gateway is crowded (a quarter of
    /// `max_calls` in progress) a busy prompt is left out: a few seconds of RTP for
    /// each of thousands of callers a second would cost more than the calls it
    /// turns away.
    fn crowded(&self) -> bool {
        self.active_calls.load(Ordering::Relaxed) > self.config.max_calls / 4
    }

    /// "Busy, please call again" (RFC 3261 §21.4.24, 486 Busy Here) as the handler
    /// asked: never answered, so it costs the caller nothing; the prompt plays as
    /// early media unless the number is in missed-call mode or we are [crowded](Self::crowded).
    async fn busy_saying(
        &self,
        stx: ServerTxHandle,
        offer: Option<Offer>,
        rule: &Rule,
        dialed: &PhoneNumber,
        prompt: &str,
        reason: &str,
    ) {
        match rule.answer {
            AnswerMode::MissedCall => self.reply(&stx, 486, reason),
            _ if self.crowded() => self.reply(&stx, 486, reason),
            AnswerMode::Announce | AnswerMode::EarlyMedia => {
                self.early_media(stx, offer, rule, dialed, prompt, 486, reason).await
            }
        }
    }

    /// Bind the call's RTP socket; on failure the INVITE is answered here: 503 when
    /// every port of `rtp_ports` is taken (try again shortly), else 500.
    async fn bind_rtp(&self, stx: &ServerTxHandle) -> Option<(UdpSocket, SocketAddr)> {
        let rtp = match media::bind_rtp(self.config.rtp_ip, self.config.rtp_ports).await {
            Ok(s) => s,
            // Out of ports or of file descriptors (a flood, or a low `ulimit -n`): the
            // caller may try again later (RFC 3261 §21.5.4), and the log says so once a
            // second, not once a call.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse || matches!(e.raw_os_error(), Some(23 | 24)) => {
                static LOGGED_AT: AtomicU64 = AtomicU64::new(0);
                let second =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                if LOGGED_AT.swap(second, Ordering::Relaxed) != second {
                    tracing::warn!(error = %e, rtp_ip = %self.config.rtp_ip, "no RTP socket to be had: calls get 503 meanwhile");
                }
                let mut resp = self.response(stx, 503, "No RTP Port Free");
                resp.headers.push("Retry-After", "5");
                self.send(stx, resp);
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, rtp_ip = %self.config.rtp_ip, "cannot bind an RTP socket");
                self.reply(stx, 500, "");
                return None;
            }
        };
        match rtp.local_addr() {
            Ok(a) => Some((rtp, a)),
            Err(e) => {
                tracing::error!(error = %e, "RTP socket has no local address");
                self.reply(stx, 500, "");
                None
            }
        }
    }

    /// 488 for an offer we cannot take (§13.3.1.1 / RFC 3264 §6), with a Warning saying why (§20.43).
    fn not_acceptable(&self, stx: &ServerTxHandle, flow: &Flow) {
        let mut resp = self.response(stx, 488, "Not Acceptable Here");
        resp.headers.push("Warning", format!("305 {} \"Incompatible media format\"", self.advertised(flow)));
        resp.headers.push("Accept", "application/sdp");
        self.send(stx, resp);
    }

    /// Answer an (re-)INVITE refused for its body (see [`offer`]).
    fn refuse_offer(&self, stx: &ServerTxHandle, refusal: OfferRefusal) {
        tracing::info!(?refusal, "offer refused");
        match refusal {
            // §21.4.13
            OfferRefusal::UnsupportedType | OfferRefusal::UnsupportedEncoding => {
                let (code, reason) = refusal.status();
                let mut resp = self.response(stx, code, reason);
                match refusal {
                    OfferRefusal::UnsupportedEncoding => resp.headers.push("Accept-Encoding", "identity"),
                    _ => resp.headers.push("Accept", "application/sdp"),
                }
                self.send(stx, resp);
            }
            OfferRefusal::Malformed => {
                let (code, reason) = refusal.status();
                self.reply(stx, code, reason)
            }
            OfferRefusal::NotAcceptable => self.not_acceptable(stx, stx.flow()),
        }
    }

    /// 180, 200 with SDP, wait for the ACK, play the prompt (and the menu), BYE
    /// (§13.3.1, §15.1.1). In between, the dialog answers re-INVITEs (hold, resume,
    /// new address; §14.2), takes digits from RTP and INFO, and stops when the caller
    /// hangs up.
    /// `offer` was checked before the handler ran ([`offer::check`]); `None` is a late offer.
    #[allow(clippy::too_many_arguments)]
    async fn answer_and_play(
        &self,
        stx: ServerTxHandle,
        req: &Request,
        offer: Option<Offer>,
        rule: &Rule,
        dialed: &PhoneNumber,
        prompt_name: &str,
        menu: Option<Menu>,
        call: IncomingCall,
    ) {
        let flow = stx.flow().clone();
        let Some((rtp, rtp_addr)) = self.bind_rtp(&stx).await else { return };
        let session_id = media::new_session_id();
        let local_sdp = match &offer {
            Some((o, n)) => media::answer_sdp(o, n, rtp_addr, session_id),
            None => media::offer_sdp(rtp_addr, session_id),
        };
        let negotiated = offer.map(|(_, n)| n);

        // Register the dialog before the 200 goes out, so its ACK finds us.
        let local_tag = stx.to_tag().to_string();
        let id = Self::dialog_id_for_uas(req, &local_tag);
        let (events_tx, mut events) = mpsc::channel(16);
        lock(&self.dialogs).insert(id.clone(), events_tx);
        let _dialog = DialogGuard { endpoint: self, id };

        let contact = self.contact(&flow, dialed);
        let mut ringing = self.response(&stx, 180, "Ringing");
        ringing.headers.push("Contact", contact.clone());
        if stx.respond(&ringing).is_err() {
            return; // cancelled meanwhile
        }
        let mut ok = self.response(&stx, 200, "OK");
        ok.headers.push("Contact", contact.clone());
        ok.headers.push("Allow", ALLOW);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = Bytes::from(local_sdp);
        if stx.respond(&ok).is_err() {
            return;
        }
        tracing::info!(rtp = %rtp_addr, codec = ?negotiated.as_ref().map(|n| n.codec), "call answered");

        let mut early_digits = Vec::new();
        let ack = match self.await_ack(&flow, ok.to_bytes(), &mut events, &mut early_digits).await {
            AckOutcome::Ack(ack) => ack,
            AckOutcome::HungUp => return tracing::info!("caller hung up before the ACK"),
            AckOutcome::Timeout => {
                tracing::info!("no ACK for our 200 OK; ending the call");
                return self.send_bye(req, &flow, &local_tag).await;
            }
        };

        // Late offer: the answer, if any, is in the ACK (§13.2.1).
        let negotiated = negotiated.or_else(|| {
            let answer = media::parse_sdp(&ack.body).ok()?;
            match media::read_answer(&answer) {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::info!(error = %e, "unusable SDP answer in the ACK");
                    None
                }
            }
        });
        let target = match &negotiated {
            Some(n) => MediaTarget::from_negotiated(n),
            // No answer at all: PCMU (first in our offer) to wherever the caller's RTP comes from.
            None => MediaTarget {
                dest: None,
                codec: Codec::Pcmu,
                send: true,
                telephone_event: Some(media::OUR_TELEPHONE_EVENT_PT),
            },
        };
        if !target.send {
            tracing::info!("the caller does not want our media; hanging up");
            return self.send_bye(req, &flow, &local_tag).await;
        }
        let mut stream = RtpStream::new(&rtp, target);
        if target.dest.is_none() {
            // c=0.0.0.0 (RFC 2543 hold) or no answer: only the caller's own RTP can tell us.
            match media::wait_for_rtp(&rtp, LATE_ANSWER_RTP_WAIT).await {
                Some(from) => stream.set_target(MediaTarget { dest: Some(from), ..target }),
                None => {
                    tracing::info!("nowhere to send the announcement; hanging up");
                    return self.send_bye(req, &flow, &local_tag).await;
                }
            }
        }
        for d in early_digits {
            stream.push_digit(d);
        }

        let mut dialog =
            CallDialog { session_id, version: session_id, remote_cseq: req.cseq.seq, rtp_addr, contact, pending: None };
        let prompts = &self.config.prompts;
        let lang = rule.language.as_str();
        let mut queue: VecDeque<Arc<Prompt>> = VecDeque::from([prompts.get_or_tone(lang, prompt_name)]);
        // A menu is offered only if its prompt exists: a tone cannot tell the caller what to press.
        let menu = menu.filter(|m| match prompts.get(lang, &m.prompt) {
            Some(p) => {
                queue.push_back(p);
                true
            }
            None => {
                tracing::warn!(prompt = %m.prompt, lang, "menu prompt missing; no menu offered");
                false
            }
        });
        let mut menu_open = menu.is_some();
        let mut waited = false;
        let mut phase = match queue.pop_front() {
            Some(p) => Phase::Play(Playback::new(p)),
            None => Phase::Listen(Instant::now()),
        };
        let hung_up = loop {
            let step = tokio::select! {
                r = run_phase(&mut stream, &mut phase) => Step::Media(r),
                ev = events.recv() => Step::Sip(ev),
                tick = dialog.tick() => Step::Retransmit(tick),
            };
            match step {
                Step::Media(Ok(MediaEvent::Finished)) => {
                    if let Phase::Play(pb) = &phase {
                        let stats = stream.stats();
                        // late_max_us: how late the worst packet left against its 20 ms slot (pacing).
                        let late_max_us = u64::try_from(stream.max_lateness().as_micros()).unwrap_or(u64::MAX);
                        tracing::info!(prompt = pb.prompt().name(), packets = stats.packets, to = %stats.sent_to, latched = stats.latched, late_max_us, "announcement played");
                    }
                    phase = match queue.pop_front() {
                        Some(p) => Phase::Play(Playback::new(p)),
                        None if menu_open && !waited => {
                            waited = true;
                            Phase::Listen(Instant::now() + self.config.menu_wait)
                        }
                        None => break false,
                    };
                }
                Step::Media(Ok(MediaEvent::Digit(digit))) => {
                    let offered = menu.as_ref().is_some_and(|m| m.digits.contains(digit));
                    if !(menu_open && offered) {
                        tracing::debug!(%digit, "digit ignored (not in the menu)");
                        continue;
                    }
                    // One menu choice per call: a caller leaning on "1" gets one more mail, not ten.
                    menu_open = false;
                    tracing::info!(%digit, "menu choice");
                    match tokio::time::timeout(HANDLER_TIMEOUT, self.handler.on_digit(call.clone(), digit)).await {
                        Ok(Some(reply)) => {
                            queue.clear();
                            phase = Phase::Play(Playback::new(prompts.get_or_tone(lang, &reply)));
                        }
                        Ok(None) => {}
                        Err(_) => tracing::error!("menu handler did not answer in time"),
                    }
                }
                Step::Media(Err(e)) => {
                    tracing::warn!(error = %e, "RTP send failed; ending the call");
                    break false;
                }
                Step::Sip(Some(DialogEvent::Bye)) | Step::Sip(None) => break true,
                Step::Sip(Some(DialogEvent::Digit(d))) => stream.push_digit(d),
                Step::Sip(Some(DialogEvent::Ack(ack))) => dialog.on_ack(&ack, &mut stream),
                Step::Sip(Some(DialogEvent::ReInvite(stx, reinvite))) => {
                    self.answer_reinvite(&mut dialog, &mut stream, stx, &reinvite)
                }
                Step::Retransmit(tick) => {
                    if !dialog.retransmit(tick, self.layer.transport()) {
                        // §14.2 / §13.3.1.4: no ACK for the re-INVITE's 2xx; the session is in doubt.
                        tracing::info!("no ACK for the re-INVITE's 200 OK; ending the call");
                        break false;
                    }
                }
            }
        };
        if hung_up {
            return tracing::info!("caller hung up during the announcement");
        }
        let tail = sleep(PLAYOUT_TAIL);
        tokio::pin!(tail);
        loop {
            tokio::select! {
                _ = &mut tail => break,
                ev = events.recv() => match ev {
                    Some(DialogEvent::Bye) | None => return tracing::info!("caller hung up"),
                    // Too late to change anything: refuse, the BYE follows (§14.2 allows it).
                    Some(DialogEvent::ReInvite(stx, _)) => self.reply(&stx, 488, ""),
                    Some(DialogEvent::Ack(_)) | Some(DialogEvent::Digit(_)) => {}
                }
            }
        }
        self.send_bye(req, &flow, &local_tag).await;
    }

    /// Answer a re-INVITE in a confirmed dialog (§14.2, RFC 3264 §8): a new offer
    /// (hold with `sendonly`/`inactive`/`c=0.0.0.0`, resume, a new address or codec)
    /// gets an answer and the stream follows it; no offer gets our offer in the 200
    /// and the answer is read from the ACK. An offer we cannot take is refused with
    /// 488 and the session stays as it was.
    fn answer_reinvite(&self, dialog: &mut CallDialog, stream: &mut RtpStream<'_>, stx: ServerTxHandle, req: &Request) {
        // §12.2.2: requests in a dialog come with increasing CSeq; an older one is out of order.
        if req.cseq.seq <= dialog.remote_cseq {
            return self.reply(&stx, 500, "CSeq Out of Order");
        }
        dialog.remote_cseq = req.cseq.seq;
        if dialog.pending.is_some() {
            // §14.2: a new INVITE while the previous one is not finished (no ACK yet).
            let mut resp = self.response(&stx, 500, "Previous INVITE Pending");
            resp.headers.push("Retry-After", rand::random_range(0..=10u32).to_string());
            return self.send(&stx, resp);
        }
        let flow = stx.flow().clone();
        let offer = match offer::read(req) {
            Ok(o) => o,
            Err(refusal) => return self.refuse_offer(&stx, refusal),
        };
        let (sdp, target) = match &offer {
            Some(sd) => match media::negotiate(sd) {
                Ok(n) => {
                    dialog.version += 1;
                    let sdp = media::answer_sdp_version(sd, &n, dialog.rtp_addr, dialog.session_id, dialog.version);
                    (sdp, Some(MediaTarget::from_negotiated(&n)))
                }
                Err(e) => {
                    tracing::info!(error = %e, "re-INVITE offer refused; the session stays as it was");
                    return self.not_acceptable(&stx, &flow);
                }
            },
            None => {
                dialog.version += 1;
                (media::offer_sdp_version(dialog.rtp_addr, dialog.session_id, dialog.version), None)
            }
        };
        let mut ok = self.response(&stx, 200, "OK");
        ok.headers.push("Contact", dialog.contact.clone());
        ok.headers.push("Allow", ALLOW);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = Bytes::from(sdp);
        if stx.respond(&ok).is_err() {
            return;
        }
        if let Some(t) = target {
            tracing::info!(dest = ?t.dest, send = t.send, codec = ?t.codec, "re-INVITE: media updated");
            stream.set_target(t);
        }
        dialog.pending = Some(PendingAck {
            cseq: req.cseq.seq,
            bytes: ok.to_bytes(),
            flow,
            schedule: Retransmission::start(self.layer.timers(), true),
            answer_in_ack: offer.is_none(),
        });
    }

    /// Early media (RFC 3960, RFC 3261 §13.3.1.1): 183 with an SDP answer, the
    /// announcement, then the final rejection. Nothing is answered, so nothing is
    /// billed. A CANCEL (which sends 487) stops it. Without an offer in the INVITE
    /// there is no unreliable way to give one (§13.2.1 needs 100rel, RFC 3262), so the
    /// call is rejected at once; so it is when the offer does not want our media.
    #[allow(clippy::too_many_arguments)]
    async fn early_media(
        &self,
        stx: ServerTxHandle,
        offer: Option<Offer>,
        rule: &Rule,
        dialed: &PhoneNumber,
        prompt_name: &str,
        code: u16,
        reason: &str,
    ) {
        let flow = stx.flow().clone();
        let (offer, negotiated) = match offer {
            Some((o, n)) if n.direction.can_send() => (o, n),
            Some(_) | None => {
                tracing::info!("no offer to send early media to; rejecting at once");
                return self.reject(&stx, code, reason);
            }
        };
        let Some((rtp, rtp_addr)) = self.bind_rtp(&stx).await else { return };
        let mut progress = self.response(&stx, 183, "Session Progress");
        progress.headers.push("Contact", self.contact(&flow, dialed));
        progress.headers.push("Content-Type", "application/sdp");
        progress.body = Bytes::from(media::answer_sdp(&offer, &negotiated, rtp_addr, media::new_session_id()));
        if stx.respond(&progress).is_err() {
            return; // cancelled meanwhile
        }
        tracing::info!(rtp = %rtp_addr, codec = ?negotiated.codec, "early media");
        let mut stream = RtpStream::new(&rtp, MediaTarget::from_negotiated(&negotiated));
        let mut playback = Playback::new(self.config.prompts.get_or_tone(&rule.language, prompt_name));
        let cancelled = loop {
            tokio::select! {
                r = stream.play(&mut playback) => match r {
                    Ok(MediaEvent::Finished) => break false,
                    Ok(MediaEvent::Digit(_)) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "RTP send failed");
                        break false;
                    }
                },
                _ = stx.final_response_sent() => break true,
            }
        };
        if cancelled {
            return tracing::info!("caller cancelled during early media");
        }
        tokio::select! {
            _ = sleep(PLAYOUT_TAIL) => {}
            _ = stx.final_response_sent() => return,
        }
        self.reject(&stx, code, reason);
    }

    fn dialog_id_for_uas(invite: &Request, local_tag: &str) -> DialogId {
        DialogId {
            call_id: invite.call_id.clone(),
            local_tag: local_tag.to_string(),
            remote_tag: invite.from.tag().unwrap_or_default().to_string(),
        }
    }

    /// Retransmit the 2xx from T1 doubling to T2 until the ACK arrives; give up after
    /// 64·T1 (§13.3.1.4). The 2xx is retransmitted end to end, over any transport: a
    /// proxy may forward it over UDP.
    async fn await_ack(
        &self,
        flow: &Flow,
        ok: Bytes,
        events: &mut mpsc::Receiver<DialogEvent>,
        digits: &mut Vec<char>,
    ) -> AckOutcome {
        let mut schedule = Retransmission::start(self.layer.timers(), true);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(DialogEvent::Ack(ack)) => return AckOutcome::Ack(ack),
                    Some(DialogEvent::Bye) | None => return AckOutcome::HungUp,
                    Some(DialogEvent::Digit(d)) => digits.push(d),
                    // §14.2: our INVITE transaction has no ACK yet; try again shortly.
                    Some(DialogEvent::ReInvite(stx, _)) => {
                        let mut resp = self.response(&stx, 500, "Previous INVITE Pending");
                        resp.headers.push("Retry-After", rand::random_range(0..=10u32).to_string());
                        self.send(&stx, resp);
                    }
                },
                tick = schedule.tick() => match tick {
                    Tick::Resend => {
                        if let Err(e) = self.layer.transport().send(flow, ok.clone()) {
                            tracing::debug!(error = %e, "2xx retransmission failed");
                        }
                    }
                    Tick::GiveUp => return AckOutcome::Timeout,
                },
            }
        }
    }

    /// Build our BYE from the dialog state the INVITE established (§12.1.1, §12.2.1.1, §15.1.1).
    fn build_bye(&self, invite: &Request, flow: &Flow, local_tag: &str, branch: &str) -> OutgoingRequest {
        // Remote target: the INVITE's Contact URI (falling back to From for peers that omit it).
        let remote_target = invite
            .header("Contact")
            .and_then(|c| message::split_outside_quotes(c, b',').into_iter().next().map(str::to_string))
            .and_then(|c| NameAddr::parse(&c).ok())
            .map(|n| n.uri.as_str().to_string())
            .unwrap_or_else(|| invite.from.uri.as_str().to_string());
        let mut h = Headers::new();
        h.push("Via", format!("SIP/2.0/{} {};branch={branch};rport", flow.transport(), self.advertised(flow)));
        h.push("Max-Forwards", "70");
        // The UAS route set is the Record-Route list in order (§12.1.1).
        for rr in invite.headers.get_all("Record-Route") {
            h.push("Route", rr);
        }
        let to_value = invite.header("To").unwrap_or_default();
        h.push("From", format!("{to_value};tag={local_tag}"));
        h.push("To", invite.header("From").unwrap_or_default());
        h.push("Call-ID", invite.call_id.clone());
        // Our first request in the dialog; the remote has no CSeq of ours to compare with.
        h.push("CSeq", "1 BYE");
        h.push("User-Agent", self.config.user_agent.clone());
        OutgoingRequest { method: Method::Bye, uri: remote_target, headers: h, body: Bytes::new() }
    }

    /// Hang up: BYE as a non-INVITE client transaction, waiting for its final response.
    ///
    /// It goes back on the flow the INVITE came on (the same TCP connection, or the
    /// UDP source address): that hop is what we know can reach the caller; a proxy
    /// there routes it on by the Request-URI, and a NATed phone's Contact is often
    /// unreachable directly.
    async fn send_bye(&self, invite: &Request, flow: &Flow, local_tag: &str) {
        let branch = message::new_branch();
        let bye = self.build_bye(invite, flow, local_tag, &branch);
        match self.layer.request(&bye, &branch, flow).await {
            Ok(resp) => tracing::info!(code = resp.code, "call ended with our BYE"),
            Err(e) => tracing::info!(error = %e, "our BYE got no final response"),
        }
    }
}
