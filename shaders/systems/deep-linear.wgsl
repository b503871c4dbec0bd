// deep-linear: a deep linear network on its population loss in closed form (models.md §4):
//   S0 = diag(a), S_l = (W_l S_{l-1} W_l^T) o (J + sigma2 I), v0 = exy, v_l = W_l v_{l-1}
//   loss = U S_D U^T - 2 U v_D + ey2 + gamma |w|^reg_power
// The gradient is a hand-written reverse pass. Run by the cooperative kernel (coop.wgsl): the
// weights are X, and each matrix product is shared out over the workgroup one entry per
// invocation, every entry summed in the order of the Rust twin, src/system/network/deep_linear.rs.

var<workgroup> DL_S: array<f32, NET_SQ_LEN>;    // S_1..S_D
var<workgroup> DL_V: array<f32, NET_ACT_LEN>;   // v_0 (NET_DIM) then v_1..v_D
var<workgroup> DL_T: array<f32, NET_T_LEN>;     // scratch, NET_WIDTH x fan-in
var<workgroup> DL_G: array<f32, NET_WW>;        // adjoint of S_l, times (J + sigma2 I)
var<workgroup> DL_GV: array<f32, NET_WIDEST>;   // adjoint of v_l
var<workgroup> DL_GV2: array<f32, NET_WIDEST>;
var<workgroup> DL_SU: array<f32, NET_WIDEST>;   // S_D U^T
var<workgroup> DL_FIT: f32;

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

// The data term into DL_FIT; leaves S_l, v_l and S_D U^T for the gradient.
fn dl_forward(lid: u32) {
    let md = 1.0 + P[P_sigma2];
    for (var k = lid; k < NET_DIM; k += COOP) {
        DL_V[k] = P[P_exy + k];
    }
    workgroupBarrier();
    for (var l = 1u; l <= NET_DEPTH; l++) {
        let n = net_fan_in(l);
        let o = net_offset(l);
        // T = W_l S_{l-1}, and v_l = W_l v_{l-1}.
        for (var e = lid; e < NET_WIDTH * n; e += COOP) {
            let i = e / n;
            let k = e % n;
            var acc = 0.0;
            if (l == 1u) {
                acc = X[o + i * n + k] * P[P_a + k];
            } else {
                let sp = (l - 2u) * NET_WIDTH * NET_WIDTH;
                for (var m = 0u; m < n; m++) {
                    acc += X[o + i * n + m] * DL_S[sp + m * n + k];
                }
            }
            DL_T[e] = acc;
        }
        let vp = net_input_offset(l);
        let vo = NET_DIM + (l - 1u) * NET_WIDTH;
        for (var i = lid; i < NET_WIDTH; i += COOP) {
            var acc = 0.0;
            for (var k = 0u; k < n; k++) {
                acc += X[o + i * n + k] * DL_V[vp + k];
            }
            DL_V[vo + i] = acc;
        }
        workgroupBarrier();
        // S_l = T W_l^T o (J + sigma2 I).
        let so = (l - 1u) * NET_WIDTH * NET_WIDTH;
        for (var e = lid; e < NET_WIDTH * NET_WIDTH; e += COOP) {
            let i = e / NET_WIDTH;
            let j = e % NET_WIDTH;
            var acc = 0.0;
            for (var k = 0u; k < n; k++) {
                acc += DL_T[i * n + k] * X[o + j * n + k];
            }
            if (i == j) {
                acc = acc * md;
            }
            DL_S[so + e] = acc;
        }
        workgroupBarrier();
    }
    let nu = net_fan_in(NET_DEPTH + 1u);
    for (var i = lid; i < nu; i += COOP) {
        var acc = 0.0;
        for (var j = 0u; j < nu; j++) {
            acc += dl_sd(i, j) * X[NET_U + j];
        }
        DL_SU[i] = acc;
    }
    workgroupBarrier();
    if (lid == 0u) {
        var quad = 0.0;
        var lin = 0.0;
        for (var i = 0u; i < nu; i++) {
            quad += X[NET_U + i] * DL_SU[i];
            lin += X[NET_U + i] * DL_V[NET_LAST_ACT + i];
        }
        DL_FIT = quad - 2.0 * lin + P[P_ey2];
    }
    workgroupBarrier();
}

// The gradient of the data term into V; call after dl_forward.
fn dl_gradient(lid: u32) {
    let nu = net_fan_in(NET_DEPTH + 1u);
    for (var i = lid; i < nu; i += COOP) {
        V[NET_U + i] = 2.0 * DL_SU[i] - 2.0 * DL_V[NET_LAST_ACT + i];
    }
    if (NET_DEPTH == 0u) {
        workgroupBarrier();
        return;
    }
    let md = 1.0 + P[P_sigma2];
    for (var e = lid; e < NET_WIDTH * NET_WIDTH; e += COOP) {
        let i = e / NET_WIDTH;
        let j = e % NET_WIDTH;
        var g = X[NET_U + i] * X[NET_U + j];
        if (i == j) {
            g = g * md;
        }
        DL_G[e] = g;
    }
    for (var i = lid; i < NET_WIDTH; i += COOP) {
        DL_GV[i] = -2.0 * X[NET_U + i];
    }
    workgroupBarrier();
    for (var l = NET_DEPTH; l > 0u; l--) {
        let n = net_fan_in(l);
        let o = net_offset(l);
        // T = (G o M) W_l.
        for (var e = lid; e < NET_WIDTH * n; e += COOP) {
            let i = e / n;
            let k = e % n;
            var acc = 0.0;
            for (var m = 0u; m < NET_WIDTH; m++) {
                acc += DL_G[i * NET_WIDTH + m] * X[o + m * n + k];
            }
            DL_T[e] = acc;
        }
        workgroupBarrier();
        // dW_l = 2 T S_{l-1} + g v_{l-1}^T.
        let vp = net_input_offset(l);
        for (var e = lid; e < NET_WIDTH * n; e += COOP) {
            let i = e / n;
            let k = e % n;
            var ts = 0.0;
            if (l == 1u) {
                ts = DL_T[e] * P[P_a + k];
            } else {
                let sp = (l - 2u) * NET_WIDTH * NET_WIDTH;
                for (var m = 0u; m < n; m++) {
                    ts += DL_T[i * n + m] * DL_S[sp + m * n + k];
                }
            }
            V[o + e] = 2.0 * ts + DL_GV[i] * DL_V[vp + k];
        }
        if (l > 1u) {
            // Down a layer: G <- (W_l^T T) o M, g <- W_l^T g.
            for (var e = lid; e < n * n; e += COOP) {
                let m = e / n;
                let k = e % n;
                var acc = 0.0;
                for (var i = 0u; i < NET_WIDTH; i++) {
                    acc += X[o + i * n + m] * DL_T[i * n + k];
                }
                if (m == k) {
                    acc = acc * md;
                }
                DL_G[e] = acc;
            }
            for (var m = lid; m < n; m += COOP) {
                var acc = 0.0;
                for (var i = 0u; i < NET_WIDTH; i++) {
                    acc += X[o + i * n + m] * DL_GV[i];
                }
                DL_GV2[m] = acc;
            }
            workgroupBarrier();
            for (var m = lid; m < n; m += COOP) {
                DL_GV[m] = DL_GV2[m];
            }
        }
        workgroupBarrier();
    }
}

fn sys_field_coop(lid: u32) {
    dl_forward(lid);
    dl_gradient(lid);
    // |w|^2 is reduced even for reg_power 2, where the slope ignores it: a branch on P (private,
    // so not provably uniform) may not skip the reduction's barriers.
    let c = P[P_gamma] * net_regulariser_slope(coop_sq_norm(lid), P[P_reg_power]);
    for (var k = lid; k < STATE_DIM; k += COOP) {
        V[k] = -(V[k] + c * X[k]);
    }
    workgroupBarrier();
}

fn sys_observables_coop(lid: u32) {
    dl_forward(lid);
    if (lid == 0u) {
        let first = net_common_observables(DL_FIT);
        for (var k = 0u; k < 5u; k++) {
            COOP_OBS[k] = first[k];
        }
    }
    workgroupBarrier();
}
