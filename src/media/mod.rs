//! Media: SDP offer/answer, announcement prompts, and RTP playback.
//!
//! * SDP (RFC 4566) offer/answer (RFC 3264), kept small and strict: one audio
//!   stream, G.711 only (PCMU preferred, then PCMA), telephone-event
//!   (RFC 4733) remembered when offered.
//! * [`Prompts`]: `prompts/<lang>/<name>.wav`, 8 kHz mono µ-law (or 16-bit PCM /
//!   A-law) WAV, decoded once at start-up into both G.711 laws.
//! * [`play`]: RTP (RFC 3550) packets of 20 ms paced from a monotonic clock,
//!   with symmetric RTP (RFC 4961) so callers behind NAT still hear us.

pub mod dtmf;
pub mod g711;
pub mod sdp;

pub use dtmf::{dtmf_digit, dtmf_event, dtmf_from_info, DtmfDetector, TelephoneEvent};
pub use g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear, Codec, SAMPLE_RATE};
pub use sdp::{
    answer_sdp, answer_sdp_version, negotiate, new_session_id, offer_sdp, offer_sdp_version, parse_sdp, read_answer,
    Direction, MediaDescription, Negotiated, SdpError, SessionDescription, OUR_TELEPHONE_EVENT_PT,
};

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::config::PortRange;

/// Samples per RTP packet: 20 ms, the RFC 3551 default packetization.
pub const SAMPLES_PER_PACKET: usize = 160;
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
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
#[derive(Debug, Clone)]
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
// RTP streams
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

/// Where and how to send our side of the call, from offer/answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTarget {
    /// The caller's RTP address from SDP; `None` when it gave none we can use
    /// (`c=0.0.0.0`, or no answer yet): then only its own RTP tells us.
    pub dest: Option<SocketAddr>,
    pub codec: Codec,
    /// The negotiated direction lets us send (not on hold, not `recvonly`/`inactive`).
    pub send: bool,
    /// Payload type of telephone-event, if negotiated.
    pub telephone_event: Option<u8>,
}

impl MediaTarget {
    pub fn from_negotiated(n: &Negotiated) -> MediaTarget {
        MediaTarget {
            dest: Some(n.remote).filter(|a| !a.ip().is_unspecified() && a.port() != 0),
            codec: n.codec,
            send: n.direction.can_send(),
            telephone_event: n.telephone_event,
        }
    }
}

/// A prompt being played, resumable: [`RtpStream::play`] can be dropped at any
/// await (e.g. by a `select!` that handles a SIP event) and called again to go on
/// from the next packet.
#[derive(Debug, Clone)]
pub struct Playback {
    prompt: Arc<Prompt>,
    next: usize,
}

impl Playback {
    pub fn new(prompt: Arc<Prompt>) -> Playback {
        Playback { prompt, next: 0 }
    }

    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    pub fn is_finished(&self) -> bool {
        self.next >= self.packet_count()
    }

    fn packet_count(&self) -> usize {
        self.prompt.pcmu.len().div_ceil(SAMPLES_PER_PACKET)
    }
}

/// How a [`RtpStream::play`] or [`RtpStream::listen`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEvent {
    /// The prompt is over (or, for `listen`, the wait is).
    Finished,
    /// The caller pressed a key (RFC 4733).
    Digit(char),
}

/// If a send is this many packet intervals late (the runtime was starved), start a
/// new schedule from now instead of sending the backlog as a burst.
const MAX_CATCH_UP: u32 = 3;

/// Our RTP stream of one call (RFC 3550): one SSRC, a sequence number that grows by
/// one per packet sent, and a timestamp that follows the wall of a monotonic clock —
/// packet slot `n` is due at `epoch + n × 20 ms` and carries `origin + n × 160` — so
/// pauses (a menu wait, a hold) advance the timestamp and scheduling delays never
/// accumulate into drift. It also reads what the caller sends: the first RTP source
/// latches our destination (symmetric RTP, RFC 4961), and telephone-event packets
/// become digits (RFC 4733).
pub struct RtpStream<'s> {
    socket: &'s UdpSocket,
    target: MediaTarget,
    ssrc: u32,
    next_sequence: u16,
    timestamp_origin: u32,
    epoch: tokio::time::Instant,
    /// The next unused 20 ms slot.
    slot: u64,
    /// Source address of the caller's RTP, once seen.
    latched: Option<SocketAddr>,
    /// The next packet starts a talkspurt (RFC 3551 §4.1: marker bit).
    marker: bool,
    dtmf: DtmfDetector,
    digits: std::collections::VecDeque<char>,
    packets: u32,
    first: Option<(u16, u32)>,
    /// The longest a packet was sent after its due time.
    max_lateness: Duration,
}

impl<'s> RtpStream<'s> {
    /// A new stream with a random SSRC, sequence number and timestamp origin (RFC 3550 §5.1).
    pub fn new(socket: &'s UdpSocket, target: MediaTarget) -> Self {
        RtpStream {
            socket,
            target,
            ssrc: rand::random(),
            next_sequence: rand::random(),
            timestamp_origin: rand::random(),
            epoch: tokio::time::Instant::now(),
            slot: 0,
            latched: None,
            marker: true,
            dtmf: DtmfDetector::new(),
            digits: std::collections::VecDeque::new(),
            packets: 0,
            first: None,
            max_lateness: Duration::ZERO,
        }
    }

    pub fn target(&self) -> MediaTarget {
        self.target
    }

    /// New offer/answer (a re-INVITE): codec, direction or address may change. A new
    /// address forgets the latched source, so a transferred or resumed call is followed.
    pub fn set_target(&mut self, target: MediaTarget) {
        if target.dest != self.target.dest {
            self.latched = None;
        }
        if target.send && !self.target.send {
            self.marker = true; // resuming after hold starts a talkspurt
        }
        self.target = target;
    }

    /// Where packets go now: the caller's RTP source if seen, else its SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.target.dest)
    }

    pub fn stats(&self) -> PlayStats {
        let (first_sequence, first_timestamp) = self.first.unwrap_or((self.next_sequence, self.timestamp_origin));
        PlayStats {
            packets: self.packets,
            ssrc: self.ssrc,
            first_sequence,
            first_timestamp,
            sent_to: self.destination().unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
            latched: self.latched.is_some(),
        }
    }

    pub fn max_lateness(&self) -> Duration {
        self.max_lateness
    }

    fn due(&self, slot: u64) -> tokio::time::Instant {
        self.epoch + PACKET_INTERVAL * u32::try_from(slot).unwrap_or(u32::MAX)
    }

    /// Start a new schedule now: the next packet is due at once and the ones after it
    /// every 20 ms from here. The timestamp moves on by the time that passed (RFC 3550
    /// §5.1: it follows the sampling clock through silence), never backwards, and the
    /// marker bit flags the new talkspurt (RFC 3551 §4.1), so the receiver re-syncs
    /// its playout without counting the pause as jitter.
    fn start_talkspurt(&mut self) {
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(self.epoch);
        let samples = (elapsed.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as u64;
        let advance = samples.max(self.slot * SAMPLES_PER_PACKET as u64);
        self.timestamp_origin = self.timestamp_origin.wrapping_add(advance as u32);
        self.epoch = now;
        self.slot = 0;
        self.marker = true;
    }

    /// Read everything queued on the socket without waiting: latch the source, collect digits.
    fn drain_incoming(&mut self) {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = self.socket.try_recv_from(&mut buf) {
            let Ok(rtp) = rtp_rs::RtpReader::new(&buf[..n]) else { continue };
            // RTCP shares the version bits; its packet types 200–204 read as PT 72–76 with the marker.
            if (72..=76).contains(&(buf[1] & 0x7F)) {
                continue;
            }
            if self.latched.is_none() {
                self.latched = Some(from);
            }
            if Some(rtp.payload_type()) == self.target.telephone_event {
                if let Some(d) = self.dtmf.on_packet(rtp.ssrc(), rtp.timestamp(), rtp.payload()) {
                    tracing::debug!(digit = %d, "DTMF (RFC 4733)");
                    // A caller hammering keys must not grow this without bound.
                    if self.digits.len() < 32 {
                        self.digits.push_back(d);
                    }
                }
            }
        }
    }

    /// Send `playback` from where it stopped, one packet per 20 ms slot. Returns
    /// [`MediaEvent::Digit`] as soon as a key press arrives (the prompt can then be
    /// resumed or dropped), or [`MediaEvent::Finished`]. While the call is on hold
    /// the prompt runs on silently, so it still ends on time.
    pub async fn play(&mut self, playback: &mut Playback) -> io::Result<MediaEvent> {
        if playback.next == 0 {
            self.start_talkspurt();
        }
        let mut frame = [0u8; SAMPLES_PER_PACKET];
        while !playback.is_finished() {
            let due = self.due(self.slot);
            tokio::time::sleep_until(due).await;
            self.drain_incoming();
            if let Some(d) = self.digits.pop_front() {
                return Ok(MediaEvent::Digit(d));
            }
            let late = tokio::time::Instant::now().saturating_duration_since(due);
            if late > PACKET_INTERVAL * MAX_CATCH_UP {
                tracing::debug!(?late, "RTP pacing fell behind; rescheduling from now");
                self.start_talkspurt();
            }
            self.max_lateness = self.max_lateness.max(late);
            if late > Duration::from_millis(2) {
                tracing::trace!(?late, slot = self.slot, packet = playback.next, "RTP packet late");
            }
            let codec = self.target.codec;
            let samples = playback.prompt.payload(codec);
            let start = playback.next * SAMPLES_PER_PACKET;
            let chunk = samples.get(start..(start + SAMPLES_PER_PACKET).min(samples.len())).unwrap_or_default();
            // The last packet is padded with silence so every packet spans exactly 20 ms.
            frame[..chunk.len()].copy_from_slice(chunk);
            frame[chunk.len()..].fill(codec.silence());
            if let (true, Some(dest)) = (self.target.send, self.destination()) {
                self.send_frame(&frame, dest).await?;
            }
            playback.next += 1;
            self.slot += 1;
        }
        Ok(MediaEvent::Finished)
    }

    async fn send_frame(&mut self, frame: &[u8], dest: SocketAddr) -> io::Result<()> {
        let timestamp = self.timestamp_origin.wrapping_add((self.slot as u32).wrapping_mul(SAMPLES_PER_PACKET as u32));
        let packet = rtp_rs::RtpPacketBuilder::new()
            .payload_type(self.target.codec.payload_type())
            .ssrc(self.ssrc)
            .sequence(rtp_rs::Seq::from(self.next_sequence))
            .timestamp(timestamp)
            .marked(self.marker)
            .payload(frame)
            .build()
            .map_err(|e| io::Error::other(format!("building RTP packet: {e:?}")))?;
        self.socket.send_to(&packet, dest).await?;
        self.first.get_or_insert((self.next_sequence, timestamp));
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.marker = false;
        self.packets += 1;
        Ok(())
    }

    /// Send nothing and wait up to `wait` for a key press (a menu's pause).
    pub async fn listen(&mut self, wait: Duration) -> io::Result<MediaEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            self.drain_incoming();
            if let Some(d) = self.digits.pop_front() {
                return Ok(MediaEvent::Digit(d));
            }
            tokio::select! {
                r = self.socket.readable() => r?,
                _ = tokio::time::sleep_until(deadline) => return Ok(MediaEvent::Finished),
            }
        }
    }

    /// A digit that arrived by other means (SIP INFO) joins the same queue.
    pub fn push_digit(&mut self, digit: char) {
        if self.digits.len() < 32 {
            self.digits.push_back(digit);
        }
    }

    /// The next queued digit, if any, without waiting.
    pub fn take_digit(&mut self) -> Option<char> {
        self.drain_incoming();
        self.digits.pop_front()
    }
}

/// Bind a call's RTP socket on `ip`: any free port, or with `ports` an even one of
/// that range (RFC 3550 §11), trying them from a random one on so that calls spread
/// over the range. A full range is `AddrInUse` (the call gets 503).
pub async fn bind_rtp(ip: IpAddr, ports: Option<PortRange>) -> io::Result<UdpSocket> {
    let Some(range) = ports else { return UdpSocket::bind((ip, 0)).await };
    // Even ports first_even, first_even + 2, …: `count` of them (a valid range has one).
    let first_even = u32::from(range.first).next_multiple_of(2);
    let count = (u32::from(range.last) + 2).saturating_sub(first_even) / 2;
    let start = rand::random_range(0..count.max(1));
    for i in 0..count {
        let port = (first_even + 2 * ((start + i) % count)) as u16;
        match UdpSocket::bind((ip, port)).await {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, format!("no free RTP port in {}-{}", range.first, range.last)))
}

/// Wait up to `timeout` for the first RTP packet on `socket` and return its source.
/// Used when no SDP told us where the caller listens.
pub async fn wait_for_rtp(socket: &UdpSocket, timeout: Duration) -> Option<SocketAddr> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    loop {
        while let Ok((n, from)) = socket.try_recv_from(&mut buf) {
            if rtp_rs::RtpReader::new(&buf[..n]).is_ok() && !(72..=76).contains(&(buf[1] & 0x7F)) {
                return Some(from);
            }
        }
        tokio::select! {
            r = socket.readable() => { r.ok()?; }
            _ = tokio::time::sleep_until(deadline) => return None,
        }
    }
}

/// Stream `prompt` to `dest` as RTP (see [`RtpStream`]): 20 ms packets, random SSRC /
/// initial sequence number / timestamp (RFC 3550 §5.1), marker bit on the first packet
/// (start of a talkspurt, RFC 3551 §4.1), packet `n` sent at `start + n × 20 ms` from a
/// monotonic clock.
///
/// If RTP from the caller reaches `socket`, the rest goes to its source address
/// instead (symmetric RTP, RFC 4961): the SDP address of a caller behind NAT is
/// usually unreachable. We latch once, so a stray packet mid-call cannot redirect
/// the stream twice.
pub async fn play(socket: &UdpSocket, dest: SocketAddr, prompt: &Prompt, codec: Codec) -> io::Result<PlayStats> {
    let target = MediaTarget { dest: Some(dest), codec, send: true, telephone_event: None };
    let mut stream = RtpStream::new(socket, target);
    let mut playback = Playback::new(Arc::new(prompt.clone()));
    while stream.play(&mut playback).await? != MediaEvent::Finished {}
    Ok(stream.stats())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two even ports free right now, `p` and `p + 2`, as the range `p-1`–`p+3`.
    async fn free_even_pair(ip: IpAddr) -> PortRange {
        loop {
            let probe = UdpSocket::bind((ip, 0)).await.unwrap();
            let p = probe.local_addr().unwrap().port() & !1;
            drop(probe);
            if !(1026..65530).contains(&p) {
                continue;
            }
            let a = UdpSocket::bind((ip, p)).await;
            let b = UdpSocket::bind((ip, p + 2)).await;
            if a.is_ok() && b.is_ok() {
                return PortRange { first: p - 1, last: p + 3 };
            }
        }
    }

    #[tokio::test]
    async fn rtp_sockets_take_the_ranges_even_ports_until_it_is_full() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let range = free_even_pair(ip).await;
        let a = bind_rtp(ip, Some(range)).await.unwrap();
        let b = bind_rtp(ip, Some(range)).await.unwrap();
        let mut ports = [a.local_addr().unwrap().port(), b.local_addr().unwrap().port()];
        ports.sort();
        assert_eq!(ports, [range.first + 1, range.first + 3], "the two even ports of {range:?}");
        let full = bind_rtp(ip, Some(range)).await.unwrap_err();
        assert_eq!(full.kind(), io::ErrorKind::AddrInUse, "{full}");
        let freed = a.local_addr().unwrap().port();
        drop(a);
        assert_eq!(bind_rtp(ip, Some(range)).await.unwrap().local_addr().unwrap().port(), freed);
        // Without a range, any port.
        assert_ne!(bind_rtp(ip, None).await.unwrap().local_addr().unwrap().port(), 0);
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
    async fn a_minute_of_rtp_does_not_drift() {
        let player = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let minute = test_prompt(8000 * 60);
        let target = MediaTarget {
            dest: Some(phone.local_addr().unwrap()),
            codec: Codec::Pcmu,
            send: true,
            telephone_event: None,
        };
        let mut stream = RtpStream::new(&player, target);
        let start = tokio::time::Instant::now();
        let mut pb = Playback::new(Arc::new(minute));
        // Packet n is due at start + n × 20 ms from one origin, so 3000 packets end exactly
        // 59.98 s after the first, however long each send took.
        let reader = async {
            let mut buf = [0u8; 1500];
            let mut last = None;
            for _ in 0..3000u32 {
                let (n, _) = phone.recv_from(&mut buf).await.unwrap();
                last = Some(rtp_rs::RtpReader::new(&buf[..n]).unwrap().timestamp());
            }
            last
        };
        let (played, last_ts) = tokio::join!(
            async {
                let mut digits = 0;
                while let MediaEvent::Digit(_) = stream.play(&mut pb).await.unwrap() {
                    digits += 1;
                }
                digits
            },
            reader
        );
        assert_eq!(played, 0);
        assert_eq!(start.elapsed(), PACKET_INTERVAL * 2999, "packet n at start + n × 20 ms");
        let stats = stream.stats();
        assert_eq!(stats.packets, 3000);
        assert_eq!(last_ts.unwrap(), stats.first_timestamp.wrapping_add(2999 * 160));
        assert!(stream.max_lateness() < PACKET_INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn hold_stops_sending_and_resume_marks_a_new_talkspurt() {
        let player = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dest = Some(phone.local_addr().unwrap());
        let mut stream =
            RtpStream::new(&player, MediaTarget { dest, codec: Codec::Pcma, send: true, telephone_event: Some(101) });
        let origin = stream.timestamp_origin;
        let mut pb = Playback::new(Arc::new(test_prompt(160 * 4)));
        // Digits interrupt playback, which resumes where it was.
        let key = rtp_rs::RtpPacketBuilder::new()
            .payload_type(101)
            .ssrc(5)
            .timestamp(77)
            .payload(&TelephoneEvent { event: 1, end: true, volume: 0, duration: 400 }.to_bytes())
            .build()
            .unwrap();
        phone.send_to(&key, player.local_addr().unwrap()).await.unwrap();
        phone.send_to(&key, player.local_addr().unwrap()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(stream.play(&mut pb).await.unwrap(), MediaEvent::Digit('1'));
        assert!(stream.stats().latched, "the caller's RTP source is latched");
        // On hold: the prompt runs on silently.
        stream.set_target(MediaTarget { send: false, ..stream.target() });
        assert_eq!(stream.play(&mut pb).await.unwrap(), MediaEvent::Finished);
        assert_eq!(stream.stats().packets, 0);
        stream.set_target(MediaTarget { send: true, ..stream.target() });
        stream.push_digit('9');
        assert_eq!(stream.listen(Duration::from_secs(1)).await.unwrap(), MediaEvent::Digit('9'));
        assert_eq!(stream.listen(Duration::from_millis(100)).await.unwrap(), MediaEvent::Finished);
        let mut pb = Playback::new(Arc::new(test_prompt(160 * 2)));
        assert_eq!(stream.play(&mut pb).await.unwrap(), MediaEvent::Finished);
        let mut buf = [0u8; 1500];
        let (n, _) = phone.recv_from(&mut buf).await.unwrap();
        let first = rtp_rs::RtpReader::new(&buf[..n]).unwrap();
        assert!(first.mark(), "a new talkspurt after the hold");
        assert_eq!(first.payload_type(), 8);
        let (ts, seq) = (first.timestamp(), u16::from(first.sequence_number()));
        let (n, _) = phone.recv_from(&mut buf).await.unwrap();
        let second = rtp_rs::RtpReader::new(&buf[..n]).unwrap();
        assert!(!second.mark());
        assert_eq!(u16::from(second.sequence_number()), seq.wrapping_add(1), "no gaps in sequence numbers");
        assert_eq!(second.timestamp(), ts.wrapping_add(160));
        // The timestamp kept running through the hold and the pause (RFC 3550 §5.1).
        assert_eq!(ts, stream.stats().first_timestamp);
        // 80 ms of silent prompt, then 100 ms of listening, at 8 samples per ms.
        assert!(ts.wrapping_sub(origin) >= 8 * 150, "{}", ts.wrapping_sub(origin));
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
