//! `/metrics` on the admin listener: Prometheus text exposition (version 0.0.4).

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::Web;

/// One metric: its help, its type, and a sample per label set.
fn series<L: AsRef<str>>(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(L, u64)]) {
    use std::fmt::Write;
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{} {value}", labels.as_ref());
    }
}

/// Prometheus text exposition (version 0.0.4): the flood limiter, the dialplan, the
/// STIR/SHAKEN trust store, calls, mails, scans, tickets and the mail outbox.
/// Counts only, nothing about callers; the HTTP listener is on loopback by default.
pub(super) async fn metrics(State(web): State<Web>) -> Response {
    let f = web.app.flood.stats(std::time::Instant::now());
    let d = web.app.dialplan_status.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone());
    let stir = web.app.stir_trust.status();
    let mut out = String::new();
    series(
        &mut out,
        "dialticket_flood_requests_total",
        "counter",
        "Requests seen by the flood limiter, by verdict (exempt: a trunk without a limit).",
        &[
            ("{verdict=\"allowed\"}", f.allowed),
            ("{verdict=\"refused\"}", f.refused),
            ("{verdict=\"dropped\"}", f.dropped),
            ("{verdict=\"exempt\"}", f.exempt),
            ("{verdict=\"untracked\"}", f.untracked),
        ],
    );
    series(
        &mut out,
        "dialticket_flood_blocks_total",
        "counter",
        "Times a source or caller was blocked.",
        &[("", f.blocks_total)],
    );
    series(
        &mut out,
        "dialticket_flood_blocked",
        "gauge",
        "Sources and callers blocked now.",
        &[("", f.currently_blocked)],
    );
    series(
        &mut out,
        "dialticket_flood_tracked_keys",
        "gauge",
        "Sources and callers being counted.",
        &[("", f.tracked_keys)],
    );
    let busy_backlog = web.app.backlog.refused.load(std::sync::atomic::Ordering::Relaxed);
    series(
        &mut out,
        "dialticket_calls_busy_total",
        "counter",
        "Calls turned away with 486 Busy Here, nothing done: the dialled number over its rate_limit.per_number, or the mail backlog at mail_backlog_limit.",
        &[("{reason=\"number-ceiling\"}", web.app.ceilings.over_total()), ("{reason=\"mail-backlog\"}", busy_backlog)],
    );
    series(
        &mut out,
        "dialticket_mail_backlog_limit",
        "gauge",
        "Mails waiting beyond which purchase calls are busy (0: no ceiling).",
        &[("", u64::try_from(web.app.backlog.limit).unwrap_or(0))],
    );
    series(
        &mut out,
        "dialticket_dialplan_generation",
        "gauge",
        "Dialplans loaded since start-up.",
        &[("", d.generation)],
    );
    series(
        &mut out,
        "dialticket_dialplan_reloads_total",
        "counter",
        "Dialplan reloads swapped in.",
        &[("", d.reloads)],
    );
    series(
        &mut out,
        "dialticket_dialplan_reload_failures_total",
        "counter",
        "Dialplan reloads refused because of errors.",
        &[("", d.reload_failures)],
    );
    series(
        &mut out,
        "dialticket_dialplan_last_reload_failed",
        "gauge",
        "1 while the last reload was refused (the previous dialplan is live).",
        &[("", u64::from(d.last_error.is_some()))],
    );
    series(
        &mut out,
        "dialticket_stir_trust_reloads_total",
        "counter",
        "STIR/SHAKEN trust store reloads swapped in.",
        &[("", stir.reloads)],
    );
    series(
        &mut out,
        "dialticket_stir_trust_reload_failures_total",
        "counter",
        "STIR/SHAKEN trust store reloads refused (the directory failed to load).",
        &[("", stir.reload_failures)],
    );
    series(
        &mut out,
        "dialticket_stir_trust_last_reload_failed",
        "gauge",
        "1 while the last trust store reload was refused (the store before it is in use).",
        &[("", u64::from(stir.last_error.is_some()))],
    );
    let m = &web.app.metrics;
    let calls: Vec<(String, u64)> = m
        .calls()
        .into_iter()
        .map(|((action, code), n)| (format!("{{action=\"{action}\",code=\"{code}\"}}"), n))
        .collect();
    series(
        &mut out,
        "dialticket_calls_total",
        "counter",
        "INVITEs by the dialplan action that took them (none: refused before a rule did) and their final SIP status.",
        &calls,
    );
    let (sent, failed) = m.mails();
    series(
        &mut out,
        "dialticket_mails_total",
        "counter",
        "Tries to send a mail to the SMTP relay, by result (sent: accepted; failed: refused or timed out, retried or given up). Without a relay (the local outbox) a mail is kept as it is queued and not counted here.",
        &[("{result=\"sent\"}", sent), ("{result=\"failed\"}", failed)],
    );
    let scans: Vec<(String, u64)> = m
        .scans()
        .into_iter()
        .map(|((result, path), n)| (format!("{{result=\"{result}\",path=\"{path}\"}}"), n))
        .collect();
    series(
        &mut out,
        "dialticket_scans_total",
        "counter",
        "Door scans decided by this gateway, by result and by path (online, or uploaded by a device that was offline).",
        &scans,
    );
    match web.app.store.ticket_totals().await {
        Ok(t) => series(
            &mut out,
            "dialticket_tickets",
            "gauge",
            "Seats in the database (every gateway of a cluster reports the same): sold (paid), issued (their ticket mailed), admitted (in at the door).",
            &[("{state=\"sold\"}", t.sold), ("{state=\"issued\"}", t.issued), ("{state=\"admitted\"}", t.admitted)],
        ),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the ticket totals"),
    }
    // The outbox: mail that waits (an SMTP relay down, a wrong password) shows here
    // before callers complain.
    match web.app.store.outbox_backlog().await {
        Ok(b) => {
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            series(
        &mut out,
                "dialticket_mail_outbox",
                "gauge",
                "Mails not delivered, by state: pending (waiting for a try or a retry), sending, failed (refused for good).",
                &[("{state=\"pending\"}", n(b.pending)), ("{state=\"sending\"}", n(b.sending)), ("{state=\"failed\"}", n(b.failed))],
            );
            let age = b.oldest_undelivered.map_or(0, |t| n(crate::store::now() - t));
            series(
                &mut out,
                "dialticket_mail_oldest_undelivered_seconds",
                "gauge",
                "Age of the oldest mail still pending or sending (0: none waits).",
                &[("", age)],
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbox"),
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
