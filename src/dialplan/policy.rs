//! Policies a trunk or a number sets: how much proof of the caller's identity
//! it needs, what happens to anonymous callers, and rate limits.
//!
//! Where a call's trunk and its rule both set a policy, the stricter one
//! applies: an admin who marks a trunk `trusted-peer` should not be undone by
//! a number that forgot to say so, nor the other way round.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::identity::CallerIdentity;

/// How sure we must be of the caller's number before acting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityPolicy {
    /// Any presented number, even just the `From` header.
    Any,
    /// The number must be asserted (P-Asserted-Identity / Remote-Party-ID) by a trusted trunk.
    TrustedPeer,
    /// A verified STIR/SHAKEN PASSporT (RFC 8224/8588) with at least this attestation.
    Verified(MinAttestation),
}

/// The weakest STIR/SHAKEN attestation a `verified` number accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinAttestation {
    /// Full attestation only.
    A,
    /// Full or partial.
    B,
}

impl IdentityPolicy {
    fn rank(self) -> u8 {
        match self {
            IdentityPolicy::Any => 0,
            IdentityPolicy::TrustedPeer => 1,
            IdentityPolicy::Verified(MinAttestation::B) => 2,
            IdentityPolicy::Verified(MinAttestation::A) => 3,
        }
    }

    /// The stricter of two policies.
    pub fn stricter(self, other: IdentityPolicy) -> IdentityPolicy {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// May this caller use a number with this policy? `Err` is the SIP refusal.
    ///
    /// For `verified` numbers the caller's attestation must already be set (see
    /// [`crate::identity::attest`]); a caller without one gets RFC 8224's 428. The
    /// endpoint answers a failed verification with its own, more precise code
    /// (436/437/438/403 Stale Date) before asking here.
    pub fn admits(self, caller: &CallerIdentity) -> Result<(), PolicyRefusal> {
        use crate::identity::Attestation as Shaken;
        match self {
            IdentityPolicy::Any => Ok(()),
            IdentityPolicy::TrustedPeer if caller.trusted => Ok(()),
            // RFC 3261 §21.4.4: we understood the request and will not serve this caller.
            IdentityPolicy::TrustedPeer => Err(PolicyRefusal { code: 403, reason: "Caller identity not trusted" }),
            IdentityPolicy::Verified(min) => match (caller.attestation, min) {
                (None, _) => Err(PolicyRefusal { code: 428, reason: "Use Identity Header" }),
                (Some(Shaken::A), _) | (Some(Shaken::B), MinAttestation::B) => Ok(()),
                // Verified, but the signer vouches for less than this number asks.
                (Some(_), _) => Err(PolicyRefusal { code: 403, reason: "Caller attestation too weak" }),
            },
        }
    }

    /// Does this policy need the caller's number verified (STIR/SHAKEN)?
    pub fn needs_verification(self) -> bool {
        matches!(self, IdentityPolicy::Verified(_))
    }
}

impl fmt::Display for IdentityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityPolicy::Any => f.write_str("any"),
            IdentityPolicy::TrustedPeer => f.write_str("trusted-peer"),
            IdentityPolicy::Verified(MinAttestation::A) => f.write_str("verified (attestation A)"),
            IdentityPolicy::Verified(MinAttestation::B) => f.write_str("verified (attestation A or B)"),
        }
    }
}

impl Serialize for IdentityPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A refusal the SIP endpoint sends as the final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyRefusal {
    pub code: u16,
    pub reason: &'static str,
}

/// What happens to a caller who withheld their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnonymousPolicy {
    /// 433 Anonymity Disallowed at once.
    Reject,
    /// The caller hears the `anonymous-refused` prompt as early media (so the call
    /// costs nothing), then 433. The default. Missed-call numbers answer a plain 433.
    Announce,
}

impl fmt::Display for AnonymousPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnonymousPolicy::Reject => "reject",
            AnonymousPolicy::Announce => "announce",
        })
    }
}

/// At most `count` calls per `per`, e.g. `5/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("'{s}' is not a rate: write COUNT/UNIT, e.g. 5/min (units: s, min, h, day)");
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "day" | "d" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(format!("'{s}' allows no call at all: use action = \"reject\" to refuse a number"));
        }
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => "day",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Rate-limit overrides for a trunk or a number. Kept as data: the flood
/// limiter (issue 4) reads them; this module only parses and shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RateLimits {
    /// Calls from one caller number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_caller: Option<Rate>,
    /// Calls from one source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_source: Option<Rate>,
    /// Calls to one dialled number, from everybody together: the ceiling a
    /// distributed flood (many addresses, random caller numbers) meets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_number: Option<Rate>,
}

impl RateLimits {
    pub fn is_empty(&self) -> bool {
        self.per_caller.is_none() && self.per_source.is_none() && self.per_number.is_none()
    }

    /// Per field, the rule's own limit, else the trunk's, else the default.
    pub fn or(self, fallback: RateLimits) -> RateLimits {
        RateLimits {
            per_caller: self.per_caller.or(fallback.per_caller),
            per_source: self.per_source.or(fallback.per_source),
            per_number: self.per_number.or(fallback.per_number),
        }
    }
}

impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.per_caller {
            parts.push(format!("per caller {r}"));
        }
        if let Some(r) = self.per_source {
            parts.push(format!("per source {r}"));
        }
        if let Some(r) = self.per_number {
            parts.push(format!("per number {r}"));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stricter_wins() {
        use IdentityPolicy::*;
        assert_eq!(Any.stricter(TrustedPeer), TrustedPeer);
        assert_eq!(TrustedPeer.stricter(Any), TrustedPeer);
        assert_eq!(Verified(MinAttestation::B).stricter(Verified(MinAttestation::A)), Verified(MinAttestation::A));
    }

    fn caller(trusted: bool, attestation: Option<crate::identity::Attestation>) -> CallerIdentity {
        CallerIdentity {
            number: crate::phone::PhoneNumber::parse("+819012345678").unwrap(),
            source: crate::identity::IdentitySource::From,
            trusted,
            display_name: None,
            attestation,
            verification: crate::identity::Verification::None,
        }
    }

    #[test]
    fn trusted_peer_needs_an_asserted_identity() {
        assert_eq!(IdentityPolicy::Any.admits(&caller(false, None)), Ok(()));
        assert_eq!(IdentityPolicy::TrustedPeer.admits(&caller(true, None)), Ok(()));
        assert_eq!(IdentityPolicy::TrustedPeer.admits(&caller(false, None)).unwrap_err().code, 403);
    }

    #[test]
    fn verified_needs_an_attestation_at_least_as_strong() {
        use crate::identity::Attestation::{A, B, C};
        let a = IdentityPolicy::Verified(MinAttestation::A);
        let a_or_b = IdentityPolicy::Verified(MinAttestation::B);
        // An asserted identity is not a verified one.
        assert_eq!(a.admits(&caller(true, None)).unwrap_err().code, 428);
        assert_eq!(a.admits(&caller(false, Some(A))), Ok(()));
        assert_eq!(a.admits(&caller(false, Some(B))).unwrap_err().code, 403);
        assert_eq!(a_or_b.admits(&caller(false, Some(B))), Ok(()));
        assert_eq!(a_or_b.admits(&caller(false, Some(C))).unwrap_err().code, 403);
        assert!(a.needs_verification() && !IdentityPolicy::TrustedPeer.needs_verification());
    }

    #[test]
    fn rates() {
        assert_eq!("5/min".parse::<Rate>().unwrap().to_string(), "5/min");
        assert_eq!("100 / s".parse::<Rate>().unwrap(), Rate { count: 100, per: Duration::from_secs(1) });
        assert!("5 per minute".parse::<Rate>().is_err());
        assert!("0/s".parse::<Rate>().unwrap_err().contains("no call"));
    }
}
