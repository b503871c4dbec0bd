// mlp: a fully connected network with an activation, trained full-batch on a data set
// (models.md §5): z_l = c_l W_l h_{l-1}, h_l = act(z_l), f = c_{D+1} U h_D,
//   loss = mean_i (f(x_i) - y_i)^2 + gamma |w|^reg_power,
// layer l stepping by lr * lr_l. The host prepends NET_N, `net_scale`, `net_act`, `net_act_deriv`.
// The samples are in `data`: x row-major (NET_N x NET_DIM), then y. Rust twin:
// src/system/network/mlp.rs (same operations in the same order).

var<private> MLP_H: array<f32, NET_ACT_LEN>;     // h_0 = x, then h_1..h_D
var<private> MLP_Z: array<f32, NET_HIDDEN_LEN>;  // z_1..z_D
var<private> MLP_DH: array<f32, NET_WIDEST>;
var<private> MLP_DH2: array<f32, NET_WIDEST>;
var<private> MLP_GRAD: State;
var<private> MLP_RMS: f32;
var<private> MLP_LOSS: f32;  // the loss at the last sys_field's state, for the loss record

fn mlp_sq_norm(w: State) -> f32 {
    var s = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        s += w[k] * w[k];
    }
    return s;
}

// The mean squared error over the data; with `with_grad` its gradient in MLP_GRAD. Leaves the
// outputs' root mean square in MLP_RMS.
fn mlp_fit(w: State, with_grad: bool) -> f32 {
    let inv_n = 1.0 / f32(NET_N);
    let nu = net_fan_in(NET_DEPTH + 1u);
    if (with_grad) {
        for (var k = 0u; k < STATE_DIM; k++) {
            MLP_GRAD[k] = 0.0;
        }
    }
    var sse = 0.0;
    var sso = 0.0;
    for (var s = 0u; s < NET_N; s++) {
        for (var k = 0u; k < NET_DIM; k++) {
            MLP_H[k] = data[s * NET_DIM + k];
        }
        for (var l = 1u; l <= NET_DEPTH; l++) {
            let fan = net_fan_in(l);
            let o = net_offset(l);
            let hp = net_input_offset(l);
            for (var i = 0u; i < NET_WIDTH; i++) {
                var acc = 0.0;
                for (var k = 0u; k < fan; k++) {
                    acc += w[o + i * fan + k] * MLP_H[hp + k];
                }
                let z = net_scale(l) * acc;
                MLP_Z[(l - 1u) * NET_WIDTH + i] = z;
                MLP_H[NET_DIM + (l - 1u) * NET_WIDTH + i] = net_act(z);
            }
        }
        var acc = 0.0;
        for (var k = 0u; k < nu; k++) {
            acc += w[NET_U + k] * MLP_H[NET_LAST_ACT + k];
        }
        let f = net_scale(NET_DEPTH + 1u) * acc;
        let r = f - data[NET_N * NET_DIM + s];
        sse += r * r;
        sso += f * f;
        if (!with_grad) {
            continue;
        }
        let delta = 2.0 * r * inv_n * net_scale(NET_DEPTH + 1u);
        for (var k = 0u; k < nu; k++) {
            MLP_GRAD[NET_U + k] += delta * MLP_H[NET_LAST_ACT + k];
            MLP_DH[k] = delta * w[NET_U + k];
        }
        for (var l = NET_DEPTH; l > 0u; l--) {
            let fan = net_fan_in(l);
            let o = net_offset(l);
            let hp = net_input_offset(l);
            for (var i = 0u; i < NET_WIDTH; i++) {
                let z = MLP_Z[(l - 1u) * NET_WIDTH + i];
                let hv = MLP_H[NET_DIM + (l - 1u) * NET_WIDTH + i];
                MLP_DH[i] = MLP_DH[i] * net_act_deriv(z, hv) * net_scale(l);
            }
            for (var k = 0u; k < fan; k++) {
                var back = 0.0;
                for (var i = 0u; i < NET_WIDTH; i++) {
                    MLP_GRAD[o + i * fan + k] += MLP_DH[i] * MLP_H[hp + k];
                    back += w[o + i * fan + k] * MLP_DH[i];
                }
                MLP_DH2[k] = back;
            }
            for (var k = 0u; k < fan; k++) {
                MLP_DH[k] = MLP_DH2[k];
            }
        }
    }
    MLP_RMS = sqrt(sso * inv_n);
    return sse * inv_n;
}

fn sys_field(x: State) -> State {
    let fit = mlp_fit(x, true);
    let c = P[P_gamma] * net_regulariser_slope(mlp_sq_norm(x), P[P_reg_power]);
    var v: State;
    for (var l = 1u; l <= NET_DEPTH + 1u; l++) {
        let lr = P[P_lr1 + l - 1u];
        var end = STATE_DIM;
        if (l <= NET_DEPTH) {
            end = net_offset(l + 1u);
        }
        for (var j = net_offset(l); j < end; j++) {
            v[j] = -lr * (MLP_GRAD[j] + c * x[j]);
        }
    }
    MLP_LOSS = fit + P[P_gamma] * net_regulariser(mlp_sq_norm(x), P[P_reg_power]);
    return v;
}

fn sys_last_loss() -> f32 {
    return MLP_LOSS;
}

fn sys_observables(x: State, o: ptr<function, array<f32, N_OBS>>) {
    let first = net_common_observables(mlp_fit(x, false));
    for (var k = 0u; k < 5u; k++) {
        (*o)[k] = first[k];
    }
    (*o)[5] = MLP_RMS;
}
