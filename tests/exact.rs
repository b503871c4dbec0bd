//! Maps checked against the exact results of models.md §1–3, on every engine available.

mod common;

use basinmap::classify::Kind;
use basinmap::engine::Status;
use basinmap::system::{Effective, Model, Stability};
use common::{engines, plan, run};

#[test]
fn linear_labels_match_sign_and_fixed_point() {
    let a = 0.3;
    let p = plan(&format!(
        "system='linear'\nx='k=-1:1:40'\ny='x=-2:2:64'\n[params]\na={a}\n[dynamics]\nlr=0.05\nsteps=50000\ntol=1e-5"
    ));
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        let mut checked = 0;
        for i in 0..p.n_trajectories() {
            let inputs = p.inputs_at(i);
            let (k, x0) = (inputs[0], inputs[2]);
            let at = &c.attractors[c.labels[i] as usize];
            if k > 0.0 && (x0 - a).abs() > 0.05 {
                let want = if x0 > a { Kind::PosInf } else { Kind::NegInf };
                assert_eq!(at.kind, want, "{name}: k={k} x0={x0}");
                checked += 1;
            } else if k < 0.0 {
                assert_eq!(at.kind, Kind::Fixed, "{name}: k={k} x0={x0}");
                assert_eq!(at.stability, Some(Stability::Minimum));
                let x = o.obs(i)[0] as f64;
                assert!((x - a).abs() <= 1e-5 / k.abs() + 1e-6, "{name}: k={k} x0={x0} ended at {x}");
                checked += 1;
            }
        }
        assert!(checked > 2400, "{name}: {checked}");
        // k < 0 is one branch: a single fixed attractor over the whole half-plane.
        assert_eq!(c.attractors.iter().filter(|a| a.kind == Kind::Fixed).count(), 1, "{name}");
    }
}

#[test]
fn linear_continuum_at_k_zero_is_survived_and_reported() {
    let p = plan("system='linear'\nx='k=-1:1:41'\ny='x=-2:2:200'\n[dynamics]\nlr=0.05\nsteps=20000");
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        assert!(c.attractors.len() <= p.classify.max_attractors + 5, "{name}");
        assert!(c.warnings.iter().any(|w| w.contains("continuum")), "{name}: {:?}", c.warnings);
        // The k = 0 column: every start is a fixed point and stays put.
        let ix = 20;
        assert_eq!(p.x.values[ix], 0.0);
        let label = c.labels[ix];
        for iy in 0..p.ny() {
            let i = iy * p.nx() + ix;
            assert_eq!(o.status[i], Status::Converged as u32);
            assert_eq!(o.steps[i], 0);
            assert_eq!(o.obs(i)[0] as f64, p.y.as_ref().unwrap().values[iy] as f32 as f64);
            assert_eq!(c.labels[i], label, "{name}: the continuum is one attractor");
        }
        assert_eq!(c.attractors[label as usize].stability, Some(Stability::Flat));
    }
}

#[test]
fn landau_second_order_minima() {
    // u = 1: m* = ±sqrt(-r / 2u) for r < 0.
    let p = plan("system='landau'\nx='r=-1:-0.05:32'\ny='m=-1:1:32'\n[dynamics]\nsteps=50000\ntol=1e-5");
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        for i in 0..p.n_trajectories() {
            let inputs = p.inputs_at(i);
            let (r, m0) = (inputs[0], inputs[5]);
            let want = m0.signum() * (-r / 2.0).sqrt();
            let m = o.obs(i)[0] as f64;
            // The stop rule places m* to within tol / F''(m*), F'' = -4r.
            assert!((m - want).abs() <= 1e-5 / (-4.0 * r) + 1e-5, "{name}: r={r} m0={m0}: {m} vs {want}");
        }
        let fixed: Vec<_> = c.attractors.iter().filter(|a| a.kind == Kind::Fixed).collect();
        assert_eq!(fixed.len(), 2, "{name}: one branch each side: {fixed:?}");
        assert!(fixed.iter().all(|a| a.stability == Some(Stability::Minimum)));
    }
}

#[test]
fn landau_first_order_spinodal_and_transition() {
    // u = -1, w = 1: ordered minima exist for r < u²/(3w) = 1/3, beat m = 0 for r < u²/(4w) = 1/4.
    let p = plan("system='landau'\nx='r=0.2:0.42:221'\ny='m=-1.5:1.5:24'\n[params]\nu=-1\nw=1\n[dynamics]\nsteps=200000\ntol=1e-5");
    let step = 0.001;
    for (name, engine) in engines() {
        let (o, _) = run(engine.as_ref(), &p);
        let ordered_at = |ix: usize| {
            (0..p.ny()).map(|iy| iy * p.nx() + ix).find(|&i| o.status[i] == Status::Converged as u32 && o.obs(i)[0].abs() > 0.3)
        };
        let last = (0..p.nx()).filter(|&ix| ordered_at(ix).is_some()).max().expect("some ordered basin");
        assert!((p.x.values[last] - 1.0 / 3.0).abs() <= step + 1e-9, "{name}: ordered basins vanish at r={}", p.x.values[last]);
        for ix in 0..p.nx() {
            let r = p.x.values[ix];
            if r < 1.0 / 3.0 - step {
                let i = ordered_at(ix).unwrap_or_else(|| panic!("{name}: no ordered basin at r={r}"));
                let loss = o.obs(i)[1] as f64;
                if (r - 0.25).abs() > 2.0 * step {
                    assert_eq!(loss < 0.0, r < 0.25, "{name}: r={r}: F(m*)={loss}");
                }
            }
        }
    }
}

/// The exact nontrivial minimiser of the effective loss (0 if none), by bisection in f64.
fn effective_minimiser(p: &[f64]) -> f64 {
    let field = |b: f64| {
        let mut v = [0.0];
        Effective.field(p, &[b], &mut v);
        v[0]
    };
    // A minimum with b > 0 is a zero of the field where it goes from + to -.
    let grid: Vec<f64> = (1..=4000).map(|k| k as f64 * 5e-4).collect();
    for w in grid.windows(2) {
        if field(w[0]) > 0.0 && field(w[1]) <= 0.0 {
            let (mut lo, mut hi) = (w[0], w[1]);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if field(mid) > 0.0 { lo = mid } else { hi = mid }
            }
            return 0.5 * (lo + hi);
        }
    }
    0.0
}

#[test]
fn effective_depth_one_transition_at_norm_exy() {
    // exy = (0.4, 0.3): ‖exy‖ = 0.5, the second-order transition of Theorem 3.
    let p = plan("system='effective'\nx='gamma=0.3:0.7:81'\ny='b=0.05:1.5:12'\n[dynamics]\nlr=0.05\nsteps=200000\ntol=1e-6");
    let (critical, step) = (0.5, 0.005);
    for (name, engine) in engines() {
        let (o, _) = run(engine.as_ref(), &p);
        for ix in 0..p.nx() {
            let gamma = p.x.values[ix];
            let inputs = p.inputs_at(ix);
            let exact = effective_minimiser(&inputs[..p.n_params]);
            assert_eq!(exact > 0.0, gamma < critical - 1e-9, "the exact minimiser at gamma={gamma}");
            for iy in 0..p.ny() {
                let i = iy * p.nx() + ix;
                let b = o.obs(i)[0] as f64;
                if gamma <= critical - 3.0 * step {
                    assert_eq!(o.status[i], Status::Converged as u32, "{name}: gamma={gamma}");
                    assert!((b - exact).abs() < 2e-3, "{name}: gamma={gamma}: b={b}, exact {exact}");
                } else if gamma >= critical + step {
                    // Critical slowing down leaves b near, not at, 0 close to the transition.
                    assert!(b.abs() < 0.05, "{name}: gamma={gamma}: b={b} in the trivial phase");
                }
            }
        }
    }
}

#[test]
fn landscape_minima_show_both_orders_of_transition() {
    // D = 1: the lowest point over b >= 0 (steps of 1e-3) is the exact minimiser, and reaches 0
    // at gamma = |exy| = 0.5 continuously.
    let p = plan("system='effective'\nx='b=0:1.5:1501'\ny='gamma=0.1:0.7:13'\n[params]\nD=1");
    let land = basinmap::landscape::evaluate(&p).unwrap();
    let minima = land.minima(&p).expect("b is a state axis");
    assert_eq!(minima.len(), 13);
    for &(ix, iy) in &minima {
        let exact = effective_minimiser(&p.inputs_at(iy * p.nx())[..p.n_params]);
        let b = p.x.values[ix];
        assert!((b - exact).abs() <= 1e-3, "gamma={}: argmin {b}, exact {exact}", p.y.as_ref().unwrap().values[iy]);
    }
    // D = 2: the global minimum jumps from b* > 0.1 straight to 0 as gamma grows.
    let p = plan("system='effective'\nx='b=0:1.5:1501'\ny='gamma=0.02:0.4:39'\n[params]\nD=2\nd0=4");
    let land = basinmap::landscape::evaluate(&p).unwrap();
    let argmin: Vec<f64> = land.minima(&p).unwrap().iter().map(|&(ix, _)| p.x.values[ix]).collect();
    let jump = argmin.iter().position(|&b| b == 0.0).expect("the trivial phase is reached");
    assert!(jump > 0 && argmin[jump - 1] > 0.1, "a jump, not a slide: {argmin:?}");
    assert!(argmin[jump..].iter().all(|&b| b == 0.0) && argmin[..jump].iter().all(|&b| b > 0.1), "{argmin:?}");
}

#[test]
fn both_minima_of_a_symmetric_landscape_are_marked() {
    // D = 1 over b in [-1.5, 1.5] (symmetric grid): below gamma = 0.5 the minima are ±b*, equal
    // by symmetry, and both are marked; above it, the one minimum b = 0.
    let p = plan("system='effective'\nx='b=-1.5:1.5:3001'\ny='gamma=0.1:0.7:7'\n[params]\nD=1");
    let land = basinmap::landscape::evaluate(&p).unwrap();
    let marked = land.marked_minima(&p).unwrap();
    for iy in 0..7 {
        let gamma = p.y.as_ref().unwrap().values[iy];
        let exact = effective_minimiser(&p.inputs_at(iy * p.nx())[..p.n_params]);
        let at: Vec<f64> = marked.iter().filter(|c| c.1 == iy).map(|&(ix, _)| p.x.values[ix]).collect();
        if exact > 2e-3 {
            assert_eq!(at.len(), 2, "gamma={gamma}: {at:?}");
            assert!((at[0] + exact).abs() <= 1e-3 && (at[1] - exact).abs() <= 1e-3, "gamma={gamma}: {at:?}, exact ±{exact}");
        } else if exact == 0.0 {
            assert_eq!(at, vec![0.0], "gamma={gamma}");
        }
    }
}

#[test]
fn f64_reaches_a_tolerance_f32_steps_cannot() {
    use basinmap::engine::cpu::CpuEngine;
    use basinmap::engine::Engine;
    // First-order Landau near its ordered minimum m* = sqrt((1 + sqrt(1 - 3r))/3): an f32 step
    // of 0.01 cannot move m ≈ 0.8 by less than half an ulp, so |F'| stalls above 1e-6.
    let toml = |precision: &str| format!("system='landau'\nx='r=-0.3:0.2:6'\ny='m=0.6:1.2:5'\n[params]\nu=-1.0\nw=1.0\n[dynamics]\nlr=0.01\nsteps=100000\ntol=1e-6\nprecision='{precision}'");
    let p32 = plan(&toml("f32"));
    let p64 = plan(&toml("f64"));
    let o32 = CpuEngine::new().run(&p32, &|_, _| {}).unwrap();
    let undecided = o32.status.iter().filter(|&&s| s == Status::Undecided as u32).count() as u64;
    assert!(undecided > 0, "some f32 runs stall");
    // The warning comes with the stalled runs, and names them.
    let w32 = p32.warnings(undecided);
    assert!(w32.iter().any(|w| w.contains("f32 steps") && w.contains(&format!("{undecided} trajectories ended undecided"))), "{w32:?}");
    assert!(p32.warnings(0).is_empty());
    assert!(p64.warnings(undecided).is_empty(), "{:?}", p64.warnings(undecided));
    // Both engines in f64: the GPU's kernel too where the adapter has SHADER_F64 (llvmpipe does).
    let mut engines: Vec<(&str, Box<dyn Engine>)> = vec![("cpu", Box::new(CpuEngine::new()))];
    if let Some(g) = common::gpu() {
        match g.precision_obstacle(&p64) {
            None => engines.push(("gpu", Box::new(g))),
            Some(why) => assert!(why.contains("SHADER_F64"), "{why}"),
        }
    }
    for (name, engine) in &engines {
        let o64 = engine.run(&p64, &|_, _| {}).unwrap();
        assert!(o64.status.iter().all(|&s| s == Status::Converged as u32), "{name}: f64 converges everywhere");
        for i in 0..p64.n_trajectories() {
            let r = p64.inputs_at(i)[0];
            let exact = ((1.0 + (1.0 - 3.0 * r).sqrt()) / 3.0).sqrt();
            // |F'| < 1e-6 places m within 1e-6/F'' of m*; the observable is stored in f32.
            let m = o64.obs(i)[0] as f64;
            assert!((m - exact).abs() < 1e-5, "{name}: r={r}: m={m}, exact {exact}");
        }
    }
    // --engine cpu keeps f64 on the CPU engine.
    let on_cpu = basinmap::scenario::Scenario::from_toml(&(toml("f64") + "
")).map(|mut s| {
        s.engine = basinmap::scenario::EngineChoice::Cpu;
        s
    });
    let cpu_plan = basinmap::plan::Plan::new(&on_cpu.unwrap()).unwrap();
    assert_eq!(basinmap::engine::select_for(&cpu_plan).unwrap().info().kind, "cpu");
}

/// Lorenz (σ = 10, β = 8/3) through its pitchfork at ρ = 1: the origin (the only fixed point
/// for ρ < 1) and C± = (±√(β(ρ−1)), ±√(β(ρ−1)), ρ − 1) beyond. The origin's branch and C+'s
/// meet at ρ = 1 with C+ moving as √(ρ − 1): they get their own ids, and C+ (which moves fast
/// there) keeps one id from ρ = 1 up.
#[test]
fn lorenz_origin_and_c_plus_are_branches_of_their_own() {
    let beta = 8.0 / 3.0;
    let p = plan(&format!(
        "x='x=-10:10:24'\ny='rho=0.5:6:40'\n[system]\nstate=['x','y=1','z=1']\nfield=['sigma*(y - x)', 'x*(rho - z) - y', 'x*y - beta*z']\n[params]\nsigma=10.0\nbeta={beta}\n[dynamics]\nmethod='rk4'\ndt=0.005\nsteps=20000\ntol=1e-3"
    ));
    let engine = basinmap::engine::cpu::CpuEngine::new();
    let (o, c) = run(&engine, &p);
    let (mut origin, mut c_plus) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    for i in 0..p.n_trajectories() {
        if o.status[i] != Status::Converged as u32 {
            continue;
        }
        let rho = p.inputs_at(i)[p.y.as_ref().unwrap().target];
        let x = o.obs(i)[0] as f64;
        if rho < 0.95 {
            assert!(x.abs() < 0.05, "rho={rho}: x={x}");
            origin.insert(c.labels[i]);
        } else if rho > 1.05 && x > 0.0 {
            assert!((x - (beta * (rho - 1.0)).sqrt()).abs() < 0.02, "rho={rho}: x={x}");
            c_plus.insert(c.labels[i]);
        }
    }
    assert_eq!(origin.len(), 1, "the origin: {origin:?}\n{:?}", c.attractors);
    assert_eq!(c_plus.len(), 1, "C+: {c_plus:?}\n{:?}", c.attractors);
    assert_ne!(origin, c_plus);
}

/// gd on Landau (r = −1, u = 1) steps f(m) = m − lr(4m³ − 2m); its minima ±1/√2 have F″ = 4,
/// so past lr = 2/F″ = 0.5 every start settles on a 2-cycle around one of them.
#[test]
fn gd_past_the_edge_of_stability_ends_on_2_cycles() {
    let p = plan("system='landau'\nx='lr=0.52:0.56:3'\ny='m=-1:1:10'\n[params]\nr=-1\nu=1\n[dynamics]\nsteps=20000");
    let f = |lr: f64, m: f64| m - lr * (4.0 * m.powi(3) - 2.0 * m);
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        for i in 0..p.n_trajectories() {
            let a = &c.attractors[c.labels[i] as usize];
            assert_eq!((a.kind, a.period, a.stability), (Kind::Cycle, 2, Some(Stability::Stable)), "{name}: trajectory {i}");
            let lr = p.x.values[p.point_of(i) % p.nx()];
            // The end state is the cycle's first point: the smaller one, a root of f(f(m)) = m.
            let m = o.obs(i)[0] as f64;
            assert!((f(lr, f(lr, m)) - m).abs() < 1e-5 && f(lr, m) > m + 1e-2, "{name}: lr = {lr}, m = {m}");
            assert_eq!(o.status[i], Status::Cycle as u32);
        }
        // Two cycles (around +1/√2 and −1/√2), each one branch across lr: two attractors.
        assert_eq!(c.attractors.len(), 2, "{name}: {:?}", c.attractors);
    }
}

/// gd with lr = 1 on x²/2 − r(x²/2 − x³/3) is the logistic map x ← r x (1 − x): a 2-cycle at
/// r = 3.2, a 4-cycle at 3.5, a 3-cycle at 3.835 (the period-3 window), each reached from every
/// start at some phase of it and so one attractor.
#[test]
fn the_logistic_maps_cycles_are_one_attractor_each() {
    for (r, period) in [(3.2, 2), (3.5, 4), (3.835, 3)] {
        let p = plan(&format!("x='r={r}:{r}:1'\ny='x=0.1:0.9:17'\n[system]\nstate=['x']\nloss='x^2/2 - r*(x^2/2 - x^3/3)'\n[dynamics]\nlr=1\nsteps=5000"));
        for (name, engine) in engines() {
            let (_, c) = run(engine.as_ref(), &p);
            assert_eq!(c.attractors.len(), 1, "{name}: r = {r}: {:?}", c.attractors);
            let a = &c.attractors[0];
            assert_eq!((a.kind, a.period, a.stability, a.count), (Kind::Cycle, period, Some(Stability::Stable), 17), "{name}: r = {r}");
        }
    }
}

/// The logistic map written as a map (`--map`): the same cycles as gd on its loss; past the
/// Feigenbaum point (r = 3.9) chaotic from every start, one attractor, λ₁ ≈ 0.49 per step
/// (a 1024-step window: within 0.1); at r = 2.5 the fixed point 0.6, stable, λ₁ = ln|2 − r|.
#[test]
fn the_logistic_map_as_a_map_has_cycles_and_chaos() {
    let logistic = |r: f64| format!("x='r={r}:{r}:1'\ny='x=0.1:0.9:17'\n[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n[classify]\nlyapunov=true\n[dynamics]\nsteps=5000");
    for (name, engine) in engines() {
        for (r, period) in [(3.2, 2), (3.5, 4), (3.835, 3)] {
            let (_, c) = run(engine.as_ref(), &plan(&logistic(r)));
            assert_eq!(c.attractors.len(), 1, "{name}: r = {r}: {:?}", c.attractors);
            let a = &c.attractors[0];
            assert_eq!((a.kind, a.period, a.stability, a.count), (Kind::Cycle, period, Some(Stability::Stable), 17), "{name}: r = {r}");
        }
        let p = plan(&logistic(2.5));
        let (o, c) = run(engine.as_ref(), &p);
        assert_eq!((c.attractors.len(), c.attractors[0].kind, c.attractors[0].stability), (1, Kind::Fixed, Some(Stability::Stable)), "{name}");
        for &l in &o.lyapunov {
            assert!((l as f64 - 0.5f64.ln()).abs() < 1e-3, "{name}: λ₁ = {l}");
        }
        let (o, c) = run(engine.as_ref(), &plan(&logistic(3.9)));
        assert_eq!(c.attractors.len(), 1, "{name}: r = 3.9: {:?}", c.attractors);
        let a = &c.attractors[0];
        assert_eq!((a.kind, a.period, a.stability, a.count), (Kind::Chaotic, 0, None, 17), "{name}");
        // The middle of the range [f(f(1/2)), f(1/2)] = [r²(4 − r)/16, r/4].
        let (top, r) = (3.9 / 4.0, 3.9f64);
        let mid = 0.5 * (top + r * r * (4.0 - r) / 16.0);
        assert!((a.observables[0].value - mid).abs() < 1e-3, "{name}: mid {} vs {mid}", a.observables[0].value);
        for (i, &l) in o.lyapunov.iter().enumerate() {
            assert_eq!(o.status[i], Status::Chaotic as u32);
            assert!((l - 0.49).abs() < 0.1, "{name}: λ₁ = {l}");
        }
    }
}

/// An orbit leaving a barely unstable fixed point has a small, steady exponent (ln 1.002 per
/// step here) but is not chaos: drifting away (x ← 1.002 x) or swinging ever wider
/// (x ← −1.002 x) it never comes back, and stays undecided. The default map has such starts
/// (gd from m ≈ ±0.015 at r ≈ −0.002, where m = 0 is barely unstable) and no chaos.
#[test]
fn an_orbit_leaving_a_barely_unstable_point_is_not_chaos() {
    for a in [1.002, -1.002] {
        let p = plan(&format!("x='x=0.01:0.02:4'
[system]
state=['x']
map=['{a}*x']
[dynamics]
steps=100"));
        let (o, c) = run(&basinmap::engine::cpu::CpuEngine::new(), &p);
        assert!(o.status.iter().all(|&s| s != Status::Chaotic as u32), "a = {a}: {:?}", o.status);
        assert!(c.labels.iter().all(|&l| c.attractors[l as usize].kind == Kind::Undecided), "a = {a}: {:?}", c.attractors);
    }
    let p = basinmap::plan::Plan::new(&basinmap::scenario::Scenario::default_map()).unwrap();
    let (o, c) = run(&basinmap::engine::cpu::CpuEngine::new(), &p);
    assert!(!o.status.contains(&(Status::Chaotic as u32)), "{:?}", c.attractors);
    assert!(c.attractors.iter().all(|a| a.kind != Kind::Chaotic), "{:?}", c.attractors);
}

/// x ← a x − x³ at a = 2.5 has two chaotic attractors, mirror images, each reached from the
/// starts of its sign; at a = 2.65 they have merged into one (its orbits switch lobes, so
/// their time averages wander, but their ranges agree).
#[test]
fn coexisting_chaotic_attractors_get_ids_of_their_own() {
    for (a, want) in [(2.5, 2), (2.65, 1)] {
        let p = plan(&format!("x='a={a}:{a}:1'\ny='x=-1.2:1.2:24'\n[system]\nstate=['x']\nmap=['a*x - x^3']\n[dynamics]\nsteps=3000"));
        let (o, c) = run(&basinmap::engine::cpu::CpuEngine::new(), &p);
        let chaotic: Vec<_> = c.attractors.iter().filter(|x| x.kind == Kind::Chaotic).collect();
        assert_eq!(chaotic.len(), want, "a = {a}: {:?}", c.attractors);
        assert_eq!(chaotic.iter().map(|x| x.count).sum::<u64>(), 24, "a = {a}: {:?}", c.attractors);
        if want == 2 {
            // Each lobe reached from the starts of its sign.
            for i in 0..p.n_trajectories() {
                let a = &c.attractors[c.labels[i] as usize];
                let start = p.y.as_ref().unwrap().values[i];
                assert_eq!(a.observables[0].value.signum(), start.signum(), "start {start}: {a:?}");
                assert_eq!(o.status[i], Status::Chaotic as u32);
            }
        }
    }
}

/// Mandelbrot's map z ← z² + c from z = 0 (complex numbers as pairs of states): period 1 at
/// c = 0, 2 at c = −1, 3 at the centre of the period-3 bulb (c ≈ −0.1226 + 0.7449i, where
/// z = 0 is on the cycle), diverged at c = 1.
#[test]
fn mandelbrots_map_has_the_periods_of_its_bulbs() {
    let mandelbrot = "[system]\nstate=['zr', 'zi']\nmap=['zr^2 - zi^2 + cr; 2*zr*zi + ci']\n[dynamics]\nsteps=2000\nbound=4";
    for (cr, ci, period) in [(0.0, 0.0, 1), (-1.0, 0.0, 2), (-0.12256116687665, 0.74486176661974, 3), (1.0, 0.0, 0)] {
        let p = plan(&format!("x='cr={cr}:{cr}:1'\ny='ci={ci}:{ci}:1'\n{mandelbrot}"));
        for (name, engine) in engines() {
            let (o, c) = run(engine.as_ref(), &p);
            let got = basinmap::classify::cycles::periods(&o)[0];
            assert_eq!(got, period, "{name}: c = {cr} + {ci}i: {:?}", c.attractors);
            if period == 0 {
                assert_eq!(c.attractors[0].kind, Kind::Inf, "{name}");
            }
        }
    }
}
