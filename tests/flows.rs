//! Attractors of flows: limit cycles found on a Poincaré section (with their period in time),
//! angles taken modulo their period, chaos of a flow (λ₁ per unit time), checked against exact
//! values and published basin-stability results, on both engines.

mod common;

use basinmap::classify::Kind;
use basinmap::engine::Status;
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use common::{engines, plan, run};

/// The period of the Van der Pol limit cycle at μ = 1 (Strogatz; many digits in
/// M. Urabe's and later computations: 6.663286859…).
const VAN_DER_POL_PERIOD: f64 = 6.663_286_859;

#[test]
fn van_der_pol_has_one_limit_cycle_of_period_6_6633() {
    let p = plan(
        "x='x=-3:3:5'\ny='y=-3:3:5'\n[system]\nstate=['x','y']\nfield=['y','mu*(1 - x^2)*y - x']\n[params]\nmu=1.0\n[dynamics]\nmethod='rk4'\ndt=0.01\nsteps=3000\ntol=1e-6\n",
    );
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        // The origin is the unstable focus (the field is zero there); every other start winds
        // onto the cycle.
        let centre = 12;
        assert_eq!(o.status[centre], Status::Converged as u32, "{name}");
        let cycles: Vec<_> = c.attractors.iter().filter(|a| a.kind == Kind::Cycle).collect();
        assert_eq!(cycles.len(), 1, "{name}: {:?}", c.attractors);
        let cycle = cycles[0];
        assert_eq!((cycle.count, cycle.period), (24, 1), "{name}: one loop per period");
        assert!((cycle.cycle_time - VAN_DER_POL_PERIOD).abs() < 1e-4, "{name}: T = {}", cycle.cycle_time);
        for i in (0..25).filter(|&i| i != centre) {
            assert_eq!(o.status[i], Status::Cycle as u32, "{name}: start {i}");
            assert!((o.cycle_time[i] as f64 - VAN_DER_POL_PERIOD).abs() < 1e-4, "{name}: start {i}: T = {}", o.cycle_time[i]);
            assert_eq!(c.labels[i], cycle.id, "{name}: start {i}");
        }
        // The cycle's amplitude in x is 2.0086 (its point with the smallest x is on the
        // section: the middle of y's range, crossed upwards).
        let x = cycle.observables[0].value;
        assert!(x.abs() < 2.01, "{name}: x = {x}");
    }
}

// The pendulum of Menck et al. (2013) against bSTAB: tests/starts.rs, with uniform starts as
// bSTAB samples them.

/// The "broken butterfly" (Lorenz's system at σ = 0.12, r = 0, b = −0.6; Li & Sprott 2014) as
/// bSTAB samples it: of 20 000 starts over [−10, 10] × [−20, 20] × {0}, 8.94 % reach the chaotic
/// attractor at x > 0, 8.745 % its mirror image, 82.315 % grow past |x_i| = 200 (standard errors
/// 0.20 %, 0.20 %, 0.27 %). The 200 × 200 grid of examples/flows/broken-butterfly.toml must give
/// the same shares within three standard errors, each wing counted by the sign of its place (a
/// few trajectories whose window did not reach a wing's whole extent form small attractors of
/// their own beside it), and leave under 1 % undecided.
#[test]
fn the_broken_butterfly_has_bstabs_shares() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/flows/broken-butterfly.toml")).unwrap();
    let p = Plan::new(&Scenario::from_toml(&text).unwrap()).unwrap();
    let (_, c) = run(&basinmap::engine::cpu::CpuEngine::new(), &p);
    let share = |f: &dyn Fn(&basinmap::classify::Attractor) -> bool| c.attractors.iter().filter(|a| f(a)).map(|a| a.fraction).sum::<f64>();
    let positive = share(&|a| a.kind == Kind::Chaotic && a.observables[0].value > 0.0);
    let negative = share(&|a| a.kind == Kind::Chaotic && a.observables[0].value < 0.0);
    let unbounded = share(&|a| a.kind == Kind::Inf);
    let undecided = share(&|a| a.kind == Kind::Undecided);
    let report = format!("{:?}", c.attractors.iter().map(|a| (a.kind, a.fraction)).collect::<Vec<_>>());
    assert!((positive - 0.0894).abs() < 3.0 * 0.0020, "x > 0: {positive}: {report}");
    assert!((negative - 0.08745).abs() < 3.0 * 0.0020, "x < 0: {negative}: {report}");
    assert!((unbounded - 0.82315).abs() < 3.0 * 0.0027, "unbounded: {unbounded}: {report}");
    assert!(undecided < 0.01, "undecided: {undecided}: {report}");
}

/// Lorenz (σ, ρ, β) = (10, 28, 8/3): chaotic, λ₁ = 0.9056 per unit time (Sprott, "Chaos and
/// Time-Series Analysis", table A.1). Over the default window (64 units of time) a start's
/// finite-time exponent scatters by several percent; over 1000 units, by about 1 %.
#[test]
fn lorenz_is_chaotic_with_its_largest_exponent() {
    let lorenz = "x='x=1:1:1'\n[system]\nstate=['x','y=1','z=1']\nfield=['sigma*(y - x)','x*(rho - z) - y','x*y - beta*z']\n[params]\nsigma=10.0\nrho=28.0\nbeta=2.6666666666666665\n[dynamics]\nmethod='rk4'\ndt=0.005\nsteps=4000\ntol=1e-3\n[classify]\nlyapunov=true\n";
    for (window, within) in [("", 0.1), ("chaos_window=1000\n", 0.03)] {
        let (o, c) = run(&basinmap::engine::cpu::CpuEngine::new(), &plan(&format!("{lorenz}{window}")));
        assert_eq!(o.status[0], Status::Chaotic as u32, "{:?}", c.attractors);
        let lambda = o.lyapunov[0] as f64;
        assert!((lambda - 0.9056).abs() < within * 0.9056, "{window}: λ₁ = {lambda}");
        // Placed by the middles of its ranges: z spans about [1.4, 48] on the attractor.
        let z = c.attractors[0].observables[2].value;
        assert!((z - 24.7).abs() < 1.5, "{window}: mid z = {z}");
    }
    let err = Plan::new(&Scenario::from_toml(&format!("{lorenz}chaos_window=-1\n")).unwrap()).unwrap_err().to_string();
    assert!(err.contains("chaos_window"), "{err}");
}

#[test]
fn angles_are_declared_by_name_and_period() {
    let axes = "x='phi=-3:3:4'\n[dynamics]\nmethod='rk4'\ndt=0.1\nsteps=10\n";
    let system = |periodic: &str| format!("{axes}[system]\nstate=['phi','w']\nfield=['w','-sin(phi)']\nperiodic={periodic}\n");
    let plan_of = |periodic: &str| Plan::new(&Scenario::from_toml(&system(periodic)).unwrap());
    let period = |periodic: &str| plan_of(periodic).unwrap().system.spec().angles();
    assert_eq!(period("['phi']"), vec![(0, std::f64::consts::TAU)]);
    assert_eq!(period("['phi=pi']"), vec![(0, std::f64::consts::PI)]);
    assert_eq!(period("['phi = 2*pi']"), vec![(0, std::f64::consts::TAU)]);
    assert_eq!(period("['w=360']"), vec![(1, 360.0)]);
    for (bad, says) in [("['psi']", "'psi' is not a state variable"), ("['phi=-1']", "is not a positive number"), ("['phi=x*pi']", "is not a positive number"), ("['phi','phi']", "listed twice")] {
        let err = plan_of(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
    // Steps take the angle modulo 2π: a free rotation at speed 1 from phi = 3 passes π.
    let p = plan(&format!("x='phi=3:3:1'\n[dynamics]\nmethod='rk4'\ndt=0.1\nsteps=10\n[system]\nstate=['phi','w=1']\nfield=['w','0*phi']\nperiodic=['phi']\n"));
    for (name, engine) in engines() {
        let o = engine.run(&p, &|_, _| {}).unwrap();
        assert!((o.obs(0)[0] as f64 - (4.0 - std::f64::consts::TAU)).abs() < 1e-5, "{name}: {}", o.obs(0)[0]);
    }
}
