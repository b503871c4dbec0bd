//! Criterion benches of the engines' kernels: the default map's workload (first-order Landau,
//! gd) as the built-in system and as the same loss typed as a formula (`--loss`), and a small
//! trainability map (the tanh network of W3), each on the CPU engine's SIMD packs (`cpu`), on
//! its scalar path (`cpu-scalar`, one trajectory at a time) and on the GPU.
//! `cargo bench --bench engines`; the GPU bench runs when wgpu finds any adapter.
//! Throughput is reported in trajectories; trajectory-steps/s is in each run's run.json.

use basinmap::engine::{cpu::CpuEngine, gpu::GpuEngine, Engine};
use basinmap::plan::Plan;
use basinmap::scenario::{CustomDef, ParamValue, Scenario, SystemChoice};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn plan(n: usize, steps: u32, tol: f64, formula: bool) -> Plan {
    let mut s = Scenario::default_map();
    if formula {
        s.system = SystemChoice::Custom(CustomDef {
            state: vec!["m".into()],
            loss: Some("r*m^2 + u*m^4 + w*m^6".into()),
            ..CustomDef::default()
        });
        s.params.insert("r".into(), ParamValue::Scalar(0.0));
    }
    s.x = format!("r=-0.25:0.5:{n}").parse().unwrap();
    s.y = Some(format!("m=-1.5:1.5:{n}").parse().unwrap());
    s.dynamics.steps = steps;
    s.dynamics.tol = tol;
    Plan::new(&s).unwrap()
}

fn trainability(n: usize) -> Plan {
    Plan::new(&basinmap::bench::Workload::W3.scenario(n).unwrap()).unwrap()
}

fn engines(c: &mut Criterion) {
    let mut group = c.benchmark_group("landau-first-order");
    group.sample_size(10);
    // Fixed steps (tol 0: no early exit) and run to convergence.
    for (name, p) in [
        ("fixed-500-steps", plan(128, 500, 0.0, false)),
        ("to-convergence", plan(128, 20_000, 1e-5, false)),
        ("formula-fixed-500-steps", plan(128, 500, 0.0, true)),
        ("trainability-width8-100-steps", trainability(32)),
    ] {
        group.throughput(Throughput::Elements(p.n_trajectories() as u64));
        group.bench_function(format!("cpu/{name}"), |b| b.iter(|| CpuEngine::new().run(&p, &|_, _| {}).unwrap()));
        group.bench_function(format!("cpu-scalar/{name}"), |b| b.iter(|| CpuEngine::scalar().run(&p, &|_, _| {}).unwrap()));
        if let Ok(Some(gpu)) = GpuEngine::new(true) {
            group.bench_function(format!("gpu/{name}"), |b| b.iter(|| gpu.run(&p, &|_, _| {}).unwrap()));
        }
    }
    group.finish();
}

criterion_group!(benches, engines);
criterion_main!(benches);
