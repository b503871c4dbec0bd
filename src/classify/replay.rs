//! The end states of training runs, replayed on the host. A network's state is its weights
//! (up to [`crate::system::network::MAX_WEIGHTS`] of them), which the engines do not return:
//! they return the network's invariant features and its loss record. To tell where a training
//! run that neither trained nor diverged ends up (oscillating on a cycle, chaotic, or still
//! undecided; the trainability map's classes), [`super::cycles`] continues it from its end
//! state, which is found here by running it again from its start, one trajectory on the host,
//! with the CPU engine's stepper in the run's precision: the same initial draws, step rule and
//! loss record, so the weights it ends with are the engine's (to the rounding of a SIMD lane or
//! the GPU's f32, which on a chaotic run differ after some steps but lie on the same attractor).
//!
//! It is asked for (`--continue-untrained`, `[classify] continue_untrained`): each run costs the
//! host a replay and up to a few thousand steps of the network in f64 (the chaos window's
//! tangent included), one run per core, where the engines ran 100 steps of many runs at once.
//! Only runs that did not train are replayed (`converged` = 0 in the loss record: a percent or
//! so of Sohl-Dickstein's map, on its fractal boundary): those that trained are judged by their
//! loss curve, as his map does. A continued run that leaves the bounds is diverged (it blew up
//! after the budget); one that returns to its state after one step rests at a fixed point
//! (converged: often a plateau where the tanh units saturate). A replay that does not end
//! undecided (it diverged or converged where the engine's run did not, by rounding on the
//! boundary) is left as the engine returned it.
//!
//! `--lyapunov` on a network follows each run along its training instead of where it ends
//! ([`training_exponents`]): replayed in f64 from its start with a tangent to its weights (and
//! memory), all runs that did not diverge, at three steps of the network per step (the run and
//! the tangent's central difference); how fast nearby initial weights part as it trains.

use super::chaos::is_flow;
use crate::dynamics::{LossRecord, Precision};
use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::{Outcomes, Status};
use crate::plan::Plan;
use crate::real::Real;
use crate::system::{Model, ModelVisitor};

/// Whether `plan`'s undecided runs are continued from replayed end states: asked for
/// (`--continue-untrained`), training runs (a system with a loss record) stepped by gd or an
/// optimizer (not a flow), with the other conditions of [`super::cycles::applies`] met; runs on
/// minibatches are left as they are.
pub fn applies(plan: &Plan) -> bool {
    plan.classify.continue_untrained
        && plan.system.spec().loss_record
        && !is_flow(plan)
        && super::cycles::deterministic(plan)
}

/// A test of whether run `i` of `outcomes` did not train (its loss record's `converged` is 0),
/// the column found once.
pub fn did_not_train(plan: &Plan) -> impl Fn(&Outcomes, usize) -> bool {
    let column = plan.observable_names().iter().position(|&n| n == "converged");
    move |outcomes, i| column.is_some_and(|k| outcomes.obs(i)[k] < 0.5)
}

/// The state of run `index` of `plan` after its step budget, followed by its optimizer's
/// memory (as [`super::cycles`] continues it), replayed from its start; `None` where the
/// replay does not end undecided.
pub fn end_state(plan: &Plan, index: usize) -> Option<Vec<f64>> {
    struct Replay<'a>(&'a Plan, usize);
    impl ModelVisitor for Replay<'_> {
        type Output = Option<Vec<f64>>;
        fn visit<M: Model>(self, m: &M) -> Self::Output {
            match self.0.dynamics.precision {
                Precision::F64 => replay::<M, f64>(self.0, m, self.1),
                Precision::F32 => replay::<M, f32>(self.0, m, self.1),
            }
        }
    }
    plan.system.visit(Replay(plan, index)).ok().flatten()
}

/// [`end_state`] in precision `T`, as the CPU engine runs it (`engine::cpu::run_all`); `None`
/// for a run on minibatches (not a deterministic map).
fn replay<M: Model, T: Real>(plan: &Plan, m: &M, index: usize) -> Option<Vec<f64>> {
    let inputs = plan.inputs_at(index);
    if m.draws_at(&inputs[..plan.n_params]) {
        return None;
    }
    let inputs: Vec<T> = inputs.iter().map(|&v| T::of(v)).collect();
    let (p, start) = inputs.split_at(plan.n_params);
    let mut x = start.to_vec();
    plan.add_init_noise(&inputs, index, &mut x);
    let stepper = Stepper::<T>::at(plan, index);
    let mut s = Scratch::new(x.len());
    let mut record = LossRecord::start(T::zero());
    let (status, _) =
        stepper.integrate_trajectory(m, p, &mut x, &mut s, Some(&mut record), index as u32);
    (status == Status::Undecided).then(|| x.iter().chain(&s.mem).map(|v| v.f64()).collect())
}

/// Whether `--lyapunov` follows `plan`'s runs along their training ([`training_exponents`]):
/// a network (its features are not its state) with a host model, stepped by gd or an optimizer
/// without temperature or an escape test.
pub fn follows_training(plan: &Plan) -> bool {
    let d = &plan.dynamics;
    plan.system.spec().features.is_some() && plan.system.has_host_model() && !is_flow(plan) && d.temperature == 0.0 && d.escape == 0.0
}

/// Each run's largest finite-time Lyapunov exponent along its own training, per step (runs
/// `first..` of `plan`, as `outcomes` ended them): a tangent to its weights (and its optimizer's
/// memory) carried from its start through the steps the engine took, by central differences
/// of the f64 step ([`super::chaos`]'s tangent): how fast runs from nearby initial weights part.
/// NaN where the run diverged, on minibatches, or left the bounds in f64.
pub fn training_exponents(plan: &Plan, outcomes: &Outcomes, first: usize) -> Vec<f32> {
    use rayon::prelude::*;
    (0..outcomes.len())
        .into_par_iter()
        .map(|i| match Status::from_code(outcomes.status[i]) {
            Status::Converged | Status::Undecided | Status::Cycle | Status::Chaotic | Status::Stalled => training_exponent(plan, first + i, outcomes.steps[i]) as f32,
            _ => f32::NAN,
        })
        .collect()
}

/// [`training_exponents`] of run `index` over its first `steps` steps.
pub fn training_exponent(plan: &Plan, index: usize, steps: u32) -> f64 {
    struct Along<'a>(&'a Plan, usize, u32);
    impl ModelVisitor for Along<'_> {
        type Output = f64;
        fn visit<M: Model>(self, m: &M) -> f64 {
            let Along(plan, index, steps) = self;
            let mut inputs = plan.inputs_at(index);
            if m.draws_at(&inputs[..plan.n_params]) {
                return f64::NAN;
            }
            let mut x = inputs[plan.n_params..].to_vec();
            plan.add_init_noise(&inputs, index, &mut x);
            let p = &mut inputs[..plan.n_params];
            let stepper = Stepper::<f64>::deterministic_at(plan, index);
            let mut s = Scratch::new(x.len());
            stepper.begin(x.len(), &mut s);
            // The weights, then the optimizer's memory at its start ([`super::cycles::step`]).
            let mut z: Vec<f64> = x.iter().chain(&s.mem).copied().collect();
            // Nearby runs start from nearby weights and the same reset memory.
            let mut tangent = super::chaos::Tangent::starting_in(plan, index, z.len(), x.len());
            for n in 0..steps as u64 {
                tangent.advance(m, &z, n);
                super::cycles::step(&stepper, m, p, &mut z, &mut s, n);
                if stepper.escape_status(&z[..x.len()]) != Status::Running {
                    return f64::NAN;
                }
            }
            tangent.exponent()
        }
    }
    plan.system.visit(Along(plan, index, steps)).unwrap_or(f64::NAN)
}
