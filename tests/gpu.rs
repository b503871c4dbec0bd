//! The GPU engine against the CPU oracle, and the WGSL checked by naga.

mod common;

use basinmap::dynamics::Method;
use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::gpu::Config;
use basinmap::engine::shader::{compose, Shape};
use basinmap::engine::{Engine, Status};
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use basinmap::system::System;
use common::{gpu, plan, run};

fn validate(source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
    module
}

const METHODS: [Method; 6] = [Method::Gd, Method::Rk4, Method::Momentum, Method::Nesterov, Method::Adam, Method::AdamW];

/// Every system × step rule, `effective` at several vector lengths, the networks at several
/// depths (D = 0 has no hidden layer) and every activation.
fn all_shapes() -> Vec<Shape> {
    let mut shapes = Vec::new();
    for name in System::BUILT_IN {
        let variants: Vec<String> = match name {
            "effective" => [1usize, 2, 5]
                .iter()
                .map(|&n| {
                    let v: Vec<String> = (1..=n).map(|k| k.to_string()).collect();
                    format!("a=[{0}]\nexy=[{0}]\n", v.join(","))
                })
                .collect(),
            "deep-linear" => (0..=3).map(|d| format!("D={d}\nd0=3\n")).collect(),
            "mlp" => ["identity", "tanh", "relu", "sigmoid"]
                .iter()
                .enumerate()
                .map(|(d, a)| format!("D={d}\n[network]\nactivation='{a}'\nparameterisation='mean-field'\n"))
                .collect(),
            _ => vec![String::new()],
        };
        for method in METHODS {
            for v in &variants {
                let system = System::by_name(name).unwrap();
                let (x, _) = system.default_axes();
                let toml = format!("system='{name}'\nx='{x}'\n[dynamics]\nmethod='{}'\n[params]\n{v}", method.as_str());
                shapes.push(Shape::of(&Plan::new(&Scenario::from_toml(&toml).unwrap()).unwrap()));
            }
        }
    }
    shapes
}

#[test]
fn every_composition_validates_with_naga() {
    let shapes = all_shapes();
    assert_eq!(shapes.len(), METHODS.len() * (1 + 1 + 3 + 4 + 4));
    for shape in &shapes {
        let module = validate(&compose(shape).source);
        let entry: Vec<_> = module.entry_points.iter().map(|e| e.name.as_str()).collect();
        // The per-invocation kernel also continues rows from host states (`Engine::continuer`).
        let want: &[&str] = if shape.system.spec().cooperative { &["integrate", "finish"] } else { &["integrate", "finish", "advance_rows"] };
        assert_eq!(entry, want);
    }
}

#[test]
fn config_twin_matches_naga_layout() {
    let module = validate(&compose(&all_shapes()[0]).source);
    let (_, ty) = module.types.iter().find(|(_, t)| t.name.as_deref() == Some("Config")).expect("Config in WGSL");
    assert_eq!(ty.inner.size(module.to_ctx()) as usize, std::mem::size_of::<Config>());
}

/// Runs `toml` on both engines and checks agreement: labels on ≥ 99.9 % of the map; where both
/// converged to the same attractor, final observables within 1e-3 absolute + 1e-3 relative
/// (f32 with possibly fused operations on the GPU, stopping at |grad| < tol, so end states can
/// differ by ~tol/λ); steps within 5 % on 99 % of trajectories.
fn agree(toml: &str) {
    let Some(g) = gpu() else { return };
    let p = plan(toml);
    let (oc, cc) = run(&CpuEngine::new(), &p);
    let (og, cg) = run(&g, &p);
    let n = p.n_trajectories();
    let kind = |c: &basinmap::classify::Classification, i: usize| {
        let a = &c.attractors[c.labels[i] as usize];
        (a.kind, a.stability)
    };
    let same = (0..n).filter(|&i| cc.labels[i] == cg.labels[i] && kind(&cc, i) == kind(&cg, i)).count();
    assert!(same as f64 >= 0.999 * n as f64, "{toml}: labels agree on {same} of {n}");
    let mut close_steps = 0;
    for i in 0..n {
        if oc.status[i] == Status::Converged as u32 && cc.labels[i] == cg.labels[i] {
            for (a, b) in oc.obs(i).iter().zip(og.obs(i)) {
                assert!((a - b).abs() <= 1e-3 + 1e-3 * a.abs(), "{toml}: trajectory {i}: {a} vs {b}");
            }
        }
        let (a, b) = (oc.steps[i] as f64, og.steps[i] as f64);
        if (a - b).abs() <= 0.05 * a.max(b) + 1.0 {
            close_steps += 1;
        }
    }
    assert!(close_steps as f64 >= 0.99 * n as f64, "{toml}: steps close on {close_steps} of {n}");
}

#[test]
fn gpu_agrees_with_cpu_landau_first_order_gd() {
    agree("system='landau'\nx='r=-0.25:0.5:256'\ny='m=-1.5:1.5:256'\n[params]\nu=-1\nw=1");
}

#[test]
fn gpu_agrees_with_cpu_landau_second_order_rk4_with_field() {
    agree("system='landau'\nx='r=-1:1:256'\ny='m=-1.5:1.5:256'\n[params]\nh=0.05\n[dynamics]\nmethod='rk4'\ndt=0.05");
}

#[test]
fn gpu_agrees_with_cpu_for_every_optimizer() {
    // Adam with a small ε does not settle on a minimum: as the gradient shrinks its effective
    // step lr/(√v̂ + ε) grows until the minimum is unstable, and it keeps moving by about lr
    // around it (Cohen et al. 2022), converging or not by the rounding of each engine. With
    // ε above the gradients near the minimum it is gd with step lr/ε there, and settles. AdamW's
    // fixed point has |gradient| ≈ ε·weight_decay·|x|/(1 − weight_decay·|x|), below tol here.
    for (method, extra) in [
        ("momentum", "momentum=0.8"),
        ("nesterov", "momentum=0.5"),
        ("adam", "lr=0.002\neps=0.01"),
        ("adamw", "lr=0.002\neps=0.01\nweight_decay=0.0005"),
    ] {
        agree(&format!("system='landau'\nx='r=-0.25:0.5:128'\ny='m=-1.5:1.5:128'\n[params]\nu=-1\nw=1\n[dynamics]\nmethod='{method}'\n{extra}"));
    }
}

#[test]
fn gpu_agrees_with_cpu_on_settings_axes() {
    agree("system='landau'\nx='lr=0.01:0.3:128:log'\ny='momentum=0:0.9:64'\n[params]\nr=-1\n[dynamics]\nmethod='momentum'");
    agree("system='landau'\nx='weight_decay=0:1:64'\ny='m=-1.5:1.5:64'\n[params]\nr=-1\n[dynamics]\nmethod='momentum'");
}

#[test]
fn gpu_agrees_with_cpu_training_a_network_by_adam_and_momentum() {
    for method in ["adam", "momentum", "adamw"] {
        agree(&format!("system='mlp'\nx='lr1=0.3:3:16:log'\ny='lr2=0.3:3:16:log'\nsamples=2\n[params]\nd0=4\n[network]\nactivation='tanh'\nn=8\ndim=2\n[dynamics]\nmethod='{method}'\nlr=0.01\nsteps=400"));
    }
}

#[test]
fn gpu_agrees_with_cpu_linear() {
    agree("system='linear'\nx='k=-1:1:256'\ny='x=-2:2:256'\n[dynamics]\nlr=0.05");
}

#[test]
fn gpu_agrees_with_cpu_effective_depth_two() {
    agree("system='effective'\nx='gamma=0.01:0.4:256'\ny='b=-1.5:1.5:256'\n[params]\nD=2\n[dynamics]\nlr=0.02\nsteps=50000");
}

#[test]
fn gpu_tiles_and_chunks_do_not_change_results() {
    // A map bigger than one dispatch's first chunk, run twice: bit-identical.
    let Some(g) = gpu() else { return };
    let p = plan("system='landau'\nx='r=-0.25:0.5:300'\ny='m=-1.5:1.5:70'\n[params]\nu=-1\nw=1");
    let a = g.run(&p, &|_, _| {}).unwrap();
    let b = g.run(&p, &|_, _| {}).unwrap();
    assert_eq!(a, b);
}

#[test]
fn refilled_workers_give_each_trajectory_its_own_bits() {
    // Few persistent workers, each taking trajectory after trajectory across many short
    // dispatches, must give what a worker per trajectory gives, bit for bit: runs that converge
    // early or late, diverge past a small bound, start out of bounds, or stay undecided; and
    // under noise with escapes (the noise is drawn at (trajectory, step)).
    let Some(g) = gpu() else { return };
    let maps = [
        "system='landau'\nx='r=-0.25:0.5:60'\ny='m=-3:3:40'\n[params]\nu=-1\nw=1\n[dynamics]\nsteps=3000\nbound=2.5",
        "system='landau'\nx='m=-1:-1:1'\ny='r=-2:-1:5'\nsamples=40\nseed=4\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=2000\ntemperature=0.3\nescape=1.0",
    ];
    for toml in maps {
        let p = plan(toml);
        let alone = g.run(&p, &|_, _| {}).unwrap();
        let statuses: std::collections::BTreeSet<u32> = alone.status.iter().copied().collect();
        assert!(statuses.len() >= 2, "{toml}: a map with several kinds of ending ({statuses:?})");
        let refilled = gpu().unwrap().with_max_workers(5).with_chunk(37).with_max_tile(900).run(&p, &|_, _| {}).unwrap();
        assert_eq!(alone, refilled, "{toml}");
    }
}

#[test]
fn long_dispatches_take_every_step() {
    // One dispatch of 100 000 steps: more loop iterations than llvmpipe lets one invocation run.
    // The kernel's canary must catch the cut and the engine retry with shorter dispatches, so
    // every trajectory takes exactly the steps it was given.
    let Some(g) = gpu() else { return };
    let p = plan("system='landau'\nx='r=-1:-0.5:4'\ny='m=0.5:1:2'\n[params]\nu=1\nw=0\n[dynamics]\nlr=0.0001\nsteps=100000\ntol=0");
    let o = g.with_chunk(100_000).run(&p, &|_, _| {}).unwrap();
    assert!(o.steps.iter().all(|&s| s == 100_000), "{:?}", o.steps);
    let cpu = basinmap::engine::cpu::CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    // Both step by Landau's map and stall where a step no longer moves m in f32; where the map's
    // fused multiply-adds are rounded twice (llvmpipe), within ulp(1)/(lr·F''(m*)) =
    // 1.2e-7/(1e-4 · 4) = 3e-4 of each other at the minimum m* = sqrt(−r/2u); the loss, flat
    // there, agrees far closer.
    assert_eq!(o.status, cpu.status);
    for (k, (a, b)) in o.observables.iter().zip(&cpu.observables).enumerate() {
        let tolerance = if k % 2 == 0 { 3e-4 } else { 1e-6 };
        assert!((a - b).abs() < tolerance, "observable {k}: {a} vs {b}");
    }
}

/// GPU outcomes `g` against the CPU's `c` of a fixed-step gd run, which both engines step by the
/// system's map with the same operations: the same statuses and steps, and the end states
/// (observable 0) and losses (observable 1) within `rel`·(1 + |x|). The bits are equal where the
/// adapter fuses WGSL's `fma` as the CPU does; SPIR-V lets a driver round its product first,
/// and llvmpipe does, so there each step may differ by an ulp.
fn assert_same_map_outcomes(g: &basinmap::engine::Outcomes, c: &basinmap::engine::Outcomes, rel: f32, what: &str) {
    assert_eq!(g.status, c.status, "{what}: statuses");
    assert_eq!(g.steps, c.steps, "{what}: steps");
    for i in 0..g.status.len() {
        for (k, (a, b)) in g.obs(i).iter().zip(c.obs(i)).enumerate() {
            assert!((a - b).abs() <= rel * (1.0 + b.abs()) || (a.is_nan() && b.is_nan()), "{what}: trajectory {i}, observable {k}: {a} vs {b}");
        }
    }
}

/// Fixed-step gradient descent on Landau runs on the GPU by the CPU's map, in blocks of 8 steps
/// between bounds tests, a block that leaves them taken again one step at a time: the CPU's
/// statuses and steps exactly, with trajectories that leave the bounds mid-block, start outside
/// them, or run to the last step; in the reduced form (c = h = 0) and the full one, with h on an
/// axis (both forms in one run), and in f64 where the adapter has it. The runs are long enough
/// for every bounded trajectory to settle at a minimum (one still near the maximum would amplify
/// an ulp's difference), and the end states then agree to f32's stalling band ulp(1)/(lr·F''),
/// which is wide where a minimum is shallow: 1e-3 covers F'' ≥ 0.012 (2e-4 measured on llvmpipe,
/// whose fma rounds twice, near the spinodal of the full form). Short dispatches cut the blocks
/// elsewhere and change no bit.
#[test]
fn fixed_step_gd_takes_the_cpus_map() {
    let Some(g) = gpu() else { return };
    let maps = [
        // W1's system with starts beyond the bound and large |m| that overshoot and diverge.
        ("reduced", "system='landau'\nx='r=-0.5:0.5:64'\ny='m=-3.2:3.2:64'\n[params]\nu=-1\nw=1\n[dynamics]\nlr=0.01\nsteps=5003\ntol=0\nbound=3"),
        ("full", "system='landau'\nx='r=-0.5:0.5:64'\ny='m=-3.2:3.2:64'\n[params]\nu=-1\nw=1\nc=0.1\nh=0.05\n[dynamics]\nlr=0.01\nsteps=5003\ntol=0\nbound=3"),
        ("h on an axis", "system='landau'\nx='h=-0.1:0.1:33'\ny='m=-3.2:3.2:64'\n[params]\nr=0.1\nu=-1\nw=1\n[dynamics]\nlr=0.01\nsteps=20000\ntol=0\nbound=3"),
        ("f64", "system='landau'\nx='r=-0.5:0.5:64'\ny='m=-3.2:3.2:64'\n[params]\nu=-1\nw=1\n[dynamics]\nlr=0.01\nsteps=5003\ntol=0\nbound=3\nprecision='f64'"),
    ];
    for (what, toml) in maps {
        let p = plan(toml);
        if let Some(why) = g.precision_obstacle(&p) {
            eprintln!("SKIPPED {what}: {why}");
            continue;
        }
        let o = g.run(&p, &|_, _| {}).unwrap();
        let statuses: std::collections::BTreeSet<u32> = o.status.iter().copied().collect();
        assert!(statuses.len() >= 2, "{what}: a map with several kinds of ending ({statuses:?})");
        assert!(o.steps.iter().any(|&s| s % 8 != 0 && s < 500), "{what}: some trajectory leaves the bounds mid-block");
        let cpu = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
        let rel = if p.dynamics.precision == basinmap::dynamics::Precision::F64 { 1e-6 } else { 1e-3 };
        assert_same_map_outcomes(&o, &cpu, rel, what);
        // Short dispatches cut the blocks elsewhere: still the same bits.
        let cut = gpu().unwrap().with_chunk(37).with_max_workers(300).run(&p, &|_, _| {}).unwrap();
        assert_eq!(o, cut, "{what}: dispatches of 37 steps");
    }
}

/// The kernels in f64 (where the adapter has SHADER_F64, as llvmpipe does) against the CPU
/// engine in f64: the same labels on ≥ 99.9 %, steps within 1 % + 1 on 99 %, and observables
/// within 1e-6 (an end state within tol/λ of the same point, stored in f32), far below what f32
/// arithmetic reaches at these tolerances. Built-in and formula systems, both step rules, noise.
#[test]
fn f64_kernels_agree_with_the_cpu_in_f64() {
    let Some(g) = gpu() else { return };
    let maps = [
        "system='effective'\nx='gamma=0.01:0.4:96'\ny='b=-1.5:1.5:96'\n[params]\nD=2\n[dynamics]\nmethod='rk4'\ndt=0.05\nsteps=100000\ntol=1e-9\nprecision='f64'",
        "system='landau'\nx='r=-0.25:0.5:96'\ny='m=-1.5:1.5:96'\n[params]\nu=-1\nw=1\nh=0.01\nc=0.1\n[dynamics]\nlr=0.01\nsteps=200000\ntol=1e-9\nprecision='f64'",
        "x='x=-2:2:96'\ny='y=-2:2:96'\n[system]\nstate=['x', 'y']\nloss='a*(x^2 - 1)^2 + y^2 + 0.3*x*y + 0.01*sqrt(1 + x*x) + 0.01*abs(y)'\n[params]\na=1.0\n[dynamics]\nlr=0.01\nsteps=100000\ntol=1e-9\nprecision='f64'",
        "system='landau'\nx='m=-1:-1:1'\ny='r=-2:-1:5'\nsamples=40\nseed=4\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=2000\ntemperature=0.3\nescape=1.0\nprecision='f64'",
    ];
    for toml in maps {
        let p = plan(toml);
        if let Some(why) = g.precision_obstacle(&p) {
            assert!(why.contains("SHADER_F64"), "{toml}: {why}");
            eprintln!("SKIPPED: {why}");
            return;
        }
        let (oc, cc) = run(&CpuEngine::new(), &p);
        let (og, cg) = run(&g, &p);
        let n = p.n_trajectories();
        let same = (0..n).filter(|&i| cc.labels[i] == cg.labels[i]).count();
        assert!(same as f64 >= 0.999 * n as f64, "{toml}: labels agree on {same} of {n}");
        let close_steps = (0..n).filter(|&i| (oc.steps[i] as f64 - og.steps[i] as f64).abs() <= 0.01 * oc.steps[i] as f64 + 1.0).count();
        assert!(close_steps as f64 >= 0.99 * n as f64, "{toml}: steps close on {close_steps} of {n}");
        for i in 0..n {
            if oc.status[i] == og.status[i] && cc.labels[i] == cg.labels[i] {
                for (a, b) in oc.obs(i).iter().zip(og.obs(i)) {
                    assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{toml}: trajectory {i}: {a} vs {b}");
                }
            }
        }
    }
}

/// The f64 compositions of every system the GPU runs in f64 validate with naga (f64 allowed).
#[test]
fn f64_compositions_validate_with_naga() {
    let mut checked = 0;
    for mut shape in all_shapes() {
        if basinmap::engine::f64_obstacle(&shape.system).is_some() {
            continue;
        }
        shape.f64 = true;
        let source = compose(&shape).source;
        assert!(source.contains("alias real = f64;"));
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| panic!("{}", e.emit_to_string(&source)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::FLOAT64)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(&source)));
        checked += 1;
    }
    // linear, landau and effective (three vector lengths), each with every step rule.
    assert_eq!(checked, METHODS.len() * (1 + 1 + 3));
}
