//! Reading one dialplan file: TOML syntax, known keys, value types.
//!
//! The file is parsed into a span-carrying tree (`toml::de::DeTable`) and
//! walked by hand rather than through `serde(deny_unknown_fields)`, so that
//! *every* unknown key and wrong value is reported with its line and column in
//! one run, with a "did you mean" where a known key is close. What needs the
//! whole dialplan (country codes, names defined in other files) is resolved
//! later, in `build.rs`.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, Location};
use super::hours::{Hours, OpenRange};
use super::pattern::Pattern;
use super::policy::{AnonymousPolicy, IdentityPolicy, MinAttestation, Rate, RateLimits};
use super::toml_values::{Cx, Located, Table};
use super::{Action, AnswerMode, Rewrite};

const TOP: &[&str] = &["settings", "trunks", "hours", "numbers"];
const POLICY: &[&str] = &["identity", "attestation", "anonymous", "rate_limit"];
const SETTINGS: &[&str] = &["country_code", "national_prefix", "international_prefix", "language"];
const TRUNK: &[&str] =
    &["name", "cidrs", "trust_pai", "country_code", "national_prefix", "international_prefix", "rewrite"];
const REWRITE: &[&str] = &["match", "strip", "prepend"];
const HOURS: &[&str] = &["name", "time_zone", "open", "closed"];
const NUMBER: &[&str] = &[
    "number",
    "regex",
    "caller",
    "caller_regex",
    "trunk",
    "action",
    "event",
    "answer",
    "reject_code",
    "prompt",
    "language",
    "hours",
    "outside_hours",
    "outside_prompt",
    "outside_code",
];
const RATE_LIMIT: &[&str] = &["per_caller", "per_source", "per_number"];

/// Identity policy, anonymous handling and rate limits, as a section sets them.
#[derive(Debug, Clone, Default)]
pub(super) struct PolicyDef {
    pub identity: Option<IdentityPolicy>,
    pub anonymous: Option<AnonymousPolicy>,
    pub rate_limit: RateLimits,
}

#[derive(Debug)]
pub(super) struct SettingsDef {
    pub at: Location,
    pub country_code: Option<Located<String>>,
    pub prefixes: PrefixesDef,
    pub language: Option<String>,
    pub policy: PolicyDef,
}

#[derive(Debug)]
pub(super) struct TrunkDef {
    pub at: Location,
    pub name: Located<String>,
    pub cidrs: Vec<Located<IpNet>>,
    pub trust_pai: bool,
    pub country_code: Option<Located<String>>,
    pub prefixes: PrefixesDef,
    pub rewrite: Vec<Rewrite>,
    pub policy: PolicyDef,
}

/// The dialling prefixes a `[settings]` or trunk section sets (the rest of its
/// numbering plan comes from its country code).
#[derive(Debug, Default)]
pub(super) struct PrefixesDef {
    pub national: Option<Located<String>>,
    /// One prefix or several; an empty list (international numbers only with `+`) is allowed.
    pub international: Option<Located<Vec<String>>>,
}

/// What a rule with business hours does outside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutsideKind {
    Next,
    Reject,
    Announce,
}

#[derive(Debug)]
pub(super) struct NumberDef {
    pub at: Location,
    pub number: Option<Located<String>>,
    pub regex: Option<Located<String>>,
    pub caller: Option<Located<String>>,
    pub caller_regex: Option<Located<String>>,
    pub trunk: Option<Located<String>>,
    pub action: Option<Located<Action>>,
    pub event: Option<Located<String>>,
    pub answer: Option<AnswerMode>,
    pub reject_code: Option<u16>,
    pub prompt: Option<Located<String>>,
    pub language: Option<String>,
    pub hours: Option<Located<String>>,
    pub outside_hours: Option<Located<OutsideKind>>,
    pub outside_prompt: Option<Located<String>>,
    pub outside_code: Option<Located<u16>>,
    pub policy: PolicyDef,
}

/// Everything one file defines.
#[derive(Debug, Default)]
pub(super) struct FileDefs {
    pub settings: Option<SettingsDef>,
    pub trunks: Vec<TrunkDef>,
    pub hours: Vec<(Located<String>, Option<Hours>)>,
    pub numbers: Vec<NumberDef>,
}

/// Read `text` (the contents of `file`), adding what is wrong to `diags`.
pub(super) fn read_file(file: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> FileDefs {
    let mut cx = Cx { file, text, diags };
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // A file with broken syntax is reported at its first error and otherwise
        // skipped: what the parser recovered would only produce confusing follow-ups.
        if let Some(e) = errors.iter().min_by_key(|e| e.span().map(|s| s.start).unwrap_or(0)) {
            let at = cx.loc(e.span().unwrap_or(0..0));
            cx.diags.push(Diagnostic::error(at, format!("TOML syntax: {}", e.message().trim())));
        }
        return FileDefs::default();
    }
    let root = root.get_ref();
    cx.check_keys(root, "the top level", TOP);
    let mut defs = FileDefs::default();
    if let Some((t, at)) = cx.table(root, "settings") {
        defs.settings = Some(cx.settings(t, at));
    }
    for (t, at) in cx.tables(root, "trunks") {
        if let Some(trunk) = cx.trunk(t, at) {
            defs.trunks.push(trunk);
        }
    }
    for (t, at) in cx.tables(root, "hours") {
        if let Some(h) = cx.hours(t, at) {
            defs.hours.push(h);
        }
    }
    for (t, at) in cx.tables(root, "numbers") {
        defs.numbers.push(cx.number(t, at));
    }
    defs
}

/// A dialling prefix: 1 to `max` digits.
fn is_prefix(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl Cx<'_> {
    fn country_code(&mut self, t: &Table<'_>) -> Option<Located<String>> {
        let cc = self.string(t, "country_code")?;
        let ok = !cc.value.is_empty()
            && cc.value.len() <= 3
            && cc.value.chars().all(|c| c.is_ascii_digit())
            && !cc.value.starts_with('0');
        if ok {
            Some(cc)
        } else {
            self.error(
                cc.at,
                format!("country_code '{}' must be 1-3 digits, without '+' or a leading 0, e.g. \"81\"", cc.value),
            );
            None
        }
    }

    /// `national_prefix` and `international_prefix`: digit strings.
    fn prefixes(&mut self, t: &Table<'_>) -> PrefixesDef {
        let national = self.string(t, "national_prefix").and_then(|p| {
            if is_prefix(&p.value, 4) {
                Some(p)
            } else {
                self.error(
                    p.at,
                    format!("national_prefix '{}' must be 1-4 digits, e.g. \"0\" (\"1\" in North America)", p.value),
                );
                None
            }
        });
        let international = match self.get(t, "international_prefix") {
            Some(v) if matches!(v.get_ref(), DeValue::String(_) | DeValue::Array(_)) => {
                let at = self.loc(v.span());
                let mut ok = true;
                let mut prefixes = Vec::new();
                for p in self.strings(t, "international_prefix") {
                    if is_prefix(&p.value, 8) {
                        prefixes.push(p.value);
                    } else {
                        ok = false;
                        self.error(
                            p.at,
                            format!(
                                "international_prefix '{}' must be 1-8 digits, e.g. \"00\" (\"010\" in Japan, \"011\" in North America)",
                                p.value
                            ),
                        );
                    }
                }
                ok.then_some(Located::derived(prefixes, at))
            }
            Some(v) => {
                self.wrong_type("international_prefix", v, "a string or an array of strings");
                None
            }
            None => None,
        };
        PrefixesDef { national, international }
    }

    fn language(&mut self, t: &Table<'_>) -> Option<String> {
        let l = self.string(t, "language")?;
        // A BCP 47-ish tag: `en`, `ja`, `ja-JP`; it names a prompts/ folder.
        let ok = l.value.split(['-', '_']).all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            && l.value.len() <= 12;
        if ok {
            Some(l.value)
        } else {
            self.error(l.at, format!("language '{}' is not a language tag such as \"en\" or \"ja\"", l.value));
            None
        }
    }

    fn policy(&mut self, t: &Table<'_>) -> PolicyDef {
        #[derive(Clone, Copy)]
        enum Kind {
            Any,
            TrustedPeer,
            Verified,
        }
        let kind = self.choice(
            t,
            "identity",
            &[("any", Kind::Any), ("trusted-peer", Kind::TrustedPeer), ("verified", Kind::Verified)],
        );
        let attestation = self.choice(t, "attestation", &[("A", MinAttestation::A), ("B", MinAttestation::B)]);
        let identity = match (kind.as_ref().map(|k| k.value), attestation) {
            (Some(Kind::Verified), a) => {
                Some(IdentityPolicy::Verified(a.map(|a| a.value).unwrap_or(MinAttestation::A)))
            }
            (k, Some(a)) => {
                self.error(a.at, "`attestation` only applies to identity = \"verified\"");
                k.map(|k| if matches!(k, Kind::Any) { IdentityPolicy::Any } else { IdentityPolicy::TrustedPeer })
            }
            (Some(Kind::Any), None) => Some(IdentityPolicy::Any),
            (Some(Kind::TrustedPeer), None) => Some(IdentityPolicy::TrustedPeer),
            (None, None) => None,
        };
        let anonymous = self
            .choice(t, "anonymous", &[("reject", AnonymousPolicy::Reject), ("announce", AnonymousPolicy::Announce)])
            .map(|a| a.value);
        let mut rate_limit = RateLimits::default();
        if let Some(v) = self.get(t, "rate_limit") {
            match v.get_ref() {
                DeValue::Table(rt) => {
                    self.check_keys(rt, "rate_limit", RATE_LIMIT);
                    rate_limit.per_caller = self.rate(rt, "per_caller");
                    rate_limit.per_source = self.rate(rt, "per_source");
                    rate_limit.per_number = self.rate(rt, "per_number");
                }
                _ => self.wrong_type("rate_limit", v, "a table, e.g. { per_caller = \"5/min\" }"),
            }
        }
        PolicyDef { identity, anonymous, rate_limit }
    }

    fn rate(&mut self, t: &Table<'_>, key: &str) -> Option<Rate> {
        let s = self.string(t, key)?;
        match s.value.parse::<Rate>() {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(s.at, e);
                None
            }
        }
    }

    fn settings(&mut self, t: &Table<'_>, at: Location) -> SettingsDef {
        self.check_keys(t, "[settings]", &[SETTINGS, POLICY].concat());
        SettingsDef {
            at,
            country_code: self.country_code(t),
            prefixes: self.prefixes(t),
            language: self.language(t),
            policy: self.policy(t),
        }
    }

    fn trunk(&mut self, t: &Table<'_>, at: Location) -> Option<TrunkDef> {
        self.check_keys(t, "[[trunks]]", &[TRUNK, POLICY].concat());
        let name = self.required_string(t, "name", &at, "a trunk");
        if t.get("cidrs").is_none() {
            self.error(at.clone(), "a trunk needs `cidrs`: the addresses its calls come from");
        }
        let mut cidrs = Vec::new();
        for c in self.strings(t, "cidrs") {
            let net = c.value.parse::<IpNet>().ok().or_else(|| c.value.parse::<IpAddr>().ok().map(IpNet::from));
            match net {
                Some(net) if net.trunc() != net => {
                    self.error(c.at, format!("'{}' has host bits set: write the network, {}", c.value, net.trunc()))
                }
                Some(net) => cidrs.push(Located::derived(net, c.at)),
                None => self.error(c.at, format!("'{}' is not an address or CIDR (e.g. 192.0.2.0/24)", c.value)),
            }
        }
        let trust_pai = self.boolean(t, "trust_pai").unwrap_or(false);
        let country_code = self.country_code(t);
        let prefixes = self.prefixes(t);
        let mut rewrite = Vec::new();
        for (rt, rat) in self.tables(t, "rewrite") {
            if let Some(r) = self.rewrite(rt, rat) {
                rewrite.push(r);
            }
        }
        let policy = self.policy(t);
        Some(TrunkDef { at, name: name?, cidrs, trust_pai, country_code, prefixes, rewrite, policy })
    }

    fn rewrite(&mut self, t: &Table<'_>, at: Location) -> Option<Rewrite> {
        self.check_keys(t, "a rewrite", REWRITE);
        let m = self.required_string(t, "match", &at, "a rewrite")?;
        let pattern = match Pattern::parse(&m.value) {
            Ok(p) => p,
            Err(e) => {
                let hint =
                    if m.value.starts_with('_') { "" } else { " (rewrite patterns start with '_', e.g. \"_0X.\")" };
                self.error(m.at_offset(e.offset), format!("bad pattern '{}': {e}{hint}", m.value));
                return None;
            }
        };
        let strip = self.integer(t, "strip", 0..16, "a digit count from 0 to 15").map(|s| s.value as usize);
        let prepend = self.string(t, "prepend");
        if let Some(p) = &prepend {
            if !p.value.chars().all(|c| c.is_ascii_digit() || c == '+') {
                self.error(p.at.clone(), format!("prepend '{}' may only hold digits and '+'", p.value));
            }
        }
        Some(Rewrite {
            pattern,
            strip: strip.unwrap_or(0),
            prepend: prepend.map(|p| p.value).unwrap_or_default(),
            defined_at: at,
        })
    }

    fn hours(&mut self, t: &Table<'_>, at: Location) -> Option<(Located<String>, Option<Hours>)> {
        self.check_keys(t, "[[hours]]", HOURS);
        let name = self.required_string(t, "name", &at, "an [[hours]] block")?;
        let tz = self.required_string(t, "time_zone", &at, "an [[hours]] block").and_then(|tz| {
            match tz.value.parse::<chrono_tz::Tz>() {
                Ok(z) => Some(z),
                Err(_) => {
                    self.error(
                        tz.at,
                        format!("unknown time zone '{}' (use an IANA name such as \"Asia/Tokyo\")", tz.value),
                    );
                    None
                }
            }
        });
        if t.get("open").is_none() {
            self.error(at.clone(), "an [[hours]] block needs `open`, e.g. [\"mon-fri 09:00-18:00\"]");
        }
        let mut open = Vec::new();
        let mut ok = true;
        for o in self.strings(t, "open") {
            match OpenRange::parse(&o.value) {
                Ok(r) => open.push(r),
                Err(e) => {
                    ok = false;
                    self.error(o.at, e);
                }
            }
        }
        let mut closed = Vec::new();
        for d in self.strings(t, "closed") {
            match d.value.parse() {
                Ok(date) => closed.push(date),
                Err(_) => {
                    ok = false;
                    self.error(d.at, format!("'{}' is not a date (YYYY-MM-DD)", d.value));
                }
            }
        }
        let hours = match (tz, ok) {
            (Some(time_zone), true) => {
                Some(Hours { name: name.value.clone(), time_zone, open, closed, defined_at: at })
            }
            _ => None,
        };
        Some((name, hours))
    }

    fn number(&mut self, t: &Table<'_>, at: Location) -> NumberDef {
        self.check_keys(t, "[[numbers]]", &[NUMBER, POLICY].concat());
        if t.get("action").is_none() {
            self.error(
                at.clone(),
                "a number needs `action` (purchase, issue, usage, confirm-billing, announce or reject)",
            );
        }
        let action = self.choice(
            t,
            "action",
            &[
                ("purchase", Action::Purchase),
                ("issue", Action::Issue),
                ("usage", Action::Usage),
                ("confirm-billing", Action::ConfirmBilling),
                ("announce", Action::Announce),
                ("reject", Action::Reject),
            ],
        );
        let answer = self.choice(
            t,
            "answer",
            &[
                ("announce", AnswerMode::Announce),
                ("early-media", AnswerMode::EarlyMedia),
                ("missed-call", AnswerMode::MissedCall),
            ],
        );
        let outside_hours = self.choice(
            t,
            "outside_hours",
            &[("next", OutsideKind::Next), ("reject", OutsideKind::Reject), ("announce", OutsideKind::Announce)],
        );
        NumberDef {
            number: self.string(t, "number"),
            regex: self.string(t, "regex"),
            caller: self.string(t, "caller"),
            caller_regex: self.string(t, "caller_regex"),
            trunk: self.string(t, "trunk"),
            action,
            event: self.string(t, "event"),
            answer: answer.map(|a| a.value),
            reject_code: self.sip_code(t, "reject_code").map(|c| c.value),
            prompt: self.string(t, "prompt"),
            language: self.language(t),
            hours: self.string(t, "hours"),
            outside_hours,
            outside_prompt: self.string(t, "outside_prompt"),
            outside_code: self.sip_code(t, "outside_code"),
            policy: self.policy(t),
            at,
        }
    }
}
