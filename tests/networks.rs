//! Network systems: exact gradients, the paper's closed forms, agreement between `mlp` and
//! `deep-linear`, both engines, and reproducible random starts.

mod common;

use basinmap::classify::Phase;
use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::{Engine, Status};
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use basinmap::system::{Effective, Model, ModelVisitor};
use common::{gpu, plan, run};

/// Checks −field against central differences of the loss at pseudo-random weights, in f64:
/// (parameters, number of weights, seed).
struct GradientCheck(Vec<f64>, usize, u64);

impl ModelVisitor for GradientCheck {
    type Output = f64;
    /// Returns the worst relative error.
    fn visit<M: Model>(self, m: &M) -> f64 {
        let GradientCheck(p, n_state, seed) = self;
        let p = &p[..];
        let x: Vec<f64> = (0..n_state).map(|j| 0.7 * basinmap::rng::normal_f64(basinmap::rng::key(seed), 9, 0, j as u32)).collect();
        let mut v = vec![0.0; n_state];
        m.field(p, &x, &mut v);
        let mut worst = 0.0f64;
        let mut xp = x.clone();
        for j in 0..n_state {
            let h = 1e-6;
            xp[j] = x[j] + h;
            let lp = m.loss(p, &xp);
            xp[j] = x[j] - h;
            let lm = m.loss(p, &xp);
            xp[j] = x[j];
            let fd = (lp - lm) / (2.0 * h);
            worst = worst.max((-v[j] - fd).abs() / (1.0 + fd.abs()));
        }
        worst
    }
}

/// The worst relative gradient error of the system of `toml` at a few random weight vectors.
fn gradient_error(toml: &str) -> f64 {
    let p = plan(toml);
    (0..3)
        .map(|seed| p.system.visit(GradientCheck(p.inputs_at(0)[..p.n_params].to_vec(), p.n_state(), seed)).unwrap())
        .fold(0.0, f64::max)
}

#[test]
fn deep_linear_gradient_matches_finite_differences() {
    for depth in 0..=3 {
        for (sigma2, power) in [(0.0, 2.0), (0.5, 2.0), (0.3, 4.0), (0.5, 3.0)] {
            let toml = format!(
                "system='deep-linear'\nx='gamma=0.1:0.2:2'\n[params]\nD={depth}\nd0=3\nsigma2={sigma2}\nreg_power={power}\na=[1.0,0.5,0.25]\nexy=[0.4,-0.3,0.2]"
            );
            let e = gradient_error(&toml);
            assert!(e < 1e-6, "D = {depth}, sigma2 = {sigma2}, p = {power}: gradient error {e}");
        }
    }
}

#[test]
fn mlp_gradient_matches_finite_differences() {
    for depth in 0..=2 {
        for act in ["identity", "tanh", "sigmoid", "relu"] {
            for param in ["standard", "mean-field"] {
                let toml = format!(
                    "system='mlp'\nx='lr1=1:2:2'\n[params]\nD={depth}\nd0=3\ngamma=0.05\nreg_power=3\n[network]\nactivation='{act}'\nparameterisation='{param}'\ndim=2\nn=5\nteacher=[1.0,-0.5]\nnoise=0.1"
                );
                // lr1 scales the first layer's field: the check runs at lr1 = 1 (the first grid value).
                let e = gradient_error(&toml);
                // relu's kink is never hit exactly at random weights.
                assert!(e < 1e-6, "D = {depth}, {act}, {param}: gradient error {e}");
            }
        }
    }
}

/// min over b of the effective loss, eq. (6), in f64: a fine scan, then ternary search.
fn effective_minimum(depth: usize, d0: f64, sigma2: f64, gamma: f64, a: &[f64], exy: &[f64]) -> f64 {
    let mut p = vec![depth as f64, d0, sigma2, gamma, 1.0];
    p.extend_from_slice(a);
    p.extend_from_slice(exy);
    let f = |b: f64| Effective.loss(&p, &[b]);
    let (mut best, mut fb) = (0.0, f(0.0));
    for k in 1..=60_000 {
        let b = k as f64 * 1e-4;
        if f(b) < fb {
            best = b;
            fb = f(b);
        }
    }
    let (mut lo, mut hi) = ((best - 1e-4f64).max(0.0), best + 1e-4);
    for _ in 0..200 {
        let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
        if f(m1) < f(m2) {
            hi = m2;
        } else {
            lo = m1;
        }
    }
    f(0.5 * (lo + hi)).min(fb)
}

/// The lowest final loss over the samples of each grid point of a 1-D gamma scan.
fn lowest_losses(p: &Plan, engine: &dyn Engine) -> Vec<f64> {
    let o = engine.run(p, &|_, _| {}).unwrap();
    (0..p.nx())
        .map(|g| {
            (g * p.samples..(g + 1) * p.samples)
                .filter(|&i| o.status[i] == Status::Converged as u32)
                .map(|i| o.obs(i)[0] as f64)
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

#[test]
fn deep_linear_reaches_the_effective_global_minimum() {
    let (a, exy) = ([1.0, 0.5], [0.4, 0.3]);
    for (depth, gammas) in [(1usize, "0.05:0.45:5"), (2, "0.01:0.09:5")] {
        let p = plan(&format!(
            "system='deep-linear'\nx='gamma={gammas}'\nsamples=8\nseed=3\n[params]\nD={depth}\nd0=4\nsigma2=0.5\ninit_scale=0.5\na=[1.0,0.5]\nexy=[0.4,0.3]\n[dynamics]\nlr=0.01\nsteps=100000\ntol=1e-5"
        ));
        let got = lowest_losses(&p, &CpuEngine::new());
        for (k, &gamma) in p.x.values.iter().enumerate() {
            let want = effective_minimum(depth, 4.0, 0.5, gamma, &a, &exy);
            assert!((got[k] - want).abs() < 1e-4, "D = {depth}, gamma = {gamma}: deep-linear {} vs effective {want}", got[k]);
        }
    }
}

#[test]
fn depth_zero_is_ridge_regression() {
    let p = plan("system='deep-linear'\nx='gamma=0:1:6'\nsamples=2\n[params]\nD=0\na=[1.0,0.5,2.0]\nexy=[0.4,-0.3,0.7]\ney2=1.5\n[dynamics]\nlr=0.05\nsteps=100000\ntol=1e-6");
    let o = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    let (a, e) = ([1.0, 0.5, 2.0], [0.4, -0.3, 0.7]);
    for i in 0..p.n_trajectories() {
        let gamma = p.x.values[p.point_of(i)];
        let w = basinmap::system::network::deep_linear::ridge_solution(&a, &e, gamma);
        let loss = 1.5 - w.iter().zip(&e).map(|(w, e)| w * e).sum::<f64>();
        let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert_eq!(o.status[i], Status::Converged as u32);
        assert!((o.obs(i)[0] as f64 - loss).abs() < 1e-5, "gamma {gamma}: loss {} vs {loss}", o.obs(i)[0]);
        assert!((o.obs(i)[4] as f64 - norm).abs() < 1e-4, "gamma {gamma}: |w| {} vs {norm}", o.obs(i)[4]);
    }
}

/// A data set whose moments are E[xxᵀ] = diag(1, 0.5): ±sqrt(2)·e1, ±1·e2 (f32-exact inputs).
fn diagonal_data(dir: &std::path::Path) -> (String, [f64; 2], f64) {
    let s1 = std::f32::consts::SQRT_2 as f64;
    let xs = [[s1, 0.0], [-s1, 0.0], [0.0, 1.0], [0.0, -1.0]];
    let ys = [1.0, -0.25, 0.5, 0.125];
    std::fs::write(dir.join("x.csv"), xs.iter().map(|r| format!("{},{}\n", r[0], r[1])).collect::<String>()).unwrap();
    std::fs::write(dir.join("y.csv"), format!("y\n{}", ys.iter().map(|y| format!("{y}\n")).collect::<String>())).unwrap();
    let a = [xs.iter().map(|r| r[0] * r[0]).sum::<f64>() / 4.0, xs.iter().map(|r| r[1] * r[1]).sum::<f64>() / 4.0];
    let exy = [xs.iter().zip(&ys).map(|(r, y)| r[0] * y).sum::<f64>() / 4.0, xs.iter().zip(&ys).map(|(r, y)| r[1] * y).sum::<f64>() / 4.0];
    let ey2 = ys.iter().map(|y| y * y).sum::<f64>() / 4.0;
    let network = format!("[network]\nactivation='identity'\nx='{}'\ny='{}'\n", dir.join("x.csv").display(), dir.join("y.csv").display());
    (network, exy, ey2 + 0.0 * a[0])
}

#[test]
fn identity_mlp_agrees_with_deep_linear_on_the_data_moments() {
    let dir = tempfile::tempdir().unwrap();
    let (network, exy, ey2) = diagonal_data(dir.path());
    let common = "x='gamma=0.02:0.3:4'\nsamples=4\nseed=11\n[dynamics]\nlr=0.02\nsteps=50000\n";
    let mlp = plan(&format!("system='mlp'\n{common}[params]\nD=2\nd0=3\ninit_scale=0.4\n{network}"));
    let dl = plan(&format!(
        "system='deep-linear'\n{common}[params]\nD=2\nd0=3\nsigma2=0\ninit_scale=0.4\na=[1.0,0.5]\nexy=[{},{}]\ney2={ey2}\n",
        exy[0], exy[1]
    ));
    assert_eq!(mlp.n_state(), dl.n_state());
    // The same loss and gradient at the same weights (f64)...
    for i in [0, 5, 13] {
        struct Eval(Vec<f64>, Vec<f64>);
        impl ModelVisitor for Eval {
            type Output = (f64, Vec<f64>);
            fn visit<M: Model>(self, m: &M) -> (f64, Vec<f64>) {
                let mut v = vec![0.0; self.1.len()];
                m.field(&self.0, &self.1, &mut v);
                (m.loss(&self.0, &self.1), v)
            }
        }
        let x: Vec<f64> = mlp.start_f32(i).iter().map(|&v| v as f64).collect();
        assert_eq!(x, dl.start_f32(i).iter().map(|&v| v as f64).collect::<Vec<_>>(), "the same random start");
        let pm = mlp.inputs_at(i)[..mlp.n_params].to_vec();
        let pd = dl.inputs_at(i)[..dl.n_params].to_vec();
        let (lm, vm) = mlp.system.visit(Eval(pm, x.clone())).unwrap();
        let (ld, vd) = dl.system.visit(Eval(pd, x)).unwrap();
        assert!((lm - ld).abs() < 1e-6, "loss {lm} vs {ld}");
        for (a, b) in vm.iter().zip(&vd) {
            assert!((a - b).abs() < 1e-6, "field {a} vs {b}");
        }
    }
    // ...so the engines take both to the same fixed points.
    let (om, cm) = run(&CpuEngine::new(), &mlp);
    let (od, cd) = run(&CpuEngine::new(), &dl);
    for i in 0..mlp.n_trajectories() {
        assert_eq!(om.status[i], Status::Converged as u32);
        assert!((om.obs(i)[0] - od.obs(i)[0]).abs() < 1e-4, "trajectory {i}: loss {} vs {}", om.obs(i)[0], od.obs(i)[0]);
        assert_eq!(cm.attractors[cm.labels[i] as usize].phase, cd.attractors[cd.labels[i] as usize].phase);
    }
}

#[test]
fn small_inits_stay_trivial_large_ones_learn() {
    // D = 2 at a gamma where learning is the global minimum (Fig. 4): s = 0.01 stays at the
    // origin, s = 0.3 escapes it.
    let p = plan("system='deep-linear'\nx='gamma=0.02:0.02:1'\ny='init_scale=0.01:0.3:2'\nsamples=8\n[params]\nD=2\nd0=4\n[dynamics]\nsteps=50000");
    let (_, c) = run(&CpuEngine::new(), &p);
    let phase = |i: usize| c.attractors[c.labels[i] as usize].phase;
    assert!((0..8).all(|i| phase(i) == Some(Phase::Trivial)), "small init");
    assert!((8..16).all(|i| phase(i) == Some(Phase::Learning)), "large init");
    assert_eq!(c.attractors[0].phase, Some(Phase::Trivial));
    assert_eq!(c.attractors[1].phase, Some(Phase::Learning));
    assert_eq!(c.attractors.iter().filter(|a| a.phase.is_some()).count(), 2);
}

#[test]
fn random_starts_are_reproducible_and_independent_of_tiling() {
    let toml = "system='deep-linear'\nx='gamma=0.02:0.4:5'\ny='init_scale=0.05:0.5:3'\nsamples=3\nseed=42\n[params]\nD=2\nd0=3\n[dynamics]\nsteps=1500";
    let p = plan(toml);
    // Component j of sample k at point g: its own counter, so one start never depends on others.
    let a = p.start_f32(7);
    assert_eq!(a, plan(toml).start_f32(7));
    assert_ne!(a, p.start_f32(8), "samples differ");
    let other_seed = plan(&toml.replace("seed=42", "seed=43"));
    assert_ne!(a, other_seed.start_f32(7));
    let cpu = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    assert_eq!(cpu, CpuEngine::new().run(&p, &|_, _| {}).unwrap());
    let Some(g) = gpu() else { return };
    let whole = g.run(&p, &|_, _| {}).unwrap();
    let tiled = gpu().unwrap().with_max_tile(7).run(&p, &|_, _| {}).unwrap();
    assert_eq!(whole, tiled, "bit-identical across tile sizes");
    assert_eq!(whole, g.run(&p, &|_, _| {}).unwrap(), "bit-identical across runs");
}

/// Labels agree on ≥ 99 % of trajectories and converged losses within 1e-3 (f32, fused
/// operations allowed on the GPU).
fn engines_agree(toml: &str) {
    let Some(g) = gpu() else { return };
    let p = plan(toml);
    let (oc, cc) = run(&CpuEngine::new(), &p);
    let (og, cg) = run(&g, &p);
    let n = p.n_trajectories();
    let key = |c: &basinmap::classify::Classification, i: usize| {
        let a = &c.attractors[c.labels[i] as usize];
        (a.kind, a.phase)
    };
    let same = (0..n).filter(|&i| key(&cc, i) == key(&cg, i)).count();
    assert!(same as f64 >= 0.99 * n as f64, "{toml}: labels agree on {same} of {n}");
    for i in 0..n {
        if oc.status[i] == Status::Converged as u32 && og.status[i] == oc.status[i] && key(&cc, i) == key(&cg, i) {
            let (a, b) = (oc.obs(i)[0], og.obs(i)[0]);
            assert!((a - b).abs() <= 1e-3 + 1e-3 * a.abs(), "{toml}: trajectory {i}: loss {a} vs {b}");
        }
    }
}

#[test]
fn gpu_agrees_with_cpu_deep_linear() {
    engines_agree("system='deep-linear'\nx='gamma=0.01:0.6:8'\ny='init_scale=0.01:0.5:4'\nsamples=2\n[params]\nD=2\nd0=3\n[dynamics]\nsteps=4000\ntol=1e-4");
}

#[test]
fn gpu_agrees_with_cpu_mlp() {
    engines_agree("system='mlp'\nx='lr1=0.05:0.5:6'\ny='lr2=0.05:0.5:4'\n[params]\nD=1\nd0=4\n[network]\nparameterisation='mean-field'\ndim=3\nn=12\n[dynamics]\nlr=1\nsteps=3000\ntol=1e-4");
}

#[test]
fn samples_give_fractions_and_a_sample_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Scenario::from_toml("system='deep-linear'\nx='gamma=0.02:0.3:4'\ny='init_scale=0.01:0.4:3'\nsamples=5\nengine='cpu'\n[params]\nD=2\nd0=3\n[dynamics]\nsteps=20000").unwrap();
    s.title = Some("fractions".into());
    let report = basinmap::run::execute(&s, dir.path()).unwrap();
    let read = |name: &str| {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let file = npyz::NpyFile::new(&bytes[..]).unwrap();
        (file.shape().to_vec(), bytes)
    };
    let (shape, _) = read("labels.npy");
    assert_eq!(shape, [3, 4, 5]);
    let (shape, bytes) = read("fractions.npy");
    let n_attr = report.attractors.len() as u64;
    assert_eq!(shape, [3, 4, n_attr]);
    let f: Vec<f32> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    for point in f.chunks(n_attr as usize) {
        assert!((point.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(point.iter().all(|&v| (v * 5.0 - (v * 5.0).round()).abs() < 1e-5), "fractions of 5 samples: {point:?}");
    }
}

#[test]
fn network_input_errors_are_clear() {
    let err = |toml: &str| Plan::new(&Scenario::from_toml(toml).unwrap()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err("system='deep-linear'\nx='gamma=0:1:2'\n[params]\nD=3\nd0=100").contains("at most"));
    assert!(err("system='deep-linear'\nx='gamma=0:1:2'\n[params]\nD=1.5").contains("whole number"));
    assert!(err("system='landau'\nx='r=0:1:2'\nsamples=4").contains("random initialisation"));
    assert!(err("system='landau'\nx='r=0:1:2'\n[network]\nactivation='relu'").contains("[network]"));
    assert!(err("system='deep-linear'\nx='gamma=0:1:2'\n[network]\nactivation='relu'").contains("does not apply"));
    assert!(err("system='mlp'\nx='lr1=0:1:2'").contains("lr1 must be positive"));
    assert!(err("system='mlp'\nx='lr1=1:2:2'\n[network]\nx='nope.npy'").contains("both"));
    assert!(err("system='mlp'\nx='lr1=1:2:2'\n[network]\nx='nope.npy'\ny='nope.npy'").contains("nope.npy"));
    assert!(err("system='mlp'\nx='lr1=1:2:2'\n[network]\nteacher=[1,2]\ndim=3").contains("teacher"));
    assert!(err("system='deep-linear'\nx='D=1:2:2'").contains("whole-number"));
}

#[test]
fn a_full_covariance_matrix_is_diagonalised_exactly() {
    // E[xxᵀ] = R diag(1, 0.5) Rᵀ and E[xy] = R (0.4, 0.3) for a rotation R: the same net.
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (0.3f64.cos(), 0.3f64.sin());
    let r = [[c, -s], [s, c]];
    let (a, e) = ([1.0, 0.5], [0.4, 0.3]);
    let m: Vec<Vec<f64>> = (0..2).map(|i| (0..2).map(|j| (0..2).map(|k| r[i][k] * a[k] * r[j][k]).sum()).collect()).collect();
    std::fs::write(dir.path().join("xx.csv"), m.iter().map(|row| format!("{},{}\n", row[0], row[1])).collect::<String>()).unwrap();
    let exy_in: Vec<f64> = (0..2).map(|i| (0..2).map(|k| r[i][k] * e[k]).sum()).collect();
    let body = "system='deep-linear'\nx='gamma=0.1:0.7:4'\nsamples=2\nseed=3\n[params]\nD=1\nd0=4\nsigma2=0.5\ninit_scale=0.3\n";
    let dynamics = "[dynamics]\nlr=0.05\nsteps=100000\ntol=1e-6\n";
    let direct = plan(&format!("{body}a=[1.0,0.5]\nexy=[0.4,0.3]\n{dynamics}"));
    let rotated = plan(&format!("{body}exy=[{},{}]\n[network]\nxx='{}'\n{dynamics}", exy_in[0], exy_in[1], dir.path().join("xx.csv").display()));
    // The parameters agree up to the eigenvectors' signs, which the loss does not see.
    for (u, v) in direct.inputs.iter().zip(&rotated.inputs) {
        assert!((u.abs() - v.abs()).abs() < 1e-12, "{:?} vs {:?}", direct.inputs, rotated.inputs);
    }
    let cpu = CpuEngine::new();
    let (a_out, b_out) = (cpu.run(&direct, &|_, _| {}).unwrap(), cpu.run(&rotated, &|_, _| {}).unwrap());
    for (u, v) in a_out.column(0).iter().zip(b_out.column(0)) {
        assert!((u - v).abs() < 1e-4, "final loss {u} vs {v}");
    }
    // Clear errors: both forms, a wrong shape, a system that takes data instead.
    let err = |toml: String| Plan::new(&Scenario::from_toml(&toml).unwrap()).err().map(|e| e.to_string()).unwrap_or_default();
    let xx = dir.path().join("xx.csv").display().to_string();
    assert!(err(format!("{body}a=[1.0,0.5]\nexy=[0.4,0.3]\n[network]\nxx='{xx}'")).contains("not both"));
    assert!(err(format!("{body}a=[1.0,0.5,0.2]\n[network]\nxx='{xx}'")).contains("not both"));
    assert!(err(format!("{body}exy=[0.4,0.3,0.1]\n[network]\nxx='{xx}'")).contains("3 x 3"));
    assert!(err(format!("system='mlp'\nx='lr1=1:2:2'\n[network]\nxx='{xx}'")).contains("does not apply"));
}

/// The size the networks must reach on the GPU: D = 3 hidden layers of width 16, integrated by
/// the cooperative kernel (one workgroup per trajectory), for both step rules. Every matrix entry
/// and every weight's gradient is summed in the CPU engine's order; only |w|² and |field|² are
/// reduced in another order, so the runs agree to f32 rounding: the same statuses, step counts
/// within 1 % and observables within 1e-4. Tiling and dispatch size must not change a bit.
fn d3_width16_agrees(system: &str, body: &str, n_state: usize, methods: [&str; 2]) {
    for method in methods {
        let toml = format!("system='{system}'\nsamples=2\nseed=1\n{body}\n{method}\ntol=1e-5");
        let p = plan(&toml);
        assert_eq!(p.n_state(), n_state);
        let cpu = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
        let Some(g) = gpu() else { return };
        let whole = g.run(&p, &|_, _| {}).unwrap();
        assert_eq!(whole.status, cpu.status, "{system} {method}");
        assert!(whole.status.iter().any(|&s| s == Status::Converged as u32), "{system} {method}: some runs settle");
        for (i, (&a, &b)) in cpu.steps.iter().zip(&whole.steps).enumerate() {
            assert!(a.abs_diff(b) as f64 <= 0.01 * a as f64, "{system} {method}: trajectory {i}: {a} vs {b} steps");
        }
        for (i, (&a, &b)) in cpu.observables.iter().zip(&whole.observables).enumerate() {
            assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{system} {method}: observable {i}: {a} vs {b}");
        }
        if method.contains("gd") {
            let tiled = gpu().unwrap().with_max_tile(3).with_chunk(500).run(&p, &|_, _| {}).unwrap();
            assert_eq!(whole, tiled, "{system} {method}: tiles and dispatch size do not matter");
        }
    }
}

#[test]
fn deep_linear_d3_width16_runs_on_the_gpu_like_the_cpu() {
    let body = "x='gamma=0.01:0.3:4'\n[params]\nD=3\nd0=16\n[dynamics]";
    d3_width16_agrees("deep-linear", body, 2 * 16 + 2 * 16 * 16 + 16, ["method='gd'\nlr=0.01\nsteps=3000", "method='rk4'\ndt=0.03\nsteps=1200"]);
}

#[test]
fn mlp_d3_width16_runs_on_the_gpu_like_the_cpu() {
    // 40 samples: batches of 16 on the GPU (what fits 16 KiB with 592 weights), the last partial.
    let body = "x='gamma=0.05:0.3:4'\n[params]\nD=3\nd0=16\ninit_scale=0.5\n[network]\nactivation='tanh'\ndim=4\nn=40\nteacher=[1,-1,0.5,0]\n[dynamics]";
    d3_width16_agrees("mlp", body, 4 * 16 + 2 * 16 * 16 + 16, ["method='gd'\nlr=0.1\nsteps=3000", "method='rk4'\ndt=0.2\nsteps=1500"]);
}

/// A network whose state does not fit one workgroup's memory is refused by name on the GPU
/// (8100 weights: 64 KiB for the state and its field alone) and runs on the CPU.
#[test]
fn a_network_too_large_for_workgroup_memory_is_refused_clearly() {
    let p = plan("system='deep-linear'\nx='gamma=0.1:0.2:2'\n[params]\nD=1\nd0=2700\n[dynamics]\nsteps=2");
    let Some(g) = gpu() else { return };
    let err = g.run(&p, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains("workgroup memory") && err.contains("--engine cpu"), "{err}");
    assert_eq!(CpuEngine::new().run(&p, &|_, _| {}).unwrap().status.len(), 2);
}

#[test]
fn per_layer_init_factors_scale_their_layer_alone() {
    // D = 1, d0 = 3, d = 2: W1 is components 0..6, U 6..9.
    let toml = "system='mlp'\nx='lr1=0.1:0.2:2'\ny='lr2=0.1:0.2:2'\nseed=5\n[params]\nD=1\nd0=3\ninit_scale=0.5\n[network]\ndim=2\nn=4";
    let base = plan(toml).start_f32(3);
    let scaled = plan(&toml.replace("init_scale=0.5", "init_scale=0.5\ninit1=2\ninit2=0")).start_f32(3);
    assert_eq!(base.len(), 9);
    for j in 0..6 {
        // (0.5·2)·z = 2·(0.5·z) exactly in binary.
        assert_eq!(scaled[j], 2.0 * base[j], "W1 component {j}");
    }
    assert!(base[6..].iter().all(|&v| v != 0.0));
    assert!(scaled[6..].iter().all(|&v| v == 0.0), "init2 = 0 starts U at its start values");
}

#[test]
fn gpu_agrees_with_cpu_on_per_layer_init_axes() {
    engines_agree("system='mlp'\nx='init1=0.1:2:5'\ny='init2=0.05:1.5:4'\nsamples=2\n[params]\nD=1\nd0=4\n[network]\nparameterisation='mean-field'\ndim=3\nn=12\n[dynamics]\nlr=0.3\nsteps=3000\ntol=1e-4");
}

#[test]
fn an_f64_network_trains_on_its_data_in_f64() {
    // 0.1 and 0.3 are not f32 numbers: rounded to f32 the loss at w = 0 would be off by ~1e-9.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.csv"), "0.7\n-0.2\n").unwrap();
    std::fs::write(dir.path().join("y.csv"), "0.1\n0.3\n").unwrap();
    let p = plan(&format!(
        "system='mlp'\nx='lr1=1:2:2'\n[params]\nD=0\ninit_scale=0\n[network]\nx='{}'\ny='{}'",
        dir.path().join("x.csv").display(),
        dir.path().join("y.csv").display()
    ));
    struct LossAtZero(Vec<f64>, usize);
    impl ModelVisitor for LossAtZero {
        type Output = f64;
        fn visit<M: Model>(self, m: &M) -> f64 {
            m.loss(&self.0, &vec![0.0; self.1])
        }
    }
    let loss = p.system.visit(LossAtZero(p.inputs_at(0)[..p.n_params].to_vec(), p.n_state())).unwrap();
    let exact = (0.1f64 * 0.1 + 0.3 * 0.3) / 2.0;
    assert!((loss - exact).abs() <= 1e-16, "loss {loss} vs {exact}");
}
