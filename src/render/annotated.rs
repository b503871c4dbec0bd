//! Annotated maps: a raw pixel image (basins, trainability, a heat map) placed on axes with tick
//! values and the parameters' names (log axes with their decades as 10ᵏ), with a title, a legend of
//! its colours or a colour bar, drawn with plotters to PNG and SVG. In the SVG the image itself
//! is one embedded PNG, so the file stays small whatever the map's resolution.

use super::{fonts, numbers};
use crate::plan::{GridAxis, Plan};
use crate::{Error, Result};
use base64::Engine as _;
use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One axis of a map: its name, and the centre values of the first and last pixel.
#[derive(Clone, Debug)]
pub struct MapAxis {
    pub label: String,
    pub first: f64,
    pub last: f64,
    pub log: bool,
}

impl MapAxis {
    pub fn of(axis: &GridAxis) -> MapAxis {
        MapAxis { label: axis.name.clone(), first: axis.values[0], last: *axis.values.last().expect("an axis has values"), log: axis.log }
    }
    /// The plotted coordinate of value `v` (log10 on a log axis).
    fn coord(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }
    /// The range covered by `n` pixels whose centres run from `first` to `last`.
    fn extent(&self, n: usize) -> (f64, f64) {
        let (a, b) = (self.coord(self.first), self.coord(self.last));
        let half = if n > 1 { 0.5 * (b - a) / (n - 1) as f64 } else { 0.5 * a.abs().max(1e-3) };
        (a - half, b + half)
    }
    fn name(&self) -> String {
        self.label.clone()
    }
    /// A tick's label at plotted coordinate `v` of a range `span` long.
    fn tick(&self, v: f64, span: f64) -> String {
        if self.log {
            numbers::log_tick(v, span)
        } else {
            numbers::tick(v, span)
        }
    }
}

/// A colour scale for continuous values: `colour(t)` for t in [0, 1] spans `lo`..`hi`.
#[derive(Clone, Debug)]
pub struct ColourBar {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    /// The bar's values are log10 of the quantity.
    pub log: bool,
    pub colour: fn(f64) -> [u8; 3],
}

/// A map with everything needed to annotate it.
pub struct AnnotatedMap<'a> {
    pub title: String,
    pub image: &'a RgbImage,
    pub x: MapAxis,
    pub y: MapAxis,
    /// Colour swatches and what they mean (attractors); at most [`MAX_LEGEND`] are listed.
    pub legend: Vec<([u8; 3], String)>,
    pub colour_bar: Option<ColourBar>,
}

/// Most legend entries drawn (the rest are summarised in one line).
pub const MAX_LEGEND: usize = 18;

/// The figure's size in pixels.
pub const SIZE: (u32, u32) = (1100, 760);

fn plot_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Io(std::io::Error::other(format!("drawing an annotated map: {e:?}")))
}

/// Draws the figure; returns the plotting area's pixel rectangle (x0, y0, x1, y1) where the image
/// goes. With `blit`, the image is painted there pixel by pixel (bitmap backends).
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, map: &AnnotatedMap<'_>, blit: bool) -> Result<(i32, i32, i32, i32)> {
    fonts::load()?;
    root.fill(&WHITE).map_err(plot_error)?;
    let body = root.titled(&map.title, ("sans-serif", 22)).map_err(plot_error)?;
    let (w, _) = body.dim_in_pixel();
    let (main, side) = body.split_horizontally(w as i32 - 330);
    let (nx, ny) = (map.image.width() as usize, map.image.height() as usize);
    let (x0, x1) = map.x.extent(nx);
    let (y0, y1) = map.y.extent(ny);
    let mut chart = ChartBuilder::on(&main)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_error)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh();
    let (x_tick, y_tick) = (|v: &f64| map.x.tick(*v, x1 - x0), |v: &f64| map.y.tick(*v, y1 - y0));
    mesh.x_desc(map.x.name()).y_desc(map.y.name()).x_label_formatter(&x_tick).y_label_formatter(&y_tick);
    mesh.label_style(("sans-serif", 15)).axis_desc_style(("sans-serif", 17));
    mesh.draw().map_err(plot_error)?;
    let area = chart.plotting_area();
    let (px, py) = area.get_pixel_range();
    let rect = (px.start, py.start, px.end, py.end);
    if blit {
        let (w, h) = ((px.end - px.start).max(1) as u32, (py.end - py.start).max(1) as u32);
        for j in 0..h {
            let iy = (j as u64 * ny as u64 / h as u64) as u32;
            for i in 0..w {
                let ix = (i as u64 * nx as u64 / w as u64) as u32;
                let p = map.image.get_pixel(ix, iy).0;
                root.draw_pixel((px.start + i as i32, py.start + j as i32), &RGBColor(p[0], p[1], p[2])).map_err(plot_error)?;
            }
        }
    }
    // A frame around the image.
    root.draw(&Rectangle::new([(px.start - 1, py.start - 1), (px.end, py.end)], BLACK.stroke_width(1))).map_err(plot_error)?;
    draw_side(&side, map)?;
    Ok(rect)
}

/// The legend (swatch and words per entry) and/or the colour bar, in the right-hand column.
fn draw_side<DB: DrawingBackend>(side: &DrawingArea<DB, Shift>, map: &AnnotatedMap<'_>) -> Result<()> {
    let font = ("sans-serif", 13).into_font();
    let mut y = 24;
    let shown = map.legend.len().min(MAX_LEGEND);
    for (colour, label) in &map.legend[..shown] {
        side.draw(&Rectangle::new([(8, y), (30, y + 16)], RGBColor(colour[0], colour[1], colour[2]).filled())).map_err(plot_error)?;
        side.draw(&Rectangle::new([(8, y), (30, y + 16)], BLACK.stroke_width(1))).map_err(plot_error)?;
        // Long labels are cut to the column's width.
        let words: String = if label.chars().count() > 46 { label.chars().take(45).chain(std::iter::once('…')).collect() } else { label.clone() };
        side.draw(&Text::new(words, (38, y + 1), font.clone())).map_err(plot_error)?;
        y += 24;
    }
    if map.legend.len() > shown {
        side.draw(&Text::new(format!("… and {} more (attractors.csv)", map.legend.len() - shown), (8, y + 1), font.clone())).map_err(plot_error)?;
        y += 24;
    }
    if let Some(bar) = &map.colour_bar {
        let (_, h) = side.dim_in_pixel();
        let top = y + 30;
        let bottom = (h as i32 - 60).max(top + 60);
        side.draw(&Text::new(if bar.log { format!("log10({})", bar.label) } else { bar.label.clone() }, (8, top - 22), font.clone())).map_err(plot_error)?;
        let steps = (bottom - top).max(1);
        for k in 0..steps {
            let t = 1.0 - k as f64 / steps as f64;
            let c = (bar.colour)(t);
            side.draw(&Rectangle::new([(8, top + k), (36, top + k + 1)], RGBColor(c[0], c[1], c[2]).filled())).map_err(plot_error)?;
        }
        side.draw(&Rectangle::new([(8, top), (36, bottom)], BLACK.stroke_width(1))).map_err(plot_error)?;
        for k in 0..=4 {
            let t = k as f64 / 4.0;
            let v = bar.lo + t * (bar.hi - bar.lo);
            let yy = bottom - (t * steps as f64) as i32;
            side.draw(&PathElement::new(vec![(36, yy), (42, yy)], BLACK)).map_err(plot_error)?;
            side.draw(&Text::new(numbers::tick(v, bar.hi - bar.lo), (46, yy - 7), font.clone())).map_err(plot_error)?;
        }
    }
    Ok(())
}

/// The figure as PNG bytes.
pub fn png(map: &AnnotatedMap<'_>) -> Result<Vec<u8>> {
    let size = SIZE;
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(&root, map, true)?;
        root.present().map_err(plot_error)?;
    }
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(&mut bytes, image::codecs::png::CompressionType::Best, image::codecs::png::FilterType::Adaptive);
    image::ImageEncoder::write_image(encoder, &rgb, size.0, size.1, image::ExtendedColorType::Rgb8).map_err(plot_error)?;
    Ok(bytes)
}

/// The figure as SVG text, the map one embedded PNG drawn with crisp pixels.
pub fn svg(map: &AnnotatedMap<'_>) -> Result<String> {
    let mut text = String::new();
    let rect;
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        rect = draw(&root, map, false)?;
        root.present().map_err(plot_error)?;
    }
    let mut raw = Vec::new();
    map.image.write_to(&mut std::io::Cursor::new(&mut raw), image::ImageFormat::Png).map_err(plot_error)?;
    let (x0, y0, x1, y1) = rect;
    let element = format!(
        r#"<image x="{x0}" y="{y0}" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
        x1 - x0,
        y1 - y0,
        base64::engine::general_purpose::STANDARD.encode(&raw)
    );
    // Under the frame and axes, which plotters drew after the background.
    let at = text.rfind("</svg>").ok_or_else(|| plot_error("plotters wrote no </svg>"))?;
    text.insert_str(at, &element);
    Ok(text)
}

/// Writes `<stem>.png` and `<stem>.svg` to `dir`; returns their names.
pub fn write(dir: &crate::io::OutputDir, stem: &str, map: &AnnotatedMap<'_>) -> Result<[String; 2]> {
    let (png_name, svg_name) = (format!("{stem}.png"), format!("{stem}.svg"));
    dir.write_bytes(&png_name, &png(map)?)?;
    dir.write_bytes(&svg_name, svg(map)?.as_bytes())?;
    Ok([png_name, svg_name])
}

/// The axes of a 2-D plan's maps.
pub fn axes(plan: &Plan) -> Option<(MapAxis, MapAxis)> {
    Some((MapAxis::of(&plan.x), MapAxis::of(plan.y.as_ref()?)))
}
