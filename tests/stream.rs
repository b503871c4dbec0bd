//! Streamed runs (`run --stream`): tile by tile in bounded memory, they label and paint a map as
//! a run held in memory does, write its deep-zoom pyramid, and resume after a stop with the
//! files of a run never stopped.

use basinmap::io::npy::read_npy;
use basinmap::run::{execute, execute_resumable, Observer, RunOptions, Silent};
use basinmap::scenario::Scenario;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

fn scenario(toml: &str) -> Scenario {
    Scenario::from_toml(toml).expect("valid scenario")
}

/// Streamed in tiles of `rows` rows.
fn streamed(rows: usize, nx: usize) -> RunOptions {
    RunOptions { stream: true, part_size: rows * nx, ..Default::default() }
}

fn same_file(a: &Path, b: &Path, name: &str) {
    assert_eq!(std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap(), "{name} differs");
}

/// The streamed map equals the one held in memory: every array, basins.png, attractors.csv and
/// axes.npz byte for byte, and the attractors and counts of run.json.
fn streamed_equals_in_memory(toml: &str, nx: usize, rows: usize) {
    let s = scenario(toml);
    let dir = tempfile::tempdir().unwrap();
    let (whole, tiled) = (dir.path().join("whole"), dir.path().join("tiled"));
    let a = execute(&s, &whole).unwrap();
    let b = execute_resumable(&s, &tiled, &Silent, &streamed(rows, nx)).unwrap();
    assert!(b.warnings.iter().any(|w| w.starts_with("streamed in")), "{:?}", b.warnings);
    let names = ["labels.npy", "steps.npy", "basins.png", "attractors.csv", "axes.npz"].into_iter().map(String::from).chain(a.observables.iter().map(|o| format!("{o}.npy")));
    for name in names {
        same_file(&whole, &tiled, &name);
    }
    // Maps stepped by gd are tested for cycles and write each trajectory's period.
    assert_eq!(whole.join("period.npy").exists(), tiled.join("period.npy").exists());
    if whole.join("period.npy").exists() {
        same_file(&whole, &tiled, "period.npy");
    }
    // With --lyapunov, each trajectory's λ₁; for flows, each one's period in time.
    for name in ["lyapunov.npy", "cycle_time.npy"] {
        assert_eq!(whole.join(name).exists(), tiled.join(name).exists(), "{name}");
        if whole.join(name).exists() {
            same_file(&whole, &tiled, name);
        }
    }
    assert!(a.attractors.len() >= 2);
    assert_eq!(a.attractors, b.attractors);
    assert_eq!(a.counts, b.counts);
}

#[test]
fn a_streamed_map_is_the_map_held_in_memory() {
    // The default kind of map: y a starting value, so each parameter point's trajectories span
    // every tile.
    streamed_equals_in_memory("engine='cpu'\nsystem='landau'\nx='r=-0.5:0.5:61'\ny='m=-1.5:1.5:47'\n[params]\nu=-1.0\nw=1.0", 61, 5);
    // y a parameter: branches of fixed points continue from tile to tile through the overlap
    // row (a first-order transition between two minima and the origin).
    streamed_equals_in_memory("engine='cpu'\nsystem='landau'\nx='m=-1.5:1.5:40'\ny='r=-0.5:0.5:53'\n[params]\nu=-1.0\nw=1.0", 40, 4);
    // Tiles of one row each.
    streamed_equals_in_memory("engine='cpu'\nsystem='landau'\nx='r=-0.25:0.5:17'\ny='m=-1.5:1.5:12'\n[params]\nu=-1.0\nw=1.0", 17, 1);
    // Two parameters, branches that bifurcate (Lorenz's origin, then C+), 16 tiles.
    let lorenz = "engine='cpu'\nx='rho=0.3:4:40'\ny='sigma=4:16:32'\n[system]\nstate=['x=1','y=1','z=1']\nfield=['sigma*(y - x)', 'x*(rho - z) - y', 'x*y - beta*z']\n[params]\nbeta=2.6666666666666665\n[dynamics]\nmethod='rk4'\ndt=0.01\nsteps=6000\ntol=1e-3";
    streamed_equals_in_memory(lorenz, 40, 2);
    // gd on Landau over lr past the edge of stability: fixed points, then 2- and 4-cycles on
    // each side, each a branch across lr through 8 tiles.
    let cycles = "engine='cpu'\nsystem='landau'\nx='lr=0.45:0.63:24'\ny='m=-1.5:1.5:24'\n[params]\nr=-1\nu=1\n[dynamics]\nsteps=4000";
    streamed_equals_in_memory(cycles, 24, 3);
    let dir = tempfile::tempdir().unwrap();
    let r = execute(&scenario(cycles), dir.path()).unwrap();
    let kinds: Vec<_> = r.attractors.iter().map(|a| (a.kind, a.period)).collect();
    use basinmap::classify::Kind;
    for want in [(Kind::Fixed, 1), (Kind::Cycle, 2), (Kind::Cycle, 4)] {
        assert_eq!(kinds.iter().filter(|k| **k == want).count(), 2, "{want:?} on each side: {kinds:?}");
    }
    assert_eq!(r.counts.cycle, r.attractors.iter().filter(|a| a.kind == Kind::Cycle).map(|a| a.count).sum::<u64>());
    // The cubic map through its two chaotic attractors and their merger, with λ₁ per
    // trajectory: the same streamed.
    let chaos = "engine='cpu'\nx='a=2.3:2.7:20'\ny='x=-1.5:1.5:18'\n[system]\nstate=['x']\nmap=['a*x - x^3']\n[classify]\nlyapunov=true\n[dynamics]\nsteps=3000";
    streamed_equals_in_memory(chaos, 20, 3);
    // A flow with an angle: the driven pendulum rests or rotates on its limit cycle; its
    // cycle_time.npy and λ₁ the same streamed.
    let pendulum = "engine='cpu'\nx='phi=-2.6:3.6:16'\ny='omega=-10:10:12'\n[system]\nstate=['phi','omega']\nfield=['omega','-alpha*omega + T - K*sin(phi)']\nperiodic=['phi']\n[params]\nalpha=0.1\nT=0.5\nK=1.0\n[classify]\nlyapunov=true\n[dynamics]\nmethod='rk4'\ndt=0.05\nsteps=8000\ntol=1e-6";
    streamed_equals_in_memory(pendulum, 16, 3);
    let r = execute(&scenario(pendulum), dir.path()).unwrap();
    assert!(r.attractors.iter().any(|a| a.kind == Kind::Cycle && a.cycle_time > 1.0), "{:?}", r.attractors);
    assert!(dir.path().join("cycle_time.npy").exists());
    let r = execute(&scenario(chaos), dir.path()).unwrap();
    assert!(r.counts.chaotic > 100 && r.attractors.iter().any(|a| a.kind == Kind::Chaotic), "{:?}", r.counts);
    // Training runs' exponents along their training: lyapunov.npy without period.npy.
    let training = "engine='cpu'\nsystem='mlp'\nx='lr1=1:100000:12:log'\ny='lr2=1:3000:9:log'\nshared_init=true\n[params]\nD=1\nd0=4\n[network]\nactivation='tanh'\nparameterisation='mean-field'\ndim=3\nn=8\n[dynamics]\nlr=1.0\nsteps=60\ntol=0.0\n[classify]\nlyapunov=true";
    streamed_equals_in_memory(training, 12, 2);
    let fresh = tempfile::tempdir().unwrap();
    execute(&scenario(training), fresh.path()).unwrap();
    assert!(fresh.path().join("lyapunov.npy").exists() && !fresh.path().join("period.npy").exists());
}

#[test]
fn a_streamed_network_map_names_its_phases_as_in_memory() {
    // Trivial and learning branches over weight decay × init scale, 6 tiles; pieces of one
    // phase that never meet at a parameter point are joined in both.
    let toml = "engine='cpu'\nsystem='deep-linear'\nx='gamma=0.005:0.1:20'\ny='init_scale=0.01:0.6:12'\nsamples=2\n[params]\nD=2\nd0=3\n[dynamics]\nsteps=20000\ntol=1e-4";
    streamed_equals_in_memory(toml, 40, 2);
    let dir = tempfile::tempdir().unwrap();
    let r = execute_resumable(&scenario(toml), dir.path(), &Silent, &streamed(2, 40)).unwrap();
    let phases: Vec<_> = r.attractors.iter().map(|a| a.phase).collect();
    assert_eq!(phases[..2], [Some(basinmap::classify::Phase::Trivial), Some(basinmap::classify::Phase::Learning)], "{phases:?}");
    assert!(!r.warnings.iter().any(|w| w.contains("named network phases")));
}

/// The map: the default system at 2048 × 2048, in memory and streamed in tiles of 512
/// rows (a parameter point's 2048 starts span all four tiles).
#[test]
fn the_default_map_at_2048_is_the_same_streamed() {
    streamed_equals_in_memory("engine='cpu'\nsystem='landau'\nx='r=-0.25:0.5:2048'\ny='m=-1.5:1.5:2048'\n[params]\nu=-1.0\nw=1.0", 2048, 512);
}

#[test]
fn a_streamed_map_with_samples_writes_fractions() {
    let toml = "engine='cpu'\nsystem='deep-linear'\nx='gamma=0.05:0.8:9'\ny='init_scale=0.01:0.5:7'\nsamples=3\nseed=4\n[params]\nD=2\nd0=2\n[dynamics]\nsteps=3000";
    let s = scenario(toml);
    let dir = tempfile::tempdir().unwrap();
    let (whole, tiled) = (dir.path().join("whole"), dir.path().join("tiled"));
    execute(&s, &whole).unwrap();
    let b = execute_resumable(&s, &tiled, &Silent, &streamed(2, 9 * 3)).unwrap();
    for name in ["steps.npy", "fractions.npy", "labels.npy"] {
        let (shape, _) = read_npy(&tiled.join(name)).unwrap();
        assert_eq!(shape[..2], [7, 9], "{name}");
    }
    // Phases are named alike: the same ids, so the same labels and fractions.
    for name in ["labels.npy", "fractions.npy"] {
        same_file(&whole, &tiled, name);
    }
    let (_, f) = read_npy(&tiled.join("fractions.npy")).unwrap();
    for point in f.chunks(b.attractors.len()) {
        assert!((point.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    }
}

/// Stops the run when asked the `after`-th time.
struct StopAfter(AtomicUsize, usize, std::sync::Mutex<Vec<u64>>);

impl Observer for StopAfter {
    fn progress(&self, done: u64, _total: u64) {
        self.2.lock().unwrap().push(done);
    }
    fn should_stop(&self) -> bool {
        self.0.fetch_add(1, Ordering::SeqCst) + 1 >= self.1
    }
}

#[test]
fn a_stopped_streamed_run_resumes_to_the_same_files() {
    let s = scenario("engine='cpu'\nsystem='landau'\nx='r=-0.5:0.5:300'\ny='m=-1.5:1.5:170'\n[params]\nu=-1.0\nw=1.0");
    let dir = tempfile::tempdir().unwrap();
    let (once, stopped) = (dir.path().join("once"), dir.path().join("stopped"));
    // Tiles of 20 rows: 9 tiles; the pyramid has levels 0..=9.
    let options = streamed(20, 300);
    execute_resumable(&s, &once, &Silent, &options).unwrap();
    let stop = StopAfter(AtomicUsize::new(0), 3, Default::default());
    let err = execute_resumable(&s, &stopped, &stop, &options).unwrap_err();
    assert!(err.to_string().contains("stopped after tile 3 of 9") && err.exit_code() == 130, "{err}");
    assert!(!stopped.join("run.json").exists() && stopped.join(basinmap::stream::STATE_DIR).exists());
    // Resumed: tiles 1-3 are read back, not computed again.
    let seen = StopAfter(AtomicUsize::new(0), usize::MAX, Default::default());
    execute_resumable(&s, &stopped, &seen, &RunOptions { resume: true, ..options.clone() }).unwrap();
    assert!(seen.2.lock().unwrap().iter().all(|&d| d >= 3 * 20 * 300), "{:?}", seen.2.lock().unwrap());
    assert!(!stopped.join(basinmap::stream::STATE_DIR).exists(), "a finished run removes its state");
    for name in ["labels.npy", "steps.npy", "m.npy", "loss.npy", "basins.png", "attractors.csv", "basins.dzi", "basins.html", "basins_annotated.png"] {
        same_file(&once, &stopped, name);
    }
    let mut tiles = 0;
    for level in 0..=9 {
        for entry in std::fs::read_dir(once.join("basins_files").join(level.to_string())).unwrap() {
            let name = entry.unwrap().file_name();
            same_file(&once.join("basins_files").join(level.to_string()), &stopped.join("basins_files").join(level.to_string()), name.to_str().unwrap());
            tiles += 1;
        }
    }
    // 300 x 170: 2 x 1 tiles at full size, then 1 per level below.
    assert_eq!(tiles, 2 + 9);
    // Without --resume, a saved state is discarded and everything computed again.
    let again = StopAfter(AtomicUsize::new(0), 2, Default::default());
    execute_resumable(&s, &stopped, &again, &options).unwrap_err();
    let fresh = StopAfter(AtomicUsize::new(0), usize::MAX, Default::default());
    execute_resumable(&s, &stopped, &fresh, &options).unwrap();
    assert_eq!(fresh.2.lock().unwrap()[0], 0);
    same_file(&once, &stopped, "labels.npy");
}

#[test]
fn streaming_needs_a_2d_map() {
    let s = scenario("engine='cpu'\nsystem='landau'\nx='r=-0.5:0.5:100'");
    let dir = tempfile::tempdir().unwrap();
    let err = execute_resumable(&s, dir.path(), &Silent, &streamed(1, 100)).unwrap_err();
    assert!(err.to_string().contains("2-D"), "{err}");
}

/// A map with diverging trajectories: their attractors have infinite observable ranges, which
/// the saved state once wrote as JSON null and could not read back, so --resume silently
/// started over.
#[test]
fn a_stopped_map_with_infinite_ranges_resumes_where_it_stopped() {
    let s = scenario("engine='cpu'\nsystem='linear'\nx='k=-1:1:64'\ny='x=-2:2:60'\n[params]\na=0.3\n[dynamics]\nlr=0.05\n");
    let dir = tempfile::tempdir().unwrap();
    let (once, stopped) = (dir.path().join("once"), dir.path().join("stopped"));
    let options = streamed(10, 64);
    execute_resumable(&s, &once, &Silent, &options).unwrap();
    let stop = StopAfter(AtomicUsize::new(0), 2, Default::default());
    execute_resumable(&s, &stopped, &stop, &options).unwrap_err();
    let seen = StopAfter(AtomicUsize::new(0), usize::MAX, Default::default());
    let report = execute_resumable(&s, &stopped, &seen, &RunOptions { resume: true, ..options.clone() }).unwrap();
    assert!(seen.2.lock().unwrap().iter().all(|&d| d >= 2 * 10 * 64), "restarted: {:?}", seen.2.lock().unwrap());
    assert!(report.warnings.iter().all(|w| !w.contains("--resume")), "{:?}", report.warnings);
    for name in ["labels.npy", "steps.npy", "x.npy", "basins.png", "attractors.csv"] {
        same_file(&once, &stopped, name);
    }
}

/// A damaged saved state is never used silently: --resume says it computed from the start and
/// still ends with the right map; damaged saved labels are an error, never a panic.
#[test]
fn damaged_stream_state_is_reported_not_trusted() {
    let s = scenario("engine='cpu'\nsystem='landau'\nx='r=-0.5:0.5:40'\ny='m=-1.5:1.5:30'\n[params]\nu=-1.0\nw=1.0");
    let dir = tempfile::tempdir().unwrap();
    let (once, stopped) = (dir.path().join("once"), dir.path().join("stopped"));
    let options = streamed(5, 40);
    execute_resumable(&s, &once, &Silent, &options).unwrap();
    let state = stopped.join(basinmap::stream::STATE_DIR).join("state.json");
    let damages: [(&str, fn(&mut serde_json::Value)); 6] = [
        ("tiles", |v| v["tiles_done"] = serde_json::json!(1000)),
        ("trajectories read", |v| v["labeller"]["next"] = serde_json::json!(99)),
        ("closed points", |v| v["labeller"]["next_close"] = serde_json::json!(3)),
        ("spanning ids", |v| v["labeller"]["spanning"] = serde_json::json!({"0": [5]})),
        ("open clusters", |v| v["labeller"]["open"] = serde_json::json!({"0": {"clusters": [{"leader": [1.0], "last": [], "feature_sum": [], "obs_sum": [], "obs_min": [], "obs_max": [], "count": 1, "first_member": 0, "slowest": 0, "spread": 0.0}], "spans": true}})),
        ("checksums", |v| v["tile_crcs"] = serde_json::json!([[1, 2]])),
    ];
    for (what, damage) in damages {
        let stop = StopAfter(AtomicUsize::new(0), 2, Default::default());
        execute_resumable(&s, &stopped, &stop, &options).unwrap_err();
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        damage(&mut v);
        std::fs::write(&state, v.to_string()).unwrap();
        let report = execute_resumable(&s, &stopped, &Silent, &RunOptions { resume: true, ..options.clone() }).unwrap();
        assert!(report.warnings.iter().any(|w| w.contains("--resume: the saved state")), "{what}: {:?}", report.warnings);
        same_file(&once, &stopped, "labels.npy");
    }
    // Flipped bytes in a finished tile of the saved arrays: found by its checksum, recomputed.
    for (name, at) in [("labels.npy", 8), ("m.npy", 4 * 40 * 7)] {
        let stop = StopAfter(AtomicUsize::new(0), 2, Default::default());
        execute_resumable(&s, &stopped, &stop, &options).unwrap_err();
        let path = stopped.join(basinmap::stream::STATE_DIR).join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() - 4 * 40 * 30 + at;
        bytes[at] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        let report = execute_resumable(&s, &stopped, &Silent, &RunOptions { resume: true, ..options.clone() }).unwrap();
        assert!(report.warnings.iter().any(|w| w.contains("does not match its checksum")), "{name}: {:?}", report.warnings);
        for file in ["labels.npy", "m.npy", "basins.png"] {
            same_file(&once, &stopped, file);
        }
    }
}
