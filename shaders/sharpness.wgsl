// The sharpness observables at a trajectory's end state, for the one-invocation kernel (Rust
// twin: `engine::sharpness`, whose header says what they are): Lanczos steps on C^(1/2) H
// C^(1/2), each Hessian-vector product the central difference of two full-batch fields, then
// the top eigenvalue of the Lanczos matrix by bisection. The prelude defines SHARPNESS, N_SHARP
// (1, or 2 under Adam), SHARP_ITERATIONS, SHARP_BISECTIONS, SHARP_STEP, SHARP_BREAKDOWN,
// REAL_MIN_POSITIVE and SHARP_ROOTS (C is not 1: step factors).

// C^(1/2) per component (1 when SHARP_ROOTS is off).
var<private> SHARP_ROOT: State;

fn sharp_dot(a: State, b: State) -> real {
    var s: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        s += a[k] * b[k];
    }
    return s;
}

// C^(1/2) H C^(1/2) u at x from two of kernel.wgsl's `decayed_field` (no step factors: C
// carries them); `reach` is the difference step's length.
fn sharp_apply(x: State, u: State, reach: real) -> State {
    var y: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        y[k] = SHARP_ROOT[k] * u[k];
    }
    let s = reach / sqrt(sharp_dot(y, y));
    var moved: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        moved[k] = x[k] + s * y[k];
    }
    let plus = decayed_field(moved);
    for (var k = 0u; k < STATE_DIM; k++) {
        moved[k] = x[k] - s * y[k];
    }
    let minus = decayed_field(moved);
    var out: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        out[k] = SHARP_ROOT[k] * ((minus[k] - plus[k]) / (s + s));
    }
    return out;
}

fn sharp_unit_start() -> State {
    var u: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        u[k] = sharp_start(k);
    }
    let n = sqrt(sharp_dot(u, u));
    for (var k = 0u; k < STATE_DIM; k++) {
        u[k] = u[k] / n;
    }
    return u;
}

// The largest eigenvalue of C^(1/2) H C^(1/2) at x: the top Ritz value of SHARP_ITERATIONS Lanczos
// steps (Rust `sharpness::largest_eigenvalue`).
fn sharp_largest(x: State, reach: real) -> real {
    var v = sharp_unit_start();
    var previous: State;
    var beta_before: real = 0.0;
    var scale: real = 0.0;
    var m = 0u;
    for (var j = 0u; j < SHARP_ITERATIONS; j++) {
        var w = sharp_apply(x, v, reach);
        let a = sharp_dot(v, w);
        if (real_is_nan(a) || abs(a) > REAL_MAX) {
            return real(bitcast<f32>(0x7fc00000u));
        }
        for (var k = 0u; k < STATE_DIM; k++) {
            w[k] = w[k] - a * v[k] - beta_before * previous[k];
        }
        let b = sqrt(sharp_dot(w, w));
        SHARP_ALPHA[j] = a;
        m = j + 1u;
        scale = max(scale, abs(a) + b + beta_before);
        if (j + 1u == SHARP_ITERATIONS || !(b > SHARP_BREAKDOWN * scale) || real_is_nan(b) || b > REAL_MAX) {
            break;
        }
        SHARP_BETA[j] = b;
        for (var k = 0u; k < STATE_DIM; k++) {
            previous[k] = v[k];
            v[k] = w[k] / b;
        }
        beta_before = b;
    }
    return sharp_tridiagonal_top(m);
}

// Writes trajectory i's sharpness observables (after the system's own) from its end state x;
// the step rule's memory is loaded. NaN for a run that diverged or became non-finite.
fn sharp_finish(i: u32, x: State) {
    let at = i * N_OUT + system_observables();
    let st = status[i];
    var bad = st == NONFINITE || st == DIVERGED_POS || st == DIVERGED_NEG;
    var size: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        bad = bad || real_is_nan(x[k]) || abs(x[k]) > REAL_MAX;
        size = max(size, abs(x[k]));
    }
    if (bad) {
        for (var k = 0u; k < N_SHARP; k++) {
            observables[at + k] = bitcast<f32>(0x7fc00000u);
        }
        return;
    }
    let reach = SHARP_STEP * (1.0 + size);
    for (var k = 0u; k < STATE_DIM; k++) {
        SHARP_ROOT[k] = 1.0;
        if (SHARP_ROOTS && !RULE_MOMENTS) {
            SHARP_ROOT[k] = sqrt(step_factor_of(k));
        }
    }
    observables[at] = f32(sharp_largest(x, reach));
    if (RULE_MOMENTS) {
        for (var k = 0u; k < STATE_DIM; k++) {
            SHARP_ROOT[k] = sqrt(step_factor_of(k) * rule_preconditioner(k));
        }
        observables[at + 1u] = f32(sharp_largest(x, reach));
    }
}
