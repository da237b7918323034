//! Softphone simulator for dialticket.
//!
//! The simulator is the backbone of the project's tests and of the demo. It
//! speaks the real protocols over (loopback) sockets, so whatever passes
//! against it also works with a real phone, mail server and browser.
//!
//! What lives where:
//!
//! * [`sip`] — a SIP user agent client (UDP, or TCP as an option). [`sip::place_call`]
//!   sends an INVITE (with an SDP offer), follows the transaction
//!   (retransmissions per RFC 3261 Timers A/B/E, ACK for 2xx and non-2xx),
//!   counts the RTP announcement the gateway streams, answers the gateway's
//!   BYE or hangs up itself, and returns a [`sip::CallReport`]. It presses keys
//!   as a phone does ([`dtmf`]: RFC 4733 telephone-events in the RTP stream).
//! * [`smtp`] — [`smtp::SmtpSink`], a small SMTP server that accepts every
//!   message, parses it with `mail-parser` and exposes it as
//!   [`smtp::ReceivedMail`] (subject, text, html, links, tel: links). It can
//!   simulate an outage ([`smtp::SmtpSink::set_refusing`]).
//! * [`web`] — [`web::Browser`], an HTTP client that fetches pages as HTML or
//!   JSON (`Accept` header) and posts forms, plus [`web::resolve`] for
//!   relative links.
//! * [`stir`] — [`stir::Passport`] signs a SHAKEN PASSporT and formats the
//!   `Identity` header an originating carrier would add.
//! * [`error`] — [`SimError`], the error type shared by all of the above.
//!
//! The `softphone` binary (`src/bin/softphone.rs`) wraps the three modules
//! for the command line: `softphone call`, `softphone mailbox`,
//! `softphone open`.

pub mod dtmf;
pub mod error;
pub mod sip;
pub mod smtp;
pub mod stir;
pub mod web;

pub use error::SimError;
