//! The engine's errors. Each carries an [`ErrorKind`], so that a caller (the HTTP server)
//! answers by what went wrong rather than by parsing a message, and a message that says what
//! to do.

use std::time::Duration;

/// What kind of failure an error is: what a caller needs to decide how to answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The thing asked for does not exist (a log, an entry, a tree size, a tile).
    NotFound,
    /// The thing to be created exists already.
    AlreadyExists,
    /// Held by someone else or full for now; the same call may succeed later.
    Busy,
    /// The caller's input is not acceptable (a log name, an origin, engine options).
    Invalid,
    /// Stored data is damaged, or disagrees with what the log signed.
    Corrupt,
    /// The operating system refused a read or write.
    Io,
    /// The log does not take writes: it is shutting down, or stopped after a storage failure.
    Unavailable,
    /// The thing asked for existed but retention pruned it (its proofs remain).
    Pruned,
}

/// Why the engine could not open, create, check or stop something.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    kind: ErrorKind,
    message: String,
}

impl EngineError {
    /// An error of `kind` whose message says what went wrong and what to do.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The same error with `context` (what was being done) in front of its message.
    pub(crate) fn context(self, context: impl std::fmt::Display) -> Self {
        EngineError {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }

    /// Stored data that is damaged or disagrees with what was signed.
    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    /// Input that is not acceptable.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// An operating-system failure while `doing` something.
    pub(crate) fn io(doing: impl std::fmt::Display, e: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{doing}: {e}"))
    }
}

/// Why an append was not done. Nothing of a failed append was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The writer's queue is full; try again after the given time.
    #[error("the log is busy; retry after {retry_after:?}")]
    Busy {
        /// When to retry.
        retry_after: Duration,
    },
    /// The log stopped accepting writes (shutdown, or a storage failure it cannot recover
    /// from without a restart); the message says which.
    #[error("{0}")]
    Unavailable(String),
}

impl AppendError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppendError::Busy { .. } => ErrorKind::Busy,
            AppendError::Unavailable(_) => ErrorKind::Unavailable,
        }
    }
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The thing asked for does not exist (index beyond the log, tile beyond the latest
    /// checkpoint, unknown size).
    #[error("{0}")]
    NotFound(String),
    /// What was read is damaged (a stored leaf that does not parse).
    #[error("{0}")]
    Corrupt(String),
    /// Storage failed.
    #[error("{0}")]
    Io(String),
    /// Retention pruned the entries asked for; the message names the pruned range.
    #[error("{0}")]
    Pruned(String),
}

impl ReadError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReadError::NotFound(_) => ErrorKind::NotFound,
            ReadError::Corrupt(_) => ErrorKind::Corrupt,
            ReadError::Io(_) => ErrorKind::Io,
            ReadError::Pruned(_) => ErrorKind::Pruned,
        }
    }
}
