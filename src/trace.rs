//! `basinmap trace`: a few trajectories recorded step by step — every observable and the norm of
//! the field — to trace.csv, with trace.png, .svg and .pdf plotting the loss (or first
//! observable), the data term `fit` and the order parameter `b` where the system has them, and
//! the field's norm against the step. The paper's Fig. 3 is such a trace: the loss of a D ≥ 2 network rising, then falling,
//! as it escapes the origin.
//!
//! Traces run on the CPU engine's stepper in the scenario's precision — the same steps
//! `basinmap run` takes there — one trajectory per grid point and sample of the scenario.

use crate::engine::cpu::{Scratch, Stepper};
use crate::engine::Status;
use crate::io::OutputDir;
use crate::plan::Plan;
use crate::render::curves::{self, Figure, Panel, Series};
use crate::render::palette;
use crate::system::{Model, ModelVisitor};
use crate::{Error, Result};

/// Most trajectories one trace records.
pub const MAX_TRACED: usize = 64;
/// Records per trajectory when `every` is left to basinmap.
const TARGET_RECORDS: u32 = 2000;

/// One recorded trajectory.
#[derive(Clone, Debug)]
pub struct Traced {
    /// Its index in the plan (grid point × sample).
    pub index: usize,
    /// Its parameter values and sample, for legends: `gamma=0.02 init_scale=0.01`.
    pub label: String,
    pub status: Status,
    /// The step of each record.
    pub steps: Vec<u32>,
    /// Per record: the observables, then the field's norm.
    pub values: Vec<Vec<f32>>,
}

/// The recorded trajectories and the names of their columns.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Observable names, then `grad_norm`.
    pub columns: Vec<String>,
    pub trajectories: Vec<Traced>,
}

/// `basinmap trace`: records the trajectories of `scenario` (a grid of at most [`MAX_TRACED`])
/// and writes trace.csv and its figures to `out`; returns the trace and the files' names.
pub fn run(scenario: &crate::scenario::Scenario, every: Option<u32>, out: &std::path::Path) -> Result<(Trace, Vec<String>)> {
    scenario.require_grid("trace")?;
    let plan = Plan::new(scenario)?;
    let dir = OutputDir::prepare(out)?;
    let trace = record(&plan, every)?;
    let title = plan.figure.title.clone().unwrap_or_else(|| format!("{}: trajectories", plan.system.spec().name));
    let files = write(&plan, &trace, &dir, &title)?;
    Ok((trace, files))
}

/// Records every trajectory of `plan` every `every` steps (the last step always), or at about
/// 2000 evenly spaced steps when `every` is `None`.
pub fn record(plan: &Plan, every: Option<u32>) -> Result<Trace> {
    plan.require_grid("trace")?;
    plan.require_autonomous("trace")?;
    let n = plan.n_trajectories();
    if n > MAX_TRACED {
        return Err(Error::input(format!(
            "trace records a few trajectories: this grid has {n}; use at most {MAX_TRACED} (e.g. --x gamma=0.02:0.02:1 with --samples 4)"
        )));
    }
    let every = every.unwrap_or_else(|| plan.dynamics.steps.div_ceil(TARGET_RECORDS)).max(1);
    struct Record<'a>(&'a Plan, u32);
    impl ModelVisitor for Record<'_> {
        type Output = Vec<Traced>;
        fn visit<M: Model>(self, m: &M) -> Vec<Traced> {
            let Record(plan, every) = self;
            match plan.dynamics.precision {
                crate::dynamics::Precision::F32 => (0..plan.n_trajectories()).map(|i| trace_one::<M, f32>(plan, m, i, every)).collect(),
                crate::dynamics::Precision::F64 => (0..plan.n_trajectories()).map(|i| trace_one::<M, f64>(plan, m, i, every)).collect(),
            }
        }
    }
    let trajectories = plan.system.visit(Record(plan, every))?;
    // The loss record's observables describe whole runs, not steps.
    let mut columns: Vec<String> = plan.system.spec().model_observables().iter().map(|o| o.name.to_string()).collect();
    columns.push("grad_norm".into());
    Ok(Trace { columns, trajectories })
}

/// The parameters and sample of trajectory `i`, as `name=value` words.
fn label_of(plan: &Plan, i: usize) -> String {
    let g = plan.point_of(i);
    let mut words = vec![format!("{}={}", plan.x.name, fmt_value(plan.x.values[g % plan.nx()]))];
    if let Some(y) = &plan.y {
        words.push(format!("{}={}", y.name, fmt_value(y.values[g / plan.nx()])));
    }
    if plan.samples > 1 {
        words.push(format!("sample {}", i % plan.samples));
    }
    words.join(" ")
}

/// A parameter value for a legend: 4 decimals at most, trailing zeros dropped.
pub(crate) fn fmt_value(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    // A value that rounds to zero is "0", whatever its sign ("loss=-0" says nothing).
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Steps trajectory `i` as the CPU engine does in precision `T`, recording as it goes.
fn trace_one<M: Model, T: crate::real::Real>(plan: &Plan, m: &M, i: usize, every: u32) -> Traced {
    let inputs: Vec<T> = plan.inputs_at(i).iter().map(|&v| T::from(v).expect("a float")).collect();
    let p = &inputs[..plan.n_params];
    let mut x = inputs[plan.n_params..].to_vec();
    plan.add_init_noise(&inputs, i, &mut x);
    let stepper = Stepper::<T>::at(plan, i);
    let mut s = Scratch::new(x.len());
    stepper.begin(x.len(), &mut s);
    if s.draw.on {
        s.draw.index[0] = i as u32;
    }
    let mut obs = vec![T::zero(); plan.n_obs()];
    let mut t = Traced { index: i, label: label_of(plan, i), status: Status::Undecided, steps: Vec::new(), values: Vec::new() };
    let mut keep = |t: &mut Traced, n: u32, x: &[T], v: &[T]| {
        m.observables(p, x, &mut obs);
        let mut row: Vec<f32> = obs[..plan.system.spec().model_observables().len()].iter().map(|v| v.f64() as f32).collect();
        row.push(crate::dynamics::norm(v).f64() as f32);
        t.steps.push(n);
        t.values.push(row);
    };
    let mut n = 0u32;
    let start = stepper.escape_start(&x);
    let first = stepper.escape_status(&x);
    if first != Status::Running {
        t.status = first;
        return t;
    }
    loop {
        // Step n's minibatch, as the engines draw it.
        if s.draw.on {
            s.draw.step[0] = n;
        }
        stepper.field_drawn(m, p, &x, &mut s.v, &s.draw);
        let mut converged = !stepper.noisy() && crate::dynamics::norm(&s.v) < stepper.tol;
        if stepper.has_memory() {
            // The optimizer's step first: a point passed at speed has not converged.
            stepper.delta(p, &x, &mut s);
            converged = converged && crate::dynamics::norm(&s.d) < stepper.tol;
        }
        if n % every == 0 || converged || n == stepper.max_steps {
            let v = s.v.clone();
            keep(&mut t, n, &x, &v);
        }
        if converged {
            t.status = Status::Converged;
            return t;
        }
        if n == stepper.max_steps {
            return t;
        }
        if stepper.has_memory() {
            stepper.take_delta(&mut x, &s.d);
        } else {
            stepper.advance(m, p, &mut x, &mut s);
        }
        if stepper.noisy() {
            stepper.add_noise(&mut x, i as u32, n);
        }
        n += 1;
        let st = stepper.status_after_step(&x, &start);
        if st != Status::Running {
            // Record where it left, with the field there if it is finite.
            stepper.field(m, p, &x, &mut s.v);
            let v = s.v.clone();
            keep(&mut t, n, &x, &v);
            t.status = st;
            return t;
        }
    }
}

/// Writes trace.csv and trace.png, .svg, .pdf (as `[figure] formats` says) to `dir`; returns the file names.
pub fn write(plan: &Plan, trace: &Trace, dir: &OutputDir, title: &str) -> Result<Vec<String>> {
    let mut csv = String::from("trajectory,label,step");
    for c in &trace.columns {
        csv.push(',');
        csv.push_str(c);
    }
    csv.push('\n');
    for t in &trace.trajectories {
        for (n, row) in t.steps.iter().zip(&t.values) {
            csv += &format!("{},\"{}\",{n}", t.index, t.label);
            for v in row {
                csv += &format!(",{v}");
            }
            csv.push('\n');
        }
    }
    dir.write_bytes("trace.csv", csv.as_bytes())?;
    let fig = figure(plan, trace, title);
    let mut files = vec!["trace.csv".to_string()];
    files.extend(curves::write(dir, "trace", &fig, (1000, 300 * fig.panels.len() as u32 + 60), &plan.figure)?);
    Ok(files)
}

/// Panels: the loss (or the first observable), `fit` and `b` where the system has them, the
/// field's norm on a log axis. Legend entries name only what differs between the trajectories;
/// what they share is said once, under the title. Trajectories along one parameter (more than
/// four, one sample each) are a family coloured along the colour map, with its bar.
pub fn figure(plan: &Plan, trace: &Trace, title: &str) -> Figure {
    use crate::render::{names, numbers, side::ColourBar};
    let names_of = plan.system.spec().observable_names();
    let mut shown: Vec<(usize, bool)> = Vec::new();
    shown.push((names_of.iter().position(|&n| n == "loss").unwrap_or(0), false));
    for extra in ["fit", "b"] {
        if let Some(k) = names_of.iter().position(|&n| n == extra) {
            shown.push((k, false));
        }
    }
    shown.push((trace.columns.len() - 1, true));
    // What varies between the traced trajectories, and what they share.
    let axes: Vec<&crate::plan::GridAxis> = [Some(&plan.x), plan.y.as_ref()].into_iter().flatten().collect();
    let coordinate = |t: &Traced, a: usize| {
        let g = plan.point_of(t.index);
        if a == 0 { plan.x.values[g % plan.nx()] } else { axes[1].values[g / plan.nx()] }
    };
    let varies = |a: usize| trace.trajectories.iter().any(|t| coordinate(t, a) != coordinate(&trace.trajectories[0], a));
    let varying: Vec<usize> = (0..axes.len()).filter(|&a| varies(a)).collect();
    let shared: Vec<String> = (0..axes.len()).filter(|a| !varying.contains(a)).filter_map(|a| Some(format!("{} = {}", names::axis(axes[a]), numbers::value(coordinate(trace.trajectories.first()?, a))))).collect();
    let label = |t: &Traced| {
        let mut words: Vec<String> = varying.iter().map(|&a| format!("{} = {}", names::axis(axes[a]), numbers::value(coordinate(t, a)))).collect();
        if plan.samples > 1 {
            words.push(format!("sample {}", t.index % plan.samples));
        }
        words.join(", ")
    };
    let family = (varying.len() == 1 && plan.samples == 1 && trace.trajectories.len() > 4).then(|| {
        let axis = axes[varying[0]];
        ColourBar::spanning(names::axis(axis), trace.trajectories.iter().map(|t| coordinate(t, varying[0])), axis.log, plan.figure.colour_map)
    }).flatten();
    let colours: Vec<[u8; 3]> = match &family {
        Some(bar) => trace.trajectories.iter().map(|t| bar.colour_of(coordinate(t, varying[0]))).collect(),
        None => palette::series_colours(trace.trajectories.len()),
    };
    let panels = shown
        .into_iter()
        .map(|(k, log_y)| Panel {
            y_label: names::symbol(&trace.columns[k]),
            log_y,
            series: trace
                .trajectories
                .iter()
                .zip(&colours)
                .map(|(t, &colour)| Series::line(if family.is_some() { String::new() } else { label(t) }, colour, t.steps.iter().zip(&t.values).map(|(&n, row)| (n as f64, row[k] as f64)).collect()))
                .collect(),
        })
        .collect();
    let mut fig = Figure::new(title, "step", false, panels);
    fig.integer_x = true;
    fig.subtitle = (!shared.is_empty()).then(|| shared.join(", "));
    fig.family = family;
    fig
}
