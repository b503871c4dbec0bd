//! The CPU engine's SIMD path: trajectories in packs of lanes (structure of arrays), each call
//! of the model's field computing a whole pack, compiled for the widest instruction set the
//! processor has and chosen at run time ([`Isa`]).
//!
//! A pack holds 128 f32 trajectories (eight AVX-512 registers of 16 lanes, so every operation
//! issues eight independent instructions and the latency of one hides behind the others) or 32
//! f64 ones (four registers of 8). A pack runs until its last lane has stopped (early exit per
//! lane group); a lane that stopped takes over a running lane's values and computes on unused,
//! its end state already saved. The sizes are measured trade-offs: wider packs hide more
//! latency on fixed-step maps (W1: 64 lanes 0.111 s, 128 lanes 0.089 s, 256 lanes 0.111 s),
//! narrower ones waste fewer steps where stopping times differ (W2 in f64: 32 lanes 0.058 s,
//! 64 lanes 0.157 s).
//!
//! Per lane, a pack computes the scalar path's operations in the scalar path's order, and every
//! decision (converged, diverged, escaped, the loss record) is taken by the scalar path's own
//! code on the lane's values, so both paths give the same bits (tests/simd.rs checks it).

use super::cpu::{Scratch, Stepper};
use super::{Outcomes, Progress, Status};
use crate::dynamics::{norm, LossRecord, Method, RECORD_CAP};
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
/// stopped at with a test every step.
const MAP_STEPS_PER_TEST: u32 = 8;

/// Trajectories per rayon task: a few packs, so that the very uneven stopping times near basin
/// boundaries still balance over the cores.
const CHUNK: usize = 4 * F32_LANES;

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
    out.status
        .par_chunks_mut(CHUNK)
        .zip(out.steps.par_chunks_mut(CHUNK))
        .zip(out.observables.par_chunks_mut(CHUNK * job.n_obs))
        .enumerate()
        .for_each(|(c, ((status, steps), obs))| {
            let start = first + c * CHUNK;
            match isa {
                // SAFETY: `isa` is one that `Isa::available` found on this processor.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { chunk_avx512(&job, start, status, steps, obs) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { chunk_avx2(&job, start, status, steps, obs) },
                _ => job.chunk(start, status, steps, obs),
            }
            let d = done.fetch_add(status.len() as u64, Ordering::Relaxed) + status.len() as u64;
            progress(d, total);
        });
    out
}

// The same code compiled for wider instruction sets: everything the chunk calls per step is
// `#[inline(always)]`, so it is all generated inside these functions with their features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
fn chunk_avx512<M: Model, T: Real, const N: usize>(job: &Job<M, T, N>, start: usize, status: &mut [u32], steps: &mut [u32], obs: &mut [f32]) {
    job.chunk(start, status, steps, obs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chunk_avx2<M: Model, T: Real, const N: usize>(job: &Job<M, T, N>, start: usize, status: &mut [u32], steps: &mut [u32], obs: &mut [f32]) {
    job.chunk(start, status, steps, obs)
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
    scalar: Stepper<T>,
    packed: Stepper<Pack<T, N>>,
    recorded: bool,
    escape: bool,
    random_init: bool,
    /// Whether `norm < tol` can hold at all (not with noise, nor for tol ≤ 0).
    check_tol: bool,
    /// Whether every step is the model's gradient-descent map ([`Stepper::maps`]).
    mapped: bool,
    n_obs: usize,
}

/// A pack's work buffers, reused from pack to pack.
struct Buffers<T: Real, const N: usize> {
    /// The parameters as loaded; `integrate` runs on a copy (see `retire`).
    p: Vec<Pack<T, N>>,
    x: Vec<Pack<T, N>>,
    /// Each lane's start (the escape test measures from it).
    x0: Vec<Pack<T, N>>,
    scratch: Scratch<Pack<T, N>>,
    inputs: Vec<T>,
    lane_x: Vec<T>,
    lane_x0: Vec<T>,
    lane_p: Vec<T>,
    /// Each lane's state when it stopped.
    ends: Vec<Pack<T, N>>,
    records: Vec<LossRecord<T>>,
    /// One lane's observables (lane by lane, for models that do not compute them a pack at a
    /// time).
    obs: Vec<T>,
    /// The model's observables of the pack, when it computes them a pack at a time.
    obs_packs: Vec<Pack<T, N>>,
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

/// How each lane of a pack stands.
struct Lanes<const N: usize> {
    running: [bool; N],
    n_running: usize,
    status: [Status; N],
    steps: [u32; N],
}

impl<'a, M: Model, T: Real, const N: usize> Job<'a, M, T, N> {
    fn new(plan: &'a Plan, model: &'a M) -> Self {
        let scalar = Stepper::<T>::of_plan(plan);
        let packed = Stepper::<Pack<T, N>>::of_plan(plan);
        let splat = |v: &[f64]| v.iter().map(|&v| Pack::splat(T::of(v))).collect();
        Job {
            plan,
            model,
            base_p: splat(&plan.inputs[..plan.n_params]),
            base_x: splat(&plan.inputs[plan.n_params..]),
            xs: plan.x.values.iter().map(|&v| T::of(v)).collect(),
            ys: plan.y.as_ref().map_or(vec![], |y| y.values.iter().map(|&v| T::of(v)).collect()),
            recorded: plan.system.spec().loss_record,
            escape: scalar.escape2 > T::zero(),
            random_init: plan.init_scale_slot().is_some(),
            check_tol: !scalar.noisy() && scalar.tol > T::zero(),
            mapped: scalar.maps::<M>(plan.system.spec().loss_record),
            n_obs: plan.n_obs(),
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
            inputs: vec![T::zero(); np + ns],
            lane_x: vec![T::zero(); ns],
            lane_x0: vec![T::zero(); ns],
            lane_p: vec![T::zero(); np],
            ends: vec![Pack::zero(); ns],
            obs_packs: vec![Pack::zero(); self.n_obs],
            records: vec![LossRecord::start(T::zero()); N],
            obs: vec![T::zero(); self.n_obs],
        }
    }

    /// Trajectories `start..start + status.len()`, pack by pack.
    #[inline(always)]
    fn chunk(&self, start: usize, status: &mut [u32], steps: &mut [u32], obs: &mut [f32]) {
        let mut b = self.buffers();
        for s in (0..status.len()).step_by(N) {
            let lanes = N.min(status.len() - s);
            self.load(start + s, lanes, &mut b);
            let end = self.integrate(start + s, lanes, &mut b);
            for j in 0..lanes {
                status[s + j] = end.status[j] as u32;
                steps[s + j] = end.steps[j];
            }
            self.observe(&mut b, &mut obs[s * self.n_obs..(s + lanes) * self.n_obs]);
        }
    }

    /// Fills the pack with trajectories `first..first + lanes`; lanes past those repeat the
    /// last one (they are computed and dropped).
    fn load(&self, first: usize, lanes: usize, b: &mut Buffers<T, N>) {
        let plan = self.plan;
        let (np, nx) = (plan.n_params, plan.nx());
        b.p.copy_from_slice(&self.base_p);
        b.x.copy_from_slice(&self.base_x);
        let set = |b: &mut Buffers<T, N>, target: usize, j: usize, v: T| {
            if target < np {
                b.p[target].0[j] = v;
            } else {
                b.x[target - np].0[j] = v;
            }
        };
        // The grid point of each lane, counted on from the first one's (a division per lane
        // would cost as much as several steps of a small system).
        let g = plan.point_of(first);
        let (mut col, mut row, mut sample) = (g % nx, g / nx, first % plan.samples);
        for j in 0..N {
            set(b, plan.x.target, j, self.xs[col]);
            if let Some(y) = &plan.y {
                set(b, y.target, j, self.ys[row]);
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

    /// Ends lane `j` with `status` after `n` steps, keeping its state.
    fn stop(&self, j: usize, status: Status, n: u32, lanes: &mut Lanes<N>, b: &mut Buffers<T, N>) {
        let ns = b.x.len();
        lanes.running[j] = false;
        lanes.n_running -= 1;
        lanes.status[j] = status;
        lanes.steps[j] = n;
        for c in 0..ns {
            b.ends[c].0[j] = b.x[c].0[j];
        }
    }

    /// Gives stopped lane `j` the state, start and parameters of a running lane, so that it
    /// computes a trajectory that raises no flag of its own (a diverged or converged lane left
    /// as it is would stop the fast path at every step).
    #[inline(always)]
    fn retire(&self, j: usize, lanes: &Lanes<N>, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>) {
        let Some(r) = lanes.running.iter().position(|&r| r) else {
            return;
        };
        for v in b.x.iter_mut().chain(b.x0.iter_mut()).chain(p.iter_mut()) {
            v.0[j] = v.0[r];
        }
    }

    /// [`Stepper::integrate_trajectory`] for every lane of the pack at once.
    ///
    /// The per-step tests are reductions over the pack (`all lanes fine?`) that cost a few
    /// instructions; only when one fails are the lanes looked at one by one.
    #[inline(always)]
    fn integrate(&self, first: usize, lanes: usize, b: &mut Buffers<T, N>) -> Lanes<N> {
        // A copy of the parameters, which `retire` changes while `observe` needs them as loaded;
        // in a local array when they fit: the compiler then knows that no store to the state
        // touches them, and keeps what it computes from them out of the step loop.
        let np = b.p.len();
        let mut p_stack = [Pack::<T, N>::zero(); P_STACK];
        let mut p_heap = Vec::new();
        let p: &mut [Pack<T, N>] = if np <= P_STACK {
            p_stack[..np].copy_from_slice(&b.p);
            &mut p_stack[..np]
        } else {
            p_heap.extend_from_slice(&b.p);
            &mut p_heap
        };
        self.integrate_with(first, lanes, p, b)
    }

    #[inline(always)]
    fn integrate_with(&self, first: usize, lanes: usize, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>) -> Lanes<N> {
        let (sc, model) = (&self.scalar, self.model);
        let t_max = sc.max_steps;
        let mut l = Lanes { running: [false; N], n_running: lanes, status: [Status::Undecided; N], steps: [0; N] };
        l.running[..lanes].iter_mut().for_each(|r| *r = true);
        // A start that is already out of bounds ends before its first step (the lanes are looked
        // at one by one only when the pack's test flags one).
        let mut start_loss = None;
        let flagged = if self.all_within(&b.x, &b.x0) { 0 } else { lanes };
        for j in 0..flagged {
            Self::lane(&b.x, j, &mut b.lane_x);
            let st = sc.escape_status(&b.lane_x);
            if st != Status::Running {
                self.stop(j, st, 0, &mut l, b);
                if self.recorded {
                    let loss = *start_loss.get_or_insert_with(|| model.field_and_loss(p, &b.x, &mut b.scratch.v));
                    b.records[j] = LossRecord::start(loss.0[j]);
                    b.records[j].add(0, T::of(RECORD_CAP), t_max, t_max);
                }
            }
        }
        for j in 0..N {
            if !l.running[j] {
                self.retire(j, &l, p, b);
            }
        }
        let mut n = 0u32;
        // Maps without noise or loss record step in a tight loop until some lane may stop (the
        // map's loop keeps a one-component state in registers).
        let tight = !self.recorded && !sc.noisy() && (!self.mapped || M::STATE_LEN == 1);
        while n < t_max && l.n_running > 0 {
            if tight {
                match self.steps_until_flag(p, b, &mut n) {
                    // Some lane may have converged at step n: the step below decides.
                    Flag::Tolerance => {}
                    Flag::Bounds => {
                        for j in self.check_lanes(n, &mut l, b) {
                            self.retire(j, &l, p, b);
                        }
                        continue;
                    }
                    Flag::Done => break,
                }
            }
            if self.mapped {
                let mut k = [Pack::<T, N>::zero(); GD_MAP_COEFFICIENTS];
                model.gd_map_coefficients(p, self.packed.step, self.packed.bound, &mut k);
                model.gd_map(&k, false, &mut b.x);
                self.after_step(first, lanes, &mut n, &mut l, p, b);
                continue;
            }
            let loss = if self.recorded {
                Some(model.field_and_loss(p, &b.x, &mut b.scratch.v))
            } else {
                model.field(p, &b.x, &mut b.scratch.v);
                None
            };
            let mut converged = [false; N];
            if self.check_tol {
                let size = norm(&b.scratch.v);
                if (0..N).fold(false, |a, j| a | (size.0[j] < sc.tol)) {
                    for j in 0..N {
                        converged[j] = size.0[j] < sc.tol;
                    }
                }
            }
            if let Some(loss) = loss {
                for j in (0..N).filter(|&j| l.running[j]) {
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
                        self.stop(j, Status::Converged, n, &mut l, b);
                    }
                }
                for j in (0..N).filter(|&j| converged[j]) {
                    self.retire(j, &l, p, b);
                }
                if l.n_running == 0 {
                    break;
                }
            }
            self.packed.advance(model, p, &mut b.x, &mut b.scratch);
            self.after_step(first, lanes, &mut n, &mut l, p, b);
        }
        for j in 0..N {
            if l.running[j] {
                self.stop(j, Status::Undecided, n, &mut l, b);
            }
        }
        l
    }

    /// What follows step `n` of [`Self::integrate_with`]: the noise, and the stop tests.
    #[inline(always)]
    fn after_step(&self, first: usize, lanes: usize, n: &mut u32, l: &mut Lanes<N>, p: &mut [Pack<T, N>], b: &mut Buffers<T, N>) {
        let sc = &self.scalar;
        if sc.noisy() {
            for j in (0..lanes).filter(|&j| l.running[j]) {
                Self::lane(&b.x, j, &mut b.lane_x);
                sc.add_noise(&mut b.lane_x, (first + j) as u32, *n);
                Self::set_lane(&mut b.x, j, &b.lane_x);
            }
        }
        *n += 1;
        if !self.all_within(&b.x, &b.x0) {
            for j in self.check_lanes(*n, l, b) {
                self.retire(j, l, p, b);
            }
        }
    }

    /// Steps every lane from step `n` until one may stop or `max_steps` is reached: the steps of
    /// [`Self::integrate_with`] without noise or loss record and with nothing that can change
    /// the parameters, which are copied into a local array here so that the compiler keeps
    /// what it computes from them (2r, 4u, 6w of Landau) out of the loop.
    #[inline(always)]
    fn steps_until_flag(&self, p: &[Pack<T, N>], b: &mut Buffers<T, N>, n: &mut u32) -> Flag {
        if self.mapped {
            // Computed once here: retiring a lane, which changes `p`, ends this loop.
            let mut k = [Pack::<T, N>::zero(); GD_MAP_COEFFICIENTS];
            let reduced = self.model.gd_map_coefficients(p, self.packed.step, self.packed.bound, &mut k);
            // Two instances of the loop, each with its form fixed.
            return if reduced { self.gd_map_steps::<1>(&k, true, b, n) } else { self.gd_map_steps::<1>(&k, false, b, n) };
        }
        let mut local = [Pack::<T, N>::zero(); P_STACK];
        let np = p.len();
        // One-component systems (landau, linear, effective) under gd. Longer fixed states
        // would need their own instances of the loop, compiled for every model and ISA.
        if self.scalar.method == Method::Gd && np <= P_STACK && M::STATE_LEN == 1 {
            // The field's coefficients, computed once: the compiler would not keep them in
            // registers (5 parameters of 8 registers each), and computed them again each step.
            self.model.coefficients(p, &mut local[..np]);
            return self.gd_steps_until_flag::<1>(&local[..np], b, n);
        }
        let p: &[Pack<T, N>] = if np <= P_STACK {
            local[..np].copy_from_slice(p);
            &local[..np]
        } else {
            p
        };
        let (sc, model) = (&self.scalar, self.model);
        while *n < sc.max_steps {
            model.field(p, &b.x, &mut b.scratch.v);
            if self.converging(&b.scratch.v) {
                return Flag::Tolerance;
            }
            self.packed.advance(model, p, &mut b.x, &mut b.scratch);
            *n += 1;
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
    fn gd_steps_until_flag<const NS: usize>(&self, k: &[Pack<T, N>], b: &mut Buffers<T, N>, n: &mut u32) -> Flag {
        let (sc, model) = (&self.scalar, self.model);
        let mut x: [Pack<T, N>; NS] = std::array::from_fn(|c| b.x[c]);
        let mut v = [Pack::<T, N>::zero(); NS];
        let mut flag = Flag::Done;
        // A local step count: through `n` the compiler would store it at every step.
        let mut steps = *n;
        while steps < sc.max_steps {
            model.field_of_coefficients(k, &x, &mut v);
            if self.converging(&v) {
                flag = Flag::Tolerance;
                break;
            }
            self.packed.euler(&mut x, &v);
            steps += 1;
            if !self.all_within(&x, &b.x0) {
                flag = Flag::Bounds;
                break;
            }
        }
        *n = steps;
        b.x[..NS].copy_from_slice(&x);
        flag
    }

    /// [`Self::steps_until_flag`] by the model's gradient-descent map, with coefficients `k`, on a
    /// state of `NS` components held in registers; the bounds are tested every
    /// [`MAP_STEPS_PER_TEST`] steps.
    #[inline(always)]
    fn gd_map_steps<const NS: usize>(&self, k: &[Pack<T, N>], reduced: bool, b: &mut Buffers<T, N>, n: &mut u32) -> Flag {
        let (t_max, model) = (self.scalar.max_steps, self.model);
        let mut x: [Pack<T, N>; NS] = std::array::from_fn(|c| b.x[c]);
        let mut flag = Flag::Done;
        let mut steps = *n;
        while steps < t_max {
            let run = MAP_STEPS_PER_TEST.min(t_max - steps);
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
        *n = steps;
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

    /// The scalar stop test for each flagged lane after step `n`; returns the flagged lanes
    /// that are stopped now (to retire).
    #[inline(never)]
    fn check_lanes(&self, n: u32, l: &mut Lanes<N>, b: &mut Buffers<T, N>) -> Vec<usize> {
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
                self.stop(j, st, n, l, b);
                if self.recorded {
                    b.records[j].add(n, T::of(RECORD_CAP), t_max - n, t_max);
                }
            }
        }
        flagged.retain(|&j| !l.running[j]);
        flagged
    }

    /// The observables of the pack's first lanes from their end states, lane after lane into
    /// `out` (one lane's observables after another): the model's for the whole pack at once
    /// where it can, else lane by lane. Outcomes are stored in f32 whatever the precision.
    fn observe(&self, b: &mut Buffers<T, N>, out: &mut [f32]) {
        let k = self.n_obs;
        let own = if self.recorded { k - RECORDED.len() } else { k };
        if self.model.observables_lanes(&b.p, &b.ends, &mut b.obs_packs[..own]) {
            for (j, o) in out.chunks_exact_mut(k).enumerate() {
                for (o, v) in o[..own].iter_mut().zip(&b.obs_packs) {
                    *o = v.0[j].f64() as f32;
                }
            }
        } else {
            for (j, o) in out.chunks_exact_mut(k).enumerate() {
                Self::lane(&b.p, j, &mut b.lane_p);
                Self::lane(&b.ends, j, &mut b.lane_x);
                self.model.observables(&b.lane_p, &b.lane_x, &mut b.obs);
                for (o, v) in o[..own].iter_mut().zip(&b.obs) {
                    *o = v.f64() as f32;
                }
            }
        }
        if self.recorded {
            for (o, record) in out.chunks_exact_mut(k).zip(&b.records) {
                for (o, v) in o[own..].iter_mut().zip(record.observables(self.scalar.max_steps)) {
                    *o = v.f64() as f32;
                }
            }
        }
    }
}
