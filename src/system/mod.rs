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
pub mod stability;

use crate::real::Real;
use crate::{Error, Result};
use std::borrow::Cow;
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

/// One state variable; its default is the default starting value.
#[derive(Clone, Debug)]
pub struct StateSpec {
    pub name: Text,
    pub default: f64,
    pub doc: Text,
}

impl StateSpec {
    pub const fn new(name: &'static str, default: f64, doc: &'static str) -> Self {
        StateSpec { name: Cow::Borrowed(name), default, doc: Cow::Borrowed(doc) }
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
    /// The observables' names, in order.
    pub fn observable_names(&self) -> Vec<&str> {
        self.observables.iter().map(|o| &*o.name).collect()
    }
}

/// The math of a system, generic over the float type so one source serves the f32 engine and
/// the f64 analysis. `p` holds the flat parameters, `x` the state.
pub trait Model: Sync {
    /// The vector field dx/dt.
    fn field<T: Real>(&self, p: &[T], x: &[T], v: &mut [T]);
    /// The loss whose negative gradient is the field (NaN for a field that is not a gradient).
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
    /// True when the field is −∇loss, so that fixed points are minima, saddles or maxima.
    fn is_gradient(&self) -> bool {
        true
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
    Custom(Arc<CustomSystem>),
}

impl PartialEq for System {
    fn eq(&self, other: &System) -> bool {
        match (self, other) {
            (System::Custom(a), System::Custom(b)) => Arc::ptr_eq(a, b),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl System {
    /// Every built-in system, in the order `basinmap systems` lists them.
    pub const BUILT_IN: [System; 3] = [System::Linear, System::Landau, System::Effective];

    /// Looks a built-in system up by its name.
    pub fn by_name(name: &str) -> Result<System> {
        Self::BUILT_IN.into_iter().find(|s| s.spec().name == name).ok_or_else(|| {
            let names: Vec<_> = Self::BUILT_IN.iter().map(|s| s.spec().name.to_string()).collect();
            Error::input(format!("unknown system '{name}' (known: {})", names.join(", ")))
        })
    }

    /// The system's description.
    pub fn spec(&self) -> &SystemSpec {
        match self {
            System::Linear => &linear::SPEC,
            System::Landau => &landau::SPEC,
            System::Effective => &effective::SPEC,
            System::Custom(c) => c.spec(),
        }
    }

    /// The axes used when a scenario names none.
    pub fn default_axes(&self) -> (&str, &str) {
        let (x, y) = &self.spec().default_axes;
        (x, y)
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
            System::Custom(c) => match c.formula() {
                Some(f) => visitor.visit(f),
                None => return Err(Error::input(format!(
                    "{} is written in WGSL, which only the GPU engine can run (use --engine gpu or auto)",
                    c.spec().summary
                ))),
            },
        })
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
