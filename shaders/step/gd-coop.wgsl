// Gradient descent for the cooperative kernel: X <- X + lr * V, V = field(X) (gd.wgsl's map).
const RULE_MEMORY: bool = false;
fn advance_coop(lid: u32, lr: real) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = X[k] + lr * V[k];
    }
    workgroupBarrier();
}
fn rule_reset_coop(lid: u32) {}
fn rule_load_coop(lid: u32, i: u32) {}
fn rule_store_coop(lid: u32, i: u32) {}
fn rule_delta_coop(lid: u32) -> f32 { return 0.0; }
fn rule_take_coop(lid: u32) {}
