//! `basinmap bench`: a fixed set of workloads run on every engine asked for, each timed over a
//! few repeats (median), reporting trajectory-steps per second, the achieved GFLOP/s and its
//! fraction of the device's peak.
//!
//! - W1: first-order Landau (u = −1, w = 1) on r ∈ [−0.5, 0.5] × m0 ∈ [−1.5, 1.5], gd with
//!   lr 0.01, exactly 500 steps (tol 0: no early exit).
//! - W2: the same map run to convergence (tol 1e-6, up to 200 000 steps), in f64 (f32 steps of
//!   0.01 stall above that tol), or in f32 on a GPU without SHADER_F64. Beside its time is the
//!   fixed-step lockstep equivalent that reaches the same labels: every trajectory run for as many
//!   steps as the slowest needed, timed at W2's own rate per step on the same engine.
//! - W3: the trainability map (examples/trainability/width8.toml: a tanh net of width 8, 100
//!   steps) at 256 × 256.
//! - W3-adam (`w3-adam`): the same network, data and start trained by Adam (β = 0.9, 0.999,
//!   ε = 1e-8) with per-layer rates lr1 (W1) and lr2 (U) in [0.01, 1000] on log axes (Adam's
//!   steps are bounded by its rates, so its boundary lies where gd's rates would be tiny), in
//!   f32: the workload benches/trainability.py times in JAX + optax. Adam's own arithmetic is
//!   not counted in its FLOPs (about 15 a weight a step, against 6·n a weight for the gradient).
//! - Lorenz (only when asked for): σ = 10, ρ = 28, β = 8/3 from (x0, y0, 25) on a 4096 × 2048
//!   grid (2^23 trajectories; `--size N` makes it 2N × N), RK4 with dt 0.001, exactly 1000 steps,
//!   in f32: the GPU ensemble figure of the scale issue. 74 FLOPs a step.
//!
//! FLOPs are counted from the kernels' source. Landau with a stop test (W2): 13 per step (the
//! field in Horner form 9: one multiply and four fused multiply-adds; the gd step 2; |v|² and its
//! square root 2). Landau with none (W1) steps by its gradient-descent map on either engine: 6 per
//! step (m², two fused multiply-adds and a multiply). The mlp: n·(4P + 2(P − P₁)) per step over
//! n samples and P weights, P₁ of them in the first layer: a multiply-add a weight forward and
//! one for its gradient, and one to pass the gradient back through every layer but the first
//! (the data need none; JAX's autodiff skips it too). Activations are not counted.
//!
//! The CPU's peak is measured: independent chains of fused multiply-adds in the widest registers,
//! on every thread at once ([`measured_cpu_peak`]), which is what the processor sustains and not
//! what its data sheet says (a Zen 4 core issues one 512-bit FMA a cycle, not two). A GPU's
//! peak comes from a table of known cards (llvmpipe runs on the CPU, so the CPU's); unknown
//! otherwise.

use crate::engine::{cpu::CpuEngine, gpu, Engine, Outcomes};
use crate::plan::Plan;
use crate::scenario::Scenario;
use crate::{Error, Result};
use serde::Serialize;
use std::time::Instant;

/// One of the fixed workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    W1,
    W2,
    W3,
    /// The W3 map trained by Adam.
    #[value(name = "w3-adam")]
    #[serde(rename = "w3-adam")]
    W3Adam,
    /// Lorenz ensemble (the GPU figure of the scale issue); not run unless asked for.
    Lorenz,
}

impl Workload {
    pub const ALL: [Workload; 5] = [Workload::W1, Workload::W2, Workload::W3, Workload::W3Adam, Workload::Lorenz];

    /// Grid side by default (Lorenz: its y side; x is twice as long, 2^23 trajectories).
    pub fn default_size(self) -> usize {
        match self {
            Workload::W1 | Workload::W2 => 1024,
            Workload::W3 | Workload::W3Adam => 256,
            Workload::Lorenz => 2048,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Workload::W1 => "landau first order (u=-1, w=1), gd lr 0.01, exactly 500 steps",
            Workload::W2 => "landau first order, to convergence (tol 1e-6, up to 200000 steps; f64, or f32 on a GPU without it)",
            Workload::W3 => "trainability map: tanh net width 8, mean-field, 100 steps",
            Workload::W3Adam => "trainability map under Adam: tanh net width 8, mean-field, 100 steps, lr1 and lr2 in [0.01, 1000]",
            Workload::Lorenz => "Lorenz (sigma=10, rho=28, beta=8/3) from (x0, y0, 25), rk4 dt 0.001, exactly 1000 steps",
        }
    }

    /// The workload's scenario at `n` × `n`.
    pub fn scenario(self, n: usize) -> Result<Scenario> {
        let landau = |steps: u32, tol: f64| {
            format!("system='landau'\nx='r=-0.5:0.5:{n}'\ny='m=-1.5:1.5:{n}'\n[params]\nu=-1.0\nw=1.0\n[dynamics]\nlr=0.01\nsteps={steps}\ntol={tol:e}\n")
        };
        let text = match self {
            Workload::W1 => landau(500, 0.0),
            // In f64: an f32 step of 0.01 cannot bring |F'| below about 3e-6 (see the README).
            Workload::W2 => landau(200_000, 1e-6) + "precision='f64'\n",
            // A formula system: compiled to WGSL on the GPU, a register program on the CPU.
            Workload::Lorenz => format!(
                "x='x=-10:10:{}'\ny='y=-10:10:{n}'\n[system]\nstate=['x', 'y', 'z=25']\nfield=['sigma*(y - x)', 'x*(rho - z) - y', 'x*y - beta*z']\n[params]\nsigma=10.0\nrho=28.0\nbeta=2.6666666666666665\n[dynamics]\nmethod='rk4'\ndt=0.001\nsteps=1000\ntol=0.0\n",
                2 * n
            ),
            Workload::W3 => {
                // `run --system mlp` (the width-8 example in f32) at size n, without the gain:
                // the workload benches/trainability.py times.
                let mut s = Scenario::for_system("mlp")?;
                s.x = format!("lr1=10:1000000:{n}:log").parse()?;
                s.y = Some(format!("lr2=3:300:{n}:log").parse()?);
                s.network.gain = None;
                return Ok(s);
            }
            Workload::W3Adam => {
                let mut s = Workload::W3.scenario(n)?;
                s.x = format!("lr1=0.01:1000:{n}:log").parse()?;
                s.y = Some(format!("lr2=0.01:1000:{n}:log").parse()?);
                s.dynamics.method = crate::dynamics::Method::Adam;
                return Ok(s);
            }
        };
        Scenario::from_toml(&text)
    }

    /// FLOPs per trajectory-step, the same on every engine (see the module header).
    pub fn flops_per_step(self, plan: &Plan) -> f64 {
        match self {
            Workload::W1 => 6.0,
            Workload::W2 => 13.0,
            // Four fields of 8 and RK4's combinations: 3 intermediate states (2 a component)
            // and the final sum (8 a component), over 3 components.
            Workload::Lorenz => 4.0 * 8.0 + 3.0 * 3.0 * 2.0 + 3.0 * 8.0,
            Workload::W3 | Workload::W3Adam => {
                let net = match &plan.system {
                    crate::system::System::Network(n) => match &n.model {
                        crate::system::NetworkModel::Mlp(m) => Some((m.data.n as f64, m.layout)),
                        crate::system::NetworkModel::DeepLinear(_) => None,
                    },
                    _ => None,
                };
                let Some((samples, layout)) = net else {
                    return 0.0;
                };
                let weights = layout.n_weights() as f64;
                // The first layer's weights: the backward pass stops at them (the data need no
                // gradient).
                let first = if layout.depth == 0 { weights } else { (layout.width * layout.dim) as f64 };
                samples * (4.0 * weights + 2.0 * (weights - first))
            }
        }
    }
}

/// The fixed-step lockstep run that reaches W2's labels, estimated at W2's own rate per step.
#[derive(Clone, Debug, Serialize)]
pub struct Lockstep {
    /// Steps the slowest trajectory took: what every lane of a lockstep run must take.
    pub max_steps: u64,
    pub lockstep_steps: f64,
    pub estimated_seconds: f64,
    /// Estimated lockstep time over W2's measured time.
    pub speedup: f64,
}

/// One workload on one engine.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub workload: Workload,
    pub description: &'static str,
    /// `cpu` (SIMD packs), `cpu-scalar` (one trajectory at a time) or `gpu`.
    pub engine: &'static str,
    /// The precision the engine computed in: "f32" or "f64".
    pub precision: &'static str,
    pub device: String,
    /// How the engine runs (threads and instruction set, or the adapter's limits).
    pub detail: String,
    pub grid: [usize; 2],
    /// Every repeat's integration time.
    pub seconds: Vec<f64>,
    pub median_seconds: f64,
    /// Trajectory-steps actually taken (an early stop takes fewer than nominal).
    pub steps: u64,
    pub steps_per_second: f64,
    /// Grid × the step budget, over the median time (the figure for fixed-step workloads).
    pub nominal_steps_per_second: f64,
    pub flops_per_step: f64,
    pub gflops: f64,
    pub peak_gflops: Option<f64>,
    pub peak_fraction: Option<f64>,
    /// How the peak was estimated.
    pub peak_basis: String,
    pub lockstep: Option<Lockstep>,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub workloads: Vec<Workload>,
    /// "cpu" and/or "gpu".
    pub engines: Vec<String>,
    /// Grid side, instead of each workload's default.
    pub size: Option<usize>,
    pub repeats: usize,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// FMA chains per thread in [`measured_cpu_peak`]: enough to hide an FMA's latency (4 cycles)
/// behind the throughput of two pipes.
const PEAK_CHAINS: usize = 12;
/// Timings of the peak measurement, of which the fastest counts.
const PEAK_TIMINGS: usize = 5;

/// The CPU's measured peak in f32 (or f64: half the lanes), in GFLOP/s, with how it was measured:
/// [`PEAK_CHAINS`] independent chains of fused multiply-adds in the widest registers the
/// processor has, on every thread of the pool at once, the fastest of [`PEAK_TIMINGS`] runs.
pub fn measured_cpu_peak(f64: bool) -> (Option<f64>, String) {
    use crate::engine::simd::Isa;
    use rayon::prelude::*;
    let isa = Isa::detect();
    // Lanes per instruction (the fallback is scalar, and counts in f32 either way).
    let lanes = match isa {
        Isa::Baseline => 1,
        _ => isa.f32_per_register() / if f64 { 2 } else { 1 },
    };
    let threads = rayon::current_num_threads();
    // Calibrated on one thread first, so that the timed run is long enough to measure.
    let mut iterations = 1u64 << 16;
    loop {
        let t = Instant::now();
        std::hint::black_box(fma_chains(isa, f64, iterations));
        if t.elapsed().as_secs_f64() > 0.02 || iterations > 1 << 40 {
            break;
        }
        iterations *= 2;
    }
    iterations *= 2;
    // The fastest of five timings of about 0.05 s: a shared machine's other work only ever
    // slows a timing down, so the fastest is the one nearest the processor's own rate.
    let seconds = (0..PEAK_TIMINGS)
        .map(|_| {
            let t = Instant::now();
            (0..threads).into_par_iter().for_each(|_| {
                std::hint::black_box(fma_chains(isa, f64, iterations));
            });
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let flops = (threads * PEAK_CHAINS * lanes * 2) as f64 * iterations as f64;
    let kind = if f64 { "f64" } else { "f32" };
    (
        Some(flops / seconds / 1e9),
        format!("measured: {PEAK_CHAINS} chains of {} {kind} FMAs ({lanes} lanes) on each of {threads} threads, fastest of {PEAK_TIMINGS}", isa.name()),
    )
}

/// The CPU's peaks in f32 and f64, each measured the first time it is needed in a run.
#[derive(Default)]
struct CpuPeaks {
    f32: std::cell::OnceCell<(Option<f64>, String)>,
    f64: std::cell::OnceCell<(Option<f64>, String)>,
}

impl CpuPeaks {
    fn cpu(&self, f64: bool) -> (Option<f64>, String) {
        let cell = if f64 { &self.f64 } else { &self.f32 };
        cell.get_or_init(|| measured_cpu_peak(f64)).clone()
    }
}

/// `iterations` rounds of [`PEAK_CHAINS`] independent fused multiply-adds in `isa`'s registers,
/// written with the instructions themselves: left to the compiler, chains over an array of packs
/// came out as gathers in one precision and scalar FMAs in the other.
fn fma_chains(isa: crate::engine::simd::Isa, f64: bool, iterations: u64) -> f64 {
    use crate::engine::simd::Isa;
    match isa {
        // SAFETY: `isa` is the one `Isa::detect` found on this processor.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe {
            if f64 {
                peak::avx512_f64(iterations)
            } else {
                peak::avx512_f32(iterations)
            }
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe {
            if f64 {
                peak::avx2_f64(iterations)
            } else {
                peak::avx2_f32(iterations)
            }
        },
        _ => peak::scalar(iterations),
    }
}

/// The FMA chains of [`fma_chains`], one function per instruction set and precision.
mod peak {
    /// x ← x·a + b with a just below 1, in twelve registers: the values stay finite however
    /// long it runs, and twelve chains hide the FMA's latency.
    macro_rules! chains {
        ($name:ident, $features:literal, $set1:ident, $fma:ident, $store:ident, $t:ty, $n:literal) => {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = $features)]
            pub fn $name(iterations: u64) -> f64 {
                use std::arch::x86_64::*;
                let a = $set1(std::hint::black_box(0.999_999));
                let b = $set1(std::hint::black_box(1e-7));
                let mut x = [$set1(1.0); super::PEAK_CHAINS];
                for _ in 0..iterations {
                    // A fixed-length loop over registers: unrolled, each chain in its own.
                    for v in x.iter_mut() {
                        *v = $fma(*v, a, b);
                    }
                }
                let mut sum = 0.0;
                for v in x {
                    let mut out = [0.0 as $t; $n];
                    // SAFETY: `out` holds exactly one register's lanes.
                    unsafe { $store(out.as_mut_ptr(), v) };
                    sum += out.iter().map(|&e| e as f64).sum::<f64>();
                }
                sum
            }
        };
    }
    chains!(avx512_f32, "avx512f", _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps, f32, 16);
    chains!(avx512_f64, "avx512f", _mm512_set1_pd, _mm512_fmadd_pd, _mm512_storeu_pd, f64, 8);
    chains!(avx2_f32, "avx2,fma", _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps, f32, 8);
    chains!(avx2_f64, "avx2,fma", _mm256_set1_pd, _mm256_fmadd_pd, _mm256_storeu_pd, f64, 4);

    /// Without a known vector instruction set: plain multiply-adds (a lower bound).
    pub fn scalar(iterations: u64) -> f64 {
        let (a, b) = (std::hint::black_box(0.999_999f32), std::hint::black_box(1e-7f32));
        let mut x = [1.0f32; super::PEAK_CHAINS];
        for _ in 0..iterations {
            for v in x.iter_mut() {
                *v = *v * a + b;
            }
        }
        x.iter().map(|&v| v as f64).sum()
    }
}

/// fp32 and fp64 peaks of known GPUs (vendor figures, TFLOP/s, without sparsity or tensor
/// cores).
const GPU_PEAKS: [(&str, f64, f64); 8] = [
    ("H200", 67.0, 34.0),
    ("H100 PCIe", 51.2, 25.6),
    ("H100", 67.0, 34.0),
    ("A100", 19.5, 9.7),
    ("V100", 15.7, 7.8),
    ("RTX 4090", 82.6, 1.29),
    ("RTX 3090", 35.6, 0.56),
    ("L40S", 91.6, 1.43),
];

fn gpu_peak(device: &str, f64: bool, peaks: &CpuPeaks) -> (Option<f64>, String) {
    if device.contains("llvmpipe") {
        let (p, basis) = peaks.cpu(f64);
        return (p, format!("llvmpipe runs on the CPU: {basis}"));
    }
    let kind = if f64 { "fp64" } else { "fp32" };
    match GPU_PEAKS.iter().find(|(name, ..)| device.contains(name)) {
        Some(&(name, tf32, tf64)) => {
            let tf = if f64 { tf64 } else { tf32 };
            (Some(tf * 1000.0), format!("{name}: {tf} TFLOP/s {kind} (vendor figure)"))
        }
        None => (None, format!("no {kind} peak known for {device}")),
    }
}

/// The engines `basinmap bench` times when none are named: the CPU engine, and the GPU engine
/// where wgpu finds a hardware GPU.
pub fn default_engines() -> Vec<String> {
    let mut engines = vec!["cpu".to_string()];
    if gpu::adapters().iter().any(gpu::is_hardware) {
        engines.push("gpu".into());
    }
    engines
}

/// Runs every workload of `options` on every engine of it.
pub fn run(options: &BenchOptions, report: &mut dyn FnMut(&BenchResult)) -> Result<Vec<BenchResult>> {
    if options.repeats == 0 {
        return Err(Error::input("--repeats must be at least 1"));
    }
    // Each engine with whether it computes in f64.
    let mut engines: Vec<(&'static str, Box<dyn Engine>, bool)> = Vec::new();
    for e in &options.engines {
        match e.as_str() {
            "cpu" => engines.push(("cpu", Box::new(CpuEngine::new()), true)),
            "cpu-scalar" => engines.push(("cpu-scalar", Box::new(CpuEngine::scalar()), true)),
            "gpu" => match gpu::GpuEngine::new(true)? {
                Some(g) => {
                    let f64 = g.has_f64();
                    engines.push(("gpu", Box::new(g), f64))
                }
                None => return Err(Error::NoAdapter("bench --engines gpu: wgpu found no adapter".into())),
            },
            other => return Err(Error::input(format!("--engines: unknown engine '{other}' (cpu, cpu-scalar, gpu)"))),
        }
    }
    let peaks = CpuPeaks::default();
    let mut results = Vec::new();
    for (name, engine, computes_f64) in &engines {
        let info = engine.info();
        for &w in &options.workloads {
            let n = options.size.unwrap_or(w.default_size());
            let mut scenario = w.scenario(n)?;
            if !computes_f64 {
                scenario.dynamics.precision = crate::dynamics::Precision::F32;
            }
            let plan = Plan::new(&scenario)?;
            let mut seconds = Vec::new();
            let mut last: Option<Outcomes> = None;
            for _ in 0..options.repeats {
                let t = Instant::now();
                let o = engine.run(&plan, &|_, _| {})?;
                seconds.push(t.elapsed().as_secs_f64());
                last = Some(o);
            }
            let o = last.expect("at least one repeat");
            let med = median(&seconds);
            let steps: u64 = o.steps.iter().map(|&s| s as u64).sum();
            let nominal = plan.n_trajectories() as f64 * plan.dynamics.steps as f64;
            let rate = steps as f64 / med;
            let flops = w.flops_per_step(&plan);
            let gflops = rate * flops / 1e9;
            let f64 = plan.dynamics.precision == crate::dynamics::Precision::F64;
            let (peak, basis) = if info.kind == "cpu" { peaks.cpu(f64) } else { gpu_peak(&info.device, f64, &peaks) };
            let lockstep = match w {
                Workload::W2 => {
                    let max_steps = o.steps.iter().copied().max().unwrap_or(0) as u64;
                    let lockstep_steps = plan.n_trajectories() as f64 * max_steps as f64;
                    let estimated_seconds = lockstep_steps / rate;
                    Some(Lockstep { max_steps, lockstep_steps, estimated_seconds, speedup: estimated_seconds / med })
                }
                _ => None,
            };
            let r = BenchResult {
                workload: w,
                description: w.describe(),
                engine: name,
                precision: if f64 { "f64" } else { "f32" },
                device: info.device.clone(),
                detail: info.detail.clone(),
                grid: [plan.nx(), plan.ny()],
                seconds,
                median_seconds: med,
                steps,
                steps_per_second: rate,
                nominal_steps_per_second: nominal / med,
                flops_per_step: flops,
                gflops,
                peak_gflops: peak,
                peak_fraction: peak.map(|p| gflops / p),
                peak_basis: basis,
                lockstep,
            };
            report(&r);
            results.push(r);
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_valid_plans_of_their_size() {
        for w in Workload::ALL {
            let p = Plan::new(&w.scenario(8).unwrap()).unwrap();
            let nx = if w == Workload::Lorenz { 16 } else { 8 };
            assert_eq!((p.nx(), p.ny()), (nx, 8), "{w:?}");
            assert!(w.flops_per_step(&p) > 0.0);
        }
        let w3 = Plan::new(&Workload::W3.scenario(4).unwrap()).unwrap();
        // Width 8, one hidden layer: 8·8 + 8 weights, as many samples: 72 · (4 · 72 + 2 · 8).
        assert_eq!(w3.n_state(), 72);
        assert_eq!(Workload::W3.flops_per_step(&w3), 72.0 * (4.0 * 72.0 + 2.0 * 8.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
