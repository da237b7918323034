//! STIR/SHAKEN verification (RFC 8224 Identity header, RFC 8225 PASSporT,
//! RFC 8588 SHAKEN extension): who signed this caller ID, and how sure were
//! they (attestation A, B or C)?
//!
//! The signer's certificate is named by the PASSporT's `x5u` URL. We never
//! fetch it live: the [`TrustStore`] holds a local certificate cache (URL →
//! file) and the trust anchors (CA certificates) the operator accepts.
//!
//! Failures map to the RFC 8224 §6.2.2 responses: 428 no Identity, 436 the
//! certificate cannot be had, 437 the certificate is not trusted, 438 the
//! header is invalid (bad signature, wrong numbers), 403 "Stale Date" for an
//! old `iat`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::ecdsa::signature::Verifier;
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::phone::PhoneNumber;
use crate::reload::{hangup_signal, next_trigger, timestamp, watch_files, Attempt, Outcome};

/// SHAKEN attestation levels (RFC 8588 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Attestation {
    /// Full: the signer knows the customer and that they may use the number.
    A,
    /// Partial: the signer knows the customer, not the number.
    B,
    /// Gateway: the signer only knows where the call entered its network.
    C,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StirError {
    #[error("no Identity header")]
    Missing,
    #[error("the signer's certificate is not available: {0}")]
    CertificateUnavailable(String),
    #[error("the signer's certificate is not trusted: {0}")]
    Untrusted(String),
    #[error("invalid Identity header: {0}")]
    Invalid(String),
    #[error("stale PASSporT: issued {age} s ago")]
    Stale { age: i64 },
}

impl StirError {
    /// The SIP response for a call refused for this reason (RFC 8224 §6.2.2).
    pub fn sip_status(&self) -> (u16, &'static str) {
        match self {
            StirError::Missing => (428, "Use Identity Header"),
            StirError::CertificateUnavailable(_) => (436, "Bad Identity Info"),
            StirError::Untrusted(_) => (437, "Unsupported Credential"),
            StirError::Invalid(_) => (438, "Invalid Identity Header"),
            StirError::Stale { .. } => (403, "Stale Date"),
        }
    }

    /// RFC 9410 §4: the `Reason` header value that tells the signer upstream why
    /// its Identity header failed, when the number lets the call go on anyway:
    /// the response it would have been refused with, e.g.
    /// `STIR ;cause=438 ;text="Invalid Identity Header"`.
    pub fn reason_header(&self) -> String {
        let (code, text) = self.sip_status();
        format!("STIR ;cause={code} ;text=\"{text}\"")
    }
}

/// A verified caller identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub attestation: Attestation,
    pub orig: PhoneNumber,
    pub origid: Option<String>,
}

/// Trust anchors and the local certificate cache.
#[derive(Debug, Default, Clone)]
pub struct TrustStore {
    anchors: Vec<Vec<u8>>,
    /// x5u URL → certificate DER.
    certs: HashMap<String, Vec<u8>>,
}

/// The trust store in use. It is read again, whole, when a file under its
/// directory changes or on SIGHUP ([`LiveTrust::run`]): a new anchor or cached
/// certificate takes effect without a restart. A directory that fails to load
/// leaves the store before it in use, and the refusal is recorded in its
/// [`TrustStatus`] (`/healthz` shows it under `stir`, `/metrics` counts it).
#[derive(Debug, Default)]
pub struct LiveTrust {
    dir: Option<PathBuf>,
    current: RwLock<Arc<TrustStore>>,
    status: Mutex<TrustStatus>,
}

/// What `/healthz` (`stir`) and `/metrics` show about the trust store in use and
/// its reloads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrustStatus {
    /// `stir_trust_dir` (`None`: not configured, no PASSporT verifies).
    pub dir: Option<PathBuf>,
    /// The trust anchors and cached certificates of the store in use.
    pub anchors: usize,
    pub certs: usize,
    /// When the store in use was loaded (RFC 3339, UTC).
    pub loaded_at: String,
    /// Reloads swapped in since start-up.
    pub reloads: u64,
    /// Reloads refused because the directory failed to load.
    pub reload_failures: u64,
    pub last_attempt: Option<Attempt>,
    /// Why the last reload was refused; cleared by the next one that succeeds.
    pub last_error: Option<String>,
}

impl LiveTrust {
    /// `store` as loaded from `dir` (`None`: nothing to reload, nothing trusted).
    pub fn new(dir: Option<PathBuf>, store: TrustStore) -> LiveTrust {
        let status = TrustStatus {
            dir: dir.clone(),
            anchors: store.anchors.len(),
            certs: store.certs.len(),
            loaded_at: timestamp(),
            ..TrustStatus::default()
        };
        LiveTrust { dir, current: RwLock::new(Arc::new(store)), status: Mutex::new(status) }
    }

    pub fn current(&self) -> Arc<TrustStore> {
        crate::sync::read(&self.current).clone()
    }

    /// The store in use and how its reloads went.
    pub fn status(&self) -> TrustStatus {
        crate::sync::lock(&self.status).clone()
    }

    /// Read the directory again; on failure the current store stays.
    pub fn reload(&self, trigger: &str) -> Result<(), String> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let loaded = TrustStore::load(dir);
        let mut status = crate::sync::lock(&self.status);
        let (outcome, result) = match loaded {
            Ok(store) => {
                let (anchors, certs) = (store.anchors.len(), store.certs.len());
                *crate::sync::write(&self.current) = Arc::new(store);
                tracing::info!(trigger, anchors, certs, dir = %dir.display(), "STIR/SHAKEN trust store reloaded");
                status.anchors = anchors;
                status.certs = certs;
                status.loaded_at = timestamp();
                status.reloads += 1;
                status.last_error = None;
                (Outcome::Reloaded, Ok(()))
            }
            Err(error) => {
                tracing::warn!(trigger, %error, "STIR/SHAKEN trust store not reloaded; the one before stays in use");
                status.reload_failures += 1;
                status.last_error = Some(error.clone());
                (Outcome::Refused, Err(error))
            }
        };
        status.last_attempt = Some(Attempt::now(trigger, outcome));
        result
    }

    /// Reload on changes under the directory and on SIGHUP, until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(dir) = self.dir.clone() else { return };
        let (wake_tx, mut wake) = tokio::sync::mpsc::channel::<()>(1);
        let mode = notify::RecursiveMode::Recursive;
        // Kept alive for as long as we run: dropping the watcher stops the events.
        let _watcher = watch_files(&dir, mode, |_| true, wake_tx, "the STIR/SHAKEN trust store");
        let mut hangup = hangup_signal();
        while let Some(trigger) = next_trigger(&mut stop, &mut wake, &mut hangup).await {
            let _ = self.reload(trigger);
        }
    }
}

impl TrustStore {
    /// `dir/anchors/*.pem` are the trusted CAs; `dir/certs.toml` maps each x5u
    /// URL to a PEM file in `dir/certs/` (`"https://cr.example/sp.pem" = "sp.pem"`).
    pub fn load(dir: &Path) -> Result<TrustStore, String> {
        let mut store = TrustStore::default();
        let anchors = dir.join("anchors");
        let entries = std::fs::read_dir(&anchors).map_err(|e| format!("{}: {e}", anchors.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "pem") {
                let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                store.add_anchor_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        let index = dir.join("certs.toml");
        if index.exists() {
            let text = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
            let map: HashMap<String, String> =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", index.display()))?;
            for (url, file) in map {
                let path = dir.join("certs").join(&file);
                let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                store.add_cert_pem(&url, &pem).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(store)
    }

    pub fn add_anchor_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        self.anchors.push(pem_to_der(pem)?);
        Ok(())
    }

    pub fn add_cert_pem(&mut self, x5u: &str, pem: &[u8]) -> Result<(), String> {
        self.certs.insert(x5u.to_string(), pem_to_der(pem)?);
        Ok(())
    }
}

fn pem_to_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not a PEM certificate: {e}"))?;
    Ok(parsed.contents)
}

/// The parts of an Identity header (RFC 8224 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeader {
    pub token: String,
    pub info: Option<String>,
    pub alg: Option<String>,
    pub ppt: Option<String>,
}

pub fn parse_identity_header(value: &str) -> Result<IdentityHeader, StirError> {
    let mut parts = value.trim().split(';');
    let token = parts.next().unwrap_or_default().trim().to_string();
    if token.split('.').count() != 3 {
        return Err(StirError::Invalid("the token is not a compact JWS".into()));
    }
    let mut header = IdentityHeader { token, info: None, alg: None, ppt: None };
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let v = v.trim().trim_matches(|c| c == '<' || c == '>' || c == '"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "info" => header.info = Some(v),
            "alg" => header.alg = Some(v),
            "ppt" => header.ppt = Some(v),
            _ => {}
        }
    }
    if header.alg.as_deref().is_some_and(|a| a != "ES256") {
        return Err(StirError::Invalid(format!("alg {:?} is not ES256", header.alg)));
    }
    Ok(header)
}

#[derive(Deserialize)]
struct Tn {
    tn: Option<String>,
}

#[derive(Deserialize)]
struct DestTn {
    #[serde(default)]
    tn: Vec<String>,
}

#[derive(Deserialize)]
struct Passport {
    attest: Option<String>,
    dest: DestTn,
    iat: i64,
    orig: Tn,
    origid: Option<String>,
}

/// Verify an Identity header against the call's normalized From and To.
pub fn verify(
    header: &IdentityHeader,
    from: &PhoneNumber,
    to: &PhoneNumber,
    now: i64,
    max_age: i64,
    trust: &TrustStore,
) -> Result<Verified, StirError> {
    let jwt_header = jsonwebtoken::decode_header(&header.token).map_err(|e| StirError::Invalid(e.to_string()))?;
    if jwt_header.alg != Algorithm::ES256 {
        return Err(StirError::Invalid("PASSporT is not ES256".into()));
    }
    let x5u = jwt_header.x5u.ok_or_else(|| StirError::Invalid("PASSporT has no x5u".into()))?;
    if header.info.as_deref().is_some_and(|i| i != x5u) {
        return Err(StirError::Invalid("info and x5u name different certificates".into()));
    }
    let der = trust.certs.get(&x5u).ok_or_else(|| StirError::CertificateUnavailable(x5u.clone()))?;
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| StirError::CertificateUnavailable(e.to_string()))?;
    if !cert
        .validity()
        .is_valid_at(x509_parser::time::ASN1Time::from_timestamp(now).map_err(|e| StirError::Untrusted(e.to_string()))?)
    {
        return Err(StirError::Untrusted("certificate expired or not yet valid".into()));
    }
    if !issued_by_anchor(&cert, &trust.anchors) {
        return Err(StirError::Untrusted(format!("{} is not signed by a trust anchor", cert.subject())));
    }
    let point = cert.public_key().subject_public_key.data.to_vec();
    let key = DecodingKey::from_ec_der(&point);
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Passport>(&header.token, &key, &v)
        .map_err(|e| StirError::Invalid(format!("signature: {e}")))?;
    let p = data.claims;
    let age = now - p.iat;
    if age > max_age || age < -max_age {
        return Err(StirError::Stale { age });
    }
    let orig = p.orig.tn.as_deref().and_then(|t| PhoneNumber::normalize(t, None).ok());
    if orig.as_ref() != Some(from) {
        return Err(StirError::Invalid(format!("orig {:?} is not the caller {from}", p.orig.tn)));
    }
    if !p.dest.tn.iter().filter_map(|t| PhoneNumber::normalize(t, None).ok()).any(|d| &d == to) {
        return Err(StirError::Invalid(format!("dest {:?} is not the called number {to}", p.dest.tn)));
    }
    let attestation = match p.attest.as_deref() {
        Some("A") => Attestation::A,
        Some("B") => Attestation::B,
        Some("C") => Attestation::C,
        other => return Err(StirError::Invalid(format!("attest {other:?}"))),
    };
    Ok(Verified { attestation, orig: from.clone(), origid: p.origid })
}

/// Is `cert` signed (ECDSA P-256, SHA-256) by one of the anchors?
fn issued_by_anchor(cert: &X509Certificate<'_>, anchors: &[Vec<u8>]) -> bool {
    let Ok(sig) = p256::ecdsa::Signature::from_der(&cert.signature_value.data) else { return false };
    let tbs = cert.tbs_certificate.as_ref();
    anchors.iter().any(|der| {
        let Ok((_, ca)) = X509Certificate::from_der(der) else { return false };
        if ca.subject() != cert.issuer() {
            return false;
        }
        let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&ca.public_key().subject_public_key.data) else {
            return false;
        };
        key.verify(tbs, &sig).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused reload is recorded (for `/healthz` and `/metrics`) and leaves the
    /// store before it in use; the next good one clears it.
    #[test]
    fn a_refused_reload_is_recorded_and_the_store_before_stays() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("anchors")).unwrap();
        let live = LiveTrust::new(Some(dir.path().to_path_buf()), TrustStore::load(dir.path()).unwrap());
        let before = live.current();
        let fresh = live.status();
        assert_eq!((fresh.reloads, fresh.reload_failures, fresh.last_attempt, fresh.last_error), (0, 0, None, None));

        std::fs::write(dir.path().join("certs.toml"), "this is [not toml").unwrap();
        assert!(live.reload("SIGHUP").is_err());
        let refused = live.status();
        assert_eq!((refused.reloads, refused.reload_failures), (0, 1));
        assert_eq!(refused.last_attempt.map(|a| (a.trigger, a.outcome)), Some(("SIGHUP".into(), Outcome::Refused)));
        assert!(refused.last_error.is_some_and(|e| e.contains("certs.toml")));
        assert!(Arc::ptr_eq(&before, &live.current()), "the store before stays in use");

        std::fs::remove_file(dir.path().join("certs.toml")).unwrap();
        live.reload("file change").unwrap();
        let mended = live.status();
        assert_eq!((mended.reloads, mended.reload_failures, mended.last_error), (1, 1, None));
        assert_eq!(mended.last_attempt.map(|a| a.outcome), Some(Outcome::Reloaded));
        assert!(!Arc::ptr_eq(&before, &live.current()));
    }

    #[test]
    fn reason_headers_name_the_rfc_8224_refusal() {
        let invalid = StirError::Invalid("bad signature".into());
        assert_eq!(invalid.reason_header(), r#"STIR ;cause=438 ;text="Invalid Identity Header""#);
        let untrusted = StirError::Untrusted("unknown CA".into());
        assert_eq!(untrusted.reason_header(), r#"STIR ;cause=437 ;text="Unsupported Credential""#);
        assert_eq!(StirError::Stale { age: 120 }.reason_header(), r#"STIR ;cause=403 ;text="Stale Date""#);
    }
}
