//! Rows → values. Columns are read with `try_get` so a schema mismatch is an
//! error, not a panic; flags are 0/1 integers on both backends.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;
use crate::events::EventView;

/// A mail waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxMail {
    pub id: i64,
    pub to_addr: String,
    pub template: String,
    pub subject: String,
    pub body: MailBody,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// An outbox mail's bodies: the template's language and data, rendered when the
/// mail is sent or looked at (`crate::mail::Templates::bodies`), or — mails
/// queued before migration 0007 — the rendered text and HTML.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MailBody {
    Data { lang: String, data: String },
    Rendered { text: String, html: String },
}

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

pub(super) fn outbox_mail(r: &AnyRow) -> Result<OutboxMail, StoreError> {
    Ok(OutboxMail {
        id: r.try_get("id")?,
        to_addr: r.try_get("to_addr")?,
        template: r.try_get("template")?,
        subject: r.try_get("subject")?,
        body: match r.try_get::<Option<String>, _>("data")? {
            Some(data) => MailBody::Data { lang: r.try_get::<Option<String>, _>("lang")?.unwrap_or_default(), data },
            None => MailBody::Rendered { text: r.try_get("body_text")?, html: r.try_get("body_html")? },
        },
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}

pub(super) fn journal(r: &AnyRow) -> Result<JournalEntry, StoreError> {
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
