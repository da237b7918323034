//! The journal: an append-only record of every state change (seed 002's sales
//! journal) — what happened to which purchase, event or phone user, from which
//! state to which, by whom and when. A transaction keeps its entries
//! ([`StoreTx::journal`]) and writes them in one statement at commit, so a
//! change and its journal rows are committed together or not at all.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::tx::{arguments, json_in, json_param, json_rows, param, Value};
use super::{Store, StoreError, StoreTx};
use crate::domain::Timestamp;

/// A journal row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JournalEntry {
    pub seq: i64,
    pub at: i64,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor: String,
    pub detail: String,
}

/// A journal entry waiting for its transaction's commit.
pub(super) struct JournalRow {
    at: Timestamp,
    entity: String,
    entity_id: String,
    action: String,
    from: Option<String>,
    to: Option<String>,
    actor: String,
    detail: String,
}

impl Store {
    /// How many `action` entries `entity_id` has in the journal since `since`.
    pub async fn journal_count_since(&self, entity_id: &str, action: &str, since: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM journal WHERE entity_id = $1 AND action = $2 AND at >= $3")
                .bind(entity_id)
                .bind(action)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }

    pub async fn journal_for(&self, entity_id: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query("SELECT * FROM journal WHERE entity_id = $1 ORDER BY seq")
            .bind(entity_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(journal_entry_from_row).collect()
    }

    /// The whole journal, oldest first (CSV export).
    pub async fn journal_all(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query("SELECT * FROM journal ORDER BY seq").fetch_all(&self.pool).await?;
        rows.iter().map(journal_entry_from_row).collect()
    }
}

impl StoreTx {
    /// Append to the journal (written at commit, with the transaction).
    #[allow(clippy::too_many_arguments)]
    pub fn journal(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        detail: &str,
    ) {
        self.journal_at(entity, entity_id, action, from, to, actor, detail, super::now())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn journal_at(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        actor: &str,
        detail: &str,
        at: Timestamp,
    ) {
        self.journal.push(JournalRow {
            at,
            entity: entity.into(),
            entity_id: entity_id.into(),
            action: action.into(),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            actor: actor.into(),
            detail: detail.into(),
        });
    }

    /// Write the journal entries so far, in one statement (deferred on SQLite's writer).
    pub(super) async fn flush_journal(&mut self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.journal);
        if pending.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO journal (at, entity, entity_id, action, from_state, to_state, actor, detail) {}",
            json_rows(self.params, 1, "ittttttt")
        );
        let rows: Vec<[Value; 8]> = pending
            .iter()
            .map(|j| {
                [
                    j.at.into(),
                    j.entity.as_str().into(),
                    j.entity_id.as_str().into(),
                    j.action.as_str().into(),
                    j.from.as_deref().into(),
                    j.to.as_deref().into(),
                    j.actor.as_str().into(),
                    j.detail.as_str().into(),
                ]
            })
            .collect();
        self.write(&sql, vec![json_param(&rows)?.into()]).await
    }

    /// How many `action` entries each of `entity_ids` has in the journal since
    /// `since`, in one statement (entities without such entries are missing from the map).
    pub async fn journal_counts_since(
        &mut self,
        entity_ids: &[&str],
        action: &str,
        since: i64,
    ) -> Result<HashMap<String, i64>, StoreError> {
        self.flush_journal().await?;
        if entity_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT entity_id, COUNT(*) FROM journal WHERE action = {} AND at >= {} AND {}
             GROUP BY entity_id",
            param(self.params, 1),
            param(self.params, 2),
            json_in(self.params, 3, "entity_id")
        );
        let (sql, values) =
            self.after_deferred(sql, vec![action.into(), since.into(), json_param(entity_ids)?.into()]).await?;
        let q = sqlx::query_as_with::<_, (String, i64), _>(&sql, arguments(&values)?);
        Ok(q.fetch_all(self.raw_conn()).await?.into_iter().collect())
    }
}

pub(super) fn journal_entry_from_row(r: &AnyRow) -> Result<JournalEntry, StoreError> {
    Ok(JournalEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        entity: r.try_get("entity")?,
        entity_id: r.try_get("entity_id")?,
        action: r.try_get("action")?,
        from_state: r.try_get("from_state")?,
        to_state: r.try_get("to_state")?,
        actor: r.try_get("actor")?,
        detail: r.try_get("detail")?,
    })
}
