//! The door, live, in the back office: `GET /admin/events/{id}/door` — admitted
//! / expected overall and per gate (expected: paid seats of the seat types whose
//! catalog `gate` is that gate; admitted: where they were scanned in), inside now
//! at a re-entry event, the recent scans (the journal's `scan` entries, times on
//! the venue's clock) and the conflicts of offline check-in. Its JSON twin
//! (`Accept: application/json`) is what `/assets/admin-door.js` polls every 10 s.
//! The event's staff accounts are made and revoked here too: `door_staff.rs`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::dashboard::event_for;
use super::{page, Session, SignedIn};
use crate::events::EventView;
use crate::i18n::Style;
use crate::store::JournalEntry;
use crate::web::{finish, locale, tr, PageResult, Web, WebError};

/// How many scans the page lists.
const RECENT: i64 = 30;

/// One gate's line: expected and admitted (`None`: no gate named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GateLine {
    pub gate: Option<String>,
    pub expected: i64,
    pub admitted: i64,
}

/// Expected and admitted per gate merged into one line per gate, the named
/// gates in order and the unnamed one last.
pub(super) fn gate_lines(expected: &[(Option<String>, i64)], admitted: &[(Option<String>, i64)]) -> Vec<GateLine> {
    let mut lines: Vec<GateLine> = Vec::new();
    for (gate, n, is_expected) in
        expected.iter().map(|(g, n)| (g, *n, true)).chain(admitted.iter().map(|(g, n)| (g, *n, false)))
    {
        let i = match lines.iter().position(|l| &l.gate == gate) {
            Some(i) => i,
            None => {
                lines.push(GateLine { gate: gate.clone(), expected: 0, admitted: 0 });
                lines.len() - 1
            }
        };
        if is_expected {
            lines[i].expected += n;
        } else {
            lines[i].admitted += n;
        }
    }
    lines.sort_by(|a, b| match (&a.gate, &b.gate) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.cmp(y),
    });
    lines
}

/// A scan as the page lists it, read from its journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScanLine {
    /// When it was scanned (an offline scan: on the device, not at upload).
    pub at: i64,
    pub seat: Option<String>,
    pub result: String,
    pub staff: Option<String>,
    pub gate: Option<String>,
    pub out: bool,
    pub offline: bool,
}

pub(super) fn scan_line(e: &JournalEntry) -> ScanLine {
    let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
    let text = |k: &str| detail.get(k).and_then(Value::as_str).map(str::to_string);
    let seat = match e.entity.as_str() {
        "seat" => e.entity_id.rsplit_once('/').map(|(_, s)| s.to_string()),
        _ => None,
    };
    ScanLine {
        at: detail.get("scanned_at").and_then(Value::as_i64).unwrap_or(e.at),
        seat,
        result: e.to_state.clone().or_else(|| text("result")).unwrap_or_default(),
        staff: text("staff"),
        gate: text("gate"),
        out: text("direction").as_deref() == Some("out"),
        offline: detail.get("offline").and_then(Value::as_bool).unwrap_or(false),
    }
}

/// A scan's result in the page's language.
fn result_name(web: &Web, result: &str) -> String {
    match result {
        "conflict" => tr(web, "admin-door-result-conflict", &[]),
        r => tr(web, &format!("staff-headline-{r}"), &[]),
    }
}

fn gate_name(web: &Web, gate: Option<&str>) -> String {
    gate.map_or_else(|| tr(web, "admin-door-no-gate", &[]), str::to_string)
}

/// The door's figures, as the page shows them and its JSON twin gives them.
pub(super) async fn door_data(web: &Web, e: &EventView) -> Result<Value, WebError> {
    let store = &web.app.store;
    let counts = store.door_counts(&e.id).await?;
    let expected = store.expected_per_gate(&e.id).await?;
    let scans = store.door_scans(&e.id, RECENT).await?;
    let conflicts = store.door_conflicts(&e.id).await?;
    let lang = locale::current();
    let when = |t: i64| e.when(&lang, t, Style::DateTimeSecs);
    let gates: Vec<Value> = gate_lines(&expected, &counts.gates)
        .iter()
        .map(|g| {
            json!({"key": g.gate.clone().unwrap_or_default(), "name": gate_name(web, g.gate.as_deref()),
                   "expected": g.expected, "admitted": g.admitted})
        })
        .collect();
    let scans: Vec<Value> = scans
        .iter()
        .map(scan_line)
        .map(|s| {
            json!({
                "at": when(s.at), "seat": s.seat.clone().unwrap_or_else(|| "—".into()),
                "result": s.result, "result_name": result_name(web, &s.result),
                "staff": s.staff.clone().unwrap_or_else(|| tr(web, "admin-door-pin", &[])),
                "gate": gate_name(web, s.gate.as_deref()),
                "direction": tr(web, if s.out { "admin-door-out" } else { "admin-door-in" }, &[]),
                "offline": s.offline,
                "mode": tr(web, if s.offline { "admin-door-offline" } else { "admin-door-online" }, &[]),
            })
        })
        .collect();
    let someone = |by: &Option<String>| by.clone().unwrap_or_else(|| tr(web, "admin-door-pin", &[]));
    let conflicts: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({"seat": c.seat, "first_by": someone(&c.first_by), "first_at": when(c.first_at),
                   "second_by": someone(&c.second_by), "second_at": when(c.second_at)})
        })
        .collect();
    Ok(json!({
        "expected": counts.expected, "admitted": counts.admitted, "inside": counts.inside,
        "reentry": e.reentry, "gates": gates, "scans": scans, "conflicts": conflicts,
        "updated": when(crate::store::now()),
    }))
}

/// The whole page: the figures, the staff accounts and the forms' state.
pub(super) async fn show(
    web: &Web,
    headers: &HeaderMap,
    s: &Session,
    e: &EventView,
    status: StatusCode,
    mut extra: Value,
) -> PageResult {
    let mut data = door_data(web, e).await?;
    let lang = locale::current();
    let staff: Vec<Value> = web
        .app
        .store
        .staff_rows(&e.id)
        .await?
        .iter()
        .map(|st| {
            json!({"id": st.id, "name": st.name, "gate": gate_name(web, st.gate.as_deref()),
                   "created": e.when(&lang, st.created_at, Style::DateTime),
                   "revoked": st.revoked, "revoked_at": st.revoked_at.map(|t| e.when(&lang, t, Style::DateTime)),
                   "revoke": format!("/admin/events/{}/staff/{}/revoke", e.id, st.id)})
        })
        .collect();
    data["staff"] = json!(staff);
    data["event"] = json!({"id": e.id, "name": e.name, "url": format!("/admin/events/{}", e.id)});
    data["door_url"] = json!(format!("/admin/events/{}/door", e.id));
    data["staff_url"] = json!(format!("/admin/events/{}/staff", e.id));
    for key in ["made", "error", "form"] {
        data[key] = Value::Null;
    }
    if let Some(obj) = extra.as_object_mut() {
        for (k, v) in std::mem::take(obj) {
            data[k] = v;
        }
    }
    Ok(page(web, headers, status, "admin_door.html", s, data))
}

/// `GET /admin/events/{id}/door` (HTML, or its JSON twin).
pub(super) async fn door(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        show(&web, &headers, &s, &e, StatusCode::OK, json!({})).await
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(entity: &str, id: &str, to: &str, detail: &str) -> JournalEntry {
        JournalEntry {
            seq: 1,
            at: 1000,
            entity: entity.into(),
            entity_id: id.into(),
            action: "scan".into(),
            from_state: None,
            to_state: Some(to.into()),
            actor: "staff:x".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn gates_merge_expected_and_admitted_unnamed_last() {
        let expected = vec![(None, 2), (Some("B".into()), 3), (Some("A".into()), 4)];
        let admitted = vec![(None, 1), (Some("A".into()), 2), (Some("C".into()), 1)];
        let lines = gate_lines(&expected, &admitted);
        let got: Vec<(Option<&str>, i64, i64)> =
            lines.iter().map(|l| (l.gate.as_deref(), l.expected, l.admitted)).collect();
        assert_eq!(got, vec![(Some("A"), 4, 2), (Some("B"), 3, 0), (Some("C"), 0, 1), (None, 2, 1)]);
    }

    #[test]
    fn an_offline_scan_reads_its_device_time_and_a_bad_detail_reads_as_nothing() {
        let d = r#"{"staff":"Aiko","gate":"A","direction":"out","offline":true,"scanned_at":900}"#;
        let s = scan_line(&entry("seat", "ev-1/A-12", "checked_out", d));
        assert_eq!(
            s,
            ScanLine {
                at: 900,
                seat: Some("A-12".into()),
                result: "checked_out".into(),
                staff: Some("Aiko".into()),
                gate: Some("A".into()),
                out: true,
                offline: true
            }
        );
        let s = scan_line(&entry("staff", "abc", "invalid", "not json"));
        assert_eq!((s.at, s.seat, s.staff, s.out, s.offline), (1000, None, None, false, false));
    }
}
