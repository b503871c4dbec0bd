//! The engines' early stop on a cycle (the return probe, src/engine/returns.rs): a trajectory
//! on a cycle stops a few periods after its probe's checkpoint lands on it instead of running
//! out its budget, the host confirms it (the same kinds, periods and points as a run whose budget
//! is too short for the probe, and as the GPU engine's own probe), and a return the host does not
//! confirm runs on to the end of its budget.

mod common;

use basinmap::classify::Kind;
use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::returns::Rule;
use basinmap::engine::{Engine, Status};
use common::{plan, run};

/// The logistic map x ← r x (1 − x) from x₀ ∈ {0.2, 0.3, 0.4} at r = 2.855 (a fixed point),
/// 3.1 and 3.345 (2-cycles), 3.59 (chaos) and 3.835 (the period-3 window), in f32.
fn logistic(steps: u32) -> String {
    format!("x='r=2.855:3.835:5'\ny='x=0.2:0.4:3'\n[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n[params]\nr=3\n[dynamics]\nsteps={steps}\n")
}

#[test]
fn map_cycles_stop_early_and_get_the_labels_of_a_run_without_the_probe() {
    let (long, short) = (plan(&logistic(200_000)), plan(&logistic(1000)));
    assert_eq!(Rule::of_plan(&long), Some(Rule::Samples { stride: 1, max_period: 64, first: 12_500 }));
    // A budget of 1000 steps is under four first checkpoints (4 · 4 · 64): no probe.
    assert_eq!(Rule::of_plan(&short), None);
    let engine = CpuEngine::new();
    let raw = engine.run(&long, &|_, _| {}).unwrap();
    let (o, c) = run(&engine, &long);
    let (o_short, c_short) = run(&engine, &short);
    let mut stopped = Vec::new();
    for i in 0..long.n_trajectories() {
        let (a, b) = (&c.attractors[c.labels[i] as usize], &c_short.attractors[c_short.labels[i] as usize]);
        assert_eq!((a.kind, a.period), (b.kind, b.period), "trajectory {i}");
        if a.kind == Kind::Cycle {
            assert_eq!(o.obs(i), o_short.obs(i), "trajectory {i}: the same cycle point");
            // Stopped by the probe in its first checkpoint's window, then confirmed.
            assert_eq!(raw.status[i], Status::Cycle as u32, "trajectory {i}");
            assert!(raw.steps[i] <= 12_500 + 2 * 64, "trajectory {i}: {} steps", raw.steps[i]);
            stopped.push(a.period);
        } else if a.kind == Kind::Chaotic {
            // The chaotic band runs its whole budget: its near-returns are never confirmed.
            assert_eq!((raw.status[i], raw.steps[i]), (Status::Undecided as u32, 200_000), "trajectory {i}");
        } else {
            assert_ne!(raw.status[i], Status::Cycle as u32, "trajectory {i}: a fixed point");
        }
    }
    stopped.sort();
    assert_eq!(stopped, [2, 2, 2, 2, 2, 2, 3, 3, 3]);
    assert!(c.attractors.iter().any(|a| a.kind == Kind::Chaotic), "{:?}", c.attractors);
}

/// gd on x²/2 at lr = 1.9999 (multiplier −0.9999) oscillates about 0 and decays so slowly that
/// at the first checkpoint (step 12 500 of 200 000) the probe's f32 returns close; the host sees
/// the drift, does not confirm the cycle, and runs the trajectory on: it converges (after about
/// 80 000 steps), as it would have without the probe.
#[test]
fn a_return_the_host_does_not_confirm_runs_on_to_convergence() {
    let p = plan("x='x=-0.004:0.004:9'\n[system]\nstate=['x']\nloss='x^2/2'\n[dynamics]\nlr=1.9999\nsteps=200000\ntol=1e-6\n");
    let engine = CpuEngine::new();
    let raw = engine.run(&p, &|_, _| {}).unwrap();
    let (o, c) = run(&engine, &p);
    let claimed = (0..9).filter(|&i| raw.status[i] == Status::Cycle as u32).count();
    assert!(claimed >= 4, "the probe stops some: {:?}", raw.status);
    for i in (0..9).filter(|&i| i != 4) {
        assert_eq!(o.status[i], Status::Converged as u32, "trajectory {i}");
        assert!(o.obs(i)[0].abs() < 1e-6, "trajectory {i}: x = {}", o.obs(i)[0]);
    }
    assert!(c.attractors.iter().all(|a| a.kind == Kind::Fixed), "{:?}", c.attractors);
}

/// The driven pendulum (Menck et al.): rotating starts stop a few periods after the probe's
/// checkpoint at step 1250 or 2500 (of 20 000) lands on the limit cycle; the host finds the same cycle
/// and period from them as from the GPU engine's (whose WGSL probe stops them too).
#[test]
fn rotating_pendulums_stop_early_on_their_limit_cycle() {
    let p = plan(
        "x='phi=-2.6:3.6:8'\ny='omega=-10:10:8'\n[system]\nstate=['phi','omega']\nfield=['omega','-alpha*omega + T - K*sin(phi)']\nperiodic=['phi']\n[params]\nalpha=0.1\nT=0.5\nK=1.0\n[dynamics]\nmethod='rk4'\ndt=0.05\nsteps=20000\ntol=1e-6\n",
    );
    assert_eq!(Rule::of_plan(&p), Some(Rule::Section { first: 1250, dt: 0.05 }));
    let engine = CpuEngine::new();
    let raw = engine.run(&p, &|_, _| {}).unwrap();
    let (o, c) = run(&engine, &p);
    let rotating: Vec<usize> = (0..64).filter(|&i| o.status[i] == Status::Cycle as u32).collect();
    assert!(rotating.len() >= 32, "most starts rotate: {}", rotating.len());
    for &i in &rotating {
        assert_eq!(raw.status[i], Status::Cycle as u32, "start {i}");
        assert!(raw.steps[i] < 5000, "start {i}: {} steps", raw.steps[i]);
    }
    let cycles: Vec<_> = c.attractors.iter().filter(|a| a.kind == Kind::Cycle).collect();
    assert_eq!(cycles.len(), 1, "{:?}", c.attractors);
    if let Some(gpu) = common::gpu() {
        let (og, cg) = run(&gpu, &p);
        let g: Vec<_> = cg.attractors.iter().filter(|a| a.kind == Kind::Cycle).collect();
        assert_eq!(g.len(), 1);
        assert!((g[0].cycle_time - cycles[0].cycle_time).abs() < 1e-4, "T = {} and {}", g[0].cycle_time, cycles[0].cycle_time);
        for i in 0..64 {
            assert_eq!(og.status[i], o.status[i], "start {i}");
        }
    }
}

/// Heavy ball (μ = 0.5) on the double well x⁴/4 − x²/2 past its edge of stability: the probe
/// compares the parameter alone and stops its 2- and 4-cycles within the first checkpoint's
/// window on every engine; the host confirms them from the parameter and the velocity the
/// engine returned, with the kinds, periods and points of a run too short for the probe.
#[test]
fn optimizer_cycles_stop_early_and_get_the_labels_of_a_run_without_the_probe() {
    let toml = |steps: u32| format!("x='lr=1.56:1.71:6'\ny='x=0.94:1.1:5'\n[system]\nstate=['x']\nloss='x^4/4 - x^2/2'\n[dynamics]\nmethod='momentum'\nmomentum=0.5\nsteps={steps}\ntol=1e-7\n");
    let (long, short) = (plan(&toml(200_000)), plan(&toml(1000)));
    assert_eq!(Rule::of_plan(&long), Some(Rule::Samples { stride: 1, max_period: 64, first: 12_500 }));
    assert_eq!(Rule::of_plan(&short), None);
    let (o_short, c_short) = run(&CpuEngine::new(), &short);
    for (name, engine) in common::engines() {
        let raw = engine.run(&long, &|_, _| {}).unwrap();
        let (o, c) = run(engine.as_ref(), &long);
        let mut periods = Vec::new();
        for i in 0..long.n_trajectories() {
            let (a, b) = (&c.attractors[c.labels[i] as usize], &c_short.attractors[c_short.labels[i] as usize]);
            assert_eq!((a.kind, a.period), (b.kind, b.period), "{name}: trajectory {i}");
            assert_eq!(a.kind, Kind::Cycle, "{name}: trajectory {i}");
            assert_eq!(raw.status[i], Status::Cycle as u32, "{name}: trajectory {i}");
            assert!(raw.steps[i] <= 12_500 + 2 * 64, "{name}: trajectory {i}: {} steps", raw.steps[i]);
            let (x, y) = (o.obs(i)[0], o_short.obs(i)[0]);
            assert!((x - y).abs() <= 1e-5, "{name}: trajectory {i}: cycle point {x} vs {y} without the probe");
            periods.push(a.period);
        }
        assert_eq!(&periods[..6], [2, 2, 2, 2, 2, 4], "{name}");
    }
}
