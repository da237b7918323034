//! `PhoneNumber`: an E.164 number, validated once at construction.
//!
//! Caller IDs arrive in every shape carriers can think of (`+44 20 7946 0100`,
//! `0044…`, national `090…`, `tel:` URIs with separators). Everything past the
//! edge of the system holds a `PhoneNumber`, so nothing downstream has to
//! re-check or re-normalize it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A number in E.164 form: `+` followed by 8–15 digits, the first non-zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("empty number")]
    Empty,
    #[error("'{0}' contains characters that are not digits or visual separators")]
    BadCharacter(String),
    #[error("'{0}' has {1} digits; E.164 numbers have 8 to 15")]
    BadLength(String, usize),
    #[error("'{0}' is a national number and no country code is configured")]
    NoCountryCode(String),
}

/// Visual separators allowed in dialled strings and tel: URIs (RFC 3966 §5.1.1).
fn is_visual_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')
}

impl PhoneNumber {
    /// Parse a number that must already be international (`+…` or `00…`).
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        Self::normalize(raw, None)
    }

    /// Normalize a dialled or presented number to E.164.
    ///
    /// * `+CC…` and `00CC…` are international;
    /// * a leading single `0` is a national trunk prefix, replaced by `+country_code`;
    /// * a bare digit string without prefix is taken as already including the
    ///   country code (the way SIP trunks usually present `442079460100`).
    pub fn normalize(raw: &str, country_code: Option<&str>) -> Result<Self, PhoneNumberError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !is_visual_separator(c) {
                return Err(PhoneNumberError::BadCharacter(raw.to_string()));
            }
        }
        if digits.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let international = if plus {
            digits
        } else if let Some(d) = digits.strip_prefix("00") {
            d.to_string()
        } else if let Some(d) = digits.strip_prefix('0') {
            match country_code {
                Some(cc) => format!("{cc}{d}"),
                None => return Err(PhoneNumberError::NoCountryCode(raw.to_string())),
            }
        } else {
            digits
        };
        let len = international.len();
        if !(8..=15).contains(&len) || international.starts_with('0') {
            return Err(PhoneNumberError::BadLength(raw.to_string(), len));
        }
        Ok(PhoneNumber(format!("+{international}")))
    }

    /// The number with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits only, without `+` (for templates such as `{digits}@sms.example.net`).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_world_forms() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("+442079460100", None, "+442079460100"),
            ("442079460100", None, "+442079460100"),
            ("+44 20 7946 0100", None, "+442079460100"),
            ("0044-20-7946-0100", None, "+442079460100"),
            ("020 7946 0100", Some("44"), "+442079460100"),
            ("090-1234-5678", Some("81"), "+819012345678"),
            ("(090) 1234.5678", Some("81"), "+819012345678"),
            ("+81 90 1234 5678", Some("44"), "+819012345678"),
        ];
        for (raw, cc, want) in cases {
            assert_eq!(PhoneNumber::normalize(raw, *cc).unwrap().as_str(), *want, "{raw}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneNumberError::Empty));
        assert!(matches!(PhoneNumber::parse("anonymous"), Err(PhoneNumberError::BadCharacter(_))));
        assert!(matches!(PhoneNumber::parse("+12"), Err(PhoneNumberError::BadLength(..))));
        assert!(matches!(PhoneNumber::parse("+1234567890123456"), Err(PhoneNumberError::BadLength(..))));
        assert!(matches!(PhoneNumber::normalize("0901234567", None), Err(PhoneNumberError::NoCountryCode(_))));
    }

    #[test]
    fn digits_strip_plus() {
        assert_eq!(PhoneNumber::parse("+819012345678").unwrap().digits(), "819012345678");
    }
}
