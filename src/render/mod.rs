//! Pictures of a run: the basin image (one colour per attractor, shaded by convergence time), the
//! trainability map (runs that trained or not, shaded by their loss curve), their annotated
//! versions (axes, legend or colour bar, title) and curve figures (traces, 1-D scans, sweeps).

pub mod annotated;
pub mod basins;
pub mod curves;
pub mod fonts;
pub mod palette;
pub mod trainability;

use image::{Rgb, RgbImage};

/// An nx × ny map, x to the right and y upward: each pixel the mean of the colours
/// `colour(i)` of its `samples` trajectories (grid order, x fastest, samples innermost).
pub fn sample_mean_image(nx: usize, ny: usize, samples: usize, colour: impl Fn(usize) -> [f32; 3]) -> RgbImage {
    let mut img = RgbImage::new(nx as u32, ny as u32);
    for iy in 0..ny {
        for ix in 0..nx {
            let mut sum = [0.0f32; 3];
            for i in (iy * nx + ix) * samples..(iy * nx + ix + 1) * samples {
                let c = colour(i);
                (0..3).for_each(|k| sum[k] += c[k]);
            }
            let px = Rgb(sum.map(|v| (v / samples as f32).round() as u8));
            img.put_pixel(ix as u32, (ny - 1 - iy) as u32, px);
        }
    }
    img
}
