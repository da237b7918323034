//! The admission page's live code: what a screenshot cannot fake.
//!
//! For each seat the page shows a QR code of the seat's code followed by `/`
//! and six digits, and the digits in large type; the digits are a TOTP
//! (RFC 6238: HMAC-SHA-1, 15-second steps, 6 digits) over a secret of that
//! seat's issue: SHA-256 of the event's live key and `position:epoch`, the
//! event's live key derived from the signing key and the event (nothing stored). The page renews them as the steps go by; a
//! scan of a live code is accepted for the current step and one on either side
//! (RFC 6238 §5.2's allowance for clocks and delay), so a screenshot stops
//! scanning after 15 to 30 seconds and is answered `stale`.
//!
//! Where the seat's plain code (the ticket page's QR) scans too, the live code
//! adds nothing; it is for events that want proof the holder's phone is showing
//! the live page. Offline staff devices hold the event's live key (in the
//! offline bundle, [`super::offline`]) and check the digits themselves. That
//! key lets a device make live digits for the event's seats, but not a seat's
//! code (that takes the signing key): a staff device could only dress up a code
//! it already holds as "live", which proves freshness and nothing more, and the
//! devices are the event's own staff's (docs/checkin.md).

use totp_rs::{Algorithm, TOTP};

use super::code::CODE_BYTES;

/// Seconds per step (RFC 6238's X).
pub const STEP_SECS: u64 = 15;
/// Digits shown.
pub const DIGITS: usize = 6;
/// Characters of a seat's code as text (base45: 3 per 2 bytes, 2 for an odd one).
pub const CODE_TEXT_LEN: usize = CODE_BYTES / 2 * 3 + CODE_BYTES % 2 * 2;

/// The label the event's live key is derived under ([`crate::links::Links::derive_secret`]).
pub fn event_label(event_id: &str) -> String {
    format!("live-code:{event_id}")
}

/// The TOTP secret of seat `position` at `epoch`: SHA-256(event live key ‖ "position:epoch").
pub fn seat_secret(event_key: &[u8; 32], position: u32, epoch: u16) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(event_key);
    h.update(format!("{position}:{epoch}").as_bytes());
    h.finalize().into()
}

fn totp(secret: &[u8; 32]) -> TOTP {
    // RFC 6238 §5.2: one step of allowance each way.
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP_SECS, secret.to_vec())
}

/// The digits at unix time `at`.
pub fn digits(secret: &[u8; 32], at: u64) -> String {
    totp(secret).generate(at)
}

/// Whether `digits` are the ones at `at`, a step before or a step after.
pub fn accepts(secret: &[u8; 32], digits: &str, at: u64) -> bool {
    totp(secret).check(digits, at)
}

/// When the step holding `at` ends.
pub fn step_ends(at: u64) -> u64 {
    (at / STEP_SECS + 1) * STEP_SECS
}

/// The text of a live code: the seat's code, `/`, the digits.
pub fn text(code: &str, digits: &str) -> String {
    format!("{code}/{digits}")
}

/// A live code split into the seat's code and the digits; `None` for anything
/// else (a plain code, a reference, garbage).
pub fn split(text: &str) -> Option<(&str, &str)> {
    let (code, digits) = text.trim().split_at_checked(CODE_TEXT_LEN)?;
    let digits = digits.strip_prefix('/')?;
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some((code, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_change_every_step_and_a_step_either_side_is_accepted() {
        let secret = [7u8; 32];
        let at = 1_800_000_000; // a multiple of 15: the start of a step
        let now = digits(&secret, at);
        assert_eq!(now.len(), DIGITS);
        assert_eq!(digits(&secret, at + STEP_SECS - 1), now, "the same within a step");
        assert!(accepts(&secret, &now, at + STEP_SECS), "one step later");
        assert!(accepts(&secret, &now, at - 1), "one step earlier (a clock behind)");
        assert!(!accepts(&secret, &now, at + 2 * STEP_SECS), "two steps later: a screenshot");
        assert!(!accepts(&[8u8; 32], &now, at), "another seat's digits");
        assert_eq!(step_ends(at), at + STEP_SECS);
        assert_eq!(step_ends(at + 14), at + STEP_SECS);
    }

    #[test]
    fn a_live_code_splits_and_nothing_else_does() {
        let code = "A".repeat(CODE_TEXT_LEN);
        assert_eq!(CODE_TEXT_LEN, 116);
        let live = text(&code, "012345");
        assert_eq!(split(&live), Some((code.as_str(), "012345")));
        assert_eq!(split(&code), None, "a plain code");
        assert_eq!(split(&format!("{code}/01234")), None, "five digits");
        assert_eq!(split(&format!("{code}/01234X")), None);
        assert_eq!(split(&format!("{code}-012345")), None);
        assert_eq!(split("K7QF2-M9XTA"), None, "a reference");
        assert_eq!(split("ünïcödé/012345"), None);
    }
}
