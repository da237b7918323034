//! STIR/SHAKEN on the calling side: sign a PASSporT (RFC 8225, SHAKEN
//! extension RFC 8588) and format it as an RFC 8224 `Identity` header value,
//! the way an originating carrier's signing service does.
//!
//! ```no_run
//! # fn main() -> Result<(), dialticket_sim::SimError> {
//! let key = std::fs::read("sp.key")?; // the service provider's EC P-256 key (PEM)
//! let passport = dialticket_sim::stir::Passport::new("+819012345678", "+442079460100", "A");
//! let identity = passport.sign(&key, "https://cert.example.net/sp.pem")?;
//! // CallOptions::extra_headers.push(("Identity".into(), identity));
//! # Ok(()) }
//! ```

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::SimError;

/// The claims of a SHAKEN PASSporT.
#[derive(Debug, Clone, Serialize)]
pub struct Passport {
    /// `A` (full), `B` (partial) or `C` (gateway).
    pub attest: String,
    pub dest: Dest,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    pub orig: Orig,
    /// The signer's opaque id for where the call entered its network.
    pub origid: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Orig {
    pub tn: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dest {
    pub tn: Vec<String>,
}

/// RFC 8224 §8.3 / RFC 8588: telephone numbers in PASSporTs are digits only.
fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

impl Passport {
    /// A PASSporT from `orig` to `dest` with attestation `attest`, issued now.
    pub fn new(orig: &str, dest: &str, attest: &str) -> Passport {
        let iat = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        Passport {
            attest: attest.to_string(),
            dest: Dest { tn: vec![digits(dest)] },
            iat,
            orig: Orig { tn: digits(orig) },
            origid: uuid_like(),
        }
    }

    /// Sign with `key_pem` (an EC P-256 private key, PKCS#8 or SEC1 PEM) and return the
    /// `Identity` header value: `<jws>;info=<x5u>;alg=ES256;ppt=shaken`.
    pub fn sign(&self, key_pem: &[u8], x5u: &str) -> Result<String, SimError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("passport".into());
        header.x5u = Some(x5u.to_string());
        // RFC 8588 §3: the SHAKEN extension is named in the JWS header.
        header.extras.insert("ppt", "shaken");
        let key = EncodingKey::from_ec_pem(key_pem).map_err(|e| SimError::Sip(format!("signing key: {e}")))?;
        let jws = jsonwebtoken::encode(&header, self, &key).map_err(|e| SimError::Sip(format!("signing: {e}")))?;
        Ok(format!("{jws};info=<{x5u}>;alg=ES256;ppt=shaken"))
    }
}

/// A random version-4 UUID string (origid is only an opaque identifier).
fn uuid_like() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_digits_and_the_header_carries_its_parameters() {
        let p = Passport::new("+81 90-1234-5678", "+442079460100", "B");
        assert_eq!(
            (p.orig.tn.as_str(), p.dest.tn[0].as_str(), p.attest.as_str()),
            ("819012345678", "442079460100", "B")
        );
        assert_eq!(p.origid.len(), 36);
        assert!(p.sign(b"not a key", "https://x/y.pem").is_err());
    }
}
