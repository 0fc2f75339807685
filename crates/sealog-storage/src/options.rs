//! Tuning of an engine.

use crate::IndexOptions;
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
        }
    }
}
