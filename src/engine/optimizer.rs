//! The optimizers with memory (momentum, Nesterov, Adam, AdamW) as step rules: from a
//! trajectory's state x, the field v = −gradient at x (weight decay already added for the
//! coupled methods) and its memory, the displacement Δx of one step; the memory is updated.
//! Both CPU paths (one trajectory, SIMD packs) call [`delta`]; the WGSL twins are
//! shaders/step/momentum.wgsl and shaders/step/adam.wgsl (and their -coop forms), with the same
//! operations in the same order.
//!
//! The field is the negative gradient, so the memory holds the negatives of PyTorch's buffers
//! (b, m); negation is exact, so every value is PyTorch's up to its sign. In PyTorch's terms
//! (g the gradient, t the step counted from 1):
//!
//! ```text
//! momentum  b ← μ·b + g,                 x ← x − lr·b
//! nesterov  b ← μ·b + g,                 x ← x − lr·(g + μ·b)
//! adam      m ← (1−β1)·g + β1·m,  s ← (1−β2)·g² + β2·s,
//!           u = (m·r1) / (sqrt(s)·r2 + ε),   x ← x − lr·u,
//!           r1 = 1/(1 − β1^t), r2 = 1/sqrt(1 − β2^t) (PyTorch's step_size and denominator,
//!           with the corrections' reciprocals computed once a step)
//! adamw     the same with x ← x − lr·(u + weight_decay·x)
//! ```
//!
//! Adam's β^t are running products kept in the memory (1 at the start), so that each lane of a
//! pack, and each GPU invocation, counts its own steps.

use crate::dynamics::{Hyper, Memory, Method};
use crate::lanes::{sqrt, Lane};

/// Sets a trajectory's memory to its start: zero velocity or moments, β1^0 = β2^0 = 1.
#[inline(always)]
pub fn reset<T: Lane>(method: Method, mem: &mut [T]) {
    mem.fill(T::zero());
    if method.memory() == Memory::Moments {
        let n = mem.len() - 2;
        mem[n] = T::one();
        mem[n + 1] = T::one();
    }
}

/// The displacement `d` of one step of `method` from `x` with field `v`, updating `mem`
/// ([`Memory::len`] values). gd's is lr·v (the caller steps by the field itself). Adam's step
/// is scaled per block of components by `p[slot]` (`blocks`: (end, slot), see
/// [`crate::system::SystemSpec::step_blocks`]); the other methods' fields carry those factors.
#[inline(always)]
pub fn delta<T: Lane>(method: Method, h: &Hyper<T>, blocks: &[(usize, usize)], p: &[T], x: &[T], v: &[T], mem: &mut [T], d: &mut [T]) {
    let n = x.len();
    match method {
        Method::Gd | Method::Rk4 => {
            for i in 0..n {
                d[i] = h.step * v[i];
            }
        }
        Method::Momentum => {
            for i in 0..n {
                let b = h.momentum * mem[i] + v[i];
                mem[i] = b;
                d[i] = h.step * b;
            }
        }
        Method::Nesterov => {
            for i in 0..n {
                let b = h.momentum * mem[i] + v[i];
                mem[i] = b;
                d[i] = h.step * (v[i] + h.momentum * b);
            }
        }
        Method::Adam | Method::AdamW => {
            let (moments, powers) = mem.split_at_mut(2 * n);
            let (m, s) = moments.split_at_mut(n);
            let p1 = powers[0] * h.beta1;
            let p2 = powers[1] * h.beta2;
            powers[0] = p1;
            powers[1] = p2;
            let r1 = T::one() / (T::one() - p1);
            let r2 = T::one() / sqrt(T::one() - p2);
            let (a1, a2) = (T::one() - h.beta1, T::one() - h.beta2);
            let decoupled = method == Method::AdamW;
            let mut block = 0;
            for i in 0..n {
                // The step of component i: lr times its block's factor (a layer's lr_l).
                while block < blocks.len() && i >= blocks[block].0 {
                    block += 1;
                }
                let step = if block < blocks.len() { h.step * p[blocks[block].1] } else { h.step };
                let mi = a1 * v[i] + h.beta1 * m[i];
                let si = a2 * (v[i] * v[i]) + h.beta2 * s[i];
                m[i] = mi;
                s[i] = si;
                let u = (mi * r1) / (sqrt(si) * r2 + h.eps);
                d[i] = if decoupled { step * (u - h.weight_decay * x[i]) } else { step * u };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::Dynamics;

    /// One step from zero memory with v = −g: momentum and Nesterov move by lr·g·(1, 1 + μ),
    /// Adam by lr·sign(g)·|g|/(|g| + ε) (bias correction makes m̂ = g, ŝ = g² at t = 1).
    #[test]
    fn first_steps_are_the_textbook_ones() {
        let d = Dynamics { lr: 0.1, momentum: 0.5, ..Dynamics::default() };
        let h: Hyper<f64> = d.base_hyper();
        let (x, v) = ([1.0], [-2.0]);
        let mut out = [0.0];
        let mut mem = [0.0; 1];
        delta(Method::Momentum, &h, &[], &[], &x, &v, &mut mem, &mut out);
        assert_eq!(out[0], -0.2);
        delta(Method::Momentum, &h, &[], &[], &x, &v, &mut mem, &mut out);
        assert_eq!(out[0], 0.1 * (0.5 * -2.0 + -2.0));
        let mut mem = [0.0; 1];
        delta(Method::Nesterov, &h, &[], &[], &x, &v, &mut mem, &mut out);
        assert_eq!(out[0], 0.1 * (-2.0 + 0.5 * -2.0));
        let mut mem = [0.0; 4];
        reset(Method::Adam, &mut mem);
        delta(Method::Adam, &h, &[], &[], &x, &v, &mut mem, &mut out);
        assert!((out[0] - -0.1 * 2.0 / (2.0 + 1e-8)).abs() < 1e-16, "{}", out[0]);
        assert_eq!(mem[2..], [0.9, 0.999]);
    }
}
