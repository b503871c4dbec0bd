//! `basinmap sweep`: one parameter scanned finely, many starts per value. For every value: each
//! distinct fixed point the starts reached (located in f64), the lowest loss L (the estimate of
//! the global minimum), the order parameter there, and the numerical derivatives L' and L'';
//! and each cycle and chaotic attractor they reached (undecided trajectories are tested for
//! them as `basinmap run` does, [`crate::classify::cycles`]), with the order parameter along
//! a cycle: where the steps no longer settle (gd past its edge of stability), what they do.

use super::fixed_points::{distinct, FixedPoint, Quantities};
use crate::classify::Kind;
use crate::engine::{Engine, Outcomes, Status};
use crate::plan::Plan;
use crate::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;

/// One distinct fixed point at one value of the swept parameter.
#[derive(Clone, Debug)]
pub struct SweepFixedPoint {
    pub point: FixedPoint,
    /// The attractor id the run's classifier gave most of its trajectories (-1 when unknown, or
    /// for a minimum found by continuation rather than from a start).
    pub attractor: i64,
    /// Share of this value's trajectories that reached it (0: found by continuation only).
    pub share: f64,
}

/// A cycle or chaotic attractor the starts reached at one value of the swept parameter.
#[derive(Clone, Debug)]
pub struct SweepOrbit {
    /// [`Kind::Cycle`] or [`Kind::Chaotic`].
    pub kind: Kind,
    /// Steps per return of a cycle (a flow's limit cycle: its loops); 0 when chaotic.
    pub period: u32,
    /// The attractor id the run's classifier gave most of its trajectories (-1 when unknown).
    pub attractor: i64,
    /// Share of this value's trajectories that reached it.
    pub share: f64,
    /// The order parameter at the cycle's point (its smallest first component), or at the
    /// middle of a chaotic attractor's ranges.
    pub order: f64,
    /// The order parameter at each point of one period of a map's cycle, from its point (empty
    /// for chaos and a flow's limit cycle).
    pub orbit: Vec<f64>,
    /// The loss averaged over those points (NaN where `orbit` is empty).
    pub mean_loss: f64,
}

impl SweepOrbit {
    /// "2-cycle", "chaotic".
    pub fn name(&self) -> String {
        match self.kind {
            Kind::Cycle => format!("{}-cycle", self.period),
            _ => self.kind.as_str().to_string(),
        }
    }
}

/// One value of the swept parameter.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    pub value: f64,
    pub fixed_points: Vec<SweepFixedPoint>,
    /// The cycles and chaotic attractors reached, by share (largest first).
    pub orbits: Vec<SweepOrbit>,
    /// L: the lowest loss of a fixed point reached that is not a saddle or maximum (NaN when none).
    pub loss: f64,
    /// The order parameter of the fixed point with loss L.
    pub order: f64,
    /// dL/dparameter and d²L/dparameter² (central differences; one-sided at the ends).
    pub d1: f64,
    pub d2: f64,
    /// The step rule's edge of stability at this value (2/lr for gd, …; NaN for Adam):
    /// a minimum sharper than this is not a stable fixed point of the steps.
    pub threshold: f64,
    /// Where the run observes the sharpness (`--observe sharpness`): per sharpness observable
    /// ([`Sweep::observed`]), its finite values at the end of every start at this value (at
    /// the edge of stability the steps do not settle, and these are what training reached).
    pub ends: Vec<Vec<f64>>,
}

/// A whole sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub parameter: String,
    pub quantities: Quantities,
    pub points: Vec<SweepPoint>,
    /// The sharpness observables of [`SweepPoint::ends`] (empty where none is observed).
    pub observed: Vec<&'static str>,
}

/// Checks that `plan` is a sweep: x a parameter, y (if any) a starting value.
pub fn check(plan: &Plan) -> Result<()> {
    // Its fixed points are located in the field as it stands, which a forced flow's time moves.
    plan.require_autonomous("sweep")?;
    if plan.x.is_state {
        return Err(Error::input(format!("sweep: the x axis must be a parameter, but '{}' is a starting value", plan.x.name)));
    }
    if let Some(y) = plan.y.as_ref().filter(|y| !y.is_state) {
        return Err(Error::input(format!(
            "sweep: the y axis sets the parameter '{}'; a sweep scans one parameter, and its y axis (if any) is a grid of starting values",
            y.name
        )));
    }
    if !plan.system.has_host_model() {
        return Err(Error::input("sweep: a system written in WGSL has no host model to locate fixed points in f64; write it as a formula (--loss)"));
    }
    Ok(())
}

/// The fixed points, L and order parameter at every x value of an engine run of `plan`;
/// `labels` (the classifier's, per trajectory) name the attractors.
pub fn points_of(plan: &Plan, outcomes: &Outcomes, labels: Option<&[u32]>, q: &Quantities) -> Result<Vec<SweepPoint>> {
    let nx = plan.nx();
    let mut by_value: Vec<Vec<usize>> = vec![Vec::new(); nx];
    for i in 0..plan.n_trajectories() {
        by_value[plan.point_of(i) % nx].push(i);
    }
    // Values are independent: located in parallel (each a few f64 flows and Newton solves).
    let mut points = by_value
        .par_iter()
        .enumerate()
        .map(|(ix, indices)| -> Result<SweepPoint> {
            let fixed: Vec<SweepFixedPoint> = distinct(plan, outcomes, indices, q)?
                .into_iter()
                .map(|(point, members)| SweepFixedPoint {
                    attractor: labels.map_or(-1, |l| majority(members.iter().map(|&i| l[i]))),
                    share: members.len() as f64 / indices.len() as f64,
                    point,
                })
                .collect();
            let threshold = indices.first().and_then(|&i| plan.dynamics_at(i).stability_threshold()).unwrap_or(f64::NAN);
            let at = plan.extras_offset();
            let ends = (0..plan.extra_observables().len())
                .map(|k| indices.iter().map(|&i| outcomes.obs(i)[at + k] as f64).filter(|v| v.is_finite()).collect())
                .collect();
            let orbits = orbits_of(plan, outcomes, indices, labels, q);
            let mut p = SweepPoint { value: plan.x.values[ix], fixed_points: fixed, orbits, loss: f64::NAN, order: f64::NAN, d1: f64::NAN, d2: f64::NAN, threshold, ends };
            p.summarise();
            Ok(p)
        })
        .collect::<Result<Vec<SweepPoint>>>()?;
    derivatives(&mut points);
    Ok(points)
}

/// The cycles and chaotic attractors trajectories `indices` (one value's) reached: cycles of
/// one period whose points agree within 1e-3 (relative, as fixed points are told apart), chaotic
/// ones whose range middles agree within [`crate::classify::chaos::CHAOS_TOL`], are one.
pub fn orbits_of(plan: &Plan, outcomes: &Outcomes, indices: &[usize], labels: Option<&[u32]>, q: &Quantities) -> Vec<SweepOrbit> {
    let n_obs = plan.system.spec().model_observables().len();
    let n_mem = plan.kept_memory();
    let close = |a: &[f32], b: &[f32], rel: f64| a.iter().zip(b).all(|(&x, &y)| ((x - y).abs() as f64) <= rel * (1.0 + (x.abs().max(y.abs())) as f64));
    // (kind, period, key observables, members)
    let mut groups: Vec<(Kind, u32, Vec<f32>, Vec<usize>)> = Vec::new();
    for &i in indices {
        let (kind, period, rel) = match Status::from_code(outcomes.status[i]) {
            Status::Cycle if outcomes.period_of(i) > 0 => (Kind::Cycle, outcomes.period_of(i), 1e-3),
            Status::Chaotic => (Kind::Chaotic, 0, crate::classify::chaos::CHAOS_TOL),
            _ => continue,
        };
        let key = &outcomes.obs(i)[..n_obs];
        match groups.iter_mut().find(|g| g.0 == kind && g.1 == period && close(&g.2, key, rel)) {
            Some(g) => g.3.push(i),
            None => groups.push((kind, period, key.to_vec(), vec![i])),
        }
    }
    let mut orbits: Vec<SweepOrbit> = groups
        .into_iter()
        .map(|(kind, period, key, members)| {
            let rep = members[0];
            // One period of a map's cycle from its point (state ⊕ the memory kept there).
            let orbit = match kind {
                Kind::Cycle => {
                    let z: Vec<f64> = key[..plan.n_state().min(n_obs)].iter().chain(outcomes.memory_of(rep, n_mem).unwrap_or(&[])).map(|&v| v as f64).collect();
                    crate::classify::cycles::orbit_observables(plan, rep, &z, period).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let mean_loss = if orbit.is_empty() { f64::NAN } else { orbit.iter().map(|o| o[q.loss]).sum::<f64>() / orbit.len() as f64 };
            SweepOrbit {
                kind,
                period,
                attractor: labels.map_or(-1, |l| majority(members.iter().map(|&i| l[i]))),
                share: members.len() as f64 / indices.len() as f64,
                order: key[q.order] as f64,
                orbit: orbit.iter().map(|o| o[q.order]).collect(),
                mean_loss,
            }
        })
        .collect();
    orbits.sort_by(|a, b| b.share.total_cmp(&a.share));
    orbits
}

impl SweepPoint {
    /// Sorts the fixed points by loss and takes L and the order parameter from the lowest one
    /// that is not a saddle or maximum (one reached from a start exactly on it does not count).
    pub fn summarise(&mut self) {
        self.fixed_points.sort_by(|a, b| a.point.loss.total_cmp(&b.point.loss));
        (self.loss, self.order) = self.fixed_points.iter().find(|f| f.point.may_be_stable()).map_or((f64::NAN, f64::NAN), |f| (f.point.loss, f.point.order));
    }
}

/// Adds the minima of the branches followed up and down (see hysteresis.rs) to the values where
/// no start reached them (listed with share 0), and recomputes L and its derivatives: a minimum
/// whose basin the starts missed at one value is still found by continuation from its
/// neighbours, so L does not depend on the luck of the draws.
pub fn add_branches(points: &mut [SweepPoint], branches: &[&[super::hysteresis::BranchPoint]]) {
    let n = points.len();
    for branch in branches.iter().filter(|b| b.len() == n) {
        for (p, b) in points.iter_mut().zip(branch.iter()) {
            let known = p.fixed_points.iter().any(|f| (f.point.loss - b.point.loss).abs() <= 1e-9 * (1.0 + b.point.loss.abs()) && (f.point.order.abs() - b.point.order.abs()).abs() <= 1e-6 * (1.0 + b.point.order.abs()));
            if b.value == p.value && b.point.may_be_stable() && !known {
                p.fixed_points.push(SweepFixedPoint { point: b.point.clone(), attractor: -1, share: 0.0 });
                p.summarise();
            }
        }
    }
    derivatives(points);
}

fn majority(labels: impl Iterator<Item = u32>) -> i64 {
    let mut v: Vec<u32> = labels.collect();
    v.sort_unstable();
    v.chunk_by(|a, b| a == b).max_by_key(|r| r.len()).map_or(-1, |r| r[0] as i64)
}

/// L' and L'' by the three-point formulas for uneven spacing (log axes).
pub fn derivatives(points: &mut [SweepPoint]) {
    let n = points.len();
    if n < 3 {
        return;
    }
    let x: Vec<f64> = points.iter().map(|p| p.value).collect();
    let f: Vec<f64> = points.iter().map(|p| p.loss).collect();
    for i in 0..n {
        let j = i.clamp(1, n - 2);
        let (h0, h1) = (x[j] - x[j - 1], x[j + 1] - x[j]);
        let (f0, f1, f2) = (f[j - 1], f[j], f[j + 1]);
        let d2 = 2.0 * (h0 * f2 - (h0 + h1) * f1 + h1 * f0) / (h0 * h1 * (h0 + h1));
        // Derivative of the parabola through the three points, at x[i].
        let t = x[i] - x[j];
        let d1_mid = (h0 * h0 * f2 + (h1 * h1 - h0 * h0) * f1 - h1 * h1 * f0) / (h0 * h1 * (h0 + h1));
        points[i].d1 = d1_mid + d2 * t;
        points[i].d2 = d2;
    }
}

/// The plan restricted to the single swept value `value` (all its starts): what bisection runs.
pub fn at_value(plan: &Plan, value: f64) -> Plan {
    let mut p = plan.clone();
    p.x.values = vec![value];
    p
}

/// An engine run of `plan`, its undecided trajectories tested for cycles and chaos as
/// `basinmap run` does; progress and stop requests go to and from `observer`.
pub fn run_settled(plan: &Plan, engine: &dyn Engine, observer: &dyn crate::report::Observer) -> Result<Outcomes> {
    let tile = crate::engine::stop_tile(&engine.info(), observer.stops_mid_run());
    let mut outcomes = crate::engine::run_in_tiles(engine, plan, tile, &|d, t| observer.progress(d, t), &|| observer.should_stop())?;
    crate::classify::cycles::settle_undecided(plan, &mut outcomes, plan.range().start);
    crate::classify::continued::settle_on_engine(plan, engine, &mut outcomes, plan.range().start)?;
    Ok(outcomes)
}

/// The fixed points (and cycles) at one value, from a fresh engine run over all the sweep's
/// starts.
pub fn point_at(plan: &Plan, engine: &dyn Engine, q: &Quantities, value: f64) -> Result<SweepPoint> {
    let sub = at_value(plan, value);
    let outcomes = run_settled(&sub, engine, &crate::report::Silent)?;
    let mut pts = points_of(&sub, &outcomes, None, q)?;
    Ok(pts.remove(0))
}

/// The fixed points at `value` from a fresh run of all the sweep's starts, together with the
/// minima `neighbours` (fixed points at nearby values) continued to `value`: what bisection
/// compares, so that a side is not judged by a minimum the starts happened to miss.
pub fn point_with_neighbours(plan: &Plan, engine: &dyn Engine, q: &Quantities, value: f64, neighbours: &[&FixedPoint]) -> Result<SweepPoint> {
    let mut p = point_at(plan, engine, q, value)?;
    let params = plan.params_at_x(value);
    for n in neighbours {
        if let Some(f) = super::fixed_points::settle(plan, &params, &n.state, true, q)?.filter(|f| f.may_be_stable()) {
            p.fixed_points.push(SweepFixedPoint { point: f, attractor: -1, share: 0.0 });
        }
    }
    p.summarise();
    Ok(p)
}

/// The fixed point with loss L at a value, if any.
pub fn lowest(p: &SweepPoint) -> Option<&FixedPoint> {
    p.fixed_points.iter().map(|f| &f.point).find(|f| f.may_be_stable())
}

/// sweep.csv: one row per value and fixed point (a value with none reached has one row with
/// empty fixed-point columns).
///
/// With `--observe sharpness`, columns NAME_median, NAME_min and NAME_max per sharpness
/// observable follow: over the starts at the value, what training ended at.
pub fn csv(sweep: &Sweep) -> String {
    let q = &sweep.quantities;
    let mut s = format!(
        "{},L,dL,d2L,{}_at_L,edge_of_stability,attractor,fp_loss,fp_{},fp_stability,fp_share,fp_residual,fp_sharpness",
        sweep.parameter, q.order_name, q.order_name
    );
    for name in &sweep.observed {
        s.push_str(&format!(",{name}_median,{name}_min,{name}_max"));
    }
    s.push('\n');
    for p in &sweep.points {
        let head = format!("{},{},{},{},{},{}", p.value, p.loss, p.d1, p.d2, p.order, p.threshold);
        let mut tail = String::new();
        for values in &p.ends {
            let (median, lo, hi) = summary(values);
            tail.push_str(&format!(",{median},{lo},{hi}"));
        }
        if p.fixed_points.is_empty() {
            s.push_str(&format!("{head},,,,,,,{tail}\n"));
        }
        for f in &p.fixed_points {
            s.push_str(&format!(
                "{head},{},{},{},{},{},{:e},{}{tail}\n",
                f.attractor,
                f.point.loss,
                f.point.order,
                f.point.stability.as_str(),
                f.share,
                f.point.residual,
                f.point.sharpness
            ));
        }
    }
    s
}

/// sweep_orbits.csv: one row per value and cycle or chaotic attractor reached: its kind, period,
/// attractor id, share, the order parameter at its point (a chaotic one's: the middle of its
/// range), its least and greatest value over one period of a map's cycle, and the loss averaged
/// over that period (empty where not known).
pub fn orbits_csv(sweep: &Sweep) -> String {
    let name = &sweep.quantities.order_name;
    let mut s = format!("{},kind,period,attractor,share,{name},{name}_min,{name}_max,mean_loss\n", sweep.parameter);
    let num = |v: f64| if v.is_finite() { v.to_string() } else { String::new() };
    for p in &sweep.points {
        for o in &p.orbits {
            let lo = o.orbit.iter().copied().fold(f64::NAN, f64::min);
            let hi = o.orbit.iter().copied().fold(f64::NAN, f64::max);
            s.push_str(&format!("{},{},{},{},{},{},{},{},{}\n", p.value, o.kind.as_str(), o.period, o.attractor, o.share, o.order, num(lo), num(hi), num(o.mean_loss)));
        }
    }
    s
}

/// Median, minimum and maximum of `values` (NaN for none).
pub fn summary(values: &[f64]) -> (f64, f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) };
    (median, v[0], v[n - 1])
}

/// What a sweep's summary in transitions.json says about it.
#[derive(Clone, Debug, Serialize)]
pub struct SweepSummary {
    pub parameter: String,
    pub order_parameter: String,
    pub values: usize,
    pub range: [f64; 2],
    pub starts_per_value: usize,
    /// Values at which no start converged.
    pub values_without_fixed_point: usize,
}

impl SweepSummary {
    pub fn of(plan: &Plan, sweep: &Sweep) -> SweepSummary {
        SweepSummary {
            parameter: sweep.parameter.clone(),
            order_parameter: sweep.quantities.order_name.clone(),
            values: sweep.points.len(),
            range: [plan.x.values[0], *plan.x.values.last().expect("an axis has values")],
            starts_per_value: plan.ny() * plan.samples,
            values_without_fixed_point: sweep.points.iter().filter(|p| p.fixed_points.is_empty()).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(x: &[f64], f: impl Fn(f64) -> f64) -> Vec<SweepPoint> {
        x.iter().map(|&v| SweepPoint { value: v, fixed_points: vec![], orbits: vec![], loss: f(v), order: 0.0, d1: 0.0, d2: 0.0, threshold: f64::NAN, ends: vec![] }).collect()
    }

    #[test]
    fn derivatives_are_exact_for_a_parabola_on_uneven_spacing() {
        let x = [0.0, 0.1, 0.3, 0.35, 0.8, 1.0];
        let mut p = pts(&x, |v| 3.0 * v * v - 2.0 * v + 1.0);
        derivatives(&mut p);
        for q in &p {
            assert!((q.d1 - (6.0 * q.value - 2.0)).abs() < 1e-12, "{} {}", q.value, q.d1);
            assert!((q.d2 - 6.0).abs() < 1e-10);
        }
    }
}
