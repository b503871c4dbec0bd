//! Curve figures (traces over steps, observables along a 1-D scan, sweeps, Arrhenius plots and
//! survival curves): stacked panels sharing one x axis, with one legend beside them for all
//! panels (or a colour bar, for a family of curves ordered by a parameter). Drawn with plotters
//! as SVG; [`super::export`] makes the PNG and PDF. Log scales are drawn as log10 of the data,
//! their decades labelled 10ᵏ. A non-finite y value breaks a line, so a jump is never bridged.

use super::side::{plot_error, ColourBar, Glyph, Row, Side};
use super::{export, fonts, numbers};
use crate::scenario::FigureOptions;
use crate::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One line or scatter of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    /// Its legend entry; empty: none (a member of a colour-bar family, a repeat).
    pub label: String,
    pub colour: [u8; 3],
    pub points: Vec<(f64, f64)>,
    /// A line through the points; otherwise dots.
    pub line: bool,
    /// The points' standard errors in y, drawn as bars (empty: none).
    pub errors: Vec<f64>,
}

impl Series {
    pub fn line(label: impl Into<String>, colour: [u8; 3], points: Vec<(f64, f64)>) -> Series {
        Series { label: label.into(), colour, points, line: true, errors: Vec::new() }
    }
    pub fn dots(label: impl Into<String>, colour: [u8; 3], points: Vec<(f64, f64)>) -> Series {
        Series { label: label.into(), colour, points, line: false, errors: Vec::new() }
    }
    fn has_points(&self) -> bool {
        self.points.iter().any(|p| p.0.is_finite() && p.1.is_finite())
    }
}

/// One panel: a y quantity against the shared x.
#[derive(Clone, Debug)]
pub struct Panel {
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// A vertical line across every panel at `x`, named in the legend: a transition (solid) or a
/// spinodal (dashed).
#[derive(Clone, Debug)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    pub colour: [u8; 3],
    pub dashed: bool,
}

/// A figure of stacked panels.
#[derive(Clone, Debug)]
pub struct Figure {
    pub title: String,
    /// A line under the title: what every curve shares (a trace's fixed parameters).
    pub subtitle: Option<String>,
    pub x_label: String,
    pub log_x: bool,
    /// The x axis counts (steps): ticks only at whole numbers.
    pub integer_x: bool,
    pub panels: Vec<Panel>,
    pub markers: Vec<Marker>,
    /// The curves are a family ordered by a parameter, coloured along this bar.
    pub family: Option<ColourBar>,
}

impl Figure {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, log_x: bool, panels: Vec<Panel>) -> Figure {
        Figure { title: title.into(), subtitle: None, x_label: x_label.into(), log_x, integer_x: false, panels, markers: Vec::new(), family: None }
    }
}

/// log10 where asked; a point that is not finite there (or log of a non-positive value) is a
/// gap (NaN), which breaks the line.
fn transformed(points: &[(f64, f64)], log_x: bool, log_y: bool) -> Vec<(f64, f64)> {
    let t = |v: f64, log: bool| if log { if v > 0.0 { v.log10() } else { f64::NAN } } else { v };
    points.iter().map(|&(x, y)| (t(x, log_x), t(y, log_y))).map(|(x, y)| if x.is_finite() && y.is_finite() { (x, y) } else { (f64::NAN, f64::NAN) }).collect()
}

/// The runs of finite points between gaps.
fn segments(points: &[(f64, f64)]) -> impl Iterator<Item = &[(f64, f64)]> {
    points.split(|p| !p.0.is_finite()).filter(|s| !s.is_empty())
}

/// A range around [lo, hi] that is never empty.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let span = (hi - lo).max(1e-12 * lo.abs().max(1.0));
    lo - 0.05 * span..hi + 0.05 * span
}

/// The legend: one row per distinct labelled series with points (markers included), over all
/// panels; the family's colour bar.
fn legend(fig: &Figure) -> Side {
    let mut rows: Vec<Row> = Vec::new();
    for s in fig.panels.iter().flat_map(|p| &p.series).filter(|s| !s.label.is_empty() && s.has_points()) {
        let glyph = if s.line { Glyph::Line } else { Glyph::Dot };
        if !rows.iter().any(|r| r.text == s.label && r.colour == s.colour) {
            rows.push(Row { glyph, colour: s.colour, text: s.label.clone() });
        }
    }
    for m in fig.markers.iter().filter(|m| m.x.is_finite()) {
        rows.push(Row { glyph: if m.dashed { Glyph::Dashed } else { Glyph::Line }, colour: m.colour, text: m.label.clone() });
    }
    Side { rows, shades: Vec::new(), bar: fig.family.clone() }
}

const TITLE_FONT: u32 = 22;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    fonts::load()?;
    root.fill(&WHITE).map_err(plot_error)?;
    let mut body = root.titled(&fig.title, ("sans-serif", TITLE_FONT)).map_err(plot_error)?;
    if let Some(sub) = &fig.subtitle {
        body = body.titled(sub, ("sans-serif", 15)).map_err(plot_error)?;
    }
    let side = legend(fig);
    let (w, _) = body.dim_in_pixel();
    let side_width = side.width(&body, (w as i32 * 2) / 5);
    let (main, column) = body.split_horizontally(w as i32 - side_width);
    let n = fig.panels.len().max(1);
    let areas = main.split_evenly((n, 1));
    let mut frame_top = None;
    let mut frame_bottom = 0;
    for (k, (area, panel)) in areas.iter().zip(&fig.panels).enumerate() {
        let last = k + 1 == n;
        let series: Vec<(&Series, Vec<(f64, f64)>)> = panel.series.iter().map(|s| (s, transformed(&s.points, fig.log_x, panel.log_y))).collect();
        let mut bounds = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for (s, points) in &series {
            for (j, &(x, y)) in points.iter().enumerate().filter(|(_, p)| p.0.is_finite()) {
                // Error bars count in the y range.
                let e = if panel.log_y { 0.0 } else { s.errors.get(j).copied().filter(|e| e.is_finite()).unwrap_or(0.0) };
                bounds = (bounds.0.min(x), bounds.1.max(x), bounds.2.min(y - e), bounds.3.max(y + e));
            }
        }
        let markers: Vec<(&Marker, f64)> = fig.markers.iter().filter_map(|m| Some((m, if fig.log_x { m.x.log10() } else { m.x })).filter(|(_, x)| x.is_finite())).collect();
        for &(_, x) in &markers {
            bounds = (bounds.0.min(x), bounds.1.max(x), bounds.2, bounds.3);
        }
        let (x_range, y_range) = (padded(bounds.0, bounds.1), padded(bounds.2, bounds.3));
        let (x_span, y_span) = (x_range.end - x_range.start, y_range.end - y_range.start);
        let integer_x = fig.integer_x;
        let x_tick = |v: &f64| if integer_x && (v - v.round()).abs() > 1e-9 { String::new() } else { numbers::axis_tick(*v, x_span, fig.log_x) };
        let y_tick = |v: &f64| numbers::axis_tick(*v, y_span, panel.log_y);
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            // Room above the first frame for the colour bar's title.
            .margin_top(if k == 0 && fig.family.is_some() { 28 } else { 10 })
            .margin_right(16)
            .x_label_area_size(if last { 46 } else { 26 })
            .y_label_area_size(72)
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .map_err(plot_error)?;
        let mut mesh = chart.configure_mesh();
        // Major grid lines only, light: they guide the eye without competing with the data.
        mesh.light_line_style(WHITE).bold_line_style(RGBColor(0xE4, 0xE4, 0xE4));
        mesh.y_desc(panel.y_label.as_str()).x_label_formatter(&x_tick).y_label_formatter(&y_tick);
        if last {
            mesh.x_desc(fig.x_label.as_str());
        }
        mesh.label_style(("sans-serif", 15)).axis_desc_style(("sans-serif", 17));
        mesh.draw().map_err(plot_error)?;
        for (m, x) in &markers {
            let colour = RGBColor(m.colour[0], m.colour[1], m.colour[2]);
            let ends = [(*x, y_range.start), (*x, y_range.end)];
            if m.dashed {
                chart.draw_series(DashedLineSeries::new(ends, 6, 5, colour.stroke_width(2).into())).map_err(plot_error)?;
            } else {
                chart.draw_series(LineSeries::new(ends, colour.stroke_width(2))).map_err(plot_error)?;
            }
        }
        for (s, points) in &series {
            let colour = RGBColor(s.colour[0], s.colour[1], s.colour[2]);
            if s.line {
                for run in segments(points) {
                    chart.draw_series(LineSeries::new(run.iter().copied(), colour.stroke_width(2))).map_err(plot_error)?;
                }
            } else {
                if !panel.log_y {
                    let bars = points.iter().zip(&s.errors).filter(|((x, y), e)| x.is_finite() && y.is_finite() && e.is_finite() && **e > 0.0);
                    for (&(x, y), &e) in bars {
                        chart.draw_series(LineSeries::new([(x, y - e), (x, y + e)], colour.stroke_width(1))).map_err(plot_error)?;
                    }
                }
                let radius = if s.errors.is_empty() { 2 } else { 4 };
                chart.draw_series(points.iter().filter(|p| p.0.is_finite()).map(|&p| Circle::new(p, radius, colour.filled()))).map_err(plot_error)?;
            }
        }
        let (_, py) = chart.plotting_area().get_pixel_range();
        frame_top.get_or_insert(py.start);
        frame_bottom = py.end;
    }
    if !side.is_empty() {
        // The column's own coordinates: the frames' pixel rows less its top.
        let offset = column.get_base_pixel().1;
        side.draw(&column, frame_top.unwrap_or(offset + 10) - offset, frame_bottom - offset)?;
    }
    root.present().map_err(plot_error)
}

/// The figure as SVG text, `size` units.
pub fn svg(fig: &Figure, size: (u32, u32)) -> Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(&root, fig)?;
    }
    Ok(text)
}

/// Writes the figure as `<stem>.png`, `.svg`, `.pdf` (those `options` name) to `dir`, `size`
/// units unless `[figure] size` says otherwise, its axis names as `[figure]` gives them;
/// returns the file names.
pub fn write(dir: &crate::io::OutputDir, stem: &str, fig: &Figure, size: (u32, u32), options: &FigureOptions) -> Result<Vec<String>> {
    let mut fig = fig.clone();
    if let Some(x) = &options.x_label {
        fig.x_label = x.clone();
    }
    if let (Some(y), [panel]) = (&options.y_label, fig.panels.as_mut_slice()) {
        panel.y_label = y.clone();
    }
    export::write(dir, stem, &svg(&fig, export::size(options, size))?, options)
}

/// `points` with a gap (NaN) wherever y jumps by more than `factor` times its median step and
/// by more than `share` of its range: the line of a branch that jumps at a spinodal breaks
/// there instead of drawing a vertical connector.
pub fn break_jumps(points: &[(f64, f64)], factor: f64, share: f64) -> Vec<(f64, f64)> {
    let mut steps: Vec<f64> = points.windows(2).map(|w| (w[1].1 - w[0].1).abs()).filter(|d| d.is_finite()).collect();
    if steps.len() < 3 {
        return points.to_vec();
    }
    steps.sort_by(f64::total_cmp);
    let median = steps[steps.len() / 2];
    let (lo, hi) = points.iter().map(|p| p.1).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let threshold = (factor * median).max(share * (hi - lo));
    let mut out = Vec::with_capacity(points.len() + 4);
    for (k, &p) in points.iter().enumerate() {
        if k > 0 && (p.1 - points[k - 1].1).abs() > threshold {
            out.push((f64::NAN, f64::NAN));
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_break_lines_and_smooth_curves_do_not() {
        let smooth: Vec<(f64, f64)> = (0..50).map(|k| (k as f64, (k as f64 * 0.1).sin())).collect();
        assert_eq!(break_jumps(&smooth, 10.0, 0.05).len(), 50);
        let mut jump = smooth.clone();
        for p in &mut jump[30..] {
            p.1 += 5.0;
        }
        let broken = break_jumps(&jump, 10.0, 0.05);
        // A jump smaller than the share asked for is kept.
        assert_eq!(break_jumps(&jump, 10.0, 0.99).len(), 50);
        assert_eq!(broken.len(), 51);
        assert!(broken[30].0.is_nan());
        assert_eq!(segments(&transformed(&broken, false, false)).count(), 2);
    }
}
