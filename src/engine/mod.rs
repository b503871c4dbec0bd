//! Engines integrate every trajectory of a plan and return its [`Outcomes`].
//!
//! Two engines compute the same math: [`gpu::GpuEngine`] (WGSL through wgpu, one invocation per
//! trajectory) and [`cpu::CpuEngine`] (the same operations in Rust on all cores), which is the
//! oracle in tests and the engine on machines without a GPU.

pub mod cpu;
pub mod gpu;
pub mod multi;
pub mod shader;
pub mod optimizer;
pub mod refine;
pub mod returns;
pub mod sharpness;
pub mod simd;

use crate::plan::Plan;
use crate::scenario::EngineChoice;
use crate::system::System;
use crate::{Error, Result};
use serde::Serialize;

/// How a trajectory ended. The numbers are the WGSL constants of shaders/common.wgsl.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[repr(u32)]
pub enum Status {
    Running = 0,
    Converged = 1,
    DivergedPos = 2,
    DivergedNeg = 3,
    Undecided = 4,
    Nonfinite = 5,
    /// Left the ball of radius `escape` around its start (noise runs: its escape step).
    Escaped = 6,
    /// Came to rest at an unstable fixed point and did not leave it when pushed off (set on the
    /// host by [`crate::classify::stalls`], never by an engine).
    Stalled = 7,
    /// Returns to itself every `period` steps, on a cycle: stopped early by an engine's return
    /// probe ([`returns`], without a period) and confirmed on the host, or found there, by
    /// [`crate::classify::cycles`].
    Cycle = 8,
    /// Bounded with a positive largest Lyapunov exponent (set on the host by
    /// [`crate::classify::chaos`], never by an engine).
    Chaotic = 9,
}

impl Status {
    pub fn from_code(code: u32) -> Status {
        match code {
            1 => Status::Converged,
            2 => Status::DivergedPos,
            3 => Status::DivergedNeg,
            4 => Status::Undecided,
            5 => Status::Nonfinite,
            6 => Status::Escaped,
            7 => Status::Stalled,
            8 => Status::Cycle,
            9 => Status::Chaotic,
            _ => Status::Running,
        }
    }
}

/// Per-trajectory results of a run, a struct of arrays in grid order (x fastest), identical in
/// layout whichever engine produced it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcomes {
    /// [`Status`] codes.
    pub status: Vec<u32>,
    /// Steps taken before stopping.
    pub steps: Vec<u32>,
    /// `n_obs` final observables per trajectory (the system's `observables`, in order).
    pub observables: Vec<f32>,
    pub n_obs: usize,
    /// Each trajectory's period where it ended on a cycle (0 elsewhere), set on the host by
    /// [`crate::classify::cycles`]; empty while none is on a cycle (engines leave it so).
    pub period: Vec<u32>,
    /// Each trajectory's largest Lyapunov exponent per step where it ended (a network run's:
    /// along its training; NaN where none), set on the host by
    /// [`crate::classify::cycles::settle_undecided`] when asked for; empty otherwise.
    pub lyapunov: Vec<f32>,
    /// Each trajectory's period in time where it ended on a limit cycle of a flow (0
    /// elsewhere), set on the host by [`crate::classify::flows`]; empty while none is.
    pub cycle_time: Vec<f32>,
    /// Each trajectory's optimizer memory where it ended ([`Plan::kept_memory`] values each:
    /// momentum's velocity, Adam's moments and β^t), for the host to continue it on a cycle or
    /// chaos ([`crate::classify::cycles`]); empty where the plan keeps none.
    pub memory: Vec<f32>,
}

impl Outcomes {
    /// No outcomes yet, with room for `n` trajectories' status, steps and observables.
    pub fn with_capacity(n: usize, n_obs: usize) -> Outcomes {
        let mut o = Outcomes::zeroed(0, n_obs);
        o.status.reserve_exact(n);
        o.steps.reserve_exact(n);
        o.observables.reserve_exact(n * n_obs);
        o
    }

    /// Outcomes for `n` trajectories, all zero.
    pub fn zeroed(n: usize, n_obs: usize) -> Outcomes {
        Outcomes { status: vec![0; n], steps: vec![0; n], observables: vec![0.0; n * n_obs], n_obs, period: Vec::new(), lyapunov: Vec::new(), cycle_time: Vec::new(), memory: Vec::new() }
    }
    pub fn len(&self) -> usize {
        self.status.len()
    }
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
    }
    /// The observables of trajectory `i`.
    pub fn obs(&self, i: usize) -> &[f32] {
        &self.observables[i * self.n_obs..(i + 1) * self.n_obs]
    }
    /// The period of trajectory `i` (0: not on a cycle).
    pub fn period_of(&self, i: usize) -> u32 {
        self.period.get(i).copied().unwrap_or(0)
    }
    /// Appends `other`'s trajectories after these (joining the parts of a map in order).
    pub fn append(&mut self, other: &Outcomes) {
        debug_assert_eq!(self.n_obs, other.n_obs);
        if !self.period.is_empty() || !other.period.is_empty() {
            self.period.resize(self.len(), 0);
            self.period.extend((0..other.len()).map(|i| other.period_of(i)));
        }
        if !self.cycle_time.is_empty() || !other.cycle_time.is_empty() {
            self.cycle_time.resize(self.len(), 0.0);
            self.cycle_time.extend((0..other.len()).map(|i| other.cycle_time.get(i).copied().unwrap_or(0.0)));
        }
        if !self.lyapunov.is_empty() || !other.lyapunov.is_empty() {
            self.lyapunov.resize(self.len(), f32::NAN);
            self.lyapunov.extend((0..other.len()).map(|i| other.lyapunov.get(i).copied().unwrap_or(f32::NAN)));
        }
        // Parts of one plan keep the same memory per trajectory, or none.
        self.memory.extend_from_slice(&other.memory);
        self.status.extend_from_slice(&other.status);
        self.steps.extend_from_slice(&other.steps);
        self.observables.extend_from_slice(&other.observables);
    }
    /// The optimizer memory trajectory `i` ended with, of `n_mem` values each; `None` where
    /// the outcomes keep none.
    pub fn memory_of(&self, i: usize, n_mem: usize) -> Option<&[f32]> {
        (n_mem > 0 && self.memory.len() == self.len() * n_mem).then(|| &self.memory[i * n_mem..(i + 1) * n_mem])
    }
    /// A buffer for the end memory of `n_mem` values a trajectory that engines fill `chunk`
    /// trajectories at a time, and the length of its chunks: where `n_mem` is 0, one unused
    /// value a chunk, so that its chunks still line up with the trajectories' and nothing is
    /// held per trajectory. [`Outcomes::keep_memory`] takes it in.
    pub(crate) fn memory_buffer(&self, n_mem: usize, chunk: usize) -> (Vec<f32>, usize) {
        match n_mem {
            0 => (vec![0.0; self.len().div_ceil(chunk)], 1),
            n => (vec![0.0; self.len() * n], chunk * n),
        }
    }
    /// Takes in a buffer of [`Outcomes::memory_buffer`] filled with `n_mem` values a trajectory.
    pub(crate) fn keep_memory(&mut self, buffer: Vec<f32>, n_mem: usize) {
        if n_mem > 0 {
            self.memory = buffer;
        }
    }
    /// Observable `k` of every trajectory.
    pub fn column(&self, k: usize) -> Vec<f32> {
        self.observables.iter().skip(k).step_by(self.n_obs).copied().collect()
    }
}

/// What `run.json` records about the engine.
#[derive(Clone, Debug, Serialize)]
pub struct EngineInfo {
    /// "gpu" or "cpu".
    pub kind: &'static str,
    /// The adapter (GPU) or processor (CPU) description.
    pub device: String,
    /// Threads (CPU) or the backend (GPU).
    pub detail: String,
}

/// Progress reports: called with the number of trajectory-steps (or trajectories) done.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Trajectories per tile of [`run_in_tiles`] for a front end that may stop mid-run
/// (`stops_mid_run`, the Python package): on the CPU engine 2^16, a fraction of a second of
/// work for most maps; on a GPU one part of a run. For others, the whole plan: one tile.
pub fn stop_tile(info: &EngineInfo, stops_mid_run: bool) -> usize {
    match (stops_mid_run, info.kind) {
        (false, _) => usize::MAX,
        (true, "cpu") => 1 << 16,
        (true, _) => crate::plan::PART_TRAJECTORIES,
    }
}

/// Runs `plan` on `engine` in tiles of `tile` trajectories, asking `should_stop` before each, so
/// that a stop asked for (Ctrl-C in Python) comes within one tile; `progress` counts the
/// trajectories done. The outcomes are those of one run (a trajectory's bits do not depend on
/// the tiling), held in one allocation of the plan's size.
pub fn run_in_tiles(engine: &dyn Engine, plan: &Plan, tile: usize, progress: Progress<'_>, should_stop: &dyn Fn() -> bool) -> Result<Outcomes> {
    let range = plan.range();
    let n = range.len() as u64;
    if tile >= range.len() {
        // One tile: the engine's outcomes themselves, not a copy.
        if should_stop() {
            return Err(crate::Error::Interrupted(format!("stopped before any of {n} trajectories")));
        }
        let outcomes = engine.run(plan, &|d, _| progress(d, n))?;
        progress(n, n);
        return Ok(outcomes);
    }
    let mut outcomes = Outcomes::with_capacity(range.len(), plan.n_obs());
    for part in plan.tiles(tile) {
        if should_stop() {
            return Err(crate::Error::Interrupted(format!("stopped after {} of {n} trajectories", part.start - range.start)));
        }
        let done = (part.start - range.start) as u64;
        let mut piece = plan.clone();
        piece.restrict(part);
        outcomes.append(&engine.run(&piece, &|d, _| progress(done + d, n))?);
    }
    progress(n, n);
    Ok(outcomes)
}

/// An engine that can run plans.
pub trait Engine: Send + Sync {
    fn info(&self) -> EngineInfo;
    /// Integrates every trajectory of `plan`.
    fn run(&self, plan: &Plan, progress: Progress<'_>) -> Result<Outcomes>;
    /// Steps rows of trajectories of `plan` on from states the host holds ([`Continuer`]):
    /// `None` where this engine does not (the host continues the systems it has a model of
    /// itself; an engine is needed for those that exist only as WGSL).
    fn continuer<'a>(&'a self, _plan: &'a Plan, _rows: usize) -> Result<Option<Box<dyn Continuer + 'a>>> {
        Ok(None)
    }
}

/// Trajectories the host continues on an engine ([`crate::classify::continued`]): row k is
/// trajectory `index[k]` of the plan at its step `clock[k]`, in state `z[k·n_z..]` (the state,
/// then the step rule's memory, in f64 whatever the engine computes in).
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub index: Vec<u32>,
    pub clock: Vec<u32>,
    pub z: Vec<f64>,
    /// [`Status::Running`], or where the row left the bounds (it is not stepped further).
    pub status: Vec<u32>,
    /// The system's observables at each row's state (`n_obs` each), written by every advance.
    pub observables: Vec<f32>,
    pub n_z: usize,
    pub n_obs: usize,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Row k's state (and memory).
    pub fn z(&self, k: usize) -> &[f64] {
        &self.z[k * self.n_z..(k + 1) * self.n_z]
    }

    /// Row k's observables.
    pub fn obs(&self, k: usize) -> &[f32] {
        &self.observables[k * self.n_obs..(k + 1) * self.n_obs]
    }

    /// Adds a running row: trajectory `index` at its step `clock` in state (and memory) `z`.
    pub fn push(&mut self, index: u32, clock: u32, z: &[f64]) {
        self.index.push(index);
        self.clock.push(clock);
        self.status.push(Status::Running as u32);
        self.z.extend_from_slice(z);
    }
}

/// An engine stepping [`Rows`]: the plan's step rule exactly `steps` steps from each row's
/// state and clock, without its stop rule (no convergence test, no return probe, no noise),
/// a row stopping only where it leaves the bounds; then the observables of every row.
pub trait Continuer {
    fn advance(&mut self, rows: &mut Rows, steps: u32) -> Result<()>;

    /// [`Continuer::advance`], returning what each row passed through: row k's state and the
    /// field its step rule follows there, at the top of each step j, at
    /// `((j·rows + k)·2 + {0: state, 1: field})·n_state` (a flow's section crossings are placed
    /// between them: [`crate::classify::continued_flows`]). Past a row's last step (it left the
    /// bounds: its clock tells) the values are not its own.
    fn trace(&mut self, rows: &mut Rows, steps: u32) -> Result<Vec<f64>>;

    /// [`Continuer::advance`], returning the lowest and highest of each of a row's observables
    /// over its state before the steps and after each: row k's at `(2k + {0: lowest, 1:
    /// highest})·n_obs` (a flow's chaos window, whose neighbour is pulled back less often than
    /// its extremes pass: [`crate::classify::continued`]). Not a row's own where it left the
    /// bounds.
    fn ranges(&mut self, rows: &mut Rows, steps: u32) -> Result<Vec<f64>>;
}

/// Every GPU for `--devices all`: the hardware adapters, or with `--engine gpu` and none of
/// those, every adapter (software ones too).
pub fn select_all(choice: EngineChoice) -> Result<Box<dyn Engine>> {
    if choice == EngineChoice::Cpu {
        return Err(Error::input("--devices all spreads a map over GPUs; with --engine cpu every core is already busy"));
    }
    let mut gpus = gpu::GpuEngine::all(false)?;
    if gpus.is_empty() && choice == EngineChoice::Gpu {
        gpus = gpu::GpuEngine::all(true)?;
    }
    if gpus.is_empty() {
        return Err(Error::NoAdapter("--devices all: wgpu found no hardware GPU (--engine gpu --devices all takes software adapters too)".into()));
    }
    if gpus.len() == 1 {
        return Ok(Box::new(gpus.pop().expect("one")));
    }
    Ok(Box::new(multi::MultiEngine::new(gpus.into_iter().map(|g| Box::new(g) as Box<dyn Engine + Send + Sync>).collect())?))
}

/// The engine for `plan`: [`select`], except in f64. There `cpu` is the CPU engine; `gpu` takes
/// any adapter that computes f64 (SHADER_F64) and fails with the reason otherwise; `auto` takes
/// a hardware GPU that does, for a system its kernel runs in f64, and the CPU engine otherwise.
pub fn select_for(plan: &Plan) -> Result<Box<dyn Engine>> {
    if plan.dynamics.precision != crate::dynamics::Precision::F64 {
        return select(plan.engine, &plan.system);
    }
    let obstacle = f64_obstacle(&plan.system);
    if !plan.system.has_host_model() {
        // A WGSL system runs only on the GPU, and is written in f32: no engine computes it in f64.
        let why = obstacle.unwrap_or_else(|| "the system is written in f32".into());
        return Err(Error::input(format!("--precision f64: {why}, and a WGSL system runs on the GPU only; write it as a formula (--loss, --field) for f64")));
    }
    match (plan.engine, obstacle) {
        (EngineChoice::Cpu, _) | (EngineChoice::Auto, Some(_)) => Ok(Box::new(cpu::CpuEngine::new())),
        (EngineChoice::Gpu, Some(why)) => Err(f64_refused(&why)),
        (EngineChoice::Auto, None) => match gpu::GpuEngine::new(false)? {
            Some(g) if g.has_f64() => Ok(Box::new(g)),
            _ => Ok(Box::new(cpu::CpuEngine::new())),
        },
        (EngineChoice::Gpu, None) => match gpu::GpuEngine::new(true)? {
            Some(g) => match g.precision_obstacle(plan) {
                None => Ok(Box::new(g)),
                Some(why) => Err(f64_refused(&why)),
            },
            None => select(EngineChoice::Gpu, &plan.system),
        },
    }
}

/// Why the GPU kernels cannot compute `system` in f64, if they cannot: the cooperative kernel
/// (the networks) computes in f32 only, and so do WGSL files and formulas with functions that
/// WGSL's targets have only in f32 (exp, tanh, …).
pub fn f64_obstacle(system: &System) -> Option<String> {
    if system.spec().cooperative {
        return Some(format!("the {} kernel computes in f32 (its activations have no f64 form in WGSL's targets)", system.spec().name));
    }
    match system {
        System::Custom(c) => c.f64_obstacle(),
        _ => None,
    }
}

/// The error for `--precision f64` where the GPU cannot compute it.
pub fn f64_refused(why: &str) -> Error {
    Error::input(format!("--precision f64 on the GPU: {why}; the CPU engine computes it (--engine cpu)"))
}

/// Picks the engine for `choice`: `cpu` works for every system with a CPU model; `gpu` takes
/// any wgpu adapter, software ones included, and fails with exit code 2 when there is none;
/// `auto` takes a hardware GPU if there is one and the CPU engine otherwise, or any adapter for
/// a system that only the GPU can run (one written in WGSL).
pub fn select(choice: EngineChoice, system: &System) -> Result<Box<dyn Engine>> {
    let gpu_only = !system.has_host_model();
    match choice {
        EngineChoice::Cpu if gpu_only => Err(Error::input(
            "--engine cpu: a system written in WGSL runs only on the GPU engine (use --engine gpu or auto)",
        )),
        EngineChoice::Cpu => Ok(Box::new(cpu::CpuEngine::new())),
        EngineChoice::Auto if !gpu_only => match gpu::GpuEngine::new(false)? {
            Some(g) => Ok(Box::new(g)),
            None => Ok(Box::new(cpu::CpuEngine::new())),
        },
        // --engine gpu, or auto for a system only the GPU can run (a WGSL one): any adapter.
        _ => match gpu::GpuEngine::new(true)? {
            Some(g) => Ok(Box::new(g)),
            None if choice == EngineChoice::Auto => Err(Error::NoAdapter(
                "a system written in WGSL needs a GPU adapter and wgpu found none (on Debian `apt-get install mesa-vulkan-drivers` gives a software one); write it as a formula (--loss, --field) to run it on the CPU".into(),
            )),
            None => Err(Error::NoAdapter(
                "--engine gpu: wgpu found no adapter (no GPU driver; on Debian `apt-get install mesa-vulkan-drivers` gives a software one); use --engine cpu".into(),
            )),
        },
    }
}

/// The engine of `plan`, or with `all_devices` every GPU together.
pub fn for_plan(plan: &crate::plan::Plan, all_devices: bool) -> crate::Result<Box<dyn Engine>> {
    if all_devices {
        // Each adapter refuses f64 if it cannot compute it (GpuEngine::run).
        select_all(plan.engine)
    } else {
        select_for(plan)
    }
}
