//! Embedded font: DejaVu Sans from the `dejavu` crate, registered with plotters as
//! `sans-serif` on first use, so no system font (fontconfig, freetype) is ever needed.

use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// The family name every figure uses; it is also what the SVG output names.
pub const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();

/// Registers DejaVu Sans (regular, bold, oblique) as `sans-serif`; idempotent and thread-safe.
pub fn ensure_fonts() -> Result<()> {
    REGISTERED
        .get_or_init(|| {
            let faces: [(FontStyle, &'static [u8], &str); 4] = [
                (FontStyle::Normal, dejavu::sans::regular(), "regular"),
                (FontStyle::Bold, dejavu::sans::bold(), "bold"),
                (FontStyle::Oblique, dejavu::sans::oblique(), "oblique"),
                (FontStyle::Italic, dejavu::sans::oblique(), "italic"),
            ];
            for (style, bytes, what) in faces {
                register_font(FAMILY, style, bytes)
                    .map_err(|_| format!("embedded DejaVu Sans {what} font is not a valid font"))?;
            }
            Ok(())
        })
        .clone()
        .map_err(|e| anyhow!(e))
}
