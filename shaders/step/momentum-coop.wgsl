// Momentum and Nesterov for the cooperative kernel (momentum.wgsl's rule, the same operations):
// the velocity MEM_B and the step's displacement D live in workgroup memory, each invocation
// its share of the components.
const MEMORY: bool = true;
var<workgroup> MEM_B: State;
var<workgroup> D: State;

fn mem_reset_coop(lid: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        MEM_B[k] = 0.0;
    }
    workgroupBarrier();
}
fn mem_load_coop(lid: u32, i: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        MEM_B[k] = state[i * STATE_STRIDE + STATE_DIM + k];
    }
    workgroupBarrier();
}
fn mem_store_coop(lid: u32, i: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        state[i * STATE_STRIDE + STATE_DIM + k] = MEM_B[k];
    }
}
// D <- the step's displacement given V = field(X), the velocity updated; returns this
// invocation's share of |D|^2 (the kernel sums it).
fn delta_coop(lid: u32) -> f32 {
    let mu = hyper(H_MOMENTUM);
    var sq = 0.0;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        let b = mu * MEM_B[k] + V[k];
        MEM_B[k] = b;
        var d = STEP * b;
        if (NESTEROV) {
            d = STEP * (V[k] + mu * b);
        }
        D[k] = d;
        sq += d * d;
    }
    return sq;
}
fn take_delta_coop(lid: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = X[k] + D[k];
    }
    workgroupBarrier();
}
fn advance_coop(lid: u32, lr: real) {}
