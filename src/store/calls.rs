//! Calls: the record of each INVITE handed to the ticket logic, under its call
//! key (`Call-ID CSeq`). The key is the call's idempotency key: a call repeated
//! (a retransmission, a second gateway) finds its key recorded and answers with
//! the stored outcome, changing nothing.

use std::collections::HashMap;

use sqlx::Row;

use super::tx::{arguments, json_in, json_param, json_rows, values, Value};
use super::{Store, StoreError, StoreTx};
use crate::domain::Timestamp;

/// The record of one INVITE handed to the ticket logic.
#[derive(Debug, Clone)]
pub struct CallRecord<'a> {
    pub call_key: &'a str,
    pub action: &'a str,
    pub dialed: &'a str,
    pub caller: &'a str,
    pub identity_source: &'a str,
    pub trusted: bool,
    pub source: &'a str,
    /// STIR/SHAKEN attestation (`A`/`B`/`C`), if any.
    pub attestation: Option<&'a str>,
    /// How the identity was verified, as JSON.
    pub verification: &'a str,
}

/// The caller of a recorded call and how far their number was trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallIdentityRow {
    pub caller: String,
    /// Which header the number came from (`PAssertedIdentity`, `RemotePartyId`, `From`).
    pub source: String,
    pub trusted: bool,
    /// `A`, `B` or `C`, if a PASSporT or a trusted `verstat` vouched for the number.
    pub attestation: Option<String>,
    /// JSON: `{"kind":"none"}`, `{"kind":"passport","x5u":…}`, `{"kind":"failed","code":438,…}`…
    pub verification: String,
}

const CALL_INSERT: &str = "INSERT INTO calls (call_key, action, dialed, caller, identity_source, trusted, source,
                                              attestation, verification, outcome, created_at) ";
const CALL_ROW: &str = "($, $, $, $, $, $, $, $, $, $, $)";
const CALL_COLUMNS: &str = "tttttitttti";

fn call_values(c: &CallRecord<'_>, outcome: Option<&str>, at: Timestamp) -> [Value; 11] {
    [
        c.call_key.into(),
        c.action.into(),
        c.dialed.into(),
        c.caller.into(),
        c.identity_source.into(),
        (c.trusted as i64).into(),
        c.source.into(),
        c.attestation.into(),
        c.verification.into(),
        outcome.into(),
        at.into(),
    ]
}

impl Store {
    /// Who a call was from, as recorded, by call key (`Call-ID CSeq`).
    pub async fn call_identity(&self, call_key: &str) -> Result<Option<CallIdentityRow>, StoreError> {
        let row = sqlx::query(
            "SELECT caller, identity_source, trusted, attestation, verification FROM calls WHERE call_key = $1",
        )
        .bind(call_key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(CallIdentityRow {
            caller: r.try_get("caller")?,
            source: r.try_get("identity_source")?,
            trusted: r.try_get::<i64, _>("trusted")? != 0,
            attestation: r.try_get("attestation")?,
            verification: r.try_get::<Option<String>, _>("verification")?.unwrap_or_default(),
        }))
    }
}

impl StoreTx {
    /// Claim an idempotency key for a call, before its work (the outcome follows
    /// with [`StoreTx::finish_call`]). `Some(outcome)` if this key was already
    /// handled (the stored outcome is to be repeated, nothing redone).
    pub async fn claim_call(&mut self, c: &CallRecord<'_>, at: Timestamp) -> Result<Option<String>, StoreError> {
        self.insert_call(c, None, at).await
    }

    /// Record a handled call with its outcome, at the end of the call's transaction.
    /// `Some(outcome)` if the key was recorded before: the caller must then roll this
    /// transaction back and answer with the stored outcome (a repeat changes nothing).
    /// One statement where [`StoreTx::claim_call`] + [`StoreTx::finish_call`] take two.
    pub async fn record_call(
        &mut self,
        c: &CallRecord<'_>,
        outcome: &str,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.insert_call(c, Some(outcome), at).await
    }

    /// Insert the call's row unless its key is there; `Some(stored outcome)` if it was.
    async fn insert_call(
        &mut self,
        c: &CallRecord<'_>,
        outcome: Option<&str>,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let sql =
            format!("{CALL_INSERT}VALUES {} ON CONFLICT (call_key) DO NOTHING", values(self.params, 1, 1, CALL_ROW));
        let row = call_values(c, outcome, at);
        let args = arguments(&row)?;
        let r = sqlx::query_with(&sql, args).execute(self.conn().await?).await?;
        if r.rows_affected() == 1 {
            return Ok(None);
        }
        let (previous,): (Option<String>,) = sqlx::query_as("SELECT outcome FROM calls WHERE call_key = $1")
            .bind(c.call_key)
            .fetch_one(self.conn().await?)
            .await?;
        Ok(Some(previous.unwrap_or_default()))
    }

    /// The stored outcomes of those of `keys` that were recorded before.
    pub async fn recorded_calls(&mut self, keys: &[&str]) -> Result<HashMap<String, String>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!("SELECT call_key, outcome FROM calls WHERE {}", json_in(self.params, 1, "call_key"));
        let (sql, values) = self.after_deferred(sql, vec![json_param(keys)?.into()]).await?;
        let q = sqlx::query_as_with::<_, (String, Option<String>), _>(&sql, arguments(&values)?);
        let rows = q.fetch_all(self.raw_conn()).await?;
        Ok(rows.into_iter().map(|(k, o)| (k, o.unwrap_or_default())).collect())
    }

    /// Record handled calls with their outcomes in one statement. A key recorded
    /// before (look with [`StoreTx::recorded_calls`] first) fails the statement
    /// as a [`StoreError::Conflict`].
    pub async fn record_calls(&mut self, calls: &[(CallRecord<'_>, &str)], at: Timestamp) -> Result<(), StoreError> {
        // In key order, so concurrent transactions (PostgreSQL) wait on each other's keys
        // in one order rather than deadlock.
        let mut calls: Vec<_> = calls.iter().collect();
        calls.sort_by_key(|(c, _)| c.call_key);
        if calls.is_empty() {
            return Ok(());
        }
        let sql = format!("{CALL_INSERT}{}", json_rows(self.params, 1, CALL_COLUMNS));
        let rows: Vec<_> = calls.iter().map(|(c, outcome)| call_values(c, Some(*outcome), at)).collect();
        self.write(&sql, vec![json_param(&rows)?.into()]).await
    }

    pub async fn finish_call(&mut self, call_key: &str, outcome: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE calls SET outcome = $1 WHERE call_key = $2")
            .bind(outcome)
            .bind(call_key)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}
