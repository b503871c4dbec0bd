//! `linear`: dx/dt = k (x − a), the example of the fixed-point note (seeds/000).
//!
//! Exact: for k > 0, x → sign(x − a)·∞; for k < 0, x → a; for k = 0 every point is fixed.

use super::{Model, ObservableSpec, ParamSpec, StateSpec, SystemSpec};
use crate::real::Real;

pub(super) static SPEC: SystemSpec = SystemSpec {
    name: "linear",
    summary: "dx/dt = k (x - a): a repeller at a for k > 0, an attractor for k < 0",
    state: &[StateSpec { name: "x", default: 1.0, doc: "the state" }],
    params: &[
        ParamSpec::real("k", 1.0, "growth rate"),
        ParamSpec::real("a", 0.0, "the fixed point"),
    ],
    observables: &[
        ObservableSpec { name: "x", doc: "final state" },
        ObservableSpec { name: "loss", doc: "-k (x - a)^2 / 2, whose gradient flow this is" },
    ],
    wgsl: include_str!("../../shaders/systems/linear.wgsl"),
    default_axes: ("k=-1:1:256", "x=-2:2:256"),
};

/// The model of `linear` (parameters: k, a).
pub struct Linear;

impl Model for Linear {
    fn field<T: Real>(&self, p: &[T], x: &[T], v: &mut [T]) {
        v[0] = p[0] * (x[0] - p[1]);
    }

    fn loss<T: Real>(&self, p: &[T], x: &[T]) -> T {
        let d = x[0] - p[1];
        -T::of(0.5) * p[0] * d * d
    }
}
