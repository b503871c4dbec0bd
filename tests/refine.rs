//! Boundary-adaptive refinement (`run --refine`): integrated only near the boundaries and filled
//! elsewhere, a map labels every start as the full computation does; where it cannot save (a
//! fractal map, structure finer than its spacing) it says so and integrates every start.

use basinmap::engine::refine::RefineStats;
use basinmap::outputs::LabelledMap;
use basinmap::run::{compute, compute_with, execute_resumable, Observer, RunOptions, Silent};
use basinmap::scenario::{Base, Overrides, Scenario};
use std::sync::atomic::{AtomicU64, Ordering};

/// The scenario the command line's flags `args` make.
fn flags(args: &[&str]) -> Scenario {
    Overrides::from_flags(args.iter().copied().chain(["--engine", "cpu"])).unwrap().apply(Base::Defaults).unwrap()
}

fn toml(text: &str) -> Scenario {
    Scenario::from_toml(&format!("engine = 'cpu'\n{text}")).unwrap()
}

fn refined(s: &Scenario) -> (LabelledMap, RefineStats) {
    let map = compute_with(s, &Silent, &RunOptions { refine: true, ..Default::default() }).unwrap();
    let stats = map.report.refine.clone().expect("run.json's refine");
    (map, stats)
}

/// The refined map's labels, counts and attractors' ids, kinds and shares are the full map's.
fn labels_as_full(s: &Scenario) -> RefineStats {
    let full = compute(s, &Silent).unwrap();
    let (map, stats) = refined(s);
    assert_eq!(stats.trajectories as usize, full.plan.n_trajectories());
    let differ = full.classification.labels.iter().zip(&map.classification.labels).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} labels differ; {stats:?}");
    // Every count but the steps, which filled pixels take from their donors.
    let counts = basinmap::run::Counts { total_steps: full.report.counts.total_steps, ..map.report.counts.clone() };
    assert_eq!(full.report.counts, counts);
    let summary = |m: &LabelledMap| m.report.attractors.iter().map(|a| (a.id, a.kind, a.count, a.period)).collect::<Vec<_>>();
    assert_eq!(summary(&full), summary(&map));
    assert!(full.report.refine.is_none());
    stats
}

#[test]
fn the_default_map_and_the_papers_model_refined_label_as_full_runs_from_a_twelfth_of_the_starts() {
    // A parameter (x) and a start (y): each column refined along y, its cells segments.
    let stats = labels_as_full(&flags(&["--x", "r=-0.25:0.5:2048", "--y", "m=-1.5:1.5:2048"]));
    assert_eq!(stats.spacing, [1, 64]);
    assert!(!stats.fell_back && stats.mismatched == 0 && stats.checked >= 512, "{stats:?}");
    assert!(stats.computed * 12 < stats.trajectories, "{}", stats.summary());
    // Ziyin & Ueda's effective loss at depth 2 over weight decay and the start.
    let stats = labels_as_full(&flags(&["--system", "effective", "--param", "D=2", "--x", "gamma=0.01:0.8:2048", "--y", "b=-1.5:1.5:2048"]));
    assert!(!stats.fell_back && stats.computed * 12 < stats.trajectories, "{}", stats.summary());
}

#[test]
fn small_islands_wider_than_the_spacing_are_found() {
    // A bowl with three craters, each a minimum ringed by a ridge: closed basins 10 to 15
    // pixels across in a 256² map whose coarse spacing is 8.
    let crater = |x: f64, y: f64, r2: f64| format!("80*((x - {x})^2 + (y - {y})^2)*exp(-((x - {x})^2 + (y - {y})^2)/{r2})");
    let loss = format!("(x^2 + y^2)/2 + {} + {} + {}", crater(0.5, 0.4, 0.0036), crater(-0.6, 0.2, 0.0016), crater(0.1, -0.7, 0.0025));
    let s = toml(&format!("x = 'x=-1:1:256'\ny = 'y=-1:1:256'\n[system]\nstate = ['x', 'y']\nloss = '{loss}'\n[dynamics]\nlr = 0.005"));
    let stats = labels_as_full(&s);
    assert_eq!(stats.spacing, [8, 8]);
    let full = compute(&s, &Silent).unwrap();
    let islands: Vec<u64> = full.report.attractors.iter().skip(1).map(|a| a.count).collect();
    assert_eq!(islands.len(), 3, "{:?}", full.report.attractors);
    assert!(islands.iter().all(|&n| (64..=256).contains(&n)), "islands of {islands:?} pixels");
    assert!(!stats.fell_back && stats.computed * 8 < stats.trajectories, "{}", stats.summary());
}

#[test]
fn a_map_over_two_parameters_refines_where_its_end_states_agree() {
    // Every pixel its own parameter point: cells agree only where end states do (the diverged
    // corner, the branches that do not move).
    let stats = labels_as_full(&flags(&["--system", "landau", "--param", "c=0.5", "--param", "m=0.5", "--x", "r=-1:1:256", "--y", "h=-0.5:0.5:256"]));
    assert_eq!(stats.spacing, [8, 8]);
}

#[test]
fn fractal_maps_and_structure_finer_than_the_lattice_fall_back_to_the_full_computation() {
    // The cubic map through period doubling into chaos: cycles and chaos everywhere (the engine
    // leaves them undecided; they agree with nothing), basins of divergence with fractal edges.
    let s = flags(&["--map", "a*x - x^3", "--state", "x", "--x", "a=1.8:2.8:400", "--y", "x=-2:2:320", "--steps", "3000"]);
    let stats = labels_as_full(&s);
    assert!(stats.fell_back && stats.computed == stats.trajectories, "{stats:?}");
    let (map, _) = refined(&s);
    assert!(map.report.warnings.iter().any(|w| w.starts_with("--refine saved nothing here")), "{:?}", map.report.warnings);
    // Stripes of two attractors 2 pixels wide, 4 pixels apart: every corner and centre of the
    // lattice (spacing 8) falls in the same stripe, so every cell agrees. The check of filled
    // pixels finds half of them filled wrong, and every start is integrated.
    let s = toml(
        "x = 'x=0:1:257'\ny = 'y=-0.01:0.01:257'\n[system]\nstate = ['x', 'y', 'c=1']\n\
         map = ['0', 'y + 0.5*(y - y^3) + c*tanh(20*cos(402.1238596594935*x))', '0']\n[dynamics]\nsteps = 100",
    );
    let stats = labels_as_full(&s);
    assert_eq!(stats.spacing, [8, 8]);
    assert!(stats.fell_back && stats.mismatched > 0 && stats.computed == stats.trajectories, "{stats:?}");
    assert!(stats.summary().contains("ended elsewhere"), "{}", stats.summary());
}

#[test]
fn refinement_refuses_what_it_cannot_fill_in_one_line() {
    let refuse = |s: Scenario, why: &str| {
        let e = compute_with(&s, &Silent, &RunOptions { refine: true, ..Default::default() }).unwrap_err().to_string();
        assert!(e.starts_with("--refine") && e.contains(why) && !e.contains('\n'), "{e}");
    };
    refuse(toml("system = 'landau'\nx = 'r=-1:1:16'"), "2-D grid");
    refuse(flags(&["--uniform", "100", "--system", "landau"]), "2-D grid");
    refuse(flags(&["--system", "deep-linear", "--x", "init_scale=0.1:1:8", "--y", "gamma=0.01:0.2:8"]), "--shared-init");
    refuse(flags(&["--x", "r=-0.25:0.5:16", "--y", "m=-1.5:1.5:16", "--temperature", "0.1"]), "noise");
    refuse(flags(&["--system", "deep-linear", "--shared-init", "--samples", "2", "--x", "init_scale=0.1:1:8", "--y", "gamma=0.01:0.2:8"]), "samples");
    let s = flags(&["--x", "r=-0.25:0.5:16", "--y", "m=-1.5:1.5:16"]);
    for (spacing, ok) in [(Some(12), false), (Some(1), false), (Some(2048), false), (Some(4), true)] {
        let got = compute_with(&s, &Silent, &RunOptions { refine: true, refine_spacing: spacing, ..Default::default() });
        assert_eq!(got.is_ok(), ok, "{spacing:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let both = RunOptions { refine: true, stream: true, ..Default::default() };
    let e = execute_resumable(&s, &dir.path().join("out"), &Silent, &both).unwrap_err().to_string();
    assert!(e.contains("not with --stream"), "{e}");
    assert!(!dir.path().join("out").exists());
}

/// Stops once `after` trajectories are done.
struct StopAfter(u64, AtomicU64);
impl Observer for StopAfter {
    fn progress(&self, done: u64, _total: u64) {
        self.1.fetch_max(done, Ordering::Relaxed);
    }
    fn should_stop(&self) -> bool {
        self.1.load(Ordering::Relaxed) >= self.0
    }
    fn stops_mid_run(&self) -> bool {
        true
    }
}

#[test]
fn a_refined_run_stops_when_asked_and_writes_run_json_s_refine() {
    let s = flags(&["--x", "r=-0.25:0.5:512", "--y", "m=-1.5:1.5:512"]);
    let stop = StopAfter(1, AtomicU64::new(0));
    let e = compute_with(&s, &stop, &RunOptions { refine: true, ..Default::default() }).unwrap_err();
    assert!(matches!(e, basinmap::Error::Interrupted(_)), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let report = execute_resumable(&s, dir.path(), &Silent, &RunOptions { refine: true, refine_spacing: Some(16), ..Default::default() }).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).unwrap()).unwrap();
    let r = &json["refine"];
    assert_eq!(r["spacing"], serde_json::json!([1, 16]));
    assert_eq!(r["computed"].as_u64(), report.refine.as_ref().map(|r| r.computed));
    assert!(r["computed"].as_u64().unwrap() < 512 * 512 / 4);
}
