//! The font figures are labelled with. basinmap ships DejaVu Sans (the `dejavu` crate embeds it
//! in the binary), so every figure has its text on any machine, with no system fonts;
//! `BASINMAP_FONT=/path/to/font.ttf` draws with another TrueType or OpenType font instead. A
//! `BASINMAP_FONT` that cannot be read, or is not a font, is an error (at the start of a
//! command, before any work), never a figure silently drawn without text.

use crate::{Error, Result};
use std::sync::OnceLock;

/// The variable that names a font file to draw with instead of the bundled one.
pub const FONT_VARIABLE: &str = "BASINMAP_FONT";

/// Registers the figures' font with plotters (once per process): `BASINMAP_FONT`'s where set,
/// else the bundled DejaVu Sans.
pub fn load() -> Result<()> {
    static LOADED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    LOADED.get_or_init(register).clone().map_err(Error::input)
}

fn register() -> std::result::Result<(), String> {
    let bytes: &'static [u8] = match std::env::var_os(FONT_VARIABLE) {
        None => dejavu::sans::regular(),
        Some(path) => {
            let shown = std::path::Path::new(&path).display().to_string();
            let bytes = std::fs::read(&path).map_err(|e| format!("{FONT_VARIABLE}={shown}: cannot read the font: {e}"))?;
            // plotters keeps registered fonts for the life of the process.
            Box::leak(bytes.into_boxed_slice())
        }
    };
    plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
        .map_err(|_| format!("{FONT_VARIABLE}: not a TrueType or OpenType font that can be drawn with"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_font_is_a_font() {
        let face = ab_glyph::FontRef::try_from_slice(dejavu::sans::regular()).expect("DejaVu Sans parses");
        // The letters figures use: Greek, primes, sub- and superscripts, the multiplication sign.
        for c in "γσ²₀′″×−⁻¹⁰".chars() {
            assert_ne!(ab_glyph::Font::glyph_id(&face, c).0, 0, "no glyph for {c}");
        }
    }
}
