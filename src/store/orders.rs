//! The back office's reads of an event's orders (`crate::web::backoffice`):
//! a search by phone, holder name, purchase id or payment reference, seat code
//! or a seat code's short reference, paged; each order's seats with their issue
//! epoch and current code; the channel a purchase was made on.

use sqlx::Row;

use super::{Store, StoreError, StoreTx};
use crate::phone::PhoneNumber;

/// What an order search looks for: the same text read every way it can be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// As typed, trimmed: a purchase id, payment reference or seat code.
    pub text: String,
    /// The text read as a phone number, if it is one.
    pub phone: Option<PhoneNumber>,
    /// The text read as a seat code's short reference, if it is one.
    pub reference: Option<String>,
}

/// One page of an event's orders, newest first: the purchase ids and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    pub ids: Vec<String>,
    pub total: i64,
}

/// A seat of an order as the back office shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderSeat {
    pub seat_code: String,
    pub position: i64,
    pub epoch: i64,
    /// The short reference of the seat's current code (none before it is issued).
    pub reference: Option<String>,
    pub admitted_at: Option<i64>,
}

/// Where a purchase was made (`purchases.channel`).
pub const CHANNEL_PHONE_LINK: &str = "phone-link";
pub const CHANNEL_WEB: &str = "web";

const MATCHES: &str = "FROM purchases p
    LEFT JOIN phone_users u ON u.phone = p.phone
    LEFT JOIN user_profiles pr ON pr.user_number = u.user_number
    WHERE p.event_id = $1 AND ($2 = '' OR p.phone = $3 OR p.id = $4 OR p.payment_ref = $5
      OR lower(pr.name) LIKE $6
      OR p.id IN (SELECT purchase_id FROM seats WHERE event_id = $7 AND upper(seat_code) = $8)
      OR p.id IN (SELECT purchase_id FROM ticket_codes WHERE event_id = $9 AND reference = $10))";

impl Store {
    /// The orders of `event_id` matching `q` (every order when its text is empty), newest first.
    pub async fn search_orders(
        &self,
        event_id: &str,
        q: &OrderQuery,
        limit: i64,
        offset: i64,
    ) -> Result<OrderPage, StoreError> {
        let phone = q.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default();
        let name = if q.text.is_empty() { String::new() } else { format!("%{}%", like_escape(&q.text.to_lowercase())) };
        let args = [
            event_id.to_string(),
            q.text.clone(),
            phone,
            q.text.clone(),
            q.text.clone(),
            name,
            event_id.to_string(),
            q.text.to_uppercase(),
            event_id.to_string(),
            q.reference.clone().unwrap_or_default(),
        ];
        let count_sql = format!("SELECT COUNT(*) AS n {MATCHES}");
        let total: i64 = bound(&count_sql, &args).fetch_one(&self.pool).await?.try_get("n")?;
        let page_sql = format!("SELECT p.id AS id {MATCHES} ORDER BY p.reserved_at DESC, p.id LIMIT $11 OFFSET $12");
        let rows = bound(&page_sql, &args).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        let ids = rows.iter().map(|r| r.try_get("id")).collect::<Result<Vec<String>, _>>()?;
        Ok(OrderPage { ids, total })
    }

    /// Every order id of `event_id`, oldest first (the CSV export).
    pub async fn order_ids(&self, event_id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM purchases WHERE event_id = $1 ORDER BY reserved_at, id")
                .bind(event_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The channel `purchase_id` was made on (`None`: not recorded, made before it was).
    pub async fn purchase_channel(&self, purchase_id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = sqlx::query_as("SELECT channel FROM purchases WHERE id = $1")
            .bind(purchase_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(c,)| c))
    }

    /// The seats of `purchase_id` in position order, each with its current code's reference.
    pub async fn order_seats(&self, purchase_id: &str) -> Result<Vec<OrderSeat>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.seat_code, s.position, s.issue_epoch, s.admitted_at, c.reference
             FROM seats s LEFT JOIN ticket_codes c
               ON c.event_id = s.event_id AND c.position = s.position AND c.epoch = s.issue_epoch
                  AND c.purchase_id = s.purchase_id
             WHERE s.purchase_id = $1 ORDER BY s.position",
        )
        .bind(purchase_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OrderSeat {
                    seat_code: r.try_get("seat_code")?,
                    position: r.try_get("position")?,
                    epoch: r.try_get("issue_epoch")?,
                    reference: r.try_get("reference")?,
                    admitted_at: r.try_get("admitted_at")?,
                })
            })
            .collect()
    }
}

/// A purchase of an event as the sales page counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRow {
    pub purchase_id: String,
    pub reserved_at: i64,
    pub quantity: i64,
    pub amount: i64,
    pub payment_method: String,
    pub payment_status: String,
    pub channel: Option<String>,
}

impl Store {
    /// Every purchase of `event_id`, oldest first, with what the sales page counts.
    pub async fn sale_rows(&self, event_id: &str) -> Result<Vec<SaleRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, reserved_at, quantity, amount, payment_method, payment_status, channel
             FROM purchases WHERE event_id = $1 ORDER BY reserved_at, id",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SaleRow {
                    purchase_id: r.try_get("id")?,
                    reserved_at: r.try_get("reserved_at")?,
                    quantity: r.try_get("quantity")?,
                    amount: r.try_get("amount")?,
                    payment_method: r.try_get("payment_method")?,
                    payment_status: r.try_get("payment_status")?,
                    channel: r.try_get("channel")?,
                })
            })
            .collect()
    }
}

impl StoreTx {
    /// Record the channel `purchase_id` was made on ([`CHANNEL_PHONE_LINK`], [`CHANNEL_WEB`]).
    pub async fn set_purchase_channel(&mut self, purchase_id: &str, channel: &str) -> Result<(), StoreError> {
        if self.set_new_purchase_channel(purchase_id, channel) {
            return Ok(());
        }
        sqlx::query("UPDATE purchases SET channel = $1 WHERE id = $2")
            .bind(channel)
            .bind(purchase_id)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Whether a back-office action on `purchase_id` confirmed with `step` (its
    /// confirmation form's one-time value, journalled as `"step"`) was done already.
    pub async fn step_done(&mut self, purchase_id: &str, step: &str) -> Result<bool, StoreError> {
        let pattern = format!("%\"step\":\"{}\"%", like_escape(step));
        let row = sqlx::query("SELECT COUNT(*) AS n FROM journal WHERE entity_id = $1 AND detail LIKE $2")
            .bind(purchase_id)
            .bind(pattern)
            .fetch_one(self.conn().await?)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}

/// `sql` with `args` bound in order.
fn bound<'q>(sql: &'q str, args: &'q [String]) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    args.iter().fold(sqlx::query(sql), |q, a| q.bind(a.as_str()))
}

/// `s` with LIKE's wildcards taken literally (no ESCAPE clause: they are dropped).
fn like_escape(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '%' | '_')).collect()
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn wildcards_typed_in_a_name_match_nothing_more() {
        assert_eq!(like_escape("山田_%太郎"), "山田太郎");
    }
}
