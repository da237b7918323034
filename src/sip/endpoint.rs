//! The call endpoint: the transaction user (RFC 3261 §8.2, §12, §13.3, §15).
//!
//! For each new INVITE it reads the dialled number, looks it up in the
//! dialplan, works out the caller ([`crate::identity`]), asks the
//! [`CallHandler`] once, and then rejects, or answers, plays the prompt over
//! RTP and hangs up with a BYE. It also answers CANCEL, BYE, OPTIONS and
//! everything it does not implement.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, sleep_until, Instant};
use tracing::Instrument;

use super::message::{self, format_host_port, Headers, Message, Method, NameAddr, OutgoingRequest, Request, Response};
use super::transaction::{Incoming, ServerTxHandle, Timers, TransactionLayer, TxKey};
use super::transport::{self, Dispatch, Flow, Transport};
use super::{CallDecision, CallHandler, IncomingCall};
use crate::dialplan::{AnswerMode, DialplanHandle, Rule};
use crate::identity::{self, IdentityError};
use crate::media::{self, Codec, Prompts, SessionDescription};
use crate::phone::PhoneNumber;

/// Methods we implement, for Allow (§20.5) in OPTIONS and 405 responses.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS";

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
    /// Sent as `Server` in responses and `User-Agent` in requests.
    pub user_agent: String,
    /// RFC 3261 T1/T2/T4 (defaults 500 ms / 4 s / 5 s).
    pub timers: Timers,
    /// After shutdown starts, how long calls in progress may run on.
    pub shutdown_grace: Duration,
}

impl SipConfig {
    pub fn new(dialplan: DialplanHandle, prompts: Arc<Prompts>, rtp_ip: IpAddr) -> Self {
        SipConfig {
            dialplan,
            prompts,
            rtp_ip,
            user_agent: format!("dialticket/{}", env!("CARGO_PKG_VERSION")),
            timers: Timers::default(),
            shutdown_grace: Duration::from_secs(10),
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
    let udp = Arc::new(udp);
    tracing::info!(udp = %udp.local_addr()?, tcp = %tcp.local_addr()?, "SIP endpoint listening");
    let transport = Arc::new(Transport::new(udp.clone()));
    let layer = TransactionLayer::new(transport.clone(), config.timers);
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let grace = config.shutdown_grace;
    let endpoint = Arc::new(Endpoint {
        config,
        handler,
        layer,
        dialogs: Mutex::new(HashMap::new()),
        draining: AtomicBool::new(false),
        calls_alive: Mutex::new(Some(alive_tx)),
    });
    let dispatch: Arc<dyn Dispatch> = Arc::new(Dispatcher(endpoint.clone()));
    let (stop_udp, stop_udp_rx) = watch::channel(false);
    let (stop_accept, stop_accept_rx) = watch::channel(false);
    let udp_task = tokio::spawn(transport::run_udp(udp, transport.clone(), dispatch.clone(), stop_udp_rx));
    let tcp_task = tokio::spawn(transport::run_tcp(tcp, transport, dispatch, stop_accept_rx));

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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A dialog as seen from our (UAS) side (§12.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DialogId {
    call_id: String,
    local_tag: String,
    remote_tag: String,
}

#[derive(Debug)]
enum DialogEvent {
    Ack(Box<Request>),
    /// The caller hung up (the BYE has been answered already).
    Bye,
}

struct Endpoint {
    config: SipConfig,
    handler: Arc<dyn CallHandler>,
    layer: Arc<TransactionLayer>,
    dialogs: Mutex<HashMap<DialogId, mpsc::Sender<DialogEvent>>>,
    draining: AtomicBool,
    calls_alive: Mutex<Option<mpsc::Sender<()>>>,
}

struct Dispatcher(Arc<Endpoint>);

impl Dispatch for Dispatcher {
    fn dispatch(&self, msg: Message, flow: Flow) {
        self.0.on_message(msg, flow);
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
                match self.layer.on_request(req, flow) {
                    Incoming::Absorbed => {}
                    Incoming::Ack(ack) => self.on_ack(ack),
                    Incoming::New(stx, req) => self.on_new_request(stx, req),
                }
            }
        }
    }

    /// A response to `stx`'s request, with our To tag and Server header.
    fn response(&self, stx: &ServerTxHandle, code: u16, reason: &str) -> Response {
        let mut resp = message::response_for(stx.request_headers(), code, reason, Some(stx.to_tag()));
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
            Method::Invite => self.on_invite(stx, req),
            Method::Cancel => self.on_cancel(stx, req),
            Method::Bye => self.on_bye(stx, req),
            Method::Options => {
                let mut resp = self.response(&stx, 200, "OK");
                resp.headers.push("Allow", ALLOW);
                resp.headers.push("Accept", "application/sdp");
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

    fn on_invite(self: &Arc<Self>, stx: ServerTxHandle, req: Request) {
        if req.to.tag().is_some() {
            // A re-INVITE in one of our dialogs: the announcement keeps its session as it
            // is (§14.2 allows refusing a re-INVITE; the dialog goes on).
            return self.reply(&stx, 488, "Not Acceptable Here");
        }
        if self.draining.load(Ordering::SeqCst) {
            let mut resp = self.response(&stx, 503, "Service Unavailable");
            resp.headers.push("Retry-After", "30");
            return self.send(&stx, resp);
        }
        let alive = lock(&self.calls_alive).clone();
        let span = tracing::info_span!("call", call_id = %req.call_id);
        let endpoint = self.clone();
        tokio::spawn(
            async move {
                let _alive = alive;
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
        let flow = stx.flow().clone();
        let dialplan = self.config.dialplan.borrow().clone();
        // The dialled number is the Request-URI user part (for tel: URIs the number itself),
        // without telephone-subscriber parameters.
        let dialed = req
            .uri
            .user
            .as_deref()
            .map(|u| u.split(';').next().unwrap_or_default())
            .and_then(|u| PhoneNumber::normalize(u, dialplan.country_code.as_deref()).ok());
        let Some(dialed) = dialed else {
            tracing::info!(uri = %req.uri, "Request-URI has no dialable number");
            return self.reply(&stx, 404, "Not Found");
        };
        let Some(rule) = dialplan.lookup(&dialed) else {
            tracing::info!(%dialed, "number not in the dialplan");
            return self.reply(&stx, 404, "Not Found");
        };
        let caller = match identity::caller_identity(&req.to_rsip(), flow.peer().ip(), &dialplan) {
            Ok(c) => c,
            Err(IdentityError::Anonymous) => {
                tracing::info!(%dialed, "anonymous caller refused");
                return self.reply(&stx, 433, "Anonymity Disallowed");
            }
            Err(IdentityError::Unusable(why)) => {
                tracing::info!(%dialed, why, "caller number unusable");
                return self.reply(&stx, 403, "Caller number unusable");
            }
        };
        tracing::info!(%dialed, caller = %caller.number, trusted = caller.trusted, action = ?rule.action, "incoming call");
        let call = IncomingCall {
            call_id: req.call_id.clone(),
            cseq: req.cseq.seq,
            dialed: dialed.clone(),
            caller,
            source: flow.peer(),
            rule: rule.clone(),
        };
        // The handler runs in its own task: if the caller cancels, the ticket logic still
        // finishes what it started, and we stop waiting for it.
        let handling = tokio::spawn(self.handler.handle(call).in_current_span());
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
        match (rule.answer, decision) {
            (AnswerMode::MissedCall, CallDecision::Refuse { code, reason, .. }) => self.reject(&stx, code, &reason),
            // Missed-call mode never answers, so the caller is not billed.
            (AnswerMode::MissedCall, CallDecision::Announce { .. }) => self.reject(&stx, rule.reject_code, ""),
            (AnswerMode::Announce, CallDecision::Announce { prompt })
            | (AnswerMode::Announce, CallDecision::Refuse { prompt: Some(prompt), .. }) => {
                self.answer_and_play(stx, &req, &rule, &dialed, &prompt).await
            }
            (AnswerMode::Announce, CallDecision::Refuse { code, reason, prompt: None }) => {
                self.reject(&stx, code, &reason)
            }
        }
    }

    /// 180, 200 with SDP, wait for the ACK, play the prompt, BYE (§13.3.1, §15.1.1).
    async fn answer_and_play(
        &self,
        stx: ServerTxHandle,
        req: &Request,
        rule: &Rule,
        dialed: &PhoneNumber,
        prompt_name: &str,
    ) {
        let flow = stx.flow().clone();
        let offer = match self.read_offer(&stx, req) {
            Ok(o) => o,
            Err(()) => return,
        };
        let negotiated = match &offer {
            Some(sd) => match media::negotiate(sd) {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::info!(error = %e, "no acceptable media in the offer");
                    let mut resp = self.response(&stx, 488, "Not Acceptable Here");
                    resp.headers
                        .push("Warning", format!("305 {} \"Incompatible media format\"", self.advertised(&flow)));
                    resp.headers.push("Accept", "application/sdp");
                    return self.send(&stx, resp);
                }
            },
            None => None,
        };
        let rtp = match UdpSocket::bind((self.config.rtp_ip, 0)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, rtp_ip = %self.config.rtp_ip, "cannot bind an RTP socket");
                return self.reply(&stx, 500, "");
            }
        };
        let rtp_addr = match rtp.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "RTP socket has no local address");
                return self.reply(&stx, 500, "");
            }
        };
        let session_id = media::new_session_id();
        let local_sdp = match (&offer, &negotiated) {
            (Some(o), Some(n)) => media::answer_sdp(o, n, rtp_addr, session_id),
            _ => media::offer_sdp(rtp_addr, session_id),
        };

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
        ok.headers.push("Contact", contact);
        ok.headers.push("Allow", ALLOW);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = Bytes::from(local_sdp);
        if stx.respond(&ok).is_err() {
            return;
        }
        tracing::info!(rtp = %rtp_addr, codec = ?negotiated.as_ref().map(|n| n.codec), "call answered");

        let ack = match self.await_ack(&flow, ok.to_bytes(), &mut events).await {
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
            // c=0.0.0.0 (RFC 2543 hold) gives no address: only the caller's own RTP can.
            Some(n) if n.direction.can_send() && n.remote.ip().is_unspecified() => {
                media::wait_for_rtp(&rtp, LATE_ANSWER_RTP_WAIT).await.map(|from| (n.codec, from))
            }
            Some(n) if n.direction.can_send() => Some((n.codec, n.remote)),
            Some(_) => None,
            None => media::wait_for_rtp(&rtp, LATE_ANSWER_RTP_WAIT).await.map(|from| (Codec::Pcmu, from)),
        };
        let Some((codec, dest)) = target else {
            tracing::info!("nowhere to send the announcement; hanging up");
            return self.send_bye(req, &flow, &local_tag).await;
        };

        let prompt = self.config.prompts.get_or_tone(&rule.language, prompt_name);
        let play = media::play(&rtp, dest, &prompt, codec);
        tokio::pin!(play);
        let hung_up = loop {
            tokio::select! {
                r = &mut play => {
                    match r {
                        Ok(stats) => tracing::info!(prompt = prompt_name, packets = stats.packets, to = %stats.sent_to, latched = stats.latched, "announcement played"),
                        Err(e) => tracing::warn!(error = %e, "RTP send failed"),
                    }
                    break false;
                }
                ev = events.recv() => match ev {
                    Some(DialogEvent::Bye) | None => break true,
                    Some(DialogEvent::Ack(_)) => {} // a retransmitted ACK
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
                    Some(DialogEvent::Ack(_)) => {}
                }
            }
        }
        self.send_bye(req, &flow, &local_tag).await;
    }

    fn dialog_id_for_uas(invite: &Request, local_tag: &str) -> DialogId {
        DialogId {
            call_id: invite.call_id.clone(),
            local_tag: local_tag.to_string(),
            remote_tag: invite.from.tag().unwrap_or_default().to_string(),
        }
    }

    /// The INVITE's SDP offer, if it has one. `Err` means a response was sent.
    fn read_offer(&self, stx: &ServerTxHandle, req: &Request) -> Result<Option<SessionDescription>, ()> {
        if req.body.is_empty() {
            return Ok(None);
        }
        let content_type =
            req.header("Content-Type").map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        if content_type.as_deref().is_some_and(|c| c != "application/sdp") {
            // §21.4.13
            let mut resp = self.response(stx, 415, "Unsupported Media Type");
            resp.headers.push("Accept", "application/sdp");
            self.send(stx, resp);
            return Err(());
        }
        match media::parse_sdp(&req.body) {
            Ok(sd) => Ok(Some(sd)),
            Err(e) => {
                tracing::info!(error = %e, "malformed SDP offer");
                self.reply(stx, 400, "Malformed SDP");
                Err(())
            }
        }
    }

    /// Retransmit the 2xx from T1 doubling to T2 until the ACK arrives; give up after
    /// 64·T1 (§13.3.1.4). The 2xx is retransmitted end to end, over any transport: a
    /// proxy may forward it over UDP.
    async fn await_ack(&self, flow: &Flow, ok: Bytes, events: &mut mpsc::Receiver<DialogEvent>) -> AckOutcome {
        let t = self.layer.timers();
        let give_up = Instant::now() + t.timeout();
        let mut interval = t.t1;
        let mut next = Instant::now() + interval;
        loop {
            tokio::select! {
                ev = events.recv() => return match ev {
                    Some(DialogEvent::Ack(ack)) => AckOutcome::Ack(ack),
                    Some(DialogEvent::Bye) | None => AckOutcome::HungUp,
                },
                _ = sleep_until(next) => {
                    if let Err(e) = self.layer.transport().send(flow, ok.clone()) {
                        tracing::debug!(error = %e, "2xx retransmission failed");
                    }
                    interval = (interval * 2).min(t.t2);
                    next = Instant::now() + interval;
                }
                _ = sleep_until(give_up) => return AckOutcome::Timeout,
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
