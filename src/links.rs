//! Signed links: purpose-bound, expiring EdDSA tokens (JWT via jsonwebtoken).
//!
//! A token minted for one purpose (say, an issue guide) is refused on every
//! other page, so a forwarded guide cannot be replayed as a ticket. Tokens
//! carry a key id (`kid`): `dialticket keys rotate` makes a new signing key and
//! keeps the old one in `retired-keys/` next to it, where it still verifies the
//! links it signed until they have all expired ([`RETIRED_KEYS_KEPT_DAYS`]).
//! Verifying a token never changes state: opening a link is free, acting needs a
//! POST or a call.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::phone::PhoneNumber;

/// What a link is for. Part of the signed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// The purchase pages (event list → event → order).
    Purchase,
    /// The issue guide: event details and the number to call to issue.
    IssueGuide,
    /// The ticket page.
    Ticket,
    /// The admission page staff look at.
    Admission,
    /// Confirming where a phone's mail goes (`addr` names the address), mailed
    /// to that address; see [`crate::mail::registration`].
    MailAddress,
    /// The code printed on a ticket, checked by staff.
    TicketCode,
    /// Answering the card issuer's confirmation step of one order (`pid`), and
    /// nothing else: the web buyer who placed the order gets it, whoever the
    /// ticket's phone is, so it must not open that phone's pages.
    CardChallenge,
}

impl Purpose {
    /// Whether re-issuing revokes the older links: a ticket mailed again (the
    /// issue number called again) or an admission page mailed again (the usage
    /// number called again) replaces the one before, so a forwarded or leaked
    /// mail stops working. The purchase's current link of each such purpose is
    /// recorded when it is mailed; the others (shop, issue guide, the ticket's
    /// code checked offline) are not credentials to the ticket.
    pub fn revocable(self) -> bool {
        matches!(self, Purpose::Ticket | Purpose::Admission)
    }

    /// Whether `claims` carry exactly what this purpose is about: a purchase link
    /// names a phone and no purchase (a token naming a purchase — such as the card
    /// challenge a web buyer was once given under this purpose — must not open
    /// that phone's pages); the links about one purchase name it; a mail-address
    /// link names the address and the epoch it was asked in.
    fn fits(self, claims: &Claims) -> bool {
        let mail = claims.addr.is_some() && claims.epoch.is_some();
        let none_of_mail = claims.addr.is_none() && claims.epoch.is_none();
        match self {
            Purpose::Purchase => claims.pid.is_none() && none_of_mail,
            Purpose::MailAddress => claims.pid.is_none() && mail,
            Purpose::IssueGuide
            | Purpose::Ticket
            | Purpose::Admission
            | Purpose::TicketCode
            | Purpose::CardChallenge => claims.pid.is_some() && none_of_mail,
        }
    }

    /// The name stored with a purchase's current link.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Purchase => "purchase",
            Purpose::IssueGuide => "issue-guide",
            Purpose::Ticket => "ticket",
            Purpose::Admission => "admission",
            Purpose::MailAddress => "mail-address",
            Purpose::TicketCode => "ticket-code",
            Purpose::CardChallenge => "card-challenge",
        }
    }

    /// Lifetime of a freshly minted token.
    pub fn ttl_secs(self) -> i64 {
        match self {
            Purpose::Purchase | Purpose::MailAddress => 24 * 3600,
            Purpose::IssueGuide => 90 * 24 * 3600,
            Purpose::Ticket | Purpose::TicketCode => 365 * 24 * 3600,
            Purpose::Admission => 2 * 24 * 3600,
            // The issuer's step lasts 15 minutes (`payment::SandboxCard`); a little more.
            Purpose::CardChallenge => 30 * 60,
        }
    }

    /// The path prefix of the page the link opens.
    pub fn path(self) -> &'static str {
        match self {
            Purpose::Purchase => "/p/",
            Purpose::IssueGuide => "/g/",
            Purpose::Ticket => "/t/",
            Purpose::Admission => "/a/",
            Purpose::MailAddress => "/m/",
            Purpose::TicketCode => "/verify/",
            Purpose::CardChallenge => "/pay/",
        }
    }
}

/// The signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub purpose: Purpose,
    /// The phone the link was sent to.
    pub sub: PhoneNumber,
    /// The purchase the link is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// The mail address a [`Purpose::MailAddress`] link confirms (empty: the
    /// carrier's address for the phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// The phone user's mail epoch the [`Purpose::MailAddress`] link was asked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i64>,
    /// The language of the mail the link went out in (the dialplan language of
    /// the number the caller dialled): the page opens in it (see `web::locale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// See [`Links::mint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    pub url: String,
    pub jti: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("this link has expired")]
    Expired,
    /// A newer link of the same kind was issued for the purchase (a re-issue).
    #[error("this link was replaced by a newer one")]
    Replaced,
    #[error("this link is not valid")]
    Invalid,
    #[error("this link is for a different page")]
    WrongPurpose,
    #[error("signing key: {0}")]
    Key(String),
}

/// A retired key verifies links for this long after it was retired: the longest
/// a link lives ([`Purpose::ttl_secs`], a ticket: 365 days), and a day more. An
/// older retired key file is left unloaded (and said so): it can be deleted.
pub const RETIRED_KEYS_KEPT_DAYS: u64 = 366;

/// Where the keys retired from signing with `signing_key` are kept.
pub fn retired_dir(signing_key: &Path) -> PathBuf {
    signing_key.parent().unwrap_or(Path::new(".")).join("retired-keys")
}

/// Where the key that other secrets are derived from ([`Links::derive_secret`]:
/// staff PINs, the payment-callback secret) is kept once the signing key has been
/// rotated: the first signing key, so that a rotation changes neither — venue staff
/// keep their PINs and a payment provider its callback secret. Beside the retired
/// keys, as a `.seed` rather than a `.pem`: it signs nothing and verifies nothing.
pub fn derivation_seed(signing_key: &Path) -> PathBuf {
    retired_dir(signing_key).join("derivation.seed")
}

/// The key id of an Ed25519 key: the first 9 bytes of its public key, base64url
/// (12 characters, safe in a file name).
pub fn kid_of(key: &ed25519_dalek::VerifyingKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key.to_bytes()[..9])
}

fn read_key(path: &Path) -> Result<SigningKey, LinkError> {
    let pem = std::fs::read_to_string(path).map_err(|e| LinkError::Key(format!("{}: {e}", path.display())))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| LinkError::Key(format!("{}: {e}", path.display())))
}

fn key_pem(key: &SigningKey) -> Result<String, LinkError> {
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| LinkError::Key(e.to_string()))?;
    Ok(pem.to_string())
}

/// A key retired from signing, as `dialticket keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    pub kid: String,
    pub path: PathBuf,
    /// Days since it was retired (the file's age).
    pub age_days: u64,
    /// Still verifying (younger than [`RETIRED_KEYS_KEPT_DAYS`]).
    pub verifying: bool,
}

/// The retired keys of `signing_key`, oldest first. A file that is not a key is
/// an error naming it (a gateway must not start without a key it was given).
pub fn retired_keys(signing_key: &Path) -> Result<Vec<(RetiredKey, SigningKey)>, LinkError> {
    let dir = retired_dir(signing_key);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LinkError::Key(format!("{}: {e}", dir.display()))),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| LinkError::Key(format!("{}: {e}", dir.display())))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("pem") {
            continue;
        }
        let key = read_key(&path)?;
        let age = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map_or(0, |d| d.as_secs() / 86_400);
        let info = RetiredKey {
            kid: kid_of(&key.verifying_key()),
            path,
            age_days: age,
            verifying: age < RETIRED_KEYS_KEPT_DAYS,
        };
        keys.push((info, key));
    }
    keys.sort_by(|a, b| b.0.age_days.cmp(&a.0.age_days).then_with(|| a.0.kid.cmp(&b.0.kid)));
    Ok(keys)
}

/// Replace the signing key at `path` with a new one, keeping the old one in
/// [`retired_dir`] (as `{kid}.pem`, mode 0600) so the links it signed still open.
/// Returns the old and the new key id. Gateways use the new key once restarted.
pub fn rotate(path: &Path) -> Result<(String, String), LinkError> {
    let old = read_key(path)?;
    let old_kid = kid_of(&old.verifying_key());
    let dir = retired_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| LinkError::Key(format!("{}: {e}", dir.display())))?;
    // The first rotation keeps the key secrets have been derived from; later ones find it there.
    let seed = derivation_seed(path);
    if !seed.exists() {
        write_private(&seed, key_pem(&old)?.as_bytes())
            .map_err(|e| LinkError::Key(format!("{}: {e}", seed.display())))?;
    }
    let retired = dir.join(format!("{old_kid}.pem"));
    if !retired.exists() {
        // Its age is the file's age by our clock (`retired_keys`), so it is stamped
        // with our clock too, not with the filesystem's (a file server's, or the
        // kernel's under a test that moves the process's clock).
        write_private(&retired, key_pem(&old)?.as_bytes())
            .and_then(|()| std::fs::File::options().write(true).open(&retired))
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .map_err(|e| LinkError::Key(format!("{}: {e}", retired.display())))?;
    }
    let new = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    // Written beside it and renamed over it: a crash leaves the old key or the new, never half a file.
    let tmp = path.with_extension("pem.new");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, key_pem(&new)?.as_bytes()).map_err(|e| LinkError::Key(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| LinkError::Key(format!("{}: {e}", path.display())))?;
    Ok((old_kid, kid_of(&new.verifying_key())))
}

/// Signs and verifies link tokens with one Ed25519 key (and verifies with the
/// keys retired before it).
pub struct Links {
    kid: String,
    /// The parsed key, and the token's first part (`{"typ":"JWT","alg":"EdDSA","kid":…}`,
    /// base64url), both made once: signing is on the path of every call.
    signing: SigningKey,
    header_b64: String,
    decoding: DecodingKey,
    /// Retired keys by key id: they verify, they do not sign.
    retired: HashMap<String, DecodingKey>,
    /// The same retired keys as Ed25519 public keys, for the seats' ticket codes
    /// ([`crate::door::code`]), which are signed bytes rather than JWTs.
    retired_public: Vec<ed25519_dalek::VerifyingKey>,
    /// Until when each of `retired_public` verifies (unix time, to the day:
    /// retired [`RETIRED_KEYS_KEPT_DAYS`] ago then).
    retired_until: Vec<i64>,
    public_url: String,
    secret: [u8; 32],
    /// Tokens whose signature verified, by their text, with their claims:
    /// checking an Ed25519 signature was a tenth of a ticket page's time, and
    /// a holder's phone opens the same link again and again (the admission page
    /// polls it). Only the signature's verdict is kept — these keys never
    /// change while this `Links` lives (a new key set is a new `Links`) —
    /// expiry, purpose and revocation are checked on every use as before.
    verified: quick_cache::sync::Cache<String, Claims>,
}

/// How many verified tokens [`Links`] keeps (about half a kilobyte each).
const VERIFIED_KEPT: usize = 10_000;

impl Links {
    /// Load the PKCS#8 PEM key at `path`, generating it (mode 0600) if absent, and
    /// the keys retired from it ([`retired_keys`]) to verify older links.
    pub fn load_or_generate(path: &Path, public_url: &str) -> Result<Links, LinkError> {
        let key = if path.exists() {
            read_key(path)?
        } else {
            let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| LinkError::Key(format!("{}: {e}", dir.display())))?;
            }
            write_private(path, key_pem(&key)?.as_bytes())
                .map_err(|e| LinkError::Key(format!("{}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "generated a new link-signing key");
            key
        };
        let mut links = Self::from_key(&key, public_url)?;
        let seed = derivation_seed(path);
        if seed.exists() {
            links.secret = read_key(&seed)?.to_bytes();
        }
        for (info, retired) in retired_keys(path)? {
            if !info.verifying {
                tracing::warn!(kid = %info.kid, path = %info.path.display(), days = info.age_days,
                    "retired signing key is older than every link it signed: not loaded, it can be deleted");
                continue;
            }
            if info.kid != links.kid {
                links.retired.insert(info.kid, DecodingKey::from_ed_der(&retired.verifying_key().to_bytes()));
                links.retired_public.push(retired.verifying_key());
                let now = crate::store::now();
                let kept = RETIRED_KEYS_KEPT_DAYS.saturating_sub(info.age_days) as i64;
                links.retired_until.push(now + kept * 86_400);
            }
        }
        Ok(links)
    }

    pub fn from_key(key: &SigningKey, public_url: &str) -> Result<Links, LinkError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let public = key.verifying_key().to_bytes();
        let decoding = DecodingKey::from_ed_der(&public);
        let kid = kid_of(&key.verifying_key());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let header_json = serde_json::to_vec(&header).map_err(|e| LinkError::Key(e.to_string()))?;
        Ok(Links {
            kid,
            signing: key.clone(),
            header_b64: b64.encode(header_json),
            decoding,
            retired: HashMap::new(),
            retired_public: Vec::new(),
            retired_until: Vec::new(),
            public_url: public_url.trim_end_matches('/').to_string(),
            secret: key.to_bytes(),
            verified: quick_cache::sync::Cache::new(VERIFIED_KEPT),
        })
    }

    /// A secret for another purpose derived from the signing key (so one key
    /// file is all a gateway keeps): SHA-256 over the private key and `label`.
    /// After a rotation, from the first signing key ([`derivation_seed`]).
    pub fn derive_secret(&self, label: &str) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.secret);
        h.update(label.as_bytes());
        h.finalize().into()
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key that signs the seats' ticket codes ([`crate::door::code`]): the
    /// link-signing key, so a rotation moves codes on as it does links.
    pub fn code_signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The keys a ticket code may be signed with: the signing key's, then the
    /// retired ones' (they verify the codes they signed, like their links).
    pub fn code_verifying_keys(&self) -> Vec<ed25519_dalek::VerifyingKey> {
        std::iter::once(self.signing.verifying_key()).chain(self.retired_public.iter().copied()).collect()
    }

    /// [`Links::code_verifying_keys`] with until when each verifies (`None`: the
    /// signing key, for as long as it signs), for offline devices.
    pub fn code_keys_until(&self) -> Vec<(ed25519_dalek::VerifyingKey, Option<i64>)> {
        let retired = self.retired_public.iter().copied().zip(self.retired_until.iter().map(|u| Some(*u)));
        std::iter::once((self.signing.verifying_key(), None)).chain(retired).collect()
    }

    /// The key ids that verify links: the signing key's, then the retired ones'.
    pub fn verifying_kids(&self) -> Vec<&str> {
        let mut retired: Vec<&str> = self.retired.keys().map(String::as_str).collect();
        retired.sort_unstable();
        std::iter::once(self.kid.as_str()).chain(retired).collect()
    }

    /// The six-digit PIN venue staff enter to admit a ticket of `event_id`: derived
    /// from the signing key and the event's PIN `epoch` (nothing secret to store, the
    /// same on every gateway sharing the key; a new key gives new PINs, and so does
    /// each rotation, which raises the epoch). Organizers read it from the admin API
    /// (`GET /admin/events/{id}/sales`), operators with `dialticket events staff-pin`.
    pub fn staff_pin(&self, event_id: &str, epoch: i64) -> String {
        let label = match epoch {
            0 => format!("staff-pin:{event_id}"),
            n => format!("staff-pin:{event_id}:{n}"),
        };
        let d = self.derive_secret(&label);
        let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        format!("{:06}", n % 1_000_000)
    }

    /// Whether `pin` is `event_id`'s staff PIN (compared in constant time).
    pub fn is_staff_pin(&self, event_id: &str, epoch: i64, pin: &str) -> bool {
        let want = self.staff_pin(event_id, epoch);
        let pin = pin.trim();
        pin.len() == want.len() && pin.bytes().zip(want.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Mint a token for `purpose`, valid from `now` for the purpose's lifetime.
    pub fn sign(&self, purpose: Purpose, sub: &PhoneNumber, pid: Option<&str>, now: i64) -> Result<String, LinkError> {
        Ok(self.token(purpose, sub, pid, None, None, now)?.0)
    }

    /// The URL of a [`Purpose::MailAddress`] link: confirming it sends `sub`'s mail
    /// to `addr` (see [`crate::mail::registration::Wanted::to_claim`]) while the
    /// user's mail epoch is still `epoch`.
    pub fn mail_address_url(&self, sub: &PhoneNumber, addr: &str, epoch: i64, now: i64) -> Result<String, LinkError> {
        let (token, _) = self.token(Purpose::MailAddress, sub, None, Some((addr, epoch)), None, now)?;
        Ok(format!("{}{}{token}", self.public_url, Purpose::MailAddress.path()))
    }

    /// A token and its id (`jti`).
    fn token(
        &self,
        purpose: Purpose,
        sub: &PhoneNumber,
        pid: Option<&str>,
        mail: Option<(&str, i64)>,
        lng: Option<&str>,
        now: i64,
    ) -> Result<(String, String), LinkError> {
        let claims = Claims {
            purpose,
            sub: sub.clone(),
            pid: pid.map(str::to_string),
            addr: mail.map(|(a, _)| a.to_string()),
            epoch: mail.map(|(_, e)| e),
            lng: lng.map(str::to_string),
            iat: now,
            exp: now + purpose.ttl_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        // A compact JWS (RFC 7515 §7.1) signed with the parsed key. jsonwebtoken's
        // `encode` would re-parse the PEM key on every call, which profiling showed
        // as a sixth of a purchase call's CPU; its `decode` still verifies these.
        use base64::Engine;
        use ed25519_dalek::Signer;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = serde_json::to_vec(&claims).map_err(|e| LinkError::Key(e.to_string()))?;
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 90);
        token.push_str(&self.header_b64);
        token.push('.');
        b64.encode_string(payload, &mut token);
        let signature = self.signing.sign(token.as_bytes());
        token.push('.');
        b64.encode_string(signature.to_bytes(), &mut token);
        Ok((token, claims.jti))
    }

    /// The absolute URL of the page for a freshly minted token.
    pub fn url(&self, purpose: Purpose, sub: &PhoneNumber, pid: Option<&str>, now: i64) -> Result<String, LinkError> {
        Ok(self.mint(purpose, sub, pid, now)?.url)
    }

    /// A freshly minted link: its URL and its token's id, to record as the
    /// purchase's current link where re-issuing revokes the older ones
    /// ([`Purpose::revocable`]).
    pub fn mint(&self, purpose: Purpose, sub: &PhoneNumber, pid: Option<&str>, now: i64) -> Result<Minted, LinkError> {
        self.mint_in(purpose, sub, pid, None, now)
    }

    /// [`Links::mint`] for a mail in `lang`: the page opens in that language.
    pub fn mint_in(
        &self,
        purpose: Purpose,
        sub: &PhoneNumber,
        pid: Option<&str>,
        lang: Option<&str>,
        now: i64,
    ) -> Result<Minted, LinkError> {
        let (token, jti) = self.token(purpose, sub, pid, None, lang, now)?;
        Ok(Minted { url: format!("{}{}{token}", self.public_url, purpose.path()), jti })
    }

    /// [`Links::url`] for a mail in `lang`.
    pub fn url_in(
        &self,
        purpose: Purpose,
        sub: &PhoneNumber,
        pid: Option<&str>,
        lang: &str,
        now: i64,
    ) -> Result<String, LinkError> {
        Ok(self.mint_in(purpose, sub, pid, Some(lang), now)?.url)
    }

    /// Check signature, key id, expiry (against `now`) and purpose.
    pub fn verify(&self, token: &str, purpose: Purpose, now: i64) -> Result<Claims, LinkError> {
        let c = match self.verified.get(token) {
            Some(c) => c,
            None => {
                let c = self.verify_signature(token)?;
                self.verified.insert(token.to_string(), c.clone());
                c
            }
        };
        if now >= c.exp {
            return Err(LinkError::Expired);
        }
        if c.purpose != purpose {
            return Err(LinkError::WrongPurpose);
        }
        if !c.purpose.fits(&c) {
            return Err(LinkError::Invalid);
        }
        Ok(c)
    }

    /// The claims of `token` if one of our keys signed it (nothing else checked).
    fn verify_signature(&self, token: &str) -> Result<Claims, LinkError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| LinkError::Invalid)?;
        let key = match header.kid.as_deref() {
            _ if header.alg != Algorithm::EdDSA => return Err(LinkError::Invalid),
            Some(kid) if kid == self.kid => &self.decoding,
            Some(kid) => self.retired.get(kid).ok_or(LinkError::Invalid)?,
            None => return Err(LinkError::Invalid),
        };
        let mut v = Validation::new(Algorithm::EdDSA);
        // Expiry is checked below against our clock, so tests can pass `now`.
        v.validate_exp = false;
        v.required_spec_claims.clear();
        Ok(jsonwebtoken::decode::<Claims>(token, key, &v).map_err(|_| LinkError::Invalid)?.claims)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::from_key(&SigningKey::from_bytes(&[7u8; 32]), "http://127.0.0.1:8080/").unwrap()
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+819012345678").unwrap()
    }

    #[test]
    fn round_trip_and_purpose_binding() {
        let l = links();
        let t = l.sign(Purpose::Ticket, &phone(), Some("p1"), 1000).unwrap();
        let c = l.verify(&t, Purpose::Ticket, 1001).unwrap();
        assert_eq!(c.pid.as_deref(), Some("p1"));
        assert_eq!(c.sub, phone());
        assert!(matches!(l.verify(&t, Purpose::Admission, 1001), Err(LinkError::WrongPurpose)));
        assert!(matches!(l.verify(&t, Purpose::Ticket, 1000 + Purpose::Ticket.ttl_secs()), Err(LinkError::Expired)));
        assert!(l.url(Purpose::Purchase, &phone(), None, 0).unwrap().starts_with("http://127.0.0.1:8080/p/ey"));
    }

    /// A token grants only what its purpose names: one minted for another purchase
    /// page under the purchase purpose (what the web shop's card challenge used to
    /// hand out) does not open the phone's purchase pages.
    #[test]
    fn a_token_whose_claims_do_not_fit_its_purpose_is_refused() {
        let l = links();
        let naming_a_purchase = l.sign(Purpose::Purchase, &phone(), Some("p1"), 1000).unwrap();
        assert!(matches!(l.verify(&naming_a_purchase, Purpose::Purchase, 1001), Err(LinkError::Invalid)));
        let no_purchase = l.sign(Purpose::CardChallenge, &phone(), None, 1000).unwrap();
        assert!(matches!(l.verify(&no_purchase, Purpose::CardChallenge, 1001), Err(LinkError::Invalid)));
        let challenge = l.sign(Purpose::CardChallenge, &phone(), Some("p1"), 1000).unwrap();
        assert_eq!(l.verify(&challenge, Purpose::CardChallenge, 1001).unwrap().pid.as_deref(), Some("p1"));
        assert!(matches!(l.verify(&challenge, Purpose::Purchase, 1001), Err(LinkError::WrongPurpose)));
        assert!(matches!(
            l.verify(&challenge, Purpose::CardChallenge, 1000 + Purpose::CardChallenge.ttl_secs()),
            Err(LinkError::Expired)
        ));
    }

    #[test]
    fn a_mail_address_link_carries_the_address_it_confirms() {
        let l = links();
        let url = l.mail_address_url(&phone(), "hanako@example.jp", 3, 1000).unwrap();
        let token = url.strip_prefix("http://127.0.0.1:8080/m/").expect("a /m/ page URL");
        let c = l.verify(token, Purpose::MailAddress, 1001).unwrap();
        assert_eq!((c.addr.as_deref(), c.epoch, c.pid, c.iat), (Some("hanako@example.jp"), Some(3), None, 1000));
        assert!(matches!(l.verify(token, Purpose::Purchase, 1001), Err(LinkError::WrongPurpose)));
        assert!(matches!(l.verify(token, Purpose::MailAddress, 1000 + 24 * 3600), Err(LinkError::Expired)));
        // Other links carry no address.
        let t = l.sign(Purpose::Purchase, &phone(), None, 1000).unwrap();
        let c = l.verify(&t, Purpose::Purchase, 1001).unwrap();
        assert_eq!((c.addr, c.epoch), (None, None));
    }

    #[test]
    fn a_minted_link_names_its_token_id_and_each_is_new() {
        let l = links();
        let a = l.mint(Purpose::Ticket, &phone(), Some("p1"), 1000).unwrap();
        let b = l.mint(Purpose::Ticket, &phone(), Some("p1"), 1000).unwrap();
        let token = a.url.strip_prefix("http://127.0.0.1:8080/t/").expect("a ticket page URL");
        assert_eq!(l.verify(token, Purpose::Ticket, 1001).unwrap().jti, a.jti);
        // Minted in the same second for the same purchase, they still differ: a re-issue
        // can tell them apart.
        assert_ne!(a.jti, b.jti);
        let revocable: Vec<Purpose> = [
            Purpose::Purchase,
            Purpose::IssueGuide,
            Purpose::Ticket,
            Purpose::Admission,
            Purpose::MailAddress,
            Purpose::TicketCode,
            Purpose::CardChallenge,
        ]
        .into_iter()
        .filter(|p| p.revocable())
        .collect();
        assert_eq!(revocable, [Purpose::Ticket, Purpose::Admission]);
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let l = links();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = l.sign(Purpose::Purchase, &phone(), None, 1000).unwrap();
        assert!(l.verify(&t, Purpose::Purchase, 1001).is_ok());
        let parts: Vec<&str> = t.split('.').collect();
        // One byte in the middle of the signature flipped: well-formed, and refused
        // only because the signature no longer matches (flipping the last base64
        // character would, one time in four, touch only its unused bits).
        let mut signature = b64.decode(parts[2]).unwrap();
        signature[32] ^= 0x01;
        let tampered = format!("{}.{}.{}", parts[0], parts[1], b64.encode(&signature));
        assert!(matches!(l.verify(&tampered, Purpose::Purchase, 1001), Err(LinkError::Invalid)));
        // A claim changed after signing (another phone, valid JSON), the signature kept.
        let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = "+819099999999".into();
        let payload = b64.encode(serde_json::to_vec(&claims).unwrap());
        let swapped = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert!(matches!(l.verify(&swapped, Purpose::Purchase, 1001), Err(LinkError::Invalid)));
        assert!(matches!(l.verify("garbage", Purpose::Purchase, 1001), Err(LinkError::Invalid)));
        let other = Links::from_key(&SigningKey::from_bytes(&[8u8; 32]), "http://x").unwrap();
        assert!(matches!(other.verify(&t, Purpose::Purchase, 1001), Err(LinkError::Invalid)));
    }

    #[test]
    fn key_file_is_generated_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var/key.pem");
        let a = Links::load_or_generate(&path, "http://x").unwrap();
        let b = Links::load_or_generate(&path, "http://x").unwrap();
        assert_eq!(a.kid(), b.kid());
        let t = a.sign(Purpose::Admission, &phone(), Some("p"), 5).unwrap();
        assert!(b.verify(&t, Purpose::Admission, 6).is_ok());
    }

    #[test]
    fn a_rotated_key_signs_anew_and_the_retired_one_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("signing-key.pem");
        let before = Links::load_or_generate(&path, "http://x").unwrap();
        let old = before.sign(Purpose::Ticket, &phone(), Some("p"), 5).unwrap();

        let (old_kid, new_kid) = rotate(&path).unwrap();
        assert_eq!(old_kid, before.kid());
        // Staff PINs and the derived payment secret stay what they were.
        let pins = |l: &Links| (l.staff_pin("gala", 0), l.staff_pin("gala", 3), l.derive_secret("payment-callbacks"));
        assert_eq!(pins(&Links::load_or_generate(&path, "http://x").unwrap()), pins(&before));
        assert_ne!(new_kid, old_kid);
        let after = Links::load_or_generate(&path, "http://x").unwrap();
        assert_eq!(after.kid(), new_kid);
        assert_eq!(after.verifying_kids(), [new_kid.as_str(), old_kid.as_str()]);
        // A ticket mailed before the rotation still opens; new links carry the new key id.
        assert_eq!(after.verify(&old, Purpose::Ticket, 6).unwrap().pid.as_deref(), Some("p"));
        let new = after.sign(Purpose::Ticket, &phone(), Some("p"), 5).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(), Some(new_kid.as_str()));
        // The gateway not yet restarted does not know the new key.
        assert!(matches!(before.verify(&new, Purpose::Ticket, 6), Err(LinkError::Invalid)));

        // Rotating again retires the second key as well; both old links open.
        let (second, _) = rotate(&path).unwrap();
        assert_eq!(second, new_kid);
        let third = Links::load_or_generate(&path, "http://x").unwrap();
        assert_eq!(pins(&third), pins(&before), "still the first key's after a second rotation");
        assert!(third.verify(&old, Purpose::Ticket, 6).is_ok() && third.verify(&new, Purpose::Ticket, 6).is_ok());
        let listed: Vec<String> = retired_keys(&path).unwrap().into_iter().map(|(k, _)| k.kid).collect();
        assert_eq!(listed.len(), 2);
        assert!(listed.contains(&old_kid) && listed.contains(&new_kid), "{listed:?}");

        // Retired longer ago than any link lives: listed, no longer loaded.
        let first = retired_dir(&path).join(format!("{old_kid}.pem"));
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(400 * 86_400);
        std::fs::File::options().write(true).open(&first).unwrap().set_modified(long_ago).unwrap();
        let listed = retired_keys(&path).unwrap();
        assert_eq!(
            (listed[0].0.kid.as_str(), listed[0].0.age_days, listed[0].0.verifying),
            (old_kid.as_str(), 400, false)
        );
        let fourth = Links::load_or_generate(&path, "http://x").unwrap();
        assert!(matches!(fourth.verify(&old, Purpose::Ticket, 6), Err(LinkError::Invalid)));
        assert!(fourth.verify(&new, Purpose::Ticket, 6).is_ok());
        // Deleted as `keys list` allows: the secrets still come from the seed.
        std::fs::remove_file(&first).unwrap();
        assert_eq!(pins(&Links::load_or_generate(&path, "http://x").unwrap()), pins(&before));

        // A file in retired-keys/ that is not a key stops the start, named.
        std::fs::write(retired_dir(&path).join("junk.pem"), "not a key").unwrap();
        let e = Links::load_or_generate(&path, "http://x").err().expect("refused").to_string();
        assert!(e.contains("junk.pem"), "{e}");
    }

    #[test]
    fn a_key_is_not_rotated_when_there_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let e = rotate(&dir.path().join("missing.pem")).unwrap_err().to_string();
        assert!(e.contains("missing.pem"), "{e}");
        assert!(!retired_dir(&dir.path().join("missing.pem")).exists());
    }

    #[test]
    fn staff_pins_are_six_digits_per_event_and_key() {
        let l = links();
        let pin = l.staff_pin("arena", 0);
        assert_eq!(pin.len(), 6);
        assert!(pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
        assert_eq!(pin, links().staff_pin("arena", 0), "the same key gives the same PIN");
        assert!(l.is_staff_pin("arena", 0, &pin));
        assert!(l.is_staff_pin("arena", 0, &format!(" {pin} ")));
        let other_event = l.staff_pin("rehearsal", 0);
        assert_ne!(pin, other_event);
        assert!(!l.is_staff_pin("arena", 0, &other_event));
        assert!(!l.is_staff_pin("arena", 0, ""));
        assert!(!l.is_staff_pin("arena", 0, &pin[..5]));
        let other_key = Links::from_key(&SigningKey::from_bytes(&[8u8; 32]), "http://x").unwrap();
        assert_ne!(other_key.staff_pin("arena", 0), pin);
        // A rotation (a higher epoch) gives another PIN, and the old one stops admitting.
        let rotated = l.staff_pin("arena", 1);
        assert_ne!(rotated, pin);
        assert!(l.is_staff_pin("arena", 1, &rotated) && !l.is_staff_pin("arena", 1, &pin));
        assert_ne!(l.staff_pin("arena", 2), rotated);
    }
}
