//! Property tests over random parameters.

use basinmap::dynamics::Dynamics;
use basinmap::engine::cpu::{Scratch, Stepper};
use basinmap::engine::Status;
use basinmap::system::stability::hessian_eigenvalues;
use basinmap::system::{Effective, Landau, Model};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Second-order Landau: any start m0 ≠ 0 flows to sign(m0)·sqrt(−r/2u).
    #[test]
    fn landau_flows_to_the_exact_minimum(r in -2.0f64..-0.1, u in 0.5f64..2.0, m0 in 0.05f64..2.0, neg in any::<bool>()) {
        let m0 = if neg { -m0 } else { m0 };
        let p = [r, 0.0, u, 0.0, 0.0];
        let d = Dynamics { lr: 0.01, steps: 200_000, tol: 1e-10, ..Dynamics::default() };
        let mut x = [m0];
        let (status, _) = Stepper::<f64>::new(&d).integrate(&Landau, &p, &mut x, &mut Scratch::new(1));
        prop_assert_eq!(status, Status::Converged);
        let exact = m0.signum() * (-r / (2.0 * u)).sqrt();
        prop_assert!((x[0] - exact).abs() < 1e-8, "{} vs {}", x[0], exact);
    }

    /// The Hessian used for stability equals F''(m) = 2r + 6cm + 12um² + 30wm⁴.
    #[test]
    fn landau_hessian_is_the_second_derivative(r in -2.0f64..2.0, c in -1.0f64..1.0, u in -2.0f64..2.0, w in 0.0f64..2.0, m in -1.5f64..1.5) {
        let p = [r, c, u, w, 0.3];
        let h = hessian_eigenvalues(&Landau, &p, &[m])[0];
        let exact = 2.0 * r + 6.0 * c * m + 12.0 * u * m * m + 30.0 * w * m.powi(4);
        prop_assert!((h - exact).abs() < 1e-6 * (1.0 + exact.abs()), "{h} vs {exact}");
    }

    /// The effective field is minus the derivative of its loss (checked by central differences).
    #[test]
    fn effective_field_is_minus_the_gradient(depth in 1u32..4, gamma in 0.01f64..1.0, b in -1.5f64..1.5, s2 in 0.0f64..1.0) {
        let p = [depth as f64, 2.0, s2, gamma, 1.0, 1.0, 0.5, 0.4, 0.3];
        let mut v = [0.0];
        Effective.field(&p, &[b], &mut v);
        let h = 1e-6;
        let fd = -(Effective.loss(&p, &[b + h]) - Effective.loss(&p, &[b - h])) / (2.0 * h);
        prop_assert!((v[0] - fd).abs() < 1e-5 * (1.0 + fd.abs()), "{} vs {}", v[0], fd);
    }
}

/// Formulas whose symbolic derivatives are checked against finite differences; each is smooth
/// on the sampled box (x, y in [-1.5, 1.5], a in [0.2, 2]).
const FORMULAS: &[&str] = &[
    "a*x^2*y - sin(x*y)",
    "exp(-x^2 - y^2) * cos(a*x) + x^3/(1 + y^2)",
    "log(1 + x^2) + sqrt(1 + y^2) * tanh(a*y)",
    "(x - a)^4 - a*x*y + 1/(2 + cosh(x - y))",
    "pow(1 + x^2, a) + atan(x*y)^2 - y^-2 * 0",
    "abs(x + 3)^3 + (2 + sin(y))^a + asin(x/2)*acos(y/2)",
    "sinh(x/2)*y^5 - tan(y/2) + x/(a + y^2)",
];

fn compiled(text: &str) -> basinmap::formula::Compiled {
    use basinmap::formula::{Compiled, Definition, Source};
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Compiled::new(&Definition::Loss(Source::new("test", text)), &names(&["x", "y"]), &names(&["a"])).unwrap_or_else(|e| panic!("{e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The derived field is −∇loss and the derived Jacobian its derivative (central differences
    /// in f64, step 1e-6).
    #[test]
    fn symbolic_derivatives_match_finite_differences(k in 0..FORMULAS.len(), x in -1.5f64..1.5, y in -1.5f64..1.5, a in 0.2f64..2.0) {
        let c = compiled(FORMULAS[k]);
        let p = [a];
        let h = 1e-6;
        let mut v = [0.0; 2];
        c.eval_field(&p, &[x, y], &mut v);
        let mut j = [0.0; 4];
        c.eval_jacobian(&p, &[x, y], &mut j);
        for i in 0..2 {
            let (mut xp, mut xm) = ([x, y], [x, y]);
            xp[i] += h;
            xm[i] -= h;
            let fd = -(c.eval_loss(&p, &xp) - c.eval_loss(&p, &xm)) / (2.0 * h);
            prop_assert!((v[i] - fd).abs() < 1e-5 * (1.0 + fd.abs()), "{}: d/dx{}: {} vs {}", FORMULAS[k], i, v[i], fd);
            let (mut vp, mut vm) = ([0.0; 2], [0.0; 2]);
            c.eval_field(&p, &xp, &mut vp);
            c.eval_field(&p, &xm, &mut vm);
            for r in 0..2 {
                let fd = (vp[r] - vm[r]) / (2.0 * h);
                prop_assert!((j[r * 2 + i] - fd).abs() < 1e-4 * (1.0 + fd.abs()), "{}: J[{}][{}]: {} vs {}", FORMULAS[k], r, i, j[r * 2 + i], fd);
            }
        }
    }

    /// `basinmap systems --show` tells the truth: the formulas of the built-in systems, compiled,
    /// give their hand-written fields.
    #[test]
    fn built_in_formulas_are_the_built_in_fields(r in -2.0f64..2.0, c in -1.0f64..1.0, u in -2.0f64..2.0, w in 0.0f64..2.0, h in -1.0f64..1.0, m in -1.5f64..1.5) {
        use basinmap::formula::{Compiled, Definition, Source};
        use basinmap::system::{Linear, System};
        for (sys, p) in [(System::Landau, vec![r, c, u, w, h]), (System::Linear, vec![r, c])] {
            let spec = sys.spec();
            let state: Vec<String> = spec.state.iter().map(|s| s.name.to_string()).collect();
            // The compiled system orders parameters by name; map the built-in order onto it.
            let mut names: Vec<String> = spec.params.iter().map(|p| p.name.to_string()).collect();
            names.sort();
            let f = Compiled::new(&Definition::Loss(Source::new("spec", spec.formula.unwrap())), &state, &names).unwrap();
            let sorted: Vec<f64> = names.iter().map(|n| p[spec.param_index(n).unwrap()]).collect();
            let (mut a, mut b) = ([0.0], [0.0]);
            f.eval_field(&sorted, &[m], &mut a);
            match sys {
                System::Landau => Landau.field(&p, &[m], &mut b),
                _ => Linear.field(&p, &[m], &mut b),
            }
            prop_assert!((a[0] - b[0]).abs() < 1e-12 * (1.0 + b[0].abs()), "{}: {} vs {}", spec.name, a[0], b[0]);
        }
    }
}
