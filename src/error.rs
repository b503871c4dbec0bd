//! The library's one error type. Every message is a single line a user can act on; an error in
//! the user's own text (a formula, a WGSL file) adds that line with a caret under the fault.

use std::path::PathBuf;

/// Everything that can go wrong in a basinmap run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the user gave (flags, scenario file, parameter values) is not acceptable.
    #[error("{0}")]
    Input(String),
    /// A fault in a formula or WGSL the user wrote, located in their text.
    #[error("{0}")]
    Source(Box<crate::diagnostic::Diagnostic>),
    /// A scenario file could not be read or parsed.
    #[error("scenario {path}: {message}")]
    Scenario { path: PathBuf, message: String },
    /// No adapter fits the requested engine.
    #[error("{0}")]
    NoAdapter(String),
    /// The GPU reported an error (validation, out of memory, lost device).
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Writing outputs failed.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The user stopped the run (Ctrl-C) where it can be resumed.
    #[error("{0}")]
    Interrupted(String),
    /// Any other I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Shorthand for an input error.
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }

    /// The process exit code for this error: 2 for what the user can fix in the command,
    /// 1 for failures of the machine (GPU, disk), 130 for a run stopped by Ctrl-C.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Source(_) | Error::Scenario { .. } | Error::NoAdapter(_) => 2,
            // A directory the user named badly (2), or a disk that filled or failed (1).
            Error::Write { source, .. } => match source.raw_os_error() {
                Some(libc_codes::ENOSPC | libc_codes::EDQUOT | libc_codes::EIO) => 1,
                _ if source.kind() == std::io::ErrorKind::StorageFull => 1,
                _ => 2,
            },
            Error::Gpu(_) | Error::Io(_) => 1,
            // As a shell reports a process stopped by SIGINT.
            Error::Interrupted(_) => 130,
        }
    }
}

/// The errno values of a failing disk (Linux's numbers; other systems report them through
/// `ErrorKind::StorageFull` or not at all).
mod libc_codes {
    pub const EIO: i32 = 5;
    pub const ENOSPC: i32 = 28;
    pub const EDQUOT: i32 = 122;
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
