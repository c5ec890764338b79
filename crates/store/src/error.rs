//! The store's error type: what can stop the store from opening or a maintenance step from running.
//! Put/get outcomes are not errors but statuses (`PutMessageStatus`, `GetMessageStatus`).

use std::path::PathBuf;

/// Failure to open, recover or maintain the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O operation on `path` failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A mapped file has the wrong length for the configured file size.
    #[error("{path}: length {actual} does not match configured file size {expected}")]
    FileSizeMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// Consecutive files of a mapped-file queue do not follow each other.
    #[error("{path}: file sequence is not contiguous (expected start {expected})")]
    NotContiguous { path: PathBuf, expected: u64 },
    /// Another process holds the store's `lock` file.
    #[error("store directory {0} is locked by another process")]
    Locked(PathBuf),
    /// The configuration cannot work.
    #[error("invalid store config: {0}")]
    Config(String),
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
