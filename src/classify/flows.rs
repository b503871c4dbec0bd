//! Limit cycles of flows. A trajectory of a flow (rk4) that neither settles nor leaves the
//! bounds may be circling a limit cycle; the engine returns it undecided. Here it is continued
//! on the host in f64 from its end state (the same continuation [`super::cycles`] gives maps):
//!
//! * [`SETTLE_STEPS`] steps let it settle further; over the next [`PROBE_STEPS`] the **section**
//!   is chosen: the variable that moves most, at the middle of its range, crossed upwards (a
//!   Poincaré section). An angle that turns round its whole period (a pendulum rotating) is cut
//!   at 0 instead, crossed in the direction it turns. A trajectory the engine's return probe
//!   stopped on a cycle ([`crate::engine::returns`]) is already within 10⁻⁴ of it: half as many
//!   steps of each.
//! * The trajectory goes on until it has crossed the section `2·L + 2` times (L =
//!   [`MAX_LOOPS`]) or [`RECORD_STEPS`] steps have passed. Each crossing is placed between two
//!   steps by the cubic Hermite interpolant of the state and the field at both ends (its error is
//!   of order dt⁴, as rk4's own), and the states at the crossings are the Poincaré map's orbit.
//! * It is on a **limit cycle** when that orbit is periodic: the smallest L' ≤ L (the cycle's
//!   *loops*: how often it crosses the section per period) such that every crossing returns
//!   within [`RETURN_TOL`]·(1 + |x|) of itself L' crossings later, also across the whole
//!   record (a slow drift accumulates there), after at least two returns of each. Its period in
//!   time is the time between those returns, averaged over the record; its end state the
//!   crossing with the smallest first component, the same point from whichever phase the cycle
//!   was entered (the section is fixed by the cycle itself).
//! * Otherwise it goes through a chaos window ([`super::chaos::window`], λ₁ per unit time) and
//!   is chaotic or stays undecided, as a map's orbit is.
//!
//! A limit cycle found this way attracts the trajectory that found it: its stability is
//! reported as stable (its multiplier along the flow is 1; the others are what drew it in).

use super::chaos;
use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::Status;
use crate::plan::Plan;
use crate::system::{wrap_angle, Model};

/// Steps a continued trajectory takes before the section is chosen.
pub const SETTLE_STEPS: usize = 2048;
/// Steps over which the section is chosen.
pub const PROBE_STEPS: usize = 2048;
/// The most steps spent collecting crossings.
pub const RECORD_STEPS: usize = 16384;
/// The most section crossings per period of a limit cycle.
pub const MAX_LOOPS: usize = 8;
/// Crossings of one cycle return within this, relative to 1 + |x| (max-norm).
pub const RETURN_TOL: f64 = 1e-6;

/// Where a continued flow trajectory ended.
pub(crate) enum FlowEnding {
    /// On a limit cycle: its loops, its period in time, the steps taken, its point, and (with
    /// `classify.lyapunov`) λ₁ per unit time of a chaos window along it (near 0).
    Cycle { loops: u32, time: f64, steps: u32, point: Vec<f64>, lyapunov: f64 },
    /// Chaotic: its steps, the middles of its observables' ranges, λ₁ per unit time.
    Chaotic { steps: u32, middles: Vec<f64>, lyapunov: f64 },
    /// Neither; λ₁ per unit time of its chaos window where it had one.
    Undecided { lyapunov: f64 },
}

/// One state of the continuation with the field there (scaled as the step uses it).
struct Sample {
    x: Vec<f64>,
    v: Vec<f64>,
}

/// The section: variable `k` at `level`, crossed in direction `sign` (+1 upwards); `period` > 0
/// for an angle.
struct Section {
    k: usize,
    level: f64,
    sign: f64,
    period: f64,
}

/// Continues trajectory `index` of a flow from its end state `end` (see the module header).
/// `stopped`: the engine's return probe stopped it on a cycle, within 10⁻⁴·(1 + |x|) of it
/// ([`crate::engine::returns`]); it settles and probes for half as many steps.
pub(crate) fn ending_from<M: Model>(plan: &Plan, m: &M, index: usize, end: &[f64], stopped: bool) -> FlowEnding {
    let (settle, probe) = if stopped { (SETTLE_STEPS / 2, PROBE_STEPS / 2) } else { (SETTLE_STEPS, PROBE_STEPS) };
    let unknown = FlowEnding::Undecided { lyapunov: f64::NAN };
    let inputs = plan.inputs_at(index);
    let p = &inputs[..plan.n_params];
    let stepper = Stepper::<f64>::deterministic_at(plan, index);
    let dt = stepper.hyper.step;
    let angles = plan.system.spec().angles();
    let period_of = |k: usize| angles.iter().find(|a| a.0 == k).map_or(0.0, |a| a.1);
    let n = end.len();
    let mut s = Scratch::new(n);
    let mut x = end.to_vec();
    stepper.wrap_angles(&mut x);
    // One step from `x`; the field at the state before it is left in `s.v`.
    let mut steps = 0usize;
    let mut step = |x: &mut Vec<f64>, s: &mut Scratch<f64>| -> bool {
        stepper.field(m, p, x, &mut s.v);
        stepper.advance(m, p, x, s);
        steps += 1;
        stepper.escape_status(x) == Status::Running
    };
    for _ in 0..settle {
        if !step(&mut x, &mut s) {
            return unknown;
        }
    }
    // The section, from the ranges (and an angle's turning) over the probe.
    let (mut lo, mut hi, mut turned) = (x.clone(), x.clone(), vec![0.0; n]);
    for _ in 0..probe {
        let before = x.clone();
        if !step(&mut x, &mut s) {
            return unknown;
        }
        for k in 0..n {
            lo[k] = lo[k].min(x[k]);
            hi[k] = hi[k].max(x[k]);
            let period = period_of(k);
            if period > 0.0 {
                turned[k] += wrap_angle(x[k] - before[k], period, 1.0 / period);
            }
        }
    }
    let size = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let section = match (0..n).find(|&k| period_of(k) > 0.0 && turned[k].abs() > period_of(k)) {
        Some(k) => Section { k, level: 0.0, sign: turned[k].signum(), period: period_of(k) },
        None => {
            let k = (0..n).max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b]))).unwrap_or(0);
            // A cycle must move: a spiral still closing onto a focus returns nowhere.
            if hi[k] - lo[k] <= 100.0 * RETURN_TOL * (1.0 + size) {
                return unknown;
            }
            Section { k, level: 0.5 * (lo[k] + hi[k]), sign: 1.0, period: period_of(k) }
        }
    };
    // The crossings: their states (rows of n) and times.
    let mut rows: Vec<f64> = Vec::new();
    let mut times: Vec<f64> = Vec::new();
    let max_rows = 2 * MAX_LOOPS + 2;
    // The field at each state is computed once: it is the sample's slope and the next step's
    // first stage (`advance` takes it from `s.v`).
    stepper.field(m, p, &x, &mut s.v);
    let mut before = Sample { x: x.clone(), v: s.v.clone() };
    let mut after = Sample { x: x.clone(), v: s.v.clone() };
    let mut found = None;
    for t in 0..RECORD_STEPS {
        stepper.advance(m, p, &mut x, &mut s);
        steps += 1;
        if stepper.escape_status(&x) != Status::Running {
            return unknown;
        }
        stepper.field(m, p, &x, &mut s.v);
        after.x.copy_from_slice(&x);
        after.v.copy_from_slice(&s.v);
        if let Some((theta, point)) = crossing(&section, &before, &after, dt, &angles) {
            rows.extend_from_slice(&point);
            times.push((t as f64 + theta) * dt);
            let count = times.len();
            if let Some(loops) = (1..=MAX_LOOPS).find(|&l| count >= 2 * l + 2 && returns(&rows, n, l, &angles)) {
                found = Some(loops);
                break;
            }
            if count >= max_rows {
                break;
            }
        }
        std::mem::swap(&mut before, &mut after);
    }
    if let Some(loops) = found {
        let count = times.len();
        let periods = (count - 1) / loops;
        let time = (times[periods * loops] - times[0]) / periods as f64;
        let point = super::cycles::first_point(&rows[..loops * n], n).to_vec();
        let lyapunov = if plan.classify.lyapunov { chaos::window(plan, m, index, &mut point.clone(), 0).map_or(f64::NAN, |w| w.lyapunov) } else { f64::NAN };
        return FlowEnding::Cycle { loops: loops as u32, time, steps: steps as u32, point, lyapunov };
    }
    match chaos::window(plan, m, index, &mut x, 0) {
        Some(w) if w.is_chaotic() => FlowEnding::Chaotic { steps: (steps + chaos::window_steps(plan, dt)) as u32, middles: w.middles, lyapunov: w.lyapunov },
        Some(w) => FlowEnding::Undecided { lyapunov: w.lyapunov },
        None => unknown,
    }
}

/// Whether the step from `a` to `b` crosses the section; then the fraction of the step where
/// it does and the state there (angles wrapped).
fn crossing(section: &Section, a: &Sample, b: &Sample, dt: f64, angles: &[(usize, f64)]) -> Option<(f64, Vec<f64>)> {
    let k = section.k;
    // Signed distances from the level before and after the step; an angle's step is its
    // wrapped difference, so its jump at ±period/2 is no crossing.
    let (ya, yb) = if section.period > 0.0 {
        let wrap = |v: f64| wrap_angle(v, section.period, 1.0 / section.period);
        let ya = wrap(a.x[k] - section.level);
        (ya, ya + wrap(b.x[k] - a.x[k]))
    } else {
        (a.x[k] - section.level, b.x[k] - section.level)
    };
    if !(section.sign * ya < 0.0 && section.sign * yb >= 0.0) {
        return None;
    }
    // The cubic Hermite interpolant of component j over the step (θ ∈ [0, 1]).
    let unwrap = |j: usize| -> (f64, f64) {
        let (u, w) = (a.x[j], b.x[j]);
        match angles.iter().find(|q| q.0 == j) {
            Some(&(_, period)) => (u, u + wrap_angle(w - u, period, 1.0 / period)),
            None => (u, w),
        }
    };
    let hermite = |j: usize, t: f64| -> f64 {
        let (u, w) = unwrap(j);
        let (h00, h10, h01, h11) = (2.0 * t * t * t - 3.0 * t * t + 1.0, t * t * t - 2.0 * t * t + t, -2.0 * t * t * t + 3.0 * t * t, t * t * t - t * t);
        h00 * u + h10 * dt * a.v[j] + h01 * w + h11 * dt * b.v[j]
    };
    // θ where component k meets the level: bisection on the sign change, then the point.
    let f = |t: f64| section.sign * (hermite(k, t) - a.x[k] + ya);
    let (mut l, mut r) = (0.0f64, 1.0f64);
    if f(l) >= 0.0 || f(r) < 0.0 {
        // The interpolant disagrees with the samples' signs (a grazing crossing): linear.
        let theta = ya / (ya - yb);
        let linear = |j: usize| {
            let (u, w) = unwrap(j);
            wrap_point(j, u + theta * (w - u), angles)
        };
        return Some((theta, (0..a.x.len()).map(linear).collect()));
    }
    for _ in 0..60 {
        let mid = 0.5 * (l + r);
        if f(mid) < 0.0 {
            l = mid;
        } else {
            r = mid;
        }
    }
    let theta = 0.5 * (l + r);
    Some((theta, (0..a.x.len()).map(|j| wrap_point(j, hermite(j, theta), angles)).collect()))
}

fn wrap_point(j: usize, v: f64, angles: &[(usize, f64)]) -> f64 {
    match angles.iter().find(|q| q.0 == j) {
        Some(&(_, period)) => wrap_angle(v, period, 1.0 / period),
        None => v,
    }
}

/// Whether every crossing in `rows` (rows of `n`) returns within [`RETURN_TOL`] of itself
/// `loops` crossings later, and across the whole record (angles compared modulo their period).
pub(crate) fn returns(rows: &[f64], n: usize, loops: usize, angles: &[(usize, f64)]) -> bool {
    let count = rows.len() / n;
    let row = |t: usize| &rows[t * n..(t + 1) * n];
    let close = |t: usize, u: usize| within(row(t), row(u), RETURN_TOL, angles);
    (0..count - loops).all(|t| close(t, t + loops)) && (0..loops).all(|t| close(t, t + (count - 1 - t) / loops * loops))
}

/// Whether `b` lies within `tol`·(1 + |a|) of `a` (max-norm), angles compared modulo their
/// period.
pub(crate) fn within(a: &[f64], b: &[f64], tol: f64, angles: &[(usize, f64)]) -> bool {
    let size = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (0..a.len()).all(|j| {
        let d = match angles.iter().find(|q| q.0 == j) {
            Some(&(_, period)) => wrap_angle(a[j] - b[j], period, 1.0 / period),
            None => a[j] - b[j],
        };
        d.abs() <= tol * (1.0 + size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crossing_is_placed_by_the_hermite_interpolant() {
        // x(t) = sin t, v = cos t, stepped by 0.1 across t = π (downwards) and 2π (upwards).
        let dt = 0.1;
        let at = |t: f64| Sample { x: vec![t.sin(), t.cos()], v: vec![t.cos(), -t.sin()] };
        let up = Section { k: 0, level: 0.0, sign: 1.0, period: 0.0 };
        let t0 = 2.0 * std::f64::consts::PI - 0.03;
        let (theta, point) = crossing(&up, &at(t0), &at(t0 + dt), dt, &[]).expect("crosses upwards");
        assert!((t0 + theta * dt - 2.0 * std::f64::consts::PI).abs() < 1e-6, "{theta}");
        assert!((point[1] - 1.0).abs() < 1e-6 && point[0].abs() < 1e-9);
        assert!(crossing(&up, &at(std::f64::consts::PI - 0.03), &at(std::f64::consts::PI + 0.07), dt, &[]).is_none());
        // An angle turning upwards across ±π is not crossing 0; across 0 it is.
        let angle = Section { k: 0, level: 0.0, sign: 1.0, period: std::f64::consts::TAU };
        let turn = |phi: f64| Sample { x: vec![wrap_angle(phi, std::f64::consts::TAU, 1.0 / std::f64::consts::TAU), 1.0], v: vec![1.0, 0.0] };
        let angles = [(0, std::f64::consts::TAU)];
        assert!(crossing(&angle, &turn(3.1), &turn(3.2), dt, &angles).is_none());
        let (theta, _) = crossing(&angle, &turn(-0.05), &turn(0.05), dt, &angles).expect("crosses 0");
        assert!((theta - 0.5).abs() < 1e-9);
    }

    #[test]
    fn returns_need_every_crossing_to_come_back() {
        // Two crossings per period, the second at an angle near ±π.
        let rows: Vec<f64> = (0..6).flat_map(|t| if t % 2 == 0 { [0.0, 1.0] } else { [std::f64::consts::PI - 1e-9, 2.0] }).collect();
        let angles = [(0, std::f64::consts::TAU)];
        assert!(returns(&rows, 2, 2, &angles));
        assert!(!returns(&rows, 2, 1, &angles));
        let mut drifting = rows.clone();
        drifting[11] += 1e-3;
        assert!(!returns(&drifting, 2, 2, &angles));
    }
}
