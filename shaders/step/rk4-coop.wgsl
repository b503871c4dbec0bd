// Classic fourth-order Runge-Kutta for the cooperative kernel (rk4.wgsl's step, the same
// operations in the same order): X0 keeps the start of the step, ACC sums k1 + 2 k2 + 2 k3.
const RULE_MEMORY: bool = false;
var<workgroup> RK_X0: State;
var<workgroup> RK_ACC: State;

// Given V = k1 = field(X).
fn advance_coop(lid: u32, dt: real) {
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RK_X0[k] = X[k];
        RK_ACC[k] = V[k];
        X[k] = X[k] + 0.5 * dt * V[k];
    }
    workgroupBarrier();
    coop_field(lid);
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RK_ACC[k] = RK_ACC[k] + 2.0 * V[k];
        X[k] = RK_X0[k] + 0.5 * dt * V[k];
    }
    workgroupBarrier();
    coop_field(lid);
    for (var k = lid; k < STATE_DIM; k += COOP) {
        RK_ACC[k] = RK_ACC[k] + 2.0 * V[k];
        X[k] = RK_X0[k] + dt * V[k];
    }
    workgroupBarrier();
    coop_field(lid);
    for (var k = lid; k < STATE_DIM; k += COOP) {
        X[k] = RK_X0[k] + dt / 6.0 * (RK_ACC[k] + V[k]);
    }
    workgroupBarrier();
}
fn rule_reset_coop(lid: u32) {}
fn rule_load_coop(lid: u32, i: u32) {}
fn rule_store_coop(lid: u32, i: u32) {}
fn rule_delta_coop(lid: u32) -> f32 { return 0.0; }
fn rule_take_coop(lid: u32) {}
