//! The command line: parses `basinmap`'s arguments, calls the library, prints the reports and
//! errors (one line each). In the library so that the binary (`src/main.rs`) and the Python
//! package's `basinmap` command are the same program.

pub mod args;

use crate::engine::{gpu, EngineInfo};
use crate::run::Observer;
use crate::plan::Plan;
use crate::scenario::{CustomDef, ParamValue, Scenario};
use crate::system::{ParamDefault, System, SystemSpec};
use clap::Parser;
use args::{BenchArgs, Cli, Command, KramersArgs, MeasureArgs, MergeArgs, OrbitArgs, RunArgs, RunCommandArgs, ServeArgs, SweepArgs, SystemsArgs, TraceArgs};
use indicatif::{ProgressBar, ProgressStyle};

/// Runs the command line `args` (the program's name first, as `std::env::args_os` gives it);
/// returns the process's exit code: 0, 2 for a usage or input error, 1 for a failure of the
/// machine, 130 for a run stopped by Ctrl-C.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    // A font named by BASINMAP_FONT that cannot be used is an error before any work, not a
    // figure without text at the end of a long run.
    let draws = matches!(cli.command, Command::Run(_) | Command::Trace(_) | Command::Orbit(_) | Command::Landscape(_) | Command::Sweep(_) | Command::Kramers(_) | Command::Merge(_));
    if draws {
        if let Err(e) = crate::render::fonts::load() {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    }
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Trace(args) => trace(&args),
        Command::Orbit(args) => orbit(&args),
        Command::Landscape(args) => landscape(&args),
        Command::Sweep(args) => sweep(&args),
        Command::Measure(args) => measure(&args),
        Command::Kramers(args) => kramers(&args),
        Command::Bench(args) => bench(&args),
        Command::Merge(args) => merge(&args),
        Command::Systems(args) => systems(&args),
        Command::Serve(args) => serve(&args),
        Command::Info => {
            info();
            Ok(())
        }
    };
    // A host that goes on after this returns (the Python package's `basinmap`) exits without
    // Rust's exit path, which would flush what is still buffered.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `--help` and `--version` print as clap writes them (exit code 0, or 2 for help shown for a
/// missing subcommand); a usage error is one line on stderr (its first, without clap's usage
/// block and tip), exit code 2.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand) {
        let _ = e.print();
        return e.exit_code();
    }
    let text = e.render().to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: bad command line");
    eprintln!("{} (see `basinmap --help`)", first.trim_end());
    2
}

/// A progress bar on stderr; where stderr is not a terminal (a Slurm log, `nohup`), a plain
/// progress line every [`LOG_EVERY`] instead. The flag: quiet.
struct Bar(ProgressBar, bool, Option<ProgressLog>);

/// Seconds between progress lines in a log.
const LOG_EVERY: f64 = 10.0;

/// When the run started, and when the last progress line was printed.
struct ProgressLog {
    start: std::time::Instant,
    last: std::sync::Mutex<f64>,
}

impl ProgressLog {
    fn line(&self, done: u64, total: u64) {
        let now = self.start.elapsed().as_secs_f64();
        let Ok(mut last) = self.last.lock() else { return };
        if now - *last < LOG_EVERY || total == 0 {
            return;
        }
        *last = now;
        let share = done as f64 / total as f64;
        let eta = if done > 0 { format!(", about {:.0} s left", now * (1.0 - share) / share) } else { String::new() };
        eprintln!("progress: {done} of {total} trajectories settled ({:.1}%) after {now:.0} s{eta}", 100.0 * share);
    }
}

/// Set once the run says whether it saves its parts: only then can a stop be resumed.
static RESUMABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set by the first Ctrl-C: the run stops after the part or tile in hand, resumable.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The first Ctrl-C asks the run to stop where `--resume` can continue it; a second one ends
/// the process at once.
fn stop_on_ctrl_c() {
    use std::sync::atomic::Ordering;
    let _ = ctrlc::set_handler(|| {
        if !RESUMABLE.load(Ordering::SeqCst) {
            // Nothing is saved as this run goes: there is nothing to continue.
            eprintln!("\nstopped (this run saves no parts, so there is nothing to resume)");
            std::process::exit(130);
        }
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the part in hand (Ctrl-C again to quit now; `--resume` continues)");
    });
}

impl Observer for Bar {
    fn should_stop(&self) -> bool {
        STOP.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn progress(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
        if let Some(log) = &self.2 {
            log.line(done, total);
        }
    }
    fn resumable(&self, saves_parts: bool) {
        RESUMABLE.store(saves_parts, std::sync::atomic::Ordering::SeqCst);
    }
    fn engine(&self, info: &EngineInfo) {
        if !self.1 {
            eprintln!("engine: {} ({}; {})", info.kind, info.device, info.detail);
        }
    }
}

fn run(command: &RunCommandArgs) -> crate::Result<()> {
    let args = &command.run;
    let (refine, refine_spacing) = command.refine_spacing()?;
    let scenario = args.scenario()?;
    if args.emit_wgsl {
        print!("{}", system_wgsl(&Plan::new(&scenario)?.system));
        return Ok(());
    }
    let observer = progress_bar(args.quiet);
    if let Some(shard) = &args.shard {
        let (k, n) = crate::shard::parse(shard)?;
        let info = crate::shard::run_shard(&scenario, k, n, &args.output, &observer, args.all_devices())?;
        observer.0.finish_and_clear();
        if !args.quiet {
            println!(
                "shard {k}/{n}: trajectories {}..{} of {} in {:.2} s; wrote {} to {}",
                info.range[0],
                info.range[1],
                info.trajectories,
                info.integrate,
                info.files.join(", "),
                args.output.display()
            );
        }
        return Ok(());
    }
    stop_on_ctrl_c();
    let resume = crate::run::RunOptions { resume: args.resume, all_devices: args.all_devices(), stream: args.stream, refine, refine_spacing, ..Default::default() };
    let report = crate::run::execute_resumable(&scenario, &args.output, &observer, &resume)?;
    observer.0.finish_and_clear();
    if args.quiet {
        return Ok(());
    }
    print_report(&report, &args.output);
    Ok(())
}

fn merge(args: &MergeArgs) -> crate::Result<()> {
    let report = crate::shard::merge(&args.shards, &args.output)?;
    if !args.quiet {
        print_report(&report, &args.output);
    }
    Ok(())
}

/// The summary of a run: counts, rate, the attractors, boundary and escape measures, warnings.
fn print_report(report: &crate::run::Report, output: &std::path::Path) {
    let [nx, ny] = report.grid;
    let c = &report.counts;
    // Kinds no trajectory ended as are left out, past the first three.
    let mut ends = vec![format!("{} converged", c.converged), format!("{} diverged", c.diverged), format!("{} undecided", c.undecided)];
    // Training runs are judged by their loss curves: how many trained comes first.
    let trained = c.trained.map_or(String::new(), |t| format!("{t} trained, {} not trained (converged.npy); as dynamics ", c.trajectories - t));
    for (n, what) in [(c.cycle, "on cycles"), (c.chaotic, "chaotic"), (c.stalled, "stalled"), (c.nonfinite, "non-finite"), (c.escaped, "escaped")] {
        if n > 0 {
            ends.push(format!("{n} {what}"));
        }
    }
    let size = if report.scenario.starts.is_some() { format!("{nx} sampled starts") } else { format!("{nx} x {ny} trajectories") };
    println!(
        "{size} in {:.2} s ({:.3e} trajectory-steps/s): {trained}{}",
        report.timings.integrate,
        report.steps_per_second,
        ends.join(", ")
    );
    if let Some(r) = report.refine.as_ref().filter(|r| !r.fell_back) {
        println!("{}", r.summary());
    }
    let names = &report.observables;
    const SHOWN: usize = 16;
    let width = report.attractors.iter().take(SHOWN).map(|a| crate::render::legend::kind_label(a).chars().count()).fold(9, usize::max);
    let share_width = report.attractors.iter().take(SHOWN).map(|a| crate::render::legend::share(a, 2).chars().count()).fold(9, usize::max);
    println!("{:>3}  {:<width$} {:<9} {:>share_width$}  {}", "id", "kind", "stability", "fraction", "location");
    for a in report.attractors.iter().take(SHOWN) {
        let loc: Vec<String> = a
            .observables
            .iter()
            .zip(names)
            .map(|(o, n)| if o.min == o.max { format!("{n}={:.4}", o.value) } else { format!("{n}={:.4} [{:.4}, {:.4}]", o.value, o.min, o.max) })
            .collect();
        let kind = crate::render::legend::kind_label(a);
        println!("{:>3}  {:<width$} {:<9} {:>share_width$}  {}", a.id, kind, a.stability_str(), crate::render::legend::share(a, 2), loc.join("  "));
    }
    if report.attractors.len() > SHOWN {
        println!("     ... and {} more in attractors.csv", report.attractors.len() - SHOWN);
    }
    if let Some(b) = &report.boundary {
        print_boundary(b);
    }
    if let Some(e) = &report.escape {
        print_escape(e);
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!("wrote {} files to {}", report.files.len(), output.display());
}

fn progress_bar(quiet: bool) -> Bar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} trajectories settled, {per_sec}, {elapsed} (eta {eta})")
            .expect("valid template"),
    );
    use std::io::IsTerminal;
    let log = (!quiet && !std::io::stderr().is_terminal()).then(|| ProgressLog { start: std::time::Instant::now(), last: std::sync::Mutex::new(0.0) });
    Bar(bar, quiet, log)
}

fn sweep(args: &SweepArgs) -> crate::Result<()> {
    use crate::analysis::execute::{sweep, SweepOptions};
    let scenario = args.run.grid_scenario("sweep")?;
    let options = SweepOptions { order: args.order.clone(), refine: args.refine, hysteresis: !args.no_hysteresis };
    let observer = progress_bar(args.run.quiet);
    let report = sweep(&scenario, &options, &args.run.output, &observer)?;
    observer.0.finish_and_clear();
    if args.run.quiet {
        return Ok(());
    }
    let s = &report.sweep;
    println!(
        "{} values of {} x {} starts in {:.2} s (engine {:.2} s, fixed points {:.2} s, transitions {:.2} s, hysteresis {:.2} s)",
        s.values,
        s.parameter,
        s.starts_per_value,
        report.seconds.iter().sum::<f64>(),
        report.seconds[0],
        report.seconds[1],
        report.seconds[2],
        report.seconds[3]
    );
    if report.transitions.is_empty() {
        println!("no transition in {} = [{}, {}]", s.parameter, s.range[0], s.range[1]);
    }
    for t in &report.transitions {
        let half = 0.5 * (t.bracket[1] - t.bracket[0]);
        let mut line = format!("order {} transition at {} = {:.9} ± {:.1e}", t.order, s.parameter, t.critical, half);
        match t.order {
            0 => line += &format!(": L jumps by {:.6}", t.jumps.loss),
            1 => line += &format!(": latent heat (jump of dL) {:.6}, {} jumps by {:.6}", t.jumps.d1, s.order_parameter, t.order_parameter_jump),
            _ => {
                line += &format!(": d2L jumps by {:.6}", t.jumps.d2);
                if let Some(e) = &t.exponent {
                    line += &format!(", beta = {:.4} ± {:.4} over |{} - {}*| in [{:.2e}, {:.2e}]", e.beta, e.uncertainty, s.parameter, s.parameter, e.fit_range[0], e.fit_range[1]);
                }
            }
        }
        println!("{line}");
    }
    if let Some(h) = &report.hysteresis {
        match h.window {
            Some([lo, hi]) => {
                let end = |v: Option<f64>| v.map_or("beyond the sweep".to_string(), |v| format!("{v:.9}"));
                println!("hysteresis: the branches differ for {} in [{lo:.6}, {hi:.6}]; spinodals: down {}, up {}", s.parameter, end(h.spinodal_down), end(h.spinodal_up));
            }
            None => println!("hysteresis: none (the branches followed up and down agree)"),
        }
    }
    for c in &report.kind_changes {
        println!("attractors reached change at {} = {:.9} ± {:.1e}: {}", s.parameter, c.critical, 0.5 * (c.bracket[1] - c.bracket[0]), c.change);
    }
    println!("wrote {} to {}", report.files.join(", "), args.run.output.display());
    Ok(())
}

fn kramers(args: &KramersArgs) -> crate::Result<()> {
    let scenario = args.run.grid_scenario("kramers")?;
    let temperatures = args.temperature_list()?;
    let observer = progress_bar(args.run.quiet);
    let report = crate::analysis::execute::kramers(&scenario, &temperatures, &args.run.output, &observer)?;
    observer.0.finish_and_clear();
    if args.run.quiet {
        return Ok(());
    }
    for r in &report.runs {
        print_escape(r);
    }
    let f = &report.fit;
    let truth = f.true_barrier.map_or(String::new(), |b| format!("; the landscape's barrier is {b:.4} ({:+.1}%)", 100.0 * (f.barrier / b - 1.0)));
    let temps: Vec<String> = f.temperatures.iter().map(|t| format!("{t:.4}")).collect();
    println!("Kramers fit over T = {}: barrier {:.4} ± {:.4}, prefactor {:.4}{truth}", temps.join(", "), f.barrier, f.barrier_stderr, f.prefactor);
    println!("wrote {} to {} in {:.2} s", report.files.join(", "), args.run.output.display(), report.seconds);
    Ok(())
}

fn bench(args: &BenchArgs) -> crate::Result<()> {
    use crate::bench::{run, BenchOptions};
    let engines = args.engines.clone().unwrap_or_else(crate::bench::default_engines);
    if args.size == Some(0) {
        return Err(crate::Error::input("--size must be at least 1"));
    }
    let options = BenchOptions { workloads: args.workloads.clone(), engines, size: args.size, repeats: args.repeats };
    let json = args.json;
    let results = run(&options, &mut |r| {
        if json {
            return;
        }
        let peak = match (r.peak_fraction, r.peak_gflops) {
            (Some(f), Some(p)) => format!("{:.2}% of {p:.0} GFLOP/s", 100.0 * f),
            _ => "peak unknown".into(),
        };
        println!(
            "{:?} {} ({}, {}), {}x{}: median {:.3} s of {}; {:.3e} trajectory-steps/s (nominal {:.3e}); {:.2} GFLOP/s, {peak}",
            r.workload,
            r.engine,
            r.device,
            r.precision,
            r.grid[0],
            r.grid[1],
            r.median_seconds,
            r.seconds.len(),
            r.steps_per_second,
            r.nominal_steps_per_second,
            r.gflops
        );
        println!("   {}: {}", r.engine, r.detail);
        if let Some(l) = &r.lockstep {
            println!(
                "   lockstep equivalent: every trajectory {} steps ({:.3e} steps), {:.2} s at this rate per step: early exit is {:.1}x faster",
                l.max_steps, l.lockstep_steps, l.estimated_seconds, l.speedup
            );
        }
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&results).map_err(|e| crate::Error::Io(std::io::Error::other(e)))?);
    } else {
        let mut bases: Vec<&str> = results.iter().map(|r| r.peak_basis.as_str()).collect();
        bases.sort_unstable();
        bases.dedup();
        for b in bases {
            println!("peak: {b}");
        }
    }
    Ok(())
}

fn measure(args: &MeasureArgs) -> crate::Result<()> {
    let range = args
        .fit_range
        .as_deref()
        .map(|r| {
            r.split_once(':')
                .and_then(|(a, b)| Some([a.trim().parse().ok()?, b.trim().parse().ok()?]))
                .ok_or_else(|| crate::Error::input(format!("--fit-range '{r}': expected MIN:MAX in pixels, e.g. 2:64")))
        })
        .transpose()?;
    let (m, out) = crate::analysis::boundary::measure_file(&args.labels, args.entropy_box, range, args.output.as_deref())?;
    print_boundary(&m);
    println!("wrote {}", out.display());
    Ok(())
}

fn print_escape(e: &crate::analysis::escape::EscapeStats) {
    let time = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    println!(
        "escape (radius {}, T = {:.4}): {} of {} escaped, {} still inside at the end; mean escape time {} ± {} (censoring included), over the escaped {} (median {})",
        e.radius,
        e.temperature,
        e.escaped,
        e.trajectories,
        e.censored,
        time(e.mean),
        time(e.mean_stderr),
        time(e.mean_escaped),
        time(e.median_escaped)
    );
}

fn print_boundary(m: &crate::analysis::boundary::BoundaryMeasures) {
    println!("boundary fraction {:.5}, basin entropy S_b = {:.5}, S_bb = {:.5} (boxes of {} pixels, {} labels)", m.boundary_fraction, m.basin_entropy, m.boundary_basin_entropy, m.entropy_box, m.labels);
    match &m.dimension {
        Some(d) => println!("box-counting dimension of the boundary {:.4} ± {:.4} (boxes of {} to {} pixels)", d.dimension, d.stderr, d.fit_range[0], d.fit_range[1]),
        None => println!("box-counting dimension: none (no boundary, or too few box sizes)"),
    }
}

fn serve(args: &ServeArgs) -> crate::Result<()> {
    let scenario = args.scenario()?;
    let mut options = crate::serve::ServeOptions { addr: std::net::SocketAddr::new(args.host, args.port), warm: args.warm.0, ..Default::default() };
    if let Some(n) = args.workers {
        if n == 0 {
            return Err(crate::Error::input("--workers: at least 1"));
        }
        options.workers = n;
    }
    crate::serve::serve(scenario, options, |addr| {
        // A line a script can read the address from (with --port 0).
        println!("serving http://{addr}/ (Ctrl-C stops)");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
}

fn trace(args: &TraceArgs) -> crate::Result<()> {
    let scenario = args.run.grid_scenario("trace")?;
    let (trace, files) = crate::trace::run(&scenario, args.every, &args.run.output)?;
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

fn orbit(args: &OrbitArgs) -> crate::Result<()> {
    let scenario = args.run.grid_scenario("orbit")?;
    let (plan, orbit, files) = crate::analysis::orbit::run(&scenario, &args.options(), &args.run.output)?;
    if !args.run.quiet {
        let mut seen = std::collections::BTreeMap::new();
        for b in &orbit.behaviour {
            *seen.entry(b.describe()).or_insert(0usize) += 1;
        }
        let counts: Vec<String> = seen.iter().map(|(b, n)| format!("{b}: {n}")).collect();
        println!("{} trajectories ({})", orbit.behaviour.len(), counts.join(", "));
        let marked: Vec<_> = orbit.changes.iter().filter(|c| c.is_marked()).collect();
        for c in marked.iter().take(12) {
            let how = if c.refined { "bisected" } else { "grid" };
            println!("  start {}: {} at {} = {} ({how}: {} to {})", c.start, c.describe(), plan.x.name, c.at(), c.low, c.high);
        }
        if marked.len() > 12 {
            println!("  … {} more changes in period_changes.csv", marked.len() - 12);
        }
        println!("wrote {} to {}", files.join(", "), args.run.output.display());
    }
    Ok(())
}

fn landscape(args: &RunArgs) -> crate::Result<()> {
    let scenario = args.grid_scenario("landscape")?;
    let (plan, land, files) = crate::landscape::run(&scenario, &args.output)?;
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
fn as_formula(spec: &SystemSpec, formula: &str) -> crate::Result<System> {
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

fn systems(args: &SystemsArgs) -> crate::Result<()> {
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
