//! Key presses as a caller's phone sends them: RFC 4733 telephone-events in the
//! RTP stream, to the address and payload type the gateway's SDP answer gave.
//!
//! One press is the packets of one event (RFC 4733 §2.5.1): a first packet with
//! the marker bit (§2.5.1.2), updates every 20 ms with a growing duration, all
//! with the event's start timestamp, and the end packet (E bit) sent three times
//! (§2.5.1.4). Presses follow each other on the RTP timeline, so each has its own
//! timestamp and a digit pressed twice is two events.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A key pressed `after` the call was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPress {
    pub after: Duration,
    /// `0`–`9`, `*`, `#`, `A`–`D`.
    pub digit: char,
}

impl KeyPress {
    /// The keys of `digits`, the first `after` the answer and each next one a second later.
    pub fn sequence(after: Duration, digits: &str) -> Vec<KeyPress> {
        digits
            .chars()
            .enumerate()
            .map(|(i, digit)| KeyPress { after: after + Duration::from_secs(i as u64), digit })
            .collect()
    }
}

/// The RFC 4733 event code of a DTMF digit (§3.2, table 7).
pub fn event_code(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        _ => None,
    }
}

/// Where the answer wants RTP (`c=` and `m=audio`, RFC 4566 §5.7 and §5.14) and
/// the payload type it gave `telephone-event/8000` (RFC 4733 §7.1.1).
/// `None` if the answer has no audio address or no telephone-event.
pub fn answer_media(sdp: &str) -> Option<(SocketAddr, u8)> {
    let mut ip: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    let mut event_pt: Option<u8> = None;
    for line in sdp.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("c=") {
            // c=IN IP4 127.0.0.1 — a media-level c= overrides the session's: the last one wins here,
            // which is right for the one audio stream we offer.
            ip = c.split_whitespace().nth(2).and_then(|a| a.parse().ok()).or(ip);
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            port = m.split_whitespace().next().and_then(|p| p.parse().ok());
        } else if let Some(map) = line.strip_prefix("a=rtpmap:") {
            let (pt, codec) = map.split_once(' ')?;
            if codec.to_ascii_lowercase().starts_with("telephone-event/8000") {
                event_pt = pt.parse().ok();
            }
        }
    }
    Some((SocketAddr::new(ip?, port?), event_pt?))
}

/// The packets of the presses in `keys`, each with when to send it (after the
/// answer), in sending order. Unknown digits are skipped.
pub(crate) fn packets(keys: &[KeyPress], payload_type: u8, ssrc: u32) -> Vec<(Duration, Vec<u8>)> {
    const STEP: Duration = Duration::from_millis(20);
    const SAMPLES_PER_STEP: u16 = 160; // 20 ms at 8 kHz
    const VOLUME: u8 = 10; // -10 dBm0
    let mut out = Vec::new();
    let mut seq: u16 = rand::random();
    let mut sorted: Vec<&KeyPress> = keys.iter().collect();
    sorted.sort_by_key(|k| k.after);
    for key in sorted {
        let Some(event) = event_code(key.digit) else { continue };
        // The event's timestamp: where it falls on an 8 kHz timeline started at the answer.
        let timestamp = (key.after.as_millis() as u64 * 8) as u32;
        // 60 ms of tone: three updates, then the end three times (§2.5.1.4).
        for i in 0..6u16 {
            let end = i >= 3;
            let duration = SAMPLES_PER_STEP * (i.min(3) + 1);
            let payload = [event, if end { 0x80 } else { 0 } | VOLUME, (duration >> 8) as u8, duration as u8];
            let packet = rtp_rs::RtpPacketBuilder::new()
                .payload_type(payload_type)
                .ssrc(ssrc)
                .sequence(rtp_rs::Seq::from(seq))
                .timestamp(timestamp)
                .marked(i == 0)
                .payload(&payload)
                .build();
            seq = seq.wrapping_add(1);
            if let Ok(packet) = packet {
                out.push((key.after + STEP * u32::from(i.min(3)), packet));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_gives_address_and_event_payload_type() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 40000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n";
        assert_eq!(answer_media(sdp), Some(("127.0.0.1:40000".parse().unwrap(), 96)));
        let no_events = "c=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        assert_eq!(answer_media(no_events), None);
    }

    #[test]
    fn one_press_is_one_event_with_a_marked_start_and_three_ends() {
        let keys = KeyPress::sequence(Duration::from_millis(500), "2#");
        let sent = packets(&keys, 101, 7);
        assert_eq!(sent.len(), 12);
        let read: Vec<_> = sent.iter().map(|(at, p)| (at, rtp_rs::RtpReader::new(p).unwrap())).collect();
        let first = &read[0].1;
        assert!(first.mark());
        assert_eq!(first.payload_type(), 101);
        assert_eq!(first.payload()[0], 2);
        // Every packet of the first press has its timestamp; the end bit on the last three.
        for (_, r) in &read[..6] {
            assert_eq!(r.timestamp(), 4000);
        }
        let ends: Vec<bool> = read[..6].iter().map(|(_, r)| r.payload()[1] & 0x80 != 0).collect();
        assert_eq!(ends, [false, false, false, true, true, true]);
        assert_eq!(*read[5].0, Duration::from_millis(560));
        // The second press: `#` (11), a second later, its own timestamp.
        assert_eq!(read[6].1.payload()[0], 11);
        assert_eq!(read[6].1.timestamp(), 12000);
        assert_eq!(*read[6].0, Duration::from_millis(1500));
    }
}
