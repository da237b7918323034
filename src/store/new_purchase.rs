//! A purchase made in this transaction, written once with the state it ends in.
//!
//! An order takes its seats, creates the purchase (payment pending), records
//! where it was made and settles the payment, all in one transaction: as an
//! `INSERT` followed by `UPDATE`s that was two or three statements on the same
//! row, each a round trip, and on PostgreSQL a dead row version and every index
//! written again (7 of a purchase's ~50 WAL records). So the new row waits in
//! the transaction: saving it or setting its channel changes the waiting row,
//! and it is written, as it then is, just before the next statement of any
//! kind (which may read it) or at commit ([`StoreTx::flush_new_purchase`]).
//! Nobody else can see an uncommitted row, so what is committed is the same.

use super::tx::{values, Value};
use super::{PhoneUser, StoreError, StoreTx};
use crate::domain::{Purchase, Reservation, Timestamp};
use crate::events::EventView;
use crate::phone::PhoneNumber;

/// What an order is, besides its seats: see [`StoreTx::insert_purchase`].
pub(super) struct NewOrder<'a> {
    pub user: &'a PhoneUser,
    pub holder: &'a PhoneNumber,
    pub event: &'a EventView,
    pub seat_type: &'a str,
    pub payment_method: &'a str,
    pub form_token: &'a str,
}

/// A new purchase's id.
pub(super) fn new_purchase_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// The purchase created in this transaction and not written yet.
pub(super) struct NewPurchase {
    purchase: Purchase,
    form_token: String,
    channel: Option<String>,
    /// The version it is written with (each save in the transaction adds one, as
    /// the `UPDATE` would have).
    version: i64,
}

const COLUMNS: &str = "id, user_number, phone, event_id, seat_type, quantity, amount, reserved_at,
    cancellable_until, payment_method, payment_status, payment_ref, issue_guide_state, issue_call_count, issued,
    issued_at, usage_call_count, admission_state, permit_issued_at, admitted_at, hold_until, form_token, channel,
    version";

impl StoreTx {
    /// Create the purchase `id` (payment pending) of the `seats` already taken
    /// for it; written with the next statement or at commit (see the module).
    pub(super) async fn insert_purchase(
        &mut self,
        id: String,
        order: &NewOrder<'_>,
        seats: Vec<String>,
        price: i64,
        at: Timestamp,
    ) -> Result<Purchase, StoreError> {
        // One at a time: a second order in the transaction writes the first.
        self.flush_new_purchase().await?;
        let event = order.event;
        let starts =
            chrono::DateTime::parse_from_rfc3339(&event.starts_at).map(|d| d.timestamp()).unwrap_or(event.sale_end);
        let p = Purchase::reserved(Reservation {
            id,
            user_number: order.user.user_number.clone(),
            phone: order.holder.clone(),
            event_id: event.id.clone(),
            seat_type: order.seat_type.to_string(),
            seats,
            unit_price: price,
            payment_method: order.payment_method.to_string(),
            reserved_at: at,
            cancellable_until: starts - event.cancellable_days * 86400,
        });
        self.versions.insert(p.id.clone(), 0);
        self.new_purchase = Some(NewPurchase {
            purchase: p.clone(),
            form_token: order.form_token.to_string(),
            channel: None,
            version: 0,
        });
        Ok(p)
    }

    /// `p` saved: if it is the purchase waiting to be written, it waits with its
    /// new state (and version) instead of an `UPDATE`; `false` if it is not.
    pub(super) fn save_new_purchase(&mut self, p: &Purchase) -> bool {
        let Some(new) = self.new_purchase.as_mut().filter(|n| n.purchase.id == p.id) else { return false };
        new.purchase = p.clone();
        new.version += 1;
        self.versions.insert(p.id.clone(), new.version);
        true
    }

    /// The channel of the purchase waiting to be written; `false` if `purchase_id` is not it.
    pub(super) fn set_new_purchase_channel(&mut self, purchase_id: &str, channel: &str) -> bool {
        let Some(new) = self.new_purchase.as_mut().filter(|n| n.purchase.id == purchase_id) else { return false };
        new.channel = Some(channel.to_string());
        true
    }

    /// Write the purchase waiting to be written, if any: on SQLite's writer it
    /// goes with the next statement's round trip; on PostgreSQL it runs now.
    pub(super) async fn flush_new_purchase(&mut self) -> Result<(), StoreError> {
        let Some(NewPurchase { purchase: p, form_token, channel, version }) = self.new_purchase.take() else {
            return Ok(());
        };
        let row: Vec<Value> = vec![
            p.id.into(),
            p.user_number.into(),
            p.phone.as_str().into(),
            p.event_id.into(),
            p.seat_type.into(),
            i64::from(p.quantity).into(),
            p.amount.into(),
            p.reserved_at.into(),
            p.cancellable_until.into(),
            p.payment_method.into(),
            p.payment_status.as_str().into(),
            p.payment_ref.as_deref().into(),
            p.issue_guide.as_str().into(),
            i64::from(p.issue_call_count).into(),
            i64::from(p.issued).into(),
            p.issued_at.into(),
            i64::from(p.usage_call_count).into(),
            p.admission.as_str().into(),
            p.permit_issued_at.into(),
            p.admitted_at.into(),
            p.hold_until.into(),
            form_token.into(),
            channel.as_deref().into(),
            version.into(),
        ];
        let placeholders = format!("({})", vec!["$"; row.len()].join(", "));
        let sql = format!("INSERT INTO purchases ({COLUMNS}) VALUES {}", values(self.params, 1, 1, &placeholders));
        self.write_now(&sql, row).await
    }
}
