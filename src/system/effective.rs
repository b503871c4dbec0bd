//! `effective`: the order-parameter loss of Ziyin & Ueda (seeds/001), eq. (6):
//!
//! ```text
//! l(b, γ) = − Σ_i d0^{2D} b^{2D} e_i² / (d0^D (σ² + d0)^D a_i b^{2D} + γ) + E[y²] + γ D d0² b²
//! ```
//!
//! with `a` the spectrum of E[xxᵀ] and `e = exy` = E[xy] in its eigenbasis. For D = 1 a
//! second-order transition at γ = ‖exy‖; for D ≥ 2 a first-order one, with b = 0 always a local
//! minimum. The operations follow shaders/systems/effective.wgsl in order.

use super::{Model, ObservableSpec, ParamSpec, StateSpec, SystemSpec};
use crate::lanes::Lane;
use std::borrow::Cow;
use crate::{Error, Result};

/// Parameter slots (scalars first, then the two vectors of one length n).
const D: usize = 0;
const D0: usize = 1;
const SIGMA2: usize = 2;
const GAMMA: usize = 3;
const EY2: usize = 4;
const N_SCALARS: usize = 5;

/// Depths above this would only overflow f32 (d0^{2D}); the paper's figures use D ≤ 3.
pub const MAX_DEPTH: f64 = 16.0;

pub(super) static SPEC: SystemSpec = SystemSpec {
    name: Cow::Borrowed("effective"),
    summary: Cow::Borrowed("the paper's order-parameter loss l(b, gamma), eq. (6) of Ziyin & Ueda"),
    formula: None,
    state: Cow::Borrowed(&[StateSpec::new("b", 0.5, "order parameter s|U|/d0")]),
    params: Cow::Borrowed(&[
        ParamSpec::integer("D", 1.0, "depth: number of hidden layers (>= 1)"),
        ParamSpec::real("d0", 1.0, "width of the hidden layers"),
        ParamSpec::real("sigma2", 0.5, "variance of the hidden-unit noise"),
        ParamSpec::real("gamma", 0.2, "weight decay"),
        ParamSpec::real("ey2", 1.0, "E[y^2]"),
        ParamSpec::vector("a", &[1.0, 0.5], "eigenvalues of E[xx^T]"),
        ParamSpec::vector("exy", &[0.4, 0.3], "E[xy] in the eigenbasis of E[xx^T]"),
    ]),
    observables: Cow::Borrowed(&[
        ObservableSpec::new("b", "final order parameter"),
        ObservableSpec::new("loss", "effective loss l(b, gamma)"),
    ]),
    wgsl: Cow::Borrowed(include_str!("../../shaders/systems/effective.wgsl")),
    default_axes: (Cow::Borrowed("gamma=0.01:0.8:512"), Cow::Borrowed("b=-1.5:1.5:512")),
    features: None,
    random_init: false,
    init_blocks: Cow::Borrowed(&[]),
    step_blocks: Cow::Borrowed(&[]),
    loss_record: false,
    cooperative: false,
    clock: None,
};

/// The model of `effective`.
pub struct Effective;

#[inline(always)]
fn int_pow<T: Lane>(base: T, n: u32) -> T {
    let mut r = T::one();
    for _ in 0..n {
        r = r * base;
    }
    r
}

/// The depth, the same in every lane (an integer parameter is never a grid axis).
#[inline(always)]
fn depth<T: Lane>(p: &[T]) -> u32 {
    let d = p[D].uniform().round();
    if (0.0..=u32::MAX as f64).contains(&d) {
        d as u32
    } else {
        1
    }
}

/// Splits the flat parameters into the scalars and the two vectors `a`, `exy`.
#[inline(always)]
fn vectors<T: Lane>(p: &[T]) -> (&[T], &[T]) {
    let n = (p.len() - N_SCALARS) / 2;
    (&p[N_SCALARS..N_SCALARS + n], &p[N_SCALARS + n..N_SCALARS + 2 * n])
}

impl Model for Effective {
    const STATE_LEN: usize = 1;

    #[inline(always)]
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        let b = x[0];
        let dd = depth(p);
        let (d0, gamma) = (p[D0], p[GAMMA]);
        let big_b = int_pow(b * b, dd);
        let d_big_b = T::of(2.0) * T::of(dd as f64) * int_pow(b, 2 * dd - 1);
        let num = int_pow(d0, 2 * dd);
        let alpha = int_pow(d0 * (p[SIGMA2] + d0), dd);
        let (a, exy) = vectors(p);
        let mut s = T::zero();
        for (&ai, &e) in a.iter().zip(exy) {
            let q = alpha * ai * big_b + gamma;
            s = s + num * e * e * gamma / (q * q);
        }
        v[0] = s * d_big_b - T::of(2.0) * gamma * T::of(dd as f64) * d0 * d0 * b;
    }

    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        let b = x[0];
        let dd = depth(p);
        let (d0, gamma) = (p[D0], p[GAMMA]);
        let big_b = int_pow(b * b, dd);
        let num = int_pow(d0, 2 * dd);
        let alpha = int_pow(d0 * (p[SIGMA2] + d0), dd);
        let (a, exy) = vectors(p);
        let mut s = T::zero();
        for (&ai, &e) in a.iter().zip(exy) {
            s = s + num * big_b * e * e / (alpha * ai * big_b + gamma);
        }
        -s + p[EY2] + gamma * T::of(dd as f64) * d0 * d0 * b * b
    }

    fn validate(&self, p: &[f64]) -> Result<()> {
        let depth = p[D];
        if depth.fract() != 0.0 || !(1.0..=MAX_DEPTH).contains(&depth) {
            return Err(Error::input(format!(
                "effective: D must be a whole number from 1 to {MAX_DEPTH}, got {depth}"
            )));
        }
        if p[D0] <= 0.0 {
            return Err(Error::input(format!("effective: d0 must be positive, got {}", p[D0])));
        }
        if p[SIGMA2] < 0.0 {
            return Err(Error::input(format!("effective: sigma2 must be >= 0, got {}", p[SIGMA2])));
        }
        let (a, _) = vectors(p);
        if let Some(bad) = a.iter().find(|&&ai| ai < 0.0) {
            return Err(Error::input(format!(
                "effective: the eigenvalues a of E[xx^T] must be >= 0, got {bad}"
            )));
        }
        Ok(())
    }
}
