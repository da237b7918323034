//! Mail: templates, addressing, and the outbox worker that sends.
//!
//! Handlers never talk SMTP. They render a template ([`Templates`]) and put
//! the result in the outbox table inside the same database transaction as the
//! state change it announces; the [`worker`] sends it afterwards and retries
//! with backoff until the SMTP server takes it. An SMTP outage delays mail, it
//! never loses it.

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
use crate::store::PhoneUser;

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

/// A rendered mail, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub template: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mail templates of `mail-templates/` (minijinja; `.html` is auto-escaped).
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Load the directory and check that every template exists in English.
    pub fn load(dir: &Path) -> Result<Templates, MailError> {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let t = Templates { env };
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

    /// Render `name` in `lang`, falling back to English when the language lacks it.
    pub fn render<C: Serialize>(&self, name: &'static str, lang: &str, ctx: &C) -> Result<Rendered, MailError> {
        let lang = if self.env.get_template(&format!("{lang}/{name}.txt")).is_ok() { lang } else { "en" };
        let one = |ext: &str| -> Result<String, MailError> {
            let file = format!("{lang}/{name}.{ext}");
            let tmpl = self.env.get_template(&file).map_err(|e| MailError::Template(file.clone(), e.to_string()))?;
            tmpl.render(ctx).map_err(|e| MailError::Template(file, format!("{e:#}")))
        };
        Ok(Rendered {
            template: name,
            subject: one("subject")?.lines().next().unwrap_or_default().trim().to_string(),
            text: one("txt")?,
            html: one("html")?,
        })
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
            "seats": "A-1, A-2", "quantity": 2, "amount": "¥19,600", "issue_number": "+442079460101",
            "usage_number": "+442079460102", "reason": "There is no paid ticket for this phone number.",
            "purchase_id": "p1", "resent": false, "permit_issued_at": "19:01",
            "instructions": "Pay at any convenience store with payment number 1234-5678-9012",
            "expires": "2027-03-01 12:00:00", "now_to": "h***@example.jp", "undo_url": "http://127.0.0.1:8080/m/ey",
        });
        for lang in ["en", "ja"] {
            for name in TEMPLATES {
                let r = t.render(name, lang, &ctx).unwrap_or_else(|e| panic!("{lang}/{name}: {e}"));
                assert!(!r.subject.is_empty(), "{lang}/{name}");
                assert!(!r.text.is_empty() && !r.html.is_empty(), "{lang}/{name}");
                if r.html.contains("Gala") {
                    assert!(r.html.contains("Gala &lt;live&gt;"), "{lang}/{name} must escape HTML");
                }
            }
        }
        let r = t.render("purchase-link", "en", &ctx).unwrap();
        assert!(r.text.contains("http://127.0.0.1:8080/x/ey<&>"));
        assert!(t.render("ticket", "xx", &ctx).is_ok(), "unknown language falls back to English");
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
