//! Naming a network's phases: each fixed-point branch is trivial or learning by the end-to-end
//! map of most of its trajectories, and the branches of one phase that never meet at one
//! parameter point are joined (pieces of one branch the matcher could not join: the trivial
//! point w = 0 is the same everywhere). Named phases move to the front: trivial first, then
//! learning, largest first.
//!
//! The evidence is gathered trajectory by trajectory ([`PhaseEvidence::add`]), so a map held in
//! memory and a streamed one, read band by band, are named alike.

use super::{renumber, Attractor, Kind, Layout, Phase};
use crate::system::network::phase_of;

/// What naming needs of the labelled map: per attractor, how many of its trajectories ended in
/// the learning phase, and which attractors it meets at some parameter point. Fed in index
/// order, it holds one bit set per open parameter point (at most a row of them: a point is
/// closed at its last trajectory) and one per attractor.
pub struct PhaseEvidence {
    layout: Layout,
    learning: Vec<u64>,
    /// Per open parameter point (by its column among the points), the attractors seen there.
    open: Vec<Vec<u64>>,
    /// Per attractor, the attractors it shares a parameter point with.
    meets: Vec<Vec<u64>>,
}

fn bits(n: usize) -> Vec<u64> {
    vec![0; n.div_ceil(64)]
}

fn has(set: &[u64], k: usize) -> bool {
    set[k / 64] >> (k % 64) & 1 == 1
}

impl PhaseEvidence {
    pub fn new(layout: Layout, n_attractors: usize) -> Self {
        PhaseEvidence {
            layout,
            learning: vec![0; n_attractors],
            open: vec![bits(n_attractors); layout.shape().0],
            meets: vec![bits(n_attractors); n_attractors],
        }
    }

    /// Trajectory `i`, labelled `label`, whose end-to-end norm is `e2e`; trajectories come in
    /// index order.
    pub fn add(&mut self, i: usize, label: u32, e2e: f64) {
        let l = label as usize;
        if phase_of(e2e) == Phase::Learning {
            self.learning[l] += 1;
        }
        let g = self.layout.group_of(i);
        // Points open at once lie in one row of points: their columns tell them apart.
        let open = &mut self.open[g % self.layout.shape().0];
        open[l / 64] |= 1 << (l % 64);
        if i == self.layout.last_member(g) {
            for a in (0..self.meets.len()).filter(|&a| has(open, a)) {
                self.meets[a].iter_mut().zip(open.iter()).for_each(|(m, o)| *m |= o);
            }
            open.iter_mut().for_each(|w| *w = 0);
        }
    }
}

/// Names the phases of `attractors` from `evidence` and renumbers them (see the module header).
/// Returns the new id of every old one.
pub fn name_phases(evidence: &PhaseEvidence, attractors: &mut Vec<Attractor>) -> Vec<u32> {
    // A branch that reaches the origin continuously (a second-order transition) holds both
    // phases: it is named by the phase of most of its trajectories.
    for a in attractors.iter_mut().filter(|a| a.kind == Kind::Fixed && !a.pooled) {
        a.phase = Some(if 2 * evidence.learning[a.id as usize] > a.count { Phase::Learning } else { Phase::Trivial });
    }
    let mut merges = Vec::new();
    for phase in [Phase::Trivial, Phase::Learning] {
        // Largest first, so pieces join the main branch.
        let mut ids: Vec<u32> = attractors.iter().filter(|a| a.phase == Some(phase)).map(|a| a.id).collect();
        ids.sort_by_key(|&id| std::cmp::Reverse(attractors[id as usize].count));
        // Each kept branch with the pieces joined to it; a piece joins the first that none of
        // whose members it meets.
        let mut kept: Vec<Vec<u32>> = Vec::new();
        for id in ids {
            let meets = &evidence.meets[id as usize];
            match kept.iter_mut().find(|members| members.iter().all(|&m| !has(meets, m as usize))) {
                Some(members) => {
                    merges.push((members[0], id));
                    members.push(id);
                }
                None => kept.push(vec![id]),
            }
        }
    }
    let ids = |p: Phase| attractors.iter().filter(move |a| a.phase == Some(p)).map(|a| a.id);
    let first: Vec<u32> = ids(Phase::Trivial).chain(ids(Phase::Learning)).collect();
    renumber(attractors, &merges, &first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(id: u32, count: u64) -> Attractor {
        Attractor { id, kind: Kind::Fixed, stability: None, period: 1, cycle_time: 0.0, forcing_period: 0.0, pooled: false, count, fraction: 0.0, fraction_se: None, representative: id as usize, observables: vec![], phase: None }
    }

    #[test]
    fn pieces_of_a_phase_that_never_meet_are_joined() {
        // Four parameter points (x a parameter) of two samples each; e2e 0 is trivial, 1 learning.
        let layout = Layout { nx: 4, ny: 1, samples: 2, x_param: true, y_param: false };
        // Trivial pieces 0 (points 0, 1) and 2 (point 3) never meet: joined. Learning pieces 1
        // (points 0, 1, 2) and 3 (point 2, beside 1): they meet, so both stay.
        let labels = [(0, 0.0), (1, 1.0), (0, 0.0), (1, 1.0), (1, 1.0), (3, 1.0), (2, 0.0), (2, 0.0)];
        let mut evidence = PhaseEvidence::new(layout, 4);
        for (i, &(l, e2e)) in labels.iter().enumerate() {
            evidence.add(i, l, e2e);
        }
        let mut attractors = vec![fixed(0, 2), fixed(1, 3), fixed(2, 2), fixed(3, 1)];
        let new_id = name_phases(&evidence, &mut attractors);
        assert_eq!(new_id, [0, 1, 0, 2]);
        assert_eq!(attractors.iter().map(|a| (a.count, a.phase)).collect::<Vec<_>>(), [(4, Some(Phase::Trivial)), (3, Some(Phase::Learning)), (1, Some(Phase::Learning))]);
    }
}
