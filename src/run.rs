//! One run from scenario to files: plan → engine → classify → outputs.

use crate::engine::{self, refine};
use crate::io::OutputDir;
use crate::outputs::{finish, label_map, LabelledMap};
use crate::plan::Plan;
use crate::scenario::Scenario;
use crate::Result;
use std::path::Path;
use std::time::Instant;

pub use crate::report::{Counts, Observer, Report, RunOptions, Silent, Timings};

/// Runs `scenario` and writes its files to `out`.
pub fn execute(scenario: &Scenario, out: &Path) -> Result<Report> {
    execute_with(scenario, out, &Silent)
}

/// [`execute`] with progress reports.
pub fn execute_with(scenario: &Scenario, out: &Path, observer: &dyn Observer) -> Result<Report> {
    execute_resumable(scenario, out, observer, &RunOptions::default())
}

/// Runs `scenario` in memory and writes nothing: the labelled map, for a front end that holds
/// its arrays (the Python package), which [`LabelledMap::write`] writes as [`execute`] would.
/// A map too large to hold is refused (run it to a directory, streamed).
pub fn compute(scenario: &Scenario, observer: &dyn Observer) -> Result<LabelledMap> {
    compute_with(scenario, observer, &RunOptions::default())
}

/// [`compute`] by refinement where `options` ask for it (their other settings are for runs to
/// a directory).
pub fn compute_with(scenario: &Scenario, observer: &dyn Observer, options: &RunOptions) -> Result<LabelledMap> {
    let t0 = Instant::now();
    let plan = Plan::resolve(scenario)?;
    let n = plan.n_trajectories();
    let bytes = plan.bytes_in_memory(n);
    if bytes > STREAM_ABOVE_BYTES {
        return Err(crate::Error::input(format!(
            "{n} trajectories would take {:.1} GiB in memory: run this map to a directory, streamed (basinmap run --stream)",
            bytes as f64 / (1u64 << 30) as f64
        )));
    }
    plan.check_memory(n)?;
    let spacing = options.refine.then(|| refine::spacing(&plan, options.refine_spacing)).transpose()?;
    let engine = engine::for_plan(&plan, false)?;
    let info = engine.info();
    observer.engine(&info);
    observer.resumable(false);
    let setup = t0.elapsed().as_secs_f64();
    if let Some(spacing) = spacing {
        return refined(scenario, &plan, engine.as_ref(), observer, spacing, setup);
    }
    // Tile by tile, so that a stop asked for (Ctrl-C in Python) comes within one tile.
    let t1 = Instant::now();
    let outcomes = engine::run_in_tiles(engine.as_ref(), &plan, engine::stop_tile(&info, observer.stops_mid_run()), &|d, t| observer.progress(d, t), &|| observer.should_stop())?;
    let integrate = t1.elapsed().as_secs_f64();
    label_map(scenario, &plan, outcomes, info, setup, integrate, None, Vec::new(), Some(engine.as_ref()))
}

/// `plan` integrated by refinement ([`refine::run`]) and labelled as a computed map; run.json's
/// `refine` says what was integrated.
fn refined(scenario: &Scenario, plan: &Plan, engine: &dyn engine::Engine, observer: &dyn Observer, spacing: [usize; 2], setup: f64) -> Result<LabelledMap> {
    let info = engine.info();
    let t1 = Instant::now();
    let tile = engine::stop_tile(&info, observer.stops_mid_run());
    let (outcomes, stats) = refine::run(engine, plan, spacing, tile, &|d, t| observer.progress(d, t), &|| observer.should_stop())?;
    let integrate = t1.elapsed().as_secs_f64();
    let notes = if stats.fell_back { vec![stats.summary()] } else { Vec::new() };
    let mut map = label_map(scenario, plan, outcomes, info, setup, integrate, Some(stats.steps), notes, Some(engine))?;
    map.report.refine = Some(stats);
    Ok(map)
}

/// Maps whose outcomes would take more host memory than this are streamed to disk.
pub const STREAM_ABOVE_BYTES: u64 = 2 << 30;

/// [`execute_with`], saving a map larger than one part as it goes (under `out/.parts/`) so that
/// an interrupted run continues with `resume` where it stopped, with identical results.
/// A 2-D map is streamed to disk tile by tile (see [`crate::stream`]) when `resume.stream` asks
/// for it or its outcomes would take more than [`STREAM_ABOVE_BYTES`] or most of the memory.
pub fn execute_resumable(scenario: &Scenario, out: &Path, observer: &dyn Observer, resume: &RunOptions) -> Result<Report> {
    let t0 = Instant::now();
    let plan = Plan::resolve(scenario)?;
    let n = plan.n_trajectories();
    if resume.refine {
        // In memory, whatever the map's size: refinement reads its cells' neighbours.
        if resume.stream || resume.resume || resume.all_devices {
            return Err(crate::Error::input("--refine computes the map in memory, on one device: not with --stream, --resume or --devices all"));
        }
        let spacing = refine::spacing(&plan, resume.refine_spacing)?;
        plan.check_memory(n).map_err(|e| crate::Error::input(format!("--refine holds the whole map in memory: {e}")))?;
        let dir = OutputDir::prepare(out)?;
        let engine = engine::for_plan(&plan, false)?;
        observer.engine(&engine.info());
        observer.resumable(false);
        let setup = t0.elapsed().as_secs_f64();
        return refined(scenario, &plan, engine.as_ref(), observer, spacing, setup)?.write(&dir);
    }
    let too_big = plan.bytes_in_memory(n) > STREAM_ABOVE_BYTES || plan.check_memory(n).is_err();
    let stream = resume.stream || (too_big && plan.y.is_some());
    if stream {
        crate::stream::check_streamable(&plan)?;
    } else {
        plan.check_memory(n)?;
    }
    let dir = OutputDir::prepare(out)?;
    let engine = engine::for_plan(&plan, resume.all_devices)?;
    let info = engine.info();
    observer.engine(&info);
    let setup = t0.elapsed().as_secs_f64();
    if stream {
        observer.resumable(true);
        return crate::stream::execute(scenario, &plan, engine.as_ref(), &dir, resume, observer, setup);
    }

    let t1 = Instant::now();
    let in_parts = resume.resume || plan.n_trajectories() > resume.part_size;
    observer.resumable(in_parts);
    let (outcomes, integrate, computed, part_warnings) = if in_parts {
        crate::shard::run_in_parts(scenario, &plan, engine.as_ref(), out, resume.part_size, resume.resume, observer)?
    } else {
        let o = engine.run(&plan, &|d, t| observer.progress(d, t))?;
        (o, t1.elapsed().as_secs_f64(), None, Vec::new())
    };
    let report = finish(scenario, &plan, outcomes, info, setup, integrate, computed, &dir, part_warnings, Some(engine.as_ref()))?;
    if in_parts {
        crate::shard::clear_parts(out)?;
    }
    Ok(report)
}

