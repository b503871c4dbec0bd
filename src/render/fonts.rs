//! The font figures are labelled with. basinmap ships DejaVu Sans (the `dejavu` crate embeds it
//! in the binary), so every figure has its text on any machine, with no system fonts;
//! `BASINMAP_FONT=/path/to/font.ttf` draws with another TrueType or OpenType font instead. A
//! `BASINMAP_FONT` that cannot be read, or is not a font, is an error (at the start of a
//! command, before any work), never a figure silently drawn without text.

use crate::{Error, Result};
use resvg::usvg::fontdb;
use std::sync::{Arc, OnceLock};

/// The variable that names a font file to draw with instead of the bundled one.
pub const FONT_VARIABLE: &str = "BASINMAP_FONT";

/// Registers the figures' font with plotters, which lays text out with it (once per process):
/// `BASINMAP_FONT`'s where set, else the bundled DejaVu Sans.
pub fn load() -> Result<()> {
    database().map(|_| ())
}

/// The font database that turns the figures' SVG into PNG and PDF: the one font, as the
/// family `sans-serif` that plotters names. Built once, with [`load`]'s registration.
pub fn database() -> Result<Arc<fontdb::Database>> {
    static LOADED: OnceLock<std::result::Result<Arc<fontdb::Database>, String>> = OnceLock::new();
    LOADED.get_or_init(register).clone().map_err(Error::input)
}

fn register() -> std::result::Result<Arc<fontdb::Database>, String> {
    let (bytes, shown): (&'static [u8], String) = match std::env::var_os(FONT_VARIABLE) {
        None => (dejavu::sans::regular(), "the bundled DejaVu Sans".into()),
        Some(path) => {
            let shown = format!("{FONT_VARIABLE}={}", std::path::Path::new(&path).display());
            let bytes = std::fs::read(&path).map_err(|e| format!("{shown}: cannot read the font: {e}"))?;
            // plotters keeps registered fonts for the life of the process.
            (Box::leak(bytes.into_boxed_slice()), shown)
        }
    };
    let not_a_font = || format!("{shown}: not a TrueType or OpenType font that can be drawn with");
    plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes).map_err(|_| not_a_font())?;
    let mut db = fontdb::Database::new();
    db.load_font_data(bytes.to_vec());
    let family = db.faces().next().and_then(|f| f.families.first()).map(|(name, _)| name.clone()).ok_or_else(not_a_font)?;
    db.set_sans_serif_family(family);
    Ok(Arc::new(db))
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
