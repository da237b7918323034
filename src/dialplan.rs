//! Dialplans: which dialled number does what.
//!
//! Telecom admins edit TOML files in `dialplans/`. Every `*.toml` in the
//! directory is read (in name order) and merged into one [`Dialplan`]. Errors
//! are reported as `file:line:col: error: message`, the way compilers do, so
//! `dialticket dialplan check` output can be clicked in an editor.
//!
//! The live dialplan is shared as a [`DialplanHandle`] (a `watch` channel):
//! a call clones the `Arc<Rule>` it matched at INVITE time, so a reload never
//! changes the rule of a call in progress.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::phone::PhoneNumber;

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
    /// Only play the number's prompt.
    Announce,
    /// Refuse with `reject_code`.
    Reject,
}

/// How the endpoint answers the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerMode {
    /// 200 OK, an announcement over RTP, then our BYE.
    Announce,
    /// Read the caller ID and reject without answering, so the caller pays nothing.
    MissedCall,
}

/// Where in a dialplan file something was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
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
}

/// One dialled number and what it does.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub number: PhoneNumber,
    pub action: Action,
    pub answer: AnswerMode,
    /// Final status for `missed-call` mode and for `reject` rules.
    pub reject_code: u16,
    /// Prompt language (`en`, `ja`).
    pub language: String,
    /// Prompt played by `announce` rules (other actions pick the prompt from the outcome).
    pub prompt: Option<String>,
    /// Bind the rule to one event (its id); `None` = all events.
    pub event: Option<String>,
    pub defined_at: Location,
}

/// The merged dialplan of a directory.
#[derive(Debug, Clone, Serialize)]
pub struct Dialplan {
    /// Country code for national numbers (`0…`) when the trunk gives none.
    pub country_code: Option<String>,
    pub language: String,
    pub trunks: Vec<Trunk>,
    rules: HashMap<PhoneNumber, Arc<Rule>>,
}

impl Dialplan {
    /// The rule for a dialled (already normalized) number.
    pub fn lookup(&self, dialed: &PhoneNumber) -> Option<Arc<Rule>> {
        self.rules.get(dialed).cloned()
    }

    /// The trunk a source address belongs to, if any.
    pub fn trunk_for(&self, ip: IpAddr) -> Option<&Trunk> {
        let ip = canonical_ip(ip);
        self.trunks.iter().find(|t| t.cidrs.iter().any(|c| c.contains(&ip)))
    }

    /// The number configured for an action (first one in file order), used to
    /// print "call this number" in mails and pages.
    pub fn number_for(&self, action: Action, event: Option<&str>) -> Option<PhoneNumber> {
        let mut candidates: Vec<&Arc<Rule>> = self
            .rules
            .values()
            .filter(|r| r.action == action && (r.event.is_none() || r.event.as_deref() == event))
            .collect();
        // Prefer a rule bound to this event, then file order.
        candidates.sort_by_key(|r| (r.event.is_none(), r.defined_at.file.clone(), r.defined_at.line));
        candidates.first().map(|r| r.number.clone())
    }

    /// All rules, in file order.
    pub fn rules(&self) -> Vec<Arc<Rule>> {
        let mut v: Vec<Arc<Rule>> = self.rules.values().cloned().collect();
        v.sort_by_key(|r| (r.defined_at.file.clone(), r.defined_at.line));
        v
    }

    /// Load and validate every `*.toml` file of `dir`.
    pub fn load_dir(dir: &Path) -> Result<Dialplan, DialplanErrors> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) => {
                return Err(DialplanErrors(vec![Diagnostic::whole_file(
                    dir,
                    format!("cannot read dialplan directory: {e}"),
                )]))
            }
        };
        files.sort();
        if files.is_empty() {
            return Err(DialplanErrors(vec![Diagnostic::whole_file(dir, "no *.toml dialplan files found".into())]));
        }
        let mut sources = Vec::new();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => sources.push((f, text)),
                Err(e) => return Err(DialplanErrors(vec![Diagnostic::whole_file(&f, format!("cannot read: {e}"))])),
            }
        }
        Self::from_sources(&sources)
    }

    /// Build a dialplan from `(file name, contents)` pairs (the unit under test).
    pub fn from_sources(sources: &[(PathBuf, String)]) -> Result<Dialplan, DialplanErrors> {
        let mut errors = Vec::new();
        let mut plan =
            Dialplan { country_code: None, language: "en".into(), trunks: Vec::new(), rules: HashMap::new() };
        let mut settings_seen: Option<Location> = None;
        for (file, text) in sources {
            let at = |span: Range<usize>| locate(file, text, span.start);
            let raw: RawFile = match toml::from_str(text) {
                Ok(r) => r,
                Err(e) => {
                    let loc = e.span().map(|s| locate(file, text, s.start)).unwrap_or_else(|| locate(file, text, 0));
                    errors.push(Diagnostic { at: loc, message: e.message().trim().to_string() });
                    continue;
                }
            };
            if let Some(s) = raw.settings {
                let here = at(s.span());
                if let Some(prev) = &settings_seen {
                    errors.push(Diagnostic { at: here, message: format!("[settings] already defined at {prev}") });
                } else {
                    let s = s.into_inner();
                    if let Some(cc) = &s.country_code {
                        let cc_ok = !cc.is_empty()
                            && cc.len() <= 3
                            && cc.chars().all(|c| c.is_ascii_digit())
                            && !cc.starts_with('0');
                        if !cc_ok {
                            errors.push(Diagnostic {
                                at: here.clone(),
                                message: format!("country_code '{cc}' must be 1-3 digits without '+'"),
                            });
                        }
                    }
                    plan.country_code = s.country_code;
                    if let Some(l) = s.language {
                        plan.language = l;
                    }
                    settings_seen = Some(here);
                }
            }
            for t in raw.trunks {
                let here = at(t.span());
                let t = t.into_inner();
                let mut cidrs = Vec::new();
                for c in t.cidrs {
                    let span = c.span();
                    let c = c.into_inner();
                    match parse_cidr(&c) {
                        Some(net) => cidrs.push(net),
                        None => errors.push(Diagnostic {
                            at: at(span),
                            message: format!("'{c}' is not an address or CIDR (e.g. 192.0.2.0/24)"),
                        }),
                    }
                }
                if plan.trunks.iter().any(|x| x.name == t.name) {
                    errors.push(Diagnostic { at: here, message: format!("trunk '{}' defined twice", t.name) });
                }
                plan.trunks.push(Trunk { name: t.name, cidrs, trust_pai: t.trust_pai, country_code: t.country_code });
            }
            for n in raw.numbers {
                let here = at(n.span());
                let n = n.into_inner();
                let number_at = at(n.number.span());
                let number = match PhoneNumber::normalize(n.number.get_ref(), plan.country_code.as_deref()) {
                    Ok(p) => p,
                    Err(e) => {
                        errors.push(Diagnostic { at: number_at, message: format!("number: {e}") });
                        continue;
                    }
                };
                let reject_code = n.reject_code.as_ref().map(|c| *c.get_ref()).unwrap_or(603);
                if let Some(c) = &n.reject_code {
                    if !(400..=699).contains(c.get_ref()) {
                        errors.push(Diagnostic {
                            at: at(c.span()),
                            message: format!("reject_code {} is not a 4xx/5xx/6xx SIP status", c.get_ref()),
                        });
                    }
                }
                if n.action == Action::Announce && n.prompt.is_none() {
                    errors.push(Diagnostic { at: here.clone(), message: "action 'announce' needs a prompt".into() });
                }
                let rule = Rule {
                    number: number.clone(),
                    action: n.action,
                    answer: n.answer.unwrap_or(AnswerMode::Announce),
                    reject_code,
                    language: n.language.unwrap_or_else(|| plan.language.clone()),
                    prompt: n.prompt,
                    event: n.event,
                    defined_at: here.clone(),
                };
                if let Some(prev) = plan.rules.get(&number) {
                    errors.push(Diagnostic {
                        at: number_at,
                        message: format!("number {number} already defined at {}", prev.defined_at),
                    });
                    continue;
                }
                plan.rules.insert(number, Arc::new(rule));
            }
        }
        if errors.is_empty() && plan.rules.is_empty() {
            if let Some((file, _)) = sources.first() {
                errors.push(Diagnostic::whole_file(file, "dialplan defines no [[numbers]]".into()));
            }
        }
        if errors.is_empty() {
            Ok(plan)
        } else {
            Err(DialplanErrors(errors))
        }
    }
}

/// IPv4-mapped IPv6 sources (dual-stack sockets) match IPv4 CIDRs.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn parse_cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn locate(file: &Path, text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    Location { file: file.to_path_buf(), line, col }
}

/// One problem found in a dialplan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub at: Location,
    pub message: String,
}

impl Diagnostic {
    fn whole_file(file: &Path, message: String) -> Self {
        Diagnostic { at: Location { file: file.to_path_buf(), line: 1, col: 1 }, message }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.at, self.message)
    }
}

/// Every problem found while loading; nothing is loaded if there is one.
#[derive(Debug, Clone, thiserror::Error)]
pub struct DialplanErrors(pub Vec<Diagnostic>);

impl fmt::Display for DialplanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    settings: Option<Spanned<RawSettings>>,
    #[serde(default)]
    trunks: Vec<Spanned<RawTrunk>>,
    #[serde(default)]
    numbers: Vec<Spanned<RawNumber>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    country_code: Option<String>,
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrunk {
    name: String,
    cidrs: Vec<Spanned<String>>,
    #[serde(default)]
    trust_pai: bool,
    country_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNumber {
    number: Spanned<String>,
    action: Action,
    answer: Option<AnswerMode>,
    reject_code: Option<Spanned<u16>>,
    language: Option<String>,
    prompt: Option<String>,
    event: Option<String>,
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
    fn loads_and_looks_up() {
        let d = load(GOOD).unwrap();
        let r = d.lookup(&PhoneNumber::parse("+442079460101").unwrap()).unwrap();
        assert_eq!(r.action, Action::Issue);
        assert_eq!(r.answer, AnswerMode::MissedCall);
        assert_eq!(r.reject_code, 486);
        assert_eq!(r.defined_at.line, 14);
        assert!(d.trunk_for("127.0.0.1".parse().unwrap()).unwrap().trust_pai);
        assert!(d.trunk_for("::ffff:10.1.2.3".parse().unwrap()).is_some());
        assert!(d.trunk_for("192.0.2.1".parse().unwrap()).is_none());
        assert_eq!(d.number_for(Action::Purchase, None).unwrap().as_str(), "+442079460100");
    }

    #[test]
    fn reports_file_line_col() {
        let e = load("[[numbers]]\nnumber = \"+442079460100\"\naction = \"purchse\"\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("t.toml:3:"), "{s}");
        assert!(s.contains("unknown variant"), "{s}");

        let e = load("[[numbers]]\nnumber = \"+442079460100\"\naction = \"issue\"\ncolour = 1\n").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn reports_duplicates_and_bad_values() {
        let text = "[[numbers]]\nnumber = \"+442079460100\"\naction = \"issue\"\n\n[[numbers]]\nnumber = \"442079460100\"\naction = \"usage\"\nreject_code = 200\n\n[[trunks]]\nname = \"x\"\ncidrs = [\"nonsense\"]\n";
        let e = load(text).unwrap_err();
        let lines: Vec<String> = e.0.iter().map(|d| d.to_string()).collect();
        assert!(lines.iter().any(|l| l.starts_with("t.toml:12:") && l.contains("nonsense")), "{lines:?}");
        assert!(
            lines.iter().any(|l| l.starts_with("t.toml:6:") && l.contains("already defined at t.toml:1")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("t.toml:8:") && l.contains("reject_code 200")), "{lines:?}");
    }

    #[test]
    fn national_number_without_country_code_is_an_error() {
        let e = load("[[numbers]]\nnumber = \"0207946\"\naction = \"issue\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:"), "{e}");
    }
}
