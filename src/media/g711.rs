//! G.711, the one codec we speak, in its two laws: µ-law (PCMU, static payload type 0) and
//! A-law (PCMA, static payload type 8), 8,000 samples a second of one byte each
//! (RFC 3551 §4.5.14; the encoding itself is ITU-T G.711).
//!
//! Every prompt is converted into both laws once, at start-up ([`super::prompts`]), so a call
//! never transcodes: it sends the bytes of the law that offer/answer chose ([`super::sdp`]).

/// G.711 sample rate; also the RTP clock rate of PCMU/PCMA (RFC 3551 §4.5.14).
pub const SAMPLE_RATE: u32 = 8000;

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
    pub(super) fn silence(self) -> u8 {
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
}
