//! Langevin dynamics and escape times on both engines: the noise's variance, reproducibility,
//! the mean escape time against the exact first-passage integral, and the Kramers fit against
//! the true barrier.

mod common;

use basinmap::analysis::escape::{escape_times, fit, true_barrier};
use basinmap::engine::cpu::CpuEngine;
use basinmap::engine::{Engine, Status};
use basinmap::plan::Plan;
use common::{engines, gpu, plan};

#[test]
fn noise_alone_is_a_random_walk_of_variance_2_lr_t_per_step() {
    // k = 0: the field vanishes, so x_n - x_0 is a sum of n steps of variance 2·lr·T.
    let (lr, t, n) = (0.01, 0.5, 400u32);
    let p = plan(&format!("system='linear'\nx='x=0:0:1'\nsamples=4000\n[params]\nk=0.0\n[dynamics]\nlr={lr}\nsteps={n}\ntemperature={t}"));
    for (name, engine) in engines() {
        let o = engine.run(&p, &|_, _| {}).unwrap();
        assert!(o.status.iter().all(|&s| s == Status::Undecided as u32), "{name}: nothing converges under noise");
        let x = o.column(0);
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
        let want = 2.0 * lr * t * n as f64;
        // The sample variance of 4000 Gaussians has a relative standard error of sqrt(2/4000) = 2.2 %.
        assert!((var / want - 1.0).abs() < 0.08, "{name}: variance {var}, want {want}");
        assert!(mean.abs() < 4.0 * (want / x.len() as f64).sqrt(), "{name}: mean {mean}");
    }
}

#[test]
fn a_seed_gives_the_same_noise_whatever_the_tiling() {
    let toml = "system='landau'\nx='m=-1:-1:1'\ny='r=-2:-1:3'\nsamples=50\nseed=9\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=3000\ntemperature=0.3\nescape=1.0";
    let p = plan(toml);
    let a = CpuEngine::new().run(&p, &|_, _| {}).unwrap();
    assert_eq!(a, CpuEngine::new().run(&p, &|_, _| {}).unwrap());
    let other_seed = plan(&toml.replace("seed=9", "seed=10"));
    assert_ne!(a.steps, CpuEngine::new().run(&other_seed, &|_, _| {}).unwrap().steps);
    if let Some(g) = gpu() {
        let whole = g.run(&p, &|_, _| {}).unwrap();
        let tiled = gpu().unwrap().with_max_tile(7).with_chunk(250).run(&p, &|_, _| {}).unwrap();
        assert_eq!(whole, tiled, "tiles and chunks do not change a noisy run");
        // The GPU's log/cos/sin may differ from the CPU's in the last bit, and a chaotic
        // trajectory amplifies it: compare what the runs measure, not their bits.
        let esc = |o: &basinmap::engine::Outcomes| o.status.iter().filter(|&&s| s == Status::Escaped as u32).count();
        assert!((esc(&a) as f64 - esc(&whole) as f64).abs() < 0.1 * a.len() as f64, "{} vs {}", esc(&a), esc(&whole));
    }
}

/// The exact mean first-passage time of dx = -l'(x) dt + sqrt(2T) dW from x0 to b > x0 (a
/// reflecting wall far to the left): (1/T) ∫_{x0}^{b} e^{l(y)/T} ∫_{-∞}^{y} e^{-l(z)/T} dz dy.
fn mfpt(l: impl Fn(f64) -> f64, t: f64, x0: f64, b: f64) -> f64 {
    let (lo, n) = (-4.0, 400_000);
    let h = (b - lo) / n as f64;
    let (mut inner, mut total) = (0.0, 0.0);
    for k in 0..n {
        let y = lo + (k as f64 + 0.5) * h;
        inner += (-l(y) / t).exp() * h;
        if y >= x0 {
            total += (l(y) / t).exp() * inner * h;
        }
    }
    total / t
}

const DOUBLE_WELL: &str = "system='landau'\nx='m=-1:-1:1'\nsamples=SAMPLES\n[params]\nr=-2.0\nu=1.0\n[dynamics]\nlr=0.002\nsteps=5000000\nescape=1.0\n";

fn at_temperature(samples: usize, t: f64) -> Plan {
    plan(&format!("{}temperature={t}", DOUBLE_WELL.replace("SAMPLES", &samples.to_string())))
}

#[test]
fn mean_escape_time_matches_the_first_passage_integral() {
    // From the minimum m = -1 of F = -2 m^2 + m^4 to the barrier top m = 0 (escape radius 1).
    let t = 0.3;
    let exact = mfpt(|m| -2.0 * m * m + m.powi(4), t, -1.0, 0.0);
    for (name, engine) in engines() {
        let p = at_temperature(if name == "gpu" { 600 } else { 2000 }, t);
        let o = engine.run(&p, &|_, _| {}).unwrap();
        let (times, s) = escape_times(&p, &o);
        assert_eq!((s.escaped, s.censored), (p.n_trajectories() as u64, 0), "{name}");
        assert!(times.iter().all(|t| t.is_finite() && *t > 0.0));
        let mean = s.mean.unwrap();
        // Three standard errors, plus 3 % for checking the exit only once per step of 0.002.
        let allowed = 3.0 * s.mean_stderr.unwrap() + 0.03 * exact;
        assert!((mean - exact).abs() < allowed, "{name}: mean escape time {mean}, exact {exact} (allowed {allowed})");
    }
}

#[test]
fn kramers_fit_finds_the_barrier_within_ten_percent() {
    let runs: Vec<_> = [0.15, 0.2, 0.25, 0.3, 0.35]
        .iter()
        .map(|&t| {
            let p = at_temperature(500, t);
            escape_times(&p, &CpuEngine::new().run(&p, &|_, _| {}).unwrap()).1
        })
        .collect();
    let f = fit(&runs).unwrap();
    let truth = true_barrier(&at_temperature(1, 0.2)).unwrap().expect("a 1-D landscape gives its barrier");
    assert!((truth - 1.0).abs() < 1e-6, "F(0) - F(-1) = 1, got {truth}");
    assert!((f.barrier - truth).abs() < 0.1 * truth, "fitted {} ± {}, true {truth}", f.barrier, f.barrier_stderr);
}

#[test]
fn noise_needs_gradient_descent_and_sane_values() {
    let bad = |extra: &str| basinmap::scenario::Scenario::from_toml(&format!("system='landau'\nx='r=-1:1:4'\n[dynamics]\n{extra}")).and_then(|s| Plan::new(&s)).expect_err("refused").to_string();
    assert!(bad("method='rk4'\ntemperature=0.1").contains("--dynamics gd"));
    assert!(bad("temperature=-1").contains("--temperature"));
    assert!(bad("escape=-0.5").contains("--escape"));
}
