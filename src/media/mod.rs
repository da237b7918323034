//! Media: what a call sends and hears besides SIP. The SIP layer reads the caller's SDP before
//! any ticket work ([`negotiate`]: 488 when nothing fits), then the endpoint binds the call's RTP
//! port, answers, plays the prompts the call's handler chose and collects the keys pressed.
//!
//! | file | what lives there | rules from |
//! |---|---|---|
//! | [`sdp`] | SDP parsing and offer/answer: [`negotiate`] an offer and [`answer_sdp`] it; for an INVITE without SDP, our [`offer_sdp`] and [`read_answer`] | RFC 4566, RFC 3264 |
//! | [`g711`] | [`Codec`] (PCMU, PCMA) and the µ-law / A-law conversions | RFC 3551 §4.5.14 |
//! | [`prompts`] | the prompt catalogue [`Prompts`] (`prompts/<lang>/<name>.wav`, read once into both laws) and the WAV reader | |
//! | [`rtp`] | [`RtpStream`]: 20 ms pacing from a monotonic clock, latching to the caller's source; [`bind_rtp`] | RFC 3550, RFC 3551, RFC 4961 |
//! | [`dtmf`] | key presses: telephone-events in the RTP stream ([`DtmfDetector`]) and SIP INFO bodies ([`dtmf_from_info`]) | RFC 4733 |
//!
//! Kept small on purpose: one audio stream, G.711 only, nothing transcoded during a call, and
//! incoming RTCP ignored. Everything public is re-exported here, so callers write
//! `media::parse_sdp` or `media::Prompts` without knowing which file holds it.

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
