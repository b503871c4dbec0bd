//! Step rules and the stop rule, shared by both engines.
//!
//! A trajectory stops when it has converged (|field| < tol, tested before each step), escaped
//! (|x_i| > bound: diverged, or non-finite), or used up `steps` (undecided). The WGSL of the
//! step rules is in shaders/step/; the CPU versions here follow it operation for operation.

use crate::real::Real;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a trajectory moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Gradient descent x ← x + lr·field(x) (explicit Euler of the flow).
    #[default]
    Gd,
    /// Classic fourth-order Runge–Kutta of the flow with step dt.
    Rk4,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Gd => "gd",
            Method::Rk4 => "rk4",
        }
    }
    /// The WGSL of this step rule.
    pub fn wgsl(&self) -> &'static str {
        match self {
            Method::Gd => include_str!("../shaders/step/gd.wgsl"),
            Method::Rk4 => include_str!("../shaders/step/rk4.wgsl"),
        }
    }
}

/// The dynamics and stop rule of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dynamics {
    pub method: Method,
    /// Learning rate of gradient descent.
    pub lr: f64,
    /// Time step of RK4.
    pub dt: f64,
    /// Most steps a trajectory may take.
    pub steps: u32,
    /// Converged when the norm of the field falls below this.
    pub tol: f64,
    /// Diverged when any |x_i| exceeds this.
    pub bound: f64,
}

impl Default for Dynamics {
    fn default() -> Self {
        Dynamics { method: Method::Gd, lr: 0.01, dt: 0.01, steps: 20_000, tol: 1e-5, bound: 1e6 }
    }
}

impl Dynamics {
    /// The step size the chosen method uses (lr or dt).
    pub fn step_size(&self) -> f64 {
        match self.method {
            Method::Gd => self.lr,
            Method::Rk4 => self.dt,
        }
    }

    /// Rejects settings no run can use.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::input(format!("{name} must be a positive number, got {v}")))
            }
        };
        match self.method {
            Method::Gd => positive("--lr", self.lr)?,
            Method::Rk4 => positive("--dt", self.dt)?,
        }
        positive("--bound", self.bound)?;
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::input(format!("--tol must be >= 0, got {}", self.tol)));
        }
        if self.steps == 0 {
            return Err(Error::input("--steps must be at least 1"));
        }
        if (self.step_size() as f32) == 0.0 || (self.bound as f32).is_infinite() {
            return Err(Error::input("step size and bound must be representable in f32"));
        }
        Ok(())
    }
}

/// x + h·v, componentwise (WGSL `axpy`).
#[inline(always)]
pub fn axpy<T: Real>(x: &[T], h: T, v: &[T], out: &mut [T]) {
    for i in 0..x.len() {
        out[i] = x[i] + h * v[i];
    }
}

/// Euclidean norm (WGSL `norm`).
#[inline(always)]
pub fn norm<T: Real>(v: &[T]) -> T {
    let mut s = T::zero();
    for &vi in v {
        s = s + vi * vi;
    }
    s.sqrt()
}
