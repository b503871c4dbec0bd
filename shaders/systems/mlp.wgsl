// mlp: a fully connected network with an activation, trained full-batch on a data set
// (models.md §5): z_l = c_l W_l h_{l-1}, h_l = act(z_l), f = c_{D+1} U h_D,
//   loss = mean_i (f(x_i) - y_i)^2 + gamma |w|^reg_power,
// layer l stepping by lr * lr_l (the kernel applies lr_l: `step_factor_of`). The host prepends NET_N, MLP_BATCH, `net_scale`, `net_act`,
// `net_act_deriv`. The samples are in `data`: x row-major (NET_N x NET_DIM), then y.
// Run by the cooperative kernel (coop.wgsl): the samples go through in chunks of MLP_BATCH,
// each layer's matrix product shared out over the workgroup one (sample, unit) per invocation;
// each weight's gradient is summed over the samples in order by one invocation, as in the Rust
// twin, src/system/network/mlp.rs. A step's field is that of its minibatch (parameter `batch`):
// invocation 0 draws the samples (src/minibatch.rs, Algorithm S) into MLP_IDX chunk by chunk.

var<workgroup> MLP_H: array<f32, MLP_H_LEN>;   // per sample of the batch: x, then h_1..h_D
var<workgroup> MLP_Z: array<f32, MLP_Z_LEN>;   // per sample: z_1..z_D, then the deltas in their place
var<workgroup> MLP_F: array<f32, MLP_BATCH>;   // per sample: the output
var<workgroup> MLP_R: array<f32, MLP_BATCH>;   // per sample: the residual f - y
var<workgroup> MLP_FIT: f32;
var<workgroup> MLP_RMS: f32;
var<workgroup> MLP_LOSS: f32;                   // the loss at the last field's state (loss record)
var<workgroup> MLP_IDX: array<u32, MLP_BATCH>;  // the samples of the chunk
var<workgroup> MLP_COUNT: u32;                  // how many
var<workgroup> MLP_PARTIAL: u32;                // 1: the field took part of the data

const MLP_INV_N: f32 = 1.0 / f32(NET_N);

// Invocation 0's sampler over one pass (minibatch.rs `Selector`).
var<private> MLP_NEXT: u32;         // the next sample to consider
var<private> MLP_NEED: u32;         // samples still to take
var<private> MLP_PAIR: u32;         // the pair of samples whose random words MLP_WORDS holds
var<private> MLP_WORDS: vec2<u32>;

// The samples a field of this trajectory takes: its `batch` rounded (halves up) within 1..=n
// where the step draws (minibatch.rs `batch_size`, exact in f32 as in f64), all of them otherwise.
fn mlp_batch_size() -> u32 {
    let v = P[P_batch];
    if (!DRAW_ON || is_nan(v)) {
        return NET_N;
    }
    let b = floor(v) + select(0.0, 1.0, v - floor(v) >= 0.5);
    return u32(clamp(b, 1.0, f32(NET_N)));
}

// Whether invocation 0's pass takes sample `s` (s = 0, 1, ... in order): Algorithm S, with the
// uniform of (trajectory, step) under the minibatch key (minibatch.rs `Selector::take`).
fn mlp_take(s: u32) -> bool {
    let need = MLP_NEED;
    let left = NET_N - s;
    var taken = need >= left;
    if (!taken && need > 0u) {
        let pair = s / 2u;
        if (pair != MLP_PAIR) {
            MLP_PAIR = pair;
            let key = vec2<u32>(cfg.seed_lo ^ (pair * 0x9E3779B9u), cfg.seed_hi ^ 0x4D424154u);
            MLP_WORDS = threefry2x32(key, vec2<u32>(DRAW_TRAJECTORY, DRAW_STEP));
        }
        let word = select(MLP_WORDS.x, MLP_WORDS.y, (s & 1u) == 1u);
        taken = f32(word >> 8u) * (1.0 / 16777216.0) * f32(left) < f32(need);
    }
    if (taken) {
        MLP_NEED = need - 1u;
    }
    return taken;
}

// Layer l (1-based, NET_DEPTH + 1 for U) of weight j.
fn mlp_layer(j: u32) -> u32 {
    if (j >= NET_U) {
        return NET_DEPTH + 1u;
    }
    if (j < NET_WIDTH * NET_DIM) {
        return 1u;
    }
    return 2u + (j - NET_WIDTH * NET_DIM) / (NET_WIDTH * NET_WIDTH);
}

// The mean squared error over the data into MLP_FIT (and the outputs' root mean square into
// MLP_RMS); with `with_grad` its gradient in V.
fn mlp_fit(lid: u32, with_grad: bool) {
    let size = mlp_batch_size();
    // 1 / n as the constant it was (exact), where the field takes every sample.
    let inv_n = select(1.0 / f32(size), MLP_INV_N, size == NET_N);
    let nu = net_fan_in(NET_DEPTH + 1u);
    let c_out = net_scale(NET_DEPTH + 1u);
    if (with_grad) {
        for (var j = lid; j < STATE_DIM; j += COOP) {
            V[j] = 0.0;
        }
    }
    var sse = 0.0;
    var sso = 0.0;
    if (lid == 0u) {
        MLP_NEXT = 0u;
        MLP_NEED = size;
        MLP_PAIR = NONE;
    }
    loop {
        // The chunk's samples, drawn by invocation 0; the pass ends with an empty chunk.
        if (lid == 0u) {
            var c = 0u;
            while (c < MLP_BATCH && MLP_NEED > 0u && MLP_NEXT < NET_N) {
                if (mlp_take(MLP_NEXT)) {
                    MLP_IDX[c] = MLP_NEXT;
                    c++;
                }
                MLP_NEXT++;
            }
            MLP_COUNT = c;
        }
        let count = workgroupUniformLoad(&MLP_COUNT);
        if (count == 0u) {
            break;
        }
        for (var e = lid; e < count * NET_DIM; e += COOP) {
            let b = e / NET_DIM;
            MLP_H[b * NET_ACT_LEN + e % NET_DIM] = data[MLP_IDX[b] * NET_DIM + e % NET_DIM];
        }
        workgroupBarrier();
        for (var l = 1u; l <= NET_DEPTH; l++) {
            let fan = net_fan_in(l);
            let o = net_offset(l);
            let hp = net_input_offset(l);
            for (var e = lid; e < count * NET_WIDTH; e += COOP) {
                let b = e / NET_WIDTH;
                let i = e % NET_WIDTH;
                var acc = 0.0;
                for (var k = 0u; k < fan; k++) {
                    acc += X[o + i * fan + k] * MLP_H[b * NET_ACT_LEN + hp + k];
                }
                let z = net_scale(l) * acc;
                MLP_Z[b * NET_HIDDEN_LEN + (l - 1u) * NET_WIDTH + i] = z;
                MLP_H[b * NET_ACT_LEN + NET_DIM + (l - 1u) * NET_WIDTH + i] = net_act(z);
            }
            workgroupBarrier();
        }
        for (var b = lid; b < count; b += COOP) {
            var acc = 0.0;
            for (var k = 0u; k < nu; k++) {
                acc += X[NET_U + k] * MLP_H[b * NET_ACT_LEN + NET_LAST_ACT + k];
            }
            let f = c_out * acc;
            MLP_F[b] = f;
            MLP_R[b] = f - data[NET_N * NET_DIM + MLP_IDX[b]];
        }
        workgroupBarrier();
        // Invocation 0 sums the batch in sample order; only it writes MLP_FIT and MLP_RMS.
        if (lid == 0u) {
            for (var b = 0u; b < count; b++) {
                sse += MLP_R[b] * MLP_R[b];
                sso += MLP_F[b] * MLP_F[b];
            }
        }
        if (with_grad) {
            // The deltas, layer by layer down, each over the batch: upstream * act' * c_l.
            for (var l = NET_DEPTH; l > 0u; l--) {
                for (var e = lid; e < count * NET_WIDTH; e += COOP) {
                    let b = e / NET_WIDTH;
                    let i = e % NET_WIDTH;
                    var up = 0.0;
                    if (l == NET_DEPTH) {
                        up = 2.0 * MLP_R[b] * inv_n * c_out * X[NET_U + i];
                    } else {
                        let o = net_offset(l + 1u);
                        for (var m = 0u; m < NET_WIDTH; m++) {
                            up += X[o + m * NET_WIDTH + i] * MLP_Z[b * NET_HIDDEN_LEN + l * NET_WIDTH + m];
                        }
                    }
                    let zi = b * NET_HIDDEN_LEN + (l - 1u) * NET_WIDTH + i;
                    let h = MLP_H[b * NET_ACT_LEN + NET_DIM + (l - 1u) * NET_WIDTH + i];
                    MLP_Z[zi] = up * net_act_deriv(MLP_Z[zi], h) * net_scale(l);
                }
                workgroupBarrier();
            }
            // Each weight sums its share of the batch in sample order.
            for (var j = lid; j < STATE_DIM; j += COOP) {
                let l = mlp_layer(j);
                var g = V[j];
                if (l == NET_DEPTH + 1u) {
                    let k = j - NET_U;
                    for (var b = 0u; b < count; b++) {
                        let delta = 2.0 * MLP_R[b] * inv_n * c_out;
                        g += delta * MLP_H[b * NET_ACT_LEN + NET_LAST_ACT + k];
                    }
                } else {
                    let fan = net_fan_in(l);
                    let i = (j - net_offset(l)) / fan;
                    let k = (j - net_offset(l)) % fan;
                    let hp = net_input_offset(l);
                    for (var b = 0u; b < count; b++) {
                        g += MLP_Z[b * NET_HIDDEN_LEN + (l - 1u) * NET_WIDTH + i] * MLP_H[b * NET_ACT_LEN + hp + k];
                    }
                }
                V[j] = g;
            }
        }
        // The next chunk overwrites the work arrays and MLP_IDX.
        workgroupBarrier();
    }
    if (lid == 0u) {
        MLP_RMS = sqrt(sso * inv_n);
        MLP_FIT = sse * inv_n;
    }
    workgroupBarrier();
}

fn sys_field_coop(lid: u32) {
    mlp_fit(lid, true);
    if (LOSS_RECORD) {
        // The loss record follows the loss on the whole data set, not the step's minibatch
        // (mlp.rs `field_and_loss_drawn`): one more pass, without the gradient, where the
        // field took part of the data. Invocation 0 says so, uniformly.
        if (lid == 0u) {
            MLP_PARTIAL = select(0u, 1u, mlp_batch_size() < NET_N);
        }
        if (workgroupUniformLoad(&MLP_PARTIAL) == 1u) {
            let on = DRAW_ON;
            DRAW_ON = false;
            mlp_fit(lid, false);
            DRAW_ON = on;
        }
    }
    let r2 = coop_sq_norm(lid);
    let c = P[P_gamma] * net_regulariser_slope(r2, P[P_reg_power]);
    // The plain -grad: the kernel scales it by the layers' step factors (`step_factor_of`).
    for (var j = lid; j < STATE_DIM; j += COOP) {
        V[j] = -(V[j] + c * X[j]);
    }
    if (lid == 0u) {
        MLP_LOSS = MLP_FIT + P[P_gamma] * net_regulariser(r2, P[P_reg_power]);
    }
    workgroupBarrier();
}

// Read by invocation 0 only, after the barrier that ends sys_field_coop.
fn sys_last_loss() -> f32 {
    return MLP_LOSS;
}

fn sys_observables_coop(lid: u32) {
    mlp_fit(lid, false);
    if (lid == 0u) {
        let first = net_common_observables(MLP_FIT);
        for (var k = 0u; k < 5u; k++) {
            COOP_OBS[k] = first[k];
        }
        COOP_OBS[5] = MLP_RMS;
    }
    workgroupBarrier();
}
