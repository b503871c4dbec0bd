//! One attractor registry per view of `basinmap serve`: each tile is labelled on its own (the
//! labeller numbers its attractors by basin size within the tile), then its attractors are
//! matched to the view's, so that an attractor keeps its id and colour on every tile and at
//! every zoom level.
//!
//! A located attractor (fixed point, cycle, chaotic) is known by samples of where it is: the
//! parameter point (the view's parameter axes, scaled to 0…1 over the view) and the features of
//! an end state there. A tile's attractor goes to the view's attractor of the same kind and
//! period whose samples at the nearest sampled parameter point lie nearest in feature space,
//! when within [`MATCH_FRACTION`] of the features' scale; else it is new and gets the next id.
//! Fixed points move continuously with a parameter, so the nearest sampled parameter point is
//! where to compare. The other kinds (+inf, undecided, …) are one attractor each per view.
//!
//! The first tile registered (the whole view, at zoom 0) numbers the view's attractors as
//! `basinmap run` numbers that 256 × 256 map's; later tiles only add attractors after them,
//! so colours once given never change.

use crate::classify::Attractor;
use crate::render::palette;

/// How near (in the max-norm, relative to 1 + the features' size) a tile's end state must lie
/// to a known attractor's sample at the nearest sampled parameter point to be that attractor.
pub const MATCH_FRACTION: f64 = 0.1;
/// Samples kept per attractor: enough to follow a branch across the view.
const MAX_SAMPLES: usize = 4096;
/// Samples one tile adds per attractor.
const SAMPLES_PER_TILE: usize = 256;
/// End points of a tile's attractor compared with the known ones (spread over the tile).
const QUERIES: usize = 16;
/// Attractors sampled this much farther (in parameter, as a fraction of the view) than the
/// nearest one still compete: attractors are sampled at different parameter points, and one
/// already seen on a deeper tile there is sampled more densely than its neighbours.
const PARAM_SLACK: f64 = 0.05;

/// Where one trajectory of a tile ended: its parameter point scaled to the view and its features.
#[derive(Clone, Debug)]
pub struct EndPoint {
    pub at: [f64; 2],
    pub features: Vec<f64>,
}

struct Sample {
    at: [f64; 2],
    features: Vec<f64>,
}

/// The view's attractors, in the order they were found; `id` = index.
#[derive(Default)]
pub struct Registry {
    attractors: Vec<Attractor>,
    colours: Vec<[u8; 3]>,
    samples: Vec<Vec<Sample>>,
    /// Each attractor's slowest trajectory on the tile that found it: the reference of its
    /// shading on every tile (a tile shading against its own slowest would show seams).
    slowest: Vec<u32>,
}

impl Registry {
    pub fn attractors(&self) -> &[Attractor] {
        &self.attractors
    }

    pub fn colours(&self) -> &[[u8; 3]] {
        &self.colours
    }

    pub fn slowest(&self, id: u32) -> u32 {
        self.slowest.get(id as usize).copied().unwrap_or(0)
    }

    /// The view's ids of a tile's attractors: `local[k]` is the tile's attractor `k`; `ends(k)`
    /// gives end points of its trajectories (spread over the tile); `slowest[k]` its slowest
    /// trajectory's steps. Attractors not seen before are added.
    pub fn register(&mut self, local: &[Attractor], ends: &dyn Fn(usize) -> Vec<EndPoint>, slowest: &[u32]) -> Vec<u32> {
        let mut ids = Vec::with_capacity(local.len());
        // A tile's attractors are told apart by its labeller: they match only attractors known
        // before it, never each other.
        let known = self.attractors.len();
        for (k, a) in local.iter().enumerate() {
            let located = a.kind.is_located() && !a.pooled;
            let points = if located { ends(k) } else { Vec::new() };
            let found = if located { self.nearest(a, &points, known) } else { self.attractors.iter().position(|b| b.kind == a.kind && b.pooled == a.pooled) };
            let id = match found {
                Some(id) => id,
                None => {
                    let mut new = a.clone();
                    new.id = self.attractors.len() as u32;
                    new.count = 0;
                    new.fraction = 0.0;
                    self.attractors.push(new);
                    self.samples.push(Vec::new());
                    self.slowest.push(slowest.get(k).copied().unwrap_or(0));
                    // Appending keeps the colours already given (the palette numbers located
                    // attractors in order).
                    self.colours = palette::colours(&self.attractors);
                    self.attractors.len() - 1
                }
            };
            let kept = &mut self.samples[id];
            let room = MAX_SAMPLES.saturating_sub(kept.len()).min(SAMPLES_PER_TILE);
            let stride = points.len().div_ceil(room.max(1)).max(1);
            kept.extend(points.into_iter().step_by(stride).take(room).map(|p| Sample { at: p.at, features: p.features }));
            self.attractors[id].count += a.count;
            ids.push(id as u32);
        }
        ids
    }

    /// The attractor among the first `known` that `points` (end points of a tile's attractor
    /// like `a`) belong to.
    fn nearest(&self, a: &Attractor, points: &[EndPoint], known: usize) -> Option<usize> {
        let same = |b: &Attractor| b.kind == a.kind && b.period == a.period && !b.pooled;
        let mut votes = vec![0usize; self.attractors.len()];
        let stride = points.len().div_ceil(QUERIES).max(1);
        let queries: Vec<&EndPoint> = points.iter().step_by(stride).collect();
        for p in &queries {
            // Each attractor of this kind and period where it was sampled nearest to p's
            // parameter point: how far that is, and how near its end states lie to p's there.
            let candidates: Vec<(usize, f64, f64)> = self
                .attractors
                .iter()
                .zip(&self.samples)
                .enumerate()
                .take(known)
                .filter(|(_, (b, s))| same(b) && !s.is_empty())
                .map(|(id, (_, s))| {
                    let distance: Vec<f64> = s.iter().map(|s| param_distance(s.at, p.at)).collect();
                    let near = distance.iter().copied().fold(f64::INFINITY, f64::min);
                    let within = near * (1.0 + 1e-9) + 1e-12;
                    let df = s.iter().zip(&distance).filter(|&(_, &d)| d <= within).map(|(s, _)| feature_distance(&s.features, &p.features)).fold(f64::INFINITY, f64::min);
                    (id, near, df)
                })
                .collect();
            let nearest = candidates.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
            let scale = 1.0 + p.features.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let best = candidates.iter().filter(|c| c.1 <= nearest + PARAM_SLACK).min_by(|x, y| x.2.total_cmp(&y.2));
            if let Some(&(id, _, df)) = best {
                if df <= MATCH_FRACTION * scale {
                    votes[id] += 1;
                }
            }
        }
        // The attractor most of its end points belong to, if at least half do.
        let (id, &n) = votes.iter().enumerate().max_by_key(|(_, &n)| n)?;
        (n > 0 && 2 * n >= queries.len()).then_some(id)
    }
}

fn param_distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).abs().max((a[1] - b[1]).abs())
}

fn feature_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| if x.is_finite() && y.is_finite() { m.max((x - y).abs()) } else { f64::INFINITY })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Kind;

    fn attractor(kind: Kind, count: u64) -> Attractor {
        Attractor { id: 0, kind, stability: None, period: if kind == Kind::Fixed { 1 } else { 0 }, cycle_time: 0.0, forcing_period: 0.0, pooled: false, count, fraction: 0.0, fraction_se: None, representative: 0, observables: Vec::new(), phase: None }
    }

    fn at(x: f64, m: f64) -> EndPoint {
        EndPoint { at: [x, 0.0], features: vec![m] }
    }

    #[test]
    fn a_branch_that_moves_with_the_parameter_keeps_its_id_and_a_new_one_is_added() {
        let mut r = Registry::default();
        // The whole view: m* = ±√x at x = 0.1 … 0.9 (coarse), and +inf.
        let coarse: Vec<f64> = (1..10).map(|i| i as f64 / 10.0).collect();
        let local = [attractor(Kind::Fixed, 10), attractor(Kind::Fixed, 9), attractor(Kind::PosInf, 3)];
        let ends = |k: usize| match k {
            0 => coarse.iter().map(|&x| at(x, x.sqrt())).collect(),
            1 => coarse.iter().map(|&x| at(x, -x.sqrt())).collect(),
            _ => Vec::new(),
        };
        assert_eq!(r.register(&local, &ends, &[5, 5, 1]), vec![0, 1, 2]);
        let colours = r.colours().to_vec();
        // A zoomed tile between two coarse columns, its attractors found in the other order,
        // and one more (a branch at m = 3 that the coarse view missed).
        let fine: Vec<f64> = (0..16).map(|i| 0.42 + i as f64 * 0.001).collect();
        let local = [attractor(Kind::Fixed, 1), attractor(Kind::PosInf, 1), attractor(Kind::Fixed, 1), attractor(Kind::Fixed, 1)];
        let ends = |k: usize| match k {
            0 => fine.iter().map(|&x| at(x, -x.sqrt())).collect(),
            2 => fine.iter().map(|&x| at(x, x.sqrt())).collect(),
            3 => fine.iter().map(|&x| at(x, 3.0)).collect(),
            _ => Vec::new(),
        };
        assert_eq!(r.register(&local, &ends, &[1, 1, 1, 1]), vec![1, 2, 0, 3]);
        assert_eq!(&r.colours()[..3], &colours[..], "colours once given stay");
        assert_eq!(r.attractors().len(), 4);
        assert_eq!(r.slowest(0), 5);
        // Two new attractors of one tile, nearer each other than the match tolerance, stay two.
        let local = [attractor(Kind::Fixed, 1), attractor(Kind::Fixed, 1)];
        let ends = |k: usize| fine.iter().map(|&x| at(x, 5.0 + 0.1 * k as f64)).collect();
        assert_eq!(r.register(&local, &ends, &[1, 1]), vec![4, 5]);
    }
}
