//! What the back office's operator pages read (`web::backoffice::ops`): the
//! outbox by state and recipient, the payments waiting at a convenience store,
//! a phone's purchases.

use super::outbox::outbox_mail_from_row;
use super::{OutboxMail, Store, StoreError};
use crate::domain::Purchase;
use crate::phone::PhoneNumber;

/// The states an outbox mail can be in, as the outbox filter offers them.
pub const MAIL_STATES: [&str; 4] = ["pending", "sending", "sent", "failed"];

impl Store {
    /// The newest `limit` mails, only those in `state` (one of [`MAIL_STATES`])
    /// and those whose recipient contains `to` (case-insensitively), if given.
    pub async fn outbox_filtered(
        &self,
        state: Option<&str>,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let state = state.filter(|s| MAIL_STATES.contains(s)).unwrap_or_default();
        let to = to.map(|t| t.trim().to_lowercase()).unwrap_or_default();
        // LIKE's wildcards typed by the operator are taken as themselves.
        let pattern = format!("%{}%", to.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = sqlx::query(
            "SELECT * FROM mail_outbox WHERE ($1 = '' OR state = $1) AND ($2 = '' OR LOWER(to_addr) LIKE $3 ESCAPE '\\')
             ORDER BY id DESC LIMIT $4",
        )
        .bind(state)
        .bind(to.as_str())
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_mail_from_row).collect()
    }

    /// Purchases waiting for a convenience-store payment (`konbini`, pending), the
    /// soonest to expire first: what an operator may confirm paid.
    pub async fn pending_konbini(&self, limit: i64) -> Result<Vec<Purchase>, StoreError> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM purchases WHERE payment_status = 'pending' AND payment_method = 'konbini'
             ORDER BY reserved_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.purchases_by_id(&ids).await
    }

    /// The purchases of `phone`, newest first.
    pub async fn purchases_of_phone(&self, phone: &PhoneNumber, limit: i64) -> Result<Vec<Purchase>, StoreError> {
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM purchases WHERE phone = $1 ORDER BY reserved_at DESC, id LIMIT $2")
                .bind(phone.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        self.purchases_by_id(&ids).await
    }

    async fn purchases_by_id(&self, ids: &[(String,)]) -> Result<Vec<Purchase>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            if let Some(p) = self.purchase(id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }
}
