//! End-to-end tests: the real gateway on port 0, driven over real sockets by
//! the softphone simulator (SIP + RTP), an SMTP sink (mail) and HTTP (pages).

mod account;
mod admin;
mod admit;
mod backoffice;
mod backoffice_billing;
mod backoffice_cancel;
mod backoffice_door;
mod backoffice_events;
mod backoffice_ops;
mod backoffice_orders;
mod backoffice_waitlist;
mod browser;
mod cancellation;
mod dialplan;
mod door;
mod failures;
mod flood;
mod gifts;
// Shared with tests/interop, tests/storage and benches/purchases: not every helper is used here.
#[allow(dead_code)]
mod helpers;
mod idempotency;
mod identity;
mod journey;
mod keys;
mod mail;
mod media;
mod metrics;
mod offer;
mod offline;
mod payments;
mod rfc4475;
mod sipp;
mod slowloris;
mod spoofing;
mod takeover;
mod waitlist;
mod web_guard;
