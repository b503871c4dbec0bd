// The damped driven pendulum of Menck et al. (2013), written in WGSL (the --wgsl format):
//   phi' = omega,  omega' = -alpha*omega + T - K*sin(phi).
// State = array<f32, 2> in the order of `state` (phi, omega); Params has one member per parameter.
fn field(x: State, p: Params) -> State {
    var v: State;
    v[0] = x[1];
    v[1] = -p.alpha * x[1] + p.T - p.K * sin(x[0]);
    return v;
}
