//! Tracing, set up once per process. `RUST_LOG` overrides the default filter.
//! Colour codes only on a terminal: a log written to a file or a journal
//! (`serve > gateway.log`, systemd, a container's log driver) is plain text.
//! `DIALTICKET_LOG_FORMAT=json` writes one JSON object a line instead (time,
//! level, message, fields and the spans it happened in), for a log shipper.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `DIALTICKET_LOG_FORMAT`: `json` or `text` (anything else, or unset: text).
    pub fn from_env() -> LogFormat {
        match std::env::var("DIALTICKET_LOG_FORMAT").as_deref().map(str::trim) {
            Ok(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // A second init (tests) is harmless.
    let _ = match LogFormat::from_env() {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_target(false)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Text => {
            let ansi = std::io::stdout().is_terminal();
            tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).try_init()
        }
    };
}
