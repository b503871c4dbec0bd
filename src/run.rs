//! One run from scenario to files: plan → engine → classify → outputs.

use crate::classify::{classify, max_dist, Attractor, Classification, Groups};
use crate::engine::{self, EngineInfo, Outcomes, Status};
use crate::io::{attractors_csv, write_npy, OutputDir, RUN_JSON};
use crate::plan::Plan;
use crate::render::{basins::basin_image, palette};
use crate::scenario::Scenario;
use crate::system::{stability::stability, Model, ModelVisitor, Stability};
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
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub trajectories: u64,
    pub converged: u64,
    pub diverged: u64,
    pub undecided: u64,
    pub nonfinite: u64,
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
                _ => c.undecided += 1,
            }
            c.total_steps += n as u64;
        }
        c
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
    pub warnings: Vec<String>,
    pub files: Vec<String>,
}

/// Hooks for the command line (progress bars); the library default does nothing.
pub trait Observer: Sync {
    /// Integration progress: trajectories finished out of the total.
    fn progress(&self, _done: u64, _total: u64) {}
    /// The engine has been chosen.
    fn engine(&self, _info: &EngineInfo) {}
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
    let t0 = Instant::now();
    let plan = Plan::new(scenario)?;
    let dir = OutputDir::prepare(out)?;
    let engine = engine::select(plan.engine, &plan.system)?;
    let info = engine.info();
    observer.engine(&info);
    let setup = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let outcomes = engine.run(&plan, &|d, t| observer.progress(d, t))?;
    let integrate = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let classification = label(&plan, &outcomes);
    let classify_s = t2.elapsed().as_secs_f64();

    let t3 = Instant::now();
    let files = write_outputs(&plan, &outcomes, &classification, &dir)?;
    let counts = Counts::of(&outcomes);
    let mut warnings = plan.warnings();
    if counts.nonfinite > 0 {
        warnings.push(format!(
            "{} of {} trajectories ({:.3}%) reached a non-finite value (NaN: the log or square root of a negative number, 0/0, ...); they are labelled nonfinite",
            counts.nonfinite,
            counts.trajectories,
            100.0 * counts.nonfinite as f64 / counts.trajectories.max(1) as f64
        ));
    }
    warnings.extend(classification.warnings);
    let mut report = Report {
        basinmap: env!("CARGO_PKG_VERSION"),
        scenario: scenario.clone(),
        engine: info,
        grid: [plan.nx(), plan.ny()],
        observables: plan.system.spec().observable_names().into_iter().map(String::from).collect(),
        timings: Timings { setup, integrate, classify: classify_s, write: 0.0 },
        steps_per_second: counts.total_steps as f64 / integrate.max(1e-9),
        counts,
        attractors: classification.attractors,
        warnings,
        files,
    };
    report.timings.write = t3.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    dir.write_bytes(RUN_JSON, json.as_bytes())?;
    Ok(report)
}

/// Labels the outcomes of `plan`: features are the state (the built-in systems' observables
/// start with it); stability comes from the Hessian at each cluster's centre.
pub fn label(plan: &Plan, outcomes: &Outcomes) -> Classification {
    let groups = Groups { shape: plan.group_shape(), of: (0..plan.n_trajectories()).map(|i| plan.group_of(i)).collect() };
    let features: Vec<usize> = (0..plan.n_state()).collect();
    struct At<'a>(&'a Plan, usize, &'a [f64]);
    impl ModelVisitor for At<'_> {
        type Output = Stability;
        fn visit<M: Model>(self, m: &M) -> Stability {
            let inputs = self.0.inputs_at(self.1);
            stability(m, &inputs[..self.0.n_params], self.2)
        }
    }
    let host = plan.system.has_host_model();
    // A system written in WGSL has no host model: no stability, no path test.
    let stab = |i: usize, centre: &[f64]| if host { plan.system.visit(At(plan, i, centre)).unwrap_or(Stability::Unknown) } else { Stability::Unknown };
    struct Path<'a>(&'a Plan, usize, &'a [f64], &'a [f64]);
    impl ModelVisitor for Path<'_> {
        type Output = bool;
        fn visit<M: Model>(self, m: &M) -> bool {
            let Path(plan, i, a, b) = self;
            let inputs = plan.inputs_at(i);
            small_gradient_path(m, &inputs[..plan.n_params], a, b, plan.dynamics.tol, plan.classify.cluster_tol)
        }
    }
    let connected = |i: usize, a: &[f64], b: &[f64]| host && plan.system.visit(Path(plan, i, a, b)).unwrap_or(false);
    classify(outcomes, &groups, &features, plan.n_state(), &plan.classify, &stab, &connected)
}

/// Whether the gradient stays below 2·tol (f32 end states carry rounding) along the segment
/// from `a` to `b`, sampled every `step` (at most 64 samples).
pub fn small_gradient_path<M: Model>(m: &M, p: &[f64], a: &[f64], b: &[f64], tol: f64, step: f64) -> bool {
    let samples = ((max_dist(a, b) / step.max(1e-12)).ceil() as usize).clamp(2, 64);
    let mut x = vec![0.0; a.len()];
    let mut v = vec![0.0; a.len()];
    (0..=samples).all(|k| {
        let t = k as f64 / samples as f64;
        x.iter_mut().zip(a.iter().zip(b)).for_each(|(xi, (ai, bi))| *xi = ai + t * (bi - ai));
        m.field(p, &x, &mut v);
        crate::dynamics::norm(&v) <= 2.0 * tol
    })
}

/// Writes everything but run.json; returns the file names.
fn write_outputs(plan: &Plan, outcomes: &Outcomes, c: &Classification, dir: &OutputDir) -> Result<Vec<String>> {
    let (nx, ny) = (plan.nx(), plan.ny());
    let shape = [ny, nx];
    let colours = palette::colours(&c.attractors);
    let mut files = Vec::new();
    let png = basin_image(nx, ny, &c.labels, &outcomes.steps, &colours);
    let mut bytes = Vec::new();
    png.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::Write { path: dir.path().join("basins.png"), source: std::io::Error::other(e) })?;
    dir.write_bytes("basins.png", &bytes)?;
    files.push("basins.png".to_string());
    let labels: Vec<i32> = c.labels.iter().map(|&l| l as i32).collect();
    write_npy(dir, "labels.npy", &shape, &labels)?;
    write_npy(dir, "steps.npy", &shape, &outcomes.steps)?;
    files.extend(["labels.npy".to_string(), "steps.npy".to_string()]);
    let names = plan.system.spec().observable_names();
    for (k, name) in names.iter().enumerate() {
        let file = format!("{name}.npy");
        write_npy(dir, &file, &shape, &outcomes.column(k))?;
        files.push(file);
    }
    dir.write_bytes("attractors.csv", attractors_csv(&c.attractors, &names, &colours).as_bytes())?;
    files.push("attractors.csv".to_string());
    files.push(RUN_JSON.to_string());
    Ok(files)
}
