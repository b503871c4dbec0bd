//! Classify: per-trajectory outcomes → attractors with ids, kinds, stability and basin sizes.
//!
//! 1. Trajectories that did not converge go to the attractors +∞ / −∞ (1-D systems; `inf` for
//!    higher dimensions), `undecided` or `nonfinite`. Undecided ones of a map stepped by gd are
//!    first tested for cycles ([`cycles`]); those on one are clustered as fixed points are
//!    (step 2 on), by their cycle's first point and period, and become attractors of kind
//!    `cycle`.
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
//!
//! The [`labeller`] does 2–4 reading trajectories in index order, so that a map held in memory
//! and the same map streamed tile by tile are labelled alike to the bit. [`label`] applies it to
//! a plan; [`stalls`] first continues trajectories resting at unstable points, and [`cycles`]
//! then finds the undecided ones that are on a cycle (training runs from end states
//! [`replay`]ed on the host, with `--continue-untrained`; maps written in WGSL [`continued`] on
//! the engine).

pub mod chaos;
pub mod continued;
pub mod continued_flows;
pub mod cycles;
pub mod flows;
pub mod forced;
pub mod label;
pub mod labeller;
pub mod phases;
pub mod replay;
pub mod stalls;

pub use label::{fractions, label, small_gradient_path, MAX_STABILITY_DIM};
pub use labeller::{FixedPointTests, Labeller, Layout};

use crate::engine::Outcomes;
use crate::plan::Plan;
use crate::scenario::ClassifyOptions;
use crate::system::Stability;
use serde::Serialize;

/// Whether `plan`'s undecided trajectories are tested for cycles and chaos, on the host
/// ([`cycles::applies`]) or on the engine ([`continued::applies`]): then period.npy is written,
/// and every setting of the step rule moves the attractors (a cycle moves with the step).
pub fn finds_cycles(plan: &Plan) -> bool {
    cycles::applies(plan) || continued::applies(plan)
}

/// What an attractor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize, PartialOrd, Ord)]
pub enum Kind {
    #[serde(rename = "fixed")]
    Fixed,
    /// Returns to itself every `period` steps (see [`cycles`]).
    #[serde(rename = "cycle")]
    Cycle,
    /// Bounded with a positive largest Lyapunov exponent; located by the middles of the ranges
    /// its variables cover (see [`chaos`]).
    #[serde(rename = "chaotic")]
    Chaotic,
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
    /// Fixed points, cycles and chaotic attractors: attractors with a place (observables; a
    /// chaotic one's are the middles of their ranges), found by clustering end states, one branch per place
    /// across the map.
    pub fn is_located(&self) -> bool {
        matches!(self, Kind::Fixed | Kind::Cycle | Kind::Chaotic)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Fixed => "fixed",
            Kind::Cycle => "cycle",
            Kind::Chaotic => "chaotic",
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
    /// For fixed points and cycles; `None` for the other kinds and for the pooled attractor.
    pub stability: Option<Stability>,
    /// Steps per return: 1 for a fixed point, p for a p-cycle, 0 for the other kinds; for a
    /// flow's limit cycle, its loops (crossings of its Poincaré section per period).
    pub period: u32,
    /// A flow's limit cycle: its period in time (the mean over its largest cluster); 0 for
    /// every other attractor.
    pub cycle_time: f64,
    /// A forced flow's forcing period T (its cycles are responses of `period` forcing periods,
    /// `cycle_time` = period·T); 0 for an autonomous system.
    #[serde(skip_serializing_if = "is_zero")]
    pub forcing_period: f64,
    /// True for the attractor that pools the branches beyond the cap.
    pub pooled: bool,
    pub count: u64,
    pub fraction: f64,
    /// A sampled run's standard error of `fraction`, √(f(1 − f)/N) over its N starts (its
    /// basin stability's, as bSTAB reports it); `None` on a grid, which is not a sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction_se: Option<f64>,
    /// A trajectory of its largest cluster.
    pub representative: usize,
    /// One entry per observable of the system (empty for kinds without a place); for a cycle,
    /// at its point with the smallest first component.
    pub observables: Vec<ObservableSummary>,
    /// For networks: the phase this fixed point belongs to, if it is one of the named ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Attractor {
    /// Sets [`Attractor::fraction_se`] for a sample of `n` starts.
    pub fn set_standard_error(&mut self, n: u64) {
        let f = self.fraction;
        self.fraction_se = Some((f * (1.0 - f) / n.max(1) as f64).sqrt());
    }

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

/// Labels every trajectory of a whole map (see [`labeller`] for how).
///
/// * `features`: the observables that locate a fixed point (for the built-in systems, the state).
/// * `tests`: the stability of a fixed point, and whether two end states are joined by a path
///   of small gradient, under the parameters of a trajectory.
pub fn classify(outcomes: &Outcomes, layout: Layout, features: &[usize], n_state: usize, options: &ClassifyOptions, tests: &FixedPointTests) -> Classification {
    assert_eq!(outcomes.len(), layout.n_trajectories(), "classify takes a whole map");
    let mut labeller = Labeller::new(layout, features.to_vec(), n_state, outcomes.n_obs, options.clone());
    let codes = labeller.feed(outcomes, tests);
    let numbering = labeller.finish();
    // One chunk with every trajectory closes every parameter point: each code resolves.
    let labels = codes.iter().enumerate().map(|(i, &c)| numbering.resolve(i, c).expect("a code of this labeller")).collect();
    Classification { labels, attractors: numbering.attractors, warnings: numbering.warnings, pooled_branches: numbering.pooled_branches }
}

/// The warning that `pooled_branches` (branches found, branches pooled) were pooled, naming the
/// pooled attractor's id in `attractors`.
pub fn pool_warning(pooled_branches: Option<(usize, usize)>, attractors: &[Attractor]) -> Option<String> {
    let (found, pooled) = pooled_branches?;
    let id = attractors.iter().find(|a| a.pooled)?.id;
    Some(format!(
        "{found} distinct branches of fixed points, cycles and chaotic attractors found (a continuum of fixed points, cycles of many periods, or chaos cut by many windows?); the {pooled} smallest are pooled into attractor {id} (raise classify.max_attractors to keep more)"
    ))
}

/// Max-norm distance between two feature vectors.
pub fn max_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

impl Classification {
    /// The warning that branches beyond the cap were pooled, naming the pooled attractor's id as
    /// it is now.
    pub fn pool_warning(&self) -> Option<String> {
        pool_warning(self.pooled_branches, &self.attractors)
    }

    /// Merges fixed-point attractor `from` into `into`: labels, counts, fractions and observable
    /// ranges; the ids above `from` move down by one.
    pub fn merge(&mut self, into: u32, from: u32) {
        assert!(into != from, "an attractor cannot merge into itself");
        let new_id = renumber(&mut self.attractors, &[(into, from)], &[]);
        self.relabel(&new_id);
    }

    /// Renumbers the attractors so that `first` (ids, in this order) come first; the others keep
    /// their relative order. Labels follow.
    pub fn move_to_front(&mut self, first: &[u32]) {
        let new_id = renumber(&mut self.attractors, &[], first);
        self.relabel(&new_id);
    }

    /// Gives each label its new id.
    pub fn relabel(&mut self, new_id: &[u32]) {
        for l in self.labels.iter_mut() {
            *l = new_id[*l as usize];
        }
    }
}

/// Renumbers `attractors`: each `(into, from)` of `merges` (ids as given, applied in order) adds
/// `from` to `into` (count, fraction, observable ranges; `into` keeps the rest) and removes it;
/// then the survivors among `first` come first, in that order, and the others keep their order.
/// Returns the new id of every old one (a merged attractor's is its destination's).
pub fn renumber(attractors: &mut Vec<Attractor>, merges: &[(u32, u32)], first: &[u32]) -> Vec<u32> {
    let n = attractors.len();
    let mut root: Vec<usize> = (0..n).collect();
    let find = |root: &[usize], mut i: usize| {
        while root[i] != i {
            i = root[i];
        }
        i
    };
    for &(into, from) in merges {
        let (into, from) = (find(&root, into as usize), find(&root, from as usize));
        if into == from {
            continue;
        }
        root[from] = into;
        let gone = attractors[from].clone();
        let a = &mut attractors[into];
        a.count += gone.count;
        a.fraction += gone.fraction;
        for (s, g) in a.observables.iter_mut().zip(&gone.observables) {
            s.min = s.min.min(g.min);
            s.max = s.max.max(g.max);
        }
    }
    let mut order: Vec<usize> = first.iter().map(|&i| i as usize).filter(|&i| root[i] == i).collect();
    let mut listed = vec![false; n];
    order.iter().for_each(|&i| listed[i] = true);
    order.extend((0..n).filter(|&i| root[i] == i && !listed[i]));
    let mut new_id = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = new as u32;
    }
    for i in 0..n {
        new_id[i] = new_id[find(&root, i)];
    }
    let mut old: Vec<Option<Attractor>> = attractors.drain(..).map(Some).collect();
    *attractors = order
        .iter()
        .enumerate()
        .map(|(new, &o)| {
            let mut a = old[o].take().expect("each id once");
            a.id = new as u32;
            a
        })
        .collect();
    new_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_to_front_renumbers_labels() {
        let o = outcomes(&[(1, -1.0), (1, 1.0), (1, 1.0), (2, 9.0)]);
        let mut c = classify(&o, one_point(4), &[0], 1, &ClassifyOptions::default(), &tests(&|_, _| Stability::Minimum, &|_, _, _| false));
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

    /// `n` trajectories at one parameter point.
    fn one_point(n: usize) -> Layout {
        Layout { nx: n, ny: 1, samples: 1, x_param: false, y_param: false }
    }

    fn tests<'a>(stability: &'a (dyn Fn(usize, &[f64]) -> Stability + Sync), connected: &'a (dyn Fn(usize, &[f64], &[f64]) -> bool + Sync)) -> FixedPointTests<'a> {
        FixedPointTests { stability, cycle_stability: &|_, _, _| Stability::Unknown, connected, continued: &|_, _, _| None }
    }

    fn outcomes(points: &[(u32, f32)]) -> Outcomes {
        Outcomes {
            status: points.iter().map(|p| p.0).collect(),
            steps: vec![1; points.len()],
            observables: points.iter().flat_map(|p| [p.1, 0.0]).collect(),
            n_obs: 2,
            period: Vec::new(),
            lyapunov: Vec::new(),
            cycle_time: Vec::new(),
            memory: Vec::new(),
        }
    }

    #[test]
    fn clusters_and_specials() {
        // One parameter point: two minima at ±1 and some escapes.
        let o = outcomes(&[(1, -1.0), (1, -1.0001), (1, 1.0), (1, 0.9999), (1, 1.0), (2, 9.0), (3, -9.0), (4, 0.3)]);
        let c = classify(&o, one_point(8), &[0], 1, &ClassifyOptions::default(), &tests(&|_, _| Stability::Minimum, &|_, _, _| false));
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
        for (a, b) in locs {
            pts.push((1, a as f32));
            pts.push((1, b as f32));
        }
        let o = outcomes(&pts);
        let layout = Layout { nx: 5, ny: 1, samples: 2, x_param: true, y_param: false };
        let c = classify(&o, layout, &[0], 1, &ClassifyOptions::default(), &tests(&|_, _| Stability::Minimum, &|_, _, _| false));
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
        let opts = ClassifyOptions { max_attractors: 8, ..Default::default() };
        let c = classify(&o, one_point(1000), &[0], 1, &opts, &tests(&|_, _| Stability::Flat, &|_, _, _| false));
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
        let c = classify(&o, one_point(1000), &[0], 1, &opts, &tests(&|_, _| Stability::Flat, &|_, _, _| true));
        assert_eq!(c.attractors.len(), 1);
        assert_eq!(c.attractors[0].count, 1000);
        assert!(c.warnings[0].contains("continuum"), "{:?}", c.warnings);
    }
}
