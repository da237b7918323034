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
    /// A `0…` that is neither the international prefix nor the national prefix
    /// and an area code (`0044…` in Japan, where 010 is the international prefix
    /// and no area code starts with 0; `03…` in North America); the plan, described.
    #[error("'{0}' is neither national nor international: {1}")]
    BadPrefix(String, String),
    #[error("'{0}' has a phone-context that is neither a global number (+…) nor a domain name")]
    BadPhoneContext(String),
}

/// How numbers are dialled where a number came from: the country code that
/// completes national numbers and the prefixes that mark national and
/// international ones (ITU-T E.164 / E.123; RFC 3966 calls this the numbering
/// plan a local number is relative to).
///
/// ```
/// # use dialticket::phone::{NumberingPlan, PhoneNumber};
/// let japan = NumberingPlan::for_country("81");
/// assert_eq!(PhoneNumber::normalize_in("090-1234-5678", &japan).unwrap().as_str(), "+819012345678");
/// assert_eq!(PhoneNumber::normalize_in("010 44 20 7946 0100", &japan).unwrap().as_str(), "+442079460100");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberingPlan {
    /// Completes national numbers; without it they are an error.
    pub country_code: Option<String>,
    /// Dialled before an area code in national numbers: `0` in most countries,
    /// `1` in North America. Empty: numbers are never national.
    pub national_prefix: String,
    /// Dialled before a country code: `00` (the ITU-T recommendation), `010` in
    /// Japan, `011` in North America. The longest that matches wins, and an
    /// international prefix is recognized before the national one.
    pub international_prefixes: Vec<String>,
}

impl Default for NumberingPlan {
    /// No country code; national prefix `0`, international prefix `00`.
    fn default() -> Self {
        NumberingPlan { country_code: None, national_prefix: "0".into(), international_prefixes: vec!["00".into()] }
    }
}

impl NumberingPlan {
    /// The plan of a country by its calling code (`"81"`, `"44"`, `"1"`): national
    /// prefix `0` and international prefix `00` unless the country is known to
    /// differ (North America `1`/`011`, Japan `0`/`010`, Australia `0`/`0011`).
    pub fn for_country(country_code: &str) -> Self {
        let (national, international): (&str, &[&str]) = match country_code {
            "1" => ("1", &["011"]),
            // Carriers' selection codes (0033, 0041, …) in front of 010 are not handled.
            "81" => ("0", &["010"]),
            "61" => ("0", &["0011"]),
            _ => ("0", &["00"]),
        };
        NumberingPlan {
            country_code: Some(country_code.to_string()),
            national_prefix: national.to_string(),
            international_prefixes: international.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// [`NumberingPlan::for_country`], or the default plan without a country code.
    pub fn for_country_opt(country_code: Option<&str>) -> Self {
        country_code.map(Self::for_country).unwrap_or_default()
    }

    /// The longest international prefix `digits` starts with.
    fn international_prefix(&self, digits: &str) -> Option<&str> {
        self.international_prefixes
            .iter()
            .map(String::as_str)
            .filter(|p| !p.is_empty() && digits.starts_with(p))
            .max_by_key(|p| p.len())
    }

    /// "national numbers here are 0 + …, international ones start with 010 or +".
    fn describe(&self) -> String {
        let mut international: Vec<&str> = self.international_prefixes.iter().map(String::as_str).collect();
        international.push("+");
        let national = match self.national_prefix.as_str() {
            "" => "numbers here have no national prefix".to_string(),
            p => format!("national numbers here are {p} + an area code (never 0…)"),
        };
        format!("{national}, international ones start with {}", international.join(" or "))
    }
}

/// What a number without `+` or a prefix is taken to be.
#[derive(Clone, Copy)]
enum Bare {
    /// Already international, country code included (`442079460100`): SIP trunks
    /// often present numbers that way.
    International,
    /// A national significant number, completed with the plan's country code
    /// (a local number under a `phone-context` that is a country code).
    National,
}

/// Visual separators allowed in dialled strings and tel: URIs (RFC 3966 §5.1.1).
fn is_visual_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')
}

/// Whether `number` starts with `+`, and its digits without visual separators;
/// `raw` is what errors quote.
fn digits_of(raw: &str, number: &str) -> Result<(bool, String), PhoneNumberError> {
    let number = number.trim();
    let (plus, rest) = match number.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, number),
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
    Ok((plus, digits))
}

/// A telephone-subscriber (`7946-0100;phone-context=+44-20;cpc=ordinary`, the user
/// part of a `sip:…;user=phone` URI or the body of a `tel:` URI) split into the
/// number and the value of its `phone-context` parameter, if any.
pub fn split_subscriber(subscriber: &str) -> (&str, Option<&str>) {
    let mut parts = subscriber.split(';');
    let number = parts.next().unwrap_or_default();
    let context = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("phone-context").then_some(value.trim())
    });
    (number, context)
}

/// RFC 3966 `domainname`: dot-separated labels of letters, digits and inner
/// hyphens, the last starting with a letter; a trailing dot is allowed.
fn is_domain_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !s.is_empty()
        && s.len() <= 253
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Decode `%XX` escapes (URI user parts may escape `+` as `%2B`); `None` for a
/// broken escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl PhoneNumber {
    /// Parse a number that must already be international (`+…` or `00…`).
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        Self::normalize(raw, None)
    }

    /// Normalize a dialled or presented number to E.164 in the numbering plan of
    /// `country_code` ([`NumberingPlan::for_country`]; the default plan without one).
    ///
    /// * `+CC…` and the country's international prefix (`00CC…`; `010CC…` in
    ///   Japan, `011CC…` in North America) are international;
    /// * the national prefix (a leading `0`; `1` in North America) is replaced by
    ///   `+country_code`;
    /// * a bare digit string without prefix is taken as already including the
    ///   country code (the way SIP trunks usually present `442079460100`).
    ///
    /// `raw` may also be a `tel:` URI or a `sip:` URI with a number as its user
    /// part; see [`PhoneNumber::normalize_in`].
    pub fn normalize(raw: &str, country_code: Option<&str>) -> Result<Self, PhoneNumberError> {
        Self::normalize_in(raw, &NumberingPlan::for_country_opt(country_code))
    }

    /// Normalize a number to E.164 under `plan`.
    ///
    /// `raw` is a number with visual separators (`+44 20 7946 0100`, `(090)
    /// 1234-5678`), a telephone-subscriber with parameters
    /// (`7946-0100;phone-context=+44-20`), a `tel:` URI, or a `sip:`/`sips:` URI
    /// whose user part is one of those (`sip:+819012345678@host;user=phone`).
    /// A local number's `phone-context` (RFC 3966 §5.1.5) is honoured as in
    /// [`PhoneNumber::normalize_local`]; other parameters (`cpc`, `ext`, …) are ignored.
    pub fn normalize_in(raw: &str, plan: &NumberingPlan) -> Result<Self, PhoneNumberError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let bad = || PhoneNumberError::BadCharacter(raw.to_string());
        let scheme = trimmed.split_once(':').map(|(s, rest)| (s.to_ascii_lowercase(), rest));
        let subscriber = match &scheme {
            Some((s, rest)) if s == "tel" => percent_decode(rest).ok_or_else(bad)?,
            Some((s, rest)) if s == "sip" || s == "sips" => {
                // userinfo = user [":" password] "@" (RFC 3261 §19.1.1); no user, no number.
                let Some((userinfo, _host)) = rest.split_once('@') else {
                    return Err(PhoneNumberError::Empty);
                };
                let user = userinfo.split(':').next().unwrap_or_default();
                percent_decode(user).ok_or_else(bad)?
            }
            _ => trimmed.to_string(),
        };
        let (number, context) = split_subscriber(&subscriber);
        Self::resolve(raw, number, context, plan)
    }

    /// Normalize `number`, a local or global number (RFC 3966 §5.1.4, §5.1.5) whose
    /// `phone_context` was already taken out of its URI, under `plan`:
    ///
    /// * a global number (`+…`) ignores any context;
    /// * a context of global digits longer than a country code (`+44-20`, an area)
    ///   is put in front of the local digits: `7946-0100` → `+442079460100`;
    /// * a context that is a bare country code (`+81`, as 3GPP TS 24.229 puts on
    ///   numbers dialled in national form) dials the local number in that
    ///   country: `03-1234-5678` → `+81312345678`, `312345678` → `+81312345678`;
    /// * a domain name (`ims.example.net`) means the sender's own numbering
    ///   plan, which for us is `plan` (the trunk's);
    /// * no context: `plan`, as for [`PhoneNumber::normalize_in`].
    pub fn normalize_local(
        number: &str,
        phone_context: Option<&str>,
        plan: &NumberingPlan,
    ) -> Result<Self, PhoneNumberError> {
        Self::resolve(number, number, phone_context, plan)
    }

    /// [`PhoneNumber::normalize_local`]; `raw` is what errors quote.
    fn resolve(raw: &str, number: &str, context: Option<&str>, plan: &NumberingPlan) -> Result<Self, PhoneNumberError> {
        let (plus, digits) = digits_of(raw, number)?;
        if plus {
            return Self::e164(raw, digits);
        }
        let Some(context) = context.map(str::trim) else {
            return Self::in_plan(raw, &digits, plan, Bare::International);
        };
        if let Some(global) = context.strip_prefix('+') {
            let bad_context = || PhoneNumberError::BadPhoneContext(raw.to_string());
            let (_, prefix) = digits_of(raw, global).map_err(|_| bad_context())?;
            if prefix.starts_with('0') {
                return Err(bad_context());
            }
            if prefix.len() <= 3 {
                return Self::in_plan(raw, &digits, &NumberingPlan::for_country(&prefix), Bare::National);
            }
            return Self::e164(raw, prefix + &digits);
        }
        if is_domain_name(context) {
            return Self::in_plan(raw, &digits, plan, Bare::International);
        }
        Err(PhoneNumberError::BadPhoneContext(raw.to_string()))
    }

    /// `digits` (no `+`) dialled under `plan`.
    fn in_plan(raw: &str, digits: &str, plan: &NumberingPlan, bare: Bare) -> Result<Self, PhoneNumberError> {
        if let Some(prefix) = plan.international_prefix(digits) {
            return Self::e164(raw, digits[prefix.len()..].to_string());
        }
        let national = match digits.strip_prefix(plan.national_prefix.as_str()) {
            Some(rest) if !plan.national_prefix.is_empty() => rest,
            _ => match bare {
                // `0…` that is neither prefix here (`0312…` on a North American trunk).
                Bare::International if digits.starts_with('0') => {
                    return Err(PhoneNumberError::BadPrefix(raw.to_string(), plan.describe()));
                }
                Bare::International => return Self::e164(raw, digits.to_string()),
                Bare::National => digits,
            },
        };
        let Some(cc) = plan.country_code.as_deref() else {
            return Err(PhoneNumberError::NoCountryCode(raw.to_string()));
        };
        if national.starts_with('0') {
            return Err(PhoneNumberError::BadPrefix(raw.to_string(), plan.describe()));
        }
        Self::e164(raw, format!("{cc}{national}"))
    }

    /// `+` and `international`, if it is 8–15 digits that do not start with 0.
    fn e164(raw: &str, international: String) -> Result<Self, PhoneNumberError> {
        let len = international.len();
        if !(8..=15).contains(&len) || international.starts_with('0') {
            return Err(PhoneNumberError::BadLength(raw.to_string(), len));
        }
        Ok(PhoneNumber(format!("+{international}")))
    }

    /// The number as shown to somebody who is not its owner (a staff member
    /// checking a ticket code): the first three and the last four characters, the
    /// rest hidden — `+81•••••5678`.
    pub fn masked(&self) -> String {
        let s = self.as_str();
        let n = s.chars().count();
        s.chars().enumerate().map(|(i, c)| if i < 3 || i + 4 >= n { c } else { '•' }).collect()
    }

    /// The number with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits only, without `+` (for templates such as `{digits}@sms.example.net`).
    /// This number as people of country code `cc` write it: `090-3333-4444`, `020 7946 0100`; a number of
    /// another country stays international (`+44 20 7946 0100` in Japan reads `+442079460100`).
    pub fn national(&self, cc: Option<&str>) -> String {
        let d = self.digits();
        let Some(cc) = cc else { return self.to_string() };
        let Some(nsn) = d.strip_prefix(cc) else { return self.to_string() };
        let group = |sizes: &[usize], sep: &str, prefix: &str| -> String {
            let mut out = Vec::new();
            let mut rest = format!("{prefix}{nsn}");
            for (i, s) in sizes.iter().enumerate() {
                if i + 1 == sizes.len() || rest.len() <= *s {
                    out.push(std::mem::take(&mut rest));
                    break;
                }
                let tail = rest.split_off(*s);
                out.push(std::mem::replace(&mut rest, tail));
            }
            if !rest.is_empty() {
                out.push(rest);
            }
            out.join(sep)
        };
        match cc {
            "81" => match (nsn.get(..1), nsn.get(..3), nsn.len()) {
                (_, Some("120"), _) => group(&[4, 3, 3], "-", "0"),
                (_, Some("800"), _) => group(&[4, 3, 4], "-", "0"),
                (_, _, 10) => group(&[3, 4, 4], "-", "0"),
                (Some("3" | "6"), _, 9) => group(&[2, 4, 4], "-", "0"),
                _ => group(&[3, 3, 4], "-", "0"),
            },
            "44" => match nsn.get(..1) {
                Some("2") => group(&[3, 4, 4], " ", "0"),
                _ => group(&[5, 6], " ", "0"),
            },
            "1" => match nsn.len() {
                10 => format!("({}) {}-{}", &nsn[..3], &nsn[3..6], &nsn[6..]),
                _ => self.to_string(),
            },
            "61" => group(&[4, 3, 3], " ", "0"),
            _ => self.to_string(),
        }
    }

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
    fn a_masked_number_keeps_only_its_country_and_last_four_digits() {
        assert_eq!(PhoneNumber::parse("+819012345678").unwrap().masked(), "+81••••••5678");
        assert_eq!(PhoneNumber::parse("+442079460100").unwrap().masked(), "+44••••••0100");
    }

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

    /// The kind of a normalization error, for tables.
    fn kind(e: &PhoneNumberError) -> &'static str {
        match e {
            PhoneNumberError::Empty => "Empty",
            PhoneNumberError::BadCharacter(_) => "BadCharacter",
            PhoneNumberError::BadLength(..) => "BadLength",
            PhoneNumberError::NoCountryCode(_) => "NoCountryCode",
            PhoneNumberError::BadPrefix(..) => "BadPrefix",
            PhoneNumberError::BadPhoneContext(_) => "BadPhoneContext",
        }
    }

    /// Numbers as carriers, PBXs and people write them, under the numbering plan
    /// of the trunk they came over (`None`: no country code configured).
    #[test]
    fn numbering_plan_table() {
        let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
            // Japan: national prefix 0, international prefix 010.
            ("090-1234-5678", Some("81"), Ok("+819012345678")),
            ("09012345678", Some("81"), Ok("+819012345678")),
            ("03-1234-5678", Some("81"), Ok("+81312345678")),
            ("(06) 6123-4567", Some("81"), Ok("+81661234567")),
            ("0120-123-456", Some("81"), Ok("+81120123456")),
            ("010-44-20-7946-0100", Some("81"), Ok("+442079460100")),
            ("010 1 212 555 0123", Some("81"), Ok("+12125550123")),
            ("+81 90-1234-5678", Some("81"), Ok("+819012345678")),
            ("819012345678", Some("81"), Ok("+819012345678")),
            ("0044 20 7946 0100", Some("81"), Err("BadPrefix")),
            // UK and the rest of Europe: 0 and 00.
            ("020 7946 0100", Some("44"), Ok("+442079460100")),
            ("07700 900123", Some("44"), Ok("+447700900123")),
            ("0044 20 7946 0100", Some("44"), Ok("+442079460100")),
            ("00 81 90 1234 5678", Some("44"), Ok("+819012345678")),
            ("030 1234567", Some("49"), Ok("+49301234567")),
            ("0049 30 1234567", Some("33"), Ok("+49301234567")),
            ("01 23 45 67 89", Some("33"), Ok("+33123456789")),
            ("00 33 1 23 45 67 89", Some("49"), Ok("+33123456789")),
            // North America: 1 and 011.
            ("011 44 20 7946 0100", Some("1"), Ok("+442079460100")),
            ("011-81-90-1234-5678", Some("1"), Ok("+819012345678")),
            ("1 (212) 555-0123", Some("1"), Ok("+12125550123")),
            ("+1 212-555-0123", Some("1"), Ok("+12125550123")),
            ("12125550123", Some("1"), Ok("+12125550123")),
            ("0312345678", Some("1"), Err("BadPrefix")),
            // Australia: 0 and 0011.
            ("0011 44 20 7946 0100", Some("61"), Ok("+442079460100")),
            ("(02) 9374 4000", Some("61"), Ok("+61293744000")),
            // No country code configured: international forms only.
            ("+44 20 7946 0100", None, Ok("+442079460100")),
            ("442079460100", None, Ok("+442079460100")),
            ("0044-20-7946-0100", None, Ok("+442079460100")),
            ("\u{a0}+44\u{a0}20\u{a0}7946\u{a0}0100 ", None, Ok("+442079460100")),
            ("020 7946 0100", None, Err("NoCountryCode")),
            // tel: URIs (RFC 3966), with separators and phone-context.
            ("tel:+44-20-7946-0100", None, Ok("+442079460100")),
            ("TEL:+44.20.7946.0100", None, Ok("+442079460100")),
            ("tel:+1-212-555-0123;ext=42", None, Ok("+12125550123")),
            ("tel:7946-0100;phone-context=+44-20", None, Ok("+442079460100")),
            ("tel:555-0123;phone-context=+1-212", Some("81"), Ok("+12125550123")),
            ("tel:03-1234-5678;phone-context=+81", Some("44"), Ok("+81312345678")),
            ("tel:20-7946-0100;phone-context=+44", Some("81"), Ok("+442079460100")),
            ("tel:1-212-555-0123;phone-context=+1", None, Ok("+12125550123")),
            ("tel:090-1234-5678;phone-context=ims.mnc010.mcc440.3gppnetwork.org", Some("81"), Ok("+819012345678")),
            ("tel:020-7946-0100;Phone-Context=example.com", Some("44"), Ok("+442079460100")),
            ("tel:020-7946-0100;phone-context=example.com", None, Err("NoCountryCode")),
            ("tel:+81-90-1234-5678;phone-context=example.com", Some("44"), Ok("+819012345678")),
            ("tel:7946-0100;phone-context=foo_bar", Some("44"), Err("BadPhoneContext")),
            ("tel:7946-0100;phone-context=+", Some("44"), Err("BadPhoneContext")),
            ("tel:7946-0100;phone-context=+0-20", Some("44"), Err("BadPhoneContext")),
            ("tel:;phone-context=+44-20", Some("44"), Err("Empty")),
            // sip: URIs with a number as the user (user=phone, RFC 3261 §19.1.6).
            ("sip:+819012345678@jp.example;user=phone", None, Ok("+819012345678")),
            ("sip:09012345678@jp.example;user=phone", Some("81"), Ok("+819012345678")),
            ("sip:7946-0100;phone-context=+44-20@gw.example;user=phone", None, Ok("+442079460100")),
            ("sip:+819012345678;cpc=ordinary@jp.example;user=phone", None, Ok("+819012345678")),
            ("sip:%2B442079460100@example.com", None, Ok("+442079460100")),
            ("sips:+1-212-555-1212:1234@gateway.com;user=phone", None, Ok("+12125551212")),
            ("sip:anonymous@anonymous.invalid", Some("44"), Err("BadCharacter")),
            ("sip:gw.example", Some("44"), Err("Empty")),
            ("sip:%2G44@example.com", None, Err("BadCharacter")),
            // Not numbers.
            ("anonymous", Some("44"), Err("BadCharacter")),
            ("Restricted", Some("81"), Err("BadCharacter")),
            ("+44 20 7946 01OO", None, Err("BadCharacter")),
            ("*31#09012345678", Some("81"), Err("BadCharacter")),
            ("%2B442079460100", None, Err("BadCharacter")),
            ("", Some("44"), Err("Empty")),
            (" - ( ) ", Some("44"), Err("Empty")),
            ("12", None, Err("BadLength")),
            ("+44 12", None, Err("BadLength")),
            ("090-123", Some("81"), Err("BadLength")),
            ("+1234567890123456", None, Err("BadLength")),
            ("010 44 20 7946 0100 1234", Some("81"), Err("BadLength")),
            ("+0 44 20 7946 0100", None, Err("BadLength")),
        ];
        for (raw, cc, want) in cases {
            let got = PhoneNumber::normalize_in(raw, &NumberingPlan::for_country_opt(*cc));
            let got = got.as_ref().map(PhoneNumber::as_str).map_err(kind);
            assert_eq!(got, *want, "{raw:?} in {cc:?}");
            // `normalize` is the same with the country's default plan.
            assert_eq!(
                PhoneNumber::normalize(raw, *cc).as_ref().map(PhoneNumber::as_str).map_err(kind),
                *want,
                "{raw}"
            );
        }
    }

    #[test]
    fn country_defaults_and_overrides() {
        assert_eq!(NumberingPlan::for_country_opt(None), NumberingPlan::default());
        let jp = NumberingPlan::for_country("81");
        assert_eq!(
            (jp.national_prefix.as_str(), jp.international_prefixes.as_slice()),
            ("0", &["010".to_string()][..])
        );
        let us = NumberingPlan::for_country("1");
        assert_eq!(
            (us.national_prefix.as_str(), us.international_prefixes.as_slice()),
            ("1", &["011".to_string()][..])
        );
        let uk = NumberingPlan::for_country("44");
        assert_eq!((uk.national_prefix.as_str(), uk.international_prefixes.as_slice()), ("0", &["00".to_string()][..]));

        // A Japanese trunk that also sends carrier-selected international calls:
        // the longest matching prefix wins.
        let carrier = NumberingPlan {
            international_prefixes: vec!["010".into(), "0033010".into()],
            ..NumberingPlan::for_country("81")
        };
        let n = |raw: &str, plan: &NumberingPlan| PhoneNumber::normalize_in(raw, plan).map(|n| n.to_string());
        assert_eq!(n("0033-010-44-20-7946-0100", &carrier), Ok("+442079460100".into()));
        assert_eq!(n("010-44-20-7946-0100", &carrier), Ok("+442079460100".into()));
        // No international prefix at all: international numbers come with '+'.
        let plus_only = NumberingPlan { international_prefixes: vec![], ..NumberingPlan::for_country("44") };
        assert!(matches!(n("0044 20 7946 0100", &plus_only), Err(PhoneNumberError::BadPrefix(..))));
        assert_eq!(n("020 7946 0100", &plus_only), Ok("+442079460100".into()));
        // No national prefix: bare digits stay international.
        let no_national = NumberingPlan { national_prefix: String::new(), ..NumberingPlan::for_country("44") };
        assert_eq!(n("442079460100", &no_national), Ok("+442079460100".into()));
        assert!(matches!(n("02079460100", &no_national), Err(PhoneNumberError::BadPrefix(..))));

        let e = PhoneNumber::normalize("0044 20 7946 0100", Some("81")).unwrap_err().to_string();
        assert_eq!(
            e,
            "'0044 20 7946 0100' is neither national nor international: national numbers here are 0 + an area \
             code (never 0…), international ones start with 010 or +"
        );
    }

    #[test]
    fn local_numbers_with_their_context() {
        let uk = NumberingPlan::for_country("44");
        let n = |num: &str, ctx: Option<&str>| PhoneNumber::normalize_local(num, ctx, &uk).map(|n| n.to_string());
        assert_eq!(n("7946-0100", Some("+44-20")), Ok("+442079460100".into()));
        assert_eq!(n("7946-0100", Some(" +44-20 ")), Ok("+442079460100".into()));
        assert_eq!(n("020 7946 0100", Some("example.com.")), Ok("+442079460100".into()));
        assert_eq!(n("020 7946 0100", None), Ok("+442079460100".into()));
        assert!(matches!(n("7946-0100", Some("")), Err(PhoneNumberError::BadPhoneContext(_))));
        assert!(matches!(n("7946-0100", Some("-bad.example")), Err(PhoneNumberError::BadPhoneContext(_))));
        assert!(matches!(n("7946-0100", Some("example.123")), Err(PhoneNumberError::BadPhoneContext(_))));

        assert_eq!(split_subscriber("7946-0100;phone-context=+44-20;cpc=ordinary"), ("7946-0100", Some("+44-20")));
        assert_eq!(split_subscriber("+442079460100;cpc=ordinary"), ("+442079460100", None));
        assert_eq!(split_subscriber("+442079460100"), ("+442079460100", None));
    }

    #[test]
    fn digits_strip_plus() {
        assert_eq!(PhoneNumber::parse("+819012345678").unwrap().digits(), "819012345678");
    }

    #[test]
    fn numbers_are_shown_as_written_at_home() {
        let p = |s: &str| PhoneNumber::parse(s).unwrap();
        assert_eq!(p("+819033334444").national(Some("81")), "090-3333-4444");
        assert_eq!(p("+81312345678").national(Some("81")), "03-1234-5678");
        assert_eq!(p("+81452345678").national(Some("81")), "045-234-5678");
        assert_eq!(p("+81120123456").national(Some("81")), "0120-123-456");
        assert_eq!(p("+442079460100").national(Some("44")), "020 7946 0100");
        assert_eq!(p("+447700900123").national(Some("44")), "07700 900123");
        assert_eq!(p("+442079460100").national(Some("81")), "+442079460100");
        assert_eq!(p("+12015550123").national(Some("1")), "(201) 555-0123");
    }
}
