//! Organizer passwords as Argon2id PHC strings (`$argon2id$v=19$…`), pure: no I/O.
//!
//! The store only reads and writes the hash ([`crate::store::Store::organizer_password_hash`]);
//! hashing and checking live here so the store knows nothing of Argon2, and so
//! the slow hash is never computed while a write transaction holds the database
//! (on SQLite, every other write would wait for it).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// An Argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
}

/// Whether `password` matches the stored `hash`. A hash that cannot be parsed
/// matches nothing (a login is refused, never an error).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_its_password_only() {
        let hash = hash_password("so what, kind of blue").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("so what, kind of blue", &hash));
        assert!(!verify_password("so what", &hash));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash, hash_password("so what, kind of blue").unwrap());
    }

    #[test]
    fn an_unreadable_hash_matches_nothing() {
        assert!(!verify_password("", ""));
        assert!(!verify_password("x", "not a PHC string"));
    }
}
