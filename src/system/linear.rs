//! `linear`: dx/dt = k (x − a), the example of the fixed-point note (seeds/000).
//!
//! Exact: for k > 0, x → sign(x − a)·∞; for k < 0, x → a; for k = 0 every point is fixed.

use super::{Model, ObservableSpec, ParamSpec, StateSpec, SystemSpec};
use crate::lanes::Lane;
use std::borrow::Cow;

pub(super) static SPEC: SystemSpec = SystemSpec {
    name: Cow::Borrowed("linear"),
    summary: Cow::Borrowed("dx/dt = k (x - a): a repeller at a for k > 0, an attractor for k < 0"),
    formula: Some("-k*(x - a)^2/2"),
    state: Cow::Borrowed(&[StateSpec::new("x", 1.0, "the state")]),
    params: Cow::Borrowed(&[
        ParamSpec::real("k", 1.0, "growth rate"),
        ParamSpec::real("a", 0.0, "the fixed point"),
    ]),
    observables: Cow::Borrowed(&[
        ObservableSpec::new("x", "final state"),
        ObservableSpec::new("loss", "-k (x - a)^2 / 2, whose gradient flow this is"),
    ]),
    wgsl: Cow::Borrowed(include_str!("../../shaders/systems/linear.wgsl")),
    default_axes: (Cow::Borrowed("k=-1:1:256"), Cow::Borrowed("x=-2:2:256")),
    features: None,
    random_init: false,
    init_blocks: Cow::Borrowed(&[]),
    step_blocks: Cow::Borrowed(&[]),
    loss_record: false,
    cooperative: false,
    clock: None,
};

/// The model of `linear` (parameters: k, a).
pub struct Linear;

impl Model for Linear {
    const STATE_LEN: usize = 1;

    #[inline(always)]
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        v[0] = p[0] * (x[0] - p[1]);
    }

    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        let d = x[0] - p[1];
        -T::of(0.5) * p[0] * d * d
    }
}
