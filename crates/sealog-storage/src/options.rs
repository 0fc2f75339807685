//! Tuning of an engine.

use crate::{EngineError, IndexOptions, PgOptions};
use std::path::{Path, PathBuf};
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
    /// Keep the logs in this shared PostgreSQL store instead of the data directory, which
    /// then holds only what is this node's own (its lock, the derived indexes). `None`: the
    /// embedded store.
    pub postgres: Option<PgOptions>,
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
            postgres: None,
        }
    }
}

impl EngineOptions {
    /// Refuses options the engine cannot run with, for the data directory `dir`, saying which
    /// option to change.
    pub(crate) fn check(&self, dir: &Path) -> Result<(), EngineError> {
        if self.group_max_entries == 0 {
            return Err(EngineError::invalid(
                "a group commit must take at least 1 entry (group_max_entries)",
            ));
        }
        if self.queue_entries == 0 {
            return Err(EngineError::invalid(
                "the queue must hold at least 1 event (queue_entries)",
            ));
        }
        if self.checkpoint_interval.is_zero() {
            return Err(EngineError::invalid(
                "the checkpoint interval must be at least 1 ms",
            ));
        }
        if let Some(pg) = &self.postgres
            && pg.lease < std::time::Duration::from_millis(100)
        {
            return Err(EngineError::invalid(
                "a writer lease must last at least 100 ms (the lease)",
            ));
        }
        if let Some(lock) = &self.checkpoint_lock {
            let absolute = |p: &Path| {
                std::path::absolute(p)
                    .map_err(|e| EngineError::invalid(format!("{}: {e}", p.display())))
            };
            if absolute(lock)?.starts_with(absolute(dir)?) {
                return Err(EngineError::invalid(format!(
                    "the checkpoint lock {} is inside the data directory {}: a restore of the \
                     data directory would take it back too; put it on another disk or host",
                    lock.display(),
                    dir.display()
                )));
            }
        }
        Ok(())
    }
}
