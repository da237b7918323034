//! Cancelling a whole event (issue 20, step 5): `GET /admin/events/{id}/cancel`
//! shows what will happen (how many orders, how much refunded, that every holder
//! is mailed) and asks to type the event's id; the POST (CSRF token, the typed
//! id) records the cancellation and stops sales in one transaction, then the
//! background runner ([`crate::event_cancel`]) cancels the orders. Once
//! cancelled, the same address shows the progress (n of m orders) until done.
//! A second confirmation changes nothing more.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::dashboard::event_for;
use super::{check_csrf, page, Fields, Session, SignedIn};
use crate::events::EventView;
use crate::store::now;
use crate::web::{at_venue, finish, tr, PageResult, Web, WebError};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CancelForm {
    csrf: Option<String>,
    confirm_id: String,
}

/// Whether the typed id names the event (spaces around it forgiven).
pub(crate) fn typed_matches(typed: &str, event_id: &str) -> bool {
    !event_id.is_empty() && typed.trim() == event_id
}

/// What the page shows: the question before, the progress after.
async fn cancel_data(web: &Web, e: &EventView, typed: &str, error: Option<String>) -> Result<Value, WebError> {
    let store = &web.app.store;
    let (open, amount) = store.open_order_totals(&e.id).await?;
    let url = format!("/admin/events/{}", e.id);
    let mut data = json!({
        "event": {"id": e.id, "name": e.name, "url": url, "when": at_venue(e, chrono::DateTime::parse_from_rfc3339(&e.starts_at).ok().map(|d| d.timestamp()))},
        "cancel_url": format!("{url}/cancel"), "typed": typed, "error": error,
    });
    match store.event_cancellation(&e.id).await? {
        Some(c) => {
            let (done, total) = crate::event_cancel::progress(c.total, open);
            let finished = c.state == "done";
            data["cancellation"] = json!({
                "state": c.state, "done": done, "total": total, "finished": finished,
                "started": at_venue(e, Some(c.started_at)),
                "finished_at": c.finished_at.map(|t| at_venue(e, Some(t))),
                "progress": tr(web, "admin-evc-progress", &[("done", &done.to_string()), ("total", &total.to_string())]),
            });
        }
        None => {
            data["question"] = json!({
                "orders": open,
                "text": tr(web, "admin-evc-what", &[("orders", &open.to_string()), ("amount", &e.price_display(amount))]),
            });
        }
    }
    Ok(data)
}

fn show(web: &Web, headers: &HeaderMap, s: &Session, status: StatusCode, data: Value) -> Response {
    page(web, headers, status, "admin_event_cancel.html", s, data)
}

/// `GET /admin/events/{id}/cancel`: the confirmation, or the progress.
pub(super) async fn confirm(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let data = cancel_data(&web, &e, "", None).await?;
        Ok(show(&web, &headers, &s, StatusCode::OK, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// `POST /admin/events/{id}/cancel`: record it, stop sales, start the runner.
pub(super) async fn cancel(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Fields(form): Fields<CancelForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        let e = event_for(&web, &s, &id).await?;
        if !typed_matches(&form.confirm_id, &e.id) {
            let why = tr(&web, "admin-evc-wrong-id", &[("id", &e.id)]);
            let data = cancel_data(&web, &e, &form.confirm_id, Some(why)).await?;
            return Ok(show(&web, &headers, &s, StatusCode::UNPROCESSABLE_ENTITY, data));
        }
        let actor = format!("account:{}", s.account.id);
        if web.app.store.start_event_cancellation(&e.id, &actor, now()).await? {
            tracing::info!(event = %e.id, by = %s.account.id, "back office: the whole event cancelled");
            crate::event_cancel::spawn(web.app.clone(), e.id.clone());
        } else {
            tracing::info!(event = %e.id, "back office: the event's cancellation confirmed again, nothing more done");
        }
        if crate::web::wants_json(&headers) {
            let data = cancel_data(&web, &e, "", None).await?;
            return Ok(show(&web, &headers, &s, StatusCode::OK, data));
        }
        Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("/admin/events/{}/cancel", e.id))]).into_response())
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::typed_matches;

    #[test]
    fn only_the_event_id_confirms() {
        assert!(typed_matches("open-rehearsal", "open-rehearsal"));
        assert!(typed_matches("  open-rehearsal\n", "open-rehearsal"));
        assert!(!typed_matches("open-rehearsa", "open-rehearsal"));
        assert!(!typed_matches("OPEN-REHEARSAL", "open-rehearsal"));
        assert!(!typed_matches("", ""));
    }
}
