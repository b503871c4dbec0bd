// basinmap — the integration kernel: one invocation integrates one trajectory.
//
// `integrate` runs up to cfg.chunk_steps steps from where the last dispatch stopped, so long runs
// are cut into short dispatches (no driver watchdog) and the host can stop once every trajectory
// has settled. `finish` marks the ones still running as undecided and writes the observables.

const WORKGROUP: u32 = 64u;

fn trajectory_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WORKGROUP;
}

// The start of trajectory i (see `start_pair`).
fn initial_state(i: u32) -> State {
    var x: State;
    for (var j = 0u; j < STATE_DIM; j += 2u) {
        let z = start_pair(i, j);
        x[j] = z.x;
        if (j + 1u < STATE_DIM) {
            x[j + 1u] = z.y;
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

// x plus step n's Langevin noise (Rust twin: `Stepper::add_noise`).
fn add_noise(x: State, i: u32, n: u32) -> State {
    var r = x;
    for (var j = 0u; j < STATE_DIM; j += 2u) {
        let z = langevin_pair(i, n, j);
        r[j] += cfg.noise * z.x;
        if (j + 1u < STATE_DIM) {
            r[j + 1u] += cfg.noise * z.y;
        }
    }
    return r;
}

// Farther than the escape radius from the start x0 (Rust twin: `Stepper::status_after_step`).
fn escaped(x: State, x0: State) -> bool {
    var d2 = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        let d = x[k] - x0[k];
        d2 += d * d;
    }
    return d2 > cfg.escape2;
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
            if (LOSS_RECORD) {
                sys_field(x);
                record_start(i, sys_last_loss());
                record_add(i, 0u, RECORD_CAP, cfg.max_steps);
            }
            check_canary();
        }
        return;
    }
    let end = min(cfg.chunk_start + cfg.chunk_steps, cfg.max_steps);
    var s = RUNNING;
    // The start, for the escape test: drawn again rather than stored (it is a pure function of i).
    var x0: State;
    if (cfg.escape2 > 0.0) {
        x0 = initial_state(i);
    }
    loop {
        if (n >= end) {
            break;
        }
        let v = sys_field(x);
        let converged = cfg.noise == 0.0 && norm(v) < cfg.tol;
        if (LOSS_RECORD) {
            record_step(i, n, sys_last_loss(), converged);
        }
        if (converged) {
            s = CONVERGED;
            break;
        }
        x = advance(x, v, cfg.step);
        if (cfg.noise > 0.0) {
            x = add_noise(x, i, n);
        }
        n += 1u;
        s = escape_status(x);
        if (s == RUNNING && cfg.escape2 > 0.0 && escaped(x, x0)) {
            s = ESCAPED;
        }
        if (s != RUNNING) {
            if (LOSS_RECORD) {
                record_add(i, n, RECORD_CAP, cfg.max_steps - n);
            }
            break;
        }
    }
    store_state(i, x);
    end_chunk(i, s, n);
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
    if (LOSS_RECORD) {
        record_finish(i);
    }
    for (var k = 0u; k < system_observables(); k++) {
        observables[i * N_OBS + k] = o[k];
    }
    check_canary();
}
