//! One log: its handle, its threads, and its reads.

use crate::checkpoint_lock::{self, CheckpointLock};
use crate::faults::Faults;
use crate::index::{Histogram, IdIndex, Page, Query, SessionPage};
use crate::lock;
use crate::log_store::{Anchor, LogStore, hash_source};
use crate::queue::WriteQueue;
use crate::{
    AppendError, Appended, EngineError, EngineOptions, EntriesPrune, EntriesPruned, ErrorKind,
    LogStats, ReadError, SignedCheckpoint, checkpoint_history, indexer, integrator, sequencer,
};
use sealog_core::event::ValidatedEvent;
use sealog_core::merkle::{Hash, MemoHashSource, ProofError, consistency_proof, inclusion_proof};
use sealog_core::note::{Signer, Verifier};
use sealog_core::tiles::{EntryBundle, TILE_WIDTH, Tile};
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{oneshot, watch};

/// Most consecutive leaves [`Log::proven_entries`] reads at once.
const LEAVES_PER_READ: usize = 4096;

/// One entry with its inclusion proof, from [`Log::proven_entries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenEntry {
    /// Its index in the log.
    pub index: u64,
    /// Its leaf bytes.
    pub leaf: Vec<u8>,
    /// Its inclusion proof in the tree asked for.
    pub inclusion: Vec<Hash>,
}

/// What a log's handles and threads share.
pub(crate) struct LogInner {
    pub(crate) name: String,
    pub(crate) origin: String,
    verifier: Verifier,
    /// The log key, for documents the log signs besides checkpoints (evidence manifests).
    signer: Signer,
    pub(crate) options: EngineOptions,
    pub(crate) store: Arc<dyn LogStore>,
    /// Where the newest checkpoint is kept a second time, if anywhere.
    pub(crate) checkpoint_lock: Option<Arc<dyn CheckpointLock>>,
    pub(crate) index: IdIndex,
    pub(crate) queue: WriteQueue,
    /// The latest signed checkpoint; the integrator holds the sender.
    checkpoint: watch::Receiver<SignedCheckpoint>,
    /// The last index failure, cleared by the next good batch.
    pub(crate) index_error: Mutex<Option<String>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What every log of an engine opens with besides its own storage.
#[derive(Clone)]
pub(crate) struct LogEnv {
    /// The engine's tuning.
    pub(crate) options: EngineOptions,
    /// Where writes inject faults in tests.
    pub(crate) faults: Faults,
    /// The data directory's lock, held by each log's threads until they stop writing.
    pub(crate) lock_file: Arc<File>,
    /// The checkpoint lock, if the engine has one.
    pub(crate) checkpoint_lock: Option<Arc<dyn CheckpointLock>>,
    /// The shared store the logs are in, if not in the data directory.
    pub(crate) database: Option<Arc<crate::pg::Database>>,
}

impl LogEnv {
    /// How long a writer lease on the shared store lasts.
    pub(crate) fn lease(&self) -> std::time::Duration {
        self.options
            .postgres
            .as_ref()
            .map_or(crate::pg::DEFAULT_LEASE, |pg| pg.lease)
    }
}

/// One log: cheap to clone, shared by every request that uses it.
#[derive(Clone)]
pub struct Log {
    pub(crate) inner: Arc<LogInner>,
}

impl Log {
    /// Opens the log whose entries and tree are in `store` and whose key and derived index
    /// are in `dir`: recovers the store, catches the index up, starts the threads. The error
    /// says what is wrong.
    pub(crate) fn open(
        dir: &Path,
        store: Arc<dyn LogStore>,
        name: &str,
        env: &LogEnv,
    ) -> Result<Log, EngineError> {
        let options = &env.options;
        let signer = store.signing_key()?;
        let verifier = signer.verifier();
        let cp = store.checkpoint(&verifier)?;
        let history_last = check_history(&*store, name, &verifier, &cp)?;
        let anchor = Anchor {
            size: cp.size,
            root: cp.root,
        };
        let appender = store.clone().recover(anchor)?;
        let size = appender.size();
        if let Some(lock) = &env.checkpoint_lock {
            let tree = (size, appender.root());
            checkpoint_lock::check(&**lock, name, &verifier, &*store, tree, &cp)?;
        }
        let index = open_index(dir, options, &*store, size)?;
        let (publish, checkpoint) = watch::channel(cp);
        let inner = Arc::new(LogInner {
            name: name.to_owned(),
            origin: signer.name().to_owned(),
            verifier,
            signer: signer.clone(),
            options: options.clone(),
            store,
            checkpoint_lock: env.checkpoint_lock.clone(),
            index,
            queue: WriteQueue::new(size, appender.root(), options.queue_entries),
            checkpoint,
            index_error: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
        });
        let spawn = |what: &str, f: Box<dyn FnOnce() + Send>| spawn(env, name, what, f);
        let threads = vec![
            spawn("sequencer", {
                let inner = inner.clone();
                Box::new(move || sequencer::run(inner, appender))
            })?,
            spawn("integrator", {
                let inner = inner.clone();
                Box::new(move || integrator::run(inner, signer, publish, history_last))
            })?,
            spawn("indexer", {
                let inner = inner.clone();
                Box::new(move || indexer::run(inner))
            })?,
        ];
        *lock(&inner.threads) = threads;
        Ok(Log { inner })
    }

    /// Stops taking appends, lets the writer drain the queue and the integrator sign a final
    /// checkpoint, and joins the threads.
    pub(crate) fn stop(&self) {
        self.inner.queue.close("the log is shutting down");
        let threads = std::mem::take(&mut *lock(&self.inner.threads));
        let stopped_writing = !threads.is_empty();
        for thread in threads {
            let _ = thread.join();
        }
        if stopped_writing {
            self.inner.store.release();
        }
    }

    /// The log's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The log's origin (`<server name>/<log name>`), also its key name.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The log's public key.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The log's signing key, for documents the log vouches for besides its checkpoints (the
    /// manifest of an evidence pack). Never print or persist it elsewhere.
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    /// Appends validated events. Resolves once every accepted event is durable (one fsync per
    /// group); results are in the order given.
    pub async fn append(&self, events: Vec<ValidatedEvent>) -> Result<Vec<Appended>, AppendError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.inner.queue.enqueue(events, reply)?;
        answer
            .await
            .map_err(|_| AppendError::Unavailable("the log's writer stopped".into()))?
    }

    /// The longest time between the tree growing and a checkpoint covering it.
    pub fn checkpoint_interval(&self) -> std::time::Duration {
        self.inner.options.checkpoint_interval
    }

    /// Durable size of the log.
    pub fn size(&self) -> u64 {
        self.inner.queue.size()
    }

    /// The latest signed checkpoint (size 0 for a new log).
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.inner.checkpoint.borrow().clone()
    }

    /// Waits until a signed checkpoint covers `size` entries, and returns it.
    pub async fn wait_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, AppendError> {
        let mut rx = self.inner.checkpoint.clone();
        let cp = rx.wait_for(|cp| cp.size >= size).await.map_err(|_| {
            AppendError::Unavailable(
                self.inner
                    .queue
                    .failure()
                    .unwrap_or_else(|| "the log stopped signing checkpoints".into()),
            )
        })?;
        Ok(cp.clone())
    }

    /// Up to `max` earlier signed checkpoints smaller than `size`, from the log's history (one
    /// per minute at most), spread evenly from the oldest to the newest, oldest first.
    pub fn earlier_checkpoints(
        &self,
        size: u64,
        max: usize,
    ) -> Result<Vec<SignedCheckpoint>, ReadError> {
        let history = self
            .inner
            .store
            .history(&self.inner.verifier, false)
            .map_err(|e| ReadError::Corrupt(e.to_string()))?;
        Ok(checkpoint_history::spread(history, size, max))
    }

    /// Leaf bytes of entries `start..end` (durable entries only).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, ReadError> {
        let size = self.size();
        if start > end || end > size {
            return Err(ReadError::NotFound(format!(
                "entries {start}..{end} are not in the log of size {size}"
            )));
        }
        let pruned = self.inner.store.entries_pruned();
        if start < pruned.below {
            return Err(pruned_error(start, &pruned));
        }
        self.inner.store.read_entries(start, end).map_err(io_error)
    }

    /// Whether the log's store can prune whole entries (the embedded store can, PostgreSQL
    /// cannot yet).
    pub fn can_prune_entries(&self) -> bool {
        self.inner.store.can_prune_entries()
    }

    /// What retention pruned of the log's entries.
    pub fn entries_pruned(&self) -> EntriesPruned {
        self.inner.store.entries_pruned()
    }

    /// Removes the entry records below `below`, keeping every tree hash, checkpoint and the
    /// history, so that every proof of a kept entry and every consistency proof stays valid.
    /// The range is stated durably first (with `last`, the prune as its event will record
    /// it). Entry `below` must be under the latest checkpoint, so at least one signed entry
    /// is always kept.
    pub fn prune_entries(
        &self,
        below: u64,
        last: EntriesPrune,
    ) -> Result<EntriesPruned, EngineError> {
        let signed = self.checkpoint().size;
        if below >= signed {
            return Err(EngineError::invalid(format!(
                "entries up to {below} cannot be pruned: the latest checkpoint covers {signed}, \
                 and the newest signed entry is always kept"
            )));
        }
        self.inner.store.prune_entries(below, last)
    }

    /// Notes that the event recording the latest prune of entries is in the log.
    pub fn entries_prune_recorded(&self, event_id: &str) -> Result<(), EngineError> {
        self.inner
            .store
            .entries_prune_recorded(event_id)
            .map_err(|e| EngineError::io("noting the prune's event", e))
    }

    /// Leaf bytes of entry `index` (a durable entry only).
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, ReadError> {
        let end = index.saturating_add(1);
        self.entries(index, end)?
            .pop()
            .ok_or_else(|| ReadError::NotFound(format!("entry {index} is not in the log")))
    }

    /// The index of the event with this id, at any age (also when the query index has not
    /// caught up yet).
    pub fn find_id(&self, id: u128) -> Result<Option<u64>, ReadError> {
        // Recent first: the indexer prunes an id only after the index holds it.
        if let Some(index) = lock(&self.inner.queue.recent).get(id) {
            return Ok(Some(index));
        }
        let found = self.inner.index.lookup_ids(&[id]).map_err(index_error)?;
        Ok(found.into_iter().next().flatten())
    }

    /// Inclusion proof of `index` in the tree of `size` (a size some checkpoint signed, or the
    /// durable size).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ReadError> {
        self.check_size(size)?;
        inclusion_proof(&hash_source(&*self.inner.store, size), index, size).map_err(proof_error)
    }

    /// Inclusion proofs of many `indices` in the tree of `size`, one by one as the iterator is
    /// driven, sharing the work of the nodes their paths have in common (ascending indices
    /// share the most).
    pub fn inclusion_proofs<'a>(
        &'a self,
        indices: &'a [u64],
        size: u64,
    ) -> Result<impl Iterator<Item = Result<Vec<Hash>, ReadError>> + 'a, ReadError> {
        self.check_size(size)?;
        // About 4 MB of nodes: the paths of tens of thousands of neighbouring entries. When
        // it fills up it starts afresh, which costs only the upper paths again.
        let memo = MemoHashSource::new(hash_source(&*self.inner.store, size), 1 << 16);
        Ok(indices
            .iter()
            .map(move |&index| inclusion_proof(&memo, index, size).map_err(proof_error)))
    }

    /// The leaf bytes and inclusion proof in the tree of `size` of each of `indices`
    /// (ascending), one by one as the iterator is driven: runs of consecutive entries are read
    /// together, and the proofs share the nodes their paths have in common. Used for receipts
    /// and evidence packs alike.
    pub fn proven_entries<'a>(
        &'a self,
        indices: &'a [u64],
        size: u64,
    ) -> Result<impl Iterator<Item = Result<ProvenEntry, ReadError>> + 'a, ReadError> {
        let leaves = indices
            .chunk_by(|a, b| *b == a + 1)
            .flat_map(|run| run.chunks(LEAVES_PER_READ))
            .flat_map(|run| match self.entries(run[0], run[run.len() - 1] + 1) {
                Ok(leaves) => leaves.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            });
        let proofs = self.inclusion_proofs(indices, size)?;
        Ok(indices
            .iter()
            .zip(leaves)
            .zip(proofs)
            .map(|((&index, leaf), inclusion)| {
                Ok(ProvenEntry {
                    index,
                    leaf: leaf?,
                    inclusion: inclusion?,
                })
            }))
    }

    /// Consistency proof from tree size `old` to `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ReadError> {
        self.check_size(new)?;
        consistency_proof(&hash_source(&*self.inner.store, new), old, new).map_err(proof_error)
    }

    /// A hash tile's bytes; partial tiles only as implied by the latest checkpoint.
    pub fn tile(&self, tile: Tile) -> Result<Vec<u8>, ReadError> {
        let size = self.checkpoint().size;
        let count = size.checked_shr(u32::from(tile.level) * 8).unwrap_or(0);
        self.check_tile(tile.index, tile.width, count, &tile.to_string())?;
        let mut tiles = self.inner.store.read_tiles(&[tile]).map_err(io_error)?;
        Ok(tiles.pop().unwrap_or_default())
    }

    /// An entry bundle's bytes (tlog-tiles), within the latest checkpoint.
    pub fn entry_bundle(&self, bundle: EntryBundle) -> Result<Vec<u8>, ReadError> {
        let size = self.checkpoint().size;
        self.check_tile(bundle.index, bundle.width, size, &bundle.to_string())?;
        let start = bundle.index * 256;
        let leaves = self.entries(start, start + u64::from(bundle.width))?;
        let mut out = Vec::with_capacity(leaves.iter().map(|l| l.len() + 2).sum());
        for leaf in leaves {
            // tlog-tiles: each entry is a big-endian u16 length, then the entry.
            let len = u16::try_from(leaf.len())
                .map_err(|_| ReadError::Io("an entry exceeds 65,535 bytes".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&leaf);
        }
        Ok(out)
    }

    /// Log indices matching a query, from the derived index; pruned entries are left out.
    pub fn query(&self, query: &Query) -> Result<Page, ReadError> {
        let mut page = self.inner.index.query(query).map_err(index_error)?;
        let below = self.inner.store.entries_pruned().below;
        page.indices.retain(|&i| i >= below);
        Ok(page)
    }

    /// Counts of the events matching a query over time, by action, from the derived index
    /// (see [`IdIndex::histogram`]).
    pub fn histogram(&self, query: &Query, buckets: usize) -> Result<Histogram, ReadError> {
        self.inner
            .index
            .histogram(query, buckets)
            .map_err(index_error)
    }

    /// The events of one session in `seq` order, from the derived index; pruned entries are
    /// left out.
    pub fn session(
        &self,
        session: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<SessionPage, ReadError> {
        let mut page = self
            .inner
            .index
            .session(session, cursor, limit)
            .map_err(index_error)?;
        let below = self.inner.store.entries_pruned().below;
        page.entries.retain(|e| e.index >= below);
        Ok(page)
    }

    /// Counters for metrics.
    pub fn stats(&self) -> LogStats {
        let mut stats = LogStats {
            size: self.size(),
            index_watermark: self.inner.index.watermark(),
            queue_entries: self.inner.queue.queued(),
            ..LogStats::default()
        };
        self.inner.queue.fill_stats(&mut stats);
        stats
    }

    /// The last failure of the background indexer, if its latest batch failed. Appends go on
    /// meanwhile (dedup asks the index directly); queries lag until it recovers.
    pub fn index_error(&self) -> Option<String> {
        lock(&self.inner.index_error).clone()
    }

    /// Whether the log can still write; the error says why not.
    pub fn ready(&self) -> Result<(), String> {
        match self.inner.queue.failure() {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// Refuses sizes beyond the durable log.
    fn check_size(&self, size: u64) -> Result<(), ReadError> {
        let durable = self.size();
        if size > durable {
            return Err(ReadError::NotFound(format!(
                "tree size {size} is beyond the log's size {durable}"
            )));
        }
        Ok(())
    }

    /// Refuses a tile (or bundle) `index`/`width` of a level holding `count` items in the
    /// latest checkpoint's tree, unless it is full or exactly that tree's partial tile.
    fn check_tile(&self, index: u64, width: u16, count: u64, what: &str) -> Result<(), ReadError> {
        let start = index.checked_mul(u64::from(TILE_WIDTH));
        let ok = start.is_some_and(|s| {
            let end = s + u64::from(width);
            end <= count && (width == TILE_WIDTH || end == count)
        });
        if !ok {
            return Err(ReadError::NotFound(format!(
                "{what} is not in the latest checkpoint (size {})",
                self.checkpoint().size
            )));
        }
        Ok(())
    }
}

/// Repairs the checkpoint history (a torn tail), refuses a checkpoint file older than it, and
/// returns when its newest checkpoint was signed.
fn check_history(
    store: &dyn LogStore,
    name: &str,
    verifier: &Verifier,
    cp: &SignedCheckpoint,
) -> Result<Option<i64>, EngineError> {
    let history = store.history(verifier, true)?;
    if let Some(newest) = history.last().filter(|h| h.size > cp.size) {
        return Err(EngineError::corrupt(format!(
            "log {name}: its checkpoint history holds a signed checkpoint of size {} but its \
             checkpoint file only size {}: the checkpoint file is older than the log's history \
             (restored from a backup?). Signing again from here could fork the log; restore the \
             newer checkpoint file, and run `sealog fsck` to investigate",
            newest.size, cp.size
        )));
    }
    Ok(history.last().map(|h| h.signed_unix_micros))
}

/// Starts the `what` thread of log `name`. Each thread holds the data directory's lock until it
/// has stopped writing, even if the engine is dropped first; stale `Log` handles (reads only)
/// do not.
fn spawn(
    env: &LogEnv,
    name: &str,
    what: &str,
    f: Box<dyn FnOnce() + Send>,
) -> Result<JoinHandle<()>, EngineError> {
    let lock_file = env.lock_file.clone();
    std::thread::Builder::new()
        .name(format!("sealog-{what}-{name}"))
        .spawn(move || {
            f();
            drop(lock_file);
        })
        .map_err(|e| EngineError::io(format_args!("cannot start the {what} thread"), e))
}

/// Opens the index of the log in `dir` and applies the entries it lacks, so that the writer
/// starts with every id below `size` findable through it.
fn open_index(
    dir: &Path,
    options: &EngineOptions,
    store: &dyn LogStore,
    size: u64,
) -> Result<IdIndex, EngineError> {
    let path = dir.join("index");
    let failed = |e: crate::index::IndexError| {
        EngineError::new(ErrorKind::Io, format!("opening the query index: {e}"))
    };
    let mut index = match IdIndex::open_with(&path, options.index.clone()) {
        // The index is derived: one written by another version is rebuilt from the log.
        Err(crate::index::IndexError::Schema { found, expected }) => {
            tracing::warn!(
                index = %path.display(),
                found,
                expected,
                "rebuilding the query index, which an earlier version wrote"
            );
            IdIndex::destroy(&path).map_err(failed)?;
            IdIndex::open_with(&path, options.index.clone()).map_err(failed)?
        }
        opened => opened.map_err(failed)?,
    };
    if index.watermark() > size {
        // The index is derived: if it is ahead of the recovered log, rebuild it.
        drop(index);
        IdIndex::destroy(&path).map_err(failed)?;
        index = IdIndex::open_with(&path, options.index.clone()).map_err(failed)?;
    }
    let mut start = index.watermark();
    while start < size {
        let end = size.min(start + indexer::BATCH);
        indexer::apply(store, &index, start, end)
            .map_err(|why| EngineError::new(ErrorKind::Io, why))?;
        start = end;
    }
    Ok(index)
}

/// The answer for a read of `index`, which retention pruned.
fn pruned_error(index: u64, pruned: &EntriesPruned) -> ReadError {
    let last = pruned.last.as_ref().map_or(String::new(), |l| {
        format!(" (latest prune: {}, event {})", l.at, l.event_id)
    });
    ReadError::Pruned(format!(
        "entry {index} was pruned by retention: entries 0 to {} are gone{last}; their tree \
         hashes remain, so proofs of the kept entries and consistency proofs stay valid",
        pruned.below - 1
    ))
}

/// A storage failure while reading.
fn io_error(e: std::io::Error) -> ReadError {
    ReadError::Io(format!("reading the log failed: {e}"))
}

/// An index failure while reading; a cursor it never issued is "not found".
fn index_error(e: crate::index::IndexError) -> ReadError {
    match e {
        crate::index::IndexError::BadCursor(_) => ReadError::NotFound(e.to_string()),
        e => ReadError::Io(e.to_string()),
    }
}

/// A proof that cannot be built: bad arguments are "not found", storage failures I/O.
fn proof_error<E: std::error::Error>(e: ProofError<E>) -> ReadError {
    match e {
        ProofError::Source(e) => ReadError::Io(format!("reading tree hashes failed: {e}")),
        e => ReadError::NotFound(e.to_string()),
    }
}
