//! Pictures of a run: the basin image (one colour per attractor, shaded by convergence time), the
//! trainability map (runs that trained or not, shaded by their loss curve) and
//! curve figures (traces, 1-D scans).

pub mod basins;
pub mod curves;
pub mod fonts;
pub mod palette;
pub mod trainability;
