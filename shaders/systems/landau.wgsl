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
