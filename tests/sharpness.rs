//! `--observe sharpness`: the largest eigenvalue of the loss's Hessian at each end state (and,
//! under Adam, of the preconditioned Hessian), on every engine: exact on quadratics, the top of
//! the spectrum at a saddle, Adam's preconditioner against an independent f64 reference, a tanh
//! net against its dense f64 Hessian, and the GPU kernels against the CPU engine.

mod common;

use basinmap::engine::cpu::{end_state_f64, CpuEngine};
use basinmap::engine::{Engine, Outcomes, Status};
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use basinmap::system::{stability, Model, ModelVisitor};
use common::{gpu, plan};

/// The CPU engine's packs and scalar path, and the GPU engine when there is an adapter.
fn all_engines() -> Vec<(&'static str, Box<dyn Engine>)> {
    let mut v: Vec<(&'static str, Box<dyn Engine>)> = vec![("cpu", Box::new(CpuEngine::new())), ("cpu-scalar", Box::new(CpuEngine::scalar()))];
    if let Some(g) = gpu() {
        v.push(("gpu", Box::new(g)));
    }
    v
}

/// Observable `name` of every trajectory.
fn column(p: &Plan, o: &Outcomes, name: &str) -> Vec<f64> {
    let k = p.observable_names().iter().position(|&n| n == name).unwrap_or_else(|| panic!("no observable {name}"));
    (0..o.len()).map(|i| o.obs(i)[k] as f64).collect()
}

/// (a x² + b y²)/2 + c x y with a = 3, b = 1, c = 1: Hessian eigenvalues 2 ± √2.
const TILTED: &str = "x='x=-1:1:5'\ny='y=-1:1:4'\nobserve=['sharpness']\n[system]\nstate=['x','y']\nloss='(3*x^2 + y^2)/2 + x*y'\n";

#[test]
fn the_sharpness_of_a_quadratic_is_its_top_eigenvalue_on_every_engine() {
    let top = 2.0 + 2f64.sqrt();
    let cases = [
        ("gd", "lr=0.1", top),
        ("momentum", "lr=0.05\nweight_decay=0.5", top + 0.5),
        ("nesterov", "lr=0.05", top),
        ("rk4", "dt=0.1", top),
        ("adam", "lr=0.01", top),
        ("adamw", "lr=0.01\nweight_decay=0.1", top),
    ];
    for (method, settings, expected) in cases {
        for precision in ["f32", "f64"] {
            let p = plan(&format!("{TILTED}[dynamics]\nmethod='{method}'\n{settings}\nsteps=200\nprecision='{precision}'\n"));
            // f64 runs store their outcomes in f32, as every run does.
            let tolerance = if precision == "f32" { 1e-4 } else { 3e-7 };
            for (name, e) in all_engines() {
                if name == "gpu" && precision == "f64" {
                    continue;
                }
                let o = e.run(&p, &|_, _| {}).unwrap();
                for (i, s) in column(&p, &o, "sharpness").into_iter().enumerate() {
                    assert!((s - expected).abs() < tolerance * expected, "{name} {method} {precision} trajectory {i}: {s} != {expected}");
                }
            }
        }
    }
}

#[test]
fn weight_decay_and_eps_as_axes_reach_each_runs_sharpness() {
    // Coupled decay adds wd to the Hessian's spectrum: over a wd axis each column is 2 + √2 + wd,
    // however the packs stop and refill their lanes. Under Adam an ε axis moves the
    // preconditioned sharpness, each run by its own ε (checked against the scalar path).
    let top = 2.0 + 2f64.sqrt();
    let p = plan(&(TILTED.replace("x='x=-1:1:5'", "x='weight_decay=0:2:9'") + "[dynamics]\nmethod='momentum'\nlr=0.05\nsteps=2000\n"));
    for (name, e) in all_engines() {
        let o = e.run(&p, &|_, _| {}).unwrap();
        let sharp = column(&p, &o, "sharpness");
        for i in 0..o.len() {
            let wd = p.x.values[i % p.nx()];
            assert_eq!(o.status[i], Status::Converged as u32, "{name} {i}");
            assert!((sharp[i] - (top + wd)).abs() < 1e-4 * (top + wd), "{name} wd {wd}: {}", sharp[i]);
        }
    }
    let adam = plan(&(TILTED.replace("x='x=-1:1:5'", "x='eps=1e-3:1:7:log'") + "[dynamics]\nmethod='adam'\nlr=0.01\nsteps=300\ntol=0\n"));
    let scalar = CpuEngine::scalar().run(&adam, &|_, _| {}).unwrap();
    for (name, e) in all_engines() {
        let o = e.run(&adam, &|_, _| {}).unwrap();
        for (a, b) in column(&adam, &scalar, "sharpness_pre").iter().zip(column(&adam, &o, "sharpness_pre")) {
            assert!((a - b).abs() < 1e-3 * a.abs(), "{name}: {b} != scalar {a}");
        }
    }
}

#[test]
fn at_a_saddle_the_top_of_the_spectrum_is_found_not_the_dominant_eigenvalue() {
    // x²/2 − 2y² from y = 0: gd comes to rest at the saddle (0, 0), whose Hessian is diag(1, −4).
    let p = plan("x='x=0.5:1:4'\nobserve=['sharpness']\n[system]\nstate=['x','y=0']\nloss='x^2/2 - 2*y^2'\n[dynamics]\nlr=0.1\n");
    for (name, e) in all_engines() {
        let o = e.run(&p, &|_, _| {}).unwrap();
        assert!(o.status.iter().all(|&s| s == Status::Converged as u32), "{name}");
        for s in column(&p, &o, "sharpness") {
            assert!((s - 1.0).abs() < 1e-4, "{name}: {s}");
        }
    }
}

#[test]
fn runs_that_diverged_have_no_sharpness() {
    // gd on λx²/2 beyond lr·λ = 2 diverges.
    let p = plan("x='lr=2.5:3:3'\nobserve=['sharpness']\n[system]\nstate=['x=1']\nloss='x^2/2'\n");
    for (name, e) in all_engines() {
        let o = e.run(&p, &|_, _| {}).unwrap();
        assert!(o.status.iter().all(|&s| s == Status::DivergedPos as u32 || s == Status::DivergedNeg as u32), "{name}");
        assert!(column(&p, &o, "sharpness").iter().all(|s| s.is_nan()), "{name}");
    }
}

/// Adam's preconditioned sharpness on λx²/2 after `steps` steps, from an independent f64 Adam:
/// λ·r1 / (sqrt(s)·r2 + ε) (r1, r2 the bias corrections of the last step).
fn adam_reference(lambda: f64, lr: f64, steps: u32, decoupled: f64) -> f64 {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let (mut x, mut m, mut s) = (1.0f64, 0.0f64, 0.0f64);
    for t in 1..=steps {
        let g = lambda * x;
        m = b1 * m + (1.0 - b1) * g;
        s = b2 * s + (1.0 - b2) * g * g;
        let (mh, sh) = (m / (1.0 - b1.powi(t as i32)), s / (1.0 - b2.powi(t as i32)));
        x -= lr * (mh / (sh.sqrt() + eps) + decoupled * x);
    }
    let (r1, r2) = (1.0 / (1.0 - b1.powi(steps as i32)), 1.0 / (1.0 - b2.powi(steps as i32)).sqrt());
    lambda * r1 / (s.sqrt() * r2 + eps)
}

#[test]
fn adam_preconditioned_sharpness_matches_a_reference() {
    for (method, wd) in [("adam", 0.0), ("adamw", 0.1)] {
        let toml = format!(
            "x='lr=0.002:0.02:4'\nobserve=['sharpness']\n[system]\nstate=['x=1']\nloss='lam*x^2/2'\n[params]\nlam=2\n[dynamics]\nmethod='{method}'\nweight_decay={wd}\nsteps=60\ntol=0\nprecision='f64'\n"
        );
        let p = plan(&toml);
        assert_eq!(p.extra_observables(), ["sharpness", "sharpness_pre"]);
        for (name, e) in [("cpu", CpuEngine::new()), ("cpu-scalar", CpuEngine::scalar())] {
            let o = e.run(&p, &|_, _| {}).unwrap();
            let (sharp, pre) = (column(&p, &o, "sharpness"), column(&p, &o, "sharpness_pre"));
            for (i, &lr) in p.x.values.iter().enumerate() {
                let expected = adam_reference(2.0, lr, 60, wd);
                // Stored in f32: to its rounding.
                assert!((pre[i] - expected).abs() < 3e-7 * expected, "{name} {method} lr {lr}: {} != {expected}", pre[i]);
                // AdamW's decay is not part of the loss.
                assert!((sharp[i] - 2.0).abs() < 3e-7, "{name} {method}: {}", sharp[i]);
            }
        }
        // f32 on the GPU against f32 on the CPU (the reference's own precision aside).
        let p32 = plan(&toml.replace("precision='f64'", "precision='f32'"));
        let cpu = CpuEngine::new().run(&p32, &|_, _| {}).unwrap();
        if let Some(g) = gpu() {
            let o = g.run(&p32, &|_, _| {}).unwrap();
            for name in ["sharpness", "sharpness_pre"] {
                for (a, b) in column(&p32, &cpu, name).iter().zip(column(&p32, &o, name)) {
                    assert!((a - b).abs() < 1e-3 * a.abs(), "gpu {method} {name}: {b} != cpu {a}");
                }
            }
        }
    }
}

/// A tanh net (4 hidden units, 8 samples) over lr, 2 initialisations each: steps below the edge
/// of stability (lr·λ < 2), so that f32 and f64 training end at the same minimum (past the edge
/// the steps oscillate, and rounding decides where they are after 300 of them).
fn net(method: &str, precision: &str, extra: &str) -> String {
    net_steps(method, precision, extra, 300)
}

fn net_steps(method: &str, precision: &str, extra: &str, steps: u32) -> String {
    format!(
        "system='mlp'\nx='lr=0.02:0.08:4'\nsamples=2\nseed=5\nobserve=['sharpness']\n[params]\nD=1\nd0=4\n{extra}\n[network]\nactivation='tanh'\nn=8\ndim=2\n[dynamics]\nmethod='{method}'\nsteps={steps}\ntol=0\nprecision='{precision}'\n"
    )
}

/// The largest eigenvalue of the dense f64 Hessian of `plan`'s loss at `x` (parameters of
/// trajectory `index`).
fn dense_top(plan: &Plan, index: usize, x: &[f64]) -> f64 {
    struct Top<'a>(&'a [f64], &'a [f64]);
    impl ModelVisitor for Top<'_> {
        type Output = f64;
        fn visit<M: Model>(self, m: &M) -> f64 {
            stability::hessian_eigenvalues(m, &m.hessian_params(self.0), self.1).into_iter().fold(f64::NEG_INFINITY, f64::max)
        }
    }
    let inputs = plan.inputs_at(index);
    plan.system.visit(Top(&inputs[..plan.n_params], x)).unwrap()
}

#[test]
fn a_tanh_net_sharpness_matches_its_dense_hessian_and_the_engines_agree() {
    let p64 = plan(&net("gd", "f64", ""));
    let o64 = CpuEngine::scalar().run(&p64, &|_, _| {}).unwrap();
    let sharp64 = column(&p64, &o64, "sharpness");
    for i in 0..o64.len() {
        let (st, x) = end_state_f64(&p64, i).unwrap();
        assert_ne!(st, Status::Nonfinite);
        let dense = dense_top(&p64, i, &x);
        assert!((sharp64[i] - dense).abs() < 1e-6 * dense.abs(), "trajectory {i}: Lanczos {} != dense {dense}", sharp64[i]);
    }
    // f32 on every engine (the GPU's cooperative kernel) against the f64 run, per optimizer,
    // after 40 steps: soon enough that rounding has not yet moved the f32 and f64 end states
    // apart (momentum's and Adam's transients are sensitive to it).
    for method in ["gd", "momentum", "nesterov", "adam", "adamw"] {
        let p = plan(&net_steps(method, "f32", "", 40));
        let reference = CpuEngine::scalar().run(&plan(&net_steps(method, "f64", "", 40)), &|_, _| {}).unwrap();
        for (name, e) in all_engines() {
            let o = e.run(&p, &|_, _| {}).unwrap();
            for obs in p.extra_observables() {
                let (got, want) = (column(&p, &o, obs), column(&p, &reference, obs));
                for i in 0..o.len() {
                    assert!((got[i] - want[i]).abs() < 5e-3 * want[i].abs(), "{name} {method} {obs} trajectory {i}: {} != f64 {}", got[i], want[i]);
                }
            }
        }
    }
}

#[test]
fn per_layer_rates_scale_the_sharpness_the_step_sees() {
    // gd with lr_l = (2, 2): the step's matrix is 2·H, so the sharpness doubles.
    let one = plan(&net("gd", "f64", ""));
    let two = plan(&net("gd", "f64", "lr1=2\nlr2=2").replace("lr=0.02:0.08:4", "lr=0.01:0.04:4"));
    let (a, b) = (CpuEngine::new().run(&one, &|_, _| {}).unwrap(), CpuEngine::new().run(&two, &|_, _| {}).unwrap());
    for (x, y) in column(&one, &a, "sharpness").iter().zip(column(&two, &b, "sharpness")) {
        assert!((2.0 * x - y).abs() < 1e-6 * y.abs(), "{y} != 2 × {x}");
    }
}

#[test]
fn the_sharpness_sits_between_the_systems_observables_and_the_loss_record() {
    let p = plan(&net("adam", "f32", ""));
    let names = p.observable_names();
    let at = p.extras_offset();
    assert_eq!(names[at..at + 2], ["sharpness", "sharpness_pre"]);
    assert_eq!(names.last(), Some(&"loss_inv_sum"));
    assert_eq!(names.len(), p.n_obs());
}

#[test]
fn a_field_that_is_not_a_gradient_has_no_sharpness() {
    let s = Scenario::from_toml("x='x=-1:1:4'\nobserve=['sharpness']\n[system]\nstate=['x','y']\nfield=['-y','x']\n").unwrap();
    let e = Plan::new(&s).unwrap_err().to_string();
    assert!(e.contains("not a gradient"), "{e}");
}
