//! `dialticket admin …`: the back office's commands, as library functions the
//! CLI and the tests both call.

use crate::accounts::{setup_link, valid_name, Role};
use crate::store::Store;

/// `dialticket admin add-operator NAME`: an operator account and its one-time
/// setup link on the admin listener at `admin_base` (where the operator sets a
/// password; it works once, for [`crate::accounts::SETUP_LINK_TTL`]). The lines to print.
pub async fn add_operator(store: &Store, name: &str, admin_base: &str) -> Result<String, String> {
    if !valid_name(name) {
        return Err(format!("'{name}' is not a login name (1–64 letters, digits, '.', '_', '-', '@')"));
    }
    let made = store.add_account(name, &Role::Operator, "cli", crate::store::now()).await.map_err(|e| e.to_string())?;
    let made = made.ok_or_else(|| format!("there is already an account named '{name}'"))?;
    Ok(format!(
        "operator {} ({name})\nset a password (once, within 24 hours): {}",
        made.account.id,
        setup_link(admin_base, &made.setup_token)
    ))
}

/// `dialticket events list`: every event with its organizer, start on the venue
/// clock, whether it is on sale at `at`, and its seats sold / held / free. The
/// lines to print (a header, then one per event).
pub async fn list_events(store: &Store, at: i64) -> Result<String, String> {
    let events = store.events().await.map_err(|e| e.to_string())?;
    let mut lines = vec![format!(
        "{:<24} {:<16} {:<30} {:<9} {:>6} {:>6} {:>6}",
        "event", "organizer", "starts (venue)", "sale", "sold", "held", "free"
    )];
    for e in &events {
        let counts = store.seat_counts(&e.id).await.map_err(|e| e.to_string())?;
        let of = |state: &str| counts.iter().filter(|(_, s, _)| s == state).map(|(_, _, n)| n).sum::<i64>();
        let sale = match () {
            _ if e.sales_paused => "stopped",
            _ if e.on_sale(at) => "on sale",
            _ if at < e.sale_start => "not yet",
            _ => "closed",
        };
        lines.push(format!(
            "{:<24} {:<16} {:<30} {:<9} {:>6} {:>6} {:>6}",
            e.id,
            e.organizer,
            e.starts("en"),
            sale,
            of("sold"),
            of("held"),
            of("free")
        ));
    }
    Ok(lines.join("\n"))
}
