//! A phone user's profile (seed 000 fig. 11, "user information"), kept to what a
//! ticket needs: the holder's name, which the ticket and admission pages show so
//! venue staff can compare it with an ID, and optionally a postal address and a
//! birth date (for organizers that post goods or sell age-limited events). The
//! seed's other fields (gender, occupation, hobbies …) are not collected: data a
//! ticket does not need is data that can only leak. Also the handset a phone
//! user's purchase link is used from (seed 000 fig. 10's model ID). Plain rules, no I/O.

use chrono::NaiveDate;

pub const NAME_MAX: usize = 100;
pub const POSTAL_ADDRESS_MAX: usize = 300;

/// What the user entered, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Profile {
    pub name: Option<String>,
    pub postal_address: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the name has at most {NAME_MAX} characters")]
    NameTooLong,
    #[error("the postal address has at most {POSTAL_ADDRESS_MAX} characters")]
    AddressTooLong,
    #[error("the birth date '{0}' is not a date like 1990-04-01")]
    BadDate(String),
    #[error("the birth date {0} is not possible")]
    ImpossibleDate(String),
}

/// Trim, fold runs of white space (and line breaks) into one space, drop control
/// characters; empty is "not given".
fn clean(s: &str) -> Option<String> {
    let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let out: String = out.chars().filter(|c| !c.is_control()).collect();
    (!out.is_empty()).then_some(out)
}

impl Profile {
    /// Check what a form sent, against `today` (a birth date is not in the future
    /// nor before 1900).
    pub fn from_form(
        name: &str,
        postal_address: &str,
        birth_date: &str,
        today: NaiveDate,
    ) -> Result<Profile, ProfileError> {
        let name = clean(name);
        if name.as_ref().is_some_and(|n| n.chars().count() > NAME_MAX) {
            return Err(ProfileError::NameTooLong);
        }
        let postal_address = clean(postal_address);
        if postal_address.as_ref().is_some_and(|a| a.chars().count() > POSTAL_ADDRESS_MAX) {
            return Err(ProfileError::AddressTooLong);
        }
        let birth_date = match clean(birth_date) {
            None => None,
            Some(d) => {
                let date = NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| ProfileError::BadDate(d.clone()))?;
                let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
                if date > today || date < earliest {
                    return Err(ProfileError::ImpossibleDate(d));
                }
                Some(date.format("%Y-%m-%d").to_string())
            }
        };
        Ok(Profile { name, postal_address, birth_date })
    }

    /// The fields given, by name (for the journal, which records that a field
    /// changed but not its value).
    pub fn fields(&self) -> Vec<&'static str> {
        [("name", &self.name), ("postal_address", &self.postal_address), ("birth_date", &self.birth_date)]
            .into_iter()
            .filter_map(|(f, v)| v.as_ref().map(|_| f))
            .collect()
    }
}

/// The handset's browser as the seed's "model ID": the User-Agent of a request
/// from a purchase link, kept printable and at most 200 characters.
pub fn handset_model(user_agent: &str) -> Option<String> {
    let s: String = user_agent.chars().filter(|c| !c.is_control()).take(200).collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn a_form_is_trimmed_and_empty_fields_are_not_given() {
        let p = Profile::from_form("  Yamada\n  Hanako ", "", " 1990-04-01 ", today()).unwrap();
        assert_eq!(p.name.as_deref(), Some("Yamada Hanako"));
        assert_eq!((p.postal_address, p.birth_date.as_deref()), (None, Some("1990-04-01")));
        assert_eq!(Profile::from_form("", " ", "", today()).unwrap(), Profile::default());
        assert_eq!(
            Profile::from_form("山田 花子", "東京都千代田区1-1", "", today()).unwrap().fields(),
            ["name", "postal_address"]
        );
    }

    #[test]
    fn what_cannot_be_right_is_refused_with_a_reason() {
        assert_eq!(Profile::from_form(&"あ".repeat(101), "", "", today()), Err(ProfileError::NameTooLong));
        assert!(Profile::from_form(&"あ".repeat(100), "", "", today()).is_ok(), "characters, not bytes");
        assert_eq!(Profile::from_form("", &"x".repeat(301), "", today()), Err(ProfileError::AddressTooLong));
        for bad in ["1990/04/01", "01-04-1990", "1990-02-30", "yesterday"] {
            let e = Profile::from_form("", "", bad, today()).unwrap_err();
            assert_eq!(e, ProfileError::BadDate(bad.into()), "{bad}");
        }
        for impossible in ["2026-11-23", "1899-12-31"] {
            let e = Profile::from_form("", "", impossible, today()).unwrap_err();
            assert!(matches!(e, ProfileError::ImpossibleDate(_)), "{impossible}: {e:?}");
        }
        assert!(Profile::from_form("", "", "2026-11-22", today()).is_ok());
    }

    #[test]
    fn handset_models_are_printable_and_bounded() {
        assert_eq!(
            handset_model("Mozilla/5.0 (Linux; Android 14; SH-M26)\r\n").as_deref(),
            Some("Mozilla/5.0 (Linux; Android 14; SH-M26)")
        );
        assert_eq!(handset_model(&"x".repeat(500)).map(|s| s.len()), Some(200));
        assert_eq!(handset_model(" \t"), None);
    }
}
