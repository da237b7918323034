//! The seat map of a seated event: every seat of each seated type, row by row,
//! as a real checkbox (free) or a disabled one (taken), each named for screen
//! readers ("Seat A-1, S seat (stalls), ¥9,800"). Server-rendered: it works
//! without JavaScript; the store decides at the order whether a seat is still free.

use serde_json::{json, Value};

use super::super::{tr, Web};
use crate::events::EventView;
use crate::store::SeatState;

/// The seat's row: `A` of `A-1`.
fn row_of(code: &str) -> &str {
    code.rsplit_once('-').map_or(code, |(row, _)| row)
}

/// The map's seat types with rows (a type whose seats are all `<type>-<n>` is
/// general admission and has no map). Empty: the event has no seated type.
pub(super) fn build(web: &Web, event: &EventView, seats: &[SeatState], ticked: &[String]) -> Vec<Value> {
    let mut out = vec![];
    for st in &event.seat_types {
        let of_type: Vec<&SeatState> = seats.iter().filter(|s| s.seat_type == st.code).collect();
        if of_type.is_empty() || of_type.iter().all(|s| row_of(&s.seat_code) == st.code) {
            continue;
        }
        let price = event.price_display(st.price);
        let mut rows: Vec<(String, Vec<Value>)> = vec![];
        for s in of_type {
            let value = format!("{}:{}", st.code, s.seat_code);
            let label = match s.free {
                true => tr(web, "shop-seat-label", &[("seat", &s.seat_code), ("type", &st.name), ("price", &price)]),
                false => tr(web, "shop-seat-taken", &[("seat", &s.seat_code)]),
            };
            let seat = json!({
                "id": format!("seat-{}-{}", st.code, s.seat_code),
                "value": value,
                "number": s.seat_code.rsplit_once('-').map_or(s.seat_code.as_str(), |(_, n)| n),
                "free": s.free,
                "checked": s.free && ticked.contains(&value),
                "label": label,
            });
            let row = row_of(&s.seat_code).to_string();
            match rows.last_mut() {
                Some((r, list)) if *r == row => list.push(seat),
                _ => rows.push((row, vec![seat])),
            }
        }
        let rows: Vec<Value> = rows.into_iter().map(|(row, seats)| json!({"row": row, "seats": seats})).collect();
        out.push(json!({"code": st.code, "name": st.name, "price_display": price, "rows": rows}));
    }
    out
}

/// The first of `ticked` ("S:A-1") that is not a free seat of the map, if any.
pub(super) fn first_taken<'a>(seats: &[SeatState], ticked: &'a [String]) -> Option<&'a str> {
    ticked.iter().map(String::as_str).find(|t| {
        !seats.iter().any(|s| s.free && t.split_once(':') == Some((s.seat_type.as_str(), s.seat_code.as_str())))
    })
}
