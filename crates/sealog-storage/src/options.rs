//! Tuning of an engine.

use crate::IndexOptions;
use std::path::PathBuf;
use std::time::Duration;

/// Tuning of an [`Engine`](crate::Engine); the defaults suit one machine.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Most entries one group commit takes.
    pub group_max_entries: usize,
    /// Longest a group waits to fill before it is committed anyway.
    pub group_max_delay: Duration,
    /// Entries that may wait in front of one log's writer before `append` answers `Busy`.
    pub queue_entries: usize,
    /// Longest time between the tree growing and a checkpoint covering it.
    pub checkpoint_interval: Duration,
    /// The derived index's bounds.
    pub index: IndexOptions,
    /// A directory outside the data directory, never restored from a backup with it, where
    /// each log's newest checkpoint is kept a second time; a log whose tree does not extend
    /// it refuses to open. It is what catches a restore of the whole data directory from an
    /// old backup. `None`: no lock (such a restore goes unnoticed until a witness or an
    /// auditor compares checkpoints).
    pub checkpoint_lock: Option<PathBuf>,
}

impl Default for EngineOptions {
    /// Groups of up to 10,000 entries (a few ms of fsync at 100,000 events/s), no artificial
    /// wait (entries that arrive during one fsync form the next group), a queue of 200,000
    /// entries (about 2 s at the target rate) and a checkpoint every second.
    fn default() -> Self {
        EngineOptions {
            group_max_entries: 10_000,
            group_max_delay: Duration::ZERO,
            queue_entries: 200_000,
            checkpoint_interval: Duration::from_secs(1),
            index: IndexOptions::default(),
            checkpoint_lock: None,
        }
    }
}
