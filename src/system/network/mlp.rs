//! `mlp`: a fully connected network with an activation after each hidden layer, trained on a
//! finite data set (models.md §5):
//!
//! ```text
//! z_l = c_l W_l h_{l−1},  h_l = act(z_l),  h_0 = x,   f(x) = c_{D+1} U h_D
//! ℓ   = mean_i (f(x_i) − y_i)² + γ ‖w‖^p
//! ```
//!
//! Standard parameterisation has every c_l = 1; mean-field has c_l = 1/sqrt(fan-in) for the
//! hidden layers and c_{D+1} = 1/fan-in for the output (Sohl-Dickstein 2024). Under gd layer l
//! moves by lr·lr_l·(−∂ℓ/∂W_l): `lr1`, `lr2`, … are per-layer factors on the step (the system's
//! step blocks, applied by the engine to every optimizer's step) and can be grid axes.
//! The gradient is backpropagation over the whole data set (full batch), written out in
//! shaders/systems/mlp.wgsl with the same operations in the same order.

use super::data::DataSet;
use super::deep_linear::check_size;
use super::{end_to_end_norm, f32_literal, integer_param, network_spec, network_wgsl, order_parameter, regulariser, regulariser_slope, Layout, MAX_DEPTH, MAX_WEIGHTS};
use crate::lanes::{self, Lane};
use crate::minibatch::{batch_size, Draw, Selector, OFF};
use crate::scenario::{Activation, NetworkOptions, Parameterisation, ParamValue};
use crate::system::{Model, ObservableSpec, ParamSpec, SystemSpec, RECORDED};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Parameter slots: these scalars, then lr1..lr{D+1}.
const D0: usize = 1;
const GAMMA: usize = 2;
const REG_POWER: usize = 3;
const LR1: usize = 5;

const FIXED_PARAMS: [ParamSpec; 5] = [
    ParamSpec::integer("D", 1.0, "hidden layers"),
    ParamSpec::integer("d0", 8.0, "width of the hidden layers"),
    ParamSpec::real("gamma", 0.0, "weight decay"),
    ParamSpec::real("reg_power", 2.0, "p in R(w) = |w|^p"),
    ParamSpec::real("init_scale", 1.0, "standard deviation of the initial weights"),
];

/// The model of `mlp`.
#[derive(Clone, Debug)]
pub struct Mlp {
    pub layout: Layout,
    /// The slot of the `batch` parameter (after lr1..lr{D+1}).
    pub batch_slot: usize,
    pub activation: Activation,
    /// c_1..c_{D+1}; an f32 run (and the GPU, whose literals they become) rounds them.
    pub scales: Vec<f64>,
    pub data: DataSet,
}

/// Builds `mlp` for the given parameters and data options.
pub fn build(params: &BTreeMap<String, ParamValue>, options: &NetworkOptions) -> Result<(Mlp, SystemSpec)> {
    super::check_unused_options("mlp", options, &["activation", "gain", "parameterisation", "n", "dim", "teacher", "noise", "data_seed", "x", "y"])?;
    let gain = options.gain.unwrap_or(1.0);
    if !(gain.is_finite() && gain > 0.0) {
        return Err(Error::input(format!("mlp: [network] gain must be a positive number, got {gain}")));
    }
    let depth = integer_param(params, "mlp", "D", 1, 0..=MAX_DEPTH)?;
    let width = integer_param(params, "mlp", "d0", 8, 1..=MAX_WEIGHTS)?;
    let dim_hint = options.dim.unwrap_or(width);
    let n_weights_for = |dim: usize| Layout { depth, width, dim }.n_weights();
    if options.x.is_none() {
        // The network's size bounds the default data set (n = the weight count): check it first.
        check_size("mlp", &Layout { depth, width, dim: options.teacher.as_ref().map_or(dim_hint, |t| t.len()) })?;
    }
    let data = DataSet::resolve(options, dim_hint, n_weights_for)?;
    let layout = Layout { depth, width, dim: data.dim };
    check_size("mlp", &layout)?;
    // A hidden layer's pre-activation is scaled by its parameterisation's factor and the gain
    // (tanh(gain·z); for relu, gain·relu(z)); the output layer's by its factor alone.
    let scales: Vec<f64> = (1..=depth + 1)
        .map(|l| {
            let fan_in = layout.fan_in(l) as f64;
            let c = match (options.parameterisation, l == depth + 1) {
                (Parameterisation::Standard, _) => 1.0,
                (Parameterisation::MeanField, false) => 1.0 / fan_in.sqrt(),
                (Parameterisation::MeanField, true) => 1.0 / fan_in,
            };
            if l == depth + 1 { c } else { c * gain }
        })
        .collect();
    let mut params_spec = FIXED_PARAMS.to_vec();
    for l in 1..=depth + 1 {
        let name = format!("lr{l}");
        let doc = if l == depth + 1 { "step factor of the output layer U".to_string() } else { format!("step factor of layer W{l}") };
        params_spec.push(ParamSpec { name: name.into(), default: super::super::ParamDefault::Scalar(1.0), doc: doc.into(), integer: false });
    }
    // Real rather than integer so that it can be an axis; the engines round it (`batch_size`).
    let batch_slot = params_spec.len();
    params_spec.push(ParamSpec {
        name: "batch".into(),
        default: super::super::ParamDefault::Scalar(data.n as f64),
        doc: format!("samples per step, drawn anew at each step (default {}: the whole data set)", data.n).into(),
        integer: false,
    });
    let mut consts = String::new();
    let _ = writeln!(consts, "const NET_N: u32 = {}u;", data.n);
    let batch = gpu_batch(&layout, data.n);
    let _ = writeln!(consts, "const MLP_BATCH: u32 = {batch}u;");
    let _ = writeln!(consts, "const MLP_H_LEN: u32 = {}u;", batch * (layout.dim + depth * width));
    let _ = writeln!(consts, "const MLP_Z_LEN: u32 = {}u;", batch * (depth * width).max(1));
    let list: Vec<String> = scales.iter().map(|&c| f32_literal(c)).collect();
    let _ = writeln!(consts, "fn net_scale(l: u32) -> f32 {{\n    let c = array<f32, {}>({});\n    return c[l - 1u];\n}}", scales.len(), list.join(", "));
    let _ = writeln!(consts, "{}", activation_wgsl(options.activation));
    let wgsl = network_wgsl(&layout, &consts, include_str!("../../../shaders/systems/mlp.wgsl"));
    let summary = format!(
        "a {}{} network (D = {depth}, d0 = {width}, d = {}) trained on {} samples, {} parameterisation",
        options.activation.as_str(),
        if gain == 1.0 { String::new() } else { format!(" (gain {gain})") },
        data.dim,
        data.n,
        options.parameterisation.as_str()
    );
    let mut extra = vec![ObservableSpec::new("out_rms", "root mean square of the network's outputs over the data")];
    extra.extend_from_slice(&RECORDED);
    let mut spec = network_spec("mlp", summary, &layout, params_spec, &extra, wgsl, ("lr1=10:1000000:256:log", "lr2=3:300:256:log"));
    spec.step_blocks = (1..=depth + 1)
        .map(|l| crate::system::InitBlock { end: if l == depth + 1 { layout.n_weights() } else { layout.offset(l + 1) }, factor: format!("lr{l}").into() })
        .collect();
    // The function on the data tells fixed points apart: loss and output size.
    spec.features = Some(vec![0, 5].into());
    // Training runs are judged by their loss curves (the trainability map).
    spec.loss_record = true;
    spec.cooperative = true;
    Ok((Mlp { layout, batch_slot, activation: options.activation, scales, data }, spec))
}

/// Samples the GPU kernel passes through the network at once: the most (a power of two, at most
/// one per invocation) whose activations fit, with the state and its field, in the 16 KiB of
/// workgroup memory every adapter offers; 1 when even the state does not (the GPU engine then
/// needs an adapter that offers more, and says so).
fn gpu_batch(layout: &Layout, n: usize) -> usize {
    const BUDGET: usize = 16384 - 1024; // less the kernel's reduction arrays
    let per_sample = 4 * (layout.dim + 2 * layout.depth * layout.width + 3);
    // The state X and its field V, and room for an optimizer's memory and step (Adam's two
    // moments and D: shaders/step/adam-coop.wgsl), whichever optimizer runs.
    let fixed = 5 * 4 * layout.n_weights();
    let mut batch = 64usize.min(n.next_power_of_two());
    while batch > 1 && fixed + batch * per_sample > BUDGET {
        batch /= 2;
    }
    batch
}

/// `net_act(z)` and `net_act_deriv(z, h)` (h = act(z)) in WGSL.
fn activation_wgsl(a: Activation) -> String {
    let (f, df) = match a {
        Activation::Identity => ("z", "1.0"),
        Activation::Tanh => ("tanh(z)", "1.0 - h * h"),
        Activation::Relu => ("max(z, 0.0)", "select(0.0, 1.0, z > 0.0)"),
        Activation::Sigmoid => ("1.0 / (1.0 + exp(-z))", "h * (1.0 - h)"),
    };
    format!("fn net_act(z: f32) -> f32 {{ return {f}; }}\nfn net_act_deriv(z: f32, h: f32) -> f32 {{ return {df}; }}\n")
}

impl Activation {
    /// act(z), as in `activation_wgsl`.
    #[inline(always)]
    fn apply<T: Lane>(self, z: T) -> T {
        match self {
            Activation::Identity => z,
            Activation::Tanh => lanes::tanh(z),
            Activation::Relu => lanes::max(z, T::zero()),
            Activation::Sigmoid => T::one() / (T::one() + lanes::exp(-z)),
        }
    }
    /// act'(z) given h = act(z).
    #[inline(always)]
    fn deriv<T: Lane>(self, z: T, h: T) -> T {
        match self {
            Activation::Identity => T::one(),
            Activation::Tanh => T::one() - h * h,
            Activation::Relu => lanes::select(lanes::gt(z, T::zero()), T::one(), T::zero()),
            Activation::Sigmoid => h * (T::one() - h),
        }
    }
}

impl Mlp {
    fn scales_t<T: Lane>(&self) -> Vec<T> {
        self.scales.iter().map(|&c| T::of(c)).collect()
    }

    /// The mean squared error over the data and, with `grad`, its gradient in the weights;
    /// also the root mean square of the outputs.
    #[inline(always)]
    pub fn fit<T: Lane>(&self, w: &[T], grad: Option<&mut [T]>) -> (T, T) {
        self.fit_pass::<T, false>(w, grad, None, T::one() / T::of(self.data.n as f64))
    }

    /// [`Mlp::fit`] over each lane's minibatch of step `draw` (the full data where every lane's
    /// batch is the whole set: the same bits).
    #[inline(always)]
    pub fn fit_drawn<T: Lane>(&self, p: &[T], w: &[T], grad: Option<&mut [T]>, draw: &Draw) -> (T, T) {
        let n = self.data.n;
        let Some(sizes) = self.partial_batches(p) else {
            return self.fit(w, grad);
        };
        let inv_b = T::one() / T::of_lanes(|j| sizes[j] as f64);
        let mut selector = Selector::new(draw, n, sizes);
        self.fit_pass::<T, true>(w, grad, Some(&mut selector), inv_b)
    }

    /// Each lane's batch size, unless every lane takes the whole data set.
    fn partial_batches<T: Lane>(&self, p: &[T]) -> Option<Vec<u32>> {
        let n = self.data.n;
        let sizes: Vec<u32> = (0..T::WIDTH).map(|j| batch_size(p[self.batch_slot].at(j), n)).collect();
        sizes.iter().any(|&b| (b as usize) < n).then_some(sizes)
    }

    /// One pass over the samples: all of them, or (`SAMPLED`) those `selector` takes for each
    /// lane, the others leaving that lane's sums as they are. `inv_n`: 1 / the samples taken.
    #[inline(always)]
    fn fit_pass<T: Lane, const SAMPLED: bool>(&self, w: &[T], mut grad: Option<&mut [T]>, mut selector: Option<&mut Selector>, inv_n: T) -> (T, T) {
        let Layout { depth, width: h, dim: d } = self.layout;
        let c = self.scales_t::<T>();
        let n = self.data.n;
        let nu = self.layout.fan_in(depth + 1);
        let uo = self.layout.output().start;
        if let Some(g) = grad.as_deref_mut() {
            g.iter_mut().for_each(|v| *v = T::zero());
        }
        // a + b in the lanes that take the sample, a in the others; and a + b·c likewise. The
        // sums over the weights and the samples are fused multiply-adds: one instruction (and
        // one rounding) each in the packs' AVX2 and AVX-512 code, where they are most of the
        // work of a step.
        let add = |a: T, b: T, taken: T::Mask| if SAMPLED { T::pick(taken, a + b, a) } else { a + b };
        let add_product = |a: T, b: T, c: T, taken: T::Mask| if SAMPLED { T::pick(taken, lanes::fma(b, c, a), a) } else { lanes::fma(b, c, a) };
        // Activations: h_0 = x (d), then z_l and h_l (h each) for l = 1..D.
        let mut hs = vec![T::zero(); d + depth * h];
        let mut zs = vec![T::zero(); depth * h];
        let mut dh = vec![T::zero(); h.max(d)];
        let mut dh_prev = vec![T::zero(); h.max(d)];
        let (mut sse, mut sso) = (T::zero(), T::zero());
        for s in 0..n {
            let taken = match selector.as_deref_mut() {
                Some(sel) if SAMPLED => {
                    let mut any = false;
                    let m = T::mask_of(|j| {
                        let t = sel.take(s as u32, j);
                        any |= t;
                        t
                    });
                    if !any {
                        continue;
                    }
                    m
                }
                _ => T::mask_of(|_| true),
            };
            for k in 0..d {
                hs[k] = T::of(self.data.x[s * d + k]);
            }
            for l in 1..=depth {
                let fan = self.layout.fan_in(l);
                let o = self.layout.offset(l);
                let hp = self.layout.input_offset(l);
                for i in 0..h {
                    let mut acc = T::zero();
                    for k in 0..fan {
                        acc = lanes::fma(w[o + i * fan + k], hs[hp + k], acc);
                    }
                    let z = c[l - 1] * acc;
                    zs[(l - 1) * h + i] = z;
                    hs[d + (l - 1) * h + i] = self.activation.apply(z);
                }
            }
            let hd = if depth == 0 { 0 } else { d + (depth - 1) * h };
            let mut acc = T::zero();
            for k in 0..nu {
                acc = lanes::fma(w[uo + k], hs[hd + k], acc);
            }
            let f = c[depth] * acc;
            let r = f - T::of(self.data.y[s]);
            sse = add(sse, r * r, taken);
            sso = add(sso, f * f, taken);
            let Some(g) = grad.as_deref_mut() else {
                continue;
            };
            let delta = T::of(2.0) * r * inv_n * c[depth];
            for k in 0..nu {
                g[uo + k] = add_product(g[uo + k], delta, hs[hd + k], taken);
                dh[k] = delta * w[uo + k];
            }
            for l in (1..=depth).rev() {
                let fan = self.layout.fan_in(l);
                let o = self.layout.offset(l);
                let hp = self.layout.input_offset(l);
                // dz_i = c_l · ∂/∂z_i; reuse dh for it.
                for i in 0..h {
                    let z = zs[(l - 1) * h + i];
                    let hv = hs[d + (l - 1) * h + i];
                    dh[i] = dh[i] * self.activation.deriv(z, hv) * c[l - 1];
                }
                if l == 1 {
                    // The first layer's inputs are the data: no gradient flows further back.
                    for k in 0..fan {
                        for i in 0..h {
                            g[o + i * fan + k] = add_product(g[o + i * fan + k], dh[i], hs[hp + k], taken);
                        }
                    }
                    break;
                }
                for k in 0..fan {
                    let mut acc = T::zero();
                    for i in 0..h {
                        g[o + i * fan + k] = add_product(g[o + i * fan + k], dh[i], hs[hp + k], taken);
                        acc = lanes::fma(w[o + i * fan + k], dh[i], acc);
                    }
                    dh_prev[k] = acc;
                }
                std::mem::swap(&mut dh, &mut dh_prev);
            }
        }
        (sse * inv_n, lanes::sqrt(sso * inv_n))
    }
}

impl Mlp {
    /// The field −∇ℓ into `v` (the engine scales it by the layers' step factors), of the
    /// minibatch of `draw` where it is on; returns the data term at `x`.
    #[inline(always)]
    fn field_and_fit<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T], draw: &Draw) -> T {
        let (fit, _) = if draw.on { self.fit_drawn(p, x, Some(v), draw) } else { self.fit(x, Some(v)) };
        let c = p[GAMMA] * regulariser_slope(x, p[REG_POWER]);
        for j in 0..x.len() {
            v[j] = -(v[j] + c * x[j]);
        }
        fit
    }
}

impl Model for Mlp {
    #[inline(always)]
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        self.field_and_fit(p, x, v, &OFF);
    }

    #[inline(always)]
    fn field_and_loss<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) -> T {
        self.field_and_fit(p, x, v, &OFF) + p[GAMMA] * regulariser(x, p[REG_POWER])
    }

    fn draws(&self) -> bool {
        true
    }

    fn draws_at(&self, p: &[f64]) -> bool {
        (batch_size(p[self.batch_slot], self.data.n) as usize) < self.data.n
    }

    #[inline(always)]
    fn field_drawn<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T], draw: &Draw) {
        self.field_and_fit(p, x, v, draw);
    }

    #[inline(always)]
    fn field_and_loss_drawn<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T], draw: &Draw) -> T {
        let fit = self.field_and_fit(p, x, v, draw);
        // The loss record follows the training loss on the whole data set, not the step's
        // minibatch: whether training brought the loss down is a question about all the data.
        let fit = if draw.on && self.partial_batches(p).is_some() { self.fit(x, None).0 } else { fit };
        fit + p[GAMMA] * regulariser(x, p[REG_POWER])
    }

    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        self.fit(x, None).0 + p[GAMMA] * regulariser(x, p[REG_POWER])
    }

    /// For a whole pack at once (the end of every run: a forward pass over the data).
    #[inline(always)]
    fn observables_lanes<T: Lane>(&self, p: &[T], x: &[T], out: &mut [T]) -> bool {
        let (fit, rms) = self.fit(x, None);
        let reg = regulariser(x, p[REG_POWER]);
        out[0] = fit + p[GAMMA] * reg;
        out[1] = fit;
        out[2] = reg;
        out[3] = order_parameter(&self.layout, x, p[D0]);
        out[4] = end_to_end_norm(&self.layout, x, &self.scales_t::<T>());
        out[5] = rms;
        true
    }

    fn validate(&self, p: &[f64]) -> Result<()> {
        if p[REG_POWER] < 1.0 {
            return Err(Error::input(format!("mlp: reg_power must be >= 1, got {}", p[REG_POWER])));
        }
        for l in 1..=self.layout.depth + 1 {
            let lr = p[LR1 + l - 1];
            if !(lr > 0.0) {
                return Err(Error::input(format!("mlp: lr{l} must be positive, got {lr}")));
            }
        }
        let b = p[self.batch_slot];
        let n = self.data.n as f64;
        if !(b >= 0.5 && b < n + 0.5) {
            return Err(Error::input(format!("mlp: batch must be between 1 and n = {n} (the data set's size), got {b}")));
        }
        Ok(())
    }
}
