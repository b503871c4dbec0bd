//! Labelling a map: the outcomes of a plan's trajectories → a [`Classification`]. Fixed points
//! are told apart by the system's features (the state for most systems, invariant observables
//! for networks); stability comes from the system's host model; networks' branches are named
//! by their phase. The engines' outcomes come in; nothing here reaches back into an engine
//! except to re-integrate one representative trajectory in f64.

use super::phases::PhaseEvidence;
use super::{classify, max_dist, Attractor, Classification, FixedPointTests, Kind, Labeller, Layout};
use crate::engine::{Outcomes, Status};
use crate::plan::Plan;
use crate::system::stability::{continue_fixed_point, stability};
use crate::system::{Model, ModelVisitor, Stability, System};

/// Labels the outcomes of `plan` (the whole map). Fixed points are located by the system's
/// features: the state for most systems (stability from the Hessian at each cluster's centre,
/// and the small-gradient path test), invariant observables for networks (stability at each
/// attractor's representative, re-integrated in f64; named phases moved to the front).
pub fn label(plan: &Plan, outcomes: &Outcomes) -> Classification {
    let mut c = with_tests(plan, |tests| {
        let features = features(plan);
        classify(outcomes, layout(plan), &features, plan.n_state(), &plan.classify, tests)
    });
    representatives_stability(plan, &mut c.attractors);
    if matches!(plan.system, System::Network(_)) {
        name_phases(plan, outcomes, &mut c);
    }
    if let Some(w) = c.pool_warning() {
        c.warnings.insert(0, w);
    }
    c
}

/// The labeller of `plan`'s map, for a run that feeds it tile by tile (a streamed map); with
/// [`with_tests`] and [`representatives_stability`] it labels as [`label`] does, but for the
/// naming of network phases.
pub fn labeller(plan: &Plan) -> Labeller {
    Labeller::new(layout(plan), features(plan), plan.n_state(), plan.n_obs(), plan.classify.clone())
}

/// How `plan`'s trajectories map to parameter points: an axis over a start value, or over a
/// setting of the step rule that leaves the fixed points where they are (all but weight
/// decay), does not change the point. Where the map is tested for cycles, every setting
/// changes it: a cycle moves with the step size.
pub fn layout(plan: &Plan) -> Layout {
    let cycles = super::finds_cycles(plan);
    let moves = |axis: &crate::plan::GridAxis| plan.moves_fixed_points(axis) || (cycles && !axis.is_state);
    // Sampled starts are in no order along x: their ends are clustered all together.
    let x_param = plan.sampled.is_none() && moves(&plan.x);
    Layout { nx: plan.nx(), ny: plan.ny(), samples: plan.samples, x_param, y_param: plan.y.as_ref().is_some_and(moves) }
}

/// The observables that locate a fixed point: the system's invariant features, or the state.
/// The observables the labeller clusters end states by: the system's features, else the state.
pub(crate) fn features(plan: &Plan) -> Vec<usize> {
    match &plan.system.spec().features {
        Some(f) => f.to_vec(),
        None => (0..plan.n_state()).collect(),
    }
}

/// Runs `f` with the fixed-point tests of `plan`: stability from the Hessian (or Jacobian) at a
/// cluster's centre (a cycle's, and a map's fixed point's, from its multipliers) and the
/// small-gradient path test, for systems whose features are the state and which have a host
/// model (a system written in WGSL has none: no stability, no path test).
pub fn with_tests<R>(plan: &Plan, f: impl FnOnce(&FixedPointTests) -> R) -> R {
    let host = plan.system.has_host_model() && plan.system.spec().features.is_none();
    struct At<'a>(&'a Plan, usize, &'a [f64]);
    impl ModelVisitor for At<'_> {
        type Output = Stability;
        fn visit<M: Model>(self, m: &M) -> Stability {
            let inputs = self.0.inputs_at(self.1);
            let p = m.hessian_params(&inputs[..self.0.n_params]);
            stability(m, &p, self.2)
        }
    }
    // A map's fixed point is stable when its step contracts (multipliers inside the unit
    // circle), not when the flow of f(x) − x would settle there.
    let stab = |i: usize, centre: &[f64]| match (host, plan.system.is_map()) {
        (false, _) => Stability::Unknown,
        (true, true) => super::cycles::cycle_stability(plan, i, centre, 1),
        (true, false) => plan.system.visit(At(plan, i, centre)).unwrap_or(Stability::Unknown),
    };
    struct Path<'a>(&'a Plan, usize, &'a [f64], &'a [f64]);
    impl ModelVisitor for Path<'_> {
        type Output = bool;
        fn visit<M: Model>(self, m: &M) -> bool {
            let Path(plan, i, a, b) = self;
            let inputs = plan.inputs_at(i);
            small_gradient_path(m, &inputs[..plan.n_params], a, b, plan.dynamics.tol, plan.classify.cluster_tol)
        }
    }
    let connected = |i: usize, a: &[f64], b: &[f64]| host && plan.system.visit(Path(plan, i, a, b)).unwrap_or(false);
    struct Continue<'a>(&'a Plan, usize, usize, &'a [f64]);
    impl ModelVisitor for Continue<'_> {
        type Output = Option<Vec<f64>>;
        fn visit<M: Model>(self, m: &M) -> Option<Vec<f64>> {
            let Continue(plan, from, to, x) = self;
            let params = |i: usize| m.hessian_params(&plan.inputs_at(i)[..plan.n_params]);
            continue_fixed_point(m, &params(from), &params(to), x)
        }
    }
    // A dense Jacobian per Newton step: for the small systems whose states are their features.
    let newton = host && plan.n_state() <= MAX_NEWTON_DIM;
    let continued = |from: usize, to: usize, x: &[f64]| if newton { plan.system.visit(Continue(plan, from, to, x)).ok().flatten() } else { None };
    // An autonomous flow's limit cycle attracted its trajectory: stable with a host model or
    // without (`cycle_stability` needs none there).
    let flow = super::chaos::is_flow(plan) && plan.steps_per_period() == 0;
    let cycle_stability = |i: usize, x: &[f64], period: u32| if host || flow { super::cycles::cycle_stability(plan, i, x, period) } else { Stability::Unknown };
    f(&FixedPointTests { stability: &stab, cycle_stability: &cycle_stability, connected: &connected, continued: &continued })
}

/// Most state variables for which the labeller continues fixed points by Newton's method.
const MAX_NEWTON_DIM: usize = 16;

/// Networks (features that are not the state): the stability of each fixed-point attractor at
/// its representative, re-integrated in f64, and of each cycle (a training run's, continued:
/// [`super::cycles::training_cycle_stability`]). A forced flow's cycles get its forcing period.
pub fn representatives_stability(plan: &Plan, attractors: &mut [Attractor]) {
    // A forced flow's cycles are responses of `period` forcing periods (their legends say so).
    if let Some(clock) = plan.system.spec().clock {
        for a in attractors.iter_mut().filter(|a| a.kind == Kind::Cycle) {
            a.forcing_period = clock.period;
        }
    }
    if plan.system.spec().features.is_some() && plan.system.has_host_model() {
        use rayon::prelude::*;
        attractors.par_iter_mut().filter(|a| !a.pooled).for_each(|a| match a.kind {
            Kind::Fixed => a.stability = Some(representative_stability(plan, a.representative)),
            // A training run's cycle, from its replayed weights' multipliers.
            Kind::Cycle => a.stability = Some(super::cycles::training_cycle_stability(plan, a.representative)),
            _ => {}
        });
    }
}

/// Most weights for which the stability of a network's fixed point is computed (a dense
/// Hessian by central differences of the gradient).
pub const MAX_STABILITY_DIM: usize = 1024;

/// The stability of the fixed point trajectory `index` reaches, re-integrated in f64 from the
/// same start under its own parameters.
fn representative_stability(plan: &Plan, index: usize) -> Stability {
    if plan.n_state() > MAX_STABILITY_DIM {
        return Stability::Unknown;
    }
    struct At<'a>(&'a [f64], &'a [f64]);
    impl ModelVisitor for At<'_> {
        type Output = Stability;
        fn visit<M: Model>(self, m: &M) -> Stability {
            stability(m, &m.hessian_params(self.0), self.1)
        }
    }
    match crate::engine::cpu::end_state_f64(plan, index) {
        Ok((Status::Converged, x)) => {
            let inputs = plan.inputs_at(index);
            plan.system.visit(At(&inputs[..plan.n_params], &x)).unwrap_or(Stability::Unknown)
        }
        _ => Stability::Unknown,
    }
}

/// Names the networks' phases (see [`super::phases`]) and renumbers the map's attractors.
fn name_phases(plan: &Plan, outcomes: &Outcomes, c: &mut Classification) {
    use crate::system::network::E2E_NORM;
    let mut evidence = PhaseEvidence::new(layout(plan), c.attractors.len());
    for (i, &l) in c.labels.iter().enumerate() {
        evidence.add(i, l, outcomes.obs(i)[E2E_NORM] as f64);
    }
    let new_id = super::phases::name_phases(&evidence, &mut c.attractors);
    c.relabel(&new_id);
}

/// Whether the gradient stays below 2·tol (f32 end states carry rounding) along the segment
/// from `a` to `b`, sampled every `step` (at most 64 samples).
pub fn small_gradient_path<M: Model>(m: &M, p: &[f64], a: &[f64], b: &[f64], tol: f64, step: f64) -> bool {
    let samples = ((max_dist(a, b) / step.max(1e-12)).ceil() as usize).clamp(2, 64);
    let mut x = vec![0.0; a.len()];
    let mut v = vec![0.0; a.len()];
    (0..=samples).all(|k| {
        let t = k as f64 / samples as f64;
        x.iter_mut().zip(a.iter().zip(b)).for_each(|(xi, (ai, bi))| *xi = ai + t * (bi - ai));
        m.field(p, &x, &mut v);
        crate::dynamics::norm(&v) <= 2.0 * tol
    })
}

/// The fraction of each grid point's `samples` trajectories that reach each attractor:
/// (points × n_attractors), row-major.
pub fn fractions(labels: &[u32], samples: usize, n_attractors: usize) -> Vec<f32> {
    let mut f = vec![0.0f32; labels.len() / samples * n_attractors];
    for (g, point) in labels.chunks(samples).enumerate() {
        for &l in point {
            f[g * n_attractors + l as usize] += 1.0;
        }
        f[g * n_attractors..(g + 1) * n_attractors].iter_mut().for_each(|v| *v /= samples as f32);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn the_default_maps_parameter_points_are_its_columns() {
        // x = r a parameter, y = m a start: one parameter point per column.
        let p = Plan::new(&Scenario::default_map()).unwrap();
        let l = layout(&p);
        assert_eq!(l.shape(), (512, 1));
        assert_eq!(l.group_of(512 * 3 + 7), 7);
        assert_eq!(l.last_member(7), 512 * 511 + 7);
    }
}
