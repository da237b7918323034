//! The back office's accounts, pure: roles and who may see what, the password
//! rule, how long links and sessions live, and the CSRF token a session's forms
//! carry. No I/O: the store keeps accounts and token hashes
//! ([`crate::store::Store::add_account`]), `web::backoffice` serves the pages.
//!
//! - An **operator** sees and does everything (made with
//!   `dialticket admin add-operator NAME`, or by another operator).
//! - An **organizer** account belongs to one organizer of the catalog and sees
//!   that organizer's events only (made by an operator from the accounts page).
//! - Door staff keep their own accounts ([`crate::store::Staff`]).
//!
//! A new account has no password: its one-time setup link (shown once, only its
//! SHA-256 stored) lets its holder set one, once, within [`SETUP_LINK_TTL`].

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::Timestamp;

/// A new password's minimum length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// A password longer than this is refused (Argon2 would hash it, but nobody types it).
pub const MAX_PASSWORD_CHARS: usize = 200;
/// How long a one-time setup link works, in seconds.
pub const SETUP_LINK_TTL: i64 = 24 * 3600;
/// How long a session lasts after login, in seconds.
pub const SESSION_TTL: i64 = 12 * 3600;

/// What an account may do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "role", content = "organizer", rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Operator,
    /// The events of this organizer of the catalog only.
    Organizer(String),
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Organizer(_) => "organizer",
        }
    }

    /// The role as stored: `role` and `organizer_id` columns. `None`: a row no
    /// code writes (an organizer without its organizer).
    pub fn from_columns(role: &str, organizer: Option<String>) -> Option<Role> {
        match (role, organizer) {
            ("operator", _) => Some(Role::Operator),
            ("organizer", Some(o)) => Some(Role::Organizer(o)),
            _ => None,
        }
    }

    /// Whether this role may see and manage the events of `organizer`.
    pub fn sees_organizer(&self, organizer: &str) -> bool {
        match self {
            Role::Operator => true,
            Role::Organizer(own) => own == organizer,
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self, Role::Operator)
    }
}

/// A back-office account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub id: String,
    /// The login name.
    pub name: String,
    #[serde(flatten)]
    pub role: Role,
    /// Whether a password is set (the setup link has been used).
    pub has_password: bool,
}

/// Why a new password is refused; the page says it in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    /// The two copies typed differ.
    Mismatch,
    /// The same as the old one (on a change).
    Unchanged,
}

impl PasswordProblem {
    /// The catalog message saying it (`admin-password-too-short`, …).
    pub fn message_id(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "admin-password-too-short",
            PasswordProblem::TooLong => "admin-password-too-long",
            PasswordProblem::Mismatch => "admin-password-mismatch",
            PasswordProblem::Unchanged => "admin-password-unchanged",
        }
    }
}

/// Check a new password and its repetition.
pub fn check_new_password(new: &str, again: &str) -> Result<(), PasswordProblem> {
    let chars = new.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if new != again {
        return Err(PasswordProblem::Mismatch);
    }
    Ok(())
}

/// A login name: 1–64 characters, letters, digits, `.`, `_`, `-`, `@`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// What became of a one-time setup link, from its stored row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupLink {
    Usable,
    Used,
    Expired,
}

/// A setup link's state at `now`, from when it was used and when it expires.
pub fn setup_link_state(used_at: Option<Timestamp>, expires_at: Timestamp, now: Timestamp) -> SetupLink {
    if used_at.is_some() {
        SetupLink::Used
    } else if now >= expires_at {
        SetupLink::Expired
    } else {
        SetupLink::Usable
    }
}

/// The CSRF token of the forms shown to the holder of `cookie` (a session's
/// token, or the anonymous cookie the login page sets): HMAC-SHA256 of it under
/// `key`, base64url. Another site can neither read the cookie nor compute the
/// token, so a form it posts carries none that matches.
pub fn csrf_token(key: &[u8], cookie: &str) -> String {
    use base64::Engine;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"dialticket-backoffice-csrf\0");
    mac.update(cookie.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether `given` is the CSRF token for `cookie` (compared in constant time).
pub fn csrf_ok(key: &[u8], cookie: &str, given: &str) -> bool {
    let want = csrf_token(key, cookie);
    want.len() == given.len() && want.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The one-time setup link of `token` on the admin listener at `admin_base`.
pub fn setup_link(admin_base: &str, token: &str) -> String {
    format!("{}/admin/setup/{token}", admin_base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organizer_sees_its_own_organizer_only() {
        let org = Role::Organizer("holonic-hall".into());
        assert!(org.sees_organizer("holonic-hall"));
        assert!(!org.sees_organizer("other-hall"));
        assert!(Role::Operator.sees_organizer("other-hall"));
        assert_eq!(Role::from_columns("organizer", None), None);
        assert_eq!(Role::from_columns("organizer", Some("x".into())), Some(Role::Organizer("x".into())));
        assert_eq!(Role::from_columns("operator", None), Some(Role::Operator));
        assert_eq!(Role::from_columns("staff", None), None);
    }

    #[test]
    fn new_passwords() {
        assert_eq!(check_new_password("short", "short"), Err(PasswordProblem::TooShort));
        assert_eq!(check_new_password("long enough 1", "long enough 2"), Err(PasswordProblem::Mismatch));
        assert_eq!(check_new_password("long enough 1", "long enough 1"), Ok(()));
        // Characters, not bytes: ten kana are enough.
        assert_eq!(check_new_password("あいうえおかきくけこ", "あいうえおかきくけこ"), Ok(()));
        assert_eq!(check_new_password("あいうえお", "あいうえお"), Err(PasswordProblem::TooShort));
        let huge = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(check_new_password(&huge, &huge), Err(PasswordProblem::TooLong));
    }

    #[test]
    fn names() {
        assert!(valid_name("ops.tanaka"));
        assert!(valid_name("山田"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("<script>"));
    }

    #[test]
    fn setup_links_work_once_and_until_they_expire() {
        assert_eq!(setup_link_state(None, 100, 99), SetupLink::Usable);
        assert_eq!(setup_link_state(None, 100, 100), SetupLink::Expired);
        assert_eq!(setup_link_state(Some(50), 100, 60), SetupLink::Used);
        assert_eq!(setup_link("http://127.0.0.1:8081/", "tok"), "http://127.0.0.1:8081/admin/setup/tok");
    }

    #[test]
    fn csrf_tokens_belong_to_their_cookie() {
        let key = b"k";
        let t = csrf_token(key, "session-a");
        assert!(csrf_ok(key, "session-a", &t));
        assert!(!csrf_ok(key, "session-b", &t));
        assert!(!csrf_ok(key, "session-a", ""));
        assert!(!csrf_ok(b"other key", "session-a", &t));
    }
}
