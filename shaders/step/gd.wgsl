// Gradient descent: the explicit Euler map x <- x + lr * rule_field(x), field = -grad(loss).
// `v` is rule_field(x), already computed for the convergence test. No memory.
const RULE_MEMORY: bool = false;
fn advance(x: State, v: State, lr: real) -> State {
    return axpy(x, lr, v);
}
fn rule_reset() {}
fn rule_load(i: u32) {}
fn rule_store(i: u32) {}
fn rule_delta(x: State, v: State) -> State {
    return v;
}
