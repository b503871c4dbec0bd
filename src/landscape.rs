//! `basinmap landscape`: the loss itself over the grid, without integrating anything: the paper's
//! Fig. 2, the effective loss ℓ̄(b, γ) against the order parameter b for several weight decays.
//!
//! Each grid point's loss is evaluated in f64 at its parameters and start values (axes applied,
//! no random draw). Writes landscape.npy (ny, nx). With a few y values (at most
//! [`MAX_CURVES`]) the picture is one curve of the loss against x per y value
//! (landscape.png, landscape.svg); with more it is a heat map (landscape.png, x to the right and
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

/// Evaluates the loss at every grid point of `plan`.
pub fn evaluate(plan: &Plan) -> Result<Landscape> {
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

    /// The heat map: viridis over [`Landscape::colour_range`], minima in white.
    pub fn image(&self, minima: Option<&[(usize, usize)]>) -> RgbImage {
        let (lo, hi) = self.colour_range();
        let span = hi - lo;
        let mut img = RgbImage::new(self.nx as u32, self.ny as u32);
        for iy in 0..self.ny {
            for ix in 0..self.nx {
                let v = self.loss[iy * self.nx + ix];
                let px = if v.is_finite() {
                    Rgb(palette::viridis((v - lo) / span))
                } else {
                    Rgb([0, 0, 0])
                };
                img.put_pixel(ix as u32, (self.ny - 1 - iy) as u32, px);
            }
        }
        for &(ix, iy) in minima.unwrap_or(&[]) {
            img.put_pixel(ix as u32, (self.ny - 1 - iy) as u32, Rgb([255, 255, 255]));
        }
        img
    }

    /// One curve of the loss against x per y value.
    pub fn figure(&self, plan: &Plan, title: &str) -> Figure {
        let colours = palette::series_colours(self.ny);
        let series = (0..self.ny)
            .map(|iy| Series {
                label: plan.y.as_ref().map_or_else(String::new, |y| format!("{} = {}", y.name, crate::trace::fmt_value(y.values[iy]))),
                colour: colours[iy],
                points: (0..self.nx).map(|ix| (plan.x.values[ix], self.loss[iy * self.nx + ix])).collect(),
                line: true,
            })
            .collect();
        Figure { title: title.to_string(), x_label: plan.x.name.clone(), log_x: plan.x.log, panels: vec![Panel { y_label: "loss".into(), log_y: false, series }], markers: Vec::new() }
    }
}

/// Writes landscape.npy and the picture(s) to `dir`; returns the file names.
pub fn write(plan: &Plan, land: &Landscape, dir: &OutputDir, title: &str) -> Result<Vec<String>> {
    write_npy(dir, "landscape.npy", &[land.ny, land.nx], &land.loss)?;
    let mut files = vec!["landscape.npy".to_string()];
    if land.ny <= MAX_CURVES {
        let fig = land.figure(plan, title);
        files.extend(curves::write(dir, "landscape", &fig, (1000, 560))?);
    } else {
        let img = land.image(land.minima(plan).as_deref());
        dir.write_png("landscape.png", &img)?;
        files.push("landscape.png".to_string());
        if let Some((x, y)) = crate::render::annotated::axes(plan) {
            use crate::render::annotated::{write, AnnotatedMap, ColourBar};
            let (lo, hi) = land.colour_range();
            let legend = if land.minima(plan).is_some() { vec![([255, 255, 255], "the lowest loss along the state axis".to_string())] } else { Vec::new() };
            // The bar spans the 2–98 % range; say so when values lie beyond it.
            let (min, max) = land.quantiles(0.0, 1.0);
            let fmt = crate::trace::fmt_value;
            let label = if min < lo || max > hi { format!("loss (clipped; all: {} to {})", fmt(min), fmt(max)) } else { "loss".to_string() };
            let bar = ColourBar { label, lo, hi, log: false, colour: crate::render::palette::viridis };
            let map = AnnotatedMap { title: title.to_string(), image: &img, x, y, legend, colour_bar: Some(bar) };
            files.extend(write(dir, "landscape_annotated", &map)?);
        }
    }
    Ok(files)
}
