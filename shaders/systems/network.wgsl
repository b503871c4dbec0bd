// Shared by the network systems (deep-linear, mlp). Rust twin: src/system/network/mod.rs.
// The host prepends the layout: NET_DEPTH, NET_WIDTH, NET_DIM, NET_WIDEST, NET_U (offset of
// the output row U), the work-array sizes, and the system defines `fn net_scale(l)`.
// Weights: W1 (NET_WIDTH x NET_DIM), W2..WD (NET_WIDTH x NET_WIDTH), then U, row-major.
// The observables are computed by one invocation from the stored end state (`net_w`), in the
// CPU engine's order, whichever kernel integrated it.

fn net_fan_in(l: u32) -> u32 {
    if (l == 1u) {
        return NET_DIM;
    }
    return NET_WIDTH;
}

fn net_offset(l: u32) -> u32 {
    if (l == 1u) {
        return 0u;
    }
    return NET_WIDTH * NET_DIM + (l - 2u) * NET_WIDTH * NET_WIDTH;
}

// Offset of layer l's input in an array of activations laid out as x (NET_DIM), then h_1..h_D
// (NET_WIDTH each).
fn net_input_offset(l: u32) -> u32 {
    if (l == 1u) {
        return 0u;
    }
    return NET_DIM + (l - 2u) * NET_WIDTH;
}

// R(w) = |w|^p, given r2 = |w|^2.
fn net_regulariser(r2: f32, p: f32) -> f32 {
    if (p == 2.0) {
        return r2;
    }
    return pow(r2, p * 0.5);
}

// c with grad R(w) = c w, given r2 = |w|^2.
fn net_regulariser_slope(r2: f32, p: f32) -> f32 {
    if (p == 2.0) {
        return 2.0;
    }
    if (r2 == 0.0) {
        return 0.0;
    }
    return p * pow(r2, p * 0.5 - 1.0);
}

// Weight k of this trajectory's stored state.
fn net_w(k: u32) -> f32 {
    return state[TRAJECTORY * STATE_STRIDE + k];
}

// b = s |U| / d0, s the sign of U's first entry.
fn net_order_parameter(d0: f32) -> f32 {
    var s = 0.0;
    for (var k = 0u; k < net_fan_in(NET_DEPTH + 1u); k++) {
        s += net_w(NET_U + k) * net_w(NET_U + k);
    }
    let b = sqrt(s) / d0;
    if (net_w(NET_U) < 0.0) {
        return -b;
    }
    return b;
}

var<private> NET_ROW: array<f32, NET_WIDEST>;
var<private> NET_ROW2: array<f32, NET_WIDEST>;

// |c_{D+1} U c_D W_D ... c_1 W_1|: the norm of the end-to-end linear map.
fn net_end_to_end_norm() -> f32 {
    let nu = net_fan_in(NET_DEPTH + 1u);
    for (var k = 0u; k < nu; k++) {
        NET_ROW[k] = net_w(NET_U + k) * net_scale(NET_DEPTH + 1u);
    }
    for (var l = NET_DEPTH; l > 0u; l--) {
        let n = net_fan_in(l);
        let o = net_offset(l);
        for (var k = 0u; k < n; k++) {
            var acc = 0.0;
            for (var i = 0u; i < NET_WIDTH; i++) {
                acc += NET_ROW[i] * net_w(o + i * n + k);
            }
            NET_ROW2[k] = acc * net_scale(l);
        }
        for (var k = 0u; k < n; k++) {
            NET_ROW[k] = NET_ROW2[k];
        }
    }
    var s = 0.0;
    for (var k = 0u; k < NET_DIM; k++) {
        s += NET_ROW[k] * NET_ROW[k];
    }
    return sqrt(s);
}

// The observables every network reports first: loss, fit, reg, b, e2e_norm.
fn net_common_observables(fit: f32) -> array<f32, 5> {
    var r2 = 0.0;
    for (var k = 0u; k < STATE_DIM; k++) {
        r2 += net_w(k) * net_w(k);
    }
    let reg = net_regulariser(r2, P[P_reg_power]);
    return array<f32, 5>(fit + P[P_gamma] * reg, fit, reg, net_order_parameter(P[P_d0]), net_end_to_end_norm());
}
