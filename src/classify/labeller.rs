//! The labeller: trajectories in index order → fixed-point branches with ids. It reads a map in
//! chunks of any size (the whole map held in memory, or the tiles of a streamed one) and gives
//! the same labels, counts and representatives to the bit however the map is cut, because every
//! decision depends only on the trajectories before it in index order and on whole parameter
//! points:
//!
//! 1. A converged end state joins the first of its parameter point's clusters (the most recent
//!    [`LOOK_BACK`] ones) whose first member lies within `cluster_tol · (1 + |x|)` (max-norm), or
//!    whose last member it reaches along a path of small gradient; else it starts a cluster. A
//!    cycle's end state (its first point, see [`super::cycles`]) is clustered alike, with the
//!    cycles of its period only and by distance only; a chaotic one's (the middles of its ranges, see
//!    [`super::chaos`]) with the chaotic ones only, by distance within `CHAOS_TOL · (1 + |x|)`.
//! 2. A parameter point is closed when its last trajectory has been read (parameter points
//!    close in increasing order: their last trajectories are in increasing order). Its clusters'
//!    centres and stabilities are computed, and each is joined to the cluster of the left and of
//!    the lower neighbouring point that is its only candidate (same stability, its fixed point
//!    continued by Newton's method to the other's parameters within `match_fraction` of
//!    1 + the largest |feature| seen so far) when that one has it as its only candidate too. Where a branch splits or merges (a bifurcation) the branches on either side
//!    keep ids of their own.
//! 3. A cluster joined to nothing starts a branch, with a provisional id; joins merge provisional
//!    ids (union-find). At the end ([`Labeller::finish`]) branches are numbered by basin size;
//!    beyond `max_attractors` the smallest are pooled into one attractor.
//!
//! Trajectories whose parameter point is still open when a chunk ends get a code naming their
//! cluster (see [`Code`]); the numbering resolves both kinds of code to final ids.

use super::{Attractor, Kind, ObservableSummary};
use crate::engine::{Outcomes, Status};
use crate::scenario::ClassifyOptions;
use crate::system::Stability;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Most clusters of one parameter point a new end state is compared with.
pub const LOOK_BACK: usize = 64;

/// A label code at the end of a chunk: a provisional id, or with this bit set the index of the
/// trajectory's cluster in its parameter point, which was still open.
pub const OPEN: u32 = 1 << 31;

/// A label code (see [`OPEN`]).
pub type Code = u32;

/// How trajectories map to parameter points: a grid of `nx × ny` points with `samples`
/// trajectories each (row-major, samples innermost); an axis that is a starting value does not
/// change the parameter point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub nx: usize,
    pub ny: usize,
    pub samples: usize,
    pub x_param: bool,
    pub y_param: bool,
}

impl Layout {
    /// Parameter points along x and y.
    pub fn shape(&self) -> (usize, usize) {
        (if self.x_param { self.nx } else { 1 }, if self.y_param { self.ny } else { 1 })
    }

    pub fn n_groups(&self) -> usize {
        let (gx, gy) = self.shape();
        gx * gy
    }

    pub fn n_trajectories(&self) -> usize {
        self.nx * self.ny * self.samples
    }

    /// The parameter point of trajectory `i`.
    pub fn group_of(&self, i: usize) -> usize {
        let p = i / self.samples;
        let (ix, iy) = (p % self.nx, p / self.nx);
        let (gx, _) = self.shape();
        (if self.y_param { iy } else { 0 }) * gx + if self.x_param { ix } else { 0 }
    }

    /// The last trajectory of parameter point `g` (increasing in `g`).
    pub fn last_member(&self, g: usize) -> usize {
        let (gx, _) = self.shape();
        let ix = if self.x_param { g % gx } else { self.nx - 1 };
        let iy = if self.y_param { g / gx } else { self.ny - 1 };
        (iy * self.nx + ix) * self.samples + self.samples - 1
    }
}

/// The tests the labeller asks of the system, for the parameters of trajectory `i`.
pub struct FixedPointTests<'a> {
    /// The stability of the fixed point at `centre`.
    pub stability: &'a (dyn Fn(usize, &[f64]) -> Stability + Sync),
    /// The stability of the cycle of the given period through `centre`.
    pub cycle_stability: &'a (dyn Fn(usize, &[f64], u32) -> Stability + Sync),
    /// Whether end states `a` and `b` are joined by a path of small gradient.
    pub connected: &'a (dyn Fn(usize, &[f64], &[f64]) -> bool + Sync),
    /// The fixed point at (or near) `x` under the parameters of trajectory `from`, continued to
    /// those of trajectory `to` (see [`crate::system::stability::continue_fixed_point`]); `None`
    /// where it cannot tell.
    pub continued: &'a (dyn Fn(usize, usize, &[f64]) -> Option<Vec<f64>> + Sync),
}

/// A cluster of a parameter point still being read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct OpenCluster {
    /// Its first member's features, its last member's, and their sum (`nf` each), then the
    /// observables' sum, minimum and maximum (`n_obs` each): one allocation per cluster.
    #[serde(with = "crate::io::json_floats")]
    data: Vec<f64>,
    count: u64,
    first_member: usize,
    slowest: u32,
    /// Largest max-norm distance of a member from the first one.
    spread: f64,
    /// 1: a cluster of fixed points; p: of p-cycles (a flow's: of cycles of p loops); 0: of
    /// chaotic trajectories.
    #[serde(default = "one")]
    period: u32,
    /// A cluster of cycles (a flow's cycle of one loop has period 1 too).
    #[serde(default)]
    cycle: bool,
    /// The sum of its members' periods in time (flows' limit cycles).
    #[serde(default)]
    time_sum: f64,
    /// A cluster of cycles under an optimizer with memory: its first member's memory at its
    /// point (what the cycle's multipliers are computed with); empty otherwise.
    #[serde(default, with = "crate::io::json_floats")]
    memory: Vec<f64>,
}

fn one() -> u32 {
    1
}

impl OpenCluster {
    fn new(f: &[f64], n_obs: usize, first_member: usize, period: u32, cycle: bool) -> OpenCluster {
        let mut data = Vec::with_capacity(3 * f.len() + 3 * n_obs);
        data.extend_from_slice(f);
        data.extend_from_slice(f);
        data.extend(std::iter::repeat_n(0.0, f.len() + n_obs));
        data.extend(std::iter::repeat_n(f64::INFINITY, n_obs));
        data.extend(std::iter::repeat_n(f64::NEG_INFINITY, n_obs));
        OpenCluster { data, count: 0, first_member, slowest: 0, spread: 0.0, period, cycle, time_sum: 0.0, memory: Vec::new() }
    }

    fn leader(&self, nf: usize) -> &[f64] {
        &self.data[..nf]
    }

    fn last(&self, nf: usize) -> &[f64] {
        &self.data[nf..2 * nf]
    }

    fn mean(&self, nf: usize) -> Vec<f64> {
        self.data[2 * nf..3 * nf].iter().map(|s| s / self.count as f64).collect()
    }

    /// The observables' sums, minima and maxima.
    fn observables(&self, nf: usize) -> (&[f64], &[f64], &[f64]) {
        let no = (self.data.len() - 3 * nf) / 3;
        let o = &self.data[3 * nf..];
        (&o[..no], &o[no..2 * no], &o[2 * no..])
    }

    fn add(&mut self, f: &[f64], obs: &[f32], steps: u32, time: f32) {
        let nf = f.len();
        self.time_sum += time as f64;
        self.spread = self.spread.max(super::max_dist(f, self.leader(nf)));
        self.count += 1;
        self.slowest = self.slowest.max(steps);
        let (_, rest) = self.data.split_at_mut(nf);
        let (last, rest) = rest.split_at_mut(nf);
        let (sum, o) = rest.split_at_mut(nf);
        last.copy_from_slice(f);
        sum.iter_mut().zip(f).for_each(|(s, v)| *s += v);
        let no = obs.len();
        for (j, &v) in obs.iter().enumerate() {
            let v = v as f64;
            o[j] += v;
            o[no + j] = o[no + j].min(v);
            o[2 * no + j] = o[2 * no + j].max(v);
        }
    }
}

/// A parameter point still being read.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct OpenGroup {
    clusters: Vec<OpenCluster>,
    /// Some of its trajectories were given open codes (a chunk ended before it closed): its
    /// clusters' provisional ids are kept for [`Numbering::resolve`].
    spans: bool,
}

/// A cluster of a closed parameter point, kept while a later neighbour may join it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct ClosedCluster {
    /// The mean of its end states.
    #[serde(with = "crate::io::json_floats")]
    centre: Vec<f64>,
    stability: Stability,
    id: u32,
    #[serde(default = "one")]
    period: u32,
    #[serde(default)]
    cycle: bool,
}

/// A cluster's fixed point is compared as it is with a neighbouring parameter point's when one
/// of those lies within this many `cluster_tol · (1 + |x|)` of it; else it is first continued to
/// the neighbour's parameters.
const NEAR: f64 = 10.0;

/// A provisional id: a branch, or a piece of one joined to another later.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub kind: Kind,
    pub stability: Option<Stability>,
    /// Union-find parent (itself for a root; always an earlier entry otherwise).
    pub parent: u32,
    pub count: u64,
    /// Slowest trajectory, in steps (the basin image shades by it).
    pub slowest: u32,
    /// The largest cluster: its size, its order among all clusters (ties go to the earlier),
    /// its first member and its observables' mean. For other kinds: the first trajectory.
    pub weight: u64,
    pub serial: u64,
    pub representative: usize,
    #[serde(with = "crate::io::json_floats")]
    pub value: Vec<f64>,
    #[serde(with = "crate::io::json_floats")]
    pub min: Vec<f64>,
    #[serde(with = "crate::io::json_floats")]
    pub max: Vec<f64>,
    /// Largest spread of a cluster (a continuum of fixed points spreads).
    pub spread: f64,
    /// The first feature of the branch's first cluster (ties of basin size are ordered by it, to
    /// the clustering tolerance).
    pub first_feature: f64,
    /// 1 for fixed points, p for p-cycles (a flow's: loops), 0 for the other kinds.
    #[serde(default)]
    pub period: u32,
    /// A flow's limit cycle: the mean period in time of its largest cluster (0 otherwise).
    #[serde(default)]
    pub cycle_time: f64,
}

/// Labels trajectories chunk by chunk; its state is saved between the tiles of a streamed run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Labeller {
    layout: Layout,
    features: Vec<usize>,
    n_state: usize,
    n_obs: usize,
    options: ClassifyOptions,
    /// The next trajectory to read and the next parameter point to close.
    next: usize,
    next_close: usize,
    open: BTreeMap<usize, OpenGroup>,
    /// The closed parameter points a later one may still be joined to (the last `gx`).
    window: VecDeque<(usize, Vec<ClosedCluster>)>,
    entries: Vec<Entry>,
    /// The provisional id of each other kind (one entry each).
    specials: Vec<(Kind, u32)>,
    /// Provisional ids of the clusters of parameter points that spanned chunks.
    spanning: BTreeMap<usize, Vec<u32>>,
    /// Clusters closed so far, and the largest |feature| of their centres.
    serials: u64,
    scale: f64,
}

impl Labeller {
    pub fn new(layout: Layout, features: Vec<usize>, n_state: usize, n_obs: usize, options: ClassifyOptions) -> Labeller {
        Labeller {
            layout,
            features,
            n_state,
            n_obs,
            options,
            next: 0,
            next_close: 0,
            open: BTreeMap::new(),
            window: VecDeque::new(),
            entries: Vec::new(),
            specials: Vec::new(),
            spanning: BTreeMap::new(),
            serials: 0,
            scale: 0.0,
        }
    }

    /// Trajectories read so far.
    pub fn done(&self) -> usize {
        self.next
    }

    /// The kind of a trajectory that did not converge.
    fn special(&self, status: u32) -> Kind {
        match Status::from_code(status) {
            Status::DivergedPos if self.n_state == 1 => Kind::PosInf,
            Status::DivergedNeg if self.n_state == 1 => Kind::NegInf,
            Status::DivergedPos | Status::DivergedNeg => Kind::Inf,
            Status::Nonfinite => Kind::Nonfinite,
            Status::Escaped => Kind::Escaped,
            Status::Stalled => Kind::Stalled,
            _ => Kind::Undecided,
        }
    }

    fn add_entry(&mut self, kind: Kind, stability: Option<Stability>, representative: usize, period: u32) -> u32 {
        let id = self.entries.len() as u32;
        let n = if kind.is_located() { self.n_obs } else { 0 };
        self.entries.push(Entry {
            kind,
            stability,
            parent: id,
            count: 0,
            slowest: 0,
            weight: 0,
            serial: u64::MAX,
            representative,
            value: vec![0.0; n],
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
            spread: 0.0,
            first_feature: 0.0,
            period,
            cycle_time: 0.0,
        });
        id
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

    /// Reads the trajectories `self.done()..` whose outcomes are `outcomes`, and returns a code
    /// for each: its provisional id, or [`OPEN`] with its cluster where its parameter point is
    /// still open at the end of the chunk.
    pub fn feed(&mut self, outcomes: &Outcomes, tests: &FixedPointTests) -> Vec<Code> {
        let start = self.next;
        let n = outcomes.len();
        let mut codes = vec![0u32; n];
        let nf = self.features.len();
        let mut f = vec![0.0; nf];
        // The optimizer memory returned with each end state (none: 0).
        let n_mem = outcomes.memory.len() / n.max(1);
        // The open parameter points, found by a hash while reading: a lookup per trajectory,
        // which in the ordered map was half of labelling a large map. Kept ordered between
        // chunks (saved states, closing in order).
        let mut open: FxHashMap<usize, OpenGroup> = std::mem::take(&mut self.open).into_iter().collect();
        for k in 0..n {
            let i = start + k;
            let status = outcomes.status[k];
            let located = [Status::Converged, Status::Cycle, Status::Chaotic].iter().any(|&s| s as u32 == status);
            if !located {
                let kind = self.special(status);
                let id = match self.specials.iter().find(|s| s.0 == kind) {
                    Some(s) => s.1,
                    None => {
                        let id = self.add_entry(kind, None, i, 0);
                        self.specials.push((kind, id));
                        id
                    }
                };
                let e = &mut self.entries[id as usize];
                e.count += 1;
                e.slowest = e.slowest.max(outcomes.steps[k]);
                codes[k] = id;
                continue;
            }
            let obs = outcomes.obs(k);
            f.iter_mut().zip(&self.features).for_each(|(v, &j)| *v = obs[j] as f64);
            // Period 1: a fixed point; p: a p-cycle (a flow's: of p loops); 0: chaotic, located
            // by the middles of its ranges, which agree only to how closely a window reaches
            // the extremes.
            let cycle = status == Status::Cycle as u32;
            let period = match Status::from_code(status) {
                Status::Cycle => outcomes.period_of(k).max(1),
                Status::Chaotic => 0,
                _ => 1,
            };
            let chaotic = period == 0 && !cycle;
            let group = open.entry(self.layout.group_of(i)).or_default();
            let hit = (0..group.clusters.len()).rev().take(LOOK_BACK).find(|&c| {
                let cl = &group.clusters[c];
                // A fixed point's or cycle's components each within cluster_tol of their own
                // size; a chaotic attractor's middles within CHAOS_TOL of the largest of them:
                // a middle near 0 (Lorenz's x and y) moves with the window as much as the others.
                let size = 1.0 + cl.leader(nf).iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let tol = |v: f64| if chaotic { super::chaos::CHAOS_TOL * size } else { self.options.cluster_tol * (1.0 + v.abs()) };
                // A path of small gradient joins fixed points only.
                cl.period == period
                    && cl.cycle == cycle
                    && (f.iter().zip(cl.leader(nf)).all(|(a, b)| (a - b).abs() <= tol(*b)) || (period == 1 && !cycle && (tests.connected)(i, cl.last(nf), &f)))
            });
            let c = hit.unwrap_or_else(|| {
                let mut cluster = OpenCluster::new(&f, obs.len(), i, period, cycle);
                if cycle {
                    cluster.memory = outcomes.memory_of(k, n_mem).map_or(Vec::new(), |m| m.iter().map(|&v| v as f64).collect());
                }
                group.clusters.push(cluster);
                group.clusters.len() - 1
            });
            group.clusters[c].add(&f, obs, outcomes.steps[k], outcomes.cycle_time.get(k).copied().unwrap_or(0.0));
            codes[k] = OPEN | c as u32;
        }
        self.open = open.into_iter().collect();
        self.next = start + n;

        // Close the parameter points read to their end, in order.
        let first_closed = self.next_close;
        let mut closing = Vec::new();
        while self.next_close < self.layout.n_groups() && self.layout.last_member(self.next_close) < self.next {
            closing.push((self.next_close, self.open.remove(&self.next_close).unwrap_or_default()));
            self.next_close += 1;
        }
        let ids = self.close(closing, tests);
        for open in self.open.values_mut() {
            open.spans = true;
        }
        // Codes of the points closed in this chunk become provisional ids.
        for (k, code) in codes.iter_mut().enumerate() {
            if *code & OPEN != 0 {
                let g = self.layout.group_of(start + k);
                if g < self.next_close {
                    *code = ids[g - first_closed][(*code & !OPEN) as usize];
                }
            }
        }
        codes
    }

    /// Closes parameter points (in increasing order): centres and stabilities of their clusters,
    /// joins to their left and lower neighbours, provisional ids. Returns each point's ids.
    fn close(&mut self, closing: Vec<(usize, OpenGroup)>, tests: &FixedPointTests) -> Vec<Vec<u32>> {
        use rayon::prelude::*;
        let layout = self.layout;
        let nf = self.features.len();
        let (gx, _) = layout.shape();
        // A trajectory of parameter point `h`, for its parameters.
        let at = |h: usize| layout.last_member(h);
        let finished: Vec<Vec<ClosedCluster>> = closing
            .par_iter()
            .map(|(_, group)| {
                group
                    .clusters
                    .iter()
                    .map(|c| {
                        let mean = c.mean(nf);
                        let stability = match (c.cycle, c.period) {
                            // Under an optimizer with memory, the cycle of the state and the memory.
                            (true, p) if !c.memory.is_empty() => (tests.cycle_stability)(c.first_member, &[&mean[..], &c.memory].concat(), p),
                            (true, p) => (tests.cycle_stability)(c.first_member, &mean, p),
                            (false, 0) => Stability::Unknown,
                            (false, _) => (tests.stability)(c.first_member, &mean),
                        };
                        ClosedCluster { centre: mean, stability, id: u32::MAX, period: c.period, cycle: c.cycle }
                    })
                    .collect()
            })
            .collect();
        let near_tol = NEAR * self.options.cluster_tol;
        let mut all_ids = Vec::with_capacity(closing.len());
        for ((g, group), mut finished) in closing.into_iter().zip(finished) {
            for c in &finished {
                self.scale = c.centre.iter().fold(self.scale, |m, v| m.max(v.abs()));
            }
            // Relative to the largest |x| seen so far, at least 1 (as cluster_tol is): a map whose
            // first points sit near zero still follows their branches.
            let match_tol = (self.options.match_fraction + self.options.cluster_tol) * (1.0 + self.scale);
            let mut ids = Vec::with_capacity(finished.len());
            let mut joined: Vec<Vec<u32>> = vec![Vec::new(); finished.len()];
            for h in [(g % gx > 0).then(|| g - 1), (g >= gx).then(|| g - gx)] {
                let Some(h) = h else { continue };
                // The window holds consecutive parameter points.
                let Some((_, other)) = self.window.front().and_then(|(first, _)| self.window.get(h.checked_sub(*first)?)).filter(|(w, _)| *w == h) else { continue };
                // Each point where the other parameter point will see it: as it is where a point
                // of the other lies within a few cluster tolerances (a branch moving slowly, the
                // common case), else continued there (see FixedPointTests::continued).
                let predict = |x: &ClosedCluster, from: usize, to: usize, others: &[ClosedCluster]| -> Option<Vec<f64>> {
                    // Newton's continuation follows fixed points; a cycle is matched where it is.
                    if x.period != 1 || x.cycle {
                        return None;
                    }
                    let scale = 1.0 + x.centre.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    if others.iter().any(|o| super::max_dist(&o.centre, &x.centre) <= near_tol * scale) {
                        return None;
                    }
                    (tests.continued)(at(from), at(to), &x.centre)
                };
                let ours: Vec<Option<Vec<f64>>> = finished.iter().map(|a| predict(a, g, h, other)).collect();
                let theirs: Vec<Option<Vec<f64>>> = other.iter().map(|b| predict(b, h, g, &finished)).collect();
                let matches = |p: &[f64], like: &ClosedCluster, set: &[ClosedCluster]| -> Vec<usize> {
                    (0..set.len())
                        .filter(|&k| set[k].stability == like.stability && set[k].period == like.period && set[k].cycle == like.cycle && super::max_dist(p, &set[k].centre) <= match_tol)
                        .collect()
                };
                for c in 0..finished.len() {
                    if let [b] = matches(ours[c].as_deref().unwrap_or(&finished[c].centre), &finished[c], other)[..] {
                        if matches(theirs[b].as_deref().unwrap_or(&other[b].centre), &other[b], &finished) == [c] {
                            joined[c].push(other[b].id);
                        }
                    }
                }
            }
            for c in 0..finished.len() {
                let joined = std::mem::take(&mut joined[c]);
                let cluster = &group.clusters[c];
                let id = match joined.split_first() {
                    None => {
                        let (kind, stability) = match (cluster.cycle, cluster.period) {
                            (true, _) => (Kind::Cycle, Some(finished[c].stability)),
                            (false, 0) => (Kind::Chaotic, None),
                            (false, _) => (Kind::Fixed, Some(finished[c].stability)),
                        };
                        let id = self.add_entry(kind, stability, cluster.first_member, cluster.period);
                        self.entries[id as usize].first_feature = finished[c].centre.first().copied().unwrap_or(0.0);
                        id
                    }
                    Some((&first, rest)) => rest.iter().fold(first, |keep, &other| self.join(keep, other)),
                };
                let serial = self.serials;
                self.serials += 1;
                let e = &mut self.entries[id as usize];
                e.count += cluster.count;
                e.slowest = e.slowest.max(cluster.slowest);
                e.spread = e.spread.max(cluster.spread);
                let (sum, min, max) = cluster.observables(nf);
                for j in 0..e.min.len() {
                    e.min[j] = e.min[j].min(min[j]);
                    e.max[j] = e.max[j].max(max[j]);
                }
                if cluster.count > e.weight {
                    e.weight = cluster.count;
                    e.serial = serial;
                    e.representative = cluster.first_member;
                    e.value = sum.iter().map(|s| s / cluster.count as f64).collect();
                    e.cycle_time = cluster.time_sum / cluster.count as f64;
                }
                finished[c].id = id;
                ids.push(id);
            }
            if group.spans {
                self.spanning.insert(g, ids.clone());
            }
            self.window.push_back((g, finished));
            while self.window.len() > gx {
                self.window.pop_front();
            }
            all_ids.push(ids);
        }
        all_ids
    }

    /// Checks a labeller read back from a saved state against the map it is said to label:
    /// its layout and settings, ids that exist, joins to earlier entries, lengths.
    pub fn check(&self, expected: &Labeller) -> Result<(), String> {
        if (self.layout, &self.features, self.n_state, self.n_obs, &self.options) != (expected.layout, &expected.features, expected.n_state, expected.n_obs, &expected.options) {
            return Err("its labeller belongs to another map".into());
        }
        let n_groups = self.layout.n_groups();
        if self.next > self.layout.n_trajectories() || self.next_close > n_groups {
            return Err("its labeller has read past the end of the map".into());
        }
        let closed_ok = |g: usize| self.layout.last_member(g) < self.next;
        if (self.next_close > 0 && !closed_ok(self.next_close - 1)) || (self.next_close < n_groups && closed_ok(self.next_close)) {
            return Err("its labeller's closed parameter points do not match the trajectories read".into());
        }
        let n = self.entries.len();
        for (id, e) in self.entries.iter().enumerate() {
            let len = if e.kind.is_located() { self.n_obs } else { 0 };
            if e.parent as usize > id || e.value.len() != len || e.min.len() != len || e.max.len() != len {
                return Err(format!("its attractor entry {id} is damaged"));
            }
        }
        let nf = self.features.len();
        let ids_ok = |ids: &[u32]| ids.iter().all(|&id| (id as usize) < n);
        let open_ok = self.open.iter().all(|(&g, group)| {
            g >= self.next_close
                && g < n_groups
                && group.clusters.iter().all(|c| {
                    c.data.len() == 3 * (nf + self.n_obs) && c.count > 0
                })
        });
        let window_ok = self.window.iter().all(|(g, cs)| {
            *g < self.next_close && cs.iter().all(|c| c.centre.len() == nf && (c.id as usize) < n)
        });
        let specials_ok = self.specials.iter().all(|&(kind, id)| (id as usize) < n && self.entries[id as usize].kind == kind);
        let spanning_ok = self.spanning.iter().all(|(&g, ids)| g < self.next_close && ids_ok(ids));
        if !(open_ok && window_ok && specials_ok && spanning_ok) {
            return Err("its labeller's parameter points are damaged".into());
        }
        Ok(())
    }

    /// Numbers the branches: fixed points by basin size (ties by their first feature), the
    /// smallest beyond `max_attractors` pooled into one; then the other kinds in their fixed
    /// order. Call when every trajectory has been read.
    pub fn finish(&self) -> Numbering {
        debug_assert_eq!(self.next, self.layout.n_trajectories());
        let n = self.entries.len();
        let total = self.next.max(1) as f64;
        let roots: Vec<u32> = (0..n as u32).map(|i| self.root(i)).collect();
        let mut merged: Vec<Entry> = self.entries.clone();
        for (i, &r) in roots.iter().enumerate() {
            if r as usize != i {
                let e = self.entries[i].clone();
                let m = &mut merged[r as usize];
                absorb(m, &e);
            }
        }
        let is_root = |i: usize| roots[i] as usize == i && merged[i].count > 0;
        let mut branches: Vec<usize> = (0..n).filter(|&i| is_root(i) && merged[i].kind.is_located()).collect();
        // Ties of basin size go by the first feature, to the clustering tolerance (a mean's last
        // bits, which depend on which members were computed, decide nothing), then by order.
        let grain = (self.options.cluster_tol * (1.0 + self.scale)).max(f64::MIN_POSITIVE);
        // With cluster_tol = 0 the quotient overflows: the feature itself orders them then.
        let place = |e: &Entry| {
            let q = (e.first_feature / grain).round();
            if q.is_finite() {
                q
            } else {
                e.first_feature
            }
        };
        branches.sort_by(|&a, &b| merged[b].count.cmp(&merged[a].count).then(place(&merged[a]).total_cmp(&place(&merged[b]))).then(a.cmp(&b)));
        let cap = self.options.max_attractors.max(2);
        let pooled = branches.len() > cap;
        let kept = if pooled { cap - 1 } else { branches.len() };
        let mut final_id = vec![0u32; n];
        let mut attractors = Vec::new();
        let mut slowest = Vec::new();
        let mut warnings = Vec::new();
        let continuum = 100.0 * self.options.cluster_tol * (1.0 + self.scale);
        let mut push_fixed = |e: &Entry, pooled: bool, attractors: &mut Vec<Attractor>| {
            let id = attractors.len() as u32;
            if e.spread > continuum {
                warnings.push(format!("attractor {id} is a continuum of fixed points: at one parameter point its end states spread over {:.3}", e.spread));
            }
            attractors.push(Attractor {
                id,
                kind: if pooled { Kind::Fixed } else { e.kind },
                stability: if pooled { None } else { e.stability },
                period: if pooled { 0 } else { e.period },
                cycle_time: if pooled { 0.0 } else { e.cycle_time },
                forcing_period: 0.0,
                pooled,
                count: e.count,
                fraction: e.count as f64 / total,
                fraction_se: None,
                representative: e.representative,
                observables: e.value.iter().zip(e.min.iter().zip(&e.max)).map(|(&value, (&min, &max))| ObservableSummary { value, min, max }).collect(),
                phase: None,
            });
            slowest.push(e.slowest);
        };
        for &b in &branches[..kept] {
            final_id[b] = attractors.len() as u32;
            push_fixed(&merged[b], false, &mut attractors);
        }
        if pooled {
            let mut pool = merged[branches[kept]].clone();
            for &b in &branches[kept + 1..] {
                absorb(&mut pool, &merged[b]);
            }
            for &b in &branches[kept..] {
                final_id[b] = attractors.len() as u32;
            }
            push_fixed(&pool, true, &mut attractors);
        }
        let mut specials: Vec<usize> = (0..n).filter(|&i| is_root(i) && !merged[i].kind.is_located()).collect();
        specials.sort_by_key(|&i| merged[i].kind);
        for s in specials {
            let e = &merged[s];
            final_id[s] = attractors.len() as u32;
            attractors.push(Attractor {
                id: attractors.len() as u32,
                kind: e.kind,
                stability: None,
                period: 0,
                cycle_time: 0.0,
                forcing_period: 0.0,
                pooled: false,
                count: e.count,
                fraction: e.count as f64 / total,
                fraction_se: None,
                representative: e.representative,
                observables: Vec::new(),
                phase: None,
            });
            slowest.push(e.slowest);
        }
        for i in 0..n {
            final_id[i] = final_id[roots[i] as usize];
        }
        Numbering {
            attractors,
            final_id,
            slowest,
            warnings,
            pooled_branches: pooled.then(|| (branches.len(), branches.len() - kept)),
            layout: self.layout,
            spanning: self.spanning.clone(),
        }
    }
}

/// Adds entry `e` (another piece of the same branch, or a pooled branch) into `m`.
fn absorb(m: &mut Entry, e: &Entry) {
    m.count += e.count;
    m.slowest = m.slowest.max(e.slowest);
    m.spread = m.spread.max(e.spread);
    if (e.weight, std::cmp::Reverse(e.serial)) > (m.weight, std::cmp::Reverse(m.serial)) {
        m.weight = e.weight;
        m.serial = e.serial;
        m.representative = e.representative;
        m.value = e.value.clone();
    }
    for j in 0..m.min.len() {
        m.min[j] = m.min[j].min(e.min[j]);
        m.max[j] = m.max[j].max(e.max[j]);
    }
}

/// The final attractors and how label codes map to them.
pub struct Numbering {
    pub attractors: Vec<Attractor>,
    /// Final id of each provisional id.
    pub final_id: Vec<u32>,
    /// Slowest trajectory of each final attractor, in steps.
    pub slowest: Vec<u32>,
    pub warnings: Vec<String>,
    /// Branches found and how many of them the pooled attractor holds, when the cap pooled some.
    pub pooled_branches: Option<(usize, usize)>,
    layout: Layout,
    spanning: BTreeMap<usize, Vec<u32>>,
}

impl Numbering {
    /// The final id of trajectory `i` given the code it was given; `None` for a code the
    /// labeller never gave (a damaged file).
    pub fn resolve(&self, i: usize, code: Code) -> Option<u32> {
        let provisional = if code & OPEN != 0 { *self.spanning.get(&self.layout.group_of(i))?.get((code & !OPEN) as usize)? } else { code };
        self.final_id.get(provisional as usize).copied()
    }

    /// Gives every final id `new_id[id]` (attractors renumbered after naming phases, whose
    /// list the caller has replaced).
    pub fn relabel(&mut self, new_id: &[u32]) {
        self.final_id.iter_mut().for_each(|id| *id = new_id[*id as usize]);
        let n = new_id.iter().map(|&k| k as usize + 1).max().unwrap_or(0);
        let mut slowest = vec![0u32; n];
        for (old, &new) in new_id.iter().enumerate() {
            slowest[new as usize] = slowest[new as usize].max(self.slowest[old]);
        }
        self.slowest = slowest;
    }
}
