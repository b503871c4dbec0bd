//! The figure of a 1-D scan: the final value of each observable against the scanned value,
//! one dot per trajectory in its attractor's colour.

use super::curves::{Figure, Panel, Series};
use super::legend::{attractor_label, plan_title};
use crate::classify::Classification;
use crate::engine::Outcomes;
use crate::plan::Plan;

/// The figure of a 1-D scan: per panel one observable's final value against x, one dot per
/// trajectory in its attractor's colour, every trajectory drawn. Panels: the first observable
/// (the state, or the order parameter), then the loss, the regulariser and b where the system
/// has them. Values of trajectories that did not settle and lie far outside the fixed points'
/// range (a diverged state near --bound) are drawn at the panel's edge, and their legend entry
/// says so.
pub fn scan_figure(plan: &Plan, outcomes: &Outcomes, c: &Classification, colours: &[[u8; 3]]) -> Figure {
    let names = plan.observable_names();
    let mut shown: Vec<usize> = vec![0];
    shown.extend(["loss", "reg", "b"].iter().filter_map(|n| names.iter().position(|m| m == n)));
    shown.dedup();
    let mut seen = std::collections::HashSet::new();
    shown.retain(|k| seen.insert(*k));
    shown.truncate(4);
    // The sharpness observables (--observe sharpness) last, each against its edge of stability.
    let sharp = plan.extras_offset();
    shown.extend(sharp..sharp + plan.extra_observables().len());
    let x_of = |i: usize| plan.x.values[plan.point_of(i) % plan.nx()];
    let mut panels: Vec<Panel> = shown
        .iter()
        .map(|&k| {
            let value = |i: usize| outcomes.obs(i)[k] as f64;
            // The range the fixed points span (all finite values where none settled), widened
            // by its own span: the window values elsewhere are clipped into. The sharpness
            // keeps every finite value: past the edge the steps do not settle, and where they
            // end is the point of the panel.
            let is_sharpness = k >= sharp && k < sharp + plan.extra_observables().len();
            let settled = |i: &usize| !is_sharpness && c.attractors[c.labels[*i] as usize].kind.is_located();
            let mut range = (0..outcomes.len()).filter(settled).map(value).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            if range.0 > range.1 {
                range = (0..outcomes.len()).map(value).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            }
            let pad = (range.1 - range.0).max(1e-9 * (1.0 + range.0.abs()));
            let (lo, hi) = (range.0 - pad, range.1 + pad);
            let series = c
                .attractors
                .iter()
                .map(|a| {
                    let mut clipped = false;
                    let points: Vec<(f64, f64)> = (0..outcomes.len())
                        .filter(|&i| c.labels[i] == a.id)
                        .filter_map(|i| {
                            let v = value(i);
                            if v.is_nan() || !lo.is_finite() {
                                return None;
                            }
                            let shown = v.clamp(lo, hi);
                            clipped |= shown != v;
                            Some((x_of(i), shown))
                        })
                        .collect();
                    let label = if clipped { format!("{} (clipped to the axis)", attractor_label(a)) } else { attractor_label(a) };
                    Series::dots(label, colours[a.id as usize], points)
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            Panel { y_label: super::names::symbol(names[k]), log_y: false, series }
        })
        .collect();
    for (panel, name) in panels.iter_mut().skip(shown.len() - plan.extra_observables().len()).zip(plan.extra_observables()) {
        panel.series.extend(edge_series(plan, name));
        // Over a step size the edge is a power of it: a straight line on log axes.
        panel.log_y = plan.x.log && plan.varies_settings();
    }
    let title = plan.figure.title.clone().unwrap_or_else(|| plan_title(plan));
    Figure::new(title, super::names::axis(&plan.x), plan.x.log, panels)
}


/// The edge of stability of sharpness observable `name` at each x value (2/lr, …), as a line
/// (1-D scans and sweeps draw it).
pub fn edge_series(plan: &Plan, name: &str) -> Option<Series> {
    let edge = |ix: usize| plan.dynamics_at(ix * plan.samples).edge_of(name);
    let label = edge(0)?.1;
    let points = (0..plan.nx()).map(|ix| (plan.x.values[ix], edge(ix).map_or(f64::NAN, |e| e.0))).collect();
    Some(Series::line(label, [0x56, 0xB4, 0xE9], points))
}
