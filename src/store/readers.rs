//! SQLite: a few connections kept for the pages' hot reads, outside the pool.
//!
//! Every statement on an sqlx SQLite connection is a trip to that connection's
//! own thread and back (two thread wake-ups), and a pooled connection costs one
//! more trip when it goes back: the pool pings it (sqlx 0.8 always does, to
//! flush a half-done statement of a dropped future). A holder page reads in
//! three statements ([`super::Store::holder_view`]), so a quarter of its trips
//! were that ping; under load the kernel's wake-ups are a third of the
//! gateway's CPU. These connections are locked, used and unlocked, with no
//! ping: a local file's connection does not go stale. A read that fails with
//! the connection itself gone (its thread ended) opens a new one in its place.
//! PostgreSQL keeps its pool: its connections can be cut by the server, and the
//! pool's checks are what notices.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::any::AnyConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, ConnectOptions, Executor};
use tokio::sync::{Mutex, MutexGuard};

use super::StoreError;

/// How many: two cores' worth of SQLite work at once, and two more so that one
/// slow read does not hold up the pages behind it.
const READERS: usize = 4;

pub(super) struct Readers {
    conns: Vec<Mutex<AnyConnection>>,
    next: AtomicUsize,
    options: AnyConnectOptions,
}

/// A connection for reads: one of the [`Readers`] or, without them, the pool's.
pub(super) enum ReadConn<'a> {
    Kept(MutexGuard<'a, AnyConnection>),
    Pooled(PoolConnection<Any>),
}

impl Deref for ReadConn<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConn::Kept(c) => c,
            ReadConn::Pooled(c) => c,
        }
    }
}

impl DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConn::Kept(c) => c,
            ReadConn::Pooled(c) => c,
        }
    }
}

impl Readers {
    pub(super) async fn open(options: &AnyConnectOptions) -> Result<Readers, StoreError> {
        let mut conns = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            conns.push(Mutex::new(connect(options).await?));
        }
        Ok(Readers { conns, next: AtomicUsize::new(0), options: options.clone() })
    }

    /// A free one if there is one, else the next in turn once it is free.
    pub(super) async fn get(&self) -> ReadConn<'_> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.conns.len() {
            if let Ok(c) = self.conns[(start + i) % self.conns.len()].try_lock() {
                return ReadConn::Kept(c);
            }
        }
        ReadConn::Kept(self.conns[start % self.conns.len()].lock().await)
    }

    /// After `e` on `conn`: if the connection itself is gone, a new one in its place.
    pub(super) async fn mend(&self, conn: &mut ReadConn<'_>, e: &StoreError) {
        if let (true, ReadConn::Kept(c)) = (connection_gone(e), conn) {
            if let Ok(fresh) = connect(&self.options).await {
                **c = fresh;
            }
        }
    }
}

/// Whether `e` says the connection itself is gone (its SQLite thread ended, or
/// its I/O failed), not that a statement failed.
fn connection_gone(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(e) if matches!(**e, sqlx::Error::WorkerCrashed | sqlx::Error::Io(_)))
}

async fn connect(options: &AnyConnectOptions) -> Result<AnyConnection, StoreError> {
    let mut conn = options.connect().await?;
    conn.execute(super::writer::SQLITE_PRAGMAS).await?;
    Ok(conn)
}

impl super::Store {
    /// A connection for a page's reads (see the module).
    pub(super) async fn read_conn(&self) -> Result<ReadConn<'_>, StoreError> {
        match &self.readers {
            Some(r) => Ok(r.get().await),
            None => Ok(ReadConn::Pooled(self.pool.acquire().await?)),
        }
    }

    /// After reads on `conn` ended in `result`: a kept connection found gone is replaced.
    pub(super) async fn after_read<T>(&self, conn: &mut ReadConn<'_>, result: &Result<T, StoreError>) {
        if let (Some(readers), Err(e)) = (&self.readers, result) {
            readers.mend(conn, e).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_connection_is_replaced() {
        assert!(connection_gone(&StoreError::from(sqlx::Error::WorkerCrashed)));
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone");
        assert!(connection_gone(&StoreError::from(sqlx::Error::Io(io))));
        assert!(!connection_gone(&StoreError::from(sqlx::Error::RowNotFound)));
        assert!(!connection_gone(&StoreError::Conflict));
        assert!(!connection_gone(&StoreError::from(sqlx::Error::PoolTimedOut)));
    }
}
