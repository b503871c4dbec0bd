//! One view of `basinmap serve`: the served scenario with a request's settings, the square of
//! its two axes, and that square's tiles on demand.
//!
//! Tiles are 256 × 256 pixels of a quadtree: tile (z, tx, ty) covers the fractions
//! [tx, tx + 1]/2^z of the x axis and [ty, ty + 1]/2^z of the y axis counted from its top
//! (stop) downward, its pixels centred in their cells, every coordinate in f64. A tile is one
//! plan of the scenario (its axes narrowed to the tile), integrated by refinement where the
//! plan allows it ([`crate::engine::refine`]), labelled by [`crate::outputs::label_map`] as
//! `basinmap run` labels, and its attractors renumbered by the view's [`Registry`]. Past the
//! zoom where f32 cannot tell neighbouring pixels apart, tiles are computed in f64.

use super::registry::{EndPoint, Registry};
use crate::classify::Kind;
use crate::dynamics::Precision;
use crate::engine::{self, Engine};
use crate::plan::Plan;
use crate::scenario::{Axis, EngineChoice, Scenario};
use crate::{Error, Result};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Pixels along a tile's side.
pub const TILE: usize = 256;
/// Deepest zoom served: 2^40 tiles along an axis (an OpenSeadragon image 2^48 pixels wide,
/// still exact in a JavaScript number).
pub const MAX_LEVELS: u32 = 40;
/// f32 tiles while a pixel spans at least 2^-17 of the axis' magnitude (64 f32 ulps); f64 past
/// that, down to 2^-46 (64 f64 ulps).
const F32_RESOLVES: f64 = 1.0 / (1u64 << 17) as f64;
const F64_RESOLVES: f64 = 1.0 / (1u64 << 46) as f64;
/// Samples per pixel a view's tiles take (a tile is then 2^22 trajectories).
const MAX_SAMPLES: u32 = 64;
/// Trajectories integrated between looks at the stop flag (a request whose client went away).
const STOP_EVERY: usize = 1 << 13;

/// A tile's address: zoom, column, row (row 0 at the top).
pub type TileKey = (u32, u64, u64);

/// What a tile's pixels show.
#[derive(Clone, Debug, PartialEq)]
pub enum Show {
    /// Each pixel in its attractor's colour, darker the more steps it took.
    Basins,
    /// The steps to settle, on a log scale over the step budget.
    Steps,
    /// One observable at the end state, over the range it spans on the zoom-0 tile.
    Observable(usize),
    /// The largest Lyapunov exponent (a view with `lyapunov`): blue below 0, red above, white
    /// at 0, on a scale symmetric about 0 (as lyapunov_annotated.png's).
    Lyapunov,
    /// A training map's trainability (as trainability.png): trained blue, not red, each
    /// shaded by the rank of its loss measure among the zoom-0 tile's runs of its class.
    Trainability,
}

/// A computed tile, its trajectories in the plan's order (row 0 at the bottom).
pub struct Tile {
    /// The view's attractor id of each trajectory.
    pub labels: Vec<u32>,
    pub steps: Vec<u32>,
    pub status: Vec<u32>,
    pub observables: Vec<f32>,
    pub n_obs: usize,
    /// Each trajectory's largest Lyapunov exponent (empty unless the view asks for it).
    pub lyapunov: Vec<f32>,
    pub samples: usize,
    pub f64: bool,
    /// Trajectories integrated (fewer than the tile's where refinement filled some).
    pub computed: usize,
}

impl Tile {
    fn bytes(&self) -> usize {
        4 * (self.labels.len() + self.steps.len() + self.status.len() + self.observables.len() + self.lyapunov.len())
    }
}

/// One axis of a view: the scenario's, its START and STOP the view's edges.
#[derive(Clone, Debug, Serialize)]
pub struct ViewAxis {
    pub name: String,
    pub start: f64,
    pub stop: f64,
    pub log: bool,
    /// A starting value rather than a parameter.
    pub is_state: bool,
}

impl ViewAxis {
    /// The value at fraction `t` of the axis (0 at START, 1 at STOP).
    pub fn at(&self, t: f64) -> f64 {
        if self.log {
            (self.start.ln() + t * (self.stop.ln() - self.start.ln())).exp()
        } else {
            self.start + t * (self.stop - self.start)
        }
    }

    /// The grid axis of `n` pixels centred in the cells of fractions [t0, t1].
    pub fn pixels(&self, t0: f64, t1: f64, n: usize) -> Axis {
        let h = (t1 - t0) / n as f64;
        Axis { name: self.name.clone(), start: self.at(t0 + h / 2.0), stop: self.at(t1 - h / 2.0), count: n, log: self.log }
    }

    /// The deepest zoom at which a pixel spans at least `resolves` of the axis' magnitude.
    fn deepest(&self, resolves: f64) -> u32 {
        let (span, magnitude) = if self.log { ((self.stop / self.start).ln().abs(), 1.0) } else { ((self.stop - self.start).abs(), self.start.abs().max(self.stop.abs())) };
        let z = (span / (TILE as f64 * resolves * magnitude.max(span))).log2().floor();
        if z.is_finite() {
            z.clamp(0.0, MAX_LEVELS as f64) as u32
        } else {
            0
        }
    }
}

/// A view's scenario and what is known of its tiles.
pub struct View {
    /// The served scenario with the view's settings; its axes are the view's.
    pub scenario: Scenario,
    pub x: ViewAxis,
    pub y: ViewAxis,
    /// Zooms 0 ..= levels are served.
    pub levels: u32,
    /// The first zoom computed in f64, if any is.
    pub f64_from: Option<u32>,
    /// The observables' names, for [`Show::Observable`].
    pub observables: Vec<String>,
    /// What the view's tiles can show: basins, steps, then lyapunov and trainability where the
    /// view has them, then the observables.
    pub shows: Vec<String>,
    /// The observables holding a training map's converged flag, Σ loss/loss0 and Σ loss0/loss
    /// (for [`Show::Trainability`]).
    training: Option<[usize; 3]>,
    /// The system's parameters not on an axis, with their values (the scenario's or the
    /// default): what the page offers to change.
    pub params: Vec<(String, String)>,
    registry: Mutex<Registry>,
    cache: Mutex<Cache>,
    /// A lock per tile asked for and not cached yet, with how many requests hold a [`Claim`]
    /// on it: the one holding the lock computes, the others wait (a tile is computed, and
    /// registered, once).
    pending: Arc<Mutex<Pending>>,
    engines: [OnceLock<std::result::Result<Arc<dyn Engine>, String>>; 2],
    /// The scales of the continuous layers, from the zoom-0 tile.
    scales: OnceLock<Scales>,
    cache_bytes: usize,
}

/// The tiles being asked for: each one's lock and how many claims it has.
type Pending = HashMap<TileKey, (Arc<tokio::sync::Mutex<()>>, usize)>;

/// A request's claim on a tile's computation ([`View::claim`]); the last claim on a tile
/// to go removes its lock, on every path (computed, stopped, failed). It owns what it needs,
/// so that it can go with the computation to a worker thread and outlive the request.
pub struct Claim {
    pending: Arc<Mutex<Pending>>,
    key: TileKey,
    /// Held while the tile is computed.
    pub lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = pending.get_mut(&self.key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                pending.remove(&self.key);
            }
        }
    }
}

#[derive(Default)]
struct Cache {
    tiles: HashMap<TileKey, Arc<Tile>>,
    order: VecDeque<TileKey>,
    bytes: usize,
}

impl View {
    /// The view of `scenario` (a 2-D grid, checked here) keeping at most `cache_bytes` of tiles.
    pub fn new(mut scenario: Scenario, cache_bytes: usize) -> Result<View> {
        // A view's axes are its square's edges; their COUNT is the tile's (whatever was asked:
        // a huge one must not be allocated).
        scenario.x.count = TILE;
        if let Some(y) = &mut scenario.y {
            y.count = TILE;
        }
        if scenario.samples > MAX_SAMPLES {
            return Err(Error::input(format!("samples={}: a view's tiles take at most {MAX_SAMPLES} samples per pixel", scenario.samples)));
        }
        let plan = Plan::resolve(&scenario)?;
        plan.check_memory(TILE * TILE * plan.samples)?;
        if plan.sampled.is_some() {
            return Err(Error::input("serve shows a grid: sampled starts (--uniform, --starts) have no tiles"));
        }
        let Some(y_axis) = scenario.y.clone() else {
            return Err(Error::input("serve shows a 2-D map: give a y axis (--y NAME=START:STOP:COUNT)"));
        };
        let axis = |a: &Axis, grid: &crate::plan::GridAxis| ViewAxis { name: a.name.clone(), start: a.start, stop: a.stop, log: a.log, is_state: grid.is_state };
        let x = axis(&scenario.x, &plan.x);
        let y = axis(&y_axis, plan.y.as_ref().expect("a y axis"));
        for a in [&x, &y] {
            if a.start == a.stop {
                return Err(Error::input(format!("axis {}: START and STOP are equal; a view needs a range", a.name)));
            }
        }
        let f32_deepest = x.deepest(F32_RESOLVES).min(y.deepest(F32_RESOLVES));
        let has_f64 = plan.system.has_host_model() && !(plan.engine == EngineChoice::Gpu && engine::f64_obstacle(&plan.system).is_some());
        let (levels, f64_from) = match (plan.dynamics.precision, has_f64) {
            (Precision::F64, _) => (x.deepest(F64_RESOLVES).min(y.deepest(F64_RESOLVES)), Some(0)),
            (Precision::F32, true) => {
                let deepest = x.deepest(F64_RESOLVES).min(y.deepest(F64_RESOLVES));
                (deepest, (deepest > f32_deepest).then_some(f32_deepest + 1))
            }
            (Precision::F32, false) => (f32_deepest, None),
        };
        let observables: Vec<String> = plan.observable_names().iter().map(|s| s.to_string()).collect();
        let column = |name: &str| observables.iter().position(|o| o == name);
        let training = match (plan.system.spec().loss_record, column("converged"), column("loss_sum"), column("loss_inv_sum")) {
            (true, Some(a), Some(b), Some(c)) => Some([a, b, c]),
            _ => None,
        };
        let mut shows = vec!["basins".to_string(), "steps".to_string()];
        if plan.classify.lyapunov {
            shows.push("lyapunov".into());
        }
        if training.is_some() {
            shows.push("trainability".into());
        }
        shows.extend(observables.iter().cloned());
        let list = |v: &[f64]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
        let params = plan
            .system
            .spec()
            .params
            .iter()
            .filter(|p| p.name != x.name && p.name != y.name)
            .map(|p| {
                let value = match (scenario.params.get(p.name.as_ref()), &p.default) {
                    (Some(crate::scenario::ParamValue::Scalar(v)), _) | (None, crate::system::ParamDefault::Scalar(v)) => v.to_string(),
                    (Some(crate::scenario::ParamValue::Vector(v)), _) => list(v),
                    (None, crate::system::ParamDefault::Vector(v)) => list(v),
                };
                (p.name.to_string(), value)
            })
            .collect();
        Ok(View { scenario, x, y, levels, f64_from, observables, shows, training, params, registry: Mutex::default(), cache: Mutex::default(), pending: Arc::default(), engines: Default::default(), scales: OnceLock::new(), cache_bytes })
    }

    /// Checks a tile's address.
    pub fn check(&self, key: TileKey) -> Result<()> {
        let (z, tx, ty) = key;
        if z > self.levels {
            return Err(Error::input(format!("zoom {z}: this view has zooms 0 to {}", self.levels)));
        }
        if tx >> z != 0 || ty >> z != 0 {
            return Err(Error::input(format!("tile ({tx}, {ty}) is outside zoom {z}'s {0} × {0} tiles", 1u64 << z)));
        }
        Ok(())
    }

    /// The scenario of tile `key`: the view's with its axes narrowed to the tile (in f64 past
    /// [`View::f64_from`]).
    pub fn tile_scenario(&self, key: TileKey) -> Scenario {
        self.window_scenario(key.0, key.1..=key.1, key.2..=key.2)
    }

    /// The scenario of the tiles `txs` × `tys` of zoom `z` as one map: what `basinmap run`
    /// computes for them (export).
    pub fn window_scenario(&self, z: u32, txs: std::ops::RangeInclusive<u64>, tys: std::ops::RangeInclusive<u64>) -> Scenario {
        let mut s = self.scenario.clone();
        let (x, y) = self.window_axes(z, txs, tys);
        (s.x, s.y) = (x, Some(y));
        if self.f64_from.is_some_and(|f| z >= f) {
            s.dynamics.precision = Precision::F64;
        }
        s
    }

    /// The x and y grid axes of the tiles `txs` × `tys` of zoom `z` as one map.
    fn window_axes(&self, z: u32, txs: std::ops::RangeInclusive<u64>, tys: std::ops::RangeInclusive<u64>) -> (Axis, Axis) {
        let side = (1u64 << z) as f64;
        let (nx, ny) = ((txs.end() - txs.start() + 1) as usize, (tys.end() - tys.start() + 1) as usize);
        let x = self.x.pixels(*txs.start() as f64 / side, (*txs.end() + 1) as f64 / side, nx * TILE);
        // Rows count from the top (STOP) down.
        let y = self.y.pixels(1.0 - (*tys.end() + 1) as f64 / side, 1.0 - *tys.start() as f64 / side, ny * TILE);
        (x, y)
    }

    /// Tile `key`, from the cache or computed (the zoom-0 tile first: it numbers the view's
    /// attractors). `should_stop` is polled while integrating.
    pub fn tile(&self, key: TileKey, should_stop: &dyn Fn() -> bool) -> Result<Arc<Tile>> {
        self.fetch(key, should_stop).map(|(tile, _)| tile)
    }

    /// As [`View::tile`], and whether this call computed it (rather than a cache or another
    /// request computing it at the same time). Blocks while another request computes it: call
    /// it off the async runtime (the server waits with [`Claim::lock`] instead).
    pub fn fetch(&self, key: TileKey, should_stop: &dyn Fn() -> bool) -> Result<(Arc<Tile>, bool)> {
        self.check(key)?;
        if key != (0, 0, 0) {
            self.fetch((0, 0, 0), should_stop)?;
        }
        if let Some(t) = self.cached(key) {
            return Ok((t, false));
        }
        let claim = self.claim(key);
        let _computing = claim.lock.blocking_lock();
        if let Some(t) = self.cached(key) {
            return Ok((t, false));
        }
        Ok((self.compute_and_cache(key, should_stop)?, true))
    }

    /// A claim on tile `key`'s computation: whoever holds its [`Claim::lock`] computes the tile
    /// (after checking the cache again); a request that finds it held waits, and then finds the
    /// tile cached or, where the computation was stopped, computes it itself.
    pub fn claim(&self, key: TileKey) -> Claim {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pending.entry(key).or_default();
        entry.1 += 1;
        Claim { pending: self.pending.clone(), key, lock: entry.0.clone() }
    }

    /// Computes tile `key` (the zoom-0 tile must be cached or be `key`), caches it and, for
    /// the zoom-0 tile, takes the view's scales from it. Hold its [`Claim::lock`].
    pub fn compute_and_cache(&self, key: TileKey, should_stop: &dyn Fn() -> bool) -> Result<Arc<Tile>> {
        let tile = Arc::new(self.compute(key, should_stop)?);
        if key == (0, 0, 0) {
            let _ = self.scales.set(Scales::of(&tile, self.training));
        }
        self.insert(key, tile.clone());
        Ok(tile)
    }

    /// Caches `tile` as `key`, the oldest tiles leaving (never the zoom-0 tile) past the budget.
    fn insert(&self, key: TileKey, tile: Arc<Tile>) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if !cache.tiles.contains_key(&key) {
            cache.bytes += tile.bytes();
            cache.tiles.insert(key, tile.clone());
            cache.order.push_back(key);
            // The oldest go first; the zoom-0 tile stays (it is every other's reference).
            while cache.bytes > self.cache_bytes {
                let Some(old) = cache.order.pop_front() else { break };
                if old == (0, 0, 0) {
                    cache.order.push_back(old);
                    if cache.order.len() == 1 {
                        break;
                    }
                    continue;
                }
                if let Some(t) = cache.tiles.remove(&old) {
                    cache.bytes -= t.bytes();
                }
            }
        }
    }

    /// Tile `key` if it is in the cache.
    pub fn cached(&self, key: TileKey) -> Option<Arc<Tile>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).tiles.get(&key).cloned()
    }

    /// The engine for this view's tiles in f32 or f64, opened once.
    fn engine(&self, plan: &Plan, f64: bool) -> Result<Arc<dyn Engine>> {
        let slot = &self.engines[f64 as usize];
        slot.get_or_init(|| engine::for_plan(plan, false).map(Arc::from).map_err(|e| e.to_string())).clone().map_err(Error::input)
    }

    fn compute(&self, key: TileKey, should_stop: &dyn Fn() -> bool) -> Result<Tile> {
        let scenario = self.tile_scenario(key);
        let plan = Plan::resolve(&scenario)?;
        let f64 = plan.dynamics.precision == Precision::F64;
        let engine = self.engine(&plan, f64)?;
        let n = plan.n_trajectories();
        let (outcomes, computed) = match engine::refine::spacing(&plan, None) {
            Ok(spacing) => {
                let (o, stats) = engine::refine::run(engine.as_ref(), &plan, spacing, STOP_EVERY, &|_, _| {}, should_stop)?;
                (o, stats.computed as usize)
            }
            Err(_) => (engine::run_in_tiles(engine.as_ref(), &plan, STOP_EVERY, &|_, _| {}, should_stop)?, n),
        };
        let map = crate::outputs::label_map(&scenario, &plan, outcomes, engine.info(), 0.0, 0.0, None, Vec::new(), Some(engine.as_ref()))?;
        let (labels, outcomes) = (&map.classification.labels, &map.outcomes);
        let local = &map.classification.attractors;
        let mut slowest = vec![0u32; local.len()];
        for (&l, &s) in labels.iter().zip(&outcomes.steps) {
            slowest[l as usize] = slowest[l as usize].max(s);
        }
        let features = crate::classify::label::features(&plan);
        let (side, nx, samples) = ((1u64 << key.0) as f64, plan.nx(), plan.samples);
        let (x_param, y_param) = (!self.x.is_state, !self.y.is_state);
        // Each attractor's end points, one per parameter point it reaches on the tile.
        let ends = |k: usize| {
            let mut seen = std::collections::HashSet::new();
            let mut points = Vec::new();
            for (i, &l) in labels.iter().enumerate() {
                if l as usize != k {
                    continue;
                }
                let (ix, iy) = ((i / samples) % nx, (i / samples) / nx);
                let place = (if x_param { ix } else { 0 }, if y_param { iy } else { 0 });
                if seen.insert(place) {
                    // Fractions of the view: x from the left, y from the bottom.
                    let u = (key.1 as f64 + (ix as f64 + 0.5) / TILE as f64) / side;
                    let v = 1.0 - (key.2 as f64 + 1.0 - (iy as f64 + 0.5) / TILE as f64) / side;
                    let at = [if x_param { u } else { 0.0 }, if y_param { v } else { 0.0 }];
                    points.push(EndPoint { at, features: features.iter().map(|&f| outcomes.observables[i * outcomes.n_obs + f] as f64).collect() });
                }
            }
            points
        };
        let ids = self.registry.lock().unwrap_or_else(PoisonError::into_inner).register(local, &ends, &slowest);
        Ok(Tile {
            labels: labels.iter().map(|&l| ids[l as usize]).collect(),
            steps: outcomes.steps.clone(),
            status: outcomes.status.clone(),
            observables: outcomes.observables.clone(),
            n_obs: outcomes.n_obs,
            lyapunov: outcomes.lyapunov.clone(),
            samples,
            f64,
            computed,
        })
    }

    /// The view's attractors found so far and their colours (as hex).
    pub fn legend(&self) -> Vec<LegendEntry> {
        let r = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        r.attractors()
            .iter()
            .zip(r.colours())
            .map(|(a, &c)| LegendEntry {
                id: a.id,
                kind: a.kind,
                stability: a.stability_str().to_string(),
                period: a.period,
                colour: crate::render::palette::hex(c),
                values: a.observables.iter().map(|o| o.value).collect(),
            })
            .collect()
    }

    /// Tile `tile`'s pixels as PNG, showing `show`.
    pub fn png(&self, tile: &Tile, show: &Show) -> Result<Vec<u8>> {
        use crate::render::{basins::shaded, sample_mean_image};
        let budget = self.scenario.dynamics.steps.max(1) as f32;
        let img = match show {
            Show::Basins => {
                let r = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
                let colours = r.colours();
                sample_mean_image(TILE, TILE, tile.samples, |i| {
                    let l = tile.labels[i];
                    let slowest = r.slowest(l);
                    shaded(colours[l as usize], tile.steps[i].min(slowest), slowest)
                })
            }
            Show::Steps => sample_mean_image(TILE, TILE, tile.samples, |i| viridis((1.0 + tile.steps[i] as f32).ln() / (1.0 + budget).ln())),
            Show::Observable(k) => {
                // The mean of a pixel's samples' values (those that have one), not of colours.
                let (lo, hi) = self.scales.get().and_then(|s| s.observables.get(*k).copied()).unwrap_or((0.0, 1.0));
                let value = |i: usize| Some(tile.observables[i * tile.n_obs + k] as f64).filter(|v| v.is_finite());
                let colour = |v: f64| viridis(if hi > lo { (v as f32 - lo) / (hi - lo) } else { 0.5 }).map(|c| c.round() as u8);
                crate::render::mean_value_image(TILE, TILE, tile.samples, value, colour, crate::render::side::MISSING)
            }
            Show::Lyapunov => {
                let reach = self.scales.get().map_or(1.0, |s| s.lyapunov_reach);
                crate::render::lyapunov::image(TILE, TILE, tile.samples, &tile.lyapunov, reach)
            }
            Show::Trainability => {
                let (Some(scales), Some([converged, loss_sum, loss_inv_sum])) = (self.scales.get(), self.training) else {
                    return Err(Error::input("show=trainability: this view is not a training map"));
                };
                sample_mean_image(TILE, TILE, tile.samples, |i| {
                    let obs = &tile.observables[i * tile.n_obs..(i + 1) * tile.n_obs];
                    let trained = obs[converged] > 0.5;
                    let rank = scales.rank(trained, if trained { obs[loss_sum] } else { obs[loss_inv_sum] });
                    crate::render::trainability::run_colour(trained, rank, Some(crate::engine::Status::from_code(tile.status[i])))
                })
            }
        };
        crate::render::pyramid::png_bytes(&img).map_err(|e| Error::Io(std::io::Error::other(e)))
    }

    /// What `show` (one of [`View::shows`]) asks for.
    pub fn show(&self, name: &str) -> Result<Show> {
        let name = if name.is_empty() { "basins" } else { name };
        if !self.shows.iter().any(|s| s == name) {
            return Err(Error::input(format!("show={name}: this view shows {}", self.shows.join(", "))));
        }
        Ok(match name {
            "basins" => Show::Basins,
            "steps" => Show::Steps,
            "lyapunov" => Show::Lyapunov,
            "trainability" if self.training.is_some() => Show::Trainability,
            _ => Show::Observable(self.observables.iter().position(|o| o == name).expect("a listed observable")),
        })
    }

    /// What each of [`View::shows`] paints, in a line (after the zoom-0 tile: its scales).
    pub fn show_keys(&self) -> Vec<(String, String)> {
        let scales = self.scales.get();
        self.shows
            .iter()
            .map(|name| {
                let key = match self.show(name) {
                    Ok(Show::Basins) => "each attractor in its colour (the legend), darker the more steps it took".to_string(),
                    Ok(Show::Steps) => format!("steps to settle, on a log scale from 1 (dark) to the budget of {} (yellow)", self.scenario.dynamics.steps),
                    Ok(Show::Observable(k)) => {
                        let (lo, hi) = scales.and_then(|s| s.observables.get(k).copied()).unwrap_or((0.0, 1.0));
                        format!("{name} at the end state, from {lo} (dark) to {hi} (yellow), the zoom-0 tile's range; grey: none")
                    }
                    Ok(Show::Lyapunov) => format!("largest Lyapunov exponent λ₁: blue below 0 (order), white at 0, red above (chaos), saturating at ±{}; grey: none", scales.map_or(1.0, |s| s.lyapunov_reach)),
                    Ok(Show::Trainability) => "blue: trained, red: did not; darker: the loss fell (or blew up) faster, ranked among the zoom-0 tile's runs; gold: oscillating, purple: chaotic".to_string(),
                    Err(_) => String::new(),
                };
                (name.clone(), key)
            })
            .collect()
    }

    /// The pixel of zoom `z` at fractions `u` (of the x axis, from the left) and `v` (of the y
    /// axis, from the top): its tile and its column and row there (from the top left).
    pub fn locate(&self, u: f64, v: f64, z: u32) -> Result<(TileKey, usize, usize)> {
        if !(0.0..=1.0).contains(&u) || !(0.0..=1.0).contains(&v) {
            return Err(Error::input(format!("u={u}, v={v}: fractions of the view lie in [0, 1]")));
        }
        if z > self.levels {
            return Err(Error::input(format!("zoom {z}: this view has zooms 0 to {}", self.levels)));
        }
        let side = 1u64 << z;
        let cell = |f: f64| {
            let at = f * side as f64;
            let t = (at.floor() as u64).min(side - 1);
            (t, (((at - t as f64) * TILE as f64).floor() as usize).min(TILE - 1))
        };
        let ((tx, col), (ty, row)) = (cell(u), cell(v));
        Ok(((z, tx, ty), col, row))
    }

    /// The start of pixel (`col`, `row`) of tile `key`: its x and y values, as the tile's plan has them.
    pub fn centre(&self, key: TileKey, col: usize, row: usize) -> (f64, f64) {
        let (x, y) = self.window_axes(key.0, key.1..=key.1, key.2..=key.2);
        (x.value(col.min(TILE - 1)), y.value(TILE - 1 - row.min(TILE - 1)))
    }

    /// What the deepest computed tile of zoom `z` or coarser says of the pixel at fractions
    /// `u`, `v` (see [`View::locate`]).
    pub fn pixel_at(&self, u: f64, v: f64, z: u32) -> Result<Option<Pixel>> {
        for z in (0..=z).rev() {
            let (key, col, row) = self.locate(u, v, z)?;
            if let Some(p) = self.pixel(key, col, row) {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// What a cached tile says of its pixel (col, row from the top left).
    pub fn pixel(&self, key: TileKey, col: usize, row: usize) -> Option<Pixel> {
        let tile = self.cached(key)?;
        if col >= TILE || row >= TILE {
            return None;
        }
        let (x, y) = self.centre(key, col, row);
        let i = ((TILE - 1 - row) * TILE + col) * tile.samples;
        let r = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let label = tile.labels[i];
        let attractor = r.attractors().get(label as usize)?;
        Some(Pixel {
            zoom: key.0,
            x,
            y,
            label,
            kind: attractor.kind,
            steps: tile.steps[i],
            status: crate::engine::Status::from_code(tile.status[i]),
            observables: tile.observables[i * tile.n_obs..(i + 1) * tile.n_obs].iter().map(|&v| v as f64).collect(),
            f64: tile.f64,
        })
    }
}

/// One attractor of the view's legend.
#[derive(Clone, Debug, Serialize)]
pub struct LegendEntry {
    pub id: u32,
    pub kind: Kind,
    pub stability: String,
    pub period: u32,
    pub colour: String,
    /// Its observables (for located attractors: at its largest cluster on the tile that found it).
    pub values: Vec<f64>,
}

/// One pixel of a tile (its first sample).
#[derive(Clone, Debug, Serialize)]
pub struct Pixel {
    /// The zoom of the tile it was read from.
    pub zoom: u32,
    /// Its start: the x and y values of its trajectory.
    pub x: f64,
    pub y: f64,
    pub label: u32,
    pub kind: Kind,
    pub steps: u32,
    pub status: crate::engine::Status,
    pub observables: Vec<f64>,
    pub f64: bool,
}

fn viridis(t: f32) -> [f32; 3] {
    let c = colorous::VIRIDIS.eval_continuous(t.clamp(0.0, 1.0) as f64);
    [c.r as f32, c.g as f32, c.b as f32]
}

/// The scales of a view's continuous layers, taken from its zoom-0 tile so that every tile
/// is painted alike (no seams).
struct Scales {
    /// Each observable's finite range.
    observables: Vec<(f32, f32)>,
    /// λ₁'s scale ±reach: the largest λ₁, or the most negative finite one up to 1 (as
    /// lyapunov_annotated.png's bar), at least 1e-3.
    lyapunov_reach: f64,
    /// A training map's loss measures of the runs that trained (Σ loss/loss0) and of those
    /// that did not (Σ loss0/loss), sorted.
    trained: Vec<f32>,
    failed: Vec<f32>,
}

impl Scales {
    fn of(tile: &Tile, training: Option<[usize; 3]>) -> Scales {
        let column = |k: usize| tile.observables.iter().skip(k).step_by(tile.n_obs.max(1)).copied();
        let observables = (0..tile.n_obs)
            .map(|k| column(k).filter(|v| v.is_finite()).fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v))))
            .map(|(lo, hi)| if lo <= hi { (lo, hi) } else { (0.0, 1.0) })
            .collect();
        let lyapunov_reach = crate::render::lyapunov::reach(tile.lyapunov.iter().map(|&l| l as f64)).unwrap_or(1.0);
        let (mut trained, mut failed) = (Vec::new(), Vec::new());
        if let Some([converged, loss_sum, loss_inv_sum]) = training {
            for i in 0..tile.labels.len() {
                let obs = &tile.observables[i * tile.n_obs..(i + 1) * tile.n_obs];
                if obs[converged] > 0.5 {
                    trained.push(obs[loss_sum]);
                } else {
                    failed.push(obs[loss_inv_sum]);
                }
            }
            trained.sort_by(f32::total_cmp);
            failed.sort_by(f32::total_cmp);
        }
        Scales { observables, lyapunov_reach, trained, failed }
    }

    /// The rank in [0, 1] of a run's loss measure among the zoom-0 tile's runs of its class:
    /// the middle of the runs it ties with, the end beyond them; 0.5 for a class the zoom-0
    /// tile has no run of.
    fn rank(&self, trained: bool, measure: f32) -> f32 {
        let class = if trained { &self.trained } else { &self.failed };
        match class.len() {
            0 => return 0.5,
            // As trainability.png ranks a class of one.
            1 => return 0.0,
            _ => {}
        }
        let below = class.partition_point(|v| v.total_cmp(&measure).is_lt());
        let through = class.partition_point(|v| v.total_cmp(&measure).is_le());
        let middle = if through > below { (below + through - 1) as f32 / 2.0 } else { below as f32 - 0.5 };
        (middle / (class.len() - 1) as f32).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scales(trained: Vec<f32>) -> Scales {
        Scales { observables: Vec::new(), lyapunov_reach: 1.0, trained, failed: Vec::new() }
    }

    #[test]
    fn a_measure_ranks_in_the_middle_of_its_ties_and_between_its_neighbours() {
        let s = scales(vec![1.0, 2.0, 2.0, 2.0, 3.0]);
        assert_eq!(s.rank(true, 1.0), 0.0);
        assert_eq!(s.rank(true, 2.0), 0.5);
        assert_eq!(s.rank(true, 3.0), 1.0);
        assert_eq!(s.rank(true, 1.5), 0.125);
        assert_eq!(s.rank(true, 0.0), 0.0);
        assert_eq!(s.rank(true, 9.0), 1.0);
        // A class the zoom-0 tile has no run of: the middle shade.
        assert_eq!(s.rank(false, 7.0), 0.5);
        assert_eq!(scales(vec![4.0]).rank(true, 4.0), 0.0);
    }
}
