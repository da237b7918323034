//! The pages behind the mailed links (axum). Mobile-first HTML that works
//! without JavaScript; every page also answers `Accept: application/json`
//! with the same data, so tests and machines can drive it.
//!
//! GET never changes state (mail scanners pre-open links); POST acts.
//! Errors are mapped to HTTP status codes in one place, [`WebError`].

mod account;
mod admin;
mod admission;
mod assets;
mod guard;
mod pages;
mod shop;
mod staff;
mod staff_app;
mod ticket;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;
use serde::Serialize;

use serde_json::json;

use crate::app::{App, AppError, MailEvent};
use crate::events::EventView;
use crate::links::{Claims, LinkError, Purpose};
use crate::store::now;
use crate::store::StoreError;

/// Build the router.
pub fn router(app: Arc<App>) -> Router {
    let mut pages = page_templates();
    // Sandbox payments: every page says that no real money moves.
    pages.add_global("test_mode", app.payments.test_mode());
    let state = Web { app, pages: Arc::new(pages), scans: staff::scan_limiter() };
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::health))
        .route("/dialplan", get(pages::dialplan))
        .route("/dialplan/route", get(pages::dialplan_route))
        .route("/outbox", get(pages::outbox))
        .route("/outbox/{id}", get(pages::outbox_mail))
        .route("/outbox/{id}/html", get(pages::outbox_mail_html))
        .route("/p/{token}", get(shop::purchase_events))
        .route("/p/{token}/events/{event}", get(shop::purchase_event).post(shop::purchase_order))
        .route("/p/{token}/mail", get(account::show).post(account::change))
        .route("/p/{token}/profile", get(account::show_profile).post(account::save_profile))
        .route("/m/{token}", get(account::confirm_page).post(account::confirm_link))
        .route("/admin/catalog", post(admin::load_catalog))
        .route("/admin/events/{id}/sales", get(admin::sales))
        .route("/admin/events/{id}/staff-pin", post(admin::rotate_staff_pin))
        .route("/admin/organizers/{id}/billing", get(admin::billing))
        .route("/admin/journal.csv", get(admin::journal_csv))
        .route("/admin/blocks", get(admin::blocks))
        .route("/admin/blocks/{key}", axum::routing::delete(admin::unblock))
        .route("/admin/outbox/{id}/retry", post(admin::retry_mail))
        .route("/admin/phone-users/{phone}", get(admin::phone_user))
        .route("/admin/phone-users/{phone}/mail", axum::routing::put(admin::set_phone_user_mail))
        .route("/metrics", get(pages::metrics))
        .route("/pay/{token}/challenge", post(shop::challenge))
        .route("/payments/callback", post(shop::payment_callback))
        .route("/admin/payments/{reference}/confirm", post(admin::confirm_payment))
        .route("/buy", get(shop::web_shop_events))
        .route("/buy/events/{event}", get(shop::web_shop_event).post(shop::web_shop_order))
        .route("/g/{token}", get(ticket::issue_guide))
        .route("/g/{token}/cancel", post(ticket::cancel_from_guide))
        .route("/t/{token}", get(ticket::ticket))
        .route("/t/{token}/cancel", post(ticket::cancel_from_ticket))
        .route("/a/{token}", get(admission::admission))
        .route("/a/{token}/admit", post(admission::admit))
        .route("/t/{token}/qr/{file}", get(ticket::seat_qr))
        .route("/assets/{name}", get(assets::asset))
        .route("/verify/{code}", get(ticket::verify))
        .route("/staff", get(staff_app::home))
        .route("/staff/scan", post(staff_app::scan_form))
        .route("/staff/api/counts", get(staff_app::counts))
        .route("/staff/login/{token}", get(staff::login_page).post(staff::login))
        .route("/staff/api/scan", post(staff::scan))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state)
}

#[derive(Clone)]
pub(crate) struct Web {
    pub app: Arc<App>,
    pub pages: Arc<Environment<'static>>,
    /// Scans per device at the door (`POST /staff/api/scan`).
    pub scans: Arc<crate::flood::Limiter>,
}

// ---- what several pages show ----

pub(crate) fn fmt_utc(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct SeatTypeOut {
    code: String,
    name: String,
    price: i64,
    price_display: String,
    available: i64,
}

pub(crate) fn event_json(e: &EventView, at: i64) -> serde_json::Value {
    let seat_types: Vec<SeatTypeOut> = e
        .seat_types
        .iter()
        .map(|s| SeatTypeOut {
            code: s.code.clone(),
            name: s.name.clone(),
            price: s.price,
            price_display: e.price_display(s.price),
            available: s.available,
        })
        .collect();
    let m = MailEvent::from(e);
    json!({
        "id": e.id, "name": e.name, "genre": e.genre, "description": e.description, "region": e.region,
        "venue": e.venue, "starts_at": e.starts_at, "starts": m.starts, "doors_open": m.doors_open,
        "contact": e.contact, "currency": e.currency, "on_sale": e.on_sale(at), "seat_types": seat_types,
    })
}

pub(crate) fn check_link(web: &Web, token: &str, purpose: Purpose) -> Result<Claims, WebError> {
    Ok(web.app.links.verify(token, purpose, now())?)
}

/// Wrong staff PINs at a ticket's admit: after [`PIN_TRIES`] within [`PIN_WINDOW`],
/// that ticket refuses every PIN until the window has passed, so a six-digit PIN
/// cannot be guessed from the holder's own page (a million PINs, five tries per
/// quarter hour). Each wrong PIN is a journal row ([`PIN_REFUSED`]) of the
/// purchase, so the count is the same on every gateway and survives a restart,
/// and the organizer can see the guessing.
pub(crate) const PIN_TRIES: i64 = 5;
pub(crate) const PIN_WINDOW: Duration = Duration::from_secs(15 * 60);
pub(crate) const PIN_REFUSED: &str = "staff-pin-refused";

fn page_templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in [
        ("base.html", include_str!("templates/base.html")),
        ("home.html", include_str!("templates/home.html")),
        ("error.html", include_str!("templates/error.html")),
        ("events.html", include_str!("templates/events.html")),
        ("event.html", include_str!("templates/event.html")),
        ("order.html", include_str!("templates/order.html")),
        ("guide.html", include_str!("templates/guide.html")),
        ("ticket.html", include_str!("templates/ticket.html")),
        ("admission.html", include_str!("templates/admission.html")),
        ("verify.html", include_str!("templates/verify.html")),
        ("cancelled.html", include_str!("templates/cancelled.html")),
        ("outbox.html", include_str!("templates/outbox.html")),
        ("mail.html", include_str!("templates/mail.html")),
        ("address.html", include_str!("templates/address.html")),
        ("address_confirm.html", include_str!("templates/address_confirm.html")),
        ("address_done.html", include_str!("templates/address_done.html")),
        ("profile.html", include_str!("templates/profile.html")),
        ("staff.html", include_str!("templates/staff.html")),
    ] {
        // The templates are compiled into the binary; a syntax error is a build defect caught by the tests.
        if let Err(e) = env.add_template(name, src) {
            tracing::error!(template = name, error = %e, "page template does not compile");
        }
    }
    env
}

/// What a page handler makes: the page, or the error to render as one.
pub(crate) type PageResult = Result<Response, WebError>;

/// The page, or the error rendered as a page (HTML or JSON per `Accept`).
pub(crate) fn finish(web: &Web, headers: &HeaderMap, r: PageResult) -> Response {
    r.unwrap_or_else(|e| e.render(web, headers))
}

/// Does the client want JSON?
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.starts_with("text/html"))
}

/// Render `data` as JSON or through `template`, with `status`.
pub(crate) fn respond<T: Serialize>(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    template: &str,
    data: &T,
) -> Response {
    if wants_json(headers) {
        return (status, axum::Json(data)).into_response();
    }
    match web.pages.get_template(template).and_then(|t| t.render(data)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template, error = %format!("{e:#}"), "page render failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page render failed").into_response()
        }
    }
}

/// Everything a page can fail with, and its HTTP status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// Staff only (a missing or wrong staff PIN).
    #[error("{0}")]
    StaffOnly(String),
    #[error("{0}")]
    TooManyTries(String),
    /// Too many requests of a kind that mails somebody (try again later).
    #[error("{0}")]
    RateLimited(String),
    /// A form posted from another site (see `guard`).
    #[error("{0}")]
    CrossSite(String),
    #[error(transparent)]
    Unexpected(#[from] AppError),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotEnoughSeats { .. } => WebError::Conflict(e.to_string()),
            StoreError::NoSuchSeatType(_) => WebError::Invalid(e.to_string()),
            other => WebError::Unexpected(AppError::Store(other)),
        }
    }
}

impl crate::store::IsConflict for WebError {
    fn is_conflict(&self) -> bool {
        matches!(self, WebError::Unexpected(AppError::Store(StoreError::Conflict)))
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::Link(LinkError::Expired | LinkError::Replaced) => StatusCode::GONE,
            WebError::Link(LinkError::Key(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Link(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::StaffOnly(_) | WebError::CrossSite(_) => StatusCode::FORBIDDEN,
            WebError::TooManyTries(_) | WebError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the page says on top, in words a caller understands (the HTTP reason
    /// phrase stays in the JSON's `title`).
    fn heading(&self) -> &'static str {
        match self {
            WebError::Link(LinkError::Expired) => "This link has expired",
            WebError::Link(LinkError::Replaced) => "This link was replaced",
            WebError::Link(LinkError::Key(_)) | WebError::Unexpected(_) => "Something went wrong",
            WebError::Link(_) => "This link does not work",
            WebError::NotFound(_) => "Not found",
            WebError::Conflict(_) => "That could not be done",
            WebError::Invalid(_) => "Please check what you entered",
            WebError::StaffOnly(_) => "Staff only",
            WebError::TooManyTries(_) => "Too many tries",
            WebError::RateLimited(_) => "Too many requests",
            WebError::CrossSite(_) => "Sent from another site",
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            WebError::Link(LinkError::Expired) => "Call the number again to get a fresh link.",
            WebError::Link(LinkError::Replaced) => "A newer mail replaced this one: open the link in the latest mail.",
            WebError::Unexpected(_) | WebError::Link(LinkError::Key(_)) => "Please try again in a moment.",
            WebError::Link(_) => "Open the link exactly as it arrived in your mail, or call again for a new one.",
            WebError::Invalid(_) => "Nothing was done. Go back, correct it and send it again.",
            WebError::StaffOnly(_) => "Venue staff enter the event's staff PIN to admit.",
            WebError::TooManyTries(_) => "Ask the organizer for the staff PIN; this ticket takes PINs again later.",
            WebError::RateLimited(_) => "Please try again in an hour.",
            WebError::CrossSite(_) => {
                "Nothing was done. Open the page again from the link in your mail and send it from there."
            }
            _ => "",
        }
    }

    /// Render as a page (HTML or JSON per `Accept`).
    pub(crate) fn render(self, web: &Web, headers: &HeaderMap) -> Response {
        let status = self.status();
        let message = match &self {
            WebError::Unexpected(e) => {
                tracing::error!(error = %e, "request failed");
                "Something went wrong on our side.".to_string()
            }
            WebError::Link(e @ LinkError::Key(_)) => {
                tracing::error!(error = %e, "link signing key");
                "Something went wrong on our side.".to_string()
            }
            other => other.to_string(),
        };
        let body = serde_json::json!({
            "error": message,
            "status": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "heading": self.heading(),
            "message": message,
            "hint": self.hint(),
        });
        respond(web, headers, status, "error.html", &body)
    }
}
