//! SIP: transport (UDP/TCP), server transactions, and the call endpoint.
//!
//! This layer knows nothing about tickets. For each new INVITE it looks the
//! dialled number up in the dialplan, works out who is calling
//! ([`crate::identity`]), and asks the [`CallHandler`] what to do; then it
//! answers (SDP + RTP announcement + BYE) or rejects, per the handler's
//! [`CallDecision`] and the rule's answer mode.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use crate::dialplan::Rule;
use crate::identity::CallerIdentity;
use crate::phone::PhoneNumber;

pub mod endpoint;
pub mod message;
pub mod transaction;
pub mod transport;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use endpoint::{serve, SipConfig};
pub use transaction::Timers;

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
    /// Answer and play `prompt` (a prompt name, e.g. `purchase-link-sent`) —
    /// or, if the rule is in missed-call mode, reject with the rule's code.
    Announce { prompt: String },
    /// Refuse. In announce mode a `prompt` is still played (the call is answered
    /// so the caller hears why, e.g. "there is no paid ticket"); without a prompt,
    /// or in missed-call mode, `code` is sent as the final response.
    Refuse { code: u16, reason: String, prompt: Option<String> },
}

/// The ticket logic above the SIP layer.
pub trait CallHandler: Send + Sync + 'static {
    fn handle(&self, call: IncomingCall) -> Pin<Box<dyn Future<Output = CallDecision> + Send + 'static>>;
}
