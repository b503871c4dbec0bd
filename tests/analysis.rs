//! Sweeps, transitions, hysteresis and boundary measures against the exact results of
//! models.md and the seeds (Landau theory, the paper's effective loss), on every engine.

mod common;

use basinmap::analysis::boundary::{measure, LabelMap};
use basinmap::analysis::execute::{analyse, Analysis, SweepOptions};
use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::Engine;
use basinmap::system::{Effective, Model};
use common::{engines, plan};

fn sweep(engine: &dyn Engine, toml: &str) -> Analysis {
    analyse(&plan(toml), engine, &SweepOptions::default(), &basinmap::run::Silent).expect("sweep runs")
}

const LANDAU: &str = "system='landau'\nx='r=-0.5:0.5:1001'\ny='m=-1.5:1.5:8'\n[dynamics]\nlr=0.01\nsteps=20000\ntol=1e-5\n[params]\n";

#[test]
fn landau_second_order_at_r0_with_beta_one_half() {
    for (name, engine) in engines() {
        let a = sweep(engine.as_ref(), &format!("{LANDAU}u=1.0"));
        assert_eq!(a.transitions.len(), 1, "{name}: {:?}", a.transitions);
        let t = &a.transitions[0];
        assert_eq!(t.order, 2, "{name}");
        assert!(t.critical.abs() < 1e-6, "{name}: r* = {}", t.critical);
        // d2L jumps from -1/(2u) to 0.
        assert!((t.jumps.d2 - 0.5).abs() < 0.025, "{name}: {:?}", t.jumps);
        let e = t.exponent.as_ref().expect("a continuous transition has an exponent");
        assert!((e.beta - 0.5).abs() < 0.05, "{name}: beta {e:?}");
        assert!(a.hysteresis.as_ref().unwrap().window.is_none(), "{name}: a continuous transition has no hysteresis");
    }
}

#[test]
fn landau_first_order_jump_and_spinodal_are_exact() {
    // F = r m^2 + u m^4 + w m^6 with u = -1, w = 2: r* = u^2/(4w) = 1/8, spinodal u^2/(3w) = 1/6.
    let (u, w) = (-1.0f64, 2.0f64);
    let r_star = u * u / (4.0 * w);
    // At r*, the ordered minimum has m^2 = -u/(2w); dL/dr = m^2 there and 0 on the other side.
    let m2 = -u / (2.0 * w);
    for (name, engine) in engines() {
        let a = sweep(engine.as_ref(), &format!("{LANDAU}u={u}\nw={w}"));
        assert_eq!(a.transitions.len(), 1, "{name}: {:?}", a.transitions);
        let t = &a.transitions[0];
        assert_eq!(t.order, 1, "{name}");
        assert!((t.critical - r_star).abs() < 1e-6, "{name}: r* = {}", t.critical);
        let heat = t.latent_heat.expect("order 1 has a latent heat");
        assert!((heat.abs() - m2).abs() < 0.05 * m2, "{name}: latent heat {heat}, exact {m2}");
        assert!((t.order_parameter_jump.abs() - m2.sqrt()).abs() < 0.05 * m2.sqrt(), "{name}: jump {}", t.order_parameter_jump);
        let h = a.hysteresis.as_ref().unwrap();
        let up = h.spinodal_up.expect("the ordered branch ends inside the sweep");
        assert!((up - u * u / (3.0 * w)).abs() < 1e-6, "{name}: spinodal {up}");
        // m = 0 stops being a minimum at r = 0.
        assert!(h.spinodal_down.expect("m = 0 loses stability inside the sweep").abs() < 1e-5, "{name}: {h:?}");
    }
}

/// The weight decay where the learning minimum b > 0 of the effective loss disappears, found
/// independently of basinmap's analysis: a dense scan of the loss over b for an interior local
/// minimum, bisected in gamma.
fn effective_spinodal(params: &[f64], gamma_at: usize, lo: f64, hi: f64) -> f64 {
    let has_learning_minimum = |g: f64| {
        let mut p = params.to_vec();
        p[gamma_at] = g;
        let f: Vec<f64> = (0..20001).map(|i| Effective.loss(&p, &[0.02 + 2.0 * i as f64 / 20000.0])).collect();
        f.windows(3).any(|w| w[1] < w[0] && w[1] < w[2])
    };
    let (mut lo, mut hi) = (lo, hi);
    assert!(has_learning_minimum(lo) && !has_learning_minimum(hi));
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if has_learning_minimum(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

const EFFECTIVE: &str = "system='effective'\nx='gamma=0.01:0.8:801'\ny='b=-1.5:1.5:8'\n[dynamics]\nlr=0.01\nsteps=20000\ntol=1e-5\n[params]\nd0=1\nsigma2=0.5\na=[1.0, 0.5]\nexy=[0.4, 0.3]\n";

#[test]
fn effective_depth1_second_order_at_the_norm_of_exy() {
    let a = sweep(&CpuEngine::new(), &format!("{EFFECTIVE}D=1"));
    assert_eq!(a.transitions.len(), 1, "{:?}", a.transitions);
    let t = &a.transitions[0];
    assert_eq!(t.order, 2);
    assert!((t.critical - 0.5).abs() < 1e-6, "gamma* = {}", t.critical);
    let e = t.exponent.as_ref().unwrap();
    assert!((e.beta - 0.5).abs() < 0.05, "{e:?}");
}

#[test]
fn effective_depth2_first_order_and_the_window_closes_at_the_upper_spinodal() {
    let toml = format!("{EFFECTIVE}D=2");
    let a = sweep(&CpuEngine::new(), &toml);
    assert_eq!(a.transitions.len(), 1, "{:?}", a.transitions);
    let t = &a.transitions[0];
    assert_eq!(t.order, 1);
    assert!(t.order_parameter_jump.abs() > 0.3, "b jumps: {t:?}");
    let p = plan(&toml);
    let exact = effective_spinodal(&p.inputs[..p.n_params], p.x.target, t.critical, 0.8);
    let h = a.hysteresis.unwrap();
    let [lo, hi] = h.window.expect("a first-order transition has a metastable window");
    assert!((hi - exact).abs() < 1e-6, "window {lo}..{hi}, spinodal {exact}");
    assert!(h.spinodal_down.is_none(), "b = 0 is a local minimum for every gamma (the paper)");
    assert!(lo < t.critical && t.critical < hi);
}

#[test]
fn ridge_regression_has_no_transition() {
    // D = 0: the paper's Theorem 1.
    let toml = "system='deep-linear'\nx='gamma=0.01:0.8:200'\nsamples=4\n[params]\nD=0\nd0=4\ninit_scale=0.3\na=[1.0, 0.5]\nexy=[0.4, 0.3]\n[dynamics]\nlr=0.01\nsteps=100000\ntol=1e-5";
    let a = sweep(&CpuEngine::new(), toml);
    assert!(a.transitions.is_empty(), "{:?}", a.transitions);
    assert!(a.sweep.points.iter().all(|p| p.loss.is_finite()));
}

#[test]
fn a_sweep_needs_a_parameter_axis_and_a_loss() {
    let err = |toml: &str| analyse(&plan(toml), &CpuEngine::new(), &SweepOptions::default(), &basinmap::run::Silent).err().expect("refused").to_string();
    assert!(err("system='landau'\nx='m=-1:1:10'").contains("must be a parameter"));
    assert!(err("system='landau'\nx='r=-1:1:10'\ny='u=1:2:3'").contains("scans one parameter"));
    let field = "x='a=-1:1:10'\n[system]\nstate=['x']\nfield=['a - x']";
    assert!(err(field).contains("needs a loss"), "{}", err(field));
}

/// A disc of radius r in an n × n map.
fn disc(n: usize, r: f64) -> Vec<u32> {
    let c = n as f64 / 2.0;
    (0..n * n).map(|i| (((i % n) as f64 + 0.5 - c).hypot((i / n) as f64 + 0.5 - c) < r) as u32).collect()
}

#[test]
fn a_circle_boundary_has_dimension_one() {
    let n = 2048;
    let labels = disc(n, 0.37 * n as f64);
    let m = measure(&LabelMap { nx: n, ny: n, labels: &labels }, 5, None).unwrap();
    let d = m.dimension.unwrap();
    assert!((d.dimension - 1.0).abs() < 0.05, "{d:?}");
    // A digital circle has about max(|cos|, |sin|) boundary pixels per unit length on each side,
    // 2√2/π on average: 2 · (2√2/π) · 2πr / n² of the map.
    let expect = 8.0 * 2f64.sqrt() * 0.37 * n as f64 / (n * n) as f64;
    assert!((m.boundary_fraction / expect - 1.0).abs() < 0.1, "{} vs {expect}", m.boundary_fraction);
    assert!(m.basin_entropy > 0.0 && m.basin_entropy < 0.05 && m.boundary_basin_entropy > 0.1);
}

#[test]
fn the_sierpinski_triangle_has_dimension_log2_3() {
    // Pascal's triangle mod 2: pixel (x, y) is in the set when x & y == 0; on a 2^k grid, boxes
    // of side 2^s holding it number exactly 3^(k-s).
    let n = 2048usize;
    let labels: Vec<u32> = (0..n * n).map(|i| ((i % n) & (i / n) == 0) as u32).collect();
    let m = measure(&LabelMap { nx: n, ny: n, labels: &labels }, 5, None).unwrap();
    let d = m.dimension.unwrap();
    assert!((d.dimension - 3f64.log2()).abs() < 0.05, "{d:?}");
}

#[test]
fn a_map_without_boundary_has_none() {
    let labels = vec![3u32; 64 * 64];
    let m = measure(&LabelMap { nx: 64, ny: 64, labels: &labels }, 5, None).unwrap();
    assert_eq!((m.boundary_fraction, m.basin_entropy, m.dimension), (0.0, 0.0, None));
}

#[test]
fn deep_linear_nets_second_order_at_depth1_and_first_order_at_depth2() {
    // The full network (models.md §4), 4 random initialisations per value: the same orders as
    // the effective loss (the paper's Theorems 2 and 3).
    let net = |d: u32| format!("system='deep-linear'\nx='gamma=0.01:0.8:200'\nsamples=4\nseed=1\n[params]\nD={d}\nd0=4\ninit_scale=0.3\na=[1.0, 0.5]\nexy=[0.4, 0.3]\n[dynamics]\nlr=0.01\nsteps=100000\ntol=1e-5");
    let options = SweepOptions { refine: 12, ..SweepOptions::default() };
    let d1 = analyse(&plan(&net(1)), &CpuEngine::new(), &options, &basinmap::run::Silent).unwrap();
    assert_eq!(d1.transitions.iter().map(|t| t.order).collect::<Vec<_>>(), vec![2], "{:?}", d1.transitions);
    assert!((d1.transitions[0].critical - 0.5).abs() < 1e-4, "{:?}", d1.transitions[0]);
    let d2 = analyse(&plan(&net(2)), &CpuEngine::new(), &options, &basinmap::run::Silent).unwrap();
    assert_eq!(d2.transitions.iter().map(|t| t.order).collect::<Vec<_>>(), vec![1], "{:?}", d2.transitions);
    assert!(d2.transitions[0].order_parameter_jump.abs() > 0.1);
    assert!(d2.hysteresis.unwrap().window.is_some(), "b = 0 stays a local minimum: hysteresis");
}

/// A sweep over a step setting reads each minimum's sharpness against the step rule's edge of
/// stability: on λx²/2 the sharpness is λ (plus coupled weight decay), and the edge is 2/lr for
/// gd, 2(1 + μ)/lr for heavy ball, where runs stop converging.
#[test]
fn a_sweep_over_lr_gives_sharpness_and_the_edge_of_stability() {
    let quadratic = "[system]\nstate=['x=1']\nloss='lam*x^2/2'\n[params]\nlam=3\n";
    for (method, extra, sharp) in [("gd", "", 3.0), ("momentum", "weight_decay=0.5\n", 3.5)] {
        let a = sweep(&CpuEngine::new(), &format!("x='lr=0.05:1.2:24'\ny='x=-1:1:2'\n{quadratic}[dynamics]\nmethod='{method}'\nsteps=5000\ntol=1e-9\n{extra}"));
        let mut converged = 0;
        for p in &a.sweep.points {
            let edge = if method == "gd" { 2.0 / p.value } else { 2.0 * 1.9 / p.value };
            assert!((p.threshold - edge).abs() <= 1e-12 * edge, "{method} lr {}: edge {} vs {edge}", p.value, p.threshold);
            for f in &p.fixed_points {
                assert!((f.point.sharpness - sharp).abs() < 1e-6, "{method} lr {}: sharpness {}", p.value, f.point.sharpness);
                assert!(f.point.sharpness < p.threshold, "a minimum the steps reached is below the edge");
                converged += 1;
            }
            // Past the edge the steps do not converge: no minimum at that value.
            if sharp > edge {
                assert!(p.fixed_points.is_empty(), "{method} lr {}: {} fixed points past the edge", p.value, p.fixed_points.len());
            }
        }
        assert!(converged > 0 && a.sweep.points.iter().any(|p| p.fixed_points.is_empty()), "{method}: both sides of the edge");
    }
}

// Orbit diagrams. Gradient descent with lr = 1 on L = x²/2 − r(x²/2 − x³/3) steps
// x ← x − L′(x) = r x (1 − x): the logistic map, whose bifurcations are known exactly.
const LOGISTIC: &str = "[system]\nstate=['x=0.3']\nloss='x^2/2 - r*(x^2/2 - x^3/3)'\n[params]\nr=3\n[dynamics]\nlr=1.0\nsteps=20000\nprecision='f64'\n";

fn orbit(toml: &str, options: &basinmap::analysis::orbit::OrbitOptions) -> basinmap::analysis::orbit::Orbit {
    basinmap::analysis::orbit::compute(&plan(toml), options).expect("orbit runs")
}

// The same map written as a map (`--map`; lr is 1 unless set).
const LOGISTIC_MAP: &str = "[system]\nstate=['x=0.3']\nmap=['r*x*(1 - x)']\n[params]\nr=3\n[dynamics]\nsteps=20000\nprecision='f64'\n";

#[test]
fn the_logistic_map_doubles_its_period_at_3_and_1_plus_sqrt6() {
    for system in [LOGISTIC, LOGISTIC_MAP] {
        logistic_doublings(system);
    }
}

fn logistic_doublings(system: &str) {
    use basinmap::analysis::orbit::{Behaviour, OrbitOptions};
    let o = orbit(&format!("x='r=2.905:3.605:71'\n{system}"), &OrbitOptions::default());
    // Periods on the grid: 1 below 3, 2 up to 3.449, 4 up to 3.544, 8 to 3.5644.
    for (ix, &r) in o.x.iter().enumerate() {
        let b = o.behaviour[ix];
        let want = if r < 2.995 {
            Some(Behaviour::Period(1))
        } else if (3.005..3.445).contains(&r) {
            Some(Behaviour::Period(2))
        } else if (3.455..3.54).contains(&r) {
            Some(Behaviour::Period(4))
        } else {
            None
        };
        if let Some(w) = want {
            assert_eq!(b, w, "r = {r}");
        }
    }
    let at = |from: u32, to: u32| o.changes.iter().find(|c| c.from == Behaviour::Period(from) && c.to == Behaviour::Period(to)).unwrap_or_else(|| panic!("no {from} → {to} in {:?}", o.changes));
    let one_two = at(1, 2);
    assert!(one_two.refined && (one_two.at() - 3.0).abs() < 1e-3, "{one_two:?}");
    let two_four = at(2, 4);
    assert!(two_four.refined && (two_four.at() - (1.0 + 6f64.sqrt())).abs() < 1e-3, "{two_four:?}");
    // The kept values of a 2-cycle are the map's 2-cycle: x± = (r + 1 ± √((r − 3)(r + 1))) / 2r.
    let ix = o.x.iter().position(|&r| (r - 3.205).abs() < 1e-9).unwrap();
    let r = 3.205f64;
    let root = ((r - 3.0) * (r + 1.0)).sqrt();
    let (lo, hi) = ((r + 1.0 - root) / (2.0 * r), (r + 1.0 + root) / (2.0 * r));
    for &v in &o.values[ix * o.keep..(ix + 1) * o.keep] {
        let v = v as f64;
        assert!((v - lo).abs() < 1e-6 || (v - hi).abs() < 1e-6, "{v} is not {lo} or {hi}");
    }
}

#[test]
fn the_logistic_maps_period_3_window_opens_at_1_plus_sqrt8() {
    use basinmap::analysis::orbit::{Behaviour, OrbitOptions};
    for system in [LOGISTIC, LOGISTIC_MAP] {
        let o = orbit(&format!("x='r=3.80:3.86:61'\n{system}"), &OrbitOptions::default());
        let opens = o.changes.iter().find(|c| c.from == Behaviour::Aperiodic && c.to == Behaviour::Period(3)).unwrap_or_else(|| panic!("{:?}", o.changes));
        assert!(opens.refined && (opens.at() - (1.0 + 8f64.sqrt())).abs() < 1e-3, "{opens:?}");
    }
}

/// At r = 4 the logistic map is conjugate to the tent map: λ₁ = ln 2 exactly; here within 1 %
/// from a tangent carried over 2·10⁵ steps.
#[test]
fn the_logistic_map_at_4_has_lyapunov_exponent_ln2() {
    use basinmap::analysis::orbit::OrbitOptions;
    let lyapunov = OrbitOptions { lyapunov: true, keep: 4096, ..OrbitOptions::default() };
    let o = orbit(&format!("x='r=4:4:1'\n{}", LOGISTIC_MAP.replace("steps=20000", "steps=400000")), &lyapunov);
    let l = o.lyapunov.as_ref().expect("exponents")[0];
    assert!((l - 2f64.ln()).abs() < 0.01 * 2f64.ln(), "λ₁ = {l}");
}

#[test]
fn lyapunov_exponents_of_the_logistic_and_henon_maps() {
    use basinmap::analysis::orbit::{Behaviour, OrbitOptions};
    // The logistic map at r = 2.5: a stable fixed point x* = 0.6 with multiplier 2 − r, so
    // ln 0.5; at r = 3.2 a 2-cycle with multiplier r²(1 − 2x₊)(1 − 2x₋) = −r² + 2r + 4, so
    // ln|·|/2 per step.
    let lyapunov = OrbitOptions { lyapunov: true, ..OrbitOptions::default() };
    let o = orbit(&format!("x='r=2.5:3.2:8'\n{LOGISTIC}"), &lyapunov);
    let l = o.lyapunov.as_ref().expect("exponents");
    let at = |r: f64| o.x.iter().position(|&v| (v - r).abs() < 1e-9).unwrap();
    assert!((l[at(2.5)] - 0.5f64.ln()).abs() < 2e-4, "λ(2.5) = {}", l[at(2.5)]);
    let m = -3.2f64 * 3.2 + 2.0 * 3.2 + 4.0;
    assert!((l[at(3.2)] - m.abs().ln() / 2.0).abs() < 1e-3, "λ(3.2) = {} vs {}", l[at(3.2)], m.abs().ln() / 2.0);
    // The Hénon map (a = 1.4, b = 0.3), written as a map: chaotic, with
    // λ₁ = 0.41922 (Sprott, Chaos and Time-Series Analysis, 2003), here within 1 %.
    let henon = "x='a=1.4:1.4:1'\n[system]\nstate=['x=0.1', 'y=0.1']\nmap=['1 - a*x^2 + y', 'b*x']\n[params]\nb=0.3\n[dynamics]\nsteps=400000\nprecision='f64'";
    let o = orbit(henon, &lyapunov);
    assert_eq!(o.behaviour[0], Behaviour::Aperiodic);
    let l = o.lyapunov.as_ref().expect("exponents")[0];
    assert!((l - 0.41922).abs() < 0.01 * 0.41922, "λ₁ = {l}");
}

#[test]
fn orbit_draws_exponents_where_the_scenario_asks_as_the_flag_does() {
    use basinmap::analysis::orbit::{run, OrbitOptions};
    // `[classify] lyapunov = true` in the scenario (what `--lyapunov` sets) or the option: the
    // same diagram, with the same exponents, from the CLI and from Python.
    let toml = format!("x='r=2.5:3.2:8'\n{LOGISTIC}");
    let dir = tempfile::tempdir().unwrap();
    let asked = basinmap::scenario::Scenario::from_toml(&format!("{toml}[classify]\nlyapunov=true\n")).unwrap();
    let plain = basinmap::scenario::Scenario::from_toml(&toml).unwrap();
    let (_, by_scenario, files) = run(&asked, &OrbitOptions::default(), &dir.path().join("a")).unwrap();
    let (_, by_option, _) = run(&plain, &OrbitOptions { lyapunov: true, ..OrbitOptions::default() }, &dir.path().join("b")).unwrap();
    let (_, without, _) = run(&plain, &OrbitOptions::default(), &dir.path().join("c")).unwrap();
    assert!(by_scenario.lyapunov.is_some() && files.iter().any(|f| f == "lyapunov.npy"));
    assert_eq!(by_scenario.lyapunov, by_option.lyapunov);
    assert!(without.lyapunov.is_none());
}

#[test]
fn gd_on_landau_past_the_edge_of_stability_settles_on_a_2_cycle() {
    use basinmap::analysis::orbit::{Behaviour, OrbitOptions};
    // F = r m² + u m⁴ at r = −1, u = 1: minima ±1/√2 with F″ = 4, so gd is stable there for
    // lr < 2/F″ = 0.5; past it, a 2-cycle whose points solve f(f(m)) = m, f(m) = m − lr F′(m).
    let o = orbit("system='landau'\nx='lr=0.405:0.565:17'\ny='m=0.6:0.6:1'\n[params]\nr=-1\nu=1\n[dynamics]\nsteps=20000\nprecision='f64'", &OrbitOptions::default());
    let f = |lr: f64, m: f64| m - lr * (-2.0 * m + 4.0 * m.powi(3));
    for (ix, &lr) in o.x.iter().enumerate() {
        if lr < 0.495 {
            assert_eq!(o.behaviour[ix], Behaviour::Period(1), "lr = {lr}");
        } else if lr > 0.505 {
            assert_eq!(o.behaviour[ix], Behaviour::Period(2), "lr = {lr}");
            // orbit.npy keeps f32 values: f(f(m)) = m to f32's precision.
            let (a, b) = (o.values[ix * o.keep] as f64, o.values[ix * o.keep + 1] as f64);
            assert!((f(lr, f(lr, a)) - a).abs() < 1e-6 && (f(lr, a) - b).abs() < 1e-6 && (a - b).abs() > 1e-3, "lr = {lr}: {a}, {b}");
        }
    }
    let c = o.changes.iter().find(|c| c.is_doubling()).expect("a doubling");
    assert!((c.at() - 0.5).abs() < 1e-4, "{c:?}");
}

#[test]
fn orbit_refuses_what_it_cannot_draw() {
    use basinmap::analysis::orbit::{check, OrbitOptions};
    let cases = [
        ("x='x=0:1:4'\n[system]\nstate=['x']\nloss='x^2'", OrbitOptions::default(), "sets the start value"),
        ("system='landau'\nx='r=-1:1:4'\ny='u=1:2:3'", OrbitOptions::default(), "may only set the starts"),
        ("system='landau'\nx='r=-1:1:4'\n[dynamics]\nmethod='rk4'", OrbitOptions::default(), "flow"),
        ("system='landau'\nx='r=-1:1:4'", OrbitOptions { keep: 1, ..OrbitOptions::default() }, "--keep"),
        ("system='landau'\nx='r=-1:1:4'", OrbitOptions { keep: 64, max_period: 64, ..OrbitOptions::default() }, "--max-period"),
        ("system='landau'\nx='r=-1:1:4'", OrbitOptions { variable: Some("q".into()), ..OrbitOptions::default() }, "observables are"),
        ("system='landau'\nx='r=-1:1:4'\n[dynamics]\nmethod='adam'", OrbitOptions { lyapunov: true, ..OrbitOptions::default() }, "memory"),
        ("system='landau'\nx='r=-1:1:70000'", OrbitOptions { keep: 1024, ..OrbitOptions::default() }, "values; at most"),
    ];
    for (toml, options, want) in cases {
        let err = check(&plan(toml), &options).expect_err(toml).to_string();
        assert!(err.contains(want), "{toml}: {err}");
    }
}

/// gd on the double well x⁴/4 − x²/2 over lr: the minimum x = 1 (F″ = 2) is a stable fixed
/// point of the steps up to lr = 1, where a 2-cycle is born (a period doubling); the 2-cycle's
/// multiplier passes −1 at lr = √5 − 1 = 1.2360680 (solved independently in numpy from the
/// roots of f(f(x)) = x), where a 4-cycle is born. The sweep finds both changes of the kinds
/// reached and brackets each around its exact value; its cycles' points solve the 2-cycle
/// equations, and sweep_orbits.csv lists them.
#[test]
fn a_sweep_of_lr_finds_the_period_doublings_of_gd() {
    let toml = "x='lr=0.905:1.275:38'\ny='x=0.7:1.3:7'\n[system]\nstate=['x']\nloss='x^4/4 - x^2/2'\n[dynamics]\nsteps=5000\ntol=1e-7\nprecision='f64'\n";
    let a = sweep(&CpuEngine::new(), toml);
    let changes: Vec<(&str, f64, [f64; 2])> = a.kind_changes.iter().map(|c| (c.change.as_str(), c.critical, c.bracket)).collect();
    assert_eq!(changes.iter().map(|c| c.0).collect::<Vec<_>>(), ["fixed → 2-cycle", "2-cycle → 4-cycle"], "{:?}", a.kind_changes);
    // Near a doubling the steps settle ever more slowly; bisection stops at a midpoint where the
    // starts settle on neither side's kinds, with a bracket that holds the exact value.
    for ((_, critical, bracket), exact) in changes.iter().zip([1.0, 5f64.sqrt() - 1.0]) {
        assert!(bracket[0] <= exact && exact <= bracket[1], "{exact} outside {bracket:?}");
        assert!(bracket[1] - bracket[0] < 2e-3 && (critical - exact).abs() < 1e-3, "{exact}: bracket {bracket:?}");
    }
    let g = |x: f64| x * x * x - x;
    let mut two_cycles = 0;
    for p in &a.sweep.points {
        for o in p.orbits.iter().filter(|o| o.period == 2) {
            let (lr, x1, x2) = (p.value, o.orbit[0], o.orbit[1]);
            assert!((x2 - (x1 - lr * g(x1))).abs() < 1e-5 && (x1 - (x2 - lr * g(x2))).abs() < 1e-5, "lr = {lr}: {:?}", o.orbit);
            assert!(x1 < x2 && o.order == x1, "lr = {lr}: the cycle's point is its smaller x: {o:?}");
            let loss = |x: f64| x.powi(4) / 4.0 - x * x / 2.0;
            assert!((o.mean_loss - 0.5 * (loss(x1) + loss(x2))).abs() < 1e-6, "lr = {lr}: {o:?}");
            two_cycles += 1;
        }
        let shares: f64 = p.orbits.iter().map(|o| o.share).sum::<f64>() + p.fixed_points.iter().map(|f| f.share).sum::<f64>();
        assert!(shares <= 1.0 + 1e-12, "lr = {}: {shares}", p.value);
    }
    assert!(two_cycles >= 20, "{two_cycles}");
    let dir = tempfile::tempdir().unwrap();
    let scenario = basinmap::scenario::Scenario::from_toml(toml).unwrap();
    let options = SweepOptions { refine: 8, ..SweepOptions::default() };
    let report = basinmap::analysis::execute::sweep(&scenario, &options, dir.path(), &basinmap::run::Silent).unwrap();
    assert_eq!(report.kind_changes.len(), 2);
    let csv = std::fs::read_to_string(dir.path().join("sweep_orbits.csv")).unwrap();
    assert!(csv.starts_with("lr,kind,period,attractor,share,x,x_min,x_max,mean_loss\n"), "{csv:.200}");
    assert!(csv.lines().any(|l| l.contains(",cycle,4,")), "{csv}");
    let json = std::fs::read_to_string(dir.path().join("transitions.json")).unwrap();
    assert!(json.contains("\"kind_changes\"") && json.contains("fixed → 2-cycle"), "{json:.400}");
}
