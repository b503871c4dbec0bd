// Classic fourth-order Runge-Kutta step of the flow dx/dt = rule_field(x) with step dt.
// `v` is rule_field(x), already computed for the convergence test. No memory. A forced flow
// (TIMED) takes its middle stages at t + dt/2 and its last at t + dt, t = P[TIME_SLOT].
const RULE_MEMORY: bool = false;
fn advance(x: State, v: State, dt: real) -> State {
    let t = P[TIME_SLOT];
    let k1 = v;
    if (TIMED) {
        P[TIME_SLOT] = t + 0.5 * dt;
    }
    let k2 = rule_field(axpy(x, 0.5 * dt, k1));
    let k3 = rule_field(axpy(x, 0.5 * dt, k2));
    if (TIMED) {
        P[TIME_SLOT] = t + dt;
    }
    let k4 = rule_field(axpy(x, dt, k3));
    if (TIMED) {
        P[TIME_SLOT] = t;
    }
    var r: State;
    for (var i = 0u; i < STATE_DIM; i++) {
        r[i] = x[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    return r;
}
fn rule_reset() {}
fn rule_load(i: u32) {}
fn rule_store(i: u32) {}
fn rule_delta(x: State, v: State) -> State {
    return v;
}
