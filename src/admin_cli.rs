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
