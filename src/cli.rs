//! The command line: `basinmap run | systems | info`.

use basinmap::dynamics::Method;
use basinmap::scenario::{Activation, Axis, CustomDef, EngineChoice, Observe, Parameterisation, ParamValue, Scenario, Starts, SystemChoice};
use basinmap::{Error, Result};
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
    Run(RunArgs),
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
    pub fn options(&self) -> basinmap::analysis::orbit::OrbitOptions {
        basinmap::analysis::orbit::OrbitOptions { keep: self.keep, max_period: self.max_period, variable: self.variable.clone(), lyapunov: self.run.lyapunov, period_tol: self.period_tol }
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
    pub fn temperature_list(&self) -> basinmap::Result<Vec<f64>> {
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
    pub workloads: Vec<basinmap::bench::Workload>,
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
    #[arg(long = "box", value_name = "PIXELS", default_value_t = basinmap::analysis::boundary::ENTROPY_BOX)]
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

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct RunArgs {
    /// A TOML scenario file; the flags below override what it says.
    pub scenario: Option<PathBuf>,
    /// The system (see `basinmap systems`).
    #[arg(long, conflicts_with_all = ["loss", "field", "wgsl", "state", "periodic", "forcing_period"])]
    pub system: Option<String>,
    /// A user-defined gradient system: the loss as a formula, e.g. "r*m^2 - m^4 + m^6"; the
    /// flow is its negative gradient (derived symbolically). Needs --state.
    #[arg(long, value_name = "EXPR", conflicts_with_all = ["field", "wgsl"], allow_hyphen_values = true)]
    pub loss: Option<String>,
    /// A user-defined vector field: one formula per state variable, separated by ';', e.g.
    /// "10*(y - x); x*(28 - z) - y; x*y - 8/3*z". Needs --state.
    #[arg(long, value_name = "EXPRS", conflicts_with_all = ["wgsl", "map"], allow_hyphen_values = true)]
    pub field: Option<String>,
    /// A user-defined map, iterated as the dynamics x ← f(x): one formula per state variable,
    /// separated by ';', e.g. "r*x*(1 - x)" or, for Mandelbrot's z² + c, "zr^2 - zi^2 + cr;
    /// 2*zr*zi + ci". Stepped by gd with lr = 1 unless --lr relaxes it (x ← x + lr·(f(x) − x));
    /// converged where |f(x) − x| < tol. Needs --state.
    #[arg(long, value_name = "EXPRS", conflicts_with_all = ["wgsl", "loss"], allow_hyphen_values = true)]
    pub map: Option<String>,
    /// A user-defined system in WGSL: a file defining `fn field(x: State, p: Params) -> State`
    /// (or, for a map, `fn map(x: State, p: Params) -> State`) and optionally
    /// `fn loss(x: State, p: Params) -> f32`. Needs --state.
    #[arg(long, value_name = "FILE")]
    pub wgsl: Option<PathBuf>,
    /// The state variables of a user-defined system, in order: NAME or NAME=START, comma-separated.
    #[arg(long, value_name = "NAMES")]
    pub state: Option<String>,
    /// The state variables that are angles: NAME (period 2π) or NAME=PERIOD (a number or a
    /// multiple of pi), comma-separated. They are taken modulo their period, so a pendulum that
    /// rotates is on a cycle, not diverging. Needs a user-defined system.
    #[arg(long, value_name = "NAMES")]
    pub periodic: Option<String>,
    /// A forced flow's period T (a number or a formula of constants: 2*pi, 2*pi/1.4): the field reads the
    /// time as `t` (in a WGSL file `p.t`) and is T-periodic in it. Cycles are then responses of
    /// k forcing periods, found on the stroboscopic map; dt is fitted to divide T. Needs a
    /// user-defined system and --dynamics rk4.
    #[arg(long, value_name = "PERIOD")]
    pub forcing_period: Option<String>,
    /// Each trajectory's largest Lyapunov exponent where it ended, per step of a map (gd) or per
    /// unit time of a flow (rk4), deterministic runs (lyapunov.npy and its map): at a fixed
    /// point or on a map's cycle from its multipliers, on a limit cycle, a chaotic or an
    /// undecided orbit from a tangent carried along it; a network's (mlp, deep-linear) along its
    /// training, per step. `orbit`: along each kept orbit.
    #[arg(long)]
    pub lyapunov: bool,
    /// Training runs (mlp) that neither trained nor diverged: replay each on the host and
    /// continue it to where it ends, an oscillation (cycle), chaos, a fixed point or divergence
    /// (the trainability map paints cycles gold, chaos purple). Host time per such run.
    #[arg(long)]
    pub continue_untrained: bool,
    /// Print the system's WGSL (for a formula: in the --wgsl file format) and exit without running.
    #[arg(long)]
    pub emit_wgsl: bool,
    /// A parameter or starting value: NAME=VALUE, or NAME=v1,v2,... for vector parameters.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The x axis: NAME=START:STOP:COUNT[:log]; NAME is a parameter, a vector element (a[0])
    /// or a state variable (its starting value).
    #[arg(long, value_name = "AXIS")]
    pub x: Option<String>,
    /// The y axis, as --x; `none` for a 1-D scan (which also draws curves.png).
    #[arg(long, value_name = "AXIS")]
    pub y: Option<String>,
    /// Step rule: gradient descent (gd), an optimizer (momentum, nesterov, adam, adamw, as
    /// PyTorch and optax define them), or RK4 of the flow. Any of its settings (lr, dt,
    /// momentum, beta1, beta2, eps, weight_decay, temperature) can be an axis: --x lr=0.01:1:256:log.
    #[arg(long)]
    pub dynamics: Option<Method>,
    /// Learning rate of gd and the optimizers.
    #[arg(long)]
    pub lr: Option<f64>,
    /// μ of momentum and nesterov (default 0.9).
    #[arg(long, value_name = "MU")]
    pub momentum: Option<f64>,
    /// Adam's β1, decay of the first moment (default 0.9).
    #[arg(long)]
    pub beta1: Option<f64>,
    /// Adam's β2, decay of the second moment (default 0.999).
    #[arg(long)]
    pub beta2: Option<f64>,
    /// Adam's ε (default 1e-8).
    #[arg(long)]
    pub eps: Option<f64>,
    /// Weight decay: weight_decay·x added to the gradient (gd, momentum, nesterov, adam), or
    /// decoupled (adamw). Default 0 (adamw: 0.01, as PyTorch).
    #[arg(long, value_name = "WD")]
    pub weight_decay: Option<f64>,
    /// Time step of rk4.
    #[arg(long)]
    pub dt: Option<f64>,
    /// Most steps per trajectory.
    #[arg(long)]
    pub steps: Option<u32>,
    /// Converged when |gradient| < TOL.
    #[arg(long)]
    pub tol: Option<f64>,
    /// Diverged when some |x_i| > BOUND.
    #[arg(long)]
    pub bound: Option<f64>,
    /// f32 or f64, on both engines (f64 on a GPU with SHADER_F64; not for the networks, WGSL
    /// files, or formulas using exp, log, trigonometric or hyperbolic functions or real powers):
    /// in f64 a step can move x by far less than an f32 ulp, so a tight --tol is reachable.
    #[arg(long)]
    pub precision: Option<basinmap::dynamics::Precision>,
    /// Langevin temperature T: each gd step adds sqrt(2·lr·T)·N(0, I) noise (counter-based, so a
    /// seed gives the same run on any tiling); nothing converges under noise.
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
    /// Escape radius: a trajectory that gets farther than this from its start stops as
    /// `escaped`, its steps the escape time (escape_time.npy).
    #[arg(long, value_name = "R")]
    pub escape: Option<f64>,
    /// Independent random initialisations per grid point (deep-linear, mlp): outputs get a
    /// sample dimension, and fractions.npy the share of each attractor per point.
    #[arg(long)]
    pub samples: Option<u32>,
    /// Seed of the random initial weights and of --uniform's starts (the same seed gives the
    /// same bits on one adapter).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sampled starts instead of a grid: N drawn uniformly in the box of the x and y axes
    /// (log-uniformly along a log axis; their COUNTs are not used), under --seed. Outputs are
    /// 1-D in sample order; attractors.csv gives each share's standard error; starts.png draws
    /// them.
    #[arg(long, value_name = "N", conflicts_with = "starts")]
    pub uniform: Option<u64>,
    /// Sampled starts from a file: .csv with a header naming its columns (state variables,
    /// parameters, a vector's element a[1], settings such as lr) and one row per start, or .npy
    /// of N rows of the state variables in order. As --uniform otherwise; the axes are not used.
    #[arg(long, value_name = "FILE")]
    pub starts: Option<PathBuf>,
    /// Every grid point starts from the same random draws (as a trainability map needs).
    #[arg(long)]
    pub shared_init: bool,
    /// Observables to compute at each end state besides the system's: `sharpness` (the largest
    /// eigenvalue of the loss's Hessian, and under Adam of the preconditioned one, by power
    /// iteration; about 64 to 256 extra field evaluations per trajectory).
    #[arg(long, value_delimiter = ',')]
    pub observe: Vec<Observe>,
    /// mlp: the activation of the hidden layers.
    #[arg(long)]
    pub activation: Option<Activation>,
    /// mlp: the hidden layers apply the activation to GAIN·z (Sohl-Dickstein's tanh(√2·z): 1.4142135623730951).
    #[arg(long)]
    pub gain: Option<f64>,
    /// mlp: standard or mean-field parameterisation.
    #[arg(long)]
    pub parameterisation: Option<Parameterisation>,
    /// auto: a hardware GPU if there is one, else the CPU; gpu: any adapter (software too).
    #[arg(long)]
    pub engine: Option<EngineChoice>,
    /// Output directory.
    #[arg(short, long, default_value = "out")]
    pub output: PathBuf,
    /// The figures' title (recorded with the run).
    #[arg(long)]
    pub title: Option<String>,
    /// Figures' PNG resolution in pixels per inch ([figure] dpi; default 100).
    #[arg(long, value_name = "DPI")]
    pub dpi: Option<f64>,
    /// The files each figure is written to, comma-separated ([figure] formats; default
    /// png,svg,pdf). The raw basin image is always basins.png, one pixel per trajectory.
    #[arg(long = "format", value_name = "FORMATS", value_delimiter = ',')]
    pub formats: Vec<basinmap::scenario::Format>,
    /// Figures' width and height in inches, e.g. 7,4.5 ([figure] size).
    #[arg(long, value_name = "W,H", value_delimiter = ',', num_args = 1)]
    pub figure_size: Vec<f64>,
    /// The colour map of continuous values ([figure] colour_map; default viridis).
    #[arg(long, value_name = "MAP")]
    pub colour_map: Option<basinmap::scenario::ColourMap>,
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
        let custom = self.loss.is_some() || self.field.is_some() || self.map.is_some() || self.wgsl.is_some() || self.state.is_some() || self.periodic.is_some() || self.forcing_period.is_some();
        let mut s = match (&self.scenario, &self.system) {
            (Some(path), _) => Scenario::from_file(path)?,
            (None, Some(system)) => Scenario::for_system(system)?,
            (None, None) if custom => {
                let def = self.custom_def(CustomDef::default())?;
                Scenario::for_custom(def)?
            }
            (None, None) => Scenario::default_map(),
        };
        if let Some(system) = &self.system {
            if system != s.system.name() {
                basinmap::system::System::by_name(system)?;
                s.system = system.as_str().into();
            }
        }
        if custom && self.scenario.is_some() {
            let base = match &s.system {
                SystemChoice::Custom(def) => def.clone(),
                SystemChoice::Named(_) => CustomDef::default(),
            };
            s.system = SystemChoice::Custom(self.custom_def(base)?);
            // A map given here is iterated as written unless --lr relaxes it.
            s.iterate_maps_as_written();
        }
        let mut changed = Vec::new();
        for p in &self.params {
            let (name, text) = p
                .split_once('=')
                .ok_or_else(|| Error::input(format!("--param '{p}': expected NAME=VALUE")))?;
            let value = ParamValue::parse(text).map_err(|e| Error::input(format!("--param '{p}': {e}")))?;
            if s.params.insert(name.trim().to_string(), value.clone()) != Some(value) {
                changed.push(format!("{}={}", name.trim(), text.trim()));
            }
        }
        // A scenario's own title describes its own parameters: one changed from the command
        // line is added to it, so that a figure never names a value it was not drawn with.
        if self.title.is_none() && !changed.is_empty() {
            s.title = s.title.map(|t| format!("{t} (with {})", changed.join(", ")));
            s.figure.title = s.figure.title.take().map(|t| format!("{t} (with {})", changed.join(", ")));
        }
        if let Some(x) = &self.x {
            s.x = x.parse::<Axis>()?;
        }
        if let Some(y) = &self.y {
            s.y = if y == "none" { None } else { Some(y.parse::<Axis>()?) };
        }
        if self.lyapunov {
            s.classify.lyapunov = true;
        }
        if self.continue_untrained {
            s.classify.continue_untrained = true;
        }
        let d = &mut s.dynamics;
        if let Some(m) = self.dynamics {
            d.method = m;
        }
        if let Some(v) = self.lr {
            d.lr = v;
        }
        if let Some(v) = self.dt {
            d.dt = v;
        }
        if let Some(v) = self.momentum {
            d.momentum = v;
        }
        if let Some(v) = self.beta1 {
            d.beta1 = v;
        }
        if let Some(v) = self.beta2 {
            d.beta2 = v;
        }
        if let Some(v) = self.eps {
            d.eps = v;
        }
        if let Some(v) = self.weight_decay {
            d.weight_decay = Some(v);
        }
        if let Some(v) = self.steps {
            d.steps = v;
        }
        if let Some(v) = self.tol {
            d.tol = v;
        }
        if let Some(v) = self.bound {
            d.bound = v;
        }
        if let Some(v) = self.temperature {
            d.temperature = v;
        }
        if let Some(v) = self.precision {
            d.precision = v;
        }
        if let Some(v) = self.escape {
            d.escape = v;
        }
        if let Some(k) = self.samples {
            s.samples = k;
        }
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        if self.shared_init {
            s.shared_init = true;
        }
        if let Some(n) = self.uniform {
            s.starts = Some(Starts { uniform: Some(n), file: None });
        }
        if let Some(file) = &self.starts {
            s.starts = Some(Starts { uniform: None, file: Some(file.clone()) });
        }
        for o in &self.observe {
            if !s.observe.contains(o) {
                s.observe.push(*o);
            }
        }
        if let Some(a) = self.activation {
            s.network.activation = a;
        }
        if let Some(p) = self.parameterisation {
            s.network.parameterisation = p;
        }
        if let Some(g) = self.gain {
            s.network.gain = Some(g);
        }
        if let Some(e) = self.engine {
            s.engine = e;
        }
        if let Some(t) = &self.title {
            s.title = Some(t.clone());
            s.figure.title = None;
        }
        if let Some(dpi) = self.dpi {
            s.figure.dpi = dpi;
        }
        if !self.formats.is_empty() {
            s.figure.formats = self.formats.clone();
        }
        match self.figure_size.as_slice() {
            [] => {}
            &[w, h] => s.figure.size = Some([w, h]),
            other => return Err(Error::input(format!("--figure-size: expected WIDTH,HEIGHT in inches, got {} numbers", other.len()))),
        }
        if let Some(m) = self.colour_map {
            s.figure.colour_map = m;
        }
        s.figure.check()?;
        Ok(s)
    }

    /// `base` with the user-defined system flags applied (a definition given here replaces the
    /// scenario file's).
    fn custom_def(&self, mut def: CustomDef) -> Result<CustomDef> {
        if let Some(state) = &self.state {
            // Split without trimming, so that columns in messages match what was typed.
            def.state = state.split(',').map(String::from).collect();
        }
        if let Some(periodic) = &self.periodic {
            def.periodic = periodic.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect();
        }
        if let Some(period) = &self.forcing_period {
            def.forcing_period = Some(period.clone());
        }
        if self.loss.is_some() || self.field.is_some() || self.map.is_some() || self.wgsl.is_some() {
            def.loss = self.loss.clone();
            def.field = self.field.clone().map(|f| vec![f]);
            def.map = self.map.clone().map(|f| vec![f]);
            def.wgsl = self.wgsl.clone();
            def.written_in = None;
        }
        if def.loss.is_none() && def.field.is_none() && def.map.is_none() && def.wgsl.is_none() {
            return Err(Error::input("--state defines the state of a user-defined system: give it a --loss, --field, --map or --wgsl"));
        }
        if def.state.is_empty() {
            return Err(Error::input("a user-defined system needs --state, e.g. --state x,y or --state m=0.5"));
        }
        Ok(def)
    }
}
