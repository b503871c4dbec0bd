//! The command line's arguments (clap): `basinmap run | trace | sweep | ... | info`.

use crate::scenario::{Axis, Base, Overrides, Scenario};
use crate::{Error, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "basinmap", version, about = "Maps where gradient flows end up: basins of attraction and phase diagrams on the GPU")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Integrate a grid of trajectories, label their fixed points, write the maps.
    ///
    /// With no arguments: the first-order Landau transition over r × m0.
    Run(RunCommandArgs),
    /// Record a few trajectories step by step (observables and gradient norm) to trace.csv, with
    /// trace.png, .svg and .pdf. Takes the same scenario and flags as `run`; every grid point and
    /// sample is one trajectory (at most 64).
    Trace(TraceArgs),
    /// Evaluate the loss over the grid without integrating (the paper's Fig. 2: the effective
    /// loss against b for several gamma) to landscape.npy and landscape.png: curves, one per y
    /// value, for at most 12 y values, a heat map otherwise. Takes the same scenario and flags as `run`.
    Landscape(RunArgs),
    /// Scan one parameter finely with many starts per value: the lowest loss L and every fixed
    /// point per value (sweep.csv), the transitions with their Ehrenfest order, critical value
    /// (bisected) and exponent, and the hysteresis window with its spinodals (transitions.json,
    /// hysteresis.csv), plotted to sweep.png, .svg and .pdf. The x axis is the parameter; the y
    /// axis, if any, a grid of starting values. Takes the same scenario and flags as `run`.
    Sweep(SweepArgs),
    /// The orbit (bifurcation) diagram over one parameter: each value of x (a parameter or a
    /// setting such as lr) and start (the y axis over a state variable, samples) is stepped
    /// --steps as a transient, then --keep steps more are kept. Writes the kept values
    /// (orbit.npy), each trajectory's period (period.npy, orbit.csv; 0: none up to
    /// --max-period), the period doublings, windows and onset of divergence bisected in x
    /// (period_changes.csv), the density of visited states (orbit.png, .svg, .pdf) and with
    /// --lyapunov the largest Lyapunov exponent (lyapunov.npy, lyapunov.png). Takes the same
    /// scenario and flags as `run`; gd and the optimizers (a flow has no map to iterate here).
    Orbit(OrbitArgs),
    /// Metastability under noise: runs the scenario's trajectories under Langevin noise at each
    /// temperature until they leave the ball of radius --escape around their start, and fits
    /// ln(mean escape time) against 1/T (Arrhenius/Kramers): the fitted barrier, beside the
    /// landscape's own for 1-D systems. Writes kramers.csv, kramers.json, kramers.png/svg/pdf and
    /// escape_times.png/svg/pdf. Takes the same scenario and flags as `run` (use --samples for many
    /// noise realisations per start).
    Kramers(KramersArgs),
    /// Boundary measures of a 2-D map: the boundary fraction, basin entropy and box-counting
    /// dimension of the basin boundary, from a run's directory (its labels.npy) or a .npy file
    /// of integer labels; prints them and writes boundary.json beside the labels.
    Measure(MeasureArgs),
    /// Time the fixed workloads (W1: Landau, 500 fixed steps at 1024²; W2: the same to
    /// convergence; W3: the trainability map at 256²) on each engine: trajectory-steps/s, GFLOP/s
    /// and the fraction of the device's peak, median of --repeats runs.
    Bench(BenchArgs),
    /// Join the parts written by `run --shard K/N` (all N of them, any order) into exactly the
    /// outputs of one run of the whole map.
    Merge(MergeArgs),
    /// List the built-in systems with their state, parameters, defaults and observables.
    Systems(SystemsArgs),
    /// List the adapters wgpu sees and which engine `--engine auto` would pick.
    Info,
    /// Explore the map live in the browser: a local web server (127.0.0.1 by default) whose page
    /// shows the scenario's map as tiles computed on demand, zooming without a fixed bottom
    /// (f64 past what f32 resolves), with a legend, a pointer readout, each start's trajectory
    /// on a click, and a panel to change any setting. Its HTTP API (/api/map, /api/view, ...)
    /// answers scripts too. Takes the same scenario and flags as `run`; runs until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct ServeArgs {
    /// A TOML scenario file; the flags below override what it says.
    pub scenario: Option<PathBuf>,
    /// The scenario's settings (as `run` takes them).
    #[command(flatten)]
    pub set: Overrides,
    /// The port to listen on (0: any free one; the address is printed).
    #[arg(long, default_value_t = 8700)]
    pub port: u16,
    /// The address to listen on: 127.0.0.1 serves this machine only; 0.0.0.0 every network
    /// this machine is on (the server has no authentication).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Computations at once (tiles, maps, trajectories; default: the cores, at most 4).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// The served map's tiles of zooms 0 to Z (4^Z tiles at zoom Z; at most 5) are computed as
    /// the server starts, so that the page's first view is ready when it is opened; `none`:
    /// nothing before it is asked for.
    #[arg(long, value_name = "Z", default_value = "2", value_parser = parse_warm)]
    pub warm: Warm,
}

/// `--warm`: the deepest zoom computed at start, if any.
#[derive(Clone, Copy, Debug)]
pub struct Warm(pub Option<u32>);

fn parse_warm(text: &str) -> Result<Warm, String> {
    match text {
        "none" => Ok(Warm(None)),
        _ => match text.parse::<u32>() {
            Ok(z) if z <= 5 => Ok(Warm(Some(z))),
            _ => Err(format!("'{text}': expected a zoom from 0 to 5, or none")),
        },
    }
}

impl ServeArgs {
    /// The served scenario: the file (or the default map), then the flags.
    pub fn scenario(&self) -> Result<Scenario> {
        let base = match &self.scenario {
            Some(path) => Base::File(path),
            None => Base::Defaults,
        };
        self.set.apply(base)
    }
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Record every N-th step (default: about 2000 records per trajectory).
    #[arg(long, value_name = "N")]
    pub every: Option<u32>,
}

#[derive(Args, Debug)]
pub struct OrbitArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Steps kept after the transient (--steps), per trajectory.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub keep: u32,
    /// Longest period looked for (at most half of --keep).
    #[arg(long, value_name = "P", default_value_t = 64)]
    pub max_period: u32,
    /// The observable drawn (default: the system's first, its first state variable).
    #[arg(long, value_name = "NAME")]
    pub variable: Option<String>,
    /// A return within this tolerance, relative to 1 + |x|, closes a period (default: 1e-5 in
    /// f32, 1e-9 in f64).
    #[arg(long, value_name = "TOL")]
    pub period_tol: Option<f64>,
}

impl OrbitArgs {
    pub fn options(&self) -> crate::analysis::orbit::OrbitOptions {
        crate::analysis::orbit::OrbitOptions { keep: self.keep, max_period: self.max_period, variable: self.variable.clone(), lyapunov: self.run.set.lyapunov, period_tol: self.period_tol }
    }
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The observable that is the order parameter (default: b or m, else the first).
    #[arg(long, value_name = "NAME")]
    pub order: Option<String>,
    /// Bisection steps for each critical value and spinodal (each step of a critical value
    /// reruns every start at the midpoint); 0 keeps the sweep's resolution.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub refine: u32,
    /// Skip the adiabatic continuation up and down (hysteresis and spinodals).
    #[arg(long)]
    pub no_hysteresis: bool,
}

#[derive(Args, Debug)]
pub struct KramersArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The temperatures: T1,T2,... or START:STOP:COUNT.
    #[arg(long, value_name = "LIST")]
    pub temperatures: String,
}

impl KramersArgs {
    pub fn temperature_list(&self) -> crate::Result<Vec<f64>> {
        let t = self.temperatures.trim();
        let bad = || Error::input(format!("--temperatures '{t}': expected T1,T2,... or START:STOP:COUNT"));
        if t.contains(':') {
            let axis: Axis = format!("T={t}").parse().map_err(|_| bad())?;
            return Ok(axis.values());
        }
        t.split(',').map(|v| v.trim().parse::<f64>().map_err(|_| bad())).collect()
    }
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shards' output directories.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output directory.
    #[arg(short, long, default_value = "out")]
    pub output: PathBuf,
    /// No summary.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Workloads to run, comma-separated: lorenz (2^23 Lorenz trajectories × 1000 RK4 steps:
    /// a figure for GPUs) runs only when named.
    #[arg(long, value_delimiter = ',', default_values = ["w1", "w2", "w3", "w3-adam"])]
    pub workloads: Vec<crate::bench::Workload>,
    /// Engines, comma-separated: cpu (SIMD packs), cpu-scalar (the CPU engine one trajectory at
    /// a time: the baseline of its SIMD path), gpu (any adapter, software ones too). Default: the
    /// CPU engine, and the GPU engine when wgpu finds a hardware GPU.
    #[arg(long, value_delimiter = ',')]
    pub engines: Option<Vec<String>>,
    /// Grid side for every workload, instead of each one's own (1024, 1024, 256).
    #[arg(long, value_name = "N")]
    pub size: Option<usize>,
    /// Timed runs per workload; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Print the results as JSON on stdout (one array), and nothing else there.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MeasureArgs {
    /// A run's output directory or a labels .npy file (2-D, integer labels).
    pub labels: PathBuf,
    /// Side in pixels of the boxes of the basin entropy.
    #[arg(long = "box", value_name = "PIXELS", default_value_t = crate::analysis::boundary::ENTROPY_BOX)]
    pub entropy_box: usize,
    /// Box sides (pixels) of the dimension fit, MIN:MAX (default: 2 up to a sixteenth of the
    /// shorter side, at least 8 where 4 boxes of 8 fit).
    #[arg(long, value_name = "MIN:MAX")]
    pub fit_range: Option<String>,
    /// Where to write the measures (default: boundary.json beside labels.npy, NAME_boundary.json
    /// beside another NAME.npy).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SystemsArgs {
    /// Show one system in full: its formula, the field derived from it, its parameters.
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
    /// With --show: print the system's WGSL instead (for a formula system, in the --wgsl file
    /// format, ready to edit).
    #[arg(long, requires = "show")]
    pub emit_wgsl: bool,
}

/// `basinmap run`: the flags every map command takes, and refinement (a flag of `run` alone:
/// `sweep`'s `--refine` is its bisections).
#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct RunCommandArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Integrate the map at full resolution only near its boundaries: a coarse lattice first,
    /// its cells that disagree split down to single pixels, the rest filled from their cells
    /// (labels as a full run's; steps and observables of filled pixels are their cell's).
    /// SPACING: the coarse lattice's, a power of two (default: from the map's size).
    #[arg(long, value_name = "SPACING", num_args = 0..=1, require_equals = true, default_missing_value = "auto", conflicts_with_all = ["shard", "stream", "resume"])]
    pub refine: Option<String>,
}

impl RunCommandArgs {
    /// `--refine[=SPACING]`: whether to refine, and the spacing asked for.
    pub fn refine_spacing(&self) -> Result<(bool, Option<usize>)> {
        match self.refine.as_deref() {
            None => Ok((false, None)),
            Some("auto") => Ok((true, None)),
            Some(s) => match s.parse::<usize>() {
                Ok(n) => Ok((true, Some(n))),
                Err(_) => Err(Error::input(format!("--refine={s}: expected a coarse spacing in pixels, a power of two (or --refine alone)"))),
            },
        }
    }
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct RunArgs {
    /// A TOML scenario file; the flags below override what it says.
    pub scenario: Option<PathBuf>,
    /// The scenario's settings (the library's, shared with the Python package's keywords).
    #[command(flatten)]
    pub set: Overrides,
    /// Print the system's WGSL (for a formula: in the --wgsl file format) and exit without running.
    #[arg(long)]
    pub emit_wgsl: bool,
    /// Output directory.
    #[arg(short, long, default_value = "out")]
    pub output: PathBuf,
    /// `run` only: compute the K-th of N contiguous parts of the map (1 <= K <= N) and write its
    /// raw outcomes; `basinmap merge` joins the N parts into the outputs of one run.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// `run` only: continue an interrupted run in the same output directory, reading back the
    /// parts it saved (maps of more than 2^20 trajectories are saved part by part as they go,
    /// streamed ones tile by tile).
    #[arg(long, conflicts_with = "shard")]
    pub resume: bool,
    /// `run` only: stream a 2-D map to disk tile by tile in bounded memory (maps whose outcomes
    /// would take over 2 GiB are streamed anyway): the arrays are written in place, basins.png
    /// row by row, and a deep-zoom pyramid with basins.html to view it.
    #[arg(long, conflicts_with = "shard")]
    pub stream: bool,
    /// `run` only: `all` spreads the map over every hardware GPU (every adapter with
    /// --engine gpu when there is no hardware one), each taking the next part when free.
    #[arg(long, value_name = "one|all", default_value = "one", value_parser = ["one", "all"])]
    pub devices: String,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

impl RunArgs {
    /// `--devices all`.
    pub fn all_devices(&self) -> bool {
        self.devices == "all"
    }

    /// Refuses the flags that only `run` takes (`--shard`) for another command.
    pub fn only_for_run(&self, command: &str) -> Result<()> {
        if self.shard.is_some() || self.resume || self.all_devices() || self.stream {
            return Err(Error::input(format!("--shard, --resume, --stream and --devices apply to `basinmap run` only, not to `{command}`")));
        }
        Ok(())
    }

    /// The scenario of a command that maps a grid (not `run`): as [`Self::scenario`], refusing
    /// `run`'s own flags and sampled starts.
    pub fn grid_scenario(&self, command: &str) -> Result<Scenario> {
        self.only_for_run(command)?;
        let s = self.scenario()?;
        s.require_grid(command)?;
        Ok(s)
    }

    /// The scenario: the file (or the default map, or the system's defaults), then the flags.
    pub fn scenario(&self) -> Result<Scenario> {
        let base = match &self.scenario {
            Some(path) => Base::File(path),
            None => Base::Defaults,
        };
        self.set.apply(base)
    }
}
