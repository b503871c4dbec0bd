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
    for iy in 0..ny {
        for ix in 0..nx {
            let first = (iy * nx + ix) * samples;
            let known: Vec<f64> = (first..first + samples).filter_map(&value).collect();
            let c = if known.is_empty() { missing } else { colour(known.iter().sum::<f64>() / known.len() as f64) };
            img.put_pixel(ix as u32, (ny - 1 - iy) as u32, Rgb(c));
        }
    }
    img
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
