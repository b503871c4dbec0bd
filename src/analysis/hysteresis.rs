//! Hysteresis and spinodals by adiabatic continuation: the swept parameter is moved up (and then
//! down) one value at a time, each step starting from the previous step's end state, so a
//! trajectory stays on its branch of minima while that branch exists. Where the up and the down
//! branch differ is the metastable window; its ends are spinodals, where a branch stops being a
//! stable minimum (a saddle-node, or a minimum turning into a saddle), refined by bisection.
//!
//! Continuation is sequential by nature, so it runs on the host in f64 (the plan's step rule,
//! then Newton), not on the GPU.

use super::fixed_points::{settle, FixedPoint, Quantities};
use super::sweep::SweepPoint;
use crate::plan::Plan;
use crate::system::{Model, ModelVisitor};
use crate::Result;
use serde::Serialize;

/// Fewest sweep values on which the branches must differ to make a hysteresis window.
pub const MIN_WINDOW: usize = 3;

/// One step of a continuation.
#[derive(Clone, Debug)]
pub struct BranchPoint {
    pub value: f64,
    pub point: FixedPoint,
    /// False where the previous branch ended just before this value and the state fell to another.
    pub continued: bool,
}

/// What transitions.json says about hysteresis.
#[derive(Clone, Debug, Serialize)]
pub struct Hysteresis {
    /// [lower, upper] values between which the up and down branches differ; None: no hysteresis.
    pub window: Option<[f64; 2]>,
    /// Where the branch followed upward ends (the window's upper end), refined; None when it
    /// lasts to the end of the sweep.
    pub spinodal_up: Option<f64>,
    /// Where the branch followed downward ends (the window's lower end), refined.
    pub spinodal_down: Option<f64>,
    /// Bisection steps behind each spinodal.
    pub bisection_steps: u32,
}


/// Whether two states are one branch: within 20 % of their size (a branch moves by much less
/// between neighbouring values; a jump to another branch moves by the distance between them).
fn same_branch(a: &[f64], b: &[f64]) -> bool {
    let size = a.iter().chain(b).fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 0.2 * size + 1e-9)
}

/// The branch from `from` continued to `value`: the flow then Newton, and whether it is still
/// the same branch and not unstable (flat counts as stable: a network's minima are flat along
/// their symmetries).
fn continue_to(plan: &Plan, q: &Quantities, from: &FixedPoint, value: f64) -> Result<(Option<FixedPoint>, bool)> {
    let p = plan.params_at_x(value);
    let fp = settle(plan, &p, &from.state, true, q)?;
    let kept = fp.as_ref().is_some_and(|f| f.may_be_stable() && same_branch(&f.state, &from.state));
    Ok((fp, kept))
}

/// `x` pushed off by `size` (see [`crate::system::stability::push_off`]), its random part fixed
/// by `attempt`.
fn kick(plan: &Plan, value: f64, x: &[f64], size: f64, attempt: u32) -> Result<Vec<f64>> {
    struct Kick<'a>(&'a [f64], &'a [f64], f64, u32);
    impl ModelVisitor for Kick<'_> {
        type Output = Vec<f64>;
        fn visit<M: Model>(self, m: &M) -> Vec<f64> {
            let Kick(p, x, size, attempt) = self;
            let key = crate::rng::key(0x6b69636b);
            let noise: Vec<f64> = (0..x.len() as u32).map(|j| crate::rng::normal_f32(key, attempt, 0, j) as f64).collect();
            crate::system::stability::push_off(m, p, x, size, None, &noise)
        }
    }
    plan.system.visit(Kick(&plan.params_at_x(value), x, size, attempt))
}

/// Where the state goes after its branch ended at `value`: from a point that is not unstable,
/// nowhere; from an unstable one, the flow after a push off it, with pushes growing tenfold (a
/// small push near a weakly unstable point would take longer than the step budget to leave it,
/// and Newton would bring it back), and again from any saddle the flow stops at.
fn fall(plan: &Plan, q: &Quantities, value: f64, settled: Option<FixedPoint>) -> Result<Option<FixedPoint>> {
    let Some(mut f) = settled else { return Ok(None) };
    for attempt in 0..6u32 {
        if f.may_be_stable() {
            break;
        }
        let size = [1e-3, 1e-2, 1e-1][attempt as usize % 3];
        let pushed = kick(plan, value, &f.state, size, attempt)?;
        if let Some(g) = settle(plan, &plan.params_at_x(value), &pushed, true, q)? {
            f = g;
        }
    }
    Ok(Some(f))
}

/// Follows the branch that starts at `start` (a fixed point at `values[0]`) through `values`.
pub fn follow(plan: &Plan, q: &Quantities, values: &[f64], start: FixedPoint) -> Result<Vec<BranchPoint>> {
    let mut out = vec![BranchPoint { value: values[0], point: start, continued: true }];
    for &v in &values[1..] {
        let prev = &out.last().expect("started").point;
        let (fp, kept) = continue_to(plan, q, prev, v)?;
        let point = match fp {
            Some(f) if kept => f,
            // The branch ended: follow the flow from wherever it left the state, off the
            // unstable point it may sit on.
            other => match fall(plan, q, v, other)? {
                Some(f) => {
                    out.push(BranchPoint { value: v, point: f, continued: false });
                    continue;
                }
                None => break,
            },
        };
        out.push(BranchPoint { value: v, point, continued: true });
    }
    Ok(out)
}

/// The value in (a, b) where the branch at `from` (a fixed point at a) stops being continuable,
/// by `steps` bisection steps.
fn spinodal(plan: &Plan, q: &Quantities, from: &FixedPoint, a: f64, b: f64, steps: u32) -> Result<f64> {
    let (mut lo, mut hi) = (a, b);
    for _ in 0..steps {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        let (_, kept) = continue_to(plan, q, from, mid)?;
        if kept {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// Continues the global minimum of the first value upward and that of the last value downward,
/// finds where the two branches differ, and refines the window's ends.
pub fn analyse(plan: &Plan, q: &Quantities, points: &[SweepPoint], refine: u32) -> Result<(Vec<BranchPoint>, Vec<BranchPoint>, Hysteresis)> {
    let values: Vec<f64> = points.iter().map(|p| p.value).collect();
    let global = |p: &SweepPoint| p.fixed_points.iter().find(|f| f.point.may_be_stable()).map(|f| f.point.clone());
    let none = Hysteresis { window: None, spinodal_up: None, spinodal_down: None, bisection_steps: 0 };
    let (Some(first), Some(last)) = (points.first().and_then(global), points.last().and_then(global)) else {
        return Ok((Vec::new(), Vec::new(), none));
    };
    let up = follow(plan, q, &values, first)?;
    let rev: Vec<f64> = values.iter().rev().copied().collect();
    let mut down = follow(plan, q, &rev, last)?;
    down.reverse();
    if up.len() != values.len() || down.len() != values.len() {
        return Ok((up, down, none));
    }
    let scale = up.iter().chain(&down).fold(0.0f64, |m, b| m.max(b.point.order.abs())).max(1e-300);
    let differs: Vec<usize> = (0..values.len())
        .filter(|&i| (up[i].point.order.abs() - down[i].point.order.abs()).abs() > 1e-3 * scale || (up[i].point.loss - down[i].point.loss).abs() > 1e-9 * (1.0 + up[i].point.loss.abs()))
        .collect();
    // Fewer than three differing values is below the sweep's resolution: at a continuous
    // transition the branch that is about to move can lag its twin by one value.
    let (Some(&i0), Some(&i1)) = (differs.first(), differs.last()) else {
        return Ok((up, down, none));
    };
    if differs.len() < MIN_WINDOW {
        return Ok((up, down, none));
    }
    // The up branch ends between i1 and i1 + 1; the down branch between i0 - 1 and i0.
    let spinodal_up = if i1 + 1 < values.len() { Some(spinodal(plan, q, &up[i1].point, values[i1], values[i1 + 1], refine)?) } else { None };
    let spinodal_down = if i0 > 0 { Some(spinodal(plan, q, &down[i0].point, values[i0], values[i0 - 1], refine)?) } else { None };
    let window = [spinodal_down.unwrap_or(values[0]), spinodal_up.unwrap_or(values[values.len() - 1])];
    Ok((up, down, Hysteresis { window: Some(window), spinodal_up, spinodal_down, bisection_steps: refine }))
}

/// hysteresis.csv: the branch each way at every value.
pub fn csv(parameter: &str, q: &Quantities, up: &[BranchPoint], down: &[BranchPoint]) -> String {
    let o = &q.order_name;
    let mut s = format!("{parameter},{o}_up,loss_up,stability_up,{o}_down,loss_down,stability_down\n");
    for (u, d) in up.iter().zip(down) {
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            u.value,
            u.point.order,
            u.point.loss,
            u.point.stability.as_str(),
            d.point.order,
            d.point.loss,
            d.point.stability.as_str()
        ));
    }
    s
}
