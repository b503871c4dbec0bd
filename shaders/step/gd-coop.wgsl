// Gradient descent for the cooperative kernel: X <- X + lr * V, V = field(X) (gd.wgsl's map).
fn advance_coop(lid: u32, lr: real) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = X[k] + lr * V[k];
    }
    workgroupBarrier();
}
