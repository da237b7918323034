//! A code drawn as a QR symbol: inline SVG for the ticket page (no JavaScript,
//! no image request) and PNG for mail clients, most of which show no SVG.
//! The symbol is made by the `qrcode` crate at error-correction level M (a
//! phone screen with a scratch or glare still reads); a 116-character base45
//! code goes in alphanumeric mode and makes a version-5 symbol (37×37 modules).

use std::sync::LazyLock;

use qrcode::{EcLevel, QrCode};
use quick_cache::sync::Cache;

/// Modules of white around the symbol (ISO/IEC 18004 asks for 4).
const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("QR code: {0}")]
pub struct QrError(String);

fn symbol(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| QrError(e.to_string()))
}

/// The symbol's version (1–40), for the docs and tests.
pub fn version(text: &str) -> Result<i16, QrError> {
    match symbol(text)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}

/// Drawn SVGs by (text, size): a ticket page shows the same seat codes on every
/// view, and an admission page's live code changes once a step. About 8 kB
/// each; at most 16 MB in all, the least used going first.
static SVGS: LazyLock<Cache<(String, u32), std::sync::Arc<str>, SvgWeight>> =
    LazyLock::new(|| Cache::with_weighter(2_000, 16 << 20, SvgWeight));

#[derive(Clone)]
struct SvgWeight;

impl quick_cache::Weighter<(String, u32), std::sync::Arc<str>> for SvgWeight {
    fn weight(&self, key: &(String, u32), svg: &std::sync::Arc<str>) -> u64 {
        (key.0.len() + svg.len()) as u64
    }
}

/// The symbol as an `<svg>` element to put in a page (the XML declaration the
/// renderer writes first is left out), `size` CSS pixels wide at least. Drawn
/// once and kept (see [`SVGS`]).
pub fn svg(text: &str, size: u32) -> Result<String, QrError> {
    let key = (text.to_string(), size);
    if let Some(svg) = SVGS.get(&key) {
        return Ok(svg.to_string());
    }
    let svg = draw_svg(text, size)?;
    SVGS.insert(key, std::sync::Arc::from(svg.as_str()));
    Ok(svg)
}

fn draw_svg(text: &str, size: u32) -> Result<String, QrError> {
    let image = symbol(text)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000"))
        .light_color(qrcode::render::svg::Color("#fff"))
        .build();
    let start = image.find("<svg").unwrap_or(0);
    Ok(image[start..].to_string())
}

/// The symbol as a greyscale PNG, `scale` pixels a module.
pub fn png(text: &str, scale: usize) -> Result<Vec<u8>, QrError> {
    let code = symbol(text)?;
    let modules = code.width();
    let side = (modules + 2 * QUIET_ZONE) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    let row = (y + QUIET_ZONE) * scale + dy;
                    let from = row * side + (x + QUIET_ZONE) * scale;
                    pixels[from..from + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| QrError(e.to_string()))?;
    writer.write_image_data(&pixels).map_err(|e| QrError(e.to_string()))?;
    writer.finish().map_err(|e| QrError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::door::code::SeatCode;

    #[test]
    fn a_seat_code_is_a_version_5_symbol_in_svg_and_png() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let text = SeatCode::sign(&key, "open-rehearsal", 1, 1).text();
        assert_eq!(version(&text).unwrap(), 5);
        let svg = svg(&text, 240).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        let png = png(&text, 4).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        // 37 modules and the quiet zone, 4 pixels each: 180 × 180.
        assert_eq!(&png[16..24], &[0, 0, 0, 180, 0, 0, 0, 180]);
    }

    #[test]
    fn a_kept_svg_is_the_one_drawn() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let text = SeatCode::sign(&key, "open-rehearsal", 2, 1).text();
        let first = svg(&text, 200).unwrap();
        assert_eq!(first, draw_svg(&text, 200).unwrap());
        assert_eq!(svg(&text, 200).unwrap(), first, "kept");
        assert_ne!(svg(&text, 232).unwrap(), first, "another size is another drawing");
    }
}
