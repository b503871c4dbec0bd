//! Analysis of runs: sweeps of one parameter with their transitions (Ehrenfest order, critical
//! value, exponent), hysteresis and spinodals, and measures of basin boundaries.
//!
//! ```text
//! sweep.rs (engine run → fixed points per value, L, L', L'') → transitions.rs, hysteresis.rs
//! boundary.rs (any label map → boundary fraction, basin entropy, box-counting dimension)
//! ```

pub mod boundary;
pub mod execute;
pub mod fixed_points;
pub mod hysteresis;
pub mod sweep;
pub mod transitions;
