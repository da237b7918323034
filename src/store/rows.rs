//! Rows → values. Columns are read with `try_get` so a schema mismatch is an
//! error, not a panic; flags are 0/1 integers on both backends.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;
use crate::events::EventView;
use crate::phone::PhoneNumber;

/// A phone user (seed 000 fig. 10).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PhoneUser {
    pub phone: PhoneNumber,
    pub user_number: String,
    /// The registered address (`None`: the carrier's, see [`crate::mail::address_for`]).
    pub mail_address: Option<String>,
    /// Raised by each change of the registered address (see [`crate::mail::registration`]).
    pub mail_epoch: i64,
    /// When the registered address last changed.
    pub mail_changed_at: Option<i64>,
    /// The browser of the phone that opened its purchase link (the seed's model ID).
    pub handset_model: Option<String>,
    pub language: String,
    pub registered_at: i64,
    pub last_access_at: i64,
    pub access_count: i64,
    /// When this phone last called us (`None`: never — a web order named it).
    pub last_call_at: Option<i64>,
}

impl PhoneUser {
    /// Whether this phone ever called us (rather than being named by a web order).
    pub fn has_called(&self) -> bool {
        self.last_call_at.is_some()
    }

    /// A user as a first call registers it at `at` (before it is stored).
    pub fn new(phone: PhoneNumber, user_number: String, language: &str, at: i64) -> PhoneUser {
        PhoneUser {
            phone,
            user_number,
            mail_address: None,
            mail_epoch: 0,
            mail_changed_at: None,
            handset_model: None,
            language: language.to_string(),
            registered_at: at,
            last_access_at: at,
            access_count: 0,
            last_call_at: Some(at),
        }
    }
}

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

pub(super) fn phone(s: &str) -> Result<PhoneNumber, StoreError> {
    PhoneNumber::parse(s).map_err(|_| StoreError::Corrupt(format!("phone number '{s}'")))
}

pub(super) fn phone_user(r: &AnyRow) -> Result<PhoneUser, StoreError> {
    let p: String = r.try_get("phone")?;
    Ok(PhoneUser {
        phone: phone(&p)?,
        user_number: r.try_get("user_number")?,
        mail_address: r.try_get("mail_address")?,
        mail_epoch: r.try_get("mail_epoch")?,
        mail_changed_at: r.try_get("mail_changed_at")?,
        handset_model: r.try_get("handset_model")?,
        language: r.try_get("language")?,
        registered_at: r.try_get("registered_at")?,
        last_access_at: r.try_get("last_access_at")?,
        access_count: r.try_get("access_count")?,
        last_call_at: r.try_get("last_call_at")?,
    })
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
