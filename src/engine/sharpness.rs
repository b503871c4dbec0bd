//! The edge of stability's observables at a trajectory's end state (`--observe sharpness`):
//! `sharpness`, the largest eigenvalue of the Hessian of the loss the step descends, and under
//! Adam and AdamW also `sharpness_pre`, that of the Hessian preconditioned by Adam's step.
//!
//! Both come from the Lanczos iteration on Hessian-vector products, each the central difference of
//! two full-batch fields: H·y ≈ (g(x + s·y) − g(x − s·y)) / 2s, g = −field. The operator is
//! made symmetric with a positive diagonal C: A = C^½ H C^½, which has the eigenvalues of C·H,
//! the matrix the step's linearisation multiplies by lr:
//!
//! ```text
//! gd, momentum, Nesterov, rk4   C = the step factors (an mlp's lr_l; 1 elsewhere)    edge 2/lr, 2(1+μ)/lr, …
//! adam, adamw  `sharpness`      C = 1
//!              `sharpness_pre`  C = lr_l·r1 / (sqrt(s)·r2 + ε), Adam's step per unit m  edge 2(1+β1)/((1−β1)·lr)
//! ```
//!
//! (r1, r2, s: [`super::optimizer`]'s bias corrections and second moment, as the last step left
//! them; Cohen et al., "Adaptive gradient methods at the edge of stability", 2022). Coupled weight
//! decay is part of the loss (H + wd·I).
//!
//! The iteration: [`ITERATIONS`] Lanczos steps from a fixed pseudo-random start
//! ([`start_component`]), then the top eigenvalue of their tridiagonal matrix by bisection. It
//! finds the top of the spectrum, not the eigenvalue largest in magnitude (at a saddle or a
//! maximum those differ), and converges far faster than power iteration where the top
//! eigenvalues are close (a network's); in exact arithmetic it is exact once ITERATIONS reaches
//! the state's dimension. Trajectories that diverged or became non-finite get NaN.
//!
//! The WGSL twins are shaders/sharpness.wgsl and shaders/sharpness-coop.wgsl, with
//! shaders/lanczos.wgsl, which they share: the same iteration, start, difference step and
//! bisection. Sums are reduced in another order on the GPU, so the two engines agree to
//! rounding, not bit for bit.

use super::cpu::Stepper;
use super::Status;
use crate::dynamics::Memory;
use crate::real::Real;
use crate::system::Model;

/// Lanczos steps, each one Hessian-vector product (two fields).
pub const ITERATIONS: u32 = 32;

/// The central difference's displacement, relative to 1 + max|x_i| (f32 and f64): about the cube
/// root of the unit roundoff, which balances rounding against the third derivative.
pub fn difference_step<T: Real>() -> T {
    if std::mem::size_of::<T>() == 4 {
        T::of(1.0 / 128.0)
    } else {
        T::of(1.0 / 131_072.0)
    }
}

/// Component `j` of the iteration's start before normalisation: a hash of `j` in [−1, 1), exact
/// in f32 (the same in WGSL `sharp_start`). Pseudo-random, so that it is not orthogonal to the top
/// eigenvector of a symmetric network (as a constant vector can be).
pub fn start_component(j: u32) -> f32 {
    let mut h = j.wrapping_mul(0x9E37_79B9) ^ 0x85EB_CA6B;
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^= h >> 16;
    (h >> 8) as f32 * (1.0 / 8_388_608.0) - 1.0
}

/// The observables' names: `sharpness`, and `sharpness_pre` for the methods with moments.
pub fn names(memory: Memory) -> &'static [&'static str] {
    if memory == Memory::Moments {
        &["sharpness", "sharpness_pre"]
    } else {
        &["sharpness"]
    }
}

fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

/// A Lanczos step's β below this fraction of the operator's scale seen so far ends the
/// iteration: the Krylov space is (numerically) invariant, and its Ritz values are eigenvalues.
pub fn breakdown<T: Real>() -> T {
    if std::mem::size_of::<T>() == 4 {
        T::of(1.0 / 1_048_576.0)
    } else {
        T::of(1.0 / 1_099_511_627_776.0)
    }
}

/// Bisection steps for the top eigenvalue of the Lanczos matrix (past the precision's last bit
/// the interval stops shrinking).
pub const BISECTIONS: u32 = 64;

/// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `alpha` and
/// off-diagonal `beta` (`alpha.len() - 1` values): bisection on Sturm counts within the
/// Gershgorin interval. WGSL `sharp_tridiagonal_top`.
pub fn tridiagonal_top<T: Real>(alpha: &[T], beta: &[T]) -> T {
    let m = alpha.len();
    let off = |i: usize| if i < beta.len() { beta[i].abs() } else { T::zero() };
    let (mut lo, mut hi) = (alpha[0], alpha[0]);
    for i in 0..m {
        let radius = off(i) + if i > 0 { off(i - 1) } else { T::zero() };
        lo = lo.min(alpha[i] - radius);
        hi = hi.max(alpha[i] + radius);
    }
    for _ in 0..BISECTIONS {
        let mid = T::of(0.5) * (lo + hi);
        // The number of eigenvalues below `mid`: the negative pivots of T − mid·I.
        let mut below = 0;
        let mut q = alpha[0] - mid;
        for i in 0..m {
            if i > 0 {
                q = alpha[i] - mid - beta[i - 1] * beta[i - 1] / q;
            }
            if q == T::zero() {
                q = T::min_positive_value();
            }
            if q < T::zero() {
                below += 1;
            }
        }
        if below == m {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    T::of(0.5) * (lo + hi)
}

/// The largest eigenvalue of the symmetric operator `apply` (u ↦ A·u) on vectors of length `n`:
/// the top Ritz value of [`ITERATIONS`] Lanczos steps from the fixed start (no
/// reorthogonalisation: its loss of orthogonality makes copies of converged Ritz values, which
/// leaves the top one right).
pub fn largest_eigenvalue<T: Real>(n: usize, mut apply: impl FnMut(&[T], &mut [T])) -> T {
    let (mut v, mut w, mut previous) = (vec![T::zero(); n], vec![T::zero(); n], vec![T::zero(); n]);
    for (j, x) in v.iter_mut().enumerate() {
        *x = T::of(start_component(j as u32) as f64);
    }
    let size = dot(&v, &v).sqrt();
    for x in v.iter_mut() {
        *x = *x / size;
    }
    let (mut alpha, mut beta) = (Vec::with_capacity(ITERATIONS as usize), Vec::with_capacity(ITERATIONS as usize));
    let (mut beta_before, mut scale) = (T::zero(), T::zero());
    for j in 0..ITERATIONS {
        apply(&v, &mut w);
        let a = dot(&v, &w);
        if !a.is_finite() {
            return T::nan();
        }
        for i in 0..n {
            w[i] = w[i] - a * v[i] - beta_before * previous[i];
        }
        let b = dot(&w, &w).sqrt();
        alpha.push(a);
        scale = scale.max(a.abs() + b + beta_before);
        if j + 1 == ITERATIONS || !(b > breakdown::<T>() * scale) || !b.is_finite() {
            break;
        }
        beta.push(b);
        for i in 0..n {
            previous[i] = v[i];
            v[i] = w[i] / b;
        }
        beta_before = b;
    }
    tridiagonal_top(&alpha, &beta)
}

/// Work vectors of the Hessian-vector products at one end state.
struct Products<'a, M, T: Real> {
    stepper: &'a Stepper<T>,
    model: &'a M,
    p: &'a [T],
    x: &'a [T],
    /// C^½ per component (empty: 1).
    root: Vec<T>,
    y: Vec<T>,
    moved: Vec<T>,
    plus: Vec<T>,
    minus: Vec<T>,
    /// The difference step's length: `difference_step`·(1 + max|x_i|).
    reach: T,
}

impl<'a, M: Model, T: Real> Products<'a, M, T> {
    fn new(stepper: &'a Stepper<T>, model: &'a M, p: &'a [T], x: &'a [T]) -> Self {
        let n = x.len();
        let size = x.iter().fold(T::zero(), |m, v| m.max(v.abs()));
        Products { stepper, model, p, x, root: Vec::new(), y: vec![T::zero(); n], moved: vec![T::zero(); n], plus: vec![T::zero(); n], minus: vec![T::zero(); n], reach: difference_step::<T>() * (T::one() + size) }
    }

    /// −(field without step factors) at `moved`, into `out` (the gradient of the descended loss).
    fn gradient(&mut self, minus: bool) {
        let out = if minus { &mut self.minus } else { &mut self.plus };
        self.model.field(self.p, &self.moved, out);
        self.stepper.add_decay(&self.moved, out);
    }

    /// out = C^½ H C^½ u.
    fn apply(&mut self, u: &[T], out: &mut [T]) {
        for (i, yi) in self.y.iter_mut().enumerate() {
            *yi = if self.root.is_empty() { u[i] } else { self.root[i] * u[i] };
        }
        let s = self.reach / dot(&self.y, &self.y).sqrt();
        for ((m, &xi), &yi) in self.moved.iter_mut().zip(self.x).zip(&self.y) {
            *m = xi + s * yi;
        }
        self.gradient(false);
        for ((m, &xi), &yi) in self.moved.iter_mut().zip(self.x).zip(&self.y) {
            *m = xi - s * yi;
        }
        self.gradient(true);
        let two_s = s + s;
        for (i, o) in out.iter_mut().enumerate() {
            // The field is −gradient: H·y = (field(x − s·y) − field(x + s·y)) / 2s.
            let h = (self.minus[i] - self.plus[i]) / two_s;
            *o = if self.root.is_empty() { h } else { self.root[i] * h };
        }
    }

    fn largest(&mut self) -> T {
        let n = self.x.len();
        largest_eigenvalue(n, |u, out| self.apply(u, out))
    }
}

/// The sharpness observables ([`names`]) of an end state `x` that ended with `status`, into
/// `out`; `mem` is the optimizer's memory as the run left it ([`Memory::len`] values).
pub fn at_end<M: Model, T: Real>(stepper: &Stepper<T>, model: &M, p: &[T], x: &[T], mem: &[T], status: Status, out: &mut [T]) {
    if matches!(status, Status::Nonfinite | Status::DivergedPos | Status::DivergedNeg) || x.iter().any(|v| !v.is_finite()) {
        out.fill(T::nan());
        return;
    }
    let n = x.len();
    // The step factors per component (1 past the blocks).
    let mut factor = vec![T::one(); n];
    let mut begin = 0;
    for &(end, slot) in &stepper.step_blocks {
        factor[begin..end].fill(p[slot]);
        begin = end;
    }
    let mut products = Products::new(stepper, model, p, x);
    let moments = stepper.method.memory() == Memory::Moments;
    if !moments && !stepper.step_blocks.is_empty() {
        products.root = factor.iter().map(|f| f.sqrt()).collect();
    }
    out[0] = products.largest();
    if moments {
        let h = &stepper.hyper;
        let (s, powers) = (&mem[n..2 * n], &mem[2 * n..]);
        let r1 = T::one() / (T::one() - powers[0]);
        let r2 = T::one() / (T::one() - powers[1]).sqrt();
        products.root = (0..n).map(|i| (factor[i] * (r1 / (s[i].sqrt() * r2 + h.eps))).sqrt()).collect();
        out[1] = products.largest();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symmetric(a: &[f64], n: usize) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |u, out| {
            for i in 0..n {
                out[i] = (0..n).map(|j| a[i * n + j] * u[j]).sum();
            }
        }
    }

    #[test]
    fn the_start_is_in_range_and_varied() {
        let v: Vec<f32> = (0..64).map(start_component).collect();
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        assert!(v.iter().any(|&x| x > 0.5) && v.iter().any(|&x| x < -0.5));
    }

    #[test]
    fn lanczos_finds_the_top_of_the_spectrum() {
        // diag(3, 1, -0.5): the top is the dominant eigenvalue.
        let a = [3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -0.5];
        assert!((largest_eigenvalue(3, symmetric(&a, 3)) - 3.0).abs() < 1e-12);
        // A saddle whose negative curvature dominates: the top is still found (2, not -5).
        let b = [-5.0, 0.0, 0.0, 2.0];
        assert!((largest_eigenvalue(2, symmetric(&b, 2)) - 2.0).abs() < 1e-12);
        // A rotated pair [[2, 1], [1, 2]]: 3.
        let c = [2.0, 1.0, 1.0, 2.0];
        assert!((largest_eigenvalue(2, symmetric(&c, 2)) - 3.0).abs() < 1e-12);
        // All negative: the least negative.
        let d = [-4.0, 0.0, 0.0, -1.0];
        assert!((largest_eigenvalue(2, symmetric(&d, 2)) + 1.0).abs() < 1e-9);
        // Close eigenvalues, which power iteration resolves slowly (0.5 % apart: after 32
        // products it would still be off by percents): 2 − k/100, k = 0..40, in a rotated basis
        // (a Householder reflection).
        let n = 40;
        let h: Vec<f64> = (0..n).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
        let hh = h.iter().map(|v| v * v).sum::<f64>();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let q = |r: usize, c: usize| (if r == c { 1.0 } else { 0.0 }) - 2.0 * h[r] * h[c] / hh;
                a[i * n + j] = (0..n).map(|k| q(i, k) * (2.0 - k as f64 / 100.0) * q(k, j)).sum();
            }
        }
        let top = largest_eigenvalue(n, symmetric(&a, n));
        assert!((top - 2.0).abs() < 1e-6, "{top}");
    }

    #[test]
    fn the_tridiagonal_top_is_exact() {
        // [[2, 1, 0], [1, 2, 1], [0, 1, 2]]: 2 + √2.
        let top: f64 = tridiagonal_top(&[2.0, 2.0, 2.0], &[1.0, 1.0]);
        assert!((top - (2.0 + 2f64.sqrt())).abs() < 1e-12, "{top}");
        let one: f32 = tridiagonal_top(&[-3.0], &[]);
        assert_eq!(one, -3.0);
    }
}
