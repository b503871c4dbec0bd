//! Writing a run's files. Every file is written beside its final name and renamed into place,
//! and `run.json` is written last and removed first: a directory whose run.json is present
//! holds one complete run.

mod attractors;
pub mod npy;

pub use attractors::attractors_csv;
pub use npy::write_npy;

use crate::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file that marks a complete run.
pub const RUN_JSON: &str = "run.json";

/// An output directory checked for writing before any work starts.
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
}

impl OutputDir {
    /// Creates `path` if needed, checks that files can be written there, and removes the
    /// run.json of an earlier run so a failure cannot leave old and new files looking complete.
    pub fn prepare(path: &Path) -> Result<OutputDir> {
        let fail = |source| Error::Write { path: path.to_path_buf(), source };
        fs::create_dir_all(path).map_err(fail)?;
        let probe = path.join(".basinmap-write-check");
        fs::write(&probe, b"").map_err(fail)?;
        fs::remove_file(&probe).map_err(fail)?;
        match fs::remove_file(path.join(RUN_JSON)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
        Ok(OutputDir { path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` through `body`, atomically.
    pub fn write_with(&self, name: &str, body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<PathBuf> {
        let target = self.path.join(name);
        let partial = self.path.join(format!(".{name}.partial"));
        let fail = |source| Error::Write { path: target.clone(), source };
        let result = (|| {
            let mut w = std::io::BufWriter::new(fs::File::create(&partial)?);
            body(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            fs::rename(&partial, &target)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&partial);
            return Err(fail(e));
        }
        Ok(target)
    }

    /// Writes bytes to `name`, atomically.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.write_with(name, |w| w.write_all(bytes))
    }

    /// Encodes `img` as PNG into `name`, atomically.
    pub fn write_png(&self, name: &str, img: &image::RgbImage) -> Result<PathBuf> {
        let mut bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .map_err(|e| Error::Write { path: self.path.join(name), source: std::io::Error::other(e) })?;
        self.write_bytes(name, &bytes)
    }
}
