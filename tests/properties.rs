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
