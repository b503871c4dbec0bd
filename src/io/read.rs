//! Reading the files a user names (scenario, WGSL, data sets, saved arrays) without trusting
//! them: regular files only, of a bounded size, checked before a byte is read. `/dev/zero`, a
//! FIFO or a directory is refused with one line instead of reading forever or failing deep
//! inside a parser.

use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Largest text file a user writes by hand (a scenario, a WGSL system).
pub const MAX_SOURCE_BYTES: u64 = 1 << 20;

/// Largest metadata file basinmap writes for itself (a stream's saved state, a shard's
/// description): they grow with a map's width, not its area.
pub const MAX_STATE_BYTES: u64 = 256 << 20;

/// Reads `path` whole, refusing anything that is not a regular file of at most `max` bytes.
/// `what` names the file in errors (`--wgsl`, `scenario`, …).
pub fn read_bytes(path: &Path, what: &str, max: u64) -> Result<Vec<u8>> {
    let bad = |why: String| Error::input(format!("{what} {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.len() > max {
        return Err(bad(format!("is {} bytes, more than the {max} read from such a file", meta.len())));
    }
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    // The file may grow between the check and the read: never read past the cap.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > max {
        return Err(bad(format!("grew past {max} bytes while being read")));
    }
    Ok(bytes)
}

/// [`read_bytes`] as UTF-8 text, without a leading byte-order mark (spreadsheets write one).
pub fn read_text(path: &Path, what: &str, max: u64) -> Result<String> {
    let bytes = read_bytes(path, what, max)?;
    let text = String::from_utf8(bytes).map_err(|e| Error::input(format!("{what} {}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to())))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The most bytes of a data file (a data set, a map of labels) read into memory: a quarter of
/// the memory available, since it is widened to f64 once read.
pub fn max_data_bytes() -> u64 {
    crate::plan::available_memory() / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_bounded_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = |p: &Path, max| read_bytes(p, "test", max).unwrap_err().to_string();
        assert!(err(dir.path(), 10).contains("not a regular file"));
        assert!(err(Path::new("/dev/zero"), 10).contains("not a regular file"));
        assert!(err(&dir.path().join("missing"), 10).starts_with("test "));
        let f = dir.path().join("f.txt");
        std::fs::write(&f, "\u{feff}a,b\n1,2\n").unwrap();
        assert!(err(&f, 4).contains("more than the 4"));
        assert_eq!(read_text(&f, "test", 100).unwrap(), "a,b\n1,2\n");
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        assert!(read_text(&f, "test", 100).unwrap_err().to_string().contains("not UTF-8"));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_bytes(&fifo, "test", 100).unwrap_err().to_string().contains("not a regular file"));
    }
}
