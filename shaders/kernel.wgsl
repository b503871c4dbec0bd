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
// counter (g, k * ceil(STATE_DIM / 2) + j / 2), with g = 0 for every point under SHARED_INIT:
// the same bits whatever the tiling.
// Rust twin: `Plan::start_f32`.
fn initial_state(i: u32) -> State {
    var x: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        x[k] = P[N_PARAMS + k];
    }
    if (RANDOM_INIT) {
        let scale = P[INIT_SCALE];
        let gi = cfg.index_offset + i;
        var point = gi / cfg.samples;
        if (SHARED_INIT) {
            point = 0u;
        }
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

// The loss record (systems with LOSS_RECORD): with r_t = loss(x_t) / loss(x_0) capped at
// RECORD_CAP, the last four observables hold loss0, the sum of r_t and the sum of r_t over the
// last RECORD_WINDOW steps while the run goes on; `finish` turns the latter into a mean and adds
// converged = (mean < 1). A run that stops early counts its last ratio (converged) or the cap
// (escaped) for the steps it no longer takes. Rust twin: `dynamics::LossRecord`.
fn record_slot(i: u32) -> u32 {
    return i * N_OBS + N_OBS - 4u;
}

fn record_start(i: u32, loss0: f32) {
    let b = record_slot(i);
    observables[b] = loss0;
    observables[b + 1u] = 0.0;
    observables[b + 2u] = 0.0;
}

fn record_ratio(i: u32, loss: f32) -> f32 {
    let r = loss / observables[record_slot(i)];
    if (is_nan(r) || r > RECORD_CAP) {
        return RECORD_CAP;
    }
    return r;
}

// Adds ratio r for `count` steps from step t.
fn record_add(i: u32, t: u32, r: f32, count: u32) {
    let b = record_slot(i);
    observables[b + 1u] += r * f32(count);
    let tail_start = cfg.max_steps - min(RECORD_WINDOW, cfg.max_steps);
    let end = t + count;
    let first = max(t, tail_start);
    var in_tail = 0u;
    if (end > first) {
        in_tail = end - first;
    }
    observables[b + 2u] += r * f32(in_tail);
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
    loop {
        if (n >= end) {
            break;
        }
        let v = sys_field(x);
        let converged = norm(v) < cfg.tol;
        if (LOSS_RECORD) {
            let loss = sys_last_loss();
            if (n == 0u) {
                record_start(i, loss);
            }
            var count = 1u;
            if (converged) {
                count = cfg.max_steps - n;
            }
            record_add(i, n, record_ratio(i, loss), count);
        }
        if (converged) {
            s = CONVERGED;
            break;
        }
        x = advance(x, v, cfg.step);
        n += 1u;
        s = escape_status(x);
        if (s != RUNNING) {
            if (LOSS_RECORD) {
                record_add(i, n, RECORD_CAP, cfg.max_steps - n);
            }
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
    var n_sys = N_OBS;
    if (LOSS_RECORD) {
        n_sys = max(N_OBS, 4u) - 4u;
        let b = record_slot(i);
        let tail_mean = observables[b + 2u] / f32(min(RECORD_WINDOW, cfg.max_steps));
        observables[b + 2u] = tail_mean;
        observables[b + 3u] = select(0.0, 1.0, tail_mean < 1.0);
    }
    for (var k = 0u; k < n_sys; k++) {
        observables[i * N_OBS + k] = o[k];
    }
    check_canary();
}
