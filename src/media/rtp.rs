//! Our RTP stream of one call (RFC 3550): G.711 in packets of 20 ms (RFC 3551 §4.2), paced from a
//! monotonic clock, sent back to where the caller's own RTP comes from (symmetric RTP, RFC 4961)
//! so that callers behind NAT still hear us, and the caller's telephone-events read from the same
//! socket ([`super::dtmf`]).
//!
//! [`RtpStream`] is what a call uses: it plays a prompt ([`Playback`], resumable after a key
//! press), listens for digits, and follows re-INVITEs ([`RtpStream::set_target`]); its doc says
//! how the pacing keeps from drifting. [`play`] streams one prompt from start to end.
//! [`bind_rtp`] takes the call's port (an even one, RFC 3550 §11). The pacing is what
//! `scripts/bench-sip.sh` measures (its 600-stream part).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::dtmf::DtmfDetector;
use super::g711::{Codec, SAMPLE_RATE};
use super::prompts::Prompt;
use super::sdp::Negotiated;
use crate::config::PortRange;

/// Samples per RTP packet: 20 ms, the RFC 3551 default packetization (§4.2).
pub const SAMPLES_PER_PACKET: usize = 160;
/// The time between two packets: [`SAMPLES_PER_PACKET`] at 8 kHz.
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);

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

/// Where and how to send our side of the call, from offer/answer (RFC 3264 §6.1).
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

    /// New offer/answer (a re-INVITE, RFC 3264 §8): codec, direction or address may change. A new
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
            // RTCP shares the version bits; its packet types 200–204 read as PT 72–76 with the marker
            // (RFC 5761 §4).
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
    use crate::media::{Audio, TelephoneEvent};

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
