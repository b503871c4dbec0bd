//! Starts that stall on an unstable fixed point. The stop rule ends a trajectory where its
//! gradient falls below `tol`, and a start within tol/|λ| of a maximum or a saddle (a point on
//! the boundary between basins) meets it at once, or after sliding along the saddle's stable
//! manifold. Labelled as they stand, such trajectories would make one "fixed maximum" branch per
//! pixel. Here each converged trajectory whose own end state is unstable is pushed off along its
//! most unstable direction and continued, on the host in f64 with the plan's step rule (as
//! `sweep`'s continuation does):
//!
//! * pushes of 1e-3, 1e-2 and 1e-1 × (1 + |x|), toward the side the trajectory started on, each
//!   with a small random part (from the counter-based generator at the trajectory's index) so
//!   it cannot stay in an invariant subspace, and each with the plan's whole step budget;
//! * where it comes to rest at a point that is not unstable, or diverges, that is its outcome:
//!   status, end state and observables, with the continuation's steps added to its own;
//! * where it rests at an unstable point after the last push, its status becomes
//!   [`Status::Stalled`], labelled as one attractor of kind `stalled` for the whole map.
//!
//! The test and the continuation depend only on the trajectory's own end state and index, so a
//! map gives the same result however it is tiled, sharded or streamed. Systems without a host
//! model (WGSL files) and fixed points told apart by observables other than the state
//! (networks) are left as the engine returned them.

use crate::engine::{Outcomes, Status};
use crate::plan::Plan;
use crate::system::stability::{push_off, stability};
use crate::system::{Model, ModelVisitor, Stability};
use rayon::prelude::*;

/// Largest state whose end states are tested one by one (a Jacobian and its eigenvalues per
/// converged trajectory).
pub const MAX_STALL_DIM: usize = 16;

/// Most trajectories of one map (or tile) continued on the host; beyond, stalled ones are
/// labelled `stalled` without a push. A map with that many stalls has a systematic cause (a
/// symmetry that keeps starts on a saddle's stable manifold) that pushing would not explain.
pub const MAX_CONTINUED: usize = 65_536;

/// The pushes tried in turn, relative to 1 + |x|.
const PUSHES: [f64; 3] = [1e-3, 1e-2, 1e-1];

/// What [`settle_stalls`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StallReport {
    /// Trajectories that ended at an unstable point.
    pub found: u64,
    /// Of those, the ones that left it after a push.
    pub continued: u64,
    /// Of those, the ones still at an unstable point (status `Stalled`).
    pub stalled: u64,
}

/// Whether a fixed point of this stability repels some nearby states.
pub fn is_unstable(s: Stability) -> bool {
    matches!(s, Stability::Saddle | Stability::Maximum | Stability::Unstable)
}

/// Whether `plan`'s trajectories can be tested for stalls (see the module header).
pub fn applies(plan: &Plan) -> bool {
    let spec = plan.system.spec();
    plan.system.has_host_model() && spec.features.is_none() && plan.n_state() <= MAX_STALL_DIM && plan.dynamics.temperature == 0.0
}

/// Finds the converged trajectories of `outcomes` (trajectories `first..` of `plan`) that rest
/// at an unstable point, and continues or relabels them in place.
pub fn settle_stalls(plan: &Plan, outcomes: &mut Outcomes, first: usize) -> StallReport {
    if !applies(plan) {
        return StallReport::default();
    }
    let n_state = plan.n_state();
    let n_obs = outcomes.n_obs;
    let stalled: Vec<usize> = (0..outcomes.len())
        .into_par_iter()
        .filter(|&i| outcomes.status[i] == Status::Converged as u32 && end_is_unstable(plan, first + i, &state_of(outcomes, i, n_state)))
        .collect();
    let mut report = StallReport { found: stalled.len() as u64, ..Default::default() };
    let results: Vec<(usize, Continued)> = stalled
        .par_iter()
        .enumerate()
        .map(|(k, &i)| {
            let result = if k < MAX_CONTINUED { continue_from(plan, first + i, &state_of(outcomes, i, n_state), n_obs) } else { None };
            (i, result.unwrap_or(Continued { status: Status::Stalled, steps: 0, observables: None }))
        })
        .collect();
    // `continue_from` gives `None` only where the host model is missing: left as stalled.
    for (i, c) in results {
        outcomes.status[i] = c.status as u32;
        outcomes.steps[i] = outcomes.steps[i].saturating_add(c.steps);
        if let Some(obs) = c.observables {
            outcomes.observables[i * n_obs..(i + 1) * n_obs].copy_from_slice(&obs);
        }
        if c.status == Status::Stalled {
            report.stalled += 1;
        } else {
            report.continued += 1;
        }
    }
    report
}

/// The end state of trajectory `i`: its first observables (systems whose features are the state).
fn state_of(outcomes: &Outcomes, i: usize, n_state: usize) -> Vec<f64> {
    outcomes.obs(i)[..n_state].iter().map(|&v| v as f64).collect()
}

fn end_is_unstable(plan: &Plan, index: usize, x: &[f64]) -> bool {
    struct At<'a>(&'a [f64], &'a [f64]);
    impl ModelVisitor for At<'_> {
        type Output = bool;
        fn visit<M: Model>(self, m: &M) -> bool {
            is_unstable(stability(m, &m.hessian_params(self.0), self.1))
        }
    }
    let inputs = plan.inputs_at(index);
    x.iter().all(|v| v.is_finite()) && plan.system.visit(At(&inputs[..plan.n_params], x)).unwrap_or(false)
}

/// A stalled trajectory's new outcome.
struct Continued {
    status: Status,
    steps: u32,
    /// Its observables at the new end state; `None`: unchanged.
    observables: Option<Vec<f32>>,
}

/// Pushes trajectory `index` off the unstable point `x` and continues it (module header). Where
/// no push helped, the status is `Stalled` and the end state the one it stalled at.
fn continue_from(plan: &Plan, index: usize, x: &[f64], n_obs: usize) -> Option<Continued> {
    struct Push<'a>(&'a Plan, usize, &'a [f64], usize);
    impl ModelVisitor for Push<'_> {
        type Output = Option<Continued>;
        fn visit<M: Model>(self, m: &M) -> Option<Continued> {
            let Push(plan, index, end, n_obs) = self;
            let inputs = plan.inputs_at(index);
            let p = &inputs[..plan.n_params];
            let start: Vec<f64> = plan.start_f32(index).iter().map(|&v| v as f64).collect();
            let stepper = crate::engine::cpu::Stepper::<f64>::deterministic_at(plan, index);
            let mut scratch = crate::engine::cpu::Scratch::new(end.len());
            let mut x = end.to_vec();
            let mut steps = 0u32;
            for (attempt, size) in PUSHES.iter().enumerate() {
                x = pushed(m, p, &x, &start, *size, index, attempt as u32);
                let (status, taken) = stepper.integrate(m, p, &mut x, &mut scratch);
                steps = steps.saturating_add(taken);
                // Still moving when the budget ran out: pushed again, harder, from there.
                let settled = match status {
                    Status::Converged => !is_unstable(stability(m, &m.hessian_params(p), &x)),
                    Status::Undecided | Status::Running => false,
                    _ => true,
                };
                if settled {
                    let mut obs = vec![0.0; plan.system.spec().model_observables().len()];
                    m.observables(p, &x, &mut obs);
                    let mut observables: Vec<f32> = obs.iter().map(|&v| v as f32).collect();
                    observables.resize(n_obs, 0.0);
                    if plan.sharpness {
                        let mut sharp = vec![0.0; plan.extra_observables().len()];
                        crate::engine::sharpness::at_end(&stepper, m, p, &x, &scratch.mem, status, &mut sharp);
                        let at = plan.extras_offset();
                        for (o, v) in observables[at..at + sharp.len()].iter_mut().zip(&sharp) {
                            *o = *v as f32;
                        }
                    }
                    return Some(Continued { status, steps, observables: Some(observables) });
                }
            }
            Some(Continued { status: Status::Stalled, steps, observables: None })
        }
    }
    plan.system.visit(Push(plan, index, x, n_obs)).ok().flatten()
}

/// `x` pushed off by `size` toward the side of `start` ([`push_off`]), its random part drawn for
/// (`index`, `attempt`).
fn pushed<M: Model>(m: &M, p: &[f64], x: &[f64], start: &[f64], size: f64, index: usize, attempt: u32) -> Vec<f64> {
    let key = crate::rng::key(0x5741_4c4c);
    let noise: Vec<f64> = (0..x.len() as u32).map(|j| crate::rng::normal_f32(key, index as u32, attempt, j) as f64).collect();
    push_off(m, p, x, size, Some(start), &noise)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn plan(toml: &str) -> Plan {
        Plan::new(&Scenario::from_toml(toml).unwrap()).unwrap()
    }

    #[test]
    fn a_start_on_a_maximum_falls_to_the_side_it_started_on() {
        // F = r m² − m⁴ + m⁶ at r = 0.2: F' = 2m(r − 2m² + 3m⁴), maxima at ±m_max and minima
        // at ±m*, m² = (2 ∓ sqrt(4 − 12r))/6.
        let p = plan("system='landau'\nx='r=0.2:0.2:1'\ny='m=-1:1:3'\n[params]\nu=-1\nw=1");
        let m_max = ((2.0 - (4.0f64 - 2.4).sqrt()) / 6.0).sqrt();
        // Outcomes as an engine would give them: trajectory 2 rests on the maximum, started
        // just above it; 0 rests at the minimum 0; 1 diverged.
        let loss = |m: f64| 0.2 * m * m - m.powi(4) + m.powi(6);
        let mut o = Outcomes {
            status: vec![Status::Converged as u32, Status::DivergedPos as u32, Status::Converged as u32],
            steps: vec![100, 7, 0],
            observables: vec![0.0, 0.0, 0.0, 0.0, m_max as f32, loss(m_max) as f32],
            n_obs: 2,
            period: Vec::new(),
            lyapunov: Vec::new(),
            cycle_time: Vec::new(),
            memory: Vec::new(),
        };
        let mut start_above = p.clone();
        start_above.y.as_mut().unwrap().values = vec![-1.0, 1.0, m_max + 1e-6];
        let report = settle_stalls(&start_above, &mut o, 0);
        assert_eq!(report, StallReport { found: 1, continued: 1, stalled: 0 });
        assert_eq!(o.status, [1, 2, 1]);
        assert_eq!(o.steps[..2], [100, 7]);
        assert!(o.steps[2] > 0);
        // Started above the maximum: it falls outward, to the ordered minimum m* > m_max.
        let m_star = ((2.0 + (4.0f64 - 2.4).sqrt()) / 6.0).sqrt();
        assert!((o.obs(2)[0] as f64 - m_star).abs() < 1e-3, "{:?}", o.obs(2));
        assert!((o.obs(2)[1] as f64 - loss(m_star)).abs() < 1e-3);
        // Started below it: inward, to 0.
        let mut start_below = p.clone();
        start_below.y.as_mut().unwrap().values = vec![-1.0, 1.0, m_max - 1e-6];
        let mut o2 = Outcomes { status: vec![1, 2, 1], steps: vec![100, 7, 0], observables: vec![0.0, 0.0, 0.0, 0.0, m_max as f32, 0.0], n_obs: 2, period: Vec::new(), lyapunov: Vec::new(), cycle_time: Vec::new(), memory: Vec::new() };
        settle_stalls(&start_below, &mut o2, 0);
        assert!((o2.obs(2)[0] as f64).abs() < 1e-3, "{:?}", o2.obs(2));
    }

    #[test]
    fn a_point_that_no_push_can_leave_is_stalled() {
        // dx/dt = a x − x³ at a = 1: x = 0 is unstable, but with a budget of one step a push
        // cannot get anywhere.
        let p = plan("x='a=1:1:1'\ny='x=0:0:1'\n[dynamics]\nsteps=1\n[system]\nstate=['x']\nfield=['a*x - x^3']");
        let mut o = Outcomes { status: vec![1], steps: vec![0], observables: vec![0.0], n_obs: 1, period: Vec::new(), lyapunov: Vec::new(), cycle_time: Vec::new(), memory: Vec::new() };
        let report = settle_stalls(&p, &mut o, 0);
        assert_eq!(report, StallReport { found: 1, continued: 0, stalled: 1 });
        assert_eq!(o.status, [Status::Stalled as u32]);
        assert_eq!(o.steps, [3], "one step after each of the three pushes");
    }

    #[test]
    fn stable_points_are_left_alone() {
        let p = plan("system='landau'\nx='r=-1:-1:1'\ny='m=0.5:0.5:1'\n[params]\nu=1\nw=0");
        let m = (0.5f64).sqrt() as f32;
        let mut o = Outcomes { status: vec![1], steps: vec![10], observables: vec![m, -0.25], n_obs: 2, period: Vec::new(), lyapunov: Vec::new(), cycle_time: Vec::new(), memory: Vec::new() };
        let before = o.clone();
        assert_eq!(settle_stalls(&p, &mut o, 0), StallReport::default());
        assert_eq!(o, before);
    }
}
