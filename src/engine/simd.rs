//! The CPU engine's SIMD path: trajectories in packs of lanes (structure of arrays), each call
//! of the model's field computing a whole pack, compiled for the widest instruction set the
//! processor has and chosen at run time ([`Isa`]).
//!
//! A pack holds 128 f32 trajectories (eight AVX-512 registers of 16 lanes, so every operation
//! issues eight independent instructions and the latency of one hides behind the others) or 32
//! f64 ones (four registers of 8). Each rayon task runs one pack through a chunk of
//! trajectories: a lane whose trajectory stopped (converged, diverged, escaped, or at its last
//! step) hands over its outcome and takes the chunk's next trajectory, so that stopping times
//! that differ by orders of magnitude near basin boundaries leave no lane idle until the chunk
//! runs out (the default 512² map: 0.28 s with a pack running until its slowest lane, 0.11 s
//! refilled). Lanes are refilled between steps only, and each keeps its own step count, so a
//! trajectory computes the same steps whichever lane runs it, and from whichever clock. A lane
//! with no work left takes over a running lane's values and computes on unused. The sizes are
//! measured trade-offs: wider packs hide more latency on fixed-step maps (W1: 64 lanes 0.111 s,
//! 128 lanes 0.089 s, 256 lanes 0.111 s), narrower ones waste fewer steps as a chunk drains (W2
//! in f64 before refill: 32 lanes 0.058 s, 64 lanes 0.157 s).
//!
//! Per lane, a pack computes the scalar path's operations in the scalar path's order, and every
//! decision (converged, diverged, escaped, the loss record) is taken by the scalar path's own
//! code on the lane's values, so both paths give the same bits (tests/simd.rs checks it).

use super::cpu::{Scratch, Stepper};
use super::returns::{gap, side, Probe, Rule};
use super::{Outcomes, Progress, Status};
use crate::dynamics::{norm, Hyper, LossRecord, Memory, Method, RECORD_CAP};
use crate::lanes::Pack;
use num_traits::Zero;
use crate::plan::Plan;
use crate::real::Real;
use crate::system::{Model, GD_MAP_COEFFICIENTS, RECORDED};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether any flag is set: a reduction without early exit, so that it vectorises (`any`
/// stops at the first flag and is a loop over bytes).
#[inline(always)]
fn any<const N: usize>(flags: &[bool; N]) -> bool {
    flags.iter().fold(false, |a, &f| a | f)
}

/// Lanes per pack in f32 and in f64 (see the module header).
pub const F32_LANES: usize = 128;
pub const F64_LANES: usize = 32;

/// Parameters kept in a local array (see `Job::integrate`); more stay on the heap.
const P_STACK: usize = 8;

/// Steps between bound tests where runs step by their model's gradient-descent map: a test
/// costs about as much as a step of Landau's map. When a lane has left the bounds, the steps
/// since the last test are taken again one at a time, so the lane stops at the step it would have
/// stopped at with a test every step. WGSL twin: `MAP_BLOCK` in shaders/kernel.wgsl.
const MAP_STEPS_PER_TEST: u32 = 8;

/// Trajectories per rayon task, which one pack works through: long enough that its lanes stay
/// busy (a pack idles only as its chunk drains), short enough that the very uneven stopping
/// times near basin boundaries still balance over the cores. Measured on the default 512² map:
/// 4 packs' worth 0.09–0.11 s, 16 packs' 0.08 s.
const CHUNK: usize = 16 * F32_LANES;

/// An instruction set the SIMD path is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512 (F, VL, DQ, BW): 16 f32 lanes per register.
    Avx512,
    /// AVX2 with FMA: 8 f32 lanes per register.
    Avx2,
    /// What the binary was built for (SSE2 on x86-64).
    Baseline,
}

impl Isa {
    /// The widest instruction set this processor has.
    pub fn detect() -> Isa {
        Isa::available()[0]
    }

    /// Every instruction set this processor can run, widest first.
    pub fn available() -> Vec<Isa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512bw")
            {
                v.push(Isa::Avx512);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
            }
        }
        v.push(Isa::Baseline);
        v
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Baseline => "baseline",
        }
    }

    /// f32 lanes per register.
    pub fn f32_per_register(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 => 8,
            Isa::Baseline => 4,
        }
    }
}

/// Every trajectory of `plan`'s range in precision `T`, `N` lanes per pack, with `isa`.
pub fn run<M: Model, T: Real, const N: usize>(plan: &Plan, model: &M, isa: Isa, progress: Progress<'_>) -> Outcomes {
    let job = Job::<M, T, N>::new(plan, model);
    let first = plan.range().start;
    let mut out = Outcomes::zeroed(plan.range().len(), job.n_obs);
    let done = AtomicU64::new(0);
    let total = plan.range().len() as u64;
    // The optimizer memory at each end, where the host continues from it.
    let (mut memory, mem_chunk) = out.memory_buffer(job.n_mem, CHUNK);
    out.status
        .par_chunks_mut(CHUNK)
        .zip(out.steps.par_chunks_mut(CHUNK))
        .zip(out.observables.par_chunks_mut(CHUNK * job.n_obs))
        .zip(memory.par_chunks_mut(mem_chunk))
        .enumerate()
        .for_each(|(c, (((status, steps), obs), mem))| {
            let start = first + c * CHUNK;
            let out = Out { start, status, steps, obs, mem };
            let n = out.status.len() as u64;
            match isa {
                // SAFETY: `isa` is one that `Isa::available` found on this processor.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { chunk_avx512(&job, out) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { chunk_avx2(&job, out) },
                _ => job.chunk(out),
            }
            let d = done.fetch_add(n, Ordering::Relaxed) + n;
            progress(d, total);
        });
    out.keep_memory(memory, job.n_mem);
    out
}

// The same code compiled for wider instruction sets: everything the chunk calls per step is
// `#[inline(always)]`, so it is all generated inside these functions with their features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
fn chunk_avx512<M: Model, T: Real, const N: usize>(job: &Job<M, T, N>, out: Out) {
    job.chunk(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chunk_avx2<M: Model, T: Real, const N: usize>(job: &Job<M, T, N>, out: Out) {
    job.chunk(out)
}

/// What every pack of a run shares.
struct Job<'a, M, T: Real, const N: usize> {
    plan: &'a Plan,
    model: &'a M,
    /// The plan's parameters and start values in every lane, and the axes' values, in `T`.
    base_p: Vec<Pack<T, N>>,
    base_x: Vec<Pack<T, N>>,
    xs: Vec<T>,
    ys: Vec<T>,
    /// The axes stepped with x ([`Plan::zipped`]): target and values.
    zipped: Vec<(usize, Vec<T>)>,
    scalar: Stepper<T>,
    packed: Stepper<Pack<T, N>>,
    /// The step rule's settings in every lane, when an axis sets some of them per lane (empty
    /// otherwise): each lane's [`Stepper::hyper`] is computed from them.
    base_h: Vec<Pack<T, N>>,
    /// Some trajectory adds noise (the noise loop runs; a lane with noise 0 adds zeros).
    noisy: bool,
    /// Noise differs from lane to lane: the stop rule's tolerance holds only where it is 0.
    noise_varies: bool,
    recorded: bool,
    escape: bool,
    random_init: bool,
    /// Whether `norm < tol` can hold at all (not with noise, nor for tol ≤ 0).
    check_tol: bool,
    /// Whether every step is the model's gradient-descent map ([`Stepper::maps`]).
    mapped: bool,
    n_obs: usize,
    /// The system's own observables (the first ones; the sharpness's and the loss record's follow).
    own: usize,
    /// The sharpness observables are computed ([`crate::engine::sharpness`]).
    sharpness: bool,
    /// Values of optimizer memory returned with each end state ([`Plan::kept_memory`]).
    n_mem: usize,
}

/// A pack's work buffers, reused from pack to pack.
struct Buffers<T: Real, const N: usize> {
    /// The parameters as loaded; `integrate` runs on a copy (see `retire`).
    p: Vec<Pack<T, N>>,
    x: Vec<Pack<T, N>>,
    /// Each lane's start (the escape test measures from it).
    x0: Vec<Pack<T, N>>,
    scratch: Scratch<Pack<T, N>>,
    /// The pack's stepper: the job's, with each lane's settings where an axis sets them.
    stepper: Stepper<Pack<T, N>>,
    /// Each lane's settings ([`Job::base_h`] with the axes applied; empty when none does).
    h: Vec<Pack<T, N>>,
    inputs: Vec<T>,
    lane_x: Vec<T>,
    lane_x0: Vec<T>,
    lane_p: Vec<T>,
    /// Each lane's state when it stopped.
    ends: Vec<Pack<T, N>>,
    /// Each lane's optimizer memory and settings when it stopped (kept for the sharpness only:
    /// `retire` gives a stopped lane another's before its observables are written).
    end_mem: Vec<Pack<T, N>>,
    end_hyper: Vec<Hyper<T>>,
    records: Vec<LossRecord<T>>,
    /// One lane's observables (lane by lane, for models that do not compute them a pack at a
    /// time).
    obs: Vec<T>,
    /// The model's observables of the pack, when it computes them a pack at a time.
    obs_packs: Vec<Pack<T, N>>,
    /// Each lane's return probe ([`super::returns`]), where the plan has one.
    watch: Option<PackWatch<T, N>>,
}

/// The return probes of a pack's lanes: each lane's own (which decides, as on the scalar path),
/// and what the pack-wide tests read of them, lane by lane in packs.
struct PackWatch<T: Real, const N: usize> {
    rule: Rule,
    probes: Vec<Probe<T>>,
    c: Vec<Pack<T, N>>,
    normal: Vec<Pack<T, N>>,
    /// −1 in a lane whose probe is closed (no gap is within it).
    tol: Pack<T, N>,
    reach: Pack<T, N>,
    /// The state and field of the step before (the section rule's).
    x_prev: Vec<Pack<T, N>>,
    v_prev: Vec<Pack<T, N>>,
    lane: [Vec<T>; 3],
}

impl<T: Real, const N: usize> PackWatch<T, N> {
    fn new(rule: Rule, n: usize) -> Self {
        let z = || vec![Pack::zero(); n];
        let closed = Pack::splat(-T::one());
        PackWatch { rule, probes: vec![Probe::new(n); N], c: z(), normal: z(), tol: closed, reach: closed, x_prev: z(), v_prev: z(), lane: [vec![T::zero(); n], vec![T::zero(); n], vec![T::zero(); n]] }
    }

    /// Lane `j`'s packs from its probe.
    #[inline(always)]
    fn sync(&mut self, j: usize) {
        let probe = &self.probes[j];
        for k in 0..self.c.len() {
            self.c[k].0[j] = probe.c[k];
            self.normal[k].0[j] = probe.normal[k];
        }
        self.tol.0[j] = probe.tol;
        self.reach.0[j] = probe.reach;
    }

    /// Lane `j` starts a trajectory.
    fn begin(&mut self, j: usize) {
        self.probes[j].begin(&self.rule);
        self.sync(j);
    }

    /// Lane `j`'s trajectory stopped: nothing it holds may flag.
    fn close(&mut self, j: usize) {
        self.tol.0[j] = -T::one();
        self.reach.0[j] = -T::one();
    }

    /// Whether some lane's probe is open (the pack then steps with its tests).
    #[inline(always)]
    fn any_open(&self) -> bool {
        (0..N).fold(false, |a, j| a | (self.tol.0[j] >= T::zero()))
    }

    /// The pack clock of the first running lane's next checkpoint event.
    fn events(&self, l: &Lanes<N>) -> u64 {
        (0..N).filter(|&j| l.running[j]).map(|j| l.born[j] + self.probes[j].next).min().unwrap_or(u64::MAX)
    }
}

/// Why [`Job::steps_until_flag`] returned.
enum Flag {
    /// Some lane's field is below the tolerance at the current step (not taken yet).
    Tolerance,
    /// Some lane is out of bounds (or far from its start) after the step just taken.
    Bounds,
    /// Every step was taken.
    Done,
}

/// How each lane of a pack stands, and which of the chunk's trajectories it holds.
struct Lanes<const N: usize> {
    /// The lane holds a trajectory that has not stopped.
    running: [bool; N],
    n_running: usize,
    /// The trajectory each lane holds, as its place in the chunk.
    slot: [usize; N],
    /// The pack's clock (steps it has taken) when the lane's trajectory started: the trajectory
    /// has taken `clock - born` steps.
    born: [u64; N],
    /// Trajectories of the chunk handed to lanes so far.
    next: usize,
    /// Lanes whose trajectory stopped and whose observables are not written yet.
    stopped: Vec<usize>,
    /// Every lane holds one of consecutive trajectories started at the same clock (a whole
    /// pack loaded at once), so that they may all reach their last step together.
    together: bool,
}

impl<const N: usize> Lanes<N> {
    /// Steps lane `j`'s trajectory has taken at pack clock `clock`.
    #[inline(always)]
    fn steps(&self, j: usize, clock: u64) -> u32 {
        (clock - self.born[j]) as u32
    }

    /// The clock at which the first running lane reaches `t_max` steps.
    #[inline(always)]
    fn deadline(&self, t_max: u32) -> u64 {
        (0..N).filter(|&j| self.running[j]).map(|j| self.born[j] + t_max as u64).min().unwrap_or(0)
    }
}

/// Where a chunk's outcomes go.
struct Out<'o> {
    /// The grid index of the chunk's first trajectory.
    start: usize,
    status: &'o mut [u32],
    steps: &'o mut [u32],
    obs: &'o mut [f32],
    /// [`Job::n_mem`] values per trajectory (a single unused value where that is 0).
    mem: &'o mut [f32],
}

/// Observables are computed a pack at a time when at least 1/PACKWISE of the lanes stopped
/// together (a fixed-step map's whole pack), else lane by lane: a pack's observables cost about
/// as much as a few lanes' one at a time.
const PACKWISE: usize = 8;

impl<'a, M: Model, T: Real, const N: usize> Job<'a, M, T, N> {
    fn new(plan: &'a Plan, model: &'a M) -> Self {
        let scalar = Stepper::<T>::of_plan(plan);
        let packed = Stepper::<Pack<T, N>>::of_plan(plan);
        let splat = |v: &[f64]| v.iter().map(|&v| Pack::splat(T::of(v))).collect();
        let noise_varies = plan.host_noise().is_none();
        Job {
            plan,
            model,
            base_p: splat(&plan.inputs[..plan.n_params]),
            base_x: splat(&plan.inputs[plan.n_params..]),
            xs: plan.x.values.iter().map(|&v| T::of(v)).collect(),
            ys: plan.y.as_ref().map_or(vec![], |y| y.values.iter().map(|&v| T::of(v)).collect()),
            zipped: plan.zipped.iter().map(|a| (a.target, a.values.iter().map(|&v| T::of(v)).collect())).collect(),
            base_h: if plan.varies_settings() { splat(&plan.dynamics.settings()) } else { Vec::new() },
            noisy: scalar.noisy() || noise_varies,
            noise_varies,
            recorded: plan.system.spec().loss_record,
            escape: scalar.escape2 > T::zero(),
            random_init: plan.init_scale_slot().is_some(),
            check_tol: (noise_varies || !scalar.noisy()) && scalar.tol > T::zero(),
            mapped: scalar.maps::<M>(plan.system.spec().loss_record),
            n_obs: plan.n_obs(),
            own: plan.extras_offset(),
            sharpness: plan.sharpness,
            n_mem: plan.kept_memory(),
            scalar,
            packed,
        }
    }

    fn buffers(&self) -> Buffers<T, N> {
        let (np, ns) = (self.plan.n_params, self.plan.n_state());
        Buffers {
            p: self.base_p.clone(),
            x: self.base_x.clone(),
            x0: self.base_x.clone(),
            scratch: Scratch::new(ns),
            stepper: self.packed.clone(),
            h: self.base_h.clone(),
            inputs: vec![T::zero(); np + ns],
            lane_x: vec![T::zero(); ns],
            lane_x0: vec![T::zero(); ns],
            lane_p: vec![T::zero(); np],
            ends: vec![Pack::zero(); ns],
            end_mem: vec![Pack::zero(); if self.keeps_end_memory() { self.scalar.method.memory().len(ns) } else { 0 }],
            end_hyper: if self.sharpness { vec![self.scalar.hyper; N] } else { Vec::new() },
            obs_packs: vec![Pack::zero(); self.n_obs],
            records: vec![LossRecord::start(T::zero()); N],
            obs: vec![T::zero(); self.n_obs],
            watch: self.scalar.returns.map(|rule| PackWatch::new(rule, ns)),
        }
    }

    /// Trajectories `start..start + status.len()`, through one pack whose lanes are refilled.
    #[inline(always)]
    fn chunk(&self, mut out: Out) {
        let mut b = self.buffers();
        self.integrate(&mut out, &mut b);
    }

    /// Fills the pack with trajectories `first..first + lanes`; lanes past those repeat the
    /// last one (they are computed and dropped).
    #[inline(always)]
    fn load(&self, first: usize, lanes: usize, b: &mut Buffers<T, N>) {
        let plan = self.plan;
        let (np, nx) = (plan.n_params, plan.nx());
        b.p.copy_from_slice(&self.base_p);
        b.x.copy_from_slice(&self.base_x);
        b.h.copy_from_slice(&self.base_h);
        // The grid point of each lane, counted on from the first one's (a division per lane
        // would cost as much as several steps of a small system).
        let g = plan.point_of(first);
        let (mut col, mut row, mut sample) = (g % nx, g / nx, first % plan.samples);
        let y_target = plan.y.as_ref().map(|y| y.target);
        if plan.samples == 1 {
            // Runs of lanes along a row of the grid: a slice of the x values, one y value.
            let mut j = 0;
            while j < lanes {
                let len = (nx - col).min(lanes - j);
                Self::target(b, plan.x.target, np).0[j..j + len].copy_from_slice(&self.xs[col..col + len]);
                if let Some(t) = y_target {
                    Self::target(b, t, np).0[j..j + len].fill(self.ys[row]);
                }
                for (t, values) in &self.zipped {
                    Self::target(b, *t, np).0[j..j + len].copy_from_slice(&values[col..col + len]);
                }
                (j, col) = (j + len, col + len);
                if col == nx {
                    (col, row) = (0, row + 1);
                }
            }
            // Lanes past the chunk's end repeat its last trajectory.
            for t in std::iter::once(plan.x.target).chain(y_target).chain(self.zipped.iter().map(|(t, _)| *t)) {
                let pack = Self::target(b, t, np);
                let last = pack.0[lanes - 1];
                pack.0[lanes..].fill(last);
            }
        } else {
            for j in 0..N {
                Self::target(b, plan.x.target, np).0[j] = self.xs[col];
                if let Some(t) = y_target {
                    Self::target(b, t, np).0[j] = self.ys[row];
                }
                for (t, values) in &self.zipped {
                    Self::target(b, *t, np).0[j] = values[col];
                }
                if j + 1 < lanes {
                    sample += 1;
                    if sample == plan.samples {
                        sample = 0;
                        col += 1;
                        if col == nx {
                            col = 0;
                            row += 1;
                        }
                    }
                }
            }
        }
        if self.random_init {
            for j in 0..N {
                Self::lane(&b.p, j, &mut b.inputs[..np]);
                Self::lane(&b.x, j, &mut b.inputs[np..]);
                b.lane_x.copy_from_slice(&b.inputs[np..]);
                plan.add_init_noise(&b.inputs, first + j.min(lanes - 1), &mut b.lane_x);
                Self::set_lane(&mut b.x, j, &b.lane_x);
            }
        }
        b.x0.copy_from_slice(&b.x);
        // As the scalar path starts each record (a run of 0 steps keeps it).
        b.records.iter_mut().for_each(|r| *r = LossRecord::start(T::zero()));
        self.update_hyper(b);
        b.stepper.begin(plan.n_state(), &mut b.scratch);
    }

    /// Each lane's step-rule settings from [`Buffers::h`], when an axis sets them.
    #[inline(always)]
    fn update_hyper(&self, b: &mut Buffers<T, N>) {
        if !b.h.is_empty() {
            b.stepper.hyper = self.plan.dynamics.hyper(&b.h, self.plan.host_noise());
        }
    }

    /// Lane `j`'s optimizer memory to its start (see [`crate::engine::optimizer::reset`]).
    #[inline(always)]
    fn reset_memory(&self, j: usize, b: &mut Buffers<T, N>) {
        let mem = &mut b.scratch.mem;
        for v in mem.iter_mut() {
            v.0[j] = T::zero();
        }
        if self.scalar.method.memory() == Memory::Moments {
            let n = mem.len() - 2;
            mem[n].0[j] = T::one();
            mem[n + 1].0[j] = T::one();
        }
    }

    /// The pack of input `target` (a parameter, a state component after the `np` parameters, or
    /// a setting after the state).
    #[inline(always)]
    fn target(b: &mut Buffers<T, N>, target: usize, np: usize) -> &mut Pack<T, N> {
        if target < np {
            &mut b.p[target]
        } else if target < np + b.x.len() {
            &mut b.x[target - np]
        } else {
            let k = target - np - b.x.len();
            &mut b.h[k]
        }
    }

    /// Puts trajectory `index` into lane `j` alone: what [`Self::load`] does for a whole pack.
    fn load_lane(&self, index: usize, j: usize, b: &mut Buffers<T, N>) {
        let plan = self.plan;
        let (np, nx) = (plan.n_params, plan.nx());
        for (v, base) in b.p.iter_mut().zip(&self.base_p) {
            v.0[j] = base.0[j];
        }
        for (v, base) in b.x.iter_mut().zip(&self.base_x) {
            v.0[j] = base.0[j];
        }
        for (v, base) in b.h.iter_mut().zip(&self.base_h) {
            v.0[j] = base.0[j];
        }
        let g = plan.point_of(index);
        Self::target(b, plan.x.target, np).0[j] = self.xs[g % nx];
        if let Some(y) = &plan.y {
            Self::target(b, y.target, np).0[j] = self.ys[g / nx];
        }
        for (t, values) in &self.zipped {
            Self::target(b, *t, np).0[j] = values[g % nx];
        }
        if self.random_init {
            Self::lane(&b.p, j, &mut b.inputs[..np]);
            Self::lane(&b.x, j, &mut b.inputs[np..]);
            b.lane_x.copy_from_slice(&b.inputs[np..]);
            plan.add_init_noise(&b.inputs, index, &mut b.lane_x);
            Self::set_lane(&mut b.x, j, &b.lane_x);
        }
        for (x0, x) in b.x0.iter_mut().zip(&b.x) {
            x0.0[j] = x.0[j];
        }
        b.records[j] = LossRecord::start(T::zero());
        self.update_hyper(b);
        self.reset_memory(j, b);
    }

    /// Lane `j` of `packs` into `out`.
    #[inline(always)]
    fn lane(packs: &[Pack<T, N>], j: usize, out: &mut [T]) {
        for (o, p) in out.iter_mut().zip(packs) {
            *o = p.0[j];
        }
    }

    /// `values` into lane `j` of `packs`.
    #[inline(always)]
    fn set_lane(packs: &mut [Pack<T, N>], j: usize, values: &[T]) {
        for (p, &v) in packs.iter_mut().zip(values) {
            p.0[j] = v;
        }
    }

    /// Ends lane `j`'s trajectory with `status` at pack clock `clock`: writes its status and
    /// steps, and keeps its end state for its observables (written by [`Self::settle`]).
    fn stop(&self, j: usize, status: Status, clock: u64, l: &mut Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) {
        if let Some(w) = b.watch.as_mut() {
            w.close(j);
        }
        l.running[j] = false;
        l.n_running -= 1;
        out.status[l.slot[j]] = status as u32;
        out.steps[l.slot[j]] = l.steps(j, clock);
        for (end, x) in b.ends.iter_mut().zip(&b.x) {
            end.0[j] = x.0[j];
        }
        if self.keeps_end_memory() {
            Self::keep_end_memory(j, b);
        }
        l.stopped.push(j);
    }

    /// [`Self::stop`] for every lane, when all hold consecutive trajectories started together.
    #[inline(always)]
    fn stop_pack(&self, status: Status, clock: u64, l: &mut Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) {
        let (first, n) = (l.slot[0], l.steps(0, clock));
        out.status[first..first + N].fill(status as u32);
        out.steps[first..first + N].fill(n);
        b.ends.copy_from_slice(&b.x);
        if self.keeps_end_memory() {
            for j in 0..N {
                Self::keep_end_memory(j, b);
            }
        }
        l.running = [false; N];
        l.n_running = 0;
        l.stopped.clear();
        l.stopped.extend(0..N);
        if let Some(w) = b.watch.as_mut() {
            (0..N).for_each(|j| w.close(j));
        }
    }

    /// Gives stopped lane `j` the state, start and parameters of a running lane, so that it
    /// computes a trajectory that raises no flag of its own (a diverged or converged lane left
    /// as it is would stop the fast path at every step) until it is refilled.
    #[inline(always)]
    fn retire(&self, j: usize, lanes: &Lanes<N>, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>) {
        if lanes.n_running == 0 {
            // Nothing runs: the pack is about to be loaded anew, or the chunk is done.
            return;
        }
        let Some(r) = lanes.running.iter().position(|&r| r) else {
            return;
        };
        for v in b.x.iter_mut().chain(b.x0.iter_mut()).chain(p.iter_mut()).chain(b.h.iter_mut()).chain(b.scratch.mem.iter_mut()) {
            v.0[j] = v.0[r];
        }
        self.update_hyper(b);
    }

    /// The start test of the lanes in `fresh`, which have just taken new trajectories at clock
    /// `clock`: a start already out of bounds ends before its first step.
    fn start_test(&self, fresh: impl Iterator<Item = usize>, clock: u64, l: &mut Lanes<N>, p: &[Pack<T, N>], b: &mut Buffers<T, N>, out: &mut Out) {
        let t_max = self.scalar.max_steps;
        let mut start_loss = None;
        for j in fresh {
            Self::lane(&b.x, j, &mut b.lane_x);
            let st = self.scalar.escape_status(&b.lane_x);
            if st != Status::Running {
                self.stop(j, st, clock, l, b, out);
                if self.recorded {
                    let loss = *start_loss.get_or_insert_with(|| b.stepper.field_and_loss(self.model, p, &b.x, &mut b.scratch.v));
                    b.records[j] = LossRecord::start(loss.0[j]);
                    b.records[j].add(0, T::of(RECORD_CAP), t_max, t_max);
                }
            }
        }
    }

    /// Hands the chunk's trajectories from `l.next` on to the whole pack at once (every lane is
    /// stopped): lanes past the chunk's end stay idle.
    #[inline(always)]
    fn start_pack(&self, clock: u64, l: &mut Lanes<N>, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>, out: &mut Out) {
        let lanes = N.min(out.status.len() - l.next);
        self.load(out.start + l.next, lanes, b);
        p.copy_from_slice(&b.p);
        for j in 0..lanes {
            l.running[j] = true;
            l.slot[j] = l.next + j;
            l.born[j] = clock;
            if let Some(w) = b.watch.as_mut() {
                w.begin(j);
            }
        }
        l.n_running = lanes;
        l.next += lanes;
        l.together = lanes == N;
        // The lanes are looked at one by one only when the pack's test flags one.
        let flagged = if self.all_within(&b.x, &b.x0) { 0 } else { lanes };
        self.start_test(0..flagged, clock, l, p, b, out);
        for j in lanes..N {
            self.retire(j, l, p, b);
        }
    }

    /// Writes the observables of the lanes stopped since the last call, then gives each of them
    /// the chunk's next trajectory (its start tested: one already out of bounds stops, and its
    /// lane takes the next) or, once there is none, a running lane's values ([`Self::retire`]).
    /// Called between steps only, so that a new trajectory starts with its own field.
    #[inline(always)]
    fn settle(&self, clock: u64, l: &mut Lanes<N>, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>, out: &mut Out) {
        while !l.stopped.is_empty() {
            let mut batch = std::mem::take(&mut l.stopped);
            self.observe(&batch, l, b, out);
            if l.n_running == 0 && batch.len() == N && l.next < out.status.len() {
                // A whole pack ended together (a fixed-step map): load the next one at once.
                self.start_pack(clock, l, p, b, out);
            } else {
                let mut idle = Vec::new();
                for &j in &batch {
                    if l.next == out.status.len() {
                        idle.push(j);
                        continue;
                    }
                    self.load_lane(out.start + l.next, j, b);
                    l.together = false;
                    for (q, v) in p.iter_mut().zip(&b.p) {
                        q.0[j] = v.0[j];
                    }
                    l.running[j] = true;
                    l.n_running += 1;
                    l.slot[j] = l.next;
                    l.born[j] = clock;
                    l.next += 1;
                    if let Some(w) = b.watch.as_mut() {
                        w.begin(j);
                    }
                    self.start_test(std::iter::once(j), clock, l, p, b, out);
                }
                for j in idle.into_iter().chain(l.stopped.iter().copied()) {
                    self.retire(j, l, p, b);
                }
            }
            if l.stopped.is_empty() {
                // Keep the allocation for the next batch.
                batch.clear();
                l.stopped = batch;
            }
        }
    }

    /// Every trajectory of the chunk, [`Stepper::integrate_trajectory`] for each, through one
    /// pack: a lane whose trajectory stopped takes the chunk's next one, so that stopping
    /// times that differ by orders of magnitude (near basin boundaries) leave no lane idle
    /// until the chunk runs out.
    #[inline(always)]
    fn integrate(&self, out: &mut Out, b: &mut Buffers<T, N>) {
        // A copy of the parameters, which `retire` changes while `observe` needs them as loaded;
        // in a local array when they fit: the compiler then knows that no store to the state
        // touches them, and keeps what it computes from them out of the step loop.
        let np = b.p.len();
        let mut p_stack = [Pack::<T, N>::zero(); P_STACK];
        let mut p_heap = vec![Pack::<T, N>::zero(); if np <= P_STACK { 0 } else { np }];
        let p: &mut [Pack<T, N>] = if np <= P_STACK { &mut p_stack[..np] } else { &mut p_heap };
        self.integrate_with(out, p, b)
    }

    /// The pack's step loop. The per-step tests are reductions over the pack (`all lanes
    /// fine?`) that cost a few instructions; only when one fails are the lanes looked at one by
    /// one.
    #[inline(always)]
    fn integrate_with(&self, out: &mut Out, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>) {
        let (sc, model) = (&self.scalar, self.model);
        let t_max = sc.max_steps;
        let mut l = Lanes { running: [false; N], n_running: 0, slot: [0; N], born: [0; N], next: 0, stopped: Vec::with_capacity(N), together: false };
        let mut clock = 0u64;
        if out.status.is_empty() {
            return;
        }
        self.start_pack(clock, &mut l, p, b, out);
        // Maps without noise or loss record step in a tight loop until some lane may stop (the
        // map's loop keeps a one-component state in registers).
        let tight = !self.recorded && !self.noisy && !self.packed.draws && (!self.mapped || M::STATE_LEN == 1) && sc.clock.is_none();
        // Lanes change only in `settle` (stopped lanes wait there): the deadline is kept, and
        // the clock of the next checkpoint event of a return probe.
        let mut deadline = l.deadline(t_max);
        let events_of = |b: &Buffers<T, N>, l: &Lanes<N>| b.watch.as_ref().map_or(u64::MAX, |w| w.events(l));
        let mut events = events_of(b, &l);
        let section = b.watch.as_ref().is_some_and(|w| w.rule.is_section());
        loop {
            if !l.stopped.is_empty() {
                // Stopped lanes take new work.
                self.settle(clock, &mut l, p, b, out);
                deadline = l.deadline(t_max);
                events = events_of(b, &l);
                continue;
            }
            if l.n_running == 0 {
                break;
            }
            if !section && clock >= events {
                // Checkpoints of the samples rule, on the states after this many steps.
                self.sample_events(clock, &mut l, b, out);
                events = events_of(b, &l);
                continue;
            }
            if clock >= deadline {
                // Trajectories at their last step are undecided.
                if l.together && l.n_running == N {
                    // The whole pack at once (a fixed-step map).
                    self.stop_pack(Status::Undecided, clock, &mut l, b, out);
                    continue;
                }
                for j in 0..N {
                    if l.running[j] && l.steps(j, clock) >= t_max {
                        self.stop(j, Status::Undecided, clock, &mut l, b, out);
                    }
                }
                continue;
            }
            // No probe open: the tight loop runs until the next checkpoint event.
            if tight && clock < events && !b.watch.as_ref().is_some_and(|w| w.any_open()) {
                match self.steps_until_flag(p, b, &mut clock, deadline.min(events)) {
                    // Some lane may have converged at this step: the step below decides.
                    Flag::Tolerance => {}
                    Flag::Bounds => {
                        for j in self.check_lanes(clock, &mut l, b, out) {
                            self.retire(j, &l, p, b);
                        }
                        continue;
                    }
                    Flag::Done => continue,
                }
            }
            if self.mapped {
                let mut k = [Pack::<T, N>::zero(); GD_MAP_COEFFICIENTS];
                model.gd_map_coefficients(p, b.stepper.hyper.step, self.packed.bound, &mut k);
                model.gd_map(&k, false, &mut b.x);
                self.after_step(&mut clock, &mut l, p, b, out);
                continue;
            }
            if let Some((slot, _)) = sc.clock {
                // A forced flow: each lane's time at its own step.
                for j in 0..N {
                    p[slot].0[j] = sc.time_of(l.steps(j, clock) as u64);
                }
            }
            let draw = &mut b.scratch.draw;
            if draw.on {
                // Each lane's minibatch is drawn at its own trajectory and step.
                for j in 0..N {
                    draw.index[j] = (out.start + l.slot[j]) as u32;
                    draw.step[j] = l.steps(j, clock);
                }
            }
            let loss = if self.recorded {
                Some(b.stepper.field_and_loss_drawn(model, p, &b.x, &mut b.scratch.v, &b.scratch.draw))
            } else {
                b.stepper.field_drawn(model, p, &b.x, &mut b.scratch.v, &b.scratch.draw);
                None
            };
            let memory = b.stepper.has_memory();
            if memory {
                // The step is computed before the stop test (it looks at the step too).
                b.stepper.delta(p, &b.x, &mut b.scratch);
            }
            let mut converged = [false; N];
            if self.check_tol {
                let size = norm(&b.scratch.v);
                if (0..N).fold(false, |a, j| a | (size.0[j] < sc.tol)) {
                    let moved = if memory { norm(&b.scratch.d) } else { Pack::zero() };
                    let noise = b.stepper.hyper.noise;
                    for j in 0..N {
                        converged[j] = size.0[j] < sc.tol && (!memory || moved.0[j] < sc.tol) && !(self.noise_varies && noise.0[j] > T::zero());
                    }
                }
            }
            if let Some(loss) = loss {
                for j in (0..N).filter(|&j| l.running[j]) {
                    let n = l.steps(j, clock);
                    let r = &mut b.records[j];
                    if n == 0 {
                        *r = LossRecord::start(loss.0[j]);
                    }
                    // A converged run keeps its last ratio for the steps it no longer takes.
                    let count = if converged[j] { t_max - n } else { 1 };
                    let ratio = r.ratio(loss.0[j]);
                    r.add(n, ratio, count, t_max);
                }
            }
            if any(&converged) {
                for j in 0..N {
                    if converged[j] && l.running[j] {
                        self.stop(j, Status::Converged, clock, &mut l, b, out);
                    }
                }
                for j in (0..N).filter(|&j| converged[j]) {
                    self.retire(j, &l, p, b);
                }
                if l.n_running == 0 {
                    continue;
                }
            }
            if section {
                for j in self.section_test(clock, &mut l, b, out) {
                    self.retire(j, &l, p, b);
                }
                events = events_of(b, &l);
                if l.n_running == 0 {
                    continue;
                }
            }
            if memory {
                b.stepper.take_delta(&mut b.x, &b.scratch.d);
            } else {
                b.stepper.advance(model, p, &mut b.x, &mut b.scratch);
            }
            self.after_step(&mut clock, &mut l, p, b, out);
        }
    }

    /// What follows a step of [`Self::integrate_with`]: the noise, and the stop tests.
    #[inline(always)]
    fn after_step(&self, clock: &mut u64, l: &mut Lanes<N>, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>, out: &mut Out) {
        let sc = &self.scalar;
        if self.noisy {
            for j in (0..N).filter(|&j| l.running[j]) {
                Self::lane(&b.x, j, &mut b.lane_x);
                sc.add_noise_with(b.stepper.hyper.noise.0[j], &mut b.lane_x, (out.start + l.slot[j]) as u32, l.steps(j, *clock));
                Self::set_lane(&mut b.x, j, &b.lane_x);
            }
        }
        *clock += 1;
        if !self.all_within(&b.x, &b.x0) {
            for j in self.check_lanes(*clock, l, b, out) {
                self.retire(j, l, p, b);
            }
        }
        if b.watch.as_ref().is_some_and(|w| !w.rule.is_section() && w.any_open()) {
            for j in self.sample_returns(*clock, l, b, out) {
                self.retire(j, l, p, b);
            }
        }
    }

    /// The samples rule after a step: each lane whose state is within its probe's tolerance of
    /// its checkpoint (a pack-wide test) is looked at by its own probe; returns the lanes found
    /// on a cycle, stopped.
    fn sample_returns(&self, clock: u64, l: &mut Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) -> Vec<usize> {
        let mut cycles = Vec::new();
        if let Some(w) = b.watch.as_mut() {
            let g = gap(&b.x, &w.c, &b.stepper.angles);
            for j in 0..N {
                if !(l.running[j] && g.0[j] <= w.tol.0[j]) {
                    continue;
                }
                Self::lane(&b.x, j, &mut w.lane[0]);
                if w.probes[j].after_step(&w.rule, l.steps(j, clock) as u64, &w.lane[0], &self.scalar.angles).is_some() {
                    cycles.push(j);
                }
                w.sync(j);
            }
        }
        for &j in &cycles {
            self.stop(j, Status::Cycle, clock, l, b, out);
        }
        cycles
    }

    /// The samples rule's checkpoint events due at `clock` (lanes that have taken their probe's
    /// next step count), on the states after those steps.
    fn sample_events(&self, clock: u64, l: &mut Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) {
        let mut cycles = Vec::new();
        if let Some(w) = b.watch.as_mut() {
            for j in 0..N {
                if !(l.running[j] && l.born[j] + w.probes[j].next == clock) {
                    continue;
                }
                Self::lane(&b.x, j, &mut w.lane[0]);
                if w.probes[j].after_step(&w.rule, l.steps(j, clock) as u64, &w.lane[0], &self.scalar.angles).is_some() {
                    cycles.push(j);
                }
                w.sync(j);
            }
        }
        for j in cycles {
            self.stop(j, Status::Cycle, clock, l, b, out);
        }
    }

    /// The section rule at the top of a step, the field at every lane's state computed: lanes
    /// whose last step crossed their section next to the checkpoint (a pack-wide test), and
    /// lanes due a checkpoint, are looked at by their own probe; then the state and field are
    /// kept for the next step. Returns the lanes found on a limit cycle, stopped.
    fn section_test(&self, clock: u64, l: &mut Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) -> Vec<usize> {
        let mut cycles = Vec::new();
        let Some(w) = b.watch.as_mut() else { return cycles };
        let open = w.any_open();
        let (s0, s1, g) = if open {
            let angles = &b.stepper.angles;
            (side(&w.x_prev, &w.c, &w.normal, angles), side(&b.x, &w.c, &w.normal, angles), gap(&b.x, &w.c, angles))
        } else {
            (Pack::zero(), Pack::zero(), Pack::zero())
        };
        for j in 0..N {
            let flagged = open && s0.0[j] < T::zero() && s1.0[j] >= T::zero() && g.0[j] <= w.reach.0[j];
            if !l.running[j] || !(flagged || l.born[j] + w.probes[j].next == clock) {
                continue;
            }
            let [xp, vp, x] = &mut w.lane;
            Self::lane(&w.x_prev, j, xp);
            Self::lane(&w.v_prev, j, vp);
            Self::lane(&b.x, j, x);
            Self::lane(&b.scratch.v, j, &mut b.lane_x);
            if w.probes[j].at_step(&w.rule, l.steps(j, clock) as u64, xp, vp, x, &b.lane_x, &self.scalar.angles).is_some() {
                cycles.push(j);
            }
            w.sync(j);
        }
        w.x_prev.copy_from_slice(&b.x);
        w.v_prev.copy_from_slice(&b.scratch.v);
        for &j in &cycles {
            self.stop(j, Status::Cycle, clock, l, b, out);
        }
        cycles
    }

    /// Steps every lane from pack clock `clock` until one may stop or the clock reaches
    /// `deadline` (where the first running lane takes its last step): the steps of
    /// [`Self::integrate_with`] without noise or loss record and with nothing that can change
    /// the parameters, which are copied into a local array here so that the compiler keeps
    /// what it computes from them (2r, 4u, 6w of Landau) out of the loop.
    #[inline(always)]
    fn steps_until_flag(&self, p: &[Pack<T, N>], b: &mut Buffers<T, N>, clock: &mut u64, deadline: u64) -> Flag {
        if self.mapped {
            // Computed once here: retiring or refilling a lane, which changes `p`, ends this loop.
            let mut k = [Pack::<T, N>::zero(); GD_MAP_COEFFICIENTS];
            let reduced = self.model.gd_map_coefficients(p, b.stepper.hyper.step, self.packed.bound, &mut k);
            // Two instances of the loop, each with its form fixed.
            return if reduced {
                self.gd_map_steps::<1>(&k, true, b, clock, deadline)
            } else {
                self.gd_map_steps::<1>(&k, false, b, clock, deadline)
            };
        }
        let mut local = [Pack::<T, N>::zero(); P_STACK];
        let np = p.len();
        // One-component systems (landau, linear, effective) under gd. Longer fixed states
        // would need their own instances of the loop, compiled for every model and ISA.
        if self.scalar.method == Method::Gd && !self.scalar.decay && np <= P_STACK && M::STATE_LEN == 1 {
            // The field's coefficients, computed once: the compiler would not keep them in
            // registers (5 parameters of 8 registers each), and computed them again each step.
            self.model.coefficients(p, &mut local[..np]);
            return self.gd_steps_until_flag::<1>(&local[..np], b, clock, deadline);
        }
        let p: &[Pack<T, N>] = if np <= P_STACK {
            local[..np].copy_from_slice(p);
            &local[..np]
        } else {
            p
        };
        let model = self.model;
        while *clock < deadline {
            b.stepper.field(model, p, &b.x, &mut b.scratch.v);
            // For an optimizer with memory, a superset of the lanes that may stop: the step
            // loop then computes the step and decides.
            if self.converging(&b.scratch.v) {
                return Flag::Tolerance;
            }
            b.stepper.advance(model, p, &mut b.x, &mut b.scratch);
            *clock += 1;
            if !self.all_within(&b.x, &b.x0) {
                return Flag::Bounds;
            }
        }
        Flag::Done
    }

    /// [`Self::steps_until_flag`] for gradient descent on a state of `NS` components, held in
    /// local arrays: the compiler keeps them in registers through the loop (a state in the
    /// buffers is stored and loaded back at every step). `k`: the model's coefficients.
    #[inline(always)]
    fn gd_steps_until_flag<const NS: usize>(&self, k: &[Pack<T, N>], b: &mut Buffers<T, N>, clock: &mut u64, deadline: u64) -> Flag {
        let model = self.model;
        let mut x: [Pack<T, N>; NS] = std::array::from_fn(|c| b.x[c]);
        let mut v = [Pack::<T, N>::zero(); NS];
        let mut flag = Flag::Done;
        // A local step count: through `clock` the compiler would store it at every step.
        let mut steps = *clock;
        while steps < deadline {
            model.field_of_coefficients(k, &x, &mut v);
            if self.converging(&v) {
                flag = Flag::Tolerance;
                break;
            }
            b.stepper.euler(&mut x, &v);
            steps += 1;
            if !self.all_within(&x, &b.x0) {
                flag = Flag::Bounds;
                break;
            }
        }
        *clock = steps;
        b.x[..NS].copy_from_slice(&x);
        flag
    }

    /// [`Self::steps_until_flag`] by the model's gradient-descent map, with coefficients `k`, on a
    /// state of `NS` components held in registers; the bounds are tested every
    /// [`MAP_STEPS_PER_TEST`] steps.
    #[inline(always)]
    fn gd_map_steps<const NS: usize>(&self, k: &[Pack<T, N>], reduced: bool, b: &mut Buffers<T, N>, clock: &mut u64, deadline: u64) -> Flag {
        let model = self.model;
        let mut x: [Pack<T, N>; NS] = std::array::from_fn(|c| b.x[c]);
        let mut flag = Flag::Done;
        let mut steps = *clock;
        while steps < deadline {
            let run = (MAP_STEPS_PER_TEST as u64).min(deadline - steps);
            let before = x;
            for _ in 0..run {
                model.gd_map(k, reduced, &mut x);
            }
            if self.all_within(&x, &b.x0) {
                steps += run;
                continue;
            }
            // Some lane has left: the same steps again, a test after each, to stop at the first.
            x = before;
            for _ in 0..run {
                model.gd_map(k, reduced, &mut x);
                steps += 1;
                if !self.all_within(&x, &b.x0) {
                    flag = Flag::Bounds;
                    break;
                }
            }
            if matches!(flag, Flag::Bounds) {
                break;
            }
        }
        *clock = steps;
        b.x[..NS].copy_from_slice(&x);
        flag
    }
    /// Whether some lane's field `v` is below the tolerance (never without a tolerance).
    #[inline(always)]
    fn converging(&self, v: &[Pack<T, N>]) -> bool {
        if !self.check_tol {
            return false;
        }
        let size = norm(v);
        (0..N).fold(false, |a, j| a | (size.0[j] < self.scalar.tol))
    }

    /// Σ_k |x_k| per lane (NaN if any component is): above the bound whenever a component is,
    /// since a sum of non-negative floats is at least each of its terms.
    #[inline(always)]
    fn size(x: &[Pack<T, N>]) -> Pack<T, N> {
        let mut s = Pack::<T, N>::zero();
        for xk in x {
            s = s + crate::lanes::abs(*xk);
        }
        s
    }

    /// The squared distance from the start per lane.
    #[inline(always)]
    fn distance2(x: &[Pack<T, N>], x0: &[Pack<T, N>]) -> Pack<T, N> {
        let mut d2 = Pack::<T, N>::zero();
        for (xk, x0k) in x.iter().zip(x0) {
            let d = *xk - *x0k;
            d2 = d2 + d * d;
        }
        d2
    }

    /// Whether no lane can have stopped: every one finite, within the bound and (with an escape
    /// radius) near its start. A superset of the scalar test, which [`Self::check_lanes`] runs.
    #[inline(always)]
    fn all_within(&self, x: &[Pack<T, N>], x0: &[Pack<T, N>]) -> bool {
        let bound = self.scalar.bound;
        let size = Self::size(x);
        let mut ok = (0..N).fold(true, |a, j| a & (size.0[j] <= bound));
        if self.escape {
            let d2 = Self::distance2(x, x0);
            let e2 = self.scalar.escape2;
            ok &= (0..N).fold(true, |a, j| a & !(d2.0[j] > e2));
        }
        ok
    }

    /// The scalar stop test for each flagged lane at pack clock `clock`; returns the flagged
    /// lanes that are stopped now (to retire).
    #[inline(never)]
    fn check_lanes(&self, clock: u64, l: &mut Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) -> Vec<usize> {
        let (sc, t_max) = (&self.scalar, self.scalar.max_steps);
        let size = Self::size(&b.x);
        let d2 = if self.escape { Self::distance2(&b.x, &b.x0) } else { Pack::zero() };
        let mut flagged: Vec<usize> = (0..N).filter(|&j| !(size.0[j] <= sc.bound) || d2.0[j] > sc.escape2).collect();
        for &j in &flagged {
            if !l.running[j] {
                continue;
            }
            Self::lane(&b.x, j, &mut b.lane_x);
            let start = if self.escape {
                Self::lane(&b.x0, j, &mut b.lane_x0);
                &b.lane_x0[..]
            } else {
                &[]
            };
            let st = sc.status_after_step(&b.lane_x, start);
            if st != Status::Running {
                let n = l.steps(j, clock);
                self.stop(j, st, clock, l, b, out);
                if self.recorded {
                    b.records[j].add(n, T::of(RECORD_CAP), t_max - n, t_max);
                }
            }
        }
        flagged.retain(|&j| !l.running[j]);
        flagged
    }

    /// The observables of the trajectories that stopped in `lanes`, from their end states and
    /// parameters, into their places in `out`: the model's for the whole pack at once where it
    /// can and many lanes stopped together, else lane by lane. Outcomes are stored in f32
    /// whatever the precision.
    #[inline(always)]
    fn observe(&self, lanes: &[usize], l: &Lanes<N>, b: &mut Buffers<T, N>, out: &mut Out) {
        let (k, own) = (self.n_obs, self.own);
        let packwise = lanes.len() * PACKWISE >= N && self.model.observables_lanes(&b.p, &b.ends, &mut b.obs_packs[..own]);
        let first = l.slot[0];
        if packwise && !self.recorded && !self.sharpness && self.n_mem == 0 && lanes.len() == N && (0..N).all(|j| lanes[j] == j && l.slot[j] == first + j) {
            // A whole pack of consecutive trajectories (a fixed-step map): one run of outcomes.
            let run = &mut out.obs[first * k..(first + N) * k];
            match &b.obs_packs[..] {
                // The usual two (the state and the loss of a one-component system), interleaved
                // in one loop that the compiler turns into SIMD shuffles.
                [a, c] => {
                    for (o, (a, c)) in run.chunks_exact_mut(2).zip(a.0.iter().zip(&c.0)) {
                        o[0] = a.f64() as f32;
                        o[1] = c.f64() as f32;
                    }
                }
                packs => {
                    for (j, o) in run.chunks_exact_mut(k).enumerate() {
                        for (o, v) in o.iter_mut().zip(packs) {
                            *o = v.0[j].f64() as f32;
                        }
                    }
                }
            }
            return;
        }
        for &j in lanes {
            let slot = l.slot[j];
            let o = &mut out.obs[slot * k..(slot + 1) * k];
            if packwise {
                for (o, v) in o[..own].iter_mut().zip(&b.obs_packs) {
                    *o = v.0[j].f64() as f32;
                }
            } else {
                Self::lane(&b.p, j, &mut b.lane_p);
                Self::lane(&b.ends, j, &mut b.lane_x);
                self.model.observables(&b.lane_p, &b.lane_x, &mut b.obs);
                for (o, v) in o[..own].iter_mut().zip(&b.obs) {
                    *o = v.f64() as f32;
                }
            }
            if self.sharpness {
                self.sharpness_of_lane(j, out.status[slot], b, &mut o[own..]);
            }
            let n_mem = self.n_mem;
            if n_mem > 0 {
                for (o, m) in out.mem[slot * n_mem..(slot + 1) * n_mem].iter_mut().zip(&b.end_mem) {
                    *o = m.0[j].f64() as f32;
                }
            }
            if self.recorded {
                for (o, v) in o[k - RECORDED.len()..].iter_mut().zip(b.records[j].observables(self.scalar.max_steps)) {
                    *o = v.f64() as f32;
                }
            }
        }
    }

    /// Whether stopped lanes' memory is kept: for their sharpness, or to return with their end
    /// states.
    #[inline(always)]
    fn keeps_end_memory(&self) -> bool {
        self.sharpness || self.n_mem > 0
    }

    /// Keeps lane `j`'s memory and settings as it stops, for its sharpness or its outcome.
    #[inline(never)]
    fn keep_end_memory(j: usize, b: &mut Buffers<T, N>) {
        for (end, m) in b.end_mem.iter_mut().zip(&b.scratch.mem) {
            end.0[j] = m.0[j];
        }
        if b.end_hyper.is_empty() {
            // No sharpness: the settings are not needed.
            return;
        }
        let h = &b.stepper.hyper;
        let lane = |p: Pack<T, N>| p.0[j];
        b.end_hyper[j] = Hyper { step: lane(h.step), momentum: lane(h.momentum), beta1: lane(h.beta1), beta2: lane(h.beta2), eps: lane(h.eps), weight_decay: lane(h.weight_decay), noise: lane(h.noise) };
    }

    /// The sharpness observables of stopped lane `j` (its end state, parameters, and the
    /// memory and settings it stopped with), one lane at a time by the scalar code, into the
    /// start of `out`.
    #[inline(never)]
    fn sharpness_of_lane(&self, j: usize, status: u32, b: &mut Buffers<T, N>, out: &mut [f32]) {
        let stepper = Stepper { hyper: b.end_hyper[j], ..self.scalar.clone() };
        Self::lane(&b.p, j, &mut b.lane_p);
        Self::lane(&b.ends, j, &mut b.lane_x);
        let mem: Vec<T> = b.end_mem.iter().map(|m| m.0[j]).collect();
        let names = self.plan.extra_observables();
        let mut values = [T::zero(); 2];
        super::sharpness::at_end(&stepper, self.model, &b.lane_p, &b.lane_x, &mem, Status::from_code(status), &mut values[..names.len()]);
        for (o, v) in out.iter_mut().zip(&values[..names.len()]) {
            *o = v.f64() as f32;
        }
    }
}
