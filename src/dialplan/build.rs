//! Merging the files of a dialplan into one [`Dialplan`]: one `[settings]`,
//! trunks and hours by unique name, rules with their numbers normalized and
//! their trunk and hours names resolved.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::check::KnownNames;
use super::diagnostic::{did_you_mean, Diagnostic, Location};
use super::format::{FileDefs, NumberDef, OutsideKind, PrefixesDef};
use super::pattern::NumberMatch;
use super::policy::{AnonymousPolicy, IdentityPolicy, RateLimits};
use super::toml_values::Located;
use super::{Action, AnswerMode, Dialplan, Hours, OutsideHours, Rule, Trunk};
use crate::phone::{NumberingPlan, PhoneNumber};

/// Final status of `reject` rules and of missed-call and early-media numbers.
const DEFAULT_REJECT_CODE: u16 = 603; // Decline
/// Outside business hours: "the callee is currently unavailable" (RFC 3261 §21.4.18).
const DEFAULT_OUTSIDE_CODE: u16 = 480;

/// Merge `files`; names of events and prompts are checked against `known`.
pub(super) fn build(files: Vec<(PathBuf, FileDefs)>, known: &KnownNames, diags: &mut Vec<Diagnostic>) -> Dialplan {
    let mut plan = Dialplan {
        files: files.iter().map(|(f, _)| f.clone()).collect(),
        country_code: None,
        numbering_plan: NumberingPlan::default(),
        language: "en".into(),
        identity: IdentityPolicy::Any,
        anonymous: AnonymousPolicy::Announce,
        rate_limit: RateLimits::default(),
        trunks: Vec::new(),
        hours: Vec::new(),
        rules: Vec::new(),
        by_number: HashMap::new(),
        first_pattern: 0,
        warnings: Vec::new(),
    };
    // Settings first, from whichever file has them: numbers in every file are normalized with them.
    let mut settings_at: Option<Location> = None;
    for (_, defs) in &files {
        let Some(s) = &defs.settings else { continue };
        if let Some(prev) = &settings_at {
            diags.push(Diagnostic::error(s.at.clone(), format!("[settings] already defined at {prev}")));
            continue;
        }
        settings_at = Some(s.at.clone());
        plan.country_code = s.country_code.as_ref().map(|c| c.value.clone());
        let country = NumberingPlan::for_country_opt(plan.country_code.as_deref());
        plan.numbering_plan = numbering_plan(country, &s.prefixes, diags);
        if let Some(l) = &s.language {
            plan.language = l.clone();
        }
        plan.identity = s.policy.identity.unwrap_or(IdentityPolicy::Any);
        plan.anonymous = s.policy.anonymous.unwrap_or(AnonymousPolicy::Announce);
        plan.rate_limit = s.policy.rate_limit;
    }

    let mut files = files;
    // Every CIDR seen so far, to find overlaps: (trunk name, network, where written).
    let mut networks: Vec<(String, Located<ipnet::IpNet>)> = Vec::new();
    for (_, defs) in &mut files {
        for t in defs.trunks.drain(..) {
            if let Some(prev) = plan.trunks.iter().find(|x| x.name == t.name.value) {
                diags.push(Diagnostic::error(
                    t.name.at.clone(),
                    format!("trunk '{}' already defined at {}", t.name.value, prev.defined_at),
                ));
                continue;
            }
            for c in &t.cidrs {
                overlaps(&t.name.value, c, &networks, diags);
                networks.push((t.name.value.clone(), c.clone()));
            }
            // A trunk with its own country code starts from that country's prefixes,
            // one without from the whole plan of [settings].
            let base = match &t.country_code {
                Some(cc) => NumberingPlan::for_country(&cc.value),
                None => plan.numbering_plan.clone(),
            };
            let numbering_plan = numbering_plan(base, &t.prefixes, diags);
            plan.trunks.push(Trunk {
                name: t.name.value,
                cidrs: t.cidrs.iter().map(|c| c.value).collect(),
                trust_pai: t.trust_pai,
                country_code: t.country_code.map(|c| c.value),
                numbering_plan,
                rewrite: t.rewrite,
                identity: t.policy.identity,
                anonymous: t.policy.anonymous,
                rate_limit: t.policy.rate_limit,
                defined_at: t.at,
            });
        }
        for (name, hours) in defs.hours.drain(..) {
            if let Some(prev) = plan.hours.iter().find(|h| h.name == name.value) {
                diags.push(Diagnostic::error(
                    name.at.clone(),
                    format!("hours '{}' already defined at {}", name.value, prev.defined_at),
                ));
                continue;
            }
            // Hours with a bad field are still known by name, so rules using them get no second error.
            let hours = hours.unwrap_or_else(|| Hours {
                name: name.value.clone(),
                time_zone: chrono_tz::UTC,
                open: Vec::new(),
                closed: Vec::new(),
                defined_at: name.at.clone(),
            });
            plan.hours.push(Arc::new(hours));
        }
    }

    let mut rules = Vec::new();
    for (_, defs) in files {
        for n in defs.numbers {
            references(&plan, &n, known, diags);
            if let Some(rule) = rule(&plan, n, diags) {
                rules.push(Arc::new(rule));
            }
        }
    }
    // Exact numbers first (like Asterisk, an exact extension beats a pattern), then the rest;
    // the sort is stable, so file order holds within each group.
    rules.sort_by_key(|r: &Arc<Rule>| r.exact_number().is_none());
    plan.first_pattern = rules.iter().position(|r| r.exact_number().is_none()).unwrap_or(rules.len());
    for (i, r) in rules.iter().enumerate() {
        if let Some(n) = r.exact_number() {
            plan.by_number.entry(n.clone()).or_default().push(i);
        }
    }
    plan.rules = rules;
    plan
}

/// A number or caller field: `+…`/national (exact), `_…` (pattern), or the `*_regex` variant.
fn number_match(
    plan: &Dialplan,
    what: &str,
    exact_or_pattern: Option<&Located<String>>,
    regex: Option<&Located<String>>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<NumberMatch>, ()> {
    match (exact_or_pattern, regex) {
        (Some(_), Some(r)) => {
            let other = if what == "number" { "regex".to_string() } else { format!("{what}_regex") };
            diags.push(Diagnostic::error(r.at.clone(), format!("use `{what}` or `{other}`, not both")));
            Err(())
        }
        (None, None) => Ok(None),
        (None, Some(r)) => match NumberMatch::regex(&r.value) {
            Ok(m) => Ok(Some(m)),
            Err(e) => {
                diags.push(Diagnostic::error(r.at.clone(), format!("bad regex: {}", regex_error(&e))));
                Err(())
            }
        },
        (Some(v), None) if v.value.starts_with('_') => match NumberMatch::e164_pattern(&v.value) {
            Ok(m) => {
                if let NumberMatch::Pattern(p) = &m {
                    if let Some(problem) = p.e164_problem() {
                        diags.push(Diagnostic::error(
                            v.at.clone(),
                            format!("pattern '{}' can never match: {problem}", v.value),
                        ));
                        return Err(());
                    }
                }
                Ok(Some(m))
            }
            Err(e) => {
                diags.push(Diagnostic::error(v.at_offset(e.offset), format!("bad pattern '{}': {e}", v.value)));
                Err(())
            }
        },
        (Some(v), None) => match PhoneNumber::normalize_in(&v.value, &plan.numbering_plan) {
            Ok(n) => Ok(Some(NumberMatch::Exact(n))),
            Err(e) => {
                let hint = if v.value.chars().any(|c| "XZN.![]".contains(c.to_ascii_uppercase())) {
                    " (a pattern starts with '_', e.g. \"_+4420X.\")"
                } else {
                    ""
                };
                diags.push(Diagnostic::error(v.at.clone(), format!("{what}: {e}{hint}")));
                Err(())
            }
        },
    }
}

/// `base` (a country's plan, or that of [settings]) with the prefixes a section sets.
fn numbering_plan(base: NumberingPlan, prefixes: &PrefixesDef, diags: &mut Vec<Diagnostic>) -> NumberingPlan {
    let mut plan = base;
    if let Some(n) = &prefixes.national {
        plan.national_prefix = n.value.clone();
    }
    if let Some(i) = &prefixes.international {
        plan.international_prefixes = i.value.clone();
    }
    if plan.international_prefixes.contains(&plan.national_prefix) {
        // Only what the section wrote can clash: no country's defaults do.
        let at = prefixes.national.as_ref().map(|n| &n.at).or(prefixes.international.as_ref().map(|i| &i.at));
        if let Some(at) = at {
            diags.push(Diagnostic::error(
                at.clone(),
                format!(
                    "'{}' is both the national and an international prefix: national numbers could not be told apart",
                    plan.national_prefix
                ),
            ));
        }
    }
    plan
}

/// The one-line reason out of the regex crate's multi-line syntax error.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().next().unwrap_or_default().to_string())
}

fn rule(plan: &Dialplan, n: NumberDef, diags: &mut Vec<Diagnostic>) -> Option<Rule> {
    let number = match number_match(plan, "number", n.number.as_ref(), n.regex.as_ref(), diags) {
        Ok(Some(m)) => Ok(m),
        Ok(None) => {
            diags.push(Diagnostic::error(
                n.at.clone(),
                "a number needs `number` (a number such as \"+442079460100\" or a pattern such as \"_+4420X.\") or `regex`",
            ));
            Err(())
        }
        Err(()) => Err(()),
    };
    let caller = number_match(plan, "caller", n.caller.as_ref(), n.caller_regex.as_ref(), diags);

    let mut ok = true;
    if let Some(t) = &n.trunk {
        if !plan.trunks.iter().any(|x| x.name == t.value) {
            let hint = did_you_mean(&t.value, plan.trunks.iter().map(|x| x.name.as_str()))
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_else(|| " (define it in a [[trunks]] block)".into());
            diags.push(Diagnostic::error(t.at.clone(), format!("unknown trunk '{}'{hint}", t.value)));
            ok = false;
        }
    }
    let hours = match &n.hours {
        None => None,
        Some(h) => match plan.hours.iter().find(|x| x.name == h.value) {
            Some(found) => Some(found.clone()),
            None => {
                let hint = did_you_mean(&h.value, plan.hours.iter().map(|x| x.name.as_str()))
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_else(|| " (define it in an [[hours]] block)".into());
                diags.push(Diagnostic::error(h.at.clone(), format!("unknown hours '{}'{hint}", h.value)));
                ok = false;
                None
            }
        },
    };

    let action = n.action.as_ref().map(|a| a.value);
    if action == Some(Action::Announce) && n.prompt.is_none() {
        diags.push(Diagnostic::error(n.at.clone(), "action 'announce' needs a prompt"));
        ok = false;
    }
    if let (Some(p), Some(a)) = (&n.prompt, action) {
        if a != Action::Announce {
            diags.push(Diagnostic::warning(
                p.at.clone(),
                format!("`prompt` is only played by announce rules; a {a} call picks its prompt from the outcome"),
            ));
        }
    }
    if let (Some(e), Some(a @ (Action::Announce | Action::Reject))) = (&n.event, action) {
        diags.push(Diagnostic::warning(
            e.at.clone(),
            format!("`event` only matters to purchase, issue and usage rules, not {a}"),
        ));
    }

    // Consent to carrier billing is the line's owner saying yes: a caller ID anyone
    // can claim must not say it for them.
    if action == Some(Action::ConfirmBilling) && n.policy.identity.unwrap_or(plan.identity) == IdentityPolicy::Any {
        diags.push(Diagnostic::warning(
            n.at.clone(),
            "a confirm-billing number should set identity = \"trusted-peer\" or \"verified\": with `any`, a caller ID \
             spoofed from outside consents to billing that line",
        ));
    }

    let outside_hours = outside_hours(&n, hours.is_some(), diags);
    let (Ok(number), Ok(caller), Some(action), true, Ok(outside_hours)) = (number, caller, action, ok, outside_hours)
    else {
        return None;
    };
    let mut rule = Rule {
        number,
        caller,
        trunk: n.trunk.map(|t| t.value),
        hours,
        outside_hours,
        action,
        event: n.event.map(|e| e.value),
        answer: n.answer.unwrap_or(AnswerMode::Announce),
        reject_code: n.reject_code.unwrap_or(DEFAULT_REJECT_CODE),
        prompt: n.prompt.map(|p| p.value),
        language: n.language.unwrap_or_else(|| plan.language.clone()),
        identity: n.policy.identity,
        anonymous: n.policy.anonymous,
        rate_limit: n.policy.rate_limit,
        defined_at: n.at,
        outside: None,
    };
    rule.outside = match &rule.outside_hours {
        Some(OutsideHours::Reject { code }) => {
            Some(Arc::new(Rule { action: Action::Reject, reject_code: *code, prompt: None, ..outside_base(&rule) }))
        }
        Some(OutsideHours::Announce { prompt }) => {
            Some(Arc::new(Rule { action: Action::Announce, prompt: Some(prompt.clone()), ..outside_base(&rule) }))
        }
        Some(OutsideHours::Next) | None => None,
    };
    Some(rule)
}

/// The rule as it stands outside its hours: same number, answer mode and policy, no hours.
fn outside_base(rule: &Rule) -> Rule {
    Rule { hours: None, outside_hours: None, outside: None, event: None, ..rule.clone() }
}

fn outside_hours(n: &NumberDef, has_hours: bool, diags: &mut Vec<Diagnostic>) -> Result<Option<OutsideHours>, ()> {
    let kind = n.outside_hours.as_ref().map(|k| k.value);
    if n.hours.is_none() {
        let stray = [
            n.outside_hours.as_ref().map(|v| (&v.at, "outside_hours")),
            n.outside_prompt.as_ref().map(|v| (&v.at, "outside_prompt")),
            n.outside_code.as_ref().map(|v| (&v.at, "outside_code")),
        ];
        let mut any = false;
        for (at, key) in stray.into_iter().flatten() {
            diags.push(Diagnostic::error(at.clone(), format!("`{key}` needs `hours` on the same number")));
            any = true;
        }
        return if any { Err(()) } else { Ok(None) };
    }
    if !has_hours {
        return Err(()); // unknown hours, reported already
    }
    if let Some(p) = &n.outside_prompt {
        if kind != Some(OutsideKind::Announce) {
            diags.push(Diagnostic::warning(
                p.at.clone(),
                "`outside_prompt` is only played with outside_hours = \"announce\"",
            ));
        }
    }
    if let Some(c) = &n.outside_code {
        if !matches!(kind, None | Some(OutsideKind::Reject)) {
            diags
                .push(Diagnostic::warning(c.at.clone(), "`outside_code` is only sent with outside_hours = \"reject\""));
        }
    }
    Ok(Some(match kind {
        Some(OutsideKind::Next) => OutsideHours::Next,
        None | Some(OutsideKind::Reject) => {
            OutsideHours::Reject { code: n.outside_code.as_ref().map(|c| c.value).unwrap_or(DEFAULT_OUTSIDE_CODE) }
        }
        Some(OutsideKind::Announce) => match &n.outside_prompt {
            Some(p) => OutsideHours::Announce { prompt: p.value.clone() },
            None => {
                let at = n.outside_hours.as_ref().map(|k| k.at.clone()).unwrap_or_else(|| n.at.clone());
                diags.push(Diagnostic::error(at, "outside_hours = \"announce\" needs `outside_prompt`"));
                return Err(());
            }
        },
    }))
}

/// A source address must belong to one trunk: with overlapping CIDRs the first
/// trunk would silently win, and its trust settings with it.
fn overlaps(
    trunk: &str,
    net: &Located<ipnet::IpNet>,
    seen: &[(String, Located<ipnet::IpNet>)],
    diags: &mut Vec<Diagnostic>,
) {
    let (a, at) = (net.value, &net.at);
    for (other, b) in seen {
        let b_net = b.value;
        if !(a.contains(&b_net.network()) || b_net.contains(&a.network())) {
            continue;
        }
        if other == trunk {
            diags
                .push(Diagnostic::warning(at.clone(), format!("{a} overlaps {b_net} of the same trunk (at {})", b.at)));
        } else {
            diags.push(Diagnostic::error(
                at.clone(),
                format!(
                    "{a} overlaps {b_net} of trunk '{other}' (at {}): a source address must belong to one trunk",
                    b.at
                ),
            ));
        }
    }
}

/// Events and prompts a rule names, checked against what is known to exist.
fn references(plan: &Dialplan, n: &NumberDef, known: &KnownNames, diags: &mut Vec<Diagnostic>) {
    if let (Some(e), Some(events)) = (&n.event, &known.events) {
        if !events.contains(&e.value) {
            let hint = did_you_mean(&e.value, events.iter().map(String::as_str))
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            // A warning, not an error: events live in the database, and a number may
            // be set up before its event is loaded; it then simply finds nothing.
            diags.push(Diagnostic::warning(
                e.at.clone(),
                format!("unknown event '{}'{hint}: load it with `dialticket events load FILE`", e.value),
            ));
        }
    }
    let language = n.language.as_deref().unwrap_or(&plan.language);
    for p in [&n.prompt, &n.outside_prompt].into_iter().flatten() {
        if let Some(false) = known.has_prompt(language, &p.value) {
            let names = known.prompts.iter().flatten().map(|(_, name)| name.as_str());
            let hint = did_you_mean(&p.value, names).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            diags.push(Diagnostic::error(
                p.at.clone(),
                format!(
                    "unknown prompt '{}'{hint}: there is no {}.wav for {}",
                    p.value,
                    p.value,
                    KnownNames::prompt_languages(language).join(" or ")
                ),
            ));
        }
    }
}
