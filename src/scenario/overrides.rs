//! Changes to a scenario as a user gives them: the command line's flags and the Python package's
//! keyword arguments are the same [`Overrides`], so a keyword does exactly what its flag does.
//!
//! The command line flattens [`Overrides`] into its own arguments (`basinmap run --lr 0.1`); the
//! Python package writes its keywords as the same flags and parses them with
//! [`Overrides::from_flags`] (`run(lr=0.1)` is `--lr=0.1`).

use super::{Activation, Axis, ColourMap, CustomDef, EngineChoice, Format, Observe, ParamValue, Parameterisation, Scenario, Starts, SystemChoice};
use crate::dynamics::{Method, Precision};
use crate::{Error, Result};
use clap::{Args, Parser};
use std::path::{Path, PathBuf};

/// Where a scenario starts before its overrides.
#[derive(Clone, Copy, Debug)]
pub enum Base<'a> {
    /// No scenario: the default map, a named system's defaults, or a user-defined system's.
    Defaults,
    /// A TOML scenario file (relative paths in it are relative to the file).
    File(&'a Path),
    /// A TOML scenario given as text (relative paths in it are relative to the working directory).
    Toml(&'a str),
    /// A scenario already read (the one `basinmap serve` serves; its paths as it resolved them).
    Scenario(&'a Scenario),
}

/// Every setting of a scenario that a flag (or a Python keyword) can change; `None`, `false` or
/// empty leaves the scenario's own.
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct Overrides {
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
    pub precision: Option<Precision>,
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
    /// A network's (mlp, deep-linear) inputs: a .npy or .csv file of n rows ([network] x).
    #[arg(long, value_name = "FILE")]
    pub data_x: Option<PathBuf>,
    /// A network's targets: a .npy or .csv file of n rows ([network] y).
    #[arg(long, value_name = "FILE")]
    pub data_y: Option<PathBuf>,
    /// deep-linear: E[xxᵀ] as a full matrix, a .npy or .csv file ([network] xx).
    #[arg(long, value_name = "FILE")]
    pub data_xx: Option<PathBuf>,
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
    /// The figures' title (recorded with the run).
    #[arg(long)]
    pub title: Option<String>,
    /// Figures' PNG resolution in pixels per inch ([figure] dpi; default 100).
    #[arg(long, value_name = "DPI")]
    pub dpi: Option<f64>,
    /// The files each figure is written to, comma-separated ([figure] formats; default
    /// png,svg,pdf). The raw basin image is always basins.png, one pixel per trajectory.
    #[arg(long = "format", value_name = "FORMATS", value_delimiter = ',')]
    pub formats: Vec<Format>,
    /// Figures' width and height in inches, e.g. 7,4.5 ([figure] size).
    #[arg(long, value_name = "W,H", value_delimiter = ',', num_args = 1)]
    pub figure_size: Vec<f64>,
    /// The colour map of continuous values ([figure] colour_map; default viridis).
    #[arg(long, value_name = "MAP")]
    pub colour_map: Option<ColourMap>,
}

/// The overrides alone, as a command line of flags (for [`Overrides::from_flags`]).
#[derive(Parser, Debug)]
#[command(name = "basinmap", no_binary_name = true, disable_help_flag = true, allow_negative_numbers = true)]
struct OverridesOnly {
    #[command(flatten)]
    overrides: Overrides,
}

impl Overrides {
    /// Parses flags as `basinmap run` takes them (`--lr=0.1`, `--param=u=-1`, `--lyapunov`),
    /// without a scenario path; an unknown flag or a bad value is one line naming it.
    pub fn from_flags<I, T>(flags: I) -> Result<Overrides>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        match OverridesOnly::try_parse_from(flags) {
            Ok(o) => Ok(o.overrides),
            Err(e) => {
                let text = e.render().to_string();
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("bad setting").trim();
                Err(Error::input(first.strip_prefix("error: ").unwrap_or(first).to_string()))
            }
        }
    }

    /// Whether a user-defined system is given here (a formula, a WGSL file or its settings).
    fn defines_system(&self) -> bool {
        self.loss.is_some() || self.field.is_some() || self.map.is_some() || self.wgsl.is_some() || self.state.is_some() || self.periodic.is_some() || self.forcing_period.is_some()
    }

    /// The scenario: `base` (or the default map, or the system's defaults), then these overrides.
    pub fn apply(&self, base: Base<'_>) -> Result<Scenario> {
        let custom = self.defines_system();
        let given = !matches!(base, Base::Defaults);
        let mut s = match (base, &self.system) {
            (Base::File(path), _) => Scenario::from_file(path)?,
            (Base::Toml(text), _) => Scenario::from_toml(text)?,
            (Base::Scenario(s), _) => s.clone(),
            (Base::Defaults, Some(system)) => Scenario::for_system(system)?,
            (Base::Defaults, None) if custom => Scenario::for_custom(self.custom_def(CustomDef::default())?)?,
            (Base::Defaults, None) => Scenario::default_map(),
        };
        if let Some(system) = &self.system {
            if system != s.system.name() {
                crate::system::System::by_name(system)?;
                s.system = system.as_str().into();
            }
        }
        if custom && given {
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
            let (name, text) = p.split_once('=').ok_or_else(|| Error::input(format!("--param '{p}': expected NAME=VALUE")))?;
            let value = ParamValue::parse(text).map_err(|e| Error::input(format!("--param '{p}': {e}")))?;
            if s.params.insert(name.trim().to_string(), value.clone()) != Some(value) {
                changed.push(format!("{}={}", name.trim(), text.trim()));
            }
        }
        // A scenario's own title describes its own parameters: one changed here is added to it,
        // so that a figure never names a value it was not drawn with.
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
        s.classify.lyapunov |= self.lyapunov;
        s.classify.continue_untrained |= self.continue_untrained;
        let d = &mut s.dynamics;
        if let Some(m) = self.dynamics {
            d.method = m;
        }
        for (value, field) in [
            (self.lr, &mut d.lr),
            (self.dt, &mut d.dt),
            (self.momentum, &mut d.momentum),
            (self.beta1, &mut d.beta1),
            (self.beta2, &mut d.beta2),
            (self.eps, &mut d.eps),
            (self.tol, &mut d.tol),
            (self.bound, &mut d.bound),
            (self.temperature, &mut d.temperature),
            (self.escape, &mut d.escape),
        ] {
            if let Some(v) = value {
                *field = v;
            }
        }
        if let Some(v) = self.weight_decay {
            d.weight_decay = Some(v);
        }
        if let Some(v) = self.steps {
            d.steps = v;
        }
        if let Some(v) = self.precision {
            d.precision = v;
        }
        if let Some(k) = self.samples {
            s.samples = k;
        }
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        s.shared_init |= self.shared_init;
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
        for (file, field) in [(&self.data_x, &mut s.network.x), (&self.data_y, &mut s.network.y), (&self.data_xx, &mut s.network.xx)] {
            if let Some(file) = file {
                *field = Some(file.clone());
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

    /// `base` with the user-defined system's settings applied (a definition given here replaces
    /// the scenario's).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_as_the_command_line_s() {
        let o = Overrides::from_flags(["--lr=0.25", "--param=u=-1", "--lyapunov", "--x=r=-1:1:8", "--observe=sharpness"]).unwrap();
        assert_eq!(o.lr, Some(0.25));
        assert_eq!(o.params, vec!["u=-1".to_string()]);
        assert!(o.lyapunov);
        let s = o.apply(Base::Defaults).unwrap();
        assert_eq!(s.dynamics.lr, 0.25);
        assert_eq!(s.params["u"], ParamValue::Scalar(-1.0));
        assert_eq!(s.x.values().len(), 8);
        assert!(s.classify.lyapunov);
    }

    #[test]
    fn a_bad_flag_is_one_line_naming_it() {
        let e = Overrides::from_flags(["--lr=fast"]).unwrap_err().to_string();
        assert!(e.contains("--lr") && e.contains("fast") && !e.contains('\n'), "{e}");
        let e = Overrides::from_flags(["--colour=red"]).unwrap_err().to_string();
        assert!(e.contains("--colour") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn a_toml_base_takes_overrides_as_a_file_does() {
        let text = Scenario::default_map().to_toml();
        let o = Overrides::from_flags(["--steps=10"]).unwrap();
        let s = o.apply(Base::Toml(&text)).unwrap();
        assert_eq!(s.dynamics.steps, 10);
        assert_eq!(s.x, Scenario::default_map().x);
    }
}
