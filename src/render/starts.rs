//! The figure of a sampled run: each start drawn as a dot in its attractor's colour, in the plane
//! of the first two columns of its starts (for one column: against the steps it took), the
//! legend giving each attractor's share with its standard error. A basin image for starts that
//! lie on no grid.

use super::curves::{Figure, Panel, Series};
use super::legend::{legend_label, scales};
use super::names;
use crate::classify::Classification;
use crate::engine::Outcomes;
use crate::plan::Plan;

/// Most starts drawn: past these the figure would be ink, not dots (the starts are random, so
/// the first ones are a fair sample of all).
pub const MAX_DRAWN: usize = 20_000;

/// The scatter of `plan`'s sampled starts coloured by attractor (`colours[id]`).
pub fn starts_figure(plan: &Plan, outcomes: &Outcomes, c: &Classification, colours: &[[u8; 3]]) -> Figure {
    let n = plan.nx();
    let drawn = n.min(MAX_DRAWN);
    let x = &plan.x;
    let (y_label, log_y, y_of): (String, bool, Box<dyn Fn(usize) -> f64>) = match plan.zipped.first() {
        Some(y) => (names::axis(y), y.log, Box::new(move |g| y.values[g])),
        None => ("steps taken".into(), true, Box::new(|g| outcomes.steps[g].max(1) as f64)),
    };
    let observables = plan.observable_names();
    let scales = scales(&c.attractors);
    let series = c
        .attractors
        .iter()
        .map(|a| {
            let points = (0..drawn).filter(|&g| c.labels[g] == a.id).map(|g| (x.values[g], y_of(g))).collect();
            Series::dots(legend_label(a, &observables, &scales), colours[a.id as usize], points)
        })
        .collect();
    let mut fig = Figure::new(title(plan), names::axis(x), x.log, vec![Panel { y_label, log_y, series }]);
    let shown = if drawn < n { format!("the first {drawn} of ") } else { String::new() };
    fig.subtitle = Some(format!("{shown}{}; shares ± their standard errors", plan.sampled.as_deref().unwrap_or("sampled starts")));
    fig
}

fn title(plan: &Plan) -> String {
    plan.figure.title.clone().unwrap_or_else(|| format!("{}: where each start ends", plan.system.spec().name))
}
