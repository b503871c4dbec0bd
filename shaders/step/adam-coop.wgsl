// Adam and AdamW for the cooperative kernel (adam.wgsl's rule, the same operations): the moments
// and the step's displacement D live in workgroup memory, each invocation its share of the
// components; every invocation keeps the same b1^t, b2^t.
const MEMORY: bool = true;
var<workgroup> MEM_M: State;
var<workgroup> MEM_S: State;
var<workgroup> D: State;
var<private> MEM_P1: real;
var<private> MEM_P2: real;

fn mem_reset_coop(lid: u32) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        MEM_M[k] = 0.0;
        MEM_S[k] = 0.0;
    }
    MEM_P1 = 1.0;
    MEM_P2 = 1.0;
    workgroupBarrier();
}
fn mem_load_coop(lid: u32, i: u32) {
    let b = i * STATE_STRIDE + STATE_DIM;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        MEM_M[k] = state[b + k];
        MEM_S[k] = state[b + STATE_DIM + k];
    }
    MEM_P1 = state[b + 2u * STATE_DIM];
    MEM_P2 = state[b + 2u * STATE_DIM + 1u];
    workgroupBarrier();
}
fn mem_store_coop(lid: u32, i: u32) {
    let b = i * STATE_STRIDE + STATE_DIM;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        state[b + k] = MEM_M[k];
        state[b + STATE_DIM + k] = MEM_S[k];
    }
    if (lid == 0u) {
        state[b + 2u * STATE_DIM] = MEM_P1;
        state[b + 2u * STATE_DIM + 1u] = MEM_P2;
    }
}
// D <- the step's displacement given V = field(X), the moments updated; returns this
// invocation's share of |D|^2 (the kernel sums it).
fn delta_coop(lid: u32) -> f32 {
    let b1 = hyper(H_BETA1);
    let b2 = hyper(H_BETA2);
    let eps = hyper(H_EPS);
    let wd = hyper(H_WEIGHT_DECAY);
    MEM_P1 = MEM_P1 * b1;
    MEM_P2 = MEM_P2 * b2;
    let c1 = 1.0 - MEM_P1;
    let c2 = 1.0 - MEM_P2;
    let a1 = 1.0 - b1;
    let a2 = 1.0 - b2;
    var sq = 0.0;
    for (var k = lid; k < STATE_DIM; k += COOP) {
        let m = a1 * V[k] + b1 * MEM_M[k];
        let s = a2 * (V[k] * V[k]) + b2 * MEM_S[k];
        MEM_M[k] = m;
        MEM_S[k] = s;
        let u = (m / c1) / (sqrt(s / c2) + eps);
        // lr times the component's step factor (an mlp's lr_l).
        let step = STEP * step_factor_of(k);
        var d = step * u;
        if (DECOUPLED) {
            d = step * (u - wd * X[k]);
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
