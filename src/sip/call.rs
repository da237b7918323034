//! One new INVITE, from admission to its final answer (RFC 3261 §13.3.1).
//!
//! The call's task asks [`crate::admission`] whether the call is taken; a
//! [`Refusal`] is told to the caller (with its prompt as early media where it
//! has one). A taken call goes to the [`CallHandler`] once, and its decision is
//! carried out by the number's answer mode: rejected at once (missed-call mode,
//! a refusal without a prompt), the prompt played as early media in a 183 and
//! then rejected (RFC 3960), or answered with the announcement
//! ([`super::announce`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::time::sleep;
use tracing::Instrument;

use super::announce::Announcement;
use super::dialog::PLAYOUT_TAIL;
use super::endpoint::Endpoint;
use super::message::Request;
use super::offer::{Offer, OfferRefusal};
use super::transaction::ServerTxHandle;
use super::CallDecision;
use crate::admission::{Admitted, Refusal};
use crate::dialplan::{AnswerMode, Rule};
use crate::media::{self, MediaEvent, MediaTarget, Playback, RtpStream};
use crate::phone::PhoneNumber;

/// The ticket logic gets this long to decide; a caller should not ring forever
/// because a database hangs.
pub(super) const HANDLER_TIMEOUT: Duration = Duration::from_secs(20);

impl Endpoint {
    pub(super) async fn run_call(self: Arc<Self>, stx: ServerTxHandle, req: Request) {
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
        stx.set_action(call.rule.action.as_str());
        // The handler runs in its own task: if the caller cancels, the ticket logic still
        // finishes what it started, and we stop waiting for it.
        let handling = tokio::spawn(self.handler.handle(call.clone()).in_current_span());
        let decision = tokio::select! {
            r = handling => match r {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "call handler failed");
                    return self.reply(stx, 500, "");
                }
            },
            _ = stx.final_response_sent() => return,
            _ = sleep(HANDLER_TIMEOUT) => {
                tracing::error!(timeout = ?HANDLER_TIMEOUT, "call handler did not decide in time");
                return self.reject(stx, 503, "");
            }
        };
        tracing::info!(?decision, "handler decided");
        let menu = self.handler.menu(&call, &decision);
        // The call goes to the announcement by value (for its menu's handler); the
        // rule and number stay reachable through it, or through one `Arc` for the rest.
        let rule = call.rule.clone();
        let dialed = &call.dialed;
        match (rule.answer, decision) {
            (AnswerMode::MissedCall, CallDecision::Refuse { code, reason, .. }) => self.reject(stx, code, &reason),
            // Missed-call mode never answers, so the caller is not billed.
            (AnswerMode::MissedCall, CallDecision::Announce { .. }) => self.reject(stx, rule.reject_code, ""),
            // Busy (the handler's mail backlog is full): never answered, whatever the mode.
            (_, CallDecision::Refuse { code: 486, reason, prompt: Some(prompt) }) => {
                self.busy_saying(stx, offer, &rule, dialed, &prompt, &reason).await
            }
            (AnswerMode::Announce, CallDecision::Announce { prompt, then }) => {
                self.answer_and_play(stx, &req, offer, Announcement { prompt: &prompt, then: &then, menu }, call).await
            }
            (AnswerMode::Announce, CallDecision::Refuse { prompt: Some(prompt), .. }) => {
                self.answer_and_play(stx, &req, offer, Announcement { prompt: &prompt, then: &[], menu }, call).await
            }
            (AnswerMode::Announce | AnswerMode::EarlyMedia, CallDecision::Refuse { code, reason, prompt: None }) => {
                self.reject(stx, code, &reason)
            }
            (AnswerMode::EarlyMedia, CallDecision::Announce { prompt, .. }) => {
                self.early_media(stx, offer, &rule, dialed, &prompt, rule.reject_code, "").await
            }
            (AnswerMode::EarlyMedia, CallDecision::Refuse { code, reason, prompt: Some(prompt) }) => {
                self.early_media(stx, offer, &rule, dialed, &prompt, code, &reason).await
            }
        }
    }

    /// Reject with a final status, sanitizing what the handler asked for. A 503
    /// (the gateway cannot serve now, e.g. its database is unreachable) says when
    /// to try again in Retry-After (RFC 3261 §21.5.4), so a caller or a proxy in
    /// front retries instead of giving up, and Kamailio's dispatcher sees a
    /// failure it can route around.
    fn reject(&self, stx: ServerTxHandle, code: u16, reason: &str) {
        let code = if (300..=699).contains(&code) {
            code
        } else {
            tracing::warn!(code, "handler asked for a non-final or invalid status; sending 500");
            500
        };
        tracing::info!(code, reason, "call rejected");
        let mut resp = self.response(&stx, code, reason);
        if code == 503 {
            resp.headers.push("Retry-After", crate::health::RETRY_AFTER_SECS.to_string());
        }
        self.send(stx, resp);
    }

    /// Tell the caller admission's refusal: the body's 415/400/488, or the final
    /// response — after its prompt as early media where there is one (RFC 3960).
    async fn refuse(&self, stx: ServerTxHandle, refusal: Refusal) {
        let Refusal { code, reason, prompt, retry_after, body, .. } = refusal;
        if let Some(body) = body {
            return self.refuse_offer(stx, body);
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
                self.send(stx, resp)
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
            AnswerMode::MissedCall => self.reply(stx, 486, reason),
            _ if self.crowded() => self.reply(stx, 486, reason),
            AnswerMode::Announce | AnswerMode::EarlyMedia => {
                self.early_media(stx, offer, rule, dialed, prompt, 486, reason).await
            }
        }
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
                return self.reject(stx, code, reason);
            }
        };
        let Some((stx, rtp, rtp_addr)) = self.bind_rtp(stx).await else { return };
        let mut progress = self.response(&stx, 183, "Session Progress");
        progress.headers.push("Contact", self.contact(&flow, dialed));
        progress.headers.push("Content-Type", "application/sdp");
        progress.body = Bytes::from(media::answer_sdp(&offer, &negotiated, rtp_addr, media::new_session_id()));
        if stx.provisional(&progress).is_err() {
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
        self.reject(stx, code, reason);
    }

    /// Bind the call's RTP socket, and hand `stx` back with it; on failure the
    /// INVITE is answered here: 503 when every port of `rtp_ports` is taken (try
    /// again shortly), else 500.
    pub(super) async fn bind_rtp(&self, stx: ServerTxHandle) -> Option<(ServerTxHandle, UdpSocket, SocketAddr)> {
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
                let mut resp = self.response(&stx, 503, "No RTP Port Free");
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
            Ok(a) => Some((stx, rtp, a)),
            Err(e) => {
                tracing::error!(error = %e, "RTP socket has no local address");
                self.reply(stx, 500, "");
                None
            }
        }
    }

    /// 488 for an offer we cannot take (§13.3.1.1 / RFC 3264 §6), with a Warning saying why (§20.43).
    pub(super) fn not_acceptable(&self, stx: ServerTxHandle) {
        let (code, reason) = OfferRefusal::NotAcceptable.status();
        let mut resp = self.response(&stx, code, reason);
        let warning = format!("305 {} \"Incompatible media format\"", self.advertised(stx.flow()));
        resp.headers.push("Warning", warning);
        resp.headers.push("Accept", "application/sdp");
        self.send(stx, resp);
    }

    /// Answer an (re-)INVITE refused for its body (see [`super::offer`]).
    pub(super) fn refuse_offer(&self, stx: ServerTxHandle, refusal: OfferRefusal) {
        tracing::info!(?refusal, "offer refused");
        let (code, reason) = refusal.status();
        let header = match refusal {
            // §21.4.13
            OfferRefusal::UnsupportedType => ("Accept", "application/sdp"),
            OfferRefusal::UnsupportedEncoding => ("Accept-Encoding", "identity"),
            OfferRefusal::Malformed => return self.reply(stx, code, reason),
            OfferRefusal::NotAcceptable => return self.not_acceptable(stx),
        };
        let mut resp = self.response(&stx, code, reason);
        resp.headers.push(header.0, header.1);
        self.send(stx, resp);
    }
}
