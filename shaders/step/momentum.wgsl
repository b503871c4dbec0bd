// Heavy-ball momentum and Nesterov, as PyTorch's SGD (dampening 0), on the field v = -grad:
// b <- mu b + v; the step is lr b (momentum) or lr (v + mu b) (Nesterov, NESTEROV set by the
// host). The velocity b is the trajectory's memory, kept after its state in `state` between
// dispatches. Rust twin: `engine::optimizer::delta`.
const MEMORY: bool = true;
var<private> MEM_B: State;

fn mem_reset() {
    for (var k = 0u; k < STATE_DIM; k++) {
        MEM_B[k] = 0.0;
    }
}
fn mem_load(i: u32) {
    for (var k = 0u; k < STATE_DIM; k++) {
        MEM_B[k] = state[i * STATE_STRIDE + STATE_DIM + k];
    }
}
fn mem_store(i: u32) {
    for (var k = 0u; k < STATE_DIM; k++) {
        state[i * STATE_STRIDE + STATE_DIM + k] = MEM_B[k];
    }
}
// The step's displacement from x given v = field(x); updates the velocity.
fn delta(x: State, v: State) -> State {
    let mu = hyper(H_MOMENTUM);
    var d: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        let b = mu * MEM_B[k] + v[k];
        MEM_B[k] = b;
        if (NESTEROV) {
            d[k] = STEP * (v[k] + mu * b);
        } else {
            d[k] = STEP * b;
        }
    }
    return d;
}
// Unused: a rule with memory steps by `delta`.
fn advance(x: State, v: State, lr: real) -> State {
    return x;
}
