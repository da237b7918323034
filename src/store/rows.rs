//! Rows → values. Columns are read with `try_get` so a schema mismatch is an
//! error, not a panic; flags are 0/1 integers on both backends.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;
use crate::events::EventView;

pub(super) fn event(r: &AnyRow) -> Result<EventView, StoreError> {
    Ok(EventView {
        id: r.try_get("id")?,
        organizer: r.try_get("organizer_id")?,
        genre: r.try_get("genre")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        region: r.try_get("region")?,
        venue: r.try_get("venue")?,
        starts_at: r.try_get("starts_at")?,
        doors_open: r.try_get("doors_open")?,
        curtain: r.try_get("curtain")?,
        sale_start: r.try_get("sale_start")?,
        sale_end: r.try_get("sale_end")?,
        admission_opens: r.try_get("admission_opens")?,
        admission_closes: r.try_get("admission_closes")?,
        cancellable_days: r.try_get("cancellable_days")?,
        contact: r.try_get("contact")?,
        currency: r.try_get("currency")?,
        seat_types: Vec::new(),
        staff_pin_epoch: r.try_get("staff_pin_epoch")?,
    })
}
