//! SQLite's one writer. SQLite lets one connection write at a time; rather than
//! have writers meet in its busy handler (which sleeps, retries and blocks a
//! thread per waiting writer), every write takes a turn on one connection, in
//! FIFO order — transactions ([`WriterTransaction`]) and the mail worker's single
//! statements ([`Store::write_conn`]) alike. Within a transaction's turn,
//! statements nobody reads a result of are deferred ([`StoreTx::write`]) and
//! sent with the next one that must run, or with `COMMIT`. [`Checkpointer`]
//! copies the write-ahead log back in the background and, once per 64 MB,
//! takes a turn so the log starts over.
//!
//! None of this exists on PostgreSQL: there writers run concurrently on pooled
//! connections and every statement runs when it is made.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AnyConnection, AnyPool};

use super::tx::{arguments, Conn, Params, Value};
use super::{Store, StoreError, StoreTx};

/// Every SQLite connection: WAL (readers never block the writer), fsync only at
/// checkpoints, foreign keys, a wait on the file lock (other processes), and a
/// log cut back to 64 MB when it starts over.
/// Checkpoints are left to [`Checkpointer`] (no `wal_autocheckpoint`), so the
/// fsync they end with never happens inside a write transaction's turn.
/// Statement journals (a multi-row statement keeps one, to undo itself alone) are
/// kept in memory rather than in a temporary file: under load they were a fifth
/// of the writer's time, in `pwrite`. The page cache stays at SQLite's default
/// (2 MB): with 32 MB, every commit spent ~5 % of the gateway's CPU in
/// `pcache1TruncateUnsafe` walking the larger cache's hash table.
pub(super) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; \
                                         PRAGMA temp_store = MEMORY;";

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// A checkpoint pass this short leaves little for the catch-up in the writer's turn.
const QUICK_PASS: Duration = Duration::from_millis(3);

/// WAL frames (pages) after which the log is made to start over: 64 MB of 4 KB
/// pages, the size the log file is cut back to when it starts over.
const RESTART_FRAMES: i64 = 16384;

/// SQLite's writer connection. Every write transaction runs on it in turn, so
/// one connection (and the one sqlx worker thread behind it) does all writing:
/// no pool checkout per transaction, no writers meeting in SQLite's busy handler.
pub(super) struct Writer {
    pub(super) conn: AnyConnection,
    /// A transaction on it was left open (dropped without commit, or its future
    /// cancelled): the next turn rolls it back first.
    pub(super) open: bool,
}

impl Writer {
    /// Roll back a transaction the last turn left open, so this turn starts clean.
    pub(super) async fn settle(&mut self) {
        if self.open {
            // "no transaction is active" is fine: the open transaction may have ended with its error.
            let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
            self.open = false;
        }
    }
}

/// A write transaction holding the writer connection (its turn). A turn that ends without a commit (an error,
/// a repeated call key, a cancelled future) is rolled back by a task that keeps
/// the turn until it is done — Drop cannot wait — or, without a runtime, by the
/// next turn.
pub(super) struct WriterTransaction {
    guard: Option<tokio::sync::OwnedMutexGuard<Writer>>,
    committed: bool,
}

impl WriterTransaction {
    /// Take the writer for a transaction. Its `BEGIN IMMEDIATE` is sent with the
    /// transaction's first statement (see [`StoreTx::write`]).
    pub(super) async fn take(mut guard: tokio::sync::OwnedMutexGuard<Writer>) -> WriterTransaction {
        guard.settle().await;
        guard.open = true;
        WriterTransaction { guard: Some(guard), committed: false }
    }

    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.guard {
            Some(g) => &mut g.conn,
            // Only Drop takes the guard.
            None => unreachable!("writer turn used after it ended"),
        }
    }

    /// The transaction's `COMMIT` went through.
    pub(super) fn committed(mut self) {
        self.committed = true;
        if let Some(g) = self.guard.as_mut() {
            g.open = false;
        }
    }
}

impl Drop for WriterTransaction {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let Some(mut guard) = self.guard.take() else { return };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { guard.settle().await });
        }
    }
}

/// See [`Store::write_conn`].
pub(super) enum WriteConn {
    Writer(tokio::sync::OwnedMutexGuard<Writer>),
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
}

impl WriteConn {
    pub(super) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            WriteConn::Writer(turn) => &mut turn.conn,
            WriteConn::Pooled(c) => c,
        }
    }
}

impl Store {
    /// A connection for a single write statement outside a transaction (the mail
    /// worker's). On SQLite it is the writer connection, in its turn: the statement
    /// queues with the transactions instead of meeting them in the busy handler, and
    /// no other connection writes — a write from another connection makes the
    /// writer's next transaction drop its page cache and read it again (timed under
    /// load: ~0.6 ms more per transaction). A transaction the last turn left open is
    /// rolled back first. On PostgreSQL, a pooled connection.
    pub(super) async fn write_conn(&self) -> Result<WriteConn, StoreError> {
        match &self.writer {
            Some(w) => {
                let mut turn = w.clone().lock_owned().await;
                turn.settle().await;
                Ok(WriteConn::Writer(turn))
            }
            None => Ok(WriteConn::Pooled(self.pool.acquire().await?)),
        }
    }
}

/// Statements waiting to be sent together (SQLite's writer, see [`StoreTx::write`]).
#[derive(Debug, Default)]
pub(super) struct Deferred {
    sql: String,
    values: Vec<Value>,
}

impl StoreTx {
    /// A transaction in `turn`: its `BEGIN IMMEDIATE` waits to go with the first
    /// statement that must run (see [`StoreTx::write`]).
    pub(super) fn writer(turn: WriterTransaction, local_outbox: bool) -> Self {
        let begin = Deferred { sql: "BEGIN IMMEDIATE;\n".into(), values: Vec::new() };
        StoreTx::new(Conn::Writer(turn), Params::Plain, local_outbox, Some(begin))
    }

    /// Run a statement whose result nobody reads. On SQLite's writer it waits for
    /// the next statement that must run now, or for `COMMIT`, and goes with it:
    /// each statement is a round trip to sqlx's SQLite thread (two thread wake-ups,
    /// 0.1–0.7 ms when the machine is busy), so a transaction of a few inserts is one trip
    /// instead of one per insert, `BEGIN` and `COMMIT`. A failing deferred
    /// statement fails whatever it went with; the transaction is then rolled back
    /// as any failed one. On PostgreSQL (no parameters in multi-statement
    /// queries) it runs at once.
    pub(super) async fn write(&mut self, sql: &str, values: Vec<Value>) -> Result<(), StoreError> {
        self.flush_new_purchase().await?;
        self.write_now(sql, values).await
    }

    /// [`StoreTx::write`] without first writing the new purchase waiting to be
    /// (see [`super::new_purchase`]): for that purchase's own row.
    pub(super) async fn write_now(&mut self, sql: &str, values: Vec<Value>) -> Result<(), StoreError> {
        match &mut self.deferred {
            Some(d) => {
                d.sql.push_str(sql);
                d.sql.push_str(";\n");
                d.values.extend(values);
            }
            None => {
                sqlx::query_with(sql, arguments(&values)?).execute(self.raw_conn()).await?;
            }
        }
        Ok(())
    }

    /// Send the deferred statements, with `last` after them, in one round trip.
    pub(super) async fn send_deferred(&mut self, last: Option<&str>) -> Result<(), StoreError> {
        let Some(d) = self.deferred.as_mut() else { return Ok(()) };
        if let Some(last) = last {
            d.sql.push_str(last);
        }
        if d.sql.is_empty() {
            return Ok(());
        }
        let Deferred { sql, values } = std::mem::take(d);
        sqlx::query_with(&sql, arguments(&values)?).execute(self.raw_conn()).await?;
        Ok(())
    }

    /// A statement to run now whose result is read (`sql`, its parameters `values`),
    /// sent after what was deferred (see [`StoreTx::write`]) in the same round trip:
    /// the text to send and all the parameters, in order.
    /// The new purchase waiting to be written goes first (see [`super::new_purchase`]).
    pub(super) async fn after_deferred(
        &mut self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<(String, Vec<Value>), StoreError> {
        self.flush_new_purchase().await?;
        Ok(match self.deferred.as_mut() {
            Some(d) if !d.sql.is_empty() => {
                let Deferred { sql: mut all, values: mut before } = std::mem::take(d);
                all.push_str(&sql);
                before.extend(values);
                (all, before)
            }
            _ => (sql, values),
        })
    }
}

/// Copies SQLite's write-ahead log back into the database file in the
/// background (`wal_checkpoint(PASSIVE)`: it never blocks the writer or readers),
/// instead of the writer doing it — with an fsync — every thousand pages in the
/// middle of some call's transaction. Stops with the last clone of the store.
///
/// The log only starts over from its beginning once a checkpoint has caught up
/// with it, and under steady writes a passive one never does: new frames arrive
/// while it copies. So when the log has grown past [`RESTART_FRAMES`], the
/// checkpointer runs passive checkpoints back to back until one is quick, then
/// takes the writer's turn (writes wait) for a last one with little left to copy;
/// the next write starts the log over. Without this the log grew without bound
/// under load (1.7 GB after 140,000 calls), and every page read searched it.
/// That turn is the longest wait a write sees (timed at 4,800 calls/s: p50 9 ms,
/// p90 30 ms), so it comes once per 64 MB of log, about once a second at that rate
/// (at 16 MB, four times as often, p99 INVITE→final doubled).
pub(super) struct Checkpointer(tokio::task::AbortHandle);

impl Checkpointer {
    /// `file`: the database file, synced as the catch-up nears (see [`Self::converge`]).
    pub(super) fn start(pool: AnyPool, writer: Arc<tokio::sync::Mutex<Writer>>, file: Option<PathBuf>) -> Checkpointer {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The log's length when a catch-up last left it fully copied.
            let mut settled = None;
            loop {
                tick.tick().await;
                let passive = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)");
                let frames = match passive.fetch_one(&pool).await {
                    Ok((_busy, frames, _copied)) => frames,
                    Err(e) => {
                        tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                        continue;
                    }
                };
                // Left fully copied by the last catch-up and not written since (idle): the
                // next write starts the log over by itself. (A passive checkpoint that
                // reports everything copied is not enough: under load, writes land
                // between it and the next transaction, which then cannot start over.)
                if frames < RESTART_FRAMES || settled == Some(frames) {
                    continue;
                }
                // Every write waits while the catch-up runs, so it should find little to copy:
                // first copy, outside the turn, what was written during the checkpoint
                // before, until one pass is quick (each copies what came in during the last).
                let Some(passes_us) = Self::converge(&pool, file.as_ref()).await else { continue };
                let mut turn = writer.lock().await;
                let held = std::time::Instant::now();
                turn.settle().await;
                let catch_up = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)");
                let held_ms = || held.elapsed().as_secs_f64() * 1000.0;
                match catch_up.fetch_one(&mut turn.conn).await {
                    Ok((_, log, copied)) if log == copied => {
                        settled = Some(log);
                        tracing::debug!(frames, ?passes_us, held_ms = held_ms(), "SQLite log caught up")
                    }
                    Ok((_, log, copied)) => {
                        tracing::debug!(
                            frames,
                            log,
                            copied,
                            held_ms = held_ms(),
                            "SQLite log not caught up: a reader held on"
                        )
                    }
                    Err(e) => tracing::warn!(error = %e, "SQLite checkpoint (restart) failed; retrying"),
                }
            }
        });
        Checkpointer(task.abort_handle())
    }
}

impl Checkpointer {
    /// Passive checkpoints back to back, each followed by a sync of the files
    /// ([`Self::sync_files`]), until one such round takes under [`QUICK_PASS`] (a few
    /// at most): how long each round took in µs, `None` if a checkpoint failed.
    ///
    /// A passive pass copies pages into the database file without syncing it (only a
    /// pass that catches up does), so without the syncs the catch-up's own fsync wrote
    /// out everything the passes had copied — tens of milliseconds with every write
    /// waiting (p90 23–28 ms at 4,800 calls/s). Synced here, outside the writer's
    /// turn, it finds only what came in during the last round.
    async fn converge(pool: &AnyPool, file: Option<&PathBuf>) -> Option<Vec<u64>> {
        let mut rounds = Vec::new();
        for _ in 0..6 {
            let started = std::time::Instant::now();
            let pass = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)");
            if let Err(e) = pass.fetch_one(pool).await {
                tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                return None;
            }
            if let Some(file) = file {
                Self::sync_files(file.clone()).await;
            }
            rounds.push(started.elapsed().as_micros() as u64);
            if started.elapsed() < QUICK_PASS {
                break;
            }
        }
        Some(rounds)
    }

    /// fsync the database file and its log. A failure is only logged: the
    /// catch-up syncs them itself, so nothing is lost, it only takes longer.
    async fn sync_files(file: PathBuf) {
        let synced = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut log = file.clone().into_os_string();
            log.push("-wal");
            std::fs::File::open(&log)?.sync_data()?;
            std::fs::File::open(&file)?.sync_data()
        })
        .await;
        if let Ok(Err(e)) = synced {
            tracing::debug!(error = %e, "SQLite files not synced before the catch-up");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
