//! Dialplans: which call goes where, under which policy.
//!
//! Telecom admins edit TOML files in `dialplans/` (the format, with examples,
//! is in `docs/dialplans.md`). Every `*.toml` of the directory is read in name
//! order and merged into one [`Dialplan`]:
//!
//! | file | concern |
//! |---|---|
//! | `format.rs` | reading one file: TOML syntax, known keys, value types |
//! | `build.rs` | merging files: settings, trunks, hours, rules; names resolved |
//! | `check.rs` | whole-plan checks: duplicates, shadowed rules, overlapping trunks, unknown events and prompts |
//! | `pattern.rs` | exact numbers, Asterisk patterns (`_X.`), regexes |
//! | `hours.rs` | business hours in a time zone |
//! | `policy.rs` | identity policy, anonymous callers, rate limits |
//! | `route.rs` | which rule takes a call, and the trace of why |
//! | `reload.rs` | hot reload on file change and SIGHUP |
//! | `diagnostic.rs` | `file:line:col: error: message` |
//!
//! A call is routed by its trunk (source address), its dialled number
//! (rewritten by the trunk, then E.164), its caller and the time: exact-number
//! rules are tried first, then patterns and regexes, each in file order; the
//! first rule whose conditions all hold takes the call.
//!
//! The live dialplan is shared as a [`DialplanHandle`] (a `watch` channel). A
//! call keeps the `Arc<Rule>` it matched at INVITE time, so a reload never
//! changes the rule of a call in progress.

mod build;
pub mod check;
pub mod commands;
mod diagnostic;
mod format;
pub mod hours;
pub mod pattern;
pub mod policy;
pub mod reload;
pub mod route;
mod toml_values;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize, Serializer};

pub use check::{Checked, KnownNames};
pub use diagnostic::{Diagnostic, DialplanErrors, Location, Severity};
pub use hours::Hours;
pub use pattern::{NumberMatch, Pattern};
pub use policy::{AnonymousPolicy, IdentityPolicy, PolicyRefusal, RateLimits};
pub use route::{CallFacts, NoRoute, Routed, Trace};

use crate::phone::{split_subscriber, NumberingPlan, PhoneNumber, PhoneNumberError};

/// The live dialplan, shared by the SIP endpoint and swapped atomically on reload.
pub type DialplanHandle = tokio::sync::watch::Receiver<Arc<Dialplan>>;

/// What a number does when called (seed 000: purchase, issue, usage-confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Mail the caller a signed purchase link.
    Purchase,
    /// Issue (or re-send) the caller's paid tickets.
    Issue,
    /// Usage confirmation at the venue: mail the admission page.
    Usage,
    /// The payer's consent to carrier billing: a call from the line to be billed
    /// settles its orders waiting for it (seed 004: ordered on one terminal,
    /// confirmed on the named phone).
    ConfirmBilling,
    /// Only play the number's prompt.
    Announce,
    /// Refuse with `reject_code`.
    Reject,
}

impl Action {
    /// The action as the dialplan file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Purchase => "purchase",
            Action::Issue => "issue",
            Action::Usage => "usage",
            Action::ConfirmBilling => "confirm-billing",
            Action::Announce => "announce",
            Action::Reject => "reject",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the endpoint answers the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerMode {
    /// 200 OK, an announcement over RTP, then our BYE.
    Announce,
    /// 183 with SDP, the announcement as early media, then `reject_code`: the
    /// caller hears why and is not billed.
    EarlyMedia,
    /// Read the caller ID and reject without answering, so the caller pays nothing.
    MissedCall,
}

impl fmt::Display for AnswerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnswerMode::Announce => "announce",
            AnswerMode::EarlyMedia => "early-media",
            AnswerMode::MissedCall => "missed-call",
        })
    }
}

/// A SIP peer we receive calls from, identified by source address.
#[derive(Debug, Clone, Serialize)]
pub struct Trunk {
    pub name: String,
    pub cidrs: Vec<IpNet>,
    /// Believe P-Asserted-Identity from this peer (RFC 3325 trust domain).
    pub trust_pai: bool,
    /// Country code for national numbers presented by this peer.
    pub country_code: Option<String>,
    /// How this peer's numbers are dialled (dialled and caller): its `country_code`,
    /// `national_prefix` and `international_prefix`, with the country's defaults
    /// for what it leaves out; without a `country_code`, those of `[settings]`.
    pub numbering_plan: NumberingPlan,
    /// Rewrites of the dialled number as this peer sends it, tried in order before E.164 normalization.
    pub rewrite: Vec<Rewrite>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<AnonymousPolicy>,
    #[serde(skip_serializing_if = "RateLimits::is_empty")]
    pub rate_limit: RateLimits,
    pub defined_at: Location,
}

/// One rewrite of a dialled number: if `pattern` matches the number as the trunk
/// sent it (visual separators removed), drop `strip` leading characters and put
/// `prepend` in front.
#[derive(Debug, Clone, Serialize)]
pub struct Rewrite {
    #[serde(rename = "match")]
    pub pattern: Pattern,
    pub strip: usize,
    pub prepend: String,
    pub defined_at: Location,
}

impl Rewrite {
    fn apply(&self, compact: &str) -> Option<String> {
        if !self.pattern.matches(compact) {
            return None;
        }
        let rest: String = compact.chars().skip(self.strip).collect();
        Some(format!("{}{rest}", self.prepend))
    }
}

/// What a rule with business hours does outside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutsideHours {
    /// The rule does not match; the next rule is tried.
    Next,
    /// Reject with this code (default 480 Temporarily Unavailable).
    Reject { code: u16 },
    /// Play this prompt (the way the rule answers), instead of the action.
    Announce { prompt: String },
}

impl fmt::Display for OutsideHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutsideHours::Next => f.write_str("next rule"),
            OutsideHours::Reject { code } => write!(f, "reject {code}"),
            OutsideHours::Announce { prompt } => write!(f, "announce '{prompt}'"),
        }
    }
}

impl Serialize for OutsideHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One rule: which calls it takes and what it does with them.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// The dialled numbers it takes.
    pub number: NumberMatch,
    /// Only calls from these caller numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<NumberMatch>,
    /// Only calls arriving over this trunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    /// Open only in these business hours.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hours_name")]
    pub hours: Option<Arc<Hours>>,
    /// What happens outside `hours`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_hours: Option<OutsideHours>,
    pub action: Action,
    /// Bind the rule to one event (its id); `None` = all events.
    pub event: Option<String>,
    pub answer: AnswerMode,
    /// Final status for `missed-call` and `early-media` modes and for `reject` rules.
    pub reject_code: u16,
    /// Prompt played by `announce` rules (other actions pick the prompt from the outcome).
    pub prompt: Option<String>,
    /// Prompt and mail language (`en`, `ja`).
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<AnonymousPolicy>,
    #[serde(skip_serializing_if = "RateLimits::is_empty")]
    pub rate_limit: RateLimits,
    pub defined_at: Location,
    /// The rule that takes the call outside `hours` (a reject or announce variant of this one).
    #[serde(skip)]
    outside: Option<Arc<Rule>>,
}

fn hours_name<S: Serializer>(h: &Option<Arc<Hours>>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&h.name),
        None => s.serialize_none(),
    }
}

impl Rule {
    /// The one number this rule answers, if it is an exact-number rule.
    pub fn exact_number(&self) -> Option<&PhoneNumber> {
        self.number.exact()
    }

    /// No condition besides the dialled number.
    fn unconditional(&self) -> bool {
        self.caller.is_none() && self.trunk.is_none() && self.hours.is_none()
    }
}

/// The merged dialplan of a directory.
#[derive(Debug, Clone, Serialize)]
pub struct Dialplan {
    /// The files it was read from, in the order they were read.
    pub files: Vec<PathBuf>,
    /// Country code for national numbers (`0…`) when the trunk gives none.
    pub country_code: Option<String>,
    /// The numbering plan of `[settings]`: for calls over no trunk, trunks without
    /// a `country_code`, and the numbers written in the dialplan itself.
    pub numbering_plan: NumberingPlan,
    pub language: String,
    /// Defaults for every call; a trunk or rule can make them stricter.
    pub identity: IdentityPolicy,
    pub anonymous: AnonymousPolicy,
    pub rate_limit: RateLimits,
    pub trunks: Vec<Trunk>,
    pub hours: Vec<Arc<Hours>>,
    /// Evaluation order: exact numbers first, then patterns and regexes, each in file order.
    rules: Vec<Arc<Rule>>,
    /// Exact-number rules by number (indexes into `rules`), so a call does not scan them all.
    #[serde(skip)]
    by_number: HashMap<PhoneNumber, Vec<usize>>,
    /// `rules[first_pattern..]` are the pattern and regex rules.
    #[serde(skip)]
    first_pattern: usize,
    /// What `check` would print as warnings.
    pub warnings: Vec<Diagnostic>,
}

impl Dialplan {
    /// Load and validate every `*.toml` file of `path` (a directory, or a single file),
    /// without checking event or prompt names.
    pub fn load_dir(path: &Path) -> Result<Dialplan, DialplanErrors> {
        Self::load(path, &KnownNames::default())
    }

    /// Load and validate `path`, checking event and prompt names against `known`.
    pub fn load(path: &Path, known: &KnownNames) -> Result<Dialplan, DialplanErrors> {
        let sources = read_sources(path).map_err(|d| DialplanErrors(vec![d]))?;
        check::check_sources(&sources, known).into_result()
    }

    /// Build a dialplan from `(file name, contents)` pairs (the unit under test).
    pub fn from_sources(sources: &[(PathBuf, String)]) -> Result<Dialplan, DialplanErrors> {
        check::check_sources(sources, &KnownNames::default()).into_result()
    }

    /// The trunk a source address belongs to, if any.
    pub fn trunk_for(&self, ip: IpAddr) -> Option<&Trunk> {
        let ip = canonical_ip(ip);
        self.trunks.iter().find(|t| t.cidrs.iter().any(|c| c.contains(&ip)))
    }

    /// The dialled number `raw` (as the Request-URI carries it) in E.164, after
    /// the rewrites of `trunk`; also the rewrite that applied, for the trace.
    pub fn normalize_dialed<'a>(
        &'a self,
        raw: &str,
        trunk: Option<&'a Trunk>,
    ) -> (Result<PhoneNumber, PhoneNumberError>, Option<(&'a Rewrite, String)>) {
        // A telephone-subscriber's parameters (`;phone-context=…`) are not part of what is rewritten.
        let (digits, context) = split_subscriber(raw);
        let compact: String = digits.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let rewritten = trunk.and_then(|t| t.rewrite.iter().find_map(|r| r.apply(&compact).map(|out| (r, out))));
        let number = rewritten.as_ref().map(|(_, out)| out.as_str()).unwrap_or(digits);
        (PhoneNumber::normalize_local(number, context, self.numbering_plan_for(trunk)), rewritten)
    }

    /// The numbering plan for numbers from `trunk`: its own, else that of `[settings]`.
    pub fn numbering_plan_for<'a>(&'a self, trunk: Option<&'a Trunk>) -> &'a NumberingPlan {
        trunk.map(|t| &t.numbering_plan).unwrap_or(&self.numbering_plan)
    }

    /// The rule a call to `dialed` runs on now, from an unknown caller over no trunk
    /// (for tools and tests; calls use [`Dialplan::route`] with everything they know).
    pub fn lookup(&self, dialed: &PhoneNumber) -> Option<Arc<Rule>> {
        let call = CallFacts { to: dialed.as_str(), from: None, source: None, at: chrono::Utc::now() };
        self.route(&call).ok().map(|r| r.rule)
    }

    /// A caller number as presented from `source`, in E.164 (the trunk's numbering
    /// plan, else the default one, completes national numbers), as `identity` does.
    pub fn normalize_caller(&self, raw: &str, source: Option<IpAddr>) -> Result<PhoneNumber, PhoneNumberError> {
        let trunk = source.and_then(|ip| self.trunk_for(ip));
        PhoneNumber::normalize_in(raw, self.numbering_plan_for(trunk))
    }

    /// The number configured for an action, used to print "call this number" in
    /// mails and pages: an exact-number rule, preferably bound to this event and
    /// without caller, trunk or hours conditions, then the first in file order.
    pub fn number_for(&self, action: Action, event: Option<&str>) -> Option<PhoneNumber> {
        self.number_in(action, event, None)
    }

    /// [`Dialplan::number_for`] for a caller who speaks `lang`: a number answered
    /// in that language first (a Japanese caller is told the Japanese number, and
    /// hears Japanese when calling it), then the event's own, then unconditional.
    pub fn number_in(&self, action: Action, event: Option<&str>, lang: Option<&str>) -> Option<PhoneNumber> {
        self.rules()
            .into_iter()
            .filter(|r| r.action == action && (r.event.is_none() || r.event.as_deref() == event))
            .filter_map(|r| {
                let other_language = lang.is_some_and(|l| l != r.language);
                r.exact_number().cloned().map(|n| (other_language, r.event.is_none(), !r.unconditional(), n))
            })
            .min_by_key(|(other_language, any_event, conditional, _)| (*other_language, *any_event, *conditional))
            .map(|(_, _, _, n)| n)
    }

    /// The block of numbers (see [`NumberMatch::block`]) of the rule for `action`
    /// (per-event rule first): its fixed prefix and free digits.
    pub fn number_block_for(&self, action: Action, event: Option<&str>) -> Option<(String, usize)> {
        self.rules()
            .into_iter()
            .filter(|r| r.action == action && (r.event.is_none() || r.event.as_deref() == event))
            .filter_map(|r| r.number.block().map(|b| (r.event.is_none(), !r.unconditional(), b)))
            .min_by_key(|(any_event, conditional, _)| (*any_event, *conditional))
            .map(|(_, _, b)| b)
    }

    /// All rules, in file order.
    pub fn rules(&self) -> Vec<Arc<Rule>> {
        let mut v = self.rules.clone();
        v.sort_by(|a, b| a.defined_at.cmp(&b.defined_at));
        v
    }
}

/// IPv4-mapped IPv6 sources (dual-stack sockets) match IPv4 CIDRs.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The dialplan files of `path`: every `*.toml` of a directory in name order
/// (hidden files, such as editors' lock files, skipped), or the one file named.
pub fn read_sources(path: &Path) -> Result<Vec<(PathBuf, String)>, Diagnostic> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| {
            Diagnostic::error(Location::whole_file(path), format!("cannot read dialplan directory: {e}"))
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.')))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Diagnostic::error(Location::whole_file(path), "no *.toml dialplan files found"));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .into_iter()
        .map(|f| match std::fs::read_to_string(&f) {
            Ok(text) => Ok((f, text)),
            Err(e) => Err(Diagnostic::error(Location::whole_file(&f), format!("cannot read: {e}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Dialplan, DialplanErrors> {
        Dialplan::from_sources(&[(PathBuf::from("t.toml"), text.to_string())])
    }

    const GOOD: &str = r#"
[settings]
country_code = "44"

[[trunks]]
name = "proxy"
cidrs = ["127.0.0.1", "10.0.0.0/8"]
trust_pai = true

[[numbers]]
number = "+442079460100"
action = "purchase"

[[numbers]]
number = "020 7946 0101"
action = "issue"
answer = "missed-call"
reject_code = 486
"#;

    #[test]
    fn loads_and_finds_trunks_and_numbers() {
        let d = load(GOOD).unwrap();
        let issue = d.rules().into_iter().find(|r| r.action == Action::Issue).unwrap();
        assert_eq!(issue.exact_number().unwrap().as_str(), "+442079460101");
        assert_eq!(issue.answer, AnswerMode::MissedCall);
        assert_eq!(issue.reject_code, 486);
        assert_eq!(issue.defined_at.line, 14);
        assert!(d.trunk_for("127.0.0.1".parse().unwrap()).unwrap().trust_pai);
        assert!(d.trunk_for("::ffff:10.1.2.3".parse().unwrap()).is_some());
        assert!(d.trunk_for("192.0.2.1".parse().unwrap()).is_none());
        assert_eq!(d.number_for(Action::Purchase, None).unwrap().as_str(), "+442079460100");
    }

    #[test]
    fn reports_file_line_col() {
        let e = load("[[numbers]]\nnumber = \"+442079460100\"\naction = \"purchse\"\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("t.toml:3:10: error: `action` must be one of"), "{s}");
        assert!(s.contains("(did you mean \"purchase\"?)"), "{s}");

        let e = load("[[numbers]]\nnumber = \"+442079460100\"\naction = \"issue\"\ncolour = 1\nevnt = \"x\"\n")
            .unwrap_err();
        let lines: Vec<String> = e.0.iter().map(|d| d.to_string()).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("t.toml:4:1: error: unknown key `colour` in [[numbers]] (known keys:"),
            "{lines:?}"
        );
        assert_eq!(lines[1], "t.toml:5:1: error: unknown key `evnt` in [[numbers]] (did you mean `event`?)");
    }

    #[test]
    fn reports_duplicates_and_bad_values() {
        let text = "[[numbers]]\nnumber = \"+442079460100\"\naction = \"issue\"\n\n[[numbers]]\nnumber = \"442079460100\"\naction = \"usage\"\nreject_code = 200\n\n[[trunks]]\nname = \"x\"\ncidrs = [\"nonsense\"]\n";
        let e = load(text).unwrap_err();
        let lines: Vec<String> = e.0.iter().map(|d| d.to_string()).collect();
        assert!(lines.iter().any(|l| l.starts_with("t.toml:12:10:") && l.contains("nonsense")), "{lines:?}");
        assert!(
            lines.iter().any(|l| l.starts_with("t.toml:5:1:") && l.contains("already defined at t.toml:1:1")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("t.toml:8:15:") && l.contains("= 200 is not a 4xx")), "{lines:?}");
    }

    #[test]
    fn national_number_without_country_code_is_an_error() {
        let e = load("[[numbers]]\nnumber = \"0207946\"\naction = \"issue\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:10:"), "{e}");
    }

    #[test]
    fn trunk_rewrites_the_dialled_number() {
        let d = load(
            r#"
[settings]
country_code = "44"

[[trunks]]
name = "jp"
cidrs = ["192.0.2.0/24"]
country_code = "81"
rewrite = [
  { match = "_010X.", strip = 3, prepend = "+" },
  { match = "_184X.", strip = 3 },
]

[[numbers]]
number = "_X."
action = "announce"
prompt = "welcome"
"#,
        )
        .unwrap();
        let jp = d.trunk_for("192.0.2.7".parse().unwrap());
        let n = |raw: &str, t| d.normalize_dialed(raw, t).0.map(|n| n.to_string());
        assert_eq!(n("010 44 20 7946 0100", jp), Ok("+442079460100".into()));
        assert_eq!(n("184-090-1234-5678", jp), Ok("+819012345678".into()));
        assert_eq!(n("09012345678", jp), Ok("+819012345678".into()));
        assert_eq!(n("02079460100", None), Ok("+442079460100".into()));
    }

    #[test]
    fn trunks_dial_in_their_own_numbering_plan() {
        let d = load(
            r#"
[settings]
country_code = "44"

# Japan's prefixes (0 national, 010 international) come with the country code.
[[trunks]]
name = "jp"
cidrs = ["192.0.2.0/24"]
country_code = "81"

[[trunks]]
name = "us"
cidrs = ["198.51.100.0/24"]
country_code = "1"

# A carrier that also sends carrier-selected international calls.
[[trunks]]
name = "jp-carrier"
cidrs = ["203.0.113.0/24"]
country_code = "81"
international_prefix = ["010", "0033010"]

# No country code: the plan of [settings], with its own international prefix.
[[trunks]]
name = "plus-only"
cidrs = ["10.0.0.0/8"]
international_prefix = []

[[numbers]]
number = "_X."
action = "announce"
prompt = "welcome"
"#,
        )
        .unwrap();
        let t = |ip: &str| d.trunk_for(ip.parse().unwrap());
        let n = |raw: &str, trunk| d.normalize_dialed(raw, trunk).0.map(|n| n.to_string()).map_err(|e| e.to_string());
        let (jp, us, carrier, plus_only) = (t("192.0.2.1"), t("198.51.100.1"), t("203.0.113.1"), t("10.0.0.1"));
        assert_eq!(n("010-44-20-7946-0100", jp), Ok("+442079460100".into()));
        assert_eq!(n("090-1234-5678", jp), Ok("+819012345678".into()));
        assert!(n("0044 20 7946 0100", jp).is_err_and(|e| e.contains("international ones start with 010 or +")));
        assert_eq!(n("011 81 90 1234 5678", us), Ok("+819012345678".into()));
        assert_eq!(n("1 (212) 555-0123", us), Ok("+12125550123".into()));
        assert_eq!(n("0033-010-44-20-7946-0100", carrier), Ok("+442079460100".into()));
        assert_eq!(n("010-44-20-7946-0100", carrier), Ok("+442079460100".into()));
        assert_eq!(n("020 7946 0100", plus_only), Ok("+442079460100".into()));
        assert!(n("0081 90 1234 5678", plus_only).is_err());
        assert_eq!(n("0081 90 1234 5678", None), Ok("+819012345678".into()));
        // A phone-context in the Request-URI's user part, kept apart from the rewrites.
        assert_eq!(n("7946-0100;phone-context=+44-20", jp), Ok("+442079460100".into()));
        assert_eq!(n("03-1234-5678;phone-context=+81", None), Ok("+81312345678".into()));

        let caller = |raw: &str, ip: &str| d.normalize_caller(raw, Some(ip.parse().unwrap())).map(|n| n.to_string());
        assert_eq!(caller("010-1-212-555-0123", "192.0.2.9"), Ok("+12125550123".into()));
        assert_eq!(caller("011-81-3-1234-5678", "198.51.100.9"), Ok("+81312345678".into()));
        assert!(caller("00 1 212 555 0123", "203.0.113.250").is_err());
        assert_eq!(caller("00 1 212 555 0123", "127.0.0.1"), Ok("+12125550123".into()));
    }

    #[test]
    fn settings_prefixes_reach_trunks_without_a_country_code() {
        let d = load(
            r#"
[settings]
country_code = "81"
international_prefix = ["010", "0041010"]

[[trunks]]
name = "pbx"
cidrs = ["192.0.2.0/24"]

[[trunks]]
name = "uk"
cidrs = ["198.51.100.0/24"]
country_code = "44"

[[numbers]]
number = "03-1234-5678"
action = "purchase"
"#,
        )
        .unwrap();
        assert_eq!(d.numbering_plan.international_prefixes, ["010", "0041010"]);
        let pbx = d.trunk_for("192.0.2.1".parse().unwrap());
        let uk = d.trunk_for("198.51.100.1".parse().unwrap());
        assert_eq!(d.numbering_plan_for(pbx), &d.numbering_plan);
        // A trunk with its own country code starts from that country's defaults.
        assert_eq!(d.numbering_plan_for(uk), &NumberingPlan::for_country("44"));
        let n = |raw: &str, trunk| d.normalize_dialed(raw, trunk).0.map(|n| n.to_string());
        assert_eq!(n("0041-010-44-20-7946-0100", pbx), Ok("+442079460100".into()));
        assert_eq!(n("0044 20 7946 0100", uk), Ok("+442079460100".into()));
        assert_eq!(d.number_for(Action::Purchase, None).unwrap().as_str(), "+81312345678");
    }

    #[test]
    fn reports_bad_prefixes() {
        let e = load(
            r#"[settings]
country_code = "81"
national_prefix = "+0"
international_prefix = 10

[[trunks]]
name = "a"
cidrs = ["192.0.2.0/24"]
international_prefix = ["00", "0x0"]
national_prefx = "0"

[[trunks]]
name = "b"
cidrs = ["198.51.100.0/24"]
national_prefix = "00"
international_prefix = "00"
"#,
        )
        .unwrap_err();
        let lines: Vec<String> = e.0.iter().map(|d| d.to_string()).collect();
        let want = [
            "t.toml:3:19: error: national_prefix '+0' must be 1-4 digits, e.g. \"0\" (\"1\" in North America)",
            "t.toml:4:24: error: `international_prefix` must be a string or an array of strings, not an integer",
            "t.toml:9:31: error: international_prefix '0x0' must be 1-8 digits, e.g. \"00\" (\"010\" in Japan, \"011\" in North America)",
            "t.toml:10:1: error: unknown key `national_prefx` in [[trunks]] (did you mean `national_prefix`?)",
            "t.toml:15:19: error: '00' is both the national and an international prefix: national numbers could not be told apart",
        ];
        for w in want {
            assert!(lines.iter().any(|l| l == w), "missing {w}\n in {lines:#?}");
        }
        assert_eq!(lines.len(), want.len(), "{lines:#?}");
    }
}
