//! Minibatches of `mlp` (parameter `batch`): B = n is full-batch training bit for bit; a run is
//! reproducible and does not depend on how trajectories are packed or tiled; the minibatch
//! gradient is an unbiased estimate of the full one; the CPU and GPU engines draw the same
//! samples.

mod common;

use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::{Engine, Outcomes, Status};
use basinmap::minibatch::Draw;
use basinmap::system::{Model, ModelVisitor};
use common::{gpu, plan};

/// A tanh net with 8 samples, trained for 150 steps; `extra` adds to [params].
fn net(axes: &str, extra: &str, method: &str) -> String {
    format!(
        "system='mlp'\n{axes}\nsamples=2\nseed=11\n[params]\nD=1\nd0=4\n{extra}\n[network]\nactivation='tanh'\nn=8\ndim=2\n[dynamics]\nmethod='{method}'\nlr=0.05\nsteps=150\ntol=0"
    )
}

const AXES: &str = "x='lr1=0.3:3:6:log'\ny='lr2=0.3:3:4:log'";

fn bits(o: &Outcomes) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    (o.status.clone(), o.steps.clone(), o.observables.iter().map(|v| v.to_bits()).collect())
}

#[test]
fn a_batch_of_the_whole_data_set_is_full_batch_training() {
    for method in ["gd", "momentum", "adam", "rk4"] {
        let full = plan(&net(AXES, "", method));
        let whole = plan(&net(AXES, "batch=8", method));
        let mut engines: Vec<(&str, Box<dyn Engine>)> = vec![("cpu", Box::new(CpuEngine::new())), ("cpu-scalar", Box::new(CpuEngine::scalar()))];
        if let Some(g) = gpu() {
            engines.push(("gpu", Box::new(g)));
        }
        for (name, e) in &engines {
            let a = e.run(&full, &|_, _| {}).unwrap();
            let b = e.run(&whole, &|_, _| {}).unwrap();
            assert_eq!(bits(&a), bits(&b), "{name} {method}");
        }
    }
}

#[test]
fn minibatch_runs_are_reproducible_and_independent_of_packing_and_tiling() {
    for method in ["gd", "adam"] {
        let p = plan(&net(AXES, "batch=3", method));
        let packs = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
        let one_by_one = CpuEngine::scalar().run(&p, &|_, _| {}).unwrap();
        assert_eq!(bits(&packs), bits(&one_by_one), "{method}: SIMD packs and one trajectory at a time");
        assert_eq!(bits(&packs), bits(&CpuEngine::new().run(&p, &|_, _| {}).unwrap()), "{method}: a second run");
        // Minibatches change the training (else this test would prove nothing).
        let full = CpuEngine::new().run(&plan(&net(AXES, "", method)), &|_, _| {}).unwrap();
        let differ = (0..p.n_trajectories()).filter(|&i| full.obs(i)[0] != packs.obs(i)[0]).count();
        assert_eq!(differ, p.n_trajectories(), "{method}");
        let Some(g) = gpu() else { continue };
        let whole = g.run(&p, &|_, _| {}).unwrap();
        let tiled = gpu().unwrap().with_max_tile(5).run(&p, &|_, _| {}).unwrap();
        assert_eq!(bits(&whole), bits(&tiled), "{method}: GPU tiles");
        // The GPU draws the same samples: its losses follow the CPU's within f32 rounding
        // (fused operations allowed), where a different draw would move them by O(1).
        for i in 0..p.n_trajectories() {
            let (a, b) = (packs.obs(i)[0], whole.obs(i)[0]);
            assert_eq!(packs.status[i], whole.status[i], "{method}: trajectory {i}");
            if packs.status[i] == Status::Undecided as u32 {
                assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()), "{method}: trajectory {i}: loss {a} (CPU) vs {b} (GPU)");
            }
        }
    }
}

/// The column of a map over `batch` at B = n is full-batch training: the same bits as a run
/// without minibatches (starts shared, so every column starts alike).
#[test]
fn batch_is_an_axis() {
    let map = plan(&net("x='batch=2:8:4'\ny='lr2=0.3:3:4:log'\nshared_init=true", "", "gd"));
    let full = plan(&net("x='lr1=1:1:1'\ny='lr2=0.3:3:4:log'\nshared_init=true", "", "gd"));
    let m = CpuEngine::new().run(&map, &|_, _| {}).unwrap();
    let f = CpuEngine::new().run(&full, &|_, _| {}).unwrap();
    for row in 0..4 {
        for s in 0..2 {
            let (i, j) = ((row * 4 + 3) * 2 + s, row * 2 + s);
            assert_eq!(m.obs(i)[0].to_bits(), f.obs(j)[0].to_bits(), "row {row} sample {s}");
            let smaller = (row * 4) * 2 + s;
            assert_ne!(m.obs(smaller)[0].to_bits(), f.obs(j)[0].to_bits(), "batch 2 differs");
        }
    }
}

/// The mean of step n's minibatch gradient over many steps is the full gradient: every
/// component within five standard errors.
#[test]
fn the_minibatch_gradient_is_unbiased() {
    struct Grads(Vec<f64>, Vec<f64>, u32);
    impl ModelVisitor for Grads {
        type Output = (Vec<f64>, Vec<Vec<f64>>);
        fn visit<M: Model>(self, m: &M) -> Self::Output {
            let Grads(p, x, steps) = self;
            let mut full = vec![0.0; x.len()];
            m.field(&p, &x, &mut full);
            let mut draw = Draw::new(11, 1);
            draw.index[0] = 5;
            let drawn = (0..steps)
                .map(|n| {
                    draw.step[0] = n;
                    let mut v = vec![0.0; x.len()];
                    m.field_drawn(&p, &x, &mut v, &draw);
                    v
                })
                .collect();
            (full, drawn)
        }
    }
    let p = plan(&net(AXES, "batch=3", "gd"));
    let x: Vec<f64> = p.start_f32(5).iter().map(|&v| v as f64).collect();
    let params = p.inputs_at(5)[..p.n_params].to_vec();
    let steps = 4000;
    let (full, drawn) = p.system.visit(Grads(params, x, steps)).unwrap();
    assert!(drawn.windows(2).any(|w| w[0] != w[1]), "steps draw different samples");
    for k in 0..full.len() {
        let mean = drawn.iter().map(|v| v[k]).sum::<f64>() / steps as f64;
        let var = drawn.iter().map(|v| (v[k] - mean).powi(2)).sum::<f64>() / (steps - 1) as f64;
        let se = (var / steps as f64).sqrt();
        assert!((mean - full[k]).abs() <= 5.0 * se + 1e-12, "weight {k}: mean {mean} vs full {} (se {se})", full[k]);
    }
}

#[test]
fn batch_sizes_are_checked() {
    let err = |extra: &str, axes: &str| {
        let s = basinmap::scenario::Scenario::from_toml(&net(axes, extra, "gd")).unwrap();
        basinmap::plan::Plan::new(&s).err().map(|e| e.to_string()).unwrap_or_default()
    };
    assert!(err("batch=0", AXES).contains("batch must be between 1 and n = 8"), "{}", err("batch=0", AXES));
    assert!(err("batch=9", AXES).contains("batch must be between 1 and n = 8"));
    assert!(err("", "x='batch=1:20:4'").contains("batch must be between 1 and n = 8"));
    assert!(err("batch=8", AXES).is_empty());
}

/// `trace` draws the minibatches the engines draw: its last record is the engine's end state.
#[test]
fn a_trace_follows_the_engines_minibatches() {
    let p = plan(&net(AXES, "batch=3", "gd"));
    let engine = CpuEngine::scalar().run(&p, &|_, _| {}).unwrap();
    let trace = basinmap::trace::record(&p, Some(50)).unwrap();
    let ran_on = |t: &&basinmap::trace::Traced| engine.status[t.index] == Status::Undecided as u32;
    assert!(trace.trajectories.iter().filter(ran_on).count() > 10);
    for t in trace.trajectories.iter().filter(ran_on) {
        let last = t.values.last().unwrap();
        assert_eq!(*t.steps.last().unwrap(), 150);
        assert_eq!(last[0].to_bits(), engine.obs(t.index)[0].to_bits(), "trajectory {}: loss {} vs {}", t.index, last[0], engine.obs(t.index)[0]);
    }
}
