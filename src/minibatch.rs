//! Minibatches: which samples of its data set step n of trajectory i trains on.
//!
//! Each step draws B distinct samples out of n, uniformly: without replacement within the step,
//! independently from step to step (not shuffled epochs). The draw is selection sampling
//! (Knuth's Algorithm S): sample s is taken with probability (B − taken)/(n − s), decided by a
//! uniform of the counter-based generator at (trajectory, step) under the run's seed. The samples
//! come out in data order, so B = n takes every sample, in the order full-batch training sums
//! them: the same bits. A draw depends only on (seed, trajectory, step, sample), never on the
//! tiling, the engine or the precision; the test is in f32 arithmetic that WGSL rounds as Rust
//! does. WGSL twin: `mlp_select` in shaders/systems/mlp.wgsl.

use crate::rng::threefry2x32;

/// Where each lane of a trajectory pack stands, for the systems whose field depends on the
/// step's draw (an mlp's minibatches); the engines set it before each step's field.
#[derive(Clone, Debug)]
pub struct Draw {
    /// Off: the field is the full-batch one (fixed points, observables, analysis).
    pub on: bool,
    /// The generator's key for minibatches, from the run's seed ([`key`]).
    pub key: [u32; 2],
    /// Each lane's trajectory (its index in the whole run).
    pub index: Vec<u32>,
    /// Each lane's step (steps taken so far).
    pub step: Vec<u32>,
}

/// No draw: full-batch fields.
pub static OFF: Draw = Draw { on: false, key: [0, 0], index: Vec::new(), step: Vec::new() };

impl Draw {
    /// The draws of a run with `seed`, for `lanes` trajectories at once.
    pub fn new(seed: u64, lanes: usize) -> Self {
        Draw { on: true, key: key(seed), index: vec![0; lanes], step: vec![0; lanes] }
    }
}

/// The minibatch generator's key: the run's seed, its high word marked "MBAT" so that the
/// stream is apart from the start draws and the Langevin noise.
pub fn key(seed: u64) -> [u32; 2] {
    [seed as u32, ((seed >> 32) as u32) ^ 0x4D42_4154]
}

/// The two random words of samples 2q and 2q + 1 at (trajectory, step).
#[inline]
fn words(key: [u32; 2], index: u32, step: u32, pair: u32) -> [u32; 2] {
    threefry2x32([key[0] ^ pair.wrapping_mul(0x9E37_79B9), key[1]], [index, step])
}

/// A uniform in [0, 1) from a word (24 bits, exact in f32).
#[inline]
fn uniform(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// The batch size a trajectory's `batch` value stands for: rounded to the nearest integer
/// (halves up), within 1..=n. WGSL: `mlp_batch`.
pub fn batch_size(value: f64, n: usize) -> u32 {
    let b = (value + 0.5).floor();
    if b.is_nan() {
        return n as u32;
    }
    b.clamp(1.0, n as f64) as u32
}

/// Algorithm S over the samples 0, 1, …, n − 1 of one pass, for every lane of a pack.
pub struct Selector<'a> {
    draw: &'a Draw,
    n: u32,
    /// Samples each lane has still to take.
    need: Vec<u32>,
    /// Each lane's last random pair and which pair it is.
    cached: Vec<(u32, [u32; 2])>,
}

impl<'a> Selector<'a> {
    /// A pass over `n` samples taking `batch[j]` of them for lane `j`.
    pub fn new(draw: &'a Draw, n: usize, batch: Vec<u32>) -> Self {
        let lanes = batch.len();
        Selector { draw, n: n as u32, need: batch, cached: vec![(u32::MAX, [0, 0]); lanes] }
    }

    /// Whether lane `j` takes sample `s`; called for s = 0, 1, … in order for each lane.
    #[inline]
    pub fn take(&mut self, s: u32, j: usize) -> bool {
        let need = self.need[j];
        let left = self.n - s;
        let taken = need >= left
            || (need > 0 && {
                let pair = s / 2;
                if self.cached[j].0 != pair {
                    self.cached[j] = (pair, words(self.draw.key, self.draw.index[j], self.draw.step[j], pair));
                }
                uniform(self.cached[j].1[(s % 2) as usize]) * (left as f32) < (need as f32)
            });
        if taken {
            self.need[j] = need - 1;
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(index: u32, step: u32) -> Draw {
        let mut d = Draw::new(42, 1);
        d.index[0] = index;
        d.step[0] = step;
        d
    }

    fn taken(d: &Draw, n: usize, b: u32) -> Vec<u32> {
        let mut sel = Selector::new(d, n, vec![b]);
        (0..n as u32).filter(|&s| sel.take(s, 0)).collect()
    }

    #[test]
    fn takes_exactly_b_distinct_samples_in_order() {
        for (step, b) in [(0, 1), (1, 5), (2, 16), (3, 17), (4, 0)] {
            let t = taken(&draw(7, step), 17, b);
            assert_eq!(t.len(), b as usize);
            assert!(t.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(taken(&draw(1, 1), 9, 9), (0..9).collect::<Vec<_>>());
    }

    /// Every sample is taken with probability B/n: over many steps each count is within five
    /// standard deviations of its mean.
    #[test]
    fn every_sample_equally_likely() {
        let (n, b, steps) = (10usize, 3u32, 20_000u32);
        let mut counts = vec![0u32; n];
        for step in 0..steps {
            for s in taken(&draw(3, step), n, b) {
                counts[s as usize] += 1;
            }
        }
        let p = b as f64 / n as f64;
        let (mean, sd) = (steps as f64 * p, (steps as f64 * p * (1.0 - p)).sqrt());
        for c in counts {
            assert!((c as f64 - mean).abs() < 5.0 * sd, "{c} vs {mean} ± {sd}");
        }
    }

    #[test]
    fn batch_sizes_round_and_clamp() {
        assert_eq!(batch_size(2.5, 10), 3);
        assert_eq!(batch_size(2.49, 10), 2);
        assert_eq!(batch_size(0.0, 10), 1);
        assert_eq!(batch_size(1e9, 10), 10);
        assert_eq!(batch_size(f64::NAN, 10), 10);
    }
}
