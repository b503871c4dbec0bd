//! The Plan: a scenario resolved against its system — flat input vector, axis targets and
//! values, validated dynamics — ready for an engine.
//!
//! Trajectory `i` of an nx × ny grid sits at `ix = i % nx`, `iy = i / nx`; its inputs are the
//! base inputs with `inputs[x.target] = x.values[ix]` and `inputs[y.target] = y.values[iy]`.
//! Both engines receive the axis values rounded once to f32, so they start from identical bits.
//!
//! A sampled run (`--uniform`, `--starts`, see [`crate::starts`]) is 1-D: x is its first column
//! (nx = N starts) and [`Plan::zipped`] its others, each indexed by the start as x is.

use crate::dynamics::{Dynamics, Method, Setting};
use crate::engine::shader::Shape;
use crate::scenario::{Axis, ClassifyOptions, Starts, EngineChoice, FigureOptions, NetworkOptions, ParamValue, Scenario, SystemChoice};
use crate::system::{CustomSystem, ParamDefault, System};
use std::sync::Arc;
use crate::{Error, Result};
use std::ops::Range;

/// Trajectories per checkpointed part of a long run (and per band the streamed passes read).
pub const PART_TRAJECTORIES: usize = 1 << 20;

/// A named slot of the flat input vector (parameters first, then the starting state).
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub name: String,
    pub offset: usize,
    pub len: usize,
    pub is_state: bool,
}

/// An axis resolved to the input it sets.
#[derive(Clone, Debug, PartialEq)]
pub struct GridAxis {
    /// As the user wrote it (`gamma`, `a[1]`, `m`, `lr`).
    pub name: String,
    /// Index into the flat inputs, or past them into the step rule's settings (`inputs.len() +`
    /// [`Setting::index`]): the order in which the kernels receive them.
    pub target: usize,
    pub values: Vec<f64>,
    pub log: bool,
    /// True when the axis sets a starting value rather than a parameter.
    pub is_state: bool,
}

/// A scenario resolved and checked, ready to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub system: System,
    /// Parameters (flat) then the default starting state.
    pub inputs: Vec<f64>,
    pub n_params: usize,
    /// The shared length of the vector parameters (0 if none).
    pub vec_len: usize,
    pub slots: Vec<Slot>,
    pub x: GridAxis,
    pub y: Option<GridAxis>,
    /// Axes stepped together with x: trajectory g takes `values[g % nx]` of each, as it takes
    /// x's. A sampled run's columns past the first (x); empty on a grid.
    pub zipped: Vec<GridAxis>,
    /// Where a sampled run's starts came from, in words (`10000 uniform starts (seed 0)`, a
    /// file's path); `None` on a grid. Its outputs are 1-D in sample order.
    pub sampled: Option<String>,
    pub dynamics: Dynamics,
    pub classify: ClassifyOptions,
    pub engine: EngineChoice,
    /// Random initialisations per grid point (1 unless the system starts at random).
    pub samples: usize,
    /// Seed of the initial weights.
    pub seed: u64,
    /// Every grid point draws the same starts (see `Scenario::shared_init`).
    pub shared_init: bool,
    /// The trajectories this plan computes, when it is one shard of a map (`--shard K/N`);
    /// `None`: all of them. Engines return outcomes for exactly this range.
    pub part: Option<Range<usize>>,
    /// The random start's slots, found once (each trajectory's start reads them).
    init_scale_slot: Option<usize>,
    init_blocks: Vec<(usize, usize)>,
    step_blocks: Vec<(usize, usize)>,
    /// The engines compute the sharpness observables at each end state
    /// ([`crate::engine::sharpness`]), after the system's own and before the loss record's.
    pub sharpness: bool,
    /// How its figures look (`[figure]`), the title resolved: `[figure] title`, else the
    /// scenario's `title`, else `None` (each figure makes one from the system and axes).
    pub figure: FigureOptions,
}

/// Host bytes one trajectory needs through the pipeline (outcomes, labels, scratch).
fn bytes_per_trajectory(n_obs: usize) -> u64 {
    (4 * 4 + 8 * n_obs) as u64
}

/// The most steps a forced flow's period is cut into (its steps are counted modulo this).
pub const MAX_STEPS_PER_PERIOD: u32 = 1 << 24;

/// Memory this process may use: MemAvailable on Linux, else a conservative 4 GiB.
pub fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(4 << 30)
}

impl Plan {
    /// Resolves `scenario` against its system and checks everything a run needs, the memory to
    /// hold its outcomes included.
    pub fn new(scenario: &Scenario) -> Result<Plan> {
        let plan = Plan::resolve(scenario)?;
        plan.check_memory(plan.n_trajectories())?;
        Ok(plan)
    }

    /// [`Plan::new`] without the memory check: for runs that stream their outcomes to disk tile
    /// by tile (see `stream`), or that decide how to run by the memory it would take.
    pub fn resolve(scenario: &Scenario) -> Result<Plan> {
        // A full E[xxᵀ] becomes the spectrum and rotated E[xy] that deep-linear takes.
        let rotated;
        let scenario = match &scenario.network.xx {
            Some(path) if scenario.system == SystemChoice::Named("deep-linear".into()) => {
                rotated = Scenario { params: crate::system::network::deep_linear::diagonalise(&scenario.params, path)?, ..scenario.clone() };
                &rotated
            }
            _ => scenario,
        };
        let system = match &scenario.system {
            SystemChoice::Named(name) => System::build(name, &scenario.params, &scenario.network)?,
            SystemChoice::Custom(def) => {
                // An axis names a parameter of the formula, unless it names a setting of the step rule.
                let axes: Vec<&str> = [Some(&scenario.x), scenario.y.as_ref()]
                    .into_iter()
                    .flatten()
                    .map(|a| a.name.as_str())
                    .filter(|name| Setting::named(name).is_none())
                    .collect();
                System::Custom(Arc::new(CustomSystem::build(def, &scenario.params, &axes)?))
            }
        };
        let spec = system.spec();
        if system.is_map() && scenario.dynamics.method != Method::Gd {
            return Err(Error::input(format!(
                "a map is iterated, not integrated by {}: use gd (--dynamics gd, method = \"gd\"; lr relaxes the step, x ← x + lr·(f(x) − x), 1 iterates the map)",
                scenario.dynamics.method.as_str()
            )));
        }
        if let Some(w) = scenario.classify.chaos_window.filter(|w| !(w.is_finite() && *w > 0.0 && *w <= 1e7)) {
            return Err(Error::input(format!("[classify] chaos_window {w} is not a positive length of at most 1e7 (steps of a map, time of a flow)")));
        }
        if scenario.classify.max_period > crate::scenario::MAX_PERIOD {
            return Err(Error::input(format!("[classify] max_period {} is over {}", scenario.classify.max_period, crate::scenario::MAX_PERIOD)));
        }
        if !matches!(system, System::Network(_)) && scenario.network != NetworkOptions::default() {
            return Err(Error::input(format!("{}: a [network] table applies only to deep-linear and mlp", spec.name)));
        }
        for name in scenario.params.keys() {
            if spec.param_index(name).is_none() && spec.state_index(name).is_none() {
                let known: Vec<_> = spec
                    .params
                    .iter()
                    .map(|p| &*p.name)
                    .chain(spec.state.iter().map(|s| &*s.name))
                    .collect();
                return Err(Error::input(format!(
                    "{}: unknown parameter '{name}' (known: {})",
                    spec.name,
                    known.join(", ")
                )));
            }
        }

        // Parameters: scalars, then vectors of one shared length.
        let mut scalars = Vec::new();
        let mut vectors: Vec<(&str, Vec<f64>)> = Vec::new();
        for p in spec.params.iter() {
            let given = scenario.params.get(&*p.name);
            match (&p.default, given) {
                (ParamDefault::Scalar(d), None) => scalars.push((&*p.name, *d)),
                (ParamDefault::Scalar(_), Some(ParamValue::Scalar(v))) => scalars.push((&*p.name, *v)),
                (ParamDefault::Scalar(_), Some(ParamValue::Vector(_))) => {
                    return Err(Error::input(format!("parameter '{}' takes one number, not a list", p.name)))
                }
                (ParamDefault::Vector(d), None) => vectors.push((&*p.name, d.to_vec())),
                (ParamDefault::Vector(_), Some(ParamValue::Vector(v))) => vectors.push((&*p.name, v.clone())),
                (ParamDefault::Vector(_), Some(ParamValue::Scalar(v))) => vectors.push((&*p.name, vec![*v])),
            }
        }
        let vec_len = vectors.first().map_or(0, |(_, v)| v.len());
        if vectors.iter().any(|(_, v)| v.len() != vec_len) || (vectors.len() > 0 && vec_len == 0) {
            let lens: Vec<String> = vectors.iter().map(|(n, v)| format!("{n} has {}", v.len())).collect();
            return Err(Error::input(format!(
                "{}: the vector parameters must have one common, non-zero length ({})",
                spec.name,
                lens.join(", ")
            )));
        }

        let mut slots = Vec::new();
        let mut inputs = Vec::new();
        for (name, v) in &scalars {
            slots.push(Slot { name: name.to_string(), offset: inputs.len(), len: 1, is_state: false });
            inputs.push(*v);
        }
        for (name, v) in &vectors {
            slots.push(Slot { name: name.to_string(), offset: inputs.len(), len: v.len(), is_state: false });
            inputs.extend_from_slice(v);
        }
        let n_params = inputs.len();
        for s in spec.state.iter() {
            let start = match scenario.params.get(&*s.name) {
                None => s.default,
                Some(ParamValue::Scalar(v)) => *v,
                Some(ParamValue::Vector(_)) => {
                    return Err(Error::input(format!("start value '{}' takes one number", s.name)))
                }
            };
            slots.push(Slot { name: s.name.to_string(), offset: inputs.len(), len: 1, is_state: true });
            inputs.push(start);
        }

        // TOML allows inf and nan.
        if let Some(slot) = slots.iter().find(|s| inputs[s.offset..s.offset + s.len].iter().any(|v| !v.is_finite())) {
            return Err(Error::input(format!("'{}' must be finite", slot.name)));
        }

        let n_obs = spec.observables.len() + 2 * scenario.observe.len();
        let (x, y, zipped, sampled) = match &scenario.starts {
            None => {
                check_grid_size(scenario, n_obs)?;
                let x = resolve_axis(&system, &slots, &scenario.x, &scenario.dynamics, inputs.len())?;
                let y = scenario.y.as_ref().map(|a| resolve_axis(&system, &slots, a, &scenario.dynamics, inputs.len())).transpose()?;
                if let Some(y) = &y {
                    if y.target == x.target {
                        return Err(Error::input(format!("the x and y axes both set '{}'", x.name)));
                    }
                }
                (x, y, Vec::new(), None)
            }
            Some(starts) => {
                let (x, zipped, source) = sampled_columns(scenario, starts, &system, &slots, inputs.len(), n_obs)?;
                (x, None, zipped, Some(source))
            }
        };

        // The random start: init_scale's slot, and each block's end and its factor's slot.
        let param_slot = |name: &str| slots.iter().find(|s| s.name == name && !s.is_state).map(|s| s.offset);
        let init_scale_slot = if system.spec().random_init { param_slot("init_scale") } else { None };
        let init_blocks = system.spec().init_blocks.iter().filter_map(|b| param_slot(&b.factor).map(|slot| (b.end, slot))).collect();
        let step_blocks = system.spec().step_blocks.iter().filter_map(|b| param_slot(&b.factor).map(|slot| (b.end, slot))).collect();
        let mut plan = Plan {
            system,
            inputs,
            n_params,
            vec_len,
            slots,
            x,
            y,
            zipped,
            sampled,
            dynamics: scenario.dynamics.clone(),
            classify: scenario.classify.clone(),
            engine: scenario.engine,
            samples: scenario.samples as usize,
            seed: scenario.seed,
            shared_init: scenario.shared_init,
            part: None,
            init_scale_slot,
            init_blocks,
            step_blocks,
            sharpness: scenario.observe.contains(&crate::scenario::Observe::Sharpness),
            figure: FigureOptions { title: scenario.figure.title.clone().or_else(|| scenario.title.clone()), ..scenario.figure.clone() },
        };
        plan.figure.check()?;
        plan.check_samples()?;
        plan.check_sharpness()?;
        plan.dynamics.validate()?;
        plan.fit_clock()?;
        plan.validate_params()?;
        if plan.classify.continue_untrained && !crate::classify::replay::applies(&plan) {
            return Err(Error::input(
                "--continue-untrained continues training runs (a system with a loss record, mlp) stepped by gd or an optimizer: deterministic (no temperature or escape radius), with [classify] max_period ≥ 2",
            ));
        }
        if plan.classify.lyapunov && !crate::classify::cycles::observes(&plan) && !crate::classify::replay::follows_training(&plan) {
            return Err(Error::input(
                "--lyapunov follows a tangent along the steps of a map (gd or an optimizer, the tangent spanning its memory too) or of a flow stepped by rk4, or along a network's training: deterministic (no temperature or escape; minibatches only for a network, whose runs on them get NaN), a system with a host model (not a WGSL file), at most 16 state variables unless a network, and [classify] max_period ≥ 2 unless a network",
            ));
        }
        // A user's WGSL is checked inside the full kernel before any work starts.
        crate::engine::shader::check_custom(&Shape::of(&plan))?;
        Ok(plan)
    }

    /// A forced flow (its field reads the time): integrated by rk4 at a constant dt, fitted to
    /// divide the forcing period into a whole number of steps so that the stroboscopic map
    /// samples the same phase every period; no fixed points, so the stop rule's field test is
    /// off (tol 0).
    fn fit_clock(&mut self) -> Result<()> {
        let Some(clock) = self.system.spec().clock else {
            return Ok(());
        };
        if self.dynamics.method != Method::Rk4 {
            return Err(Error::input(format!(
                "a forced flow (its field reads the time t) is integrated by rk4, not {}: add --dynamics rk4",
                self.dynamics.method.as_str()
            )));
        }
        if self.varies(Setting::Dt) {
            return Err(Error::input("a forced flow's dt is fitted to its forcing period: it cannot be an axis"));
        }
        if clock.period > 0.0 {
            let k = (clock.period / self.dynamics.dt).round().max(1.0);
            if k > MAX_STEPS_PER_PERIOD as f64 {
                return Err(Error::input(format!(
                    "dt = {} cuts the forcing period {} into {k:e} steps; at most {MAX_STEPS_PER_PERIOD} (raise dt)",
                    self.dynamics.dt, clock.period
                )));
            }
            self.dynamics.dt = clock.period / k;
        }
        self.dynamics.tol = 0.0;
        Ok(())
    }

    /// Steps per forcing period of a forced flow with a declared period (dt was fitted to
    /// divide it: [`Plan::fit_clock`]); 0 otherwise.
    pub fn steps_per_period(&self) -> u32 {
        match self.system.spec().clock {
            Some(c) if c.period > 0.0 => (c.period / self.dynamics.dt).round() as u32,
            _ => 0,
        }
    }

    /// Checks the parameters and settings at the four corners of the grid (axes are monotone),
    /// or at every sampled start that sets any.
    fn validate_params(&self) -> Result<()> {
        if self.sampled.is_some() {
            if self.axes().all(|a| a.is_state) {
                return self.validate_at(&[]);
            }
            for g in 0..self.nx() {
                let row: Vec<(usize, f64)> = self.axes().map(|a| (a.target, a.values[g])).collect();
                self.validate_at(&row).map_err(|e| Error::input(format!("start {g}: {e}")))?;
            }
            return Ok(());
        }
        let ends = |a: Option<&GridAxis>| match a {
            Some(a) => vec![Some((a.target, a.values[0])), Some((a.target, *a.values.last().unwrap()))],
            None => vec![None],
        };
        for xe in ends(Some(&self.x)) {
            for ye in ends(self.y.as_ref()) {
                let corner: Vec<(usize, f64)> = [xe, ye].into_iter().flatten().collect();
                self.validate_at(&corner)?;
            }
        }
        Ok(())
    }

    /// Checks the parameters and settings with the (target, value) pairs `set` applied.
    fn validate_at(&self, set: &[(usize, f64)]) -> Result<()> {
        let mut p = self.inputs.clone();
        p.extend(self.dynamics.settings());
        for &(t, v) in set {
            p[t] = v;
        }
        self.system.validate(&p[..self.n_params])?;
        for (k, s) in Setting::ALL.iter().enumerate() {
            s.check(p[self.inputs.len() + k])?;
        }
        Ok(())
    }

    /// Refuses sampled starts for `command`, which maps a grid (see [`crate::starts`]).
    pub fn require_grid(&self, command: &str) -> Result<()> {
        match self.sampled {
            Some(_) => Err(crate::starts::grid_only(command)),
            None => Ok(()),
        }
    }

    /// An error for `command`, which steps trajectories on the host without a forced flow's
    /// time, where the system is one.
    pub fn require_autonomous(&self, command: &str) -> Result<()> {
        match self.system.spec().clock {
            Some(_) => Err(Error::input(format!("'basinmap {command}' follows autonomous systems only; this field reads the time t (use 'basinmap run')"))),
            None => Ok(()),
        }
    }

    /// Every axis: x, y, and those stepped with x (see [`Plan::zipped`]).
    pub fn axes(&self) -> impl Iterator<Item = &GridAxis> + '_ {
        std::iter::once(&self.x).chain(self.y.as_ref()).chain(&self.zipped)
    }

    /// The axis (x or y) that sets `setting`, if one does.
    pub fn axis_of(&self, setting: Setting) -> Option<&GridAxis> {
        let target = self.inputs.len() + setting.index();
        self.axes().find(|a| a.target == target)
    }

    /// Whether `axis` can move the fixed points: a parameter, or the weight decay (lr, momentum,
    /// β, ε, dt and the temperature change how a fixed point is approached, not where it is).
    pub fn moves_fixed_points(&self, axis: &GridAxis) -> bool {
        !axis.is_state && (axis.target < self.inputs.len() || axis.target == self.inputs.len() + Setting::WeightDecay.index())
    }

    /// Whether an axis sets `setting`.
    pub fn varies(&self, setting: Setting) -> bool {
        self.axis_of(setting).is_some()
    }

    /// Whether an axis sets any of the step rule's settings (then each trajectory has its own).
    pub fn varies_settings(&self) -> bool {
        self.axes().any(|a| a.target >= self.inputs.len())
    }

    /// The Langevin noise scale sqrt(2·step·T), computed once in f64 on the host, when no axis
    /// sets the step or the temperature; `None`: each trajectory computes its own in the
    /// engine's precision (both engines alike).
    pub fn host_noise(&self) -> Option<f64> {
        let step = if self.dynamics.method.uses_lr() { Setting::Lr } else { Setting::Dt };
        (!self.varies(step) && !self.varies(Setting::Temperature)).then(|| self.dynamics.noise_scale())
    }

    /// The step rule's settings of trajectory `index` (axes applied), in [`Setting::ALL`]'s order.
    pub fn settings_at(&self, index: usize) -> Vec<f64> {
        let n = self.inputs.len();
        let mut s = self.dynamics.settings();
        for (target, v) in self.axis_values(index).filter(|&(t, _)| t >= n) {
            s[target - n] = v;
        }
        s
    }

    /// Whether weight decay is added to the field: a coupled method (all but AdamW and rk4)
    /// whose decay is not 0 or is set by an axis.
    pub fn coupled_decay(&self) -> bool {
        let d = &self.dynamics;
        d.method.coupled_decay() && (d.weight_decay() != 0.0 || self.varies(Setting::WeightDecay))
    }

    /// The dynamics of trajectory `index`: the plan's with the settings its axes give it.
    pub fn dynamics_at(&self, index: usize) -> Dynamics {
        let mut d = self.dynamics.clone();
        for (s, v) in Setting::ALL.iter().zip(self.settings_at(index)) {
            if self.varies(*s) {
                d.set(*s, v);
            }
        }
        d
    }

    fn check_samples(&self) -> Result<()> {
        if self.samples == 0 {
            return Err(Error::input("--samples must be at least 1"));
        }
        let spec = self.system.spec();
        if self.samples > 1 && !spec.random_init && self.dynamics.temperature == 0.0 && !self.varies(Setting::Temperature) {
            return Err(Error::input(format!(
                "--samples {}: {} starts from given values and runs without noise, so every sample would be the same; samples are for systems with a random initialisation (deep-linear, mlp) or runs with --temperature",
                self.samples, spec.name
            )));
        }
        if self.shared_init && !spec.random_init {
            return Err(Error::input(format!("--shared-init: {} starts from given values, not random draws", spec.name)));
        }
        // The generator's counter (sample · ⌈n_state/2⌉ + pair) must not wrap.
        if self.samples as u64 * (self.n_state() as u64).div_ceil(2) > u32::MAX as u64 {
            return Err(Error::input(format!("--samples {} is too many for {} weights", self.samples, self.n_state())));
        }
        Ok(())
    }

    /// Host bytes `trajectories` of this plan need when held in memory at once (outcomes,
    /// labels, scratch).
    pub fn bytes_in_memory(&self, trajectories: usize) -> u64 {
        trajectories as u64 * bytes_per_trajectory(self.n_obs() + self.kept_memory())
    }

    /// Refuses to hold `trajectories` of this plan in memory when they would take more than 80 %
    /// of the memory available.
    pub fn check_memory(&self, trajectories: usize) -> Result<()> {
        let need = self.bytes_in_memory(trajectories);
        let have = available_memory();
        if need > have / 10 * 8 && self.sampled.is_some() {
            return Err(Error::input(format!(
                "{} starts held in memory need about {:.1} GiB, more than the {:.1} GiB of memory available; sample fewer, or split them into shards (`--shard K/N`)",
                self.nx(),
                need as f64 / (1u64 << 30) as f64,
                have as f64 / (1u64 << 30) as f64
            )));
        }
        if need > have / 10 * 8 {
            return Err(Error::input(format!(
                "a grid of {} x {} held in memory needs about {:.1} GiB, more than the {:.1} GiB of memory available; lower COUNT, or stream it to disk (`basinmap run --stream`)",
                self.nx(),
                self.ny(),
                need as f64 / (1u64 << 30) as f64,
                have as f64 / (1u64 << 30) as f64
            )));
        }
        Ok(())
    }

    /// Settings that are legal but likely to disappoint, in words.
    /// `undecided`: trajectories of the run that ended undecided; the warning that `--tol` is
    /// out of the precision's reach is given only when some did (near the fixed points the
    /// reach is finer than near the starts it is estimated from, so it often holds anyway).
    pub fn warnings(&self, undecided: u64) -> Vec<String> {
        let mut w = Vec::new();
        // A step moves x by h·|field|; below half an ulp of x (≈ |x|·ε/2) it is lost, so
        // gradients under |x|·ε/(2h) cannot be reached.
        let h = self.dynamics.step_size();
        let scale = self.start_scale().max(1.0);
        let (eps, name) = match self.dynamics.precision {
            crate::dynamics::Precision::F32 => (f32::EPSILON as f64, "f32"),
            crate::dynamics::Precision::F64 => (f64::EPSILON, "f64"),
        };
        let reach = scale * eps / (2.0 * h);
        // Under noise nothing converges (the stop rule is off): tol does not matter.
        if undecided > 0 && self.dynamics.temperature == 0.0 && self.dynamics.tol > 0.0 && self.dynamics.tol < reach {
            w.push(format!(
                "{undecided} trajectories ended undecided, and --tol {:e} is below what {name} steps of {h} can resolve near |x| = {scale:.2} (about {reach:.1e}): some may have stalled; raise --tol or the step, or use --precision f64",
                self.dynamics.tol,
            ));
        }
        w
    }

    /// The largest |starting value| on the grid.
    fn start_scale(&self) -> f64 {
        let state = &self.inputs[self.n_params..];
        let mut m = state.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for a in self.axes().filter(|a| a.is_state) {
            m = a.values.iter().fold(m, |m, v| m.max(v.abs()));
        }
        m
    }

    pub fn nx(&self) -> usize {
        self.x.values.len()
    }
    pub fn ny(&self) -> usize {
        self.y.as_ref().map_or(1, |y| y.values.len())
    }
    /// Trajectories: grid points times samples.
    pub fn n_trajectories(&self) -> usize {
        self.nx() * self.ny() * self.samples
    }
    /// The grid point (row-major, x fastest) of trajectory `index`; its sample is `index % samples`.
    pub fn point_of(&self, index: usize) -> usize {
        index / self.samples
    }
    pub fn n_state(&self) -> usize {
        self.inputs.len() - self.n_params
    }
    pub fn n_obs(&self) -> usize {
        self.system.spec().observables.len() + self.extra_observables().len()
    }

    /// Values of optimizer memory the engines return with each trajectory's end state: the
    /// whole memory of an optimizer that has one (momentum, Nesterov, Adam, AdamW) where the
    /// host continues undecided trajectories from them to find cycles and chaos
    /// ([`crate::classify::cycles::observes`]), or the engine does
    /// ([`crate::classify::continued::applies`]), else 0.
    pub fn kept_memory(&self) -> usize {
        if crate::classify::cycles::observes(self) || crate::classify::continued::applies(self) {
            self.dynamics.method.memory().len(self.n_state())
        } else {
            0
        }
    }

    /// The observables the engines compute besides the system's ([`Plan::sharpness`]).
    pub fn extra_observables(&self) -> &'static [&'static str] {
        if self.sharpness {
            crate::engine::sharpness::names(self.dynamics.method.memory())
        } else {
            &[]
        }
    }

    /// Where the [`Plan::extra_observables`] start among a trajectory's observables: after the
    /// system's own (the loss record's, if any, come last).
    pub fn extras_offset(&self) -> usize {
        self.system.spec().model_observables().len()
    }

    /// Every observable's name in the order of the outcomes: the system's own, the extras, the
    /// loss record's.
    pub fn observable_names(&self) -> Vec<&str> {
        let spec = self.system.spec();
        let own = spec.model_observables().len();
        let mut names: Vec<&str> = spec.observables[..own].iter().map(|o| &*o.name).collect();
        names.extend(self.extra_observables());
        names.extend(spec.observables[own..].iter().map(|o| &*o.name));
        names
    }

    /// The sharpness needs a loss whose Hessian it measures.
    fn check_sharpness(&self) -> Result<()> {
        if self.sharpness && !self.system.is_gradient() {
            return Err(Error::input(format!(
                "--observe sharpness needs a loss: the field of {} is not a gradient",
                self.system.spec().name
            )));
        }
        Ok(())
    }

    /// The flat parameters with the x axis (a parameter) set to `value`: a sweep's parameter
    /// point (an axis over a start value or a setting leaves them as they are).
    pub fn params_at_x(&self, value: f64) -> Vec<f64> {
        let mut p = self.inputs[..self.n_params].to_vec();
        if self.x.target < self.n_params {
            p[self.x.target] = value;
        }
        p
    }

    /// The f64 inputs of trajectory `index` (parameters then start).
    pub fn inputs_at(&self, index: usize) -> Vec<f64> {
        let n = self.inputs.len();
        let mut p = self.inputs.clone();
        for (target, v) in self.axis_values(index).filter(|&(t, _)| t < n) {
            p[target] = v;
        }
        p
    }

    /// (target, value) of each axis at trajectory `index`: an input, or past the inputs a setting.
    pub fn axis_values(&self, index: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let g = self.point_of(index);
        let ix = g % self.nx();
        let x = (self.x.target, self.x.values[ix]);
        let zipped = self.zipped.iter().map(move |a| (a.target, a.values[ix]));
        std::iter::once(x).chain(self.y.as_ref().map(|y| (y.target, y.values[g / self.nx()]))).chain(zipped)
    }

    /// The starting state of trajectory `index` as both engines compute it in f32: the start
    /// values (axes applied), plus init_scale·N(0, 1) per component for a random start (times
    /// the component's block factor, see [`Plan::init_blocks`]).
    pub fn start_f32(&self, index: usize) -> Vec<f32> {
        let inputs: Vec<f32> = self.inputs_at(index).iter().map(|&v| v as f32).collect();
        let mut x = inputs[self.n_params..].to_vec();
        self.add_init_noise(&inputs, index, &mut x);
        x
    }

    /// Adds init_scale·z to `x` for a random start (see shaders/trajectory.wgsl `start_pair`);
    /// `inputs` are the trajectory's inputs in the run's precision.
    pub fn add_init_noise<T: crate::real::Real>(&self, inputs: &[T], index: usize, x: &mut [T]) {
        let Some(slot) = self.init_scale_slot() else {
            return;
        };
        let key = crate::rng::key(self.seed);
        let point = if self.shared_init { 0 } else { self.point_of(index) as u32 };
        let base = (index % self.samples) as u32 * (x.len() as u32).div_ceil(2);
        let mut block = self.init_blocks.iter().peekable();
        for (j, xj) in x.iter_mut().enumerate() {
            while block.next_if(|(end, _)| j >= *end).is_some() {}
            // init_scale times the block's factor, in this order on both engines.
            let scale = match block.peek() {
                Some(&&(_, factor)) => inputs[slot] * inputs[factor],
                None => inputs[slot],
            };
            // The f32 draw in any precision: f64 runs start from the same numbers.
            *xj = *xj + scale * T::of(crate::rng::normal_f32(key, point, base, j as u32) as f64);
        }
    }

    /// The random start's blocks as (end component, slot of the block's factor on init_scale);
    /// see [`crate::system::InitBlock`].
    pub fn init_blocks(&self) -> &[(usize, usize)] {
        &self.init_blocks
    }

    /// The step's per-block factors as (end component, slot of the factor); see
    /// [`crate::system::SystemSpec::step_blocks`].
    pub fn step_blocks(&self) -> &[(usize, usize)] {
        &self.step_blocks
    }

    /// The slot of `init_scale` for systems with a random start.
    pub fn init_scale_slot(&self) -> Option<usize> {
        self.init_scale_slot
    }

    /// The trajectories to compute: the shard's part, or all of them.
    pub fn range(&self) -> Range<usize> {
        self.part.clone().unwrap_or(0..self.n_trajectories())
    }

    /// Restricts the plan to the `k`-th (1-based) of `n` contiguous, near-equal parts of its
    /// trajectories. Every trajectory's inputs, start and noise depend only on its index, so the
    /// parts together compute exactly what the whole plan does.
    pub fn shard(&mut self, k: usize, n: usize) -> Result<()> {
        let total = self.n_trajectories();
        if n == 0 || k == 0 || k > n {
            return Err(Error::input(format!("--shard {k}/{n}: expected K/N with 1 <= K <= N")));
        }
        if n > total {
            return Err(Error::input(format!("--shard {k}/{n}: more shards than the map's {total} trajectories")));
        }
        let bound = |j: usize| (total as u128 * j as u128 / n as u128) as usize;
        self.part = Some(bound(k - 1)..bound(k));
        Ok(())
    }

    /// Restricts the plan to the trajectories `range` (a tile of a streamed map).
    pub fn restrict(&mut self, range: Range<usize>) {
        debug_assert!(range.end <= self.n_trajectories());
        self.part = Some(range);
    }

    /// The coordinates of the per-trajectory arrays' dimensions, in their order: the y axis
    /// (rows), the x axis, then `sample` (0..K) when there are several samples. axes.npz holds
    /// them under these names.
    /// A sampled run's are its columns instead, each with a value per start.
    pub fn axes_arrays(&self) -> Vec<(String, Vec<f64>)> {
        if self.sampled.is_some() {
            return self.axes().map(|a| (a.name.clone(), a.values.clone())).collect();
        }
        let mut axes: Vec<(String, Vec<f64>)> = self.y.iter().map(|y| (y.name.clone(), y.values.clone())).collect();
        axes.push((self.x.name.clone(), self.x.values.clone()));
        if self.samples > 1 {
            axes.push(("sample".into(), (0..self.samples).map(|s| s as f64).collect()));
        }
        axes
    }

    /// Splits the trajectories of [`Plan::range`] into contiguous tiles of at most `max` each.
    pub fn tiles(&self, max: usize) -> Vec<Range<usize>> {
        let r = self.range();
        let max = max.max(1);
        (0..r.len().div_ceil(max)).map(|t| r.start + t * max..(r.start + (t + 1) * max).min(r.end)).collect()
    }
}

/// Sizes the grid from the scenario's counts alone, before anything that grows with them is
/// allocated: at most 2^32 − 1 trajectories, axis values that fit in memory, and for a 1-D scan
/// (which cannot stream) outcomes that fit in memory.
fn check_grid_size(scenario: &Scenario, n_obs: usize) -> Result<()> {
    let nx = scenario.x.count as u64;
    let ny = scenario.y.as_ref().map_or(1, |y| y.count as u64);
    let n = nx.checked_mul(ny).and_then(|g| g.checked_mul(scenario.samples as u64));
    let Some(n) = n.filter(|&n| n <= u32::MAX as u64) else {
        let samples = if scenario.samples > 1 { format!(" x {} samples", scenario.samples) } else { String::new() };
        return Err(Error::input(format!("a grid of {nx} x {ny}{samples} trajectories is more than 2^32 - 1")));
    };
    let have = available_memory();
    let axis_bytes = 8 * (nx + ny);
    let need = if scenario.y.is_none() { axis_bytes + n * bytes_per_trajectory(n_obs) } else { axis_bytes };
    if need > have / 10 * 8 {
        return Err(Error::input(format!(
            "a grid of {nx} x {ny} needs about {:.1} GiB of memory, more than the {:.1} GiB available; lower COUNT",
            need as f64 / (1u64 << 30) as f64,
            have as f64 / (1u64 << 30) as f64
        )));
    }
    Ok(())
}

/// A sampled run's columns, resolved: the first (the plan's x), those stepped with it, and
/// where they came from in words. Sizes are checked before anything grows with N.
fn sampled_columns(scenario: &Scenario, starts: &Starts, system: &System, slots: &[Slot], n_inputs: usize, n_obs: usize) -> Result<(GridAxis, Vec<GridAxis>, String)> {
    if scenario.samples > 1 {
        return Err(Error::input(format!("--samples {}: with sampled starts each start is one trajectory; draw more starts instead", scenario.samples)));
    }
    let (columns, source) = match (starts.uniform, &starts.file) {
        (Some(n), None) => {
            let axes: Vec<&Axis> = std::iter::once(&scenario.x).chain(scenario.y.as_ref()).collect();
            if n == 0 || n > crate::starts::MAX_STARTS {
                return Err(Error::input(format!("--uniform {n}: expected 1 to {} starts", crate::starts::MAX_STARTS)));
            }
            let need = n * (8 * axes.len() as u64 + bytes_per_trajectory(n_obs));
            let have = available_memory();
            if need > have / 10 * 8 {
                return Err(Error::input(format!(
                    "--uniform {n}: the starts and their outcomes need about {:.1} GiB, more than the {:.1} GiB of memory available; sample fewer, or split them into shards (`--shard K/N`)",
                    need as f64 / (1u64 << 30) as f64,
                    have as f64 / (1u64 << 30) as f64
                )));
            }
            (crate::starts::uniform(&axes, n, scenario.seed)?, format!("{n} uniform starts (seed {})", scenario.seed))
        }
        (None, Some(path)) => {
            let state: Vec<&str> = system.spec().state.iter().map(|s| &*s.name).collect();
            (crate::starts::read(path, &state)?, path.display().to_string())
        }
        _ => return Err(Error::input("[starts]: give one of uniform = N (--uniform N) or file = PATH (--starts FILE)")),
    };
    let mut resolved = Vec::with_capacity(columns.len());
    for c in columns {
        let axis = resolve_values(system, slots, &c.name, c.values, c.log, &scenario.dynamics, n_inputs, "column")?;
        if let Some(twin) = resolved.iter().find(|a: &&GridAxis| a.target == axis.target) {
            return Err(Error::input(format!("columns '{}' and '{}' both set '{}'", twin.name, c.name, axis.name)));
        }
        resolved.push(axis);
    }
    let x = resolved.remove(0);
    Ok((x, resolved, source))
}

fn resolve_axis(system: &System, slots: &[Slot], axis: &Axis, dynamics: &Dynamics, n_inputs: usize) -> Result<GridAxis> {
    resolve_values(system, slots, &axis.name, axis.values(), axis.log, dynamics, n_inputs, "axis")
}

/// An axis, or a column of sampled starts (`what`: "axis", "column"), resolved to the input it
/// sets, its values checked.
#[allow(clippy::too_many_arguments)]
fn resolve_values(system: &System, slots: &[Slot], name: &str, values: Vec<f64>, log: bool, dynamics: &Dynamics, n_inputs: usize, what: &str) -> Result<GridAxis> {
    let spec = system.spec();
    // A setting of the step rule, unless the system has a parameter or state of that name.
    if let Some(setting) = Setting::named(name).filter(|_| !slots.iter().any(|s| s.name == name)) {
        if !setting.used_by(dynamics.method) {
            return Err(Error::input(format!(
                "{what} '{}': --dynamics {} does not use {}",
                name,
                dynamics.method.as_str(),
                setting.name()
            )));
        }
        for &v in &values {
            setting.check(v).map_err(|e| Error::input(format!("{what} '{}': {e}", name)))?;
        }
        if let Some(bad) = values.iter().find(|v| (**v as f32) == 0.0 && **v != 0.0 || (**v as f32).is_infinite()) {
            return Err(Error::input(format!("{what} '{}': value {bad} is out of f32's range", name)));
        }
        return Ok(GridAxis { name: setting.name().to_string(), target: n_inputs + setting.index(), values, log, is_state: false });
    }
    let (base, index) = match name.split_once('[') {
        Some((b, rest)) => {
            let i: usize = rest
                .strip_suffix(']')
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| Error::input(format!("{what} '{}': expected NAME[INDEX]", name)))?;
            (b.trim(), Some(i))
        }
        None => (name, None),
    };
    let slot = slots.iter().find(|s| s.name == base).ok_or_else(|| {
        let names: Vec<_> = slots.iter().map(|s| s.name.as_str()).chain(Setting::ALL.iter().filter(|s| s.used_by(dynamics.method)).map(|s| s.name())).collect();
        Error::input(format!(
            "{what} '{}': {} has no parameter, state variable or setting of --dynamics {} called '{base}' (known: {})",
            name,
            spec.name,
            dynamics.method.as_str(),
            names.join(", ")
        ))
    })?;
    if let Some(p) = spec.params.iter().find(|p| p.name == base) {
        if p.integer {
            return Err(Error::input(format!(
                "{what} '{}': {base} is a whole-number parameter and cannot be an axis; run one map per value",
                name
            )));
        }
    }
    let is_vector = matches!(spec.params.iter().find(|p| p.name == base).map(|p| &p.default), Some(ParamDefault::Vector(_)));
    let target = match (is_vector, index) {
        (false, None) => slot.offset,
        (true, Some(i)) if i < slot.len => slot.offset + i,
        (true, Some(_)) => {
            return Err(Error::input(format!("{what} '{}': {base} has {} elements", name, slot.len)))
        }
        (true, None) => {
            return Err(Error::input(format!(
                "{what} '{}': {base} is a vector parameter; name one element, e.g. {base}[0]",
                name
            )))
        }
        (false, Some(_)) => {
            return Err(Error::input(format!("{what} '{}': {base} is not a vector parameter", name)))
        }
    };
    if let Some(bad) = values.iter().find(|v| (**v as f32).is_infinite()) {
        return Err(Error::input(format!("{what} '{}': value {bad} overflows f32", name)));
    }
    Ok(GridAxis { name: name.to_string(), target, values, log, is_state: slot.is_state })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        Scenario::from_toml(text).unwrap()
    }

    #[test]
    fn resolves_landau_default() {
        let p = Plan::new(&Scenario::default_map()).unwrap();
        assert_eq!(p.n_params, 5);
        assert_eq!(p.inputs[2], -1.0);
        assert_eq!(p.x.target, 0);
        assert_eq!(p.y.as_ref().unwrap().target, 5);
        assert!(p.y.as_ref().unwrap().is_state);
        let inputs = p.inputs_at(512 * 511 + 511);
        assert_eq!(inputs[0], 0.5);
        assert_eq!(inputs[5], 1.5);
    }

    #[test]
    fn vector_parameters() {
        let p = Plan::new(&scenario("system='effective'\nx='a[1]=0.1:1:4'\ny='gamma=0.1:1:3'\n[params]\na=[1,2,3]\nexy=[0.1,0.2,0.3]")).unwrap();
        assert_eq!(p.vec_len, 3);
        assert_eq!(p.x.target, 6);
        assert!(Plan::new(&scenario("system='effective'\nx='gamma=0.1:1:4'\n[params]\na=[1,2,3]")).is_err());
        assert!(Plan::new(&scenario("system='effective'\nx='a=0.1:1:4'")).is_err());
        assert!(Plan::new(&scenario("system='effective'\nx='a[2]=0.1:1:4'")).is_err());
        assert!(Plan::new(&scenario("system='effective'\nx='D=1:3:3'")).is_err());
    }

    #[test]
    fn warns_when_tol_is_out_of_f32_reach() {
        let mut s = Scenario::default_map();
        assert!(Plan::new(&s).unwrap().warnings(1).is_empty());
        s.dynamics.tol = 1e-6;
        assert!(Plan::new(&s).unwrap().warnings(1)[0].contains("--tol 1e-6"));
        assert!(Plan::new(&s).unwrap().warnings(0).is_empty(), "no warning when nothing stalled");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Plan::new(&scenario("system='nope'\nx='r=0:1:2'")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='q=0:1:2'")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='r=0:1:2'\n[params]\nzz=1")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='r=0:1:2'\ny='r=0:1:2'")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='r=0:1:2'\n[dynamics]\nlr=-0.1")).is_err());
        assert!(Plan::new(&scenario("system='effective'\nx='gamma=0:1:2'\n[params]\nD=1.5")).is_err());
        assert!(Plan::new(&scenario("system='effective'\nx='sigma2=-1:1:2'")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='r=0:1:2'\n[params]\nu=inf")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='r=0:1:2'\n[params]\nm=nan")).is_err());
        assert!(Plan::new(&scenario("system='landau'\nx='r=0:1:1000000'\ny='m=0:1:1000000'")).is_err());
    }
}
