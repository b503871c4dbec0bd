//! basins.png: one pixel per grid point, x to the right and y upward, coloured by attractor and
//! darkened with the (log) number of steps the trajectory took, so slow convergence near basin
//! boundaries and critical points shows. With several samples per point the pixel mixes its
//! samples' colours: the basin fractions, as a colour.

use image::RgbImage;

/// Paints the basin image of an nx × ny map with `samples` trajectories per point. `labels` and
/// `steps` are in grid order (x fastest, y ascending, samples innermost); `colours[id]` is the
/// colour of attractor `id`.
pub fn basin_image(nx: usize, ny: usize, samples: usize, labels: &[u32], steps: &[u32], colours: &[[u8; 3]]) -> RgbImage {
    // Shade each attractor relative to its own slowest trajectory.
    let mut slowest = vec![0u32; colours.len()];
    for (&l, &s) in labels.iter().zip(steps) {
        slowest[l as usize] = slowest[l as usize].max(s);
    }
    super::sample_mean_image(nx, ny, samples, |i| {
        let l = labels[i] as usize;
        shaded(colours[l], steps[i], slowest[l])
    })
}

/// The factors an attractor's colour is shaded by: its fastest trajectories full colour, its
/// slowest at 0.6 of it (darker would no longer match the legend's swatch).
pub const SHADE_RANGE: (f32, f32) = (1.0, 0.6);

/// The legend's key to the shading: a grey strip from full to the slowest shade.
pub fn shade_key() -> super::side::ShadeKey {
    let grey = |f: f32| [(200.0 * f).round() as u8; 3];
    super::side::ShadeKey { light: grey(SHADE_RANGE.0), dark: grey(SHADE_RANGE.1), text: "darker: more steps to settle".into() }
}

/// The colour of a trajectory that took `steps` to reach an attractor of colour `colour` whose
/// slowest trajectory took `slowest`: darker the slower, on a log scale.
pub fn shaded(colour: [u8; 3], steps: u32, slowest: u32) -> [f32; 3] {
    let t = if slowest > 0 { (1.0 + steps as f32).ln() / (1.0 + slowest as f32).ln() } else { 0.0 };
    let shade = SHADE_RANGE.0 - (SHADE_RANGE.0 - SHADE_RANGE.1) * t;
    colour.map(|c| c as f32 * shade)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_points_up_and_slow_is_darker() {
        let labels = [0, 1, 0, 0];
        let steps = [1, 5, 100, 1];
        let img = basin_image(2, 2, 1, &labels, &steps, &[[200, 100, 50], [10, 20, 30]]);
        // Row iy = 0 is the bottom row of the picture.
        assert_eq!(img.get_pixel(1, 1).0, [10, 20, 30].map(|v: u8| (v as f32 * 0.6).round() as u8));
        assert!(img.get_pixel(0, 0).0[0] < img.get_pixel(1, 0).0[0]);
        assert_eq!(img.get_pixel(0, 1).0[0], img.get_pixel(1, 0).0[0]);
    }

    #[test]
    fn samples_mix_colours() {
        // One point, two samples reaching different attractors in one step each.
        let img = basin_image(1, 1, 2, &[0, 1], &[0, 0], &[[200, 0, 0], [0, 100, 0]]);
        assert_eq!(img.get_pixel(0, 0).0, [100, 50, 0]);
    }
}
