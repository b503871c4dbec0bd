//! `basinmap sweep` from scenario to files: sweep.csv, transitions.json, hysteresis.csv and the
//! figure sweep.png / .svg / .pdf.

use super::fixed_points::Quantities;
use super::hysteresis::{self, BranchPoint, Hysteresis};
use super::sweep::{self, Sweep, SweepSummary};
use super::bifurcations::{self, KindChange};
use super::transitions::{self, Transition};
use crate::engine::{self, EngineInfo};
use crate::io::OutputDir;
use crate::plan::Plan;
use crate::render::curves::{self, Figure, Marker, Panel, Series};
use crate::render::scan::edge_series;
use crate::scenario::Scenario;
use crate::{Error, Result};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Options of `basinmap sweep`.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The observable that is the order parameter (default: b or m).
    pub order: Option<String>,
    /// Bisection steps for each critical value and spinodal.
    pub refine: u32,
    /// Follow the branches up and down (adiabatic continuation).
    pub hysteresis: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions { order: None, refine: 30, hysteresis: true }
    }
}

/// What transitions.json holds.
#[derive(Clone, Debug, Serialize)]
pub struct SweepReport {
    pub basinmap: &'static str,
    pub scenario: Scenario,
    pub engine: EngineInfo,
    pub sweep: SweepSummary,
    pub transitions: Vec<Transition>,
    /// Where the kinds of attractor reached change (a cycle's birth, chaos setting in).
    pub kind_changes: Vec<KindChange>,
    pub hysteresis: Option<Hysteresis>,
    /// Wall-clock seconds: the engine run, locating fixed points, transitions, hysteresis.
    pub seconds: [f64; 4],
    pub files: Vec<String>,
}

/// Runs the sweep of `scenario` and writes its files to `out`.
pub fn sweep(scenario: &Scenario, options: &SweepOptions, out: &Path, observer: &dyn crate::report::Observer) -> Result<SweepReport> {
    scenario.require_grid("sweep")?;
    let mut plan = Plan::new(scenario)?;
    sweep::check(&plan)?;
    // A sweep's outputs hold no Lyapunov exponents: none are computed at each value.
    plan.classify.lyapunov = false;
    let dir = OutputDir::prepare(out)?;
    let engine = engine::select_for(&plan)?;
    let info = engine.info();
    observer.engine(&info);

    let a = analyse(&plan, engine.as_ref(), options, observer)?;
    let Analysis { sweep, transitions, kind_changes, hysteresis: hyst, up, down, seconds } = a;
    let mut files = Vec::new();
    dir.write_bytes("sweep.csv", sweep::csv(&sweep).as_bytes())?;
    files.push("sweep.csv".to_string());
    if sweep.points.iter().any(|p| !p.orbits.is_empty()) {
        dir.write_bytes("sweep_orbits.csv", sweep::orbits_csv(&sweep).as_bytes())?;
        files.push("sweep_orbits.csv".to_string());
    }
    if !up.is_empty() {
        dir.write_bytes("hysteresis.csv", hysteresis::csv(&sweep.parameter, &sweep.quantities, &up, &down).as_bytes())?;
        files.push("hysteresis.csv".to_string());
    }
    let title = plan.figure.title.clone().unwrap_or_else(|| format!("{}: sweep of {}", plan.system.spec().name, crate::render::names::axis(&plan.x)));
    let fig = figure(&plan, &sweep, &transitions, &kind_changes, hyst.as_ref(), &up, &down, title);
    files.extend(curves::write(&dir, "sweep", &fig, (1000, 220 * fig.panels.len() as u32 + 60), &plan.figure)?);
    files.push("transitions.json".to_string());
    let report = SweepReport {
        basinmap: env!("CARGO_PKG_VERSION"),
        scenario: scenario.clone(),
        engine: info,
        sweep: SweepSummary::of(&plan, &sweep),
        transitions,
        kind_changes,
        hysteresis: hyst,
        seconds,
        files,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    dir.write_bytes("transitions.json", json.as_bytes())?;
    Ok(report)
}

/// Everything a sweep finds, before it is written.
pub struct Analysis {
    pub sweep: Sweep,
    pub transitions: Vec<Transition>,
    pub kind_changes: Vec<KindChange>,
    pub hysteresis: Option<Hysteresis>,
    /// The branches followed upward and downward (empty without hysteresis).
    pub up: Vec<BranchPoint>,
    pub down: Vec<BranchPoint>,
    /// Wall-clock seconds: the engine run, locating fixed points, transitions, hysteresis.
    pub seconds: [f64; 4],
}

/// Runs the sweep `plan` on `engine` and analyses it: fixed points per value, transitions,
/// hysteresis.
pub fn analyse(plan: &Plan, engine: &dyn engine::Engine, options: &SweepOptions, observer: &dyn crate::report::Observer) -> Result<Analysis> {
    sweep::check(plan)?;
    let q = Quantities::of(plan, options.order.as_deref())?;
    let t0 = Instant::now();
    let outcomes = sweep::run_settled(plan, engine, observer)?;
    let t1 = Instant::now();
    let labels = crate::classify::label(plan, &outcomes).labels;
    let mut points = sweep::points_of(plan, &outcomes, Some(&labels), &q)?;
    let t2 = Instant::now();
    let (up, down, hysteresis) = if options.hysteresis {
        let (u, d, h) = hysteresis::analyse(plan, &q, &points, options.refine)?;
        sweep::add_branches(&mut points, &[&u, &d]);
        (u, d, Some(h))
    } else {
        (Vec::new(), Vec::new(), None)
    };
    let t3 = Instant::now();
    let transitions = transitions::analyse(plan, engine, &q, &points, options.refine)?;
    let kind_changes = bifurcations::analyse(plan, engine, &q, &points, options.refine)?;
    let t4 = Instant::now();
    let sweep = Sweep { parameter: plan.x.name.clone(), quantities: q, points, observed: plan.extra_observables().to_vec() };
    Ok(Analysis { sweep, transitions, kind_changes, hysteresis, up, down, seconds: [t1 - t0, t2 - t1, t4 - t3, t3 - t2].map(|d| d.as_secs_f64()) })
}

/// The sweep figure: L with every fixed point's loss, L', L'' and the order parameter (every
/// fixed point a dot coloured by attractor; the branches followed up and down as lines), with
/// the transitions and spinodals marked.
#[allow(clippy::too_many_arguments)]
pub fn figure(plan: &Plan, sweep: &Sweep, transitions: &[Transition], changes: &[KindChange], hyst: Option<&Hysteresis>, up: &[BranchPoint], down: &[BranchPoint], title: String) -> Figure {
    const LINE: [u8; 3] = [0x22, 0x22, 0x22];
    const UP: [u8; 3] = [0xD5, 0x5E, 0x00];
    const DOWN: [u8; 3] = [0x00, 0x72, 0xB2];
    let q = &sweep.quantities;
    use crate::render::{names::symbol, numbers::value};
    let line = |label: &str, colour, f: &dyn Fn(&super::sweep::SweepPoint) -> f64| Series::line(label, colour, sweep.points.iter().map(|p| (p.value, f(p))).collect());
    let stable_dots = |stable: bool, get: &dyn Fn(&crate::analysis::fixed_points::FixedPoint) -> f64| {
        Series::dots(
            if stable { "minima (flat ones too)" } else { "saddles and maxima" },
            if stable { [0x00, 0x9E, 0x73] } else { [0xCC, 0x79, 0xA7] },
            sweep.points.iter().flat_map(|p| p.fixed_points.iter().filter(|f| f.point.may_be_stable() == stable).map(move |f| (p.value, get(&f.point)))).collect(),
        )
    };
    let mut order_panel = vec![stable_dots(true, &|f| f.order), stable_dots(false, &|f| f.order)];
    // Past a minimum's edge of stability: every point of each cycle reached (a bifurcation
    // diagram of what the starts settle on) and the middle of each chaotic attractor.
    let orbit_dots = |chaotic: bool| {
        Series::dots(
            if chaotic { "chaotic (middle of its range)" } else { "cycles (each point)" },
            if chaotic { [0xE6, 0x9F, 0x00] } else { [0x56, 0xB4, 0xE9] },
            sweep
                .points
                .iter()
                .flat_map(|p| p.orbits.iter().filter(|o| (o.kind == crate::classify::Kind::Chaotic) == chaotic).flat_map(move |o| if o.orbit.is_empty() { vec![o.order] } else { o.orbit.clone() }).map(move |v| (p.value, v)))
                .collect(),
        )
    };
    order_panel.extend([orbit_dots(false), orbit_dots(true)]);
    if !up.is_empty() {
        // A followed branch jumps where it ends (at a spinodal): no connector is drawn there.
        order_panel.push(Series::line("followed upward", UP, curves::break_jumps(&up.iter().map(|b| (b.value, b.point.order)).collect::<Vec<_>>(), 20.0, 0.05)));
        order_panel.push(Series::line("followed downward", DOWN, curves::break_jumps(&down.iter().map(|b| (b.value, b.point.order)).collect::<Vec<_>>(), 20.0, 0.05)));
    }
    let x_name = symbol(&plan.x.name);
    let mut markers: Vec<Marker> = transitions
        .iter()
        .map(|t| Marker { x: t.critical, label: format!("transition (order {}) at {x_name} = {}", t.order, value(t.critical)), colour: [0xD5, 0x00, 0x00], dashed: false })
        .collect();
    // Changes out of a fixed point or a cycle (a birth, a doubling, chaos setting in, a window
    // closing); those out of chaos (a window opening) stay in transitions.json, where they do
    // not crowd the figure.
    markers.extend(changes.iter().filter(|c| !c.before.iter().any(|k| k == "chaotic")).map(|c| Marker { x: c.critical, label: format!("{} at {x_name} = {}", c.change, value(c.critical)), colour: [0x55, 0x55, 0x55], dashed: true }));
    if let Some(h) = hyst {
        for (s, name, colour) in [(h.spinodal_down, "spinodal (down)", DOWN), (h.spinodal_up, "spinodal (up)", UP)] {
            if let Some(v) = s {
                markers.push(Marker { x: v, label: format!("{name} at {x_name} = {}", value(v)), colour, dashed: true });
            }
        }
    }
    // A difference quotient across a jump of L or L' is a spike of height jump/spacing that says
    // nothing more than the marker does and would flatten the rest of the panel: left out.
    let spacing = |v: f64| sweep.points.windows(2).find(|w| w[1].value >= v).map_or(0.0, |w| (w[1].value - w[0].value).abs());
    let near_jump = |v: f64, below: u8| transitions.iter().any(|t| t.order < below && (v - t.critical).abs() <= 3.01 * spacing(t.critical));
    let mut panels = vec![Panel {
        y_label: "loss".into(),
        log_y: false,
        series: vec![
            stable_dots(true, &|f| f.loss),
            stable_dots(false, &|f| f.loss),
            line("L, the lowest loss", LINE, &|p| p.loss),
            // What training reaches where it cannot settle: the loss averaged around each cycle.
            Series::dots("cycles (loss averaged around each)", [0x56, 0xB4, 0xE9], sweep.points.iter().flat_map(|p| p.orbits.iter().map(move |o| (p.value, o.mean_loss))).collect()),
        ],
    }];
    // L′ and L″ where the axis moves the minima; over lr, dt or momentum L is piecewise constant
    // (it only jumps where a minimum stops being reachable) and they would plot rounding.
    if plan.moves_fixed_points(&plan.x) {
        // A jump of L′ (first order) or L″ (second) is a break in its line, not a connector.
        let broken = |mut s: Series| {
            s.points = curves::break_jumps(&s.points, 20.0, 0.25);
            s
        };
        panels.push(Panel { y_label: format!("L′ = dL/d{x_name}"), log_y: false, series: vec![broken(line("", LINE, &|p| if near_jump(p.value, 1) { f64::NAN } else { p.d1 }))] });
        panels.push(Panel { y_label: format!("L″ = d²L/d{x_name}²"), log_y: false, series: vec![broken(line("", LINE, &|p| if near_jump(p.value, 2) { f64::NAN } else { p.d2 }))] });
    }
    panels.push(Panel { y_label: symbol(&q.order_name), log_y: false, series: order_panel });
    // A sweep over a setting of the step rule (lr, dt, momentum): the minima's sharpness against
    // the edge of stability, above which a minimum is not a stable fixed point of the steps.
    // With --observe sharpness, the sharpness every start ended at, wherever the steps took it
    // (past the edge they do not settle at a minimum): one panel per sharpness observable.
    let ends = |k: usize| Series::dots("end of training (each start)", [0x99, 0x99, 0x99], sweep.points.iter().flat_map(|p| p.ends.get(k).into_iter().flatten().map(move |&v| (p.value, v))).collect());
    let varies_step = plan.varies_settings();
    if !sweep.observed.is_empty() || (varies_step && sweep.points.iter().any(|p| p.threshold.is_finite())) {
        let mut series = Vec::new();
        if sweep.observed.first() == Some(&"sharpness") {
            series.push(ends(0));
        }
        series.extend([stable_dots(true, &|f| f.sharpness), stable_dots(false, &|f| f.sharpness)]);
        series.extend(edge_series(plan, "sharpness"));
        panels.push(Panel { y_label: "sharpness λmax".into(), log_y: plan.x.log && varies_step, series });
    }
    if sweep.observed.contains(&"sharpness_pre") {
        let series = [Some(ends(1)), edge_series(plan, "sharpness_pre")].into_iter().flatten().collect();
        panels.push(Panel { y_label: "preconditioned sharpness".into(), log_y: plan.x.log && varies_step, series });
    }
    // Where no start settled (training at fixed steps, or past the edge) the fixed-point panels
    // would be empty frames: only the observed sharpness is drawn then.
    let settled = sweep.points.iter().any(|p| !p.fixed_points.is_empty() || !p.orbits.is_empty()) || !up.is_empty();
    if !settled && !sweep.observed.is_empty() {
        panels.retain(|p| p.y_label.contains("sharpness"));
    }
    for p in &mut panels {
        p.series.retain(|s| s.points.iter().any(|q| q.1.is_finite()));
    }
    let mut fig = Figure::new(title, crate::render::names::axis(&plan.x), plan.x.log, panels);
    fig.markers = markers;
    fig
}

/// What kramers.json holds.
#[derive(Clone, Debug, Serialize)]
pub struct KramersReport {
    pub basinmap: &'static str,
    pub scenario: Scenario,
    pub engine: EngineInfo,
    /// One noise run per temperature.
    pub runs: Vec<crate::analysis::escape::EscapeStats>,
    pub fit: crate::analysis::escape::KramersFit,
    pub seconds: f64,
    pub files: Vec<String>,
}

/// `basinmap kramers`: the scenario's trajectories run under Langevin noise at each temperature
/// until they escape (radius `escape` of its dynamics), then ln(mean escape time) is fitted
/// against 1/T. Writes kramers.csv, kramers.json, kramers.png/svg/pdf and escape_times.png/svg/pdf.
pub fn kramers(scenario: &Scenario, temperatures: &[f64], out: &Path, observer: &dyn crate::report::Observer) -> Result<KramersReport> {
    use crate::analysis::escape::{escape_times, fit, survival, true_barrier};
    scenario.require_grid("kramers")?;
    if scenario.dynamics.escape <= 0.0 {
        return Err(Error::input("kramers: give the escape radius (--escape R, or escape = R under [dynamics]): a trajectory farther than R from its start has left its basin"));
    }
    if temperatures.len() < 2 || temperatures.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
        return Err(Error::input("kramers: --temperatures needs two or more temperatures > 0"));
    }
    let t0 = Instant::now();
    let at = |t: f64| Scenario { dynamics: crate::dynamics::Dynamics { temperature: t, ..scenario.dynamics.clone() }, ..scenario.clone() };
    let base = Plan::new(&at(temperatures[0]))?;
    let dir = OutputDir::prepare(out)?;
    let engine = engine::select_for(&base)?;
    let info = engine.info();
    observer.engine(&info);
    let mut runs = Vec::new();
    let mut curves = Vec::new();
    for &t in temperatures {
        let plan = Plan::new(&at(t))?;
        let outcomes = engine::run_in_tiles(engine.as_ref(), &plan, engine::stop_tile(&info, observer.stops_mid_run()), &|d, n| observer.progress(d, n), &|| observer.should_stop())?;
        let (times, stats) = escape_times(&plan, &outcomes);
        curves.push((t, survival(&times)));
        runs.push(stats);
    }
    let mut fitted = fit(&runs)?;
    fitted.true_barrier = true_barrier(&base)?;

    let mut csv = String::from("temperature,inverse_temperature,trajectories,escaped,censored,mean_time,mean_time_stderr,mean_time_escaped,median_time_escaped\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in &runs {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.temperature,
            1.0 / r.temperature,
            r.trajectories,
            r.escaped,
            r.censored,
            opt(r.mean),
            opt(r.mean_stderr),
            opt(r.mean_escaped),
            opt(r.median_escaped)
        ));
    }
    dir.write_bytes("kramers.csv", csv.as_bytes())?;
    let mut files = vec!["kramers.csv".to_string()];
    let name = base.system.spec().name.to_string();
    let title = base.figure.title.clone().unwrap_or_else(|| format!("{name}: escape times under noise"));
    let inv: Vec<f64> = runs.iter().map(|r| 1.0 / r.temperature).collect();
    let (lo, hi) = inv.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let mut barrier_label = format!("fit: barrier {}", crate::render::numbers::with_error(fitted.barrier, fitted.barrier_stderr));
    if let Some(b) = fitted.true_barrier {
        barrier_label += &format!(" (landscape: {})", crate::render::numbers::value(b));
    }
    // ln τ with its standard error (δ ln τ = δτ / τ) at each 1/T, the fitted line under them.
    let measured: Vec<(f64, f64, f64)> = runs.iter().filter_map(|r| r.mean.map(|m| (1.0 / r.temperature, m.ln(), r.mean_stderr.map_or(0.0, |e| e / m)))).collect();
    let mut points = Series::dots("mean escape time (censoring included), ± its standard error", [0x00, 0x72, 0xB2], measured.iter().map(|&(x, y, _)| (x, y)).collect());
    points.errors = measured.iter().map(|p| p.2).collect();
    let fit_line = Series::line(barrier_label, [0xD5, 0x5E, 0x00], [lo, hi].iter().map(|&x| (x, fitted.prefactor.ln() + fitted.barrier * x)).collect());
    let arrhenius = Figure::new(format!("{title}: Arrhenius plot"), "1/T", false, vec![Panel { y_label: "ln(mean escape time)".into(), log_y: false, series: vec![fit_line, points] }]);
    files.extend(curves::write(&dir, "kramers", &arrhenius, (900, 560), &base.figure)?);
    // One survival curve per temperature, coloured along the colour map (a bar of T).
    use crate::render::side::ColourBar;
    let bar = ColourBar::spanning("T", temperatures.iter().copied(), false, base.figure.colour_map);
    let series = curves.into_iter().map(|(t, pts)| Series::line(String::new(), bar.as_ref().map_or([0, 0, 0], |b| b.colour_of(t)), pts)).collect();
    let mut survival_fig = Figure::new(format!("{title}: share still inside"), "time (steps × η)", false, vec![Panel { y_label: "share not yet escaped".into(), log_y: true, series }]);
    survival_fig.family = bar;
    files.extend(curves::write(&dir, "escape_times", &survival_fig, (900, 560), &base.figure)?);
    files.push("kramers.json".to_string());
    let report = KramersReport { basinmap: env!("CARGO_PKG_VERSION"), scenario: scenario.clone(), engine: info, runs, fit: fitted, seconds: t0.elapsed().as_secs_f64(), files };
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    dir.write_bytes("kramers.json", json.as_bytes())?;
    Ok(report)
}
