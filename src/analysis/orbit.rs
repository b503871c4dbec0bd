//! `basinmap orbit`: the orbit (bifurcation) diagram over one parameter. Each trajectory of the
//! plan — one per value of the x axis (a parameter or a step setting such as lr) and start (the
//! y axis over a state variable, and samples) — takes the plan's step budget as a transient,
//! then `keep` steps more whose states are kept. From those:
//!
//! * the **period**: the smallest p ≤ `max_period` with |x(t+p) − x(t)| ≤ tol·(1 + |x(t)|)
//!   (max-norm over the whole state) for every kept t, and across the whole window, with a
//!   cycle's points more than 100 tolerances apart ([`crate::classify::cycles::period_of`]);
//!   1 for a trajectory the stop rule declared converged (for gd, at a point that does not repel
//!   the steps: a chaotic orbit passing slowly near an unstable fixed point steps on); none
//!   ("aperiodic": chaos, a longer
//!   cycle, a quasiperiodic or a slow orbit, one not settled yet) otherwise;
//! * with `lyapunov`, the largest finite-time **Lyapunov exponent** per step: a tangent vector
//!   carried along the orbit from the middle of the transient to its end by the step's
//!   Jacobian, each product a central difference of two f64 steps, (S(x + hu) − S(x − hu))/2h
//!   with h = 1e-7·(1 + |x|) (an error of order h², far below the estimate's own spread); at a
//!   fixed point the tangent is iterated there, giving ln of the step Jacobian's largest |eigenvalue|;
//! * **period changes**: where the behaviour of one start (its period, aperiodic, or diverged)
//!   differs between neighbouring values of x (a period and its double with up to two
//!   aperiodic values between them, which settled too slowly, count as one change), the value
//!   is bisected (the same start, the other
//!   parameters kept) until the bracket is below 1e-9 of the axis' span: period doublings
//!   (p → 2p), windows opening out of chaos (aperiodic → p) and the onset of divergence. Orbits
//!   settle ever more slowly as a bifurcation nears, so a probe that has not yet settled on
//!   either side is run again with a transient 4 and 16 times as long; where one still has not
//!   (a finer cascade, or a bifurcation closer than that resolves), the quarter points are
//!   probed instead, and the bisection ends when they do not narrow the bracket either.
//!
//! The trajectories are stepped on the host, in the plan's precision, exactly as the CPU engine
//! steps them (its [`Stepper`]), one per core at a time. A flow (rk4) has no map to iterate
//! here (its stroboscopic or Poincaré maps are not built yet), and is refused.

use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::Status;
use crate::io::{write_npy, OutputDir};
use crate::plan::Plan;
use crate::real::Real;
use crate::system::{Model, ModelVisitor};
use crate::{Error, Result};
use rayon::prelude::*;

/// Most kept values (trajectories × kept steps) one diagram holds: 2²⁶ f32, 256 MiB.
pub const MAX_VALUES: usize = 1 << 26;
/// Most kept steps per trajectory.
pub const MAX_KEEP: u32 = 1 << 20;
/// Most period changes refined by bisection (the first along x, over all starts); further
/// ones keep their grid bracket.
pub const MAX_REFINED: usize = 256;
/// Bisection steps per change, at most.
const BISECTIONS: u32 = 64;
/// Most aperiodic values of x between a period and its double read as one doubling.
const SLOW_POINTS: usize = 2;

/// What `basinmap orbit` computes besides the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct OrbitOptions {
    /// Steps kept after the transient, per trajectory.
    pub keep: u32,
    /// Longest period looked for.
    pub max_period: u32,
    /// The observable drawn (a state variable, the loss, …); `None`: the system's first.
    pub variable: Option<String>,
    /// The largest Lyapunov exponent along each kept orbit; [`run`] also draws it when the
    /// scenario asks (`--lyapunov`, `[classify] lyapunov = true`).
    pub lyapunov: bool,
    /// The relative tolerance of a return; `None`: 1e-5 in f32, 1e-9 in f64.
    pub period_tol: Option<f64>,
}

impl Default for OrbitOptions {
    fn default() -> Self {
        OrbitOptions { keep: 256, max_period: 64, variable: None, lyapunov: false, period_tol: None }
    }
}

/// Where a trajectory ends up, as the diagram tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Behaviour {
    /// Returns to itself after this many steps (1: a fixed point).
    Period(u32),
    /// Bounded, with no period up to the longest looked for.
    Aperiodic,
    /// Left the bound or went non-finite.
    Diverged,
}

impl Behaviour {
    /// The period, 0 where there is none.
    pub fn period(self) -> u32 {
        match self {
            Behaviour::Period(p) => p,
            _ => 0,
        }
    }
    pub fn describe(self) -> String {
        match self {
            Behaviour::Period(1) => "fixed point".into(),
            Behaviour::Period(p) => format!("period {p}"),
            Behaviour::Aperiodic => "aperiodic".into(),
            Behaviour::Diverged => "diverged".into(),
        }
    }
}

/// One trajectory's orbit.
#[derive(Clone, Debug)]
struct Run {
    behaviour: Behaviour,
    /// The kept values of the drawn observable (NaN once diverged).
    values: Vec<f32>,
    /// NaN where not computed or diverged.
    lyapunov: f64,
}

/// Where the behaviour of one start changes between two values of x.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodChange {
    /// The start (index within a value of x: y value × samples).
    pub start: usize,
    pub from: Behaviour,
    pub to: Behaviour,
    /// The bracket in x (from `low`'s side to `high`'s, in the axis' order).
    pub low: f64,
    pub high: f64,
    /// Bisected (else the grid's bracket).
    pub refined: bool,
}

impl PeriodChange {
    /// The bracket's middle: the change's estimate.
    pub fn at(&self) -> f64 {
        0.5 * (self.low + self.high)
    }
    /// A period doubling (either way along x).
    pub fn is_doubling(&self) -> bool {
        let (a, b) = (self.from.period(), self.to.period());
        a > 0 && b > 0 && (b == 2 * a || a == 2 * b)
    }
    /// What a reader is shown: period doublings, windows opening out of chaos, divergence.
    pub fn is_marked(&self) -> bool {
        self.is_doubling() || (self.from == Behaviour::Aperiodic && self.to.period() > 0 && self.to.period() <= 8) || (self.to == Behaviour::Diverged && self.from != Behaviour::Diverged)
    }
    pub fn describe(&self) -> String {
        match (self.from, self.to) {
            (Behaviour::Period(a), Behaviour::Period(b)) => format!("period {a} → {b}"),
            (Behaviour::Aperiodic, Behaviour::Period(b)) => format!("period {b} window opens"),
            (_, Behaviour::Diverged) => "divergence".into(),
            (a, b) => format!("{} → {}", a.describe(), b.describe()),
        }
    }
}

/// An orbit diagram's data.
#[derive(Clone, Debug)]
pub struct Orbit {
    /// The x axis' values.
    pub x: Vec<f64>,
    /// Trajectories per value of x.
    pub starts: usize,
    pub keep: usize,
    /// The drawn observable's name.
    pub variable: String,
    /// [x][start][kept step] of the drawn observable.
    pub values: Vec<f32>,
    /// [x][start].
    pub behaviour: Vec<Behaviour>,
    /// [x][start], per step; `None` without `lyapunov`.
    pub lyapunov: Option<Vec<f64>>,
    /// Along x, start by start.
    pub changes: Vec<PeriodChange>,
}

/// `basinmap orbit`: the orbit diagram of `scenario` (with the exponents along each kept orbit
/// where `options` or the scenario asks for them), written to `out`; returns the plan, the
/// diagram and the files' names.
pub fn run(scenario: &crate::scenario::Scenario, options: &OrbitOptions, out: &std::path::Path) -> Result<(Plan, Orbit, Vec<String>)> {
    scenario.require_grid("orbit")?;
    let options = OrbitOptions { lyapunov: options.lyapunov || scenario.classify.lyapunov, ..options.clone() };
    let mut scenario = scenario.clone();
    // orbit follows its own tangents (its checks say where it can).
    scenario.classify.lyapunov = false;
    let plan = Plan::new(&scenario)?;
    check(&plan, &options)?;
    let dir = OutputDir::prepare(out)?;
    let orbit = compute(&plan, &options)?;
    let files = write(&plan, &orbit, &dir)?;
    Ok((plan, orbit, files))
}

/// Checks `plan` and `options` for an orbit diagram; returns the drawn observable's index.
pub fn check(plan: &Plan, options: &OrbitOptions) -> Result<usize> {
    plan.require_grid("orbit")?;
    plan.require_autonomous("orbit")?;
    if plan.x.is_state {
        return Err(Error::input(format!("orbit: the x axis sets the start value {}; draw the orbits over a parameter or a setting (e.g. --x lr=0.1:0.6:400) and give the starts as y", plan.x.name)));
    }
    if let Some(y) = plan.y.as_ref().filter(|y| !y.is_state) {
        return Err(Error::input(format!("orbit: the diagram is over one parameter, x; y ({}) may only set the starts (a state variable)", y.name)));
    }
    if !plan.dynamics.method.uses_lr() {
        return Err(Error::input("orbit: rk4 integrates a flow; orbit diagrams iterate a map (gd or an optimizer)"));
    }
    if !plan.system.has_host_model() {
        return Err(Error::input("orbit: the orbits are stepped on the CPU, and a system written in WGSL has no CPU form; write it as a formula (--loss, --field)"));
    }
    if options.keep < 2 || options.keep > MAX_KEEP {
        return Err(Error::input(format!("orbit: --keep {} is outside 2..={MAX_KEEP}", options.keep)));
    }
    if options.max_period == 0 || options.max_period > options.keep / 2 {
        return Err(Error::input(format!("orbit: --max-period {} must be at least 1 and at most half of --keep ({})", options.max_period, options.keep)));
    }
    if let Some(t) = options.period_tol {
        if !(t.is_finite() && t > 0.0 && t < 1.0) {
            return Err(Error::input(format!("orbit: --period-tol {t} must be in (0, 1)")));
        }
    }
    let n = plan.n_trajectories();
    if n.saturating_mul(options.keep as usize) > MAX_VALUES {
        return Err(Error::input(format!(
            "orbit: {n} trajectories × --keep {} is {} values; at most {MAX_VALUES} (fewer x values, starts or kept steps)",
            options.keep,
            n as u128 * options.keep as u128
        )));
    }
    if options.lyapunov {
        if plan.dynamics.method.memory() != crate::dynamics::Memory::None {
            return Err(Error::input(format!("orbit: Lyapunov exponents (--lyapunov, or the scenario's [classify] lyapunov) follow the tangent of a memoryless step (gd); {} carries memory the tangent would have to follow too", plan.dynamics.method.as_str())));
        }
        if plan.dynamics.temperature > 0.0 || plan.system.draws() {
            return Err(Error::input("orbit: Lyapunov exponents (--lyapunov, or the scenario's [classify] lyapunov) need deterministic steps (no temperature, no minibatches)"));
        }
    }
    let names = plan.system.spec().observable_names();
    match &options.variable {
        None => Ok(0),
        Some(v) => names.iter().position(|n| n == v).ok_or_else(|| Error::input(format!("orbit: --variable {v}: the system's observables are {}", names.join(", ")))),
    }
}

/// Computes the orbit diagram of `plan`.
pub fn compute(plan: &Plan, options: &OrbitOptions) -> Result<Orbit> {
    let var = check(plan, options)?;
    let f64_run = plan.dynamics.precision == crate::dynamics::Precision::F64;
    let tol = options.period_tol.unwrap_or(if f64_run { 1e-9 } else { 1e-5 });
    struct All<'a>(&'a Plan, &'a OrbitOptions, usize, f64);
    impl ModelVisitor for All<'_> {
        type Output = Vec<Run>;
        fn visit<M: Model>(self, m: &M) -> Vec<Run> {
            let All(plan, options, var, tol) = self;
            (0..plan.n_trajectories()).into_par_iter().map(|i| run_in_precision(plan, m, i, options, var, tol)).collect()
        }
    }
    let runs = plan.system.visit(All(plan, options, var, tol))?;
    let nx = plan.nx();
    let starts = plan.n_trajectories() / nx;
    // Trajectory index of start s at x column ix (y fastest after x in the plan's order).
    let index = |ix: usize, s: usize| (s / plan.samples * nx + ix) * plan.samples + s % plan.samples;
    let keep = options.keep as usize;
    let mut values = vec![f32::NAN; plan.n_trajectories() * keep];
    let mut behaviour = Vec::with_capacity(plan.n_trajectories());
    let mut lyapunov = options.lyapunov.then(Vec::new);
    for ix in 0..nx {
        for s in 0..starts {
            let r = &runs[index(ix, s)];
            let at = (ix * starts + s) * keep;
            values[at..at + keep].copy_from_slice(&r.values);
            behaviour.push(r.behaviour);
            if let Some(l) = lyapunov.as_mut() {
                l.push(r.lyapunov);
            }
        }
    }
    let mut changes = Vec::new();
    for s in 0..starts {
        let at = |ix: usize| behaviour[ix * starts + s];
        let mut ix = 1;
        while ix < nx {
            let (a, b) = (at(ix - 1), at(ix));
            let mut to = ix;
            // A doubling whose neighbourhood settled too slowly for the transient shows as a
            // few aperiodic values between p and 2p: one change across them.
            if b == Behaviour::Aperiodic && a.period() > 0 {
                if let Some(j) = (ix + 1..(ix + 1 + SLOW_POINTS).min(nx)).find(|&j| at(j) != Behaviour::Aperiodic) {
                    let (p, q) = (a.period(), at(j).period());
                    if q > 0 && (q == 2 * p || p == 2 * q) {
                        to = j;
                    }
                }
            }
            if a != at(to) {
                changes.push((ix - 1, PeriodChange { start: s, from: a, to: at(to), low: plan.x.values[ix - 1], high: plan.x.values[to], refined: false }));
            }
            ix = to + 1;
        }
    }
    // The marked changes are bisected, in order along x, up to MAX_REFINED of them.
    changes.sort_by_key(|(ix, c)| (*ix, c.start));
    let span = (plan.x.values[0] - plan.x.values[nx - 1]).abs();
    let refine: Vec<usize> = (0..changes.len()).filter(|&k| changes[k].1.is_marked()).take(MAX_REFINED).collect();
    let refined: Vec<(usize, PeriodChange)> = refine
        .par_iter()
        .map(|&k| {
            let (ix, c) = &changes[k];
            bisect(&Probe { plan, options, var, tol }, index(*ix, c.start), *ix, c.clone(), span).map(|c| (k, c))
        })
        .collect::<Result<Vec<_>>>()?;
    for (k, c) in refined {
        changes[k].1 = c;
    }
    let variable = plan.system.spec().observable_names()[var].to_string();
    Ok(Orbit { x: plan.x.values.clone(), starts, keep, variable, values, behaviour, lyapunov, changes: changes.into_iter().map(|(_, c)| c).collect() })
}

/// What a bisection's probes run: the plan, the options, the drawn observable, the tolerance.
struct Probe<'a> {
    plan: &'a Plan,
    options: &'a OrbitOptions,
    var: usize,
    tol: f64,
}

/// Narrows `change` (trajectory `index`, at x column `ix`) by bisection in x.
fn bisect(context: &Probe, index: usize, ix: usize, mut change: PeriodChange, span: f64) -> Result<PeriodChange> {
    let Probe { plan, options, var, tol } = *context;
    let quiet = OrbitOptions { lyapunov: false, ..options.clone() };
    // The behaviour of the same trajectory (its start, the other parameters) with x at `q`.
    // Near a bifurcation orbits settle slowly (critical slowing down): a probe that is neither
    // side yet is run again with a transient 4 and 16 times as long before it counts.
    let mut probe = plan.clone();
    let mut settled = |q: f64, change: &PeriodChange| -> Result<Behaviour> {
        probe.x.values[ix] = q;
        let mut b = Behaviour::Aperiodic;
        for factor in [1, 4, 16] {
            probe.dynamics.steps = plan.dynamics.steps.saturating_mul(factor);
            b = probe.system.visit(One(&probe, index, &quiet, var, tol))?;
            if b == change.from || b == change.to {
                break;
            }
        }
        Ok(b)
    };
    // Moves the bracket's end to `q` where `q` shows that end's behaviour; whether it moved.
    let place = |change: &mut PeriodChange, q: f64, b: Behaviour| -> bool {
        let inside = (q - change.low) * (change.high - q) > 0.0;
        if inside && b == change.from {
            change.low = q;
        } else if inside && b == change.to {
            change.high = q;
        } else {
            return false;
        }
        change.refined = true;
        true
    };
    for _ in 0..BISECTIONS {
        if (change.high - change.low).abs() <= 1e-9 * span.max(f64::MIN_POSITIVE) {
            break;
        }
        let mid = 0.5 * (change.low + change.high);
        let b = settled(mid, &change)?;
        if place(&mut change, mid, b) {
            continue;
        }
        // Still neither side at the middle (it fell where orbits settle too slowly, or between
        // them lies a cascade finer than the grid): the quarter points may narrow it still.
        let (q1, q3) = (change.low + 0.25 * (change.high - change.low), change.low + 0.75 * (change.high - change.low));
        let (b1, b3) = (settled(q1, &change)?, settled(q3, &change)?);
        let moved = place(&mut change, q1, b1) | place(&mut change, q3, b3);
        if !moved {
            break;
        }
    }
    Ok(change)
}

/// One probe of a bisection: the behaviour of trajectory `.1` of plan `.0`.
struct One<'a>(&'a Plan, usize, &'a OrbitOptions, usize, f64);

impl ModelVisitor for One<'_> {
    type Output = Behaviour;
    fn visit<M: Model>(self, m: &M) -> Behaviour {
        let One(plan, index, options, var, tol) = self;
        run_in_precision(plan, m, index, options, var, tol).behaviour
    }
}

/// [`run_one`] in the plan's precision.
fn run_in_precision<M: Model>(plan: &Plan, m: &M, index: usize, options: &OrbitOptions, var: usize, tol: f64) -> Run {
    if plan.dynamics.precision == crate::dynamics::Precision::F64 {
        run_one::<M, f64>(plan, m, index, options, var, tol)
    } else {
        run_one::<M, f32>(plan, m, index, options, var, tol)
    }
}

/// The trajectory `index` of `plan` in `T`: its transient, its kept steps, their period and
/// (with `lyapunov`) its exponent.
fn run_one<M: Model, T: Real>(plan: &Plan, m: &M, index: usize, options: &OrbitOptions, var: usize, tol: f64) -> Run {
    let keep = options.keep as usize;
    let inputs: Vec<T> = plan.inputs_at(index).iter().map(|&v| T::of(v)).collect();
    let p = &inputs[..plan.n_params];
    let mut x: Vec<T> = inputs[plan.n_params..].to_vec();
    plan.add_init_noise(&inputs, index, &mut x);
    let n = x.len();
    let stepper = Stepper::<T>::at(plan, index);
    let mut s = Scratch::new(n);
    stepper.begin(n, &mut s);
    if s.draw.on {
        s.draw.index[0] = index as u32;
    }
    let mut obs = vec![T::zero(); plan.system.spec().model_observables().len()];
    let diverged = || Run { behaviour: Behaviour::Diverged, values: vec![f32::NAN; keep], lyapunov: f64::NAN };
    let first = stepper.escape_status(&x);
    if first != Status::Running {
        return diverged();
    }
    // The tangent, from the middle of the transient on.
    let tangent_from = stepper.max_steps / 2;
    let mut tangent = options.lyapunov.then(|| crate::classify::chaos::Tangent::new(plan, index, n));
    let total = stepper.max_steps as u64 + keep as u64;
    let mut kept: Vec<f64> = Vec::with_capacity(keep * n);
    let mut values = Vec::with_capacity(keep);
    let mut converged = false;
    let mut passing = false;
    let memoryless = plan.dynamics.method.memory() == crate::dynamics::Memory::None;
    let mut step = 0u64;
    while step < total {
        if step >= stepper.max_steps as u64 {
            m.observables(p, &x, &mut obs);
            values.push(obs[var].f64() as f32);
            kept.extend(x.iter().map(|v| v.f64()));
        }
        if s.draw.on {
            s.draw.step[0] = step as u32;
        }
        stepper.field_drawn(m, p, &x, &mut s.v, &s.draw);
        let mut at_rest = !stepper.noisy() && crate::dynamics::norm(&s.v) < stepper.tol;
        if stepper.has_memory() {
            stepper.delta(p, &x, &mut s);
            at_rest = at_rest && crate::dynamics::norm(&s.d) < stepper.tol;
        }
        if at_rest && !passing {
            // A point the steps pass slowly but that repels them (an unstable fixed point that
            // a chaotic orbit came near) is not where they end: stepping goes on, without the
            // stop rule from then on.
            let x64: Vec<f64> = x.iter().map(|v| v.f64()).collect();
            if memoryless && crate::classify::cycles::cycle_stability(plan, index, &x64, 1) == crate::system::Stability::Unstable {
                passing = true;
            } else {
                converged = true;
                break;
            }
        }
        if let Some(t) = tangent.as_mut().filter(|_| step >= tangent_from as u64) {
            t.advance(m, &x, 0);
        }
        if stepper.has_memory() {
            stepper.take_delta(&mut x, &s.d);
        } else {
            stepper.advance(m, p, &mut x, &mut s);
        }
        if stepper.noisy() {
            stepper.add_noise(&mut x, index as u32, step as u32);
        }
        step += 1;
        let st = stepper.escape_status(&x);
        if st != Status::Running {
            return diverged();
        }
    }
    if converged {
        // At rest: the kept steps are the fixed point; the exponent is the step's at it.
        m.observables(p, &x, &mut obs);
        values.resize(keep, obs[var].f64() as f32);
        let lyapunov = tangent.map_or(f64::NAN, |mut t| {
            t.reset();
            for _ in 0..keep.max(64) {
                t.advance(m, &x, 0);
            }
            t.exponent()
        });
        return Run { behaviour: Behaviour::Period(1), values, lyapunov };
    }
    let behaviour = match crate::classify::cycles::period_of(&kept, n, options.max_period as usize, tol) {
        Some(p) => Behaviour::Period(p as u32),
        None => Behaviour::Aperiodic,
    };
    Run { behaviour, values, lyapunov: tangent.map_or(f64::NAN, |t| t.exponent()) }
}

/// Writes orbit.npy ([x][start][kept], the drawn observable), period.npy ([x][start]; 0: none),
/// lyapunov.npy, orbit.csv (one row per trajectory), period_changes.csv, and the figures
/// orbit.png/.svg/.pdf (and lyapunov.png/.svg/.pdf). Returns the file names.
pub fn write(plan: &Plan, orbit: &Orbit, dir: &OutputDir) -> Result<Vec<String>> {
    let nx = orbit.x.len();
    let mut files = Vec::new();
    write_npy(dir, "orbit.npy", &[nx, orbit.starts, orbit.keep], &orbit.values)?;
    files.push("orbit.npy".to_string());
    let periods: Vec<u32> = orbit.behaviour.iter().map(|b| b.period()).collect();
    write_npy(dir, "period.npy", &[nx, orbit.starts], &periods)?;
    files.push("period.npy".to_string());
    if let Some(l) = &orbit.lyapunov {
        write_npy(dir, "lyapunov.npy", &[nx, orbit.starts], l)?;
        files.push("lyapunov.npy".to_string());
    }
    let name = &plan.x.name;
    let mut csv = format!("{name},start,behaviour,period,lyapunov\n");
    for ix in 0..nx {
        for s in 0..orbit.starts {
            let k = ix * orbit.starts + s;
            let l = orbit.lyapunov.as_ref().map_or(String::new(), |l| if l[k].is_nan() { String::new() } else { format!("{}", l[k]) });
            csv += &format!("{},{s},{},{},{l}\n", orbit.x[ix], orbit.behaviour[k].describe(), periods[k]);
        }
    }
    dir.write_bytes("orbit.csv", csv.as_bytes())?;
    files.push("orbit.csv".to_string());
    let mut changes = format!("start,from,to,{name},{name}_low,{name}_high,refined\n");
    for c in &orbit.changes {
        changes += &format!("{},{},{},{},{},{},{}\n", c.start, c.from.describe(), c.to.describe(), c.at(), c.low, c.high, c.refined);
    }
    dir.write_bytes("period_changes.csv", changes.as_bytes())?;
    files.push("period_changes.csv".to_string());
    // Drawn: the first start's doublings, windows and divergence.
    use crate::render::orbit::{Change, OrbitFigure};
    let changes = orbit.changes.iter().filter(|c| c.start == 0 && c.is_marked()).map(|c| Change { low: c.low, high: c.high, what: c.describe() }).collect();
    let figure = OrbitFigure { x: &orbit.x, starts: orbit.starts, keep: orbit.keep, variable: &orbit.variable, values: &orbit.values, lyapunov: orbit.lyapunov.as_deref(), changes };
    files.extend(crate::render::orbit::write(plan, &figure, dir)?);
    Ok(files)
}
