//! Images too large to hold in memory, written row by row from the top: one PNG streamed to
//! disk ([`PngRows`]), and a Deep Zoom pyramid ([`Pyramid`]: `NAME.dzi`, `NAME_files/LEVEL/
//! COL_ROW.png` tiles of 256 pixels, every level half the one above down to 1 × 1) that
//! OpenSeadragon shows in a browser, with a small HTML page beside it.
//!
//! Each level keeps one row of tiles and one unpaired row in memory, so the pyramid of a
//! 32768 × 32768 map takes about 2 · 256 · 32768 · 3 bytes (50 MB) however tall the map is.

use super::annotated::MapAxis;
use crate::{Error, Result};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// Tile side of the pyramid, in pixels.
pub const TILE: usize = 256;

/// The largest pyramid level kept whole as an overview (annotated figures are drawn on it).
pub const OVERVIEW: usize = 1024;

/// A PNG written row by row, top row first.
pub struct PngRows {
    path: PathBuf,
    partial: PathBuf,
    writer: png::StreamWriter<'static, std::io::BufWriter<std::fs::File>>,
}

/// Starts an RGB PNG of `width × height` written row by row into `sink`. Every PNG of a map
/// goes through here, so a streamed map's basins.png is the same file, byte for byte, as the
/// one of the map held in memory.
pub fn png_rows<W: std::io::Write + 'static>(sink: W, width: usize, height: usize) -> std::result::Result<png::StreamWriter<'static, W>, png::EncodingError> {
    let mut encoder = png::Encoder::new(sink, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.write_header()?.into_stream_writer()
}

/// `img` as PNG bytes (see [`png_rows`]).
pub fn png_bytes(img: &RgbImage) -> std::result::Result<Vec<u8>, png::EncodingError> {
    use std::io::Write;
    // The stream writer owns its sink: a shared buffer hands the bytes back.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let bytes = Shared::default();
    let mut writer = png_rows(bytes.clone(), img.width() as usize, img.height() as usize)?;
    for row in img.as_raw().chunks(3 * img.width().max(1) as usize) {
        writer.write_all(row)?;
    }
    writer.finish()?;
    let out = bytes.0.borrow().clone();
    Ok(out)
}

impl PngRows {
    /// Starts `path` (written beside it and renamed into place by [`PngRows::finish`]).
    pub fn create(path: &Path, width: usize, height: usize) -> Result<PngRows> {
        let partial = path.with_extension("png.partial");
        let fail = |e: png::EncodingError| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e) };
        let file = std::fs::File::create(&partial).map_err(|source| Error::Write { path: path.to_path_buf(), source })?;
        let writer = png_rows(std::io::BufWriter::new(file), width, height).map_err(fail)?;
        Ok(PngRows { path: path.to_path_buf(), partial, writer })
    }

    /// Appends one row of RGB pixels.
    pub fn push_row(&mut self, row: &[u8]) -> Result<()> {
        use std::io::Write;
        self.writer.write_all(row).map_err(|source| Error::Write { path: self.path.clone(), source })
    }

    /// Ends the image (every row must have been pushed) and moves it into place.
    pub fn finish(self) -> Result<()> {
        let fail = |source| Error::Write { path: self.path.clone(), source };
        self.writer.finish().map_err(|e| fail(std::io::Error::other(e)))?;
        std::fs::rename(&self.partial, &self.path).map_err(fail)
    }
}

/// One level of the pyramid being filled.
struct Level {
    index: u32,
    width: usize,
    /// Rows of the current row of tiles (RGB, `width` pixels each).
    band: Vec<u8>,
    /// Tile rows already written.
    tile_row: usize,
    /// A row waiting for its partner to be halved into the level below.
    unpaired: Option<Vec<u8>>,
    /// All rows, for the overview level.
    keep: Option<Vec<u8>>,
}

/// A Deep Zoom pyramid written as the rows of its full-resolution image arrive, top first.
pub struct Pyramid {
    files: PathBuf,
    /// Level 0 (1 × 1) first.
    levels: Vec<Level>,
    height: usize,
}

impl Pyramid {
    /// Starts the pyramid of a `width` × `height` image: `dir/NAME.dzi`, `dir/NAME_files/`, and
    /// `dir/NAME.html`, a page that shows it with OpenSeadragon (written to
    /// `NAME_files/openseadragon.min.js`).
    pub fn create(dir: &Path, name: &str, width: usize, height: usize, page: &Page) -> Result<Pyramid> {
        let files = dir.join(format!("{name}_files"));
        let fail = |path: PathBuf| move |source| Error::Write { path, source };
        if files.exists() {
            std::fs::remove_dir_all(&files).map_err(fail(files.clone()))?;
        }
        let top = levels_above_one(width, height);
        let mut levels = Vec::new();
        let mut kept = false;
        for index in 0..=top {
            let shrink = top - index;
            let (w, h) = (width.div_ceil(1 << shrink), height.div_ceil(1 << shrink));
            std::fs::create_dir_all(files.join(index.to_string())).map_err(fail(files.clone()))?;
            // The overview: the largest level that fits OVERVIEW (levels run small to large).
            let keep = w <= OVERVIEW && h <= OVERVIEW;
            levels.push(Level { index, width: w, band: Vec::new(), tile_row: 0, unpaired: None, keep: keep.then(Vec::new) });
            kept |= keep;
        }
        // Only the largest level within OVERVIEW keeps its rows.
        if kept {
            let last = levels.iter().rposition(|l| l.keep.is_some()).expect("one kept");
            levels.iter_mut().take(last).for_each(|l| l.keep = None);
        }
        let dzi = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"png\" Overlap=\"0\" TileSize=\"{TILE}\">\n  <Size Width=\"{width}\" Height=\"{height}\"/>\n</Image>\n"
        );
        let dzi_path = dir.join(format!("{name}.dzi"));
        std::fs::write(&dzi_path, dzi).map_err(fail(dzi_path.clone()))?;
        let html_path = dir.join(format!("{name}.html"));
        std::fs::write(&html_path, viewer_page(name, width, height, page)).map_err(fail(html_path.clone()))?;
        let script = files.join("openseadragon.min.js");
        std::fs::write(&script, OPENSEADRAGON).map_err(fail(script.clone()))?;
        Ok(Pyramid { files, levels, height })
    }

    /// Appends the next row (RGB) of the full-resolution image, top first.
    pub fn push_row(&mut self, row: &[u8]) -> Result<()> {
        let top = self.levels.len() - 1;
        self.push(top, row.to_vec())
    }

    fn push(&mut self, level: usize, row: Vec<u8>) -> Result<()> {
        let l = &mut self.levels[level];
        debug_assert_eq!(row.len(), 3 * l.width);
        l.band.extend_from_slice(&row);
        if let Some(k) = l.keep.as_mut() {
            k.extend_from_slice(&row);
        }
        if l.band.len() == 3 * l.width * TILE {
            self.write_band(level)?;
        }
        if level > 0 {
            let l = &mut self.levels[level];
            match l.unpaired.take() {
                None => l.unpaired = Some(row),
                Some(above) => {
                    let half = halve(&above, Some(&row), l.width);
                    self.push(level - 1, half)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the current row of tiles of `level` and empties it.
    fn write_band(&mut self, level: usize) -> Result<()> {
        use rayon::prelude::*;
        let l = &mut self.levels[level];
        if l.band.is_empty() {
            return Ok(());
        }
        let (width, rows) = (l.width, l.band.len() / (3 * l.width));
        let dir = self.files.join(l.index.to_string());
        let band = std::mem::take(&mut l.band);
        let tile_row = l.tile_row;
        l.tile_row += 1;
        (0..width.div_ceil(TILE)).into_par_iter().try_for_each(|col| {
            let x0 = col * TILE;
            let w = TILE.min(width - x0);
            let mut tile = RgbImage::new(w as u32, rows as u32);
            for (y, dst) in tile.chunks_exact_mut(3 * w).enumerate() {
                dst.copy_from_slice(&band[3 * (y * width + x0)..3 * (y * width + x0 + w)]);
            }
            let path = dir.join(format!("{col}_{tile_row}.png"));
            tile.save(&path).map_err(|e| Error::Write { path, source: std::io::Error::other(e) })
        })
    }

    /// Writes what is left of every level; returns the overview (the largest level no more
    /// than [`OVERVIEW`] pixels on a side), once every row has been pushed.
    pub fn finish(mut self) -> Result<RgbImage> {
        for level in (0..self.levels.len()).rev() {
            if let Some(last) = self.levels[level].unpaired.take() {
                let half = halve(&last, None, self.levels[level].width);
                self.push(level - 1, half)?;
            }
            self.write_band(level)?;
        }
        let top = self.levels.len() - 1;
        let l = self.levels.iter_mut().rev().find(|l| l.keep.is_some()).expect("level 0 is 1 x 1");
        let rows = l.keep.take().expect("kept");
        let shrink = top - l.index as usize;
        let h = self.height.div_ceil(1 << shrink);
        RgbImage::from_raw(l.width as u32, h as u32, rows).ok_or_else(|| Error::Io(std::io::Error::other("pyramid overview: rows missing")))
    }
}

/// The levels above 1 × 1: ⌈log2(max side)⌉.
fn levels_above_one(width: usize, height: usize) -> u32 {
    let side = width.max(height).max(1);
    usize::BITS - (side - 1).leading_zeros()
}

/// Two rows (or one, at an odd bottom edge) of `width` pixels averaged 2 × 2 into one row of
/// ⌈width/2⌉, rounding to nearest.
fn halve(a: &[u8], b: Option<&[u8]>, width: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 * width.div_ceil(2));
    for x in (0..width).step_by(2) {
        let xs = if x + 1 < width { &[x, x + 1][..] } else { &[x][..] };
        for c in 0..3 {
            let mut sum = 0u32;
            let mut n = 0u32;
            for row in [Some(a), b].into_iter().flatten() {
                for &xi in xs {
                    sum += row[3 * xi + c] as u32;
                    n += 1;
                }
            }
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    out
}

/// OpenSeadragon, vendored (vendor/openseadragon, BSD 3-clause): written beside every page so
/// that the page works offline.
const OPENSEADRAGON: &str = include_str!("../../vendor/openseadragon/openseadragon.min.js");

/// What the deep-zoom page shows around the image: its title, its axes (the pointer's position
/// read as parameter values) and its legend.
#[derive(Clone, Debug)]
pub struct Page {
    pub title: String,
    pub x: MapAxis,
    pub y: MapAxis,
    pub legend: Vec<([u8; 3], String)>,
}

impl Page {
    /// A page with no axes: pixel coordinates.
    pub fn plain(title: &str, width: usize, height: usize) -> Page {
        let axis = |label: &str, n: usize| MapAxis { label: label.into(), first: 0.0, last: n.saturating_sub(1) as f64, log: false };
        Page { title: title.into(), x: axis("pixel x", width), y: axis("pixel y", height), legend: Vec::new() }
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page that shows `NAME.dzi` with the vendored OpenSeadragon, with axes whose ticks follow
/// the view, a readout of the parameter values under the pointer, and the legend. The tile source
/// is given inline so the page also works opened straight from disk (file://), where browsers
/// refuse to fetch the .dzi.
fn viewer_page(name: &str, width: usize, height: usize, page: &Page) -> String {
    let title = escape_html(&page.title);
    let axis = |a: &MapAxis, n: usize| format!(r#"{{ name: {}, first: {}, last: {}, log: {}, n: {n} }}"#, serde_json::to_string(&a.label).unwrap_or_default(), a.first, a.last, a.log);
    let legend: String = page.legend.iter().map(|(c, t)| format!(r#"<li><span style="background:{}"></span>{}</li>"#, super::palette::hex(*c), escape_html(t))).collect();
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<script src="{name}_files/openseadragon.min.js"></script>
<style>
html, body {{ margin: 0; height: 100%; background: #fff; color: #111; font: 14px "DejaVu Sans", sans-serif; }}
#page {{ display: grid; grid-template-columns: 80px 1fr 300px; grid-template-rows: auto 1fr 44px auto; height: 100%; }}
h1 {{ grid-column: 1 / 4; font-size: 17px; font-weight: normal; text-align: center; margin: 8px; }}
#yaxis {{ position: relative; border-right: 1px solid #111; }} #xaxis {{ grid-column: 2; position: relative; border-top: 1px solid #111; }}
#map {{ background: #eee; }} .tick {{ position: absolute; font-size: 13px; white-space: nowrap; }}
#xaxis .tick {{ transform: translateX(-50%); top: 4px; }} #yaxis .tick {{ transform: translateY(-50%); right: 6px; }}
.name {{ position: absolute; font-size: 15px; }} #xaxis .name {{ bottom: 2px; left: 50%; }} #yaxis .name {{ left: 4px; top: 50%; }}
#side {{ grid-column: 3; grid-row: 2 / 4; padding: 0 12px; overflow: auto; }}
ul {{ list-style: none; padding: 0; margin: 0; }} li {{ margin: 4px 0; }}
li span {{ display: inline-block; width: 18px; height: 14px; border: 1px solid #111; margin-right: 8px; vertical-align: middle; }}
#readout {{ grid-column: 2 / 4; margin: 4px 0; min-height: 1.3em; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<div id="page">
<h1>{title}</h1>
<div id="yaxis"></div>
<div id="map"></div>
<div id="side"><ul>{legend}</ul><p>{width} &times; {height} pixels. Scroll to zoom, drag to pan.</p></div>
<div></div><div id="xaxis"></div>
<div></div><div id="readout">&nbsp;</div>
</div>
<script>
const AXES = {{ x: {x_axis}, y: {y_axis} }};
const HEIGHT = {height};
// The value at pixel centre coordinate p (0 … n−1) of an axis.
function value(a, p) {{
  const t = a.n > 1 ? p / (a.n - 1) : 0;
  if (a.log) return Math.pow(10, Math.log10(a.first) + t * (Math.log10(a.last) - Math.log10(a.first)));
  return a.first + t * (a.last - a.first);
}}
// The pixel coordinate of value v (inverse of value).
function pixel(a, v) {{
  if (a.n <= 1) return 0;
  const t = a.log ? (Math.log10(v) - Math.log10(a.first)) / (Math.log10(a.last) - Math.log10(a.first)) : (v - a.first) / (a.last - a.first);
  return t * (a.n - 1);
}}
function fmt(v, span) {{
  if (v === 0 || Math.abs(v) < 1e-12 * span) return "0";
  const digits = Math.max(0, 3 - Math.floor(Math.log10(span || Math.abs(v))));
  const s = Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(3).replace(/\.?0+e/, "e") : v.toFixed(Math.min(digits, 10)).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  return s.replace("-", "\u2212");
}}
const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
function decade(k) {{ return k === 0 ? "1" : k === 1 ? "10" : "10" + (k < 0 ? "⁻" : "") + String(Math.abs(k)).split("").map(d => SUP[d]).join(""); }}
// Round values within [lo, hi]: decades on a log axis, 1-2-5 steps otherwise.
function ticks(a, lo, hi) {{
  if (a.log) {{
    const out = [];
    for (let k = Math.ceil(Math.log10(lo)); k <= Math.floor(Math.log10(hi)); k++) out.push([Math.pow(10, k), decade(k)]);
    if (out.length >= 2) return out;
  }}
  const span = hi - lo, raw = span / 5, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => span / s <= 5);
  const out = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) out.push([k * step, fmt(k * step, span)]);
  return out;
}}
const viewer = OpenSeadragon({{
  id: "map",
  showNavigationControl: false,
  // The canvas drawer: WebGL refuses tiles read from file://, so the page works from disk.
  drawer: "canvas",
  maxZoomPixelRatio: 16,
  imageSmoothingEnabled: false,
  tileSources: {{
    Image: {{
      xmlns: "http://schemas.microsoft.com/deepzoom/2008",
      Url: "{name}_files/",
      Format: "png",
      Overlap: "0",
      TileSize: "{TILE}",
      Size: {{ Width: "{width}", Height: "{height}" }}
    }}
  }}
}});
// Image coordinates (x right, y down, pixel edges) of a point of the map's element.
function imageAt(px, py) {{
  return viewer.viewport.viewerElementToImageCoordinates(new OpenSeadragon.Point(px, py));
}}
function drawAxes() {{
  const box = viewer.container.getBoundingClientRect();
  const a = imageAt(0, 0), b = imageAt(box.width, box.height);
  const sides = [["x", "xaxis", a.x - 0.5, b.x - 0.5, box.width], ["y", "yaxis", HEIGHT - b.y - 0.5, HEIGHT - a.y - 0.5, box.height]];
  for (const [k, id, p0, p1, size] of sides) {{
    const axis = AXES[k], el = document.getElementById(id);
    const v0 = value(axis, Math.max(0, p0)), v1 = value(axis, Math.min(axis.n - 1, p1));
    let html = '<span class="name">' + axis.name.replace(/</g, "&lt;") + "</span>";
    for (const [v, label] of ticks(axis, Math.min(v0, v1), Math.max(v0, v1))) {{
      const f = (pixel(axis, v) - p0) / (p1 - p0);
      if (!(f >= 0 && f <= 1)) continue;
      html += k === "x" ? '<span class="tick" style="left:' + (f * size) + 'px">' + label + "</span>"
                        : '<span class="tick" style="top:' + ((1 - f) * size) + 'px">' + label + "</span>";
    }}
    el.innerHTML = html;
  }}
}}
viewer.addHandler("open", drawAxes);
viewer.addHandler("animation", drawAxes);
viewer.addHandler("resize", drawAxes);
new OpenSeadragon.MouseTracker({{
  element: viewer.container,
  moveHandler: function (e) {{
    const p = imageAt(e.position.x, e.position.y);
    const ix = Math.floor(p.x), iy = HEIGHT - 1 - Math.floor(p.y);
    const out = document.getElementById("readout");
    if (ix < 0 || iy < 0 || ix >= AXES.x.n || iy >= AXES.y.n) {{ out.innerHTML = "&nbsp;"; return; }}
    const span = a => Math.abs(a.last - a.first) / Math.max(1, a.n - 1) * 10;
    out.textContent = AXES.x.name + " = " + fmt(value(AXES.x, ix), span(AXES.x)) + ",  " + AXES.y.name + " = " + fmt(value(AXES.y, iy), span(AXES.y)) + "   (pixel " + ix + ", " + iy + ")";
  }}
}});
</script>
</body>
</html>
"##,
        x_axis = axis(&page.x, width),
        y_axis = axis(&page.y, height),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_reach_one_pixel() {
        assert_eq!(levels_above_one(1, 1), 0);
        assert_eq!(levels_above_one(2, 1), 1);
        assert_eq!(levels_above_one(256, 100), 8);
        assert_eq!(levels_above_one(257, 3), 9);
        assert_eq!(levels_above_one(32768, 32768), 15);
    }

    #[test]
    fn halving_averages_and_keeps_odd_edges() {
        let a = [0, 0, 0, 10, 10, 10, 7, 8, 9];
        let b = [20, 20, 20, 30, 30, 30, 9, 8, 7];
        assert_eq!(halve(&a, Some(&b), 3), vec![15, 15, 15, 8, 8, 8]);
        assert_eq!(halve(&a, None, 3), vec![5, 5, 5, 7, 8, 9]);
    }

    /// Every tile of every level is where Deep Zoom puts it, of the right size, and each level
    /// is the one above halved.
    #[test]
    fn pyramid_tiles_every_level() {
        let (w, h) = (600, 300);
        let dir = tempfile::tempdir().unwrap();
        let page = Page { title: "a <test>".into(), x: MapAxis { label: "γ".into(), first: 0.01, last: 1.0, log: true }, y: MapAxis { label: "m₀".into(), first: -1.5, last: 1.5, log: false }, legend: vec![([0, 0x72, 0xB2], "0 fixed (50%)".into())] };
        let mut p = Pyramid::create(dir.path(), "m", w, h, &page).unwrap();
        let pixel = |x: usize, y: usize| [(x % 256) as u8, (y % 256) as u8, ((x * 7 + y * 3) % 256) as u8];
        for y in 0..h {
            let row: Vec<u8> = (0..w).flat_map(|x| pixel(x, y)).collect();
            p.push_row(&row).unwrap();
        }
        let overview = p.finish().unwrap();
        let files = dir.path().join("m_files");
        let top = levels_above_one(w, h);
        assert_eq!(top, 10);
        for level in 0..=top {
            let shrink = top - level;
            let (lw, lh) = (w.div_ceil(1 << shrink), h.div_ceil(1 << shrink));
            for col in 0..lw.div_ceil(TILE) {
                for row in 0..lh.div_ceil(TILE) {
                    let t = image::open(files.join(format!("{level}/{col}_{row}.png"))).unwrap().to_rgb8();
                    assert_eq!((t.width() as usize, t.height() as usize), ((lw - col * TILE).min(TILE), (lh - row * TILE).min(TILE)), "level {level} tile {col}_{row}");
                }
            }
            assert_eq!(std::fs::read_dir(files.join(level.to_string())).unwrap().count(), lw.div_ceil(TILE) * lh.div_ceil(TILE));
        }
        // Full resolution: tile 2_1 holds pixels from (512, 256).
        let t = image::open(files.join(format!("{top}/2_1.png"))).unwrap().to_rgb8();
        assert_eq!(t.get_pixel(5, 7).0, pixel(517, 263));
        // One level down: the 2 × 2 mean.
        let t = image::open(files.join(format!("{}/0_0.png", top - 1))).unwrap().to_rgb8();
        let mean = |c: usize| ((0..4).map(|k| pixel(2 * 3 + k % 2, 2 * 4 + k / 2)[c] as u32).sum::<u32>() + 2) / 4;
        assert_eq!(t.get_pixel(3, 4).0, [mean(0) as u8, mean(1) as u8, mean(2) as u8]);
        // The overview is the largest level within OVERVIEW pixels: here the full image.
        assert_eq!((overview.width(), overview.height()), (600, 300));
        assert_eq!(overview.get_pixel(517, 263).0, pixel(517, 263));
        let html = std::fs::read_to_string(dir.path().join("m.html")).unwrap();
        assert!(html.contains("Url: \"m_files/\"") && html.contains("Width: \"600\""));
        // Offline: the viewer is the vendored copy beside the page, nothing is fetched from afar.
        assert!(!html.contains("https://") && html.contains(r#"<script src="m_files/openseadragon.min.js">"#) && html.contains(r#"drawer: "canvas""#));
        assert_eq!(std::fs::read_to_string(files.join("openseadragon.min.js")).unwrap(), OPENSEADRAGON);
        // The axes (names, ranges, log) for ticks and the pointer's readout; the legend; the title escaped.
        assert!(html.contains(r#"x: { name: "γ", first: 0.01, last: 1, log: true, n: 600 }"#), "{html:.3000}");
        assert!(html.contains(r#"y: { name: "m₀", first: -1.5, last: 1.5, log: false, n: 300 }"#));
        assert!(html.contains("#0072b2") && html.contains("0 fixed (50%)") && html.contains("a &lt;test&gt;"));
        assert!(std::fs::read_to_string(dir.path().join("m.dzi")).unwrap().contains("Width=\"600\" Height=\"300\""));
    }

    #[test]
    fn png_rows_make_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        let mut png = PngRows::create(&path, 3, 2).unwrap();
        png.push_row(&[1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
        png.push_row(&[9, 8, 7, 6, 5, 4, 3, 2, 1]).unwrap();
        png.finish().unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(1, 0).0, [4, 5, 6]);
        assert_eq!(img.get_pixel(2, 1).0, [3, 2, 1]);
    }
}
