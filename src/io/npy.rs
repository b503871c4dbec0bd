//! NumPy .npy arrays (read with `numpy.load`), through the npyz crate.

use super::OutputDir;
use crate::Result;
use npyz::WriterBuilder;

/// Writes `data` (C order) as an array of `shape` to `name`.
pub fn write_npy<T: npyz::AutoSerialize + Copy>(dir: &OutputDir, name: &str, shape: &[usize], data: &[T]) -> Result<()> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let shape: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
    dir.write_with(name, |w| {
        let mut writer = npyz::WriteOptions::<T>::new().default_dtype().shape(&shape).writer(w).begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    })?;
    Ok(())
}
