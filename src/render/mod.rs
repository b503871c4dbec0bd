//! Pictures of a run: the basin image (one colour per attractor, shaded by convergence time), the
//! trainability map (runs that trained or not, shaded by their loss curve), their annotated
//! versions (axes, legend or colour bar, title) and curve figures (traces, 1-D scans, sweeps).
//! Figures are drawn once as SVG and exported to PNG and PDF (`export`); their words come from
//! `names` (symbols), `numbers` (ticks and values) and `legend` (attractors).

pub mod annotated;
pub mod basins;
pub mod curves;
pub mod export;
pub mod fonts;
pub mod legend;
pub mod lyapunov;
pub mod names;
pub mod numbers;
pub mod orbit;
pub mod palette;
pub mod pyramid;
pub mod scan;
pub mod side;
pub mod starts;
pub mod trainability;

use image::{Rgb, RgbImage};

/// An nx × ny map, x to the right and y upward: each pixel the mean of the colours
/// `colour(i)` of its `samples` trajectories (grid order, x fastest, samples innermost).
pub fn sample_mean_image(nx: usize, ny: usize, samples: usize, colour: impl Fn(usize) -> [f32; 3]) -> RgbImage {
    let mut img = RgbImage::new(nx as u32, ny as u32);
    for iy in 0..ny {
        for ix in 0..nx {
            let first = (iy * nx + ix) * samples;
            img.put_pixel(ix as u32, (ny - 1 - iy) as u32, Rgb(mean_pixel(first..first + samples, &colour)));
        }
    }
    img
}

/// An nx × ny map of a continuous quantity, x to the right and y upward: each pixel the colour
/// of the mean of its `samples` trajectories' values (those that have one: a mean of colours
/// would be off the colour scale), `missing` where none has.
pub fn mean_value_image(nx: usize, ny: usize, samples: usize, value: impl Fn(usize) -> Option<f64>, colour: impl Fn(f64) -> [u8; 3], missing: [u8; 3]) -> RgbImage {
    let mut img = RgbImage::new(nx as u32, ny as u32);
    let mut colours = ColourCache::new(colour);
    for iy in 0..ny {
        for ix in 0..nx {
            let first = (iy * nx + ix) * samples;
            let (sum, known) = (first..first + samples).filter_map(&value).fold((-0.0f64, 0usize), |(s, n), v| (s + v, n + 1));
            let c = if known == 0 { missing } else { colours.get(sum / known as f64) };
            img.put_pixel(ix as u32, (ny - 1 - iy) as u32, Rgb(c));
        }
    }
    img
}

/// `colour` remembered for the values last asked for, by their bits: a map's values repeat (a
/// count of steps, a filled region), and a colour map's spline is most of the cost of painting
/// a large map. A value that is not remembered is computed, so colours are `colour`'s exactly.
struct ColourCache<F> {
    colour: F,
    slots: Vec<Option<(u64, [u8; 3])>>,
}

impl<F: Fn(f64) -> [u8; 3]> ColourCache<F> {
    const SLOTS: usize = 1 << 12;

    fn new(colour: F) -> Self {
        ColourCache { colour, slots: vec![None; Self::SLOTS] }
    }

    fn get(&mut self, v: f64) -> [u8; 3] {
        let bits = v.to_bits();
        // Fibonacci hashing: the top bits of the product, spread over the slots.
        let slot = (bits.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - Self::SLOTS.trailing_zeros())) as usize;
        match self.slots[slot] {
            Some((b, c)) if b == bits => c,
            _ => {
                let c = (self.colour)(v);
                self.slots[slot] = Some((bits, c));
                c
            }
        }
    }
}

/// The mean of the colours `colour(i)` over `trajectories` (one pixel's samples), rounded.
pub fn mean_pixel(trajectories: std::ops::Range<usize>, colour: &impl Fn(usize) -> [f32; 3]) -> [u8; 3] {
    let n = trajectories.len() as f32;
    let mut sum = [0.0f32; 3];
    for i in trajectories {
        let c = colour(i);
        (0..3).for_each(|k| sum[k] += c[k]);
    }
    sum.map(|v| (v / n).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Remembered colours are the colour map's own, whichever values share a slot.
    #[test]
    fn a_cached_colour_is_the_colour_itself() {
        let colour = |v: f64| {
            let t = (v.sin() * 0.5 + 0.5).clamp(0.0, 1.0);
            [(255.0 * t) as u8, (255.0 * (1.0 - t)) as u8, (v.to_bits() % 251) as u8]
        };
        let mut cache = ColourCache::new(colour);
        // Many more values than slots, each asked for several times in a scrambled order.
        for round in 0..3u64 {
            for k in 0..20_000u64 {
                let v = ((k * 7919 + round * 104_729) % 20_000) as f64 * 0.37 - 1000.0;
                assert_eq!(cache.get(v), colour(v), "value {v}");
            }
        }
        assert_eq!(cache.get(-0.0), colour(-0.0));
        assert_eq!(cache.get(0.0), colour(0.0));
    }

    /// A pixel's colour is that of the mean of its known samples; with none known, `missing`.
    #[test]
    fn mean_value_image_averages_known_values() {
        // 2 x 1 pixels of 3 samples each.
        let values = [Some(1.0), None, Some(3.0), None, None, None];
        let img = mean_value_image(2, 1, 3, |i| values[i], |v| [v as u8, 0, 0], [9, 9, 9]);
        assert_eq!(img.get_pixel(0, 0).0, [2, 0, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [9, 9, 9]);
    }
}
