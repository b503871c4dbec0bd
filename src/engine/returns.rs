//! Early stop on a cycle: the engines' return probe.
//!
//! A trajectory that ends on a cycle never meets the stop rule (its field does not vanish), so
//! without this it runs out its whole budget before the host finds its cycle
//! ([`crate::classify::cycles`]). The probe lets the engine stop it a few periods after it has
//! settled, with O(1) memory per trajectory: Brent-style **checkpoints** at the trajectory's own
//! steps `first·2^k` (so the result depends only on the trajectory, not on the lane, tile or
//! dispatch that runs it), each compared with the states that follow.
//!
//! * **Samples** (a map, every step; a forced flow, its stroboscopic map, every K steps): after a
//!   checkpoint c the probe stays open for 2·P samples (P the longest period looked for). A
//!   sample within `tol` (max-norm, angles modulo their period) of c after lag p ≥ 2, and again
//!   after lag 2p, is a p-cycle. A return after lag 1 (a point that barely moves: a fixed point
//!   not yet declared) closes the probe until the next checkpoint.
//! * **Section** (an autonomous flow): the checkpoint c and the field there define a Poincaré
//!   section, the hyperplane through c normal to the flow. A step pair that crosses it upwards
//!   next to c is refined by the cubic Hermite interpolant of both states and fields (error of
//!   order dt⁴, like rk4's own); a crossing within `tol` of c is a return, and two returns are a
//!   limit cycle. A checkpoint where the flow barely moves (near a fixed point) is not taken.
//!
//! The engine ends such a trajectory with [`super::Status::Cycle`] and no period: the host
//! verifies it in f64 ([`crate::classify::cycles::settle_undecided`]), which finds its period and
//! canonical point as it does for a trajectory that ran out its budget, and continues it to the
//! end of its budget if the cycle is not confirmed.
//!
//! Checks cost little: a probe is open only for 2·P samples after each checkpoint (maps), or from
//! the first checkpoint on (flows, where a crossing test is a few operations against an rk4
//! step). The first checkpoint is at 1/16 of the budget (at least 4·P steps), and runs with a
//! budget of under 4 such checkpoints (W1's 500 steps) have no probe at all.

use crate::lanes::Lane;
use crate::plan::Plan;
use crate::real::Real;

/// How a plan's trajectories look for returns (see the module header).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Samples every `stride` steps return to a checkpoint after p ≤ `max_period` samples; the
    /// first checkpoint is at sample `first`.
    Samples { stride: u64, max_period: u64, first: u64 },
    /// A flow stepped by `dt` returns to a checkpoint across its section; the first checkpoint is
    /// at step `first`.
    Section { first: u64, dt: f64 },
}

/// The first checkpoint comes after this share of the budget: late enough that most trajectories
/// which converge have done so (in W2 few lanes reach it, so the packs keep their tight loops),
/// early enough to save the rest of the budget on a cycle.
pub const FIRST_SHARE: u64 = 16;

/// Longest period a forced flow's probe looks for (in forcing periods): longer responses are
/// found by the host once the budget is spent.
pub const FORCED_MAX_PERIOD: u64 = 8;

/// Section returns count within this, relative to 1 + |c| (max-norm): the Hermite interpolant's
/// error, not the float's.
pub const SECTION_TOL: f64 = 1e-4;

/// A checkpoint of the section rule needs the flow to move this many tolerances per step.
pub const SECTION_MOVING: f64 = 10.0;

/// Samples return within this, relative to 1 + |c| (max-norm): 64 ε of the precision.
pub fn samples_tol<T: Real>() -> T {
    T::of(64.0) * T::epsilon()
}

impl Rule {
    /// The probe for `plan`'s trajectories, or `None` where the host's cycle search does not
    /// apply to the state the engines return ([`crate::classify::cycles::observes`]), where a
    /// loss record is kept, or where the budget is too short for probes to pay. Under an
    /// optimizer with memory the probe compares the state alone (on a cycle the memory follows
    /// it); the host confirms the cycle from the state and the memory the engine returns with it.
    pub fn of_plan(plan: &Plan) -> Option<Rule> {
        if !crate::classify::cycles::observes(plan) || plan.system.spec().loss_record {
            return None;
        }
        let budget = plan.dynamics.steps as u64;
        let p = plan.classify.max_period as u64;
        let rule = if crate::classify::chaos::is_flow(plan) {
            match plan.steps_per_period() as u64 {
                0 => Rule::Section { first: (budget / FIRST_SHARE).max(64), dt: plan.dynamics.dt },
                k => {
                    let p = p.min(FORCED_MAX_PERIOD);
                    Rule::Samples { stride: k, max_period: p, first: (budget / k / FIRST_SHARE).max(4 * p) }
                }
            }
        } else {
            Rule::Samples { stride: 1, max_period: p, first: (budget / FIRST_SHARE).max(4 * p) }
        };
        (budget >= 4 * rule.first_step()).then_some(rule)
    }

    /// The step of the first checkpoint.
    pub fn first_step(&self) -> u64 {
        match *self {
            Rule::Samples { stride, first, .. } => first * stride,
            Rule::Section { first, .. } => first,
        }
    }

    /// Whether the probe is checked at the top of a step, with the field there (the section), or
    /// after it (samples).
    pub fn is_section(&self) -> bool {
        matches!(self, Rule::Section { .. })
    }
}

/// The largest |x_i − c_i| (angles: modulo their period), lane by lane.
#[inline(always)]
pub fn gap<L: Lane>(x: &[L], c: &[L], angles: &[(usize, L, L)]) -> L {
    let mut g = L::of(0.0);
    for (i, (&a, &b)) in x.iter().zip(c).enumerate() {
        g = crate::lanes::max(g, crate::lanes::abs(difference(a - b, i, angles)));
    }
    g
}

/// (x − c)·normal (angles modulo their period), lane by lane: which side of the section x is.
#[inline(always)]
pub fn side<L: Lane>(x: &[L], c: &[L], normal: &[L], angles: &[(usize, L, L)]) -> L {
    let mut s = L::of(0.0);
    for (i, ((&a, &b), &w)) in x.iter().zip(c).zip(normal).enumerate() {
        s = s + difference(a - b, i, angles) * w;
    }
    s
}

/// Component `i` of a difference of states, an angle's taken modulo its period.
#[inline(always)]
fn difference<L: Lane>(d: L, i: usize, angles: &[(usize, L, L)]) -> L {
    match angles.iter().find(|a| a.0 == i) {
        Some(&(_, period, inverse)) => crate::system::wrap_angle(d, period, inverse),
        None => d,
    }
}

/// One trajectory's probe: its checkpoint and what it has seen since.
#[derive(Clone, Debug)]
pub struct Probe<T> {
    /// The checkpoint.
    pub c: Vec<T>,
    /// The section's normal: the field at the checkpoint (section rule).
    pub normal: Vec<T>,
    /// Returns within this count; −1 while the probe is closed (so that no gap is within it).
    pub tol: T,
    /// Section rule: a step pair farther than this from c is not next to a return; −1 closed.
    pub reach: T,
    /// The sample (samples rule) or step (section rule) of the checkpoint.
    opened: u64,
    /// The step of the next event: a checkpoint, or the probe's closing (samples rule).
    pub next: u64,
    /// The next event closes the probe (samples rule).
    closing: bool,
    /// Samples rule: the lag of the first return (0: none yet).
    candidate: u64,
    /// Section rule: the time of the first return (0: none yet).
    first_time: f64,
}

impl<T: Real> Probe<T> {
    pub fn new(n_state: usize) -> Self {
        Probe { c: vec![T::zero(); n_state], normal: vec![T::zero(); n_state], tol: -T::one(), reach: -T::one(), opened: 0, next: 0, closing: false, candidate: 0, first_time: 0.0 }
    }

    /// The probe at the start of a trajectory: closed, its first checkpoint to come.
    pub fn begin(&mut self, rule: &Rule) {
        self.close();
        self.closing = false;
        self.next = rule.first_step();
    }

    /// Whether returns are being looked for.
    #[inline(always)]
    pub fn is_open(&self) -> bool {
        self.tol >= T::zero()
    }

    fn close(&mut self) {
        self.tol = -T::one();
        self.reach = -T::one();
        self.candidate = 0;
        self.first_time = 0.0;
    }

    /// Samples rule, after step `n` (the trajectory has taken n steps and stands at `x`): a
    /// cycle's period in samples when this sample confirms one, then the checkpoint events.
    pub fn after_step(&mut self, rule: &Rule, n: u64, x: &[T], angles: &[(usize, T, T)]) -> Option<u32> {
        let Rule::Samples { stride, max_period, .. } = *rule else { return None };
        if n % stride != 0 {
            return None;
        }
        let s = n / stride;
        if self.is_open() && gap(x, &self.c, angles) <= self.tol {
            let lag = s - self.opened;
            if lag == 1 {
                // Barely moving: a fixed point the stop rule has not declared yet.
                self.close();
            } else if self.candidate > 0 && lag == 2 * self.candidate {
                return Some(self.candidate as u32);
            } else if (self.candidate == 0 || lag > 2 * self.candidate) && lag <= max_period {
                self.candidate = lag;
            }
        }
        if n == self.next {
            if self.closing {
                self.close();
                self.closing = false;
                self.next = 2 * self.opened * stride;
            } else {
                self.c.copy_from_slice(x);
                self.tol = samples_tol::<T>() * (T::one() + size(x));
                self.opened = s;
                self.candidate = 0;
                self.closing = true;
                self.next = (s + 2 * max_period) * stride;
            }
        }
        None
    }

    /// Section rule, at the top of step `n` with the field `v` at `x` computed (and `x_prev`,
    /// `v_prev` those of step n − 1): the cycle's period in time when this step confirms one,
    /// then the checkpoint event.
    #[allow(clippy::too_many_arguments)]
    pub fn at_step(&mut self, rule: &Rule, n: u64, x_prev: &[T], v_prev: &[T], x: &[T], v: &[T], angles: &[(usize, T, T)]) -> Option<f64> {
        let Rule::Section { dt, .. } = *rule else { return None };
        if self.is_open() && n >= self.opened + 2 && self.crosses(x_prev, x, angles) {
            if let Some(theta) = self.crossing(x_prev, v_prev, x, v, dt, angles) {
                let time = ((n - 1 - self.opened) as f64 + theta) * dt;
                if self.first_time > 0.0 && (time - 2.0 * self.first_time).abs() <= 0.1 * self.first_time {
                    return Some(self.first_time);
                }
                self.first_time = time;
            }
        }
        if n == self.next {
            self.next = 2 * n;
            let tol = T::of(SECTION_TOL) * (T::one() + size(x));
            let speed = size(v) * T::of(dt);
            if speed > T::of(SECTION_MOVING) * tol {
                self.c.copy_from_slice(x);
                self.normal.copy_from_slice(v);
                self.tol = tol;
                self.reach = T::of(1.5) * speed + tol;
                self.opened = n;
                self.first_time = 0.0;
            } else {
                self.close();
            }
        }
        None
    }

    /// Whether the step pair crosses the section upwards next to the checkpoint: the test the
    /// SIMD engine runs on whole packs first.
    #[inline(always)]
    pub fn crosses(&self, x_prev: &[T], x: &[T], angles: &[(usize, T, T)]) -> bool {
        side(x_prev, &self.c, &self.normal, angles) < T::zero() && side(x, &self.c, &self.normal, angles) >= T::zero() && gap(x, &self.c, angles) <= self.reach
    }

    /// Where between the two steps the cubic Hermite interpolant crosses the section (θ ∈ [0, 1],
    /// three Newton steps from the linear guess), if the crossing is within `tol` of c.
    fn crossing(&self, x0: &[T], v0: &[T], x1: &[T], v1: &[T], dt: f64, angles: &[(usize, T, T)]) -> Option<f64> {
        let n = x0.len();
        let period = |i: usize| angles.iter().find(|a| a.0 == i).map(|a| a.1.f64());
        let wrap = |d: f64, i: usize| match period(i) {
            Some(p) => d - p * (d / p + 0.5).floor(),
            None => d,
        };
        // Both ends relative to c, the second unwrapped from the first.
        let d0: Vec<f64> = (0..n).map(|i| wrap(x0[i].f64() - self.c[i].f64(), i)).collect();
        let d1: Vec<f64> = (0..n).map(|i| d0[i] + wrap(x1[i].f64() - x0[i].f64(), i)).collect();
        let (a, b): (Vec<f64>, Vec<f64>) = (v0.iter().map(|v| v.f64() * dt).collect(), v1.iter().map(|v| v.f64() * dt).collect());
        let normal: Vec<f64> = self.normal.iter().map(|w| w.f64()).collect();
        let at = |t: f64| -> Vec<f64> {
            let (t2, t3) = (t * t, t * t * t);
            let (h00, h10, h01, h11) = (2.0 * t3 - 3.0 * t2 + 1.0, t3 - 2.0 * t2 + t, -2.0 * t3 + 3.0 * t2, t3 - t2);
            (0..n).map(|i| h00 * d0[i] + h10 * a[i] + h01 * d1[i] + h11 * b[i]).collect()
        };
        let slope = |t: f64| -> f64 {
            let t2 = t * t;
            let (g00, g10, g01, g11) = (6.0 * t2 - 6.0 * t, 3.0 * t2 - 4.0 * t + 1.0, -6.0 * t2 + 6.0 * t, 3.0 * t2 - 2.0 * t);
            (0..n).map(|i| (g00 * d0[i] + g10 * a[i] + g01 * d1[i] + g11 * b[i]) * normal[i]).sum()
        };
        let dot = |y: &[f64]| -> f64 { y.iter().zip(&normal).map(|(u, w)| u * w).sum() };
        let (s0, s1) = (dot(&d0), dot(&d1));
        let mut t = if s1 > s0 { (s0 / (s0 - s1)).clamp(0.0, 1.0) } else { 0.5 };
        for _ in 0..3 {
            let d = slope(t);
            if d == 0.0 || !d.is_finite() {
                break;
            }
            t = (t - dot(&at(t)) / d).clamp(0.0, 1.0);
        }
        let gap = at(t).iter().fold(0.0f64, |m, u| m.max(u.abs()));
        (gap <= self.tol.f64()).then_some(t)
    }
}

/// max_i |x_i|.
fn size<T: Real>(x: &[T]) -> T {
    x.iter().fold(T::zero(), |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_find_a_two_cycle_and_pass_a_fixed_point() {
        let rule = Rule::Samples { stride: 1, max_period: 4, first: 16 };
        let mut probe = Probe::<f64>::new(1);
        probe.begin(&rule);
        // 0.2, 0.8, 0.2, …: confirmed at lag 4 after the checkpoint at step 16.
        let found = (1..=64u64).find_map(|n| probe.after_step(&rule, n, &[if n % 2 == 0 { 0.2 } else { 0.8 }], &[]).map(|p| (n, p)));
        assert_eq!(found, Some((20, 2)));
        // A point that does not move is no cycle.
        let mut probe = Probe::<f64>::new(1);
        probe.begin(&rule);
        assert_eq!((1..=256u64).find_map(|n| probe.after_step(&rule, n, &[0.5], &[])), None);
        // A forced flow's samples every 10 steps: a 3-cycle of the stroboscopic map.
        let rule = Rule::Samples { stride: 10, max_period: 4, first: 16 };
        let mut probe = Probe::<f64>::new(1);
        probe.begin(&rule);
        let found = (1..=1000u64).find_map(|n| probe.after_step(&rule, n, &[if n % 10 == 0 { (n / 10 % 3) as f64 } else { 7.0 }], &[]).map(|p| (n, p)));
        assert_eq!(found, Some((220, 3)));
    }

    #[test]
    fn the_section_finds_a_circle_and_its_period() {
        // x' = −y, y' = x: the unit circle, period 2π, stepped exactly at dt = 0.05.
        let dt = 0.05;
        let rule = Rule::Section { first: 64, dt };
        let mut probe = Probe::<f64>::new(2);
        probe.begin(&rule);
        let state = |n: u64| [(n as f64 * dt).cos(), (n as f64 * dt).sin()];
        let field = |x: [f64; 2]| [-x[1], x[0]];
        let found = (1..=2000u64).find_map(|n| {
            let (xp, x) = (state(n - 1), state(n));
            probe.at_step(&rule, n, &xp, &field(xp), &x, &field(x), &[]).map(|t| (n, t))
        });
        let (n, t) = found.expect("a limit cycle");
        assert!((t - std::f64::consts::TAU).abs() < 1e-6, "period {t}");
        // The checkpoints at steps 64 and 128 close before two periods (125.7 steps each); the
        // one at 256 sees both returns.
        assert!(n > 256 + 2 * 125 && n < 256 + 2 * 127, "confirmed at step {n}");
        // A point at rest is never checkpointed.
        let mut probe = Probe::<f64>::new(2);
        probe.begin(&rule);
        assert_eq!((1..=2000u64).find_map(|n| probe.at_step(&rule, n, &[1.0, 0.0], &[0.0, 0.0], &[1.0, 0.0], &[0.0, 0.0], &[])), None);
    }
}
