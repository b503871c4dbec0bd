//! Pictures of a run: the basin image (one colour per attractor, shaded by convergence time), the
//! trainability map (runs that trained or not, shaded by their loss curve), their annotated
//! versions (axes, legend or colour bar, title) and curve figures (traces, 1-D scans, sweeps).

pub mod annotated;
pub mod basins;
pub mod curves;
pub mod fonts;
pub mod legend;
pub mod numbers;
pub mod palette;
pub mod pyramid;
pub mod scan;
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
