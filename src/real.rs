//! The float type the CPU engine and the analysis code are generic over (f32 mirrors the GPU,
//! f64 gives reference values).

/// A float usable by the CPU mirror of the kernels.
pub trait Real:
    num_traits::Float + num_traits::FloatConst + Send + Sync + std::fmt::Debug + 'static
{
    /// Converts from f64 (rounding to nearest for f32).
    fn of(v: f64) -> Self;
    /// Widens to f64.
    fn f64(self) -> f64;
}

impl Real for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn of(v: f64) -> Self {
        v
    }
    fn f64(self) -> f64 {
        self
    }
}
