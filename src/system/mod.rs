//! Systems: their parameters, state, observables, WGSL and CPU mirror.
//!
//! A system is a parametric vector field `dx/dt = field(x; p)`; the built-in ones are gradient
//! flows of a loss (`field = -∇loss`). Each built-in system lives in its own file with a WGSL
//! twin in `shaders/systems/`; both compute the same expressions in the same order so that the
//! CPU engine is an oracle for the GPU engine. User-defined systems ([`custom`]) are a formula,
//! compiled to both back ends from one graph, or a WGSL file.
//!
//! Parameters are passed as one flat slice: the scalar parameters in declared order, then the
//! vector parameters, which all share one length (`VEC_LEN` in WGSL).

pub mod custom;
mod effective;
mod landau;
mod linear;
pub mod network;
pub mod stability;

use crate::lanes::Lane;
use crate::minibatch::Draw;
use crate::real::Real;
use crate::scenario::{NetworkOptions, ParamValue};
use crate::{Error, Result};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use custom::CustomSystem;
pub use effective::Effective;
pub use landau::Landau;
pub use linear::Linear;
pub use stability::Stability;

/// Text that is static for the built-in systems and owned for user-defined ones.
pub type Text = Cow<'static, str>;

/// The default value of a parameter: a number, or a vector for vector parameters.
#[derive(Clone, Debug)]
pub enum ParamDefault {
    Scalar(f64),
    Vector(Cow<'static, [f64]>),
}

/// One parameter of a system.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    pub name: Text,
    pub default: ParamDefault,
    pub doc: Text,
    /// Integer parameters (a depth) are rounded by the kernels and cannot be a grid axis.
    pub integer: bool,
}

impl ParamSpec {
    /// A real parameter with a scalar default.
    pub const fn real(name: &'static str, default: f64, doc: &'static str) -> Self {
        ParamSpec { name: Cow::Borrowed(name), default: ParamDefault::Scalar(default), doc: Cow::Borrowed(doc), integer: false }
    }
    /// An integer parameter (e.g. a depth).
    pub const fn integer(name: &'static str, default: f64, doc: &'static str) -> Self {
        ParamSpec { name: Cow::Borrowed(name), default: ParamDefault::Scalar(default), doc: Cow::Borrowed(doc), integer: true }
    }
    /// A vector parameter; all vector parameters of a system share one length.
    pub const fn vector(name: &'static str, default: &'static [f64], doc: &'static str) -> Self {
        ParamSpec {
            name: Cow::Borrowed(name),
            default: ParamDefault::Vector(Cow::Borrowed(default)),
            doc: Cow::Borrowed(doc),
            integer: false,
        }
    }
}

/// A block of state components whose random start has its own factor on `init_scale`.
#[derive(Clone, Debug)]
pub struct InitBlock {
    /// One past the block's last component (blocks are contiguous, from component 0).
    pub end: usize,
    /// The parameter that scales the block's draw.
    pub factor: Text,
}

/// One state variable; its default is the default starting value.
#[derive(Clone, Debug)]
pub struct StateSpec {
    pub name: Text,
    pub default: f64,
    pub doc: Text,
    /// The period of an angle (its values are taken modulo it, into [−period/2, period/2));
    /// 0 for an ordinary variable.
    pub period: f64,
}

impl StateSpec {
    pub const fn new(name: &'static str, default: f64, doc: &'static str) -> Self {
        StateSpec { name: Cow::Borrowed(name), default, doc: Cow::Borrowed(doc), period: 0.0 }
    }
}

/// One observable written per trajectory (`<name>.npy`).
#[derive(Clone, Debug)]
pub struct ObservableSpec {
    pub name: Text,
    pub doc: Text,
}

impl ObservableSpec {
    pub const fn new(name: &'static str, doc: &'static str) -> Self {
        ObservableSpec { name: Cow::Borrowed(name), doc: Cow::Borrowed(doc) }
    }
}

/// Everything about a system that is not its math.
#[derive(Clone, Debug)]
pub struct SystemSpec {
    pub name: Text,
    pub summary: Text,
    /// The loss in the formula language, for systems that can be written in it
    /// (`basinmap systems --show` derives and prints their gradient and WGSL from it).
    pub formula: Option<&'static str>,
    pub state: Cow<'static, [StateSpec]>,
    pub params: Cow<'static, [ParamSpec]>,
    pub observables: Cow<'static, [ObservableSpec]>,
    /// The system's WGSL: shaders/systems/NAME.wgsl, or generated for a user-defined system.
    pub wgsl: Text,
    /// The x and y axes `basinmap run --system NAME` uses when none are given.
    pub default_axes: (Text, Text),
    /// The observables that tell fixed points apart (indices); `None`: the state itself.
    /// Networks use invariants (loss, end-to-end map), as their minima are manifolds in weight space.
    pub features: Option<Cow<'static, [usize]>>,
    /// True when the start is the state's start values plus `init_scale`·N(0, 1) per component,
    /// drawn from the counter-based generator (the system then has an `init_scale` parameter).
    pub random_init: bool,
    /// Per-block factors on `init_scale` (a network's layers): the components before each
    /// block's `end` and after the previous one draw with `init_scale` times its parameter.
    /// Components past the last block (or all, when there is none) draw with `init_scale` alone.
    pub init_blocks: Cow<'static, [InitBlock]>,
    /// Per-block factors on the step (an mlp's per-layer learning rates lr_l): the engine scales
    /// the field of each block's components by its parameter (gd, momentum, Nesterov: the same
    /// as scaling their steps), or Adam's step (the moments are of the plain gradient). The
    /// system's field is the plain −∇ℓ.
    pub step_blocks: Cow<'static, [InitBlock]>,
    /// True when the engines keep the loss record of every run ([`crate::dynamics::LossRecord`]):
    /// the last [`RECORDED`] observables are then theirs, and the system's WGSL defines
    /// `sys_last_loss()`, the loss at the state of the last `sys_field` call.
    pub loss_record: bool,
    /// True when `wgsl` is written for the cooperative kernel (shaders/coop.wgsl: one workgroup
    /// per trajectory, the state in workgroup memory), false for the one-invocation kernel.
    pub cooperative: bool,
    /// A forced (non-autonomous) system's time: the field reads it as parameter `slot`, which
    /// the engines set at every stage of every step; `None` for an autonomous system.
    pub clock: Option<Clock>,
}

/// The time of a forced flow, as a system declares it ([`SystemSpec::clock`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    /// The parameter the field reads the time from (`t`).
    pub slot: usize,
    /// The forcing's period T: the field is T-periodic in t, cycles are looked for on the
    /// stroboscopic map (one sample per period), and the step is fitted to divide T exactly.
    /// 0: no declared period (t grows without bound; no cycle search).
    pub period: f64,
}

/// The observables of the loss record, last in a system's list when it keeps one.
pub const RECORDED: [ObservableSpec; 5] = [
    ObservableSpec::new("loss0", "the loss at the start"),
    ObservableSpec::new(
        "loss_sum",
        "convergence measure: the sum over the steps of loss/loss0, each capped at 1e6 (a run that stops early counts its last ratio, or the cap if it escaped, for the steps left)",
    ),
    ObservableSpec::new("loss_tail", "mean of loss/loss0 over the last 20 steps"),
    ObservableSpec::new("converged", "1 when training brought the loss down (loss_tail < 1), 0 when it did not or diverged"),
    ObservableSpec::new("loss_inv_sum", "the sum over the steps of loss0/loss, each capped at 1e6: Sohl-Dickstein's measure for runs that did not train"),
];

impl SystemSpec {
    /// Index of a parameter by name.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
    /// Index of a state variable by name.
    pub fn state_index(&self, name: &str) -> Option<usize> {
        self.state.iter().position(|s| s.name == name)
    }
    /// The observables the system's model computes: all but the [`RECORDED`] ones.
    pub fn model_observables(&self) -> &[ObservableSpec] {
        let n = self.observables.len() - if self.loss_record { RECORDED.len() } else { 0 };
        &self.observables[..n]
    }
    /// The observables' names, in order.
    pub fn observable_names(&self) -> Vec<&str> {
        self.observables.iter().map(|o| &*o.name).collect()
    }
    /// The angles among the state variables: (index, period) of each.
    pub fn angles(&self) -> Vec<(usize, f64)> {
        self.state.iter().enumerate().filter(|(_, s)| s.period > 0.0).map(|(i, s)| (i, s.period)).collect()
    }
}

/// `x` taken modulo `period` into [−period/2, period/2): x − period·⌊x·(1/period) + ½⌋, the
/// same operations as the WGSL `wrap_angles` (a product by the inverse, not a division, so
/// both round alike).
pub fn wrap_angle<T: Lane>(x: T, period: T, inverse: T) -> T {
    x - period * (x * inverse + T::of(0.5)).lanes_map(f32::floor, f64::floor)
}

/// The most coefficients a [`Model::gd_map`] has (kept in a local array by the engine).
pub const GD_MAP_COEFFICIENTS: usize = 8;

/// The math of a system, generic over the float type so one source serves the f32 engine and
/// the f64 analysis. `p` holds the flat parameters, `x` the state.
///
/// The field and the loss are written in [`Lane`] arithmetic, so that the CPU engine evaluates
/// them for a [`crate::lanes::Pack`] of trajectories at once; implementations mark them
/// `#[inline(always)]` so that they are compiled into the engine's loop for the instruction set
/// chosen at run time.
pub trait Model: Sync {
    /// The state's length where the system fixes it (0: set by the scenario). The CPU engine
    /// keeps a fixed-length state in registers through its step loop.
    const STATE_LEN: usize = 0;
    /// The vector field dx/dt.
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]);
    /// What the field computes from the parameters alone (Landau's 2r, 4u, 6w), into `k`, as
    /// many values as parameters: computed once per trajectory by the CPU engine's step loop,
    /// which then calls [`Model::field_of_coefficients`]. Default: the parameters themselves.
    #[inline(always)]
    fn coefficients<T: Lane>(&self, p: &[T], k: &mut [T]) {
        k.copy_from_slice(p);
    }
    /// The field from [`Model::coefficients`]: the same bits as [`Model::field`].
    #[inline(always)]
    fn field_of_coefficients<T: Lane>(&self, k: &[T], x: &[T], v: &mut [T]) {
        self.field(k, x, v);
    }
    /// Whether the model has a gradient-descent map ([`Model::gd_map`]).
    const GD_MAP: bool = false;
    /// The coefficients of [`Model::gd_map`] for step `lr` into `k` (at most
    /// [`GD_MAP_COEFFICIENTS`]), computed once per trajectory. Returns true when every lane may
    /// take the map's reduced form at every state whose components are all within `bound`.
    #[inline(always)]
    fn gd_map_coefficients<T: Lane>(&self, _p: &[T], _lr: T, _bound: T, _k: &mut [T]) -> bool {
        false
    }
    /// One gradient-descent step `x ← x + lr·field(x)` computed as one map of `x`, with `lr`
    /// folded into the coefficients: fewer operations than the field and the step apart, for
    /// fixed-step runs, which do not need the field itself. `reduced`: a cheaper form that gives
    /// the full form's bits where [`Model::gd_map_coefficients`] allowed it.
    #[inline(always)]
    fn gd_map<T: Lane>(&self, _k: &[T], _reduced: bool, _x: &mut [T]) {}
    /// The loss whose negative gradient is the field (NaN for a field that is not a gradient).
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T;
    /// Whether the field a step follows depends on the step's draw ([`Draw`]: an mlp's
    /// minibatches); the engines then keep each lane's trajectory and step in it.
    fn draws(&self) -> bool {
        false
    }
    /// Whether steps at parameters `p` do draw (an mlp's minibatches smaller than its data
    /// set): runs there are not deterministic maps.
    fn draws_at(&self, _p: &[f64]) -> bool {
        false
    }
    /// The field that step `draw` follows (the minibatch gradient); the full field without a
    /// draw or for systems that do not draw.
    #[inline(always)]
    fn field_drawn<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T], _draw: &Draw) {
        self.field(p, x, v);
    }
    /// [`Model::field_drawn`] that also returns the loss of the step's draw.
    #[inline(always)]
    fn field_and_loss_drawn<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T], _draw: &Draw) -> T {
        self.field_and_loss(p, x, v)
    }
    /// The field at `x` into `v`, returning the loss at `x`: one pass for systems that compute
    /// both together (the loss record needs the loss at every step).
    #[inline(always)]
    fn field_and_loss<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) -> T {
        self.field(p, x, v);
        self.loss(p, x)
    }
    /// The observables in the order of `SystemSpec::observables` (but for the [`RECORDED`] ones,
    /// which the engines write). Default: the state, then loss.
    fn observables<T: Real>(&self, p: &[T], x: &[T], out: &mut [T]) {
        self.observables_lanes(p, x, out);
    }
    /// [`Model::observables`] in [`Lane`] arithmetic, which the CPU engine computes for a whole
    /// pack of trajectories at once; returns true. A model that overrides `observables` overrides
    /// this to return false (then the engine calls `observables` lane by lane).
    #[inline(always)]
    fn observables_lanes<T: Lane>(&self, p: &[T], x: &[T], out: &mut [T]) -> bool {
        out[..x.len()].copy_from_slice(x);
        out[x.len()] = self.loss(p, x);
        true
    }
    /// Checks parameter values that are legal numbers but not legal for this system.
    fn validate(&self, _p: &[f64]) -> Result<()> {
        Ok(())
    }
    /// True when the field is −∇loss, so that fixed points are minima, saddles or maxima.
    fn is_gradient(&self) -> bool {
        true
    }
    /// The parameters under which the field is exactly −∇loss, for the Hessian test of stability
    /// (an `mlp`'s per-layer step factors precondition its gradient; they are set to 1 here).
    fn hessian_params(&self, p: &[f64]) -> Vec<f64> {
        p.to_vec()
    }
    /// The exact Jacobian ∂field_i/∂x_j (row-major) if the system knows it; `None` lets the
    /// stability analysis take central differences of the field.
    fn jacobian(&self, _p: &[f64], _x: &[f64]) -> Option<Vec<f64>> {
        None
    }
}

/// Runs generic code with the concrete model of a system (see [`System::visit`]).
pub trait ModelVisitor {
    type Output;
    fn visit<M: Model>(self, model: &M) -> Self::Output;
}

/// A system: one of the built-in ones, or one the user defined (a formula or a WGSL file).
#[derive(Clone, Debug)]
pub enum System {
    Linear,
    Landau,
    Effective,
    /// `deep-linear` or `mlp`: sized by their parameters, so built per scenario.
    Network(Arc<Network>),
    Custom(Arc<CustomSystem>),
}

impl PartialEq for System {
    fn eq(&self, other: &System) -> bool {
        match (self, other) {
            (System::Custom(a), System::Custom(b)) => Arc::ptr_eq(a, b),
            (System::Network(a), System::Network(b)) => Arc::ptr_eq(a, b),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// A network system, built for one scenario's shape and data.
#[derive(Clone, Debug)]
pub struct Network {
    pub spec: SystemSpec,
    pub model: NetworkModel,
}

/// The model behind a [`Network`].
#[derive(Clone, Debug)]
pub enum NetworkModel {
    DeepLinear(network::DeepLinear),
    Mlp(network::Mlp),
}

impl Network {
    /// Builds `deep-linear` or `mlp` for `params` and `options`; `None` for other names.
    pub fn build(name: &str, params: &BTreeMap<String, ParamValue>, options: &NetworkOptions) -> Option<Result<Network>> {
        Some(match name {
            "deep-linear" => network::deep_linear::build(params, options).map(|(m, spec)| Network { spec, model: NetworkModel::DeepLinear(m) }),
            "mlp" => network::mlp::build(params, options).map(|(m, spec)| Network { spec, model: NetworkModel::Mlp(m) }),
            _ => return None,
        })
    }
}

impl System {
    /// The names of the built-in systems, in the order `basinmap systems` lists them.
    pub const BUILT_IN: [&'static str; 5] = ["linear", "landau", "effective", "deep-linear", "mlp"];

    /// A built-in system by name, with its default parameters.
    pub fn by_name(name: &str) -> Result<System> {
        Self::build(name, &BTreeMap::new(), &NetworkOptions::default())
    }

    /// A built-in system by name, sized for `params` and `options` (networks depend on them).
    pub fn build(name: &str, params: &BTreeMap<String, ParamValue>, options: &NetworkOptions) -> Result<System> {
        match name {
            "linear" => Ok(System::Linear),
            "landau" => Ok(System::Landau),
            "effective" => Ok(System::Effective),
            _ => match Network::build(name, params, options) {
                Some(n) => Ok(System::Network(Arc::new(n?))),
                None => Err(Error::input(format!("unknown system '{name}' (known: {})", Self::BUILT_IN.join(", ")))),
            },
        }
    }

    /// The data buffer the GPU kernel reads (an `mlp`'s samples); empty for other systems.
    pub fn data(&self) -> Vec<f32> {
        match self {
            System::Network(n) => match &n.model {
                NetworkModel::Mlp(m) => m.data.buffer(),
                NetworkModel::DeepLinear(_) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The system's description.
    pub fn spec(&self) -> &SystemSpec {
        match self {
            System::Linear => &linear::SPEC,
            System::Landau => &landau::SPEC,
            System::Effective => &effective::SPEC,
            System::Network(n) => &n.spec,
            System::Custom(c) => c.spec(),
        }
    }

    /// The axes used when a scenario names none.
    pub fn default_axes(&self) -> (&str, &str) {
        let (x, y) = &self.spec().default_axes;
        (x, y)
    }

    /// Whether the dynamics is a map x ← f(x) (a user's `--map` or `fn map`), iterated by gd
    /// rather than integrated: its field is f(x) − x.
    pub fn is_map(&self) -> bool {
        matches!(self, System::Custom(c) if c.is_map())
    }

    /// Whether the CPU engine and the host-side analysis can evaluate this system (a system
    /// written in WGSL runs only on the GPU).
    pub fn has_host_model(&self) -> bool {
        !matches!(self, System::Custom(c) if c.formula().is_none())
    }

    /// Calls `visitor` with this system's model, monomorphised per system; an input error for
    /// a system that exists only as WGSL.
    pub fn visit<V: ModelVisitor>(&self, visitor: V) -> Result<V::Output> {
        Ok(match self {
            System::Linear => visitor.visit(&Linear),
            System::Landau => visitor.visit(&Landau),
            System::Effective => visitor.visit(&Effective),
            System::Network(n) => match &n.model {
                NetworkModel::DeepLinear(m) => visitor.visit(m),
                NetworkModel::Mlp(m) => visitor.visit(m),
            },
            System::Custom(c) => match c.formula() {
                Some(f) => visitor.visit(f),
                None => return Err(Error::input(format!(
                    "{} is written in WGSL, which only the GPU engine can run (use --engine gpu or auto)",
                    c.spec().summary
                ))),
            },
        })
    }

    /// Whether the model has a gradient-descent map ([`Model::GD_MAP`]); its WGSL then defines
    /// `sys_gd_map_coefficients` and `sys_gd_map`, the same map for the GPU.
    pub fn has_gd_map(&self) -> bool {
        struct V;
        impl ModelVisitor for V {
            type Output = bool;
            fn visit<M: Model>(self, _: &M) -> bool {
                M::GD_MAP
            }
        }
        self.visit(V).unwrap_or(false)
    }

    /// Whether the model's steps draw ([`Model::draws`]: an mlp's minibatches).
    pub fn draws(&self) -> bool {
        struct V;
        impl ModelVisitor for V {
            type Output = bool;
            fn visit<M: Model>(self, m: &M) -> bool {
                m.draws()
            }
        }
        self.visit(V).unwrap_or(false)
    }

    /// Whether the field is −∇loss ([`Model::is_gradient`]); a system written in WGSL is taken
    /// at its word.
    pub fn is_gradient(&self) -> bool {
        struct V;
        impl ModelVisitor for V {
            type Output = bool;
            fn visit<M: Model>(self, m: &M) -> bool {
                m.is_gradient()
            }
        }
        self.visit(V).unwrap_or(true)
    }

    /// Checks the flat parameter values for this system.
    pub fn validate(&self, p: &[f64]) -> Result<()> {
        struct V<'a>(&'a [f64]);
        impl ModelVisitor for V<'_> {
            type Output = Result<()>;
            fn visit<M: Model>(self, m: &M) -> Result<()> {
                m.validate(self.0)
            }
        }
        if !self.has_host_model() {
            return Ok(());
        }
        self.visit(V(p))?
    }
}
