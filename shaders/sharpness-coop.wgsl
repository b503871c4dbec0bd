// The sharpness observables at a trajectory's end state, for the cooperative kernel: the
// Lanczos iteration of shaders/sharpness.wgsl (Rust twin: `engine::sharpness`), the fields
// computed by the whole workgroup in X and V, the iteration's vectors in private arrays (each
// invocation its components lid, lid + COOP, ...). Every branch around a barrier tests a value
// that coop_sum, coop_min or coop_broadcast made uniform.

const SHARP_PER: u32 = (STATE_DIM + COOP - 1u) / COOP;
// The end state, C^(1/2), the Lanczos vector, the one before it and the product, this
// invocation's components (zero past the state).
var<private> SHARP_X0: array<real, SHARP_PER>;
var<private> SHARP_ROOT: array<real, SHARP_PER>;
var<private> SHARP_U: array<real, SHARP_PER>;
var<private> SHARP_PREV: array<real, SHARP_PER>;
var<private> SHARP_W: array<real, SHARP_PER>;

// SHARP_W <- C^(1/2) H C^(1/2) u: the fields (decay added, no step factors) at
// X = x0 + s C^(1/2) u and x0 - s C^(1/2) u, differenced.
fn sharp_apply_coop(lid: u32, reach: f32) {
    var sq = 0.0;
    for (var m = 0u; m < SHARP_PER; m++) {
        let k = lid + m * COOP;
        if (k < STATE_DIM) {
            let y = SHARP_ROOT[m] * SHARP_U[m];
            sq += y * y;
        }
    }
    let s = reach / sqrt(coop_sum(lid, sq));
    let w = rule_setting(H_WEIGHT_DECAY);
    for (var side = 0u; side < 2u; side++) {
        let sign = select(1.0, -1.0, side == 1u);
        for (var m = 0u; m < SHARP_PER; m++) {
            let k = lid + m * COOP;
            if (k < STATE_DIM) {
                X[k] = SHARP_X0[m] + sign * s * (SHARP_ROOT[m] * SHARP_U[m]);
            }
        }
        workgroupBarrier();
        sys_field_coop(lid);
        for (var m = 0u; m < SHARP_PER; m++) {
            let k = lid + m * COOP;
            if (k < STATE_DIM) {
                var v = V[k];
                if (DECAY) {
                    v = v - w * X[k];
                }
                if (side == 0u) {
                    SHARP_W[m] = v;
                } else {
                    // The field is -gradient: H y = (field(x - s y) - field(x + s y)) / 2s.
                    SHARP_W[m] = SHARP_ROOT[m] * ((v - SHARP_W[m]) / (s + s));
                }
            }
        }
        // Every invocation has read X and V before the next side writes them.
        workgroupBarrier();
    }
}

// The top Ritz value of SHARP_ITERATIONS Lanczos steps (uniform).
fn sharp_largest_coop(lid: u32, reach: f32) -> f32 {
    var sq = 0.0;
    for (var m = 0u; m < SHARP_PER; m++) {
        let k = lid + m * COOP;
        SHARP_U[m] = 0.0;
        SHARP_PREV[m] = 0.0;
        if (k < STATE_DIM) {
            SHARP_U[m] = sharp_start(k);
            sq += SHARP_U[m] * SHARP_U[m];
        }
    }
    let n = sqrt(coop_sum(lid, sq));
    for (var m = 0u; m < SHARP_PER; m++) {
        SHARP_U[m] = SHARP_U[m] / n;
    }
    var beta_before = 0.0;
    var scale = 0.0;
    var size = 0u;
    for (var j = 0u; j < SHARP_ITERATIONS; j++) {
        sharp_apply_coop(lid, reach);
        var uw = 0.0;
        for (var m = 0u; m < SHARP_PER; m++) {
            uw += SHARP_U[m] * SHARP_W[m];
        }
        let a = coop_sum(lid, uw);
        if (is_nonfinite(a)) {
            return bitcast<f32>(0x7fc00000u);
        }
        var ww = 0.0;
        for (var m = 0u; m < SHARP_PER; m++) {
            if (lid + m * COOP < STATE_DIM) {
                SHARP_W[m] = SHARP_W[m] - a * SHARP_U[m] - beta_before * SHARP_PREV[m];
                ww += SHARP_W[m] * SHARP_W[m];
            }
        }
        let b = sqrt(coop_sum(lid, ww));
        SHARP_ALPHA[j] = a;
        size = j + 1u;
        scale = max(scale, abs(a) + b + beta_before);
        if (j + 1u == SHARP_ITERATIONS || !(b > SHARP_BREAKDOWN * scale) || is_nonfinite(b)) {
            break;
        }
        SHARP_BETA[j] = b;
        for (var m = 0u; m < SHARP_PER; m++) {
            SHARP_PREV[m] = SHARP_U[m];
            SHARP_U[m] = SHARP_W[m] / b;
        }
        beta_before = b;
    }
    return sharp_tridiagonal_top(size);
}

// Writes trajectory i's sharpness observables (after the system's own) from its end state in
// X; the step rule's memory is loaded. NaN for a run that diverged or became non-finite.
fn sharp_finish_coop(lid: u32, i: u32) {
    let at = i * N_OUT + system_observables();
    let st = coop_broadcast(lid, status[i]);
    var bad = 0.0;
    var size = 0.0;
    for (var m = 0u; m < SHARP_PER; m++) {
        let k = lid + m * COOP;
        SHARP_X0[m] = 0.0;
        SHARP_ROOT[m] = 1.0;
        if (k < STATE_DIM) {
            SHARP_X0[m] = X[k];
            if (is_nonfinite(X[k])) {
                bad = 1.0;
            }
            size = max(size, abs(X[k]));
            if (SHARP_ROOTS && !RULE_MOMENTS) {
                SHARP_ROOT[m] = sqrt(step_factor_of(k));
            }
        }
    }
    let any_bad = coop_sum(lid, bad) > 0.0;
    // max(|x_i|) over the workgroup: the sizes are >= 0, so their bits order as the numbers do,
    // and the largest is the complement of the least complement.
    let reach = SHARP_STEP * (1.0 + bitcast<f32>(~coop_min(lid, ~bitcast<u32>(size))));
    if (st == NONFINITE || st == DIVERGED_POS || st == DIVERGED_NEG || any_bad) {
        if (lid == 0u) {
            for (var k = 0u; k < N_SHARP; k++) {
                observables[at + k] = bitcast<f32>(0x7fc00000u);
            }
        }
        return;
    }
    let first = sharp_largest_coop(lid, reach);
    if (lid == 0u) {
        observables[at] = first;
    }
    if (RULE_MOMENTS) {
        for (var m = 0u; m < SHARP_PER; m++) {
            let k = lid + m * COOP;
            if (k < STATE_DIM) {
                SHARP_ROOT[m] = sqrt(step_factor_of(k) * rule_preconditioner(k));
            }
        }
        let second = sharp_largest_coop(lid, reach);
        if (lid == 0u) {
            observables[at + 1u] = second;
        }
    }
    // X holds the last moved state: put the end state back for what follows.
    for (var m = 0u; m < SHARP_PER; m++) {
        let k = lid + m * COOP;
        if (k < STATE_DIM) {
            X[k] = SHARP_X0[m];
        }
    }
    workgroupBarrier();
}
