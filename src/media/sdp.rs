//! SDP (RFC 4566) and the offer/answer model (RFC 3264), kept small and strict: one audio
//! stream over RTP/AVP, G.711 only (PCMU preferred, then PCMA), telephone-event (RFC 4733)
//! remembered when offered.
//!
//! [`parse_sdp`] reads only as much as offer/answer needs. [`negotiate`] chooses our codec from an
//! offer (in an INVITE or a re-INVITE) and [`answer_sdp`] writes our answer to it; for an INVITE
//! without SDP (a late offer, RFC 3261 §13.2.1) [`offer_sdp`] writes our offer and
//! [`read_answer`] reads the answer that comes back in the ACK.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::g711::{Codec, SAMPLE_RATE};

/// Payload type we use for telephone-event in our own offers (dynamic range, RFC 3551 §3).
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;

/// Why an SDP body or an offer is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("malformed SDP: {0}")]
    Malformed(String),
    #[error("no audio stream offered")]
    NoAudio,
    #[error("no connection address for the audio stream")]
    NoConnection,
    #[error("no common codec (we support PCMU and PCMA over RTP/AVP)")]
    NoCommonCodec,
}

/// Media direction attributes (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Direction> {
        match attr {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The answerer's direction for an offered one (RFC 3264 §6.1).
    fn answer_to(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// We may send media in this (our) direction.
    pub fn can_send(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
}

/// One media description: an `m=` line and the lines under it (RFC 4566 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<IpAddr>,
    /// `a=rtpmap:<pt> <encoding>/<clock rate>` (RFC 4566 §6), encoding name upper-cased.
    pub rtpmap: Vec<(u8, String, u32)>,
    pub direction: Option<Direction>,
}

/// A parsed session description, only as much as offer/answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub connection: Option<IpAddr>,
    pub direction: Option<Direction>,
    pub media: Vec<MediaDescription>,
}

/// `c=IN IP4 192.0.2.1` / `c=IN IP6 2001:db8::1` (RFC 4566 §5.7); a multicast `/ttl` is dropped.
fn parse_connection(v: &str) -> Result<IpAddr, SdpError> {
    let mut it = v.split_ascii_whitespace();
    let (Some("IN"), Some(addrtype), Some(addr), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(SdpError::Malformed(format!("c={v}")));
    };
    let addr = addr.split('/').next().unwrap_or_default();
    let ip: IpAddr = addr.parse().map_err(|_| SdpError::Malformed(format!("c={v}: not an IP address")))?;
    match (addrtype, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Ok(ip),
        _ => Err(SdpError::Malformed(format!("c={v}: address type mismatch"))),
    }
}

/// Parse an SDP body (RFC 4566). Unknown lines and attributes are ignored.
pub fn parse_sdp(body: &[u8]) -> Result<SessionDescription, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::Malformed("not UTF-8".into()))?;
    let mut lines = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
    if lines.next() != Some("v=0") {
        return Err(SdpError::Malformed("must start with v=0".into()));
    }
    let mut sd = SessionDescription { connection: None, direction: None, media: Vec::new() };
    for line in lines {
        let Some((kind, value)) = line.split_once('=') else {
            return Err(SdpError::Malformed(format!(
                "line without '=': {}",
                line.chars().take(60).collect::<String>()
            )));
        };
        match (kind, sd.media.last_mut()) {
            ("c", None) => sd.connection = Some(parse_connection(value)?),
            ("c", Some(m)) => m.connection = Some(parse_connection(value)?),
            ("m", _) => {
                let mut it = value.split_ascii_whitespace();
                let bad = || SdpError::Malformed(format!("m={value}"));
                let media = it.next().ok_or_else(bad)?.to_ascii_lowercase();
                // A port may carry "/<number of ports>" (RFC 4566 §5.14).
                let port = it.next().and_then(|p| p.split('/').next()).and_then(|p| p.parse().ok()).ok_or_else(bad)?;
                let proto = it.next().ok_or_else(bad)?.to_string();
                let formats: Vec<String> = it.map(str::to_string).collect();
                if formats.is_empty() {
                    return Err(bad());
                }
                sd.media.push(MediaDescription {
                    media,
                    port,
                    proto,
                    formats,
                    connection: None,
                    rtpmap: Vec::new(),
                    direction: None,
                });
            }
            ("a", media) => {
                let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                if let Some(dir) = Direction::parse(name) {
                    match media {
                        Some(m) => m.direction = Some(dir),
                        None => sd.direction = Some(dir),
                    }
                } else if let ("rtpmap", Some(m)) = (name, media) {
                    // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]
                    let mut parts = arg.split_ascii_whitespace();
                    let pt = parts.next().and_then(|p| p.parse::<u8>().ok());
                    let mut enc = parts.next().unwrap_or_default().split('/');
                    let name = enc.next().unwrap_or_default().to_ascii_uppercase();
                    let rate = enc.next().and_then(|r| r.parse::<u32>().ok());
                    if let (Some(pt), Some(rate)) = (pt, rate) {
                        m.rtpmap.push((pt, name, rate));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(sd)
}

/// The result of offer/answer for the audio stream (RFC 3264 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    /// Payload type of telephone-event (RFC 4733) if the peer offered it.
    pub telephone_event: Option<u8>,
    /// Where the peer wants RTP (before any symmetric-RTP latching).
    pub remote: SocketAddr,
    /// Our direction for the stream.
    pub direction: Direction,
    /// Index of the accepted `m=` line.
    pub media_index: usize,
}

fn is_audio_rtp(m: &MediaDescription) -> bool {
    m.media == "audio" && m.port != 0 && m.proto.eq_ignore_ascii_case("RTP/AVP")
}

fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    m.rtpmap.iter().find(|(_, name, rate)| name == "TELEPHONE-EVENT" && *rate == SAMPLE_RATE).map(|(pt, _, _)| *pt)
}

/// Choose our codec from an offer: the first audio RTP/AVP stream, PCMU if offered, else PCMA
/// (RFC 3264 §6.1: the answer takes its formats from the offer).
pub fn negotiate(offer: &SessionDescription) -> Result<Negotiated, SdpError> {
    let mut saw_audio = false;
    for (index, m) in offer.media.iter().enumerate() {
        if m.media != "audio" {
            continue;
        }
        saw_audio = true;
        if !is_audio_rtp(m) {
            continue;
        }
        let offered: Vec<u8> = m.formats.iter().filter_map(|f| f.parse().ok()).collect();
        // Static types only; an rtpmap, if given, must agree (PT 0 can't be remapped, RFC 3551 §6).
        let agrees = |codec: Codec| {
            let pt = codec.payload_type();
            offered.contains(&pt)
                && m.rtpmap
                    .iter()
                    .filter(|(p, _, _)| *p == pt)
                    .all(|(_, name, rate)| name == codec.encoding_name() && *rate == SAMPLE_RATE)
        };
        let Some(codec) = [Codec::Pcmu, Codec::Pcma].into_iter().find(|c| agrees(*c)) else {
            continue;
        };
        let ip = m.connection.or(offer.connection).ok_or(SdpError::NoConnection)?;
        let direction = m.direction.or(offer.direction).unwrap_or(Direction::SendRecv).answer_to();
        let telephone_event = telephone_event_pt(m).filter(|pt| offered.contains(pt));
        return Ok(Negotiated {
            codec,
            telephone_event,
            remote: SocketAddr::new(ip, m.port),
            direction,
            media_index: index,
        });
    }
    Err(if saw_audio { SdpError::NoCommonCodec } else { SdpError::NoAudio })
}

/// Read the answer to our own offer (late offer: the answer comes in the ACK; RFC 3264 §7).
pub fn read_answer(answer: &SessionDescription) -> Result<Negotiated, SdpError> {
    let mut n = negotiate(answer)?;
    // The answer tells us its own direction; ours is the mirror image.
    n.direction = answer
        .media
        .get(n.media_index)
        .and_then(|m| m.direction)
        .or(answer.direction)
        .unwrap_or(Direction::SendRecv)
        .answer_to();
    Ok(n)
}

/// `v=`, `o=` (RFC 4566 §5.2), `s=`, `c=` (§5.7) and `t=`: the lines before our `m=` line.
fn origin_and_connection(sdp: &mut String, local: IpAddr, session_id: u64, version: u64) {
    let addrtype = if local.is_ipv4() { "IP4" } else { "IP6" };
    let _ = write!(sdp, "v=0\r\no=dialticket {session_id} {version} IN {addrtype} {local}\r\ns=dialticket\r\nc=IN {addrtype} {local}\r\nt=0 0\r\n");
}

/// Our answer (RFC 3264 §6): the same number of `m=` lines as the offer, the
/// ones we do not take rejected with port 0.
pub fn answer_sdp(offer: &SessionDescription, chosen: &Negotiated, local: SocketAddr, session_id: u64) -> String {
    answer_sdp_version(offer, chosen, local, session_id, session_id)
}

/// [`answer_sdp`] with an explicit `o=` version: a later answer in the same session
/// (to a re-INVITE) keeps the session id and increments the version (RFC 3264 §8).
pub fn answer_sdp_version(
    offer: &SessionDescription,
    chosen: &Negotiated,
    local: SocketAddr,
    session_id: u64,
    version: u64,
) -> String {
    let mut sdp = String::with_capacity(300);
    origin_and_connection(&mut sdp, local.ip(), session_id, version);
    for (i, m) in offer.media.iter().enumerate() {
        if i != chosen.media_index {
            let fmt = m.formats.first().map(String::as_str).unwrap_or("0");
            let _ = write!(sdp, "m={} 0 {} {}\r\n", m.media, m.proto, fmt);
            continue;
        }
        let pt = chosen.codec.payload_type();
        let _ = write!(sdp, "m=audio {} RTP/AVP {pt}", local.port());
        if let Some(te) = chosen.telephone_event {
            let _ = write!(sdp, " {te}");
        }
        let _ = write!(sdp, "\r\na=rtpmap:{pt} {}/{SAMPLE_RATE}\r\n", chosen.codec.encoding_name());
        if let Some(te) = chosen.telephone_event {
            let _ = write!(sdp, "a=rtpmap:{te} telephone-event/{SAMPLE_RATE}\r\na=fmtp:{te} 0-15\r\n");
        }
        let _ = write!(sdp, "a=ptime:20\r\na={}\r\n", chosen.direction.as_str());
    }
    sdp
}

/// Our offer (RFC 3264 §5), for an INVITE that came without one (RFC 3261 §13.2.1 late offer).
pub fn offer_sdp(local: SocketAddr, session_id: u64) -> String {
    offer_sdp_version(local, session_id, session_id)
}

/// [`offer_sdp`] with an explicit `o=` version (our offer in the 200 to a re-INVITE without SDP).
pub fn offer_sdp_version(local: SocketAddr, session_id: u64, version: u64) -> String {
    let mut sdp = String::with_capacity(300);
    origin_and_connection(&mut sdp, local.ip(), session_id, version);
    let te = OUR_TELEPHONE_EVENT_PT;
    let _ = write!(
        sdp,
        "m=audio {} RTP/AVP 0 8 {te}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
        local.port()
    );
    sdp
}

/// A fresh SDP session id (RFC 4566 §5.2 suggests an NTP timestamp; any unique number works).
pub fn new_session_id() -> u64 {
    rand::random::<u64>() >> 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdp(text: &str) -> SessionDescription {
        parse_sdp(text.replace('\n', "\r\n").as_bytes()).unwrap()
    }

    const LINPHONE: &str = "v=0
o=alice 1234 5678 IN IP4 192.0.2.10
s=Talk
c=IN IP4 192.0.2.10
t=0 0
m=audio 7078 RTP/AVP 96 97 8 0 101
a=rtpmap:96 opus/48000/2
a=rtpmap:97 speex/16000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 98
a=rtpmap:98 VP8/90000
";

    #[test]
    fn negotiates_pcmu_first_and_telephone_event() {
        let offer = sdp(LINPHONE);
        let n = negotiate(&offer).unwrap();
        assert_eq!(n.codec, Codec::Pcmu);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(n.remote, "192.0.2.10:7078".parse().unwrap());
        assert_eq!(n.direction, Direction::SendRecv);
        let answer = answer_sdp(&offer, &n, "198.51.100.1:40000".parse().unwrap(), 42);
        assert_eq!(
            answer,
            "v=0\r\no=dialticket 42 42 IN IP4 198.51.100.1\r\ns=dialticket\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
a=ptime:20\r\na=sendrecv\r\nm=video 0 RTP/AVP 98\r\n"
        );
        // Our answer is itself valid SDP that reads back to the same choice.
        let back = negotiate(&parse_sdp(answer.as_bytes()).unwrap()).unwrap();
        assert_eq!((back.codec, back.telephone_event), (Codec::Pcmu, Some(101)));
    }

    #[test]
    fn offers_that_differ() {
        // PCMA only, media-level c= over session-level, sendonly → we answer recvonly.
        let n = negotiate(&sdp("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 8\nc=IN IP4 10.0.0.2\na=sendonly\n")).unwrap();
        assert_eq!(
            (n.codec, n.remote, n.direction),
            (Codec::Pcma, "10.0.0.2:5004".parse().unwrap(), Direction::RecvOnly)
        );
        assert!(!n.direction.can_send());
        assert_eq!(n.telephone_event, None);
        // IPv6, session-level direction, LF line ends.
        let n = negotiate(
            &parse_sdp(
                b"v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 2001:db8::5\nt=0 0\na=recvonly\nm=audio 5006 RTP/AVP 0\n",
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!((n.remote, n.direction), ("[2001:db8::5]:5006".parse().unwrap(), Direction::SendOnly));
        // The second audio stream is taken when the first has no common codec.
        let n = negotiate(&sdp("v=0\nc=IN IP4 10.0.0.1\nm=audio 5004 RTP/AVP 9\nm=audio 5008 RTP/AVP 0\n")).unwrap();
        assert_eq!((n.media_index, n.remote.port()), (1, 5008));
    }

    #[test]
    fn offers_we_refuse() {
        let e = |t: &str| negotiate(&sdp(t)).unwrap_err();
        assert_eq!(e("v=0\nc=IN IP4 10.0.0.1\nm=audio 5004 RTP/AVP 9 18\n"), SdpError::NoCommonCodec);
        assert_eq!(e("v=0\nc=IN IP4 10.0.0.1\nm=audio 5004 RTP/SAVP 0\n"), SdpError::NoCommonCodec);
        assert_eq!(e("v=0\nc=IN IP4 10.0.0.1\nm=audio 0 RTP/AVP 0\n"), SdpError::NoCommonCodec);
        assert_eq!(
            e("v=0\nc=IN IP4 10.0.0.1\nm=audio 5004 RTP/AVP 0\na=rtpmap:0 G722/8000\n"),
            SdpError::NoCommonCodec
        );
        assert_eq!(e("v=0\nc=IN IP4 10.0.0.1\nm=video 5004 RTP/AVP 96\n"), SdpError::NoAudio);
        assert_eq!(e("v=0\nm=audio 5004 RTP/AVP 0\n"), SdpError::NoConnection);
        for bad in [
            "",
            "o=x",
            "v=0\nc=IN IP4 example.com\n",
            "v=0\nc=IN IP6 10.0.0.1\n",
            "v=0\nm=audio x RTP/AVP 0\n",
            "v=0\nm=audio 5 RTP/AVP\n",
            "v=0\ngarbage\n",
        ] {
            assert!(matches!(parse_sdp(bad.as_bytes()), Err(SdpError::Malformed(_))), "{bad:?}");
        }
        assert!(parse_sdp(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn late_offer_and_answer() {
        let offer = offer_sdp("127.0.0.1:30000".parse().unwrap(), 7);
        assert!(offer.contains("m=audio 30000 RTP/AVP 0 8 101\r\n"), "{offer}");
        let ans = sdp("v=0\nc=IN IP4 10.1.1.1\nm=audio 6000 RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=recvonly\n");
        let n = read_answer(&ans).unwrap();
        assert_eq!((n.codec, n.remote.port(), n.direction), (Codec::Pcma, 6000, Direction::SendOnly));
    }
}
