//! Step rules and the stop rule, shared by both engines.
//!
//! A trajectory stops when it has converged (|field| < tol, tested before each step; never under
//! noise; for an optimizer with memory, its step must be below tol too: a point passed at speed
//! is not a fixed point), diverged (|x_i| > bound) or gone non-finite, escaped (farther than
//! `escape` from its start, when set), or used up `steps` (undecided). The WGSL of the step
//! rules is in shaders/step/; the CPU versions ([`crate::engine::cpu::Stepper`],
//! [`crate::engine::optimizer`]) follow it operation for operation.
//!
//! The step rule's settings ([`Setting`]: lr, dt, momentum, β1, β2, ε, weight decay,
//! temperature) are per trajectory: any of them can be a grid axis.

use crate::lanes::Lane;
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
    /// Heavy-ball momentum as PyTorch's SGD (dampening 0): b ← μ·b + g, x ← x − lr·b.
    Momentum,
    /// Nesterov momentum as PyTorch's SGD: b ← μ·b + g, x ← x − lr·(g + μ·b).
    Nesterov,
    /// Adam (Kingma & Ba; PyTorch, optax) with bias correction; `--weight-decay` adds
    /// weight_decay·x to the gradient (L2, as PyTorch's Adam).
    Adam,
    /// AdamW: Adam with decoupled weight decay, x ← x − lr·(m̂/(√v̂ + ε) + weight_decay·x).
    #[value(name = "adamw")]
    #[serde(rename = "adamw")]
    AdamW,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Gd => "gd",
            Method::Rk4 => "rk4",
            Method::Momentum => "momentum",
            Method::Nesterov => "nesterov",
            Method::Adam => "adam",
            Method::AdamW => "adamw",
        }
    }

    /// The optimizer's memory: what each trajectory carries besides its state.
    pub fn memory(&self) -> Memory {
        match self {
            Method::Gd | Method::Rk4 => Memory::None,
            Method::Momentum | Method::Nesterov => Memory::Velocity,
            Method::Adam | Method::AdamW => Memory::Moments,
        }
    }

    /// Whether the method is a discrete optimizer of the loss (lr) rather than a flow's
    /// integrator (dt).
    pub fn uses_lr(&self) -> bool {
        *self != Method::Rk4
    }

    /// Whether weight decay is added to the gradient (L2) before the step; AdamW decouples it.
    pub fn coupled_decay(&self) -> bool {
        !matches!(self, Method::Rk4 | Method::AdamW)
    }
    /// The WGSL of this step rule.
    pub fn wgsl(&self) -> &'static str {
        match self {
            Method::Gd => include_str!("../shaders/step/gd.wgsl"),
            Method::Rk4 => include_str!("../shaders/step/rk4.wgsl"),
            Method::Momentum | Method::Nesterov => include_str!("../shaders/step/momentum.wgsl"),
            Method::Adam | Method::AdamW => include_str!("../shaders/step/adam.wgsl"),
        }
    }
    /// The WGSL of this step rule for the cooperative kernel (shaders/coop.wgsl).
    pub fn coop_wgsl(&self) -> &'static str {
        match self {
            Method::Gd => include_str!("../shaders/step/gd-coop.wgsl"),
            Method::Rk4 => include_str!("../shaders/step/rk4-coop.wgsl"),
            Method::Momentum | Method::Nesterov => include_str!("../shaders/step/momentum-coop.wgsl"),
            Method::Adam | Method::AdamW => include_str!("../shaders/step/adam-coop.wgsl"),
        }
    }
}

/// What an optimizer remembers between steps, per trajectory (zero at the start, never shared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// Nothing: gd and rk4.
    None,
    /// One velocity per component (momentum, Nesterov).
    Velocity,
    /// First and second moments per component, and β1^t, β2^t for the bias correction (Adam).
    Moments,
}

impl Memory {
    /// Values of memory a trajectory of `n` components carries.
    pub fn len(&self, n: usize) -> usize {
        match self {
            Memory::None => 0,
            Memory::Velocity => n,
            Memory::Moments => 2 * n + 2,
        }
    }
}

/// A setting of the step rule that may differ from trajectory to trajectory: each can be a grid
/// axis (`--x lr=0.01:1:256:log`), of a map, a sweep or a trace. Kernels receive them, in this
/// order, after the trajectory's inputs (WGSL `H_*` in shaders/common.wgsl).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Lr,
    Dt,
    Momentum,
    Beta1,
    Beta2,
    Eps,
    WeightDecay,
    Temperature,
}

impl Setting {
    pub const ALL: [Setting; 8] =
        [Setting::Lr, Setting::Dt, Setting::Momentum, Setting::Beta1, Setting::Beta2, Setting::Eps, Setting::WeightDecay, Setting::Temperature];

    /// The name an axis or a flag gives it (`weight_decay` is `--weight-decay` as a flag).
    pub fn name(&self) -> &'static str {
        match self {
            Setting::Lr => "lr",
            Setting::Dt => "dt",
            Setting::Momentum => "momentum",
            Setting::Beta1 => "beta1",
            Setting::Beta2 => "beta2",
            Setting::Eps => "eps",
            Setting::WeightDecay => "weight_decay",
            Setting::Temperature => "temperature",
        }
    }

    /// The setting called `name` (`weight-decay` too).
    pub fn named(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.name() == name || s.name().replace('_', "-") == name)
    }

    /// Its place in the settings vector.
    pub fn index(&self) -> usize {
        *self as usize
    }

    /// Whether `method` uses it (an axis over a setting the method ignores is refused).
    pub fn used_by(&self, method: Method) -> bool {
        match self {
            Setting::Lr => method.uses_lr(),
            Setting::Dt => method == Method::Rk4,
            Setting::Momentum => method.memory() == Memory::Velocity,
            Setting::Beta1 | Setting::Beta2 | Setting::Eps => method.memory() == Memory::Moments,
            Setting::WeightDecay => method.uses_lr(),
            Setting::Temperature => method == Method::Gd,
        }
    }

    /// Checks one value of the setting: the rule of [`Dynamics::validate`].
    pub fn check(&self, v: f64) -> Result<()> {
        let ok = v.is_finite()
            && match self {
                Setting::Lr | Setting::Dt | Setting::Eps => v > 0.0,
                Setting::Momentum | Setting::Beta1 | Setting::Beta2 => (0.0..1.0).contains(&v),
                Setting::WeightDecay | Setting::Temperature => v >= 0.0,
            };
        if ok {
            return Ok(());
        }
        let need = match self {
            Setting::Lr | Setting::Dt | Setting::Eps => "a positive number",
            Setting::Momentum | Setting::Beta1 | Setting::Beta2 => "in [0, 1)",
            Setting::WeightDecay | Setting::Temperature => "a number >= 0",
        };
        Err(Error::input(format!("--{} must be {need}, got {v}", self.name().replace('_', "-"))))
    }
}

/// The step rule's settings of one trajectory (or, for a SIMD pack, of each lane), in the
/// engine's precision: what [`crate::engine::cpu::Stepper::advance`] steps with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyper<T> {
    /// lr for the optimizers, dt for rk4.
    pub step: T,
    pub momentum: T,
    pub beta1: T,
    pub beta2: T,
    pub eps: T,
    pub weight_decay: T,
    /// sqrt(2·lr·T) of Langevin dynamics; 0 without noise.
    pub noise: T,
}

/// The float type trajectories are integrated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32.
    #[default]
    F32,
    /// f64 (on a GPU, where the adapter has SHADER_F64): a step can then move x by far less
    /// than an f32 ulp, so a tight tol is reachable.
    F64,
}

/// The dynamics and stop rule of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dynamics {
    pub method: Method,
    /// Learning rate of gradient descent and the optimizers.
    pub lr: f64,
    /// Time step of RK4.
    pub dt: f64,
    /// Most steps a trajectory may take.
    pub steps: u32,
    /// Converged when the norm of the field falls below this.
    pub tol: f64,
    /// Diverged when any |x_i| exceeds this.
    pub bound: f64,
    /// Langevin temperature T: gd then adds sqrt(2·lr·T)·ξ, ξ ~ N(0, I) from the counter-based
    /// generator, so the stationary law is the Gibbs measure exp(−loss/T). With T > 0 no
    /// trajectory converges (the stop rule's tolerance is not used).
    pub temperature: f64,
    /// Escaped when the state is farther than this (Euclidean) from its start; 0: never.
    pub escape: f64,
    /// f32 (both engines) or f64 (the CPU engine).
    pub precision: Precision,
    /// μ of momentum and Nesterov.
    pub momentum: f64,
    /// Adam's decay rates of the first and second moments, and ε.
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Weight decay: added to the gradient as weight_decay·x (gd, momentum, Nesterov, Adam), or
    /// decoupled (AdamW). `None`: PyTorch's default, 0 (AdamW: 0.01).
    pub weight_decay: Option<f64>,
}

impl Default for Dynamics {
    fn default() -> Self {
        Dynamics {
            method: Method::Gd,
            lr: 0.01,
            dt: 0.01,
            steps: 20_000,
            tol: 1e-5,
            bound: 1e6,
            temperature: 0.0,
            escape: 0.0,
            precision: Precision::F32,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: None,
        }
    }
}

/// Where classic RK4's stability region meets the negative real axis: the real root of
/// 1 − z + z²/2 − z³/6 + z⁴/24 = ±1 besides 0, i.e. |R(−z)| = 1 at z ≈ 2.785293563.
pub const RK4_REAL_STABILITY_LIMIT: f64 = 2.785_293_563_405_282;

impl Dynamics {
    /// The step size the chosen method uses (lr or dt).
    pub fn step_size(&self) -> f64 {
        if self.method.uses_lr() {
            self.lr
        } else {
            self.dt
        }
    }

    /// The edge of stability of the step rule: the largest eigenvalue λ of the Hessian of the
    /// loss it descends at which a minimum is still a stable fixed point of the step, from the
    /// roots of its linear map on λx²/2 (tests/optimizers.rs checks them): gd 2/lr, heavy ball
    /// 2(1 + μ)/lr, Nesterov (2 + 2μ)/((1 + 2μ)·lr), RK4 2.7853/dt (where its stability region
    /// meets the negative real axis). `None` for Adam and AdamW, whose edge is in the
    /// preconditioned Hessian.
    pub fn stability_threshold(&self) -> Option<f64> {
        let mu = self.momentum;
        match self.method {
            Method::Gd => Some(2.0 / self.lr),
            Method::Momentum => Some(2.0 * (1.0 + mu) / self.lr),
            Method::Nesterov => Some((2.0 + 2.0 * mu) / ((1.0 + 2.0 * mu) * self.lr)),
            Method::Rk4 => Some(RK4_REAL_STABILITY_LIMIT / self.dt),
            Method::Adam | Method::AdamW => None,
        }
    }

    /// Adam's edge in the preconditioned sharpness (`sharpness_pre`): 2(1 + β1)/((1 − β1)·lr),
    /// where its step with the preconditioner frozen (an EMA heavy ball) stops being stable
    /// (Cohen et al. 2022; AdamW's decoupled decay, lr·wd ≪ 1, is neglected). `None` for the
    /// other methods.
    pub fn preconditioned_threshold(&self) -> Option<f64> {
        match self.method {
            Method::Adam | Method::AdamW => Some(2.0 * (1.0 + self.beta1) / ((1.0 - self.beta1) * self.lr)),
            _ => None,
        }
    }

    /// The edge of stability of the sharpness observable `name` (`sharpness` or
    /// `sharpness_pre`) and its formula as a legend writes it.
    pub fn edge_of(&self, name: &str) -> Option<(f64, &'static str)> {
        if name == "sharpness_pre" {
            return self.preconditioned_threshold().map(|t| (t, "edge of stability 2(1+β₁)/((1−β₁) lr)"));
        }
        let label = match self.method {
            Method::Gd => "edge of stability 2/lr",
            Method::Momentum => "edge of stability 2(1+μ)/lr",
            Method::Nesterov => "edge of stability (2+2μ)/((1+2μ) lr)",
            Method::Rk4 => "edge of stability 2.785/dt (RK4)",
            Method::Adam | Method::AdamW => return None,
        };
        self.stability_threshold().map(|t| (t, label))
    }

    /// The weight decay in effect: the one set, or the method's default (AdamW 0.01, else 0).
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay.unwrap_or(if self.method == Method::AdamW { 0.01 } else { 0.0 })
    }

    /// The value of `setting`.
    pub fn setting(&self, setting: Setting) -> f64 {
        match setting {
            Setting::Lr => self.lr,
            Setting::Dt => self.dt,
            Setting::Momentum => self.momentum,
            Setting::Beta1 => self.beta1,
            Setting::Beta2 => self.beta2,
            Setting::Eps => self.eps,
            Setting::WeightDecay => self.weight_decay(),
            Setting::Temperature => self.temperature,
        }
    }

    /// Sets `setting` to `v` (a sweep's or a trace's point).
    pub fn set(&mut self, setting: Setting, v: f64) {
        match setting {
            Setting::Lr => self.lr = v,
            Setting::Dt => self.dt = v,
            Setting::Momentum => self.momentum = v,
            Setting::Beta1 => self.beta1 = v,
            Setting::Beta2 => self.beta2 = v,
            Setting::Eps => self.eps = v,
            Setting::WeightDecay => self.weight_decay = Some(v),
            Setting::Temperature => self.temperature = v,
        }
    }

    /// Every setting's value, in [`Setting::ALL`]'s order: what the engines receive per
    /// trajectory, axes written over it.
    pub fn settings(&self) -> Vec<f64> {
        Setting::ALL.iter().map(|&s| self.setting(s)).collect()
    }

    /// The step rule's settings from a trajectory's settings vector (see [`Dynamics::settings`]),
    /// in `T`. `noise`: sqrt(2·step·T) when known on the host (no axis sets the step or the
    /// temperature), else `None` and it is computed here in `T`, as the kernels do.
    pub fn hyper<T: crate::lanes::Lane>(&self, settings: &[T], noise: Option<f64>) -> Hyper<T> {
        let step = if self.method.uses_lr() { settings[Setting::Lr.index()] } else { settings[Setting::Dt.index()] };
        let noise = match noise {
            Some(v) => T::of(v),
            None => crate::lanes::sqrt(T::of(2.0) * step * settings[Setting::Temperature.index()]),
        };
        Hyper {
            step,
            momentum: settings[Setting::Momentum.index()],
            beta1: settings[Setting::Beta1.index()],
            beta2: settings[Setting::Beta2.index()],
            eps: settings[Setting::Eps.index()],
            weight_decay: settings[Setting::WeightDecay.index()],
            noise,
        }
    }

    /// The step rule's settings of a run whose axes set none of them.
    pub fn base_hyper<T: crate::lanes::Lane>(&self) -> Hyper<T> {
        let settings: Vec<T> = self.settings().iter().map(|&v| T::of(v)).collect();
        self.hyper(&settings, Some(self.noise_scale()))
    }

    /// The standard deviation of each step's noise, sqrt(2·lr·T) (0 without noise).
    pub fn noise_scale(&self) -> f64 {
        if self.temperature > 0.0 {
            (2.0 * self.step_size() * self.temperature).sqrt()
        } else {
            0.0
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
        if self.method.uses_lr() {
            positive("--lr", self.lr)?;
        } else {
            positive("--dt", self.dt)?;
        }
        for s in [Setting::Momentum, Setting::Beta1, Setting::Beta2, Setting::Eps, Setting::WeightDecay] {
            s.check(self.setting(s))?;
        }
        if self.weight_decay.is_some_and(|w| w != 0.0) && !self.method.uses_lr() {
            return Err(Error::input("--weight-decay: rk4 integrates the flow as it is; weight decay is for the optimizers (gd, momentum, nesterov, adam, adamw)"));
        }
        positive("--bound", self.bound)?;
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::input(format!("--tol must be >= 0, got {}", self.tol)));
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::input(format!("--temperature must be >= 0, got {}", self.temperature)));
        }
        if self.temperature > 0.0 && self.method != Method::Gd {
            return Err(Error::input("--temperature: Langevin noise is added to gradient descent steps (its stationary law is exp(-loss/T) only there); use --dynamics gd"));
        }
        if !(self.escape.is_finite() && self.escape >= 0.0) {
            return Err(Error::input(format!("--escape must be a distance >= 0, got {}", self.escape)));
        }
        if self.steps == 0 {
            return Err(Error::input("--steps must be at least 1"));
        }
        // Step counts (and the GPU's signed clocks) are 32-bit signed integers.
        if self.steps > i32::MAX as u32 {
            return Err(Error::input(format!("--steps {} is more than 2^31 - 1 = {}", self.steps, i32::MAX)));
        }
        if (self.step_size() as f32) == 0.0 || (self.bound as f32).is_infinite() {
            return Err(Error::input("step size and bound must be representable in f32"));
        }
        Ok(())
    }
}

/// The Langevin noise of component pair (j, j + 1) of trajectory `index` (its global index,
/// samples included) at step `n`: two N(0, 1) values from Threefry under the seed's key mixed
/// with the pair and "LANG", at counter (index, n), so every step, component and trajectory
/// draws its own numbers whatever the tiling. WGSL twin: `langevin_pair` in shaders/trajectory.wgsl.
pub fn langevin_pair(seed: u64, index: u32, n: u32, j: u32) -> [f32; 2] {
    let key = [(seed as u32) ^ (j / 2).wrapping_mul(0x9E37_79B9), ((seed >> 32) as u32) ^ 0x4C41_4E47];
    crate::rng::normal_pair_f32(crate::rng::threefry2x32(key, [index, n]))
}

/// x + h·v, componentwise (WGSL `axpy`).
#[inline(always)]
pub fn axpy<T: Lane>(x: &[T], h: T, v: &[T], out: &mut [T]) {
    for i in 0..x.len() {
        out[i] = x[i] + h * v[i];
    }
}

/// Euclidean norm (WGSL `norm`).
#[inline(always)]
pub fn norm<T: Lane>(v: &[T]) -> T {
    let mut s = T::zero();
    for &vi in v {
        s = s + vi * vi;
    }
    crate::lanes::sqrt(s)
}

/// Loss/initial-loss ratios above this, or not finite, count as this (a diverging run).
pub const RECORD_CAP: f64 = 1e6;
/// The last steps whose mean ratio decides converged/diverged (fewer when a run is shorter).
pub const RECORD_WINDOW: u32 = 20;

/// The loss record of one trajectory: the trainability measure of Sohl-Dickstein (2024). With
/// r_t = ℓ(x_t)/ℓ(x_0) for the T = `steps` states before each step, capped at [`RECORD_CAP`],
/// `sum` = Σ_t r_t (the convergence measure), `inv_sum` = Σ_t 1/r_t (the author's measure for
/// runs that did not train, each term capped at [`RECORD_CAP`] too) and `tail` = Σ r_t over the
/// last [`RECORD_WINDOW`] steps; the run trained when the tail's mean is below 1.
///
/// A run that stops early is completed as if it had gone on: one that converged keeps its last
/// ratio for its remaining steps, one that escaped counts the cap. So the measure does not depend
/// on tol, on the dispatch size, or on when the host stops a tile.
/// WGSL twin: the `record_*` functions of shaders/trajectory.wgsl.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossRecord<T> {
    pub loss0: T,
    pub sum: T,
    pub tail: T,
    pub inv_sum: T,
}

/// `v`, or [`RECORD_CAP`] when `v` is NaN or above it.
fn capped<T: Real>(v: T) -> T {
    let cap = T::of(RECORD_CAP);
    if v.is_nan() || v > cap {
        cap
    } else {
        v
    }
}

impl<T: Real> LossRecord<T> {
    /// A record starting at loss `loss0`.
    pub fn start(loss0: T) -> Self {
        LossRecord { loss0, sum: T::zero(), tail: T::zero(), inv_sum: T::zero() }
    }

    /// ℓ/ℓ₀, or the cap when that is not finite or above it.
    pub fn ratio(&self, loss: T) -> T {
        capped(loss / self.loss0)
    }

    /// Adds ratio `r` for `count` steps from step `t` of a run of `max_steps`.
    pub fn add(&mut self, t: u32, r: T, count: u32, max_steps: u32) {
        self.sum = self.sum + r * T::of(count as f64);
        self.inv_sum = self.inv_sum + capped(T::one() / r) * T::of(count as f64);
        let tail_start = max_steps - RECORD_WINDOW.min(max_steps);
        let end = t + count;
        let in_tail = end.saturating_sub(t.max(tail_start));
        self.tail = self.tail + r * T::of(in_tail as f64);
    }

    /// The recorded observables: ℓ₀, Σ r_t, the tail's mean ratio, 1 if it trained else 0, and
    /// Σ 1/r_t.
    pub fn observables(&self, max_steps: u32) -> [T; 5] {
        let tail_mean = self.tail / T::of(RECORD_WINDOW.min(max_steps) as f64);
        let trained = if tail_mean < T::one() { T::one() } else { T::zero() };
        [self.loss0, self.sum, tail_mean, trained, self.inv_sum]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_the_tail_window_and_completes_early_stops() {
        // 30 steps: a ratio of 0.5 for steps 0..12, then a stop at step 12 that keeps 0.25.
        let mut r = LossRecord::start(2.0f64);
        for t in 0..12 {
            r.add(t, r.ratio(1.0), 1, 30);
        }
        assert_eq!((r.sum, r.tail), (6.0, 1.0), "steps 10 and 11 fall in the last 20");
        r.add(12, r.ratio(0.5), 18, 30);
        assert_eq!(r.sum, 6.0 + 18.0 * 0.25);
        // Σ 1/r_t: 12 steps at 1/0.5, 18 at 1/0.25.
        assert_eq!(r.observables(30), [2.0, 10.5, (1.0 + 18.0 * 0.25) / 20.0, 1.0, 12.0 * 2.0 + 18.0 * 4.0]);
    }

    #[test]
    fn record_caps_blow_ups_and_short_runs_use_a_short_window() {
        let r = LossRecord::start(1.0f32);
        assert_eq!(r.ratio(f32::INFINITY), RECORD_CAP as f32);
        assert_eq!(r.ratio(f32::NAN), RECORD_CAP as f32);
        assert_eq!(r.ratio(3e7), RECORD_CAP as f32);
        // A 5-step run that escaped at step 2: the cap for steps 2..5, all in its window of 5.
        let mut r = LossRecord::start(1.0f64);
        r.add(0, 0.9, 1, 5);
        r.add(1, 0.8, 1, 5);
        r.add(2, RECORD_CAP, 3, 5);
        let [_, sum, tail, trained, inverse] = r.observables(5);
        assert_eq!(sum, 1.7 + 3.0 * RECORD_CAP);
        assert_eq!(tail, sum / 5.0);
        assert_eq!(trained, 0.0);
        assert!((inverse - (1.0 / 0.9 + 1.0 / 0.8 + 3.0 / RECORD_CAP)).abs() < 1e-12, "{inverse}");
        // A loss of exactly zero: 1/r is capped too.
        let mut r = LossRecord::start(1.0f64);
        r.add(0, 0.0, 2, 5);
        assert_eq!(r.inv_sum, 2.0 * RECORD_CAP);
    }
}
