//! Fixed points located precisely in f64: the engines' f32 end states are followed by the f64
//! flow and polished by Newton's method, so that the loss at a minimum is exact to rounding and
//! its numerical derivatives along a sweep are not noise.

use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::Status;
use crate::plan::Plan;
use crate::system::stability::{classify_eigenvalues, hessian_eigenvalues, jacobian, stability};
use crate::system::{Model, ModelVisitor, Stability};
use crate::{Error, Result};
use nalgebra::DVector;

/// States larger than this are not polished (a dense Jacobian per Newton step) and their
/// stability is not computed.
pub const MAX_POLISH_DIM: usize = 256;

/// A fixed point at one parameter point, in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedPoint {
    pub state: Vec<f64>,
    pub loss: f64,
    /// The order parameter (see [`Quantities`]).
    pub order: f64,
    pub stability: Stability,
    /// |field| at `state`.
    pub residual: f64,
    /// The largest eigenvalue of the Hessian of the loss the step rule descends (coupled
    /// weight decay's wd·I included; an mlp's per-layer step factors not): read against the
    /// step rule's edge of stability ([`crate::dynamics::Dynamics::stability_threshold`]).
    /// NaN for a field that is not a gradient or a state too large for a dense Hessian.
    pub sharpness: f64,
}

impl FixedPoint {
    /// Not known to be unstable: a minimum, a stable point, a degenerate (flat) one at a
    /// critical point, or one whose stability is unknown.
    pub fn may_be_stable(&self) -> bool {
        !matches!(self.stability, Stability::Saddle | Stability::Maximum | Stability::Unstable)
    }
}

/// Which model observables are the loss and the order parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantities {
    pub loss: usize,
    pub order: usize,
    pub order_name: String,
}

impl Quantities {
    /// The loss (observable `loss`) and the order parameter: `order` if given, else `b` or `m`
    /// if the system has one, else its first observable.
    pub fn of(plan: &Plan, order: Option<&str>) -> Result<Quantities> {
        let spec = plan.system.spec();
        let names: Vec<&str> = spec.model_observables().iter().map(|o| &*o.name).collect();
        let loss = names.iter().position(|&n| n == "loss").ok_or_else(|| {
            Error::input(format!("{}: a sweep needs a loss, and this system has none (a --field system has no loss; give it as --loss)", spec.name))
        })?;
        let order = match order {
            Some(name) => names.iter().position(|&n| n == name).ok_or_else(|| {
                Error::input(format!("--order {name}: {} has no observable '{name}' (known: {})", spec.name, names.join(", ")))
            })?,
            None => names.iter().position(|&n| n == "b" || n == "m").unwrap_or(0),
        };
        Ok(Quantities { loss, order, order_name: names[order].to_string() })
    }
}

/// Newton's method on field(x) = 0 from `x`, in place, with least-squares steps (the Jacobian is
/// singular along a network's symmetry directions and at a critical point) and step halving
/// until |field| falls and, for a gradient system, the loss does not rise: Newton finds saddles
/// as readily as minima, and a state on its way down to a minimum must not be carried back up
/// to the saddle it came from. Returns the final |field|.
pub fn polish<M: Model>(m: &M, p: &[f64], x: &mut [f64]) -> f64 {
    let descend = m.is_gradient();
    let mut loss = if descend { m.loss(p, x) } else { 0.0 };
    let n = x.len();
    let mut v = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut vt = vec![0.0; n];
    m.field(p, x, &mut v);
    let mut r = crate::dynamics::norm(&v);
    if n > MAX_POLISH_DIM {
        return r;
    }
    for _ in 0..200 {
        if r == 0.0 || !r.is_finite() {
            break;
        }
        let jac = jacobian(m, p, x);
        let Ok(step) = jac.svd(true, true).solve(&DVector::from_column_slice(&v), 1e-13) else {
            break;
        };
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            for i in 0..n {
                trial[i] = x[i] - t * step[i];
            }
            m.field(p, &trial, &mut vt);
            let rt = crate::dynamics::norm(&vt);
            let lt = if descend { m.loss(p, &trial) } else { 0.0 };
            if rt < r && (!descend || lt <= loss + 1e-12 * (1.0 + loss.abs())) {
                loss = lt;
                x.copy_from_slice(&trial);
                v.copy_from_slice(&vt);
                r = rt;
                improved = true;
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    r
}

/// Settles `start` under the flat parameters `p` of `plan`'s system: the f64 flow of the plan's
/// dynamics (when `flow`), then Newton. `None` when the flow diverges or leaves the finite
/// numbers, or no fixed point is found (|field| stays above 1e-3·tol; above tol for a state of
/// more than [`MAX_POLISH_DIM`] components, which is not polished).
pub fn settle(plan: &Plan, p: &[f64], start: &[f64], flow: bool, q: &Quantities) -> Result<Option<FixedPoint>> {
    struct Settle<'a>(&'a Plan, &'a [f64], &'a [f64], bool, &'a Quantities);
    impl ModelVisitor for Settle<'_> {
        type Output = Option<FixedPoint>;
        fn visit<M: Model>(self, m: &M) -> Option<FixedPoint> {
            let Settle(plan, p, start, flow, q) = self;
            let mut x = start.to_vec();
            // The plan's step rule: its decay and step factors (an mlp's lr_l) included.
            let stepper = Stepper::<f64>::deterministic_of(plan);
            let mut s = Scratch::new(x.len());
            // Newton reaches rounding; a state too large to polish counts once the f64 flow's own
            // stop rule holds.
            let accept = if x.len() > MAX_POLISH_DIM { plan.dynamics.tol.max(1e-10) } else { (1e-3 * plan.dynamics.tol).max(1e-10) };
            let mut residual = f64::INFINITY;
            // Near a critical point the flow is slower than any step budget: flow and polish
            // again, a few budgets at most.
            for _ in 0..if flow { 5 } else { 1 } {
                if flow {
                    let (status, _) = stepper.integrate(m, p, &mut x, &mut s);
                    if !matches!(status, Status::Converged | Status::Undecided) {
                        return None;
                    }
                }
                residual = polish(m, p, &mut x);
                if residual <= accept {
                    break;
                }
            }
            if residual.is_nan() || residual > accept || x.iter().any(|v| !v.is_finite()) {
                return None;
            }
            let mut obs = vec![0.0; plan.system.spec().model_observables().len()];
            m.observables(p, &x, &mut obs);
            let (stability, sharpness) = if x.len() > crate::classify::MAX_STABILITY_DIM {
                (Stability::Unknown, f64::NAN)
            } else if m.is_gradient() {
                let eig = hessian_eigenvalues(m, &m.hessian_params(p), &x);
                let decay = if plan.coupled_decay() { plan.dynamics.weight_decay() } else { 0.0 };
                (classify_eigenvalues(&eig), eig.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)) + decay)
            } else {
                (stability(m, &m.hessian_params(p), &x), f64::NAN)
            };
            Some(FixedPoint { loss: obs[q.loss], order: obs[q.order], stability, residual, sharpness, state: x })
        }
    }
    plan.system.visit(Settle(plan, p, start, flow, q))
}

/// The distinct fixed points that the trajectories `indices` of `outcomes` reached or approached,
/// located in f64, each with the trajectories that reached it. End states within `1e-3` (relative,
/// in the system's features) are one candidate; polished points within `1e-6` are one point.
pub fn distinct(plan: &Plan, outcomes: &crate::engine::Outcomes, indices: &[usize], q: &Quantities) -> Result<Vec<(FixedPoint, Vec<usize>)>> {
    let spec = plan.system.spec();
    let n_state = plan.n_state();
    let features: Vec<usize> = match &spec.features {
        Some(f) => f.to_vec(),
        None => (0..n_state).collect(),
    };
    let key = |i: usize| -> Vec<f32> { features.iter().map(|&k| outcomes.obs(i)[k]).collect() };
    let close = |a: &[f32], b: &[f32], rel: f32| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= rel * (1.0 + x.abs().max(y.abs())));
    let mut candidates: Vec<(Vec<f32>, Vec<usize>)> = Vec::new();
    // Undecided end states count too: near a critical point the flow slows down without bound,
    // and Newton finishes what the step budget did not. Not where an axis sets the step rule
    // (a sweep of lr): there a run that neither converged nor diverged may be orbiting a minimum
    // it cannot reach at that setting (past the edge of stability), and a minimum counts only
    // where the dynamics converge to it.
    let steps_vary = plan.varies_settings();
    let settled = |i: usize| match Status::from_code(outcomes.status[i]) {
        Status::Converged => true,
        Status::Undecided => !steps_vary,
        _ => false,
    };
    for &i in indices.iter().filter(|&&i| settled(i)) {
        let k = key(i);
        match candidates.iter_mut().find(|(c, _)| close(c, &k, 1e-3)) {
            Some((_, members)) => members.push(i),
            None => candidates.push((k, vec![i])),
        }
    }
    let mut points: Vec<(FixedPoint, Vec<usize>)> = Vec::new();
    for (_, members) in candidates {
        let rep = members[0];
        let inputs = plan.inputs_at(rep);
        let p = &inputs[..plan.n_params];
        // The state of a system without invariant features is its observables' head; a network's
        // end state is not read back, so it is integrated again in f64 from the same start.
        let (start, flow): (Vec<f64>, bool) = match spec.features {
            None => (outcomes.obs(rep)[..n_state].iter().map(|&v| v as f64).collect(), false),
            Some(_) => (plan.start_f32(rep).iter().map(|&v| v as f64).collect(), true),
        };
        // The flow of the trajectory's own settings (an axis may set them).
        let own;
        let at = if steps_vary {
            own = {
                let mut own = plan.clone();
                own.dynamics = plan.dynamics_at(rep);
                own
            };
            &own
        } else {
            plan
        };
        let Some(fp) = settle(at, p, &start, flow, q)? else { continue };
        let same = |a: &FixedPoint| a.state.iter().zip(&fp.state).all(|(x, y)| (x - y).abs() <= 1e-6 * (1.0 + x.abs().max(y.abs())));
        // Networks: one point in invariants (loss, order) rather than in weights.
        let same_invariants = |a: &FixedPoint| (a.loss - fp.loss).abs() <= 1e-9 * (1.0 + a.loss.abs()) && (a.order.abs() - fp.order.abs()).abs() <= 1e-6;
        match points.iter_mut().find(|(a, _)| if spec.features.is_some() { same_invariants(a) } else { same(a) }) {
            Some((_, m)) => m.extend(members),
            None => points.push((fp, members)),
        }
    }
    Ok(points)
}
