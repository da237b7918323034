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
mod backoffice;
pub(crate) mod cancel;
mod guard;
pub(crate) mod locale;
mod metrics;
mod outage;
mod pages;
mod shop;
mod staff;
mod staff_app;
mod staff_offline;
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

/// The two listeners' routers: the public one (`http_listen`: the shop, the
/// mailed-link pages, the door staff's pages, `/assets`, `/healthz`) and the
/// admin one (`admin_listen`: the admin API and back office under `/admin/…`,
/// the operator pages `/dialplan` and `/outbox`, Prometheus `/metrics`). Both
/// share one [`Web`] state and the same layers ([`layered`]); a path of the
/// other listener is a 404 page on either.
pub fn routers(app: Arc<App>) -> (Router, Router) {
    let mut pages = page_templates(app.catalogs.clone());
    // Sandbox payments: every page says that no real money moves.
    pages.add_global("test_mode", app.payments.test_mode());
    let state = Web { app, pages: Arc::new(pages), scans: staff::scan_limiter(), logins: backoffice::login_limiter() };
    (layered(public_routes(), state.clone()), layered(admin_routes(), state))
}

/// What every page of either listener gets: the 404 page, the guard (headers,
/// cross-site posts refused), the request's language.
fn layered(routes: Router<Web>, state: Web) -> Router {
    routes
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), outage::refuse_while_unavailable))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), locale::choose))
        .with_state(state)
}

fn public_routes() -> Router<Web> {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::health))
        .route("/p/{token}", get(shop::purchase_events))
        .route("/p/{token}/events/{event}", get(shop::purchase_event).post(shop::purchase_order))
        .route("/p/{token}/events/{event}/review", post(shop::purchase_review))
        .route("/p/{token}/events/{event}/waitlist", post(shop::join_waitlist))
        .route("/p/{token}/events/{event}/waitlist/leave", post(shop::leave_waitlist))
        .route("/p/{token}/mail", get(account::show).post(account::change))
        .route("/p/{token}/profile", get(account::show_profile).post(account::save_profile))
        .route("/m/{token}", get(account::confirm_page).post(account::confirm_link))
        .route("/pay/{token}/challenge", post(shop::challenge))
        .route("/payments/callback", post(shop::payment_callback))
        .route("/buy", get(shop::web_shop_events))
        .route("/buy/events/{event}", get(shop::web_shop_event).post(shop::web_shop_order))
        .route("/buy/events/{event}/review", post(shop::web_shop_review))
        .route("/g/{token}", get(ticket::issue_guide))
        .route("/g/{token}/cancel", get(cancel::confirm_from_guide).post(cancel::cancel_from_guide))
        .route("/t/{token}", get(ticket::ticket))
        .route("/t/{token}/cancel", get(cancel::confirm_from_ticket).post(cancel::cancel_from_ticket))
        .route("/a/{token}", get(admission::admission))
        .route("/a/{token}/admit", post(admission::admit))
        .route("/t/{token}/qr/{file}", get(ticket::seat_qr))
        .route("/assets/{name}", get(assets::asset))
        .route("/verify/{code}", get(ticket::verify))
        .route("/staff", get(staff_app::home))
        .route("/staff/scan", post(staff_app::scan_form))
        .route("/staff/api/counts", get(staff_app::counts))
        .route("/staff/api/events/{event}/counts", get(staff_app::event_counts))
        .route("/staff/api/events/{event}/offline-bundle", get(staff_offline::bundle))
        .route("/staff/api/events/{event}/conflicts", get(staff_offline::conflicts))
        .route("/staff/api/offline-scans", post(staff_offline::upload))
        .route("/staff/manifest.webmanifest", get(staff_offline::manifest))
        .route("/staff/sw.js", get(staff_offline::service_worker))
        .route("/staff/login/{token}", get(staff::login_page).post(staff::login))
        .route("/staff/api/scan", post(staff::scan))
}

fn admin_routes() -> Router<Web> {
    backoffice::routes()
        .route("/healthz", get(pages::health))
        .route("/assets/{name}", get(assets::asset))
        .route("/dialplan", get(pages::dialplan))
        .route("/dialplan/route", get(pages::dialplan_route))
        .route("/outbox", get(pages::outbox))
        .route("/outbox/{id}", get(pages::outbox_mail))
        .route("/outbox/{id}/html", get(pages::outbox_mail_html))
        .route("/metrics", get(metrics::metrics))
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
        .route("/admin/payments/{reference}/confirm", post(admin::confirm_payment))
}

#[derive(Clone)]
pub(crate) struct Web {
    pub app: Arc<App>,
    pub pages: Arc<Environment<'static>>,
    /// Scans per device at the door (`POST /staff/api/scan`).
    pub scans: Arc<crate::flood::Limiter>,
    /// Back-office login attempts, per account and per source address.
    pub logins: Arc<crate::flood::Limiter>,
}

// ---- what several pages show ----

/// `t` on the event's venue clock in the page's language, labelled (JST).
pub(crate) fn at_venue(e: &EventView, t: Option<i64>) -> String {
    t.map(|t| e.when(&locale::current(), t, crate::i18n::Style::DateTime)).unwrap_or_default()
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
    let m = MailEvent::new(e, &locale::current());
    json!({
        "id": e.id, "name": e.name, "genre": e.genre, "description": e.description, "region": e.region,
        "venue": e.venue, "starts_at": e.starts_at, "starts": m.starts, "doors_open": m.doors_open,
        "contact": e.contact, "currency": e.currency, "on_sale": e.on_sale(at), "seat_types": seat_types,
        "country_code": shop::phone::country_of(e),
    })
}

/// The link's claims, if it is a good link for `purpose`; the page then speaks
/// the language the link was mailed in (unless the reader picked another).
pub(crate) fn check_link(web: &Web, token: &str, purpose: Purpose) -> Result<Claims, WebError> {
    let claims = web.app.links.verify(token, purpose, now())?;
    if let Some(lang) = &claims.lng {
        locale::adopt_link_language(&web.app.catalogs, lang);
    }
    Ok(claims)
}

/// Message `id` of the pages' catalogs in the request's language, with `args`.
pub(crate) fn tr(web: &Web, id: &str, args: &[(&str, &str)]) -> String {
    let mut fa = fluent_bundle::FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, *v);
    }
    web.app.catalogs.message(&locale::current(), id, Some(&fa))
}

/// Any path we do not serve: a page that says so and links home.
async fn not_found(axum::extract::State(web): axum::extract::State<Web>, headers: HeaderMap) -> Response {
    WebError::NotFound(tr(&web, "error-no-page", &[])).render(&web, &headers)
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

fn page_templates(catalogs: Arc<crate::i18n::Catalogs>) -> Environment<'static> {
    let mut env = Environment::new();
    env.add_function("t", move |state: &minijinja::State, id: &str, kwargs: minijinja::value::Kwargs| {
        locale::translate(&catalogs, state, id, kwargs)
    });
    // `{{ number | phone(event.country_code) }}`: a number as people of the event's
    // country write it (090-5555-0001); one of another country stays international.
    env.add_filter("phone", |number: &str, cc: Option<String>| -> String {
        match crate::phone::PhoneNumber::parse(number) {
            Ok(n) => n.national(cc.as_deref()),
            Err(_) => number.to_string(),
        }
    });
    for (name, src) in [
        ("base.html", include_str!("templates/base.html")),
        ("home.html", include_str!("templates/home.html")),
        ("error.html", include_str!("templates/error.html")),
        ("events.html", include_str!("templates/events.html")),
        ("event.html", include_str!("templates/event.html")),
        ("order.html", include_str!("templates/order.html")),
        ("review.html", include_str!("templates/review.html")),
        ("shop_style.html", include_str!("templates/shop_style.html")),
        ("guide.html", include_str!("templates/guide.html")),
        ("ticket.html", include_str!("templates/ticket.html")),
        ("admission.html", include_str!("templates/admission.html")),
        ("verify.html", include_str!("templates/verify.html")),
        ("cancelled.html", include_str!("templates/cancelled.html")),
        ("cancel_confirm.html", include_str!("templates/cancel_confirm.html")),
        ("outbox.html", include_str!("templates/outbox.html")),
        ("mail.html", include_str!("templates/mail.html")),
        ("address.html", include_str!("templates/address.html")),
        ("address_confirm.html", include_str!("templates/address_confirm.html")),
        ("address_done.html", include_str!("templates/address_done.html")),
        ("profile.html", include_str!("templates/profile.html")),
        ("staff.html", include_str!("templates/staff.html")),
        ("admin_base.html", include_str!("templates/admin_base.html")),
        ("admin_login.html", include_str!("templates/admin_login.html")),
        ("admin_setup.html", include_str!("templates/admin_setup.html")),
        ("admin_password.html", include_str!("templates/admin_password.html")),
        ("admin_accounts.html", include_str!("templates/admin_accounts.html")),
        ("admin_home.html", include_str!("templates/admin_home.html")),
        ("admin_card.html", include_str!("templates/admin_card.html")),
        ("admin_event.html", include_str!("templates/admin_event.html")),
        ("admin_event_form.html", include_str!("templates/admin_event_form.html")),
        ("admin_orders_style.html", include_str!("templates/admin_orders_style.html")),
        ("admin_orders.html", include_str!("templates/admin_orders.html")),
        ("admin_order.html", include_str!("templates/admin_order.html")),
        ("admin_event_cancel.html", include_str!("templates/admin_event_cancel.html")),
        ("admin_sales.html", include_str!("templates/admin_sales.html")),
        ("admin_door.html", include_str!("templates/admin_door.html")),
        ("admin_waitlist.html", include_str!("templates/admin_waitlist.html")),
        ("admin_billing.html", include_str!("templates/admin_billing.html")),
        ("admin_billing_list.html", include_str!("templates/admin_billing_list.html")),
        ("admin_ops_style.html", include_str!("templates/admin_ops_style.html")),
        ("admin_ops_dialplan.html", include_str!("templates/admin_ops_dialplan.html")),
        ("admin_ops_keys.html", include_str!("templates/admin_ops_keys.html")),
        ("admin_ops_outbox.html", include_str!("templates/admin_ops_outbox.html")),
        ("admin_ops_mail.html", include_str!("templates/admin_ops_mail.html")),
        ("admin_ops_blocks.html", include_str!("templates/admin_ops_blocks.html")),
        ("admin_ops_phones.html", include_str!("templates/admin_ops_phones.html")),
        ("admin_ops_payments.html", include_str!("templates/admin_ops_payments.html")),
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
    let ctx = minijinja::context! {
        lang => locale::current(),
        langs => locale::switch(&web.app.catalogs),
        ..minijinja::Value::from_serialize(data)
    };
    match web.pages.get_template(template).and_then(|t| t.render(ctx)) {
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
    /// Not this account's to see (another organizer's event, an operator's page).
    #[error("{0}")]
    Forbidden(String),
    /// A back-office form without its CSRF token, or with a wrong one.
    #[error("{0}")]
    BadForm(String),
    /// A one-time link used already, or expired.
    #[error("{0}")]
    Gone(String),
    /// The database is out of reach (the health probe says so): try again shortly.
    #[error("the database is unavailable")]
    Unavailable,
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
    /// The database could not be reached: 503 with Retry-After, nothing done.
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(self, WebError::Unavailable) || matches!(self, WebError::Unexpected(e) if e.is_unavailable())
    }

    fn status(&self) -> StatusCode {
        match self {
            WebError::Link(LinkError::Expired | LinkError::Replaced) => StatusCode::GONE,
            WebError::Link(LinkError::Key(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Link(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::StaffOnly(_) | WebError::CrossSite(_) | WebError::Forbidden(_) | WebError::BadForm(_) => {
                StatusCode::FORBIDDEN
            }
            WebError::Gone(_) => StatusCode::GONE,
            WebError::TooManyTries(_) | WebError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ if self.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The catalog's name for this kind of error: the page's heading is
    /// `error-<kind>-heading`, what to do next `error-<kind>-hint` (the HTTP
    /// reason phrase stays in the JSON's `title`, never on the page).
    fn kind(&self) -> &'static str {
        match self {
            WebError::Link(LinkError::Expired) => "expired",
            WebError::Link(LinkError::Replaced) => "replaced",
            WebError::Unavailable => "unavailable",
            _ if self.is_unavailable() => "unavailable",
            WebError::Link(LinkError::Key(_)) | WebError::Unexpected(_) => "unexpected",
            WebError::Link(_) => "bad-link",
            WebError::NotFound(_) => "not-found",
            WebError::Conflict(_) => "conflict",
            WebError::Invalid(_) => "invalid",
            WebError::StaffOnly(_) => "staff-only",
            WebError::TooManyTries(_) => "too-many-tries",
            WebError::RateLimited(_) => "rate-limited",
            WebError::CrossSite(_) => "cross-site",
            WebError::Forbidden(_) => "forbidden",
            WebError::BadForm(_) => "bad-form",
            WebError::Gone(_) => "gone",
        }
    }

    /// Render as a page (HTML or JSON per `Accept`).
    pub(crate) fn render(self, web: &Web, headers: &HeaderMap) -> Response {
        let status = self.status();
        let message = match &self {
            // The database is out of reach (restarting, say): nothing was done, and
            // the same request (a form's token makes a POST safe to send again)
            // may work in a few seconds: 503 with Retry-After (RFC 9110 §15.6.4, §10.2.3).
            WebError::Unexpected(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable: 503");
                tr(web, "error-unavailable-message", &[])
            }
            WebError::Unavailable => tr(web, "error-unavailable-message", &[]),
            WebError::Unexpected(e) => {
                tracing::error!(error = %e, "request failed");
                tr(web, "error-our-side", &[])
            }
            WebError::Link(e @ LinkError::Key(_)) => {
                tracing::error!(error = %e, "link signing key");
                tr(web, "error-our-side", &[])
            }
            WebError::Link(_) => tr(web, &format!("error-{}-message", self.kind()), &[]),
            other => other.to_string(),
        };
        let kind = self.kind();
        let body = serde_json::json!({
            "error": message,
            "status": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "heading": tr(web, &format!("error-{kind}-heading"), &[]),
            "message": message,
            "hint": tr(web, &format!("error-{kind}-hint"), &[]),
        });
        let mut resp = respond(web, headers, status, "error.html", &body);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, crate::health::RETRY_AFTER_SECS.into());
        }
        resp
    }
}
