//! An event's sales in the back office: `GET /admin/events/{id}/report` — sold /
//! held / free per seat type and the revenue (the events page's card,
//! [`crate::web::admin::Sales`]), tickets sold per day on the venue's clock as
//! an inline SVG chart (`sales_chart.rs`), and the split by payment method and by
//! channel (the purchase link mailed after a call, `/p/…`, or the web shop,
//! `/buy`). `GET /admin/events/{id}/orders.csv`: one row per order, UTF-8 with a
//! byte-order mark so a spreadsheet in Japan reads it as UTF-8.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Offset as _;
use serde_json::{json, Value};

use super::dashboard::{card, event_for};
use super::orders::{channel_name, method_name, state_name};
use super::sales_chart::{per_day, split, svg, venue_day, Sale};
use super::{page, SignedIn};
use crate::events::EventView;
use crate::store::SaleRow;
use crate::web::{finish, tr, PageResult, Web};

/// The channel a row counts under (`unknown`: made before channels were recorded).
fn channel_of(r: &SaleRow) -> &str {
    r.channel.as_deref().unwrap_or("unknown")
}

/// The sales counted: the paid ones (as "sold" on the card).
fn sold<'a>(e: &EventView, rows: &'a [SaleRow]) -> Vec<Sale<'a>> {
    let zone = e.zone();
    rows.iter()
        .filter(|r| r.payment_status == "paid")
        .map(|r| Sale {
            at: r.reserved_at,
            offset: zone.offset_secs(r.reserved_at),
            tickets: r.quantity,
            amount: r.amount,
            method: &r.payment_method,
            channel: channel_of(r),
        })
        .collect()
}

/// Venue day `day` (days since 1970-01-01 on the venue's clock) in the page's language.
fn day_name(e: &EventView, day: i64) -> String {
    let noon = day * 86_400 + 12 * 3600;
    let at = noon - i64::from(e.zone().offset_secs(noon));
    e.when(&crate::web::locale::current(), at, crate::i18n::Style::Date)
}

/// `GET /admin/events/{id}/report`.
pub(super) async fn report(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let card = card(&web, &e).await?;
        let rows = web.app.store.sale_rows(&e.id).await?;
        let sales = sold(&e, &rows);
        let now = crate::store::now();
        let days = per_day(&sales, venue_day(now, e.zone().offset_secs(now)));
        let title = tr(&web, "admin-sales-chart", &[]);
        let chart = match svg(&days, &title) {
            _ if days.is_empty() => None,
            Ok(svg) => Some(svg),
            Err(error) => {
                tracing::error!(%error, event = %e.id, "sales chart not drawn");
                None
            }
        };
        let line = |(key, tickets, amount): (&str, i64, i64), name: String| {
            json!({"key": key, "name": name, "tickets": tickets, "amount": e.price_display(amount)})
        };
        let methods: Vec<Value> =
            split(&sales, |s| s.method).into_iter().map(|m| line(m, method_name(&web, m.0))).collect();
        let channels: Vec<Value> = split(&sales, |s| s.channel)
            .into_iter()
            .map(|c| line(c, channel_name(&web, Some(c.0).filter(|k| *k != "unknown"))))
            .collect();
        let table: Vec<Value> = days
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(d, n)| json!({"day": day_name(&e, *d), "tickets": n}))
            .collect();
        let data = json!({
            "event": card, "chart": chart, "days": table, "methods": methods, "channels": channels,
            "orders": format!("/admin/events/{}/orders", e.id), "csv": format!("/admin/events/{}/orders.csv", e.id),
        });
        Ok(page(&web, &headers, StatusCode::OK, "admin_sales.html", &s, data))
    }
    .await;
    finish(&web, &headers, r)
}

/// One CSV field: quoted when it must be, and a text a spreadsheet would take
/// for a formula (`=…`, `@…`, `+`/`-` not followed by a digit) kept as text.
pub(super) fn csv_field(s: &str) -> String {
    let formula = match s.as_bytes() {
        [b'=' | b'@' | b'\t' | b'\r', ..] => true,
        [b'+' | b'-', next, ..] => !next.is_ascii_digit(),
        [b'+' | b'-'] => true,
        _ => false,
    };
    let s = if formula { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `created` as the venue's clock reads it: `2026-12-06 20:41:05 +09:00`.
fn venue_stamp(e: &EventView, at: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(e.zone().offset_secs(at)).unwrap_or_else(|| chrono::Utc.fix());
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S %:z").to_string())
        .unwrap_or_default()
}

/// `GET /admin/events/{id}/orders.csv`.
pub(super) async fn csv(
    State(web): State<Web>,
    SignedIn(s): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let r: PageResult = async {
        let e = event_for(&web, &s, &id).await?;
        let store = &web.app.store;
        let columns = [
            "reference",
            "event",
            "seat-type",
            "seats",
            "quantity",
            "amount",
            "payment-method",
            "payment-status",
            "channel",
            "phone",
            "name",
            "created",
        ];
        let mut out = String::from("\u{feff}");
        let head: Vec<String> = columns.iter().map(|c| csv_field(&tr(&web, &format!("admin-csv-{c}"), &[]))).collect();
        out.push_str(&head.join(","));
        out.push_str("\r\n");
        for pid in store.order_ids(&e.id).await? {
            let Some(p) = store.purchase(&pid).await? else { continue };
            let name = store.holder_profile(&p.phone).await?.and_then(|pr| pr.name).unwrap_or_default();
            let channel = store.purchase_channel(&p.id).await?;
            let seat_type =
                e.seat_types.iter().find(|t| t.code == p.seat_type).map_or(p.seat_type.clone(), |t| t.name.clone());
            let row = [
                p.id.clone(),
                e.name.clone(),
                seat_type,
                p.seats.join(" "),
                p.quantity.to_string(),
                p.amount.to_string(),
                method_name(&web, &p.payment_method),
                state_name(&web, &p),
                channel_name(&web, channel.as_deref()),
                p.phone.as_str().to_string(),
                name,
                venue_stamp(&e, p.reserved_at),
            ];
            let row: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        let file = format!(
            "attachment; filename=\"orders-{}.csv\"",
            e.id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
        );
        Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, file)],
            out,
        )
            .into_response())
    }
    .await;
    finish(&web, &headers, r)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_kept_as_text() {
        assert_eq!(csv_field("山田 花子"), "山田 花子");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-cmd"), "'-cmd");
        assert_eq!(csv_field("+819012345678"), "+819012345678");
        assert_eq!(csv_field("-1"), "-1");
    }
}
