//! The UAS dialog of an answered call (RFC 3261 §12, §13.3.1.4, §14.2, §15).
//!
//! A dialog is registered in the endpoint's [`Dialogs`] table before our 2xx
//! goes out, so its ACK finds it; from then on the endpoint hands it what
//! arrives inside it as [`DialogEvent`]s (ACK, BYE, INFO digits, re-INVITEs).
//! [`CallDialog`] keeps our side of it: the 2xx retransmitted until its ACK,
//! the session's SDP version and the caller's CSeq, re-INVITEs answered (hold,
//! resume, a new address; RFC 3264 §8), and our BYE at the end.
//!
//! What plays on the call ([`super::announce`]) talks to it through four
//! methods: [`CallDialog::await_ack`], [`CallDialog::event`] and
//! [`CallDialog::apply`] in its loop, then [`CallDialog::hang_up`] or
//! [`CallDialog::bye`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::sleep;

use super::endpoint::{Endpoint, ALLOW};
use super::message::{self, Headers, Method, NameAddr, OutgoingRequest, Request};
use super::offer;
use super::timers::{Retransmission, Tick};
use super::transaction::ServerTxHandle;
use super::transport::Flow;
use crate::media::{self, MediaTarget, RtpStream};
use crate::sync::lock;

/// Time for the caller's jitter buffer to play out our last packets before the BYE.
pub(super) const PLAYOUT_TAIL: std::time::Duration = std::time::Duration::from_millis(300);

/// A dialog as seen from our (UAS) side (§12.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct DialogId {
    call_id: String,
    local_tag: String,
    remote_tag: String,
}

impl DialogId {
    /// The dialog a request from the caller belongs to: our tag is its To tag (§12.2.2).
    pub(super) fn of_request(req: &Request) -> DialogId {
        DialogId {
            call_id: req.call_id.clone(),
            local_tag: req.to.tag().unwrap_or_default().to_string(),
            remote_tag: req.from.tag().unwrap_or_default().to_string(),
        }
    }

    /// The dialog our 2xx to `invite` establishes, with `local_tag` as our To tag (§12.1.1).
    fn of_invite(invite: &Request, local_tag: &str) -> DialogId {
        DialogId {
            call_id: invite.call_id.clone(),
            local_tag: local_tag.to_string(),
            remote_tag: invite.from.tag().unwrap_or_default().to_string(),
        }
    }
}

/// What the endpoint hands a call's task about its dialog.
#[derive(Debug)]
pub(super) enum DialogEvent {
    Ack(Box<Request>),
    /// The caller hung up (the BYE has been answered already).
    Bye,
    /// A key pressed, sent as SIP INFO (already answered 200).
    Digit(char),
    /// A re-INVITE for the call to answer (§14.2). Dropping the handle answers 500.
    ReInvite(ServerTxHandle, Box<Request>),
}

/// The confirmed and early dialogs, by id: where the endpoint sends what arrives in one.
#[derive(Default)]
pub(super) struct Dialogs(Mutex<HashMap<DialogId, mpsc::Sender<DialogEvent>>>);

impl Dialogs {
    pub(super) fn contains(&self, id: &DialogId) -> bool {
        lock(&self.0).contains_key(id)
    }

    /// The call task's mailbox for the dialog `req` belongs to.
    pub(super) fn of(&self, req: &Request) -> Option<mpsc::Sender<DialogEvent>> {
        lock(&self.0).get(&DialogId::of_request(req)).cloned()
    }
}

/// Removes the dialog from the table when the call ends, however it ends.
struct Registration<'a> {
    dialogs: &'a Dialogs,
    id: DialogId,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        lock(&self.dialogs.0).remove(&self.id);
    }
}

/// 500 with a random Retry-After of up to 10 s for an INVITE that arrives while
/// the previous one in the dialog has no ACK yet (§14.2).
fn previous_invite_pending(endpoint: &Endpoint, stx: ServerTxHandle) {
    let mut resp = endpoint.response(&stx, 500, "Previous INVITE Pending");
    resp.headers.push("Retry-After", rand::random_range(0..=10u32).to_string());
    endpoint.send(stx, resp);
}

/// How the wait for the ACK of our 2xx ended.
pub(super) enum AckOutcome {
    Ack(Box<Request>),
    HungUp,
    Timeout,
}

/// One turn's news from the dialog, for [`CallDialog::apply`].
pub(super) enum Event {
    Sip(Option<DialogEvent>),
    Retransmit(Tick),
}

/// What the call does after [`CallDialog::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    Continue,
    /// The caller hung up (BYE), or the endpoint let the dialog go.
    HungUp,
    /// The session is in doubt (no ACK for a re-INVITE's 2xx): end the call.
    Failed,
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

/// The pending 2xx's next retransmission or give-up; never, without one.
async fn pending_tick(pending: &mut Option<PendingAck>) -> Tick {
    match pending.as_mut() {
        Some(p) => p.schedule.tick().await,
        None => std::future::pending().await,
    }
}

/// Our side of an answered call's dialog and its session (§12, RFC 3264 §8).
pub(super) struct CallDialog<'a> {
    endpoint: &'a Endpoint,
    invite: &'a Request,
    /// The flow the INVITE came on: our BYE goes back on it.
    flow: Flow,
    local_tag: String,
    events: mpsc::Receiver<DialogEvent>,
    _registration: Registration<'a>,
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

impl<'a> CallDialog<'a> {
    /// Register the dialog `stx`'s 2xx will establish; call it before the 2xx goes
    /// out, so its ACK finds us. `session_id` and `rtp_addr` are our SDP's, `contact`
    /// our Contact.
    pub(super) fn register(
        endpoint: &'a Endpoint,
        invite: &'a Request,
        stx: &ServerTxHandle,
        session_id: u64,
        rtp_addr: SocketAddr,
        contact: String,
    ) -> Self {
        let local_tag = stx.to_tag().to_string();
        let id = DialogId::of_invite(invite, &local_tag);
        let (events_tx, events) = mpsc::channel(16);
        lock(&endpoint.dialogs.0).insert(id.clone(), events_tx);
        CallDialog {
            endpoint,
            invite,
            flow: stx.flow().clone(),
            local_tag,
            events,
            _registration: Registration { dialogs: &endpoint.dialogs, id },
            session_id,
            version: session_id,
            remote_cseq: invite.cseq.seq,
            rtp_addr,
            contact,
            pending: None,
        }
    }

    /// Retransmit the 2xx from T1 doubling to T2 until the ACK arrives; give up after
    /// 64·T1 (§13.3.1.4). The 2xx is retransmitted end to end, over any transport: a
    /// proxy may forward it over UDP. Digits sent as INFO meanwhile go to `digits`.
    pub(super) async fn await_ack(&mut self, ok: Bytes, digits: &mut Vec<char>) -> AckOutcome {
        let layer = &self.endpoint.layer;
        let mut schedule = Retransmission::start(layer.timers(), true);
        loop {
            tokio::select! {
                ev = self.events.recv() => match ev {
                    Some(DialogEvent::Ack(ack)) => return AckOutcome::Ack(ack),
                    Some(DialogEvent::Bye) | None => return AckOutcome::HungUp,
                    Some(DialogEvent::Digit(d)) => digits.push(d),
                    // §14.2: our INVITE transaction has no ACK yet; try again shortly.
                    Some(DialogEvent::ReInvite(stx, _)) => previous_invite_pending(self.endpoint, stx),
                },
                tick = schedule.tick() => match tick {
                    Tick::Resend => {
                        if let Err(e) = layer.transport().send(&self.flow, ok.clone()) {
                            tracing::debug!(error = %e, "2xx retransmission failed");
                        }
                    }
                    Tick::GiveUp => return AckOutcome::Timeout,
                },
            }
        }
    }

    /// The next thing to [`apply`](Self::apply): a request in the dialog, or the
    /// pending re-INVITE 2xx's retransmission timer.
    pub(super) async fn event(&mut self) -> Event {
        tokio::select! {
            ev = self.events.recv() => Event::Sip(ev),
            tick = pending_tick(&mut self.pending) => Event::Retransmit(tick),
        }
    }

    /// Act on `event`: an ACK completes a re-INVITE (its SDP may be the answer), a
    /// re-INVITE is answered and `stream` follows it, an INFO digit goes to
    /// `stream`, the pending 2xx is retransmitted.
    pub(super) fn apply(&mut self, event: Event, stream: &mut RtpStream<'_>) -> Control {
        match event {
            Event::Sip(Some(DialogEvent::Bye)) | Event::Sip(None) => return Control::HungUp,
            Event::Sip(Some(DialogEvent::Digit(d))) => stream.push_digit(d),
            Event::Sip(Some(DialogEvent::Ack(ack))) => self.on_ack(&ack, stream),
            Event::Sip(Some(DialogEvent::ReInvite(stx, reinvite))) => self.answer_reinvite(stream, stx, &reinvite),
            Event::Retransmit(tick) => {
                if !self.retransmit(tick) {
                    // §14.2 / §13.3.1.4: no ACK for the re-INVITE's 2xx; the session is in doubt.
                    tracing::info!("no ACK for the re-INVITE's 200 OK; ending the call");
                    return Control::Failed;
                }
            }
        }
        Control::Continue
    }

    /// End the call from our side: let the caller's jitter buffer play out, then
    /// BYE — unless the caller hangs up first.
    pub(super) async fn hang_up(mut self) {
        let tail = sleep(PLAYOUT_TAIL);
        tokio::pin!(tail);
        loop {
            tokio::select! {
                _ = &mut tail => break,
                ev = self.events.recv() => match ev {
                    Some(DialogEvent::Bye) | None => return tracing::info!("caller hung up"),
                    // Too late to change anything: refuse, the BYE follows (§14.2 allows it).
                    Some(DialogEvent::ReInvite(stx, _)) => self.endpoint.reply(stx, 488, ""),
                    Some(DialogEvent::Ack(_)) | Some(DialogEvent::Digit(_)) => {}
                }
            }
        }
        self.bye().await;
    }

    /// Hang up: BYE as a non-INVITE client transaction, waiting for its final response.
    ///
    /// It goes back on the flow the INVITE came on (the same TCP connection, or the
    /// UDP source address): that hop is what we know can reach the caller; a proxy
    /// there routes it on by the Request-URI, and a NATed phone's Contact is often
    /// unreachable directly.
    pub(super) async fn bye(self) {
        let branch = message::new_branch();
        let bye = self.build_bye(&branch);
        match self.endpoint.layer.request(&bye, &branch, &self.flow).await {
            Ok(resp) => tracing::info!(code = resp.code, "call ended with our BYE"),
            Err(e) => tracing::info!(error = %e, "our BYE got no final response"),
        }
    }

    /// Build our BYE from the dialog state the INVITE established (§12.1.1, §12.2.1.1, §15.1.1).
    fn build_bye(&self, branch: &str) -> OutgoingRequest {
        let invite = self.invite;
        // Remote target: the INVITE's Contact URI (falling back to From for peers that omit it).
        let remote_target = invite
            .header("Contact")
            .and_then(|c| message::split_outside_quotes(c, b',').into_iter().next().map(str::to_string))
            .and_then(|c| NameAddr::parse(&c).ok())
            .map(|n| n.uri.as_str().to_string())
            .unwrap_or_else(|| invite.from.uri.as_str().to_string());
        let mut h = Headers::new();
        let via =
            format!("SIP/2.0/{} {};branch={branch};rport", self.flow.transport(), self.endpoint.advertised(&self.flow));
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        // The UAS route set is the Record-Route list in order (§12.1.1).
        for rr in invite.headers.get_all("Record-Route") {
            h.push("Route", rr);
        }
        let to_value = invite.header("To").unwrap_or_default();
        h.push("From", format!("{to_value};tag={}", self.local_tag));
        h.push("To", invite.header("From").unwrap_or_default());
        h.push("Call-ID", invite.call_id.clone());
        // Our first request in the dialog; the remote has no CSeq of ours to compare with.
        h.push("CSeq", "1 BYE");
        h.push("User-Agent", self.endpoint.config.user_agent.clone());
        OutgoingRequest { method: Method::Bye, uri: remote_target, headers: h, body: Bytes::new() }
    }

    /// Retransmit the pending 2xx, or (on [`Tick::GiveUp`]) drop it: `false` once
    /// 64·T1 passed without an ACK (§13.3.1.4).
    fn retransmit(&mut self, tick: Tick) -> bool {
        let Some(p) = self.pending.as_ref() else { return true };
        if tick == Tick::GiveUp {
            self.pending = None;
            return false;
        }
        if let Err(e) = self.endpoint.layer.transport().send(&p.flow, p.bytes.clone()) {
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

    /// Answer a re-INVITE in a confirmed dialog (§14.2, RFC 3264 §8): a new offer
    /// (hold with `sendonly`/`inactive`/`c=0.0.0.0`, resume, a new address or codec)
    /// gets an answer and the stream follows it; no offer gets our offer in the 200
    /// and the answer is read from the ACK. An offer we cannot take is refused with
    /// 488 and the session stays as it was.
    fn answer_reinvite(&mut self, stream: &mut RtpStream<'_>, stx: ServerTxHandle, req: &Request) {
        let endpoint = self.endpoint;
        // §12.2.2: requests in a dialog come with increasing CSeq; an older one is out of order.
        if req.cseq.seq <= self.remote_cseq {
            return endpoint.reply(stx, 500, "CSeq Out of Order");
        }
        self.remote_cseq = req.cseq.seq;
        if self.pending.is_some() {
            // §14.2: a new INVITE while the previous one is not finished (no ACK yet).
            return previous_invite_pending(endpoint, stx);
        }
        let flow = stx.flow().clone();
        let offer = match offer::read(req) {
            Ok(o) => o,
            Err(refusal) => return endpoint.refuse_offer(stx, refusal),
        };
        let (sdp, target) = match &offer {
            Some(sd) => match media::negotiate(sd) {
                Ok(n) => {
                    self.version += 1;
                    let sdp = media::answer_sdp_version(sd, &n, self.rtp_addr, self.session_id, self.version);
                    (sdp, Some(MediaTarget::from_negotiated(&n)))
                }
                Err(e) => {
                    tracing::info!(error = %e, "re-INVITE offer refused; the session stays as it was");
                    return endpoint.not_acceptable(stx);
                }
            },
            None => {
                self.version += 1;
                (media::offer_sdp_version(self.rtp_addr, self.session_id, self.version), None)
            }
        };
        let mut ok = endpoint.response(&stx, 200, "OK");
        ok.headers.push("Contact", self.contact.clone());
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
        self.pending = Some(PendingAck {
            cseq: req.cseq.seq,
            bytes: ok.to_bytes(),
            flow,
            schedule: Retransmission::start(endpoint.layer.timers(), true),
            answer_in_ack: offer.is_none(),
        });
    }
}
