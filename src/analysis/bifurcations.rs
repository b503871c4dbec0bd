//! Where the kinds of attractor the starts reach change along a sweep: a cycle born where a
//! minimum stops being a stable fixed point of the steps (gd past its edge of stability: a
//! period doubling), a cycle doubling, chaos setting in, and each of these ending.
//!
//! At every value the starts reach a set of attractor kinds, its **signature**: `fixed` (a
//! fixed point that is not known to be unstable, and not sharper than the step rule's edge of
//! stability), `p-cycle` for each period reached, `chaotic`.
//! Neighbouring values with different signatures bracket a change; it is refined by bisection,
//! each step a fresh run of all the sweep's starts at the midpoint (tested for cycles and chaos
//! as `basinmap run` tests them), keeping the half whose ends differ. Near a change the steps
//! settle ever more slowly (critical slowing down: a period doubling's multiplier passes −1), so
//! a midpoint whose starts settle on neither side's kinds ends the bisection there, with the
//! bracket it has: the change lies inside it, never outside.

use super::fixed_points::Quantities;
use super::sweep::{point_at, SweepPoint};
use crate::engine::Engine;
use crate::plan::Plan;
use crate::Result;
use serde::Serialize;

/// Most changes refined by bisection; the others are reported with their grid brackets (a
/// sweep through chaos with periodic windows has many).
pub const MAX_REFINED: usize = 16;

/// One change of the attractor kinds reached.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KindChange {
    /// "fixed → 2-cycle", "2-cycle → 4-cycle", "2-cycle + chaotic → chaotic".
    pub change: String,
    /// The kinds reached on the left of the bracket and on its right.
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// The middle of `bracket`.
    pub critical: f64,
    /// Neighbouring sweep values around the change.
    pub grid_bracket: [f64; 2],
    /// The bracket after bisection.
    pub bracket: [f64; 2],
    pub bisection_steps: u32,
}

/// The kinds of attractor the starts reached at a value (sorted: fixed, cycles by period,
/// chaotic).
pub fn signature(p: &SweepPoint) -> Vec<String> {
    let mut kinds: Vec<(u32, String)> = Vec::new();
    // A minimum sharper than the step rule's edge of stability is no attractor of the steps (a
    // start exactly on it stays there).
    if p.fixed_points.iter().any(|f| f.share > 0.0 && f.point.may_be_stable() && !(f.point.sharpness > p.threshold)) {
        kinds.push((1, "fixed".into()));
    }
    for o in &p.orbits {
        let order = if o.period == 0 { u32::MAX } else { o.period };
        kinds.push((order, o.name()));
    }
    kinds.sort();
    kinds.dedup();
    kinds.into_iter().map(|k| k.1).collect()
}

/// The changes of signature along `points` (a sweep's values in order), each refined by
/// `refine` bisection steps on `engine` (the first [`MAX_REFINED`]).
pub fn analyse(plan: &Plan, engine: &dyn Engine, q: &Quantities, points: &[SweepPoint], refine: u32) -> Result<Vec<KindChange>> {
    // A value where no start settled (near a change, where the steps slow down) says nothing
    // about the kinds: its neighbours that did settle bracket the change.
    let settled: Vec<(f64, Vec<String>)> = points.iter().map(|p| (p.value, signature(p))).filter(|s| !s.1.is_empty()).collect();
    let mut changes = Vec::new();
    for pair in settled.windows(2) {
        let ((left, before), (right, after)) = (&pair[0], &pair[1]);
        if before == after {
            continue;
        }
        let grid = [*left, *right];
        let mut bracket = grid;
        let mut steps = 0;
        if changes.len() < MAX_REFINED {
            for _ in 0..refine {
                let mid = if plan.x.log && bracket[0] > 0.0 && bracket[1] > 0.0 { (bracket[0] * bracket[1]).sqrt() } else { 0.5 * (bracket[0] + bracket[1]) };
                if mid == bracket[0] || mid == bracket[1] {
                    break;
                }
                let at = signature(&point_at(plan, engine, q, mid)?);
                if &at == before {
                    bracket[0] = mid;
                } else if &at == after {
                    bracket[1] = mid;
                } else {
                    break;
                }
                steps += 1;
            }
        }
        changes.push(KindChange {
            change: format!("{} → {}", describe(before), describe(after)),
            before: before.clone(),
            after: after.clone(),
            critical: 0.5 * (bracket[0] + bracket[1]),
            grid_bracket: grid,
            bracket,
            bisection_steps: steps,
        });
    }
    Ok(changes)
}

fn describe(kinds: &[String]) -> String {
    kinds.join(" + ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sweep::SweepOrbit;
    use crate::classify::Kind;

    fn point(orbits: &[(Kind, u32)]) -> SweepPoint {
        let orbits = orbits.iter().map(|&(kind, period)| SweepOrbit { kind, period, attractor: -1, share: 0.5, order: 0.0, orbit: vec![], mean_loss: f64::NAN }).collect();
        SweepPoint { value: 0.0, fixed_points: vec![], orbits, loss: f64::NAN, order: f64::NAN, d1: 0.0, d2: 0.0, threshold: f64::NAN, ends: vec![] }
    }

    #[test]
    fn signatures_list_kinds_by_period_with_chaos_last() {
        assert_eq!(signature(&point(&[(Kind::Chaotic, 0), (Kind::Cycle, 4), (Kind::Cycle, 2), (Kind::Cycle, 4)])), ["2-cycle", "4-cycle", "chaotic"]);
        assert!(signature(&point(&[])).is_empty());
    }
}
