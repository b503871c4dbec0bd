// Momentum and Nesterov for the cooperative kernel (momentum.wgsl's rule, the same operations):
// the velocity RULE_B and the step's displacement D live in workgroup memory, each invocation
// its share of the components.
const RULE_MEMORY: bool = true;
var<workgroup> RULE_B: State;
var<workgroup> RULE_D: State;

fn rule_reset_coop(lid: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RULE_B[k] = 0.0;
    }
    workgroupBarrier();
}
fn rule_load_coop(lid: u32, i: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RULE_B[k] = state[i * STATE_STRIDE + STATE_DIM + k];
    }
    workgroupBarrier();
}
fn rule_store_coop(lid: u32, i: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        state[i * STATE_STRIDE + STATE_DIM + k] = RULE_B[k];
    }
}
// RULE_D <- the step's displacement given V = field(X), the velocity updated; returns this
// invocation's share of |D|^2 (the kernel sums it).
fn rule_delta_coop(lid: u32) -> f32 {
    let mu = rule_setting(H_MOMENTUM);
    var sq = 0.0;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        let b = mu * RULE_B[k] + V[k];
        RULE_B[k] = b;
        var d = STEP * b;
        if (NESTEROV) {
            d = STEP * (V[k] + mu * b);
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
