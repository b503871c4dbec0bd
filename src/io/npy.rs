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

/// Reads a float or integer array (C order), as f64, from a .npy file: its shape and values.
pub fn read_npy(path: &std::path::Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bad = |message: String| crate::Error::input(format!("{}: {message}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let file = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a .npy file ({e})")))?;
    if file.order() == npyz::Order::Fortran {
        return Err(bad("Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray".into()));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&s| s as usize).collect();
    let dtype = file.dtype();
    // Floats, or whole numbers (a run's labels.npy is int32), read as f64.
    fn read_as<T: npyz::Deserialize + Into<f64>>(bytes: &[u8]) -> Option<std::io::Result<Vec<f64>>> {
        let reader = npyz::NpyFile::new(bytes).ok()?.data::<T>().ok()?;
        Some(reader.into_iter().map(|v| v.map(Into::into)).collect())
    }
    let values = read_as::<f64>(&bytes)
        .or_else(|| read_as::<f32>(&bytes))
        .or_else(|| read_as::<i32>(&bytes))
        .or_else(|| read_as::<u32>(&bytes))
        .or_else(|| read_as::<i16>(&bytes))
        .or_else(|| read_as::<u16>(&bytes))
        .or_else(|| read_as::<u8>(&bytes))
        .or_else(|| read_as::<i8>(&bytes))
        .ok_or_else(|| bad(format!("holds {}; basinmap reads float64, float32 or integer arrays of up to 32 bits", dtype.descr())))?
    .map_err(|e| bad(e.to_string()))?;
    Ok((shape, values))
}
