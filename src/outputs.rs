//! The outputs of a whole labelled map: classify the outcomes (from one run, or merged from
//! shards), write the arrays, images, attractors.csv and run.json. Every way of computing a map
//! held in memory ends here.

use crate::classify::{fractions, label, Classification};
use crate::engine::{Engine, EngineInfo, Outcomes};
use crate::io::{attractors_csv, OutputDir, RUN_JSON};
use crate::plan::Plan;
use crate::render::legend::gathered;
use crate::render::scan::scan_figure;
use crate::render::{basins::basin_image, curves, palette, trainability::trainability_image};
use crate::report::{Counts, Report, Timings};
use crate::scenario::Scenario;
use crate::{Error, Result};
use std::time::Instant;

/// Classifies the outcomes of a whole map (from one run, or merged from shards) and writes its
/// files and run.json: [`label_map`], then [`LabelledMap::write`].
#[allow(clippy::too_many_arguments)]
pub fn finish(scenario: &Scenario, plan: &Plan, outcomes: Outcomes, info: EngineInfo, setup: f64, integrate: f64, computed_steps: Option<u64>, dir: &OutputDir, notes: Vec<String>, engine: Option<&dyn Engine>) -> Result<Report> {
    label_map(scenario, plan, outcomes, info, setup, integrate, computed_steps, notes, engine)?.write(dir)
}

/// The values of one per-trajectory array, in the type its .npy file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    I32(Vec<i32>),
    U32(Vec<u32>),
    F32(Vec<f32>),
}

/// One array of a labelled map: `name`.npy with `shape` (C order).
#[derive(Clone, Debug, PartialEq)]
pub struct MapArray {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Values,
}

impl MapArray {
    /// Writes the array as its .npy file's bytes to `w` (the file `basinmap run` writes).
    pub fn npy_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        use crate::io::npy::npy_to;
        match &self.values {
            Values::I32(v) => npy_to(w, &self.shape, v),
            Values::U32(v) => npy_to(w, &self.shape, v),
            Values::F32(v) => npy_to(w, &self.shape, v),
        }
    }

    /// The array's .npy file as bytes.
    pub fn npy_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.npy_to(&mut bytes).expect("writing to memory cannot fail");
        bytes
    }
}

/// A whole map labelled in memory: everything its files say, before any is written. The
/// command line writes it at once ([`finish`]); the Python package holds it and writes it when
/// asked, the same files byte for byte.
#[derive(Clone, Debug)]
pub struct LabelledMap {
    pub plan: Plan,
    pub outcomes: Outcomes,
    pub classification: Classification,
    /// Each trajectory's escape time (runs with an escape radius).
    pub escape_times: Option<Vec<f32>>,
    /// run.json's record; [`LabelledMap::write`] fills in its files and writing time.
    pub report: Report,
}

/// Classifies the outcomes of a whole map (from one run, or merged from shards): settles the
/// stalled and undecided, labels the attractors, counts, measures the boundary and escape times.
/// `engine`: the run's, which continues the undecided of a system that exists only as WGSL
/// ([`crate::classify::continued`]); without one (merged shards) one is opened for them where
/// the machine has one.
/// `computed_steps`: the trajectory-steps the engine took in `integrate` seconds (fewer than the
/// map's when a resumed run read some parts back). `notes`: warnings of the stages before (saved
/// parts that could not be used).
#[allow(clippy::too_many_arguments)]
pub fn label_map(scenario: &Scenario, plan: &Plan, mut outcomes: Outcomes, info: EngineInfo, setup: f64, integrate: f64, computed_steps: Option<u64>, mut notes: Vec<String>, engine: Option<&dyn Engine>) -> Result<LabelledMap> {
    let t2 = Instant::now();
    let stalls = crate::classify::stalls::settle_stalls(plan, &mut outcomes, plan.range().start);
    crate::classify::cycles::settle_undecided(plan, &mut outcomes, plan.range().start);
    if crate::classify::continued::applies(plan) {
        // A WGSL system's undecided are continued on the engine (merged shards: one opened here,
        // if this machine has one).
        let opened = match engine {
            Some(_) => None,
            None => crate::engine::for_plan(plan, false).ok(),
        };
        match engine.or(opened.as_deref()) {
            Some(engine) => {
                crate::classify::continued::settle_on_engine(plan, engine, &mut outcomes, plan.range().start)?;
            }
            None => notes.push("no GPU here to continue the undecided trajectories of this WGSL system on: they are not tested for cycles and chaos".into()),
        }
    }
    let mut classification = label(plan, &outcomes);
    if plan.sampled.is_some() {
        for a in &mut classification.attractors {
            a.set_standard_error(plan.n_trajectories() as u64);
        }
    }
    // Escape times (runs with an escape radius): escape_time.npy, its map, and run.json's stats.
    let escape = (plan.dynamics.escape > 0.0).then(|| crate::analysis::escape::escape_times(plan, &outcomes));
    let counts = Counts::of_plan(plan, &outcomes);
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
    warnings.extend(std::mem::take(&mut classification.warnings));
    let boundary = match plan.y {
        Some(_) if plan.nx() >= 2 && plan.ny() >= 2 => {
            use crate::analysis::boundary::{majority_labels, measure, LabelMap, ENTROPY_BOX};
            // A trainability map's boundary is the one between runs that trained and runs that
            // did not (Sohl-Dickstein 2024); other maps': between attractors.
            let names = plan.observable_names();
            let per_run: Vec<u32> = match names.iter().position(|&n| n == "converged").filter(|_| plan.system.spec().loss_record) {
                Some(k) => outcomes.column(k).iter().map(|&v| (v > 0.5) as u32).collect(),
                None => classification.labels.clone(),
            };
            let labels = majority_labels(&per_run, plan.samples);
            measure(&LabelMap { nx: plan.nx(), ny: plan.ny(), labels: &labels }, ENTROPY_BOX.min(plan.nx().min(plan.ny())), None).ok()
        }
        _ => None,
    };
    let (escape_times, escape) = escape.unzip();
    // Labelling, counts, escape times and the boundary's measures.
    let classify_s = t2.elapsed().as_secs_f64();
    let report = Report {
        basinmap: env!("CARGO_PKG_VERSION"),
        scenario: scenario.clone(),
        engine: info,
        grid: [plan.nx(), plan.ny()],
        observables: plan.observable_names().into_iter().map(String::from).collect(),
        timings: Timings { setup, integrate, classify: classify_s, write: 0.0 },
        steps_per_second: computed_steps.unwrap_or(counts.total_steps) as f64 / integrate.max(1e-9),
        counts,
        attractors: classification.attractors.clone(),
        boundary,
        escape,
        warnings,
        files: Vec::new(),
        refine: None,
    };
    Ok(LabelledMap { plan: plan.clone(), outcomes, classification, escape_times, report })
}

impl LabelledMap {
    /// Writes every file of the map and run.json to `dir`; returns run.json's record.
    pub fn write(&self, dir: &OutputDir) -> Result<Report> {
        let t3 = Instant::now();
        let mut report = self.report.clone();
        report.files = write_outputs(self, dir)?;
        report.timings.write = t3.elapsed().as_secs_f64();
        let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(std::io::Error::other(e)))?;
        dir.write_bytes(RUN_JSON, json.as_bytes())?;
        Ok(report)
    }

    /// The shape of each per-trajectory array: (ny, nx), (ny, nx, samples) with several samples,
    /// and 1-D in the order of the starts for sampled starts.
    pub fn shape(&self) -> Vec<usize> {
        let plan = &self.plan;
        let (nx, ny, k) = (plan.nx(), plan.ny(), plan.samples);
        match (plan.sampled.is_some(), k > 1) {
            (true, _) => vec![nx],
            (false, true) => vec![ny, nx, k],
            (false, false) => vec![ny, nx],
        }
    }

    /// Every array the map's .npy files hold, in the order they are written (see
    /// [`Self::for_each_array`]).
    pub fn arrays(&self) -> Vec<MapArray> {
        let mut arrays = Vec::new();
        self.for_each_array(|a| {
            arrays.push(a);
            Ok(())
        })
        .expect("collecting cannot fail");
        arrays
    }

    /// Hands `each` the arrays of the map's .npy files one at a time, in the order they are
    /// written: labels, steps, period and cycle time (where cycles are looked for), lyapunov,
    /// escape_time, fractions (several samples: shape (ny, nx, attractors)), then each
    /// observable. One at a time, so that writing a large map holds one array beside its
    /// outcomes, not a copy of them all.
    pub fn for_each_array(&self, mut each: impl FnMut(MapArray) -> Result<()>) -> Result<()> {
        let (plan, outcomes, c) = (&self.plan, &self.outcomes, &self.classification);
        let shape = self.shape();
        let array = |name: &str, values: Values| MapArray { name: name.to_string(), shape: shape.clone(), values };
        each(array("labels", Values::I32(c.labels.iter().map(|&l| l as i32).collect())))?;
        each(array("steps", Values::U32(outcomes.steps.clone())))?;
        if crate::classify::finds_cycles(plan) {
            each(array("period", Values::U32(crate::classify::cycles::periods(outcomes))))?;
            if crate::classify::chaos::is_flow(plan) {
                each(array("cycle_time", Values::F32(crate::classify::cycles::cycle_times(outcomes))))?;
            }
        }
        if plan.classify.lyapunov {
            each(array("lyapunov", Values::F32(outcomes.lyapunov.clone())))?;
        }
        if let Some(times) = &self.escape_times {
            each(array("escape_time", Values::F32(times.clone())))?;
        }
        if plan.samples > 1 {
            let n_attr = c.attractors.len();
            each(MapArray { name: "fractions".into(), shape: vec![plan.ny(), plan.nx(), n_attr], values: Values::F32(fractions(&c.labels, plan.samples, n_attr)) })?;
        }
        for (k, name) in plan.observable_names().iter().enumerate() {
            each(array(name, Values::F32(outcomes.column(k))))?;
        }
        Ok(())
    }

    /// attractors.csv's text.
    pub fn attractors_csv(&self) -> String {
        let c = &self.classification;
        attractors_csv(&c.attractors, &self.plan.observable_names(), &palette::colours(&c.attractors))
    }

    /// A training map's (a system that keeps a loss record, on a 2-D grid) trainability image,
    /// as trainability.png; `None` for other maps. Its legend is
    /// [`crate::render::trainability::legend`] of the outcomes' status.
    pub fn trainability_image(&self) -> Option<image::RgbImage> {
        let (plan, outcomes) = (&self.plan, &self.outcomes);
        if !plan.system.spec().loss_record || plan.y.is_none() {
            return None;
        }
        let names = plan.observable_names();
        let column = |name: &str| names.iter().position(|&n| n == name).map(|i| outcomes.column(i)).expect("recorded observable");
        Some(trainability_image(plan.nx(), plan.ny(), plan.samples, &column("converged"), &column("loss_sum"), &column("loss_inv_sum"), &outcomes.status))
    }

    /// A 2-D map's largest Lyapunov exponents as lyapunov_annotated.png paints them (one pixel
    /// per grid point), and the scale's reach ±R; `None` without exponents.
    pub fn lyapunov_image(&self) -> Option<(image::RgbImage, f64)> {
        lyapunov_image(&self.plan, &self.outcomes)
    }

    /// The raw basin image (one pixel per grid point, as basins.png), or `None` for sampled starts.
    pub fn basin_image(&self) -> Option<image::RgbImage> {
        let (plan, c) = (&self.plan, &self.classification);
        plan.sampled.is_none().then(|| basin_image(plan.nx(), plan.ny(), plan.samples, &c.labels, &self.outcomes.steps, &palette::colours(&c.attractors)))
    }
}

/// The annotated versions of a 2-D run's images: the basins with their attractors' legend and
/// a key to their shading, the trainability map with its legend and shading keys, and the
/// convergence time (and escape time) with a logarithmic colour bar. Returns the file names.
fn write_annotated(plan: &Plan, outcomes: &Outcomes, c: &Classification, colours: &[[u8; 3]], images: &[(&str, &image::RgbImage)], dir: &OutputDir) -> Result<Vec<String>> {
    use crate::render::annotated::{self, title, AnnotatedMap};
    use crate::render::side::ShadeKey;
    let Some((x, y)) = annotated::axes(plan) else { return Ok(Vec::new()) };
    let names = plan.observable_names();
    let mut files = Vec::new();
    for &(stem, img) in images {
        let mut map = AnnotatedMap::new(title(plan, stem), img, x.clone(), y.clone());
        if stem == "basins" {
            map.legend = gathered(&c.attractors, colours, &names);
            map.shades = vec![crate::render::basins::shade_key()];
        } else {
            use crate::render::trainability::{FAILED, TRAINED};
            map.legend = crate::render::trainability::legend(&outcomes.status);
            map.shades = vec![
                ShadeKey { light: TRAINED.0, dark: TRAINED.2, text: "trained: darker, the loss fell faster".into() },
                ShadeKey { light: FAILED.0, dark: FAILED.2, text: "did not train: darker, it blew up faster".into() },
            ];
        }
        files.extend(annotated::write(dir, &format!("{stem}_annotated"), &map, &plan.figure)?);
    }
    Ok(files)
}

/// The annotated maps of a 2-D run's continuous quantities: steps to settle (log), the escape
/// time of a noise run (log), then the largest Lyapunov exponent (signed, linear:
/// crate::render::lyapunov). Returns the file names.
fn write_continuous(plan: &Plan, outcomes: &Outcomes, dir: &OutputDir, escape_times: Option<&[f32]>) -> Result<Vec<String>> {
    use crate::render::annotated::{self, title, AnnotatedMap};
    use crate::render::side::{ColourBar, MISSING};
    let Some((x, y)) = annotated::axes(plan) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    let (nx, ny, k) = (plan.nx(), plan.ny(), plan.samples);
    // The log bars span the quantity itself, floored at its smallest non-zero value: a run that
    // took no step counts as one step, an escape at the start as one step's time.
    let mut continuous: Vec<(&str, &str, Vec<f64>, f64)> = vec![("steps", "steps taken", outcomes.steps.iter().map(|&s| s as f64).collect(), 1.0)];
    if let Some(times) = escape_times {
        continuous.push(("escape_time", "escape time", times.iter().map(|&t| t as f64).collect(), plan.dynamics.step_size()));
    }
    for (stem, label, values, floor) in continuous {
        let coord = |v: f64| v.max(floor).log10();
        let Some(mut bar) = ColourBar::spanning(label, values.iter().filter(|v| v.is_finite()).map(|&v| v.max(floor)), true, plan.figure.colour_map) else { continue };
        bar.missing = values.iter().any(|v| !v.is_finite());
        let img = crate::render::mean_value_image(nx, ny, k, |i| values[i].is_finite().then(|| coord(values[i])), |v| bar.colour(v), MISSING);
        let mut map = AnnotatedMap::new(title(plan, label), &img, x.clone(), y.clone());
        map.colour_bar = Some(bar);
        files.extend(annotated::write(dir, &format!("{stem}_annotated"), &map, &plan.figure)?);
    }
    if let Some((img, reach)) = lyapunov_image(plan, outcomes) {
        let (unit, title_label) = match (crate::classify::chaos::is_flow(plan), crate::classify::replay::follows_training(plan)) {
            (true, _) => ("λ₁ per unit time", "largest Lyapunov exponent λ₁ per unit time"),
            (false, true) => ("λ₁ per training step", "largest Lyapunov exponent λ₁ per step of training"),
            (false, false) => ("λ₁ per step", "largest Lyapunov exponent λ₁ per step"),
        };
        let lowest = outcomes.lyapunov.iter().map(|&l| l as f64).filter(|l| l.is_finite() || *l == f64::NEG_INFINITY).fold(f64::INFINITY, f64::min);
        let end = crate::render::numbers::value(reach);
        let label = if lowest < -reach { format!("{unit} (below −{end} as −{end})") } else { unit.to_string() };
        let bar = ColourBar { label, lo: -reach, hi: reach, log: false, map: crate::scenario::ColourMap::Diverging, missing: outcomes.lyapunov.iter().any(|l| crate::render::lyapunov::shown(*l as f64, reach).is_none()) };
        let mut map = AnnotatedMap::new(title(plan, title_label), &img, x.clone(), y.clone());
        map.colour_bar = Some(bar);
        files.extend(annotated::write(dir, "lyapunov_annotated", &map, &plan.figure)?);
    }
    Ok(files)
}

/// A 2-D map's largest Lyapunov exponents as lyapunov_annotated.png paints them, and the
/// scale's reach ([`crate::render::lyapunov`]); `None` without exponents or a finite one.
fn lyapunov_image(plan: &Plan, outcomes: &Outcomes) -> Option<(image::RgbImage, f64)> {
    if outcomes.lyapunov.is_empty() || plan.y.is_none() || plan.sampled.is_some() {
        return None;
    }
    let reach = crate::render::lyapunov::reach(outcomes.lyapunov.iter().map(|&l| l as f64))?;
    Some((crate::render::lyapunov::image(plan.nx(), plan.ny(), plan.samples, &outcomes.lyapunov, reach), reach))
}

/// Writes everything but run.json; returns the file names. The images, the continuous maps
/// and the arrays are written at once, on the threads there are (at 8192² each is seconds of
/// one core's work), so the images are held beside one array (a run of the default map at
/// 8192² peaks at about 3.4 GB); the names come back in the same order whatever
/// finishes first.
fn write_outputs(map: &LabelledMap, dir: &OutputDir) -> Result<Vec<String>> {
    let (plan, outcomes) = (&map.plan, &map.outcomes);
    let (images, (continuous, arrays)) = rayon::join(
        || write_images(map, dir),
        || {
            rayon::join(
                || if plan.y.is_some() { write_continuous(plan, outcomes, dir, map.escape_times.as_deref()) } else { Ok(Vec::new()) },
                || write_arrays(map, dir),
            )
        },
    );
    let mut files = images?;
    files.extend(continuous?);
    files.extend(arrays?);
    dir.order_record(&files)?;
    files.push(RUN_JSON.to_string());
    Ok(files)
}

/// The map's pictures: the starts figure of sampled starts, basins.png, trainability.png and
/// their annotated versions. Returns the file names.
fn write_images(map: &LabelledMap, dir: &OutputDir) -> Result<Vec<String>> {
    let (plan, outcomes, c) = (&map.plan, &map.outcomes, &map.classification);
    let colours = palette::colours(&c.attractors);
    let mut files = Vec::new();
    if plan.sampled.is_some() {
        // No grid to paint: the starts themselves, coloured by where they ended.
        let fig = crate::render::starts::starts_figure(plan, outcomes, c, &colours);
        files.extend(curves::write(dir, "starts", &fig, (1100, 800), &plan.figure)?);
    }
    let basins = map.basin_image();
    if let Some(basins) = &basins {
        dir.write_png("basins.png", basins)?;
        files.push("basins.png".to_string());
    }
    let mut images: Vec<(&str, &image::RgbImage)> = basins.iter().map(|b| ("basins", b)).collect();
    let trainability = map.trainability_image();
    if let Some(trainability) = &trainability {
        dir.write_png("trainability.png", trainability)?;
        files.push("trainability.png".to_string());
        images.push(("trainability", trainability));
    }
    if plan.y.is_some() {
        files.extend(write_annotated(plan, outcomes, c, &colours, &images, dir)?);
    }
    Ok(files)
}

/// The map's .npy arrays, axes.npz, attractors.csv and a scan's curves. Returns the file names.
fn write_arrays(map: &LabelledMap, dir: &OutputDir) -> Result<Vec<String>> {
    let (plan, outcomes, c) = (&map.plan, &map.outcomes, &map.classification);
    let mut files = Vec::new();
    let mut axes_written = false;
    map.for_each_array(|array| {
        let file = format!("{}.npy", array.name);
        dir.write_with(&file, |w| array.npy_to(w))?;
        files.push(file);
        // The axes' coordinates follow labels and steps.
        if array.name == "steps" && !axes_written {
            crate::io::npy::write_npz(dir, "axes.npz", &plan.axes_arrays())?;
            files.push("axes.npz".to_string());
            axes_written = true;
        }
        Ok(())
    })?;
    dir.write_bytes("attractors.csv", map.attractors_csv().as_bytes())?;
    files.push("attractors.csv".to_string());
    if plan.y.is_none() && plan.sampled.is_none() {
        let fig = scan_figure(plan, outcomes, c, &palette::colours(&c.attractors));
        let size = (1000, 260 * fig.panels.len() as u32 + 60);
        files.extend(curves::write(dir, "curves", &fig, size, &plan.figure)?);
    }
    Ok(files)
}
