//! `landau`: the Landau free energy F(m) = r m² + c m³ + u m⁴ + w m⁶ − h m (seeds/002),
//! flow dm/dt = −F'(m).
//!
//! Second order (c = h = w = 0, u > 0): m* = ±sqrt(−r/2u) for r < 0. First order (u < 0, w > 0):
//! ordered minima for r < u²/(3w), degenerate with m = 0 at r = u²/(4w).

use super::{Model, ObservableSpec, ParamSpec, StateSpec, SystemSpec};
use crate::lanes::{fma, Lane};
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
    loss_record: false,
    cooperative: false,
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

    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        let (r, c, u, w, h) = (p[0], p[1], p[2], p[3], p[4]);
        let m = x[0];
        let m2 = m * m;
        r * m2 + c * m2 * m + u * m2 * m2 + w * m2 * m2 * m2 - h * m
    }
}
