//! A phone user's registered mail address (seed 000 fig. 10, "mobile mail
//! address"): what a user may type, and what a confirmation link does. Plain
//! rules, no I/O; the web pages and the admin API sit around them.
//!
//! Mail for a phone goes to its carrier's mail-to-SMS address until the user
//! registers another one. A user asks from the purchase pages (the purchase link
//! proves the phone's mailbox); the new address gets a link that must be opened
//! and confirmed (proving that mailbox too); the address mailed before gets a
//! notice with a link that puts it back. Each change raises the user's mail
//! epoch, and a link is only good in the epoch it was asked in. Going back to the carrier address needs
//! no confirmation: that mailbox is the phone's own.

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, the mailbox 254 of them.
pub const MAX_LEN: usize = 254;

/// How many confirmation links one phone user may have mailed per hour, so the
/// page cannot be used to flood somebody else's mailbox.
pub const CONFIRMATIONS_PER_HOUR: i64 = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("enter a mail address")]
    Empty,
    #[error("a mail address has at most {MAX_LEN} characters")]
    TooLong,
    #[error("'{0}' is not a mail address (like name@example.com)")]
    Malformed(String),
}

/// The address as it will be stored: trimmed, checked with lettre's parser
/// (the one that will put it in the envelope), the domain lower-cased (the
/// local part is the receiving server's business, so it stays as typed).
pub fn registrable(input: &str) -> Result<String, AddressError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(AddressError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(AddressError::TooLong);
    }
    let malformed = || AddressError::Malformed(s.chars().take(80).collect());
    // lettre accepts a few things an envelope should not carry (a quoted local part
    // with spaces, an address literal); a registered address is a plain mailbox.
    if s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '[' | ']' | ',')) {
        return Err(malformed());
    }
    let address: lettre::Address = s.parse().map_err(|_| malformed())?;
    if !address.domain().contains('.') {
        return Err(malformed());
    }
    Ok(format!("{}@{}", address.user(), address.domain().to_ascii_lowercase()))
}

/// What a confirmation link asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Mail goes to this registered address.
    Address(String),
    /// No registered address: mail goes to the carrier's address for the phone.
    Carrier,
}

impl Wanted {
    /// As carried in a link (the empty string is the carrier's address).
    pub fn to_claim(&self) -> &str {
        match self {
            Wanted::Address(a) => a,
            Wanted::Carrier => "",
        }
    }

    pub fn from_claim(claim: &str) -> Wanted {
        match claim {
            "" => Wanted::Carrier,
            a => Wanted::Address(a.to_string()),
        }
    }

    /// The registered address to store (`None`: the carrier's).
    pub fn registered(&self) -> Option<&str> {
        match self {
            Wanted::Address(a) => Some(a),
            Wanted::Carrier => None,
        }
    }
}

/// What confirming a link does, given the user's current registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The address changes; `previous` is the registered address before (`None`: the carrier's).
    Change { previous: Option<String> },
    /// It already is so (a link confirmed twice, or a form sent again): nothing to do.
    AlreadySo,
    /// The address changed after the link was minted: an older request must not undo a newer change.
    Stale,
}

/// Decide a confirmation asked for `wanted` when the user's mail epoch was
/// `asked_in`, given the registered address `current` and the epoch `epoch` now.
/// Each change raises the epoch, so a link asked for before a change is stale;
/// the link back in the notice of a change names the epoch the change made.
pub fn decide(current: Option<&str>, epoch: i64, wanted: &Wanted, asked_in: i64) -> Outcome {
    if current == wanted.registered() {
        return Outcome::AlreadySo;
    }
    if asked_in != epoch {
        return Outcome::Stale;
    }
    Outcome::Change { previous: current.map(str::to_string) }
}

/// An address as shown in a notice sent elsewhere: enough to recognise, not to copy
/// (`h***@example.jp`).
pub fn masked(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((user, domain)) => {
            let first: String = user.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_addresses_are_trimmed_and_their_domain_lower_cased() {
        assert_eq!(registrable("  Hanako.Y+tickets@Example.JP ").unwrap(), "Hanako.Y+tickets@example.jp");
        assert_eq!(registrable("a@b.co").unwrap(), "a@b.co");
    }

    #[test]
    fn what_is_not_a_plain_mailbox_is_refused_with_a_reason() {
        assert_eq!(registrable("   "), Err(AddressError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(registrable(&long), Err(AddressError::TooLong));
        for bad in [
            "hanako",
            "hanako@",
            "@example.jp",
            "hanako@localhost",
            "hanako@@example.jp",
            "Hanako <hanako@example.jp>",
            "\"han ako\"@example.jp",
            "a@b.jp,c@d.jp",
            "a@[127.0.0.1]",
            "a\r\nRCPT TO:<x@y.z>@b.jp",
        ] {
            let e = registrable(bad).unwrap_err();
            assert!(matches!(e, AddressError::Malformed(_)), "{bad:?}: {e:?}");
            assert!(e.to_string().contains("is not a mail address"), "{e}");
        }
    }

    #[test]
    fn a_link_claims_an_address_or_the_carrier() {
        for w in [Wanted::Address("a@b.jp".into()), Wanted::Carrier] {
            assert_eq!(Wanted::from_claim(w.to_claim()), w);
        }
        assert_eq!(Wanted::Carrier.registered(), None);
    }

    #[test]
    fn confirming_changes_once_and_never_undoes_a_newer_change() {
        let b = Wanted::Address("b@x.jp".into());
        // First registration, from the carrier's address.
        assert_eq!(decide(None, 0, &b, 0), Outcome::Change { previous: None });
        // Confirmed twice: nothing more happens (the epoch has moved on, but it is so).
        assert_eq!(decide(Some("b@x.jp"), 1, &b, 0), Outcome::AlreadySo);
        // A request made before the last change is stale...
        assert_eq!(decide(Some("c@x.jp"), 2, &b, 1), Outcome::Stale);
        assert_eq!(decide(None, 2, &b, 1), Outcome::Stale);
        // ...but the link back in the notice of that change, minted with it, is not.
        assert_eq!(decide(Some("c@x.jp"), 2, &b, 2), Outcome::Change { previous: Some("c@x.jp".into()) });
        assert_eq!(decide(Some("c@x.jp"), 2, &Wanted::Carrier, 2), Outcome::Change { previous: Some("c@x.jp".into()) });
    }

    #[test]
    fn notices_mask_the_address() {
        assert_eq!(masked("hanako@example.jp"), "h***@example.jp");
        assert_eq!(masked("no-at-sign"), "***");
    }
}
