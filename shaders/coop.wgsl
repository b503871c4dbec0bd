// basinmap — the cooperative kernel: one workgroup of COOP invocations integrates one trajectory.
//
// For systems whose state is too large for one invocation (the networks: hundreds of weights and
// matrix-sized work arrays). Private arrays that large spill to slow memory on GPUs and make some
// shader compilers (llvmpipe's) take minutes; here the state X, the field V and the system's work
// arrays live in workgroup memory, and the system computes the field with every invocation of the
// workgroup (each a share of the matrix entries). The control flow is the one of kernel.wgsl and
// must stay uniform: every value that decides a branch around a barrier comes from `cfg`, a
// `setting`, a constant, or a workgroupUniformLoad. It computes in f32 only (the networks'
// tanh and exp have no f64 form in WGSL's targets).
//
// The system defines `sys_field_coop(lid)` (V <- field(X), ending with a barrier),
// `sys_observables_coop(lid)` (COOP_OBS[0..] <- its observables, ending with a barrier) and
// `sys_last_loss()`; the step rule defines `advance_coop(lid, h)` (X <- one step, given V = field(X)).

const COOP: u32 = 64u;
const NONE: u32 = 0xffffffffu;

var<workgroup> X: State;
var<workgroup> V: State;
var<workgroup> COOP_SUM: array<f32, COOP>;
var<workgroup> COOP_MIN: array<u32, COOP>;
var<workgroup> COOP_WORD: u32;
var<workgroup> COOP_REAL: real;
var<workgroup> COOP_OBS: array<f32, N_OBS>;

// Where the field is a step's, which step of which trajectory (its global index): the field of
// a system that draws (an mlp's minibatch) depends on it. Off for observables and the start's
// loss; the same in every invocation, but private, so it decides no branch around a barrier.
var<private> DRAW_ON: bool = false;
var<private> DRAW_TRAJECTORY: u32;
var<private> DRAW_STEP: u32;

// The sum over the workgroup of every invocation's `v`, the same for all (a tree reduction).
fn coop_sum(lid: u32, v: f32) -> f32 {
    COOP_SUM[lid] = v;
    workgroupBarrier();
    for (var s = COOP / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            COOP_SUM[lid] += COOP_SUM[lid + s];
        }
        workgroupBarrier();
    }
    let total = workgroupUniformLoad(&COOP_SUM[0]);
    // No invocation may start the next reduction before all have read this one.
    workgroupBarrier();
    return total;
}

// The least of every invocation's `v`, the same for all.
fn coop_min(lid: u32, v: u32) -> u32 {
    COOP_MIN[lid] = v;
    workgroupBarrier();
    for (var s = COOP / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            COOP_MIN[lid] = min(COOP_MIN[lid], COOP_MIN[lid + s]);
        }
        workgroupBarrier();
    }
    let least = workgroupUniformLoad(&COOP_MIN[0]);
    workgroupBarrier();
    return least;
}

// Invocation 0's `v`, for all.
fn coop_broadcast(lid: u32, v: u32) -> u32 {
    if (lid == 0u) {
        COOP_WORD = v;
    }
    let r = workgroupUniformLoad(&COOP_WORD);
    workgroupBarrier();
    return r;
}

// Invocation 0's `v`, for all.
fn coop_broadcast_real(lid: u32, v: real) -> real {
    if (lid == 0u) {
        COOP_REAL = v;
    }
    let r = workgroupUniformLoad(&COOP_REAL);
    workgroupBarrier();
    return r;
}

// |X|^2, for all.
fn coop_sq_norm(lid: u32) -> f32 {
    var s = 0.0;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        s += X[k] * X[k];
    }
    return coop_sum(lid, s);
}

// kernel.wgsl's `escape_status` of X: a NaN anywhere makes it non-finite; otherwise the first
// component past the bound decides the sign. Each invocation reports its first offender as
// 2 (k + 1) + (negative), 0 for a NaN, so the least report over the workgroup decides.
fn coop_escape_status(lid: u32) -> u32 {
    var report = NONE;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        if (is_nan(X[k])) {
            report = 0u;
            break;
        }
        if (report == NONE && abs(X[k]) > setting(S_BOUND)) {
            report = 2u * (k + 1u) + select(0u, 1u, X[k] < 0.0);
        }
    }
    let least = coop_min(lid, report);
    if (least == NONE) {
        return RUNNING;
    }
    if (least == 0u) {
        return NONFINITE;
    }
    return select(DIVERGED_POS, DIVERGED_NEG, (least & 1u) == 1u);
}

fn coop_store_state(lid: u32, i: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        state[i * STATE_STRIDE + k] = X[k];
    }
}

fn coop_load_state(lid: u32, i: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = state[i * STATE_STRIDE + k];
    }
    workgroupBarrier();
}

// V <- the field the step rule follows (kernel.wgsl `field`): the system's, weight decay added
// for the coupled optimizers, scaled by the step factors under SCALE_FIELD.
fn coop_field(lid: u32) {
    sys_field_coop(lid);
    if (DECAY || SCALE_FIELD) {
        let w = rule_setting(H_WEIGHT_DECAY);
        for (var k = lid; k < STATE_DIM; k += COOP) {
            var v = V[k];
            if (DECAY) {
                v = v - w * X[k];
            }
            if (SCALE_FIELD) {
                v = step_factor_of(k) * v;
            }
            V[k] = v;
        }
        workgroupBarrier();
    }
}

// X plus step n's Langevin noise, each invocation its component pairs (kernel.wgsl `add_noise`).
fn coop_add_noise(lid: u32, i: u32, n: u32) {
    for (var j = 2u * lid; j < STATE_DIM; j += 2u * COOP) {
        let z = langevin_pair(i, n, j);
        X[j] += NOISE * real(z.x);
        if (j + 1u < STATE_DIM) {
            X[j + 1u] += NOISE * real(z.y);
        }
    }
    workgroupBarrier();
}

// Whether X is farther than the escape radius from the start, drawn again pair by pair (the
// sum is reduced in tree order, so it may differ from the CPU's in the last bits).
fn coop_escaped(lid: u32, i: u32) -> bool {
    var d2 = 0.0;
    for (var j = 2u * lid; j < STATE_DIM; j += 2u * COOP) {
        let z0 = start_pair(i, j);
        let d = X[j] - z0.x;
        d2 += d * d;
        if (j + 1u < STATE_DIM) {
            let e = X[j + 1u] - z0.y;
            d2 += e * e;
        }
    }
    return coop_sum(lid, d2) > setting(S_ESCAPE2);
}

// The trajectory of this workgroup (in the tile).
fn coop_trajectory(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wid.x + wid.y * groups.x;
}

@compute @workgroup_size(64)
fn integrate(@builtin(local_invocation_index) lid: u32,
             @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) groups: vec3<u32>) {
    let i = coop_trajectory(wid, groups);
    if (i >= cfg.n_total) {
        return;
    }
    load_settings();
    load_inputs(i);
    // The trajectory's noise scale, uniform: it decides branches around barriers.
    let noise = coop_broadcast_real(lid, NOISE);
    var n = cfg.chunk_start;
    var s = RUNNING;
    if (n == 0u) {
        rule_reset_coop(lid);
        for (var j = 2u * lid; j < STATE_DIM; j += 2u * COOP) {
            let z = start_pair(i, j);
            X[j] = z.x;
            if (j + 1u < STATE_DIM) {
                X[j + 1u] = z.y;
            }
        }
        workgroupBarrier();
        s = coop_escape_status(lid);
        if (lid == 0u) {
            status[i] = s;
            steps[i] = 0u;
        }
    } else {
        coop_load_state(lid, i);
        rule_load_coop(lid, i);
        s = coop_broadcast(lid, status[i]);
    }
    if (s != RUNNING) {
        if (n == 0u) {
            coop_store_state(lid, i);
            if (LOSS_RECORD) {
                sys_field_coop(lid);
                if (lid == 0u) {
                    record_start(i, sys_last_loss());
                    record_add(i, 0u, RECORD_CAP, cfg.max_steps);
                }
            }
        }
        check_canary();
        return;
    }
    let end = min(cfg.chunk_start + cfg.chunk_steps, cfg.max_steps);
    DRAW_TRAJECTORY = cfg.index_offset + i;
    loop {
        if (n >= end) {
            break;
        }
        // Every field of step n (all four of rk4's stages) draws at (trajectory, n).
        DRAW_ON = true;
        DRAW_STEP = n;
        coop_field(lid);
        var sq = 0.0;
        for (var k = lid; k < STATE_DIM; k += COOP) {
            sq += V[k] * V[k];
        }
        let field_norm = sqrt(coop_sum(lid, sq));
        var converged = noise == 0.0 && field_norm < setting(S_TOL);
        if (RULE_MEMORY) {
            // The step first: a point passed at speed has not converged.
            let step_norm = sqrt(coop_sum(lid, rule_delta_coop(lid)));
            converged = converged && step_norm < setting(S_TOL);
        }
        if (LOSS_RECORD && lid == 0u) {
            record_step(i, n, sys_last_loss(), converged);
        }
        if (converged) {
            s = CONVERGED;
            break;
        }
        if (RULE_MEMORY) {
            rule_take_coop(lid);
        } else {
            advance_coop(lid, STEP);
        }
        if (noise > 0.0) {
            coop_add_noise(lid, i, n);
        }
        n += 1u;
        s = coop_escape_status(lid);
        if (s == RUNNING && setting(S_ESCAPE2) > 0.0 && coop_escaped(lid, i)) {
            s = ESCAPED;
        }
        if (s != RUNNING) {
            if (LOSS_RECORD && lid == 0u) {
                record_add(i, n, RECORD_CAP, cfg.max_steps - n);
            }
            break;
        }
    }
    coop_store_state(lid, i);
    rule_store_coop(lid, i);
    if (lid == 0u) {
        end_chunk(i, s, n);
    }
    check_canary();
}

@compute @workgroup_size(64)
fn finish(@builtin(local_invocation_index) lid: u32,
          @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let i = coop_trajectory(wid, groups);
    if (i >= cfg.n_total) {
        return;
    }
    load_inputs(i);
    coop_load_state(lid, i);
    sys_observables_coop(lid);
    if (SHARPNESS) {
        rule_load_coop(lid, i);
        sharp_finish_coop(lid, i);
    }
    if (lid == 0u) {
        if (status[i] == RUNNING) {
            status[i] = UNDECIDED;
        }
        if (LOSS_RECORD) {
            record_finish(i);
        }
        for (var k = 0u; k < system_observables(); k++) {
            observables[i * N_OUT + k] = COOP_OBS[k];
        }
    }
    check_canary();
}
