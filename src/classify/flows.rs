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
//! The test is [`Watch`], fed one state (and the field there) a step: here by the host's f64
//! stepper, for a flow written in WGSL by the engine's trace of rows
//! ([`super::continued_flows`]), so both give one verdict at one step.
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
    let unknown = FlowEnding::Undecided { lyapunov: f64::NAN };
    let inputs = plan.inputs_at(index);
    let p = &inputs[..plan.n_params];
    let stepper = Stepper::<f64>::deterministic_at(plan, index);
    let dt = stepper.hyper.step;
    let mut s = Scratch::new(end.len());
    let mut x = end.to_vec();
    stepper.wrap_angles(&mut x);
    let mut watch = Watch::new(plan, dt, stopped, RETURN_TOL);
    // The field at each state is computed once: it is the sample's slope and the step's first
    // stage (`advance` takes it from `s.v`).
    let verdict = loop {
        stepper.field(m, p, &x, &mut s.v);
        if let Some(verdict) = watch.push(&x, &s.v) {
            break verdict;
        }
        stepper.advance(m, p, &mut x, &mut s);
        if stepper.escape_status(&x) != Status::Running {
            return unknown;
        }
    };
    let steps = watch.steps();
    match verdict {
        Verdict::Cycle { loops, time, point } => {
            let lyapunov = if plan.classify.lyapunov { chaos::window(plan, m, index, &mut point.clone(), 0).map_or(f64::NAN, |w| w.lyapunov) } else { f64::NAN };
            FlowEnding::Cycle { loops, time, steps: steps as u32, point, lyapunov }
        }
        Verdict::Unknown => unknown,
        Verdict::NoCycle => match chaos::window(plan, m, index, &mut x, 0) {
            Some(w) if w.is_chaotic() => FlowEnding::Chaotic { steps: (steps + chaos::window_steps(plan, dt)) as u32, middles: w.middles, lyapunov: w.lyapunov },
            Some(w) => FlowEnding::Undecided { lyapunov: w.lyapunov },
            None => unknown,
        },
    }
}

/// What a [`Watch`] concluded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// On a limit cycle: its loops (section crossings per period), its period in time, its
    /// point (the crossing with the smallest first component).
    Cycle { loops: u32, time: f64, point: Vec<f64> },
    /// No cycle in the record: a chaos window follows, from the last state pushed.
    NoCycle,
    /// Nothing moves enough to cut a section (a spiral closing onto a focus): undecided.
    Unknown,
}

/// The limit-cycle test of the module header for one continued trajectory, fed the states it
/// passes through one step at a time with the field at each (by the host's f64 stepper, or by
/// an engine's trace of rows: [`super::continued_flows`]): sample 0 is the end state it is
/// continued from, sample i the state after i steps. Settling, the section's choice and the
/// crossings are counted in samples, so both feeders give one verdict at one sample.
pub(crate) struct Watch {
    settle: usize,
    probe: usize,
    dt: f64,
    /// Crossings return within this, relative to 1 + |x|.
    tol: f64,
    angles: Vec<(usize, f64)>,
    /// Samples taken so far.
    seen: usize,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// How far each angle turned over the probe.
    turned: Vec<f64>,
    /// The sample before, and the one taken (kept to be swapped, not allocated, each step).
    before: Sample,
    after: Sample,
    section: Option<Section>,
    /// The crossings: their states (rows of n) and times.
    rows: Vec<f64>,
    times: Vec<f64>,
}

impl Watch {
    /// The watch of a trajectory of `plan` stepped by `dt`; `stopped` as in [`ending_from`];
    /// `tol` the return tolerance ([`RETURN_TOL`] in f64).
    pub(crate) fn new(plan: &Plan, dt: f64, stopped: bool, tol: f64) -> Watch {
        let (settle, probe) = if stopped { (SETTLE_STEPS / 2, PROBE_STEPS / 2) } else { (SETTLE_STEPS, PROBE_STEPS) };
        let n = plan.n_state();
        Watch {
            settle,
            probe,
            dt,
            tol,
            angles: plan.system.spec().angles(),
            seen: 0,
            lo: Vec::new(),
            hi: Vec::new(),
            turned: vec![0.0; n],
            before: Sample { x: vec![0.0; n], v: vec![0.0; n] },
            after: Sample { x: vec![0.0; n], v: vec![0.0; n] },
            section: None,
            rows: Vec::new(),
            times: Vec::new(),
        }
    }

    /// The samples before the section's probe, which only settle.
    pub(crate) fn settle_steps(&self) -> usize {
        self.settle
    }

    /// Counts the settling samples as taken (a feeder that stepped them without looking).
    pub(crate) fn skip_settling(&mut self) {
        self.seen = self.seen.max(self.settle);
    }

    /// The most samples a watch takes before its verdict.
    pub(crate) fn most_samples(&self) -> usize {
        self.settle + self.probe + RECORD_STEPS + 1
    }

    /// Steps taken to the last sample.
    pub(crate) fn steps(&self) -> usize {
        self.seen.saturating_sub(1)
    }

    fn period_of(&self, k: usize) -> f64 {
        self.angles.iter().find(|a| a.0 == k).map_or(0.0, |a| a.1)
    }

    /// Takes the next sample: state `x`, and `v` the field the step follows there; the
    /// verdict once there is one (no more samples are needed then).
    pub(crate) fn push(&mut self, x: &[f64], v: &[f64]) -> Option<Verdict> {
        let i = self.seen;
        self.seen += 1;
        let n = x.len();
        let (settle, probe) = (self.settle, self.probe);
        if i < settle {
            return None;
        }
        if i == settle {
            // The ranges over the probe start here.
            (self.lo, self.hi) = (x.to_vec(), x.to_vec());
        } else if i <= settle + probe {
            for k in 0..n {
                self.lo[k] = self.lo[k].min(x[k]);
                self.hi[k] = self.hi[k].max(x[k]);
                let period = self.period_of(k);
                if period > 0.0 {
                    self.turned[k] += wrap_angle(x[k] - self.before.x[k], period, 1.0 / period);
                }
            }
        }
        if i < settle + probe {
            self.before.x.copy_from_slice(x);
            return None;
        }
        if i == settle + probe {
            // The section, from the ranges (and an angle's turning) over the probe.
            let size = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let (lo, hi, turned) = (&self.lo, &self.hi, &self.turned);
            let section = match (0..n).find(|&k| self.period_of(k) > 0.0 && turned[k].abs() > self.period_of(k)) {
                Some(k) => Section { k, level: 0.0, sign: turned[k].signum(), period: self.period_of(k) },
                None => {
                    let k = (0..n).max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b]))).unwrap_or(0);
                    // A cycle must move: a spiral still closing onto a focus returns nowhere.
                    // (Scaled with the tolerance: in f32, cycles smaller than 3e-3·(1 + |x|)
                    // cannot be told from a spiral closing slowly, and stay undecided.)
                    if hi[k] - lo[k] <= 100.0 * self.tol * (1.0 + size) {
                        return Some(Verdict::Unknown);
                    }
                    Section { k, level: 0.5 * (lo[k] + hi[k]), sign: 1.0, period: self.period_of(k) }
                }
            };
            self.section = Some(section);
            self.before.x.copy_from_slice(x);
            self.before.v.copy_from_slice(v);
            return None;
        }
        let t = i - (settle + probe) - 1;
        self.after.x.copy_from_slice(x);
        self.after.v.copy_from_slice(v);
        let section = self.section.as_ref().expect("chosen at the end of the probe");
        let mut verdict = None;
        if let Some((theta, point)) = crossing(section, &self.before, &self.after, self.dt, &self.angles) {
            self.rows.extend_from_slice(&point);
            self.times.push((t as f64 + theta) * self.dt);
            let count = self.times.len();
            if let Some(loops) = (1..=MAX_LOOPS).find(|&l| count >= 2 * l + 2 && returns(&self.rows, n, l, self.tol, &self.angles)) {
                let periods = (count - 1) / loops;
                let time = (self.times[periods * loops] - self.times[0]) / periods as f64;
                let point = super::cycles::first_point(&self.rows[..loops * n], n).to_vec();
                return Some(Verdict::Cycle { loops: loops as u32, time, point });
            }
            if count >= 2 * MAX_LOOPS + 2 {
                verdict = Some(Verdict::NoCycle);
            }
        }
        if t + 1 >= RECORD_STEPS {
            verdict = Some(Verdict::NoCycle);
        }
        std::mem::swap(&mut self.before, &mut self.after);
        verdict
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

/// Whether every crossing in `rows` (rows of `n`) returns within `tol` ([`RETURN_TOL`] in f64)
/// of itself `loops` crossings later, and across the whole record (angles compared modulo
/// their period).
pub(crate) fn returns(rows: &[f64], n: usize, loops: usize, tol: f64, angles: &[(usize, f64)]) -> bool {
    let count = rows.len() / n;
    let row = |t: usize| &rows[t * n..(t + 1) * n];
    let close = |t: usize, u: usize| within(row(t), row(u), tol, angles);
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
        assert!(returns(&rows, 2, 2, RETURN_TOL, &angles));
        assert!(!returns(&rows, 2, 1, RETURN_TOL, &angles));
        let mut drifting = rows.clone();
        drifting[11] += 1e-3;
        assert!(!returns(&drifting, 2, 2, RETURN_TOL, &angles));
    }
}
