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
pub mod prompts;
pub mod rtp;
pub mod sdp;

pub use dtmf::{dtmf_digit, dtmf_event, dtmf_from_info, DtmfDetector, TelephoneEvent};
pub use g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear, Codec, SAMPLE_RATE};
pub use prompts::{parse_wav, Audio, Prompt, PromptError, Prompts, WavError, MAX_PROMPT_BYTES};
pub use rtp::{
    bind_rtp, play, wait_for_rtp, MediaEvent, MediaTarget, PlayStats, Playback, RtpStream, PACKET_INTERVAL,
    SAMPLES_PER_PACKET,
};
pub use sdp::{
    answer_sdp, answer_sdp_version, negotiate, new_session_id, offer_sdp, offer_sdp_version, parse_sdp, read_answer,
    Direction, MediaDescription, Negotiated, SdpError, SessionDescription, OUR_TELEPHONE_EVENT_PT,
};
