//! Cycles of forced flows. A forced (non-autonomous) flow's field reads the time t and is
//! T-periodic in it ([`crate::system::Clock`]); its steady responses are the cycles of its
//! **stroboscopic map**, the state sampled once per forcing period: a response that repeats
//! every k periods (a subharmonic, for k > 1) is a k-cycle of that map, and its fixed point
//! (k = 1) is a response at the forcing's own period. Such a flow has no fixed points (the
//! engines do not test its field: [`crate::plan::Plan::fit_clock`]), so every trajectory that
//! stays bounded comes here undecided, and is continued on the host in f64 from its end state
//! at its own phase (the engine's step count):
//!
//! * to the next multiple of the forcing period (dt divides it: the samples are at phase 0
//!   exactly), and [`SETTLE_PERIODS`] periods more;
//! * then one sample per period, until the samples are periodic: the smallest k ≤
//!   `max_period` such that each of the last 2k + 2 samples returns within
//!   [`super::flows::RETURN_TOL`]·(1 + |x|) of itself k samples later, and across those samples
//!   (two returns of each: a slow drift shows there). Samples taken while the response was
//!   still closing in are left behind, so it is found once it has closed in. A k whose points
//!   are not [`super::cycles::DISTINCT`] tolerances apart is the smallest divisor of k whose
//!   points repeat within that (a response that closed in while being judged on k). After
//!   2·max_period + 2 + [`EXTRA_PERIODS`] periods without a cycle it goes through a chaos window
//!   ([`super::chaos::window`], λ₁ per unit time) and is chaotic or stays undecided;
//! * a k-cycle's point is its sample with the smallest first component (the same from every
//!   phase the response was entered at); its period in time is k·T. Its stability comes from the
//!   stroboscopic map's multipliers: the product of the step's Jacobians over k periods
//!   ([`super::cycles::cycle_stability`]).
//!
//! A forced flow without a declared period (t grows without bound) has no stroboscopic map;
//! its bounded trajectories stay undecided.
//!
//! The samples' test is [`Strobe`]: fed here by the host's f64 stepper, for a forced flow
//! written in WGSL by the engine continuing rows a period at a time ([`super::continued_flows`]).

use super::chaos;
use super::cycles::step;
use super::flows::{returns, within, FlowEnding, RETURN_TOL};
use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::Status;
use crate::plan::Plan;
use crate::system::Model;

/// Forcing periods a continued trajectory settles for before its first sample.
pub const SETTLE_PERIODS: u64 = 4;
/// Forcing periods sampled, beyond the 2·max_period + 2 that a cycle of max_period needs,
/// before a trajectory without a cycle goes to its chaos window (a response still closing in).
pub const EXTRA_PERIODS: usize = 32;

/// Continues trajectory `index` of a forced flow from its end state `end`, reached after
/// `steps` steps (see the module header).
pub(crate) fn ending_from<M: Model>(plan: &Plan, m: &M, index: usize, end: &[f64], steps: u64) -> FlowEnding {
    let unknown = FlowEnding::Undecided { lyapunov: f64::NAN };
    let per_period = plan.steps_per_period() as u64;
    let Some(clock) = plan.system.spec().clock.filter(|_| per_period > 0) else {
        return unknown;
    };
    let mut inputs = plan.inputs_at(index);
    let p = &mut inputs[..plan.n_params];
    let stepper = Stepper::<f64>::deterministic_at(plan, index);
    let mut s = Scratch::new(end.len());
    let mut x = end.to_vec();
    stepper.wrap_angles(&mut x);
    let mut now = steps;
    let mut taken = 0u64;
    // `count` steps from the state `x` at step `now`; false where it leaves the bounds.
    let mut advance = |x: &mut [f64], count: u64| -> bool {
        for _ in 0..count {
            step(&stepper, m, p, x, &mut s, now);
            now += 1;
            taken += 1;
            if stepper.escape_status(x) != Status::Running {
                return false;
            }
        }
        true
    };
    let to_phase = (per_period - steps % per_period) % per_period;
    if !advance(&mut x, to_phase + SETTLE_PERIODS * per_period) {
        return unknown;
    }
    let mut strobe = Strobe::new(plan, RETURN_TOL);
    let mut found = strobe.push(&x);
    while found.is_none() && !strobe.exhausted() {
        if !advance(&mut x, per_period) {
            return unknown;
        }
        found = strobe.push(&x);
    }
    let period = clock.period;
    if let Some(k) = found {
        let point = strobe.point(k).to_vec();
        let lyapunov = if plan.classify.lyapunov { chaos::window(plan, m, index, &mut point.clone(), 0).map_or(f64::NAN, |w| w.lyapunov) } else { f64::NAN };
        return FlowEnding::Cycle { loops: k as u32, time: k as f64 * period, steps: taken as u32, point, lyapunov };
    }
    match chaos::window(plan, m, index, &mut x, now) {
        Some(w) if w.is_chaotic() => FlowEnding::Chaotic { steps: (taken as usize + chaos::window_steps(plan, stepper.hyper.step)) as u32, middles: w.middles, lyapunov: w.lyapunov },
        Some(w) => FlowEnding::Undecided { lyapunov: w.lyapunov },
        None => unknown,
    }
}

/// The test of the module header on a forced flow's stroboscopic samples, one forcing period
/// apart (taken by the host's f64 stepper, or by an engine continuing rows:
/// [`super::continued_flows`]): the first after settling, then one a period.
pub(crate) struct Strobe {
    max_period: usize,
    /// Samples kept: 2·max_period + 2.
    keep: usize,
    /// Samples return within this, relative to 1 + |x| ([`RETURN_TOL`] in f64).
    tol: f64,
    angles: Vec<(usize, f64)>,
    n: usize,
    /// The latest samples (rows of n), at most `keep`.
    rows: Vec<f64>,
    taken: usize,
}

impl Strobe {
    pub(crate) fn new(plan: &Plan, tol: f64) -> Strobe {
        let max_period = (plan.classify.max_period as usize).max(1);
        Strobe { max_period, keep: 2 * max_period + 2, tol, angles: plan.system.spec().angles(), n: plan.n_state(), rows: Vec::new(), taken: 0 }
    }

    /// Takes the next sample; the response's period in forcing periods once it shows.
    pub(crate) fn push(&mut self, x: &[f64]) -> Option<usize> {
        let n = self.n;
        if self.rows.len() == self.keep * n {
            self.rows.drain(..n);
        }
        self.rows.extend_from_slice(x);
        self.taken += 1;
        let count = self.rows.len() / n;
        // Each k is judged on the last 2k + 2 samples only, so that the samples taken while
        // the response was still closing in do not hide it.
        let latest = |k: usize| &self.rows[self.rows.len() - (2 * k + 2) * n..];
        let k = (1..=self.max_period).find(|&k| count >= 2 * k + 2 && returns(latest(k), n, k, self.tol, &self.angles))?;
        Some(smallest_period(latest(k), n, k, self.tol, &self.angles))
    }

    /// Whether it has taken all the samples it judges (a response without a period goes to
    /// its chaos window then).
    pub(crate) fn exhausted(&self) -> bool {
        self.taken >= self.keep + EXTRA_PERIODS
    }

    /// The point of a `k`-cycle just found: of its last k samples, the one with the smallest
    /// first component (the same from every phase the response was entered at).
    pub(crate) fn point(&self, k: usize) -> &[f64] {
        super::cycles::first_point(&self.rows[self.rows.len() - k * self.n..], self.n)
    }
}

/// The smallest divisor d of `k` such that the samples in `rows` (rows of `n`, periodic with
/// period k) repeat every d samples within [`super::cycles::DISTINCT`] return tolerances `tol`:
/// the response's own period.
fn smallest_period(rows: &[f64], n: usize, k: usize, tol: f64, angles: &[(usize, f64)]) -> usize {
    let count = rows.len() / n;
    let row = |t: usize| &rows[t * n..(t + 1) * n];
    let tol = super::cycles::DISTINCT * tol;
    (1..k).filter(|d| k % d == 0).find(|&d| (0..count - d).all(|t| within(row(t), row(t + d), tol, angles))).unwrap_or(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_the_smallest_whose_points_repeat() {
        // 0.3, 0.3 + 1e-6, 0.3, …: a 2-cycle within 100 tolerances is the fixed point 0.3.
        let close: Vec<f64> = (0..6).map(|t| if t % 2 == 0 { 0.3 } else { 0.3 + 1e-6 }).collect();
        assert_eq!(smallest_period(&close, 1, 2, RETURN_TOL, &[]), 1);
        let apart: Vec<f64> = (0..6).map(|t| if t % 2 == 0 { 0.3 } else { 0.5 }).collect();
        assert_eq!(smallest_period(&apart, 1, 2, RETURN_TOL, &[]), 2);
        // A 4-cycle a, b, a, b within tolerance: period 2. Angles compare modulo their period.
        let four: Vec<f64> = (0..10).map(|t| [0.1, 0.9, 0.1 + 1e-7, 0.9][t % 4]).collect();
        assert_eq!(smallest_period(&four, 1, 4, RETURN_TOL, &[]), 2);
        let angle: Vec<f64> = (0..4).map(|t| if t % 2 == 0 { 3.1415926 } else { -3.1415926 }).collect();
        assert_eq!(smallest_period(&angle, 1, 2, RETURN_TOL, &[(0, std::f64::consts::TAU)]), 1);
    }
}
