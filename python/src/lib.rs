//! `basinmap._native`: the Rust side of the Python package `basinmap` (python/basinmap/).
//!
//! Each function calls the library as the command line does: a scenario is the library's
//! [`Overrides`] applied to a base, so a keyword is its flag; a map is [`run::compute`]'s
//! [`LabelledMap`], whose arrays go to numpy without a copy and whose files [`LabelledMap::write`]
//! writes as `basinmap run` does. The interpreter lock is released while the library works.
//! Commands that write files are given a fresh directory (`out`), from which the package moves
//! them to the user's once they are complete.

use basinmap::outputs::{LabelledMap, Values};
use basinmap::run::{self, Observer};
use basinmap::scenario::{Base, Overrides, Scenario};
use basinmap::system::{ParamDefault, System};
use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The library's error as the Python exception the package defines for it
/// (basinmap/errors.py): a formula's fault with its place, a bad scenario, an engine's failure,
/// a disk's.
fn py_error(py: Python<'_>, e: basinmap::Error) -> PyErr {
    use basinmap::Error;
    let message = e.to_string();
    let raised = (|| -> PyResult<PyErr> {
        let errors = py.import("basinmap.errors")?;
        let value = match &e {
            Error::Source(d) => errors.getattr("FormulaError")?.call1((message.clone(), d.origin.clone(), d.line, d.column, d.line_text.clone(), d.width, d.message.clone()))?,
            Error::Input(_) | Error::Scenario { .. } => errors.getattr("ScenarioError")?.call1((message.clone(),))?,
            Error::NoAdapter(_) | Error::Gpu(_) => errors.getattr("EngineError")?.call1((message.clone(),))?,
            Error::Write { .. } | Error::Io(_) => return Ok(PyOSError::new_err(message.clone())),
            Error::Interrupted(_) => return Ok(PyKeyboardInterrupt::new_err(message.clone())),
        };
        Ok(PyErr::from_value(value))
    })();
    raised.unwrap_or_else(|import_failed| import_failed)
}

/// A scenario from a base (`"defaults"`, `"file"` with a path, `"toml"` with its text, `"json"`
/// with a JSON object's text, as a Python dict gives it) and flags.
fn scenario_of(base: &str, source: Option<&str>, flags: &[String]) -> basinmap::Result<Scenario> {
    let overrides = Overrides::from_flags(flags)?;
    let missing = || basinmap::Error::input(format!("a '{base}' scenario needs its source"));
    match base {
        "defaults" => overrides.apply(Base::Defaults),
        "file" => overrides.apply(Base::File(std::path::Path::new(source.ok_or_else(missing)?))),
        "toml" => overrides.apply(Base::Toml(source.ok_or_else(missing)?)),
        "json" => {
            let table: toml::Table = serde_json::from_str(source.ok_or_else(missing)?).map_err(|e| basinmap::Error::input(format!("scenario: {e}")))?;
            let text = toml::to_string(&table).map_err(|e| basinmap::Error::input(format!("scenario: {e}")))?;
            overrides.apply(Base::Toml(&text))
        }
        other => Err(basinmap::Error::input(format!("unknown scenario base '{other}'"))),
    }
}

/// The scenario the base and flags give, as TOML (what run.json records).
#[pyfunction]
#[pyo3(signature = (base, source, flags))]
fn resolve(py: Python<'_>, base: &str, source: Option<&str>, flags: Vec<String>) -> PyResult<String> {
    unlocked(py, || scenario_of(base, source, &flags).map(|s| s.to_toml()))
}

/// Makes `dir` ready for a command's outputs as the command line does: created, checked for
/// writing, an earlier command's outputs removed (the package does this once the new outputs
/// are complete).
#[pyfunction]
fn prepare_output(py: Python<'_>, dir: PathBuf) -> PyResult<()> {
    unlocked(py, || basinmap::io::OutputDir::prepare(&dir).map(drop))
}

/// A panic (a bug) as the exception a caller can catch, not pyo3's PanicException (a
/// BaseException that ends most programs).
fn panic_error(py: Python<'_>, panic: Box<dyn std::any::Any + Send>) -> PyErr {
    let why = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
    let message = format!("basinmap failed inside ({why}); this is a bug, please report it");
    match py.import("basinmap.errors").and_then(|errors| errors.getattr("BasinmapError")?.call1((message,))) {
        Ok(value) => PyErr::from_value(value),
        Err(import_failed) => import_failed,
    }
}

/// Runs `work` on the caller's thread with the interpreter lock released, a panic becoming
/// [`panic_error`]'s exception and the library's error its Python exception.
fn unlocked<T: Send>(py: Python<'_>, work: impl FnOnce() -> basinmap::Result<T> + Send) -> PyResult<T> {
    match py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))) {
        Ok(result) => result.map_err(|e| py_error(py, e)),
        Err(panic) => Err(panic_error(py, panic)),
    }
}

/// Runs `work` (which holds the interpreter lock) with a panic becoming [`panic_error`]'s
/// exception.
fn guarded<T>(py: Python<'_>, work: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(panic_error(py, panic)))
}

/// Progress and stop requests between the caller's thread and the one computing.
#[derive(Default)]
struct Watch {
    done: AtomicU64,
    total: AtomicU64,
    stop: AtomicBool,
}

impl Observer for Watch {
    fn progress(&self, done: u64, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    fn stops_mid_run(&self) -> bool {
        true
    }
}

/// Asks the work to stop when the caller stops waiting for it, however it stops (a result,
/// Ctrl-C, an exception from the progress callback).
struct StopWhenLeft(Arc<Watch>);

impl Drop for StopWhenLeft {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs `work` on its own thread while the caller waits without the interpreter lock, waking
/// every 50 ms to report progress (`progress(done, total)`) and to let Ctrl-C raise
/// `KeyboardInterrupt` at once; the work is then asked to stop (maps, shards, kramers and a
/// sweep's map stop after the tile in hand) and its result, if it comes, is dropped. An exception from `progress` stops it
/// too. `discard`: the fresh directory the work writes to, which the work removes when it ends
/// after the caller left (the caller removes it at once; work that cannot stop may write again).
fn in_background<T: Send + 'static>(py: Python<'_>, progress: Option<Py<PyAny>>, discard: Option<PathBuf>, work: impl FnOnce(&Watch) -> basinmap::Result<T> + Send + 'static) -> PyResult<T> {
    let watch = Arc::new(Watch::default());
    let _stop_when_left = StopWhenLeft(Arc::clone(&watch));
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker = Arc::clone(&watch);
    // Named "basinmap": the work threads of the package (the tests count them).
    std::thread::Builder::new()
        .name("basinmap".into())
        .spawn(move || {
            // A panic (a bug) reaches the caller as an exception, not as a dead thread.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(worker.as_ref())));
            if sender.send(result).is_err() {
                // Nobody waits for this result: nothing it wrote may be left.
                if let Some(dir) = discard {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        })
        .map_err(|e| PyOSError::new_err(format!("cannot start a thread: {e}")))?;
    let mut reported = (u64::MAX, u64::MAX);
    let mut receiver = receiver;
    loop {
        // The receiver is Send, not Sync: it goes into the wait and comes back.
        let (back, received) = py.detach(move || {
            let received = receiver.recv_timeout(Duration::from_millis(50));
            (receiver, received)
        });
        receiver = back;
        if let Some(callback) = &progress {
            let now = (watch.done.load(Ordering::Relaxed), watch.total.load(Ordering::Relaxed));
            if now != reported && now.1 > 0 {
                reported = now;
                callback.call1(py, now)?;
            }
        }
        match received {
            Ok(Ok(result)) => return result.map_err(|e| py_error(py, e)),
            Ok(Err(panic)) => return Err(panic_error(py, panic)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(PyOSError::new_err("the computation ended without a result")),
        }
    }
}

/// Computes a map in memory (`basinmap run` without writing); `refine`: by refinement
/// (`--refine`), with the coarse spacing `refine_spacing` (`None`: the automatic one).
#[pyfunction]
#[pyo3(signature = (base, source, flags, progress=None, refine=false, refine_spacing=None))]
fn run_map(py: Python<'_>, base: &str, source: Option<&str>, flags: Vec<String>, progress: Option<Py<PyAny>>, refine: bool, refine_spacing: Option<usize>) -> PyResult<NativeMap> {
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    let options = run::RunOptions { refine, refine_spacing, ..Default::default() };
    in_background(py, progress, None, move |watch| run::compute_with(&scenario, watch, &options)).map(|map| NativeMap { map })
}

fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| PyOSError::new_err(e.to_string()))
}

/// `basinmap sweep` into `out`: transitions.json's record as JSON.
#[pyfunction]
#[pyo3(signature = (base, source, flags, out, order, refine, hysteresis, progress=None))]
#[allow(clippy::too_many_arguments)]
fn sweep_run(py: Python<'_>, base: &str, source: Option<&str>, flags: Vec<String>, out: PathBuf, order: Option<String>, refine: u32, hysteresis: bool, progress: Option<Py<PyAny>>) -> PyResult<String> {
    use basinmap::analysis::execute::{sweep, SweepOptions};
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    let options = SweepOptions { order, refine, hysteresis };
    let report = in_background(py, progress, Some(out.clone()), move |watch| sweep(&scenario, &options, &out, watch))?;
    json(&report)
}

/// `basinmap kramers` into `out`: kramers.json's record as JSON.
#[pyfunction]
#[pyo3(signature = (base, source, flags, out, temperatures, progress=None))]
fn kramers_run(py: Python<'_>, base: &str, source: Option<&str>, flags: Vec<String>, out: PathBuf, temperatures: Vec<f64>, progress: Option<Py<PyAny>>) -> PyResult<String> {
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    let report = in_background(py, progress, Some(out.clone()), move |watch| basinmap::analysis::execute::kramers(&scenario, &temperatures, &out, watch))?;
    json(&report)
}

/// One recorded trajectory: its label, how it ended, the step of each record and the records
/// (one row per record: the observables, then the field's norm).
type TracedRow<'py> = (String, String, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// `basinmap trace` into `out`: the columns, each trajectory's records, and the files written.
#[pyfunction]
#[pyo3(signature = (base, source, flags, out, every=None))]
fn trace_run<'py>(py: Python<'py>, base: &str, source: Option<&str>, flags: Vec<String>, out: PathBuf, every: Option<u32>) -> PyResult<(Vec<String>, Vec<TracedRow<'py>>, Vec<String>)> {
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    let (trace, files) = in_background(py, None, Some(out.clone()), move |_| basinmap::trace::run(&scenario, every, &out))?;
    let width = trace.columns.len();
    let rows = trace
        .trajectories
        .into_iter()
        .map(|t| {
            let records = t.values.len();
            let values: Vec<f32> = t.values.into_iter().flatten().collect();
            Ok((t.label, format!("{:?}", t.status).to_lowercase(), t.steps.into_pyarray(py).into_any(), values.into_pyarray(py).reshape([records, width])?.into_any()))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((trace.columns, rows, files))
}

/// The coordinates of a landscape's dimensions: (name, values) of y (if any), then x.
type Axes<'py> = Vec<(String, Bound<'py, PyAny>)>;

/// `basinmap landscape` into `out`: the loss at every grid point, (ny, nx), the axes'
/// coordinates and the files written.
#[pyfunction]
fn landscape_run<'py>(py: Python<'py>, base: &str, source: Option<&str>, flags: Vec<String>, out: PathBuf) -> PyResult<(Bound<'py, PyAny>, Axes<'py>, Vec<String>)> {
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    let (land, axes, files) = in_background(py, None, Some(out.clone()), move |_| basinmap::landscape::run(&scenario, &out).map(|(plan, land, files)| (land, plan.axes_arrays(), files)))?;
    let (nx, ny) = (land.nx, land.ny);
    let axes = axes.into_iter().map(|(name, values)| (name, values.into_pyarray(py).into_any())).collect();
    Ok((land.loss.into_pyarray(py).reshape([ny, nx])?.into_any(), axes, files))
}

/// `basinmap run --shard K/N` into `out`: shard.json's record as JSON.
#[pyfunction]
#[pyo3(signature = (base, source, flags, k, n, out, progress=None))]
#[allow(clippy::too_many_arguments)]
fn shard_run(py: Python<'_>, base: &str, source: Option<&str>, flags: Vec<String>, k: usize, n: usize, out: PathBuf, progress: Option<Py<PyAny>>) -> PyResult<String> {
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    let info = in_background(py, progress, Some(out.clone()), move |watch| basinmap::shard::run_shard(&scenario, k, n, &out, watch, false))?;
    json(&info)
}

/// `basinmap merge` of the shards' directories into `out`: run.json's record as JSON.
#[pyfunction]
fn merge_run(py: Python<'_>, shards: Vec<PathBuf>, out: PathBuf) -> PyResult<String> {
    let report = in_background(py, None, Some(out.clone()), move |_| basinmap::shard::merge(&shards, &out))?;
    json(&report)
}

/// `basinmap measure` on labels given as numbers: `values` flat (C order) of `shape` (ny, nx)
/// or (ny, nx, samples; each point's majority label is measured). Boundary measures as JSON.
#[pyfunction]
#[pyo3(signature = (values, shape, entropy_box, fit_range=None))]
fn measure_values(py: Python<'_>, values: numpy::PyReadonlyArray1<'_, f64>, shape: Vec<usize>, entropy_box: usize, fit_range: Option<(usize, usize)>) -> PyResult<String> {
    let values = values.as_slice().map_err(|e| PyOSError::new_err(e.to_string()))?;
    let m = unlocked(py, || basinmap::analysis::boundary::measure_values(values, &shape, entropy_box, fit_range.map(|(a, b)| [a, b])))?;
    json(&m)
}

/// `basinmap orbit` into `out`: the x values, the kept values (x, start, kept step), each
/// trajectory's period (0: none found; diverged runs too), their exponents (with `lyapunov`),
/// the period changes as JSON, and the files written.
#[pyfunction]
#[pyo3(signature = (base, source, flags, out, keep, max_period, variable, period_tol))]
#[allow(clippy::too_many_arguments)]
fn orbit_run<'py>(py: Python<'py>, base: &str, source: Option<&str>, flags: Vec<String>, out: PathBuf, keep: u32, max_period: u32, variable: Option<String>, period_tol: Option<f64>) -> PyResult<OrbitResult<'py>> {
    use basinmap::analysis::orbit::{run, OrbitOptions};
    let scenario = unlocked(py, || scenario_of(base, source, &flags))?;
    // The exponents where the scenario asks for them (lyapunov=True is its --lyapunov).
    let options = OrbitOptions { keep, max_period, variable, lyapunov: false, period_tol };
    let (plan, orbit, files) = in_background(py, None, Some(out.clone()), move |_| run(&scenario, &options, &out))?;
    let (nx, starts, kept) = (orbit.x.len(), orbit.starts, orbit.keep);
    let changes: Vec<_> = orbit
        .changes
        .iter()
        .map(|c| serde_json::json!({ "start": c.start, "from": c.from.describe(), "to": c.to.describe(), "change": c.describe(), "at": c.at(), "low": c.low, "high": c.high, "refined": c.refined, "marked": c.is_marked() }))
        .collect();
    let periods: Vec<u32> = orbit.behaviour.iter().map(|b| b.period()).collect();
    let diverged: Vec<bool> = orbit.behaviour.iter().map(|b| matches!(b, basinmap::analysis::orbit::Behaviour::Diverged)).collect();
    Ok((
        plan.x.name.clone(),
        orbit.x.into_pyarray(py).into_any(),
        orbit.variable,
        orbit.values.into_pyarray(py).reshape([nx, starts, kept])?.into_any(),
        periods.into_pyarray(py).reshape([nx, starts])?.into_any(),
        diverged.into_pyarray(py).reshape([nx, starts])?.into_any(),
        orbit.lyapunov.map(|l| l.into_pyarray(py).reshape([nx, starts])).transpose()?.map(|a| a.into_any()),
        json(&changes)?,
        files,
    ))
}

/// What [`orbit_run`] gives: the axis' name and values, the drawn variable, the kept values,
/// periods, which diverged, exponents, the period changes (JSON) and the files.
type OrbitResult<'py> = (String, Bound<'py, PyAny>, String, Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>, String, Vec<String>);

/// `basinmap bench`: each workload on each engine (default: the CPU engine, and the GPU engine
/// when wgpu finds a hardware GPU); the results as JSON.
#[pyfunction]
#[pyo3(signature = (workloads, engines=None, size=None, repeats=3))]
fn bench_run(py: Python<'_>, workloads: Vec<String>, engines: Option<Vec<String>>, size: Option<usize>, repeats: usize) -> PyResult<String> {
    use basinmap::bench::{BenchOptions, Workload};
    use clap::ValueEnum;
    let workloads = workloads
        .iter()
        .map(|w| Workload::from_str(w, true).map_err(|_| basinmap::Error::input(format!("unknown workload '{w}'"))))
        .collect::<basinmap::Result<Vec<_>>>()
        .map_err(|e| py_error(py, e))?;
    if size == Some(0) || repeats == 0 {
        return Err(py_error(py, basinmap::Error::input("size and repeats must be at least 1")));
    }
    let engines = engines.unwrap_or_else(basinmap::bench::default_engines);
    let options = BenchOptions { workloads, engines, size, repeats };
    let results = in_background(py, None, None, move |_| basinmap::bench::run(&options, &mut |_| {}))?;
    json(&results)
}

/// A labelled map held in memory (the Python `Map` wraps it).
#[pyclass(frozen, module = "basinmap._native")]
struct NativeMap {
    map: LabelledMap,
}

impl NativeMap {
    /// [`NativeMap::arrays`]: each array made and handed to numpy (without a copy) before the next.
    fn arrays_of<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        let mut arrays = Vec::new();
        let mut failed = None;
        let _ = self.map.for_each_array(|a| {
            let shape = a.shape.clone();
            let array = match a.values {
                Values::I32(v) => v.into_pyarray(py).reshape(shape).map(|a| a.into_any()),
                Values::U32(v) => v.into_pyarray(py).reshape(shape).map(|a| a.into_any()),
                Values::F32(v) => v.into_pyarray(py).reshape(shape).map(|a| a.into_any()),
            };
            match array {
                Ok(array) => arrays.push((a.name, array)),
                Err(e) => failed = failed.take().or(Some(e)),
            }
            Ok(())
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(arrays),
        }
    }
}

#[pymethods]
impl NativeMap {
    /// Every array of the map's .npy files, in their order: (name, array) pairs. Each is made
    /// and handed to numpy (without a copy) before the next.
    fn arrays<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        guarded(py, || self.arrays_of(py))
    }

    /// The axes' coordinates, as axes.npz holds them: (name, float64 array) pairs.
    fn axes<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyAny>)> {
        self.map.plan.axes_arrays().into_iter().map(|(name, values)| (name, values.into_pyarray(py).into_any())).collect()
    }

    /// run.json's record (its files list empty until the map is saved).
    fn report_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.map.report).map_err(|e| PyOSError::new_err(e.to_string()))
    }

    /// attractors.csv's text.
    fn attractors_csv(&self) -> String {
        self.map.attractors_csv()
    }

    /// The raw basin image as basins.png holds it (one pixel per grid point, y upward), as an
    /// (ny, nx, 3) uint8 array; `None` for sampled starts.
    fn basin_rgb<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guarded(py, || {
            let Some(img) = self.map.basin_image() else { return Ok(None) };
            let (w, h) = (img.width() as usize, img.height() as usize);
            Ok(Some(img.into_raw().into_pyarray(py).reshape([h, w, 3])?.into_any()))
        })
    }

    /// A training map's trainability image as trainability.png holds it ((ny, nx, 3) uint8,
    /// y upward) with its legend, the CLI's: (colour as #rrggbb, text) for trained, did not
    /// train, and the oscillating and chaotic runs where any are found; `None` for other maps.
    fn trainability_rgb<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyAny>, Vec<(String, String)>)>> {
        guarded(py, || {
            let Some(img) = self.map.trainability_image() else { return Ok(None) };
            let hex = |c: [u8; 3]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
            let legend = basinmap::render::trainability::legend(&self.map.outcomes.status).into_iter().map(|(colour, text)| (hex(colour), text)).collect();
            let (w, h) = (img.width() as usize, img.height() as usize);
            Ok(Some((img.into_raw().into_pyarray(py).reshape([h, w, 3])?.into_any(), legend)))
        })
    }

    /// basins.png's bytes (the file's, byte for byte), for a notebook's display; `None` for
    /// sampled starts.
    fn basins_png<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        guarded(py, || {
            let Some(img) = self.map.basin_image() else { return Ok(None) };
            // Encoded as basins.png is, so the bytes are the file's.
            let bytes = basinmap::render::pyramid::png_bytes(&img).map_err(|e| PyOSError::new_err(e.to_string()))?;
            Ok(Some(PyBytes::new(py, &bytes)))
        })
    }

    /// Writes every file `basinmap run` writes to `dir`; returns their names.
    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<Vec<String>> {
        unlocked(py, || basinmap::io::OutputDir::prepare(&dir).and_then(|d| self.map.write(&d))).map(|report| report.files)
    }
}

/// The built-in systems as JSON: name, summary, formula, state, parameters, observables and
/// default axes of each (what `basinmap systems` prints).
#[pyfunction]
fn systems_json(py: Python<'_>) -> PyResult<String> {
    guarded(py, || systems_text(py))
}

fn systems_text(py: Python<'_>) -> PyResult<String> {
    let mut all = Vec::new();
    for name in System::BUILT_IN {
        let system = System::by_name(name).map_err(|e| py_error(py, e))?;
        let s = system.spec();
        let params: Vec<_> = s
            .params
            .iter()
            .map(|p| {
                let default = match &p.default {
                    ParamDefault::Scalar(v) => serde_json::json!(v),
                    ParamDefault::Vector(v) => serde_json::json!(v),
                };
                serde_json::json!({ "name": p.name, "default": default, "doc": p.doc, "integer": p.integer })
            })
            .collect();
        all.push(serde_json::json!({
            "name": s.name,
            "summary": s.summary,
            "formula": s.formula,
            "state": s.state.iter().map(|v| serde_json::json!({ "name": v.name, "default": v.default, "doc": v.doc })).collect::<Vec<_>>(),
            "params": params,
            "observables": s.observables.iter().map(|o| serde_json::json!({ "name": o.name, "doc": o.doc })).collect::<Vec<_>>(),
            "default_axes": [s.default_axes.0, s.default_axes.1],
        }));
    }
    serde_json::to_string(&all).map_err(|e| PyOSError::new_err(e.to_string()))
}

/// The command line itself (`basinmap` installed by pip): `argv` with the program's name first;
/// returns the exit code.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<String>) -> PyResult<i32> {
    unlocked(py, || Ok(basinmap::cli::main(argv)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The CPU engine's worker pool, named for what it is (in `top`, a profiler, a test): its
    // threads would otherwise take the name of the work thread that first used it.
    let _ = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("basinmap-pool-{i}")).build_global();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<NativeMap>()?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(prepare_output, m)?)?;
    m.add_function(wrap_pyfunction!(run_map, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_run, m)?)?;
    m.add_function(wrap_pyfunction!(kramers_run, m)?)?;
    m.add_function(wrap_pyfunction!(trace_run, m)?)?;
    m.add_function(wrap_pyfunction!(landscape_run, m)?)?;
    m.add_function(wrap_pyfunction!(shard_run, m)?)?;
    m.add_function(wrap_pyfunction!(merge_run, m)?)?;
    m.add_function(wrap_pyfunction!(measure_values, m)?)?;
    m.add_function(wrap_pyfunction!(orbit_run, m)?)?;
    m.add_function(wrap_pyfunction!(bench_run, m)?)?;
    m.add_function(wrap_pyfunction!(systems_json, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    Ok(())
}
