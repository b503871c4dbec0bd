// Adam and AdamW for the cooperative kernel (adam.wgsl's rule, the same operations): the moments
// and the step's displacement D live in workgroup memory, each invocation its share of the
// components; every invocation keeps the same b1^t, b2^t.
const RULE_MEMORY: bool = true;
var<workgroup> RULE_M: State;
var<workgroup> RULE_S: State;
var<workgroup> RULE_D: State;
var<private> RULE_P1: real;
var<private> RULE_P2: real;

fn rule_reset_coop(lid: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RULE_M[k] = 0.0;
        RULE_S[k] = 0.0;
    }
    RULE_P1 = 1.0;
    RULE_P2 = 1.0;
    workgroupBarrier();
}
fn rule_load_coop(lid: u32, i: u32) {
    let b = i * STATE_STRIDE + STATE_DIM;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RULE_M[k] = state[b + k];
        RULE_S[k] = state[b + STATE_DIM + k];
    }
    RULE_P1 = state[b + 2u * STATE_DIM];
    RULE_P2 = state[b + 2u * STATE_DIM + 1u];
    workgroupBarrier();
}
fn rule_store_coop(lid: u32, i: u32) {
    let b = i * STATE_STRIDE + STATE_DIM;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        state[b + k] = RULE_M[k];
        state[b + STATE_DIM + k] = RULE_S[k];
    }
    if (lid == 0u) {
        state[b + 2u * STATE_DIM] = RULE_P1;
        state[b + 2u * STATE_DIM + 1u] = RULE_P2;
    }
}
// RULE_D <- the step's displacement given V = field(X), the moments updated; returns this
// invocation's share of |D|^2 (the kernel sums it).
fn rule_delta_coop(lid: u32) -> f32 {
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
    var sq = 0.0;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        let m = a1 * V[k] + b1 * RULE_M[k];
        let s = a2 * (V[k] * V[k]) + b2 * RULE_S[k];
        RULE_M[k] = m;
        RULE_S[k] = s;
        let u = (m * r1) / (sqrt(s) * r2 + eps);
        // lr times the component's step factor (an mlp's lr_l).
        let step = STEP * step_factor_of(k);
        var d = step * u;
        if (DECOUPLED) {
            d = step * (u - wd * X[k]);
        }
        RULE_D[k] = d;
        sq += d * d;
    }
    return sq;
}
fn rule_take_coop(lid: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = X[k] + RULE_D[k];
    }
    workgroupBarrier();
}
fn advance_coop(lid: u32, lr: real) {}
// Adam's step per unit of first moment for component k, as the last step left the memory:
// r1 / (sqrt(s) r2 + eps), the inverse of the preconditioner in `engine::sharpness`.
fn rule_preconditioner(k: u32) -> real {
    let r1 = 1.0 / (1.0 - RULE_P1);
    let r2 = 1.0 / sqrt(1.0 - RULE_P2);
    return r1 / (sqrt(RULE_S[k]) * r2 + rule_setting(H_EPS));
}
