//! Sealog's log engine: durable group-commit append, tree hashes, checkpoints, recovery and
//! derived query indexes.
//!
//! One [`Engine`] owns one data directory holding every log of a server. Each [`Log`] has one
//! sequencer thread that gathers concurrent [`Log::append`] calls into a group, assigns contiguous
//! indices, appends leaves and tree hashes to append-only files, issues one fsync for the whole
//! group and only then answers every caller. An integrator signs a C2SP checkpoint whenever the
//! tree grew (at most every `checkpoint_interval`), and an indexer feeds the derived
//! [`index`] off the acknowledgement path. [`fsck`] re-derives every hash of a stopped data
//! directory from its entries; [`reindex`] rebuilds the derived indexes.
//!
//! A log reaches its storage only through the narrow interface of the module `log_store`
//! (append a group durably, recover, read entries and tiles, keep checkpoints), which the
//! embedded store (module `store`) and the shared PostgreSQL store (module `pg`, with
//! [`EngineOptions::postgres`]) implement; that module says how one maps onto the other.
//! [`migrate`] copies a stopped data directory's logs into a PostgreSQL store and proves the
//! copy; [`fsck_store`] checks such a store. The layout on disk is described in the modules
//! `engine` (directory and lock), `store`
//! (entries, offsets, tree-hash tiles), `checkpoint_file`, `checkpoint_history` and
//! `checkpoint_lock`.

pub mod clock;
pub mod content;
pub mod durable;
pub mod faults;
pub mod index;

mod checkpoint_file;
mod checkpoint_history;
mod checkpoint_lock;
mod engine;
mod error;
mod fsck;
mod indexer;
mod integrator;
mod log;
mod log_store;
mod migrate;
mod migrate_documents;
mod options;
mod pg;
mod queue;
mod sequencer;
mod store;
mod types;

pub use engine::{Engine, REOPEN_INTERVAL, check_log_name, hold_stopped_dir};
pub use error::{AppendError, EngineError, ErrorKind, ReadError};
pub use fsck::{FsckReport, LogFsck, fsck, reindex};
pub use index::{IndexOptions, Page, Query, SearchError, SessionPage};
pub use log::{Log, ProvenEntry};
pub use migrate::{DEFAULT_BATCH_ENTRIES, LogMigrated, MigrateReport, migrate};
pub use options::EngineOptions;
pub use pg::{DEFAULT_LEASE, Document, Leader, PgOptions, SharedDocuments, fsck_store};
pub use store::prune::{EntriesPrune, EntriesPruned};
pub use types::{Appended, LogStats, SignedCheckpoint};

/// Locks a mutex even if a thread panicked holding it: every critical section of the engine
/// leaves its data consistent.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
