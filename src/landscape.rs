//! `basinmap landscape`: the loss itself over the grid, without integrating anything: the paper's
//! Fig. 2, the effective loss ℓ̄(b, γ) against the order parameter b for several weight decays.
//!
//! Each grid point's loss is evaluated in f64 at its parameters and start values (axes applied,
//! no random draw). Writes landscape.npy (ny, nx). With a few y values (at most
//! [`MAX_CURVES`]) the picture is one curve of the loss against x per y value
//! (landscape.png, .svg, .pdf); with more it is a heat map (landscape.png, x to the right and
//! y upward, viridis over the 2–98 % range of the loss) with, when exactly one axis is a state
//! variable, each parameter value's lowest point along it marked in white: the global minimum
//! jumping (first order) or moving off zero continuously (second order).

use crate::io::{write_npy, OutputDir};
use crate::plan::Plan;
use crate::render::curves::{self, Figure, Panel, Series};
use crate::render::palette;
use crate::system::{Model, ModelVisitor};
use crate::{Error, Result};
use image::{Rgb, RgbImage};

/// Most y values drawn as curves; more make a heat map.
pub const MAX_CURVES: usize = 12;

/// The loss on an nx × ny grid, row-major with x fastest and y ascending.
#[derive(Clone, Debug)]
pub struct Landscape {
    pub nx: usize,
    pub ny: usize,
    pub loss: Vec<f64>,
}

/// `basinmap landscape`: the loss over the grid of `scenario`, written with its figure to `out`;
/// returns the plan, the landscape and the files' names.
pub fn run(scenario: &crate::scenario::Scenario, out: &std::path::Path) -> Result<(Plan, Landscape, Vec<String>)> {
    scenario.require_grid("landscape")?;
    let plan = Plan::new(scenario)?;
    let dir = OutputDir::prepare(out)?;
    let land = evaluate(&plan)?;
    let title = plan.figure.title.clone().unwrap_or_else(|| format!("{}: loss landscape", plan.system.spec().name));
    let files = write(&plan, &land, &dir, &title)?;
    Ok((plan, land, files))
}

/// Evaluates the loss at every grid point of `plan`.
pub fn evaluate(plan: &Plan) -> Result<Landscape> {
    plan.require_grid("landscape")?;
    if plan.samples > 1 {
        return Err(Error::input("landscape evaluates the loss at the start values: --samples does not apply"));
    }
    struct Eval<'a>(&'a Plan);
    impl ModelVisitor for Eval<'_> {
        type Output = Vec<f64>;
        fn visit<M: Model>(self, m: &M) -> Vec<f64> {
            let plan = self.0;
            (0..plan.n_trajectories())
                .map(|i| {
                    let inputs = plan.inputs_at(i);
                    let (p, x) = inputs.split_at(plan.n_params);
                    m.loss(p, x)
                })
                .collect()
        }
    }
    let loss = plan.system.visit(Eval(plan))?;
    if loss.iter().all(|v| v.is_nan()) {
        return Err(Error::input(format!("{} has no loss (its field is not a gradient), so it has no landscape", plan.system.spec().name)));
    }
    Ok(Landscape { nx: plan.nx(), ny: plan.ny(), loss })
}

impl Landscape {
    /// For each parameter value, the index along the state axis of the lowest loss: per row when
    /// x is the state axis, per column when y is. `None` unless exactly one axis is a state.
    pub fn minima(&self, plan: &Plan) -> Option<Vec<(usize, usize)>> {
        let y_state = plan.y.as_ref().map(|y| y.is_state)?;
        let lowest = |cells: &mut dyn Iterator<Item = (usize, usize)>| {
            cells.filter(|&(ix, iy)| self.loss[iy * self.nx + ix].is_finite()).min_by(|a, b| self.loss[a.1 * self.nx + a.0].total_cmp(&self.loss[b.1 * self.nx + b.0]))
        };
        match (plan.x.is_state, y_state) {
            (true, false) => Some((0..self.ny).filter_map(|iy| lowest(&mut (0..self.nx).map(|ix| (ix, iy)))).collect()),
            (false, true) => Some((0..self.nx).filter_map(|ix| lowest(&mut (0..self.ny).map(|iy| (ix, iy)))).collect()),
            _ => None,
        }
    }

    /// [`Landscape::minima`] with its ties: every local minimum along the state axis within a
    /// millionth of the line's range of its lowest, so that both minima of a symmetric landscape
    /// (b and −b) are marked.
    pub fn marked_minima(&self, plan: &Plan) -> Option<Vec<(usize, usize)>> {
        let lowest = self.minima(plan)?;
        let along_x = plan.x.is_state;
        let (n, lines) = if along_x { (self.nx, self.ny) } else { (self.ny, self.nx) };
        let cell = |line: usize, k: usize| if along_x { (k, line) } else { (line, k) };
        let loss = |(ix, iy): (usize, usize)| self.loss[iy * self.nx + ix];
        let mut marked = Vec::new();
        for line in 0..lines {
            let Some(&best) = lowest.iter().find(|&&c| if along_x { c.1 == line } else { c.0 == line }) else { continue };
            let values: Vec<f64> = (0..n).map(|k| loss(cell(line, k))).filter(|v| v.is_finite()).collect();
            let range = values.iter().fold(0.0f64, |r, &v| r.max((v - loss(best)).abs()));
            let tol = 1e-6 * range + 1e-12 * loss(best).abs();
            for k in 0..n {
                let v = loss(cell(line, k));
                let local = (k == 0 || !(loss(cell(line, k - 1)) < v)) && (k + 1 == n || !(loss(cell(line, k + 1)) < v));
                if v.is_finite() && local && v - loss(best) <= tol {
                    marked.push(cell(line, k));
                }
            }
        }
        Some(marked)
    }

    /// The range the heat map's colours span: the 2–98 % range of the finite values, widened
    /// to a span that f64 can resolve when the values are (nearly) constant.
    pub fn colour_range(&self) -> (f64, f64) {
        let (lo, hi) = self.quantiles(0.02, 0.98);
        if hi > lo && (hi - lo).is_finite() {
            return (lo, hi);
        }
        let pad = (lo.abs() * 1e-6).max(1.0);
        if (lo + pad).is_finite() { (lo, lo + pad) } else { (lo - pad, lo) }
    }

    /// The `a` and `b` quantiles of the finite values (0 and 1: their least and greatest).
    pub fn quantiles(&self, a: f64, b: f64) -> (f64, f64) {
        let mut finite: Vec<f64> = self.loss.iter().copied().filter(|v| v.is_finite()).collect();
        finite.sort_by(f64::total_cmp);
        let at = |q: f64| finite.get(((finite.len().saturating_sub(1)) as f64 * q) as usize).copied().unwrap_or(0.0);
        (at(a), at(b))
    }

    /// The heat map: `colour_map` over [`Landscape::colour_range`], minima in white.
    pub fn image(&self, minima: Option<&[(usize, usize)]>, colour_map: crate::scenario::ColourMap) -> RgbImage {
        let (lo, hi) = self.colour_range();
        let span = hi - lo;
        let mut img = RgbImage::new(self.nx as u32, self.ny as u32);
        for iy in 0..self.ny {
            for ix in 0..self.nx {
                let v = self.loss[iy * self.nx + ix];
                let px = if v.is_finite() {
                    Rgb(palette::continuous(colour_map, (v - lo) / span))
                } else {
                    Rgb(crate::render::side::MISSING)
                };
                img.put_pixel(ix as u32, (self.ny - 1 - iy) as u32, px);
            }
        }
        for &(ix, iy) in minima.unwrap_or(&[]) {
            img.put_pixel(ix as u32, (self.ny - 1 - iy) as u32, Rgb([255, 255, 255]));
        }
        img
    }

    /// One curve of the loss against x per y value; with a y axis the curves are a family,
    /// coloured along the colour map with a bar of the y values.
    pub fn figure(&self, plan: &Plan, title: &str) -> Figure {
        use crate::render::{names, side::ColourBar};
        let family = plan.y.as_ref().filter(|_| self.ny > 1).and_then(|y| ColourBar::spanning(names::symbol(&y.name), y.values[..self.ny].iter().copied(), y.log, plan.figure.colour_map));
        let series = (0..self.ny)
            .map(|iy| {
                let points = (0..self.nx).map(|ix| (plan.x.values[ix], self.loss[iy * self.nx + ix])).collect();
                let colour = match (&family, &plan.y) {
                    (Some(bar), Some(y)) => bar.colour_of(y.values[iy]),
                    _ => palette::series_colours(1)[0],
                };
                Series::line(String::new(), colour, points)
            })
            .collect();
        // The loss is evaluated at the state, not started from it: b, not b₀.
        let mut fig = Figure::new(title, names::symbol(&plan.x.name), plan.x.log, vec![Panel { y_label: "loss".into(), log_y: false, series }]);
        fig.family = family;
        fig
    }
}

/// Writes landscape.npy and the picture(s) to `dir`; returns the file names.
pub fn write(plan: &Plan, land: &Landscape, dir: &OutputDir, title: &str) -> Result<Vec<String>> {
    write_npy(dir, "landscape.npy", &[land.ny, land.nx], &land.loss)?;
    let mut files = vec!["landscape.npy".to_string()];
    if land.ny <= MAX_CURVES {
        let fig = land.figure(plan, title);
        files.extend(curves::write(dir, "landscape", &fig, (1000, 560), &plan.figure)?);
    } else {
        let img = land.image(land.marked_minima(plan).as_deref(), plan.figure.colour_map);
        dir.write_png("landscape.png", &img)?;
        files.push("landscape.png".to_string());
        if let Some((mut x, mut y)) = crate::render::annotated::axes(plan) {
            use crate::render::annotated::{write, AnnotatedMap};
            // The loss is evaluated at the state, not started from it: b, not b₀.
            x.label = crate::render::names::symbol(&plan.x.name);
            y.label = crate::render::names::symbol(&plan.y.as_ref().expect("a map has a y axis").name);
            let state = if plan.x.is_state { x.label.clone() } else { y.label.clone() };
            use crate::render::side::ColourBar;
            let (lo, hi) = land.colour_range();
            let mut map = AnnotatedMap::new(title.to_string(), &img, x, y);
            if land.minima(plan).is_some() {
                map.legend = vec![([255, 255, 255], format!("lowest loss along {state} (ties too)"))];
            }
            // The bar spans the 2–98 % range; say so when values lie beyond it.
            let (min, max) = land.quantiles(0.0, 1.0);
            let value = crate::render::numbers::value;
            let label = if min < lo || max > hi { format!("loss (clipped; all {} to {})", value(min), value(max)) } else { "loss".to_string() };
            let missing = land.loss.iter().any(|v| !v.is_finite());
            map.colour_bar = Some(ColourBar { label, lo, hi, log: false, map: plan.figure.colour_map, missing });
            // Contours at the bar's round values.
            let levels = crate::render::numbers::nice_ticks(lo, hi, 8);
            map.contours = crate::render::annotated::contour_lines(&land.loss, land.nx, land.ny, &map.x, &map.y, &levels);
            files.extend(write(dir, "landscape_annotated", &map, &plan.figure)?);
        }
    }
    Ok(files)
}
