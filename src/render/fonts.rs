//! The font figures are labelled with: plotters draws text with ab_glyph from a TrueType file
//! found at run time (no font ships inside basinmap). `BASINMAP_FONT` names one; otherwise common
//! system locations are tried. Without any, figures are drawn without text.

use std::sync::OnceLock;

const CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a sans-serif font with plotters once; false when none was found.
pub fn available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let from_env = std::env::var_os("BASINMAP_FONT").map(std::path::PathBuf::from);
        let paths = from_env.into_iter().chain(CANDIDATES.iter().map(std::path::PathBuf::from));
        for path in paths {
            if let Ok(bytes) = std::fs::read(&path) {
                // plotters keeps registered fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}
