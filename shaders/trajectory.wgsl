// basinmap — what both kernels do for one trajectory around its integration: load its inputs,
// draw its start, keep its loss record. Appended after the step rule, before the kernel.

// Fills P (and TRAJECTORY) with this trajectory's inputs and settings: the base values with the
// axis values written over them; then its step (and, under NOISE_VARIES, its noise scale
// sqrt(2 step T), as `Dynamics::hyper` computes it).
fn load_inputs(i: u32) {
    TRAJECTORY = i;
    for (var k = 0u; k < N_INPUTS + N_HYPER; k++) {
        P[k] = table[k];
    }
    let g = (cfg.index_offset + i) / cfg.samples;
    let ix = g % cfg.nx;
    let iy = g / cfg.nx;
    if (cfg.x_target != NO_TARGET) {
        P[cfg.x_target] = table[N_INPUTS + N_HYPER + ix];
    }
    if (cfg.y_target != NO_TARGET) {
        P[cfg.y_target] = table[N_INPUTS + N_HYPER + cfg.nx + iy];
    }
    let zipped = N_INPUTS + N_HYPER + cfg.nx + cfg.ny + N_SETTINGS;
    for (var c = 0u; c < cfg.zipped; c++) {
        P[u32(table[zipped + c])] = table[zipped + cfg.zipped + c * cfg.nx + ix];
    }
    STEP = rule_setting(H_STEP);
    if (NOISE_VARIES) {
        NOISE = sqrt(2.0 * STEP * rule_setting(H_TEMPERATURE));
    }
}

// Where trajectory i stands after a chunk of steps: its status, the steps taken, and whether it
// still runs (counters[0], which the host reads to stop once every trajectory has settled).
fn end_chunk(i: u32, s: u32, n: u32) {
    status[i] = s;
    steps[i] = n;
    if (s == RUNNING) {
        atomicAdd(&counters[0], 1u);
    }
}

// The start of component pair (j, j + 1): the start values (axes applied), plus
// init_scale * N(0, 1) per component for a system with a random start. Component j of sample k
// at grid point g uses the generator's counter (g, k * ceil(STATE_DIM / 2) + j / 2), with g = 0
// for every point under SHARED_INIT: the same bits whatever the tiling or the kernel. The second
// value is meaningless when j + 1 == STATE_DIM. Rust twin: `Plan::start_f32`.
fn start_pair(i: u32, j: u32) -> vec2<real> {
    var x = vec2<real>(P[N_PARAMS + j], P[N_PARAMS + min(j + 1u, STATE_DIM - 1u)]);
    if (RANDOM_INIT) {
        let gi = cfg.index_offset + i;
        var point = gi / cfg.samples;
        if (SHARED_INIT) {
            point = 0u;
        }
        let base = (gi % cfg.samples) * ((STATE_DIM + 1u) / 2u);
        let key = vec2<u32>(cfg.seed_lo, cfg.seed_hi);
        let z = normal_pair(threefry2x32(key, vec2<u32>(point, base + j / 2u)));
        // The f32 draw in any precision, as on the CPU.
        x += vec2<real>(init_scale_of(j), init_scale_of(j + 1u)) * vec2<real>(z);
    }
    return x;
}

// Langevin noise of component pair (j, j + 1) at step n: two N(0, 1) values under the seed's key
// mixed with the pair index and "LANG", at counter (global trajectory index, n): the same bits
// whatever the tiling or the kernel. Rust twin: `dynamics::langevin_pair`.
fn langevin_pair(i: u32, n: u32, j: u32) -> vec2<f32> {
    let key = vec2<u32>(cfg.seed_lo ^ ((j / 2u) * 0x9E3779B9u), cfg.seed_hi ^ 0x4C414E47u);
    return normal_pair(threefry2x32(key, vec2<u32>(cfg.index_offset + i, n)));
}

// The loss record (systems with LOSS_RECORD): with r_t = loss(x_t) / loss(x_0) capped at
// RECORD_CAP, the last five observables hold loss0, the sum of r_t and the sum of r_t over the
// last RECORD_WINDOW steps while the run goes on (`finish` turns the latter into a mean and adds
// converged = (mean < 1)), and the sum of 1/r_t (each capped at RECORD_CAP). A run that stops early counts its last ratio (converged) or the cap
// (escaped) for the steps it no longer takes. Rust twin: `dynamics::LossRecord`.
fn record_slot(i: u32) -> u32 {
    return i * N_OUT + N_OBS - 5u;
}

fn record_start(i: u32, loss0: f32) {
    let b = record_slot(i);
    observables[b] = loss0;
    observables[b + 1u] = 0.0;
    observables[b + 2u] = 0.0;
    observables[b + 4u] = 0.0;
}

// v, or RECORD_CAP when v is NaN or above it.
fn record_capped(v: f32) -> f32 {
    if (is_nan(v) || v > RECORD_CAP) {
        return RECORD_CAP;
    }
    return v;
}

fn record_ratio(i: u32, loss: f32) -> f32 {
    return record_capped(loss / observables[record_slot(i)]);
}

// Adds ratio r for `count` steps from step t.
fn record_add(i: u32, t: u32, r: f32, count: u32) {
    let b = record_slot(i);
    observables[b + 1u] += r * f32(count);
    observables[b + 4u] += record_capped(1.0 / r) * f32(count);
    let tail_start = cfg.max_steps - min(RECORD_WINDOW, cfg.max_steps);
    let end = t + count;
    let first = max(t, tail_start);
    var in_tail = 0u;
    if (end > first) {
        in_tail = end - first;
    }
    observables[b + 2u] += r * f32(in_tail);
}

// Records step n's loss; a converged run counts it for every step left.
fn record_step(i: u32, n: u32, loss: f32, converged: bool) {
    if (n == 0u) {
        record_start(i, loss);
    }
    var count = 1u;
    if (converged) {
        count = cfg.max_steps - n;
    }
    record_add(i, n, record_ratio(i, loss), count);
}

// At the end: turns the tail sum into its mean and adds `converged`.
fn record_finish(i: u32) {
    let b = record_slot(i);
    let tail_mean = observables[b + 2u] / f32(min(RECORD_WINDOW, cfg.max_steps));
    observables[b + 2u] = tail_mean;
    observables[b + 3u] = select(0.0, 1.0, tail_mean < 1.0);
}

// The observables the system itself computes: all but the sharpness's (which follow them) and
// the loss record's (last).
fn system_observables() -> u32 {
    if (LOSS_RECORD) {
        return max(N_OBS, 5u + N_SHARP) - 5u - N_SHARP;
    }
    return max(N_OBS, N_SHARP) - N_SHARP;
}
