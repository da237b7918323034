//! Counters this process keeps for `/metrics` (Prometheus text format, on the
//! admin listener): calls by dialplan action and final SIP status, mails by
//! result, door scans by result. Totals that live in the database (tickets sold,
//! issued, admitted) are read from it at scrape time instead, so every gateway
//! of a cluster reports the same figure.
//!
//! Counting costs a short mutex hold per call, mail or scan; the maps stay small
//! (a handful of actions × the final codes actually sent).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What an INVITE that never reached a dialplan rule is counted under: refused
/// by admission (unknown number, flood, a malformed offer) or by the transaction
/// layer itself.
pub const NO_ACTION: &str = "none";

/// Process-wide counters, shared by the SIP endpoint, the mail worker, the
/// staff endpoints and `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<(&'static str, u16), u64>>,
    mails_sent: AtomicU64,
    mails_failed: AtomicU64,
    scans: Mutex<BTreeMap<(String, &'static str), u64>>,
}

/// How a scan reached the gateway: scanned online, or uploaded by a device that
/// was offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanPath {
    Online,
    Offline,
}

impl ScanPath {
    fn as_str(self) -> &'static str {
        match self {
            ScanPath::Online => "online",
            ScanPath::Offline => "offline",
        }
    }
}

impl Metrics {
    /// An INVITE got its final response `code` (RFC 3261 §17.2.1: the first final
    /// response of the transaction, whoever sent it).
    pub fn call_final(&self, action: &'static str, code: u16) {
        *lock(&self.calls).entry((action, code)).or_default() += 1;
    }

    /// A mail accepted by the relay (or one left pending by a run with a relay and
    /// swept into the local outbox; new local mails are kept as they are queued).
    pub fn mail_sent(&self) {
        self.mails_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// A try to send a mail that failed (retried later, or refused for good).
    pub fn mail_failed(&self) {
        self.mails_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A door scan decided with `result` (`admitted`, `already_admitted`, …).
    pub fn scan(&self, result: &str, path: ScanPath) {
        *lock(&self.scans).entry((result.to_string(), path.as_str())).or_default() += 1;
    }

    /// Calls so far, as ((action, final code), count), in label order.
    pub fn calls(&self) -> Vec<((&'static str, u16), u64)> {
        lock(&self.calls).iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// (sent, failed) mail tries so far.
    pub fn mails(&self) -> (u64, u64) {
        (self.mails_sent.load(Ordering::Relaxed), self.mails_failed.load(Ordering::Relaxed))
    }

    /// Scans so far, as ((result, path), count), in label order.
    pub fn scans(&self) -> Vec<((String, &'static str), u64)> {
        lock(&self.scans).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A counter map is always consistent (one insert or add at a time).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_label() {
        let m = Metrics::default();
        m.call_final("purchase", 486);
        m.call_final("purchase", 486);
        m.call_final(NO_ACTION, 404);
        assert_eq!(m.calls(), vec![(("none", 404), 1), (("purchase", 486), 2)]);
        m.mail_sent();
        m.mail_failed();
        m.mail_sent();
        assert_eq!(m.mails(), (2, 1));
        m.scan("admitted", ScanPath::Online);
        m.scan("admitted", ScanPath::Offline);
        m.scan("admitted", ScanPath::Online);
        assert_eq!(m.scans(), vec![(("admitted".to_string(), "offline"), 1), (("admitted".to_string(), "online"), 2)]);
    }
}
