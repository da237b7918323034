//! Mail: templates, addressing, and the outbox worker that sends.
//!
//! Handlers never talk SMTP. They render a template ([`Templates`]) and put
//! the result in the outbox table inside the same database transaction as the
//! state change it announces; the [`worker`] sends it afterwards and retries
//! with backoff until the SMTP server takes it. An SMTP outage delays mail, it
//! never loses it.

pub mod connections;
pub mod registration;
pub mod relay;
pub mod worker;

use std::path::Path;

use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::HeaderName;
use minijinja::Environment;
use serde::Serialize;

use crate::phone::PhoneNumber;
use crate::store::{MailBody, NewMail, OutboxMail, PhoneUser};

/// Every template a gateway needs; each exists as `.subject`, `.txt` and `.html`
/// under `mail-templates/<lang>/`.
pub const TEMPLATES: &[&str] = &[
    "purchase-link",
    "issue-guide",
    "ticket",
    "admission",
    "refusal",
    "payment-declined",
    "cancelled",
    "payment-instructions",
    "mail-confirm",
    "mail-changed",
    "receipt",
    "waitlist-offer",
];

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail template {0}: {1}")]
    Template(String, String),
    #[error("bad SMTP URL '{0}': {1}")]
    SmtpUrl(String, String),
    #[error("smtp_ca {0}: {1}")]
    SmtpCa(String, String),
    #[error("DKIM key {0}: {1}")]
    DkimKey(String, String),
}

/// DKIM signing (RFC 6376) for `domain` with the key in `pem` (`path` names it in
/// errors): RSA (PKCS#1 or PKCS#8 PEM, signed RSA-SHA256) or Ed25519 (PKCS#8 PEM,
/// RFC 8463). The receiver finds the public key at `{selector}._domainkey.{domain}`.
/// Headers and body are canonicalized "relaxed", which survives relays that
/// re-fold headers or trailing spaces. `Content-Type` is not signed: lettre folds
/// it (the multipart boundary) and its relaxed form of the folded header does not
/// match what verifiers compute (dkimpy said "invalid" until it was left out).
pub fn dkim(pem: &str, path: &str, selector: &str, domain: &str) -> Result<DkimConfig, MailError> {
    use base64::Engine;
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let bad = |m: String| MailError::DkimKey(path.to_string(), m);
    let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningKey::new(pem, DkimSigningAlgorithm::Rsa).map_err(|e| bad(e.to_string()))?
    } else if let Ok(ed) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
        let raw = base64::engine::general_purpose::STANDARD.encode(ed.to_bytes());
        DkimSigningKey::new(&raw, DkimSigningAlgorithm::Ed25519).map_err(|e| bad(e.to_string()))?
    } else {
        let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| bad(format!("not an RSA or Ed25519 private key in PEM ({e})")))?;
        let pkcs1 = rsa.to_pkcs1_pem(Default::default()).map_err(|e| bad(e.to_string()))?;
        DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa).map_err(|e| bad(e.to_string()))?
    };
    let headers = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version"]
        .into_iter()
        .map(HeaderName::new_from_ascii_str)
        .collect();
    let relaxed =
        DkimCanonicalization { header: DkimCanonicalizationType::Relaxed, body: DkimCanonicalizationType::Relaxed };
    Ok(DkimConfig::new(selector.to_string(), domain.to_string(), key, headers, relaxed))
}

/// A mail as the outbox keeps it: its template, the language and data it is
/// rendered in, and its subject (rendered now: the outbox lists it). The bodies
/// are rendered from the data when the mail is sent or looked at
/// ([`Templates::bodies`]), so a queued mail is its data (~250 bytes for a
/// purchase link) rather than its text and HTML (~2 KB). The data holds
/// everything that varies (links, numbers, the event as it was); only the
/// templates' wording is applied later, from the templates the gateway runs.
#[derive(Debug, Clone)]
pub struct Letter {
    pub template: &'static str,
    pub lang: String,
    pub subject: String,
    pub data: String,
}

impl Letter {
    /// What the outbox keeps of the bodies.
    pub fn body(&self) -> MailBody {
        MailBody::Data { lang: self.lang.clone(), data: self.data.clone() }
    }

    /// The outbox row for this letter to `to`, queued at `at`.
    pub fn to_outbox<'a>(&'a self, to: &'a str, at: i64) -> NewMail<'a> {
        NewMail { to, template: self.template, lang: &self.lang, subject: &self.subject, data: &self.data, at }
    }
}

/// The mail templates of `mail-templates/` (minijinja; `.html` is auto-escaped).
pub struct Templates {
    env: Environment<'static>,
    /// The languages with a directory of templates; a template a language lacks
    /// falls back to English.
    langs: Vec<String>,
    /// Payments run in test mode (`payment_mode = "sandbox"`): every mail opens
    /// with `<lang>/_test-mode.txt`.
    test_mode: bool,
}

impl Templates {
    /// Load the directory and check that every template exists in English.
    pub fn load(dir: &Path) -> Result<Templates, MailError> {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut langs = vec!["en".to_string()];
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_dir() && name != "en" && !name.starts_with('.') {
                    langs.push(name);
                }
            }
        }
        let t = Templates { env, langs, test_mode: false };
        for name in TEMPLATES {
            for ext in ["subject", "txt", "html"] {
                let file = format!("en/{name}.{ext}");
                t.env
                    .get_template(&file)
                    .map_err(|e| MailError::Template(format!("{}/{file}", dir.display()), e.to_string()))?;
            }
        }
        Ok(t)
    }

    /// Say in every mail that no real money moves (see [`crate::payment::PaymentMode`]).
    pub fn set_test_mode(&mut self, on: bool) {
        self.test_mode = on;
    }

    /// `name` in `lang` for the outbox: its subject rendered, its data kept.
    /// A language without the template gets English.
    pub fn letter<C: Serialize>(&self, name: &'static str, lang: &str, ctx: &C) -> Result<Letter, MailError> {
        let lang = self.lang_for(name, lang);
        let data = serde_json::to_string(ctx).map_err(|e| MailError::Template(name.to_string(), e.to_string()))?;
        let subject = self.one(name, lang, "subject", ctx)?.lines().next().unwrap_or_default().trim().to_string();
        Ok(Letter { template: name, lang: lang.to_string(), subject, data })
    }

    /// A queued mail's text and HTML bodies.
    pub fn bodies(&self, mail: &OutboxMail) -> Result<(String, String), MailError> {
        self.bodies_of(&mail.template, &mail.body)
    }

    /// The text and HTML bodies of `template` as `body` has them.
    pub fn bodies_of(&self, template: &str, body: &MailBody) -> Result<(String, String), MailError> {
        match body {
            MailBody::Rendered { text, html } => Ok((text.clone(), html.clone())),
            MailBody::Data { lang, data } => {
                let bad = |e: String| MailError::Template(template.to_string(), e);
                let name = TEMPLATES.iter().find(|t| **t == template).ok_or_else(|| bad("no such template".into()))?;
                let ctx: serde_json::Value = serde_json::from_str(data).map_err(|e| bad(format!("its data: {e}")))?;
                let lang = self.lang_for(name, lang);
                let (text, html) = (self.one(name, lang, "txt", &ctx)?, self.one(name, lang, "html", &ctx)?);
                Ok(match self.test_mode {
                    true => self.with_test_banner(lang, text, html)?,
                    false => (text, html),
                })
            }
        }
    }

    /// The test-mode line on top of both bodies (in the HTML, first in `<body>`).
    fn with_test_banner(&self, lang: &str, text: String, html: String) -> Result<(String, String), MailError> {
        let lang = if self.env.get_template(&format!("{lang}/_test-mode.txt")).is_ok() { lang } else { "en" };
        let line = self.one("_test-mode", lang, "txt", &())?;
        let line = line.trim();
        let text = format!("[{line}]\n\n{text}");
        let para = format!(
            "<p style=\"background:#fff1c2;color:#6b4e00;padding:.5em;border-radius:4px\">{}</p>",
            minijinja::HtmlEscape(line)
        );
        let html = match html.find("<body").and_then(|b| html[b..].find('>').map(|e| b + e + 1)) {
            Some(at) => format!("{}{para}{}", &html[..at], &html[at..]),
            None => format!("{para}{html}"),
        };
        Ok((text, html))
    }

    /// The language `name` is rendered in for `lang`: English when `lang` lacks it.
    fn lang_for(&self, name: &str, lang: &str) -> &str {
        match self.langs.iter().find(|l| *l == lang) {
            Some(l) if self.env.get_template(&format!("{l}/{name}.txt")).is_ok() => l,
            _ => "en",
        }
    }

    fn one<C: Serialize>(&self, name: &str, lang: &str, ext: &str, ctx: &C) -> Result<String, MailError> {
        let file = format!("{lang}/{name}.{ext}");
        let tmpl = self.env.get_template(&file).map_err(|e| MailError::Template(file.clone(), e.to_string()))?;
        tmpl.render(ctx).map_err(|e| MailError::Template(file, format!("{e:#}")))
    }
}

/// Where mail for a phone user goes: the registered address, else the
/// carrier's mail-to-SMS gateway template (`{e164}` / `{digits}`).
pub fn address_for(user: &PhoneUser, carrier_template: &str) -> String {
    match &user.mail_address {
        Some(a) if !a.trim().is_empty() => a.clone(),
        _ => carrier_address(&user.phone, carrier_template),
    }
}

pub fn carrier_address(phone: &PhoneNumber, template: &str) -> String {
    template.replace("{e164}", phone.as_str()).replace("{digits}", phone.digits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dkim_keys_are_read_or_refused_with_the_file_named() {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let ed = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let pem = ed.to_pkcs8_pem(Default::default()).unwrap();
        assert!(dkim(&pem, "ed.pem", "dialticket", "dialticket.example").is_ok());
        for garbage in ["", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
            let e = dkim(garbage, "bad.pem", "s", "example.org").unwrap_err().to_string();
            assert!(e.starts_with("DKIM key bad.pem: not an RSA or Ed25519 private key"), "{e}");
        }
        let e = dkim("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "rsa.pem", "s", "d")
            .unwrap_err();
        assert!(e.to_string().starts_with("DKIM key rsa.pem: "), "{e}");
    }

    fn templates() -> Templates {
        Templates::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/mail-templates"))).unwrap()
    }

    #[test]
    fn every_template_renders_in_every_language() {
        let t = templates();
        let ctx = serde_json::json!({
            "url": "http://127.0.0.1:8080/x/ey<&>", "phone": "+819012345678", "user_number": "0123456789",
            "event": {"name": "Gala <live>", "venue": "Hall", "starts": "Sat 14 Mar 2027, 19:00", "doors_open": "18:00", "contact": "c@example"},
            "seats": "A-1, A-2", "quantity": 2,
            "tickets": [{"seat": "A-1", "position": 1, "reference": "K7QF2-M9XTA"}], "amount": "¥19,600", "issue_number": "+442079460101",
            "usage_number": "+442079460102", "reason": "There is no paid ticket for this phone number.",
            "purchase_id": "p1", "resent": false, "permit_issued_at": "19:01",
            "instructions": "Pay at any convenience store with payment number 1234-5678-9012",
            "expires": "2027-03-01 12:00:00", "now_to": "h***@example.jp", "undo_url": "http://127.0.0.1:8080/m/ey",
            "paid_at": "Sun 6 Dec 2026, 17:00 JST", "seat_type": "S seat", "unit_price": "¥9,800",
            "cancellable_until": "Thu 11 Mar 2027, 19:00 JST", "issue_number_display": "03-0000-0101",
            "until": "Sun 7 Mar 2027, 10:30 JST", "minutes": 30,
        });
        let render = |name, lang| -> Result<(Letter, String, String), MailError> {
            let letter = t.letter(name, lang, &ctx)?;
            let (text, html) = t.bodies_of(name, &letter.body())?;
            Ok((letter, text, html))
        };
        for lang in ["en", "ja"] {
            for name in TEMPLATES {
                let (letter, text, html) = render(name, lang).unwrap_or_else(|e| panic!("{lang}/{name}: {e}"));
                assert_eq!(letter.lang, lang);
                assert!(!letter.subject.is_empty(), "{lang}/{name}");
                assert!(!text.is_empty() && !html.is_empty(), "{lang}/{name}");
                if html.contains("Gala") {
                    assert!(html.contains("Gala &lt;live&gt;"), "{lang}/{name} must escape HTML");
                }
            }
        }
        let (letter, text, _) = render("purchase-link", "en").unwrap();
        assert!(text.contains("http://127.0.0.1:8080/x/ey<&>"));
        assert!(letter.data.len() < 1000, "the outbox keeps the data, not the bodies: {}", letter.data);
        let (letter, ..) = render("ticket", "xx").expect("an unknown language falls back to English");
        assert_eq!(letter.lang, "en");
        let (letter, ..) = render("ticket", "../en").expect("a language is a directory name, not a path");
        assert_eq!(letter.lang, "en");
    }

    #[test]
    fn a_queued_mail_renders_as_it_would_have_when_queued() {
        let t = templates();
        let ctx = serde_json::json!({"url": "http://127.0.0.1:8080/p/ey", "phone": "+819012345678", "user_number": "0123456789"});
        let letter = t.letter("purchase-link", "ja", &ctx).unwrap();
        let (text, html) = t.bodies_of("purchase-link", &letter.body()).unwrap();
        assert!(text.contains("0123456789") && text.contains("http://127.0.0.1:8080/p/ey"), "{text}");
        assert!(html.contains("<html lang=\"ja\">") && html.contains("0123456789"), "{html}");
        // Mails queued before the outbox kept data come out as they were stored.
        let stored = MailBody::Rendered { text: "t".into(), html: "h".into() };
        assert_eq!(t.bodies_of("purchase-link", &stored).unwrap(), ("t".to_string(), "h".to_string()));
        // Data the template cannot render (another version's row, a damaged one) is an error, not a mail.
        for (template, data) in [("purchase-link", "{}"), ("purchase-link", "not json"), ("nonsense", "{}")] {
            let body = MailBody::Data { lang: "en".into(), data: data.into() };
            let e = t.bodies_of(template, &body).unwrap_err().to_string();
            assert!(e.starts_with("mail template "), "{template} {data}: {e}");
        }
    }

    #[test]
    fn addresses() {
        let user = PhoneUser::new(PhoneNumber::parse("+819012345678").unwrap(), "1".into(), "en", 0);
        assert_eq!(address_for(&user, "{e164}@sms.example.net"), "+819012345678@sms.example.net");
        assert_eq!(address_for(&user, "{digits}@mms.example.jp"), "819012345678@mms.example.jp");
        let registered = PhoneUser { mail_address: Some("hanako@example.jp".into()), ..user };
        assert_eq!(address_for(&registered, "{e164}@sms.example.net"), "hanako@example.jp");
    }
}
