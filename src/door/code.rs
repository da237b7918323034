//! A seat's ticket code: an Ed25519 signature over 13 bytes that name the
//! seat and its issue, and nothing about the holder (docs/checkin.md has the
//! layout byte by byte).
//!
//! ```text
//! payload  = version (1) | event tag (4) | position (u32 BE) | key tag (2) | epoch (u16 BE)
//! code     = base45(payload | Ed25519(key, CONTEXT | payload))      116 characters
//! reference = Crockford base32 of SHA-256(signature), first 50 bits   "K7QF2-M9XTA"
//! ```
//!
//! base45 (RFC 9285) uses only characters of the QR alphanumeric mode: the code
//! stays text (what scanners and keyboard-wedge readers pass on; raw bytes get
//! read as Latin-1 or UTF-8 and mangled) and still makes a version-5 QR code
//! (37×37 modules) at level M, no bigger than the 77 raw bytes would.
//! The signature covers the payload behind a context string, so these bytes
//! can never pass for another thing the same key signs (links are JWTs).
//! Decoding never panics: anything that is not exactly a code of this
//! version with a signature by one of the given keys is refused.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The payload layout this gateway writes (the first byte of every code).
pub const VERSION: u8 = 1;
/// Payload bytes: version, event tag, position, key tag, epoch.
pub const PAYLOAD_LEN: usize = 13;
/// Payload and signature.
pub const CODE_BYTES: usize = PAYLOAD_LEN + 64;
/// What the signature is over, before the payload.
const CONTEXT: &[u8] = b"dialticket seat code\0";
/// Crockford's base32 alphabet (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a reference (50 bits).
pub const REFERENCE_LEN: usize = 10;

/// The 4 bytes that stand for an event in a code: the start of SHA-256 of its id.
pub fn event_tag(event_id: &str) -> [u8; 4] {
    let d = Sha256::digest(event_id.as_bytes());
    [d[0], d[1], d[2], d[3]]
}

/// The 2 bytes that say which key signed a code: the start of its public key.
pub fn key_tag(key: &VerifyingKey) -> [u8; 2] {
    let b = key.to_bytes();
    [b[0], b[1]]
}

/// What a code says: which seat of which event, issued how many times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    pub event_tag: [u8; 4],
    /// The seat's position in its event (`seats.position`).
    pub position: u32,
    pub key_tag: [u8; 2],
    /// The seat's issue epoch when the code was made: a re-issue moves it on.
    pub epoch: u16,
}

impl Payload {
    pub fn to_bytes(self) -> [u8; PAYLOAD_LEN] {
        let mut b = [0u8; PAYLOAD_LEN];
        b[0] = VERSION;
        b[1..5].copy_from_slice(&self.event_tag);
        b[5..9].copy_from_slice(&self.position.to_be_bytes());
        b[9..11].copy_from_slice(&self.key_tag);
        b[11..13].copy_from_slice(&self.epoch.to_be_bytes());
        b
    }

    fn from_bytes(b: &[u8; PAYLOAD_LEN]) -> Option<Payload> {
        (b[0] == VERSION).then(|| Payload {
            event_tag: [b[1], b[2], b[3], b[4]],
            position: u32::from_be_bytes([b[5], b[6], b[7], b[8]]),
            key_tag: [b[9], b[10]],
            epoch: u16::from_be_bytes([b[11], b[12]]),
        })
    }
}

/// Signatures made by [`SeatCode::sign`], by the signing key's public half and
/// the payload signed: about 110 bytes each, at most 20,000 (2 MB).
static SIGNATURES: std::sync::LazyLock<quick_cache::sync::Cache<Signed, [u8; 64]>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(20_000));

/// What [`SIGNATURES`] are kept by: the public key, the payload.
type Signed = ([u8; 32], [u8; PAYLOAD_LEN]);

/// A seat's code, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatCode {
    pub payload: Payload,
    signature: [u8; 64],
}

/// Why a text is not a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a ticket code")]
    Malformed,
    #[error("a ticket code of a version this gateway does not know")]
    Version,
    #[error("the ticket code's signature does not verify")]
    Signature,
}

impl SeatCode {
    /// The code of seat `position` of `event_id` at issue `epoch`, signed with `key`.
    pub fn sign(key: &SigningKey, event_id: &str, position: u32, epoch: u16) -> SeatCode {
        let public = key.verifying_key();
        let payload = Payload { event_tag: event_tag(event_id), position, key_tag: key_tag(&public), epoch };
        let bytes = payload.to_bytes();
        // Ed25519 signatures are deterministic (RFC 8032): the same key over the
        // same bytes signs the same signature, so one made before is as good as
        // a new one — and a ticket or admission page signs each seat's code on
        // every view.
        let cache_key = (public.to_bytes(), bytes);
        let signature = match SIGNATURES.get(&cache_key) {
            Some(signature) => signature,
            None => {
                let signature = key.sign(&signed_bytes(&bytes)).to_bytes();
                SIGNATURES.insert(cache_key, signature);
                signature
            }
        };
        SeatCode { payload, signature }
    }

    /// The code as the QR code and the scanners carry it (base45, 116 characters).
    pub fn text(&self) -> String {
        let mut b = Vec::with_capacity(CODE_BYTES);
        b.extend_from_slice(&self.payload.to_bytes());
        b.extend_from_slice(&self.signature);
        base45::encode(b)
    }

    /// Read a code (only control characters around it are dropped: a scanner's
    /// Enter) and check its signature against `keys`: the one whose key tag the
    /// code names must have signed it.
    pub fn verify(text: &str, keys: &[VerifyingKey]) -> Result<SeatCode, CodeError> {
        let text = text.trim_matches(|c: char| c.is_control());
        // Anything longer than a code is not one; base45 decoding never sees it.
        if text.len() > CODE_BYTES / 2 * 3 + 2 {
            return Err(CodeError::Malformed);
        }
        let bytes = base45::decode(text).map_err(|_| CodeError::Malformed)?;
        if bytes.first().is_some_and(|v| *v != VERSION) {
            return Err(CodeError::Version);
        }
        let bytes: [u8; CODE_BYTES] = bytes.try_into().map_err(|_| CodeError::Malformed)?;
        let mut head = [0u8; PAYLOAD_LEN];
        head.copy_from_slice(&bytes[..PAYLOAD_LEN]);
        let payload = Payload::from_bytes(&head).ok_or(CodeError::Version)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&bytes[PAYLOAD_LEN..]);
        let sig = Signature::from_bytes(&signature);
        let message = signed_bytes(&head);
        let signed =
            keys.iter().filter(|k| key_tag(k) == payload.key_tag).any(|k| k.verify_strict(&message, &sig).is_ok());
        if !signed {
            return Err(CodeError::Signature);
        }
        Ok(SeatCode { payload, signature })
    }

    /// The short reference typed by staff or read out on the phone: derived from
    /// the signature, so nobody without the key can make one.
    pub fn reference(&self) -> Reference {
        let d = Sha256::digest(self.signature);
        let bits = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) >> (64 - 5 * REFERENCE_LEN);
        let text = (0..REFERENCE_LEN)
            .map(|i| CROCKFORD[((bits >> (5 * (REFERENCE_LEN - 1 - i))) & 31) as usize] as char)
            .collect();
        Reference(text)
    }
}

fn signed_bytes(payload: &[u8; PAYLOAD_LEN]) -> Vec<u8> {
    [CONTEXT, payload.as_slice()].concat()
}

/// A seat code's short reference: 10 Crockford base32 characters, stored as
/// such (`K7QF2M9XTA`) and shown with a dash (`K7QF2-M9XTA`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    /// A reference as typed: any case, with or without the dash or spaces; the
    /// letters Crockford reads as digits (O → 0, I and L → 1) are taken as those.
    pub fn parse(typed: &str) -> Option<Reference> {
        let mut out = String::with_capacity(REFERENCE_LEN);
        for c in typed.chars().filter(|c| !matches!(c, '-' | ' ') && !c.is_control()) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !u8::try_from(c).is_ok_and(|b| CROCKFORD.contains(&b)) || out.len() == REFERENCE_LEN {
                return None;
            }
            out.push(c);
        }
        (out.len() == REFERENCE_LEN).then_some(Reference(out))
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown: `K7QF2-M9XTA`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn a_code_round_trips_and_is_short_and_qr_alphanumeric() {
        let k = key(7);
        let code = SeatCode::sign(&k, "open-rehearsal", 12, 3);
        let text = code.text();
        assert_eq!(text.len(), 116, "{text}");
        assert!(text.chars().all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)), "{text}");
        let read = SeatCode::verify(&text, &[k.verifying_key()]).unwrap();
        assert_eq!(read, code);
        assert_eq!(
            read.payload,
            Payload {
                event_tag: event_tag("open-rehearsal"),
                position: 12,
                key_tag: key_tag(&k.verifying_key()),
                epoch: 3
            }
        );
        // A scanner's Enter after it is fine.
        assert_eq!(SeatCode::verify(&format!("{text}\r\n"), &[k.verifying_key()]).unwrap(), code);
        // Deterministic: the same seat and epoch give the same code and reference.
        assert_eq!(SeatCode::sign(&k, "open-rehearsal", 12, 3).text(), text);
        assert_ne!(SeatCode::sign(&k, "open-rehearsal", 12, 4).reference(), code.reference());
    }

    #[test]
    fn a_kept_signature_is_what_signing_again_makes_and_never_another_keys() {
        let (a, b) = (key(11), key(12));
        let first = SeatCode::sign(&a, "kept", 5, 2);
        let kept = SeatCode::sign(&a, "kept", 5, 2);
        assert_eq!(kept.signature, a.sign(&signed_bytes(&first.payload.to_bytes())).to_bytes());
        assert_eq!(kept, first);
        let other = SeatCode::sign(&b, "kept", 5, 2);
        assert_ne!(other.signature, first.signature);
        assert!(SeatCode::verify(&other.text(), &[b.verifying_key()]).is_ok());
        assert_eq!(SeatCode::verify(&other.text(), &[a.verifying_key()]), Err(CodeError::Signature));
    }

    #[test]
    fn a_retired_key_still_verifies_and_a_foreign_one_never() {
        let (old, new, foreign) = (key(1), key(2), key(3));
        let code = SeatCode::sign(&old, "gala", 1, 1).text();
        let keys = [new.verifying_key(), old.verifying_key()];
        assert!(SeatCode::verify(&code, &keys).is_ok());
        assert_eq!(SeatCode::verify(&code, &[new.verifying_key()]), Err(CodeError::Signature));
        let forged = SeatCode::sign(&foreign, "gala", 1, 1).text();
        assert_eq!(SeatCode::verify(&forged, &keys), Err(CodeError::Signature));
    }

    #[test]
    fn hostile_input_is_refused_without_panicking() {
        let k = key(7);
        let keys = [k.verifying_key()];
        let text = SeatCode::sign(&k, "gala", 5, 1).text();
        assert_eq!(SeatCode::verify(&text[..115], &keys), Err(CodeError::Malformed));
        assert_eq!(SeatCode::verify(&text[..114], &keys), Err(CodeError::Malformed));
        assert_eq!(SeatCode::verify(&text.to_lowercase(), &keys), Err(CodeError::Malformed));
        assert_eq!(SeatCode::verify("", &keys), Err(CodeError::Malformed));
        assert_eq!(SeatCode::verify(&format!("{text}{text}"), &keys), Err(CodeError::Malformed));
        // A payload changed after signing (another position), re-encoded.
        let mut bytes = base45::decode(&text).unwrap();
        bytes[8] ^= 1;
        assert_eq!(SeatCode::verify(&base45::encode(&bytes), &keys), Err(CodeError::Signature));
        // Another version byte.
        bytes[8] ^= 1;
        bytes[0] = 2;
        assert_eq!(SeatCode::verify(&base45::encode(&bytes), &keys), Err(CodeError::Version));
        // The signature's middle flipped.
        bytes[0] = VERSION;
        bytes[40] ^= 0x10;
        assert_eq!(SeatCode::verify(&base45::encode(&bytes), &keys), Err(CodeError::Signature));
        // Valid base45 of the wrong length; base45 with a triple out of range.
        assert_eq!(SeatCode::verify(&base45::encode([1u8; 20]), &keys), Err(CodeError::Malformed));
        assert_eq!(SeatCode::verify(":::", &keys), Err(CodeError::Malformed));
    }

    #[test]
    fn references_are_typed_in_any_case_with_or_without_the_dash() {
        let code = SeatCode::sign(&key(7), "gala", 5, 1);
        let r = code.reference();
        assert_eq!(r.as_str().len(), 10);
        assert!(r.as_str().bytes().all(|b| CROCKFORD.contains(&b)), "{r:?}");
        let shown = r.display();
        assert_eq!(shown.len(), 11);
        for typed in
            [shown.clone(), shown.to_lowercase(), r.as_str().to_string(), format!(" {} ", shown.replace('-', " "))]
        {
            assert_eq!(Reference::parse(&typed).as_ref(), Some(&r), "{typed}");
        }
        assert_eq!(Reference::parse("O1L1I-00000").unwrap().as_str(), "0111100000");
        for bad in ["", "K7QF2-M9XT", "K7QF2-M9XTAA", "K7QF2-M9XTU", "ＫＫＫＫＫ-ＫＫＫＫＫ", "K7QF2_M9XTA"] {
            assert_eq!(Reference::parse(bad), None, "{bad}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// No text makes reading a code panic, and none but a signed one passes.
            #[test]
            fn any_text_is_refused_or_a_signed_code(text in ".{0,200}") {
                let keys = [key(7).verifying_key()];
                prop_assert!(SeatCode::verify(&text, &keys).is_err());
                let _ = Reference::parse(&text);
            }

            #[test]
            fn any_alphanumeric_text_is_refused(text in "[0-9A-Z $%*+./:-]{100,130}") {
                prop_assert!(SeatCode::verify(&text, &[key(7).verifying_key()]).is_err());
            }
        }
    }
}
