// basinmap — the integration kernel: one invocation integrates one trajectory at a time.
//
// `integrate` runs persistent workers for up to cfg.chunk_steps trips each, so long runs are cut
// into short dispatches (no driver watchdog) and the host can stop once every trajectory has
// been started and has settled. `finish` marks the ones still running as undecided and writes
// the observables of every trajectory of the tile.

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
        x[k] = state[i * STATE_STRIDE + k];
    }
    return x;
}

fn store_state(i: u32, x: State) {
    for (var k = 0u; k < STATE_DIM; k++) {
        state[i * STATE_STRIDE + k] = x[k];
    }
}

// The field of the loss the step descends: the system's, with weight decay added for the
// coupled optimizers (v - weight_decay x). Rust twin: `Model::field` then `Stepper::add_decay`.
fn decayed_field(x: State) -> State {
    var v = sys_field(x);
    if (DECAY) {
        let w = rule_setting(H_WEIGHT_DECAY);
        for (var i = 0u; i < STATE_DIM; i++) {
            v[i] = v[i] - w * x[i];
        }
    }
    return v;
}

// The field the step rule follows (Rust twin: `Stepper::field`): `decayed_field` and, under
// SCALE_FIELD, each component scaled by its step factor (an mlp's lr_l; Adam scales its step
// instead).
fn rule_field(x: State) -> State {
    var v = decayed_field(x);
    if (SCALE_FIELD) {
        for (var i = 0u; i < STATE_DIM; i++) {
            v[i] = step_factor_of(i) * v[i];
        }
    }
    return v;
}

// Where a state that just moved stands: still running, diverged (+/- for 1-D), or non-finite.
fn escape_status(x: State) -> u32 {
    for (var k = 0u; k < STATE_DIM; k++) {
        if (real_is_nan(x[k])) {
            return NONFINITE;
        }
    }
    for (var k = 0u; k < STATE_DIM; k++) {
        if (abs(x[k]) > BOUND) {
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
        r[j] += NOISE * real(z.x);
        if (j + 1u < STATE_DIM) {
            r[j + 1u] += NOISE * real(z.y);
        }
    }
    return r;
}

// Farther than the escape radius from the start x0 (Rust twin: `Stepper::status_after_step`).
fn escaped(x: State, x0: State) -> bool {
    var d2: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        let d = x[k] - x0[k];
        d2 += d * d;
    }
    return d2 > ESCAPE2;
}

// Steps are the system's gradient-descent map (fixed-step gd: no tolerance to test the field
// against), as on the CPU (`Stepper::maps`); REDUCED: the map's cheaper form gives its bits.
var<private> MAPPED: bool;
var<private> REDUCED: bool;
// Map steps taken between bounds tests where nothing else can stop a trajectory (no noise, no
// escape test); a block that leaves the bounds is taken again step by step, to stop at the
// first step out (Rust twin: `MAP_STEPS_PER_TEST`).
const MAP_BLOCK: u32 = 8u;

// Loads trajectory i's inputs, and the map's coefficients when it steps by the map.
fn load_trajectory(i: u32) {
    load_inputs(i);
    if (MAPPED) {
        REDUCED = sys_gd_map_coefficients(STEP, BOUND);
    }
}

// The return probe (Rust twin: src/engine/returns.rs): Brent-style checkpoints at the
// trajectory's own steps PROBE_FIRST·2^k that stop it early on a cycle, for the host to confirm.
// PROBE 1: samples every PROBE_STRIDE steps return to the checkpoint (a map; a forced flow's
// stroboscopic map); 2: steps cross the section through the checkpoint normal to the field
// there, next to it (an autonomous flow); 0: none. Its reals follow the state and the step
// rule's memory in `state` (from PROBE_OFFSET), its four counters in `steps` after the tile's
// step counts (`probe_count`).
fn probe_count(i: u32, k: u32) -> u32 {
    return cfg.n_total + 4u * i + k;
}

struct Probe {
    c: State,
    normal: State,
    // The state and field of the step before (the section rule interpolates between them).
    x_prev: State,
    v_prev: State,
    // Returns count within tol; −1 while the probe is closed.
    tol: real,
    reach: real,
    first_time: real,
    opened: u32,
    next: u32,
    closing: u32,
    candidate: u32,
}
var<private> PR: Probe;

fn probe_close() {
    PR.tol = -1.0;
    PR.reach = -1.0;
    PR.candidate = 0u;
    PR.first_time = 0.0;
}

fn probe_begin() {
    probe_close();
    PR.closing = 0u;
    PR.next = PROBE_FIRST;
}

fn probe_load(i: u32) {
    let b = i * STATE_STRIDE + PROBE_OFFSET;
    for (var k = 0u; k < STATE_DIM; k++) {
        PR.c[k] = state[b + k];
        PR.normal[k] = state[b + STATE_DIM + k];
        PR.x_prev[k] = state[b + 2u * STATE_DIM + k];
        PR.v_prev[k] = state[b + 3u * STATE_DIM + k];
    }
    PR.tol = state[b + 4u * STATE_DIM];
    PR.reach = state[b + 4u * STATE_DIM + 1u];
    PR.first_time = state[b + 4u * STATE_DIM + 2u];
    PR.opened = steps[probe_count(i, 0u)];
    PR.next = steps[probe_count(i, 1u)];
    PR.closing = steps[probe_count(i, 2u)];
    PR.candidate = steps[probe_count(i, 3u)];
}

fn probe_store(i: u32) {
    let b = i * STATE_STRIDE + PROBE_OFFSET;
    for (var k = 0u; k < STATE_DIM; k++) {
        state[b + k] = PR.c[k];
        state[b + STATE_DIM + k] = PR.normal[k];
        state[b + 2u * STATE_DIM + k] = PR.x_prev[k];
        state[b + 3u * STATE_DIM + k] = PR.v_prev[k];
    }
    state[b + 4u * STATE_DIM] = PR.tol;
    state[b + 4u * STATE_DIM + 1u] = PR.reach;
    state[b + 4u * STATE_DIM + 2u] = PR.first_time;
    steps[probe_count(i, 0u)] = PR.opened;
    steps[probe_count(i, 1u)] = PR.next;
    steps[probe_count(i, 2u)] = PR.closing;
    steps[probe_count(i, 3u)] = PR.candidate;
}

// x − c, angles modulo their period (Rust: `returns::difference`).
fn probe_difference(x: State, c: State) -> State {
    var d: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        d[k] = x[k] - c[k];
    }
    return wrap_angles(d);
}

// max_k |x_k − c_k| (Rust: `returns::gap`).
fn probe_gap(x: State, c: State) -> real {
    let d = probe_difference(x, c);
    var g: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        g = max(g, abs(d[k]));
    }
    return g;
}

// (x − c)·normal: which side of the section x is (Rust: `returns::side`).
fn probe_side(x: State) -> real {
    let d = probe_difference(x, PR.c);
    var s: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        s = s + d[k] * PR.normal[k];
    }
    return s;
}

fn probe_size(x: State) -> real {
    var m: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        m = max(m, abs(x[k]));
    }
    return m;
}

// 2n, or the largest u32 (a step no run reaches) past it.
fn probe_double(n: u32) -> u32 {
    if (n > 0x7fffffffu) {
        return 0xffffffffu;
    }
    return 2u * n;
}

// The samples rule after step n, at x (Rust: `Probe::after_step`): the cycle's period in
// samples when this sample confirms one (else 0), then the checkpoint events.
fn probe_after_step(n: u32, x: State) -> u32 {
    if (n % PROBE_STRIDE != 0u) {
        return 0u;
    }
    let s = n / PROBE_STRIDE;
    if (PR.tol >= 0.0 && probe_gap(x, PR.c) <= PR.tol) {
        let lag = s - PR.opened;
        if (lag == 1u) {
            // Barely moving: a fixed point the stop rule has not declared yet.
            probe_close();
        } else if (PR.candidate > 0u && lag == 2u * PR.candidate) {
            return PR.candidate;
        } else if ((PR.candidate == 0u || lag > 2u * PR.candidate) && lag <= PROBE_MAX_PERIOD) {
            PR.candidate = lag;
        }
    }
    if (n == PR.next) {
        if (PR.closing != 0u) {
            probe_close();
            PR.closing = 0u;
            PR.next = probe_double(PR.opened * PROBE_STRIDE);
        } else {
            PR.c = x;
            PR.tol = SAMPLES_TOL * (1.0 + probe_size(x));
            PR.opened = s;
            PR.candidate = 0u;
            PR.closing = 1u;
            PR.next = (s + 2u * PROBE_MAX_PERIOD) * PROBE_STRIDE;
        }
    }
    return 0u;
}

// Where between (x0, v0) and (x1, v1) the cubic Hermite interpolant crosses the section (three
// Newton steps from the linear guess), if within tol of the checkpoint; else −1 (Rust:
// `Probe::crossing`, there in f64).
fn probe_crossing(x0: State, v0: State, x1: State, v1: State) -> real {
    let d0 = probe_difference(x0, PR.c);
    let jump = probe_difference(x1, x0);
    var d1: State;
    var a: State;
    var b: State;
    var s0: real = 0.0;
    var s1: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        d1[k] = d0[k] + jump[k];
        a[k] = v0[k] * PROBE_DT;
        b[k] = v1[k] * PROBE_DT;
        s0 += d0[k] * PR.normal[k];
        s1 += d1[k] * PR.normal[k];
    }
    var t: real = 0.5;
    if (s1 > s0) {
        t = clamp(s0 / (s0 - s1), 0.0, 1.0);
    }
    for (var it = 0u; it < 3u; it++) {
        let t2 = t * t;
        let t3 = t2 * t;
        var value: real = 0.0;
        var slope: real = 0.0;
        for (var k = 0u; k < STATE_DIM; k++) {
            let h = (2.0 * t3 - 3.0 * t2 + 1.0) * d0[k] + (t3 - 2.0 * t2 + t) * a[k] + (-2.0 * t3 + 3.0 * t2) * d1[k] + (t3 - t2) * b[k];
            let g = (6.0 * t2 - 6.0 * t) * d0[k] + (3.0 * t2 - 4.0 * t + 1.0) * a[k] + (-6.0 * t2 + 6.0 * t) * d1[k] + (3.0 * t2 - 2.0 * t) * b[k];
            value += h * PR.normal[k];
            slope += g * PR.normal[k];
        }
        if (slope == 0.0) {
            break;
        }
        t = clamp(t - value / slope, 0.0, 1.0);
    }
    let t2 = t * t;
    let t3 = t2 * t;
    var gap: real = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        let h = (2.0 * t3 - 3.0 * t2 + 1.0) * d0[k] + (t3 - 2.0 * t2 + t) * a[k] + (-2.0 * t3 + 3.0 * t2) * d1[k] + (t3 - t2) * b[k];
        gap = max(gap, abs(h));
    }
    if (gap <= PR.tol) {
        return t;
    }
    return -1.0;
}

// The section rule at the top of step n, v the field at x (Rust: `Probe::at_step`): whether
// this step confirms a limit cycle; then the checkpoint event, and x, v kept for the next step.
fn probe_at_step(n: u32, x: State, v: State) -> bool {
    var found = false;
    if (PR.tol >= 0.0 && n >= PR.opened + 2u && probe_side(PR.x_prev) < 0.0 && probe_side(x) >= 0.0 && probe_gap(x, PR.c) <= PR.reach) {
        let theta = probe_crossing(PR.x_prev, PR.v_prev, x, v);
        if (theta >= 0.0) {
            let time = (real(n - 1u - PR.opened) + theta) * PROBE_DT;
            if (PR.first_time > 0.0 && abs(time - 2.0 * PR.first_time) <= 0.1 * PR.first_time) {
                found = true;
            } else {
                PR.first_time = time;
            }
        }
    }
    if (!found && n == PR.next) {
        PR.next = probe_double(n);
        let tol = SECTION_TOL * (1.0 + probe_size(x));
        let speed = probe_size(v) * PROBE_DT;
        if (speed > SECTION_MOVING * tol) {
            PR.c = x;
            PR.normal = v;
            PR.tol = tol;
            PR.reach = 1.5 * speed + tol;
            PR.opened = n;
            PR.first_time = 0.0;
        } else {
            probe_close();
        }
    }
    PR.x_prev = x;
    PR.v_prev = v;
    return found;
}

// The trajectory a worker holds between dispatches, plus one (0: none). Refilling a worker
// whose trajectory ended with the next one nobody has started keeps every lane busy while
// stopping times differ by orders of magnitude (near basin boundaries).
@group(0) @binding(8) var<storage, read_write> workers: array<u32>;

// The next trajectory nobody has started (counters[2] counts them out), or n_total when every
// one has been: trajectories are started in order, whichever worker takes them.
fn take() -> u32 {
    if (atomicLoad(&counters[2]) >= cfg.n_total) {
        return cfg.n_total;
    }
    return min(atomicAdd(&counters[2], 1u), cfg.n_total);
}

// Persistent workers: invocation w steps its trajectory, and when that one stops (converged,
// diverged, escaped or at max_steps) takes the next, until it has made cfg.chunk_steps trips
// (a step or a start each). Where a SIMD group runs in lockstep, a lane whose trajectory stopped
// waits for its group to leave the step loop (every lane stopped, or the dispatch's trips used)
// and then takes new work: a group waits at most one dispatch for its slowest lane, not the
// whole tile. Each trajectory computes exactly what one invocation running it alone would,
// whichever worker runs it and wherever a dispatch ends.
@compute @workgroup_size(64)
fn integrate(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) groups: vec3<u32>) {
    let w = trajectory_index(gid, groups);
    if (w >= cfg.workers) {
        return;
    }
    load_settings();
    MAPPED = GD_MAP && !(TOL > 0.0);
    var held = workers[w];
    var i = 0u;
    var x: State;
    var x0: State;
    var n = 0u;
    if (held != 0u) {
        i = held - 1u;
        load_trajectory(i);
        x = load_state(i);
        rule_load(i);
        if (PROBE != 0u) {
            probe_load(i);
        }
        n = steps[i];
        if (ESCAPE2 > 0.0) {
            x0 = initial_state(i);
        }
    }
    var trip = 0u;
    loop {
        if (trip >= cfg.chunk_steps) {
            break;
        }
        if (held == 0u) {
            trip += 1u;
            i = take();
            if (i >= cfg.n_total) {
                break;
            }
            held = i + 1u;
            load_trajectory(i);
            x = initial_state(i);
            x0 = x;
            rule_reset();
            if (PROBE != 0u) {
                probe_begin();
            }
            n = 0u;
            steps[i] = 0u;
            let s0 = escape_status(x);
            status[i] = s0;
            if (s0 != RUNNING) {
                // Out of bounds before its first step.
                store_state(i, x);
                if (LOSS_RECORD) {
                    sys_field(x);
                    record_start(i, sys_last_loss());
                    record_add(i, 0u, RECORD_CAP, cfg.max_steps);
                }
                held = 0u;
            }
            continue;
        }
        // The trajectory's steps up to the end of this dispatch's trips or max_steps, in the
        // tight loop of a kernel of one trajectory per invocation.
        let start = n;
        let end = min(cfg.max_steps, n + (cfg.chunk_steps - trip));
        var s = RUNNING;
        let blocks = MAPPED && NOISE == 0.0 && !(ESCAPE2 > 0.0);
        // Steps left to take one at a time after a block that left the bounds.
        var single = 0u;
        loop {
            if (n >= end) {
                break;
            }
            // (Not past a checkpoint event of the probe, nor while it is open.)
            if (blocks && single == 0u && end - n >= MAP_BLOCK && (PROBE != 1u || (PR.tol < 0.0 && PR.next > n + MAP_BLOCK))) {
                let before = x;
                for (var k = 0u; k < MAP_BLOCK; k++) {
                    x = sys_gd_map(x, REDUCED);
                }
                if (escape_status(x) == RUNNING) {
                    n += MAP_BLOCK;
                    continue;
                }
                // Out somewhere in the block: the steps below take it again one at a time.
                x = before;
                single = MAP_BLOCK;
            }
            single = max(single, 1u) - 1u;
            if (MAPPED) {
                x = sys_gd_map(x, REDUCED);
            } else {
                if (TIMED) {
                    P[TIME_SLOT] = time_of(n);
                }
                let v = rule_field(x);
                var converged = NOISE == 0.0 && norm(v) < TOL;
                var d: State;
                if (RULE_MEMORY) {
                    // The step first: a point passed at speed has not converged.
                    d = rule_delta(x, v);
                    converged = converged && norm(d) < TOL;
                }
                if (LOSS_RECORD) {
                    record_step(i, n, sys_last_loss(), converged);
                }
                if (converged) {
                    s = CONVERGED;
                    break;
                }
                if (PROBE == 2u && probe_at_step(n, x, v)) {
                    s = CYCLE;
                    break;
                }
                if (RULE_MEMORY) {
                    x = axpy(x, 1.0, d);
                } else {
                    x = advance(x, v, STEP);
                }
                // Angles modulo their periods (the prelude's; Rust twin: `Stepper::wrap_angles`).
                x = wrap_angles(x);
            }
            if (NOISE > 0.0) {
                x = add_noise(x, i, n);
            }
            n += 1u;
            s = escape_status(x);
            if (s == RUNNING && ESCAPE2 > 0.0 && escaped(x, x0)) {
                s = ESCAPED;
            }
            if (s == RUNNING && PROBE == 1u && probe_after_step(n, x) > 0u) {
                s = CYCLE;
            }
            if (s != RUNNING) {
                if (LOSS_RECORD) {
                    record_add(i, n, RECORD_CAP, cfg.max_steps - n);
                }
                break;
            }
        }
        // A converged run's last trip tested without stepping.
        trip += max(n - start, 1u);
        if (s == RUNNING && n >= cfg.max_steps) {
            // Undecided: `finish` marks it so.
            s = UNDECIDED;
        }
        if (s != RUNNING) {
            store_state(i, x);
            if ((SHARPNESS && RULE_MOMENTS) || N_MEMORY > 0u) {
                // The memory at the end: Adam's preconditioner for the sharpness, and what
                // `finish` returns for the host to continue from.
                rule_store(i);
            }
            steps[i] = n;
            // A run at max_steps stays RUNNING until `finish` calls it undecided.
            status[i] = select(s, RUNNING, s == UNDECIDED);
            held = 0u;
        }
    }
    if (held != 0u) {
        store_state(i, x);
        rule_store(i);
        if (PROBE != 0u) {
            probe_store(i);
        }
        steps[i] = n;
        atomicAdd(&counters[0], 1u);
    }
    workers[w] = held;
    check_canary();
}

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let i = trajectory_index(gid, groups);
    if (i >= cfg.n_total) {
        return;
    }
    load_settings();
    load_inputs(i);
    let x = load_state(i);
    if (status[i] == RUNNING) {
        status[i] = UNDECIDED;
    }
    var o: array<real, N_OBS>;
    sys_observables(x, &o);
    if (LOSS_RECORD) {
        record_finish(i);
    }
    for (var k = 0u; k < system_observables(); k++) {
        observables[i * N_OUT + k] = f32(o[k]);
    }
    if (SHARPNESS) {
        if (RULE_MOMENTS) {
            rule_load(i);
        }
        sharp_finish(i, x);
    }
    // The step rule's memory at the end, after the observables, where the host continues
    // trajectories from it (N_MEMORY is 0 where it does not).
    for (var k = 0u; k < N_MEMORY; k++) {
        observables[i * N_OUT + N_OBS + k] = f32(state[i * STATE_STRIDE + STATE_DIM + k]);
    }
    check_canary();
}

// Continuation (Rust: `GpuContinuer`, for classify/continued.rs): invocation k steps row k,
// trajectory workers[k] of the plan (cfg.index_offset is 0) at its step steps[k], from the
// state and step-rule memory the host wrote into `state`, exactly cfg.chunk_steps steps of the
// step rule with neither stop rule nor probe nor noise, or until it leaves the bounds
// (status[k]); then writes the system's observables at its state. After the rows' states (a
// flow's continuation, classify/continued_flows.rs) it records, with cfg.record = 1, the path:
// the state and the field at the top of each step, row k's step cfg.chunk_start + j of the call
// at (((cfg.chunk_start + j)·cfg.n_total + k)·2 + {0: state, 1: field})·STATE_DIM; with
// cfg.record = 2, the lowest and highest of each observable over its state before the steps and
// after each, at (2k + {0: lowest, 1: highest})·N_OBS.
@compute @workgroup_size(64)
fn advance_rows(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(num_workgroups) groups: vec3<u32>) {
    let k = trajectory_index(gid, groups);
    if (k >= cfg.n_total) {
        return;
    }
    load_settings();
    MAPPED = GD_MAP && !(TOL > 0.0);
    load_trajectory(workers[k]);
    TRAJECTORY = k;
    var x = load_state(k);
    let ranges = cfg.n_total * STATE_STRIDE + 2u * k * N_OBS;
    var seen: array<real, N_OBS>;
    if (cfg.record == 2u && cfg.chunk_start == 0u && status[k] == RUNNING) {
        sys_observables(x, &seen);
        for (var q = 0u; q < system_observables(); q++) {
            state[ranges + q] = seen[q];
            state[ranges + N_OBS + q] = seen[q];
        }
    }
    if (status[k] == RUNNING) {
        rule_load(k);
        var n = steps[k];
        for (var j = 0u; j < cfg.chunk_steps; j++) {
            if (MAPPED) {
                x = sys_gd_map(x, REDUCED);
            } else {
                if (TIMED) {
                    P[TIME_SLOT] = time_of(n);
                }
                let v = rule_field(x);
                if (cfg.record == 1u) {
                    let b = cfg.n_total * STATE_STRIDE + ((cfg.chunk_start + j) * cfg.n_total + k) * 2u * STATE_DIM;
                    for (var c = 0u; c < STATE_DIM; c++) {
                        state[b + c] = x[c];
                        state[b + STATE_DIM + c] = v[c];
                    }
                }
                if (RULE_MEMORY) {
                    x = axpy(x, 1.0, rule_delta(x, v));
                } else {
                    x = advance(x, v, STEP);
                }
                x = wrap_angles(x);
            }
            n += 1u;
            let s = escape_status(x);
            if (s != RUNNING) {
                status[k] = s;
                break;
            }
            if (cfg.record == 2u) {
                sys_observables(x, &seen);
                for (var q = 0u; q < system_observables(); q++) {
                    state[ranges + q] = min(state[ranges + q], seen[q]);
                    state[ranges + N_OBS + q] = max(state[ranges + N_OBS + q], seen[q]);
                }
            }
        }
        store_state(k, x);
        rule_store(k);
        steps[k] = n;
    }
    var o: array<real, N_OBS>;
    sys_observables(x, &o);
    for (var q = 0u; q < system_observables(); q++) {
        observables[k * N_OUT + q] = f32(o[q]);
    }
    check_canary();
}
