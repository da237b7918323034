//! `dialticket dialplan check|route`: a dialplan directory checked, or a call
//! routed through it, before it goes live; what they print and their exit codes
//! (0 fine, 1 errors or no rule takes the call, 2 bad arguments).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{CallFacts, Checked, Dialplan, KnownNames};
use crate::config::Config;
use crate::events::CatalogFile;
use crate::media::Prompts;
use crate::store::Store;

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Event ids to check `event = "…"` against: from catalog files if given, else from
/// the database if there is one.
async fn known_events(files: &[PathBuf], config: &Config) -> Result<Option<BTreeSet<String>>, String> {
    if !files.is_empty() {
        let mut ids = BTreeSet::new();
        for f in files {
            let catalog = CatalogFile::load(f).map_err(|e| e.to_string())?;
            ids.extend(catalog.events.into_iter().map(|e| e.id));
        }
        return Ok(Some(ids));
    }
    let url = &config.database_url;
    if let Some(file) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        // Checking must not create an empty database as a side effect.
        let file = file.split('?').next().unwrap_or_default();
        if !Path::new(file).exists() {
            return Ok(None);
        }
    }
    let store = Store::connect(url).await.map_err(|e| e.to_string())?;
    Ok(Some(store.events().await.map_err(|e| e.to_string())?.into_iter().map(|e| e.id).collect()))
}

pub async fn check(path: &Path, event_files: &[PathBuf], config: &Config) -> ExitCode {
    let events = match known_events(event_files, config).await {
        Ok(Some(ids)) => Some(ids),
        Ok(None) => {
            eprintln!("note: event names not checked: no database at {} (pass --events FILE)", config.database_url);
            None
        }
        Err(e) => {
            if !event_files.is_empty() {
                eprintln!("error: --events: {e}");
                return ExitCode::from(2);
            }
            eprintln!("note: event names not checked: database: {e}");
            None
        }
    };
    let prompts = match Prompts::load(&config.prompts) {
        Ok(p) => Some(p.list().into_iter().collect()),
        Err(e) => {
            eprintln!("note: prompt names not checked: {e}");
            None
        }
    };
    let checked = match super::read_sources(path) {
        Ok(sources) => super::check::check_sources(&sources, &KnownNames { events, prompts }),
        Err(d) => Checked { plan: None, diagnostics: vec![d] },
    };
    for d in &checked.diagnostics {
        println!("{d}");
    }
    let warnings = checked.warnings();
    match &checked.plan {
        Some(plan) => {
            let mut summary = vec![plural(plan.rules().len(), "rule"), plural(plan.trunks.len(), "trunk")];
            if !plan.hours.is_empty() {
                summary.push(plural(plan.hours.len(), "hours block"));
            }
            if warnings > 0 {
                summary.push(plural(warnings, "warning"));
            }
            println!("{}: ok, {}", path.display(), summary.join(", "));
            ExitCode::SUCCESS
        }
        None => {
            println!("{}: {}, {}", path.display(), plural(checked.errors(), "error"), plural(warnings, "warning"));
            ExitCode::FAILURE
        }
    }
}

pub fn route(path: &Path, to: &str, from: Option<&str>, source: Option<IpAddr>, at: Option<&str>) -> ExitCode {
    let plan = match Dialplan::load_dir(path) {
        Ok(p) => p,
        Err(errors) => {
            println!("{errors}");
            println!(
                "{}: {}: fix them first (dialticket dialplan check)",
                path.display(),
                plural(errors.0.len(), "error")
            );
            return ExitCode::FAILURE;
        }
    };
    let from = match from.map(|f| plan.normalize_caller(f, source)).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --from: {e}");
            return ExitCode::from(2);
        }
    };
    let when = match at.map(chrono::DateTime::parse_from_rfc3339).transpose() {
        Ok(t) => t.map(|t| t.with_timezone(&chrono::Utc)),
        Err(e) => {
            eprintln!("error: --at: {e} (use RFC 3339, e.g. 2026-05-04T10:00:00+09:00)");
            return ExitCode::from(2);
        }
    };
    let call = CallFacts { to, from: from.as_ref(), source, at: when.unwrap_or_else(chrono::Utc::now) };
    println!(
        "call:      to '{to}' from {} source {} at {}",
        from.as_ref().map(|f| f.to_string()).unwrap_or_else(|| "(unknown)".into()),
        source.map(|s| s.to_string()).unwrap_or_else(|| "(none)".into()),
        at.unwrap_or("now"),
    );
    let trace = plan.trace(&call);
    print!("{trace}");
    if trace.result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
