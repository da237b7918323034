//! SIP: the stack (parsing, UDP/TCP transport, transactions, dialogs) and the
//! call endpoint above it.
//!
//! The SIP layer knows nothing of tickets, and its stack knows nothing of policy:
//! `message`, `strict`, `offer`, `transport`, `tcp`, `timers`, `transaction` and
//! `dialog` import no dialplan, identity, flood limiter or call handler. Above
//! them sits the transaction user. The [`endpoint`] dispatches every request to
//! its transaction, its dialog or a new call's task. That task (`call`) asks
//! [`crate::admission`] (the policy seam: dialplan, caller identity, STIR/SHAKEN,
//! flood limits, the body) whether the call is taken and, if so, asks the
//! [`CallHandler`] once what to do; then it answers (SDP + RTP announcement +
//! BYE: `announce`, with the UAS `dialog`), plays early media and rejects, or
//! rejects, per the handler's [`CallDecision`] and the rule's answer mode. An
//! answered call may offer a small DTMF [`Menu`] ("press 1 to resend the link").
//!
//! The types handed across are defined here. An [`IncomingCall`] carries the
//! dialplan rule and the caller's identity as admission found them: the call
//! flow reads the rule's answer mode and language, and the handler acts on the rest.
//!
//! | file | what |
//! |---|---|
//! | `message/`, `strict.rs` | parsing, limits, building; RFC 4475 strictness |
//! | `transport.rs`, `tcp/` | UDP and TCP: framing, connections, where responses go |
//! | `transaction.rs`, `timers.rs` | server and client transactions (RFC 3261 §17), typed handles |
//! | `endpoint.rs` | the dispatcher |
//! | `call.rs` | one new INVITE: admission's answer, the handler, reject or early media |
//! | `announce.rs` | an answered call: 180/200, the announcement and the menu |
//! | `dialog.rs` | the UAS dialog: 2xx until its ACK, re-INVITE, INFO, BYE |
//! | `offer.rs` | the INVITE's body and SDP offer, checked before the handler |

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::dialplan::Rule;
use crate::identity::CallerIdentity;
use crate::phone::PhoneNumber;

mod announce;
mod call;
mod dialog;
pub mod endpoint;
pub mod message;
pub mod offer;
mod strict;
pub mod tcp;
pub mod timers;
pub mod transaction;
pub mod transport;

pub use endpoint::{serve, SipConfig};
pub use tcp::TcpLimits;
pub use timers::Timers;
pub use transaction::Limits;
pub use transport::parse_untrusted;

/// A new call, as the ticket logic sees it. Handed over once per INVITE
/// server transaction: retransmissions never reach the handler.
#[derive(Debug, Clone)]
pub struct IncomingCall {
    pub call_id: String,
    pub cseq: u32,
    /// The dialled number (Request-URI user part), normalized.
    pub dialed: PhoneNumber,
    pub caller: CallerIdentity,
    /// Where the INVITE came from (the last hop).
    pub source: SocketAddr,
    /// The dialplan rule matched at INVITE time.
    pub rule: Arc<Rule>,
}

/// What the handler wants done with the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallDecision {
    /// Answer and play `prompt` (a prompt name, e.g. `purchase-link-sent`), then
    /// each of `then` (parts put together for this call, e.g. the caller's seats
    /// read out: `your-seats`, `seat`, `letter-a`, `digit-1`; a part missing from
    /// the catalogue is skipped, not replaced by a tone) — or, if the rule is in
    /// missed-call mode, reject with the rule's code. As early media, `prompt` only.
    Announce { prompt: String, then: Vec<String> },
    /// Refuse. In announce mode a `prompt` is still played (the call is answered
    /// so the caller hears why, e.g. "there is no paid ticket"); without a prompt,
    /// or in missed-call mode, `code` is sent as the final response.
    Refuse { code: u16, reason: String, prompt: Option<String> },
}

impl CallDecision {
    /// Answer and play `prompt` alone.
    pub fn announce(prompt: impl Into<String>) -> CallDecision {
        CallDecision::Announce { prompt: prompt.into(), then: Vec::new() }
    }
}

/// A small DTMF menu offered after an answered call's announcement. Keys come as
/// RFC 4733 telephone-events or SIP INFO; the first key in `digits` is handed to
/// [`CallHandler::on_digit`] (one choice per call), others are ignored — but for
/// `repeat`, which plays the announcement and the menu again (up to
/// [`Menu::REPEATS`] times) without asking the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// Prompt that offers the choice, played after the announcement (e.g.
    /// `press-1-to-resend`). If it is missing, no menu is offered.
    pub prompt: String,
    /// The keys handed to the handler, e.g. `"1"`.
    pub digits: String,
    /// The key that plays the announcement again ("press 1 to hear it again").
    pub repeat: Option<char>,
}

impl Menu {
    /// How many times one call may hear its announcement again.
    pub const REPEATS: u32 = 3;

    /// A menu of `digits` for the handler, offered by `prompt`, with no repeat key.
    pub fn new(prompt: impl Into<String>, digits: impl Into<String>) -> Menu {
        Menu { prompt: prompt.into(), digits: digits.into(), repeat: None }
    }
}

/// A boxed future, as the handler's methods return them.
pub type HandlerFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The ticket logic above the SIP layer.
pub trait CallHandler: Send + Sync + 'static {
    fn handle(&self, call: IncomingCall) -> HandlerFuture<CallDecision>;

    /// The menu to offer with this decision, if any (answered calls only).
    fn menu(&self, _call: &IncomingCall, _decision: &CallDecision) -> Option<Menu> {
        None
    }

    /// A menu key was pressed; returns the prompt to play in reply (the call then
    /// ends after it), or `None` to carry on as if nothing was pressed.
    fn on_digit(&self, _call: IncomingCall, _digit: char) -> HandlerFuture<Option<String>> {
        Box::pin(async { None })
    }
}
