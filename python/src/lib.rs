//! `basinmap._native`: the Rust side of the Python package `basinmap` (python/basinmap/).
//!
//! Each function calls the library as the command line does: a scenario is the library's
//! [`Overrides`] applied to a base, so a keyword is its flag; a map is [`run::compute`]'s
//! [`LabelledMap`], whose arrays go to numpy without a copy and whose files [`LabelledMap::write`]
//! writes as `basinmap run` does. The interpreter lock is released while the library works.

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
    scenario_of(base, source, &flags).map(|s| s.to_toml()).map_err(|e| py_error(py, e))
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
}

/// Computes a map in memory. The work runs on its own thread while the caller waits without
/// the interpreter lock, waking every 50 ms to report progress (`progress(done, total)`) and
/// to let Ctrl-C raise `KeyboardInterrupt` at once (the abandoned computation writes nothing).
#[pyfunction]
#[pyo3(signature = (base, source, flags, progress=None))]
fn run_map(py: Python<'_>, base: &str, source: Option<&str>, flags: Vec<String>, progress: Option<Py<PyAny>>) -> PyResult<NativeMap> {
    let scenario = scenario_of(base, source, &flags).map_err(|e| py_error(py, e))?;
    let watch = Arc::new(Watch::default());
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker = Arc::clone(&watch);
    std::thread::Builder::new()
        .name("basinmap-run".into())
        .spawn(move || {
            let _ = sender.send(run::compute(&scenario, worker.as_ref()));
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
            Ok(result) => return result.map(|map| NativeMap { map }).map_err(|e| py_error(py, e)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    watch.stop.store(true, Ordering::Relaxed);
                    return Err(interrupt);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(PyOSError::new_err("the computation ended without a result")),
        }
    }
}

/// A labelled map held in memory (the Python `Map` wraps it).
#[pyclass(frozen, module = "basinmap._native")]
struct NativeMap {
    map: LabelledMap,
}

#[pymethods]
impl NativeMap {
    /// Every array of the map's .npy files, in their order: (name, array) pairs.
    fn arrays<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        self.map
            .arrays()
            .into_iter()
            .map(|a| {
                let shape = a.shape.clone();
                let array = match a.values {
                    Values::I32(v) => v.into_pyarray(py).reshape(shape)?.into_any(),
                    Values::U32(v) => v.into_pyarray(py).reshape(shape)?.into_any(),
                    Values::F32(v) => v.into_pyarray(py).reshape(shape)?.into_any(),
                };
                Ok((a.name, array))
            })
            .collect()
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
        let Some(img) = self.map.basin_image() else { return Ok(None) };
        let (w, h) = (img.width() as usize, img.height() as usize);
        Ok(Some(img.into_raw().into_pyarray(py).reshape([h, w, 3])?.into_any()))
    }

    /// basins.png's bytes, for a notebook's display; `None` for sampled starts.
    fn basins_png<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let Some(img) = self.map.basin_image() else { return Ok(None) };
        let mut bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(Some(PyBytes::new(py, &bytes)))
    }

    /// Writes every file `basinmap run` writes to `dir`; returns their names.
    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<Vec<String>> {
        py.detach(|| basinmap::io::OutputDir::prepare(&dir).and_then(|d| self.map.write(&d)))
            .map(|report| report.files)
            .map_err(|e| py_error(py, e))
    }
}

/// The built-in systems as JSON: name, summary, formula, state, parameters, observables and
/// default axes of each (what `basinmap systems` prints).
#[pyfunction]
fn systems_json(py: Python<'_>) -> PyResult<String> {
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
fn cli(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| basinmap::cli::main(argv))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<NativeMap>()?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(run_map, m)?)?;
    m.add_function(wrap_pyfunction!(systems_json, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    Ok(())
}
