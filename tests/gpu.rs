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

/// Every system × step rule, and `effective` at several vector lengths.
fn all_shapes() -> Vec<Shape> {
    let mut shapes = Vec::new();
    for name in System::BUILT_IN {
        let system = System::by_name(name).unwrap();
        for method in [Method::Gd, Method::Rk4] {
            let lens: &[usize] = if system == System::Effective { &[1, 2, 5] } else { &[0] };
            for &n in lens {
                let mut s = Scenario::for_system(&system.spec().name).unwrap();
                s.dynamics.method = method;
                if n > 0 {
                    let v: Vec<f64> = (1..=n).map(|k| k as f64).collect();
                    s.params.insert("a".into(), basinmap::scenario::ParamValue::Vector(v.clone()));
                    s.params.insert("exy".into(), basinmap::scenario::ParamValue::Vector(v));
                }
                shapes.push(Shape::of(&Plan::new(&s).unwrap()));
            }
        }
    }
    shapes
}

#[test]
fn every_composition_validates_with_naga() {
    let shapes = all_shapes();
    assert_eq!(shapes.len(), 2 * (1 + 1 + 3));
    for shape in &shapes {
        let module = validate(&compose(shape).source);
        let entry: Vec<_> = module.entry_points.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(entry, ["integrate", "finish"]);
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
