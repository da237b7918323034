//! `GET|POST /admin/accounts`: the accounts, and an operator's form making an
//! organizer account (a login name and an organizer of the catalog). The new
//! account's one-time setup link is shown once, to hand to the organizer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_csrf, operator_only, page, Fields, Session, SignedIn};
use crate::accounts::{setup_link, valid_name, Role};
use crate::store::StoreError;
use crate::web::{finish, tr, PageResult, Web};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct NewOrganizerForm {
    csrf: Option<String>,
    name: String,
    organizer: String,
}

/// The accounts page's data: every account, the catalog's organizers for the form.
async fn listing(web: &Web, form: Value) -> Result<Value, StoreError> {
    let (accounts, organizers) = tokio::try_join!(web.app.store.accounts(), web.app.store.organizers())?;
    let accounts: Vec<Value> = accounts
        .iter()
        .map(|a| {
            let organizer = match &a.role {
                Role::Organizer(o) => Some(o.as_str()),
                Role::Operator => None,
            };
            json!({"name": a.name, "role_name": tr(web, &format!("admin-role-{}", a.role.as_str()), &[]),
                   "organizer": organizer, "has_password": a.has_password})
        })
        .collect();
    let organizers: Vec<Value> = organizers.iter().map(|(id, name)| json!({"id": id, "name": name})).collect();
    Ok(json!({"accounts": accounts, "organizers": organizers, "form": form}))
}

/// The form again, filled as it was sent, with what was wrong (422).
async fn refused(web: &Web, headers: &HeaderMap, s: &Session, kept: Value, error: String) -> PageResult {
    let mut data = listing(web, kept).await?;
    data["error"] = json!(error);
    Ok(show(web, headers, s, StatusCode::UNPROCESSABLE_ENTITY, data))
}

fn show(web: &Web, headers: &HeaderMap, s: &Session, status: StatusCode, data: Value) -> Response {
    page(web, headers, status, "admin_accounts.html", s, data)
}

pub(super) async fn list(State(web): State<Web>, SignedIn(s): SignedIn, headers: HeaderMap) -> Response {
    let r: PageResult = async {
        operator_only(&web, &s)?;
        let data = listing(&web, json!({"name": "", "organizer": ""})).await?;
        Ok(show(&web, &headers, &s, StatusCode::OK, data))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn create(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Fields(form): Fields<NewOrganizerForm>,
) -> Response {
    let r: PageResult = async {
        check_csrf(&web, Some(&s.token), form.csrf.as_deref())?;
        operator_only(&web, &s)?;
        let name = form.name.trim();
        let kept = json!({"name": name, "organizer": form.organizer});
        let refuse = |error: String| refused(&web, &headers, &s, kept.clone(), error);
        if !valid_name(name) {
            return refuse(tr(&web, "admin-account-bad-name", &[])).await;
        }
        let role = Role::Organizer(form.organizer.clone());
        let actor = format!("account:{}", s.account.id);
        match web.app.store.add_account(name, &role, &actor, crate::store::now()).await {
            Ok(Some(made)) => {
                tracing::info!(account = %made.account.id, organizer = %form.organizer, by = %s.account.id, "organizer account made");
                let mut data = listing(&web, json!({"name": "", "organizer": ""})).await?;
                data["made"] = json!({
                    "name": made.account.name, "organizer": form.organizer,
                    "link": setup_link(&web.app.admin_url, &made.setup_token),
                });
                Ok(show(&web, &headers, &s, StatusCode::OK, data))
            }
            Ok(None) => refuse(tr(&web, "admin-account-name-taken", &[("name", name)])).await,
            Err(StoreError::UnknownOrganizer(_)) => refuse(tr(&web, "admin-account-no-organizer", &[])).await,
            Err(e) => Err(e.into()),
        }
    }
    .await;
    finish(&web, &headers, r)
}
