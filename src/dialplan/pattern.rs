//! What a rule matches a number with: an exact number, an Asterisk-style
//! pattern, or a regex.
//!
//! Asterisk patterns (`extensions.conf`) start with `_`, and are what telecom
//! admins already know:
//!
//! | element | matches |
//! |---|---|
//! | `X` | any digit 0-9 |
//! | `Z` | 1-9 |
//! | `N` | 2-9 |
//! | `[15-7]` | one of the listed digits or ranges |
//! | `.` | one or more of anything (last element only) |
//! | `!` | zero or more of anything (last element only) |
//! | `0`-`9` `*` `#` `+` | itself |
//!
//! `-` and spaces are ignored (visual separators, as in Asterisk). A pattern
//! is a sequence of character sets with an optional wildcard tail, so "does
//! pattern A match every number pattern B matches" is decidable position by
//! position: that is how `check` finds rules shadowed by an earlier one.

use std::fmt;

use regex::Regex;
use serde::{Serialize, Serializer};

use crate::phone::PhoneNumber;

/// The characters one pattern position accepts: bits 0-9 the digits, then `*`, `#`, `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CharSet(u16);

impl CharSet {
    const DIGITS: CharSet = CharSet(0b11_1111_1111);
    /// All 13: digits, `*`, `#`, `+`.
    const ANY: CharSet = CharSet(0b1_1111_1111_1111);

    fn range(lo: u8, hi: u8) -> CharSet {
        CharSet((lo..=hi).fold(0, |acc, d| acc | 1 << d))
    }

    fn of(c: char) -> Option<CharSet> {
        match c {
            '0'..='9' => Some(CharSet(1 << (c as u8 - b'0'))),
            '*' => Some(CharSet(1 << 10)),
            '#' => Some(CharSet(1 << 11)),
            '+' => Some(CharSet(1 << 12)),
            _ => None,
        }
    }

    fn contains(self, c: char) -> bool {
        CharSet::of(c).is_some_and(|s| self.0 & s.0 != 0)
    }

    fn is_subset_of(self, other: CharSet) -> bool {
        self.0 & !other.0 == 0
    }

    fn union(self, other: CharSet) -> CharSet {
        CharSet(self.0 | other.0)
    }

    fn intersects(self, other: CharSet) -> bool {
        self.0 & other.0 != 0
    }
}

/// What may follow the fixed positions of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing: the number has exactly as many characters as the pattern.
    None,
    /// `.`: one or more characters.
    OneOrMore,
    /// `!`: zero or more characters.
    ZeroOrMore,
}

/// A parsed Asterisk-style pattern (without its leading `_`).
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written, with the `_`.
    text: String,
    sets: Vec<CharSet>,
    tail: Tail,
}

/// A pattern that does not parse; `offset` is the byte offset in the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatternError {
    pub offset: usize,
    pub message: String,
}

impl Pattern {
    /// Parse `text`, which must start with `_`.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let err = |offset: usize, message: String| PatternError { offset, message };
        let Some(body) = text.strip_prefix('_') else {
            return Err(err(0, "a pattern starts with '_'".into()));
        };
        let mut sets = Vec::new();
        let mut tail = Tail::None;
        let mut chars = body.char_indices().map(|(i, c)| (i + 1, c)).peekable();
        while let Some((at, c)) = chars.next() {
            if tail != Tail::None {
                return Err(err(at, "nothing may follow '.' or '!' (they match the rest of the number)".into()));
            }
            let set = match c.to_ascii_uppercase() {
                'X' => CharSet::DIGITS,
                'Z' => CharSet::range(1, 9),
                'N' => CharSet::range(2, 9),
                '.' => {
                    tail = Tail::OneOrMore;
                    continue;
                }
                '!' => {
                    tail = Tail::ZeroOrMore;
                    continue;
                }
                '-' | ' ' => continue,
                '[' => {
                    let mut set = CharSet(0);
                    let mut closed = false;
                    let mut prev: Option<u8> = None;
                    while let Some((i, c)) = chars.next() {
                        match c {
                            ']' => {
                                closed = true;
                                break;
                            }
                            '-' => {
                                let Some(lo) = prev else {
                                    return Err(err(i, "a range needs a digit before '-', e.g. [1-5]".into()));
                                };
                                let hi = match chars.next() {
                                    Some((_, h)) if h.is_ascii_digit() => h as u8 - b'0',
                                    Some((j, _)) => {
                                        return Err(err(j, "a range needs a digit after '-', e.g. [1-5]".into()))
                                    }
                                    None => {
                                        return Err(err(i + 1, "a range needs a digit after '-', e.g. [1-5]".into()))
                                    }
                                };
                                if hi < lo {
                                    return Err(err(i, format!("range {lo}-{hi} is backwards (write {hi}-{lo})")));
                                }
                                set = set.union(CharSet::range(lo, hi));
                                prev = None;
                            }
                            _ => match CharSet::of(c) {
                                Some(s) => {
                                    set = set.union(s);
                                    prev = c.to_digit(10).map(|d| d as u8);
                                }
                                None => {
                                    return Err(err(
                                        i,
                                        format!("'{c}' cannot appear in [...]: only digits, ranges, *, # and +"),
                                    ))
                                }
                            },
                        }
                    }
                    if !closed {
                        return Err(err(at, "'[' is never closed with ']'".into()));
                    }
                    if set == CharSet(0) {
                        return Err(err(at, "'[]' matches nothing".into()));
                    }
                    set
                }
                other => match CharSet::of(other) {
                    Some(s) => s,
                    None => {
                        return Err(err(
                            at,
                            format!("'{c}' is not a pattern character (X, Z, N, [...], ., !, digits, *, #, +)"),
                        ))
                    }
                },
            };
            sets.push(set);
        }
        if sets.is_empty() && tail == Tail::None {
            return Err(err(0, "empty pattern".into()));
        }
        Ok(Pattern { text: text.to_string(), sets, tail })
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, s: &str) -> bool {
        let n = s.chars().count();
        let len_ok = match self.tail {
            Tail::None => n == self.sets.len(),
            Tail::OneOrMore => n > self.sets.len(),
            Tail::ZeroOrMore => n >= self.sets.len(),
        };
        len_ok && self.sets.iter().zip(s.chars()).all(|(set, c)| set.contains(c))
    }

    /// The allowed characters at position `i`, if any string of the pattern is that long.
    fn set_at(&self, i: usize) -> Option<CharSet> {
        match self.sets.get(i) {
            Some(s) => Some(*s),
            None if self.tail != Tail::None => Some(CharSet::ANY),
            None => None,
        }
    }

    fn min_len(&self) -> usize {
        self.sets.len() + usize::from(self.tail == Tail::OneOrMore)
    }

    /// Does this pattern match every string `other` matches?
    ///
    /// Every length `other` allows must be allowed here, and at every position a
    /// string of `other` can have, its set must lie within ours: the strings of
    /// one length are the product of the per-position sets.
    pub fn covers(&self, other: &Pattern) -> bool {
        let lengths_ok = match (other.tail, self.tail) {
            (Tail::None, Tail::None) => other.sets.len() == self.sets.len(),
            (Tail::None, _) => other.sets.len() >= self.min_len(),
            (_, Tail::None) => false,
            (_, _) => other.min_len() >= self.min_len(),
        };
        if !lengths_ok {
            return false;
        }
        // Past both fixed parts every set is ANY on both sides (or absent on `other`).
        let end = self.sets.len().max(other.sets.len()) + 1;
        (0..end).all(|i| match other.set_at(i) {
            None => true,
            Some(theirs) => self.set_at(i).is_some_and(|ours| theirs.is_subset_of(ours)),
        })
    }

    /// Why this pattern can never match an E.164 number (`+` and 8-15 digits,
    /// the first not 0), if it cannot.
    pub fn e164_problem(&self) -> Option<String> {
        let digit_first = CharSet::range(1, 9);
        if !self.set_at(0).is_some_and(|s| s.contains('+')) {
            return Some("numbers are matched in E.164 form, which starts with '+'".into());
        }
        if self.set_at(1).is_some_and(|s| !s.intersects(digit_first)) {
            return Some(
                "after '+' comes a country code, never 0: national numbers are normalized to E.164 before matching"
                    .into(),
            );
        }
        if let Some(i) = (1..self.sets.len()).find(|&i| !self.sets[i].intersects(CharSet::DIGITS)) {
            return Some(format!("position {} allows no digit, but E.164 numbers are all digits after '+'", i + 1));
        }
        let fixed = self.sets.len();
        match self.tail {
            Tail::None if !(9..=16).contains(&fixed) => {
                Some(format!("it matches {} digits only; E.164 numbers have 8 to 15", fixed.saturating_sub(1)))
            }
            _ if self.min_len() > 16 => {
                Some(format!("it needs at least {} digits; E.164 numbers have at most 15", self.min_len() - 1))
            }
            _ => None,
        }
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// How a rule matches a number (the dialled one, or the caller's).
#[derive(Debug, Clone)]
pub enum NumberMatch {
    /// One number, normalized to E.164 when the dialplan is loaded.
    Exact(PhoneNumber),
    /// An Asterisk-style pattern over the E.164 form; a missing leading `+` is implied.
    Pattern(Pattern),
    /// A regex that must match the whole E.164 number (the escape hatch).
    Regex { source: String, regex: Regex },
}

impl NumberMatch {
    /// Compile a regex so that it must match the whole number: `\+44` alone
    /// matching any number containing +44 is a surprise nobody wants in a dialplan.
    pub fn regex(source: &str) -> Result<NumberMatch, regex::Error> {
        let regex = Regex::new(&format!("^(?:{source})$"))?;
        Ok(NumberMatch::Regex { source: source.to_string(), regex })
    }

    /// A pattern for E.164 numbers: the leading `+` may be left out (`_44X.` is `_+44X.`).
    pub fn e164_pattern(text: &str) -> Result<NumberMatch, PatternError> {
        let p = Pattern::parse(text)?;
        if p.set_at(0).is_some_and(|s| s.contains('+')) || text.trim_start_matches('_').starts_with(['.', '!']) {
            return Ok(NumberMatch::Pattern(p));
        }
        let mut implied = Pattern::parse(&format!("_+{}", &text[1..]))?;
        implied.text = text.to_string();
        Ok(NumberMatch::Pattern(implied))
    }

    pub fn matches(&self, number: &PhoneNumber) -> bool {
        match self {
            NumberMatch::Exact(n) => n == number,
            NumberMatch::Pattern(p) => p.matches(number.as_str()),
            NumberMatch::Regex { regex, .. } => regex.is_match(number.as_str()),
        }
    }

    pub fn exact(&self) -> Option<&PhoneNumber> {
        match self {
            NumberMatch::Exact(n) => Some(n),
            _ => None,
        }
    }

    /// A block of numbers, `_+44207946013XXX`: a fixed E.164 prefix and the count
    /// of free digits after it — numbers a rule hands out one at a time (one per
    /// order waiting for its payer's consent, say). `None` for anything else.
    pub fn block(&self) -> Option<(String, usize)> {
        let NumberMatch::Pattern(p) = self else { return None };
        let body: String = p.text.trim_start_matches('_').chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        let body = body.strip_prefix('+').unwrap_or(&body);
        let free = body.chars().rev().take_while(|c| c.eq_ignore_ascii_case(&'x')).count();
        let fixed = &body[..body.len() - free];
        (free > 0 && !fixed.is_empty() && fixed.chars().all(|c| c.is_ascii_digit()))
            .then(|| (format!("+{fixed}"), free))
    }

    /// Does this match every number `other` matches? `false` when it cannot be
    /// decided (a regex covering a pattern, say), so `check` never warns wrongly.
    pub fn covers(&self, other: &NumberMatch) -> bool {
        match (self, other) {
            (_, NumberMatch::Exact(n)) => self.matches(n),
            (NumberMatch::Pattern(a), NumberMatch::Pattern(b)) => a.covers(b),
            (NumberMatch::Regex { source: a, .. }, NumberMatch::Regex { source: b, .. }) => a == b,
            _ => false,
        }
    }

    /// The same numbers, written the same way (a duplicate rather than a shadow).
    pub fn same_as(&self, other: &NumberMatch) -> bool {
        match (self, other) {
            (NumberMatch::Exact(a), NumberMatch::Exact(b)) => a == b,
            (NumberMatch::Pattern(a), NumberMatch::Pattern(b)) => a.covers(b) && b.covers(a),
            (NumberMatch::Regex { source: a, .. }, NumberMatch::Regex { source: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for NumberMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberMatch::Exact(n) => write!(f, "{n}"),
            NumberMatch::Pattern(p) => f.write_str(p.as_str()),
            NumberMatch::Regex { source, .. } => write!(f, "/{source}/"),
        }
    }
}

impl Serialize for NumberMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_a_fixed_prefix_and_free_digits() {
        let block = |t: &str| NumberMatch::e164_pattern(t).unwrap().block();
        assert_eq!(block("_+44207946013XXX"), Some(("+44207946013".to_string(), 3)));
        assert_eq!(block("_44 2079 4601 3xx"), Some(("+44207946013".to_string(), 2)));
        for other in ["_+4420794601X.", "_+442079460[1-3]XX", "_XXX", "_+44207946013"] {
            assert_eq!(block(other), None, "{other}");
        }
        assert_eq!(NumberMatch::Exact(PhoneNumber::parse("+442079460103").unwrap()).block(), None);
    }

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn asterisk_elements() {
        let cases: &[(&str, &str, bool)] = &[
            ("_X.", "1", false),
            ("_X.", "12", true),
            ("_X!", "1", true),
            ("_1!", "1", true),
            ("_1X!", "1", false),
            ("_NXX", "200", true),
            ("_NXX", "100", false),
            ("_Z", "0", false),
            ("_[1-35]", "3", true),
            ("_[1-35]", "4", false),
            ("_[1-35]", "5", true),
            ("_+44 20-7946-01XX", "+442079460123", true),
            ("_+4420794601XX", "+44207946012", false),
            ("_*31#X.", "*31#12", true),
            ("_x.", "12", true),
        ];
        for (pat, s, want) in cases {
            assert_eq!(p(pat).matches(s), *want, "{pat} vs {s}");
        }
    }

    #[test]
    fn bad_patterns_point_at_the_problem() {
        let cases: &[(&str, usize, &str)] = &[
            ("_X.1", 3, "nothing may follow"),
            ("_[1-5", 1, "never closed"),
            ("_[]", 1, "matches nothing"),
            ("_[5-1]", 3, "backwards"),
            ("_[1-]", 4, "digit after"),
            ("_[-1]", 2, "digit before"),
            ("_12A4", 3, "'A' is not a pattern character"),
            ("_[1a]", 3, "cannot appear"),
            ("_", 0, "empty"),
            ("X.", 0, "starts with '_'"),
        ];
        for (pat, offset, msg) in cases {
            let e = Pattern::parse(pat).expect_err(pat);
            assert_eq!(e.offset, *offset, "{pat}: {e}");
            assert!(e.message.contains(msg), "{pat}: {e}");
        }
    }

    #[test]
    fn coverage() {
        let cases: &[(&str, &str, bool)] = &[
            ("_X.", "_12X", true),
            ("_X.", "_X!", false), // X! also matches the empty string
            ("_X!", "_X.", true),
            ("_1X.", "_X.", false),
            ("_NXX", "_2[0-5]9", true),
            ("_NXX", "_1XX", false),
            ("_XXX", "_XX", false),
            ("_XX.", "_XXX", true),
            ("_XXX.", "_XXX", false),
            ("_[1-5]", "_[2-4]", true),
            ("_[2-4]", "_[1-5]", false),
            ("_+44X.", "_+4420X.", true),
            ("_+4420X.", "_+44X.", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(p(a).covers(&p(b)), *want, "{a} covers {b}?");
        }
    }

    #[test]
    fn e164_patterns_imply_the_plus() {
        let m = NumberMatch::e164_pattern("_44X.").unwrap();
        assert!(m.matches(&PhoneNumber::parse("+442079460100").unwrap()));
        assert_eq!(m.to_string(), "_44X.");
        let NumberMatch::Pattern(pat) = NumberMatch::e164_pattern("_020X.").unwrap() else { panic!() };
        assert!(pat.e164_problem().unwrap().contains("never 0"), "{:?}", pat.e164_problem());
        let NumberMatch::Pattern(pat) = NumberMatch::e164_pattern("_+44XX").unwrap() else { panic!() };
        assert!(pat.e164_problem().unwrap().contains("4 digits only"));
        let NumberMatch::Pattern(pat) = NumberMatch::e164_pattern("_X.").unwrap() else { panic!() };
        assert_eq!(pat.e164_problem(), None);
    }

    #[test]
    fn regex_matches_the_whole_number() {
        let m = NumberMatch::regex(r"\+44").unwrap();
        assert!(!m.matches(&PhoneNumber::parse("+442079460100").unwrap()));
        let m = NumberMatch::regex(r"\+44\d+").unwrap();
        assert!(m.matches(&PhoneNumber::parse("+442079460100").unwrap()));
    }
}
