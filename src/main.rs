//! The `basinmap` binary: parses the command line, calls the library, prints errors as one line.

mod cli;

use basinmap::engine::{gpu, EngineInfo};
use basinmap::run::{execute_with, Observer};
use basinmap::plan::Plan;
use basinmap::scenario::{CustomDef, ParamValue, Scenario};
use basinmap::system::{ParamDefault, System, SystemSpec};
use clap::Parser;
use cli::{Cli, Command, RunArgs, SystemsArgs, TraceArgs};
use indicatif::{ProgressBar, ProgressStyle};

fn main() {
    // Mesa's device-select Vulkan layer prints "error: XDG_RUNTIME_DIR is invalid" on headless
    // machines; wgpu chooses the adapter itself, so the layer is of no use here. Set before any
    // thread exists.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Trace(args) => trace(&args),
        Command::Landscape(args) => landscape(&args),
        Command::Systems(args) => systems(&args),
        Command::Info => {
            info();
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
struct Bar(ProgressBar, bool);

impl Observer for Bar {
    fn progress(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
    fn engine(&self, info: &EngineInfo) {
        if !self.1 {
            eprintln!("engine: {} ({}; {})", info.kind, info.device, info.detail);
        }
    }
}

fn run(args: &RunArgs) -> basinmap::Result<()> {
    let scenario = args.scenario()?;
    if args.emit_wgsl {
        print!("{}", system_wgsl(&Plan::new(&scenario)?.system));
        return Ok(());
    }
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} trajectories settled, {elapsed} (eta {eta})")
            .expect("valid template"),
    );
    let observer = Bar(bar, args.quiet);
    let report = execute_with(&scenario, &args.output, &observer)?;
    observer.0.finish_and_clear();
    if args.quiet {
        return Ok(());
    }
    let [nx, ny] = report.grid;
    println!(
        "{nx} x {ny} trajectories in {:.2} s ({:.3e} trajectory-steps/s): {} converged, {} diverged, {} undecided, {} non-finite",
        report.timings.integrate,
        report.steps_per_second,
        report.counts.converged,
        report.counts.diverged,
        report.counts.undecided,
        report.counts.nonfinite
    );
    let names = &report.observables;
    println!("{:>3}  {:<9} {:<9} {:>9}  {}", "id", "kind", "stability", "fraction", "location");
    const SHOWN: usize = 16;
    for a in report.attractors.iter().take(SHOWN) {
        let loc: Vec<String> = a
            .observables
            .iter()
            .zip(names)
            .map(|(o, n)| if o.min == o.max { format!("{n}={:.4}", o.value) } else { format!("{n}={:.4} [{:.4}, {:.4}]", o.value, o.min, o.max) })
            .collect();
        println!("{:>3}  {:<9} {:<9} {:>8.2}%  {}", a.id, a.kind.as_str(), a.stability_str(), 100.0 * a.fraction, loc.join("  "));
    }
    if report.attractors.len() > SHOWN {
        println!("     ... and {} more in attractors.csv", report.attractors.len() - SHOWN);
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!("wrote {} files to {}", report.files.len(), args.output.display());
    Ok(())
}

fn trace(args: &TraceArgs) -> basinmap::Result<()> {
    let scenario = args.run.scenario()?;
    let plan = Plan::new(&scenario)?;
    let dir = basinmap::io::OutputDir::prepare(&args.run.output)?;
    let trace = basinmap::trace::record(&plan, args.every)?;
    let title = scenario.title.clone().unwrap_or_else(|| format!("{}: trajectories", plan.system.spec().name));
    let files = basinmap::trace::write(&plan, &trace, &dir, &title)?;
    if !args.run.quiet {
        let loss = trace.columns.iter().position(|c| c == "loss").unwrap_or(0);
        for t in &trace.trajectories {
            let last = t.values.last().map_or(f32::NAN, |r| r[loss]);
            let steps = t.steps.last().copied().unwrap_or(0);
            println!("{:<40} {:<10} {steps:>8} steps  {} = {last}", t.label, format!("{:?}", t.status).to_lowercase(), trace.columns[loss]);
        }
        println!("wrote {} to {}", files.join(", "), args.run.output.display());
    }
    Ok(())
}

fn landscape(args: &RunArgs) -> basinmap::Result<()> {
    let scenario = args.scenario()?;
    let plan = Plan::new(&scenario)?;
    let dir = basinmap::io::OutputDir::prepare(&args.output)?;
    let land = basinmap::landscape::evaluate(&plan)?;
    let title = scenario.title.clone().unwrap_or_else(|| format!("{}: loss landscape", plan.system.spec().name));
    let files = basinmap::landscape::write(&plan, &land, &dir, &title)?;
    if !args.quiet {
        if let Some(minima) = land.minima(&plan) {
            let (param, state) = if plan.x.is_state { (plan.y.as_ref().expect("two axes"), &plan.x) } else { (&plan.x, plan.y.as_ref().expect("two axes")) };
            println!("{:>12}  {:>12}  {:>12}", param.name, format!("argmin {}", state.name), "min loss");
            let step = (minima.len() / 12).max(1);
            for &(ix, iy) in minima.iter().step_by(step) {
                let (ip, is) = if plan.x.is_state { (iy, ix) } else { (ix, iy) };
                println!("{:>12.5}  {:>12.5}  {:>12.6}", param.values[ip], state.values[is], land.loss[iy * land.nx + ix]);
            }
        }
        println!("wrote {} to {}", files.join(", "), args.output.display());
    }
    Ok(())
}

/// The WGSL a user can start from: a formula system's in the `--wgsl` format, a built-in
/// system's own file otherwise.
fn system_wgsl(system: &System) -> String {
    match system {
        System::Custom(c) => c.emit_wgsl(),
        other => format!(
            "// basinmap built-in system '{}' (shaders/systems/{0}.wgsl). It uses the kernel's internal\n// interface (P[P_name], VEC_LEN), not the --wgsl file format.\n\n{}",
            other.spec().name,
            other.spec().wgsl
        ),
    }
}

/// A built-in system that is a formula, rebuilt through the formula compiler.
fn as_formula(spec: &SystemSpec, formula: &str) -> basinmap::Result<System> {
    let def = CustomDef {
        state: spec.state.iter().map(|s| format!("{}={}", s.name, s.default)).collect(),
        loss: Some(formula.to_string()),
        ..CustomDef::default()
    };
    let mut s = Scenario::for_custom(def)?;
    for p in spec.params.iter() {
        if let ParamDefault::Scalar(v) = p.default {
            s.params.insert(p.name.to_string(), ParamValue::Scalar(v));
        }
    }
    Ok(Plan::new(&s)?.system)
}

fn systems(args: &SystemsArgs) -> basinmap::Result<()> {
    let Some(name) = &args.show else {
        for name in System::BUILT_IN {
            describe(System::by_name(name)?.spec());
            println!();
        }
        return Ok(());
    };
    let sys = System::by_name(name)?;
    let spec = sys.spec();
    let compiled = spec.formula.map(|f| as_formula(spec, f)).transpose()?;
    if args.emit_wgsl {
        print!("{}", system_wgsl(compiled.as_ref().unwrap_or(&sys)));
        return Ok(());
    }
    describe(spec);
    if let Some(System::Custom(c)) = &compiled {
        let f = c.formula().expect("built from a formula");
        println!("  loss:        {}", f.0.loss_text().unwrap_or_default());
        for (s, v) in spec.state.iter().zip(f.0.field_text()) {
            println!("  d{}/dt:       {v}   (-dloss/d{}, derived)", s.name, s.name);
        }
        println!("  (the same as: basinmap run --loss \"{}\" --state {})", spec.formula.unwrap_or_default(), spec.state.iter().map(|s| s.name.to_string()).collect::<Vec<_>>().join(","));
    }
    Ok(())
}

fn describe(s: &SystemSpec) {
    println!("{} — {}", s.name, s.summary);
    let state: Vec<String> = s.state.iter().map(|v| format!("{} (start {}; {})", v.name, v.default, v.doc)).collect();
    println!("  state:       {}", state.join(", "));
    println!("  parameters:");
    for p in s.params.iter() {
        let default = match &p.default {
            ParamDefault::Scalar(v) => format!("{v}"),
            ParamDefault::Vector(v) => v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        };
        let kind = if p.integer { ", whole number" } else if matches!(p.default, ParamDefault::Vector(_)) { ", vector" } else { "" };
        println!("    {:<8} = {:<10} {}{kind}", p.name, default, p.doc);
    }
    let obs: Vec<String> = s.observables.iter().map(|o| format!("{} ({})", o.name, o.doc)).collect();
    println!("  observables: {}", obs.join(", "));
    println!("  default axes: --x {} --y {}", s.default_axes.0, s.default_axes.1);
}

fn info() {
    let adapters = gpu::adapters();
    if adapters.is_empty() {
        println!("wgpu sees no adapter (no Vulkan/Metal/DX12 driver).");
    }
    for a in &adapters {
        let kind = if gpu::is_hardware(a) { "hardware" } else { "software" };
        println!("{} — {:?}, {:?} ({kind}), driver {} {}", a.name, a.backend, a.device_type, a.driver, a.driver_info);
    }
    let auto = if adapters.iter().any(gpu::is_hardware) { "gpu" } else { "cpu" };
    println!("--engine auto uses: {auto}; CPU engine threads: {}", rayon::current_num_threads());
}
