// basinmap — the integration kernel: one invocation integrates one trajectory.
//
// `integrate` runs up to cfg.chunk_steps steps from where the last dispatch stopped, so long runs
// are cut into short dispatches (no driver watchdog) and the host can stop once every trajectory
// has settled. `finish` marks the ones still running as undecided and writes the observables.

const WORKGROUP: u32 = 64u;

fn trajectory_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WORKGROUP;
}

// Fills P with this trajectory's inputs: the base values with the axis values written over them.
fn load_inputs(i: u32) {
    for (var k = 0u; k < N_INPUTS; k++) {
        P[k] = table[k];
    }
    let g = (cfg.index_offset + i) / cfg.samples;
    let ix = g % cfg.nx;
    let iy = g / cfg.nx;
    if (cfg.x_target != NO_TARGET) {
        P[cfg.x_target] = table[N_INPUTS + ix];
    }
    if (cfg.y_target != NO_TARGET) {
        P[cfg.y_target] = table[N_INPUTS + cfg.nx + iy];
    }
}

// The start: the start values (axes applied), plus init_scale * N(0, 1) per component for a
// system with a random start. Component j of sample k at grid point g uses the generator's
// counter (g, k * ceil(STATE_DIM / 2) + j / 2): the same bits whatever the tiling.
// Rust twin: `Plan::start_f32`.
fn initial_state(i: u32) -> State {
    var x: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        x[k] = P[N_PARAMS + k];
    }
    if (RANDOM_INIT) {
        let scale = P[INIT_SCALE];
        let gi = cfg.index_offset + i;
        let point = gi / cfg.samples;
        let base = (gi % cfg.samples) * ((STATE_DIM + 1u) / 2u);
        let key = vec2<u32>(cfg.seed_lo, cfg.seed_hi);
        for (var j = 0u; j < STATE_DIM; j += 2u) {
            let z = normal_pair(threefry2x32(key, vec2<u32>(point, base + j / 2u)));
            x[j] += scale * z.x;
            if (j + 1u < STATE_DIM) {
                x[j + 1u] += scale * z.y;
            }
        }
    }
    return x;
}

fn load_state(i: u32) -> State {
    var x: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        x[k] = state[i * STATE_DIM + k];
    }
    return x;
}

fn store_state(i: u32, x: State) {
    for (var k = 0u; k < STATE_DIM; k++) {
        state[i * STATE_DIM + k] = x[k];
    }
}

// Where a state that just moved stands: still running, diverged (+/- for 1-D), or non-finite.
fn escape_status(x: State) -> u32 {
    for (var k = 0u; k < STATE_DIM; k++) {
        if (is_nan(x[k])) {
            return NONFINITE;
        }
    }
    for (var k = 0u; k < STATE_DIM; k++) {
        if (abs(x[k]) > cfg.bound) {
            if (x[k] < 0.0) {
                return DIVERGED_NEG;
            }
            return DIVERGED_POS;
        }
    }
    return RUNNING;
}

@compute @workgroup_size(64)
fn integrate(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) groups: vec3<u32>) {
    let i = trajectory_index(gid, groups);
    if (i >= cfg.n_total) {
        return;
    }
    load_inputs(i);
    var x: State;
    var n = cfg.chunk_start;
    if (n == 0u) {
        x = initial_state(i);
        status[i] = escape_status(x);
        steps[i] = 0u;
    } else {
        x = load_state(i);
    }
    if (status[i] != RUNNING) {
        if (n == 0u) {
            store_state(i, x);
            check_canary();
        }
        return;
    }
    let end = min(cfg.chunk_start + cfg.chunk_steps, cfg.max_steps);
    var s = RUNNING;
    loop {
        if (n >= end) {
            break;
        }
        let v = sys_field(x);
        if (norm(v) < cfg.tol) {
            s = CONVERGED;
            break;
        }
        x = advance(x, v, cfg.step);
        n += 1u;
        s = escape_status(x);
        if (s != RUNNING) {
            break;
        }
    }
    store_state(i, x);
    status[i] = s;
    steps[i] = n;
    if (s == RUNNING) {
        atomicAdd(&counters[0], 1u);
    }
    check_canary();
}

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let i = trajectory_index(gid, groups);
    if (i >= cfg.n_total) {
        return;
    }
    load_inputs(i);
    let x = load_state(i);
    if (status[i] == RUNNING) {
        status[i] = UNDECIDED;
    }
    var o: array<f32, N_OBS>;
    sys_observables(x, &o);
    for (var k = 0u; k < N_OBS; k++) {
        observables[i * N_OBS + k] = o[k];
    }
    check_canary();
}
