//! Payments behind one trait, [`Provider`], with a sandbox provider per method
//! (seed 000: card, convenience-store payment number, carrier billing, prepaid
//! code). No real money moves; the test inputs are documented here and in the
//! README.
//!
//! | method | input | result |
//! |---|---|---|
//! | card | `4242 4242 4242 4242` (or any other Luhn-valid number) | approved |
//! | card | `4000 0000 0000 0002` | declined (card declined) |
//! | card | `4000 0000 0000 9995` | declined (insufficient funds) |
//! | card | `4000 0027 6000 3184` | challenge: enter `123456` on the next page |
//! | card | a number failing the Luhn check | invalid input (not a decline) |
//! | konbini | — | pending: a payment number to pay at a store within 3 days; confirmed by a signed callback or the admin API |
//! | carrier | the phone to bill | waits for that line's consent: a call to the `confirm-billing` number from it within 15 minutes; then approved, billed with that line's phone bill (a line ending in `0000` is refused by the carrier) |
//! | prepaid | `DT-` + 8 digits whose sum is a multiple of 10 (e.g. `DT-12345672`) | approved; `DT-00000000` is already used (declined) |
//!
//! Asynchronous results (convenience-store payments) arrive as callbacks
//! signed with HMAC-SHA256 ([`Payments::verify_callback`]); each carries the
//! provider's event id so a repeat is answered with the first result.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::Timestamp;
use crate::phone::PhoneNumber;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the card number is not valid")]
    InvalidCardNumber,
    #[error("the prepaid code is not valid")]
    InvalidPrepaidCode,
    #[error("payment method '{0}' is not available")]
    MethodUnavailable(String),
    #[error("the confirmation code is wrong")]
    WrongChallengeCode,
    #[error("the callback signature is not valid")]
    BadSignature,
    #[error("the callback is not understood: {0}")]
    BadCallback(String),
}

/// What the buyer is paying for.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    pub purchase_id: &'a str,
    pub amount: i64,
    /// The phone that holds the ticket.
    pub phone: &'a PhoneNumber,
    /// The line that pays (carrier billing bills it, once it consents).
    pub payer: &'a PhoneNumber,
    /// Card number or prepaid code, as typed.
    pub input: &'a str,
    pub now: Timestamp,
}

/// A provider's answer to a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    Approved {
        reference: String,
    },
    Declined {
        reason: String,
    },
    /// Money comes later (convenience store): hold the seats until `expires_at`.
    Pending {
        reference: String,
        instructions: String,
        expires_at: Timestamp,
    },
    /// The card issuer wants the buyer to confirm (3-D Secure style) before `expires_at`.
    Challenge {
        reference: String,
        expires_at: Timestamp,
    },
    /// Carrier billing: the line to bill must consent, by a call from it to the
    /// `confirm-billing` number, before `expires_at` ([`Provider::consent`]).
    AwaitConsent {
        reference: String,
        expires_at: Timestamp,
    },
}

impl Charge {
    /// The settled result of a provider's final answer (to a challenge, to a
    /// line's consent); an answer that settles nothing is the provider's error.
    pub fn settled(self, what: &str) -> Result<crate::domain::PaymentResult, PaymentError> {
        use crate::domain::PaymentResult;
        match self {
            Charge::Approved { reference } => Ok(PaymentResult::Approved { reference }),
            Charge::Declined { reason } => Ok(PaymentResult::Declined { reason }),
            other => Err(PaymentError::BadCallback(format!("unexpected {what} answer {other:?}"))),
        }
    }
}

/// How long a carrier-billing order waits for its line's consent call.
pub const CONSENT_MINUTES: i64 = 15;

/// One payment method.
pub trait Provider: Send + Sync {
    fn method(&self) -> &'static str;
    fn name(&self) -> &'static str;
    /// Which input the buyer types: `card_number`, `prepaid_code` or nothing.
    fn input(&self) -> Option<&'static str>;
    fn charge(&self, req: &ChargeRequest<'_>) -> Result<Charge, PaymentError>;
    /// Answer to a challenge (cards only).
    fn confirm_challenge(&self, _reference: &str, _code: &str) -> Result<Charge, PaymentError> {
        Err(PaymentError::MethodUnavailable(self.method().into()))
    }
    /// The line `line` consented to the charge `reference` (carrier billing only).
    fn consent(&self, _reference: &str, _line: &PhoneNumber) -> Result<Charge, PaymentError> {
        Err(PaymentError::MethodUnavailable(self.method().into()))
    }
    /// Return the money of a settled charge; the refund's reference.
    fn refund(&self, reference: &str, amount: i64) -> Result<String, PaymentError> {
        Ok(format!("refund_{amount}_{}", reference.rsplit('_').next().unwrap_or("charge")))
    }
}

fn reference(prefix: &str, req: &ChargeRequest<'_>) -> String {
    format!("{prefix}_{}_{}", req.purchase_id, uuid::Uuid::new_v4().simple())
}

pub struct SandboxCard;

impl Provider for SandboxCard {
    fn method(&self) -> &'static str {
        "card"
    }
    fn name(&self) -> &'static str {
        "Credit card"
    }
    fn input(&self) -> Option<&'static str> {
        Some("card_number")
    }
    fn charge(&self, req: &ChargeRequest<'_>) -> Result<Charge, PaymentError> {
        let digits: String = req.input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) || !luhn_ok(&digits) {
            return Err(PaymentError::InvalidCardNumber);
        }
        Ok(match digits.as_str() {
            "4000000000000002" => Charge::Declined { reason: "card declined".into() },
            "4000000000009995" => Charge::Declined { reason: "insufficient funds".into() },
            "4000002760003184" => {
                Charge::Challenge { reference: reference("card3ds", req), expires_at: req.now + 15 * 60 }
            }
            _ => Charge::Approved { reference: reference("card", req) },
        })
    }
    fn confirm_challenge(&self, reference: &str, code: &str) -> Result<Charge, PaymentError> {
        if code.trim() == "123456" {
            Ok(Charge::Approved { reference: reference.to_string() })
        } else {
            Err(PaymentError::WrongChallengeCode)
        }
    }
}

pub struct SandboxKonbini;

/// How long a convenience-store payment number stays valid.
pub const KONBINI_DAYS: i64 = 3;

impl Provider for SandboxKonbini {
    fn method(&self) -> &'static str {
        "konbini"
    }
    fn name(&self) -> &'static str {
        "Convenience-store payment"
    }
    fn input(&self) -> Option<&'static str> {
        None
    }
    fn charge(&self, req: &ChargeRequest<'_>) -> Result<Charge, PaymentError> {
        let number = format!(
            "{:04}-{:04}-{:04}",
            rand::random_range(0..10000),
            rand::random_range(0..10000),
            rand::random_range(0..10000)
        );
        Ok(Charge::Pending {
            reference: format!("konbini_{}", number.replace('-', "")),
            instructions: format!("Pay at any convenience store with payment number {number}"),
            expires_at: req.now + KONBINI_DAYS * 86400,
        })
    }
}

pub struct SandboxCarrier;

impl Provider for SandboxCarrier {
    fn method(&self) -> &'static str {
        "carrier"
    }
    fn name(&self) -> &'static str {
        "Carrier billing (with your phone bill)"
    }
    fn input(&self) -> Option<&'static str> {
        None
    }
    /// Nothing is billed yet: the carrier bills the payer's line only once a call
    /// from that line consents. Whoever fills in a form may name any number; only
    /// its owner can call from it.
    fn charge(&self, req: &ChargeRequest<'_>) -> Result<Charge, PaymentError> {
        Ok(Charge::AwaitConsent { reference: reference("carrier", req), expires_at: req.now + CONSENT_MINUTES * 60 })
    }
    fn consent(&self, reference: &str, line: &PhoneNumber) -> Result<Charge, PaymentError> {
        if line.as_str().ends_with("0000") {
            return Ok(Charge::Declined { reason: "the carrier refused billing for this line".into() });
        }
        Ok(Charge::Approved { reference: reference.to_string() })
    }
}

pub struct SandboxPrepaid;

impl Provider for SandboxPrepaid {
    fn method(&self) -> &'static str {
        "prepaid"
    }
    fn name(&self) -> &'static str {
        "Prepaid code"
    }
    fn input(&self) -> Option<&'static str> {
        Some("prepaid_code")
    }
    fn charge(&self, req: &ChargeRequest<'_>) -> Result<Charge, PaymentError> {
        let code = req.input.trim().to_ascii_uppercase();
        let digits = code.strip_prefix("DT-").filter(|d| d.len() == 8 && d.chars().all(|c| c.is_ascii_digit()));
        let Some(digits) = digits else { return Err(PaymentError::InvalidPrepaidCode) };
        if digits == "00000000" {
            return Ok(Charge::Declined { reason: "this prepaid code has already been used".into() });
        }
        let sum: u32 = digits.chars().filter_map(|c| c.to_digit(10)).sum();
        if sum % 10 != 0 {
            return Err(PaymentError::InvalidPrepaidCode);
        }
        Ok(Charge::Approved { reference: reference("prepaid", req) })
    }
}

/// A provider's asynchronous notification (convenience-store payment made or expired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// The provider's id of this notification: the idempotency key.
    pub event_id: String,
    /// The charge reference given when the order was placed.
    pub reference: String,
    /// `paid` or `expired`.
    pub status: String,
}

/// Which payment providers a gateway runs (`payment_mode`). There is no default:
/// a gateway that takes real orders must not fall back to a sandbox by omission,
/// so an unset mode refuses to start ([`PaymentModeError::Unset`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMode {
    /// The sandbox providers of this module: no real money moves, and every page
    /// and mail says so (test mode).
    Sandbox,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentModeError {
    #[error(
        "payment_mode is not set: this gateway has only sandbox payment providers, so set payment_mode = \"sandbox\" \
         (DIALTICKET_PAYMENT_MODE=sandbox) to run it in test mode, where no real money moves"
    )]
    Unset,
    #[error(
        "payment_mode '{0}' cannot be served: this gateway has no provider for it; the only mode built in is \
         \"sandbox\" (test mode: no real money moves)"
    )]
    Unknown(String),
}

impl std::str::FromStr for PaymentMode {
    type Err = PaymentModeError;

    fn from_str(s: &str) -> Result<PaymentMode, PaymentModeError> {
        match s.trim() {
            "sandbox" => Ok(PaymentMode::Sandbox),
            "" => Err(PaymentModeError::Unset),
            other => Err(PaymentModeError::Unknown(other.to_string())),
        }
    }
}

/// The payment methods a gateway offers, and the callback signing secret.
pub struct Payments {
    providers: Vec<Box<dyn Provider>>,
    callback_secret: Vec<u8>,
    mode: PaymentMode,
}

impl Payments {
    /// The providers of `mode`; `callback_secret` signs provider callbacks.
    pub fn for_mode(mode: PaymentMode, callback_secret: &[u8]) -> Payments {
        match mode {
            PaymentMode::Sandbox => Payments {
                providers: vec![
                    Box::new(SandboxCard),
                    Box::new(SandboxKonbini),
                    Box::new(SandboxCarrier),
                    Box::new(SandboxPrepaid),
                ],
                callback_secret: callback_secret.to_vec(),
                mode,
            },
        }
    }

    /// Test mode: no real money moves (pages and mails say so).
    pub fn test_mode(&self) -> bool {
        self.mode == PaymentMode::Sandbox
    }

    pub fn get(&self, method: &str) -> Result<&dyn Provider, PaymentError> {
        self.providers
            .iter()
            .find(|p| p.method() == method)
            .map(|p| p.as_ref())
            .ok_or_else(|| PaymentError::MethodUnavailable(method.to_string()))
    }

    pub fn all(&self) -> impl Iterator<Item = &dyn Provider> {
        self.providers.iter().map(|p| p.as_ref())
    }

    /// The provider that issued `reference` (references start with the method's prefix).
    pub fn for_reference(&self, reference: &str) -> Option<&dyn Provider> {
        let prefix = reference.split('_').next().unwrap_or_default();
        let method = if prefix == "card3ds" { "card" } else { prefix };
        self.get(method).ok()
    }

    /// `sha256=<hex>` over the raw body: what the provider sends in `X-Dialticket-Signature`.
    pub fn sign_callback(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.callback_secret).expect("HMAC takes any key length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Check the signature (in constant time) and parse the callback.
    pub fn verify_callback(&self, body: &[u8], signature: &str) -> Result<Callback, PaymentError> {
        let hex_sig = signature.trim().strip_prefix("sha256=").ok_or(PaymentError::BadSignature)?;
        let sig = hex::decode(hex_sig).map_err(|_| PaymentError::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.callback_secret).expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(&sig).map_err(|_| PaymentError::BadSignature)?;
        let cb: Callback = serde_json::from_slice(body).map_err(|e| PaymentError::BadCallback(e.to_string()))?;
        if !matches!(cb.status.as_str(), "paid" | "expired") || cb.event_id.is_empty() {
            return Err(PaymentError::BadCallback(format!("status '{}'", cb.status)));
        }
        Ok(cb)
    }
}

/// What to tell a buyer about a pending charge, from its reference.
pub fn instructions(reference: &str) -> Option<String> {
    let digits = reference.strip_prefix("konbini_")?;
    let grouped: Vec<String> = digits.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    Some(format!("Pay at any convenience store with payment number {}", grouped.join("-")))
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(phone: &'a PhoneNumber, input: &'a str) -> ChargeRequest<'a> {
        ChargeRequest { purchase_id: "p1", amount: 100, phone, payer: phone, input, now: 1000 }
    }

    #[test]
    fn card_test_numbers() {
        let phone = PhoneNumber::parse("+819012345678").unwrap();
        let card = SandboxCard;
        assert!(matches!(card.charge(&req(&phone, "4242 4242 4242 4242")), Ok(Charge::Approved { .. })));
        assert!(matches!(card.charge(&req(&phone, "4000000000000002")), Ok(Charge::Declined { .. })));
        assert!(
            matches!(card.charge(&req(&phone, "4000-0000-0000-9995")), Ok(Charge::Declined { reason }) if reason == "insufficient funds")
        );
        let Ok(Charge::Challenge { reference, expires_at }) = card.charge(&req(&phone, "4000 0027 6000 3184")) else {
            panic!("challenge expected")
        };
        assert_eq!(expires_at, 1000 + 900);
        assert_eq!(card.confirm_challenge(&reference, "000000"), Err(PaymentError::WrongChallengeCode));
        assert!(matches!(card.confirm_challenge(&reference, "123456"), Ok(Charge::Approved { .. })));
        assert_eq!(card.charge(&req(&phone, "4242424242424241")), Err(PaymentError::InvalidCardNumber));
        assert_eq!(card.charge(&req(&phone, "abc")), Err(PaymentError::InvalidCardNumber));
    }

    #[test]
    fn other_methods() {
        let phone = PhoneNumber::parse("+819012345678").unwrap();
        let Ok(Charge::Pending { reference, instructions, expires_at }) = SandboxKonbini.charge(&req(&phone, ""))
        else {
            panic!("pending expected")
        };
        assert!(reference.starts_with("konbini_") && instructions.contains("payment number"));
        assert_eq!(expires_at, 1000 + 3 * 86400);
        // Carrier billing bills nothing until the line consents by a call from it.
        let Ok(Charge::AwaitConsent { reference, expires_at }) = SandboxCarrier.charge(&req(&phone, "")) else {
            panic!("waiting for the line's consent expected")
        };
        assert_eq!(expires_at, 1000 + CONSENT_MINUTES * 60);
        assert!(matches!(SandboxCarrier.consent(&reference, &phone), Ok(Charge::Approved { .. })));
        let refused = PhoneNumber::parse("+819012340000").unwrap();
        assert!(matches!(SandboxCarrier.consent(&reference, &refused), Ok(Charge::Declined { .. })));
        assert!(SandboxCard.consent(&reference, &phone).is_err(), "only carrier billing takes a line's consent");
        assert!(matches!(SandboxPrepaid.charge(&req(&phone, "dt-12345672")), Ok(Charge::Approved { .. })));
        assert!(matches!(SandboxPrepaid.charge(&req(&phone, "DT-00000000")), Ok(Charge::Declined { .. })));
        assert_eq!(SandboxPrepaid.charge(&req(&phone, "DT-12345678")), Err(PaymentError::InvalidPrepaidCode));
    }

    #[test]
    fn callbacks_are_signed() {
        let payments = Payments::for_mode(PaymentMode::Sandbox, b"secret");
        let body = br#"{"event_id":"evt_1","reference":"konbini_1","status":"paid"}"#;
        let sig = payments.sign_callback(body);
        assert_eq!(payments.verify_callback(body, &sig).unwrap().reference, "konbini_1");
        assert_eq!(payments.verify_callback(body, "sha256=00"), Err(PaymentError::BadSignature));
        let other = Payments::for_mode(PaymentMode::Sandbox, b"other");
        assert_eq!(other.verify_callback(body, &sig), Err(PaymentError::BadSignature));
        let bad = br#"{"event_id":"evt_1","reference":"konbini_1","status":"maybe"}"#;
        assert!(matches!(
            payments.verify_callback(bad, &payments.sign_callback(bad)),
            Err(PaymentError::BadCallback(_))
        ));
        assert_eq!(payments.for_reference("card3ds_x_y").unwrap().method(), "card");
        assert_eq!(payments.for_reference("konbini_123").unwrap().method(), "konbini");
    }
}
