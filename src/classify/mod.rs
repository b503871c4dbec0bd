//! Classify: per-trajectory outcomes → attractors with ids, kinds, stability and basin sizes.
//!
//! 1. Trajectories that did not converge go to the attractors +∞ / −∞ (1-D systems; `inf` for
//!    higher dimensions), `undecided` or `nonfinite`.
//! 2. Converged end states are grouped by their parameter point (trajectories that differ only
//!    in their start) and clustered: two end states are one fixed point when they lie within
//!    `cluster_tol · (1 + |x|)` (max-norm) of each other, or when the gradient stays below the
//!    stop rule's tolerance along the segment joining them. The stop rule can only place a
//!    fixed point to within tol/λ (λ the Hessian's smallest eigenvalue), which near a critical
//!    point exceeds any fixed distance; a continuum of fixed points becomes one attractor.
//! 3. Clusters of neighbouring parameter points are joined when they are each other's only
//!    candidate within `match_fraction` of the features' scale and have the same stability, so
//!    one branch of fixed points keeps one id across the map. Where a branch splits or merges
//!    (a bifurcation), the branches on either side get ids of their own.
//! 4. Branches are numbered by basin size; beyond `max_attractors` the smallest are pooled into
//!    one "pooled" attractor and a warning says so (a continuum of fixed points cannot blow up
//!    the labeller).

pub mod label;
pub mod stalls;

pub use label::{fractions, label, label_window, small_gradient_path, MAX_STABILITY_DIM};

use crate::engine::{Outcomes, Status};
use crate::scenario::ClassifyOptions;
use crate::system::Stability;
use serde::Serialize;

/// What an attractor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize, PartialOrd, Ord)]
pub enum Kind {
    #[serde(rename = "fixed")]
    Fixed,
    #[serde(rename = "+inf")]
    PosInf,
    #[serde(rename = "-inf")]
    NegInf,
    #[serde(rename = "inf")]
    Inf,
    #[serde(rename = "undecided")]
    Undecided,
    #[serde(rename = "nonfinite")]
    Nonfinite,
    /// Left the ball of radius `escape` around its start (a noise run).
    #[serde(rename = "escaped")]
    Escaped,
    /// Rests at an unstable fixed point (a maximum or saddle) that pushes could not make it
    /// leave within the step budget (see [`stalls`]).
    #[serde(rename = "stalled")]
    Stalled,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Fixed => "fixed",
            Kind::PosInf => "+inf",
            Kind::NegInf => "-inf",
            Kind::Inf => "inf",
            Kind::Undecided => "undecided",
            Kind::Nonfinite => "nonfinite",
            Kind::Escaped => "escaped",
            Kind::Stalled => "stalled",
        }
    }
}

/// The phase of a network a fixed point belongs to, recognised by its invariants so that it keeps
/// its id and colour across maps: `trivial` (all weights zero, nothing learned) or `learning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Trivial,
    Learning,
}

impl Phase {
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::Trivial => "trivial",
            Phase::Learning => "learning",
        }
    }
}

/// The range and a representative value of one observable over an attractor.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ObservableSummary {
    /// Mean over the attractor's largest cluster (one parameter point).
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

/// One attractor of the map.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Attractor {
    pub id: u32,
    pub kind: Kind,
    /// For fixed points; `None` for the other kinds and for the pooled attractor.
    pub stability: Option<Stability>,
    /// True for the attractor that pools the branches beyond the cap.
    pub pooled: bool,
    pub count: u64,
    pub fraction: f64,
    /// A trajectory of its largest cluster.
    pub representative: usize,
    /// One entry per observable of the system (empty for non-fixed kinds).
    pub observables: Vec<ObservableSummary>,
    /// For networks: the phase this fixed point belongs to, if it is one of the named ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
}

impl Attractor {
    pub fn stability_str(&self) -> &'static str {
        match (self.pooled, self.stability) {
            (true, _) => "pooled",
            (false, Some(s)) => s.as_str(),
            (false, None) => "",
        }
    }
}

/// The labelled map.
#[derive(Clone, Debug)]
pub struct Classification {
    /// Attractor id per trajectory.
    pub labels: Vec<u32>,
    pub attractors: Vec<Attractor>,
    pub warnings: Vec<String>,
    /// Branches found and how many of them the pooled attractor holds, when the cap pooled
    /// some; its warning ([`Classification::pool_warning`]) names the pooled attractor's id once
    /// ids are final (naming network phases renumbers them).
    pub pooled_branches: Option<(usize, usize)>,
}

/// How trajectories map to parameter points.
pub struct Groups {
    /// Parameter points along x and y (1 where that axis is a starting value).
    pub shape: (usize, usize),
    /// Parameter point of each trajectory, row-major over `shape`.
    pub of: Vec<usize>,
}

/// A cluster of converged end states at one parameter point.
struct Cluster {
    /// Sum then mean of the features.
    centre: Vec<f64>,
    obs_sum: Vec<f64>,
    count: u64,
    first_member: usize,
    last_member: usize,
    /// Largest max-norm distance of a member from the first one.
    spread: f64,
    stability: Stability,
}

/// Most clusters of one parameter point a new end state is compared with.
const LOOK_BACK: usize = 64;

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut a: usize) -> usize {
        while self.0[a] != a {
            self.0[a] = self.0[self.0[a]];
            a = self.0[a];
        }
        a
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Max-norm distance between two feature vectors.
pub fn max_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Labels every trajectory.
///
/// * `features`: the observables that locate a fixed point (for the built-in systems, the state).
/// * `stability(trajectory, centre)`: the stability of the fixed point at `centre` under the
///   parameters of `trajectory`.
/// * `connected(trajectory, a, b)`: whether end states `a` and `b` are joined by a path of small
///   gradient under the parameters of `trajectory` (see the module header).
pub fn classify(
    outcomes: &Outcomes,
    groups: &Groups,
    features: &[usize],
    n_state: usize,
    options: &ClassifyOptions,
    stability: &(dyn Fn(usize, &[f64]) -> Stability + Sync),
    connected: &(dyn Fn(usize, &[f64], &[f64]) -> bool + Sync),
) -> Classification {
    let n = outcomes.len();
    let n_obs = outcomes.n_obs;
    let (gx, gy) = groups.shape;
    let feat = |i: usize| -> Vec<f64> { features.iter().map(|&k| outcomes.obs(i)[k] as f64).collect() };

    // Converged trajectories by parameter point, sorted by their first feature.
    let mut by_group: Vec<Vec<usize>> = vec![Vec::new(); gx * gy];
    for i in 0..n {
        if outcomes.status[i] == Status::Converged as u32 {
            by_group[groups.of[i]].push(i);
        }
    }
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut cluster_of = vec![u32::MAX; n];
    let mut group_clusters: Vec<std::ops::Range<usize>> = Vec::with_capacity(gx * gy);
    for members in by_group.iter_mut() {
        members.sort_by(|&a, &b| outcomes.obs(a)[features[0]].total_cmp(&outcomes.obs(b)[features[0]]));
        let first = clusters.len();
        for &i in members.iter() {
            let f = feat(i);
            let tol = |v: f64| options.cluster_tol * (1.0 + v.abs());
            let hit = (first..clusters.len()).rev().take(LOOK_BACK).find(|&c| {
                let leader = feat(clusters[c].first_member);
                f.iter().zip(&leader).all(|(a, b)| (a - b).abs() <= tol(*b))
                    || connected(i, &feat(clusters[c].last_member), &f)
            });
            let c = hit.unwrap_or_else(|| {
                clusters.push(Cluster {
                    centre: vec![0.0; f.len()],
                    obs_sum: vec![0.0; n_obs],
                    count: 0,
                    first_member: i,
                    last_member: i,
                    spread: 0.0,
                    stability: Stability::Flat,
                });
                clusters.len() - 1
            });
            let cl = &mut clusters[c];
            cl.spread = cl.spread.max(max_dist(&f, &feat(cl.first_member)));
            cl.last_member = i;
            cl.count += 1;
            cl.centre.iter_mut().zip(&f).for_each(|(s, v)| *s += v);
            cl.obs_sum.iter_mut().zip(outcomes.obs(i)).for_each(|(s, &v)| *s += v as f64);
            cluster_of[i] = c as u32;
        }
        group_clusters.push(first..clusters.len());
    }
    {
        use rayon::prelude::*;
        clusters.par_iter_mut().for_each(|c| {
            let k = c.count as f64;
            c.centre.iter_mut().for_each(|v| *v /= k);
            c.obs_sum.iter_mut().for_each(|v| *v /= k);
            c.stability = stability(c.first_member, &c.centre);
        });
    }

    // Continuity: join unique mutual candidates of neighbouring parameter points.
    let scale = clusters.iter().flat_map(|c| c.centre.iter()).fold(0.0f64, |m, v| m.max(v.abs())).max(1e-9);
    let match_tol = options.match_fraction * scale + options.cluster_tol * (1.0 + scale);
    let mut uf = UnionFind((0..clusters.len()).collect());
    let candidates = |a: usize, other: &std::ops::Range<usize>| -> Vec<usize> {
        other
            .clone()
            .filter(|&b| clusters[b].stability == clusters[a].stability && max_dist(&clusters[a].centre, &clusters[b].centre) <= match_tol)
            .collect()
    };
    for g in 0..gx * gy {
        let (ix, iy) = (g % gx, g / gx);
        let mut neighbours = Vec::new();
        if ix + 1 < gx {
            neighbours.push(g + 1);
        }
        if iy + 1 < gy {
            neighbours.push(g + gx);
        }
        for h in neighbours {
            for a in group_clusters[g].clone() {
                let cand = candidates(a, &group_clusters[h]);
                if let [b] = cand[..] {
                    if candidates(b, &group_clusters[g]) == [a] {
                        uf.union(a, b);
                    }
                }
            }
        }
    }

    // Branches, largest basin first.
    let mut root_of = vec![0usize; clusters.len()];
    let mut branch_index = std::collections::HashMap::new();
    let mut branches: Vec<Vec<usize>> = Vec::new();
    for c in 0..clusters.len() {
        let r = uf.find(c);
        let b = *branch_index.entry(r).or_insert_with(|| {
            branches.push(Vec::new());
            branches.len() - 1
        });
        branches[b].push(c);
        root_of[c] = b;
    }
    let count_of = |b: &Vec<usize>| b.iter().map(|&c| clusters[c].count).sum::<u64>();
    let mut order: Vec<usize> = (0..branches.len()).collect();
    order.sort_by(|&a, &b| {
        count_of(&branches[b]).cmp(&count_of(&branches[a])).then_with(|| {
            let ca = &clusters[branches[a][0]].centre[0];
            let cb = &clusters[branches[b][0]].centre[0];
            ca.total_cmp(cb)
        })
    });
    let mut warnings = Vec::new();
    let cap = options.max_attractors.max(2);
    let mut id_of_branch = vec![0u32; branches.len()];
    let pooled = order.len() > cap;
    for (rank, &b) in order.iter().enumerate() {
        id_of_branch[b] = rank.min(cap - 1) as u32;
    }
    let pooled_branches = pooled.then(|| (order.len(), order.len() - (cap - 1)));

    let mut attractors: Vec<Attractor> = Vec::new();
    let continuum = 100.0 * options.cluster_tol * (1.0 + scale);
    let n_fixed = order.len().min(cap);
    for id in 0..n_fixed {
        let members: Vec<usize> = order
            .iter()
            .filter(|&&b| id_of_branch[b] == id as u32)
            .flat_map(|&b| branches[b].iter().copied())
            .collect();
        let count: u64 = members.iter().map(|&c| clusters[c].count).sum();
        let rep = *members.iter().max_by_key(|&&c| clusters[c].count).expect("a branch has clusters");
        let is_pool = pooled && id == cap - 1;
        let spread = members.iter().map(|&c| clusters[c].spread).fold(0.0, f64::max);
        if spread > continuum {
            warnings.push(format!(
                "attractor {id} is a continuum of fixed points: at one parameter point its end states spread over {spread:.3}"
            ));
        }
        attractors.push(Attractor {
            id: id as u32,
            kind: Kind::Fixed,
            stability: if is_pool { None } else { Some(clusters[rep].stability) },
            pooled: is_pool,
            count,
            fraction: count as f64 / n as f64,
            representative: clusters[rep].first_member,
            observables: (0..n_obs)
                .map(|k| ObservableSummary { value: clusters[rep].obs_sum[k], min: f64::INFINITY, max: f64::NEG_INFINITY })
                .collect(),
            phase: None,
        });
    }

    // Labels, observable ranges, and the non-fixed attractors.
    let special = |s: u32| -> Kind {
        match Status::from_code(s) {
            Status::DivergedPos if n_state == 1 => Kind::PosInf,
            Status::DivergedNeg if n_state == 1 => Kind::NegInf,
            Status::DivergedPos | Status::DivergedNeg => Kind::Inf,
            Status::Nonfinite => Kind::Nonfinite,
            Status::Escaped => Kind::Escaped,
            Status::Stalled => Kind::Stalled,
            _ => Kind::Undecided,
        }
    };
    let mut special_counts = std::collections::BTreeMap::<Kind, (u64, usize)>::new();
    for i in 0..n {
        if outcomes.status[i] != Status::Converged as u32 {
            let e = special_counts.entry(special(outcomes.status[i])).or_insert((0, i));
            e.0 += 1;
        }
    }
    let mut special_id = std::collections::BTreeMap::new();
    for (kind, (count, rep)) in &special_counts {
        let id = attractors.len() as u32;
        special_id.insert(*kind, id);
        attractors.push(Attractor {
            id,
            kind: *kind,
            stability: None,
            pooled: false,
            count: *count,
            fraction: *count as f64 / n as f64,
            representative: *rep,
            observables: Vec::new(),
            phase: None,
        });
    }
    let mut labels = vec![0u32; n];
    for i in 0..n {
        labels[i] = if outcomes.status[i] == Status::Converged as u32 {
            let id = id_of_branch[root_of[cluster_of[i] as usize]];
            let a = &mut attractors[id as usize];
            for (k, s) in a.observables.iter_mut().enumerate() {
                let v = outcomes.obs(i)[k] as f64;
                s.min = s.min.min(v);
                s.max = s.max.max(v);
            }
            id
        } else {
            special_id[&special(outcomes.status[i])]
        };
    }
    Classification { labels, attractors, warnings, pooled_branches }
}

impl Classification {
    /// The warning that branches beyond the cap were pooled, naming the pooled attractor's id as
    /// it is now.
    pub fn pool_warning(&self) -> Option<String> {
        let (found, pooled) = self.pooled_branches?;
        let id = self.attractors.iter().find(|a| a.pooled)?.id;
        Some(format!(
            "{found} distinct fixed-point branches found (a continuum of fixed points?); the {pooled} smallest are pooled into attractor {id} (raise classify.max_attractors to keep more)"
        ))
    }

    /// Merges fixed-point attractor `from` into `into`: labels, counts, fractions and observable
    /// ranges; the ids above `from` move down by one.
    pub fn merge(&mut self, into: u32, from: u32) {
        assert!(into != from, "an attractor cannot merge into itself");
        let gone = self.attractors.remove(from as usize);
        let into = if into > from { into - 1 } else { into };
        let a = &mut self.attractors[into as usize];
        a.count += gone.count;
        a.fraction += gone.fraction;
        for (s, g) in a.observables.iter_mut().zip(&gone.observables) {
            s.min = s.min.min(g.min);
            s.max = s.max.max(g.max);
        }
        for (k, a) in self.attractors.iter_mut().enumerate() {
            a.id = k as u32;
        }
        for l in self.labels.iter_mut() {
            if *l == from {
                *l = into;
            } else if *l > from {
                *l -= 1;
            }
        }
    }

    /// Renumbers the attractors so that `first` (ids, in this order) come first; the others keep
    /// their relative order. Labels follow.
    pub fn move_to_front(&mut self, first: &[u32]) {
        let mut order: Vec<u32> = first.to_vec();
        order.extend((0..self.attractors.len() as u32).filter(|id| !first.contains(id)));
        let mut new_id = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        let mut old: Vec<Option<Attractor>> = self.attractors.drain(..).map(Some).collect();
        self.attractors = order
            .iter()
            .enumerate()
            .map(|(new, &o)| {
                let mut a = old[o as usize].take().expect("each id once");
                a.id = new as u32;
                a
            })
            .collect();
        for l in self.labels.iter_mut() {
            *l = new_id[*l as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_to_front_renumbers_labels() {
        let o = outcomes(&[(1, -1.0), (1, 1.0), (1, 1.0), (2, 9.0)]);
        let g = Groups { shape: (1, 1), of: vec![0; 4] };
        let mut c = classify(&o, &g, &[0], 1, &ClassifyOptions::default(), &|_, _| Stability::Minimum, &|_, _, _| false);
        assert_eq!(c.labels, [1, 0, 0, 2]);
        c.move_to_front(&[1]);
        assert_eq!(c.labels, [0, 1, 1, 2]);
        assert_eq!(c.attractors.iter().map(|a| a.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(c.attractors[0].count, 1);
        assert_eq!(c.attractors[2].kind, Kind::PosInf);
        c.merge(1, 0);
        assert_eq!(c.labels, [0, 0, 0, 1]);
        assert_eq!(c.attractors[0].count, 3);
        assert_eq!(c.attractors[0].observables[0].min, -1.0);
        assert_eq!(c.attractors[0].observables[0].max, 1.0);
        assert_eq!(c.attractors.len(), 2);
    }

    fn outcomes(points: &[(u32, f32)]) -> Outcomes {
        Outcomes {
            status: points.iter().map(|p| p.0).collect(),
            steps: vec![1; points.len()],
            observables: points.iter().flat_map(|p| [p.1, 0.0]).collect(),
            n_obs: 2,
        }
    }

    #[test]
    fn clusters_and_specials() {
        // One parameter point: two minima at ±1 and some escapes.
        let o = outcomes(&[(1, -1.0), (1, -1.0001), (1, 1.0), (1, 0.9999), (1, 1.0), (2, 9.0), (3, -9.0), (4, 0.3)]);
        let g = Groups { shape: (1, 1), of: vec![0; 8] };
        let c = classify(&o, &g, &[0], 1, &ClassifyOptions::default(), &|_, _| Stability::Minimum, &|_, _, _| false);
        assert_eq!(c.attractors.len(), 5);
        assert_eq!(c.attractors[0].count, 3); // +1 is the larger basin
        assert_eq!(c.labels[..5], [1, 1, 0, 0, 0]);
        let kinds: Vec<_> = c.attractors.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [Kind::Fixed, Kind::Fixed, Kind::PosInf, Kind::NegInf, Kind::Undecided]);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn branches_follow_continuity_and_split_at_bifurcations() {
        // Five parameter points along x, two starts each: the fixed point moves slowly, then
        // splits into ±0.5 (a pitchfork): the split branches get their own ids.
        let locs = [(0.0, 0.0), (0.01, 0.01), (0.02, 0.02), (-0.5, 0.5), (-0.55, 0.55)];
        let mut pts = Vec::new();
        let mut of = Vec::new();
        for (g, (a, b)) in locs.iter().enumerate() {
            pts.push((1, *a as f32));
            pts.push((1, *b as f32));
            of.extend([g, g]);
        }
        let o = outcomes(&pts);
        let g = Groups { shape: (5, 1), of };
        let c = classify(&o, &g, &[0], 1, &ClassifyOptions::default(), &|_, _| Stability::Minimum, &|_, _, _| false);
        assert_eq!(c.attractors.len(), 3);
        assert!(c.labels[..6].iter().all(|&l| l == c.labels[0]));
        assert_ne!(c.labels[6], c.labels[7]);
        assert_eq!(c.labels[6], c.labels[8]);
        assert_eq!(c.labels[7], c.labels[9]);
    }

    #[test]
    fn continuum_is_capped() {
        let pts: Vec<(u32, f32)> = (0..1000).map(|i| (1, i as f32 / 10.0)).collect();
        let o = outcomes(&pts);
        let g = Groups { shape: (1, 1), of: vec![0; 1000] };
        let opts = ClassifyOptions { max_attractors: 8, ..Default::default() };
        let c = classify(&o, &g, &[0], 1, &opts, &|_, _| Stability::Flat, &|_, _, _| false);
        assert_eq!(c.attractors.len(), 8);
        assert!(c.attractors[7].pooled);
        assert_eq!(c.attractors.iter().map(|a| a.count).sum::<u64>(), 1000);
        // The one warning, about the pool, names its id as it stands when it is written.
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(c.pool_warning().unwrap().contains("smallest are pooled into attractor 7 "), "{:?}", c.pool_warning());
        let mut moved = c.clone();
        moved.move_to_front(&[7]);
        assert!(moved.pool_warning().unwrap().contains("pooled into attractor 0 "), "{:?}", moved.pool_warning());
        // Joined by a path of zero gradient, the continuum is one attractor, flagged as such.
        let c = classify(&o, &g, &[0], 1, &opts, &|_, _| Stability::Flat, &|_, _, _| true);
        assert_eq!(c.attractors.len(), 1);
        assert_eq!(c.attractors[0].count, 1000);
        assert!(c.warnings[0].contains("continuum"), "{:?}", c.warnings);
    }
}
