// The Hénon map (x, y) ← (1 − a x² + y, b x), written in WGSL (the --wgsl format, `fn map`).
// State = array<f32, 2> in the order of `state`; Params has one member per parameter.
fn map(x: State, p: Params) -> State {
    var y: State;
    y[0] = 1.0 - p.a * x[0] * x[0] + x[1];
    y[1] = p.b * x[0];
    return y;
}
