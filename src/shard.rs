//! Maps computed on several machines: `basinmap run --shard K/N` computes the K-th of N
//! contiguous parts of a map's trajectories and writes their raw outcomes; `basinmap merge`
//! joins the parts and classifies and writes them exactly as one run of the whole map would.
//!
//! Every trajectory's inputs, start and noise depend only on its index, and the engines give
//! the same bits whatever the tiling, so the merged outcomes equal a single run's (on the same
//! engine and adapter) and so do the labels and arrays classified from them.

use crate::engine::{self, EngineInfo, Outcomes};
use crate::io::{write_npy, OutputDir};
use crate::plan::Plan;
use crate::report::{Observer, Report};
use crate::scenario::Scenario;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The file that marks a complete shard (written last).
pub const SHARD_JSON: &str = "shard.json";

/// What shard.json holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardInfo {
    pub basinmap: String,
    pub scenario: Scenario,
    /// K and N of `--shard K/N`.
    pub shard: [usize; 2],
    /// The trajectories computed: [start, end).
    pub range: [usize; 2],
    pub trajectories: usize,
    /// The engine: kind ("cpu"/"gpu"), device, detail.
    pub engine: [String; 3],
    /// Seconds the engine ran.
    pub integrate: f64,
    pub files: Vec<String>,
    /// CRC-32 of each outcome array's file, by name: a damaged file is refused, not read.
    #[serde(default)]
    pub crc32: std::collections::BTreeMap<String, u32>,
}

/// The outcome arrays of a shard, in the order they are read.
const ARRAYS: [&str; 3] = ["status.npy", "steps.npy", "observables.npy"];
/// The optimizer memory at each trajectory's end, in shards of plans that keep it
/// ([`Plan::kept_memory`]).
const MEMORY: &str = "memory.npy";

/// Parses `K/N`.
pub fn parse(text: &str) -> Result<(usize, usize)> {
    text.split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)))
        .ok_or_else(|| Error::input(format!("--shard '{text}': expected K/N, e.g. 3/8")))
}

/// Runs the `k`-th of `n` parts of `scenario` and writes its outcomes to `out`.
/// With `all_devices`, the part is spread over every GPU.
pub fn run_shard(scenario: &Scenario, k: usize, n: usize, out: &Path, observer: &dyn Observer, all_devices: bool) -> Result<ShardInfo> {
    // Only the shard's part is held in memory (checked in `compute_part`).
    let plan = Plan::resolve(scenario)?;
    let engine = crate::engine::for_plan(&plan, all_devices)?;
    observer.engine(&engine.info());
    let (info, _) = compute_part(scenario, &plan, engine.as_ref(), k, n, out, &|d, total| observer.progress(d, total), &|| observer.should_stop(), observer.stops_mid_run())?;
    Ok(info)
}

/// Computes part `k` of `n` of `plan` on `engine` and writes it to `out` as a shard; in tiles
/// when the caller `stops_mid_run`, stopping between them when `should_stop` says so.
#[allow(clippy::too_many_arguments)]
fn compute_part(scenario: &Scenario, plan: &Plan, engine: &dyn engine::Engine, k: usize, n: usize, out: &Path, progress: engine::Progress<'_>, should_stop: &dyn Fn() -> bool, stops_mid_run: bool) -> Result<(ShardInfo, Outcomes)> {
    let mut plan = plan.clone();
    plan.shard(k, n)?;
    plan.check_memory(plan.range().len())?;
    let dir = OutputDir::prepare(out)?;
    remove_marker(&dir)?;
    let info = engine.info();
    let t = Instant::now();
    let o = engine::run_in_tiles(engine, &plan, engine::stop_tile(&info, stops_mid_run), progress, should_stop)?;
    let integrate = t.elapsed().as_secs_f64();
    let len = o.len();
    write_npy(&dir, "status.npy", &[len], &o.status)?;
    write_npy(&dir, "steps.npy", &[len], &o.steps)?;
    write_npy(&dir, "observables.npy", &[len, o.n_obs], &o.observables)?;
    let mut files: Vec<String> = ARRAYS.iter().map(|n| n.to_string()).collect();
    let n_mem = plan.kept_memory();
    if n_mem > 0 {
        write_npy(&dir, MEMORY, &[len, n_mem], &o.memory)?;
        files.push(MEMORY.into());
    }
    // Checksums of the files as they reached the disk.
    let mut crc32 = std::collections::BTreeMap::new();
    for name in &files {
        let bytes = crate::io::read::read_bytes(&dir.path().join(name), "shard array", crate::io::read::max_data_bytes())?;
        crc32.insert(name.to_string(), crc32fast::hash(&bytes));
    }
    let range = plan.range();
    let shard = ShardInfo {
        basinmap: env!("CARGO_PKG_VERSION").into(),
        scenario: scenario.clone(),
        shard: [k, n],
        range: [range.start, range.end],
        trajectories: plan.n_trajectories(),
        engine: [info.kind.to_string(), info.device, info.detail],
        integrate,
        files: files.into_iter().chain([SHARD_JSON.into()]).collect(),
        crc32,
    };
    let json = serde_json::to_string_pretty(&shard).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    dir.write_bytes(SHARD_JSON, json.as_bytes())?;
    Ok((shard, o))
}

/// The directory, inside a run's output directory, that holds the parts of a run in progress.
pub const PARTS_DIR: &str = ".parts";

/// The whole map of `plan` computed in parts of at most `part_size` trajectories, each saved as a
/// shard under `out/.parts/` as soon as it is done. With `resume`, parts already saved there for
/// the same scenario are read back instead of computed; otherwise any are discarded first.
/// Returns the outcomes of the whole map, the seconds the engine ran this time and the
/// trajectory-steps it took in them.
/// The warnings say which saved parts could not be used and were computed again.
pub fn run_in_parts(scenario: &Scenario, plan: &Plan, engine: &dyn engine::Engine, out: &Path, part_size: usize, resume: bool, observer: &dyn Observer) -> Result<(Outcomes, f64, Option<u64>, Vec<String>)> {
    let total = plan.n_trajectories();
    let n = total.div_ceil(part_size.max(1)).max(1);
    let parts = out.join(PARTS_DIR);
    if !resume && parts.exists() {
        std::fs::remove_dir_all(&parts).map_err(|e| Error::Write { path: parts.clone(), source: e })?;
    }
    let mut all = Outcomes::zeroed(0, plan.n_obs());
    let mut integrate = 0.0;
    let mut computed = 0u64;
    let mut done = 0u64;
    let mut warnings = Vec::new();
    for k in 1..=n {
        let dir = parts.join(k.to_string());
        let saved = match resume && dir.join(SHARD_JSON).exists() {
            false => None,
            true => match read_shard(&dir) {
                Ok((i, o)) if i.scenario == *scenario && i.shard == [k, n] && o.memory.len() == o.len() * plan.kept_memory() => Some((i, o)),
                Ok(_) => None,
                Err(e) => {
                    warnings.push(format!("--resume: saved part {k} of {n} could not be used ({e}); computed again"));
                    None
                }
            },
        };
        let o = match saved {
            Some((_, o)) => o,
            None => {
                let (info, o) = compute_part(scenario, plan, engine, k, n, &dir, &|d, _| observer.progress(done + d, total as u64), &|| false, false)?;
                integrate += info.integrate;
                computed += o.steps.iter().map(|&s| s as u64).sum::<u64>();
                o
            }
        };
        done += o.len() as u64;
        observer.progress(done, total as u64);
        all.append(&o);
        if k < n && observer.should_stop() {
            return Err(Error::Interrupted(format!("stopped after part {k} of {n}; `basinmap run --resume` with the same scenario and output continues")));
        }
    }
    Ok((all, integrate, Some(computed), warnings))
}

/// Removes the parts of a finished run.
pub fn clear_parts(out: &Path) -> Result<()> {
    let parts = out.join(PARTS_DIR);
    match std::fs::remove_dir_all(&parts) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Write { path: parts, source: e }),
        _ => Ok(()),
    }
}

fn remove_marker(dir: &OutputDir) -> Result<()> {
    match std::fs::remove_file(dir.path().join(SHARD_JSON)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Write { path: dir.path().join(SHARD_JSON), source: e }),
        _ => Ok(()),
    }
}

/// One shard read back: its description and outcomes.
fn read_shard(dir: &Path) -> Result<(ShardInfo, Outcomes)> {
    let bad = |why: String| Error::input(format!("{}: {why}", dir.display()));
    let marker = dir.join(SHARD_JSON);
    if !marker.is_file() {
        return Err(bad(format!("no complete shard here (no {SHARD_JSON})")));
    }
    let text = crate::io::read::read_text(&marker, "shard", crate::io::read::MAX_STATE_BYTES)?;
    let info: ShardInfo = serde_json::from_str(&text).map_err(|e| bad(format!("{SHARD_JSON} is not a shard's: {e}")))?;
    // Each array as written: its checksum first, then its header and values.
    let mut arrays = Vec::new();
    let has_memory = info.crc32.contains_key(MEMORY);
    for name in ARRAYS.iter().chain(has_memory.then_some(&MEMORY)) {
        let bytes = crate::io::read::read_bytes(&dir.join(name), "shard array", crate::io::read::max_data_bytes())?;
        match info.crc32.get(*name) {
            None => return Err(bad(format!("{SHARD_JSON} has no checksum of {name} (written by an older basinmap?)"))),
            Some(&c) if c != crc32fast::hash(&bytes) => return Err(bad(format!("{name} does not match its checksum: the file was damaged"))),
            Some(_) => {}
        }
        arrays.push(crate::io::npy::parse_npy(&bytes).map_err(|why| bad(format!("{name}: {why}")))?);
    }
    let (memory_shape, memory) = if has_memory { arrays.pop().expect("read above") } else { (Vec::new(), Vec::new()) };
    let [(_, status), (_, steps), (shape, obs)]: [(Vec<usize>, Vec<f64>); 3] = arrays.try_into().map_err(|_| bad("three arrays".into()))?;
    let len = info.range[1].checked_sub(info.range[0]).ok_or_else(|| bad(format!("{SHARD_JSON} has the range {:?} backwards", info.range)))?;
    let n_obs = shape.get(1).copied().unwrap_or(0);
    if status.len() != len || steps.len() != len || shape.first() != Some(&len) {
        return Err(bad(format!("the outcome arrays do not hold the {len} trajectories of shard {}/{}", info.shard[0], info.shard[1])));
    }
    if has_memory && (memory_shape.len() != 2 || memory_shape[0] != len) {
        return Err(bad(format!("{MEMORY} does not hold the memory of the {len} trajectories of shard {}/{}", info.shard[0], info.shard[1])));
    }
    // Values an engine can have written: statuses it ends with, whole step counts within the budget.
    let max_steps = info.scenario.dynamics.steps as f64;
    // (An engine ends a trajectory on a cycle its return probe found; the host's statuses come later.)
    let engine_status = |s: f64| (0.0..=crate::engine::Status::Escaped as u32 as f64).contains(&s) || s == crate::engine::Status::Cycle as u32 as f64;
    if status.iter().any(|&s| s.fract() != 0.0 || !engine_status(s)) {
        return Err(bad("status.npy holds a value that is no status".into()));
    }
    if steps.iter().any(|&s| s.fract() != 0.0 || !(0.0..=max_steps).contains(&s)) {
        return Err(bad(format!("steps.npy holds a value that is not a step count within --steps {max_steps}")));
    }
    let o = Outcomes {
        status: status.iter().map(|&v| v as u32).collect(),
        steps: steps.iter().map(|&v| v as u32).collect(),
        observables: obs.iter().map(|&v| v as f32).collect(),
        n_obs,
        period: Vec::new(),
        lyapunov: Vec::new(),
        cycle_time: Vec::new(),
        memory: memory.iter().map(|&v| v as f32).collect(),
    };
    Ok((info, o))
}

/// Joins the shards in `dirs` (any order) into the outputs of one run of the whole map in `out`.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Report> {
    if dirs.is_empty() {
        return Err(Error::input("merge: give the shards' directories"));
    }
    // The output must not be one of the shards: writing it would overwrite the shard's arrays.
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(same) = dirs.iter().find(|d| canonical(d).is_some() && canonical(d) == canonical(out)) {
        return Err(Error::input(format!("merge: -o {} is one of the shards; write the merged map to another directory", same.display())));
    }
    let mut shards = dirs.iter().map(|d| read_shard(d)).collect::<Result<Vec<_>>>()?;
    shards.sort_by_key(|(info, _)| info.shard[0]);
    let (first, _) = &shards[0];
    let n = first.shard[1];
    let scenario = first.scenario.clone();
    for (info, _) in &shards {
        if info.scenario != scenario {
            return Err(Error::input(format!("merge: shard {}/{} is of another scenario than shard {}/{}", info.shard[0], info.shard[1], first.shard[0], n)));
        }
        if info.shard[1] != n {
            return Err(Error::input(format!("merge: shard {}/{} does not belong to a split into {n}", info.shard[0], info.shard[1])));
        }
    }
    let ks: Vec<usize> = shards.iter().map(|(i, _)| i.shard[0]).collect();
    if ks != (1..=n).collect::<Vec<_>>() {
        let missing: Vec<String> = (1..=n).filter(|k| !ks.contains(k)).map(|k| format!("{k}/{n}")).collect();
        return Err(Error::input(format!(
            "merge: need each of the {n} shards exactly once; got {} (missing: {})",
            ks.iter().map(|k| format!("{k}/{n}")).collect::<Vec<_>>().join(", "),
            if missing.is_empty() { "none; some appear twice".into() } else { missing.join(", ") }
        )));
    }
    let plan = Plan::new(&scenario)?;
    let mut all = Outcomes::zeroed(0, plan.n_obs());
    for (k, (info, o)) in shards.iter().enumerate() {
        let mut part = plan.clone();
        part.shard(k + 1, n)?;
        let r = part.range();
        if info.range != [r.start, r.end] || o.n_obs != plan.n_obs() {
            return Err(Error::input(format!("merge: shard {}/{n} holds trajectories {:?}, but this map's part is {:?}", k + 1, info.range, r)));
        }
        if o.memory.len() != o.len() * plan.kept_memory() {
            return Err(Error::input(format!(
                "merge: shard {}/{n} does not hold the optimizer memory this map's cycle test continues from ({} values a trajectory; written by an older basinmap?)",
                k + 1,
                plan.kept_memory()
            )));
        }
        all.append(o);
    }
    let dir = OutputDir::prepare(out)?;
    let distinct = |k: usize| {
        let mut v: Vec<&str> = shards.iter().map(|(i, _)| i.engine[k].as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v.join(" + ")
    };
    let kind: &'static str = match distinct(0).as_str() {
        "cpu" => "cpu",
        "gpu" => "gpu",
        _ => "mixed",
    };
    let info = EngineInfo { kind, device: distinct(1), detail: format!("merged from {n} shards") };
    let integrate = shards.iter().map(|(i, _)| i.integrate).sum();
    crate::outputs::finish(&scenario, &plan, all, info, 0.0, integrate, None, &dir, Vec::new(), None)
}
