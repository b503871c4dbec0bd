//! Curve figures (traces over steps, observables along a 1-D scan): stacked panels sharing one
//! x axis, drawn with plotters to PNG and SVG. Log scales are drawn as log10 of the data, their
//! decades labelled 10ᵏ.

use super::{fonts, numbers};
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One line or scatter of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub colour: [u8; 3],
    pub points: Vec<(f64, f64)>,
    /// A line through the points; otherwise dots.
    pub line: bool,
}

/// One panel: a y quantity against the shared x.
#[derive(Clone, Debug)]
pub struct Panel {
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// A vertical line across every panel at `x` (a transition, a spinodal), named in the first
/// panel's legend.
#[derive(Clone, Debug)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    pub colour: [u8; 3],
}

/// A figure of stacked panels.
#[derive(Clone, Debug)]
pub struct Figure {
    pub title: String,
    pub x_label: String,
    pub log_x: bool,
    pub panels: Vec<Panel>,
    pub markers: Vec<Marker>,
}

/// Most series a legend lists.
const MAX_LEGEND: usize = 12;

fn plot_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Io(std::io::Error::other(format!("drawing a figure: {e:?}")))
}

/// log10 where asked; non-finite points (and log of non-positive values) are dropped.
fn transformed(points: &[(f64, f64)], log_x: bool, log_y: bool) -> Vec<(f64, f64)> {
    let t = |v: f64, log: bool| if log { if v > 0.0 { v.log10() } else { f64::NAN } } else { v };
    points.iter().map(|&(x, y)| (t(x, log_x), t(y, log_y))).filter(|(x, y)| x.is_finite() && y.is_finite()).collect()
}

/// A range around [lo, hi] that is never empty.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let span = (hi - lo).max(1e-12 * lo.abs().max(1.0));
    lo - 0.05 * span..hi + 0.05 * span
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    fonts::load()?;
    root.fill(&WHITE).map_err(plot_error)?;
    let body = root.titled(&fig.title, ("sans-serif", 22)).map_err(plot_error)?;
    let areas = body.split_evenly((fig.panels.len().max(1), 1));
    for (n, (area, panel)) in areas.iter().zip(&fig.panels).enumerate() {
        // Markers are vertical two-point lines spanning the panel's data range.
        let marker_series: Vec<Series> = fig
            .markers
            .iter()
            .map(|m| Series { label: if n == 0 { m.label.clone() } else { String::new() }, colour: m.colour, points: vec![(m.x, 0.0)], line: true })
            .collect();
        let mut series: Vec<(&Series, Vec<(f64, f64)>)> = panel.series.iter().map(|s| (s, transformed(&s.points, fig.log_x, panel.log_y))).collect();
        let all = series.iter().flat_map(|(_, p)| p.iter());
        let (x0, x1, y0, y1) = all.fold((f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY), |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)));
        if y0.is_finite() && y1.is_finite() {
            for m in &marker_series {
                let x = if fig.log_x { m.points[0].0.log10() } else { m.points[0].0 };
                if x.is_finite() {
                    series.push((m, vec![(x, y0), (x, y1)]));
                }
            }
        }
        let (x_range, y_range) = (padded(x0, x1), padded(y0, y1));
        let (x_span, y_span) = (x_range.end - x_range.start, y_range.end - y_range.start);
        let tick = |v: f64, span: f64, log: bool| if log { numbers::log_tick(v, span) } else { numbers::tick(v, span) };
        let (x_tick, y_tick) = (|v: &f64| tick(*v, x_span, fig.log_x), |v: &f64| tick(*v, y_span, panel.log_y));
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(x_range, y_range)
            .map_err(plot_error)?;
        let mut mesh = chart.configure_mesh();
        // Major grid lines only: the minor ones add clutter (and bytes) without information.
        mesh.light_line_style(WHITE);
        mesh.x_desc(fig.x_label.as_str()).y_desc(panel.y_label.as_str()).x_label_formatter(&x_tick).y_label_formatter(&y_tick);
        mesh.label_style(("sans-serif", 14));
        mesh.draw().map_err(plot_error)?;
        for (s, points) in &series {
            let colour = RGBColor(s.colour[0], s.colour[1], s.colour[2]);
            let drawn = if s.line {
                chart.draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2))).map_err(plot_error)?
            } else {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, colour.filled()))).map_err(plot_error)?
            };
            if series.len() <= MAX_LEGEND && !s.label.is_empty() {
                drawn.label(s.label.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(3)));
            }
        }
        if series.len() <= MAX_LEGEND && series.iter().any(|(s, _)| !s.label.is_empty()) {
            chart
                .configure_series_labels()
                .label_font(("sans-serif", 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(plot_error)?;
        }
    }
    root.present().map_err(plot_error)
}

/// The figure as PNG bytes, `size` pixels.
pub fn png(fig: &Figure, size: (u32, u32)) -> Result<Vec<u8>> {
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(&root, fig)?;
    }
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(&mut bytes, image::codecs::png::CompressionType::Best, image::codecs::png::FilterType::Adaptive);
    image::ImageEncoder::write_image(encoder, &rgb, size.0, size.1, image::ExtendedColorType::Rgb8).map_err(plot_error)?;
    Ok(bytes)
}

/// Writes the figure to `<stem>.png` and `<stem>.svg` in `dir`; returns the two names.
pub fn write(dir: &crate::io::OutputDir, stem: &str, fig: &Figure, size: (u32, u32)) -> Result<[String; 2]> {
    let (png_name, svg_name) = (format!("{stem}.png"), format!("{stem}.svg"));
    dir.write_bytes(&png_name, &png(fig, size)?)?;
    dir.write_bytes(&svg_name, svg(fig, size)?.as_bytes())?;
    Ok([png_name, svg_name])
}

/// The figure as SVG text.
pub fn svg(fig: &Figure, size: (u32, u32)) -> Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(&root, fig)?;
    }
    Ok(text)
}
