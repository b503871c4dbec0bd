//! The largest Lyapunov exponent λ₁ as colour, one scale for `lyapunov_annotated.png` and
//! `basinmap serve`'s lyapunov layer: signed, order (λ₁ < 0) blue, chaos (λ₁ > 0) red, white at
//! 0, on a scale symmetric about 0.

use super::side::MISSING;
use crate::scenario::ColourMap;
use image::RgbImage;

/// The scale's reach ±R over exponents: the largest λ₁, or the most negative finite one up to
/// 1 if that is more (superstable points reach far below 0, −∞ at a multiplier 0, and would
/// wash everything else out), at least 1e-3. `None` without a finite value.
pub fn reach(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (lo, hi) = values.into_iter().filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (lo <= hi).then(|| hi.max(lo.abs().min(1.0)).max(1e-3))
}

/// What a trajectory's λ₁ counts as on a scale of `reach`: itself within ±reach, beyond it the
/// scale's end (a superstable point's −∞ the bottom); `None` for none (a diverged run's NaN, an
/// overflow's +∞).
pub fn shown(l: f64, reach: f64) -> Option<f64> {
    (l.is_finite() || l == f64::NEG_INFINITY).then(|| l.clamp(-reach, reach))
}

/// The colour of λ₁ `l` on a scale of `reach`.
pub fn colour(l: f64, reach: f64) -> [u8; 3] {
    super::palette::continuous(ColourMap::Diverging, 0.5 + 0.5 * (l / reach).clamp(-1.0, 1.0))
}

/// The nx × ny map of `lyapunov` (grid order, `samples` per pixel), x to the right and y
/// upward: each pixel the colour of the mean of its samples' shown values, grey where none has
/// one.
pub fn image(nx: usize, ny: usize, samples: usize, lyapunov: &[f32], reach: f64) -> RgbImage {
    super::mean_value_image(nx, ny, samples, |i| shown(lyapunov[i] as f64, reach), |v| colour(v, reach), MISSING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_reaches_the_largest_exponent_or_down_to_minus_one() {
        assert_eq!(reach([0.3, -0.2]), Some(0.3));
        assert_eq!(reach([0.3, -5.0, f64::NEG_INFINITY]), Some(1.0));
        assert_eq!(reach([-0.5, f64::NAN]), Some(0.5));
        assert_eq!(reach([0.0]), Some(1e-3));
        assert_eq!(reach([f64::NAN, f64::INFINITY]), None);
    }

    #[test]
    fn superstable_points_take_the_bottom_and_missing_values_none() {
        assert_eq!(shown(f64::NEG_INFINITY, 0.5), Some(-0.5));
        assert_eq!(shown(-3.0, 0.5), Some(-0.5));
        assert_eq!(shown(0.25, 0.5), Some(0.25));
        assert_eq!(shown(f64::NAN, 0.5), None);
        assert_eq!(shown(f64::INFINITY, 0.5), None);
        let [r, g, b] = colour(0.0, 1.0);
        assert!(r > 230 && g > 230 && b > 230, "white at 0: {r} {g} {b}");
        let ([r0, _, b0], [r1, _, b1]) = (colour(-1.0, 1.0), colour(1.0, 1.0));
        assert!(b0 > r0 + 60 && r1 > b1 + 60, "blue below, red above");
        // Samples of a pixel average their values, not their colours; none: grey.
        let img = image(2, 1, 2, &[-1.0, 1.0, f32::NAN, f32::NAN], 1.0);
        assert_eq!(img.get_pixel(0, 0).0, colour(0.0, 1.0));
        assert_eq!(img.get_pixel(1, 0).0, MISSING);
    }
}
