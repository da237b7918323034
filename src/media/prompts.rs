//! The announcement catalogue: `prompts/<lang>/<name>.wav`, loaded once at start-up and kept in
//! both G.711 laws ([`Prompts`]), with a built-in tone for a prompt whose file is missing.
//!
//! Accepted: 8 kHz mono µ-law, A-law (RFC 3551 §4.5.14) or 16-bit linear PCM, in a plain or a
//! WAVE_FORMAT_EXTENSIBLE `fmt ` chunk; anything else is refused at start-up.
//!
//! The files are read by [`parse_wav`], a small RIFF reader of our own, not by the `hound` crate:
//! hound 3.5 refuses µ-law and A-law (format tags 7 and 6, plain or extensible) as "not
//! supported", and every prompt we ship is µ-law. Nor would it do for 16-bit PCM alone: it refuses
//! PCM files this reader takes — an odd-sized chunk before the data (it does not skip the RIFF pad
//! byte), a streaming writer's data size of 0xFFFFFFFF, a data chunk of odd length, a `fmt ` chunk
//! of other than 16, 18 or 40 bytes, a byte rate other than block align × sample rate.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear, Codec, SAMPLE_RATE};

/// Why a WAV file is refused.
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

/// One announcement, ready to send in either G.711 law.
#[derive(Debug, Clone)]
pub struct Prompt {
    name: String,
    pub(super) pcmu: Vec<u8>,
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// PCM files that this reader takes and a stricter one (hound 3.5) refuses; see the module doc.
    #[test]
    fn pcm_wav_shapes_we_keep_accepting() {
        let pcm = [0x10, 0x00, 0xF0, 0xFF];
        let samples = Ok(Audio::Linear(vec![16, -16]));
        // An odd-sized chunk before the data, with its pad byte: `wav` writes a 3-byte LIST chunk.
        assert_eq!(parse_wav(&wav(1, 1, 8000, 16, &pcm, &[])), samples);
        // A streaming writer's data size.
        let mut streaming = wav(1, 1, 8000, 16, &pcm, &[]);
        let at = streaming.len() - 8;
        streaming[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse_wav(&streaming), samples);
        // A data chunk of odd length: the half sample at the end is dropped.
        assert_eq!(parse_wav(&wav(1, 1, 8000, 16, &pcm[..3], &[])), Ok(Audio::Linear(vec![16])));
        // A 20-byte fmt chunk.
        assert_eq!(parse_wav(&wav(1, 1, 8000, 16, &pcm, &[0, 0, 0, 0])), samples);
        // A byte rate of 0 (it is at offset 28: RIFF header 12, chunk header 8, tag, channels, rate).
        let mut no_byte_rate = wav(1, 1, 8000, 16, &pcm, &[]);
        no_byte_rate[28..32].fill(0);
        assert_eq!(parse_wav(&no_byte_rate), samples);
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
}
