//! Signing in and out, the one-time setup link, the password change.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{check_csrf, cookie, csrf_for, page, session_of, set_cookie, Fields, SignedIn, PRE_COOKIE, SESSION_COOKIE};
use crate::accounts::{check_new_password, setup_link_state, SetupLink, SESSION_TTL};
use crate::dialplan::policy::Rate;
use crate::flood::{Key, Verdict};
use crate::store::{new_token, now, token_hash};
use crate::web::{finish, respond, tr, PageResult, Web, WebError};

/// Login attempts per account name: a burst of 5, one more a minute.
pub(super) const PER_ACCOUNT: Rate = Rate { count: 5, per: Duration::from_secs(300) };
/// Login attempts per source address: a burst of 30, three more a minute.
pub(super) const PER_SOURCE: Rate = Rate { count: 30, per: Duration::from_secs(600) };

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct LoginForm {
    csrf: Option<String>,
    name: String,
    password: String,
}

/// The login form, with its CSRF token bound to an anonymous cookie.
pub(super) async fn login_page(State(web): State<Web>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = session_of(&web, &headers).await {
        return Redirect::to("/admin/").into_response();
    }
    login_form(&web, &headers, StatusCode::OK, "", None)
}

/// The login form with `name` kept and `error` said; sets the anonymous cookie if missing.
fn login_form(web: &Web, headers: &HeaderMap, status: StatusCode, name: &str, error: Option<String>) -> Response {
    let (pre, new) = match cookie(headers, PRE_COOKIE) {
        Some(p) => (p, false),
        None => (new_token(), true),
    };
    let data = json!({"csrf": csrf_for(web, &pre), "name": name, "error": error});
    let mut resp = respond(web, headers, status, "admin_login.html", &data);
    if new {
        set_cookie(web, &mut resp, PRE_COOKIE, &pre, None);
    }
    resp
}

/// A password hash nobody's password matches, checked when the name is unknown
/// so that a wrong name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| crate::auth::hash_password(&new_token()).unwrap_or_default())
}

/// Argon2 off the async threads.
async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || crate::auth::verify_password(&password, &hash)).await.unwrap_or(false)
}

async fn hash(password: String) -> Result<String, WebError> {
    let hashed = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password)).await;
    match hashed {
        Ok(Ok(h)) => Ok(h),
        _ => Err(WebError::Unexpected(crate::app::AppError::Store(crate::store::StoreError::Corrupt(
            "password hashing failed".into(),
        )))),
    }
}

pub(super) async fn login(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Fields(form): Fields<LoginForm>,
) -> Response {
    let pre = cookie(&headers, PRE_COOKIE);
    if let Err(e) = check_csrf(&web, pre.as_deref(), form.csrf.as_deref()) {
        return e.render(&web, &headers);
    }
    let name = form.name.trim().to_string();
    let t0 = Instant::now();
    let account_key = Key::Device(format!("login:{}", &token_hash(&name.to_lowercase())[..16]));
    for (key, rate) in [(Key::Source(peer.ip()), PER_SOURCE), (account_key, PER_ACCOUNT)] {
        if let Verdict::Refuse { .. } | Verdict::Drop = web.logins.check(&key, rate, t0) {
            tracing::warn!(%key, "back-office login refused: too many attempts");
            let error = tr(&web, "admin-login-too-many", &[]);
            return login_form(&web, &headers, StatusCode::TOO_MANY_REQUESTS, &name, Some(error));
        }
    }
    let found = match web.app.store.account_by_name(&name).await {
        Ok(f) => f,
        Err(e) => return WebError::from(e).render(&web, &headers),
    };
    let (account, stored) = match found {
        Some((a, Some(h))) => (Some(a), h),
        _ => (None, dummy_hash().to_string()),
    };
    let good = verify(form.password, stored).await;
    let Some(account) = account.filter(|_| good) else {
        tracing::info!("back-office login refused: wrong name or password");
        let error = tr(&web, "admin-login-wrong", &[]);
        return login_form(&web, &headers, StatusCode::UNAUTHORIZED, &name, Some(error));
    };
    let session = new_token();
    if let Err(e) = web.app.store.add_session(&account.id, &session, now()).await {
        return WebError::from(e).render(&web, &headers);
    }
    tracing::info!(account = %account.id, role = account.role.as_str(), "back-office login");
    signed_in(&web, &session)
}

/// After a login or a setup: the session cookie, then the back office's start page.
fn signed_in(web: &Web, session: &str) -> Response {
    let mut resp = Redirect::to("/admin/").into_response();
    set_cookie(web, &mut resp, SESSION_COOKIE, session, Some(SESSION_TTL));
    resp
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CsrfOnly {
    csrf: Option<String>,
}

pub(super) async fn logout(State(web): State<Web>, headers: HeaderMap, Fields(form): Fields<CsrfOnly>) -> Response {
    let r = async {
        let s = match session_of(&web, &headers).await? {
            Some(s) => s,
            None => return Ok(Redirect::to("/admin/login").into_response()),
        };
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        web.app.store.end_session(&s.token).await?;
        let mut resp = Redirect::to("/admin/login").into_response();
        set_cookie(&web, &mut resp, SESSION_COOKIE, "", Some(0));
        Ok(resp)
    }
    .await;
    finish(&web, &headers, r)
}

// ---- the one-time setup link ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SetupForm {
    csrf: Option<String>,
    password: String,
    again: String,
}

/// The setup link's form is bound to the link itself (nobody else knows it).
fn setup_binding(token: &str) -> String {
    format!("setup:{token}")
}

/// The link's account if it is usable; else the page saying what became of it.
async fn usable_setup(web: &Web, token: &str) -> Result<crate::accounts::Account, WebError> {
    let found = web.app.store.setup_token(token).await?;
    let Some(t) = found else { return Err(WebError::NotFound(tr(web, "admin-setup-unknown", &[]))) };
    match setup_link_state(t.used_at, t.expires_at, now()) {
        SetupLink::Usable => Ok(t.account),
        SetupLink::Used => Err(WebError::Gone(tr(web, "admin-setup-used", &[]))),
        SetupLink::Expired => Err(WebError::Gone(tr(web, "admin-setup-expired", &[]))),
    }
}

fn setup_form(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    a: &crate::accounts::Account,
    error: Option<String>,
) -> Response {
    let data = json!({
        "account": a, "role_name": tr(web, &format!("admin-role-{}", a.role.as_str()), &[]),
        "csrf": csrf_for(web, &setup_binding(token)), "action": format!("/admin/setup/{token}"), "error": error,
        "min": crate::accounts::MIN_PASSWORD_CHARS,
    });
    respond(web, headers, status, "admin_setup.html", &data)
}

pub(super) async fn setup_page(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r: PageResult = async {
        let account = usable_setup(&web, &token).await?;
        Ok(setup_form(&web, &headers, StatusCode::OK, &token, &account, None))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn setup(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Fields(form): Fields<SetupForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&setup_binding(&token)), form.csrf.as_deref())?;
        let account = usable_setup(&web, &token).await?;
        if let Err(problem) = check_new_password(&form.password, &form.again) {
            let error = tr(&web, problem.message_id(), &[("min", &crate::accounts::MIN_PASSWORD_CHARS.to_string())]);
            return Ok(setup_form(&web, &headers, StatusCode::UNPROCESSABLE_ENTITY, &token, &account, Some(error)));
        }
        let hashed = hash(form.password).await?;
        let session = new_token();
        // Used meanwhile (a second tab, a double click): the same page as for a used link.
        match web.app.store.use_setup_token(&token, &hashed, &session, now()).await? {
            Some(a) => {
                tracing::info!(account = %a.id, "back-office password set with the one-time link");
                Ok(signed_in(&web, &session))
            }
            None => Err(WebError::Gone(tr(&web, "admin-setup-used", &[]))),
        }
    }
    .await;
    finish(&web, &headers, r)
}

// ---- the password change ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordForm {
    csrf: Option<String>,
    old: String,
    password: String,
    again: String,
}

pub(super) async fn password_page(State(web): State<Web>, SignedIn(s): SignedIn, headers: HeaderMap) -> Response {
    page(&web, &headers, StatusCode::OK, "admin_password.html", &s, json!({"min": crate::accounts::MIN_PASSWORD_CHARS}))
}

pub(super) async fn change_password(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Fields(form): Fields<PasswordForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        let min = crate::accounts::MIN_PASSWORD_CHARS.to_string();
        let again = |status, error: String| {
            let data = json!({"min": crate::accounts::MIN_PASSWORD_CHARS, "error": error});
            Ok(page(&web, &headers, status, "admin_password.html", &s, data))
        };
        let stored = web.app.store.account_password_hash(&s.account.id).await?.unwrap_or_default();
        if !verify(form.old.clone(), stored).await {
            return again(StatusCode::UNPROCESSABLE_ENTITY, tr(&web, "admin-password-old-wrong", &[]));
        }
        if let Err(problem) = check_new_password(&form.password, &form.again) {
            return again(StatusCode::UNPROCESSABLE_ENTITY, tr(&web, problem.message_id(), &[("min", &min)]));
        }
        if form.password == form.old {
            let problem = crate::accounts::PasswordProblem::Unchanged;
            return again(StatusCode::UNPROCESSABLE_ENTITY, tr(&web, problem.message_id(), &[]));
        }
        let hashed = hash(form.password).await?;
        web.app.store.change_password(&s.account.id, &hashed, &s.token, now()).await?;
        tracing::info!(account = %s.account.id, "back-office password changed");
        let data = json!({"min": crate::accounts::MIN_PASSWORD_CHARS, "done": true});
        Ok(page(&web, &headers, StatusCode::OK, "admin_password.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_limited_per_account_and_per_source_apart() {
        let limiter = crate::web::backoffice::login_limiter();
        let t0 = Instant::now();
        let source = Key::Source("192.0.2.7".parse().expect("address"));
        for i in 0..PER_SOURCE.count {
            assert!(limiter.check(&source, PER_SOURCE, t0).is_allow(), "attempt {i}");
        }
        assert!(!limiter.check(&source, PER_SOURCE, t0).is_allow(), "one address, too many names tried");
        let other = Key::Source("192.0.2.8".parse().expect("address"));
        assert!(limiter.check(&other, PER_SOURCE, t0).is_allow());
        let account = Key::Device("login:0123456789abcdef".into());
        for _ in 0..PER_ACCOUNT.count {
            assert!(limiter.check(&account, PER_ACCOUNT, t0).is_allow());
        }
        assert!(!limiter.check(&account, PER_ACCOUNT, t0).is_allow(), "one name, too many passwords tried");
        // Blocked for a minute, then one more try a minute comes back.
        assert!(limiter.check(&account, PER_ACCOUNT, t0 + Duration::from_secs(61)).is_allow());
    }
}
