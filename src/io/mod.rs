//! Writing a run's files. Every file is written beside its final name and renamed into place,
//! and `run.json` is written last and removed first: a directory whose run.json is present
//! holds one complete run. Each name is recorded in the directory's list of outputs
//! (`.basinmap-outputs`) before it is written, and a new command into the directory first
//! removes what that list names, so no file of an earlier run is left looking like part of the
//! new one; files basinmap did not write are never touched.

mod attractors;
pub mod json_floats;
pub mod npy;
pub mod read;

pub use attractors::attractors_csv;
pub use npy::write_npy;

use crate::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file that marks a complete run.
pub const RUN_JSON: &str = "run.json";

/// Stems of the files a command writes for itself: no observable may be named like one, since
/// observables are written as `<name>.npy` beside them.
pub const RESERVED_STEMS: [&str; 16] = [
    "labels", "steps", "fractions", "escape_time", "status", "observables", "landscape", "axes", "period", "run", "attractors", "basins", "shard", "trace", "sweep", "boundary",
];

/// The list of the files (and folders, with a trailing '/') basinmap wrote in a directory, one
/// name a line.
pub const OUTPUTS_LIST: &str = ".basinmap-outputs";

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
        clear_previous_outputs(path)?;
        Ok(OutputDir { path: path.to_path_buf() })
    }

    /// Records `name` (a file, or a folder ending in '/') in the list of outputs, before it is
    /// written, so that the next command into this directory removes it.
    pub fn record(&self, name: &str) -> Result<()> {
        let list = self.path.join(OUTPUTS_LIST);
        let fail = |source| Error::Write { path: list.clone(), source };
        let mut f = fs::OpenOptions::new().create(true).append(true).open(&list).map_err(fail)?;
        // One write of the whole line: files are written from several threads at once.
        f.write_all(format!("{name}\n").as_bytes()).map_err(fail)
    }

    /// Puts `names` (files written at once, on several threads, so recorded in any order) last
    /// in the list, in their order: the list is then the same byte for byte every run.
    /// Replaced whole, so that an interruption leaves the old list or the new one.
    pub fn order_record(&self, names: &[String]) -> Result<()> {
        let list = self.path.join(OUTPUTS_LIST);
        let fail = |source| Error::Write { path: list.clone(), source };
        let text = fs::read_to_string(&list).map_err(fail)?;
        let recorded: Vec<&str> = text.lines().collect();
        let mut ordered: Vec<&str> = recorded.iter().copied().filter(|l| !names.iter().any(|n| n == l)).collect();
        ordered.extend(names.iter().map(String::as_str).filter(|n| recorded.contains(n)));
        let partial = self.path.join(format!("{OUTPUTS_LIST}.partial"));
        fs::write(&partial, ordered.iter().map(|l| format!("{l}\n")).collect::<String>()).map_err(fail)?;
        fs::rename(&partial, &list).map_err(fail)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` through `body`, atomically.
    pub fn write_with(&self, name: &str, body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<PathBuf> {
        self.record(name)?;
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

    /// Moves the file `from` (written elsewhere, e.g. in a state folder) to `name`, recorded.
    pub fn move_in(&self, from: &Path, name: &str) -> Result<PathBuf> {
        self.record(name)?;
        let target = self.path.join(name);
        fs::rename(from, &target).map_err(|source| Error::Write { path: target.clone(), source })?;
        Ok(target)
    }

    /// Encodes `img` as PNG into `name`, atomically.
    pub fn write_png(&self, name: &str, img: &image::RgbImage) -> Result<PathBuf> {
        let bytes = crate::render::pyramid::png_bytes(img).map_err(|e| Error::Write { path: self.path.join(name), source: std::io::Error::other(e) })?;
        self.write_bytes(name, &bytes)
    }
}

/// Removes run.json and every output an earlier command recorded in `dir` (see the module
/// header); for a directory written before the list existed, the files its run.json names.
/// Only plain names inside `dir` are removed: a damaged list cannot reach outside it.
fn clear_previous_outputs(dir: &Path) -> Result<()> {
    let fail = |path: PathBuf| move |source| Error::Write { path, source };
    let mut names: Vec<String> = Vec::new();
    let read = |name: &str| read::read_text(&dir.join(name), "outputs", read::MAX_STATE_BYTES).ok();
    if let Some(text) = read(OUTPUTS_LIST) {
        names.extend(text.lines().map(str::to_string));
    }
    if let Some(files) = read(RUN_JSON).and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).and_then(|v| v.get("files").cloned()) {
        names.extend(files.as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_string)));
    }
    names.push(RUN_JSON.to_string());
    for name in names {
        let plain = name.trim_end_matches('/');
        if plain.is_empty() || plain.starts_with('.') || plain.contains(['/', '\\']) {
            continue;
        }
        let path = dir.join(plain);
        let result = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
            Err(_) => continue,
        };
        result.map_err(fail(path))?;
    }
    match fs::remove_file(dir.join(OUTPUTS_LIST)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(dir.join(OUTPUTS_LIST))(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_command_removes_what_the_last_one_wrote_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = OutputDir::prepare(tmp.path()).unwrap();
        dir.write_bytes("fractions.npy", b"old").unwrap();
        dir.record("basins_files/").unwrap();
        fs::create_dir_all(tmp.path().join("basins_files/0")).unwrap();
        fs::write(tmp.path().join("basins_files/0/0_0.png"), b"").unwrap();
        dir.write_bytes(RUN_JSON, b"{}").unwrap();
        fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
        fs::create_dir_all(tmp.path().join(".parts/1")).unwrap();
        // A damaged list cannot reach outside the directory.
        dir.record("../escape").unwrap();
        dir.record("/etc/passwd").unwrap();
        fs::write(tmp.path().parent().unwrap().join("escape"), b"").ok();
        let again = OutputDir::prepare(tmp.path()).unwrap();
        for gone in ["fractions.npy", "basins_files", RUN_JSON, OUTPUTS_LIST] {
            assert!(!tmp.path().join(gone).exists(), "{gone} left");
        }
        assert!(tmp.path().join("notes.txt").is_file());
        assert!(tmp.path().join(".parts/1").is_dir());
        again.write_bytes("labels.npy", b"new").unwrap();
        assert_eq!(fs::read_to_string(tmp.path().join(OUTPUTS_LIST)).unwrap(), "labels.npy\n");
    }
}
