// Gradient descent: the explicit Euler map x <- x + lr * field(x), field = -grad(loss).
// `v` is field(x), already computed for the convergence test.
fn advance(x: State, v: State, lr: real) -> State {
    return axpy(x, lr, v);
}
