//! The engine's errors; each message says what to do.

/// Why the engine could not open, create or stop.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Any failure, with a message that says what to do.
    #[error("{0}")]
    Other(String),
}

/// Why an append was not done. Nothing of a failed append was acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The writer's queue is full; try again after the given time.
    #[error("the log is busy; retry after {retry_after:?}")]
    Busy {
        /// When to retry.
        retry_after: std::time::Duration,
    },
    /// The log stopped accepting writes (shutdown, or a storage failure it cannot recover
    /// from without a restart); the message says which.
    #[error("{0}")]
    Unavailable(String),
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The thing asked for does not exist (index beyond the log, tile beyond the latest
    /// checkpoint, unknown size).
    #[error("{0}")]
    NotFound(String),
    /// Storage failed.
    #[error("{0}")]
    Io(String),
}
