//! Forced flows: a field that reads the time t, with a declared forcing period T. Their steady
//! responses are cycles of the stroboscopic map (one sample per period): checked against exact
//! responses (a linear oscillator's, phase-locked subharmonics), on every engine.

mod common;

use basinmap::classify::Kind;
use basinmap::engine::Status;
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use basinmap::system::Stability;
use common::{engines, plan, run};
use std::f64::consts::TAU;

/// x'' + c·x' + w2·x = F·cos t, T = 2π, on a 5 × 5 grid of starts.
const LINEAR: &str = "x='x=-2:2:5'\ny='v=-2:2:5'\n[system]\nstate=['x','v']\nfield=['v','F*cos(t) - c*v - w2*x']\nforcing_period='2*pi'\n[params]\nc=0.5\nw2=2.0\nF=1.0\n[dynamics]\nmethod='rk4'\ndt=0.01\nsteps=2000\n";

/// Its steady response is x = a·cos t + b·sin t with a(w2 − 1) + c·b = F and b(w2 − 1) = c·a:
/// at c = 0.5, w2 = 2, F = 1, a = 0.8 and b = 0.4, so the stroboscopic map's fixed point (t = 0
/// mod 2π) is (x, v) = (0.8, 0.4), whatever the start. Its multipliers are
/// exp((−c/2 ± i·√(w2 − c²/4))·2π), of modulus e^(−π/2) = 0.21: stable.
#[test]
fn a_forced_linear_oscillator_responds_at_the_forcing_period_with_its_exact_amplitude() {
    let p = plan(LINEAR);
    // dt is fitted to divide the period: 2π/0.01 = 628.3 → 628 steps of 2π/628.
    assert_eq!(p.steps_per_period(), 628);
    assert!((p.dynamics.dt - TAU / 628.0).abs() < 1e-15, "dt = {}", p.dynamics.dt);
    assert_eq!(p.dynamics.tol, 0.0, "a forced flow has no fixed points to test the field for");
    let mut labels = Vec::new();
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        assert_eq!(c.attractors.len(), 1, "{name}: {:?}", c.attractors);
        let a = &c.attractors[0];
        assert_eq!((a.kind, a.period, a.count), (Kind::Cycle, 1, 25), "{name}");
        assert!((a.cycle_time - TAU).abs() < 1e-6, "{name}: T = {} (an f32)", a.cycle_time);
        assert_eq!(a.stability, Some(Stability::Stable), "{name}");
        let (x, v) = (a.observables[0].value, a.observables[1].value);
        assert!((x - 0.8).abs() < 1e-5 && (v - 0.4).abs() < 1e-5, "{name}: ({x}, {v})");
        for i in 0..25 {
            assert_eq!((o.status[i], o.period_of(i)), (Status::Cycle as u32, 1), "{name}: start {i}");
        }
        labels.push((name, c.labels.clone()));
    }
    for (name, l) in &labels[1..] {
        assert_eq!(l, &labels[0].1, "{name} against {}", labels[0].0);
    }
}

/// A phase oscillator locked to its forcing at 1 : n (Adler's equation): θ' = 1/n − ε·sin(nθ −
/// t), θ an angle. ψ = nθ − t obeys ψ' = −nε·sin ψ and settles at 0, so θ = t/n: every n
/// forcing periods θ turns once, and the stroboscopic samples are θ = 2πk/n — an n-cycle, the
/// same one from every start, whose point with the smallest θ is the first at or above −π
/// (θ lies in [−π, π)). Over n periods ψ contracts by exp(−nε·2πn): stable.
#[test]
fn subharmonic_responses_are_cycles_of_several_forcing_periods() {
    let p = plan(
        "x='n=3:5:2'\ny='theta=-3:3:7'\n[system]\nstate=['theta']\nfield=['1/n - eps*sin(n*theta - t)']\nperiodic=['theta']\nforcing_period='2*pi'\n[params]\neps=0.1\n[dynamics]\nmethod='rk4'\ndt=0.02\nsteps=3000\n",
    );
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        assert_eq!(c.attractors.len(), 2, "{name}: {:?}", c.attractors);
        for (column, n) in [(0usize, 3u32), (1, 5)] {
            let a = c.attractors.iter().find(|a| a.period == n).unwrap_or_else(|| panic!("{name}: no {n}-cycle in {:?}", c.attractors));
            assert_eq!((a.kind, a.count, a.stability), (Kind::Cycle, 7, Some(Stability::Stable)), "{name}: n = {n}");
            assert!((a.cycle_time - n as f64 * TAU).abs() < 1e-5, "{name}: n = {n}: T = {}", a.cycle_time);
            let first = (0..n).map(|k| TAU * k as f64 / n as f64).map(|v| v - TAU * (v / TAU + 0.5).floor()).fold(f64::INFINITY, f64::min);
            let theta = a.observables[0].value;
            assert!((theta - first).abs() < 1e-4, "{name}: n = {n}: θ = {theta}, expected {first}");
            for row in 0..7 {
                let i = row * 2 + column;
                assert_eq!((o.status[i], o.period_of(i)), (Status::Cycle as u32, n), "{name}: start {i}");
                assert!((o.cycle_time[i] as f64 - n as f64 * TAU).abs() < 1e-5, "{name}");
            }
        }
    }
}

/// What a forced flow refuses, each with a one-line reason.
#[test]
fn forced_flows_refuse_what_they_cannot_mean() {
    let refused = |toml: &str, expected: &str| {
        let message = match Scenario::from_toml(toml).and_then(|s| Plan::new(&s)) {
            Ok(_) => panic!("accepted: {toml}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(expected), "{message}\nexpected: {expected}");
        assert!(!message.contains('\n'), "one line: {message}");
    };
    let field = |extra: &str, dynamics: &str| {
        format!("x='x=-1:1:3'\n[system]\nstate=['x']\nfield=['cos(t) - x']\n{extra}\n[dynamics]\n{dynamics}\n")
    };
    refused(&field("forcing_period='2*pi'", "method='gd'"), "integrated by rk4");
    refused(&field("forcing_period='2*pi'", "method='momentum'"), "integrated by rk4");
    refused(&field("forcing_period='seven'", "method='rk4'"), "not a positive number or a formula of constants");
    refused(&field("forcing_period='-1'", "method='rk4'"), "not a positive number");
    refused(&field("forcing_period='2*pi'", "method='rk4'\ndt=1e-12"), "at most");
    refused(
        "x='x=-1:1:3'\ny='dt=0.01:0.02:2'\n[system]\nstate=['x']\nfield=['cos(t) - x']\nforcing_period='2*pi'\n[dynamics]\nmethod='rk4'\n",
        "cannot be an axis",
    );
    refused("x='x=-1:1:3'\n[system]\nstate=['x']\nfield=['-x']\nforcing_period='2*pi'\n[dynamics]\nmethod='rk4'\n", "never reads the time");
    refused("x='x=-1:1:3'\n[system]\nstate=['x']\nmap=['cos(t)*x']\n", "a map has no time");
    refused(
        "x='x=-1:1:3'\n[system]\nstate=['x']\nfield=['cos(t) - x']\nforcing_period='2*pi'\n[params]\nt=1.0\n[dynamics]\nmethod='rk4'\n",
        "rename it",
    );
    // A parameter named t is the user's: the system is then autonomous.
    let own = plan("x='t=-1:1:3'\n[system]\nstate=['x']\nfield=['t - x']\n[dynamics]\nmethod='rk4'\n");
    assert!(own.system.spec().clock.is_none());
    // A formula of constants is a period; the host-stepping commands refuse the forced flow.
    let strobed = plan("x='x=-1:1:3'\n[system]\nstate=['x']\nfield=['cos(1.4*t) - x']\nforcing_period='2*pi/1.4'\n[dynamics]\nmethod='rk4'\ndt=0.01\n");
    assert_eq!(strobed.steps_per_period(), (TAU / 1.4 / 0.01).round() as u32);
    assert!(strobed.require_autonomous("trace").unwrap_err().to_string().contains("autonomous systems only"));
    assert!(basinmap::analysis::sweep::check(&strobed).unwrap_err().to_string().contains("'basinmap sweep' follows autonomous systems only"));
}

/// Without a declared period, t is the time since the start (n·dt): x' = cos t − x from x = 0
/// is x(t) = (cos t + sin t − e^(−t))/2, which the engines follow to their precision.
#[test]
fn the_time_without_a_period_is_the_time_since_the_start() {
    let p = plan("x='x=0:0:1'\n[system]\nstate=['x']\nfield=['cos(t) - x']\n[dynamics]\nmethod='rk4'\ndt=0.01\nsteps=300\n");
    assert_eq!(p.steps_per_period(), 0);
    let t: f64 = 3.0;
    let exact = (t.cos() + t.sin() - (-t).exp()) / 2.0;
    for (name, engine) in engines() {
        let (o, _) = run(engine.as_ref(), &p);
        assert_eq!(o.status[0], Status::Undecided as u32, "{name}");
        let x = o.obs(0)[0] as f64;
        assert!((x - exact).abs() < 1e-5, "{name}: x(3) = {x}, exact {exact}");
    }
}
