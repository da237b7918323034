//! What the limiter counts requests by: a source address (an IPv6 /64 as one) or a
//! caller number, claimed or proven; parsed from and shown as text for the admin API.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::phone::{PhoneNumber, PhoneNumberError};

/// The source a request is counted against (an IPv6 sender by its /64); it lives
/// with the SIP transport, whose connection and transaction caps count the same way.
pub use crate::sip::transport::source_of;

/// Whether [`source_of`] stands for a whole /64 rather than one address.
fn is_prefix(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if !v6.is_loopback())
}

/// What requests are counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// Where a request came from, as [`source_of`] counts it.
    Source(IpAddr),
    /// The caller's number, as claimed: nobody vouched for it (a `From` header, or
    /// a STIR/SHAKEN attestation C).
    Caller(PhoneNumber),
    /// The caller's number, proven: asserted by a trusted peer, or attested A or B
    /// by a PASSporT (or a trusted upstream's `verstat`). Counted apart from
    /// [`Key::Caller`], so calls that merely claim a number — anyone can put it in
    /// `From` — cannot spend its owner's budget.
    ProvenCaller(PhoneNumber),
    /// A scanning device at the door: the start of its staff token's SHA-256 (hex),
    /// counted by the scanning API's own limiter (`web/staff.rs`).
    Device(String),
}

impl Key {
    /// The caller's key: [`Key::ProvenCaller`] when `proven`.
    pub fn caller(number: PhoneNumber, proven: bool) -> Key {
        if proven {
            Key::ProvenCaller(number)
        } else {
            Key::Caller(number)
        }
    }

    /// `source`, `caller` or `proven-caller`.
    pub fn kind(&self) -> &'static str {
        match self {
            Key::Source(_) => "source",
            Key::Caller(_) => "caller",
            Key::ProvenCaller(_) => "proven-caller",
            Key::Device(_) => "device",
        }
    }

    /// The key as [`Key::from_str`] reads it back: `source:127.0.0.2`,
    /// `source:2001:db8:1:2::/64`, `caller:+819012345678`,
    /// `proven-caller:+819012345678` (the admin API's form, also its JSON form).
    pub fn to_admin_string(&self) -> String {
        match self {
            Key::Source(ip) if is_prefix(ip) => format!("source:{ip}/64"),
            Key::Source(ip) => format!("source:{ip}"),
            Key::Caller(n) => format!("caller:{n}"),
            Key::ProvenCaller(n) => format!("proven-caller:{n}"),
            Key::Device(d) => format!("device:{d}"),
        }
    }

    /// One key per source as counted: `::ffff:192.0.2.1` is `192.0.2.1`, and
    /// `2001:db8:1:2::5` is `2001:db8:1:2::` (its /64).
    pub(super) fn canonical(&self) -> Option<Key> {
        match self {
            Key::Source(ip) if source_of(*ip) != *ip => Some(Key::Source(source_of(*ip))),
            _ => None,
        }
    }
}

/// `source 127.0.0.2`, `source 2001:db8:1:2::/64`, `caller +819012345678` (for logs).
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Source(ip) if is_prefix(ip) => write!(f, "source {ip}/64"),
            Key::Source(ip) => write!(f, "source {ip}"),
            Key::Caller(n) => write!(f, "caller {n}"),
            Key::ProvenCaller(n) => write!(f, "proven caller {n}"),
            Key::Device(d) => write!(f, "device {d}"),
        }
    }
}

/// A key the admin API could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("'{0}' is not a flood key: write source:ADDRESS, caller:+NUMBER or proven-caller:+NUMBER")]
    Malformed(String),
    #[error("'{0}' is not an IP address")]
    BadAddress(String),
    #[error("not a caller number: {0}")]
    BadNumber(#[from] PhoneNumberError),
}

/// Reads `source:127.0.0.2`, `source:::1`, `source:[::1]`, `caller:+819012345678`,
/// `proven-caller:+819012345678`, and the [`Display`](fmt::Display) form with a
/// space instead of the colon (`proven caller +81…`). An IPv6
/// address reads as its /64 (`source:2001:db8:1:2::5` and `source:2001:db8:1:2::/64`
/// are one key).
impl FromStr for Key {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Key, KeyError> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("proven-caller:").or_else(|| s.strip_prefix("proven caller ")) {
            return Ok(Key::ProvenCaller(PhoneNumber::parse(rest.trim())?));
        }
        let malformed = || KeyError::Malformed(s.to_string());
        let (kind, value) = s.split_once(|c: char| c == ':' || c.is_whitespace()).ok_or_else(malformed)?;
        let value = value.trim();
        match kind {
            "source" => {
                let bare = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
                let bare = bare.strip_suffix("/64").filter(|b| b.contains(':')).unwrap_or(bare);
                let ip: IpAddr = bare.parse().map_err(|_| KeyError::BadAddress(value.to_string()))?;
                Ok(Key::Source(source_of(ip)))
            }
            "caller" => Ok(Key::Caller(PhoneNumber::parse(value)?)),
            "device" if !value.is_empty() => Ok(Key::Device(value.to_string())),
            _ => Err(malformed()),
        }
    }
}

/// As [`Key::to_admin_string`], so a JSON listing can be fed back to `unblock`.
impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.to_admin_string())
    }
}
