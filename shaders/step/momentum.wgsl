// Heavy-ball momentum and Nesterov, as PyTorch's SGD (dampening 0), on the field v = -grad:
// b <- mu b + v; the step is lr b (momentum) or lr (v + mu b) (Nesterov, NESTEROV set by the
// host). The velocity b is the trajectory's memory, kept after its state in `state` between
// dispatches. Rust twin: `engine::optimizer::delta`.
const RULE_MEMORY: bool = true;
var<private> RULE_B: State;

fn rule_reset() {
    for (var k = 0u; k < STATE_DIM; k++) {
        RULE_B[k] = 0.0;
    }
}
fn rule_load(i: u32) {
    for (var k = 0u; k < STATE_DIM; k++) {
        RULE_B[k] = state[i * STATE_STRIDE + STATE_DIM + k];
    }
}
fn rule_store(i: u32) {
    for (var k = 0u; k < STATE_DIM; k++) {
        state[i * STATE_STRIDE + STATE_DIM + k] = RULE_B[k];
    }
}
// The step's displacement from x given v = rule_field(x); updates the velocity.
fn rule_delta(x: State, v: State) -> State {
    let mu = rule_setting(H_MOMENTUM);
    var d: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        let b = mu * RULE_B[k] + v[k];
        RULE_B[k] = b;
        if (NESTEROV) {
            d[k] = STEP * (v[k] + mu * b);
        } else {
            d[k] = STEP * b;
        }
    }
    return d;
}
// Unused: a rule with memory steps by `rule_delta`.
fn advance(x: State, v: State, lr: real) -> State {
    return x;
}
