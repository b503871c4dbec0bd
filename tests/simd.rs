//! The CPU engine's SIMD packs against its scalar path: every system, every stop rule, both
//! precisions and every instruction set this processor has give the same bits, lane for lane
//! (the packs compute the scalar path's operations in its order, see src/engine/simd.rs).

mod common;

use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::simd::Isa;
use basinmap::engine::{Engine, Outcomes, Status};
use basinmap::plan::Plan;
use common::plan;
use proptest::prelude::*;

fn outcomes(engine: &CpuEngine, plan: &Plan) -> Outcomes {
    engine.run(plan, &|_, _| {}).expect("engine run")
}

/// Every ISA's packs give the scalar path's status, steps and observables, bit for bit.
fn packs_match_scalar(plan: &Plan) {
    let want = outcomes(&CpuEngine::scalar(), plan);
    for isa in Isa::available() {
        let got = outcomes(&CpuEngine::with_isa(isa).unwrap(), plan);
        assert_eq!(got.status, want.status, "{isa:?}: status");
        assert_eq!(got.steps, want.steps, "{isa:?}: steps");
        let bits = |o: &Outcomes| o.observables.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{isa:?}: observables");
    }
}

/// Every way a run can end, in one map: converged (at many different steps), diverged both
/// ways past a small bound, NaN from the start, undecided; a grid that does not fill its last
/// pack.
#[test]
fn landau_every_ending_f32_and_f64() {
    let base = "system='landau'\nx='r=-1:1:45'\ny='m=-2.5:2.5:29'\n[params]\nu=-1.0\nw=1.0\nh=0.05\n[dynamics]\nlr=0.01\nsteps=4000\ntol=1e-4\nbound=2.2\n";
    let p = plan(base);
    packs_match_scalar(&p);
    let statuses: std::collections::BTreeSet<u32> = outcomes(&CpuEngine::new(), &p).status.into_iter().collect();
    assert!(statuses.len() >= 3, "the map should converge, diverge and stay undecided: {statuses:?}");
    packs_match_scalar(&plan(&format!("{base}precision='f64'\n")));
    // A start that is out of bounds already ends before its first step.
    packs_match_scalar(&plan("system='landau'\nx='m=-3:3:7'\n[dynamics]\nbound=2.0\n"));
}

/// Lanes are refilled as their trajectories stop, so a lane runs trajectories that started at
/// different clocks: converged after any number of steps, undecided at a step budget reached at
/// a different clock in every lane, out of bounds at the start in the middle of the queue, and
/// under noise (drawn at each trajectory's own step). Each must still compute its own bits.
#[test]
fn refilled_lanes_run_each_trajectory_from_its_own_start() {
    let staggered = "system='landau'\nx='r=-0.6:0.4:70'\ny='m=-2.3:2.3:53'\n[params]\nu=-1.0\nw=1.0\n[dynamics]\nlr=0.01\nsteps=400\ntol=1e-3\nbound=2.2\n";
    let p = plan(staggered);
    let o = outcomes(&CpuEngine::new(), &p);
    let count = |s: Status| o.status.iter().filter(|&&v| v == s as u32).count();
    assert!(count(Status::Converged) > 1000 && count(Status::Undecided) > 100 && count(Status::DivergedPos) > 10, "a map of mixed endings");
    let converged_steps: std::collections::BTreeSet<u32> =
        o.status.iter().zip(&o.steps).filter(|(&s, _)| s == Status::Converged as u32).map(|(_, &n)| n).collect();
    assert!(converged_steps.len() > 100, "stopping times spread over many steps: {}", converged_steps.len());
    packs_match_scalar(&p);
    packs_match_scalar(&plan(&format!("{staggered}precision='f64'\n")));
    packs_match_scalar(&plan("system='landau'\nx='m=-1.2:1.2:1'\ny='r=-2:-0.5:4'\nsamples=300\nseed=11\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=1500\ntemperature=0.4\nescape=0.8"));
}

#[test]
fn effective_and_a_shard_of_it() {
    let toml = "system='effective'\nx='gamma=0.01:0.8:50'\ny='b=-1.5:1.5:21'\n[params]\nD=2\n[dynamics]\nsteps=3000\n";
    packs_match_scalar(&plan(toml));
    // A shard starts mid-pack: its trajectories keep their global index.
    let mut p = plan(toml);
    p.shard(2, 3).unwrap();
    packs_match_scalar(&p);
}

/// Networks: random starts (init noise per lane), the loss record, tanh and relu, escaped runs.
#[test]
fn networks_with_loss_records_and_random_starts() {
    packs_match_scalar(&plan(
        "system='mlp'\nx='lr1=0.1:3000:13:log'\ny='lr2=0.1:300:11:log'\nshared_init=true\n[params]\nD=1\nd0=4\n[network]\nactivation='tanh'\nparameterisation='mean-field'\nn=12\n[dynamics]\nlr=1.0\nsteps=60\ntol=0.0\n",
    ));
    packs_match_scalar(&plan(
        "system='mlp'\nx='gamma=0:0.2:9'\ny='init_scale=0.1:1.0:7'\nsamples=3\n[params]\nD=2\nd0=3\nreg_power=1.5\n[network]\nactivation='relu'\nn=8\n[dynamics]\nlr=0.05\nsteps=200\n",
    ));
    packs_match_scalar(&plan("system='deep-linear'\nx='gamma=0.05:0.8:9'\ny='init_scale=0.01:0.5:5'\nsamples=3\nseed=4\n[params]\nD=2\nd0=2\n[dynamics]\nsteps=1500"));
}

/// Formulas (the tape interpreter over packs), RK4, and libm functions lane by lane.
#[test]
fn formulas_rk4_and_libm_functions() {
    packs_match_scalar(&plan(
        "x='x=-2:2:40'\ny='y=-2:2:31'\n[system]\nstate=['x', 'y']\nloss='a*(x^2 - 1)^2 + (y - x^2)^2 / 4 + exp(-x*y)/10 + sin(x)*cos(y)/20 + 0.01*abs(x)*step(y)'\n[params]\na=0.5\n[dynamics]\nsteps=2000",
    ));
    packs_match_scalar(&plan(
        "x='x=-10:10:33'\n[system]\nstate=['x', 'y=1', 'z=1']\nfield=['sigma*(y - x)', 'x*(rho - z) - y', 'x*y - beta*z']\n[params]\nsigma=10\nrho=28\nbeta=2.6666667\n[dynamics]\nmethod='rk4'\ndt=0.01\nsteps=300\ntol=0\n",
    ));
}

/// Runs with a return probe (src/engine/returns.rs) stop on cycles at the scalar path's step:
/// gd on Landau past the edge of stability by its map (the tight loop runs while no lane's probe
/// is open) and by its field with a tolerance, in f32 and f64; the logistic map; the driven
/// pendulum's limit cycles (the section rule); and a forced phase oscillator's stroboscopic
/// 3-cycles.
#[test]
fn return_probes_stop_where_the_scalar_path_does() {
    let landau = "system='landau'\nx='lr=0.4:0.62:23'\ny='m=-1.2:1.2:17'\n[params]\nr=-1\nu=1\n[dynamics]\nsteps=20000\n";
    for extra in ["tol=0\n", "tol=1e-6\n", "tol=0\nprecision='f64'\n", "tol=1e-6\nprecision='f64'\n"] {
        let p = plan(&format!("{landau}{extra}"));
        assert!(p.dynamics.steps > 0 && basinmap::engine::returns::Rule::of_plan(&p).is_some());
        let o = outcomes(&CpuEngine::scalar(), &p);
        let stopped: std::collections::BTreeSet<u32> = o.status.iter().zip(&o.steps).filter(|(&s, _)| s == Status::Cycle as u32).map(|(_, &n)| n).collect();
        assert!(stopped.len() >= 2, "{extra}: cycles stopped at several steps: {stopped:?}");
        packs_match_scalar(&p);
    }
    packs_match_scalar(&plan("x='r=2.8:3.99:64'\ny='x=0.1:0.9:5'\n[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n[params]\nr=3\n[dynamics]\nsteps=8000\n"));
    packs_match_scalar(&plan(
        "x='phi=-2.6:3.6:13'\ny='omega=-10:10:11'\n[system]\nstate=['phi','omega']\nfield=['omega','-alpha*omega + T - K*sin(phi)']\nperiodic=['phi']\n[params]\nalpha=0.1\nT=0.5\nK=1.0\n[dynamics]\nmethod='rk4'\ndt=0.05\nsteps=6000\ntol=1e-6\n",
    ));
    packs_match_scalar(&plan(
        "x='eps=0.05:0.15:3'\ny='theta=-3:3:11'\n[system]\nstate=['theta']\nfield=['1/3 - eps*sin(3*theta - t)']\nperiodic=['theta']\nforcing_period='2*pi'\n[params]\neps=0.1\n[dynamics]\nmethod='rk4'\ndt=0.1\nsteps=10000\n",
    ));
}

/// Fixed-step runs step by Landau's gradient-descent map, whose bounds are tested every few
/// steps: lanes that diverge past a small bound at every step count, in the map's reduced form
/// (c = h = 0), in its full form, and in packs where some lanes have c = 0 and others not (the
/// scalar path always takes the full form); with noise, and with an escape radius.
#[test]
fn fixed_step_maps_stop_where_the_scalar_path_does() {
    let reduced = "system='landau'\nx='r=-1:1:37'\ny='m=-2.5:2.5:41'\n[params]\nu=-1.0\nw=0.0\n[dynamics]\nlr=0.01\nsteps=500\ntol=0\nbound=2.2\n";
    let p = plan(reduced);
    packs_match_scalar(&p);
    let o = outcomes(&CpuEngine::new(), &p);
    let diverged_at: std::collections::BTreeSet<u32> = o.status.iter().zip(&o.steps).filter(|(&s, _)| s != Status::Undecided as u32).map(|(_, &n)| n).collect();
    assert!(diverged_at.len() >= 8, "lanes should leave the bounds at many different steps: {diverged_at:?}");
    assert!(diverged_at.iter().any(|n| n % 8 != 0), "and between the map's tests: {diverged_at:?}");
    packs_match_scalar(&plan(&format!("{reduced}precision='f64'\n")));
    packs_match_scalar(&plan(&reduced.replace("w=0.0", "w=0.0\nc=0.3\nh=-0.02")));
    // c = 0 exactly in the middle column: packs that mix both forms.
    packs_match_scalar(&plan("system='landau'\nx='c=-0.4:0.4:9'\ny='m=-2.5:2.5:150'\n[params]\nr=-0.2\nu=-1.0\nw=1.0\n[dynamics]\nlr=0.01\nsteps=300\ntol=0\nbound=2.0\n"));
    packs_match_scalar(&plan("system='landau'\nx='m=-1:-1:1'\ny='r=-2:-1:3'\nsamples=70\nseed=3\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=3000\ntol=0\ntemperature=0.3\nescape=1.0"));
    packs_match_scalar(&plan("system='landau'\nx='m=-1:1:300'\n[params]\nr=-1.0\nu=1.0\n[dynamics]\nlr=0.05\nsteps=400\ntol=0\nescape=0.6"));
}

/// Langevin noise per lane, and escapes, each with its own stopping step.
#[test]
fn noise_and_escape() {
    packs_match_scalar(&plan(
        "system='landau'\nx='m=-1:-1:1'\ny='r=-2:-1:3'\nsamples=70\nseed=9\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=3000\ntemperature=0.3\nescape=1.0",
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
    /// Random Landau landscapes, grids and stop rules.
    #[test]
    fn random_landau_maps(r0 in -1.0f64..0.0, r1 in 0.0f64..1.0, c in -0.5f64..0.5, u in -1.5f64..1.5, w in 0.0f64..1.5,
                          nx in 1usize..70, ny in 1usize..9, tol in prop::sample::select(vec![0.0, 1e-3, 1e-5]),
                          bound in 1.5f64..50.0, f64_run: bool, symmetric: bool) {
        // A symmetric landscape (c = 0) takes the reduced form of the map on fixed-step runs.
        let c = if symmetric { 0.0 } else { c };
        let precision = if f64_run { "f64" } else { "f32" };
        packs_match_scalar(&plan(&format!(
            "system='landau'\nx='r={r0}:{r1}:{nx}'\ny='m=-2:2:{ny}'\n[params]\nc={c}\nu={u}\nw={w}\n[dynamics]\nlr=0.01\nsteps=700\ntol={tol}\nbound={bound}\nprecision='{precision}'\n"
        )));
    }
}
