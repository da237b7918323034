//! Hot reload: when a dialplan file changes, or on SIGHUP, the dialplan is read
//! and checked again and, if it has no errors, swapped in atomically.
//!
//! * The swap is one `watch::Sender::send_replace` of an `Arc<Dialplan>`: a call
//!   routes against either the old or the new plan, never a mix.
//! * Calls in progress keep the `Arc<Rule>` they matched at INVITE time, so they
//!   finish on the rule they started with even if it is gone from the new plan.
//! * A dialplan with errors is refused: the old one stays live, the errors are
//!   logged and shown on `/healthz` and `/dialplan`, and counted.
//! * Editors save in several steps (temporary file, rename, chmod), so file
//!   events are gathered until the directory has been quiet for a moment
//!   ([`crate::reload`], shared with the STIR/SHAKEN trust store).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::RecursiveMode;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::{check, read_sources, Dialplan, DialplanHandle, KnownNames};
use crate::reload::{hangup_signal, next_trigger, timestamp as now, watch_files, Hangup};
pub use crate::reload::{Attempt, Outcome};
use crate::store::Store;
use crate::sync::lock;

/// What `/healthz` and `/dialplan` show about the live dialplan and its reloads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadStatus {
    /// The dialplan directory (or file).
    pub source: PathBuf,
    /// 1 for the dialplan loaded at start-up, +1 for every reload swapped in.
    pub generation: u64,
    /// When the live dialplan was loaded (RFC 3339, UTC).
    pub loaded_at: String,
    pub rules: usize,
    pub warnings: usize,
    /// Reloads swapped in since start-up.
    pub reloads: u64,
    /// Reloads refused because the dialplan had errors.
    pub reload_failures: u64,
    pub last_attempt: Option<Attempt>,
    /// The errors of the last refused reload; cleared when a good dialplan is in place again.
    pub last_error: Option<Vec<String>>,
}

/// Shared view of [`ReloadStatus`] for the web pages.
pub type SharedStatus = Arc<Mutex<ReloadStatus>>;

/// Owns the live dialplan's sender; reloads on request, on file change and on SIGHUP.
pub struct Reloader {
    path: PathBuf,
    tx: watch::Sender<Arc<Dialplan>>,
    status: SharedStatus,
    /// The files of the live dialplan, to tell a real change from a touch.
    live: Mutex<Vec<(PathBuf, String)>>,
    prompts: Option<BTreeSet<(String, String)>>,
    store: Option<Store>,
    /// Listened to from construction on: SIGHUP's default action ends the process.
    hangup: Hangup,
}

/// Event ids in the database, for checking `event = "…"`; `None` if it cannot be read.
pub async fn known_events(store: &Store) -> Option<BTreeSet<String>> {
    match store.events().await {
        Ok(events) => Some(events.into_iter().map(|e| e.id).collect()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list events; dialplan event names not checked");
            None
        }
    }
}

impl Reloader {
    /// Start from `plan`, loaded from `sources` (the files under `path`). Prompt
    /// names are checked against `prompts`, event names against `store`'s events.
    /// Call it inside the Tokio runtime: it starts listening for SIGHUP.
    pub fn new(
        path: PathBuf,
        plan: Dialplan,
        sources: Vec<(PathBuf, String)>,
        prompts: Option<BTreeSet<(String, String)>>,
        store: Option<Store>,
    ) -> Reloader {
        let status = ReloadStatus {
            source: path.clone(),
            generation: 1,
            loaded_at: now(),
            rules: plan.rules.len(),
            warnings: plan.warnings.len(),
            ..ReloadStatus::default()
        };
        let (tx, _) = watch::channel(Arc::new(plan));
        Reloader {
            path,
            tx,
            status: Arc::new(Mutex::new(status)),
            live: Mutex::new(sources),
            prompts,
            store,
            hangup: hangup_signal(),
        }
    }

    /// A handle on the live dialplan.
    pub fn subscribe(&self) -> DialplanHandle {
        self.tx.subscribe()
    }

    pub fn status(&self) -> SharedStatus {
        self.status.clone()
    }

    /// Read and check the dialplan again; swap it in if it has no errors.
    pub async fn reload(&self, trigger: &str) -> Outcome {
        let checked = match read_sources(&self.path) {
            Err(d) => Err(vec![d.to_string()]),
            Ok(sources) if *lock(&self.live) == sources => Ok(None),
            Ok(sources) => {
                let events = match &self.store {
                    Some(store) => known_events(store).await,
                    None => None,
                };
                let known = KnownNames { events, prompts: self.prompts.clone() };
                let checked = check::check_sources(&sources, &known);
                match checked.plan {
                    Some(plan) => Ok(Some((plan, sources))),
                    None => Err(checked.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect()),
                }
            }
        };
        let mut status = lock(&self.status);
        let outcome = match checked {
            Ok(None) => {
                tracing::info!(trigger, "dialplan unchanged");
                status.last_error = None;
                Outcome::Unchanged
            }
            Ok(Some((plan, sources))) => {
                for w in &plan.warnings {
                    tracing::warn!(trigger, "dialplan: {w}");
                }
                status.generation += 1;
                status.reloads += 1;
                status.loaded_at = now();
                status.rules = plan.rules.len();
                status.warnings = plan.warnings.len();
                status.last_error = None;
                tracing::info!(trigger, generation = status.generation, rules = plan.rules.len(), "dialplan reloaded");
                *lock(&self.live) = sources;
                self.tx.send_replace(Arc::new(plan));
                Outcome::Reloaded
            }
            Err(errors) => {
                for e in &errors {
                    tracing::error!(trigger, "dialplan: {e}");
                }
                tracing::error!(
                    trigger,
                    errors = errors.len(),
                    "dialplan reload refused; the previous dialplan stays live"
                );
                status.reload_failures += 1;
                status.last_error = Some(errors);
                Outcome::Refused
            }
        };
        status.last_attempt = Some(Attempt::now(trigger, outcome));
        outcome
    }

    /// Reload on file changes under the dialplan path and on SIGHUP, until `stop` turns true.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (wake_tx, mut wake) = mpsc::channel::<()>(1);
        // Kept alive for as long as we run: dropping the watcher stops the events.
        let dir = if self.path.is_dir() {
            self.path.clone()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).to_path_buf()
        };
        let toml = |p: &Path| p.extension().is_some_and(|x| x == "toml");
        let _watcher = watch_files(&dir, RecursiveMode::NonRecursive, toml, wake_tx, "the dialplan");
        let mut hangup = self.hangup.take();
        // A change between the start-up load and the watch starting would be missed.
        if read_sources(&self.path).ok().as_ref() != Some(&*lock(&self.live)) {
            self.reload("file change").await;
        }
        while let Some(trigger) = next_trigger(&mut stop, &mut wake, &mut hangup).await {
            self.reload(trigger).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "[[numbers]]\nnumber = \"+442079460100\"\naction = \"purchase\"\n";

    fn reloader(dir: &Path) -> Reloader {
        let sources = read_sources(dir).unwrap();
        let plan = check::check_sources(&sources, &KnownNames::default()).into_result().unwrap();
        Reloader::new(dir.to_path_buf(), plan, sources, None, None)
    }

    #[tokio::test]
    async fn refuses_errors_keeps_the_old_plan_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), PLAN).unwrap();
        let r = reloader(dir.path());
        let live = r.subscribe();
        let first_rule = live.borrow().rules()[0].clone();

        assert_eq!(r.reload("test").await, Outcome::Unchanged);
        std::fs::write(dir.path().join("b.toml"), "[[numbers]]\nnumber = \"+442079460101\"\naction = \"isue\"\n")
            .unwrap();
        assert_eq!(r.reload("test").await, Outcome::Refused);
        assert_eq!(live.borrow().rules().len(), 1, "old plan stays live");
        let status = r.status().lock().unwrap().clone();
        assert_eq!((status.generation, status.reload_failures), (1, 1));
        assert!(status.last_error.unwrap()[0].contains("b.toml:3:10: error: `action` must be one of"));

        std::fs::write(dir.path().join("b.toml"), "[[numbers]]\nnumber = \"+442079460101\"\naction = \"issue\"\n")
            .unwrap();
        assert_eq!(r.reload("test").await, Outcome::Reloaded);
        assert_eq!(live.borrow().rules().len(), 2);
        let status = r.status().lock().unwrap().clone();
        assert_eq!((status.generation, status.reloads, status.last_error), (2, 1, None));
        // A call that matched before the reload still holds its rule.
        assert_eq!(first_rule.exact_number().unwrap().as_str(), "+442079460100");
    }
}
