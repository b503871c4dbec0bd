//! Chaotic trajectories and Lyapunov exponents of maps stepped by gd and of flows (the same
//! plans as [`super::cycles`]). Exponents are per step for a map and per unit time for a flow
//! (per step divided by dt).
//!
//! * A **tangent vector** ([`Tangent`]) is carried along an orbit by the step's Jacobian, each
//!   product a central difference of two f64 steps along the tangent, (S(x + hu) − S(x − hu))/2h
//!   with h = 1e-7·(1 + |x|): its error is of order h²·|S‴| plus rounding of order 1e-16/h,
//!   about 1e-9 of the product, far below the finite-time exponent's own spread. The growth of
//!   its norm, averaged over the steps, is the largest Lyapunov exponent λ₁ per step.
//! * A **chaos window** ([`window`]): a trajectory the cycle test found no period for is
//!   stepped [`CHAOS_STEPS`] more steps with its tangent (a flow: at least [`FLOW_CHAOS_TIME`]
//!   units of time; a forced flow, [`FORCED_CHAOS_PERIODS`] forcing periods), in [`BLOCKS`] blocks. It is *chaotic*
//!   when it stays bounded, recurs (each observable covers the same range in the window's two
//!   halves, within [`RECURRENCE_TOL`] of the whole range) and λ₁ (the mean of the blocks'
//!   exponents) exceeds both [`CHAOS_FLOOR`] and three standard errors of that mean (the blocks'
//!   spread): a slow or quasiperiodic orbit has λ₁ near 0 and stays undecided, and so does a
//!   transient leaving a barely unstable fixed point (λ₁ = ln of its multiplier, small but
//!   steady, while the orbit drifts or its swing grows, so that its halves' ranges differ). Its end state is then the middle of
//!   the range each variable covered in the window (each observable likewise): what stays
//!   fixed along a chaotic orbit, so that trajectories on one chaotic attractor, wherever they
//!   are on it, end at one point and two coexisting chaotic attractors at two. The range's ends
//!   settle within a window (an orbit passes near its extremes again and again), unlike the
//!   time averages, which wander where an attractor has lobes the orbit switches between
//!   intermittently (x ← a·x − x³ at a = 2.6).
//! * The **exponent of an attractor** ([`exponent_at`]): at a fixed point or on a p-cycle,
//!   ln of the largest |multiplier| of the step (of the product around the cycle, divided by
//!   p), from the same central-difference Jacobians as [`super::cycles::cycle_stability`]:
//!   dense for a state of at most [`DENSE_MULTIPLIERS`] values, and for a larger one (a
//!   network's cycle: its weights and memory, [`super::cycles::training_cycle_stability`];
//!   a map's state ⊕ memory beyond 16 values) by [`ARNOLDI_STEPS`] steps of the Arnoldi iteration on
//!   Jacobian-vector products, each a chain of the tangent's central differences around the
//!   cycle ([`arnoldi_largest`]): exact once the steps reach the dimension, else as settled as
//!   its last steps' change says (a stability that change leaves open is `unknown`).
//! * A **training run's exponent** ([`super::replay::training_exponents`]): the tangent carried
//!   along a network's own training from its start, per step.

use super::cycles::step;
use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::Status;
use crate::plan::Plan;
use crate::real::Real;
use crate::system::{Model, ModelVisitor};
use nalgebra::DMatrix;

/// Steps of the chaos window.
pub const CHAOS_STEPS: usize = 1024;
/// The least time a flow's chaos window spans: a few dozen of a chaotic flow's turns (Lorenz
/// turns about once per unit time), so that its blocks' exponents do not scatter over λ₁.
pub const FLOW_CHAOS_TIME: f64 = 64.0;
/// The least forcing periods a forced flow's chaos window spans: its blocks then hold several
/// periods each (the forced Duffing oscillator's chaos, λ₁ ≈ 0.1 per unit time, scatters over
/// blocks of one period).
pub const FORCED_CHAOS_PERIODS: u64 = 64;
/// Blocks the window is cut into, for the standard error of λ₁.
pub const BLOCKS: usize = 8;
/// The least λ₁ called chaos (per step, or per unit time for a flow).
pub const CHAOS_FLOOR: f64 = 1e-3;
/// The ranges an observable covers in the two halves of a chaos window agree within this
/// fraction of its range over the whole window where the orbit recurs (maps' chaotic
/// attractors: under 1 %; an orbit drifting away at λ₁ = 1e-3 per step: about 30 %).
pub const RECURRENCE_TOL: f64 = 0.25;
/// The range middles of one chaotic attractor's windows agree within this, relative to
/// 1 + the largest |middle| (max-norm); the labeller groups chaotic trajectories with it.
pub const CHAOS_TOL: f64 = 0.05;

/// A tangent vector carried along an orbit by the step's Jacobian, in f64.
pub(crate) struct Tangent {
    stepper: Stepper<f64>,
    p: Vec<f64>,
    u: Vec<f64>,
    sum: f64,
    count: u64,
    scratch: Scratch<f64>,
    plus: Vec<f64>,
    minus: Vec<f64>,
}

impl Tangent {
    /// A tangent of `n` components: the state's, and the memory's of an optimizer with memory
    /// (its step acts on both).
    pub(crate) fn new(plan: &Plan, index: usize, n: usize) -> Tangent {
        Tangent::starting_in(plan, index, n, n)
    }

    /// [`Tangent::new`], starting in the first `first` components only (the rest 0): a
    /// training run's tangent starts in its weights, all nearby runs starting from the
    /// optimizer's reset memory.
    pub(crate) fn starting_in(plan: &Plan, index: usize, n: usize, first: usize) -> Tangent {
        let p = plan.inputs_at(index)[..plan.n_params].to_vec();
        // A fixed start with every component (no invariant subspace to stay in).
        let u: Vec<f64> = (0..n).map(|j| if j < first { 1.0 + 0.1 * j as f64 } else { 0.0 }).collect();
        let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        Tangent {
            stepper: Stepper::<f64>::deterministic_at(plan, index),
            p,
            u: u.iter().map(|v| v / norm).collect(),
            sum: 0.0,
            count: 0,
            scratch: Scratch::new(plan.n_state()),
            plus: vec![0.0; n],
            minus: vec![0.0; n],
        }
    }

    pub(crate) fn reset(&mut self) {
        self.sum = 0.0;
        self.count = 0;
    }

    /// u ← J(x)·u normalised, J the Jacobian at `x` of step `n` (a forced flow's time); adds
    /// ln of the growth.
    pub(crate) fn advance<M: Model, T: Real>(&mut self, m: &M, x: &[T], n: u64) {
        let size = x.iter().fold(0.0f64, |a, v| a.max(v.f64().abs()));
        let h = 1e-7 * (1.0 + size);
        for (sign, y) in [(1.0, &mut self.plus), (-1.0, &mut self.minus)] {
            for ((yi, v), u) in y.iter_mut().zip(x).zip(&self.u) {
                *yi = v.f64() + sign * h * u;
            }
            keep_in_domain(&self.stepper, y, self.scratch.v.len());
            step(&self.stepper, m, &mut self.p, y, &mut self.scratch, n);
        }
        for (i, u) in self.u.iter_mut().enumerate() {
            *u = difference(&self.stepper, i, self.plus[i], self.minus[i]) / (2.0 * h);
        }
        let norm = self.u.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            self.sum += norm.ln();
            self.u.iter_mut().for_each(|v| *v /= norm);
        } else if norm == 0.0 {
            // A step that maps the tangent to zero (a superstable point): −∞.
            self.sum = f64::NEG_INFINITY;
        } else {
            // A difference that left the numbers: no exponent.
            self.sum = f64::NAN;
        }
        self.count += 1;
    }

    /// The mean growth per step.
    pub(crate) fn exponent(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}

/// Keeps a displaced state ⊕ memory `z` (state of `n_state` values) where the step is defined:
/// Adam's second moments ≥ 0 (a moment within a difference's displacement of 0 is differenced
/// one-sidedly there, where √s has no derivative anyway).
pub(crate) fn keep_in_domain(stepper: &Stepper<f64>, z: &mut [f64], n_state: usize) {
    if stepper.method.memory() == crate::dynamics::Memory::Moments && z.len() == 3 * n_state + 2 {
        z[2 * n_state..3 * n_state].iter_mut().for_each(|s| *s = s.max(0.0));
    }
}

/// a − b for component `i` of two nearby states, an angle's modulo its period: two states a
/// step apart on either side of ±P/2 are close, not a period apart.
fn difference(stepper: &Stepper<f64>, i: usize, a: f64, b: f64) -> f64 {
    match stepper.angles.iter().find(|q| q.0 == i) {
        Some(&(_, period, inverse)) => crate::system::wrap_angle(a - b, period, inverse),
        None => a - b,
    }
}

/// Whether `plan` integrates a flow, whose exponents are per unit time and whose cycles are
/// limit cycles ([`super::flows`]).
pub fn is_flow(plan: &Plan) -> bool {
    !plan.dynamics.method.uses_lr()
}

/// The time one step spans: dt for a flow, 1 for a map.
pub(crate) fn step_time(plan: &Plan, dt: f64) -> f64 {
    if is_flow(plan) {
        dt
    } else {
        1.0
    }
}

/// Steps of the chaos window of `plan` at step size `dt` (a multiple of [`BLOCKS`]):
/// `[classify] chaos_window` steps of a map or time of a flow, else [`CHAOS_STEPS`] (a flow: at
/// least [`FLOW_CHAOS_TIME`], and a forced flow at least [`FORCED_CHAOS_PERIODS`]).
pub(crate) fn window_steps(plan: &Plan, dt: f64) -> usize {
    let steps = match (plan.classify.chaos_window, is_flow(plan)) {
        (Some(time), true) => (time / dt).ceil(),
        (Some(steps), false) => steps.ceil(),
        (None, true) => (CHAOS_STEPS as f64).max((FLOW_CHAOS_TIME / dt).ceil()).max((FORCED_CHAOS_PERIODS * plan.steps_per_period() as u64) as f64),
        (None, false) => CHAOS_STEPS as f64,
    };
    // At least a step per block; at most what a u32 step count holds.
    (steps.min(u32::MAX as f64 / 4.0) as usize).max(BLOCKS).div_ceil(BLOCKS) * BLOCKS
}

/// What a chaos window saw.
pub(crate) struct Window {
    /// λ₁ (per step, or per unit time for a flow): the mean of the blocks' exponents.
    pub lyapunov: f64,
    /// Its standard error, from the blocks' spread.
    pub stderr: f64,
    /// The middle of the range of each of the model's observables over the window.
    pub middles: Vec<f64>,
    /// Each observable covered the same range in both halves of the window (within
    /// [`RECURRENCE_TOL`]): the orbit came back, rather than drifting or swinging wider.
    pub recurrent: bool,
}

impl Window {
    /// Bounded (it has a window at all), recurrent and λ₁ significantly above zero.
    pub fn is_chaotic(&self) -> bool {
        self.recurrent && self.lyapunov > CHAOS_FLOOR && self.lyapunov > 3.0 * self.stderr
    }
}

/// Steps `x` (trajectory `index` of `plan`, at its step `n0`: a forced flow's phase) through
/// a chaos window; `None` where it leaves the bounds or stops being finite.
pub(crate) fn window<M: Model>(plan: &Plan, m: &M, index: usize, x: &mut [f64], n0: u64) -> Option<Window> {
    let mut inputs = plan.inputs_at(index);
    let p = &mut inputs[..plan.n_params];
    let mut clock = n0;
    let stepper = Stepper::<f64>::deterministic_at(plan, index);
    // `x` holds the state, then an optimizer's memory ([`super::cycles::step`]).
    let (n, n_state) = (x.len(), plan.n_state());
    let mut s = Scratch::new(n_state);
    let mut tangent = Tangent::new(plan, index, n);
    let n_obs = plan.system.spec().model_observables().len();
    let mut obs = vec![0.0; n_obs];
    // The observables' ranges over each half of the window.
    let mut ranges: HalfRanges = [(); 2].map(|_| (vec![f64::INFINITY; n_obs], vec![f64::NEG_INFINITY; n_obs]));
    let mut blocks = Vec::with_capacity(BLOCKS);
    let unit = step_time(plan, stepper.hyper.step);
    let per_block = window_steps(plan, stepper.hyper.step) / BLOCKS;
    for block in 0..BLOCKS {
        tangent.reset();
        let (lo, hi) = &mut ranges[2 * block / BLOCKS];
        for _ in 0..per_block {
            m.observables(p, &x[..n_state], &mut obs);
            for ((l, h), &o) in lo.iter_mut().zip(hi.iter_mut()).zip(&obs) {
                *l = l.min(o);
                *h = h.max(o);
            }
            tangent.advance(m, x, clock);
            step(&stepper, m, p, x, &mut s, clock);
            // An angle turning round and round covers its whole period in both halves.
            stepper.wrap_angles(&mut x[..n_state]);
            clock += 1;
            if stepper.escape_status(&x[..n_state]) != Status::Running {
                return None;
            }
        }
        blocks.push(tangent.exponent() / unit);
    }
    Some(Window::of_blocks(&blocks, &ranges))
}

/// The observables' ranges (lowest, highest) over each half of a chaos window.
pub(crate) type HalfRanges = [(Vec<f64>, Vec<f64>); 2];

impl Window {
    /// The window whose blocks had exponents `blocks` and whose observables covered `ranges`.
    pub(crate) fn of_blocks(blocks: &[f64], ranges: &HalfRanges) -> Window {
        let k = blocks.len() as f64;
        let lyapunov = blocks.iter().sum::<f64>() / k;
        let variance = blocks.iter().map(|b| (b - lyapunov).powi(2)).sum::<f64>() / (k - 1.0);
        let [(lo1, hi1), (lo2, hi2)] = ranges;
        let mut middles = Vec::with_capacity(lo1.len());
        let mut recurrent = true;
        for k in 0..lo1.len() {
            let (lo, hi) = (lo1[k].min(lo2[k]), hi1[k].max(hi2[k]));
            middles.push(0.5 * (lo + hi));
            let off = (lo1[k] - lo2[k]).abs().max((hi1[k] - hi2[k]).abs());
            recurrent &= off <= RECURRENCE_TOL * (hi - lo);
        }
        Window { lyapunov, stderr: (variance / k).sqrt(), middles, recurrent }
    }
}

/// λ₁ of the attractor through `x` of the given period in steps (1: a fixed point) under the
/// parameters of trajectory `index`: ln of the largest |multiplier| of the step around it,
/// divided by the period (and by dt for a flow). NaN where the state is not finite.
pub fn exponent_at(plan: &Plan, index: usize, x: &[f64], period: u32) -> f64 {
    if period == 0 || !x.iter().all(|v| v.is_finite()) {
        return f64::NAN;
    }
    let dt = Stepper::<f64>::deterministic_at(plan, index).hyper.step;
    largest_multiplier(plan, index, x, period as u64).ln() / (period as f64 * step_time(plan, dt))
}

/// The largest |multiplier| (eigenvalue of [`multipliers`], or the Arnoldi iteration's estimate
/// of it for a state of more than [`DENSE_MULTIPLIERS`] values) of the `period` steps from `x`
/// under the parameters of trajectory `index`; NaN where the system has no host model.
pub(crate) fn largest_multiplier(plan: &Plan, index: usize, x: &[f64], period: u64) -> f64 {
    largest_multiplier_within(plan, index, x, period).0
}

/// [`largest_multiplier`] and how far it may be off: 0 from the dense product of a small
/// state's Jacobians, the last change of the Arnoldi iteration's estimate for a larger one
/// ([`arnoldi_largest`]).
pub(crate) fn largest_multiplier_within(plan: &Plan, index: usize, x: &[f64], period: u64) -> (f64, f64) {
    struct Largest<'a>(&'a Plan, usize, &'a [f64], u64);
    impl ModelVisitor for Largest<'_> {
        type Output = (f64, f64);
        fn visit<M: Model>(self, m: &M) -> (f64, f64) {
            let Largest(plan, index, start, period) = self;
            if start.len() > DENSE_MULTIPLIERS {
                return largest_by_arnoldi(plan, m, index, start, period);
            }
            let product = multipliers(plan, m, index, start, period);
            (largest_modulus(product), 0.0)
        }
    }
    plan.system.visit(Largest(plan, index, x, period)).unwrap_or((f64::NAN, f64::NAN))
}

/// The largest |eigenvalue| of a square matrix; NaN where it is not finite or its Schur form
/// does not converge.
fn largest_modulus(a: DMatrix<f64>) -> f64 {
    if !a.iter().all(|v| v.is_finite()) {
        return f64::NAN;
    }
    match nalgebra::Schur::try_new(a, f64::EPSILON, 100_000) {
        Some(schur) => schur.complex_eigenvalues().iter().map(|z| z.norm()).fold(0.0f64, f64::max),
        None => f64::NAN,
    }
}

/// States larger than this have their largest multiplier found by the Arnoldi iteration on
/// products of the Jacobians with one vector at a time ([`arnoldi_largest`]): a network's
/// hundreds or thousands of weights, whose dense Jacobians would take two steps per weight.
pub const DENSE_MULTIPLIERS: usize = 16;
/// Krylov dimension of that iteration (each step one product around the cycle: two steps of
/// the map per step of the cycle).
pub const ARNOLDI_STEPS: usize = 64;
/// The iteration's estimate is compared with the one this many steps earlier: their
/// difference is how far it may still be off.
const ARNOLDI_CHECK: usize = 8;

/// The largest |multiplier| of the `period` steps from `start` by [`arnoldi_largest`], each
/// product of the Jacobians with a vector a chain of central differences of the f64 step along
/// it (as [`Tangent`] takes them: an exact Hessian-vector product of gradient descent up to
/// the difference's error, about 1e-9 of it).
fn largest_by_arnoldi<M: Model>(plan: &Plan, m: &M, index: usize, start: &[f64], period: u64) -> (f64, f64) {
    let mut inputs = plan.inputs_at(index);
    let p = &mut inputs[..plan.n_params];
    let stepper = Stepper::<f64>::deterministic_at(plan, index);
    let n = start.len();
    let mut s = Scratch::new(plan.n_state());
    // The orbit's points, where the Jacobians are taken.
    let mut points = Vec::with_capacity(period as usize);
    let mut x = start.to_vec();
    for k in 0..period {
        points.push(x.clone());
        step(&stepper, m, p, &mut x, &mut s, k);
    }
    let (mut plus, mut minus) = (vec![0.0; n], vec![0.0; n]);
    let apply = |v: &[f64], out: &mut [f64]| {
        out.copy_from_slice(v);
        // Each difference is taken along a unit vector; the norms are multiplied back after.
        let mut scale = 1.0;
        for (k, xk) in points.iter().enumerate() {
            let norm = out.iter().map(|u| u * u).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                out.iter_mut().for_each(|u| *u *= norm);
                return;
            }
            scale *= norm;
            let h = 1e-7 * (1.0 + xk.iter().fold(0.0f64, |a, v| a.max(v.abs())));
            for ((pl, mi), (xi, u)) in plus.iter_mut().zip(minus.iter_mut()).zip(xk.iter().zip(out.iter())) {
                *pl = xi + h * u / norm;
                *mi = xi - h * u / norm;
            }
            keep_in_domain(&stepper, &mut plus, plan.n_state());
            keep_in_domain(&stepper, &mut minus, plan.n_state());
            step(&stepper, m, p, &mut plus, &mut s, k as u64);
            step(&stepper, m, p, &mut minus, &mut s, k as u64);
            for (i, u) in out.iter_mut().enumerate() {
                *u = difference(&stepper, i, plus[i], minus[i]) / (2.0 * h);
            }
        }
        out.iter_mut().for_each(|u| *u *= scale);
    };
    arnoldi_largest(n, ARNOLDI_STEPS, apply)
}

/// The largest |eigenvalue| of the n×n operator `apply` (out = A·v) by `steps` steps of the
/// Arnoldi iteration from a fixed pseudo-random start, with the change of that estimate over
/// its last [`ARNOLDI_CHECK`] steps (0 where the Krylov space became invariant, as it does
/// once `steps` reaches n: then the estimate is exact up to rounding). The largest Ritz values
/// converge first; a slow change says the estimate has settled, not that it is exact.
pub fn arnoldi_largest(n: usize, steps: usize, mut apply: impl FnMut(&[f64], &mut [f64])) -> (f64, f64) {
    let steps = steps.min(n).max(1);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(steps + 1);
    let start: Vec<f64> = (0..n).map(|j| crate::engine::sharpness::start_component(j as u32) as f64).collect();
    let norm = start.iter().map(|v| v * v).sum::<f64>().sqrt();
    basis.push(start.iter().map(|v| v / norm).collect());
    let mut h = DMatrix::<f64>::zeros(steps + 1, steps);
    let mut w = vec![0.0; n];
    let (mut done, mut invariant) = (steps, false);
    for j in 0..steps {
        apply(&basis[j], &mut w);
        if !w.iter().all(|v| v.is_finite()) {
            return (f64::NAN, f64::NAN);
        }
        let size = w.iter().map(|v| v * v).sum::<f64>().sqrt();
        // Gram–Schmidt twice: the second pass restores the orthogonality the first loses.
        for _ in 0..2 {
            for (i, b) in basis.iter().enumerate() {
                let c = b.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
                h[(i, j)] += c;
                w.iter_mut().zip(b).for_each(|(wi, bi)| *wi -= c * bi);
            }
        }
        let rest = w.iter().map(|v| v * v).sum::<f64>().sqrt();
        if rest <= 1e-12 * size.max(f64::MIN_POSITIVE) || j + 1 == n {
            // An invariant subspace: its eigenvalues are the operator's.
            (done, invariant) = (j + 1, true);
            break;
        }
        h[(j + 1, j)] = rest;
        basis.push(w.iter().map(|v| v / rest).collect());
    }
    let largest_of = |k: usize| largest_modulus(h.view((0, 0), (k, k)).into_owned());
    let estimate = largest_of(done);
    if invariant {
        return (estimate, 0.0);
    }
    let earlier = largest_of(done.saturating_sub(ARNOLDI_CHECK).max(1));
    (estimate, (estimate - earlier).abs())
}

/// The product of the step's Jacobians over `period` steps from `start` under the parameters
/// of trajectory `index` (its eigenvalues are the multipliers), each Jacobian by central
/// differences of the f64 step. A forced flow's steps start at phase 0.
pub(crate) fn multipliers<M: Model>(plan: &Plan, m: &M, index: usize, start: &[f64], period: u64) -> DMatrix<f64> {
    let mut inputs = plan.inputs_at(index);
    let p = &mut inputs[..plan.n_params];
    let stepper = Stepper::<f64>::deterministic_at(plan, index);
    // The state, then an optimizer's memory ([`super::cycles::step`]).
    let n = start.len();
    let mut s = Scratch::new(plan.n_state());
    let mut x = start.to_vec();
    let mut product = DMatrix::<f64>::identity(n, n);
    for k in 0..period {
        let mut jac = DMatrix::<f64>::zeros(n, n);
        for j in 0..n {
            let h = 1e-6 * (1.0 + x[j].abs());
            let (mut plus, mut minus) = (x.clone(), x.clone());
            plus[j] += h;
            minus[j] -= h;
            keep_in_domain(&stepper, &mut minus, plan.n_state());
            // The span the difference covers (less than 2h where the domain cut it).
            let span = plus[j] - minus[j];
            step(&stepper, m, p, &mut plus, &mut s, k);
            step(&stepper, m, p, &mut minus, &mut s, k);
            for i in 0..n {
                jac[(i, j)] = difference(&stepper, i, plus[i], minus[i]) / span;
            }
        }
        product = jac * product;
        step(&stepper, m, p, &mut x, &mut s, k);
    }
    product
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arnoldi's largest |eigenvalue| of a non-normal 300 × 300 matrix with a known spectrum
    /// (upper triangular: its diagonal; the dominant pair 1.05 and −1.02 well clear of the
    /// rest, within 0.9): after 64 steps, within 1e-8 and within its own stated change; exact
    /// once the Krylov space is the whole space.
    #[test]
    fn arnoldi_finds_the_largest_multiplier() {
        let n = 300;
        let mut a = DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            a[(i, i)] = match i {
                7 => 1.05,
                100 => -1.02,
                _ => 0.9 * ((i as f64 * 0.37).sin()),
            };
            for j in i + 1..(i + 4).min(n) {
                a[(i, j)] = 0.3 * ((i * 31 + j * 17) as f64).cos();
            }
        }
        let apply = |v: &[f64], out: &mut [f64]| out.copy_from_slice((&a * nalgebra::DVector::from_column_slice(v)).as_slice());
        let (largest, within) = arnoldi_largest(n, ARNOLDI_STEPS, apply);
        assert!((largest - 1.05).abs() < 1e-8 && within < 1e-6, "{largest} ± {within}");
        let small = a.view((90, 90), (20, 20)).into_owned();
        let exact = largest_modulus(small.clone());
        let (largest, within) = arnoldi_largest(20, ARNOLDI_STEPS, |v, out| out.copy_from_slice((&small * nalgebra::DVector::from_column_slice(v)).as_slice()));
        assert!((largest - exact).abs() < 1e-12 && within == 0.0, "{largest} vs {exact}");
        assert!((exact - 1.02).abs() < 1e-12);
    }

    /// A network's largest multiplier over a few steps from its start, from the dense product
    /// of its Jacobians and from the Arnoldi iteration on Jacobian-vector products, agree.
    #[test]
    fn a_networks_multipliers_by_arnoldi_are_the_dense_ones() {
        let toml = "system='mlp'\nx='lr=2:2:1'\n[params]\nD=1\nd0=4\ninit_scale=1\n[network]\nactivation='tanh'\ndim=3\nn=8\n[dynamics]\nmethod='momentum'\nmomentum=0.5\nsteps=10\n";
        let plan = Plan::new(&crate::scenario::Scenario::from_toml(toml).unwrap()).unwrap();
        let x: Vec<f64> = plan.start_f32(0).iter().map(|&v| v as f64).collect();
        let z: Vec<f64> = x.iter().copied().chain(std::iter::repeat_n(0.0, x.len())).collect();
        assert!(z.len() > DENSE_MULTIPLIERS && z.len() <= ARNOLDI_STEPS, "{} weights and velocities", z.len());
        struct Both<'a>(&'a Plan, &'a [f64]);
        impl ModelVisitor for Both<'_> {
            type Output = (f64, (f64, f64));
            fn visit<M: Model>(self, m: &M) -> Self::Output {
                (largest_modulus(multipliers(self.0, m, 0, self.1, 3)), largest_by_arnoldi(self.0, m, 0, self.1, 3))
            }
        }
        let (dense, (krylov, within)) = plan.system.visit(Both(&plan, &z)).unwrap();
        assert!(dense.is_finite() && dense > 0.1, "{dense}");
        assert!((dense - krylov).abs() <= 1e-6 * dense && within == 0.0, "dense {dense}, Arnoldi {krylov} ± {within}");
    }

    #[test]
    fn a_window_is_chaotic_only_when_its_exponent_clears_its_error() {
        let w = |lyapunov: f64, stderr: f64| Window { lyapunov, stderr, middles: Vec::new(), recurrent: true };
        assert!(w(0.69, 0.01).is_chaotic());
        assert!(!w(0.02, 0.01).is_chaotic());
        assert!(!w(5e-4, 1e-5).is_chaotic());
        assert!(!w(-0.3, 0.01).is_chaotic());
    }
}
