//! DTMF: the keys a caller presses, which reach us in one of two ways.
//!
//! * In the RTP stream, as telephone-event packets (RFC 4733 §2.3): [`DtmfDetector`] turns the
//!   several packets of one key press into one digit (§2.5.1). [`super::rtp::RtpStream`] feeds it
//!   the packets whose payload type offer/answer gave telephone-event.
//! * In a SIP INFO request, as a fallback: `application/dtmf-relay` or `application/dtmf`, the
//!   legacy usage (before RFC 6086 INFO packages) that every PBX speaks ([`dtmf_from_info`]).

/// The DTMF digit for an RFC 4733 event code (§3.2, table 7): 0–9, `*`, `#`, A–D.
pub fn dtmf_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The RFC 4733 event code for a DTMF digit (inverse of [`dtmf_digit`]).
pub fn dtmf_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// One telephone-event payload (RFC 4733 §2.3): event, end bit, volume, duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0 (0–63).
    pub volume: u8,
    /// In timestamp units since the event's RTP timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        // §2.3: the payload is 4 bytes; RFC 2198 redundancy would make it longer, and we
        // do not negotiate that, so anything else is not for us.
        let [event, flags, d0, d1] = <[u8; 4]>::try_from(payload).ok()?;
        Some(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, if self.end { 0x80 } else { 0 } | (self.volume & 0x3F), d[0], d[1]]
    }
}

/// Turns telephone-event packets into digits, each key press once.
///
/// RFC 4733 §2.5.1: every packet of one event carries the event's start timestamp
/// (the duration grows), and the final packet, with the E bit, is sent three times
/// (§2.5.1.4). So an event is identified by (SSRC, timestamp): we report it on the
/// first packet we see of it — whether that is an update or, if the start was lost,
/// an end packet — and ignore the rest. The same digit pressed twice has two
/// timestamps and is reported twice.
#[derive(Debug, Default)]
pub struct DtmfDetector {
    /// Recently reported events, oldest first; bounded so a flood cannot grow it.
    seen: std::collections::VecDeque<(u32, u32)>,
}

impl DtmfDetector {
    const REMEMBER: usize = 16;

    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one telephone-event packet; returns the digit if it starts a new event.
    pub fn on_packet(&mut self, ssrc: u32, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = TelephoneEvent::parse(payload)?;
        let digit = dtmf_digit(ev.event)?;
        if self.seen.contains(&(ssrc, timestamp)) {
            return None;
        }
        if self.seen.len() == Self::REMEMBER {
            self.seen.pop_front();
        }
        self.seen.push_back((ssrc, timestamp));
        Some(digit)
    }
}

/// The digit in a SIP INFO body (the pre-RFC 6086 "legacy" usage every PBX speaks):
/// `application/dtmf-relay` (`Signal=5\r\nDuration=160`) or `application/dtmf` (`5`).
pub fn dtmf_from_info(content_type: &str, body: &[u8]) -> Option<char> {
    let ct = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).ok()?;
    let value = match ct.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then_some(v.trim())
        })?,
        "application/dtmf" => text.trim(),
        _ => return None,
    };
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if dtmf_event(c).is_some() => Some(c.to_ascii_uppercase()),
        // Some senders give the event number (RFC 4733 code), e.g. `Signal=10` for `*`.
        _ => value.parse::<u8>().ok().and_then(dtmf_digit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_events_are_reported_once_per_key_press() {
        let mut d = DtmfDetector::new();
        let ev = |event, end, duration| TelephoneEvent { event, end, volume: 10, duration }.to_bytes();
        // One press of "5": updates with a growing duration, the end packet three times (RFC 4733 §2.5.1.4).
        let mut got = Vec::new();
        for (end, dur) in [(false, 160), (false, 320), (true, 480), (true, 480), (true, 480)] {
            got.extend(d.on_packet(7, 1000, &ev(5, end, dur)));
        }
        assert_eq!(got, vec!['5']);
        // The same key again is a new event (new timestamp); a lost start still counts via its end packet.
        assert_eq!(d.on_packet(7, 2000, &ev(5, false, 160)), Some('5'));
        assert_eq!(d.on_packet(7, 3000, &ev(11, true, 800)), Some('#'));
        assert_eq!(d.on_packet(7, 3000, &ev(11, true, 800)), None);
        // Another SSRC with the same timestamp is another source.
        assert_eq!(d.on_packet(8, 3000, &ev(10, false, 160)), Some('*'));
        // Not DTMF (a tone event, RFC 4734) or not 4 bytes: ignored.
        assert_eq!(d.on_packet(7, 4000, &ev(32, false, 160)), None);
        assert_eq!(d.on_packet(7, 5000, &[1, 2, 3]), None);
        assert_eq!(d.on_packet(7, 6000, &[1, 2, 3, 4, 5]), None);
        // Memory stays bounded under a flood of events.
        for ts in 0..10_000u32 {
            d.on_packet(9, ts * 1000, &ev(1, true, 160));
        }
        assert!(d.seen.len() <= DtmfDetector::REMEMBER);
        let parsed = TelephoneEvent::parse(&ev(12, true, 65535)).unwrap();
        assert_eq!((parsed.event, parsed.end, parsed.volume, parsed.duration), (12, true, 10, 65535));
        assert_eq!(dtmf_digit(12), Some('A'));
        assert_eq!(dtmf_event('d'), Some(15));
        assert_eq!(dtmf_event('x'), None);
    }

    #[test]
    fn dtmf_in_sip_info_bodies() {
        assert_eq!(dtmf_from_info("application/dtmf-relay", b"Signal=1\r\nDuration=160\r\n"), Some('1'));
        assert_eq!(dtmf_from_info("Application/DTMF-Relay; charset=x", b"signal = #\nDuration=100"), Some('#'));
        assert_eq!(dtmf_from_info("application/dtmf-relay", b"Signal=10\r\n"), Some('*'));
        assert_eq!(dtmf_from_info("application/dtmf", b"7"), Some('7'));
        assert_eq!(dtmf_from_info("application/dtmf", b" b \r\n"), Some('B'));
        assert_eq!(dtmf_from_info("application/dtmf-relay", b"Duration=160"), None);
        assert_eq!(dtmf_from_info("application/dtmf-relay", b"Signal=99"), None);
        assert_eq!(dtmf_from_info("application/dtmf", b"12"), Some('A'), "an event code");
        assert_eq!(dtmf_from_info("application/dtmf", b"16"), None);
        assert_eq!(dtmf_from_info("text/plain", b"1"), None);
        assert_eq!(dtmf_from_info("application/dtmf", &[0xff]), None);
    }
}
