//! Analysis of runs: sweeps of one parameter with their transitions (Ehrenfest order, critical
//! value, exponent), hysteresis and spinodals, escape times under noise with the Kramers fit, and
//! measures of basin boundaries.
//!
//! ```text
//! sweep.rs (engine run → fixed points, cycles, chaos per value, L, L', L'')
//!     → transitions.rs, hysteresis.rs, bifurcations.rs (where the kinds reached change)
//! escape.rs (noise runs → escape-time statistics → Arrhenius/Kramers fit over temperatures)
//! boundary.rs (any label map → boundary fraction, basin entropy, box-counting dimension)
//! orbit.rs (states visited after a transient over one parameter → periods, Lyapunov
//!           exponents, period doublings)
//! ```

pub mod bifurcations;
pub mod boundary;
pub mod escape;
pub mod execute;
pub mod fixed_points;
pub mod hysteresis;
pub mod orbit;
pub mod sweep;
pub mod transitions;
