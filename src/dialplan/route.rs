//! Which rule takes a call, and why: the same walk serves the SIP endpoint
//! (fast, exact numbers by index) and `dialticket dialplan route` (every rule
//! tried, with the reason it did or did not match, like FreeSWITCH's
//! condition log).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::policy::{AnonymousPolicy, IdentityPolicy, PolicyRefusal, RateLimits};
use super::{Dialplan, Location, OutsideHours, Rule, Trunk};
use crate::identity::CallerIdentity;
use crate::phone::{PhoneNumber, PhoneNumberError};

/// What routing looks at in a call.
#[derive(Debug, Clone)]
pub struct CallFacts<'a> {
    /// The dialled number as the Request-URI carries it (before trunk rewrites).
    pub to: &'a str,
    /// The caller's number in E.164, if known (`None`: withheld or unusable).
    pub from: Option<&'a PhoneNumber>,
    /// The address the INVITE came from, which selects the trunk.
    pub source: Option<IpAddr>,
    /// When the call arrived (for business hours).
    pub at: DateTime<Utc>,
}

/// The rule a call runs on, with the policies that apply to it.
#[derive(Debug, Clone, Serialize)]
pub struct Routed {
    /// What the call does. Outside business hours, the rule's reject or announce variant.
    pub rule: Arc<Rule>,
    /// Where the rule that matched is written.
    pub matched_at: Location,
    pub dialed: PhoneNumber,
    pub trunk: Option<String>,
    /// The strictest of the defaults', the trunk's and the rule's.
    pub identity: IdentityPolicy,
    /// The rule's, else the trunk's, else the default.
    pub anonymous: AnonymousPolicy,
    /// Per field, the rule's, else the trunk's, else the default (data for the flood limiter).
    pub rate_limit: RateLimits,
    pub outside_hours: bool,
}

impl Routed {
    /// May this caller use the number? `Err` is the SIP refusal to send.
    pub fn admit(&self, caller: &CallerIdentity) -> Result<(), PolicyRefusal> {
        self.identity.admits(caller)
    }
}

/// Why no rule takes a call; the endpoint answers 404 either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoRoute {
    #[error("'{raw}' is not a dialable number: {error}")]
    NotANumber { raw: String, error: PhoneNumberError },
    #[error("no rule takes calls to {0}")]
    NoRule(PhoneNumber),
}

/// One rule tried.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub at: Location,
    /// The rule's number, pattern or regex.
    pub number: String,
    pub matched: bool,
    pub why: String,
    /// Why, as a code a page translates: `number` (the dialled number does not
    /// match), `trunk` (another trunk or none), `caller` (another caller or none),
    /// `closed` (outside its hours, next rule), `outside-hours` (taken, outside
    /// its hours), `matches`.
    pub reason: &'static str,
}

/// The whole story of routing one call.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Which trunk the source address belongs to.
    pub trunk: String,
    /// How the dialled number was rewritten and normalized.
    pub dialed: String,
    pub steps: Vec<Step>,
    /// Rules after the match, never tried.
    pub untried: usize,
    pub result: Result<Routed, NoRoute>,
}

enum Verdict {
    Miss(&'static str, String),
    Take { rule: Arc<Rule>, why: String, outside_hours: bool },
}

fn evaluate(
    rule: &Arc<Rule>,
    dialed: &PhoneNumber,
    caller: Option<&PhoneNumber>,
    trunk: Option<&Trunk>,
    at: DateTime<Utc>,
) -> Verdict {
    if !rule.number.matches(dialed) {
        return Verdict::Miss("number", format!("{dialed} does not match"));
    }
    let mut held = Vec::new();
    if let Some(want) = &rule.trunk {
        match trunk {
            Some(t) if &t.name == want => held.push(format!("trunk '{want}'")),
            Some(t) => return Verdict::Miss("trunk", format!("came over trunk '{}', the rule wants '{want}'", t.name)),
            None => return Verdict::Miss("trunk", format!("came over no trunk, the rule wants '{want}'")),
        }
    }
    if let Some(want) = &rule.caller {
        match caller {
            Some(n) if want.matches(n) => held.push(format!("caller {n} matches {want}")),
            Some(n) => return Verdict::Miss("caller", format!("caller {n} does not match {want}")),
            None => {
                return Verdict::Miss("caller", format!("caller unknown (withheld or unusable), the rule wants {want}"))
            }
        }
    }
    if let Some(hours) = &rule.hours {
        let v = hours.at(at);
        if v.open {
            held.push(format!("hours '{}': {v}", hours.name));
        } else {
            match (&rule.outside_hours, &rule.outside) {
                (Some(then @ (OutsideHours::Reject { .. } | OutsideHours::Announce { .. })), Some(outside)) => {
                    held.push(format!("outside hours '{}' ({v}): {then}", hours.name));
                    return Verdict::Take { rule: outside.clone(), why: held.join("; "), outside_hours: true };
                }
                _ => return Verdict::Miss("closed", format!("outside hours '{}' ({v}): next rule", hours.name)),
            }
        }
    }
    let why = if held.is_empty() { "matches".to_string() } else { held.join("; ") };
    Verdict::Take { rule: rule.clone(), why, outside_hours: false }
}

impl Dialplan {
    /// The rule that takes this call.
    pub fn route(&self, call: &CallFacts<'_>) -> Result<Routed, NoRoute> {
        self.walk(call, None)
    }

    /// [`Dialplan::route`], keeping the reason every rule tried did or did not match.
    pub fn trace(&self, call: &CallFacts<'_>) -> Trace {
        let ip = call.source;
        let trunk = ip.and_then(|ip| self.trunk_for(ip));
        let trunk_line = match (ip, trunk) {
            (None, _) => "none (no source address given)".to_string(),
            (Some(ip), None) => format!("none ({ip} is in no trunk's cidrs)"),
            (Some(ip), Some(t)) => {
                let net = t.cidrs.iter().find(|c| c.contains(&super::canonical_ip(ip)));
                let net = net.map(|n| n.to_string()).unwrap_or_default();
                format!("{} ({ip} is in {net}, {})", t.name, t.defined_at)
            }
        };
        let (number, rewrite) = self.normalize_dialed(call.to, trunk);
        let mut dialed = format!("'{}'", call.to);
        if let Some((r, out)) = &rewrite {
            let mut how = Vec::new();
            if r.strip > 0 {
                how.push(format!("strip {}", r.strip));
            }
            if !r.prepend.is_empty() {
                how.push(format!("prepend '{}'", r.prepend));
            }
            dialed.push_str(&format!(
                " → rewrite {} ({}){} → '{out}'",
                r.pattern.as_str(),
                r.defined_at,
                if how.is_empty() { String::new() } else { format!(": {}", how.join(", ")) }
            ));
        }
        let last = rewrite.as_ref().map(|(_, out)| out.as_str()).unwrap_or(call.to);
        match &number {
            Ok(n) if n.as_str() != last => dialed.push_str(&format!(" → {n}")),
            Ok(_) => {}
            Err(e) => dialed.push_str(&format!(": not a dialable number: {e}")),
        }
        let mut steps = Vec::new();
        let result = self.walk(call, Some(&mut steps));
        let untried = match &result {
            Ok(_) => self.rules.len() - steps.len(),
            Err(_) => 0,
        };
        Trace { trunk: trunk_line, dialed, steps, untried, result }
    }

    fn walk(&self, call: &CallFacts<'_>, mut steps: Option<&mut Vec<Step>>) -> Result<Routed, NoRoute> {
        let trunk = call.source.and_then(|ip| self.trunk_for(ip));
        let dialed = self
            .normalize_dialed(call.to, trunk)
            .0
            .map_err(|error| NoRoute::NotANumber { raw: call.to.to_string(), error })?;
        // Tracing tries every rule in order, so the trace shows them all; a real call
        // only needs the exact rules for its number, then the patterns. Same order, same result.
        let exact = self.by_number.get(&dialed).map(Vec::as_slice).unwrap_or_default();
        let candidates: Box<dyn Iterator<Item = usize>> = match steps {
            Some(_) => Box::new(0..self.rules.len()),
            None => Box::new(exact.iter().copied().chain(self.first_pattern..self.rules.len())),
        };
        for i in candidates {
            let rule = &self.rules[i];
            let verdict = evaluate(rule, &dialed, call.from, trunk, call.at);
            if let Some(steps) = steps.as_deref_mut() {
                let (matched, why, reason) = match &verdict {
                    Verdict::Miss(reason, why) => (false, why.clone(), *reason),
                    Verdict::Take { why, outside_hours: true, .. } => (true, why.clone(), "outside-hours"),
                    Verdict::Take { why, .. } => (true, why.clone(), "matches"),
                };
                let (at, number) = (rule.defined_at.clone(), rule.number.to_string());
                steps.push(Step { at, number, matched, why, reason });
            }
            if let Verdict::Take { rule: runs, outside_hours, .. } = verdict {
                let any = IdentityPolicy::Any;
                let identity = self
                    .identity
                    .stricter(trunk.and_then(|t| t.identity).unwrap_or(any))
                    .stricter(rule.identity.unwrap_or(any));
                let anonymous = rule.anonymous.or(trunk.and_then(|t| t.anonymous)).unwrap_or(self.anonymous);
                let rate_limit =
                    rule.rate_limit.or(trunk.map(|t| t.rate_limit).unwrap_or_default()).or(self.rate_limit);
                return Ok(Routed {
                    rule: runs,
                    matched_at: rule.defined_at.clone(),
                    dialed,
                    trunk: trunk.map(|t| t.name.clone()),
                    identity,
                    anonymous,
                    rate_limit,
                    outside_hours,
                });
            }
        }
        Err(NoRoute::NoRule(dialed))
    }
}

impl Trace {
    /// The trace as JSON, for the HTTP view.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "trunk": self.trunk,
            "dialed": self.dialed,
            "order": "exact numbers first, then patterns and regexes, each in file order",
            "steps": self.steps,
            "untried": self.untried,
            "result": match &self.result {
                Ok(r) => json!(r),
                Err(e) => json!({"error": e.to_string(), "sip": "404 Not Found"}),
            },
        })
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "trunk:     {}", self.trunk)?;
        writeln!(f, "dialled:   {}", self.dialed)?;
        if let Err(NoRoute::NotANumber { .. }) = &self.result {
            return writeln!(f, "result:    no rule can match: 404 Not Found");
        }
        writeln!(f, "rules:     exact numbers first, then patterns and regexes, each in file order")?;
        let at_width = self.steps.iter().map(|s| s.at.to_string().len()).max().unwrap_or(0);
        let number_width = self.steps.iter().map(|s| s.number.chars().count()).max().unwrap_or(0);
        for s in &self.steps {
            let verdict = if s.matched { "yes" } else { "no " };
            let line = format!("  {verdict}  {:at_width$}  {:number_width$}  {}", s.at.to_string(), s.number, s.why);
            writeln!(f, "{}", line.trim_end())?;
        }
        if self.untried > 0 {
            let s = if self.untried == 1 { "" } else { "s" };
            writeln!(f, "  ({} later rule{s} not tried)", self.untried)?;
        }
        let r = match &self.result {
            Ok(r) => r,
            Err(e) => return writeln!(f, "result:    {e}: 404 Not Found"),
        };
        let rule = &r.rule;
        let what = if rule.action == super::Action::Reject {
            // Rejected without an answer: answer mode, prompt and language play no part.
            format!("reject with {}", rule.reject_code)
        } else {
            let mut what = vec![rule.action.to_string()];
            match (&rule.event, rule.action) {
                (Some(e), _) => what.push(format!("event {e}")),
                (None, super::Action::Announce) => {}
                (None, _) => what.push("all events".into()),
            }
            if let Some(p) = &rule.prompt {
                what.push(format!("prompt '{p}'"));
            }
            match rule.answer {
                super::AnswerMode::Announce => what.push("answer announce".into()),
                mode => what.push(format!("answer {mode} (then {})", rule.reject_code)),
            }
            what.push(format!("language {}", rule.language));
            what.join(", ")
        };
        let outside = if r.outside_hours { " (outside hours)" } else { "" };
        writeln!(f, "result:    {}{outside}: {what}", r.matched_at)?;
        writeln!(f, "identity:  {}", r.identity)?;
        writeln!(f, "anonymous: {}", r.anonymous)?;
        if !r.rate_limit.is_empty() {
            writeln!(f, "limits:    {}", r.rate_limit)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const PLAN: &str = r#"
[settings]
country_code = "44"

[[trunks]]
name = "carrier"
cidrs = ["192.0.2.0/24"]
identity = "trusted-peer"

[[hours]]
name = "office"
time_zone = "Europe/London"
open = ["mon-fri 09:00-17:00"]

[[numbers]]
number = "+442079460100"
caller = "_+81X."
action = "purchase"
language = "ja"

[[numbers]]
number = "+442079460100"
action = "purchase"

[[numbers]]
number = "_+4420794602XX"
hours = "office"
outside_hours = "announce"
outside_prompt = "welcome"
action = "issue"

[[numbers]]
number = "_+4420794603XX"
hours = "office"
outside_hours = "next"
action = "usage"
"#;

    fn plan() -> Dialplan {
        Dialplan::from_sources(&[(PathBuf::from("t.toml"), PLAN.into())]).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn first_matching_rule_wins_and_fast_path_agrees() {
        let plan = plan();
        let jp = PhoneNumber::parse("+819012345678").unwrap();
        let uk = PhoneNumber::parse("+447700900123").unwrap();
        let monday = at("2026-05-04T10:00:00+01:00");
        let saturday = at("2026-05-09T10:00:00+01:00");
        // (dialled, caller, when, expected (rule line, language or action))
        type Case<'a> = (&'a str, Option<&'a PhoneNumber>, DateTime<Utc>, Option<(usize, &'a str)>);
        let cases: Vec<Case> = vec![
            ("+442079460100", Some(&jp), monday, Some((15, "ja"))),
            ("+442079460100", Some(&uk), monday, Some((21, "en"))),
            ("020 7946 0100", None, monday, Some((21, "en"))),
            ("+442079460250", Some(&uk), monday, Some((25, "issue"))),
            ("+442079460250", Some(&uk), saturday, Some((25, "announce"))),
            ("+442079460350", Some(&uk), monday, Some((32, "usage"))),
            ("+442079460350", Some(&uk), saturday, None),
            ("+442079469999", Some(&uk), monday, None),
        ];
        for (to, from, when, want) in cases {
            let call = CallFacts { to, from, source: None, at: when };
            let fast = plan.route(&call);
            let traced = plan.trace(&call).result;
            assert_eq!(fast.as_ref().ok().map(|r| r.matched_at.line), traced.as_ref().ok().map(|r| r.matched_at.line));
            match (fast, want) {
                (Ok(r), Some((line, what))) => {
                    assert_eq!(r.matched_at.line, line, "{to}");
                    assert!(r.rule.language == what || r.rule.action.to_string() == what, "{to}: {r:?}");
                }
                (Err(_), None) => {}
                (got, want) => panic!("{to}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn trunk_policy_applies_to_its_calls() {
        let plan = plan();
        let call = |source: &str| CallFacts {
            to: "+442079460100",
            from: None,
            source: Some(source.parse().unwrap()),
            at: at("2026-05-04T10:00:00Z"),
        };
        assert_eq!(plan.route(&call("192.0.2.1")).unwrap().identity, IdentityPolicy::TrustedPeer);
        assert_eq!(plan.route(&call("203.0.113.1")).unwrap().identity, IdentityPolicy::Any);
    }

    #[test]
    fn trace_explains_every_rule_tried() {
        let plan = plan();
        let uk = PhoneNumber::parse("+447700900123").unwrap();
        let call = CallFacts { to: "+442079460350", from: Some(&uk), source: None, at: at("2026-05-09T10:00:00Z") };
        let text = plan.trace(&call).to_string();
        assert!(text.contains("no   t.toml:15:1  +442079460100   +442079460350 does not match"), "{text}");
        assert!(
            text.contains(
                "outside hours 'office' (Sat 2026-05-09 11:00 Europe/London, no opening range covers it): next rule"
            ),
            "{text}"
        );
        assert!(text.ends_with("result:    no rule takes calls to +442079460350: 404 Not Found\n"), "{text}");
    }
}
