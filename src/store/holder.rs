//! What a holder's page (`/t/…` ticket, `/a/…` admission) reads about one
//! purchase, in as few round trips as the page allows: the purchase with its
//! current link (to refuse a replaced link), its holder's name and, for the
//! admission page, the PIN lockout in one statement; its seats as tickets in a
//! second; its event in a third — all on one connection checked out once.
//!
//! Each statement used to be a checkout of its own from the pool (and on
//! SQLite a trip to the connection's worker thread and back, twice: sqlx pings
//! a connection as it goes back to the pool), about eight per page; at a rush
//! that was most of a page's time. Nothing is kept between requests: every
//! page reads the database's state as of its request, so a revoked link, a
//! re-issued ticket, a check-in or an event edit shows at once, on every
//! gateway.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::seats::seat_tickets;
use super::users::stored_phone;
use super::{Store, StoreError};
use crate::domain::{AdmissionState, IssueGuideState, PaymentStatus, Purchase, Timestamp};
use crate::door::SeatTicket;
use crate::events::EventView;

/// Wrong staff PINs that lock a ticket: `tries` refusals journalled as `action`
/// within `window` seconds before `at` (see [`HolderView::pin_lock_from`]).
#[derive(Debug, Clone, Copy)]
pub struct PinLock<'a> {
    pub action: &'a str,
    pub tries: i64,
    pub window: i64,
    pub at: Timestamp,
}

/// One purchase as its holder's pages show it (see [`Store::holder_view`]).
#[derive(Debug, Clone)]
pub struct HolderView {
    pub purchase: Purchase,
    /// The token id of the purchase's current link for the purpose asked (none recorded: `None`).
    pub link_head: Option<String>,
    /// The name in the holder's profile, if the holder's phone has a user with one.
    pub holder_name: Option<String>,
    /// The purchase's seats as tickets, in sale order, each with the reference
    /// of its current code (as [`Store::seat_tickets`]).
    pub seats: Vec<(SeatTicket, Option<String>)>,
    /// The purchase's event (`None`: gone from the catalog).
    pub event: Option<EventView>,
    /// With a [`PinLock`] asked for: the oldest of the last `tries` refusals in
    /// the window, if there were that many (the lock lifts `window` after it).
    pub pin_lock_from: Option<Timestamp>,
}

impl Store {
    /// Purchase `purchase_id` with what its holder's pages need (see
    /// [`HolderView`]); `purpose` names the link whose head is read, `pin` asks
    /// for the PIN lockout. `None`: no such purchase.
    pub async fn holder_view(
        &self,
        purchase_id: &str,
        purpose: &str,
        pin: Option<PinLock<'_>>,
    ) -> Result<Option<HolderView>, StoreError> {
        let mut conn = self.read_conn().await?;
        let view = self.holder_view_on(&mut conn, purchase_id, purpose, pin).await;
        self.after_read(&mut conn, &view).await;
        view
    }

    async fn holder_view_on(
        &self,
        conn: &mut AnyConnection,
        purchase_id: &str,
        purpose: &str,
        pin: Option<PinLock<'_>>,
    ) -> Result<Option<HolderView>, StoreError> {
        let Some(mut view) = head_row(conn, purchase_id, purpose, pin).await? else {
            return Ok(None);
        };
        view.seats = seat_tickets(conn, purchase_id).await?;
        view.purchase.seats = view.seats.iter().map(|(s, _)| s.seat_code.clone()).collect();
        view.event = self.event_on(conn, &view.purchase.event_id).await?;
        Ok(Some(view))
    }
}

/// The purchase row with its link head, holder's name and PIN lockout; its
/// seats and event are left empty for the caller.
async fn head_row(
    conn: &mut AnyConnection,
    purchase_id: &str,
    purpose: &str,
    pin: Option<PinLock<'_>>,
) -> Result<Option<HolderView>, StoreError> {
    // The PIN lock: the `tries`-th latest refusal in the window (the journal's
    // `(entity_id, action, at)` index answers it), the same one
    // `web::admission` took as the oldest of the last `tries`.
    let lock = if pin.is_some() {
        "(SELECT j.at FROM journal j WHERE j.entity_id = p.id AND j.action = $3 AND j.at > $4
          ORDER BY j.at DESC LIMIT 1 OFFSET $5)"
    } else {
        "NULL"
    };
    // The holder is the user of the purchase's phone (as `Store::holder_profile`).
    let sql = format!(
        "SELECT p.*, h.jti AS link_head, pr.name AS holder_name, {lock} AS pin_lock_from
         FROM purchases p
         LEFT JOIN link_heads h ON h.purchase_id = p.id AND h.purpose = $2
         LEFT JOIN phone_users u ON u.phone = p.phone
         LEFT JOIN user_profiles pr ON pr.user_number = u.user_number
         WHERE p.id = $1"
    );
    let mut q = sqlx::query(&sql).bind(purchase_id).bind(purpose);
    if let Some(pin) = pin {
        q = q.bind(pin.action).bind(pin.at - pin.window).bind((pin.tries - 1).max(0));
    }
    let Some(r) = q.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let pin_lock_from = match pin {
        Some(_) => r.try_get("pin_lock_from")?,
        None => None,
    };
    Ok(Some(HolderView {
        purchase: purchase_from_row(&r)?,
        link_head: r.try_get("link_head")?,
        holder_name: r.try_get("holder_name")?,
        seats: Vec::new(),
        event: None,
        pin_lock_from,
    }))
}

/// A purchase from its `purchases` row (its seats are set by the caller: the
/// holder page from the seats it shows, `load_purchase` from its own read).
pub(super) fn purchase_from_row(r: &AnyRow) -> Result<Purchase, StoreError> {
    let id: String = r.try_get("id")?;
    let bad = |what: &str| StoreError::Corrupt(format!("purchase {id}: {what}"));
    let phone: String = r.try_get("phone")?;
    let status: String = r.try_get("payment_status")?;
    let guide: String = r.try_get("issue_guide_state")?;
    let admission: String = r.try_get("admission_state")?;
    Ok(Purchase {
        user_number: r.try_get("user_number")?,
        phone: stored_phone(&phone)?,
        event_id: r.try_get("event_id")?,
        seat_type: r.try_get("seat_type")?,
        seats: Vec::new(),
        quantity: r.try_get::<i64, _>("quantity")? as u32,
        amount: r.try_get("amount")?,
        reserved_at: r.try_get("reserved_at")?,
        cancellable_until: r.try_get("cancellable_until")?,
        payment_method: r.try_get("payment_method")?,
        payment_status: PaymentStatus::parse(&status).ok_or_else(|| bad("payment_status"))?,
        payment_ref: r.try_get("payment_ref")?,
        issue_guide: IssueGuideState::parse(&guide).ok_or_else(|| bad("issue_guide_state"))?,
        issue_call_count: r.try_get::<i64, _>("issue_call_count")? as u32,
        issued: r.try_get::<i64, _>("issued")? != 0,
        issued_at: r.try_get("issued_at")?,
        usage_call_count: r.try_get::<i64, _>("usage_call_count")? as u32,
        admission: AdmissionState::parse(&admission).ok_or_else(|| bad("admission_state"))?,
        permit_issued_at: r.try_get("permit_issued_at")?,
        admitted_at: r.try_get("admitted_at")?,
        hold_until: r.try_get("hold_until")?,
        id,
    })
}
