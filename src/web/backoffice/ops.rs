//! The operators' pages of the back office (issue 20, step 8), on the same
//! code as the plain admin API and `/dialplan` (scripts keep those):
//!
//! - `GET /admin/ops/dialplan` — the live dialplan and the route tester (a GET form: it changes nothing)
//! - `GET /admin/ops/keys` — the link-signing key, the retired keys still accepted, the ticket-code keys,
//!   the STIR/SHAKEN trust store (key ids and public facts only, never key material)
//! - the outbox with its retry: `ops_mail.rs`; flood blocks, phone users, konbini payments: `ops_people.rs`
//!
//! Operators only: an organizer gets 403 on every one of them. Times that belong
//! to no event are shown on the gateway's display clock (`display_time_zone`,
//! Asia/Tokyo by default), labelled with its zone.

use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{NaiveDateTime, TimeZone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{operator_only, page, Session, SignedIn};
use crate::dialplan::{NoRoute, Rule, Trace};
use crate::i18n::{Style, Zone};
use crate::web::pages::{route_call, RouteInputError};
use crate::web::{finish, locale, tr, PageResult, Web};

/// An operator's page: `template` with `data`, 403 for anyone else.
pub(super) fn ops_page(
    web: &Web,
    headers: &HeaderMap,
    s: &Session,
    status: StatusCode,
    template: &str,
    data: Value,
) -> PageResult {
    operator_only(web, s)?;
    Ok(page(web, headers, status, template, s, data))
}

/// `at` on the gateway's display clock, in the page's language, labelled (JST).
pub(super) fn on_display_clock(web: &Web, at: i64, style: Style) -> String {
    crate::i18n::when(&locale::current(), Zone::Iana(web.app.display_time_zone), at, style)
}

/// The display clock's name for the pages' "times in …" note.
pub(super) fn display_zone(web: &Web) -> String {
    web.app.display_time_zone.name().to_string()
}

/// A word of `prefix-code`, or the code itself when the catalog has none.
fn word(web: &Web, prefix: &str, code: &str) -> String {
    let id = format!("{prefix}-{code}");
    if web.app.catalogs.has_message(&locale::current(), &id) {
        tr(web, &id, &[])
    } else {
        code.to_string()
    }
}

/// Where a rule or trunk is written, as the page shows it: `default.toml:55`.
fn written_at(at: &crate::dialplan::Location) -> String {
    let file = at.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{file}:{}", at.line)
}

/// An identity policy's code for the catalog (`any`, `trusted-peer`, `verified-a`, `verified-b`).
fn identity_code(policy: &crate::dialplan::IdentityPolicy) -> &'static str {
    match policy.to_string().as_str() {
        "any" => "any",
        "trusted-peer" => "trusted-peer",
        "verified (attestation A)" => "verified-a",
        _ => "verified-b",
    }
}

fn rule_json(web: &Web, r: &Rule) -> Value {
    json!({
        "number": r.number.to_string(), "action": r.action.to_string(),
        "action_name": word(web, "admin-ops-action", &r.action.to_string()),
        "answer_name": word(web, "admin-ops-answer", &r.answer.to_string()),
        "reject_code": r.reject_code, "event": r.event, "language": r.language,
        "language_name": web.app.catalogs.message(&r.language, "language-name", None),
        "trunk": r.trunk, "caller": r.caller.as_ref().map(|c| c.to_string()),
        "hours": r.hours.as_ref().map(|h| h.name.clone()),
        "identity": r.identity.as_ref().map(|i| word(web, "admin-ops-identity", identity_code(i))),
        "at": written_at(&r.defined_at),
    })
}

/// The route tester's fields, kept as typed.
#[derive(Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
pub(super) struct RouteForm {
    to: String,
    from: String,
    trunk: String,
    source: String,
    at: String,
}

/// The moment a tester typed: RFC 3339, or a `datetime-local` value
/// (`2026-12-24T19:00`) read on the display clock. `None`: now.
pub(super) fn read_moment(typed: &str, zone: chrono_tz::Tz) -> Result<Option<String>, ()> {
    let t = typed.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if chrono::DateTime::parse_from_rfc3339(t).is_ok() {
        return Ok(Some(t.to_string()));
    }
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .map_err(|_| ())?;
    let local = zone.from_local_datetime(&naive).earliest().ok_or(())?;
    Ok(Some(local.to_rfc3339()))
}

/// The address a call over trunk `name` comes from (its first network's first address).
fn trunk_address(plan: &crate::dialplan::Dialplan, name: &str) -> Option<IpAddr> {
    plan.trunks.iter().find(|t| t.name == name).and_then(|t| t.cidrs.first()).map(|net| net.network())
}

/// Why a rule tried did or did not take the call, in the page's language.
fn step_why(web: &Web, reason: &str, rule: Option<&Rule>, dialed: &str) -> String {
    let want_trunk = rule.and_then(|r| r.trunk.clone()).unwrap_or_default();
    let want_caller = rule.and_then(|r| r.caller.as_ref().map(|c| c.to_string())).unwrap_or_default();
    let hours = rule.and_then(|r| r.hours.as_ref().map(|h| h.name.clone())).unwrap_or_default();
    let args = [
        ("dialed", dialed),
        ("trunk", want_trunk.as_str()),
        ("caller", want_caller.as_str()),
        ("hours", hours.as_str()),
    ];
    tr(web, &format!("admin-ops-why-{reason}"), &args)
}

/// The tester's answer: where the call came from, the rule that takes it and
/// what it does, and every rule tried with why.
fn trace_json(web: &Web, plan: &crate::dialplan::Dialplan, trace: &Trace) -> Value {
    let rules = plan.rules();
    let (dialed, verdict) = match &trace.result {
        Ok(r) => {
            let rule = &r.rule;
            let what = if rule.action == crate::dialplan::Action::Reject {
                tr(web, "admin-ops-verdict-reject", &[("code", &rule.reject_code.to_string())])
            } else {
                let answer = word(web, "admin-ops-answer", &rule.answer.to_string());
                let action = word(web, "admin-ops-action", &rule.action.to_string());
                tr(web, "admin-ops-verdict-take", &[("action", &action), ("answer", &answer)])
            };
            let v = json!({
                "ok": true, "at": written_at(&r.matched_at), "what": what,
                "action": rule.action.to_string(),
                "event": rule.event.clone().unwrap_or_else(|| tr(web, "admin-ops-all-events", &[])),
                "language": web.app.catalogs.message(&rule.language, "language-name", None),
                "identity": word(web, "admin-ops-identity", identity_code(&r.identity)),
                "trunk": r.trunk.clone().unwrap_or_else(|| tr(web, "admin-ops-no-trunk", &[])),
                "outside_hours": r.outside_hours,
            });
            (r.dialed.as_str().to_string(), v)
        }
        Err(NoRoute::NoRule(n)) => {
            (n.as_str().to_string(), json!({"ok": false, "what": tr(web, "admin-ops-verdict-no-rule", &[])}))
        }
        Err(NoRoute::NotANumber { raw, .. }) => {
            (raw.clone(), json!({"ok": false, "what": tr(web, "admin-ops-verdict-not-a-number", &[])}))
        }
    };
    let steps: Vec<Value> = trace
        .steps
        .iter()
        .map(|st| {
            let rule = rules.iter().find(|r| r.defined_at == st.at).map(|r| r.as_ref());
            json!({"at": written_at(&st.at), "number": st.number, "matched": st.matched, "reason": st.reason,
                   "why": step_why(web, st.reason, rule, &dialed)})
        })
        .collect();
    json!({"dialed": dialed, "verdict": verdict, "steps": steps, "untried": trace.untried})
}

/// What of the tester's form is wrong, in the page's language.
fn input_error(web: &Web, e: &RouteInputError) -> String {
    match e {
        RouteInputError::Source(_) => tr(web, "admin-ops-bad-source", &[]),
        RouteInputError::From(_) => tr(web, "admin-ops-bad-from", &[]),
        RouteInputError::At(_) => tr(web, "admin-ops-bad-at", &[]),
    }
}

/// `GET /admin/ops/dialplan[?to=…&from=…&trunk=…&source=…&at=…]`.
pub(super) async fn dialplan(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    headers: HeaderMap,
    Query(form): Query<RouteForm>,
) -> Response {
    let r: PageResult = async {
        operator_only(&web, &s)?;
        let plan = web.app.dialplan.borrow().clone();
        let status = web.app.dialplan_status.lock().map(|st| st.clone()).unwrap_or_else(|p| p.into_inner().clone());
        let trunks: Vec<Value> = plan
            .trunks
            .iter()
            .map(|t| {
                json!({"name": t.name, "cidrs": t.cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                       "trust_pai": t.trust_pai, "country_code": t.country_code,
                       "identity": t.identity.as_ref().map(|i| word(&web, "admin-ops-identity", identity_code(i))),
                       "at": written_at(&t.defined_at)})
            })
            .collect();
        let rules: Vec<Value> = plan.rules().iter().map(|r| rule_json(&web, r)).collect();
        let mut data = json!({
            "rules": rules, "trunks": trunks, "form": form.clone(),
            "settings": {
                "country_code": plan.country_code, "language": web.app.catalogs.message(&plan.language, "language-name", None),
                "identity": word(&web, "admin-ops-identity", identity_code(&plan.identity)),
                "files": plan.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                "generation": status.generation, "warnings": status.warnings,
                "refused": status.last_error.is_some(),
            },
        });
        let mut code = StatusCode::OK;
        if !form.to.trim().is_empty() {
            let source = match (form.source.trim(), form.trunk.as_str()) {
                ("", "") => None,
                ("", name) => trunk_address(&plan, name).map(|ip| ip.to_string()),
                (typed, _) => Some(typed.to_string()),
            };
            let tried = match read_moment(&form.at, web.app.display_time_zone) {
                Ok(at) => route_call(&web, &form.to, Some(&form.from), source.as_deref(), at.as_deref())
                    .map_err(|e| input_error(&web, &e)),
                Err(()) => Err(tr(&web, "admin-ops-bad-at", &[])),
            };
            match tried {
                Ok(trace) => {
                    data["result"] = trace_json(&web, &plan, &trace);
                    data["result"]["source"] = json!(source);
                }
                Err(message) => {
                    data["error"] = json!(message);
                    code = StatusCode::UNPROCESSABLE_ENTITY;
                }
            }
        }
        data["zone"] = json!(display_zone(&web));
        ops_page(&web, &headers, &s, code, "admin_ops_dialplan.html", data)
    }
    .await;
    finish(&web, &headers, r)
}

/// A key id as the pages show it (what `dialticket keys list` prints).
fn key_id(key: &ed25519_dalek::VerifyingKey) -> String {
    crate::links::kid_of(key)
}

/// `GET /admin/ops/keys`: which keys sign and which verify; never a private key.
pub(super) async fn keys(State(web): State<Web>, SignedIn(s): SignedIn, headers: HeaderMap) -> Response {
    let r: PageResult = async {
        operator_only(&web, &s)?;
        let links = &web.app.links;
        let signing = links.kid().to_string();
        let code_keys: Vec<Value> = links
            .code_keys_until()
            .iter()
            .map(|(key, until)| {
                let kid = key_id(key);
                json!({"kid": kid, "signing": kid == signing,
                       "until": until.map(|u| on_display_clock(&web, u, Style::Date))})
            })
            .collect();
        let retired: Vec<Value> = code_keys.iter().filter(|k| k["signing"] != json!(true)).cloned().collect();
        let stir = web.app.stir_trust.status();
        let stir_state = match (&stir.dir, &stir.last_error) {
            (None, _) => "off",
            (Some(_), Some(_)) => "refused",
            (Some(_), None) => "ok",
        };
        let loaded = chrono::DateTime::parse_from_rfc3339(&stir.loaded_at)
            .ok()
            .map(|t| on_display_clock(&web, t.timestamp(), Style::DateTimeSecs));
        let data = json!({
            "signing": signing, "verifying": links.verifying_kids(), "retired": retired, "code_keys": code_keys,
            "stir": {"state": stir_state, "state_name": tr(&web, &format!("admin-ops-stir-{stir_state}"), &[]),
                     "dir": stir.dir.as_ref().map(|d| d.display().to_string()), "anchors": stir.anchors,
                     "certs": stir.certs, "loaded": loaded, "reloads": stir.reloads,
                     "failures": stir.reload_failures},
            "zone": display_zone(&web),
        });
        ops_page(&web, &headers, &s, StatusCode::OK, "admin_ops_keys.html", data)
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_rfc3339_or_local_on_the_display_clock() {
        let tokyo = chrono_tz::Asia::Tokyo;
        assert_eq!(read_moment("  ", tokyo), Ok(None));
        assert_eq!(read_moment("2026-05-04T10:00:00+09:00", tokyo), Ok(Some("2026-05-04T10:00:00+09:00".into())));
        assert_eq!(read_moment("2026-05-04T10:00", tokyo), Ok(Some("2026-05-04T10:00:00+09:00".into())));
        assert_eq!(
            read_moment("2026-05-04 22:30", chrono_tz::Europe::London),
            Ok(Some("2026-05-04T22:30:00+01:00".into()))
        );
        assert_eq!(read_moment("tomorrow", tokyo), Err(()));
    }
}
