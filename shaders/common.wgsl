// basinmap — shared declarations of the integration kernel.
//
// The host prepends a generated prelude that defines:
//   STATE_DIM, N_PARAMS, N_INPUTS, N_OBS, N_MEMORY, N_OUT (= N_OBS + N_MEMORY, a trajectory's stride in `observables`), VEC_LEN   (u32 constants)
//   P_<name>                                         (offset of each parameter in P)
//   RANDOM_INIT, INIT_SCALE, SHARED_INIT             (random start? init_scale's slot? one draw for all points?)
//   init_scale_of(j)                                 (component j's init_scale times its layer's factor)
//   LOSS_RECORD, RECORD_CAP, RECORD_WINDOW           (keep the loss record? see kernel.wgsl)
//   N_HYPER, H_<SETTING>, H_STEP                      (the step rule's settings after the inputs in
//                                                     P; H_STEP is H_LR or H_DT)
//   NOISE_VARIES, DECAY, NESTEROV, DECOUPLED          (noise per trajectory? weight decay added
//                                                     to the field? the optimizer's variant)
//   STATE_STRIDE                                     (values per trajectory in `state`: the state,
//                                                     then the optimizer's memory, then the
//                                                     return probe's reals from PROBE_OFFSET)
//   PROBE, PROBE_STRIDE, PROBE_MAX_PERIOD, PROBE_FIRST, PROBE_DT, SAMPLES_TOL, SECTION_TOL,
//   SECTION_MOVING                                   (the return probe of kernel.wgsl)
//   real                                             (f32, or f64 for --precision f64: the
//                                                     type of the state, parameters and settings)
// and appends one system file (shaders/systems/*.wgsl), one step rule (shaders/step/*.wgsl)
// and kernel.wgsl. Every composition is validated by naga in the tests.
//
// A step rule defines RULE_MEMORY and, for kernel.wgsl, `advance(x, v, h)` (rules without memory:
// the next state) or `rule_delta(x, v)` (rules with memory: the step's displacement, memory
// updated), with `rule_reset()`, `rule_load(i)`, `rule_store(i)` for its memory (kept after the
// state in `state`); coop.wgsl's forms end in _coop (`rule_take_coop` takes the step).

alias State = array<real, STATE_DIM>;

// Per-dispatch settings. Rust twin: `engine::gpu::Config` (size checked against naga in tests).
struct Config {
    n_total: u32,       // trajectories in this tile
    index_offset: u32,  // grid index of the tile's first trajectory
    nx: u32,
    ny: u32,
    x_target: u32,      // input slot the x axis sets (NO_TARGET: none)
    y_target: u32,
    chunk_start: u32,   // steps already taken before this dispatch
    chunk_steps: u32,   // steps this dispatch may take
    max_steps: u32,
    samples: u32,       // trajectories per grid point (random starts)
    seed_lo: u32,       // the seed of random starts
    seed_hi: u32,
    canary: u32,        // trips of the canary loop (see `counters`)
    workers: u32,       // persistent workers of kernel.wgsl (its `integrate` refills them)
    zipped: u32,        // axes stepped with x (sampled starts' further columns), see `table`
    record: u32,        // advance_rows: 0 nothing, 1 the path, 2 the observables' ranges (see there)
}

const NO_TARGET: u32 = 0xffffffffu;

// Trajectory status codes. Rust twin: `engine::Status`.
const RUNNING: u32 = 0u;
const CONVERGED: u32 = 1u;
const DIVERGED_POS: u32 = 2u;
const DIVERGED_NEG: u32 = 3u;
const UNDECIDED: u32 = 4u;
const NONFINITE: u32 = 5u;
const ESCAPED: u32 = 6u;
// Stopped by the return probe (kernel.wgsl), confirmed on the host.
const CYCLE: u32 = 8u;

@group(0) @binding(0) var<uniform> cfg: Config;
// Base inputs (parameters then start state, N_INPUTS values), the step rule's N_HYPER settings,
// the axis tables (nx x-values, then ny y-values), then the run's N_SETTINGS stop settings (see
// `load_settings`), then the cfg.zipped axes stepped with x (their input slots, then nx values
// of each), all computed once on the host in f64 and rounded to `real`.
@group(0) @binding(1) var<storage, read> table: array<real>;
@group(0) @binding(2) var<storage, read_write> state: array<real>;
@group(0) @binding(3) var<storage, read_write> status: array<u32>;
@group(0) @binding(4) var<storage, read_write> steps: array<u32>;
@group(0) @binding(5) var<storage, read_write> observables: array<f32>;
// [0]: trajectories still running after this dispatch. [1]: invocations whose canary loop ran
// short: some adapters (llvmpipe) stop every loop of an invocation after a fixed total of
// iterations, which would silently corrupt the state; the host then retries with shorter chunks.
// [2]: trajectories of the tile started so far (kernel.wgsl's workers take them in order); the
// host clears [0] and [1] before each dispatch, all of them before each tile. [3]: unused.
@group(0) @binding(6) var<storage, read_write> counters: array<atomic<u32>, 4>;
// A system's data set (an mlp's samples: x row-major, then y); one unused value otherwise.
@group(0) @binding(7) var<storage, read> data: array<f32>;

// This invocation's inputs (parameters, then start state), then its step rule's settings.
var<private> P: array<real, N_INPUTS + N_HYPER>;

// A forced flow's time at the start of step n: (n mod STEPS_PER_PERIOD)·dt (Rust twin:
// `Stepper::time_of`), set in P[TIME_SLOT], where the field reads it, before each field
// evaluation (and at each rk4 stage: step/rk4.wgsl).
fn time_of(n: u32) -> real {
    var m = n;
    if (STEPS_PER_PERIOD > 0u) {
        // max(…, 1u): naga folds a constant % 0 into an error even where it is not reached.
        m = n % max(STEPS_PER_PERIOD, 1u);
    }
    return real(m) * STEP;
}

// Setting H_* of this invocation's trajectory.
fn rule_setting(k: u32) -> real {
    return P[N_INPUTS + k];
}

// The run's settings, in `real` so that an f64 run steps by the f64 lr (Rust twin:
// `engine::gpu::settings`), at the end of `table`.
const N_SETTINGS: u32 = 4u;
const S_TOL: u32 = 0u;      // converged when |field| < tol
const S_BOUND: u32 = 1u;    // diverged when any |x_i| > bound
const S_NOISE: u32 = 2u;    // sqrt(2 lr T) of Langevin dynamics; 0: no noise (and no convergence
                            // under noise); per trajectory instead under NOISE_VARIES
const S_ESCAPE2: u32 = 3u;  // escaped when |x - start|^2 > escape2; 0: no escape test

// A setting, read where the cooperative kernel needs it: a read-only storage load at a uniform
// index is uniform, so it may decide branches around barriers.
fn setting(k: u32) -> real {
    return table[N_INPUTS + N_HYPER + cfg.nx + cfg.ny + k];
}

// The same, copied once into registers for kernel.wgsl's step loop (`load_settings`); STEP
// (lr or dt) and, under NOISE_VARIES, NOISE are the trajectory's, set by `load_inputs`.
var<private> STEP: real;
var<private> TOL: real;
var<private> BOUND: real;
var<private> NOISE: real;
var<private> ESCAPE2: real;

fn load_settings() {
    TOL = setting(S_TOL);
    BOUND = setting(S_BOUND);
    NOISE = setting(S_NOISE);
    ESCAPE2 = setting(S_ESCAPE2);
}

// This invocation's trajectory (its index in the tile), set with P.
var<private> TRAJECTORY: u32;

// WGSL has no isnan/isinf; compilers may fold `x != x`, so test the exponent bits instead.
fn is_nonfinite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

fn is_nan(v: f32) -> bool {
    let bits = bitcast<u32>(v);
    return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
}

// The same for a `real`: narrowing keeps a NaN a NaN (and turns no number into one).
fn real_is_nan(v: real) -> bool {
    return is_nan(f32(v));
}

fn norm(v: State) -> real {
    var s: real = 0.0;
    for (var i = 0u; i < STATE_DIM; i++) {
        s += v[i] * v[i];
    }
    return sqrt(s);
}

// x + h * v, componentwise.
fn axpy(x: State, h: real, v: State) -> State {
    var r: State;
    for (var i = 0u; i < STATE_DIM; i++) {
        r[i] = x[i] + h * v[i];
    }
    return r;
}

// Run last in an entry point: counts the invocation in counters[1] if its loops were cut short.
fn check_canary() {
    var trips = 0u;
    for (var k = 0u; k < cfg.canary; k++) {
        trips += 1u;
    }
    if (trips != cfg.canary) {
        atomicAdd(&counters[1], 1u);
    }
}
