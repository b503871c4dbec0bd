//! Limit cycles and chaos of flows that exist only as WGSL (a `fn field` stepped by rk4, forced
//! or not). As for WGSL maps ([`super::continued`]), their undecided trajectories are continued
//! on the engine ([`Engine::continuer`]), all rows of a batch together, in the kernel's
//! precision, and judged by the host's own tests, fed what the engine returns:
//!
//! * an **autonomous** flow's rows settle ([`super::flows::SETTLE_STEPS`] steps, one
//!   continuation), then are *traced* ([`Continuer::trace`]: the state and the field at the top
//!   of every step, a segment of steps per round trip) into [`flows::Watch`], the test
//!   [`super::flows`] runs on the host's f64 steps: the section from the probe's ranges, each
//!   crossing placed by the cubic Hermite interpolant of the traced states and fields, the
//!   loops, the period in time and the cycle's point. A row leaves the batch at its verdict;
//! * a **forced** flow's rows are brought to phase 0 and settle [`super::forced::SETTLE_PERIODS`]
//!   forcing periods, then continue one period per round trip into [`forced::Strobe`], the
//!   stroboscopic test of [`super::forced`];
//! * rows without a cycle go through [`super::continued`]'s chaos window (λ₁ per unit time from
//!   a neighbouring row, pulled back every [`super::continued::RENORMALISE_TIME`] of time).
//!
//! Returns count within [`F32_RETURN_TOL`] in f32 (the host's [`flows::RETURN_TOL`] in f64): an
//! f32 rk4 orbit on a limit cycle jitters across it by rounding of a few ε per step, damped
//! only as fast as the cycle attracts, so that its crossings scatter by many ε (250 ε allows
//! for weakly attracting cycles; the pendulum's rotation comes out with the f64 period to
//! 1.2e-6). A cycle's point is an interpolated crossing (autonomous) or a
//! sample (forced); its observables are the kernel's there (a continuation of no steps). Its
//! stability: an autonomous limit cycle attracted its trajectory (stable, as on the host); a
//! forced response's multipliers need the step's Jacobian, which a WGSL system does not have
//! (`unknown`, as its fixed points).

use super::chaos::Window;
use super::continued::{chaos_windows, rows_of};
use super::cycles::SettleReport;
use super::flows::{self, Verdict, Watch};
use super::forced::{self, Strobe};
use crate::dynamics::Precision;
use crate::engine::cpu::Stepper;
use crate::engine::{Continuer, Engine, Outcomes, Rows, Status};
use crate::plan::Plan;
use crate::Result;
use rayon::prelude::*;

/// Crossings (or stroboscopic samples) of an f32 continuation return within this, relative to
/// 1 + |x| (max-norm); see the module header.
pub const F32_RETURN_TOL: f64 = 3e-5;

/// Bytes of trace the host takes in one round trip (its f64 copy; the GPU's is half in f32).
const TRACE_BYTES: usize = 64 << 20;

/// Rows continued together.
const BATCH_ROWS: usize = 1 << 14;

/// How a continued row ended.
enum Ending {
    Undecided,
    /// A cycle: its period (loops, or forcing periods), its period in time, its point, the
    /// steps taken.
    Cycle { period: u32, time: f64, point: Vec<f64>, steps: u32 },
    /// No cycle: to a chaos window from this state at this clock, after these steps.
    Window { z: Vec<f64>, clock: u32, steps: u32 },
}

/// Continues the undecided trajectories of `outcomes` (trajectories `first..` of a flow `plan`
/// without a host model) on `engine` and relabels those found on a limit cycle or chaotic
/// (status, period, cycle time, observables, steps): see the module header.
pub(crate) fn settle_on_engine(plan: &Plan, engine: &dyn Engine, outcomes: &mut Outcomes, first: usize) -> Result<SettleReport> {
    let mut report = SettleReport::default();
    let undecided: Vec<usize> = (0..outcomes.len()).filter(|&i| outcomes.status[i] == Status::Undecided as u32).collect();
    if undecided.is_empty() {
        return Ok(report);
    }
    let forced = plan.steps_per_period() > 0;
    if plan.system.spec().clock.is_some() && !forced {
        // t grows without bound: no stroboscopic map, nothing to find.
        return Ok(report);
    }
    let batch_rows = undecided.len().min(BATCH_ROWS);
    let Some(mut continuer) = engine.continuer(plan, 2 * batch_rows)? else {
        return Ok(report);
    };
    let tol = match plan.dynamics.precision {
        Precision::F32 => F32_RETURN_TOL,
        Precision::F64 => flows::RETURN_TOL,
    };
    let n_obs = outcomes.n_obs;
    for batch in undecided.chunks(batch_rows) {
        let mut rows = rows_of(plan, outcomes, first, batch);
        let endings = if forced { strobe(plan, continuer.as_mut(), &mut rows, tol)? } else { trace(plan, continuer.as_mut(), &mut rows, tol)? };
        // The cycles' observables, at their points (a continuation of no steps).
        let cycles: Vec<usize> = (0..endings.len()).filter(|&k| matches!(endings[k], Ending::Cycle { .. })).collect();
        let mut points = Rows { n_z: rows.n_z, n_obs: rows.n_obs, ..Rows::default() };
        for &k in &cycles {
            let Ending::Cycle { point, .. } = &endings[k] else { unreachable!("filtered") };
            points.push(rows.index[k], 0, point);
        }
        continuer.advance(&mut points, 0)?;
        // The chaos windows, of rows stepped alike (one window length and renormalisation).
        let windowed: Vec<usize> = (0..endings.len()).filter(|&k| matches!(endings[k], Ending::Window { .. })).collect();
        let mut windows: Vec<Option<Window>> = (0..endings.len()).map(|_| None).collect();
        let mut by_dt: std::collections::BTreeMap<u64, Vec<usize>> = Default::default();
        for &k in &windowed {
            by_dt.entry(step_of(plan, rows.index[k]).to_bits()).or_default().push(k);
        }
        for (dt, group) in by_dt {
            let mut starts = Rows { n_z: rows.n_z, n_obs: rows.n_obs, ..Rows::default() };
            for &k in &group {
                let Ending::Window { z, clock, .. } = &endings[k] else { unreachable!("filtered") };
                starts.push(rows.index[k], *clock, z);
            }
            let every: Vec<usize> = (0..group.len()).collect();
            for (&k, w) in group.iter().zip(chaos_windows(plan, continuer.as_mut(), &starts, &every, f64::from_bits(dt))?) {
                windows[k] = w;
            }
        }
        let mut cycle_rank = 0;
        for (k, ending) in endings.iter().enumerate() {
            let i = batch[k];
            report.tested += 1;
            let (status, period, time, steps, observables) = match ending {
                Ending::Undecided => continue,
                Ending::Cycle { period, time, steps, .. } => {
                    let obs = points.obs(cycle_rank).to_vec();
                    cycle_rank += 1;
                    report.cycles += 1;
                    (Status::Cycle, *period, *time, *steps, obs)
                }
                Ending::Window { steps, .. } => match windows[k].take().filter(Window::is_chaotic) {
                    Some(w) => {
                        report.chaotic += 1;
                        let window = super::chaos::window_steps(plan, step_of(plan, rows.index[k])) as u32;
                        (Status::Chaotic, 0, 0.0, steps + window, w.middles.iter().map(|&v| v as f32).collect())
                    }
                    None => continue,
                },
            };
            if period > 0 {
                outcomes.period.resize(outcomes.len(), 0);
                outcomes.period[i] = period;
            }
            if time > 0.0 {
                outcomes.cycle_time.resize(outcomes.len(), 0.0);
                outcomes.cycle_time[i] = time as f32;
            }
            outcomes.status[i] = status as u32;
            outcomes.steps[i] = outcomes.steps[i].saturating_add(steps);
            outcomes.observables[i * n_obs..i * n_obs + observables.len()].copy_from_slice(&observables);
        }
    }
    Ok(report)
}

/// The step (dt) of trajectory `index` of `plan`.
pub(super) fn step_of(plan: &Plan, index: u32) -> f64 {
    Stepper::<f64>::deterministic_at(plan, index as usize).hyper.step
}

/// An autonomous flow's rows: settled, then traced into a [`Watch`] each (module header).
fn trace(plan: &Plan, continuer: &mut dyn Continuer, rows: &mut Rows, tol: f64) -> Result<Vec<Ending>> {
    let n = plan.n_state();
    let mut watches: Vec<Watch> = (0..rows.len()).map(|k| Watch::new(plan, step_of(plan, rows.index[k]), false, tol)).collect();
    let mut endings: Vec<Option<Ending>> = (0..rows.len()).map(|_| None).collect();
    // The settling steps are not looked at: one continuation, then the watches skip them.
    let settle = watches.first().map_or(0, Watch::settle_steps);
    continuer.advance(rows, settle as u32)?;
    for (k, w) in watches.iter_mut().enumerate() {
        w.skip_settling();
        if rows.status[k] != Status::Running as u32 {
            endings[k] = Some(Ending::Undecided);
        }
    }
    let most = watches.first().map_or(0, Watch::most_samples);
    // Rows still watched: their place in `rows`.
    let mut active: Vec<usize> = (0..rows.len()).filter(|&k| endings[k].is_none()).collect();
    let mut taken = settle;
    while !active.is_empty() {
        let segment = (TRACE_BYTES / (active.len() * 2 * n * 8)).clamp(1, 4096).min(most - taken);
        let mut part = subset(rows, &active);
        let before = part.clock.clone();
        let traced = continuer.trace(&mut part, segment as u32)?;
        let mut watched: Vec<&mut Watch> = watches.iter_mut().enumerate().filter(|(k, _)| endings[*k].is_none()).map(|(_, w)| w).collect();
        let verdicts: Vec<Option<Ending>> = watched
            .par_iter_mut()
            .enumerate()
            .map(|(j, watch)| {
                let done = (part.clock[j] - before[j]) as usize;
                for step in 0..done {
                    let at = (step * part.len() + j) * 2 * n;
                    let (x, v) = (&traced[at..at + n], &traced[at + n..at + 2 * n]);
                    match watch.push(x, v) {
                        None => continue,
                        Some(Verdict::Cycle { loops, time, point }) => return Some(Ending::Cycle { period: loops, time, point, steps: watch.steps() as u32 }),
                        Some(Verdict::Unknown) => return Some(Ending::Undecided),
                        Some(Verdict::NoCycle) => return Some(Ending::Window { z: x.to_vec(), clock: before[j] + step as u32, steps: watch.steps() as u32 }),
                    }
                }
                // Left the bounds before a verdict: a flow's continuation only looks for cycles
                // and chaos.
                (part.status[j] != Status::Running as u32).then_some(Ending::Undecided)
            })
            .collect();
        taken += segment;
        put_back(rows, &part, &active);
        for (&k, verdict) in active.iter().zip(verdicts) {
            endings[k] = verdict;
        }
        active.retain(|&k| endings[k].is_none());
        if taken >= most {
            // Every watch has its verdict by then; a row still without one stays undecided.
            break;
        }
    }
    Ok(endings.into_iter().map(|e| e.unwrap_or(Ending::Undecided)).collect())
}

/// A forced flow's rows: at phase 0, settled, then one sample a forcing period into a
/// [`Strobe`] each (module header).
fn strobe(plan: &Plan, continuer: &mut dyn Continuer, rows: &mut Rows, tol: f64) -> Result<Vec<Ending>> {
    let per_period = plan.steps_per_period();
    let period = plan.system.spec().clock.map_or(0.0, |c| c.period);
    let mut taken = vec![0u32; rows.len()];
    // To the next multiple of the forcing period (rows at one phase together), and settled.
    let mut phases: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for k in 0..rows.len() {
        phases.entry((per_period - rows.clock[k] % per_period) % per_period).or_default().push(k);
    }
    for (to_phase, group) in phases {
        let steps = to_phase + forced::SETTLE_PERIODS as u32 * per_period;
        let mut part = subset(rows, &group);
        continuer.advance(&mut part, steps)?;
        put_back(rows, &part, &group);
        group.iter().for_each(|&k| taken[k] = steps);
    }
    let mut strobes: Vec<Strobe> = (0..rows.len()).map(|_| Strobe::new(plan, tol)).collect();
    let mut endings: Vec<Option<Ending>> = (0..rows.len()).map(|_| None).collect();
    loop {
        for k in 0..rows.len() {
            if endings[k].is_some() {
                continue;
            }
            if rows.status[k] != Status::Running as u32 {
                endings[k] = Some(Ending::Undecided);
            } else if let Some(p) = strobes[k].push(rows.z(k)) {
                endings[k] = Some(Ending::Cycle { period: p as u32, time: p as f64 * period, point: strobes[k].point(p).to_vec(), steps: taken[k] });
            } else if strobes[k].exhausted() {
                endings[k] = Some(Ending::Window { z: rows.z(k).to_vec(), clock: rows.clock[k], steps: taken[k] });
            }
        }
        let active: Vec<usize> = (0..rows.len()).filter(|&k| endings[k].is_none()).collect();
        if active.is_empty() {
            break;
        }
        let mut part = subset(rows, &active);
        continuer.advance(&mut part, per_period)?;
        put_back(rows, &part, &active);
        active.iter().for_each(|&k| taken[k] += per_period);
    }
    Ok(endings.into_iter().map(|e| e.unwrap_or(Ending::Undecided)).collect())
}

/// Rows `which` of `rows`.
fn subset(rows: &Rows, which: &[usize]) -> Rows {
    Rows {
        index: which.iter().map(|&k| rows.index[k]).collect(),
        clock: which.iter().map(|&k| rows.clock[k]).collect(),
        z: which.iter().flat_map(|&k| rows.z(k).iter().copied()).collect(),
        status: which.iter().map(|&k| rows.status[k]).collect(),
        observables: Vec::new(),
        n_z: rows.n_z,
        n_obs: rows.n_obs,
    }
}

/// Writes `part` (rows `which` of `rows`, continued) back into `rows`.
fn put_back(rows: &mut Rows, part: &Rows, which: &[usize]) {
    for (j, &k) in which.iter().enumerate() {
        rows.z[k * rows.n_z..(k + 1) * rows.n_z].copy_from_slice(part.z(j));
        rows.clock[k] = part.clock[j];
        rows.status[k] = part.status[j];
    }
}
