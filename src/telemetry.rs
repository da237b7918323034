//! Tracing, set up once per process. `RUST_LOG` overrides the default filter.
//! Colour codes only on a terminal: a log written to a file or a journal
//! (`serve > gateway.log`, systemd, a container's log driver) is plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::stdout().is_terminal();
    // A second init (tests) is harmless.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).try_init();
}
