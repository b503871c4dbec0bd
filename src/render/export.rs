//! From a figure's SVG to the files a user asked for (`[figure] formats`, `--format`): the SVG
//! itself; a PNG that resvg rasterises at `[figure] dpi`, its text shaped and evenly spaced; a
//! PDF from svg2pdf, its text real text in the embedded font. Figures are drawn once, so the
//! three always agree. Layout units are [`UNITS_PER_INCH`] to the inch.

use super::fonts;
use crate::io::OutputDir;
use crate::scenario::{FigureOptions, Format};
use crate::{Error, Result};
use resvg::{tiny_skia, usvg};

/// SVG units per inch: a figure of 1100 × 760 units is 11 × 7.6 inches, and its PNG at the
/// default 100 dpi is 1100 × 760 pixels.
pub const UNITS_PER_INCH: f64 = 100.0;

fn export_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!("{what}: {e}")))
}

/// A figure's size in SVG units: `[figure] size` (inches) where given, else `default`.
pub fn size(options: &FigureOptions, default: (u32, u32)) -> (u32, u32) {
    match options.size {
        Some([w, h]) => ((w * UNITS_PER_INCH).round() as u32, (h * UNITS_PER_INCH).round() as u32),
        None => default,
    }
}

fn parse(svg: &str) -> Result<usvg::Tree> {
    let options = usvg::Options { fontdb: fonts::database()?, ..usvg::Options::default() };
    usvg::Tree::from_str(svg, &options).map_err(|e| export_error("reading a figure's SVG", e))
}

/// The figure as PNG bytes at `dpi` pixels per inch, on white.
pub fn png(svg: &str, dpi: f64) -> Result<Vec<u8>> {
    let tree = parse(svg)?;
    let scale = (dpi / UNITS_PER_INCH) as f32;
    let size = tree.size().to_int_size().scale_by(scale).ok_or_else(|| export_error("rasterising a figure", "empty size"))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| export_error("rasterising a figure", "no memory for its pixels"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    // Opaque on white: the premultiplied RGBA is plain RGB.
    let rgb: Vec<u8> = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(&mut bytes, image::codecs::png::CompressionType::Best, image::codecs::png::FilterType::Adaptive);
    image::ImageEncoder::write_image(encoder, &rgb, size.width(), size.height(), image::ExtendedColorType::Rgb8).map_err(|e| export_error("encoding a figure's PNG", e))?;
    Ok(bytes)
}

/// The figure as PDF bytes, one page of the figure's size.
pub fn pdf(svg: &str) -> Result<Vec<u8>> {
    let tree = parse(svg)?;
    let page = svg2pdf::PageOptions { dpi: UNITS_PER_INCH as f32 };
    svg2pdf::to_pdf(&tree, svg2pdf::ConversionOptions::default(), page).map_err(|e| export_error("writing a figure's PDF", e))
}

/// Writes `<stem>.<ext>` in each of `options.formats`; returns the file names.
/// The formats are made at once (each decodes the figure's embedded map again: at 8192², seconds).
pub fn write(dir: &OutputDir, stem: &str, svg: &str, options: &FigureOptions) -> Result<Vec<String>> {
    use rayon::prelude::*;
    let made: Vec<(Format, Vec<u8>)> = options
        .formats
        .par_iter()
        .map(|&format| {
            let bytes = match format {
                Format::Svg => svg.as_bytes().to_vec(),
                Format::Png => png(svg, options.dpi)?,
                Format::Pdf => pdf(svg)?,
            };
            Ok((format, bytes))
        })
        .collect::<Result<_>>()?;
    let mut files = Vec::new();
    for (format, bytes) in made {
        let name = format!("{stem}.{}", format.extension());
        dir.write_bytes(&name, &bytes)?;
        files.push(name);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    /// Text is drawn with the bundled font and nothing else: this database holds no system font,
    /// so a figure's text shows on a machine that has none.
    #[test]
    fn text_is_drawn_with_the_bundled_font_alone() {
        let db = super::fonts::database().unwrap();
        assert_eq!(db.len(), 1);
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" viewBox="0 0 200 60"><text x="10" y="40" font-family="sans-serif" font-size="30">Hg γ ×</text></svg>"#;
        let png = super::png(svg, 100.0).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (200, 60));
        let dark = img.pixels().filter(|p| p[0] < 128).count();
        assert!(dark > 200, "{dark} dark pixels: the text was not drawn");
        // At 300 dpi, three times the pixels each way.
        let img = image::load_from_memory(&super::png(svg, 300.0).unwrap()).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (600, 180));
        // The PDF embeds the font.
        let pdf = super::pdf(svg).unwrap();
        assert!(pdf.starts_with(b"%PDF-") && String::from_utf8_lossy(&pdf).contains("DejaVuSans"));
    }
}
