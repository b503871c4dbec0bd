//! Networks as dynamical systems: the state is every weight of a fully connected network with
//! D hidden layers of width d0 and a scalar output, and the flow is gradient descent on its loss.
//!
//! * [`deep_linear`]: a deep linear network on the population loss in closed form (models.md §4),
//!   with dropout-like noise on the hidden units and weight decay — the system of Ziyin & Ueda.
//! * [`mlp`]: the same layers with an activation, on a finite data set ([`data`]), with standard
//!   or mean-field parameterisation and one learning rate per layer.
//!
//! The weights are laid out layer by layer, row-major: W1 (d0×d), W2..WD (d0×d0), then U (1×d0)
//! (for D = 0 the net is U (1×d) alone). Starting weights are i.i.d. N(0, init_scale²), drawn
//! on the device from a counter-based generator ([`crate::rng`]), plus the start values of the
//! state (0 unless set, e.g. by an axis over one weight).
//!
//! Fixed points are told apart by invariants — the loss and the end-to-end map — rather than by
//! raw weights, whose minima are manifolds (sign flips and, without noise, rotations).

pub mod data;
pub mod deep_linear;
pub mod mlp;

use super::{ObservableSpec, ParamSpec, StateSpec, SystemSpec, Text};
use crate::lanes::{self, Lane};
use crate::scenario::{NetworkOptions, ParamValue};
use crate::{Error, Result};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

pub use deep_linear::DeepLinear;
pub use mlp::Mlp;

/// The most weights one trajectory may have. On the GPU a network's state lives in workgroup
/// memory with its work arrays (shaders/coop.wgsl), which the adapter's limit bounds further
/// (the GPU engine says so).
pub const MAX_WEIGHTS: usize = 8192;
/// The deepest network basinmap builds.
pub const MAX_DEPTH: usize = 16;

/// The shape of a network: D hidden layers of width d0 on inputs of dimension d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub depth: usize,
    pub width: usize,
    pub dim: usize,
}

impl Layout {
    /// Inputs of layer `l` (1-based; layer depth + 1 is the output row U).
    pub fn fan_in(&self, l: usize) -> usize {
        if l == 1 {
            self.dim
        } else {
            self.width
        }
    }
    /// Offset of layer `l`'s weights in the state.
    pub fn offset(&self, l: usize) -> usize {
        if l == 1 {
            0
        } else {
            self.width * self.dim + (l - 2) * self.width * self.width
        }
    }
    /// Offset of layer `l`'s input in activations laid out as x (d), then h_1..h_D (d0 each).
    pub fn input_offset(&self, l: usize) -> usize {
        if l == 1 {
            0
        } else {
            self.dim + (l - 2) * self.width
        }
    }
    /// The output row U.
    pub fn output(&self) -> std::ops::Range<usize> {
        let o = self.offset(self.depth + 1);
        o..o + self.fan_in(self.depth + 1)
    }
    pub fn n_weights(&self) -> usize {
        self.output().end
    }
    /// The larger of width and input dimension: the longest vector a layer handles.
    pub fn widest(&self) -> usize {
        self.width.max(self.dim)
    }
    /// State names: `W{l}_{row}_{col}` for the hidden layers, `U_{col}` for the output row.
    pub fn weight_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.n_weights());
        for l in 1..=self.depth {
            for i in 0..self.width {
                for k in 0..self.fan_in(l) {
                    names.push(format!("W{l}_{i}_{k}"));
                }
            }
        }
        names.extend((0..self.fan_in(self.depth + 1)).map(|k| format!("U_{k}")));
        names
    }
    /// WGSL constants of the layout.
    fn wgsl_constants(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "const NET_DEPTH: u32 = {}u;", self.depth);
        let _ = writeln!(s, "const NET_WIDTH: u32 = {}u;", self.width);
        let _ = writeln!(s, "const NET_DIM: u32 = {}u;", self.dim);
        let _ = writeln!(s, "const NET_WIDEST: u32 = {}u;", self.widest());
        let _ = writeln!(s, "const NET_U: u32 = {}u;", self.output().start);
        let (w, d, depth) = (self.width, self.dim, self.depth);
        // Sizes of the work arrays, and offsets that would be negative for D = 0
        // (a constant expression that wraps is an error in WGSL, so the host computes them).
        let _ = writeln!(s, "const NET_SQ_LEN: u32 = {}u;", (depth * w * w).max(1));
        let _ = writeln!(s, "const NET_ACT_LEN: u32 = {}u;", d + depth * w);
        let _ = writeln!(s, "const NET_HIDDEN_LEN: u32 = {}u;", (depth * w).max(1));
        let _ = writeln!(s, "const NET_WW: u32 = {}u;", w * w);
        let _ = writeln!(s, "const NET_T_LEN: u32 = {}u;", w * self.widest());
        let _ = writeln!(s, "const NET_LAST_SQ: u32 = {}u;", depth.saturating_sub(1) * w * w);
        let _ = writeln!(s, "const NET_LAST_ACT: u32 = {}u;", if depth == 0 { 0 } else { d + (depth - 1) * w });
        s
    }
}

/// Squared Euclidean norm.
#[inline(always)]
pub fn sq_norm<T: Lane>(w: &[T]) -> T {
    w.iter().fold(T::zero(), |s, &v| s + v * v)
}

/// The regulariser R(w) = ‖w‖^p (p = 2: the sum of squared Frobenius norms). WGSL:
/// `net_regulariser`, whose branch on p = 2 is a select per lane here.
#[inline(always)]
pub fn regulariser<T: Lane>(w: &[T], p: T) -> T {
    let r2 = sq_norm(w);
    let two = lanes::eq(p, T::of(2.0));
    if T::all(two) {
        return r2;
    }
    lanes::select(two, r2, lanes::powf(r2, p * T::of(0.5)))
}

/// c with ∇R(w) = c·w: p‖w‖^{p−2} (2 for p = 2; 0 at w = 0, where ∇R vanishes for p > 1).
#[inline(always)]
pub fn regulariser_slope<T: Lane>(w: &[T], p: T) -> T {
    let two = lanes::eq(p, T::of(2.0));
    if T::all(two) {
        return T::of(2.0);
    }
    let r2 = sq_norm(w);
    let general = lanes::select(lanes::eq(r2, T::zero()), T::zero(), p * lanes::powf(r2, p * T::of(0.5) - T::one()));
    lanes::select(two, T::of(2.0), general)
}

/// The order parameter b = s‖U‖/d0, s the sign of U's first entry (models.md §4).
pub fn order_parameter<T: Lane>(layout: &Layout, w: &[T], d0: T) -> T {
    let u = &w[layout.output()];
    let b = lanes::sqrt(sq_norm(u)) / d0;
    lanes::select(lanes::gt(T::zero(), u[0]), -b, b)
}

/// ‖c_{D+1} U · c_D W_D ⋯ c_1 W_1‖: the norm of the end-to-end linear map (the scales c_l are
/// the parameterisation's; all 1 for `deep-linear`).
pub fn end_to_end_norm<T: Lane>(layout: &Layout, w: &[T], scales: &[T]) -> T {
    let u = layout.output();
    let mut row: Vec<T> = w[u].iter().map(|&v| v * scales[layout.depth]).collect();
    for l in (1..=layout.depth).rev() {
        let n = layout.fan_in(l);
        let o = layout.offset(l);
        let mut next = vec![T::zero(); n];
        for (k, nk) in next.iter_mut().enumerate() {
            let mut acc = T::zero();
            for (i, &r) in row.iter().enumerate() {
                acc = acc + r * w[o + i * n + k];
            }
            *nk = acc * scales[l - 1];
        }
        row = next;
    }
    lanes::sqrt(sq_norm(&row))
}

/// Index of `e2e_norm` among a network's observables.
pub const E2E_NORM: usize = 4;

/// Below this norm of the end-to-end map a fixed point has learned nothing: the trivial phase.
/// (Near w = 0 a D-layer net's gradient is O(|w|^D), so the stop rule leaves weights of about
/// tol^{1/D}; their product, the end-to-end map, is far smaller.)
pub const TRIVIAL_E2E: f64 = 1e-3;

/// The named phase of an end state whose end-to-end norm is `e2e` (an attractor takes the phase
/// of most of its trajectories).
pub fn phase_of(e2e: f64) -> crate::classify::Phase {
    use crate::classify::Phase;
    if e2e < TRIVIAL_E2E {
        Phase::Trivial
    } else {
        Phase::Learning
    }
}

/// Observables every network reports, in this order after `loss`.
const COMMON_OBSERVABLES: [ObservableSpec; 5] = [
    ObservableSpec::new("loss", "the objective at the end: fit + gamma * reg"),
    ObservableSpec::new("fit", "the data term of the loss (without weight decay)"),
    ObservableSpec::new("reg", "the regulariser R(w) = |w|^reg_power"),
    ObservableSpec::new("b", "order parameter s|U|/d0, s the sign of U's first entry"),
    ObservableSpec::new("e2e_norm", "norm of the end-to-end linear map U W_D ... W_1"),
];

/// Reads a whole-number parameter (depth, width) before the plan exists: it sizes the state.
fn integer_param(params: &BTreeMap<String, ParamValue>, system: &str, name: &str, default: usize, range: std::ops::RangeInclusive<usize>) -> Result<usize> {
    let v = match params.get(name) {
        None => return Ok(default),
        Some(ParamValue::Scalar(v)) => *v,
        Some(ParamValue::Vector(_)) => return Err(Error::input(format!("{system}: {name} takes one whole number"))),
    };
    if v.fract() != 0.0 || v < *range.start() as f64 || v > *range.end() as f64 {
        return Err(Error::input(format!(
            "{system}: {name} must be a whole number from {} to {}, got {v}",
            range.start(),
            range.end()
        )));
    }
    Ok(v as usize)
}

/// The spec of a network system with `layout`; `params` are the system's own after D, d0.
/// Its parameters are `params`, then `init1`..`init{D+1}`: layer l's weights start at their
/// start values plus init_scale·init_l·N(0, 1) each.
fn network_spec(name: &'static str, summary: String, layout: &Layout, mut params: Vec<ParamSpec>, extra_observables: &[ObservableSpec], wgsl: String, default_axes: (&'static str, &'static str)) -> SystemSpec {
    let state: Vec<StateSpec> = layout
        .weight_names()
        .into_iter()
        .map(|n| StateSpec { name: Cow::Owned(n), default: 0.0, doc: Cow::Borrowed("weight (start: this + init_scale * init_l * N(0,1), l its layer)"), period: 0.0 })
        .collect();
    let mut init_blocks = Vec::with_capacity(layout.depth + 1);
    for l in 1..=layout.depth + 1 {
        let factor = format!("init{l}");
        let doc = if l == layout.depth + 1 { "factor on init_scale for the output layer U".to_string() } else { format!("factor on init_scale for layer W{l}") };
        params.push(ParamSpec { name: factor.clone().into(), default: super::ParamDefault::Scalar(1.0), doc: doc.into(), integer: false });
        let end = if l == layout.depth + 1 { layout.n_weights() } else { layout.offset(l + 1) };
        init_blocks.push(super::InitBlock { end, factor: factor.into() });
    }
    let mut observables = COMMON_OBSERVABLES.to_vec();
    observables.extend_from_slice(extra_observables);
    SystemSpec {
        name: Cow::Borrowed(name),
        summary: Text::Owned(summary),
        formula: None,
        state: Cow::Owned(state),
        params: Cow::Owned(params),
        observables: Cow::Owned(observables),
        wgsl: Text::Owned(wgsl),
        default_axes: (Cow::Borrowed(default_axes.0), Cow::Borrowed(default_axes.1)),
        features: Some(Cow::Owned(vec![0, 4])),
        random_init: true,
        init_blocks: Cow::Owned(init_blocks),
        step_blocks: Cow::Borrowed(&[]),
        loss_record: false,
        cooperative: false,
        clock: None,
    }
}

/// WGSL shared by the network systems (shaders/systems/network.wgsl) after the layout constants.
fn network_wgsl(layout: &Layout, extra_constants: &str, system: &str) -> String {
    let mut s = layout.wgsl_constants();
    s.push_str(extra_constants);
    s.push_str(include_str!("../../../shaders/systems/network.wgsl"));
    s.push('\n');
    s.push_str(system);
    s
}

/// f32 literal with exactly the bits of `v as f32`.
fn f32_literal(v: f64) -> String {
    let f = v as f32;
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// The NetworkOptions fields that only `mlp` reads, named for the error when `deep-linear` gets one.
pub fn check_unused_options(system: &str, options: &NetworkOptions, used: &[&str]) -> Result<()> {
    let given = options.given();
    if let Some(bad) = given.iter().find(|g| !used.contains(g)) {
        return Err(Error::input(format!("{system}: [network] option '{bad}' does not apply to this system")));
    }
    Ok(())
}
