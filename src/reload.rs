//! What sets off a hot reload, shared by the dialplan ([`crate::dialplan::reload`])
//! and the STIR/SHAKEN trust store ([`crate::identity::stir::LiveTrust`]): a file
//! change under a watched directory (gathered until the directory is quiet, as
//! editors save in several steps) or SIGHUP; and how an attempt is recorded for
//! `/healthz`.

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

/// One reload attempt, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// RFC 3339, UTC.
    pub at: String,
    /// `file change` or `SIGHUP`.
    pub trigger: String,
    pub outcome: Outcome,
}

impl Attempt {
    /// An attempt set off by `trigger` that ended as `outcome`, now.
    pub fn now(trigger: &str, outcome: Outcome) -> Attempt {
        Attempt { at: timestamp(), trigger: trigger.to_string(), outcome }
    }
}

/// How a reload attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Read and swapped in.
    Reloaded,
    /// The files were as already loaded: nothing to do.
    Unchanged,
    /// The files failed to load: what was in use before stays in use.
    Refused,
}

/// Now, RFC 3339 in UTC to the second, as reload statuses show times.
pub fn timestamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How long the directory must be quiet before a change is read.
const QUIET: Duration = Duration::from_millis(200);
/// Read anyway after this long, even if something keeps writing in the directory.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// The next reason to reload: "file change" (once the files have been quiet for a
/// moment, see [`settle`]) or "SIGHUP"; `None` once `stop` turns true.
pub async fn next_trigger(
    stop: &mut watch::Receiver<bool>,
    wake: &mut mpsc::Receiver<()>,
    hangup: &mut Hangup,
) -> Option<&'static str> {
    tokio::select! {
        () = stopped(stop) => None,
        Some(()) = wake.recv() => {
            settle(wake).await;
            Some("file change")
        }
        Some(()) = next_hangup(hangup) => Some("SIGHUP"),
    }
}

/// Until `stop` turns true (or its sender is gone). The borrow `wait_for` returns is
/// dropped here, so it is never held across an await of the caller.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Wait until no file event has arrived for [`QUIET`] (at most [`MAX_DELAY`]).
async fn settle(wake: &mut mpsc::Receiver<()>) {
    let give_up = tokio::time::Instant::now() + MAX_DELAY;
    while tokio::time::Instant::now() < give_up {
        match tokio::time::timeout(QUIET, wake.recv()).await {
            Ok(Some(())) => continue,
            Ok(None) | Err(_) => return,
        }
    }
}

/// Watch `dir` for changes to the files `wanted` picks, waking `wake` (a full
/// channel means a wake-up is already pending: nothing is lost). `what` names
/// the watched thing in the log. `None` (logged) if the watch cannot start.
pub fn watch_files(
    dir: &Path,
    mode: RecursiveMode,
    wanted: impl Fn(&Path) -> bool + Send + 'static,
    wake: mpsc::Sender<()>,
    what: &str,
) -> Option<RecommendedWatcher> {
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Our own reads show up as access events; reacting to them would loop.
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        if event.paths.is_empty() || event.paths.iter().any(|p| wanted(p)) {
            let _ = wake.try_send(());
        }
    };
    let watcher = notify::recommended_watcher(handler).and_then(|mut w| {
        w.watch(dir, mode)?;
        Ok(w)
    });
    match watcher {
        Ok(w) => {
            tracing::info!(dir = %dir.display(), "watching {what} for changes (SIGHUP also reloads)");
            Some(w)
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch {what}; reload it with SIGHUP");
            None
        }
    }
}

#[cfg(unix)]
pub type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
pub type Hangup = Option<()>;

#[cfg(unix)]
pub fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP");
            None
        }
    }
}

#[cfg(not(unix))]
pub fn hangup_signal() -> Hangup {
    None
}

/// The next SIGHUP; never, if there is no signal to listen to.
#[cfg(unix)]
async fn next_hangup(hangup: &mut Hangup) -> Option<()> {
    match hangup {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) -> Option<()> {
    std::future::pending().await
}
