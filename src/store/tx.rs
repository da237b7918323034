//! [`StoreTx`]: one write transaction, the only way state changes.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::any::AnyArguments;
use sqlx::AnyConnection;
use sqlx::Arguments;
use sqlx::{Any, Transaction};

use super::journal::JournalRow;
use super::seat_counts::{SeatCounts, SeatDelta};
use super::StoreError;

/// One write transaction. Dropping it without [`StoreTx::commit`] rolls back.
pub struct StoreTx {
    pub(super) conn: Conn,
    /// Version of every purchase loaded in this transaction, for the optimistic check on save.
    pub(super) versions: HashMap<String, i64>,
    /// Journal entries of this transaction, written in one statement at commit
    /// (or before the journal is read in it): a call's journal is one round trip.
    pub(super) journal: Vec<JournalRow>,
    pub(super) params: Params,
    /// Mails are enqueued as delivered to the local outbox (no SMTP server).
    pub(super) local_outbox: bool,
    /// SQLite's writer: statements nobody reads a result of (`BEGIN`, inserts),
    /// kept to go in one round trip with the next statement that must run now,
    /// or with `COMMIT`. `None`: every statement runs when it is made.
    pub(super) deferred: Option<super::writer::Deferred>,
    /// Seats this transaction sold or freed, and events whose seats it changed
    /// wholesale: applied to the kept counts when it commits (see [`super::seat_counts`]).
    pub(super) seat_deltas: Vec<SeatDelta>,
    pub(super) seats_changed: Vec<String>,
    seat_counts: Option<Arc<SeatCounts>>,
    /// The purchase created here, written with the next statement or at commit
    /// (see [`super::new_purchase`]).
    pub(super) new_purchase: Option<super::new_purchase::NewPurchase>,
}

/// How a statement built here writes its bound parameters: PostgreSQL numbers
/// them (`$1`, `$2`, …); SQLite gets plain `?` — it keeps numbered parameters
/// in a list it searches once per parameter, which is quadratic in a statement
/// of hundreds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Params {
    Numbered,
    Plain,
}

/// `rows` rows of `row` (e.g. `"($, $, 'x')"`) for a multi-row `VALUES`, every
/// `$` a parameter in turn, numbered from `from` when numbered: one statement
/// for many rows, on SQLite and PostgreSQL.
pub(super) fn values(params: Params, from: usize, rows: usize, row: &str) -> String {
    let mut out = String::with_capacity(rows * (row.len() + 8));
    let mut n = from;
    for i in 0..rows {
        if i > 0 {
            out.push_str(", ");
        }
        for c in row.chars() {
            match (c, params) {
                ('$', Params::Numbered) => {
                    out.push('$');
                    out.push_str(&n.to_string());
                    n += 1;
                }
                ('$', Params::Plain) => out.push('?'),
                _ => out.push(c),
            }
        }
    }
    out
}

/// Parameter `n` (numbered from 1) as written in a statement.
pub(super) fn param(params: Params, n: usize) -> String {
    values(params, n, 1, "$")
}

/// Many rows as one parameter: a JSON array of rows, each an array of columns
/// (see [`json_param`]), unpacked by the database — `json_each` on SQLite,
/// `jsonb_array_elements` on PostgreSQL. `columns` has a letter per column:
/// `t` text, `i` integer. Parameter `n` holds the rows.
///
/// A statement's text is then the same for any number of rows, so it is parsed
/// once and kept: with a multi-row `VALUES`, every size of group was a new
/// statement to parse (under load ~5 % of the gateway's CPU, in SQLite's parser
/// on the writer's thread). The `WHERE` lets SQLite parse an upsert after it.
pub(super) fn json_rows(params: Params, n: usize, columns: &str) -> String {
    let columns: Vec<String> = columns
        .chars()
        .enumerate()
        .map(|(i, kind)| match kind {
            'i' => format!("CAST(value->>{i} AS BIGINT)"),
            _ => format!("value->>{i}"),
        })
        .collect();
    let columns = columns.join(", ");
    match params {
        // `json_each` hands a row (an array) out as JSON text, copied anew each time the
        // column is read, and every `->>` parsed that copy again (when a mail's row had
        // eleven columns, eleven copies of its bodies, each compared and parsed). Turned
        // into binary JSON once per row, each `->>` reads it as it is.
        Params::Plain => format!(
            "WITH rows(value) AS MATERIALIZED (SELECT jsonb(value) FROM json_each(?)) SELECT {columns} FROM rows WHERE true"
        ),
        Params::Numbered => format!("SELECT {columns} FROM jsonb_array_elements(CAST(${n} AS jsonb)) WHERE true"),
    }
}

/// `column` is one of a list of texts, parameter `n` (a JSON array, see
/// [`json_rows`]). On PostgreSQL the list is unpacked once into an array
/// (`= ANY(ARRAY(…))`, an InitPlan), so the rows are found by `column`'s index:
/// as `IN (SELECT … FROM jsonb_array_elements_text(…))` the planner, not knowing
/// the list's length, hashed it and read the whole table (5–9 ms a lookup of
/// call keys once `calls` held 60,000 rows, in the cluster benchmark).
pub(super) fn json_in(params: Params, n: usize, column: &str) -> String {
    match params {
        Params::Plain => format!("{column} IN (SELECT value FROM json_each(?))"),
        Params::Numbered => {
            format!("{column} = ANY(ARRAY(SELECT value FROM jsonb_array_elements_text(CAST(${n} AS jsonb))))")
        }
    }
}

/// The parameter for [`json_rows`] or [`json_in`].
pub(super) fn json_param<T: serde::Serialize + ?Sized>(rows: &T) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|e| StoreError::Corrupt(format!("rows as JSON: {e}")))
}

/// A bound parameter kept with its statement (see [`StoreTx::write`]): owned,
/// and typed even when NULL (PostgreSQL wants to know the type). In JSON (see
/// [`json_rows`]), a string, number or `null`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub(super) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_string))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

/// The bound parameters of a statement (or of several sent together).
pub(super) fn arguments(values: &[Value]) -> Result<AnyArguments<'_>, StoreError> {
    let mut args = AnyArguments::default();
    for v in values {
        match v {
            Value::Text(t) => args.add(t.as_deref()),
            Value::Int(i) => args.add(*i),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// The connection a transaction runs on.
pub(super) enum Conn {
    /// A pooled connection in a sqlx transaction (PostgreSQL: many writers at once).
    Pooled(Transaction<'static, Any>),
    /// SQLite's one writer connection, held for this transaction's turn.
    Writer(super::writer::WriterTransaction),
}

impl StoreTx {
    pub(super) fn pooled(tx: Transaction<'static, Any>, backend: super::Backend, local_outbox: bool) -> Self {
        let params = match backend {
            super::Backend::Sqlite => Params::Plain,
            super::Backend::Postgres => Params::Numbered,
        };
        StoreTx::new(Conn::Pooled(tx), params, local_outbox, None)
    }

    pub(super) fn new(
        conn: Conn,
        params: Params,
        local_outbox: bool,
        deferred: Option<super::writer::Deferred>,
    ) -> Self {
        StoreTx {
            conn,
            versions: HashMap::new(),
            journal: Vec::new(),
            params,
            local_outbox,
            deferred,
            seat_deltas: Vec::new(),
            seats_changed: Vec::new(),
            seat_counts: None,
            new_purchase: None,
        }
    }

    /// Where a pick of `seat_type`'s best free seats may start (see [`SeatCounts::first_free`]).
    pub(super) fn first_free(&self, event_id: &str, seat_type: &str) -> i64 {
        self.seat_counts.as_ref().map_or(0, |a| a.first_free(event_id, seat_type, std::time::Instant::now()))
    }

    /// Tell `seat_counts` what this transaction did to seats when it commits.
    pub(super) fn counting(mut self, seat_counts: &Arc<SeatCounts>) -> Self {
        self.seat_counts = Some(seat_counts.clone());
        self
    }

    /// The connection for a statement to run now: what was deferred is sent first.
    pub(super) async fn conn(&mut self) -> Result<&mut AnyConnection, StoreError> {
        self.flush_new_purchase().await?;
        self.send_deferred(None).await?;
        Ok(self.raw_conn())
    }

    pub(super) fn raw_conn(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Pooled(tx) => tx,
            Conn::Writer(turn) => turn.conn(),
        }
    }

    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.flush_new_purchase().await?;
        self.flush_journal().await?;
        if matches!(self.conn, Conn::Writer(_)) {
            self.send_deferred(Some("COMMIT")).await?;
        }
        match self.conn {
            Conn::Pooled(tx) => tx.commit().await?,
            Conn::Writer(turn) => turn.committed(),
        }
        if let Some(a) = &self.seat_counts {
            a.apply(&self.seat_deltas, std::time::Instant::now());
            for event_id in &self.seats_changed {
                a.forget(event_id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_values_number_every_parameter() {
        assert_eq!(values(Params::Numbered, 1, 1, "($, $)"), "($1, $2)");
        assert_eq!(values(Params::Numbered, 1, 3, "($, 'x', $)"), "($1, 'x', $2), ($3, 'x', $4), ($5, 'x', $6)");
        assert_eq!(values(Params::Plain, 1, 2, "($, 'x', $)"), "(?, 'x', ?), (?, 'x', ?)");
        assert_eq!(values(Params::Numbered, 1, 0, "($)"), "");
        assert_eq!(param(Params::Numbered, 3), "$3");
        assert_eq!(param(Params::Plain, 3), "?");
    }

    #[test]
    fn json_rows_unpack_one_parameter_on_either_backend() {
        assert_eq!(
            json_rows(Params::Plain, 1, "ti"),
            "WITH rows(value) AS MATERIALIZED (SELECT jsonb(value) FROM json_each(?)) \
             SELECT value->>0, CAST(value->>1 AS BIGINT) FROM rows WHERE true"
        );
        assert_eq!(
            json_rows(Params::Numbered, 2, "t"),
            "SELECT value->>0 FROM jsonb_array_elements(CAST($2 AS jsonb)) WHERE true"
        );
        assert_eq!(
            json_in(Params::Numbered, 3, "k"),
            "k = ANY(ARRAY(SELECT value FROM jsonb_array_elements_text(CAST($3 AS jsonb))))"
        );
        assert_eq!(json_in(Params::Plain, 3, "k"), "k IN (SELECT value FROM json_each(?))");
        let rows = [[Value::from("a\"b"), Value::Int(None)], [Value::Text(None), Value::from(7i64)]];
        assert_eq!(json_param(&rows).ok().as_deref(), Some(r#"[["a\"b",null],[null,7]]"#));
    }
}
