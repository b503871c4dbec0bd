//! NumPy .npy arrays (read with `numpy.load`), through the npyz crate.

use super::OutputDir;
use crate::Result;
use npyz::WriterBuilder;
use std::io::Write;

/// Writes `data` (C order) as an array of `shape` to `name`.
pub fn write_npy<T: npyz::AutoSerialize + Copy>(dir: &OutputDir, name: &str, shape: &[usize], data: &[T]) -> Result<()> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    dir.write_with(name, |w| npy_to(w, shape, data))?;
    Ok(())
}

/// Writes `data` (C order) as the .npy file of an array of `shape` to `w`: what [`write_npy`]
/// writes to a file and `basinmap serve`'s API answers with.
pub fn npy_to<T: npyz::AutoSerialize + Copy>(w: &mut dyn Write, shape: &[usize], data: &[T]) -> std::io::Result<()> {
    let shape: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
    // npyz writes element by element: into a buffer of a known type each is a copy of a few
    // bytes, where through `dyn Write` each was a call (a quarter of writing a large map).
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, w);
    let mut writer = npyz::WriteOptions::<T>::new().default_dtype().shape(&shape).writer(&mut buffered).begin_nd()?;
    writer.extend(data.iter().copied())?;
    writer.finish()?;
    buffered.flush()
}

/// Writes named 1-D float64 arrays into `name` as an .npz archive (`numpy.load` gives a dict
/// of them, in this order). Stored without compression: coordinates are small.
pub fn write_npz(dir: &OutputDir, name: &str, arrays: &[(String, Vec<f64>)]) -> Result<()> {
    dir.write_with(name, |w| {
        let mut buffer = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (array, values) in arrays {
            zip.start_file(format!("{array}.npy"), options).map_err(std::io::Error::other)?;
            let mut writer = npyz::WriteOptions::<f64>::new().default_dtype().shape(&[values.len() as u64]).writer(&mut zip).begin_nd()?;
            writer.extend(values.iter().copied())?;
            writer.finish()?;
        }
        zip.finish().map_err(std::io::Error::other)?;
        w.write_all(buffer.get_ref())
    })?;
    Ok(())
}

/// Reads a float or integer array (C order), as f64, from a .npy file: its shape and values.
/// The file must be a regular file that fits in memory, and its header must tell the truth: the
/// shape's product is the number of values the file holds, or the file is refused.
pub fn read_npy(path: &std::path::Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bad = |message: String| crate::Error::input(format!("{}: {message}", path.display()));
    let bytes = super::read::read_bytes(path, "array", super::read::max_data_bytes())?;
    parse_npy(&bytes).map_err(bad)
}

/// [`read_npy`] on the bytes of a file; the error is the reason, without the path.
pub fn parse_npy(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f64>), String> {
    let file = npyz::NpyFile::new(bytes).map_err(|e| format!("not a .npy file ({})", one_line(&e.to_string())))?;
    if file.order() == npyz::Order::Fortran {
        return Err("Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray".into());
    }
    let shape: Vec<usize> = file.shape().iter().map(|&s| usize::try_from(s).unwrap_or(usize::MAX)).collect();
    let dtype = file.dtype();
    let len = shape.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s));
    let width = dtype.num_bytes();
    // The header's shape must account for the bytes after it, exactly.
    let data = len.and_then(|n| width.and_then(|w| n.checked_mul(w)));
    let header = bytes.len().saturating_sub(data.unwrap_or(0));
    match data {
        Some(d) if d <= bytes.len() && npy_header_len(bytes) == Some(header) => {}
        _ => return Err(format!("its header says shape {shape:?} of {}, which does not match the file's {} bytes", dtype.descr(), bytes.len())),
    }
    // Floats, or whole numbers (a run's labels.npy is int32), read as f64.
    fn read_as<T: npyz::Deserialize + Into<f64>>(bytes: &[u8]) -> Option<std::io::Result<Vec<f64>>> {
        let reader = npyz::NpyFile::new(bytes).ok()?.data::<T>().ok()?;
        Some(reader.into_iter().map(|v| v.map(Into::into)).collect())
    }
    let values = read_as::<f64>(bytes)
        .or_else(|| read_as::<f32>(bytes))
        .or_else(|| read_as::<i32>(bytes))
        .or_else(|| read_as::<u32>(bytes))
        .or_else(|| read_as::<i16>(bytes))
        .or_else(|| read_as::<u16>(bytes))
        .or_else(|| read_as::<u8>(bytes))
        .or_else(|| read_as::<i8>(bytes))
        .ok_or_else(|| format!("holds {}; basinmap reads float64, float32 or integer arrays of up to 32 bits", dtype.descr()))?
        .map_err(|e| one_line(&e.to_string()))?;
    if Some(values.len()) != len {
        return Err(format!("its header says shape {shape:?} but it holds {} values", values.len()));
    }
    Ok((shape, values))
}

/// The length of a .npy file's preamble (magic, version, header length, header), from its
/// first bytes; `None` if they are not a .npy preamble.
fn npy_header_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return None;
    }
    match bytes[6] {
        1 => Some(10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => Some(12 + u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize),
        _ => None,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

// The arrays below are written as raw little-endian bytes under a `<` dtype.
#[cfg(target_endian = "big")]
compile_error!("basinmap writes .npy arrays in place as little-endian bytes");

/// A .npy array of a fixed shape on disk, written in place range by range and read back the
/// same way, so that a map larger than memory goes to disk tile by tile.
pub struct NpyArray<T> {
    file: std::fs::File,
    path: std::path::PathBuf,
    /// Bytes before the data.
    header: u64,
    len: usize,
    _element: std::marker::PhantomData<T>,
}

impl<T: npyz::AutoSerialize + bytemuck::Pod> NpyArray<T> {
    /// Creates (or truncates) `path` as an array of `shape`, zero-filled.
    pub fn create(path: &std::path::Path, shape: &[usize]) -> Result<Self> {
        let fail = |source| crate::Error::Write { path: path.to_path_buf(), source };
        let mut header = Vec::new();
        let dims: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
        npyz::WriteOptions::<T>::new().default_dtype().shape(&dims).writer(&mut header).write_header_only().map_err(fail)?;
        let len: usize = shape.iter().product();
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path).map_err(fail)?;
        use std::io::Write;
        (&file).write_all(&header).map_err(fail)?;
        file.set_len(header.len() as u64 + (len * std::mem::size_of::<T>()) as u64).map_err(fail)?;
        Ok(NpyArray { file, path: path.to_path_buf(), header: header.len() as u64, len, _element: Default::default() })
    }

    /// Opens an array [`NpyArray::create`] made, checking its dtype and shape.
    pub fn open(path: &std::path::Path, shape: &[usize]) -> Result<Self> {
        let bad = |why: String| crate::Error::input(format!("{}: {why}", path.display()));
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| bad(e.to_string()))?;
        let header = npyz::NpyHeader::from_reader(std::io::BufReader::new(&file)).map_err(|e| bad(format!("not a .npy file ({e})")))?;
        let want: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
        if header.shape() != want.as_slice() || header.dtype() != T::default_dtype() {
            return Err(bad(format!("holds {:?} of {}, not {want:?} of {}", header.shape(), header.dtype().descr(), T::default_dtype().descr())));
        }
        let len: usize = shape.iter().product();
        let bytes = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let data = (len * std::mem::size_of::<T>()) as u64;
        if bytes < data {
            return Err(bad(format!("is {bytes} bytes long, too short for its shape")));
        }
        Ok(NpyArray { file, path: path.to_path_buf(), header: bytes - data, len, _element: Default::default() })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn seek(&mut self, first: usize, n: usize) -> std::io::Result<()> {
        use std::io::Seek;
        if first + n > self.len {
            return Err(std::io::Error::other(format!("elements {first}..{} are outside the array of {}", first + n, self.len)));
        }
        self.file.seek(std::io::SeekFrom::Start(self.header + (first * std::mem::size_of::<T>()) as u64)).map(|_| ())
    }

    /// Writes `data` as elements `first..first + data.len()` (C order).
    pub fn write_at(&mut self, first: usize, data: &[T]) -> Result<()> {
        use std::io::Write;
        self.seek(first, data.len())
            .and_then(|_| self.file.write_all(bytemuck::cast_slice(data)))
            .map_err(|source| crate::Error::Write { path: self.path.clone(), source })
    }

    /// Reads elements `first..first + out.len()` into `out`.
    pub fn read_at(&mut self, first: usize, out: &mut [T]) -> Result<()> {
        use std::io::Read;
        self.seek(first, out.len())
            .and_then(|_| self.file.read_exact(bytemuck::cast_slice_mut(out)))
            .map_err(|e| crate::Error::input(format!("{}: {e}", self.path.display())))
    }

    /// Flushes what was written to the disk.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|source| crate::Error::Write { path: self.path.clone(), source })
    }
}
