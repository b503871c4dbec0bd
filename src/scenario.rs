//! The Scenario: everything that defines a run (system, parameters, axes, dynamics, engine),
//! read from a TOML file and/or the command line (flags override the file).
//!
//! ```toml
//! title = "first-order Landau transition"
//! system = "landau"
//! x = "r=-0.25:0.5:512"          # NAME=START:STOP:COUNT[:log]
//! y = "m=-1.5:1.5:512"           # a state variable: its starting value
//! engine = "auto"
//! [params]
//! u = -1.0
//! w = 1.0
//! [dynamics]
//! method = "gd"
//! lr = 0.01
//! steps = 20000
//! tol = 1e-5
//! [figure]                       # optional: how figures look
//! dpi = 300
//! formats = ["png", "pdf"]
//! ```

mod overrides;
pub use overrides::{Base, Overrides};

use crate::dynamics::Dynamics;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A grid axis: `NAME=START:STOP:COUNT` with an optional `:log`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Axis {
    /// A parameter, a vector parameter's element (`a[1]`), or a state variable.
    pub name: String,
    pub start: f64,
    pub stop: f64,
    pub count: usize,
    pub log: bool,
}

impl Axis {
    /// The grid values, START and STOP included; geometric for log axes.
    pub fn values(&self) -> Vec<f64> {
        (0..self.count).map(|i| self.value(i)).collect()
    }

    /// Grid value `i` (0 ≤ i < COUNT), as [`Axis::values`] has it.
    pub fn value(&self, i: usize) -> f64 {
        let n = self.count;
        if n <= 1 {
            return self.start;
        }
        let t = i as f64 / (n - 1) as f64;
        if self.log {
            (self.start.ln() + t * (self.stop.ln() - self.start.ln())).exp()
        } else {
            self.start + t * (self.stop - self.start)
        }
    }
}

impl FromStr for Axis {
    type Err = Error;

    fn from_str(s: &str) -> Result<Axis> {
        let bad = |why: &str| {
            Error::input(format!("axis '{s}': {why} (expected NAME=START:STOP:COUNT[:log])"))
        };
        let (name, range) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("empty name"));
        }
        let parts: Vec<&str> = range.split(':').map(str::trim).collect();
        let log = match parts.len() {
            3 => false,
            4 if parts[3] == "log" => true,
            4 => return Err(bad(&format!("unknown option '{}'", parts[3]))),
            _ => return Err(bad("wrong number of fields")),
        };
        let number = |t: &str, what: &str| -> Result<f64> {
            let v: f64 = t.parse().map_err(|_| bad(&format!("{what} '{t}' is not a number")))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(bad(&format!("{what} must be finite")))
            }
        };
        let start = number(parts[0], "START")?;
        let stop = number(parts[1], "STOP")?;
        let count: usize =
            parts[2].parse().map_err(|_| bad(&format!("COUNT '{}' is not a whole number", parts[2])))?;
        if count == 0 {
            return Err(bad("COUNT must be at least 1"));
        }
        if log && (start <= 0.0 || stop <= 0.0) {
            return Err(bad("a log axis needs START and STOP > 0"));
        }
        Ok(Axis { name: name.to_string(), start, stop, count, log })
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}:{}", self.name, self.start, self.stop, self.count)?;
        if self.log {
            write!(f, ":log")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for Axis {
    type Error = Error;
    fn try_from(s: String) -> Result<Axis> {
        s.parse()
    }
}

impl From<Axis> for String {
    fn from(a: Axis) -> String {
        a.to_string()
    }
}

/// A parameter value: a number or, for vector parameters, a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Scalar(f64),
    Vector(Vec<f64>),
}

impl ParamValue {
    /// Parses `0.5` or `1,0.5,0.25`.
    pub fn parse(text: &str) -> Result<ParamValue> {
        let nums: Result<Vec<f64>> = text
            .split(',')
            .map(|t| {
                let t = t.trim();
                t.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| Error::input(format!("'{t}' is not a finite number")))
            })
            .collect();
        let nums = nums?;
        Ok(if nums.len() == 1 && !text.contains(',') {
            ParamValue::Scalar(nums[0])
        } else {
            ParamValue::Vector(nums)
        })
    }
}

/// Which engine integrates the trajectories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// A hardware GPU if wgpu finds one, else the CPU engine.
    #[default]
    Auto,
    /// Any wgpu adapter, software ones included; an error if there is none.
    Gpu,
    /// The CPU engine on all cores.
    Cpu,
}

/// A system the user defines instead of naming a built-in one (see [`crate::system::custom`]):
/// exactly one of `loss`, `field`, `map` and `wgsl`.
///
/// ```toml
/// [system]
/// state = ["m=0.5"]              # NAME or NAME=START
/// loss = "r*m^2 - m^4 + m^6"     # or field = ["-y", "x"], map = ["r*x*(1 - x)"],
///                                # or wgsl = "my_system.wgsl"
/// periodic = ["phi"]             # angles: NAME (period 2π) or NAME=PERIOD
/// forcing_period = "2*pi"        # a forced flow: the field reads the time t
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDef {
    /// The state variables in order, `NAME` or `NAME=START` (start 0 when not given).
    pub state: Vec<String>,
    /// A loss whose gradient flow is the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// The vector field's components (each string may hold several, separated by `;`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Vec<String>>,
    /// A map's components: the dynamics x ← f(x), iterated by gd (lr = 1 unless set: then
    /// x ← x + lr·(f(x) − x)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<Vec<String>>,
    /// A WGSL file defining `fn field` or `fn map` (and optionally `fn loss`); relative to the
    /// scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wgsl: Option<PathBuf>,
    /// The state variables that are angles, `NAME` (period 2π) or `NAME=PERIOD` (a number, or
    /// a multiple of pi: `2*pi`, `pi`): taken modulo their period, so that a rotation is a
    /// cycle and not a divergence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periodic: Vec<String>,
    /// A forced flow's period T (a number, or a multiple of pi): its field reads the time `t`
    /// (in a WGSL file, `p.t`) and is T-periodic in it; cycles are found on the stroboscopic
    /// map, and dt is fitted to divide T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forcing_period: Option<String>,
    /// The scenario file this was read from (for messages and relative paths); none for flags.
    #[serde(skip)]
    pub written_in: Option<PathBuf>,
}

impl CustomDef {
    /// The name part of a `state` entry (`NAME` or `NAME=START`).
    pub fn state_name(entry: &str) -> &str {
        entry.split('=').next().unwrap_or("").trim()
    }
}

/// Two definitions are equal when they define the same system, wherever they were written.
impl PartialEq for CustomDef {
    fn eq(&self, o: &CustomDef) -> bool {
        (&self.state, &self.loss, &self.field, &self.map, &self.wgsl, &self.periodic, &self.forcing_period)
            == (&o.state, &o.loss, &o.field, &o.map, &o.wgsl, &o.periodic, &o.forcing_period)
    }
}

/// The system of a scenario: a built-in one by name, or one the user defines.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SystemChoice {
    Named(String),
    Custom(CustomDef),
}

impl SystemChoice {
    /// The name for messages: the built-in name or "custom".
    pub fn name(&self) -> &str {
        match self {
            SystemChoice::Named(n) => n,
            SystemChoice::Custom(_) => "custom",
        }
    }
}

impl From<&str> for SystemChoice {
    fn from(name: &str) -> Self {
        SystemChoice::Named(name.to_string())
    }
}

// By hand rather than `untagged`, so that a mistake inside `[system]` is reported as such and
// not as "data did not match any variant".
impl<'de> Deserialize<'de> for SystemChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SystemChoice;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a built-in system's name or a [system] table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<SystemChoice, E> {
                Ok(SystemChoice::Named(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<SystemChoice, A::Error> {
                CustomDef::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(SystemChoice::Custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The activation after each hidden layer of an `mlp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Identity,
    #[default]
    Tanh,
    Relu,
    Sigmoid,
}

impl Activation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

/// How an `mlp` scales its layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Parameterisation {
    /// z = W h and f = U h: the weights carry all the scale.
    #[default]
    Standard,
    /// z = W h / sqrt(fan-in) for hidden layers, f = U h / fan-in for the output.
    MeanField,
}

impl Parameterisation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Parameterisation::Standard => "standard",
            Parameterisation::MeanField => "mean-field",
        }
    }
}

/// The options of the network systems that are not numbers on the grid: the `mlp`'s activation,
/// parameterisation and data set.
///
/// ```toml
/// [network]
/// activation = "tanh"
/// gain = 1.4142135623730951  # hidden layers apply the activation to gain·z (default 1)
/// parameterisation = "mean-field"
/// n = 72              # generated samples (default: the number of weights)
/// dim = 8             # input dimension of generated data (default: d0)
/// teacher = [1, -1]   # y = teacher . x + noise * N(0,1); without it y ~ N(0,1)
/// noise = 0.1
/// data_seed = 0
/// # or: x = "x.npy" and y = "y.npy" (.npy or .csv, relative to the scenario file)
/// # deep-linear only: xx = "cov.npy", E[xx^T] as a full matrix (exy then in the same basis)
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkOptions {
    pub activation: Activation,
    /// mlp: the hidden layers apply the activation to gain·z (Sohl-Dickstein's tanh(√2·z));
    /// 1 when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gain: Option<f64>,
    pub parameterisation: Parameterisation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher: Option<Vec<f64>>,
    pub noise: f64,
    pub data_seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<PathBuf>,
    /// deep-linear: E[xxᵀ] as a full d × d matrix (.npy or .csv) instead of its eigenvalues `a`;
    /// `exy` is then E[xy] in the same (input) basis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xx: Option<PathBuf>,
}

impl NetworkOptions {
    /// The names of the options set to something other than their default.
    pub fn given(&self) -> Vec<&'static str> {
        let d = NetworkOptions::default();
        let mut g = Vec::new();
        let mut note = |set: bool, name: &'static str| {
            if set {
                g.push(name)
            }
        };
        note(self.activation != d.activation, "activation");
        note(self.gain.is_some(), "gain");
        note(self.parameterisation != d.parameterisation, "parameterisation");
        note(self.n.is_some(), "n");
        note(self.dim.is_some(), "dim");
        note(self.teacher.is_some(), "teacher");
        note(self.noise != d.noise, "noise");
        note(self.data_seed != d.data_seed, "data_seed");
        note(self.x.is_some(), "x");
        note(self.y.is_some(), "y");
        note(self.xx.is_some(), "xx");
        g
    }
    fn is_default(&self) -> bool {
        self.given().is_empty()
    }
}

fn is_one(v: &u32) -> bool {
    *v == 1
}
fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Settings of the labeller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifyOptions {
    /// End states closer than `cluster_tol · (1 + |x|)` are one fixed point.
    pub cluster_tol: f64,
    /// Clusters of neighbouring parameter points closer than this fraction of the features'
    /// overall scale continue one branch.
    pub match_fraction: f64,
    /// At most this many distinct fixed-point attractors; the rest are pooled as "other".
    pub max_attractors: usize,
    /// Undecided trajectories of gd are tested for cycles of up to this many steps (see
    /// [`crate::classify::cycles`]); 0 or 1: not tested (nor for chaos).
    pub max_period: u32,
    /// Write each trajectory's largest Lyapunov exponent where it ended (lyapunov.npy; maps
    /// stepped by gd and flows stepped by rk4, as the cycle test; see [`crate::classify::chaos`]),
    /// or a network's along its training ([`crate::classify::replay::training_exponents`]).
    pub lyapunov: bool,
    /// The length of the chaos window: steps of a map (default 1024), time of a flow (default
    /// 64). A longer window gives a finite-time λ₁ closer to the exponent itself, at its cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chaos_window: Option<f64>,
    /// Training runs (`mlp`) that neither trained nor diverged are replayed and continued on
    /// the host to where they end: a cycle (oscillating), chaos, a fixed point or divergence
    /// (see [`crate::classify::replay`]). Costs host time per such run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub continue_untrained: bool,
}

/// The longest cycle `[classify] max_period` may ask for.
pub const MAX_PERIOD: u32 = 4096;

impl Default for ClassifyOptions {
    fn default() -> Self {
        ClassifyOptions { cluster_tol: 1e-3, match_fraction: 0.1, max_attractors: 32, max_period: 64, lyapunov: false, chaos_window: None, continue_untrained: false }
    }
}

/// An observable the engines compute at each trajectory's end state besides the system's own
/// (`observe = ["sharpness"]`, `--observe sharpness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Observe {
    /// The largest eigenvalue of the loss's Hessian (and, under Adam, of the preconditioned
    /// Hessian), by power iteration: see [`crate::engine::sharpness`].
    Sharpness,
}

/// A file format of figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A raster image at the figure's `dpi`.
    Png,
    /// Vector graphics (the drawing itself; the others are made from it).
    Svg,
    /// Vector graphics for print, its text real text in an embedded font.
    Pdf,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
            Format::Pdf => "pdf",
        }
    }
}

/// A colour map for continuous values (steps, escape times, loss, an ordered family of curves):
/// matplotlib's perceptually uniform ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ColourMap {
    #[default]
    Viridis,
    /// Made for colour-vision deficiency: blue to yellow.
    Cividis,
    Magma,
    Inferno,
    Plasma,
    /// Diverging, for signed values: blue below the middle, white at it, red above (ColorBrewer's
    /// RdBu reversed); the Lyapunov map's, centred at λ₁ = 0.
    Diverging,
}

/// How figures look and which files they become (`[figure]`; flags `--title`, `--dpi`,
/// `--format`, `--figure-size`, `--colour-map`). Every field has a good default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FigureOptions {
    /// The figures' title (default: the scenario's `title`, else the system and the axes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The x axis's name (default: the parameter's symbol, γ for gamma, m₀ for a start m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    /// The y axis's name on maps and one-panel figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
    /// Width and height in inches (default: each kind of figure its own, about 11 × 7.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<[f64; 2]>,
    /// PNG pixels per inch (text is sized in points, so it keeps its size on paper).
    pub dpi: f64,
    pub colour_map: ColourMap,
    /// The files each figure is written to.
    pub formats: Vec<Format>,
}

/// Limits on `[figure]` that keep a figure's PNG within memory: inches and pixels per inch.
pub const FIGURE_INCHES: std::ops::RangeInclusive<f64> = 1.0..=100.0;
pub const FIGURE_DPI: std::ops::RangeInclusive<f64> = 10.0..=1200.0;
/// The most pixels a figure's PNG may have (20 000 × 20 000).
pub const FIGURE_MAX_PIXELS: f64 = 4e8;

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions { title: None, x_label: None, y_label: None, size: None, dpi: 100.0, colour_map: ColourMap::Viridis, formats: vec![Format::Png, Format::Svg, Format::Pdf] }
    }
}

impl FigureOptions {
    fn is_default(&self) -> bool {
        *self == FigureOptions::default()
    }

    /// Checks sizes and resolution before anything is drawn or allocated.
    pub fn check(&self) -> Result<()> {
        if !FIGURE_DPI.contains(&self.dpi) {
            return Err(Error::input(format!("[figure] dpi = {}: must be between {} and {}", self.dpi, FIGURE_DPI.start(), FIGURE_DPI.end())));
        }
        if let Some([w, h]) = self.size {
            if !(FIGURE_INCHES.contains(&w) && FIGURE_INCHES.contains(&h)) {
                return Err(Error::input(format!("[figure] size = [{w}, {h}]: width and height are inches, each between {} and {}", FIGURE_INCHES.start(), FIGURE_INCHES.end())));
            }
            if w * h * self.dpi * self.dpi > FIGURE_MAX_PIXELS {
                return Err(Error::input(format!("[figure] size = [{w}, {h}] at dpi = {}: {:.0} pixels, more than {FIGURE_MAX_PIXELS:.0}", self.dpi, w * h * self.dpi * self.dpi)));
            }
        }
        if self.formats.is_empty() {
            return Err(Error::input("[figure] formats is empty: name at least one of png, svg, pdf"));
        }
        for (k, label) in [("title", &self.title), ("x_label", &self.x_label), ("y_label", &self.y_label)] {
            if label.as_ref().is_some_and(|l| l.chars().count() > 200) {
                return Err(Error::input(format!("[figure] {k}: longer than 200 characters")));
            }
        }
        Ok(())
    }
}

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub system: SystemChoice,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    pub x: Axis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<Axis>,
    #[serde(default)]
    pub dynamics: Dynamics,
    #[serde(default)]
    pub engine: EngineChoice,
    #[serde(default)]
    pub classify: ClassifyOptions,
    /// Independent random initialisations per grid point (systems with a random start).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub samples: u32,
    /// The seed of the initial weights.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed: u64,
    /// Every grid point starts from the same draws (sample k alike everywhere), so that a map
    /// shows the hyperparameters' effect alone, as in a trainability map; otherwise each point
    /// draws its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_init: bool,
    #[serde(default, skip_serializing_if = "NetworkOptions::is_default")]
    pub network: NetworkOptions,
    /// Observables computed at each end state besides the system's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observe: Vec<Observe>,
    #[serde(default, skip_serializing_if = "FigureOptions::is_default")]
    pub figure: FigureOptions,
    /// Sampled starts instead of a grid (`[starts]`, `--uniform`, `--starts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<Starts>,
}

/// Where a sampled run's starts come from, as basin-stability studies sample: uniform draws in
/// the axes' box, or the rows of a file. Outputs are then 1-D in sample order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Starts {
    /// N starts drawn uniformly (log-uniformly on a log axis) in the box of the x and y axes
    /// (their COUNTs are not used), under the scenario's seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform: Option<u64>,
    /// A .csv file whose header names the columns (state variables, parameters, a vector's
    /// element `a[1]`, or settings such as lr) and whose rows are the starts; or a .npy array
    /// of N rows of the state variables in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

fn one() -> u32 {
    1
}

impl Scenario {
    /// What `basinmap run` renders with no arguments: the first-order Landau transition
    /// (u = −1, w = 1) over r × m0, spinodal at r = 1/3, transition at r = 1/4.
    pub fn default_map() -> Scenario {
        let mut params = BTreeMap::new();
        params.insert("u".into(), ParamValue::Scalar(-1.0));
        params.insert("w".into(), ParamValue::Scalar(1.0));
        Scenario {
            title: Some("first-order Landau transition: F = r m² − m⁴ + m⁶".into()),
            system: "landau".into(),
            params,
            x: "r=-0.25:0.5:512".parse().expect("valid axis"),
            y: Some("m=-1.5:1.5:512".parse().expect("valid axis")),
            dynamics: Dynamics::default(),
            engine: EngineChoice::Auto,
            classify: ClassifyOptions::default(),
            samples: 1,
            seed: 0,
            shared_init: false,
            network: NetworkOptions::default(),
            observe: Vec::new(),
            figure: FigureOptions::default(),
            starts: None,
        }
    }

    /// A scenario for `system` with its default axes (see `basinmap systems`).
    pub fn for_system(system: &str) -> Result<Scenario> {
        let sys = crate::system::System::by_name(system)?;
        if system == "mlp" {
            // Sohl-Dickstein's trainability map at width 8: the example itself, in f32 for
            // speed. 100 full-batch steps from one initialisation, the two layers' rates as axes
            // (its default axes); its boundary is fractal, and it takes seconds on a CPU.
            let mut s = Scenario::from_toml(include_str!("../examples/trainability/width8.toml"))?;
            s.dynamics.precision = crate::dynamics::Precision::F32;
            return Ok(s);
        }
        let (x, y) = sys.default_axes();
        Ok(Scenario {
            title: None,
            system: system.into(),
            params: BTreeMap::new(),
            x: x.parse()?,
            y: Some(y.parse()?),
            dynamics: Dynamics::default(),
            engine: EngineChoice::Auto,
            classify: ClassifyOptions::default(),
            samples: 1,
            seed: 0,
            shared_init: false,
            network: NetworkOptions::default(),
            observe: Vec::new(),
            figure: FigureOptions::default(),
            starts: None,
        })
    }

    /// A scenario for a user-defined system: x over the first state variable, y over the second
    /// if there is one, both over [-1.5, 1.5].
    pub fn for_custom(def: CustomDef) -> Result<Scenario> {
        let axis = |entry: &String| format!("{}=-1.5:1.5:512", CustomDef::state_name(entry)).parse::<Axis>();
        let x = axis(def.state.first().unwrap_or(&String::new()))?;
        let y = def.state.get(1).map(axis).transpose()?;
        let mut s = Scenario {
            title: None,
            system: SystemChoice::Custom(def),
            params: BTreeMap::new(),
            x,
            y,
            dynamics: Dynamics::default(),
            engine: EngineChoice::Auto,
            classify: ClassifyOptions::default(),
            samples: 1,
            seed: 0,
            shared_init: false,
            network: NetworkOptions::default(),
            observe: Vec::new(),
            figure: FigureOptions::default(),
            starts: None,
        };
        s.iterate_maps_as_written();
        Ok(s)
    }

    /// Refuses sampled starts for `command`, which maps a grid (see [`crate::starts`]).
    pub fn require_grid(&self, command: &str) -> Result<()> {
        match self.starts {
            Some(_) => Err(crate::starts::grid_only(command)),
            None => Ok(()),
        }
    }

    /// Whether the system is a user's map (`map = [...]`, or a WGSL file declaring `fn map`).
    pub fn is_map(&self) -> bool {
        match &self.system {
            SystemChoice::Custom(def) => def.map.is_some() || def.wgsl.as_deref().is_some_and(crate::system::custom::wgsl_declares_map),
            SystemChoice::Named(_) => false,
        }
    }

    /// A map is iterated as written: lr = 1, for a scenario that did not set lr (the default
    /// 0.01 is a flow's).
    pub fn iterate_maps_as_written(&mut self) {
        if self.is_map() {
            self.dynamics.lr = 1.0;
        }
    }

    /// Reads a TOML scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario> {
        let text = crate::io::read::read_text(path, "scenario", crate::io::read::MAX_SOURCE_BYTES)?;
        let mut s = Self::parse_toml(&text).map_err(|e| Error::Scenario {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if let SystemChoice::Custom(def) = &mut s.system {
            def.wgsl = def.wgsl.take().map(|w| crate::system::custom::resolve_path(path, &w));
            def.written_in = Some(path.to_path_buf());
        }
        let starts = s.starts.as_mut().and_then(|st| st.file.as_mut());
        for p in [&mut s.network.x, &mut s.network.y, &mut s.network.xx].into_iter().flatten().chain(starts) {
            *p = crate::system::custom::resolve_path(path, p);
        }
        if !Self::sets_lr(&text) {
            s.iterate_maps_as_written();
        }
        Ok(s)
    }

    /// Parses a TOML scenario.
    pub fn from_toml(text: &str) -> Result<Scenario> {
        let mut s = Self::parse_toml(text)?;
        if !Self::sets_lr(text) {
            s.iterate_maps_as_written();
        }
        Ok(s)
    }

    /// The scenario as the TOML says, before a map's default step is given.
    fn parse_toml(text: &str) -> Result<Scenario> {
        toml::from_str(text).map_err(|e| Error::input(e.message().replace('\n', " ")))
    }

    /// Whether a TOML scenario sets `[dynamics] lr` (a map's step is 1 where it does not).
    fn sets_lr(text: &str) -> bool {
        toml::from_str::<toml::Table>(text).ok().and_then(|t| t.get("dynamics").and_then(|d| d.as_table()).map(|d| d.contains_key("lr"))).unwrap_or(false)
    }

    /// The scenario as TOML (written beside the outputs; reads back with [`Scenario::from_toml`]).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_round_trip_and_values() {
        let a: Axis = "r=-1:1:5".parse().unwrap();
        assert_eq!(a.values(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(a.to_string().parse::<Axis>().unwrap(), a);
        let l: Axis = "lr=0.001:1:4:log".parse().unwrap();
        let v = l.values();
        assert!((v[1] - 0.01).abs() < 1e-12 && (v[3] - 1.0).abs() < 1e-12);
        assert_eq!("x=2:3:1".parse::<Axis>().unwrap().values(), vec![2.0]);
    }

    #[test]
    fn axis_errors() {
        for bad in ["r", "r=1:2", "r=a:2:3", "r=0:1:0", "r=0:1:-3", "r=0:1:3:lin", "r=-1:1:3:log", "=0:1:3", "r=0:inf:3"] {
            assert!(bad.parse::<Axis>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn scenario_toml_round_trip() {
        let s = Scenario::default_map();
        assert_eq!(Scenario::from_toml(&s.to_toml()).unwrap(), s);
        assert!(Scenario::from_toml("system = 'landau'\nx = 'r=0:1:2'\nbogus = 1").is_err());
    }

    #[test]
    fn param_values() {
        assert_eq!(ParamValue::parse("0.5").unwrap(), ParamValue::Scalar(0.5));
        assert_eq!(ParamValue::parse("1,0.5").unwrap(), ParamValue::Vector(vec![1.0, 0.5]));
        assert!(ParamValue::parse("1,x").is_err());
        assert!(ParamValue::parse("nan").is_err());
    }
}
