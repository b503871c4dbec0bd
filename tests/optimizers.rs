//! The optimizers (momentum, Nesterov, Adam, AdamW) and the step rule's settings as axes: exact
//! stability boundaries, an independent f64 reference of Adam and AdamW, maps over a setting
//! that equal runs at each of its values, and the cycles of optimizers with memory (found from
//! the state and memory the engines return, exactly where the math puts them).

mod common;

use basinmap::classify::Kind;
use basinmap::dynamics::{Dynamics, Method};
use basinmap::engine::cpu::{CpuEngine, Scratch, Stepper};
use basinmap::engine::{Engine, Status};
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use basinmap::system::System;
use common::{engines, plan, run};

/// The quadratic loss λx²/2 (λ = 1), started at x = 1.
const QUADRATIC: &str = "[system]\nstate=['x=1']\nloss='lam*x^2/2'\n[params]\nlam=1\n";

/// The largest lr·λ at which each method converges on λx²/2, from the roots of its linear map:
/// gd 2, heavy ball 2(1 + μ), Nesterov (2 + 2μ)/(1 + 2μ).
fn stability_limit(method: Method, mu: f64) -> f64 {
    match method {
        Method::Gd => 2.0,
        Method::Momentum => 2.0 * (1.0 + mu),
        Method::Nesterov => (2.0 + 2.0 * mu) / (1.0 + 2.0 * mu),
        _ => unreachable!(),
    }
}

/// Checks a map of the quadratic over lr (x) and, if given, μ (y): converged left of the exact
/// limit, diverged right of it, anything within one grid step of it.
fn check_boundary(name: &str, method: Method, p: &Plan, status: &[u32]) {
    let lr = &p.x.values;
    let step = lr[1] - lr[0];
    let mus = p.y.as_ref().map_or(vec![0.0], |y| y.values.clone());
    let mut checked = 0;
    for (row, &mu) in mus.iter().enumerate() {
        let limit = stability_limit(method, mu);
        for (col, &h) in lr.iter().enumerate() {
            let s = status[row * lr.len() + col];
            if h < limit - step {
                assert_eq!(s, Status::Converged as u32, "{name} {method:?}: lr {h} < {limit} (μ = {mu}) did not converge");
                checked += 1;
            } else if h > limit + step {
                assert!(
                    s == Status::DivergedPos as u32 || s == Status::DivergedNeg as u32,
                    "{name} {method:?}: lr {h} > {limit} (μ = {mu}) did not diverge (status {s})"
                );
                checked += 1;
            }
        }
    }
    assert!(checked as f64 > 0.95 * status.len() as f64);
}

#[test]
fn stability_boundaries_of_gd_heavy_ball_and_nesterov_are_exact() {
    let gd = plan(&format!("x='lr=0.02:3:150'\n{QUADRATIC}"));
    for method in [Method::Momentum, Method::Nesterov] {
        let toml = format!("x='lr=0.02:4.5:128'\ny='momentum=0:0.9:19'\n{QUADRATIC}[dynamics]\nmethod='{}'\n", method.as_str());
        let p = plan(&toml);
        for (name, engine) in engines() {
            let out = engine.run(&p, &|_, _| {}).unwrap();
            check_boundary(name, method, &p, &out.status);
            if method == Method::Momentum {
                let out = engine.run(&gd, &|_, _| {}).unwrap();
                check_boundary(name, Method::Gd, &gd, &out.status);
            }
        }
    }
}

/// ∇ of the loss of [`ROSEN`], written by hand.
fn gradient(x: f64, y: f64) -> [f64; 2] {
    [x * (x * x - 1.0) - 0.5 * 2.0 * (y - 0.5 * x) + 0.1 * y, 2.0 * (y - 0.5 * x) + 0.1 * x]
}

const ROSEN: &str = "x='x=0.3:0.3:1'\n[system]\nstate=['x=0.3', 'y=-0.7']\nloss='(x^2 - 1)^2/4 + (y - 0.5*x)^2 + 0.1*x*y'\n";

/// Adam as PyTorch writes it (torch.optim.Adam, foreach off): the bias corrections as powers,
/// step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps; AdamW first scales x by
/// (1 − lr·wd); Adam with weight decay adds wd·x to the gradient.
fn reference(adamw: bool, lr: f64, b1: f64, b2: f64, eps: f64, wd: f64, steps: usize) -> Vec<[f64; 2]> {
    let mut x = [0.3, -0.7];
    let (mut m, mut v) = ([0.0; 2], [0.0; 2]);
    let mut path = Vec::new();
    for t in 1..=steps {
        let mut g = gradient(x[0], x[1]);
        if adamw {
            x.iter_mut().for_each(|xi| *xi *= 1.0 - lr * wd);
        } else {
            g.iter_mut().zip(&x).for_each(|(gi, xi)| *gi += wd * xi);
        }
        let bc1 = 1.0 - b1.powi(t as i32);
        let bc2 = 1.0 - b2.powi(t as i32);
        for i in 0..2 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let denom = v[i].sqrt() / bc2.sqrt() + eps;
            x[i] -= lr / bc1 * m[i] / denom;
        }
        path.push(x);
    }
    path
}

#[test]
fn adam_and_adamw_follow_an_independent_reference_step_by_step_in_f64() {
    let p = plan(ROSEN);
    let System::Custom(c) = &p.system else { panic!() };
    let model = c.formula().expect("a formula system");
    for (method, wd) in [(Method::Adam, 0.0), (Method::Adam, 0.05), (Method::AdamW, 0.01), (Method::AdamW, 0.3)] {
        let (lr, b1, b2, eps) = (0.05, 0.8, 0.99, 1e-6);
        let want = reference(method == Method::AdamW, lr, b1, b2, eps, wd, 150);
        for (k, w) in want.iter().enumerate() {
            let d = Dynamics { method, lr, beta1: b1, beta2: b2, eps, weight_decay: Some(wd), tol: 0.0, steps: k as u32 + 1, ..Dynamics::default() };
            let mut x = vec![0.3, -0.7];
            let (status, n) = Stepper::<f64>::new(&d).integrate(model, &p.inputs[..0], &mut x, &mut Scratch::new(2));
            assert_eq!((status, n), (Status::Undecided, k as u32 + 1));
            for i in 0..2 {
                let err = (x[i] - w[i]).abs() / w[i].abs().max(1e-3);
                assert!(err < 1e-12, "{method:?} wd {wd}, step {}: x[{i}] = {} vs {} ({err:e})", k + 1, x[i], w[i]);
            }
        }
    }
}

#[test]
fn a_point_passed_at_speed_is_not_a_fixed_point() {
    // Heavy ball on x²/2 with lr = 1, μ = 0.5 from x = 1: x₁ = 0 exactly (the gradient is 0
    // there) with velocity 1, so x₁ is passed, not converged at; gd from x = 1 stops at x₁.
    let p = plan(&format!("x='lr=1:1:1'\n{QUADRATIC}[dynamics]\nmethod='momentum'\nmomentum=0.5\n"));
    let gd = plan(&format!("x='lr=1:1:1'\n{QUADRATIC}"));
    for (name, engine) in engines() {
        let out = engine.run(&p, &|_, _| {}).unwrap();
        assert_eq!(out.status[0], Status::Converged as u32, "{name}");
        assert!(out.steps[0] > 5, "{name}: momentum stopped at step {} where it passed x = 0 at speed", out.steps[0]);
        let out = engine.run(&gd, &|_, _| {}).unwrap();
        assert_eq!((out.status[0], out.steps[0]), (Status::Converged as u32, 1), "{name}: gd");
    }
}

/// A map over a setting gives, trajectory for trajectory, the bits of runs with that setting
/// fixed, on every engine (the SIMD packs, one trajectory at a time, the GPU).
#[test]
fn a_map_over_a_setting_equals_runs_at_each_value() {
    let cases = [
        ("lr", "lr=0.01:0.3:6:log", "momentum"),
        ("momentum", "momentum=0:0.95:6", "nesterov"),
        ("beta1", "beta1=0.5:0.99:6", "adam"),
        ("beta2", "beta2=0.9:0.9999:6", "adam"),
        ("eps", "eps=1e-8:1e-2:6:log", "adamw"),
        ("weight_decay", "weight_decay=0:0.5:6", "adamw"),
        ("weight_decay", "weight_decay=0:0.5:6", "momentum"),
    ];
    let mut all: Vec<(&str, Box<dyn Engine>)> = engines();
    all.push(("cpu-scalar", Box::new(CpuEngine::scalar())));
    for (setting, axis, method) in cases {
        let base = format!("system='landau'\ny='m=-1.5:1.5:40'\n[params]\nr=0.1\nu=-1\nw=1\n[dynamics]\nmethod='{method}'\nlr=0.05\nsteps=3000\n");
        let map = plan(&format!("x='{axis}'\n{base}"));
        for (name, engine) in &all {
            let whole = engine.run(&map, &|_, _| {}).unwrap();
            for (col, &v) in map.x.values.iter().enumerate() {
                let mut s = Scenario::from_toml(&format!("x='h=0:0:1'\n{base}")).unwrap();
                s.dynamics.set(basinmap::dynamics::Setting::named(setting).unwrap(), v);
                let one = engine.run(&Plan::new(&s).unwrap(), &|_, _| {}).unwrap();
                for row in 0..40 {
                    let i = row * map.nx() + col;
                    let what = format!("{name} {method}, {setting} = {v}, row {row}");
                    assert_eq!((whole.status[i], whole.steps[i]), (one.status[row], one.steps[row]), "{what}");
                    let bits = |o: &[f32]| o.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(whole.obs(i)), bits(one.obs(row)), "{what}");
                }
            }
        }
    }
}

#[test]
fn settings_axes_are_checked() {
    let bad = |toml: &str, says: &str| {
        let e = Plan::new(&Scenario::from_toml(toml).unwrap()).err().unwrap_or_else(|| panic!("accepted {toml}")).to_string();
        assert!(e.contains(says), "{toml}: {e}");
    };
    bad("system='landau'\nx='momentum=0:0.9:4'", "--dynamics gd does not use momentum");
    bad("system='landau'\nx='beta1=0:0.9:4'\n[dynamics]\nmethod='momentum'", "does not use beta1");
    bad("system='landau'\nx='momentum=0:1:4'\n[dynamics]\nmethod='momentum'", "--momentum must be in [0, 1)");
    bad("system='landau'\nx='lr=-1:1:4'", "--lr must be a positive number");
    bad("system='landau'\nx='dt=0.1:1:4'", "does not use dt");
    bad("system='landau'\nx='temperature=0:1:4'\n[dynamics]\nmethod='adam'", "does not use temperature");
    bad("system='landau'\nx='r=0:1:4'\n[dynamics]\nmethod='rk4'\nweight_decay=0.1", "--weight-decay");
    bad("system='landau'\nx='r=0:1:4'\n[dynamics]\nmethod='adam'\nbeta2=1", "--beta2 must be in [0, 1)");
    bad("system='landau'\nx='r=0:1:4'\n[dynamics]\nmethod='adam'\neps=0", "--eps must be a positive number");
    // An lr axis of gd is fine, log or not, and so is dt under rk4.
    plan("system='landau'\nx='lr=0.001:1:8:log'");
    plan("system='landau'\nx='dt=0.01:0.1:8'\n[dynamics]\nmethod='rk4'");
}

/// The double well x⁴/4 − x²/2 under heavy-ball momentum (μ = 0.5) just past its edge of
/// stability (lr·F″(±1) = 2(1 + μ) at lr = 1.5), from rest at five starts on both sides of
/// the minimum x = 1 (all in the basin of its 2-cycles up to lr ≈ 1.7).
fn double_well(method: &str, lr: &str, precision: &str) -> String {
    format!("x='lr={lr}'\ny='x=0.94:1.1:5'\n[system]\nstate=['x']\nloss='x^4/4 - x^2/2'\n[dynamics]\nmethod='{method}'\nmomentum=0.5\nsteps=5000\ntol=1e-7\nprecision='{precision}'\n")
}

/// On a 2-cycle of heavy ball the velocity alternates (b₁ = −b₂: each step undoes the last), so
/// its points solve x₂ = x₁ + lr/(1 + μ)·v(x₁) and v(x₂) = −v(x₁), v = −F′: the 2-cycle
/// equations of gradient descent at lr/(1 + μ). Every start settles on it; the host finds it
/// from the parameters and velocity the engine returns, as one attractor per lr whichever
/// phase a start enters it at, and its point (the cycle's smaller x) solves those equations.
#[test]
fn heavy_ball_two_cycles_are_those_of_gradient_descent_at_lr_over_one_plus_mu() {
    let p = plan(&double_well("momentum", "1.56:1.68:5", "f64"));
    assert_eq!(p.kept_memory(), 1, "the velocity is returned");
    let (o, c) = run(&CpuEngine::new(), &p);
    assert_eq!(o.memory.len(), o.len());
    let v = |x: f64| x - x * x * x;
    for i in 0..p.n_trajectories() {
        let a = &c.attractors[c.labels[i] as usize];
        assert_eq!((a.kind, a.period), (Kind::Cycle, 2), "trajectory {i}: {a:?}");
        let lr = p.x.values[i % p.nx()] / 1.5;
        let x1 = o.obs(i)[0] as f64;
        let x2 = x1 + lr * v(x1);
        assert!(x2 > x1, "trajectory {i}: the point is the cycle's smaller x");
        assert!((v(x2) + v(x1)).abs() < 1e-5, "trajectory {i}: x = {x1}, v(x2) + v(x1) = {:e}", v(x2) + v(x1));
        // One point per lr, whichever side of the minimum the start was on.
        let first = i % p.nx();
        assert_eq!(o.obs(i), o.obs(first), "trajectory {i} and {first}");
    }
}

/// The engines return the optimizer's memory with each end state: the GPU's (computed by the same
/// f32 steps) is the CPU's, and the host labels both alike; further past the edge the heavy
/// ball's cycle doubles (its two-step map's multiplier passes −1 at lr ≈ 1.702: a 4-cycle at
/// lr = 1.71).
#[test]
fn engines_return_the_memory_and_label_optimizer_cycles_alike() {
    let p = plan(&double_well("momentum", "1.56:1.71:6", "f32"));
    let cpu = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    assert_eq!(cpu.memory.len(), cpu.len());
    let (_, c) = run(&CpuEngine::new(), &p);
    let periods: Vec<u32> = (0..p.nx()).map(|k| c.attractors[c.labels[p.nx() + k] as usize].period).collect();
    assert_eq!(periods, [2, 2, 2, 2, 2, 4], "{:?}", c.attractors);
    if let Some(gpu) = common::gpu() {
        let g = gpu.run(&p, &|_, _| {}).unwrap();
        assert_eq!(g.memory.len(), g.len());
        for i in 0..p.n_trajectories() {
            assert_eq!(g.status[i], cpu.status[i], "trajectory {i}");
            let (a, b) = (g.memory[i], cpu.memory[i]);
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "trajectory {i}: velocity {a} on the GPU, {b} on the CPU");
        }
        let (_, cg) = run(&gpu, &p);
        for i in 0..p.n_trajectories() {
            let (a, b) = (&cg.attractors[cg.labels[i] as usize], &c.attractors[c.labels[i] as usize]);
            assert_eq!((a.kind, a.period), (b.kind, b.period), "trajectory {i}");
        }
    }
}

/// `--lyapunov` under heavy ball carries its tangent through the parameters and the velocity.
/// At the minimum of x²/2 the step is linear on (x, b), [[1 − lr, lr·μ], [−1, μ]], with
/// eigenvalues z² − (1 − lr + μ)·z + μ = 0: complex for (1 − √μ)² < lr < (1 + √μ)², where
/// |z| = √μ and λ₁ = ln √μ whatever lr; past lr = 2(1 + μ) a start at the minimum itself
/// (at rest there) gets the unstable root's ln |z| > 0.
#[test]
fn heavy_ball_exponents_at_a_minimum_are_those_of_its_linear_step() {
    let mu: f64 = 0.5;
    let p = plan("x='lr=0.5:2.5:3'\ny='x=-1:1:3'\n[system]\nstate=['x']\nloss='x^2/2'\n[dynamics]\nmethod='momentum'\nmomentum=0.5\n[classify]\nlyapunov=true\n");
    let (o, _) = run(&CpuEngine::new(), &p);
    for i in 0..p.n_trajectories() {
        assert_eq!(o.status[i], Status::Converged as u32, "trajectory {i}");
        assert!((o.lyapunov[i] as f64 - mu.sqrt().ln()).abs() < 1e-5, "trajectory {i}: λ₁ = {}", o.lyapunov[i]);
    }
    let p = plan("x='lr=3.5:3.5:1'\ny='x=0:0:1'\n[system]\nstate=['x']\nloss='x^2/2'\n[dynamics]\nmethod='momentum'\nmomentum=0.5\n[classify]\nlyapunov=true\n");
    let (o, _) = run(&CpuEngine::new(), &p);
    let (lr, b) = (3.5, 1.0 - 3.5 + mu);
    let root = ((b * b - 4.0 * mu).sqrt() - b) / 2.0;
    assert!(root > 1.0 && lr > 2.0 * (1.0 + mu));
    assert!((o.lyapunov[0] as f64 - root.ln()).abs() < 1e-5, "λ₁ = {} vs ln {root}", o.lyapunov[0]);
}

/// On a heavy-ball 2-cycle the host keeps the velocity at the cycle's point with it: the step
/// b′ = μb − F′(x), x′ = x + lr·b′ from (x₁, b₁) comes back to it in two steps, and `--lyapunov`
/// is ln of the largest |eigenvalue| of J(x₂)·J(x₁), J(x) = [[1 − lr·F″(x), lr·μ], [−F″(x), μ]],
/// over 2 (computed here from the cycle's point alone).
#[test]
fn heavy_ball_cycle_exponents_come_from_the_cycles_own_velocity() {
    let mu = 0.5;
    let p = plan(&format!("{}[classify]\nlyapunov=true\n", double_well("momentum", "1.56:1.68:5", "f64")));
    let (o, c) = run(&CpuEngine::new(), &p);
    let (g, h) = (|x: f64| x * x * x - x, |x: f64| 3.0 * x * x - 1.0);
    for i in 0..p.n_trajectories() {
        assert_eq!(c.attractors[c.labels[i] as usize].period, 2, "trajectory {i}");
        let lr = p.x.values[i % p.nx()];
        let (x1, b1) = (o.obs(i)[0] as f64, o.memory[i] as f64);
        let step = |x: f64, b: f64| {
            let b = mu * b - g(x);
            (x + lr * b, b)
        };
        let (x2, b2) = step(x1, b1);
        let (x3, b3) = step(x2, b2);
        assert!((x3 - x1).abs() < 1e-5 && (b3 - b1).abs() < 1e-5, "trajectory {i}: ({x1}, {b1}) → ({x3}, {b3})");
        let j = |x: f64| [[1.0 - lr * h(x), lr * mu], [-h(x), mu]];
        let (a, b) = (j(x2), j(x1));
        let m = [[a[0][0] * b[0][0] + a[0][1] * b[1][0], a[0][0] * b[0][1] + a[0][1] * b[1][1]], [a[1][0] * b[0][0] + a[1][1] * b[1][0], a[1][0] * b[0][1] + a[1][1] * b[1][1]]];
        let (tr, det) = (m[0][0] + m[1][1], m[0][0] * m[1][1] - m[0][1] * m[1][0]);
        let disc = tr * tr - 4.0 * det;
        let largest = if disc >= 0.0 { (tr.abs() + disc.sqrt()) / 2.0 } else { det.sqrt() };
        let want = largest.ln() / 2.0;
        assert!(want < 0.0, "trajectory {i}: a stable cycle");
        assert!((o.lyapunov[i] as f64 - want).abs() < 1e-5, "trajectory {i}: λ₁ = {} vs {want}", o.lyapunov[i]);
        // The labeller's stability comes from the same multipliers, of the cycle's state and
        // velocity (the cluster keeps its first member's).
        let a = &c.attractors[c.labels[i] as usize];
        assert_eq!(a.stability, Some(basinmap::system::Stability::Stable), "trajectory {i}: {a:?}");
    }
}
