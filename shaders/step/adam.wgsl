// Adam and AdamW (PyTorch, optax) on the field v = -grad, so the first moment is the negative
// of theirs: m <- (1 - b1) v + b1 m, s <- (1 - b2) v^2 + b2 s, with b1^t and b2^t as running
// products; the step is lr u, u = (m r1) / (sqrt(s) r2 + eps), r1 = 1 / (1 - b1^t), r2 = 1 / sqrt(1 - b2^t), and for
// AdamW (DECOUPLED) lr (u - weight_decay x). The memory (m, s, b1^t, b2^t) is kept after the
// state in `state` between dispatches. Rust twin: `engine::optimizer::delta`.
const RULE_MEMORY: bool = true;
var<private> RULE_M: State;
var<private> RULE_S: State;
var<private> RULE_P1: real;
var<private> RULE_P2: real;

fn rule_reset() {
    for (var k = 0u; k < STATE_DIM; k++) {
        RULE_M[k] = 0.0;
        RULE_S[k] = 0.0;
    }
    RULE_P1 = 1.0;
    RULE_P2 = 1.0;
}
fn rule_load(i: u32) {
    let b = i * STATE_STRIDE + STATE_DIM;
    for (var k = 0u; k < STATE_DIM; k++) {
        RULE_M[k] = state[b + k];
        RULE_S[k] = state[b + STATE_DIM + k];
    }
    RULE_P1 = state[b + 2u * STATE_DIM];
    RULE_P2 = state[b + 2u * STATE_DIM + 1u];
}
fn rule_store(i: u32) {
    let b = i * STATE_STRIDE + STATE_DIM;
    for (var k = 0u; k < STATE_DIM; k++) {
        state[b + k] = RULE_M[k];
        state[b + STATE_DIM + k] = RULE_S[k];
    }
    state[b + 2u * STATE_DIM] = RULE_P1;
    state[b + 2u * STATE_DIM + 1u] = RULE_P2;
}
// The step's displacement from x given v = rule_field(x); updates the moments.
fn rule_delta(x: State, v: State) -> State {
    let b1 = rule_setting(H_BETA1);
    let b2 = rule_setting(H_BETA2);
    let eps = rule_setting(H_EPS);
    let wd = rule_setting(H_WEIGHT_DECAY);
    RULE_P1 = RULE_P1 * b1;
    RULE_P2 = RULE_P2 * b2;
    let r1 = 1.0 / (1.0 - RULE_P1);
    let r2 = 1.0 / sqrt(1.0 - RULE_P2);
    let a1 = 1.0 - b1;
    let a2 = 1.0 - b2;
    var d: State;
    for (var k = 0u; k < STATE_DIM; k++) {
        let m = a1 * v[k] + b1 * RULE_M[k];
        let s = a2 * (v[k] * v[k]) + b2 * RULE_S[k];
        RULE_M[k] = m;
        RULE_S[k] = s;
        let u = (m * r1) / (sqrt(s) * r2 + eps);
        // lr times the component's step factor (an mlp's lr_l).
        let step = STEP * step_factor_of(k);
        if (DECOUPLED) {
            d[k] = step * (u - wd * x[k]);
        } else {
            d[k] = step * u;
        }
    }
    return d;
}
// Unused: a rule with memory steps by `rule_delta`.
fn advance(x: State, v: State, lr: real) -> State {
    return x;
}
// Adam's step per unit of first moment for component k, as the last step left the memory:
// r1 / (sqrt(s) r2 + eps), the inverse of the preconditioner in `engine::sharpness`.
fn rule_preconditioner(k: u32) -> real {
    let r1 = 1.0 / (1.0 - RULE_P1);
    let r2 = 1.0 / sqrt(1.0 - RULE_P2);
    return r1 / (sqrt(RULE_S[k]) * r2 + rule_setting(H_EPS));
}
