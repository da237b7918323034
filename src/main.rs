//! The `dialticket` command: `serve`, `dialplan check`, `events load`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dialticket::config::Config;
use dialticket::dialplan::Dialplan;
use dialticket::events::CatalogFile;
use dialticket::startup::Gateway;
use dialticket::store::Store;

#[derive(Parser)]
#[command(name = "dialticket", version, about = "Sell, issue and admit e-tickets by phone call and signed mail links")]
struct Cli {
    /// Configuration file (default: ./dialticket.toml if present). DIALTICKET_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: SIP (UDP+TCP), web pages, mail worker.
    Serve {
        /// Load (upsert) this event catalog before serving, e.g. events/demo.toml.
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// Dialplan tools.
    Dialplan {
        #[command(subcommand)]
        command: DialplanCommand,
    },
    /// Event catalog tools.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
}

#[derive(Subcommand)]
enum DialplanCommand {
    /// Validate every *.toml in DIR (default: the configured dialplan directory); exit 1 on errors.
    Check { dir: Option<PathBuf> },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Load (upsert) organizers, events and seats from a catalog file into the database.
    Load { file: PathBuf },
}

#[tokio::main]
async fn main() -> ExitCode {
    dialticket::telemetry::init();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve { events } => {
            let gateway = match Gateway::build(config).await {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Some(file) = events {
                let loaded = match CatalogFile::load(&file) {
                    Ok(c) => gateway.app().store.load_catalog(&c).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match loaded {
                    Ok((n, seats)) => {
                        tracing::info!(file = %file.display(), events = n, new_seats = seats, "event catalog loaded")
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            match gateway.run_until_stopped(shutdown).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Dialplan { command: DialplanCommand::Check { dir } } => {
            let dir = dir.unwrap_or(config.dialplans);
            match Dialplan::load_dir(&dir) {
                Ok(plan) => {
                    println!("{}: ok, {} numbers, {} trunks", dir.display(), plan.rules().len(), plan.trunks.len());
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for d in &errors.0 {
                        println!("{d}");
                    }
                    eprintln!("{} error(s)", errors.0.len());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Events { command: EventsCommand::Load { file } } => {
            let catalog = match CatalogFile::load(&file) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = async {
                let store = Store::connect(&config.database_url).await?;
                store.load_catalog(&catalog).await
            }
            .await;
            match result {
                Ok((events, seats)) => {
                    println!("loaded {events} events ({seats} new seats) into {}", config.database_url);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
