//! Events in the back office (issue 20, step 3):
//!
//! - `GET|POST /admin/events/new` (`?from={id}`: duplicate, the form filled from
//!   that event with a new id): make an event; an organizer for its own
//!   organizer, an operator for the organizer it picks.
//! - `GET|POST /admin/events/{id}/edit`: change it (quantities never below what
//!   is sold and held; a price applies to the seats still free).
//! - `POST /admin/events/{id}/selling` (`action=stop|resume`) and
//!   `POST /admin/events/{id}/listing` (`action=publish|unpublish`).
//!
//! The form is read by [`crate::events::form`] into the catalog's
//! [`crate::events::EventDef`], checked by the catalog's rules and stored by
//! the catalog's upsert ([`crate::store::Store::create_event`]).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{json, Value};

use super::dashboard::event_for;
use super::{check_csrf, page, require, Fields, Session, SignedIn};
use crate::accounts::Role;
use crate::events::form::{self, FormProblem, Settings, MAX_SEAT_TYPES, ZONES};
use crate::events::EventView;
use crate::store::{EventSaveError, StoreError};
use crate::web::{finish, tr, PageResult, Web, WebError};

type FormFields = form::Fields;

/// The zone a new event's form starts with: the organizer's last event's, else Tokyo.
async fn default_zone(web: &Web, organizer: Option<&str>) -> Result<String, StoreError> {
    let events = web.app.store.events().await?;
    let last = events.iter().rev().find(|e| Some(e.organizer.as_str()) == organizer && !e.time_zone.is_empty());
    Ok(last.map(|e| e.time_zone.clone()).unwrap_or_else(|| ZONES[0].to_string()))
}

/// The form's fields filled from `e` (edit, duplicate).
async fn fields_of(web: &Web, e: &EventView) -> Result<FormFields, StoreError> {
    let tz: Tz = e.time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let secs = |s: &str| chrono::DateTime::parse_from_rfc3339(s).map(|d| d.timestamp()).unwrap_or(0);
    let mut f = FormFields::new();
    let mut set = |k: &str, v: String| {
        f.insert(k.to_string(), v);
    };
    set("name", e.name.clone());
    set("genre", e.genre.clone());
    set("description", e.description.clone());
    set("venue", e.venue.clone());
    set("region", e.region.clone());
    set("contact", e.contact.clone());
    set("time_zone", tz.name().to_string());
    set("starts_at", form::local_input(secs(&e.starts_at), tz));
    set("doors_open", form::local_input(secs(&e.doors_open), tz));
    set("sale_start", form::local_input(e.sale_start, tz));
    set("sale_end", form::local_input(e.sale_end, tz));
    set("admission_opens", form::local_input(e.admission_opens, tz));
    set("admission_closes", form::local_input(e.admission_closes, tz));
    set("cancellable_days", e.cancellable_days.to_string());
    if e.reentry {
        set("reentry", "on".into());
    }
    let controls = web.app.store.event_controls(&e.id).await?;
    set("phone_limit", controls.map(|c| c.phone_limit).unwrap_or(0).to_string());
    set("offer_minutes", e.offer_minutes.to_string());
    for (i, s) in web.app.store.seat_shapes(&e.id).await?.into_iter().enumerate().take(MAX_SEAT_TYPES) {
        set(&format!("st{i}_code"), s.code);
        set(&format!("st{i}_name"), s.name);
        set(&format!("st{i}_price"), s.price.to_string());
        set(&format!("st{i}_rows"), s.rows.join(" "));
        set(&format!("st{i}_per_row"), if s.per_row > 0 { s.per_row.to_string() } else { String::new() });
        set(&format!("st{i}_count"), if s.count > 0 { s.count.to_string() } else { String::new() });
        set(&format!("st{i}_gate"), s.gate.unwrap_or_default());
    }
    Ok(f)
}

/// The seat-type rows the form shows: those filled, and two empty ones.
fn seat_rows(f: &FormFields) -> Vec<Value> {
    let get = |i: usize, n: &str| f.get(&format!("st{i}_{n}")).cloned().unwrap_or_default();
    let filled = (0..MAX_SEAT_TYPES).filter(|i| !get(*i, "code").is_empty() || !get(*i, "name").is_empty()).max();
    let shown = filled.map(|i| i + 3).unwrap_or(2).min(MAX_SEAT_TYPES);
    (0..shown)
        .map(|i| {
            json!({"i": i, "n": i + 1, "code": get(i, "code"), "name": get(i, "name"), "price": get(i, "price"),
                   "rows": get(i, "rows"), "per_row": get(i, "per_row"), "count": get(i, "count"), "gate": get(i, "gate")})
        })
        .collect()
}

/// What the form page shows: the fields, the zones, the organizers an operator picks from.
async fn form_data(web: &Web, s: &Session, f: &FormFields, editing: Option<&EventView>) -> Result<Value, WebError> {
    let organizers: Vec<Value> = if s.account.role.is_operator() && editing.is_none() {
        web.app.store.organizers().await?.iter().map(|(id, name)| json!({"id": id, "name": name})).collect()
    } else {
        vec![]
    };
    let chosen = f.get("time_zone").cloned().unwrap_or_default();
    let mut zones: Vec<&str> = ZONES.to_vec();
    if !chosen.is_empty() && !zones.contains(&chosen.as_str()) && chosen.parse::<Tz>().is_ok() {
        zones.push(&chosen);
    }
    let (action, title) = match editing {
        Some(e) => (format!("/admin/events/{}/edit", e.id), tr(web, "admin-ev-edit-title", &[("name", &e.name)])),
        None => ("/admin/events/new".to_string(), tr(web, "admin-ev-new-title", &[])),
    };
    Ok(json!({
        "form": f, "seats": seat_rows(f), "zones": zones, "organizers": organizers,
        "editing": editing.map(|e| json!({"id": e.id, "name": e.name, "url": format!("/admin/events/{}", e.id)})),
        "action": action, "title": title,
    }))
}

fn show(web: &Web, headers: &HeaderMap, s: &Session, status: StatusCode, data: Value) -> Response {
    page(web, headers, status, "admin_event_form.html", s, data)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct NewQuery {
    from: Option<String>,
}

/// `GET /admin/events/new`: an empty form, or (`?from=`) one filled from an event.
pub(super) async fn new_page(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Query(q): Query<NewQuery>,
) -> Response {
    let r: PageResult = async {
        let own = match &s.account.role {
            Role::Organizer(o) => Some(o.as_str()),
            Role::Operator => None,
        };
        let mut f = match q.from.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => {
                let e = event_for(&web, &s, id).await?;
                let mut f = fields_of(&web, &e).await?;
                f.insert("id".into(), format!("{}-copy", e.id));
                f.insert("organizer".into(), e.organizer.clone());
                f
            }
            None => {
                let mut f = FormFields::new();
                f.insert("time_zone".into(), default_zone(&web, own).await?);
                f.insert("offer_minutes".into(), crate::waitlist::DEFAULT_OFFER_MINUTES.to_string());
                f
            }
        };
        if let Some(o) = own {
            f.insert("organizer".into(), o.to_string());
        }
        let data = form_data(&web, &s, &f, None).await?;
        Ok(show(&web, &headers, &s, StatusCode::OK, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// The message for a refused form, field names as their labels.
fn problem_text(web: &Web, p: &FormProblem) -> String {
    let (id, args) = p.message();
    let args: Vec<(&str, String)> =
        args.into_iter().map(|(k, v)| if k == "field" { (k, field_label(web, &v)) } else { (k, v) }).collect();
    let borrowed: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tr(web, id, &borrowed)
}

/// A field's label: `admin-ev-{field}`, a seat type's (`st2_count`) with its row's number.
fn field_label(web: &Web, field: &str) -> String {
    if let Some((row, name)) = field.strip_prefix("st").and_then(|r| r.split_once('_')) {
        let n = row.parse::<usize>().map(|n| n + 1).unwrap_or(0).to_string();
        return tr(web, "admin-ev-seat-field", &[("n", &n), ("field", &tr(web, &format!("admin-ev-st-{name}"), &[]))]);
    }
    tr(web, &format!("admin-ev-{}", field.replace('_', "-")), &[])
}

fn save_problem(web: &Web, e: EventSaveError) -> Result<String, WebError> {
    match e {
        EventSaveError::Exists(id) => Ok(tr(web, "admin-ev-id-taken", &[("id", &id)])),
        EventSaveError::BelowSold { code, wanted, sold, held } => Ok(tr(
            web,
            "admin-ev-below-sold",
            &[
                ("code", &code),
                ("wanted", &wanted.to_string()),
                ("sold", &sold.to_string()),
                ("held", &held.to_string()),
            ],
        )),
        EventSaveError::NoEvent(id) => Err(WebError::NotFound(tr(web, "admin-no-event", &[("id", &id)]))),
        EventSaveError::Store(StoreError::UnknownOrganizer(_)) => Ok(tr(web, "admin-account-no-organizer", &[])),
        EventSaveError::Store(e) => Err(e.into()),
    }
}

async fn refused(
    web: &Web,
    headers: &HeaderMap,
    s: &Session,
    f: &FormFields,
    editing: Option<&EventView>,
    error: String,
) -> PageResult {
    let mut data = form_data(web, s, f, editing).await?;
    data["error"] = json!(error);
    Ok(show(web, headers, s, StatusCode::UNPROCESSABLE_ENTITY, data))
}

fn actor(s: &Session) -> String {
    format!("account:{}", s.account.id)
}

/// `POST /admin/events/new`.
pub(super) async fn create(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Fields(mut f): Fields<FormFields>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), f.get("csrf").map(String::as_str))?;
        f.remove("csrf");
        let organizer = match &s.account.role {
            Role::Organizer(o) => o.clone(),
            Role::Operator => f.get("organizer").map(|o| o.trim().to_string()).unwrap_or_default(),
        };
        f.insert("organizer".into(), organizer.clone());
        if organizer.is_empty() {
            return refused(&web, &headers, &s, &f, None, tr(&web, "admin-account-no-organizer", &[])).await;
        }
        let id = f.get("id").map(|i| i.trim().to_string()).unwrap_or_default();
        let (def, settings) = match form::event_def(&f, &id, &organizer, "JPY") {
            Ok(d) => d,
            Err(p) => return refused(&web, &headers, &s, &f, None, problem_text(&web, &p)).await,
        };
        match web.app.store.create_event(&def, settings, &actor(&s)).await {
            Ok(()) => {
                tracing::info!(event = %id, account = %s.account.id, "event made in the back office");
                Ok(Redirect::to(&format!("/admin/events/{id}")).into_response())
            }
            Err(e) => {
                let message = save_problem(&web, e)?;
                refused(&web, &headers, &s, &f, None, message).await
            }
        }
    }
    .await;
    finish(&web, &headers, r)
}

/// `GET /admin/events/{id}/edit`.
pub(super) async fn edit_page(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let f = fields_of(&web, &e).await?;
        let data = form_data(&web, &s, &f, Some(&e)).await?;
        Ok(show(&web, &headers, &s, StatusCode::OK, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// `POST /admin/events/{id}/edit`.
pub(super) async fn update(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Fields(mut f): Fields<FormFields>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), f.get("csrf").map(String::as_str))?;
        f.remove("csrf");
        let e = event_for(&web, &s, &id).await?;
        let (def, settings): (_, Settings) = match form::event_def(&f, &e.id, &e.organizer, &e.currency) {
            Ok(d) => d,
            Err(p) => return refused(&web, &headers, &s, &f, Some(&e), problem_text(&web, &p)).await,
        };
        match web.app.store.update_event(&def, settings, &actor(&s)).await {
            Ok(()) => Ok(Redirect::to(&format!("/admin/events/{id}")).into_response()),
            Err(err) => {
                let message = save_problem(&web, err)?;
                refused(&web, &headers, &s, &f, Some(&e), message).await
            }
        }
    }
    .await;
    finish(&web, &headers, r)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ActionForm {
    csrf: Option<String>,
    action: String,
}

/// `POST /admin/events/{id}/selling`: `action=stop` or `resume`.
pub(super) async fn selling(
    State(web): State<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Fields(form): Fields<ActionForm>,
) -> Response {
    switch(web, id, headers, form, "stop", "resume", true).await
}

/// `POST /admin/events/{id}/listing`: `action=unpublish` or `publish`.
pub(super) async fn listing(
    State(web): State<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Fields(form): Fields<ActionForm>,
) -> Response {
    switch(web, id, headers, form, "unpublish", "publish", false).await
}

async fn switch(
    web: Web,
    id: String,
    headers: HeaderMap,
    form: ActionForm,
    on: &str,
    off: &str,
    sales: bool,
) -> Response {
    let s = match require(&web, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        let e = event_for(&web, &s, &id).await?;
        let flag = match form.action.as_str() {
            a if a == on => true,
            a if a == off => false,
            _ => return Err(WebError::Invalid(tr(&web, "admin-ev-bad-action", &[]))),
        };
        let store = &web.app.store;
        if sales {
            store.set_sales_paused(&e.id, flag, &actor(&s)).await?;
        } else {
            store.set_published(&e.id, !flag, &actor(&s)).await?;
        }
        tracing::info!(event = %e.id, account = %s.account.id, action = %form.action, "event changed in the back office");
        Ok(Redirect::to(&format!("/admin/events/{}", e.id)).into_response())
    }
    .await;
    finish(&web, &headers, r)
}

/// What the event's page shows of its controls (and the forms that change them).
pub(super) async fn controls(web: &Web, e: &EventView) -> Result<Value, WebError> {
    let c = web.app.store.event_controls(&e.id).await?;
    Ok(c.map(|c| {
        json!({"published": c.published, "paused": c.sales_paused, "phone_limit": c.phone_limit,
               "edit": format!("/admin/events/{}/edit", e.id), "duplicate": format!("/admin/events/new?from={}", e.id),
               "selling": format!("/admin/events/{}/selling", e.id), "listing": format!("/admin/events/{}/listing", e.id)})
    })
    .unwrap_or(Value::Null))
}
