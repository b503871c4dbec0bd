//! The attractors of a streamed map, gathered tile by tile.
//!
//! Each tile is classified on its own together with the last row of the tile before it (the
//! overlap). A fixed-point attractor of the tile whose overlap trajectories already carry ids
//! continues those ids' branch (several such ids are one branch: they are joined); one without
//! is a new branch. Trajectories that did not converge go to one entry per kind. At the end,
//! branches are numbered by basin size and capped as the in-memory classifier does
//! (`classify`), and the provisional ids written to disk are mapped to the final ones.

use crate::classify::{Attractor, Classification, Kind, ObservableSummary};
use crate::engine::Outcomes;
use crate::system::Stability;
use serde::{Deserialize, Serialize};

/// A provisional attractor: one branch, or a piece of one joined to another later.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub kind: Kind,
    pub stability: Option<Stability>,
    /// The entry that takes in the trajectories beyond a tile's `max_attractors`.
    pub pooled: bool,
    /// Union-find parent: the entry this one was joined to (itself when it is a root).
    pub parent: u32,
    /// Trajectories written with this id.
    pub count: u64,
    /// Slowest of them, in steps (the basin image shades by it).
    pub slowest: u32,
    /// A trajectory of the largest cluster seen (global index), its observables' mean, and the
    /// size of that cluster's attractor in its tile.
    pub representative: usize,
    #[serde(with = "crate::io::json_floats")]
    pub value: Vec<f64>,
    pub weight: u64,
    // Infinite for kinds without a fixed location (JSON needs them spelled out).
    #[serde(with = "crate::io::json_floats")]
    pub min: Vec<f64>,
    #[serde(with = "crate::io::json_floats")]
    pub max: Vec<f64>,
}

/// Every entry seen so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Registry {
    pub entries: Vec<Entry>,
}

/// The final attractors and how provisional ids map to them.
pub struct Numbering {
    pub attractors: Vec<Attractor>,
    /// Final id of each provisional id.
    pub final_id: Vec<u32>,
    /// Slowest trajectory of each final attractor, in steps.
    pub slowest: Vec<u32>,
    pub warnings: Vec<String>,
}

impl Registry {
    /// Checks a registry read back from disk: every parent an earlier entry or itself (so root
    /// finding ends), kinds with the observables' lengths they are written with.
    pub fn check(&self, n_obs: usize) -> Result<(), String> {
        for (id, e) in self.entries.iter().enumerate() {
            if e.parent as usize > id {
                return Err(format!("entry {id} is joined to a later entry {}", e.parent));
            }
            let value_len = if e.kind == Kind::Fixed { n_obs } else { 0 };
            if e.value.len() != value_len || e.min.len() != n_obs || e.max.len() != n_obs {
                return Err(format!("entry {id} has observables of the wrong length"));
            }
        }
        Ok(())
    }

    /// Provisional ids in use.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn root(&self, mut id: u32) -> u32 {
        while self.entries[id as usize].parent != id {
            id = self.entries[id as usize].parent;
        }
        id
    }

    fn join(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.root(a), self.root(b));
        let (keep, gone) = (ra.min(rb), ra.max(rb));
        self.entries[gone as usize].parent = keep;
        keep
    }

    fn add(&mut self, kind: Kind, stability: Option<Stability>, pooled: bool, n_obs: usize, representative: usize) -> u32 {
        let id = self.entries.len() as u32;
        self.entries.push(Entry {
            kind,
            stability,
            pooled,
            parent: id,
            count: 0,
            slowest: 0,
            representative,
            value: vec![0.0; if kind == Kind::Fixed { n_obs } else { 0 }],
            weight: 0,
            min: vec![f64::INFINITY; n_obs],
            max: vec![f64::NEG_INFINITY; n_obs],
        });
        id
    }

    /// Takes in one window: `outcomes` of the trajectories `start..`, whose first `overlap`
    /// ones (the last row of the tile before) already carry the ids `overlap_ids`, and `local`,
    /// their classification on their own. Returns the provisional id of each trajectory after
    /// the overlap, and records their counts, ranges and steps.
    pub fn absorb(&mut self, outcomes: &Outcomes, start: usize, overlap: usize, overlap_ids: &[u32], local: &Classification) -> Vec<u32> {
        debug_assert_eq!(overlap_ids.len(), overlap);
        let n_obs = outcomes.n_obs;
        let mut to_global = vec![0u32; local.attractors.len()];
        for a in &local.attractors {
            let id = if a.kind != Kind::Fixed || a.pooled {
                // One entry per kind (and one pool): they are never joined.
                match self.entries.iter().position(|e| e.kind == a.kind && e.pooled == a.pooled) {
                    Some(id) => id as u32,
                    None => self.add(a.kind, None, a.pooled, n_obs, start + a.representative),
                }
            } else {
                // The branches this attractor continues: the ids its overlap trajectories carry.
                let mut continued: Vec<u32> = (0..overlap)
                    .filter(|&i| local.labels[i] == a.id)
                    .map(|i| self.root(overlap_ids[i]))
                    .filter(|&r| self.entries[r as usize].kind == Kind::Fixed && !self.entries[r as usize].pooled)
                    .collect();
                continued.sort_unstable();
                continued.dedup();
                match continued.split_first() {
                    None => self.add(Kind::Fixed, a.stability, false, n_obs, start + a.representative),
                    Some((&first, rest)) => rest.iter().fold(first, |keep, &other| self.join(keep, other)),
                }
            };
            to_global[a.id as usize] = id;
            // The representative and value of the largest attractor seen on this branch.
            if a.kind == Kind::Fixed && !a.pooled && a.count > self.entries[id as usize].weight {
                let e = &mut self.entries[id as usize];
                e.weight = a.count;
                e.representative = start + a.representative;
                e.value = a.observables.iter().map(|o| o.value).collect();
            }
        }
        let ids: Vec<u32> = local.labels[overlap..].iter().map(|&l| to_global[l as usize]).collect();
        for (k, &id) in ids.iter().enumerate() {
            let i = overlap + k;
            let e = &mut self.entries[id as usize];
            e.count += 1;
            e.slowest = e.slowest.max(outcomes.steps[i]);
            if e.kind == Kind::Fixed {
                for (j, &v) in outcomes.obs(i).iter().enumerate() {
                    e.min[j] = e.min[j].min(v as f64);
                    e.max[j] = e.max[j].max(v as f64);
                }
            }
        }
        ids
    }

    /// Numbers the branches as the in-memory classifier does: fixed points by basin size (the
    /// smallest beyond `max_attractors` pooled), then the other kinds in their fixed order.
    pub fn number(&self, total: u64, max_attractors: usize) -> Numbering {
        let n = self.entries.len();
        let roots: Vec<u32> = (0..n as u32).map(|i| self.root(i)).collect();
        // Sum every entry into its root.
        let mut merged: Vec<Entry> = self.entries.clone();
        for (i, &r) in roots.iter().enumerate() {
            if r as usize != i {
                let e = self.entries[i].clone();
                let m = &mut merged[r as usize];
                m.count += e.count;
                m.slowest = m.slowest.max(e.slowest);
                if e.weight > m.weight {
                    m.weight = e.weight;
                    m.representative = e.representative;
                    m.value = e.value.clone();
                }
                for j in 0..m.min.len() {
                    m.min[j] = m.min[j].min(e.min[j]);
                    m.max[j] = m.max[j].max(e.max[j]);
                }
            }
        }
        let is_root = |i: usize| roots[i] as usize == i && merged[i].count > 0;
        let mut branches: Vec<usize> = (0..n).filter(|&i| is_root(i) && merged[i].kind == Kind::Fixed && !merged[i].pooled).collect();
        branches.sort_by(|&a, &b| {
            merged[b].count.cmp(&merged[a].count).then_with(|| {
                let first = |i: usize| merged[i].value.first().copied().unwrap_or(0.0);
                first(a).total_cmp(&first(b))
            })
        });
        let tile_pool = (0..n).find(|&i| is_root(i) && merged[i].pooled);
        let cap = max_attractors.max(2);
        let pooled = branches.len() > cap || tile_pool.is_some();
        let kept = if pooled { branches.len().min(cap - 1) } else { branches.len() };
        let mut warnings = Vec::new();
        if pooled {
            warnings.push(format!(
                "{} distinct fixed-point branches found (a continuum of fixed points?); the smallest are pooled into attractor {kept} (raise classify.max_attractors to keep more)",
                branches.len() + tile_pool.is_some() as usize,
            ));
        }
        let mut final_id = vec![0u32; n];
        let mut attractors: Vec<Attractor> = Vec::new();
        let mut slowest = Vec::new();
        let summary = |e: &Entry| -> Vec<ObservableSummary> {
            e.value.iter().zip(e.min.iter().zip(&e.max)).map(|(&value, (&min, &max))| ObservableSummary { value, min, max }).collect()
        };
        for (rank, &b) in branches.iter().take(kept).enumerate() {
            final_id[b] = rank as u32;
            let e = &merged[b];
            attractors.push(Attractor {
                id: rank as u32,
                kind: Kind::Fixed,
                stability: e.stability,
                pooled: false,
                count: e.count,
                fraction: e.count as f64 / total as f64,
                representative: e.representative,
                observables: summary(e),
                phase: None,
            });
            slowest.push(e.slowest);
        }
        if pooled {
            let id = kept as u32;
            let members: Vec<usize> = branches[kept..].iter().copied().chain(tile_pool).collect();
            let mut pool = Attractor { id, kind: Kind::Fixed, stability: None, pooled: true, count: 0, fraction: 0.0, representative: usize::MAX, observables: Vec::new(), phase: None };
            let n_obs = merged[members[0]].min.len();
            pool.observables = (0..n_obs).map(|_| ObservableSummary { value: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }).collect();
            let mut slow = 0;
            let mut weight = 0;
            for &m in &members {
                let e = &merged[m];
                final_id[m] = id;
                pool.count += e.count;
                slow = slow.max(e.slowest);
                pool.representative = pool.representative.min(e.representative);
                if e.weight >= weight && !e.value.is_empty() {
                    weight = e.weight;
                    pool.observables.iter_mut().zip(&e.value).for_each(|(o, &v)| o.value = v);
                }
                for (j, o) in pool.observables.iter_mut().enumerate() {
                    o.min = o.min.min(e.min[j]);
                    o.max = o.max.max(e.max[j]);
                }
            }
            pool.fraction = pool.count as f64 / total as f64;
            attractors.push(pool);
            slowest.push(slow);
        }
        let mut specials: Vec<usize> = (0..n).filter(|&i| is_root(i) && merged[i].kind != Kind::Fixed).collect();
        specials.sort_by_key(|&i| merged[i].kind);
        for s in specials {
            let e = &merged[s];
            let id = attractors.len() as u32;
            final_id[s] = id;
            attractors.push(Attractor {
                id,
                kind: e.kind,
                stability: None,
                pooled: false,
                count: e.count,
                fraction: e.count as f64 / total as f64,
                representative: e.representative,
                observables: Vec::new(),
                phase: None,
            });
            slowest.push(e.slowest);
        }
        for i in 0..n {
            final_id[i] = final_id[roots[i] as usize];
        }
        Numbering { attractors, final_id, slowest, warnings }
    }
}
