//! Trajectories that end on a cycle. Gradient descent past the edge of stability (and any map
//! stepped at a large step) can settle on an orbit that returns to itself every p steps instead
//! of on a fixed point; the stop rule, which tests the field, never ends such a run, and the
//! engine returns it as undecided. Here each undecided trajectory of a deterministic map (gd or
//! an optimizer, no noise) is continued on the host in f64 from its end state (a flow's, stepped
//! by rk4, is continued by [`super::flows`] instead, which looks for limit cycles on a Poincaré
//! section). Under an optimizer with memory (momentum, Nesterov, Adam, AdamW) the state it
//! continues is the parameters and the memory together, which the engines return with each end
//! state ([`Plan::kept_memory`], [`Outcomes::memory`]); a return must bring both back (all but
//! Adam's β^t, which only decay: Adam's map is autonomous once they have, so its cycles are
//! found once its bias corrections are within the return tolerance of 1):
//!
//! * `4 · max_period` steps let it settle further (the engine's end state is f32);
//! * the next `2 · max_period` states are kept, and its period is the smallest p ≤ max_period
//!   with every kept state returning to within [`RETURN_TOL`]·(1 + |x|) of itself p steps
//!   later, and across the whole window, its points more than [`DISTINCT`] tolerances apart
//!   ([`period_of`]). Period 1 (a fixed point the stop rule had not yet declared) leaves it
//!   undecided; with no period, it goes on through a chaos window ([`super::chaos`]), where a
//!   bounded orbit with a significantly positive Lyapunov exponent is found chaotic (status
//!   [`Status::Chaotic`]) and any other (a longer, slower or quasiperiodic orbit) stays
//!   undecided;
//! * a cycle's trajectory gets status [`Status::Cycle`], its period, and as end state the
//!   cycle's point with the smallest first component (ties: the next components), so that
//!   trajectories on one cycle at different phases end at one point and are one attractor.
//!   Its observables are those of that point; its steps count the continuation too.
//!
//! A trajectory the engine's return probe stopped on a cycle ([`crate::engine::returns`]; status
//! [`Status::Cycle`] without a period) is continued the same way, which confirms its cycle and
//! gives its period and point; one not confirmed (an oscillation decaying too slowly for the
//! probe to tell) runs on in f64 to the end of its budget with the engine's stop rule.
//!
//! A cycle's stability ([`cycle_stability`]) comes from its multipliers: the eigenvalues of the
//! product of the step's Jacobians around it (each Jacobian by central differences of the f64
//! step), stable when all lie inside the unit circle.
//!
//! Under an optimizer with memory, a cycle is one of the parameters and the memory together,
//! and so are its multipliers: the labeller keeps the memory of each cycle cluster's first
//! member at its point (returned with its end state) and [`cycle_stability`] takes the state ⊕
//! memory (without the memory, as from an older shard, it returns `Unknown`). Adam's β^t
//! contribute multipliers β₁ and β₂, inside the unit circle.
//!
//! Training runs (networks, whose features are not their state and whose weights the engines
//! do not return) are continued from end states replayed on the host ([`super::replay`]), and
//! only those that did not train: a cycle is an oscillating run, chaos a chaotic one (the
//! trainability map's classes). A network cycle's end point is its point of least loss (least
//! features), and its loss record stays the engine's; its stability comes from its
//! representative's replayed weights ([`training_cycle_stability`]), the multipliers of many
//! weights by the Arnoldi iteration ([`super::chaos::arnoldi_largest`]).
//!
//! Like [`super::stalls`], the test depends only on the trajectory's own end state and index,
//! so a map gives the same labels however it is tiled, sharded or streamed; systems without a
//! host model (maps written in WGSL are continued on the engine instead: [`super::continued`]),
//! other systems whose features are not their state, states larger than [`MAX_CYCLE_DIM`],
//! noise and an escape test are left as the engine returned them.

use super::flows::FlowEnding;
use crate::dynamics::Memory;
use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::{Outcomes, Status};
use crate::plan::Plan;
use crate::system::{Model, ModelVisitor, Stability};
use rayon::prelude::*;

/// Largest state whose trajectories are tested for cycles.
pub const MAX_CYCLE_DIM: usize = 16;
/// A return within this distance, relative to 1 + |x| (max-norm), closes a cycle.
pub const RETURN_TOL: f64 = 1e-7;
/// Multipliers within this of the unit circle make a cycle `flat` (marginal).
const MARGINAL: f64 = 1e-6;

/// What [`settle_undecided`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettleReport {
    /// Undecided trajectories tested.
    pub tested: u64,
    /// Of those, the ones found on a cycle.
    pub cycles: u64,
    /// And the ones found chaotic.
    pub chaotic: u64,
}

/// Whether `plan`'s undecided trajectories can be tested for cycles (see the module header):
/// from the end states the engines return ([`observes`]), or, for training runs, from end
/// states replayed on the host ([`super::replay`]).
pub fn applies(plan: &Plan) -> bool {
    observes(plan) || super::replay::applies(plan)
}

/// Whether the engines return the end state the host continues: a system whose features are
/// its state (at most [`MAX_CYCLE_DIM`] variables), with the optimizer's memory
/// ([`Plan::kept_memory`]).
pub fn observes(plan: &Plan) -> bool {
    deterministic(plan) && !plan.system.draws() && plan.system.spec().features.is_none() && plan.n_state() <= MAX_CYCLE_DIM
}

/// What any continuation needs: a host model, no temperature, no escape test, and cycles asked
/// for (`[classify] max_period` ≥ 2). Minibatch draws are ruled out per plan ([`observes`]) or,
/// for training runs, per run ([`super::replay`]).
pub(crate) fn deterministic(plan: &Plan) -> bool {
    let d = &plan.dynamics;
    plan.classify.max_period >= 2 && plan.system.has_host_model() && d.temperature == 0.0 && d.escape == 0.0
}

/// Tests the undecided trajectories of `outcomes` (trajectories `first..` of `plan`) for
/// cycles and chaos ([`super::chaos`]), and relabels those on one in place (status, period,
/// end state, observables, steps). With `classify.lyapunov`, also fills `outcomes.lyapunov`:
/// each trajectory's λ₁ per step where it ended (NaN where it diverged), or a network run's
/// along its training ([`super::replay::training_exponents`]).
pub fn settle_undecided(plan: &Plan, outcomes: &mut Outcomes, first: usize) -> SettleReport {
    if plan.classify.lyapunov && super::replay::follows_training(plan) {
        // Along the engine's steps, before a continuation adds to them.
        outcomes.lyapunov = super::replay::training_exponents(plan, outcomes, first);
    }
    if !applies(plan) {
        return SettleReport::default();
    }
    let (n_state, n_mem) = (plan.n_state(), plan.kept_memory());
    if n_mem > 0 && outcomes.memory.len() != outcomes.len() * n_mem {
        // Outcomes without the optimizer's memory (none to continue from).
        return SettleReport::default();
    }
    // Training runs' end states are replayed, and only those of runs that did not train.
    let replayed = !observes(plan);
    let did_not_train = super::replay::did_not_train(plan);
    // The end state, and the optimizer's memory there (module header).
    let state = |o: &Outcomes, i: usize| -> Vec<f64> {
        let memory = o.memory_of(i, n_mem).unwrap_or(&[]);
        o.obs(i)[..n_state].iter().chain(memory).map(|&v| v as f64).collect()
    };
    // The undecided, and the cycles the engine's return probe stopped (no period yet).
    let undecided: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes.status[i] == Status::Undecided as u32 || (outcomes.status[i] == Status::Cycle as u32 && outcomes.period_of(i) == 0))
        .filter(|&i| !replayed || did_not_train(outcomes, i))
        .collect();
    let endings: Vec<(usize, Ending)> = undecided
        .par_iter()
        .map(|&i| {
            let x = match replayed {
                false => state(outcomes, i),
                true => match super::replay::end_state(plan, first + i) {
                    Some(x) => x,
                    None => return (i, Ending::Undecided { lyapunov: f64::NAN }),
                },
            };
            let steps = outcomes.steps[i] as u64;
            let stopped = outcomes.status[i] == Status::Cycle as u32;
            let ending = ending_from(plan, first + i, &x, steps, stopped);
            if stopped && !matches!(ending, Ending::Cycle(_)) {
                // A return the host does not confirm: the trajectory runs on to the end of its
                // budget, as it would have without the probe.
                return (i, resume(plan, first + i, &x, steps));
            }
            (i, ending)
        })
        .collect();
    let mut report = SettleReport { tested: undecided.len() as u64, ..SettleReport::default() };
    let n_obs = outcomes.n_obs;
    // λ₁ of the undecided, known from their windows (NaN elsewhere until filled below).
    let mut window_exponent = vec![f64::NAN; outcomes.len()];
    for (i, ending) in endings {
        let (status, period, steps, observables) = match ending {
            Ending::Undecided { lyapunov } => {
                window_exponent[i] = lyapunov;
                continue;
            }
            Ending::Cycle(c) => {
                report.cycles += 1;
                if c.time > 0.0 {
                    outcomes.cycle_time.resize(outcomes.len(), 0.0);
                    outcomes.cycle_time[i] = c.time as f32;
                }
                window_exponent[i] = c.lyapunov;
                let memory = c.point.get(n_state..).unwrap_or(&[]);
                if memory.len() == n_mem && n_mem > 0 {
                    // The memory at the cycle's point, with its state: what its multipliers and
                    // exponent are computed from.
                    let memory = memory.iter().map(|&v| v as f32);
                    outcomes.memory[i * n_mem..(i + 1) * n_mem].iter_mut().zip(memory).for_each(|(m, v)| *m = v);
                }
                (Status::Cycle, c.period, c.steps, c.observables)
            }
            Ending::Chaotic { steps, middles, lyapunov } => {
                report.chaotic += 1;
                window_exponent[i] = lyapunov;
                (Status::Chaotic, 0, steps, middles)
            }
            Ending::Resumed { status, steps, observables } => (status, 0, steps, observables),
        };
        if period > 0 {
            outcomes.period.resize(outcomes.len(), 0);
            outcomes.period[i] = period;
        }
        outcomes.status[i] = status as u32;
        outcomes.steps[i] = outcomes.steps[i].saturating_add(steps);
        // The system's observables there; the extras (sharpness) as they were.
        outcomes.observables[i * n_obs..i * n_obs + observables.len()].copy_from_slice(&observables);
    }
    if plan.classify.lyapunov && observes(plan) {
        let flow = super::chaos::is_flow(plan);
        let o = &*outcomes;
        outcomes.lyapunov = (0..o.len())
            .into_par_iter()
            .map(|i| {
                let exponent = match Status::from_code(o.status[i]) {
                    Status::Converged => super::chaos::exponent_at(plan, first + i, &state(o, i), 1),
                    Status::Cycle if !flow => super::chaos::exponent_at(plan, first + i, &state(o, i), o.period_of(i)),
                    _ => window_exponent[i],
                };
                exponent as f32
            })
            .collect();
    }
    report
}

/// Each trajectory's period: 1 at a fixed point, p on a p-cycle, 0 otherwise (period.npy).
pub fn periods(outcomes: &Outcomes) -> Vec<u32> {
    (0..outcomes.len())
        .map(|i| match Status::from_code(outcomes.status[i]) {
            Status::Converged => 1,
            Status::Cycle => outcomes.period_of(i),
            _ => 0,
        })
        .collect()
}

/// Each trajectory's period in time where it ended on a flow's limit cycle, 0 elsewhere
/// (cycle_time.npy).
pub fn cycle_times(outcomes: &Outcomes) -> Vec<f32> {
    (0..outcomes.len()).map(|i| outcomes.cycle_time.get(i).copied().unwrap_or(0.0)).collect()
}

/// A trajectory's cycle.
struct Cycle {
    /// Steps per return for a map, loops (section crossings) per return for a flow.
    period: u32,
    /// A flow's period in time (0 for a map).
    time: f64,
    steps: u32,
    /// The system's observables at the cycle's first point.
    observables: Vec<f32>,
    /// The cycle's point in f64: the state, then the optimizer's memory where it has one (a
    /// flow's: the state where its section test placed it).
    point: Vec<f64>,
    /// A flow's λ₁ along its cycle, where asked for (NaN otherwise; a map's come from its
    /// multipliers).
    lyapunov: f64,
}

/// Where an undecided trajectory was found to end.
enum Ending {
    Cycle(Cycle),
    /// Chaotic: its steps, the middles of its observables' ranges over the chaos window, and
    /// λ₁ there.
    Chaotic { steps: u32, middles: Vec<f32>, lyapunov: f64 },
    /// Still undecided; λ₁ of its chaos window where it had one (else NaN).
    Undecided { lyapunov: f64 },
    /// A cycle the engine reported and the host did not confirm, run on to the end of its
    /// budget: how it ended there (status, steps taken after the engine's, the system's
    /// observables at its end).
    Resumed { status: Status, steps: u32, observables: Vec<f32> },
}

/// Continues trajectory `index` in f64 from `x`, where the engine stopped it after `steps` steps
/// on a cycle the host did not confirm, to the end of its budget (the engine's step and stop
/// rule, without the probe); one still undecided there goes on as the engine's undecided do.
fn resume(plan: &Plan, index: usize, x: &[f64], steps: u64) -> Ending {
    struct Resume<'a>(&'a Plan, usize, &'a [f64], u64);
    impl ModelVisitor for Resume<'_> {
        type Output = (Status, Vec<f64>, u64, Vec<f32>);
        fn visit<M: Model>(self, m: &M) -> Self::Output {
            let Resume(plan, index, start, steps) = self;
            let mut inputs = plan.inputs_at(index);
            let p = &mut inputs[..plan.n_params];
            let stepper = Stepper::<f64>::deterministic_at(plan, index);
            let n_state = plan.n_state();
            let mut s = Scratch::new(n_state);
            let mut z = start.to_vec();
            let (x, memory) = z.split_at_mut(n_state);
            s.mem = memory.to_vec();
            let mut status = Status::Undecided;
            let mut n = steps;
            while n < stepper.max_steps as u64 {
                stepper.set_time(p, n);
                if let Some(st) = stepper.step_or_stop(m, p, x, &mut s, n as u32) {
                    status = st;
                    break;
                }
                n += 1;
                let st = stepper.escape_status(x);
                if st != Status::Running {
                    status = st;
                    break;
                }
            }
            let mut obs = vec![0.0; plan.system.spec().model_observables().len()];
            m.observables(p, x, &mut obs);
            memory.copy_from_slice(&s.mem);
            (status, z, n - steps, obs.iter().map(|&v| v as f32).collect())
        }
    }
    let Ok((status, end, taken, observables)) = plan.system.visit(Resume(plan, index, x, steps)) else {
        return Ending::Undecided { lyapunov: f64::NAN };
    };
    let taken = taken as u32;
    if status != Status::Undecided {
        return Ending::Resumed { status, steps: taken, observables };
    }
    match ending_from(plan, index, &end, steps + taken as u64, false) {
        Ending::Cycle(c) => Ending::Cycle(Cycle { steps: c.steps + taken, ..c }),
        Ending::Chaotic { steps, middles, lyapunov } => Ending::Chaotic { steps: steps + taken, middles, lyapunov },
        _ => Ending::Resumed { status, steps: taken, observables },
    }
}

/// Continues trajectory `index` from its end state `x`, reached after `steps` steps (module
/// header): its cycle, or its chaos. `stopped`: the engine's return probe stopped it on a cycle
/// (a flow's continuation then settles half as long).
fn ending_from(plan: &Plan, index: usize, x: &[f64], steps: u64, stopped: bool) -> Ending {
    struct Continue<'a>(&'a Plan, usize, &'a [f64], u64, bool);
    impl ModelVisitor for Continue<'_> {
        type Output = Ending;
        fn visit<M: Model>(self, m: &M) -> Ending {
            let Continue(plan, index, end, steps, stopped) = self;
            let unknown = Ending::Undecided { lyapunov: f64::NAN };
            if super::chaos::is_flow(plan) {
                let inputs = plan.inputs_at(index);
                let mut obs = vec![0.0; plan.system.spec().model_observables().len()];
                // A forced flow's cycles are its stroboscopic map's, an autonomous one's limit
                // cycles are found on a Poincaré section.
                let ending = if plan.system.spec().clock.is_some() {
                    super::forced::ending_from(plan, m, index, end, steps)
                } else {
                    super::flows::ending_from(plan, m, index, end, stopped)
                };
                return match ending {
                    FlowEnding::Cycle { loops, time, steps, point, lyapunov } => {
                        m.observables(&inputs[..plan.n_params], &point, &mut obs);
                        Ending::Cycle(Cycle { period: loops, time, steps, observables: obs.iter().map(|&v| v as f32).collect(), point, lyapunov })
                    }
                    FlowEnding::Chaotic { steps, middles, lyapunov } => {
                        Ending::Chaotic { steps, middles: middles.iter().map(|&v| v as f32).collect(), lyapunov }
                    }
                    FlowEnding::Undecided { lyapunov } => Ending::Undecided { lyapunov },
                };
            }
            let max_period = plan.classify.max_period as usize;
            let mut inputs = plan.inputs_at(index);
            let p = &mut inputs[..plan.n_params];
            let stepper = Stepper::<f64>::deterministic_at(plan, index);
            let n_state = plan.n_state();
            // What must return: the state and the memory, but for Adam's β^t (module header).
            let n = returning_len(plan);
            let mut s = Scratch::new(n_state);
            let mut x = end.to_vec();
            let settle = 4 * max_period;
            let keep = 2 * max_period;
            let mut kept = Vec::with_capacity(keep * n);
            // The whole continued states too (Adam's β^t included), for the memory at the cycle's point.
            let nz = x.len();
            let mut kept_z = Vec::with_capacity(if nz > n_state { keep * nz } else { 0 });
            let mut obs = vec![0.0; plan.system.spec().model_observables().len()];
            // A training run continued to its end ([`super::replay`]) diverges where it leaves
            // the bounds and rests where it returns after one step; a map's continuation only
            // looks for cycles and chaos.
            let to_the_end = !observes(plan);
            fn ended<M: Model>(m: &M, p: &[f64], status: Status, steps: usize, x: &[f64], obs: &mut [f64]) -> Ending {
                m.observables(p, x, obs);
                Ending::Resumed { status, steps: steps as u32, observables: obs.iter().map(|&v| v as f32).collect() }
            }
            for k in 0..settle + keep {
                if k >= settle {
                    kept.extend_from_slice(&x[..n]);
                    if nz > n_state {
                        kept_z.extend_from_slice(&x);
                    }
                }
                step(&stepper, m, p, &mut x, &mut s, 0);
                match stepper.escape_status(&x[..n_state]) {
                    Status::Running => {}
                    left if to_the_end => return ended(m, p, left, k + 1, &x[..n_state], &mut obs),
                    _ => return unknown,
                }
            }
            match period_of(&kept, n, max_period, RETURN_TOL) {
                Some(period) if period >= 2 => {
                    let row = match &plan.system.spec().features {
                        None => first_row(&kept[..period * n], n),
                        // A network's weights: the point with the least features (the loss
                        // first), alike for cycles that differ by a symmetry of the weights.
                        Some(features) => (0..period)
                            .map(|r| {
                                m.observables(p, &kept[r * n..r * n + n_state], &mut obs);
                                (r, features.iter().map(|&k| obs[k]).collect::<Vec<f64>>())
                            })
                            .min_by(|a, b| a.1.iter().zip(&b.1).map(|(u, v)| u.total_cmp(v)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal))
                            .map_or(0, |(r, _)| r),
                    };
                    m.observables(p, &kept[row * n..row * n + n_state], &mut obs);
                    let point = match kept_z.get(row * nz..(row + 1) * nz) {
                        Some(z) => z.to_vec(),
                        None => kept[row * n..(row + 1) * n].to_vec(),
                    };
                    Ending::Cycle(Cycle {
                        period: period as u32,
                        time: 0.0,
                        steps: (settle + keep) as u32,
                        observables: obs.iter().map(|&v| v as f32).collect(),
                        point,
                        lyapunov: f64::NAN,
                    })
                }
                // A fixed point the stop rule has not declared yet.
                Some(_) if to_the_end => ended(m, p, Status::Converged, settle + keep, &x[..n_state], &mut obs),
                Some(_) => unknown,
                None => match super::chaos::window(plan, m, index, &mut x, 0) {
                    Some(w) if w.is_chaotic() => Ending::Chaotic {
                        steps: (settle + keep + super::chaos::window_steps(plan, 1.0)) as u32,
                        middles: w.middles.iter().map(|&v| v as f32).collect(),
                        lyapunov: w.lyapunov,
                    },
                    Some(w) => Ending::Undecided { lyapunov: w.lyapunov },
                    // Left the bounds in the window (where, it does not say: its last step).
                    None => match stepper.escape_status(&x[..n_state]) {
                        Status::Running => unknown,
                        left if to_the_end => ended(m, p, left, settle + keep + super::chaos::window_steps(plan, 1.0), &x[..n_state], &mut obs),
                        _ => unknown,
                    },
                },
            }
        }
    }
    if !x.iter().all(|v| v.is_finite()) {
        return Ending::Undecided { lyapunov: f64::NAN };
    }
    plan.system.visit(Continue(plan, index, x, steps, stopped)).unwrap_or(Ending::Undecided { lyapunov: f64::NAN })
}

/// Step `n` of `stepper` from `z` (its field first; a forced flow's time set in `p`): `z` is the
/// state (as long as `s`'s vectors) followed by the optimizer's memory, if it has one.
pub(crate) fn step<M: Model>(stepper: &Stepper<f64>, m: &M, p: &mut [f64], z: &mut [f64], s: &mut Scratch<f64>, n: u64) {
    let (x, memory) = z.split_at_mut(s.v.len());
    if !memory.is_empty() {
        s.mem.clear();
        s.mem.extend_from_slice(memory);
    }
    stepper.set_time(p, n);
    stepper.field(m, p, x, &mut s.v);
    stepper.advance(m, p, x, s);
    memory.copy_from_slice(&s.mem[..memory.len()]);
}

/// The model's observables at each of `steps` points of the orbit of a map stepped from `z`
/// (trajectory `index`'s state ⊕ memory, [`step`]), in f64: one period of a cycle from its
/// point. `None` for a flow, a system without a host model, or an orbit that leaves the bounds.
pub fn orbit_observables(plan: &Plan, index: usize, z: &[f64], steps: u32) -> Option<Vec<Vec<f64>>> {
    struct Walk<'a>(&'a Plan, usize, &'a [f64], u32);
    impl ModelVisitor for Walk<'_> {
        type Output = Option<Vec<Vec<f64>>>;
        fn visit<M: Model>(self, m: &M) -> Self::Output {
            let Walk(plan, index, z, steps) = self;
            let mut inputs = plan.inputs_at(index);
            let p = &mut inputs[..plan.n_params];
            let stepper = Stepper::<f64>::deterministic_at(plan, index);
            let n_state = plan.n_state();
            let mut s = Scratch::new(n_state);
            let mut x = z.to_vec();
            let mut rows = Vec::with_capacity(steps as usize);
            for k in 0..steps {
                let mut obs = vec![0.0; plan.system.spec().model_observables().len()];
                m.observables(p, &x[..n_state], &mut obs);
                rows.push(obs);
                step(&stepper, m, p, &mut x, &mut s, k as u64);
                if stepper.escape_status(&x[..n_state]) != Status::Running {
                    return None;
                }
            }
            Some(rows)
        }
    }
    if super::chaos::is_flow(plan) || z.len() != plan.n_state() + plan.kept_memory() {
        return None;
    }
    plan.system.visit(Walk(plan, index, z, steps)).ok().flatten()
}

/// Values of a continued state ([`step`]'s `z`) that a return to a cycle brings back: the
/// state and the optimizer's memory, but for Adam's β1^t and β2^t (the last two), which decay.
pub(crate) fn returning_len(plan: &Plan) -> usize {
    // The whole memory, returned by the engines or replayed ([`super::replay`]).
    let memory = plan.dynamics.method.memory().len(plan.n_state());
    plan.n_state() + if plan.dynamics.method.memory() == Memory::Moments { memory.saturating_sub(2) } else { memory }
}

/// A cycle's points must lie this many return tolerances apart (see [`period_of`]).
pub const DISTINCT: f64 = 100.0;

/// The smallest p ≤ `max_period` such that every state in `kept` (rows of `n`) returns to
/// within `tol`·(1 + |x|) (max-norm) of itself p steps later, and also across the whole window
/// (at the last multiple of p: a slow drift, such as an oscillation still decaying onto a fixed
/// point, accumulates there); for p ≥ 2 its points d steps apart must also lie more than
/// [`DISTINCT`] tolerances apart somewhere, for every proper divisor d of p, or it is not yet
/// told from a fixed point (d = 1) or a d-cycle (an orbit still settling onto a 2-cycle whose
/// multiplier is near −1 returns within the tolerance after 4 steps before it does after 2).
/// `None` if no p qualifies.
pub fn period_of(kept: &[f64], n: usize, max_period: usize, tol: f64) -> Option<usize> {
    let rows = kept.len() / n.max(1);
    let row = |t: usize| &kept[t * n..(t + 1) * n];
    let within = |t: usize, s: usize, times: f64| {
        let (a, b) = (row(t), row(s));
        let size = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter().zip(b).all(|(u, v)| (u - v).abs() <= times * tol * (1.0 + size))
    };
    (1..=max_period.min(rows.saturating_sub(1))).find(|&p| {
        (0..rows - p).all(|t| within(t, t + p, 1.0))
            && (0..p).all(|t| within(t, t + (rows - 1 - t) / p * p, 1.0))
            && (1..p).filter(|d| p % d == 0).all(|d| (0..p).any(|t| !within(t, t + d, DISTINCT)))
    })
}

/// Of one period of a cycle's states (rows of `n`), the one with the smallest first component
/// (ties: the next components): the same point whichever phase the cycle was entered at.
pub fn first_point(cycle: &[f64], n: usize) -> &[f64] {
    let row = first_row(cycle, n);
    &cycle[row * n..(row + 1) * n]
}

/// The row of [`first_point`].
pub fn first_row(cycle: &[f64], n: usize) -> usize {
    let order = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u.total_cmp(v)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal);
    (0..cycle.len() / n).min_by(|&a, &b| order(&cycle[a * n..(a + 1) * n], &cycle[b * n..(b + 1) * n])).expect("a cycle has states")
}

/// The stability of the `period`-cycle through `x` under the parameters of trajectory `index`:
/// `Stable` when every multiplier (eigenvalue of the product of the step's Jacobians around
/// the cycle) lies inside the unit circle, `Unstable` when one lies outside, `Flat` within
/// 1e-6 of it; `Unknown` where the Arnoldi iteration's estimate (a state of more than
/// [`super::chaos::DENSE_MULTIPLIERS`] values) has not settled enough to tell.
pub fn cycle_stability(plan: &Plan, index: usize, x: &[f64], period: u32) -> Stability {
    let n_mem = plan.kept_memory();
    if n_mem > 0 && x.len() != plan.n_state() + n_mem {
        // The cycle's parameters without its memory: its multipliers are not known (module header).
        return Stability::Unknown;
    }
    stability_around(plan, index, &x[..x.len().min(plan.n_state() + n_mem)], period)
}

/// The stability of the cycle that training run `index` ends on (a network's, whose weights the
/// engines do not return): its end state replayed ([`super::replay`]), continued onto the
/// cycle, and the multipliers of its weights and optimizer memory there, by the Arnoldi
/// iteration where they are many ([`super::chaos::arnoldi_largest`]). `Unknown` where the
/// replay does not end on a cycle (rounding on a boundary of its basin).
pub fn training_cycle_stability(plan: &Plan, index: usize) -> Stability {
    if !super::replay::applies(plan) {
        return Stability::Unknown;
    }
    let Some(end) = super::replay::end_state(plan, index) else {
        return Stability::Unknown;
    };
    match ending_from(plan, index, &end, 0, false) {
        Ending::Cycle(c) => stability_around(plan, index, &c.point, c.period),
        _ => Stability::Unknown,
    }
}

/// [`cycle_stability`] of the cycle through `x` (its state and whole memory).
fn stability_around(plan: &Plan, index: usize, x: &[f64], period: u32) -> Stability {
    let steps = match (super::chaos::is_flow(plan), plan.steps_per_period()) {
        // A forced flow's k-cycle: the stroboscopic map's, k forcing periods of steps from
        // phase 0 (where its point was sampled).
        (true, k) if k > 0 => period as u64 * k as u64,
        // A limit cycle of an autonomous flow attracted the trajectory that found it (its
        // multiplier along the flow is 1; `flows` module header).
        (true, _) => return Stability::Stable,
        (false, _) => period as u64,
    };
    let (largest, within) = super::chaos::largest_multiplier_within(plan, index, x, steps);
    stability_of_multiplier(largest, within)
}

/// The stability a largest |multiplier| gives, known to within `within`: `Unknown` where that
/// leaves the side of the unit circle open.
fn stability_of_multiplier(largest: f64, within: f64) -> Stability {
    if !largest.is_finite() || !within.is_finite() {
        Stability::Unknown
    } else if largest + within < 1.0 - MARGINAL {
        Stability::Stable
    } else if largest - within > 1.0 + MARGINAL {
        Stability::Unstable
    } else if (largest - 1.0).abs() + within <= MARGINAL {
        Stability::Flat
    } else {
        Stability::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_first_points() {
        // 0.2, 0.8, 0.2, … : period 2; its first point is 0.2 whichever phase it starts at.
        let two: Vec<f64> = (0..8).map(|t| if t % 2 == 0 { 0.8 } else { 0.2 }).collect();
        assert_eq!(period_of(&two, 1, 4, 1e-9), Some(2));
        assert_eq!(first_point(&two[..2], 1), &[0.2]);
        // A 3-cycle in 2-D, and a fixed point.
        let three: Vec<f64> = (0..9).flat_map(|t| [(t % 3) as f64, -((t % 3) as f64)]).collect();
        assert_eq!(period_of(&three, 2, 4, 1e-9), Some(3));
        assert_eq!(first_point(&three[2..8], 2), &[0.0, 0.0]);
        assert_eq!(period_of(&[1.0; 6], 1, 3, 1e-9), Some(1));
        // A slow drift returns nowhere; the tolerance is relative to 1 + |x|.
        let drift: Vec<f64> = (0..8).map(|t| t as f64 * 1e-3).collect();
        assert_eq!(period_of(&drift, 1, 4, 1e-6), None);
        assert_eq!(period_of(&[1000.0, 1000.5, 1000.0, 1000.5], 1, 2, 1e-3), Some(1));
        // An oscillation decaying onto 0.6 (multiplier −0.99): each return is within the
        // tolerance, but it drifts over the window; points closer than 100 tolerances are not
        // yet a cycle.
        let decaying: Vec<f64> = (0..256).map(|t| 0.6 + 1e-4 * (-0.99f64).powi(t)).collect();
        assert_eq!(period_of(&decaying, 1, 8, 1e-5), None);
        let tiny: Vec<f64> = (0..16).map(|t| if t % 2 == 0 { 0.6 } else { 0.6 + 1e-8 }).collect();
        assert_eq!(period_of(&tiny, 1, 8, 1e-9), None);
        assert_eq!(period_of(&tiny, 1, 8, 1e-11), Some(2));
        // Settling onto the 2-cycle 0.2, 0.8 with its multiplier −0.9958 (gd on x⁴/4 − x²/2 just
        // below the doubling at lr = √5 − 1): back within the tolerance after 4 steps, not yet
        // after 2, and its points 2 steps apart closer than 100 tolerances: not a 4-cycle yet.
        let settling: Vec<f64> = (0..128).map(|t: i32| if t % 2 == 0 { 0.2 } else { 0.8 } + 2e-7 * (-0.9958f64).powi(t / 2)).collect();
        assert_eq!(period_of(&settling, 1, 64, 1e-7), None);
        let four: Vec<f64> = (0..128).map(|t| [0.2, 0.8, 0.21, 0.79][t % 4]).collect();
        assert_eq!(period_of(&four, 1, 64, 1e-7), Some(4));
    }
}
