//! The CPU engine: the GPU kernels (shaders/kernel.wgsl, shaders/coop.wgsl) in Rust on all
//! cores (rayon). It computes in f32 like the GPU so that it can serve as the GPU's oracle (or
//! in f64 when asked).
//!
//! Trajectories run in SIMD packs ([`super::simd`]) by default; the scalar path here, one
//! trajectory at a time, is what a pack computes lane by lane, and what the host-side analysis
//! uses for single trajectories ([`Stepper`]).

use super::simd::{self, Isa};
use super::{Engine, EngineInfo, Outcomes, Progress, Status};
use super::optimizer;
use super::returns::{Probe, Rule};
use crate::dynamics::{axpy, norm, Dynamics, Hyper, LossRecord, Memory, Method, Precision, RECORD_CAP};
use crate::plan::Plan;
use crate::lanes::Lane;
use crate::minibatch::{Draw, OFF};
use crate::real::Real;
use crate::system::{Model, ModelVisitor, GD_MAP_COEFFICIENTS, RECORDED};
use crate::Result;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Trajectories per rayon task: big enough to amortise scheduling, small enough to balance
/// the very uneven convergence times near basin boundaries.
const CHUNK: usize = 256;

/// The CPU engine.
#[derive(Clone, Debug)]
pub struct CpuEngine {
    /// SIMD packs with this instruction set, or `None`: one trajectory at a time.
    simd: Option<Isa>,
}

impl Default for CpuEngine {
    fn default() -> Self {
        CpuEngine::new()
    }
}

impl CpuEngine {
    /// SIMD packs with the widest instruction set the processor has.
    pub fn new() -> Self {
        CpuEngine { simd: Some(Isa::detect()) }
    }

    /// SIMD packs with `isa`; an error if the processor lacks it.
    pub fn with_isa(isa: Isa) -> Result<Self> {
        if !Isa::available().contains(&isa) {
            return Err(crate::Error::input(format!("this processor cannot run the {} instruction set", isa.name())));
        }
        Ok(CpuEngine { simd: Some(isa) })
    }

    /// One trajectory at a time (what each SIMD lane computes; the baseline of `basinmap bench`).
    pub fn scalar() -> Self {
        CpuEngine { simd: None }
    }
}

impl Engine for CpuEngine {
    fn info(&self) -> EngineInfo {
        let threads = rayon::current_num_threads();
        EngineInfo {
            kind: "cpu",
            device: cpu_name(),
            detail: match self.simd {
                Some(isa) => format!(
                    "{threads} threads, {} ({} f32 lanes a register), packs of {} f32 / {} f64 trajectories",
                    isa.name(),
                    isa.f32_per_register(),
                    simd::F32_LANES,
                    simd::F64_LANES
                ),
                None => format!("{threads} threads, one trajectory at a time"),
            },
        }
    }

    fn run(&self, plan: &Plan, progress: Progress<'_>) -> Result<Outcomes> {
        plan.system.visit(RunAll { plan, progress, simd: self.simd })
    }
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

struct RunAll<'a> {
    plan: &'a Plan,
    progress: Progress<'a>,
    simd: Option<Isa>,
}

impl ModelVisitor for RunAll<'_> {
    type Output = Outcomes;
    fn visit<M: Model>(self, model: &M) -> Outcomes {
        let (plan, progress) = (self.plan, self.progress);
        match (self.plan.dynamics.precision, self.simd) {
            (Precision::F32, Some(isa)) => simd::run::<M, f32, { simd::F32_LANES }>(plan, model, isa, progress),
            (Precision::F64, Some(isa)) => simd::run::<M, f64, { simd::F64_LANES }>(plan, model, isa, progress),
            (Precision::F32, None) => run_all::<M, f32>(plan, model, progress),
            (Precision::F64, None) => run_all::<M, f64>(plan, model, progress),
        }
    }
}

/// Every trajectory of `plan`'s range in precision `T` (f32: the GPU kernels' arithmetic), one
/// at a time.
fn run_all<M: Model, T: Real>(plan: &Plan, model: &M, progress: Progress<'_>) -> Outcomes {
    let n_obs = plan.n_obs();
    let n_params = plan.n_params;
    let n_state = plan.n_state();
    // A shard computes its part only; outcome k is trajectory first + k.
    let first = plan.range().start;
    let mut out = Outcomes::zeroed(plan.range().len(), n_obs);
    let base: Vec<T> = plan.inputs.iter().map(|&v| T::of(v)).collect();
    let xs: Vec<T> = plan.x.values.iter().map(|&v| T::of(v)).collect();
    let ys: Vec<T> = plan.y.as_ref().map_or(vec![], |y| y.values.iter().map(|&v| T::of(v)).collect());
    let y_target = plan.y.as_ref().map(|y| y.target);
    let zipped: Vec<(usize, Vec<T>)> = plan.zipped.iter().map(|a| (a.target, a.values.iter().map(|&v| T::of(v)).collect())).collect();
    let stepper = Stepper::<T>::of_plan(plan);
    let varied = plan.varies_settings();
    let done = AtomicU64::new(0);
    let total = plan.range().len() as u64;
    let nx = plan.nx();
    let recorded = plan.system.spec().loss_record;
    let (extras, n_extras) = (plan.extras_offset(), plan.extra_observables().len());
    // The optimizer memory at each end, where the host continues from it.
    let n_mem = plan.kept_memory();
    let (mut memory, mem_chunk) = out.memory_buffer(n_mem, CHUNK);
    out.status
        .par_chunks_mut(CHUNK)
        .zip(out.steps.par_chunks_mut(CHUNK))
        .zip(out.observables.par_chunks_mut(CHUNK * n_obs))
        .zip(memory.par_chunks_mut(mem_chunk))
        .enumerate()
        .for_each(|(c, (((status, steps), obs), mem))| {
            // The inputs, then the step rule's settings (an axis may set either).
            let mut inputs = base.clone();
            let n_inputs = plan.inputs.len();
            inputs.extend(plan.dynamics.settings().iter().map(|&v| T::of(v)));
            let mut stepper = stepper.clone();
            let mut scratch = Scratch::new(n_state);
            let mut obs_t = vec![T::zero(); n_obs];
            for j in 0..status.len() {
                let i = first + c * CHUNK + j;
                let g = plan.point_of(i);
                inputs[plan.x.target] = xs[g % nx];
                if let Some(t) = y_target {
                    inputs[t] = ys[g / nx];
                }
                for (t, values) in &zipped {
                    inputs[*t] = values[g % nx];
                }
                if varied {
                    stepper.hyper = plan.dynamics.hyper(&inputs[n_inputs..], plan.host_noise());
                }
                let (p, start) = inputs[..n_inputs].split_at(n_params);
                let mut x = start.to_vec();
                plan.add_init_noise(&inputs[..n_inputs], i, &mut x);
                let (s, n) = if recorded {
                    let mut record = LossRecord::start(T::zero());
                    let ended = stepper.integrate_trajectory(model, p, &mut x, &mut scratch, Some(&mut record), i as u32);
                    obs_t[n_obs - RECORDED.len()..].copy_from_slice(&record.observables(stepper.max_steps));
                    ended
                } else {
                    stepper.integrate_trajectory(model, p, &mut x, &mut scratch, None, i as u32)
                };
                status[j] = s as u32;
                steps[j] = n;
                model.observables(p, &x, &mut obs_t);
                if plan.sharpness {
                    super::sharpness::at_end(&stepper, model, p, &x, &scratch.mem, s, &mut obs_t[extras..extras + n_extras]);
                }
                // Outcomes are stored in f32 whatever the precision of the integration.
                for (o, v) in obs[j * n_obs..(j + 1) * n_obs].iter_mut().zip(&obs_t) {
                    *o = v.f64() as f32;
                }
                if n_mem > 0 {
                    for (o, v) in mem[j * n_mem..(j + 1) * n_mem].iter_mut().zip(&scratch.mem) {
                        *o = v.f64() as f32;
                    }
                }
            }
            let d = done.fetch_add(status.len() as u64, Ordering::Relaxed) + status.len() as u64;
            progress(d, total);
        });
    out.keep_memory(memory, n_mem);
    out
}

/// Work vectors for one trajectory (the state dimension is only known at run time).
pub struct Scratch<T> {
    /// The field at the current state: `advance` steps along it.
    pub v: Vec<T>,
    k: [Vec<T>; 4],
    tmp: Vec<T>,
    /// The optimizer's memory ([`Memory::len`] values; see [`optimizer`]), set to its start by
    /// [`Stepper::begin`].
    pub mem: Vec<T>,
    /// The displacement of an optimizer's step, computed before it is taken (the stop rule
    /// looks at it).
    pub d: Vec<T>,
    /// A forced flow's parameters at the time of an rk4 stage (see [`Stepper::clock`]).
    stage_p: Vec<T>,
    /// The trajectory and step of each lane, for the models whose field draws (minibatches):
    /// set by [`Stepper::begin`] and the engines' step loops, off otherwise.
    pub draw: Draw,
}

impl<T: Lane> Scratch<T> {
    pub fn new(n: usize) -> Self {
        let z = || vec![T::zero(); n];
        Scratch { v: z(), k: [z(), z(), z(), z()], tmp: z(), mem: Vec::new(), d: z(), stage_p: Vec::new(), draw: OFF.clone() }
    }
}

/// The step and stop rule of shaders/kernel.wgsl + shaders/step/*.wgsl, in `T` precision.
#[derive(Clone, Debug)]
pub struct Stepper<T> {
    pub method: Method,
    /// The step rule's settings (lr or dt, momentum, …, the noise); for a pack, each lane's.
    pub hyper: Hyper<T>,
    pub tol: T,
    pub bound: T,
    pub max_steps: u32,
    /// The squared escape radius; 0: no escape test.
    pub escape2: T,
    /// The seed of the noise (the run's seed).
    pub seed: u64,
    /// Weight decay is added to the field (coupled decay that is not zero, or set by an axis).
    pub decay: bool,
    /// A forced flow's time: the parameter it is read from and the steps per forcing period
    /// (0: none). The engines set it before each field evaluation to its stage's time, step n
    /// at (n mod K)·dt ([`Stepper::time_of`]); `None` for an autonomous system.
    pub clock: Option<(usize, u32)>,
    /// The step's per-block factors (end, parameter slot): an mlp's lr_l. They scale the field
    /// (gd, momentum, Nesterov) or Adam's step.
    pub step_blocks: Vec<(usize, usize)>,
    /// Steps follow the field of their draw ([`Model::field_drawn`]: an mlp's minibatches); off
    /// for the deterministic flow that locates fixed points, which is the full-batch one.
    pub draws: bool,
    /// The angles of the state: (index, period, 1/period). Each step ends by taking them
    /// modulo their period ([`Stepper::wrap_angles`]).
    pub angles: Vec<(usize, T, T)>,
    /// How trajectories look for returns to stop early on a cycle ([`super::returns`]); `None` for the
    /// host's own steppers, which integrate without it.
    pub returns: Option<Rule>,
}

impl<T: Lane> Stepper<T> {
    pub fn new(d: &Dynamics) -> Self {
        Stepper {
            method: d.method,
            hyper: d.base_hyper(),
            tol: T::of(d.tol),
            bound: T::of(d.bound),
            max_steps: d.steps,
            escape2: T::of(d.escape * d.escape),
            seed: 0,
            decay: d.method.coupled_decay() && d.weight_decay() != 0.0,
            step_blocks: Vec::new(),
            draws: false,
            angles: Vec::new(),
            clock: None,
            returns: None,
        }
    }

    /// The stepper of `plan`: its dynamics and its seed (the settings of its first trajectory
    /// where an axis sets them: see [`Stepper::at`]).
    pub fn of_plan(plan: &Plan) -> Self {
        Stepper {
            seed: plan.seed,
            step_blocks: plan.step_blocks().to_vec(),
            decay: plan.coupled_decay(),
            draws: plan.system.draws(),
            angles: plan.system.spec().angles().into_iter().map(|(i, period)| (i, T::of(period), T::of(1.0 / period))).collect(),
            clock: plan.system.spec().clock.map(|c| (c.slot, plan.steps_per_period())),
            returns: Rule::of_plan(plan),
            ..Stepper::new(&plan.dynamics)
        }
    }

    /// The stepper of trajectory `index` of `plan`: the settings an axis gives it.
    pub fn at(plan: &Plan, index: usize) -> Self {
        let mut s = Stepper::of_plan(plan);
        if plan.varies_settings() {
            let settings: Vec<T> = plan.settings_at(index).iter().map(|&v| T::of(v)).collect();
            s.hyper = plan.dynamics.hyper(&settings, plan.host_noise());
        }
        s
    }

    /// [`Stepper::at`] without noise or escape test: what locating a fixed point needs.
    pub fn deterministic_at(plan: &Plan, index: usize) -> Self {
        Stepper::at(plan, index).deterministic()
    }

    /// [`Stepper::of_plan`] without noise or escape test, for a parameter point rather than a
    /// trajectory (the step factors are read from its parameters).
    pub fn deterministic_of(plan: &Plan) -> Self {
        Stepper::of_plan(plan).deterministic()
    }

    /// This stepper without noise, escape test, draws or return probe.
    fn deterministic(self) -> Self {
        Stepper { hyper: Hyper { noise: T::zero(), ..self.hyper }, escape2: T::zero(), draws: false, returns: None, ..self }
    }

    /// The field step `draw` follows ([`Stepper::field`] of the draw's field).
    #[inline(always)]
    pub fn field_drawn<M: Model>(&self, m: &M, p: &[T], x: &[T], v: &mut [T], draw: &Draw) {
        if draw.on {
            m.field_drawn(p, x, v, draw);
        } else {
            m.field(p, x, v);
        }
        self.add_decay(x, v);
        self.scale_field(p, v);
    }

    /// [`Stepper::field_and_loss`] of the draw's field and loss.
    #[inline(always)]
    pub fn field_and_loss_drawn<M: Model>(&self, m: &M, p: &[T], x: &[T], v: &mut [T], draw: &Draw) -> T {
        let loss = if draw.on { m.field_and_loss_drawn(p, x, v, draw) } else { m.field_and_loss(p, x, v) };
        self.add_decay(x, v);
        self.scale_field(p, v);
        loss
    }

    /// The field at `x` into `v`, weight decay added for the coupled methods and scaled by the
    /// step factors except under Adam: what the stop rule measures and the step follows.
    #[inline(always)]
    pub fn field<M: Model>(&self, m: &M, p: &[T], x: &[T], v: &mut [T]) {
        m.field(p, x, v);
        self.add_decay(x, v);
        self.scale_field(p, v);
    }

    /// [`Stepper::field`] that also returns the loss (of the model, without the decay).
    #[inline(always)]
    pub fn field_and_loss<M: Model>(&self, m: &M, p: &[T], x: &[T], v: &mut [T]) -> T {
        let loss = m.field_and_loss(p, x, v);
        self.add_decay(x, v);
        self.scale_field(p, v);
        loss
    }

    /// v_i ← f_i·v_i for the step's block factors, for the methods whose step is linear in the
    /// field (all but Adam, whose step scales instead: [`optimizer::delta`]). WGSL `with_factors`.
    #[inline(always)]
    pub fn scale_field(&self, p: &[T], v: &mut [T]) {
        if self.method.memory() == Memory::Moments {
            return;
        }
        let mut start = 0;
        for &(end, slot) in &self.step_blocks {
            let f = p[slot];
            for vi in &mut v[start..end] {
                *vi = f * *vi;
            }
            start = end;
        }
    }

    /// v ← v − weight_decay·x for the coupled methods (gradient g + weight_decay·x).
    #[inline(always)]
    pub fn add_decay(&self, x: &[T], v: &mut [T]) {
        if self.decay {
            let w = self.hyper.weight_decay;
            for (vi, &xi) in v.iter_mut().zip(x) {
                *vi = *vi - w * xi;
            }
        }
    }

    /// Puts a trajectory's optimizer memory in `s` at its start (nothing for gd and rk4), and
    /// its draws on where the stepper draws (each lane's trajectory and step are the caller's).
    #[inline(always)]
    pub fn begin(&self, n: usize, s: &mut Scratch<T>) {
        if !self.draws {
            s.draw.on = false;
        } else if !s.draw.on || s.draw.key != crate::minibatch::key(self.seed) {
            s.draw = Draw::new(self.seed, T::WIDTH);
        }
        let len = self.method.memory().len(n);
        if len > 0 {
            s.mem.resize(len, T::zero());
            optimizer::reset(self.method, &mut s.mem);
        }
    }

    /// Whether the method carries memory, so that its step is computed before the stop test.
    #[inline(always)]
    pub fn has_memory(&self) -> bool {
        self.method.memory() != Memory::None
    }

    /// The displacement of the optimizer's step from `x`, given `v = field(x)`, into `s.d`
    /// (memory updated): [`optimizer::delta`].
    #[inline(always)]
    pub fn delta(&self, p: &[T], x: &[T], s: &mut Scratch<T>) {
        optimizer::delta(self.method, &self.hyper, &self.step_blocks, p, x, &s.v, &mut s.mem, &mut s.d);
    }

    /// x ← x + d: the optimizer's step once [`Stepper::delta`] computed it, angles wrapped.
    #[inline(always)]
    pub fn take_delta(&self, x: &mut [T], d: &[T]) {
        for (xi, &di) in x.iter_mut().zip(d) {
            *xi = *xi + di;
        }
        self.wrap_angles(x);
    }

    /// A forced flow's time at the start of step `n`: (n mod K)·dt, K the steps per forcing
    /// period (n·dt without one), in `T` as the WGSL `time_of` computes it.
    #[inline(always)]
    pub fn time_of(&self, n: u64) -> T {
        let k = self.clock.map_or(0, |c| c.1) as u64;
        let m = if k > 0 { n % k } else { n };
        T::of(m as f64) * self.hyper.step
    }

    /// Sets `p`'s time to that of step `n` (nothing for an autonomous system).
    #[inline(always)]
    pub fn set_time(&self, p: &mut [T], n: u64) {
        if let Some((slot, _)) = self.clock {
            p[slot] = self.time_of(n);
        }
    }

    /// Takes the angles of `x` modulo their periods, into [−period/2, period/2) (WGSL
    /// `wrap_angles`): the end of every step.
    #[inline(always)]
    pub fn wrap_angles(&self, x: &mut [T]) {
        for &(i, period, inverse) in &self.angles {
            x[i] = crate::system::wrap_angle(x[i], period, inverse);
        }
    }

    /// The gradient-descent step x ← x + lr·v (gd.wgsl), `v` the field at `x`.
    #[inline(always)]
    pub fn euler(&self, x: &mut [T], v: &[T]) {
        let h = self.hyper.step;
        for (xi, &vi) in x.iter_mut().zip(v) {
            *xi = *xi + h * vi;
        }
    }

    /// One step from `x` given `v = field(x)` (WGSL `advance`); for a pack, of every lane.
    #[inline(always)]
    pub fn advance<M: Model>(&self, m: &M, p: &[T], x: &mut [T], s: &mut Scratch<T>) {
        let h = self.hyper.step;
        match self.method {
            Method::Gd => self.euler(x, &s.v),
            Method::Momentum | Method::Nesterov | Method::Adam | Method::AdamW => {
                self.delta(p, x, s);
                self.take_delta(x, &s.d);
                return;
            }
            Method::Rk4 => {
                let half = T::of(0.5) * h;
                let Scratch { k: [k1, k2, k3, k4], tmp, stage_p, v, draw, .. } = s;
                k1.copy_from_slice(v);
                // A forced flow's middle stages at t + h/2, its last at t + h (WGSL `advance`).
                let clock = self.clock.map(|(slot, _)| {
                    stage_p.clear();
                    stage_p.extend_from_slice(p);
                    stage_p[slot] = p[slot] + half;
                    (slot, p[slot] + h)
                });
                let at_middle: &[T] = if clock.is_some() { stage_p } else { p };
                axpy(x, half, k1, tmp);
                self.field_drawn(m, at_middle, tmp, k2, draw);
                axpy(x, half, k2, tmp);
                self.field_drawn(m, at_middle, tmp, k3, draw);
                if let Some((slot, end)) = clock {
                    stage_p[slot] = end;
                }
                let at_end: &[T] = if clock.is_some() { stage_p } else { p };
                axpy(x, h, k3, tmp);
                self.field_drawn(m, at_end, tmp, k4, draw);
                let sixth = h / T::of(6.0);
                let two = T::of(2.0);
                for i in 0..x.len() {
                    x[i] = x[i] + sixth * (k1[i] + two * k2[i] + two * k3[i] + k4[i]);
                }
            }
        }
        self.wrap_angles(x);
    }
}

impl<T: Real> Stepper<T> {
    /// WGSL `escape_status`: non-finite, diverged (+/-), or still running.
    pub fn escape_status(&self, x: &[T]) -> Status {
        if x.iter().any(|v| v.is_nan()) {
            return Status::Nonfinite;
        }
        for &v in x {
            if v.abs() > self.bound {
                return if v < T::zero() { Status::DivergedNeg } else { Status::DivergedPos };
            }
        }
        Status::Running
    }

    /// Integrates one trajectory from `x` in place; returns how it ended and the steps taken.
    pub fn integrate<M: Model>(&self, m: &M, p: &[T], x: &mut [T], s: &mut Scratch<T>) -> (Status, u32) {
        self.integrate_trajectory(m, p, x, s, None, 0)
    }

    /// [`Stepper::integrate`], keeping the loss record of the run in `record` if given (WGSL
    /// `integrate` with `LOSS_RECORD`).
    pub fn integrate_recorded<M: Model>(&self, m: &M, p: &[T], x: &mut [T], s: &mut Scratch<T>, record: Option<&mut LossRecord<T>>) -> (Status, u32) {
        self.integrate_trajectory(m, p, x, s, record, 0)
    }

    /// Where `x` stands after a step: [`Stepper::escape_status`], then escaped if farther than
    /// the escape radius from `start` (empty: no escape test). WGSL: `escape_status`, `escaped`.
    pub fn status_after_step(&self, x: &[T], start: &[T]) -> Status {
        let st = self.escape_status(x);
        if st != Status::Running || start.is_empty() {
            return st;
        }
        let mut d2 = T::zero();
        for (a, b) in x.iter().zip(start) {
            d2 = d2 + (*a - *b) * (*a - *b);
        }
        if d2 > self.escape2 {
            Status::Escaped
        } else {
            Status::Running
        }
    }

    /// Whether this stepper adds noise (then nothing converges). A pack is noisy when any lane
    /// is (its lanes without noise add zero).
    pub fn noisy(&self) -> bool {
        self.hyper.noise > T::zero()
    }

    /// The start to keep for the escape test (empty without one).
    pub fn escape_start(&self, x: &[T]) -> Vec<T> {
        if self.escape2 > T::zero() {
            x.to_vec()
        } else {
            Vec::new()
        }
    }

    /// Adds step `n`'s Langevin noise of trajectory `index` to `x` (WGSL `add_noise`).
    pub fn add_noise(&self, x: &mut [T], index: u32, n: u32) {
        self.add_noise_with(self.hyper.noise, x, index, n)
    }

    /// [`Stepper::add_noise`] with the noise scale `noise` (a lane's, in a pack).
    pub fn add_noise_with(&self, noise: T, x: &mut [T], index: u32, n: u32) {
        for j in (0..x.len()).step_by(2) {
            let z = crate::dynamics::langevin_pair(self.seed, index, n, j as u32);
            x[j] = x[j] + noise * T::of(z[0] as f64);
            if j + 1 < x.len() {
                x[j + 1] = x[j + 1] + noise * T::of(z[1] as f64);
            }
        }
    }

    /// [`Stepper::integrate_recorded`] for trajectory `index` of its run (its global index, which
    /// picks its noise), with the escape test against its start.
    pub fn integrate_trajectory<M: Model>(
        &self,
        m: &M,
        p: &[T],
        x: &mut [T],
        s: &mut Scratch<T>,
        mut record: Option<&mut LossRecord<T>>,
        index: u32,
    ) -> (Status, u32) {
        let t_max = self.max_steps;
        let noisy = self.noisy();
        let start = self.escape_start(x);
        let first = self.escape_status(x);
        self.begin(x.len(), s);
        if s.draw.on {
            s.draw.index[0] = index;
        }
        if first != Status::Running {
            if let Some(r) = record {
                *r = LossRecord::start(m.field_and_loss(p, x, &mut s.v));
                r.add(0, T::of(RECORD_CAP), t_max, t_max);
            }
            return (first, 0);
        }
        let mapped = self.maps::<M>(record.is_some());
        let mut k = [T::zero(); GD_MAP_COEFFICIENTS];
        if mapped {
            m.gd_map_coefficients(p, self.hyper.step, self.bound, &mut k);
        }
        // A forced flow's parameters, its time set at each step.
        let mut timed_p: Vec<T> = if self.clock.is_some() { p.to_vec() } else { Vec::new() };
        let mut watch = self.returns.map(|rule| Watch::new(rule, x));
        let mut n = 0u32;
        while n < t_max {
            let p: &[T] = if self.clock.is_some() {
                self.set_time(&mut timed_p, n as u64);
                &timed_p
            } else {
                p
            };
            if mapped {
                // No tolerance: the field is not needed, only the step.
                m.gd_map(&k, false, x);
            } else if let Some(st) = self.field_step(m, p, x, s, record.as_deref_mut(), watch.as_mut(), n) {
                return (st, n);
            }
            if noisy {
                self.add_noise(x, index, n);
            }
            n += 1;
            let st = self.status_after_step(x, &start);
            if st != Status::Running {
                if let Some(r) = record {
                    r.add(n, T::of(RECORD_CAP), t_max - n, t_max);
                }
                return (st, n);
            }
            if let Some(w) = watch.as_mut() {
                if w.probe.after_step(&w.rule, n as u64, x, &self.angles).is_some() {
                    return (Status::Cycle, n);
                }
            }
        }
        (Status::Undecided, n)
    }

    /// Step `n` of [`Stepper::integrate_trajectory`] by the field: the field at `x`, the loss
    /// record, the tolerance test and the section probe, then the step. Returns, without
    /// stepping, how the run ended at `x` when it did (converged, or back on its section).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn field_step<M: Model>(&self, m: &M, p: &[T], x: &mut [T], s: &mut Scratch<T>, mut record: Option<&mut LossRecord<T>>, watch: Option<&mut Watch<T>>, n: u32) -> Option<Status> {
        let t_max = self.max_steps;
        if s.draw.on {
            s.draw.step[0] = n;
        }
        let loss = match record.as_deref_mut() {
            Some(r) => {
                let loss = self.field_and_loss_drawn(m, p, x, &mut s.v, &s.draw);
                if n == 0 {
                    *r = LossRecord::start(loss);
                }
                Some(loss)
            }
            None => {
                self.field_drawn(m, p, x, &mut s.v, &s.draw);
                None
            }
        };
        let mut converged = !self.noisy() && norm(&s.v) < self.tol;
        if self.has_memory() {
            // The step is computed first: a point passed at speed has not converged.
            self.delta(p, x, s);
            converged = converged && norm(&s.d) < self.tol;
        }
        if let (Some(r), Some(loss)) = (record, loss) {
            // A converged run keeps its last ratio for the steps it no longer takes.
            let count = if converged { t_max - n } else { 1 };
            r.add(n, r.ratio(loss), count, t_max);
        }
        if converged {
            return Some(Status::Converged);
        }
        if let Some(w) = watch.filter(|w| w.rule.is_section()) {
            if w.probe.at_step(&w.rule, n as u64, &w.x_prev, &w.v_prev, x, &s.v, &self.angles).is_some() {
                return Some(Status::Cycle);
            }
            w.x_prev.copy_from_slice(x);
            w.v_prev.copy_from_slice(&s.v);
        }
        if self.has_memory() {
            self.take_delta(x, &s.d);
        } else {
            self.advance(m, p, x, s);
        }
        None
    }

    /// Step `n` of a trajectory from `x` with its memory in `s` under the stop rule, without
    /// noise, loss record or return probe: `Some(Converged)` where it stops there, else `None`
    /// after stepping. What the host runs a trajectory on with (`classify::cycles`).
    pub(crate) fn step_or_stop<M: Model>(&self, m: &M, p: &[T], x: &mut [T], s: &mut Scratch<T>, n: u32) -> Option<Status> {
        self.field_step(m, p, x, s, None, None, n)
    }

    /// Whether runs of `M` step by its gradient-descent map ([`Model::gd_map`]): fixed-step
    /// gradient descent (no tolerance to test the field against) without a loss record.
    pub fn maps<M: Model>(&self, recorded: bool) -> bool {
        M::GD_MAP && self.method == Method::Gd && !self.decay && !recorded && !(self.tol > T::zero())
    }
}

/// A trajectory's return probe ([`super::returns`]), with the state and field of the step before (which
/// the section rule interpolates between).
struct Watch<T> {
    rule: Rule,
    probe: Probe<T>,
    x_prev: Vec<T>,
    v_prev: Vec<T>,
}

impl<T: Real> Watch<T> {
    fn new(rule: Rule, x: &[T]) -> Self {
        let mut probe = Probe::new(x.len());
        probe.begin(&rule);
        Watch { rule, probe, x_prev: x.to_vec(), v_prev: vec![T::zero(); x.len()] }
    }
}

/// Integrates the single trajectory `index` of `plan` in f64, without noise, and returns its end
/// state: what the classifier uses to locate a fixed point precisely.
pub fn end_state_f64(plan: &Plan, index: usize) -> Result<(Status, Vec<f64>)> {
    struct One<'a>(&'a Plan, usize);
    impl ModelVisitor for One<'_> {
        type Output = (Status, Vec<f64>);
        fn visit<M: Model>(self, m: &M) -> Self::Output {
            let inputs = self.0.inputs_at(self.1);
            let p = &inputs[..self.0.n_params];
            let mut x: Vec<f64> = self.0.start_f32(self.1).iter().map(|&v| v as f64).collect();
            let stepper = Stepper::<f64>::deterministic_at(self.0, self.1);
            let mut s = Scratch::new(x.len());
            let (st, _) = stepper.integrate(m, p, &mut x, &mut s);
            (st, x)
        }
    }
    plan.system.visit(One(plan, index))
}
