//! `run --shard K/N` and `merge`: the parts of a map merged give exactly the outputs of one run
//! of the whole map (labels, arrays, attractors, pictures), on the CPU engine and on the GPU.

mod common;

use basinmap::run::{execute, Silent};
use basinmap::scenario::Scenario;
use basinmap::shard::{merge, parse, run_shard};
use std::path::Path;

fn scenario(toml: &str) -> Scenario {
    Scenario::from_toml(toml).expect("valid scenario")
}

/// Every output file of a run, but run.json (timings, engine), byte for byte.
fn same_outputs(a: &Path, b: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(a).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n != "run.json").collect();
    names.sort();
    assert!(names.iter().any(|n| n == "labels.npy") && names.iter().any(|n| n == "basins.png"), "{names:?}");
    for n in &names {
        assert_eq!(std::fs::read(a.join(n)).unwrap(), std::fs::read(b.join(n)).unwrap(), "{n} differs");
    }
}

fn shards_merge_to_the_whole(toml: &str, n: usize) {
    let s = scenario(toml);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    execute(&s, &whole).unwrap();
    let parts: Vec<_> = (1..=n).map(|k| dir.path().join(format!("part{k}"))).collect();
    // Out of order, as separate machines would finish.
    for k in (1..=n).rev() {
        let info = run_shard(&s, k, n, &parts[k - 1], &Silent, false).unwrap();
        assert_eq!(info.shard, [k, n]);
    }
    let merged = dir.path().join("merged");
    let mut shuffled = parts.clone();
    shuffled.rotate_left(1);
    let report = merge(&shuffled, &merged).unwrap();
    assert_eq!(report.counts.trajectories as usize, basinmap::plan::Plan::new(&s).unwrap().n_trajectories());
    same_outputs(&whole, &merged);
}

#[test]
fn cpu_shards_merge_to_the_whole_map() {
    shards_merge_to_the_whole("engine='cpu'\nsystem='landau'\nx='r=-0.25:0.5:37'\ny='m=-1.5:1.5:23'\n[params]\nu=-1.0\nw=1.0", 4);
    // Random starts and samples: a shard draws the same starts as the whole run.
    shards_merge_to_the_whole("engine='cpu'\nsystem='deep-linear'\nx='gamma=0.05:0.8:9'\ny='init_scale=0.01:0.5:5'\nsamples=3\nseed=4\n[params]\nD=2\nd0=2\n[dynamics]\nsteps=3000", 3);
    // Heavy ball past its edge of stability: shards keep the velocity the host continues from
    // (memory.npy), and the merged cycles are the whole run's.
    shards_merge_to_the_whole(MOMENTUM, 3);
}

/// A map of heavy ball on a double well with fixed points, 2- and 4-cycles and divergence.
const MOMENTUM: &str = "engine='cpu'\nx='lr=1.2:1.75:12'\ny='x=0.6:1.4:7'\n[system]\nstate=['x']\nloss='x^4/4 - x^2/2'\n[dynamics]\nmethod='momentum'\nmomentum=0.5\nsteps=3000\ntol=1e-7";


#[test]
fn gpu_shards_merge_to_the_whole_map() {
    // Fails without an adapter unless BASINMAP_ALLOW_NO_GPU is set (see tests/common).
    if common::gpu().is_none() {
        return;
    }
    // Noise too: each trajectory's draws depend on its index in the whole map.
    shards_merge_to_the_whole("engine='gpu'\nsystem='landau'\nx='r=-0.25:0.5:40'\ny='m=-1.5:1.5:30'\n[params]\nu=-1.0\nw=1.0\n[dynamics]\ntemperature=0.01\nsteps=2000", 3);
    // Heavy ball on a field written in WGSL: no host model, so the undecided are continued on
    // the GPU (classify/continued.rs), from the velocity the shards keep; the merge opens a GPU
    // of its own for them, and its cycles are the whole run's.
    let dir = tempfile::tempdir().unwrap();
    let wgsl = dir.path().join("well.wgsl");
    std::fs::write(&wgsl, "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = x[0] - x[0] * x[0] * x[0];\n    return v;\n}\n").unwrap();
    let toml = MOMENTUM.replace("engine='cpu'", "engine='gpu'").replace("loss='x^4/4 - x^2/2'", &format!("wgsl='{}'", wgsl.display()));
    let report = basinmap::run::execute(&scenario(&toml), &dir.path().join("whole")).unwrap();
    assert!(report.counts.cycle > 0, "{:?}", report.counts);
    shards_merge_to_the_whole(&toml, 3);
}

#[test]
fn merge_refuses_incomplete_or_foreign_shards() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario("engine='cpu'\nsystem='landau'\nx='r=-0.25:0.5:12'\ny='m=-1.5:1.5:10'");
    let p = |k: usize| dir.path().join(format!("p{k}"));
    for k in 1..=3 {
        run_shard(&s, k, 3, &p(k), &Silent, false).unwrap();
    }
    let err = |dirs: &[std::path::PathBuf]| merge(dirs, &dir.path().join("m")).unwrap_err().to_string();
    assert!(err(&[p(1), p(3)]).contains("missing: 2/3"), "{}", err(&[p(1), p(3)]));
    assert!(err(&[p(1), p(2), p(2), p(3)]).contains("exactly once"));
    let other = scenario("engine='cpu'\nsystem='landau'\nx='r=-0.25:0.6:12'\ny='m=-1.5:1.5:10'");
    run_shard(&other, 2, 3, &p(9), &Silent, false).unwrap();
    assert!(err(&[p(1), p(9), p(3)]).contains("another scenario"));
    assert!(err(&[dir.path().join("nothing")]).contains("no complete shard"));
    // A shard of a map whose cycle test continues from the optimizer's memory, without it.
    let m = scenario(MOMENTUM);
    let q = |k: usize| dir.path().join(format!("q{k}"));
    for k in 1..=2 {
        run_shard(&m, k, 2, &q(k), &Silent, false).unwrap();
    }
    std::fs::remove_file(q(2).join("memory.npy")).unwrap();
    assert!(err(&[q(1), q(2)]).contains("memory.npy"), "{}", err(&[q(1), q(2)]));
    let mut plan = basinmap::plan::Plan::new(&s).unwrap();
    for (k, n) in [(0, 3), (4, 3), (1, 0), (1, 1000)] {
        assert!(plan.shard(k, n).is_err(), "{k}/{n}");
    }
    assert!(parse("3").is_err() && parse("a/b").is_err() && parse("2/5").unwrap() == (2, 5));
}

/// Records the progress values an engine reports.
struct Seen(std::sync::Mutex<Vec<u64>>);
impl basinmap::run::Observer for Seen {
    fn progress(&self, done: u64, _total: u64) {
        self.0.lock().unwrap().push(done);
    }
}

#[test]
fn an_interrupted_run_resumes_from_its_saved_parts() {
    use basinmap::run::{execute_resumable, RunOptions};
    let s = scenario("engine='cpu'\nsystem='landau'\nx='r=-0.25:0.5:60'\ny='m=-1.5:1.5:50'\n[params]\nu=-1.0\nw=1.0");
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    execute(&s, &whole).unwrap();
    // 3000 trajectories in parts of 700: 5 parts. Interrupted after the first three.
    let parts = RunOptions { part_size: 700, ..Default::default() };
    let out = dir.path().join("resumed");
    for k in 1..=3 {
        run_shard(&s, k, 5, &out.join(basinmap::shard::PARTS_DIR).join(k.to_string()), &Silent, false).unwrap();
    }
    let seen = Seen(Default::default());
    execute_resumable(&s, &out, &seen, &RunOptions { resume: true, ..parts.clone() }).unwrap();
    // Parts 1-3 were read back (600 trajectories each), not computed: progress starts past them.
    assert!(seen.0.lock().unwrap().iter().all(|&d| d >= 600), "{:?}", &seen.0.lock().unwrap()[..5]);
    same_outputs(&whole, &out);
    assert!(!out.join(basinmap::shard::PARTS_DIR).exists(), "a finished run removes its parts");

    // A saved part is really used: one altered by hand shows in the result.
    let tampered = dir.path().join("tampered");
    let p2 = tampered.join(basinmap::shard::PARTS_DIR).join("2");
    run_shard(&s, 2, 5, &p2, &Silent, false).unwrap();
    let steps: Vec<u32> = vec![7; 600];
    // Written over the part's own file (an OutputDir would first clear the part's outputs).
    use npyz::WriterBuilder;
    let mut bytes = Vec::new();
    let mut w = npyz::WriteOptions::<u32>::new().default_dtype().shape(&[600]).writer(&mut bytes).begin_nd().unwrap();
    w.extend(steps.iter().copied()).unwrap();
    w.finish().unwrap();
    std::fs::write(p2.join("steps.npy"), &bytes).unwrap();
    // Without its checksum updated, the altered part is refused, said, and computed again.
    let report = execute_resumable(&s, &tampered, &Silent, &RunOptions { resume: true, ..parts.clone() }).unwrap();
    assert!(report.warnings.iter().any(|w| w.contains("saved part 2 of 5") && w.contains("checksum")), "{:?}", report.warnings);
    same_outputs(&whole, &tampered);
    // With it updated (a deliberate edit), the part is read back as it is.
    run_shard(&s, 2, 5, &p2, &Silent, false).unwrap();
    std::fs::write(p2.join("steps.npy"), &bytes).unwrap();
    let mut info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p2.join("shard.json")).unwrap()).unwrap();
    info["crc32"]["steps.npy"] = serde_json::json!(crc32fast::hash(&bytes));
    std::fs::write(p2.join("shard.json"), info.to_string()).unwrap();
    execute_resumable(&s, &tampered, &Silent, &RunOptions { resume: true, ..parts.clone() }).unwrap();
    let (_, got) = basinmap::io::npy::read_npy(&tampered.join("steps.npy")).unwrap();
    assert!(got[600..1200].iter().all(|&v| v == 7.0) && got[..600].iter().any(|&v| v != 7.0));
    // Without --resume, saved parts are discarded and everything is computed again.
    let fresh = dir.path().join("fresh");
    run_shard(&s, 2, 5, &fresh.join(basinmap::shard::PARTS_DIR).join("2"), &Silent, false).unwrap();
    execute_resumable(&s, &fresh, &Silent, &parts).unwrap();
    same_outputs(&whole, &fresh);
}

#[test]
fn several_engines_share_a_map_with_the_outcomes_of_one() {
    use basinmap::engine::{cpu::CpuEngine, multi::MultiEngine, Engine};
    // A deep-linear map with random starts, and a Landau one under noise: outcomes depend on
    // the trajectory index only.
    for toml in [
        "system='deep-linear'\nx='gamma=0.05:0.8:11'\ny='init_scale=0.01:0.5:7'\nsamples=3\nseed=2\n[params]\nD=2\nd0=2\n[dynamics]\nsteps=2000",
        "system='landau'\nx='r=-0.25:0.5:41'\ny='m=-1.5:1.5:29'\n[dynamics]\nsteps=1500\ntemperature=0.02",
    ] {
        let p = basinmap::plan::Plan::new(&scenario(toml)).unwrap();
        let one = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
        let three = MultiEngine::new(vec![Box::new(CpuEngine::new()), Box::new(CpuEngine::new()), Box::new(CpuEngine::new())]).unwrap();
        assert_eq!(three.run(&p, &|_, _| {}).unwrap(), one);
        // Within a shard too.
        let mut part = p.clone();
        part.shard(2, 3).unwrap();
        let r = part.range();
        let got = three.run(&part, &|_, _| {}).unwrap();
        assert_eq!(got.status, one.status[r.clone()]);
        assert_eq!(got.observables, one.observables[r.start * one.n_obs..r.end * one.n_obs]);
        if let Some(g) = common::gpu() {
            let single = g.run(&p, &|_, _| {}).unwrap();
            // Two devices opened on the one adapter (llvmpipe in CI).
            let two = MultiEngine::new(vec![Box::new(common::gpu().unwrap()), Box::new(common::gpu().unwrap())]).unwrap();
            assert_eq!(two.run(&p, &|_, _| {}).unwrap(), single);
        }
    }
    assert!(MultiEngine::new(Vec::new()).is_err());
}

#[test]
fn a_map_in_tiles_is_the_map_in_one_run_and_stops_between_tiles() {
    use basinmap::engine::{cpu::CpuEngine, run_in_tiles, Engine};
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Random starts: each trajectory's outcome depends on its index only.
    let toml = "system='deep-linear'\nx='gamma=0.05:0.8:11'\ny='init_scale=0.01:0.5:7'\nsamples=3\nseed=2\n[params]\nD=2\nd0=2\n[dynamics]\nsteps=2000";
    let p = basinmap::plan::Plan::new(&scenario(toml)).unwrap();
    let engine = CpuEngine::new();
    let one = engine.run(&p, &|_, _| {}).unwrap();
    let last = std::sync::Mutex::new((0, 0));
    let tiled = run_in_tiles(&engine, &p, 50, &|d, n| *last.lock().unwrap() = (d, n), &|| false).unwrap();
    assert_eq!(tiled, one);
    assert_eq!(*last.lock().unwrap(), (231, 231));
    // A shard's part in tiles: its own trajectories, progress counted within it.
    let mut part = p.clone();
    part.shard(2, 3).unwrap();
    let r = part.range();
    let got = run_in_tiles(&engine, &part, 16, &|_, _| {}, &|| false).unwrap();
    assert_eq!(got.status, one.status[r.clone()]);
    assert_eq!(got.observables, one.observables[r.start * one.n_obs..r.end * one.n_obs]);
    // Asked to stop after two tiles: an interruption, no outcomes.
    let asked = AtomicUsize::new(0);
    let err = run_in_tiles(&engine, &p, 50, &|_, _| {}, &|| asked.fetch_add(1, Ordering::SeqCst) >= 2).unwrap_err();
    assert!(matches!(err, basinmap::Error::Interrupted(_)) && err.to_string().contains("stopped after 100 of 231"), "{err}");
    // A shard asked to stop writes no shard.json: merge cannot take it for a finished one.
    struct StopAtOnce;
    impl basinmap::run::Observer for StopAtOnce {
        fn should_stop(&self) -> bool {
            true
        }
        fn stops_mid_run(&self) -> bool {
            true
        }
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(run_shard(&scenario(toml), 1, 2, dir.path(), &StopAtOnce, false), Err(basinmap::Error::Interrupted(_))));
    assert!(!dir.path().join(basinmap::shard::SHARD_JSON).exists());
}
