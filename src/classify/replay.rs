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
