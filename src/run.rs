//! One run from scenario to files: plan → engine → classify → outputs.

use crate::classify::{fractions, label, Attractor, Classification, Kind};
use crate::engine::{self, EngineInfo, Outcomes, Status};
use crate::io::{attractors_csv, write_npy, OutputDir, RUN_JSON};
use crate::plan::Plan;
use crate::render::curves::{self, Figure, Panel, Series};
use crate::render::{basins::basin_image, palette, trainability::trainability_image};
use crate::scenario::Scenario;
use crate::{Error, Result};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Wall-clock seconds of each stage.
#[derive(Clone, Debug, Serialize)]
pub struct Timings {
    pub setup: f64,
    pub integrate: f64,
    pub classify: f64,
    pub write: f64,
}

/// How many trajectories ended each way.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Counts {
    pub trajectories: u64,
    pub converged: u64,
    pub diverged: u64,
    pub undecided: u64,
    pub nonfinite: u64,
    /// Left the ball of radius `escape` around their start (noise runs).
    pub escaped: u64,
    /// Rest at an unstable fixed point that pushes could not make them leave (see
    /// [`crate::classify::stalls`]).
    #[serde(default)]
    pub stalled: u64,
    /// Training runs (systems with a loss record): runs whose loss came down (`converged` = 1
    /// in converged.npy, the trainability map's blue). Not the same as `converged`: a training
    /// run is judged by its loss curve, not by reaching a fixed point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained: Option<u64>,
    /// Steps taken by all trajectories together.
    pub total_steps: u64,
}

impl Counts {
    pub fn of(outcomes: &Outcomes) -> Counts {
        let mut c = Counts { trajectories: outcomes.len() as u64, ..Default::default() };
        for (&s, &n) in outcomes.status.iter().zip(&outcomes.steps) {
            match Status::from_code(s) {
                Status::Converged => c.converged += 1,
                Status::DivergedPos | Status::DivergedNeg => c.diverged += 1,
                Status::Nonfinite => c.nonfinite += 1,
                Status::Escaped => c.escaped += 1,
                Status::Stalled => c.stalled += 1,
                _ => c.undecided += 1,
            }
            c.total_steps += n as u64;
        }
        c
    }

    /// [`Counts::of`], with the trained runs counted for a system with a loss record.
    pub fn of_plan(plan: &Plan, outcomes: &Outcomes) -> Counts {
        let mut c = Counts::of(outcomes);
        if plan.system.spec().loss_record {
            let names = plan.system.spec().observable_names();
            c.trained = names.iter().position(|&n| n == "converged").map(|k| outcomes.column(k).iter().filter(|&&v| v > 0.5).count() as u64);
        }
        c
    }

    /// Adds the counts of another part of the map.
    pub fn add(&mut self, other: &Counts) {
        self.trajectories += other.trajectories;
        self.converged += other.converged;
        self.diverged += other.diverged;
        self.undecided += other.undecided;
        self.nonfinite += other.nonfinite;
        self.escaped += other.escaped;
        self.stalled += other.stalled;
        self.trained = match (self.trained, other.trained) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.total_steps += other.total_steps;
    }

    /// The warning for trajectories left resting at an unstable fixed point, if any were.
    pub fn stalled_warning(&self) -> Option<String> {
        (self.stalled > 0).then(|| {
            format!(
                "{} of {} trajectories ({}) rest at an unstable fixed point (a maximum or saddle) that pushes off it could not make them leave within the step budget; they are labelled stalled (raise --steps)",
                self.stalled,
                self.trajectories,
                percent(self.stalled as f64 / self.trajectories.max(1) as f64, 2)
            )
        })
    }

    /// The warning for trajectories that reached a non-finite value, if any did.
    pub fn nonfinite_warning(&self) -> Option<String> {
        (self.nonfinite > 0).then(|| {
            format!(
                "{} of {} trajectories ({:.3}%) reached a non-finite value (NaN: the log or square root of a negative number, 0/0, ...); they are labelled nonfinite",
                self.nonfinite,
                self.trajectories,
                100.0 * self.nonfinite as f64 / self.trajectories.max(1) as f64
            )
        })
    }
}

/// What run.json holds.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub basinmap: &'static str,
    pub scenario: Scenario,
    pub engine: EngineInfo,
    pub grid: [usize; 2],
    /// The names of the observables, in the order of each attractor's `observables`.
    pub observables: Vec<String>,
    pub timings: Timings,
    /// Trajectory-steps per second of the integration stage.
    pub steps_per_second: f64,
    pub counts: Counts,
    pub attractors: Vec<Attractor>,
    /// Boundary measures of a 2-D map (see `basinmap measure`) between attractors, or for a
    /// trainability map between trained and untrained runs; per grid point, the label most of its
    /// samples reached.
    pub boundary: Option<crate::analysis::boundary::BoundaryMeasures>,
    /// Escape-time statistics of a run with an escape radius (see `analysis::escape`).
    pub escape: Option<crate::analysis::escape::EscapeStats>,
    pub warnings: Vec<String>,
    pub files: Vec<String>,
}

/// Hooks for the command line (progress bars); the library default does nothing.
pub trait Observer: Sync {
    /// Integration progress: trajectories finished out of the total.
    fn progress(&self, _done: u64, _total: u64) {}
    /// The engine has been chosen.
    fn engine(&self, _info: &EngineInfo) {}
    /// Whether the user asked the run to stop (Ctrl-C): a run saved part by part stops after the
    /// part in hand, and `--resume` continues it.
    fn should_stop(&self) -> bool {
        false
    }
    /// Whether this run saves its parts or tiles as it goes (so that a stop can be resumed);
    /// said once, before the engine starts.
    fn resumable(&self, _saves_parts: bool) {}
}

/// Does nothing.
pub struct Silent;
impl Observer for Silent {}

/// Runs `scenario` and writes its files to `out`.
pub fn execute(scenario: &Scenario, out: &Path) -> Result<Report> {
    execute_with(scenario, out, &Silent)
}

/// [`execute`] with progress reports.
pub fn execute_with(scenario: &Scenario, out: &Path, observer: &dyn Observer) -> Result<Report> {
    execute_resumable(scenario, out, observer, &RunOptions::default())
}

/// How a run is carried out (not what it computes: that is the scenario).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Read back the parts an interrupted run of the same scenario saved in the output directory.
    pub resume: bool,
    /// Trajectories per saved part (maps with more are computed and saved part by part).
    pub part_size: usize,
    /// Spread the map over every GPU (`--devices all`).
    pub all_devices: bool,
    /// Stream the map to disk tile by tile (see [`crate::stream`]); maps too large to hold in
    /// memory are streamed without being asked.
    pub stream: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { resume: false, part_size: crate::shard::PART_TRAJECTORIES, all_devices: false, stream: false }
    }
}

/// Maps whose outcomes would take more host memory than this are streamed to disk.
pub const STREAM_ABOVE_BYTES: u64 = 2 << 30;

/// The engine of `plan`, or with `all_devices` every GPU together.
pub fn engine_for(plan: &Plan, all_devices: bool) -> Result<Box<dyn engine::Engine>> {
    if all_devices {
        // Each adapter refuses f64 if it cannot compute it (GpuEngine::run).
        engine::select_all(plan.engine)
    } else {
        engine::select_for(plan)
    }
}

/// [`execute_with`], saving a map larger than one part as it goes (under `out/.parts/`) so that
/// an interrupted run continues with `resume` where it stopped, with identical results.
/// A 2-D map is streamed to disk tile by tile (see [`crate::stream`]) when `resume.stream` asks
/// for it or its outcomes would take more than [`STREAM_ABOVE_BYTES`] or most of the memory.
pub fn execute_resumable(scenario: &Scenario, out: &Path, observer: &dyn Observer, resume: &RunOptions) -> Result<Report> {
    let t0 = Instant::now();
    let plan = Plan::resolve(scenario)?;
    let n = plan.n_trajectories();
    let too_big = plan.bytes_in_memory(n) > STREAM_ABOVE_BYTES || plan.check_memory(n).is_err();
    let stream = resume.stream || (too_big && plan.y.is_some());
    if !stream {
        plan.check_memory(n)?;
    }
    let dir = OutputDir::prepare(out)?;
    let engine = engine_for(&plan, resume.all_devices)?;
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
    let report = finish(scenario, &plan, outcomes, info, setup, integrate, computed, &dir, part_warnings)?;
    if in_parts {
        crate::shard::clear_parts(out)?;
    }
    Ok(report)
}

/// Classifies the outcomes of a whole map (from one run, or merged from shards) and writes its
/// files and run.json.
/// `computed_steps`: the trajectory-steps the engine took in `integrate` seconds (fewer than the
/// map's when a resumed run read some parts back). `notes`: warnings of the stages before (saved
/// parts that could not be used).
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(scenario: &Scenario, plan: &Plan, mut outcomes: Outcomes, info: EngineInfo, setup: f64, integrate: f64, computed_steps: Option<u64>, dir: &OutputDir, notes: Vec<String>) -> Result<Report> {
    let t2 = Instant::now();
    let stalls = crate::classify::stalls::settle_stalls(plan, &mut outcomes, plan.range().start);
    let outcomes = &outcomes;
    let classification = label(plan, outcomes);
    let classify_s = t2.elapsed().as_secs_f64();

    let t3 = Instant::now();
    // Escape times (runs with an escape radius): escape_time.npy, its map, and run.json's stats.
    let escape = (plan.dynamics.escape > 0.0).then(|| crate::analysis::escape::escape_times(plan, outcomes));
    let escape_times = escape.as_ref().map(|(t, _)| t.as_slice());
    let files = write_outputs(plan, outcomes, &classification, dir, scenario.title.as_deref(), escape_times)?;
    let counts = Counts::of_plan(plan, outcomes);
    let mut warnings = notes;
    warnings.extend(plan.warnings(counts.undecided));
    warnings.extend(counts.nonfinite_warning());
    warnings.extend(counts.stalled_warning());
    if stalls.found > crate::classify::stalls::MAX_CONTINUED as u64 {
        warnings.push(format!(
            "{} trajectories came to rest at unstable fixed points; the first {} were pushed off and continued, the rest are labelled stalled",
            stalls.found,
            crate::classify::stalls::MAX_CONTINUED
        ));
    }
    warnings.extend(classification.warnings);
    let boundary = match plan.y {
        Some(_) if plan.nx() >= 2 && plan.ny() >= 2 => {
            use crate::analysis::boundary::{majority_labels, measure, LabelMap, ENTROPY_BOX};
            // A trainability map's boundary is the one between runs that trained and runs that
            // did not (Sohl-Dickstein 2024); other maps': between attractors.
            let names = plan.system.spec().observable_names();
            let per_run: Vec<u32> = match names.iter().position(|&n| n == "converged").filter(|_| plan.system.spec().loss_record) {
                Some(k) => outcomes.column(k).iter().map(|&v| (v > 0.5) as u32).collect(),
                None => classification.labels.clone(),
            };
            let labels = majority_labels(&per_run, plan.samples);
            measure(&LabelMap { nx: plan.nx(), ny: plan.ny(), labels: &labels }, ENTROPY_BOX.min(plan.nx().min(plan.ny())), None).ok()
        }
        _ => None,
    };
    let escape = escape.map(|(_, stats)| stats);
    let mut report = Report {
        basinmap: env!("CARGO_PKG_VERSION"),
        scenario: scenario.clone(),
        engine: info,
        grid: [plan.nx(), plan.ny()],
        observables: plan.system.spec().observable_names().into_iter().map(String::from).collect(),
        timings: Timings { setup, integrate, classify: classify_s, write: 0.0 },
        steps_per_second: computed_steps.unwrap_or(counts.total_steps) as f64 / integrate.max(1e-9),
        counts,
        attractors: classification.attractors,
        boundary,
        escape,
        warnings,
        files,
    };
    report.timings.write = t3.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    dir.write_bytes(RUN_JSON, json.as_bytes())?;
    Ok(report)
}

/// A 1-D scan as curves: the final loss, regulariser and order parameter (or, for systems without
/// them, the first observables) against the scanned value, every trajectory a dot coloured by its
/// attractor — the paper's Fig. 1 for a network.
/// The figure of a 1-D scan: per panel one observable's final value against x, one dot per
/// trajectory in its attractor's colour, every trajectory drawn. Panels: the first observable
/// (the state, or the order parameter), then the loss, the regulariser and b where the system
/// has them. Values of trajectories that did not settle and lie far outside the fixed points'
/// range (a diverged state near --bound) are drawn at the panel's edge, and their legend entry
/// says so.
pub fn scan_figure(plan: &Plan, outcomes: &Outcomes, c: &Classification, colours: &[[u8; 3]], title: Option<&str>) -> Figure {
    let names = plan.system.spec().observable_names();
    let mut shown: Vec<usize> = vec![0];
    shown.extend(["loss", "reg", "b"].iter().filter_map(|n| names.iter().position(|m| m == n)));
    shown.dedup();
    let mut seen = std::collections::HashSet::new();
    shown.retain(|k| seen.insert(*k));
    shown.truncate(4);
    let x_of = |i: usize| plan.x.values[plan.point_of(i) % plan.nx()];
    let panels = shown
        .iter()
        .map(|&k| {
            let value = |i: usize| outcomes.obs(i)[k] as f64;
            // The range the fixed points span (all finite values where none settled), widened
            // by its own span: the window values elsewhere are clipped into.
            let settled = |i: &usize| c.attractors[c.labels[*i] as usize].kind == Kind::Fixed;
            let mut range = (0..outcomes.len()).filter(settled).map(value).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            if range.0 > range.1 {
                range = (0..outcomes.len()).map(value).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            }
            let pad = (range.1 - range.0).max(1e-9 * (1.0 + range.0.abs()));
            let (lo, hi) = (range.0 - pad, range.1 + pad);
            let series = c
                .attractors
                .iter()
                .map(|a| {
                    let mut clipped = false;
                    let points: Vec<(f64, f64)> = (0..outcomes.len())
                        .filter(|&i| c.labels[i] == a.id)
                        .filter_map(|i| {
                            let v = value(i);
                            if v.is_nan() || !lo.is_finite() {
                                return None;
                            }
                            let shown = v.clamp(lo, hi);
                            clipped |= shown != v;
                            Some((x_of(i), shown))
                        })
                        .collect();
                    let label = if clipped { format!("{} (clipped to the axis)", attractor_label(a)) } else { attractor_label(a) };
                    Series { label, colour: colours[a.id as usize], points, line: false }
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            Panel { y_label: names[k].to_string(), log_y: false, series }
        })
        .collect();
    let title = title.map_or_else(|| plan_title(plan), str::to_string);
    Figure { title, x_label: plan.x.name.clone(), log_x: plan.x.log, panels, markers: Vec::new() }
}

fn attractor_label(a: &Attractor) -> String {
    let mut words = vec![a.id.to_string(), a.kind.as_str().to_string()];
    if a.pooled {
        words.push("pooled".to_string());
    }
    if let Some(p) = a.phase {
        words.push(p.as_str().to_string());
    }
    if let Some(s) = a.stability {
        words.push(s.as_str().to_string());
    }
    words.join(" ")
}

fn plan_title(plan: &Plan) -> String {
    format!("{}: final state against {}", plan.system.spec().name, plan.x.name)
}

/// The legend line of an attractor on a map: id, kind, phase, stability, its share, then where
/// it is for a fixed point (the first observables' representative values). The share comes
/// before the location so that a label cut to the legend's width loses location digits, not it.
pub(crate) fn legend_label(a: &Attractor, names: &[&str]) -> String {
    let mut words = attractor_label(a) + &format!(" ({})", percent(a.fraction, 1));
    if a.kind == Kind::Fixed && !a.pooled {
        let at: Vec<String> = a.observables.iter().zip(names).take(2).map(|(o, n)| format!("{n}={}", crate::trace::fmt_value(o.value))).collect();
        words += &format!(": {}", at.join(" "));
    } else if let Some(what) = kind_meaning(a.kind) {
        words += &format!(": {what}");
    }
    words
}

/// What an attractor that is not a fixed point means, in a word or two (a legend row must fit
/// its box).
fn kind_meaning(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::PosInf | Kind::NegInf | Kind::Inf => "diverged",
        Kind::Undecided => "still moving",
        Kind::Nonfinite => "reached NaN",
        Kind::Escaped => "left the ball",
        Kind::Stalled => "at an unstable point",
        Kind::Fixed => return None,
    })
}

/// A share as a percentage for a legend or a table: `decimals` decimals, or two significant
/// digits below 0.1 %, so that an attractor a few trajectories reach reads 0.00038 %, not 0.0 %.
pub fn percent(fraction: f64, decimals: usize) -> String {
    let p = 100.0 * fraction;
    if p >= 0.1 || p <= 0.0 || !p.is_finite() {
        return format!("{p:.decimals$}%");
    }
    let decimals = (1.0 - p.log10().floor()) as usize;
    format!("{p:.decimals$}%")
}

/// The annotated versions of a 2-D run's images: the basins with their attractors' legend, the
/// trainability map with its legend, and the convergence time (and escape time) with a colour
/// bar. Returns the file names.
fn write_annotated(plan: &Plan, outcomes: &Outcomes, c: &Classification, colours: &[[u8; 3]], images: &[(&str, &image::RgbImage)], dir: &OutputDir, scenario_title: Option<&str>, escape_times: Option<&[f32]>) -> Result<Vec<String>> {
    use crate::render::annotated::{self, AnnotatedMap, ColourBar};
    let Some((x, y)) = annotated::axes(plan) else { return Ok(Vec::new()) };
    let names = plan.system.spec().observable_names();
    // The scenario's title when it has one, else the system and the axes.
    let title = |what: &str| match scenario_title {
        Some(t) => format!("{t} ({what})"),
        None => format!("{}: {what} over {} x {}", plan.system.spec().name, plan.x.name, plan.y.as_ref().map_or("", |a| a.name.as_str())),
    };
    let mut files = Vec::new();
    for &(stem, img) in images {
        let (what, legend) = match stem {
            "basins" => ("basins", c.attractors.iter().map(|a| (colours[a.id as usize], legend_label(a, &names))).collect()),
            _ => (
                "trainability",
                vec![
                    ([0x21, 0x71, 0xB5], "trained (darker: the loss fell faster)".to_string()),
                    ([0xCB, 0x18, 0x1D], "did not train (darker: blew up faster)".to_string()),
                ],
            ),
        };
        let map = AnnotatedMap { title: title(what), image: img, x: x.clone(), y: y.clone(), legend, colour_bar: None };
        files.extend(annotated::write(dir, &format!("{stem}_annotated"), &map)?);
    }
    // Continuous maps: steps to settle (log), and the escape time of a noise run.
    let (nx, ny, k) = (plan.nx(), plan.ny(), plan.samples);
    let mut continuous: Vec<(&str, &str, Vec<f64>, bool)> = vec![("steps", "steps taken", outcomes.steps.iter().map(|&s| s as f64).collect(), true)];
    if let Some(times) = escape_times {
        continuous.push(("escape_time", "escape time", times.iter().map(|&t| t as f64).collect(), false));
    }
    for (stem, label, values, log) in continuous {
        let coord = |v: f64| if log { (1.0 + v).log10() } else { v };
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).map(coord).collect();
        let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        if !lo.is_finite() {
            continue;
        }
        let span = if hi > lo { hi - lo } else { 1.0 };
        let img = crate::render::sample_mean_image(nx, ny, k, |i| {
            let v = values[i];
            if v.is_finite() {
                crate::render::palette::viridis((coord(v) - lo) / span).map(f32::from)
            } else {
                [0x99 as f32; 3]
            }
        });
        let bar = ColourBar { label: if log { format!("1 + {label}") } else { label.to_string() }, lo, hi: lo + span, log, colour: crate::render::palette::viridis };
        let map = AnnotatedMap { title: title(label), image: &img, x: x.clone(), y: y.clone(), legend: Vec::new(), colour_bar: Some(bar) };
        files.extend(annotated::write(dir, &format!("{stem}_annotated"), &map)?);
    }
    Ok(files)
}

/// Writes everything but run.json; returns the file names.
fn write_outputs(plan: &Plan, outcomes: &Outcomes, c: &Classification, dir: &OutputDir, title: Option<&str>, escape_times: Option<&[f32]>) -> Result<Vec<String>> {
    let (nx, ny, k) = (plan.nx(), plan.ny(), plan.samples);
    // Per-trajectory arrays carry a sample dimension when there are several samples.
    let shape: Vec<usize> = if k > 1 { vec![ny, nx, k] } else { vec![ny, nx] };
    let colours = palette::colours(&c.attractors);
    let mut files = Vec::new();
    let basins = basin_image(nx, ny, k, &c.labels, &outcomes.steps, &colours);
    dir.write_png("basins.png", &basins)?;
    files.push("basins.png".to_string());
    let names = plan.system.spec().observable_names();
    let mut images = vec![("basins", &basins)];
    let trainability;
    if plan.system.spec().loss_record && plan.y.is_some() {
        let column = |name: &str| names.iter().position(|&n| n == name).map(|i| outcomes.column(i)).expect("recorded observable");
        trainability = trainability_image(nx, ny, k, &column("converged"), &column("loss_sum"), &column("loss_inv_sum"));
        dir.write_png("trainability.png", &trainability)?;
        files.push("trainability.png".to_string());
        images.push(("trainability", &trainability));
    }
    if plan.y.is_some() {
        files.extend(write_annotated(plan, outcomes, c, &colours, &images, dir, title, escape_times)?);
    }
    let labels: Vec<i32> = c.labels.iter().map(|&l| l as i32).collect();
    write_npy(dir, "labels.npy", &shape, &labels)?;
    write_npy(dir, "steps.npy", &shape, &outcomes.steps)?;
    crate::io::npy::write_npz(dir, "axes.npz", &plan.axes_arrays())?;
    files.extend(["labels.npy".to_string(), "steps.npy".to_string(), "axes.npz".to_string()]);
    if let Some(times) = escape_times {
        write_npy(dir, "escape_time.npy", &shape, times)?;
        files.push("escape_time.npy".to_string());
    }
    if k > 1 {
        let n_attr = c.attractors.len();
        write_npy(dir, "fractions.npy", &[ny, nx, n_attr], &fractions(&c.labels, k, n_attr))?;
        files.push("fractions.npy".to_string());
    }
    for (k, name) in names.iter().enumerate() {
        let file = format!("{name}.npy");
        write_npy(dir, &file, &shape, &outcomes.column(k))?;
        files.push(file);
    }
    dir.write_bytes("attractors.csv", attractors_csv(&c.attractors, &names, &colours).as_bytes())?;
    files.push("attractors.csv".to_string());
    if plan.y.is_none() {
        let fig = scan_figure(plan, outcomes, c, &colours, title);
        let size = (1000, 260 * fig.panels.len() as u32 + 60);
        files.extend(curves::write(dir, "curves", &fig, size)?);
    }
    files.push(RUN_JSON.to_string());
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::{legend_label, percent};
    use crate::classify::{Attractor, Kind, ObservableSummary};

    #[test]
    fn a_pooled_attractor_says_so_and_gives_no_location() {
        let o = ObservableSummary { value: 0.5, min: 0.0, max: 1.0 };
        let a = Attractor { id: 31, kind: Kind::Fixed, stability: None, pooled: true, count: 3, fraction: 0.25, representative: 0, observables: vec![o], phase: None };
        assert_eq!(legend_label(&a, &["x"]), "31 fixed pooled (25.0%)");
        let u = Attractor { id: 2, kind: Kind::Undecided, pooled: false, observables: Vec::new(), ..a };
        assert_eq!(legend_label(&u, &["x"]), "2 undecided (25.0%): still moving");
    }

    #[test]
    fn small_shares_keep_two_significant_digits() {
        assert_eq!(percent(0.3432, 2), "34.32%");
        assert_eq!(percent(0.3432, 1), "34.3%");
        assert_eq!(percent(0.001, 2), "0.10%");
        assert_eq!(percent(0.0005, 1), "0.050%");
        assert_eq!(percent(1.0 / 262_144.0, 2), "0.00038%");
        assert_eq!(percent(0.0, 1), "0.0%");
    }
}
