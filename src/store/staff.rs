//! Venue staff accounts (per event, optionally per gate) and their tokens: a
//! one-time login URL's, a browser session's, a scanning device's. Only the
//! SHA-256 of a token is stored (`staff_tokens.token_hash`, hex): the database
//! alone lets nobody scan. Revoking an account stops all its tokens at once.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError, StoreTx};
use crate::domain::Timestamp;

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Staff {
    pub id: String,
    pub event_id: String,
    pub name: String,
    pub gate: Option<String>,
    pub revoked: bool,
}

/// What a staff token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The one-time login URL (`/staff/login/{token}`): used once, for a session.
    Login,
    /// A browser's session cookie, made by a login.
    Session,
    /// A scanning device's bearer token (`POST /staff/api/scan`).
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Login => "login",
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

/// The stored form of a token: SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn staff_from_row(r: &AnyRow) -> Result<Staff, StoreError> {
    Ok(Staff {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        name: r.try_get("name")?,
        gate: r.try_get("gate")?,
        revoked: r.try_get::<i64, _>("revoked")? != 0,
    })
}

impl Store {
    /// The staff account a live token of `kind` belongs to: not revoked, nor its
    /// account; a login token not used yet.
    pub async fn staff_by_token(&self, token: &str, kind: TokenKind) -> Result<Option<Staff>, StoreError> {
        let row = sqlx::query(
            "SELECT s.* FROM staff_tokens t JOIN staff s ON s.id = t.staff_id
             WHERE t.token_hash = $1 AND t.kind = $2 AND t.revoked = 0 AND s.revoked = 0 AND t.used_at IS NULL",
        )
        .bind(token_hash(token))
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    /// An event's staff accounts, oldest first.
    pub async fn staff_of_event(&self, event_id: &str) -> Result<Vec<Staff>, StoreError> {
        let rows = sqlx::query("SELECT * FROM staff WHERE event_id = $1 ORDER BY created_at, id")
            .bind(event_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(staff_from_row).collect()
    }
}

/// A staff account just made, with its one-time login token and, if asked
/// for, a scanning device's API token (shown once: only their hashes are kept).
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub staff: Staff,
    pub login_token: String,
    pub api_token: Option<String>,
}

/// A new token: 32 random bytes, base64url (43 characters).
pub fn new_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

impl Store {
    /// `dialticket staff add`: a staff account for `event_id` with its tokens.
    pub async fn add_staff(
        &self,
        event_id: &str,
        name: &str,
        gate: Option<&str>,
        api: bool,
        actor: &str,
        at: Timestamp,
    ) -> Result<NewStaff, StoreError> {
        let login_token = new_token();
        let api_token = api.then(new_token);
        let mut tx = self.begin().await?;
        let staff = tx.add_staff(event_id, name, gate, actor, at).await?;
        tx.add_staff_token(&staff.id, &login_token, TokenKind::Login, at).await?;
        if let Some(token) = &api_token {
            tx.add_staff_token(&staff.id, token, TokenKind::Api, at).await?;
        }
        tx.commit().await?;
        Ok(NewStaff { staff, login_token, api_token })
    }
}

impl StoreTx {
    /// A new staff account for `event_id` (journalled on the event, by `actor`).
    pub async fn add_staff(
        &mut self,
        event_id: &str,
        name: &str,
        gate: Option<&str>,
        actor: &str,
        at: Timestamp,
    ) -> Result<Staff, StoreError> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        sqlx::query("INSERT INTO staff (id, event_id, name, gate, revoked, created_at) VALUES ($1, $2, $3, $4, 0, $5)")
            .bind(&id)
            .bind(event_id)
            .bind(name)
            .bind(gate)
            .bind(at)
            .execute(self.conn().await?)
            .await?;
        let detail = serde_json::json!({"staff": id, "name": name, "gate": gate}).to_string();
        self.journal("event", event_id, "staff-added", None, None, actor, &detail);
        Ok(Staff {
            id,
            event_id: event_id.to_string(),
            name: name.to_string(),
            gate: gate.map(str::to_string),
            revoked: false,
        })
    }

    /// Store a token of `kind` for `staff_id` (its hash only).
    pub async fn add_staff_token(
        &mut self,
        staff_id: &str,
        token: &str,
        kind: TokenKind,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO staff_tokens (token_hash, staff_id, kind, created_at, revoked) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(token_hash(token))
        .bind(staff_id)
        .bind(kind.as_str())
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Use a one-time login token: its account, once (a second use finds nothing).
    pub async fn use_login_token(&mut self, token: &str, at: Timestamp) -> Result<Option<Staff>, StoreError> {
        let used: Option<(String,)> = sqlx::query_as(
            "UPDATE staff_tokens SET used_at = $1
             WHERE token_hash = $2 AND kind = 'login' AND used_at IS NULL AND revoked = 0 RETURNING staff_id",
        )
        .bind(at)
        .bind(token_hash(token))
        .fetch_optional(self.conn().await?)
        .await?;
        let Some((staff_id,)) = used else { return Ok(None) };
        let row = sqlx::query("SELECT * FROM staff WHERE id = $1 AND revoked = 0")
            .bind(&staff_id)
            .fetch_optional(self.conn().await?)
            .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    /// Revoke staff account `id` and so every token of it; `None`: no such account.
    pub async fn revoke_staff(&mut self, id: &str, actor: &str, at: Timestamp) -> Result<Option<Staff>, StoreError> {
        let row = sqlx::query("UPDATE staff SET revoked = 1, revoked_at = $1 WHERE id = $2 RETURNING *")
            .bind(at)
            .bind(id)
            .fetch_optional(self.conn().await?)
            .await?;
        let Some(staff) = row.as_ref().map(staff_from_row).transpose()? else { return Ok(None) };
        sqlx::query("UPDATE staff_tokens SET revoked = 1 WHERE staff_id = $1")
            .bind(id)
            .execute(self.conn().await?)
            .await?;
        let detail = serde_json::json!({"staff": staff.id, "name": staff.name}).to_string();
        self.journal("event", &staff.event_id, "staff-revoked", None, None, actor, &detail);
        Ok(Some(staff))
    }
}
