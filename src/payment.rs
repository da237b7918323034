//! Sandbox payment providers (no real money moves).
//!
//! Card test numbers (any expiry, any CVC), documented in the README:
//!
//! | number | result |
//! |---|---|
//! | `4242 4242 4242 4242` | approved |
//! | `4000 0000 0000 0002` | declined (card declined) |
//! | `4000 0000 0000 9995` | declined (insufficient funds) |
//! | any other Luhn-valid number | approved |
//! | a number failing the Luhn check | rejected as invalid input (not a decline) |

use crate::domain::PaymentResult;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the card number is not valid")]
    InvalidCardNumber,
    #[error("payment method '{0}' is not available yet")]
    MethodUnavailable(String),
}

/// Payment methods a purchase page can offer (seed 000: card, convenience
/// store, carrier billing, prepaid). Only the card sandbox is live in v1.
pub const METHODS: &[(&str, &str, bool)] = &[
    ("card", "Credit card", true),
    ("konbini", "Convenience-store payment", false),
    ("carrier", "Carrier billing", false),
    ("prepaid", "Prepaid code", false),
];

/// Authorize `amount` on the sandbox card processor.
pub fn charge(method: &str, card_number: &str, amount: i64) -> Result<PaymentResult, PaymentError> {
    if method != "card" {
        return Err(PaymentError::MethodUnavailable(method.to_string()));
    }
    let digits: String = card_number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if digits.len() < 12 || digits.len() > 19 || !digits.chars().all(|c| c.is_ascii_digit()) || !luhn_ok(&digits) {
        return Err(PaymentError::InvalidCardNumber);
    }
    Ok(match digits.as_str() {
        "4000000000000002" => PaymentResult::Declined { reason: "card declined".into() },
        "4000000000009995" => PaymentResult::Declined { reason: "insufficient funds".into() },
        _ => PaymentResult::Approved {
            reference: format!("sandbox_{}_{}_{}", &digits[digits.len() - 4..], amount, uuid::Uuid::new_v4().simple()),
        },
    })
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

    #[test]
    fn test_numbers() {
        assert!(matches!(charge("card", "4242 4242 4242 4242", 100), Ok(PaymentResult::Approved { .. })));
        assert!(matches!(charge("card", "4000000000000002", 100), Ok(PaymentResult::Declined { .. })));
        assert!(
            matches!(charge("card", "4000-0000-0000-9995", 100), Ok(PaymentResult::Declined { reason }) if reason == "insufficient funds")
        );
        assert_eq!(charge("card", "4242424242424241", 100), Err(PaymentError::InvalidCardNumber));
        assert_eq!(charge("card", "abc", 100), Err(PaymentError::InvalidCardNumber));
        assert_eq!(charge("konbini", "", 100), Err(PaymentError::MethodUnavailable("konbini".into())));
    }
}
