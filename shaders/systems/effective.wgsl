// effective: the order-parameter loss of Ziyin & Ueda, eq. (6),
//   l(b) = -sum_i d0^{2D} b^{2D} e_i^2 / (d0^D (s2 + d0)^D a_i b^{2D} + gamma) + ey2 + gamma D d0^2 b^2
// with e = exy (E[x'y] in A0's eigenbasis), a the spectrum of A0, s2 = sigma2.
// Rust mirror: src/system/effective.rs (same operation order).

fn int_pow(base: real, n: u32) -> real {
    var r: real = 1.0;
    for (var k = 0u; k < n; k++) {
        r *= base;
    }
    return r;
}

fn depth() -> u32 {
    return u32(round(P[P_D]));
}

fn sys_loss(x: State) -> real {
    let b = x[0];
    let D = depth();
    let d0 = P[P_d0];
    let gamma = P[P_gamma];
    let B = int_pow(b * b, D);
    let num = int_pow(d0, 2u * D);
    let alpha = int_pow(d0 * (P[P_sigma2] + d0), D);
    var s: real = 0.0;
    for (var i = 0u; i < VEC_LEN; i++) {
        let e = P[P_exy + i];
        s += num * B * e * e / (alpha * P[P_a + i] * B + gamma);
    }
    return -s + P[P_ey2] + gamma * real(D) * d0 * d0 * b * b;
}

fn sys_field(x: State) -> State {
    let b = x[0];
    let D = depth();
    let d0 = P[P_d0];
    let gamma = P[P_gamma];
    let B = int_pow(b * b, D);
    let dB = 2.0 * real(D) * int_pow(b, 2u * D - 1u);   // dB/db
    let num = int_pow(d0, 2u * D);
    let alpha = int_pow(d0 * (P[P_sigma2] + d0), D);
    var s: real = 0.0;
    for (var i = 0u; i < VEC_LEN; i++) {
        let e = P[P_exy + i];
        let q = alpha * P[P_a + i] * B + gamma;
        s += num * e * e * gamma / (q * q);
    }
    var v: State;
    v[0] = s * dB - 2.0 * gamma * real(D) * d0 * d0 * b;
    return v;
}

fn sys_observables(x: State, o: ptr<function, array<real, N_OBS>>) {
    (*o)[0] = x[0];
    (*o)[1] = sys_loss(x);
}
