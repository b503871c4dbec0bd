// linear: dx/dt = k (x - a), the gradient flow of loss = -k (x - a)^2 / 2.
// Rust mirror: src/system/linear.rs.

fn sys_loss(x: State) -> real {
    let d = x[0] - P[P_a];
    return -0.5 * P[P_k] * d * d;
}

fn sys_field(x: State) -> State {
    var v: State;
    v[0] = P[P_k] * (x[0] - P[P_a]);
    return v;
}

fn sys_observables(x: State, o: ptr<function, array<real, N_OBS>>) {
    (*o)[0] = x[0];
    (*o)[1] = sys_loss(x);
}
