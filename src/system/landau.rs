//! `landau`: the Landau free energy F(m) = r m² + c m³ + u m⁴ + w m⁶ − h m (seeds/002),
//! flow dm/dt = −F'(m).
//!
//! Second order (c = h = w = 0, u > 0): m* = ±sqrt(−r/2u) for r < 0. First order (u < 0, w > 0):
//! ordered minima for r < u²/(3w), degenerate with m = 0 at r = u²/(4w).

use super::{Model, ObservableSpec, ParamSpec, StateSpec, SystemSpec};
use crate::lanes::{eq, fma, gt, select, Lane};
use std::borrow::Cow;

pub(super) static SPEC: SystemSpec = SystemSpec {
    name: Cow::Borrowed("landau"),
    summary: Cow::Borrowed("F(m) = r m^2 + c m^3 + u m^4 + w m^6 - h m, flow dm/dt = -F'(m)"),
    formula: Some("r*m^2 + c*m^3 + u*m^4 + w*m^6 - h*m"),
    state: Cow::Borrowed(&[StateSpec::new("m", 0.5, "order parameter")]),
    params: Cow::Borrowed(&[
        ParamSpec::real("r", -1.0, "quadratic coefficient (reduced temperature)"),
        ParamSpec::real("c", 0.0, "cubic coefficient"),
        ParamSpec::real("u", 1.0, "quartic coefficient"),
        ParamSpec::real("w", 0.0, "sextic coefficient"),
        ParamSpec::real("h", 0.0, "external field"),
    ]),
    observables: Cow::Borrowed(&[
        ObservableSpec::new("m", "final order parameter"),
        ObservableSpec::new("loss", "free energy F(m)"),
    ]),
    wgsl: Cow::Borrowed(include_str!("../../shaders/systems/landau.wgsl")),
    default_axes: (Cow::Borrowed("r=-1:1:512"), Cow::Borrowed("m=-1.5:1.5:512")),
    features: None,
    random_init: false,
    init_blocks: Cow::Borrowed(&[]),
    step_blocks: Cow::Borrowed(&[]),
    loss_record: false,
    cooperative: false,
    clock: None,
};

/// The model of `landau` (parameters: r, c, u, w, h).
pub struct Landau;

impl Model for Landau {
    const STATE_LEN: usize = 1;

    #[inline(always)]
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        let mut k = [T::zero(); 5];
        self.coefficients(p, &mut k);
        self.field_of_coefficients(&k, x, v);
    }

    /// 2r, 3c, 4u, 6w and h.
    #[inline(always)]
    fn coefficients<T: Lane>(&self, p: &[T], k: &mut [T]) {
        let (r, c, u, w, h) = (p[0], p[1], p[2], p[3], p[4]);
        k[..5].copy_from_slice(&[T::of(2.0) * r, T::of(3.0) * c, T::of(4.0) * u, T::of(6.0) * w, h]);
    }

    #[inline(always)]
    fn field_of_coefficients<T: Lane>(&self, k: &[T], x: &[T], v: &mut [T]) {
        let (r2, c3, u4, w6, h) = (k[0], k[1], k[2], k[3], k[4]);
        let m = x[0];
        let m2 = m * m;
        // F'(m) = ((6w m² + 4u) m² + (3c m + 2r)) m − h in Horner form with fused multiply-adds:
        // five operations a step. landau.wgsl computes the same.
        let inner = fma(fma(w6, m2, u4), m2, fma(c3, m, r2));
        v[0] = -fma(inner, m, -h);
    }

    const GD_MAP: bool = true;

    /// x + lr·(h − F'(m)) = a0 + a1 m + a2 m² + a3 m³ + a5 m⁵ with a0 = lr h, a1 = 1 − 2lr r,
    /// a2 = −3lr c, a3 = −4lr u, a5 = −6lr w. A zero a0 or a2 is −0, which adds nothing to any
    /// sum, so that the reduced form below gives the full form's bits when c = h = 0.
    #[inline(always)]
    fn gd_map_coefficients<T: Lane>(&self, p: &[T], lr: T, bound: T, k: &mut [T]) -> bool {
        let (r, c, u, w, h) = (p[0], p[1], p[2], p[3], p[4]);
        let (zero, minus_zero) = (T::zero(), T::of(-0.0));
        let (odd_c, odd_h) = (eq(c, zero), eq(h, zero));
        k[0] = select(odd_h, minus_zero, lr * h);
        // One rounding (a fused 1 − lr·2r), which a GPU compiler cannot contract differently.
        k[1] = fma(-lr, T::of(2.0) * r, T::one());
        k[2] = select(odd_c, minus_zero, -(lr * (T::of(3.0) * c)));
        k[3] = -(lr * (T::of(4.0) * u));
        k[4] = -(lr * (T::of(6.0) * w));
        // The full form multiplies a2 = −0 by m², which is NaN, not −0, once m² overflows.
        let squares_finite = T::all(gt(T::of(f64::INFINITY), bound * bound));
        T::all(odd_c) && T::all(odd_h) && squares_finite
    }

    /// Five fused operations, or four in the reduced form (c = h = 0: an odd polynomial),
    /// against seven for the field and the step.
    #[inline(always)]
    fn gd_map<T: Lane>(&self, k: &[T], reduced: bool, x: &mut [T]) {
        let m = x[0];
        let m2 = m * m;
        let odd = fma(fma(k[4], m2, k[3]), m2, k[1]);
        x[0] = if reduced { m * odd } else { fma(k[2], m2, fma(m, odd, k[0])) };
    }

    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        let (r, c, u, w, h) = (p[0], p[1], p[2], p[3], p[4]);
        let m = x[0];
        let m2 = m * m;
        r * m2 + c * m2 * m + u * m2 * m2 + w * m2 * m2 * m2 - h * m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map_coefficients(r: f32, c: f32, u: f32, w: f32, h: f32, lr: f32, bound: f32) -> ([f32; 5], bool) {
        let mut k = [0.0f32; 5];
        let reduced = Landau.gd_map_coefficients(&[r, c, u, w, h], lr, bound, &mut k);
        (k, reduced)
    }

    proptest! {
        /// The map is one step of gradient descent: m + lr·field(m), up to rounding (in f64).
        #[test]
        fn the_map_is_a_gradient_descent_step(r in -2.0f64..2.0, c in -1.0f64..1.0, u in -2.0f64..2.0, w in 0.0f64..2.0,
                                              h in -0.5f64..0.5, lr in 1e-4f64..0.1, m in -3.0f64..3.0) {
            let p = [r, c, u, w, h];
            let mut v = [0.0];
            Landau.field(&p, &[m], &mut v);
            let mut k = [0.0; 5];
            Landau.gd_map_coefficients(&p, lr, 1e6, &mut k);
            let mut x = [m];
            Landau.gd_map(&k, false, &mut x);
            let step = m + lr * v[0];
            prop_assert!((x[0] - step).abs() <= 1e-12 * (1.0 + step.abs() + (lr * v[0]).abs()), "{} vs {step}", x[0]);
        }

        /// With c = h = 0 the reduced form gives the full form's bits, at any state within the
        /// bound, signed zeros included.
        #[test]
        fn the_reduced_form_gives_the_full_forms_bits(r in -2.0f32..2.0, u in -2.0f32..2.0, w in -2.0f32..2.0, lr in 1e-4f32..0.5,
                                                      m in prop_oneof![-1e6f32..1e6, -3.0f32..3.0, Just(0.0f32), Just(-0.0f32)],
                                                      c_sign in prop::bool::ANY, h_sign in prop::bool::ANY) {
            let zero = |negative: bool| if negative { -0.0f32 } else { 0.0 };
            let (k, reduced) = map_coefficients(r, zero(c_sign), u, w, zero(h_sign), lr, 1e6);
            prop_assert!(reduced);
            let (mut full, mut short) = ([m], [m]);
            Landau.gd_map(&k, false, &mut full);
            Landau.gd_map(&k, true, &mut short);
            prop_assert_eq!(full[0].to_bits(), short[0].to_bits(), "m = {}: {} vs {}", m, full[0], short[0]);
        }
    }

    /// The reduced form is refused where it would differ: c or h nonzero, or a bound whose square
    /// overflows (the full form's −0·m² is then NaN).
    #[test]
    fn the_reduced_form_only_where_it_is_exact() {
        assert!(!map_coefficients(-1.0, 0.1, 1.0, 0.0, 0.0, 0.01, 1e6).1);
        assert!(!map_coefficients(-1.0, 0.0, 1.0, 0.0, 1e-3, 0.01, 1e6).1);
        assert!(!map_coefficients(-1.0, 0.0, 1.0, 0.0, 0.0, 0.01, 1e20).1);
        assert!(map_coefficients(-1.0, 0.0, 1.0, 0.0, 0.0, 0.01, 1e19).1);
    }
}
