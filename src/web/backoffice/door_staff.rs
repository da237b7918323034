//! An event's venue staff accounts from the back office (as `dialticket staff
//! add|revoke`, the same store functions): `POST /admin/events/{id}/staff` makes
//! one (name, gate, with or without a scanning device's API token) and shows its
//! one-time login URL — on the public listener, where staff open it on their own
//! phones — and the API token once; `POST /admin/events/{id}/staff/{sid}/revoke`
//! revokes one (its login URL, sessions and tokens stop at once). Journalled on
//! the event with the account as actor.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::dashboard::event_for;
use super::door::show;
use super::{check_csrf, Fields, SignedIn};
use crate::web::{finish, tr, PageResult, Web, WebError};

/// The form to make a staff account.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct StaffForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    gate: String,
    #[serde(default)]
    api: Option<String>,
}

/// Why a staff form is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum StaffFormError {
    #[error("a staff account needs a name of 1 to 60 characters")]
    Name,
    #[error("a gate is 1 to 8 letters or digits")]
    Gate,
}

impl StaffFormError {
    fn message_id(&self) -> &'static str {
        match self {
            StaffFormError::Name => "admin-staff-bad-name",
            StaffFormError::Gate => "admin-staff-bad-gate",
        }
    }
}

/// The name and gate (upper case; `None`: any gate) of a staff form.
pub(super) fn parse_staff(name: &str, gate: &str) -> Result<(String, Option<String>), StaffFormError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(StaffFormError::Name);
    }
    let gate = gate.trim();
    if gate.is_empty() {
        return Ok((name.to_string(), None));
    }
    if gate.len() > 8 || !gate.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(StaffFormError::Gate);
    }
    Ok((name.to_string(), Some(gate.to_ascii_uppercase())))
}

fn actor(s: &super::Session) -> String {
    format!("account:{}", s.account.id)
}

/// `POST /admin/events/{id}/staff`.
pub(super) async fn create(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Fields(f): Fields<StaffForm>,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        check_csrf(&web, Some(&s.token), f.csrf.as_deref())?;
        let typed = json!({"name": f.name, "gate": f.gate, "api": f.api.is_some()});
        let (name, gate) = match parse_staff(&f.name, &f.gate) {
            Ok(v) => v,
            Err(err) => {
                let extra = json!({"form": typed, "error": tr(&web, err.message_id(), &[])});
                return show(&web, &headers, &s, &e, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
            }
        };
        let at = crate::store::now();
        let made = web.app.store.add_staff(&e.id, &name, gate.as_deref(), f.api.is_some(), &actor(&s), at).await?;
        tracing::info!(event = %e.id, staff = %made.staff.id, account = %s.account.id, "staff account made in the back office");
        let login = format!("{}/staff/login/{}", web.app.links.public_url(), made.login_token);
        let extra = json!({"made": {"name": made.staff.name, "login": login, "api_token": made.api_token}});
        show(&web, &headers, &s, &e, StatusCode::OK, extra).await
    }
    .await;
    finish(&web, &headers, r)
}

/// The form to revoke a staff account.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /admin/events/{id}/staff/{sid}/revoke`.
pub(super) async fn revoke(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path((id, sid)): Path<(String, String)>,
    headers: HeaderMap,
    Fields(f): Fields<RevokeForm>,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        check_csrf(&web, Some(&s.token), f.csrf.as_deref())?;
        let store = &web.app.store;
        if !store.staff_of_event(&e.id).await?.iter().any(|st| st.id == sid) {
            return Err(WebError::NotFound(tr(&web, "admin-staff-none", &[])));
        }
        let mut tx = store.begin().await?;
        tx.revoke_staff(&sid, &actor(&s), crate::store::now()).await?;
        tx.commit().await?;
        tracing::info!(event = %e.id, staff = %sid, account = %s.account.id, "staff account revoked in the back office");
        Ok(Redirect::to(&format!("/admin/events/{}/door#staff", e.id)).into_response())
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staff_form_needs_a_name_and_a_gate_of_letters_and_digits() {
        assert_eq!(parse_staff(" 山田 ", ""), Ok(("山田".into(), None)));
        assert_eq!(parse_staff("Aiko", "b2"), Ok(("Aiko".into(), Some("B2".into()))));
        assert_eq!(parse_staff("  ", "A"), Err(StaffFormError::Name));
        assert_eq!(parse_staff(&"x".repeat(61), ""), Err(StaffFormError::Name));
        assert_eq!(parse_staff("Aiko", "東"), Err(StaffFormError::Gate));
        assert_eq!(parse_staff("Aiko", "ABCDEFGHI"), Err(StaffFormError::Gate));
    }
}
