//! Pictures of a run: the basin image (one colour per attractor, shaded by convergence time) and
//! curve figures (traces, 1-D scans).

pub mod basins;
pub mod curves;
pub mod fonts;
pub mod palette;
