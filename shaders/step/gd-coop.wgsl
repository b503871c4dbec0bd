// Gradient descent for the cooperative kernel: X <- X + lr * V, V = field(X) (gd.wgsl's map).
const MEMORY: bool = false;
fn advance_coop(lid: u32, lr: real) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = X[k] + lr * V[k];
    }
    workgroupBarrier();
}
fn mem_reset_coop(lid: u32) {}
fn mem_load_coop(lid: u32, i: u32) {}
fn mem_store_coop(lid: u32, i: u32) {}
fn delta_coop(lid: u32) -> f32 { return 0.0; }
fn take_delta_coop(lid: u32) {}
