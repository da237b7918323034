//! dialticket — sells, issues and admits e-tickets by phone call (caller ID)
//! and signed mail links.
//!
//! Where things live, in the order one call passes through them:
//!
//! | module | concern |
//! |---|---|
//! | [`sip`] | UDP/TCP transport, RFC 3261 transactions, dialogs, the call endpoint |
//! | [`admission`] | whether a new INVITE is taken: route, identity, STIR/SHAKEN, flood limits, body (the policy seam) |
//! | [`dialplan`] | which rule takes a call: trunks, numbers and patterns, policies, hours; check, route, hot reload |
//! | [`identity`] | who is calling (P-Asserted-Identity / From, trust, E.164) |
//! | [`flood`] | flood and abuse limiter, like Kamailio's pike: per-source and per-caller token buckets, blocks |
//! | [`phone`] | the validated E.164 `PhoneNumber` |
//! | [`media`] | SDP answer, RTP announcements |
//! | [`calls`] | the purchase / issue / usage handlers (SIP ↔ ticket domain) |
//! | [`domain`] | ticket state machine, pure, no I/O |
//! | [`profile`] | a phone user's profile (the holder's name on tickets) and handset, pure |
//! | [`store`] | SQLite or PostgreSQL via sqlx: one transaction per change, journal + outbox rows |
//! | [`auth`] | organizer passwords: Argon2id hashing and checking, pure |
//! | [`accounts`] | back-office accounts: operator / organizer roles, password rule, CSRF tokens, pure |
//! | [`payment`], [`settlement`] | payment providers (sandbox), callbacks, challenges, hold expiry |
//! | [`mail`] | outbox worker, templates, SMTP or the local outbox; where a phone's mail goes |
//! | [`links`] | purpose-bound signed tokens for mailed links |
//! | [`web`] | the pages behind the links (GET shows, POST acts), the admin API |
//! | [`reload`] | what sets off a hot reload (file change, SIGHUP): dialplan and STIR/SHAKEN trust store |
//! | [`config`], [`startup`], [`telemetry`] | configuration and wiring |
//! | [`sync`] | the poison-tolerant `lock()` every shared table uses |
//!
//! `docs/architecture.md` follows one call through all of them.

pub mod accounts;
pub mod admin_cli;
pub mod admission;
pub mod app;
pub mod auth;
pub mod billing;
pub mod calls;
pub mod config;
pub mod dialplan;
pub mod domain;
pub mod door;
pub mod event_cancel;
pub mod events;
pub mod flood;
pub mod health;
pub mod i18n;
pub mod identity;
pub mod links;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod payment;
pub mod phone;
pub mod profile;
pub mod reload;
pub mod settlement;
pub mod sip;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod waitlist;
pub mod web;
