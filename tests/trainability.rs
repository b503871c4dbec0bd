//! The loss record of `mlp` runs (loss0, loss_sum, loss_tail, converged): it is the loss curve,
//! summed; it does not depend on how a run is cut into dispatches or on an early stop; both
//! engines agree; and `shared_init` gives every grid point the same start.

mod common;

use basinmap::dynamics::RECORD_CAP;
use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::{Engine, Outcomes, Status};
use basinmap::plan::Plan;
use common::{gpu, plan};

/// A 6 × 6 map over the two layers' step factors of a small tanh net (mean-field), 60 steps
/// from one shared start: the upper rows diverge, the lower ones train.
const MAP: &str = "system='mlp'\nx='lr1=1:100000:6:log'\ny='lr2=1:3000:6:log'\nshared_init=true\n[params]\nD=1\nd0=4\n[network]\nactivation='tanh'\nparameterisation='mean-field'\n[dynamics]\nlr=1.0\nsteps=60\ntol=0.0\n";

fn column(p: &Plan, o: &Outcomes, name: &str) -> Vec<f32> {
    o.column(p.system.spec().observable_names().iter().position(|&n| n == name).unwrap())
}

#[test]
fn loss_record_is_the_summed_loss_curve() {
    let p = plan(MAP);
    let o = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    let (sum, tail, trained, loss0) = (column(&p, &o, "loss_sum"), column(&p, &o, "loss_tail"), column(&p, &o, "converged"), column(&p, &o, "loss0"));
    let inverse = column(&p, &o, "loss_inv_sum");
    // The loss at every step, recorded independently of the engine.
    let trace = basinmap::trace::record(&p, Some(1)).unwrap();
    let t_max = p.dynamics.steps as usize;
    let cap = RECORD_CAP as f32;
    let mut seen = [0usize; 2];
    for (i, t) in trace.trajectories.iter().enumerate() {
        let losses: Vec<f32> = t.values.iter().map(|row| row[0]).collect();
        let mut ratios: Vec<f32> = losses.iter().take(t_max).map(|&l| (l / losses[0]).min(cap)).collect();
        if t.status != Status::Undecided {
            // It escaped at the last recorded step: the cap from there on.
            ratios.truncate(*t.steps.last().unwrap() as usize);
            ratios.resize(t_max, cap);
        }
        assert_eq!(ratios.len(), t_max);
        let want_sum: f32 = ratios.iter().sum();
        let want_tail = ratios[t_max - 20..].iter().sum::<f32>() / 20.0;
        let want_inverse: f32 = ratios.iter().map(|r| (1.0 / r).min(cap)).sum();
        assert!((inverse[i] - want_inverse).abs() <= 1e-4 * want_inverse, "run {i}: loss_inv_sum {} vs {want_inverse}", inverse[i]);
        assert_eq!(loss0[i], losses[0], "run {i}");
        assert!((sum[i] - want_sum).abs() <= 1e-5 * want_sum, "run {i}: loss_sum {} vs {want_sum}", sum[i]);
        assert!((tail[i] - want_tail).abs() <= 1e-5 * want_tail, "run {i}: loss_tail {} vs {want_tail}", tail[i]);
        assert_eq!(trained[i], if want_tail < 1.0 { 1.0 } else { 0.0 }, "run {i}");
        seen[trained[i] as usize] += 1;
    }
    assert!(seen[0] >= 6 && seen[1] >= 6, "the map should hold both outcomes: {seen:?}");
}

#[test]
fn an_early_stop_completes_the_record() {
    // An identity net converges: stopping at |gradient| < tol keeps the last ratio for the steps
    // left, which is what the full run sums up to the loss's last decimals.
    let base = "system='mlp'\nx='lr2=0.5:1.5:3'\n[params]\nD=1\nd0=3\ninit_scale=0.5\n[network]\nactivation='identity'\nn=40\ndim=3\n[dynamics]\nlr=0.1\nsteps=4000\n";
    let full = plan(&format!("{base}tol=0.0\n"));
    let early = plan(&format!("{base}tol=1e-4\n"));
    let (a, b) = (CpuEngine::new().run(&full, &|_, _| {}).unwrap(), CpuEngine::new().run(&early, &|_, _| {}).unwrap());
    assert!(b.status.iter().all(|&s| s == Status::Converged as u32), "{:?}", b.status);
    assert!(b.steps.iter().all(|&n| n < 4000));
    for (x, y) in column(&full, &a, "loss_sum").iter().zip(column(&early, &b, "loss_sum")) {
        assert!((x - y).abs() <= 1e-3 * x, "full run {x}, early stop {y}");
    }
}

#[test]
fn gpu_loss_record_agrees_with_cpu_and_ignores_dispatch_size() {
    let Some(g) = gpu() else { return };
    let p = plan(MAP);
    let cpu = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    let long = g.run(&p, &|_, _| {}).unwrap();
    let short = gpu().unwrap().with_chunk(7).run(&p, &|_, _| {}).unwrap();
    assert_eq!(long.observables, short.observables, "the record must not depend on the dispatch size");
    let (ct, gt) = (column(&p, &cpu, "converged"), column(&p, &long, "converged"));
    let differ = ct.iter().zip(&gt).filter(|(a, b)| a != b).count();
    assert!(differ <= 1, "{differ} of 36 runs trained on one engine only");
    // f32 on both, but the GPU's division and tanh are not correctly rounded, and a run near
    // the boundary amplifies that: 1 % on the sums, 1e-5 on most.
    let (cs, gs) = (column(&p, &cpu, "loss_sum"), column(&p, &long, "loss_sum"));
    let close = cs.iter().zip(&gs).filter(|(a, b)| (*a - *b).abs() <= 1e-5 * a.abs()).count();
    assert!(close >= 30, "only {close} of 36 sums agree to 1e-5");
    let (ci, gi) = (column(&p, &cpu, "loss_inv_sum"), column(&p, &long, "loss_inv_sum"));
    for (i, (a, b)) in cs.iter().zip(&gs).enumerate() {
        if ct[i] == gt[i] {
            assert!((a - b).abs() <= 1e-2 * a.abs(), "run {i}: cpu {a} gpu {b}");
            assert!((ci[i] - gi[i]).abs() <= 1e-2 * ci[i].abs(), "run {i}: Σ 1/r cpu {} gpu {}", ci[i], gi[i]);
        }
    }
}

#[test]
fn shared_init_starts_every_point_alike() {
    let shared = plan(MAP);
    let own = plan(&MAP.replace("shared_init=true\n", ""));
    let (a, b) = (CpuEngine::new().run(&shared, &|_, _| {}).unwrap(), CpuEngine::new().run(&own, &|_, _| {}).unwrap());
    let (l_shared, l_own) = (column(&shared, &a, "loss0"), column(&own, &b, "loss0"));
    assert!(l_shared.iter().all(|&l| l == l_shared[0]));
    let distinct: std::collections::BTreeSet<u32> = l_own.iter().map(|l| l.to_bits()).collect();
    assert_eq!(distinct.len(), l_own.len(), "each point draws its own start");
    assert_eq!(shared.start_f32(0), shared.start_f32(35));
    // A system with a fixed start has nothing to share.
    let err = Plan::new(&basinmap::scenario::Scenario::from_toml("system='landau'\nx='r=0:1:3'\nshared_init=true\n").unwrap()).unwrap_err();
    assert!(err.to_string().contains("--shared-init"), "{err}");
}

/// A trainability run's summary counts the runs that trained (`converged.npy` = 1), in memory
/// and streamed, not only the fixed points reached.
#[test]
fn the_summary_counts_trained_runs() {
    let s = basinmap::scenario::Scenario::from_toml(&format!("engine='cpu'\n{MAP}")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = basinmap::run::execute(&s, &dir.path().join("m")).unwrap();
    let (_, converged) = basinmap::io::npy::read_npy(&dir.path().join("m/converged.npy")).unwrap();
    let trained = converged.iter().filter(|&&v| v == 1.0).count() as u64;
    assert!(trained > 0 && trained < 36);
    assert_eq!(report.counts.trained, Some(trained));
    let options = basinmap::run::RunOptions { stream: true, part_size: 12, ..Default::default() };
    let streamed = basinmap::run::execute_resumable(&s, &dir.path().join("s"), &basinmap::run::Silent, &options).unwrap();
    assert_eq!(streamed.counts.trained, Some(trained));
    // Systems without a loss record have no such count.
    let landau = basinmap::scenario::Scenario::from_toml("engine='cpu'\nsystem='landau'\nx='r=-1:1:4'\ny='m=-1:1:4'").unwrap();
    assert_eq!(basinmap::run::execute(&landau, &dir.path().join("l")).unwrap().counts.trained, None);
}

/// `basinmap run --system mlp` alone is the width-8 trainability map of the examples in f32 (one
/// start, 100 full-batch steps, the layers' rates as axes): it takes seconds and shows both
/// trained and untrained runs.
#[test]
fn mlp_defaults_are_the_trainability_map() {
    let dir = tempfile::tempdir().unwrap();
    let small = |mut s: basinmap::scenario::Scenario| {
        s.x = "lr1=10:1000000:20:log".parse().unwrap();
        s.y = Some("lr2=3:300:16:log".parse().unwrap());
        s.engine = basinmap::scenario::EngineChoice::Cpu;
        s
    };
    let defaults = small(basinmap::scenario::Scenario::for_system("mlp").unwrap());
    let mut example = small(basinmap::scenario::Scenario::from_file(std::path::Path::new("examples/trainability/width8.toml")).unwrap());
    // The example computes in f64 as the author does; the defaults in f32, for speed.
    example.dynamics.precision = defaults.dynamics.precision;
    let a = basinmap::run::execute(&defaults, &dir.path().join("defaults")).unwrap();
    basinmap::run::execute(&example, &dir.path().join("example")).unwrap();
    for name in ["converged.npy", "loss_sum.npy", "labels.npy"] {
        assert_eq!(std::fs::read(dir.path().join("defaults").join(name)).unwrap(), std::fs::read(dir.path().join("example").join(name)).unwrap(), "{name}");
    }
    let trained = a.counts.trained.unwrap();
    assert!(trained > 320 / 5 && trained < 4 * 320 / 5, "{trained} of 320 trained");
}
