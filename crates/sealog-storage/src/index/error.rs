//! The index's one error type.
//!
//! The store's own error is boxed rather than named so that callers do not depend on which
//! embedded store the index happens to use.

use std::path::PathBuf;

/// Why an index operation failed, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The embedded store failed (disk full, I/O error, corruption).
    #[error(
        "the query index failed while {doing}: {source}; the index is derived from the log, \
         so if this persists after freeing disk space, rebuild it (`sealog reindex`)"
    )]
    Store {
        /// What the index was doing.
        doing: &'static str,
        /// The store's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The index directory could not be created or cleared.
    #[error(
        "cannot use the index directory {path}: {source}; check that it exists and is writable"
    )]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `apply` was not called at the watermark.
    #[error(
        "index apply must start at the watermark: expected leaf {expected}, got {got}; \
         resume from `watermark()`"
    )]
    OutOfOrder {
        /// The current watermark, where the next batch must start.
        expected: u64,
        /// The `first` that was passed.
        got: u64,
    },
    /// The index on disk was written by an incompatible version.
    #[error(
        "the query index has schema version {found}, this build needs {expected}; rebuild it (`sealog reindex`)"
    )]
    Schema {
        /// The version found on disk.
        found: i64,
        /// The version this build writes.
        expected: i64,
    },
    /// A cursor that this kind of query never issues.
    #[error("the cursor {0:?} is not one this query issued; start again without a cursor")]
    BadCursor(String),
}

impl IndexError {
    /// Wraps a store error with what the index was doing.
    pub(super) fn store(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> IndexError {
        move |e| IndexError::Store {
            doing,
            source: Box::new(e),
        }
    }
}
