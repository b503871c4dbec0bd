//! User-defined systems: formulas and WGSL files against built-in systems and independent
//! integrators, on both engines.

mod common;

use basinmap::engine::cpu::{CpuEngine, Scratch, Stepper};
use basinmap::engine::{Engine, Status};
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;
use basinmap::system::System;
use common::{engines, gpu, plan, run};

/// The first-order Landau map, built in and as a formula typed by hand.
const LANDAU_MAP: &str = "x='r=-0.25:0.5:512'\ny='m=-1.5:1.5:512'\n";

#[test]
fn landau_formula_gives_the_built_in_labels_on_both_engines() {
    let built_in = plan(&format!("system='landau'\n{LANDAU_MAP}[params]\nu=-1\nw=1"));
    let formula = plan(&format!(
        "{LANDAU_MAP}[system]\nstate=['m']\nloss='r*m^2 + c*m^3 + u*m^4 + w*m^6 - h*m'\n[params]\nc=0\nu=-1\nw=1\nh=0"
    ));
    assert!(matches!(formula.system, System::Custom(_)));
    for (name, engine) in engines() {
        let (ob, cb) = run(engine.as_ref(), &built_in);
        let (of, cf) = run(engine.as_ref(), &formula);
        let n = built_in.n_trajectories();
        let same = (0..n)
            .filter(|&i| {
                let (a, b) = (&cb.attractors[cb.labels[i] as usize], &cf.attractors[cf.labels[i] as usize]);
                a.kind == b.kind && a.stability == b.stability && (ob.obs(i)[0] - of.obs(i)[0]).abs() < 1e-2
            })
            .count();
        assert!(same as f64 >= 0.999 * n as f64, "{name}: the formula agrees with the built-in on {same} of {n}");
        assert_eq!(cb.attractors.iter().filter(|a| a.fraction > 0.01).count(), cf.attractors.iter().filter(|a| a.fraction > 0.01).count());
    }
}

/// An independent RK4 of Lorenz in f64, straight from the textbook.
fn lorenz_rk4(mut s: [f64; 3], dt: f64, steps: usize) -> [f64; 3] {
    let (sigma, rho, beta) = (10.0, 28.0, 8.0 / 3.0);
    let f = |s: [f64; 3]| [sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]];
    let add = |a: [f64; 3], k: [f64; 3], h: f64| [a[0] + h * k[0], a[1] + h * k[1], a[2] + h * k[2]];
    for _ in 0..steps {
        let k1 = f(s);
        let k2 = f(add(s, k1, dt / 2.0));
        let k3 = f(add(s, k2, dt / 2.0));
        let k4 = f(add(s, k3, dt));
        for i in 0..3 {
            s[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    s
}

const LORENZ: &str = "x='x=1:1:1'\n[system]\nstate=['x', 'y=1', 'z=1']\nfield=['sigma*(y - x)', 'x*(rho - z) - y', 'x*y - beta*z']\n\
                      [params]\nsigma=10\nrho=28\nbeta=2.6666666666666665\n[dynamics]\nmethod='rk4'\ndt=0.001\nsteps=1000\ntol=0\n";

#[test]
fn lorenz_field_matches_an_independent_rk4() {
    let want = lorenz_rk4([1.0, 1.0, 1.0], 0.001, 1000);
    // The formula's own f64 evaluation is the textbook RK4 up to rounding.
    let p = plan(LORENZ);
    let System::Custom(c) = &p.system else { panic!("a custom system") };
    let model = c.formula().expect("a formula system");
    let mut x = [1.0, 1.0, 1.0];
    let (status, n) = Stepper::<f64>::new(&p.dynamics).integrate(model, &p.inputs[..3], &mut x, &mut Scratch::new(3));
    assert_eq!((status, n), (Status::Undecided, 1000));
    for i in 0..3 {
        assert!((x[i] - want[i]).abs() < 1e-10 * want[i].abs().max(1.0), "f64 component {i}: {} vs {}", x[i], want[i]);
    }
    // Both engines in f32: t = 1 is short enough that chaos amplifies rounding only a little.
    for (name, engine) in engines() {
        let o = engine.run(&p, &|_, _| {}).unwrap();
        assert_eq!(o.steps[0], 1000, "{name}");
        for i in 0..3 {
            let got = o.obs(0)[i] as f64;
            assert!((got - want[i]).abs() < 1e-4 * want[i].abs().max(1.0), "{name} component {i}: {got} vs {}", want[i]);
        }
    }
}

#[test]
fn emitted_wgsl_run_as_a_file_reproduces_the_formula_bit_for_bit() {
    let Some(g) = gpu() else { return };
    let formula = plan("x='x=-2:2:64'\ny='y=-2:2:64'\n[system]\nstate=['x', 'y']\nloss='a*(x^2 - 1)^2 + (y - x^2)^2 / 4 + exp(-x*y)/10'\n[params]\na=0.5");
    let System::Custom(c) = &formula.system else { panic!() };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emitted.wgsl");
    std::fs::write(&file, c.emit_wgsl()).unwrap();
    let from_file = plan(&format!(
        "x='x=-2:2:64'\ny='y=-2:2:64'\n[system]\nstate=['x', 'y']\nwgsl='{}'\n[params]\na=0.5",
        file.display()
    ));
    let a = g.run(&formula, &|_, _| {}).unwrap();
    let b = g.run(&from_file, &|_, _| {}).unwrap();
    assert_eq!(a, b);
    assert!(a.status.iter().filter(|&&s| s == Status::Converged as u32).count() > 4000);
}

#[test]
fn non_finite_values_are_labelled_and_counted() {
    // x − 2√x has its minimum at x = 1, and the flow from any x > 0 stays positive; from x < 0
    // the square root is NaN at once.
    let p = plan("x='x=-1:1:40'\n[system]\nstate=['x']\nloss='x - 2*sqrt(x)'\n");
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        let nonfinite = o.status.iter().filter(|&&s| s == Status::Nonfinite as u32).count();
        assert_eq!(nonfinite, 20, "{name}: the 20 starts x < 0 are non-finite");
        assert!(c.attractors.iter().any(|a| a.kind.as_str() == "nonfinite" && a.count == 20), "{name}");
    }
    let dir = tempfile::tempdir().unwrap();
    let report = basinmap::run::execute(&Scenario::from_toml("x='x=-1:1:40'\nengine='cpu'\n[system]\nstate=['x']\nloss='x - 2*sqrt(x)'\n").unwrap(), dir.path()).unwrap();
    assert_eq!(report.counts.nonfinite, 20);
    assert!(report.warnings.iter().any(|w| w.starts_with("20 of 40 trajectories")), "{:?}", report.warnings);
}

#[test]
fn field_systems_get_stability_from_the_jacobian() {
    // A damped rotation: the origin is a stable focus (complex eigenvalues, negative real part).
    let p = plan("x='x=-1:1:16'\ny='y=-1:1:16'\n[system]\nstate=['x', 'y']\nfield=['-y - d*x; x - d*y']\n[params]\nd=0.5\n[dynamics]\nmethod='rk4'\ndt=0.05");
    let (_, c) = run(&CpuEngine::new(), &p);
    let main = &c.attractors[0];
    assert_eq!((main.kind.as_str(), main.stability), ("fixed", Some(basinmap::system::Stability::Stable)));
    assert!(main.fraction > 0.99);
}

#[test]
fn scenario_files_define_systems_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("double_well.wgsl"), "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = -4.0 * x[0] * (x[0] * x[0] - p.a);\n    return v;\n}\n").unwrap();
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, "x='x=-2:2:32'\ny='a=0.5:1.5:8'\n[system]\nstate=['x']\nwgsl='double_well.wgsl'\n").unwrap();
    let s = Scenario::from_file(&file).unwrap();
    assert_eq!(Scenario::from_toml(&s.to_toml()).unwrap().system, s.system, "{}", s.to_toml());
    let p = Plan::new(&s).unwrap();
    assert_eq!(p.system.spec().observable_names(), ["x"]);
    if let Some(g) = gpu() {
        let (o, c) = run(&g, &p);
        // Wells at ±sqrt(a): every start but x = 0 falls into the one on its side.
        assert_eq!(c.attractors.iter().filter(|a| a.fraction > 0.4).count(), 2);
        let end = o.obs(31)[0] as f64;
        assert!((end - 0.5f64.sqrt()).abs() < 1e-3, "{end}");
    }
    assert!(basinmap::engine::select(basinmap::scenario::EngineChoice::Cpu, &p.system).is_err());
    // A mistake inside [system] is reported as such.
    let err = Scenario::from_toml("x='x=0:1:2'\n[system]\nstate=['x']\nlos='x^2'\n").unwrap_err().to_string();
    assert!(err.contains("unknown field `los`"), "{err}");
}

#[test]
fn the_examples_are_valid_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let s = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let p = Plan::new(&s).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(p.warnings(1).is_empty(), "{}: {:?}", path.display(), p.warnings(1));
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[test]
fn selects_agree_between_engines_even_on_nan() {
    // step(NaN) is 0 on both engines (log x is NaN for x < 0); min, max and sign are selects too.
    let p = plan("x='x=-1:1.5:50'\n[system]\nstate=['x']\nfield=['step(log(x)) - x + 0.1*sign(x)*min(max(x, -0.5), 0.5)']\n[dynamics]\nlr=0.05");
    let Some(g) = gpu() else { return };
    let (oc, _) = run(&CpuEngine::new(), &p);
    let (og, _) = run(&g, &p);
    assert_eq!(oc.status, og.status);
    assert!(oc.status.iter().all(|&s| s == Status::Converged as u32), "{:?}", oc.status);
    for i in 0..p.n_trajectories() {
        assert!((oc.obs(i)[0] - og.obs(i)[0]).abs() < 1e-4, "{i}: {} vs {}", oc.obs(i)[0], og.obs(i)[0]);
    }
}

/// A map written in WGSL (`fn map`) runs on the GPU as the same map written as a formula
/// (`--map`) runs on both engines: the logistic map's 2-cycles at r = 3.2 and fixed points at
/// r = 2.5, one attractor each; lr defaults to 1 for a map, and a map is not integrated.
#[test]
fn a_map_in_wgsl_is_the_map_as_a_formula() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logistic.wgsl"), "fn map(x: State, p: Params) -> State {\n    var y: State;\n    y[0] = p.r * x[0] * (1.0 - x[0]);\n    return y;\n}\n").unwrap();
    let axes = "x='r=2.5:3.2:2'\ny='x=0.1:0.9:9'\n[dynamics]\nsteps=4000\n";
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, format!("{axes}[system]\nstate=['x']\nwgsl='logistic.wgsl'\n")).unwrap();
    let wgsl = Plan::new(&Scenario::from_file(&file).unwrap()).unwrap();
    let formula = plan(&format!("{axes}[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n"));
    assert_eq!((wgsl.dynamics.lr, formula.dynamics.lr), (1.0, 1.0));
    assert!(wgsl.system.is_map() && formula.system.is_map());
    let (of, cf) = run(&CpuEngine::new(), &formula);
    // r = 2.5: the fixed point 0.6; r = 3.2: the 2-cycle's smaller point.
    let cycle_low = (3.2 + 1.0 - ((3.2f64 - 3.0) * 4.2).sqrt()) / 6.4;
    for i in 0..formula.n_trajectories() {
        let want = if i % 2 == 0 { 0.6 } else { cycle_low };
        assert!((of.obs(i)[0] as f64 - want).abs() < 1e-4, "trajectory {i}: {}", of.obs(i)[0]);
    }
    assert_eq!(cf.attractors.len(), 2, "{:?}", cf.attractors);
    if let Some(g) = gpu() {
        // The engines' own outcomes: a WGSL system has no host model to test for cycles with,
        // so its 2-cycles run out their budget undecided where the formula's return probe stops
        // them as cycles (at an even step, as 4000 is: the same point of the cycle).
        let of = CpuEngine::new().run(&formula, &|_, _| {}).unwrap();
        let og = g.run(&formula, &|_, _| {}).unwrap();
        let ow = g.run(&wgsl, &|_, _| {}).unwrap();
        assert!(of.status.iter().zip(&of.steps).all(|(&s, &n)| s != Status::Cycle as u32 || n < 4000), "{:?}", of.steps);
        let unprobed: Vec<u32> = of.status.iter().map(|&s| if s == Status::Cycle as u32 { Status::Undecided as u32 } else { s }).collect();
        for (name, o, want) in [("gpu formula", &og, &of.status), ("gpu wgsl", &ow, &unprobed)] {
            assert_eq!(&o.status, want, "{name}");
            for i in 0..formula.n_trajectories() {
                assert!((o.obs(i)[0] - of.obs(i)[0]).abs() < 1e-4, "{name}: trajectory {i}");
            }
        }
    }
    // A map is iterated: other step rules are refused, with the way to relax it.
    let err = Plan::new(&Scenario::from_toml(&format!("{axes}method='rk4'\n[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n")).unwrap()).unwrap_err().to_string();
    assert!(err.contains("a map is iterated") && err.contains("--dynamics gd"), "{err}");
    // λ₁ follows the steps of a deterministic map or flow: an optimizer's (over its state and
    // memory) is accepted, a noisy one refused.
    assert!(Plan::new(&Scenario::from_toml("x='x=-1:1:4'\n[system]\nstate=['x']\nloss='x^2'\n[dynamics]\nmethod='momentum'\n[classify]\nlyapunov=true\n").unwrap()).is_ok());
    let err = Plan::new(&Scenario::from_toml("x='x=-1:1:4'\n[system]\nstate=['x']\nloss='x^2'\n[dynamics]\ntemperature=0.1\n[classify]\nlyapunov=true\n").unwrap()).unwrap_err().to_string();
    assert!(err.contains("--lyapunov follows a tangent"), "{err}");
    assert!(Plan::new(&Scenario::from_toml("x='x=-1:1:4'\n[system]\nstate=['x']\nfield=['-x']\n[dynamics]\nmethod='rk4'\n[classify]\nlyapunov=true\n").unwrap()).is_ok());
    // A set lr relaxes the map.
    let relaxed = plan(&format!("{}lr=0.5\n[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n", axes));
    assert_eq!(relaxed.dynamics.lr, 0.5);
    // Both fn field and fn map: refused.
    std::fs::write(dir.path().join("both.wgsl"), "fn map(x: State, p: Params) -> State { return x; }\nfn field(x: State, p: Params) -> State { return x; }\n").unwrap();
    std::fs::write(&file, format!("{axes}[system]\nstate=['x']\nwgsl='both.wgsl'\n[params]\nr=1\n")).unwrap();
    let err = Scenario::from_file(&file).and_then(|s| Plan::new(&s)).unwrap_err().to_string();
    assert!(err.contains("both `fn field` and `fn map`"), "{err}");
}

/// The logistic map written in WGSL.
const LOGISTIC_WGSL: &str = "fn map(x: State, p: Params) -> State {\n    var y: State;\n    y[0] = p.r * x[0] * (1.0 - x[0]);\n    return y;\n}\n";

/// Cycles and chaos of a map written in WGSL, which has no host model, are found by continuing
/// its undecided trajectories on the GPU (classify::continued, in f32); the same map written as
/// a formula is continued on the host in f64 (the oracle). The logistic map's 2-, 4-, 8-, 16-
/// and 3-cycles and its chaos at r = 3.9 and 3.99: the same kind and period from every start, and
/// cycle points within 1e-4 (the cycle's smallest point, whichever phase a start entered it at).
#[test]
fn cycles_and_chaos_of_a_map_in_wgsl_are_those_of_the_formula() {
    let Some(g) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logistic.wgsl"), LOGISTIC_WGSL).unwrap();
    let file = dir.path().join("scenario.toml");
    for (r, period) in [(3.2, 2), (3.5, 4), (3.555, 8), (3.566, 16), (3.835, 3), (3.9, 0), (3.99, 0)] {
        let common = format!("x='x=0.15:0.85:8'\n[params]\nr={r}\n[dynamics]\nsteps=3000\n");
        std::fs::write(&file, format!("{common}[system]\nstate=['x']\nwgsl='logistic.wgsl'\n")).unwrap();
        let wgsl = Plan::new(&Scenario::from_file(&file).unwrap()).unwrap();
        assert!(basinmap::classify::continued::applies(&wgsl));
        let formula = plan(&format!("{common}precision='f64'\n[system]\nstate=['x']\nmap=['r*x*(1 - x)']\n"));
        let (of, cf) = run(&CpuEngine::new(), &formula);
        let (ow, cw) = run(&g, &wgsl);
        for i in 0..wgsl.n_trajectories() {
            let (a, b) = (&cw.attractors[cw.labels[i] as usize], &cf.attractors[cf.labels[i] as usize]);
            let want = if period > 0 { basinmap::classify::Kind::Cycle } else { basinmap::classify::Kind::Chaotic };
            assert_eq!((b.kind, b.period), (want, period), "r = {r}, start {i}: the formula's {b:?}");
            assert_eq!((a.kind, a.period), (b.kind, b.period), "r = {r}, start {i}: WGSL {a:?}, formula {b:?}");
            if period > 0 {
                assert!((ow.obs(i)[0] - of.obs(i)[0]).abs() < 1e-4, "r = {r}, start {i}: cycle point {} in WGSL, {} as a formula", ow.obs(i)[0], of.obs(i)[0]);
            } else {
                // A chaotic attractor's point: the middle of the range its orbit covers.
                assert!((ow.obs(i)[0] - of.obs(i)[0]).abs() < 0.05 * (1.0 + of.obs(i)[0].abs()), "r = {r}, start {i}");
            }
        }
        // One attractor per r: every start on one cycle (or one chaotic band).
        assert_eq!(cw.attractors.iter().filter(|a| a.count > 0).count(), 1, "r = {r}: {:?}", cw.attractors);
        assert_eq!(ow.period.iter().copied().max().unwrap_or(0), period, "r = {r}: period.npy");
    }
}

/// An optimizer with memory on a field written in WGSL: heavy ball (μ = 0.5) on the double
/// well's field x − x³ gives the 2- and 4-cycles the same loss as a formula gives on the CPU
/// (tests/optimizers.rs), the velocity returned and continued with the state on the GPU.
#[test]
fn optimizer_cycles_of_a_field_in_wgsl_are_those_of_the_formula() {
    let Some(g) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("well.wgsl"), "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = x[0] - x[0] * x[0] * x[0];\n    return v;\n}\n").unwrap();
    let common = "x='lr=1.56:1.71:6'\ny='x=0.94:1.1:5'\n[dynamics]\nmethod='momentum'\nmomentum=0.5\nsteps=5000\ntol=1e-7\n";
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, format!("{common}[system]\nstate=['x']\nwgsl='well.wgsl'\n")).unwrap();
    let wgsl = Plan::new(&Scenario::from_file(&file).unwrap()).unwrap();
    assert_eq!(wgsl.kept_memory(), 1, "the velocity is returned");
    let formula = plan(&format!("{common}[system]\nstate=['x']\nloss='x^4/4 - x^2/2'\n"));
    let (_, cf) = run(&CpuEngine::new(), &formula);
    let (ow, cw) = run(&g, &wgsl);
    let (of, _) = run(&CpuEngine::new(), &formula);
    let periods = |c: &basinmap::classify::Classification| (0..6).map(|k| c.attractors[c.labels[6 + k] as usize].period).collect::<Vec<u32>>();
    assert_eq!(periods(&cf), [2, 2, 2, 2, 2, 4], "{:?}", cf.attractors);
    assert_eq!(periods(&cw), periods(&cf), "{:?}", cw.attractors);
    for i in 0..wgsl.n_trajectories() {
        let (a, b) = (&cw.attractors[cw.labels[i] as usize], &cf.attractors[cf.labels[i] as usize]);
        assert_eq!((a.kind, a.period), (b.kind, b.period), "trajectory {i}");
        // One point per lr, whichever side of the minimum the start was on (to f32's rounding:
        // f32 steps from two phases may close on orbits an ulp or two apart), the formula's.
        assert!((ow.obs(i)[0] - ow.obs(i % 6)[0]).abs() < 1e-5, "trajectory {i}: {} and {}", ow.obs(i)[0], ow.obs(i % 6)[0]);
        assert!((ow.obs(i)[0] - of.obs(i)[0]).abs() < 1e-4, "trajectory {i}: {} in WGSL, {} as a formula", ow.obs(i)[0], of.obs(i)[0]);
    }
}

/// λ₁ of a WGSL map's chaos window, from a neighbouring row pulled back after every step (f32
/// forward differences): the Hénon map's 0.41922 (a = 1.4, b = 0.3; Sprott 2003, which the host's
/// f64 tangent gives within 1 %, tests/analysis.rs) within 1 % over 64 starts on its attractor.
#[test]
fn a_wgsl_maps_lyapunov_exponent_from_neighbouring_rows() {
    let Some(g) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("henon.wgsl"), "fn map(x: State, p: Params) -> State {\n    var y: State;\n    y[0] = 1.0 - p.a * x[0] * x[0] + x[1];\n    y[1] = p.b * x[0];\n    return y;\n}\n").unwrap();
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, "x='x=-0.2:0.2:8'\ny='y=-0.2:0.2:8'\n[params]\na=1.4\nb=0.3\n[dynamics]\nsteps=500\n[system]\nstate=['x', 'y']\nwgsl='henon.wgsl'\n").unwrap();
    let p = Plan::new(&Scenario::from_file(&file).unwrap()).unwrap();
    let o = g.run(&p, &|_, _| {}).unwrap();
    assert!(o.status.iter().all(|&s| s == Status::Undecided as u32), "on the attractor, none settles");
    let rows = end_rows(&o, 2);
    let exponents = basinmap::classify::continued::window_exponents(&p, &g, &rows).unwrap().expect("the GPU continues rows");
    assert!(exponents.iter().all(|l| l.is_finite()), "{exponents:?}");
    let mean = exponents.iter().sum::<f64>() / exponents.len() as f64;
    assert!((mean - 0.41922).abs() < 0.01 * 0.41922, "λ₁ = {mean} (each: {exponents:?})");
    // And the run labels them all chaotic, one attractor.
    let (_, c) = run(&g, &p);
    assert!(c.labels.iter().all(|&l| c.attractors[l as usize].kind == basinmap::classify::Kind::Chaotic), "{:?}", c.attractors);
}

/// Rows that continue every trajectory of `o` from its end state, the first `n` observables
/// (a WGSL system's state), at its step.
fn end_rows(o: &basinmap::engine::Outcomes, n: usize) -> basinmap::engine::Rows {
    let mut rows = basinmap::engine::Rows { n_z: n, n_obs: n, ..Default::default() };
    for i in 0..o.len() {
        rows.push(i as u32, o.steps[i], &o.obs(i)[..n].iter().map(|&v| v as f64).collect::<Vec<f64>>());
    }
    rows
}

/// The plan of `scenario` (TOML, its `[system]` last) whose system is `wgsl`, a WGSL file beside
/// it.
fn wgsl_plan(dir: &std::path::Path, wgsl: &str, scenario: &str) -> Plan {
    std::fs::write(dir.join("system.wgsl"), wgsl).unwrap();
    let file = dir.join("scenario.toml");
    std::fs::write(&file, format!("{scenario}wgsl='system.wgsl'\n")).unwrap();
    Plan::new(&Scenario::from_file(&file).unwrap()).unwrap()
}

/// Limit cycles of flows written in WGSL, which have no host model: their undecided
/// trajectories are continued on the GPU (classify::continued_flows: traced in f32 into the
/// host's section test), the same flows as formulas on the host in f64 (the oracle). The Van
/// der Pol cycle (μ = 1): one loop of period 6.6633 from every start but the focus; the driven
/// pendulum of Menck et al. with φ an angle: rotating starts on its limit cycle (one turn a
/// period), the others at rest, start by start as the formula's.
#[test]
fn limit_cycles_of_a_flow_in_wgsl_are_those_of_the_formula() {
    let Some(g) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let common = "x='x=-3:3:5'\ny='y=-3:3:5'\n[params]\nmu=1.0\n[dynamics]\nmethod='rk4'\ndt=0.01\nsteps=3000\ntol=1e-6\n[system]\nstate=['x','y']\n";
    let wgsl = wgsl_plan(dir.path(), "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = x[1];\n    v[1] = p.mu * (1.0 - x[0] * x[0]) * x[1] - x[0];\n    return v;\n}\n", common);
    assert!(basinmap::classify::continued::applies(&wgsl) && basinmap::classify::finds_cycles(&wgsl));
    let (ow, cw) = run(&g, &wgsl);
    let (of, cf) = run(&CpuEngine::new(), &plan(&format!("{common}field=['y','mu*(1 - x^2)*y - x']\n")));
    let centre = 12;
    assert_eq!(ow.status[centre], Status::Converged as u32);
    for i in (0..25).filter(|&i| i != centre) {
        let (a, b) = (&cw.attractors[cw.labels[i] as usize], &cf.attractors[cf.labels[i] as usize]);
        assert_eq!((a.kind, a.period), (basinmap::classify::Kind::Cycle, 1), "start {i}: WGSL {a:?}");
        assert_eq!((b.kind, b.period), (a.kind, a.period), "start {i}: formula {b:?}");
        assert!((ow.cycle_time[i] as f64 - 6.663_286_859).abs() < 1e-3, "start {i}: T = {}", ow.cycle_time[i]);
        assert!((ow.cycle_time[i] - of.cycle_time[i]).abs() < 1e-3, "start {i}: T = {} in WGSL, {} as a formula", ow.cycle_time[i], of.cycle_time[i]);
        // The cycle's point: where it crosses the section with the smallest x.
        for c in 0..2 {
            assert!((ow.obs(i)[c] - of.obs(i)[c]).abs() < 1e-2, "start {i}: point {:?} in WGSL, {:?} as a formula", &ow.obs(i)[..2], &of.obs(i)[..2]);
        }
    }
    let cycles: Vec<_> = cw.attractors.iter().filter(|a| a.kind == basinmap::classify::Kind::Cycle && a.count > 0).collect();
    assert_eq!(cycles.len(), 1, "{:?}", cw.attractors);
    // A limit cycle attracted the trajectories that found it, with a host model or without.
    assert_eq!(cycles[0].stability, Some(basinmap::system::Stability::Stable), "{:?}", cycles[0]);
    // The driven pendulum: φ′ = ω, ω′ = −αω + T − K sin φ.
    let common = "x='phi=-3:3:6'\ny='omega=-10:10:6'\n[params]\nalpha=0.1\ntorque=0.5\nk=1.0\n[dynamics]\nmethod='rk4'\ndt=0.05\nsteps=8000\ntol=1e-6\n[system]\nstate=['phi','omega']\nperiodic=['phi']\n";
    let wgsl = wgsl_plan(dir.path(), "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = x[1];\n    v[1] = -p.alpha * x[1] + p.torque - p.k * sin(x[0]);\n    return v;\n}\n", common);
    let (ow, cw) = run(&g, &wgsl);
    let (of, cf) = run(&CpuEngine::new(), &plan(&format!("{common}field=['omega','-alpha*omega + torque - k*sin(phi)']\n")));
    let kinds = |c: &basinmap::classify::Classification| (0..36).map(|i| (c.attractors[c.labels[i] as usize].kind, c.attractors[c.labels[i] as usize].period)).collect::<Vec<_>>();
    assert_eq!(kinds(&cw), kinds(&cf));
    let rotating: Vec<usize> = (0..36).filter(|&i| of.status[i] == Status::Cycle as u32).collect();
    assert!(rotating.len() >= 6 && rotating.len() < 36, "{rotating:?}");
    for &i in &rotating {
        assert!((ow.cycle_time[i] - of.cycle_time[i]).abs() < 1e-3 * of.cycle_time[i], "start {i}: T = {} in WGSL, {} as a formula", ow.cycle_time[i], of.cycle_time[i]);
    }
}

/// A forced flow written in WGSL: the twin-well Duffing oscillator driven at period 2π
/// (examples/forced/duffing.toml) responds at the forcing's period in either well (cycles of
/// period 1, cycle time 2π), start by start as the formula does on the host; its stroboscopic
/// samples come from the GPU a period at a time.
#[test]
fn forced_responses_of_a_flow_in_wgsl_are_those_of_the_formula() {
    let Some(g) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let common = "x='x=-2:2:6'\ny='v=-2:2:5'\n[params]\ng=0.1\n[dynamics]\nmethod='rk4'\ndt=0.02\nsteps=3000\n[system]\nstate=['x','v']\nforcing_period='2*pi'\n";
    let wgsl = wgsl_plan(dir.path(), "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = x[1];\n    v[1] = p.g * cos(p.t) - 0.25 * x[1] + x[0] - x[0] * x[0] * x[0];\n    return v;\n}\n", common);
    assert!(basinmap::classify::continued::applies(&wgsl));
    let (ow, cw) = run(&g, &wgsl);
    let (of, cf) = run(&CpuEngine::new(), &plan(&format!("{common}field=['v','g*cos(t) - 0.25*v + x - x^3']\n")));
    for i in 0..30 {
        let (a, b) = (&cw.attractors[cw.labels[i] as usize], &cf.attractors[cf.labels[i] as usize]);
        assert_eq!((b.kind, b.period), (basinmap::classify::Kind::Cycle, 1), "start {i}: formula {b:?}");
        assert_eq!((a.kind, a.period), (b.kind, b.period), "start {i}: WGSL {a:?}");
        assert!((ow.cycle_time[i] as f64 - std::f64::consts::TAU).abs() < 1e-5, "start {i}: T = {}", ow.cycle_time[i]);
        // The same well, at the same point of the response (its sample at phase 0).
        for c in 0..2 {
            assert!((ow.obs(i)[c] - of.obs(i)[c]).abs() < 1e-3, "start {i}: {:?} in WGSL, {:?} as a formula", &ow.obs(i)[..2], &of.obs(i)[..2]);
        }
    }
    assert_eq!(cw.attractors.iter().filter(|a| a.count > 0).count(), 2, "two wells: {:?}", cw.attractors);
}

/// Chaos of a flow written in WGSL: Lorenz (10, 28, 8/3) from starts on its attractor is
/// chaotic, placed where the host places it, and λ₁ from neighbouring rows pulled back every 0.1 of time (f32)
/// averages to 0.9056 per unit time (Sprott) within 5 % over 8 windows of 64 units each.
#[test]
fn a_wgsl_flows_chaos_and_lyapunov_exponent_from_neighbouring_rows() {
    let Some(g) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scenario = "x='x=-8:8:4'\ny='y=-8:8:2'\n[params]\nsigma=10.0\nrho=28.0\nbeta=2.6666666666666665\n[dynamics]\nmethod='rk4'\ndt=0.005\nsteps=4000\ntol=1e-3\n[system]\nstate=['x','y','z=20']\n";
    let p = wgsl_plan(dir.path(), "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = p.sigma * (x[1] - x[0]);\n    v[1] = x[0] * (p.rho - x[2]) - x[1];\n    v[2] = x[0] * x[1] - p.beta * x[2];\n    return v;\n}\n", scenario);
    let o = g.run(&p, &|_, _| {}).unwrap();
    assert!(o.status.iter().all(|&s| s == Status::Undecided as u32), "{:?}", o.status);
    let rows = end_rows(&o, 3);
    let exponents = basinmap::classify::continued::window_exponents(&p, &g, &rows).unwrap().expect("the GPU continues rows");
    let mean = exponents.iter().sum::<f64>() / exponents.len() as f64;
    assert!((mean - 0.9056).abs() < 0.05 * 0.9056, "λ₁ = {mean} (each: {exponents:?})");
    let (o, c) = run(&g, &p);
    assert!(o.status.iter().all(|&s| s == Status::Chaotic as u32), "{:?}", c.attractors);
    // Every start placed by the middles of its ranges, read at every step (x and y span about
    // ±20 symmetrically, z about [1.4, 48]), as the host places it (tests/flows.rs).
    for i in 0..o.len() {
        let mid = o.obs(i);
        assert!(mid[0].abs() < 1.5 && mid[1].abs() < 1.5 && (mid[2] - 24.7).abs() < 1.5, "start {i}: middles {:?}", &mid[..3]);
    }
}
