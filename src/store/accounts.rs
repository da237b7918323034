//! Back-office accounts (operators, organizers) and their tokens: a one-time
//! setup link's and a browser session's. Only the SHA-256 of a token is stored
//! (as for staff, [`super::token_hash`]); what a role may do is
//! [`crate::accounts`]'s, pure.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{new_token, token_hash, Store, StoreError, StoreTx};
use crate::accounts::{Account, Role, SESSION_TTL, SETUP_LINK_TTL};
use crate::domain::Timestamp;

/// An account just made, with its one-time setup token (shown once).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: Account,
    pub setup_token: String,
}

/// A setup token as stored: its account, when it was used, when it expires.
#[derive(Debug, Clone)]
pub struct SetupToken {
    pub account: Account,
    pub used_at: Option<Timestamp>,
    pub expires_at: Timestamp,
}

fn account_from_row(r: &AnyRow) -> Result<Account, StoreError> {
    let role: String = r.try_get("role")?;
    let organizer: Option<String> = r.try_get("organizer_id")?;
    let role =
        Role::from_columns(&role, organizer).ok_or_else(|| StoreError::Corrupt(format!("account role {role}")))?;
    let hash: Option<String> = r.try_get("password_hash")?;
    Ok(Account { id: r.try_get("id")?, name: r.try_get("name")?, role, has_password: hash.is_some() })
}

impl Store {
    /// A new account `name` with `role` and its one-time setup token; `None`
    /// when the name is taken. An organizer role must name an organizer of the
    /// catalog ([`StoreError::UnknownOrganizer`]).
    pub async fn add_account(
        &self,
        name: &str,
        role: &Role,
        actor: &str,
        at: Timestamp,
    ) -> Result<Option<NewAccount>, StoreError> {
        let setup_token = new_token();
        let mut tx = self.begin().await?;
        if let Role::Organizer(org) = role {
            let known: Option<(String,)> = sqlx::query_as("SELECT id FROM organizers WHERE id = $1")
                .bind(org)
                .fetch_optional(tx.conn().await?)
                .await?;
            if known.is_none() {
                return Err(StoreError::UnknownOrganizer(org.clone()));
            }
        }
        let taken: Option<(String,)> = sqlx::query_as("SELECT id FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(tx.conn().await?)
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let organizer = match role {
            Role::Organizer(o) => Some(o.as_str()),
            Role::Operator => None,
        };
        sqlx::query(
            "INSERT INTO accounts (id, name, role, organizer_id, password_hash, created_at, created_by)
             VALUES ($1, $2, $3, $4, NULL, $5, $6)",
        )
        .bind(&id)
        .bind(name)
        .bind(role.as_str())
        .bind(organizer)
        .bind(at)
        .bind(actor)
        .execute(tx.conn().await?)
        .await?;
        tx.add_account_token(&id, &setup_token, "setup", at, at + SETUP_LINK_TTL).await?;
        let detail = serde_json::json!({"name": name, "role": role.as_str(), "organizer": organizer}).to_string();
        tx.journal("account", &id, "account-added", None, None, actor, &detail);
        tx.commit().await?;
        let account = Account { id, name: name.to_string(), role: role.clone(), has_password: false };
        Ok(Some(NewAccount { account, setup_token }))
    }

    /// A setup token, used or not, expired or not (the page says which).
    pub async fn setup_token(&self, token: &str) -> Result<Option<SetupToken>, StoreError> {
        let row = sqlx::query(
            "SELECT a.*, t.used_at AS t_used_at, t.expires_at AS t_expires_at
             FROM account_tokens t JOIN accounts a ON a.id = t.account_id
             WHERE t.token_hash = $1 AND t.kind = 'setup' AND t.revoked = 0",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SetupToken {
            account: account_from_row(&r)?,
            used_at: r.try_get("t_used_at")?,
            expires_at: r.try_get("t_expires_at")?,
        }))
    }

    /// Use setup token `token` (once, before it expires) to set the account's
    /// password (`password_hash`, hashed beforehand) and open session `session`.
    /// `None`: the token is used, expired or unknown (nothing changed).
    pub async fn use_setup_token(
        &self,
        token: &str,
        password_hash: &str,
        session: &str,
        at: Timestamp,
    ) -> Result<Option<Account>, StoreError> {
        let mut tx = self.begin().await?;
        let used: Option<(String,)> = sqlx::query_as(
            "UPDATE account_tokens SET used_at = $1
             WHERE token_hash = $2 AND kind = 'setup' AND used_at IS NULL AND revoked = 0 AND expires_at > $3
             RETURNING account_id",
        )
        .bind(at)
        .bind(token_hash(token))
        .bind(at)
        .fetch_optional(tx.conn().await?)
        .await?;
        let Some((account_id,)) = used else { return Ok(None) };
        let row =
            sqlx::query("UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE id = $3 RETURNING *")
                .bind(password_hash)
                .bind(at)
                .bind(&account_id)
                .fetch_one(tx.conn().await?)
                .await?;
        let account = account_from_row(&row)?;
        tx.add_account_token(&account_id, session, "session", at, at + SESSION_TTL).await?;
        tx.journal("account", &account_id, "password-set", None, None, &format!("account:{account_id}"), "{}");
        tx.commit().await?;
        Ok(Some(account))
    }

    /// The account named `name` and its password hash (`None` until set).
    pub async fn account_by_name(&self, name: &str) -> Result<Option<(Account, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((account_from_row(&r)?, r.try_get("password_hash")?)))
    }

    /// An account's password hash.
    pub async fn account_password_hash(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = sqlx::query_as("SELECT password_hash FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(h,)| h))
    }

    /// A new session for account `id` (after a good login).
    pub async fn add_session(&self, id: &str, session: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.add_account_token(id, session, "session", at, at + SESSION_TTL).await?;
        tx.journal("account", id, "login", None, None, &format!("account:{id}"), "{}");
        tx.commit().await
    }

    /// The account of a live session: not expired, not logged out.
    pub async fn account_by_session(&self, session: &str, now: Timestamp) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(
            "SELECT a.* FROM account_tokens t JOIN accounts a ON a.id = t.account_id
             WHERE t.token_hash = $1 AND t.kind = 'session' AND t.revoked = 0 AND t.expires_at > $2",
        )
        .bind(token_hash(session))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Log out: the session stops working.
    pub async fn end_session(&self, session: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE account_tokens SET revoked = 1 WHERE token_hash = $1 AND kind = 'session'")
            .bind(token_hash(session))
            .execute(tx.conn().await?)
            .await?;
        tx.commit().await
    }

    /// A new password for account `id` (hashed beforehand); every other session
    /// of the account ends (a stolen one among them), `keep` stays.
    pub async fn change_password(
        &self,
        id: &str,
        password_hash: &str,
        keep: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(at)
            .bind(id)
            .execute(tx.conn().await?)
            .await?;
        sqlx::query(
            "UPDATE account_tokens SET revoked = 1 WHERE account_id = $1 AND kind = 'session' AND token_hash <> $2",
        )
        .bind(id)
        .bind(token_hash(keep))
        .execute(tx.conn().await?)
        .await?;
        tx.journal("account", id, "password-changed", None, None, &format!("account:{id}"), "{}");
        tx.commit().await
    }

    /// Every account, operators first, then by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY CASE role WHEN 'operator' THEN 0 ELSE 1 END, name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// The catalog's organizers: (id, name), by name.
    pub async fn organizers(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name FROM organizers ORDER BY name, id").fetch_all(&self.pool).await?)
    }
}

impl StoreTx {
    async fn add_account_token(
        &mut self,
        account_id: &str,
        token: &str,
        kind: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO account_tokens (token_hash, account_id, kind, created_at, expires_at, revoked)
             VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(token_hash(token))
        .bind(account_id)
        .bind(kind)
        .bind(at)
        .bind(expires_at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }
}
