//! The back office on the admin listener (docs/backoffice.md): operators and
//! organizers sign in with a name and password and get a session cookie.
//!
//! - `GET|POST /admin/login`, `POST /admin/logout`, `GET|POST /admin/password`,
//!   `GET|POST /admin/setup/{token}` (the one-time link that sets a password): `login.rs`
//! - `GET /admin/` (the account's events with their sales), `GET /admin/events/{id}`: `dashboard.rs`
//! - `GET|POST /admin/accounts` (an operator makes organizer accounts): `accounts.rs`
//! - `GET|POST /admin/events/new`, `/admin/events/{id}/edit`, `POST …/selling`, `…/listing`: `events.rs`
//! - `GET /admin/events/{id}/orders` (search), `GET /admin/orders/{id}`: `orders.rs`;
//!   `GET|POST /admin/orders/{id}/{resend,reissue,cancel}`: `order_actions.rs`
//! - `GET /admin/events/{id}/report` (sales: chart, methods, channels),
//!   `GET /admin/events/{id}/orders.csv`: `sales.rs`
//! - `GET|POST /admin/events/{id}/cancel` (the whole event, in the background): `event_cancel.rs`
//! - `GET /admin/events/{id}/waitlist` (the line), `POST …/waitlist/{place}/remove`: `waitlist.rs`
//! - `GET /admin/events/{id}/door` (the door, live): `door.rs`; `POST /admin/events/{id}/staff`,
//!   `POST /admin/events/{id}/staff/{sid}/revoke` (venue staff accounts): `door_staff.rs`
//! - `GET /admin/billing`, `GET /admin/organizers/{id}/billing/{yyyy-mm}[.csv]` (statements),
//!   `POST /admin/organizers/{id}/payouts`, `POST …/payouts/{pid}/void`: `billing.rs`
//! - operators only: `GET /admin/ops/dialplan` (the route tester), `/admin/ops/keys`: `ops.rs`;
//!   `GET /admin/ops/outbox[/{id}]`, `POST …/{id}/retry`: `ops_mail.rs`; `GET /admin/ops/blocks`,
//!   `POST …/unblock`, `GET /admin/ops/phones`, `POST …/mail`, `GET /admin/ops/payments`,
//!   `POST …/{reference}/confirm`: `ops_people.rs`
//!
//! The session cookie (`dialticket_admin`: `HttpOnly; SameSite=Strict; Path=/`,
//! `Secure` under an https public URL) holds a random 256-bit token; the store
//! keeps its SHA-256. Every form carries a CSRF token derived from the cookie it
//! is shown to ([`crate::accounts::csrf_token`]: the session's, or before login
//! an anonymous `dialticket_admin_pre` cookie's, or the setup link's token), and
//! every POST is refused (403, nothing changed) without the right one. Only this
//! listener's router reads these cookies: the public listener has none of
//! these routes, so the cookie opens nothing there.

mod accounts;
mod billing;
mod dashboard;
mod door;
mod door_staff;
mod event_cancel;
mod events;
mod login;
mod ops;
mod ops_mail;
mod ops_people;
mod order_actions;
mod orders;
mod sales;
mod sales_chart;
mod waitlist;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::{respond, tr, wants_json, Web, WebError};
use crate::accounts::{csrf_ok, csrf_token, Account, Role};
use crate::flood::{FloodConfig, Limiter};

/// The session cookie.
pub(super) const SESSION_COOKIE: &str = "dialticket_admin";
/// The anonymous cookie the login form's CSRF token is bound to.
const PRE_COOKIE: &str = "dialticket_admin_pre";

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/admin/") }))
        .route("/admin", get(|| async { Redirect::to("/admin/") }))
        .route("/admin/", get(dashboard::home))
        .route("/admin/events/{id}", get(dashboard::event))
        .route("/admin/login", get(login::login_page).post(login::login))
        .route("/admin/logout", post(login::logout))
        .route("/admin/password", get(login::password_page).post(login::change_password))
        .route("/admin/setup/{token}", get(login::setup_page).post(login::setup))
        .route("/admin/accounts", get(accounts::list).post(accounts::create))
        .route("/admin/events/new", get(events::new_page).post(events::create))
        .route("/admin/events/{id}/edit", get(events::edit_page).post(events::update))
        .route("/admin/events/{id}/selling", post(events::selling))
        .route("/admin/events/{id}/listing", post(events::listing))
        .route("/admin/events/{id}/orders", get(orders::list))
        .route("/admin/events/{id}/orders.csv", get(sales::csv))
        .route("/admin/events/{id}/report", get(sales::report))
        .route("/admin/orders/{id}", get(orders::show))
        .route("/admin/orders/{id}/{action}", get(order_actions::confirm).post(order_actions::act))
        .route("/admin/events/{id}/cancel", get(event_cancel::confirm).post(event_cancel::cancel))
        .route("/admin/events/{id}/waitlist", get(waitlist::list))
        .route("/admin/events/{id}/waitlist/{place}/remove", post(waitlist::remove))
        .route("/admin/events/{id}/door", get(door::door))
        .route("/admin/events/{id}/staff", post(door_staff::create))
        .route("/admin/events/{id}/staff/{sid}/revoke", post(door_staff::revoke))
        .route("/admin/billing", get(billing::index))
        .route("/admin/organizers/{id}/billing/{period}", get(billing::statement))
        .route("/admin/organizers/{id}/payouts", post(billing::record))
        .route("/admin/organizers/{id}/payouts/{pid}/void", post(billing::void))
        .route("/admin/ops", get(|| async { Redirect::to("/admin/ops/dialplan") }))
        .route("/admin/ops/dialplan", get(ops::dialplan))
        .route("/admin/ops/keys", get(ops::keys))
        .route("/admin/ops/outbox", get(ops_mail::list))
        .route("/admin/ops/outbox/{id}", get(ops_mail::show))
        .route("/admin/ops/outbox/{id}/retry", post(ops_mail::retry))
        .route("/admin/ops/blocks", get(ops_people::blocks))
        .route("/admin/ops/blocks/unblock", post(ops_people::unblock))
        .route("/admin/ops/phones", get(ops_people::phones))
        .route("/admin/ops/phones/mail", post(ops_people::set_mail))
        .route("/admin/ops/payments", get(ops_people::payments))
        .route("/admin/ops/payments/{reference}/confirm", post(ops_people::confirm))
}

/// An organizer's all-time billing totals and name (the JSON `GET /admin/organizers/{id}/billing`).
pub(super) async fn billing_totals(
    web: &Web,
    organizer: &str,
) -> Result<Option<(String, crate::billing::Totals)>, crate::store::StoreError> {
    Ok(billing::totals(web, organizer).await?.map(|(books, t)| (books.name, t)))
}

/// Login attempts: a burst of [`login::PER_ACCOUNT`] per account name and of
/// [`login::PER_SOURCE`] per source address, refilled over their windows; a key
/// over its rate is refused for a minute. The SIP endpoint's limiter, own table.
pub(super) fn login_limiter() -> Arc<Limiter> {
    let config = FloodConfig { block_time: Duration::from_secs(60), refusals_before_drop: u32::MAX, max_keys: 10_000 };
    Arc::new(Limiter::new(config, crate::flood::Allowlist::none()))
}

/// A cookie's value from the request.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
    cookies.flat_map(|c| c.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// `Set-Cookie` for `name`: this listener's every path, no script access, never
/// sent by another site's requests; `Secure` when the gateway is served over https.
fn set_cookie(web: &Web, resp: &mut Response, name: &str, value: &str, max_age: Option<i64>) {
    let secure = if web.app.links.public_url().starts_with("https:") { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn csrf_key(web: &Web) -> [u8; 32] {
    web.app.links.derive_secret("backoffice-csrf")
}

/// The CSRF token for forms shown to the holder of `bound` (a cookie's value).
pub(super) fn csrf_for(web: &Web, bound: &str) -> String {
    csrf_token(&csrf_key(web), bound)
}

/// Refuse a POST whose `csrf` field is not the token for `bound` (403 page).
pub(super) fn check_csrf(web: &Web, bound: Option<&str>, given: Option<&str>) -> Result<(), WebError> {
    match (bound, given) {
        (Some(b), Some(g)) if csrf_ok(&csrf_key(web), b, g) => Ok(()),
        _ => {
            tracing::info!("back-office form refused: missing or wrong CSRF token");
            Err(WebError::BadForm(tr(web, "admin-bad-form", &[])))
        }
    }
}

/// A back-office form's fields. A body that is no form (another content type,
/// broken encoding) reads as an empty form, which its missing CSRF token then
/// refuses with the translated 403 page, rather than axum's English plain text.
pub(super) struct Fields<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Fields<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(fields)) => Ok(Fields(fields)),
            Err(e) => {
                tracing::info!(error = %e, "back-office form unreadable: taken as empty");
                Ok(Fields(T::default()))
            }
        }
    }
}

/// A signed-in request: its account, session token and forms' CSRF token.
pub(super) struct Session {
    pub account: Account,
    pub token: String,
    pub csrf: String,
}

/// The session of this request, if its cookie is a live one.
pub(super) async fn session_of(web: &Web, headers: &HeaderMap) -> Result<Option<Session>, WebError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let account = web.app.store.account_by_session(&token, crate::store::now()).await?;
    Ok(account.map(|account| Session { account, csrf: csrf_for(web, &token), token }))
}

/// The signed-in session, or the response for a visitor: the login page (HTML) or 401 (JSON).
pub(super) async fn require(web: &Web, headers: &HeaderMap) -> Result<Session, Response> {
    match session_of(web, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) if wants_json(headers) => {
            let body = json!({"error": tr(web, "admin-sign-in-first", &[]), "status": 401});
            Err((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
        }
        Ok(None) => Err(Redirect::to("/admin/login").into_response()),
        Err(e) => Err(e.render(web, headers)),
    }
}

/// The signed-in account of a back-office request, as a handler argument: a
/// request without a session is answered by [`require`]'s refusal (401 JSON,
/// or the login page) before the handler runs.
pub(super) struct SignedIn(pub Session);

impl axum::extract::FromRequestParts<Web> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, web: &Web) -> Result<Self, Response> {
        require(web, &parts.headers).await.map(SignedIn)
    }
}

/// Refuse what only an operator may do.
pub(super) fn operator_only(web: &Web, s: &Session) -> Result<(), WebError> {
    match s.account.role {
        Role::Operator => Ok(()),
        Role::Organizer(_) => Err(WebError::Forbidden(tr(web, "admin-operators-only", &[]))),
    }
}

/// A back-office page: `data` with the signed-in account and the forms' CSRF token.
pub(super) fn page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    template: &str,
    s: &Session,
    mut data: Value,
) -> Response {
    data["me"] = json!({
        "name": s.account.name,
        "role": s.account.role.as_str(),
        "role_name": tr(web, &format!("admin-role-{}", s.account.role.as_str()), &[]),
        "operator": s.account.role.is_operator(),
    });
    data["csrf"] = json!(s.csrf);
    respond(web, headers, status, template, &data)
}
