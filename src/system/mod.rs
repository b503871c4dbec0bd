//! The built-in systems: their parameters, state, observables, WGSL and CPU mirror.
//!
//! A system is a parametric vector field `dx/dt = field(x; p)`, here always the gradient flow of
//! a loss (`field = -∇loss`). Each system lives in its own file with a WGSL twin in
//! `shaders/systems/`; both compute the same expressions in the same order so that the CPU
//! engine is an oracle for the GPU engine.
//!
//! Parameters are passed as one flat slice: the scalar parameters in declared order, then the
//! vector parameters, which all share one length (`VEC_LEN` in WGSL).

mod effective;
mod landau;
mod linear;
pub mod stability;

use crate::real::Real;
use crate::{Error, Result};

pub use effective::Effective;
pub use landau::Landau;
pub use linear::Linear;
pub use stability::Stability;

/// The default value of a parameter: a number, or a vector for vector parameters.
#[derive(Clone, Copy, Debug)]
pub enum ParamDefault {
    Scalar(f64),
    Vector(&'static [f64]),
}

/// One parameter of a system.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: ParamDefault,
    pub doc: &'static str,
    /// Integer parameters (a depth) are rounded by the kernels and cannot be a grid axis.
    pub integer: bool,
}

impl ParamSpec {
    /// A real parameter with a scalar default.
    pub const fn real(name: &'static str, default: f64, doc: &'static str) -> Self {
        ParamSpec { name, default: ParamDefault::Scalar(default), doc, integer: false }
    }
    /// An integer parameter (e.g. a depth).
    pub const fn integer(name: &'static str, default: f64, doc: &'static str) -> Self {
        ParamSpec { name, default: ParamDefault::Scalar(default), doc, integer: true }
    }
    /// A vector parameter; all vector parameters of a system share one length.
    pub const fn vector(name: &'static str, default: &'static [f64], doc: &'static str) -> Self {
        ParamSpec { name, default: ParamDefault::Vector(default), doc, integer: false }
    }
}

/// One state variable; its default is the default starting value.
#[derive(Clone, Copy, Debug)]
pub struct StateSpec {
    pub name: &'static str,
    pub default: f64,
    pub doc: &'static str,
}

/// One observable written per trajectory (`<name>.npy`).
#[derive(Clone, Copy, Debug)]
pub struct ObservableSpec {
    pub name: &'static str,
    pub doc: &'static str,
}

/// Everything about a system that is not its math.
#[derive(Debug)]
pub struct SystemSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub state: &'static [StateSpec],
    pub params: &'static [ParamSpec],
    pub observables: &'static [ObservableSpec],
    /// The system's WGSL (shaders/systems/NAME.wgsl).
    pub wgsl: &'static str,
    /// The x and y axes `basinmap run --system NAME` uses when none are given.
    pub default_axes: (&'static str, &'static str),
}

impl SystemSpec {
    /// Index of a parameter by name.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
    /// Index of a state variable by name.
    pub fn state_index(&self, name: &str) -> Option<usize> {
        self.state.iter().position(|s| s.name == name)
    }
}

/// The math of a system, generic over the float type so one source serves the f32 engine and
/// the f64 analysis. `p` holds the flat parameters, `x` the state.
pub trait Model: Sync {
    /// The vector field dx/dt.
    fn field<T: Real>(&self, p: &[T], x: &[T], v: &mut [T]);
    /// The loss whose negative gradient is the field.
    fn loss<T: Real>(&self, p: &[T], x: &[T]) -> T;
    /// The observables in the order of `SystemSpec::observables`. Default: the state, then loss.
    fn observables<T: Real>(&self, p: &[T], x: &[T], out: &mut [T]) {
        out[..x.len()].copy_from_slice(x);
        out[x.len()] = self.loss(p, x);
    }
    /// Checks parameter values that are legal numbers but not legal for this system.
    fn validate(&self, _p: &[f64]) -> Result<()> {
        Ok(())
    }
}

/// Runs generic code with the concrete model of a system (see [`System::visit`]).
pub trait ModelVisitor {
    type Output;
    fn visit<M: Model>(self, model: &M) -> Self::Output;
}

/// A built-in system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum System {
    Linear,
    Landau,
    Effective,
}

impl System {
    /// Every built-in system, in the order `basinmap systems` lists them.
    pub const ALL: [System; 3] = [System::Linear, System::Landau, System::Effective];

    /// Looks a system up by its name.
    pub fn by_name(name: &str) -> Result<System> {
        Self::ALL.into_iter().find(|s| s.spec().name == name).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|s| s.spec().name).collect();
            Error::input(format!("unknown system '{name}' (known: {})", names.join(", ")))
        })
    }

    /// The system's description.
    pub fn spec(&self) -> &'static SystemSpec {
        match self {
            System::Linear => &linear::SPEC,
            System::Landau => &landau::SPEC,
            System::Effective => &effective::SPEC,
        }
    }

    /// The axes used when a scenario names none.
    pub fn default_axes(&self) -> (&'static str, &'static str) {
        self.spec().default_axes
    }

    /// Calls `visitor` with this system's model, monomorphised per system.
    pub fn visit<V: ModelVisitor>(&self, visitor: V) -> V::Output {
        match self {
            System::Linear => visitor.visit(&Linear),
            System::Landau => visitor.visit(&Landau),
            System::Effective => visitor.visit(&Effective),
        }
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
        self.visit(V(p))
    }
}
