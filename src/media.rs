//! Media: SDP offer/answer, announcement prompts, and RTP playback.
//!
//! * SDP (RFC 4566) offer/answer (RFC 3264), kept small and strict: one audio
//!   stream, G.711 only (PCMU preferred, then PCMA), telephone-event
//!   (RFC 4733) remembered when offered.
//! * [`Prompts`]: `prompts/<lang>/<name>.wav`, 8 kHz mono µ-law (or 16-bit PCM /
//!   A-law) WAV, decoded once at start-up into both G.711 laws.
//! * [`play`]: RTP (RFC 3550) packets of 20 ms paced from a monotonic clock,
//!   with symmetric RTP (RFC 4961) so callers behind NAT still hear us.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

/// G.711 sample rate; also the RTP clock rate of PCMU/PCMA (RFC 3551 §4.5.14).
pub const SAMPLE_RATE: u32 = 8000;
/// Samples per RTP packet: 20 ms, the RFC 3551 default packetization.
pub const SAMPLES_PER_PACKET: usize = 160;
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
/// Payload type we use for telephone-event in our own offers (dynamic range, RFC 3551 §3).
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;

// ---------------------------------------------------------------------------
// G.711
// ---------------------------------------------------------------------------

/// The audio codecs we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// Static payload type (RFC 3551 table 4).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The encoded value of silence, used to pad the last packet.
    fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// 16-bit linear → µ-law (ITU-T G.711).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // s is in 0x84..=0x7FFF: the highest set bit is bit 7..=14, giving segment 0..=7.
    let exponent = (31 - s.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// µ-law → 16-bit linear (ITU-T G.711).
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// 16-bit linear → A-law (ITU-T G.711).
pub fn linear_to_alaw(sample: i16) -> u8 {
    const SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut pcm = i32::from(sample) >> 3;
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let Some(seg) = SEGMENT_END.iter().position(|&end| pcm <= end) else {
        return 0x7F ^ mask;
    };
    let seg = seg as i32;
    let mantissa = if seg < 2 { (pcm >> 1) & 0x0F } else { (pcm >> seg) & 0x0F };
    ((seg << 4) | mantissa) as u8 ^ mask
}

/// A-law → 16-bit linear (ITU-T G.711).
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let seg = i32::from((a & 0x70) >> 4);
    let mut t = i32::from(a & 0x0F) << 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

// ---------------------------------------------------------------------------
// WAV
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WavError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("truncated {0} chunk")]
    Truncated(&'static str),
    #[error("no fmt chunk before the data chunk")]
    NoFormat,
    #[error("no data chunk")]
    NoData,
    #[error("unsupported audio: {0} (need 8 kHz mono µ-law, A-law or 16-bit PCM)")]
    Unsupported(String),
}

/// Audio samples as stored in a prompt file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audio {
    Ulaw(Vec<u8>),
    Alaw(Vec<u8>),
    Linear(Vec<i16>),
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_ALAW: u16 = 6;
const WAVE_FORMAT_MULAW: u16 = 7;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Read the RIFF chunks of a WAV file and return its audio data.
pub fn parse_wav(bytes: &[u8]) -> Result<Audio, WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut format: Option<(u16, u16, u32, u16)> = None;
    let mut pos = 12usize;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = le_u32(bytes, pos + 4).ok_or(WavError::Truncated("chunk header"))? as usize;
        let body_start = pos + 8;
        if id == b"fmt " {
            let body = bytes.get(body_start..body_start.saturating_add(size)).ok_or(WavError::Truncated("fmt"))?;
            let mut tag = le_u16(body, 0).ok_or(WavError::Truncated("fmt"))?;
            let channels = le_u16(body, 2).ok_or(WavError::Truncated("fmt"))?;
            let rate = le_u32(body, 4).ok_or(WavError::Truncated("fmt"))?;
            let bits = le_u16(body, 14).ok_or(WavError::Truncated("fmt"))?;
            if tag == WAVE_FORMAT_EXTENSIBLE {
                // The real format is the first two bytes of the SubFormat GUID.
                tag = le_u16(body, 24).ok_or(WavError::Truncated("fmt"))?;
            }
            format = Some((tag, channels, rate, bits));
        } else if id == b"data" {
            let (tag, channels, rate, bits) = format.ok_or(WavError::NoFormat)?;
            if channels != 1 || rate != SAMPLE_RATE {
                return Err(WavError::Unsupported(format!("{channels} channel(s) at {rate} Hz")));
            }
            // Streaming writers leave the size at 0 or 0xFFFFFFFF: take what is there.
            let end = body_start.saturating_add(size).min(bytes.len());
            let data = &bytes[body_start..end];
            return match (tag, bits) {
                (WAVE_FORMAT_MULAW, 8) => Ok(Audio::Ulaw(data.to_vec())),
                (WAVE_FORMAT_ALAW, 8) => Ok(Audio::Alaw(data.to_vec())),
                (WAVE_FORMAT_PCM, 16) => {
                    Ok(Audio::Linear(data.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()))
                }
                (tag, bits) => Err(WavError::Unsupported(format!("format tag {tag} with {bits} bits per sample"))),
            };
        }
        // Chunks are padded to an even size (RIFF).
        pos = body_start.saturating_add(size).saturating_add(size & 1);
    }
    Err(WavError::NoData)
}

// ---------------------------------------------------------------------------
// Prompts
// ---------------------------------------------------------------------------

/// One announcement, ready to send in either G.711 law.
#[derive(Debug)]
pub struct Prompt {
    name: String,
    pcmu: Vec<u8>,
    pcma: Vec<u8>,
}

impl Prompt {
    pub fn from_audio(name: impl Into<String>, audio: Audio) -> Prompt {
        // Keep the file's own encoding bit-exact and derive the other law from linear samples.
        let (pcmu, pcma) = match audio {
            Audio::Ulaw(u) => {
                let a = u.iter().map(|&b| linear_to_alaw(ulaw_to_linear(b))).collect();
                (u, a)
            }
            Audio::Alaw(a) => {
                let u = a.iter().map(|&b| linear_to_ulaw(alaw_to_linear(b))).collect();
                (u, a)
            }
            Audio::Linear(s) => {
                (s.iter().map(|&x| linear_to_ulaw(x)).collect(), s.iter().map(|&x| linear_to_alaw(x)).collect())
            }
        };
        Prompt { name: name.into(), pcmu, pcma }
    }

    /// A sine tone: the fallback when a prompt file is missing.
    pub fn tone(name: impl Into<String>, hz: f64, duration: Duration) -> Prompt {
        let n = (duration.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        let samples = (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                (8000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
            })
            .collect();
        Prompt::from_audio(name, Audio::Linear(samples))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The encoded samples for `codec`.
    pub fn payload(&self, codec: Codec) -> &[u8] {
        match codec {
            Codec::Pcmu => &self.pcmu,
            Codec::Pcma => &self.pcma,
        }
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.pcmu.len() as f64 / f64::from(SAMPLE_RATE))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Wav { path: PathBuf, source: WavError },
    #[error("{}: prompt file larger than {} bytes", path.display(), MAX_PROMPT_BYTES)]
    TooLarge { path: PathBuf },
}

/// A prompt file this large (~2 minutes of G.711) is a mistake, not an announcement.
pub const MAX_PROMPT_BYTES: u64 = 1024 * 1024;

/// All prompts, loaded once from `<dir>/<lang>/<name>.wav`.
#[derive(Debug)]
pub struct Prompts {
    by_lang: HashMap<String, HashMap<String, Arc<Prompt>>>,
    tone: Arc<Prompt>,
}

impl Default for Prompts {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Prompts {
    /// No prompt files: every prompt is the built-in tone.
    pub fn builtin() -> Prompts {
        Prompts { by_lang: HashMap::new(), tone: Arc::new(Prompt::tone("tone", 440.0, Duration::from_secs(1))) }
    }

    /// Load every `<lang>/<name>.wav` under `dir`. A file that is present but
    /// unreadable is an error, so a broken prompt shows up at start-up rather than
    /// as a mysterious tone in a call.
    pub fn load(dir: &Path) -> Result<Prompts, PromptError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PromptError::Io { path, source }
        };
        let mut prompts = Prompts::builtin();
        for lang_entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let lang_dir = lang_entry.map_err(io_err(dir))?.path();
            let Some(lang) = lang_dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            if !lang_dir.is_dir() || lang.starts_with('.') {
                continue;
            }
            for file_entry in std::fs::read_dir(&lang_dir).map_err(io_err(&lang_dir))? {
                let path = file_entry.map_err(io_err(&lang_dir))?.path();
                if path.extension().is_none_or(|e| !e.eq_ignore_ascii_case("wav")) {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|n| n.to_str()).map(str::to_string) else {
                    continue;
                };
                let size = std::fs::metadata(&path).map_err(io_err(&path))?.len();
                if size > MAX_PROMPT_BYTES {
                    return Err(PromptError::TooLarge { path });
                }
                let bytes = std::fs::read(&path).map_err(io_err(&path))?;
                let audio = parse_wav(&bytes).map_err(|source| PromptError::Wav { path: path.clone(), source })?;
                prompts.insert(&lang, Prompt::from_audio(name, audio));
            }
        }
        Ok(prompts)
    }

    pub fn insert(&mut self, lang: &str, prompt: Prompt) {
        self.by_lang.entry(lang.to_string()).or_default().insert(prompt.name.clone(), Arc::new(prompt));
    }

    /// The prompt in `lang`, else in its primary language (`ja-JP` → `ja`), else in English.
    pub fn get(&self, lang: &str, name: &str) -> Option<Arc<Prompt>> {
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        [lang, primary, "en"].into_iter().find_map(|l| self.by_lang.get(l).and_then(|m| m.get(name)).cloned())
    }

    /// Like [`Prompts::get`], falling back to the built-in tone so a missing file never breaks a call.
    pub fn get_or_tone(&self, lang: &str, name: &str) -> Arc<Prompt> {
        self.get(lang, name).unwrap_or_else(|| {
            tracing::warn!(lang, name, "prompt file missing; playing the fallback tone");
            self.tone.clone()
        })
    }

    /// `(language, name)` of every loaded prompt, sorted.
    pub fn list(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            self.by_lang.iter().flat_map(|(l, m)| m.keys().map(move |n| (l.clone(), n.clone()))).collect();
        v.sort();
        v
    }
}

// ---------------------------------------------------------------------------
// SDP offer/answer
// ---------------------------------------------------------------------------

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

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<IpAddr>,
    /// `a=rtpmap:<pt> <encoding>/<clock rate>`, encoding name upper-cased.
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

/// The result of offer/answer for the audio stream.
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

/// Choose our codec from an offer: the first audio RTP/AVP stream, PCMU if offered, else PCMA.
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

/// Read the answer to our own offer (late offer: the answer comes in the ACK).
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

fn origin_and_connection(sdp: &mut String, local: IpAddr, session_id: u64) {
    let addrtype = if local.is_ipv4() { "IP4" } else { "IP6" };
    let _ = write!(sdp, "v=0\r\no=dialticket {session_id} {session_id} IN {addrtype} {local}\r\ns=dialticket\r\nc=IN {addrtype} {local}\r\nt=0 0\r\n");
}

/// Our answer (RFC 3264 §6): the same number of `m=` lines as the offer, the
/// ones we do not take rejected with port 0.
pub fn answer_sdp(offer: &SessionDescription, chosen: &Negotiated, local: SocketAddr, session_id: u64) -> String {
    let mut sdp = String::with_capacity(300);
    origin_and_connection(&mut sdp, local.ip(), session_id);
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

/// Our offer, for an INVITE that came without one (RFC 3261 §13.2.1 late offer).
pub fn offer_sdp(local: SocketAddr, session_id: u64) -> String {
    let mut sdp = String::with_capacity(300);
    origin_and_connection(&mut sdp, local.ip(), session_id);
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

// ---------------------------------------------------------------------------
// RTP playback
// ---------------------------------------------------------------------------

/// What [`play`] sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayStats {
    pub packets: u32,
    pub ssrc: u32,
    pub first_sequence: u16,
    pub first_timestamp: u32,
    /// Where the packets went (the SDP address, or the latched source).
    pub sent_to: SocketAddr,
    /// RTP arrived from the caller and we switched to its source address.
    pub latched: bool,
}

/// The first RTP source seen on `socket`, if any, without waiting (symmetric RTP, RFC 4961).
fn latch_source(socket: &UdpSocket) -> Option<SocketAddr> {
    let mut buf = [0u8; 1500];
    let mut latched = None;
    // Drain what is queued: we never read the caller's audio, only where it comes from.
    loop {
        match socket.try_recv_from(&mut buf) {
            Ok((n, from)) => {
                // RTCP shares the version bits but uses payload types 72–76 after the marker bit.
                let looks_rtp = rtp_rs::RtpReader::new(&buf[..n]).is_ok() && !(72..=76).contains(&(buf[1] & 0x7F));
                if looks_rtp && latched.is_none() {
                    latched = Some(from);
                }
            }
            Err(_) => return latched,
        }
    }
}

/// Wait up to `timeout` for the first RTP packet on `socket` and return its source.
/// Used when no SDP told us where the caller listens.
pub async fn wait_for_rtp(socket: &UdpSocket, timeout: Duration) -> Option<SocketAddr> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        tokio::select! {
            r = socket.readable() => {
                r.ok()?;
                if let Some(from) = latch_source(socket) {
                    return Some(from);
                }
            }
            _ = tokio::time::sleep_until(deadline) => return None,
        }
    }
}

/// Stream `prompt` to `dest` as RTP: 20 ms packets, random SSRC / initial sequence
/// number / timestamp (RFC 3550 §5.1), marker bit on the first packet (start of a
/// talkspurt, RFC 3551 §4.1). Packet `n` is sent at `start + n × 20 ms` from a
/// monotonic clock, so scheduling delays never accumulate into drift.
///
/// If RTP from the caller reaches `socket`, the rest goes to its source address
/// instead (symmetric RTP, RFC 4961): the SDP address of a caller behind NAT is
/// usually unreachable. We latch once, so a stray packet mid-call cannot redirect
/// the stream twice.
pub async fn play(socket: &UdpSocket, dest: SocketAddr, prompt: &Prompt, codec: Codec) -> io::Result<PlayStats> {
    let ssrc: u32 = rand::random();
    let first_sequence: u16 = rand::random();
    let first_timestamp: u32 = rand::random();
    let mut stats = PlayStats { packets: 0, ssrc, first_sequence, first_timestamp, sent_to: dest, latched: false };
    let start = tokio::time::Instant::now();
    let mut frame = [codec.silence(); SAMPLES_PER_PACKET];
    for (n, chunk) in prompt.payload(codec).chunks(SAMPLES_PER_PACKET).enumerate() {
        tokio::time::sleep_until(start + PACKET_INTERVAL * n as u32).await;
        if !stats.latched {
            if let Some(from) = latch_source(socket) {
                stats.sent_to = from;
                stats.latched = true;
            }
        }
        // The last packet is padded with silence so every packet spans exactly 20 ms.
        frame[..chunk.len()].copy_from_slice(chunk);
        frame[chunk.len()..].fill(codec.silence());
        let packet = rtp_rs::RtpPacketBuilder::new()
            .payload_type(codec.payload_type())
            .ssrc(ssrc)
            .sequence(rtp_rs::Seq::from(first_sequence.wrapping_add(n as u16)))
            .timestamp(first_timestamp.wrapping_add((n * SAMPLES_PER_PACKET) as u32))
            .marked(n == 0)
            .payload(&frame)
            .build()
            .map_err(|e| io::Error::other(format!("building RTP packet: {e:?}")))?;
        socket.send_to(&packet, stats.sent_to).await?;
        stats.packets += 1;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_round_trips() {
        for u in 0..=255u8 {
            // 0x7F is µ-law's "negative zero"; it decodes to 0, which encodes as 0xFF.
            if u != 0x7F {
                assert_eq!(linear_to_ulaw(ulaw_to_linear(u)), u, "ulaw {u:#x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(u)), u, "alaw {u:#x}");
        }
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        // Error stays within the segment's quantization step.
        for x in [-30000i16, -1000, -10, 10, 1000, 30000] {
            assert!((i32::from(ulaw_to_linear(linear_to_ulaw(x))) - i32::from(x)).abs() < 1100, "{x}");
            assert!((i32::from(alaw_to_linear(linear_to_alaw(x))) - i32::from(x)).abs() < 1100, "{x}");
        }
    }

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8], extra_fmt: &[u8]) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(bits / 8)).to_le_bytes());
        fmt.extend_from_slice(&(bits / 8).to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(extra_fmt);
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        for (id, body) in [(&b"fmt "[..], &fmt[..]), (b"LIST", b"odd"), (b"data", data)] {
            out.extend_from_slice(id);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(body);
            if body.len() % 2 == 1 {
                out.push(0);
            }
        }
        out
    }

    #[test]
    fn wav_formats() {
        assert_eq!(parse_wav(&wav(7, 1, 8000, 8, &[1, 2, 3], &[0, 0])), Ok(Audio::Ulaw(vec![1, 2, 3])));
        assert_eq!(parse_wav(&wav(6, 1, 8000, 8, &[4], &[])), Ok(Audio::Alaw(vec![4])));
        assert_eq!(parse_wav(&wav(1, 1, 8000, 16, &[0x10, 0x00, 0xF0, 0xFF], &[])), Ok(Audio::Linear(vec![16, -16])));
        let mut ext = vec![22, 0, 16, 0, 4, 0, 0, 0];
        ext.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
        assert_eq!(parse_wav(&wav(0xFFFE, 1, 8000, 8, &[9], &ext)), Ok(Audio::Ulaw(vec![9])));
        assert!(matches!(parse_wav(&wav(7, 2, 8000, 8, &[1], &[])), Err(WavError::Unsupported(_))));
        assert!(matches!(parse_wav(&wav(1, 1, 16000, 16, &[1, 1], &[])), Err(WavError::Unsupported(_))));
        assert!(matches!(parse_wav(&wav(3, 1, 8000, 32, &[1, 1, 1, 1], &[])), Err(WavError::Unsupported(_))));
        assert_eq!(parse_wav(b"RIFX\0\0\0\0WAVE"), Err(WavError::NotWave));
        assert_eq!(parse_wav(b"RIFF\0\0\0\0WAVEdata\x02\0\0\0ab"), Err(WavError::NoFormat));
        assert_eq!(parse_wav(b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x07\0"), Err(WavError::Truncated("fmt")));
        assert_eq!(parse_wav(b"RIFF\0\0\0\0WAVEfmt \xff\xff\xff\xff"), Err(WavError::Truncated("fmt")));
        assert_eq!(parse_wav(b"RIFF\0\0\0\0WAVE"), Err(WavError::NoData));
        // A streaming writer's 0xFFFFFFFF data size takes what is there.
        let mut streaming = wav(7, 1, 8000, 8, &[5, 6], &[]);
        let at = streaming.len() - 6;
        streaming[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse_wav(&streaming), Ok(Audio::Ulaw(vec![5, 6])));
    }

    #[test]
    fn shipped_prompts_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        if !dir.is_dir() {
            return;
        }
        let prompts = Prompts::load(&dir).unwrap();
        for name in ["welcome", "purchase-link-sent", "ticket-sent", "anonymous-refused", "service-error"] {
            let p = prompts.get("en", name).unwrap_or_else(|| panic!("prompts/en/{name}.wav"));
            assert!(
                p.duration() > Duration::from_millis(500) && p.duration() <= Duration::from_secs(4),
                "{name}: {:?}",
                p.duration()
            );
            assert_eq!(p.payload(Codec::Pcmu).len(), p.payload(Codec::Pcma).len());
        }
    }

    #[test]
    fn prompt_fallbacks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::create_dir_all(dir.path().join("ja")).unwrap();
        std::fs::write(dir.path().join("en/welcome.wav"), wav(7, 1, 8000, 8, &[0xFF; 800], &[])).unwrap();
        std::fs::write(dir.path().join("en/pcm.wav"), wav(1, 1, 8000, 16, &[0; 320], &[])).unwrap();
        std::fs::write(dir.path().join("ja/welcome.wav"), wav(7, 1, 8000, 8, &[0xFF; 1600], &[])).unwrap();
        std::fs::write(dir.path().join("ja/README"), "not audio").unwrap();
        let prompts = Prompts::load(dir.path()).unwrap();
        assert_eq!(prompts.get("ja", "welcome").unwrap().payload(Codec::Pcmu).len(), 1600);
        assert_eq!(prompts.get("ja-JP", "welcome").unwrap().payload(Codec::Pcmu).len(), 1600);
        assert_eq!(prompts.get("fr", "welcome").unwrap().payload(Codec::Pcmu).len(), 800);
        assert_eq!(prompts.get("ja", "pcm").unwrap().payload(Codec::Pcma), &[0xD5; 160][..]);
        assert!(prompts.get("en", "nope").is_none());
        assert_eq!(prompts.get_or_tone("en", "nope").duration(), Duration::from_secs(1));
        assert_eq!(prompts.list().len(), 3);

        std::fs::write(dir.path().join("en/broken.wav"), b"RIFF").unwrap();
        assert!(matches!(Prompts::load(dir.path()), Err(PromptError::Wav { .. })));
        assert!(matches!(Prompts::load(&dir.path().join("missing")), Err(PromptError::Io { .. })));
    }

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

    fn test_prompt(samples: usize) -> Prompt {
        Prompt::from_audio("t", Audio::Ulaw((0..samples).map(|i| (i % 251) as u8).collect()))
    }

    #[tokio::test(start_paused = true)]
    async fn rtp_pacing_with_paused_time() {
        let player = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let prompt = test_prompt(8000 + 80); // 1 s and half a packet: 51 packets
        let start = tokio::time::Instant::now();
        let stats = play(&player, phone.local_addr().unwrap(), &prompt, Codec::Pcmu).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(50 * 20));
        assert_eq!(stats.packets, 51);
        assert!(!stats.latched);
        let mut buf = [0u8; 1500];
        for n in 0..51u32 {
            let (len, from) = phone.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, player.local_addr().unwrap());
            let p = rtp_rs::RtpReader::new(&buf[..len]).unwrap();
            assert_eq!(p.payload_type(), 0);
            assert_eq!(p.ssrc(), stats.ssrc);
            assert_eq!(u16::from(p.sequence_number()), stats.first_sequence.wrapping_add(n as u16));
            assert_eq!(p.timestamp(), stats.first_timestamp.wrapping_add(n * 160));
            assert_eq!(p.mark(), n == 0);
            assert_eq!(p.payload().len(), 160);
            if n == 50 {
                assert_eq!(&p.payload()[80..], &[0xFF; 80][..], "last packet padded with silence");
            } else {
                assert_eq!(p.payload()[0], ((n as usize * 160) % 251) as u8);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn symmetric_rtp_latches_to_the_caller_source() {
        let player = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sdp_address = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let behind_nat = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rtp = rtp_rs::RtpPacketBuilder::new().payload_type(8).ssrc(9).payload(&[0xD5; 160]).build().unwrap();
        behind_nat.send_to(&rtp, player.local_addr().unwrap()).await.unwrap();
        // Not RTP (an RTCP receiver report) must not latch.
        sdp_address.send_to(&[0x80, 201, 0, 1, 0, 0, 0, 1], player.local_addr().unwrap()).await.unwrap();
        player.readable().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let stats = play(&player, sdp_address.local_addr().unwrap(), &test_prompt(320), Codec::Pcma).await.unwrap();
        assert!(stats.latched);
        assert_eq!(stats.sent_to, behind_nat.local_addr().unwrap());
        let mut buf = [0u8; 1500];
        let (len, _) = behind_nat.recv_from(&mut buf).await.unwrap();
        assert_eq!(rtp_rs::RtpReader::new(&buf[..len]).unwrap().payload_type(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_rtp_times_out_or_finds_source() {
        let player = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(wait_for_rtp(&player, Duration::from_millis(100)).await, None);
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rtp = rtp_rs::RtpPacketBuilder::new().payload_type(0).payload(&[0xFF; 160]).build().unwrap();
        phone.send_to(&rtp, player.local_addr().unwrap()).await.unwrap();
        assert_eq!(wait_for_rtp(&player, Duration::from_secs(2)).await, Some(phone.local_addr().unwrap()));
    }
}
