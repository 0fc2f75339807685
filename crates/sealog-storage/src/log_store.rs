//! The narrow interface between a log and where its data lives: everything the sequencer, the
//! integrator, the indexer and the read paths need from storage, and nothing they do not.
//!
//! The embedded store (module `store`: segment files, offsets, tile files, checkpoint file
//! and history in the log's directory) implements it for one server. A shared database is
//! the other implementation (module `pg`), for several server nodes over one PostgreSQL; it
//! maps onto the same calls:
//!
//! - [`LogAppender::commit`]: one transaction inserting the group's entries and tile-level
//!   hashes, committed (the database's fsync) before any waiter is answered; only the node
//!   holding the log's writer lease (a row with an epoch, taken when the log opens and
//!   renewed) may commit, and the transaction is fenced by that epoch.
//! - [`LogStore::recover`]: read the tree's border hashes and size from the rows, check them
//!   against the anchor; nothing is torn, as a transaction is all or nothing.
//! - [`LogStore::read_entries`] and [`TileReader::read_tiles`]: range selects, served from
//!   stored hashes as the files are.
//! - [`LogStore::store_checkpoint`]: an update of the log's row that requires the new size
//!   to be at least the stored one (compare and swap), so two nodes can never both sign.
//!
//! Indexes stay derived data next to each node, rebuilt from [`LogStore::read_entries`].

use crate::store::prune::{EntriesPrune, EntriesPruned};
use crate::{EngineError, SignedCheckpoint};
use sealog_core::merkle::Hash;
use sealog_core::note::{Signer, Verifier};
use sealog_core::tiles::{TileHashSource, TileReader};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// The size and root of the last signed checkpoint, which the recovered tree must extend.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anchor {
    /// Tree size.
    pub(crate) size: u64,
    /// Root at that size.
    pub(crate) root: Hash,
}

/// One log's durable storage. Reads may run on any thread while the one appender writes.
pub(crate) trait LogStore: TileReader<Error = io::Error> + Send + Sync {
    /// The log's signing key. The error says why it cannot be had.
    fn signing_key(&self) -> Result<Signer, EngineError>;

    /// The latest signed checkpoint, verified with the log's key; the error says what is
    /// wrong with it.
    fn checkpoint(&self, verifier: &Verifier) -> Result<SignedCheckpoint, EngineError>;

    /// Makes `cp` the latest checkpoint, atomically and durably (it is published only after).
    fn store_checkpoint(&self, cp: &SignedCheckpoint) -> io::Result<()>;

    /// The earlier checkpoints kept, verified, oldest first. With `repair` (once, when the
    /// log opens) what a crash left half-written is removed, so that appends can go on.
    fn history(
        &self,
        verifier: &Verifier,
        repair: bool,
    ) -> Result<Vec<SignedCheckpoint>, EngineError>;

    /// Adds `cp` to the history, durably.
    fn append_history(&self, cp: &SignedCheckpoint) -> io::Result<()>;

    /// Brings the stored tree to a consistent end after whatever stopped the last run (never
    /// acknowledged data is cut, derived hashes are rebuilt), checks that it extends `anchor`,
    /// and returns the appender for that end. The error says what is wrong.
    fn recover(self: Arc<Self>, anchor: Anchor) -> Result<Box<dyn LogAppender>, EngineError>;

    /// Leaf bytes of entries `start..end`, all appended.
    fn read_entries(&self, start: u64, end: u64) -> io::Result<Vec<Vec<u8>>>;

    /// Makes the tree hashes of everything appended durable; done before a checkpoint covers
    /// them, as recovery trusts them up to the checkpoint.
    fn sync_derived(&self) -> io::Result<()>;

    /// Whether this process may still write the log and sign for it: always for the embedded
    /// store (the data directory's lock is held), while its writer lease runs for a shared
    /// database. Checked before every checkpoint is signed.
    fn check_writer(&self) -> io::Result<()>;

    /// Lets the log go once its writer stopped, so that another node can take it at once.
    fn release(&self) {}

    /// Whether [`LogStore::prune_entries`] can prune (only the embedded store can).
    fn can_prune_entries(&self) -> bool {
        false
    }

    /// What retention pruned of the entries (nothing, unless the store can prune).
    fn entries_pruned(&self) -> EntriesPruned {
        EntriesPruned::default()
    }

    /// Removes the records of entries below `below`, keeping every tree hash, after stating
    /// the range durably; `last` is the prune as its event will record it. The caller checked
    /// that `below` is below the latest checkpoint.
    fn prune_entries(&self, below: u64, last: EntriesPrune) -> Result<EntriesPruned, EngineError> {
        let _ = (below, last);
        Err(EngineError::invalid(
            "this store does not prune entries: only the embedded store does (DESIGN §11)",
        ))
    }

    /// Notes that the event recording the latest prune of entries is in the log.
    fn entries_prune_recorded(&self, event_id: &str) -> io::Result<()> {
        let _ = event_id;
        Ok(())
    }
}

/// The writer's side of a log's storage: groups of leaves, one durable commit each. After an
/// error it must not be used again (the log stops; reopening recovers).
pub(crate) trait LogAppender: Send {
    /// Entries staged or committed.
    fn size(&self) -> u64;

    /// The tree root of [`LogAppender::size`] entries.
    fn root(&self) -> Hash;

    /// Prepares for a new group; called before its first [`LogAppender::push`].
    fn begin_group(&mut self) -> io::Result<()>;

    /// Stages a leaf at index [`LogAppender::size`] and returns its leaf hash.
    fn push(&mut self, leaf_bytes: &[u8]) -> Hash;

    /// Makes everything staged durable, with one sync for the group; returns how long the
    /// sync took. On failure it takes the group's entries back out of storage if it can, so
    /// that a group is stored whole or not at all.
    fn commit(&mut self) -> Result<Duration, CommitError>;
}

/// A group commit that failed.
#[derive(Debug)]
pub(crate) struct CommitError {
    /// What failed.
    pub error: io::Error,
    /// Whether none of the group's entries remain in storage (they were taken back out, and
    /// that was made durable). When false, a prefix of them may be there after a restart.
    pub rolled_back: bool,
}

/// A hash source over the stored tiles of `store`'s tree of `size` leaves: what every proof
/// and consistency check is computed from.
pub(crate) fn hash_source(store: &dyn LogStore, size: u64) -> TileHashSource<&dyn LogStore> {
    TileHashSource::new(store, size)
}
