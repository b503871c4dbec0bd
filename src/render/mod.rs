//! Pictures of a run: the basin image (one colour per attractor, shaded by convergence time).

pub mod basins;
pub mod palette;
