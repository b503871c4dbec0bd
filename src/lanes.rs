//! The arithmetic the models are written in, for one trajectory or many side by side.
//!
//! A model's field is written once, generic over `T: Lane`. A `Lane` is a plain float (f32, f64:
//! one trajectory) or a [`Pack`] of N of them in SIMD lanes (structure of arrays: N trajectories
//! computed by each instruction). A pack computes per lane exactly what the float computes, the
//! same operations in the same order, so the CPU engine's SIMD path gives the bits of its scalar
//! path. Math functions are free functions, as in WGSL: `sqrt(x)`, `tanh(z)`,
//! `select(cond, a, b)`; comparisons give masks, so branches become selects, as on the GPU.
//!
//! f32's `exp` and `tanh` are polynomial (Cephes' `expf` and `tanhf`, ≤ 2 ulp) rather than
//! libm's: written in plain arithmetic they vectorise, and a network's activations dominate
//! its cost. Their polynomials are in fused multiply-adds (one instruction each in the packs'
//! AVX2 and AVX-512 code; libm's `fmaf`, the same bits, where the processor lacks FMA). The
//! other transcendental functions call libm lane by lane.

use num_traits::{One, Zero};
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A float, or N floats in SIMD lanes, that a model computes with.
pub trait Lane:
    Copy
    + Send
    + Sync
    + Debug
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Zero
    + One
{
    /// One flag per lane (bool for a float).
    type Mask: Copy;
    /// How many trajectories a value holds (1 for a float).
    const WIDTH: usize;
    /// Lane `j`'s value.
    fn at(self, j: usize) -> f64;
    /// The mask whose lane `j` is `f(j)`, lanes in order.
    fn mask_of(f: impl FnMut(usize) -> bool) -> Self::Mask;
    /// The value whose lane `j` is `f(j)` (rounded to nearest for f32).
    fn of_lanes(f: impl FnMut(usize) -> f64) -> Self;
    /// `v` in every lane (rounded to nearest for f32).
    fn of(v: f64) -> Self;
    /// Lane 0's value: for parameters that are the same in every lane, such as an integer depth
    /// (integer parameters cannot be grid axes).
    fn uniform(self) -> f64;
    /// Whether every lane's flag is set.
    fn all(m: Self::Mask) -> bool;
    /// `m ? a : b` per lane.
    fn pick(m: Self::Mask, a: Self, b: Self) -> Self;
    fn lanes_ge(self, o: Self) -> Self::Mask;
    fn lanes_gt(self, o: Self) -> Self::Mask;
    fn lanes_eq(self, o: Self) -> Self::Mask;
    fn lanes_sqrt(self) -> Self;
    fn lanes_exp(self) -> Self;
    fn lanes_ln(self) -> Self;
    fn lanes_tanh(self) -> Self;
    fn lanes_abs(self) -> Self;
    fn lanes_max(self, o: Self) -> Self;
    fn lanes_min(self, o: Self) -> Self;
    fn lanes_powf(self, e: Self) -> Self;
    /// `self · b + c` rounded once.
    fn lanes_fma(self, b: Self, c: Self) -> Self;
    /// A function without a vector form here, lane by lane: `f32` or `f64` (libm's `sin`, …)
    /// on each lane's value.
    fn lanes_map(self, f32: fn(f32) -> f32, f64: fn(f64) -> f64) -> Self;
}

#[inline(always)]
pub fn sqrt<T: Lane>(x: T) -> T {
    x.lanes_sqrt()
}
#[inline(always)]
pub fn exp<T: Lane>(x: T) -> T {
    x.lanes_exp()
}
#[inline(always)]
pub fn ln<T: Lane>(x: T) -> T {
    x.lanes_ln()
}
#[inline(always)]
pub fn tanh<T: Lane>(x: T) -> T {
    x.lanes_tanh()
}
#[inline(always)]
pub fn abs<T: Lane>(x: T) -> T {
    x.lanes_abs()
}
/// The larger of `a` and `b` (the other if one is NaN, as Rust's and WGSL's `max`).
#[inline(always)]
pub fn max<T: Lane>(a: T, b: T) -> T {
    a.lanes_max(b)
}
#[inline(always)]
pub fn min<T: Lane>(a: T, b: T) -> T {
    a.lanes_min(b)
}
#[inline(always)]
pub fn powf<T: Lane>(x: T, e: T) -> T {
    x.lanes_powf(e)
}
/// `a · b + c` with one rounding (WGSL `fma`): one instruction where the processor has FMA,
/// and exactly the same bits in every lane and instruction set (libm's `fma` otherwise).
#[inline(always)]
pub fn fma<T: Lane>(a: T, b: T, c: T) -> T {
    a.lanes_fma(b, c)
}
/// `cond ? a : b` per lane (WGSL `select(b, a, cond)`).
#[inline(always)]
pub fn select<T: Lane>(cond: T::Mask, a: T, b: T) -> T {
    T::pick(cond, a, b)
}
/// `a ≥ b` per lane (false where either is NaN).
#[inline(always)]
pub fn ge<T: Lane>(a: T, b: T) -> T::Mask {
    a.lanes_ge(b)
}
/// `a > b` per lane (false where either is NaN).
#[inline(always)]
pub fn gt<T: Lane>(a: T, b: T) -> T::Mask {
    a.lanes_gt(b)
}
#[inline(always)]
pub fn eq<T: Lane>(a: T, b: T) -> T::Mask {
    a.lanes_eq(b)
}

macro_rules! scalar_lane {
    ($t:ty, $exp:expr, $tanh:expr, $map:expr) => {
        impl Lane for $t {
            type Mask = bool;
            const WIDTH: usize = 1;
            #[inline(always)]
            fn at(self, _j: usize) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn mask_of(mut f: impl FnMut(usize) -> bool) -> bool {
                f(0)
            }
            #[inline(always)]
            fn of_lanes(mut f: impl FnMut(usize) -> f64) -> Self {
                f(0) as $t
            }
            #[inline(always)]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn uniform(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn all(m: bool) -> bool {
                m
            }
            #[inline(always)]
            fn pick(m: bool, a: Self, b: Self) -> Self {
                if m {
                    a
                } else {
                    b
                }
            }
            #[inline(always)]
            fn lanes_ge(self, o: Self) -> bool {
                self >= o
            }
            #[inline(always)]
            fn lanes_gt(self, o: Self) -> bool {
                self > o
            }
            #[inline(always)]
            fn lanes_eq(self, o: Self) -> bool {
                self == o
            }
            #[inline(always)]
            fn lanes_sqrt(self) -> Self {
                self.sqrt()
            }
            #[inline(always)]
            fn lanes_exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn lanes_ln(self) -> Self {
                self.ln()
            }
            #[inline(always)]
            fn lanes_tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn lanes_abs(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn lanes_max(self, o: Self) -> Self {
                self.max(o)
            }
            #[inline(always)]
            fn lanes_min(self, o: Self) -> Self {
                self.min(o)
            }
            #[inline(always)]
            fn lanes_powf(self, e: Self) -> Self {
                self.powf(e)
            }
            #[inline(always)]
            fn lanes_fma(self, b: Self, c: Self) -> Self {
                self.mul_add(b, c)
            }
            fn lanes_map(self, f32: fn(f32) -> f32, f64: fn(f64) -> f64) -> Self {
                $map(self, f32, f64)
            }
        }
    };
}

scalar_lane!(f32, exp_f32, tanh_f32, |v, f: fn(f32) -> f32, _| f(v));
scalar_lane!(f64, f64::exp, f64::tanh, |v, _, f: fn(f64) -> f64| f(v));

/// e^x in f32 (Cephes `expf`: Cody–Waite reduction by ln 2, a degree-6 polynomial; ≤ 1 ulp in
/// the normal range). Results below f32's smallest normal number are 0; NaN stays NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const HI: f32 = 88.722_84; // ln(f32::MAX), rounded up: above, the result is inf
    const LO: f32 = -87.336_55; // ln(f32::MIN_POSITIVE): below, it would be subnormal
    // Comparisons are false for NaN, which so passes through.
    let xc = if x > HI { HI } else { x };
    let xc = if xc < LO { LO } else { xc };
    let (y, t) = exp_f32_parts(xc);
    // 2^n from its bits; n = 128 (x just below HI) is 2·2^127.
    let top = t - EXP_ROUND > 127.0;
    let t = if top { t - 1.0 } else { t };
    let y = if top { y * 2.0 } else { y };
    let e = y * exp_f32_scale(t);
    let e = if x > HI { f32::INFINITY } else { e };
    if x < LO {
        0.0
    } else {
        e
    }
}

/// Rounds to nearest even for |v| < 2^22 with plain additions, in every instruction set.
const EXP_ROUND: f32 = 12_582_912.0;

/// e^x = y·2^n for x = n·ln 2 + r: returns y = e^r (Cephes' polynomial) and t = n + EXP_ROUND,
/// whose low mantissa bits hold the integer n (no float-to-int conversion, which does not
/// vectorise).
#[inline(always)]
fn exp_f32_parts(x: f32) -> (f32, f32) {
    let t = x.mul_add(std::f32::consts::LOG2_E, EXP_ROUND);
    let n = t - EXP_ROUND;
    let r = n.mul_add(-0.693_359_4, x);
    let r = n.mul_add(2.121_944_4e-4, r);
    let z = r * r;
    let p = 1.987_569_1e-4f32
        .mul_add(r, 1.398_199_9e-3)
        .mul_add(r, 8.333_452e-3)
        .mul_add(r, 4.166_579_6e-2)
        .mul_add(r, 1.666_666_5e-1)
        .mul_add(r, 5.000_000_1e-1);
    (p.mul_add(z, r) + 1.0, t)
}

/// 2^n from t = n + EXP_ROUND, for −126 ≤ n ≤ 127.
#[inline(always)]
fn exp_f32_scale(t: f32) -> f32 {
    f32::from_bits(t.to_bits().wrapping_sub(EXP_ROUND.to_bits()).wrapping_add(127) << 23)
}

/// e^x for 0 ≤ x ≤ 87 (or NaN), without exp_f32's handling of the ends of the range: the same
/// bits as exp_f32 there.
#[inline(always)]
fn exp_f32_reduced(x: f32) -> f32 {
    let (y, t) = exp_f32_parts(x);
    y * exp_f32_scale(t)
}

/// tanh in f32 (Cephes `tanhf`: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1)
/// above; ≤ 2 ulp). NaN stays NaN.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    // Above |x| = 9.1, 2/(e^{2|x|} + 1) < 2^-25 and tanh rounds to ±1; so |x| is clamped at
    // 10, and e^{2|x|} ≤ e^20 needs none of exp_f32's range handling (a third of its work).
    const CLAMP: f32 = 10.0;
    let a = x.abs();
    let a = if a > CLAMP { CLAMP } else { a };
    let e = exp_f32_reduced(a + a);
    let far = 1.0 - 2.0 / (e + 1.0);
    let far = if x < 0.0 { -far } else { far };
    let z = x * x;
    let q = (-5.704_988_7e-3f32)
        .mul_add(z, 2.063_908_9e-2)
        .mul_add(z, -5.373_971_6e-2)
        .mul_add(z, 1.333_144_2e-1)
        .mul_add(z, -3.333_328_2e-1);
    let near = (q * z).mul_add(x, x);
    if a < 0.625 {
        near
    } else {
        far
    }
}

/// N trajectories' values of one quantity, one per SIMD lane (structure of arrays).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub struct Pack<T, const N: usize>(pub [T; N]);

impl<T: Copy, const N: usize> Pack<T, N> {
    /// `v` in every lane.
    #[inline(always)]
    pub fn splat(v: T) -> Self {
        Pack([v; N])
    }
}

macro_rules! pack_binary {
    ($tr:ident, $f:ident, $op:tt) => {
        impl<T: Lane<Mask = bool>, const N: usize> $tr for Pack<T, N> {
            type Output = Self;
            #[inline(always)]
            fn $f(mut self, o: Self) -> Self {
                for i in 0..N {
                    self.0[i] = self.0[i] $op o.0[i];
                }
                self
            }
        }
    };
}

pack_binary!(Add, add, +);
pack_binary!(Sub, sub, -);
pack_binary!(Mul, mul, *);
pack_binary!(Div, div, /);

impl<T: Lane<Mask = bool>, const N: usize> Neg for Pack<T, N> {
    type Output = Self;
    #[inline(always)]
    fn neg(mut self) -> Self {
        for v in &mut self.0 {
            *v = -*v;
        }
        self
    }
}

impl<T: Lane<Mask = bool>, const N: usize> Zero for Pack<T, N> {
    #[inline(always)]
    fn zero() -> Self {
        Pack([T::zero(); N])
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|v| v.is_zero())
    }
}

impl<T: Lane<Mask = bool>, const N: usize> One for Pack<T, N> {
    #[inline(always)]
    fn one() -> Self {
        Pack([T::one(); N])
    }
}

impl<T: Lane<Mask = bool>, const N: usize> Pack<T, N> {
    #[inline(always)]
    fn map(mut self, f: impl Fn(T) -> T) -> Self {
        for v in &mut self.0 {
            *v = f(*v);
        }
        self
    }
    #[inline(always)]
    fn zip(mut self, o: Self, f: impl Fn(T, T) -> T) -> Self {
        for i in 0..N {
            self.0[i] = f(self.0[i], o.0[i]);
        }
        self
    }
    #[inline(always)]
    fn mask(self, o: Self, f: impl Fn(T, T) -> bool) -> [bool; N] {
        let mut m = [false; N];
        for i in 0..N {
            m[i] = f(self.0[i], o.0[i]);
        }
        m
    }
}

impl<T: Lane<Mask = bool>, const N: usize> Lane for Pack<T, N> {
    type Mask = [bool; N];
    const WIDTH: usize = N;
    #[inline(always)]
    fn at(self, j: usize) -> f64 {
        self.0[j].at(0)
    }
    #[inline(always)]
    fn mask_of(mut f: impl FnMut(usize) -> bool) -> [bool; N] {
        let mut m = [false; N];
        for (j, v) in m.iter_mut().enumerate() {
            *v = f(j);
        }
        m
    }
    #[inline(always)]
    fn of_lanes(mut f: impl FnMut(usize) -> f64) -> Self {
        let mut p = [T::zero(); N];
        for (j, v) in p.iter_mut().enumerate() {
            *v = T::of(f(j));
        }
        Pack(p)
    }
    #[inline(always)]
    fn of(v: f64) -> Self {
        Pack([T::of(v); N])
    }
    #[inline(always)]
    fn uniform(self) -> f64 {
        self.0[0].uniform()
    }
    #[inline(always)]
    fn all(m: [bool; N]) -> bool {
        // Without early exit: the compiler reduces the whole mask in SIMD registers.
        m.iter().fold(true, |a, &b| a & b)
    }
    #[inline(always)]
    fn pick(m: [bool; N], mut a: Self, b: Self) -> Self {
        for i in 0..N {
            a.0[i] = if m[i] { a.0[i] } else { b.0[i] };
        }
        a
    }
    #[inline(always)]
    fn lanes_ge(self, o: Self) -> [bool; N] {
        self.mask(o, |a, b| a.lanes_ge(b))
    }
    #[inline(always)]
    fn lanes_gt(self, o: Self) -> [bool; N] {
        self.mask(o, |a, b| a.lanes_gt(b))
    }
    #[inline(always)]
    fn lanes_eq(self, o: Self) -> [bool; N] {
        self.mask(o, |a, b| a.lanes_eq(b))
    }
    #[inline(always)]
    fn lanes_sqrt(self) -> Self {
        self.map(T::lanes_sqrt)
    }
    #[inline(always)]
    fn lanes_exp(self) -> Self {
        self.map(T::lanes_exp)
    }
    #[inline(always)]
    fn lanes_ln(self) -> Self {
        self.map(T::lanes_ln)
    }
    #[inline(always)]
    fn lanes_tanh(self) -> Self {
        self.map(T::lanes_tanh)
    }
    #[inline(always)]
    fn lanes_abs(self) -> Self {
        self.map(T::lanes_abs)
    }
    #[inline(always)]
    fn lanes_max(self, o: Self) -> Self {
        self.zip(o, T::lanes_max)
    }
    #[inline(always)]
    fn lanes_min(self, o: Self) -> Self {
        self.zip(o, T::lanes_min)
    }
    #[inline(always)]
    fn lanes_powf(self, e: Self) -> Self {
        self.zip(e, T::lanes_powf)
    }
    #[inline(always)]
    fn lanes_fma(mut self, b: Self, c: Self) -> Self {
        for i in 0..N {
            self.0[i] = self.0[i].lanes_fma(b.0[i], c.0[i]);
        }
        self
    }
    fn lanes_map(self, f32: fn(f32) -> f32, f64: fn(f64) -> f64) -> Self {
        self.map(|v| v.lanes_map(f32, f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error in units of f32's epsilon against the f64 value.
    fn ulps(got: f32, want: f64) -> f64 {
        if want == 0.0 {
            return (got as f64).abs() / f32::MIN_POSITIVE as f64;
        }
        ((got as f64 - want) / want).abs() / f32::EPSILON as f64
    }

    #[test]
    fn exp_and_tanh_are_within_two_ulp_over_their_range() {
        let mut worst = (0.0f64, 0.0f64);
        for k in 0..=400_000 {
            let x = -87.0 + 175.0 * k as f64 / 400_000.0;
            worst.0 = worst.0.max(ulps(exp_f32(x as f32), (x as f32 as f64).exp()));
            let t = -10.0 + 20.0 * k as f64 / 400_000.0;
            let tf = t as f32;
            if tf != 0.0 {
                worst.1 = worst.1.max(ulps(tanh_f32(tf), (tf as f64).tanh()));
            }
        }
        assert!(worst.0 <= 2.0, "exp: {} ulp", worst.0);
        assert!(worst.1 <= 2.0, "tanh: {} ulp", worst.1);
    }

    #[test]
    fn exp_and_tanh_edges() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(88.7).is_finite() && ulps(exp_f32(88.7), (88.7f32 as f64).exp()) <= 2.0);
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(-50.0), -1.0);
        // At and above the clamp (|x| = 10) tanh rounds to ±1, as it does from 9.1 on.
        for k in 0..=1000 {
            let x = 9.1 + 80.0 * k as f32 / 1000.0;
            assert_eq!((tanh_f32(x), tanh_f32(-x)), (1.0, -1.0), "x = {x}");
        }
        assert!(tanh_f32(9.0) < 1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(1e-20), 1e-20);
    }

    #[test]
    fn a_pack_computes_what_each_lane_computes() {
        let xs: [f32; 8] = [-3.0, -0.5, 0.0, 0.1, 0.7, 2.0, f32::NAN, 40.0];
        let p = Pack(xs);
        let f = |x: Pack<f32, 8>| select(gt(x, Pack::splat(0.5)), tanh(x) * x, exp(-x) + sqrt(abs(x)));
        let out = f(p);
        for (i, &x) in xs.iter().enumerate() {
            let want = select(gt(x, 0.5), tanh(x) * x, exp(-x) + sqrt(abs(x)));
            assert_eq!(out.0[i].to_bits(), want.to_bits(), "lane {i}");
        }
        assert!(Pack::<f32, 8>::all(ge(Pack([1.0; 8]), Pack([1.0; 8]))));
        assert!(!Pack::<f32, 8>::all(ge(p, Pack([-1.0; 8]))));
    }
}
