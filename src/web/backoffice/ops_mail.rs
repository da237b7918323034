//! The outbox in the back office (operators): `GET /admin/ops/outbox?state=…&to=…`
//! (the newest mails, by state and recipient), `GET /admin/ops/outbox/{id}` (a
//! mail: its state, tries, last error, text, and HTML in a sandboxed frame that
//! runs nothing), `POST /admin/ops/outbox/{id}/retry` (a failed mail queued
//! again: the admin API's retry, [`crate::web::admin::retry_failed_mail`]).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ops::{display_zone, on_display_clock, ops_page};
use super::{check_csrf, operator_only, Fields, Session, SignedIn};
use crate::i18n::Style;
use crate::store::OutboxMail;
use crate::web::admin::{retry_failed_mail, Retry};
use crate::web::{finish, tr, PageResult, Web, WebError};

/// Mails on the outbox page.
const SHOWN: i64 = 100;

#[derive(Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
pub(super) struct OutboxFilter {
    state: String,
    to: String,
}

fn state_name(web: &Web, state: &str) -> String {
    tr(web, &format!("admin-ops-mail-{state}"), &[])
}

fn mail_line(web: &Web, m: &OutboxMail) -> Value {
    json!({
        "id": m.id, "url": format!("/admin/ops/outbox/{}", m.id), "to": m.to_addr, "subject": m.subject,
        "template": m.template, "state": m.state, "state_name": state_name(web, &m.state), "attempts": m.attempts,
        "last_error": m.last_error, "created": on_display_clock(web, m.created_at, Style::DateTimeSecs),
        "sent": m.sent_at.map(|t| on_display_clock(web, t, Style::DateTimeSecs)),
        "next": (m.state == "pending").then(|| on_display_clock(web, m.next_attempt_at, Style::DateTimeSecs)),
    })
}

/// `GET /admin/ops/outbox`.
pub(super) async fn list(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Query(filter): Query<OutboxFilter>,
) -> Response {
    let r: PageResult = async {
        operator_only(&web, &s)?;
        let (state, to) = (filter.state.trim(), filter.to.trim());
        let mails = web
            .app
            .store
            .outbox_filtered(Some(state).filter(|s| !s.is_empty()), Some(to).filter(|t| !t.is_empty()), SHOWN)
            .await?;
        let states: Vec<Value> = crate::store::MAIL_STATES
            .iter()
            .map(|st| json!({"code": st, "name": state_name(&web, st), "selected": *st == state}))
            .collect();
        let data = json!({
            "mails": mails.iter().map(|m| mail_line(&web, m)).collect::<Vec<_>>(),
            "states": states, "filter": filter, "zone": display_zone(&web), "shown": SHOWN,
        });
        ops_page(&web, &headers, &s, StatusCode::OK, "admin_ops_outbox.html", data)
    }
    .await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Done {
    done: Option<String>,
}

async fn mail_page(
    web: &Web,
    headers: &HeaderMap,
    s: &Session,
    id: i64,
    status: StatusCode,
    extra: Value,
) -> PageResult {
    operator_only(web, s)?;
    let mail = web
        .app
        .store
        .outbox_mail(id)
        .await?
        .ok_or_else(|| WebError::NotFound(tr(web, "admin-ops-no-mail", &[("id", &id.to_string())])))?;
    let (text, html) = web.app.templates.bodies(&mail).map_err(crate::app::AppError::from)?;
    let mut data = json!({"mail": mail_line(web, &mail), "text": text, "html": html, "zone": display_zone(web)});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            data[k] = v;
        }
    }
    ops_page(web, headers, s, status, "admin_ops_mail.html", data)
}

/// `GET /admin/ops/outbox/{id}`.
pub(super) async fn show(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let notice = done.done.as_deref().map(|_| tr(&web, "admin-ops-retried", &[]));
    let r = mail_page(&web, &headers, &s, id, StatusCode::OK, json!({"notice": notice})).await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RetryForm {
    csrf: Option<String>,
    anyway: Option<String>,
}

/// `POST /admin/ops/outbox/{id}/retry`: queued again, back to the mail's page;
/// refused (409) with why, and for a mail a newer one overtook, a second button
/// that sends it anyway.
pub(super) async fn retry(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Fields(form): Fields<RetryForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let anyway = form.anyway.as_deref() == Some("1");
        let refusal = match retry_failed_mail(&web, id, anyway).await? {
            Retry::Queued => {
                tracing::info!(mail_id = id, by = %s.account.id, "failed mail queued again from the back office");
                return Ok(Redirect::to(&format!("/admin/ops/outbox/{id}?done=retry")).into_response());
            }
            Retry::NotFound => {
                return Err(WebError::NotFound(tr(&web, "admin-ops-no-mail", &[("id", &id.to_string())])))
            }
            Retry::Newer { newer, .. } => {
                json!({"error": tr(&web, "admin-ops-retry-newer", &[("newer", &newer.to_string())]), "anyway": true})
            }
            Retry::NotFailed(_) | Retry::NoLongerFailed => {
                json!({"error": tr(&web, "admin-ops-retry-not-failed", &[])})
            }
        };
        mail_page(&web, &headers, &s, id, StatusCode::CONFLICT, refusal).await
    }
    .await;
    finish(&web, &headers, r)
}
