//! Maps larger than memory. The grid is cut into tiles of whole rows; while the engine computes
//! one tile, the one before is fed to the labeller (the same one a map held in memory is
//! labelled with, read in the same order, so the labels are the same to the bit; see
//! [`crate::classify::labeller`]) and written in place into the output arrays with label codes.
//! Then the codes are resolved to final ids (a network's phases named first, from a pass over
//! the labels) and the map is painted row by row, top first, into
//! basins.png and its deep-zoom pyramid. Memory stays at a few tiles (and one row of parameter
//! points' clusters) whatever the map's size.
//!
//! The state after each tile (the labeller's, and a checksum of each array's tile) is saved
//! beside the arrays, so a run stopped anywhere continues with `--resume` from its last finished
//! tile and ends with the same files as a run never stopped.

use crate::classify::labeller::Numbering;
use crate::classify::Labeller;
use crate::engine::{Engine, Outcomes};
use crate::io::{attractors_csv, npy::NpyArray, OutputDir, RUN_JSON};
use crate::plan::Plan;
use crate::render::{basins::shaded, mean_pixel, palette, pyramid};
use crate::report::{Counts, Observer, Report, RunOptions, Timings};
use crate::scenario::Scenario;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The directory, inside the output directory, that holds a streamed run in progress.
pub const STATE_DIR: &str = ".stream";
const STATE_JSON: &str = "state.json";

/// Where a streamed run stands after its last finished tile.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct State {
    basinmap: String,
    scenario: Scenario,
    rows_per_tile: usize,
    tiles_done: usize,
    labeller: Labeller,
    /// Per finished tile, the CRC-32 of each array's part of it (in the order of
    /// [`Arrays::names`]): a tile damaged on disk is found before it is used.
    tile_crcs: Vec<Vec<u32>>,
    counts: Counts,
    /// Engine seconds and trajectory-steps of this and earlier sessions.
    integrate: f64,
    warnings: Vec<String>,
}

/// The arrays a streamed run writes in place.
struct Arrays {
    labels: NpyArray<i32>,
    steps: NpyArray<u32>,
    observables: Vec<NpyArray<f32>>,
    /// Each trajectory's period, where the map is tested for cycles (period.npy, after the
    /// observables).
    period: Option<NpyArray<u32>>,
    /// After the observables and period.npy (where written), each trajectory's period in time
    /// on a flow's limit cycle (cycle_time.npy, for flows tested for cycles) and its largest
    /// Lyapunov exponent (lyapunov.npy, with `--lyapunov`), in the order of [`Arrays::names`].
    extras: Vec<NpyArray<f32>>,
    /// File names, in the state directory and then the output directory.
    names: Vec<String>,
}

impl Arrays {
    fn names(plan: &Plan) -> Vec<String> {
        let mut names = vec!["labels.npy".to_string(), "steps.npy".to_string()];
        names.extend(plan.observable_names().iter().map(|n| format!("{n}.npy")));
        if crate::classify::finds_cycles(plan) {
            names.push("period.npy".to_string());
        }
        names.extend(Arrays::extra_names(plan).iter().map(|n| n.to_string()));
        names
    }

    /// The f32 arrays after the observables and period.npy.
    fn extra_names(plan: &Plan) -> Vec<&'static str> {
        let mut names = Vec::new();
        if crate::classify::finds_cycles(plan) && crate::classify::chaos::is_flow(plan) {
            names.push("cycle_time.npy");
        }
        if plan.classify.lyapunov {
            names.push("lyapunov.npy");
        }
        names
    }

    /// The values of the extra arrays for `o`, in order.
    fn extra_values(&self, o: &Outcomes) -> Vec<Vec<f32>> {
        self.names[self.names.len() - self.extras.len()..]
            .iter()
            .map(|name| match name.as_str() {
                "cycle_time.npy" => crate::classify::cycles::cycle_times(o),
                _ => (0..o.len()).map(|i| o.lyapunov.get(i).copied().unwrap_or(f32::NAN)).collect(),
            })
            .collect()
    }

    fn create_or_open(plan: &Plan, dir: &Path, shape: &[usize], open: bool) -> Result<Arrays> {
        let names = Arrays::names(plan);
        let n_obs = plan.observable_names().len();
        let period = match names.get(2 + n_obs).filter(|n| *n == "period.npy") {
            Some(n) if open => Some(NpyArray::open(&dir.join(n), shape)?),
            Some(n) => Some(NpyArray::create(&dir.join(n), shape)?),
            None => None,
        };
        let extras = names[(2 + n_obs + period.is_some() as usize).min(names.len())..]
            .iter()
            .map(|n| if open { NpyArray::open(&dir.join(n), shape) } else { NpyArray::create(&dir.join(n), shape) })
            .collect::<Result<Vec<_>>>()?;
        let observables = names[2..2 + n_obs]
            .iter()
            .map(|n| if open { NpyArray::open(&dir.join(n), shape) } else { NpyArray::create(&dir.join(n), shape) })
            .collect::<Result<Vec<_>>>()?;
        let (labels, steps) = if open {
            (NpyArray::open(&dir.join(&names[0]), shape)?, NpyArray::open(&dir.join(&names[1]), shape)?)
        } else {
            (NpyArray::create(&dir.join(&names[0]), shape)?, NpyArray::create(&dir.join(&names[1]), shape)?)
        };
        Ok(Arrays { labels, steps, observables, period, extras, names })
    }

    /// Writes the outcomes and label codes of the trajectories from `first`; returns the CRC-32
    /// of what each array received.
    fn write(&mut self, first: usize, o: &Outcomes, codes: &[u32]) -> Result<Vec<u32>> {
        let labels: Vec<i32> = codes.iter().map(|&l| l as i32).collect();
        self.labels.write_at(first, &labels)?;
        self.steps.write_at(first, &o.steps)?;
        let mut crcs = vec![crc(&labels), crc(&o.steps)];
        for (k, a) in self.observables.iter_mut().enumerate() {
            let column = o.column(k);
            a.write_at(first, &column)?;
            crcs.push(crc(&column));
        }
        if let Some(a) = self.period.as_mut() {
            let periods = crate::classify::cycles::periods(o);
            a.write_at(first, &periods)?;
            crcs.push(crc(&periods));
        }
        let values = self.extra_values(o);
        for (a, v) in self.extras.iter_mut().zip(&values) {
            a.write_at(first, v)?;
            crcs.push(crc(v));
        }
        Ok(crcs)
    }

    /// The CRC-32 of each array's elements `first..first + n`, read back.
    fn read_crcs(&mut self, first: usize, n: usize) -> Result<Vec<u32>> {
        let mut labels = vec![0i32; n];
        let mut words = vec![0u32; n];
        let mut floats = vec![0f32; n];
        self.labels.read_at(first, &mut labels)?;
        self.steps.read_at(first, &mut words)?;
        let mut crcs = vec![crc(&labels), crc(&words)];
        for a in self.observables.iter_mut() {
            a.read_at(first, &mut floats)?;
            crcs.push(crc(&floats));
        }
        if let Some(a) = self.period.as_mut() {
            a.read_at(first, &mut words)?;
            crcs.push(crc(&words));
        }
        for a in self.extras.iter_mut() {
            a.read_at(first, &mut floats)?;
            crcs.push(crc(&floats));
        }
        Ok(crcs)
    }

    fn sync(&self) -> Result<()> {
        self.labels.sync()?;
        self.steps.sync()?;
        self.period.as_ref().map_or(Ok(()), |a| a.sync())?;
        self.extras.iter().try_for_each(|a| a.sync())?;
        self.observables.iter().try_for_each(|a| a.sync())
    }
}

fn crc<T: bytemuck::Pod>(data: &[T]) -> u32 {
    crc32fast::hash(bytemuck::cast_slice(data))
}

/// Refuses a plan that cannot be streamed: sampled starts, a 1-D scan.
pub fn check_streamable(plan: &Plan) -> Result<()> {
    if plan.sampled.is_some() {
        return Err(Error::input("--stream maps 2-D grids; sampled starts are held in memory (split many of them with --shard K/N)"));
    }
    if plan.y.is_none() {
        return Err(Error::input("--stream maps 2-D grids (give y as well as x); a 1-D scan this large would not fit one image row either"));
    }
    Ok(())
}

/// Runs `plan` (a 2-D map) on `engine` streamed to disk in tiles of about `options.part_size`
/// trajectories (whole rows), writing its files to `dir`; with `options.resume`, continues from
/// the state a stopped run of the same scenario saved there.
pub fn execute(scenario: &Scenario, plan: &Plan, engine: &dyn Engine, dir: &OutputDir, options: &RunOptions, observer: &dyn Observer, setup: f64) -> Result<Report> {
    check_streamable(plan)?;
    let (nx, ny, k) = (plan.nx(), plan.ny(), plan.samples);
    let row = nx * k;
    let rows_per_tile = (options.part_size / row).clamp(1, ny);
    // Two tiles are in flight (one computed, one classified), each with its window and labels.
    plan.check_memory(4 * (rows_per_tile + 1) * row)?;
    let n_tiles = ny.div_ceil(rows_per_tile);
    let total = plan.n_trajectories();
    let tile_range = |t: usize| t * rows_per_tile * row..((t + 1) * rows_per_tile).min(ny) * row;
    let shape: Vec<usize> = if k > 1 { vec![ny, nx, k] } else { vec![ny, nx] };
    let state_dir = dir.path().join(STATE_DIR);
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };

    // A saved state of the same scenario and tiling, with its arrays, or a fresh start; with
    // --resume, a state that cannot be used is said in the warnings, not passed over silently.
    let mut resume_warning = None;
    let saved = if options.resume {
        match read_state(&state_dir).and_then(|s| s.check(scenario, plan, rows_per_tile, n_tiles).map(|_| s)) {
            Ok(s) => Some(s),
            Err(why) => {
                resume_warning = Some(format!("--resume: the saved state of the stopped run could not be used ({why}); the map was computed from its first tile"));
                None
            }
        }
    } else {
        None
    };
    // The saved arrays, with every finished tile as the state's checksums say it was written.
    let opened = saved.map(|s| {
        let mut arrays = Arrays::create_or_open(plan, &state_dir, &shape, true)?;
        for (t, crcs) in s.tile_crcs.iter().enumerate() {
            let range = tile_range(t);
            if arrays.read_crcs(range.start, range.len())? != *crcs {
                return Err(Error::input(format!("tile {} of {} does not match its checksum: the files were damaged", t + 1, arrays.names.join(", "))));
            }
        }
        Ok((s, arrays))
    });
    if let Some(Err(e)) = &opened {
        resume_warning = Some(format!("--resume: the saved arrays could not be used ({e}); the map was computed from its first tile"));
    }
    let (mut state, mut arrays) = match opened {
        Some(Ok(pair)) => pair,
        _ => {
            if state_dir.exists() {
                std::fs::remove_dir_all(&state_dir).map_err(fail(&state_dir))?;
            }
            std::fs::create_dir_all(&state_dir).map_err(fail(&state_dir))?;
            let fresh = State {
                basinmap: env!("CARGO_PKG_VERSION").into(),
                scenario: scenario.clone(),
                rows_per_tile,
                tiles_done: 0,
                labeller: crate::classify::label::labeller(plan),
                tile_crcs: Vec::new(),
                counts: Counts::default(),
                integrate: 0.0,
                warnings: resume_warning.into_iter().collect(),
            };
            (fresh, Arrays::create_or_open(plan, &state_dir, &shape, false)?)
        }
    };

    let first_tile = state.tiles_done;
    observer.progress(tile_range(first_tile).start as u64, total as u64);
    let (mut computed_steps, mut session_seconds) = (0u64, 0.0);
    // The engine computes tile t + 1 while tile t is classified and written.
    std::thread::scope(|s| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<Outcomes>, f64)>(1);
        s.spawn(move || {
            for t in first_tile..n_tiles {
                let mut tile = plan.clone();
                tile.restrict(tile_range(t));
                let start = tile_range(t).start as u64;
                let t0 = Instant::now();
                let o = engine.run(&tile, &|d, _| observer.progress(start + d, total as u64));
                let failed = o.is_err();
                if tx.send((t, o, t0.elapsed().as_secs_f64())).is_err() || failed {
                    break;
                }
            }
        });
        for (t, outcomes, seconds) in rx {
            let mut outcomes = outcomes?;
            crate::classify::stalls::settle_stalls(plan, &mut outcomes, tile_range(t).start);
            crate::classify::cycles::settle_undecided(plan, &mut outcomes, tile_range(t).start);
            crate::classify::continued::settle_on_engine(plan, engine, &mut outcomes, tile_range(t).start)?;
            state.integrate += seconds;
            session_seconds += seconds;
            computed_steps += outcomes.steps.iter().map(|&s| s as u64).sum::<u64>();
            take_tile(plan, &mut state, &mut arrays, tile_range(t).start, &outcomes)?;
            arrays.sync()?;
            state.tiles_done = t + 1;
            write_state(&state_dir, &state)?;
            observer.progress(tile_range(t).end as u64, total as u64);
            if t + 1 < n_tiles && observer.should_stop() {
                return Err(Error::Interrupted(format!(
                    "stopped after tile {} of {n_tiles}; `basinmap run --resume` with the same scenario and output continues from there",
                    t + 1
                )));
            }
        }
        Ok(())
    })?;

    let t2 = Instant::now();
    let mut numbering = state.labeller.finish();
    crate::classify::label::representatives_stability(plan, &mut numbering.attractors);
    if matches!(plan.system, crate::system::System::Network(_)) {
        name_phases(plan, &mut arrays, &mut numbering, &state_dir)?;
    }
    let classify_s = t2.elapsed().as_secs_f64();

    // Paint, and rewrite the provisional ids as final ones.
    let t3 = Instant::now();
    let colours = palette::colours(&numbering.attractors);
    let title = crate::render::annotated::title(plan, "basins");
    for name in ["basins.png", "basins.dzi", "basins.html", "basins_files/"] {
        dir.record(name)?;
    }
    let legend = crate::render::legend::gathered(&numbering.attractors, &colours, &plan.observable_names());
    let page = match crate::render::annotated::axes(plan) {
        Some((x, y)) => pyramid::Page { title: title.clone(), x, y, legend: legend.clone() },
        None => pyramid::Page { legend: legend.clone(), ..pyramid::Page::plain(&title, plan.nx(), plan.ny()) },
    };
    let overview = paint(plan, &mut arrays, &numbering, &colours, dir.path(), &state_dir, &page)?;
    arrays.sync()?;
    let mut files: Vec<String> = vec!["basins.png".into(), "basins.dzi".into(), "basins.html".into(), "basins_files/".into()];
    if let Some((x, y)) = crate::render::annotated::axes(plan) {
        use crate::render::annotated::{write, AnnotatedMap};
        let mut map = AnnotatedMap::new(title.clone(), &overview, x, y);
        map.legend = legend;
        map.shades = vec![crate::render::basins::shade_key()];
        files.extend(write(dir, "basins_annotated", &map, &plan.figure)?);
    }
    let mut moved = arrays.names.clone();
    if k > 1 {
        moved.push("fractions.npy".into());
    }
    drop(arrays);
    for name in &moved {
        dir.move_in(&state_dir.join(name), name)?;
    }
    files.extend(moved);
    let names = plan.observable_names();
    dir.write_bytes("attractors.csv", attractors_csv(&numbering.attractors, &names, &colours).as_bytes())?;
    files.push("attractors.csv".into());
    crate::io::npy::write_npz(dir, "axes.npz", &plan.axes_arrays())?;
    files.push("axes.npz".into());
    files.push(RUN_JSON.into());

    let mut warnings = plan.warnings(state.counts.undecided);
    warnings.extend(state.counts.nonfinite_warning());
    warnings.extend(state.counts.stalled_warning());
    warnings.extend(crate::classify::pool_warning(numbering.pooled_branches, &numbering.attractors));
    warnings.extend(numbering.warnings.iter().cloned());
    warnings.extend(state.warnings.iter().cloned());
    warnings.push(format!(
        "streamed in {n_tiles} tiles of {rows_per_tile} rows: the images are basins.png, its deep-zoom pyramid (basins.html) and basins_annotated.png drawn on a {}x{} overview; not made for streamed maps: {}",
        overview.width(),
        overview.height(),
        skipped(plan).join(", ")
    ));
    let report = Report {
        basinmap: env!("CARGO_PKG_VERSION"),
        scenario: scenario.clone(),
        engine: engine.info(),
        grid: [nx, ny],
        observables: names.iter().map(|n| n.to_string()).collect(),
        // Engine seconds of every session of the run; the rate is this session's.
        timings: Timings { setup, integrate: state.integrate, classify: classify_s, write: t3.elapsed().as_secs_f64() },
        steps_per_second: computed_steps as f64 / session_seconds.max(1e-9),
        counts: state.counts.clone(),
        attractors: numbering.attractors,
        boundary: None,
        escape: None,
        warnings,
        files,
        refine: None,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    dir.write_bytes(RUN_JSON, json.as_bytes())?;
    std::fs::remove_dir_all(&state_dir).map_err(fail(&state_dir))?;
    Ok(report)
}

/// What an in-memory run of `plan` would also write that a streamed one does not.
fn skipped(plan: &Plan) -> Vec<&'static str> {
    let mut s = vec!["boundary measures", "steps_annotated.png"];
    if plan.system.spec().loss_record {
        s.push("trainability.png");
    }
    if plan.dynamics.escape > 0.0 {
        s.push("escape_time.npy and its statistics");
    }
    s
}

/// Names a network's phases as a map held in memory does ([`crate::classify::phases`]), reading
/// the labels and end-to-end norms back in bands, and renumbers the attractors.
fn name_phases(plan: &Plan, arrays: &mut Arrays, numbering: &mut Numbering, state_dir: &Path) -> Result<()> {
    use crate::classify::phases::{name_phases, PhaseEvidence};
    let n = plan.n_trajectories();
    let band = crate::plan::PART_TRAJECTORIES.min(n);
    let mut evidence = PhaseEvidence::new(crate::classify::label::layout(plan), numbering.attractors.len());
    let (mut codes, mut e2e) = (vec![0i32; band], vec![0f32; band]);
    for first in (0..n).step_by(band) {
        let m = band.min(n - first);
        arrays.labels.read_at(first, &mut codes[..m])?;
        arrays.observables[crate::system::network::E2E_NORM].read_at(first, &mut e2e[..m])?;
        for j in 0..m {
            let Some(id) = numbering.resolve(first + j, codes[j] as u32) else {
                return Err(damaged_labels(state_dir, codes[j]));
            };
            evidence.add(first + j, id, e2e[j] as f64);
        }
    }
    let new_id = name_phases(&evidence, &mut numbering.attractors);
    numbering.relabel(&new_id);
    Ok(())
}

/// The error for a label code no tile wrote.
fn damaged_labels(state_dir: &Path, code: i32) -> Error {
    Error::input(format!("{}: holds the label code {code} that no tile wrote (the file was damaged); run again without --resume", state_dir.join("labels.npy").display()))
}

/// Feeds one tile (trajectories from `first`) to the labeller and writes its arrays with their
/// label codes.
fn take_tile(plan: &Plan, state: &mut State, arrays: &mut Arrays, first: usize, tile: &Outcomes) -> Result<()> {
    debug_assert_eq!(state.labeller.done(), first);
    let codes = crate::classify::label::with_tests(plan, |tests| state.labeller.feed(tile, tests));
    state.tile_crcs.push(arrays.write(first, tile, &codes)?);
    state.counts.add(&Counts::of_plan(plan, tile));
    Ok(())
}

/// Paints basins.png and its pyramid from the arrays, top row first, rewriting the labels with
/// their final ids on the way (and writing fractions.npy when there are several samples).
/// Returns the pyramid's overview.
fn paint(plan: &Plan, arrays: &mut Arrays, numbering: &Numbering, colours: &[[u8; 3]], out: &Path, state_dir: &Path, page: &pyramid::Page) -> Result<image::RgbImage> {
    let (nx, ny, k) = (plan.nx(), plan.ny(), plan.samples);
    let row = nx * k;
    let n_attr = numbering.attractors.len();
    let mut png = pyramid::PngRows::create(&out.join("basins.png"), nx, ny)?;
    let mut pyr = pyramid::Pyramid::create(out, "basins", nx, ny, page)?;
    let mut fractions = (k > 1).then(|| NpyArray::<f32>::create(&state_dir.join("fractions.npy"), &[ny, nx, n_attr])).transpose()?;
    let band = (crate::plan::PART_TRAJECTORIES / row).clamp(1, ny);
    let mut labels = vec![0i32; band * row];
    let mut steps = vec![0u32; band * row];
    let mut pixels = vec![0u8; 3 * nx];
    // Bands from the top of the picture (the largest y) down.
    let mut top = ny;
    while top > 0 {
        let bottom = top.saturating_sub(band);
        let n = (top - bottom) * row;
        arrays.labels.read_at(bottom * row, &mut labels[..n])?;
        arrays.steps.read_at(bottom * row, &mut steps[..n])?;
        for (j, l) in labels[..n].iter_mut().enumerate() {
            // A code the labeller never gave: the saved labels were damaged on disk.
            let Some(id) = numbering.resolve(bottom * row + j, *l as u32) else {
                return Err(damaged_labels(state_dir, *l));
            };
            *l = id as i32;
        }
        arrays.labels.write_at(bottom * row, &labels[..n])?;
        if let Some(f) = fractions.as_mut() {
            let final_ids: Vec<u32> = labels[..n].iter().map(|&l| l as u32).collect();
            f.write_at(bottom * nx * n_attr, &crate::classify::fractions(&final_ids, k, n_attr))?;
        }
        let colour = |i: usize| {
            let l = labels[i] as usize;
            shaded(colours[l], steps[i], numbering.slowest[l])
        };
        for iy in (bottom..top).rev() {
            let r = (iy - bottom) * row;
            for ix in 0..nx {
                let p = mean_pixel(r + ix * k..r + (ix + 1) * k, &colour);
                pixels[3 * ix..3 * ix + 3].copy_from_slice(&p);
            }
            png.push_row(&pixels)?;
            pyr.push_row(&pixels)?;
        }
        top = bottom;
    }
    if let Some(f) = &fractions {
        f.sync()?;
    }
    png.finish()?;
    pyr.finish()
}

/// The saved state, or why there is none to use.
fn read_state(dir: &Path) -> std::result::Result<State, String> {
    let path = dir.join(STATE_JSON);
    if !path.exists() {
        return Err(format!("no {STATE_DIR}/{STATE_JSON} in the output directory"));
    }
    let text = crate::io::read::read_text(&path, "stream state", crate::io::read::MAX_STATE_BYTES).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("{STATE_DIR}/{STATE_JSON} is damaged: {e}"))
}

impl State {
    /// Whether this saved state belongs to `scenario` tiled in `rows_per_tile`, and holds
    /// together: tiles within the map, a checksum per tile, a labeller of this map that has read
    /// exactly the finished tiles.
    fn check(&self, scenario: &Scenario, plan: &Plan, rows_per_tile: usize, n_tiles: usize) -> std::result::Result<(), String> {
        if self.scenario != *scenario || self.rows_per_tile != rows_per_tile {
            return Err("it belongs to another scenario or tiling".into());
        }
        if self.tiles_done == 0 || self.tiles_done > n_tiles {
            return Err(format!("it says {} of {n_tiles} tiles are done", self.tiles_done));
        }
        let arrays = Arrays::names(plan).len();
        if self.tile_crcs.len() != self.tiles_done || self.tile_crcs.iter().any(|c| c.len() != arrays) {
            return Err("its tile checksums do not match the tiles done".into());
        }
        let row = plan.nx() * plan.samples;
        if self.labeller.done() != (self.tiles_done * rows_per_tile).min(plan.ny()) * row {
            return Err("its labeller has not read exactly the tiles done".into());
        }
        self.labeller.check(&crate::classify::label::labeller(plan))
    }
}

/// Saves the state atomically: written beside its name, then renamed.
fn write_state(dir: &Path, state: &State) -> Result<()> {
    let path: PathBuf = dir.join(STATE_JSON);
    let partial = dir.join(format!("{STATE_JSON}.partial"));
    let fail = |source| Error::Write { path: path.clone(), source };
    let json = serde_json::to_vec(state).map_err(|e| fail(std::io::Error::other(e)))?;
    std::fs::write(&partial, json).map_err(fail)?;
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(fail)?;
    std::fs::rename(&partial, &path).map_err(fail)
}
