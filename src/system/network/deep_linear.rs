//! `deep-linear`: a deep linear network on the population loss in closed form (models.md §4):
//!
//! ```text
//! S0 = A0 = diag(a),  S_l = (W_l S_{l−1} W_lᵀ) ∘ (J + σ² I),   v0 = E[xy],  v_l = W_l v_{l−1}
//! ℓ  = U S_D Uᵀ − 2 U v_D + E[y²] + γ ‖w‖^p
//! ```
//!
//! The gradient is a hand-written reverse pass: with Ḡ the adjoint of S_l (Ḡ_D = UᵀU) and ḡ that
//! of v_l (ḡ_D = −2Uᵀ), each layer gives ∂ℓ/∂W_l = 2 (Ḡ∘M) W_l S_{l−1} + ḡ v_{l−1}ᵀ and passes
//! W_lᵀ (Ḡ∘M) W_l and W_lᵀ ḡ down. shaders/systems/deep-linear.wgsl does the same operations in
//! the same order.

use super::{end_to_end_norm, integer_param, network_spec, network_wgsl, order_parameter, regulariser, regulariser_slope, Layout, MAX_DEPTH, MAX_WEIGHTS};
use crate::lanes::Lane;
use crate::scenario::{NetworkOptions, ParamValue};
use crate::system::{Model, ParamSpec, SystemSpec};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Parameter slots (scalars, then the vectors `a` and `exy` of length d).
const D0: usize = 1;
const SIGMA2: usize = 2;
const GAMMA: usize = 3;
const EY2: usize = 4;
const REG_POWER: usize = 5;
/// Scalar parameters before the per-layer init factors (the plan puts scalars before vectors).
const N_SCALARS: usize = 7;

const PARAMS: [ParamSpec; 9] = [
    ParamSpec::integer("D", 2.0, "hidden layers (0: ridge regression)"),
    ParamSpec::integer("d0", 4.0, "width of the hidden layers"),
    ParamSpec::real("sigma2", 0.5, "variance of the multiplicative noise on hidden units"),
    ParamSpec::real("gamma", 0.1, "weight decay"),
    ParamSpec::real("ey2", 1.0, "E[y^2]"),
    ParamSpec::real("reg_power", 2.0, "p in R(w) = |w|^p (2: sum of squared norms; the paper's fix: D + 2)"),
    ParamSpec::real("init_scale", 0.3, "standard deviation of the initial weights"),
    ParamSpec::vector("a", &[1.0, 0.5], "eigenvalues of E[xx^T] (their count is the input dimension d)"),
    ParamSpec::vector("exy", &[0.4, 0.3], "E[xy] in the eigenbasis of E[xx^T]"),
];

/// The model of `deep-linear`.
#[derive(Clone, Debug)]
pub struct DeepLinear {
    pub layout: Layout,
}

/// Builds `deep-linear` for the given parameters (D, d0 and the length of `a` size the state).
pub fn build(params: &BTreeMap<String, ParamValue>, options: &NetworkOptions) -> Result<(DeepLinear, SystemSpec)> {
    super::check_unused_options("deep-linear", options, &["xx"])?;
    let depth = integer_param(params, "deep-linear", "D", 2, 0..=MAX_DEPTH)?;
    let width = integer_param(params, "deep-linear", "d0", 4, 1..=MAX_WEIGHTS)?;
    let dim = match params.get("a") {
        Some(ParamValue::Vector(v)) => v.len(),
        Some(ParamValue::Scalar(_)) => 1,
        None => 2,
    };
    let layout = Layout { depth, width, dim };
    check_size("deep-linear", &layout)?;
    let wgsl = network_wgsl(&layout, "", include_str!("../../../shaders/systems/deep-linear.wgsl"));
    let summary = format!("a deep linear network (D = {depth}, d0 = {width}, d = {dim}) on its population loss with hidden-unit noise");
    let mut spec = network_spec("deep-linear", summary, &layout, PARAMS.to_vec(), &[], wgsl, ("gamma=0.01:1:256", "init_scale=0.001:1:128:log"));
    spec.cooperative = true;
    Ok((DeepLinear { layout }, spec))
}

/// Refuses networks whose state would not fit one trajectory.
pub(super) fn check_size(system: &str, layout: &Layout) -> Result<()> {
    let (depth, w, d) = (layout.depth as u64, layout.width as u64, layout.dim as u64);
    // Layout::n_weights, without overflow for absurd sizes.
    let n = if depth == 0 { d } else { w * d + (depth - 1) * w * w + w };
    if n > MAX_WEIGHTS as u64 {
        return Err(Error::input(format!(
            "{system}: D = {}, d0 = {}, d = {} has {n} weights; one trajectory holds at most {MAX_WEIGHTS}",
            layout.depth, layout.width, layout.dim
        )));
    }
    Ok(())
}

impl DeepLinear {
    /// Where `a` starts in the flat parameters: after the scalars and init1..init{D+1}.
    fn a_offset(&self) -> usize {
        N_SCALARS + self.layout.depth + 1
    }

    /// The scale factors of the layers (all 1: no parameterisation scaling).
    fn scales<T: Lane>(&self) -> Vec<T> {
        vec![T::one(); self.layout.depth + 1]
    }

    /// The data term U S_D Uᵀ − 2 U v_D + E[y²]; with `grad`, its gradient in the weights.
    #[inline(always)]
    pub fn fit<T: Lane>(&self, p: &[T], w: &[T], grad: Option<&mut [T]>) -> T {
        let Layout { depth, width: h, dim: d } = self.layout;
        let o = self.a_offset();
        let (a, e) = (&p[o..o + d], &p[o + d..o + 2 * d]);
        let md = T::one() + p[SIGMA2];
        // S_1..S_D (h×h each); v_0 (d) then v_1..v_D (h each).
        let mut s = vec![T::zero(); depth * h * h];
        let mut v = vec![T::zero(); d + depth * h];
        let mut t = vec![T::zero(); h * h.max(d)];
        v[..d].copy_from_slice(e);
        for l in 1..=depth {
            let n = self.layout.fan_in(l);
            let o = self.layout.offset(l);
            // t = W_l S_{l−1}
            for i in 0..h {
                for k in 0..n {
                    t[i * n + k] = if l == 1 {
                        w[o + i * n + k] * a[k]
                    } else {
                        let sp = (l - 2) * h * h;
                        let mut acc = T::zero();
                        for m in 0..n {
                            acc = acc + w[o + i * n + m] * s[sp + m * n + k];
                        }
                        acc
                    };
                }
            }
            // S_l = t W_lᵀ ∘ (J + σ² I)
            let so = (l - 1) * h * h;
            for i in 0..h {
                for j in 0..h {
                    let mut acc = T::zero();
                    for k in 0..n {
                        acc = acc + t[i * n + k] * w[o + j * n + k];
                    }
                    s[so + i * h + j] = if i == j { acc * md } else { acc };
                }
            }
            // v_l = W_l v_{l−1}
            let vp = self.layout.input_offset(l);
            let vo = d + (l - 1) * h;
            for i in 0..h {
                let mut acc = T::zero();
                for k in 0..n {
                    acc = acc + w[o + i * n + k] * v[vp + k];
                }
                v[vo + i] = acc;
            }
        }
        let nu = self.layout.fan_in(depth + 1);
        let uo = self.layout.output().start;
        let u = &w[uo..uo + nu];
        let sd = |i: usize, j: usize| -> T {
            if depth == 0 {
                if i == j {
                    a[i]
                } else {
                    T::zero()
                }
            } else {
                s[(depth - 1) * h * h + i * h + j]
            }
        };
        let vd = if depth == 0 { 0 } else { d + (depth - 1) * h };
        let mut quad = T::zero();
        let mut lin = T::zero();
        // su_i = (S_D Uᵀ)_i, needed for ∂ℓ/∂U too.
        let mut su = vec![T::zero(); nu];
        for i in 0..nu {
            let mut acc = T::zero();
            for j in 0..nu {
                acc = acc + sd(i, j) * u[j];
            }
            su[i] = acc;
            quad = quad + u[i] * acc;
            lin = lin + u[i] * v[vd + i];
        }
        let fit = quad - T::of(2.0) * lin + p[EY2];
        let Some(g) = grad else {
            return fit;
        };
        for i in 0..nu {
            g[uo + i] = T::of(2.0) * su[i] - T::of(2.0) * v[vd + i];
        }
        if depth == 0 {
            return fit;
        }
        // Adjoints: gs of S_l (h×h), gv of v_l.
        let mut gs = vec![T::zero(); h * h];
        let mut gs_next = vec![T::zero(); h * h];
        let mut gv = vec![T::zero(); h];
        let mut gv_next = vec![T::zero(); h];
        for i in 0..h {
            for j in 0..h {
                gs[i * h + j] = u[i] * u[j];
            }
            gv[i] = T::of(-2.0) * u[i];
        }
        for l in (1..=depth).rev() {
            let n = self.layout.fan_in(l);
            let o = self.layout.offset(l);
            for i in 0..h {
                gs[i * h + i] = gs[i * h + i] * md;
            }
            // t = (Ḡ∘M) W_l  (h×n)
            for i in 0..h {
                for k in 0..n {
                    let mut acc = T::zero();
                    for m in 0..h {
                        acc = acc + gs[i * h + m] * w[o + m * n + k];
                    }
                    t[i * n + k] = acc;
                }
            }
            // ∂ℓ/∂W_l = 2 t S_{l−1} + ḡ v_{l−1}ᵀ
            let vp = self.layout.input_offset(l);
            for i in 0..h {
                for k in 0..n {
                    let ts = if l == 1 {
                        t[i * n + k] * a[k]
                    } else {
                        let sp = (l - 2) * h * h;
                        let mut acc = T::zero();
                        for m in 0..n {
                            acc = acc + t[i * n + m] * s[sp + m * n + k];
                        }
                        acc
                    };
                    g[o + i * n + k] = T::of(2.0) * ts + gv[i] * v[vp + k];
                }
            }
            if l > 1 {
                // Ḡ ← W_lᵀ (Ḡ∘M) W_l = W_lᵀ t,  ḡ ← W_lᵀ ḡ
                for m in 0..n {
                    for k in 0..n {
                        let mut acc = T::zero();
                        for i in 0..h {
                            acc = acc + w[o + i * n + m] * t[i * n + k];
                        }
                        gs_next[m * n + k] = acc;
                    }
                    let mut acc = T::zero();
                    for i in 0..h {
                        acc = acc + w[o + i * n + m] * gv[i];
                    }
                    gv_next[m] = acc;
                }
                std::mem::swap(&mut gs, &mut gs_next);
                std::mem::swap(&mut gv, &mut gv_next);
            }
        }
        fit
    }
}

impl Model for DeepLinear {
    #[inline(always)]
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        self.fit(p, x, Some(v));
        let c = p[GAMMA] * regulariser_slope(x, p[REG_POWER]);
        for (vi, &xi) in v.iter_mut().zip(x) {
            *vi = -(*vi + c * xi);
        }
    }

    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        self.fit(p, x, None) + p[GAMMA] * regulariser(x, p[REG_POWER])
    }

    /// For a whole pack at once.
    #[inline(always)]
    fn observables_lanes<T: Lane>(&self, p: &[T], x: &[T], out: &mut [T]) -> bool {
        let fit = self.fit(p, x, None);
        let reg = regulariser(x, p[REG_POWER]);
        out[0] = fit + p[GAMMA] * reg;
        out[1] = fit;
        out[2] = reg;
        out[3] = order_parameter(&self.layout, x, p[D0]);
        out[4] = end_to_end_norm(&self.layout, x, &self.scales::<T>());
        true
    }

    fn validate(&self, p: &[f64]) -> Result<()> {
        if p[SIGMA2] < 0.0 {
            return Err(Error::input(format!("deep-linear: sigma2 must be >= 0, got {}", p[SIGMA2])));
        }
        if p[REG_POWER] < 1.0 {
            return Err(Error::input(format!("deep-linear: reg_power must be >= 1, got {}", p[REG_POWER])));
        }
        let a = &p[self.a_offset()..self.a_offset() + self.layout.dim];
        if let Some(bad) = a.iter().find(|&&ai| ai < 0.0) {
            return Err(Error::input(format!("deep-linear: the eigenvalues a of E[xx^T] must be >= 0, got {bad}")));
        }
        Ok(())
    }
}

/// Ridge regression's minimiser for D = 0: w = (A0 + γ I)⁻¹ E[xy] with A0 = diag(a).
pub fn ridge_solution(a: &[f64], exy: &[f64], gamma: f64) -> Vec<f64> {
    a.iter().zip(exy).map(|(ai, e)| e / (ai + gamma)).collect()
}

/// Parameters for a full E[xxᵀ] read from `path`: `a` becomes its eigenvalues (descending) and
/// `exy`, given in the input basis, becomes Vᵀ·exy in the eigenbasis V. The loss depends on the
/// data only through these, so this is exact.
pub fn diagonalise(params: &BTreeMap<String, ParamValue>, path: &std::path::Path) -> Result<BTreeMap<String, ParamValue>> {
    let file = path.display();
    if params.contains_key("a") {
        return Err(Error::input(format!("deep-linear: give E[xx^T] as the eigenvalues a or as the matrix xx = \"{file}\", not both")));
    }
    let Some(ParamValue::Vector(exy)) = params.get("exy") else {
        return Err(Error::input(format!("deep-linear: with xx = \"{file}\", give exy = E[xy] in the same basis (a vector)")));
    };
    let (shape, values) = super::data::read_matrix(path)?;
    let d = exy.len();
    if shape != [d, d] {
        return Err(Error::input(format!("{file}: E[xx^T] must be {d} x {d} (exy has {d} entries), got shape {shape:?}")));
    }
    let m = nalgebra::DMatrix::from_row_slice(d, d, &values);
    let scale = values.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(f64::MIN_POSITIVE);
    if values.iter().any(|v| !v.is_finite()) || (&m - m.transpose()).amax() > 1e-9 * scale {
        return Err(Error::input(format!("{file}: E[xx^T] must be a finite symmetric matrix")));
    }
    let eig = nalgebra::SymmetricEigen::new(m);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
    if eig.eigenvalues[order[d - 1]] < -1e-12 * scale {
        return Err(Error::input(format!("{file}: E[xx^T] must be positive semi-definite (an eigenvalue is {})", eig.eigenvalues[order[d - 1]])));
    }
    let a: Vec<f64> = order.iter().map(|&k| eig.eigenvalues[k].max(0.0)).collect();
    let e: Vec<f64> = order.iter().map(|&k| (0..d).map(|i| eig.eigenvectors[(i, k)] * exy[i]).sum()).collect();
    let mut out = params.clone();
    out.insert("a".into(), ParamValue::Vector(a));
    out.insert("exy".into(), ParamValue::Vector(e));
    Ok(out)
}
