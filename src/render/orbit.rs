//! The orbit diagram's figures: orbit.png (.svg, .pdf), the states visited after the transient
//! as a density over the parameter (one column per value of x, darker where visited more,
//! logarithmically), with the period doublings, windows and the onset of divergence as dashed
//! lines named beside it; and lyapunov.png, the largest Lyapunov exponent against the
//! parameter with its zero line (chaos above it).

use super::annotated::{self, AnnotatedMap, MapAxis};
use super::curves::{self, Figure, Marker, Panel, Series};
use super::{names, numbers, palette};
use crate::io::OutputDir;
use crate::plan::Plan;
use crate::Result;
use image::{Rgb, RgbImage};

/// What the figures show of an orbit diagram ([`crate::analysis::orbit`] gathers it).
pub struct OrbitFigure<'a> {
    /// The x axis' values.
    pub x: &'a [f64],
    /// Trajectories per value of x, and kept steps per trajectory.
    pub starts: usize,
    pub keep: usize,
    /// The drawn observable's name.
    pub variable: &'a str,
    /// [x][start][kept step] of the drawn observable (NaN once diverged).
    pub values: &'a [f32],
    /// [x][start], per step.
    pub lyapunov: Option<&'a [f64]>,
    /// The period changes to draw, in order along x.
    pub changes: Vec<Change>,
}

/// A period change as drawn: where (its bracket in x) and what, in words.
pub struct Change {
    pub low: f64,
    pub high: f64,
    pub what: String,
}

/// The density image's height in pixels (bins of the drawn variable).
pub const BINS: usize = 600;
/// Most period changes drawn (the first along x; period_changes.csv has them all).
pub const MAX_MARKED: usize = 8;
/// The darkest ink, for the most visited bins.
const INK: [u8; 3] = [0x10, 0x18, 0x30];
/// The lightest ink a visited bin gets, as a share of INK's darkness: one visit still shows.
const FAINTEST: f64 = 0.3;

/// The density of the kept values: one column per value of x, `BINS` rows over the values'
/// range (bottom up); returns the image and the centres of its first and last row.
pub fn density(orbit: &OrbitFigure) -> (RgbImage, f64, f64) {
    let nx = orbit.x.len();
    let finite = orbit.values.iter().copied().filter(|v| v.is_finite()).map(|v| v as f64);
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if !lo.is_finite() {
        (-1.0, 1.0)
    } else if hi > lo {
        let pad = 0.02 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (lo - 0.5 * (1.0 + lo.abs()), hi + 0.5 * (1.0 + hi.abs()))
    };
    let per_column = orbit.starts * orbit.keep;
    let mut counts = vec![0u32; nx * BINS];
    for ix in 0..nx {
        for &v in &orbit.values[ix * per_column..(ix + 1) * per_column] {
            if v.is_finite() {
                let b = (((v as f64 - lo) / (hi - lo)) * BINS as f64).floor().clamp(0.0, (BINS - 1) as f64) as usize;
                counts[b * nx + ix] += 1;
            }
        }
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut img = RgbImage::from_pixel(nx as u32, BINS as u32, Rgb([255, 255, 255]));
    for b in 0..BINS {
        for ix in 0..nx {
            let c = counts[b * nx + ix];
            if c > 0 {
                let t = FAINTEST + (1.0 - FAINTEST) * (1.0 + c as f64).ln() / (1.0 + most).ln();
                let ink: [u8; 3] = std::array::from_fn(|k| (255.0 - t * (255.0 - INK[k] as f64)).round() as u8);
                img.put_pixel(ix as u32, (BINS - 1 - b) as u32, Rgb(ink));
            }
        }
    }
    let bin = (hi - lo) / BINS as f64;
    (img, lo + 0.5 * bin, hi - 0.5 * bin)
}

/// The changes drawn, at most [`MAX_MARKED`], each a dashed line of its own colour.
fn markers(plan: &Plan, orbit: &OrbitFigure) -> Vec<Marker> {
    let marked = &orbit.changes[..orbit.changes.len().min(MAX_MARKED)];
    let colours = palette::series_colours(marked.len().max(1));
    let span = (orbit.x[0] - orbit.x[orbit.x.len() - 1]).abs();
    marked
        .iter()
        .zip(colours)
        .map(|(c, colour)| {
            // The value to the digits its bracket resolves (the grid's spacing where not bisected),
            // four at most.
            let at = 0.5 * (c.low + c.high);
            let width = (c.high - c.low).abs().max(1e-12 * span).max(1e-3 * at.abs());
            Marker { x: at, label: format!("{} at {} = {}", c.what, names::symbol(&plan.x.name), numbers::to_resolution(at, width)), colour, dashed: true }
        })
        .collect()
}

/// Writes orbit.png/.svg/.pdf and, with exponents, lyapunov.png/.svg/.pdf; returns the names.
/// Titled by the scenario's title where it has one, else by the system and the parameter.
pub fn write(plan: &Plan, orbit: &OrbitFigure, dir: &OutputDir) -> Result<Vec<String>> {
    let (system, x_name) = (plan.system.spec().name.clone(), names::axis(&plan.x));
    let title = |what: &str| match &plan.figure.title {
        Some(t) => format!("{t} ({what})"),
        None => format!("{system}: {what} against {x_name}"),
    };
    let (img, first, last) = density(orbit);
    let x = MapAxis::of(&plan.x);
    let y = MapAxis { label: names::symbol(orbit.variable), first, last, log: false };
    let mut map = AnnotatedMap::new(title("states visited after the transient"), &img, x, y);
    map.markers = markers(plan, orbit);
    let mut files = annotated::write(dir, "orbit", &map, &plan.figure)?;
    if let Some(exponents) = orbit.lyapunov {
        let mut series = Vec::new();
        let colours = palette::series_colours(orbit.starts);
        for s in 0..orbit.starts {
            let points: Vec<(f64, f64)> = orbit.x.iter().enumerate().map(|(ix, &v)| (v, exponents[ix * orbit.starts + s])).collect();
            let label = if orbit.starts > 1 { format!("start {s}") } else { String::new() };
            series.push(if orbit.starts > 1 { Series::dots(label, colours[s], points) } else { Series::line(label, colours[s], points) });
        }
        let zero = Series::line("0: chaos above, a stable orbit below", [0x99, 0x99, 0x99], vec![(orbit.x[0], 0.0), (orbit.x[orbit.x.len() - 1], 0.0)]);
        series.insert(0, zero);
        let mut fig = Figure::new(title("largest Lyapunov exponent"), x_name.clone(), plan.x.log, vec![Panel { y_label: "λ₁ per step".into(), log_y: false, series }]);
        fig.markers = map.markers.clone();
        files.extend(curves::write(dir, "lyapunov", &fig, (1000, 520), &plan.figure)?);
    }
    Ok(files)
}
