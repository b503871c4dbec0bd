// Classic fourth-order Runge-Kutta step of the flow dx/dt = field(x) with step dt.
// `v` is field(x), already computed for the convergence test. No memory.
const MEMORY: bool = false;
fn advance(x: State, v: State, dt: real) -> State {
    let k1 = v;
    let k2 = field(axpy(x, 0.5 * dt, k1));
    let k3 = field(axpy(x, 0.5 * dt, k2));
    let k4 = field(axpy(x, dt, k3));
    var r: State;
    for (var i = 0u; i < STATE_DIM; i++) {
        r[i] = x[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    return r;
}
fn mem_reset() {}
fn mem_load(i: u32) {}
fn mem_store(i: u32) {}
fn delta(x: State, v: State) -> State {
    return v;
}
