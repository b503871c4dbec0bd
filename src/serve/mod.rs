//! `basinmap serve`: a local web server where a map is explored live. The page (embedded, with
//! OpenSeadragon vendored: it works offline) shows the served scenario's map as tiles computed
//! on demand ([`view`]); scripts call the same HTTP API the page calls.
//!
//! Every request names its settings in the query, as `basinmap run` takes them as flags
//! (`lr=0.1`, `param=u=-1`, `x=r=-1:1:256`): the served scenario with those settings is a
//! *view*, kept while it is in use (its tiles cached, its attractors numbered once,
//! [`registry`]). Computations run on blocking threads, at most `workers` at once and
//! `queue` waiting; a request beyond that is answered 503 at once. A computation whose client
//! goes away is stopped where the engine next looks (its stop flag is set when the request's
//! future is dropped).
//!
//! Routes: `/` the page; `/tile/{z}/{x}/{y}` a tile's PNG; `/api/view` the view's axes, zooms,
//! settings and legend; `/api/pixel` what a computed tile says of a pixel; `/api/trajectory`
//! one start's trajectory ([`crate::trace`]); `/api/map` a whole map's array as .npy, as
//! `basinmap run` writes it; `/api/export` the scenario TOML of the tiles in view;
//! `/api/status` what the server is doing.

pub mod registry;
pub mod view;

use crate::scenario::{Base, Overrides, Scenario};
use crate::Error;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Semaphore;
use view::{TileKey, View, TILE};

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// Computations at once (tiles, maps, trajectories).
    pub workers: usize,
    /// Computations that may wait for a worker; more are answered 503.
    pub queue: usize,
    /// Tile data kept per view.
    pub cache_bytes: usize,
    /// The most pixels `/api/map` computes in one request.
    pub max_map_pixels: usize,
    /// Views kept (the least recently used goes first).
    pub max_views: usize,
    /// The served scenario's tiles of zooms 0 to this one are computed as the server starts
    /// (`None`: none), so that the page's first view is ready when it is opened.
    pub warm: Option<u32>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        ServeOptions { addr: SocketAddr::from(([127, 0, 0, 1], 8700)), workers: cores.clamp(1, 4), queue: 64, cache_bytes: 512 << 20, max_map_pixels: 1 << 22, max_views: 8, warm: Some(2) }
    }
}

/// The server's state: the served scenario and its views.
pub struct Server {
    base: Scenario,
    options: ServeOptions,
    views: Mutex<Vec<(String, Arc<View>)>>,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Set on shutdown: computations stop.
    closing: Arc<AtomicBool>,
    computing: AtomicUsize,
    stopped: AtomicU64,
    tiles_computed: AtomicU64,
}

impl Server {
    pub fn new(base: Scenario, options: ServeOptions) -> Arc<Server> {
        Arc::new(Server {
            base,
            permits: Arc::new(Semaphore::new(options.workers.max(1))),
            options,
            views: Mutex::default(),
            waiting: AtomicUsize::new(0),
            closing: Arc::new(AtomicBool::new(false)),
            computing: AtomicUsize::new(0),
            stopped: AtomicU64::new(0),
            tiles_computed: AtomicU64::new(0),
        })
    }

    /// The view of the settings in `query` (made, or the one already in use).
    fn view(&self, settings: &Settings) -> Result<Arc<View>, ApiError> {
        let key = settings.key();
        let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = views.iter().position(|(k, _)| *k == key) {
            let entry = views.remove(i);
            let view = entry.1.clone();
            views.push(entry);
            return Ok(view);
        }
        let scenario = settings.scenario(&self.base)?;
        let view = Arc::new(View::new(scenario, self.options.cache_bytes)?);
        views.push((key, view.clone()));
        if views.len() > self.options.max_views.max(1) {
            views.remove(0);
        }
        Ok(view)
    }

    /// Runs `work` on a blocking thread when a worker is free; its stop flag is set if the
    /// request is dropped (the client went away) or the server closes.
    async fn compute<T: Send + 'static>(self: &Arc<Self>, work: impl FnOnce(&(dyn Fn() -> bool + Sync)) -> crate::Result<T> + Send + 'static) -> Result<T, ApiError> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.options.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(ApiError::busy());
                }
                let _waiting = Waiting(&self.waiting);
                self.permits.clone().acquire_owned().await.map_err(|_| ApiError::busy())?
            }
        };
        // Set when the request's future is dropped before the work is done.
        struct StopOnDrop {
            stop: Arc<AtomicBool>,
            server: Arc<Server>,
            armed: bool,
        }
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                if self.armed {
                    self.stop.store(true, Ordering::SeqCst);
                    self.server.stopped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut guard = StopOnDrop { stop: stop.clone(), server: self.clone(), armed: true };
        let server = self.clone();
        // Counted while it runs, also if it panics.
        struct Computing<'a>(&'a AtomicUsize);
        impl Drop for Computing<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            server.computing.fetch_add(1, Ordering::SeqCst);
            let _computing = Computing(&server.computing);
            // The request's flag or the server's: a closing server stops every computation.
            let should_stop = || stop.load(Ordering::Relaxed) || server.closing.load(Ordering::Relaxed);
            work(&should_stop)
        });
        let out = task.await.map_err(|e| ApiError::internal(format!("computation failed: {e}")));
        guard.armed = false;
        out?.map_err(ApiError::from)
    }

    /// What the server is doing (`/api/status`).
    pub fn status(&self) -> StatusReport {
        StatusReport {
            computing: self.computing.load(Ordering::SeqCst),
            waiting: self.waiting.load(Ordering::SeqCst),
            stopped: self.stopped.load(Ordering::Relaxed),
            tiles_computed: self.tiles_computed.load(Ordering::Relaxed),
            views: self.views.lock().unwrap_or_else(PoisonError::into_inner).len(),
            workers: self.options.workers,
        }
    }

    /// Stops every computation (shutdown).
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// Computes the served scenario's tiles of zooms 0 to `deepest` (the first view the page
    /// shows), coarse first, at most `workers` at a time: requests arriving meanwhile wait
    /// behind no more than that, and one for a tile being warmed waits for it.
    pub async fn warm(self: Arc<Self>, deepest: u32) {
        let Ok(view) = self.view(&Settings::default()) else { return };
        let mut running = tokio::task::JoinSet::new();
        for z in 0..=deepest.min(view.levels) {
            for ty in 0..1u64 << z {
                for tx in 0..1u64 << z {
                    while running.len() >= self.options.workers.max(1) {
                        running.join_next().await;
                    }
                    let (server, view) = (self.clone(), view.clone());
                    running.spawn(async move { server.compute_tile(&view, (z, tx, ty)).await });
                }
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Tile `key` of `view`, from its cache or computed on a worker (the zoom-0 tile first: it
    /// numbers the view's attractors). A request for a tile another one is computing waits for
    /// that computation without holding a worker, and stops waiting when it is dropped.
    async fn compute_tile(self: &Arc<Self>, view: &Arc<View>, key: TileKey) -> Result<Arc<view::Tile>, ApiError> {
        view.check(key)?;
        if key != (0, 0, 0) {
            Box::pin(self.compute_tile(view, (0, 0, 0))).await?;
        }
        if let Some(t) = view.cached(key) {
            return Ok(t);
        }
        let claim = view.claim(key);
        let computing = claim.lock.clone().lock_owned().await;
        if let Some(t) = view.cached(key) {
            return Ok(t);
        }
        let (v, s) = (view.clone(), self.clone());
        // The claim and its lock go with the computation and come back with its result, so
        // they are let go after its worker: a request waiting for this tile wakes once the
        // computation has finished (or stopped, where this request was dropped) and its worker
        // is free again.
        let (tile, held) = self
            .compute(move |stop| {
                let held = (computing, claim);
                let tile = v.compute_and_cache(key, stop);
                if tile.is_ok() {
                    s.tiles_computed.fetch_add(1, Ordering::Relaxed);
                }
                Ok((tile, held))
            })
            .await?;
        drop(held);
        Ok(tile?)
    }
}

/// `/api/status`.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub computing: usize,
    pub waiting: usize,
    /// Computations stopped because their client went away.
    pub stopped: u64,
    pub tiles_computed: u64,
    pub views: usize,
    pub workers: usize,
}

/// Settings a request may change, as `basinmap run`'s flags of the same names. Flags that read
/// files on the server (wgsl, starts, data-*) and figure settings are not among them.
const SETTINGS: &[&str] = &[
    "x", "y", "param", "system", "loss", "field", "map", "state", "periodic", "forcing_period", "dynamics", "lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "dt", "steps", "tol", "bound",
    "precision", "temperature", "escape", "samples", "seed", "shared_init", "lyapunov", "continue_untrained", "activation", "gain", "parameterisation", "engine", "observe",
];
/// Switches among [`SETTINGS`]: `lyapunov` or `lyapunov=true` turns one on, `lyapunov=false`
/// off.
const SWITCHES: &[&str] = &["shared_init", "lyapunov", "continue_untrained"];

/// A request's settings (in the order given) and its other query fields.
#[derive(Debug, Default)]
pub struct Settings {
    flags: Vec<(String, String)>,
    fields: HashMap<String, String>,
}

impl Settings {
    /// Splits `query` into settings and the fields named in `fields`; anything else is refused.
    fn parse(query: Vec<(String, String)>, fields: &[&str]) -> Result<Settings, ApiError> {
        let mut s = Settings::default();
        for (k, v) in query {
            if SETTINGS.contains(&k.as_str()) {
                s.flags.push((k, v));
            } else if fields.contains(&k.as_str()) {
                s.fields.insert(k, v);
            } else {
                let mut known: Vec<&str> = fields.to_vec();
                known.push("a setting of basinmap run (lr, param, x, …)");
                return Err(ApiError::bad(format!("unknown query field '{k}': expected {}", known.join(", "))));
            }
        }
        Ok(s)
    }

    /// The view's key: its settings in a canonical order.
    fn key(&self) -> String {
        let mut flags = self.flags.clone();
        // One value per setting but `param` (several), which keeps its order.
        flags.sort_by(|a, b| a.0.cmp(&b.0));
        flags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }

    /// The served scenario with these settings.
    fn scenario(&self, base: &Scenario) -> Result<Scenario, ApiError> {
        let mut flags = Vec::new();
        // Each switch as its last mention sets it.
        let mut switches: Vec<(&str, bool)> = Vec::new();
        for (k, v) in &self.flags {
            let flag = format!("--{}", k.replace('_', "-"));
            if SWITCHES.contains(&k.as_str()) {
                let on = match v.as_str() {
                    "" | "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::bad(format!("{k}={v}: expected true or false"))),
                };
                switches.retain(|(name, _)| name != k);
                switches.push((k.as_str(), on));
            } else {
                flags.push(format!("{flag}={v}"));
            }
        }
        flags.extend(switches.iter().filter(|(_, on)| *on).map(|(k, _)| format!("--{}", k.replace('_', "-"))));
        let off = switches.iter().filter(|(_, on)| !on).map(|&(k, _)| k);
        let overrides = Overrides::from_flags(flags)?;
        let mut scenario = overrides.apply(Base::Scenario(base))?;
        // The flags only turn switches on; a switch asked off is turned off here.
        for k in off {
            match k {
                "shared_init" => scenario.shared_init = false,
                "lyapunov" => scenario.classify.lyapunov = false,
                "continue_untrained" => scenario.classify.continue_untrained = false,
                _ => unreachable!("every switch is matched"),
            }
        }
        Ok(scenario)
    }

    fn field<T: std::str::FromStr>(&self, name: &str) -> Result<T, ApiError> {
        let v = self.fields.get(name).ok_or_else(|| ApiError::bad(format!("missing query field '{name}'")))?;
        v.parse().map_err(|_| ApiError::bad(format!("{name}={v}: not a valid value")))
    }

    fn field_or(&self, name: &str, default: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_else(|| default.to_string())
    }
}

/// An answer that is not a success: its status and a one-line message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }
    fn busy() -> Self {
        ApiError { status: StatusCode::SERVICE_UNAVAILABLE, message: "busy: too many computations waiting; try again".into() }
    }
    fn internal(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Input(_) | Error::Source(_) | Error::Scenario { .. } => StatusCode::BAD_REQUEST,
            Error::Interrupted(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // A diagnostic spans lines (the formula, a caret): its first line is the message.
        let text = e.to_string();
        ApiError { status, message: text.lines().next().unwrap_or("error").to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", self.message)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

type Q = Query<Vec<(String, String)>>;
type S = State<Arc<Server>>;

/// The server's routes (the page, tiles and API) on `server`.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/openseadragon.min.js", get(openseadragon))
        .route("/tile/{z}/{x}/{y}", get(tile))
        .route("/api/view", get(view_info))
        .route("/api/pixel", get(pixel))
        .route("/api/trajectory", get(trajectory))
        .route("/api/map", get(map))
        .route("/api/export", get(export))
        .route("/api/status", get(status))
        .fallback(|| async { ApiError { status: StatusCode::NOT_FOUND, message: "no such page: see / and the API under /api/".into() } })
        .with_state(server)
}

/// Serves `scenario` on `options.addr` until Ctrl-C; `ready` is told the address listened on.
pub fn serve(scenario: Scenario, options: ServeOptions, ready: impl FnOnce(SocketAddr)) -> crate::Result<()> {
    // The served scenario must make a view: checked before listening.
    View::new(scenario.clone(), options.cache_bytes)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(options.workers + 4).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.addr).await.map_err(|e| Error::input(format!("cannot listen on {}: {e}", options.addr)))?;
        ready(listener.local_addr()?);
        let warm = options.warm;
        let server = Server::new(scenario, options);
        if let Some(deepest) = warm {
            tokio::spawn(server.clone().warm(deepest));
        }
        let closing = server.clone();
        axum::serve(listener, router(server))
            .with_graceful_shutdown(async move {
                let _ = tokio::signal::ctrl_c().await;
                closing.close();
            })
            .await
            .map_err(Error::Io)
    })
}

const PAGE: &str = include_str!("page.html");
const OPENSEADRAGON: &str = include_str!("../../vendor/openseadragon/openseadragon.min.js");

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

async fn openseadragon() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=86400")], OPENSEADRAGON).into_response()
}

async fn tile(State(server): S, Path((z, x, y)): Path<(String, String, String)>, Query(query): Q) -> Result<Response, ApiError> {
    let number = |what: &str, v: &str| v.parse::<u64>().map_err(|_| ApiError::bad(format!("tile {what} '{v}': expected a whole number")));
    let z = number("zoom", &z)?;
    let key: TileKey = (u32::try_from(z).unwrap_or(u32::MAX), number("column", &x)?, number("row", &y)?);
    let settings = Settings::parse(query, &["show"])?;
    let view = server.view(&settings)?;
    view.check(key)?;
    let show = view.show(&settings.field_or("show", "basins"))?;
    let tile = server.compute_tile(&view, key).await?;
    let png = view.png(&tile, &show)?;
    let precision = if tile.f64 { "f64" } else { "f32" };
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], [("x-basinmap-precision", precision)], png).into_response())
}

/// `/api/view`: what the page needs to show a view.
#[derive(Serialize)]
struct ViewInfo {
    title: String,
    x: view::ViewAxis,
    y: view::ViewAxis,
    tile: usize,
    levels: u32,
    f64_from: Option<u32>,
    observables: Vec<String>,
    /// What the tiles can show (`show=`), each with what its colours mean.
    shows: Vec<(String, String)>,
    /// The system's parameters not on an axis, with their values.
    params: Vec<(String, String)>,
    /// The step rule's settings: name and value.
    dynamics: Vec<(String, String)>,
    legend: Vec<view::LegendEntry>,
}

async fn view_info(State(server): S, Query(query): Q) -> Result<Json<ViewInfo>, ApiError> {
    let settings = Settings::parse(query, &[])?;
    let view = server.view(&settings)?;
    // The legend starts with the zoom-0 tile's attractors.
    server.compute_tile(&view, (0, 0, 0)).await?;
    let s = &view.scenario;
    let d = &s.dynamics;
    let mut dynamics = vec![("dynamics".to_string(), d.method.as_str().to_string()), ("steps".into(), d.steps.to_string()), ("tol".into(), d.tol.to_string())];
    for (name, value) in [("lr", d.lr), ("dt", d.dt), ("bound", d.bound)] {
        dynamics.push((name.into(), value.to_string()));
    }
    Ok(Json(ViewInfo {
        title: s.title.clone().unwrap_or_else(|| format!("{}: {} × {}", s.system.name(), view.x.name, view.y.name)),
        x: view.x.clone(),
        y: view.y.clone(),
        tile: TILE,
        levels: view.levels,
        f64_from: view.f64_from,
        observables: view.observables.clone(),
        shows: view.show_keys(),
        params: view.params.clone(),
        dynamics,
        legend: view.legend(),
    }))
}

/// The fractions u, v and zoom z of a request (`/api/pixel`, `/api/trajectory`).
fn place(settings: &Settings) -> Result<(f64, f64, u32), ApiError> {
    Ok((settings.field("u")?, settings.field("v")?, settings.field("z")?))
}

async fn pixel(State(server): S, Query(query): Q) -> Result<Response, ApiError> {
    let settings = Settings::parse(query, &["u", "v", "z"])?;
    let view = server.view(&settings)?;
    let (u, v, z) = place(&settings)?;
    match view.pixel_at(u, v, z)? {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(ApiError { status: StatusCode::NOT_FOUND, message: "no tile under that point is computed (yet)".into() }),
    }
}

/// `/api/trajectory`: the start of the pixel of zoom `z` at fractions `u`, `v` (as
/// `/api/pixel` finds it), recorded step by step on the CPU engine's stepper in the tile's precision.
#[derive(Serialize)]
struct TrajectoryInfo {
    x: f64,
    y: f64,
    status: crate::engine::Status,
    columns: Vec<String>,
    steps: Vec<u32>,
    /// Per record: the observables, then the field's norm.
    values: Vec<Vec<f32>>,
}

async fn trajectory(State(server): S, Query(query): Q) -> Result<Json<TrajectoryInfo>, ApiError> {
    let settings = Settings::parse(query, &["u", "v", "z"])?;
    let view = server.view(&settings)?;
    let (u, v, z) = place(&settings)?;
    let (key, col, row) = view.locate(u, v, z)?;
    let (px, py) = view.centre(key, col, row);
    let mut scenario = view.tile_scenario(key);
    scenario.x = crate::scenario::Axis { name: view.x.name.clone(), start: px, stop: px, count: 1, log: false };
    scenario.y = Some(crate::scenario::Axis { name: view.y.name.clone(), start: py, stop: py, count: 1, log: false });
    scenario.samples = 1;
    let trace = server
        .compute(move |_| {
            let plan = crate::plan::Plan::resolve(&scenario)?;
            crate::trace::record(&plan, None)
        })
        .await?;
    let t = trace.trajectories.into_iter().next().ok_or_else(|| ApiError::internal("no trajectory recorded"))?;
    Ok(Json(TrajectoryInfo { x: px, y: py, status: t.status, columns: trace.columns, steps: t.steps, values: t.values }))
}

async fn map(State(server): S, Query(query): Q) -> Result<Response, ApiError> {
    let settings = Settings::parse(query, &["array"])?;
    let scenario = settings.scenario(&server.base)?;
    let n = scenario.x.count.saturating_mul(scenario.y.as_ref().map_or(1, |y| y.count)).saturating_mul(scenario.samples.max(1) as usize);
    if n > server.options.max_map_pixels {
        return Err(ApiError { status: StatusCode::PAYLOAD_TOO_LARGE, message: format!("{n} trajectories: this server computes at most {} per map (basinmap run computes any size)", server.options.max_map_pixels) });
    }
    let array = settings.field_or("array", "labels");
    let bytes = server
        .compute(move |stop| {
            let observer = StopObserver(stop);
            let map = crate::run::compute(&scenario, &observer)?;
            // The arrays are made one at a time; only the one asked for is encoded.
            let (mut found, mut names) = (None, Vec::new());
            map.for_each_array(|a| {
                if found.is_none() && a.name == array {
                    found = Some(a.npy_bytes());
                }
                names.push(a.name);
                Ok(())
            })?;
            found.ok_or_else(|| Error::input(format!("array={array}: this map's arrays are {}", names.join(", "))))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// A run's observer that stops when the request's computation is to stop.
struct StopObserver<'a>(&'a (dyn Fn() -> bool + Sync));

impl crate::run::Observer for StopObserver<'_> {
    fn should_stop(&self) -> bool {
        (self.0)()
    }
    fn stops_mid_run(&self) -> bool {
        true
    }
}

async fn export(State(server): S, Query(query): Q) -> Result<Response, ApiError> {
    let settings = Settings::parse(query, &["z", "tx0", "tx1", "ty0", "ty1"])?;
    let view = server.view(&settings)?;
    let (z, tx0, tx1, ty0, ty1): (u32, u64, u64, u64, u64) = (settings.field("z")?, settings.field("tx0")?, settings.field("tx1")?, settings.field("ty0")?, settings.field("ty1")?);
    view.check((z, tx0, ty0))?;
    view.check((z, tx1, ty1))?;
    let tiles = (tx1.checked_sub(tx0), ty1.checked_sub(ty0));
    if !matches!(tiles, (Some(w), Some(h)) if (w + 1).checked_mul(h + 1).is_some_and(|n| n <= 4096)) {
        return Err(ApiError::bad("export: expected tx0 <= tx1 and ty0 <= ty1, at most 4096 tiles"));
    }
    let scenario = view.window_scenario(z, tx0..=tx1, ty0..=ty1);
    let text = format!("# basinmap run THIS.toml computes the {} x {} pixels of tiles {tx0}..{tx1} x {ty0}..{ty1} of zoom {z}\n{}", scenario.x.count, scenario.y.as_ref().map_or(1, |y| y.count), scenario.to_toml());
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

async fn status(State(server): S) -> Json<StatusReport> {
    Json(server.status())
}
