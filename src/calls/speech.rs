//! What a call says that is put together for the caller: their seats read out
//! from recorded parts (`prompts/<lang>/`: `your-seats`, `seat`, `digit-0`…`digit-9`,
//! `letter-a`…`letter-z`). A seat code is spelt one character at a time, as phone
//! support reads codes out ("A-12": seat, A, one, two); characters with no part
//! (the dash) are left out. The gates the seats enter by follow ("gate", B),
//! each gate once.

/// Seats read aloud at most: each takes two or three seconds to spell, and a
/// caller at the gate should not hold on for half a minute (the admission page
/// lists them all).
pub(super) const SEATS_READ: usize = 4;

/// The parts that read `seats` aloud, the first [`SEATS_READ`] of them (empty
/// when there are none).
pub(super) fn seats<S: AsRef<str>>(seats: &[S]) -> Vec<String> {
    if seats.is_empty() {
        return Vec::new();
    }
    let mut parts = vec!["your-seats".to_string()];
    for seat in seats.iter().take(SEATS_READ) {
        parts.push("seat".to_string());
        parts.extend(spell(seat.as_ref()));
    }
    parts
}

/// The parts that read the gates aloud after the seats: "gate" and the gate
/// spelt, once per gate in the order given (empty when none is named).
pub(super) fn gates<S: AsRef<str>>(gates: &[S]) -> Vec<String> {
    let mut said: Vec<&str> = Vec::new();
    let mut parts = Vec::new();
    for gate in gates.iter().map(AsRef::as_ref) {
        if said.contains(&gate) {
            continue;
        }
        said.push(gate);
        parts.push("gate".to_string());
        parts.extend(spell(gate));
    }
    parts
}

/// `code` one character at a time: digits and ASCII letters, nothing else.
fn spell(code: &str) -> impl Iterator<Item = String> + '_ {
    code.chars().filter_map(|c| match c {
        '0'..='9' => Some(format!("digit-{c}")),
        c if c.is_ascii_alphabetic() => Some(format!("letter-{}", c.to_ascii_lowercase())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_spelt_character_by_character() {
        assert_eq!(
            seats(&["A-12", "GA-3"]),
            ["your-seats", "seat", "letter-a", "digit-1", "digit-2", "seat", "letter-g", "letter-a", "digit-3"]
        );
        assert!(seats::<&str>(&[]).is_empty());
        // Ten seats: the first four are read.
        let ten: Vec<String> = (1..=10).map(|n| format!("A-{n}")).collect();
        assert_eq!(seats(&ten).iter().filter(|p| *p == "seat").count(), SEATS_READ);
        // Nothing outside the recorded parts: no prompt name is made from what a catalog wrote.
        assert_eq!(seats(&["Ü/9"]), ["your-seats", "seat", "digit-9"]);
    }

    #[test]
    fn each_gate_is_read_once() {
        assert_eq!(gates(&["B", "B", "E2"]), ["gate", "letter-b", "gate", "letter-e", "digit-2"]);
        assert!(gates::<&str>(&[]).is_empty());
    }
}
