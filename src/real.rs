//! The float type the CPU engine and the analysis code are generic over (f32 mirrors the GPU,
//! f64 gives reference values).

use crate::lanes::Lane;

/// A float usable by the CPU mirror of the kernels: a one-lane [`Lane`] with all of
/// `num_traits::Float`. (`Real::of`, from f64, is [`Lane::of`].)
pub trait Real:
    Lane<Mask = bool> + num_traits::Float + num_traits::FloatConst + Send + Sync + std::fmt::Debug + 'static
{
    /// Widens to f64.
    fn f64(self) -> f64;
}

impl Real for f32 {
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn f64(self) -> f64 {
        self
    }
}
