//! Typed values out of one dialplan file's span-carrying TOML tree
//! (`toml::de::DeTable`): each read either gives the value with where it was
//! written ([`Located`]) or adds an error with its line and column to the
//! file's diagnostics and gives nothing, so one run reports every mistake.
//! The sections themselves (settings, trunks, hours, numbers) are read in
//! `format.rs`.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{did_you_mean, Diagnostic, Location};

/// A value and where it was written.
#[derive(Debug, Clone)]
pub(super) struct Located<T> {
    pub value: T,
    pub at: Location,
    /// The value is a one-line string written without escapes, so a byte offset
    /// into it maps onto a column (for pointing inside a pattern).
    plain: bool,
}

impl<T> Located<T> {
    /// A value made from what was written (not the written string itself), so
    /// an offset inside it does not map onto a column.
    pub(super) fn derived(value: T, at: Location) -> Located<T> {
        Located { value, at, plain: false }
    }

    /// The location of byte `offset` inside a string value.
    pub fn at_offset(&self, offset: usize) -> Location
    where
        T: AsRef<str>,
    {
        if !self.plain {
            return self.at.clone();
        }
        let s = self.value.as_ref();
        let chars = s.get(..offset.min(s.len())).map(|p| p.chars().count()).unwrap_or(0);
        Location { col: self.at.col + 1 + chars, ..self.at.clone() }
    }
}

pub(super) type Table<'i> = DeTable<'i>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

pub(super) struct Cx<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) diags: &'a mut Vec<Diagnostic>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Cx<'_> {
    pub(super) fn loc(&self, span: Range<usize>) -> Location {
        Location::in_text(self.file, self.text, span.start)
    }

    pub(super) fn error(&mut self, at: Location, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(at, message));
    }

    pub(super) fn check_keys(&mut self, t: &Table<'_>, section: &str, known: &[&str]) {
        for key in t.keys() {
            if known.contains(&key.get_ref().as_ref()) {
                continue;
            }
            let hint = match did_you_mean(key.get_ref(), known.iter().copied()) {
                Some(k) => format!(" (did you mean `{k}`?)"),
                None => format!(" (known keys: {})", known.join(", ")),
            };
            let at = self.loc(key.span());
            self.error(at, format!("unknown key `{}` in {section}{hint}", key.get_ref()));
        }
    }

    pub(super) fn get<'t, 'i>(&self, t: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
        t.get(key)
    }

    pub(super) fn wrong_type(&mut self, key: &str, v: &Value<'_>, want: &str) {
        let at = self.loc(v.span());
        self.error(at, format!("`{key}` must be {want}, not {}", type_name(v.get_ref())));
    }

    pub(super) fn val<T>(&self, v: &Value<'_>, value: T) -> Located<T> {
        let span = v.span();
        let raw = self.text.get(span.clone()).unwrap_or_default();
        let plain = match v.get_ref() {
            DeValue::String(s) => {
                let basic_without_escapes = raw.starts_with('"') && !raw.contains('\\');
                raw.len() == s.len() + 2 && (basic_without_escapes || raw.starts_with('\''))
            }
            _ => false,
        };
        Located { value, at: self.loc(span), plain }
    }

    pub(super) fn string(&mut self, t: &Table<'_>, key: &str) -> Option<Located<String>> {
        let v = self.get(t, key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(self.val(v, s.to_string())),
            _ => {
                self.wrong_type(key, v, "a string");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, t: &Table<'_>, key: &str) -> Option<bool> {
        let v = self.get(t, key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(key, v, "true or false");
                None
            }
        }
    }

    pub(super) fn integer(
        &mut self,
        t: &Table<'_>,
        key: &str,
        range: Range<i64>,
        meaning: &str,
    ) -> Option<Located<i64>> {
        let v = self.get(t, key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.wrong_type(key, v, "an integer");
            return None;
        };
        let n = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok();
        match n {
            Some(n) if range.contains(&n) => Some(self.val(v, n)),
            _ => {
                let at = self.loc(v.span());
                self.error(at, format!("`{key}` = {} is not {meaning}", i.as_str()));
                None
            }
        }
    }

    pub(super) fn sip_code(&mut self, t: &Table<'_>, key: &str) -> Option<Located<u16>> {
        let v = self.integer(t, key, 400..700, "a 4xx, 5xx or 6xx SIP status")?;
        Some(Located { value: v.value as u16, at: v.at, plain: false })
    }

    /// An array of strings; a single string is accepted as a one-element array.
    pub(super) fn strings(&mut self, t: &Table<'_>, key: &str) -> Vec<Located<String>> {
        let Some(v) = self.get(t, key) else { return Vec::new() };
        match v.get_ref() {
            DeValue::String(s) => vec![self.val(v, s.to_string())],
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(self.val(item, s.to_string())),
                        _ => self.wrong_type(&format!("{key}[…]"), item, "a string"),
                    }
                }
                out
            }
            _ => {
                self.wrong_type(key, v, "an array of strings");
                Vec::new()
            }
        }
    }

    /// One of a fixed set of words.
    pub(super) fn choice<T: Copy>(&mut self, t: &Table<'_>, key: &str, options: &[(&str, T)]) -> Option<Located<T>> {
        let s = self.string(t, key)?;
        if let Some((_, value)) = options.iter().find(|(name, _)| *name == s.value) {
            return Some(Located { value: *value, at: s.at, plain: false });
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let hint = did_you_mean(&s.value, names.iter().copied()).map(|n| format!(" (did you mean \"{n}\"?)"));
        self.error(
            s.at,
            format!("`{key}` must be one of {}, not \"{}\"{}", names.join(", "), s.value, hint.unwrap_or_default()),
        );
        None
    }

    pub(super) fn table<'t, 'i>(&mut self, t: &'t Table<'i>, key: &str) -> Option<(&'t Table<'i>, Location)> {
        let v = self.get(t, key)?;
        match v.get_ref() {
            DeValue::Table(inner) => Some((inner, self.loc(v.span()))),
            _ => {
                self.wrong_type(key, v, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[key]]` sections, or an inline array of inline tables).
    pub(super) fn tables<'t, 'i>(&mut self, t: &'t Table<'i>, key: &str) -> Vec<(&'t Table<'i>, Location)> {
        let Some(v) = self.get(t, key) else { return Vec::new() };
        let DeValue::Array(items) = v.get_ref() else {
            let at = self.loc(v.span());
            self.error(at, format!("`{key}` must be an array of tables: write each as [[{key}]]"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(inner) => out.push((inner, self.loc(item.span()))),
                _ => self.wrong_type(&format!("{key}[…]"), item, "a table"),
            }
        }
        out
    }

    pub(super) fn required_string(
        &mut self,
        t: &Table<'_>,
        key: &str,
        at: &Location,
        section: &str,
    ) -> Option<Located<String>> {
        if t.get(key).is_none() {
            self.error(at.clone(), format!("{section} needs `{key}`"));
            return None;
        }
        self.string(t, key)
    }
}
