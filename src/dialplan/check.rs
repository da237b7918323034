//! `dialticket dialplan check`: everything wrong with a dialplan, at once.
//!
//! Per file (`format.rs`): syntax, unknown keys, wrong types, bad values and
//! patterns. Across files (`build.rs`): duplicate settings, trunk and hours
//! names, unknown trunks and hours, overlapping trunk CIDRs, unknown events and
//! prompts. Across rules (here): duplicates and rules that can never match
//! because an earlier rule takes every call they would.
//!
//! Errors stop a dialplan from loading (at start-up and on reload); warnings
//! are printed and logged but do not.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, DialplanErrors, Location};
use super::{build, format, Dialplan, OutsideHours, Rule};

/// Names a dialplan may refer to that live outside it; `None` = not checked.
#[derive(Debug, Clone, Default)]
pub struct KnownNames {
    /// Event ids (from the database or catalog files).
    pub events: Option<BTreeSet<String>>,
    /// `(language, prompt name)` of every prompt file.
    pub prompts: Option<BTreeSet<(String, String)>>,
}

impl KnownNames {
    /// The languages a prompt is looked up in, in order (as `media::Prompts::get` does).
    pub fn prompt_languages(language: &str) -> Vec<&str> {
        let primary = language.split(['-', '_']).next().unwrap_or(language);
        let mut langs = vec![language];
        for l in [primary, "en"] {
            if !langs.contains(&l) {
                langs.push(l);
            }
        }
        langs
    }

    /// Whether prompt `name` exists for `language`; `None` if prompts are not known.
    pub fn has_prompt(&self, language: &str, name: &str) -> Option<bool> {
        let prompts = self.prompts.as_ref()?;
        Some(Self::prompt_languages(language).into_iter().any(|l| prompts.contains(&(l.to_string(), name.to_string()))))
    }
}

/// The outcome of checking a dialplan.
#[derive(Debug)]
pub struct Checked {
    /// The dialplan, if there were no errors.
    pub plan: Option<Dialplan>,
    /// Errors and warnings, by file, line and column.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    pub fn into_result(self) -> Result<Dialplan, DialplanErrors> {
        match self.plan {
            Some(plan) => Ok(plan),
            None => Err(DialplanErrors(self.diagnostics.into_iter().filter(|d| d.is_error()).collect())),
        }
    }
}

/// Check `(file name, contents)` pairs, in the order given.
pub fn check_sources(sources: &[(PathBuf, String)], known: &KnownNames) -> Checked {
    let mut diags = Vec::new();
    let files = sources.iter().map(|(f, text)| (f.clone(), format::read_file(f, text, &mut diags))).collect();
    let mut plan = build::build(files, known, &mut diags);
    shadowed_rules(&plan, &mut diags);
    let errors = diags.iter().any(|d| d.is_error());
    if !errors && plan.rules.is_empty() {
        let at = sources.first().map(|(f, _)| Location::whole_file(f));
        diags.push(Diagnostic::error(
            at.unwrap_or_else(|| Location::whole_file(std::path::Path::new("."))),
            "dialplan defines no [[numbers]]",
        ));
    }
    diags.sort_by(|a, b| (&a.at, a.severity).cmp(&(&b.at, b.severity)));
    diags.dedup();
    plan.warnings = diags.iter().filter(|d| !d.is_error()).cloned().collect();
    let ok = !diags.iter().any(|d| d.is_error());
    Checked { plan: ok.then_some(plan), diagnostics: diags }
}

/// Duplicates and rules shadowed by an earlier one, in evaluation order.
fn shadowed_rules(plan: &Dialplan, diags: &mut Vec<Diagnostic>) {
    let rules = &plan.rules;
    for (j, later) in rules.iter().enumerate() {
        // Exact rules can only be shadowed by exact rules for the same number (patterns
        // come after them); patterns only by earlier patterns and regexes.
        let earlier: Vec<usize> = match later.exact_number() {
            Some(n) => {
                plan.by_number.get(n).map(|v| v.iter().copied().filter(|&i| i < j).collect()).unwrap_or_default()
            }
            None => (plan.first_pattern..j).collect(),
        };
        for i in earlier {
            let first = &rules[i];
            if !(first.number.covers(&later.number) && conditions_cover(first, later)) {
                continue;
            }
            let message = if first.number.same_as(&later.number) && same_conditions(first, later) {
                format!("number {} already defined at {}", later.number, first.defined_at)
            } else {
                format!(
                    "this rule never matches: every call it would take goes to {} at {} first",
                    first.number, first.defined_at
                )
            };
            let d = if message.contains("already defined") {
                Diagnostic::error(later.defined_at.clone(), message)
            } else {
                Diagnostic::warning(later.defined_at.clone(), message)
            };
            diags.push(d);
            break;
        }
    }
}

/// Does `first` take every call `later` would, as far as conditions other than
/// the dialled number go?
fn conditions_cover(first: &Rule, later: &Rule) -> bool {
    let trunk = first.trunk.is_none() || first.trunk == later.trunk;
    let caller = match (&first.caller, &later.caller) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => a.covers(b),
    };
    let hours = match (&first.hours, &first.outside_hours) {
        (None, _) => true,
        // Outside its hours it still takes the call (rejecting or announcing).
        (Some(_), Some(OutsideHours::Reject { .. } | OutsideHours::Announce { .. })) => true,
        (Some(h), _) => {
            later.hours.as_ref().is_some_and(|l| Arc::ptr_eq(h, l)) && later.outside_hours == Some(OutsideHours::Next)
        }
    };
    trunk && caller && hours
}

fn same_conditions(a: &Rule, b: &Rule) -> bool {
    let caller = match (&a.caller, &b.caller) {
        (None, None) => true,
        (Some(x), Some(y)) => x.same_as(y),
        _ => false,
    };
    let hours = match (&a.hours, &b.hours) {
        (None, None) => true,
        (Some(x), Some(y)) => Arc::ptr_eq(x, y) && a.outside_hours == b.outside_hours,
        _ => false,
    };
    a.trunk == b.trunk && caller && hours
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        let known = KnownNames {
            events: Some(["spring-gala-2027".to_string()].into()),
            prompts: Some([("en".to_string(), "welcome".to_string())].into()),
        };
        check_sources(&[(PathBuf::from("t.toml"), text.to_string())], &known)
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn shadowing_and_duplicates() {
        let got = check(
            r#"
[[trunks]]
name = "pbx"
cidrs = ["198.51.100.0/24"]

[[numbers]]
number = "_+4420X."
action = "purchase"

[[numbers]]
number = "_+442079460X."
action = "issue"

[[numbers]]
number = "_+442079460X."
trunk = "pbx"
action = "usage"

[[numbers]]
number = "+442079460100"
action = "issue"

[[numbers]]
number = "+442079460100"
caller = "_+81X."
action = "usage"

[[numbers]]
number = "+442079460100"
action = "usage"
"#,
        );
        assert_eq!(
            got,
            [
                "t.toml:10:1: warning: this rule never matches: every call it would take goes to _+4420X. at t.toml:6:1 first",
                "t.toml:14:1: warning: this rule never matches: every call it would take goes to _+4420X. at t.toml:6:1 first",
                "t.toml:23:1: warning: this rule never matches: every call it would take goes to +442079460100 at t.toml:19:1 first",
                "t.toml:28:1: error: number +442079460100 already defined at t.toml:19:1",
            ]
        );
    }

    #[test]
    fn a_narrower_rule_first_is_fine() {
        let got = check(
            r#"
[[numbers]]
number = "+442079460100"
caller = "_+81X."
action = "purchase"
language = "ja"

[[numbers]]
number = "+442079460100"
action = "purchase"

[[numbers]]
regex = '\+4420794601\d\d'
action = "issue"
"#,
        );
        assert_eq!(got, Vec::<String>::new());
    }

    #[test]
    fn unknown_names() {
        let got = check(
            r#"
[[trunks]]
name = "carrier"
cidrs = ["192.0.2.0/24"]

[[trunks]]
name = "pbx"
cidrs = ["192.0.2.128/25"]

[[numbers]]
number = "+442079460100"
trunk = "carier"
action = "purchase"
event = "spring-gala-2072"

[[numbers]]
number = "+442079460101"
action = "announce"
prompt = "welcom"
"#,
        );
        assert_eq!(
            got,
            [
                "t.toml:8:10: error: 192.0.2.128/25 overlaps 192.0.2.0/24 of trunk 'carrier' (at t.toml:4:10): a source address must belong to one trunk",
                "t.toml:12:9: error: unknown trunk 'carier' (did you mean 'carrier'?)",
                "t.toml:14:9: warning: unknown event 'spring-gala-2072' (did you mean 'spring-gala-2027'?): load it with `dialticket events load FILE`",
                "t.toml:19:10: error: unknown prompt 'welcom' (did you mean 'welcome'?): there is no welcom.wav for en",
            ]
        );
    }
}
