//! An answered call: 180, 200 with SDP, the ACK, the announcement over RTP with
//! an optional DTMF [`Menu`], then our BYE (RFC 3261 §13.3.1, §15.1.1).
//!
//! The dialog ([`CallDialog`]) answers what comes in the meantime (re-INVITEs,
//! INFO digits, BYE; §14.2); this file only asks it for its next event, lets it
//! act on it, and hangs up through it.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::call::HANDLER_TIMEOUT;
use super::dialog::{AckOutcome, CallDialog, Control, Event};
use super::endpoint::{Endpoint, ALLOW};
use super::message::Request;
use super::offer::Offer;
use super::transaction::ServerTxHandle;
use super::{IncomingCall, Menu};
use crate::media::{self, Codec, MediaEvent, MediaTarget, Playback, Prompt, RtpStream};

/// How long to wait for the caller's RTP when neither an offer nor an answer told us
/// where to send ours.
const LATE_ANSWER_RTP_WAIT: Duration = Duration::from_secs(2);

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
    Dialog(Event),
}

/// What an answered call hears: a prompt, its parts, and the menu after them.
pub(super) struct Announcement<'a> {
    pub prompt: &'a str,
    pub then: &'a [String],
    pub menu: Option<Menu>,
}

impl Endpoint {
    /// 180, 200 with SDP, wait for the ACK, play the prompt (and the menu), BYE
    /// (§13.3.1, §15.1.1). In between, the dialog answers re-INVITEs (hold, resume,
    /// new address; §14.2), takes digits from RTP and INFO, and stops when the caller
    /// hangs up.
    /// `offer` was checked before the handler ran (see [`crate::admission`]); `None`
    /// is a late offer.
    pub(super) async fn answer_and_play(
        &self,
        stx: ServerTxHandle,
        req: &Request,
        offer: Option<Offer>,
        announcement: Announcement<'_>,
        call: IncomingCall,
    ) {
        let flow = stx.flow().clone();
        let Some((stx, rtp, rtp_addr)) = self.bind_rtp(stx).await else { return };
        let session_id = media::new_session_id();
        let local_sdp = match &offer {
            Some((o, n)) => media::answer_sdp(o, n, rtp_addr, session_id),
            None => media::offer_sdp(rtp_addr, session_id),
        };
        let negotiated = offer.map(|(_, n)| n);

        let contact = self.contact(&flow, &call.dialed);
        // Registered before the 200 goes out, so its ACK finds us.
        let mut dialog = CallDialog::register(self, req, &stx, session_id, rtp_addr, contact.clone());
        let mut ringing = self.response(&stx, 180, "Ringing");
        ringing.headers.push("Contact", contact.clone());
        if stx.provisional(&ringing).is_err() {
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

        let mut early_digits = Vec::new();
        let ack = match dialog.await_ack(ok.to_bytes(), &mut early_digits).await {
            AckOutcome::Ack(ack) => ack,
            AckOutcome::HungUp => return tracing::info!("caller hung up before the ACK"),
            AckOutcome::Timeout => {
                tracing::info!("no ACK for our 200 OK; ending the call");
                return dialog.bye().await;
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
            return dialog.bye().await;
        }
        let mut stream = RtpStream::new(&rtp, target);
        if target.dest.is_none() {
            // c=0.0.0.0 (RFC 2543 hold) or no answer: only the caller's own RTP can tell us.
            match media::wait_for_rtp(&rtp, LATE_ANSWER_RTP_WAIT).await {
                Some(from) => stream.set_target(MediaTarget { dest: Some(from), ..target }),
                None => {
                    tracing::info!("nowhere to send the announcement; hanging up");
                    return dialog.bye().await;
                }
            }
        }
        for d in early_digits {
            stream.push_digit(d);
        }
        if self.play(&mut dialog, &mut stream, announcement, &call).await {
            return tracing::info!("caller hung up during the announcement");
        }
        dialog.hang_up().await;
    }

    /// The announcement (its prompt, then its parts), then the menu's prompt and
    /// pause (a key pressed gets the handler's reply played instead, or the
    /// announcement again for the menu's repeat key); `true` when the caller hung
    /// up meanwhile.
    async fn play(
        &self,
        dialog: &mut CallDialog<'_>,
        stream: &mut RtpStream<'_>,
        Announcement { prompt: prompt_name, then, menu }: Announcement<'_>,
        call: &IncomingCall,
    ) -> bool {
        let prompts = &self.config.prompts;
        let lang = call.rule.language.as_str();
        let mut announcement = vec![prompts.get_or_tone(lang, prompt_name)];
        for part in then {
            match prompts.get(lang, part) {
                Some(p) => announcement.push(p),
                None => tracing::warn!(prompt = %part, lang, "announcement part missing; skipped"),
            }
        }
        // A menu is offered only if its prompt exists: a tone cannot tell the caller what to press.
        let (menu, menu_prompt) = match menu.map(|m| (prompts.get(lang, &m.prompt), m)) {
            Some((Some(p), m)) => (Some(m), Some(p)),
            Some((None, m)) => {
                tracing::warn!(prompt = %m.prompt, lang, "menu prompt missing; no menu offered");
                (None, None)
            }
            None => (None, None),
        };
        let again = |queue: &mut VecDeque<Arc<Prompt>>| {
            queue.clear();
            queue.extend(announcement.iter().cloned());
            queue.extend(menu_prompt.iter().cloned());
        };
        let mut queue = VecDeque::new();
        again(&mut queue);
        let mut repeats = 0;
        let mut menu_open = menu.is_some();
        let mut waited = false;
        let mut phase = match queue.pop_front() {
            Some(p) => Phase::Play(Playback::new(p)),
            None => Phase::Listen(Instant::now()),
        };
        loop {
            let step = tokio::select! {
                r = run_phase(stream, &mut phase) => Step::Media(r),
                ev = dialog.event() => Step::Dialog(ev),
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
                        None => return false,
                    };
                }
                Step::Media(Ok(MediaEvent::Digit(digit)))
                    if menu_open && menu.as_ref().is_some_and(|m| m.repeat == Some(digit)) =>
                {
                    if repeats >= Menu::REPEATS {
                        tracing::debug!(%digit, "repeat refused: heard enough times");
                        continue;
                    }
                    repeats += 1;
                    tracing::info!(%digit, repeats, "menu: the announcement again");
                    again(&mut queue);
                    waited = false;
                    phase = match queue.pop_front() {
                        Some(p) => Phase::Play(Playback::new(p)),
                        None => Phase::Listen(Instant::now()),
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
                    return false;
                }
                Step::Dialog(ev) => match dialog.apply(ev, stream) {
                    Control::Continue => {}
                    Control::HungUp => return true,
                    Control::Failed => return false,
                },
            }
        }
    }
}
