//! Storage through sqlx: SQLite by default, PostgreSQL when several gateways
//! share one database. One query text serves both (`$N` placeholders,
//! portable SQL, flags as 0/1 integers), run through sqlx's `Any` driver.
//!
//! Every state change is one database transaction ([`StoreTx`]) that writes
//! the new state, its journal rows and any mail to send (the outbox)
//! together, so a crash can lose neither a mail nor a journal row and can
//! never apply a change twice: calls carry an idempotency key
//! (`calls.call_key`), orders a form token.
//!
//! Concurrency, the same rules on both backends:
//! - seats are taken with `UPDATE … WHERE state = 'free'` (on PostgreSQL the
//!   picked rows locked `FOR UPDATE SKIP LOCKED`), so two buyers can never get
//!   the same seat, and concurrent buyers spread over the free seats;
//! - purchases carry a `version`; an update that finds another version was
//!   raced and fails with [`StoreError::Conflict`], and the caller retries the
//!   whole transaction ([`Store::retry`]);
//! - SQLite write transactions start with `BEGIN IMMEDIATE` so writers queue
//!   on the database lock instead of failing when a read lock is upgraded.

mod accounts;
mod billing;
mod calls;
mod catalog;
mod door_log;
mod event_admin;
mod event_cancel;
mod holder;
mod journal;
mod new_purchase;
mod offline;
mod ops;
mod orders;
mod outbox;
mod purchases;
mod readers;
mod seat_counts;
mod seats;
mod staff;
mod tx;
mod users;
mod waitlist;
mod writer;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

pub use accounts::{NewAccount, SetupToken};
pub use billing::{NewPayout, Payout};
pub use calls::{CallIdentityRow, CallRecord};
pub use door_log::StaffRow;
pub use event_admin::{EventControls, EventSaveError, SeatShape};
pub use event_cancel::EventCancellation;
pub use holder::{HolderView, PinLock};
pub use journal::JournalEntry;
pub use offline::{OfflineScanRow, OfflineSeat};
pub use ops::MAIL_STATES;
pub use orders::{OrderPage, OrderQuery, OrderSeat, SaleRow, CHANNEL_PHONE_LINK, CHANNEL_WEB};
pub use outbox::{MailBody, NewMail, OutboxBacklog, OutboxMail};
pub use purchases::SeatState;
pub use seats::{DoorCounts, IssuedCode, Reissued, TicketTotals};
pub use staff::{new_token, token_hash, NewStaff, Staff, TokenKind};
pub use tx::StoreTx;
pub use users::{new_user_number, PhoneUser, TouchUser};
pub use waitlist::{Joined, LinePlace};

use crate::domain::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL '{0}' (use sqlite://FILE or postgres://…)")]
    Unsupported(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unknown organizer '{0}'")]
    UnknownOrganizer(String),
    #[error("only {available} '{seat_type}' seats left")]
    NotEnoughSeats { seat_type: String, available: i64 },
    #[error("no such seat type '{0}'")]
    NoSuchSeatType(String),
    /// A seat chosen on the seat map is not free (or not of the type ordered).
    #[error("seat {0} is not free")]
    SeatTaken(String),
    /// Another transaction changed the same rows first; retry the whole transaction.
    #[error("concurrent update, try again")]
    Conflict,
    /// The database cannot be reached now (connection refused or lost, no
    /// connection free in time, the server shutting down or out of connection
    /// slots): nothing was changed, and the same request may succeed shortly.
    /// The edges answer it with 503 and Retry-After ([`RETRY_AFTER_SECS`]).
    #[error("database unavailable: {0}")]
    Unavailable(Arc<sqlx::Error>),
}

/// Seconds a caller or browser is asked to wait (Retry-After, RFC 3261 §21.5.4,
/// RFC 9110 §10.2.3) when the database is unavailable: about what a PostgreSQL
/// restart takes.
pub const RETRY_AFTER_SECS: u32 = 5;

impl StoreError {
    /// Whether this is [`StoreError::Unavailable`]: answer "try again later", not "failed".
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// The same [`StoreError::Unavailable`] once more (to answer every request
    /// that waited on one failed attempt); `None` for any other error.
    pub fn unavailable_again(&self) -> Option<StoreError> {
        match self {
            StoreError::Unavailable(e) => Some(StoreError::Unavailable(e.clone())),
            _ => None,
        }
    }
}

/// Whether `e` says the database is out of reach rather than that the request
/// was wrong: I/O and TLS errors, the pool's acquire timeout or closing, a
/// connection that died mid-protocol, and PostgreSQL's SQLSTATE class 08
/// (connection exception), 57P01–57P03 (admin / crash shutdown, cannot connect
/// now) and 53300 (too many connections).
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // Lost races surface as database errors; they are retryable, not failures.
        if let sqlx::Error::Database(db) = &e {
            let code = db.code().unwrap_or_default();
            // Postgres: unique_violation, serialization_failure, deadlock_detected.
            // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_CONSTRAINT_UNIQUE (2067) / PRIMARYKEY (1555).
            if db.is_unique_violation()
                || matches!(code.as_ref(), "23505" | "40001" | "40P01" | "5" | "6" | "2067" | "1555")
            {
                tracing::debug!(%code, error = %db, "lost a race");
                return StoreError::Conflict;
            }
        }
        if unavailable(&e) {
            return StoreError::Unavailable(Arc::new(e));
        }
        StoreError::Db(e)
    }
}

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time: write transactions take turns on one
    /// connection, in FIFO order, instead of meeting in SQLite's busy handler
    /// (which sleeps, retries and blocks a thread per waiting writer). `None` on
    /// PostgreSQL, where writers run concurrently on pooled connections.
    writer: Option<Arc<tokio::sync::Mutex<writer::Writer>>>,
    /// SQLite: the background checkpointer.
    _checkpointer: Option<Arc<writer::Checkpointer>>,
    /// No SMTP server: mails are delivered to the local outbox as they are
    /// enqueued (see [`Store::with_local_outbox`]).
    local_outbox: bool,
    /// SQLite: the database file (for the free space where it lives).
    file: Option<PathBuf>,
    /// How to open a connection outside the pool (the health probe's).
    options: AnyConnectOptions,
    /// Whether the database answered the last health probe ([`crate::health`]).
    availability: crate::health::Availability,
    /// Free seats per seat type, kept for a second (see [`seat_counts`]).
    seat_counts: Arc<seat_counts::SeatCounts>,
    /// SQLite: connections kept for the pages' hot reads (see [`readers`]).
    readers: Option<Arc<readers::Readers>>,
}

/// How long a request waits for a database connection before it is answered
/// "unavailable" (503): long enough for a pool busy with a rush to free one
/// (3 s was not, for twenty transactions racing on one row on a loaded
/// machine), short enough to answer before a caller gives up (the SIP
/// handler's 20 s). Once the health probe has seen the database gone (within
/// a second or two), calls and pages get 503 at once without waiting here.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled PostgreSQL connection idle this long is pinged before it is used.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

pub fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Open (creating an SQLite file if needed) the database and run migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Unsupported(url.to_string()));
        };
        let mut url = url.to_string();
        let mut file = None;
        if backend == Backend::Sqlite {
            let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default();
            if !path.is_empty() && !path.starts_with(':') {
                file = Some(PathBuf::from(path));
            }
            if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(parent);
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
            }
        }
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            // A request waits this long at most for a connection (sqlx's default is
            // 30 s): when PostgreSQL is down, new connections are refused and retried
            // until then, and the request is answered 503 (`StoreError::Unavailable`)
            // instead of hanging past the caller's patience.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A ping before every checkout was one more round trip per query and per
            // transaction (a third of a purchase's on PostgreSQL). A connection used
            // within the last second is handed out as it is; one idle longer (the
            // server may have restarted or cut it since) is pinged first. (sqlx also
            // pings a connection as it goes back to the pool, and closes it if that
            // fails.) SQLite's connections, to a local file, never go stale.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for > PING_IDLE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(writer::SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let writer = match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::AnyConnection::connect_with(&options).await?;
                conn.execute(writer::SQLITE_PRAGMAS).await?;
                Some(Arc::new(tokio::sync::Mutex::new(writer::Writer { conn, open: false })))
            }
            Backend::Postgres => None,
        };
        let readers = match backend {
            Backend::Sqlite => Some(Arc::new(readers::Readers::open(&options).await?)),
            Backend::Postgres => None,
        };
        let checkpointer =
            writer.as_ref().map(|w| Arc::new(writer::Checkpointer::start(pool.clone(), w.clone(), file.clone())));
        Ok(Store {
            pool,
            backend,
            writer,
            _checkpointer: checkpointer,
            local_outbox: false,
            file,
            options,
            availability: Default::default(),
            seat_counts: Arc::default(),
            readers,
        })
    }

    /// Mails go nowhere but the local outbox (no SMTP server): store them as
    /// delivered there when they are enqueued, rather than as pending for the
    /// mail worker to mark them one write later.
    pub fn with_local_outbox(mut self, local: bool) -> Store {
        self.local_outbox = local;
        self
    }

    /// Whether the database answered the last health probe; kept by
    /// [`crate::health::watch_database`], read by the edges to answer 503 at once.
    pub fn availability(&self) -> &crate::health::Availability {
        &self.availability
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Start a write transaction.
    ///
    /// On SQLite this waits for the writer's turn (see [`Store`]); do not open a
    /// second write transaction while holding one.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        match &self.writer {
            Some(w) => Ok(StoreTx::writer(
                writer::WriterTransaction::take(w.clone().lock_owned().await).await,
                self.local_outbox,
            )
            .counting(&self.seat_counts)),
            // Waiting for a connection stops when the health probe finds the
            // database gone: the caller gets "unavailable" (503) then, not after
            // the pool's acquire timeout.
            None => {
                let tx = tokio::select! {
                    tx = self.pool.begin() => tx?,
                    _ = self.availability.down() => {
                        return Err(StoreError::Unavailable(Arc::new(sqlx::Error::Io(std::io::Error::other(
                            "the health probe finds the database unreachable",
                        )))))
                    }
                };
                Ok(StoreTx::pooled(tx, self.backend, self.local_outbox).counting(&self.seat_counts))
            }
        }
    }

    /// Run `attempt` (one whole transaction) again when it lost a race, a few times.
    pub async fn retry<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: IsConflict,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                // Many racers on one row (fifty issue calls for one ticket) each lose
                // several rounds; on a loaded machine a transaction takes longer and
                // loses more, so there are tries enough for that (a few seconds at most).
                Err(e) if e.is_conflict() && tries < 12 => {
                    tries += 1;
                    // Jitter so the racers do not collide again in lockstep.
                    let ms = rand::random_range(1..(5u64 << tries.min(6)));
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                other => return other,
            }
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether the database server answers now. On PostgreSQL a `SELECT 1` on
    /// `conn`, a connection of the prober's own outside the pool — so a pool
    /// busy with work never reads as an outage, and a refused connection
    /// answers at once instead of after the pool's acquire timeout — opened
    /// again when it died (a server restart ends it). On SQLite, [`Store::ping`].
    pub async fn probe(&self, conn: &mut Option<sqlx::AnyConnection>) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            return self.ping().await;
        }
        if let Some(c) = conn.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut *c).await.is_ok() {
                return Ok(());
            }
            *conn = None;
        }
        let mut fresh = sqlx::AnyConnection::connect_with(&self.options).await?;
        sqlx::query("SELECT 1").execute(&mut fresh).await?;
        *conn = Some(fresh);
        Ok(())
    }

    /// Bytes free to unprivileged writers on the file system of the SQLite database
    /// (`None` on PostgreSQL, whose disk is the server's, or if it cannot be read).
    /// A small write may still fit where a call's transaction no longer does, so
    /// `/healthz` looks at this too.
    pub fn free_space(&self) -> Option<u64> {
        let file = self.file.as_ref()?;
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let st = rustix::fs::statvfs(dir).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// Whether the database takes a write now (one row of `health`, committed):
    /// a full disk or a read-only file fails every write while reads still answer.
    pub async fn write_probe(&self, at: Timestamp) -> Result<(), StoreError> {
        let mut w = self.write_conn().await?;
        sqlx::query("UPDATE health SET checked_at = $1 WHERE id = 1").bind(at).execute(w.conn()).await?;
        Ok(())
    }
}

/// Errors that may mean "lost a race, run the transaction again".
pub trait IsConflict {
    fn is_conflict(&self) -> bool;
}

impl IsConflict for StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_trouble_is_unavailable_and_wrong_requests_are_not() {
        let io = || sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        for e in [io(), sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            let shown = e.to_string();
            let e = StoreError::from(e);
            assert!(e.is_unavailable(), "{shown}");
            assert!(e.unavailable_again().is_some_and(|again| again.is_unavailable()));
        }
        for e in [sqlx::Error::RowNotFound, sqlx::Error::ColumnNotFound("x".into())] {
            let e = StoreError::from(e);
            assert!(!e.is_unavailable() && e.unavailable_again().is_none(), "{e}");
        }
    }
}
