//! The `dialticket` command: `serve`, `dialplan check`, `dialplan route`, `events load`,
//! `events staff-pin`, `keys list|rotate`, `users mail`, `staff add|revoke|list`.

/// mimalloc instead of glibc's malloc: under load a call's many small, short-lived
/// allocations cost glibc about a fifth of the gateway's CPU (perf: `_int_malloc`,
/// `malloc_consolidate`, `unlink_chunk` across threads).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dialticket::config::Config;
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
    /// Link-signing key tools.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Phone user tools.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Venue staff accounts, who scan tickets at the door (docs/checkin.md).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The back office (docs/backoffice.md).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make an operator account and print its one-time link (on the admin listener)
    /// where the operator sets a password.
    AddOperator { name: String },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Make a staff account for EVENT and print its one-time login URL; with
    /// `--api`, also a line `api-token: <token>` for a scanning device. Only
    /// their hashes are stored: they are shown this once.
    Add {
        #[arg(long)]
        event: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        gate: Option<String>,
        #[arg(long)]
        api: bool,
    },
    /// Revoke staff account ID: its login URL, sessions and API tokens stop at once.
    Revoke { id: String },
    /// An event's staff accounts.
    List {
        #[arg(long)]
        event: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// The signing key and the retired keys that still verify the links they signed.
    List,
    /// Sign links with a new key from now on; the current one moves to retired-keys/
    /// next to it and keeps verifying its links until they have all expired.
    /// Restart every gateway that shares the key file.
    Rotate,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Show where PHONE's mail goes; with ADDRESS, register that address (the
    /// operator's mapping, no confirmation, like `PUT /admin/phone-users/{phone}/mail`);
    /// with `--carrier`, go back to the carrier's address.
    Mail {
        /// The phone, in E.164 (+819012345678).
        phone: String,
        address: Option<String>,
        #[arg(long, conflicts_with = "address")]
        carrier: bool,
    },
}

#[derive(Subcommand)]
enum DialplanCommand {
    /// Check every *.toml in PATH (a directory or one file; default: the configured dialplans)
    /// and print `file:line:col: error|warning: message`; exit 1 on errors.
    Check {
        path: Option<PathBuf>,
        /// Check event names against these catalog files (default: the configured database).
        #[arg(long = "events", value_name = "FILE")]
        events: Vec<PathBuf>,
    },
    /// Show which rule takes a call, and why each rule tried did or did not match;
    /// exit 1 when no rule does.
    Route {
        path: Option<PathBuf>,
        /// The dialled number, as the Request-URI carries it (e.g. +442079460100 or 020 7946 0100).
        #[arg(long)]
        to: String,
        /// The caller's number.
        #[arg(long)]
        from: Option<String>,
        /// The address the INVITE comes from (selects the trunk).
        #[arg(long)]
        source: Option<IpAddr>,
        /// When the call arrives, RFC 3339 (e.g. 2026-05-04T10:00:00+09:00); default now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Load (upsert) organizers, events and seats from a catalog file into the database.
    Load { file: PathBuf },
    /// List the events: organizer, start on the venue clock, sale state, seats sold / held / free.
    List,
    /// Print the six-digit PIN venue staff enter on an admission page to admit a
    /// ticket of EVENT (derived from the signing key; organizers also see it in
    /// `GET /admin/events/{id}/sales`).
    StaffPin {
        event: String,
        /// Replace the PIN first (one that leaked): the old one stops admitting at
        /// once, on every gateway (like `POST /admin/events/{id}/staff-pin`).
        #[arg(long)]
        rotate: bool,
    },
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
            raise_open_files_limit();
            // Ctrl-C, or SIGTERM (what `docker stop` and systemd send): stop taking
            // calls, let those in progress and the mails being sent finish, then exit.
            let shutdown = async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    match signal(SignalKind::terminate()) {
                        Ok(mut term) => {
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {}
                                _ = term.recv() => {}
                            }
                        }
                        Err(_) => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                }
                #[cfg(not(unix))]
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
        Command::Dialplan { command: DialplanCommand::Check { path, events } } => {
            let path = path.unwrap_or_else(|| config.dialplans.clone());
            dialticket::dialplan::commands::check(&path, &events, &config).await
        }
        Command::Dialplan { command: DialplanCommand::Route { path, to, from, source, at } } => {
            let path = path.unwrap_or_else(|| config.dialplans.clone());
            dialticket::dialplan::commands::route(&path, &to, from.as_deref(), source, at.as_deref())
        }
        Command::Keys { command } => keys(command, &config),
        Command::Users { command: UsersCommand::Mail { phone, address, carrier } } => {
            user_mail(&phone, address.as_deref(), carrier, &config).await
        }
        Command::Staff { command } => staff(command, &config).await,
        Command::Admin { command: AdminCommand::AddOperator { name } } => {
            let admin = format!("http://{}", config.admin_listen);
            let store = Store::connect(&config.database_url).await.map_err(|e| e.to_string());
            report(match store {
                Ok(store) => dialticket::admin_cli::add_operator(&store, &name, &admin).await,
                Err(e) => Err(e),
            })
        }
        Command::Events { command: EventsCommand::List } => report(match Store::connect(&config.database_url).await {
            Ok(store) => dialticket::admin_cli::list_events(&store, dialticket::store::now()).await,
            Err(e) => Err(e.to_string()),
        }),
        Command::Events { command: EventsCommand::StaffPin { event, rotate } } => {
            staff_pin(&event, rotate, &config).await
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

/// `dialticket keys list|rotate`.
fn keys(command: KeysCommand, config: &Config) -> ExitCode {
    use dialticket::links;
    let path = &config.signing_key;
    let result = match command {
        _ if !path.exists() => Err(links::LinkError::Key(format!(
            "none at {} yet (the gateway makes one when it first starts)",
            path.display()
        ))),
        KeysCommand::List => (|| {
            let current = links::Links::load_or_generate(path, "http://localhost")?;
            let mut out = vec![format!("signing   {}  {}", current.kid(), path.display())];
            for (k, _) in links::retired_keys(path)? {
                let state = if k.verifying { "retired " } else { "expired " };
                out.push(format!("{state}  {}  {} (retired {} days ago)", k.kid, k.path.display(), k.age_days));
            }
            let seed = links::derivation_seed(path);
            if seed.exists() {
                out.push(format!(
                    "seed      {}  (staff PINs and the payment secret derive from it: keep it)",
                    seed.display()
                ));
            }
            Ok::<_, links::LinkError>(out.join("\n"))
        })(),
        KeysCommand::Rotate => links::rotate(path).map(|(old, new)| {
            format!(
                "signing with {new} from now on; {old} retired to {} (it verifies its links for {} days)\n\
                 restart every gateway that shares {}\n\
                 staff PINs and the derived payment-callback secret stay as they were ({} keeps their key)",
                links::retired_dir(path).display(),
                links::RETIRED_KEYS_KEPT_DAYS,
                path.display(),
                links::derivation_seed(path).display()
            )
        }),
    };
    report(result)
}

/// What a command printed, or its error: its exit code.
fn report(result: Result<String, impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `dialticket users mail PHONE [ADDRESS | --carrier]` (journalled, actor `cli`).
async fn user_mail(phone: &str, address: Option<&str>, carrier: bool, config: &Config) -> ExitCode {
    use dialticket::mail::{address_for, registration};
    let result = async {
        let phone = dialticket::phone::PhoneNumber::parse(phone)
            .map_err(|e| format!("phone number '{phone}': {e} (use E.164, e.g. +819012345678)"))?;
        let address = address.map(registration::registrable).transpose().map_err(|e| e.to_string())?;
        let store = Store::connect(&config.database_url).await.map_err(|e| e.to_string())?;
        let user = if address.is_some() || carrier {
            let set = Store::retry(|| async {
                let mut tx = store.begin().await?;
                let user = tx.set_mail_address(&phone, address.as_deref(), "cli", dialticket::store::now()).await?;
                tx.commit().await?;
                Ok::<_, dialticket::store::StoreError>(user)
            });
            set.await.map_err(|e| e.to_string())?
        } else {
            store.phone_user(&phone).await.map_err(|e| e.to_string())?.ok_or_else(|| {
                format!(
                    "{phone} has not called yet: mail would go to its carrier's address (see carrier_mail_template)"
                )
            })?
        };
        let kind = if user.mail_address.is_some() { "registered" } else { "the carrier's" };
        Ok::<_, String>(format!(
            "mail for {phone} (user number {}) goes to {} ({kind})",
            user.user_number,
            address_for(&user, &config.carrier_mail_template)
        ))
    }
    .await;
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `dialticket staff add|revoke|list` (journalled on the event, actor `cli`).
async fn staff(command: StaffCommand, config: &Config) -> ExitCode {
    let result = async {
        let store = Store::connect(&config.database_url).await.map_err(|e| e.to_string())?;
        let at = dialticket::store::now();
        match command {
            StaffCommand::Add { event, name, gate, api } => {
                if store.event(&event).await.map_err(|e| e.to_string())?.is_none() {
                    return Err(format!("no event '{event}' in {}", config.database_url));
                }
                let made = store.add_staff(&event, &name, gate.as_deref(), api, "cli", at).await;
                let made = made.map_err(|e| e.to_string())?;
                let base = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.http_listen));
                let mut out = vec![
                    format!("staff {} ({name}) for {event}", made.staff.id),
                    format!("login: {base}/staff/login/{}", made.login_token),
                ];
                out.extend(made.api_token.map(|t| format!("api-token: {t}")));
                Ok(out.join("\n"))
            }
            StaffCommand::Revoke { id } => {
                let mut tx = store.begin().await.map_err(|e| e.to_string())?;
                let staff = tx.revoke_staff(&id, "cli", at).await.map_err(|e| e.to_string())?;
                let staff = staff.ok_or_else(|| format!("no staff account '{id}'"))?;
                tx.commit().await.map_err(|e| e.to_string())?;
                Ok(format!("staff {id} ({}) revoked: its login, sessions and API tokens no longer work", staff.name))
            }
            StaffCommand::List { event } => {
                let staff = store.staff_of_event(&event).await.map_err(|e| e.to_string())?;
                let line = |s: &dialticket::store::Staff| {
                    let gate = s.gate.as_deref().map(|g| format!(" gate {g}")).unwrap_or_default();
                    format!("{}  {}{gate}{}", s.id, s.name, if s.revoked { "  (revoked)" } else { "" })
                };
                Ok(staff.iter().map(line).collect::<Vec<_>>().join("\n"))
            }
        }
    }
    .await;
    report(result)
}

/// `dialticket events staff-pin EVENT [--rotate]`: the PIN from the configured
/// signing key, for an event the database knows (a typo would print a PIN for
/// nothing); with `--rotate`, a new one (journalled, actor `cli`).
async fn staff_pin(event: &str, rotate: bool, config: &Config) -> ExitCode {
    if !config.signing_key.exists() {
        eprintln!(
            "error: no signing key at {} yet (the gateway makes one when it first starts)",
            config.signing_key.display()
        );
        return ExitCode::FAILURE;
    }
    let result = async {
        let links = dialticket::links::Links::load_or_generate(&config.signing_key, "http://localhost")
            .map_err(|e| e.to_string())?;
        let store = Store::connect(&config.database_url).await.map_err(|e| e.to_string())?;
        let unknown = || format!("no event '{event}' in {}", config.database_url);
        let epoch = if rotate {
            let mut tx = store.begin().await.map_err(|e| e.to_string())?;
            let epoch = tx.rotate_staff_pin(event, "cli").await.map_err(|e| e.to_string())?.ok_or_else(unknown)?;
            tx.commit().await.map_err(|e| e.to_string())?;
            epoch
        } else {
            store.event(event).await.map_err(|e| e.to_string())?.ok_or_else(unknown)?.staff_pin_epoch
        };
        Ok::<_, String>(links.staff_pin(event, epoch))
    }
    .await;
    match result {
        Ok(pin) => {
            println!("staff PIN for {event}: {pin}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every call holds sockets (RTP, TCP) and a flood holds thousands; the common soft
/// limit of 1,024 open files would turn a flood into "too many open files" errors
/// (an outside test saw 11,532 `500`s). Raise the soft limit to the hard one, as
/// servers do at start; say so if that is still low.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            limit.current = limit.maximum;
            if let Err(e) = setrlimit(Resource::Nofile, limit) {
                tracing::warn!(error = %e, "could not raise the open-files limit");
            }
        }
        let now = getrlimit(Resource::Nofile).current;
        if now.is_some_and(|n| n < 65_536) {
            tracing::warn!(open_files = ?now, "the open-files limit is low for a flood: raise it (ulimit -n, LimitNOFILE=)");
        } else {
            tracing::info!(open_files = ?now, "open-files limit");
        }
    }
}
