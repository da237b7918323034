//! The SIP endpoint alone: `sip::serve` on loopback (port 0) with a fake call
//! handler, driven by phones that speak raw SIP text over UDP and TCP
//! (`helpers.rs`). The whole gateway behind it is tested in `tests/e2e/`.
//!
//! SIP timers (retransmissions, Timers E to J, the 2xx retransmission) are
//! tested under `tokio::time::pause()`: a test that checks "nothing more came"
//! waits in virtual time, where every timer the server had set has fired.

mod calls;
mod dialog;
mod helpers;
mod offers;
mod requests;
mod robustness;
mod transactions;
