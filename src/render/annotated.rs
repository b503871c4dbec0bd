//! Annotated maps: a raw pixel image (basins, trainability, a heat map) placed on axes with tick
//! values and the parameters' names (log axes with their decades as 10ᵏ), with a title and, in
//! a column beside it sized to its words, a legend of its colours, a key to its shading and/or a
//! colour bar as tall as the map. Drawn with plotters as SVG, the map itself one embedded PNG
//! drawn with crisp pixels (so the file stays small whatever the map's resolution);
//! [`super::export`] makes the PNG and PDF.

use super::side::{plot_error, ColourBar, Glyph, Row, ShadeKey, Side};
use super::{export, fonts, names, numbers};
use crate::plan::{GridAxis, Plan};
use crate::scenario::FigureOptions;
use crate::Result;
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
        MapAxis { label: names::axis(axis), first: axis.values[0], last: *axis.values.last().expect("an axis has values"), log: axis.log }
    }
    /// The plotted coordinate of value `v` (log10 on a log axis).
    pub fn coord(&self, v: f64) -> f64 {
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
}

/// A point marked on the map (a minimum of a landscape), in the axes' values.
#[derive(Clone, Debug)]
pub struct Mark {
    pub x: f64,
    pub y: f64,
}

/// A map with everything needed to annotate it.
#[derive(Clone)]
pub struct AnnotatedMap<'a> {
    pub title: String,
    pub image: &'a RgbImage,
    pub x: MapAxis,
    pub y: MapAxis,
    /// Colour swatches and what they mean (attractors), already gathered (see
    /// [`super::legend::gathered`]).
    pub legend: Vec<([u8; 3], String)>,
    /// What the shading within a colour means.
    pub shades: Vec<ShadeKey>,
    pub colour_bar: Option<ColourBar>,
    /// Points marked with a white-edged cross, named in the legend.
    pub marks: Vec<Mark>,
    pub marks_label: String,
    /// Contour lines, in plotted coordinates (log10 on a log axis), drawn thin over the map.
    pub contours: Vec<Vec<(f64, f64)>>,
    /// Vertical lines at values of x (an orbit diagram's period doublings), named in the legend.
    pub markers: Vec<super::curves::Marker>,
}

impl<'a> AnnotatedMap<'a> {
    pub fn new(title: String, image: &'a RgbImage, x: MapAxis, y: MapAxis) -> AnnotatedMap<'a> {
        AnnotatedMap { title, image, x, y, legend: Vec::new(), shades: Vec::new(), colour_bar: None, marks: Vec::new(), marks_label: String::new(), contours: Vec::new(), markers: Vec::new() }
    }
}

/// The figure's default size in SVG units (11 × 7.6 inches).
pub const SIZE: (u32, u32) = (1100, 760);

const MARK_COLOUR: [u8; 3] = [0xFF, 0xFF, 0xFF];

fn side(map: &AnnotatedMap<'_>) -> Side {
    let mut rows: Vec<Row> = map.legend.iter().map(|(c, t)| Row { glyph: Glyph::Swatch, colour: *c, text: t.clone() }).collect();
    if !map.marks.is_empty() {
        rows.push(Row { glyph: Glyph::Dot, colour: [0, 0, 0], text: map.marks_label.clone() });
    }
    rows.extend(map.markers.iter().map(|m| Row { glyph: if m.dashed { Glyph::Dashed } else { Glyph::Line }, colour: m.colour, text: m.label.clone() }));
    Side { rows, shades: map.shades.clone(), bar: map.colour_bar.clone() }
}

/// Draws the figure; returns the plotting area's pixel rectangle (x0, y0, x1, y1) where the
/// image goes.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, map: &AnnotatedMap<'_>) -> Result<(i32, i32, i32, i32)> {
    fonts::load()?;
    root.fill(&WHITE).map_err(plot_error)?;
    let body = root.titled(&map.title, ("sans-serif", 22)).map_err(plot_error)?;
    let column = side(map);
    let (w, _) = body.dim_in_pixel();
    let side_width = column.width(&body, (w as i32 * 9) / 20);
    let (main, side_area) = body.split_horizontally(w as i32 - side_width);
    let (nx, ny) = (map.image.width() as usize, map.image.height() as usize);
    let (x0, x1) = map.x.extent(nx);
    let (y0, y1) = map.y.extent(ny);
    let mut chart = ChartBuilder::on(&main)
        .margin(16)
        // Room above the frame for a colour bar's title.
        .margin_top(30)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_error)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh();
    let (x_tick, y_tick) = (|v: &f64| numbers::axis_tick(*v, x1 - x0, map.x.log), |v: &f64| numbers::axis_tick(*v, y1 - y0, map.y.log));
    mesh.x_desc(map.x.label.as_str()).y_desc(map.y.label.as_str()).x_label_formatter(&x_tick).y_label_formatter(&y_tick);
    mesh.label_style(("sans-serif", 15)).axis_desc_style(("sans-serif", 17));
    mesh.draw().map_err(plot_error)?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    for line in &map.contours {
        chart.draw_series(LineSeries::new(line.iter().copied(), RGBColor(0, 0, 0).mix(0.45).stroke_width(1))).map_err(plot_error)?;
    }
    for m in &map.markers {
        let x = map.x.coord(m.x);
        let colour = RGBColor(m.colour[0], m.colour[1], m.colour[2]).stroke_width(2);
        if m.dashed {
            chart.draw_series(DashedLineSeries::new([(x, y0), (x, y1)], 7, 5, colour.into())).map_err(plot_error)?;
        } else {
            chart.draw_series(LineSeries::new([(x, y0), (x, y1)], colour)).map_err(plot_error)?;
        }
    }
    for m in &map.marks {
        let (x, y) = (map.x.coord(m.x), map.y.coord(m.y));
        chart.draw_series([Cross::new((x, y), 7, RGBColor(0, 0, 0).stroke_width(5)), Cross::new((x, y), 6, RGBColor(MARK_COLOUR[0], MARK_COLOUR[1], MARK_COLOUR[2]).stroke_width(2))]).map_err(plot_error)?;
    }
    // A frame around the image.
    root.draw(&Rectangle::new([(px.start - 1, py.start - 1), (px.end, py.end)], BLACK.stroke_width(1))).map_err(plot_error)?;
    let offset = side_area.get_base_pixel().1;
    column.draw(&side_area, py.start - offset, py.end - offset)?;
    Ok((px.start, py.start, px.end, py.end))
}

/// The figure as SVG text, `size` units, the map one embedded PNG drawn with crisp pixels.
pub fn svg(map: &AnnotatedMap<'_>, size: (u32, u32)) -> Result<String> {
    let mut text = String::new();
    let rect;
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        rect = draw(&root, map)?;
        root.present().map_err(plot_error)?;
    }
    let mut raw = Vec::new();
    map.image.write_to(&mut std::io::Cursor::new(&mut raw), image::ImageFormat::Png).map_err(plot_error)?;
    let (x0, y0, x1, y1) = rect;
    let element = format!(
        r#"<image x="{x0}" y="{y0}" width="{}" height="{}" preserveAspectRatio="none" image-rendering="pixelated" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
        x1 - x0,
        y1 - y0,
        base64::engine::general_purpose::STANDARD.encode(&raw)
    );
    // Right after the white background, so that the frame, the axes and any marks are on top.
    let background = text.find("<rect").and_then(|at| text[at..].find("/>").map(|end| at + end + 2)).ok_or_else(|| plot_error("plotters wrote no background"))?;
    text.insert_str(background, &element);
    Ok(text)
}

/// Writes `<stem>.png`, `.svg`, `.pdf` (those `options` name) to `dir`, the axis names as
/// `[figure]` gives them; returns their names.
pub fn write(dir: &crate::io::OutputDir, stem: &str, map: &AnnotatedMap<'_>, options: &FigureOptions) -> Result<Vec<String>> {
    let mut labelled = map.clone();
    if let Some(x) = &options.x_label {
        labelled.x.label = x.clone();
    }
    if let Some(y) = &options.y_label {
        labelled.y.label = y.clone();
    }
    export::write(dir, stem, &svg(&labelled, export::size(options, SIZE))?, options)
}

/// The contour lines of an nx × ny grid of `values` (x fastest, y upward) at `levels`, in the
/// plotted coordinates of `x` and `y` (the grid's pixels spanning their extents).
pub fn contour_lines(values: &[f64], nx: usize, ny: usize, x: &MapAxis, y: &MapAxis, levels: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let ((x0, x1), (y0, y1)) = (x.extent(nx), y.extent(ny));
    // A missing value is drawn around as if it were the highest.
    let top = values.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    let filled: Vec<f64> = values.iter().map(|&v| if v.is_finite() { v } else { top }).collect();
    let builder = contour::ContourBuilder::new(nx, ny, true).x_origin(x0).y_origin(y0).x_step((x1 - x0) / nx as f64).y_step((y1 - y0) / ny as f64);
    let Ok(lines) = builder.lines(&filled, levels) else { return Vec::new() };
    lines.iter().flat_map(|l| l.geometry().0.iter().map(|ls| ls.0.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>()).collect::<Vec<_>>()).filter(|l| l.len() > 1).collect()
}

/// The axes of a 2-D plan's maps.
pub fn axes(plan: &Plan) -> Option<(MapAxis, MapAxis)> {
    Some((MapAxis::of(&plan.x), MapAxis::of(plan.y.as_ref()?)))
}

/// A title for a map of `what` over the plan's axes: the scenario's title (with `what`) where it
/// has one, else the system and the axes ("landau: basins over r × m₀").
pub fn title(plan: &Plan, what: &str) -> String {
    match &plan.figure.title {
        Some(t) => format!("{t} ({what})"),
        None => match &plan.y {
            Some(y) => format!("{}: {what} over {} × {}", plan.system.spec().name, names::axis(&plan.x), names::axis(y)),
            None => format!("{}: {what} against {}", plan.system.spec().name, names::axis(&plan.x)),
        },
    }
}
