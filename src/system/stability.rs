//! Stability of a fixed point, in f64: for a gradient flow from the Hessian of the loss
//! (−Jacobian of the field, symmetrised), for any other field from the real parts of the
//! Jacobian's eigenvalues. The Jacobian is exact where the system knows it (formula systems
//! differentiate symbolically) and central differences of the field otherwise.

use super::Model;
use nalgebra::DMatrix;
use serde::Serialize;

/// What kind of critical point a fixed point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stability {
    /// Every Hessian eigenvalue positive: a stable fixed point.
    Minimum,
    /// Eigenvalues of both signs.
    Saddle,
    /// Every eigenvalue negative: unstable in every direction.
    Maximum,
    /// Some eigenvalue is zero to working precision: the quadratic test cannot decide.
    Flat,
    /// A field that is not a gradient: every eigenvalue of the Jacobian has real part < 0.
    Stable,
    /// A field that is not a gradient: every real part > 0.
    Unstable,
    /// No host-side model to analyse (a system written in WGSL).
    Unknown,
}

impl Stability {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stability::Minimum => "minimum",
            Stability::Saddle => "saddle",
            Stability::Maximum => "maximum",
            Stability::Flat => "flat",
            Stability::Stable => "stable",
            Stability::Unstable => "unstable",
            Stability::Unknown => "unknown",
        }
    }
}

/// The Jacobian of the field at `x`: the model's own, or by central differences.
pub fn jacobian<M: Model>(model: &M, p: &[f64], x: &[f64]) -> DMatrix<f64> {
    let n = x.len();
    if let Some(j) = model.jacobian(p, x) {
        return DMatrix::from_row_slice(n, n, &j);
    }
    let mut jac = DMatrix::<f64>::zeros(n, n);
    let mut xp = x.to_vec();
    let mut vp = vec![0.0; n];
    let mut vm = vec![0.0; n];
    for j in 0..n {
        let h = 1e-5 * (1.0 + x[j].abs());
        xp[j] = x[j] + h;
        model.field(p, &xp, &mut vp);
        xp[j] = x[j] - h;
        model.field(p, &xp, &mut vm);
        xp[j] = x[j];
        for i in 0..n {
            jac[(i, j)] = (vp[i] - vm[i]) / (2.0 * h);
        }
    }
    jac
}

/// [`jacobian`] of a field of one state variable, as a number.
fn jacobian_1<M: Model>(model: &M, p: &[f64], x: f64) -> f64 {
    if let Some(j) = model.jacobian(p, &[x]) {
        return j[0];
    }
    let h = 1e-5 * (1.0 + x.abs());
    let (mut vp, mut vm) = ([0.0], [0.0]);
    model.field(p, &[x + h], &mut vp);
    model.field(p, &[x - h], &mut vm);
    (vp[0] - vm[0]) / (2.0 * h)
}

/// The symmetrised Hessian −(J + Jᵀ)/2 at `x`, J the Jacobian of the field.
pub fn hessian<M: Model>(model: &M, p: &[f64], x: &[f64]) -> DMatrix<f64> {
    let jac = jacobian(model, p, x);
    -(&jac + jac.transpose()) * 0.5
}

/// `x` pushed off a fixed point by `size`·(1 + |x|) along the unit eigenvector of [`hessian`]
/// with the most negative eigenvalue (its most unstable direction), on the side of `toward`
/// when given, plus a tenth as much along `noise` (normalised): a push along one eigenvector
/// alone can stay in an invariant subspace (one hidden unit of a network) and stop at the
/// saddle inside it. Sweep's continuation and the stalled starts of a map push alike.
pub fn push_off<M: Model>(model: &M, p: &[f64], x: &[f64], size: f64, toward: Option<&[f64]>, noise: &[f64]) -> Vec<f64> {
    let eig = hessian(model, p, x).symmetric_eigen();
    let k = (0..x.len()).min_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b])).unwrap_or(0);
    let dir = eig.eigenvectors.column(k);
    let along: f64 = toward.map_or(1.0, |t| t.iter().zip(x).zip(dir.iter()).map(|((t, xi), d)| (t - xi) * d).sum());
    let sign = if along < 0.0 { -1.0 } else { 1.0 };
    let noise_norm = crate::dynamics::norm(noise).max(1e-300);
    let size = size * (1.0 + x.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    x.iter().zip(dir.iter()).zip(noise).map(|((xi, di), ni)| xi + size * (sign * di + 0.1 * ni / noise_norm)).collect()
}

/// The fixed point of the field under `p` that Newton's method reaches from `x` (at most 12
/// steps); `None` where the Jacobian is singular, a step leaves the finite numbers or jumps
/// farther than 10·(1 + |x|), or the steps do not shrink to 1e-10·(1 + |x|). From an end state
/// the stop rule left within tol of a fixed point, it gives that point to machine precision.
pub fn newton_fixed_point<M: Model>(model: &M, p: &[f64], x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len();
    let mut x = nalgebra::DVector::from_column_slice(x);
    let mut v = vec![0.0; n];
    for _ in 0..12 {
        let size = 1.0 + x.amax();
        model.field(p, x.as_slice(), &mut v);
        let step = jacobian(model, p, x.as_slice()).lu().solve(&nalgebra::DVector::from_column_slice(&v))?;
        if !step.iter().all(|s| s.is_finite()) || step.amax() > 10.0 * size {
            return None;
        }
        x -= &step;
        if step.amax() <= 1e-10 * size {
            return Some(x.iter().copied().collect());
        }
    }
    None
}

/// The fixed point `x` of the field under parameters `from`, continued to parameters `to` as
/// numerical continuation does: a tangent predictor (x − J⁻¹ ∂f/∂p·Δp, the first-order change
/// of the fixed point) and Newton's method as the corrector. A branch that moves fast (as
/// √(p − p_c) beyond a pitchfork) is followed, and a branch is not mistaken for the one that
/// appears beside it at a bifurcation (the origin of a pitchfork continues to the origin).
pub fn continue_fixed_point<M: Model>(model: &M, from: &[f64], to: &[f64], x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len();
    let predicted = (from != to)
        .then(|| {
            // ∂f/∂p·Δp by central differences along Δp.
            let h = 1e-4;
            let along = |t: f64| -> Vec<f64> { from.iter().zip(to).map(|(a, b)| a + t * (b - a)).collect() };
            let (mut up, mut down) = (vec![0.0; n], vec![0.0; n]);
            model.field(&along(h), x, &mut up);
            model.field(&along(-h), x, &mut down);
            let d = nalgebra::DVector::from_iterator(n, up.iter().zip(&down).map(|(u, w)| (u - w) / (2.0 * h)));
            let dx = jacobian(model, from, x).lu().solve(&d)?;
            let size = 1.0 + x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            (dx.iter().all(|v| v.is_finite()) && dx.amax() <= 10.0 * size).then(|| x.iter().zip(dx.iter()).map(|(xi, di)| xi - di).collect::<Vec<f64>>())
        })
        .flatten();
    predicted.and_then(|start| newton_fixed_point(model, to, &start)).or_else(|| newton_fixed_point(model, to, x))
}

/// Eigenvalues of [`hessian`] at `x`.
pub fn hessian_eigenvalues<M: Model>(model: &M, p: &[f64], x: &[f64]) -> Vec<f64> {
    hessian(model, p, x).symmetric_eigenvalues().iter().copied().collect()
}

/// Classifies a fixed point by the signs of the Hessian's eigenvalues. An eigenvalue within
/// `1e-6 · max(1, max |λ|)` of zero counts as zero. A negative eigenvalue decides (a saddle, or a
/// maximum when all are negative) even beside zero ones: the point is unstable either way. Zero
/// eigenvalues beside positive ones make it flat (a network's minima are manifolds, flat along
/// their symmetries; a critical point is flat in its soft direction).
pub fn classify_eigenvalues(eigenvalues: &[f64]) -> Stability {
    let scale = eigenvalues.iter().fold(1.0f64, |m, l| m.max(l.abs()));
    let eps = 1e-6 * scale;
    if eigenvalues.iter().any(|l| !l.is_finite()) {
        return Stability::Flat;
    }
    let neg = eigenvalues.iter().filter(|&&l| l < -eps).count();
    let pos = eigenvalues.iter().filter(|&&l| l > eps).count();
    match (neg, pos) {
        (0, p) if p == eigenvalues.len() => Stability::Minimum,
        (0, _) => Stability::Flat,
        (n, _) if n == eigenvalues.len() => Stability::Maximum,
        _ => Stability::Saddle,
    }
}

/// Classifies a fixed point of a general field by the real parts of its Jacobian's eigenvalues,
/// with the same tolerance as [`classify_eigenvalues`].
pub fn classify_real_parts(real_parts: &[f64]) -> Stability {
    match classify_eigenvalues(&real_parts.iter().map(|r| -r).collect::<Vec<_>>()) {
        Stability::Minimum => Stability::Stable,
        Stability::Maximum => Stability::Unstable,
        other => other,
    }
}

/// The stability of the fixed point at `x`.
pub fn stability<M: Model>(model: &M, p: &[f64], x: &[f64]) -> Stability {
    // One state variable (every pixel of a Landau map is tested): the 1×1 matrices' eigenvalues
    // are their entries, the bits the general path below gives, without its allocations.
    if let [x0] = x {
        let j = jacobian_1(model, p, *x0);
        return if model.is_gradient() {
            classify_eigenvalues(&[-(j + j) * 0.5])
        } else if j.is_finite() {
            classify_real_parts(&[j])
        } else {
            Stability::Flat
        };
    }
    if model.is_gradient() {
        return classify_eigenvalues(&hessian_eigenvalues(model, p, x));
    }
    let jac = jacobian(model, p, x);
    if jac.iter().any(|v| !v.is_finite()) {
        return Stability::Flat;
    }
    // With an iteration cap: nalgebra's default QR iteration has no limit, and some matrices
    // make it cycle.
    match nalgebra::linalg::Schur::try_new(jac, f64::EPSILON, 10_000) {
        Some(schur) => classify_real_parts(&schur.complex_eigenvalues().iter().map(|c| c.re).collect::<Vec<_>>()),
        None => Stability::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::Landau;

    #[test]
    fn one_state_variable_takes_the_general_paths_answer() {
        // The 1×1 shortcut against the matrix path, over r, m and the sixth-order terms
        // (flat points at r = 0 and m = 0 among them).
        for r in [-1.0, -0.3, 0.0, 1e-9, 0.2, 1.0] {
            for u in [-1.0, 1.0] {
                for k in -40..=40 {
                    let m = k as f64 * 0.05;
                    let p = [r, 0.0, u, 1.0, 0.0];
                    let general = classify_eigenvalues(&hessian_eigenvalues(&Landau, &p, &[m]));
                    assert_eq!(stability(&Landau, &p, &[m]), general, "r={r}, u={u}, m={m}");
                }
            }
        }
    }

    #[test]
    fn landau_second_order_minima_and_maximum() {
        // r = -1, u = 1: minima at ±sqrt(1/2), maximum at 0.
        let p = [-1.0, 0.0, 1.0, 0.0, 0.0];
        let m = (0.5f64).sqrt();
        assert_eq!(stability(&Landau, &p, &[m]), Stability::Minimum);
        assert_eq!(stability(&Landau, &p, &[-m]), Stability::Minimum);
        assert_eq!(stability(&Landau, &p, &[0.0]), Stability::Maximum);
        // r = 0: F = m^4 is flat at 0 to second order.
        let p0 = [0.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(stability(&Landau, &p0, &[0.0]), Stability::Flat);
    }

    #[test]
    fn eigenvalue_signs() {
        assert_eq!(classify_eigenvalues(&[1.0, 2.0]), Stability::Minimum);
        assert_eq!(classify_eigenvalues(&[-1.0, 2.0]), Stability::Saddle);
        assert_eq!(classify_eigenvalues(&[-1.0, -2.0]), Stability::Maximum);
        assert_eq!(classify_eigenvalues(&[0.0, 2.0]), Stability::Flat);
        assert_eq!(classify_eigenvalues(&[-1.0, 0.0, 2.0]), Stability::Saddle, "a descent direction decides");
    }
}
