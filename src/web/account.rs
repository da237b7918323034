//! A phone user's own settings, reached from its purchase link (the link proves
//! the phone): where its mail goes (rules in [`crate::mail::registration`]) and
//! its profile ([`crate::profile`]).
//!
//! - `GET  /p/{token}/mail` — the address mail goes to now, and the form to change it
//! - `POST /p/{token}/mail` — `address=…` mails a confirmation link there (202);
//!   `carrier=1` goes back to the carrier's address at once
//! - `GET  /m/{token}` — what the confirmation link would do (opening it changes nothing)
//! - `POST /m/{token}` — confirm: mail goes there from now on, and the address
//!   mailed before gets a notice with a link back
//! - `GET  /p/{token}/profile`, `POST` — the name shown on this phone's tickets, and
//!   optionally a postal address and birth date

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{check_link, finish, respond, tr, PageResult, Web, WebError};
use crate::app::AppError;
use crate::links::Purpose;
use crate::mail::registration::{self, AddressError, Outcome, Wanted, CONFIRMATIONS_PER_HOUR};
use crate::mail::{address_for, carrier_address};
use crate::phone::PhoneNumber;
use crate::profile::{Profile, ProfileError, NAME_MAX, POSTAL_ADDRESS_MAX};
use crate::store::{now, PhoneUser, Store, StoreTx};

fn not_called(web: &Web) -> WebError {
    WebError::NotFound(tr(web, "account-not-called", &[]))
}

/// The phone a purchase link was mailed for (the page speaks the link's language).
fn purchase_phone(web: &Web, token: &str) -> Result<PhoneNumber, WebError> {
    Ok(check_link(web, token, Purpose::Purchase)?.sub)
}

async fn user_of(web: &Web, phone: &PhoneNumber) -> Result<PhoneUser, WebError> {
    web.app.store.phone_user(phone).await?.ok_or_else(|| not_called(web))
}

/// Why an address is refused, in the page's language.
fn address_error(web: &Web, e: &AddressError) -> String {
    match e {
        AddressError::Empty => tr(web, "mail-error-empty", &[]),
        AddressError::TooLong => tr(web, "mail-error-too-long", &[("max", &registration::MAX_LEN.to_string())]),
        AddressError::Malformed(a) => tr(web, "mail-error-malformed", &[("address", a)]),
    }
}

/// Why a profile is refused, in the page's language.
fn profile_error(web: &Web, e: &ProfileError) -> String {
    match e {
        ProfileError::NameTooLong => tr(web, "profile-error-name-too-long", &[("max", &NAME_MAX.to_string())]),
        ProfileError::AddressTooLong => {
            tr(web, "profile-error-address-too-long", &[("max", &POSTAL_ADDRESS_MAX.to_string())])
        }
        ProfileError::BadDate(d) => tr(web, "profile-error-bad-date", &[("date", d)]),
        ProfileError::ImpossibleDate(d) => tr(web, "profile-error-impossible-date", &[("date", d)]),
    }
}

/// The mail page: where mail goes and the form to change it; with `error`, the
/// refused address kept in the field to correct.
fn address_page(
    web: &Web,
    headers: &HeaderMap,
    token: &str,
    user: &PhoneUser,
    status: StatusCode,
    refused: Option<(&str, String)>,
) -> Response {
    let (typed, error) = refused.map_or((None, None), |(t, e)| (Some(t), Some(e)));
    respond(
        web,
        headers,
        status,
        "address.html",
        &json!({
            "phone": user.phone,
            "delivers_to": address_for(user, &web.app.carrier_mail_template),
            "registered": user.mail_address,
            "carrier_address": carrier_address(&user.phone, &web.app.carrier_mail_template),
            "action": format!("/p/{token}/mail"),
            "shop_url": format!("/p/{token}"),
            "typed": typed,
            "error": error,
        }),
    )
}

/// Record the browser a purchase link is used from (seed 000's model ID).
pub(super) async fn note_handset(tx: &mut StoreTx, phone: &PhoneNumber, headers: &HeaderMap) -> Result<(), WebError> {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(model) = crate::profile::handset_model(ua) {
        tx.note_handset(phone, &model).await?;
    }
    Ok(())
}

pub(super) async fn show(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let phone = purchase_phone(&web, &token)?;
        let user = user_of(&web, &phone).await?;
        Ok(address_page(&web, &headers, &token, &user, StatusCode::OK, None))
    }
    .await;
    finish(&web, &headers, r)
}

#[derive(Deserialize)]
pub(super) struct ChangeForm {
    #[serde(default)]
    address: String,
    /// Set (`1`) to go back to the carrier's address.
    #[serde(default)]
    carrier: String,
}

pub(super) async fn change(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ChangeForm>,
) -> Response {
    let r = async {
        let phone = purchase_phone(&web, &token)?;
        if !form.carrier.is_empty() {
            return Store::retry(|| confirm(&web, &headers, &phone, &Wanted::Carrier, None, "web:mail-address")).await;
        }
        let address = match registration::registrable(&form.address) {
            Ok(a) => a,
            Err(e) => {
                // Nothing mailed: the page again, the address kept to correct.
                let user = user_of(&web, &phone).await?;
                let refused = Some((form.address.as_str(), address_error(&web, &e)));
                return Ok(address_page(&web, &headers, &token, &user, StatusCode::UNPROCESSABLE_ENTITY, refused));
            }
        };
        Store::retry(|| request(&web, &headers, &phone, &address, &token)).await
    }
    .await;
    finish(&web, &headers, r)
}

/// Mail a confirmation link to `address` (at most [`CONFIRMATIONS_PER_HOUR`] a user).
async fn request(web: &Web, headers: &HeaderMap, phone: &PhoneNumber, address: &str, token: &str) -> PageResult {
    let app = &web.app;
    let at = now();
    let mut tx = app.store.begin().await?;
    let user = tx.phone_user(phone).await?.ok_or_else(|| not_called(web))?;
    note_handset(&mut tx, phone, headers).await?;
    let page = |status: &str| {
        json!({"status": status, "phone": phone, "address": address,
               "delivers_to": address_for(&user, &app.carrier_mail_template), "shop_url": format!("/p/{token}")})
    };
    if user.mail_address.as_deref() == Some(address) {
        tx.commit().await?;
        return Ok(respond(web, headers, StatusCode::OK, "address_done.html", &page("unchanged")));
    }
    let sent = tx.journal_counts_since(&[&user.user_number], "mail-address-requested", at - 3600).await?;
    if sent.get(&user.user_number).copied().unwrap_or(0) >= CONFIRMATIONS_PER_HOUR {
        let count = CONFIRMATIONS_PER_HOUR.to_string();
        return Err(WebError::RateLimited(tr(web, "mail-error-rate-limited", &[("count", &count)])));
    }
    let url = app.links.mail_address_url(phone, address, user.mail_epoch, at)?;
    let ctx = json!({"url": url, "phone": phone});
    let letter = app.templates.letter("mail-confirm", &user.language, &ctx).map_err(AppError::from)?;
    tx.enqueue_mail(&letter.to_outbox(address, at)).await?;
    let detail = json!({ "address": address }).to_string();
    tx.journal("phone-user", &user.user_number, "mail-address-requested", None, None, "web:mail-address", &detail);
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(respond(web, headers, StatusCode::ACCEPTED, "address_done.html", &page("confirmation-sent")))
}

/// What a confirmation link asks for, checked.
fn confirmation(web: &Web, token: &str) -> Result<(PhoneNumber, Wanted, i64), WebError> {
    let claims = web.app.links.verify(token, Purpose::MailAddress, now())?;
    match (claims.addr.as_deref(), claims.epoch) {
        (Some(addr), Some(epoch)) => Ok((claims.sub, Wanted::from_claim(addr), epoch)),
        _ => Err(crate::links::LinkError::Invalid.into()),
    }
}

pub(super) async fn confirm_page(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let (phone, wanted, asked_in) = confirmation(&web, &token)?;
        let user = user_of(&web, &phone).await?;
        // The link was mailed in the user's language: the page speaks it too.
        super::locale::adopt_link_language(&web.app.catalogs, &user.language);
        let outcome = registration::decide(user.mail_address.as_deref(), user.mail_epoch, &wanted, asked_in);
        let to = match &wanted {
            Wanted::Address(a) => a.clone(),
            Wanted::Carrier => carrier_address(&phone, &web.app.carrier_mail_template),
        };
        Ok(respond(&web, &headers, StatusCode::OK, "address_confirm.html", &json!({
            "phone": phone,
            "address": to,
            "carrier": wanted == Wanted::Carrier,
            "state": match outcome { Outcome::Change { .. } => "to-confirm", Outcome::AlreadySo => "unchanged", Outcome::Stale => "stale" },
            "action": format!("/m/{token}"),
        })))
    }
    .await;
    finish(&web, &headers, r)
}

pub(super) async fn confirm_link(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let (phone, wanted, asked_in) = confirmation(&web, &token)?;
        if let Some(user) = web.app.store.phone_user(&phone).await? {
            super::locale::adopt_link_language(&web.app.catalogs, &user.language);
        }
        Store::retry(|| confirm(&web, &headers, &phone, &wanted, Some(asked_in), "web:mail-confirm")).await
    }
    .await;
    finish(&web, &headers, r)
}

/// Make `wanted` where `phone`'s mail goes, as asked in mail epoch `asked_in`
/// (`None`: asked now, on the purchase pages); the address mailed before gets a
/// notice with a link back.
async fn confirm(
    web: &Web,
    headers: &HeaderMap,
    phone: &PhoneNumber,
    wanted: &Wanted,
    asked_in: Option<i64>,
    actor: &str,
) -> PageResult {
    let app = &web.app;
    let at = now();
    let mut tx = app.store.begin().await?;
    let before = tx.phone_user(phone).await?.ok_or_else(|| not_called(web))?;
    let asked_in = asked_in.unwrap_or(before.mail_epoch);
    let status = match registration::decide(before.mail_address.as_deref(), before.mail_epoch, wanted, asked_in) {
        Outcome::Stale => {
            return Err(WebError::Link(crate::links::LinkError::Replaced));
        }
        Outcome::AlreadySo => "unchanged",
        Outcome::Change { previous } => {
            let after = tx.set_mail_address(phone, wanted.registered(), actor, at).await?;
            let now_to = address_for(&after, &app.carrier_mail_template);
            let back = Wanted::from_claim(previous.as_deref().unwrap_or_default());
            let ctx = json!({
                "phone": phone,
                "now_to": registration::masked(&now_to),
                "undo_url": app.links.mail_address_url(phone, back.to_claim(), after.mail_epoch, at)?,
            });
            // To where mail went before (`before`), in the user's language.
            app.queue_mail(&mut tx, &before, "mail-changed", &ctx, at).await?;
            "changed"
        }
    };
    tx.commit().await?;
    app.mail_wake.notify_one();
    let user = user_of(web, phone).await?;
    Ok(respond(
        web,
        headers,
        StatusCode::OK,
        "address_done.html",
        &json!({
            "status": status,
            "phone": phone,
            "address": user.mail_address,
            "delivers_to": address_for(&user, &app.carrier_mail_template),
        }),
    ))
}

// ---- profile ----

/// The profile page; `error`: the form refused, shown with what was typed.
#[allow(clippy::too_many_arguments)]
fn profile_page(
    web: &Web,
    headers: &HeaderMap,
    token: &str,
    phone: &PhoneNumber,
    profile: &impl serde::Serialize,
    status: StatusCode,
    saved: bool,
    error: Option<String>,
) -> Response {
    respond(
        web,
        headers,
        status,
        "profile.html",
        &json!({
            "phone": phone,
            "profile": profile,
            "saved": saved,
            "error": error,
            "action": format!("/p/{token}/profile"),
            "shop_url": format!("/p/{token}"),
        }),
    )
}

pub(super) async fn show_profile(State(web): State<Web>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let phone = purchase_phone(&web, &token)?;
        let user = user_of(&web, &phone).await?;
        let profile = web.app.store.profile(&user.user_number).await?.unwrap_or_default();
        Ok(profile_page(&web, &headers, &token, &phone, &profile, StatusCode::OK, false, None))
    }
    .await;
    finish(&web, &headers, r)
}

#[derive(Deserialize)]
pub(super) struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    postal_address: String,
    #[serde(default)]
    birth_date: String,
}

pub(super) async fn save_profile(
    State(web): State<Web>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ProfileForm>,
) -> Response {
    let r = async {
        let phone = purchase_phone(&web, &token)?;
        let today = chrono::Utc::now().date_naive();
        let profile = match Profile::from_form(&form.name, &form.postal_address, &form.birth_date, today) {
            Ok(p) => p,
            Err(e) => {
                // Nothing saved: the form again as it was typed, with why.
                let typed =
                    json!({"name": form.name, "postal_address": form.postal_address, "birth_date": form.birth_date});
                let (status, error) = (StatusCode::UNPROCESSABLE_ENTITY, Some(profile_error(&web, &e)));
                return Ok(profile_page(&web, &headers, &token, &phone, &typed, status, false, error));
            }
        };
        Store::retry(|| async {
            let mut tx = web.app.store.begin().await?;
            let user = tx.phone_user(&phone).await?.ok_or_else(|| not_called(&web))?;
            note_handset(&mut tx, &phone, &headers).await?;
            tx.save_profile(&user.user_number, &profile, "web:profile", now()).await?;
            tx.commit().await?;
            Ok::<_, WebError>(())
        })
        .await?;
        Ok(profile_page(&web, &headers, &token, &phone, &profile, StatusCode::OK, true, None))
    }
    .await;
    finish(&web, &headers, r)
}
