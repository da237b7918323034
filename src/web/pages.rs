//! The gateway's own pages: home, health, metrics, the live dialplan, the local outbox.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{finish, respond, tr, Web, WebError};
use crate::app::AppError;

// ---- home, health ----

pub(super) async fn home(State(web): State<Web>, headers: HeaderMap) -> Response {
    let plan = web.app.dialplan.borrow().clone();
    let lang = super::locale::current();
    let catalogs = &web.app.catalogs;
    // Only exact numbers can be called; pattern rules are listed on /dialplan. The
    // numbers that speak the reader's language first (a Japanese reader calls the
    // Japanese numbers), each in the dialplan's order.
    let mut numbers: Vec<(bool, serde_json::Value)> = plan
        .rules()
        .iter()
        .filter_map(|r| {
            let number = r.exact_number()?;
            let what = tr(&web, &format!("home-action-{}", r.action), &[]);
            let language_name = catalogs.message(&r.language, "language-name", None);
            let n = json!({"number": number.as_str(), "action": r.action, "answer": r.answer, "event": r.event,
                           "language": r.language, "language_name": language_name, "what": what});
            Some((r.language != lang, n))
        })
        .collect();
    numbers.sort_by_key(|(other, _)| *other);
    let numbers: Vec<_> = numbers.into_iter().map(|(_, n)| n).collect();
    respond(
        &web,
        &headers,
        StatusCode::OK,
        "home.html",
        &json!({"numbers": numbers, "local_outbox": web.app.local_outbox,
                "outbox_url": format!("{}/outbox", web.app.admin_url)}),
    )
}

/// Liveness and readiness: the database answers reads *and* takes a write (a
/// full disk fails every write while reads still answer), and the dialplan.
pub(super) async fn health(State(web): State<Web>) -> Response {
    // A refused reload (dialplan, STIR/SHAKEN trust store) does not make the gateway
    // unhealthy (what was loaded before still serves), so it is reported here
    // without changing the status code.
    let (dialplan, stir) = (dialplan_status(&web), stir_status(&web));
    let store = &web.app.store;
    let free = store.free_space();
    let database = match store.ping().await {
        Ok(()) => match free {
            Some(bytes) if bytes < web.app.disk_min_free => {
                Err(format!("not writable: the disk is nearly full ({} MiB free)", bytes / (1024 * 1024)))
            }
            _ => store.write_probe(crate::store::now()).await.map_err(|e| format!("not writable: {e}")),
        },
        Err(e) => Err(e.to_string()),
    };
    match database {
        Ok(()) => {
            let body =
                json!({"status": "ok", "database": "ok", "disk_free_bytes": free, "dialplan": dialplan, "stir": stir});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "health: database failing");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "degraded", "database": e, "disk_free_bytes": free, "dialplan": dialplan, "stir": stir})),
            )
                .into_response()
        }
    }
}

/// The STIR/SHAKEN trust store in use and its reloads; `state` is `off` (no
/// `stir_trust_dir`), `ok` or `last reload refused`.
fn stir_status(web: &Web) -> serde_json::Value {
    let status = web.app.stir_trust.status();
    let state = match (&status.dir, &status.last_error) {
        (None, _) => "off",
        (Some(_), Some(_)) => "last reload refused",
        (Some(_), None) => "ok",
    };
    let mut v = json!(status);
    v["state"] = json!(state);
    v
}

fn dialplan_status(web: &Web) -> serde_json::Value {
    let status = web.app.dialplan_status.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone());
    let state = if status.last_error.is_some() { "last reload refused" } else { "ok" };
    let mut v = json!(status);
    v["state"] = json!(state);
    v
}

// ---- the live dialplan (read-only) ----

/// The live dialplan as JSON: settings, trunks, hours, rules in the order calls try
/// them, warnings, and the reload status.
pub(super) async fn dialplan(State(web): State<Web>) -> Response {
    let plan = web.app.dialplan.borrow().clone();
    axum::Json(json!({"status": dialplan_status(&web), "dialplan": &*plan})).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct RouteQuery {
    to: String,
    from: Option<String>,
    source: Option<String>,
    at: Option<String>,
}

/// Which rule of the live dialplan takes a call, with the trace of every rule tried:
/// `GET /dialplan/route?to=+442079460100&from=+819012345678&source=192.0.2.1&at=2026-05-04T10:00:00+09:00`.
pub(super) async fn dialplan_route(State(web): State<Web>, Query(q): Query<RouteQuery>) -> Response {
    match route_call(&web, &q.to, q.from.as_deref(), q.source.as_deref(), q.at.as_deref()) {
        Ok(trace) => axum::Json(trace.to_json()).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e.to_string()}))).into_response(),
    }
}

/// What of a route test cannot be read (`/dialplan/route`, the back office's route tester).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteInputError {
    #[error("source: {0}")]
    Source(std::net::AddrParseError),
    #[error("from: {0}")]
    From(crate::phone::PhoneNumberError),
    #[error("at: {0} (use RFC 3339, e.g. 2026-05-04T10:00:00+09:00)")]
    At(chrono::ParseError),
}

/// The live dialplan's trace of a call to `to` from `from` (as the caller's
/// trunk would send it) over `source` at `at` (RFC 3339; empty: now).
pub(crate) fn route_call(
    web: &Web,
    to: &str,
    from: Option<&str>,
    source: Option<&str>,
    at: Option<&str>,
) -> Result<crate::dialplan::Trace, RouteInputError> {
    let plan = web.app.dialplan.borrow().clone();
    let source = match source.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<std::net::IpAddr>().map_err(RouteInputError::Source)?),
        None => None,
    };
    let from = match from.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(plan.normalize_caller(f, source).map_err(RouteInputError::From)?),
        None => None,
    };
    let at = match at.map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t).map_err(RouteInputError::At)?.with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let call = crate::dialplan::CallFacts { to: to.trim(), from: from.as_ref(), source, at };
    Ok(plan.trace(&call))
}

// ---- local outbox ----

/// The local outbox exists only when no SMTP server is configured (it shows
/// every user's mail, so it is a development aid, never a production page).
fn local_outbox_on(web: &Web) -> Result<(), WebError> {
    if web.app.local_outbox {
        Ok(())
    } else {
        Err(WebError::NotFound(tr(web, "outbox-off", &[])))
    }
}

/// A mail of the local outbox with its text and HTML bodies, rendered now.
async fn outbox_mail_by_id(web: &Web, id: i64) -> Result<(crate::store::OutboxMail, String, String), WebError> {
    local_outbox_on(web)?;
    let mail = web
        .app
        .store
        .outbox_mail(id)
        .await?
        .ok_or_else(|| WebError::NotFound(tr(web, "outbox-no-mail", &[("id", &id.to_string())])))?;
    let (text, html) = web.app.templates.bodies(&mail).map_err(AppError::from)?;
    Ok((mail, text, html))
}

pub(super) async fn outbox(State(web): State<Web>, headers: HeaderMap) -> Response {
    let r = async {
        local_outbox_on(&web)?;
        let mails = web.app.store.outbox(200).await?;
        Ok(respond(&web, &headers, StatusCode::OK, "outbox.html", &json!({"mails": mails})))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn outbox_mail(State(web): State<Web>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let r = outbox_mail_by_id(&web, id).await.map(|(mail, text, _)| {
        let text_html = linkify(&text);
        respond(&web, &headers, StatusCode::OK, "mail.html", &json!({"mail": mail, "text_html": text_html}))
    });
    finish(&web, &headers, r)
}

pub(super) async fn outbox_mail_html(State(web): State<Web>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let r = outbox_mail_by_id(&web, id)
        .await
        .map(|(_, _, html)| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response());
    finish(&web, &headers, r)
}

/// Escape a plain-text mail body for HTML and turn its URLs into links.
fn linkify(text: &str) -> String {
    let escaped: String = text
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    let mut out = String::with_capacity(escaped.len() + 64);
    let mut rest = escaped.as_str();
    while let Some(i) = ["http://", "https://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(char::is_whitespace).map(|e| i + e).unwrap_or(rest.len());
        let url = &rest[i..end];
        out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkify_escapes_and_links() {
        let s = linkify("Open <this>: http://127.0.0.1:8080/p/ey.a_b-c\nthen https://x.example/y");
        assert!(s.starts_with("Open &lt;this&gt;: <a href=\"http://127.0.0.1:8080/p/ey.a_b-c\">"), "{s}");
        assert!(s.contains("<a href=\"https://x.example/y\">https://x.example/y</a>"), "{s}");
    }
}
