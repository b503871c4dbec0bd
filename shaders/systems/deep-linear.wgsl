// deep-linear: a deep linear network on its population loss in closed form (models.md §4):
//   S0 = diag(a), S_l = (W_l S_{l-1} W_l^T) o (J + sigma2 I), v0 = exy, v_l = W_l v_{l-1}
//   loss = U S_D U^T - 2 U v_D + ey2 + gamma |w|^reg_power
// The gradient is a hand-written reverse pass. Rust twin: src/system/network/deep_linear.rs
// (same operations in the same order).

var<private> DL_S: array<f32, NET_SQ_LEN>;      // S_1..S_D
var<private> DL_V: array<f32, NET_ACT_LEN>;     // v_0 (NET_DIM) then v_1..v_D
var<private> DL_T: array<f32, NET_T_LEN>;       // scratch, NET_WIDTH x fan-in
var<private> DL_G: array<f32, NET_SQ_LEN>;      // adjoint of S_l
var<private> DL_G2: array<f32, NET_SQ_LEN>;
var<private> DL_GV: array<f32, NET_WIDEST>;     // adjoint of v_l
var<private> DL_GV2: array<f32, NET_WIDEST>;
var<private> DL_SU: array<f32, NET_WIDEST>;     // S_D U^T

fn net_scale(l: u32) -> f32 {
    return 1.0;
}

// Entry (i, j) of S_D (diag(a) for D = 0).
fn dl_sd(i: u32, j: u32) -> f32 {
    if (NET_DEPTH == 0u) {
        if (i == j) {
            return P[P_a + i];
        }
        return 0.0;
    }
    return DL_S[NET_LAST_SQ + i * NET_WIDTH + j];
}

// The data term; leaves S_l, v_l and S_D U^T for the gradient.
fn dl_forward(w: State) -> f32 {
    let md = 1.0 + P[P_sigma2];
    for (var k = 0u; k < NET_DIM; k++) {
        DL_V[k] = P[P_exy + k];
    }
    for (var l = 1u; l <= NET_DEPTH; l++) {
        let n = net_fan_in(l);
        let o = net_offset(l);
        for (var i = 0u; i < NET_WIDTH; i++) {
            for (var k = 0u; k < n; k++) {
                var acc = 0.0;
                if (l == 1u) {
                    acc = w[o + i * n + k] * P[P_a + k];
                } else {
                    let sp = (l - 2u) * NET_WIDTH * NET_WIDTH;
                    for (var m = 0u; m < n; m++) {
                        acc += w[o + i * n + m] * DL_S[sp + m * n + k];
                    }
                }
                DL_T[i * n + k] = acc;
            }
        }
        let so = (l - 1u) * NET_WIDTH * NET_WIDTH;
        for (var i = 0u; i < NET_WIDTH; i++) {
            for (var j = 0u; j < NET_WIDTH; j++) {
                var acc = 0.0;
                for (var k = 0u; k < n; k++) {
                    acc += DL_T[i * n + k] * w[o + j * n + k];
                }
                if (i == j) {
                    acc = acc * md;
                }
                DL_S[so + i * NET_WIDTH + j] = acc;
            }
        }
        let vp = net_input_offset(l);
        let vo = NET_DIM + (l - 1u) * NET_WIDTH;
        for (var i = 0u; i < NET_WIDTH; i++) {
            var acc = 0.0;
            for (var k = 0u; k < n; k++) {
                acc += w[o + i * n + k] * DL_V[vp + k];
            }
            DL_V[vo + i] = acc;
        }
    }
    let nu = net_fan_in(NET_DEPTH + 1u);
    var quad = 0.0;
    var lin = 0.0;
    for (var i = 0u; i < nu; i++) {
        var acc = 0.0;
        for (var j = 0u; j < nu; j++) {
            acc += dl_sd(i, j) * w[NET_U + j];
        }
        DL_SU[i] = acc;
        quad += w[NET_U + i] * acc;
        lin += w[NET_U + i] * DL_V[NET_LAST_ACT + i];
    }
    return quad - 2.0 * lin + P[P_ey2];
}

// The gradient of the data term; call after dl_forward(w).
fn dl_gradient(w: State) -> State {
    var g: State;
    let nu = net_fan_in(NET_DEPTH + 1u);
    for (var i = 0u; i < nu; i++) {
        g[NET_U + i] = 2.0 * DL_SU[i] - 2.0 * DL_V[NET_LAST_ACT + i];
    }
    if (NET_DEPTH == 0u) {
        return g;
    }
    let md = 1.0 + P[P_sigma2];
    for (var i = 0u; i < NET_WIDTH; i++) {
        for (var j = 0u; j < NET_WIDTH; j++) {
            DL_G[i * NET_WIDTH + j] = w[NET_U + i] * w[NET_U + j];
        }
        DL_GV[i] = -2.0 * w[NET_U + i];
    }
    for (var l = NET_DEPTH; l > 0u; l--) {
        let n = net_fan_in(l);
        let o = net_offset(l);
        for (var i = 0u; i < NET_WIDTH; i++) {
            DL_G[i * NET_WIDTH + i] = DL_G[i * NET_WIDTH + i] * md;
        }
        for (var i = 0u; i < NET_WIDTH; i++) {
            for (var k = 0u; k < n; k++) {
                var acc = 0.0;
                for (var m = 0u; m < NET_WIDTH; m++) {
                    acc += DL_G[i * NET_WIDTH + m] * w[o + m * n + k];
                }
                DL_T[i * n + k] = acc;
            }
        }
        let vp = net_input_offset(l);
        for (var i = 0u; i < NET_WIDTH; i++) {
            for (var k = 0u; k < n; k++) {
                var ts = 0.0;
                if (l == 1u) {
                    ts = DL_T[i * n + k] * P[P_a + k];
                } else {
                    let sp = (l - 2u) * NET_WIDTH * NET_WIDTH;
                    for (var m = 0u; m < n; m++) {
                        ts += DL_T[i * n + m] * DL_S[sp + m * n + k];
                    }
                }
                g[o + i * n + k] = 2.0 * ts + DL_GV[i] * DL_V[vp + k];
            }
        }
        if (l > 1u) {
            for (var m = 0u; m < n; m++) {
                for (var k = 0u; k < n; k++) {
                    var acc = 0.0;
                    for (var i = 0u; i < NET_WIDTH; i++) {
                        acc += w[o + i * n + m] * DL_T[i * n + k];
                    }
                    DL_G2[m * n + k] = acc;
                }
                var acc = 0.0;
                for (var i = 0u; i < NET_WIDTH; i++) {
                    acc += w[o + i * n + m] * DL_GV[i];
                }
                DL_GV2[m] = acc;
            }
            for (var k = 0u; k < NET_WIDTH * NET_WIDTH; k++) {
                DL_G[k] = DL_G2[k];
            }
            for (var k = 0u; k < NET_WIDTH; k++) {
                DL_GV[k] = DL_GV2[k];
            }
        }
    }
    return g;
}

fn sys_field(x: State) -> State {
    dl_forward(x);
    var v = dl_gradient(x);
    let c = P[P_gamma] * net_regulariser_slope(x, P[P_reg_power]);
    for (var k = 0u; k < STATE_DIM; k++) {
        v[k] = -(v[k] + c * x[k]);
    }
    return v;
}

fn sys_observables(x: State, o: ptr<function, array<f32, N_OBS>>) {
    net_common_observables(x, dl_forward(x), o);
}
