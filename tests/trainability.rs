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

/// Gradient descent on a one-unit tanh net f = u·tanh(w) trained on one sample (x = 1, y = 1),
/// its loss (f − 1)²: the test's own f64 map, independent of basinmap's network code.
fn unit_net_step(lr: f64, (u, w): (f64, f64)) -> (f64, f64) {
    let t = w.tanh();
    let r = u * t - 1.0;
    (u - lr * 2.0 * r * t, w - lr * 2.0 * r * u * (1.0 - t * t))
}

fn unit_net_loss((u, w): (f64, f64)) -> f64 {
    (u * w.tanh() - 1.0).powi(2)
}

/// Where a run of [`unit_net_step`] from (1, 1) ends by the test's own reckoning: whether it
/// trained in 100 steps (mean loss ratio of the last 20 below 1) and, after 100 + 4000 steps,
/// its period (≤ 64, returns within 1e-9) with the least loss on the cycle, or λ₁ (a tangent by
/// central differences over 4000 more steps), or that it diverged.
enum UnitEnd {
    Diverged,
    Cycle { trained: bool, period: usize, least_loss: f64 },
    Other { trained: bool, lyapunov: f64 },
}

fn unit_net_end(lr: f64) -> UnitEnd {
    let mut z = (1.0, 1.0);
    let loss0 = unit_net_loss(z);
    let mut ratios = Vec::new();
    let mut orbit = Vec::new();
    for k in 0..4100 {
        if k < 100 {
            ratios.push((unit_net_loss(z) / loss0).min(1e6));
        }
        z = unit_net_step(lr, z);
        if !(z.0.abs() < 1e6 && z.1.abs() < 1e6) {
            return UnitEnd::Diverged;
        }
        if k >= 4100 - 256 {
            orbit.push(z);
        }
    }
    let trained = ratios[80..].iter().sum::<f64>() / 20.0 < 1.0;
    let close = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() <= 1e-9 * (1.0 + a.0.abs()) && (a.1 - b.1).abs() <= 1e-9 * (1.0 + a.1.abs());
    if let Some(period) = (1..=64).find(|&p| (0..orbit.len() - p).all(|t| close(orbit[t], orbit[t + p]))) {
        let least_loss = orbit[..period].iter().map(|&z| unit_net_loss(z)).fold(f64::INFINITY, f64::min);
        return UnitEnd::Cycle { trained, period, least_loss };
    }
    UnitEnd::Other { trained, lyapunov: unit_net_exponent(lr, z, (1.0, 0.3), 4000).unwrap_or(f64::NAN) }
}

/// The mean log growth per step of a tangent `v` carried from `z` by central differences of
/// [`unit_net_step`] over `steps` steps; `None` where the run leaves |u|, |w| < 1e6.
fn unit_net_exponent(lr: f64, mut z: (f64, f64), mut v: (f64, f64), steps: usize) -> Option<f64> {
    let (mut sum, h) = (0.0, 1e-7);
    for _ in 0..steps {
        let a = unit_net_step(lr, (z.0 + h * v.0, z.1 + h * v.1));
        let b = unit_net_step(lr, (z.0 - h * v.0, z.1 - h * v.1));
        v = ((a.0 - b.0) / (2.0 * h), (a.1 - b.1) / (2.0 * h));
        let norm = v.0.hypot(v.1);
        sum += norm.ln();
        v = (v.0 / norm, v.1 / norm);
        z = unit_net_step(lr, z);
        if !(z.0.abs() < 1e6 && z.1.abs() < 1e6) {
            return None;
        }
    }
    Some(sum / steps as f64)
}

/// A scenario of the one-unit net of [`unit_net_step`] over lr = 1.15 … 1.445 (60 runs of 100
/// steps in f64, continued where they did not train), its one sample written to `dir`, with
/// `classify` added to its `[classify]` table.
fn unit_net_map(dir: &std::path::Path, classify: &str) -> String {
    std::fs::write(dir.join("x.csv"), "1\n").unwrap();
    std::fs::write(dir.join("y.csv"), "1\n").unwrap();
    format!(
        "engine='cpu'\nsystem='mlp'\nx='lr=1.15:1.445:60'\ny='lr2=1:1:1'\n[params]\nD=1\nd0=1\ninit_scale=0\nW1_0_0=1\nU_0=1\n[network]\nactivation='tanh'\nparameterisation='mean-field'\nx='{}'\ny='{}'\n[dynamics]\nprecision='f64'\nsteps=100\ntol=0\n[classify]\ncontinue_untrained=true\n{classify}",
        dir.join("x.csv").display(),
        dir.join("y.csv").display()
    )
}

/// `--lyapunov` on training runs: each run's exponent along its own 100 steps is the test's own
/// (a tangent carried by central differences of [`unit_net_step`] from the start basinmap's
/// tangent starts with, (w, u) ∝ (1, 1.1)); diverged runs have none; the cycles runs end on
/// are stable (multipliers of the replayed weights); lyapunov.npy is written without cycles
/// asked for too.
#[test]
fn a_training_runs_lyapunov_exponent_is_the_test_s_own() {
    let dir = tempfile::tempdir().unwrap();
    let s = basinmap::scenario::Scenario::from_toml(&unit_net_map(dir.path(), "lyapunov=true\n")).unwrap();
    let p = Plan::new(&s).unwrap();
    let out = dir.path().join("map");
    let report = basinmap::run::execute(&s, &out).unwrap();
    let read = |dir: &std::path::Path, name: &str| basinmap::io::npy::read_npy(&dir.join(name)).unwrap().1;
    let lyapunov = read(&out, "lyapunov.npy");
    let start = 1.1f64.hypot(1.0);
    let own = |lr: f64| unit_net_exponent(lr, (1.0, 1.0), (1.1 / start, 1.0 / start), 100);
    let (mut compared, mut positive, mut negative) = (0, 0, 0);
    for i in 0..60 {
        let lr = p.x.values[i];
        match own(lr) {
            Some(l) if lyapunov[i].is_finite() => {
                // Apart where a run is chaotic (its f64 rounding grows by e^λ a step), within the
                // differences' error.
                let tol = if l > 0.05 { 0.05 } else { 1e-6 };
                assert!((lyapunov[i] - l).abs() <= tol, "lr = {lr}: λ₁ {} vs the test's {l}", lyapunov[i]);
                compared += 1;
                positive += (l > 0.05) as usize;
                negative += (l < -0.01) as usize;
            }
            // Diverged runs (by either's bounds) have none.
            _ => {}
        }
    }
    assert!(compared >= 40 && positive >= 1 && negative >= 1, "{compared} compared, {positive} positive, {negative} negative");
    let cycles: Vec<_> = report.attractors.iter().filter(|a| serde_json::to_value(a.kind).unwrap() == "cycle").collect();
    assert!(!cycles.is_empty());
    for a in cycles {
        assert_eq!(a.stability, Some(basinmap::system::Stability::Stable), "{a:?}");
    }
    // Without cycles asked for, the exponents alone.
    let plain = basinmap::scenario::Scenario::from_toml(&unit_net_map(dir.path(), "lyapunov=true\n").replace("continue_untrained=true", "continue_untrained=false")).unwrap();
    basinmap::run::execute(&plain, &dir.path().join("plain")).unwrap();
    let again = read(&dir.path().join("plain"), "lyapunov.npy");
    assert!(lyapunov.iter().zip(&again).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
    assert!(!dir.path().join("plain").join("period.npy").exists());
}

/// `--lyapunov` under Adam on a tanh net: every run that did not diverge gets a finite exponent
/// (its tangent starts in the weights, and the second moments, 0 at the start, are kept ≥ 0 in
/// the differences: a moment displaced below 0 would make √s NaN).
#[test]
fn adams_training_exponents_are_finite() {
    let toml = format!("engine='cpu'\n{}[classify]\nlyapunov=true\n", MAP.replace("[dynamics]\n", "[dynamics]\nmethod='adam'\n").replace("lr=1.0", "lr=0.001"));
    let s = basinmap::scenario::Scenario::from_toml(&toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = basinmap::run::execute(&s, dir.path()).unwrap();
    let read = |name: &str| basinmap::io::npy::read_npy(&dir.path().join(name)).unwrap().1;
    let (labels, lyapunov) = (read("labels.npy"), read("lyapunov.npy"));
    let diverged = |i: usize| serde_json::to_value(report.attractors[labels[i] as usize].kind).unwrap() == "diverged";
    let kept: Vec<f64> = (0..labels.len()).filter(|&i| !diverged(i)).map(|i| lyapunov[i]).collect();
    assert!(kept.len() >= 6, "{} runs did not diverge", kept.len());
    assert!(kept.iter().all(|l| l.is_finite()), "{kept:?}");
}

/// With --continue-untrained, a trainability run that neither trained nor diverged is continued
/// on the host: gold where it oscillates on a cycle, purple where it is chaotic. A one-unit tanh
/// net over the step size goes from training (its minimum, or a 2-cycle below its first loss)
/// through 2-cycles above it, a band of chaos, to divergence; basinmap's periods, cycle losses
/// and chaos agree with the test's own map of that net, and runs that trained are not continued.
#[test]
fn runs_that_did_not_train_oscillate_or_are_chaotic() {
    let dir = tempfile::tempdir().unwrap();
    let toml = unit_net_map(dir.path(), "");
    let s = basinmap::scenario::Scenario::from_toml(&toml).unwrap();
    let p = Plan::new(&s).unwrap();
    // The net is the test's: its loss along a run is the test's map's (basinmap's stepper, f32).
    let lr = |i: usize| p.x.values[i];
    let traced = basinmap::trace::record(&Plan::new(&basinmap::scenario::Scenario::from_toml(&toml.replace("x='lr=1.15:1.445:60'", "x='lr=1.3:1.3:1'")).unwrap()).unwrap(), Some(1)).unwrap();
    let mut z = (1.0, 1.0);
    for row in traced.trajectories[0].values.iter().take(30) {
        assert!((row[0] as f64 - unit_net_loss(z)).abs() <= 1e-5 * (1.0 + unit_net_loss(z)), "loss {} vs the test's {}", row[0], unit_net_loss(z));
        z = unit_net_step(1.3, z);
    }
    let out = dir.path().join("map");
    let report = basinmap::run::execute(&s, &out).unwrap();
    let read = |name: &str| basinmap::io::npy::read_npy(&out.join(name)).unwrap().1;
    let (labels, period, loss, converged) = (read("labels.npy"), read("period.npy"), read("loss.npy"), read("converged.npy"));
    let kind = |i: usize| serde_json::to_value(report.attractors[labels[i] as usize].kind).unwrap().as_str().unwrap().to_string();
    let ends: Vec<UnitEnd> = (0..60).map(|i| unit_net_end(lr(i))).collect();
    let class = |e: &UnitEnd| match e {
        UnitEnd::Diverged => "diverged".to_string(),
        UnitEnd::Cycle { trained: true, .. } | UnitEnd::Other { trained: true, .. } => "trained".to_string(),
        UnitEnd::Cycle { period, .. } => format!("cycle {period}"),
        UnitEnd::Other { lyapunov, .. } if *lyapunov > 0.01 => "chaotic".to_string(),
        UnitEnd::Other { .. } => "slow".to_string(),
    };
    let (mut cycles, mut chaotic) = (0, 0);
    for i in 0..60 {
        let c = class(&ends[i]);
        // Where the test's own classes change, the last bits decide: compare inside runs of one class.
        if (i > 0 && class(&ends[i - 1]) != c) || (i < 59 && class(&ends[i + 1]) != c) || c == "slow" {
            continue;
        }
        let at = format!("lr = {:.4}: the test's map says {c}, basinmap {} (period {}, converged {})", lr(i), kind(i), period[i], converged[i]);
        match &ends[i] {
            UnitEnd::Diverged => assert_eq!(converged[i], 0.0, "{at}"),
            UnitEnd::Cycle { trained: false, period: p, least_loss } => {
                assert_eq!((kind(i).as_str(), period[i] as usize), ("cycle", *p), "{at}");
                assert!((loss[i] as f64 - least_loss).abs() <= 1e-6 * (1.0 + least_loss), "{at}: loss {} vs {least_loss}", loss[i]);
                cycles += 1;
            }
            UnitEnd::Other { trained: false, .. } => {
                assert_eq!(kind(i), "chaotic", "{at}");
                chaotic += 1;
            }
            // A run that trained is judged by its loss curve: not continued.
            _ => assert!(converged[i] == 1.0 && kind(i) == "undecided", "{at}"),
        }
    }
    assert!(cycles >= 20 && chaotic >= 1, "{cycles} cycles, {chaotic} chaotic runs compared");
    // Without --continue-untrained they are left as the engine returned them.
    let plain = basinmap::run::execute(&basinmap::scenario::Scenario::from_toml(&toml.replace("continue_untrained=true", "continue_untrained=false")).unwrap(), &dir.path().join("plain")).unwrap();
    assert_eq!((plain.counts.cycle, plain.counts.chaotic), (0, 0));
    assert!(plain.counts.undecided > report.counts.undecided);
    assert_eq!(report.counts.cycle as usize, (0..60).filter(|&i| kind(i) == "cycle").count());
    // The trainability figure paints them.
    let img = image::open(out.join("trainability.png")).unwrap().to_rgb8();
    let colours: Vec<[u8; 3]> = (0..60).map(|i| img.get_pixel(i as u32, 0).0).collect();
    assert!(colours.contains(&basinmap::render::trainability::OSCILLATING));
    assert!(colours.contains(&basinmap::render::trainability::CHAOTIC));
}
