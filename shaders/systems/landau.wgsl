// landau: F(m) = r m^2 + c m^3 + u m^4 + w m^6 - h m, flow dm/dt = -F'(m).
// Rust mirror: src/system/landau.rs.

fn sys_loss(x: State) -> real {
    let m = x[0];
    let m2 = m * m;
    return P[P_r] * m2 + P[P_c] * m2 * m + P[P_u] * m2 * m2 + P[P_w] * m2 * m2 * m2 - P[P_h] * m;
}

fn sys_field(x: State) -> State {
    let m = x[0];
    let m2 = m * m;
    // F'(m) = ((6w m^2 + 4u) m^2 + (3c m + 2r)) m - h, Horner with fused multiply-adds (as the CPU).
    let inner = fma(fma(6.0 * P[P_w], m2, 4.0 * P[P_u]), m2, fma(3.0 * P[P_c], m, 2.0 * P[P_r]));
    var v: State;
    v[0] = -fma(inner, m, -P[P_h]);
    return v;
}

fn sys_observables(x: State, o: ptr<function, array<real, N_OBS>>) {
    (*o)[0] = x[0];
    (*o)[1] = sys_loss(x);
}

// Gradient descent's step as one map of m, for fixed-step runs: m + lr (h - F'(m)) =
// a0 + a1 m + a2 m^2 + a3 m^3 + a5 m^5 with lr folded into the coefficients, computed once per
// trajectory. Rust twin: `Landau::gd_map_coefficients` and `Landau::gd_map`, with the same
// operations, each one rounding or an explicit fma, so that both engines step by the same bits
// where the adapter fuses fma as the CPU does (llvmpipe rounds its product first).
var<private> GD_K: array<real, 5>;

// Fills GD_K for step lr; true when the reduced form (c = h = 0: an odd polynomial) gives the
// full form's bits at every state within the bound. A zero a0 or a2 is -0, which adds nothing.
fn sys_gd_map_coefficients(lr: real, bound: real) -> bool {
    let r = P[P_r];
    let c = P[P_c];
    let u = P[P_u];
    let w = P[P_w];
    let h = P[P_h];
    let minus_zero = -real(0.0);
    GD_K[0] = select(lr * h, minus_zero, h == 0.0);
    GD_K[1] = fma(-lr, 2.0 * r, 1.0);
    GD_K[2] = select(-(lr * (3.0 * c)), minus_zero, c == 0.0);
    GD_K[3] = -(lr * (4.0 * u));
    GD_K[4] = -(lr * (6.0 * w));
    // The full form multiplies a2 = -0 by m^2, which is NaN, not -0, once m^2 overflows.
    return c == 0.0 && h == 0.0 && bound * bound <= REAL_MAX;
}

// Four fused operations in the reduced form, five in the full one.
fn sys_gd_map(x: State, reduced: bool) -> State {
    let m = x[0];
    let m2 = m * m;
    let odd = fma(fma(GD_K[4], m2, GD_K[3]), m2, GD_K[1]);
    var y: State;
    if (reduced) {
        y[0] = m * odd;
    } else {
        y[0] = fma(GD_K[2], m2, fma(m, odd, GD_K[0]));
    }
    return y;
}
