// Gradient descent: the explicit Euler map x <- x + lr * field(x), field = -grad(loss).
// `v` is field(x), already computed for the convergence test. No memory.
const MEMORY: bool = false;
fn advance(x: State, v: State, lr: real) -> State {
    return axpy(x, lr, v);
}
fn mem_reset() {}
fn mem_load(i: u32) {}
fn mem_store(i: u32) {}
fn delta(x: State, v: State) -> State {
    return v;
}
