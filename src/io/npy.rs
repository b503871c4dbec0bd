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

/// Reads a float array (f64 or f32, C order) from a .npy file: its shape and values.
pub fn read_npy(path: &std::path::Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bad = |message: String| crate::Error::input(format!("{}: {message}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let file = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a .npy file ({e})")))?;
    if file.order() == npyz::Order::Fortran {
        return Err(bad("Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray".into()));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&s| s as usize).collect();
    let dtype = file.dtype();
    let values = match file.data::<f64>() {
        Ok(reader) => reader.into_iter().collect::<std::io::Result<Vec<f64>>>(),
        Err(_) => match npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(e.to_string()))?.data::<f32>() {
            Ok(reader) => reader.into_iter().map(|v| v.map(f64::from)).collect(),
            Err(_) => return Err(bad(format!("holds {}; basinmap reads float64 or float32 arrays", dtype.descr()))),
        },
    }
    .map_err(|e| bad(e.to_string()))?;
    Ok((shape, values))
}
