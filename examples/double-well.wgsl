// A tilted double well written directly in WGSL (the --wgsl file format):
//   loss(x) = (x^2 - 1)^2 + t x,  field = -loss'(x) = -(4 x (x^2 - 1) + t).
// State = array<f32, 1> (x[0] is the state variable `x`), Params has one member per parameter.
fn loss(x: State, p: Params) -> f32 {
    let q = x[0] * x[0] - 1.0;
    return q * q + p.t * x[0];
}

fn field(x: State, p: Params) -> State {
    var v: State;
    v[0] = -(4.0 * x[0] * (x[0] * x[0] - 1.0) + p.t);
    return v;
}
