//! Cycles and chaos of maps that exist only as WGSL. A system written in WGSL (`--wgsl`: its
//! `fn loss`, `fn field` or `fn map`) has no host model, so [`super::cycles`] cannot continue
//! its undecided trajectories on the host; they are continued on the engine instead
//! ([`Engine::continuer`]: the GPU kernel's `advance_rows`), all rows at once, each
//! continuation step one dispatch, in the kernel's precision (f32), with the same tests:
//!
//! * `4 · max_period` steps let them settle;
//! * the next `2 · max_period` states are read back (with an optimizer's memory: [`Plan::kept_memory`]
//!   is returned for these plans too), and a row's period is [`period_of`]'s on them, with the
//!   tolerance of the engines' return probe in that precision
//!   ([`crate::engine::returns::samples_tol`], 64 ε: 7.6e-6 in f32) in place of the host's f64
//!   [`super::cycles::RETURN_TOL`]. A cycle's point is its kept state with the smallest first
//!   component ([`first_row`]), its observables the kernel's there; period 1 (a fixed point the
//!   stop rule had not declared) stays undecided;
//! * rows without a period go through a chaos window, [`super::chaos`]'s (its length, blocks,
//!   recurrence test and threshold), where λ₁ comes from a second row per trajectory, started
//!   [`DELTA`]·(1 + |x|) away and pulled back to that distance along the separation after every
//!   step (Benettin's two-trajectory method): a forward difference of f32 steps where the host's
//!   tangent takes central differences of f64 ones. Its error: rounding of about 1e-3 of a step's
//!   growth and curvature of about [`DELTA`], of either sign, so that they average out over the
//!   window (tests/custom.rs: the Hénon map's 0.41922 within 1 %). A neighbour that rounds onto
//!   its row (near a critical point of the map, in f32) is placed again and that step's growth,
//!   below what the precision resolves, is not counted; under Adam the neighbour's second
//!   moments stay ≥ 0 and its β^t are the row's.
//!
//! A flow written in WGSL (a `fn field` stepped by rk4, forced or not) is continued the same
//! way by [`super::continued_flows`], with the host's limit-cycle and stroboscopic tests and
//! this chaos window (its neighbour pulled back every [`RENORMALISE_TIME`] of time).
//!
//! Not given here, where the host path gives it: a cycle's stability (its multipliers need the
//! step's Jacobian; it reads `unknown`, as a WGSL system's fixed points do), `--lyapunov`, and
//! the early stop on a cycle (the engines' return probe is confirmed on the host, so WGSL
//! systems have none and their cycles run out the budget first). Rows go to the engine in
//! batches whose kept states take at most 256 MiB on the host. Like [`super::cycles`], each row depends
//! only on its own end state and index, so the labels do not depend on tiling or batches.

use super::chaos::{self, HalfRanges, Window};
use super::cycles::{first_row, period_of, returning_len, SettleReport, MAX_CYCLE_DIM};
use crate::dynamics::{Memory, Precision};
use crate::engine::returns::samples_tol;
use crate::engine::{Continuer, Engine, Outcomes, Rows, Status};
use crate::plan::Plan;
use crate::Result;
use rayon::prelude::*;

/// The distance of the second row of a chaos window from the first, relative to 1 + |x|
/// (max-norm).
pub const DELTA: f64 = 1e-4;

/// A flow's chaos window pulls its neighbour back after this much time (a map's after every
/// step): growth over it stays small (Lorenz's fastest stretches about e^1.5) and the round
/// trips few.
pub const RENORMALISE_TIME: f64 = 0.1;

/// Bytes of kept states (and their observables) the host holds at most for one batch of rows:
/// 2·max_period of each a row.
const BATCH_BYTES: usize = 256 << 20;

/// Whether `plan`'s undecided trajectories are continued on the engine: a map (gd or an
/// optimizer) or a flow ([`super::continued_flows`]) of a system without a host model,
/// deterministic (no temperature, escape test or minibatches), whose features are its state (at
/// most [`MAX_CYCLE_DIM`] variables), with cycles asked for (`[classify] max_period` ≥ 2).
pub fn applies(plan: &Plan) -> bool {
    let d = &plan.dynamics;
    let spec = plan.system.spec();
    !plan.system.has_host_model()
        && plan.classify.max_period >= 2
        && d.temperature == 0.0
        && d.escape == 0.0
        && !plan.system.draws()
        && spec.features.is_none()
        && !spec.cooperative
        && plan.n_state() <= MAX_CYCLE_DIM
}

/// Continues the undecided trajectories of `outcomes` (trajectories `first..` of `plan`) on
/// `engine` and relabels those found on a cycle or chaotic in place (status, period, end state's
/// observables, memory, steps); see the module header. Nothing where [`applies`] does not, or
/// where the engine cannot continue rows.
pub fn settle_on_engine(plan: &Plan, engine: &dyn Engine, outcomes: &mut Outcomes, first: usize) -> Result<SettleReport> {
    let mut report = SettleReport::default();
    if !applies(plan) {
        return Ok(report);
    }
    if chaos::is_flow(plan) {
        return super::continued_flows::settle_on_engine(plan, engine, outcomes, first);
    }
    let n_mem = plan.kept_memory();
    if n_mem > 0 && outcomes.memory.len() != outcomes.len() * n_mem {
        return Ok(report);
    }
    let undecided: Vec<usize> = (0..outcomes.len()).filter(|&i| outcomes.status[i] == Status::Undecided as u32).collect();
    if undecided.is_empty() {
        return Ok(report);
    }
    // Rows continued together (twice as many in a chaos window).
    let per_row = 2 * plan.classify.max_period as usize * (8 * (plan.n_state() + n_mem) + 4 * plan.system.spec().model_observables().len());
    let batch_rows = (BATCH_BYTES / per_row.max(1)).clamp(1024, 1 << 16);
    let Some(mut continuer) = engine.continuer(plan, 2 * undecided.len().min(batch_rows))? else {
        return Ok(report);
    };
    for batch in undecided.chunks(batch_rows) {
        for (i, ending) in batch.iter().zip(endings(plan, continuer.as_mut(), outcomes, first, batch)?) {
            report.tested += 1;
            let (status, period, observables, memory) = match ending.kind {
                Kind::Undecided => {
                    continue;
                }
                Kind::Cycle { period, observables, memory } => {
                    report.cycles += 1;
                    (Status::Cycle, period, observables, memory)
                }
                Kind::Chaotic { middles } => {
                    report.chaotic += 1;
                    (Status::Chaotic, 0, middles, Vec::new())
                }
            };
            if period > 0 {
                outcomes.period.resize(outcomes.len(), 0);
                outcomes.period[*i] = period;
            }
            outcomes.status[*i] = status as u32;
            outcomes.steps[*i] = outcomes.steps[*i].saturating_add(ending.steps);
            let n_obs = outcomes.n_obs;
            outcomes.observables[i * n_obs..i * n_obs + observables.len()].copy_from_slice(&observables);
            if memory.len() == n_mem && n_mem > 0 {
                outcomes.memory[i * n_mem..(i + 1) * n_mem].copy_from_slice(&memory);
            }
        }
    }
    Ok(report)
}

/// λ₁ of a chaos window (the module header's; per step, or per unit time for a flow) from each
/// row of `rows` (their observables unused; a flow's rows at one step size, the first row's), NaN
/// for a row that leaves the bounds; `None` where the engine does not continue rows.
pub fn window_exponents(plan: &Plan, engine: &dyn Engine, rows: &Rows) -> Result<Option<Vec<f64>>> {
    let Some(mut continuer) = engine.continuer(plan, 2 * rows.len())? else {
        return Ok(None);
    };
    let every: Vec<usize> = (0..rows.len()).collect();
    let dt = match rows.index.first() {
        Some(&i) if chaos::is_flow(plan) => super::continued_flows::step_of(plan, i),
        _ => 1.0,
    };
    let windows = chaos_windows(plan, continuer.as_mut(), rows, &every, dt)?;
    Ok(Some(windows.into_iter().map(|w| w.map_or(f64::NAN, |w| w.lyapunov)).collect()))
}

/// How a continued row ended, and the steps it took.
struct Ending {
    kind: Kind,
    steps: u32,
}

enum Kind {
    Undecided,
    /// Its period, the system's observables at its point and the optimizer's memory there.
    Cycle { period: u32, observables: Vec<f32>, memory: Vec<f32> },
    /// The middles of its observables' ranges over the chaos window.
    Chaotic { middles: Vec<f32> },
}

/// The rows that continue trajectories `batch` (indices into `outcomes`, trajectories `first..`
/// of `plan`) from their end states (and memory) at their steps.
pub(super) fn rows_of(plan: &Plan, outcomes: &Outcomes, first: usize, batch: &[usize]) -> Rows {
    let (n_state, n_mem) = (plan.n_state(), plan.kept_memory());
    Rows {
        index: batch.iter().map(|&i| (first + i) as u32).collect(),
        clock: batch.iter().map(|&i| outcomes.steps[i]).collect(),
        z: batch
            .iter()
            .flat_map(|&i| outcomes.obs(i)[..n_state].iter().chain(outcomes.memory_of(i, n_mem).unwrap_or(&[])).map(|&v| v as f64))
            .collect(),
        status: vec![Status::Running as u32; batch.len()],
        observables: Vec::new(),
        n_z: n_state + n_mem,
        n_obs: plan.system.spec().model_observables().len(),
    }
}

/// Continues trajectories `batch` (indices into `outcomes`) on `continuer`.
fn endings(plan: &Plan, continuer: &mut dyn Continuer, outcomes: &Outcomes, first: usize, batch: &[usize]) -> Result<Vec<Ending>> {
    let (n_state, n_obs) = (plan.n_state(), plan.system.spec().model_observables().len());
    let max_period = plan.classify.max_period as usize;
    let mut rows = rows_of(plan, outcomes, first, batch);
    let n_z = rows.n_z;
    // Settle, then keep 2·max_period states of each row (and its observables there).
    let settle = 4 * max_period as u32;
    let keep = 2 * max_period;
    continuer.advance(&mut rows, settle)?;
    let mut kept_z = vec![Vec::with_capacity(keep * n_z); batch.len()];
    let mut kept_obs = vec![Vec::with_capacity(keep * n_obs); batch.len()];
    for t in 0..keep {
        if t > 0 {
            continuer.advance(&mut rows, 1)?;
        }
        for k in 0..rows.len() {
            kept_z[k].extend_from_slice(rows.z(k));
            kept_obs[k].extend_from_slice(rows.obs(k));
        }
    }
    let taken = settle + keep as u32 - 1;
    let tol = match plan.dynamics.precision {
        Precision::F64 => samples_tol::<f64>(),
        Precision::F32 => samples_tol::<f32>() as f64,
    };
    // What must return: the state and the memory, but for Adam's β^t (`returning_len`).
    let n_ret = returning_len(plan);
    // Each row's period (None: none found, to the chaos window).
    let found: Vec<Option<Ending>> = (0..rows.len())
        .into_par_iter()
        .map(|k| {
            let undecided = Some(Ending { kind: Kind::Undecided, steps: 0 });
            if rows.status[k] != Status::Running as u32 {
                // Left the bounds: a map's continuation only looks for cycles and chaos.
                return undecided;
            }
            let returning: Vec<f64> = kept_z[k].chunks_exact(n_z).flat_map(|z| z[..n_ret].iter().copied()).collect();
            match period_of(&returning, n_ret, max_period, tol) {
                Some(period) if period >= 2 => {
                    let row = first_row(&returning[..period * n_ret], n_ret);
                    Some(Ending {
                        kind: Kind::Cycle {
                            period: period as u32,
                            observables: kept_obs[k][row * n_obs..(row + 1) * n_obs].to_vec(),
                            memory: kept_z[k][row * n_z + n_state..(row + 1) * n_z].iter().map(|&v| v as f32).collect(),
                        },
                        steps: taken,
                    })
                }
                Some(_) => undecided,
                None => None,
            }
        })
        .collect();
    let unsettled: Vec<usize> = (0..rows.len()).filter(|&k| found[k].is_none()).collect();
    let mut endings: Vec<Ending> = found.into_iter().map(|e| e.unwrap_or(Ending { kind: Kind::Undecided, steps: 0 })).collect();
    if !unsettled.is_empty() {
        let windows = chaos_windows(plan, continuer, &rows, &unsettled, 1.0)?;
        for (&k, window) in unsettled.iter().zip(windows) {
            if let Some(w) = window.filter(Window::is_chaotic) {
                endings[k] = Ending {
                    kind: Kind::Chaotic { middles: w.middles.iter().map(|&v| v as f32).collect() },
                    steps: taken + chaos::window_steps(plan, 1.0) as u32,
                };
            }
        }
    }
    Ok(endings)
}

/// The chaos windows of rows `which` of `rows` (see the module header), stepped by `dt` (a
/// flow's; 1 for a map); `None` for a row that left the bounds in its window. A flow's
/// neighbour is pulled back every [`RENORMALISE_TIME`] of time rather than every step (its
/// exponents are per unit time), and its observables' ranges come from every step between
/// ([`Continuer::ranges`]: a fast flow passes its extremes between two pull-backs).
pub(super) fn chaos_windows(plan: &Plan, continuer: &mut dyn Continuer, rows: &Rows, which: &[usize], dt: f64) -> Result<Vec<Option<Window>>> {
    let (n_z, n_obs) = (rows.n_z, rows.n_obs);
    let angles = plan.system.spec().angles();
    // Row 2j follows trajectory which[j], row 2j + 1 its neighbour.
    let mut pairs = Rows { n_z, n_obs, ..Rows::default() };
    // The neighbour's first direction: every component (no invariant subspace to stay in).
    let u: Vec<f64> = (0..n_z).map(|j| 1.0 + 0.1 * j as f64).collect();
    let neighbours = Neighbours::of(plan);
    let mut windows: Vec<Pair> = Vec::with_capacity(which.len());
    let mut neighbour = vec![0.0; n_z];
    for &k in which {
        let z = rows.z(k);
        let placed = neighbours.place(z, &u, &mut neighbour);
        windows.push(Pair { placed, sum: 0.0, counted: 0, blocks: Vec::with_capacity(chaos::BLOCKS), ranges: [(); 2].map(|_| (vec![f64::INFINITY; n_obs], vec![f64::NEG_INFINITY; n_obs])), left: false });
        for row in [z, &neighbour] {
            pairs.push(rows.index[k], rows.clock[k], row);
        }
    }
    let per_block = chaos::window_steps(plan, dt) / chaos::BLOCKS;
    let every = if chaos::is_flow(plan) { ((RENORMALISE_TIME / dt).round() as usize).clamp(1, per_block) } else { 1 };
    let unit = chaos::step_time(plan, dt);
    for block in 0..chaos::BLOCKS {
        windows.iter_mut().for_each(|w| (w.sum, w.counted) = (0.0, 0));
        let mut stepped = 0;
        while stepped < per_block {
            let round = every.min(per_block - stepped);
            stepped += round;
            // A flow's ranges over every step of the round; a map's round is one step.
            let recorded = if every > 1 {
                continuer.ranges(&mut pairs, round as u32)?
            } else {
                continuer.advance(&mut pairs, round as u32)?;
                Vec::new()
            };
            let (status, observables) = (&pairs.status, &pairs.observables);
            pairs.z.par_chunks_mut(2 * n_z).zip(windows.par_iter_mut()).enumerate().for_each_init(|| vec![0.0; n_z], |separation, (j, (z, w))| {
                if w.left {
                    return;
                }
                if status[2 * j] != Status::Running as u32 || status[2 * j + 1] != Status::Running as u32 {
                    w.left = true;
                    return;
                }
                let (lo, hi) = &mut w.ranges[2 * block / chaos::BLOCKS];
                if recorded.is_empty() {
                    for ((l, h), &o) in lo.iter_mut().zip(hi.iter_mut()).zip(&observables[2 * j * n_obs..(2 * j + 1) * n_obs]) {
                        *l = l.min(o as f64);
                        *h = h.max(o as f64);
                    }
                } else {
                    // Row 2j's lowest and highest over the round.
                    let (lows, highs) = recorded[4 * j * n_obs..(4 * j + 2) * n_obs].split_at(n_obs);
                    lo.iter_mut().zip(lows).for_each(|(l, &o)| *l = l.min(o));
                    hi.iter_mut().zip(highs).for_each(|(h, &o)| *h = h.max(o));
                }
                // The separation from the row (an angle's modulo its period), along which the
                // neighbour is placed back.
                let (x, y) = z.split_at_mut(n_z);
                for (c, ((d, y), x)) in separation.iter_mut().zip(y.iter()).zip(x.iter()).enumerate() {
                    *d = match angles.iter().find(|a| a.0 == c) {
                        Some(&(_, period)) => crate::system::wrap_angle(y - x, period, 1.0 / period),
                        None => y - x,
                    };
                }
                let distance = norm(separation);
                if distance > 0.0 {
                    w.sum += (distance / w.placed).ln();
                    w.counted += round;
                    w.placed = neighbours.place(x, separation, y);
                } else {
                    // The neighbour rounded onto the row (near a critical point of the map, in
                    // f32): a growth below what the precision resolves, not counted; placed
                    // again along the first direction.
                    w.placed = neighbours.place(x, &u, y);
                }
            });
        }
        windows.iter_mut().for_each(|w| w.blocks.push(if w.counted > 0 { w.sum / (w.counted as f64 * unit) } else { f64::NEG_INFINITY }));
    }
    Ok(windows.iter().map(|w| (!w.left).then(|| Window::of_blocks(&w.blocks, &w.ranges))).collect())
}

/// How a neighbour row is placed near its row: [`DELTA`]·(1 + |x|) away along a direction,
/// where the engine's precision can hold it, with a state an optimizer's memory admits.
struct Neighbours {
    f32: bool,
    /// Adam's second moments (which must stay ≥ 0) and β^t (which are not perturbed): their
    /// place in the state ⊕ memory, for an optimizer with moments.
    moments: Option<(std::ops::Range<usize>, usize)>,
}

impl Neighbours {
    fn of(plan: &Plan) -> Neighbours {
        let n = plan.n_state();
        let moments = (plan.dynamics.method.memory() == Memory::Moments && plan.kept_memory() > 0).then(|| (2 * n..3 * n, 3 * n));
        Neighbours { f32: plan.dynamics.precision == Precision::F32, moments }
    }

    /// Writes into `y` the neighbour of `x` along `direction`; returns its distance from `x`
    /// as placed.
    fn place(&self, x: &[f64], direction: &[f64], y: &mut [f64]) -> f64 {
        let scale = DELTA * (1.0 + size(x)) / norm(direction).max(f64::MIN_POSITIVE);
        for ((y, x), d) in y.iter_mut().zip(x).zip(direction) {
            let v = x + d * scale;
            *y = if self.f32 { v as f32 as f64 } else { v };
        }
        if let Some((second, powers)) = &self.moments {
            y[second.clone()].iter_mut().for_each(|s| *s = s.max(0.0));
            y[*powers..].copy_from_slice(&x[*powers..]);
        }
        distance(x, y)
    }
}

/// One trajectory's chaos window so far: its neighbour's distance as placed, the current
/// block's sum of log growths, the blocks' exponents, its observables' ranges over each half,
/// and whether it left the bounds.
struct Pair {
    placed: f64,
    sum: f64,
    /// Steps counted in the current block (see [`chaos_windows`]).
    counted: usize,
    blocks: Vec<f64>,
    ranges: HalfRanges,
    left: bool,
}

/// The Euclidean distance between two nearby states (where the neighbour was placed: no angle
/// has wrapped between them).
fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum::<f64>().sqrt()
}

/// The Euclidean norm of `v`.
fn norm(v: &[f64]) -> f64 {
    v.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Largest |component| of `z`.
fn size(z: &[f64]) -> f64 {
    z.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}
