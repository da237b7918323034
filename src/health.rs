//! Whether this gateway can take calls now, as the SIP load balancer in front
//! asks it: Kamailio's dispatcher sends OPTIONS every second or two
//! (`deploy/kamailio/kamailio.cfg`) and takes a gateway out of the rotation
//! when the answer is not 2xx. The endpoint answers OPTIONS (RFC 3261 §11)
//! with 200 while [`Availability::is_up`], and with 503 and Retry-After
//! (§21.5.4) while it is draining or its database cannot be reached — so a
//! gateway cut off from PostgreSQL stops getting calls it could only refuse,
//! and gets them again once a probe finds it well. Meanwhile new INVITEs and
//! every page get 503 at once (`sip::endpoint`, `web::outage`).
//!
//! [`watch_database`] keeps the flag: one `SELECT 1` a second on a connection
//! of its own ([`Store::probe`]), given [`PROBE_TIMEOUT`] to answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;
pub use crate::store::RETRY_AFTER_SECS;

/// How often [`watch_database`] checks the database.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How long a probe may take (a server that accepts but does not answer).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared "can serve" flag: up until a probe fails.
#[derive(Clone, Debug)]
pub struct Availability {
    up: Arc<watch::Sender<bool>>,
}

impl Default for Availability {
    fn default() -> Self {
        Availability { up: Arc::new(watch::channel(true).0) }
    }
}

impl Availability {
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Record a probe's result; returns whether that changed the state.
    pub fn set_up(&self, up: bool) -> bool {
        self.up.send_if_modified(|now| {
            let changed = *now != up;
            *now = up;
            changed
        })
    }

    /// Resolves once the flag says down (at once if it does now): a request
    /// waiting for a database connection stops waiting then.
    pub async fn down(&self) {
        let mut rx = self.up.subscribe();
        let _ = rx.wait_for(|up| !*up).await;
    }
}

/// Ping the database every [`PROBE_INTERVAL`] and keep the store's
/// [`Store::availability`] to the result, logging each change, until `stop`
/// turns true.
pub async fn watch_database(store: Store, mut stop: watch::Receiver<bool>) {
    let availability = store.availability().clone();
    let mut conn = None;
    loop {
        let probe = tokio::time::timeout(PROBE_TIMEOUT, store.probe(&mut conn)).await;
        if probe.is_err() {
            conn = None; // it may be stuck mid-query
        }
        let up = matches!(probe, Ok(Ok(())));
        if availability.set_up(up) {
            match probe {
                Ok(Ok(())) => tracing::warn!("database reachable again: taking calls (OPTIONS 200)"),
                Ok(Err(e)) => tracing::error!(error = %e, "database unreachable: OPTIONS answered 503"),
                Err(_) => tracing::error!("database probe timed out: OPTIONS answered 503"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_reports_changes_only() {
        let a = Availability::default();
        assert!(a.is_up());
        assert!(!a.set_up(true), "up → up is no change");
        assert!(a.set_up(false));
        assert!(!a.is_up());
        assert!(!a.set_up(false));
        assert!(a.set_up(true));
        assert!(a.is_up());
    }

    #[tokio::test]
    async fn down_resolves_when_the_flag_goes_down() {
        let a = Availability::default();
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.down().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        a.set_up(false);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await.expect("woken").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), a.down()).await.expect("down already");
    }
}
